# Sourced by sandbox tests: a cached Debian 12 image (built once, reused across runs),
# an isolated sandbox state directory, and package builders.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
ALTS_IMAGE=${ALTS_IMAGE:?ALTS_IMAGE must point at alts-image}
# The image cache outlives test runs on purpose: building it takes minutes.
export ALTS_IMAGE_CACHE=${ALTS_TEST_IMAGE_CACHE:-/var/cache/alts/images}
export ALTS_SANDBOX_DIR=$SCRATCH/sandboxes
IMAGE=debian-12

# ensure_image [NAME [BUILD-OPTIONS...]]: builds image NAME (default $IMAGE) once, with
# 'alts-image build BUILD-OPTIONS... NAME'; later runs reuse it.
ensure_image() {
	local name=${1:-$IMAGE} start
	[ $# -eq 0 ] || shift
	if ! "$ALTS_IMAGE" list 2>/dev/null | grep -q "^$name "; then
		need_cmd debootstrap
		echo "# building image $name in $ALTS_IMAGE_CACHE (once)"
		start=$(date +%s)
		"$ALTS_IMAGE" build "$@" "$name" || { echo "cannot build the image"; exit 1; }
		echo "# built image $name in $(( $(date +%s) - start )) s"
	fi
}

# build_deb DIR NAME VERSION [postinst-body] [extra-file-cmd]: a package with /usr/bin/NAME.
build_deb() {
	local dir=$1 name=$2 version=$3 postinst=${4:-} root
	root=$(mktemp -d)
	mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/doc/$name"
	printf '#!/bin/sh\necho "Hello from %s"\n' "$name" >"$root/usr/bin/$name"
	chmod 0755 "$root/usr/bin/$name"
	echo "$name test package" >"$root/usr/share/doc/$name/README"
	if [ -n "${BUILD_DEB_EXTRA:-}" ]; then (cd "$root" && eval "$BUILD_DEB_EXTRA"); fi
	cat >"$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: ${BUILD_DEB_ARCH:-all}
Maintainer: alts tests <alts@example.invalid>
Description: $name, made by the alts tests
CONTROL
	if [ -n "$postinst" ]; then
		printf '#!/bin/sh\n%s\n' "$postinst" >"$root/DEBIAN/postinst"
		chmod 0755 "$root/DEBIAN/postinst"
	fi
	(cd "$root" && find usr -type f | LC_ALL=C sort | xargs md5sum >DEBIAN/md5sums)
	dpkg-deb --root-owner-group --build "$root" "$dir/${name}_${version}_${BUILD_DEB_ARCH:-all}.deb" >/dev/null
	rm -rf "$root"
}

# make_repo DIR: a flat apt repository of the .debs in DIR.
make_repo() {
	(cd "$1" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null && gzip -kf Packages)
}

# no_leftovers: no sandbox directory, mount or process remains.
no_leftovers() {
	local left
	left=$(find "$ALTS_SANDBOX_DIR" -mindepth 1 -maxdepth 1 -name 'sb-*' 2>/dev/null)
	[ -z "$left" ] || { echo "# left: $left"; return 1; }
	! grep -q "$ALTS_SANDBOX_DIR" /proc/self/mountinfo || { echo "# mounts left"; return 1; }
	! pgrep -f 'alts-sandbox-marke[r]' >/dev/null || { echo "# processes left"; return 1; }
}
