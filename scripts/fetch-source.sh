#!/usr/bin/env bash
# Fetches the Debian source of an installed library (its exact version) into .deps/DIR, so the build
# can link it statically where Debian ships only a shared object. Nothing on the machine changes:
# apt reads this machine's own archive entries, turned into deb-src entries in a private directory,
# with private lists and cache. Exits 1 when the source cannot be had; the build then links the
# shared library (CMakeLists.txt says what that costs).
# Usage: scripts/fetch-source.sh SOURCE_PACKAGE INSTALLED_BINARY_PACKAGE DIR PROOF_FILE
#   e.g. scripts/fetch-source.sh iptables libip4tc2 iptables libiptc/libip4tc.c
# (needs apt-get and dpkg-source; no root).
set -euo pipefail
[ $# = 4 ] || { echo "usage: $0 SOURCE_PACKAGE BINARY_PACKAGE DIR PROOF_FILE" >&2; exit 2; }
src=$1 bin=$2
cd "$(dirname "$0")/.."
dest=$PWD/.deps/$3
version=$(dpkg-query -W -f='${source:Version}' "$bin" 2>/dev/null) ||
  { echo "fetch-source: $bin is not installed" >&2; exit 1; }
if [ -f "$dest/$4" ] && [ "$(cat "$dest/.version" 2>/dev/null)" = "$version" ]; then
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
step() { "$@" >>"$work/log" 2>&1 || { tail -n 3 "$work/log" >&2; exit 1; }; }  # quiet unless it fails
cd "$work/src"
step "${apt[@]}" update
step "${apt[@]}" source --download-only "$src=$version"
step dpkg-source -q -x ./*.dsc tree
rm -rf "$dest" && mkdir -p "${dest%/*}" && mv tree "$dest"
echo "$version" >"$dest/.version"
echo "fetch-source: Debian source of $src $version in .deps/$3"
