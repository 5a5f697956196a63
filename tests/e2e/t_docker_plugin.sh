# Docker's remote network and IPAM driver (plugins/docker, `netctl plugin serve`) under the real
# dockerd 20.10: network create through netctl, a published port reached from the host and a LAN
# neighbour, two containers by IP and by name, doctor and gc beside running containers, the plugin
# killed -9 and dockerd restarted (live-restore) mid-way, stop/start, connect/disconnect of a
# running container, a netctl network offered with -o netctl.network, errors that leave nothing,
# and nothing of netctl's left after docker rm and network rm.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
if ! command -v dockerd >/dev/null || [ ! -x /usr/bin/docker ]; then
  skip "dockerd (docker.io) is not installed"
fi
source "$(dirname "$0")/../bench/lib.sh"
plugin_bin=$(dirname "$NETCTL")/netctl-docker
[ -x "$plugin_bin" ] || fail "netctl-docker is not built next to $NETCTL"

work=$(mktemp -d /tmp/netctl-docker-test.XXXXXX)
plugin_pid=
cleanup() {
  # shellcheck disable=SC2046
  [ -n "$DOCKERD_PID" ] && { docker_ rm -f $(docker_ ps -aq) >/dev/null 2>&1 || true; }
  stop_dockerd
  if [ -n "$plugin_pid" ]; then kill "$plugin_pid" 2>/dev/null; wait "$plugin_pid" 2>/dev/null || true; fi
  # dockerd's cgroups (docker/<id>) are empty once its containers are gone.
  for d in /sys/fs/cgroup/docker /sys/fs/cgroup/*/docker; do
    [ -d "$d" ] && [ -z "${docker_cg_before:-}" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$work" "$NETCTL_ROOT"
}
docker_cg_before=$(ls -d /sys/fs/cgroup/docker /sys/fs/cgroup/*/docker 2>/dev/null || true)
trap cleanup EXIT

# ip_forward on before dockerd starts: dockerd then leaves the FORWARD policy alone.
sysctl -qw net.ipv4.ip_forward=1
# --live-restore: containers outlive the dockerd restart below.
DOCKERD_FLAGS="--live-restore"
start_dockerd "$work/docker" || fail "start dockerd: $DOCKERD_ERR"
# After start_dockerd, whose tmpfs on /run would hide the neighbour's /run/netns/nb.
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
start_plugin() {
  "$NETCTL" plugin serve >"$work/plugin.log" 2>&1 & plugin_pid=$!
  for _ in $(seq 100); do [ -S /run/docker/plugins/netctl.sock ] && return 0; sleep 0.05; done
  fail "plugin socket missing: $(cat "$work/plugin.log")"
}
start_plugin
# The protocol itself: activation, the two error fields, 404 for an unknown method.
ask_plugin() {  # METHOD BODY: prints "HTTP-STATUS BODY"
  python3 - "$@" <<'PY'
import http.client, socket, sys
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect("/run/docker/plugins/netctl.sock")
c = Conn("localhost")
c.request("POST", "/" + sys.argv[1], sys.argv[2],
          {"Content-Type": "application/vnd.docker.plugins.v1.2+json"})
r = c.getresponse()
print(r.status, r.read().decode())
PY
}
[ "$(ask_plugin Plugin.Activate '')" = '200 {"Implements":["NetworkDriver","IpamDriver"]}' ] ||
  fail "activate: $(ask_plugin Plugin.Activate '')"
[ "$(ask_plugin NetworkDriver.GetCapabilities '{}')" = '200 {"ConnectivityScope":"local","Scope":"local"}' ] ||
  fail "capabilities: $(ask_plugin NetworkDriver.GetCapabilities '{}')"
ask_plugin NetworkDriver.CreateNetwork '{"NetworkID":"../x"}' | grep '^200 {"Err":".*not a Docker id' >/dev/null ||
  fail "CreateNetwork error: $(ask_plugin NetworkDriver.CreateNetwork '{"NetworkID":"../x"}')"
ask_plugin IpamDriver.RequestPool '{"Pool":"10.0.0.1/33"}' | grep '^200 {"Error":' >/dev/null ||
  fail "RequestPool error: $(ask_plugin IpamDriver.RequestPool '{"Pool":"10.0.0.1/33"}')"
ask_plugin NetworkDriver.Nope '{}' | grep '^404 ' >/dev/null || fail "unknown method not 404"
"$FIXTURES/rootfs.sh" "$work/rootfs"
tar -C "$work/rootfs" -c . | docker_ import - netctl-test-bb >/dev/null

nc_links() { ip -o link show | awk -F': ' '{print $2}' | grep -E '^(nc-|nv|nd)' | sed 's/@.*//' | sort || true; }
# The number of netctl endpoints over all networks.
nc_eps() { python3 - "$NETCTL" <<'PY'
import json, subprocess, sys
ask = lambda *a: json.loads(subprocess.check_output([sys.argv[1], "--format", "json", *a]))
names = [n["Name"] for n in ask("network", "ls")]
print(sum(len(n.get("Containers") or {}) for n in ask("network", "inspect", *names)) if names else 0)
PY
}
before_links=$(nc_links)

# Network create through netctl: the netctl network and both inspects agree on the subnet.
nid=$(docker_ network create -d netctl --ipam-driver netctl --subnet 10.60.0.0/24 n1)
nname=docker-${nid:0:12}
nc_ network ls | grep -w "$nname" >/dev/null || fail "netctl network ls lacks $nname"
[ "$(nc_ --format json network inspect "$nname" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["IPAM"]["Config"][0]["Subnet"])')" = 10.60.0.0/24 ] ||
  fail "netctl subnet"

# A published port, reached from the host (127.0.0.1, its address) and from a LAN neighbour.
HTTPD=(httpd -f -p 80 -h /var/www)
docker_ run -d --name web --network n1 -p 8080:80 netctl-test-bb "${HTTPD[@]}" >/dev/null
web_ip=$(docker_ inspect -f '{{.NetworkSettings.Networks.n1.IPAddress}}' web)
[ "$web_ip" = 10.60.0.2 ] || fail "web's address: '$web_ip'"
# CONTAINER: the address and MAC of netctl's endpoint for the container's Docker endpoint on n1.
nc_ep_of() {
  nc_ --format json network inspect "$nname" | python3 -c '
import json, sys
for e in json.load(sys.stdin)[0]["Containers"].values():
    if e["Target"] == "docker:" + sys.argv[1]: print(e["IPv4Address"], e["MacAddress"])
' "$(docker_ inspect -f '{{.NetworkSettings.Networks.n1.EndpointID}}' "$1")"
}
[ "$(nc_ep_of web)" = "10.60.0.2/24 $(docker_ inspect -f '{{.NetworkSettings.Networks.n1.MacAddress}}' web)" ] ||
  fail "netctl's record of web: '$(nc_ep_of web)'"
# (busybox's wget -T crashes: timeout(1) bounds it instead)
get() { timeout 3 busybox wget -q -O - "$@" 2>/dev/null || true; }
for _ in $(seq 50); do [ -n "$(get http://10.60.0.2/)" ] && break; sleep 0.1; done
[ "$(get http://127.0.0.1:8080/)" = hello-from-rootfs ] || fail "127.0.0.1:8080"
[ "$(get http://198.51.100.1:8080/)" = hello-from-rootfs ] || fail "host address :8080"
[ "$(ip netns exec nb timeout 3 busybox wget -q -O - http://198.51.100.1:8080/ 2>/dev/null)" = hello-from-rootfs ] ||
  fail "neighbour -> host:8080"
docker_ exec web ip route | grep "default via 10.60.0.1 dev eth0" >/dev/null ||
  fail "web's default route: $(docker_ exec web ip route)"

# Two containers reach each other by IP and by name (Docker's embedded DNS, 127.0.0.11).
docker_ run -d --name cli --network n1 netctl-test-bb sleep 600 >/dev/null
cli_ip=$(docker_ inspect -f '{{.NetworkSettings.Networks.n1.IPAddress}}' cli)
[ "$cli_ip" = 10.60.0.3 ] || fail "cli's address: '$cli_ip'"
cwget() { docker_ exec "$1" timeout 3 wget -q -O - "$2" 2>/dev/null || true; }
[ "$(cwget cli http://10.60.0.2/)" = hello-from-rootfs ] || fail "cli -> web by IP"
docker_ exec cli nslookup web 127.0.0.11 | grep 10.60.0.2 >/dev/null ||
  fail "cli cannot resolve web: $(docker_ exec cli nslookup web 127.0.0.11 2>&1)"
docker_ exec web ping -c 1 -W 2 10.60.0.3 >/dev/null || fail "web -> cli by IP"
# --ip, --mac-address and --network-alias: netctl records what Docker asked for.
docker_ run -d --name fixed --network n1 --ip 10.60.0.50 --mac-address 02:42:0a:3c:00:99 \
  --network-alias www netctl-test-bb sleep 600 >/dev/null
docker_ exec fixed ip -o addr show eth0 | grep "10.60.0.50/24" >/dev/null || fail "fixed's --ip"
docker_ exec fixed ip link show eth0 | grep "02:42:0a:3c:00:99" >/dev/null || fail "fixed's MAC"
[ "$(nc_ep_of fixed)" = "10.60.0.50/24 02:42:0a:3c:00:99" ] || fail "netctl's record of fixed: $(nc_ep_of fixed)"
docker_ exec cli nslookup www 127.0.0.11 | grep 10.60.0.50 >/dev/null || fail "alias www"
docker_ rm -f fixed >/dev/null
[ "$(nc_eps)" = 2 ] || fail "netctl endpoints: $(nc_eps), want 2"
[ "$(fw_port_count 8080)" = 1 ] || fail "published 8080: $(fw_ports)"
# The netctl CLI sees Docker's endpoints as its own: doctor is clean, gc keeps them.
nc_ doctor >/dev/null || fail "doctor with Docker's containers running: $(nc_ doctor 2>&1)"
nc_ gc >/dev/null || fail "gc: $(nc_ gc 2>&1)"
[ "$(nc_eps)" = 2 ] || fail "gc removed Docker's endpoints"
[ "$(cwget cli http://10.60.0.2/)" = hello-from-rootfs ] || fail "cli -> web after gc"

# The plugin killed (-9) and started again serves the same state from the store; dockerd
# restarted (live-restore) keeps the containers and their published port.
kill -9 "$plugin_pid"; wait "$plugin_pid" 2>/dev/null || true
start_plugin
restart_dockerd() {  # as start_dockerd launched it, without mounting /run again
  kill -TERM "$DOCKERD_PID"; wait "$DOCKERD_PID" 2>/dev/null || true
  dockerd --config-file "$DOCKERD_DIR/daemon.json" --data-root "$DOCKERD_DIR/data" \
    --exec-root "$DOCKERD_DIR/exec" --pidfile "$DOCKERD_DIR/docker.pid" -H "$DOCKER_HOST" \
    --log-level warn $DOCKERD_FLAGS >>"$DOCKERD_DIR/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 300); do docker_ version >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "dockerd did not come back: $(tail -n 5 "$DOCKERD_DIR/dockerd.log")"
}
restart_dockerd
[ "$(docker_ inspect -f '{{.State.Running}}' web)" = true ] || fail "web did not survive the restart"
[ "$(ip netns exec nb timeout 3 busybox wget -q -O - http://198.51.100.1:8080/ 2>/dev/null)" = hello-from-rootfs ] ||
  fail "neighbour -> host:8080 after the restarts"
[ "$(cwget cli http://10.60.0.2/)" = hello-from-rootfs ] || fail "cli -> web after the restarts"

# stop releases the endpoint, start makes a new one.
docker_ stop -t 1 web >/dev/null
[ "$(nc_eps)" = 1 ] || fail "netctl endpoints with web stopped: $(nc_eps)"
[ "$(fw_port_count 8080)" = 0 ] || fail "8080 still published with web stopped"
docker_ start web >/dev/null
for _ in $(seq 50); do [ -n "$(get http://127.0.0.1:8080/)" ] && break; sleep 0.1; done
[ "$(get http://127.0.0.1:8080/)" = hello-from-rootfs ] || fail "127.0.0.1:8080 after docker start"

# connect/disconnect of a running container: a second interface through a second netctl network.
nid2=$(docker_ network create -d netctl --ipam-driver netctl --subnet 10.61.0.0/24 n2)
# A plugin that is down: dockerd retries it for 30 s, then a clean error and nothing half-made.
kill "$plugin_pid"; wait "$plugin_pid" 2>/dev/null || true
out=$(timeout 120 /usr/bin/docker network connect n2 cli 2>&1) && fail "connect with the plugin down"
echo "docker network connect with the plugin down: $out" >&2
grep -E "netctl.sock.*connection refused" <<<"$out" >/dev/null || fail "connect with the plugin down: $out"
start_plugin
[ "$(nc_eps)" = 2 ] || fail "netctl endpoints after a connect with the plugin down: $(nc_eps)"
docker_ exec cli ip -o addr | grep 10.61.0 >/dev/null && fail "cli got an n2 address"
docker_ network connect n2 cli
docker_ exec cli ip -o addr show eth1 | grep "10.61.0.2/24" >/dev/null ||
  fail "cli's eth1: $(docker_ exec cli ip addr)"
[ "$(nc_eps)" = 3 ] || fail "netctl endpoints after connect: $(nc_eps)"
docker_ network disconnect n2 cli
docker_ exec cli ip link show eth1 >/dev/null 2>&1 && fail "eth1 still in cli"
[ "$(nc_eps)" = 2 ] || fail "netctl endpoints after disconnect: $(nc_eps)"
nc_ --format json network inspect "docker-${nid2:0:12}" | grep '"Containers": {}' >/dev/null ||
  fail "n2 keeps an endpoint: $(nc_ --format json network inspect "docker-${nid2:0:12}")"

# An existing netctl network offered to Docker with -o netctl.network=NAME: used, never removed.
nc_ network create --subnet 10.62.0.0/24 shared >/dev/null
docker_ network create -d netctl --ipam-driver netctl --subnet 10.62.0.0/24 \
  -o netctl.network=shared n3 >/dev/null
docker_ network connect n3 cli
docker_ exec cli ip -o addr | grep "10.62.0.2/24" >/dev/null ||
  fail "cli on the offered network: $(docker_ exec cli ip addr)"
nc_ --format json network inspect shared | grep "10.62.0.2/24" >/dev/null ||
  fail "shared lacks cli's endpoint"
docker_ network disconnect n3 cli
docker_ network rm n3 >/dev/null
nc_ network inspect shared >/dev/null || fail "docker network rm removed the offered network"

# --gateway, --ipv6 and --internal: a dual-stack internal network, no default route.
docker_ network create -d netctl --ipam-driver netctl --subnet 10.65.0.0/24 --gateway 10.65.0.254 \
  --ipv6 --subnet fd65::/64 --internal n4 >/dev/null
n4=docker-$(docker_ network inspect -f '{{.Id}}' n4 | cut -c1-12)
nc_ --format json network inspect "$n4" | python3 -c '
import json, sys
n = json.load(sys.stdin)[0]
gws = [c.get("Gateway") for c in n["IPAM"]["Config"]]
assert n["Internal"] and n["EnableIPv6"] and gws == ["10.65.0.254", "fd65::1"], (n["Internal"], gws)
' || fail "netctl's view of n4: $(nc_ --format json network inspect "$n4")"
docker_ run -d --name dual --network n4 netctl-test-bb sleep 600 >/dev/null
# The lowest free address: the gateway is .254, so .1 (as Docker's own IPAM would choose).
docker_ exec dual ip -o addr show eth0 | grep "10.65.0.1/24" >/dev/null || fail "dual's IPv4"
docker_ exec dual ip -o addr show eth0 | grep "fd65::2/64" >/dev/null || fail "dual's IPv6: $(docker_ exec dual ip addr)"
docker_ exec dual ip route | grep default && fail "a default route on an internal network"
docker_ exec dual ping -c 1 -W 2 10.65.0.254 >/dev/null || fail "dual -> its gateway"
docker_ rm -f dual >/dev/null
docker_ network rm n4 >/dev/null

# No --subnet: netctl's default pools give one, distinct per network and clear of the host's
# routes (dockerd's docker0); --ip-range: Docker's addresses come from the range only.
docker_ network create -d netctl --ipam-driver netctl a1 >/dev/null
docker_ network create -d netctl --ipam-driver netctl a2 >/dev/null
nc_subnet() {
  nc_ --format json network inspect "docker-$(docker_ network inspect -f '{{.Id}}' "$1" | cut -c1-12)" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["IPAM"]["Config"][0]["Subnet"])'
}
s1=$(nc_subnet a1); s2=$(nc_subnet a2)
[ -n "$s1" ] && [ -n "$s2" ] && [ "$s1" != "$s2" ] || fail "automatic subnets: '$s1' '$s2'"
[ "$(docker_ network inspect -f '{{(index .IPAM.Config 0).Subnet}}' a1)" = "$s1" ] ||
  fail "docker and netctl disagree on a1's subnet"
python3 - "$s1" "$s2" "$(ip -o -4 addr show docker0 2>/dev/null | awk '{print $4}')" <<'PY' ||
import ipaddress, sys
nets = [ipaddress.ip_network(a, strict=False) for a in sys.argv[1:] if a]
sys.exit(any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:]))
PY
  fail "automatic subnets overlap each other or docker0: $s1 $s2"
docker_ run -d --name auto --network a1 netctl-test-bb sleep 600 >/dev/null
auto_ip=$(docker_ inspect -f '{{.NetworkSettings.Networks.a1.IPAddress}}' auto)
python3 -c 'import ipaddress,sys; sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' \
  "$auto_ip" "$s1" || fail "auto's address $auto_ip is not in $s1"
docker_ rm -f auto >/dev/null
docker_ network rm a1 a2 >/dev/null
docker_ network create -d netctl --ipam-driver netctl --subnet 10.66.0.0/24 --ip-range 10.66.0.128/25 r1 >/dev/null
r1=docker-$(docker_ network inspect -f '{{.Id}}' r1 | cut -c1-12)
nc_ --format json network inspect "$r1" | grep '"IPRange": "10.66.0.128/25"' >/dev/null ||
  fail "netctl's r1 lacks the ip-range: $(nc_ --format json network inspect "$r1")"
docker_ run -d --name ranged --network r1 netctl-test-bb sleep 600 >/dev/null
[ "$(docker_ inspect -f '{{.NetworkSettings.Networks.r1.IPAddress}}' ranged)" = 10.66.0.128 ] ||
  fail "ranged's address: $(docker_ inspect -f '{{.NetworkSettings.Networks.r1.IPAddress}}' ranged)"
docker_ rm -f ranged >/dev/null
docker_ network rm r1 >/dev/null

# Errors: a clean docker error and nothing left behind.
snap=$(nc_ --format json network ls)
links=$(nc_links)
out=$(docker_ network create -d netctl --ipam-driver netctl --subnet 10.60.0.128/25 bad1 2>&1) &&
  fail "overlapping subnet accepted"
grep -i "overlaps" <<<"$out" >/dev/null || fail "overlap error: $out"
out=$(docker_ network create -d netctl --ipam-driver netctl --subnet 10.63.0.0/24 -o bogus=1 bad2 2>&1) &&
  fail "bad option accepted"
grep "bogus" <<<"$out" >/dev/null || fail "bad option error: $out"
out=$(docker_ network create -d netctl --ipam-driver netctl --subnet 10.64.0.0/24 \
  -o netctl.network=nosuch bad3 2>&1) && fail "unknown offered network accepted"
grep "nosuch" <<<"$out" >/dev/null || fail "unknown offered network error: $out"
docker_ network ls --format '{{.Name}}' | grep -E '^bad' && fail "docker kept a failed network"
[ "$(nc_ --format json network ls)" = "$snap" ] || fail "a failed create changed netctl's networks"
[ "$(nc_links)" = "$links" ] || fail "a failed create left links"

# docker rm and network rm leave no endpoint, veth, rule or IPAM row.
docker_ rm -f web cli >/dev/null
[ "$(nc_eps)" = 0 ] || fail "netctl endpoints after docker rm: $(nc_eps)"
[ "$(fw_port_count 8080)" = 0 ] || fail "port 8080 still published: $(fw_ports)"
docker_ network rm n1 n2 >/dev/null
nc_ network ls | grep docker- && fail "netctl keeps Docker's networks"
nc_ network rm shared >/dev/null
[ "$(nc_links)" = "$before_links" ] || fail "links left: $(nc_links)"
[ -z "$(fw_ports)" ] || fail "ports left: $(fw_ports)"
nc_ doctor >/dev/null || fail "doctor: $(nc_ doctor 2>&1)"
python3 - "$NETCTL_ROOT/netctl.db" <<'PY' || fail "IPAM rows left"
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("select * from ipam_addresses").fetchall()
sys.exit(1 if rows else 0)
PY
