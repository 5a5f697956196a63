#!/usr/bin/env bash
# Fetches the Debian source of the installed libiptc (source package iptables, the exact version of
# the installed libip4tc2) into .deps/iptables, so the build can link libiptc statically: Debian
# ships libip4tc/libip6tc only as shared objects, and with them netctl is the one dynamic
# executable left, paying the dynamic loader on every command (12% of an attach, tests/bench/README).
# Nothing on the machine changes: apt reads this machine's own archive entries, turned into deb-src
# entries in a private directory, with private lists and cache. On failure the build falls back to
# the shared libraries. Usage: scripts/fetch-libiptc.sh (needs apt-get, dpkg-source; no root).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$PWD/.deps/iptables
version=$(dpkg-query -W -f='${source:Version}' libip4tc2 2>/dev/null) ||
  { echo "fetch-libiptc: libip4tc2 is not installed" >&2; exit 1; }
if [ -f "$dest/libiptc/libip4tc.c" ] && [ "$(cat "$dest/.version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parts" "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
n=0
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  sed -n 's/^deb \(.*\)/deb-src \1/p' "$f" >"$work/parts/s$((n += 1)).list"
done
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  sed 's/^Types:.*/Types: deb-src/' "$f" >"$work/parts/s$((n += 1)).sources"
done
apt=(apt-get -qq -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/parts"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1
  -o APT::Sandbox::User="$(id -un)")
step() { "$@" >>"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }; }  # quiet unless it fails
cd "$work/src"
step "${apt[@]}" update
step "${apt[@]}" source --download-only "iptables=$version"
step dpkg-source -q -x ./*.dsc tree
rm -rf "$dest" && mkdir -p "${dest%/*}" && mv tree "$dest"
echo "$version" >"$dest/.version"
echo "fetch-libiptc: Debian source of libiptc $version in .deps/iptables"
