# A second private Docker engine, for what the first one (dockerd.sh) must never have: bridge
# networks. It runs inside a network namespace this run creates (`ip netns add berth-test-…`) and
# deletes, so Docker's default bridge, user-defined networks, their DNS aliases and iptables rules
# all live in that namespace and nothing of them reaches the host's interfaces. Its socket, data
# root and exec root are under $BERTH_TEST_ROOT/netns; the busybox image is built in it as in the
# first engine. The host side of the namespace (a published port, say) is reached only from inside
# it: `nsenter --net=/var/run/netns/$BERTH_TEST_NETNS wget -qO- http://127.0.0.1:PORT/`.
# Sourced by scripts/test (and scripts/bench-compose --networked). Exports:
#   BERTH_TEST_NETNS_DOCKER_HOST   unix://…/netns/d.sock
#   BERTH_TEST_NETNS               the namespace's name (a file in /var/run/netns)
#   BERTH_TEST_IMAGE               localhost/berth-busybox:latest, the same name as in dockerd.sh
services+=(netns_dockerd)

# Set by start_netns_dockerd for stop_netns_dockerd: what this run made.
netns_dockerd_name=""
netns_dockerd_pid=""

start_netns_dockerd() {
  # iproute2 for `ip netns` (not in a minimal Debian), util-linux for nsenter, iptables for the
  # engine's rules inside the namespace (docker.io depends on it; named to be explicit).
  need_apt docker.io busybox-static iproute2 util-linux iptables
  local root="$BERTH_TEST_ROOT/netns" suffix
  # Short paths: unix socket paths are limited to 108 bytes.
  local socket="$root/d.sock"
  mkdir -p "$root"
  suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  netns_dockerd_name="berth-test-$suffix"
  # The cleanup is registered before the namespace exists, so a failure from here on still
  # deletes whatever was made.
  on_cleanup stop_netns_dockerd
  if ! ip netns add "$netns_dockerd_name"; then
    netns_dockerd_name=""
    log "ip netns add failed (root, or CAP_SYS_ADMIN, is needed)"
    return 1
  fi
  # A new namespace has only lo, and it is down: without it 127.0.0.1 inside is unreachable.
  ip netns exec "$netns_dockerd_name" ip link set lo up || return 1
  local host_links
  host_links=$(host_bridge_links)
  # nsenter execs dockerd in place, so $! is the engine's PID.
  $(private_dockerd_command "$root" "$netns_dockerd_name") >>"$root/dockerd.log" 2>&1 &
  netns_dockerd_pid=$!
  if ! wait_for 60 "namespaced dockerd" test -S "$socket" \
    || ! wait_for 30 "namespaced dockerd API" docker -H "unix://$socket" version; then
    tail -n 30 "$root/dockerd.log" >&2
    return 1
  fi
  # A positive check that the engine is where it should be: its default bridge exists (it would
  # not in an engine started with --bridge=none), and the host got no bridge or veth from it.
  docker -H "unix://$socket" network inspect bridge >/dev/null || { log "the namespaced dockerd has no bridge network"; return 1; }
  local added
  added=$(comm -13 <(echo "$host_links") <(host_bridge_links))
  if [ -n "$added" ]; then
    log "the host's network namespace got new interfaces ($added): refusing to go on"
    return 1
  fi
  export BERTH_TEST_NETNS_DOCKER_HOST="unix://$socket"
  export BERTH_TEST_NETNS="$netns_dockerd_name"
  export BERTH_TEST_IMAGE="localhost/berth-busybox:latest"
  build_busybox_image "$BERTH_TEST_NETNS_DOCKER_HOST" "$root/rootfs" "$BERTH_TEST_IMAGE" || return 1
}

# host_bridge_links: the names of the host's bridge and veth interfaces (Docker's kinds), sorted.
host_bridge_links() {
  ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep -E '^(docker|br-|veth)' | sort || true
}

# Removes the engine's containers and networks, stops it by its PID, unmounts what it left under
# its roots and deletes the namespace. Each step runs even when an earlier one could not.
stop_netns_dockerd() {
  local root="$BERTH_TEST_ROOT/netns" host="unix://$BERTH_TEST_ROOT/netns/d.sock"
  if [ -n "$netns_dockerd_pid" ] && kill -0 "$netns_dockerd_pid" 2>/dev/null; then
    docker -H "$host" ps -aq 2>/dev/null | xargs -r docker -H "$host" rm -f >/dev/null 2>&1 || true
    # Only unused user-defined networks go (all of them, once the containers are gone); the
    # engine's own bridge, host and none stay, as they must.
    docker -H "$host" network prune -f >/dev/null 2>&1 || true
    stop_pid "$netns_dockerd_pid" 30
  fi
  netns_dockerd_pid=""
  [ -d "$root" ] && unmount_under "$root"
  if [ -n "$netns_dockerd_name" ]; then
    ip netns delete "$netns_dockerd_name" || log "could not delete network namespace $netns_dockerd_name"
    netns_dockerd_name=""
  fi
  return 0
}
