# netctl run -d: the supervisor (RSS under 2 MB) logs, records the exit and tears the network
# down; logs [-f], exec (namespaces and cgroup), kill -s, stop -t, rm [-f]; a supervisor killed
# with SIGKILL is repaired by gc; 50 containers run and removed leave nothing behind.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_run.sh"
R=$ROOTFS
nc_ network create --subnet 10.91.0.0/24 n1 >/dev/null
state() { # everything a container may leave: cgroups, mounts, veths, port rules, IPs, records, dirs
  cgroup_dirs
  grep -c "$NETCTL_ROOT" /proc/mounts || true
  ip -o link show | grep -oE ' nv[0-9a-f]{12}' || true
  fw_ports
  nc_ --format json info | python3 -c 'import json,sys; print("addrs", json.load(sys.stdin)["AllocatedAddresses"])'
  nc_ --format json ps -a | python3 -c 'import json,sys; print("records", len(json.load(sys.stdin)))'
  ls "$NETCTL_ROOT/containers" 2>/dev/null || true
}
empty=$(state)
# Gone, or a zombie its new parent has not reaped yet (kill -0 succeeds on zombies).
gone() { [ ! -e /proc/$1/stat ] || [ "$(sed 's/.*) //' /proc/$1/stat | cut -c1)" = Z ]; }

nc_ run -d --name d1 --network n1 --rootfs "$R" -- /bin/sh -c \
  'echo out; echo err >&2; trap "echo term; exit 5" TERM; while :; do sleep 0.1; done' >/dev/null
sup=$(inspect 'c["State"]["SupervisorPid"]' d1)
pid=$(inspect 'c["State"]["Pid"]' d1)
[ "$(awk '/^VmRSS/ {print $2}' /proc/"$sup"/status)" -lt 2048 ] || fail "supervisor RSS $(grep VmRSS /proc/$sup/status)"
[ "$(awk '{print $4}' /proc/"$pid"/stat)" = "$sup" ] || fail "the supervisor is not the workload's parent"
for _ in $(seq 50); do [ "$(nc_ logs d1 | wc -l)" = 2 ] && break; sleep 0.1; done
[ "$(nc_ logs d1 | sort | tr '\n' ' ')" = "err out " ] || fail "logs: $(nc_ logs d1)"

# exec joins the pid namespace (sees PID 1), the network, the cgroup; its exit code comes back.
out=$(nc_ exec d1 -- /bin/sh -c 'ps -o pid=,args= | head -1; ip -4 -o addr show eth0 | grep -c 10.91; grep -vc ":/$" /proc/self/cgroup; grep CapEff /proc/self/status')
grep -E '^\s*1 /bin/sh -c echo out' <<<"$out" >/dev/null || fail "exec does not see PID 1: $out"
[ "$(sed -n 2p <<<"$out")" = 1 ] || fail "exec is not in the network namespace: $out"
[ "$(sed -n 3p <<<"$out")" = 0 ] || fail "exec is not in the cgroup namespace: $out"
grep a80425fb <<<"$out" >/dev/null || fail "exec capabilities: $out"
rc=0; nc_ exec d1 -- /bin/sh -c 'exit 9' || rc=$?; [ "$rc" = 9 ] || fail "exec exit code $rc"

# rm of a running container is a conflict; kill -s TERM is caught; stop of an exited one is a no-op.
expect_rc 4 nc_ rm d1
nc_ kill -s TERM d1
for _ in $(seq 50); do [ "$(inspect 'c["State"]["Status"]' d1)" = exited ] && break; sleep 0.1; done
[ "$(inspect 'c["State"]["ExitCode"]' d1)" = 5 ] || fail "exit code after kill -s TERM: $(inspect 'c["State"]' d1)"
nc_ logs -f d1 | grep '^term$' >/dev/null || fail "logs -f did not end with the output"
for _ in $(seq 50); do gone "$sup" && break; sleep 0.1; done
gone "$sup" || fail "supervisor still alive"
nc_ stop d1

# stop -t: TERM ignored (no handler in PID 1), KILL after the timeout.
nc_ run -d --name d2 --network n1 --rootfs "$R" -- /bin/sleep 1000 >/dev/null
start=$(date +%s%N); nc_ stop -t 1 d2; ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -ge 900 ] && [ "$ms" -lt 8000 ] || fail "stop -t 1 took $ms ms"
[ "$(inspect 'c["State"]["ExitCode"]' d2)" = 137 ] || fail "stop exit code"
nc_ rm d1 d2

# The supervisor killed with SIGKILL: the workload runs on until gc tears everything down.
nc_ run -d --name d3 --network n1 -p 8085:80 --rootfs "$R" -- /bin/httpd -f -p 80 -h /var/www >/dev/null
sup=$(inspect 'c["State"]["SupervisorPid"]' d3); pid=$(inspect 'c["State"]["Pid"]' d3)
kill -9 "$sup"
sleep 0.2
[ "$(curl -s -m 2 http://127.0.0.1:8085/)" = hello-from-rootfs ] || fail "workload died with its supervisor"
expect_rc 1 nc_ doctor
out=$(stdout_of 1 nc_ doctor)
grep 'container d3: supervisor gone' <<<"$out" >/dev/null || fail "doctor did not report d3: $out"
nc_ gc | grep 'container d3' >/dev/null || fail "gc did not report d3"
nc_ doctor >/dev/null || fail "doctor reports drift after gc: $(nc_ doctor 2>&1)"
gone "$pid" || fail "workload left running after gc"
[ "$(inspect 'c["State"]["Status"]' d3)" = exited ] || fail "d3 not exited after gc"
nc_ rm d3
[ "$empty" = "$(state)" ] || fail "state after gc: $(diff <(echo "$empty") <(state))"

# kill -9 of netctl run at any moment (foreground and -d): gc, then rm -f of what runs, leaves
# nothing: every object was declared before it was made.
for i in $(seq 12); do
  flag=; [ $((i % 2)) = 0 ] && flag=-d
  "$NETCTL" run $flag --rm --name k$i --network n1 -p $((8100 + i)):80 --rootfs "$R" -- \
    /bin/sleep 1000 >/dev/null 2>&1 &
  p=$!; sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"; kill -9 "$p" 2>/dev/null || true; { wait "$p"; } 2>/dev/null || true
  # At once: a -d supervisor may be writing its exit file into the directory gc removes.
  nc_ gc >/dev/null || fail "gc right after kill -9 of run $i"
done
left=$(nc_ --format json ps -a | python3 -c 'import json,sys; print(" ".join(c["Name"] for c in json.load(sys.stdin)))')
# A -d --rm run killed before it released its workload: the workload exits on the closed pipe and
# its supervisor removes the container, possibly between ps and rm, which then answers "not found"
# (exit 3, as Docker does for a name that is gone). Anything else is a failure.
for n in $left; do
  rc=0; nc_ rm -f "$n" 2>/dev/null || rc=$?
  [ "$rc" = 0 ] || { [ "$rc" = 3 ] && ! nc_ inspect "$n" >/dev/null 2>&1; } || fail "rm -f $n: exit $rc"
done
nc_ gc >/dev/null
diff <(echo "$empty") <(state) || fail "kill -9 of run left state behind"

# 50 containers with a published port each, run and removed: nothing left.
start=$(date +%s%N)
for i in $(seq 50); do
  nc_ run -d --name m$i --network n1 -p $((9000 + i)):80 --rootfs "$R" -- /bin/sleep 1000 >/dev/null
done
echo "50 x run -d: $(( ($(date +%s%N) - start) / 1000000 )) ms"
[ "$(nc_ --format json ps | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 50 ] || fail "50 not running"
nc_ rm -f $(seq -f 'm%g' 50)
diff <(echo "$empty") <(state) || fail "50 containers left state behind"
echo ok
