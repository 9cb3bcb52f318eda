-- Resources per tenant and resource type (lower case), numbered per scope: `seq` orders
-- a scope's resources and names them in cursors, and no number reveals another scope's
-- activity.
CREATE TABLE scim_scopes (
    tenant text NOT NULL,
    type text NOT NULL,
    -- The last `seq` given out in the scope.
    last_seq bigint NOT NULL,
    -- How many resources the scope holds, for the totals of unfiltered pages.
    n bigint NOT NULL,
    PRIMARY KEY (tenant, type)
);
CREATE TABLE scim_resources (
    tenant text NOT NULL,
    type text NOT NULL,
    seq bigint NOT NULL,
    id text NOT NULL,
    version bigint NOT NULL,
    -- The resource, without the members kept in scim_members.
    doc jsonb NOT NULL,
    PRIMARY KEY (tenant, type, seq),
    UNIQUE (tenant, type, id)
);
-- What the lookups identity providers make before each create use (`eq`), and prefixes
-- (`sw`). The planner sees scim_fold(x) as lower(x) (it inlines the SQL function), and
-- scimkit::sql compares strings bytewise (COLLATE "C"), so the indexes are on that. The
-- value comes first: an index led by (tenant, type) would tempt the planner, before it
-- has statistics, to walk a whole scope for a lookup by id.
CREATE INDEX scim_resources_user_name
    ON scim_resources ((lower((doc #> '{"userName"}') #>> '{}') COLLATE "C"), tenant, type);
CREATE INDEX scim_resources_display_name
    ON scim_resources ((lower((doc #> '{"displayName"}') #>> '{}') COLLATE "C"), tenant, type);
CREATE INDEX scim_resources_external_id
    ON scim_resources ((((doc #> '{"externalId"}') #>> '{}') COLLATE "C"), tenant, type);
-- Values no two resources of a scope may share, each as its comparison key (folded
-- unless the attribute is caseExact).
CREATE TABLE scim_unique_values (
    tenant text NOT NULL,
    type text NOT NULL,
    path text NOT NULL,
    key text NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (tenant, type, path, key),
    FOREIGN KEY (tenant, type, seq) REFERENCES scim_resources (tenant, type, seq) ON DELETE CASCADE
);
CREATE INDEX scim_unique_values_seq ON scim_unique_values (tenant, type, seq);
-- A group's members, one row each, in the order they were added.
CREATE TABLE scim_members (
    tenant text NOT NULL,
    type text NOT NULL,
    seq bigint NOT NULL,
    pos bigint GENERATED ALWAYS AS IDENTITY,
    value text NOT NULL,
    member jsonb NOT NULL,
    PRIMARY KEY (tenant, type, seq, value),
    FOREIGN KEY (tenant, type, seq) REFERENCES scim_resources (tenant, type, seq) ON DELETE CASCADE
);
CREATE INDEX scim_members_order ON scim_members (tenant, type, seq, pos);
-- Which groups a user is in; led by the value for the same reason.
CREATE INDEX scim_members_value ON scim_members (value, tenant, type);
-- Tenants with SCIM on, their settings, and their API keys as SHA-256 digests.
CREATE TABLE scim_tenants (
    tenant text PRIMARY KEY,
    settings jsonb NOT NULL
);
CREATE TABLE scim_api_keys (
    id text PRIMARY KEY,
    tenant text NOT NULL REFERENCES scim_tenants (tenant) ON DELETE CASCADE,
    digest bytea NOT NULL,
    created timestamptz NOT NULL
);
CREATE INDEX scim_api_keys_tenant ON scim_api_keys (tenant);
