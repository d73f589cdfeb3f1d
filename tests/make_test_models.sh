#!/bin/sh
# Builds the model repositories the tests use, from scratch, into $1:
#   $1/good    iris and mlp examples (trained/exported by their scripts) and
#              the special-purpose models of make_test_models.py
#   $1/broken  models that must fail to load, beside one good model
#   $1/big     one model with 64 MiB of weights (unload frees memory)
# $2 names the project venv's interpreter (.venv/bin/python, with the pinned torch).
set -eu
out=$1
python=${2:-$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python}
src=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$out"
mkdir -p "$out/good" "$out/broken" "$out/big"
"$python" "$src/examples/iris/train_export.py" --repository "$out/good" \
  --checkpoint "$out/iris_checkpoint.pt" >/dev/null
"$python" "$src/examples/mlp/export.py" --repository "$out/good" >/dev/null
"$python" "$src/tests/make_test_models.py" --repository "$out/good" \
  --broken-repository "$out/broken" --big-repository "$out/big"
