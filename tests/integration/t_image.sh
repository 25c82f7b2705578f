#!/usr/bin/env bash
# alts-image: bad input is refused with exit 2 and a clear message; root filesystem tarballs
# (.tar.gz from the cached debian-12 image, .tar.xz and .tar.zst of a minimal tree) are
# imported, listed with the distribution of their os-release, run suites, and are removed;
# concurrent imports of one name make one image; killed imports leave nothing after a sweep.
# The sandbox's copy mode (ALTS_SANDBOX_MODE=copy, and the fallback when overlayfs refuses an
# image) runs here too, with the small tree.
. "$(dirname "$0")/lib/common.sh"
ALTS_IMAGE=${ALTS_IMAGE:?ALTS_IMAGE must point at alts-image}
# Imports go to a cache of their own; the debian-12 image they start from stays in the shared one.
SHARED_CACHE=${ALTS_TEST_IMAGE_CACHE:-/var/cache/alts/images}
export ALTS_IMAGE_CACHE=$SCRATCH/cache
export ALTS_SANDBOX_DIR=$SCRATCH/sandboxes

# expect_invalid DESCRIPTION MESSAGE-REGEX ARGS...: alts-image ARGS exits 2 saying MESSAGE.
expect_invalid() {
	local desc=$1 msg=$2 out status; shift 2
	out=$("$ALTS_IMAGE" "$@" 2>&1); status=$?
	if [ "$status" -eq 2 ] && grep -Eq "$msg" <<<"$out"; then
		ok "$desc"
	else
		bad "$desc (exit $status: $out)"
	fi
}

printf 'not a tarball\n' >"$SCRATCH/junk.tar.gz"
mkdir -p "$SCRATCH/notroot/usr/bin"
echo hi >"$SCRATCH/notroot/usr/bin/hello"
tar -C "$SCRATCH/notroot" -czf "$SCRATCH/notroot.tar.gz" .

expect_invalid "build: unknown distribution" "cannot build 'fedora-40'.*debootstrap builds" build fedora-40
expect_invalid "build: unknown --dist" "cannot build 'centos-7'" build --dist centos-7 my-image
expect_invalid "build: --dist without a version" "cannot build 'debian'" build --dist debian my-image
expect_invalid "build: name with '/'" "invalid image name 'x/debian-12'" build x/debian-12
expect_invalid "build: name with '..'" "invalid image name '../x'" build --dist debian-12 ../x
expect_invalid "build: upper-case name" "invalid image name 'Debian-12'" build --dist debian-12 Debian-12
expect_invalid "build: bad --include" "invalid --include 'rpm;rm'" build --dist debian-12 --include 'rpm;rm' x
expect_invalid "build: empty item in --include" "invalid --include 'rpm,,dnf'" build --dist debian-12 --include rpm,,dnf x
expect_invalid "build: bad --mirror" "invalid mirror 'deb.debian.org'" build --dist debian-12 --mirror deb.debian.org x
expect_invalid "build: unknown --variant" "unknown variant 'huge'" build --dist debian-12 --variant huge x
expect_invalid "build: unknown option" "unrecognized option" build --distro debian-12 x
expect_invalid "build: no name" "usage: alts-image build" build --dist debian-12
expect_invalid "import: missing tarball" "cannot read '$SCRATCH/nope.tar': No such file" import x "$SCRATCH/nope.tar"
expect_invalid "import: a directory" "is not a regular file" import x "$SCRATCH/notroot"
expect_invalid "import: not a tar archive" "is not a tar archive" import x "$SCRATCH/junk.tar.gz"
expect_invalid "import: not a root filesystem" "has no etc/os-release or usr/lib/os-release" \
	import x "$SCRATCH/notroot.tar.gz"
expect_invalid "import: name with '/'" "invalid image name 'a/b'" import a/b "$SCRATCH/notroot.tar.gz"
expect_invalid "import: too many arguments" "usage: alts-image import" import a b c
expect_invalid "rm: a missing image" "no image 'no-such-image' in $ALTS_IMAGE_CACHE" rm no-such-image
expect_invalid "rm: bad name" "invalid image name '../etc'" rm ../etc
expect_invalid "sweep: arguments" "usage: alts-image sweep" sweep now
check "failed imports leave nothing in the cache" \
	test -z "$(find "$ALTS_IMAGE_CACHE" -mindepth 1 -maxdepth 1 -type d 2>/dev/null)"
check "list of an empty cache says so" bash -c "'$ALTS_IMAGE' list 2>&1 | grep -q 'no images in'"

# The rest imports trees (owned by root) and runs sandboxes.
if [ "$(id -u)" != 0 ]; then
	echo "# the import tests need root"
	[ "$FAILED" -eq 0 ] || finish
	skip_test "needs:root"
fi
need_cmd tar gzip xz
if ! ALTS_IMAGE_CACHE=$SHARED_CACHE "$ALTS_IMAGE" list 2>/dev/null | grep -q '^debian-12 '; then
	need_cmd debootstrap
	echo "# building image debian-12 in $SHARED_CACHE (once)"
	ALTS_IMAGE_CACHE=$SHARED_CACHE "$ALTS_IMAGE" build debian-12 || { echo "cannot build the image"; exit 1; }
fi
base=$SHARED_CACHE/debian-12/rootfs
ALTS_IMAGE_CACHE=$SHARED_CACHE expect_invalid "build: an existing image of another distribution" \
	"image 'debian-12' exists with debian-12, not ubuntu-24.04 \\(use --force" build --dist ubuntu-24.04 debian-12
check "build: an existing image is kept (exit 0)" \
	bash -c "out=\$(ALTS_IMAGE_CACHE='$SHARED_CACHE' '$ALTS_IMAGE' build debian-12 2>&1) && grep -q 'is already built' <<<\"\$out\""

# A minimal tree: the host's sh and cat with their libraries, and an os-release of its own.
mini=$SCRATCH/mini
mkdir -p "$mini/etc" "$mini/bin"
printf 'NAME="alts mini"\nID=altsmini\nID_LIKE=debian\nVERSION_ID=1.5\n' >"$mini/etc/os-release"
for prog in sh cat; do
	cp -L "$(command -v $prog)" "$mini/bin/$prog"
	for lib in $(ldd "$(command -v $prog)" | grep -o '/[^ ]*'); do cp -L --parents "$lib" "$mini"; done
done
tar -C "$mini" -cJf "$SCRATCH/mini.tar.xz" .
formats=(xz)
if command -v zstd >/dev/null; then
	tar -C "$mini" --zstd -cf "$SCRATCH/mini.tar.zst" .
	formats+=(zst)
else
	echo "# zstd is not installed: .tar.zst is not tested"
fi

start=$(date +%s)
tar -C "$base" -cf - . | gzip -1 >"$SCRATCH/debian.tar.gz"
echo "# made a .tar.gz of the debian-12 rootfs in $(( $(date +%s) - start )) s"

# Two imports of one name at once: one image, the other is told it exists, nothing half-built.
start=$(date +%s)
"$ALTS_IMAGE" import imported-deb "$SCRATCH/debian.tar.gz" >"$SCRATCH/imp1.out" 2>&1 &
p1=$!
"$ALTS_IMAGE" import imported-deb "$SCRATCH/debian.tar.gz" >"$SCRATCH/imp2.out" 2>&1 &
p2=$!
wait $p1; s1=$?
wait $p2; s2=$?
echo "# two concurrent imports took $(( $(date +%s) - start )) s"
check "concurrent imports: one succeeds, the other exits 2 (exits $s1, $s2)" \
	test "$(printf '%s\n' "$s1" "$s2" | sort | tr '\n' ' ')" = "0 2 "
check "concurrent imports: the loser says the image exists" \
	grep -qh "image 'imported-deb' exists (use --force" "$SCRATCH/imp1.out" "$SCRATCH/imp2.out"
check "concurrent imports: no half-built directory" \
	test -z "$(find "$ALTS_IMAGE_CACHE" -maxdepth 1 -name '.tmp-*' -o -maxdepth 1 -name '.old-*')"
"$ALTS_IMAGE" list >"$SCRATCH/list.out" 2>&1
check "list shows the import with the dist of its os-release" \
	grep -Eq '^imported-deb +debian +12 +[a-z0-9_]+ +apt ' "$SCRATCH/list.out"
check "meta.json records the tarball" \
	grep -q "\"source\": \"import $SCRATCH/debian.tar.gz\"" "$ALTS_IMAGE_CACHE/imported-deb/meta.json"

cat >"$SCRATCH/deb.yaml" <<'YAML'
name: imported-deb
environment: {image: imported-deb}
checks:
  - launch:
      command: [cat, /etc/debian_version]
      stdout: '^12\.[0-9]+$'
  - launch:
      command: [hostname]
      stdout: '^alts-sandbox$'
YAML
"$ALTS_RUN" --artifacts "$SCRATCH/art-deb" --tap "$SCRATCH/deb.tap" "$SCRATCH/deb.yaml" >"$SCRATCH/deb.out" 2>&1
status=$?
check "a suite runs in the imported image (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/deb.out" "$SCRATCH/deb.tap"
check "the suite ran in a sandbox (its host name)" grep -q "^ok 2 - " "$SCRATCH/deb.tap"

expect_invalid "import: an existing name without --force" "image 'imported-deb' exists" \
	import imported-deb "$SCRATCH/mini.tar.xz"
check "import --force replaces an image" "$ALTS_IMAGE" import --force imported-deb "$SCRATCH/mini.tar.xz"
check "the replaced image has the new dist" bash -c "'$ALTS_IMAGE' list | grep -Eq '^imported-deb +altsmini +1.5 '"
check "rm removes the image" "$ALTS_IMAGE" rm imported-deb
check "rm leaves no directory" test ! -e "$ALTS_IMAGE_CACHE/imported-deb"
expect_invalid "rm: removed twice" "no image 'imported-deb'" rm imported-deb

for fmt in "${formats[@]}"; do
	name=mini-$fmt
	check "import .tar.$fmt" "$ALTS_IMAGE" import "$name" "$SCRATCH/mini.tar.$fmt"
	check ".tar.$fmt: list shows altsmini 1.5" bash -c "'$ALTS_IMAGE' list | grep -Eq '^$name +altsmini +1.5 '"
	cat >"$SCRATCH/$name.yaml" <<YAML
name: $name
environment: {image: $name}
checks:
  - launch:
      command: "cat /etc/os-release"
      stdout: "^ID=altsmini$"
YAML
	"$ALTS_RUN" --artifacts "$SCRATCH/art-$name" "$SCRATCH/$name.yaml" >"$SCRATCH/$name.out" 2>&1; status=$?
	check ".tar.$fmt: a suite runs in it (exit $status)" test "$status" -eq 0
	[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/$name.out"
	check ".tar.$fmt: rm" "$ALTS_IMAGE" rm "$name"
done

# Copy mode with a small image: --keep-env keeps the copied tree; and the automatic fallback
# when overlayfs refuses the image: one stacked two overlays deep cannot be the lower layer of
# another (the kernel allows a stacking depth of 2), so the sandbox copies it instead.
"$ALTS_IMAGE" import mini "$SCRATCH/mini.tar.xz" >/dev/null 2>&1
cat >"$SCRATCH/copy.yaml" <<'YAML'
name: copy
environment: {image: mini}
checks:
  - launch:
      command: "echo changed >/etc/alts-copy && cat /etc/os-release"
      stdout: "^ID=altsmini$"
YAML
ALTS_SANDBOX_MODE=copy "$ALTS_RUN" --artifacts "$SCRATCH/art-copy" "$SCRATCH/copy.yaml" >"$SCRATCH/copy.out" 2>&1
status=$?
check "ALTS_SANDBOX_MODE=copy: the suite passes (exit $status)" test "$status" -eq 0
check "ALTS_SANDBOX_MODE=copy: nothing is left behind" \
	test -z "$(find "$ALTS_SANDBOX_DIR" -mindepth 1 -maxdepth 1 -name 'sb-*' 2>/dev/null)"
check "ALTS_SANDBOX_MODE=copy: the image is unchanged" test ! -e "$ALTS_IMAGE_CACHE/mini/rootfs/etc/alts-copy"
ALTS_SANDBOX_MODE=copy "$ALTS_RUN" --keep-env --artifacts "$SCRATCH/art-keep" "$SCRATCH/copy.yaml" \
	>"$SCRATCH/keep.out" 2>&1
check "copy mode, --keep-env: says how to enter" grep -q "enter it with:" "$SCRATCH/keep.out"
check "copy mode, --keep-env: the copied tree has the change" \
	bash -c "grep -q changed $ALTS_SANDBOX_DIR/sb-*/rw/copy/etc/alts-copy"
rm -rf "${ALTS_SANDBOX_DIR:?}"/sb-*

fb=$SCRATCH/fallback
mkdir -p "$fb"/{u1,w1,m1,u2,w2} "$fb/cache/stacked/rootfs"
trap 'umount "$fb/cache/stacked/rootfs" "$fb/m1" 2>/dev/null; rm -rf "$SCRATCH"' EXIT
sed 's/"name": *"[^"]*"/"name": "stacked"/' "$ALTS_IMAGE_CACHE/mini/meta.json" >"$fb/cache/stacked/meta.json"
if mount -t overlay alts-test -o "lowerdir=$ALTS_IMAGE_CACHE/mini/rootfs,upperdir=$fb/u1,workdir=$fb/w1" "$fb/m1" &&
	mount -t overlay alts-test -o "lowerdir=$fb/m1,upperdir=$fb/u2,workdir=$fb/w2" "$fb/cache/stacked/rootfs"; then
	sed 's/image: mini/image: stacked/' "$SCRATCH/copy.yaml" >"$SCRATCH/fallback.yaml"
	ALTS_IMAGE_CACHE=$fb/cache "$ALTS_RUN" --artifacts "$SCRATCH/art-fb" "$SCRATCH/fallback.yaml" \
		>"$SCRATCH/fallback.out" 2>&1; status=$?
	check "overlayfs refused: the suite passes from a copy (exit $status)" test "$status" -eq 0
	[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/fallback.out"
	check "overlayfs refused: the fallback is logged" grep -q "overlayfs is unavailable" "$SCRATCH/fallback.out"
	ALTS_IMAGE_CACHE=$fb/cache ALTS_SANDBOX_MODE=overlay "$ALTS_RUN" --artifacts "$SCRATCH/art-fb2" \
		--tap "$SCRATCH/fb2.tap" "$SCRATCH/fallback.yaml" >"$SCRATCH/fb2.out" 2>&1; status=$?
	check "ALTS_SANDBOX_MODE=overlay: no fallback (exit $status)" test "$status" -eq 3
	check "ALTS_SANDBOX_MODE=overlay: the overlay error is reported" grep -q "cannot mount the overlay" "$SCRATCH/fb2.tap"
	check "overlayfs refused: nothing is left behind" \
		test -z "$(find "$ALTS_SANDBOX_DIR" -mindepth 1 -maxdepth 1 -name 'sb-*' 2>/dev/null)"
else
	bad "cannot stack two overlays for the fallback test"
fi
umount "$fb/cache/stacked/rootfs" 2>/dev/null
umount "$fb/m1" 2>/dev/null
check "rm mini" "$ALTS_IMAGE" rm mini

# An import killed half-way leaves .tmp-NAME-*; the sweep (and the next import) remove it.
"$ALTS_IMAGE" import killed "$SCRATCH/debian.tar.gz" >/dev/null 2>&1 &
victim=$!
for _ in $(seq 100); do
	tool=$(pgrep -P "$victim" tar) && [ -n "$(find "$ALTS_IMAGE_CACHE" -maxdepth 1 -name '.tmp-killed-*')" ] && break
	sleep 0.1
done
kill -9 "$victim" ${tool:-}; wait "$victim" 2>/dev/null
check "a killed import leaves its directory" test -n "$(find "$ALTS_IMAGE_CACHE" -maxdepth 1 -name '.tmp-killed-*')"
check "the killed import is not listed" bash -c "! '$ALTS_IMAGE' list 2>&1 | grep -q '^killed '"
"$ALTS_IMAGE" sweep >"$SCRATCH/sweep.out" 2>&1
check "sweep removes it" test -z "$(find "$ALTS_IMAGE_CACHE" -maxdepth 1 -name '.tmp-*')"
check "sweep says so" grep -q "and 1 unfinished image directory" "$SCRATCH/sweep.out"
check "nothing is left in the cache" \
	test -z "$(find "$ALTS_IMAGE_CACHE" -mindepth 1 -maxdepth 1 -type d)"
check "no sandbox is left" test -z "$(find "$ALTS_SANDBOX_DIR" -mindepth 1 -maxdepth 1 -name 'sb-*' 2>/dev/null)"

finish
