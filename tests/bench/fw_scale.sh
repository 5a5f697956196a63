#!/usr/bin/env bash
# Benchmark: how the cost of publishing one port grows with the ports already published, for both
# firewall backends in one run. One state root per backend in the same throwaway host
# (NETCTL_FIREWALL_BACKEND=iptables / nftables), each grown to 10, 1000 and 10000 published ports
# (100 per sandbox); at each size the two backends take turns, round by round, to publish one port
# (`netctl network connect -p` of a fresh sandbox) and unpublish it (disconnect), so a machine that
# drifts weighs on both alike. libiptc rewrites the whole nat table on every change; nftables adds
# one map element. Target: nftables publish(10000) within 1.2x of publish(10).
# Usage (root): sudo tests/bench/fw_scale.sh    Env: NETCTL (build/netctl), ROUNDS (20),
# SIZES ("10 1000 10000").
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/../../netns-fixtures/lib.sh
source "$repo/netns-fixtures/lib.sh"
export NETCTL=${NETCTL:-$repo/build/netctl} ROUNDS=${ROUNDS:-20} SIZES=${SIZES:-10 1000 10000}
if [ -z "${NETCTL_THROWAWAY:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 2; }
  [ -x "$NETCTL" ] || { echo "no netctl at $NETCTL (build: scripts/build.sh)" >&2; exit 2; }
  [ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "ROUNDS must be a number >= 1" >&2; exit 2; }
fi
throwaway_host "$0" "$@"
trap 'rm -rf "$NETCTL_ROOT"' EXIT  # both state roots live under it

BACKENDS=(iptables nftables)
declare -A ROOT=() BASE=() SUBNET=()
ROOT[iptables]=$NETCTL_ROOT/ipt ROOT[nftables]=$NETCTL_ROOT/nft
SUBNET[iptables]=10.70.0.0/16 SUBNET[nftables]=10.71.0.0/16
declare -A P=([iptables]=i [nftables]=n) # sandbox name prefixes: both roots bind under /run/netns
BASE[iptables]=20000 BASE[nftables]=40000 # host ports of the resident sandboxes (up to +9999)
nb_() { NETCTL_ROOT=${ROOT[$1]} NETCTL_FIREWALL_BACKEND=$1 "$NETCTL" "${@:2}"; }
bench_machine
for b in "${BACKENDS[@]}"; do
  nb_ "$b" network create --subnet "${SUBNET[$b]}" pb >/dev/null
  nb_ "$b" sandbox create "${P[$b]}t" >/dev/null
done
# The sandboxes holding the ports: <prefix>r1..rN, 100 ports each (r1 the first 10 alone).
declare -A HELD=([iptables]=0 [nftables]=0) NEXT=([iptables]=1 [nftables]=1)
grow_to() { # BACKEND K: publish until K ports are held
  local b=$1 k=$2 take args j sb
  while [ "${HELD[$b]}" -lt "$k" ]; do
    take=$((k - HELD[$b] > 100 ? 100 : k - HELD[$b])) args=()
    [ "${HELD[$b]}" = 0 ] && [ "$take" -gt 10 ] && take=10
    for ((j = 0; j < take; j++)); do args+=(-p "$((BASE[$b] + HELD[$b] + j)):80"); done
    sb=${P[$b]}r${NEXT[$b]}
    nb_ "$b" sandbox create "$sb" >/dev/null
    nb_ "$b" network connect "${args[@]}" pb "$sb"
    HELD[$b]=$((HELD[$b] + take)) NEXT[$b]=$((NEXT[$b] + 1))
  done
}
count_ports() { # BACKEND: published entries in the kernel (DNAT rules, map elements)
  if [ "$1" = iptables ]; then iptables-legacy -t nat -S | grep -c -- '-j DNAT' || true
  else nft list table inet "$(nft list tables | awk '/netctl-/ {print $3; exit}')" |
    tr ',' '\n' | grep -cE ' : [0-9.]+ \. 80' || true; fi
}
declare -A RES=()
for k in $SIZES; do
  for b in "${BACKENDS[@]}"; do
    grow_to "$b" "$k"
    got=$(count_ports "$b")
    [ "$got" = "$k" ] || { echo "$b: $got published entries, want $k" >&2; exit 1; }
    nb_ "$b" network connect -p 50000:80 pb "${P[$b]}t" # warm-up
    nb_ "$b" network disconnect pb "${P[$b]}t"
  done
  declare -a A_iptables=() R_iptables=() A_nftables=() R_nftables=()
  for ((r = 0; r < ROUNDS; r++)); do
    for b in "${BACKENDS[@]}"; do
      bench_time "A_$b" nb_ "$b" network connect -p 50000:80 pb "${P[$b]}t"
      bench_time "R_$b" nb_ "$b" network disconnect pb "${P[$b]}t"
    done
  done
  for b in "${BACKENDS[@]}"; do
    declare -n _a="A_$b" _r="R_$b"
    RES[add,$b,$k]=$(bench_stats 1 "${_a[@]}") RES[rm,$b,$k]=$(bench_stats 1 "${_r[@]}")
    unset -n _a _r
  done
  unset A_iptables R_iptables A_nftables R_nftables
done
read -r -a S <<<"$SIZES"
first=${S[0]} last=${S[-1]}
ratio() { awk -v a="${RES[$1,$2,$last]%% *}" -v b="${RES[$1,$2,$first]%% *}" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "one port published next to N ports, ms per op: median (p90) over $ROUNDS ops each;" \
  "the backends take turns round by round"
printf '| %-32s |' operation
for k in "${S[@]}"; do printf ' %-16s |' "N=$k"; done
printf ' %-11s |\n' "$last / $first"
printf '|%s|' "$(printf -- '-%.0s' {1..34})"
for _ in "${S[@]}"; do printf '%s|' "$(printf -- '-%.0s' {1..18})"; done
printf '%s|\n' "$(printf -- '-%.0s' {1..13})"
for op in add rm; do
  for b in "${BACKENDS[@]}"; do
    printf '| %-32s |' "$b: $([ "$op" = add ] && echo "publish (connect -p)" || echo "unpublish (disconnect)")"
    for k in "${S[@]}"; do printf ' %-16s |' "$(bench_cell "${RES[$op,$b,$k]}")"; done
    printf ' %-11s |\n' "$(ratio "$op" "$b")"
  done
done
for b in "${BACKENDS[@]}"; do
  bench_emit "publish one port, $first published ($b)" "${RES[add,$b,$first]}" \
    "same, $last published" "${RES[add,$b,$last]}"
done
echo "scaling: nftables publish($last) / publish($first) = $(ratio add nftables)," \
  "iptables $(ratio add iptables)"
if awk -v r="$(ratio add nftables)" 'BEGIN { exit !(r <= 1.2) }'; then
  echo "target nftables publish($last) / publish($first) <= 1.2: met ($(ratio add nftables))"
else echo "target nftables publish($last) / publish($first) <= 1.2: MISSED ($(ratio add nftables))"; fi
for b in "${BACKENDS[@]}"; do
  mapfile -t all < <(seq -f "${P[$b]}r%g" 1 $((NEXT[$b] - 1)))
  nb_ "$b" sandbox rm --force "${P[$b]}t" "${all[@]}" >/dev/null
  nb_ "$b" network rm pb >/dev/null
  [ "$(count_ports "$b")" = 0 ] || { echo "$b: published entries left" >&2; exit 1; }
done
