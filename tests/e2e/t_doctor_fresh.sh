# doctor on a host where netctl made nothing yet is clean (exit 0), also beside another tool's
# bridge, chains and veths (Docker's shape, in the legacy tables and in iptables-nft's) and links whose names only look like netctl's (nvpn0,
# nc-mybridge); gc there changes nothing of theirs.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$NETCTL_ROOT"' EXIT

out=$(nc_ doctor) || fail "doctor on a fresh host: exit $?: $out"
[ "$out" = "no drift" ] || fail "doctor on a fresh host printed: $out"

# Docker's shape: docker0 with a veth on it, DOCKER chains with rules and hooks in filter and nat.
ip link add docker0 type bridge
ip link add veth1a2b3c type veth peer name veth1a2b3d
ip link set veth1a2b3c master docker0
iptables-legacy -N DOCKER
iptables-legacy -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp --dport 80 -j ACCEPT
iptables-legacy -A FORWARD -o docker0 -j DOCKER
iptables-legacy -t nat -N DOCKER
iptables-legacy -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
iptables-legacy -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
iptables-nft -N DOCKER
iptables-nft -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp --dport 80 -j ACCEPT
iptables-nft -A FORWARD -o docker0 -j DOCKER
iptables-nft -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
# Names that only look like netctl's: a VPN's interface and a user's bridge.
ip link add nvpn0 type veth peer name nvpn1
ip link add nc-mybridge type bridge
state() { ip -o link show | awk -F': ' '{print $2}' | sort; fw_save; }
before=$(state)
out=$(nc_ doctor) || fail "doctor beside Docker's objects: exit $?: $out"
[ "$out" = "no drift" ] || fail "doctor beside Docker's objects printed: $out"
nc_ gc >/dev/null || fail "gc beside Docker's objects failed"
[ "$(state)" = "$before" ] || fail "gc changed another tool's objects: $(diff <(echo "$before") <(state))"
echo "ok: doctor clean on a fresh host and beside Docker's objects; gc left them alone"
