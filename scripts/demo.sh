#!/usr/bin/env bash
# Installs what is needed, builds, and runs the demo inside a throwaway network namespace, so the
# machine's own network is never touched. Run as root.
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
export NETCTL_ROOT=$(mktemp -d /tmp/netctl-demo.XXXXXX)
trap 'rm -rf "$NETCTL_ROOT"' EXIT
n() { echo "+ netctl $*"; build/netctl "$@"; }
n network create --subnet 10.88.0.0/24 demo1
n network create demo2
n network ls
echo "+ ip -br addr show type bridge"; ip -br addr show type bridge
n network inspect demo1
n network rm demo1 demo2
echo "+ ip -br link show type bridge   (nothing left)"; ip -br link show type bridge
n network ls
echo "demo: ok"
