#!/usr/bin/env bash
# Boot mode (environment: {boot: systemd}): a Debian 12 image with systemd (built once as
# debian-12-systemd, reused) booted with systemd as PID 1 in the sandbox: it reaches its
# default target, sees container=alts, a cgroup namespace and a machine ID of its own; a
# package's systemd unit is started and checked by launch {service: X}, its journal lands in
# the check's log; a unit whose start fails fails the check with its journal's lines; plain
# mode still has no init. Teardown halts systemd and leaves no directory, mount, cgroup or
# process. Bad input: an image without systemd, an unknown boot mode, another runner.
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd dpkg-deb dpkg-scanpackages
# systemd in a container needs a cgroup2 hierarchy: pure v2, or v1 with v2 on cgroup/unified.
[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] ||
	[ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] ||
	skip_test "needs:cgroup2 (this host has cgroup v1 only: boot mode refuses it, see docs/runners.md)"
IMAGE=debian-12-systemd
# The systemd image, made once. From the plain debian-12 image that the other tests build anyway:
# systemd installed by apt in a sandbox (network: host, --keep-env), the merged tree imported
# (about a minute: apt-get update and ten packages); a full debootstrap is the fallback.
make_systemd_image() {
	local dir lower
	ensure_image debian-12
	cat >"$SCRATCH/mkimage.yaml" <<'YAML'
name: make the systemd image
environment: {runner: sandbox, image: debian-12, network: host}
checks:
  - launch:
      name: install systemd
      timeout: 15m
      command: >-
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
        systemd systemd-sysv && apt-get clean && rm -rf /var/lib/apt/lists/* /etc/machine-id &&
        rm -f /etc/resolv.conf /etc/apt/apt.conf.d/*roxy* && : >/etc/hosts
YAML
	ALTS_SANDBOX_DIR=$SCRATCH/mkimage "$ALTS_RUN" --keep-env -q "$SCRATCH/mkimage.yaml" >"$SCRATCH/mkimage.out" 2>&1 || return 1
	dir=$(ls -d "$SCRATCH"/mkimage/sb-* | head -1)
	lower=$ALTS_IMAGE_CACHE/debian-12/rootfs
	[ -d "$dir/rw/upper" ] || return 1
	mkdir -p "$dir/merged"
	unshare -m sh -c 'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/rw/upper,workdir=$2/rw/work" "$2/merged" &&
		tar -C "$2/merged" --numeric-owner --xattrs -cf "$3" .' sh "$lower" "$dir" "$SCRATCH/systemd.tar" || return 1
	rm -rf "$SCRATCH/mkimage"
	"$ALTS_IMAGE" import "$IMAGE" "$SCRATCH/systemd.tar" >"$SCRATCH/import.out" 2>&1 || return 1
	rm -f "$SCRATCH/systemd.tar"
}
if ! "$ALTS_IMAGE" list 2>/dev/null | grep -q "^$IMAGE "; then
	start=$(date +%s)
	if make_systemd_image; then
		echo "# made image $IMAGE from debian-12 in $(( $(date +%s) - start )) s"
	else
		echo "# cannot make $IMAGE from debian-12 (below: why); building it with debootstrap"
		tail -5 "$SCRATCH/mkimage.out" "$SCRATCH/import.out" 2>/dev/null | sed 's/^/# /'
		rm -rf "$SCRATCH/mkimage" "$SCRATCH/systemd.tar"
		ensure_image "$IMAGE" --dist debian-12 --include debsums,procps,bats,binutils,ca-certificates,systemd,systemd-sysv
	fi
fi
build=$ALTS_SOURCE_DIR/tests/fixtures/pkgs/build-life.sh
repo=$SCRATCH/repo
sh "$build" deb "$repo" alts-unit 1.0 unit >/dev/null
sh "$build" deb "$repo" alts-badunit 1.0 broken-unit >/dev/null
make_repo "$repo"

# The sandbox's processes are the ones whose environment says container=alts (systemd passes it on).
booted_processes() { grep -ls 'container=alts' /proc/[0-9]*/environ 2>/dev/null | grep -v "/proc/$$/" || true; }
# The cgroups of this test's sandboxes (their names are in alts-run's debug log); others may run alongside.
boot_cgroups() {
	local name
	for name in $(grep -ho 'sandbox [^ ]*/sb-[A-Za-z0-9]* ready' "$SCRATCH"/*.out | sed 's|.*/\(sb-[A-Za-z0-9]*\) ready|\1|' | sort -u); do
		find /sys/fs/cgroup -maxdepth 4 -type d -path "*/alts/$name" 2>/dev/null
	done
}
fails() { ! "$@"; }

cat >"$SCRATCH/booted.yaml" <<YAML
name: booted
environment: {runner: sandbox, image: $IMAGE, boot: systemd}
packages: [alts-unit, alts-badunit]
repositories: [{name: local, url: $repo}]
checks:
  - launch: {name: systemd is PID 1, command: [cat, /proc/1/comm], stdout: '^systemd$'}
  - launch: {name: the boot is finished, command: 'systemctl is-system-running || true', stdout: '^(running|degraded)$'}
  - launch: {name: container=alts, command: 'tr "\\\\0" "\\\\n" </proc/1/environ', stdout: '^container=alts$'}
  - launch: {name: a cgroup namespace, command: [cat, /proc/self/cgroup], stdout: '^0::/$'}
  - launch: {name: /sys/fs/cgroup is writable cgroup2, command: 'stat -fc %T /sys/fs/cgroup && test -w /sys/fs/cgroup/cgroup.procs', stdout: '^cgroup2fs$'}
  - launch: {name: /proc/sys is read-only, command: 'echo 1 >/proc/sys/kernel/panic', exit_code: 2, stderr: 'Read-only file system'}
  - launch: {name: machine id, command: [cat, /etc/machine-id], stdout: '^[0-9a-f]{32}$'}
  - install
  - launch: {name: the unit runs, service: alts-unit}
  - launch: {name: its daemon, command: [pgrep, -x, alts-unitd]}
  - launch: {name: the broken unit, service: alts-badunit}
YAML
start=$(date +%s.%N)
"$ALTS_RUN" --log-level debug --tap "$SCRATCH/booted.tap" --artifacts "$SCRATCH/art" "$SCRATCH/booted.yaml" >"$SCRATCH/booted.out" 2>&1; status=$?
took=$(echo "$(date +%s.%N) - $start" | bc)
tap=$SCRATCH/booted.tap
check "booted: exit 1 (the broken unit) (exit $status, ${took}s)" test "$status" -eq 1
for n in "1 - systemd is PID 1" "2 - the boot is finished" "3 - container=alts" "4 - a cgroup namespace" \
	"5 - /sys/fs/cgroup is writable cgroup2" "6 - /proc/sys is read-only" "7 - machine id" "8 - install" \
	"9 - the unit runs" "10 - its daemon"; do
	check "booted: ok $n" grep -q "^ok $n" "$tap"
done
logs=$SCRATCH/art/booted/logs
check "the unit's start is systemctl start" grep -q 'systemctl start -- alts-unit' "$logs"/09-*.log
check "the unit's journal is in the check's log" grep -q 'alts-unitd 1.0: configuration ok' "$logs"/09-*.log
check "the broken unit fails" grep -q "^not ok 11 - the broken unit" "$tap"
check "the broken unit: the message names the start and the journal's last line" \
	grep -q "service 'alts-badunit' failed to start (exit 1): Job for alts-badunit.service failed.*last journal line: .*alts-badunitd: cannot bind port 80: Address already in use" "$tap"
check "the broken unit's journal is in its log" \
	grep -q 'alts-badunitd: cannot bind port 80: Address already in use' "$logs"/11-*.log
[ "$status" -eq 1 ] || sed 's/^/# /' "$SCRATCH/booted.out"
check "booted: systemd halted on SIGRTMIN+3, not killed after the stop timeout" \
	bash -c "! grep -q 'did not halt' '$SCRATCH/booted.out'"
check "booted: nothing is left behind" no_leftovers
check "booted: no process of the booted system is left" test -z "$(booted_processes)"
check "booted: its sandbox is named in the log" grep -q 'sandbox .*/sb-.* ready' "$SCRATCH/booted.out"
check "booted: no cgroup is left" test -z "$(boot_cgroups)"

# Fresh checks: each reset halts systemd, restores the layers and boots again.
cat >"$SCRATCH/fresh.yaml" <<YAML
name: fresh
isolation: check
environment: {runner: sandbox, image: $IMAGE, boot: systemd}
packages: [alts-unit]
repositories: [{name: local, url: $repo}]
checks:
  - install
  - launch: {name: start it, service: alts-unit}
  - launch: {name: a fresh copy has it stopped, command: 'systemctl is-active alts-unit', exit_code: 3, stdout: inactive}
  - launch: {name: and starts it again, service: alts-unit}
YAML
"$ALTS_RUN" --log-level debug --tap "$SCRATCH/fresh.tap" "$SCRATCH/fresh.yaml" >"$SCRATCH/fresh.out" 2>&1; status=$?
check "fresh checks in a booted sandbox pass (exit $status)" test "$status" -eq 0
check "fresh checks: the sandbox was reset and booted again" grep -q 'sandbox: reset of .* ms' "$SCRATCH/fresh.out"
[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/fresh.out" | tail -20

# Two sandboxes booted at once get machine IDs of their own.
cat >"$SCRATCH/id.yaml" <<YAML
name: id
environment: {runner: sandbox, image: $IMAGE, boot: systemd}
checks:
  - launch: {command: [cat, /etc/machine-id]}
YAML
"$ALTS_RUN" --log-level debug --artifacts "$SCRATCH/id1" "$SCRATCH/id.yaml" >"$SCRATCH/id1.out" 2>&1 &
"$ALTS_RUN" --log-level debug --artifacts "$SCRATCH/id2" "$SCRATCH/id.yaml" >"$SCRATCH/id2.out" 2>&1
wait
id1=$(grep -ho '^[0-9a-f]\{32\}$' "$SCRATCH"/id1/id/logs/*.log) id2=$(grep -ho '^[0-9a-f]\{32\}$' "$SCRATCH"/id2/id/logs/*.log)
check "two boots, two machine IDs ($id1, $id2)" test -n "$id1" -a -n "$id2" -a "$id1" != "$id2"

# The sandbox's protections hold with systemd as PID 1: the escape probe of t_sandbox_escape
# (capabilities, seccomp, mounts, /proc, devices, signals to a host process...) from a booted
# sandbox, with small limits; only its /sys attempts differ (read-only sysfs instead of none).
if command -v gcc >/dev/null; then
	mkdir -p "$SCRATCH/probe" "$SCRATCH/host-dir"
	gcc -O -Wall -Wextra -Werror -o "$SCRATCH/probe/sandbox_probe" "$ALTS_SOURCE_DIR/tests/tools/sandbox_probe.c"
	sleep 600 &
	host_pid=$!
	cat >"$SCRATCH/probe/probe.yaml" <<YAML
name: probe
environment: {runner: sandbox, image: $IMAGE, boot: systemd}
env: {ALTS_PROBE_BOOTED: "1"}
checks:
  - script: {path: sandbox_probe, args: ["$host_pid", "$SCRATCH/host-dir"]}
YAML
	ALTS_SANDBOX_DISK=64M ALTS_SANDBOX_MEMORY=256M ALTS_SANDBOX_PIDS=256 \
		"$ALTS_RUN" --log-level debug -v --artifacts "$SCRATCH/art-probe" "$SCRATCH/probe/probe.yaml" >"$SCRATCH/probe.out" 2>&1
	probe_ok=$(grep -c '| ok [0-9]* - ' "$SCRATCH/probe.out")
	grep '| not ok [0-9]* - ' "$SCRATCH/probe.out" | sed 's/^/# /'
	check "booted: the probe ran its attempts ($probe_ok contained)" test "$probe_ok" -ge 60
	check "booted: every attempt failed or was contained" bash -c "! grep -q '| not ok [0-9]* - ' '$SCRATCH/probe.out'"
	check "booted: the probe saw a read-only /sys" grep -q '| ok [0-9]* - booted: /sys is read-only' "$SCRATCH/probe.out"
	check "booted: the host process is alive" kill -0 "$host_pid"
	check "booted: the host directory is untouched" bash -c "[ -z \"\$(ls -A '$SCRATCH/host-dir')\" ]"
	kill "$host_pid"; wait "$host_pid" 2>/dev/null
fi

# alts-run killed while systemd runs: the booted system dies with it, the sweep removes the rest.
cat >"$SCRATCH/sleeper.yaml" <<YAML
name: sleeper
environment: {runner: sandbox, image: $IMAGE, boot: systemd}
checks:
  - launch: {command: "sleep 60 # alts-boot-marker"}
YAML
"$ALTS_RUN" --log-level debug --artifacts "$SCRATCH/art-kill" "$SCRATCH/sleeper.yaml" >"$SCRATCH/sleeper.out" 2>&1 &
victim=$!
for _ in $(seq 300); do pgrep -f 'alts-boot-marke[r]' >/dev/null && break; sleep 0.1; done
check "the sleeper runs in the booted sandbox" pgrep -f 'alts-boot-marke[r]'
kill -9 "$victim"; wait "$victim" 2>/dev/null
for _ in $(seq 50); do [ -z "$(booted_processes)" ] && break; sleep 0.1; done
check "SIGKILL: no process of the booted system survives" test -z "$(booted_processes)"
check "SIGKILL: no mount survives" bash -c "! grep -q '$ALTS_SANDBOX_DIR' /proc/self/mountinfo"
"$ALTS_IMAGE" sweep >/dev/null
check "SIGKILL: the sweep removes the stale directory" no_leftovers
check "SIGKILL: the sweep removes the cgroups systemd made" test -z "$(boot_cgroups)"

# Plain mode (the default) has no init: the same image, no systemd.
cat >"$SCRATCH/plain.yaml" <<YAML
name: plain
environment: {runner: sandbox, image: $IMAGE}
checks:
  - launch: {name: no init, command: 'systemctl is-system-running', exit_code: 1, stdout: 'offline'}
  - launch: {name: a service alone needs the boot, service: alts-unit, expect_failure: true}
YAML
"$ALTS_RUN" --tap "$SCRATCH/plain.tap" "$SCRATCH/plain.yaml" >"$SCRATCH/plain.out" 2>&1; status=$?
check "plain mode: no systemd (exit $status)" test "$status" -eq 0
check "plain mode: a service alone is explained" grep -q "needs environment boot: systemd" "$SCRATCH/plain.tap"
[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/plain.out"

# An image without systemd: a clear error before anything runs.
cat >"$SCRATCH/nosystemd.yaml" <<YAML
name: nosystemd
environment: {runner: sandbox, image: debian-12, boot: systemd}
checks: [{launch: {command: [true]}}]
YAML
if "$ALTS_IMAGE" list 2>/dev/null | grep -q "^debian-12 "; then
	"$ALTS_RUN" "$SCRATCH/nosystemd.yaml" >"$SCRATCH/nosystemd.out" 2>&1; status=$?
	check "no systemd in the image: an error (exit $status)" test "$status" -ne 0 -a "$status" -ne 1
	check "no systemd in the image: named" grep -q "image 'debian-12' has no systemd" "$SCRATCH/nosystemd.out"
fi
printf 'name: x\nenvironment: {runner: sandbox, image: %s, boot: upstart}\nchecks: [{launch: {command: [true]}}]\n' \
	"$IMAGE" >"$SCRATCH/badmode.yaml"
"$ALTS_RUN" "$SCRATCH/badmode.yaml" >"$SCRATCH/badmode.out" 2>&1; status=$?
check "an unknown boot mode: exit 2 (exit $status)" test "$status" -eq 2
check "an unknown boot mode: positioned" grep -q "badmode.yaml:2:.*environment.boot.*upstart" "$SCRATCH/badmode.out"
printf 'name: x\nenvironment: {runner: local, boot: systemd}\nchecks: [{launch: {command: [true]}}]\n' >"$SCRATCH/local.yaml"
"$ALTS_RUN" "$SCRATCH/local.yaml" >"$SCRATCH/local.out" 2>&1; status=$?
check "boot with another runner: exit 2 (exit $status)" test "$status" -eq 2
check "boot with another runner: named" grep -q "local.yaml:2:.*boot: systemd needs the sandbox runner" "$SCRATCH/local.out"
[ -n "${KEEP:-}" ] && cp -r "$SCRATCH" "$KEEP"
check "nothing is left behind at the end" no_leftovers
check "no process of a booted system is left at the end" test -z "$(booted_processes)"
check "no cgroup is left at the end" test -z "$(boot_cgroups)"
finish
