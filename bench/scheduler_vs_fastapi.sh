#!/usr/bin/env bash
# POST /tasks/schedule: alts-scheduler against a minimal FastAPI + uvicorn peer doing the same
# work (JWT, payload validation, SQLite insert, publish to RabbitMQ), same wrk load, same
# payload, same broker. Prints req/s, p50, p99 and the ratios. See bench/README.md.
#
# usage: bench/scheduler_vs_fastapi.sh [-d DURATION] [-c CONNECTIONS] [-r ROUNDS]
#            [--workers N] [--threads N] [--confirm] [--no-install] [--check]
#
# -d wrk duration per run (10s), -c connections (64), -r rounds, alts then FastAPI (3),
# --workers uvicorn worker processes (nproc), --threads alts-scheduler HTTP threads (4, its
# default), --confirm makes the FastAPI peer wait for RabbitMQ's publisher confirm,
# --check exits 1 when the median req/s ratio is under 10.
# Environment: ALTS_BUILD_DIR (default /tmp/alts-build-bench); ALTS_BENCH_KEEP=1 keeps the
# scratch directory (logs, databases), as does a failure.
# Exit status: 0 done, 1 --check and the 10x target was missed, 2 usage, 3 environment failure.
set -u -o pipefail

me=scheduler_vs_fastapi.sh
duration=10s
conns=64
rounds=3
workers=$(nproc)
threads=4
confirm=0
no_install=0 # read by peers/lib.sh
export no_install
check_target=0

usage() {
	sed -n '6,15s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
	case $1 in
	-d) duration=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	-c) conns=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	-r) rounds=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--workers) workers=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--threads) threads=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--confirm) confirm=1; shift ;;
	--no-install) no_install=1; shift ;;
	--check) check_target=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $duration in *[0-9]s|*[0-9]m) ;; *) echo "$me: invalid duration '$duration'" >&2; exit 2 ;; esac
for v in "$conns" "$rounds" "$workers" "$threads"; do
	case $v in ''|*[!0-9]*|0) echo "$me: invalid number '$v'" >&2; exit 2 ;; esac
done

src=$(cd "$(dirname "$0")/.." && pwd)
build=${ALTS_BUILD_DIR:-/tmp/alts-build-bench}
py=/usr/bin/python3 # Debian's python, which has Debian's packages (not a pyenv one on PATH)
tmp=$(mktemp -d /tmp/alts-bench.XXXXXX) || { echo "$me: cannot create a temporary directory" >&2; exit 3; }
server_pid=
# shellcheck source=peers/lib.sh
. "$src/bench/peers/lib.sh"
cleanup() {
	stop_pid "$server_pid"
	bench_broker_stop
	bench_cleanup_tmp
}
trap cleanup EXIT
trap 'exit 3' INT TERM

bench_install wrk rabbitmq-server python3-fastapi python3-uvicorn python3-jwt python3-celery \
	python3-sqlalchemy python3-uvloop python3-httptools
# uvicorn --loop uvloop --http httptools, or die: several words, split where used
uvicorn_flags=$(uvicorn_fast_flags) || exit 3
bench_build alts-scheduler alts-token
bench_broker_start
# Classic queues version 2 (RabbitMQ 3.10+; the only version from 4.0 on) for both peers alike,
# as docs/operations.md advises: half the broker CPU per persistent message of version 1.
rmqctl set_policy alts-cqv2 '.*' '{"queue-version":2}' --apply-to queues >/dev/null ||
	die "cannot set the queue-version policy"

secret=bench-secret-$RANDOM$RANDOM
queue=docker-x86_64-0 # the queue of the payload in scheduler_post.lua
hz=$(getconf CLK_TCK)
export ALTS_BENCH_TOKEN
ALTS_BENCH_TOKEN=$("$build/alts-token" -s "$secret" -a HS256 -e bench@example.com --expires 1d) ||
	die "alts-token failed"

# count_rows DB [published]: tasks in an alts-schema SQLite database.
count_rows() {
	"$py" - "$1" "${2:-}" <<'EOF'
import sqlite3, sys
q = "SELECT COUNT(*) FROM tasks" + (" WHERE published = 1" if sys.argv[2] else "")
print(sqlite3.connect(sys.argv[1], timeout=10).execute(q).fetchone()[0])
EOF
}

# start_alts DIR: alts-scheduler on a free port with a fresh database; sets server_pid, url, db.
start_alts() {
	mkdir -p "$1"
	cat >"$1/config.yaml" <<-EOF
		jwt_secret: $secret
		working_directory: $1/wd
		rabbitmq_host: 127.0.0.1
		rabbitmq_port: $amqp_port
		rabbitmq_user: guest
		rabbitmq_password: guest
		rabbitmq_vhost: /
		supported_runners: [docker, local]
		threads: $threads
		connection_limit: 1024
	EOF
	"$build/alts-scheduler" -c "$1/config.yaml" --port 0 --port-file "$1/port" 2>"$1/log" &
	server_pid=$!
	for _ in $(seq 1 100); do
		[ -s "$1/port" ] && break
		kill -0 "$server_pid" 2>/dev/null || { cat "$1/log" >&2; die "alts-scheduler did not start"; }
		sleep 0.1
	done
	url=http://127.0.0.1:$(cat "$1/port")
	db=$1/wd/scheduler.db
}

# start_fastapi DIR: uvicorn --workers $workers with the FastAPI peer; sets server_pid, url, db.
start_fastapi() {
	mkdir -p "$1"
	local port
	port=$(free_port) || die "no free port"
	ALTS_BENCH_JWT_SECRET=$secret ALTS_BENCH_DIR=$1 ALTS_BENCH_DB=$1/fastapi.db \
		ALTS_BENCH_BROKER=amqp://guest:guest@127.0.0.1:$amqp_port// ALTS_BENCH_CONFIRM_PUBLISH=$confirm \
		"$py" -m uvicorn fastapi_app:app --app-dir "$src/bench/peers" --host 127.0.0.1 --port "$port" \
		--workers "$workers" $uvicorn_flags --no-access-log --log-level warning 2>"$1/log" &
	server_pid=$!
	wait_port "$port" "$server_pid" || { cat "$1/log" >&2; die "uvicorn did not start"; }
	url=http://127.0.0.1:$port
	db=$1/fastapi.db
}

run_wrk() {
	wrk -t"$(nproc)" -c"$conns" -d"$1" -s "$src/bench/scheduler_post.lua" "$url/tasks/schedule" | tail -n 1
}

# wait_published N: until the queue holds N messages (60 s at most); prints the seconds waited.
wait_published() {
	local t0=$EPOCHREALTIME n
	while :; do
		n=$(queue_messages "$queue")
		[ "$n" -ge "$1" ] && break
		[ "${EPOCHREALTIME%.*}" -ge $((${t0%.*} + 60)) ] && { echo "gave up at $n"; return; }
		sleep 0.5
	done
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# measure NAME START_FN: one run; appends a row to $tmp/rows.
measure() {
	local name=$1 dir=$tmp/$1-$round line rps p50 p99 errs reqs rows0 rows1 s0 s1 b0 b1 inq drain
	"$2" "$dir"
	run_wrk 2s >/dev/null # warm-up: connections, caches, Celery's producer pool
	[ "$name" = alts ] && wait_published "$(count_rows "$db")" >/dev/null
	rmqctl purge_queue -q "$queue" >/dev/null 2>&1
	rows0=$(count_rows "$db")
	s0=$(tree_ticks "$server_pid")
	b0=$(tree_ticks "$broker_pid")
	line=$(run_wrk "$duration")
	s1=$(tree_ticks "$server_pid")
	b1=$(tree_ticks "$broker_pid")
	inq=$(queue_messages "$queue")
	rows1=$(count_rows "$db")
	# shellcheck disable=SC2086
	set -- $line
	[ "${1:-}" = requests/s ] || die "wrk gave no summary for $name: '$line'"
	rps=$2 p50=$4 p99=$7 errs=${10} reqs=${12}
	drain=$(wait_published $((rows1 - rows0)))
	stop_pid "$server_pid"
	server_pid=
	echo "$round $name $rps $p50 $p99 $errs $reqs $((rows1 - rows0)) $inq $drain" \
		"$(awk -v t=$((s1 - s0)) -v b=$((b1 - b0)) -v n="$reqs" -v hz="$hz" \
			'BEGIN { printf "%.3f %.3f", t * 1000 / hz / n, b * 1000 / hz / n }')" >>"$tmp/rows"
	rmqctl purge_queue -q "$queue" >/dev/null 2>&1
	return 0
}

echo "POST /tasks/schedule, wrk $conns connections, $duration per run, $rounds rounds; $(nproc) CPUs," \
	"load average $(load_avg) at the start"
echo "alts-scheduler: $threads HTTP threads; FastAPI peer: uvicorn --workers $workers $uvicorn_flags," \
	"publish confirms $([ $confirm = 1 ] && echo on || echo off)"
bench_peer_versions
for round in $(seq 1 "$rounds"); do
	measure alts start_alts
	measure fastapi start_fastapi
	note "round $round done (load average $(load_avg))"
done
echo "load average $(load_avg) at the end"
echo

awk '
	{ name = ($2 == "alts") ? "alts-scheduler" : "FastAPI+uvicorn"
	  printf "%-5s %-16s %9.1f %8.2f %8.2f %6d %8d %8d %9d %8s %9.3f %9.3f\n",
		$1, name, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }
' "$tmp/rows" | {
	printf "%-5s %-16s %9s %8s %8s %6s %8s %8s %9s %8s %9s %9s\n" round server req/s "p50 ms" "p99 ms" \
		errors requests stored "in queue" "drain s" "CPU ms/req" "broker ms"
	cat
}
echo
# Ratios per round, then the median of each.
# queued/s: tasks in the broker's queue when wrk stopped, per second of the run. The peer publishes
# inside the request; the scheduler answers after its commit and publishes behind it, so under
# more load than the broker takes, its req/s runs ahead of its queued/s (the rest follows within
# "drain s").
case $duration in *m) dur_s=$((${duration%m} * 60)) ;; *) dur_s=${duration%s} ;; esac
awk -v rounds="$rounds" -v dur="$dur_s" '
	$2 == "alts" { a[$1] = $3; ap50[$1] = $4; ap99[$1] = $5; acpu[$1] = $11; abr[$1] = $11 + $12; aq[$1] = $9 / dur }
	$2 == "fastapi" { f[$1] = $3; fp50[$1] = $4; fp99[$1] = $5; fcpu[$1] = $11; fbr[$1] = $11 + $12; fq[$1] = $9 / dur }
	function median(v, n,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	END {
		n = 0
		for (r = 1; r <= rounds; r++) if ((r in a) && (r in f)) { n++; x[n] = a[r] / f[r]; y[n] = fp50[r] / ap50[r]; z[n] = fp99[r] / ap99[r]
			c[n] = fcpu[r] / acpu[r]; cb[n] = fbr[r] / abr[r]; q[n] = aq[r] / fq[r]
			printf "round %s: req/s alts/FastAPI %.2fx, queued/s %.2fx (%.0f vs %.0f), p50 FastAPI/alts %.2fx, p99 FastAPI/alts %.2fx, CPU/req FastAPI/alts %.2fx (with the broker %.2fx)\n", r, x[n], q[n], aq[r], fq[r], y[n], z[n], c[n], cb[n] }
		if (!n) exit 1
		printf "median: req/s %.2fx, queued/s %.2fx, p50 %.2fx, p99 %.2fx, CPU/req %.2fx (with the broker %.2fx); target: req/s at least 10x\n", median(x, n), median(q, n), median(y, n), median(z, n), median(c, n), median(cb, n)
		print median(x, n) > "'"$tmp/ratio"'"
	}
' "$tmp/rows"
if [ $check_target = 1 ]; then
	awk '{ exit !($1 >= 10) }' "$tmp/ratio" || exit 1
fi
exit 0
