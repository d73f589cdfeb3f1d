#!/bin/sh
# Builds the model repositories the tests use, from scratch, into $1:
#   $1/good    iris and mlp examples (trained/exported by their scripts) and
#              the special-purpose models of make_test_models.py
#   $1/broken  models that must fail to load, beside one good model
#   $1/big     one model with 64 MiB of weights (unload frees memory)
#   $1/zoo     MLP, CNN, transformer and attention models, each scripted,
#              traced and as a .pt2 package (make_model_zoo.py)
# $2 names the project venv's interpreter (.venv/bin/python, with the pinned
# torch). The zoo compiles in a second process beside the rest (AOTInductor
# spends ~10 s of one core per package).
set -eu
out=$1
src=$(cd "$(dirname "$0")/.." && pwd)
python=${2:-$src/.venv/bin/python}
rm -rf "$out"
mkdir -p "$out/good" "$out/broken" "$out/big" "$out/zoo"
"$python" "$src/tests/make_model_zoo.py" --repository "$out/zoo" \
  >"$out/zoo.log" 2>&1 &
zoo=$!
"$python" "$src/examples/iris/train_export.py" --repository "$out/good" \
  --checkpoint "$out/iris_checkpoint.pt" >/dev/null
"$python" "$src/examples/mlp/export.py" --repository "$out/good" >/dev/null
"$python" "$src/tests/make_test_models.py" --repository "$out/good" \
  --broken-repository "$out/broken" --big-repository "$out/big"
if ! wait "$zoo"; then
  cat "$out/zoo.log"
  exit 1
fi
