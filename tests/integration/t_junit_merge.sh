#!/usr/bin/env bash
# A matrix merged into one JUnit report: alts-submit --local runs the same
# suite for two distributions (and another suite once), `alts-submit
# merge-junit` merges their report.xml with a hand-written JUnit file of
# another tool. xmllint validates the result against the Jenkins schema and
# counts it; xunit-viewer (npm) renders it and must see every suite.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/tools.sh"
XSD=${ALTS_JUNIT_XSD:-$ALTS_SOURCE_DIR/tests/fixtures/schemas/junit-10.xsd}
SUBMIT=${ALTS_SUBMIT:-$(dirname "$ALTS_RUN")/alts-submit}
require_cmd xmllint "apt: libxml2-utils"
require_cmd node "apt: nodejs"
require_cmd jq "apt: jq"
require_npm xunit-viewer
require_file "$XSD" "the JUnit schema; set ALTS_JUNIT_XSD"
tools_check
[ -x "$SUBMIT" ] || { echo "alts-submit not built at $SUBMIT" >&2; exit 1; }

cd "$SCRATCH" || exit 1
arch=$(uname -m)
xp() { xmllint --xpath "$1" "$2"; }
cat >matrix.yaml <<'YAML'
name: matrix
environment:
  runner: local
checks:
  - launch:
      name: prints
      command: ["echo", "a & b < c"]
  - launch:
      name: fails
      command: "echo 'broken <on purpose>'; exit 2"
  - launch:
      name: later
      skip: not yet
      command: ["true"]
YAML
cat >other.yaml <<'YAML'
name: other
environment:
  runner: local
checks:
  - launch:
      command: ["true"]
YAML
# Another tool's JUnit: a bare <testsuite> root (as Maven Surefire writes),
# with a comment, CDATA and character references, and a name that clashes.
cat >foreign.xml <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<!-- written by hand, as another test tool would -->
<testsuite name="matrix" tests="2" failures="0" errors="1" time="1,234.5">
  <testcase name="connects" classname="matrix.net" time="0.5"/>
  <testcase name="times out" classname="net.Client" time="1234">
    <error type="timeout" message="no answer &amp; no retry"><![CDATA[stack <trace> & more]]></error>
  </testcase>
</testsuite>
XML

for run in debian-12:matrix.yaml almalinux-9:matrix.yaml debian-12:other.yaml; do
	dist=${run%%:*} suite=${run#*:}
	"$SUBMIT" --local -q --dist "$dist" --out "out-$dist-${suite%.yaml}" "$suite" >/dev/null 2>&1
	echo "alts-submit --local --dist $dist $suite: exit $?"
done
check "three runs left three reports" test -s out-debian-12-matrix/report.xml -a -s out-almalinux-9-matrix/report.xml \
	-a -s out-debian-12-other/report.xml

inputs=(out-debian-12-matrix/report.xml out-almalinux-9-matrix/report.xml out-debian-12-other/report.xml foreign.xml)
status=0
"$SUBMIT" merge-junit -o merged.xml --schema "$XSD" "${inputs[@]}" 2>merge.err || status=$?
cat merge.err
check "merge-junit exits 0" test "$status" -eq 0
check "merge-junit says what it did" grep -q "merged 4 reports into merged.xml: 4 testsuites (3 renamed), 9 tests, 2 failures, 1 errors" merge.err
check "xmllint: valid against junit-10.xsd" xmllint --noout --schema "$XSD" merged.xml

# one testsuite per suite x distribution, in input order
names=$(xp '/testsuites/testsuite/@name' merged.xml | sed 's/^ *name="\(.*\)"$/\1/')
want="matrix [debian-12-$arch]
matrix [almalinux-9-$arch]
other
matrix [foreign.xml]"
check "testsuite names: suite [dist-version-arch], unclashed kept, foreign by file" test "$names" = "$want"
[ "$names" = "$want" ] || printf 'got:\n%s\n' "$names"
for key in tests:testcase failures:'testcase[failure]' errors:'testcase[error]'; do
	got=$(xp "count(//${key#*:})" merged.xml)
	root=$(xp "string(/testsuites/@${key%%:*})" merged.xml)
	check "root ${key%%:*}=$root is recomputed ($got)" test "$root" = "$got"
done
check "root time is the sum (0.x + 0.x + 0.x + 1234.5)" \
	bash -c '[[ $(xmllint --xpath "string(/testsuites/@time)" merged.xml) == 123[4-9].* ]]'
check "root name" test "$(xp 'string(/testsuites/@name)' merged.xml)" = alts
check "classnames follow the rename" \
	test "$(xp "count(//testcase[@classname='matrix [almalinux-9-$arch].launch'])" merged.xml)" = 3
check "foreign classnames that do not start with the name stay" \
	test "$(xp "count(//testcase[@classname='net.Client'])" merged.xml)" = 1
check "foreign classnames that do start with it follow" \
	test "$(xp "count(//testcase[@classname='matrix [foreign.xml].net'])" merged.xml)" = 1
check "properties are kept" \
	test "$(xp "string(//testsuite[2]/properties/property[@name='dist_name']/@value)" merged.xml)" = almalinux
check "failure text kept exactly" test "$(xp 'string(//testsuite[1]//testcase[@name="fails"]/failure)' merged.xml)" = \
	"$(xp 'string(//testcase[@name="fails"]/failure)' out-debian-12-matrix/report.xml)"
check "CDATA and references kept" \
	test "$(xp 'string(//testcase[@name="times out"]/error)' merged.xml)" = 'stack <trace> & more'
check "attribute references kept" \
	test "$(xp 'string(//testcase[@name="times out"]/error/@message)' merged.xml)" = 'no answer & no retry'

# the same suite and distribution twice: still one testsuite each
"$SUBMIT" merge-junit -q -o twice.xml out-debian-12-matrix/report.xml out-debian-12-matrix/report.xml
check "same dist twice: numbered" test "$(xp '//testsuite[2]/@name' twice.xml)" = " name=\"matrix [debian-12-$arch] #2\""
"$SUBMIT" merge-junit -q -o one.xml out-debian-12-matrix/report.xml
check "no clash: name unchanged" test "$(xp 'string(//testsuite/@name)' one.xml)" = matrix

# --- errors: exit 2 for bad input, 3 for output, and nothing half-written ---
echo keep >kept.xml
printf '<notjunit/>\n' >notjunit.xml
printf '<testsuites><testsuite name="x" tests="1" failures="0" errors="0">\n<testcase name="a">\n</testsuites>\n' >broken.xml
expect_exit() { # WANT MESSAGE-REGEX ARGS...
	local want=$1 re=$2 rc=0; shift 2
	"$SUBMIT" merge-junit "$@" >err.out 2>&1 || rc=$?
	[ "$rc" = "$want" ] && grep -Eq -e "$re" err.out || { echo "exit $rc: $(cat err.out)"; return 1; }
}
check "not JUnit: exit 2" expect_exit 2 "notjunit.xml' is not JUnit XML: the root element is <notjunit>" -o kept.xml notjunit.xml
check "malformed: exit 2 with the line" expect_exit 2 "cannot parse 'broken.xml': line [0-9]+: " -o kept.xml broken.xml
check "missing input: exit 2" expect_exit 2 "cannot read 'nope.xml': No such file" -o kept.xml nope.xml
check "schema violation: exit 2" expect_exit 2 "not valid against" -o kept.xml --schema "$XSD" \
	<(printf '<testsuite name="x"/>\n')
check "unwritable output: exit 3" expect_exit 3 "cannot create '/nonexistent/m.xml.tmp" -o /nonexistent/m.xml foreign.xml
check "no -o: exit 2" expect_exit 2 "-o OUT.xml is required" foreign.xml
check "a failed merge leaves the old file" test "$(cat kept.xml)" = keep
check "and no temporary file" bash -c '! ls kept.xml.tmp.* 2>/dev/null'

# --- xunit-viewer renders it and sees every suite ---------------------------
xv_rc=0
(cd "$tools_js_dir" && npx --no-install xunit-viewer -r "$SCRATCH/merged.xml" -o "$SCRATCH/xunit.html" -t "alts matrix") \
	>xv.out 2>&1 || xv_rc=$?
cat xv.out
check "xunit-viewer exits 0" test "$xv_rc" = 0
desc=$(grep -o '<meta name="description" content="[^"]*"' xunit.html)
echo "xunit-viewer page: $desc"
for n in "4 passed" "2 failure" "2 skipped" "1 error"; do
	check "xunit-viewer's page counts $n" grep -q "[\", ]$n[\",]" <<<"$desc"
done
check "xunit-viewer parsed without errors" bash -c '! grep -Eiq "failed to parse|error:" xv.out'
seen=$(cd "$tools_js_dir" && node xunit-suites.mjs "$SCRATCH/merged.xml")
echo "xunit-viewer sees: $seen"
check "xunit-viewer sees 4 suites" jq_true '.suites | length == 4' <<<"$seen"
for n in "matrix [debian-12-$arch]" "matrix [almalinux-9-$arch]" "other" "matrix [foreign.xml]"; do
	check "xunit-viewer sees '$n'" jq_true --arg n "$n" 'any(.suites[]; .name == $n)' <<<"$seen"
done
check "xunit-viewer: each matrix suite has its 3 cases" \
	jq_true '[.suites[] | select(.name | startswith("matrix [")) | .tests] | sort == [2, 3, 3]' <<<"$seen"
# what the merge prevents: unmerged, xunit-viewer folds the matrix into one suite
folded=$(cd "$tools_js_dir" && node xunit-suites.mjs "$SCRATCH/${inputs[0]}" "$SCRATCH/${inputs[1]}")
check "(unmerged reports fold into one 'matrix' suite)" jq_true '.suites | length == 1' <<<"$folded"

finish
