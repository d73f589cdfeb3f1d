#!/bin/sh
# The real inferd puts its threads in the scheduling classes it promises
# (--batch-class-io-threads, common/thread_scheduling.h):
#   tests/thread_classes_test.sh BUILD_DIR MODELS_DIR
# With --batch-class-io-threads=true, the main thread and gRPC's threads are
# in SCHED_BATCH (3) and every model worker ("batch-worker") in the default
# class (0); with false, every thread is in the default class; with auto
# (the default), gRPC's threads go to the default class while another
# program keeps the server's CPU busy (here a shell loop on the one CPU the
# server is pinned to; that they return to SCHED_BATCH once the CPU is quiet
# again is left to io_class_governor_test, since a loaded CI machine is
# never quiet).
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

# gRPC names its threads (grpc_global_timer, nexting_thread, ...).
grpc_threads() {
  awk '$3 ~ /^(grpc|nexting|default-exec|event_engine|timer_manager|resolver)/' "$1"
}

# --- true: request threads in SCHED_BATCH, workers in the default class.
start_inferd "$build" "$models/good" --batch-class-io-threads=true
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
# Every gRPC thread started after main switched class, so each must have
# inherited it.
grpc=$(grpc_threads "$tmp/default.txt")
[ -n "$grpc" ] || { cat "$tmp/default.txt" >&2; fail "found no gRPC thread"; }
wrong=$(echo "$grpc" | awk '$2 != 3')
[ -z "$wrong" ] || fail "gRPC threads not in SCHED_BATCH (3): $wrong"
echo "thread_classes: true: $workers worker(s) in class 0," \
  "$(echo "$grpc" | grep -c .) gRPC thread(s) in class 3"
stop_inferd

# --- Off: every thread in the default class.
start_inferd "$build" "$models/good" --batch-class-io-threads=false
threads >"$tmp/off.txt"
wrong=$(awk '$2 != 0' "$tmp/off.txt")
[ -z "$wrong" ] || fail "with --batch-class-io-threads=false, threads not in class 0: $wrong"
echo "thread_classes: off: all $(grep -c . "$tmp/off.txt") threads in class 0"
stop_inferd

# --- auto: another program busy on the server's CPU moves gRPC's threads to
# the default class.
start_inferd "$build" "$models/good"
cpu=$(taskset -cp $$ | sed 's/.*: //; s/[-,].*//')
taskset -a -cp "$cpu" "$server_pid" >/dev/null || fail "cannot pin the server to CPU $cpu"
taskset -c "$cpu" sh -c 'while :; do :; done' &
busy_pid=$!
tries=0
while :; do
  threads >"$tmp/auto.txt"
  if grep -q "now in the default class" "$tmp/server.log" &&
    [ -z "$(grpc_threads "$tmp/auto.txt" | awk '$2 != 0')" ]; then
    break
  fi
  tries=$((tries + 1))
  if [ "$tries" -gt 150 ]; then
    kill "$busy_pid"
    cat "$tmp/server.log" "$tmp/auto.txt" >&2
    fail "auto: gRPC threads not in the default class 15 s into a busy loop on CPU $cpu"
  fi
  sleep 0.1
done
kill "$busy_pid"
wrong=$(awk '$3 == "batch-worker" && $2 != 0' "$tmp/auto.txt")
[ -z "$wrong" ] || fail "auto: model workers not in the default class: $wrong"
echo "thread_classes: auto: $(grpc_threads "$tmp/auto.txt" | grep -c .) gRPC thread(s)" \
  "in class 0 after $tries tenths of a second of a busy CPU"
echo "thread_classes: OK"
