# The default seccomp filter (Docker's default profile), --security-opt seccomp=unconfined|FILE,
# --cap-add and --cap-drop: real system calls from inside containers, run and exec alike.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/../e2e/lib_run.sh"
R=$ROOTFS

# Errno of each call the default profile refuses, from Python's ctypes (the host's /usr, read-only
# in a container without --rootfs). Without the filter each of these gives something else:
# unshare(CLONE_NEWUSER) and keyctl succeed for root, perf_event_open(NULL) is EFAULT.
probe='import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return "ok" if r >= 0 else str(ctypes.get_errno())
calls = {"unshare_user": (272, 0x10000000), "keyctl": (250, 0, -3, 1),
         "add_key": (248, 0, 0, 0, 0, -3), "perf_event_open": (298, 0, 0, -1, -1, 0),
         "bpf": (321, 0, 0, 0), "kexec_load": (246, 0, 0, 0, 0), "init_module": (175, 0, 0, 0),
         "open_by_handle_at": (304, 0, 0, 0)}
print(" ".join("%s=%s" % (k, call(*v)) for k, v in sorted(calls.items())))'
want='add_key=1 bpf=1 init_module=1 kexec_load=1 keyctl=1 open_by_handle_at=1 perf_event_open=1 unshare_user=1'
out=$(nc_ run -- python3 -c "$probe")
[ "$out" = "$want" ] || fail "default filter: got '$out', want '$want' (1 = EPERM)"
# A user namespace then a mount inside it: the usual way to get mount rights without CAP_SYS_ADMIN.
out=$(nc_ run --rootfs "$R" -- /bin/sh -c 'unshare -U -r /bin/mount -t tmpfs x /tmp && echo mounted; grep Seccomp: /proc/self/status')
grep mounted <<<"$out" && fail "a user namespace and a mount inside it worked"
grep -E 'Seccomp:\s+2' <<<"$out" >/dev/null || fail "no seccomp filter on the workload: $out"

# exec gets the container's filter too.
nc_ run -d --name s1 -- /bin/sleep 600 >/dev/null
[ "$(nc_ exec s1 -- python3 -c "$probe")" = "$want" ] || fail "exec: the filter is not the container's"
nc_ rm -f s1 >/dev/null

# seccomp=unconfined: no filter; a user namespace can be made again.
out=$(nc_ run --security-opt seccomp=unconfined -- python3 -c "$probe")
grep -E 'unshare_user=ok' <<<"$out" >/dev/null || fail "unconfined: unshare(CLONE_NEWUSER) refused: $out"
grep -E 'keyctl=ok' <<<"$out" >/dev/null || fail "unconfined: keyctl refused: $out"

# seccomp=FILE in Docker's format: everything allowed but mkdir and mkdirat, which get EACCES.
cat >"$NETCTL_ROOT/profile.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
JSON
out=$(nc_ run --rootfs "$R" --security-opt "seccomp=$NETCTL_ROOT/profile.json" -- /bin/sh -c 'mkdir /tmp/d 2>&1; touch /tmp/f && echo touched')
grep -i 'permission denied' <<<"$out" >/dev/null || fail "profile file: mkdir was not refused with EACCES: $out"
grep touched <<<"$out" >/dev/null || fail "profile file: other calls refused: $out"
# Bad profiles and options: exit 2, nothing created.
n=$(ls "$NETCTL_ROOT/containers" | wc -l)
echo '{"defaultAction": "SCMP_ACT_NOPE"}' >"$NETCTL_ROOT/bad.json"
expect_rc 2 nc_ run --security-opt "seccomp=$NETCTL_ROOT/bad.json" -- /bin/true
expect_rc 2 nc_ run --security-opt "seccomp=$NETCTL_ROOT/none.json" -- /bin/true
expect_rc 2 nc_ run --security-opt apparmor=x -- /bin/true
expect_rc 2 nc_ run --cap-add NOT_A_CAP -- /bin/true
[ "$(ls "$NETCTL_ROOT/containers" | wc -l)" = "$n" ] || fail "a refused run left a container"

# Capabilities: --cap-drop and --cap-add change the sets, and the filter follows: with
# CAP_SYS_ADMIN the profile lets mount through, as Docker's does.
caps() { nc_ run --rootfs "$R" "$@" -- /bin/sh -c 'grep CapEff: /proc/self/status' | awk '{print $2}'; }
[ "$(caps --cap-drop NET_RAW)" = 00000000a80405fb ] || fail "--cap-drop NET_RAW"
[ "$(caps --cap-drop ALL)" = 0000000000000000 ] || fail "--cap-drop ALL"
[ "$(caps --cap-drop ALL --cap-add cap_kill)" = 0000000000000020 ] || fail "--cap-drop ALL --cap-add KILL"
out=$(nc_ run --rootfs "$R" -- /bin/sh -c 'mount -t tmpfs x /tmp 2>&1 && echo mounted; true')
grep mounted <<<"$out" && fail "mount without CAP_SYS_ADMIN"
out=$(nc_ run --rootfs "$R" --cap-add SYS_ADMIN -- /bin/sh -c 'mount -t tmpfs x /tmp && echo mounted')
grep mounted <<<"$out" >/dev/null || fail "--cap-add SYS_ADMIN: mount still refused: $out"
echo ok
