#!/usr/bin/env bash
# Publishes the iris training checkpoint (what train_export.py saves with
# --checkpoint) as the next version of the model "iris_packaged" in REPO: a
# .pt2 with the training split's normalisation and a softmax inside, the
# class names as labels, and validation data from the eager model, proven
# against eager PyTorch before it is renamed into place.
#
# Usage: examples/iris/publish.sh REPO CHECKPOINT
#   e.g. .venv/bin/python examples/iris/train_export.py \
#          --repository /tmp/models --checkpoint /tmp/iris_checkpoint.pt
#        examples/iris/publish.sh /tmp/models /tmp/iris_checkpoint.pt
#        build/bin/inferd --model-repository=/tmp/models
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 REPO CHECKPOINT" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
mkdir -p "$1"
# The checkpoint holds model_state_dict, optimizer_state_dict, epoch,
# metrics, feature_mean, feature_std, feature_names and class_names.
exec "$root/.venv/bin/python" "$root/tools/inferd_package.py" "$2" \
  --model iris_model:IrisMlp --model-path "$root/examples/iris" \
  --input-shape 4 --input-name features --output-name probabilities \
  --normalize --mean-key feature_mean --std-key feature_std --softmax \
  --format aoti --max-batch-size 64 \
  --repository "$1" --name iris_packaged
