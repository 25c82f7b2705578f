#!/usr/bin/env bash
# The HTML report as a person sees it: alts-run runs a real suite (a passing,
# a failing, a skipped and a chatty check on the local runner) with --html,
# headless Chromium takes a screenshot and dumps the DOM after the inline
# JS ran. The failing check must be in the page, marked failed, in red; the
# page must load nothing (no CSP violation, no JS error in the console).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/tools.sh"
require_cmd chromium "apt: chromium"
require_cmd node "apt: nodejs"
require_cmd perl "apt: perl"
tools_check


cd "$SCRATCH" || exit 1
cat >suite.yaml <<'YAML'
name: html-demo
environment:
  runner: local
checks:
  - launch:
      name: greets
      command: ["echo", "hello <world> & friends"]
      stdout: "^hello"
  - launch:
      name: wrong exit code
      command: "echo 'visible output <b>not bold</b> of the failure'; exit 3"
  - launch:
      name: not today
      skip: waiting for the fix
      command: ["true"]
  - launch:
      name: chatty
      command: "seq 1 5000; echo last line"
YAML
printf 'output_tail: 1024\n' >alts.yaml

status=0
"$ALTS_RUN" --config alts.yaml --artifacts art --html report.html --junit report.xml suite.yaml >run.out 2>&1 ||
	status=$?
check "alts-run exits 1 (a check failed)" test "$status" -eq 1
check "report.html written" test -s report.html

# --- what the file holds -----------------------------------------------------
check "one self-contained document" grep -q '^<!DOCTYPE html>$' report.html
check "no external resources" bash -c '! grep -Eq "https?:|<link|src=|@import|url\\(" report.html'
check "the summary line counts the run" \
	grep -q '<p class="summary" id="summary">1 suite: 2 passed, 1 failed, 1 skipped in ' report.html
# the engine keeps output_tail bytes of each check's output, and the page no more
chatty=$(perl -0777 -ne 'print $1 if m{id="s1-c4">.*?<pre>(.*?)</pre>}s' report.html)
check "chatty output says how much was cut" grep -Eq '^\[alts: [0-9]+ bytes of output omitted\]' <<<"$chatty"
chatty=$(sed '1{/^\[alts: [0-9]* bytes of output omitted\]$/d}' <<<"$chatty")
check "chatty output is cut to the output cap" test "${#chatty}" -le 1024
check "chatty output keeps its tail" grep -q 'last line' <<<"$chatty"
check "chatty output lost its head" bash -c '! grep -qx 1 <<<"$1"' _ "$chatty"

# --- screenshot --------------------------------------------------------------
chromium_headless --window-size=1280,900 --screenshot="$SCRATCH/shot.png" "file://$SCRATCH/report.html" \
	>chromium-shot.log 2>&1
check "screenshot written" test -s shot.png
# ALTS_HTML_SCREENSHOT=FILE keeps a copy to look at
[ -z "${ALTS_HTML_SCREENSHOT:-}" ] || cp shot.png "$ALTS_HTML_SCREENSHOT"
if [ -s shot.png ]; then
	px=$(node "$tools_js_dir/png-colors.mjs" shot.png '#cf222e' '#1a7f37' '#ffebe9' '#9a6700') || px='{}'
	echo "screenshot: $px"
	check "screenshot is 1280x900" jq_true '.width == 1280 and .height == 900' <<<"$px"
	check "screenshot is not blank (many colours)" jq_true '.colours > 50' <<<"$px"
	check "the FAIL badges are red on screen" jq_true '.pixels["#cf222e"] > 500' <<<"$px"
	check "the PASS badge is green on screen" jq_true '.pixels["#1a7f37"] > 200' <<<"$px"
	check "the failing row is tinted" jq_true '.pixels["#ffebe9"] > 5000' <<<"$px"
	check "the SKIP badge is amber on screen" jq_true '.pixels["#9a6700"] > 200' <<<"$px"
fi

# --- the DOM after the inline script ran ------------------------------------
chromium_headless --enable-logging=stderr --v=0 --dump-dom "file://$SCRATCH/report.html" >dom.html 2>chromium-dom.log
check "DOM dumped" grep -q '</html>' dom.html
failed_row=$(perl -0777 -ne 'print $1 if m{(<tr [^>]*data-status="fail"[^>]*>.*?</tr>)}s' dom.html)
echo "failed row: ${failed_row:0:400}"
check "the failing check is in the DOM by name" grep -q '<td class="name">wrong exit code</td>' <<<"$failed_row"
check "... with its message" grep -q '<div class="message">exit code 3, expected 0</div>' <<<"$failed_row"
check "... marked failed (class and badge)" \
	grep -q '<tr class="check fail problem" data-status="fail" id="s1-c2">.*<span class="badge fail">FAIL</span>' \
	<<<"$failed_row"
check "... its output open and escaped" \
	grep -q '<details class="log" open=""><summary>output .*visible output &lt;b&gt;not bold&lt;/b&gt;' <<<"$failed_row"
check "no element came from check output" bash -c '! grep -q "<b>not bold" dom.html'
check "the passing check is marked passed" \
	grep -q '<tr class="check pass ok" data-status="pass" id="s1-c1"><td class="num">1</td><td class="name">greets</td>' \
	dom.html
check "the skipped check shows its reason" \
	grep -q 'id="s1-c3">.*<span class="badge skip">SKIP</span>.*waiting for the fix' dom.html
check "the inline script ran (controls shown)" grep -q '<nav id="controls"><button' dom.html
check "no console message (CSP violation, script error)" bash -c '! grep -q ":CONSOLE" chromium-dom.log'
grep ':CONSOLE' chromium-dom.log | head -5
# a link to a check (the overview's chips) opens its output
chromium_headless --dump-dom "file://$SCRATCH/report.html#s1-c4" >dom-hash.html 2>/dev/null
check "a link to a check opens its output (#s1-c4)" \
	bash -c 'perl -0777 -ne "print \$1 if m{id=\"s1-c4\">(.*?)</tr>}s" dom-hash.html | grep -q "<details class=\"log\" open=\"\">"'
check "... and only that one among the passing checks" \
	bash -c 'perl -0777 -ne "print \$1 if m{id=\"s1-c1\">(.*?)</tr>}s" dom-hash.html | grep -q "<details class=\"log\"><summary>"'

finish
