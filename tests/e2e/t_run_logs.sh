# The supervisor of a detached container keeps a flat memory footprint while the workload logs
# continuously (several MB of output, rotated at the default 10 MiB x 2), and `logs` returns that
# output.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_run.sh"
nc_ network create --subnet 10.93.0.0/24 n1 >/dev/null
nc_ run -d --name chatty --network n1 --rootfs "$ROOTFS" -- /bin/sh -c \
  'i=0; while :; do i=$((i+1)); echo "line $i of a container that never stops talking"; done' >/dev/null
sup=$(inspect 'c["State"]["SupervisorPid"]' chatty)
rss() { awk '/^VmRSS/ {print $2}' /proc/"$sup"/status; }
dir=$NETCTL_ROOT/containers/$(inspect 'c["Id"]' chatty)
written() { awk '/^wchar/ {print $2}' /proc/"$sup"/io; }  # what the supervisor wrote to the log
sleep 0.3
first=$(rss); size0=$(written)
sleep 3
last=$(rss); size1=$(written)
[ $((size1 - size0)) -gt 1000000 ] || fail "the log grew only $((size1 - size0)) bytes in 3 s"
for f in "$dir"/log*; do
  [ "$(stat -c %s "$f")" -le $((10 << 20)) ] || fail "$f is $(stat -c %s "$f") bytes"
done
[ ! -e "$dir/log.2" ] || fail "log.2 exists: the default keeps log and log.1"
[ "$last" -lt 2048 ] || fail "supervisor RSS ${last} kB"
[ $((last - first)) -le 64 ] || fail "supervisor RSS grew from ${first} to ${last} kB"
nc_ logs chatty | tail -n 1 | grep '^line [0-9]* of a container' >/dev/null || fail "logs"
nc_ rm -f chatty >/dev/null
nc_ network rm n1 >/dev/null
echo "ok: supervisor RSS ${first} -> ${last} kB while the log grew $(( (size1 - size0) / 1000000 )) MB"
