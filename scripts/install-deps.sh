#!/usr/bin/env bash
# Installs every Debian package the build, the demo and the tests need (Debian 12, as root).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "install-deps: run as root" >&2; exit 2; fi
pkgs=(
  build-essential g++ cmake ninja-build pkg-config git
  libnl-3-dev libnl-route-3-dev libnl-nf-3-dev libiptc-dev libip4tc-dev libip6tc-dev
  nlohmann-json3-dev libyaml-cpp-dev doctest-dev libsqlite3-dev libcli11-dev libfmt-dev
  clang-format iproute2 iptables conntrack busybox-static curl python3 util-linux procps
  # netctl-cni tests: cnitool's build (Debian's libcni), Podman with its CNI backend, the reference
  # CNI plugins (the benchmark's peer)
  golang-go golang-github-appc-cni-dev podman runc conmon containernetworking-plugins
  sqlite3 time clang-16 libclang-rt-16-dev
  libseccomp-dev musl-tools  # the default seccomp filter; the sealed exec stub (cnm/launcher/dmz)
  dpkg-dev xz-utils bzip2  # scripts/fetch-source.sh: dpkg-source unpacks Debian sources
  libnftnl-dev libmnl-dev nftables  # the nftables firewall backend; nft for its tests
  libldns-dev libboost-dev  # netctl-dns: DNS messages (ldns), sockets and timers (Boost.Asio)
  dnsperf aardvark-dns dnsmasq-base  # the DNS benchmark, its peer and its upstream (dnsmasq)
  docker.io  # the Docker driver's test runs the real dockerd 20.10 (never started on this host)
  etcd-server etcd-client libcurl4-openssl-dev libssl-dev jq  # multi-host: etcd, its client; jq reads
  # etcdctl's and netctl's JSON in the etcd and overlay scenarios
)
"$(dirname "$0")/apt-install.sh" "${pkgs[@]}"
# The Debian sources of libiptc and libmnl, which Debian ships only as shared objects: with both,
# netctl and netctl-cni link fully static; without one, netctl loads it (CMakeLists.txt).
"$(dirname "$0")/fetch-source.sh" iptables libip4tc2 iptables libiptc/libip4tc.c ||
  echo "install-deps: libiptc's source not fetched; netctl will link libiptc dynamically" >&2
"$(dirname "$0")/fetch-source.sh" libmnl libmnl0 libmnl src/attr.c ||
  echo "install-deps: libmnl's source not fetched; netctl will link libmnl dynamically" >&2
