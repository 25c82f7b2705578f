#!/usr/bin/env bash
# Services in a sandbox (debian-12, no init system): by default invoke-rc.d blocks every start
# ("policy-rc.d missing! Defaulting to block"), so a package's daemon does not run after
# install; install {start_services: true} lets it start; launch {service: X} fails at once when
# the start command fails, with its exit status and stderr, instead of waiting for the service.
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd dpkg-deb dpkg-scanpackages
ensure_image
build=$ALTS_SOURCE_DIR/tests/fixtures/pkgs/build-life.sh
repo=$SCRATCH/repo
sh "$build" deb "$repo" alts-svc 1.0 service >/dev/null
sh "$build" deb "$repo" alts-broken 1.0 broken-service >/dev/null
make_repo "$repo"

cat >"$SCRATCH/started.yaml" <<YAML
name: started
environment: {runner: sandbox, image: $IMAGE}
packages: [alts-svc, alts-broken]
repositories: [{name: local, url: $repo}]
checks:
  - install: {start_services: true}
  - launch: {name: the daemon runs, command: [pgrep, -x, alts-svcd]}
  - launch: {name: restart, command: [/etc/init.d/alts-svc, restart], service: alts-svcd}
  - launch: {name: broken start, command: [/etc/init.d/alts-broken, start], service: alts-brokend, service_timeout: 30}
YAML
cat >"$SCRATCH/blocked.yaml" <<YAML
name: blocked
environment: {runner: sandbox, image: $IMAGE}
packages: [alts-svc]
repositories: [{name: local, url: $repo}]
checks:
  - install
  - launch: {name: the daemon does not run, command: [pgrep, -x, alts-svcd], exit_code: 1}
YAML
"$ALTS_RUN" --tap "$SCRATCH/started.tap" "$SCRATCH/started.yaml" >"$SCRATCH/started.out" 2>&1; status=$?
check "started: exit 1 (the broken service) (exit $status)" test "$status" -eq 1
tap=$SCRATCH/started.tap
check "start_services: the daemon runs after install" grep -q "^ok 2 - the daemon runs" "$tap"
check "start_services: the policy is written" grep -q "start_services: /usr/sbin/policy-rc.d lets services start" "$tap"
check "a service restart passes" grep -q "^ok 3 - restart" "$tap"
check "a broken start fails" grep -q "^not ok 4 - broken start" "$tap"
check "a broken start: exit status and stderr are named" \
	grep -q "service 'alts-brokend' failed to start (exit 1): alts-brokend: cannot bind port 80: Address already in use" "$tap"
ms=$(sed -n '/^not ok 4 - broken start/,/\.\.\./s/^ *duration_ms: //p' "$tap" | head -1)
check "a broken start fails at once, not after service_timeout (${ms:-?} ms)" test "${ms:-99999}" -lt 20000
[ "$status" -eq 1 ] || sed 's/^/# /' "$SCRATCH/started.out"
"$ALTS_RUN" --tap "$SCRATCH/blocked.tap" "$SCRATCH/blocked.yaml" >"$SCRATCH/blocked.out" 2>&1; status=$?
check "without start_services the start is blocked, as documented (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/blocked.out"
[ -n "${KEEP:-}" ] && cp -r "$SCRATCH" "$KEEP"
check "nothing is left behind" no_leftovers
finish
