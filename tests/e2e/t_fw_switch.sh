# Switching firewall backends (cnm/core/firewall_backend.h): a root made under iptables, then
# NETCTL_FIREWALL_BACKEND=nftables: doctor reports the switch and the iptables leftovers and
# changes nothing; gc moves the rules (legacy chains of the root gone, its nftables table there) and
# the published port keeps answering; auto then keeps nftables (recorded in the store); a normal
# write command under iptables moves everything back on the spot. Bad backend names: exit 2.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
ask() { ip netns exec nb busybox nc -w 2 198.51.100.1 "$1" </dev/null 2>/dev/null || true; }
backend() { nc_ --format json info | python3 -c 'import json,sys; print(json.load(sys.stdin)["FirewallBackend"])'; }
legacy_objects() { { iptables-legacy-save; ip6tables-legacy-save; } | grep -E 'NETCTL-[A-Z]-[0-9a-f]{8}|NETCTL-[NIM]-|-j DNAT' || true; }
nft_objects() { for t in $(nft_tables); do nft list table inet "$t"; done; }

export NETCTL_FIREWALL_BACKEND=iptables
published_web
[ "$(ask 8080)" = up ] || fail "published port does not answer under iptables"
[ "$(backend)" = iptables ] || fail "info: backend $(backend), want iptables"
[ -n "$(legacy_objects)" ] || fail "no legacy rules under iptables"
[ -z "$(nft_tables)" ] || fail "an nftables table under iptables: $(nft_tables)"

# Bad names: one line, exit 2, nothing changed.
before=$(fw_rules)
err=$(stderr_of 2 env NETCTL_FIREWALL_BACKEND=nft "$NETCTL" network ls)
[ "$err" = "netctl: NETCTL_FIREWALL_BACKEND: 'nft' is not nftables, iptables or auto" ] ||
  fail "bad environment value: $err"
printf 'firewall-backend: xtables\n' >"$NETCTL_ROOT/bad.yaml"
err=$(stderr_of 2 env -u NETCTL_FIREWALL_BACKEND "$NETCTL" --config "$NETCTL_ROOT/bad.yaml" network ls)
grep -F "line 1: firewall-backend: 'xtables' is not nftables, iptables or auto" <<<"$err" >/dev/null ||
  fail "bad config value: $err"
[ "$before" = "$(fw_rules)" ] || fail "a bad backend name changed rules"

# The switch: doctor reports it and changes nothing.
export NETCTL_FIREWALL_BACKEND=nftables
out=$(stdout_of 1 nc_ doctor)
grep -F "firewall backend: the store records iptables, nftables is selected" <<<"$out" >/dev/null ||
  fail "doctor does not report the switch: $out"
grep -E "^firewall backend: iptables leftover: -A NETCTL-N-" <<<"$out" >/dev/null ||
  fail "doctor does not list the iptables leftovers: $out"
# (It may make the empty IPv6 legacy tables exist: reading a legacy table makes it.)
[ "$before" = "$(fw_rules)" ] || fail "doctor changed rules: $(diff <(echo "$before") <(fw_rules))"
# gc moves the rules: the root's legacy chains go, its nftables table comes, traffic goes on.
nc_ gc >/dev/null
[ -z "$(legacy_objects)" ] || fail "legacy rules left after gc: $(legacy_objects)"
nft_objects | grep -E 'chain N-[0-9a-f]{12}' >/dev/null || fail "no network chain in nftables after gc"
[ "$(fw_port_count 8080)" = 1 ] || fail "port 8080 not in the nftables maps: $(fw_ports)"
[ "$(ask 8080)" = up ] || fail "published port does not answer after the switch to nftables"
nc_ doctor >/dev/null || { nc_ doctor; fail "drift after the switch"; }
# auto keeps what the root recorded.
[ "$(env -u NETCTL_FIREWALL_BACKEND "$NETCTL" --format json info | grep -o '"FirewallBackend": *"[a-z]*"')" = '"FirewallBackend": "nftables"' ] ||
  fail "auto does not keep the recorded nftables"

# Away from nftables while the admin's chain `user` holds a rule: deleting the table would lose
# it, so the move fails (one line), nothing changes, and the record stays.
nft add rule inet "$(nft_tables)" user ip saddr 203.0.113.9 drop
before=$(fw_rules)
err=$(stderr_of 1 env NETCTL_FIREWALL_BACKEND=iptables "$NETCTL" network create --subnet 10.89.0.0/24 n2)
grep -F "switch the firewall from nftables to iptables" <<<"$err" |
  grep -F "chain user of table inet netctl-$(nft_tables | sed 's/netctl-//') holds 1 rule(s) of the admin" >/dev/null ||
  fail "move with admin rules in user: $err"
[ "$before" = "$(fw_rules)" ] || fail "the failed move changed rules: $(diff <(echo "$before") <(fw_rules))"
[ "$(backend)" = nftables ] || fail "the failed move changed the record"
nc_ network inspect n2 >/dev/null 2>&1 && fail "n2 made although the move failed"
nft flush chain inet "$(nft_tables)" user

# Back to iptables with a normal write command: it moves everything on the spot.
export NETCTL_FIREWALL_BACKEND=iptables
nc_ network create --subnet 10.89.0.0/24 n2 >/dev/null
[ -z "$(nft_tables)" ] || fail "nftables table left after moving back: $(nft_objects)"
legacy_objects | grep -F -- '--dport 8080 -j DNAT' >/dev/null || fail "port 8080 not back in iptables"
[ "$(legacy_objects | grep -cE '^:NETCTL-N-|^-N NETCTL-N-|^:NETCTL-N-')" = 2 ] ||
  fail "want the N chains of n1 and n2 in iptables: $(legacy_objects)"
[ "$(ask 8080)" = up ] || fail "published port does not answer after the move back"
nc_ doctor >/dev/null || { nc_ doctor; fail "drift after the move back"; }
[ "$(env -u NETCTL_FIREWALL_BACKEND "$NETCTL" --format json info | grep -o '"FirewallBackend": *"[a-z]*"')" = '"FirewallBackend": "iptables"' ] ||
  fail "auto does not keep the recorded iptables"
nc_ sandbox rm --force web >/dev/null
nc_ network rm n1 n2 >/dev/null
[ -z "$(legacy_objects)" ] || fail "rules left: $(legacy_objects)"
echo ok
