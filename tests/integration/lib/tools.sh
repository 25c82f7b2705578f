# shellcheck shell=bash
# Sourced by the integration tests that drive outside tools (Chromium,
# npm packages, xmllint): a missing tool skips the test (exit 77) on a
# developer's machine and fails it under CI (CI=true), which must install
# everything (.ci/install-deps, npm ci --prefix tests/js).

tools_src_dir=${ALTS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
tools_js_dir=$tools_src_dir/tests/js
tools_missing=()

# require_cmd CMD HINT: notes CMD as missing unless it is on PATH.
require_cmd() {
	command -v "$1" >/dev/null 2>&1 || tools_missing+=("$1 ($2)")
}

# require_npm PKG: notes the npm package as missing from tests/js/node_modules.
require_npm() {
	[ -d "$tools_js_dir/node_modules/$1" ] || tools_missing+=("npm package $1 (npm ci --prefix tests/js)")
}

# require_file PATH HINT
require_file() {
	[ -r "$1" ] || tools_missing+=("$1 ($2)")
}

# tools_check: after the require_* calls; exits 77, or 1 under CI, when something is missing.
tools_check() {
	[ ${#tools_missing[@]} -eq 0 ] && return 0
	printf 'missing: %s\n' "${tools_missing[@]}" >&2
	if [ "${CI:-}" = true ]; then
		echo "FAIL: CI must install these (.ci/install-deps, npm ci --prefix tests/js)" >&2
		exit 1
	fi
	echo "SKIP: needs the tools above"
	exit 77
}

# chromium_headless ARGS...: headless Chromium as root in a container, with
# nothing reaching the network, a throw-away profile and a time limit.
chromium_headless() {
	local profile rc=0
	profile=$(mktemp -d "${TMPDIR:-/tmp}/alts-chromium.XXXXXX")
	timeout "${ALTS_CHROMIUM_TIMEOUT:-120}" chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$profile" "$@" || rc=$?
	rm -rf "$profile"
	return "$rc"
}

# jq_true FILTER: reads JSON on stdin; succeeds when FILTER is true (prints nothing).
jq_true() { jq -e "$@" >/dev/null; }
