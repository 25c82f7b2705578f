#!/usr/bin/env bash
# Real consumers read real reporter output: the synthetic run of
# tests/unit/report_fixture.h goes through the TAP (13 and 14), JUnit and
# JSON reporters (tests/tools/report_sample), and prove / TAP::Parser,
# the npm tap-parser, xmllint with the Jenkins JUnit schema and jq must
# count what the run had and read the hostile output back intact.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/lib/consumers.sh
. "$here/lib/consumers.sh"

rc=0
consumers_require || rc=$?
[ "$rc" = 0 ] || exit "$rc"

sample=${ALTS_BUILD_DIR:-$consumers_src_dir/build}/tests/report_sample
if [ ! -x "$sample" ]; then
	echo "report_sample not built at $sample (set ALTS_BUILD_DIR)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/alts-consumers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Writes $tmp/NAME13.tap, NAME14.tap, NAME.xml and NAME.json for report_sample's --only ONLY.
sample_run() {
	local name=$1 only=$2
	"$sample" --only "$only" --tap "$tmp/${name}13.tap" --tap-version 13 --junit "$tmp/$name.xml" \
		--json "$tmp/$name.json"
	"$sample" --only "$only" --tap "$tmp/${name}14.tap" --tap-version 14
}

check_run() {
	local name=$1 expected=$2
	echo "== $name: $expected"
	consumers_check "$tmp/${name}13.tap" "$tmp/${name}14.tap" "$tmp/$name.xml" "$expected" "$tmp/$name.json"
}

sample_run all 0
sample_run alpha 1
sample_run beta 2

check_run all "suites=2 pass=2 fail=3 skip=2 xfail=1 xpass=1 error=1 bailout=1
	junit_tests=22 junit_failures=7 junit_errors=1 junit_skipped=3"
check_run alpha "suites=1 pass=2 fail=3 skip=1 xfail=1 xpass=1
	junit_tests=20 junit_failures=7 junit_errors=0 junit_skipped=2"
check_run beta "suites=1 error=1 skip=1 bailout=1 junit_tests=2 junit_errors=1 junit_skipped=1"

# What each consumer reads back from the hostile output of "launch hello".
expect_output() {
	local who=$1 text=$2 want
	for want in '<![CDATA[]]>' 'Starting hello & <friends> "quoted"' 'Bail out! this is output, not TAP' \
		$'\n...\n---\n' 'hello: error: cannot open display' $'caf\xc3\xa9'; do
		[[ $text == *"$want"* ]] || { consumers_fail "$who lost '$want' from the output"; exit 1; }
	done
	echo "consumers: $who reads the output back"
}

# `$(...)` would drop trailing newlines; a sentinel keeps them
tap_output() {
	"$@" | jq -r '.asserts[] | select(.name == "launch hello") | .diag.output + "|"'
}
for f in alpha13 alpha14 all13 all14; do
	expect_output "tap-parser $f" "$(tap_output node "$consumers_js_dir/tap-counts.mjs" "$tmp/$f.tap")"
done
for f in alpha13 all13; do
	expect_output "TAP::Parser $f" "$(tap_output perl "$here/lib/tap_counts.pl" "$tmp/$f.tap")"
done
expect_output "xmllint" "$(xmllint --xpath 'string(//testcase[@name="launch hello"]/failure)' "$tmp/alpha.xml")"
expect_output "jq" "$(jq -r '.alts.suites[0].checks[1].output' "$tmp/alpha.json")"

# Names with '#' are escaped in TAP and read back whole.
for f in alpha13 alpha14; do
	node "$consumers_js_dir/tap-counts.mjs" "$tmp/$f.tap" |
		jq -e '[.asserts[].name] | index("optional #feature") and index("localized #2")' >/dev/null ||
		{ consumers_fail "tap-parser lost a '#' in a name ($f)"; exit 1; }
done
perl "$here/lib/tap_counts.pl" "$tmp/alpha13.tap" |
	jq -e '[.asserts[].name] | index("optional #feature") and index("localized #2")' >/dev/null ||
	{ consumers_fail "TAP::Parser lost a '#' in a name"; exit 1; }

# Output starting with blanks is quoted, and still comes back exact.
node "$consumers_js_dir/tap-counts.mjs" "$tmp/alpha13.tap" |
	jq -e '.asserts[] | select(.name == "uninstall") | .diag.output == "  Removing hello (2.10-3) ...\n..."' \
		>/dev/null || { consumers_fail "tap-parser misread the uninstall output"; exit 1; }

echo "reporters: every consumer agrees"
