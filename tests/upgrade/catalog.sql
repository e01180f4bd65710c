-- Every object of the extension, described in full and sorted: two databases whose listings are equal
-- have the same extension objects (used to compare an upgraded installation with a fresh one).
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'pg_backout'),
members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rels AS (SELECT c.oid, c.relname FROM pg_class c WHERE c.relnamespace = 'backout'::regnamespace)
SELECT 'member ' || pg_describe_object(classid, objid, 0) FROM members
UNION ALL
SELECT format('column %s.%s %s %s default %s', r.relname, a.attname, format_type(a.atttypid, a.atttypmod),
              CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END, pg_get_expr(ad.adbin, ad.adrelid))
FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
UNION ALL
SELECT format('constraint %s.%s %s', r.relname, con.conname, pg_get_constraintdef(con.oid))
FROM rels r JOIN pg_constraint con ON con.conrelid = r.oid
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM rels r JOIN pg_index i ON i.indrelid = r.oid
UNION ALL
SELECT 'function ' || pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = 'backout'::regnamespace
UNION ALL
SELECT 'view ' || r.relname || ' ' || pg_get_viewdef(r.oid) FROM rels r JOIN pg_class c ON c.oid = r.oid AND c.relkind = 'v'
UNION ALL
SELECT format('acl %s %s rls=%s', r.relname, c.relacl, c.relrowsecurity) FROM rels r JOIN pg_class c ON c.oid = r.oid
UNION ALL
SELECT format('function acl %s %s', p.oid::regprocedure, p.proacl) FROM pg_proc p WHERE p.pronamespace = 'backout'::regnamespace
UNION ALL
SELECT format('policy %s.%s %s %s using %s check %s', r.relname, pol.polname, pol.polcmd, pol.polroles::regrole[],
              pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid))
FROM rels r JOIN pg_policy pol ON pol.polrelid = r.oid
UNION ALL
SELECT format('schema acl %s', nspacl) FROM pg_namespace WHERE nspname = 'backout'
UNION ALL
SELECT format('comment %s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
FROM pg_description d
WHERE (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM rels))
   OR (d.classoid = 'pg_proc'::regclass AND d.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'backout'::regnamespace))
UNION ALL
SELECT format('dumped by pg_dump %s filter %s', c.relname, x.cond)
FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(oid, cond) JOIN pg_class c ON c.oid = x.oid
WHERE e.extname = 'pg_backout'
ORDER BY 1;
