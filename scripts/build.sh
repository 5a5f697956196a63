#!/usr/bin/env bash
# Builds netctl. Usage: scripts/build.sh [release|asan] [TARGET...]
# release: build/ (RelWithDebInfo); asan: build-asan/ (ASan+UBSan, -O0, line tables only: reports
# keep file:line, and the tree builds in half the time of full debug info). No TARGET: everything.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
shift || true
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DNETCTL_SANITIZE=ON "-DCMAKE_CXX_FLAGS_DEBUG=-g1"
    "-DCMAKE_C_FLAGS_DEBUG=-g1") ;;
  *) echo "usage: $0 [release|asan] [TARGET...]" >&2; exit 2 ;;
esac
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S . -B "$dir" "${gen[@]}" "${flags[@]}" >/dev/null
targets=(); for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
