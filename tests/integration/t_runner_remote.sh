#!/usr/bin/env bash
# The ssh, command and docker runners through alts-run: the example suite on each, the reboot
# marker (the test sshd goes away and comes back, the runner waits and reconnects), leftover
# containers swept on start, and suite errors for the new environment keys.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/podman.sh"
need_sshd

# The example suite, with its environment replaced by ENV-YAML.
example_on() {  # example_on NAME ENV-YAML
	mkdir -p "$SCRATCH/ex"
	cp -r "$ALTS_SOURCE_DIR/examples/tests" "$SCRATCH/ex/" 2>/dev/null
	awk -v env="$2" '/^environment:/ { print "environment:"; print env; skip = 1; next }
		skip && /^  / { next } { skip = 0; print }' "$ALTS_SOURCE_DIR/examples/coreutils.yaml" >"$SCRATCH/ex/$1.yaml"
	echo "$SCRATCH/ex/$1.yaml"
}

sshd_start "$SCRATCH/sshd" || { bad "the test sshd starts"; finish; exit 1; }
ssh_env="  runner: ssh
  ssh:
    host: 127.0.0.1
    port: $SSHD_PORT
    user: root
    identity_file: $SSHD_KEY
    known_hosts: $SSHD_KNOWN_HOSTS"

suite=$(example_on coreutils-ssh "$ssh_env")
"$ALTS_RUN" --artifacts "$SCRATCH/art-ssh" --tap "$SCRATCH/ssh.tap" "$suite" >"$SCRATCH/ssh.out" 2>&1; status=$?
check "the example suite passes on the ssh runner (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/ssh.out" | tail -20

# Host key policy: an unknown key is refused with strict checking, accepted with accept-new.
: >"$SCRATCH/empty_known_hosts"
cat >"$SCRATCH/strict.yaml" <<YAML
name: strict
environment:
  runner: ssh
  ssh: {host: 127.0.0.1, port: $SSHD_PORT, user: root, identity_file: $SSHD_KEY,
        known_hosts: $SCRATCH/empty_known_hosts, strict_host_key_checking: "yes"}
checks: [launch: {command: [true]}]
YAML
"$ALTS_RUN" --artifacts "$SCRATCH/art-strict" "$SCRATCH/strict.yaml" >"$SCRATCH/strict.out" 2>&1; status=$?
check "an unknown host key is refused: environment failure (exit $status)" test "$status" -eq 3
check "the message says why" grep -qi "host key verification failed" "$SCRATCH/strict.out"
sed -i 's/strict_host_key_checking: "yes"/strict_host_key_checking: accept-new/' "$SCRATCH/strict.yaml"
"$ALTS_RUN" --artifacts "$SCRATCH/art-new" "$SCRATCH/strict.yaml" >"$SCRATCH/new.out" 2>&1; status=$?
check "accept-new takes the new key (exit $status)" test "$status" -eq 0
check "accept-new wrote it to known_hosts (hashed or not)" test -s "$SCRATCH/empty_known_hosts"

# The reboot marker: restart.sh takes every process of the test sshd away for 2 s.
sshd_restart_script "$SCRATCH/sshd"
cat >"$SCRATCH/reboot.yaml" <<YAML
name: reboot
environment:
$ssh_env
    reboot_command: [bash, $SCRATCH/sshd/restart.sh]
    reboot_timeout: 60
checks:
  - launch: {name: before, command: "echo before; echo '>>>VMRESTART<<<'"}
  - launch: {name: after, command: [cat, $SCRATCH/sshd/reboots], stdout: "^down$"}
YAML
start=$(date +%s)
"$ALTS_RUN" --artifacts "$SCRATCH/art-reboot" --tap "$SCRATCH/reboot.tap" "$SCRATCH/reboot.yaml" \
	>"$SCRATCH/reboot.out" 2>&1; status=$?
check "reboot marker: the host went away, came back, the next check ran on it (exit $status, $(( $(date +%s) - start )) s)" \
	test "$status" -eq 0
[ "$status" -eq 0 ] || { sed 's/^/# /' "$SCRATCH/reboot.out" | tail -20; sed 's/^/# sshd: /' "$SCRATCH/sshd/sshd.log" | tail; }
check "reboot marker: the server was restarted once" test "$(cat "$SCRATCH/sshd/reboots" 2>/dev/null)" = down
sshd_stop "$SCRATCH/sshd"

# The command runner on the example suite: the test provisioner starts a server and stops it.
prov=$ALTS_SOURCE_DIR/tests/integration/lib/provision-sshd.sh
suite=$(example_on coreutils-command "  runner: command
  command:
    create: [$prov, create, $SCRATCH/prov]
    destroy: [$prov, destroy, $SCRATCH/prov]")
"$ALTS_RUN" --artifacts "$SCRATCH/art-cmd" "$suite" >"$SCRATCH/cmd.out" 2>&1; status=$?
check "the example suite passes on the command runner (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/cmd.out" | tail -20
check "the provisioned server is destroyed" test -z "$(ls -A "$SCRATCH/prov" 2>/dev/null)"
cat >"$SCRATCH/badprov.yaml" <<YAML
name: badprov
environment:
  runner: command
  command:
    create: [sh, -c, "echo 'not json'; echo creating >&2"]
    destroy: [sh, -c, "cat >/dev/null; touch $SCRATCH/destroyed-\$ALTS_PROVISION_ID"]
checks: [launch: {command: [true]}]
YAML
"$ALTS_RUN" --artifacts "$SCRATCH/art-badprov" "$SCRATCH/badprov.yaml" >"$SCRATCH/badprov.out" 2>&1; status=$?
check "a provisioner that prints no JSON: environment failure (exit $status)" test "$status" -eq 3
check "... and destroy still runs, with ALTS_PROVISION_ID" bash -c "ls $SCRATCH/destroyed-alts-* >/dev/null"

# Suite errors name the key.
printf 'environment: {runner: ssh}\nchecks: [launch: {command: [true]}]\n' >"$SCRATCH/e1.yaml"
printf 'environment: {ssh: {host: "-oProxyCommand=x"}}\nchecks: [launch: {command: [true]}]\n' >"$SCRATCH/e2.yaml"
printf 'environment: {ssh: {host: h, strict_host_key_checking: maybe}}\nchecks: [launch: {command: [true]}]\n' >"$SCRATCH/e3.yaml"
printf 'environment: {docker: {url: "ftp://x"}}\nchecks: [launch: {command: [true]}]\n' >"$SCRATCH/e4.yaml"
printf 'environment: {command: {destroy: [x]}}\nchecks: [launch: {command: [true]}]\n' >"$SCRATCH/e5.yaml"
for e in 1:"needs 'ssh: {host" 2:"must not start with '-'" 3:"unknown host key checking mode 'maybe'" \
	4:"is not a docker URL" 5:"missing required key 'create'"; do
	n=${e%%:*} want=${e#*:}
	out=$("$ALTS_RUN" --validate "$SCRATCH/e$n.yaml" 2>&1); status=$?
	check "invalid suite $n: exit 2 and '$want' ($out)" bash -c '[ "$1" -eq 2 ] && grep -qF -- "$2" <<<"$3"' _ "$status" "$want" "$out"
done

# docker: the example suite on podman's service, and leftovers of a dead alts-run are swept.
if ! command -v podman >/dev/null 2>&1; then
	echo "ok - # SKIP docker: needs:podman"
elif podman_start; then
	dead="$(hostname):99999999:1"
	curl -s --unix-socket "$PODMAN_SOCK" -H 'Content-Type: application/json' \
		-d "{\"Image\":\"$PODMAN_IMAGE\",\"Cmd\":[\"true\"],\"Labels\":{\"alts.managed\":\"1\",\"alts.owner\":\"$dead\"}}" \
		"http://d/v1.41/containers/create?name=alts-leftover-$$" >/dev/null
	check "a leftover container exists before the run" bash -c "podman_api() { curl -s --unix-socket '$PODMAN_SOCK' \"http://d/v1.41\$1\"; }; podman_api /containers/alts-leftover-$$/json | grep -q '\"Id\"'"
	suite=$(example_on coreutils-docker "  runner: docker
  docker: {url: \"unix://$PODMAN_SOCK\", image: \"$PODMAN_IMAGE\"}")
	"$ALTS_RUN" --artifacts "$SCRATCH/art-docker" "$suite" >"$SCRATCH/docker.out" 2>&1; status=$?
	check "the example suite passes on the docker runner (exit $status)" test "$status" -eq 0
	[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/docker.out" | tail -20
	check "the leftover of a dead alts-run was removed" bash -c "! curl -s --unix-socket '$PODMAN_SOCK' http://d/v1.41/containers/alts-leftover-$$/json | grep -q '\"Id\"'"
	check "no container of this run is left" test "$(podman_alts_containers | grep -c coreutils)" = 0
	podman_stop
else
	bad "docker: podman's API service runs containers here (see the lines above)"
fi
finish
