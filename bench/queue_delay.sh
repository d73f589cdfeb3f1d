#!/usr/bin/env bash
# The adaptive queue delay (inferd's default) against Triton's fixed delay
# and against no batching, on the benchmark MLP: exports mlp (adaptive),
# mlp_fixed (the same with INFERD_QUEUE_DELAY "fixed") and mlp_nobatch,
# starts inferd pinned to CPU 1, and runs inferd-bench pinned to CPU 0 at
# each concurrency level, RUNS times alternating the models. Prints one line
# per model, level and run. Needs a build (scripts/build.sh).
#
#   bench/queue_delay.sh                        # c=1,64, 3 runs, 4 s each
#   CONCURRENCY=1,8,64 RUNS=5 DURATION=5 bench/queue_delay.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/bin"
concurrency=${CONCURRENCY:-1,64}
runs=${RUNS:-3}
duration=${DURATION:-4}
models=$(mktemp -d)
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$models"' EXIT
"$root/.venv/bin/python" "$root/examples/mlp/export.py" --repository "$models" \
  --formats torchscript >/dev/null 2>&1
cp -r "$models/mlp" "$models/mlp_fixed"
sed -i 's/name: "mlp"/name: "mlp_fixed"/' "$models/mlp_fixed/config.pbtxt"
echo 'parameters { key: "INFERD_QUEUE_DELAY" value: { string_value: "fixed" } }' \
  >>"$models/mlp_fixed/config.pbtxt"
taskset -c 1 "$bin/inferd" --model-repository="$models" --grpc-port=0 --http-port=0 \
  --metrics-port=0 2>"$models/inferd.log" &
server=$!
port=""
for _ in $(seq 300); do
  port=$(grep -o 'listening for gRPC on [^ ]*' "$models/inferd.log" | grep -o '[0-9]*$' || true)
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$models/inferd.log"; exit 1; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for run in $(seq "$runs"); do
  for model in mlp mlp_fixed mlp_nobatch; do
    taskset -c 0 "$bin/inferd-bench" --server="127.0.0.1:$port" --model="$model" \
      --concurrency="$concurrency" --duration="$duration" --warmup=1 2>&1 |
      awk -F'|' -v run="$run" -v model="$model" '$2 ~ model {
        printf "run %s %-12s c=%-4s %9s infer/s  p50 %7s ms  p99 %7s ms\n",
          run, model, $4+0, $7+0, $8+0, $10+0 }'
  done
done
