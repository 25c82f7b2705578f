#!/usr/bin/env bash
# Real packages' own DEP-8 tests (debian/tests) run by alts and by autopkgtest on one image tarball.
#   bench/dep8_vs_autopkgtest.sh [-b BUILD_DIR] [-c CACHE] [-k KEEP_DIR] [--no-alts] [--no-autopkgtest]
#                                [SOURCE_PACKAGE...]
# The tarball is the alts debian-12 image's root filesystem (CACHE/debian-12.tar), imported back into
# alts as the image "dep8-bench", so both tools start from the same bytes. The sources come from the
# bookworm mirror with `apt-get source` through a private apt configuration (the host's sources are not
# touched). For each package, one at a time under nice: alts-run with a sandbox of that image and one
# dep8 check on the source tree, then `autopkgtest -B SRC -- unshare -t TARBALL` (archive binaries on
# both sides). Prints the peers' versions and modes, the load average and a Markdown table: one row per
# DEP-8 test (verdicts, seconds) and one per package (wall time of the whole run, ratio). Run as root.
set -u
build=build
cache=${DEP8_BENCH_CACHE:-/var/cache/alts/bench/dep8}
keep=
run_alts=1
run_apt=1
while [ $# -gt 0 ]; do
	case $1 in
	-b) build=$2; shift 2 ;;
	-c) cache=$2; shift 2 ;;
	-k) keep=$2; shift 2 ;;
	--no-alts) run_alts=0; shift ;;
	--no-autopkgtest) run_apt=0; shift ;;
	-h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(hello file logrotate memcached lighttpd redis sudo python-apt)
here=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) [ -d "$build" ] || build=$here/$build ;; esac
alts_run=$build/alts-run
alts_image=$build/alts-image
mirror=${MIRROR:-http://deb.debian.org/debian}
release=${RELEASE:-bookworm}
export ALTS_IMAGE_CACHE=${ALTS_IMAGE_CACHE:-/var/cache/alts/images}
base_image=${BASE_IMAGE:-debian-12}
bench_image=dep8-bench
network=${NETWORK:-private}

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
if [ $run_alts = 1 ]; then
	[ -x "$alts_run" ] && [ -x "$alts_image" ] || { echo "no alts-run/alts-image in $build" >&2; exit 2; }
fi
[ -d "$ALTS_IMAGE_CACHE/$base_image/rootfs" ] || { echo "no image $base_image: alts-image build $base_image" >&2; exit 2; }

# The peer at full strength: autopkgtest-virt-unshare needs uidmap (newuidmap) and a subordinate id
# range for root; without them it fails, it does not fall back.
if [ "$(dpkg-query -W -f='${Status}\n' autopkgtest uidmap 2>/dev/null | grep -c 'ok installed')" != 2 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q autopkgtest uidmap >/dev/null || {
		echo "cannot install autopkgtest and uidmap" >&2
		exit 3
	}
fi
for f in /etc/subuid /etc/subgid; do
	touch "$f"
	grep -q '^root:' "$f" && continue
	# A range after every one already given, so no two users share ids.
	start=$(awk -F: 'BEGIN { m = 100000 } NF == 3 && $2 + $3 > m { m = $2 + $3 } END { print m }' "$f")
	echo "root:$start:65536" >>"$f"
done

mkdir -p "$cache/src" "$cache/apt/lists/partial" "$cache/apt/cache" "$cache/runs"
tarball=$cache/$base_image.tar
meta=$ALTS_IMAGE_CACHE/$base_image/meta.json
# The tarball follows the image: rebuilt when the image is newer.
if [ ! -s "$tarball" ] || [ "$meta" -nt "$tarball" ]; then
	echo "exporting image $base_image to $tarball" >&2
	tar -c -f "$tarball.tmp" -C "$ALTS_IMAGE_CACHE/$base_image/rootfs" --numeric-owner --xattrs --sort=name . &&
		mv "$tarball.tmp" "$tarball" || { echo "cannot write $tarball" >&2; exit 3; }
fi
if [ $run_alts = 1 ] && { [ ! -f "$ALTS_IMAGE_CACHE/$bench_image/meta.json" ] ||
	[ "$tarball" -nt "$ALTS_IMAGE_CACHE/$bench_image/meta.json" ]; }; then
	"$alts_image" import --force "$bench_image" "$tarball" >/dev/null || exit 3
fi

# Sources: a private apt configuration with deb-src only, so the host's lists and caches stay as
# they are. Some mirrors lack the .asc signatures apt-get source also fetches; the .dsc and its
# tarballs are then unpacked without them (the .dsc is still checked against the Sources index by apt).
apt_src=(-o "Dir::Etc::sourcelist=$cache/apt/sources.list" -o Dir::Etc::sourceparts=-
	-o "Dir::State::Lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt/cache" -o APT::Sandbox::User=root)
echo "deb-src $mirror $release main" >"$cache/apt/sources.list"
updated=0
for p in "${pkgs[@]}"; do
	[ -f "$cache/src/$p/debian/tests/control" ] && continue
	if [ $updated = 0 ]; then
		apt-get -qq "${apt_src[@]}" update >/dev/null || { echo "apt-get update of deb-src failed" >&2; exit 3; }
		updated=1
	fi
	(cd "$cache/src" && apt-get -qq "${apt_src[@]}" --download-only source "$p" >/dev/null 2>&1)
	dsc=$(ls "$cache/src/${p}"_*.dsc 2>/dev/null | tail -1)
	if [ -z "$dsc" ] || ! dpkg-source -x --no-check "$dsc" "$cache/src/$p" >/dev/null 2>&1; then
		echo "cannot fetch the source package $p from $mirror (a source package name?)" >&2
		rm -rf "${cache:?}/src/$p"
		continue
	fi
	[ -f "$cache/src/$p/debian/tests/control" ] || echo "$p has no debian/tests/control" >&2
done

work=$(mktemp -d /tmp/alts-dep8-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
export ALTS_SANDBOX_DIR=$work/sandboxes

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.1fx", b / a; else print "-" }'; }

echo "peer versions: autopkgtest $(dpkg-query -W -f='${Version}' autopkgtest) (-B, virt-unshare on" \
	"$(basename "$tarball"), $(unshare --version | awk '{ print $NF }') unshare, uidmap" \
	"$(dpkg-query -W -f='${Version}' uidmap)); alts $("$alts_run" --version 2>/dev/null | awk '{ print $2 }')" \
	"$(git -C "$here" rev-parse --short HEAD 2>/dev/null) (sandbox runner, image $bench_image from the same tarball," \
	"network: $network)"
echo "machine: $(nproc) CPUs, $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| package | test | alts verdict | autopkgtest verdict | alts s | autopkgtest s | ratio (autopkgtest / alts) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"

# One "name<TAB>verdict<TAB>seconds" line per DEP-8 test, from alts' JSON: the parts of the dep8
# checks (or the checks themselves when they have no parts).
alts_rows() {
	jq -r '.alts.suites[].checks[] | select(.type == "dep8") |
		(if (.subs | length) > 0 then .subs[] else . end) |
		[(.name | sub(" [(]superficial[)]$"; "")), ((.status | ascii_upcase) + (if .message then " " + .message else "" end)),
		 (.duration // 0 | . * 10 | round / 10 | tostring)] | @tsv' "$1" 2>/dev/null
}

# The same from autopkgtest's summary and its log's timestamps (second resolution): a test runs from
# "preparing testbed" (its dependencies are installed then) to its results.
apt_rows() {
	local summary=$1 log=$2
	awk 'NF { n = $1; $1 = ""; sub(/^ +/, ""); print n "\t" $0 }' "$summary" | while IFS=$'\t' read -r name verdict; do
		t=$(grep -a "^autopkgtest \[[0-9:]*\]: test $name: " "$log" 2>/dev/null | awk -v n="$name" '
			function s(x) { split(substr(x, 2, 8), h, ":"); return h[1] * 3600 + h[2] * 60 + h[3] }
			/preparing testbed/ && a == "" { a = s($2) }
			/ - - - results/ { b = s($2) }
			END { if (a != "" && b != "") print b - a; else print "" }')
		printf '%s\t%s\t%s\n' "$name" "$verdict" "$t"
	done
}

cell() { printf '%s' "$1" | sed 's/|/\\|/g' | cut -c1-90; }

for p in "${pkgs[@]}"; do
	src=$cache/src/$p
	[ -f "$src/debian/tests/control" ] || { echo "| $p | (no source tree) | | | | | |"; continue; }
	out=$work/$p
	mkdir -p "$out"
	at=
	if [ $run_alts = 1 ]; then
		cat >"$out/suite.yaml" <<YAML
name: dep8-$p
environment: {runner: sandbox, image: $bench_image, network: $network}
checks:
  - dep8: {path: $src}
YAML
		t0=$(now)
		nice "$alts_run" --artifacts "$out/alts" --json "$out/alts.json" "$out/suite.yaml" >"$out/alts.out" 2>&1
		echo "exit $?" >>"$out/alts.out"
		t1=$(now)
		at=$(secs "$t0" "$t1")
		alts_rows "$out/alts.json" >"$out/alts.rows"
	fi
	pt=
	if [ $run_apt = 1 ]; then
		t2=$(now)
		(cd "$cache/src" && nice autopkgtest -B -o "$out/apt" --summary="$out/apt.summary" "$p/" -- \
			unshare -t "$tarball" -r "$release" >"$out/apt.out" 2>&1)
		echo "exit $?" >>"$out/apt.out"
		t3=$(now)
		pt=$(secs "$t2" "$t3")
		apt_rows "$out/apt.summary" "$out/apt/log" >"$out/apt.rows"
	fi
	# Rows in autopkgtest's order, then the tests only alts reported.
	touch "$out/alts.rows" "$out/apt.rows"
	{ cut -f1 "$out/apt.rows"; cut -f1 "$out/alts.rows"; } | awk '!seen[$0]++' | while IFS= read -r name; do
		[ -n "$name" ] || continue
		a=$(awk -F'\t' -v n="$name" '$1 == n { print; exit }' "$out/alts.rows")
		b=$(awk -F'\t' -v n="$name" '$1 == n { print; exit }' "$out/apt.rows")
		av=$(printf '%s' "$a" | cut -f2); as=$(printf '%s' "$a" | cut -f3)
		bv=$(printf '%s' "$b" | cut -f2); bs=$(printf '%s' "$b" | cut -f3)
		echo "| $p | $(cell "$name") | $(cell "${av:--}") | $(cell "${bv:--}") | ${as:--} | ${bs:--} | $(ratio "$as" "$bs") |"
	done
	# A ratio only when both tools ran a test: skipping everything is not speed.
	r=-
	if awk -F'\t' '$2 !~ /^SKIP/ { f = 1 } END { exit !f }' "$out/alts.rows" &&
		awk -F'\t' '$2 !~ /^SKIP/ { f = 1 } END { exit !f }' "$out/apt.rows"; then
		r=$(ratio "$at" "$pt")
	fi
	echo "| **$p** | (whole run) | $(tail -1 "$out/alts.out" 2>/dev/null) | $(tail -1 "$out/apt.out" 2>/dev/null) |" \
		"${at:--} | ${pt:--} | $r |"
	if [ -n "$keep" ]; then mkdir -p "$keep" && cp -r "$out" "$keep/"; fi
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
