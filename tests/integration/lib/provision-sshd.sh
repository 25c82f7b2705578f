#!/usr/bin/env bash
# A test provisioner for the command runner, standing in for terraform apply/destroy:
#   provision-sshd.sh create BASE    starts a test sshd in BASE/$ALTS_PROVISION_ID, prints its JSON
#   provision-sshd.sh destroy BASE   reads that JSON on stdin, stops the server, removes its directory
set -u
here=$(cd "$(dirname "$0")" && pwd)
SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
. "$here/sshd.sh"
op=${1:?create or destroy} base=${2:?base directory}
id=${ALTS_PROVISION_ID:?ALTS_PROVISION_ID is not set}
dir=$base/$id
case $op in
create)
	mkdir -p "$base"
	sshd_start "$dir" >&2 || exit 1
	printf '{"type": "ssh", "id": "%s", "host": "127.0.0.1", "port": %d, "user": "root", "identity_file": "%s", "known_hosts": "%s", "strict_host_key_checking": "yes", "connect_timeout": 10}\n' \
		"$id" "$SSHD_PORT" "$SSHD_KEY" "$SSHD_KNOWN_HOSTS"
	;;
destroy)
	info=$(cat)
	echo "destroy $id: $info" >&2
	case $info in *"\"id\": \"$id\""*) ;; *) echo "destroy: the JSON on stdin is not the one create printed" >&2; exit 1 ;; esac
	sshd_stop "$dir"
	rm -rf "$dir"
	;;
*) echo "usage: $0 create|destroy BASE" >&2; exit 2 ;;
esac
