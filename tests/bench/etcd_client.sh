#!/usr/bin/env bash
# The etcd client's cost (cnm/cluster/etcd.h) against a 3-member cluster on tmpfs
# (netns-fixtures/etcd.sh), in a throwaway host: per run, a cold first create-if-absent (TCP set-up
# included) and the median of N more on the kept-alive connection, with the client's CPU time per
# call; then whole processes doing one `get` each (process start, connection and call).
# Usage (root): tests/bench/etcd_client.sh BUILD_DIR   Env: N (200), RUNS (3), PROCS (20)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROBE=$(realpath "${1:?usage: etcd_client.sh BUILD_DIR}")/etcd_probe
export PROBE
FIXTURES=$repo/netns-fixtures
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"
source "$FIXTURES/etcd.sh"
trap 'etcd_cluster_stop; rm -rf "$NETCTL_ROOT"' EXIT
etcd_cluster_start "$NETCTL_ROOT" 3
leader=$(etcd_leader)
follower=$(( leader % 3 + 1 ))
for _ in $(seq "${RUNS:-3}"); do
  printf 'leader first:   '; "$PROBE" "$(etcd_url "$leader")" bench "${N:-200}"
  printf 'follower first: '; "$PROBE" "$(etcd_url "$follower")" bench "${N:-200}"
done
"$PROBE" "$ETCD_ENDPOINTS" watchlat "${WATCH_N:-100}"
# per_process LABEL OP...: the median wall time of PROCS processes each running one OP.
per_process() {
  local label=$1 times=() t0; shift
  for _ in $(seq "${PROCS:-20}"); do
    t0=$(date +%s%N)
    "$PROBE" "$(etcd_url "$leader")" "$@" >/dev/null 2>&1 || true
    times+=($(( ($(date +%s%N) - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n |
    awk -v l="$label" '{a[NR] = $1} END {printf "%s: median %d us over %d processes\n", l, a[int(NR / 2) + 1], NR}'
}
per_process "process, no call" no-such-op
per_process "process, one get" get /none
