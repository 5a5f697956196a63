# doctor reports drift without changing anything; gc repairs it: published ports survive someone
# flushing the tables (iptables: every chain but NETCTL-USER; nftables: every chain of netctl's
# table but `user` and the port maps, then `nft flush ruleset` as nftables.service does), and links
# or chains netctl does not know are removed. Both backends (fw_backend, tests/e2e/lib.sh).
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
ask() { ip netns exec nb busybox nc -w 2 198.51.100.1 "$1" </dev/null 2>/dev/null || true; }

nc_ network create --subnet 10.88.0.0/24 n1 >/dev/null
nc_ sandbox create web >/dev/null
nc_ network connect -p 8080:80 n1 web
ip netns exec web busybox nc -ll -p 80 -e echo up & pids+=($!)
for _ in $(seq 50); do ip netns exec web ss -ltn | grep ':80 ' >/dev/null && break; sleep 0.1; done
[ "$(ask 8080)" = up ] || fail "published port does not answer"
nc_ doctor >/dev/null || fail "doctor reports drift on a clean state"
flushed_doctor() {  # doctor reports the flush, with and without --format json, and changes nothing
  local before
  before=$(fw_save)
  expect_rc 1 nc_ doctor
  # With --format json: the drift document, then the error document ({"error", "code"}).
  rc=0; out=$(nc_ --format json doctor 2>/dev/null) || rc=$?
  [ "$rc" = 1 ] || fail "doctor --format json exited $rc on drift, want 1"
  echo "$out" | python3 -c '
import json,sys; t=sys.stdin.read(); d,end=json.JSONDecoder().raw_decode(t)
e=json.loads(t[end:]); assert not d["Clean"] and d["MissingRules"] and e["code"]==1, (d, e)' ||
    fail "doctor json"
  [ "$before" = "$(fw_save)" ] || fail "doctor changed rules"
}

if is_nft; then
  # This state root's id, from the name of its table.
  table=$(nft_tables)
  root=${table#netctl-}
  [ -n "$root" ] || fail "no table inet netctl-<root id>"
  admin_rule='ip saddr 203.0.113.9 drop'
  user_rules() { nft list chain inet "$table" user | sed -nE 's/^\t+(ip saddr .*)$/\1/p'; }
  nft add rule inet "$table" user $admin_rule
  for c in $(nft list table inet "$table" | sed -nE 's/^\tchain ([^ ]+) \{$/\1/p'); do
    [ "$c" = user ] || nft flush chain inet "$table" "$c"
  done
  for m in ports4 ports4h ports6 ports6h; do nft flush map inet "$table" "$m" 2>/dev/null || true; done
  [ "$(user_rules)" = "$admin_rule" ] || fail "user chain before doctor: $(user_rules)"
  [ -z "$(ask 8080)" ] || fail "port answered with flushed chains?"
  flushed_doctor
  # Things netctl does not know: a stray bridge (below) and a stray network chain of this root;
  # another root's table is not this root's to report or remove.
  nft add chain inet "$table" N-0123456789ab
  nft add rule inet "$table" forward jump N-0123456789ab
  nft add table inet netctl-fedcba98
  nft add chain inet netctl-fedcba98 N-fedcba987654
  nft add rule inet netctl-fedcba98 N-fedcba987654 ip saddr 203.0.113.8 drop
  other_before=$(nft list table inet netctl-fedcba98)
else
  # This state root's id, from the name of its own forward chain.
  root=$(iptables-legacy -S | sed -nE 's/^-N NETCTL-F-([0-9a-f]{8})$/\1/p')
  [ -n "$root" ] || fail "no per-root chain NETCTL-F-<root id>"

  # The admin's own rule in NETCTL-USER must survive everything below: every other filter chain and
  # the whole nat table are flushed.
  admin_rule='-A NETCTL-USER -s 203.0.113.9/32 -j DROP'
  user_rules() { iptables-legacy -S NETCTL-USER | grep -v '^-N'; }
  iptables-legacy $admin_rule
  for c in INPUT FORWARD OUTPUT $(iptables-legacy -S | awk '$1 == "-N" && $2 != "NETCTL-USER" {print $2}'); do
    iptables-legacy -F "$c"
  done
  iptables-legacy -t nat -F
  [ "$(user_rules)" = "$admin_rule" ] || fail "NETCTL-USER before doctor: $(user_rules)"
  [ -z "$(ask 8080)" ] || fail "port answered with flushed tables?"
  flushed_doctor
  # Things netctl does not know: a stray bridge (below) and a stray network chain of this root.
  iptables-legacy -N NETCTL-N-0123456789ab
  iptables-legacy -A "NETCTL-F-$root" -j NETCTL-N-0123456789ab
  # Another state root's chains and someone's rule in a shared chain: not this root's to report or
  # remove.
  iptables-legacy -N NETCTL-F-fedcba98
  iptables-legacy -A NETCTL-FORWARD -j NETCTL-F-fedcba98
  iptables-legacy -N NETCTL-N-fedcba987654
  iptables-legacy -A NETCTL-F-fedcba98 -j NETCTL-N-fedcba987654
  iptables-legacy -A NETCTL-FORWARD -s 203.0.113.8/32 -j DROP
fi
# The bridge carries this root's mark (its link group: 0x20000000 and the root id's low 29 bits);
# a look-alike without it is someone else's and stays.
ip link add nc-0123456789ab group $(( 0x20000000 | (0x$root & 0x1fffffff) )) type bridge
ip link add nc-0123456789ac type bridge
nc_ gc >/dev/null
nc_ doctor >/dev/null || { nc_ doctor; fail "drift after gc"; }
[ "$(ask 8080)" = up ] || fail "published port not restored by gc"
[ "$(user_rules)" = "$admin_rule" ] || fail "the admin's rule did not survive: $(user_rules)"
ip link show nc-0123456789ab 2>/dev/null && fail "stray bridge not removed"
ip link show nc-0123456789ac >/dev/null 2>&1 || fail "gc removed a look-alike bridge without the mark"
if is_nft; then
  nft list table inet "$table" | grep N-0123456789ab >/dev/null && fail "stray chain not removed"
  [ "$(nft list table inet netctl-fedcba98)" = "$other_before" ] || fail "gc touched another root's table"
  nft delete table inet netctl-fedcba98
  # What the distribution's nftables.service does on (re)start: everything goes, the admin's rule
  # too. doctor reports it, gc (netctl-firewall.service runs it after nftables.service) restores.
  nft flush ruleset
  [ -z "$(ask 8080)" ] || fail "port answered after nft flush ruleset?"
  out=$(nc_ doctor) && fail "doctor found no drift after nft flush ruleset"
  grep '^missing rule: ' <<<"$out" >/dev/null || fail "doctor after flush ruleset: $out"
  nc_ gc >/dev/null
  nc_ doctor >/dev/null || { nc_ doctor; fail "drift after gc following flush ruleset"; }
  [ "$(ask 8080)" = up ] || fail "published port not restored by gc after flush ruleset"
  [ -z "$(user_rules)" ] || fail "gc wrote the admin's chain: $(user_rules)"
  [ -z "$(iptables-legacy-save)" ] || fail "the nftables backend wrote legacy tables"
else
  iptables-legacy -S NETCTL-F-fedcba98 | grep -- '-j NETCTL-N-fedcba987654' >/dev/null ||
    fail "gc touched another root's chain"
  iptables-legacy -S NETCTL-FORWARD | grep -- '-A NETCTL-FORWARD -j NETCTL-F-fedcba98' >/dev/null ||
    fail "gc removed another root's jump"
  iptables-legacy -S NETCTL-FORWARD | grep -- '-s 203.0.113.8/32 -j DROP' >/dev/null ||
    fail "gc removed a rule it did not make from a shared chain"
  iptables-legacy -S FORWARD | grep -- '-A FORWARD -j NETCTL-USER' >/dev/null ||
    fail "gc did not restore the jump to NETCTL-USER"
  iptables-legacy-save | grep NETCTL-N-0123456789ab >/dev/null && fail "stray chain not removed"
fi
echo ok
