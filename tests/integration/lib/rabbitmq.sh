# Sourced by integration tests: a private rabbitmq-server on loopback.
#   rabbitmq_start DIR   starts a node whose data, logs and ports live under DIR;
#                        sets RABBITMQ_TEST_PORT (AMQP) and RABBITMQ_TEST_NODE
#   rabbitmq_stop        stops it (data kept: rabbitmq_start DIR again restarts it)
#   rabbitmq_kill        kills it with SIGKILL at once (a crash: connections drop mid-flight;
#                        rabbitmq_start DIR restarts it and recovers durable queues)
# With RABBITMQ_TLS_DIR set (ca.pem, server.pem, server.key in it) the node also listens for
# AMQPS on RABBITMQ_TEST_TLS_PORT and requires a client certificate signed by that CA.
# Each node gets its own free AMQP, distribution and epmd ports, so tests can run
# beside a system broker and each other. Needs rabbitmq-server (skip otherwise).

# The scripts under /usr/lib/rabbitmq/bin run as the calling user; /usr/sbin wrappers switch to
# the rabbitmq user, which cannot write our temporary directory.
RABBITMQ_BIN=${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}

# free_port: prints a TCP port nobody listens on (bind-and-release through bash's /dev/tcp is
# not possible, so probe upwards from a random start).
free_port() {
	local p
	for _ in $(seq 1 200); do
		# Below Linux's ephemeral range (32768-60999), where outgoing connections take ports.
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

rabbitmq_start_once() {
	local dir=$1 i
	mkdir -p "$dir/mnesia" "$dir/log"
	if [ ! -f "$dir/ports" ]; then
		echo "$(free_port) $(free_port) $(free_port) alts-test-$$-$RANDOM $(free_port)" >"$dir/ports"
	fi
	read -r RABBITMQ_TEST_PORT _dist _epmd _name RABBITMQ_TEST_TLS_PORT <"$dir/ports"
	RABBITMQ_TEST_NODE="$_name@localhost"
	RABBITMQ_TEST_DIR=$dir
	export RABBITMQ_NODENAME=$RABBITMQ_TEST_NODE RABBITMQ_MNESIA_BASE=$dir/mnesia \
		RABBITMQ_LOG_BASE=$dir/log RABBITMQ_NODE_PORT=$RABBITMQ_TEST_PORT \
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_DIST_PORT=$_dist ERL_EPMD_PORT=$_epmd \
		RABBITMQ_CONFIG_FILE=$dir/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins \
		RABBITMQ_PID_FILE=$dir/rabbitmq.pid HOME=$dir ERL_CRASH_DUMP=$dir/erl_crash.dump
	echo "[]." >"$dir/enabled_plugins"
	printf 'loopback_users = none\nlisteners.tcp.default = 127.0.0.1:%s\n' "$RABBITMQ_TEST_PORT" >"$dir/rabbitmq.conf"
	if [ -n "${RABBITMQ_TLS_DIR:-}" ]; then
		printf '%s\n' "listeners.ssl.default = 127.0.0.1:$RABBITMQ_TEST_TLS_PORT" \
			"ssl_options.cacertfile = $RABBITMQ_TLS_DIR/ca.pem" \
			"ssl_options.certfile = $RABBITMQ_TLS_DIR/server.pem" \
			"ssl_options.keyfile = $RABBITMQ_TLS_DIR/server.key" \
			"ssl_options.verify = verify_peer" \
			"ssl_options.fail_if_no_peer_cert = true" >>"$dir/rabbitmq.conf"
	fi
	"$RABBITMQ_BIN/rabbitmq-server" >>"$dir/server.out" 2>&1 &
	RABBITMQ_TEST_PID=$!
	for i in $(seq 1 "${RABBITMQ_START_TIMEOUT:-240}"); do  # half-seconds: a loaded CI box needs more than a minute
		if (exec 3<>"/dev/tcp/127.0.0.1/$RABBITMQ_TEST_PORT") 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$RABBITMQ_TEST_PID" 2>/dev/null; then
			echo "rabbitmq-server exited; see $dir/server.out" >&2
			tail -20 "$dir/server.out" >&2
			return 1
		fi
		sleep 0.5
	done
	echo "rabbitmq-server did not open port $RABBITMQ_TEST_PORT" >&2
	return 1
}

# A first start whose ports were taken meanwhile (another test's node, an outgoing
# connection) is retried on fresh ports; a restart keeps its ports (clients reconnect there).
rabbitmq_start() {
	local dir=$1 attempt fresh=0
	[ -f "$dir/ports" ] || fresh=1
	for attempt in 1 2 3; do
		rabbitmq_start_once "$dir" && return 0
		[ "$fresh" = 1 ] && grep -q 'already_used\|eaddrinuse' "$dir/server.out" 2>/dev/null || return 1
		echo "rabbitmq-server: a port was taken; retrying on other ports ($attempt)" >&2
		pkill_epmd_port "$(awk '{print $3}' "$dir/ports")"
		rm -f "$dir/ports"
		: >"$dir/server.out"
	done
	return 1
}

rabbitmq_stop() {
	[ -n "${RABBITMQ_TEST_PID:-}" ] || return 0
	"$RABBITMQ_BIN/rabbitmqctl" -n "$RABBITMQ_TEST_NODE" stop >/dev/null 2>&1 || kill "$RABBITMQ_TEST_PID" 2>/dev/null
	wait "$RABBITMQ_TEST_PID" 2>/dev/null
	RABBITMQ_TEST_PID=
	# epmd started for this node's port outlives it; stop it too.
	pkill_epmd_port "$(awk '{print $3}' "$RABBITMQ_TEST_DIR/ports")"
}

rabbitmq_kill() {
	[ -n "${RABBITMQ_TEST_PID:-}" ] || return 0
	local pids="$RABBITMQ_TEST_PID $(pgrep -P "$RABBITMQ_TEST_PID" 2>/dev/null)"
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	wait "$RABBITMQ_TEST_PID" 2>/dev/null
	RABBITMQ_TEST_PID=
	pkill_epmd_port "$(awk '{print $3}' "$RABBITMQ_TEST_DIR/ports")"
}

# Stops the epmd that listens on the given port (only that one, by pid).
pkill_epmd_port() {
	local port=$1 pid
	for pid in $(pgrep -x epmd 2>/dev/null); do
		if { tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-port $port\b"; } 2>/dev/null ||
			{ tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "ERL_EPMD_PORT=$port"; } 2>/dev/null; then
			kill "$pid" 2>/dev/null
		fi
	done
}
