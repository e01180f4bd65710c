# Shared settings for scripts/*.sh and .ci/run (sourced, not executed).
export PGRX_VERSION="0.18.1"
export PG_MAJOR="15"
export PG_CONFIG="/usr/lib/postgresql/15/bin/pg_config"
export PGXS_DIR="/usr/lib/postgresql/15/lib/pgxs"
