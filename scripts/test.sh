#!/usr/bin/env bash
# One command from a fresh clone to a tested tree: installs what is missing,
# builds, and runs the whole test suite with CTest (unit tests, end-to-end
# tests against a real server and real models made by the make_test_models
# fixture, the swap test under load), then the sanitizer builds, a short
# fuzz run of the parsers (scripts/sanitize.sh asan tsan,
# scripts/fuzz.sh). Extra arguments go to ctest, e.g. -L e2e. Prints how
# long each stage took.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage() { echo "test.sh: $1 took $((SECONDS - start)) s"; start=$SECONDS; }
start=$SECONDS
"$root/scripts/bootstrap.sh"
stage bootstrap
"$root/scripts/build.sh"
stage build
cd "$root/build"
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
# clang-tidy (scripts/sanitize.sh tidy, about 10 CPU minutes) is not run
# here: with it .ci/run would pass 30 minutes on a 2-core machine. Run it
# by hand before merging (README, "Tests").
