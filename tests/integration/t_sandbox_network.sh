#!/usr/bin/env bash
# network: private on the real Debian 12 image: each sandbox has its own loopback (two suites'
# daemons on the same port, run together with -j 2, and a host listener on that port never
# meet), and apt reaches the real Debian mirror and the suite's own repository through the
# runner's allow-list proxy, which refuses everything else (another host, the host's own ports).
. "$(dirname "$0")/lib/sandbox.sh"
need_cmd dpkg-deb dpkg-scanpackages perl python3 curl
ensure_image
mkdir -p "$SCRATCH/suite" "$SCRATCH/repo"

# A listener of the host's on 127.0.0.1:$port, the port both suites' daemons use too (8888, or
# a free one when another test holds it).
host_says() { curl -s --max-time 2 "telnet://127.0.0.1:$1" </dev/null 2>/dev/null; }
for port in 8888 $(shuf -i 20000-40000 -n 5); do
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$ARGV[0]", Listen => 16) or exit 1;
		while (my $c = $s->accept) { print $c "I am the host\n"; close $c }' "$port" >/dev/null 2>&1 &
	host_pid=$!
	for _ in $(seq 30); do [ "$(host_says "$port")" = "I am the host" ] && break 2; kill -0 $host_pid 2>/dev/null || break; sleep 0.1; done
	kill $host_pid 2>/dev/null
done
trap 'kill $host_pid ${repo_pid:-} 2>/dev/null; rm -rf "$SCRATCH"' EXIT

# Each suite: nothing answers on the port at first (the host's listener is not in its namespace),
# then its own daemon on it answers with its name, still after a second while the other
# suite's does the same. The proxy refuses the host's listener too.
for me in a b; do
	cat >"$SCRATCH/suite/port-$me.yaml" <<YAML
name: port-$me
environment: {runner: sandbox, dist_name: debian, dist_version: 12, network: private}
checks:
  - launch:
      name: daemon on $port
      command: |
        ask() { perl -MIO::Socket::INET -e 'my \$c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 2) or exit 3; print scalar <\$c>'; }
        echo start \$(date +%s%N)
        before=\$(ask); echo "before: \$before"
        [ -z "\$before" ] || exit 1
        perl -MIO::Socket::INET -e 'my \$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port", Listen => 5) or die "listen: \$!\n"; alarm 30; while (my \$c = \$s->accept) { print \$c "I am $me\n"; close \$c }' &
        for i in 1 2 3 4 5 6 7 8 9 10; do [ -n "\$(ask)" ] && break; sleep 0.2; done
        first=\$(ask); sleep 1; second=\$(ask)
        echo "answers: \$first / \$second"
        echo end \$(date +%s%N)
        [ "\$first" = "I am $me" ] && [ "\$second" = "I am $me" ]
  - launch:
      name: the proxy refuses the host's port
      command: |
        proxy=\$(grep -o '127.0.0.1:[0-9]*' /etc/apt/apt.conf.d/99alts-proxy | head -n 1)
        perl -MIO::Socket::INET -e 'my \$c = IO::Socket::INET->new(\$ARGV[0]) or die "no proxy: \$!\n"; print \$c "GET http://127.0.0.1:$port/ HTTP/1.1\r\n\r\n"; print while <\$c>' "\$proxy"
      stdout: "HTTP/1.1 403 "
  - script: {path: proxy_probe.pl, args: ["$port"]}
YAML
done
cp "$ALTS_SOURCE_DIR/tests/tools/proxy_probe.pl" "$SCRATCH/suite/"
start=$(date +%s%N)
"$ALTS_RUN" -j 2 --artifacts "$SCRATCH/art-port" "$SCRATCH/suite/port-a.yaml" "$SCRATCH/suite/port-b.yaml" \
	>"$SCRATCH/port.out" 2>&1; status=$?
echo "# two suites with daemons on port $port in $(( ($(date +%s%N) - start) / 1000000 )) ms"
check "-j 2: both suites' daemons on 127.0.0.1:$port answer, each its own (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/port.out"
read -r a_start a_end b_start b_end <<<"$(for me in a b; do
	cat "$SCRATCH"/art-port/*port-$me*/logs/*.log 2>/dev/null | awk '/^start /{s=$2} /^end /{e=$2} END{printf "%s %s ", s, e}'
done)"
check "-j 2: the two daemons ran at the same time" \
	bash -c '[ -n "$4" ] && [ "$1" -lt "$4" ] && [ "$3" -lt "$2" ]' _ "${a_start:-0}" "${a_end:-0}" "${b_start:-0}" "${b_end:-}"
check "the proxy's refusal of the host's port is logged" grep -q "refused GET 127.0.0.1:$port" "$SCRATCH/port.out"
check "the host's listener still answers, untouched" test "$(host_says "$port")" = "I am the host"
probe_ok=$(cat "$SCRATCH"/art-port/*/logs/*.log 2>/dev/null | grep -c '^ok [0-9]* - ')
probe_bad=$(cat "$SCRATCH"/art-port/*/logs/*.log 2>/dev/null | grep -c '^not ok [0-9]* - ')
check "proxy probe: the ways around the allow-list were tried ($probe_ok refused)" test "$probe_ok" -ge 38
check "proxy probe: none got through ($probe_bad)" test "$probe_bad" -eq 0

# A suite with a repository on the network (here the host's loopback) gets network: private
# by default: apt-get installs a real package from the real Debian mirror (the image's own
# source) and the suite's package from its repository, through the proxy; other hosts are refused.
build_deb "$SCRATCH/repo" alts-hello 1.0
make_repo "$SCRATCH/repo"
python3 -u -m http.server --bind 127.0.0.1 --directory "$SCRATCH/repo" 0 >"$SCRATCH/http.log" 2>&1 &
repo_pid=$!
for _ in $(seq 50); do repo_port=$(grep -o 'port [0-9]*' "$SCRATCH/http.log" | grep -o '[0-9]*'); [ -n "$repo_port" ] && break; sleep 0.1; done
cat >"$SCRATCH/suite/mirror.yaml" <<YAML
name: mirror
environment: {runner: sandbox, dist_name: debian, dist_version: 12}
packages: [alts-hello]
repositories: ["deb [trusted=yes] http://127.0.0.1:$repo_port/ ./"]
checks:
  - install
  - launch: {command: [alts-hello], stdout: "^Hello from alts-hello$"}
  - launch:
      name: a real package from deb.debian.org
      command: "apt-get install -y hello && hello"
  - launch:
      name: other hosts are refused
      command: "echo 'deb http://example.org/debian bookworm main' >/tmp/x.list; apt-get -o Dir::Etc::sourcelist=/tmp/x.list -o Dir::Etc::sourceparts=- -o Acquire::Retries=0 update 2>&1 | grep example.org"
      stdout: "403 +not an allowed http repository"
YAML
start=$(date +%s%N)
"$ALTS_RUN" --artifacts "$SCRATCH/art-mirror" "$SCRATCH/suite/mirror.yaml" >"$SCRATCH/mirror.out" 2>&1; status=$?
echo "# apt-get update and install from deb.debian.org through the proxy in $(( ($(date +%s%N) - start) / 1000000 )) ms"
check "network repository: default private, real mirror and suite repository through the proxy (exit $status)" \
	test "$status" -eq 0
[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/mirror.out"
check "hello came from deb.debian.org" grep -rq "Get:[0-9]* http://deb.debian.org/debian bookworm/main amd64 hello" "$SCRATCH/art-mirror"
check "the refusal of example.org is logged" grep -q "refused GET example.org:80" "$SCRATCH/mirror.out"

# isolation: check restarts the sandbox from its snapshot for each check: each start gets a
# proxy of its own in the new network namespace, and apt's setting names it.
ask_proxy='p=$(grep -o "127.0.0.1:[0-9]*" /etc/apt/apt.conf.d/99alts-proxy | head -n 1); echo "proxy $p"; perl -MIO::Socket::INET -e '"'"'my $c = IO::Socket::INET->new($ARGV[0]) or die "no proxy at $ARGV[0]: $!\n"; print $c "GET http://example.org/ HTTP/1.1\r\n\r\n"; print while <$c>'"'"' "$p"'
cat >"$SCRATCH/suite/fresh.yaml" <<YAML
name: fresh
environment: {runner: sandbox, dist_name: debian, dist_version: 12, network: private}
isolation: check
checks:
  - launch:
      name: first
      command: |
        $ask_proxy
      stdout: "HTTP/1.1 403 "
  - launch:
      name: second
      command: |
        $ask_proxy
      stdout: "HTTP/1.1 403 "
YAML
"$ALTS_RUN" --artifacts "$SCRATCH/art-fresh" "$SCRATCH/suite/fresh.yaml" >"$SCRATCH/fresh.out" 2>&1; status=$?
check "isolation: check: the proxy answers in every fresh sandbox (exit $status)" test "$status" -eq 0
[ "$status" -eq 0 ] || sed 's/^/# /' "$SCRATCH/fresh.out"
check "nothing is left behind" no_leftovers
finish
