#!/usr/bin/env bash
# Installs what inferd needs to build, test and run its example, and nothing
# else: Debian's packages (toolchain, gRPC, Protobuf, Abseil, prometheus-cpp,
# GoogleTest, Prometheus) and Debian's Abseil source (for the TSan build),
# then the project's virtual environment .venv/ with the pinned Python
# packages of requirements.txt (PyTorch, whose wheel also carries the
# LibTorch inferd links). Non-interactive and idempotent: when everything is
# present it only checks (about a second). Uses sudo when not root.
#
#   scripts/bootstrap.sh            # everything
#   scripts/bootstrap.sh --debian   # Debian's packages and Abseil source
#                                   # only: what the Torch-free builds need
#                                   # (scripts/test.sh starts clang-tidy
#                                   # on them while the venv installs)
set -euo pipefail
case ${1:-} in
  "" | --debian) ;;
  *) echo "usage: scripts/bootstrap.sh [--debian]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  # Toolchain
  g++ cmake ninja-build pkg-config
  # Libraries (nothing is vendored; LibTorch comes from the torch wheel)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev prometheus-cpp-dev libgtest-dev libgmock-dev
  # OpenSSL, gRPC's TLS library: checks certificate files before gRPC gets
  # them (libgrpc-dev pulls it in too).
  libssl-dev
  # HTTP/REST and the metrics endpoint (libmicrohttpd); the HTTP client of
  # inferd-bench and the second server library bench/ compares (cpp-httplib).
  libmicrohttpd-dev libcpp-httplib-dev
  # GnuTLS, libmicrohttpd's TLS library: HTTPS certificates are handed to it
  # at each handshake, so that they reload without a restart.
  libgnutls28-dev
  # The REST API's JSON.
  nlohmann-json3-dev
  # Model archives' zip directories, read before LibTorch inflates them
  # (model_store/backends/archive_check.h).
  libzip-dev
  # The project's virtual environment, on Debian's Python.
  python3-venv
  # Tests: a real Prometheus scrapes inferd; promtool checks rules/exposition.
  prometheus
  # Tests: throwaway certificates for the TLS tests; the README's curl
  # examples.
  openssl curl
  # tests/rolling_restart_test.py: nginx as the gRPC load balancer in front
  # of replicas (run with its own configuration, never as a service).
  nginx
  # tests/thread_safety_test.py: clang's -Wthread-safety over the sources;
  # scripts/fuzz.sh: libFuzzer and the sanitizers' runtimes.
  clang libclang-rt-14-dev
  # scripts/sanitize.sh: clang-tidy on the project's sources; dpkg-source
  # unpacks Debian's Abseil source (below) for the ThreadSanitizer build.
  clang-tidy dpkg-dev
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "bootstrap: all ${#packages[@]} Debian packages present"
else
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# scripts/sanitize.sh's ThreadSanitizer stage needs Abseil's synchronization
# library compiled with -fsanitize=thread: absl::Mutex locks with futexes
# inside libabsl_synchronization, which ThreadSanitizer only understands when
# that code carries its annotations. The source is Debian's own source
# package of the installed libabsl-dev, fetched from Debian's pool (three
# files, ~2 MB) into .absl-src/ and checked against the hashes below; another
# libabsl-dev version needs new hashes (the TSan stage then says so).
absl_version=20220623.1-1+deb12u2
absl_files=(
  "ba731eaced569332fa4ce802a7ff2615ae57ac25beaf2d02f634ef908f2e62c2 abseil_$absl_version.dsc"
  "abfe2897f3a30edaa74bc34365afe3c2a3cd012091a97dc7e008f7016adcd5fe abseil_20220623.1.orig.tar.gz"
  "e08490fc7b6f3beca1925953b0c4fb92df2de5e2a01295e4641e2a3d4e528eeb abseil_$absl_version.debian.tar.xz"
)
absl_src="$root/.absl-src"
installed=$(dpkg-query -W -f='${Version}' libabsl-dev)
if [[ -f "$absl_src/$absl_version/absl/synchronization/mutex.cc" ]]; then
  echo "bootstrap: Abseil $absl_version source present in .absl-src/"
elif [[ "$installed" != "$absl_version" ]]; then
  echo "bootstrap: libabsl-dev is $installed, not $absl_version: update the" \
    "Abseil source hashes in scripts/bootstrap.sh (TSan stage unavailable)" >&2
else
  echo "bootstrap: fetching Debian's Abseil $absl_version source into .absl-src/"
  download=$(mktemp -d)
  for entry in "${absl_files[@]}"; do
    curl -fsS -o "$download/${entry#* }" \
      "https://deb.debian.org/debian/pool/main/a/abseil/${entry#* }"
  done
  (cd "$download" && printf '%s\n' "${absl_files[@]/ /  }" | sha256sum --check --quiet)
  rm -rf "$absl_src/$absl_version"
  mkdir -p "$absl_src"
  dpkg-source --no-check -x "$download/abseil_$absl_version.dsc" \
    "$absl_src/$absl_version" >/dev/null
  rm -rf "$download"
fi

if [[ ${1:-} == --debian ]]; then exit 0; fi

# The venv is (re)filled only when requirements.txt changed since the last
# successful install; the stamp holds a copy of what was installed.
venv="$root/.venv"
stamp="$venv/.inferd-requirements"
if [[ -x "$venv/bin/python" ]] && cmp -s "$root/requirements.txt" "$stamp"; then
  echo "bootstrap: .venv matches requirements.txt"
else
  echo "bootstrap: installing requirements.txt into .venv (first time: ~5.5 GB, mostly the CUDA libraries of the torch wheel)"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --requirement "$root/requirements.txt"
  cp "$root/requirements.txt" "$stamp"
fi

# The torch wheel's CMake package enables CMake's CUDA language, so even a
# CPU-only build needs nvcc to configure. Debian 12 has no CUDA 13; without
# a CUDA toolkit on the machine, PyPI's NVIDIA wheels (the version torch
# 2.14.1 pins) go to .cuda/, where cmake/FindProjectTorch.cmake looks.
# lib64 and the unversioned libcudart.so are where nvcc and FindCUDA look.
cuda="$root/.cuda/nvidia/cu13"
if nvcc --version >/dev/null 2>&1 ||
  /usr/local/cuda/bin/nvcc --version >/dev/null 2>&1; then
  echo "bootstrap: nvcc present"
elif [[ -x "$cuda/bin/nvcc" ]]; then
  echo "bootstrap: nvcc present in .cuda/"
else
  echo "bootstrap: no CUDA toolkit; installing PyPI's nvcc into .cuda/"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --target "$root/.cuda" "cuda-toolkit[nvcc]==13.0.3"
  ln -sfn lib "$cuda/lib64"
  ln -sf libcudart.so.13 "$cuda/lib/libcudart.so"
fi
