# Schemathesis (from PyPI) against a live `berth serve --role api`: generated requests for every
# route of docs/openapi.yaml, a bounded number per route; any 5xx or an answer that does not
# conform to the document fails the run. The API role runs no controller, so nothing generated
# is ever started, pulled or sent anywhere. Sourced by scripts/test; needs $BERTH_TEST_ROOT and
# $BERTH_TEST_DOCKER_HOST.

# run_schemathesis BERTH_BINARY [EXAMPLES_PER_ROUTE]
run_schemathesis() {
  local berth=$1 examples=${2:-30}
  need_pip schemathesis schemathesis
  need_apt curl
  local root="$BERTH_TEST_ROOT/schemathesis"
  mkdir -p "$root/manifests"
  local token
  token=$(BERTH_STATE_DIR="$root/state" "$berth" token create --name schemathesis --scope admin) || return 1
  BERTH_STATE_DIR="$root/state" DOCKER_HOST="$BERTH_TEST_DOCKER_HOST" \
    "$berth" serve --role api --listen 127.0.0.1:0 -f "$root/manifests" >"$root/serve.log" 2>&1 &
  local pid=$!
  local url=""
  for _ in $(seq 1 150); do
    url=$(sed -n 's/.*API listening on \(http[^ ]*\).*/\1/p' "$root/serve.log" | head -n 1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$url" ]; then
    cat "$root/serve.log" >&2
    stop_pid "$pid" 10
    return 1
  fi
  # Streams (`follow=true`) never end by themselves; the Swift tests cover them.
  python3 - docs/openapi.yaml "$root/openapi.yaml" <<'PY'
import sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
for item in spec["paths"].values():
    for operation in item.values():
        if isinstance(operation, dict) and "parameters" in operation:
            operation["parameters"] = [p for p in operation["parameters"] if p.get("name") != "follow"]
yaml.safe_dump(spec, open(sys.argv[2], "w"), sort_keys=False)
PY
  log "schemathesis against $url ($examples cases per route)"
  local status=0
  # From the test root: schemathesis keeps a cache folder in its working directory.
  (cd "$root" && schemathesis run "$root/openapi.yaml" --url "$url" -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$examples" --workers 1 --request-timeout 10 --generation-database none --no-color \
    --seed "${BERTH_SCHEMATHESIS_SEED:-20261123}") || status=$?
  stop_pid "$pid" 10
  return $status
}
