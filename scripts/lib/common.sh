# Shared helpers for the scripts in scripts/: installing what is missing and cleaning up what we start.
# Sourced, not run.

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_updated=""
# need_apt PACKAGE... installs the Debian packages that are not installed yet.
need_apt() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "$apt_updated" ]; then
    log "apt-get update"
    $sudo apt-get update -qq || die "apt-get update failed"
    apt_updated=1
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "could not install ${missing[*]}"
}

# need_pip COMMAND PACKAGE installs the PyPI package when COMMAND is not on PATH.
need_pip() {
  pip_scripts_on_path
  command -v "$1" >/dev/null 2>&1 && return 0
  command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 || need_apt python3 python3-pip
  log "pip install $2"
  python3 -m pip install -q "$2" 2>/dev/null || python3 -m pip install -q --break-system-packages "$2" || die "could not pip install $2"
  pip_scripts_on_path
  command -v "$1" >/dev/null 2>&1 || die "$1 is not on PATH after pip install $2"
}

# pip_scripts_on_path puts the folders pip installs commands into (the interpreter's and the
# user's) on PATH, so a tool pip just installed is found without a shell rehash.
pip_scripts_on_path() {
  command -v python3 >/dev/null 2>&1 || return 0
  local folders
  folders=$(python3 -c 'import site, sysconfig; print(sysconfig.get_path("scripts") + ":" + site.getuserbase() + "/bin")' 2>/dev/null) || return 0
  export PATH="$folders:$PATH"
}

# need_build_packages installs the C libraries the package links (headers and pkg-config files).
need_build_packages() {
  need_apt pkg-config libcurl4-openssl-dev libpq-dev libsqlite3-dev zlib1g-dev
}

# need_swift fails with a hint when no Swift toolchain is on PATH.
need_swift() {
  if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  fi
  command -v swift >/dev/null 2>&1 || die "Swift 6 is needed: install it from swift.org and put it on PATH"
}

# Cleanup hooks run when the script exits, last registered first, so a service stops before the
# folder it lives in is removed. Services stop only processes they started, by PID.
cleanup_hooks=()
on_cleanup() { cleanup_hooks+=("$1"); }
cleanup() {
  local status=$? index
  for ((index = ${#cleanup_hooks[@]} - 1; index >= 0; index--)); do "${cleanup_hooks[index]}" || true; done
  return $status
}
trap cleanup EXIT

# stop_pid PID [SECONDS]: SIGTERM, wait up to SECONDS (default 20), then SIGKILL.
stop_pid() {
  local pid=$1 wait_seconds=${2:-20} tick
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((tick = 0; tick < wait_seconds * 10; tick++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# timed COMMAND...: runs COMMAND (output appended to the file $out) and prints its wall time in ms;
# a failure prints the end of $out and exits (for the benchmark scripts).
timed() {
  local start=${EPOCHREALTIME/./} end
  "$@" >>"$out" 2>&1 || { tail -n 20 "$out" >&2; die "failed: $*"; }
  end=${EPOCHREALTIME/./}
  echo $(((end - start) / 1000))
}

# median NUMBER...: the median (the mean of the middle two, rounded down, for an even count).
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
  local seconds=$1 what=$2 tick
  shift 2
  for ((tick = 0; tick < seconds * 5; tick++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  printf 'error: %s did not come up within %ss\n' "$what" "$seconds" >&2
  return 1
}

# private_dockerd_command ROOT [NETNS] prints the command line of a private Docker engine under
# ROOT (socket ROOT/d.sock, pid file ROOT/dockerd.pid, data and exec roots beside them).
# Without NETNS it runs in the host's network namespace with no bridge and no iptables, so
# containers use network host or none only (the rule on shared machines). With NETNS (a name
# `ip netns add` made) it runs inside that namespace through nsenter and keeps Docker's default
# bridge, user-defined networks and iptables: they then exist in that namespace only. The two
# go together on purpose, so no caller can get a bridged engine in the host's namespace.
# nsenter, not `ip netns exec`: the latter also moves the command into a mount namespace of its
# own with /sys remounted, which hides /sys/fs/cgroup (dockerd 20.10 exits: "Devices cgroup isn't
# mounted"); nsenter --net changes the network namespace only.
private_dockerd_command() {
  local root=$1 netns=${2:-}
  local base="dockerd --host unix://$root/d.sock --data-root $root/data --exec-root $root/exec --pidfile $root/dockerd.pid"
  if [ -n "$netns" ]; then
    printf '%s' "nsenter --net=/var/run/netns/$netns $base"
  else
    printf '%s' "$base --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --userland-proxy=false"
  fi
}

# unmount_under FOLDER unmounts every mount point below FOLDER, deepest first. A dockerd's exec
# root holds its network namespace files (exec/netns/default, one per container with a bridge
# network) as nsfs bind mounts, which survive the engine and make `rm -rf` fail with "Device or
# resource busy"; `umount -R FOLDER` does not help when FOLDER itself is no mount point.
unmount_under() {
  local folder=${1%/} target
  [ -n "$folder" ] && [ "$folder" != / ] || return 1
  # Field 5 of mountinfo is the mount point (no spaces in our paths, so no \040 escapes).
  for target in $(awk -v prefix="$folder/" 'index($5, prefix) == 1 {print $5}' /proc/self/mountinfo | sort -r -u); do
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || log "could not unmount $target"
  done
}

# build_busybox_image HOST ROOTFS IMAGE makes IMAGE on the engine at HOST by `docker import` of a
# root file system holding Debian's busybox-static and its applets: no registry is needed.
build_busybox_image() {
  local host=$1 rootfs=$2 image=$3 applet
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/data"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  tar -C "$rootfs" -c . | docker -H "$host" import - "$image" >/dev/null
}

# release_berth SCRATCH_PATH: sets `berth` to $BERTH_BENCH_BINARY when it is given (another
# revision's release build, for before/after runs taken in turn), else builds one.
release_berth() {
  if [ -n "${BERTH_BENCH_BINARY:-}" ]; then
    berth=$BERTH_BENCH_BINARY
    [ -x "$berth" ] || die "BERTH_BENCH_BINARY=$berth is not an executable"
  else
    build_berth_release "$1"
  fi
}

# The release build's options, as docs/operations.md installs `berth`: Swift's runtime linked in,
# and the dependencies too (ArgumentParser, Yams …) reaching concrete type metadata through
# accessors rather than mangled names, as Package.swift makes Berth's own targets do: fewer
# runtime type lookups and protocol-conformance scans at each start (docs/architecture.md).
release_build_options=(-c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors)

# build_berth_release SCRATCH_PATH: builds `berth` with those options and sets `berth` to the
# binary's path.
build_berth_release() {
  local flags=("${release_build_options[@]}" --scratch-path "$1")
  log "swift build ${flags[*]} --product berth"
  swift build "${flags[@]}" --product berth >&2
  berth="$(swift build "${flags[@]}" --show-bin-path)/berth"
}
