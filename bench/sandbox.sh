#!/usr/bin/env bash
# Sandbox start-up benchmark: median create + exec(true) + teardown of an alts
# sandbox against bubblewrap (bwrap, with the sandbox's protections),
# `chroot ROOTFS true` and `podman run --rm` of the same root filesystem, plus
# alts-run end to end. See bench/README.md.
#
# usage: bench/sandbox.sh [-n RUNS] [-i IMAGE] [--rt] [--no-podman] [--no-install] [--check]
#                         [--before BUILD_DIR]
#
# --rt times everything at SCHED_FIFO priority 10 (chrt), to see past a busy machine.
# --before times a second build's sandbox_bench and alts-run too (e.g. main's), interleaved.
# Needs root. Environment: ALTS_BUILD_DIR (default /tmp/alts-build-bench),
# ALTS_IMAGE_CACHE (default /var/cache/alts/images).
# Exit status: 0 done, 1 --check and a target was missed, 2 usage, 3 environment failure.
set -u -o pipefail

runs=100
image=debian-12
use_podman=1
install_podman=1
check_target=0
rt=0
target_ms=20
before=

usage() {
	sed -n '7,15s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	-i) image=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--no-podman) use_podman=0; shift ;;
	--no-install) install_podman=0; shift ;;
	--check) check_target=1; shift ;;
	--rt) rt=1; shift ;;
	--before) before=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
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
	cmake --build "$build" -j"$(nproc)" --target sandbox_bench alts-run bwrap_seccomp >>"$tmp/build.log" 2>&1; then
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
# With --before, the two builds' sandbox_bench alternate in 5 rounds of runs/5; each row is then
# the median over the rounds of the round's min/median/p90.
api_rounds=1
[ -n "$before" ] && api_rounds=5
api_n=$(((runs + api_rounds - 1) / api_rounds))
api_bench() {  # api_bench PREFIX PROGRAM: rounds appended to $tmp/PREFIX.txt
	"$2" -n "$api_n" -i "$image" >"$tmp/$1.round" 2>&1 || { cat "$tmp/$1.round" >&2; die "$2 failed"; }
	cat "$tmp/$1.round" >>"$tmp/$1.txt"
}
if [ -n "$before" ]; then
	before=$(cd "$before" 2>/dev/null && pwd) || die "no build directory '$before'"
	[ -x "$before/bench/sandbox_bench" ] && [ -x "$before/alts-run" ] ||
		die "no bench/sandbox_bench or alts-run in '$before' (build them there first)"
fi
echo "== sandbox_bench (runner API in process), $api_rounds round(s) of $api_n =="
for ((r = 1; r <= api_rounds; r++)); do
	api_bench c "$bench"
	[ -n "$before" ] && api_bench b "$before/bench/sandbox_bench"
done
cat "$tmp/c.txt"
api_rows() {  # api_rows FILE KEYPREFIX
	local key
	for key in cycle cycle.create cycle.exec cycle.teardown bare exec host; do
		row "$2$key" "$(awk -v k="$key" '$1 == k { a[++n] = $2; b[n] = $3; c[n] = $4 }
			function med(v, n,   i, j, t) {
				for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
				return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			}
			END { if (n) printf "%.2f %.2f %.2f\n", med(a, n), med(b, n), med(c, n) }' "$1")"
	done
	row_fail[${2}cycle]="$(awk '$1 == "failures" { n += $2 } END { print n + 0 }' "$1") (cycle+bare)"
}
api_rows "$tmp/c.txt" api.
[ -n "$before" ] && api_rows "$tmp/b.txt" before.api.
echo

# --- 2. the shell rows, interleaved: each run times every command once, in turn ---
cat >"$tmp/suite.yaml" <<YAML
name: bench
environment: {runner: sandbox, image: $image}
checks:
  - launch: {command: [true]}
YAML
art_n=0
# A new artifacts directory each run, all removed at exit. Not -q: it would hide why a run
# failed (the console report is the only place an environment error is told).
alts_run_with() {
	art_n=$((art_n + 1))
	"$1" --color never --artifacts "$tmp/art.$art_n" "$tmp/suite.yaml"
}
run_shell() { /bin/true; }
run_chroot() { chroot "$rootfs" true; }
run_altsrun() { alts_run_with "$alts_run"; }
run_altsrun_before() { alts_run_with "$before/alts-run"; }
# bubblewrap with what the alts sandbox does: new IPC, PID, network and UTS namespaces, the image's
# root filesystem (read-only: bwrap 0.8 has no overlay), /proc, a minimal /dev, size-limited
# tmpfs on /tmp and /run, no capabilities (--cap-drop ALL), the sandbox's seccomp deny-list
# (bench/bwrap_seccomp writes the sandbox's own compiled filter), and dies with its parent.
bwrap_filter=$tmp/seccomp.bpf
run_bwrap() {
	bwrap --unshare-ipc --unshare-pid --unshare-net --unshare-uts --hostname alts-sandbox \
		--ro-bind "$rootfs" / --proc /proc --dev /dev --size 67108864 --tmpfs /tmp \
		--size 67108864 --tmpfs /run --chdir /tmp --cap-drop ALL --die-with-parent \
		--seccomp 9 true 9<"$bwrap_filter"
}
shell_keys=(shell chroot)
if ! command -v bwrap >/dev/null 2>&1 && [ "$install_podman" -eq 1 ]; then
	echo "installing bubblewrap with apt-get..." >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 bubblewrap >/dev/null 2>&1
fi
if ! command -v bwrap >/dev/null 2>&1; then
	row_note[bwrap]="bwrap is not installed"
elif ! [ -x "$build/bench/bwrap_seccomp" ] || ! "$build/bench/bwrap_seccomp" >"$bwrap_filter"; then
	row_note[bwrap]="no seccomp filter (bench/bwrap_seccomp failed)"
elif ! run_bwrap >"$tmp/bwrap-try.err" 2>&1; then
	row_note[bwrap]="bwrap cannot run here: $(head -n 1 "$tmp/bwrap-try.err")"
else
	echo "bwrap: $(bwrap --version), --cap-drop ALL, seccomp filter of $(($(stat -c %s "$bwrap_filter") / 8)) instructions"
	shell_keys+=(bwrap)
fi
shell_keys+=(altsrun)
[ -n "$before" ] && shell_keys+=(altsrun_before)

# time_interleaved KEY...: $runs rounds; each round runs run_KEY once per KEY, in turn, after one
# untimed warm-up round. A failed run is not timed but retried, up to $max_failures times per KEY;
# then that KEY is given up.
time_interleaved() {
	local i k t0 t1 rc
	declare -A failed=() gave_up=()
	for k in "$@"; do : >"$tmp/$k"; : >"$tmp/$k.err"; "run_$k" >/dev/null 2>&1; failed[$k]=0; done
	for ((i = 0; i < runs; i++)); do
		for k in "$@"; do
			[ -n "${gave_up[$k]:-}" ] && continue
			while :; do
				t0=${EPOCHREALTIME/[.,]/}
				"run_$k" >"$tmp/$k.out" 2>&1
				rc=$?
				t1=${EPOCHREALTIME/[.,]/}
				[ "$rc" -eq 0 ] && break
				{ echo "run $((i + 1)) exited $rc:"; cat "$tmp/$k.out"; } >>"$tmp/$k.err"
				failed[$k]=$((failed[$k] + 1))
				[ "${failed[$k]}" -le "$max_failures" ] || { gave_up[$k]=1; break; }
			done
			[ -n "${gave_up[$k]:-}" ] && continue
			echo "$(((t1 - t0) / 1000)).$(printf '%03d' $(((t1 - t0) % 1000)))" >>"$tmp/$k"
		done
	done
	for k in "$@"; do
		row_fail[$k]=${failed[$k]}
		if [ -s "$tmp/$k.err" ]; then
			echo "$k failed ${failed[$k]} time(s)$([ -z "${gave_up[$k]:-}" ] && echo ', retried'):"
			sed 's/^/  /' "$tmp/$k.err"
		fi
		if [ -n "${gave_up[$k]:-}" ]; then
			row_note[$k]="gave up after $((max_failures + 1)) failures (see above)"
		else
			row "$k" "$(stats "$tmp/$k")"
		fi
	done
}
time_interleaved "${shell_keys[@]}"
[ -n "${row_stats[shell]:-}" ] || die "cannot time /bin/true"

# series KEY CMD...: times CMD into row KEY on its own (podman: too slow to interleave); failures
# are printed in full and counted in the table.
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

# --- 3. podman ---
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
	"api.cycle.create|  create: runner_new + runner_prepare"
	"api.cycle.exec|  exec(true), first in the fresh sandbox"
	"api.cycle.teardown|  teardown: runner_free"
	"api.bare|sandbox create + teardown, no exec (API)"
	"api.exec|sandbox exec(true) alone, one sandbox (API)"
	"api.host|true on the host, no sandbox (API)"
	"before.api.cycle|before: sandbox create + exec + teardown (API)"
	"before.api.bare|before: sandbox create + teardown (API)"
	"before.api.exec|before: sandbox exec(true) alone (API)"
	"bwrap|bwrap (same protections) ROOTFS true"
	"chroot|chroot ROOTFS true"
	"podman|podman run --rm --network none IMG true"
	"altsrun|alts-run, one launch check, end to end"
	"altsrun_before|before: alts-run, one launch check"
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
echo "ratios of medians (targets from issue 19):"
echo "  sandbox (create+exec+teardown, API) / bwrap:  $(ratio api.cycle bwrap)   target at most 1.00x"
echo "  alts-run (one check, end to end) / bwrap:     $(ratio altsrun bwrap)   target at most 1.50x"
echo "  podman / sandbox (create+exec+teardown):      $(ratio podman api.cycle)"
echo "  podman / alts-run (both end to end, CLI):     $(ratio podman altsrun)"
echo "  chroot / sandbox (create+exec+teardown):      $(ratio chroot api.cycle)"
if [ -n "$before" ]; then
	echo "  before / after, sandbox cycle (API):          $(ratio before.api.cycle api.cycle)"
	echo "  before / after, alts-run end to end:          $(ratio altsrun_before altsrun)"
	echo "  before: sandbox cycle / bwrap:                $(ratio before.api.cycle bwrap)"
	echo "  before: alts-run / bwrap:                     $(ratio altsrun_before bwrap)"
fi
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
