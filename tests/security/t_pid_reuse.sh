# A pid that another process took never attaches that process's namespace: not for `pid:N@START`
# (the start time the record's key holds), not for a container whose workload died while its
# record still says running; and `disconnect pid:N` of the new process leaves the old one's
# endpoint alone. Runs in a private pid namespace, where /proc/sys/kernel/ns_last_pid picks pids.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/../e2e/lib_run.sh"

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
nc_ network create --subnet 10.89.0.0/24 n2 >/dev/null

scenario() {
  set -euo pipefail
  # own_netns PID: waits until PID runs in a namespace other than ours (after its unshare -n).
  own_netns() {
    for _ in $(seq 100); do
      [ "$(readlink /proc/$1/ns/net)" != "$(readlink /proc/self/ns/net)" ] && return 0; sleep 0.02
    done
    fail "$1 has no namespace of its own"
  }
  start_of() { sed 's/.*) //' /proc/$1/stat | cut -d' ' -f20; }
  # take_pid N: starts `unshare -n sleep` as pid N (free now), in a namespace of its own.
  take_pid() {
    echo $(($1 - 1)) >/proc/sys/kernel/ns_last_pid
    unshare -n sleep 600 &
    [ "$!" = "$1" ] || fail "pid $1 not reused (got $!)"
    own_netns "$1"
  }
  links_in() { nsenter -t "$1" -n ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' '; }

  # pid:N: the endpoint's key holds the start time.
  unshare -n sleep 600 &
  p=$!
  own_netns "$p"
  s=$(start_of "$p")
  nc_ network connect n1 "pid:$p"
  # Its namespace outlives it (bound, as a pod's is), with the endpoint in it.
  touch /run/netns/old && mount --bind "/proc/$p/ns/net" /run/netns/old
  kill "$p"; wait "$p" 2>/dev/null || true
  take_pid "$p"
  [ "$(start_of "$p")" != "$s" ] || fail "same start time"
  expect_rc 3 nc_ network connect n1 "pid:$p@$s"
  [ "$(links_in "$p")" = "lo " ] || fail "the new pid $p got an interface: $(links_in "$p")"
  # The new process, connected by pid too, is another record: disconnecting it keeps the old one.
  nc_ network connect n1 "pid:$p"
  nc_ network disconnect n1 "pid:$p"
  [ "$(links_in "$p")" = "lo " ] || fail "disconnect left $(links_in "$p") in the new pid $p"
  ip -n old link show eth0 >/dev/null || fail "disconnect pid:$p removed the old process's endpoint"
  nc_ network disconnect n1 "pid:$p@$s"
  ip -n old link show eth0 >/dev/null 2>&1 && fail "pid:$p@$s not disconnected"
  kill "$p"; wait "$p" 2>/dev/null || true
  umount /run/netns/old && rm /run/netns/old

  # A container whose workload died and whose pid another process has, before its supervisor
  # could record the exit: the store's lock is held meanwhile, and the supervisor (now `netctl
  # container-exited`, waiting for that lock) stopped.
  nc_ run -d --name c1 --network n2 --rootfs "$ROOTFS" -- /bin/sh -c 'while :; do sleep 1; done' \
    >/dev/null
  local sup w
  sup=$(inspect 'c["State"]["SupervisorPid"]' c1)
  w=$(inspect 'c["State"]["Pid"]' c1)
  flock -o "$NETCTL_ROOT/lock" sleep 600 &
  local locker=$!
  for _ in $(seq 100); do [ -s "/proc/$locker/task/$locker/children" ] && break; sleep 0.02; done
  kill -9 "$w"
  # Stopped once it waits for the lock (/proc/locks: "N: -> FLOCK ADVISORY WRITE PID ..."), so it
  # holds nothing of SQLite's.
  local waits=no
  for _ in $(seq 200); do
    grep -E "^[0-9]+: -> FLOCK +ADVISORY +WRITE +$sup " /proc/locks >/dev/null && waits=yes && break
    sleep 0.02
  done
  kill -STOP "$sup"
  [ "$waits" = yes ] || fail "the supervisor does not wait for the lock: $(cat /proc/locks)"
  grep -a container-exited "/proc/$sup/cmdline" >/dev/null || fail "the supervisor did not report"
  take_pid "$w"
  kill "$(cat "/proc/$locker/task/$locker/children")"; wait "$locker" 2>/dev/null || true
  [ "$(inspect 'c["State"]["Status"]' c1)" = running ] || fail "c1's exit is already recorded"
  err=$(nc_ network connect n1 c1 2>&1) && fail "connect n1 c1 succeeded"
  grep "not running" <<<"$err" >/dev/null || fail "connect n1 c1: $err"
  [ "$(links_in "$w")" = "lo " ] || fail "pid $w (not c1's) got an interface: $(links_in "$w")"
  kill -CONT "$sup"
  for _ in $(seq 100); do [ "$(inspect 'c["State"]["Status"]' c1)" = exited ] && break; sleep 0.05; done
  [ "$(inspect 'c["State"]["Status"]' c1)" = exited ] || fail "c1 not finished"
  nc_ rm c1
  kill "$w"; wait "$w" 2>/dev/null || true
  [ -z "$(ip -o link show type veth)" ] || fail "veths left: $(ip -o link show type veth)"
  echo ok
}
export -f scenario fail nc_ expect_rc inspect
export NETCTL NETCTL_ROOT ROOTFS NETCTL_CGROUP_PARENT
unshare --pid --fork --mount-proc bash -c scenario
