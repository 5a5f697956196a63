#!/usr/bin/env bash
# A/B of two netctl builds on the attach path, op by op in turn so both see the same machine:
# each build has its own state root and bridge network (10.70/16 and 10.71/16) with N sandboxes
# attached, then ROUNDS times: each build connects a spare sandbox and disconnects it (both timed).
# Both networks' port rules share the throwaway host's nat table, so both see the same table size.
# For a change too small for the single-build benchmarks to show between runs: on this VM whole
# runs move single figures by 10-30%. Here, measured with the same build as A and B ("A/A"): B / A
# spread 0.95-1.02 over 150 rounds and 0.99 over 1000, so a change under ~3% needs ROUNDS=1000
# (about a minute at N=100) and an A/A run next to it to be told from noise.
# Usage (root): sudo tests/bench/ab.sh OLD_NETCTL NEW_NETCTL
# Env: N (10 sandboxes each), ROUNDS (200), PORTS (1: every attach publishes one port; 0: none).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/../../netns-fixtures/lib.sh
source "$repo/netns-fixtures/lib.sh"
N=${N:-10} ROUNDS=${ROUNDS:-200} PORTS=${PORTS:-1}
if [ -z "${NETCTL_THROWAWAY:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root: sudo $0 OLD NEW" >&2; exit 2; }
  [ $# = 2 ] && [ -x "$1" ] && [ -x "$2" ] || { echo "usage: $0 OLD_NETCTL NEW_NETCTL" >&2; exit 2; }
  [ "$N" -ge 1 ] 2>/dev/null && [ "$N" -le 500 ] || { echo "N must be 1..500" >&2; exit 2; }
  [ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "ROUNDS must be a number >= 1" >&2; exit 2; }
  set -- "$(realpath "$1")" "$(realpath "$2")"
fi
throwaway_host "$0" "$@"

# Both builds run from fresh copies made now, as the other benchmarks run theirs: how a file's pages
# sit in the page cache may differ between an old copy and a new one.
mkdir "$NETCTL_ROOT/bin"
cp "$1" "$NETCTL_ROOT/bin/A"; cp "$2" "$NETCTL_ROOT/bin/B"
set -- "$NETCTL_ROOT/bin/A" "$NETCTL_ROOT/bin/B" "$1" "$2"
# Two networks ("sides") in one host, the builds taking turns on them, and every round also swaps
# which build runs on which side: both builds must therefore read each other's store.
declare -A SIDE_BIN=([a]=$1 [b]=$2) NET=([a]=10.70 [b]=10.71) BASE=([a]=20000 [b]=30000)
nc_() { local side=$1; shift; NETCTL_ROOT=$NETCTL_ROOT/$side "${SIDE_BIN[$side]}" "$@"; }
publish() { if [ "$PORTS" = 1 ]; then PUB=(-p "$1:80"); else PUB=(); fi; }
for s in a b; do
  nc_ "$s" network create --subnet "${NET[$s]}.0.0/16" "n$s" >/dev/null
  for ((i = 1; i <= N; i++)); do
    nc_ "$s" sandbox create "$s$i" >/dev/null
    publish $((BASE[$s] + i)); nc_ "$s" network connect "${PUB[@]}" "n$s" "$s$i"
  done
  nc_ "$s" sandbox create "t$s" >/dev/null
done
bench_machine
declare -a T_A=() T_B=() D_A=() D_B=()
for ((r = 0; r <= ROUNDS + 1; r++)); do
  # Round r: build A on side a and B on side b, or the other way round; the first to run
  # alternates too.
  if [ $((r % 2)) = 0 ]; then SIDE_BIN=([a]=$1 [b]=$2); else SIDE_BIN=([a]=$2 [b]=$1); fi
  order="a b"; [ $((r % 4)) -ge 2 ] && order="b a"
  for s in $order; do
    publish $((BASE[$s] + 9000))
    declare -n _t="T_${SIDE_BIN[$s]##*/}" _d="D_${SIDE_BIN[$s]##*/}"  # copies named A and B
    if [ "$r" -le 1 ]; then  # warm-up, both builds on both sides, not counted
      nc_ "$s" network connect "${PUB[@]}" "n$s" "t$s"
      nc_ "$s" network disconnect "n$s" "t$s"
    else
      bench_time _t nc_ "$s" network connect "${PUB[@]}" "n$s" "t$s"
      bench_time _d nc_ "$s" network disconnect "n$s" "t$s"
    fi
    unset -n _t _d
  done
done
read -r ma pa _ <<<"$(bench_stats 1 "${T_A[@]}")"
read -r mb pb _ <<<"$(bench_stats 1 "${T_B[@]}")"
echo "attach (connect$([ "$PORTS" = 1 ] && echo " -p")) next to N=$N, $ROUNDS rounds in turn, median (p90) ms:"
echo "  A $3: $ma ($pa)"
echo "  B $4: $mb ($pb)"
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "  B / A = %.3f\n", b / a }'
read -r da qa _ <<<"$(bench_stats 1 "${D_A[@]}")"
read -r db qb _ <<<"$(bench_stats 1 "${D_B[@]}")"
echo "detach (disconnect) of the same, median (p90) ms:"
echo "  A $3: $da ($qa)"
echo "  B $4: $db ($qb)"
awk -v a="$da" -v b="$db" 'BEGIN { printf "  B / A = %.3f\n", b / a }'
