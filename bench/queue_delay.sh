#!/usr/bin/env bash
# The adaptive queue delay (inferd's default) against Triton's fixed delay,
# against no batching and against the Python baseline
# (bench/python_baseline/server.py), on the benchmark MLP: exports mlp
# (adaptive), mlp_fixed (the same with INFERD_QUEUE_DELAY "fixed") and
# mlp_nobatch, starts inferd and the Python baseline pinned to CPU 1 (one
# of them busy at a time), and runs inferd-bench pinned to CPU 0 at each
# concurrency level, RUNS times alternating the four. Prints one line per
# system, level and run. Needs a build (scripts/build.sh).
#
#   bench/queue_delay.sh                        # c=1,64, 3 runs, 4 s each
#   CONCURRENCY=1,8,64 RUNS=5 DURATION=5 bench/queue_delay.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
concurrency=${CONCURRENCY:-1,64}
runs=${RUNS:-3}
duration=${DURATION:-4}
models=$(mktemp -d)
python_server=""
trap 'kill $server $python_server 2>/dev/null; wait $server $python_server 2>/dev/null; rm -rf "$models"' EXIT
"$root/.venv/bin/python" "$root/examples/mlp/export.py" --repository "$models" \
  --formats torchscript >/dev/null 2>&1
cp -r "$models/mlp" "$models/mlp_fixed"
sed -i 's/name: "mlp"/name: "mlp_fixed"/' "$models/mlp_fixed/config.pbtxt"
echo 'parameters { key: "INFERD_QUEUE_DELAY" value: { string_value: "fixed" } }' \
  >>"$models/mlp_fixed/config.pbtxt"
taskset -c 1 "$bin/inferd" --model-repository="$models" --grpc-port=0 --http-port=0 \
  --metrics-port=0 2>"$models/inferd.log" &
server=$!
port=$(await_port "$models/inferd.log" 'listening for gRPC on')
taskset -c 1 "$root/.venv/bin/python" "$root/bench/python_baseline/server.py" \
  --model-dir="$models/mlp" --port=0 >"$models/python.log" 2>&1 &
python_server=$!
python_port=$(await_port "$models/python.log" 'listening on')
print_machine
for run in $(seq "$runs"); do
  for system in mlp mlp_fixed mlp_nobatch python; do
    model=$system target=$port
    [[ $system == python ]] && model=mlp target=$python_port
    taskset -c 0 "$bin/inferd-bench" --server="127.0.0.1:$target" --model="$model" \
      --concurrency="$concurrency" --duration="$duration" --warmup=1 2>&1 |
      awk -F'|' -v run="$run" -v model="$model" -v sys="$system" '$2 ~ model {
        printf "run %s %-12s c=%-4s %9s infer/s  p50 %7s ms  p99 %7s ms\n",
          run, sys, $4+0, $7+0, $8+0, $10+0 }'
  done
done
