#!/usr/bin/env bash
# Privileges with separate logins (SPEC §6), run inside a throwaway cluster (scripts/test.sh uses
# run_in_cluster: pg_backout preloaded, pg_backout.database = pg_backout_regress):
#  1. a pre-existing role with a group role's name, not created by the extension, makes CREATE EXTENSION
#     fail with a clear error and nothing created;
#  2. two operators logged in as themselves each see and change only their own client; the batch one of
#     them submits runs in the worker (session backout_worker) with that operator's rights;
#  3. a login with no group membership cannot reach the schema; the worker's role cannot log in;
#  4. DROP EXTENSION leaves the group roles; CREATE EXTENSION adopts them again.
set -euo pipefail
db=pg_backout_regress
fail() { echo "FAIL: $*" >&2; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
as() {  # as ROLE SQL: run SQL logged in as ROLE (password = role name), over TCP with password auth
  local role="$1"; shift
  PGPASSWORD="$role" psql -X -At -v ON_ERROR_STOP=1 -h localhost -U "$role" -d "$db" -c "$1"
}
expect() {  # expect WHAT GOT WANT
  [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
  echo "ok: $1"
}

createdb "$db"
echo "-- 1. a role named like a group role, made by someone else, is refused"
q "CREATE ROLE backout_operator LOGIN PASSWORD 'x'" >/dev/null
if out="$(q "CREATE EXTENSION pg_backout" 2>&1)"; then fail "CREATE EXTENSION adopted a foreign role"; fi
echo "$out" | grep -q 'role "backout_operator" already exists and was not created by pg_backout' \
  || fail "unclear error: $out"
expect "nothing created" "$(q "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'backout\_%'")/$(q "SELECT count(*) FROM pg_extension WHERE extname = 'pg_backout'")" "1/0"
q "DROP ROLE backout_operator" >/dev/null
q "CREATE EXTENSION pg_backout" >/dev/null
echo "ok: created once the foreign role is gone"

echo "-- 2. two operators, each logged in as itself"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE ROLE alice LOGIN PASSWORD 'alice';
CREATE ROLE carol LOGIN PASSWORD 'carol';
CREATE ROLE nobody LOGIN PASSWORD 'nobody';
CREATE TEMP TABLE granted AS SELECT backout.grant_client('alice', 1, 'operator') AS a, backout.grant_client('carol', 2, 'operator') AS c;
INSERT INTO backout.client (client_id, name) VALUES (1, 'one'), (2, 'two');
INSERT INTO backout.account VALUES (1, 1, 'a'), (2, 1, 'a');
INSERT INTO backout.billing_profile VALUES (1, 1, '2026-03-01', '2026-04-01'), (2, 1, '2026-03-01', '2026-04-01');
INSERT INTO backout.usage_type VALUES (1, 10, 'CALL', 'Calls', 'minute'), (2, 10, 'CALL', 'Calls', 'minute');
INSERT INTO backout.price_offer (client_id, usage_type_no, unit_price) VALUES (1, 10, 0.5), (2, 10, 0.5);
-- who runs the statements that delete billing records
CREATE TABLE public.who (client_id bigint, current_user_name text, session_user_name text);
GRANT INSERT ON public.who TO PUBLIC;
CREATE FUNCTION public.note_who() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.who SELECT DISTINCT client_id, current_user, session_user FROM gone;
    RETURN NULL;
END $$;
CREATE TRIGGER note_who AFTER DELETE ON backout.billing_record REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION public.note_who();
SQL
file='[{"acct_no": 1, "usage_type_code": "CALL", "usage_date": "2026-03-10 10:00:00", "units": 10}]'
for who in alice:1 carol:2; do
  role="${who%:*}"; client="${who#*:}"
  expect "$role ingests its client" "$(as "$role" "SELECT status FROM backout.process_usage_file($client, 'f.json', '$file')")" COMPLETED
  expect "$role bills its client" "$(as "$role" "SELECT status FROM backout.run_billing($client, '2026-04-01')")" COMPLETED
done
expect "alice reads only client 1" "$(as alice "SELECT string_agg(DISTINCT client_id::text, ',') FROM backout.usage_txn")" 1
expect "carol reads only client 2" "$(as carol "SELECT string_agg(DISTINCT client_id::text, ',') FROM backout.billing_record")" 2
expect "carol cannot act on client 1" "$(as carol "SELECT error_code || ': ' || error_message FROM backout.run_billing(1, '2026-05-01')")" \
  "NOT_FOUND: client 1 does not exist"
undo="$(as alice "SELECT undo_batch_id FROM backout.undo_job_schedule('2026-04-01', 1)")"
expect "alice's undo completes" "$(as alice "SELECT backout.wait_for_batch('$undo', '60 seconds')")" COMPLETED
expect "carol cannot see alice's batch" "$(as carol "SELECT error_code FROM backout.get_undo_job_schedule_status('$undo', 1)")" NOT_FOUND
expect "carol cannot wait for it" "$(as carol "SELECT backout.wait_for_batch('$undo', '1 second')" 2>&1 | grep -o 'does not exist')" "does not exist"
expect "the batch ran as alice, in the worker's session" \
  "$(q "SELECT string_agg(DISTINCT client_id || ':' || current_user_name || '/' || session_user_name, ',') FROM public.who")" \
  "1:alice/backout_worker"
expect "client 2 untouched" "$(q "SELECT status FROM backout.billing_batch WHERE client_id = 2")" COMPLETED

echo "-- 3. no group, no schema; the worker's role cannot log in"
{ as nobody "SELECT count(*) FROM backout.client" 2>&1 || true; } | grep -q 'permission denied for schema backout' \
  || fail "a login without a group reached the schema"
echo "ok: nobody is kept out"
if PGPASSWORD=x psql -X -At -h localhost -U backout_worker -d "$db" -c "SELECT 1" >/dev/null 2>&1; then
  fail "backout_worker logged in with a password"
fi
echo "ok: backout_worker has no password to log in with"

echo "-- 4. DROP EXTENSION keeps the roles; CREATE EXTENSION adopts them"
q "DROP TRIGGER note_who ON backout.billing_record" >/dev/null
q "DROP EXTENSION pg_backout" >/dev/null
expect "roles kept" "$(q "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'backout\_%'")" 4
q "CREATE EXTENSION pg_backout" >/dev/null
expect "adopted, entitlements start empty" "$(q "SELECT count(*) FROM backout.entitlement")" 0
echo "all privilege login checks passed"
