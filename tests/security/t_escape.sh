# Ways out of a container through netctl itself: descriptors inherited from the caller, and the
# host's netctl binary reached through /proc/PID/exe (CVE-2019-5736 class). Each is a real attempt
# from inside a container; the attacked binary is a copy in the state root, never the build's.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/../e2e/lib_run.sh"
R=$ROOTFS

# 1. Descriptors: the caller's fd 8 (the host's /) reaches neither run, run -d nor exec.
exec 8</
out=$(nc_ run --rootfs "$R" -- /bin/sh -c 'ls /proc/self/fd/8/ 2>&1; ls /proc/self/fd | tr "\n" " "')
grep -E '^(bin|etc|usr)$' <<<"$out" && fail "run: fd 8 lists a root directory: $out"
grep -E '^0 1 2 3 $' <<<"$out" >/dev/null || fail "run: descriptors other than 0-2: $out"
# The workload is PID 1 itself (no shell, whose pipes and saved fds would show): exec lists it.
nc_ run -d --name fds --rootfs "$R" -- /bin/sleep 600 >/dev/null
out=$(nc_ exec fds -- /bin/ls /proc/1/fd | tr "\n" " ")
[ "$out" = "0 1 2 " ] || fail "run -d: the workload holds $out"
out=$(nc_ exec fds -- /bin/sh -c 'ls /proc/self/fd/8/ 2>&1; ls /proc/self/fd | tr "\n" " "')
grep -E '^(bin|etc|usr)$' <<<"$out" && fail "exec: fd 8 lists a root directory: $out"
grep -E '^0 1 2 3 $' <<<"$out" >/dev/null || fail "exec: descriptors other than 0-2: $out"
exec 8<&-
nc_ rm -f fds >/dev/null

# 2. The host binary. A copy of netctl (and its shim) is the "host binary" here.
bin=$NETCTL_ROOT/bin; mkdir -p "$bin"
cp "$NETCTL" "$(dirname "$NETCTL")/netctl-shim" "$bin/"
NC=$bin/netctl; sum=$(sha256sum <"$NC")
# The container's PID 1 waits for any process whose executable looks like netctl, keeps it open,
# kills the process, and rewrites the file through the descriptor once nothing executes it.
attack='mkfifo /fifo; touch /ready
while :; do
  for p in /proc/[0-9]*; do
    e=$(readlink "$p/exe" 2>/dev/null) || continue
    case "$e" in *netctl*)
      echo "saw $e" >>/seen
      exec 3<"$p/exe" || continue
      kill -9 "${p#/proc/}"
      for _ in $(seq 100); do echo pwned 2>/dev/null >/proc/self/fd/3 && echo rewrote >>/seen && break; sleep 0.05; done
      exec 3<&- ;;
    esac
  done
done'
"$NC" run -d --name victim --rootfs "$R" -- /bin/sh -c "$attack" >/dev/null
dir=$(inspect 'c["Dir"]' victim)
for _ in $(seq 50); do [ -e "$dir/upper/ready" ] && break; sleep 0.1; done
[ -e "$dir/upper/ready" ] || fail "the attacking PID 1 did not start"
# Asked to run /proc/self/exe (directly, and as a script's interpreter), with a FIFO as its config
# so that a host netctl would block inside the container.
printf '#!/proc/self/exe --config=/fifo\n' >"$dir/upper/evil"; chmod 755 "$dir/upper/evil"
# The stub refuses (126), unless the attacker saw it first and killed it (137): its executable is
# the sealed memfd "netctl-dmz", which the attacker's pattern matches too.
refused() {
  [ "$1" = 126 ] || { [ "$1" = 137 ] && grep -F 'memfd:netctl-dmz' "$dir/upper/seen" >/dev/null; }
}
rc=0; timeout 10 "$NC" exec victim -- /proc/self/exe --config /fifo network ls 2>/dev/null || rc=$?
refused "$rc" || fail "exec of /proc/self/exe: exit $rc, want 126 (the sealed stub refuses)"
rc=0; timeout 10 "$NC" exec victim -- /evil 2>/dev/null || rc=$?
refused "$rc" || fail "exec of a #!/proc/self/exe script: exit $rc, want 126"
sleep 1
[ "$(sha256sum <"$NC")" = "$sum" ] || fail "the host binary was rewritten from inside: $(cat "$dir/upper/seen")"
grep -F "$bin" "$dir/upper/seen" 2>/dev/null && fail "a process in the container had the host binary as its executable"
grep rewrote "$dir/upper/seen" 2>/dev/null && fail "the container rewrote an executable it saw: $(cat "$dir/upper/seen")"
# run: a workload that is /proc/self/exe gets the stub too, never the host binary.
rc=0; timeout 10 "$NC" run --rootfs "$R" -- /proc/self/exe --config /fifo ps 2>/dev/null || rc=$?
[ "$rc" = 126 ] || fail "run of /proc/self/exe: exit $rc, want 126"
[ "$(sha256sum <"$NC")" = "$sum" ] || fail "the host binary changed"
"$NC" rm -f victim >/dev/null
echo ok
