# Every bad input is rejected with one line, its exit code, and nothing changed.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
before=$(snapshot)
long=$(printf 'a%.0s' $(seq 65))
cfg=$NETCTL_ROOT/bad-config.yaml  # removed with the state root
printf 'mtu: 1500\ndefault-address-pools:\n  - base: 10.0.0.0/8\n    size: [\n' >"$cfg"

expect_rc 2 nc_ network create --subnet 10.300.0.0/24 x
expect_rc 2 nc_ network create --subnet 10.90.0.0 x
expect_rc 2 nc_ network create --subnet 10.90.0.1/24 x
expect_rc 2 nc_ network create --subnet 10.90.0.0/24 --gateway 10.90.0.999 x
expect_rc 4 nc_ network create --subnet 10.88.0.128/25 x
expect_rc 4 nc_ network create --subnet 10.0.0.0/8 x
expect_rc 2 nc_ network create --subnet 10.90.0.0/24 --gateway 10.91.0.1 x
expect_rc 2 nc_ network create --subnet 10.90.0.0/24 --ip-range 10.91.0.0/25 x
expect_rc 2 nc_ network create --subnet 10.90.0.0/24 --aux-address r=10.91.0.3 x
expect_rc 2 nc_ network create --subnet 10.90.0.0/24 --aux-address noequals x
expect_rc 2 nc_ network create a/b
expect_rc 2 nc_ network create ..
expect_rc 2 nc_ network create "a b"
expect_rc 2 nc_ network create "$long"
expect_rc 4 nc_ network create n1
expect_rc 2 nc_ network create -d warp x
expect_rc 2 nc_ network create -o no.such.key=1 x
expect_rc 2 nc_ network create -o bridge.name=abcdefghijklmnop x
expect_rc 2 nc_ --config "$cfg" network create x
expect_rc 2 nc_ network create --ipv6 x
expect_rc 2 nc_ network create --subnet fd00::/64 x
expect_rc 2 nc_ network create --mtu 20 x
expect_rc 2 nc_ network create -d host --subnet 10.92.0.0/24 x
expect_rc 3 nc_ network rm nosuch
expect_rc 3 nc_ network rm n1 nosuch
expect_rc 3 nc_ network inspect nosuch
expect_rc 2 nc_ network frobnicate
expect_rc 2 nc_ --format yaml network ls
# The malformed config error names the file and the line.
err=$(stderr_of 2 nc_ --config "$cfg" network ls)
echo "$err" | grep "$cfg: line [0-9]" >/dev/null || fail "config error lacks file/line: $err"
# --format json puts the error on stdout as well.
out=$(stdout_of 3 nc_ --format json network rm nosuch)
echo "$out" | python3 -c 'import json,sys; e=json.load(sys.stdin); assert e["code"]==3 and "nosuch" in e["error"], e' ||
  fail "json error of network rm: $out"

after=$(snapshot)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") >&2; fail "state changed"; }
echo ok
