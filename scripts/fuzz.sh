#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 16 (ASan+UBSan) in build-fuzz/ and runs each for a bounded
# time over its committed seed corpus (tests/fuzz/corpus/<target>); new inputs go to a scratch
# corpus inside build-fuzz, crashes to build-fuzz/crashes/. Exits non-zero on any crash.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 45)] [TARGET...]
# clang 16 with GCC 12's libstdc++: <expected> is guarded by __cpp_concepts >= 202002L, which
# clang 16 does not announce although it handles the header; the flag below announces it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-${FUZZ_SECONDS:-45}}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config ports net cli cni dns_answer)
# -O1 with line tables: the usual fuzzing trade-off, and the tree builds in a few minutes.
flags="-O1 -gline-tables-only"
flags+=" -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
flags+=" -U__cpp_concepts -D__cpp_concepts=202002L -Wno-builtin-macro-redefined"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=None -DNETCTL_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build build-fuzz -j"${FUZZ_JOBS:-2}" --target "${targets[@]/#/fuzz_}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p build-fuzz/crashes
failed=0
# As root, the runs get their own network and mount namespaces: fuzz_cli stops before any command
# runs, but should that ever break, nothing reaches the machine's own links or rules.
jail=()
[ "$(id -u)" != 0 ] || jail=(unshare --net --mount)
for t in "${targets[@]}"; do
  scratch=build-fuzz/corpus/$t
  mkdir -p "$scratch"
  echo "== fuzz_$t: ${secs}s over tests/fuzz/corpus/$t"
  if ! "${jail[@]}" build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=build-fuzz/crashes/"$t"- -print_final_stats=1 \
      "$scratch" tests/fuzz/corpus/"$t" 2>build-fuzz/fuzz_"$t".log; then
    failed=1
    echo "fuzz_$t FOUND A CRASH:"; tail -n 40 build-fuzz/fuzz_"$t".log
  fi
  grep -E '^stat::number_of_executed_units|^stat::new_units_added' build-fuzz/fuzz_"$t".log |
    tr '\n' ' '; echo
done
exit "$failed"
