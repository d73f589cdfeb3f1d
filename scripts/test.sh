#!/usr/bin/env bash
# One command from a fresh clone to a tested tree: installs what is missing,
# builds, and runs the whole test suite with CTest (unit tests, end-to-end
# tests against a real server and real models made by the make_test_models
# fixture, the swap test under load), then the sanitizer builds, a short
# fuzz run of the parsers (scripts/sanitize.sh asan tsan,
# scripts/fuzz.sh), and clang-tidy (scripts/sanitize.sh tidy), which runs in
# the background at the lowest CPU priority from CTest on and is waited for
# at the end. Extra arguments go to ctest, e.g. -L e2e. Prints how long each
# stage took.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage() { echo "test.sh: $1 took $((SECONDS - start)) s"; start=$SECONDS; }
start=$SECONDS
"$root/scripts/bootstrap.sh"
stage bootstrap
"$root/scripts/build.sh"
stage build
# clang-tidy needs about 12 CPU minutes but nothing from the stages below
# (its own build-tidy/, where only the protobuf headers are generated).
# CTest's end-to-end tests wait on sockets and timers, which should leave
# the cores partly idle (not yet measured on an idle machine; README,
# "Tests"); at nice 19 clang-tidy takes idle time there and in the stages
# after CTest (links, fuzzing on one core, test runs) and otherwise yields,
# so it adds at most its own 6 minutes of both cores, less whatever idle
# time it used. Its own process group (set -m), so that an early exit stops all
# of it; not its own session (setsid): where the kernel groups sessions
# for scheduling (/proc/sys/kernel/sched_autogroup_enabled, 1 on this
# machine), a new session competes with this one as an equal whatever its
# nice value, and nice 19 would not make clang-tidy yield to CTest.
mkdir -p "$root/build-tidy"
tidy_log="$root/build-tidy/test-stage.log"
tidy_start=$SECONDS
set -m
nice -n 19 "$root/scripts/sanitize.sh" tidy >"$tidy_log" 2>&1 &
tidy_pid=$!
set +m
trap 'kill -- "-$tidy_pid" 2>/dev/null || true' EXIT
cd "$root/build"
# clang-tidy (above) reports clang's thread-safety analysis on the sources
# of its compile database; CTest thread_safety checks only the others (all
# of them should that database not exist yet).
INFERD_THREAD_SAFETY_COVERED_BY="$root/build-tidy/compile_commands.json" \
  ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@"
stage ctest
# The Torch-free unit tests under AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer (clang, build-sanitize/; the fuzzers are built
# in the same run).
"$root/scripts/sanitize.sh" asan
stage asan
# The parsers under libFuzzer in that build, 15 s each.
"$root/scripts/fuzz.sh" 15
stage fuzz
# The batching and model_store tests under ThreadSanitizer (build-tsan/).
"$root/scripts/sanitize.sh" tsan
stage tsan
# clang-tidy: what is left of it after the stages above is all this adds.
tidy_rc=0
wait "$tidy_pid" || tidy_rc=$?
trap - EXIT
cat "$tidy_log"
echo "test.sh: tidy ran $((SECONDS - tidy_start)) s in the background since the build"
stage "waiting for tidy"
exit "$tidy_rc"
