#!/usr/bin/env bash
# The scheduler's side of docs/internals/worker-protocol.md against a real rabbitmq-server:
# worker reports (received, running with progress, finished, failed, revoked) land in the
# task store and show in GET /tasks/{id} and /result; the reports and logs a worker stores
# are served by GET /tasks/{id}/report.tap, report.xml, result.json, logs/{name}; a cancel
# of a published task reaches the cancel exchange, also when the broker was down at cancel
# time, and an unpublished canceled task is never published.
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/scheduler.sh"
source "$(dirname "$0")/lib/rabbitmq.sh"
need_cmd curl jq gzip
[ -x "$RABBITMQ_BIN/rabbitmq-server" ] || skip_test "needs:rabbitmq-server (not installed)"
AMQP_GET=$ALTS_BUILD_DIR/amqp_get
SCHED_PEER=$ALTS_BUILD_DIR/sched_peer
[ -x "$AMQP_GET" ] && [ -x "$SCHED_PEER" ] || { echo "amqp_get or sched_peer not built" >&2; exit 1; }
trap 'sched_stop; rabbitmq_stop; rm -rf "$SCRATCH"' EXIT

rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server starts"; finish; exit 1; }
ok "rabbitmq-server listens on 127.0.0.1:$RABBITMQ_TEST_PORT"
cat >"$SCRATCH/config.yaml" <<YAML
jwt_secret: worker-test-secret
working_directory: $SCRATCH/wd
rabbitmq_host: 127.0.0.1
rabbitmq_port: $RABBITMQ_TEST_PORT
rabbitmq_user: guest
rabbitmq_password: guest
rabbitmq_vhost: /
supported_runners: [docker]
cancel_exchange: test-cancel
YAML
# A worker's cancel queue, bound before anything is canceled (fanout: unbound cancels are lost).
"$SCHED_PEER" bind 127.0.0.1 "$RABBITMQ_TEST_PORT" cancels test-cancel
check "a queue is bound to the cancel exchange" [ $? = 0 ]
sched_start "$SCRATCH/config.yaml" --log-level info || { bad "scheduler starts"; finish; exit 1; }
AUTH="Authorization: Bearer $("$ALTS_TOKEN_BIN" -s worker-test-secret -e it@example.com)"

pub() { "$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" alts-results --publish "$1"; }
task() { curl -s -H "$AUTH" "$SCHED_URL/tasks/$1"; }
# wait_for ID JQ-FILTER: until the task's JSON makes the filter true (5 s).
wait_for() {
	local i
	for i in $(seq 1 50); do
		[ "$(task "$1" | jq -r "$2")" = true ] && return 0
		sleep 0.1
	done
	return 1
}
submit() {
	local r
	r=$(curl_json POST /tasks/schedule "{\"runner_type\":\"docker\",\"dist_name\":\"debian\",\"dist_version\":\"12\",\"dist_arch\":\"amd64\",\"package_name\":\"hello\"${1:+,\"bs_task_id\":\"$1\"}}" -H "$AUTH")
	[ "${r%% *}" = 201 ] && jq -r .task_id <<<"${r#* }"
}
cancels() { "$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" cancels; }

# 1. A task's whole life as a worker reports it.
a=$(submit)
check "task a published" wait_for "$a" .published
pub "{\"task_id\":\"$a\",\"state\":\"received\",\"worker\":\"host-1/101\",\"time_ms\":1764000000000}"
check "received records the worker, state stays queued" wait_for "$a" '.worker == "host-1/101" and .state == "queued"'
pub "{\"task_id\":\"$a\",\"state\":\"running\",\"worker\":\"host-1/101\",\"progress\":{\"done\":0,\"total\":3}}"
check "running sets the state and progress" wait_for "$a" '.state == "running" and .progress == {"done":0,"total":3} and .started_at != null'
pub "{\"task_id\":\"$a\",\"state\":\"running\",\"worker\":\"host-1/101\",\"progress\":{\"done\":2,\"total\":3}}"
check "progress updates while running" wait_for "$a" '.progress.done == 2'
# The live log: running reports append to it; clients read it from an offset.
livelog() { curl -s -H "$AUTH" "$SCHED_URL/tasks/$1/log${2:+?offset=$2}"; }
check "the live log is empty before any text" [ -z "$(livelog "$a")" ]
pub "{\"task_id\":\"$a\",\"state\":\"running\",\"log\":\"PASS install (1.2 s)\\n\"}"
pub "{\"task_id\":\"$a\",\"state\":\"running\",\"log\":\"FAIL launch h\u00e9llo (0.1 s)\\n  exit code 4\\n\"}"
for _ in $(seq 1 50); do [ "$(livelog "$a" | wc -l)" = 3 ] && break; sleep 0.1; done
check "running reports append to the live log in order" [ "$(livelog "$a")" = "$(printf 'PASS install (1.2 s)\nFAIL launch h\303\251llo (0.1 s)\n  exit code 4')" ]
n=$(printf 'PASS install (1.2 s)\n' | wc -c)
check "?offset= reads from a byte offset" [ "$(livelog "$a" "$n" | head -n 1)" = "$(printf 'FAIL launch h\303\251llo (0.1 s)')" ]
check "an offset past the end reads nothing" [ -z "$(livelog "$a" 100000)" ]
r=$(curl_json GET "/tasks/$a/log?offset=-1" "" -H "$AUTH")
check "a negative offset is 400" [ "${r%% *}" = 400 ]
r=$(curl_json GET "/tasks/00000000-0000-4000-8000-000000000000/log" "" -H "$AUTH")
check "the live log of an unknown task is 404" [ "${r%% *}" = 404 ]
r=$(curl_json GET "/tasks/$a/log" "")
check "the live log needs a token" [ "${r%% *}" = 401 ]
r=$(curl_json GET "/tasks/$a/report.tap" "" -H "$AUTH")
check "report.tap while running is 409" [ "${r%% *}" = 409 ]
# The worker stores its artifacts, then sends the final report.
printf 'TAP version 13\n1..3\nok 1 - install\nok 2 - integrity\nok 3 - uninstall\n' >"$SCRATCH/report.tap"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="3" failures="0"/>\n' >"$SCRATCH/report.xml"
printf '{"success":true,"install_package":{"exit_code":0}}\n' >"$SCRATCH/result.json"
printf 'Setting up hello (2.10-3) ...\n' >"$SCRATCH/install.log"
printf 'sha256 ok\n' >"$SCRATCH/integrity.log"
gzip -k "$SCRATCH/integrity.log"
for f in report.tap report.xml result.json logs/install.log logs/integrity.log.gz; do
	"$SCHED_PEER" put "$SCRATCH/config.yaml" "$a/$f" "$SCRATCH/${f#logs/}" || bad "put $f"
done
arts="{\"report.tap\":\"file://$SCRATCH/wd/artifacts/$a/report.tap\",\"report.xml\":\"file://$SCRATCH/wd/artifacts/$a/report.xml\",\"result.json\":\"file://$SCRATCH/wd/artifacts/$a/result.json\",\"logs/install.log\":\"file://$SCRATCH/wd/artifacts/$a/logs/install.log\"}"
pub "{\"task_id\":\"$a\",\"state\":\"finished\",\"worker\":\"host-1/101\",\"progress\":{\"done\":3,\"total\":3},\"result\":{\"success\":true,\"install_package\":{\"exit_code\":0}},\"artifacts\":$arts,\"artifacts_pending\":[\"logs/uninstall.log\",\"logs/remove.log.gz\"]}"
check "finished sets state, progress, artifacts, pending" wait_for "$a" ".state == \"finished\" and .progress.done == 3 and .artifacts == $arts and .artifacts_pending == [\"logs/uninstall.log\", \"logs/remove.log.gz\"] and .error == null and .finished_at != null"
r=$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$a/result")
check "GET result keeps the ALTS shape" [ "$(jq -c '[.task_id == "'"$a"'", .state, .api_version, .result]' <<<"$r")" = '[true,"finished","20210512",{"success":true,"install_package":{"exit_code":0}}]' ]
for f in report.tap report.xml result.json logs/install.log logs/integrity.log.gz; do
	code=$(curl -s -o "$SCRATCH/got" -w '%{http_code}' -H "$AUTH" "$SCHED_URL/tasks/$a/$f")
	check "GET /tasks/a/$f serves what the worker stored" bash -c "[ $code = 200 ] && cmp -s '$SCRATCH/got' '$SCRATCH/${f#logs/}'"
done
check "logs/integrity.log is inflated from the .gz" bash -c "curl -s -H '$AUTH' '$SCHED_URL/tasks/$a/logs/integrity.log' | cmp -s - '$SCRATCH/integrity.log'"
r=$(curl_json GET "/tasks/$a/logs/uninstall.log" "" -H "$AUTH")
check "a pending log is 404 saying so ($(jq -r .detail <<<"${r#* }"))" bash -c "[ '${r%% *}' = 404 ] && [[ '$(jq -r .detail <<<"${r#* }")' == *artifacts_pending* ]]"
r=$(curl_json GET "/tasks/$a/logs/remove.log" "" -H "$AUTH")
check "... also a pending .log.gz asked for as .log" bash -c "[ '${r%% *}' = 404 ] && [[ '$(jq -r .detail <<<"${r#* }")' == *artifacts_pending* ]]"
pub "{\"task_id\":\"$a\",\"state\":\"failed\",\"error\":\"redelivered\"}"
pub "{\"task_id\":\"$a\",\"state\":\"revoked\",\"result\":{\"revoked\":true}}"
sleep 0.5
check "a finished task keeps its first result" [ "$(task "$a" | jq -c '[.state, .error]')" = '["finished",null]' ]
check "cancel of a finished task sends nothing" bash -c "[ \"\$(curl -s -X POST -H '$AUTH' '$SCHED_URL/tasks/$a/cancel' | jq .canceled)\" = false ]"

# 2. failed carries the error.
b=$(submit)
pub "{\"task_id\":\"$b\",\"state\":\"failed\",\"worker\":\"host-2/7\",\"error\":\"cannot create the environment: image not found\"}"
check "failed shows the error" wait_for "$b" '.state == "failed" and .error == "cannot create the environment: image not found" and .worker == "host-2/7"'
check "GET result of a failed task without result is null" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$b/result" | jq -c '[.state, .result]')" = '["failed",null]' ]

# 3. Cancels of published tasks reach the cancel exchange.
cancels >/dev/null
c=$(submit)
check "task c published" wait_for "$c" .published
pub "{\"task_id\":\"$c\",\"state\":\"running\",\"worker\":\"host-1/101\"}"
check "task c running" wait_for "$c" '.state == "running"'
r=$(curl_json POST "/tasks/$c/cancel" "" -H "$AUTH")
check "cancel a running task" [ "$(jq -c '[.state, .canceled]' <<<"${r#* }")" = '["canceled",true]' ]
sleep 1
cancels >"$SCRATCH/cancels"
check "one cancel message for c ($(tr '\n' ' ' <"$SCRATCH/cancels"))" [ "$(jq -c . "$SCRATCH/cancels")" = "{\"task_id\":\"$c\"}" ]
pub "{\"task_id\":\"$c\",\"state\":\"finished\",\"result\":{\"success\":true}}"
pub "{\"task_id\":\"$c\",\"state\":\"revoked\",\"worker\":\"host-1/101\",\"result\":{\"revoked\":true,\"success\":false}}"
check "revoked after the cancel: canceled, the worker's result kept" wait_for "$c" '.state == "canceled"'
sleep 0.5
check "the revoked result is served" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$c/result" | jq -c '[.state, .result.revoked]')" = '["canceled",true]' ]
# A worker that revokes on its own (it saw the cancel first, or the task timed out in its queue).
d=$(submit)
check "task d published" wait_for "$d" .published
pub "{\"task_id\":\"$d\",\"state\":\"revoked\",\"worker\":\"host-3/1\",\"result\":{\"revoked\":true}}"
check "revoked from queued is canceled" wait_for "$d" '.state == "canceled" and .worker == "host-3/1"'
# Bulk cancel by bs_task_id.
e1=$(submit 500); e2=$(submit 500)
check "tasks e1 e2 published" bash -c "$(declare -f wait_for task); SCHED_URL=$SCHED_URL AUTH='$AUTH'; wait_for $e1 .published && wait_for $e2 .published"
r=$(curl_json POST /cancel_tasks '{"bs_task_ids":[500]}' -H "$AUTH")
check "cancel_tasks cancels both" [ "$(jq -c '[.success, .canceled]' <<<"${r#* }")" = '[true,2]' ]
sleep 1
check "a cancel message for each" [ "$(cancels | jq -r .task_id | sort | tr '\n' ' ')" = "$(printf '%s\n' "$e1" "$e2" | sort | tr '\n' ' ')" ]

# 4. Broker down at cancel time: the cancel is sent when it is back; an unpublished
#    canceled task is never published.
f=$(submit)
check "task f published" wait_for "$f" .published
"$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" docker-x86_64-0 >/dev/null
rabbitmq_stop
ok "broker stopped"
for i in $(seq 1 100); do [ "$(curl -s "$SCHED_URL/health" | jq -r .broker)" = disconnected ] && break; sleep 0.1; done
g=$(submit)
check "task g accepted while the broker is away (unpublished)" [ "$(task "$g" | jq -r .published)" = false ]
check "cancel f while the broker is away" [ "$(curl -s -X POST -H "$AUTH" "$SCHED_URL/tasks/$f/cancel" | jq .canceled)" = true ]
check "cancel g (never published)" [ "$(curl -s -X POST -H "$AUTH" "$SCHED_URL/tasks/$g/cancel" | jq .canceled)" = true ]
sched_stop
ok "scheduler restarted too: the pending cancel lives in SQLite"
sched_start "$SCRATCH/config.yaml" --log-level info || bad "scheduler restarts"
rabbitmq_start "$SCRATCH/rmq" || bad "rabbitmq-server restarts"
for i in $(seq 1 150); do
	[ "$(curl -s "$SCHED_URL/metrics" | awk '/^alts_cancels_published_total/ {print $2}')" = 1 ] && break
	sleep 0.2
done
cancels >"$SCRATCH/cancels"
check "the cancel of f arrived after the broker came back ($(tr '\n' ' ' <"$SCRATCH/cancels"))" [ "$(jq -r .task_id "$SCRATCH/cancels")" = "$f" ]
sleep 1
check "g was never published" bash -c "! '$AMQP_GET' 127.0.0.1 '$RABBITMQ_TEST_PORT' docker-x86_64-0 | grep -q '$g'"
check "g stays unpublished, canceled" [ "$(task "$g" | jq -c '[.state, .published]')" = '["canceled",false]' ]
check "metrics count confirmed cancels" grep -q '^alts_cancels_published_total 1$' <(curl -s "$SCHED_URL/metrics")
sched_stop
check "the scheduler stopped without sanitizer reports" bash -c "! grep -q -e 'Sanitizer' -e 'runtime error' '$SCRATCH/scheduler.log'"
finish
