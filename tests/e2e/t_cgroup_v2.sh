# netctl run on cgroup v2, against a real cgroup2 mount: a fresh mount over /sys/fs/cgroup in the
# test's own mount namespace, so netctl sees a unified hierarchy whatever the host mounts there.
# The limits land in memory.max, memory.swap.max, cpu.max and pids.max of the container's
# directory under its parent, an allocation over --memory is OOM-killed (exit 137, OOMKilled), a
# fork bomb stops at --pids-limit, and rm removes the directory. Where the kernel cannot give a
# cgroup2 mount the memory, cpu and pids controllers (they are bound to v1 hierarchies, as on this
# project's CI machine), the unified hierarchy still holds processes: placement, exec's view, kill
# and removal are checked there, and the limits are said to be unchecked.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
probe=$(mktemp -d)
mount -t cgroup2 cgroup2 "$probe" || fail "cannot mount cgroup2 in the test's mount namespace"
ctrls=$(cat "$probe/cgroup.controllers"); umount "$probe"; rmdir "$probe"
limits=1
for c in memory cpu pids; do grep -w "$c" <<<"$ctrls" >/dev/null || limits=0; done
mount -t cgroup2 cgroup2 /sys/fs/cgroup  # private to this mount namespace
source "$(dirname "$0")/lib_run.sh"
P=$NETCTL_CGROUP_PARENT
cleanup_v2() {  # the unified tree first (cgroup.kill), then cleanup_run for what is left
  for d in /sys/fs/cgroup/"$P"/*/; do
    [ -e "$d/cgroup.kill" ] && echo 1 >"$d/cgroup.kill" 2>/dev/null || true
  done
  sleep 0.2
  rmdir /sys/fs/cgroup/"$P"/*/ /sys/fs/cgroup/"$P" 2>/dev/null || true
  cleanup_run
}
trap cleanup_v2 EXIT
cg() { cgroup_of /sys/fs/cgroup "$1"; }

# Without controllers: placement, exec's cgroup view, stop through the cgroup, removal.
if [ "$limits" = 0 ]; then
  nc_ run -d --name plain --rootfs "$ROOTFS" -- sleep 600 >/dev/null
  d=$(cg plain)
  [ "$(stat -f -c %T "$d")" = cgroup2fs ] || fail "$d is not on cgroup2"
  pid=$(inspect 'c["State"]["Pid"]' plain)
  grep -x "$pid" "$d/cgroup.procs" >/dev/null || fail "workload $pid is not in $d"
  seen=$(nc_ exec plain -- cat /proc/self/cgroup)
  # Its own cgroup namespace: the unified entry and every v1 one read "/".
  grep -x '0::/' <<<"$seen" >/dev/null && ! grep -v ':/$' <<<"$seen" >/dev/null ||
    fail "exec sees its cgroups as: $seen"
  nc_ stop -t 1 plain >/dev/null
  [ -z "$(cat "$d/cgroup.procs" 2>/dev/null)" ] || fail "stop left tasks in $d"
  nc_ rm plain >/dev/null
  [ ! -e "$d" ] || fail "rm left $d"
  echo "ok: cgroup v2 placement, exec, stop, rm; limits unchecked: this kernel's cgroup2 has" \
    "${ctrls:-no controllers} (v1 holds memory, cpu, pids)"
  exit 0
fi
nc_ run -d --name lim --memory 64m --cpus 0.5 --pids-limit 30 --rootfs "$ROOTFS" -- sleep 600 >/dev/null
d=$(cg lim)
[ "$(stat -f -c %T "$d")" = cgroup2fs ] || fail "$d is not on cgroup2"
[ "$(cat "$d/memory.max")" = $((64 << 20)) ] || fail "memory.max $(cat "$d/memory.max")"
[ "$(cat "$d/memory.swap.max")" = 0 ] || fail "memory.swap.max $(cat "$d/memory.swap.max")"
[ "$(cat "$d/cpu.max")" = "50000 100000" ] || fail "cpu.max $(cat "$d/cpu.max")"
[ "$(cat "$d/pids.max")" = 30 ] || fail "pids.max $(cat "$d/pids.max")"
pid=$(inspect 'c["State"]["Pid"]' lim)
grep -x "$pid" "$d/cgroup.procs" >/dev/null || fail "workload $pid is not in $d"
[ "$(nc_ exec lim -- cat /proc/self/cgroup)" = "0::/" ] || fail "exec does not see its cgroup as /"
nc_ rm -f lim >/dev/null
[ ! -e "$d" ] || fail "rm left $d"

rc=0
nc_ run --name oom --memory 32m --rootfs "$ROOTFS" -- /bin/sh -c \
  'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived' >/dev/null || rc=$?
[ "$rc" = 137 ] || fail "over --memory: exit $rc, want 137"
[ "$(inspect 'c["State"]["OOMKilled"]' oom)" = True ] || fail "inspect OOMKilled"
grep -E '^oom_kill [1-9]' "$(cg oom)/memory.events" >/dev/null || fail "memory.events: no oom_kill"

nc_ run --name bomb --pids-limit 20 --rootfs "$ROOTFS" -- /bin/sh -c \
  'bomb() { bomb | bomb & }; bomb 2>/dev/null; exec sleep 2'
grep -E '^max [1-9]' "$(cg bomb)/pids.events" >/dev/null || fail "no fork was refused"
[ -z "$(cat "$(cg bomb)/cgroup.procs")" ] || fail "bomb tasks outlived PID 1"
nc_ rm oom bomb >/dev/null
[ -z "$(ls -d /sys/fs/cgroup/"$P"/*/ 2>/dev/null)" ] || fail "rm left cgroups: $(ls /sys/fs/cgroup/"$P")"
echo ok
