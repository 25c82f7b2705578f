#!/usr/bin/env bash
# The Pulp artifact store (result_backend: pulp) against the Pulp stand-in
# (tests/tools/pulp_standin.py: written from Pulp's published REST API; no real Pulp runs here),
# driven through store_tool with worker configs:
#   - uploads (a log, bytes, a 3 MiB binary file) become Pulp artifacts with the same bytes and
#     sha256; url gives the artifact's pulp_href, the one Pulp lists for that sha256; get reads
#     the local copy;
#   - the same bytes under another key: no error, the existing artifact's href (Pulp's 400
#     "already exists" handled), no second artifact;
#   - the href works the way the AlmaLinux Build System uses it: content/file/files/ with
#     {"artifact": href, "relative_path"} gives a task that completes with the content;
#   - a wrong password: a clear error (HTTP 401 and Pulp's message, never the password); with
#     the spool the upload waits there and a flush with the right password delivers it;
#     Pulp answering 503, and Pulp stopped: spooled, then flushed when it is back;
#   - config errors are named (no pulp_host, a pulp_host that is no URL, user without password);
#     ALTS_PULP_PASSWORD and pulp_password_file supply the password.
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/pulp.sh"
need_cmd curl jq python3 sha256sum cmp
STORE_TOOL=${ALTS_BUILD_DIR:?}/store_tool
[ -x "$STORE_TOOL" ] || skip_test "needs:store_tool (build with ALTS_TESTS=ON)"
trap 'pulp_standin_stop; rm -rf "$SCRATCH"' EXIT
export ALTS_STORE_BACKOFF_MS=10

tool() { "$STORE_TOOL" "$@"; }
# fails_with CODE ARGS...: store_tool exits CODE; its stderr is in $SCRATCH/err.
fails_with() {
	local want=$1 rc=0
	shift
	tool "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
	[ "$rc" = "$want" ] || { echo "# exit $rc: $(cat "$SCRATCH/err")" >&2; return 1; }
}
has_err() { grep -q -- "$1" "$SCRATCH/err"; }
fails() { ! "$@"; }
spool_count() { find "$1" -name '*.json' 2>/dev/null | wc -l; }
sha() { sha256sum "$1" | cut -c1-64; }
# artifact_file SHA256: where the stand-in keeps that artifact's bytes.
artifact_file() { echo "$SCRATCH/pulp/data/artifact/${1:0:2}/${1:2}"; }
artifact_count() { pulp_api artifacts/ | jq -r .count; }

pulp_standin_start "$SCRATCH/pulp" || { bad "the Pulp stand-in starts"; finish; exit 1; }
ok "the Pulp stand-in listens on $PULP_URL"

# pcfg FILE PASSWORD [EXTRA]: a worker config storing in Pulp.
pcfg() {
	cat >"$1" <<YAML
working_directory: $SCRATCH/wd
spool_directory: $SCRATCH/spool
file_store_directory: $SCRATCH/copy
result_backend: pulp
pulp_host: $PULP_URL/
pulp_user: $PULP_USER
pulp_password: "$2"
s3_base_path: tasks/
upload_retries: 2
upload_timeout: 10s
${3-}
YAML
}
pcfg "$SCRATCH/p.yaml" "$PULP_PASSWORD"
printf 'Exit code: 0\nStdout:\n\n1..1\nok 1 - install\n' >"$SCRATCH/install.log"
head -c $((3 * 1024 * 1024 + 5)) /dev/urandom >"$SCRATCH/big.bin"

# ------------------------------------------------------------ uploads
check "put a log" tool "$SCRATCH/p.yaml" put-file 7/logs/install.log "$SCRATCH/install.log"
s=$(sha "$SCRATCH/install.log")
check "Pulp holds the same bytes as an artifact" cmp -s "$(artifact_file "$s")" "$SCRATCH/install.log"
listed=$(pulp_api "artifacts/?sha256=$s")
check "Pulp lists one artifact with its sha256, size and sha512" \
	[ "$(jq -r '[.count, .results[0].sha256, .results[0].size, .results[0].sha512] | join(" ")' <<<"$listed")" = \
		"1 $s $(stat -c %s "$SCRATCH/install.log") $(sha512sum "$SCRATCH/install.log" | cut -d' ' -f1)" ]
href=$(tool "$SCRATCH/p.yaml" url 7/logs/install.log)
check "url is the artifact's pulp_href ($href)" [ "$href" = "$(jq -r '.results[0].pulp_href' <<<"$listed")" ]
check "... of the form /pulp/api/v3/artifacts/<uuid>/" \
	grep -Eq '^/pulp/api/v3/artifacts/[0-9a-f-]{36}/$' <<<"$href"
check "get reads the local copy back" cmp -s <(tool "$SCRATCH/p.yaml" get 7/logs/install.log) "$SCRATCH/install.log"
check "the local copy is under file_store_directory with the base path" \
	cmp -s "$SCRATCH/copy/tasks/7/logs/install.log" "$SCRATCH/install.log"
check "put bytes" tool "$SCRATCH/p.yaml" put-bytes 7/report.tap "ok 1 - install"
check "... Pulp holds them" \
	[ "$(cat "$(artifact_file "$(printf 'ok 1 - install' | sha256sum | cut -c1-64)")")" = "ok 1 - install" ]
check "an empty object" tool "$SCRATCH/p.yaml" put-bytes 7/empty.log ""
check "... is an empty artifact" [ -f "$(artifact_file "$(sha256sum </dev/null | cut -c1-64)")" ] &&
	[ ! -s "$(artifact_file "$(sha256sum </dev/null | cut -c1-64)")" ]
check "put a 3 MiB binary file" tool "$SCRATCH/p.yaml" put-file 7/big.bin "$SCRATCH/big.bin"
check "... Pulp holds the same bytes" cmp -s "$(artifact_file "$(sha "$SCRATCH/big.bin")")" "$SCRATCH/big.bin"
url_big=$(tool "$SCRATCH/p.yaml" url 7/big.bin)
check "... its href is Pulp's for that sha256" \
	[ "$url_big" = "$(pulp_api "artifacts/?sha256=$(sha "$SCRATCH/big.bin")" | jq -r '.results[0].pulp_href')" ]
check "url of a key never stored: not found (exit 4)" fails_with 4 "$SCRATCH/p.yaml" url 9/none.log

# ------------------------------------------------------------ the same bytes again
n=$(artifact_count)
check "the same log under another key uploads fine" tool "$SCRATCH/p.yaml" put-file 8/logs/install.log "$SCRATCH/install.log"
check "... no second artifact ($n)" [ "$(artifact_count)" = "$n" ]
check "... url is the existing artifact's href" [ "$(tool "$SCRATCH/p.yaml" url 8/logs/install.log)" = "$href" ]
check "Pulp itself refuses the duplicate with its uniqueness message" \
	bash -c 'curl -s -u "$1" -F "file=@$2" "$3/pulp/api/v3/artifacts/" | grep -q "already exists"' _ \
	"$PULP_USER:$PULP_PASSWORD" "$SCRATCH/install.log" "$PULP_URL"

# ------------------------------------------------------------ the href as the Build System uses it
task=$(pulp_api content/file/files/ -H 'Content-Type: application/json' \
	-d "{\"relative_path\": \"install_7.log\", \"artifact\": \"$href\"}" | jq -r .task)
check "content/file/files/ with the href answers a task ($task)" grep -Eq '^/pulp/api/v3/tasks/[0-9a-f-]{36}/$' <<<"$task"
t=$(pulp_wait_task "$task")
check "... the task completes with the FileContent ($(jq -c '[.state, .created_resources]' <<<"$t"))" \
	[ "$(jq -r '.state + " " + (.created_resources[0] | test("^/pulp/api/v3/content/file/files/") | tostring)' <<<"$t")" = "completed true" ]
check "... which names the artifact and the relative path" \
	[ "$(curl -s -u "$PULP_USER:$PULP_PASSWORD" "$PULP_URL$(jq -r '.created_resources[0]' <<<"$t")" | jq -r '.artifact + " " + .relative_path')" = "$href install_7.log" ]
check "a href of no artifact is refused with 400" \
	[ "$(pulp_api content/file/files/ -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-d '{"relative_path": "x.log", "artifact": "/pulp/api/v3/artifacts/00000000-0000-0000-0000-000000000000/"}')" = 400 ]

# ------------------------------------------------------------ wrong credentials
pcfg "$SCRATCH/bad.yaml" not-the-password
check "a wrong password fails (exit 3)" fails_with 3 "$SCRATCH/bad.yaml" put-file 9/logs/a.log "$SCRATCH/install.log"
check "... naming HTTP 401 and Pulp's message ($(cat "$SCRATCH/err"))" has_err "HTTP 401: Invalid username/password."
check "... never the password" fails grep -q not-the-password "$SCRATCH/err"
: >"$SCRATCH/x.log"; echo "spooled $RANDOM" >"$SCRATCH/spool1.log"
check "with the spool the upload waits there" [ "$(tool "$SCRATCH/bad.yaml" spool-put-file 9/logs/a.log "$SCRATCH/spool1.log" 2>/dev/null)" = spooled ]
check "... one entry" [ "$(spool_count "$SCRATCH/spool")" = 1 ]
check "... nothing reached Pulp" [ ! -e "$(artifact_file "$(sha "$SCRATCH/spool1.log")")" ]
check "a flush with the wrong password keeps it" fails_with 3 "$SCRATCH/bad.yaml" flush-spool
check "... still one entry" [ "$(spool_count "$SCRATCH/spool")" = 1 ]
check "a flush with the right password delivers it" [ "$(tool "$SCRATCH/p.yaml" flush-spool)" = "delivered 1 remaining 0" ]
check "... Pulp holds the bytes" cmp -s "$(artifact_file "$(sha "$SCRATCH/spool1.log")")" "$SCRATCH/spool1.log"
check "... and url finds its href from the local copy" \
	[ "$(tool "$SCRATCH/p.yaml" url 9/logs/a.log)" = "$(pulp_api "artifacts/?sha256=$(sha "$SCRATCH/spool1.log")" | jq -r '.results[0].pulp_href')" ]
pcfg "$SCRATCH/nouser.yaml" x
sed -i '/^pulp_user:/d; /^pulp_password:/d' "$SCRATCH/nouser.yaml"
check "no credentials at all: HTTP 401 'not provided'" fails_with 3 "$SCRATCH/nouser.yaml" put-bytes 9/n.log n &&
	has_err "HTTP 401: Authentication credentials were not provided."

# ------------------------------------------------------------ Pulp unavailable, then down
pulp_control '{"unavailable": true}' >/dev/null
echo "during 503 $RANDOM" >"$SCRATCH/spool2.log"
check "Pulp answering 503: the upload is spooled after the retries" \
	[ "$(tool "$SCRATCH/p.yaml" spool-put-file 10/logs/b.log "$SCRATCH/spool2.log" 2>"$SCRATCH/err")" = spooled ]
check "... the message says 503 ($(cat "$SCRATCH/err"))" grep -q "HTTP 503" "$SCRATCH/err"
pulp_control '{"unavailable": false}' >/dev/null
pulp_standin_stop
echo "while down $RANDOM" >"$SCRATCH/spool3.log"
check "Pulp stopped: the upload is spooled" [ "$(tool "$SCRATCH/p.yaml" spool-put-file 10/logs/c.log "$SCRATCH/spool3.log" 2>/dev/null)" = spooled ]
check "... two entries wait" [ "$(spool_count "$SCRATCH/spool")" = 2 ]
check "a flush while it is down delivers nothing" fails_with 3 "$SCRATCH/p.yaml" flush-spool && has_err "pulp POST"
pulp_standin_start "$SCRATCH/pulp" "$PULP_USER" "$PULP_PASSWORD" || { bad "the stand-in restarts"; finish; exit 1; }
check "Pulp back: the flush delivers both" [ "$(tool "$SCRATCH/p.yaml" flush-spool)" = "delivered 2 remaining 0" ]
check "... Pulp holds both, unchanged" cmp -s "$(artifact_file "$(sha "$SCRATCH/spool2.log")")" "$SCRATCH/spool2.log" &&
	cmp -s "$(artifact_file "$(sha "$SCRATCH/spool3.log")")" "$SCRATCH/spool3.log"
check "... the spool is empty" [ "$(spool_count "$SCRATCH/spool")" = 0 ]

# ------------------------------------------------------------ several threads, one store
echo "parallel" >"$SCRATCH/par.log"
check "8 threads upload through one store (same bytes: one artifact, no error)" \
	tool "$SCRATCH/p.yaml" parallel-put 8 11/logs/p "$SCRATCH/par.log"
check "... one artifact for them" [ "$(pulp_api "artifacts/?sha256=$(sha "$SCRATCH/par.log")" | jq -r .count)" = 1 ]

# ------------------------------------------------------------ config
printf 'working_directory: %s\nresult_backend: pulp\n' "$SCRATCH/wd" >"$SCRATCH/c1.yaml"
check "result_backend pulp without pulp_host: refused (exit 2)" fails_with 2 "$SCRATCH/c1.yaml" url x &&
	has_err "result backend 'pulp' needs pulp_host"
printf 'working_directory: %s\nresult_backend: pulp\npulp_host: pulp.example\n' "$SCRATCH/wd" >"$SCRATCH/c2.yaml"
check "a pulp_host that is no URL: refused with its line" fails_with 2 "$SCRATCH/c2.yaml" url x &&
	has_err "c2.yaml:3:12: pulp_host: expected an http:// or https:// URL"
printf 'working_directory: %s\nresult_backend: pulp\npulp_host: %s\npulp_user: alts\n' "$SCRATCH/wd" "$PULP_URL" >"$SCRATCH/c3.yaml"
check "pulp_user without a password: refused" fails_with 2 "$SCRATCH/c3.yaml" url x && has_err "pulp_user needs pulp_password"
check "ALTS_PULP_PASSWORD supplies it" env ALTS_PULP_PASSWORD="$PULP_PASSWORD" "$STORE_TOOL" "$SCRATCH/c3.yaml" put-bytes 12/e.log env
printf '%s\n' "$PULP_PASSWORD" >"$SCRATCH/pw"
printf 'pulp_password_file: %s\n' "$SCRATCH/pw" >>"$SCRATCH/c3.yaml"
check "pulp_password_file supplies it" tool "$SCRATCH/c3.yaml" put-bytes 12/f.log file
sed '/^result_backend:/d' "$SCRATCH/c3.yaml" >"$SCRATCH/c4.yaml"
check "no result_backend but pulp_host: Pulp is chosen (as ALTS's logs_uploader_config does)" \
	tool "$SCRATCH/c4.yaml" put-bytes 12/g.log chosen-by-pulp-host &&
	[ "$(cat "$(artifact_file "$(printf chosen-by-pulp-host | sha256sum | cut -c1-64)")")" = chosen-by-pulp-host ]
printf 'result_backend: file\n' >>"$SCRATCH/c4.yaml"
check "... but an explicit result_backend wins" [ "$(tool "$SCRATCH/c4.yaml" url 12/g.log)" = "file://$SCRATCH/wd/artifacts/12/g.log" ]

# ------------------------------------------------------------ a real worker storing in Pulp
source "$(dirname "$0")/lib/scheduler.sh"
source "$(dirname "$0")/lib/rabbitmq.sh"
if [ ! -x "$RABBITMQ_BIN/rabbitmq-server" ] || [ ! -x "$ALTS_BUILD_DIR/alts-worker" ]; then
	echo "# skipping the worker part: needs rabbitmq-server and alts-worker"
	finish
	exit
fi
source "$(dirname "$0")/lib/worker.sh"
trap 'workers_kill_all; sched_stop; rabbitmq_stop; pulp_standin_stop; rm -rf "$SCRATCH"' EXIT
rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server starts"; finish; exit 1; }
worker_config "$SCRATCH/w.yaml" "result_backend: pulp
pulp_host: $PULP_URL
pulp_user: $PULP_USER
pulp_password: $PULP_PASSWORD
upload_retries: 2"
sched_start "$SCRATCH/w.yaml" || { bad "the scheduler starts"; finish; exit 1; }
AUTH="Authorization: Bearer $("$ALTS_BUILD_DIR/alts-token" -s worker-test-secret -e it@example.com)"
worker_start "$SCRATCH/w.yaml" || { bad "the worker starts"; dump_logs; finish; exit 1; }
WORKER_PIDS+=("$WORKER_PID")
suite='{"name":"to-pulp","environment":{"runner":"local","dist_arch":"x86_64"},"checks":[{"launch":{"name":"say hello","command":"echo hello-from-worker-'$RANDOM'"}}]}'
id=$(submit_suite "$suite") || { bad "submit"; finish; exit 1; }
r=$(wait_result "$id" 60) || { bad "the task ends"; dump_logs; }
t=$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id")
check "worker: the task finished, nothing pending" \
	[ "$(jq -r '.state + " " + (.artifacts_pending | length | tostring)' <<<"$t")" = "finished 0" ]
check "worker: every artifact URL is a Pulp artifact href ($(jq -c .artifacts <<<"$t"))" \
	jq -e '(.artifacts | length) == 4 and ([.artifacts[] | test("^/pulp/api/v3/artifacts/[0-9a-f-]{36}/$")] | all)' <<<"$t"
same=1
for n in $(jq -r '.artifacts | keys[]' <<<"$t"); do
	curl -s -H "$AUTH" -o "$SCRATCH/served" "$SCHED_URL/tasks/$id/$n"
	h=$(pulp_api "artifacts/?sha256=$(sha "$SCRATCH/served")" | jq -r '.results[0].pulp_href')
	[ "$h" = "$(jq -r --arg n "$n" '.artifacts[$n]' <<<"$t")" ] || { same=0; echo "# $n: Pulp has $h" >&2; }
done
check "worker: what the scheduler serves is what Pulp holds at each href" [ "$same" = 1 ]
check "worker: result.logs are the logs' Pulp hrefs" \
	[ "$(jq -r '[.result.result.logs[]] | sort | join(" ")' <<<"$r")" = "$(jq -r '[.artifacts | to_entries[] | select(.key | startswith("logs/")) | .value] | sort | join(" ")' <<<"$t")" ]
log_href=$(jq -r '.artifacts["logs/01-say_hello.log"]' <<<"$t")
task=$(pulp_api content/file/files/ -H 'Content-Type: application/json' \
	-d "{\"relative_path\": \"say_hello_$id.log\", \"artifact\": \"$log_href\"}" | jq -r .task)
check "worker: the Build System's create_file with the log's href completes" \
	[ "$(pulp_wait_task "$task" | jq -r .state)" = completed ]
finish
