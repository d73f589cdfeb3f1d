#!/usr/bin/env bash
# REST against gRPC on the benchmark MLP: exports mlp, starts inferd pinned
# to CPU 1, and runs inferd-bench pinned to CPU 0 over gRPC, over HTTP with
# JSON tensors and over HTTP with binary tensors, at each concurrency level,
# RUNS times alternating the protocols. Prints one line per protocol, level
# and run, with the server's CPU time per inference (from /proc). Needs a
# build (scripts/build.sh).
#
# SERVERS (comma-separated, default microhttpd) names the HTTP servers the
# HTTP cases run against, alternating with each other; each serves the same
# model with inferd's own HttpApi, core and batching, pinned to CPU 1:
#   microhttpd     inferd itself (GNU libmicrohttpd)
#   httplib        inferd-httplib-bench-server (cpp-httplib's server) with
#                  the library's defaults: a pool of max(8, cores - 1)
#                  threads, 5 requests per connection, Nagle's algorithm on
#   httplib-tuned  the same with a pool of HTTPLIB_THREADS threads (default
#                  128), unlimited keep-alive, a listen backlog of 4096 (as
#                  libmicrohttpd's SOMAXCONN) and TCP_NODELAY
# The model's signature always comes over gRPC from inferd.
#
#   bench/http.sh                               # c=1,64, 3 runs, 4 s each
#   CONCURRENCY=1,8,64 RUNS=5 DURATION=5 bench/http.sh
#   SERVERS=microhttpd,httplib,httplib-tuned bench/http.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
concurrency=${CONCURRENCY:-1,64}
runs=${RUNS:-3}
duration=${DURATION:-4}
IFS=, read -r -a servers <<<"${SERVERS:-microhttpd}"
httplib_threads=${HTTPLIB_THREADS:-128}
models=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$models"' EXIT
"$root/.venv/bin/python" "$root/examples/mlp/export.py" --repository "$models" \
  --formats torchscript >/dev/null 2>&1

# The port that log $1 names after "listening for $2 ... on HOST:"; waits up
# to 60 s for it.
listening_port() { await_port "$1" "listening for $2.* on"; }

taskset -c 1 "$bin/inferd" --model-repository="$models" --grpc-port=0 --http-port=0 \
  --metrics-port=0 2>"$models/inferd.log" &
pids+=($!)
port=$(listening_port "$models/inferd.log" gRPC)
declare -A http server_pids
for server in "${servers[@]}"; do
  case $server in
    microhttpd)
      http[$server]=$(listening_port "$models/inferd.log" HTTP)
      server_pids[$server]=${pids[0]}
      ;;
    httplib | httplib-tuned)
      flags=()
      if [[ $server == httplib-tuned ]]; then
        flags=(--threads="$httplib_threads" --keep-alive-max-count=1000000000
          --listen-backlog=4096 --tcp-nodelay)
      fi
      taskset -c 1 "$bin/inferd-httplib-bench-server" --model-repository="$models" \
        --port=0 "${flags[@]}" 2>"$models/$server.log" &
      pids+=($!)
      server_pids[$server]=$!
      http[$server]=$(listening_port "$models/$server.log" HTTP)
      grep -o 'listening for HTTP.*' "$models/$server.log" | sed "s/^/# $server: /"
      ;;
    *) echo "SERVERS: unknown server \"$server\" (microhttpd, httplib, httplib-tuned)" >&2
      exit 2 ;;
  esac
done
print_machine
cases=(grpc)
for server in "${servers[@]}"; do cases+=("json/$server" "binary/$server"); done
clock_ticks=$(getconf CLK_TCK)
# CPU time (user + system, in clock ticks) process $1 has used.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
IFS=, read -r -a levels <<<"$concurrency"
for run in $(seq "$runs"); do
  for case in "${cases[@]}"; do
    server=${case#*/}
    case $case in
      grpc) flags=() server_pid=${pids[0]} ;;
      json/*) flags=(--http="127.0.0.1:${http[$server]}") ;;
      binary/*) flags=(--http="127.0.0.1:${http[$server]}" --http-binary) ;;
    esac
    [[ $case == grpc ]] || server_pid=${server_pids[$server]}
    for level in "${levels[@]}"; do
      before=$(cpu_ticks "$server_pid")
      result=$(taskset -c 0 "$bin/inferd-bench" --server="127.0.0.1:$port" --model=mlp \
        "${flags[@]}" --concurrency="$level" --duration="$duration" --warmup=1 2>&1)
      after=$(cpu_ticks "$server_pid")
      # The server's CPU per inference, over warm-up and measurement alike
      # (assumes the warm-up second ran at the measured rate): what the
      # server spends, less swayed than throughput by whatever else shares
      # its core.
      awk -F'|' -v run="$run" -v protocol="$case" -v duration="$duration" \
        -v cpu="$(((after - before) * 1000000 / clock_ticks))" '$2 ~ /mlp/ {
        gsub(/ /, "", $11)
        per_infer = $7 > 0 ? sprintf("%.0f", cpu / ($7 * (duration + 1))) : "-"
        printf "run %s %-20s c=%-4s %9s infer/s  p50 %7s ms  p99 %7s ms  server CPU %5s us/infer  errors %s\n",
          run, protocol, $4+0, $7+0, $8+0, $10+0, per_infer, $11 }' <<<"$result"
    done
  done
done
