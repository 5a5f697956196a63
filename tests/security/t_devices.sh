# Device access of `netctl run` containers (cgroup v1 devices controller here): the container
# keeps CAP_MKNOD and may make any node (Docker allows "c *:* m" and "b *:* m"), but opening one
# outside Docker's list fails with EPERM, in the workload and in `netctl exec`; null, zero, full,
# random, urandom, tty and ptmx still open. The devices cgroup goes with the container.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/../e2e/lib_run.sh"
devroot=/sys/fs/cgroup/devices
[ -d "$devroot" ] || skip "no cgroup v1 devices hierarchy at $devroot"

# r NAME 'CMD': prints "NAME: ok", or "NAME: " and the text after the last ": " of its error
# (the errno's message). Nothing here writes to a device outside the list.
probe='r() { if e=$( (eval "$2") 2>&1 >/dev/null); then echo "$1: ok"; else e=${e##*: }; echo "$1: ${e:-failed}"; fi; }
  r mknod-mem "mknod /tmp/mem c 1 1"
  r read-mem "head -c1 /tmp/mem"
  r mknod-tun "mknod /tmp/tun c 10 200"
  r open-tun ": <>/tmp/tun"
  r mknod-sda "mknod /tmp/sda b 8 0"
  r read-sda "head -c1 /tmp/sda"
  r null "echo x >/dev/null && test -z \"\$(head -c1 /dev/null)\""
  r zero "test \$(head -c3 /dev/zero | wc -c) = 3 && echo x >/dev/zero"
  r full "test \$(head -c3 /dev/full | wc -c) = 3"
  r full-write "echo x >/dev/full"
  r random "test \$(head -c8 /dev/random | wc -c) = 8 && echo x >/dev/random"
  r urandom "test \$(head -c8 /dev/urandom | wc -c) = 8 && echo x >/dev/urandom"
  r tty ": <>/dev/tty"
  r ptmx ": <>/dev/ptmx"'
want='mknod-mem: ok
read-mem: Operation not permitted
mknod-tun: ok
open-tun: Operation not permitted
mknod-sda: ok
read-sda: Operation not permitted
null: ok
zero: ok
full: ok
full-write: No space left on device
random: ok
urandom: ok
ptmx: ok'
check() {  # check WHO OUTPUT: tty has no controlling terminal here, but must not be refused
  diff <(echo "$want") <(grep -v '^tty: ' <<<"$2") || fail "$1: device access differs (above)"
  grep -x 'tty: .*' <<<"$2" >/dev/null || fail "$1: no tty line: $2"
  grep -x 'tty: Operation not permitted' <<<"$2" && fail "$1: /dev/tty is refused"
  return 0
}

out=$(nc_ run --rm --rootfs "$ROOTFS" -- /bin/sh -c "$probe")
echo "$out"
check "run" "$out"
left=$(find "$devroot/$NETCTL_CGROUP_PARENT" -mindepth 1 -type d 2>/dev/null); [ -z "$left" ] || fail "--rm left a devices cgroup: $left"

# A detached container: its devices cgroup holds Docker's list, `netctl exec` is confined too, and
# rm -f removes the cgroup.
nc_ run -d --name dv --rootfs "$ROOTFS" -- /bin/sleep 1000 >/dev/null
id=$(inspect 'c["Id"]' dv)
cg=$(cgroup_of "$devroot" dv)  # the leaf <root id>-<id>
[ -n "$cg" ] && [ -d "$cg" ] || fail "no devices cgroup for $id under $devroot/$NETCTL_CGROUP_PARENT"
grep -x "$(inspect 'c["State"]["Pid"]' dv)" "$cg/cgroup.procs" >/dev/null || fail "workload not in $cg"
diff <(sort "$cg/devices.list") <(printf '%s\n' 'c *:* m' 'b *:* m' 'c 1:3 rwm' 'c 1:5 rwm' \
  'c 1:7 rwm' 'c 1:8 rwm' 'c 1:9 rwm' 'c 5:0 rwm' 'c 5:1 rwm' 'c 5:2 rwm' 'c 136:* rwm' | sort) ||
  fail "devices.list is not Docker's default"
out=$(nc_ exec dv -- /bin/sh -c "$probe")
check "exec" "$out"
nc_ rm -f dv >/dev/null
[ ! -e "$cg" ] || fail "rm -f left $cg"
echo ok
