#!/usr/bin/env bash
# Installs the Debian packages inferd needs to build, test and run its
# example, and nothing else. Non-interactive and idempotent: when everything
# is present it only checks (about a second). Uses sudo when not root.
set -euo pipefail

packages=(
  # Toolchain
  g++ cmake ninja-build pkg-config
  # Libraries (nothing is vendored or downloaded)
  libtorch-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev
  protobuf-compiler libabsl-dev prometheus-cpp-dev libgtest-dev libgmock-dev
  # LibTorch uses whatever BLAS the system provides; the reference BLAS makes
  # matmuls ~30x slower than OpenBLAS on the same machine.
  libopenblas0-pthread
  # The example model: trained with PyTorch on the iris data sklearn ships.
  python3-torch python3-sklearn
  # Tests: a real Prometheus scrapes inferd; promtool checks rules/exposition.
  prometheus
  # Benchmark smoke test: the Python gRPC baseline inferd is compared with.
  python3-grpcio python3-protobuf
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
