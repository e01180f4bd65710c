# Sourced: run_in_cluster CMD... runs CMD against a throwaway PostgreSQL cluster (pg_virtualenv sets
# PGHOST/PGPORT/PGUSER/PGPASSWORD) configured with pgrx-config/postgresql.conf.  Works as root.
# CMD is bounded by a timeout so that a hung test cannot hold CI for its whole budget.

# pg_virtualenv, run as root, always names its cluster "regress"; an interrupted run leaves it behind and
# the next one refuses to start.  Remove such a leftover (only one pg_virtualenv itself created).
drop_stale_virtualenv_cluster() {
  local conf="/etc/postgresql/$PG_MAJOR/regress"
  if [ -f "$conf/.by_pg_virtualenv" ]; then
    pg_dropcluster --stop "$PG_MAJOR" regress 2>/dev/null || true
    rm -rf "$conf" "/var/lib/postgresql/$PG_MAJOR/regress"
  fi
}

run_in_cluster() {
  local opts=() line
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    opts+=(-o "$line")
  done < "$here/pgrx-config/postgresql.conf"
  drop_stale_virtualenv_cluster
  pg_virtualenv -v "$PG_MAJOR" "${opts[@]}" timeout "${CLUSTER_TIMEOUT:-900}" "$@"
}
