# moto's S3 server for the object storage tests (sourced by scripts/test): installed with pip
# (`moto[server]`) when missing, started on 127.0.0.1 at a free port with signature checking on,
# stopped by its PID. moto checks signatures once INITIAL_NO_AUTH_ACTION_COUNT unauthenticated
# calls are used up: the first three create an IAM user, its access key and an allow-all policy,
# the fourth a bucket in another moto account (so creating it again is BucketAlreadyExists); every
# later request must be signed with the user's key. A second user without a policy gives the
# tests credentials that are refused (AccessDenied), and a role the allowed user assumes gives
# temporary credentials with a session token (moto checks the token on every request). Exports:
#   BERTH_TEST_S3_ENDPOINT                      http://127.0.0.1:PORT
#   BERTH_TEST_S3_ACCESS_KEY, _SECRET_KEY       the allowed user's key
#   BERTH_TEST_S3_DENIED_ACCESS_KEY, _SECRET_KEY a user without any policy
#   BERTH_TEST_S3_FOREIGN_BUCKET                a bucket of another account
#   BERTH_TEST_S3_SESSION_ACCESS_KEY, _SECRET_KEY, _TOKEN  temporary credentials of an allow-all role

services+=(moto)

# moto_call SERVICE KEY SECRET FORM: a SigV4-signed form POST (IAM's or STS's query API) to moto.
moto_call() {
  local version=2010-05-08
  [ "$1" = sts ] && version=2011-06-15
  curl -sS --fail-with-body --max-time 30 --aws-sigv4 "aws:amz:us-east-1:$1" --user "$2:$3" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$BERTH_TEST_S3_ENDPOINT/" --data "$4&Version=$version"
}

# url_encode TEXT: TEXT as a form value.
url_encode() {
  python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# xml_field NAME: the text of the first <NAME> element on standard input.
xml_field() {
  sed -n "s:.*<$1>\([^<]*\)</$1>.*:\1:p" | head -n 1
}

# moto_user NAME KEY SECRET: creates an IAM user and prints "ACCESS_KEY SECRET_KEY" of a new key.
moto_user() {
  local answer
  moto_call iam "$2" "$3" "Action=CreateUser&UserName=$1" >/dev/null || return 1
  answer=$(moto_call iam "$2" "$3" "Action=CreateAccessKey&UserName=$1") || return 1
  printf '%s %s\n' "$(xml_field AccessKeyId <<<"$answer")" "$(xml_field SecretAccessKey <<<"$answer")"
}

start_moto() {
  need_apt curl
  need_pip moto_server 'moto[server]'
  local root="$BERTH_TEST_ROOT/moto" port
  mkdir -p "$root"
  port=$(free_port)
  INITIAL_NO_AUTH_ACTION_COUNT=4 moto_server -H 127.0.0.1 -p "$port" >>"$root/moto.log" 2>&1 &
  moto_pid=$!
  on_cleanup stop_moto
  export BERTH_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  if ! wait_for 60 "moto" curl -sf -o /dev/null "$BERTH_TEST_S3_ENDPOINT/moto-api/"; then
    tail -n 30 "$root/moto.log" >&2
    return 1
  fi
  # The three unauthenticated calls: the allowed user, its key, its policy.
  local policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' keys
  keys=$(moto_user berth AKIDBOOTSTRAP bootstrap) || { tail -n 30 "$root/moto.log" >&2; return 1; }
  read -r BERTH_TEST_S3_ACCESS_KEY BERTH_TEST_S3_SECRET_KEY <<<"$keys"
  moto_call iam AKIDBOOTSTRAP bootstrap "Action=PutUserPolicy&UserName=berth&PolicyName=all&PolicyDocument=$(url_encode "$policy")" >/dev/null \
    || { tail -n 30 "$root/moto.log" >&2; return 1; }
  # moto takes the account of an unauthenticated call from this header.
  export BERTH_TEST_S3_FOREIGN_BUCKET="berth-test-other-account"
  curl -sS --fail-with-body --max-time 30 -X PUT -H "x-moto-account-id: 111111111111" "$BERTH_TEST_S3_ENDPOINT/$BERTH_TEST_S3_FOREIGN_BUCKET" >/dev/null \
    || { tail -n 30 "$root/moto.log" >&2; return 1; }
  # From here on moto checks every signature.
  keys=$(moto_user berth-denied "$BERTH_TEST_S3_ACCESS_KEY" "$BERTH_TEST_S3_SECRET_KEY") || { tail -n 30 "$root/moto.log" >&2; return 1; }
  read -r BERTH_TEST_S3_DENIED_ACCESS_KEY BERTH_TEST_S3_DENIED_SECRET_KEY <<<"$keys"
  # Temporary credentials: an allow-all role, assumed by the allowed user.
  local trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}' session
  moto_call iam "$BERTH_TEST_S3_ACCESS_KEY" "$BERTH_TEST_S3_SECRET_KEY" "Action=CreateRole&RoleName=berth-session&AssumeRolePolicyDocument=$(url_encode "$trust")" >/dev/null \
    && moto_call iam "$BERTH_TEST_S3_ACCESS_KEY" "$BERTH_TEST_S3_SECRET_KEY" "Action=PutRolePolicy&RoleName=berth-session&PolicyName=all&PolicyDocument=$(url_encode "$policy")" >/dev/null \
    && session=$(moto_call sts "$BERTH_TEST_S3_ACCESS_KEY" "$BERTH_TEST_S3_SECRET_KEY" "Action=AssumeRole&RoleArn=$(url_encode arn:aws:iam::123456789012:role/berth-session)&RoleSessionName=berth-test&DurationSeconds=43200") \
    || { tail -n 30 "$root/moto.log" >&2; return 1; }
  BERTH_TEST_S3_SESSION_ACCESS_KEY=$(xml_field AccessKeyId <<<"$session")
  BERTH_TEST_S3_SESSION_SECRET_KEY=$(xml_field SecretAccessKey <<<"$session")
  BERTH_TEST_S3_SESSION_TOKEN=$(xml_field SessionToken <<<"$session")
  [ -n "$BERTH_TEST_S3_ACCESS_KEY" ] && [ -n "$BERTH_TEST_S3_DENIED_ACCESS_KEY" ] && [ -n "$BERTH_TEST_S3_SESSION_TOKEN" ] \
    || { printf 'error: moto returned no access keys or session\n' >&2; return 1; }
  export BERTH_TEST_S3_ACCESS_KEY BERTH_TEST_S3_SECRET_KEY BERTH_TEST_S3_DENIED_ACCESS_KEY BERTH_TEST_S3_DENIED_SECRET_KEY \
    BERTH_TEST_S3_SESSION_ACCESS_KEY BERTH_TEST_S3_SESSION_SECRET_KEY BERTH_TEST_S3_SESSION_TOKEN
}

stop_moto() {
  [ -n "${moto_pid:-}" ] && stop_pid "$moto_pid" 20
}
