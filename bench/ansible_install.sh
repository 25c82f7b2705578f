#!/usr/bin/env bash
# How long a playbook check takes when ansible-playbook must first be installed into the
# environment (script check, ansible_package): a sandbox of the plain debian-12 image with
# network: host, so apt-get reaches the image's mirror. Run by hand as root (needs the network);
# CI runs playbooks on the cached debian-12-ansible image instead (t_script_ansible.sh).
#   bench/ansible_install.sh [BUILD_DIR]      default: build
# Prints the script check's duration and the install command's own time from its log.
set -eu
build=${1:-build}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/plays"
cat >"$dir/plays/site.yml" <<'YAML'
- hosts: all
  gather_facts: false
  tasks:
    - ping:
YAML
cat >"$dir/s.yaml" <<'YAML'
name: ansible-install
environment: {runner: sandbox, image: debian-12, network: host}
checks:
  - script: {path: plays}
YAML
export ALTS_SANDBOX_DIR=$dir/sb
start=$(date +%s%N)
"$build/alts-run" -q --artifacts "$dir/art" "$dir/s.yaml" || { tail -20 "$dir"/art/*/logs/*.log; exit 1; }
echo "script check with the install: $(( ($(date +%s%N) - start) / 1000000 )) ms"
grep -A0 -E '^\[exit 0, [0-9.]+s\]$' "$dir"/art/*/logs/*.log | head -3 | sed 's/^/  step: /'
