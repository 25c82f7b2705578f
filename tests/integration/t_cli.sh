#!/usr/bin/env bash
# alts-run's options behave as documented.
. "$(dirname "$0")/lib/common.sh"

cat >"$SCRATCH/s.yaml" <<'YAML'
name: cli
env: {WHO: world}
checks:
  - launch:
      name: greet
      command: 'echo "hello $WHO"'
      stdout: "^hello world$"
  - launch:
      name: fails on purpose
      command: [sh, -c, "echo broken >&2; exit 4"]
  - launch:
      name: later
      skip: not yet
      command: ["true"]
YAML
cat >"$SCRATCH/ok.yaml" <<'YAML'
name: ok
checks:
  - launch: {command: ["true"]}
YAML

out=$("$ALTS_RUN" --version); check "--version prints the version" grep -Eq '^alts-run [0-9]+\.[0-9]+\.[0-9]+$' <<<"$out"
out=$("$ALTS_RUN" --help); check "--help documents the exit codes" grep -q "3 environment failure" <<<"$out"
out=$("$ALTS_RUN" --list "$SCRATCH/s.yaml"); status=$?
check "--list prints the checks and runs nothing" test "$status" -eq 0 -a "$(grep -c '^ *[0-9]\.' <<<"$out")" -eq 3
check "--list shows skip reasons" grep -q "later  \[skip: not yet\]" <<<"$out"
out=$("$ALTS_RUN" --validate "$SCRATCH/s.yaml" "$SCRATCH/ok.yaml"); status=$?
check "--validate accepts valid suites" test "$status" -eq 0 -a "$(grep -c ': ok' <<<"$out")" -eq 2
check "--validate counts in the singular and plural" grep -q 'ok.yaml: ok (1 check)$' <<<"$out"
check "--validate says 3 checks" grep -q 's.yaml: ok (3 checks)$' <<<"$out"

out=$(NO_COLOR= "$ALTS_RUN" --color never --artifacts "$SCRATCH/a1" "$SCRATCH/s.yaml"); status=$?
check "a failing check: exit 1" test "$status" -eq 1
check "console: one line per check" test "$(grep -cE '^ +(PASS|FAIL|SKIP) ' <<<"$out")" -eq 3
check "console: the failure reason is shown" grep -q "exit code 4, expected 0" <<<"$out"
check "console: plain closing line" grep -Eq '^1 passed, 1 failed, 1 skipped$' <<<"$out"
check "console: no colour with --color never" bash -c "! grep -q $'\e\\[' <<<\"\$1\"" _ "$out"
out=$(NO_COLOR=1 "$ALTS_RUN" --color auto -q --artifacts "$SCRATCH/a2" "$SCRATCH/ok.yaml"); status=$?
check "-q prints nothing and passes" test "$status" -eq 0 -a -z "$out"
out=$("$ALTS_RUN" --color always --artifacts "$SCRATCH/a3" "$SCRATCH/ok.yaml")
check "--color always colours" grep -q $'\e\[' <<<"$out"

out=$("$ALTS_RUN" -v --color never --artifacts "$SCRATCH/a4" "$SCRATCH/s.yaml" 2>&1)
check "-v streams check output" grep -q "| hello world" <<<"$out"
check "-v streams stderr too" grep -q "| broken" <<<"$out"

out=$("$ALTS_RUN" --filter greet --color never --artifacts "$SCRATCH/a5" "$SCRATCH/s.yaml"); status=$?
check "--filter: only the matching check runs (exit $status)" test "$status" -eq 0
check "--filter: the others are reported skipped" grep -q "not selected by --filter" <<<"$out"

out=$("$ALTS_RUN" --tap - --color never --artifacts "$SCRATCH/a6" "$SCRATCH/s.yaml" 2>/dev/null)
check "--tap -: TAP on stdout, console elsewhere" bash -c 'head -1 <<<"$1" | grep -q "^TAP version 13$" && ! grep -q "PASS" <<<"$1"' _ "$out"

check "logs per check under --artifacts" test -s "$SCRATCH/a1/cli/logs/01-greet.log" -a -s "$SCRATCH/a1/cli/logs/02-fails_on_purpose.log"
check "the failing check's log has its stderr" grep -q broken "$SCRATCH/a1/cli/logs/02-fails_on_purpose.log"

# Two suites with the same name keep separate log directories; -j runs them together.
cp "$SCRATCH/ok.yaml" "$SCRATCH/ok2.yaml"
"$ALTS_RUN" -q -j 2 --artifacts "$SCRATCH/a7" "$SCRATCH/ok.yaml" "$SCRATCH/ok2.yaml"; status=$?
check "-j 2 with two suites passes" test "$status" -eq 0
check "same-named suites get separate directories" test -d "$SCRATCH/a7/ok-1" -a -d "$SCRATCH/a7/ok-2"

out=$("$ALTS_RUN" --runner nope "$SCRATCH/ok.yaml" 2>&1); status=$?
check "unknown --runner: exit 2" test "$status" -eq 2
out=$("$ALTS_RUN" -j 0 "$SCRATCH/ok.yaml" 2>&1); status=$?
check "-j 0: exit 2" test "$status" -eq 2
out=$("$ALTS_RUN" --config /nonexistent.yaml "$SCRATCH/ok.yaml" 2>&1); status=$?
check "missing --config: exit 2 and named" test "$status" -eq 2 -a -n "$(grep -F "cannot read config '/nonexistent.yaml'" <<<"$out")"
printf 'exclusions: [{dist: x}]\n' >"$SCRATCH/bad-config.yaml"
out=$("$ALTS_RUN" --config "$SCRATCH/bad-config.yaml" "$SCRATCH/ok.yaml" 2>&1); status=$?
check "invalid config: exit 2 with location" test "$status" -eq 2 -a -n "$(grep -F "bad-config.yaml:1:14: exclusions[0]: missing required key 'packages'" <<<"$out")"
out=$("$ALTS_RUN" --artifacts /proc/alts-no "$SCRATCH/ok.yaml" 2>&1); status=$?
check "unwritable --artifacts: exit 3" test "$status" -eq 3

# An environment failure: the runner cannot be prepared.
cat >"$SCRATCH/noimage.yaml" <<'YAML'
name: noimage
environment: {runner: sandbox, image: no-such-image}
checks:
  - launch: {command: ["true"]}
YAML
if [ "$(id -u)" = 0 ]; then
	"$ALTS_RUN" --artifacts "$SCRATCH/a8" --tap "$SCRATCH/bail.tap" "$SCRATCH/noimage.yaml" >/dev/null 2>&1; status=$?
	check "environment failure: exit 3" test "$status" -eq 3
	check "environment failure: TAP bails out with the reason" grep -q "^Bail out! .*no image 'no-such-image'" "$SCRATCH/bail.tap"
fi

# Output beyond the config's output_tail: reports keep the tail and say how much was cut.
cat >"$SCRATCH/long.yaml" <<'YAML'
name: long output
checks:
  - launch:
      name: chatty
      command: [sh, -c, "seq 1 20000; exit 1"]
YAML
printf 'output_tail: 1024\n' >"$SCRATCH/tail.yaml"
"$ALTS_RUN" --config "$SCRATCH/tail.yaml" --tap "$SCRATCH/long.tap" --junit "$SCRATCH/long.xml" \
	--json "$SCRATCH/long.json" --artifacts "$SCRATCH/a-long" "$SCRATCH/long.yaml" >/dev/null
total=$(seq 1 20000 | wc -c)
omitted=$(sed -n 's/^ *output_omitted_bytes: //p' "$SCRATCH/long.tap")
check "TAP: output_omitted_bytes counts what the engine cut" test -n "$omitted" -a "$omitted" -gt $((total - 1100)) -a "$omitted" -lt "$total"
check "TAP: the kept tail ends with the last line" grep -q '^ *20000$' "$SCRATCH/long.tap"
check "JUnit: notes the omitted bytes" grep -q "\[alts: $omitted bytes of output omitted\]" "$SCRATCH/long.xml"
check "JSON: output_omitted_bytes as in TAP" test "$(jq '[.. | objects | .output_omitted_bytes? // empty] | max' "$SCRATCH/long.json")" = "$omitted"

finish
