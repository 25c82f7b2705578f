# Sourced by integration tests: a private s3rver (@20minutes/s3rver, an S3 emulator that checks
# Signature V4; the original s3rver 3.x accepts any V4 signature) on loopback.
#   s3rver_start DIR [BUCKET] [loose]
#                              starts it with its data under DIR and BUCKET (default alts)
#                              created; sets S3RVER_PORT, S3RVER_URL (http://127.0.0.1:PORT),
#                              S3RVER_VHOST_URL (http://s3.localhost:PORT: virtual-host style
#                              gives <bucket>.s3.localhost, which curl resolves to loopback),
#                              S3RVER_KEY and S3RVER_SECRET (s3rver's fixed credentials)
#                              loose: accept any signature. s3rver signs virtual-host requests
#                              with the bucket in the canonical URI, unlike AWS (whose own
#                              example, checked in tests/unit/store_s3.c, has "/test.txt" for
#                              examplebucket.s3.amazonaws.com), so vhost tests need it.
#   s3rver_stop                stops it (data kept: s3rver_start DIR again restarts it on the
#                              same port)
# Needs node and `npm ci` in tests/js (skip otherwise: s3rver_available).

S3RVER_JS=${ALTS_SOURCE_DIR:?}/tests/js
S3RVER_KEY=S3RVER
S3RVER_SECRET=S3RVER

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

s3rver_available() { command -v node >/dev/null 2>&1 && [ -d "$S3RVER_JS/node_modules/@20minutes/s3rver" ]; }

s3rver_start() {
	local dir=$1 bucket=${2:-alts} loose=${3:-} i
	mkdir -p "$dir/data"
	[ -f "$dir/port" ] || free_port >"$dir/port"
	S3RVER_PORT=$(cat "$dir/port")
	S3RVER_URL=http://127.0.0.1:$S3RVER_PORT
	S3RVER_VHOST_URL=http://s3.localhost:$S3RVER_PORT
	S3RVER_DIR=$dir
	# --service-endpoint localhost: <bucket>.s3.localhost is virtual-host style for <bucket>.
	node "$S3RVER_JS/s3rver.mjs" "$dir/data" 127.0.0.1 "$S3RVER_PORT" localhost "$bucket" $loose >>"$dir/s3rver.out" 2>&1 &
	S3RVER_PID=$!
	for i in $(seq 1 "${S3RVER_START_TIMEOUT:-60}"); do
		if curl -s -o /dev/null "$S3RVER_URL/" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$S3RVER_PID" 2>/dev/null; then
			echo "s3rver exited; see $dir/s3rver.out" >&2
			tail -20 "$dir/s3rver.out" >&2
			S3RVER_PID=
			return 1
		fi
		sleep 0.25
	done
	echo "s3rver did not open port $S3RVER_PORT" >&2
	return 1
}

s3rver_stop() {
	[ -n "${S3RVER_PID:-}" ] || return 0
	kill "$S3RVER_PID" 2>/dev/null
	wait "$S3RVER_PID" 2>/dev/null
	S3RVER_PID=
}
