#!/usr/bin/env bash
# uninstall with purge and leftovers, deb (debian-12, apt) and rpm (debian-12-rpm, dnf), with
# packages this test builds (tests/fixtures/pkgs/build-life.sh): a package that cleans up after
# itself passes; one whose purge forgets /var/lib/NAME/format fails naming that file; one that
# leaves its daemon running fails naming the process; leftovers: warn reports without failing.
# The "before" walk is taken by install and kept in the environment.
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd dpkg-deb dpkg-scanpackages
ensure_image
build=$ALTS_SOURCE_DIR/tests/fixtures/pkgs/build-life.sh
repo=$SCRATCH/deb
sh "$build" deb "$repo" alts-clean 1.0 daemon >/dev/null
sh "$build" deb "$repo" alts-forget 1.0 forget-state >/dev/null
sh "$build" deb "$repo" alts-stay 1.0 daemon-left >/dev/null
make_repo "$repo"

# suite NAME IMAGE PM REPO PACKAGE [UNINSTALL-OPTIONS]
suite() {
	cat <<YAML
name: $1
environment: {runner: sandbox, image: $2, package_manager: $3}
packages: [$5]
repositories: [{name: local, url: $4}]
checks:
  - install
  - uninstall: {purge: true${6:+, $6}}
YAML
}
run() { # NAME: runs $SCRATCH/NAME.yaml; TAP in NAME.tap
	"$ALTS_RUN" --artifacts "$SCRATCH/art-$1" --tap "$SCRATCH/$1.tap" "$SCRATCH/$1.yaml" >"$SCRATCH/$1.out" 2>&1
}

life_cases() { # FMT IMAGE PM REPO
	local f=$1 st
	suite "$f-clean" "$2" "$3" "$4" alts-clean >"$SCRATCH/$f-clean.yaml"
	start=$(date +%s%N)
	run "$f-clean"; st=$?
	echo "# $f: install + purge + leftovers took $(( ($(date +%s%N) - start) / 1000000 )) ms"
	check "$f: a package that cleans up passes (exit $st)" test "$st" -eq 0
	[ "$st" -eq 0 ] || sed 's/^/# /' "$SCRATCH/$f-clean.out" "$SCRATCH/$f-clean.tap"
	check "$f: the purge ran" grep -rqE "(apt-get purge --autoremove|dnf remove) -y" "$SCRATCH/art-$f-clean"
	check "$f: leftovers is a part of uninstall" grep -q "^    ok 2 - leftovers" "$SCRATCH/$f-clean.tap"

	suite "$f-forget" "$2" "$3" "$4" alts-forget >"$SCRATCH/$f-forget.yaml"
	run "$f-forget"; st=$?
	check "$f: a forgotten state file fails (exit $st)" test "$st" -eq 1
	check "$f: uninstall is the failing check" grep -q "^not ok 2 - uninstall" "$SCRATCH/$f-forget.tap"
	check "$f: the file is named" grep -q "left behind: /var/lib/alts-forget/format" "$SCRATCH/$f-forget.tap"

	suite "$f-stay" "$2" "$3" "$4" alts-stay >"$SCRATCH/$f-stay.yaml"
	run "$f-stay"; st=$?
	check "$f: a daemon left running fails (exit $st)" test "$st" -eq 1
	check "$f: the process is named" grep -q "still running: [0-9]* alts-stayd" "$SCRATCH/$f-stay.tap"

	suite "$f-warn" "$2" "$3" "$4" alts-forget "leftovers: warn" >"$SCRATCH/$f-warn.yaml"
	run "$f-warn"; st=$?
	check "$f: leftovers: warn passes (exit $st)" test "$st" -eq 0
	check "$f: leftovers: warn still names the file" grep -q "warning: 1 leftover: left behind: /var/lib/alts-forget/format" "$SCRATCH/$f-warn.tap"
}
life_cases deb "$IMAGE" apt "$repo"

if command -v rpmbuild >/dev/null && command -v createrepo_c >/dev/null &&
	"$ALTS_IMAGE" list 2>/dev/null | grep -q "^debian-12-rpm "; then
	rrepo=$SCRATCH/rpm
	sh "$build" rpm "$rrepo" alts-clean 1.0 daemon >/dev/null
	sh "$build" rpm "$rrepo" alts-forget 1.0 forget-state >/dev/null
	sh "$build" rpm "$rrepo" alts-stay 1.0 daemon-left >/dev/null
	createrepo_c -q "$rrepo"
	life_cases rpm debian-12-rpm dnf "$rrepo"
else
	echo "# no rpmbuild, createrepo_c or debian-12-rpm image: the rpm half is left out"
fi
[ -n "${KEEP:-}" ] && cp -r "$SCRATCH" "$KEEP"
check "nothing is left behind" no_leftovers
finish
