#!/usr/bin/env bash
# A throwaway three-node Citus cluster on localhost for the Citus tests of pg_backout:
#   coordinator on port 9700, workers on 9701 and 9702, data directories and unix sockets under $CITUS_DIR
#   (default /tmp/citus_h), each server's log in $CITUS_DIR/<port>.log.
# Every node preloads citus (first) and pg_backout, has database $CITUS_DB (default billing) with
# CREATE EXTENSION citus; the workers are registered on the coordinator (citus_set_coordinator_host +
# citus_add_node), then CREATE EXTENSION pg_backout runs on the coordinator and propagates to the workers.
#
# Usage (as root or as postgres; server commands run as postgres):
#   tests/citus/cluster.sh start     create (if missing) and start the cluster; idempotent
#   tests/citus/cluster.sh stop      stop every node and remove $CITUS_DIR
#   tests/citus/cluster.sh status    one line per node
#   tests/citus/cluster.sh psql [PORT] [psql args...]   psql on a node (default the coordinator)
# Environment: CITUS_DIR, CITUS_DB, CITUS_PORTS ("9700 9701 9702"), PG_BIN (/usr/lib/postgresql/15/bin),
#   CITUS_EXTRA_CONF (more postgresql.conf lines, e.g. "pg_backout.start_runners = on").
set -euo pipefail

dir=${CITUS_DIR:-/tmp/citus_h}
db=${CITUS_DB:-billing}
read -r -a ports <<< "${CITUS_PORTS:-9700 9701 9702}"
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
coordinator=${ports[0]}

as_pg() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}
pgq() {  # pgq PORT DB SQL: one statement, unaligned, stops on error
  as_pg "$bin/psql" -X -At -v ON_ERROR_STOP=1 -h "$dir" -p "$1" -d "$2" -c "$3"
}
running() { as_pg "$bin/pg_ctl" -D "$dir/$1" status >/dev/null 2>&1; }

init_node() {
  local port=$1 data="$dir/$1"
  [ -f "$data/PG_VERSION" ] && return 0
  as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb-$port.log" 2>&1 \
    || { cat "$dir/initdb-$port.log" >&2; return 1; }
  cat >>"$data/postgresql.conf" <<EOF

# tests/citus/cluster.sh
port = $port
listen_addresses = 'localhost'
unix_socket_directories = '$dir'
shared_preload_libraries = 'citus,pg_backout'
pg_backout.database = '$db'
pg_backout.start_runners = off
# the launcher polls once at start (before the extension exists), then hourly: batches run only when a test
# runs them (CALL backout.run_pending_batches, or a runner the test starts itself)
pg_backout.poll_interval = 3600
max_worker_processes = 20
max_connections = 100
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
citus.shard_count = 8
citus.log_remote_commands = off
${CITUS_EXTRA_CONF:-}
EOF
  # trust on localhost TCP too: the nodes connect to each other over localhost
  cat >"$data/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
EOF
}

start_node() {
  local port=$1
  running "$port" && return 0
  as_pg "$bin/pg_ctl" -D "$dir/$port" -l "$dir/$port.log" -w -t 60 start >/dev/null
}

start() {
  local t0=$SECONDS port
  mkdir -p "$dir" && chown postgres "$dir" 2>/dev/null || true
  chmod 0755 "$dir"
  for port in "${ports[@]}"; do init_node "$port"; done
  for port in "${ports[@]}"; do start_node "$port"; done
  for port in "${ports[@]}"; do
    if [ "$(pgq "$port" postgres "SELECT count(*) FROM pg_database WHERE datname = '$db'")" = 0 ]; then
      pgq "$port" postgres "CREATE DATABASE $db" >/dev/null
    fi
    pgq "$port" "$db" "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS citus" >/dev/null
  done
  pgq "$coordinator" "$db" "SELECT citus_set_coordinator_host('localhost', $coordinator)" >/dev/null
  for port in "${ports[@]:1}"; do
    if [ "$(pgq "$coordinator" "$db" "SELECT count(*) FROM pg_dist_node WHERE nodeport = $port")" = 0 ]; then
      pgq "$coordinator" "$db" "SELECT citus_add_node('localhost', $port)" >/dev/null
    fi
  done
  pgq "$coordinator" "$db" "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_backout" >/dev/null
  # the extension must have reached every worker
  for port in "${ports[@]:1}"; do
    [ "$(pgq "$port" "$db" "SELECT extversion FROM pg_extension WHERE extname = 'pg_backout'")" != "" ] \
      || { echo "cluster.sh: pg_backout did not propagate to the worker on port $port" >&2; return 1; }
  done
  echo "citus cluster up in $((SECONDS - t0)) s: coordinator $coordinator, workers ${ports[*]:1}, database $db, sockets $dir"
}

stop() {
  local port
  for port in "${ports[@]}"; do
    if [ -f "$dir/$port/PG_VERSION" ] && running "$port"; then
      as_pg "$bin/pg_ctl" -D "$dir/$port" -m fast -w -t 60 stop >/dev/null || \
        as_pg "$bin/pg_ctl" -D "$dir/$port" -m immediate -w stop >/dev/null || true
    fi
  done
  case "$dir" in /tmp/?*) rm -rf "$dir" ;; *) echo "cluster.sh: not removing $dir (not under /tmp)" >&2 ;; esac
  echo "citus cluster stopped, $dir removed"
}

status() {
  local port
  for port in "${ports[@]}"; do
    if running "$port"; then echo "$port running"; else echo "$port stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  psql) shift; port=${1:-$coordinator}; [ $# -gt 0 ] && shift
        as_pg "$bin/psql" -X -h "$dir" -p "$port" -d "$db" "$@" ;;
  *) echo "usage: $0 start|stop|status|psql [PORT] [psql args]" >&2; exit 2 ;;
esac
