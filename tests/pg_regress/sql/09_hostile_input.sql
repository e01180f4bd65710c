-- Hostile input (SPEC §5: bad input gets a clear error, changes nothing, never raises where the function
-- answers in rows): NULL in every argument of every function, found in the catalog; names that print
-- alike; a huge file list.
SET datestyle = 'ISO, YMD';
SELECT regress.make_client(9301, 0.10, 100);
CREATE ROLE regress_null_role;

-- A valid-looking value per argument type, so that each call has exactly one NULL.
CREATE FUNCTION regress.sample(t regtype) RETURNS text LANGUAGE sql AS $$
    SELECT CASE t
        WHEN 'bigint'::regtype THEN '9301' WHEN 'text'::regtype THEN '''2026-04-01''' WHEN 'boolean'::regtype THEN 'false'
        WHEN 'uuid'::regtype THEN '''00000000-0000-4000-8000-000000000000''' WHEN 'jsonb'::regtype THEN '''[]'''
        WHEN 'interval'::regtype THEN '''1 second''' WHEN 'date'::regtype THEN '''2026-04-01'''
        WHEN 'smallint'::regtype THEN '1' WHEN 'regrole'::regtype THEN '''regress_null_role'''
        WHEN 'bigint[]'::regtype THEN '''{1}''' WHEN 'text[]'::regtype THEN '''{x}''' END || '::' || t::text $$;
-- Each function and procedure of the schema, with NULL in argument i: the answer (first 150 characters), or
-- the error it raised.
CREATE FUNCTION regress.null_walk() RETURNS TABLE (fn text, null_arg int, answer text) LANGUAGE plpgsql AS $$
DECLARE
    p record;
    i int;
    args text;
    call text;
BEGIN
    FOR p IN SELECT oid, proname, prokind, proargtypes::regtype[] AS types, pronargs FROM pg_proc
             WHERE pronamespace = 'backout'::regnamespace AND pronargs > 0 ORDER BY proname, oid
    LOOP
        FOR i IN 1 .. p.pronargs LOOP
            SELECT string_agg(CASE WHEN n = i THEN 'NULL::' || t::text ELSE regress.sample(t) END, ', ' ORDER BY n)
              INTO args FROM unnest(p.types) WITH ORDINALITY AS a(t, n);
            call := CASE WHEN p.prokind = 'p' THEN format('CALL backout.%I(%s)', p.proname, args)
                         ELSE format('SELECT string_agg(to_jsonb(r)::text, '' '') FROM backout.%I(%s) AS r', p.proname, args) END;
            fn := p.proname;
            null_arg := i;
            BEGIN
                EXECUTE call INTO answer;
                answer := left(regexp_replace(coalesce(answer, '(null)'), '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'), 150);
            EXCEPTION WHEN OTHERS THEN
                answer := 'raised: ' || SQLERRM;
            END;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END $$;
SELECT * FROM regress.null_walk();
-- none of them is the generic "argument N must not be null" of a function that forgot its NULLs
SELECT count(*) AS generic_null_errors FROM regress.null_walk() WHERE answer LIKE '%must not be null%';
-- and nothing of client 9301 changed
SELECT (SELECT count(*) FROM backout.usage_txn WHERE client_id = 9301) AS usage,
       (SELECT count(*) FROM backout.billing_batch WHERE client_id = 9301) AS runs,
       (SELECT count(*) FROM backout.entitlement WHERE role = 'regress_null_role'::regrole) AS entitlements;

-- Names that print alike: invisible and bidirectional characters are refused, by position.
SELECT status, error_message FROM backout.process_usage_file(9301, E'march\u200B.json', regress.march_file());
SELECT status, error_message FROM backout.process_usage_file(9301, E'\u202Egnp.json', regress.march_file());
SELECT status, error_message FROM backout.backout_usage_file_transactions(E'a.json,b\u2066.json', 9301, 'ops');
SELECT status, error_code, error_message FROM backout.undo_job_schedule('2026-04-01', 9301, false, E'ops\uFEFF');
SELECT count(*) AS files FROM backout.usage_file WHERE client_id = 9301;

-- A 1 MB file list is refused at once, and its audit row keeps a prefix and the length, not 1 MB.
SELECT status, error_message
FROM backout.backout_usage_file_transactions(repeat('f.json,', 150000) || 'f.json', 9301, 'ops');
SELECT status, error_message
FROM backout.backout_usage_file_transactions(repeat('a', 1100000), 9301, 'ops');
SELECT max(length(file_names)) < 1100 AS audit_rows_capped,
       bool_and(file_names LIKE '%characters in all)') AS say_how_long
FROM backout.backout_batch WHERE client_id = 9301 AND length(file_names) > 1000;
