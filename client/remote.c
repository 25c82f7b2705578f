#include "framework/common.h"
#include "framework/exitcode.h"
#include "framework/fs.h"
#include "framework/proc.h"
#include "framework/sbuf.h"
#include "client/remote.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sys/random.h>
#include <time.h>

#define REMOTE_BODY_MAX ((size_t)256 << 20)   /* reports and logs */
#define REMOTE_JSON_MAX ((size_t)16 << 20)    /* task states */
#define REMOTE_ID_MAX 128
#define REMOTE_POLL_RETRIES 5                 /* failed polls in a row before giving up */

struct remote {
	const struct remote_opts *o;
	CURL *h;
	struct curl_slist *headers;
	char base[2048];          /* url without trailing slashes */
	char id[REMOTE_ID_MAX + 1];
	double t0;
	long log_offset;
	bool log_offered;
	bool line_open;           /* a \r progress line is on screen */
	char last_line[256];
};

static size_t remote_on_data(char *data, size_t size, size_t nmemb, void *payload)
{
	struct sbuf *sb = payload;
	size_t n = size * nmemb;

	sbuf_add(sb, data, n);
	return sbuf_ok(sb) && !sb->capped ? n : 0;  /* past the cap, or out of memory: abort the transfer */
}

/* The message of an error answer: FastAPI's "detail", else the start of the body. */
static void remote_detail(char *buf, size_t size, const struct sbuf *body)
{
	json_t *j = json_loadb(body->buf, body->len, 0, NULL);
	const char *detail = json_string_value(json_object_get(j, "detail"));

	if (detail)
		snprintf(buf, size, "%s", detail);
	else
		snprintf(buf, size, "%.*s", (int)strcspn(body->buf, "\r\n"), body->buf);
	json_decref(j);
	if (!*buf)
		snprintf(buf, size, "no detail");
}

/*
 * One request: method GET or POST (with body), path under the base URL.
 * *code gets the HTTP status; the answer goes to resp (capped at max).
 */
static int remote_request(struct remote *r, const char *method, const char *path, const char *body,
			  struct sbuf *resp, size_t max, long *code, struct alts_err *err)
{
	char url[4096], errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;

	if (!str_fmt(url, sizeof(url), "%s%s", r->base, path))
		return alts_err_set(err, ALTS_EINVALID, "URL too long: '%s%s'", r->base, path);
	sbuf_release(resp);
	sbuf_init(resp, max);
	curl_easy_reset(r->h);
	curl_easy_setopt(r->h, CURLOPT_URL, url);
	curl_easy_setopt(r->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(r->h, CURLOPT_TIMEOUT, 600L);
	curl_easy_setopt(r->h, CURLOPT_USERAGENT, "alts-submit/" ALTS_VERSION);
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, remote_on_data);
	curl_easy_setopt(r->h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(r->h, CURLOPT_ERRORBUFFER, errbuf);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(r->h, CURLOPT_POST, 1L);
		curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	cc = curl_easy_perform(r->h);
	if (cc == CURLE_WRITE_ERROR && resp->capped)
		return alts_err_set(err, ALTS_EENV, "%s %s: answer larger than %zu bytes", method, url, max);
	if (cc == CURLE_WRITE_ERROR && resp->oom)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory reading %s", url);
	if (cc != CURLE_OK)
		return alts_err_set(err, ALTS_EENV, "cannot reach the scheduler at '%s': %s", url,
				    *errbuf ? errbuf : curl_easy_strerror(cc));
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, code);
	return 0;
}

/* Maps an unexpected HTTP status to an error: 4xx is the request's fault, the rest the scheduler's. */
static int remote_http_error(const char *what, long code, const struct sbuf *body, struct alts_err *err)
{
	char detail[512];

	remote_detail(detail, sizeof(detail), body);
	if (code == 401 || code == 403)
		return alts_err_set(err, ALTS_EINVALID, "%s: the scheduler refused the token (HTTP %ld): %s", what,
				    code, detail);
	if (code >= 400 && code < 500)
		return alts_err_set(err, ALTS_EINVALID, "%s: the scheduler refused the request (HTTP %ld): %s", what,
				    code, detail);
	return alts_err_set(err, ALTS_EENV, "%s: the scheduler failed (HTTP %ld): %s", what, code, detail);
}

static bool remote_id_ok(const char *id)
{
	size_t i, n = strlen(id);

	if (!n || n > REMOTE_ID_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
			return false;
	return true;
}

/* A random UUID (version 4) for the Idempotency-Key of one submission. */
static int remote_idem_key(char out[37], struct alts_err *err)
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return alts_err_errno(err, ALTS_EENV, errno, "cannot make an Idempotency-Key");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

#define REMOTE_SCHEDULE_TRIES 5

static void remote_sleep(const struct remote *r, double seconds);

/*
 * POST /tasks/schedule with an Idempotency-Key, retried with the same key
 * when no answer comes or the scheduler fails (5xx): a retry of a task
 * the scheduler committed gets that task back, never a second one.
 */
static int remote_schedule(struct remote *r, const char *body, struct alts_err *err)
{
	struct sbuf resp = SBUF_INIT;
	json_t *j = NULL, *id;
	struct curl_slist *plain = r->headers, *with_key = NULL;
	char key[37], header[64];
	long code = 0;
	int rc;

	rc = remote_idem_key(key, err);
	if (rc)
		return rc;
	snprintf(header, sizeof(header), "Idempotency-Key: %s", key);
	with_key = curl_slist_append(NULL, header);
	for (struct curl_slist *h = plain; with_key && h; h = h->next)
		with_key = curl_slist_append(with_key, h->data) ? with_key : (curl_slist_free_all(with_key), NULL);
	if (!with_key)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	r->headers = with_key;
	for (int attempt = 1;; attempt++) {
		code = 0;
		rc = remote_request(r, "POST", "/tasks/schedule", body, &resp, REMOTE_JSON_MAX, &code, err);
		if (attempt >= REMOTE_SCHEDULE_TRIES || (rc != ALTS_EENV && !(rc == 0 && code >= 500)))
			break;
		if (r->o->progress)
			fprintf(r->o->progress, "alts-submit: %s; retrying (%d of %d, Idempotency-Key %s)\n",
				rc ? err->msg : "the scheduler failed", attempt + 1, REMOTE_SCHEDULE_TRIES, key);
		alts_err_clear(err);
		remote_sleep(r, 0.25 * (1 << attempt));
	}
	r->headers = plain;
	curl_slist_free_all(with_key);
	if (rc)
		goto out;
	if (code != 201 && code != 200) {
		rc = remote_http_error("cannot schedule the task", code, &resp, err);
		goto out;
	}
	j = json_loadb(resp.buf, resp.len, 0, NULL);
	id = json_object_get(j, "task_id");
	if (json_is_integer(id))
		snprintf(r->id, sizeof(r->id), "%lld", (long long)json_integer_value(id));
	else if (json_is_string(id) && json_string_length(id) <= REMOTE_ID_MAX)
		snprintf(r->id, sizeof(r->id), "%s", json_string_value(id));
	if (!remote_id_ok(r->id))
		rc = alts_err_set(err, ALTS_EENV, "cannot schedule the task: the scheduler's answer has no usable "
				  "task_id: %.200s", resp.buf);
out:
	json_decref(j);
	sbuf_release(&resp);
	return rc;
}

static void remote_clear_line(struct remote *r)
{
	if (r->line_open && r->o->progress) {
		fputs("\r\033[K", r->o->progress);
		fflush(r->o->progress);
	}
	r->line_open = false;
}

/* "running, 1:02 elapsed, checks 3/7": printed when it changes, or kept on one line on a terminal. */
static void remote_progress(struct remote *r, const char *state, json_t *task)
{
	json_t *progress = json_object_get(task, "progress");
	json_t *done = json_object_get(progress, "done"), *total = json_object_get(progress, "total");
	long elapsed = (long)(proc_now() - r->t0);
	char line[256], checks[64] = "";

	if (!r->o->progress)
		return;
	if (json_is_integer(done) && json_is_integer(total))
		snprintf(checks, sizeof(checks), ", checks %lld/%lld", (long long)json_integer_value(done),
			 (long long)json_integer_value(total));
	if (r->o->progress_tty) {
		fprintf(r->o->progress, "\r\033[Ktask %s: %s, %ld:%02ld elapsed%s", r->id, state, elapsed / 60,
			elapsed % 60, checks);
		fflush(r->o->progress);
		r->line_open = true;
		return;
	}
	snprintf(line, sizeof(line), "%s%s", state, checks);
	if (!strcmp(line, r->last_line))
		return;
	snprintf(r->last_line, sizeof(r->last_line), "%s", line);
	fprintf(r->o->progress, "task %s: %s, %ld:%02ld elapsed%s\n", r->id, state, elapsed / 60, elapsed % 60,
		checks);
	fflush(r->o->progress);
}

/* --follow: prints what the task's log gained since the last call. */
static void remote_follow(struct remote *r)
{
	struct sbuf resp = SBUF_INIT;
	struct alts_err ignored = ALTS_ERR_INIT;
	char path[256];
	long code = 0;

	if (!r->o->follow || !r->log_offered)
		return;
	snprintf(path, sizeof(path), "/tasks/%s/log?offset=%ld", r->id, r->log_offset);
	if (remote_request(r, "GET", path, NULL, &resp, REMOTE_BODY_MAX, &code, &ignored)) {
		sbuf_release(&resp);
		return;  /* the next poll says whether the scheduler is gone */
	}
	if (code == 404 || code == 405 || code == 501) {
		r->log_offered = false;
		remote_clear_line(r);
		if (r->o->progress)
			fprintf(r->o->progress, "alts-submit: the scheduler does not stream logs (HTTP %ld); "
				"--follow shows the state only\n", code);
	} else if (code == 200 && resp.len) {
		remote_clear_line(r);
		fwrite(resp.buf, 1, resp.len, stdout);
		fflush(stdout);
		r->log_offset += (long)resp.len;
	}
	sbuf_release(&resp);
}

static bool remote_state_final(const char *state)
{
	return !strcmp(state, "finished") || !strcmp(state, "failed") || !strcmp(state, "canceled");
}

/* Sleeps up to seconds, waking early on cancel. */
static void remote_sleep(const struct remote *r, double seconds)
{
	double end = proc_now() + seconds;

	while (proc_now() < end && !(r->o->cancel && *r->o->cancel)) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

/* Polls until the task's state is final; *state (a static string copy) gets it. */
static int remote_wait(struct remote *r, char *state, size_t size, struct alts_err *err)
{
	double interval = r->o->poll_interval > 0 ? r->o->poll_interval : 2.0;
	struct sbuf resp = SBUF_INIT;
	char path[256];
	int rc = 0, failed = 0;

	snprintf(path, sizeof(path), "/tasks/%s", r->id);
	for (;;) {
		json_t *task;
		const char *s;
		long code = 0;

		if (r->o->cancel && *r->o->cancel) {
			rc = alts_err_set(err, ALTS_ECANCELED, "stopped waiting for task %s (it goes on)", r->id);
			break;
		}
		if (r->o->timeout > 0 && proc_now() - r->t0 > r->o->timeout) {
			rc = alts_err_set(err, ALTS_ETIMEOUT, "task %s did not end within %.0fs (state '%s'); it goes on",
					  r->id, r->o->timeout, *state ? state : "unknown");
			break;
		}
		rc = remote_request(r, "GET", path, NULL, &resp, REMOTE_JSON_MAX, &code, err);
		if (!rc && code != 200)
			rc = remote_http_error("cannot read the task's state", code, &resp, err);
		/* the scheduler unreachable or failing for a moment (a restart) is waited out */
		if (rc == ALTS_EENV && ++failed < REMOTE_POLL_RETRIES) {
			rc = 0;
			remote_sleep(r, interval);
			continue;
		}
		if (rc)
			break;
		failed = 0;
		task = json_loadb(resp.buf, resp.len, 0, NULL);
		s = json_string_value(json_object_get(task, "state"));
		if (!s) {
			json_decref(task);
			rc = alts_err_set(err, ALTS_EENV, "task %s: the scheduler's answer has no state: %.200s", r->id,
					  resp.buf);
			break;
		}
		snprintf(state, size, "%s", s);
		remote_progress(r, state, task);
		json_decref(task);
		remote_follow(r);
		if (remote_state_final(state))
			break;
		remote_sleep(r, interval);
	}
	remote_clear_line(r);
	sbuf_release(&resp);
	return rc;
}

static int remote_save(const char *dir, const char *name, const char *data, size_t len, struct alts_err *err)
{
	char path[4096];
	FILE *f;
	int rc = 0;

	if (!str_fmt(path, sizeof(path), "%s/%s", dir, name))
		return alts_err_set(err, ALTS_ERROR, "path too long: '%s/%s'", dir, name);
	f = fopen(path, "we");
	if (!f)
		return alts_err_errno(err, ALTS_ERROR, errno, "cannot open '%s' for writing", path);
	if (fwrite(data, 1, len, f) != len || fflush(f) != 0)
		rc = alts_err_errno(err, ALTS_ERROR, errno, "cannot write '%s'", path);
	if (fclose(f) != 0 && !rc)
		rc = alts_err_errno(err, ALTS_ERROR, errno, "cannot close '%s'", path);
	return rc;
}

/* GET {task}/what into dir/name; a 404 is noted, not an error. */
static int remote_download(struct remote *r, const char *what, const char *dir, const char *name, bool *found,
			   struct alts_err *err)
{
	struct sbuf resp = SBUF_INIT;
	char path[512];
	long code = 0;
	int rc;

	*found = false;
	snprintf(path, sizeof(path), "/tasks/%s/%s", r->id, what);
	rc = remote_request(r, "GET", path, NULL, &resp, REMOTE_BODY_MAX, &code, err);
	if (!rc && code == 200) {
		rc = remote_save(dir, name, resp.buf, resp.len, err);
		*found = !rc;
	} else if (!rc && code != 404) {
		rc = remote_http_error(what, code, &resp, err);
	}
	sbuf_release(&resp);
	return rc;
}

/* A log name safe to use as a file name and in a URL. */
static bool remote_log_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > 200 || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

/* Every "log_name" value and every key of a "logs" object, anywhere in j. */
static int remote_collect_logs(json_t *j, json_t *names)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (remote_collect_logs(v, names))
				return ALTS_ENOMEM;
		return 0;
	}
	if (!json_is_object(j))
		return 0;
	json_object_foreach(j, key, v) {
		if (!strcmp(key, "log_name") && json_is_string(v) && remote_log_name_ok(json_string_value(v))) {
			if (json_object_set_new(names, json_string_value(v), json_true()))
				return ALTS_ENOMEM;
		} else if (!strcmp(key, "logs") && json_is_object(v)) {
			const char *name;
			json_t *ignored;

			json_object_foreach(v, name, ignored)
				if (remote_log_name_ok(name) && json_object_set_new(names, name, json_true()))
					return ALTS_ENOMEM;
		}
		if (remote_collect_logs(v, names))
			return ALTS_ENOMEM;
	}
	return 0;
}

static int remote_download_logs(struct remote *r, json_t *result, struct alts_err *err)
{
	json_t *names = json_object(), *ignored;
	char dir[4096], what[256];
	const char *name;
	bool found;
	int rc = 0;

	if (!names || remote_collect_logs(result, names)) {
		json_decref(names);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	if (!json_object_size(names))
		goto out;
	if (!str_fmt(dir, sizeof(dir), "%s/logs", r->o->out_dir)) {
		rc = alts_err_set(err, ALTS_ERROR, "path too long: '%s/logs'", r->o->out_dir);
		goto out;
	}
	rc = fs_mkdir_p(dir, 0755, err);
	json_object_foreach(names, name, ignored) {
		if (rc)
			break;
		snprintf(what, sizeof(what), "logs/%s", name);
		rc = remote_download(r, what, dir, name, &found, err);
		if (!rc && !found) {
			if (r->o->progress)
				fprintf(r->o->progress, "alts-submit: the scheduler has no logs for task %s\n", r->id);
			break;
		}
	}
out:
	json_decref(names);
	return rc;
}

/* The run's exit status from the result document, or -1 when it does not say. */
static int remote_result_status(json_t *result)
{
	json_t *code = json_object_get(json_object_get(json_object_get(result, "alts"), "summary"), "exit_code");

	if (!code)
		code = json_object_get(json_object_get(result, "summary"), "exit_code");
	const char *key;
	json_t *stage;
	int status = -1;

	if (json_is_integer(code) && json_integer_value(code) >= 0 && json_integer_value(code) <= 3)
		return (int)json_integer_value(code);
	/* an ALTS result without alts' summary: any stage that did not succeed fails the run */
	json_object_foreach(json_object_get(result, "result"), key, stage) {
		json_t *ok = json_object_get(stage, "success");

		if (json_is_boolean(ok))
			status = status == ALTS_EXIT_FAIL || !json_is_true(ok) ? ALTS_EXIT_FAIL : ALTS_EXIT_PASS;
	}
	return status;
}

/* GET /result: saves result.json and the logs it names; *status from its summary. */
static int remote_fetch_result(struct remote *r, int *status, struct alts_err *err)
{
	struct sbuf resp = SBUF_INIT;
	json_t *j = NULL, *result;
	char path[256], *text = NULL;
	long code = 0;
	int rc;

	*status = -1;
	snprintf(path, sizeof(path), "/tasks/%s/result", r->id);
	rc = remote_request(r, "GET", path, NULL, &resp, REMOTE_BODY_MAX, &code, err);
	if (rc || code == 404)
		goto out;
	if (code != 200) {
		rc = remote_http_error("cannot download the result", code, &resp, err);
		goto out;
	}
	j = json_loadb(resp.buf, resp.len, 0, NULL);
	result = json_object_get(j, "result");
	if (!json_is_object(result))
		result = json_is_object(j) && !json_object_get(j, "state") ? j : NULL;
	if (!result)
		goto out;  /* the task left no result */
	text = json_dumps(result, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	rc = remote_save(r->o->out_dir, "result.json", text, strlen(text), err);
	if (!rc)
		rc = remote_download_logs(r, result, err);
	*status = remote_result_status(result);
out:
	free(text);
	json_decref(j);
	sbuf_release(&resp);
	return rc;
}

static int remote_setup(struct remote *r, const struct remote_opts *o, struct alts_err *err)
{
	size_t n;

	r->o = o;
	r->log_offered = true;
	if (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))
		return alts_err_set(err, ALTS_EINVALID, "invalid scheduler URL '%s': expected http:// or https://", o->url);
	if (!str_fmt(r->base, sizeof(r->base), "%s", o->url))
		return alts_err_set(err, ALTS_EINVALID, "scheduler URL too long");
	for (n = strlen(r->base); n > 0 && r->base[n - 1] == '/'; n--)
		r->base[n - 1] = '\0';
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return alts_err_set(err, ALTS_EENV, "cannot initialize libcurl");
	r->h = curl_easy_init();
	r->headers = curl_slist_append(NULL, "Content-Type: application/json");
	r->headers = r->headers ? curl_slist_append(r->headers, "Accept: application/json, */*") : NULL;
	if (r->headers && o->token && *o->token) {
		char *auth = alts_asprintf("Authorization: Bearer %s", o->token);
		struct curl_slist *h = auth ? curl_slist_append(r->headers, auth) : NULL;

		if (auth)
			memset(auth, 0, strlen(auth));
		alts_free(auth);
		if (!h) {
			curl_slist_free_all(r->headers);
			r->headers = NULL;
		} else {
			r->headers = h;
		}
	}
	if (!r->h || !r->headers)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	return 0;
}

static void remote_release(struct remote *r)
{
	curl_slist_free_all(r->headers);
	if (r->h)
		curl_easy_cleanup(r->h);
	curl_global_cleanup();
}

int remote_run(int *status, const struct remote_opts *opts, const char *body, struct alts_err *err)
{
	struct remote r;
	char state[64] = "";
	bool found;
	int rc, result_status = -1;

	ALTS_ASSERT_ARG(status && opts && opts->url && opts->out_dir && body, err);
	memset(&r, 0, sizeof(r));
	rc = remote_setup(&r, opts, err);
	if (!rc)
		rc = fs_mkdir_p(opts->out_dir, 0755, err);
	if (rc)
		goto out;
	r.t0 = proc_now();
	rc = remote_schedule(&r, body, err);
	if (rc)
		goto out;
	if (opts->progress)
		fprintf(opts->progress, "task %s scheduled at %s\n", r.id, r.base);
	rc = remote_wait(&r, state, sizeof(state), err);
	if (!rc)
		rc = remote_download(&r, "report.xml", opts->out_dir, "report.xml", &found, err);
	if (!rc && !found && opts->progress)
		fprintf(opts->progress, "alts-submit: the scheduler has no report.xml for task %s\n", r.id);
	if (!rc)
		rc = remote_download(&r, "report.tap", opts->out_dir, "report.tap", &found, err);
	if (!rc && !found && opts->progress)
		fprintf(opts->progress, "alts-submit: the scheduler has no report.tap for task %s\n", r.id);
	if (!rc)
		rc = remote_fetch_result(&r, &result_status, err);
	if (rc)
		goto out;
	/* A canceled run is no verdict, whatever part of it the worker reported. */
	if (!strcmp(state, "canceled"))
		*status = ALTS_EXIT_ENV;
	else if (result_status >= 0)
		*status = result_status;
	else if (!strcmp(state, "finished"))
		*status = ALTS_EXIT_PASS;
	else
		*status = ALTS_EXIT_ENV;  /* failed or canceled, with no result saying more */
	if (opts->progress)
		fprintf(opts->progress, "task %s %s in %.0fs; reports in %s\n", r.id, state, proc_now() - r.t0,
			opts->out_dir);
out:
	remote_release(&r);
	return rc;
}
