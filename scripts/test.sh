#!/usr/bin/env bash
# One command from a fresh clone to a tested tree: installs what is missing,
# builds, and runs the whole test suite with CTest (unit tests, end-to-end
# tests against a real server and real models made by the make_test_models
# fixture, the swap test under load), then a short fuzz run of the parsers
# (scripts/fuzz.sh). Extra arguments go to ctest, e.g. -L e2e. Prints how
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
# The parsers under libFuzzer with ASan and UBSan, 20 s each (own build in
# build-fuzz/, clang).
"$root/scripts/fuzz.sh" 20
stage fuzz
