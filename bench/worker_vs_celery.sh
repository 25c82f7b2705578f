#!/usr/bin/env bash
# End to end, POST -> result available, for a trivial task (one `launch: true` check on the local
# runner): alts-scheduler + alts-worker against the FastAPI peer + Celery workers, the same
# RabbitMQ, the same driver (bench/worker_e2e.py). Prints p50/p99 and tasks/s and the ratios.
# See bench/README.md.
#
# usage: bench/worker_vs_celery.sh [-n TASKS] [-r ROUNDS] [--workers N] [--threads N]
#            [--celery-pool POOL] [--celery-prefetch M] [--celery-backend URL] [--celery-only]
#            [--alts-before BUILD_DIR] [--alts-report direct|queue] [--poll-ms MS] [--no-install]
#
# -r rounds (1), each side once per round, interleaved; the table shows each number's median.
# --alts-before a second alts build (e.g. of main) measured as one more side, "alts-before".
# --alts-report how alts workers report: direct (default: to the scheduler, scheduler_url with a
# worker token; the results queue only as fallback) or queue (the results queue, one more broker
# message per task); a build without scheduler_url reports through the queue.
# -n tasks per phase (500), --workers worker processes per stack (2), --threads tasks each runs at
# once (8), --celery-pool threads (default) or prefork, --celery-prefetch Celery's
# worker_prefetch_multiplier (0 = unlimited, the default; see README), --celery-backend the
# Celery result backend (file:// under the scratch directory), --celery-only skips alts.
# --poll-ms how often the driver asks for a pending result (5; both sides alike).
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
rounds=1
alts_before=
alts_report=direct
poll_ms=5
no_install=0 # read by peers/lib.sh
export no_install

usage() {
	sed -n '7,23s/^# \{0,1\}//p' "$0"
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
	-r) rounds=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--alts-before) alts_before=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--alts-report) alts_report=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--poll-ms) poll_ms=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--no-install) no_install=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
for v in "$tasks" "$nworkers" "$threads" "$rounds"; do
	case $v in ''|*[!0-9]*|0) echo "$me: invalid number '$v'" >&2; exit 2 ;; esac
done
case $celery_prefetch in ''|*[!0-9]*) echo "$me: invalid prefetch multiplier '$celery_prefetch'" >&2; exit 2 ;; esac
case $celery_pool in threads|prefork) ;; *) echo "$me: --celery-pool is threads or prefork" >&2; exit 2 ;; esac
case $alts_report in direct|queue) ;; *) echo "$me: --alts-report is direct or queue" >&2; exit 2 ;; esac

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
# uvicorn --loop uvloop --http httptools, or die: several words, split where used
uvicorn_flags=$(uvicorn_fast_flags) || exit 3
bench_build alts-scheduler alts-token
if [ -n "$alts_before" ]; then
	alts_before=$(cd "$alts_before" 2>/dev/null && pwd) || die "no build directory '$alts_before'"
	for p in alts-scheduler alts-worker; do
		[ -x "$alts_before/$p" ] || die "no $p in '$alts_before' (build it there first)"
	done
fi
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

# run_side NAME URL TAG: the driver against URL, its summary in $tmp/TAG.json; CPU of the server
# (${pids[0]}), of the workers (the other $pids), of the broker, of the commands the workers ran
# (reaped children) and of the driver, per task, in $tmp/cpu; the messages published to the broker
# per task in $tmp/msgs.
run_side() {
	local s0 s1 w0=0 w1=0 c0=0 c1=0 b0 b1 m0 m1 p d
	m0=$(broker_published)
	s0=$(tree_ticks "${pids[0]}")
	for p in "${pids[@]:1}"; do w0=$((w0 + $(tree_ticks "$p"))); c0=$((c0 + $(reaped_ticks "$p"))); done
	b0=$(tree_ticks "$broker_pid")
	"$py" "$src/bench/worker_e2e.py" run --url "$2" --token "$token" --name "$1" -n "$tasks" --poll-ms "$poll_ms" \
		--out "$tmp/$3.json" >"$tmp/$3.out" 2>&1 || { cat "$tmp/$3.out" >&2; die "the $3 run failed (logs: $tmp)"; }
	s1=$(tree_ticks "${pids[0]}")
	for p in "${pids[@]:1}"; do w1=$((w1 + $(tree_ticks "$p"))); c1=$((c1 + $(reaped_ticks "$p"))); done
	b1=$(tree_ticks "$broker_pid")
	m1=$(broker_published)
	d=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["driver_cpu_ms_per_task"])' "$tmp/$3.json")
	# 2 phases of $tasks tasks plus the driver's warm-up task
	awk -v s=$((s1 - s0)) -v w=$((w1 - w0)) -v b=$((b1 - b0)) -v c=$((c1 - c0)) -v d="$d" -v n=$((2 * tasks + 1)) \
		-v hz="$hz" -v name="$1" \
		'BEGIN { f = 1000 / hz / n; printf "%s %.2f %.2f %.2f %.2f %.2f\n", name, s * f, w * f, b * f, c * f, d }' >>"$tmp/cpu"
	awk -v m=$((m1 - m0)) -v n=$((2 * tasks + 1)) -v name="$1" \
		'BEGIN { printf "%s %.2f\n", name, m / n }' >>"$tmp/msgs"
	rmqctl purge_queue -q "$queue" >/dev/null 2>&1
	return 0
}

# alts_direct BUILD: true when the workers of BUILD report straight to the scheduler here.
alts_direct() {
	[ "$alts_report" = direct ] && "$1/alts-token" --help 2>/dev/null | grep -q -- '--scope worker'
}

# side_alts NAME BUILD ROUND: alts-scheduler -> RabbitMQ -> alts-worker -> the scheduler's report
# route (or the results queue) -> GET result.
side_alts() {
	local name=$1 bin=$2 d=$tmp/$1.r$3 i
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
		results_queue: alts-results-$name
		worker_queues: [$queue]
		worker_concurrency: $threads
		result_backend: file
		file_store_directory: $d/artifacts
	EOF
	"$bin/alts-scheduler" -c "$d/config.yaml" --port 0 --port-file "$d/port" 2>"$d/scheduler.log" &
	pids+=($!)
	for i in $(seq 1 100); do
		[ -s "$d/port" ] && break
		kill -0 "${pids[0]}" 2>/dev/null || { cat "$d/scheduler.log" >&2; die "alts-scheduler did not start"; }
		sleep 0.1
	done
	cp "$d/config.yaml" "$d/worker.yaml"
	if alts_direct "$bin"; then
		"$bin/alts-token" -s "$secret" -a HS256 -e worker@example.com --scope worker >"$d/worker.token" ||
			die "alts-token --scope worker failed"
		printf 'scheduler_url: http://127.0.0.1:%s\nscheduler_token_file: %s\n' "$(cat "$d/port")" \
			"$d/worker.token" >>"$d/worker.yaml"
	fi
	for i in $(seq 1 "$nworkers"); do
		"$bin/alts-worker" -c "$d/worker.yaml" --queues "$queue" --concurrency "$threads" \
			2>"$d/worker$i.log" &
		pids+=($!)
	done
	wait_consumers "$nworkers"
	run_side "$name" "http://127.0.0.1:$(cat "$d/port")" "$name.r$3"
	stop_all
	# Where an alts task's time goes, from the scheduler's timestamps (ms): accepted ->
	# published (broker confirm) -> running (the worker's report, committed) -> finished.
	# The latency phase only (the warm-up task and the next $tasks): no queueing. A task whose
	# running report rode in its final one (worker/publish.c) has running = finished.
	"$py" - "$d/wd/scheduler.db" $((tasks + 1)) "$name" "$3" >>"$tmp/alts-breakdown" <<-'EOF'
		import sqlite3, statistics, sys
		rows = sqlite3.connect(sys.argv[1]).execute(
		    "SELECT published_ms - created_ms, started_ms - published_ms, finished_ms - started_ms,"
		    " finished_ms - created_ms FROM tasks WHERE state = 'finished' ORDER BY seq LIMIT ?",
		    (int(sys.argv[2]),)).fetchall()
		if rows:
		    med = [statistics.median(r[i] for r in rows) for i in range(4)]
		    print("%s round %s latency phase, medians over %d tasks (ms): accepted->published %d,"
		          " published->running %d, running->finished %d; accepted->finished %d" % (sys.argv[3], sys.argv[4], len(rows), *med))
	EOF
}

# side_celery ROUND: FastAPI peer -> RabbitMQ -> Celery worker -> result backend -> GET result.
side_celery() {
	local d=$tmp/celery.r$1 port i
	mkdir -p "$d/results"
	port=$(free_port) || die "no free port"
	export ALTS_BENCH_JWT_SECRET=$secret ALTS_BENCH_DIR=$d ALTS_BENCH_DB=$d/fastapi.db \
		ALTS_BENCH_BROKER=amqp://guest:guest@127.0.0.1:$amqp_port// \
		ALTS_BENCH_RESULT_BACKEND=${celery_backend:-file://$d/results} \
		ALTS_BENCH_PREFETCH_MULTIPLIER=$celery_prefetch ALTS_BENCH_SUPPORTED_RUNNERS=local
	# shellcheck disable=SC2086 # uvicorn_flags: several words
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
	run_side celery "http://127.0.0.1:$port" "celery.r$1"
	stop_all
}

echo "POST -> result, trivial local task, $tasks tasks per phase, $rounds round(s), $nworkers workers x $threads, results polled every $poll_ms ms;" \
	"$(nproc) CPUs, load average $(load_avg) at the start"
bench_peer_versions
for b in "$build" $alts_before; do
	if alts_direct "$b"; then
		echo "alts reports ($b): straight to the scheduler (scheduler_url, POST /internal/tasks/{id}/report; results queue as fallback)"
	else
		echo "alts reports ($b): through the results queue"
	fi
done
names=()
[ $alts_ready = 1 ] && names+=(alts)
[ -n "$alts_before" ] && names+=(alts-before)
names+=(celery)
# Rounds interleave the sides, so that a change of load on a shared machine hits them alike.
for round in $(seq 1 "$rounds"); do
	[ $alts_ready = 1 ] && side_alts alts "$build" "$round"
	[ -n "$alts_before" ] && side_alts alts-before "$alts_before" "$round"
	side_celery "$round"
	note "round $round done (load average $(load_avg))"
done
echo "load average $(load_avg) at the end"
echo

sides=()
for n in "${names[@]}"; do
	if [ "$rounds" -gt 1 ]; then
		echo "round by round, $n:"
		for round in $(seq 1 "$rounds"); do
			"$py" -c 'import json, sys; r = json.load(open(sys.argv[1])); l, t = r["latency"], r["throughput"]
print("  round %s: latency p50 %s ms, p99 %s ms; throughput %s tasks/s, p50 %s ms" % (sys.argv[2], l["p50_ms"], l["p99_ms"], t["tasks_per_s"], t["p50_ms"]))' \
				"$tmp/$n.r$round.json" "$round"
		done
	fi
	"$py" "$src/bench/worker_e2e.py" median --name "$n" --out "$tmp/$n.json" "$tmp/$n".r*.json
	sides+=("$tmp/$n.json")
done
[ "$rounds" -gt 1 ] && echo && echo "medians over $rounds rounds:"
"$py" "$src/bench/worker_e2e.py" table "${sides[@]}"
# CPU per task: the median over the rounds of each column.
awk '{ s[$1] = s[$1] " " $2; w[$1] = w[$1] " " $3; b[$1] = b[$1] " " $4; c[$1] = c[$1] " " $5; d[$1] = d[$1] " " $6 }
	function med(list,   v, n, i, j, t) {
		n = split(list, v, " ")
		for (i = 1; i <= n; i++) { v[i] += 0 }
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	END { for (k in s) printf "CPU ms per task, %-12s server %6.2f + workers %6.2f = %6.2f; broker %5.2f;" \
		" the commands run %5.2f, the driver %5.2f (medians)\n",
		k ":", med(s[k]), med(w[k]), med(s[k]) + med(w[k]), med(b[k]), med(c[k]), med(d[k]) }' "$tmp/cpu" | sort
awk '{ m[$1] = m[$1] " " $2 } END { for (k in m) { split(m[k], v, " "); printf "broker messages published per task, %-12s %.2f\n", k ":", v[1] } }' "$tmp/msgs" | sort
[ -s "$tmp/alts-breakdown" ] && cat "$tmp/alts-breakdown"
echo
[ $alts_ready = 1 ] && echo "alts: alts-scheduler + $nworkers alts-worker --concurrency $threads ($build)"
[ -n "$alts_before" ] && echo "alts-before: the same from $alts_before"
echo "Celery: uvicorn --workers $(nproc) $uvicorn_flags + $nworkers celery worker --pool=$celery_pool" \
	"--concurrency=$threads, prefetch multiplier $celery_prefetch, result backend ${celery_backend:-file://}"
[ $alts_ready = 1 ] || [ $celery_only = 1 ] || echo "alts-worker was not ready: only the Celery side was measured"
exit 0
