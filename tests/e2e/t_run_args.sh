# The workload's arguments are never netctl's: run and exec take options up to the first word
# that is not one (as docker run), and a list option just before -- takes one value.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_run.sh"
R=$ROOTFS

# A list option right before --, and the workload's own -p/-h/--help after it.
out=$(nc_ run --rootfs "$R" -e A=1 -p 8080:80 -- /bin/sh -c 'echo "$A $0 $*"' -p 80 --help)
[ "$out" = "1 -p 80 --help" ] || fail "-- after a list option: got '$out'"
# Without --: the first word that is not an option starts the workload.
out=$(nc_ run --rootfs "$R" -e A=2 --rm /bin/sh -c 'echo "$A $0 $*"' -e x --network y)
[ "$out" = "2 -e x --network y" ] || fail "no --: got '$out'"
# exec: options, the container, then the command with its own options.
nc_ run -d --name a1 --rootfs "$R" -- /bin/sleep 600 >/dev/null
out=$(nc_ exec -e B=3 a1 /bin/sh -c 'echo "$B $0 $*"' -u 5 -w /x)
[ "$out" = "3 -u 5 -w /x" ] || fail "exec: got '$out'"
out=$(nc_ exec -e B=4 a1 -- /bin/sh -c 'echo "$B $0"' --rm)
[ "$out" = "4 --rm" ] || fail "exec with --: got '$out'"
nc_ rm -f a1 >/dev/null
echo ok
