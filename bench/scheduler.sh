#!/usr/bin/env bash
# POST /tasks/schedule throughput and p50/p99 latency with wrk at 64 connections.
#   bench/scheduler.sh BUILD_DIR [CONFIG]
# Without CONFIG: a throw-away config and --no-broker (HTTP + validation + SQLite commit only).
# With CONFIG (pointing at a running RabbitMQ): the outbox publishes while the load runs.
# The same load against alts and a FastAPI + Celery peer, with the broker: bench/scheduler_vs_fastapi.sh.
set -euo pipefail
build=${1:?usage: bench/scheduler.sh BUILD_DIR [CONFIG]}
config=${2:-}
duration=${ALTS_BENCH_DURATION:-10s}
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 3; }
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
args=()
if [ -z "$config" ]; then
	config=$tmp/config.yaml
	printf 'jwt_secret: bench-secret\nworking_directory: %s/wd\nthreads: 4\n' "$tmp" >"$config"
	args+=(--no-broker)
fi
"$build/alts-scheduler" -c "$config" --port 0 --port-file "$tmp/port" "${args[@]}" 2>"$tmp/log" &
pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
ALTS_BENCH_TOKEN=$("$build/alts-token" -c "$config" -e bench@example.com)
export ALTS_BENCH_TOKEN
echo "alts-scheduler ($([ ${#args[@]} -gt 0 ] && echo 'no broker' || echo 'broker on')), 64 connections, $duration:"
wrk -t4 -c64 -d"$duration" -s "$(dirname "$0")/scheduler_post.lua" "http://127.0.0.1:$(cat "$tmp/port")/tasks/schedule" |
	tail -1
