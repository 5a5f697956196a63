# Podman 4.3 with its CNI backend on netctl-cni: a hand-written conflist (cniVersion 0.4.0, type
# netctl-cni, network defined inline), `podman run --network cninet -p 8080:80` of a busybox image
# imported from a local rootfs tarball (no registry), the port fetched from a LAN neighbour, the
# container shown in `netctl network inspect`, a second container reaching it by address and by
# name (netctl-dns), and everything released by `podman rm`.
# Podman runs entirely inside the throwaway host, with its storage, runroot, tmpdir, config and
# networks under the test's state root; /run and /var/lib are tmpfs here. Skipped (exit 77, with
# the reason; never a pass, and a failure under CI) only if Podman is missing or cannot start any
# container on this machine.
source "$FIXTURES/lib.sh"; throwaway_host "$0" "$@"; source "$(dirname "$0")/lib.sh"
NETCTL_CNI=${NETCTL_CNI:-$(dirname "$NETCTL")/netctl-cni}
command -v podman >/dev/null || skip "podman is not installed (scripts/install-deps.sh)"
W=$NETCTL_ROOT/podman
mkdir -p "$W/bin" "$W/net.d" "$W/root" "$W/runroot" "$W/tmp" "$W/rootfs/bin" "$W/rootfs/www"
MASKS=()
cleanup() {
  local m
  if [ -n "${P:-}" ]; then $P rm -f -t 0 --all >/dev/null 2>&1 || true; fi
  awk -v d="$W" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  for m in "${MASKS[@]}"; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$NETCTL_ROOT"
}
trap cleanup EXIT
for m in /run /var/lib; do mount -t tmpfs -o mode=755 tmpfs "$m" && MASKS=("$m" "${MASKS[@]}"); done
mkdir -p /run/netns
add_neighbour nb 198.51.100.2/24 198.51.100.1/24
ln -s "$NETCTL_CNI" "$W/bin/netctl-cni"
cp /bin/busybox "$W/rootfs/bin/"
for c in sh httpd nc echo cat true nslookup; do ln -s busybox "$W/rootfs/bin/$c"; done
echo hello-podman >"$W/rootfs/www/index.html"
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
cat >"$W/containers.conf" <<CONF
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$W/events.log"
[network]
network_backend = "cni"
cni_plugin_dirs = ["$W/bin"]
network_config_dir = "$W/net.d"
CONF
# The sample conflist plus stateRoot: podman's cleanup process (which runs DEL when a container
# stops) starts from conmon with a clean environment, so NETCTL_ROOT does not reach it.
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["plugins"][0]["stateRoot"]=sys.argv[2]; print(json.dumps(c))' \
  "$FIXTURES/cni/valid/podman-cninet.conflist" "$NETCTL_ROOT" >"$W/net.d/cninet.conflist"
export CONTAINERS_CONF=$W/containers.conf NETCTL_ROOT
P="env TMPDIR=$W/tmp podman --root $W/root --runroot $W/runroot --tmpdir $W/tmp --storage-driver vfs"
$P import -q "$W/rootfs.tar" localhost/netctl-busybox:1 >/dev/null || fail "podman import"
if ! err=$($P run --rm --network none localhost/netctl-busybox:1 true 2>&1); then
  skip "podman cannot start a container here: $(echo "$err" | tail -n 1)"
fi
$P network ls --format '{{.Name}} {{.Driver}}' | grep '^cninet netctl-cni$' >/dev/null ||
  fail "podman did not load the netctl-cni conflist: $($P network ls 2>&1)"
$P run -d --name web --network cninet -p 8080:80 localhost/netctl-busybox:1 httpd -f -p 80 -h /www >/dev/null ||
  fail "podman run on cninet"
got=""
for _ in $(seq 50); do
  got=$(ip netns exec nb curl -s -m 2 http://198.51.100.1:8080/ 2>/dev/null || true)
  [ -n "$got" ] && break; sleep 0.1
done
[ "$got" = hello-podman ] || fail "neighbour -> 198.51.100.1:8080 got '$got'"
cid=$($P inspect --format '{{.Id}}' web)
nc_ --format json network inspect cninet | python3 -c '
import json,sys; c=list(json.load(sys.stdin)[0]["Containers"].values())
assert len(c)==1 and c[0]["Name"]=="cni:"+sys.argv[1] and c[0]["IfName"]=="eth0" and c[0]["Ports"][0]["HostPort"]==8080, c' "$cid" ||
  fail "netctl network inspect does not show the podman container"
# A second container on the same network reaches the first by its address.
ip=$(nc_ --format json network inspect cninet | python3 -c 'import json,sys; print(list(json.load(sys.stdin)[0]["Containers"].values())[0]["IPv4Address"].split("/")[0])')
got=$($P run --rm --network cninet localhost/netctl-busybox:1 sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc $ip 80" 2>&1) ||
  fail "second container: $got"
[[ "$got" == *hello-podman* ]] || fail "container -> $ip:80 got '$got'"
# And by name: netctl-cni keeps K8S_POD_NAME (Podman passes the container name) and returns the
# gateway as the nameserver, which Podman writes into the container's resolv.conf.
got=$($P run --rm --network cninet localhost/netctl-busybox:1 nslookup web 2>&1) ||
  fail "nslookup web from a second podman container: $got"
[ "$(awk '/^Name:/ {on = 1} on && /^Address:/ {print $2}' <<<"$got")" = "$ip" ] ||
  fail "a podman container resolves web as: $got (want $ip)"
$P rm -f -t 0 web >/dev/null || fail "podman rm"
eps=$(nc_ --format json network inspect cninet | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["Containers"]))')
[ "$eps" = 0 ] || fail "$eps endpoints left after podman rm"
[ "$(ip -o link show type veth | grep -c ': nv')" = 0 ] || fail "veths left after podman rm"
[ "$(fw_port_count)" = 0 ] || fail "port entries left after podman rm: $(fw_ports)"
echo ok
