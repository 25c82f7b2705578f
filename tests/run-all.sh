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
	collect_skips "$dir" "$log"
}

# collect_skips DIR LOG: appends "build: test (reason)" to $skips for every test ctest skipped,
# the reason being the first "SKIP..." line of its output (ctest keeps it in LastTest.log).
skips=""
total_skipped=0
collect_skips() {
	local dir=$1 log=$2 name reason
	for name in $(sed -nE 's/^[[:space:]]*[0-9]+ - ([^ ]+) \(Skipped\).*/\1/p' "$log"); do
		reason=$(awk -v t="$name" '
			/^[0-9]+\/[0-9]+ Test: / { cur = $3; out = 0 }
			/^Output:/ { out = 1 }
			cur == t && out && /SKIP/ { sub(/^.*SKIP:? */, ""); print; exit }' \
			"$dir/Testing/Temporary/LastTest.log" 2>/dev/null)
		skips+="  $(basename "$dir"): $name (${reason:-no reason printed})"$'\n'
		total_skipped=$((total_skipped + 1))
	done
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
echo "== fuzz: each libFuzzer target for 10 s (tests/fuzz/run.sh)"
ALTS_FUZZ_BUILD="$out/fuzz" bash "$src/tests/fuzz/run.sh" 10; rc=$?
if [ $rc -eq 77 ]; then
	skips+="  fuzz: tests/fuzz/run.sh (needs:clang-14)"$'\n'; total_skipped=$((total_skipped + 1))
elif [ $rc -eq 0 ]; then
	total_passed=$((total_passed + 1))
else
	total_failed=$((total_failed + 1)); status=1
fi
[ "$status" -eq 0 ] || [ "$total_failed" -gt 0 ] || total_failed=1

[ -z "$skips" ] || printf 'skipped:\n%s' "$skips"
echo "tests: $total_passed passed, $total_failed failed, $total_skipped skipped"
exit $status
