#!/usr/bin/perl
# Attacks on the `network: private` proxy from inside a sandbox (TAP). Argument: a port of the
# host's loopback where a listener answers "I am the host". Every way around the allow-list must
# get a 4xx/5xx from the proxy and never the host's answer; a flood of idle connections must not
# take the proxy down. Run by tests/integration/t_sandbox_network.sh.
use strict;
use warnings;
use IO::Socket::INET;

my $port = shift or die "usage: proxy_probe.pl HOST-PORT\n";
open(my $conf, '<', '/etc/apt/apt.conf.d/99alts-proxy') or die "no proxy settings: $!\n";
my ($proxy) = join('', <$conf>) =~ /(127\.0\.0\.1:\d+)/ or die "no proxy address\n";
my @attempts = (
	[ 'CONNECT to the host port', "CONNECT 127.0.0.1:$port HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n\r\n" ],
	[ 'origin-form with a Host header', "GET / HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n\r\n" ],
	[ 'localhost by name', "GET http://localhost:$port/ HTTP/1.1\r\n\r\n" ],
	[ '::1', "GET http://[::1]:$port/ HTTP/1.1\r\n\r\n" ],
	[ '127.0.0.1 as a number', "GET http://2130706433:$port/ HTTP/1.1\r\n\r\n" ],
	[ '127.1 shorthand', "GET http://127.1:$port/ HTTP/1.1\r\n\r\n" ],
	[ 'the cloud metadata address', "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n" ],
	[ 'IPv6 link-local', "GET http://[fe80::1]:$port/ HTTP/1.1\r\n\r\n" ],
	[ 'userinfo before the host', "GET http://x\@127.0.0.1:$port/ HTTP/1.1\r\n\r\n" ],
	[ 'https scheme in a GET', "GET https://127.0.0.1:$port/ HTTP/1.1\r\n\r\n" ],
	[ 'POST with a body', "POST http://127.0.0.1:$port/ HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" ],
	[ 'chunked smuggling', "GET http://127.0.0.1:$port/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" ],
	[ 'a second request pipelined', "GET http://example.invalid/ HTTP/1.1\r\n\r\nGET http://127.0.0.1:$port/ HTTP/1.1\r\n\r\n" ],
	[ 'bare LF line ends', "GET http://127.0.0.1:$port/ HTTP/1.1\nHost: x\r\n\r\n" ],
	[ 'a 64 KiB head (or a reset)', "GET http://127.0.0.1:$port/ HTTP/1.1\r\n" . ("X-Pad: " . ('a' x 1000) . "\r\n") x 64 . "\r\n" ],
	[ 'HTTP/0.9', "GET http://127.0.0.1:$port/\r\n\r\n" ],
);
my $n = @attempts + 3;
print "1..$n\n";
my $i = 0;

sub ask {
	my ($req) = @_;
	my $c = IO::Socket::INET->new(PeerAddr => $proxy, Timeout => 5) or return "no connection: $!";
	$c->autoflush(1);
	local $SIG{PIPE} = 'IGNORE';
	print $c $req;
	my $all = '';
	eval {
		local $SIG{ALRM} = sub { die "timeout\n" };
		alarm 20;
		while (my $line = <$c>) { $all .= $line; }
		alarm 0;
	};
	close $c;
	return $all;
}

for my $a (@attempts) {
	my ($name, $req) = @$a;
	my $got = ask($req);
	my ($status) = $got =~ m{^HTTP/1\.1 (\d{3})};
	# the proxy answers 431 and closes on the unread rest: a reset may eat the answer
	my $ok = $got !~ /I am the host/ && ((defined $status && $status >= 400) || ($name =~ /reset/ && $got !~ /HTTP/));
	$i++;
	print(($ok ? "ok" : "not ok") . " $i - refused: $name (" . ($status // 'no status') . ")\n");
	print "# got: " . substr($got, 0, 200) =~ s/\n/\n# /gr . "\n" unless $ok;
}

# Many idle connections: the proxy refuses the ones over its table (503), and serves again after.
my @idle;
for (1 .. 48) {
	my $c = IO::Socket::INET->new(PeerAddr => $proxy, Timeout => 5) or last;
	push @idle, $c;
}
my $over = $idle[-1];
my $busy = '';
eval {
	local $SIG{ALRM} = sub { die "timeout\n" };
	alarm 5;
	$busy = <$over> // '';
	alarm 0;
};
$i++;
print(($busy =~ m{^HTTP/1\.1 503} ? "ok" : "not ok") . " $i - connections over the proxy's table get 503 ($busy)\n");
close $_ for @idle;
select(undef, undef, undef, 0.3);
my $after = ask("GET http://127.0.0.1:$port/ HTTP/1.1\r\n\r\n");
$i++;
print(($after =~ m{^HTTP/1\.1 403} ? "ok" : "not ok") . " $i - the proxy still answers after the flood\n");
# The host's listener is not in the sandbox's network namespace at all.
# (the sandbox's own daemon of an earlier check may still answer there: it is not the host's)
my $direct = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 2);
my $said = $direct ? (<$direct> // '') : '';
$i++;
print(($said !~ /I am the host/ ? "ok" : "not ok") . " $i - the host's port is not reachable directly\n");
