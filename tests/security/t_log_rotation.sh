# A detached workload cannot fill the disk through its log: `--log-opt max-size/max-file` (and the
# default 10 MiB x 2) cap and rotate it while it writes as fast as it can; `logs` prints the
# newest output in order, `logs -f` follows across rotations; bad options create nothing.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/../e2e/lib_run.sh"
nc_ network create --subnet 10.96.0.0/24 n1 >/dev/null
dir_of() { echo "$NETCTL_ROOT/containers/$(inspect 'c["Id"]' "$1")"; }
# caps_hold C MAX FILES: C's log files are the live one and FILES-1 rotated ones, MAX bytes each.
caps_hold() {
  local d f; d=$(dir_of "$1")
  for f in "$d"/log*; do
    case ${f##*/} in log | log.[1-9] | log.[1-9][0-9]) ;; *) fail "unexpected file $f" ;; esac
    [ "${f##*/log.}" = "$f" ] || [ "${f##*/log.}" -lt "$3" ] || fail "$f exists (max-file $3)"
    [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" -le "$2" ] || fail "$f passed $2 bytes"
  done
}
# wait_exited C MAX FILES: waits for C to exit, checking the caps meanwhile.
wait_exited() {
  for _ in $(seq 300); do
    caps_hold "$@"
    [ "$(inspect 'c["State"]["Status"]' "$1")" = exited ] && return 0
    sleep 0.05
  done
  fail "$1 did not exit"
}
# consecutive: numbered lines ("line N ...") whose numbers go up by one; the first line may be
# the tail of one whose start was rotated out.
consecutive() {
  awk 'NR == 1 { next }
       $1 != "line" { print "bad line " NR ": " substr($0, 1, 40); exit 1 }
       prev && $2 + 0 != prev + 1 { print "line " NR ": " $2 " after " prev; exit 1 }
       { prev = $2 + 0 }'
}

# 100000 numbered lines (5.1 MB) into 100 KiB x 3 files.
nc_ run -d --name flood --network n1 --rootfs "$ROOTFS" --log-opt max-size=100k \
  --log-opt max-file=3 -- /bin/awk 'BEGIN { for (i = 1; i <= 100000; i++)
    printf "line %06d of a workload that writes as fast as it can\n", i }' >/dev/null
[ "$(inspect 'c["HostConfig"]["LogConfig"] == {"Type": "json-file",
    "Config": {"max-size": "100k", "max-file": "3"}}' flood)" = True ] ||
  fail "inspect LogConfig: $(inspect 'c["HostConfig"]["LogConfig"]' flood)"
wait_exited flood 102400 3
d=$(dir_of flood)
for f in log log.1 log.2; do
  [ -f "$d/$f" ] || fail "no $f: $(ls "$d")"
  [ "$(stat -c %s "$d/$f")" -le 102400 ] || fail "$f is $(stat -c %s "$d/$f") bytes"
done
[ ! -e "$d/log.3" ] || fail "log.3 exists: max-file=3 keeps log, log.1, log.2"
total=$(cat "$d"/log* | wc -c)
[ "$total" -le 307200 ] || fail "the logs total $total bytes"
out=$(nc_ logs flood)
[ "$(printf '%s\n' "$out" | wc -c)" = "$total" ] || fail "logs printed $(printf '%s\n' "$out" | wc -c) of $total bytes"
[ "$(printf '%s\n' "$out" | tail -n 1)" = "line 100000 of a workload that writes as fast as it can" ] ||
  fail "last line: $(printf '%s\n' "$out" | tail -n 1)"
printf '%s\n' "$out" | consecutive || fail "logs output is not in order"
[ "$(printf '%s\n' "$out" | wc -l)" -gt 3000 ] || fail "logs printed $(printf '%s\n' "$out" | wc -l) lines"
nc_ rm flood >/dev/null

# The default: 10 MiB x 2, against 25 MB written at once.
nc_ run -d --name deflt --network n1 --rootfs "$ROOTFS" -- /bin/sh -c \
  'yes 0123456789abcdef0123456789abcdef | head -c 25000000' >/dev/null
[ "$(inspect 'c["HostConfig"]["LogConfig"]["Config"] == {"max-size": "10m", "max-file": "2"}' deflt)" = True ] ||
  fail "default LogConfig: $(inspect 'c["HostConfig"]["LogConfig"]' deflt)"
wait_exited deflt $((10 << 20)) 2
d=$(dir_of deflt)
total=$(cat "$d"/log* | wc -c)
[ "$total" -le $((20 << 20)) ] || fail "the default logs total $total bytes"
[ "$total" -ge $((10 << 20)) ] || fail "the default logs kept only $total bytes"
[ -f "$d/log.1" ] && [ ! -e "$d/log.2" ] || fail "default rotation: $(ls "$d")"
[ "$(nc_ logs deflt | wc -c)" = "$total" ] || fail "logs of the default container"
nc_ rm deflt >/dev/null

# logs -f follows the output across rotations (one every ~10 lines) until the workload exits.
nc_ run -d --name slow --network n1 --rootfs "$ROOTFS" --log-opt max-size=10k --log-opt max-file=2 \
  -- /bin/sh -c 'pad=$(head -c 1000 /dev/zero | tr "\0" x); sleep 0.5; i=0
    while [ $i -lt 60 ]; do i=$((i+1)); echo "line $i $pad"; sleep 0.03; done' >/dev/null
followed=$(timeout 30 "$NETCTL" logs -f slow)
[ "$(printf '%s\n' "$followed" | awk '{print $2}' | tr '\n' ' ')" = "$(seq 1 60 | tr '\n' ' ')" ] ||
  fail "logs -f: $(printf '%s\n' "$followed" | awk '{print $1, $2}' | tr '\n' ' ')"
nc_ rm slow >/dev/null

# Bad options: exit 2, one line, nothing created.
for opt in max-size=10x max-size=0 max-size=-1 max-size max-file=0 max-file=101 compress=true; do
  expect_rc 2 nc_ run -d --name bad --network n1 --rootfs "$ROOTFS" --log-opt "$opt" -- /bin/true
done
expect_rc 2 nc_ run --name bad --network n1 --rootfs "$ROOTFS" --log-opt max-size=1k -- /bin/true
[ "$(nc_ --format json ps -a)" = "[]" ] || fail "a rejected run left a record: $(nc_ ps -a)"
[ -z "$(ls "$NETCTL_ROOT/containers")" ] || fail "a rejected run left $(ls "$NETCTL_ROOT/containers")"
nc_ network rm n1 >/dev/null
echo "ok: 5 MB into 100k x 3 kept $(( $(printf '%s\n' "$out" | wc -c) / 1024 )) KiB in order; 25 MB into the default kept 20 MiB at most; logs -f across rotations"
