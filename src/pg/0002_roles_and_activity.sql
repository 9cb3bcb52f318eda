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
-- The activity log: each tenant's events numbered in the tenant ('' for requests refused
-- before they named one), the newest kept.
CREATE TABLE scim_activity_heads (
    tenant text PRIMARY KEY,
    last_seq bigint NOT NULL
);
CREATE TABLE scim_activity (
    tenant text NOT NULL,
    seq bigint NOT NULL,
    event jsonb NOT NULL,
    PRIMARY KEY (tenant, seq)
);
