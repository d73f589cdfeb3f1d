#!/bin/sh
# The drain order on SIGTERM, against the real binary:
#   tests/drain_test.sh BUILD_DIR MODELS_DIR
# With --drain-notice-secs=4: right after SIGTERM, readiness answers 400
# (NOT_SERVING) while inferences are still answered 200; after the notice
# the server stops taking connections and exits 0.
# Exit 0 pass, 1 fail, 77 without curl.
. "$(dirname "$0")/inferd_process.sh"
setup_test drain_test "$@"
command -v curl >/dev/null || { echo "drain_test: SKIP: no curl"; exit 77; }

start_inferd "$build" "$models/good" --drain-notice-secs=4 --exit-timeout-secs=5
url="http://127.0.0.1:$http_port"
infer='{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}]}'
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

[ "$(status "$url/v2/health/ready")" = 200 ] || fail "not ready before SIGTERM"
kill -TERM "$server_pid"
# The notice has begun once the log says so.
await_log draining
ready=$(status "$url/v2/health/ready")
served=$(status -X POST "$url/v2/models/iris/infer" -d "$infer")
[ "$ready" = 400 ] || fail "readiness during the notice: $ready, expected 400"
[ "$served" = 200 ] || fail "inference during the notice: $served, expected 200"
# Then it stops and exits cleanly.
tries=0
while kill -0 "$server_pid" 2>/dev/null; do
  tries=$((tries + 1))
  [ "$tries" -le 200 ] || fail "still running 20 s after SIGTERM"
  sleep 0.1
done
wait "$server_pid"
code=$?
server_pid=
[ "$code" = 0 ] || fail "exit status $code"
echo "drain_test: passed (ready $ready and infer $served during the notice)"
