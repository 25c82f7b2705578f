#!/usr/bin/env bash
# Fresh environment per check (isolation: check, fresh: true) and test dependencies
# (test_depends) on the sandbox runner: a check's side effects (a root password, a file
# written, a file of the package removed) do not reach the next check under isolation, and
# do without it; each fresh check starts with the package under test and its test
# dependencies installed (the snapshot), not from a re-install; test dependencies are no
# leftovers and survive the package's uninstall; with apt and with dnf; a script directory
# is copied whole but only its top-level files run; nothing is left behind.
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

# alts_run ARGS...: alts-run, its debug log (which names each sandbox) kept in $SCRATCH/debug.log.
alts_run() { "$ALTS_RUN" --log-level debug "$@" 2>>"$SCRATCH/debug.log"; }

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
#    not count the test dependencies (the suite's, and a check's own installed after the
#    leftovers' before-walk) and does not remove them.
{
	suite iso check
	cat <<YAML
  - launch: {name: c-own-test-dep, test_depends: [alts-tdep2], command: [dpkg, -s, alts-tdep2]}
  - launch: {name: d-own-test-dep-gone, command: [sh, -c, '! dpkg -s alts-tdep2 2>/dev/null']}
  - integrity
  - launch: {name: f-shared-own-dep, fresh: false, test_depends: [alts-tdep2], command: [alts-tdep2]}
  - uninstall: {purge: true, leftovers: fail, fresh: false}
  - launch: {name: e-test-deps-stay, fresh: false, command: [sh, -c, 'dpkg -s alts-tdep >/dev/null && ! dpkg -s alts-iso 2>/dev/null']}
YAML
} >"$SCRATCH/iso.yaml"
t0=$(date +%s%N)
out=$(alts_run --artifacts "$SCRATCH/art-iso" --tap "$SCRATCH/iso.tap" "$SCRATCH/iso.yaml" 2>&1); status=$?
t1=$(date +%s%N)
check "isolation: check: every check passes (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || { echo "$out" | sed 's/^/# /'; cat "$SCRATCH/iso.tap" | sed 's/^/# /'; }
logs=$SCRATCH/art-iso/iso/logs
check "the install log names the test dependencies, pulled-in ones too" \
	grep -q "test dependency: alts-tdeplib" "$logs/01-install.log"
check "the check's own test dependency is logged as one" grep -q "test dependency: alts-tdep2" "$logs/04-c-own-test-dep.log"
check "uninstall leaves the test dependencies' files out of its leftovers" \
	grep -q "the files of 3 test dependencies are not leftovers" "$logs/08-uninstall.log"
check "the first fresh check starts from a snapshot" grep -q "snapshot of the shared environment taken" "$logs/02-a-side-effects.log"
check "the next one from that snapshot again" grep -q "back to the snapshot" "$logs/03-b-untouched.log"
ms=$(grep -ho 'alts: fresh environment: back to the snapshot.*(\([0-9.]*\) ms)' "$logs"/*.log | sed 's/.*(\([0-9.]*\) ms)/\1/' | sort -n | tail -1)
echo "# slowest reset to the snapshot: ${ms:-?} ms; whole suite $(( (t1 - t0) / 1000000 )) ms"

# 2. Without isolation the side effects reach check B (which is expected to fail there).
#    Also: a script directory is copied whole (subdirectories too, for the helpers scripts keep
#    beside them) but only its top-level files run; a symbolic link to a host file is copied as
#    a link and does not reach the host's file from the sandbox.
mkdir -p "$SCRATCH/scripts/lib"
echo HOST-SECRET >"$SCRATCH/host-secret"
ln -s "$SCRATCH/host-secret" "$SCRATCH/scripts/lib/secret"
echo 'helper_says() { echo "helper here"; }' >"$SCRATCH/scripts/lib/helper.sh"
printf '#!/bin/sh\necho "scripts in subdirectories are not run" >&2\nexit 1\n' >"$SCRATCH/scripts/lib/not-run.sh"
chmod +x "$SCRATCH/scripts/lib/not-run.sh"
cat >"$SCRATCH/scripts/uses-lib.sh" <<'SH'
#!/bin/sh
. "$(dirname "$0")/lib/helper.sh"
test "$(helper_says)" = "helper here" || exit 1
test -L "$(dirname "$0")/lib/secret" || { echo "the link was not copied as a link" >&2; exit 1; }
! grep -q HOST-SECRET "$(dirname "$0")/lib/secret" 2>/dev/null || { echo "the host's file leaked in" >&2; exit 1; }
SH
chmod +x "$SCRATCH/scripts/uses-lib.sh"
{ suite shared suite; echo "  - script: {path: $SCRATCH/scripts}"; } >"$SCRATCH/shared.yaml"
out=$(alts_run --artifacts "$SCRATCH/art-shared" --tap "$SCRATCH/shared.tap" "$SCRATCH/shared.yaml" 2>&1); status=$?
check "isolation: suite: check A's side effects reach check B (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || { echo "$out" | sed 's/^/# /'; cat "$SCRATCH/shared.tap" | sed 's/^/# /'; }
check "a script directory's subdirectories are copied, not run" grep -q "^ok 4 - script" "$SCRATCH/shared.tap"
check "...only the top-level script runs" sh -c "grep -q '^    ok 1 - uses-lib.sh' '$SCRATCH/shared.tap' && ! grep -q not-run '$SCRATCH/shared.tap'"
check "no snapshot is taken without isolation" sh -c "! grep -rq 'fresh environment' '$SCRATCH/art-shared/shared/logs'"

# 3. dnf: the same promises with rpm packages in the debian-12-rpm image (t_sandbox_rpm.sh
#    builds it too; a missing test dependency is covered by tests/unit/check_testdeps.c).
. "$(dirname "$0")/lib/rpm.sh"
need_cmd rpmbuild createrepo_c
ensure_image debian-12-rpm --dist debian-12 \
	--include debsums,procps,bats,binutils,ca-certificates,rpm,dnf,createrepo-c
rrepo=$SCRATCH/rpmrepo
export BUILD_RPM_HEADER="AutoReqProv: no"  # the image's rpm database provides no /bin/sh
build_rpm "$rrepo" alts-riso 1.0 && build_rpm "$rrepo" alts-rtdep 1.0 && make_rpm_repo "$rrepo" ||
	{ echo "cannot build the rpms"; exit 1; }
cat >"$SCRATCH/dnf.yaml" <<YAML
name: dnf
environment: {runner: sandbox, image: debian-12-rpm, package_manager: dnf}
packages: [alts-riso]
test_depends: [alts-rtdep]
repositories: [{name: local, baseurl: "file://$rrepo"}]
isolation: check
checks:
  - install
  - launch: {name: a-side-effects, command: [sh, -c, 'rm /usr/bin/alts-riso && rpm -e alts-rtdep && touch /etc/alts-marker-a']}
  - launch: {name: b-untouched, command: [sh, -c, 'test -x /usr/bin/alts-riso && rpm -q alts-rtdep && test ! -e /etc/alts-marker-a']}
  - uninstall: {fresh: false}
  - launch: {name: c-test-dep-stays, fresh: false, command: [rpm, -q, alts-rtdep]}
YAML
out=$(alts_run --artifacts "$SCRATCH/art-dnf" --tap "$SCRATCH/dnf.tap" "$SCRATCH/dnf.yaml" 2>&1); status=$?
check "dnf: isolation and test dependencies (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || { echo "$out" | sed 's/^/# /'; sed 's/^/# /' "$SCRATCH/dnf.tap"; }
check "dnf installed the test dependency" grep -q "dnf install -y --setopt=install_weak_deps=False alts-rtdep" \
	"$SCRATCH/art-dnf/dnf/logs/01-install.log"

check "nothing is left behind (directories, mounts, processes)" no_leftovers
# The cgroups of this test's sandboxes (named as their directories) are gone.
left_cgroups() {
	local names n left=0
	names=$(grep -o 'sandbox [^ ]*/sb-[A-Za-z0-9]* ready' "$SCRATCH/debug.log" | sed 's|.*/\(sb-[A-Za-z0-9]*\) ready|\1|' | sort -u)
	[ -n "$names" ] || { echo "# no sandbox named in the debug log"; return 1; }
	for n in $names; do
		ls -d /sys/fs/cgroup/*/alts/"$n" /sys/fs/cgroup/alts/"$n" 2>/dev/null | grep -q . && { echo "# left: $n"; left=1; }
	done
	return "$left"
}
check "no cgroup of ours is left" left_cgroups
check "no sandbox tmpfs is mounted on the host" sh -c "! grep -q ' /run/alts\|$SCRATCH' /proc/self/mountinfo"
finish
