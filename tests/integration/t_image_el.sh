#!/usr/bin/env bash
# EL images built by alts: `alts-image build --definition FILE NAME` runs dnf --installroot
# against a dnf repository this test makes with rpmbuild + createrepo_c, then an rpm suite
# (install, launch, integrity with rpm -V, uninstall) runs in the new image with the sandbox
# runner; `alts-image refresh` rebuilds it and swaps it in; bad definitions fail with their
# place (exit 2), gpgcheck is on by default, a foreign architecture without a qemu-user
# binfmt handler is refused.
#
# No AlmaLinux mirror is reachable here, so the distribution's base packages are stood in for
# by one rpm, alts-el-userland, that carries the userland of the debian-12-rpm image (bash,
# coreutils, rpm, dnf and their libraries; its dpkg database and os-release left out), plus a
# release package alts-el-release (os-release ID=alts-el VERSION_ID=9, system-release,
# %_dbpath /var/lib/rpm as on EL). The stand-in is built once and kept by content hash
# under the image cache; the image itself is built on every run.
. "$(dirname "$0")/lib/sandbox.sh"
. "$(dirname "$0")/lib/rpm.sh"
need_cmd rpmbuild createrepo_c rpm dnf
ensure_image debian-12-rpm --dist debian-12 \
	--include debsums,procps,bats,binutils,ca-certificates,rpm,dnf,createrepo-c
show() { sed 's/^/# /' "$1" | tail -"${2:-30}"; }

# ---- the stand-in userland rpm, cached by what it is made of ----
userland_src=$ALTS_IMAGE_CACHE/debian-12-rpm/rootfs
excludes=(var/lib/dpkg var/lib/apt var/cache/apt var/cache/debconf usr/share/doc usr/share/man
	usr/share/locale usr/share/info etc/os-release usr/lib/os-release var/log)
key=$({ cat "$ALTS_IMAGE_CACHE/debian-12-rpm/meta.json"; echo "${excludes[*]}"
	sed -n '/^build_rpm_tree()/,/^}/p' "$(dirname "$0")/lib/rpm.sh"; } | sha256sum | cut -c1-16)
base_dir=$ALTS_IMAGE_CACHE/.alts-test-el-userland
base=$base_dir/alts-el-userland-$key.rpm
mkdir -p "$base_dir"
exec 9>"$base_dir/.lock"
flock 9
if [ ! -f "$base" ]; then
	start=$(date +%s)
	tree=$SCRATCH/userland
	cp -a --reflink=auto "$userland_src" "$tree" || { echo "cannot copy $userland_src"; exit 1; }
	for e in "${excludes[@]}"; do rm -rf "${tree:?}/$e"; done
	find "$tree/dev" "$tree/proc" "$tree/sys" "$tree/run" "$tree/tmp" -mindepth 1 -delete 2>/dev/null
	build_rpm_tree "$SCRATCH/base" alts-el-userland 1.0 "$tree" /bin/sh /bin/bash ||
		{ echo "cannot build the userland rpm"; exit 1; }
	rm -f "$base_dir"/alts-el-userland-*.rpm
	mv "$SCRATCH"/base/alts-el-userland-*.rpm "$base"
	rm -rf "$tree" "$SCRATCH/base"
	echo "# built the stand-in userland rpm in $(( $(date +%s) - start )) s (cached as $base)"
fi
exec 9>&-

# ---- the repository: userland, release package, the package under test ----
repo=$SCRATCH/elrepo
mkdir -p "$repo" "$SCRATCH/spec"
ln "$base" "$repo/" 2>/dev/null || cp "$base" "$repo/"
cat >"$SCRATCH/spec/release.spec" <<'SPEC'
Name: alts-el-release
Version: 9.0
Release: 1
Summary: os-release of the alts test distribution
License: MIT
BuildArch: noarch
Provides: system-release = 9
Provides: system-release(releasever) = 9
%description
The release package of the alts test distribution (a stand-in for almalinux-release).
%install
mkdir -p %{buildroot}/etc/rpm
cat >%{buildroot}/etc/os-release <<EOF
NAME="alts EL test"
ID=alts-el
VERSION_ID=9
ID_LIKE="rhel fedora"
EOF
echo '%%_dbpath /var/lib/rpm' >%{buildroot}/etc/rpm/macros.dbpath
%files
/etc/os-release
/etc/rpm/macros.dbpath
SPEC
rpmbuild -bb --quiet --define "_topdir $SCRATCH/spec" "$SCRATCH/spec/release.spec" >/dev/null 2>&1 &&
	find "$SCRATCH/spec/RPMS" -name '*.rpm' -exec cp {} "$repo/" \; || { echo "cannot build the release rpm"; exit 1; }
build_rpm "$repo" alts-hello 1.0 || { echo "cannot build alts-hello"; exit 1; }
make_rpm_repo "$repo" || { echo "createrepo_c failed"; exit 1; }

# The image is built in this test's own cache (the shared one keeps debian-12-rpm).
shared_cache=$ALTS_IMAGE_CACHE
export ALTS_IMAGE_CACHE=$SCRATCH/cache
NAME=alts-el-9
defs=$SCRATCH/defs
mkdir -p "$defs"
# definition FILE [EXTRA-TOP-LEVEL-YAML] [REPO-EXTRA-YAML]
definition() {
	cat >"$1" <<YAML
# a dnf-based test distribution
dist_name: alts-el
dist_version: "9"
release_package: alts-el-release
packages: [alts-el-userland]
${2:-gpgcheck: false}
repositories:
  - name: local
    baseurl: file://$repo
${3:-}
YAML
}

# ---- bad definitions: exit 2 with file:line:col ----
bad_def() { # DESC EXPECTED-REGEX (the definition is $defs/broken.yaml)
	local out status
	out=$("$ALTS_IMAGE" build --definition "$defs/broken.yaml" broken 2>&1); status=$?
	check "$1: exit 2 (exit $status)" test "$status" -eq 2
	if echo "$out" | grep -Eq "$2"; then ok "$1: message"; else bad "$1: message"; echo "# $out"; fi
}
definition "$defs/broken.yaml" "gpgcheck: false
mirrors: [x]"
bad_def "an unknown key" "^alts-image: error: $defs/broken.yaml:7:1: unknown key 'mirrors' \(known keys: .*repositories"
definition "$defs/broken.yaml" "gpgcheck: false" "    gpgkeys: x"
bad_def "an unknown repository key" "broken.yaml:10:5: repositories\[0\]: unknown key 'gpgkeys'"
printf 'dist_name: alts-el\ndist_version: "9\npackages: [x]\n' >"$defs/broken.yaml"
bad_def "malformed YAML" "broken.yaml:[0-9]+:[0-9]+: "
printf 'dist_name: alts-el\ndist_version: "9"\npackages: [x]\n' >"$defs/broken.yaml"
bad_def "no repositories" "broken.yaml:1:1: missing required key 'repositories'"
definition "$defs/broken.yaml" "gpgcheck: false
arch: pdp11"
bad_def "an unknown architecture" "broken.yaml:7:7: arch: unknown architecture 'pdp11'"
definition "$defs/broken.yaml" "gpgcheck: false" "    mirrorlist: \"http://x/\\\\n[evil]\\\\ngpgcheck=0\""
bad_def "a newline in a URL" "broken.yaml:10:17: repositories\[0\].mirrorlist: invalid URL"
definition "$defs/broken.yaml"
sed -i 's/^packages: \[alts-el-userland\]$/packages: [alts-el-userland, --setopt=x]/' "$defs/broken.yaml"
bad_def "a package starting with '-'" "broken.yaml:5:[0-9]+: packages\[1\]: invalid package '--setopt=x'"
definition "$defs/broken.yaml" "gpg_keys: []"
bad_def "gpgcheck (the default) without keys" \
	"broken.yaml:8:5: repositories\[0\]: repository 'local' checks signatures \(gpgcheck\) but no gpg_keys"
ALTS_IMAGE_DEFINITIONS=$defs "$ALTS_IMAGE" build broken >"$SCRATCH/byname.out" 2>&1; status=$?
check "found by name in \$ALTS_IMAGE_DEFINITIONS: checked the same way (exit $status)" \
	grep -q "$defs/broken.yaml:8:5:" "$SCRATCH/byname.out"
"$ALTS_IMAGE" build --definition "$defs/missing.yaml" broken >"$SCRATCH/missing.out" 2>&1; status=$?
check "a missing definition file: exit 2 (exit $status)" test "$status" -eq 2
check "a missing definition file: named" grep -q "cannot read image definition '$defs/missing.yaml'" "$SCRATCH/missing.out"
check "nothing was left in the cache by refused definitions" \
	test -z "$(find "$ALTS_IMAGE_CACHE" -mindepth 1 -maxdepth 1 ! -name '*.lock' 2>/dev/null)"

# ---- a foreign architecture: refused without a qemu-user binfmt handler ----
definition "$defs/s390x.yaml" "gpgcheck: false
arch: s390x"
mkdir -p "$SCRATCH/binfmt"
ALTS_BINFMT_DIR=$SCRATCH/binfmt "$ALTS_IMAGE" build --definition "$defs/s390x.yaml" alts-el-9-s390x \
	>"$SCRATCH/arch.out" 2>&1; status=$?
check "s390x on this host without binfmt: exit 2 (exit $status)" test "$status" -eq 2
check "s390x: the reason and the remedy" \
	grep -q "cannot run s390x programs: no qemu-user binfmt handler 'qemu-s390x' is registered (install qemu-user-static" \
	"$SCRATCH/arch.out"
printf 'disabled\ninterpreter /usr/bin/qemu-s390x-static\n' >"$SCRATCH/binfmt/qemu-s390x"
ALTS_BINFMT_DIR=$SCRATCH/binfmt "$ALTS_IMAGE" build --definition "$defs/s390x.yaml" alts-el-9-s390x \
	>"$SCRATCH/arch2.out" 2>&1; status=$?
check "s390x with a disabled handler: still refused (exit $status)" test "$status" -eq 2

# ---- gpgcheck is on by default: unsigned packages are refused ----
definition "$defs/signed.yaml" "gpg_keys: [file://$SCRATCH/no-such-key]"
"$ALTS_IMAGE" build --quiet --definition "$defs/signed.yaml" alts-el-9-signed >"$SCRATCH/signed.out" 2>&1; status=$?
check "gpgcheck by default: unsigned packages fail the build (exit $status)" test "$status" -eq 3
check "gpgcheck by default: dnf's reason is reported" \
	grep -Eqi "gpg|signature|public key" "$SCRATCH/signed.out"
grep -q "^gpgcheck=1$" "$ALTS_IMAGE_CACHE"/.tmp-alts-el-9-signed-*/dnf.conf 2>/dev/null &&
	ok "gpgcheck by default: dnf.conf has gpgcheck=1" || bad "gpgcheck by default: dnf.conf has gpgcheck=1"
check "a failed build never becomes an image" test ! -e "$ALTS_IMAGE_CACHE/alts-el-9-signed"

# ---- the build ----
definition "$defs/$NAME.yaml"
start=$(date +%s%N)
"$ALTS_IMAGE" build --definition "$defs/$NAME.yaml" "$NAME" >"$SCRATCH/build.out" 2>&1; status=$?
echo "# dnf --installroot build took $(( ($(date +%s%N) - start) / 1000000 )) ms"
check "build with dnf --installroot: exit 0 (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || { show "$SCRATCH/build.out"; show "$(ls -d "$ALTS_IMAGE_CACHE"/.tmp-$NAME-*/build.log | head -1)"; }
check "the build ran dnf" grep -q "alts-image: running dnf" "$SCRATCH/build.out"
check "list: distribution, version, arch, package manager, age" \
	bash -c "'$ALTS_IMAGE' list | grep -Eq '^$NAME +alts-el +9 +x86_64 +dnf +[0-9]+[smhd] '"
meta=$ALTS_IMAGE_CACHE/$NAME/meta.json
check "meta.json records the definition" \
	test "$(jq -r .definition "$meta")" = "$defs/$NAME.yaml"
check "meta.json: dist_name, dist_version, arch" \
	test "$(jq -r '[.dist_name, .dist_version, .arch] | join(" ")' "$meta")" = "alts-el 9 x86_64"
rootfs=$ALTS_IMAGE_CACHE/$NAME/rootfs
check "the image's rpm database is where its rpm looks (/var/lib/rpm)" \
	bash -c "rpm --root '$rootfs' --dbpath /var/lib/rpm -q alts-el-userland alts-el-release >/dev/null"
check "the host's rpm database did not get the packages" bash -c "! rpm -q alts-el-userland >/dev/null 2>&1"
check "no temporary directory is left" test -z "$(find "$ALTS_IMAGE_CACHE" -maxdepth 1 -name ".tmp-$NAME-??????")"
"$ALTS_IMAGE" build --definition "$defs/$NAME.yaml" "$NAME" >"$SCRATCH/again.out" 2>&1; status=$?
check "building again keeps the image (exit $status)" grep -q "'$NAME' is already built" "$SCRATCH/again.out"

# ---- an rpm suite in the new image ----
cat >"$SCRATCH/suite.yaml" <<YAML
name: el
environment: {runner: sandbox, image: $NAME, package_manager: dnf}
packages: [alts-hello]
repositories:
  - name: local
    baseurl: file://$repo
checks:
  - install
  - launch:
      command: [alts-hello]
      stdout: "^Hello from alts-hello$"
  - integrity
  - uninstall
YAML
start=$(date +%s%N)
"$ALTS_RUN" --artifacts "$SCRATCH/art" --tap "$SCRATCH/el.tap" "$SCRATCH/suite.yaml" >"$SCRATCH/el.out" 2>&1; status=$?
echo "# the rpm suite in $NAME took $(( ($(date +%s%N) - start) / 1000000 )) ms"
check "rpm suite in the dnf-built image: exit 0 (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || show "$SCRATCH/el.tap" 60
for n in "1 - install" "2 - launch" "3 - integrity" "4 - uninstall"; do
	check "rpm suite: ok $n" grep -q "^ok $n\$" "$SCRATCH/el.tap"
done
check "dnf installed it inside the image" grep -rq "dnf install -y alts-hello" "$SCRATCH/art"
check "rpm -V verified it" grep -rq "rpm -V alts-hello" "$SCRATCH/art"
check "dnf removed it" grep -rq "dnf remove -y alts-hello" "$SCRATCH/art"
check "the image itself is unchanged" test ! -e "$rootfs/usr/bin/alts-hello"
check "nothing is left behind" no_leftovers

# ---- refresh: rebuild beside the old one, swap ----
created=$(jq -r .created "$meta")
"$ALTS_IMAGE" refresh --max-age 1d "$NAME" >"$SCRATCH/fresh.out" 2>&1; status=$?
check "refresh --max-age 1d: a new image is kept (exit $status)" grep -q "newer than 86400 s: kept" "$SCRATCH/fresh.out"
sleep 1
old_ino=$(stat -c %i "$rootfs")
start=$(date +%s%N)
"$ALTS_IMAGE" refresh --quiet "$NAME" >"$SCRATCH/refresh.out" 2>&1; status=$?
echo "# refresh took $(( ($(date +%s%N) - start) / 1000000 )) ms"
check "refresh: exit 0 (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || show "$SCRATCH/refresh.out"
check "refresh: a new tree is in place" test "$(stat -c %i "$rootfs")" != "$old_ino"
check "refresh: a newer created time" test "$(jq -r .created "$meta")" != "$created"
check "refresh: the same definition" test "$(jq -r .definition "$meta")" = "$defs/$NAME.yaml"
check "refresh: no old or temporary tree is left" \
	test -z "$(find "$ALTS_IMAGE_CACHE" -maxdepth 1 -name ".old-*" -o -maxdepth 1 -name ".tmp-$NAME-??????")"
"$ALTS_RUN" --artifacts "$SCRATCH/art2" --tap "$SCRATCH/el2.tap" "$SCRATCH/suite.yaml" >"$SCRATCH/el2.out" 2>&1; status=$?
check "the refreshed image runs the suite (exit $status)" test "$status" -eq 0

# ---- the age policy of alts.yaml: warn, or rebuild before the suite ----
sleep 1
printf 'image_max_age: 1s\n' >"$SCRATCH/warn.yaml"
created=$(jq -r .created "$meta")
"$ALTS_RUN" --config "$SCRATCH/warn.yaml" --artifacts "$SCRATCH/art3" "$SCRATCH/suite.yaml" >"$SCRATCH/warn.out" 2>&1; status=$?
check "image_max_age (warn): the suite still passes (exit $status)" test "$status" -eq 0
check "image_max_age (warn): the age is reported" \
	grep -q "image '$NAME' is .* days old, older than image_max_age .*alts-image refresh $NAME" "$SCRATCH/warn.out"
check "image_max_age (warn): the image is kept" test "$(jq -r .created "$meta")" = "$created"
printf 'image_max_age: 1s\nimage_refresh: rebuild\n' >"$SCRATCH/rebuild.yaml"
# While the rebuild runs, a sandbox (here flock -s standing in for one) holds the image.
flock -s "$ALTS_IMAGE_CACHE/$NAME.users" \
	"$ALTS_RUN" --config "$SCRATCH/rebuild.yaml" --artifacts "$SCRATCH/art4" "$SCRATCH/suite.yaml" \
	>"$SCRATCH/rebuild.out" 2>&1; status=$?
check "image_max_age (rebuild): the suite passes on the rebuilt image (exit $status)" test "$status" -eq 0
check "image_max_age (rebuild): the image was rebuilt first" test "$(jq -r .created "$meta")" != "$created"
check "an image in use keeps its old tree after the swap" \
	test -n "$(find "$ALTS_IMAGE_CACHE" -maxdepth 1 -name ".old-$NAME-??????")"
"$ALTS_IMAGE" sweep >"$SCRATCH/sweep.out" 2>&1
check "once released, sweep removes the old tree" \
	test -z "$(find "$ALTS_IMAGE_CACHE" -maxdepth 1 -name ".old-$NAME-??????")"
printf 'image_refresh: sometimes\n' >"$SCRATCH/badcfg.yaml"
"$ALTS_RUN" --config "$SCRATCH/badcfg.yaml" "$SCRATCH/suite.yaml" >"$SCRATCH/badcfg.out" 2>&1; status=$?
check "image_refresh: sometimes is refused (exit $status)" test "$status" -eq 2
check "image_refresh: the place and the choices" \
	grep -q "badcfg.yaml:1:16: image_refresh: unknown image_refresh 'sometimes' (known: warn, rebuild)" "$SCRATCH/badcfg.out"

tar -C "$rootfs" -cf "$SCRATCH/tree.tar" ./etc/os-release
"$ALTS_IMAGE" import imported "$SCRATCH/tree.tar" >/dev/null 2>&1
"$ALTS_IMAGE" refresh imported >"$SCRATCH/imp.out" 2>&1; status=$?
check "refresh of an imported image: exit 2 (exit $status)" test "$status" -eq 2
check "refresh of an imported image: says to import again" grep -q "import a new tree" "$SCRATCH/imp.out"
"$ALTS_IMAGE" refresh no-such-image >"$SCRATCH/none.out" 2>&1; status=$?
check "refresh of a missing image: exit 2 (exit $status)" test "$status" -eq 2
finish
