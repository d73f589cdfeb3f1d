#!/usr/bin/env bash
# One command from a fresh clone to a tested tree: installs what is missing,
# builds, and runs the whole test suite with CTest (unit tests, and end-to-end
# tests against a real server and real TorchScript models made by the
# make_test_models fixture). Extra arguments go to ctest, e.g. -L e2e.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/bootstrap.sh"
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
