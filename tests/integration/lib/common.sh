# Sourced by the integration tests: paths, a scratch directory, assertions.
set -u
ALTS_RUN=${ALTS_RUN:?ALTS_RUN must point at the alts-run binary}
ALTS_SOURCE_DIR=${ALTS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
TEST_NAME=$(basename "$0" .sh)
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/alts-it-$TEST_NAME-XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
PASSED=0
FAILED=0

ok()   { PASSED=$((PASSED + 1)); echo "ok - $*"; }
bad()  { FAILED=$((FAILED + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else bad "$desc"; fi
}

# skip_test REASON: the whole test is skipped (ctest SKIP_RETURN_CODE 77).
skip_test() { echo "SKIP: $*"; exit 77; }

need_root() { [ "$(id -u)" = 0 ] || skip_test "needs:root"; }
need_cmd() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip_test "needs:$c (not installed)"; done; }

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
