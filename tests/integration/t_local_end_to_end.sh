#!/usr/bin/env bash
# Every check kind on the local runner, with packages built here (dpkg-deb, rpmbuild) and
# installed into scratch roots: real prove/TAP::Parser, tap-parser, xmllint and jq read the
# reports; failures, timeouts and modified files show in TAP, JUnit and JSON alike.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/consumers.sh"
need_root
need_cmd dpkg-deb rpmbuild rpm debsums
consumers_require || exit $?

pkgs=$SCRATCH/pkgs
deb=$(sh "$ALTS_SOURCE_DIR/tests/fixtures/pkgs/build-deb.sh" "$pkgs")
rpmfile=$(sh "$ALTS_SOURCE_DIR/tests/fixtures/pkgs/build-rpm.sh" "$pkgs")
mkdir -p "$SCRATCH/tests"
cat >"$SCRATCH/tests/hello.t" <<'SH'
#!/bin/sh
echo "TAP version 13"
echo "1..2"
"$ALTS_ROOT/usr/bin/alts-hello" | grep -q "Hello from alts" && echo "ok 1 - greets" || echo "not ok 1 - greets"
test -L "$ALTS_ROOT/usr/bin/alts-hi" && echo "ok 2 - alias link" || echo "not ok 2 - alias link"
SH
chmod +x "$SCRATCH/tests/hello.t"

# One suite per package format; both modify a file between two integrity checks.
suite() { # NAME FILE PIDFILE
	cat <<YAML
name: $1
environment:
  runner: local
  root: $SCRATCH/root-$1
packages:
  - name: alts-hello
    file: $2
checks:
  - install
  - launch:
      name: greets
      command: ["$SCRATCH/root-$1/usr/bin/alts-hello"]
      stdout: "^Hello from alts$"
  - integrity:
      name: integrity before
  - script:
      name: third-party
      path: tests/hello.t
  - launch:
      name: wrong exit code
      command: "echo 'visible output <&> of the failure'; exit 3"
  - launch:
      name: hangs
      timeout: 1s
      command: "sleep 300 & echo \$! > $3; sleep 300"
  - launch:
      name: known bug
      expect_failure: true
      command: ["false"]
  - launch:
      name: not today
      skip: waiting for the fix
      command: ["true"]
  - launch:
      name: an admin edits the program
      command: "echo '# edited' >> $SCRATCH/root-$1/usr/bin/alts-hello"
  - integrity:
      name: integrity after
  - uninstall
YAML
}
# A killed process may linger as a zombie when PID 1 does not reap: that is dead too.
not_running() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null); [ -z "$st" ] || [ "${st#Z}" != "$st" ]; }

suite deb "$deb" "$SCRATCH/deb.pid" >"$SCRATCH/deb.yaml"
suite rpm "$rpmfile" "$SCRATCH/rpm.pid" >"$SCRATCH/rpm.yaml"

for fmt in deb rpm; do
	"$ALTS_RUN" --artifacts "$SCRATCH/art-$fmt" --tap "$SCRATCH/$fmt.tap" --junit "$SCRATCH/$fmt.xml" \
		--json "$SCRATCH/$fmt.json" "$SCRATCH/$fmt.yaml" >"$SCRATCH/$fmt.out" 2>&1
	status=$?
	"$ALTS_RUN" --artifacts "$SCRATCH/art14-$fmt" --tap "$SCRATCH/$fmt-14.tap" --tap-version 14 -q \
		"$SCRATCH/$fmt.yaml" >/dev/null 2>&1
	check "$fmt: exit status 1 (checks failed)" test "$status" -eq 1
	[ "$status" -eq 1 ] || sed 's/^/# /' "$SCRATCH/$fmt.out"
	# pass: install greets integrity-before third-party edit uninstall; fail: wrong-exit hangs integrity-after
	check "$fmt: prove, tap-parser, xmllint and jq agree with the run" \
		consumers_check "$SCRATCH/$fmt.tap" "$SCRATCH/$fmt-14.tap" "$SCRATCH/$fmt.xml" \
		"suites=1 pass=6 fail=3 skip=1 xfail=1" "$SCRATCH/$fmt.json"
	check "$fmt: prove reads the TAP without parse errors" \
		bash -c "prove -e cat '$SCRATCH/$fmt.tap' 2>&1 | grep -q 'Failed 3/11 subtests' && ! prove -e cat '$SCRATCH/$fmt.tap' 2>&1 | grep -q 'Parse errors'"
	check "$fmt: the failing check's output is in TAP" grep -q "visible output <&> of the failure" "$SCRATCH/$fmt.tap"
	check "$fmt: ... and escaped in JUnit" grep -q "visible output &lt;&amp;&gt; of the failure" "$SCRATCH/$fmt.xml"
	check "$fmt: ... and in JSON" bash -c "jq -r '.. | .output? // empty' '$SCRATCH/$fmt.json' | grep -q 'visible output <&>'"
	check "$fmt: the timeout is reported" grep -q "^not ok 6 - hangs" "$SCRATCH/$fmt.tap"
	check "$fmt: the timed-out check's child was killed too" not_running "$(cat "$SCRATCH/$fmt.pid")"
	check "$fmt: integrity after the edit names the file" \
		bash -c "grep -A30 '^not ok 10 - integrity after' '$SCRATCH/$fmt.tap' | grep -q 'modified: /usr/bin/alts-hello'"
	check "$fmt: per-check logs" test -s "$SCRATCH/art-$fmt/$fmt/logs/01-install.log" -a \
		-s "$SCRATCH/art-$fmt/$fmt/logs/10-integrity_after.log"
	check "$fmt: the package was removed from the scratch root" test ! -e "$SCRATCH/root-$fmt/usr/bin/alts-hello"
done
check "deb: debsums names the file" grep -q "debsums: modified: /usr/bin/alts-hello" "$SCRATCH/deb.tap"
check "rpm: rpm -V names the file" grep -q "rpm -V: modified: /usr/bin/alts-hello" "$SCRATCH/rpm.tap"
check "the host never saw the package" test ! -e /usr/bin/alts-hello

# The example suite passes on this machine and its reports are read by the same consumers.
"$ALTS_RUN" --artifacts "$SCRATCH/art-ex" --tap "$SCRATCH/ex.tap" --junit "$SCRATCH/ex.xml" --json "$SCRATCH/ex.json" \
	"$ALTS_SOURCE_DIR/examples/coreutils.yaml" >"$SCRATCH/ex.out" 2>&1
status=$?
check "examples/coreutils.yaml passes (exit $status)" test "$status" -eq 0
"$ALTS_RUN" -q --artifacts "$SCRATCH/art-ex14" --tap "$SCRATCH/ex14.tap" --tap-version 14 \
	"$ALTS_SOURCE_DIR/examples/coreutils.yaml" >/dev/null 2>&1
check "example: consumers agree" consumers_check "$SCRATCH/ex.tap" "$SCRATCH/ex14.tap" "$SCRATCH/ex.xml" \
	"suites=1 pass=5 skip=1" "$SCRATCH/ex.json"

finish
