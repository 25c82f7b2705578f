# Sourced by tests that need an ssh server: a real sshd on 127.0.0.1 and a free high port,
# with its own host key, client key, authorized_keys and known_hosts in a directory of its own.
# Needs root (sshd's privilege separation) and openssh-server.
#
#   sshd_start DIR        starts it; sets SSHD_PORT, SSHD_KEY, SSHD_KNOWN_HOSTS; pid in DIR/sshd.pid
#   sshd_stop DIR         stops it and every session it serves
#   sshd_restart_script DIR   writes DIR/restart.sh: run on the "host", it emulates a reboot
#                         (every sshd process goes away, the server comes back 2 s later)
SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}

need_sshd() {
	need_root
	[ -x "$SSHD_BIN" ] || skip_test "needs:sshd (apt: openssh-server)"
	need_cmd ssh ssh-keygen
}

sshd_free_port() {
	local port
	for _ in $(seq 50); do
		port=$(( (RANDOM % 20000) + 30000 ))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
	done
	return 1
}

sshd_start() {
	local dir=$1 port
	mkdir -p "$dir" /run/sshd
	chmod 0700 "$dir"
	[ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519" >/dev/null
	[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/id_ed25519" >/dev/null
	cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
	port=$(sshd_free_port) || return 1
	cat >"$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin yes
StrictModes no
MaxSessions 100
MaxStartups 100
Subsystem sftp internal-sftp
CONF
	echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >"$dir/known_hosts"
	sshd_launch "$dir"
	SSHD_PORT=$port
	SSHD_KEY=$dir/id_ed25519
	SSHD_KNOWN_HOSTS=$dir/known_hosts
	export SSHD_PORT SSHD_KEY SSHD_KNOWN_HOSTS
	for _ in $(seq 100); do
		ssh -o BatchMode=yes -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes \
			-i "$dir/id_ed25519" -p "$port" root@127.0.0.1 true 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# sshd did not start:"; sed 's/^/# /' "$dir/sshd.log"
	return 1
}

# Starts the listener in the background (setsid: a session of its own); it writes DIR/sshd.pid.
sshd_launch() {
	local dir=$1
	rm -f "$dir/sshd.pid"
	setsid "$SSHD_BIN" -D -e -f "$dir/sshd_config" >>"$dir/sshd.log" 2>&1 </dev/null &
	echo $! >"$dir/sshd.pid"
}

# The listener, and the per-connection sshd processes it forked (they run in sessions of their own).
sshd_pids() {
	local dir=$1 pid
	pid=$(cat "$dir/sshd.pid" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	echo "$pid"
	pgrep -P "$pid" 2>/dev/null
}

sshd_stop() {
	local dir=$1 pids
	pids=$(sshd_pids "$dir")
	[ -n "$pids" ] && kill $pids 2>/dev/null
	for _ in $(seq 50); do
		pids=$(sshd_pids "$dir")
		[ -z "$pids" ] && return 0
		kill -0 $pids 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 $pids 2>/dev/null
	return 0
}

sshd_restart_script() {
	local dir=$1 lib
	lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	cat >"$dir/restart.sh" <<SCRIPT
#!/usr/bin/env bash
# Emulates a reboot of the test host: every process of the test sshd goes away for 2 s.
SSHD_BIN=$SSHD_BIN
. "$lib/sshd.sh"
setsid bash -c '. "$lib/sshd.sh"; SSHD_BIN=$SSHD_BIN; sleep 0.3; sshd_stop "$dir"; echo down >>"$dir/reboots"; sleep 2; sshd_launch "$dir"' \
	</dev/null >/dev/null 2>&1 &
SCRIPT
	chmod 0755 "$dir/restart.sh"
}
