#!/usr/bin/env bash
# End to end, POST -> result available, for a trivial task (one `launch: true` check on the local
# runner): alts-scheduler + alts-worker against the FastAPI peer + Celery workers, the same
# RabbitMQ, the same driver (bench/worker_e2e.py). Prints p50/p99 and tasks/s and the ratios.
# See bench/README.md.
#
# usage: bench/worker_vs_celery.sh [-n TASKS] [--workers N] [--threads N] [--celery-pool POOL]
#            [--celery-prefetch M] [--celery-backend URL] [--celery-only] [--no-install]
#
# -n tasks per phase (500), --workers worker processes per stack (2), --threads tasks each runs at
# once (8), --celery-pool threads (default) or prefork, --celery-prefetch Celery's
# worker_prefetch_multiplier (0 = unlimited, the default; see README), --celery-backend the
# Celery result backend (file:// under the scratch directory), --celery-only skips alts.
# Environment: ALTS_BUILD_DIR (default /tmp/alts-build-bench); ALTS_BENCH_KEEP=1 keeps the
# scratch directory (logs, databases), as does a failure.
# Exit status: 0 done, 2 usage, 3 environment failure.
set -u -o pipefail

me=worker_vs_celery.sh
tasks=500
nworkers=2
threads=8
celery_pool=threads
celery_prefetch=0
celery_backend=
celery_only=0
no_install=0 # read by peers/lib.sh
export no_install

usage() {
	sed -n '7,17s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
	case $1 in
	-n) tasks=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--workers) nworkers=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--threads) threads=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--celery-pool) celery_pool=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--celery-prefetch) celery_prefetch=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--celery-backend) celery_backend=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--celery-only) celery_only=1; shift ;;
	--no-install) no_install=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
for v in "$tasks" "$nworkers" "$threads"; do
	case $v in ''|*[!0-9]*|0) echo "$me: invalid number '$v'" >&2; exit 2 ;; esac
done
case $celery_prefetch in ''|*[!0-9]*) echo "$me: invalid prefetch multiplier '$celery_prefetch'" >&2; exit 2 ;; esac
case $celery_pool in threads|prefork) ;; *) echo "$me: --celery-pool is threads or prefork" >&2; exit 2 ;; esac

src=$(cd "$(dirname "$0")/.." && pwd)
build=${ALTS_BUILD_DIR:-/tmp/alts-build-bench}
py=/usr/bin/python3 # Debian's python, which has Debian's packages (not a pyenv one on PATH)
tmp=$(mktemp -d /tmp/alts-bench.XXXXXX) || { echo "$me: cannot create a temporary directory" >&2; exit 3; }
pids=()
# shellcheck source=peers/lib.sh
. "$src/bench/peers/lib.sh"
stop_all() {
	local p
	for p in "${pids[@]}"; do stop_pid "$p"; done
	pids=()
}
cleanup() {
	stop_all
	bench_broker_stop
	bench_cleanup_tmp
}
trap cleanup EXIT
trap 'exit 3' INT TERM

bench_install rabbitmq-server python3-fastapi python3-uvicorn python3-jwt python3-celery python3-sqlalchemy \
	python3-uvloop python3-httptools
# shellcheck disable=SC2086 # word-split on purpose where used
uvicorn_flags=$(uvicorn_fast_flags) || exit 3
bench_build alts-scheduler alts-token
alts_ready=0
if [ $celery_only = 0 ]; then
	if cmake --build "$build" -j"$(nproc)" --target alts-worker >"$tmp/worker-build.log" 2>&1 &&
		"$build/alts-worker" --help >"$tmp/worker-help" 2>&1; then
		alts_ready=1
	else
		note "alts-worker is not ready (build or 'alts-worker --help' failed: $(tail -n 1 "$tmp/worker-build.log" "$tmp/worker-help" 2>/dev/null | grep -v '^==' | grep . | tail -n 1)); measuring Celery only"
	fi
fi
bench_broker_start

secret=bench-secret-$RANDOM$RANDOM
queue=local-x86_64-0 # runner_type local, dist_arch x86_64, cost 0: the payload of worker_e2e.py
hz=$(getconf CLK_TCK)
token=$("$build/alts-token" -s "$secret" -a HS256 -e bench@example.com --expires 1d) || die "alts-token failed"

# wait_consumers N: until the task queue has N consumers (120 s at most).
wait_consumers() {
	local i n
	for i in $(seq 1 120); do
		n=$(rmqctl list_queues -q name consumers 2>/dev/null | awk -v q="$queue" '$1 == q { print $2 }')
		[ "${n:-0}" -ge "$1" ] && return 0
		sleep 1
	done
	die "the $1 workers did not all consume '$queue' (logs: $tmp)"
}

# run_side NAME URL: the driver against URL; CPU of the server (${pids[0]}), of the workers (the
# other $pids) and of the broker, per task.
run_side() {
	local s0 s1 w0=0 w1=0 b0 b1 p
	s0=$(tree_ticks "${pids[0]}")
	for p in "${pids[@]:1}"; do w0=$((w0 + $(tree_ticks "$p"))); done
	b0=$(tree_ticks "$broker_pid")
	"$py" "$src/bench/worker_e2e.py" run --url "$2" --token "$token" --name "$1" -n "$tasks" \
		--out "$tmp/$1.json" >"$tmp/$1.out" 2>&1 || { cat "$tmp/$1.out" >&2; die "the $1 run failed (logs: $tmp)"; }
	s1=$(tree_ticks "${pids[0]}")
	for p in "${pids[@]:1}"; do w1=$((w1 + $(tree_ticks "$p"))); done
	b1=$(tree_ticks "$broker_pid")
	# 2 phases of $tasks tasks plus the driver's warm-up task
	awk -v s=$((s1 - s0)) -v w=$((w1 - w0)) -v b=$((b1 - b0)) -v n=$((2 * tasks + 1)) -v hz="$hz" -v name="$1" \
		'BEGIN { f = 1000 / hz / n; printf "%s %.2f %.2f %.2f\n", name, s * f, w * f, b * f }' >>"$tmp/cpu"
	rmqctl purge_queue -q "$queue" >/dev/null 2>&1
	return 0
}

echo "POST -> result, trivial local task, $tasks tasks per phase, $nworkers workers x $threads;" \
	"$(nproc) CPUs, load average $(load_avg) at the start"
bench_peer_versions
sides=()

# --- alts: alts-scheduler -> RabbitMQ -> alts-worker -> results queue -> GET result ---
if [ $alts_ready = 1 ]; then
	d=$tmp/alts
	mkdir -p "$d"
	cat >"$d/config.yaml" <<-EOF
		jwt_secret: $secret
		working_directory: $d/wd
		rabbitmq_host: 127.0.0.1
		rabbitmq_port: $amqp_port
		rabbitmq_user: guest
		rabbitmq_password: guest
		rabbitmq_vhost: /
		supported_runners: [local]
		results_queue: alts-results
		worker_queues: [$queue]
		worker_concurrency: $threads
		result_backend: file
		file_store_directory: $d/artifacts
	EOF
	"$build/alts-scheduler" -c "$d/config.yaml" --port 0 --port-file "$d/port" 2>"$d/scheduler.log" &
	pids+=($!)
	for i in $(seq 1 100); do
		[ -s "$d/port" ] && break
		kill -0 "${pids[0]}" 2>/dev/null || { cat "$d/scheduler.log" >&2; die "alts-scheduler did not start"; }
		sleep 0.1
	done
	for i in $(seq 1 "$nworkers"); do
		"$build/alts-worker" -c "$d/config.yaml" --queues "$queue" --concurrency "$threads" \
			2>"$d/worker$i.log" &
		pids+=($!)
	done
	wait_consumers "$nworkers"
	run_side alts "http://127.0.0.1:$(cat "$d/port")"
	stop_all
	# Where an alts task's time goes, from the scheduler's timestamps (ms): accepted ->
	# published (broker confirm) -> running (the worker's report, committed) -> finished.
	# The latency phase only (the warm-up task and the next $tasks): no queueing.
	"$py" - "$d/wd/scheduler.db" $((tasks + 1)) >"$tmp/alts-breakdown" <<-'EOF'
		import sqlite3, statistics, sys
		rows = sqlite3.connect(sys.argv[1]).execute(
		    "SELECT published_ms - created_ms, started_ms - published_ms, finished_ms - started_ms,"
		    " finished_ms - created_ms FROM tasks WHERE state = 'finished' ORDER BY seq LIMIT ?",
		    (int(sys.argv[2]),)).fetchall()
		if rows:
		    med = [statistics.median(r[i] for r in rows) for i in range(4)]
		    print("alts latency phase, medians over %d tasks (ms): accepted->published %d,"
		          " published->running %d, running->finished %d; accepted->finished %d" % (len(rows), *med))
	EOF
	sides+=("$tmp/alts.json")
	note "alts done (load average $(load_avg))"
fi

# --- Celery: FastAPI peer -> RabbitMQ -> Celery worker -> result backend -> GET result ---
d=$tmp/celery
mkdir -p "$d/results"
port=$(free_port) || die "no free port"
export ALTS_BENCH_JWT_SECRET=$secret ALTS_BENCH_DIR=$d ALTS_BENCH_DB=$d/fastapi.db \
	ALTS_BENCH_BROKER=amqp://guest:guest@127.0.0.1:$amqp_port// \
	ALTS_BENCH_RESULT_BACKEND=${celery_backend:-file://$d/results} \
	ALTS_BENCH_PREFETCH_MULTIPLIER=$celery_prefetch ALTS_BENCH_SUPPORTED_RUNNERS=local
"$py" -m uvicorn fastapi_app:app --app-dir "$src/bench/peers" --host 127.0.0.1 --port "$port" \
	--workers "$(nproc)" $uvicorn_flags --no-access-log --log-level warning 2>"$d/uvicorn.log" &
pids+=($!)
wait_port "$port" "${pids[0]}" || { cat "$d/uvicorn.log" >&2; die "uvicorn did not start"; }
for i in $(seq 1 "$nworkers"); do
	(cd "$src/bench/peers" && exec "$py" -m celery -A celery_app worker --pool="$celery_pool" \
		--concurrency="$threads" -Q "$queue" -n "w$i-$$@%h" --without-gossip --without-mingle \
		--without-heartbeat -l warning) >"$d/worker$i.log" 2>&1 &
	pids+=($!)
done
wait_consumers "$nworkers"
run_side celery "http://127.0.0.1:$port"
stop_all
sides+=("$tmp/celery.json")
echo "load average $(load_avg) at the end"
echo

"$py" "$src/bench/worker_e2e.py" table "${sides[@]}"
awk '{ printf "CPU ms per task, %-7s server %6.2f + workers %6.2f = %6.2f; broker %5.2f\n", $1 ":", $2, $3, $2 + $3, $4 }' "$tmp/cpu"
[ -s "$tmp/alts-breakdown" ] && cat "$tmp/alts-breakdown"
echo
[ $alts_ready = 1 ] && echo "alts: alts-scheduler + $nworkers alts-worker --concurrency $threads"
echo "Celery: uvicorn --workers $(nproc) $uvicorn_flags + $nworkers celery worker --pool=$celery_pool" \
	"--concurrency=$threads, prefetch multiplier $celery_prefetch, result backend ${celery_backend:-file://}"
[ $alts_ready = 1 ] || [ $celery_only = 1 ] || echo "alts-worker was not ready: only the Celery side was measured"
exit 0
