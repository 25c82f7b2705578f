#!/usr/bin/env bash
# alts against piuparts on real Debian packages from the mirror: install, purge, leftovers.
#   bench/life_vs_piuparts.sh [BUILD_DIR] [PACKAGE...]
# For each package: alts-run with a sandbox of the debian-12 image (network: host) and the
# checks install + uninstall {purge: true, leftovers: fail}; then piuparts (--apt, the base
# tarball /var/cache/alts/bench/piuparts-debian-12.tgz, install + purge test). Prints a
# Markdown table: each tool's verdict, what it found, and its wall time. Run as root, by hand.
set -u
build=${1:-build}
shift || true
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(hello nano logrotate cron sudo)
here=$(cd "$(dirname "$0")/.." && pwd)
alts_run=$build/alts-run
[ -x "$alts_run" ] || alts_run=$here/$build/alts-run
base=${PIUPARTS_BASE:-/var/cache/alts/bench/piuparts-debian-12.tgz}
mirror=${MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
command -v piuparts >/dev/null || { echo "piuparts is not installed" >&2; exit 2; }
[ -x "$alts_run" ] || { echo "no alts-run in $build" >&2; exit 2; }
[ -f "$base" ] || { echo "no piuparts base tarball $base" >&2; exit 2; }

work=$(mktemp -d /tmp/alts-life-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
export ALTS_IMAGE_CACHE=${ALTS_IMAGE_CACHE:-/var/cache/alts/images}
export ALTS_SANDBOX_DIR=$work/sandboxes

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "| package | alts verdict | alts found | alts time (s) | piuparts verdict | piuparts found | piuparts time (s) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for p in "${pkgs[@]}"; do
	cat >"$work/$p.yaml" <<YAML
name: life-$p
environment: {runner: sandbox, image: debian-12, network: host}
packages: [$p]
checks:
  - install
  - uninstall: {purge: true, leftovers: fail}
YAML
	t0=$(now)
	"$alts_run" --artifacts "$work/art-$p" --json "$work/$p.json" "$work/$p.yaml" >"$work/$p.alts.out" 2>&1
	st=$?
	t1=$(now)
	if [ "$st" -eq 0 ]; then av=PASS; else av=FAIL; fi
	# What alts found: the failing check's message.
	af=$(grep -E '^ +(FAIL|ERROR) ' -A1 "$work/$p.alts.out" | grep -v -E '^ +(FAIL|ERROR) |^--' | head -2 |
		sed 's/^ *//; s/|/\\|/g' | cut -c1-160 | paste -sd ';' -)
	[ -n "$af" ] || af="-"

	t2=$(now)
	piuparts --apt -d bookworm -m "$mirror" -b "$base" -l "$work/$p.piuparts.log" "$p" >/dev/null 2>&1
	ps=$?
	t3=$(now)
	if [ "$ps" -eq 0 ]; then pv=PASS; else pv=FAIL; fi
	pf=$(grep -E 'FAIL|ERROR:|left files|still running|Refusing' "$work/$p.piuparts.log" | grep -v '^.*DUMP' | head -2 |
		sed 's/^[0-9:m. s]*//; s/|/\\|/g' | cut -c1-160 | paste -sd ';' -)
	[ -n "$pf" ] || pf="-"
	echo "| $p | $av | $af | $(secs "$t0" "$t1") | $pv | $pf | $(secs "$t2" "$t3") |"
	if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$work/$p".* "$KEEP/" && cp -r "$work/art-$p" "$KEEP/"; fi
done
