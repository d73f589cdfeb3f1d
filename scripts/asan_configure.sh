#!/usr/bin/env bash
# Configures build-sanitize/: clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (-fno-sanitize-recover: the first finding
# aborts), libFuzzer's coverage instrumentation, and only what does not link
# LibTorch (-DINFERD_TORCH=OFF). One configure serves the fuzzers
# (scripts/fuzz.sh) and the sanitized unit tests (scripts/sanitize.sh asan).
# Prints the build directory: build-sanitize/, or DIR when given
# (scripts/sanitize.sh tidy reads the same compile commands from its own
# build-tidy/, so that it can run while the ASan stage builds).
#
#   scripts/asan_configure.sh [DIR]
#
# -fvisibility-inlines-hidden: a binary does not export its (instrumented)
# copies of inline library code, so Debian's uninstrumented libraries keep
# calling their own (else UBSan checks gRPC's objects on gRPC's threads, and
# its vptr check, which needs a pipe, fails falsely whenever the file table
# is full: README, "Sanitizers and clang-tidy").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/build-sanitize"}
flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fvisibility-inlines-hidden -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all"
cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-DNDEBUG" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DINFERD_TORCH=OFF -DINFERD_FUZZ=ON -DINFERD_BUILD_TESTS=ON >/dev/null
echo "$out"
