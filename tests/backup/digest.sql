-- One line per table of the schema: its name, its number of rows and a digest of them (rows as text,
-- sorted).  Two databases with equal listings hold the same rows.  The lock rows are created on first use
-- (not dumped);
-- a day count that fell to zero stays as a zero row where it was counted and is not recreated by a
-- restore, so those are left out.
SET datestyle = 'ISO, YMD';
CREATE FUNCTION pg_temp.table_digest(t text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    d text;
BEGIN
    EXECUTE format($q$SELECT count(*) || ' ' || md5(coalesce(string_agg(r::text, E'\n' ORDER BY r::text), ''))
                      FROM backout.%I r %s$q$, t, CASE t WHEN 'usage_day_count' THEN 'WHERE records <> 0' ELSE '' END)
        INTO d;
    RETURN d;
END
$f$;
SELECT c.relname || ' ' || pg_temp.table_digest(c.relname)
FROM pg_class c
WHERE c.relnamespace = 'backout'::regnamespace AND c.relkind = 'r' AND c.relname <> 'lock_row'
ORDER BY 1;
