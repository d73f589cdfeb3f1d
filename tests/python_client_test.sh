#!/bin/sh
# examples/python_client.py against the real inferd: it classifies the three
# sample flowers as iris-client does.
#
#   python_client_test.sh BUILD_DIR MODELS_DIR
# Environment: PYTHON, the project venv's interpreter (ctest sets it).
set -u
. "$(dirname "$0")/inferd_process.sh"
setup_test python_client "$@"
src=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$src/.venv/bin/python}

start_inferd "$build" "$models/good" --model-control-mode=explicit --load-model=iris
"$python" "$src/examples/python_client.py" --server="127.0.0.1:$grpc_port" \
  >"$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt" >&2; fail "python_client.py failed"; }
cat "$tmp/out.txt"
for expected in \
  '^\[5\.1, 3\.5, 1\.4, 0\.2\] -> setosa (confidence 0\.9' \
  '^\[6\.4, 3\.2, 4\.5, 1\.5\] -> versicolor (confidence 0\.9' \
  '^\[6\.3, 3\.3, 6, 2\.5\] -> virginica (confidence 0\.9' \
  '^answered by iris version 1$'; do
  grep -q "$expected" "$tmp/out.txt" || fail "no line matching $expected"
done

# An error comes back with its code and message.
"$python" "$src/examples/python_client.py" --server="127.0.0.1:$grpc_port" \
  --model=no_such_model >"$tmp/err.txt" 2>&1 && fail "unknown model answered"
grep -q '^ModelInfer failed: NOT_FOUND: .*no_such_model' "$tmp/err.txt" ||
  { cat "$tmp/err.txt" >&2; fail "unknown model: wrong error"; }
echo "python_client: PASS"
