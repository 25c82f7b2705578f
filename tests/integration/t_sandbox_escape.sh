#!/usr/bin/env bash
# The sandbox is a boundary: from inside checks on the real Debian 12 image, a hostile suite tries
# to reach the host (tests/tools/sandbox_probe.c: ~70 attempts, plus symlinks planted for the next
# copy-in, descriptors alts-run inherited, resource exhaustion, a killed copy). Every attempt must
# fail or stay inside, and the host is checked unchanged afterwards.
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd gcc dpkg-deb dpkg-scanpackages
ensure_image

# Small limits, so that exhausting them is quick.
export ALTS_SANDBOX_DISK=64M ALTS_SANDBOX_MEMORY=256M ALTS_SANDBOX_PIDS=256

mkdir -p "$SCRATCH/suite" "$SCRATCH/host-dir" "$SCRATCH/host-repo-dir"
gcc -O -Wall -Wextra -Werror -o "$SCRATCH/suite/sandbox_probe" "$ALTS_SOURCE_DIR/tests/tools/sandbox_probe.c" ||
	{ echo "cannot build the probe"; exit 1; }
marker=alts-escape-marker-$$
cat >"$SCRATCH/suite/plant.sh" <<SH
#!/bin/sh
# The next checks' scripts are copied to /alts-work/scripts-N: point them at host places.
ln -sfn /etc /alts-work/scripts-2
ln -sfn "$SCRATCH/host-dir" /alts-work/scripts-4
echo "1..1"; echo "ok 1 - planted"
SH
printf '#!/bin/sh\necho "1..1"; echo "ok 1 - copied"\n' >"$SCRATCH/suite/$marker.sh"
cp "$SCRATCH/suite/$marker.sh" "$SCRATCH/suite/$marker-2.sh"
chmod +x "$SCRATCH/suite/"*.sh

# Host state the attempts aim at.
lease=$(cat /proc/sys/fs/lease-break-time)
core=$(cat /proc/sys/kernel/core_pattern)
host_name=$(hostname)
dev_count=$(ls /dev | wc -l)
date_before=$(date +%s)
cgroups_before=$(ls -d /sys/fs/cgroup/*/alts/sb-* /sys/fs/cgroup/alts/sb-* 2>/dev/null | sort)
sleep 600 &
host_pid=$!

cat >"$SCRATCH/suite/escape.yaml" <<YAML
name: escape
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
checks:
  - script: {path: plant.sh}
  - script: {path: $marker.sh}
  - script: {path: sandbox_probe, args: ["$host_pid", "$SCRATCH/host-dir"]}
  - script: {path: $marker-2.sh}
YAML
# Descriptors 8 (a host file, writable) and 9 (the host's root) are open in alts-run.
"$ALTS_RUN" -v --artifacts "$SCRATCH/art" --tap "$SCRATCH/escape.tap" "$SCRATCH/suite/escape.yaml" \
	8>"$SCRATCH/fd8" 9</ >"$SCRATCH/escape.out" 2>&1
probe_ok=$(grep -c '| ok [0-9]* - ' "$SCRATCH/escape.out")
probe_bad=$(grep -c '| not ok [0-9]* - ' "$SCRATCH/escape.out")
grep '| not ok [0-9]* - ' "$SCRATCH/escape.out" | sed 's/^/# /'
check "the probe ran its attempts ($probe_ok contained)" test "$probe_ok" -ge 60
check "every attempt failed or was contained ($probe_bad got through)" test "$probe_bad" -eq 0
check "the probe's check passed" bash -c "grep -A1 -E '\\| 1\\.\\.[0-9]{2,}$' '$SCRATCH/escape.out' | grep -q PASS"
check "a copy-in through a planted link to /etc stays inside" test ! -e "/etc/$marker.sh"
check "a copy-in through a planted link to a host directory stays inside" \
	bash -c "[ -z \"\$(ls -A '$SCRATCH/host-dir')\" ]"
check "descriptor 8's host file was not written" test ! -s "$SCRATCH/fd8"

# Repository files: a planted /etc/apt/sources.list.d link must not lead install to the host.
repo=$SCRATCH/repo
mkdir -p "$repo"
build_deb "$repo" alts-hello 1.0
make_repo "$repo"
cat >"$SCRATCH/suite/plant-apt.sh" <<SH
#!/bin/sh
rm -rf /etc/apt/sources.list.d
ln -sfn "$SCRATCH/host-repo-dir" /etc/apt/sources.list.d
echo "1..1"; echo "ok 1 - planted"
SH
chmod +x "$SCRATCH/suite/plant-apt.sh"
cat >"$SCRATCH/suite/repo.yaml" <<YAML
name: repo-link
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
packages: [alts-hello]
repositories:
  - name: escape
    url: "deb [trusted=yes] file:$repo ./"
checks:
  - script: {path: plant-apt.sh}
  - install
YAML
"$ALTS_RUN" --artifacts "$SCRATCH/art-repo" "$SCRATCH/suite/repo.yaml" >"$SCRATCH/repo.out" 2>&1
check "the repository file did not reach the host through a planted link" \
	bash -c "[ -z \"\$(ls -A '$SCRATCH/host-repo-dir')\" ]"

# git sources: cloned on the host as nobody (the checkout is nobody's), and a repository's link
# out of it (to the host's /etc/ssl) is refused rather than followed by the copy.
chmod 755 "$SCRATCH"
mkdir -p "$SCRATCH/gitrepo/t"
printf '#!/bin/sh\necho "1..1"\n[ "$(stat -c %%u "$0")" = 65534 ] && echo "ok 1 - cloned by nobody" || echo "not ok 1 - cloned by $(stat -c %%u "$0")"\n' \
	>"$SCRATCH/gitrepo/t/owner.sh"
chmod +x "$SCRATCH/gitrepo/t/owner.sh"
ln -s /etc/ssl "$SCRATCH/gitrepo/leak"
git -C "$SCRATCH/gitrepo" init -q && git -C "$SCRATCH/gitrepo" add -A &&
	git -C "$SCRATCH/gitrepo" -c user.email=t@example.invalid -c user.name=t commit -qm tests
cat >"$SCRATCH/suite/git.yaml" <<YAML
name: git
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
checks:
  - script: {git: {url: "$SCRATCH/gitrepo", path: t}}
  - script: {git: {url: "file://$SCRATCH/gitrepo", path: leak}}
YAML
"$ALTS_RUN" -v --artifacts "$SCRATCH/art-git" "$SCRATCH/suite/git.yaml" >"$SCRATCH/git.out" 2>&1
check "git: the clone was made by nobody" grep -q '| ok 1 - cloned by nobody' "$SCRATCH/git.out"
check "git: a link out of the repository is refused" grep -q "'leak' in the repository leads out of it" "$SCRATCH/git.out"
check "git: no clone folder is left in /tmp" bash -c "! ls -d /tmp/alts-clone-* 2>/dev/null | grep -q ."

# Limits: a check that hits one fails with the reason in its report.
cat >"$SCRATCH/suite/limits.yaml" <<YAML
name: limits
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
checks:
  - launch: {command: "dd if=/dev/zero of=/tmp/big bs=1M count=200", timeout: 60}
  - launch: {command: "sh -c 'head -c 600M /dev/zero | tail -c 500M >/dev/null'", timeout: 60}
  - launch: {command: "sh -c 'for i in \$(seq 400); do sleep 30 & done; wait'", timeout: 60}
YAML
"$ALTS_RUN" --artifacts "$SCRATCH/art-limits" --json "$SCRATCH/limits.json" "$SCRATCH/suite/limits.yaml" \
	>"$SCRATCH/limits.out" 2>&1; status=$?
check "limits: the suite fails (exit $status)" test "$status" -ne 0
check "limits: 'sandbox disk full (64 MiB)' is reported" grep -q 'sandbox disk full (64 MiB)' "$SCRATCH/limits.json"
check "limits: the memory limit is reported" grep -q 'sandbox memory limit (256 MiB)' "$SCRATCH/limits.json"
check "limits: the pids limit is reported" grep -q 'sandbox pids limit (256 processes)' "$SCRATCH/limits.json"
# The same limits from alts.yaml's keys (the environment variables win over them).
cat >"$SCRATCH/suite/disk.yaml" <<YAML
name: disk
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
checks:
  - launch: {command: "dd if=/dev/zero of=/tmp/big bs=1M count=100", timeout: 60}
YAML
printf 'sandbox_disk: 32M\nsandbox_pids: "128"\n' >"$SCRATCH/limits-config.yaml"
env -u ALTS_SANDBOX_DISK -u ALTS_SANDBOX_PIDS "$ALTS_RUN" --config "$SCRATCH/limits-config.yaml" \
	--artifacts "$SCRATCH/art-disk" --json "$SCRATCH/disk.json" "$SCRATCH/suite/disk.yaml" >"$SCRATCH/disk.out" 2>&1
check "limits: alts.yaml's sandbox_disk holds ('sandbox disk full (32 MiB)')" grep -q 'sandbox disk full (32 MiB)' "$SCRATCH/disk.json"
printf 'sandbox_pids: lots\n' >"$SCRATCH/bad-limits.yaml"
env -u ALTS_SANDBOX_PIDS "$ALTS_RUN" --config "$SCRATCH/bad-limits.yaml" --artifacts "$SCRATCH/art-bad" \
	"$SCRATCH/suite/disk.yaml" >"$SCRATCH/bad-limits.out" 2>&1
check "limits: a bad sandbox_pids is named in the error" grep -q "invalid sandbox_pids 'lots'" "$SCRATCH/bad-limits.out"

# Copy mode: a SIGKILLed alts-run takes its cp of the image with it.
cat >"$SCRATCH/suite/copy.yaml" <<YAML
name: copy
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
checks:
  - launch: {command: [true]}
YAML
ALTS_SANDBOX_MODE=copy "$ALTS_RUN" --artifacts "$SCRATCH/art-copy" "$SCRATCH/suite/copy.yaml" >/dev/null 2>&1 &
victim=$!
copying() { pgrep -f "[c]p -a --reflink=auto -- .* $ALTS_SANDBOX_DIR/" >/dev/null; }
for _ in $(seq 100); do copying && break; sleep 0.05; done
if copying; then
	kill -9 "$victim"; wait "$victim" 2>/dev/null
	for _ in $(seq 20); do copying || break; sleep 0.1; done
	check "copy mode: the cp of the image dies with alts-run" bash -c "! pgrep -f '[c]p -a --reflink=auto -- .* $ALTS_SANDBOX_DIR/'"
else
	wait "$victim" 2>/dev/null
	echo "# the copy ended before it could be caught; not checked"
fi
"$ALTS_IMAGE" sweep >/dev/null 2>&1

# The host afterwards.
check "host: the process the probe aimed at is alive" kill -0 "$host_pid"
kill "$host_pid" 2>/dev/null
check "host: /proc/sys/fs/lease-break-time unchanged" test "$(cat /proc/sys/fs/lease-break-time)" = "$lease"
check "host: core_pattern unchanged" test "$(cat /proc/sys/kernel/core_pattern)" = "$core"
check "host: host name unchanged" test "$(hostname)" = "$host_name"
check "host: /dev unchanged ($dev_count entries)" test "$(ls /dev | wc -l)" = "$dev_count"
check "host: the clock was not set back" test "$(date +%s)" -ge "$date_before"
check "host: no marker file under /etc" bash -c "! ls /etc/$marker* 2>/dev/null"
# Other tests may run sandboxes meanwhile (ctest -j): a cgroup new since the start counts
# as left behind only when no process is in it and it is still there 2 s later (a live
# sandbox always holds its PID 1; one being torn down is gone by then).
idle_new_cgroups() {
	local d
	comm -13 <(echo "$cgroups_before") <(ls -d /sys/fs/cgroup/*/alts/sb-* /sys/fs/cgroup/alts/sb-* 2>/dev/null | sort) |
		while read -r d; do
			# cgroup files have no size: read them. A booted sandbox's processes are in subgroups.
			[ -n "$d" ] && [ -d "$d" ] && [ -z "$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && echo "$d"
		done
}
left_cgroups() {
	local first
	first=$(idle_new_cgroups)
	[ -z "$first" ] && return 0
	sleep 2
	comm -12 <(echo "$first") <(idle_new_cgroups) | grep -q . && return 1
	return 0
}
check "host: no cgroup of ours is left" left_cgroups
check "host: nothing is left behind" no_leftovers
rm -rf "$ALTS_SANDBOX_DIR"
finish
