# Sourced by integration tests: the Pulp stand-in (tests/tools/pulp_standin.py, written from
# Pulp's published REST API: no real Pulp runs here) on loopback.
#   pulp_standin_start DIR [USER] [PASSWORD]
#                         starts it with its files under DIR/data (artifact/<sha256[:2]>/<rest>);
#                         sets PULP_URL (http://127.0.0.1:PORT), PULP_USER, PULP_PASSWORD
#                         (default alts / pulp-secret) and PULP_PID. A restart with the same
#                         DIR reuses the port (the artifacts themselves are not kept).
#   pulp_standin_stop     stops it
#   pulp_api PATH [CURL_ARGS...]   curl with basic auth against $PULP_URL/pulp/api/v3/PATH
#   pulp_control JSON     POST /_standin/state (e.g. {"unavailable": true}); prints the counts
#   pulp_wait_task HREF   polls a task until completed/failed (10 s at most); prints its JSON
PULP_STANDIN=${ALTS_SOURCE_DIR:?}/tests/tools/pulp_standin.py

pulp_standin_start() {
	local dir=$1 port=0 i
	PULP_USER=${2:-alts}
	PULP_PASSWORD=${3:-pulp-secret}
	mkdir -p "$dir"
	[ -f "$dir/port" ] && port=$(cat "$dir/port")
	rm -f "$dir/port.new"
	python3 "$PULP_STANDIN" --dir "$dir/data" --port "$port" --port-file "$dir/port.new" \
		--user "$PULP_USER" --password "$PULP_PASSWORD" --task-delay 0.1 >>"$dir/pulp.log" 2>&1 &
	PULP_PID=$!
	for i in $(seq 1 100); do
		if [ -s "$dir/port.new" ]; then
			mv "$dir/port.new" "$dir/port"
			PULP_URL=http://127.0.0.1:$(cat "$dir/port")
			return 0
		fi
		kill -0 "$PULP_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "# pulp stand-in did not start:" >&2
	tail -5 "$dir/pulp.log" >&2
	return 1
}

pulp_standin_stop() {
	[ -n "${PULP_PID-}" ] || return 0
	kill "$PULP_PID" 2>/dev/null
	wait "$PULP_PID" 2>/dev/null
	PULP_PID=
}

pulp_api() {
	local path=$1
	shift
	curl -s -u "$PULP_USER:$PULP_PASSWORD" "$@" "$PULP_URL/pulp/api/v3/$path"
}

pulp_control() {
	curl -s -X POST -H 'Content-Type: application/json' -d "$1" "$PULP_URL/_standin/state"
}

pulp_wait_task() {
	local t i
	for i in $(seq 1 100); do
		t=$(curl -s -u "$PULP_USER:$PULP_PASSWORD" "$PULP_URL$1")
		case $(jq -r .state <<<"$t") in
		completed | failed) echo "$t"; return 0 ;;
		esac
		sleep 0.1
	done
	echo "$t"
	return 1
}
