# Sourced by the scheduler integration tests: runs alts-scheduler on a free loopback port.
#   sched_start CONFIG [ARGS...]  starts it; sets SCHED_URL and SCHED_PID
#   sched_stop                    stops it
#   token [ARGS...]               alts-token with the test secret
ALTS_BUILD_DIR=${ALTS_BUILD_DIR:?ALTS_BUILD_DIR must point at the build directory}
ALTS_SCHEDULER=${ALTS_SCHEDULER:-$ALTS_BUILD_DIR/alts-scheduler}
ALTS_TOKEN_BIN=${ALTS_TOKEN_BIN:-$ALTS_BUILD_DIR/alts-token}
[ -x "$ALTS_SCHEDULER" ] && [ -x "$ALTS_TOKEN_BIN" ] || { echo "SKIP: alts-scheduler not built"; exit 77; }

sched_start() {
	local config=$1 i
	shift
	rm -f "$SCRATCH/port"
	"$ALTS_SCHEDULER" -c "$config" --port 0 --port-file "$SCRATCH/port" "$@" 2>>"$SCRATCH/scheduler.log" &
	SCHED_PID=$!
	for i in $(seq 1 100); do
		[ -s "$SCRATCH/port" ] && break
		kill -0 "$SCHED_PID" 2>/dev/null || { cat "$SCRATCH/scheduler.log" >&2; return 1; }
		sleep 0.1
	done
	SCHED_URL="http://127.0.0.1:$(cat "$SCRATCH/port")"
}

sched_stop() {
	[ -n "${SCHED_PID:-}" ] || return 0
	kill "$SCHED_PID" 2>/dev/null
	wait "$SCHED_PID" 2>/dev/null
	SCHED_PID=
}

# curl_json METHOD PATH [BODY] [extra curl args]: prints "STATUS BODY" on one line.
curl_json() {
	local method=$1 path=$2 body=${3-} out
	shift 3 2>/dev/null || shift $#
	if [ -n "$body" ]; then
		out=$(curl -s -o "$SCRATCH/resp" -w '%{http_code}' -X "$method" -H 'Content-Type: application/json' \
			--data-binary "$body" "$@" "$SCHED_URL$path")
	else
		out=$(curl -s -o "$SCRATCH/resp" -w '%{http_code}' -X "$method" "$@" "$SCHED_URL$path")
	fi
	echo "$out $(cat "$SCRATCH/resp")"
}
