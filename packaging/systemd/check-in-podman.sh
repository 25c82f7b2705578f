#!/usr/bin/env bash
# Starts alts's systemd units for real: systemd 252 as PID 1 in a podman container made from
# the cached debian-12 image, the .debs installed in it, RabbitMQ on the host's loopback.
# Run by hand (not in CI: it needs podman and a few minutes the first time), as root:
#
#   packaging/systemd/check-in-podman.sh DEBDIR     # DEBDIR has alts_*.deb, alts-scheduler_*.deb, alts-worker_*.deb
#
# Checks (TAP-like lines, exit 1 on a failure):
#   1. installing the packages starts no unit
#   2. alts-scheduler.service starts and is active (Type=notify: READY=1 came once it listened)
#   3. it runs as the user alts, with no capabilities and no_new_privs
#   4. GET /health answers 200 through the unit's listen_port
#   5. systemctl reload keeps it running (same PID) and it logs the config check
#   6. alts-worker@local-x86_64-0.service starts and is active (READY=1 once it consumes)
#   7. a task submitted with alts-submit runs on that worker and passes
#   8. systemctl reload alts-worker@... reloads its config (same PID, config.reloaded logged)
#   9. both stop cleanly on systemctl stop (inactive, Result=success)
#  10. a unit without /etc/alts/farm.yaml does not start (ConditionPathExists)
#
# Last run (2026-12-04, podman 4.3.1, systemd 252.39 in the container, the .debs of this tree):
# 10/10 passed, about 3 minutes with the images made before.
set -u
DEBDIR=${1:?usage: check-in-podman.sh DEBDIR}
DEBDIR=$(cd "$DEBDIR" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
ROOTFS=${ALTS_IMAGE_CACHE:-/var/cache/alts/images}/debian-12/rootfs
BASE=localhost/alts-systemd-check:base
SYSD=localhost/alts-systemd-check:systemd
NAME=alts-systemd-check-$$
WORK=$(mktemp -d /tmp/alts-systemd-check-XXXXXX)
PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok $((PASSED + FAILED)) - $*"; }
bad() { FAILED=$((FAILED + 1)); echo "not ok $((PASSED + FAILED)) - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
in_ct() { podman exec -i "$NAME" "$@"; }
# Podman asks for more open files than a container host may allow ("error setting rlimit type 7"): ask for our own limit.
RUN_OPTS=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)

cleanup() {
	podman rm -f -t 5 "$NAME" "$NAME-build" >/dev/null 2>&1
	[ -n "${RABBITMQ_TEST_PORT:-}" ] && rabbitmq_stop >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

for c in podman curl; do command -v "$c" >/dev/null || { echo "needs $c"; exit 77; }; done
[ -d "$ROOTFS" ] || { echo "no debian-12 image: alts-image build debian-12"; exit 77; }
ls "$DEBDIR"/alts_*.deb "$DEBDIR"/alts-scheduler_*.deb "$DEBDIR"/alts-worker_*.deb >/dev/null || exit 2

# ---- images: the cached rootfs imported once, systemd added once ----
if ! podman image exists "$BASE"; then
	tar -C "$ROOTFS" -c . | podman import - "$BASE" >/dev/null || exit 1
fi
if ! podman image exists "$SYSD"; then
	podman run --name "$NAME-build" --network=host "${RUN_OPTS[@]}" "$BASE" sh -c \
		'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd systemd-sysv dbus curl' \
		>"$WORK/build.log" 2>&1 || { tail "$WORK/build.log"; exit 1; }
	podman commit -q -c 'CMD ["/sbin/init"]' "$NAME-build" "$SYSD" >/dev/null
	podman rm "$NAME-build" >/dev/null
fi

# ---- the broker on the host's loopback; the container shares the host's network ----
export ALTS_SOURCE_DIR=$SRC
. "$SRC/tests/integration/lib/rabbitmq.sh"
rabbitmq_start "$WORK/rmq" >/dev/null || { echo "rabbitmq does not start"; exit 1; }
port=$(free_port)

podman run -d --name "$NAME" --systemd=always --network=host --privileged "${RUN_OPTS[@]}" \
	-v "$DEBDIR:/debs:ro" "$SYSD" /sbin/init >/dev/null || exit 1
for _ in $(seq 1 60); do
	state=$(in_ct systemctl is-system-running 2>/dev/null)
	case $state in running|degraded) break ;; esac
	sleep 1
done
echo "# systemd in the container: $(in_ct systemctl --version | head -1) ($state)"
in_ct sh -c 'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /debs/alts_*.deb /debs/alts-scheduler_*.deb /debs/alts-worker_*.deb' \
	>"$WORK/install.log" 2>&1 || { tail -20 "$WORK/install.log"; exit 1; }
check "no unit was started by the install" bash -c '! podman exec "$1" systemctl is-active -q alts-scheduler' _ "$NAME"

in_ct sh -c "cat >/etc/alts/farm.yaml" <<YAML
rabbitmq_host: 127.0.0.1
rabbitmq_port: $RABBITMQ_TEST_PORT
rabbitmq_user: guest
rabbitmq_password: guest
rabbitmq_vhost: /
results_queue: alts-results
jwt_secret_file: /etc/alts/jwt_secret
working_directory: /var/lib/alts
listen_address: 127.0.0.1
listen_port: $port
supported_runners: [local]
supported_architectures: [x86_64]
supported_distributions: [debian]
worker_concurrency: 1
worker_grace_period: 10s
YAML

# 1-4: the scheduler
in_ct systemctl start alts-scheduler
check "alts-scheduler.service is active after start (Type=notify)" \
	bash -c '[ "$(podman exec "$1" systemctl show -P ActiveState alts-scheduler)" = active ]' _ "$NAME"
pid=$(in_ct systemctl show -P MainPID alts-scheduler)
check "it runs as alts with no capabilities and no_new_privs" bash -c \
	'podman exec "$1" sh -c "ps -o user= -p $2 | grep -qx alts && grep -q \"^CapEff:.0000000000000000\" /proc/$2/status && grep -q \"^NoNewPrivs:.1\" /proc/$2/status"' \
	_ "$NAME" "$pid"
check "GET /health answers 200" bash -c \
	'[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$1/health")" = 200 ]' _ "$port"
in_ct systemctl reload alts-scheduler
sleep 1
check "systemctl reload keeps the scheduler (same PID) and it checks the config" bash -c \
	'[ "$(podman exec "$1" systemctl show -P MainPID alts-scheduler)" = "$2" ] &&
	 podman exec "$1" journalctl -u alts-scheduler --no-pager | grep -q "SIGHUP: .*loads"' _ "$NAME" "$pid"

# 5-7: a worker and a task
in_ct systemctl start alts-worker@local-x86_64-0
check "alts-worker@local-x86_64-0.service is active after start (Type=notify)" \
	bash -c '[ "$(podman exec "$1" systemctl show -P ActiveState alts-worker@local-x86_64-0)" = active ]' _ "$NAME"
in_ct sh -c 'mkdir -p /root/t && cat >/root/t/echo.yaml' <<'YAML'
name: echo under systemd
environment:
  runner: local
checks:
  - launch:
      command: [echo, hello from the worker unit]
      stdout: "^hello from the worker unit$"
YAML
check "a task submitted to the scheduler passes on the worker" podman exec "$NAME" sh -c \
	"ALTS_TOKEN=\$(alts-token -c /etc/alts/farm.yaml -e check@example.com) alts-submit --url http://127.0.0.1:$port \
	 --runner local --arch x86_64 --timeout 120 -o /root/t/out /root/t/echo.yaml >/root/t/submit.log 2>&1"
wpid=$(in_ct systemctl show -P MainPID alts-worker@local-x86_64-0)
in_ct systemctl reload alts-worker@local-x86_64-0
sleep 2
check "systemctl reload reloads the worker's config (same PID)" bash -c \
	'[ "$(podman exec "$1" systemctl show -P MainPID alts-worker@local-x86_64-0)" = "$2" ] &&
	 podman exec "$1" journalctl -u alts-worker@local-x86_64-0 --no-pager | grep -q config.reloaded' _ "$NAME" "$wpid"

# 8-9: stop; no config, no start
in_ct systemctl stop alts-worker@local-x86_64-0 alts-scheduler
check "both stop cleanly" bash -c \
	'for u in alts-scheduler alts-worker@local-x86_64-0; do
	   [ "$(podman exec "$1" systemctl show -P ActiveState $u)" = inactive ] &&
	   [ "$(podman exec "$1" systemctl show -P Result $u)" = success ] || exit 1; done' _ "$NAME"
in_ct mv /etc/alts/farm.yaml /etc/alts/farm.yaml.off
in_ct systemctl start alts-scheduler
check "without /etc/alts/farm.yaml the scheduler does not start" bash -c \
	'[ "$(podman exec "$1" systemctl show -P ActiveState alts-scheduler)" = inactive ] &&
	 [ "$(podman exec "$1" systemctl show -P ConditionResult alts-scheduler)" = no ]' _ "$NAME"

if [ "$FAILED" -gt 0 ]; then
	echo "--- journal"; in_ct journalctl -u alts-scheduler -u 'alts-worker@*' --no-pager | tail -40
	in_ct cat /root/t/submit.log 2>/dev/null | tail -20
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
