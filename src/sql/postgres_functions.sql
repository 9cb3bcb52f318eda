-- The functions the PostgreSQL dialect of scimkit::sql calls.
CREATE OR REPLACE FUNCTION scim_fold(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT lower(t) $$;
CREATE OR REPLACE FUNCTION scim_instant(t text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    m text[];
    secs numeric;
BEGIN
    m := regexp_match(t, '^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$');
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    secs := extract(epoch FROM (m[1] || ' ' || m[2] || coalesce(upper(m[4]), 'Z'))::timestamptz);
    RETURN lpad((trunc(secs)::bigint + 4611686018427387904)::text, 20, '0') || '.'
        || substr(rpad(coalesce(substr(m[3], 2), ''), 9, '0'), 1, 9);
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;
