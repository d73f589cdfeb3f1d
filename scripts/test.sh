#!/usr/bin/env bash
# One command from a fresh clone to a tested tree: installs what is missing,
# builds, and runs the whole test suite with CTest (the unit tests that need
# LibTorch or models, end-to-end tests against a real server and real models
# made by the make_test_models fixture, the swap test under load), then the
# sanitizer builds (the Torch-free unit tests under ASan and UBSan, the
# batching and model_store tests under TSan, the server and the end-to-end
# tests under ASan and UBSan), a short fuzz run of the parsers
# (scripts/sanitize.sh asan tsan asan_e2e, scripts/fuzz.sh), and clang-tidy
# (scripts/sanitize.sh tidy), which runs in the background at the lowest
# CPU priority from the Debian packages' install on and is waited for at
# the end. Extra arguments go to ctest, e.g. -L e2e. Prints how long each
# stage took.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage() { echo "test.sh: $1 took $((SECONDS - start)) s"; start=$SECONDS; }
start=$SECONDS
# Debian's packages first: clang-tidy needs nothing else, so it starts
# before the venv installs (mostly downloading and unpacking, which leaves
# a core or more idle).
"$root/scripts/bootstrap.sh" --debian
stage "bootstrap (Debian)"
# clang-tidy needs about 12 CPU minutes but nothing from the stages below
# (its own build-tidy/, where only the protobuf headers are generated). At
# nice 19 it takes the time the venv's install, CTest's end-to-end tests
# (which wait on sockets and timers) and the later stages leave idle, and
# otherwise yields, so it adds at most its own 6 minutes of both cores,
# less whatever idle time it used. Its own process group (set -m), so that
# an early exit stops all of it; not its own session (setsid): where the
# kernel groups sessions for scheduling
# (/proc/sys/kernel/sched_autogroup_enabled, 1 on this machine), a new
# session competes with this one as an equal whatever its nice value, and
# nice 19 would not make clang-tidy yield to the build or CTest.
mkdir -p "$root/build-tidy"
tidy_log="$root/build-tidy/test-stage.log"
tidy_start=$SECONDS
set -m
nice -n 19 "$root/scripts/sanitize.sh" tidy >"$tidy_log" 2>&1 &
tidy_pid=$!
set +m
trap 'kill -- "-$tidy_pid" 2>/dev/null || true' EXIT
"$root/scripts/bootstrap.sh"
stage "bootstrap (venv)"
# The unit tests that need neither LibTorch nor test models are built and
# run once, in the sanitizer build below (CMakeLists.txt,
# INFERD_TORCH_FREE_UNIT_TESTS).
"$root/scripts/build.sh" -DINFERD_TORCH_FREE_UNIT_TESTS=OFF
stage build
cd "$root/build"
# clang-tidy (above) reports clang's thread-safety analysis on the sources
# of its compile database; CTest thread_safety checks only the others (all
# of them should that database not exist yet).
INFERD_THREAD_SAFETY_COVERED_BY="$root/build-tidy/compile_commands.json" \
  ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@"
stage ctest
# The Torch-free unit tests (only here: not in build/) under
# AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer (clang,
# build-sanitize/; the fuzzers are built in the same run).
"$root/scripts/sanitize.sh" asan
stage asan
# The parsers under libFuzzer in that build, 15 s each.
"$root/scripts/fuzz.sh" 15
stage fuzz
# The batching and model_store tests under ThreadSanitizer (build-tsan/).
"$root/scripts/sanitize.sh" tsan
stage tsan
# The server with its LibTorch backends under ASan and UBSan
# (build-asan-torch/): the end-to-end tests, on the models CTest made.
"$root/scripts/sanitize.sh" asan_e2e
stage asan_e2e
# clang-tidy: what is left of it after the stages above is all this adds.
tidy_rc=0
wait "$tidy_pid" || tidy_rc=$?
trap - EXIT
cat "$tidy_log"
echo "test.sh: tidy ran $((SECONDS - tidy_start)) s in the background since the Debian packages"
stage "waiting for tidy"
exit "$tidy_rc"
