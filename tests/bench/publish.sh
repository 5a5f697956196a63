#!/usr/bin/env bash
# Benchmark: the cost of publishing one port as users see it (`netctl network connect -p` of a
# fresh sandbox, and its disconnect) with 10 and with 1000 ports already published on the
# network. libiptc rewrites a whole table on every change, so this is where table size shows:
# the target is publish(1000) within 1.5x of publish(10).
# Beside it, in the same rounds, the floor: iptc_floor.c, the least any libiptc user does to change
# the table (read it, add or remove an empty chain, commit it), one change per process as netctl.
# Usage (root): sudo tests/bench/publish.sh    Env: NETCTL (build/netctl), ROUNDS (30), BLOCKS (5).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/../../netns-fixtures/lib.sh
source "$repo/netns-fixtures/lib.sh"
export NETCTL=${NETCTL:-$repo/build/netctl} ROUNDS=${ROUNDS:-30}
# The libiptc scaling of the iptables backend, beside its floor (tests/bench/fw_scale.sh compares
# both backends up to 10000 ports).
export NETCTL_FIREWALL_BACKEND=iptables
if [ -z "${NETCTL_THROWAWAY:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 2; }
  [ -x "$NETCTL" ] || { echo "no netctl at $NETCTL (build: scripts/build.sh)" >&2; exit 2; }
  [ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "ROUNDS must be a number >= 1" >&2; exit 2; }
  [ "${BLOCKS:-5}" -ge 1 ] 2>/dev/null || { echo "BLOCKS must be a number >= 1" >&2; exit 2; }
fi
throwaway_host "$0" "$@"

nc_() { "$NETCTL" "$@"; }
bench_machine
iptc_dir=$(mktemp -d /tmp/bench-publish.XXXXXX)
trap 'rm -rf "$NETCTL_ROOT" "$iptc_dir"' EXIT
IPTC_FLOOR=$iptc_dir/iptc_floor
cc -O2 -o "$IPTC_FLOOR" "$here/iptc_floor.c" -lip4tc 2>"$iptc_dir/cc.log" ||
  { echo "iptc_floor not built (no C compiler or libiptc headers): no floor row" >&2; IPTC_FLOOR=""; }
nc_ network create --subnet 10.70.0.0/16 pb >/dev/null
nc_ sandbox create t >/dev/null
# Sandbox p1 publishes 10 ports; p2..p11 another 990 (100 each, p11 90), connected ("grow") and
# disconnected ("shrink") between blocks: the two table sizes are measured in BLOCKS alternating
# blocks of ROUNDS / BLOCKS rounds, so a machine that drifts during the run (it does, by 10-30%
# over minutes here) weighs on both sizes alike instead of on the ratio.
BLOCKS=${BLOCKS:-5}
declare -A ARGS=()
for ((sb = 1, held = 0; sb <= 11; sb++)); do
  take=$((sb == 1 ? 10 : (1000 - held > 100 ? 100 : 1000 - held))) args=""
  for ((j = 0; j < take; j++)); do args+=" -p $((20000 + held + j)):80"; done
  ARGS[p$sb]=$args held=$((held + take))
  nc_ sandbox create "p$sb" >/dev/null
done
# shellcheck disable=SC2086  # ARGS holds words to split, here and in grow()
nc_ network connect ${ARGS[p1]} pb p1
grow() { local sb; for ((sb = 2; sb <= 11; sb++)); do nc_ network connect ${ARGS[p$sb]} pb "p$sb"; done; }
shrink() { local sb; for ((sb = 2; sb <= 11; sb++)); do nc_ network disconnect pb "p$sb"; done; }
declare -a ADD_10=() RM_10=() ADD_1000=() RM_1000=() IPTC_10=() IPTC_1000=()
measure() {  # K N: N rounds of connect -p / disconnect of sandbox t next to K published ports
  local r
  declare -n _add="ADD_$1" _rm="RM_$1" _iptc="IPTC_$1"
  nc_ network connect -p 30000:80 pb t && nc_ network disconnect pb t  # warm-up
  for ((r = 0; r < $2; r++)); do
    bench_time _add nc_ network connect -p 30000:80 pb t
    bench_time _rm nc_ network disconnect pb t
    if [ -n "$IPTC_FLOOR" ]; then
      bench_time _iptc "$IPTC_FLOOR" add
      "$IPTC_FLOOR" del
    fi
  done
  unset -n _add _rm _iptc
}
per=$(((ROUNDS + BLOCKS - 1) / BLOCKS))
for ((b = 0; b < BLOCKS; b++)); do
  measure 10 "$per"
  grow
  [ "$b" = 0 ] && { [ "$(iptables-legacy -t nat -S | grep -cE -- '^-A NETCTL-D-[0-9a-f]{8} .*-j DNAT')" = 1000 ] ||
    { echo "not 1000 DNAT rules" >&2; exit 1; }; }
  measure 1000 "$per"
  shrink
done
declare -A RES=()
for k in 10 1000; do
  declare -n _a="ADD_$k" _r="RM_$k" _f="IPTC_$k"
  RES[add,$k]=$(bench_stats 1 "${_a[@]}"); RES[rm,$k]=$(bench_stats 1 "${_r[@]}")
  [ -n "$IPTC_FLOOR" ] && RES[iptc,$k]=$(bench_stats 1 "${_f[@]}")
  unset -n _a _r _f
done
floor=$(bench_floor_ms 30)
# OP EXPR: EXPR of OP's medians, a (1000 published) and b (10 published), to two decimals.
medians() { awk -v a="${RES[$1,1000]%% *}" -v b="${RES[$1,10]%% *}" "BEGIN { printf \"%.2f\", $2 }"; }
ratio() { medians "$1" 'a / b'; }
echo
echo "one published port, ms per op: median (p90) over $((per * BLOCKS)) ops each, in $BLOCKS alternating blocks;" \
  "start floor (/bin/true) $floor ms included"
printf '| %-40s | %-18s | %-18s | %-12s |\n' operation "10 published" "1000 published" "1000 / 10"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..42})" "$(printf -- '-%.0s' {1..20})" \
  "$(printf -- '-%.0s' {1..20})" "$(printf -- '-%.0s' {1..14})"
printf '| %-40s | %-18s | %-18s | %-12s |\n' "connect -p (publish one port)" "$(bench_cell "${RES[add,10]}")" \
  "$(bench_cell "${RES[add,1000]}")" "$(ratio add)"
printf '| %-40s | %-18s | %-18s | %-12s |\n' "disconnect (unpublish it)" "$(bench_cell "${RES[rm,10]}")" \
  "$(bench_cell "${RES[rm,1000]}")" "$(ratio rm)"
if [ -n "$IPTC_FLOOR" ]; then
  printf '| %-40s | %-18s | %-18s | %-12s |\n' "libiptc alone: add a chain (iptc_floor)" \
    "$(bench_cell "${RES[iptc,10]}")" "$(bench_cell "${RES[iptc,1000]}")" "$(ratio iptc)"
  echo "growth from 10 to 1000 published (medians): netctl connect -p +$(medians add 'a - b') ms," \
    "libiptc alone +$(medians iptc 'a - b') ms; within 1.5x allows +$(medians add 'b / 2') ms"
fi
bench_emit "publish one port (connect -p), 10 published" "${RES[add,10]}" "same, 1000 published" "${RES[add,1000]}"
bench_emit "unpublish one port (disconnect), 10 published" "${RES[rm,10]}" "same, 1000 published" "${RES[rm,1000]}"
[ -n "$IPTC_FLOOR" ] && bench_emit "libiptc alone: add a chain (iptc_floor), 10 published" "${RES[iptc,10]}" \
  "same, 1000 published" "${RES[iptc,1000]}"
if awk -v r="$(ratio add)" 'BEGIN { exit !(r <= 1.5) }'; then
  echo "target publish(1000) / publish(10) <= 1.5: met ($(ratio add))"
else echo "target publish(1000) / publish(10) <= 1.5: MISSED ($(ratio add))"; fi
mapfile -t all < <(seq -f 'p%g' 1 11)
nc_ sandbox rm --force t "${all[@]}" >/dev/null
nc_ network rm pb >/dev/null
