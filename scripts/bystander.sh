#!/usr/bin/env bash
# A bystander for the test run (issue 23, hermetic tests): another netctl state root on this machine,
# in a throwaway host of its own, running a container with a published port under the DEFAULT
# cgroup parent ("netctl"), as a production root would. The suites must pass beside it and leave it
# as it was.
#   scripts/bystander.sh start   # starts it in the background; returns once its port answers
#   scripts/bystander.sh check   # fails unless it is untouched; then stops it and removes it all
# Needs root and build/netctl. State: /run/netctl-bystander.pid (the throwaway host's process) and
# .pid.root (its state root).
set -euo pipefail
SELF=$(realpath "$0")
cd "$(dirname "$SELF")/.."
NETCTL=$PWD/build/netctl FIXTURES=$PWD/netns-fixtures
PIDFILE=/run/netctl-bystander.pid
export NETCTL FIXTURES

# Inside the throwaway host: set up, report ready on fd 3, then wait until told to go.
serve() {
  source "$FIXTURES/lib.sh"; throwaway_host "$SELF" serve
  unset NETCTL_CGROUP_PARENT
  echo "$NETCTL_ROOT" >"$PIDFILE.root"
  add_neighbour nb 198.51.100.2/24 198.51.100.1/24
  rootfs=$NETCTL_ROOT/rootfs; "$FIXTURES/rootfs.sh" "$rootfs" >/dev/null
  stop() {
    "$NETCTL" rm -f by1 >/dev/null 2>&1 || true
    "$NETCTL" network rm bynet >/dev/null 2>&1 || true
    rm -rf "$NETCTL_ROOT"
    exit 0
  }
  trap stop TERM
  "$NETCTL" network create --subnet 10.97.0.0/24 bynet >/dev/null
  "$NETCTL" run -d --name by1 --network bynet -p 7777:80 --rootfs "$rootfs" -- \
    /bin/nc -ll -p 80 -e /bin/echo bystander >/dev/null
  echo $$ >"$PIDFILE"  # the throwaway host's process: nsenter's target
  while :; do sleep 1 & wait $! || true; done
}

# Runs CMD inside the bystander's throwaway host.
inside() { nsenter -t "$(cat "$PIDFILE")" -n -m -- "$@"; }
ask() { inside ip netns exec nb busybox nc -w 2 198.51.100.1 7777 </dev/null 2>/dev/null || true; }

case ${1:-} in
  serve) serve ;;
  start)
    [ ! -e "$PIDFILE" ] || { echo "bystander: already running ($PIDFILE)" >&2; exit 1; }
    setsid bash "$SELF" serve </dev/null >/dev/null 2>&1 &
    for _ in $(seq 150); do [ -e "$PIDFILE" ] && [ "$(ask)" = bystander ] && break; sleep 0.2; done
    [ "$(ask)" = bystander ] || { echo "bystander: its port does not answer" >&2; exit 1; }
    echo "bystander: a netctl root with a running container (cgroup parent netctl) beside the tests"
    ;;
  check)
    pid=$(cat "$PIDFILE")
    root=$(cat "$PIDFILE.root")
    rc=0
    [ "$(ask)" = bystander ] || { echo "bystander: its published port stopped answering" >&2; rc=1; }
    st=$(inside env NETCTL_ROOT="$root" "$NETCTL" inspect by1 | python3 -c \
      'import json,sys; print(json.load(sys.stdin)[0]["State"]["Status"])') || st=gone
    [ "$st" = running ] || { echo "bystander: its container is $st" >&2; rc=1; }
    out=$(inside env NETCTL_ROOT="$root" "$NETCTL" doctor 2>&1) ||
      { echo "bystander: doctor: $out" >&2; rc=1; }
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$PIDFILE" "$PIDFILE.root"
    for d in /sys/fs/cgroup/{memory,cpu,pids,devices,unified,}/netctl; do
      rmdir "$d" 2>/dev/null || true  # only when empty: made for the bystander
    done
    [ "$rc" = 0 ] && echo "bystander: untouched by the test run"
    exit "$rc"
    ;;
  *) echo "usage: scripts/bystander.sh start|check" >&2; exit 2 ;;
esac
