#!/usr/bin/env bash
# Configures build-sanitize/: clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (-fno-sanitize-recover: the first finding
# aborts), libFuzzer's coverage instrumentation, and only what does not link
# LibTorch (-DINFERD_TORCH=OFF). One configure serves the fuzzers
# (scripts/fuzz.sh) and the sanitized unit tests (scripts/sanitize.sh asan).
# Prints the build directory: build-sanitize/, or DIR when given
# (scripts/sanitize.sh tidy reads the same compile commands from its own
# build-tidy/, so that it can run while the ASan stage builds). With
# `torch`, the same sanitizers on what links LibTorch instead: the server
# binary and the end-to-end tests (scripts/sanitize.sh asan_e2e, in
# build-asan-torch/).
#
#   scripts/asan_configure.sh [DIR [torch]]
#
# -fvisibility-inlines-hidden: a binary does not export its (instrumented)
# copies of inline library code, so Debian's uninstrumented libraries keep
# calling their own (else UBSan checks gRPC's objects on gRPC's threads, and
# its vptr check, which needs a pipe, fails falsely whenever the file table
# is full: README, "Sanitizers and clang-tidy").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/build-sanitize"}
what=${2:-torch-free}
if [[ $what != torch && $what != torch-free ]]; then
  echo "usage: scripts/asan_configure.sh [DIR [torch|torch-free]] (got: $what)" >&2
  exit 2
fi
flags="-gline-tables-only -fno-omit-frame-pointer -fvisibility-inlines-hidden -fsanitize=address,undefined -fno-sanitize-recover=all"
if [[ $what == torch ]]; then
  # -O0: half the compile time of -O1 (e2e_http_test.cc 8.3 s against
  # 16.8 s); the tests mostly wait on sockets, and LibTorch's arithmetic is
  # not instrumented either way.
  flags="-O0 $flags"
  # The server, its LibTorch backends and the end-to-end tests (LibTorch
  # itself is not instrumented, protoc's output neither); no unit tests, no
  # fuzzers.
  options=(-DINFERD_TORCH=ON -DINFERD_FUZZ=OFF -DINFERD_TORCH_FREE_UNIT_TESTS=OFF
    -DINFERD_SANITIZE_GENERATED=OFF)
else
  flags="-O1 $flags -fsanitize=fuzzer-no-link"
  options=(-DINFERD_TORCH=OFF -DINFERD_FUZZ=ON)
fi
cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-DNDEBUG" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DINFERD_BUILD_TESTS=ON "${options[@]}" >/dev/null
echo "$out"
