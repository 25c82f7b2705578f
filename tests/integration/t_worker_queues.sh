#!/usr/bin/env bash
# Queues by distribution (distribution_queues: true, docs/worker.md) against a real
# rabbitmq-server, the real scheduler and a real worker running sandbox tasks:
#   1. a worker given no queues, whose image cache holds debian-12 and debian-12-rpm, consumes
#      exactly sandbox-x86_64-0.debian-12 and sandbox-x86_64-0.debian-12-rpm (rabbitmqctl)
#   2. a task for each image runs there (the rpm image has rpm, the other has not)
#   3. a task for almalinux-9 waits in its durable queue and the scheduler's status routes say
#      "no worker consumes queue 'sandbox-x86_64-0.almalinux-9'"
#   4. a queue for an architecture this host cannot run is refused at start (exit 2), unless a
#      binfmt_misc handler for it is enabled (a handler directory made by the test)
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/sandbox.sh"
source "$(dirname "$0")/lib/scheduler.sh"
source "$(dirname "$0")/lib/rabbitmq.sh"
source "$(dirname "$0")/lib/worker.sh"
need_cmd curl jq
[ -x "$RABBITMQ_BIN/rabbitmq-server" ] || skip_test "needs:rabbitmq-server (not installed)"
[ "$(uname -m)" = x86_64 ] || skip_test "needs:x86_64 (the test's foreign architecture is s390x)"
cleanup() {
	workers_kill_all
	sched_stop
	rabbitmq_stop
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

ensure_image debian-12
ensure_image debian-12-rpm --dist debian-12 \
	--include debsums,procps,bats,binutils,ca-certificates,rpm,dnf,createrepo-c
# The worker's own cache: the two shared images, linked (never written: sandboxes only read them).
PRIVATE_CACHE=$SCRATCH/images
mkdir -p "$PRIVATE_CACHE"
ln -s "$ALTS_IMAGE_CACHE/debian-12" "$ALTS_IMAGE_CACHE/debian-12-rpm" "$PRIVATE_CACHE/"

rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server starts"; finish; exit 1; }
ok "rabbitmq-server listens on 127.0.0.1:$RABBITMQ_TEST_PORT"
rmqctl() { "$RABBITMQ_BIN/rabbitmqctl" -n "$RABBITMQ_TEST_NODE" -q "$@"; }
worker_config "$SCRATCH/config.yaml" "supported_runners: [sandbox]
distribution_queues: true"
sed -i '/^worker_queues:/d' "$SCRATCH/config.yaml"
sched_start "$SCRATCH/config.yaml" --log-level info || { bad "scheduler starts"; finish; exit 1; }
AUTH="Authorization: Bearer $("$ALTS_TOKEN_BIN" -s worker-test-secret -e it@example.com)"

# 1. The worker's queues come from its images.
ALTS_IMAGE_CACHE=$PRIVATE_CACHE worker_start "$SCRATCH/config.yaml" --log-level info ||
	{ bad "worker starts"; dump_logs; finish; exit 1; }
WORKER_PIDS+=("$WORKER_PID")
consumed=$(rmqctl list_consumers queue_name | awk '/^sandbox-/ {print $1}' | sort | tr '\n' ' ')
check "the worker consumes exactly its images' queues ($consumed)" \
	[ "$consumed" = "sandbox-x86_64-0.debian-12 sandbox-x86_64-0.debian-12-rpm " ]
check "its start log names them" \
	grep -q 'queues=sandbox-x86_64-0.debian-12,sandbox-x86_64-0.debian-12-rpm' "$WORKER_LOG"

# 2. A task for each image runs in it.
submit_image() {
	local r
	r=$(curl_json POST /tasks/schedule "{\"runner_type\":\"sandbox\",\"suite\":{\"name\":\"in-$1\",\"environment\":{\"runner\":\"sandbox\",\"image\":\"$1\",\"dist_arch\":\"x86_64\"},\"checks\":[{\"launch\":{\"name\":\"probe\",\"command\":$2}}]}}" -H "$AUTH")
	[ "${r%% *}" = 201 ] || { echo "submit failed: $r" >&2; return 1; }
	jq -r .task_id <<<"${r#* }"
}
t12=$(submit_image debian-12 '["sh","-c","test -f /etc/debian_version && ! command -v rpm"]')
trpm=$(submit_image debian-12-rpm '["rpm","--version"]')
r12=$(wait_result "$t12" 60) || dump_logs
rrpm=$(wait_result "$trpm" 60) || dump_logs
check "the debian-12 task ran there ($(jq -c '{state, success: .result.success}' <<<"$r12"))" \
	[ "$(jq -c '[.state, .result.success, .queue]' <<<"$r12")" = '["finished",true,"sandbox-x86_64-0.debian-12"]' ]
check "the debian-12-rpm task ran there ($(jq -c '{state, success: .result.success}' <<<"$rrpm"))" \
	[ "$(jq -c '[.state, .result.success, .queue]' <<<"$rrpm")" = '["finished",true,"sandbox-x86_64-0.debian-12-rpm"]' ]

# 3. A task for a distribution no worker serves waits, and says why.
r=$(curl_json POST /tasks/schedule '{"runner_type":"sandbox","dist_name":"almalinux","dist_version":"9","dist_arch":"x86_64","package_name":"bash","repositories":[]}' -H "$AUTH")
check "an almalinux-9 task is accepted (${r%% *})" [ "${r%% *}" = 201 ]
talma=$(jq -r .task_id <<<"${r#* }")
for _ in $(seq 1 50); do [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$talma" | jq -r .published)" = true ] && break; sleep 0.1; done
reason="no worker consumes queue 'sandbox-x86_64-0.almalinux-9'"
r=$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$talma/result")
check "GET /tasks/{id}/result: queued, with the reason, ALTS's keys kept ($r)" \
	[ "$(jq -c '[.state, .api_version, .result, .queue, .consumers, .reason]' <<<"$r")" = "[\"queued\",\"20210512\",null,\"sandbox-x86_64-0.almalinux-9\",0,\"$reason\"]" ]
check "GET /tasks/{id} says the same" \
	[ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$talma" | jq -r .reason)" = "$reason" ]
check "GET /tasks?state=queued lists it with the reason" \
	[ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks?state=queued" | jq -r --arg id "$talma" '.tasks[] | select(.task_id == $id) | .reason')" = "$reason" ]
check "a finished task has no reason" [ "$(jq -r 'has("reason")' <<<"$r12")" = false ]
waiting=$(rmqctl list_queues name messages durable | awk '$1 == "sandbox-x86_64-0.almalinux-9" {print $2, $3}')
check "the task waits in its durable queue ($waiting)" [ "$waiting" = "1 true" ]
worker_stop
sleep 0.5
# With no worker at all, the images' queues are reported as unserved too (the probe's cache is 1 s).
t12b=$(submit_image debian-12 '["true"]')
sleep 1.2
check "a debian-12 task now waits too" \
	[ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$t12b/result" | jq -r .reason)" = "no worker consumes queue 'sandbox-x86_64-0.debian-12'" ]
ALTS_IMAGE_CACHE=$PRIVATE_CACHE worker_start "$SCRATCH/config.yaml" --log-level info ||
	{ bad "worker restarts"; dump_logs; }
WORKER_PIDS+=("$WORKER_PID")
r=$(wait_result "$t12b" 60) || dump_logs
check "... and runs when a worker for it comes back" [ "$(jq -r .state <<<"$r")" = finished ]
sleep 1.1
check "almalinux-9 still waits" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$talma" | jq -c '[.state, .reason]')" = "[\"queued\",\"$reason\"]" ]
worker_stop

# 4. Architectures the host cannot run.
if [ -e /proc/sys/fs/binfmt_misc/qemu-s390x ]; then
	ok "# SKIP this host has a binfmt handler for s390x: the refusal cannot be shown"
else
	"$ALTS_WORKER" -c "$SCRATCH/config.yaml" --queues sandbox-x86_64-0.debian-12,sandbox-s390x-0.debian-12 \
		>/dev/null 2>"$SCRATCH/err"
	rc=$?
	check "a queue for s390x is refused: exit $rc ($(head -1 "$SCRATCH/err"))" \
		bash -c "[ $rc = 2 ] && grep -q \"queue 'sandbox-s390x-0.debian-12': architecture s390x refused: this x86_64 host cannot run s390x programs: no qemu-user binfmt handler 'qemu-s390x' is registered\" '$SCRATCH/err'"
	mkdir -p "$SCRATCH/binfmt"
	printf 'enabled\ninterpreter /usr/libexec/qemu-binfmt/s390x-binfmt-P\nflags: POCF\n' >"$SCRATCH/binfmt/qemu-s390x"
	ALTS_BINFMT_DIR=$SCRATCH/binfmt worker_start "$SCRATCH/config.yaml" --queues sandbox-s390x-0.debian-12 &&
		WORKER_PIDS+=("$WORKER_PID")
	check "... and consumed when a qemu-s390x handler is enabled" \
		bash -c "rmqctl() { '$RABBITMQ_BIN/rabbitmqctl' -n '$RABBITMQ_TEST_NODE' -q \"\$@\"; }; rmqctl list_consumers queue_name | grep -qx sandbox-s390x-0.debian-12"
	worker_stop
fi
# An s390x image in the cache is left out, with a warning, not a refusal.
mkdir -p "$PRIVATE_CACHE/almalinux-9-s390x/rootfs"
printf '{"name":"almalinux-9-s390x","dist_name":"almalinux","dist_version":"9","arch":"s390x"}\n' \
	>"$PRIVATE_CACHE/almalinux-9-s390x/meta.json"
ALTS_IMAGE_CACHE=$PRIVATE_CACHE ALTS_BINFMT_DIR=$SCRATCH/no-binfmt worker_start "$SCRATCH/config.yaml" ||
	bad "worker with a foreign image starts"
WORKER_PIDS+=("$WORKER_PID")
check "a foreign image without a handler is left out with a warning" \
	grep -q "image 'almalinux-9-s390x' (s390x) left out: this x86_64 host cannot run s390x programs" "$WORKER_LOG"
worker_stop
sched_stop
# Under ALTS_SANITIZE the scheduler and the workers report leaks and errors in their logs at exit.
check "no sanitizer report in the scheduler's or the workers' logs" \
	bash -c "! grep -l 'Sanitizer' '$SCRATCH'/*.log"
finish
