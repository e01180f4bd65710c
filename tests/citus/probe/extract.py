#!/usr/bin/env python3
"""Builds psql files that run pg_backout's own statements by hand (their text taken from src/*.rs), so that
the probe can show what Citus does with each statement as the code plans it (generic plan) and as a fix
would (custom plan, rewritten text).  Usage: extract.py SRC_DIR OUT_DIR.

Files written (each takes psql variables, see the header of each):
  ingest_validate.sql   the validation statement of process_usage_file, generic then custom plan
  ingest_load.sql       the ingest statement, custom plan, DO UPDATE SET updated_at = excluded.updated_at
                        (loads :client's files f1.json and late.json: the probe's usage)
  ingest_asis.sql       the ingest statement as it is (now() in DO UPDATE SET), custom plan, rolled back
  unpriced.sql          billing's MISSING_PRICE check, custom plan (price_offer_in_force in a subquery)
  billing_asis.sql      the billing run's statements as they are, custom plan, one transaction
  billing_fixed.sql     the same with the price lookup inlined and joined on client_id, excluded.updated_at
  discard.sql           discard_usage's DISCARD statement as it is, then without its FOR UPDATE CTE
"""
import json, os, re, sys

src_dir, out_dir = sys.argv[1], sys.argv[2]
read = lambda name: open(os.path.join(src_dir, name)).read()
ingest, bal, billing, aria = read('ingest.rs'), read('balances.rs'), read('billing.rs'), read('aria_core.rs')


def macro_body(name, text):
    m = re.search(r'macro_rules! %s \{\s*\([^)]*\)\s*=>\s*\{(.*?)\n    \};\n\}' % name, text, re.S)
    return m.group(1)


FILE_COLUMNS = re.search(r'macro_rules! file_columns \{\s*\(\) => \{\s*"(.*?)"\s*\};', ingest, re.S).group(1)


def raw_strings(body):
    """The concatenation of the string literals and known macros of a concat!(...) body, in order."""
    out = []
    pattern = (r'r#"(.*?)"#|"((?:[^"\\]|\\.)*)"|file_columns!\(\)|price_in_force!\("(\w+)"\)'
               r'|(?:\$crate::balances::)?(usage_reaches_contract|apply_deltas)!\(\)')
    for m in re.finditer(pattern, body, re.S):
        if m.group(4):
            out.append(raw_strings(macro_body(m.group(4), bal)))
        elif m.group(0).startswith('file_columns'):
            out.append(FILE_COLUMNS)
        elif m.group(0).startswith('price_in_force'):
            out.append(raw_strings(macro_body('price_in_force', ingest).replace('$from', '"%s"' % m.group(3))))
        elif m.group(1) is not None:
            out.append(m.group(1))
        else:
            out.append(bytes(m.group(2), 'utf-8').decode('unicode_escape'))
    return ''.join(out)


def const(name, text):
    m = re.search(r'(?:pub )?(?:\(crate\) )?const %s: &str = (.*?);\n' % name, text, re.S)
    if not m:
        sys.exit('extract.py: constant %s not found (src changed?)' % name)
    return raw_strings(m.group(1))


def pipeline(source, stages, tail):
    joint = ' ' if tail.lstrip().startswith('SELECT') else ','
    return 'WITH src AS (%s),%s%s%s' % (source, ','.join(stages), joint, tail)


def write(name, lines):
    with open(os.path.join(out_dir, name), 'w') as f:
        f.write('\n'.join(lines) + '\n')


JSON_RECORDS, RESOLVE, CHECK = const('JSON_RECORDS', ingest), const('RESOLVE', ingest), const('CHECK', ingest)
validate = pipeline(JSON_RECORDS, [RESOLVE, CHECK], const('FIRST_PROBLEM', ingest))
tail = (const('FILE_INGEST', ingest)
        .replace('{insert}', const('INSERT', ingest).replace(
            '{conflict}', '(client_id, file_name, record_key) WHERE file_name IS NOT NULL'))
        .replace('{add}', const('ADD_INSERTED', bal)))
ingest_sql = pipeline(JSON_RECORDS, [RESOLVE], tail)
if 'updated_at = now()' not in ingest_sql:
    sys.exit('extract.py: the balance upsert no longer sets updated_at = now(); update the probe')
ingest_fixed = ingest_sql.replace('updated_at = now()', 'updated_at = excluded.updated_at')

# psql variables: client, recs (jsonb text)
write('ingest_validate.sql', [
    '-- vars: client, recs', '\\echo == validation statement of process_usage_file, generic plan (as with_plan runs it)',
    'SET plan_cache_mode = force_generic_plan;',
    'PREPARE v_generic(bigint, text, jsonb) AS %s;' % validate,
    "EXECUTE v_generic(:client, 'probe.json', :'recs');",
    '\\echo == the same, custom plan',
    'SET plan_cache_mode = force_custom_plan;',
    'PREPARE v_custom(bigint, text, jsonb) AS %s;' % validate,
    "EXECUTE v_custom(:client, 'probe.json', :'recs');",
    'RESET plan_cache_mode;'])
write('ingest_asis.sql', [
    '-- vars: client, recs', '\\echo == ingest statement as it is (DO UPDATE SET updated_at = now()), custom plan, rolled back',
    'BEGIN;', 'SET LOCAL plan_cache_mode = force_custom_plan;',
    'PREPARE i_asis(bigint, text, jsonb) AS %s;' % ingest_sql,
    "EXECUTE i_asis(:client, 'probe.json', :'recs');", 'ROLLBACK;'])
write('ingest_load.sql', [
    '-- vars: client, recs, late', '\\echo == ingest statement with excluded.updated_at, custom plan: files f1.json and late.json of client :client',
    'SET plan_cache_mode = force_custom_plan;',
    'PREPARE i_load(bigint, text, jsonb) AS %s;' % ingest_fixed,
    "EXECUTE i_load(:client, 'f1.json', :'recs');", "EXECUTE i_load(:client, 'late.json', :'late');",
    'DEALLOCATE i_load;', 'RESET plan_cache_mode;'])

unpriced = const('UNPRICED_TRUE_UP', billing)
write('unpriced.sql', [
    '-- vars: client, day', "\\echo == the MISSING_PRICE check of run_billing (price_offer_in_force in NOT EXISTS), custom plan",
    'SET plan_cache_mode = force_custom_plan;',
    'PREPARE unpriced(bigint, date) AS %s;' % unpriced, "EXECUTE unpriced(:client, :'day');",
    '\\echo == price_offer_in_force called alone, and in a subquery per contract',
    "SELECT * FROM backout.price_offer_in_force(:client, 503, 1, '2026-03-31');",
    'SELECT c.acct_no, EXISTS (SELECT FROM backout.price_offer_in_force(:client, c.acct_no, c.usage_type_no, c.period_end - 1)) AS price_found '
    'FROM backout.commitment_contract c WHERE c.client_id = :client ORDER BY 1;',
    'RESET plan_cache_mode;'])

steps = ['OPEN_INVOICES', 'BILL_USAGE', 'TRUE_UPS', 'SETTLE_BALANCES', 'CLOSE_INVOICES_AND_ADVANCE',
         'RECORD_WORK_UNITS', 'COMPLETE_BATCH']
sql = {n: const(n, billing) for n in ['START_BATCH'] + steps}


def billing_file(name, statements, title):
    lines = ['-- vars: client, day', '\\echo == %s' % title, 'SET plan_cache_mode = force_custom_plan;', 'BEGIN;',
             'PREPARE start_batch(bigint, date) AS %s;' % statements['START_BATCH'],
             "EXECUTE start_batch(:client, :'day') \\gset",
             '\\echo billing_batch_id :billing_batch_id']
    for n in steps:
        lines += ['\\echo -- %s' % n, 'PREPARE %s(bigint, bigint, date) AS %s;' % (n.lower(), statements[n]),
                  "EXECUTE %s(:client, :billing_batch_id, :'day');" % n.lower()]
    lines += ['COMMIT;', 'DEALLOCATE ALL;', 'RESET plan_cache_mode;']
    write(name, lines)


billing_file('billing_asis.sql', sql, 'billing run, its statements as they are, custom plan')
inline_price = """LEFT JOIN LATERAL (
        SELECT price.price_offer_id, price.unit_price
        FROM ((SELECT p.price_offer_id, p.unit_price FROM backout.price_offer p
               WHERE p.client_id = c.client_id AND p.usage_type_no = c.usage_type_no AND p.acct_no = c.acct_no
                 AND p.effective_from <= c.period_end - 1 ORDER BY p.effective_from DESC LIMIT 1)
              UNION ALL
              (SELECT p.price_offer_id, p.unit_price FROM backout.price_offer p
               WHERE p.client_id = c.client_id AND p.usage_type_no = c.usage_type_no AND p.acct_no IS NULL
                 AND p.effective_from <= c.period_end - 1 ORDER BY p.effective_from DESC LIMIT 1)) AS price
        LIMIT 1) AS po"""
fixed = dict(sql)
t = fixed['TRUE_UPS']
for old, new in [
        ('LEFT JOIN LATERAL backout.price_offer_in_force($1, c.acct_no, c.usage_type_no, c.period_end - 1) AS po', inline_price),
        ('ON c.client_id = $1 AND c.acct_no = i.acct_no', 'ON c.client_id = i.client_id AND c.acct_no = i.acct_no'),
        ('WHERE u.client_id = $1\n', 'WHERE u.client_id = c.client_id\n')]:
    if old not in t:
        sys.exit('extract.py: TRUE_UPS changed (%r not found); update the probe' % old[:40])
    t = t.replace(old, new)
fixed['TRUE_UPS'] = t
if 'updated_at = now()' not in fixed['SETTLE_BALANCES']:
    sys.exit('extract.py: SETTLE_BALANCES changed; update the probe')
fixed['SETTLE_BALANCES'] = fixed['SETTLE_BALANCES'].replace('updated_at = now()', 'updated_at = excluded.updated_at')
billing_file('billing_fixed.sql', fixed,
             'billing run with the price lookup inlined and joined on client_id, excluded.updated_at, custom plan')

found = const('FOUND_BY_CRID', aria)
discard = (const('DISCARD', aria).replace('{found}', found).replace('{subtract}', const('SUBTRACT_GONE', bal))
           .replace('{emptied}', const('EMPTIED_BUCKETS', bal))
           .replace('updated_at = now()', 'updated_at = excluded.updated_at'))  # (a blocker of its own, see ingest)
start, end = discard.index('    rows_locked AS ('), discard.index('    gone AS (')
nolock = (discard[:start] + discard[end:]).replace(
    '           AND (SELECT count(*) FROM rows_locked) >= 0  -- an InitPlan: every row lock is taken first\n', '')
lines = ['-- vars: client, crid']
for tag, text in [('with its rows_locked CTE (FOR UPDATE)', discard), ('without the FOR UPDATE CTE', nolock)]:
    name = 'd_' + ('asis' if 'rows_locked' in text else 'nolock')
    lines += ['\\echo == DISCARD statement of discard_usage %s, custom plan, rolled back' % tag, 'BEGIN;',
              'SET LOCAL plan_cache_mode = force_custom_plan;',
              'PREPARE %s(bigint, text[], bigint, text, text, jsonb) AS %s;' % (name, text),
              "EXECUTE %s(:client, ARRAY[:'crid'], 12, 'probe', 'probe', NULL);" % name, 'ROLLBACK;']
write('discard.sql', lines)
