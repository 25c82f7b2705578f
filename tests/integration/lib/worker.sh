# Sourced by the worker integration tests (after common.sh, scheduler.sh and rabbitmq.sh).
#   worker_config FILE [EXTRA_YAML]  writes a scheduler+worker config for the running broker:
#                                    file artifact store under $SCRATCH/store, spool under
#                                    $SCRATCH/spool, queue local-x86_64-0
#   worker_start CONFIG [ARGS...]    starts alts-worker; waits until it consumes; sets WORKER_PID
#                                    and WORKER_LOG (every worker gets its own log)
#   worker_stop [PID]                SIGTERM and wait (default: $WORKER_PID)
#   worker_kill9 [PID]               SIGKILL and wait
#   submit_suite SUITE_JSON          POST /tasks/schedule {"runner_type":"local","suite":...}; prints the id
#   wait_result ID [SECONDS]         waits until the task's state is final; prints GET /tasks/ID/result
#   task_state ID                    prints the task's state
#   proc_alive PID                   true when PID runs (a zombie counts as dead)
#   workers_kill_all                 SIGKILLs every pid in WORKER_PIDS (tests add theirs; for cleanup)
#   dump_logs                        prints the tail of every worker log and the scheduler's
#   fails CMD...                     true when CMD fails (for `check "..." fails ...`)
# Needs sched_start to have run (SCHED_URL) and AUTH to hold the Authorization header.
fails() { ! "$@"; }
ALTS_WORKER=${ALTS_WORKER:-$ALTS_BUILD_DIR/alts-worker}
[ -x "$ALTS_WORKER" ] || { echo "SKIP: alts-worker not built"; exit 77; }
WORKER_N=0
WORKER_PIDS=()

workers_kill_all() {
	local p
	for p in "${WORKER_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}

# Keeps the logs of a failed run for a look.
dump_logs() {
	local f
	for f in "$SCRATCH"/worker-*.log "$SCRATCH/scheduler.log"; do
		[ -f "$f" ] && { echo "# --- $f"; tail -40 "$f" | sed 's/^/# /'; }
	done
}

worker_config() {
	local file=$1 extra=${2-}
	cat >"$file" <<YAML
jwt_secret: worker-test-secret
working_directory: $SCRATCH/wd
rabbitmq_host: 127.0.0.1
rabbitmq_port: $RABBITMQ_TEST_PORT
rabbitmq_user: guest
rabbitmq_password: guest
rabbitmq_vhost: /
supported_runners: [local]
supported_architectures: [x86_64]
worker_queues: [local-x86_64-0]
worker_concurrency: 2
worker_heartbeat: 10
worker_grace_period: 20s
result_backend: file
file_store_directory: $SCRATCH/store
spool_directory: $SCRATCH/spool
YAML
	if [ -n "$extra" ]; then
		# Keys in EXTRA_YAML replace the defaults above.
		local k
		for k in $(printf '%s\n' "$extra" | sed -n 's/^\([a-z_]*\):.*/\1/p'); do
			sed -i "/^$k:/d" "$file"
		done
		printf '%s\n' "$extra" >>"$file"
	fi
}

proc_alive() {
	local st
	st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

worker_start() {
	local config=$1 i
	shift
	WORKER_N=$((WORKER_N + 1))
	WORKER_LOG=$SCRATCH/worker-$WORKER_N.log
	"$ALTS_WORKER" -c "$config" "$@" 2>>"$WORKER_LOG" &
	WORKER_PID=$!
	for i in $(seq 1 150); do
		grep -q 'event=consumer.connected' "$WORKER_LOG" 2>/dev/null && return 0
		proc_alive "$WORKER_PID" || { cat "$WORKER_LOG" >&2; return 1; }
		sleep 0.1
	done
	echo "alts-worker did not connect; see $WORKER_LOG" >&2
	return 1
}

worker_stop() {
	local pid=${1:-${WORKER_PID:-}}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

worker_kill9() {
	local pid=${1:-${WORKER_PID:-}}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

submit_suite() {
	local r
	r=$(curl_json POST /tasks/schedule "{\"runner_type\":\"local\",\"dist_arch\":\"x86_64\",\"suite\":$1}" -H "$AUTH")
	[ "${r%% *}" = 201 ] || { echo "submit failed: $r" >&2; return 1; }
	jq -r .task_id <<<"${r#* }"
}

task_state() {
	curl -s -H "$AUTH" "$SCHED_URL/tasks/$1" | jq -r .state
}

wait_result() {
	local id=$1 secs=${2:-60} i st
	for i in $(seq 1 $((secs * 5))); do
		st=$(task_state "$id")
		case $st in
		finished | failed | canceled)
			curl -s -H "$AUTH" "$SCHED_URL/tasks/$id/result"
			return 0
			;;
		esac
		sleep 0.2
	done
	echo "task $id did not end within ${secs}s (state $st)" >&2
	return 1
}
