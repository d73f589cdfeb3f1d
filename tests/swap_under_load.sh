#!/bin/sh
# The version-swap test, again and again, with every core kept busy: the
# race it once hit in CI only showed on a loaded machine.
#   tests/swap_under_load.sh BUILD_DIR MODELS_DIR [RUNS]
# Starts one busy loop per core (stopped on exit, whatever happens), then
# runs VersionSwapTest.TenRolloutsUnderTrafficFailNoRequest RUNS times
# (default 10; CTest runs 30, ~40 s) in a row, stopping at the first failure.
set -u
build=$1
models=$2
runs=${3:-10}
busy=""
trap 'for p in $busy; do kill "$p" 2>/dev/null; done' EXIT
trap 'exit 1' INT TERM
for _ in $(seq "$(nproc)"); do
  sh -c 'while :; do :; done' &
  busy="$busy $!"
done
INFERD_TEST_MODELS=$models "$build/bin/e2e_version_swap_test" \
  --gtest_filter=VersionSwapTest.TenRolloutsUnderTrafficFailNoRequest \
  --gtest_repeat="$runs" --gtest_break_on_failure >"$build/swap_under_load.log" 2>&1
rc=$?
passed=$(grep -c '^\[       OK \]' "$build/swap_under_load.log")
echo "swap_under_load: $passed of $runs runs passed with $(nproc) busy loops"
if [ "$rc" -ne 0 ]; then
  grep -B2 -A12 'Failure' "$build/swap_under_load.log" | head -60
  exit 1
fi
