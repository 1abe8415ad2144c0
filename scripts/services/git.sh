# Git servers for the BerthGit tests (sourced by scripts/test), all on 127.0.0.1 and all serving
# the same folder of bare repositories, where a test makes its own (`git init --bare NAME.git`):
#   nginx + fcgiwrap (unix socket) + `git http-backend`, with basic auth; an authenticated user
#     may push (git http-backend enables receive-pack when REMOTE_USER is set)
#   `git daemon` with receive-pack enabled (anonymous push)
#   sshd with its own host key, config and authorized_keys, running as the current user
# Exports:
#   BERTH_TEST_GIT_ROOT            the served folder (absolute); repositories are made there
#   BERTH_TEST_GIT_HTTP_URL        http://127.0.0.1:PORT (a repository is $URL/NAME.git)
#   BERTH_TEST_GIT_HTTP_USER, BERTH_TEST_GIT_HTTP_PASSWORD  a basic-auth user and its password (the
#                                  user `git` has the same password)
#   BERTH_TEST_GIT_DAEMON_URL      git://127.0.0.1:PORT (a repository is $URL/NAME.git)
#   BERTH_TEST_GIT_SSH_URL         ssh://USER@127.0.0.1:PORT$BERTH_TEST_GIT_ROOT (+ /NAME.git)
#   BERTH_TEST_GIT_SSH_KEY         the client's private key (mode 600)
#   BERTH_TEST_GIT_KNOWN_HOSTS     a known_hosts file holding the server's host key
#   BERTH_TEST_GIT_OTHER_KNOWN_HOSTS  one holding another key for the same address (must be refused)
# The cleanup stops nginx, fcgiwrap, git daemon and sshd by the PIDs started here.

services+=(git)

start_git() {
  need_apt git nginx fcgiwrap openssh-server openssh-client openssl gnupg
  local root="$BERTH_TEST_ROOT/git"
  local repos="$root/repos" user http_port daemon_port ssh_port
  # Three free ports from one interpreter (python3 starts slowly on a busy machine).
  read -r http_port daemon_port ssh_port < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(3)]
for s in sockets: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in sockets])')
  user=$(id -un)
  mkdir -p "$repos" "$root/nginx" "$root/ssh"
  git_pids=()
  on_cleanup stop_git

  # HTTP: fcgiwrap on a unix socket, nginx in front with basic auth.
  local password
  password=$(openssl rand -hex 16)
  # Two users with the same password: `berth`, and `git` (the user of an auth file holding a token only).
  printf 'berth:%s\ngit:%s\n' "$(openssl passwd -apr1 "$password")" "$(openssl passwd -apr1 "$password")" >"$root/nginx/htpasswd"
  fcgiwrap -s "unix:$root/fcgiwrap.sock" >>"$root/fcgiwrap.log" 2>&1 &
  git_pids+=($!)
  cat >"$root/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $root/nginx/nginx.pid;
error_log $root/nginx/error.log warn;
$([ "$(id -u)" -eq 0 ] && echo "user $user;")
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $root/nginx/body;
  proxy_temp_path $root/nginx/proxy;
  fastcgi_temp_path $root/nginx/fastcgi;
  uwsgi_temp_path $root/nginx/uwsgi;
  scgi_temp_path $root/nginx/scgi;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:$http_port;
    location / {
      auth_basic "berth-test";
      auth_basic_user_file $root/nginx/htpasswd;
      fastcgi_pass unix:$root/fcgiwrap.sock;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
      fastcgi_param GIT_PROJECT_ROOT $repos;
      fastcgi_param GIT_HTTP_EXPORT_ALL "";
      fastcgi_param PATH_INFO \$uri;
      fastcgi_param REMOTE_USER \$remote_user;
    }
  }
}
CONF
  nginx -c "$root/nginx/nginx.conf" -e "$root/nginx/error.log" >>"$root/nginx/nginx.log" 2>&1 &
  git_pids+=($!)

  # git daemon: anonymous fetch and push.
  "$(git --exec-path)/git-daemon" --reuseaddr --listen=127.0.0.1 --port="$daemon_port" --base-path="$repos" --export-all \
    --enable=receive-pack "$repos" >>"$root/daemon.log" 2>&1 &
  git_pids+=($!)

  # sshd: own host key, config and authorized_keys; as root it needs its privilege-separation folder.
  ssh-keygen -q -t ed25519 -N '' -f "$root/ssh/host_key" -C berth-test-host
  ssh-keygen -q -t ed25519 -N '' -f "$root/ssh/client_key" -C berth-test-client
  ssh-keygen -q -t ed25519 -N '' -f "$root/ssh/other_host_key" -C berth-test-other-host
  cp "$root/ssh/client_key.pub" "$root/ssh/authorized_keys"
  chmod 600 "$root/ssh/client_key" "$root/ssh/authorized_keys"
  printf '[127.0.0.1]:%s %s\n' "$ssh_port" "$(cut -d' ' -f1,2 "$root/ssh/host_key.pub")" >"$root/ssh/known_hosts"
  printf '[127.0.0.1]:%s %s\n' "$ssh_port" "$(cut -d' ' -f1,2 "$root/ssh/other_host_key.pub")" >"$root/ssh/other_known_hosts"
  cat >"$root/ssh/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $ssh_port
HostKey $root/ssh/host_key
PidFile $root/ssh/sshd.pid
AuthorizedKeysFile $root/ssh/authorized_keys
AllowUsers $user
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
LogLevel ERROR
CONF
  if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
    mkdir -p /run/sshd && chmod 755 /run/sshd
  fi
  /usr/sbin/sshd -t -f "$root/ssh/sshd_config" || return 1
  /usr/sbin/sshd -D -e -f "$root/ssh/sshd_config" >>"$root/ssh/sshd.log" 2>&1 &
  git_pids+=($!)

  export BERTH_TEST_GIT_ROOT="$repos"
  export BERTH_TEST_GIT_HTTP_URL="http://127.0.0.1:$http_port"
  export BERTH_TEST_GIT_HTTP_USER=berth
  export BERTH_TEST_GIT_HTTP_PASSWORD="$password"
  export BERTH_TEST_GIT_DAEMON_URL="git://127.0.0.1:$daemon_port"
  export BERTH_TEST_GIT_SSH_URL="ssh://$user@127.0.0.1:$ssh_port$repos"
  export BERTH_TEST_GIT_SSH_KEY="$root/ssh/client_key"
  export BERTH_TEST_GIT_KNOWN_HOSTS="$root/ssh/known_hosts"
  export BERTH_TEST_GIT_OTHER_KNOWN_HOSTS="$root/ssh/other_known_hosts"

  # Each server answers ls-remote on a probe repository before the tests start.
  git init -q --bare "$repos/probe.git"
  local probe=(env GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 HOME="$root" git)
  if ! wait_for 20 "git http-backend behind nginx" "${probe[@]}" ls-remote \
      "http://berth:$password@127.0.0.1:$http_port/probe.git" \
    || ! wait_for 20 "git daemon" "${probe[@]}" ls-remote "$BERTH_TEST_GIT_DAEMON_URL/probe.git" \
    || ! wait_for 20 "sshd" env GIT_SSH_COMMAND="ssh -F /dev/null -i $BERTH_TEST_GIT_SSH_KEY -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$BERTH_TEST_GIT_KNOWN_HOSTS" \
      "${probe[@]}" ls-remote "$BERTH_TEST_GIT_SSH_URL/probe.git"; then
    tail -n 20 "$root/nginx/error.log" "$root/fcgiwrap.log" "$root/daemon.log" "$root/ssh/sshd.log" >&2 2>/dev/null
    return 1
  fi
}

stop_git() {
  local pid
  for pid in "${git_pids[@]}"; do
    stop_pid "$pid" 10
  done
}
