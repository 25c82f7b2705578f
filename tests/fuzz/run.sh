#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) into build-fuzz/ and runs each for
# SECONDS (default 10) on a copy of its corpus (tests/fuzz/corpus/<target>, kept in the tree).
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]   Exit 1 on the first crash (its input is
# left in build-fuzz/crashes/<target>/), 77 when clang-14 or libFuzzer is missing.
set -u
secs=${1:-10}
shift 2>/dev/null || true
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${ALTS_FUZZ_BUILD:-$src/build-fuzz}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(suite_load payload tap_parse token worker_msg)
command -v clang-14 >/dev/null || { echo "SKIP: needs:clang-14 (apt-get install clang-14 libclang-rt-14-dev)"; exit 77; }
CC=clang-14 cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALTS_FUZZ=ON -DALTS_TESTS=OFF \
	-DALTS_BENCH=OFF -DALTS_SWAGGER_UI=OFF >/dev/null || exit 1
cmake --build "$out" -j "${ALTS_JOBS:-2}" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null || exit 1
status=0
for t in "${targets[@]}"; do
	mkdir -p "$out/corpus/$t" "$out/crashes/$t"
	cp -n "$src/tests/fuzz/corpus/$t/"* "$out/corpus/$t/" 2>/dev/null
	log="$out/fuzz_$t.log"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$out/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
		-artifact_prefix="$out/crashes/$t/" "$out/corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+')
	if [ $rc -eq 0 ]; then
		echo "fuzz $t: ${runs:-?} runs in ${secs} s, clean"
	else
		echo "fuzz $t: CRASH (see $log and $out/crashes/$t/)"; tail -30 "$log"; status=1
	fi
done
exit $status
