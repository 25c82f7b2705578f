#!/usr/bin/env bash
# The sandbox runner with a real debootstrapped Debian 12 image: packages from a local apt
# repository are installed, launched, verified, tested and removed in a fresh system each
# time; the host is untouched and nothing is left behind.
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd dpkg-deb dpkg-scanpackages gcc
ensure_image

repo=$SCRATCH/repo
mkdir -p "$repo" "$SCRATCH/suite/tests"
build_deb "$repo" alts-hello 1.0
build_deb "$repo" alts-badpostinst 1.0 'echo "postinst: cannot configure the frobnicator" >&2; exit 1'
# A program linked against a library the package does not ship.
cat >"$SCRATCH/needlib.c" <<'C'
int missing_function(void);
int main(void) { return missing_function(); }
C
echo 'int missing_function(void) { return 0; }' >"$SCRATCH/libmissing.c"
gcc -shared -fPIC -o "$SCRATCH/libaltsmissing.so" "$SCRATCH/libmissing.c"
gcc -o "$SCRATCH/alts-needlib" "$SCRATCH/needlib.c" -L"$SCRATCH" -laltsmissing
BUILD_DEB_ARCH=amd64 BUILD_DEB_EXTRA="cp '$SCRATCH/alts-needlib' usr/bin/alts-needlib-bin" \
	build_deb "$repo" alts-needlib 1.0
make_repo "$repo"

cat >"$SCRATCH/suite/tests/0_init.sh" <<'SH'
#!/bin/sh
echo "1..1"
test -x /usr/bin/alts-hello && echo "ok 1 - installed before the tests" || echo "not ok 1 - installed before the tests"
SH
cat >"$SCRATCH/suite/tests/greeting.bats" <<'BATS'
#!/usr/bin/env bats
@test "alts-hello greets" {
  run alts-hello
  [ "$status" -eq 0 ]
  [ "$output" = "Hello from alts-hello" ]
}
@test "the doc is there" {
  [ -f /usr/share/doc/alts-hello/README ]
}
BATS

# What only the sandboxed run could write to the host's dpkg database: alts-hello's entry and
# its files list (a whole-file checksum fails whenever anything else on the host runs apt).
host_knows_hello() { grep -q '^Package: alts-hello$' /var/lib/dpkg/status || compgen -G '/var/lib/dpkg/info/alts-hello.*' >/dev/null; }
host_knows_hello && skip_test "alts-hello is installed on this host; remove it first (dpkg -P alts-hello)"
cat >"$SCRATCH/suite/good.yaml" <<YAML
name: good
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
packages: [alts-hello]
repositories:
  - url: "deb [trusted=yes] file:$repo ./"
checks:
  - install
  - launch:
      command: [alts-hello]
      stdout: "^Hello from alts-hello$"
  - integrity
  - script: {path: tests}
  - uninstall
YAML
out=$("$ALTS_RUN" --artifacts "$SCRATCH/art-good" --tap "$SCRATCH/good.tap" --junit "$SCRATCH/good.xml" \
	"$SCRATCH/suite/good.yaml" 2>&1); status=$?
check "good package: every check passes (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || echo "$out" | sed 's/^/# /'
check "TAP has the bats and TAP script subtests" grep -q "ok 2 - greeting.bats" "$SCRATCH/good.tap"
host_never_heard_of_hello() { ! host_knows_hello; }
check "the host's dpkg database never heard of alts-hello" host_never_heard_of_hello
check "the package never reached the host" test ! -e /usr/bin/alts-hello
check "nothing is left behind" no_leftovers

# Broken packages fail at the right check, with the reason.
cat >"$SCRATCH/suite/modified.yaml" <<YAML
name: modified
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
packages: [alts-hello]
repositories: ["deb [trusted=yes] file:$repo ./"]
checks:
  - install
  - launch:
      name: an admin edits the program
      command: "echo '# local change' >> /usr/bin/alts-hello"
  - integrity
YAML
"$ALTS_RUN" --artifacts "$SCRATCH/art-mod" --tap "$SCRATCH/mod.tap" --junit "$SCRATCH/mod.xml" \
	"$SCRATCH/suite/modified.yaml" >"$SCRATCH/mod.out" 2>&1; status=$?
check "modified file: exit 1" test "$status" -eq 1
check "modified file: TAP names the file" grep -q "/usr/bin/alts-hello" "$SCRATCH/mod.tap"
check "modified file: integrity is the failing check" grep -q "^not ok 3 - integrity" "$SCRATCH/mod.tap"
check "modified file: JUnit has the failure" grep -q "<failure" "$SCRATCH/mod.xml"

cat >"$SCRATCH/suite/needlib.yaml" <<YAML
name: needlib
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
packages: [alts-needlib]
repositories: ["deb [trusted=yes] file:$repo ./"]
checks: [install, integrity]
YAML
"$ALTS_RUN" --artifacts "$SCRATCH/art-lib" --tap "$SCRATCH/lib.tap" "$SCRATCH/suite/needlib.yaml" \
	>"$SCRATCH/lib.out" 2>&1; status=$?
check "missing library: exit 1" test "$status" -eq 1
check "missing library: ldd names the library" grep -q "libaltsmissing.so" "$SCRATCH/lib.tap"

cat >"$SCRATCH/suite/postinst.yaml" <<YAML
name: postinst
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
packages: [alts-badpostinst]
repositories: ["deb [trusted=yes] file:$repo ./"]
checks: [install, uninstall]
YAML
"$ALTS_RUN" --artifacts "$SCRATCH/art-post" --tap "$SCRATCH/post.tap" "$SCRATCH/suite/postinst.yaml" \
	>"$SCRATCH/post.out" 2>&1; status=$?
check "failing postinst: exit 1" test "$status" -eq 1
check "failing postinst: install is the failing check" grep -q "^not ok 1 - install" "$SCRATCH/post.tap"
check "failing postinst: the reason is reported" grep -q "cannot configure the frobnicator" "$SCRATCH/post.tap"
check "nothing is left behind after failures" no_leftovers

# Two suites in parallel do not see each other's files.
for me in a b; do
	other=$([ $me = a ] && echo b || echo a)
	cat >"$SCRATCH/suite/par-$me.yaml" <<YAML
name: parallel-$me
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
checks:
  - launch:
      command: "echo start \$(date +%s%N); touch /etc/alts-$me /tmp/alts-$me && sleep 1 && test ! -e /etc/alts-$other && test ! -e /tmp/alts-$other; s=\$?; echo end \$(date +%s%N); exit \$s"
YAML
done
"$ALTS_RUN" -j 2 --artifacts "$SCRATCH/art-par" --json "$SCRATCH/par.json" "$SCRATCH/suite/par-a.yaml" \
	"$SCRATCH/suite/par-b.yaml" >"$SCRATCH/par.out" 2>&1; status=$?
check "-j 2: both suites pass, isolated from each other" test "$status" -eq 0
# Overlap from the checks' own clocks (each printed when it started and ended), not from timing
# the whole run: one suite started before the other ended, both ways.
read -r a_start a_end b_start b_end <<<"$(for me in a b; do
	cat "$SCRATCH"/art-par/*parallel-$me*/logs/*.log 2>/dev/null | awk '/^start /{s=$2} /^end /{e=$2} END{printf "%s %s ", s, e}'
done)"
check "-j 2: the two suites ran at the same time" \
	bash -c '[ -n "$4" ] && [ "$1" -lt "$4" ] && [ "$3" -lt "$2" ]' _ "${a_start:-0}" "${a_end:-0}" "${b_start:-0}" "${b_end:-}"

# SIGKILL of alts-run mid-suite: the sandbox's processes die with it, the next run sweeps the rest.
cat >"$SCRATCH/suite/sleeper.yaml" <<YAML
name: sleeper
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
checks:
  - launch: {command: "sleep 60 # alts-sandbox-marker"}
YAML
"$ALTS_RUN" --artifacts "$SCRATCH/art-kill" "$SCRATCH/suite/sleeper.yaml" >/dev/null 2>&1 &
victim=$!
for _ in $(seq 50); do pgrep -f 'alts-sandbox-marke[r]' >/dev/null && break; sleep 0.1; done
check "the sleeper runs inside the sandbox" pgrep -f 'alts-sandbox-marke[r]' >/dev/null
kill -9 "$victim"; wait "$victim" 2>/dev/null
for _ in $(seq 50); do pgrep -f 'alts-sandbox-marke[r]' >/dev/null || break; sleep 0.1; done
no_marker() { ! pgrep -f 'alts-sandbox-marke[r]' >/dev/null; }
check "SIGKILL: no process survives" no_marker
check "SIGKILL: no mount survives" bash -c "! grep -q '$ALTS_SANDBOX_DIR' /proc/self/mountinfo"
"$ALTS_IMAGE" sweep >/dev/null
check "SIGKILL: the sweep removes the stale directory" no_leftovers

# --keep-env keeps the upper layer and says how to enter it.
"$ALTS_RUN" --keep-env --artifacts "$SCRATCH/art-keep" "$SCRATCH/suite/par-a.yaml" >"$SCRATCH/keep.out" 2>&1
check "--keep-env prints how to enter" grep -q "enter it with" "$SCRATCH/keep.out"
check "--keep-env kept the changed file" bash -c "ls $ALTS_SANDBOX_DIR/sb-*/rw/upper/etc/alts-a"
rm -rf "$ALTS_SANDBOX_DIR"

finish
