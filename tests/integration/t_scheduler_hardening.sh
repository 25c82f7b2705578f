#!/usr/bin/env bash
# alts-scheduler against hostile or unlucky HTTP clients, over raw sockets (lib/rawhttp.py):
# ambiguous framing (Content-Length with Transfer-Encoding, two Content-Lengths) is refused
# and the connection closed, so no smuggled request is served; an endless chunked upload
# gets its 413 while it is still sending; clients that half-close after their POST all get
# their answer; Idempotency-Key makes a retried POST /tasks/schedule create one task.
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/scheduler.sh"
need_cmd curl jq python3
trap 'sched_stop; rm -rf "$SCRATCH"' EXIT
RAW="python3 $(dirname "$0")/lib/rawhttp.py"

SECRET=hardening-test-secret
cat >"$SCRATCH/config.yaml" <<YAML
jwt_secret: $SECRET
working_directory: $SCRATCH/wd
max_body_size: 8192
supported_runners: [docker, local]
YAML
sched_start "$SCRATCH/config.yaml" --no-broker || { bad "scheduler starts"; finish; exit 1; }
PORT=${SCHED_URL##*:}
TOKEN=$("$ALTS_TOKEN_BIN" -s "$SECRET" -e it@example.com)
AUTH="Authorization: Bearer $TOKEN"
BODY='{"runner_type":"docker","dist_name":"almalinux","dist_version":"9","dist_arch":"x86_64","package_name":"bash"}'
tasks() { curl -s -H "$AUTH" "$SCHED_URL/tasks?limit=500" | jq '.tasks | length'; }

# ---- framing (RFC 9112 6.3): refused, connection closed, the request behind it never served ----
smuggle() {  # NAME HEADERS: the headers, a body "0\r\n\r\n", then a second request on the same connection
	printf 'POST /tasks/schedule HTTP/1.1\r\nHost: x\r\n%b\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n' "$2" >"$SCRATCH/req"
	$RAW "$PORT" send "$SCRATCH/req" >"$SCRATCH/out"
	if head -1 "$SCRATCH/out" | grep -q '^HTTP/1.1 400' && grep -qi '^Connection: close' "$SCRATCH/out" &&
		grep -q 'RFC 9112' "$SCRATCH/out" && [ "$(grep -c '^HTTP/1.1' "$SCRATCH/out")" = 1 ]; then
		ok "framing: $1 refused with 400 and the connection closed"
	else
		bad "framing: $1 (got: $(tr -d '\r' <"$SCRATCH/out" | head -c 400))"
	fi
}
smuggle "Content-Length and Transfer-Encoding" 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n'
smuggle "Transfer-Encoding then Content-Length" 'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n'
smuggle "two different Content-Lengths" 'Content-Length: 5\r\nContent-Length: 6\r\n'
smuggle "two equal Content-Lengths" 'Content-Length: 5\r\nContent-Length: 5\r\n'
printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$SCRATCH/req"
check "two plain pipelined requests are both answered" [ "$($RAW "$PORT" send "$SCRATCH/req" | grep -o 'HTTP/1.1 200' | wc -l)" = 2 ]

# ---- an endless chunked upload gets its 413 at once ----
printf 'POST /tasks/schedule HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' "$AUTH" >"$SCRATCH/req"
$RAW "$PORT" endless "$SCRATCH/req" >"$SCRATCH/out"
sent=$(sed -n 's/^sent //p' "$SCRATCH/out")
if head -1 "$SCRATCH/out" | grep -q '^HTTP/1.1 413' && [ "${sent:-0}" -lt $((64 << 20)) ]; then
	ok "endless chunked upload answered 413 after $sent bytes"
else
	bad "endless chunked upload: $(head -2 "$SCRATCH/out" | tr '\n' ' ')"
fi
check "the scheduler still answers after it" curl -sf -o /dev/null "$SCHED_URL/health"
head -c $((100 << 20)) /dev/zero >"$SCRATCH/big"
r=$(curl -s -w ' %{http_code}' -H "$AUTH" -H 'Content-Type: application/json' --data-binary @"$SCRATCH/big" "$SCHED_URL/tasks/schedule")
rm -f "$SCRATCH/big"
check "a 100 MB body with its Content-Length: 413 (${r##* })" [ "${r##* }" = 413 ]
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$SCHED_PID/status")
check "the scheduler's peak RSS stays under 64 MB after refusing them (${hwm} kB)" [ "${hwm:-999999}" -lt $((64 << 10)) ]

# ---- half-closed clients: every one gets its answer ----
before=$(tasks)
printf 'POST /tasks/schedule HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
	"$AUTH" "${#BODY}" "$BODY" >"$SCRATCH/req"
n=$($RAW "$PORT" halfclose 200 "$SCRATCH/req")
check "200 clients that half-close after their POST get 200 answers (got $n)" [ "$n" = 200 ]
check "and 200 tasks were made" [ "$(($(tasks) - before))" = 200 ]
# ---- Idempotency-Key: a retried POST is the same task; the key with another body is refused ----
idem() { curl -s -o "$SCRATCH/resp" -w '%{http_code}' -H "$AUTH" -H 'Content-Type: application/json' -H "Idempotency-Key: $1" --data-binary "$2" "$SCHED_URL/tasks/schedule"; }
before=$(tasks)
c1=$(idem key-1 "$BODY"); id1=$(jq -r .task_id "$SCRATCH/resp")
c2=$(idem key-1 "$BODY"); id2=$(jq -r .task_id "$SCRATCH/resp")
check "the same key and body twice: 201, 201, one task ($c1 $c2 $id1 $id2)" [ "$c1 $c2" = "201 201" -a "$id1" = "$id2" -a "$(($(tasks) - before))" = 1 ]
c3=$(idem key-1 "${BODY/bash/zsh}")
check "the same key with another body: 422 naming the task ($c3 $(cat "$SCRATCH/resp"))" \
	[ "$c3" = 422 ] && grep -q "$id1" "$SCRATCH/resp"
check "a key of spaces: 400" [ "$(idem 'a b' "$BODY")" = 400 ]
check "a key of 256 characters: 400" [ "$(idem "$(printf 'k%.0s' $(seq 256))" "$BODY")" = 400 ]
before=$(tasks)
pids=()
for i in $(seq 20); do idem key-race "$BODY" >"$SCRATCH/race.$i" & pids+=($!); done
wait "${pids[@]}"
check "20 requests with one key at once: one task" [ "$(($(tasks) - before))" = 1 ]
check "and all got 201" [ "$(cat "$SCRATCH"/race.* | grep -o "[0-9][0-9][0-9]" | sort -u)" = 201 ]
# ---- URLs: %00 is refused, not cut short; /docs without the UI is 404, as the log says ----
for p in "/health%00" "/tasks/$id1/logs/x%00.txt" "/tasks?state=queued%00x" "/tasks/$id1/log?offset=0%00"; do
	r=$(curl -s -w ' %{http_code}' -H "$AUTH" "$SCHED_URL$p")
	check "GET $p is 400 naming the NUL ($r)" [ "${r##* }" = 400 ] && [[ $r == *NUL* ]]
done
r=$(curl -s -w ' %{http_code}' "$SCHED_URL/docs")
check "GET /docs with no Swagger UI installed is 404 ($r)" [ "${r##* }" = 404 ] && grep -q '/docs answers 404' "$SCRATCH/scheduler.log"

# ---- alts-submit sends an Idempotency-Key and retries with it (a stand-in that always answers 503) ----
$RAW "$SCRATCH/fport" failing 5 >"$SCRATCH/keys" &
fpid=$!
for i in $(seq 50); do [ -s "$SCRATCH/fport" ] && break; sleep 0.1; done
printf '%s' "$BODY" >"$SCRATCH/payload.json"
"$ALTS_BUILD_DIR/alts-submit" --url "http://127.0.0.1:$(cat "$SCRATCH/fport")" --token "$TOKEN" \
	--payload "$SCRATCH/payload.json" -o "$SCRATCH/out.d" >"$SCRATCH/submit.out" 2>&1
st=$?
wait "$fpid"
check "alts-submit gives up after 5 tries with exit 3 (got $st)" [ "$st" = 3 ]
check "each try sent the same Idempotency-Key ($(sort -u "$SCRATCH/keys" | tr '\n' ' '))" \
	[ "$(wc -l <"$SCRATCH/keys")" = 5 -a "$(sort -u "$SCRATCH/keys" | wc -l)" = 1 ] && grep -Eq '^/tasks/schedule [0-9a-f-]{36}$' "$SCRATCH/keys"
check "and said it retried" grep -q 'retrying (2 of 5' "$SCRATCH/submit.out"
finish
