#!/usr/bin/env bash
# AMQPS: the scheduler and a worker talk to a rabbitmq-server that only accepts TLS clients
# with a certificate from its CA (use_ssl, rabbitmq_ssl_port, rabbitmq_ssl_cacert/cert/key).
# A task goes the whole way over TLS; a wrong CA or a missing client certificate is refused.
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/scheduler.sh"
source "$(dirname "$0")/lib/rabbitmq.sh"
source "$(dirname "$0")/lib/worker.sh"
need_cmd curl jq openssl
[ -x "$RABBITMQ_BIN/rabbitmq-server" ] || skip_test "needs:rabbitmq-server (not installed)"
TOKEN_BIN=${ALTS_TOKEN_BIN:-$ALTS_BUILD_DIR/alts-token}
cleanup() {
	worker_stop
	sched_stop
	rabbitmq_stop
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

# A CA, a server certificate for localhost/127.0.0.1 and a client certificate; a second CA
# that signed nothing here.
pki=$SCRATCH/pki
mkdir -p "$pki"
(
	cd "$pki" || exit 1
	for ca in ca other-ca; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=alts test $ca" \
			-keyout "$ca.key" -out "$ca.pem" 2>/dev/null || exit 1
	done
	printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth\n' >server.ext
	printf 'extendedKeyUsage = clientAuth\n' >client.ext
	for who in server client; do
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$who" -keyout "$who.key" -out "$who.csr" 2>/dev/null &&
			openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
				-extfile "$who.ext" -out "$who.pem" 2>/dev/null || exit 1
	done
) || { bad "test certificates made with openssl"; finish; exit 1; }
ok "test CA, server and client certificates made with openssl"

RABBITMQ_TLS_DIR=$pki rabbitmq_start "$SCRATCH/rmq" || { bad "rabbitmq-server starts with TLS"; finish; exit 1; }
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$RABBITMQ_TEST_TLS_PORT") 2>/dev/null && break; sleep 0.2; done
check "the broker listens for AMQPS on $RABBITMQ_TEST_TLS_PORT" bash -c "exec 3<>/dev/tcp/127.0.0.1/$RABBITMQ_TEST_TLS_PORT"

tls_yaml() {
	printf '%s\n' "use_ssl: true" "rabbitmq_host: localhost" "rabbitmq_ssl_port: $RABBITMQ_TEST_TLS_PORT" \
		"rabbitmq_port: 1" "rabbitmq_ssl_cacert: $1" "rabbitmq_ssl_cert: $pki/client.pem" \
		"rabbitmq_ssl_key: $pki/client.key"
}
# rabbitmq_port 1: nothing listens there, so a task that arrives came over TLS.
worker_config "$SCRATCH/tls.yaml" "$(tls_yaml "$pki/ca.pem")"
sched_start "$SCRATCH/tls.yaml" || { bad "scheduler starts"; finish; exit 1; }
AUTH="Authorization: Bearer $("$TOKEN_BIN" -s worker-test-secret -e tls@example.com)"
worker_start "$SCRATCH/tls.yaml" || { bad "worker connects over TLS"; cat "$WORKER_LOG"; finish; exit 1; }
ok "the worker connects over TLS with a client certificate"
id=$(submit_suite '{"name":"tls","environment":{"runner":"local"},"checks":[{"launch":{"name":"hi","command":"echo over tls"}}]}')
r=$(wait_result "$id" 60)
check "a task queued, run and reported over AMQPS: finished" [ "$(jq -r '.state + " " + (.result.success|tostring)' <<<"$r")" = "finished true" ]
check "the scheduler's outbox and results consumer use TLS too (task published and reported)" \
	[ "$(curl -s -H "$AUTH" "$SCHED_URL/tasks/$id" | jq -r .published)" = true ]
worker_stop

# A CA that did not sign the broker's certificate: refused, said in the log, retried.
worker_config "$SCRATCH/wrong-ca.yaml" "$(tls_yaml "$pki/other-ca.pem")"
"$ALTS_WORKER" -c "$SCRATCH/wrong-ca.yaml" --log-level debug 2>"$SCRATCH/wrong-ca.log" &
pid=$!
sleep 4
check "with the wrong CA the worker does not connect" bash -c "! grep -q 'event=consumer.connected' '$SCRATCH/wrong-ca.log'"
check "... it says it cannot connect ($(grep -m1 -io 'cannot connect[^"]*' "$SCRATCH/wrong-ca.log" | head -c 120))" grep -qi "cannot connect" "$SCRATCH/wrong-ca.log"
check "... and keeps retrying (still running)" proc_alive "$pid"
kill -TERM "$pid"; wait "$pid" 2>/dev/null

# No client certificate: the broker refuses the handshake.
worker_config "$SCRATCH/no-cert.yaml" "$(tls_yaml "$pki/ca.pem" | grep -v 'rabbitmq_ssl_cert\|rabbitmq_ssl_key')"
"$ALTS_WORKER" -c "$SCRATCH/no-cert.yaml" --log-level debug 2>"$SCRATCH/no-cert.log" &
pid=$!
sleep 4
check "without a client certificate the broker refuses the worker" bash -c "! grep -q 'event=consumer.connected' '$SCRATCH/no-cert.log'"
kill -TERM "$pid"; wait "$pid" 2>/dev/null

finish
