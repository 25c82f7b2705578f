#!/usr/bin/env bash
# docs/suite.schema.json says what the loader says: every shipped suite, a set of valid suites
# that use every key and a set of broken ones are given both to the schema (ajv, through
# tests/js/validate-suite.mjs) and to alts-run --validate, and both must reach the verdict the
# case expects. A schema that drifts from engine/suite_load.c and checks/*.c fails here.
. "$(dirname "$0")/lib/common.sh"

js_dir=$ALTS_SOURCE_DIR/tests/js
schema=$ALTS_SOURCE_DIR/docs/suite.schema.json
validator=$js_dir/validate-suite.mjs

missing=()
command -v node >/dev/null 2>&1 || missing+=("node (apt: nodejs)")
for m in ajv ajv-formats yaml; do
	[ -d "$js_dir/node_modules/$m" ] || missing+=("npm module $m (run: npm ci --prefix tests/js)")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "${CI:-}" = true ]; then
		for m in "${missing[@]}"; do bad "missing $m: CI must install it"; done
		finish
		exit 1
	fi
	skip_test "needs: ${missing[*]}"
fi

# The schema must compile (ajv strict mode) before any verdict means anything.
out=$(node "$validator" --schema "$schema" "$ALTS_SOURCE_DIR/examples/coreutils.yaml" 2>&1); status=$?
if [ "$status" -eq 2 ]; then
	bad "the schema compiles: $out"
	finish
	exit 1
fi
ok "the schema compiles"

# Files the suites below refer to: the loader checks that they exist.
mkdir -p "$SCRATCH/pkgs" "$SCRATCH/tests"
: >"$SCRATCH/pkgs/hello_2.10-3_all.deb"
: >"$SCRATCH/pkgs/hello-extras-2.10-3.noarch.rpm"
printf '#!/bin/sh\necho 1..1\necho ok 1\n' >"$SCRATCH/tests/smoke.sh"
printf 'print("1..0 # SKIP nothing")\n' >"$SCRATCH/tests/api.py"
: >"$SCRATCH/pkgs/notes.txt"

# Each case is a file and the verdicts the two sides must reach; they are all given to the schema
# in one node run (compiling the schema takes a while) and to alts-run one by one.
case_files=()
case_labels=()
case_want_schema=()
case_want_alts=()

# expect FILE LABEL EXPECTED-SCHEMA EXPECTED-ALTS
expect() {
	case_files+=("$1")
	case_labels+=("$2")
	case_want_schema+=("$3")
	case_want_alts+=("$4")
}

# valid NAME / invalid NAME: the suite text is read from stdin; both sides must agree.
valid() { cat >"$SCRATCH/$1.yaml"; expect "$SCRATCH/$1.yaml" "valid/$1" valid valid; }
invalid() { cat >"$SCRATCH/$1.yaml"; expect "$SCRATCH/$1.yaml" "invalid/$1" invalid invalid; }
# beyond NAME: what JSON Schema cannot see (files on disk, cross references, POSIX regexes):
# the schema accepts the suite and the loader refuses it. Kept so that the list stays true.
beyond() { cat >"$SCRATCH/$1.yaml"; expect "$SCRATCH/$1.yaml" "beyond the schema/$1" valid invalid; }

# Runs both sides over every case and compares.
compare_all() {
	local -A schema_says=()
	local line file out status i s a

	out=$(node "$validator" --schema "$schema" -- "${case_files[@]}" 2>&1); status=$?
	if [ "$status" -gt 1 ]; then
		bad "the schema validator failed (exit $status): $out"
		return
	fi
	while IFS= read -r line; do
		case $line in
		*": ok") schema_says[${line%: ok}]=valid ;;
		*": invalid: "*) schema_says[${line%%: invalid: *}]=invalid ;;
		esac
	done <<<"$out"
	for i in "${!case_files[@]}"; do
		file=${case_files[$i]}
		s=${schema_says[$file]:-"no verdict"}
		"$ALTS_RUN" --validate "$file" >"$SCRATCH/alts.out" 2>&1; status=$?
		case $status in
		0) a=valid ;;
		2) a=invalid ;;
		*) a="error (exit $status)" ;;
		esac
		if [ "$s" = "${case_want_schema[$i]}" ] && [ "$a" = "${case_want_alts[$i]}" ]; then
			ok "${case_labels[$i]}: schema $s, alts-run $a"
			continue
		fi
		bad "${case_labels[$i]}: schema says $s (want ${case_want_schema[$i]}), alts-run says $a (want ${case_want_alts[$i]})"
		grep -F -- "$file: " <<<"$out" | sed 's/^/#   schema: /'
		sed 's/^/#   alts-run: /' "$SCRATCH/alts.out"
	done
}

# --- the loader's own lists -------------------------------------------------------------------
# Each mapping's known keys and each enumeration, as alts-run names them in its error for an unknown
# one, must be what the schema lists: a key, check kind or runner added to the C code and not to
# the schema fails here even before a case uses it.
# same_list LABEL SUITE-TEXT JS-EXPRESSION: the expression (over the schema, s) is an object whose
# keys, or an array whose items, are the list.
same_list() {
	local label=$1 text=$2 expr=$3 file="$SCRATCH/list.yaml" loader schema_has
	printf '%s\n' "$text" >"$file"
	loader=$("$ALTS_RUN" --validate "$file" 2>&1 | sed -n 's/.*(known[a-z ]*: \(.*\))$/\1/p' |
		tr -d ' ' | tr ',' '\n' | sort | paste -sd, -)
	schema_has=$(node -e '
		const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		const v = eval(process.argv[2]);
		console.log((Array.isArray(v) ? v : Object.keys(v)).map(String).sort().join(","));
	' "$schema" "$expr" 2>&1)
	if [ -z "$loader" ]; then
		bad "$label: alts-run named no list for: $text"
	elif [ "$loader" = "$schema_has" ]; then
		ok "$label: $loader"
	else
		bad "$label: alts-run knows $loader, docs/suite.schema.json $schema_has"
	fi
}
C='checks: [{launch: {command: [true]}}]'
same_list "top-level keys" "zz: 1
$C" 's.properties'
same_list "package keys" "packages: [{name: a, zz: 1}]
$C" 's.$defs.package.anyOf[1].properties'
same_list "repository keys" "repositories: [{url: /srv, zz: 1}]
$C" 's.$defs.repository.anyOf[1].properties'
same_list "environment keys" "environment: {zz: 1}
$C" 's.$defs.environment.properties'
for kind in install launch integrity script uninstall dep8; do
	same_list "$kind keys" "packages: [a]
checks: [{$kind: {zz: 1}}]" "s.\$defs.${kind}Body.properties"
done
same_list "script git keys" "checks: [{script: {git: {url: x, zz: 1}}}]" \
	's.$defs.scriptBody.properties.git.anyOf[1].properties'
same_list "dep8 git keys" "checks: [{dep8: {git: {url: x, zz: 1}}}]" \
	's.$defs.dep8Body.properties.git.anyOf[1].properties'
same_list "environment.ssh keys" "environment: {ssh: {zz: 1}}
$C" 's.$defs.sshSection.properties'
same_list "environment.docker keys" "environment: {docker: {zz: 1}}
$C" 's.$defs.dockerSection.properties'
same_list "environment.command keys" "environment: {command: {create: [x], zz: 1}}
$C" 's.$defs.commandSection.properties'
same_list "ssh host key checking modes" "environment: {ssh: {strict_host_key_checking: zz}}
$C" 's.$defs.sshSection.properties.strict_host_key_checking.anyOf[1].enum'
same_list "check kinds" "checks: [zz]" 's.$defs.check.anyOf[1].properties'
same_list "runners" "environment: {runner: zz}
$C" 's.$defs.environment.properties.runner.anyOf[1].enum'
same_list "architectures" "environment: {dist_arch: zz}
$C" 's.$defs.environment.properties.dist_arch.anyOf[1].enum'
same_list "package managers" "environment: {package_manager: zz}
$C" 's.$defs.environment.properties.package_manager.anyOf[1].enum'
same_list "network modes" "environment: {network: zz}
$C" 's.$defs.environment.properties.network.anyOf[1].enum'
same_list "integrity parts" "packages: [a]
checks: [{integrity: {checks: [zz]}}]" 's.$defs.integrityPart.enum'

# --- every suite that ships -------------------------------------------------------------------
shipped=0
for f in "$ALTS_SOURCE_DIR"/examples/*.yaml "$ALTS_SOURCE_DIR"/examples/*.yml; do
	[ -e "$f" ] || continue
	shipped=$((shipped + 1))
	expect "$f" "shipped/${f#"$ALTS_SOURCE_DIR"/}" valid valid
done
check "there are shipped suites to validate" test "$shipped" -gt 0
# The provisioner example (docs/runners-remote.md) is a suite too.
expect "$ALTS_SOURCE_DIR/configs/provisioner-terraform.yaml" "shipped/configs/provisioner-terraform.yaml" valid valid

# --- valid suites: every key ------------------------------------------------------------------
valid all_top_level_keys <<'Y'
name: everything
description: every top-level key, and each kind of package and repository
packages:
  - bash
  - name: hello
    version: "2.10-3"
    epoch: 1
  - name: hello-extras
    version: 2.10
    file: pkgs/hello_2.10-3_all.deb
  - name: lib+plus_~tilde.x-y
    epoch: "2"
repositories:
  - https://repo.example.org/el9/
  - name: extra
    baseurl: http://repo.example.org/extra/
  - url: "deb [trusted=yes] http://deb.example.org/debian bookworm main"
  - name: local_1.repo
    url: /srv/repo with space
  - file:///srv/repo
  - ftp://ftp.example.org/pub
  - copy:///media/repo
  - mirror://mirrors.example.org/list
  - mirror+https://mirrors.example.org/list
  - deb-src http://deb.example.org/debian bookworm main
environment:
  runner: local
  dist_name: debian
  dist_version: 12
  dist_arch: x86_64
  package_manager: apt
  image: debian-12
  network: none
env:
  GREETING: hello
  _UNDERSCORE1: "1"
  NUMBER: 42
  EMPTY: ""
timeout: 1h
check_timeout: 90
checks:
  - install
  - launch: {command: [true]}
  - integrity
  - script: {path: tests/smoke.sh}
  - uninstall
Y
valid every_launch_key <<'Y'
checks:
  - launch:
      name: hello greets
      timeout: 30s
      skip: not today
      expect_failure: true
      command: [hello, --greeting, "$GREETING", ""]
      exit_code: 3
      stdout: "^hello \\(GNU Hello\\) [0-9.]+$"
      stderr: "warn(ing)?"
      stdout_not: "error"
      stderr_not: "(fatal|panic)"
      service: hellod.service
      service_timeout: 2.5m
      stdin: "line one\nline two\n"
  - launch:
      command: hello | grep -q Hello
      exit_code: "0"
      service: "dbus-daemon@user:1+x"
  - launch:
      command: true
      stdin: ""
  - launch:
      command: [sh, -c, "exit 255"]
      exit_code: 255
      timeout: 250ms
      service_timeout: 0
Y
valid every_script_key <<'Y'
checks:
  - script:
      name: a directory
      path: tests/
      args: [--quick, "", 3]
      interpreter: [python3, -u]
      tap: auto
      ansible_package: ansible
  - script:
      path: tests/smoke.sh
      args: --verbose
      interpreter: bash
      tap: true
  - script:
      path: tests/api.py
      tap: "no"
      args: []
  - script:
      name: from a repository
      git:
        url: https://github.com/example/hello-tests.git
        ref: v2.10
        path: t/unit
      tap: off
  - script:
      git: https://github.com/example/hello-tests.git
  - script:
      git:
        url: git@example.org:hello/tests.git
        ref: release/2.10+fix_1
        path: ...hidden/x
Y
valid every_package_check_key <<'Y'
packages: [hello, hello-extras, bash]
checks:
  - install:
      name: only hello
      packages: [hello]
      allow_downgrade: yes
  - install:
      packages: hello-extras
      allow_downgrade: False
  - integrity:
      packages: [hello, bash]
      checks: [verify, files, symlinks, ldd, rpath]
      ignore: ["/etc/hello/*", "*.pyc"]
  - integrity:
      checks: ldd
      ignore: /var/lib/hello
  - uninstall:
      packages: [hello-extras]
  - uninstall: {}
  - install: {start_services: true}
  - upgrade: {from: "1.0", downgrade: true, modify_conffiles: true, packages: [hello]}
  - upgrade: {name: from the distribution, from: distribution, timeout: 5m}
  - upgrade: {from: "http://deb.example/old"}
  - uninstall: {purge: true, leftovers: warn, leftovers_ignore: ["/var/lib/hello/*"], process_grace: 5}
  - uninstall: {purge: yes, leftovers: ignore}
Y
invalid upgrade_without_from <<'Y'
packages: [hello]
checks: [{upgrade: {downgrade: true}}]
Y
invalid upgrade_unknown_key <<'Y'
packages: [hello]
checks: [{upgrade: {from: "1.0", to: "2.0"}}]
Y
invalid uninstall_bad_leftovers_policy <<'Y'
packages: [hello]
checks: [{uninstall: {purge: true, leftovers: maybe}}]
Y
beyond leftovers_without_purge <<'Y'
packages: [hello]
checks: [{uninstall: {leftovers: warn}}]
Y
beyond upgrade_bad_version <<'Y'
packages: [hello]
checks: [{upgrade: {from: "1.0;rm"}}]
Y
valid dep8_sources <<'Y'
checks:
  - dep8: {source: hello}
  - autopkgtest: {name: upstream, git: {url: "https://example.invalid/x.git", ref: main, path: pkg}, tests: [smoke]}
  - dep8: {git: "https://example.invalid/y.git", tests: smoke, timeout: 10m}
Y
invalid dep8_two_sources <<'Y'
checks: [{dep8: {source: hello, git: "https://example.invalid/x.git"}}]
Y
invalid dep8_no_source <<'Y'
checks: [{autopkgtest: {tests: [a]}}]
Y
valid explicit_nulls <<'Y'
name:
description: ~
environment:
env: null
timeout: Null
check_timeout: NULL
packages:
  - name: hello
    version:
    epoch: ~
    file:
repositories:
  - name: ~
    url: https://repo.example.org/
    baseurl:
checks:
  - install: ~
  - integrity:
  - uninstall:
      packages: ~
  - launch:
      command: [hello]
      name: ~
      timeout:
      skip:
      expect_failure:
      exit_code:
      stdout:
      service:
      service_timeout:
      stdin:
  - script:
      path: tests
      args:
      interpreter:
Y
valid empty_environment_keys <<'Y'
environment:
  runner: ~
  dist_name:
  dist_arch:
checks:
  - launch: {command: [true]}
Y
valid root_mode_with_files <<'Y'
packages:
  - name: hello
    file: pkgs/hello_2.10-3_all.deb
  - name: hello-extras
    file: pkgs/hello-extras-2.10-3.noarch.rpm
environment:
  root: /var/tmp/scratch-root
checks: [install, integrity, uninstall]
Y
valid dpkg_subset_needs_only_its_files <<'Y'
packages:
  - bash
  - name: hello
    file: pkgs/hello_2.10-3_all.deb
environment:
  package_manager: dpkg
checks:
  - install: {packages: [hello]}
Y
valid sandbox_runner <<'Y'
name: hello in a sandbox
packages: [hello]
environment:
  runner: sandbox
  dist_name: almalinux
  dist_version: "9.4"
  dist_arch: aarch64
  package_manager: dnf
  image: almalinux-9.4_test
  network: host
checks: [install, uninstall]
Y
valid ssh_runner <<'Y'
packages: [hello]
environment:
  runner: ssh
  ssh:
    host: vm1.example.org
    port: 2222
    user: alts_test-1
    identity_file: /etc/alts/id ed25519
    known_hosts: /etc/alts/known_hosts
    strict_host_key_checking: yes
    connect_timeout: 30s
    reboot_command: [systemctl, reboot, ""]
    reboot_timeout: 10m
checks: [install, uninstall]
Y
valid ssh_runner_spellings <<'Y'
environment:
  runner: ssh
  ssh:
    host: "[::1]"
    port: "22"
    user: 0
    strict_host_key_checking: "no"
    reboot_command: sudo reboot
    connect_timeout: 5
checks:
  - launch: {command: [true]}
Y
valid ssh_keys_for_another_runner <<'Y'
environment:
  runner: local
  ssh: {user: root, strict_host_key_checking: accept-new}
  docker: {platform: linux/amd64}
  command: {create: [true]}
checks:
  - launch: {command: [true]}
Y
valid remote_sections_null <<'Y'
environment:
  ssh:
  docker: ~
  command: null
checks:
  - launch: {command: [true]}
Y
valid remote_keys_null <<'Y'
environment:
  runner: ssh
  ssh:
    host: 192.0.2.7
    port: ~
    user:
    identity_file:
    known_hosts:
    strict_host_key_checking:
    connect_timeout:
    reboot_command:
    reboot_timeout:
  docker: {url: ~, image: ~, platform: ~}
  command: {create: [x], destroy: ~}
checks:
  - launch: {command: [true]}
Y
valid docker_runner <<'Y'
packages: [hello]
environment:
  runner: docker
  dist_name: almalinux
  dist_version: 9
  dist_arch: aarch64
  network: host
  docker:
    url: unix:///var/run/docker.sock
    image:
      almalinux-9: "quay.io/almalinuxorg/almalinux:9"
      debian: debian@sha256:0123abcd
      ubuntu-24.04: 24
    platform: linux/arm64/v8
checks: [install, uninstall]
Y
valid docker_runner_one_image <<'Y'
environment:
  runner: docker
  docker:
    url: tcp://10.0.0.5:2376
    image: "debian:12"
checks:
  - launch: {command: [true]}
Y
valid docker_runner_no_section <<'Y'
environment:
  runner: docker
checks:
  - launch: {command: [true]}
Y
valid command_runner <<'Y'
environment:
  runner: command
  ssh: {user: almalinux, identity_file: /etc/alts/id_ed25519}
  command:
    create: [terraform, -chdir=/srv/alts/vm, apply, -auto-approve]
    destroy: /srv/alts/vm/destroy.sh "$ALTS_PROVISION_ID"
checks:
  - launch: {command: [true]}
Y
valid json_suite <<'Y'
{"name": "json", "packages": ["bash"], "checks": ["install", {"launch": {"command": ["bash", "--version"], "exit_code": 0}}]}
Y
valid scalars_as_written <<'Y'
name: 2024
description: true
env: {ANSWER: 42, FLAG: false}
packages: [7zip, 1.0]
timeout: 1.5
check_timeout: "45"
checks:
  - install
  - launch:
      name: yes
      command: [echo, 1, true]
      expect_failure: "off"
      timeout: 0
  - launch:
      command: true
      expect_failure: ON
Y
valid durations <<'Y'
timeout: 1d
check_timeout: 0.5
checks:
  - launch: {command: [true], timeout: 2h}
  - launch: {command: [true], timeout: 10m}
  - launch: {command: [true], timeout: 1.25s}
  - launch: {command: [true], timeout: "100"}
Y
valid packages_after_checks <<'Y'
checks:
  - uninstall
packages: [hello]
Y
valid anchors <<'Y'
packages: &pkgs [hello]
checks:
  - install: {packages: *pkgs}
  - launch: &l {command: [hello], stdout: Hello}
  - launch: *l
Y

# --- invalid suites: the mistakes of t_suite_errors.sh and more ------------------------------
invalid bad_yaml <<'Y'
name: x
checks:
  - launch: {command: [true]
Y
invalid not_a_mapping <<'Y'
- install
- uninstall
Y
invalid empty_document <<'Y'
# nothing here
Y
invalid two_documents <<'Y'
name: x
checks: [{launch: {command: [true]}}]
---
name: y
Y
invalid duplicate_key <<'Y'
name: x
checks: [{launch: {command: [true]}}]
name: y
Y
invalid unknown_top_key <<'Y'
name: x
chekcs: [install]
Y
invalid anchor_key <<'Y'
common: &common {command: [true]}
checks:
  - launch: *common
Y
invalid missing_checks <<'Y'
name: x
packages: [bash]
Y
invalid null_checks <<'Y'
checks:
Y
invalid empty_checks <<'Y'
name: x
checks: []
Y
invalid unknown_check <<'Y'
checks:
  - instal
Y
invalid unknown_check_mapping <<'Y'
checks:
  - lunch: {command: [true]}
Y
invalid json_unknown_check <<'Y'
{"name": "x", "checks": [ "lunch" ]}
Y
invalid null_check_item <<'Y'
checks:
  - ~
Y
invalid list_check_item <<'Y'
checks:
  - [install]
Y
invalid number_as_check <<'Y'
checks: [1]
Y
invalid two_kinds_in_one <<'Y'
checks:
  - launch:
    command: [true]
Y
invalid two_checks_in_one_item <<'Y'
packages: [bash]
checks:
  - install: ~
    uninstall: ~
Y
invalid empty_check_mapping <<'Y'
checks:
  - {}
Y
invalid unknown_check_key <<'Y'
checks:
  - launch:
      command: [true]
      comand: [false]
Y
invalid unknown_common_key <<'Y'
packages: [bash]
checks:
  - install:
      expect_fail: true
Y
invalid check_body_is_a_list <<'Y'
packages: [bash]
checks:
  - install: [bash]
Y
invalid check_body_is_a_string <<'Y'
packages: [bash]
checks:
  - install: bash
Y
invalid launch_without_command <<'Y'
checks:
  - launch
Y
invalid launch_null_body <<'Y'
checks:
  - launch: ~
Y
invalid launch_options_but_no_command <<'Y'
checks:
  - launch:
      name: x
      stdout: y
Y
invalid launch_null_command <<'Y'
checks:
  - launch: {command: ~}
Y
invalid launch_empty_command_list <<'Y'
checks:
  - launch: {command: []}
Y
invalid launch_empty_program <<'Y'
checks:
  - launch: {command: ["", x]}
Y
invalid launch_empty_command_string <<'Y'
checks:
  - launch: {command: ""}
Y
invalid launch_nested_command <<'Y'
checks:
  - launch: {command: [[echo, hi]]}
Y
invalid launch_null_argument <<'Y'
checks:
  - launch: {command: [echo, ~]}
Y
invalid launch_command_mapping <<'Y'
checks:
  - launch: {command: {program: echo}}
Y
invalid exit_code_too_big <<'Y'
checks:
  - launch: {command: [true], exit_code: 256}
Y
invalid exit_code_negative <<'Y'
checks:
  - launch: {command: [true], exit_code: -1}
Y
invalid exit_code_text <<'Y'
checks:
  - launch: {command: [true], exit_code: zero}
Y
invalid exit_code_fraction <<'Y'
checks:
  - launch: {command: [true], exit_code: 1.5}
Y
invalid empty_pattern <<'Y'
checks:
  - launch: {command: [true], stdout: ""}
Y
invalid service_timeout_without_service <<'Y'
checks:
  - launch: {command: [true], service_timeout: 5s}
Y
invalid service_name_with_dash <<'Y'
checks:
  - launch: {command: [true], service: -hellod}
Y
invalid service_name_with_space <<'Y'
checks:
  - launch: {command: [true], service: "hello d"}
Y
invalid wrong_type_timeout <<'Y'
checks:
  - launch:
      command: [true]
      timeout: soon
Y
invalid duration_with_space <<'Y'
timeout: 5 m
checks:
  - launch: {command: [true]}
Y
invalid duration_unknown_unit <<'Y'
check_timeout: 5w
checks:
  - launch: {command: [true]}
Y
invalid duration_negative <<'Y'
timeout: -1
checks:
  - launch: {command: [true]}
Y
invalid duration_list <<'Y'
timeout: [1, s]
checks:
  - launch: {command: [true]}
Y
invalid bad_bool <<'Y'
checks:
  - launch:
      command: [true]
      expect_failure: maybe
Y
invalid bool_one_letter <<'Y'
checks:
  - launch:
      command: [true]
      expect_failure: y
Y
invalid bool_number <<'Y'
packages: [bash]
checks:
  - install: {allow_downgrade: 1}
Y
invalid empty_check_name <<'Y'
checks:
  - launch: {command: [true], name: ""}
Y
invalid empty_skip <<'Y'
checks:
  - launch: {command: [true], skip: ''}
Y
invalid empty_suite_name <<'Y'
name: ""
checks:
  - launch: {command: [true]}
Y
invalid name_is_a_list <<'Y'
name: [a, b]
checks:
  - launch: {command: [true]}
Y
invalid description_is_a_mapping <<'Y'
description: {text: x}
checks:
  - launch: {command: [true]}
Y
invalid wrong_type_packages <<'Y'
packages: bash
checks: [install]
Y
invalid null_packages <<'Y'
packages:
checks:
  - launch: {command: [true]}
Y
invalid missing_package_name <<'Y'
packages:
  - version: "1.0"
checks: [install]
Y
invalid null_package_name <<'Y'
packages:
  - name: ~
checks: [install]
Y
invalid null_package_item <<'Y'
packages:
  - ~
checks: [install]
Y
invalid unknown_package_key <<'Y'
packages:
  - name: bash
    release: 3
checks: [install]
Y
invalid shell_metachar_name <<'Y'
packages:
  - name: "bash; rm -rf /"
checks: [install]
Y
invalid shell_metachar_scalar <<'Y'
packages: ["$(reboot)"]
checks: [install]
Y
invalid package_name_with_slash <<'Y'
packages: [usr/bin/bash]
checks: [install]
Y
invalid package_name_leading_dash <<'Y'
packages: [-bash]
checks: [install]
Y
invalid package_name_with_space <<'Y'
packages: ["bash "]
checks: [install]
Y
invalid package_listed_twice <<'Y'
packages: [bash, hello, bash]
checks: [install]
Y
invalid backtick_version <<'Y'
packages:
  - name: bash
    version: "1.0`id`"
checks: [install]
Y
invalid version_leading_dot <<'Y'
packages:
  - name: bash
    version: ".1"
checks: [install]
Y
invalid empty_version <<'Y'
packages:
  - name: bash
    version: ""
checks: [install]
Y
invalid epoch_not_digits <<'Y'
packages:
  - name: bash
    epoch: 1a
checks: [install]
Y
invalid epoch_negative <<'Y'
packages:
  - name: bash
    epoch: -1
checks: [install]
Y
invalid package_file_not_a_package <<'Y'
packages:
  - name: notes
    file: pkgs/notes.txt
checks: [install]
Y
invalid no_packages_for_install <<'Y'
checks: [install]
Y
invalid no_packages_for_integrity <<'Y'
packages: []
checks:
  - integrity: {checks: [files]}
Y
invalid no_packages_for_uninstall <<'Y'
checks:
  - launch: {command: [true]}
  - uninstall: ~
Y
invalid empty_package_subset <<'Y'
packages: [bash]
checks:
  - install: {packages: []}
Y
invalid package_subset_twice <<'Y'
packages: [bash, hello]
checks:
  - uninstall: {packages: [hello, hello]}
Y
invalid package_subset_bad_name <<'Y'
packages: [bash]
checks:
  - integrity: {packages: ["bash;"]}
Y
invalid bad_repo_url <<'Y'
repositories:
  - ftp:/nowhere
checks:
  - launch: {command: [true]}
Y
invalid repo_relative_path <<'Y'
repositories:
  - srv/repo
checks:
  - launch: {command: [true]}
Y
invalid repo_url_with_space <<'Y'
repositories:
  - https://repo.example.org/a b
checks:
  - launch: {command: [true]}
Y
invalid repo_url_control_character <<'Y'
repositories:
  - "deb http://deb.example.org/debian bookworm main\nextra"
checks:
  - launch: {command: [true]}
Y
invalid repo_url_and_baseurl <<'Y'
repositories:
  - url: https://a.example.org/
    baseurl: https://b.example.org/
checks:
  - launch: {command: [true]}
Y
invalid repo_without_url <<'Y'
repositories:
  - name: extra
checks:
  - launch: {command: [true]}
Y
invalid repo_null_url <<'Y'
repositories:
  - name: extra
    url: ~
checks:
  - launch: {command: [true]}
Y
invalid repo_bad_name <<'Y'
repositories:
  - name: -extra
    url: https://repo.example.org/
checks:
  - launch: {command: [true]}
Y
invalid repo_name_with_slash <<'Y'
repositories:
  - name: a/b
    url: https://repo.example.org/
checks:
  - launch: {command: [true]}
Y
invalid repo_unknown_key <<'Y'
repositories:
  - url: https://repo.example.org/
    gpgcheck: false
checks:
  - launch: {command: [true]}
Y
invalid null_repositories <<'Y'
repositories: ~
checks:
  - launch: {command: [true]}
Y
invalid environment_is_a_list <<'Y'
environment: [local]
checks:
  - launch: {command: [true]}
Y
invalid unknown_environment_key <<'Y'
environment:
  distro: debian
checks:
  - launch: {command: [true]}
Y
invalid unknown_runner <<'Y'
environment:
  runner: dokcer
checks:
  - launch: {command: [true]}
Y
invalid unknown_arch <<'Y'
environment:
  dist_arch: x86-64
checks:
  - launch: {command: [true]}
Y
invalid unknown_package_manager <<'Y'
environment:
  package_manager: zypper
checks:
  - launch: {command: [true]}
Y
invalid unknown_network <<'Y'
environment:
  network: bridge
checks:
  - launch: {command: [true]}
Y
invalid ssh_runner_without_ssh <<'Y'
environment:
  runner: ssh
checks:
  - launch: {command: [true]}
Y
invalid ssh_runner_null_ssh <<'Y'
environment:
  runner: ssh
  ssh: ~
checks:
  - launch: {command: [true]}
Y
invalid ssh_runner_without_host <<'Y'
environment:
  runner: ssh
  ssh: {user: root, port: 22}
checks:
  - launch: {command: [true]}
Y
invalid ssh_runner_null_host <<'Y'
environment:
  runner: ssh
  ssh: {host: ~}
checks:
  - launch: {command: [true]}
Y
invalid ssh_is_a_list <<'Y'
environment:
  ssh: [vm1.example.org]
checks:
  - launch: {command: [true]}
Y
invalid ssh_is_a_string <<'Y'
environment:
  ssh: vm1.example.org
checks:
  - launch: {command: [true]}
Y
invalid ssh_unknown_key <<'Y'
environment:
  ssh: {host: vm1, hostname: vm1}
checks:
  - launch: {command: [true]}
Y
invalid ssh_host_with_user <<'Y'
environment:
  ssh: {host: root@vm1.example.org}
checks:
  - launch: {command: [true]}
Y
invalid ssh_host_option <<'Y'
environment:
  ssh: {host: "-oProxyCommand=touch"}
checks:
  - launch: {command: [true]}
Y
invalid ssh_empty_host <<'Y'
environment:
  ssh: {host: ""}
checks:
  - launch: {command: [true]}
Y
invalid ssh_port_out_of_range <<'Y'
environment:
  ssh: {host: vm1, port: 70000}
checks:
  - launch: {command: [true]}
Y
invalid ssh_port_zero <<'Y'
environment:
  ssh: {host: vm1, port: 0}
checks:
  - launch: {command: [true]}
Y
invalid ssh_port_text <<'Y'
environment:
  ssh: {host: vm1, port: ssh}
checks:
  - launch: {command: [true]}
Y
invalid ssh_port_fraction <<'Y'
environment:
  ssh: {host: vm1, port: 22.5}
checks:
  - launch: {command: [true]}
Y
invalid ssh_user_option <<'Y'
environment:
  ssh: {host: vm1, user: -lroot}
checks:
  - launch: {command: [true]}
Y
invalid ssh_user_with_space <<'Y'
environment:
  ssh: {host: vm1, user: "a b"}
checks:
  - launch: {command: [true]}
Y
invalid ssh_identity_expands <<'Y'
environment:
  ssh: {host: vm1, identity_file: "~/.ssh/id_%h"}
checks:
  - launch: {command: [true]}
Y
invalid ssh_known_hosts_with_space <<'Y'
environment:
  ssh: {host: vm1, known_hosts: "/etc/alts/known hosts"}
checks:
  - launch: {command: [true]}
Y
invalid ssh_known_hosts_with_dollar <<'Y'
environment:
  ssh: {host: vm1, known_hosts: "$HOME/known_hosts"}
checks:
  - launch: {command: [true]}
Y
invalid ssh_host_key_checking_bool <<'Y'
environment:
  ssh: {host: vm1, strict_host_key_checking: true}
checks:
  - launch: {command: [true]}
Y
invalid ssh_host_key_checking_unknown <<'Y'
environment:
  ssh: {host: vm1, strict_host_key_checking: ask}
checks:
  - launch: {command: [true]}
Y
invalid ssh_bad_connect_timeout <<'Y'
environment:
  ssh: {host: vm1, connect_timeout: soon}
checks:
  - launch: {command: [true]}
Y
invalid ssh_empty_reboot_command <<'Y'
environment:
  ssh: {host: vm1, reboot_command: []}
checks:
  - launch: {command: [true]}
Y
invalid docker_is_a_string <<'Y'
environment:
  docker: unix:///var/run/docker.sock
checks:
  - launch: {command: [true]}
Y
invalid docker_unknown_key <<'Y'
environment:
  docker: {host: unix:///var/run/docker.sock}
checks:
  - launch: {command: [true]}
Y
invalid docker_url_no_scheme <<'Y'
environment:
  docker: {url: /var/run/docker.sock}
checks:
  - launch: {command: [true]}
Y
invalid docker_url_empty_after_scheme <<'Y'
environment:
  docker: {url: "tcp://"}
checks:
  - launch: {command: [true]}
Y
invalid docker_url_with_space <<'Y'
environment:
  docker: {url: "tcp://host :2375"}
checks:
  - launch: {command: [true]}
Y
invalid docker_bad_image <<'Y'
environment:
  docker: {image: ":latest"}
checks:
  - launch: {command: [true]}
Y
invalid docker_image_with_space <<'Y'
environment:
  docker: {image: "debian 12"}
checks:
  - launch: {command: [true]}
Y
invalid docker_empty_image_map <<'Y'
environment:
  docker: {image: {}}
checks:
  - launch: {command: [true]}
Y
invalid docker_image_map_null_value <<'Y'
environment:
  docker:
    image:
      debian-12:
checks:
  - launch: {command: [true]}
Y
invalid docker_image_map_bad_value <<'Y'
environment:
  docker:
    image: {debian-12: "-debian"}
checks:
  - launch: {command: [true]}
Y
invalid docker_image_list <<'Y'
environment:
  docker: {image: [debian, ubuntu]}
checks:
  - launch: {command: [true]}
Y
invalid docker_platform_upper_case <<'Y'
environment:
  docker: {platform: Linux/AMD64}
checks:
  - launch: {command: [true]}
Y
invalid command_runner_without_command <<'Y'
environment:
  runner: command
checks:
  - launch: {command: [true]}
Y
invalid command_runner_null_command <<'Y'
environment:
  runner: command
  command: ~
checks:
  - launch: {command: [true]}
Y
invalid command_without_create <<'Y'
environment:
  command: {destroy: [/srv/destroy.sh]}
checks:
  - launch: {command: [true]}
Y
invalid command_null_create <<'Y'
environment:
  command: {create: ~}
checks:
  - launch: {command: [true]}
Y
invalid command_empty_create <<'Y'
environment:
  command: {create: []}
checks:
  - launch: {command: [true]}
Y
invalid command_empty_create_string <<'Y'
environment:
  command: {create: ""}
checks:
  - launch: {command: [true]}
Y
invalid command_empty_destroy_program <<'Y'
environment:
  command: {create: [x], destroy: ["", y]}
checks:
  - launch: {command: [true]}
Y
invalid command_unknown_key <<'Y'
environment:
  command: {create: [x], teardown: [y]}
checks:
  - launch: {command: [true]}
Y
invalid command_is_a_list <<'Y'
environment:
  command: [terraform, apply]
checks:
  - launch: {command: [true]}
Y
invalid image_upper_case <<'Y'
environment:
  image: Debian-12
checks:
  - launch: {command: [true]}
Y
invalid image_with_slash <<'Y'
environment:
  image: library/debian
checks:
  - launch: {command: [true]}
Y
invalid dist_name_with_space <<'Y'
environment:
  dist_name: "debian 12"
checks:
  - launch: {command: [true]}
Y
invalid empty_root <<'Y'
environment:
  root: ""
checks:
  - launch: {command: [true]}
Y
invalid root_mode_with_repositories <<'Y'
packages:
  - name: hello
    file: pkgs/hello_2.10-3_all.deb
repositories: [https://repo.example.org/]
environment:
  root: /var/tmp/scratch-root
checks: [install]
Y
invalid rpm_mode_without_file <<'Y'
packages:
  - hello
environment:
  package_manager: rpm
checks:
  - install: ~
Y
invalid bad_env_name <<'Y'
env: {MY-VAR: "1"}
checks:
  - launch: {command: [true]}
Y
invalid env_name_leading_digit <<'Y'
env: {1VAR: "1"}
checks:
  - launch: {command: [true]}
Y
invalid env_null_value <<'Y'
env:
  VAR:
checks:
  - launch: {command: [true]}
Y
invalid env_list_value <<'Y'
env:
  VAR: [a, b]
checks:
  - launch: {command: [true]}
Y
invalid env_is_a_list <<'Y'
env: [A=1]
checks:
  - launch: {command: [true]}
Y
invalid integrity_unknown_part <<'Y'
packages: [bash]
checks:
  - integrity: {checks: [files, md5]}
Y
invalid integrity_empty_parts <<'Y'
packages: [bash]
checks:
  - integrity: {checks: []}
Y
invalid integrity_relative_ignore <<'Y'
packages: [bash]
checks:
  - integrity: {ignore: ["etc/*"]}
Y
invalid integrity_empty_ignore_item <<'Y'
packages: [bash]
checks:
  - integrity: {ignore: [""]}
Y
invalid script_without_source <<'Y'
checks:
  - script
Y
invalid script_options_without_source <<'Y'
checks:
  - script: {args: [x]}
Y
invalid script_path_and_git <<'Y'
checks:
  - script:
      path: tests/
      git: https://github.com/example/hello-tests.git
Y
invalid script_null_git <<'Y'
checks:
  - script: {git: ~}
Y
invalid git_url_option <<'Y'
checks:
  - script:
      git: --upload-pack=touch /tmp/pwned
Y
invalid git_ext_url <<'Y'
checks:
  - script:
      git: {url: "ext::sh -c touch% /tmp/pwned"}
Y
invalid git_fd_url <<'Y'
checks:
  - script:
      git: {url: "fd::3"}
Y
invalid git_without_url <<'Y'
checks:
  - script:
      git: {ref: main}
Y
invalid git_bad_ref <<'Y'
checks:
  - script:
      git: {url: "https://example.org/t.git", ref: "main;id"}
Y
invalid git_ref_option <<'Y'
checks:
  - script:
      git: {url: "https://example.org/t.git", ref: "-b"}
Y
invalid git_path_escapes <<'Y'
checks:
  - script:
      git: {url: "https://example.org/t.git", path: "t/../../etc"}
Y
invalid git_path_absolute <<'Y'
checks:
  - script:
      git: {url: "https://example.org/t.git", path: /etc}
Y
invalid git_unknown_key <<'Y'
checks:
  - script:
      git: {url: "https://example.org/t.git", branch: main}
Y
invalid script_bad_tap <<'Y'
checks:
  - script: {path: tests/, tap: maybe}
Y
invalid script_null_tap <<'Y'
checks:
  - script: {path: tests/, tap: ~}
Y
invalid script_empty_interpreter <<'Y'
checks:
  - script: {path: tests/, interpreter: []}
Y
invalid script_args_mapping <<'Y'
checks:
  - script: {path: tests/, args: {quick: true}}
Y
invalid uninstall_unknown_key <<'Y'
packages: [bash]
checks:
  - uninstall: {purge: true, autoremove: true}
Y

# --- what only the loader can tell ------------------------------------------------------------
beyond missing_package_file <<'Y'
packages:
  - name: nope
    file: nope.deb
checks: [install]
Y
beyond missing_script <<'Y'
checks:
  - script: {path: tests/nope.sh}
Y
beyond bad_regex <<'Y'
checks:
  - launch: {command: [true], stdout: "a{1"}
Y
beyond subset_not_in_suite <<'Y'
packages: [bash]
checks:
  - uninstall: {packages: [hello]}
Y
beyond package_twice_in_two_forms <<'Y'
packages: [bash, {name: bash, version: "5.2"}]
checks: [install]
Y
beyond dpkg_subset_without_file <<'Y'
packages:
  - bash
  - name: hello
    file: pkgs/hello_2.10-3_all.deb
environment:
  package_manager: dpkg
checks:
  - install: {packages: [bash]}
Y

# Test dependencies and fresh checks (docs/suite-format.md).
valid test_depends_and_isolation <<'Y'
packages: [hello]
test_depends: [curl, adduser]
isolation: check
environment: {runner: sandbox, image: debian-12}
checks:
  - install
  - launch: {command: [hello], test_depends: wget, fresh: false}
  - integrity: {fresh: true, test_depends: [file]}
Y
invalid isolation_unknown <<'Y'
isolation: checks
checks: [{launch: {command: [true]}}]
Y
invalid test_depends_bad_name <<'Y'
test_depends: [curl, "-rf"]
checks: [{launch: {command: [true]}}]
Y
invalid test_depends_empty <<'Y'
checks: [{launch: {command: [true], test_depends: []}}]
Y
invalid fresh_not_bool <<'Y'
checks: [{launch: {command: [true], fresh: sometimes}}]
Y
invalid test_depends_twice <<'Y'
test_depends: [curl, curl]
checks: [{launch: {command: [true]}}]
Y
beyond test_dep_under_test <<'Y'
packages: [hello]
test_depends: [hello]
checks: [install]
Y
beyond fresh_install <<'Y'
packages: [hello]
checks: [{install: {fresh: true}}]
Y
beyond isolation_on_local <<'Y'
environment: {runner: local}
isolation: check
checks: [{launch: {command: [true]}}]
Y

compare_all
finish
