#!/usr/bin/env bash
# Reports straight to the scheduler (scheduler_url): a real rabbitmq-server, alts-scheduler and
# alts-worker on loopback, the local runner.
#   1. tasks finish through POST /internal/tasks/{id}/report and no report crosses the broker:
#      the scheduler runs without its results consumer, and the results queue holds nothing
#   2. the scheduler SIGKILLed while a task runs: its report goes to the results queue and is
#      there after the scheduler restarts; nothing is lost, the task message is acked
#   3. an ordinary token (no worker scope): the worker logs why and reports through the broker
#   4. the route's bad input: no token 401, ordinary token 403, malformed JSON 400, another
#      task's report 400, unknown task 404, oversized 413 (2 MiB unread without a worker's
#      token); a duplicate changes nothing
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/scheduler.sh"
source "$(dirname "$0")/lib/rabbitmq.sh"
source "$(dirname "$0")/lib/worker.sh"
need_cmd curl jq
[ -x "$RABBITMQ_BIN/rabbitmq-server" ] || skip_test "needs:rabbitmq-server (not installed)"
cleanup() {
	workers_kill_all
	sched_stop
	rabbitmq_stop
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
rmqctl() { "$RABBITMQ_BIN/rabbitmqctl" -n "$RABBITMQ_TEST_NODE" -q "$@"; }
# Messages waiting in queue $1 (0 when it does not exist).
queue_messages() { rmqctl list_queues name messages 2>/dev/null | awk -v q="$1" '$1 == q {n = $2} END {print n + 0}'; }
metric() { curl -s "$SCHED_URL/metrics" | awk -v k="$1" '$1 == k {print $2}'; }

rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server starts"; finish; exit 1; }
ok "rabbitmq-server listens on 127.0.0.1:$RABBITMQ_TEST_PORT"
SCHED_PORT=$(free_port)
# The scheduler: first without a results consumer (results_queue ""), so that a report sent
# through the broker would stay in alts-results for all to see.
worker_config "$SCRATCH/sched-noconsumer.yaml" 'results_queue: ""'
worker_config "$SCRATCH/sched.yaml"
sched_start "$SCRATCH/sched-noconsumer.yaml" --log-level info --port "$SCHED_PORT" || { bad "scheduler starts"; finish; exit 1; }
AUTH="Authorization: Bearer $("$ALTS_TOKEN_BIN" -s worker-test-secret -e it@example.com)"
"$ALTS_TOKEN_BIN" -s worker-test-secret -e worker@example.com --scope worker >"$SCRATCH/worker.token"
check "alts-token --scope worker makes a token" [ -s "$SCRATCH/worker.token" ]
"$ALTS_TOKEN_BIN" -s worker-test-secret -e w@example.com --scope admin >/dev/null 2>"$SCRATCH/err"
check "alts-token refuses an unknown scope (exit 2)" [ $? = 2 ]
WAUTH="Authorization: Bearer $(cat "$SCRATCH/worker.token")"
worker_config "$SCRATCH/worker.yaml" "scheduler_url: $SCHED_URL
scheduler_token_file: $SCRATCH/worker.token"
worker_config "$SCRATCH/bad-url.yaml" "scheduler_url: ftp://127.0.0.1:1
scheduler_token_file: $SCRATCH/worker.token"
"$ALTS_WORKER" -c "$SCRATCH/bad-url.yaml" 2>"$SCRATCH/err"
check "scheduler_url must be http(s) (exit 2: $(head -c 160 "$SCRATCH/err"))" grep -q "scheduler_url.*http://" "$SCRATCH/err"
worker_config "$SCRATCH/no-token.yaml" "scheduler_url: $SCHED_URL"
"$ALTS_WORKER" -c "$SCRATCH/no-token.yaml" 2>"$SCRATCH/err"
check "scheduler_url without a token is refused (exit 2)" grep -q "scheduler_url needs a worker's token" "$SCRATCH/err"

# 1. Tasks finish through the scheduler's route; the results queue sees nothing.
worker_start "$SCRATCH/worker.yaml" --log-level debug || { bad "worker starts"; dump_logs; finish; exit 1; }
WORKER_PIDS+=("$WORKER_PID")
suite='{"name":"direct","environment":{"runner":"local","dist_arch":"x86_64"},"checks":[{"launch":{"name":"hello","command":"echo hello-direct"}}]}'
ids=()
for _ in 1 2 3; do ids+=("$(submit_suite "$suite")"); done
for id in "${ids[@]}"; do
	r=$(wait_result "$id" 60) || { bad "task $id ends"; dump_logs; }
	check "task finished through the route ($(jq -c '[.state, .result.success]' <<<"$r" 2>/dev/null))" \
		[ "$(jq -c '[.state, .result.success]' <<<"$r")" = '["finished",true]' ]
done
n200=$(metric 'alts_http_requests_total{route="worker_report",status="200"}')
check "the scheduler took the reports on its route ($n200 answers 200)" [ "${n200:-0}" -ge 3 ]
check "the results queue holds no report ($(queue_messages alts-results))" [ "$(queue_messages alts-results)" = 0 ]
check "the worker never opened its broker publisher" fails grep -q "event=publish.connected" "$WORKER_LOG"
check "the task messages are acked" [ "$(queue_messages local-x86_64-0)" = 0 ]

# 2. The scheduler dies while a task runs: the report falls back to the broker, nothing is lost.
nap='{"name":"nap","environment":{"runner":"local","dist_arch":"x86_64"},"checks":[{"launch":{"name":"nap","command":"sleep 3; echo awake"}}]}'
k=$(submit_suite "$nap")
for _ in $(seq 1 100); do [ "$(task_state "$k")" = running ] && break; sleep 0.1; done
check "task k runs" [ "$(task_state "$k")" = running ]
kill -KILL "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null
SCHED_PID=
ok "scheduler SIGKILLed mid-task"
for _ in $(seq 1 150); do grep -q "event=task.finished task=$k" "$WORKER_LOG" && break; sleep 0.1; done
# The final report's own failure is logged, or, when an earlier report of the task (its live
# log) failed first, the 3 s pause that sends it the broker's way at once.
check "the worker fell back to the broker (logged)" grep -qE "event=report.direct_failed task=$k .*durable=true.*reporting through the broker|event=report.direct_paused task=$k " "$WORKER_LOG"
check "the broker confirmed it and the task message was acked" grep -q "event=task.finished task=$k" "$WORKER_LOG"
check "the report waits in the results queue ($(queue_messages alts-results))" [ "$(queue_messages alts-results)" -ge 1 ]
check "the task message is gone" [ "$(queue_messages local-x86_64-0)" = 0 ]
sched_start "$SCRATCH/sched.yaml" --log-level info --port "$SCHED_PORT" || { bad "scheduler restarts"; finish; exit 1; }
r=$(wait_result "$k" 30) || { bad "task k ends after the restart"; dump_logs; }
check "after the restart the result is there ($(jq -c '[.state, .result.success]' <<<"$r" 2>/dev/null))" \
	[ "$(jq -c '[.state, .result.success]' <<<"$r")" = '["finished",true]' ]
for _ in $(seq 1 50); do [ "$(queue_messages alts-results)" = 0 ] && break; sleep 0.1; done
check "the results queue is drained" [ "$(queue_messages alts-results)" = 0 ]
# With the scheduler back, reports take the route again (once the worker's 3 s pause after the
# failure is over: worker/publish.c PUBLISH_DIRECT_PAUSE_MS).
sleep 3
id=$(submit_suite "$suite")
r=$(wait_result "$id" 60)
check "the next task finishes through the route again" [ "$(jq -r .state <<<"$r")" = finished ]
n200=$(metric 'alts_http_requests_total{route="worker_report",status="200"}')
check "... the restarted scheduler took its report on the route ($n200)" [ "${n200:-0}" -ge 1 ]
check "... not through the broker" [ "$(grep -c "event=report.direct_.* task=$id" "$WORKER_LOG")" = 0 ]
worker_stop
ok "worker stopped"

# 3. An ordinary token: refused with a clear line, the report goes through the broker.
"$ALTS_TOKEN_BIN" -s worker-test-secret -e user@example.com >"$SCRATCH/user.token"
worker_config "$SCRATCH/worker-user.yaml" "scheduler_url: $SCHED_URL
scheduler_token_file: $SCRATCH/user.token"
worker_start "$SCRATCH/worker-user.yaml" --log-level info || { bad "worker (user token) starts"; dump_logs; finish; exit 1; }
WORKER_PIDS+=("$WORKER_PID")
id=$(submit_suite "$suite")
r=$(wait_result "$id" 60) || { bad "task ends"; dump_logs; }
check "with an ordinary token the task still finishes (broker)" [ "$(jq -r .state <<<"$r")" = finished ]
check "the worker says why ($(grep -o 'event=report.refused.*' "$WORKER_LOG" | head -1 | cut -c1-150))" \
	grep -q "event=report.refused task=$id status=403 .*scope worker" "$WORKER_LOG"
worker_stop

# 4. The route's answers.
b=$(submit_suite "$suite")  # queued: no worker runs now
route() { curl_json POST "/internal/tasks/$1/report" "$2" "${@:3}"; }
good="{\"task_id\":\"$b\",\"state\":\"running\",\"worker\":\"probe/1\"}"
r=$(route "$b" "$good")
check "no token: 401" [ "${r%% *}" = 401 ]
r=$(route "$b" "$good" -H "$AUTH")
check "an ordinary API token: 403 ($(jq -r .detail <<<"${r#* }"))" [ "${r%% *}" = 403 ]
r=$(route "$b" '{"task_id":' -H "$WAUTH")
check "malformed JSON: 400" [ "${r%% *}" = 400 ]
r=$(route "$b" "{\"task_id\":\"${ids[0]}\",\"state\":\"failed\"}" -H "$WAUTH")
check "another task's report: 400 ($(jq -r .detail <<<"${r#* }"))" [ "${r%% *}" = 400 ]
check "... and that task keeps its result" [ "$(task_state "${ids[0]}")" = finished ]
r=$(route "$b" "{\"task_id\":\"$b\",\"state\":\"exploded\"}" -H "$WAUTH")
check "an unknown state: 400" [ "${r%% *}" = 400 ]
unknown=00000000-0000-4000-8000-000000000000
r=$(route "$unknown" "{\"task_id\":\"$unknown\",\"state\":\"running\"}" -H "$WAUTH")
check "an unknown task: 404" [ "${r%% *}" = 404 ]
head -c $((5 << 20)) /dev/zero | tr '\0' 'x' >"$SCRATCH/big"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$WAUTH" -H 'Content-Type: application/json' \
	--data-binary @"$SCRATCH/big" "$SCHED_URL/internal/tasks/$b/report")
check "an oversized body: 413" [ "$code" = 413 ]
# The report's larger bound (4 MiB) is a worker's only: without one, a 2 MiB body is refused
# at its headers (401 before the 100-continue), so nothing of it is sent or buffered.
head -c $((2 << 20)) "$SCRATCH/big" >"$SCRATCH/big2"
for who in none user; do
	hdr=()
	[ "$who" = user ] && hdr=(-H "$AUTH")
	r=$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -X POST "${hdr[@]}" -H 'Expect: 100-continue' \
		-H 'Content-Type: application/json' --data-binary @"$SCRATCH/big2" "$SCHED_URL/internal/tasks/$b/report")
	check "a 2 MiB body without a worker's token ($who): refused unread ($r)" [ "$r" = "$([ "$who" = user ] && echo 403 || echo 401) 0" ]
done
r=$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -X POST -H "$WAUTH" -H 'Expect: 100-continue' \
	-H 'Content-Type: application/json' --data-binary @"$SCRATCH/big2" "$SCHED_URL/internal/tasks/$b/report")
check "... a worker's 2 MiB body is read whole (400: not JSON) ($r)" [ "$r" = "400 $((2 << 20))" ]
r=$(curl_json GET "/internal/tasks/$b/report" "" -H "$WAUTH")
check "GET: 405" [ "${r%% *}" = 405 ]
r=$(route "$b" "$good" -H "$WAUTH")
check "a good report: 200, applied ($r)" [ "$(jq -c '[.task_id == "'"$b"'", .applied]' <<<"${r#* }")" = '[true,true]' ]
check "... and recorded" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$b" | jq -c '[.state, .worker]')" = '["running","probe/1"]' ]
fin="{\"task_id\":\"$b\",\"state\":\"finished\",\"result\":{\"success\":true}}"
r=$(route "$b" "$fin" -H "$WAUTH")
check "a final report: applied" [ "$(jq -r .applied <<<"${r#* }")" = true ]
r=$(route "$b" "$fin" -H "$WAUTH")
check "the same final report again: 200, not applied (idempotent)" [ "${r%% *} $(jq -r .applied <<<"${r#* }")" = "200 false" ]
r=$(route "$b" "{\"task_id\":\"$b\",\"state\":\"running\"}" -H "$WAUTH")
check "a late running report changes nothing" [ "${r%% *} $(task_state "$b")" = "200 finished" ]
r=$(route "$b" "{\"task_id\":\"$b\",\"state\":\"failed\",\"result\":{\"success\":false}}" -H "$WAUTH")
check "a second final report with another result changes nothing ($r)" \
	[ "${r%% *} $(curl -s -H "$AUTH" "$SCHED_URL/tasks/$b/result" | jq -c '[.state, .result.success]')" = '200 ["finished",true]' ]
sched_stop
check "no sanitizer reports" bash -c "! grep -q -e 'Sanitizer' -e 'runtime error' '$SCRATCH'/*.log"
finish
