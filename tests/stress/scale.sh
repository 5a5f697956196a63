#!/usr/bin/env bash
# Scale (issue 7.6): N endpoints (default 1000; a Linux bridge takes at most 1024 ports) on one
# bridge, each in its own sandbox with its own published port; sampled ports answer a LAN
# neighbour; doctor is clean at full size; everything is removed in one command and nothing is
# left. Prints wall time per phase and the peak RSS of any single netctl process (GNU time).
# Usage: NETCTL=build/netctl FIXTURES=netns-fixtures tests/stress/scale.sh [N] [SAMPLES]
# env: NETCTL_FIREWALL_BACKEND=nftables (default) | iptables
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
[ -n "${STRESS_TRACE:-}" ] && set -x
N=${1:-1000}
SAMPLES=${2:-10}
[ "$N" -le 1000 ] || fail "N=$N: a bridge holds at most 1024 ports"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
KEEP_NETNS=nb
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
rss=$NETCTL_ROOT/rss
measured() { /usr/bin/time -f %M -a -o "$rss" "$NETCTL" "$@"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
peak() { sort -n "$rss" | tail -n 1; }

measured network create --subnet 10.92.0.0/21 big >/dev/null
t=$(date +%s%N)
for i in $(seq 1 "$N"); do measured sandbox create "s$i" >/dev/null; done
t_sb=$(ms "$t"); rss_sb=$(peak)
log "$N sandboxes created in $t_sb ms"
: >"$rss"
t=$(date +%s%N); t100=$t
for i in $(seq 1 "$N"); do
  measured network connect -p "$((20000 + i)):80" big "s$i" >/dev/null
  if [ $((i % 100)) = 0 ]; then log "  $i connected (last 100: $(ms "$t100") ms)"; t100=$(date +%s%N); fi
done
t_conn=$(ms "$t"); rss_conn=$(peak)
log "$N endpoints with a published port each in $t_conn ms; peak RSS of one connect $rss_conn KiB"
[ "$(ip -o link show master "$(nc_ network inspect big | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["BridgeName"])')" | wc -l)" = "$N" ] ||
  fail "bridge does not have $N ports"
[ "$(fw_port_count4)" = "$N" ] ||
  fail "$(fw_port_count4) DNAT entries in $NETCTL_FIREWALL_BACKEND, want $N"

t=$(date +%s%N)
sampled=0
for i in $(shuf -i 1-"$N" -n "$SAMPLES"); do
  serve "s$i" 80 "s$i"; pids+=("$SERVED")
  t1=$(date +%s%N)
  got=$(ask nb 198.51.100.1 $((20000 + i)))
  if [ "$got" != "s$i" ]; then
    echo "s$i: first ask failed after $(ms "$t1") ms; neigh: $(ip neigh show "$(ep_ip big "s$i")");" \
      "in s$i: $(ip -n "s$i" neigh show | tr '\n' ';'); arp_cache: $(awk 'NR==2' /proc/net/stat/arp_cache)" >&2
    dmesg 2>/dev/null | tail -n 3 >&2
    echo "s$i: listening: $(ip netns exec "s$i" ss -ltn | grep -c ':80 ')," \
      "$NETCTL_FIREWALL_BACKEND: $(fw_ports $((20000 + i)) | tr '\n' ';')," \
      "direct: $(ask nb 198.51.100.1 $((20000 + i)) ; busybox nc -w 2 "$(ep_ip big "s$i")" 80 </dev/null)" >&2
    fail "port $((20000 + i)) of s$i does not answer"
  fi
  kill "$SERVED"; wait "$SERVED" 2>/dev/null || true; unset "pids[-1]"
  sampled=$((sampled + 1))
done
log "$sampled sampled ports answered the neighbour ($(ms "$t") ms)"
: >"$rss"
t=$(date +%s%N); measured doctor >/dev/null || fail "doctor not clean at $N endpoints"
t_doc=$(ms "$t"); rss_doc=$(peak)
require_invariants "$N endpoints"

: >"$rss"
t=$(date +%s%N)
measured sandbox rm --force $(seq -f 's%g' 1 "$N") >/dev/null
measured network rm big >/dev/null
t_rm=$(ms "$t"); rss_rm=$(peak)
log "all removed in $t_rm ms (one sandbox rm --force of $N, then network rm); peak RSS $rss_rm KiB"
require_invariants "removing everything"
[ -z "$(ip -o link show | awk -F': ' '$2 ~ /^(nv|nc-)/')" ] || fail "links left"
[ "$(db 'select count(*) from ipam_addresses')" = 0 ] || fail "IPAM rows left"
left=$(fw_left)
[ -z "$left" ] || fail "rules left: $left"
[ -z "$(ls /run/netns | grep -v '^nb$' || true)" ] || fail "namespaces left"
cat <<EOT
scale: N=$N endpoints on one bridge, one published port each, $NETCTL_FIREWALL_BACKEND backend
  sandbox create x$N:      $t_sb ms ($((t_sb / N)) ms each), peak RSS $rss_sb KiB
  connect -p x$N:          $t_conn ms ($((t_conn / N)) ms each), peak RSS $rss_conn KiB
  doctor at $N:            $t_doc ms, peak RSS $rss_doc KiB
  remove all (2 commands): $t_rm ms, peak RSS $rss_rm KiB
  sampled ports answering: $sampled/$SAMPLES
EOT
echo ok
