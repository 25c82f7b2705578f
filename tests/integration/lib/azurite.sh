# Sourced by integration tests: a private Azurite (Azure Storage emulator; blob service only,
# SharedKey checked) on loopback.
#   azurite_start DIR   starts it with its data under DIR; sets AZURITE_PORT, AZURITE_ACCOUNT,
#                       AZURITE_KEY (a fresh random account key, kept in DIR across restarts),
#                       AZURITE_ENDPOINT (http://127.0.0.1:PORT/ACCOUNT) and AZURITE_CONN
#                       (a connection string for them)
#   azurite_stop        stops it (data kept: azurite_start DIR again restarts it on the same
#                       port with the same account)
# Needs node and `npm ci` in tests/js (skip otherwise: azurite_available).

AZURITE_BIN=${AZURITE_BIN:-${ALTS_SOURCE_DIR:?}/tests/js/node_modules/.bin/azurite-blob}

declare -F free_port >/dev/null || free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

azurite_available() { command -v node >/dev/null 2>&1 && [ -x "$AZURITE_BIN" ]; }

azurite_start() {
	local dir=$1 i
	mkdir -p "$dir/data"
	[ -f "$dir/port" ] || free_port >"$dir/port"
	[ -f "$dir/key" ] || head -c 64 /dev/urandom | base64 -w0 >"$dir/key"
	AZURITE_PORT=$(cat "$dir/port")
	AZURITE_ACCOUNT=altstest
	AZURITE_KEY=$(cat "$dir/key")
	AZURITE_ENDPOINT=http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT
	AZURITE_CONN="DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=$AZURITE_ENDPOINT;"
	AZURITE_DIR=$dir
	AZURITE_ACCOUNTS="$AZURITE_ACCOUNT:$AZURITE_KEY" node "$AZURITE_BIN" --blobHost 127.0.0.1 \
		--blobPort "$AZURITE_PORT" --location "$dir/data" --skipApiVersionCheck --loose \
		--disableTelemetry --debug "$dir/debug.log" >>"$dir/azurite.out" 2>&1 &
	AZURITE_PID=$!
	for i in $(seq 1 "${AZURITE_START_TIMEOUT:-60}"); do
		if curl -s -o /dev/null "http://127.0.0.1:$AZURITE_PORT/" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$AZURITE_PID" 2>/dev/null; then
			echo "azurite exited; see $dir/azurite.out" >&2
			tail -20 "$dir/azurite.out" >&2
			AZURITE_PID=
			return 1
		fi
		sleep 0.25
	done
	echo "azurite did not open port $AZURITE_PORT" >&2
	return 1
}

azurite_stop() {
	[ -n "${AZURITE_PID:-}" ] || return 0
	kill "$AZURITE_PID" 2>/dev/null
	wait "$AZURITE_PID" 2>/dev/null
	AZURITE_PID=
}

# azurite_get CONTAINER BLOB: prints the blob, fetched with a SharedKey request signed here in
# bash with openssl (independent of the C signer). Fails on an HTTP error.
azurite_get() {
	local container=$1 blob=$2 date sts sig hexkey
	date=$(LC_ALL=C TZ=GMT date '+%a, %d %b %Y %H:%M:%S GMT')
	sts=$(printf 'GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:2021-08-06\n/%s/%s/%s/%s' \
		"$date" "$AZURITE_ACCOUNT" "$AZURITE_ACCOUNT" "$container" "$blob")
	hexkey=$(base64 -d <<<"$AZURITE_KEY" | od -An -vtx1 | tr -d ' \n')
	sig=$(printf '%s' "$sts" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64 -w0)
	curl -sf -H "x-ms-date: $date" -H "x-ms-version: 2021-08-06" \
		-H "Authorization: SharedKey $AZURITE_ACCOUNT:$sig" "$AZURITE_ENDPOINT/$container/$blob"
}
