#!/usr/bin/env bash
# The shared runner conformance test (tests/tools/runner_conformance.c) for every runner: exit
# codes, signals, timeouts that kill the process group, 8 MiB on both streams, env and argv
# intact, cwd, stdin, binary-safe copies; then what must be gone after the teardown. A runner
# whose needs are missing here is reported as skipped with the reason.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/podman.sh"
TOOL=${ALTS_BUILD_DIR:-$(dirname "$ALTS_RUN")}/tests/runner_conformance
[ -x "$TOOL" ] || TOOL=$(dirname "$ALTS_RUN")/tests/runner_conformance
[ -x "$TOOL" ] || { bad "runner_conformance is built ($TOOL)"; finish; exit 1; }
ONLY=${CONFORMANCE_RUNNERS:-local sandbox ssh command docker}
export ALTS_SANDBOX_DIR=$SCRATCH/sandboxes
export ALTS_IMAGE_CACHE=${ALTS_TEST_IMAGE_CACHE:-/var/cache/alts/images}

skip() { echo "ok - # SKIP $*"; }

# The timeout case's sleeps carry this run's mark ("sleep 3141.MARK"): another copy of this test
# running at the same time has its own, so its sleeps are not taken for ours.
MARK=$$$RANDOM
no_markers() { ! pgrep -f "sleep 314[12]\\.$MARK( |\$)" >/dev/null; }

# conform NAME SUITE: runs the tool, counts its TAP lines into ours, leaves its output in $SCRATCH/NAME.out.
conform() {
	local name=$1 suite=$2 status
	mkdir -p "$SCRATCH/$name" "$SCRATCH/t"
	# A TMPDIR of its own: the ssh runner's control socket, told apart from other tests' (short: a socket path).
	TMPDIR=$SCRATCH/t timeout 600 "$TOOL" "$name" "$suite" "$SCRATCH/$name" "$MARK" >"$SCRATCH/$name.out" 2>"$SCRATCH/$name.err"; status=$?
	sed -n 's/^\(ok\|not ok\) [0-9]* - /\1 - '"$name"': /p; /^#/p; /^Bail out/p' "$SCRATCH/$name.out" | while IFS= read -r line; do
		echo "$line"
	done
	PASSED=$((PASSED + $(grep -c '^ok ' "$SCRATCH/$name.out")))
	FAILED=$((FAILED + $(grep -c '^not ok ' "$SCRATCH/$name.out")))
	check "$name: the conformance tool ends with status 0 (got $status)" test "$status" -eq 0
	[ "$status" -eq 0 ] || sed 's/^/# stderr: /' "$SCRATCH/$name.err" | tail -20
	WORKDIR=$(sed -n 's/^# workdir: //p' "$SCRATCH/$name.out")
	check "$name: no process of the timed-out group is left" no_markers
}

suite_file() {  # suite_file NAME ENVIRONMENT-YAML
	printf 'name: conformance-%s\nenvironment:\n%s\nenv: {ALTS_SUITE_VAR: "from the suite"}\nchecks: [launch: {command: [true]}]\n' \
		"$1" "$2" >"$SCRATCH/$1.yaml"
	echo "$SCRATCH/$1.yaml"
}

for runner in $ONLY; do
	case $runner in
	local)
		conform local "$(suite_file local '  runner: local')"
		check "local: the work directory is gone" test -n "$WORKDIR" -a ! -e "$WORKDIR"
		;;
	sandbox)
		if [ "$(id -u)" != 0 ]; then skip "sandbox: needs:root"; continue; fi
		if [ ! -d "$ALTS_IMAGE_CACHE/debian-12/rootfs" ]; then skip "sandbox: needs the cached image debian-12"; continue; fi
		conform sandbox "$(suite_file sandbox '  runner: sandbox
  image: debian-12')"
		left=$(find "$ALTS_SANDBOX_DIR" -mindepth 1 -maxdepth 1 -name 'sb-*' 2>/dev/null)
		check "sandbox: no sandbox directory is left ($left)" test -z "$left"
		check "sandbox: no mount is left" bash -c "! grep -q '$ALTS_SANDBOX_DIR' /proc/self/mountinfo"
		;;
	ssh|command)
		if [ "$(id -u)" != 0 ] || [ ! -x "$SSHD_BIN" ] || ! command -v ssh >/dev/null; then
			skip "$runner: needs root, sshd and ssh (apt: openssh-server openssh-client)"; continue
		fi
		if [ "$runner" = ssh ]; then
			sshd_start "$SCRATCH/sshd" || { bad "ssh: the test sshd starts"; continue; }
			conform ssh "$(suite_file ssh "  runner: ssh
  ssh:
    host: 127.0.0.1
    port: $SSHD_PORT
    user: root
    identity_file: $SSHD_KEY
    known_hosts: $SSHD_KNOWN_HOSTS
    strict_host_key_checking: \"yes\"
    connect_timeout: 10")"
			sshd_stop "$SCRATCH/sshd"
		else
			conform command "$(suite_file command "  runner: command
  command:
    create: [$ALTS_SOURCE_DIR/tests/integration/lib/provision-sshd.sh, create, $SCRATCH/prov]
    destroy: [$ALTS_SOURCE_DIR/tests/integration/lib/provision-sshd.sh, destroy, $SCRATCH/prov]")"
			left=$(find "$SCRATCH/prov" -mindepth 1 -maxdepth 1 2>/dev/null)
			check "command: destroy ran (the provisioned server is gone: '$left')" test -z "$left"
		fi
		check "$runner: the remote work directory is gone" test -n "$WORKDIR" -a ! -e "$(dirname "$WORKDIR")"
		check "$runner: no ssh master connection is left" bash -c "! pgrep -f '$SCRATCH/t/alts-ssh-.*[m]ux' >/dev/null"
		;;
	docker)
		if [ "$(id -u)" != 0 ] || ! command -v podman >/dev/null || ! command -v curl >/dev/null; then
			skip "docker: needs root, podman and curl (apt: podman curl)"; continue
		fi
		if [ ! -d "$PODMAN_ROOTFS" ] && ! podman image exists "$PODMAN_IMAGE" 2>/dev/null; then
			skip "docker: needs the cached image debian-12 to import"; continue
		fi
		podman_start || { bad "docker: podman's API service runs containers here (see the lines above)"; continue; }
		echo "# podman service on $PODMAN_SOCK${PODMAN_RUNTIME:+, runtime $PODMAN_RUNTIME}"
		conform docker "$(suite_file docker "  runner: docker
  docker: {url: \"unix://$PODMAN_SOCK\", image: \"$PODMAN_IMAGE\"}")"
		check "docker: the container is removed" test "$(podman_alts_containers | grep -c "conformance-docker")" = 0
		podman_stop
		;;
	esac
done
finish
