#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer into build-sanitize/ (scripts/asan_configure.sh,
# shared with scripts/sanitize.sh), and runs them side by side, each for
# SECONDS (default 20), from its seeds in fuzz/corpus/TARGET/ (new inputs go to a
# scratch corpus, the repository's is not changed). Prints each target's
# executions; exits 1 on a crash, leaking or failing input, which is kept
# in build-sanitize/artifacts/.
#
#   scripts/fuzz.sh            # 20 s (scripts/test.sh runs 15)
#   scripts/fuzz.sh 600        # a longer hunt
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
if [[ ! $seconds =~ ^[0-9]+$ ]] || (($# > 1)); then
  echo "usage: scripts/fuzz.sh [SECONDS] (a whole number; got: $*)" >&2
  exit 2
fi
out=$("$root/scripts/asan_configure.sh")
targets=(http_codec_fuzz model_config_fuzz infer_request_fuzz)
cmake --build "$out" -j "$(nproc)" --target "${targets[@]}"
mkdir -p "$out/artifacts"
# One target: fuzzes for $seconds; its log holds the result.
fuzz() {
  local target=$1 corpus rc=0
  corpus=$(mktemp -d)
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$out/bin/$target" -max_total_time="$seconds" -max_len=65536 \
    -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$target-" \
    "$corpus" "$root/fuzz/corpus/$target" >"$out/$target.log" 2>&1 || rc=$?
  rm -rf "$corpus"
  return "$rc"
}
pids=()
for target in "${targets[@]}"; do
  fuzz "$target" &
  pids+=($!)
done
status=0
for i in "${!targets[@]}"; do
  target=${targets[$i]}
  log="$out/$target.log"
  if wait "${pids[$i]}"; then
    result=ok
  else
    result="FAILED (input in build-sanitize/artifacts/, log $log)"
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  echo "fuzz.sh: $target: ${runs:-?} executions in ${seconds} s: $result"
done
exit "$status"
