#!/usr/bin/env bash
# Benchmark: what one attach costs in memory and instructions. Peak RSS (/usr/bin/time %M) of
# `netctl network connect -p`, of netctl-cni ADD, of each CNI reference plugin (bridge,
# host-local, portmap) and of netavark setup on the same workload; and instruction counts
# (valgrind --tool=callgrind, stable from run to run where wall times are not) of netctl's
# connect without and with a published port, its disconnect, and netctl-cni ADD.
# Usage (root): sudo tests/bench/footprint.sh     Env: NETCTL (build/netctl), CNITOOL, NETAVARK.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/../../netns-fixtures/lib.sh
source "$repo/netns-fixtures/lib.sh"
NETCTL=$(realpath "${NETCTL:-$repo/build/netctl}")
export NETCTL NETCTL_CNI=${NETCTL_CNI:-$(dirname "$NETCTL")/netctl-cni}
export CNITOOL=${CNITOOL:-/var/tmp/netctl-bench/cnitool} NETAVARK=${NETAVARK:-/usr/lib/podman/netavark}
if [ -z "${NETCTL_THROWAWAY:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 2; }
  [ -x "$NETCTL" ] || { echo "no netctl at $NETCTL" >&2; exit 2; }
  bench_apt_install valgrind time containernetworking-plugins netavark iptables ||
    bench_log "some peers could not be installed; their cells stay empty"
  ensure_cnitool "$CNITOOL" || bench_log "no cnitool: CNI cells stay empty"
  bench_rerun_in_throwaway "$0" "$@"
fi

throwaway_host "$0" "$@"
bench_private_work foot
mkdir -p "$work/bin" "$work/conf" "$work/nv"
rss_log=$work/rss.log
# A plugin directory of wrappers: each records its plugin's peak RSS, then answers as it would.
wrap() {  # NAME REAL
  printf '#!/bin/sh\nexec /usr/bin/time -a -o %s -f "%s %%M" %s "$@"\n' "$rss_log" "$1" "$2" >"$work/bin/$1"
  chmod +x "$work/bin/$1"
}
for p in bridge host-local portmap; do [ -x "/usr/lib/cni/$p" ] && wrap "$p" "/usr/lib/cni/$p"; done
[ -x "$NETCTL_CNI" ] && wrap netctl-cni "$NETCTL_CNI"
export CNI_PATH=$work/bin NETCONFPATH=$work/conf
peak() { awk -v n="$1" '$1 == n && $2 + 0 > m { m = $2 + 0 } END { print m + 0 }' "$rss_log"; }
rss() {  # CMD...: peak RSS in KiB of one run of CMD
  /usr/bin/time -o "$work/one" -f "%M" "$@" >/dev/null 2>&1 || { echo 0; return; }
  cat "$work/one"
}
instr() {  # CMD...: instructions executed by CMD and every thread it starts
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    awk '/Collected :/ { print $NF }'
}
bench_machine
for i in 1 2 3 4 5 6; do ip netns add "s$i"; done
"$NETCTL" network create --subnet 10.80.0.0/16 fp >/dev/null
"$NETCTL" network connect fp /run/netns/s6 >/dev/null  # a resident: nobody creates the bridge in a timed op
declare -A R I
R[nc]=$(rss "$NETCTL" network connect -p 20001:80 fp /run/netns/s1)
I[connect]=$(instr "$NETCTL" network connect fp /run/netns/s2)
I[connect_p]=$(instr "$NETCTL" network connect -p 20003:80 fp /run/netns/s3)
I[disconnect]=$(instr "$NETCTL" network disconnect fp /run/netns/s3)

if [ -x "$CNITOOL" ] && [ -x "$NETCTL_CNI" ]; then
  echo '{"cniVersion":"1.0.0","name":"fp","plugins":[{"type":"netctl-cni","network":"fp","capabilities":{"portMappings":true}}]}' >"$work/conf/fp.conflist"
  port='{"portMappings":[{"hostPort":20004,"containerPort":80,"protocol":"tcp"}]}'
  CAP_ARGS=$port "$CNITOOL" add fp /run/netns/s4 c4 >/dev/null
  R[ncni]=$(peak netctl-cni)
  CAP_ARGS=$port "$CNITOOL" del fp /run/netns/s4 c4 >/dev/null
  cat >"$work/plain.json" <<JSON
{"cniVersion":"1.0.0","name":"fp","type":"netctl-cni","network":"fp","runtimeConfig":$port}
JSON
  I[cni_add]=$(CNI_COMMAND=ADD CNI_CONTAINERID=c5 CNI_NETNS=/run/netns/s5 CNI_IFNAME=eth0 \
    CNI_PATH=$work/bin instr "$NETCTL_CNI" <"$work/plain.json")
fi
if [ -x "$CNITOOL" ] && [ -x "$work/bin/bridge" ]; then
  cat >"$work/conf/ref.conflist" <<JSON
{"cniVersion":"1.0.0","name":"ref","plugins":[
 {"type":"bridge","bridge":"cnibr0","isGateway":true,"isDefaultGateway":true,"ipMasq":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.81.0.0/16"}]],"dataDir":"$work/ipam"}},
 {"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}
JSON
  : >"$rss_log"  # the chain's plugins only
  port='{"portMappings":[{"hostPort":20005,"containerPort":80,"protocol":"tcp"}]}'
  ip netns add r1
  CAP_ARGS=$port "$CNITOOL" add ref /run/netns/r1 r1 >/dev/null
  for p in bridge host-local portmap; do R[$p]=$(peak "$p"); done
  CAP_ARGS=$port "$CNITOOL" del ref /run/netns/r1 r1 >/dev/null
fi
if [ -x "$NETAVARK" ]; then
  ip netns add v1
  cat >"$work/nv.json" <<JSON
{"container_id":"v1","container_name":"v1","port_mappings":[{"host_ip":"","container_port":80,"host_port":20006,"range":1,"protocol":"tcp"}],
 "networks":{"nv":{"interface_name":"eth0","static_ips":["10.82.0.2"]}},
 "network_info":{"nv":{"name":"nv","id":"$(printf '%064d' 8)","driver":"bridge","network_interface":"nvbr0",
   "subnets":[{"subnet":"10.82.0.0/16","gateway":"10.82.0.1"}],"ipv6_enabled":false,"internal":false,"dns_enabled":false}}}
JSON
  R[nv]=$(NETAVARK_FW=iptables rss "$NETAVARK" --config "$work/nv" setup /run/netns/v1 <"$work/nv.json")
  NETAVARK_FW=iptables "$NETAVARK" --config "$work/nv" teardown /run/netns/v1 <"$work/nv.json" >/dev/null 2>&1 || true
fi
kb() { [ -n "${1:-}" ] && [ "$1" != 0 ] && echo "$1 - 1" || echo ""; }
refmax=""
for p in bridge host-local portmap; do
  v=${R[$p]:-0}; [ "$v" -gt "${refmax:-0}" ] && refmax=$v
done
echo
echo "peak RSS, KiB (one attach with one published port):"
echo "  netctl network connect -p: ${R[nc]:-?}; netctl-cni ADD: ${R[ncni]:-?}"
echo "  cni-ref: bridge ${R[bridge]:-?}, host-local ${R[host-local]:-?}, portmap ${R[portmap]:-?}; netavark setup: ${R[nv]:-?}"
echo "instructions (callgrind): connect ${I[connect]:-?}, connect -p ${I[connect_p]:-?}," \
  "disconnect ${I[disconnect]:-?}, netctl-cni ADD -p ${I[cni_add]:-?}"
bench_emit "peak RSS of one attach with a port (netctl connect -p)" "$(kb "${R[nc]:-}")" \
  "cni-ref (largest plugin of the chain)" "$(kb "$refmax")" KiB
bench_emit "peak RSS of one attach with a port (netctl connect -p)" "$(kb "${R[nc]:-}")" \
  "netavark setup" "$(kb "${R[nv]:-}")" KiB
bench_emit "peak RSS of a CNI ADD with a port (netctl-cni)" "$(kb "${R[ncni]:-}")" \
  "cni-ref (largest plugin of the chain)" "$(kb "$refmax")" KiB
for k in connect connect_p disconnect cni_add; do
  [ -n "${I[$k]:-}" ] || continue
  case $k in
    connect) what="netctl network connect" ;; connect_p) what="netctl network connect -p (publish path)" ;;
    disconnect) what="netctl network disconnect (with a port)" ;; cni_add) what="netctl-cni ADD with a port" ;;
  esac
  bench_emit "instructions: $what" "${I[$k]} - 1" "" "" instructions
done
