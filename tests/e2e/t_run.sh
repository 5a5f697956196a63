# netctl run in the foreground: PID 1 and its own process list, hostname and /etc/hosts, the
# overlay root (base unchanged), pivot_root, read-only /proc/sys and /sys, capabilities,
# no_new_privs, the cgroup namespace, exit codes, and invalid input that changes nothing.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_run.sh"
R=$ROOTFS
before=$(tree_hash "$R")

out=$(nc_ run --rootfs "$R" --hostname web1 -- /bin/sh -c \
  'echo pid=$$; ps -o pid= | sort -n | tr "\n" " "; echo; hostname; grep web1 /etc/hosts; ip -4 -o addr show eth0;
   ip link show lo | grep -c UP; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status;
   echo cgroups-not-root=$(grep -vc ":/$" /proc/self/cgroup); ls /dev | tr "\n" " "; echo;
   (echo x > /proc/sys/net/ipv4/ip_forward) 2>/dev/null && echo procsys-writable;
   touch /sys/x 2>/dev/null && echo sys-writable;
   ls /work /tmp/netctl-test.* 2>/dev/null | head -1;
   echo changed > /var/www/index.html; mkdir /newdir; rm /bin/vi; echo done')
echo "$out"
grep '^pid=1$' <<<"$out" >/dev/null || fail "workload is not PID 1"
# sh, ps, sort and tr: nothing of the host's, numbered from 1.
[ "$(sed -n 2p <<<"$out" | wc -w)" -le 4 ] && [ "$(sed -n 2p <<<"$out" | awk '{print $NF}')" -le 10 ] ||
  fail "process list inside is not its own: $(sed -n 2p <<<"$out")"
[ "$(sed -n 3p <<<"$out")" = web1 ] || fail "hostname"
grep -E '^172\.[0-9.]+\s+web1$' <<<"$out" >/dev/null || fail "/etc/hosts has no own name and IP"
grep 'inet 172\.' <<<"$out" >/dev/null || fail "no address on eth0 before exec"
grep -E 'CapEff:\s+00000000a80425fb' <<<"$out" >/dev/null || fail "capabilities are not Docker's set"
grep -E 'CapBnd:\s+00000000a80425fb' <<<"$out" >/dev/null || fail "bounding set not dropped"
grep -E 'NoNewPrivs:\s+1' <<<"$out" >/dev/null || fail "no_new_privs not set"
grep '^cgroups-not-root=0$' <<<"$out" >/dev/null || fail "no cgroup namespace rooted at its cgroup"
for d in null zero full random urandom tty pts shm; do
  grep -w "$d" <<<"$out" >/dev/null || fail "/dev/$d missing"
done
grep -E 'writable' <<<"$out" && fail "/proc/sys or /sys is writable"
grep -E '^/work|netctl-test' <<<"$out" && fail "the host root is reachable"
grep '^done$' <<<"$out" >/dev/null || fail "the workload could not write its root"
[ "$before" = "$(tree_hash "$R")" ] || fail "the base rootfs changed"

# Exit codes: the workload's, 128+N for a signal; -e, -w, -u.
expect_code() { local want=$1 rc=0; shift; "$@" >/dev/null 2>&1 || rc=$?; [ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want"; }
expect_code 0 nc_ run --rootfs "$R" -- /bin/true
expect_code 42 nc_ run --rootfs "$R" -- /bin/sh -c 'exit 42'
# PID 1 ignores signals it has no handler for, even SIGKILL from inside; `netctl kill` from the
# host does kill it, and the foreground run exits 128+9.
"$NETCTL" run --name k1 --rootfs "$R" -- /bin/sleep 30 & p=$!
for _ in $(seq 100); do [ "$(inspect 'c["State"]["Status"]' k1 2>/dev/null)" = running ] && break; sleep 0.1; done
nc_ kill k1; rc=0; wait "$p" || rc=$?
[ "$rc" = 137 ] || fail "killed workload: exit $rc, want 137"
[ "$(inspect 'c["State"]["ExitCode"]' k1)" = 137 ] || fail "inspect ExitCode after kill"
expect_code 1 nc_ run --rootfs "$R" -- /no/such/binary
[ "$(nc_ run --rootfs "$R" -e A=b -w /tmp -u 65534:65534 -- /bin/sh -c 'echo $A $(pwd) $(id -u):$(id -g)')" = "b /tmp 65534:65534" ] ||
  fail "--env/--workdir/--user"
# Signals reach the workload: a TERM to netctl ends a workload that traps it with its code.
"$NETCTL" run --name t1 --rootfs "$R" -- /bin/sh -c 'trap "exit 7" TERM; touch /tmp/ready; while :; do sleep 0.1; done' & p=$!
for _ in $(seq 100); do [ -e "$(inspect 'c["Dir"]' t1 2>/dev/null)/upper/tmp/ready" ] && break; sleep 0.1; done
kill -TERM "$p"; rc=0; wait "$p" || rc=$?
[ "$rc" = 7 ] || fail "forwarded TERM: exit $rc, want 7"

# Without --rootfs: the host's /usr read-only, own /etc files.
out=$(nc_ run -- /bin/sh -c 'ls /usr/bin/env; touch /usr/x 2>/dev/null && echo usr-writable; cat /etc/hostname')
grep usr-writable <<<"$out" && fail "/usr is writable without --rootfs"
grep '/usr/bin/env' <<<"$out" >/dev/null || fail "no host /usr without --rootfs"

# Foreground containers are recorded; --rm leaves no record, directory or cgroup.
[ "$(nc_ --format json ps -a | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -ge 6 ] || fail "ps -a"
n=$(ls "$NETCTL_ROOT/containers" | wc -l)
nc_ run --rm --rootfs "$R" -- /bin/true
[ "$(ls "$NETCTL_ROOT/containers" | wc -l)" = "$n" ] || fail "--rm left a directory"

# Invalid input: exit 2 and nothing changed.
nc_ run --name dup --rootfs "$R" -- /bin/true
snap=$(nc_ --format json ps -a; ls "$NETCTL_ROOT/containers"; cgroup_dirs)
expect_rc 2 nc_ run --memory 1x -- /bin/true
expect_rc 2 nc_ run --cpus 0 -- /bin/true
expect_rc 2 nc_ run --rootfs relative/dir -- /bin/true
expect_rc 2 nc_ run --rootfs /no/such/dir -- /bin/true
expect_rc 2 nc_ run --env =x -- /bin/true
expect_rc 2 nc_ run --user root -- /bin/true
expect_rc 2 nc_ run --name 'bad/name' -- /bin/true
expect_rc 2 nc_ run -p 80:0 -- /bin/true
expect_rc 2 nc_ run
expect_rc 3 nc_ run --network nosuchnet -- /bin/true
expect_rc 4 nc_ run --name dup --rootfs "$R" -- /bin/true
diff <(echo "$snap") <(nc_ --format json ps -a; ls "$NETCTL_ROOT/containers"; cgroup_dirs) || fail "bad input changed state"
echo ok
