#!/usr/bin/env bash
# alts-scheduler against a real rabbitmq-server on loopback: a submitted task reaches the
# right queue with the right body; stopping and starting the broker while tasks are
# submitted loses nothing (every accepted task reaches its queue, duplicates aside).
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/scheduler.sh"
source "$(dirname "$0")/lib/rabbitmq.sh"
need_cmd curl jq
[ -x "$RABBITMQ_BIN/rabbitmq-server" ] || skip_test "needs:rabbitmq-server (not installed)"
AMQP_GET=$ALTS_BUILD_DIR/amqp_get
trap 'sched_stop; rabbitmq_stop; rm -rf "$SCRATCH"' EXIT

rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server starts"; finish; exit 1; }
ok "rabbitmq-server listens on 127.0.0.1:$RABBITMQ_TEST_PORT"
cat >"$SCRATCH/config.yaml" <<YAML
jwt_secret: queue-test-secret
working_directory: $SCRATCH/wd
rabbitmq_host: 127.0.0.1
rabbitmq_port: $RABBITMQ_TEST_PORT
rabbitmq_user: guest
rabbitmq_password: guest
rabbitmq_vhost: /
supported_runners: [docker, local]
YAML
sched_start "$SCRATCH/config.yaml" --log-level info || { bad "scheduler starts"; finish; exit 1; }
AUTH="Authorization: Bearer $("$ALTS_TOKEN_BIN" -s queue-test-secret -e it@example.com)"

# 1. One task, read back from its queue.
body='{"runner_type":"any","dist_name":"almalinux","dist_version":9,"dist_arch":"arm64","package_name":"bash","package_version":"5.1.8-6.el9","repositories":[{"name":"base","url":"https://repo.example.org/9/"}],"bs_task_id":42,"test_configuration":{"tests":[{"url":"https://git.example.org/t.git","git_ref":"main","test_dir":"tests","tests_to_run":["a.sh"]}]}}'
r=$(curl_json POST /tasks/schedule "$body" -H "$AUTH")
check "submit answers 201 ($r)" [ "${r%% *}" = 201 ]
id=$(jq -r .task_id <<<"${r#* }")
for i in $(seq 1 100); do
	[ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id" | jq -r .published)" = true ] && break
	sleep 0.1
done
check "task is marked published" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id" | jq -r .published)" = true ]
"$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" docker-aarch64-0 >"$SCRATCH/msgs" 2>"$SCRATCH/amqp.err"
check "one message on docker-aarch64-0" [ "$(wc -l <"$SCRATCH/msgs")" = 1 ]
msg=$(head -1 "$SCRATCH/msgs")
check "message task_id" [ "$(jq -r .task_id <<<"$msg")" = "$id" ]
check "message queue and runner" [ "$(jq -r '.queue + " " + .runner' <<<"$msg")" = "docker-aarch64-0 docker" ]
check "message bs_task_id" [ "$(jq -r .bs_task_id <<<"$msg")" = 42 ]
check "message suite checks" [ "$(jq -c '[.suite.checks[] | if type == "string" then . else keys[0] end]' <<<"$msg")" = '["install","integrity","script","uninstall"]' ]
check "message suite package" [ "$(jq -cS '.suite.packages' <<<"$msg")" = '[{"name":"bash","version":"5.1.8-6.el9"}]' ]
check "message suite environment" [ "$(jq -cS '.suite.environment' <<<"$msg")" = '{"dist_arch":"arm64","dist_name":"almalinux","dist_version":"9"}' ]
check "message third-party test" [ "$(jq -cS '.suite.checks[2].script.git' <<<"$msg")" = '{"path":"tests/a.sh","ref":"main","url":"https://git.example.org/t.git"}' ]
check "message repositories" [ "$(jq -cS '.suite.repositories' <<<"$msg")" = '[{"name":"base","url":"https://repo.example.org/9/"}]' ]
r=$(curl_json POST /tasks/schedule '{"runner_type":"local","dist_name":"debian","dist_version":"12","dist_arch":"i686","package_name":"hello"}' -H "$AUTH")
sleep 1
check "i686 on local goes to local-x86_64-0" [ "$("$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" local-x86_64-0 | jq -r .task_id)" = "$(jq -r .task_id <<<"${r#* }")" ]

# 2. Worker reports on the results queue land in the store.
pub() { "$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" alts-results --publish "$1"; }
wait_state() {
	local want=$1 i
	for i in $(seq 1 50); do
		[ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id" | jq -r .state)" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}
pub "{\"task_id\":\"$id\",\"state\":\"running\"}"
check "a running report sets state and started_at" wait_state running
check "started_at is set" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id" | jq -r '.started_at != null')" = true ]
pub 'not json at all'
pub "{\"task_id\":\"$id\",\"state\":\"exploded\"}"
pub "{\"task_id\":\"$id\",\"state\":\"finished\",\"result\":{\"install_package\":{\"exit_code\":0}}}"
check "a finished report sets the state" wait_state finished
r=$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id/result")
check "GET result returns the worker's result" [ "$(jq -c '[.state, .result]' <<<"$r")" = '["finished",{"install_package":{"exit_code":0}}]' ]
pub "{\"task_id\":\"$id\",\"state\":\"failed\"}"
sleep 0.5
check "a report after the end is ignored" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id" | jq -r .state)" = finished ]
check "malformed reports were dropped, not requeued" [ "$("$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" alts-results | wc -l)" = 0 ]

# 3. callback_href gets the ALTS callback POST, retried after a failure.
need_cb=1
command -v python3 >/dev/null || need_cb=0
if [ "$need_cb" = 1 ]; then
	cat >"$SCRATCH/cb.py" <<'PY'
import http.server, sys
calls = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global calls
        calls += 1
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(500 if calls == 1 else 200)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_port))
s.serve_forever()
PY
	python3 "$SCRATCH/cb.py" "$SCRATCH/cb.port" "$SCRATCH/cb.bodies" &
	cb_pid=$!
	for i in $(seq 1 50); do [ -s "$SCRATCH/cb.port" ] && break; sleep 0.1; done
	r=$(curl_json POST /tasks/schedule "{\"runner_type\":\"docker\",\"dist_name\":\"debian\",\"dist_version\":\"12\",\"dist_arch\":\"amd64\",\"package_name\":\"hello\",\"bs_task_id\":99,\"callback_href\":\"http://127.0.0.1:$(cat "$SCRATCH/cb.port")/cb\"}" -H "$AUTH")
	cid=$(jq -r .task_id <<<"${r#* }")
	pub "{\"task_id\":\"$cid\",\"state\":\"failed\",\"result\":{\"install_package\":{\"exit_code\":1}}}"
	for i in $(seq 1 100); do [ "$({ wc -l <"$SCRATCH/cb.bodies"; } 2>/dev/null || echo 0)" -ge 2 ] && break; sleep 0.1; done
	kill "$cb_pid" 2>/dev/null; wait "$cb_pid" 2>/dev/null
	check "callback retried after a 500 (2 POSTs)" [ "$(wc -l <"$SCRATCH/cb.bodies")" = 2 ]
	check "callback body" [ "$(tail -1 "$SCRATCH/cb.bodies" | jq -cS .)" = "{\"api_version\":\"1\",\"bs_task_id\":\"99\",\"result\":{\"install_package\":{\"exit_code\":1}},\"state\":\"failed\",\"task_id\":\"$cid\"}" ]
else
	echo "SKIP callback checks: needs:python3"
fi
"$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" docker-x86_64-0 >/dev/null

# 4. Broker down and up while tasks are submitted: nothing is lost.
: >"$SCRATCH/accepted"
submit() {
	local n=$1 i r
	for i in $(seq 1 "$n"); do
		r=$(curl_json POST /tasks/schedule '{"runner_type":"docker","dist_name":"rocky","dist_version":"9","dist_arch":"x86_64","package_name":"zsh"}' -H "$AUTH")
		[ "${r%% *}" = 201 ] && jq -r .task_id <<<"${r#* }" >>"$SCRATCH/accepted"
	done
}
submit 20 &
sub=$!
sleep 0.2
rabbitmq_stop
ok "broker stopped while submitting"
wait "$sub"
submit 20
check "scheduler stays up without the broker" curl -sf "$SCHED_URL/health" -o /dev/null
check "health says the broker is away" [ "$(curl -s "$SCHED_URL/health" | jq -r .broker)" = disconnected ]
rabbitmq_start "$SCRATCH/rmq" || bad "rabbitmq-server restarts"
submit 20 &
sub=$!
wait "$sub"
accepted=$(sort -u "$SCRATCH/accepted" | wc -l)
check "60 tasks accepted" [ "$accepted" = 60 ]
for i in $(seq 1 300); do
	n=$(curl -s -H "$AUTH" "$SCHED_URL/tasks?state=queued&limit=500" | jq '[.tasks[] | select(.published | not)] | length')
	[ "$n" = 0 ] && break
	sleep 0.2
done
check "every task published after the broker came back" [ "$n" = 0 ]
"$AMQP_GET" 127.0.0.1 "$RABBITMQ_TEST_PORT" docker-x86_64-0 >"$SCRATCH/msgs2"
jq -r .task_id "$SCRATCH/msgs2" | sort -u >"$SCRATCH/got"
check "every accepted task is on the queue ($(wc -l <"$SCRATCH/got") distinct, $(wc -l <"$SCRATCH/msgs2") messages)" \
	cmp -s <(sort -u "$SCRATCH/accepted") "$SCRATCH/got"
curl -s "$SCHED_URL/metrics" >"$SCRATCH/metrics"
check "metrics count publishes" grep -q '^alts_tasks_published_total [1-9]' "$SCRATCH/metrics"
check "metrics have publish latency" grep -q '^alts_queue_publish_latency_seconds_count [1-9]' "$SCRATCH/metrics"
check "the broker password is not logged" bash -c "! grep -q guest-password '$SCRATCH/scheduler.log'"
sched_stop
check "the scheduler stopped without sanitizer reports" bash -c "! grep -q -e 'Sanitizer' -e 'runtime error' '$SCRATCH/scheduler.log'"
finish
