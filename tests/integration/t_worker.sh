#!/usr/bin/env bash
# alts-worker end to end: a real rabbitmq-server, the real alts-scheduler and real workers
# with the file artifact store, running trivial suites on the local runner.
#   1. a passing suite: finished, result and artifacts (TAP, XSD-valid JUnit, result.json, logs)
#   2. a failing suite: finished with success false
#   3. a malformed suite published straight to the queue: failed with a clear error, acked
#   4. cancel of a running task: revoked, its process tree gone
#   5. kill -9 of a worker mid-task with a second worker running: the task completes once
#   6. SIGTERM: a running task finishes within the grace period, exit 0
# Assertions marked [sched] depend on the scheduler's side of docs/internals/worker-protocol.md
# (received/revoked states, artifacts column, cancels on the cancel exchange).
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/scheduler.sh"
source "$(dirname "$0")/lib/rabbitmq.sh"
source "$(dirname "$0")/lib/worker.sh"
need_cmd curl jq
[ -x "$RABBITMQ_BIN/rabbitmq-server" ] || skip_test "needs:rabbitmq-server (not installed)"
AMQP_GET=$ALTS_BUILD_DIR/amqp_get
cleanup() {
	workers_kill_all
	sched_stop
	rabbitmq_stop
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server starts"; finish; exit 1; }
ok "rabbitmq-server listens on 127.0.0.1:$RABBITMQ_TEST_PORT"
worker_config "$SCRATCH/config.yaml"
sched_start "$SCRATCH/config.yaml" --log-level info || { bad "scheduler starts"; finish; exit 1; }
TOKEN_BIN=${ALTS_TOKEN_BIN:-${ALTS_TOKEN:-$ALTS_BUILD_DIR/alts-token}}
AUTH="Authorization: Bearer $("$TOKEN_BIN" -s worker-test-secret -e it@example.com)"

# 0. CLI: usage and config errors exit 2.
"$ALTS_WORKER" --bogus >/dev/null 2>"$SCRATCH/err"
check "unknown option exits 2" [ $? = 2 ]
"$ALTS_WORKER" >/dev/null 2>"$SCRATCH/err"
check "missing -c exits 2 with a message" grep -q "no config given" "$SCRATCH/err"
printf 'worker_concurrency: [1\n' >"$SCRATCH/bad.yaml"
"$ALTS_WORKER" -c "$SCRATCH/bad.yaml" 2>"$SCRATCH/err"
rc=$?
check "bad config exits 2 ($rc)" [ "$rc" = 2 ]
check "bad config names file:line:col ($(head -1 "$SCRATCH/err"))" grep -q "bad.yaml:[0-9]*:[0-9]*:" "$SCRATCH/err"
printf 'worker_concurrency: zero\n' >"$SCRATCH/bad2.yaml"
"$ALTS_WORKER" -c "$SCRATCH/bad2.yaml" 2>"$SCRATCH/err"
check "wrong type exits 2 with file:line:col ($(head -1 "$SCRATCH/err"))" grep -q "bad2.yaml:1:[0-9]*: worker_concurrency" "$SCRATCH/err"
"$ALTS_WORKER" --help | grep -q -- "--queues" && ok "--help lists --queues" || bad "--help lists --queues"

worker_start "$SCRATCH/config.yaml" --log-level debug || { bad "worker starts"; dump_logs; finish; exit 1; }
WORKER_PIDS+=("$WORKER_PID")
W1=$WORKER_PID
ok "worker consumes local-x86_64-0"

# 1. A passing suite.
pass_suite='{"name":"trivial","environment":{"runner":"local","dist_arch":"x86_64"},"checks":[{"launch":{"name":"say hello","command":"echo hello-from-worker"}},{"launch":{"name":"true","command":["true"]}}]}'
id=$(submit_suite "$pass_suite") || { bad "submit"; dump_logs; finish; exit 1; }
r=$(wait_result "$id" 60) || { bad "passing task ends"; dump_logs; }
check "passing task finished ($(jq -c '{state}' <<<"$r" 2>/dev/null))" [ "$(jq -r .state <<<"$r")" = finished ]
check "result.success is true" [ "$(jq -r .result.success <<<"$r")" = true ]
store=$SCRATCH/store/$id
check "report.tap stored" [ -s "$store/report.tap" ]
check "report.tap plans 2 tests" grep -q '^1\.\.2$' "$store/report.tap"
check "report.tap: 2 ok" [ "$(grep -c '^ok ' "$store/report.tap")" = 2 ]
check "report.tap: no not ok" fails grep -q '^not ok' "$store/report.tap"
if command -v prove >/dev/null; then
	check "report.tap parses with prove" prove -e cat "$store/report.tap" >/dev/null 2>&1
fi
check "report.xml stored" [ -s "$store/report.xml" ]
if command -v xmllint >/dev/null; then
	check "report.xml is well-formed" xmllint --noout "$store/report.xml"
	check "report.xml is valid against junit-10.xsd" \
		xmllint --noout --schema "$ALTS_SOURCE_DIR/tests/fixtures/schemas/junit-10.xsd" "$store/report.xml"
fi
check "result.json stored and equal to the reported result (but success and log URLs)" [ "$(jq -cS 'del(.result.logs)' "$store/result.json")" = "$(jq -cS '.result | del(.success, .result.logs)' <<<"$r")" ]
check "result.logs point at the stored logs" [ "$(jq -r '.result.result.logs | to_entries[0].value' <<<"$r")" = "file://$store/logs/01-say_hello.log" ]
check "a log per check" [ "$(ls "$store/logs" | wc -l)" = 2 ]
check "the launch log holds the output" grep -q hello-from-worker "$store"/logs/01-*.log
summary=$SCRATCH/store/results/$id.json
check "summary stored" [ -s "$summary" ]
check "summary: state finished, worker, artifacts" [ "$(jq -r '[.state, (.worker|test("/[0-9]+$")), (.artifacts|has("report.tap") and has("report.xml") and has("result.json"))] | map(tostring) | join(" ")' "$summary")" = "finished true true" ]
check "summary: artifact URLs point into the store" [ "$(jq -r '.artifacts["report.tap"]' "$summary")" = "file://$store/report.tap" ]
check "worker log lines carry the task id" grep -q "event=task.finished task=$id " "$WORKER_LOG"
check "framework lines carry the task id too" grep -q "event=log task=$id comp=engine " "$WORKER_LOG"
check "worker logged progress" grep -q "event=check.finished task=$id .*done=2 total=2" "$WORKER_LOG"
check "[sched] GET report.tap serves the stored TAP" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id/report.tap")" = "$(cat "$store/report.tap")" ]
check "[sched] GET logs/01-say_hello.log serves the stored log" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id/logs/01-say_hello.log")" = "$(cat "$store/logs/01-say_hello.log")" ]

# 1b. The same task id again (a redelivery or an outbox republish): acked, not run again.
"$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" local-x86_64-0 --publish "{\"task_id\":\"$id\",\"runner\":\"local\",\"suite\":$pass_suite}"
for i in $(seq 1 50); do grep -q "event=task.duplicate task=$id" "$WORKER_LOG" && break; sleep 0.1; done
check "a finished task's id is acked as a duplicate" grep -q "event=task.duplicate task=$id" "$WORKER_LOG"
check "the duplicate did not run" [ "$(grep -c "event=task.running task=$id" "$WORKER_LOG")" = 1 ]

# 1c. Several tasks at once on two task threads.
ids=()
for n in 1 2 3 4 5; do ids+=("$(submit_suite "$pass_suite")"); done
all=1
for x in "${ids[@]}"; do
	[ "$(wait_result "$x" 60 | jq -r '.state + " " + (.result.success|tostring)')" = "finished true" ] || all=0
done
check "5 tasks on 2 threads all finished and passed" [ "$all" = 1 ]

# 2. A failing suite: finished, success false.
fail_suite='{"name":"failing","environment":{"runner":"local","dist_arch":"x86_64"},"checks":[{"launch":{"name":"greet","command":"echo hello"}},{"launch":{"name":"false","command":"echo broken >&2; exit 3"}}]}'
id2=$(submit_suite "$fail_suite")
r=$(wait_result "$id2" 60)
check "failing task finished" [ "$(jq -r .state <<<"$r")" = finished ]
check "failing task: success false" [ "$(jq -r .result.success <<<"$r")" = false ]
check "failing task: not ok in TAP" grep -q '^not ok 2' "$SCRATCH/store/$id2/report.tap"
# The live log the worker sent while it ran: a line per check, the failure's reason and output.
live=$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id2/log")
check "live log: a line per check" bash -c "grep -Eq '^PASS +greet \([0-9.]+ s\)$' <<<\"\$1\" && grep -Eq '^FAIL +false \(' <<<\"\$1\"" _ "$live"
check "live log: the failure's reason and output" bash -c "grep -q 'exit code 3' <<<\"\$1\" && grep -q '^      | broken$' <<<\"\$1\"" _ "$live"

# 3. A malformed suite straight onto the queue: failed, acked, not redelivered.
bad_id=00000000-0000-4000-8000-00000000bad1
"$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" local-x86_64-0 --publish \
	"{\"task_id\":\"$bad_id\",\"runner\":\"local\",\"suite\":{\"checks\":[{\"no_such_check\":{}}]}}"
for i in $(seq 1 100); do [ -s "$SCRATCH/store/results/$bad_id.json" ] && break; sleep 0.1; done
check "malformed suite: summary says failed" [ "$(jq -r .state "$SCRATCH/store/results/$bad_id.json" 2>/dev/null)" = failed ]
err=$(jq -r .error "$SCRATCH/store/results/$bad_id.json" 2>/dev/null)
check "malformed suite: error names the problem ($err)" grep -q "invalid suite: .*no_such_check" <<<"$err"
"$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" local-x86_64-0 --publish 'this is not json'
sleep 1.5
check "malformed messages were acked (queue empty)" [ "$("$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" local-x86_64-0 | wc -l)" = 0 ]
check "malformed suite ran once" [ "$(grep -c "event=task.failed task=$bad_id" "$WORKER_LOG")" = 1 ]
check "the non-JSON message was dropped with a log line" grep -q "event=task.dropped task=- .*not JSON" "$WORKER_LOG"

# 3b. A 50 MB message: refused from its content header's size, its body dropped unread; the
#     worker's peak memory (VmHWM) stays under 64 MB.
"$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" local-x86_64-0 --publish-size $((50 << 20))
for i in $(seq 1 300); do grep -q "event=consumer.too_large" "$WORKER_LOG" && break; sleep 0.1; done
check "a 50 MB message is refused unread" grep -q "event=consumer.too_large .*bytes=52428800" "$WORKER_LOG"
for i in $(seq 1 100); do grep -q "event=task.dropped .*too large" "$WORKER_LOG" && break; sleep 0.1; done
check "and dropped as too large" grep -q "event=task.dropped .*too large" "$WORKER_LOG"
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$W1/status")
check "the worker's peak RSS stays under 64 MB (${hwm} kB)" [ "${hwm:-999999}" -lt $((64 << 10)) ]
check "the big message was acked (queue empty)" [ "$("$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" local-x86_64-0 | wc -l)" = 0 ]

# 4. Cancel of a running task: revoked, process tree gone.
marker=alts-worker-cancel-$$
sleep_suite="{\"name\":\"sleeper\",\"environment\":{\"runner\":\"local\",\"dist_arch\":\"x86_64\"},\"checks\":[{\"launch\":{\"name\":\"sleep\",\"command\":\"sh -c 'sleep 30; echo $marker' && true\",\"timeout\":120}}]}"
id4=$(submit_suite "$sleep_suite")
for i in $(seq 1 100); do pgrep -f "[s]leep 30; echo $marker" >/dev/null && break; sleep 0.1; done
check "the sleeping check runs" pgrep -f "[s]leep 30; echo $marker" >/dev/null
r=$(curl_json POST "/tasks/$id4/cancel" '' -H "$AUTH")
check "cancel answers 200 ($r)" [ "${r%% *}" = 200 ]
for i in $(seq 1 100); do grep -q "event=task.revoked task=$id4" "$WORKER_LOG" && break; sleep 0.1; done
check "[sched] the worker got the cancel and revoked the task" grep -q "event=task.revoked task=$id4 running=true" "$WORKER_LOG"
alive=0
for p in $(pgrep -f "[s]leep 30; echo $marker"); do proc_alive "$p" && alive=1; done
check "the check's process tree is gone" [ "$alive" = 0 ]
for i in $(seq 1 50); do [ -s "$SCRATCH/store/results/$id4.json" ] && break; sleep 0.1; done
check "[sched] summary: revoked with result.revoked true" [ "$(jq -r '.state + " " + (.result.revoked|tostring)' "$SCRATCH/store/results/$id4.json" 2>/dev/null)" = "revoked true" ]
check "canceled task ends canceled in the scheduler" [ "$(task_state "$id4")" = canceled ]

# 5. kill -9 of a worker mid-task, a second worker running: the task completes once.
worker_start "$SCRATCH/config.yaml" --log-level debug || bad "second worker starts"
WORKER_PIDS+=("$WORKER_PID")
W2=$WORKER_PID
W2LOG=$WORKER_LOG
marker5=alts-worker-kill-$$
slow_suite="{\"name\":\"slow\",\"environment\":{\"runner\":\"local\",\"dist_arch\":\"x86_64\"},\"checks\":[{\"launch\":{\"name\":\"slow\",\"command\":\"sleep 4; echo $marker5\",\"timeout\":60}}]}"
id5=$(submit_suite "$slow_suite")
holder=
for i in $(seq 1 100); do
	grep -q "event=task.running task=$id5" "$SCRATCH/worker-1.log" && holder=$W1 && break
	grep -q "event=task.running task=$id5" "$W2LOG" && holder=$W2 && break
	sleep 0.1
done
check "one worker runs the task" [ -n "$holder" ]
worker_kill9 "$holder"
survivor=$([ "$holder" = "$W1" ] && echo "$W2" || echo "$W1")
survivor_log=$([ "$holder" = "$W1" ] && echo "$W2LOG" || echo "$SCRATCH/worker-1.log")
# The orphaned check (its own process group) may still finish; it must not report.
r=$(wait_result "$id5" 90)
check "the killed worker's task finished on the other worker" [ "$(jq -r .state <<<"$r")" = finished ]
check "the survivor ran it after a redelivery" grep -q "event=task.received task=$id5 queue=local-x86_64-0 redelivered=true" "$survivor_log"
sleep 2
check "exactly one final result (store)" [ "$(jq -r .state "$SCRATCH/store/results/$id5.json")" = finished ]
check "exactly one task.finished across workers" [ "$(cat "$SCRATCH"/worker-*.log | grep -c "event=task.finished task=$id5 ")" = 1 ]
check "task queue drained" [ "$("$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" local-x86_64-0 | wc -l)" = 0 ]
pkill -f "[s]leep 4; echo $marker5" 2>/dev/null

# 6. SIGTERM: the running task finishes within the grace period, exit 0.
id6=$(submit_suite "$slow_suite")
for i in $(seq 1 100); do grep -q "event=task.running task=$id6" "$survivor_log" && break; sleep 0.1; done
kill -TERM "$survivor"
wait "$survivor"
rc=$?
check "SIGTERM: exit 0 ($rc)" [ "$rc" = 0 ]
check "SIGTERM: the running task finished first" grep -q "event=task.finished task=$id6 " "$survivor_log"
r=$(wait_result "$id6" 10)
check "SIGTERM: its result reached the scheduler" [ "$(jq -r .state <<<"$r")" = finished ]
check "SIGTERM: logged stopping and stopped" grep -q "event=worker.stopped" "$survivor_log"

# 7. Grace period over: the running task is aborted and requeued; a --once worker runs it.
worker_config "$SCRATCH/short-grace.yaml" "worker_grace_period: 1s"
worker_start "$SCRATCH/short-grace.yaml" --log-level debug || bad "short-grace worker starts"
WORKER_PIDS+=("$WORKER_PID")
W3=$WORKER_PID
W3LOG=$WORKER_LOG
marker7=alts-worker-grace-$$
grace_suite="{\"name\":\"graceful\",\"environment\":{\"runner\":\"local\",\"dist_arch\":\"x86_64\"},\"checks\":[{\"launch\":{\"name\":\"slow\",\"command\":\"sleep 6; echo $marker7\",\"timeout\":60}}]}"
id7=$(submit_suite "$grace_suite")
for i in $(seq 1 100); do grep -q "event=task.running task=$id7" "$W3LOG" && break; sleep 0.1; done
t0=$(date +%s)
kill -TERM "$W3"
wait "$W3"
rc=$?
check "grace over: exit 0 ($rc) within a few seconds" [ "$rc" = 0 ] && [ $(($(date +%s) - t0)) -le 4 ]
check "grace over: the task was requeued, not reported" grep -q "event=task.requeued task=$id7" "$W3LOG"
check "grace over: its check's processes are gone" fails pgrep -f "[s]leep 6; echo $marker7" >/dev/null
check "grace over: the task is not final yet" [ "$(task_state "$id7")" != finished ]
worker_start "$SCRATCH/config.yaml" --once --queues local-x86_64-0 || bad "--once worker starts"
WORKER_PIDS+=("$WORKER_PID")
r=$(wait_result "$id7" 30)
check "the requeued task finished on the next worker" [ "$(jq -r .state <<<"$r")" = finished ]
for i in $(seq 1 50); do proc_alive "$WORKER_PID" || break; sleep 0.1; done
wait "$WORKER_PID"
rc=$?
check "--once: exits 0 after one task ($rc)" [ "$rc" = 0 ]

# 8. SIGHUP: a new commands_timeout applies to the next task; a broken config is refused.
worker_config "$SCRATCH/hup.yaml"
worker_start "$SCRATCH/hup.yaml" --log-level debug || bad "hup worker starts"
WORKER_PIDS+=("$WORKER_PID")
W4=$WORKER_PID
W4LOG=$WORKER_LOG
echo "commands_timeout: 1s" >>"$SCRATCH/hup.yaml"
kill -HUP "$W4"
for i in $(seq 1 50); do grep -q "event=config.reloaded" "$W4LOG" && break; sleep 0.1; done
check "SIGHUP: config reloaded" grep -q "event=config.reloaded .*reconnect=false" "$W4LOG"
hup_suite='{"name":"hup","environment":{"runner":"local","dist_arch":"x86_64"},"checks":[{"launch":{"name":"slow","command":"sleep 5"}}]}'
id8=$(submit_suite "$hup_suite")
r=$(wait_result "$id8" 30)
check "SIGHUP: the new commands_timeout (1s) stopped the check" [ "$(jq -r '[.state, .result.success, (.result.alts.suites[0].checks[0].timed_out // .result.alts.checks[0].timed_out)] | map(tostring) | join(" ")' <<<"$r")" = "finished false true" ]
echo "worker_concurrency: [" >>"$SCRATCH/hup.yaml"
kill -HUP "$W4"
for i in $(seq 1 50); do grep -q "event=config.reload_failed" "$W4LOG" && break; sleep 0.1; done
check "SIGHUP: a broken config is refused, named file:line:col" grep -q "event=config.reload_failed .*hup.yaml:[0-9]*:[0-9]*:" "$W4LOG"
check "SIGHUP: the worker still runs" proc_alive "$W4"
worker_stop "$W4"

# 10. task_timeout and an environment failure: failed, with the reason in error.
worker_config "$SCRATCH/timeout.yaml" "task_timeout: 2s
gzip_logs: true"
worker_start "$SCRATCH/timeout.yaml" --queues local-x86_64-0 --concurrency 1 || bad "timeout worker starts"
WORKER_PIDS+=("$WORKER_PID")
W6=$WORKER_PID
id10=$(submit_suite '{"name":"too-long","environment":{"runner":"local","dist_arch":"x86_64"},"checks":[{"launch":{"command":"sleep 20","timeout":60}},{"launch":{"command":"true"}}]}')
r=$(wait_result "$id10" 30)
check "task_timeout: failed ($(jq -c '{state}' <<<"$r"))" [ "$(jq -r .state <<<"$r")" = failed ]
check "task_timeout: the error says so" [ "$(jq -r .error "$SCRATCH/store/results/$id10.json")" = "task timed out after 2s (task_timeout)" ]
check "task_timeout: the partial reports were stored" [ -s "$SCRATCH/store/$id10/report.tap" ]
check "gzip_logs: the log is stored gzipped" gzip -t "$SCRATCH/store/$id10/logs/01-launch.log.gz"
id11=$(submit_suite '{"name":"no-env","environment":{"runner":"ssh","dist_arch":"x86_64","ssh":{"host":"127.0.0.1","port":1,"connect_timeout":2}},"checks":[{"launch":{"command":"true"}}]}')
r=$(wait_result "$id11" 30)
check "environment failure: failed ($(jq -c '{state}' <<<"$r"))" [ "$(jq -r .state <<<"$r")" = failed ]
check "environment failure: error names it ($(jq -r .error "$SCRATCH/store/results/$id11.json"))" grep -q "^environment failure: " <<<"$(jq -r .error "$SCRATCH/store/results/$id11.json")"
worker_stop "$W6"

# 11. The store fails: artifacts are spooled, listed pending, and delivered by the next worker.
# Uploads go to <store2>/blocked/<id>/...; "blocked" is a file, so every upload fails.
mkdir -p "$SCRATCH/store2"
echo file >"$SCRATCH/store2/blocked"
worker_config "$SCRATCH/spool.yaml" "file_store_directory: $SCRATCH/store2
s3_base_path: blocked/
upload_retries: 1"
worker_start "$SCRATCH/spool.yaml" || bad "spooling worker starts"
WORKER_PIDS+=("$WORKER_PID")
W7=$WORKER_PID
W7LOG=$WORKER_LOG
id12=$(submit_suite "$pass_suite")
r=$(wait_result "$id12" 60)
check "store down: the task still finished" [ "$(jq -r .state <<<"$r")" = finished ]
check "store down: artifacts were spooled" grep -q "event=artifact.spooled task=$id12 name=report.tap" "$W7LOG"
check "store down: the spool holds them" [ "$(ls "$SCRATCH/spool"/*.json 2>/dev/null | wc -l)" -ge 4 ]
check "store down: the final report lists them pending" grep -q "event=artifacts.stored task=$id12 stored=0 pending=5" "$W7LOG"
worker_stop "$W7"
worker_start "$SCRATCH/config.yaml" --log-level debug || bad "flushing worker starts"
WORKER_PIDS+=("$WORKER_PID")
for i in $(seq 1 50); do [ -s "$SCRATCH/store/$id12/report.tap" ] && break; sleep 0.1; done
check "the next worker flushed the spool into the store" [ -s "$SCRATCH/store/$id12/report.tap" ] && [ -s "$SCRATCH/store/$id12/logs/01-say_hello.log" ]
check "the spool is empty afterwards" [ "$(ls "$SCRATCH/spool"/*.json 2>/dev/null | wc -l)" = 0 ]
worker_stop "$WORKER_PID"

# 11b. The store cannot even be opened (its root cannot be made): still spooled, not lost.
worker_config "$SCRATCH/noopen.yaml" "file_store_directory: $SCRATCH/store2/blocked/root"
worker_start "$SCRATCH/noopen.yaml" || bad "worker with an unopenable store starts"
WORKER_PIDS+=("$WORKER_PID")
id13=$(submit_suite "$pass_suite")
r=$(wait_result "$id13" 60)
check "store unopenable: the task still finished" [ "$(jq -r .state <<<"$r")" = finished ]
check "store unopenable: the artifacts are spooled, none lost" bash -c "grep -q 'event=artifact.spooled task=$id13 name=report.tap' '$WORKER_LOG' && ! grep -q 'event=artifact.lost task=$id13' '$WORKER_LOG'"
check "store unopenable: the pending list names them" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id13" | jq '.artifacts_pending | length')" -ge 4 ]
worker_stop "$WORKER_PID"
worker_start "$SCRATCH/config.yaml" --log-level debug || bad "flushing worker starts"
WORKER_PIDS+=("$WORKER_PID")
for i in $(seq 1 50); do [ -s "$SCRATCH/store/$id13/report.tap" ] && break; sleep 0.1; done
check "... and a worker with a good store delivers them" cmp -s <(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id13/report.tap") "$SCRATCH/store/$id13/report.tap"
worker_stop "$WORKER_PID"

# 11c. More logs than a task keeps names of (512), the store unopenable: every one is
# spooled and named pending, up to the bound; the worker does not overrun its list.
worker_start "$SCRATCH/noopen.yaml" || bad "worker with an unopenable store starts (many logs)"
WORKER_PIDS+=("$WORKER_PID")
many_suite=$(jq -cn '{name:"many",environment:{runner:"local",dist_arch:"x86_64"},checks:[range(600) | {launch:{name:"c\(.)",command:["true"]}}]}')
id13c=$(submit_suite "$many_suite")
r=$(wait_result "$id13c" 240)
check "600 logs, store unopenable: the task finished ($(jq -c '{state}' <<<"$r" 2>/dev/null))" [ "$(jq -r .state <<<"$r")" = finished ]
check "600 logs, store unopenable: 512 named pending" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id13c" | jq '.artifacts_pending | length')" = 512 ]
check "600 logs, store unopenable: the worker is still up" kill -0 "$WORKER_PID"
worker_stop "$WORKER_PID"
rm -f "$SCRATCH/spool"/*

# 9. The broker restarts while a task runs: it reconnects, the task completes once.
worker_start "$SCRATCH/config.yaml" --log-level debug || bad "worker for the broker restart starts"
WORKER_PIDS+=("$WORKER_PID")
W5=$WORKER_PID
W5LOG=$WORKER_LOG
# Long enough to outlast rabbitmqctl stop (several seconds), so the task ends while the broker is down.
id9=$(submit_suite "{\"name\":\"outlast\",\"environment\":{\"runner\":\"local\",\"dist_arch\":\"x86_64\"},\"checks\":[{\"launch\":{\"name\":\"slow\",\"command\":\"sleep 15\",\"timeout\":60}}]}")
for i in $(seq 1 100); do grep -q "event=task.running task=$id9" "$W5LOG" && break; sleep 0.1; done
rabbitmq_stop
check "broker down: the worker noticed" grep -q "event=consumer.disconnected" "$W5LOG"
rabbitmq_start "$SCRATCH/rmq" || bad "rabbitmq-server restarts"
r=$(wait_result "$id9" 120)
check "broker restart: the task finished" [ "$(jq -r .state <<<"$r")" = finished ]
for i in $(seq 1 100); do [ "$(grep -c "event=consumer.connected" "$W5LOG")" -ge 2 ] && break; sleep 0.1; done
check "broker restart: the consumer reconnected" [ "$(grep -c "event=consumer.connected" "$W5LOG")" -ge 2 ]
# The redelivery comes once the broker has recovered the queue: slow on a loaded machine.
for i in $(seq 1 200); do grep -q "event=task.duplicate task=$id9" "$W5LOG" && break; sleep 0.1; done
check "broker restart: one task.finished" [ "$(grep -c "event=task.finished task=$id9 " "$W5LOG")" = 1 ]
check "broker restart: the redelivery was acked as a duplicate" grep -q "event=task.duplicate task=$id9" "$W5LOG"
check "broker restart: queue drained" [ "$("$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" local-x86_64-0 | wc -l)" = 0 ]
worker_stop "$W5"
check "broker restart: the worker stops cleanly ($?)" true

check "no sanitizer reports in the worker logs" fails grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$SCRATCH"/worker-*.log
[ "$FAILED" = 0 ] || dump_logs
finish
