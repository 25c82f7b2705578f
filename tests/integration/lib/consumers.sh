# shellcheck shell=bash
# Checks alts reports with the programs that consume them in the real
# world: prove and TAP::Parser (Perl), the npm tap-parser (TAP 13 and 14),
# xmllint with the Jenkins xunit JUnit schema, and jq for the JSON.
#
# Source it, then:
#   consumers_require                 exit 77 (skip) or, under CI, 1 when a tool is missing
#   consumers_check TAP13 TAP14 JUNIT EXPECTED [JSON]
#
# EXPECTED counts the checks of the run (not the parts of checks) by
# status, plus how many suites it had:
#   "suites=2 pass=2 fail=3 skip=2 xfail=1 xpass=1 error=1 bailout=1"
# Omitted statuses are 0. bailout=1 means a suite bailed out. Optional
# junit_tests/junit_failures/junit_errors/junit_skipped are compared with
# the JUnit root when given (JUnit also has one testcase per part).
#
# Each check prints what it found and returns non-zero on a mismatch.
# Environment: ALTS_SOURCE_DIR (the repository), ALTS_JUNIT_XSD (default
# $ALTS_SOURCE_DIR/tests/fixtures/schemas/junit-10.xsd).

consumers_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
consumers_src_dir=${ALTS_SOURCE_DIR:-$(cd "$consumers_lib_dir/../../.." && pwd)}
consumers_js_dir=$consumers_src_dir/tests/js
consumers_xsd=${ALTS_JUNIT_XSD:-$consumers_src_dir/tests/fixtures/schemas/junit-10.xsd}

consumers_fail() {
	echo "consumers: FAIL: $*" >&2
	return 1
}

consumers_require() {
	local missing=()

	command -v prove >/dev/null || missing+=("prove (apt: perl)")
	perl -MTAP::Parser -MJSON::PP -e1 2>/dev/null || missing+=("perl TAP::Parser and JSON::PP (apt: perl)")
	command -v xmllint >/dev/null || missing+=("xmllint (apt: libxml2-utils)")
	command -v jq >/dev/null || missing+=("jq (apt: jq)")
	command -v node >/dev/null || missing+=("node (apt: nodejs)")
	[ -d "$consumers_js_dir/node_modules/tap-parser" ] ||
		missing+=("tap-parser (run: npm ci --prefix $consumers_js_dir)")
	[ -r "$consumers_xsd" ] || missing+=("the JUnit schema $consumers_xsd (set ALTS_JUNIT_XSD)")
	[ ${#missing[@]} -eq 0 ] && return 0
	printf 'consumers: missing %s\n' "${missing[@]}" >&2
	if [ "${CI:-}" = true ] || [ "${ALTS_REQUIRE_CONSUMERS:-}" = 1 ]; then
		echo "consumers: CI must install them" >&2
		return 1
	fi
	return 77
}

# Reads EXPECTED into cx_* variables.
consumers_parse_expected() {
	local kv key
	cx_suites=1 cx_pass=0 cx_fail=0 cx_skip=0 cx_xfail=0 cx_xpass=0 cx_error=0 cx_bailout=0
	# shellcheck disable=SC2034 # read as ${!var} in consumers_check_junit
	cx_junit_tests='' cx_junit_failures='' cx_junit_errors='' cx_junit_skipped=''
	for kv in $1; do
		key=${kv%%=*}
		case $key in
		suites | pass | fail | skip | xfail | xpass | error | bailout | junit_tests | junit_failures | \
			junit_errors | junit_skipped)
			[[ ${kv#*=} =~ ^[0-9]+$ ]] || { consumers_fail "bad count '$kv'"; return 2; }
			printf -v "cx_$key" '%s' "${kv#*=}"
			;;
		*)
			consumers_fail "unknown expectation '$kv'"
			return 2
			;;
		esac
	done
}

# The per-level counts a TAP consumer must see for the checks, as JSON.
consumers_tap_want() {
	printf '{"total":%d,"ok":%d,"not_ok":%d,"todo":%d,"skip":%d,"failed":%d}' \
		$((cx_pass + cx_fail + cx_skip + cx_xfail + cx_xpass + cx_error)) \
		$((cx_pass + cx_skip)) \
		$((cx_fail + cx_xfail + cx_xpass + cx_error)) \
		"$cx_xfail" "$cx_skip" \
		$((cx_fail + cx_xpass + cx_error))
}

# Compares the JSON of tap_counts.pl or tap-counts.mjs ($2) with EXPECTED; $1 names the consumer.
consumers_compare_tap() {
	local who=$1 counts=$2 depth=0 want got
	want=$(consumers_tap_want)
	[ "$cx_suites" -gt 1 ] && depth=1
	jq -e '.parse_errors == [] and .garbage == 0' <<<"$counts" >/dev/null ||
		{ consumers_fail "$who: parse errors or non-TAP lines: $(jq -c '{parse_errors, garbage}' <<<"$counts")"; return 1; }
	got=$(jq -c --argjson d "$depth" '.levels[$d] // {} | {total, ok, not_ok, todo, skip, failed}' <<<"$counts")
	jq -e --argjson want "$want" --argjson got "$got" -n '$want == $got' >/dev/null ||
		{ consumers_fail "$who: checks counted $got, expected $want"; return 1; }
	if [ "$cx_suites" -gt 1 ]; then
		jq -e --argjson n "$cx_suites" '.levels[0].total == $n and .bailout == null' <<<"$counts" >/dev/null ||
			{ consumers_fail "$who: expected $cx_suites suite points and no bail out"; return 1; }
	elif [ "$cx_bailout" -gt 0 ]; then
		jq -e '.bailout != null' <<<"$counts" >/dev/null || { consumers_fail "$who: no bail out seen"; return 1; }
	else
		jq -e '.bailout == null' <<<"$counts" >/dev/null || { consumers_fail "$who: unexpected bail out"; return 1; }
	fi
	echo "consumers: $who counted $got"
}

consumers_check_tap13() {
	local file=$1 counts prove_rc=0 want_fail=0
	counts=$(perl "$consumers_lib_dir/tap_counts.pl" "$file") || { consumers_fail "TAP::Parser died on $file"; return 1; }
	consumers_compare_tap "TAP::Parser ($file)" "$counts" || return 1
	prove --exec cat "$file" >"$file.prove" 2>&1 || prove_rc=$?
	[ $((cx_fail + cx_xpass + cx_error + cx_bailout)) -gt 0 ] && want_fail=1
	if [ "$want_fail" = 1 ] && [ "$prove_rc" = 0 ]; then
		consumers_fail "prove passed $file, which has failures"
		return 1
	fi
	if [ "$want_fail" = 0 ] && [ "$prove_rc" != 0 ]; then
		consumers_fail "prove failed $file: $(cat "$file.prove")"
		return 1
	fi
	grep -q '^Result: \(PASS\|FAIL\)' "$file.prove" ||
		{ consumers_fail "prove gave no result for $file: $(cat "$file.prove")"; return 1; }
	echo "consumers: prove: $(grep '^Result:' "$file.prove")"
}

consumers_check_tap_node() {
	local file=$1 counts
	counts=$(node "$consumers_js_dir/tap-counts.mjs" "$file") || { consumers_fail "tap-parser died on $file"; return 1; }
	consumers_compare_tap "tap-parser ($file)" "$counts"
}

consumers_xpath() {
	xmllint --xpath "$1" "$2"
}

consumers_check_junit() {
	local file=$1 i n key want got
	xmllint --noout --schema "$consumers_xsd" "$file" 2>&1 || { consumers_fail "$file is not valid against $consumers_xsd"; return 1; }
	n=$(consumers_xpath 'count(/testsuites/testsuite)' "$file")
	[ "$n" = "$cx_suites" ] || { consumers_fail "$file has $n testsuites, expected $cx_suites"; return 1; }
	for i in $(seq 1 "$n"); do
		local s="/testsuites/testsuite[$i]"
		for key in tests:testcase failures:'testcase[failure]' errors:'testcase[error]' skipped:'testcase[skipped]'; do
			want=$(consumers_xpath "string($s/@${key%%:*})" "$file")
			got=$(consumers_xpath "count($s/${key#*:})" "$file")
			[ "$want" = "$got" ] || { consumers_fail "$file: testsuite $i says ${key%%:*}=$want, has $got"; return 1; }
		done
	done
	for key in tests:testcase failures:'testcase[failure]' errors:'testcase[error]' skipped:'testcase[skipped]'; do
		got=$(consumers_xpath "count(//${key#*:})" "$file")
		want=$(consumers_xpath "string(/testsuites/@${key%%:*})" "$file")
		[ -z "$want" ] || [ "$want" = "$got" ] || { consumers_fail "$file: testsuites says ${key%%:*}=$want, has $got"; return 1; }
		local var=cx_junit_${key%%:*}
		want=${!var}
		[ -z "$want" ] || [ "$want" = "$got" ] || { consumers_fail "$file: ${key%%:*}=$got, expected $want"; return 1; }
	done
	echo "consumers: xmllint: $file valid; $(consumers_xpath 'count(//testcase)' "$file") testcases"
}

consumers_check_json() {
	local file=$1 want got
	jq -e --argjson n "$cx_suites" '
		.api_version == "1" and
		if $n == 1 then
			(.result | type) == "object" and (.stats | type) == "object" and (.alts.suites | length) == 1
		else
			(.suites | length) == $n and all(.suites[]; .api_version == "1" and has("result") and has("stats"))
		end' "$file" >/dev/null || { consumers_fail "$file does not have the ALTS result shape"; return 1; }
	jq -e '[if .suites then .suites[] else . end | .result | to_entries[]
		| select(.key != "logs" and .key != "tests" and .key != "third_party") | .value.success | type]
		| all(. == "boolean")' "$file" >/dev/null || { consumers_fail "$file: a stage lacks a boolean success"; return 1; }
	jq -e '[if .suites then .suites[] else . end | .stats[] | [.start_ts, .finish_ts, .delta][] | type]
		| all(. == "number")' "$file" >/dev/null || { consumers_fail "$file: stats need start_ts, finish_ts, delta"; return 1; }
	want=$(printf '{"pass":%d,"fail":%d,"skip":%d,"xfail":%d,"xpass":%d,"error":%d}' \
		"$cx_pass" "$cx_fail" "$cx_skip" "$cx_xfail" "$cx_xpass" "$cx_error")
	got=$(jq -c '[if .suites then .suites[].alts.suites[] else .alts.suites[] end | .checks[].status]
		| reduce .[] as $s ({pass: 0, fail: 0, skip: 0, xfail: 0, xpass: 0, error: 0}; .[$s] += 1)' "$file")
	jq -e -n --argjson a "$want" --argjson b "$got" '$a == $b' >/dev/null ||
		{ consumers_fail "$file: check statuses $got, expected $want"; return 1; }
	want=$(printf '{"passed":%d,"failed":%d,"skipped":%d,"errors":%d}' \
		$((cx_pass + cx_xfail)) $((cx_fail + cx_xpass)) "$cx_skip" "$cx_error")
	got=$(jq -c '(.summary // .alts.summary) | {passed, failed, skipped, errors}' "$file")
	jq -e -n --argjson a "$want" --argjson b "$got" '$a == $b' >/dev/null ||
		{ consumers_fail "$file: summary $got, expected $want"; return 1; }
	echo "consumers: jq: $file has the ALTS shape; summary $got"
}

consumers_check() {
	local tap13=$1 tap14=$2 junit=$3 expected=$4 json=${5:-}
	consumers_parse_expected "$expected" || return 1
	consumers_check_tap13 "$tap13" || return 1
	consumers_check_tap_node "$tap13" || return 1
	consumers_check_tap_node "$tap14" || return 1
	consumers_check_junit "$junit" || return 1
	[ -z "$json" ] || consumers_check_json "$json" || return 1
}
