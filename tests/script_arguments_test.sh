#!/bin/sh
# The project's scripts refuse arguments they do not know before doing
# anything: usage on stderr, exit 2.
#   tests/script_arguments_test.sh SOURCE_DIR
set -u
root=$1
status=0
# Runs "$@"; fails unless it exits 2 and says `expected` on stderr.
refuses() {
  expected=$1
  shift
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" != 2 ]; then
    echo "FAIL: $*: exit $rc, expected 2 ($err)"
    status=1
  elif ! printf '%s' "$err" | grep -qF -- "$expected"; then
    echo "FAIL: $*: stderr '$err' lacks '$expected'"
    status=1
  else
    echo "ok: $*: exit 2, '$expected'"
  fi
}
refuses "usage: scripts/bootstrap.sh [--debian]" "$root/scripts/bootstrap.sh" --deb
refuses "usage: scripts/bootstrap.sh [--debian]" "$root/scripts/bootstrap.sh" everything
refuses "unknown stage asna (asan, asan_e2e, tsan, tidy)" "$root/scripts/sanitize.sh" asna
refuses "usage: scripts/fuzz.sh [SECONDS] (a whole number; got: 15s)" "$root/scripts/fuzz.sh" 15s
refuses "usage: scripts/fuzz.sh [SECONDS]" "$root/scripts/fuzz.sh" 15 30
refuses "usage: scripts/asan_configure.sh [DIR [torch|torch-free]] (got: gpu)" \
  "$root/scripts/asan_configure.sh" /nonexistent gpu
[ ! -e /nonexistent ] || { echo "FAIL: asan_configure.sh made /nonexistent"; status=1; }
exit "$status"
