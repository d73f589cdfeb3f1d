#!/usr/bin/env bash
# Dynamic batching on vs off, on the benchmark MLP (256 -> 1024 -> 1024 -> 10):
# starts inferd on a fresh export of examples/mlp (models `mlp`, with
# dynamic_batching, and `mlp_nobatch`, without; same weights), sweeps the
# client concurrency with inferd-bench, and writes one CSV per model under
# bench/results/ (or $OUT). Needs a build (scripts/build.sh).
#
#   bench/batching.sh                         # sweep 1..128, 10 s per level
#   CONCURRENCY=64 DURATION=5 bench/batching.sh --intra-op-threads=2
#   SERVER_CPUS=1 CLIENT_CPUS=0 bench/batching.sh   # pin with taskset
#   MODELS=mlp,mlp_aoti bench/batching.sh     # also the .pt2 package
#
# Arguments are passed to inferd.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${OUT:-$root/bench/results}
concurrency=${CONCURRENCY:-1,2,4,8,16,32,64,128}
duration=${DURATION:-10}
warmup=${WARMUP:-3}
models=$(mktemp -d)
log="$models/inferd.log"
mkdir -p "$out"

bench_models=${MODELS:-mlp,mlp_nobatch}
formats=torchscript
[[ ",$bench_models," == *,mlp_aoti,* ]] && formats=torchscript,aoti
"$root/.venv/bin/python" "$root/examples/mlp/export.py" --repository "$models" \
  --formats "$formats" >/dev/null 2>&1
pin_server=(); pin_client=()
[[ -n "${SERVER_CPUS:-}" ]] && pin_server=(taskset -c "$SERVER_CPUS")
[[ -n "${CLIENT_CPUS:-}" ]] && pin_client=(taskset -c "$CLIENT_CPUS")

"${pin_server[@]}" "$bin/inferd" --model-repository="$models" --grpc-port=0 --http-port=0 --metrics-port=0 \
  "$@" 2>"$log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$models"' EXIT
port=$(await_port "$log" 'listening for gRPC on')

print_machine
echo "# inferd $* ; server cpus: ${SERVER_CPUS:-any}; client cpus: ${CLIENT_CPUS:-any}"
for model in ${bench_models//,/ }; do
  "${pin_client[@]}" "$bin/inferd-bench" --server="127.0.0.1:$port" \
    --model="$model" --label="$model" --concurrency="$concurrency" \
    --duration="$duration" --warmup="$warmup" --csv="$out/batching-$model.csv"
done
