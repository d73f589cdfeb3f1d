#!/usr/bin/env bash
# REST against gRPC on the benchmark MLP: exports mlp, starts inferd pinned
# to CPU 1, and runs inferd-bench pinned to CPU 0 over gRPC, over HTTP with
# JSON tensors and over HTTP with binary tensors, at each concurrency level,
# RUNS times alternating the protocols. Prints one line per protocol, level
# and run. Needs a build (scripts/build.sh).
#
#   bench/http.sh                               # c=1,64, 3 runs, 4 s each
#   CONCURRENCY=1,8,64 RUNS=5 DURATION=5 bench/http.sh
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
taskset -c 1 "$bin/inferd" --model-repository="$models" --grpc-port=0 --http-port=0 \
  --metrics-port=0 2>"$models/inferd.log" &
server=$!
port="" http=""
for _ in $(seq 300); do
  port=$(grep -o 'listening for gRPC on [^ ]*' "$models/inferd.log" | grep -o '[0-9]*$' || true)
  http=$(grep -o 'listening for HTTP on [^ ]*' "$models/inferd.log" | grep -o '[0-9]*$' || true)
  [[ -n "$port" && -n "$http" ]] && break
  sleep 0.1
done
[[ -n "$port" && -n "$http" ]] || { cat "$models/inferd.log"; exit 1; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for run in $(seq "$runs"); do
  for protocol in grpc http-json http-binary; do
    case $protocol in
      grpc) flags=() ;;
      http-json) flags=(--http="127.0.0.1:$http") ;;
      http-binary) flags=(--http="127.0.0.1:$http" --http-binary) ;;
    esac
    taskset -c 0 "$bin/inferd-bench" --server="127.0.0.1:$port" --model=mlp \
      "${flags[@]}" --concurrency="$concurrency" --duration="$duration" \
      --warmup=1 2>&1 |
      awk -F'|' -v run="$run" -v protocol="$protocol" '$2 ~ /mlp/ {
        printf "run %s %-12s c=%-4s %9s infer/s  p50 %7s ms  p99 %7s ms\n",
          run, protocol, $4+0, $7+0, $8+0, $10+0 }'
  done
done
