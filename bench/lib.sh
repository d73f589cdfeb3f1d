# Sourced by the benchmark scripts of bench/ (bash): where things are, and
# the two steps each of them takes.
#
#   . "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$root/build/bin"

# Prints the port that LOG's first line matching "PATTERN <address>:<port>"
# names (PATTERN a grep regex), waiting up to 60 s for it; prints the log
# and fails without one.
await_port() {
  local log=$1 pattern=$2 port=""
  for _ in $(seq 600); do
    port=$(grep -o "$pattern [^ ]*" "$log" | grep -o '[0-9]*$' || true)
    [[ -n "$port" ]] && { echo "$port"; return 0; }
    sleep 0.1
  done
  cat "$log" >&2
  return 1
}

# The header line of a result: when, and on what machine.
print_machine() {
  echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
}
