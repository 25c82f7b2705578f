#!/usr/bin/env bash
# Broker restart in the middle of a run: a real rabbitmq-server, the real alts-scheduler and two
# alts-workers x 8 task threads (file artifact store) work through 200 queued short tasks on the
# local runner. Once some have finished and many are still queued or running, the broker is
# killed (SIGKILL), kept down a few seconds and started again (same data, same port). Afterwards:
#   - all 200 tasks end finished with success true, each with exactly one final result in the
#     scheduler (none failed, none left queued or running);
#   - reports the workers published while the broker was down were not lost (they are resent
#     after the reconnect: the counts above prove it);
#   - a task may run twice (a redelivery after the broker lost its unacked deliveries) but the
#     scheduler keeps one final result, and every task's artifacts are complete and parse;
#   - both workers are alive, reconnected (consumer and publisher) and both took tasks;
#   - no sanitizer output in the logs (ASan build).
# Re-runs observed are printed as a diagnostic ("# ran twice: N").
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/scheduler.sh"
source "$(dirname "$0")/lib/rabbitmq.sh"
source "$(dirname "$0")/lib/worker.sh"
need_cmd curl jq
[ -x "$RABBITMQ_BIN/rabbitmq-server" ] || skip_test "needs:rabbitmq-server (not installed)"
AMQP_GET=$ALTS_BUILD_DIR/amqp_get
NTASKS=${ALTS_RESTART_TASKS:-200}
cleanup() {
	workers_kill_all
	sched_stop
	rabbitmq_stop
	pkill -f "[a]lts-restart-check-$$" 2>/dev/null
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
# count_state STATE: how many tasks the scheduler lists in that state (pages of 500).
count_state() {
	local cursor= n=0 page
	while :; do
		page=$(curl -s -H "$AUTH" "$SCHED_URL/tasks?state=$1&limit=500${cursor:+&cursor=$cursor}") || return 1
		n=$((n + $(jq '.tasks | length' <<<"$page")))
		cursor=$(jq -r '.next_cursor // empty' <<<"$page")
		[ -n "$cursor" ] || break
	done
	echo "$n"
}
# list_state STATE: the ids the scheduler lists in that state, one a line.
list_state() {
	local cursor= page
	while :; do
		page=$(curl -s -H "$AUTH" "$SCHED_URL/tasks?state=$1&limit=500${cursor:+&cursor=$cursor}") || return 1
		jq -r '.tasks[].task_id' <<<"$page"
		cursor=$(jq -r '.next_cursor // empty' <<<"$page")
		[ -n "$cursor" ] || break
	done
}
T0=$(date +%s)
elapsed() { echo $(($(date +%s) - T0)); }

rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server starts"; finish; exit 1; }
ok "rabbitmq-server listens on 127.0.0.1:$RABBITMQ_TEST_PORT ($(elapsed)s)"
worker_config "$SCRATCH/config.yaml" "worker_heartbeat: 5"
sched_start "$SCRATCH/config.yaml" --log-level info || { bad "scheduler starts"; finish; exit 1; }
AUTH="Authorization: Bearer $("$ALTS_TOKEN_BIN" -s worker-test-secret -e it@example.com)"

# Short tasks: two checks, one sleeping a little so that the restart lands mid-run.
marker=alts-restart-check-$$
suite="{\"name\":\"short\",\"environment\":{\"runner\":\"local\",\"dist_arch\":\"x86_64\"},\"checks\":[{\"launch\":{\"name\":\"nap\",\"command\":\"sleep ${ALTS_RESTART_NAP:-1.5}; echo $marker\"}},{\"launch\":{\"name\":\"true\",\"command\":[\"true\"]}}]}"
: >"$SCRATCH/ids"
# All of them queued first (4 submitters at once: one POST commits to SQLite before answering).
# (Not submit_suite: curl_json's response file is shared, each submitter needs its own.)
submitter() {
	local n code
	for n in $(seq 1 "$1"); do
		code=$(curl -s -o "$SCRATCH/resp.$2" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -H "$AUTH" \
			--data-binary "{\"runner_type\":\"local\",\"dist_arch\":\"x86_64\",\"suite\":$suite}" "$SCHED_URL/tasks/schedule")
		if [ "$code" != 201 ]; then
			echo "# submit failed: $code $(cat "$SCRATCH/resp.$2")"
			continue
		fi
		jq -r .task_id "$SCRATCH/resp.$2" >>"$SCRATCH/ids.$2"
	done
}
subs=()
for k in 1 2 3 4; do
	submitter $(((NTASKS + 4 - k) / 4)) "$k" &
	subs+=($!)
done
wait "${subs[@]}"
cat "$SCRATCH"/ids.[1-4] >"$SCRATCH/ids"
check "$NTASKS tasks accepted ($(elapsed)s)" [ "$(sort -u "$SCRATCH/ids" | wc -l)" = "$NTASKS" ]
for i in $(seq 1 300); do
	[ "$(count_state queued)" = "$NTASKS" ] && [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks?state=queued&limit=500" | jq '[.tasks[] | select(.published | not)] | length')" = 0 ] && break
	sleep 0.2
done
check "all $NTASKS published and queued" [ "$(count_state queued)" = "$NTASKS" ]

worker_start "$SCRATCH/config.yaml" --concurrency 8 --log-level debug || { bad "worker 1 starts"; dump_logs; finish; exit 1; }
WORKER_PIDS+=("$WORKER_PID")
W1=$WORKER_PID
W1LOG=$WORKER_LOG
worker_start "$SCRATCH/config.yaml" --concurrency 8 --log-level debug || { bad "worker 2 starts"; dump_logs; finish; exit 1; }
WORKER_PIDS+=("$WORKER_PID")
W2=$WORKER_PID
W2LOG=$WORKER_LOG
ok "two workers x 8 threads consume local-x86_64-0 ($(elapsed)s)"

# Wait until some have finished (not too many), then take the broker away.
for i in $(seq 1 600); do
	done_n=$(count_state finished)
	[ "$done_n" -ge 20 ] && break
	sleep 0.1
done
check "some tasks finished before the restart ($done_n, $(elapsed)s)" [ "$done_n" -ge 20 ]
check "many tasks are left before the restart" [ $((NTASKS - done_n)) -ge 60 ]
running_before=$(cat "$W1LOG" "$W2LOG" | grep -c "event=task.running ")
t_stop=$(date +%s)
# A crash, not a graceful stop: a graceful one can take tens of seconds on a loaded host and
# let every running task report before the connections close.
rabbitmq_kill
t_down=$(date +%s)
echo "# broker killed after $(elapsed)s; $done_n finished, $running_before started"
sleep 4
check "broker down: scheduler stays up" curl -sf "$SCHED_URL/health" -o /dev/null
for f in "$W1LOG" "$W2LOG"; do
	check "broker down: $(basename "$f") noticed" grep -q "event=consumer.disconnected" "$f"
done
# Tasks that were running go on while the broker is away: their artifacts are stored, their
# final reports wait in the publisher (task.finished is logged once the broker confirmed it).
for i in $(seq 1 100); do
	stored_down=$(cat "$W1LOG" "$W2LOG" | grep -c "event=artifacts.stored ")
	finished_down=$(cat "$W1LOG" "$W2LOG" | grep -c "event=task.finished ")
	waiting=$((stored_down - finished_down))
	[ "$waiting" -gt 0 ] && break
	sleep 0.2
done
check "broker down: final reports wait in the publishers ($waiting)" [ "$waiting" -gt 0 ]
rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server restarts"; dump_logs; finish; exit 1; }
ok "rabbitmq-server restarted on the same port ($(elapsed)s, down $(($(date +%s) - t_down))s)"

# All tasks reach a final state (bounded).
deadline=$(($(date +%s) + ${ALTS_RESTART_WAIT:-240}))
while [ "$(date +%s)" -lt "$deadline" ]; do
	fin=$(count_state finished)
	fl=$(count_state failed)
	[ $((fin + fl)) -ge "$NTASKS" ] && break
	sleep 1
done
fin=$(count_state finished)
echo "# all final after $(elapsed)s: finished=$fin failed=$(count_state failed) queued=$(count_state queued) running=$(count_state running)"
check "all $NTASKS finished ($fin)" [ "$fin" = "$NTASKS" ]
check "none failed" [ "$(count_state failed)" = 0 ]
check "none canceled" [ "$(count_state canceled)" = 0 ]
check "none still queued" [ "$(count_state queued)" = 0 ]
check "none still running" [ "$(count_state running)" = 0 ]
list_state finished | sort >"$SCRATCH/finished"
check "the finished ones are exactly the submitted ones (each listed once)" cmp -s <(sort -u "$SCRATCH/ids") "$SCRATCH/finished"

# Let late redeliveries settle, then look at every task.
sleep 3
cat "$W1LOG" "$W2LOG" | sed -n 's/.*event=task\.running task=\([^ ]*\) .*/\1/p' | sort | uniq -c >"$SCRATCH/runs"
twice=$(awk '$1 > 1' "$SCRATCH/runs" | wc -l)
thrice=$(awk '$1 > 2' "$SCRATCH/runs" | wc -l)
echo "# runs: $(awk '{s += $1} END {print s}' "$SCRATCH/runs") for $NTASKS tasks; ran twice: $twice; more than twice: $thrice"
echo "# task.duplicate lines: $(cat "$W1LOG" "$W2LOG" | grep -c "event=task.duplicate ")" \
	"redelivered=true: $(cat "$W1LOG" "$W2LOG" | grep -c "event=task.received .*redelivered=true")" \
	"reports that waited for the broker: $waiting"
echo "# worker warnings: $(cat "$W1LOG" "$W2LOG" | sed -n 's/.*level=\(warn\|error\) event=\([^ ]*\).*/\2/p' | sort | uniq -c | awk '{printf "%s%s=%s", sep, $2, $1; sep=" "}')"
check "every task ran at least once" [ "$(wc -l <"$SCRATCH/runs")" = "$NTASKS" ]
bad_results=0 bad_tap=0 bad_twice=0
: >"$SCRATCH/bad"
while read -r id; do
	r=$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id/result")
	if [ "$(jq -r '.state + " " + (.result.success | tostring)' <<<"$r")" != "finished true" ]; then
		bad_results=$((bad_results + 1))
		echo "result $id: $r" >>"$SCRATCH/bad"
	fi
	tap=$SCRATCH/store/$id/report.tap
	if ! { [ -s "$tap" ] && grep -q '^1\.\.2$' "$tap" && [ "$(grep -c '^ok ' "$tap")" = 2 ] &&
		! grep -q '^not ok' "$tap" && [ -s "$SCRATCH/store/$id/report.xml" ] &&
		jq -e . "$SCRATCH/store/$id/result.json" >/dev/null 2>&1 &&
		grep -q "$marker" "$SCRATCH/store/$id"/logs/01-nap.log; }; then
		bad_tap=$((bad_tap + 1))
		echo "artifacts $id: $(ls -R "$SCRATCH/store/$id" 2>&1 | tr '\n' ' ')" >>"$SCRATCH/bad"
	fi
done <"$SCRATCH/ids"
# A task that ran twice: one final result, from one of the workers that ran it, the task's own
# summary in the store finished too, and a TAP that prove accepts.
while read -r n id; do
	[ "$n" -gt 1 ] || continue
	t=$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id")
	w=$(jq -r .worker <<<"$t")
	if [ "$(jq -r .state <<<"$t")" != finished ] || ! [[ "$w" =~ /($W1|$W2)$ ]] ||
		[ "$(jq -r .state "$SCRATCH/store/results/$id.json" 2>/dev/null)" != finished ] ||
		{ command -v prove >/dev/null && ! prove -e cat "$SCRATCH/store/$id/report.tap" >/dev/null 2>&1; }; then
		bad_twice=$((bad_twice + 1))
		echo "twice $id: $t" >>"$SCRATCH/bad"
	fi
done <"$SCRATCH/runs"
check "every task: one final result, finished, success true ($bad_results bad)" [ "$bad_results" = 0 ]
check "every task: report.tap (1..2, 2 ok), report.xml, result.json and the logs stored ($bad_tap bad)" [ "$bad_tap" = 0 ]
check "tasks that ran twice ($twice): one final result each, artifacts parse ($bad_twice bad)" [ "$bad_twice" = 0 ]
[ -s "$SCRATCH/bad" ] && head -5 "$SCRATCH/bad" | sed 's/^/# /'
if command -v prove >/dev/null; then
	id=$(head -1 "$SCRATCH/ids")
	check "a report.tap parses with prove" prove -e cat "$SCRATCH/store/$id/report.tap" >/dev/null 2>&1
fi
check "the scheduler serves a task's report.tap" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$(tail -1 "$SCRATCH/ids")/report.tap")" = "$(cat "$SCRATCH/store/$(tail -1 "$SCRATCH/ids")/report.tap")" ]

# The workers: alive, reconnected, both took tasks, nothing left over.
for w in "$W1:$W1LOG" "$W2:$W2LOG"; do
	pid=${w%%:*} log=${w#*:} name=$(basename "${w#*:}" .log)
	check "$name is alive" proc_alive "$pid"
	check "$name: the consumer reconnected ($(grep -c "event=consumer.connected" "$log") connects)" [ "$(grep -c "event=consumer.connected" "$log")" -ge 2 ]
	check "$name: the publisher reconnected ($(grep -c "event=publish.connected" "$log") connects)" [ "$(grep -c "event=publish.connected" "$log")" -ge 2 ]
	check "$name took tasks before and after the restart ($(grep -c "event=task.running " "$log") runs)" [ "$(grep -c "event=task.running " "$log")" -ge 2 ]
	check "$name: no report dropped" fails grep -q "event=publish.dropped" "$log"
done
ran_after=$(( $(cat "$W1LOG" "$W2LOG" | grep -c "event=task.running ") - running_before ))
check "tasks ran after the restart ($ran_after)" [ "$ran_after" -gt 0 ]
check "task queue drained" [ "$("$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" local-x86_64-0 | wc -l)" = 0 ]
check "the scheduler sees the broker again" [ "$(curl -s "$SCHED_URL/health" | jq -r .broker)" = connected ]

for p in "$W1" "$W2"; do
	kill -TERM "$p" 2>/dev/null
	wait "$p"
	rc=$?
	check "worker $p stops cleanly ($rc)" [ "$rc" = 0 ]
done
WORKER_PIDS=()
sched_stop
check "no sanitizer reports in the worker logs" fails grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|ERROR: ThreadSanitizer\|runtime error:" "$W1LOG" "$W2LOG"
check "no sanitizer reports in the scheduler log" fails grep -q "Sanitizer\|runtime error:" "$SCRATCH/scheduler.log"
echo "# runtime $(elapsed)s"
[ "$FAILED" = 0 ] || dump_logs
finish
