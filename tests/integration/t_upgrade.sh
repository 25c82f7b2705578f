#!/usr/bin/env bash
# A package's life on Debian (sandbox, debian-12, apt): the upgrade check with packages this
# test builds (tests/fixtures/pkgs/build-life.sh, versions 1.0 and 2.0, in a local flat
# repository). A clean upgrade and downgrade pass, with the modified conffile kept; a 2.0 whose
# preinst refuses the upgrade fails at the upgrade step naming dpkg's reason; a 1.0 that cannot
# come back after 2.0 fails at the downgrade step; a postinst that overwrites a modified conffile
# is caught; a repository whose index says 2.0 for a package that is 2.1 fails install's version
# check, naming both.
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd dpkg-deb dpkg-scanpackages
ensure_image
build=$ALTS_SOURCE_DIR/tests/fixtures/pkgs/build-life.sh
repo=$SCRATCH/repo
for v in 1.0 2.0; do
	sh "$build" deb "$repo" alts-life "$v" >/dev/null
	sh "$build" deb "$repo" alts-conf "$v" $([ "$v" = 2.0 ] && echo clobber-conf) >/dev/null
done
sh "$build" deb "$repo" alts-fail 1.0 >/dev/null
sh "$build" deb "$repo" alts-fail 2.0 fail-upgrade >/dev/null
sh "$build" deb "$repo" alts-down 1.0 no-downgrade >/dev/null
sh "$build" deb "$repo" alts-down 2.0 >/dev/null
sh "$build" deb "$repo" alts-lie 2.1 >/dev/null
make_repo "$repo"
# The lying repository: its index says 2.0 for the 2.1 package (the file and its hashes are right).
sed -i '/^Package: alts-lie$/,/^$/s/^Version: 2.1$/Version: 2.0/' "$repo/Packages"
gzip -kf "$repo/Packages"

cat >"$SCRATCH/life.yaml" <<YAML
name: deb-life
environment: {runner: sandbox, image: $IMAGE}
packages:
  - alts-life
  - alts-fail
  - alts-down
  - alts-conf
  - {name: alts-lie, version: "2.0"}
repositories:
  - {name: local, url: $repo}
checks:
  - upgrade: {name: clean, from: "1.0", packages: [alts-life], downgrade: true, modify_conffiles: true}
  - upgrade: {name: preinst fails, from: "1.0", packages: [alts-fail]}
  - upgrade: {name: downgrade breaks, from: "1.0", packages: [alts-down], downgrade: true}
  - upgrade: {name: conffile clobbered, from: "1.0", packages: [alts-conf], modify_conffiles: true}
  - install: {name: lying repository, packages: [alts-lie]}
YAML
start=$(date +%s%N)
"$ALTS_RUN" --artifacts "$SCRATCH/art" --tap "$SCRATCH/life.tap" --json "$SCRATCH/life.json" \
	"$SCRATCH/life.yaml" >"$SCRATCH/life.out" 2>&1; status=$?
echo "# the deb life suite took $(( ($(date +%s%N) - start) / 1000000 )) ms"
check "the suite fails (exit $status)" test "$status" -eq 1
tap=$SCRATCH/life.tap
check "clean upgrade and downgrade pass" grep -q "^ok 1 - clean" "$tap"
check "clean: three steps, each a part" \
	bash -c "grep -q '^    ok 1 - install alts-life 1.0' '$tap' && grep -q '^    ok 2 - upgrade to alts-life' '$tap' && grep -q '^    ok 3 - downgrade to alts-life 1.0' '$tap'"
check "clean: the modified conffile was kept, the new one reported" \
	grep -q "conffile /etc/alts-life.conf: local change kept, the new version is in /etc/alts-life.conf.dpkg-dist" "$tap"
check "clean: each step has its own log" grep -q "alts: == step: downgrade to alts-life 1.0 ==" "$SCRATCH/life.json"
check "clean: the version came from the local repository" grep -rq "alts-life came from file:$repo" "$SCRATCH/art"
check "preinst fails: not ok" grep -q "^not ok 2 - preinst fails" "$tap"
check "preinst fails: at the upgrade step" grep -q "^    not ok 2 - upgrade to alts-fail" "$tap"
check "preinst fails: dpkg's reason is named" \
	grep -q "message: .*upgrade: apt-get failed (exit 100): .*pre-installation script subprocess returned error exit status 1" "$tap"
check "preinst fails: the script's own words are in the step's output" grep -q "refusing to upgrade: the frobnicator is busy" "$tap"
check "downgrade breaks: not ok at the downgrade step" \
	bash -c "grep -q '^not ok 3 - downgrade breaks' '$tap' && grep -q '^    not ok 3 - downgrade to alts-down' '$tap'"
check "downgrade breaks: the reason is named" grep -q "message: .*downgrade: .*returned error exit status 1" "$tap"
check "conffile clobbered: named" \
	grep -q "conffile /etc/alts-conf.conf: the local change was overwritten silently" "$tap"
check "lying repository: install fails naming both versions" \
	grep -q "alts-lie: version 2.1 is installed, 2.0 was requested" "$tap"
[ "$status" -eq 1 ] || sed 's/^/# /' "$SCRATCH/life.out"
check "nothing is left behind" no_leftovers
[ -n "${KEEP:-}" ] && cp -r "$SCRATCH" "$KEEP"
finish
