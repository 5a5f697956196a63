# cgroup limits of netctl run: --memory (OOM kill: exit 137, OOMKilled in ps -a and inspect),
# --pids-limit (a fork bomb stays under it), --cpus (CFS quota, and the workload is throttled).
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_run.sh"
R=$ROOTFS
cg() { cgroup_of "/sys/fs/cgroup/$1" "$2"; }

rc=0
nc_ run --name oom --memory 32m --rootfs "$R" -- /bin/sh -c \
  'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived' || rc=$?
[ "$rc" = 137 ] || fail "over --memory: exit $rc, want 137"
[ "$(inspect 'c["State"]["OOMKilled"]' oom)" = True ] || fail "inspect OOMKilled"
[ "$(inspect 'c["State"]["ExitCode"]' oom)" = 137 ] || fail "inspect ExitCode"
nc_ ps -a | grep -E 'oom .*Exited \(137\) OOMKilled' >/dev/null || fail "ps -a: $(nc_ ps -a)"
[ "$(cat "$(cg memory oom)/memory.limit_in_bytes")" = $((32 << 20)) ] || fail "memory.limit_in_bytes"
# Under the limit nothing is killed.
[ "$(nc_ run --name small --memory 64m --rootfs "$R" -- /bin/sh -c 'x=$(head -c 1000000 /dev/zero | tr "\0" a); echo fine')" = fine ] ||
  fail "small allocation under --memory"

# Fork bomb (busybox sh gives up where a fork fails, so PID 1 starts it and then execs sleep):
# the tasks reach the limit and never pass it, forks are refused, none outlives PID 1.
nc_ run --name bomb --pids-limit 20 --rootfs "$R" -- /bin/sh -c \
  'bomb() { bomb | bomb & }; bomb 2>/dev/null; exec sleep 2'
[ "$(cat "$(cg pids bomb)/pids.max")" = 20 ] || fail "pids.max"
grep -E '^max [1-9]' "$(cg pids bomb)/pids.events" >/dev/null || fail "no fork was refused"
[ "$(cat "$(cg pids bomb)/pids.peak")" = 20 ] || fail "pids.peak $(cat "$(cg pids bomb)/pids.peak"), want 20"
[ -z "$(cat "$(cg pids bomb)/cgroup.procs")" ] || fail "bomb tasks outlived PID 1"
bomb_cg=$(cg pids bomb)
nc_ rm bomb
[ ! -e "$bomb_cg" ] || fail "bomb cgroup left after rm"

# --cpus 0.2: quota 20 ms per 100 ms, and a busy loop is throttled.
# (PID 1 ignores TERM without a handler, so the timed loop runs in a child of sh.)
nc_ run --name busy --cpus 0.2 --rootfs "$R" -- /bin/sh -c 'timeout 1 sh -c "while :; do :; done"; true'

[ "$(cat "$(cg cpu busy)/cpu.cfs_quota_us")" = 20000 ] || fail "cfs_quota_us"
[ "$(cat "$(cg cpu busy)/cpu.cfs_period_us")" = 100000 ] || fail "cfs_period_us"
grep -E '^nr_throttled [1-9]' "$(cg cpu busy)/cpu.stat" >/dev/null || fail "not throttled: $(cat "$(cg cpu busy)/cpu.stat")"

# rm removes the cgroups.
nc_ rm oom busy small
[ -z "$(cgroup_dirs)" ] || fail "cgroups left after rm: $(cgroup_dirs)"
echo ok
