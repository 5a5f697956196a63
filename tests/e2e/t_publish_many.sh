# 500 ports published through the CLI (50 sandboxes x 10 ports, TCP and UDP, some on a host
# address) and removed again leave the firewall byte-identical to before (counters aside); while
# published, every one is a DNAT rule or map element and sampled ones answer the neighbour.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$NETCTL_ROOT"' EXIT
# The IPv4 legacy tables (the IPv6 nat table comes into being with the first removal: not a rule)
# and the whole nftables ruleset.
tables() {
  iptables-legacy-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
  nft list ruleset | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/' | nft_sorted_elements
}

nc_ network create --subnet 10.63.0.0/24 n1 >/dev/null
before=$(tables)
for i in $(seq 1 50); do
  args=()
  for j in $(seq 0 9); do
    port=$((20000 + i * 10 + j))
    case $j in
      0) args+=(-p "198.51.100.1:$port:80") ;;
      1 | 2) args+=(-p "$port:$((5000 + j))/udp") ;;
      *) args+=(-p "$port:$((8000 + j))") ;;
    esac
  done
  nc_ sandbox create "s$i" >/dev/null
  nc_ network connect "${args[@]}" n1 "s$i"
done
[ "$(fw_port_count)" = 500 ] || fail "not 500 port entries: $(fw_port_count)"
for i in 7 33; do  # sampled: the host-address port and a TCP port of two sandboxes
  ip netns exec "s$i" busybox nc -ll -p 80 -e echo "s$i-80" & pids+=($!)
  ip netns exec "s$i" busybox nc -ll -p 8005 -e echo "s$i-8005" & pids+=($!)
done
sleep 0.3
for i in 7 33; do
  got=$(ip netns exec nb busybox nc -w 2 198.51.100.1 $((20000 + i * 10)) </dev/null || true)
  [ "$got" = "s$i-80" ] || fail "s$i host-address port answered '$got'"
  got=$(ip netns exec nb busybox nc -w 2 198.51.100.1 $((20000 + i * 10 + 5)) </dev/null || true)
  [ "$got" = "s$i-8005" ] || fail "s$i port 8005 answered '$got'"
done
kill "${pids[@]}" 2>/dev/null; pids=()
for i in $(seq 1 25); do nc_ network disconnect n1 "s$i"; done
# the other half goes with their sandboxes
mapfile -t rest < <(seq -f 's%g' 26 50)
nc_ sandbox rm --force "${rest[@]}" >/dev/null
after=$(tables)
if [ "$before" != "$after" ]; then
  diff <(echo "$before") <(echo "$after") | head -20 >&2
  fail "tables differ after 500 ports were published and removed"
fi
echo ok
