#!/usr/bin/env bash
# --batch-class-io-threads=auto|true|false on the benchmark MLP (mlp:
# dynamic batching, adaptive delay), on a quiet machine and on one where
# another program keeps every CPU busy (one `yes` pinned to each). For each
# load, RUNS rounds alternate the three settings; each run starts inferd
# pinned to CPU 1 (alone: no other server beside it), runs inferd-bench
# pinned to CPU 0 at each concurrency level, and stops it. Prints one line
# per load, run, setting and level, with how often the auto governor moved
# the I/O threads during the run (and its log lines when it did). Needs a build (scripts/build.sh).
#
#   bench/io_class.sh                                   # c=1,64, 3 rounds
#   LOADS=busy CONCURRENCY=1 RUNS=5 DURATION=5 bench/io_class.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
concurrency=${CONCURRENCY:-1,64}
runs=${RUNS:-3}
duration=${DURATION:-4}
loads=${LOADS:-quiet busy}
models=$(mktemp -d)
server="" hogs=()
stop_all() {
  kill $server "${hogs[@]}" 2>/dev/null || true
  wait $server "${hogs[@]}" 2>/dev/null || true
}
trap 'stop_all; rm -rf "$models"' EXIT
"$root/.venv/bin/python" "$root/examples/mlp/export.py" --repository "$models" \
  --formats torchscript >/dev/null 2>&1
rm -rf "$models/mlp_nobatch"

print_machine
for load in $loads; do
  hogs=()
  if [[ $load == busy ]]; then
    for cpu in 0 1; do
      taskset -c "$cpu" yes >/dev/null &
      hogs+=($!)
    done
  fi
  for run in $(seq "$runs"); do
    for setting in auto true false; do
      log="$models/inferd-$setting.log"
      taskset -c 1 "$bin/inferd" --model-repository="$models" --grpc-port=0 \
        --http-port=0 --metrics-port=0 --batch-class-io-threads="$setting" \
        2>"$log" &
      server=$!
      port=$(await_port "$log" 'listening for gRPC on')
      result=$(taskset -c 0 "$bin/inferd-bench" --server="127.0.0.1:$port" --model=mlp \
        --concurrency="$concurrency" --duration="$duration" --warmup=1 2>&1)
      moves=$(grep -c 'I/O threads' "$log" || true)
      echo "$result" | awk -F'|' -v run="$run" -v load="$load" -v setting="$setting" \
        -v moves="$moves" '$2 ~ "mlp" {
          printf "%-5s run %s %-5s c=%-4s %9s infer/s  p50 %7s ms  p99 %7s ms  moves %s\n",
            load, run, setting, $4+0, $7+0, $8+0, $10+0, moves }'
      # What the governor saw, when it moved them.
      grep 'I/O threads' "$log" | sed 's/^/    /' || true
      kill "$server"
      wait "$server" 2>/dev/null || true
      server=""
    done
  done
  if ((${#hogs[@]} > 0)); then
    kill "${hogs[@]}"
    wait "${hogs[@]}" 2>/dev/null || true
  fi
  hogs=()
done
