#!/usr/bin/env bash
# alts-submit --url against the real alts-scheduler (no broker, so no
# worker ever runs a task): scheduling with a token from --token-file or
# ALTS_TOKEN, refused tokens and suites (exit 2 with the scheduler's
# detail), waiting with a progress line until --timeout (exit 3), a task
# canceled while alts-submit waits (a final state with no result: exit 3),
# and SIGINT. A task that a worker finishes (reports and logs downloaded)
# is not covered: that needs the worker side of the scheduler.
ALTS_BUILD_DIR=${ALTS_BUILD_DIR:-$(dirname "${ALTS_RUN:?}")}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/tools.sh"
SUBMIT=${ALTS_SUBMIT:-$(dirname "$ALTS_RUN")/alts-submit}
require_cmd curl "apt: curl"
require_cmd jq "apt: jq"
tools_check
# alts-submit reads the bearer token from ALTS_TOKEN (lib/scheduler.sh names the
# alts-token program ALTS_TOKEN_BIN): every alts-submit below gets its own environment.
. "$(dirname "$0")/lib/scheduler.sh"
TOKEN_TOOL=$ALTS_TOKEN_BIN
unset ALTS_TOKEN
trap 'sched_stop; rm -rf "$SCRATCH"' EXIT
[ -x "$SUBMIT" ] || { echo "alts-submit not built at $SUBMIT" >&2; exit 1; }

cd "$SCRATCH" || exit 1
SECRET=submit-remote-secret
cat >config.yaml <<YAML
jwt_secret: $SECRET
working_directory: $SCRATCH/wd
supported_runners: [local]
YAML
sched_start "$SCRATCH/config.yaml" --no-broker || { bad "scheduler starts"; finish; exit 1; }
ok "scheduler listens on $SCHED_URL"
arch=$(uname -m)
tok=$("$TOKEN_TOOL" -s "$SECRET" -a HS256 -e ci@example.com)
printf '%s\n' "$tok" >token

cat >suite.yaml <<'YAML'
name: remote-hello
environment:
  runner: local
checks:
  - launch:
      command: ["true"]
YAML
printf 'name: bad\nchecks:\n  - instal\n' >invalid.yaml

# submit WANT-STATUS ARGS...: runs alts-submit with no ALTS_TOKEN unless given by env in ARGS
submit() {
	local want=$1 rc=0; shift
	env -u ALTS_TOKEN "$@" >run.out 2>&1 || rc=$?
	[ "$rc" = "$want" ] || { echo "exit $rc, wanted $want:"; cat run.out; return 1; }
}

check "token file, task never runs: --timeout ends it with exit 3" \
	submit 3 "$SUBMIT" --url "$SCHED_URL/" --token-file token --arch "$arch" --timeout 2 --poll 0.3 --out out suite.yaml
cat run.out
id=$(sed -n 's/^task \([0-9a-f-]*\) scheduled at .*/\1/p' run.out)
check "the scheduler gave a task id ($id)" test -n "$id"
check "progress: a line with the state and the time" grep -Eq "^task $id: queued, 0:0[0-9] elapsed$" run.out
check "timeout message names the state" grep -q "task $id did not end within 2s (state 'queued'); it goes on" run.out
check "the task is there, as submitted" \
	bash -c '[ "$(curl -s -H "Authorization: Bearer $1" "$2/tasks/$3" | jq -r .state)" = queued ]' _ "$tok" "$SCHED_URL" "$id"
check "the token is never printed" bash -c '! grep -qF "$1" run.out' _ "$tok"

check "ALTS_TOKEN from the environment works too" \
	submit 3 env ALTS_TOKEN="$tok" "$SUBMIT" --url "$SCHED_URL" --arch "$arch" --timeout 1 --poll 0.3 -q --out out2 suite.yaml
check "-q: no progress, only the error" test "$(grep -c . run.out)" = 1

check "no token: exit 2" submit 2 "$SUBMIT" --url "$SCHED_URL" --arch "$arch" --out out3 suite.yaml
check "... the scheduler refused it (401)" grep -q "cannot schedule the task: the scheduler refused the token (HTTP 401)" run.out
check "a wrong token: exit 2" submit 2 "$SUBMIT" --url "$SCHED_URL" --token not.a.jwt --out out3 suite.yaml
check "... refused" grep -q "refused the token (HTTP 401)" run.out
check "an invalid suite: exit 2 with the scheduler's detail" \
	submit 2 "$SUBMIT" --url "$SCHED_URL" --token-file token --out out3 invalid.yaml
check "... which names the mistake" grep -q "refused the request (HTTP 400): .*unknown check 'instal'" run.out
check "no architecture anywhere: exit 2" submit 2 "$SUBMIT" --url "$SCHED_URL" --token-file token --out out3 suite.yaml
check "... the scheduler says what is missing" grep -q "(HTTP 400): dist_arch: required" run.out
check "an unknown --runner: exit 2" submit 2 "$SUBMIT" --url "$SCHED_URL" --token-file token --runner docker \
	--out out3 suite.yaml
cat run.out

# a task canceled while alts-submit waits: the final state, nothing to download, exit 3
env -u ALTS_TOKEN "$SUBMIT" --url "$SCHED_URL" --token-file token --arch "$arch" --poll 0.3 --follow --out out4 suite.yaml \
	>cancel.out 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q ' scheduled at ' cancel.out && break; sleep 0.1; done
cid=$(sed -n 's/^task \([0-9a-f-]*\) scheduled at .*/\1/p' cancel.out)
curl -s -X POST -H "Authorization: Bearer $tok" "$SCHED_URL/tasks/$cid/cancel" >/dev/null
for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill "$pid" 2>/dev/null
rc=0
wait "$pid" || rc=$?
cat cancel.out
check "canceled task: alts-submit ends with exit 3" test "$rc" = 3
check "... having seen the state" grep -q "^task $cid: canceled, " cancel.out
check "... noting what the scheduler does not have" grep -q "the scheduler has no report.xml for task $cid" cancel.out
check "... --follow on a task that never ran prints no log and no complaint" bash -c "! grep -q 'does not stream logs' cancel.out"
check "... and the final line" grep -q "^task $cid canceled in [0-9]*s; reports in out4$" cancel.out

# SIGINT while waiting: stop waiting (the task goes on), exit 3
env -u ALTS_TOKEN "$SUBMIT" --url "$SCHED_URL" --token-file token --arch "$arch" --poll 0.3 --out out5 suite.yaml >int.out 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q ' scheduled at ' int.out && break; sleep 0.1; done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
check "SIGINT: exit 3" test "$rc" = 3
check "... stopped waiting, the task goes on" grep -q "stopped waiting for task .* (it goes on)" int.out

finish
