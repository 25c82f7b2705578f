#!/usr/bin/env bash
# Malformed suites: each gives one clear error with its location and exit status 2,
# and nothing runs.
. "$(dirname "$0")/lib/common.sh"

# case NAME EXPECTED-REGEX: the suite text is read from stdin.
case_() {
	local name=$1 want=$2 file="$SCRATCH/$1.yaml" out status
	cat >"$file"
	out=$("$ALTS_RUN" --artifacts "$SCRATCH/art-$name" "$file" 2>&1)
	status=$?
	if [ "$status" -ne 2 ]; then
		bad "$name: exit status $status, expected 2; output: $out"
	elif ! grep -Eq -- "$want" <<<"$out"; then
		bad "$name: message '$out' does not match /$want/"
	elif [ "$(grep -c 'error:' <<<"$out")" -ne 1 ]; then
		bad "$name: expected exactly one error line, got: $out"
	elif [ -e "$SCRATCH/art-$name" ]; then
		bad "$name: something ran (artifacts directory exists)"
	else
		ok "$name"
	fi
}

case_ bad_yaml "bad_yaml.yaml:4:1: invalid YAML: did not find expected ',' or '}' while parsing a flow mapping that starts at line 3, column 13" <<'Y'
name: x
checks:
  - launch: {command: [true]
Y
case_ tab_indent 'tab_indent.yaml:[0-9]+:[0-9]+: invalid YAML' <<'Y'
name: x
checks:
	- install
Y
case_ not_a_mapping 'not_a_mapping.yaml:1:1: a suite is a mapping' <<'Y'
- install
- uninstall
Y
case_ empty_document 'empty_document.yaml: the document is empty' <<'Y'
# nothing here
Y
case_ unknown_top_key "unknown_top_key.yaml:2:1: unknown key 'chekcs' \\(known keys: .*checks" <<'Y'
name: x
chekcs: [install]
Y
case_ missing_checks "missing_checks.yaml:1:1: missing required key 'checks'" <<'Y'
name: x
packages: [bash]
Y
case_ empty_checks 'empty_checks.yaml:2:9: checks: a suite needs at least one check' <<'Y'
name: x
checks: []
Y
case_ unknown_check "unknown_check.yaml:3:5: checks\\[0\\]: unknown check 'instal' \\(known: install, launch, integrity, script, uninstall, upgrade\\)" <<'Y'
name: x
checks:
  - instal
Y
case_ unknown_check_key "unknown_check_key.yaml:5:7: checks\\[0\\].launch: unknown key 'comand'" <<'Y'
name: x
checks:
  - launch:
      command: [true]
      comand: [false]
Y
case_ two_kinds_in_one "two_kinds_in_one.yaml:4:5: checks\\[0\\]: a check is a mapping with exactly one key" <<'Y'
name: x
checks:
  - launch:
    command: [true]
Y
case_ wrong_type_timeout "wrong_type_timeout.yaml:5:16: checks\\[0\\].launch.timeout: expected a duration .* got 'soon'" <<'Y'
name: x
checks:
  - launch:
      command: [true]
      timeout: soon
Y
case_ wrong_type_packages 'wrong_type_packages.yaml:2:11: packages: expected a list of packages, got a scalar' <<'Y'
name: x
packages: bash
checks: [install]
Y
case_ missing_package_name "missing_package_name.yaml:3:5: packages\\[0\\]: missing required key 'name'" <<'Y'
name: x
packages:
  - version: "1.0"
checks: [install]
Y
case_ shell_metachar_name "shell_metachar_name.yaml:3:11: packages\\[0\\].name: package name 'bash; rm -rf /' contains ';'" <<'Y'
name: x
packages:
  - name: "bash; rm -rf /"
checks: [install]
Y
case_ shell_metachar_scalar "shell_metachar_scalar.yaml:2:12: packages\\[0\\]: package name '\\\$\\(reboot\\)' starts with '\\\$': a package name starts with a letter, a digit or '_'" <<'Y'
name: x
packages: ["$(reboot)"]
checks: [install]
Y
case_ backtick_version "backtick_version.yaml:4:14: packages\\[0\\].version: version '1.0\`id\`' contains '\`'" <<'Y'
name: x
packages:
  - name: bash
    version: "1.0`id`"
checks: [install]
Y
case_ no_packages_for_install "no_packages_for_install.yaml:1:1: packages: check 'install' needs packages, but the suite lists none" <<'Y'
name: x
checks: [install]
Y
case_ bad_bool "bad_bool.yaml:5:23: checks\\[0\\].launch.expect_failure: expected true or false, got 'maybe'" <<'Y'
name: x
checks:
  - launch:
      command: [true]
      expect_failure: maybe
Y
case_ launch_without_command "launch_without_command.yaml:3:5: checks\\[0\\].launch: missing required key 'command'" <<'Y'
name: x
checks:
  - launch
Y
case_ unknown_runner "unknown_runner.yaml:3:11: environment.runner: unknown runner 'dokcer' \\(known: local" <<'Y'
name: x
environment:
  runner: dokcer
checks:
  - launch: {command: [true]}
Y
case_ unknown_arch "unknown_arch.yaml:3:14: environment.dist_arch: unknown architecture 'x86-64'" <<'Y'
name: x
environment:
  dist_arch: x86-64
checks:
  - launch: {command: [true]}
Y
case_ duplicate_key "duplicate_key.yaml:3:1: duplicate key 'name'" <<'Y'
name: x
checks: [{launch: {command: [true]}}]
name: y
Y
case_ bad_repo_url "bad_repo_url.yaml:3:5: repositories\\[0\\]: 'ftp:/nowhere' is not a repository URL" <<'Y'
name: x
repositories:
  - ftp:/nowhere
checks:
  - launch: {command: [true]}
Y
case_ missing_package_file "missing_package_file.yaml:3:5: packages\\[0\\].file: cannot read package file '.*/nope.deb'" <<'Y'
name: x
packages:
  - name: nope
    file: nope.deb
checks: [install]
Y
case_ bad_env_name "bad_env_name.yaml:2:6: env: 'MY-VAR' is not a valid environment variable name" <<'Y'
name: x
env: {MY-VAR: "1"}
checks:
  - launch: {command: [true]}
Y
case_ two_documents 'two_documents.yaml:[0-9]+:[0-9]+: expected one document, found another' <<'Y'
name: x
checks: [{launch: {command: [true]}}]
---
name: y
Y
case_ json_suite_error "json_suite_error.yaml:1:[0-9]+: checks\\[0\\]: unknown check 'lunch'" <<'Y'
{"name": "x", "checks": [ "lunch" ]}
Y

# A missing file and a binary file are suite errors too.
out=$("$ALTS_RUN" "$SCRATCH/does-not-exist.yaml" 2>&1); status=$?
check "missing suite file: exit 2 and the path named" test "$status" -eq 2 -a -n "$(grep -F "cannot read suite '$SCRATCH/does-not-exist.yaml'" <<<"$out")"
printf 'name: x\0checks: []\n' >"$SCRATCH/binary.yaml"
out=$("$ALTS_RUN" "$SCRATCH/binary.yaml" 2>&1); status=$?
check "NUL byte: exit 2 with a clear message" test "$status" -eq 2 -a -n "$(grep -F 'contains a NUL byte' <<<"$out")"
out=$("$ALTS_RUN" --tap-version 12 x.yaml 2>&1); status=$?
check "bad option value: usage error" test "$status" -eq 2 -a -n "$(grep -F -- '--tap-version must be 13 or 14' <<<"$out")"
out=$("$ALTS_RUN" 2>&1); status=$?
check "no suite: usage error" test "$status" -eq 2 -a -n "$(grep -F 'no suite given' <<<"$out")"


# Test dependencies and fresh checks.
case_ test_dep_under_test "test_dep_under_test.yaml:2:16: test_depends\\[0\\]: 'hello' is a package under test" <<'Y'
packages: [hello]
test_depends: [hello]
checks: [install]
Y
case_ test_dep_bad_name "test_dep_bad_name.yaml:2:50: checks\\[0\\].launch.test_depends\\[1\\]: package name 'a;b' contains" <<'Y'
checks:
  - launch: {command: [true], test_depends: [ok, "a;b"]}
Y
case_ test_dep_twice "test_dep_twice.yaml:1:22: test_depends\\[1\\]: test dependency 'curl' is listed twice" <<'Y'
test_depends: [curl, curl]
checks: [{launch: {command: [true]}}]
Y
case_ fresh_install "fresh_install.yaml:3:22: checks\\[0\\].install.fresh: an install check cannot be fresh" <<'Y'
packages: [hello]
checks:
  - install: {fresh: true}
Y
case_ isolation_on_local "isolation_on_local.yaml:2:12: isolation: isolation: check needs the sandbox runner; the 'local' runner has no snapshots" <<'Y'
environment: {runner: local}
isolation: check
checks: [{launch: {command: [true]}}]
Y
case_ fresh_on_docker "fresh_on_docker.yaml:3:38: checks\\[0\\].launch.fresh: a fresh environment per check needs the sandbox runner; the 'docker' runner has no snapshots" <<'Y'
environment: {runner: docker, docker: {image: debian:12}}
checks:
  - launch: {command: [true], fresh: true}
Y
case_ isolation_unknown "isolation_unknown.yaml:1:12: isolation: unknown isolation 'checks' \\(known: suite, check\\)" <<'Y'
isolation: checks
checks: [{launch: {command: [true]}}]
Y
finish
