# shellcheck shell=bash
# Sourced by bench/scheduler_vs_fastapi.sh and bench/worker_vs_celery.sh: what both peer
# benchmarks need. The caller sets: src (the source tree), build (the build directory), tmp (a
# scratch directory removed at exit), me (its name, for messages), and before sourcing,
# optionally no_install=1.
#   bench_install PKG...          apt-get installs the Debian packages that are missing
#   bench_build TARGET...         builds alts programs in $build (incremental)
#   bench_broker_start            a private rabbitmq-server on a free loopback port ($amqp_port)
#   bench_broker_stop
#   rmqctl ARGS...                rabbitmqctl against that node
#   queue_messages QUEUE          messages ready in QUEUE (0 when it does not exist)
#   broker_published              messages clients published to the broker so far (AMQP 0-9-1,
#                                 its global counter: no management plugin needed)
#   tree_ticks PID                CPU clock ticks (user+system) of PID and its descendants
#   wait_port PORT PID            waits until PORT accepts connections while PID lives
#   stop_pid PID                  SIGTERM, 10 s, then SIGKILL; reaps it
#   load_avg                      the 1-minute load average
#   bench_cleanup_tmp             removes $tmp, or keeps it after die or with ALTS_BENCH_KEEP=1
#   uvicorn_fast_flags            uvicorn's flags for its fastest modes (--loop uvloop --http
#                                 httptools); dies when either is missing (no silent fallback)
#   bench_peer_versions           prints the peers' versions and modes (one line each)

# No __pycache__ next to the peers in the source tree.
export PYTHONDONTWRITEBYTECODE=1

# die sets bench_failed: the caller's cleanup keeps the scratch directory (logs) then.
die() { echo "$me: $*" >&2; bench_failed=1; exit 3; }
note() { echo "$me: $*" >&2; }

bench_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "${no_install:-0}" = 1 ] && die "missing Debian packages: ${missing[*]} (without --no-install they are installed)"
	note "installing ${missing[*]} with apt-get"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
		>"$tmp/apt.log" 2>&1; then
		apt-get update >>"$tmp/apt.log" 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
			>>"$tmp/apt.log" 2>&1 || { tail -n 20 "$tmp/apt.log" >&2; die "cannot install ${missing[*]}"; }
	fi
}

bench_build() {
	local t ok=1
	if { [ -f "$build/CMakeCache.txt" ] ||
		cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALTS_TESTS=OFF; } \
		>"$tmp/build.log" 2>&1 && cmake --build "$build" -j"$(nproc)" --target "$@" >>"$tmp/build.log" 2>&1; then
		return 0
	fi
	for t in "$@"; do [ -x "$build/$t" ] || ok=0; done
	if [ $ok = 1 ]; then
		tail -n 20 "$tmp/build.log" >&2
		note "warning: the build in '$build' failed (above); using the programs already there"
		return 0
	fi
	tail -n 30 "$tmp/build.log" >&2
	die "cannot build $* in '$build'"
}

bench_broker_start() {
	# shellcheck source=../../tests/integration/lib/rabbitmq.sh
	. "$src/tests/integration/lib/rabbitmq.sh"
	local attempt
	export ERL_CRASH_DUMP=$tmp/erl_crash.dump
	note "starting rabbitmq-server (about 40 s)"
	# Its three ports are probed free, not reserved: another test may take one meanwhile
	# (dist_port_already_used). Then start again on new ports.
	for attempt in 1 2 3; do
		rm -rf "$tmp/rabbitmq"
		rabbitmq_start "$tmp/rabbitmq" 2>"$tmp/rabbitmq-start.err" && break
		[ $attempt = 3 ] && { cat "$tmp/rabbitmq-start.err" >&2; die "rabbitmq-server did not start (log: $tmp/rabbitmq/server.out)"; }
		note "rabbitmq-server did not start ($(grep -o 'dist_port_already_used\|eaddrinuse' "$tmp/rabbitmq/server.out" | head -n 1)); again on other ports"
		wait "$RABBITMQ_TEST_PID" 2>/dev/null
		pkill_epmd_port "$(awk '{print $3}' "$tmp/rabbitmq/ports")"
	done
	# shellcheck disable=SC2034 # for the caller
	amqp_port=$RABBITMQ_TEST_PORT broker_pid=$RABBITMQ_TEST_PID
}

bench_broker_stop() {
	[ -n "${RABBITMQ_TEST_PID:-}" ] && rabbitmq_stop 2>/dev/null
	return 0
}

rmqctl() {
	"$RABBITMQ_BIN/rabbitmqctl" -n "$RABBITMQ_TEST_NODE" "$@"
}

broker_published() {
	rmqctl eval -q 'maps:get(messages_received_total, maps:get([{protocol, amqp091}], rabbit_global_counters:overview())).' 2>/dev/null ||
		echo 0
}

queue_messages() {
	rmqctl list_queues -q name messages 2>/dev/null | awk -v q="$1" '$1 == q { n = $2 } END { print n + 0 }'
}

# tree_pids PID: PID and its live descendants.
tree_pids() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END {
			keep[root] = 1; changed = 1
			while (changed) { changed = 0
				for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 } }
			for (p in keep) print p
		}'
}

# tree_stat_sum PID A B: the sum of /proc/P/stat fields A and B (counted after the command name)
# over tree_pids PID.
tree_stat_sum() {
	local pid sum=0 stat rest a=$2 b=$3
	for pid in $(tree_pids "$1"); do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		rest=${stat##*) }
		# shellcheck disable=SC2086
		set -- $rest
		sum=$((sum + ${!a} + ${!b}))
	done
	echo "$sum"
}

# tree_ticks PID: CPU ticks (utime + stime) of PID and its live descendants.
tree_ticks() {
	tree_stat_sum "$1" 12 13
}

# reaped_ticks PID: CPU ticks of the processes PID and its live descendants have reaped (their
# children's cutime + cstime): the commands a worker ran, which tree_ticks does not see.
reaped_ticks() {
	tree_stat_sum "$1" 14 15
}

wait_port() {
	for _ in $(seq 1 300); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

stop_pid() {
	[ -n "${1:-}" ] || return 0
	kill "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
	for _ in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

load_avg() {
	cut -d' ' -f1 /proc/loadavg
}

bench_cleanup_tmp() {
	if [ "${bench_failed:-0}" = 1 ] || [ "${ALTS_BENCH_KEEP:-0}" = 1 ]; then
		echo "$me: logs kept in $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}

# The peer at full strength: uvicorn silently falls back to asyncio and h11 (about 44 ms per
# request here) when uvloop or httptools is missing, which makes the peer look far slower than it
# is. The packages are installed (bench_install) and the modes forced: uvicorn then fails instead of
# falling back.
uvicorn_fast_flags() {
	"$py" -c 'import uvloop, httptools' 2>"$tmp/uvloop.err" ||
		die "uvloop or httptools missing for $py: $(tail -n 1 "$tmp/uvloop.err")"
	echo "--loop uvloop --http httptools"
}

bench_peer_versions() {
	"$py" - <<-'EOF'
		import importlib, platform
		def v(m):
		    try:
		        return importlib.import_module(m).__version__
		    except Exception as e:
		        return "missing (%s)" % type(e).__name__
		print("peer versions: Python %s; fastapi %s, uvicorn %s (--loop uvloop %s, --http httptools %s),"
		      " celery %s, kombu %s, amqp %s" % (platform.python_version(), v("fastapi"), v("uvicorn"),
		      v("uvloop"), v("httptools"), v("celery"), v("kombu"), v("amqp")))
	EOF
	echo "broker: rabbitmq-server $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null)," \
		"erlang $(dpkg-query -W -f='${Version}' erlang-base 2>/dev/null)"
}
