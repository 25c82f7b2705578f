#!/usr/bin/env bash
# alts-submit --local: runs suites with the alts-run next to it (argv only,
# no shell), leaves report.xml, report.tap, result.json, report.html and
# logs/ in --out DIR, and exits 0/1/2/3 as alts-run does. Usage errors of
# both modes; the remote mode's reachable-without-a-scheduler paths (bad
# URL, unreadable token file, nothing listening) — the real exchange with
# a scheduler is not tested here.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/tools.sh"
XSD=${ALTS_JUNIT_XSD:-$ALTS_SOURCE_DIR/tests/fixtures/schemas/junit-10.xsd}
SUBMIT=${ALTS_SUBMIT:-$(dirname "$ALTS_RUN")/alts-submit}
require_cmd xmllint "apt: libxml2-utils"
require_cmd jq "apt: jq"
require_cmd node "apt: nodejs"
require_npm tap-parser
require_file "$XSD" "the JUnit schema; set ALTS_JUNIT_XSD"
tools_check
[ -x "$SUBMIT" ] || { echo "alts-submit not built at $SUBMIT" >&2; exit 1; }

cd "$SCRATCH" || exit 1
# a suite file name a shell would misread: argv only
suite='my suite; touch PWNED $(id).yaml'
cat >"$suite" <<'YAML'
name: submit-local
environment:
  runner: local
checks:
  - launch:
      name: greets
      command: ["echo", "hello"]
      stdout: "^hello$"
  - launch:
      name: breaks
      command: "echo 'it broke'; exit 4"
YAML
cat >pass.yaml <<'YAML'
name: all-good
environment:
  runner: local
checks:
  - launch:
      command: ["true"]
YAML
printf 'name: bad\nchecks:\n  - instal\n' >invalid.yaml

# run STATUS-WANTED ARGS...: runs alts-submit, keeping its output in run.out
run() {
	local want=$1 rc=0; shift
	"$SUBMIT" "$@" >run.out 2>&1 || rc=$?
	[ "$rc" = "$want" ] || { echo "exit $rc, wanted $want: $(head -c 2000 run.out)"; return 1; }
}

check "a failing check: exit 1" run 1 --local --out out "$suite"
for f in report.xml report.tap result.json report.html; do
	check "out/$f written" test -s "out/$f"
done
check "logs under out/logs/<suite>/logs" test -s out/logs/submit-local/logs/02-breaks.log
check "the console report went to stdout" grep -q '^1 passed, 1 failed, 0 skipped$' run.out
check "the file name reached alts-run as one argument" test ! -e PWNED
check "report.xml is valid JUnit" xmllint --noout --schema "$XSD" out/report.xml
check "report.xml has both checks" test "$(xmllint --xpath 'count(//testcase)' out/report.xml)" = 2
check "report.xml names the log in out/" grep -q "alts: log out/logs/submit-local/logs/02-breaks.log" out/report.xml
check "result.json: exit_code 1, 1 passed, 1 failed" \
	jq_true '.alts.summary.exit_code == 1 and .alts.summary.passed == 1 and .alts.summary.failed == 1' <out/result.json
check "result.json is in the ALTS shape" jq_true '.api_version == "1" and .result.launch.success == true' <out/result.json
counts=$(node "$tools_js_dir/tap-counts.mjs" out/report.tap)
check "report.tap: tap-parser counts 1 pass, 1 fail" jq_true '.levels[0].ok == 1 and .levels[0].not_ok == 1' <<<"$counts"
check "report.html shows the failure" grep -q '<td class="name">breaks</td>' out/report.html

check "all pass: exit 0" run 0 --local -q --out out-pass pass.yaml
check "quiet: no console report" test ! -s run.out
check "two suites in one run" run 1 --local -q --out out-two pass.yaml "$suite"
check "two suites: one report" test "$(xmllint --xpath 'count(//testsuite)' out-two/report.xml)" = 2
check "options reach alts-run (--filter, --dist)" run 0 --local -q --out out-filter --filter greets --dist debian-12 "$suite"
check "... the filtered check is skipped" jq_true '.alts.summary.skipped == 1' <out-filter/result.json
check "invalid suite: exit 2 (from alts-run)" run 2 --local --out out-bad invalid.yaml
check "... with alts-run's message" grep -q "invalid.yaml:3:5: checks\[0\]: unknown check 'instal'" run.out
check "output dir cannot be made: exit 3" run 3 --local --out /proc/alts-nope pass.yaml

mkdir alone && cp "$SUBMIT" alone/
check "no alts-run next to alts-submit: exit 3" bash -c '"$1" --local pass.yaml >run.out 2>&1; [ $? = 3 ] &&
	grep -q "alts-run must be next to alts-submit" run.out' _ "$PWD/alone/alts-submit"

# --- usage ------------------------------------------------------------------
check "no mode: exit 2" run 2 pass.yaml
check "... says to choose" grep -q "choose --local (run here) or --url URL" run.out
check "both modes: exit 2" run 2 --local --url http://127.0.0.1:9 pass.yaml
check "--local with --token: exit 2" run 2 --local --token x pass.yaml
check "--local with --arch: exit 2" run 2 --local --arch x86_64 pass.yaml
check "--local without a suite: exit 2" run 2 --local
check "--url with two suites: exit 2" run 2 --url http://127.0.0.1:9 pass.yaml "$suite"
check "--url with --dist: exit 2" run 2 --url http://127.0.0.1:9 --dist debian-12 pass.yaml
check "bad --timeout: exit 2" run 2 --url http://127.0.0.1:9 --timeout soon pass.yaml
check "unknown command: exit 2" run 2 frobnicate
check "--help: exit 0" run 0 --help
check "merge-junit --help: exit 0" run 0 merge-junit --help
check "--version" run 0 --version

# --- the remote mode without a scheduler -------------------------------------
check "--url not http(s): exit 2" run 2 --url ftp://127.0.0.1/ pass.yaml
check "... named" grep -q "invalid scheduler URL 'ftp://127.0.0.1/'" run.out
check "unreadable token file: exit 2" run 2 --url http://127.0.0.1:9 --token-file nope.token pass.yaml
check "... named" grep -q "cannot read the token file 'nope.token'" run.out
printf 'a\nb\n' >two-lines.token
check "token file of two lines: exit 2" run 2 --url http://127.0.0.1:9 --token-file two-lines.token pass.yaml
check "unreadable suite: exit 2" run 2 --url http://127.0.0.1:9 nope.yaml
printf '[1, 2]' >list.json
check "payload that is not an object: exit 2" run 2 --url http://127.0.0.1:9 --payload list.json
# port 9 (discard) on loopback: nothing listens there, the connection is refused at once
rc=0
ALTS_TOKEN=s3cret-token "$SUBMIT" --url http://127.0.0.1:9 --out remote pass.yaml >run.out 2>&1 || rc=$?
check "nothing listening: exit 3" test "$rc" = 3
check "... says so" grep -q "cannot reach the scheduler at 'http://127.0.0.1:9/tasks/schedule'" run.out
check "... and never prints the token" bash -c '! grep -q s3cret run.out'

finish
