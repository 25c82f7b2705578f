#!/usr/bin/env bash
# Fresh environment per check (isolation: check, fresh: true) and test dependencies
# (test_depends) on the sandbox runner: a check's side effects (a root password, a file
# written, a file of the package removed) do not reach the next check under isolation, and
# do without it; each fresh check starts with the package under test and its test
# dependencies installed (the snapshot), not from a re-install; test dependencies are no
# leftovers and survive the package's uninstall; nothing is left behind.
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd dpkg-deb dpkg-scanpackages
ensure_image

repo=$SCRATCH/repo
mkdir -p "$repo"
build_deb "$repo" alts-iso 1.0
build_deb "$repo" alts-tdeplib 1.0
build_deb "$repo" alts-tdep2 1.0
# A test dependency that pulls in another package: both are test dependencies.
build_deb "$repo" alts-tdep 1.0
# (build_deb writes no Depends: it is added to the control file here)
tmp=$SCRATCH/tdep && mkdir -p "$tmp" && dpkg-deb -R "$repo/alts-tdep_1.0_all.deb" "$tmp" &&
	rm -f "$tmp/DEBIAN/depends" && echo "Depends: alts-tdeplib" >>"$tmp/DEBIAN/control" &&
	dpkg-deb --root-owner-group --build "$tmp" "$repo/alts-tdep_1.0_all.deb" >/dev/null
make_repo "$repo"

# Check A: what a test run as root may do to a system.
side_effects='echo root:alts-secret | chpasswd && rm /usr/bin/alts-iso && echo a >/etc/alts-marker-a && dpkg -P alts-tdeplib alts-tdep >/dev/null'
# Check B: a system untouched by check A, with the package and its test dependencies installed.
untouched='! grep -q "^root:\$" /etc/shadow && test -x /usr/bin/alts-iso && test ! -e /etc/alts-marker-a && dpkg -s alts-tdep alts-tdeplib >/dev/null && echo untouched'

suite() {  # suite NAME ISOLATION
	cat <<YAML
name: $1
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
packages: [alts-iso]
test_depends: [alts-tdep]
repositories: ["deb [trusted=yes] file:$repo ./"]
isolation: $2
checks:
  - install
  - launch: {name: a-side-effects, command: [sh, -c, '$side_effects']}
  - launch: {name: b-untouched, command: [sh, -c, '$untouched'], stdout: "^untouched\$", expect_failure: $([ "$2" = check ] && echo false || echo true)}
YAML
}

# 1. Under isolation: check A's side effects are gone for B; per-check test dependencies go
#    with their check; integrity passes on the snapshot; uninstall with leftovers: fail does
#    not count the test dependencies and does not remove them.
{
	suite iso check
	cat <<YAML
  - launch: {name: c-own-test-dep, test_depends: [alts-tdep2], command: [dpkg, -s, alts-tdep2]}
  - launch: {name: d-own-test-dep-gone, command: [sh, -c, '! dpkg -s alts-tdep2 2>/dev/null']}
  - integrity
  - uninstall: {purge: true, leftovers: fail, fresh: false}
  - launch: {name: e-test-deps-stay, fresh: false, command: [sh, -c, 'dpkg -s alts-tdep >/dev/null && ! dpkg -s alts-iso 2>/dev/null']}
YAML
} >"$SCRATCH/iso.yaml"
t0=$(date +%s%N)
out=$("$ALTS_RUN" --artifacts "$SCRATCH/art-iso" --tap "$SCRATCH/iso.tap" "$SCRATCH/iso.yaml" 2>&1); status=$?
t1=$(date +%s%N)
check "isolation: check: every check passes (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || { echo "$out" | sed 's/^/# /'; cat "$SCRATCH/iso.tap" | sed 's/^/# /'; }
logs=$SCRATCH/art-iso/iso/logs
check "the install log names the test dependencies, pulled-in ones too" \
	grep -q "test dependency: alts-tdeplib" "$logs/01-install.log"
check "the check's own test dependency is logged as one" grep -q "test dependency: alts-tdep2" "$logs/04-c-own-test-dep.log"
check "the first fresh check starts from a snapshot" grep -q "snapshot of the shared environment taken" "$logs/02-a-side-effects.log"
check "the next one from that snapshot again" grep -q "back to the snapshot" "$logs/03-b-untouched.log"
ms=$(grep -ho 'alts: fresh environment: back to the snapshot.*(\([0-9.]*\) ms)' "$logs"/*.log | sed 's/.*(\([0-9.]*\) ms)/\1/' | sort -n | tail -1)
echo "# slowest reset to the snapshot: ${ms:-?} ms; whole suite $(( (t1 - t0) / 1000000 )) ms"

# 2. Without isolation the side effects reach check B (which is expected to fail there).
suite shared suite >"$SCRATCH/shared.yaml"
out=$("$ALTS_RUN" --artifacts "$SCRATCH/art-shared" --tap "$SCRATCH/shared.tap" "$SCRATCH/shared.yaml" 2>&1); status=$?
check "isolation: suite: check A's side effects reach check B (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || { echo "$out" | sed 's/^/# /'; cat "$SCRATCH/shared.tap" | sed 's/^/# /'; }
check "no snapshot is taken without isolation" sh -c "! grep -rq 'fresh environment' '$SCRATCH/art-shared/shared/logs'"

# 3. A test dependency that does not exist fails the install check, with apt's reason.
sed 's/test_depends: \[alts-tdep\]/test_depends: [alts-no-such-dep]/' "$SCRATCH/shared.yaml" >"$SCRATCH/nodep.yaml"
out=$("$ALTS_RUN" --artifacts "$SCRATCH/art-nodep" --tap "$SCRATCH/nodep.tap" "$SCRATCH/nodep.yaml" 2>&1); status=$?
check "a missing test dependency fails the suite (exit $status)" test "$status" -eq 1
check "...at install, saying why" grep -q "cannot install the test dependencies: apt-get failed.*alts-no-such-dep" "$SCRATCH/nodep.tap"
grep -q "cannot install the test dependencies" "$SCRATCH/nodep.tap" || sed 's/^/# /' "$SCRATCH/nodep.tap"

check "nothing is left behind (directories, mounts, processes)" no_leftovers
check "no sandbox tmpfs is mounted on the host" sh -c "! grep -q ' /run/alts\|$SCRATCH' /proc/self/mountinfo"
finish
