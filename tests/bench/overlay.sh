#!/usr/bin/env bash
# The overlay driver's cost (issue 27) on three hosts of one machine (netns-fixtures/overlay.sh:
# each host a namespace with its own etcd member on the underlay, 3-member cluster on tmpfs):
#   - attach on host 1, and whether a sandbox on host 3 gets an answer from the first ping sent
#     once the command returned (it waits for every host's agent to program the endpoint);
#   - etcd round trips per attach (the command's own requests, NETCTL_CLUSTER_STATS) for the first
#     endpoint of a host (the network made there) and for the ones after;
#   - per-peer programming: host 2's first attach (the network made there, every remote endpoint
#     programmed) with P more endpoints on host 1 against without, divided by P;
#   - attach on the overlay against attach on a bridge network of the same host, both measured here.
# No peer runs in this benchmark: Docker removed the cluster-store overlay in 23.0 and swarm's
# overlay needs swarm; the local bridge attach of the same run is the yardstick.
# Usage (root): tests/bench/overlay.sh   Env: NETCTL (build/netctl), N (30 attaches), P (100 peers),
# ROUNDS (5 first attaches each way)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
export NETCTL=${NETCTL:-$repo/build/netctl} FIXTURES=$repo/netns-fixtures
source "$here/lib.sh"
source "$FIXTURES/lib.sh"
throwaway_host "$0" "$@"
source "$FIXTURES/etcd.sh"
source "$FIXTURES/overlay.sh"
N=${N:-30}
P=${P:-100}
dir=$(mktemp -d /tmp/netctl-bench-overlay.XXXXXX)
trap 'overlay_hosts_stop >/dev/null 2>&1; rm -rf "$dir"' EXIT
overlay_hosts_start "$dir" 3 >/dev/null
export NETCTL_OVERLAY_TTL=10

on_host 1 netctl network create -d overlay --subnet 10.77.0.0/16 ov >/dev/null
on_host 1 netctl network create --subnet 10.78.0.0/24 -o netctl.dns=false br >/dev/null
# requests HOST CMD...: runs the netctl command and prints its etcd request count.
requests() {
  NETCTL_CLUSTER_STATS=1 on_host "$@" 2>&1 >/dev/null | sed -n 's/^netctl: cluster: \([0-9]*\) etcd requests$/\1/p'
}
addr_of() { on_host "$1" ip -n "$2" -4 -o addr show eth0 | awk '{split($4, a, "/"); print a[1]}'; }

# The first endpoint on host 3 (it makes the network there) and its round trips.
on_host 3 netctl sandbox create probe >/dev/null
first3=$(requests 3 netctl network connect ov probe)
on_host 1 netctl sandbox create warm >/dev/null
on_host 1 netctl network connect ov warm >/dev/null

attach=() bridge=() reqs=() answered=0 ping=()
ref=$(addr_of 1 warm)
for i in $(seq "$N"); do
  on_host 1 netctl sandbox create "s$i" >/dev/null
  t0=$EPOCHREALTIME
  r=$(requests 1 netctl network connect ov "s$i")
  t1=$EPOCHREALTIME
  attach+=($(((10#${t1//[.,]/} - 10#${t0//[.,]/}) * 1000)))
  reqs+=("$r")
  # Reachable when the command returns: the first ping from host 3 must be answered.
  on_host 3 ip netns exec probe busybox ping -c 1 -W 1 "$(addr_of 1 "s$i")" >/dev/null 2>&1 &&
    answered=$((answered + 1))
  bench_time ping on_host 3 ip netns exec probe busybox ping -c 1 -W 1 "$ref"
  on_host 1 netctl sandbox create "b$i" >/dev/null
  bench_time bridge on_host 1 netctl network connect br "b$i"
done
read -r am a90 an <<<"$(bench_stats 1 "${attach[@]}")"
read -r bm b90 _ <<<"$(bench_stats 1 "${bridge[@]}")"
read -r pm _ _ <<<"$(bench_stats 1 "${ping[@]}")"
echo "overlay attach on h1 (ms): median $am p90 $a90 (n=$an)"
echo "a ping from h3 right after the attach returned answered: $answered of $N (one ping: $pm ms)"
echo "bridge attach on h1 (ms): median $bm p90 $b90"
awk -v o="$am" -v b="$bm" 'BEGIN {printf "overlay / bridge attach: %.2fx\n", o / b}'
echo "etcd requests per attach: first on a host $first3, later $(printf '%s\n' "${reqs[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') (median)"

# Per-peer programming: host 2's first attach makes the network there and programs every remote
# endpoint (one list, then the FDB and neighbour entries in one batch each); disconnecting the last
# endpoint removes the network again. ROUNDS of each with the N+2 endpoints there are now, then
# with P more on host 1.
first_attach() {
  local -n _fa=$1
  for _ in $(seq "${ROUNDS:-5}"); do
    bench_time _fa on_host 2 netctl network connect ov q0
    on_host 2 netctl network disconnect ov q0
  done
}
on_host 2 netctl sandbox create q0 >/dev/null
few=() many=()
first_attach few
for i in $(seq "$P"); do
  on_host 1 netctl sandbox create "p$i" >/dev/null
  on_host 1 netctl network connect ov "p$i" >/dev/null
done
first_attach many
read -r fm _ _ <<<"$(bench_stats 1 "${few[@]}")"
read -r mm _ _ <<<"$(bench_stats 1 "${many[@]}")"
awk -v f="$fm" -v m="$mm" -v p="$P" -v b="$((N + 2))" 'BEGIN {
  printf "first attach on h2 (median): %.2f ms with %d remote endpoints, %.2f ms with %d: %.1f us per peer\n",
    f, b, m, b + p, (m - f) * 1000 / p }'
