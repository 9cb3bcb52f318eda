-- Each tenant's role rules, in order, and its users' effective roles.
CREATE TABLE scim_role_rules (
    tenant text PRIMARY KEY,
    rules jsonb NOT NULL
);
CREATE TABLE scim_user_roles (
    tenant text NOT NULL,
    user_id text NOT NULL,
    role text NOT NULL,
    PRIMARY KEY (tenant, user_id)
);
-- The activity log: events in the order they were recorded (the numbers are shared by
-- every tenant, so recording takes no lock), each tenant's newest kept ('' for requests
-- refused before they named a tenant).
CREATE TABLE scim_activity (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant text NOT NULL,
    event jsonb NOT NULL
);
CREATE INDEX scim_activity_tenant ON scim_activity (tenant, seq);
