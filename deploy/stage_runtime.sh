#!/usr/bin/env bash
# Copies what running inferd (and inferd-health) needs out of a built
# checkout into DEST, each file at its own absolute path: the binary's RPATH
# names the venv's LibTorch by absolute path, and LibTorch finds the NVIDIA
# wheels' libraries relative to itself ($ORIGIN/../../nvidia/...), so both
# resolve unchanged.
#
#   deploy/stage_runtime.sh DEST [BUILD_DIR]      (BUILD_DIR: build/)
#
# A server built with -DINFERD_CUDA=OFF gets exactly the venv libraries that
# ldd resolves. A CUDA server gets LibTorch's lib/ and every NVIDIA wheel's
# lib/ whole: cuDNN, cuBLAS and NVRTC dlopen further libraries that ldd
# cannot see. Libraries from Debian's packages are not copied (the runtime
# image installs them). Fails if ldd cannot resolve something.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:?usage: deploy/stage_runtime.sh DEST [BUILD_DIR]}
build=$(cd "${2:-$root/build}" && pwd)
bin=$build/bin/inferd
venv=$root/.venv
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

stage() {  # stage FILE...: copies each to DEST at its normalized path
  local f
  for f in "$@"; do
    f=$(realpath -s "$f")
    mkdir -p "$dest$(dirname "$f")"
    cp -L "$f" "$dest$f"
  done
}

health=$build/bin/inferd-health
for b in "$bin" "$health"; do
  if ldd "$b" | grep 'not found'; then
    echo "stage_runtime: $b has unresolved libraries (above)" >&2
    exit 1
  fi
done
# inferd-health (the HEALTHCHECK) needs only Debian's gRPC libraries.
stage "$bin" "$health"
if readelf -d "$bin" | grep -q 'libtorch_cuda\.so'; then
  # libtorch_python.so and libshm need libpython: only Python uses them.
  find "$site/torch/lib" -maxdepth 1 -type f -name '*.so*' \
    ! -name 'libtorch_python.so' ! -name 'libshm*' -print0 |
    while IFS= read -r -d '' f; do stage "$f"; done
  for lib in "$site"/nvidia/*/lib; do
    find "$lib" -maxdepth 1 -type f -name '*.so*' -print0 |
      while IFS= read -r -d '' f; do stage "$f"; done
  done
else
  ldd "$bin" | awk -v venv="$venv/" 'index($3, venv) == 1 { print $3 }' |
    while IFS= read -r f; do stage "$f"; done
fi
echo "stage_runtime: $(du -sh "$dest" | cut -f1) in $dest"
