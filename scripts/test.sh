#!/usr/bin/env bash
# make test, after deps and the build: unit tests (ctest), then the rig.
# Ends with one line "N passed, M failed, K skipped" counting unit tests and
# rig checks; exits non-zero on any failure.
#
#   RIG_KVM=both|ours|reference   which KVM the rig tests (default both)
#   RIG_ARGS="..."                extra rig.py arguments (e.g. --scenario payloads)
#   scripts/test.sh --unit-only
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=build
mkdir -p $BUILD/rig

passed=0 failed=0 skipped=0

# ---- unit tests
if [[ -f CMakeLists.txt ]]; then
	echo "== unit tests (ctest)"
	log=$BUILD/unit-tests.log
	ctest --test-dir $BUILD --output-on-failure -j"$(nproc)" 2>&1 | tee $log
	summary=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' $log | tail -n 1)
	if [[ $summary =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
		u_failed=${BASH_REMATCH[1]}
		u_total=${BASH_REMATCH[2]}
		# ctest counts skipped tests as passed; list them separately
		u_skipped=$(grep -cE '\((Skipped|Not Run|Disabled)\)' $log || true)
		passed=$((passed + u_total - u_failed - u_skipped))
		failed=$((failed + u_failed))
		skipped=$((skipped + u_skipped))
	else
		echo "unit tests: no ctest summary (no tests registered or ctest failed)"
		failed=$((failed + 1))
	fi
else
	echo "== unit tests: skipped, CMakeLists.txt does not exist yet"
fi

# ---- the rig
if [[ ${1:-} != --unit-only ]]; then
	echo "== rig tests (kvm=${RIG_KVM:-both})"
	rm -f $BUILD/rig/summary
	# shellcheck disable=SC2086
	tests/rig/rig.py --kvm="${RIG_KVM:-both}" --summary $BUILD/rig/summary ${RIG_ARGS:-}
	if read -r rp rf rs <$BUILD/rig/summary 2>/dev/null; then
		passed=$((passed + rp)) failed=$((failed + rf)) skipped=$((skipped + rs))
	else
		echo "rig: no summary (rig.py crashed)"
		failed=$((failed + 1))
	fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
