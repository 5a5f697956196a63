# Living with other firewalls, under either backend (fw_backend, tests/e2e/lib.sh):
# - Docker's and an admin's iptables-nft rules (tables ip filter / ip nat) stay byte-identical
#   through network create, publish, doctor, gc and rm, and traffic flows beside them;
# - a forward base chain with policy drop in another nftables table drops netctl's traffic
#   whatever netctl accepts (a base chain's accept does not end the hook): doctor warns (exit 0:
#   not drift) and names the rules to add; with exactly those added, traffic flows and the warning
#   is gone. The legacy iptables ACCEPT under the iptables backend does not help either.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
ask() { ip netns exec nb busybox nc -w 2 198.51.100.1 "$1" </dev/null 2>/dev/null || true; }
egress() { ip netns exec web busybox nc -w 2 198.51.100.2 7000 </dev/null 2>/dev/null || true; }
theirs() { { nft list table ip filter; nft list table ip nat; } 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'; }

# Docker's shape in iptables-nft, with an admin's rule in DOCKER-USER.
iptables-nft -N DOCKER-USER
iptables-nft -A DOCKER-USER -s 203.0.113.7/32 -j DROP
iptables-nft -A FORWARD -j DOCKER-USER
iptables-nft -t nat -N DOCKER
iptables-nft -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
iptables-nft -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
before=$(theirs)
[ -n "$before" ] || fail "no iptables-nft tables made"

ip netns exec nb busybox nc -ll -p 7000 -e echo nb & pids+=($!)
published_web
[ "$(ask 8080)" = up ] || fail "published port does not answer beside iptables-nft rules"
[ "$(egress)" = nb ] || fail "the container does not reach the neighbour beside iptables-nft rules"
out=$(stdout_of 0 nc_ doctor)
[ "$out" = "no drift" ] || fail "doctor beside iptables-nft rules: $out"
[ "$(theirs)" = "$before" ] || fail "iptables-nft tables changed: $(diff <(echo "$before") <(theirs))"

# Another table's forward chain with policy drop (a host firewall): traffic stops.
nft add table inet hostfw
nft add chain inet hostfw forward '{ type filter hook forward priority filter; policy drop; }'
[ -z "$(egress)" ] || fail "egress passed a forward chain with policy drop?"
[ -z "$(ask 8080)" ] || fail "the published port passed a forward chain with policy drop?"
out=$(stdout_of 0 nc_ doctor)  # a warning, not drift
warning=$(grep '^warning: table inet hostfw forward: policy drop' <<<"$out") ||
  fail "doctor does not warn about the drop policy: $out"
grep -F '"nc-' <<<"$warning" >/dev/null || fail "the warning names no bridge: $warning"
nc_ --format json doctor | python3 -c '
import json,sys; d=json.load(sys.stdin); assert d["Clean"] and len(d["Warnings"]) == 1, d' ||
  fail "doctor --format json: the warning is not in Warnings, or counts as drift"
# Exactly what the warning says to add.
IFS=';' read -r -a adds <<<"${warning#*; add: }"
[ "${#adds[@]}" = 2 ] || fail "want two rules to add: $warning"
for cmd in "${adds[@]}"; do eval "$cmd" || fail "the suggested '$cmd' failed"; done
[ "$(egress)" = nb ] || fail "egress still dropped with the suggested rules"
[ "$(ask 8080)" = up ] || fail "the published port still dropped with the suggested rules"
out=$(stdout_of 0 nc_ doctor)
[ "$out" = "no drift" ] || fail "doctor still warns with the suggested rules: $out"
hostfw=$(nft list table inet hostfw)

nc_ gc >/dev/null
nc_ sandbox rm --force web >/dev/null
nc_ network rm n1 >/dev/null
nc_ gc >/dev/null
[ "$(theirs)" = "$before" ] || fail "iptables-nft tables changed: $(diff <(echo "$before") <(theirs))"
[ "$(nft list table inet hostfw)" = "$hostfw" ] || fail "netctl changed the host firewall's table"
[ -z "$(fw_network_objects)" ] || fail "network rules left: $(fw_network_objects)"
echo ok
