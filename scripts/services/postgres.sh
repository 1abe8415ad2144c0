# A throwaway PostgreSQL cluster for the store tests (sourced by scripts/test).
# Installs Debian's postgresql and libpq-dev when missing, runs initdb and pg_ctl as the postgres
# user under $BERTH_TEST_ROOT/postgres, listens on a unix socket there and on 127.0.0.1 at a free
# port, and exports:
#   BERTH_TEST_POSTGRES_URL     a URI for the `berth` role and database (tests make their own
#                               databases through it)
#   BERTH_TEST_POSTGRES_DATA    the data directory, and BERTH_TEST_POSTGRES_CTL the pg_ctl to run
#                               as the postgres user (the restart test stops and starts the cluster)
#   BERTH_TEST_POSTGRES_SOCKET  the unix socket directory, BERTH_TEST_POSTGRES_PORT the port
# The cleanup stops this cluster only (pg_ctl stop -m fast on its data directory).

services+=(postgres)

postgres_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && { printf '%s\n' "$dir"; return 0; }
  done
  return 1
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    sudo -u postgres "$@"
  fi
}

start_postgres() {
  need_apt postgresql libpq-dev libsqlite3-dev pkg-config
  local bin
  bin=$(postgres_bin) || { printf 'error: no pg_ctl under /usr/lib/postgresql/*/bin\n' >&2; return 1; }
  id postgres >/dev/null 2>&1 || { printf 'error: the postgres user is missing (the postgresql package creates it)\n' >&2; return 1; }

  local root="$BERTH_TEST_ROOT/postgres"
  local data="$root/data" socket="$root/socket" port
  port=$(free_port)
  mkdir -p "$data" "$socket"
  # The test root is private to us (mode 700): let the postgres user through to its own folder.
  chmod 711 "$BERTH_TEST_ROOT"
  chown -R postgres: "$root"
  chmod 700 "$data"

  as_postgres "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$root/initdb.log" 2>&1 \
    || { cat "$root/initdb.log" >&2; return 1; }
  cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$socket'
max_connections = 300
shared_buffers = 128MB
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
  as_postgres "$bin/pg_ctl" -D "$data" -l "$root/server.log" -w -t 60 start >/dev/null \
    || { cat "$root/server.log" >&2; return 1; }
  postgres_data_dir="$data"
  postgres_ctl="$bin/pg_ctl"
  on_cleanup stop_postgres

  as_postgres "$bin/psql" -h "$socket" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE berth LOGIN SUPERUSER PASSWORD 'berth-test'" \
    -c "CREATE DATABASE berth OWNER berth" >/dev/null || return 1

  export BERTH_TEST_POSTGRES_URL="postgresql://berth:berth-test@127.0.0.1:$port/berth"
  export BERTH_TEST_POSTGRES_DATA="$data"
  export BERTH_TEST_POSTGRES_CTL="$bin/pg_ctl"
  export BERTH_TEST_POSTGRES_SOCKET="$socket"
  export BERTH_TEST_POSTGRES_PORT="$port"
  wait_for 30 "PostgreSQL" "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q
}

stop_postgres() {
  [ -n "${postgres_data_dir:-}" ] || return 0
  as_postgres "$postgres_ctl" -D "$postgres_data_dir" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}
