#!/usr/bin/env bash
# The artifact stores against real services on loopback: s3rver (@20minutes/s3rver, checks
# Signature V4) and Azurite (checks SharedKey), driven through store_tool with worker configs.
# Small and multipart/block uploads are read back with independent clients (curl --aws-sigv4;
# a SharedKey request signed in bash with openssl) and compared; wrong credentials give a
# clear error naming the service's code; a store that is down makes uploads spool, and a flush
# after it is back delivers them. Also: virtual-host style, ALTS's azureblockblob://<conn>
# form, several threads through one store, and the file backend.
ALTS_RUN=${ALTS_RUN:-/bin/true}
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/s3rver.sh"
source "$(dirname "$0")/lib/azurite.sh"
need_cmd curl node openssl cmp sha256sum
STORE_TOOL=${ALTS_BUILD_DIR:?}/store_tool
[ -x "$STORE_TOOL" ] || skip_test "needs:store_tool (build with ALTS_TESTS=ON)"
s3rver_available || skip_test "needs:s3rver (run npm ci in tests/js)"
azurite_available || skip_test "needs:azurite (run npm ci in tests/js)"
trap 's3rver_stop; azurite_stop; rm -rf "$SCRATCH"' EXIT
# Retries back off by milliseconds here, not seconds.
export ALTS_STORE_BACKOFF_MS=10

tool() { "$STORE_TOOL" "$@"; }
# fails CONFIG ARGS...: the command exits 3 (the store failed); its stderr is in $SCRATCH/err.
fails() {
	local rc=0
	tool "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
	[ "$rc" = 3 ]
}
has_err() { grep -q -- "$1" "$SCRATCH/err"; }
no_secret_in_err() { ! grep -q -F -- "$1" "$SCRATCH/err"; }
spool_count() { find "$1" -name '*.json' 2>/dev/null | wc -l; }

head -c 1000 /dev/urandom | base64 -w0 >"$SCRATCH/small.log"
head -c $((12 * 1024 * 1024 + 17)) /dev/urandom >"$SCRATCH/big.bin"
head -c $((512 * 1024)) /dev/urandom >"$SCRATCH/medium.bin"

# ---------------------------------------------------------------- S3
s3rver_start "$SCRATCH/s3" || { bad "s3rver starts"; finish; exit 1; }
ok "s3rver listens on $S3RVER_URL"
s3cfg() { # s3cfg FILE ENDPOINT STYLE SECRET [KEY_ID]
	cat >"$1" <<YAML
working_directory: $SCRATCH/wd
spool_directory: $SCRATCH/spool-s3
result_backend: s3
s3_access_key_id: ${5:-$S3RVER_KEY}
s3_secret_access_key: $4
s3_bucket: alts
s3_endpoint_url: $2
s3_addressing_style: $3
s3_base_path: base/
results_base_path: results/
upload_part_size: 5242880
upload_retries: 2
upload_timeout: 30s
YAML
}
s3cfg "$SCRATCH/s3.yaml" "$S3RVER_URL" path "$S3RVER_SECRET"
# s3get KEY: the object, read with curl's own SigV4 signer.
s3get() {
	curl -sf -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3RVER_KEY:$S3RVER_SECRET" "$S3RVER_URL/alts/$1"
}

check "s3: put a small file" tool "$SCRATCH/s3.yaml" put-file t1/logs/install.log "$SCRATCH/small.log"
check "s3: curl reads it back unchanged" cmp -s <(s3get base/t1/logs/install.log) "$SCRATCH/small.log"
check "s3: store_tool get reads it back" cmp -s <(tool "$SCRATCH/s3.yaml" get t1/logs/install.log) "$SCRATCH/small.log"
ct=$(curl -sfI -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --aws-sigv4 "aws:amz:us-east-1:s3" \
	--user "$S3RVER_KEY:$S3RVER_SECRET" "$S3RVER_URL/alts/base/t1/logs/install.log" | tr -d '\r' |
	awk -F': ' 'tolower($1) == "content-type" {print $2}')
check "s3: Content-Type from the key ($ct)" [ "$ct" = "text/plain; charset=utf-8" ]
check "s3: get with a limit reads the head only" \
	[ "$(tool "$SCRATCH/s3.yaml" get t1/logs/install.log 10 2>"$SCRATCH/err")" = "$(head -c 10 "$SCRATCH/small.log")" ]
check "s3: ... and says it was cut" has_err capped
check "s3: an empty object" tool "$SCRATCH/s3.yaml" put-bytes t1/empty.log ""
check "s3: ... reads back empty, also with a limit" \
	bash -c 'a=$("$0" "$1" get t1/empty.log) && b=$("$0" "$1" get t1/empty.log 5) && [ -z "$a$b" ]' "$STORE_TOOL" "$SCRATCH/s3.yaml"
check "s3: put bytes" tool "$SCRATCH/s3.yaml" put-bytes t1/report.tap "ok 1 - install"
check "s3: bytes read back" [ "$(s3get base/t1/report.tap)" = "ok 1 - install" ]
odd="t1/logs/a b+c~(1)=ü&\$'x.log"
check "s3: a key with spaces, reserved and non-ASCII characters round-trips" \
	bash -c 'k=$2; "$0" "$1" put-bytes "$k" "v" && [ "$("$0" "$1" get "$k")" = v ]' "$STORE_TOOL" "$SCRATCH/s3.yaml" "$odd"
check "s3: put a summary under results_base_path" tool "$SCRATCH/s3.yaml" put-summary t1 '{"state":"finished"}'
check "s3: summary read back" [ "$(s3get results/t1.json)" = '{"state":"finished"}' ]
check "s3: a 12 MiB file (multipart, 5 MiB parts)" tool "$SCRATCH/s3.yaml" put-file t1/big.bin "$SCRATCH/big.bin"
check "s3: multipart object read back unchanged" cmp -s <(s3get base/t1/big.bin) "$SCRATCH/big.bin"
check "s3: it went as a multipart upload (3 parts)" \
	[ "$(grep -c 'partNumber=[123]&uploadId=.* 200' "$SCRATCH/s3/s3rver.out")" = 3 ]
check "s3: url is s3://bucket/key" [ "$(tool "$SCRATCH/s3.yaml" url t1/big.bin)" = s3://alts/base/t1/big.bin ]
rc=0; tool "$SCRATCH/s3.yaml" get t1/absent.log 3 >/dev/null 2>"$SCRATCH/err" || rc=$?
check "s3: a missing object is not found (exit 4, NoSuchKey)" [ "$rc" = 4 ] && has_err NoSuchKey
check "s3: 8 threads upload through one store" tool "$SCRATCH/s3.yaml" parallel-put 8 par/obj- "$SCRATCH/medium.bin"
n=0
for i in 0 1 2 3 4 5 6 7; do cmp -s <(s3get "base/par/obj-$i") "$SCRATCH/medium.bin" && n=$((n + 1)); done
check "s3: all 8 objects read back unchanged ($n)" [ "$n" = 8 ]

s3cfg "$SCRATCH/s3-badsecret.yaml" "$S3RVER_URL" path "wrong-secret-$RANDOM"
check "s3: a wrong secret fails the upload" fails "$SCRATCH/s3-badsecret.yaml" put-bytes t1/x.tap x
check "s3: ... naming SignatureDoesNotMatch and the object" \
	has_err "s3 PUT 'base/t1/x.tap' in bucket 'alts' failed: HTTP 403 SignatureDoesNotMatch"
check "s3: ... without the secret" no_secret_in_err "wrong-secret-"
check "s3: a 4xx is not retried" [ "$(grep -c 'base/t1/x.tap 403' "$SCRATCH/s3/s3rver.out")" = 1 ]
s3cfg "$SCRATCH/s3-badkey.yaml" "$S3RVER_URL" path "$S3RVER_SECRET" AKIANOSUCHKEY
check "s3: an unknown access key fails with InvalidAccessKeyId" \
	fails "$SCRATCH/s3-badkey.yaml" put-bytes t1/x.tap x && has_err "HTTP 403 InvalidAccessKeyId"

# Spool: the store goes down, uploads wait in the spool, a flush delivers them once it is back.
s3rver_stop
check "s3 down: the upload is spooled" [ "$(tool "$SCRATCH/s3.yaml" spool-put-file t2/logs/late.log "$SCRATCH/small.log" 2>"$SCRATCH/err")" = spooled ]
check "s3 down: the error says why" has_err "s3 PUT 'base/t2/logs/late.log' in bucket 'alts' failed: .*onnect"
check "s3 down: one entry in the spool" [ "$(spool_count "$SCRATCH/spool-s3")" = 1 ]
check "s3 down: its metadata names the key and the attempts" \
	grep -q '"key":"t2/logs/late.log".*"attempts":2' "$SCRATCH"/spool-s3/*.json
check "s3 down: the spooled copy is the data" cmp -s "$SCRATCH"/spool-s3/*.data "$SCRATCH/small.log"
rc=0; out=$(tool "$SCRATCH/s3.yaml" flush-spool 2>/dev/null) || rc=$?
check "s3 down: a flush delivers nothing ($out)" [ "$rc" = 3 ] && [ "$out" = "delivered 0 remaining 1" ]
s3rver_start "$SCRATCH/s3" || bad "s3rver restarts"
check "s3 back: the flush delivers" [ "$(tool "$SCRATCH/s3.yaml" flush-spool)" = "delivered 1 remaining 0" ]
check "s3 back: the object is readable" cmp -s <(s3get base/t2/logs/late.log) "$SCRATCH/small.log"
check "s3 back: the spool is empty" [ "$(spool_count "$SCRATCH/spool-s3")" = 0 ]
check "s3 up: an upload is not spooled" [ "$(tool "$SCRATCH/s3.yaml" spool-put-file t2/now.log "$SCRATCH/small.log")" = uploaded ]

# Virtual-host style: <bucket>.s3.localhost. s3rver puts the bucket into the canonical URI of
# such requests, unlike AWS (see lib/s3rver.sh), so it runs loose here; the signature itself is
# checked against AWS's own virtual-host example in tests/unit/store_s3.c.
s3rver_stop
s3rver_start "$SCRATCH/s3" alts loose || bad "s3rver restarts (loose)"
s3cfg "$SCRATCH/s3-vhost.yaml" "$S3RVER_VHOST_URL" virtual "$S3RVER_SECRET"
check "s3 vhost: put a file" tool "$SCRATCH/s3-vhost.yaml" put-file t3/vhost.log "$SCRATCH/small.log"
# s3rver logs the request path less its first segment: "base/..." path-style, "t3/..." vhost.
check "s3 vhost: the request named the bucket in the host, not the path" grep -q ': t3/vhost.log 200' "$SCRATCH/s3/s3rver.out"
check "s3 vhost: the object is in bucket alts (read path-style)" cmp -s <(s3get base/t3/vhost.log) "$SCRATCH/small.log"
check "s3 vhost: multipart too" tool "$SCRATCH/s3-vhost.yaml" put-file t3/big.bin "$SCRATCH/big.bin"
check "s3 vhost: multipart object read back" cmp -s <(s3get base/t3/big.bin) "$SCRATCH/big.bin"
s3rver_stop

# ---------------------------------------------------------------- Azure
azurite_start "$SCRATCH/az" || { bad "azurite starts"; finish; exit 1; }
ok "azurite listens on $AZURITE_ENDPOINT"
azcfg() { # azcfg FILE CONNECTION_STRING [backend]
	cat >"$1" <<YAML
working_directory: $SCRATCH/wd
spool_directory: $SCRATCH/spool-az
result_backend: ${3:-azureblockblob}
azure_connection_string: "$2"
azureblockblob_container_name: alts-results
azure_logs_container: alts-logs
azureblockblob_base_path: tasks/
results_base_path: results/
upload_part_size: 5242880
upload_retries: 2
upload_timeout: 30s
YAML
}
azcfg "$SCRATCH/az.yaml" "$AZURITE_CONN"
check "azure: put a small file (creates the container)" tool "$SCRATCH/az.yaml" put-file t1/logs/install.log "$SCRATCH/small.log"
check "azure: a SharedKey GET signed in bash reads it back" cmp -s <(azurite_get alts-logs tasks/t1/logs/install.log) "$SCRATCH/small.log"
check "azure: store_tool get reads it back" cmp -s <(tool "$SCRATCH/az.yaml" get t1/logs/install.log) "$SCRATCH/small.log"
check "azure: get with a limit reads the head only" \
	[ "$(tool "$SCRATCH/az.yaml" get t1/logs/install.log 10 2>"$SCRATCH/err")" = "$(head -c 10 "$SCRATCH/small.log")" ]
check "azure: ... and says it was cut" has_err capped
check "azure: an empty blob" tool "$SCRATCH/az.yaml" put-bytes t1/empty.log ""
check "azure: ... reads back empty, also with a limit" \
	bash -c 'a=$("$0" "$1" get t1/empty.log) && b=$("$0" "$1" get t1/empty.log 5) && [ -z "$a$b" ]' "$STORE_TOOL" "$SCRATCH/az.yaml"
check "azure: put bytes" tool "$SCRATCH/az.yaml" put-bytes t1/report.tap "ok 1 - install"
check "azure: bytes read back" [ "$(azurite_get alts-logs tasks/t1/report.tap)" = "ok 1 - install" ]
check "azure: a key with spaces, reserved and non-ASCII characters round-trips" \
	bash -c 'k=$2; "$0" "$1" put-bytes "$k" "v" && [ "$("$0" "$1" get "$k")" = v ]' "$STORE_TOOL" "$SCRATCH/az.yaml" "$odd"
check "azure: a summary goes to the results container" tool "$SCRATCH/az.yaml" put-summary t1 '{"state":"finished"}'
check "azure: summary read back" [ "$(azurite_get alts-results results/t1.json)" = '{"state":"finished"}' ]
check "azure: a 12 MiB file (blocks of 5 MiB)" tool "$SCRATCH/az.yaml" put-file t1/big.bin "$SCRATCH/big.bin"
check "azure: block blob read back unchanged" cmp -s <(azurite_get alts-logs tasks/t1/big.bin) "$SCRATCH/big.bin"
check "azure: it went as 3 blocks and a block list" \
	[ "$(grep -c 'comp=block&blockid=.* 201' "$SCRATCH/az/azurite.out")" = 3 ] &&
	grep -q 'comp=blocklist.* 201' "$SCRATCH/az/azurite.out"
check "azure: url is the blob's https URL" \
	[ "$(tool "$SCRATCH/az.yaml" url t1/big.bin)" = "$AZURITE_ENDPOINT/alts-logs/tasks/t1/big.bin" ]
rc=0; tool "$SCRATCH/az.yaml" get t1/absent.log 3 >/dev/null 2>"$SCRATCH/err" || rc=$?
check "azure: a missing blob is not found (exit 4, BlobNotFound)" [ "$rc" = 4 ] && has_err BlobNotFound
check "azure: 8 threads upload through one store" tool "$SCRATCH/az.yaml" parallel-put 8 par/obj- "$SCRATCH/medium.bin"
n=0
for i in 0 1 2 3 4 5 6 7; do cmp -s <(azurite_get alts-logs "tasks/par/obj-$i") "$SCRATCH/medium.bin" && n=$((n + 1)); done
check "azure: all 8 blobs read back unchanged ($n)" [ "$n" = 8 ]
# ALTS's form: result_backend: azureblockblob://<connection string>
grep -v azure_connection_string "$SCRATCH/az.yaml" | sed "s|^result_backend: .*|result_backend: \"azureblockblob://$AZURITE_CONN\"|" >"$SCRATCH/az-alts.yaml"
check "azure: azureblockblob://<connection string> works" tool "$SCRATCH/az-alts.yaml" put-bytes t1/alts.tap "alts form"
check "azure: ... and the blob is there" [ "$(azurite_get alts-logs tasks/t1/alts.tap)" = "alts form" ]

wrongkey=$(head -c 64 /dev/urandom | base64 -w0)
azcfg "$SCRATCH/az-badkey.yaml" "${AZURITE_CONN/AccountKey=$AZURITE_KEY/AccountKey=$wrongkey}"
check "azure: a wrong key fails the upload" fails "$SCRATCH/az-badkey.yaml" put-bytes t1/x.tap x
# Azure answers AuthenticationFailed; Azurite says AuthorizationFailure for the same thing.
check "azure: ... naming the blob and the service's code" \
	has_err "azure Put Blob 'tasks/t1/x.tap' in container 'alts-logs' failed: HTTP 403 \(AuthenticationFailed\|AuthorizationFailure\): Server failed to authenticate"
check "azure: ... without the key" no_secret_in_err "$wrongkey"
azcfg "$SCRATCH/az-badconn.yaml" "AccountName=x;AccountKey=$AZURITE_KEY;BlobEndpoint=127.0.0.1"
rc=0; tool "$SCRATCH/az-badconn.yaml" put-bytes t/x x 2>"$SCRATCH/err" || rc=$?
check "azure: a bad connection string is refused clearly (exit 2)" [ "$rc" = 2 ] && has_err "BlobEndpoint '127.0.0.1' must start with http"
check "azure: ... without the key" no_secret_in_err "$AZURITE_KEY"

azurite_stop
check "azure down: the upload is spooled" [ "$(tool "$SCRATCH/az.yaml" spool-put-file t2/logs/late.log "$SCRATCH/small.log" 2>/dev/null)" = spooled ]
check "azure down: one entry in the spool" [ "$(spool_count "$SCRATCH/spool-az")" = 1 ]
azurite_start "$SCRATCH/az" || bad "azurite restarts"
check "azure back: the flush delivers" [ "$(tool "$SCRATCH/az.yaml" flush-spool)" = "delivered 1 remaining 0" ]
check "azure back: the blob is readable" cmp -s <(azurite_get alts-logs tasks/t2/logs/late.log) "$SCRATCH/small.log"
check "azure back: the spool is empty" [ "$(spool_count "$SCRATCH/spool-az")" = 0 ]
azurite_stop

# ---------------------------------------------------------------- file
cat >"$SCRATCH/file.yaml" <<YAML
working_directory: $SCRATCH/wd
result_backend: file
file_store_directory: $SCRATCH/files
YAML
check "file: put a file" tool "$SCRATCH/file.yaml" put-file t1/big.bin "$SCRATCH/big.bin"
check "file: stored under the directory" cmp -s "$SCRATCH/files/t1/big.bin" "$SCRATCH/big.bin"
check "file: url is file://" [ "$(tool "$SCRATCH/file.yaml" url t1/big.bin)" = "file://$SCRATCH/files/t1/big.bin" ]
check "file: no temporary files left" [ -z "$(find "$SCRATCH/files" -name '*.tmp.*')" ]
check "file: gzip a log" tool "$SCRATCH/file.yaml" gzip "$SCRATCH/small.log" "$SCRATCH/small.log.gz"
check "file: gunzip gives it back" cmp -s <(gzip -dc "$SCRATCH/small.log.gz") "$SCRATCH/small.log"

finish
