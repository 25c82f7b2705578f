#!/usr/bin/env bash
# alts-worker end to end with the cloud artifact stores: a real rabbitmq-server, the real
# alts-scheduler and real workers, s3rver (checks Signature V4) and Azurite (checks SharedKey)
# on loopback, trivial suites on the local runner.
#   1. S3 (path style, base path): a passing and a failing task; report.tap, report.xml,
#      result.json and every log are read back from s3rver with curl --aws-sigv4 at the keys
#      the worker reported, compared with what the scheduler serves, and checked (TAP, JUnit
#      against the XSD, JSON); the summary under results_base_path says finished.
#   4. S3 down while a task ends: its artifacts are spooled and listed pending; s3rver comes
#      back and the worker's periodic spool flush (every 30 s) delivers them unchanged.
#   3. A wrong S3 secret: the task still finishes, the artifacts are pending, the worker log
#      names SignatureDoesNotMatch (not the secret), the scheduler answers 404 "pending"; a
#      worker with the right secret sharing the spool delivers them when it starts.
#   2. Azure (Azurite): as 1, artifacts in azure_logs_container, summary in
#      azureblockblob_container_name; again with result_backend: azureblockblob://<conn>.
#   3b. A wrong Azure key: as 3 (AuthorizationFailure / AuthenticationFailed).
# One broker for everything; the scheduler and the workers are restarted with other configs.
# Part 3 runs while the part 4 worker waits for its flush, on another queue (default_cost 1).
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/scheduler.sh"
source "$(dirname "$0")/lib/rabbitmq.sh"
source "$(dirname "$0")/lib/worker.sh"
source "$(dirname "$0")/lib/s3rver.sh"
source "$(dirname "$0")/lib/azurite.sh"
need_cmd curl jq node openssl cmp
[ -x "$RABBITMQ_BIN/rabbitmq-server" ] || skip_test "needs:rabbitmq-server (not installed)"
s3rver_available || skip_test "needs:s3rver (run npm ci in tests/js)"
azurite_available || skip_test "needs:azurite (run npm ci in tests/js)"
# Store retries back off by milliseconds here, not seconds.
export ALTS_STORE_BACKOFF_MS=10
cleanup() {
	workers_kill_all
	sched_stop
	s3rver_stop
	azurite_stop
	rabbitmq_stop
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
T0=$(date +%s)
phase() { echo "# [+$(($(date +%s) - T0)) s] $*"; }

BUCKET=ci-artifacts
s3rver_start "$SCRATCH/s3" "$BUCKET" || { bad "s3rver starts"; finish; exit 1; }
ok "s3rver listens on $S3RVER_URL"
azurite_start "$SCRATCH/az" || { bad "azurite starts"; finish; exit 1; }
ok "azurite listens on $AZURITE_ENDPOINT"
rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server starts"; finish; exit 1; }
ok "rabbitmq-server listens on 127.0.0.1:$RABBITMQ_TEST_PORT ($(($(date +%s) - T0)) s)"

# s3_yaml SECRET SPOOL [EXTRA]: the S3 keys of a worker/scheduler config.
s3_yaml() {
	cat <<YAML
result_backend: s3
s3_endpoint_url: $S3RVER_URL
s3_addressing_style: path
s3_bucket: $BUCKET
s3_region: us-east-1
s3_access_key_id: $S3RVER_KEY
s3_secret_access_key: $1
s3_base_path: alts/
results_base_path: summaries/
upload_retries: 2
upload_timeout: 10s
spool_directory: $2
${3-}
YAML
}
# az_yaml CONNECTION_STRING SPOOL [EXTRA]: the Azure keys.
az_yaml() {
	cat <<YAML
result_backend: azureblockblob
azure_connection_string: "$1"
azureblockblob_container_name: alts-results
azure_logs_container: alts-logs
azureblockblob_base_path: tasks/
results_base_path: summaries/
upload_retries: 2
upload_timeout: 10s
spool_directory: $2
${3-}
YAML
}
# s3get KEY [OUT]: the object, read with curl's own SigV4 signer (fails on an HTTP error).
s3get() {
	curl -sf -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3RVER_KEY:$S3RVER_SECRET" -o "${2:-/dev/stdout}" "$S3RVER_URL/$BUCKET/$1"
}
# store_fetch URL OUT: an artifact URL as the worker reported it, fetched from the emulator.
store_fetch() {
	local url=$1 out=$2 rest
	case $url in
	"s3://$BUCKET/"*) s3get "${url#"s3://$BUCKET/"}" "$out" ;;
	"$AZURITE_ENDPOINT/"*)
		rest=${url#"$AZURITE_ENDPOINT/"}
		azurite_get "${rest%%/*}" "${rest#*/}" >"$out"
		;;
	*) return 1 ;;
	esac
}
# sched_get PATH OUT: prints the HTTP status; the body goes to OUT.
sched_get() {
	curl -s -H "$AUTH" -o "$2" -w '%{http_code}' "$SCHED_URL$1"
}
# xsd_valid XSD FILE: xmllint's schema check, quiet unless it fails.
xsd_valid() {
	xmllint --noout --schema "$1" "$2" 2>"$SCRATCH/xsd.err" || { cat "$SCRATCH/xsd.err" >&2; return 1; }
}
spool_count() { find "$1" -name '*.json' 2>/dev/null | wc -l; }
# spool_copy SPOOL DIR: copies each spooled artifact's data to DIR/<key> (key from its metadata);
# a spooled summary goes to DIR/<task_id>.summary.json.
spool_copy() {
	local j k
	for j in "$1"/*.json; do
		[ -f "$j" ] || continue
		k=$(jq -r 'if .summary then .key + ".summary.json" else .key end' "$j")
		mkdir -p "$(dirname "$2/$k")"
		cp "${j%.json}.data" "$2/$k"
	done
}

pass_suite='{"name":"trivial","environment":{"runner":"local","dist_arch":"x86_64"},"checks":[{"launch":{"name":"say hello","command":"echo hello-from-worker"}},{"launch":{"name":"true","command":["true"]}}]}'
fail_suite='{"name":"failing","environment":{"runner":"local","dist_arch":"x86_64"},"checks":[{"launch":{"name":"greet","command":"echo hello"}},{"launch":{"name":"false","command":"echo broken >&2; exit 3"}}]}'
PASS_NAMES='logs/01-say_hello.log logs/02-true.log report.tap report.xml result.json'
FAIL_NAMES='logs/01-greet.log logs/02-false.log report.tap report.xml result.json'

# verify_task LABEL ID SUCCESS NAMES URL_PREFIX SUMMARY_FETCH...: the task finished with
# result.success SUCCESS, stored exactly NAMES (sorted, space-separated) under URL_PREFIX<id>/,
# nothing pending; every artifact read from the store equals what the scheduler serves and
# has the right content; the summary (fetched by SUMMARY_FETCH... OUT) says finished.
verify_task() {
	local label=$1 id=$2 success=$3 names=$4 prefix=$5
	shift 5
	local d=$SCRATCH/v-$id t r n url code same=1 served=1 urls=1
	mkdir -p "$d/store/logs" "$d/sched/logs"
	r=$(wait_result "$id" 60) || { bad "$label: task ends"; dump_logs; return; }
	t=$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id")
	check "$label: finished, success $success ($(jq -c '{state,success:.result.success}' <<<"$r"))" \
		[ "$(jq -r '.state + " " + (.result.success|tostring)' <<<"$r")" = "finished $success" ]
	check "$label: artifacts are $names" [ "$(jq -r '.artifacts | keys | join(" ")' <<<"$t")" = "$names" ]
	check "$label: nothing pending" [ "$(jq -r '.artifacts_pending | length' <<<"$t")" = 0 ]
	for n in $names; do
		url=$(jq -r --arg n "$n" '.artifacts[$n]' <<<"$t")
		[ "$url" = "$prefix$id/$n" ] || { urls=0; echo "# $n: $url" >&2; }
		store_fetch "$url" "$d/store/$n" || { same=0; echo "# cannot fetch $url" >&2; continue; }
		code=$(sched_get "/tasks/$id/$n" "$d/sched/$n")
		[ "$code" = 200 ] || { served=0; echo "# GET /tasks/$id/$n: $code $(head -c 300 "$d/sched/$n")" >&2; }
		cmp -s "$d/store/$n" "$d/sched/$n" || same=0
	done
	check "$label: artifact URLs are $prefix<id>/<name>" [ "$urls" = 1 ]
	check "$label: the scheduler serves every artifact (200)" [ "$served" = 1 ]
	check "$label: every artifact read from the store equals what the scheduler serves" [ "$same" = 1 ]
	check "$label: result.logs are the stored logs' URLs" \
		[ "$(jq -r '[.result.result.logs[]] | sort | join(" ")' <<<"$r")" = "$(jq -r '[.artifacts | to_entries[] | select(.key|startswith("logs/")) | .value] | sort | join(" ")' <<<"$t")" ]
	# Content.
	check "$label: report.tap plans 2 tests" grep -q '^1\.\.2$' "$d/store/report.tap"
	if command -v prove >/dev/null; then
		check "$label: report.tap parses with prove" bash -c 'prove -e cat "$1" >/dev/null 2>&1; [ $? = $2 ]' _ \
			"$d/store/report.tap" "$([ "$success" = true ] && echo 0 || echo 1)"
	fi
	if [ "$success" = true ]; then
		check "$label: TAP: 2 ok, no not ok" [ "$(grep -c '^ok ' "$d/store/report.tap")" = 2 ] && fails grep -q '^not ok' "$d/store/report.tap"
	else
		check "$label: TAP: not ok 2" grep -q '^not ok 2' "$d/store/report.tap"
	fi
	if command -v xmllint >/dev/null; then
		check "$label: report.xml is well-formed" xmllint --noout "$d/store/report.xml"
		check "$label: report.xml is valid against junit-10.xsd" \
			xsd_valid "$ALTS_SOURCE_DIR/tests/fixtures/schemas/junit-10.xsd" "$d/store/report.xml"
		check "$label: report.xml counts $([ "$success" = true ] && echo 0 || echo 1) failure(s)" \
			[ "$(xmllint --xpath 'count(//testcase[failure or error])' "$d/store/report.xml" 2>/dev/null)" = "$([ "$success" = true ] && echo 0 || echo 1)" ]
	fi
	check "$label: result.json is the reported result (but success and log URLs)" \
		[ "$(jq -cS 'del(.result.logs)' "$d/store/result.json")" = "$(jq -cS '.result | del(.success, .result.logs)' <<<"$r")" ]
	if [ "$success" = true ]; then
		check "$label: the launch log holds the output" grep -q hello-from-worker "$d/store/logs/01-say_hello.log"
	else
		check "$label: the failing check's log holds its output" grep -q broken "$d/store/logs/02-false.log"
	fi
	"$@" "$d/summary.json"
	check "$label: the summary says finished, with the same artifacts" \
		[ "$(jq -cS '[.task_id, .state, .result.success, .artifacts]' "$d/summary.json" 2>/dev/null)" = "$(jq -cS --arg id "$id" "[\$id, \"finished\", $success, .artifacts]" <<<"$t")" ]
}
# pending_task LABEL ID SECRET CODE_RE: the task finished but the store refused every upload:
# all its artifacts pending, the worker log names the service's code (not SECRET), the scheduler
# answers 404 "pending".
pending_task() {
	local label=$1 id=$2 secret=$3 code_re=$4 t body code
	t=$(wait_result "$id" 60) || { bad "$label: task ends"; dump_logs; return; }
	t=$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id")
	check "$label: the task still finished" [ "$(jq -r .state <<<"$t")" = finished ]
	check "$label: all artifacts pending ($(jq -c .artifacts_pending <<<"$t"))" \
		[ "$(jq -r '.artifacts_pending | sort | join(" ")' <<<"$t")" = "$PASS_NAMES" ]
	check "$label: the worker logged the uploads as spooled" \
		[ "$(grep -c "event=artifact.spooled task=$id " "$WORKER_LOG")" = 5 ]
	check "$label: ... naming the service's error ($(grep -m1 "event=artifact.spooled task=$id name=report.tap" "$WORKER_LOG" | sed 's/.* msg=//' | cut -c1-160))" \
		grep -Eq "event=artifact.spooled task=$id name=report.tap msg=.*HTTP 403 ($code_re)" "$WORKER_LOG"
	check "$label: the summary upload failed with the same error and was spooled" grep -Eq "event=summary.spooled task=$id msg=.*($code_re)" "$WORKER_LOG"
	check "$label: artifacts.stored says 0 stored, 5 pending" grep -q "event=artifacts.stored task=$id stored=0 pending=5" "$WORKER_LOG"
	check "$label: the secret is in no log" fails grep -qF -- "$secret" "$WORKER_LOG" "$SCRATCH/scheduler.log"
	code=$(sched_get "/tasks/$id/report.tap" "$SCRATCH/resp-pending")
	body=$(cat "$SCRATCH/resp-pending")
	check "$label: GET report.tap is 404 saying pending ($code $(head -c 200 <<<"$body"))" \
		bash -c '[ "$1" = 404 ] && grep -q "artifacts_pending" <<<"$2"' _ "$code" "$body"
	code=$(sched_get "/tasks/$id/logs/01-say_hello.log" "$SCRATCH/resp-pending")
	check "$label: GET logs/01-say_hello.log is 404 saying pending ($code)" \
		bash -c '[ "$1" = 404 ] && grep -q "artifacts_pending" "$2"' _ "$code" "$SCRATCH/resp-pending"
}
# compare_delivered LABEL ID COPY_DIR URL_PREFIX: each artifact spooled for ID (copied to
# COPY_DIR/<id>/<name>) is now in the store unchanged and served by the scheduler.
compare_delivered() {
	local label=$1 id=$2 dir=$3 prefix=$4 n ok_store=1 ok_sched=1 code
	for n in $PASS_NAMES; do
		store_fetch "$prefix$id/$n" "$SCRATCH/got" && cmp -s "$SCRATCH/got" "$dir/$id/$n" || ok_store=0
		code=$(sched_get "/tasks/$id/$n" "$SCRATCH/got")
		[ "$code" = 200 ] && cmp -s "$SCRATCH/got" "$dir/$id/$n" || ok_sched=0
	done
	check "$label: every spooled artifact is in the store unchanged" [ "$ok_store" = 1 ]
	check "$label: ... and the scheduler serves it" [ "$ok_sched" = 1 ]
}
# all_in_s3 ID: every artifact of a passing task is in s3rver.
all_in_s3() {
	local n
	for n in $PASS_NAMES; do s3get "alts/$1/$n" /dev/null || return 1; done
}

# ================================================================ S3
worker_config "$SCRATCH/s3.yaml" "$(s3_yaml "$S3RVER_SECRET" "$SCRATCH/spool-s3")"
sched_start "$SCRATCH/s3.yaml" --log-level info || { bad "scheduler starts"; finish; exit 1; }
TOKEN_BIN=${ALTS_TOKEN_BIN:-$ALTS_BUILD_DIR/alts-token}
AUTH="Authorization: Bearer $("$TOKEN_BIN" -s worker-test-secret -e it@example.com)"
worker_start "$SCRATCH/s3.yaml" --log-level debug || { bad "S3 worker starts"; dump_logs; finish; exit 1; }
WORKER_PIDS+=("$WORKER_PID")
W1=$WORKER_PID
W1LOG=$WORKER_LOG
ok "S3 worker consumes local-x86_64-0"
phase "S3"

# 1. A passing and a failing task, artifacts in s3rver.
id1=$(submit_suite "$pass_suite") || { bad "submit"; dump_logs; finish; exit 1; }
id2=$(submit_suite "$fail_suite")
s3_summary() { s3get "summaries/$1.json" "$2"; }
verify_task "s3 pass" "$id1" true "$PASS_NAMES" "s3://$BUCKET/alts/" s3_summary "$id1"
verify_task "s3 fail" "$id2" false "$FAIL_NAMES" "s3://$BUCKET/alts/" s3_summary "$id2"
ct=$(curl -sfI -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --aws-sigv4 "aws:amz:us-east-1:s3" \
	--user "$S3RVER_KEY:$S3RVER_SECRET" "$S3RVER_URL/$BUCKET/alts/$id1/report.xml" | tr -d '\r' |
	awk -F': ' 'tolower($1) == "content-type" {print $2}')
check "s3: report.xml stored as application/xml ($ct)" [ "$ct" = application/xml ]
check "s3: the worker logged 5 stored, 0 pending" grep -q "event=artifacts.stored task=$id1 stored=5 pending=0" "$W1LOG"

worker_stop "$W1"

# 4. s3rver down while a task ends: spooled, pending; back up: the periodic flush delivers.
# A fresh worker: it flushes at start, then every 30 s, so s3rver is back before the next one.
phase "S3 down"
worker_start "$SCRATCH/s3.yaml" --log-level debug || bad "S3 worker for the outage starts"
WORKER_PIDS+=("$WORKER_PID")
W4=$WORKER_PID
W4LOG=$WORKER_LOG
W4_STARTED=$(date +%s)
s3rver_stop
id4=$(submit_suite "$pass_suite")
t=$(wait_result "$id4" 60 >/dev/null; curl -s -H "$AUTH" "$SCHED_URL/tasks/$id4")
check "s3 down: the task still finished" [ "$(jq -r .state <<<"$t")" = finished ]
check "s3 down: all artifacts pending ($(jq -c .artifacts_pending <<<"$t"))" \
	[ "$(jq -r '.artifacts_pending | sort | join(" ")' <<<"$t")" = "$PASS_NAMES" ]
check "s3 down: the worker says why (connection)" \
	grep -Eq "event=artifact.spooled task=$id4 name=report.tap msg=\"?s3 PUT 'alts/$id4/report.tap' in bucket '$BUCKET' failed: .*onnect" "$W4LOG"
check "s3 down: the spool holds 5 artifacts and the summary" [ "$(spool_count "$SCRATCH/spool-s3")" = 6 ]
check "s3 down: the spool metadata names the keys" \
	[ "$(jq -r 'select(.summary != true) | .key' "$SCRATCH"/spool-s3/*.json | sort | tr '\n' ' ')" = "$(for n in $PASS_NAMES; do printf '%s ' "$id4/$n"; done)" ]
check "s3 down: ... and the summary's task" [ "$(jq -r 'select(.summary == true) | .key' "$SCRATCH"/spool-s3/*.json)" = "$id4" ]
spool_copy "$SCRATCH/spool-s3" "$SCRATCH/spooled4"
check "s3 down: the spooled TAP is a whole report" grep -q '^1\.\.2$' "$SCRATCH/spooled4/$id4/report.tap"
code=$(sched_get "/tasks/$id4/report.tap" "$SCRATCH/resp")
check "s3 down: the scheduler cannot read the store: 502 ($code $(head -c 160 "$SCRATCH/resp"))" [ "$code" = 502 ]
check "s3 down: the summary was spooled" grep -q "event=summary.spooled task=$id4 " "$W4LOG"
s3rver_start "$SCRATCH/s3" "$BUCKET" || bad "s3rver restarts"
S3_BACK=$(date +%s)
code=$(sched_get "/tasks/$id4/report.tap" "$SCRATCH/resp")
# (200 only if the periodic flush happened to run in between)
check "s3 back, not flushed yet: 404 saying pending ($code $(head -c 200 "$SCRATCH/resp"))" \
	bash -c '{ [ "$1" = 404 ] && grep -q artifacts_pending "$2"; } || [ "$1" = 200 ]' _ "$code" "$SCRATCH/resp"

phase "S3 wrong secret"
# 3. A wrong S3 secret (the scheduler has the right one). Runs on queue local-x86_64-1 while
# the worker above waits for its flush.
sched_stop
worker_config "$SCRATCH/s3-q1.yaml" "$(s3_yaml "$S3RVER_SECRET" "$SCRATCH/spool-s3" "default_cost: 1")"
sched_start "$SCRATCH/s3-q1.yaml" --log-level info || bad "scheduler restarts (default_cost 1)"
BADSECRET=wrong-secret-$RANDOM$RANDOM
worker_config "$SCRATCH/s3-bad.yaml" "$(s3_yaml "$BADSECRET" "$SCRATCH/spool-s3bad" "worker_queues: [local-x86_64-1]")"
worker_start "$SCRATCH/s3-bad.yaml" --log-level debug || bad "wrong-secret worker starts"
WORKER_PIDS+=("$WORKER_PID")
id3=$(submit_suite "$pass_suite")
pending_task "s3 wrong secret" "$id3" "$BADSECRET" SignatureDoesNotMatch
check "s3 wrong secret: the message names the object and bucket" \
	grep -Eq "event=artifact.spooled task=$id3 name=report.tap msg=\"?s3 PUT 'alts/$id3/report.tap' in bucket '$BUCKET' failed: HTTP 403 SignatureDoesNotMatch" "$WORKER_LOG"
check "s3 wrong secret: a 4xx is not retried (one PUT of report.tap)" \
	[ "$(grep -c "alts/$id3/report.tap 403" "$SCRATCH/s3/s3rver.out")" = 1 ]
check "s3 wrong secret: nothing reached s3rver" fails s3get "alts/$id3/report.tap" /dev/null
worker_stop "$WORKER_PID"
spool_copy "$SCRATCH/spool-s3bad" "$SCRATCH/spooled3"
# The operator fixes the secret and restarts: the spool is flushed at start.
worker_config "$SCRATCH/s3-fixed.yaml" "$(s3_yaml "$S3RVER_SECRET" "$SCRATCH/spool-s3bad" "worker_queues: [local-x86_64-1]")"
worker_start "$SCRATCH/s3-fixed.yaml" --log-level debug || bad "fixed worker starts"
WORKER_PIDS+=("$WORKER_PID")
for i in $(seq 1 300); do [ "$(spool_count "$SCRATCH/spool-s3bad")" = 0 ] && break; sleep 0.1; done
check "s3 secret fixed: the restarted worker flushed the spool at start" grep -q "event=spool.flushed task=- delivered=6" "$WORKER_LOG"
check "s3 secret fixed: the spool is empty" [ "$(spool_count "$SCRATCH/spool-s3bad")" = 0 ]
compare_delivered "s3 secret fixed" "$id3" "$SCRATCH/spooled3" "s3://$BUCKET/alts/"
worker_stop "$WORKER_PID"

phase "S3 back: waiting for the flush"
# 4 (cont.). The outage worker's periodic flush (every 30 s) delivers the spooled artifacts.
for i in $(seq 1 90); do all_in_s3 "$id4" && break; sleep 1; done
check "s3 back: by the periodic flush, not the one at start ($(($(date +%s) - W4_STARTED)) s)" [ $(($(date +%s) - W4_STARTED)) -ge 25 ]
check "s3 back: the periodic flush delivered them $(($(date +%s) - S3_BACK)) s after s3rver came back ($(($(date +%s) - W4_STARTED)) s after the worker started)" all_in_s3 "$id4"
compare_delivered "s3 back" "$id4" "$SCRATCH/spooled4" "s3://$BUCKET/alts/"
check "s3 back: spool.flushed logged" grep -q "event=spool.flushed task=- delivered=6" "$W4LOG"
check "s3 back: the spool is empty" [ "$(spool_count "$SCRATCH/spool-s3")" = 0 ]
# The summary was spooled with the artifacts and is delivered with them.
for i in $(seq 1 50); do s3get "summaries/$id4.json" "$SCRATCH/summary4.json" && break; sleep 0.2; done
check "s3 back: the spooled summary is delivered and says finished" [ "$(jq -r '.task_id + " " + .state' "$SCRATCH/summary4.json" 2>/dev/null)" = "$id4 finished" ]
check "s3 back: ... byte for byte what was spooled" cmp -s "$SCRATCH/summary4.json" "$SCRATCH/spooled4/$id4.summary.json"
worker_stop "$W4"

# ================================================================ Azure
phase "Azure"
sched_stop
worker_config "$SCRATCH/az.yaml" "$(az_yaml "$AZURITE_CONN" "$SCRATCH/spool-az")"
sched_start "$SCRATCH/az.yaml" --log-level info || bad "scheduler restarts (Azure)"
worker_start "$SCRATCH/az.yaml" --log-level debug || bad "Azure worker starts"
WORKER_PIDS+=("$WORKER_PID")
ida=$(submit_suite "$pass_suite")
idb=$(submit_suite "$fail_suite")
az_summary() { azurite_get alts-results "summaries/$1.json" >"$2"; }
verify_task "azure pass" "$ida" true "$PASS_NAMES" "$AZURITE_ENDPOINT/alts-logs/tasks/" az_summary "$ida"
verify_task "azure fail" "$idb" false "$FAIL_NAMES" "$AZURITE_ENDPOINT/alts-logs/tasks/" az_summary "$idb"
check "azure: the summary is not in the logs container" fails azurite_get alts-logs "summaries/$ida.json"
worker_stop "$WORKER_PID"

phase "Azure (ALTS form)"
# 2b. ALTS's form: result_backend: azureblockblob://<connection string>, its base path.
sched_stop
worker_config "$SCRATCH/az-alts.yaml" "$(az_yaml "$AZURITE_CONN" "$SCRATCH/spool-az" |
	sed -e '/^azure_connection_string:/d' -e "s|^result_backend: .*|result_backend: \"azureblockblob://$AZURITE_CONN\"|" \
		-e 's|^azureblockblob_base_path: .*|azureblockblob_base_path: celery_result_backend/|')"
check "azure (ALTS form): the config has no azure_connection_string" fails grep -q '^azure_connection_string' "$SCRATCH/az-alts.yaml"
sched_start "$SCRATCH/az-alts.yaml" --log-level info || bad "scheduler restarts (azureblockblob://)"
worker_start "$SCRATCH/az-alts.yaml" --log-level debug || bad "azureblockblob:// worker starts"
WORKER_PIDS+=("$WORKER_PID")
idc=$(submit_suite "$pass_suite")
verify_task "azure (ALTS form)" "$idc" true "$PASS_NAMES" "$AZURITE_ENDPOINT/alts-logs/celery_result_backend/" az_summary "$idc"
worker_stop "$WORKER_PID"

phase "Azure wrong key"
# 3b. A wrong Azure key (the scheduler has the right one).
wrongkey=$(head -c 64 /dev/urandom | base64 -w0)
worker_config "$SCRATCH/az-bad.yaml" "$(az_yaml "${AZURITE_CONN/AccountKey=$AZURITE_KEY/AccountKey=$wrongkey}" "$SCRATCH/spool-azbad" |
	sed 's|^azureblockblob_base_path: .*|azureblockblob_base_path: celery_result_backend/|')"
worker_start "$SCRATCH/az-bad.yaml" --log-level debug || bad "wrong-key worker starts"
WORKER_PIDS+=("$WORKER_PID")
idd=$(submit_suite "$pass_suite")
# Azure answers AuthenticationFailed; Azurite says AuthorizationFailure for the same thing.
pending_task "azure wrong key" "$idd" "$wrongkey" "AuthenticationFailed|AuthorizationFailure"
check "azure wrong key: the message names the blob and container" \
	grep -Eq "event=artifact.spooled task=$idd name=report.tap msg=\"?azure Put Blob 'celery_result_backend/$idd/report.tap' in container 'alts-logs' failed: HTTP 403" "$WORKER_LOG"
check "azure wrong key: the real key is in no log either" fails grep -qF -- "$AZURITE_KEY" "$SCRATCH"/worker-*.log "$SCRATCH/scheduler.log"
check "azure wrong key: nothing reached Azurite" fails azurite_get alts-logs "celery_result_backend/$idd/report.tap"
check "azure wrong key: the spool holds 5 artifacts and the summary" [ "$(spool_count "$SCRATCH/spool-azbad")" = 6 ]
worker_stop "$WORKER_PID"

sched_stop
check "no sanitizer reports in the worker and scheduler logs" \
	fails grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$SCRATCH"/worker-*.log "$SCRATCH/scheduler.log"
phase "done"
[ "$FAILED" = 0 ] || dump_logs
finish
