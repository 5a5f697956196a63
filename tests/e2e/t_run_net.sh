# netctl run and networks: a published httpd reached from the host and a LAN neighbour, two
# containers talking by IP, containers on two networks isolated, -d then stop releasing the
# endpoint, its address and its port rules, and hot-plugging a running container.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_run.sh"
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
R=$ROOTFS
ask() { # NS|host HOST PORT: one HTTP GET, prints the body
  local cmd=(curl -s -m 2 "http://$2:$3/")
  if [ "$1" = host ]; then "${cmd[@]}" 2>/dev/null || true
  else ip netns exec "$1" "${cmd[@]}" 2>/dev/null || true; fi
}
# Inside a container (busybox wget crashes here): the body of GET http://$1/ through nc.
GET='get() { printf "GET / HTTP/1.0\r\n\r\n" | nc -w 2 "$1" 80 | tail -n 1; }'
in_get() { echo "$GET; get $1"; }

nc_ network create --subnet 10.89.0.0/24 n1 >/dev/null
nc_ network create --subnet 10.90.0.0/24 n2 >/dev/null
id=$(nc_ run -d --name web --network n1 --ip 10.89.0.10 -p 8080:80 --rootfs "$R" -- \
  /bin/httpd -f -p 80 -h /var/www)
[ ${#id} = 64 ] || fail "run -d printed '$id'"
# The network and the port are ready before exec: the first request may come at once.
[ "$(ask nb 198.51.100.1 8080)" = hello-from-rootfs ] || fail "neighbour -> host:8080"
[ "$(ask host 198.51.100.1 8080)" = hello-from-rootfs ] || fail "host -> host:8080"
[ "$(ask host 127.0.0.1 8080)" = hello-from-rootfs ] || fail "host -> 127.0.0.1:8080"
[ "$(inspect 'c["NetworkSettings"]["Networks"]["n1"]["IPAddress"]' web)" = 10.89.0.10 ] || fail "inspect IP"
nc_ ps | grep -E 'web .*Up .*8080->80/tcp' >/dev/null || fail "ps does not show web with its port"

# Two containers on n1 talk by IP; one on n2 cannot reach n1.
out=$(nc_ run --network n1 --rootfs "$R" -- /bin/sh -c "$(in_get 10.89.0.10)")
[ "$out" = hello-from-rootfs ] || fail "container -> container by IP: '$out'"
out=$(nc_ run --network n2 --rootfs "$R" -- /bin/sh -c "$(in_get 10.89.0.10); echo ran")
[ "$out" = ran ] || fail "a container on n2 reached n1 (or did not run): $out"
# A container on both networks reaches it (and has two interfaces).
out=$(nc_ run --network n2 --network n1 --rootfs "$R" -- /bin/sh -c "ls /sys/class/net | tr '\n' ' '; $(in_get 10.89.0.10)")
grep -E 'eth0 eth1' <<<"$out" >/dev/null || fail "two networks, interfaces: $out"
grep hello-from-rootfs <<<"$out" >/dev/null || fail "dual-homed container -> n1"

# Hot-plug: connect web to n2, reach it there from an n2 container, disconnect again.
nc_ network connect n2 web
ip2=$(inspect 'c["NetworkSettings"]["Networks"]["n2"]["IPAddress"]' web)
out=$(nc_ run --network n2 --rootfs "$R" -- /bin/sh -c "$(in_get "$ip2")")
[ "$out" = hello-from-rootfs ] || fail "hot-plugged endpoint not reachable: '$out'"
nc_ network disconnect n2 web
[ "$(nc_ exec web -- /bin/sh -c 'ls /sys/class/net | wc -l')" = 2 ] || fail "disconnect left an interface"

# stop releases the network: endpoint, address, port rules; the record shows the exit.
nc_ stop -t 1 web
[ "$(fw_port_count 8080)" = 0 ] || fail "port entries left after stop: $(fw_ports)"
[ -z "$(ask host 127.0.0.1 8080)" ] || fail "port still answers after stop"
[ "$(nc_ --format json network inspect n1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["Containers"]))')" = 0 ] ||
  fail "endpoint left on n1 after stop"
ip -o link show | grep -E ' nv[0-9a-f]{12}' >/dev/null && fail "veth left after stop: $(ip -o link | grep ' nv')"
[ "$(inspect 'c["State"]["Status"]' web)" = exited ] || fail "status after stop"
# The address is free again: a new container gets it.
nc_ run --network n1 --ip 10.89.0.10 --rm --rootfs "$R" -- /bin/true || fail "10.89.0.10 not released"
nc_ rm web
expect_rc 3 nc_ inspect web
echo ok
