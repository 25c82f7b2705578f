#!/usr/bin/env bash
# Ansible playbooks as third-party tests (script check, .yml/.yaml) with the real
# ansible-playbook in a sandbox: a Debian 12 image with ansible-core (built once as
# debian-12-ansible, reused: installing it into the plain image from the mirror takes ~45 s a
# run, see bench/ansible_install.sh). A test directory like ALTS's: 0_init.yml runs first and
# leaves a file in the environment; 10_check.yaml reads it with a *lookup* (which runs on the
# controller: it passes only because the controller is the environment), runs a
# delegate_to: localhost task and sees the suite's env; a failing playbook fails the check with
# ansible's exit status and its TASK output in the log; a shell script beside them still runs.
# Nothing the playbooks did reaches the host.
. "$(dirname "$0")/lib/sandbox.sh"
IMAGE=debian-12-ansible
fails() { ! "$@"; }
# python3-cffi-backend: debootstrap does not resolve the virtual package python3-cryptography needs.
ensure_image "$IMAGE" --dist debian-12 --include ansible-core,python3-cffi-backend

tag=alts-ansible-$$-$RANDOM
mkdir -p "$SCRATCH/suite/plays"
cat >"$SCRATCH/suite/plays/0_init.yml" <<YAML
- hosts: all
  gather_facts: false
  tasks:
    - name: leave a file in the environment
      copy: {dest: /tmp/$tag, content: "made by 0_init\n"}
YAML
cat >"$SCRATCH/suite/plays/10_check.yaml" <<YAML
- hosts: all
  gather_facts: false
  tasks:
    - name: the controller reads the file 0_init made (a lookup runs on the controller)
      assert:
        that: ["lookup('file', '/tmp/$tag') == 'made by 0_init'"]
    - name: delegate_to localhost writes inside the environment too
      shell: echo delegated > /tmp/$tag.delegated
      delegate_to: localhost
    - name: the suite's env reaches the playbook
      assert:
        that: ["lookup('env', 'ALTS_TEST_GREETING') == 'hello-ansible'", "lookup('file', '/etc/debian_version') is match('12')"]
YAML
cat >"$SCRATCH/suite/plays/20_fails.yml" <<'YAML'
- hosts: all
  gather_facts: false
  tasks:
    - name: a test that fails
      command: sh -c "echo the-broken-part >&2; exit 4"
YAML
printf 'test -f /tmp/%s.delegated && echo shell-sees-delegated\n' "$tag" >"$SCRATCH/suite/plays/30_after.sh"
cat >"$SCRATCH/suite/s.yaml" <<YAML
name: ansible
environment: {runner: sandbox, image: $IMAGE}
env: {ALTS_TEST_GREETING: hello-ansible}
checks:
  - script: {name: playbooks, path: plays}
YAML
start=$(date +%s%N)
"$ALTS_RUN" --artifacts "$SCRATCH/art" --tap "$SCRATCH/s.tap" --json "$SCRATCH/s.json" "$SCRATCH/suite/s.yaml" \
	>"$SCRATCH/out" 2>&1
status=$?
echo "# the suite took $(( ($(date +%s%N) - start) / 1000000 )) ms"
log=$SCRATCH/art/ansible/logs/01-playbooks.log
check "the suite fails, because of one playbook (exit $status)" [ "$status" = 1 ]
msg=$(jq -r '.. | objects | select(.name? == "playbooks") | .message' "$SCRATCH/s.json" 2>/dev/null | head -1)
check "the message names it and ansible's exit status ($msg)" [ "$msg" = "1 of 4 scripts failed: '20_fails.yml' (exit 2)" ]
sub() { jq -r --arg n "$1" '.. | objects | select(.name? == $n) | .status' "$SCRATCH/s.json" 2>/dev/null | head -1; }
check "0_init.yml passes" [ "$(sub 0_init.yml)" = pass ]
check "10_check.yaml passes: lookups and delegate_to ran in the environment, env reached it" [ "$(sub 10_check.yaml)" = pass ]
check "20_fails.yml fails" [ "$(sub 20_fails.yml)" = fail ]
check "the shell script beside them ran and saw the delegated task's file" [ "$(sub 30_after.sh)" = pass ] &&
	grep -q shell-sees-delegated "$log"
check "0_init.yml ran first" [ "$(grep -o 'alts: running [^ ]*' "$log" | head -1)" = "alts: running 0_init.yml" ]
check "the log has ansible's output: the failing TASK and its stderr" \
	grep -q 'TASK \[a test that fails\]' "$log" && grep -q the-broken-part "$log" && grep -q 'PLAY RECAP' "$log"
check "ansible ran inside (-c local against localhost)" grep -q "ansible-playbook -i localhost, -c local" "$log"
check "no colours in the log" fails grep -q $'\e\[' "$log"
check "nothing the playbooks wrote reached the host" [ ! -e "/tmp/$tag" ] && [ ! -e "/tmp/$tag.delegated" ]
check "no sandbox is left" no_leftovers
[ "$FAILED" = 0 ] || sed 's/^/# /' "$SCRATCH/out" | tail -30
finish
