# Hostile input to the front ends: netctl-cni reads at most 1 MiB of stdin (more is CNI code 6 and
# changes nothing); control characters in names are escaped in every error line (CLI stderr and
# JSON, CNI msg), so a name cannot forge lines or drive the terminal; bytes that are not UTF-8 do
# not crash the JSON error writers.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/../e2e/lib.sh"
NETCTL_CNI=$(dirname "$NETCTL")/netctl-cni

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
ip netns add s1
# cni CMD CID [NETNS]: netctl-cni with eth0; stdin is the configuration; prints stdout.
cni() {
  env CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="${3:-/run/netns/s1}" CNI_IFNAME=eth0 \
    CNI_PATH=/nonexistent "$NETCTL_CNI"
}
# padded SIZE: a valid configuration, padded with spaces to SIZE bytes.
padded() {
  python3 -c 'import sys; c=sys.argv[1]; sys.stdout.write(c + " " * (int(sys.argv[2]) - len(c)))' \
    '{"cniVersion":"1.0.0","name":"n1","type":"netctl-cni"}' "$1"
}
mib=$((1 << 20))
# Links, addresses and the store (routes change once the bridge has had a port).
state() { snapshot | grep -v -e '^multicast ' -e '^local ' -e '^fe80::' -e '^ff00::'; }
# The kernel finishes bringing a new bridge up on its own (routes of the local table appear a
# moment later): take the baseline once two readings agree, and compare until they settle.
settled() { local a b; a=$(state); for _ in $(seq 20); do sleep 0.1; b=$(state); [ "$a" = "$b" ] && break; a=$b; done; echo "$a"; }
same_state() { for _ in $(seq 20); do [ "$before" = "$(state)" ] && return 0; sleep 0.1; done; return 1; }
before=$(settled)
padded $((mib + 1)) >"$NETCTL_ROOT/big.json"
[ "$(stat -c %s "$NETCTL_ROOT/big.json")" = $((mib + 1)) ] || fail "big.json size"
rc=0; out=$(cni ADD c1 <"$NETCTL_ROOT/big.json") || rc=$?
[ "$rc" != 0 ] || fail "ADD of 1 MiB + 1 byte succeeded: $out"
python3 -c '
import json,sys; e=json.loads(sys.argv[1]); assert e["code"] == 6 and "1 MiB" in e["msg"], e' "$out" ||
  fail "ADD of 1 MiB + 1 byte: $out"
same_state || fail "state changed: $(diff <(echo "$before") <(state))"
ip -n s1 link show eth0 >/dev/null 2>&1 && fail "eth0 made in s1"
# Exactly 1 MiB still parses.
padded "$mib" >"$NETCTL_ROOT/max.json"
out=$(cni ADD c1 <"$NETCTL_ROOT/max.json") || fail "ADD of 1 MiB: $out"
ip -n s1 link show eth0 >/dev/null || fail "ADD of 1 MiB made no eth0"
cni DEL c1 <"$NETCTL_ROOT/max.json" >/dev/null || fail "DEL"

# CLI: one stderr line with the escaped forms, no raw control byte; the JSON error alike.
bad=$'bad\nname\x1b[31m'
expect_rc 3 nc_ network inspect "$bad"
err=$(stderr_of 3 nc_ network inspect "$bad")
[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "error is not one line: $err"
grep -F 'bad\nname\x1b[31m' <<<"$err" >/dev/null || fail "no escaped name in: $err"
LC_ALL=C grep -q $'\x1b' <<<"$err" && fail "raw ESC in: $err"
out=$(stdout_of 3 nc_ --format json network inspect "$bad")
python3 -c '
import json,sys; e=json.loads(sys.argv[1])
assert "bad\\nname\\x1b[31m" in e["error"] and not any(ord(c) < 32 for c in e["error"]), e' "$out" ||
  fail "JSON error: $out"
expect_rc 2 nc_ network connect n1 $'pid:1\r\x07'
err=$(stderr_of 3 nc_ network connect n1 $'/run/netns/\x1b]0;title\x07')
grep -F '\x1b]0;title\x07' <<<"$err" >/dev/null || fail "path not escaped: $err"
# Not UTF-8: the JSON error still comes out.
out=$(stdout_of 3 nc_ --format json network inspect $'\xff\xfe')
python3 -c 'import json,sys; assert json.loads(sys.argv[1])["code"] == 3' "$out" ||
  fail "JSON error for a name that is not UTF-8: $out"

# CNI: the decoded msg holds no control character; not UTF-8 still gives an error object.
conf='{"cniVersion":"1.0.0","name":"n1","type":"netctl-cni"}'
rc=0; out=$(cni ADD $'c1\x1b[2J\nx' <<<"$conf") || rc=$?
[ "$rc" != 0 ] || fail "ADD with a bad container id succeeded"
python3 -c '
import json,sys; e=json.loads(sys.argv[1])
assert e["code"] == 4 and "c1\\x1b[2J\\nx" in e["msg"] and not any(ord(c) < 32 for c in e["msg"]), e' \
  "$out" || fail "CNI msg: $out"
rc=0; out=$(cni ADD $'c\xff' <<<"$conf") || rc=$?
[ "$rc" != 0 ] || fail "ADD with a container id that is not UTF-8 succeeded"
python3 -c 'import json,sys; assert json.loads(sys.argv[1])["code"] == 4' "$out" ||
  fail "CNI error for a container id that is not UTF-8: $out"
same_state || fail "state changed: $(diff <(echo "$before") <(state))"
echo ok
