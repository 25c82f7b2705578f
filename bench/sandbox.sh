#!/usr/bin/env bash
# Sandbox start-up benchmark: median create + exec(true) + teardown of an alts
# sandbox against `chroot ROOTFS true` and `podman run --rm` of the same root
# filesystem, plus alts-run end to end. See bench/README.md.
#
# usage: bench/sandbox.sh [-n RUNS] [-i IMAGE] [--rt] [--no-podman] [--no-install] [--check]
#
# --rt times everything at SCHED_FIFO priority 10 (chrt), to see past a busy machine.
# Needs root. Environment: ALTS_BUILD_DIR (default /tmp/alts-build-bench),
# ALTS_IMAGE_CACHE (default /var/cache/alts/images).
# Exit status: 0 done, 1 --check and the 20 ms target was missed, 2 usage, 3 environment failure.
set -u -o pipefail

runs=100
image=debian-12
use_podman=1
install_podman=1
check_target=0
rt=0
target_ms=20

usage() {
	sed -n '6,12s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	-i) image=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--no-podman) use_podman=0; shift ;;
	--no-install) install_podman=0; shift ;;
	--check) check_target=1; shift ;;
	--rt) rt=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $runs in ''|*[!0-9]*|0) echo "sandbox.sh: invalid run count '$runs'" >&2; exit 2 ;; esac
case $image in ''|*[!a-z0-9._-]*) echo "sandbox.sh: invalid image name '$image'" >&2; exit 2 ;; esac

die() { echo "sandbox.sh: $*" >&2; exit 3; }

[ "$(id -u)" -eq 0 ] || die "needs root (the sandbox runner makes namespaces and mounts)"

src=$(cd "$(dirname "$0")/.." && pwd)
build=${ALTS_BUILD_DIR:-/tmp/alts-build-bench}
rootfs=${ALTS_IMAGE_CACHE:-/var/cache/alts/images}/$image/rootfs
[ -x "$rootfs/usr/bin/true" ] ||
	die "no image '$image' at '$rootfs' (build it: alts-image build $image)"

tmp=$(mktemp -d /tmp/alts-bench.XXXXXX) || die "cannot create a temporary directory"
trap 'rm -rf "$tmp"' EXIT

# --- build the two programs timed here (incremental; configures the first time) ---
bench=$build/bench/sandbox_bench
alts_run=$build/alts-run
if { [ -f "$build/CMakeCache.txt" ] ||
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALTS_TESTS=OFF -DALTS_BENCH=ON; } \
	>"$tmp/build.log" 2>&1 &&
	cmake --build "$build" -j"$(nproc)" --target sandbox_bench alts-run >>"$tmp/build.log" 2>&1; then
	:
elif [ -x "$bench" ] && [ -x "$alts_run" ]; then
	tail -n 20 "$tmp/build.log" >&2
	echo "sandbox.sh: warning: the build in '$build' failed (above); timing the programs already there" >&2
else
	tail -n 30 "$tmp/build.log" >&2
	die "cannot build sandbox_bench and alts-run in '$build' (is add_subdirectory(bench) in CMakeLists.txt?)"
fi

# --- timing helpers ---
# Wall-clock from bash itself ($EPOCHREALTIME, bash 5): no fork around the timed command.
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 or later (\$EPOCHREALTIME)"

# time_runs FILE CMD...: runs CMD once untimed (warm-up), then until it succeeded $runs times,
# appending each wall time in ms to FILE. A failed run is not timed but retried, up to
# $max_failures times; each one's exit status and output are appended to FILE.err. Returns 1
# when it gave up.
max_failures=5
time_runs() {
	local out=$1 i t0 t1 rc failed=0
	shift
	: >"$out"
	: >"$out.err"
	"$@" >/dev/null 2>&1
	for ((i = 0; i < runs; i++)); do
		t0=${EPOCHREALTIME/[.,]/}
		"$@" >"$out.out" 2>&1
		rc=$?
		t1=${EPOCHREALTIME/[.,]/}
		if [ "$rc" -ne 0 ]; then
			{ echo "run $((i + 1)) exited $rc:"; cat "$out.out"; } >>"$out.err"
			failed=$((failed + 1))
			[ "$failed" -le "$max_failures" ] || return 1
			i=$((i - 1))
			continue
		fi
		echo "$(((t1 - t0) / 1000)).$(printf '%03d' $(((t1 - t0) % 1000)))" >>"$out"
	done
}

# stats FILE: prints "min median p90" in ms (median of an even count: mean of the middle two).
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - -"; exit }
			med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			r = int((9 * NR + 9) / 10)
			printf "%.2f %.2f %.2f\n", v[1], med, v[r]
		}'
}

declare -A row_stats row_note row_fail  # KEY -> "min median p90", or why there are none; failed runs
row() {
	row_stats[$1]=$2
}

# realtime on|off: this shell, and so everything it starts, at SCHED_FIFO 10 or back to normal.
realtime() {
	[ "$rt" -eq 1 ] || return 0
	if [ "$1" = on ]; then
		chrt -f -p 10 $$ >/dev/null || die "cannot switch to SCHED_FIFO (chrt -f -p 10)"
	else
		chrt -o -p 0 $$ >/dev/null
	fi
}

echo "alts sandbox benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, kernel $(uname -r)," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg), $runs runs per series$([ "$rt" -eq 1 ] && echo ', SCHED_FIFO 10 (--rt)')"
realtime on
echo "root filesystem: $rootfs"
echo

# --- 1. the runner API, in process ---
echo "== sandbox_bench (runner API in process) =="
"$bench" -n "$runs" -i "$image" | tee "$tmp/c.txt" || die "sandbox_bench failed"
for key in cycle bare exec host; do
	row "api.$key" "$(awk -v k="$key" '$1 == k { print $2, $3, $4 }' "$tmp/c.txt")"
done
api_failures=$(awk '$1 == "failures" { print $2 }' "$tmp/c.txt")
row_fail[api.cycle]="${api_failures:-0} (cycle+bare)"
echo

# series KEY CMD...: times CMD into row KEY; failures are printed in full and counted in the table.
series() {
	local key=$1 ok=0
	shift
	time_runs "$tmp/$key" "$@" && ok=1
	row_fail[$key]=$(grep -c '^run [0-9]* exited' "$tmp/$key.err")
	if [ -s "$tmp/$key.err" ]; then
		echo "$key: $* failed ${row_fail[$key]} time(s)$([ "$ok" -eq 1 ] && echo ', retried'):"
		sed 's/^/  /' "$tmp/$key.err"
	fi
	if [ "$ok" -eq 1 ]; then
		row "$key" "$(stats "$tmp/$key")"
		return 0
	fi
	row_note[$key]="gave up after $((max_failures + 1)) failures (see above)"
	return 1
}

# --- 2. the shell loop itself: fork+exec of the host's true ---
series shell /bin/true || die "cannot time /bin/true"

# --- 3. chroot ---
series chroot chroot "$rootfs" true

# --- 4. alts-run end to end, one launch check ---
cat >"$tmp/suite.yaml" <<YAML
name: bench
environment: {runner: sandbox, image: $image}
checks:
  - launch: {command: [true]}
YAML
art_n=0
# A new artifacts directory each run, all removed at exit. Not -q: it would hide why a run
# failed (the console report is the only place an environment error is told).
alts_run_once() {
	art_n=$((art_n + 1))
	"$alts_run" --color never --artifacts "$tmp/art.$art_n" "$tmp/suite.yaml"
}
series altsrun alts_run_once

# --- 5. podman ---
# Always at normal priority: a cgroup v1 cpu controller refuses SCHED_FIFO tasks (EINVAL on
# cgroup.procs), and podman puts the container in one.
realtime off
podman_tag=alts-bench:$image
podman_flags=()  # extra flags of the first variant that ran, see podman_try
podman_run() {
	podman run --rm --network none "${podman_flags[@]}" "$podman_tag" true
}
apt_install() {  # apt_install PACKAGE: quiet, waits for the dpkg lock
	echo "installing $1 with apt-get..." >&2
	{
		apt-get update -qq -o DPkg::Lock::Timeout=300 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "$1"
	} >"$tmp/apt-$1.log" 2>&1 && return 0
	echo "apt-get install $1 failed:"
	tail -n 5 "$tmp/apt-$1.log"
	return 1
}
# podman_try FLAGS...: one trial run; on failure prints the exact error.
podman_try() {
	podman_flags=("$@")
	podman_run >/dev/null 2>"$tmp/podman-try.err" && return 0
	echo "\$ podman run --rm --network none${*:+ $*} $podman_tag true"
	sed 's/^/  /' "$tmp/podman-try.err"
	return 1
}
podman_prepare() {
	if ! command -v podman >/dev/null 2>&1; then
		[ "$install_podman" -eq 1 ] || { echo "podman is not installed (and --no-install)"; return 1; }
		apt_install podman || return 1
	fi
	if ! podman image exists "$podman_tag" 2>/dev/null; then
		echo "importing $rootfs as $podman_tag..." >&2
		if ! tar -C "$rootfs" -c . 2>"$tmp/tar.err" | podman import - "$podman_tag" >/dev/null 2>"$tmp/import.err"; then
			echo "podman import failed:"
			cat "$tmp/import.err" "$tmp/tar.err"
			return 1
		fi
	fi
}
podman_variant=  # which podman_try variant ran
if [ "$use_podman" -eq 0 ]; then
	row_note[podman]="skipped (--no-podman)"
elif ! podman_prepare; then
	row_note[podman]="podman unavailable (see above)"
elif podman_try; then
	podman_variant="default flags"
else
	# Where root lacks CAP_SYS_RESOURCE, podman's default rlimits (nofile 1048576, nproc 4194304)
	# cannot be set; where cgroups are hybrid v1/v2, crun refuses to start. Try the two remedies.
	echo "podman cannot run containers here as is (error above); trying workarounds:"
	lim=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
	if podman_try "${lim[@]}"; then
		podman_variant="lowered ulimits"
	elif { command -v runc >/dev/null 2>&1 || { [ "$install_podman" -eq 1 ] && apt_install runc; }; } &&
		podman_try --runtime runc "${lim[@]}"; then
		podman_variant="runc runtime, lowered ulimits"
	else
		row_note[podman]="cannot run containers here (see above)"
	fi
fi
if [ -n "$podman_variant" ]; then
	echo "podman: $(podman --version), ${podman_flags[*]:-default flags}," \
		"$(podman info --format '{{.Store.GraphDriverName}} storage, cgroups {{.Host.CgroupsVersion}}' 2>/dev/null)"
	series podman podman_run
fi
echo

# --- table ---
labels=(
	"api.cycle|sandbox create + exec(true) + teardown (API)"
	"api.bare|sandbox create + teardown, no exec (API)"
	"api.exec|sandbox exec(true) alone, one sandbox (API)"
	"api.host|true on the host, no sandbox (API)"
	"chroot|chroot ROOTFS true"
	"podman|podman run --rm --network none IMG true"
	"altsrun|alts-run, one launch check, end to end"
	"shell|/bin/true on the host (shell loop baseline)"
)
[ -z "$podman_variant" ] || echo "podman row: $podman_variant$([ "$rt" -eq 1 ] && echo ', at normal priority (not --rt)')"
printf '%-48s %9s %9s %9s   %s\n' "what (ms, $runs runs)" min median p90 "failed runs"
for l in "${labels[@]}"; do
	key=${l%%|*}
	if [ -n "${row_stats[$key]:-}" ]; then
		read -r mn md p9 <<<"${row_stats[$key]}"
		printf '%-48s %9s %9s %9s   %s\n' "${l#*|}" "$mn" "$md" "$p9" "${row_fail[$key]:-}"
	else
		printf '%-48s %s\n' "${l#*|}" "${row_note[$key]:-no data}"
	fi
done
echo

median() { [ -n "${row_stats[$1]:-}" ] && set -- ${row_stats[$1]} && echo "$2"; }
ratio() {  # ratio NUM-KEY DEN-KEY
	local a b
	a=$(median "$1") && b=$(median "$2") || { echo "n/a"; return; }
	awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2fx\n", a / b; else print "n/a" }'
}
echo "ratios of medians:"
echo "  podman / sandbox (create+exec+teardown):   $(ratio podman api.cycle)"
echo "  chroot / sandbox (create+exec+teardown):   $(ratio chroot api.cycle)"
echo "  podman / alts-run (both end to end, CLI):  $(ratio podman altsrun)"
[ "$rt" -eq 0 ] || [ -z "$podman_variant" ] ||
	echo "  (podman ran at normal priority, the rest under --rt: on a busy machine its ratios are overstated)"
echo

status=0
if bare=$(median api.bare); then
	if awk -v m="$bare" -v t="$target_ms" 'BEGIN { exit !(m < t) }'; then
		echo "target: sandbox create+teardown median ${bare} ms < ${target_ms} ms: met"
	else
		echo "target: sandbox create+teardown median ${bare} ms < ${target_ms} ms: MISSED"
		[ "$check_target" -eq 1 ] && status=1
	fi
fi
exit $status
