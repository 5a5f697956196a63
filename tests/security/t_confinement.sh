# What a container sees of the host's kernel and files: masked and read-only /proc and /sys paths,
# a hostile root filesystem (a symlink out to the host, a FIFO where netctl writes), and `exec`
# running as the container's user in its working directory with its environment.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/../e2e/lib_run.sh"
R=$ROOTFS

# Masked: each that exists on this kernel reads as nothing (files) or lists nothing (directories).
# Read-only: mounted ro. The kernel decides which exist, so the expectations come from the host.
script='for p in /proc/acpi /proc/asound /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list /proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware /sys/devices/virtual/powercap; do
  [ -e "$p" ] || continue
  if [ -d "$p" ]; then echo "$p $(ls -A "$p" | wc -l)"; else echo "$p $(cat "$p" 2>/dev/null | wc -c)"; fi
done
for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
  [ -e "$p" ] || continue
  awk -v p="$p" '"'"'$5 == p { split($6, o, ","); print "ro " p " " o[1] }'"'"' /proc/self/mountinfo
done'
out=$(nc_ run --rootfs "$R" -- /bin/sh -c "$script")
masked=0
for p in /proc/acpi /proc/asound /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list \
         /proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware /sys/devices/virtual/powercap; do
  [ -e "$p" ] || continue
  grep -x "$p 0" <<<"$out" >/dev/null || fail "$p is not masked: $(grep "^$p " <<<"$out")"
  masked=$((masked + 1))
done
[ "$masked" -ge 3 ] || fail "only $masked masked paths exist here: the check proves too little"
[ "$(wc -c </proc/timer_list)" -gt 0 ] || fail "/proc/timer_list is empty on the host: pick another witness"
for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
  [ -e "$p" ] || continue
  grep -x "ro $p ro" <<<"$out" >/dev/null || fail "$p is not read-only inside: $out"
done
# A write into /proc/sys fails even for root in the container.
out=$(nc_ run --rootfs "$R" -- /bin/sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward 2>&1 || echo refused')
grep refused <<<"$out" >/dev/null || fail "/proc/sys is writable"

# A hostile image: /etc is a symlink to a host directory, so a launcher that writes /etc/hosts
# before pivot_root creates files on the host. It must touch nothing there (and may fail to start).
bad=$NETCTL_ROOT/badroot; victim=$NETCTL_ROOT/victim
cp -a "$R" "$bad"; mkdir "$victim"; rm -rf "$bad/etc"; ln -s "$victim" "$bad/etc"
nc_ run --rootfs "$bad" -- /bin/true >/dev/null 2>&1 || true
[ -z "$(ls -A "$victim")" ] || fail "the container's /etc symlink made netctl write on the host: $(ls "$victim")"
# /etc/hosts a FIFO: the run fails promptly with an error instead of blocking.
rm "$bad/etc"; cp -a "$R/etc" "$bad/etc"; rm -f "$bad/etc/hosts"; mkfifo "$bad/etc/hosts"
rc=0; err=$(timeout 20 "$NETCTL" run --rootfs "$bad" -- /bin/true 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "FIFO at /etc/hosts: exit $rc, want 1 ($err)"
grep '/etc/hosts' <<<"$err" >/dev/null || fail "FIFO at /etc/hosts: error does not name it: $err"
# /proc a symlink: refused, so the masks cannot be dodged.
rm -rf "$bad/etc"; cp -a "$R/etc" "$bad/etc"; rm -rf "$bad/proc"; ln -s /tmp "$bad/proc"
rc=0; err=$(timeout 20 "$NETCTL" run --rootfs "$bad" -- /bin/true 2>&1) || rc=$?
[ "$rc" = 1 ] && grep '/proc must be a directory' <<<"$err" >/dev/null ||
  fail "/proc as a symlink: exit $rc ($err)"

# exec: the container's --user (uid, gid, no other groups), --workdir and environment; exec's own
# --user, -w and -e override them.
nc_ run -d --name u1 --rootfs "$R" --user 65534:65534 -w /tmp -e A=b -- /bin/sleep 600 >/dev/null
out=$(nc_ exec u1 -- /bin/sh -c 'echo $(id -u) $(id -g) "$(id -G)" $(pwd) $A $(grep CapEff: /proc/self/status | cut -f2)')
[ "$out" = "65534 65534 65534 /tmp b 0000000000000000" ] || fail "exec ignores the container's user, workdir or env: $out"
out=$(nc_ exec -u 0:0 -w / -e A=c u1 /bin/sh -c 'echo $(id -u) $(id -g) $(pwd) $A')
[ "$out" = "0 0 / c" ] || fail "exec --user/-w/-e: $out"
expect_rc 2 nc_ exec -u root u1 -- /bin/true
expect_rc 2 nc_ exec -w relative u1 -- /bin/true
rc=0; nc_ exec u1 -- /no/such 2>/dev/null || rc=$?
[ "$rc" = 127 ] || fail "exec of a missing program: exit $rc, want 127"
nc_ rm -f u1 >/dev/null
echo ok
