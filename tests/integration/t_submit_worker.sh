#!/usr/bin/env bash
# alts-submit against a real farm: rabbitmq-server, alts-scheduler and an alts-worker (file
# store, local runner). The CI path end to end: submit a suite, the progress line, --follow
# streaming the live log, the reports and logs downloaded, and alts-run's exit statuses.
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/scheduler.sh"
source "$(dirname "$0")/lib/rabbitmq.sh"
source "$(dirname "$0")/lib/worker.sh"
need_cmd curl jq xmllint
[ -x "$RABBITMQ_BIN/rabbitmq-server" ] || skip_test "needs:rabbitmq-server (not installed)"
SUBMIT=$ALTS_BUILD_DIR/alts-submit
TOKEN_BIN=${ALTS_TOKEN_BIN:-$ALTS_BUILD_DIR/alts-token}
XSD=$ALTS_SOURCE_DIR/tests/fixtures/schemas/junit-10.xsd
cleanup() {
	worker_stop
	sched_stop
	rabbitmq_stop
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server starts"; finish; exit 1; }
worker_config "$SCRATCH/config.yaml"
sched_start "$SCRATCH/config.yaml" || { bad "scheduler starts"; finish; exit 1; }
worker_start "$SCRATCH/config.yaml" || { bad "worker starts"; finish; exit 1; }
export ALTS_TOKEN
ALTS_TOKEN=$("$TOKEN_BIN" -s worker-test-secret -e ci@example.com)
AUTH="Authorization: Bearer $ALTS_TOKEN"

cat >"$SCRATCH/pass.yaml" <<'YAML'
name: farm pass
environment: {runner: local}
checks:
  - launch: {name: greet, command: "echo hello from the farm", stdout: "^hello from the farm$"}
  - launch: {name: slow, command: "sleep 1; echo done"}
YAML
cat >"$SCRATCH/fail.yaml" <<'YAML'
name: farm fail
environment: {runner: local}
checks:
  - launch: {name: greet, command: "echo hello"}
  - launch: {name: broken, command: "echo it broke >&2; exit 4"}
YAML

# 1. A passing suite: exit 0, every report downloaded, the progress line on stderr.
"$SUBMIT" --url "$SCHED_URL" --runner local --arch x86_64 --poll 0.3 -o "$SCRATCH/out1" "$SCRATCH/pass.yaml" \
	>"$SCRATCH/out1.txt" 2>"$SCRATCH/err1.txt"
rc=$?
check "passing suite on the farm: exit 0 ($rc)" [ "$rc" = 0 ]
check "report.xml downloaded and XSD-valid" xmllint --noout --schema "$XSD" "$SCRATCH/out1/report.xml"
check "report.xml: 2 tests, 0 failures" [ "$(xmllint --xpath 'string(/testsuites/@tests)' "$SCRATCH/out1/report.xml"):$(xmllint --xpath 'string(/testsuites/@failures)' "$SCRATCH/out1/report.xml")" = 2:0 ]
check "report.tap downloaded and prove reads it" prove -e cat "$SCRATCH/out1/report.tap"
check "result.json downloaded: success true" [ "$(jq -r '.success // .alts.summary.exit_code' "$SCRATCH/out1/result.json")" = true ]
check "the logs the result names are downloaded" grep -q "hello from the farm" "$SCRATCH"/out1/logs/*greet*.log
check "progress line: checks done/total" grep -Eq 'checks [0-9]/2' "$SCRATCH/err1.txt"
check "closing line names the final state" grep -q "finished in" "$SCRATCH/err1.txt"

# 2. A failing suite with --follow: exit 1, the live log streamed to stdout.
"$SUBMIT" --url "$SCHED_URL" --runner local --arch x86_64 --poll 0.3 --follow -o "$SCRATCH/out2" "$SCRATCH/fail.yaml" \
	>"$SCRATCH/out2.txt" 2>"$SCRATCH/err2.txt"
rc=$?
check "failing suite on the farm: exit 1 ($rc)" [ "$rc" = 1 ]
check "--follow streams a line per check" bash -c "grep -Eq '^PASS +greet' '$SCRATCH/out2.txt' && grep -Eq '^FAIL +broken' '$SCRATCH/out2.txt'"
check "--follow shows the failure's output" grep -q "| it broke" "$SCRATCH/out2.txt"
check "--follow prints each line once" [ "$(grep -c 'greet' "$SCRATCH/out2.txt")" = 1 ]
check "the failing report.xml has 1 failure" [ "$(xmllint --xpath 'string(/testsuites/@failures)' "$SCRATCH/out2/report.xml")" = 1 ]
check "the failing check's log is downloaded" grep -q "it broke" "$SCRATCH"/out2/logs/*broken*.log

# 3. The same outputs as --local (a job template works with and without a farm).
"$SUBMIT" --local -o "$SCRATCH/local2" "$SCRATCH/fail.yaml" >/dev/null 2>&1
check "--local gives the same exit status" [ $? = 1 ]
check "--local and the farm leave the same files" [ "$(cd "$SCRATCH/local2" && ls report.xml report.tap result.json | sort)" = "$(cd "$SCRATCH/out2" && ls report.xml report.tap result.json | sort)" ]
check "--local and the farm give the same TAP verdicts" [ "$(grep -E '^(not )?ok' "$SCRATCH/local2/report.tap" | sed 's/ *#.*//')" = "$(grep -E '^(not )?ok' "$SCRATCH/out2/report.tap" | sed 's/ *#.*//')" ]

# 4. A task canceled while alts-submit waits: exit 3, says so.
cat >"$SCRATCH/long.yaml" <<'YAML'
name: farm long
environment: {runner: local}
checks:
  - launch: {name: long, command: "sleep 60"}
YAML
"$SUBMIT" --url "$SCHED_URL" --runner local --arch x86_64 --poll 0.3 -o "$SCRATCH/out3" "$SCRATCH/long.yaml" \
	>"$SCRATCH/out3.txt" 2>"$SCRATCH/err3.txt" &
spid=$!
id=""
for _ in $(seq 1 100); do
	id=$(grep -Eo 'task [0-9a-f-]{36}' "$SCRATCH/err3.txt" | head -1 | cut -d' ' -f2)
	[ -n "$id" ] && [ "$(task_state "$id")" = running ] && break
	sleep 0.2
done
curl -s -X POST -H "Authorization: Bearer $ALTS_TOKEN" "$SCHED_URL/tasks/$id/cancel" >/dev/null
wait "$spid"
rc=$?
check "a task canceled on the worker: alts-submit exits 3 ($rc)" [ "$rc" = 3 ]
check "... and says it was canceled" grep -q "canceled" "$SCRATCH/err3.txt"

finish
