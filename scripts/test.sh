#!/usr/bin/env bash
# Installs what is needed, builds twice (RelWithDebInfo and ASan+UBSan) and runs every test:
# unit and privileged tests under the sanitizers, then all suites on the release build.
# Privileged tests and e2e scenarios run only inside namespaces they make themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-layout.sh
scripts/build.sh release
scripts/check-no-fakes.sh build  # the shipped binaries hold no test double (tests/fakes)
scripts/build.sh asan netctl_unit netctl_priv  # what the sanitized suites run
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== ASan+UBSan: unit and priv"
(cd build-asan && ctest --output-on-failure -R '^(unit|priv)$')
# Another netctl root runs a container beside every suite below; they must leave it untouched.
scripts/bystander.sh start
trap 'scripts/bystander.sh check >/dev/null 2>&1 || true' EXIT  # stopped even when a suite fails
# e2e: the whole suite with the default firewall backend, the firewall scenarios again with the
# other (tests/e2e/run.sh).
echo "== RelWithDebInfo: unit, priv, e2e"
(cd build && ctest --output-on-failure)
scripts/stress.sh  # crash and concurrency harnesses, fuzzing: bounded (tests/stress, tests/fuzz)
trap - EXIT
scripts/bystander.sh check
