# Sourced by the shell tests that run the real inferd binary.
#
#   setup_test NAME "$@"
#     takes the test's arguments, BUILD_DIR MODELS_DIR, as $build and
#     $models (exit 2 with a usage line otherwise); makes a scratch directory
#     $tmp, removed (and inferd stopped) on exit; names the test for fail().
#   fail MESSAGE
#     prints "NAME: FAIL: MESSAGE" and exits 1.
#   start_inferd BUILD_DIR REPOSITORY [inferd flags...]
#     starts BUILD_DIR/bin/inferd on REPOSITORY (gRPC and metrics on free
#     ports; HTTP too, on a free port), logging to $tmp/server.log, and
#     returns once it is serving; sets server_pid, grpc_port and http_port
#     (empty with --allow-http=false). Calls fail() if it never gets there.
#   stop_inferd
#     stops it (safe to call twice, and from an EXIT trap).
#   await_log TEXT
#     waits up to 5 s for TEXT in the server's log; fail() otherwise.

server_pid=
grpc_port=
http_port=
test_name=test

setup_test() {
  test_name=$1
  if [ $# -ne 3 ]; then
    echo "usage: $test_name BUILD_DIR MODELS_DIR" >&2
    exit 2
  fi
  build=$2
  models=$3
  tmp=$(mktemp -d)
  trap 'stop_inferd; rm -rf "$tmp"' EXIT
  trap 'exit 1' INT TERM
}

fail() {
  echo "$test_name: FAIL: $*" >&2
  exit 1
}

start_inferd() {
  _build=$1
  _repository=$2
  shift 2
  # Emptied first: the loop below must not read an earlier server's port
  # before the new one's redirection truncates the file.
  : >"$tmp/server.log"
  "$_build/bin/inferd" --model-repository="$_repository" --grpc-port=0 --http-port=0 \
    --metrics-port=0 "$@" 2>"$tmp/server.log" &
  server_pid=$!
  _want_http=yes
  case " $* " in *" --allow-http=false "*) _want_http= ;; esac
  # The server logs its ports once it is serving, HTTP last; model loading
  # comes first.
  _tries=0
  while :; do
    grpc_port=$(sed -n 's/.*listening for gRPC on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
      "$tmp/server.log")
    http_port=$(sed -n 's/.*listening for HTTP on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
      "$tmp/server.log")
    if [ -n "$grpc_port" ] && { [ -z "$_want_http" ] || [ -n "$http_port" ]; }; then
      return 0
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      cat "$tmp/server.log" >&2
      server_pid=
      fail "inferd exited before listening"
    fi
    _tries=$((_tries + 1))
    if [ "$_tries" -gt 300 ]; then
      cat "$tmp/server.log" >&2
      fail "inferd not listening after 60 s"
    fi
    sleep 0.2
  done
}

stop_inferd() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=
  fi
}

await_log() {
  _tries=0
  until grep -q "$1" "$tmp/server.log"; do
    _tries=$((_tries + 1))
    [ "$_tries" -le 50 ] || fail "no '$1' in the server's log after 5 s"
    sleep 0.1
  done
}
