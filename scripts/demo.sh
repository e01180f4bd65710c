#!/usr/bin/env bash
# Set the machine up, build and install pg_backout, and run demo/demo.sql in a throwaway cluster: every
# mistake the product reverses, on one client, ending with its invoices compared with a clean run's.
. "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
echo "demo: building and installing pg_backout (release build, a few minutes the first time)"
cargo pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
run_in_cluster psql -X -q -v ON_ERROR_STOP=1 -f demo/demo.sql
