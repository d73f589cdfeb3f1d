#!/usr/bin/env bash
# One command from a fresh clone to a served model: installs what is missing,
# builds, trains the iris example and publishes it through the packaging
# tool into build/model_repository/,
# and runs the server on 127.0.0.1:8001 (Ctrl-C stops it). Flags are passed
# to inferd, e.g. scripts/serve.sh --grpc-port=9001.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/bootstrap.sh"
"$root/scripts/build.sh"
repo="$root/build/model_repository"
if [[ ! -f "$repo/iris/1/model.pt" || ! -f "$repo/iris_aoti/1/model.pt2" ]]; then
  # Train, save the checkpoint, publish it (tools/inferd_package.py never
  # overwrites a version, so start from an empty repository).
  rm -rf "$repo"
  "$root/.venv/bin/python" "$root/examples/iris/train_export.py" \
    --repository "$repo" --checkpoint "$root/build/iris_checkpoint.pt"
fi
echo "serve: try  build/bin/iris-client --server=127.0.0.1:8001  in another shell"
echo "serve: (or --model=iris_aoti for the .pt2 export of the same model)"
exec "$root/build/bin/inferd" --model-repository="$repo" "$@"
