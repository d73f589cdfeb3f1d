#!/usr/bin/env bash
# Starts inferd on the iris test model, runs one attack of
# tests/grpc_attacks.py against it and prints the server's memory (VmRSS,
# VmHWM) before, after and 12 s after, then whether a legitimate client is
# answered. For "reset" it also measures a legitimate client's latency and
# the server's CPU during the flood. bench/README.md, "Resource bounds".
#
# Usage: bench/attack.sh INFERD_BINARY "SERVER FLAGS" ATTACK ARGS...
#   bench/attack.sh build/bin/inferd "" unfinished 40 1024 32000
#   bench/attack.sh build/bin/inferd "" large 32 60
#   bench/attack.sh build/bin/inferd "" reset 12
# Needs the test models (tests/make_test_models.sh) in build/test_models.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$1 flags=$2 attack=$3
shift 3
py=$root/.venv/bin/python
attacks=$root/tests/grpc_attacks.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/build/test_models/good/iris" "$tmp/iris"
# shellcheck disable=SC2086  # the flags are words
"$bin" --model-repository="$tmp" --grpc-port=18001 --http-port=18000 \
  --metrics-port=18002 $flags 2>"$tmp/log" &
pid=$!
for _ in $(seq 300); do
  grep -q "listening for HTTP" "$tmp/log" && break
  sleep 0.2
done
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
echo "idle: $("$py" "$attacks" rss $pid)"
if [[ $attack == reset ]]; then
  "$py" "$attacks" reset 18001 "$@" >"$tmp/reset" 2>&1 &
  flood=$!
  sleep 1
  c0=$(cpu) t0=$(date +%s.%N)
  timeout 60 "$py" "$attacks" latency 18001 10 2>&1 | tail -1 |
    sed 's/^/legit client during the flood: /'
  c1=$(cpu) t1=$(date +%s.%N)
  echo "server CPU: $(echo "($c1 - $c0) / 100 / ($t1 - $t0)" | bc -l |
    cut -c1-4) cores"
  wait $flood
  cat "$tmp/reset"
else
  INFERD_PID=$pid "$py" "$attacks" "$attack" 18001 "$@" 2>&1 | tail -12
fi
echo "after: $("$py" "$attacks" rss $pid)"
timeout 120 "$py" "$attacks" latency 18001 2 | sed 's/^/legit client: /' ||
  echo "legit client: FAILED"
sleep 12
echo "12 s later: $("$py" "$attacks" rss $pid)"
kill $pid
wait $pid || true
