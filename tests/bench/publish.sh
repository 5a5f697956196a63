#!/usr/bin/env bash
# Benchmark: the cost of publishing one port as users see it (`netctl network connect -p` of a
# fresh sandbox, and its disconnect) with 10 and with 1000 ports already published on the
# network. libiptc rewrites a whole table on every change, so this is where table size shows:
# the target is publish(1000) within 1.5x of publish(10).
# Usage (root): sudo tests/bench/publish.sh    Env: NETCTL (build/netctl), ROUNDS (30).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/../../netns-fixtures/lib.sh
source "$repo/netns-fixtures/lib.sh"
export NETCTL=${NETCTL:-$repo/build/netctl} ROUNDS=${ROUNDS:-30}
if [ -z "${NETCTL_THROWAWAY:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 2; }
  [ -x "$NETCTL" ] || { echo "no netctl at $NETCTL (build: scripts/build.sh)" >&2; exit 2; }
  [ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "ROUNDS must be a number >= 1" >&2; exit 2; }
fi
throwaway_host "$0" "$@"

nc_() { "$NETCTL" "$@"; }
bench_machine
nc_ network create --subnet 10.70.0.0/16 pb >/dev/null
nc_ sandbox create t >/dev/null
# publish_to N: sandboxes p1.. hold N ports in all (100 per sandbox, the first holds N mod 100).
held=0 sb=0
publish_to() {
  while [ "$held" -lt "$1" ]; do
    local take=$(( $1 - held > 100 ? 100 : $1 - held )) j args=()
    for ((j = 0; j < take; j++)); do args+=(-p "$((20000 + held + j)):80"); done
    sb=$((sb + 1)); nc_ sandbox create "p$sb" >/dev/null
    nc_ network connect "${args[@]}" pb "p$sb"
    held=$((held + take))
  done
}
declare -A RES
measure() {  # K: ROUNDS connect -p / disconnect of sandbox t next to K published ports
  local -a add=() rm=()
  local r
  nc_ network connect -p 30000:80 pb t && nc_ network disconnect pb t  # warm-up
  for ((r = 0; r < ROUNDS; r++)); do
    bench_time add nc_ network connect -p 30000:80 pb t
    bench_time rm nc_ network disconnect pb t
  done
  RES[add,$1]=$(bench_stats 1 "${add[@]}"); RES[rm,$1]=$(bench_stats 1 "${rm[@]}")
}
publish_to 10; measure 10
publish_to 1000; measure 1000
[ "$(iptables-legacy -t nat -S NETCTL-DNAT | grep -c -- '-j DNAT')" = 1000 ] || { echo "not 1000 DNAT rules" >&2; exit 1; }
floor=$(bench_floor_ms 30)
ratio() { awk -v a="${RES[$1,1000]%% *}" -v b="${RES[$1,10]%% *}" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "one published port, ms per op: median (p90) over $ROUNDS; start floor (/bin/true) $floor ms included"
printf '| %-40s | %-18s | %-18s | %-12s |\n' operation "10 published" "1000 published" "1000 / 10"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..42})" "$(printf -- '-%.0s' {1..20})" \
  "$(printf -- '-%.0s' {1..20})" "$(printf -- '-%.0s' {1..14})"
printf '| %-40s | %-18s | %-18s | %-12s |\n' "connect -p (publish one port)" "$(bench_cell "${RES[add,10]}")" \
  "$(bench_cell "${RES[add,1000]}")" "$(ratio add)"
printf '| %-40s | %-18s | %-18s | %-12s |\n' "disconnect (unpublish it)" "$(bench_cell "${RES[rm,10]}")" \
  "$(bench_cell "${RES[rm,1000]}")" "$(ratio rm)"
bench_emit "publish one port (connect -p), 10 published" "${RES[add,10]}" "same, 1000 published" "${RES[add,1000]}"
bench_emit "unpublish one port (disconnect), 10 published" "${RES[rm,10]}" "same, 1000 published" "${RES[rm,1000]}"
if awk -v r="$(ratio add)" 'BEGIN { exit !(r <= 1.5) }'; then
  echo "target publish(1000) / publish(10) <= 1.5: met ($(ratio add))"
else echo "target publish(1000) / publish(10) <= 1.5: MISSED ($(ratio add))"; fi
mapfile -t all < <(seq -f 'p%g' 1 "$sb")
nc_ sandbox rm --force t "${all[@]}" >/dev/null
nc_ network rm pb >/dev/null
