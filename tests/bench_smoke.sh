#!/bin/sh
# Smoke test of inferd-bench against a real inferd:
#   tests/bench_smoke.sh BUILD_DIR MODELS_DIR
# Starts BUILD_DIR/bin/inferd on MODELS_DIR/good (port 0), runs a short
# two-level sweep on "mlp" and checks the CSV: two rows, each with
# infer/s > 0, p99 >= p50 > 0 and no errors.
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR MODELS_DIR" >&2
  exit 2
fi
build=$1
models=$2
tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
  echo "bench_smoke: FAIL: $*" >&2
  exit 1
}

"$build/bin/inferd" --model-repository="$models/good" --grpc-port=0 --metrics-port=0 \
  2>"$tmp/server.log" &
server_pid=$!

# The server logs its port once it is serving; model loading comes first.
port=
tries=0
while [ -z "$port" ]; do
  port=$(sed -n 's/.*listening for gRPC on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
    "$tmp/server.log")
  [ -n "$port" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$tmp/server.log" >&2
    server_pid=
    fail "inferd exited before listening"
  fi
  tries=$((tries + 1))
  [ "$tries" -le 300 ] || { cat "$tmp/server.log" >&2; fail "inferd not listening after 60 s"; }
  sleep 0.2
done

"$build/bin/inferd-bench" --server="127.0.0.1:$port" --model=mlp \
  --concurrency=1,4 --duration=1 --warmup=0.5 --csv="$tmp/out.csv"
rc=$?
[ "$rc" -eq 0 ] || fail "inferd-bench exited with $rc"
[ -f "$tmp/out.csv" ] || fail "no CSV written"

rows=$(tail -n +2 "$tmp/out.csv" | grep -c .)
[ "$rows" -eq 2 ] || { cat "$tmp/out.csv" >&2; fail "expected 2 CSV data rows, got $rows"; }

# Columns: system,model,concurrency,rows_per_req,req_per_s,infer_per_s,
#          p50_ms,p90_ms,p99_ms,errors
problems=$(tail -n +2 "$tmp/out.csv" | awk -F, '
  !($6 > 0)       { print "concurrency " $3 ": infer/s " $6 " is not > 0" }
  !($7 > 0)       { print "concurrency " $3 ": p50 " $7 " ms is not > 0" }
  !($9 >= $7)     { print "concurrency " $3 ": p99 " $9 " ms < p50 " $7 " ms" }
  $10 != ""       { print "concurrency " $3 ": errors " $10 }')
if [ -n "$problems" ]; then
  cat "$tmp/out.csv" >&2
  fail "$problems"
fi
echo "bench_smoke: OK"
