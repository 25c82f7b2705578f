/*
 * Unit tests for the stores' HTTP layer (retries, error messages) against
 * a real HTTP server: a thread in this test that answers each connection
 * with the next scripted response and records what it was sent.
 */
#include "helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "framework/sbuf.h"
#include "reporters/stores/artifact_store.h"
#include "reporters/stores/store_util.h"
#include "store_helpers.h"

#define MAX_SCRIPT 8

struct script_server {
	int fd;
	int port;
	const char *responses[MAX_SCRIPT];  /* full HTTP responses, in order */
	int n;
	int served;
	struct sbuf requests;  /* each request's head, separated by "\n--\n" */
	pthread_t thread;
};

/* Reads one request: its head, then Content-Length bytes of body. */
static void read_request(int c, struct sbuf *head)
{
	char buf[65536];
	size_t have = 0, want = 0;
	char *end = NULL;

	for (;;) {
		ssize_t n = read(c, buf + have, sizeof(buf) - 1 - have);

		if (n <= 0)
			return;
		have += (size_t)n;
		buf[have] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");

			want = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
			sbuf_add(head, buf, (size_t)(end - buf));
			sbuf_adds(head, "\n--\n");
		}
		if (end && have >= want)
			return;
		if (have >= sizeof(buf) - 1) {
			/* A body bigger than buf: drop what we have, keep counting. */
			want -= have;
			have = 0;
			end = buf;
		}
	}
}

static void *serve(void *arg)
{
	struct script_server *s = arg;

	for (s->served = 0; s->served < s->n; s->served++) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		read_request(c, &s->requests);
		if (write(c, s->responses[s->served], strlen(s->responses[s->served])) < 0)
			perror("write");
		close(c);
	}
	return NULL;
}

static void server_start(struct script_server *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	s->requests = (struct sbuf)SBUF_INIT;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct script_server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static struct artifact_store *open_s3_at(int port, long retries)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *st = NULL;
	char url[64];
	struct artifact_store_config cfg = { .backend = "s3", .retries = retries, .timeout = 10 };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	cfg.confs = STORE_CONFS("s3_bucket", "b", "s3_access_key_id", "AKID", "s3_secret_access_key", "very-secret",
				"s3_endpoint_url", url);
	assert_ok_err(artifact_store_open(&st, &cfg, &err), &err);
	return st;
}

#define OK_200 "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
#define BUSY_503 "HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
#define MANY_429 "HTTP/1.1 429 Too Many\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
#define DENIED_403                                                                                    \
	"HTTP/1.1 403 Forbidden\r\nx-amz-request-id: R42\r\nContent-Type: application/xml\r\n"        \
	"Content-Length: 110\r\nConnection: close\r\n\r\n"                                            \
	"<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>Check your key</Message>" \
	"</Error>       "

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_store_http__retries_5xx_and_429(void **state)
{
	struct script_server srv = { .responses = { BUSY_503, MANY_429, OK_200 }, .n = 3 };
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *st;

	ALTS_UNUSED(state);
	setenv("ALTS_STORE_BACKOFF_MS", "1", 1);
	server_start(&srv);
	st = open_s3_at(srv.port, 3);
	assert_ok_err(artifact_store_put_bytes(st, "t/report.tap", "ok 1\n", 5, NULL, &err), &err);
	artifact_store_free(st);
	server_stop(&srv);
	sbuf_release(&srv.requests);
	assert_int_equal(srv.served, 3);
}

static void test_store_http__gives_up_after_retries(void **state)
{
	struct script_server srv = { .responses = { BUSY_503, BUSY_503 }, .n = 2 };
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *st;

	ALTS_UNUSED(state);
	setenv("ALTS_STORE_BACKOFF_MS", "1", 1);
	server_start(&srv);
	st = open_s3_at(srv.port, 2);
	assert_int_equal(artifact_store_put_bytes(st, "t/x.log", "x", 1, NULL, &err), ALTS_EENV);
	assert_non_null(strstr(err.msg, "s3 PUT 't/x.log' in bucket 'b' failed: HTTP 503"));
	artifact_store_free(st);
	server_stop(&srv);
	sbuf_release(&srv.requests);
	assert_int_equal(srv.served, 2);
}

static void test_store_http__4xx_fails_at_once_with_code(void **state)
{
	struct script_server srv = { .responses = { DENIED_403 }, .n = 1 };
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *st;

	ALTS_UNUSED(state);
	server_start(&srv);
	st = open_s3_at(srv.port, 5);
	assert_int_equal(artifact_store_put_bytes(st, "t/x.json", "{}", 2, NULL, &err), ALTS_EENV);
	assert_string_equal(err.msg, "s3 PUT 't/x.json' in bucket 'b' failed: HTTP 403 SignatureDoesNotMatch: "
				     "Check your key (request id R42)");
	artifact_store_free(st);
	server_stop(&srv);
	assert_int_equal(srv.served, 1);
	/* What was sent: signed, with the payload hash, MD5 and the content type from the key. */
	assert_non_null(strstr(srv.requests.buf, "PUT /b/t/x.json HTTP/1.1"));
	assert_non_null(strstr(srv.requests.buf, "authorization: AWS4-HMAC-SHA256 Credential=AKID/"));
	assert_non_null(strstr(srv.requests.buf, "SignedHeaders=content-md5;content-type;host;x-amz-content-sha256;x-amz-date"));
	assert_non_null(strstr(srv.requests.buf, "x-amz-content-sha256: 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"));
	assert_non_null(strstr(srv.requests.buf, "content-md5: mZFLkyvTelC5g8XnyQrpOw=="));
	assert_non_null(strstr(srv.requests.buf, "content-type: application/json"));
	assert_null(strstr(srv.requests.buf, "very-secret"));
	sbuf_release(&srv.requests);
}

static void test_store_http__multipart_aborts_on_failure(void **state)
{
	static const char created[] =
		"HTTP/1.1 200 OK\r\nContent-Length: 98\r\nConnection: close\r\n\r\n"
		"<InitiateMultipartUploadResult><UploadId>up/1+=</UploadId></InitiateMultipartUploadResult>        ";
	struct script_server srv = { .responses = { created, OK_200, DENIED_403, OK_200 }, .n = 4 };
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *st;
	size_t len = (5u << 20) + (5u << 20) + 10;
	char *data = alts_calloc(1, len);

	ALTS_UNUSED(state);
	assert_non_null(data);
	server_start(&srv);
	st = open_s3_at(srv.port, 1);
	assert_int_equal(artifact_store_put_bytes(st, "t/big.bin", data, len, NULL, &err), ALTS_EENV);
	assert_non_null(strstr(err.msg, "UploadPart 't/big.bin'"));
	artifact_store_free(st);
	server_stop(&srv);
	assert_int_equal(srv.served, 4);
	assert_non_null(strstr(srv.requests.buf, "POST /b/t/big.bin?uploads= HTTP/1.1"));
	/* The upload id is URL-encoded in queries. */
	assert_non_null(strstr(srv.requests.buf, "PUT /b/t/big.bin?partNumber=1&uploadId=up%2F1%2B%3D HTTP/1.1"));
	assert_non_null(strstr(srv.requests.buf, "PUT /b/t/big.bin?partNumber=2&uploadId=up%2F1%2B%3D HTTP/1.1"));
	assert_non_null(strstr(srv.requests.buf, "DELETE /b/t/big.bin?uploadId=up%2F1%2B%3D HTTP/1.1"));
	assert_int_equal(count(srv.requests.buf, "\n--\n"), 4);
	sbuf_release(&srv.requests);
	alts_free(data);
}

static void test_store_http__get_with_limit(void **state)
{
	static const char body200[] = "HTTP/1.1 200 OK\r\nContent-Length: 26\r\nConnection: close\r\n\r\n"
				      "abcdefghijklmnopqrstuvwxyz";
	struct script_server srv = { .responses = { body200, DENIED_403 }, .n = 2 };
	struct alts_err err = ALTS_ERR_INIT;
	struct sbuf got = SBUF_INIT;
	struct artifact_store *st;

	ALTS_UNUSED(state);
	server_start(&srv);
	st = open_s3_at(srv.port, 3);
	/* Longer than the limit: cut, marked, and not a failure to retry. */
	assert_ok_err(artifact_store_get(st, "t/x.log", &got, 3, &err), &err);
	assert_string_equal(got.buf, "abc");
	assert_true(got.capped);
	/* A small limit does not cut the service's error code off. */
	assert_int_equal(artifact_store_get(st, "t/x.log", &got, 3, &err), ALTS_EENV);
	assert_non_null(strstr(err.msg, "s3 GET 't/x.log' in bucket 'b' failed: HTTP 403 SignatureDoesNotMatch"));
	artifact_store_free(st);
	server_stop(&srv);
	assert_int_equal(srv.served, 2);
	sbuf_release(&got);
	sbuf_release(&srv.requests);
}

/* A file is streamed, not loaded; a retry reads it again from the start. */
static void test_store_http__file_streamed_and_resent(void **state)
{
	struct script_server srv = { .responses = { BUSY_503, OK_200 }, .n = 2 };
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *st;
	struct sbuf data = SBUF_INIT, want = SBUF_INIT;
	char hash[65], path[4200];
	const char *dir = test_sandbox_init();
	FILE *f;

	ALTS_UNUSED(state);
	setenv("ALTS_STORE_BACKOFF_MS", "1", 1);
	for (int i = 0; i < 20000; i++)
		sbuf_addf(&data, "line %05d\n", i);
	snprintf(path, sizeof(path), "%s/big.log", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data.buf, 1, data.len, f), data.len);
	fclose(f);
	store_sha256_hex(hash, data.buf, data.len);
	server_start(&srv);
	st = open_s3_at(srv.port, 2);
	assert_ok_err(artifact_store_put_file(st, "t/big.log", path, NULL, &err), &err);
	artifact_store_free(st);
	server_stop(&srv);
	assert_int_equal(srv.served, 2);
	sbuf_addf(&want, "x-amz-content-sha256: %s", hash);
	assert_int_equal(count(srv.requests.buf, want.buf), 2);
	sbuf_reset(&want);
	sbuf_addf(&want, "Content-Length: %zu", data.len);
	assert_int_equal(count(srv.requests.buf, want.buf), 2);
	sbuf_release(&want);
	sbuf_release(&data);
	sbuf_release(&srv.requests);
	test_sandbox_cleanup();
}

#define PULP_HREF "/pulp/api/v3/artifacts/0b7c1c3e-0000-4000-8000-000000000001/"
#define PULP_201                                                                                     \
	"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 88\r\n"            \
	"Connection: close\r\n\r\n{\"pulp_href\": \"" PULP_HREF "\", \"size\": 5}"
#define PULP_EXISTS                                                                                  \
	"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 59\r\n"        \
	"Connection: close\r\n\r\n{\"non_field_errors\": [\"Artifact with ... already exists.\"]}"
#define PULP_LIST                                                                                    \
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104\r\n"                \
	"Connection: close\r\n\r\n{\"count\": 1, \"results\": [{\"pulp_href\": \"" PULP_HREF "\"}]}"

static struct artifact_store *open_pulp_at(int port, const char *dir)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *st = NULL;
	char url[64];
	struct artifact_store_config cfg = { .backend = "pulp", .retries = 2, .timeout = 10, .work_dir = dir };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	cfg.confs = STORE_CONFS("pulp_host", url, "pulp_user", "alts", "pulp_password", "pw");
	assert_ok_err(artifact_store_open(&st, &cfg, &err), &err);
	return st;
}

/* Pulp: a multipart POST with basic auth, retried after a 503; the href is the answer's pulp_href. */
static void test_store_http__pulp_multipart_with_basic_auth(void **state)
{
	struct script_server srv = { .responses = { BUSY_503, PULP_201 }, .n = 2 };
	struct alts_err err = ALTS_ERR_INIT;
	const char *dir = test_sandbox_init();
	struct artifact_store *st;
	char *url = NULL;

	ALTS_UNUSED(state);
	setenv("ALTS_STORE_BACKOFF_MS", "1", 1);
	server_start(&srv);
	st = open_pulp_at(srv.port, dir);
	assert_ok_err(artifact_store_put_bytes(st, "t/logs/a.log", "hello", 5, NULL, &err), &err);
	assert_ok_err(artifact_store_url(st, "t/logs/a.log", &url, &err), &err);
	assert_string_equal(url, PULP_HREF);
	alts_free(url);
	artifact_store_free(st);
	server_stop(&srv);
	assert_int_equal(srv.served, 2);
	assert_int_equal(count(srv.requests.buf, "POST /pulp/api/v3/artifacts/ HTTP/1.1"), 2);
	/* base64("alts:pw") */
	assert_int_equal(count(srv.requests.buf, "authorization: Basic YWx0czpwdw=="), 2);
	assert_int_equal(count(srv.requests.buf, "Content-Type: multipart/form-data; boundary="), 2);
	sbuf_release(&srv.requests);
	test_sandbox_cleanup();
}

/* Pulp already has the bytes: 400 "already exists", then the artifact is found by its sha256. */
static void test_store_http__pulp_existing_artifact(void **state)
{
	struct script_server srv = { .responses = { PULP_EXISTS, PULP_LIST }, .n = 2 };
	struct alts_err err = ALTS_ERR_INIT;
	const char *dir = test_sandbox_init();
	struct artifact_store *st;
	char hash[65], *url = NULL;
	struct sbuf want = SBUF_INIT;

	ALTS_UNUSED(state);
	server_start(&srv);
	st = open_pulp_at(srv.port, dir);
	assert_ok_err(artifact_store_put_bytes(st, "t/b.log", "hello", 5, NULL, &err), &err);
	assert_ok_err(artifact_store_url(st, "t/b.log", &url, &err), &err);
	assert_string_equal(url, PULP_HREF);
	alts_free(url);
	artifact_store_free(st);
	server_stop(&srv);
	store_sha256_hex(hash, "hello", 5);
	sbuf_addf(&want, "GET /pulp/api/v3/artifacts/?sha256=%s HTTP/1.1", hash);
	assert_int_equal(count(srv.requests.buf, want.buf), 1);
	sbuf_release(&want);
	sbuf_release(&srv.requests);
	test_sandbox_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_http__retries_5xx_and_429),
		cmocka_unit_test(test_store_http__gives_up_after_retries),
		cmocka_unit_test(test_store_http__4xx_fails_at_once_with_code),
		cmocka_unit_test(test_store_http__multipart_aborts_on_failure),
		cmocka_unit_test(test_store_http__get_with_limit),
		cmocka_unit_test(test_store_http__file_streamed_and_resent),
		cmocka_unit_test(test_store_http__pulp_multipart_with_basic_auth),
		cmocka_unit_test(test_store_http__pulp_existing_artifact),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	store_test_confs_free();
	return failed;
}
