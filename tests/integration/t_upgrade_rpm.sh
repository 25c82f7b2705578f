#!/usr/bin/env bash
# A package's life on RPM (sandbox, the debian-12-rpm image with dnf): the upgrade check with
# packages this test builds (tests/fixtures/pkgs/build-life.sh, 1.0 and 2.0, in a createrepo_c
# repository). A clean upgrade and downgrade pass, the modified %config(noreplace) file kept and
# the .rpmnew reported; a 2.0 whose %pre refuses the upgrade fails at the upgrade step naming
# rpm's scriptlet error; a 1.0 that cannot come back fails at the downgrade step; a %post that
# overwrites the modified config is caught; a package that dnf takes from another repository
# than the suite's fails install's origin check, naming both.
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd rpmbuild createrepo_c
IMAGE=debian-12-rpm
ensure_image "$IMAGE" --dist debian-12 \
	--include debsums,procps,bats,binutils,ca-certificates,rpm,dnf,createrepo-c
build=$ALTS_SOURCE_DIR/tests/fixtures/pkgs/build-life.sh
# The other repository lives inside the suite's (the sandbox sees only the repositories a suite names).
repo=$SCRATCH/repo other=$SCRATCH/repo/other
for v in 1.0 2.0; do
	sh "$build" rpm "$repo" alts-life "$v" >/dev/null
	sh "$build" rpm "$repo" alts-conf "$v" $([ "$v" = 2.0 ] && echo clobber-conf) >/dev/null
done
sh "$build" rpm "$repo" alts-fail 1.0 >/dev/null
sh "$build" rpm "$repo" alts-fail 2.0 fail-upgrade >/dev/null
sh "$build" rpm "$repo" alts-down 1.0 no-downgrade >/dev/null
sh "$build" rpm "$repo" alts-down 2.0 >/dev/null
sh "$build" rpm "$repo" alts-other 1.0 >/dev/null
# Another repository, configured in the environment outside the suite, has a newer alts-other.
sh "$build" rpm "$other" alts-other 1.1 >/dev/null
createrepo_c -q -x 'other/*' "$repo" && createrepo_c -q "$other" || { echo "createrepo_c failed"; exit 1; }

cat >"$SCRATCH/life.yaml" <<YAML
name: rpm-life
environment: {runner: sandbox, image: $IMAGE, package_manager: dnf}
packages: [alts-life, alts-fail, alts-down, alts-conf, alts-other]
repositories:
  - {name: local, baseurl: "file://$repo"}
checks:
  - upgrade: {name: clean, from: "1.0", packages: [alts-life], downgrade: true, modify_conffiles: true}
  - upgrade: {name: pre fails, from: "1.0", packages: [alts-fail]}
  - upgrade: {name: downgrade breaks, from: "1.0", packages: [alts-down], downgrade: true}
  - upgrade: {name: config clobbered, from: "1.0", packages: [alts-conf], modify_conffiles: true}
  - launch:
      name: another repository
      command: [sh, -c, 'printf "[other]\\nname=other\\nbaseurl=file://$other\\ngpgcheck=0\\n" >/etc/yum.repos.d/other.repo']
  - install: {name: wrong repository, packages: [alts-other]}
YAML
start=$(date +%s%N)
"$ALTS_RUN" --artifacts "$SCRATCH/art" --tap "$SCRATCH/life.tap" --json "$SCRATCH/life.json" \
	"$SCRATCH/life.yaml" >"$SCRATCH/life.out" 2>&1; status=$?
echo "# the rpm life suite took $(( ($(date +%s%N) - start) / 1000000 )) ms"
check "the suite fails (exit $status)" test "$status" -eq 1
tap=$SCRATCH/life.tap
check "clean upgrade and downgrade pass" grep -q "^ok 1 - clean" "$tap"
check "clean: three steps" \
	bash -c "grep -q '^    ok 1 - install alts-life 1.0' '$tap' && grep -q '^    ok 2 - upgrade to alts-life' '$tap' && grep -q '^    ok 3 - downgrade to alts-life 1.0-1' '$tap'"
check "clean: dnf upgrade and dnf downgrade ran" \
	bash -c "grep -rq 'dnf upgrade -y alts-life' '$SCRATCH/art' && grep -rq 'dnf downgrade -y alts-life-1.0-1' '$SCRATCH/art'"
check "clean: the modified config was kept, the .rpmnew reported" \
	grep -q "conffile /etc/alts-life.conf: local change kept, the new version is in /etc/alts-life.conf.rpmnew" "$tap"
check "clean: it came from the suite's repository" grep -rq "alts-life came from alts-local" "$SCRATCH/art"
check "pre fails: not ok at the upgrade step" \
	bash -c "grep -q '^not ok 2 - pre fails' '$tap' && grep -q '^    not ok 2 - upgrade to alts-fail' '$tap'"
check "pre fails: rpm's scriptlet error is named" \
	grep -q "message: .*upgrade: dnf failed (exit 1): .*error: %prein(alts-fail-2.0-1.noarch) scriptlet failed, exit status 1" "$tap"
check "downgrade breaks: not ok at the downgrade step" \
	bash -c "grep -q '^not ok 3 - downgrade breaks' '$tap' && grep -q '^    not ok 3 - downgrade to alts-down' '$tap'"
check "downgrade breaks: the scriptlet is named" grep -q "message: .*downgrade: .*%prein(alts-down-1.0-1.noarch) scriptlet failed" "$tap"
check "config clobbered: named" \
	grep -q "conffile /etc/alts-conf.conf: the local change was overwritten silently" "$tap"
check "wrong repository: install fails naming both" \
	grep -q "alts-other: installed from other, not from the repository local" "$tap"
[ "$status" -eq 1 ] || sed 's/^/# /' "$SCRATCH/life.out"
[ -n "${KEEP:-}" ] && cp -r "$SCRATCH" "$KEEP"
check "nothing is left behind" no_leftovers
finish
