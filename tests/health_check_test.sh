#!/bin/sh
# inferd-health (the image's HEALTHCHECK) against the real binary:
#   tests/health_check_test.sh BUILD_DIR MODELS_DIR
# Exit 0 (SERVING) on a ready server, for the server and for the inference
# service; 1 for an unknown service, while the server drains, and with
# nothing listening; the access key of a restricted health group is needed
# and sent with --header. Exit 0 pass, 1 fail.
. "$(dirname "$0")/inferd_process.sh"
setup_test health_check_test "$@"
health=$build/bin/inferd-health
mkdir -p "$tmp/models"
cp -r "$models/good/iris" "$tmp/models/"

# expect CODE ARGS...: runs inferd-health ARGS, which must exit CODE.
expect() {
  _want=$1
  shift
  "$health" "$@" >"$tmp/out" 2>&1
  _code=$?
  [ "$_code" = "$_want" ] ||
    fail "inferd-health $*: exit $_code, expected $_want: $(cat "$tmp/out")"
}

start_inferd "$build" "$tmp/models" --drain-notice-secs=30 --exit-timeout-secs=5
server=127.0.0.1:$grpc_port
expect 0 --server="$server"
grep -q "SERVING" "$tmp/out" || fail "no SERVING in: $(cat "$tmp/out")"
expect 0 --server="$server" --service=inference.GRPCInferenceService
expect 1 --server="$server" --service=no.such.Service
grep -q "NOT_FOUND" "$tmp/out" || fail "unknown service: $(cat "$tmp/out")"
expect 2 --server="$server" --header=novalue
# SIGTERM: NOT_SERVING during the notice, while the server still runs.
kill -TERM "$server_pid"
await_log draining
expect 1 --server="$server"
grep -q "NOT_SERVING" "$tmp/out" || fail "draining: $(cat "$tmp/out")"
kill -0 "$server_pid" 2>/dev/null || fail "the server exited during the notice"
stop_inferd
expect 1 --server="$server" --timeout-ms=5000
grep -q "UNAVAILABLE" "$tmp/out" || fail "nothing listening: $(cat "$tmp/out")"

# The health group behind an access key.
start_inferd "$build" "$tmp/models" \
  --grpc-restricted-protocol=health:inferd-key=s3cret
server=127.0.0.1:$grpc_port
expect 1 --server="$server"
expect 1 --server="$server" --header=inferd-key=wrong
expect 0 --server="$server" --header=inferd-key=s3cret
echo "health_check_test: passed"
