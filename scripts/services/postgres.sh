# Throwaway PostgreSQL clusters for the tests (sourced by scripts/test).
# Installs Debian's postgresql and libpq-dev when missing, runs initdb and pg_ctl as the postgres
# user under $BERTH_TEST_ROOT/postgres, postgres-restart and postgres-outage, each listening on a
# unix socket there and on 127.0.0.1 at a free port, and exports:
#   BERTH_TEST_POSTGRES_URL     a URI for the `berth` role and database of the main cluster (tests
#                               make their own databases through it)
#   BERTH_TEST_POSTGRES_SOCKET  its unix socket directory, BERTH_TEST_POSTGRES_PORT its port
#   BERTH_TEST_POSTGRES_RESTART_URL, _RESTART_DATA and BERTH_TEST_POSTGRES_CTL: a second cluster
#                               that the restart test stops and starts (as the postgres user), so
#                               tests running meanwhile keep their server
#   BERTH_TEST_POSTGRES_OUTAGE_URL and _OUTAGE_DATA: a third, for the self-healing test
# The cleanup stops these clusters only (pg_ctl stop -m fast on their data directories).

services+=(postgres)

postgres_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && { printf '%s\n' "$dir"; return 0; }
  done
  return 1
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    sudo -u postgres "$@"
  fi
}

# make_cluster NAME: initdb and start a cluster under $BERTH_TEST_ROOT/NAME (the postgres user runs
# it), with a `berth` superuser and database; sets cluster_port, cluster_data, cluster_socket.
make_cluster() {
  local name=$1 bin=$2
  local root="$BERTH_TEST_ROOT/$name"
  cluster_data="$root/data" cluster_socket="$root/socket"
  cluster_port=$(free_port)
  mkdir -p "$cluster_data" "$cluster_socket"
  chown -R postgres: "$root"
  chmod 700 "$cluster_data"

  as_postgres "$bin/initdb" -D "$cluster_data" -U postgres --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$root/initdb.log" 2>&1 \
    || { cat "$root/initdb.log" >&2; return 1; }
  cat >>"$cluster_data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $cluster_port
unix_socket_directories = '$cluster_socket'
max_connections = 300
shared_buffers = 128MB
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
  as_postgres "$bin/pg_ctl" -D "$cluster_data" -l "$root/server.log" -w -t 60 start >/dev/null \
    || { cat "$root/server.log" >&2; return 1; }
  postgres_data_dirs+=("$cluster_data")
  as_postgres "$bin/psql" -h "$cluster_socket" -p "$cluster_port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE berth LOGIN SUPERUSER PASSWORD 'berth-test'" \
    -c "CREATE DATABASE berth OWNER berth" >/dev/null || return 1
  wait_for 30 "PostgreSQL ($name)" "$bin/pg_isready" -h 127.0.0.1 -p "$cluster_port" -q
}

postgres_data_dirs=()

start_postgres() {
  need_apt postgresql libpq-dev libsqlite3-dev pkg-config
  local bin
  bin=$(postgres_bin) || { printf 'error: no pg_ctl under /usr/lib/postgresql/*/bin\n' >&2; return 1; }
  id postgres >/dev/null 2>&1 || { printf 'error: the postgres user is missing (the postgresql package creates it)\n' >&2; return 1; }
  # The test root is private to us (mode 700): let the postgres user through to its own folders.
  chmod 711 "$BERTH_TEST_ROOT"
  postgres_ctl="$bin/pg_ctl"
  on_cleanup stop_postgres

  make_cluster postgres "$bin" || return 1
  export BERTH_TEST_POSTGRES_URL="postgresql://berth:berth-test@127.0.0.1:$cluster_port/berth"
  export BERTH_TEST_POSTGRES_SOCKET="$cluster_socket"
  export BERTH_TEST_POSTGRES_PORT="$cluster_port"

  # A second cluster that the restart test stops and starts, so that no other test loses its server.
  make_cluster postgres-restart "$bin" || return 1
  export BERTH_TEST_POSTGRES_RESTART_URL="postgresql://berth:berth-test@127.0.0.1:$cluster_port/berth"
  export BERTH_TEST_POSTGRES_RESTART_DATA="$cluster_data"
  export BERTH_TEST_POSTGRES_CTL="$bin/pg_ctl"

  # A third that the self-healing test stops while its controllers run on.
  make_cluster postgres-outage "$bin" || return 1
  export BERTH_TEST_POSTGRES_OUTAGE_URL="postgresql://berth:berth-test@127.0.0.1:$cluster_port/berth"
  export BERTH_TEST_POSTGRES_OUTAGE_DATA="$cluster_data"
}

stop_postgres() {
  local data
  for data in "${postgres_data_dirs[@]}"; do
    as_postgres "$postgres_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  done
}
