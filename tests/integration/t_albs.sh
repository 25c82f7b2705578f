#!/usr/bin/env bash
# alts as a drop-in for ALTS, driven by the AlmaLinux Build System's stand-in
# (tests/tools/bs_standin.py, written from albs-web-server's code) against a real
# rabbitmq-server and a real alts-worker (local runner): the scheduler pulls the task
# lists, the worker runs them, the callbacks in ALTS's shape are replayed through the
# Build System's whole result handling (schema, every .success, revoked, skipped_tests,
# stats.started_at, logs -> Pulp create_file), and each task's FINAL status there must
# equal alts's verdict. A canceled queued and a canceled running task end cancelled; the
# Build System down for a while loses nothing; a poll with a wrong token is a logged 401.
#
# Pulp: tests/tools/pulp_standin.py (written from Pulp's published REST API), or the one
# PULP_STANDIN names (its CLI: --port-file F). Logs reach
# Pulp only through the pulp artifact store: when this build has it (result_backend: pulp),
# the worker uploads there and the final status must equal alts's verdict; without it the
# file store's file:// hrefs make the Build System mark every task with logs FAILED (as
# upstream does for any non-Pulp href), and the test checks that and the verdict of the
# result alone.
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/scheduler.sh"
source "$(dirname "$0")/lib/rabbitmq.sh"
source "$(dirname "$0")/lib/worker.sh"
need_cmd curl jq git python3 dpkg apt-get
[ -x "$RABBITMQ_BIN/rabbitmq-server" ] || skip_test "needs:rabbitmq-server (not installed)"
dpkg -s dash >/dev/null 2>&1 || skip_test "needs:a Debian host with dash installed"
STANDIN=$ALTS_SOURCE_DIR/tests/tools/bs_standin.py
BS_TOKEN=bs-test-token
PIDS=()
cleanup() {
	local p
	worker_stop
	sched_stop
	for p in "${PIDS[@]}" ${BS_PID:-}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rabbitmq_stop
	[ "$FAILED" = 0 ] || dump_logs
	[ "$FAILED" = 0 ] || { echo "# --- bs.log"; tail -30 "$SCRATCH/bs.log" | sed 's/^/# /'; }
	[ -n "${ALBS_KEEP:-}" ] || rm -rf "$SCRATCH"
}
trap cleanup EXIT

jqe() { jq -e "$@" >/dev/null; }
wait_file() { local i; for i in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

# ---- Pulp ------------------------------------------------------------------------------
python3 "${PULP_STANDIN:-$ALTS_SOURCE_DIR/tests/tools/pulp_standin.py}" --port-file "$SCRATCH/pulp.port" \
	2>"$SCRATCH/pulp.log" &
PIDS+=($!)
wait_file "$SCRATCH/pulp.port" || { bad "Pulp stand-in starts"; finish; exit 1; }
PULP_URL="http://127.0.0.1:$(cat "$SCRATCH/pulp.port")/"

# ---- the Build System --------------------------------------------------------------------
BS_PORT=$(free_port)
bs_start() {
	python3 "$STANDIN" --port "$BS_PORT" --port-file "$SCRATCH/bs.port" --state "$SCRATCH/bs.json" \
		--token "$BS_TOKEN" --pulp-url "$PULP_URL" --alts-url-file "$SCRATCH/alts.url" \
		--alts-token "$ALTS_TOKEN" 2>>"$SCRATCH/bs.log" &
	BS_PID=$!
	wait_file "$SCRATCH/bs.port"
}
bs_stop() { kill "$BS_PID" 2>/dev/null; wait "$BS_PID" 2>/dev/null; BS_PID=; rm -f "$SCRATCH/bs.port"; }
BS="http://127.0.0.1:$BS_PORT"
ALTS_TOKEN=$("$ALTS_TOKEN_BIN" -s albs-test-secret -e bs@example.com)
AUTH="Authorization: Bearer $ALTS_TOKEN"
bs_start || { bad "Build System stand-in starts"; finish; exit 1; }

# ---- the third-party test repository (ALTS's test_configuration.tests) -------------------
REPO=$SCRATCH/tests-repo
mkdir -p "$REPO/tests"
cat >"$REPO/tests/pass.sh" <<'SH'
#!/bin/bash
# extra_env_vars of test_env reach the tests' environment
echo "1..2"
[ "$ALBS_MARK" = "from-test-env" ] && echo "ok 1 - extra_env_vars reached the test" || echo "not ok 1 - ALBS_MARK='$ALBS_MARK'"
bash --version >/dev/null && echo "ok 2 - bash runs"
SH
cat >"$REPO/tests/fail.sh" <<'SH'
#!/bin/bash
echo "1..1"
echo "not ok 1 - this package is broken"
exit 1
SH
cat >"$REPO/tests/slow.sh" <<SH
#!/bin/bash
echo "1..1"
touch "$SCRATCH/slow.started"
sleep 120
echo "ok 1 - slow"
SH
chmod +x "$REPO"/tests/*.sh
git -C "$REPO" init -q -b main && git -C "$REPO" add -A &&
	git -C "$REPO" -c user.email=t@example.com -c user.name=t commit -qm tests ||
	{ bad "test repository"; finish; exit 1; }
# A farm suite may clone only network git URLs (docs/runners.md): serve it with git daemon.
GIT_PORT=$(free_port)
chmod -R a+rX "$SCRATCH"
git daemon --reuseaddr --listen=127.0.0.1 --port="$GIT_PORT" --base-path="$SCRATCH" --export-all \
	"$SCRATCH" 2>"$SCRATCH/git-daemon.log" &
PIDS+=($!)
REPO_URL="git://127.0.0.1:$GIT_PORT/tests-repo"
for i in $(seq 1 50); do git ls-remote "$REPO_URL" >/dev/null 2>&1 && break; sleep 0.1; done
git ls-remote "$REPO_URL" >/dev/null 2>&1 || { bad "git daemon serves the test repository"; finish; exit 1; }

# ---- alts: scheduler and worker ------------------------------------------------------------
rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server starts"; finish; exit 1; }
STORE_YAML="result_backend: file
file_store_directory: $SCRATCH/store"
PULP_STORE=0
cat >"$SCRATCH/pulpcheck.yaml" <<YAML
jwt_secret: x
result_backend: pulp
pulp_host: $PULP_URL
pulp_user: admin
pulp_password: password
YAML
if "$ALTS_SCHEDULER" -c "$SCRATCH/pulpcheck.yaml" --check-config 2>/dev/null; then
	PULP_STORE=1
	STORE_YAML="result_backend: pulp
pulp_host: $PULP_URL
pulp_user: admin
pulp_password: password"
fi
worker_config "$SCRATCH/config.yaml" "jwt_secret: albs-test-secret
supported_distributions: [debian]
worker_concurrency: 1
commands_timeout: 300s
$STORE_YAML
runner_types: {docker: local}
bs_host: $BS
bs_token: $BS_TOKEN
bs_poll_interval: 0.3"
sed -i '/^file_store_directory:/d' "$SCRATCH/config.yaml"
[ "$PULP_STORE" = 1 ] || echo "file_store_directory: $SCRATCH/store" >>"$SCRATCH/config.yaml"
sched_start "$SCRATCH/config.yaml" --log-level info || { bad "scheduler starts"; finish; exit 1; }
echo "$SCHED_URL" >"$SCRATCH/alts.url"
worker_start "$SCRATCH/config.yaml" || { bad "worker starts"; finish; exit 1; }
ok "rabbitmq-server, alts-scheduler (pull mode) and alts-worker run; Pulp store: $PULP_STORE"

# bs_new JSON-LIST: creates tasks at the Build System; prints their ids.
bs_new() { curl -s -X POST --data-binary "$1" "$BS/standin/tasks" | jq -r '.[]'; }
bs_task() { curl -s "$BS/standin/tasks" | jq -c ".[] | select(.id == $1)"; }
bs_status() { bs_task "$1" | jq -r .status_name; }
# wait_bs ID STATUS [SECONDS]
wait_bs() {
	local i
	for i in $(seq 1 $((${3:-60} * 5))); do
		[ "$(bs_status "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
# wait_final ID [SECONDS]: until the task is completed, failed or cancelled there.
wait_final() {
	local i
	for i in $(seq 1 $((${2:-60} * 5))); do
		case $(bs_status "$1") in completed|failed|cancelled) return 0 ;; esac
		sleep 0.2
	done
	return 1
}
# alts_task BS_ID: alts's task for a Build System id.
alts_task() { curl -s -H "$AUTH" "$SCHED_URL/tasks?limit=500" | jq -c "[.tasks[] | select(.bs_task_id == \"$1\")] | last"; }
# alts's verdict: finished with every check passed -> completed; finished otherwise or
# failed -> failed; canceled -> cancelled.
verdict() {
	local t id
	t=$(alts_task "$1")
	id=$(jq -r .task_id <<<"$t")
	case $(jq -r .state <<<"$t") in
	finished)
		curl -s -H "$AUTH" "$SCHED_URL/tasks/$id/result" |
			jq -r 'if .result.alts.summary.exit_code == 0 then "completed" else "failed" end' ;;
	failed) echo failed ;;
	canceled) echo cancelled ;;
	*) jq -r .state <<<"$t" ;;
	esac
}
# final_matches BS_ID: the Build System's final status equals alts's verdict (with the Pulp
# store); without it, FAILED for the logs and the verdict of the result alone.
final_matches() {
	local v t
	v=$(verdict "$1")
	t=$(bs_task "$1")
	if [ "$PULP_STORE" = 1 ] || [ "$(jq '.alts_response.result.logs // [] | length' <<<"$t")" = 0 ]; then
		[ "$(jq -r .status_name <<<"$t")" = "$v" ]
	else
		[ "$(jq -r .status_name <<<"$t")" = failed ] && [ "$(jq -r .result_status <<<"$t")" = "$v" ] &&
			jqe '.errors | any(test("Cannot convert test logs"))' <<<"$t" >/dev/null
	fi
}

TC_PASS="{\"tests\":[{\"url\":\"$REPO_URL\",\"git_ref\":\"main\",\"test_dir\":\"tests\",\"tests_to_run\":[\"pass.sh\"]}],\"test_env\":{\"extra_env_vars\":[\"ALBS_MARK=from-test-env\"],\"pytest_is_needed\":true,\"use_deprecated_ansible\":false,\"vm_disk_size\":15360,\"vm_ram_size\":1536}}"
TC_FAIL="{\"tests\":[{\"url\":\"$REPO_URL\",\"git_ref\":\"main\",\"test_dir\":\"tests\",\"tests_to_run\":[\"fail.sh\"]}],\"test_env\":null}"
TC_SLOW="{\"tests\":[{\"url\":\"$REPO_URL\",\"git_ref\":\"main\",\"test_dir\":\"tests\",\"tests_to_run\":[\"slow.sh\"]}],\"test_env\":null}"
task_spec() { echo "{\"dist_name\":\"debian\",\"dist_version\":\"12\",\"dist_arch\":\"x86_64\",\"package_name\":\"dash\",\"package_version\":\"$(dpkg-query -Wf '${Version}' dash)\",\"test_configuration\":$1}"; }

# 1. Tasks pulled, run, called back, final.
mapfile -t ids < <(bs_new "[$(task_spec "$TC_PASS"),$(task_spec "$TC_FAIL")]")
check "the Build System has 2 tasks" [ "${#ids[@]}" = 2 ]
check "task ${ids[0]} pulled (started at the Build System)" wait_bs "${ids[0]}" started 10
check "task ${ids[0]} (passing tests) ends final at the Build System" wait_final "${ids[0]}" 120
check "task ${ids[1]} (failing test) ends failed at the Build System" wait_bs "${ids[1]}" failed 120
for i in "${ids[@]}"; do
	check "task $i: the Build System's final status ($(bs_status "$i")) matches alts's verdict ($(verdict "$i"))" final_matches "$i"
done
t=$(bs_task "${ids[0]}")
check "callback: api_version 20210512, stats.started_at ISO, read by fromisoformat" \
	jqe '.alts_response.api_version == "20210512" and (.started_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))' <<<"$t"
check "callback: install_package.success true, tests.package_integrity_tests, third_party.third_party_test_*" \
	jqe '.alts_response.result | .install_package.success == true and (.tests.package_integrity_tests.success | type == "boolean") and (.third_party | to_entries | map(select(.key | startswith("third_party_test_"))) | length == 1)' <<<"$t"
check "callback: the result of the passing task is completed by its .success values" \
	[ "$(jq -r .result_status <<<"$t")" = completed ]
check "callback: dash is protected: uninstall_package in skipped_tests" \
	jqe '.alts_response.result.skipped_tests | index("uninstall_package")' <<<"$t"
check "callback: logs is a list of {name, href, type: test_log}" \
	jqe '.alts_response.result.logs | length > 0 and all(.type == "test_log" and (.href | type == "string") and (.name | type == "string"))' <<<"$t"
check "callback: per-stage stats {start_ts, finish_ts, delta}" \
	jqe '.alts_response.stats.install_package | (.start_ts | test("T")) and (.finish_ts | test("T")) and (.delta | type == "number")' <<<"$t"
check "extra_env_vars reached the third-party test (its TAP output)" \
	jqe '.alts_response.result.third_party | to_entries[] | select(.key != "success") | .value.output | test("ok 1 - extra_env_vars")' <<<"$t"
a=$(alts_task "${ids[0]}" | jq -r .task_id)
check "alts's own result stays at GET /tasks/{id}/result and result.json" \
	bash -c "curl -s -H '$AUTH' '$SCHED_URL/tasks/$a/result' | jq -e '.result.alts.summary' >/dev/null && curl -sf -H '$AUTH' '$SCHED_URL/tasks/$a/result.json' | jq -e .alts >/dev/null"

# 2. A canceled running task and a canceled queued task end cancelled there.
rm -f "$SCRATCH/slow.started"
mapfile -t c < <(bs_new "[$(task_spec "$TC_SLOW"),$(task_spec "$TC_PASS")]")
for i in $(seq 1 600); do [ -e "$SCRATCH/slow.started" ] && break; sleep 0.2; done
check "task ${c[0]} runs its slow test" [ -e "$SCRATCH/slow.started" ]
check "task ${c[1]} is pulled and queued behind it (worker_concurrency 1)" \
	bash -c "$(declare -f alts_task); AUTH='$AUTH' SCHED_URL=$SCHED_URL; [ \"\$(alts_task ${c[1]} | jq -r .state)\" = queued ]"
r=$(curl -s -X POST --data-binary "{\"ids\":[${c[0]},${c[1]}]}" "$BS/standin/cancel")
check "the Build System sends both to alts's POST /cancel_tasks ($(jq -c .alts_answer <<<"$r"))" \
	jqe '.alts_answer.success == true and .alts_answer.canceled == 2' <<<"$r"
check "the queued task ends cancelled at the Build System" wait_bs "${c[1]}" cancelled 30
check "... with ALTS's {revoked: true}, stats {}" \
	bash -c "$(declare -f bs_task); BS=$BS; bs_task ${c[1]} | jq -e '.alts_response.result == {\"revoked\": true} and .alts_response.stats == {}' >/dev/null"
check "the running task ends cancelled at the Build System (its worker stopped it)" wait_bs "${c[0]}" cancelled 30
check "... the worker revoked it (its log) before the callback" grep -q "event=task.revoked task=$(alts_task "${c[0]}" | jq -r .task_id) running=true" "$SCRATCH"/worker-*.log
check "... a revoked summary without logs" \
	bash -c "$(declare -f bs_task); BS=$BS; bs_task ${c[0]} | jq -e '.alts_response.result.revoked == true and (.alts_response.result | has(\"logs\") | not)' >/dev/null"
for i in "${c[@]}"; do
	check "task $i: alts's verdict is cancelled too" [ "$(verdict "$i")" = cancelled ]
done

# 3. The Build System down for a while: polls fail, callbacks wait; nothing is lost.
mapfile -t d < <(bs_new "[$(task_spec "$TC_FAIL")]")
for i in "${d[@]}"; do wait_bs "$i" started 10 || bad "task $i pulled"; done
bs_stop
ok "the Build System is down"
for i in $(seq 1 600); do
	n=$(curl -s -H "$AUTH" "$SCHED_URL/tasks?limit=500" | jq "[.tasks[] | select(.bs_task_id == \"${d[0]}\") | select(.state == \"finished\" or .state == \"failed\")] | length")
	[ "$n" = 1 ] && break
	sleep 0.2
done
check "alts ran it while the Build System was down" [ "$n" = 1 ]
sleep 2
check "the scheduler logged the failed polls and kept running" bash -c "grep -q 'pull.*GET .* failed' '$SCRATCH/scheduler.log' && kill -0 $SCHED_PID"
bs_start || bad "the Build System comes back"
for i in "${d[@]}"; do
	check "task $i: final after the outage" wait_final "$i" 90
	check "task $i: final status matches alts's verdict" final_matches "$i"
done
all=$(curl -s "$BS/standin/tasks")
check "counts: 5 tasks at the Build System, none left created or started" \
	jqe 'length == 5 and all(.status_name != "created" and .status_name != "started")' <<<"$all"
check "counts: one alts task per Build System task (deduplicated by bs_task_id)" \
	[ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks?limit=500" | jq '[.tasks[].bs_task_id] | unique | length')" = 5 ]
check "counts: every task got exactly one callback" jqe 'all(.callbacks == 1)' <<<"$all"

# 4. A wrong bs_token: the Build System answers 401; the scheduler logs it and keeps polling.
sed "s/^bs_token: .*/bs_token: wrong-token/; s|^working_directory: .*|working_directory: $SCRATCH/wd2|" \
	"$SCRATCH/config.yaml" >"$SCRATCH/bad.yaml"
before=$(curl -s "$BS/standin/stats" | jq .polls_unauthorized)
"$ALTS_SCHEDULER" -c "$SCRATCH/bad.yaml" --port 0 --no-broker --log-level info 2>"$SCRATCH/bad.log" &
bad_pid=$!
PIDS+=("$bad_pid")
sleep 2
after=$(curl -s "$BS/standin/stats" | jq .polls_unauthorized)
check "a wrong token: 401 polls ($before -> $after), logged, the scheduler runs" \
	bash -c "[ $after -gt $before ] && grep -q 'answered 401' '$SCRATCH/bad.log' && kill -0 $bad_pid"
kill "$bad_pid"; wait "$bad_pid" 2>/dev/null

# 5. An ALTS config file as documented upstream (configs/example_config.yaml of ALTS, filled
#    in) starts the scheduler and the worker, named by ALTS's environment variables.
cat >"$SCRATCH/alts-upstream.yaml" <<YAML
---
use_ssl: false
ssl_config:
  security_cert_store: '/etc/ssl/certs/*.crt'
  security_key: ''
  security_certificate: ''
  broker_ca_certificates: ''
  security_digest: 'sha256'
broker_config:
  use_ssl: false
  rabbitmq_host: '127.0.0.1'
  rabbitmq_port: $RABBITMQ_TEST_PORT
  rabbitmq_ssl_port: 5671
  rabbitmq_user: 'guest'
  rabbitmq_password: guest
  rabbitmq_vhost: '/'
results_backend_config:
  path: $SCRATCH/upstream-store
task_default_queue: 'default'
task_acks_late: true
task_track_started: true
artifacts_root_directory: 'test_system_artifacts'
worker_prefetch_multiplier: 1
gerrit_username:
testing:
working_directory: $SCRATCH/upstream-wd
jwt_secret: upstream-secret
hashing_algorithm: 'HS256'
opennebula_config:
  rpc_endpoint:
  username:
  password:
  vm_group:
  default_vm_disk_size:
  default_vm_ram_size:
  network:
bs_host: $BS
bs_tasks_endpoint: '/api/v1/tests/get_test_tasks/'
bs_token: $BS_TOKEN
logs_uploader_config:
  pulp_host:
  pulp_user:
  pulp_password:
  azure_logs_container:
rhel_flavors: [almalinux]
debian_flavors: [debian]
supported_runners: all
enable_integrity_tests: true
tests_exec_timeout: 1800
commands_exec_timeout: 30
provision_timeout: 600
uninstall_excluded_pkgs: [almalinux-release, kernel, dnf]
YAML
SCHEDULER_CONFIG_PATH=$SCRATCH/alts-upstream.yaml "$ALTS_SCHEDULER" --port 0 --port-file "$SCRATCH/up.port" \
	--no-broker 2>"$SCRATCH/up-sched.log" &
up_pid=$!
PIDS+=("$up_pid")
wait_file "$SCRATCH/up.port"
check "ALTS's config (SCHEDULER_CONFIG_PATH) starts the scheduler: /health answers" \
	curl -sf "http://127.0.0.1:$(cat "$SCRATCH/up.port")/health" -o /dev/null
check "... its Celery-only keys are named in warnings" grep -q 'task_acks_late: ALTS/Celery setting' "$SCRATCH/up-sched.log"
check "alts-token reads it (SCHEDULER_CONFIG_PATH)" \
	bash -c "SCHEDULER_CONFIG_PATH='$SCRATCH/alts-upstream.yaml' '$ALTS_TOKEN_BIN' -e a@example.com 2>/dev/null | grep -q '^ey'"
CELERY_CONFIG_PATH=$SCRATCH/alts-upstream.yaml "$ALTS_WORKER" --queues local-x86_64-0 2>"$SCRATCH/up-worker.log" &
up_w=$!
PIDS+=("$up_w")
for i in $(seq 1 150); do grep -q 'event=consumer.connected' "$SCRATCH/up-worker.log" && break; sleep 0.1; done
check "ALTS's config (CELERY_CONFIG_PATH) starts the worker: it consumes" grep -q 'event=consumer.connected' "$SCRATCH/up-worker.log"
echo "excluded_tests_url: https://git.almalinux.org/x.json" >>"$SCRATCH/alts-upstream.yaml"
out=$("$ALTS_SCHEDULER" -c "$SCRATCH/alts-upstream.yaml" --check-config 2>&1)
rc=$?
check "a key alts cannot honour is refused by name (exit $rc)" \
	bash -c "[ $rc = 2 ] && grep -q 'excluded_tests_url: not supported' <<<'$(grep excluded_tests_url <<<"$out" | tr -d "'")'"
finish
