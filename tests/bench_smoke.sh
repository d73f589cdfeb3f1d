#!/bin/sh
# Smoke test of inferd-bench against a real inferd:
#   tests/bench_smoke.sh BUILD_DIR MODELS_DIR
# Starts BUILD_DIR/bin/inferd on MODELS_DIR/good (port 0), runs a short
# two-level sweep on "mlp" with ModelInfer calls and one level on two
# ModelStreamInfer streams (--streaming), and checks each CSV: one row per
# level, each with infer/s > 0, p99 >= p50 > 0 and no errors.
set -u
. "$(dirname "$0")/inferd_process.sh"
setup_test bench_smoke "$@"

start_inferd "$build" "$models/good"

# check_csv FILE ROWS: ROWS data rows, each sane and without errors.
check_csv() {
  [ -f "$1" ] || fail "no CSV written ($1)"
  rows=$(tail -n +2 "$1" | grep -c .)
  [ "$rows" -eq "$2" ] || { cat "$1" >&2; fail "expected $2 CSV data rows in $1, got $rows"; }
  # Columns: system,model,concurrency,rows_per_req,req_per_s,infer_per_s,
  #          p50_ms,p90_ms,p99_ms,errors
  problems=$(tail -n +2 "$1" | awk -F, '
    !($6 > 0)       { print "concurrency " $3 ": infer/s " $6 " is not > 0" }
    !($7 > 0)       { print "concurrency " $3 ": p50 " $7 " ms is not > 0" }
    !($9 >= $7)     { print "concurrency " $3 ": p99 " $9 " ms < p50 " $7 " ms" }
    $10 != ""       { print "concurrency " $3 ": errors " $10 }')
  if [ -n "$problems" ]; then
    cat "$1" >&2
    fail "$problems"
  fi
}

"$build/bin/inferd-bench" --server="127.0.0.1:$grpc_port" --model=mlp \
  --concurrency=1,4 --duration=1 --warmup=0.5 --csv="$tmp/out.csv"
rc=$?
[ "$rc" -eq 0 ] || fail "inferd-bench exited with $rc"
check_csv "$tmp/out.csv" 2

"$build/bin/inferd-bench" --server="127.0.0.1:$grpc_port" --model=mlp \
  --concurrency=4 --duration=1 --warmup=0.5 --streaming --streams=2 \
  --csv="$tmp/stream.csv"
rc=$?
[ "$rc" -eq 0 ] || fail "inferd-bench --streaming exited with $rc"
check_csv "$tmp/stream.csv" 1
echo "bench_smoke: OK"
