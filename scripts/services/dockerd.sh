# A private Docker engine for the tests: its own socket, data root and exec root under the test
# root, no bridge and no iptables (containers use network host or none only), and a busybox image
# made with `docker import` from Debian's busybox-static (no registry is needed or reached).
# It also listens on a free port of 127.0.0.1 with mutual TLS, so tests reach it as
# DOCKER_HOST=tcp://… too; only holders of the client key (under the test root) get in.
services+=(dockerd)

start_dockerd() {
  need_apt docker.io busybox-static openssl
  local root="$BERTH_TEST_ROOT/docker"
  mkdir -p "$root"
  # Short paths: unix socket paths are limited to 108 bytes.
  local socket="$root/d.sock" tls="$root/tls" port
  make_docker_tls "$tls" || return 1
  port=$(free_port)
  $(private_dockerd_command "$root") --host "tcp://127.0.0.1:$port" --tlsverify \
    --tlscacert "$tls/ca.pem" --tlscert "$tls/server-cert.pem" --tlskey "$tls/server-key.pem" >>"$root/dockerd.log" 2>&1 &
  on_cleanup stop_dockerd
  if ! wait_for 60 "dockerd" test -S "$socket" || ! wait_for 30 "dockerd API" docker -H "unix://$socket" version \
    || ! wait_for 30 "dockerd API over TLS" docker --tlsverify -H "tcp://127.0.0.1:$port" \
      --tlscacert "$tls/client/ca.pem" --tlscert "$tls/client/cert.pem" --tlskey "$tls/client/key.pem" version; then
    tail -n 30 "$root/dockerd.log" >&2
    return 1
  fi
  export BERTH_TEST_DOCKER_HOST="unix://$socket"
  # Read as DOCKER_HOST, DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem).
  export BERTH_TEST_DOCKER_TCP_HOST="tcp://127.0.0.1:$port"
  export BERTH_TEST_DOCKER_CERT_PATH="$tls/client"
  build_test_image "unix://$socket" || return 1
}

# The safety rule for the engine in the host's network namespace: its containers use network
# host or none, and no bridge network exists on it. A test that made one (a service left on the
# project's default network, say) fails the run here, naming the networks.
check_host_engine_has_no_bridges() {
  local bridges
  bridges=$(docker -H "$BERTH_TEST_DOCKER_HOST" network ls --filter driver=bridge --format '{{.Name}}' 2>/dev/null || true)
  [ -z "$bridges" ] && return 0
  log "a test created bridge networks on the engine in the host's network namespace (use the namespaced engine): $bridges"
  return 1
}

# make_docker_tls FOLDER: a throwaway CA, a server certificate for IP 127.0.0.1, and a client
# certificate in FOLDER/client laid out as Docker's DOCKER_CERT_PATH expects.
make_docker_tls() {
  local folder=$1
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  mkdir -p "$folder/client"
  (
    set -e
    cd "$folder"
    openssl req -x509 -new "${ec[@]}" -days 2 -subj /CN=berth-test-ca -keyout ca-key.pem -out ca.pem \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    openssl req -new "${ec[@]}" -subj /CN=127.0.0.1 -keyout server-key.pem -out server.csr
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -out server-cert.pem \
      -extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
    openssl req -new "${ec[@]}" -subj /CN=berth-test-client -keyout client/key.pem -out client.csr
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -out client/cert.pem \
      -extfile <(printf 'extendedKeyUsage=clientAuth\n')
    cp ca.pem client/ca.pem
  ) >>"$folder/openssl.log" 2>&1 || { tail -n 20 "$folder/openssl.log" >&2; return 1; }
}

# The pid files name whichever dockerds run now: ours, and scratch ones a test started under the
# test root (docker-*/dockerd.pid) and could not stop itself. Only those are stopped.
stop_dockerd() {
  local scratch root pid pidfile="$BERTH_TEST_ROOT/docker/dockerd.pid"
  for scratch in "$BERTH_TEST_ROOT"/docker-*/dockerd.pid; do
    [ -f "$scratch" ] && stop_pid "$(cat "$scratch")" 30
  done
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    # Remove what the tests left, so the data root can be deleted.
    docker -H "$BERTH_TEST_DOCKER_HOST" ps -aq 2>/dev/null | xargs -r docker -H "$BERTH_TEST_DOCKER_HOST" rm -f >/dev/null 2>&1 || true
    stop_pid "$pid" 30
  fi
  # Once the engines are gone: their exec roots still hold mounted namespace files
  # (exec/netns/default), which `rm -rf` of the test root cannot remove.
  for root in "$BERTH_TEST_ROOT"/docker "$BERTH_TEST_ROOT"/docker-*; do
    [ -d "$root" ] && unmount_under "$root"
  done
  stop_leftover_shims "$BERTH_TEST_ROOT"
  return 0
}

# stop_leftover_shims ROOT: the containerd shims of our engines (their containerd socket is under
# ROOT) that outlived them, with what runs under them, stopped by PID. An engine restarted while a
# container started (scripts/chaos) can leave one behind, its `runc init` hung.
stop_leftover_shims() {
  local shim child
  for shim in $(pgrep -f -- "containerd-shim-runc-v2 .*-address $1/" || true); do
    for child in $(pgrep -P "$shim" || true); do kill -KILL "$child" 2>/dev/null || true; done
    kill -KILL "$shim" 2>/dev/null || true
  done
}

build_test_image() {
  export BERTH_TEST_IMAGE="localhost/berth-busybox:latest"
  build_busybox_image "$1" "$BERTH_TEST_ROOT/docker/rootfs" "$BERTH_TEST_IMAGE"
}
