#!/usr/bin/env bash
# Several models served at once, each under load from its own client: the
# shared worker pool (--worker-pool=shared, the default) against one pool
# per version (--worker-pool=per-version). Exports the benchmark MLP as
# mlp_1..mlp_N (identical copies, dynamic batching, instance_group count
# COUNT), starts inferd pinned to SERVER_CPUS, and runs N inferd-bench
# clients at once pinned to CLIENT_CPUS, each on its own model at
# CONCURRENCY. Prints one line per pool mode, model count, run and model:
# infer/s and p99, then the total and each model's share of it.
#
#   bench/multi_model.sh                       # N=2,4, 3 runs, 5 s each
#   MODELS=2,4 RUNS=5 DURATION=10 COUNT=2 bench/multi_model.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
model_counts=${MODELS:-2,4}
runs=${RUNS:-3}
duration=${DURATION:-5}
concurrency=${CONCURRENCY:-16}
count=${COUNT:-1}
server_cpus=${SERVER_CPUS:-1}
client_cpus=${CLIENT_CPUS:-0}
work=$(mktemp -d)
server=""
stop_server() {
  [[ -n "$server" ]] && { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
  server=""
}
trap 'stop_server; rm -rf "$work"' EXIT

"$root/.venv/bin/python" "$root/examples/mlp/export.py" --repository "$work/export" \
  --formats torchscript >/dev/null 2>&1

# Starts inferd on a repository of mlp_1..mlp_$1 with pool mode $2; sets port.
start_server() {
  local n=$1 mode=$2 repo="$work/repo$1"
  if [[ ! -d "$repo" ]]; then
    mkdir -p "$repo"
    for i in $(seq "$n"); do
      cp -r "$work/export/mlp" "$repo/mlp_$i"
      sed -i "s/name: \"mlp\"/name: \"mlp_$i\"/; s/count: 1/count: $count/" \
        "$repo/mlp_$i/config.pbtxt"
    done
  fi
  taskset -c "$server_cpus" "$bin/inferd" --model-repository="$repo" --grpc-port=0 --http-port=0 \
    --metrics-port=0 --worker-pool="$mode" 2>"$work/inferd.log" &
  server=$!
  port=$(await_port "$work/inferd.log" 'listening for gRPC on') || exit 1
}

print_machine
echo "# server on CPU $server_cpus, clients on CPU $client_cpus, c=$concurrency per model, instance_group count $count, ${duration}s"
for n in ${model_counts//,/ }; do
  for run in $(seq "$runs"); do
    for mode in shared per-version; do
      start_server "$n" "$mode"
      clients=()
      for i in $(seq "$n"); do
        taskset -c "$client_cpus" "$bin/inferd-bench" --server="127.0.0.1:$port" \
          --model="mlp_$i" --concurrency="$concurrency" --duration="$duration" \
          --warmup=1 >"$work/out_$i" 2>&1 &
        clients+=($!)
      done
      wait "${clients[@]}"
      stop_server
      for i in $(seq "$n"); do
        awk -F'|' -v m="mlp_$i" '$2 ~ m { print $7+0, $10+0 }' "$work/out_$i"
      done | awk -v n="$n" -v run="$run" -v mode="$mode" '
        { rate[NR] = $1; p99[NR] = $2; total += $1 }
        END {
          for (i = 1; i <= NR; i++)
            printf "models=%s run %s %-11s mlp_%d %9.1f infer/s  p99 %7.2f ms  share %.2f of fair\n",
              n, run, mode, i, rate[i], p99[i], rate[i] / (total / NR)
          printf "models=%s run %s %-11s total %9.1f infer/s\n", n, run, mode, total
        }'
    done
  done
done
