#!/usr/bin/env bash
# Builds alts twice (plain, and with ASan+UBSan) and runs the whole test suite on each,
# then runs the unit tests under valgrind. Usage: bash tests/run-all.sh [build-root]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-tests}
jobs=$(nproc)

bash "$src/.ci/install-deps"
if [ -f "$src/tests/js/package.json" ]; then
	npm ci --prefix "$src/tests/js" --no-audit --no-fund --loglevel=error
fi

status=0
total_passed=0
total_failed=0
run_ctest() {
	local dir=$1 log; shift
	log="$dir/ctest.log"
	ctest --test-dir "$dir" --output-on-failure -j "$jobs" "$@" 2>&1 | tee "$log" || true
	local line passed failed
	line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
	if [ -z "$line" ]; then status=1; return; fi
	failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
	passed=$(( $(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line") - failed ))
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
	[ "$failed" -eq 0 ] || status=1
}

echo "== build: plain"
cmake -S "$src" -B "$out/plain" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out/plain" -j "$jobs"
run_ctest "$out/plain"

echo "== build: ASan + UBSan"
cmake -S "$src" -B "$out/asan" -DCMAKE_BUILD_TYPE=Debug -DALTS_SANITIZE=ON >/dev/null
cmake --build "$out/asan" -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_ctest "$out/asan"

echo "== valgrind: unit tests (plain build)"
for t in "$out"/plain/tests/unit_*; do
	[ -x "$t" ] || continue
	if ! ALTS_FIXTURES="$src/tests/fixtures" valgrind -q --error-exitcode=1 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect "$t" >"$out/valgrind-$(basename "$t").log" 2>&1; then
		echo "valgrind: $(basename "$t") FAILED"; cat "$out/valgrind-$(basename "$t").log"; status=1
		total_failed=$((total_failed + 1))
	else
		echo "valgrind: $(basename "$t") clean"; total_passed=$((total_passed + 1))
	fi
done
[ "$status" -eq 0 ] || [ "$total_failed" -gt 0 ] || total_failed=1

echo "tests: $total_passed passed, $total_failed failed"
exit $status
