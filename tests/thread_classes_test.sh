#!/bin/sh
# The real inferd puts its threads in the scheduling classes it promises
# (--batch-class-io-threads, common/thread_scheduling.h):
#   tests/thread_classes_test.sh BUILD_DIR MODELS_DIR
# With the default, the main thread and gRPC's threads are in SCHED_BATCH (3)
# and every model worker ("batch-worker") in the default class (0); with
# --batch-class-io-threads=false, every thread is in the default class.
# Reads each thread's policy from /proc/<pid>/task/<tid>/stat. Exit 77 (skip)
# where this is not Linux or the platform refuses SCHED_BATCH.
set -u
[ -d /proc/self/task ] || { echo "thread_classes: no /proc; skipped"; exit 77; }
. "$(dirname "$0")/inferd_process.sh"
setup_test thread_classes "$@"

# Prints "tid policy name" for every thread of $server_pid. The name is in
# parentheses in field 2 and may hold spaces, so fields are counted from the
# last ')': policy is field 41 of stat, the 39th after it.
threads() {
  for task in /proc/"$server_pid"/task/*; do
    tid=${task##*/}
    name=$(cat "$task/comm" 2>/dev/null) || continue
    policy=$(sed 's/.*) //' "$task/stat" 2>/dev/null | awk '{print $39}')
    [ -n "$policy" ] && echo "$tid $policy $name"
  done
}

# --- Default: request threads in SCHED_BATCH, workers in the default class.
start_inferd "$build" "$models/good"
if grep -q -- "--batch-class-io-threads:" "$tmp/server.log"; then
  cat "$tmp/server.log"
  echo "thread_classes: this platform refuses SCHED_BATCH; skipped"
  exit 77
fi
threads >"$tmp/default.txt"
workers=$(awk '$3 == "batch-worker"' "$tmp/default.txt" | grep -c .)
[ "$workers" -ge 1 ] || { cat "$tmp/default.txt" >&2; fail "no batch-worker thread"; }
wrong=$(awk '$3 == "batch-worker" && $2 != 0' "$tmp/default.txt")
[ -z "$wrong" ] || fail "model workers not in the default class (policy 0): $wrong"
main=$(awk -v pid="$server_pid" '$1 == pid {print $2}' "$tmp/default.txt")
[ "$main" = 3 ] || fail "main thread in policy '$main', expected SCHED_BATCH (3)"
# gRPC names its threads (grpc_global_timer, nexting_thread, ...); every one
# started after main switched class, so each must have inherited it.
grpc=$(awk '$3 ~ /^(grpc|nexting|default-exec|event_engine|timer_manager|resolver)/' \
  "$tmp/default.txt")
[ -n "$grpc" ] || { cat "$tmp/default.txt" >&2; fail "found no gRPC thread"; }
wrong=$(echo "$grpc" | awk '$2 != 3')
[ -z "$wrong" ] || fail "gRPC threads not in SCHED_BATCH (3): $wrong"
echo "thread_classes: default: $workers worker(s) in class 0," \
  "$(echo "$grpc" | grep -c .) gRPC thread(s) in class 3"
stop_inferd

# --- Off: every thread in the default class.
start_inferd "$build" "$models/good" --batch-class-io-threads=false
threads >"$tmp/off.txt"
wrong=$(awk '$2 != 0' "$tmp/off.txt")
[ -z "$wrong" ] || fail "with --batch-class-io-threads=false, threads not in class 0: $wrong"
echo "thread_classes: off: all $(grep -c . "$tmp/off.txt") threads in class 0"
echo "thread_classes: OK"
