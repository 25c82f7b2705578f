#!/bin/sh
# Runs the installed alts-run on a small suite with the local runner, inside the sandbox
# the dogfood suite installed alts in; prints TAP.
set -u
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/smoke.yaml" <<'YAML'
name: smoke
environment:
  runner: local
checks:
  - launch:
      name: echo
      command: [echo, hello from alts-run]
      stdout: "^hello from alts-run$"
  - launch:
      name: expected failure
      command: [false]
      expect_failure: true
  - launch:
      name: skipped
      command: [true]
      skip: on purpose
YAML
echo "1..4"
if alts-run --validate "$dir/smoke.yaml" >"$dir/validate.out" 2>&1; then
	echo "ok 1 - alts-run --validate accepts the suite"
else
	echo "not ok 1 - alts-run --validate accepts the suite"; sed 's/^/# /' "$dir/validate.out"
fi
alts-run --tap "$dir/report.tap" --junit "$dir/report.xml" --json "$dir/result.json" \
	--artifacts "$dir/artifacts" "$dir/smoke.yaml" >"$dir/run.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^2 passed, 0 failed, 1 skipped$' "$dir/run.out"; then
	echo "ok 2 - alts-run passes the suite (exit 0, 2 passed, 1 skipped)"
else
	echo "not ok 2 - alts-run passes the suite (exit $rc)"; sed 's/^/# /' "$dir/run.out"
fi
if grep -q '^ok 1 - echo' "$dir/report.tap" && grep -q '^1\.\.3$' "$dir/report.tap"; then
	echo "ok 3 - the TAP report has the checks"
else
	echo "not ok 3 - the TAP report has the checks"; sed 's/^/# /' "$dir/report.tap"
fi
if grep -q '<testsuite' "$dir/report.xml" && grep -q '"name"' "$dir/result.json" &&
	ls "$dir"/artifacts/smoke/logs/*echo* >/dev/null 2>&1; then
	echo "ok 4 - JUnit, JSON and logs are written"
else
	echo "not ok 4 - JUnit, JSON and logs are written"; find "$dir" | sed 's/^/# /'
fi
