#!/bin/sh
# Runs the curl examples of README.md (the lines between the
# curl-examples markers) exactly as written, against inferd serving the test
# models with HTTP on port 8000, the port the examples name:
#   tests/readme_curl_test.sh BUILD_DIR MODELS_DIR
# Each must exit 0; the health line must print 200, the others a JSON object
# without "error". Exit 0 pass, 1 fail, 77 when curl is missing or port 8000
# is taken (CTest: skipped, with the reason).
. "$(dirname "$0")/inferd_process.sh"
setup_test readme_curl_test "$@"
root=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v curl >/dev/null; then
  echo "readme_curl_test: SKIP: curl not installed"
  exit 77
fi
if curl -s -o /dev/null localhost:8000/; then
  echo "readme_curl_test: SKIP: something already answers on port 8000"
  exit 77
fi
sed -n '/<!-- curl-examples -->/,/<!-- \/curl-examples -->/p' "$root/README.md" |
  grep '^curl ' >"$tmp/examples"
[ "$(wc -l <"$tmp/examples")" -ge 4 ] || fail "fewer than 4 curl examples found in README.md"

start_inferd "$build" "$models/good" --http-port=8000
[ "$http_port" = 8000 ] || fail "inferd's HTTP port is $http_port, not 8000"

n=0
while IFS= read -r line; do
  n=$((n + 1))
  out=$(sh -c "$line") || fail "example $n exited $?: $line"
  case $line in
    *health*) [ "$out" = 200 ] || fail "example $n printed '$out', not 200: $line" ;;
    *)
      case $out in
        '{'*) ;;
        *) fail "example $n printed no JSON object: $line -> $out" ;;
      esac
      case $out in
        *'"error"'*) fail "example $n answered an error: $line -> $out" ;;
      esac
      ;;
  esac
  echo "example $n: ok: $(printf '%s' "$out" | cut -c1-100)"
done <"$tmp/examples"
echo "readme_curl_test: $n examples passed"
