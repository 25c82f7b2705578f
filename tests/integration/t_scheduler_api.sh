#!/usr/bin/env bash
# alts-scheduler's HTTP API with curl (no broker: --no-broker): bad JWTs are refused with
# 401 + WWW-Authenticate, malformed bodies with 400/413/415 and a useful detail, the happy
# path answers 201 and the task can be read back, listed and canceled.
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/scheduler.sh"
need_cmd curl jq openssl
trap 'sched_stop; rm -rf "$SCRATCH"' EXIT

SECRET=api-test-secret
cat >"$SCRATCH/config.yaml" <<YAML
jwt_secret: $SECRET
working_directory: $SCRATCH/wd
max_body_size: 8192
supported_runners: [docker, local]
YAML
# The Swagger UI for /docs: the build's copy (CMake runs npm ci), else the source tree's.
UI_DIST=
for d in "$ALTS_BUILD_DIR/swagger-ui/node_modules/swagger-ui-dist" "$ALTS_SOURCE_DIR/scheduler/ui/node_modules/swagger-ui-dist"; do
	[ -f "$d/swagger-ui-bundle.js" ] && { UI_DIST=$d; break; }
done
mkdir -p "$SCRATCH/ui"
[ -n "$UI_DIST" ] && cp "$UI_DIST"/*.js "$UI_DIST"/*.css "$UI_DIST"/*.png "$SCRATCH/ui/"
ln -s /etc/passwd "$SCRATCH/ui/passwd.js"
printf 'secret\n' >"$SCRATCH/ui/.hidden.js"
sched_start "$SCRATCH/config.yaml" --no-broker --ui-dir "$SCRATCH/ui" || { bad "scheduler starts"; finish; exit 1; }
ok "scheduler listens on $SCHED_URL"

# ---- alts-token and JWTs ----
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
# jwt ALG(HS256|HS384|HS512|none) SECRET CLAIMS-JSON
jwt() {
	local alg=$1 secret=$2 claims=$3 head body sig=""
	head=$(printf '{"alg":"%s","typ":"JWT"}' "$alg" | b64url)
	body=$(printf '%s' "$claims" | b64url)
	case $alg in
	HS256) sig=$(printf '%s.%s' "$head" "$body" | openssl dgst -sha256 -hmac "$secret" -binary | b64url) ;;
	HS384) sig=$(printf '%s.%s' "$head" "$body" | openssl dgst -sha384 -hmac "$secret" -binary | b64url) ;;
	HS512) sig=$(printf '%s.%s' "$head" "$body" | openssl dgst -sha512 -hmac "$secret" -binary | b64url) ;;
	esac
	printf '%s.%s.%s' "$head" "$body" "$sig"
}
now=$(date +%s)
GOOD=$("$ALTS_TOKEN_BIN" -s "$SECRET" -a HS256 -e it@example.com)
check "alts-token output verifies with openssl" [ "$GOOD" = "$(jwt HS256 "$SECRET" '{"email":"it@example.com"}')" ]
check "alts-token --expires adds exp" [ "$("$ALTS_TOKEN_BIN" -s "$SECRET" -e a@b --expires 1d | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null | jq '.exp - now | floor | . > 86390 and . <= 86400')" = true ]
check "alts-token -c reads the config" [ "$("$ALTS_TOKEN_BIN" -c "$SCRATCH/config.yaml" -e it@example.com)" = "$GOOD" ]
check "alts-token refuses alg none (exit 2)" bash -c "'$ALTS_TOKEN_BIN' -s x -a none -e a >/dev/null 2>&1; [ \$? = 2 ]"
AUTH="Authorization: Bearer $GOOD"

declare -a BAD_NAMES BAD_HEADERS
add_bad() { BAD_NAMES+=("$1"); BAD_HEADERS+=("$2"); }
add_bad "missing header" ""
add_bad "Basic scheme" "Authorization: Basic dXNlcjpwYXNz"
add_bad "empty bearer" "Authorization: Bearer "
add_bad "malformed token" "Authorization: Bearer not-a-jwt"
add_bad "two segments" "Authorization: Bearer abc.def"
add_bad "alg none" "Authorization: Bearer $(jwt none "" '{"email":"a@b"}')"
add_bad "alg none with signature" "Authorization: Bearer $(jwt none "" '{"email":"a@b"}')AAAA"
add_bad "wrong algorithm HS384" "Authorization: Bearer $(jwt HS384 "$SECRET" '{"email":"a@b"}')"
add_bad "wrong algorithm HS512" "Authorization: Bearer $(jwt HS512 "$SECRET" '{"email":"a@b"}')"
add_bad "bad signature" "Authorization: Bearer $(jwt HS256 wrong-secret '{"email":"a@b"}')"
add_bad "tampered payload" "Authorization: Bearer $(jwt HS256 "$SECRET" '{"email":"a@b"}' | awk -F. -v p="$(printf '{"email":"root"}' | b64url)" '{print $1"."p"."$3}')"
add_bad "expired exp" "Authorization: Bearer $(jwt HS256 "$SECRET" "{\"email\":\"a@b\",\"exp\":$((now - 10))}")"
add_bad "future nbf" "Authorization: Bearer $(jwt HS256 "$SECRET" "{\"email\":\"a@b\",\"nbf\":$((now + 3600))}")"
add_bad "exp not a number" "Authorization: Bearer $(jwt HS256 "$SECRET" '{"email":"a@b","exp":"never"}')"
add_bad "RS256 header" "Authorization: Bearer $(jwt HS256 "$SECRET" '{"email":"a@b"}' | awk -F. -v h="$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)" '{print h"."$2"."$3}')"
for i in "${!BAD_NAMES[@]}"; do
	for route in "GET /tasks" "POST /tasks/schedule" "POST /cancel_tasks"; do
		args=(-s -o "$SCRATCH/resp" -D "$SCRATCH/headers" -w '%{http_code}' -X "${route%% *}")
		[ -n "${BAD_HEADERS[$i]}" ] && args+=(-H "${BAD_HEADERS[$i]}")
		code=$(curl "${args[@]}" -H 'Content-Type: application/json' --data-binary '{}' "$SCHED_URL${route#* }")
		[ "${route%% *}" = GET ] && code=$(curl "${args[@]/--data-binary/}" "$SCHED_URL${route#* }")
		if [ "$code" = 401 ] && grep -qi '^WWW-Authenticate: Bearer' "$SCRATCH/headers" &&
			[ -n "$(jq -r .detail "$SCRATCH/resp")" ]; then
			[ "$route" = "GET /tasks" ] && ok "JWT refused: ${BAD_NAMES[$i]} ($(jq -r .detail "$SCRATCH/resp"))"
		else
			bad "JWT refused: ${BAD_NAMES[$i]} on $route (got $code: $(cat "$SCRATCH/resp"))"
		fi
	done
done
check "a good token is accepted" [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$SCHED_URL/tasks")" = 200 ]
check "a token with future exp is accepted" [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(jwt HS256 "$SECRET" "{\"email\":\"a\",\"exp\":$((now + 600)),\"nbf\":$((now - 5))}")" "$SCHED_URL/tasks")" = 200 ]
# Verified tokens are remembered (not decoded again); their exp must still be checked on every use.
short="Authorization: Bearer $(jwt HS256 "$SECRET" "{\"email\":\"a\",\"exp\":$(($(date +%s) + 2))}")"
check "a token about to expire is accepted" [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$short" "$SCHED_URL/tasks")" = 200 ]
check "... twice (the second time from memory)" [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$short" "$SCHED_URL/tasks")" = 200 ]
sleep 3
r=$(curl -s -w ' %{http_code}' -H "$short" "$SCHED_URL/tasks")
check "... and refused once expired, remembered or not (${r##* }: $(jq -r .detail <<<"${r% *}"))" [ "${r##* }" = 401 ] && [[ "$r" == *"token expired"* ]]

# ---- malformed bodies: each answered 400/413/415 with a detail naming the problem ----
B='"runner_type":"docker","dist_name":"almalinux","dist_version":"9","dist_arch":"x86_64"'
big=$(head -c 9000 /dev/zero | tr '\0' 'a')
malformed=(
	"400|empty body|"
	"400|invalid JSON|{"
	"400|invalid JSON|{\"runner_type\":}"
	"400|expected a JSON object|[]"
	"400|expected a JSON object|42"
	"400|duplicate|{$B,$B,\"package_name\":\"b\"}"
	"400|unknown key 'bogus'|{$B,\"package_name\":\"b\",\"bogus\":1}"
	"400|missing required key 'package_name'|{$B}"
	"400|missing required key 'dist_arch'|{\"runner_type\":\"docker\",\"dist_name\":\"almalinux\",\"dist_version\":\"9\",\"package_name\":\"b\"}"
	"400|unknown runner 'opennebula' (allowed: docker, local, any)|{\"runner_type\":\"opennebula\",\"dist_name\":\"almalinux\",\"dist_version\":\"9\",\"dist_arch\":\"x86_64\",\"package_name\":\"b\"}"
	"400|unknown architecture 'sparc64' (allowed: x86_64|{\"runner_type\":\"docker\",\"dist_name\":\"almalinux\",\"dist_version\":\"9\",\"dist_arch\":\"sparc64\",\"package_name\":\"b\"}"
	"400|unknown distribution 'gentoo' (allowed:|{\"runner_type\":\"docker\",\"dist_name\":\"gentoo\",\"dist_version\":\"9\",\"dist_arch\":\"x86_64\",\"package_name\":\"b\"}"
	"400|dist_version: expected a string or a number|{\"runner_type\":\"docker\",\"dist_name\":\"almalinux\",\"dist_version\":false,\"dist_arch\":\"x86_64\",\"package_name\":\"b\"}"
	"400|dist_version: expected a string|{\"runner_type\":\"docker\",\"dist_name\":\"almalinux\",\"dist_version\":{},\"dist_arch\":\"x86_64\",\"package_name\":\"b\"}"
	"400|invalid package name 'b;reboot'|{$B,\"package_name\":\"b;reboot\"}"
	"400|package_name: expected a string|{$B,\"package_name\":[\"b\"]}"
	"400|package_version: invalid version|{$B,\"package_name\":\"b\",\"package_version\":\"1 \$(id)\"}"
	"400|package_epoch: expected digits|{$B,\"package_name\":\"b\",\"package_epoch\":\"one\"}"
	"400|repositories: expected a list|{$B,\"package_name\":\"b\",\"repositories\":\"http://r\"}"
	"400|exactly one of 'url' and 'baseurl'|{$B,\"package_name\":\"b\",\"repositories\":[{\"url\":\"http://a\",\"baseurl\":\"http://b\"}]}"
	"400|invalid URL 'gopher://r'|{$B,\"package_name\":\"b\",\"repositories\":[{\"url\":\"gopher://r\"}]}"
	"400|callback_href: expected an http:// or https:// URL|{$B,\"package_name\":\"b\",\"callback_href\":\"file:///etc/passwd\"}"
	"400|bs_task_id: invalid id|{$B,\"package_name\":\"b\",\"bs_task_id\":\"../../x\"}"
	"400|module_stream: required with module_name|{$B,\"package_name\":\"b\",\"module_name\":\"perl\"}"
	"400|test_configuration.tests[0]: missing required key 'url'|{$B,\"package_name\":\"b\",\"test_configuration\":{\"tests\":[{}]}}"
	"400|invalid git URL|{$B,\"package_name\":\"b\",\"test_configuration\":{\"tests\":[{\"url\":\"--upload-pack=x\"}]}}"
	"400|unknown check|{\"suite\":{\"packages\":[\"b\"],\"checks\":[\"explode\"],\"environment\":{\"dist_arch\":\"x86_64\"}}}"
	"400|cannot be combined with 'suite'|{\"suite\":\"checks: [install]\",\"package_name\":\"b\"}"
	"400|dist_arch: required|{\"suite\":\"packages: [b]\\nchecks: [install]\\n\"}"
	"413|request body too large (limit 8192 bytes)|{$B,\"package_name\":\"$big\"}"
)
n=0
for case in "${malformed[@]}"; do
	want_code=${case%%|*}; rest=${case#*|}; want=${rest%%|*}; body=${rest#*|}
	r=$(curl_json POST /tasks/schedule "$body" -H "$AUTH")
	code=${r%% *}; detail=$(jq -r .detail <<<"${r#* }" 2>/dev/null)
	n=$((n + 1))
	if [ "$code" = "$want_code" ] && [[ "$detail" == *"$want"* ]]; then
		ok "body $n: $code $detail"
	else
		bad "body $n: want $want_code '$want', got $r (body ${body:0:120})"
	fi
done
r=$(curl -s -w ' %{http_code}' -X POST -H "$AUTH" -H 'Content-Type: text/plain' --data-binary '{}' "$SCHED_URL/tasks/schedule")
check "text/plain body gives 415 ($r)" [ "${r##* }" = 415 ]
r=$(curl -s -w ' %{http_code}' -X POST -H "$AUTH" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary "{\"a\":\"$big\"}" "$SCHED_URL/tasks/schedule")
check "chunked oversized body gives 413 ($r)" [ "${r##* }" = 413 ]

# ---- happy path ----
r=$(curl_json POST /tasks/schedule '{"runner_type":"any","dist_name":"almalinux","dist_version":8.6,"dist_arch":"aarch64","repositories":[{"url":"https://repo.example.org/el8/"},{"name":"extra","baseurl":"https://repo.example.org/extra/"}],"package_name":"bash","package_version":"4.4.20","bs_task_id":"7","callback_href":"https://bs.example.org/cb"}' -H "$AUTH")
check "submit answers 201" [ "${r%% *}" = 201 ]
check "answer is the ALTS shape" [ "$(jq -c '[.api_version, .success, (.task_id | test("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"))]' <<<"${r#* }")" = '["20210512",true,true]' ]
id=$(jq -r .task_id <<<"${r#* }")
r=$(curl_json GET "/tasks/$id" "" -H "$AUTH")
check "GET /tasks/{id} is 200" [ "${r%% *}" = 200 ]
check "status: queued, unpublished, on docker-aarch64-0" [ "$(jq -c '[.state, .published, .queue, .bs_task_id]' <<<"${r#* }")" = '["queued",false,"docker-aarch64-0","7"]' ]
check "created_at is an ISO time" jq -e >/dev/null '.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")' <<<"${r#* }"
r=$(curl_json GET "/tasks/$id/result" "" -H "$AUTH")
check "GET result: state and null result" [ "$(jq -c '[.state, .api_version, .result]' <<<"${r#* }")" = '["queued","20210512",null]' ]
r=$(curl_json POST /tasks/schedule '{"suite":"name: s\npackages: [hello]\nenvironment: {dist_name: debian, dist_version: 12, dist_arch: amd64}\nchecks: [install, uninstall]\n","runner_type":"local","bs_task_id":7}' -H "$AUTH")
check "a YAML suite is accepted" [ "${r%% *}" = 201 ]
id2=$(jq -r .task_id <<<"${r#* }")
check "task ids sort by acceptance time (UUID v7)" test "$id" \< "$id2"
check "list shows both" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks?limit=500" | jq '[.tasks[].task_id] | length')" = 2 ]
p1=$(curl -s -H "$AUTH" "$SCHED_URL/tasks?limit=1")
check "paging: first page has a cursor" [ "$(jq -r '.tasks[0].task_id' <<<"$p1")" = "$id" ]
p2=$(curl -s -H "$AUTH" "$SCHED_URL/tasks?limit=1&cursor=$(jq -r .next_cursor <<<"$p1")")
check "paging: second page" [ "$(jq -r '.tasks[0].task_id' <<<"$p2")" = "$id2" ]
check "bad state filter is 400" [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$SCHED_URL/tasks?state=lost")" = 400 ]
check "bad limit is 400" [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$SCHED_URL/tasks?limit=0")" = 400 ]
# Group commit: concurrent submits share transactions; each one is answered once its row is on disk.
gc_body='{"runner_type":"docker","dist_name":"almalinux","dist_version":"9","dist_arch":"x86_64","package_name":"bash","bs_task_id":"gc-@@"}'
seq 1 200 | xargs -P 32 -I @@ curl -s -w ' %{http_code}\n' -X POST -H "$AUTH" -H 'Content-Type: application/json' \
	--data-binary "$gc_body" "$SCHED_URL/tasks/schedule" >"$SCRATCH/gc.out"
check "200 concurrent submits: 200 answers 201" [ "$(grep -c ' 201$' "$SCRATCH/gc.out")" = 200 ]
check "... with 200 distinct task ids" [ "$(sed 's/ 201$//' "$SCRATCH/gc.out" | jq -r .task_id | sort -u | grep -c .)" = 200 ]
curl -s -H "$AUTH" "$SCHED_URL/tasks?limit=500" | jq -r '.tasks[] | select(.bs_task_id | startswith("gc-")) | .task_id' | sort >"$SCRATCH/gc.stored"
check "... every one of them stored" cmp -s "$SCRATCH/gc.stored" <(sed 's/ 201$//' "$SCRATCH/gc.out" | jq -r .task_id | sort)
r=$(curl_json POST "/tasks/$id/cancel" "" -H "$AUTH")
check "cancel a queued task" [ "$(jq -c '[.state, .canceled]' <<<"${r#* }")" = '["canceled",true]' ]
r=$(curl_json POST "/tasks/$id/cancel" "" -H "$AUTH")
check "cancel again changes nothing" [ "$(jq -c '[.state, .canceled]' <<<"${r#* }")" = '["canceled",false]' ]
r=$(curl_json POST /cancel_tasks '{"bs_task_ids":[7, "8"]}' -H "$AUTH")
check "cancel_tasks by bs_task_ids ($r)" [ "$(jq -c '[.success, .canceled]' <<<"${r#* }")" = '[true,1]' ]
check "cancel_tasks refuses unknown keys" [ "$(curl_json POST /cancel_tasks '{"ids":[1]}' -H "$AUTH" | cut -d' ' -f1)" = 400 ]
check "state filter" [ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks?state=canceled" | jq '.tasks | length')" = 2 ]

# ---- errors, health, metrics, openapi ----
r=$(curl_json GET /tasks/00000000-0000-4000-8000-000000000000 "" -H "$AUTH")
check "unknown task is 404 with detail" [ "${r%% *} $(jq -r .detail <<<"${r#* }")" = "404 task '00000000-0000-4000-8000-000000000000' not found" ]
check "unknown route is 404" [ "$(curl_json GET /nope "" | cut -d' ' -f1)" = 404 ]
check "bad task id is 404" [ "$(curl_json GET /tasks/xyz "" -H "$AUTH" | cut -d' ' -f1)" = 404 ]
check "GET /tasks/schedule is 405 with Allow: POST" bash -c "curl -s -D - -o /dev/null '$SCHED_URL/tasks/schedule' | grep -qi '^Allow: POST'"
check "DELETE /health is 405" [ "$(curl_json DELETE /health "" | cut -d' ' -f1)" = 405 ]
check "health" [ "$(curl -s "$SCHED_URL/health" | jq -c '[.status, .database, .broker]')" = '["ok","ok","disconnected"]' ]
curl -s "$SCHED_URL/metrics" >"$SCRATCH/metrics"
check "metrics: requests by route and status" grep -q '^alts_http_requests_total{route="schedule",status="201"} 202$' "$SCRATCH/metrics"
check "metrics: 401s counted" grep -q '^alts_http_requests_total{route="list",status="401"} ' "$SCRATCH/metrics"
check "metrics: tasks by state" grep -q '^alts_tasks{state="canceled"} 2$' "$SCRATCH/metrics"
check "openapi.json is OpenAPI 3" [ "$(curl -s "$SCHED_URL/openapi.json" | jq -r .openapi)" = 3.0.3 ]
check "openapi.json documents every route" [ "$(curl -s "$SCHED_URL/openapi.json" | jq -c '.paths | keys')" = '["/cancel_tasks","/docs","/docs/{file}","/health","/internal/tasks/{task_id}/report","/metrics","/openapi.json","/tasks","/tasks/schedule","/tasks/{task_id}","/tasks/{task_id}/cancel","/tasks/{task_id}/log","/tasks/{task_id}/logs/{name}","/tasks/{task_id}/report.tap","/tasks/{task_id}/report.xml","/tasks/{task_id}/result","/tasks/{task_id}/result.json"]' ]

# ---- the OpenAPI document: valid for @apidevtools/swagger-parser, and it and the server agree ----
JS_DIR=$ALTS_SOURCE_DIR/tests/js
if command -v node >/dev/null && [ -d "$JS_DIR/node_modules/@apidevtools/swagger-parser" ]; then
	curl -s "$SCHED_URL/openapi.json" >"$SCRATCH/openapi.json"
	if node "$JS_DIR/openapi-validate.mjs" "$SCRATCH/openapi.json" >"$SCRATCH/ops" 2>"$SCRATCH/ops.err"; then
		ok "swagger-parser validates /openapi.json ($(wc -l <"$SCRATCH/ops") operations)"
	else
		bad "swagger-parser validates /openapi.json: $(cat "$SCRATCH/ops.err")"
	fi
	# Every route the server answers, as "METHOD template": it must be documented ...
	answered="GET /tasks
POST /tasks/schedule
GET /tasks/{task_id}
GET /tasks/{task_id}/result
POST /tasks/{task_id}/cancel
GET /tasks/{task_id}/report.tap
GET /tasks/{task_id}/report.xml
GET /tasks/{task_id}/result.json
GET /tasks/{task_id}/logs/{name}
GET /tasks/{task_id}/log
POST /cancel_tasks
POST /internal/tasks/{task_id}/report
GET /health
GET /metrics
GET /openapi.json
GET /docs
GET /docs/{file}"
	check "every route the server answers is documented" cmp -s <(sort <<<"$answered") <(sort "$SCRATCH/ops")
	# ... and every documented operation is answered (not 404 Not Found / 405) by the server.
	while read -r method path; do
		url=${path//\{task_id\}/$id}
		url=${url//\{name\}/install.log}
		url=${url//\{file\}/swagger-ui.css}
		if [ "$method" = GET ]; then
			code=$(curl -s -o "$SCRATCH/resp" -w '%{http_code}' -H "$AUTH" "$SCHED_URL$url")
		else
			code=$(curl -s -o "$SCRATCH/resp" -w '%{http_code}' -X "$method" -H "$AUTH" \
				-H 'Content-Type: application/json' --data-binary '{}' "$SCHED_URL$url")
		fi
		if [ "$code" = 405 ] || { [ "$code" = 404 ] && [ "$(jq -r .detail "$SCRATCH/resp" 2>/dev/null)" = "Not Found" ]; }; then
			bad "documented $method $path is not answered ($code)"
		else
			ok "documented $method $path is answered ($code)"
		fi
	done <"$SCRATCH/ops"
else
	echo "SKIP swagger-parser checks: needs:node and npm install in tests/js"
fi

# ---- GET /docs: the Swagger UI, served from --ui-dir ----
if [ -n "$UI_DIST" ]; then
	code=$(curl -s -o "$SCRATCH/docs.html" -D "$SCRATCH/headers" -w '%{http_code}' "$SCHED_URL/docs")
	check "GET /docs is 200 HTML" [ "$code $(grep -i '^Content-Type:' "$SCRATCH/headers" | tr -d '\r')" = "200 Content-Type: text/html; charset=utf-8" ]
	check "the page loads the local bundle and /openapi.json" bash -c "grep -q 'src=\"/docs/swagger-ui-bundle.js\"' '$SCRATCH/docs.html' && grep -q '\"/openapi.json\"' '$SCRATCH/docs.html' && ! grep -q 'https://' '$SCRATCH/docs.html'"
	check "GET /docs/ and /docs/index.html are the same page" bash -c "curl -s '$SCHED_URL/docs/' | cmp -s - '$SCRATCH/docs.html' && curl -s '$SCHED_URL/docs/index.html' | cmp -s - '$SCRATCH/docs.html'"
	code=$(curl -s -o "$SCRATCH/bundle.js" -D "$SCRATCH/headers" -w '%{http_code}' "$SCHED_URL/docs/swagger-ui-bundle.js")
	check "GET /docs/swagger-ui-bundle.js is 200 JavaScript" [ "$code $(grep -i '^Content-Type:' "$SCRATCH/headers" | tr -d '\r')" = "200 Content-Type: text/javascript; charset=utf-8" ]
	check "the bundle is the swagger-ui-dist file" cmp -s "$SCRATCH/bundle.js" "$UI_DIST/swagger-ui-bundle.js"
	check "GET /docs/swagger-ui.css is CSS" bash -c "curl -s -D - -o /dev/null '$SCHED_URL/docs/swagger-ui.css' | grep -qi '^Content-Type: text/css'"
	for f in ../config.yaml ..%2Fconfig.yaml %2E%2E/config.yaml passwd.js .hidden.js nope.js a/b.js; do
		r=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$SCHED_URL/docs/$f")
		check "GET /docs/$f is 404 ($r)" [ "$r" = 404 ]
	done
	check "/docs needs no token" [ "$(curl -s -o /dev/null -w '%{http_code}' "$SCHED_URL/docs/swagger-ui-standalone-preset.js")" = 200 ]
	CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
	if [ -n "$CHROMIUM" ]; then
		timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
			--user-data-dir="$SCRATCH/chromium" --virtual-time-budget=15000 --dump-dom "$SCHED_URL/docs" \
			>"$SCRATCH/dom.html" 2>"$SCRATCH/chromium.err"
		missing=
		while read -r method path; do
			grep -q "data-path=\"$path\"" "$SCRATCH/dom.html" || missing="$missing $method:$path"
		done <"$SCRATCH/ops"
		check "chromium renders /docs with every operation (missing:${missing:- none})" \
			bash -c "[ -z '$missing' ] && grep -q 'alts scheduler' '$SCRATCH/dom.html'"
	else
		echo "SKIP chromium rendering of /docs: needs:chromium"
	fi
else
	echo "SKIP /docs checks: swagger-ui-dist not installed (build the swagger-ui target or npm ci in scheduler/ui)"
	check "GET /docs without the UI is 404 with a detail" [ "$(curl -s "$SCHED_URL/docs" | jq -r .detail | cut -c1-30)" = "the Swagger UI is not installed" ]
fi

# ---- reports and logs: GET /tasks/{id}/report.tap, report.xml, result.json, logs/{name} ----
SCHED_PEER=$ALTS_BUILD_DIR/sched_peer
r=$(curl_json GET "/tasks/$id" "" -H "$AUTH")
check "a task shows worker, progress, artifacts, artifacts_pending, error" [ "$(jq -c '[.worker, .progress, .artifacts, .artifacts_pending, .error]' <<<"${r#* }")" = '[null,null,{},[],null]' ]
r=$(curl_json POST /tasks/schedule '{"runner_type":"docker","dist_name":"debian","dist_version":"12","dist_arch":"amd64","package_name":"hello"}' -H "$AUTH")
queued=$(jq -r .task_id <<<"${r#* }")
for name in report.tap report.xml result.json logs/install.log; do
	r=$(curl_json GET "/tasks/$queued/$name" "" -H "$AUTH")
	check "$name of a queued task is 409 ($(jq -r .detail <<<"${r#* }"))" [ "${r%% *}" = 409 ]
done
r=$(curl_json GET "/tasks/$id2/report.tap" "" -H "$AUTH")
check "a missing report is 404 with a detail ($(jq -r .detail <<<"${r#* }"))" [ "${r%% *} $(jq -r .detail <<<"${r#* }")" = "404 task '$id2' has no 'report.tap'" ]
r=$(curl_json GET "/tasks/00000000-0000-4000-8000-000000000000/report.tap" "" -H "$AUTH")
check "report.tap of an unknown task is 404" [ "${r%% *}" = 404 ]
check "report.tap needs a token" [ "$(curl -s -o /dev/null -w '%{http_code}' "$SCHED_URL/tasks/$id2/report.tap")" = 401 ]
if [ -x "$SCHED_PEER" ]; then
	printf 'TAP version 13\n1..1\nok 1 - install\n' >"$SCRATCH/report.tap"
	printf '<?xml version="1.0"?>\n<testsuites tests="1"/>\n' >"$SCRATCH/report.xml"
	printf '{"success":true}\n' >"$SCRATCH/result.json"
	printf 'installing hello\n<script>alert(1)</script>\n' >"$SCRATCH/install.log"
	printf 'uninstalling hello\n' >"$SCRATCH/uninstall.log"
	gzip -c "$SCRATCH/uninstall.log" >"$SCRATCH/uninstall.log.gz"
	head -c 2000000 /dev/urandom | base64 >"$SCRATCH/big.log"
	put_ok=1
	for f in report.tap report.xml result.json logs/install.log logs/uninstall.log.gz logs/big.log; do
		"$SCHED_PEER" put "$SCRATCH/config.yaml" "$id2/$f" "$SCRATCH/${f#logs/}" || put_ok=0
	done
	check "artifacts stored in the file store" [ "$put_ok" = 1 ]
	for f in report.tap:text/plain report.xml:application/xml result.json:application/json logs/install.log:text/plain logs/uninstall.log.gz:application/gzip logs/big.log:text/plain; do
		name=${f%%:*} type=${f#*:}
		code=$(curl -s -o "$SCRATCH/got" -D "$SCRATCH/headers" -w '%{http_code}' -H "$AUTH" "$SCHED_URL/tasks/$id2/$name")
		check "GET $name: 200 $type, the stored bytes" bash -c "[ '$code' = 200 ] && grep -qi '^Content-Type: $type' '$SCRATCH/headers' && cmp -s '$SCRATCH/got' '$SCRATCH/${name#logs/}'"
	done
	check "logs are sent with nosniff" grep -qi '^X-Content-Type-Options: nosniff' "$SCRATCH/headers"
	curl -s -o "$SCRATCH/got" -D "$SCRATCH/headers" -H "$AUTH" "$SCHED_URL/tasks/$id2/logs/uninstall.log"
	check "logs/x.log falls back to x.log.gz, inflated for a client without gzip" bash -c "cmp -s '$SCRATCH/got' '$SCRATCH/uninstall.log' && grep -qi '^Content-Type: text/plain' '$SCRATCH/headers'"
	curl -s -o "$SCRATCH/got" -D "$SCRATCH/headers" -H "$AUTH" -H 'Accept-Encoding: gzip' "$SCHED_URL/tasks/$id2/logs/uninstall.log"
	check "... and passed through with Content-Encoding: gzip to one that accepts it" bash -c "grep -qi '^Content-Encoding: gzip' '$SCRATCH/headers' && gzip -dc '$SCRATCH/got' | cmp -s - '$SCRATCH/uninstall.log'"
	check "HEAD of a report is 200" [ "$(curl -s -I -o /dev/null -w '%{http_code}' -H "$AUTH" "$SCHED_URL/tasks/$id2/report.tap")" = 200 ]
	printf 'not gzip at all' >"$SCRATCH/corrupt.log.gz"
	truncate -s 65M "$SCRATCH/huge.log"
	"$SCHED_PEER" put "$SCRATCH/config.yaml" "$id2/logs/corrupt.log.gz" "$SCRATCH/corrupt.log.gz"
	"$SCHED_PEER" put "$SCRATCH/config.yaml" "$id2/logs/huge.log" "$SCRATCH/huge.log"
	rm -f "$SCRATCH/huge.log"
	r=$(curl_json GET "/tasks/$id2/logs/corrupt.log" "" -H "$AUTH")
	check "a corrupt .gz fallback is 502 ($(jq -r .detail <<<"${r#* }"))" [ "${r%% *}" = 502 ]
	r=$(curl_json GET "/tasks/$id2/logs/huge.log" "" -H "$AUTH")
	check "a log over 64 MiB is 502 ($(jq -r .detail <<<"${r#* }"))" [ "${r%% *}" = 502 ]
else
	bad "sched_peer is not built ($SCHED_PEER)"
fi
for name in .. ..%2F..%2Fconfig.yaml %2E%2E a%2Fb .hidden x%01y x%7Fy $(head -c 300 /dev/zero | tr '\0' a); do
	r=$(curl -s --path-as-is -o "$SCRATCH/resp" -w '%{http_code}' -H "$AUTH" "$SCHED_URL/tasks/$id2/logs/$name")
	check "logs/${name:0:40} is 400 ($(jq -r .detail "$SCRATCH/resp"))" [ "$r" = 400 ]
done
r=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' -H "$AUTH" "$SCHED_URL/tasks/$id2/logs/../../report.tap")
check "logs/../../report.tap does not escape ($r)" [ "$r" = 400 ]
check "an unknown report name is 404" [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$SCHED_URL/tasks/$id2/report.html")" = 404 ]
check "the secret is never logged" bash -c "! grep -q '$SECRET' '$SCRATCH/scheduler.log'"

# ---- config errors ----
printf 'jwt_secret: x\nrabbitmq_hots: h\n' >"$SCRATCH/bad.yaml"
out=$("$ALTS_SCHEDULER" -c "$SCRATCH/bad.yaml" --check-config 2>&1); rc=$?
check "unknown config key: exit 2 with file:line:col ($out)" [ "$rc" = 2 ] && [[ "$out" == *"bad.yaml:2:1: unknown key 'rabbitmq_hots'"* ]]
printf 'working_directory: /tmp\n' >"$SCRATCH/nosecret.yaml"
check "no secret is an error" bash -c "! '$ALTS_SCHEDULER' -c '$SCRATCH/nosecret.yaml' --check-config 2>/dev/null"
check "ALTS_JWT_SECRET supplies it" env ALTS_JWT_SECRET=from-env "$ALTS_SCHEDULER" -c "$SCRATCH/nosecret.yaml" --check-config
printf 'file-secret\n' >"$SCRATCH/secret"
printf 'jwt_secret_file: %s\n' "$SCRATCH/secret" >"$SCRATCH/filesecret.yaml"
check "jwt_secret_file supplies it" [ "$("$ALTS_TOKEN_BIN" -c "$SCRATCH/filesecret.yaml" -e a@b)" = "$(jwt HS256 file-secret '{"email":"a@b"}')" ]
sched_stop
check "the scheduler stopped without sanitizer reports" bash -c "! grep -q -e 'Sanitizer' -e 'runtime error' '$SCRATCH/scheduler.log'"

# ---- SIGTERM under load: every task answered 201 is in the store; the rest were told (503) or cut off ----
sed "s|^working_directory: .*|working_directory: $SCRATCH/wd-term|" "$SCRATCH/config.yaml" >"$SCRATCH/term.yaml"
sched_start "$SCRATCH/term.yaml" --no-broker || bad "scheduler starts again"
seq 1 3000 | xargs -P 32 -I @@ curl -s -w ' %{http_code}\n' -X POST -H "$AUTH" -H 'Content-Type: application/json' \
	--data-binary "${gc_body/gc-@@/term-@@}" "$SCHED_URL/tasks/schedule" >"$SCRATCH/term.out" 2>/dev/null &
load=$!
for _ in $(seq 1 100); do [ "$(grep -c ' 201$' "$SCRATCH/term.out")" -ge 200 ] && break; sleep 0.05; done
sched_stop
wait "$load"
accepted=$(grep -c ' 201$' "$SCRATCH/term.out")
check "stopped mid-load: $accepted of 3000 accepted, the rest 503 or not connected" \
	bash -c "[ $accepted -ge 200 ] && ! grep -vE ' (201|503|000)$' '$SCRATCH/term.out'"
check "... and a 503 says why" bash -c "! grep -q ' 503$' '$SCRATCH/term.out' || grep ' 503$' '$SCRATCH/term.out' | head -n 1 | grep -q 'shutting down'"
sched_start "$SCRATCH/term.yaml" --no-broker || bad "scheduler starts on the same database"
missing=0
for tid in $(sed -n 's/ 201$//p' "$SCRATCH/term.out" | jq -r .task_id); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$SCHED_URL/tasks/$tid")" = 200 ] || missing=$((missing + 1))
done
check "every accepted task is in the store after the restart ($missing missing)" [ "$missing" = 0 ]
sched_stop
check "no sanitizer reports at shutdown under load" bash -c "! grep -q -e 'Sanitizer' -e 'runtime error' '$SCRATCH/scheduler.log'"
finish
