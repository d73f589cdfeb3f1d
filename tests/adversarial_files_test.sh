#!/bin/sh
# Hostile and broken model files against the real inferd binary: each
# finding of the hardening review that once crashed or exhausted the server
# is replayed, and the server must start (or keep running), answer a normal
# client, and say in its log what it refused.
#   tests/adversarial_files_test.sh BUILD_DIR MODELS_DIR
# Models dropped into the repository at start-up:
#   deep        an unknown field nested 20,000 deep (SIGSEGV in libprotobuf)
#   hugedims    dims: [ 100000000000 ] (std::bad_alloc from the warm-up)
#   overflow    dims whose product overflows int64
#   threads     instance_group count 2000 (2,015 threads)
#   biglabels   a 20 MB labels file
#   traversal   label_filename climbing out to a file outside the repository
# and, in poll mode, the nested config dropped into a live repository.
set -u
. "$(dirname "$0")/inferd_process.sh"
setup_test adversarial_files "$@"

repo="$tmp/repo"
mkdir -p "$repo" "$tmp/outside"
echo "secret-line" >"$tmp/outside/secret"
cp -r "$models/good/iris" "$repo/iris"

# Copies iris to $1 with its name changed; the config can then be edited.
variant() {
  cp -r "$models/good/iris" "$repo/$1"
  sed -i "s/name: \"iris\"/name: \"$1\"/" "$repo/$1/config.pbtxt"
}

variant deep
awk 'BEGIN {
  printf "name: \"deep\"\n";
  for (i = 0; i < 20000; i++) printf "a { ";
  for (i = 0; i < 20000; i++) printf "} ";
  printf "\n" }' >>"$repo/deep/config.pbtxt"
variant hugedims
sed -i 's/dims: \[ 4 \]/dims: [ 100000000000 ]/' "$repo/hugedims/config.pbtxt"
variant overflow
sed -i 's/dims: \[ 4 \]/dims: [ 1073741824, 1073741824, 16 ]/' "$repo/overflow/config.pbtxt"
variant threads
printf 'instance_group [ { count: 2000 kind: KIND_CPU } ]\n' >>"$repo/threads/config.pbtxt"
variant biglabels
head -c 20000000 /dev/zero | tr '\0' 'x' | fold -w 100 >"$repo/biglabels/labels.txt"
variant traversal
sed -i 's|label_filename: "labels.txt"|label_filename: "../../outside/secret"|' \
  "$repo/traversal/config.pbtxt"

# Runs iris-client against the server; fails the test when it does not
# classify the sample flower.
classify() {
  "$build/bin/iris-client" --server="127.0.0.1:$grpc_port" \
    --flower="5.1,3.5,1.4,0.2" >"$tmp/client.txt" 2>&1 ||
    { cat "$tmp/client.txt" >&2; fail "iris-client failed: $1"; }
  grep -q setosa "$tmp/client.txt" ||
    { cat "$tmp/client.txt" >&2; fail "iris not classified: $1"; }
}

expect_log() {
  grep -q -- "$2" "$tmp/server.log" ||
    { cat "$tmp/server.log" >&2; fail "model $1: log lacks '$2'"; }
}

start_inferd "$build" "$repo"
classify "after start-up with hostile models"
kill -0 "$server_pid" || fail "inferd died"
expect_log deep "nested 20000 levels deep"
expect_log hugedims "dim 100000000000 is too large"
expect_log overflow "more than 2^63 bytes"
expect_log threads "count: 2000 is too large"
expect_log biglabels "labels.txt: 20199999 bytes; at most 16777216 allowed"
expect_log traversal "no such regular file inside the model directory"
grep -q secret-line "$tmp/server.log" && fail "the outside file's contents reached the log"
threads=$(ls /proc/"$server_pid"/task | wc -l)
[ "$threads" -lt 200 ] || fail "$threads threads running"
stop_inferd

# Poll mode: the nested config arrives in a live repository.
live="$tmp/live"
mkdir -p "$live"
cp -r "$models/good/iris" "$live/iris"
start_inferd "$build" "$live" --model-control-mode=poll --repository-poll-secs=1
classify "before the drop"
cp -r "$repo/deep" "$live/.deep"
mv "$live/.deep" "$live/deep"
for _ in $(seq 50); do
  grep -q "nested 20000 levels deep" "$tmp/server.log" && break
  sleep 0.2
done
expect_log deep "nested 20000 levels deep"
kill -0 "$server_pid" || fail "inferd died after the drop"
classify "after the nested config was dropped in"
echo "adversarial_files: ok"
