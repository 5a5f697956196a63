#!/usr/bin/env bash
# Installs what is needed, builds, and runs the demo inside a throwaway network namespace, so the
# machine's own network is never touched. Run as root.
# The demo: two networks, two sandboxes, a web server (busybox httpd) in one sandbox published on
# host port 8080, reached from the host (its address and 127.0.0.1) and from the other sandbox;
# then everything removed. (`netctl run` with a busybox rootfs comes with the launcher.)
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
www=$(mktemp -d /tmp/netctl-www.XXXXXX)
echo "hello from a netctl sandbox" >"$www/index.html"
httpd_pid=
cleanup() { [ -n "$httpd_pid" ] && kill "$httpd_pid" 2>/dev/null; rm -rf "$NETCTL_ROOT" "$www"; }
trap cleanup EXIT
n() { echo "+ netctl $*"; build/netctl "$@"; }
n network create --subnet 10.88.0.0/24 demo1
n network create demo2
n network ls
n sandbox create web
n sandbox create client
n network connect -p 8080:80 demo1 web
n network connect demo1 client
ip netns exec web busybox httpd -f -p 80 -h "$www" & httpd_pid=$!
sleep 0.3
echo "+ curl http://127.0.0.1:8080/            (host, localhost)"; curl -s http://127.0.0.1:8080/
echo "+ curl http://198.51.100.1:8080/ from the LAN host"; ip netns exec lan curl -s http://198.51.100.1:8080/
echo "+ wget http://10.88.0.2/ from the client sandbox"; ip netns exec client busybox wget -qO- http://10.88.0.2/
n network inspect demo1 | head -40
echo "+ iptables-legacy -t nat -S | grep NETCTL"; iptables-legacy -t nat -S | grep NETCTL
kill "$httpd_pid"; wait "$httpd_pid" 2>/dev/null || true; httpd_pid=
n sandbox rm --force web client
n network rm demo1 demo2
echo "+ ip -br link show type bridge   (nothing left)"; ip -br link show type bridge
echo "demo: ok"
