# A private Docker engine for the tests: its own socket, data root and exec root under the test
# root, no bridge and no iptables (containers use network host or none only), and a busybox image
# made with `docker import` from Debian's busybox-static (no registry is needed or reached).
services+=(dockerd)

start_dockerd() {
  need_apt docker.io busybox-static
  local root="$BERTH_TEST_ROOT/docker"
  mkdir -p "$root"
  # Short paths: unix socket paths are limited to 108 bytes.
  local socket="$root/d.sock"
  $(private_dockerd_command "$root") >>"$root/dockerd.log" 2>&1 &
  on_cleanup stop_dockerd
  if ! wait_for 60 "dockerd" test -S "$socket" || ! wait_for 30 "dockerd API" docker -H "unix://$socket" version; then
    tail -n 30 "$root/dockerd.log" >&2
    return 1
  fi
  export BERTH_TEST_DOCKER_HOST="unix://$socket"
  build_test_image "unix://$socket" || return 1
}

# The pid files name whichever dockerds run now: ours, and scratch ones a test started under the
# test root (docker-*/dockerd.pid) and could not stop itself. Only those are stopped.
stop_dockerd() {
  local scratch
  for scratch in "$BERTH_TEST_ROOT"/docker-*/dockerd.pid; do
    [ -f "$scratch" ] && stop_pid "$(cat "$scratch")" 30
  done
  local pidfile="$BERTH_TEST_ROOT/docker/dockerd.pid"
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  # Remove what the tests left, so the data root can be deleted.
  docker -H "$BERTH_TEST_DOCKER_HOST" ps -aq 2>/dev/null | xargs -r docker -H "$BERTH_TEST_DOCKER_HOST" rm -f >/dev/null 2>&1 || true
  stop_pid "$pid" 30
  umount -R "$BERTH_TEST_ROOT/docker" 2>/dev/null || true
}

build_test_image() {
  export BERTH_TEST_IMAGE="localhost/berth-busybox:latest"
  build_busybox_image "$1" "$BERTH_TEST_ROOT/docker/rootfs" "$BERTH_TEST_IMAGE"
}
