# Two state roots on one host (issue 23): each owns its own firewall chains (iptables) or table
# (nftables). One root's doctor sees
# nothing of the other's, its gc (exact ports, foreign networks, bridge list) and its last network's
# removal leave the other root's chains, jumps, DNAT and isolation rules as they were, and the
# other root's published port keeps answering.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
root_b=$(mktemp -d /tmp/netctl-test-b.XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT" "$root_b"' EXIT
nb_() { NETCTL_ROOT=$root_b "$NETCTL" "$@"; }
ask() { ip netns exec nb busybox nc -w 2 198.51.100.1 "$1" </dev/null 2>/dev/null || true; }
serve() { # SANDBOX WORD: answers WORD on port 80
  ip netns exec "$1" busybox nc -ll -p 80 -e echo "$2" & pids+=($!)
  for _ in $(seq 50); do ip netns exec "$1" ss -ltn | grep ':80 ' >/dev/null && break; sleep 0.1; done
}
save() { fw_save; }
# The root ids, from the names of the per-root forward chains or tables.
roots() {
  if is_nft; then nft_tables | sed 's/^netctl-//'; else
    iptables-legacy -S | sed -nE 's/^-N NETCTL-F-([0-9a-f]{8})$/\1/p'; fi
}

nc_ network create --subnet 10.88.0.0/24 na >/dev/null
nc_ sandbox create sa >/dev/null
nc_ network connect -p 8080:80 na sa
root_a=$(roots)
[ "$(printf '%s\n' "$root_a" | grep -c .)" = 1 ] || fail "root A's chains: '$root_a'"
nb_ network create --subnet 10.89.0.0/24 nbn >/dev/null
nb_ sandbox create sb >/dev/null
nb_ network connect -p 9090:80 nbn sb
id_b=$(roots | grep -v "^$root_a$") || fail "no chains of root B"
serve sa hello-a
serve sb hello-b
[ "$(ask 8080)" = hello-a ] || fail "root A's port does not answer"
[ "$(ask 9090)" = hello-b ] || fail "root B's port does not answer"

# Root B's rules: its per-root chains, its jumps into them, and the network chains they jump to
# (nftables: its table).
b_rules() {
  local nets
  if is_nft; then nft list table inet "netctl-$id_b"; return; fi
  nets=$(save | sed -nE "s/^-A NETCTL-[FP]-$id_b -j (NETCTL-[NIM]-[0-9a-f]+)$/\\1/p" | sort -u)
  save | grep -E "$id_b|$(printf '%s\n' $nets | paste -sd'|')"
}
b_before=$(b_rules)
if is_nft; then
  grep -E "tcp \. 9090 : " <<<"$b_before" >/dev/null || fail "no port element of root B: $b_before"
  grep -E 'chain isolation' -A3 <<<"$b_before" | grep 'iifname "nc-' >/dev/null || fail "no isolation of root B"
else
  grep -- "--dport 9090 -j DNAT" <<<"$b_before" >/dev/null || fail "no DNAT rule of root B: $b_before"
  grep -- "-A NETCTL-S-$id_b -i nc-" <<<"$b_before" >/dev/null || fail "no isolation of root B"
fi

nc_ doctor >/dev/null || { nc_ doctor; fail "root A's doctor reports root B's rules"; }
nb_ doctor >/dev/null || { nb_ doctor; fail "root B's doctor reports root A's rules"; }
nc_ gc >/dev/null
[ "$(b_rules)" = "$b_before" ] || fail "root A's gc changed root B's rules: $(diff <(echo "$b_before") <(b_rules))"
[ "$(ask 9090)" = hello-b ] || fail "root B's port stopped answering after root A's gc"
[ "$(ask 8080)" = hello-a ] || fail "root A's port stopped answering after its gc"

# Root A's last network goes: its chains and jumps with it, root B's stay.
nc_ sandbox rm --force sa >/dev/null
nc_ network rm na >/dev/null
a_left() { # what is left of root A: its chains, or its table's network chains, ports and rules
  if is_nft; then
    { nft list table inet "netctl-$root_a" 2>/dev/null || true; } | grep -E '[NIM]-[0-9a-f]|10\.88\.|elements' || true
  else save | grep -E "$root_a|10\.88\." || true; fi
}
[ -z "$(a_left)" ] || fail "root A's rules left: $(a_left)"
[ "$(b_rules)" = "$b_before" ] || fail "root A's removal changed root B's rules"
[ "$(ask 9090)" = hello-b ] || fail "root B's port stopped answering after root A's removal"
nb_ doctor >/dev/null || { nb_ doctor; fail "root B's doctor after root A's removal"; }
nc_ doctor >/dev/null || { nc_ doctor; fail "root A's doctor with nothing left"; }

nb_ sandbox rm --force sb >/dev/null
nb_ network rm nbn >/dev/null
save | grep -E "NETCTL-[A-Z]-[0-9a-f]{8}( |$)|NETCTL-[NIM]-" >/dev/null && fail "rules left: $(save | grep NETCTL-)"
[ -z "$(fw_network_objects)" ] || fail "network rules left: $(fw_network_objects)"
echo ok
