#!/bin/sh
# The installed client package: `cmake --install` of the build into a
# scratch prefix, a consumer project (tests/client_package) configured with
# find_package(inferd_client) against that prefix alone and built, and its
# binary run against the real inferd.
#
#   client_package_test.sh BUILD_DIR MODELS_DIR
# Environment: CMAKE, the cmake binary, and GENERATOR, the build tool, of the
# build (ctest sets both; default cmake and Ninja).
set -u
. "$(dirname "$0")/inferd_process.sh"
setup_test client_package "$@"
src=$(cd "$(dirname "$0")/.." && pwd)
cmake=${CMAKE:-cmake}

"$cmake" --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
[ -f "$tmp/prefix/include/inferd/client.h" ] || fail "client.h not installed"
# No generated protocol header travels with the package.
if find "$tmp/prefix" -name '*.pb.h' | grep -q .; then
  fail "generated headers installed: $(find "$tmp/prefix" -name '*.pb.h')"
fi

"$cmake" -S "$src/tests/client_package" -B "$tmp/consumer" -G "${GENERATOR:-Ninja}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$tmp/configure.log" 2>&1 ||
  { cat "$tmp/configure.log" >&2; fail "the consumer does not configure"; }
grep -q "inferd_client found in $tmp/prefix/" "$tmp/configure.log" ||
  { cat "$tmp/configure.log" >&2; fail "inferd_client not taken from the prefix"; }
"$cmake" --build "$tmp/consumer" >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; fail "the consumer does not build"; }

start_inferd "$build" "$models/good" --model-control-mode=explicit --load-model=iris
"$tmp/consumer/consumer" "127.0.0.1:$grpc_port" >"$tmp/out.txt" 2>&1 ||
  { cat "$tmp/out.txt" >&2; fail "the consumer failed"; }
grep -q "^setosa (confidence 0\.9[0-9]*) from iris version 1$" "$tmp/out.txt" ||
  { cat "$tmp/out.txt" >&2; fail "unexpected answer"; }
cat "$tmp/out.txt"
echo "client_package: PASS"
