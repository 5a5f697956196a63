#!/usr/bin/env bash
# Benchmark: attach with one published port, nftables backend against iptables backend, in turn
# round by round in one throwaway host. One state root per backend, each with its own network and
# N sandboxes already attached with a port; then ROUNDS times each root connects a spare sandbox
# with a port (timed) and disconnects it, the order alternating. Target (issue 25): nftables at
# least as fast as iptables at every N.
# Usage (root): sudo tests/bench/fw_attach.sh     Env: NETCTL (build/netctl), NS ("10 100 500"),
# ROUNDS (150).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/../../netns-fixtures/lib.sh
source "$repo/netns-fixtures/lib.sh"
export NETCTL=${NETCTL:-$repo/build/netctl} NS=${NS:-10 100 500} ROUNDS=${ROUNDS:-150}
if [ -z "${NETCTL_THROWAWAY:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 2; }
  [ -x "$NETCTL" ] || { echo "no netctl at $NETCTL (build: scripts/build.sh)" >&2; exit 2; }
fi
throwaway_host "$0" "$@"
bench_machine
base=$NETCTL_ROOT
nc_() { local b=$1; shift; NETCTL_ROOT=$base/$b NETCTL_FIREWALL_BACKEND=$b "$NETCTL" "$@"; }
stop_dns() {  # the DNS server each root started (its pid in ROOT/dns/lock)
  local b p
  for b in nftables iptables; do
    p=$(head -n 1 "$base/$b/dns/lock" 2>/dev/null || true)
    [ -z "$p" ] || [ "$(cat "/proc/$p/comm" 2>/dev/null)" != netctl-dns ] || kill "$p"
  done
}
trap 'stop_dns; rm -rf "$base"' EXIT  # the state roots: throwaway_host made $NETCTL_ROOT
declare -A NET=([nftables]=10.70 [iptables]=10.71) PORT=([nftables]=20000 [iptables]=40000)
declare -A MED=()
for b in nftables iptables; do nc_ "$b" network create --subnet "${NET[$b]}.0.0/16" "n-$b" >/dev/null; done
have=0
for n in $NS; do
  for b in nftables iptables; do  # grow each root to n attached sandboxes
    for ((i = have; i < n; i++)); do
      nc_ "$b" sandbox create "${b:0:1}$i" >/dev/null
      nc_ "$b" network connect -p "$((PORT[$b] + i)):80" "n-$b" "${b:0:1}$i"
    done
    [ "$have" != 0 ] || nc_ "$b" sandbox create "${b:0:1}spare" >/dev/null
  done
  have=$n
  declare -A T=([nftables]="" [iptables]="")
  for ((r = 0; r < ROUNDS; r++)); do
    order="nftables iptables"; [ $((r % 2)) = 0 ] || order="iptables nftables"
    for b in $order; do
      t0=$EPOCHREALTIME
      nc_ "$b" network connect -p "$((PORT[$b] + 19999)):80" "n-$b" "${b:0:1}spare"
      t1=$EPOCHREALTIME
      nc_ "$b" network disconnect "n-$b" "${b:0:1}spare"
      T[$b]+="$(((10#${t1//[.,]/} - 10#${t0//[.,]/}) * 1000)) "
    done
  done
  for b in nftables iptables; do
    # shellcheck disable=SC2086
    MED[$b.$n]=$(bench_stats 1 ${T[$b]})
  done
done
echo
echo "attach with one port (connect -p of a spare sandbox) next to N attached, ms: median (p90) over $ROUNDS each, in turn"
printf '| %-10s |' backend; for n in $NS; do printf ' %-16s |' "N=$n"; done; echo
printf '|%s|' "------------"; for n in $NS; do printf '%s|' "------------------"; done; echo
for b in nftables iptables; do
  printf '| %-10s |' "$b"
  for n in $NS; do printf ' %-16s |' "$(bench_cell "${MED[$b.$n]}")"; done; echo
done
for n in $NS; do
  read -r a _ <<<"${MED[nftables.$n]}"; read -r c _ <<<"${MED[iptables.$n]}"
  echo "N=$n: nftables / iptables = $(awk -v a="$a" -v c="$c" 'BEGIN { printf "%.3f", a / c }')"
  bench_emit "attach -p, N=$n: nftables backend" "${MED[nftables.$n]}" "iptables backend" "${MED[iptables.$n]}"
done
echo "target: nftables / iptables <= 1 at every N"
