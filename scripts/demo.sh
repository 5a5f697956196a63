#!/usr/bin/env bash
# Installs what is needed, builds, and runs the demo inside a throwaway network + mount namespace,
# so the machine's own network is never touched. Run as root.
# The demo: a network; two containers run from a busybox rootfs, one a web server published on
# host port 8080; the port reached from the host (127.0.0.1 and its address), from a simulated LAN
# host and from the other container; then everything removed, and checked gone.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${NETCTL_DEMO_INNER:-}" ]; then
  scripts/install-deps.sh
  scripts/build.sh release
  exec unshare --net --mount env NETCTL_DEMO_INNER=1 "$0" "$@"
fi
mount --make-rprivate /
mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns
ip link set lo up
source netns-fixtures/lib.sh
add_neighbour lan 198.51.100.2/24 198.51.100.1/24   # a simulated LAN host
export NETCTL_ROOT=$(mktemp -d /tmp/netctl-demo.XXXXXX)
# cgroupfs is the machine's: the demo's containers live under a parent of their own, removed below.
export NETCTL_CGROUP_PARENT=netctl-demo-$$
cleanup() {
  build/netctl rm -f web client >/dev/null 2>&1 || true
  rmdir /sys/fs/cgroup/{memory,cpu,pids,devices,unified}/"$NETCTL_CGROUP_PARENT" 2>/dev/null || true
  rm -rf "$NETCTL_ROOT"
}
trap cleanup EXIT
n() { echo "+ netctl $*"; build/netctl "$@"; }
rootfs=$NETCTL_ROOT/rootfs
echo "+ netns-fixtures/rootfs.sh $rootfs    (busybox-static: sh, httpd, wget, ...)"
netns-fixtures/rootfs.sh "$rootfs"

n network create --subnet 10.88.0.0/24 demo
n run -d --name web --network demo -p 8080:80 --rootfs "$rootfs" --memory 64m -- \
  httpd -f -p 80 -h /var/www
n run -d --name client --network demo --rootfs "$rootfs" -- sleep 600
n ps
web_ip=$(build/netctl inspect web | python3 -c \
  'import json,sys; c=json.load(sys.stdin)[0]; print(c["NetworkSettings"]["Networks"]["demo"]["IPAddress"])' \
  2>/dev/null || echo 10.88.0.2)
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:8080/ && break; sleep 0.05; done
echo "+ curl http://127.0.0.1:8080/              (the host, localhost)"; curl -s http://127.0.0.1:8080/
echo "+ curl http://198.51.100.1:8080/           (the LAN host)"
ip netns exec lan curl -s http://198.51.100.1:8080/
echo "+ netctl exec client -- wget -qO- http://$web_ip/   (container to container)"
build/netctl exec client -- wget -qO- "http://$web_ip/"
echo "+ netctl exec web -- ps                       (PID 1 is httpd; nothing of the host)"
build/netctl exec web -- ps
n network inspect demo | head -30
# The published port in the firewall backend in use (nftables: a map element; iptables: a DNAT rule).
ports() { { iptables-legacy -t nat -S | grep DNAT; nft list ruleset | grep -A2 'map ports4 '; } || true; }
n info | grep 'Firewall backend'
echo "+ iptables-legacy -t nat -S | grep DNAT; nft list ruleset | grep -A2 'map ports4 '"; ports
n stop -t 1 web client
n rm web client
n network rm demo
echo "+ ip -br link; the published ports again   (nothing of the demo left)"
ip -br link
ports
[ -z "$(ip -br link show type veth | grep -v '^nb-lan')" ] || { echo "demo: veths left" >&2; exit 1; }
echo "demo: ok"
