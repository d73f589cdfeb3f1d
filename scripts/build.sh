#!/usr/bin/env bash
# Configures and builds inferd (Release) into build/. Executables land in
# build/bin/. Extra arguments go to CMake's configure step.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
# LibTorch translation units need ~1.5 GiB each: two jobs fit any machine
# with 4 GiB; more cores get more jobs.
jobs=$(nproc)
cmake --build "$root/build" -j "$jobs"
