#include "framework/common.h"
#include "framework/sbuf.h"
#include "scheduler/albs.h"

#include <math.h>
#include <time.h>

void albs_iso(char buf[40], double t)
{
	time_t secs;
	struct tm tm;
	long usec;

	if (!isfinite(t) || t < 0)
		t = 0;
	secs = (time_t)t;
	usec = (long)((t - (double)secs) * 1e6 + 0.5);
	if (usec >= 1000000) {
		secs++;
		usec -= 1000000;
	}
	if (!gmtime_r(&secs, &tm))
		memset(&tm, 0, sizeof(tm));
	snprintf(buf, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%06d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
		 tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, (int)(usec < 0 ? 0 : usec % 1000000));
}

char *albs_third_party_key(const char *name)
{
	char *k = alts_asprintf("third_party_test_%s", name && *name ? name : "script");

	for (char *p = k ? k + 17 : NULL; p && *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			*p = '_';
	}
	return k;
}

/* Sets key in obj, or key_2, key_3, ... when taken; steals value. */
static int set_unique(json_t *obj, const char *key, json_t *value)
{
	char *k = NULL;
	int rc;

	if (!value)
		return -1;
	if (!json_object_get(obj, key))
		return json_object_set_new(obj, key, value);
	for (unsigned n = 2; n < 100000; n++) {
		k = alts_asprintf("%s_%u", key, n);
		if (!k || !json_object_get(obj, k))
			break;
		alts_free(k);
		k = NULL;
	}
	rc = k ? json_object_set_new(obj, k, value) : (json_decref(value), -1);
	alts_free(k);
	return rc;
}

static json_t *iso_json(double t)
{
	char buf[40];

	albs_iso(buf, t);
	return json_string(buf);
}

/* The one suite of a result document: {"alts": {"suites": [S]}}, also inside {"suites": [...]}. */
static json_t *doc_suite(json_t *doc)
{
	json_t *s = json_array_get(json_object_get(json_object_get(doc, "alts"), "suites"), 0);

	if (!s)
		s = json_array_get(json_object_get(json_object_get(json_array_get(json_object_get(doc, "suites"), 0),
								   "alts"),
						   "suites"),
				   0);
	return json_is_object(s) ? s : NULL;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The ALTS stage a check type reports as (NULL: a third-party test; "": under tests). */
static const char *stage_of(const char *type)
{
	if (!strcmp(type, "install"))
		return "install_package";
	if (!strcmp(type, "uninstall"))
		return "uninstall_package";
	if (!strcmp(type, "integrity"))
		return "";
	if (!strcmp(type, "script"))
		return NULL;
	return type;
}

/* ALTS's name of a skipped stage (its TESTS_MAPPING). */
static const char *skipped_name(const char *type)
{
	if (!strcmp(type, "integrity"))
		return "package_integrity_tests";
	if (!strcmp(type, "script"))
		return "third_party_tests";
	return stage_of(type);
}

static json_t *stage_stats(json_t *check)
{
	double start = json_number_value(json_object_get(check, "started"));
	double d = json_number_value(json_object_get(check, "duration"));

	return json_pack("{s:o,s:o,s:f}", "start_ts", iso_json(start), "finish_ts", iso_json(start + d), "delta",
			 isfinite(d) ? d : 0.0);
}

static json_t *output_of(json_t *check)
{
	const char *out = json_string_value(json_object_get(check, "output"));

	if (!out || !*out)
		out = jstr(check, "message");
	return json_string(out);
}

static int add_checks(json_t *sum, json_t *stats, json_t *suite)
{
	json_t *tests = json_object(), *third = json_object(), *skipped = json_array(), *check;
	bool third_ok = true;
	size_t i;
	int bad = !tests || !third || !skipped;

	json_array_foreach(json_object_get(suite, "checks"), i, check) {
		const char *type = jstr(check, "type"), *status = jstr(check, "status");
		const char *stage = stage_of(type);
		bool ok = !strcmp(status, "pass") || !strcmp(status, "xfail") || !strcmp(status, "skip");

		if (bad)
			break;
		if (!strcmp(status, "skip")) {
			bad = json_array_append_new(skipped, json_string(skipped_name(type)));
			continue;
		}
		if (!stage) {
			char *k = albs_third_party_key(jstr(check, "name"));

			third_ok = third_ok && ok;
			bad = !k || set_unique(third, k, json_pack("{s:b,s:o}", "success", ok, "output", output_of(check))) ||
			      set_unique(stats, k, stage_stats(check));
			alts_free(k);
		} else if (!*stage) {
			bad = set_unique(tests, "package_integrity_tests",
					 json_pack("{s:b,s:o}", "success", ok, "output", output_of(check))) ||
			      set_unique(stats, "package_integrity_tests", stage_stats(check));
		} else {
			bad = set_unique(sum, stage, json_pack("{s:b}", "success", ok)) ||
			      set_unique(stats, stage, stage_stats(check));
		}
	}
	/*
	 * The Build System reads .success of every key but tests, logs and
	 * skipped_tests: third_party carries the AND of its tests, so a task
	 * whose third-party tests passed is not FAILED there (upstream ALTS
	 * leaves it out, and its tasks with third-party tests end FAILED).
	 */
	if (!bad && json_object_size(third))
		bad = json_object_set_new(third, "success", json_boolean(third_ok));
	bad = bad || json_object_set(sum, "tests", tests) ||
	      (json_object_size(third) && json_object_set(sum, "third_party", third)) ||
	      json_object_set(sum, "skipped_tests", skipped);
	json_decref(tests);
	json_decref(third);
	json_decref(skipped);
	return bad ? -1 : 0;
}

/* logs: [{name, href, type: "test_log"}] from the artifacts "logs/<name>" -> URL, in name order. */
static json_t *logs_list(const char *artifacts)
{
	json_t *a = artifacts ? json_loads(artifacts, 0, NULL) : NULL, *logs = json_array(), *v;
	const char *key;
	void *tmp;
	int bad = !logs;

	json_object_foreach_safe(a, tmp, key, v) {
		if (bad || strncmp(key, "logs/", 5) || !json_is_string(v))
			continue;
		bad = json_array_append_new(logs, json_pack("{s:s,s:s,s:s}", "name", key + 5, "href",
							    json_string_value(v), "type", "test_log"));
	}
	json_decref(a);
	if (bad) {
		json_decref(logs);
		return NULL;
	}
	return logs;
}

int albs_summary(const struct albs_task *t, json_t **summary, json_t **stats)
{
	json_t *doc = t->result ? json_loads(t->result, 0, NULL) : NULL, *suite = doc_suite(doc);
	json_t *sum = json_object(), *st = json_object(), *logs = NULL;
	bool revoked = t->state && !strcmp(t->state, "canceled");
	int bad = !sum || !st;

	*summary = *stats = NULL;
	if (revoked && !suite) {
		/* ALTS's answer for a task revoked before it ran. */
		bad = bad || json_object_set_new(sum, "revoked", json_true());
		goto out;
	}
	if (suite) {
		double started = json_number_value(json_object_get(suite, "started"));

		bad = bad || json_object_set_new(st, "started_at", iso_json(started)) || add_checks(sum, st, suite);
	} else {
		/* No result: the environment could not be set up (the worker's error). */
		double started = (double)(t->started_ms ? t->started_ms : t->created_ms) / 1000.0;

		bad = bad || json_object_set_new(st, "started_at", iso_json(started)) ||
		      json_object_set_new(sum, "initial_provision",
					  json_pack("{s:b,s:s}", "success", 0, "output", t->error ? t->error : "")) ||
		      json_object_set_new(sum, "skipped_tests", json_array()) ||
		      json_object_set_new(sum, "tests", json_object());
	}
	if (revoked) {
		/* ALTS sends no logs with a revoked summary (the Build System would hand them to Pulp first). */
		bad = bad || json_object_set_new(sum, "revoked", json_true());
	} else {
		logs = logs_list(t->artifacts);
		bad = bad || !logs || json_object_set(sum, "logs", logs);
	}
out:
	json_decref(logs);
	json_decref(doc);
	if (bad) {
		json_decref(sum);
		json_decref(st);
		return ALTS_ENOMEM;
	}
	*summary = sum;
	*stats = st;
	return 0;
}

char *albs_callback_body(const struct albs_task *t)
{
	json_t *sum, *st, *body;
	char *text;

	if (albs_summary(t, &sum, &st))
		return NULL;
	body = json_pack("{s:s,s:o,s:o}", "api_version", ALBS_API_VERSION, "result", sum, "stats", st);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	return text;
}

int albs_join_url(char **out, const char *base, const char *href, struct alts_err *err)
{
	const char *host, *path_at, *q;
	size_t dir;

	*out = NULL;
	if (!strncasecmp(href, "http://", 7) || !strncasecmp(href, "https://", 8)) {
		*out = alts_strdup(href);
		return *out ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	if (!base || (strncasecmp(base, "http://", 7) && strncasecmp(base, "https://", 8)))
		return alts_err_set(err, ALTS_EINVALID,
				    "callback_href '%s' is relative: set bs_host (http:// or https://) to join it with", href);
	host = strstr(base, "://") + 3;
	path_at = host + strcspn(host, "/?#");
	if (path_at == host)
		return alts_err_set(err, ALTS_EINVALID, "bs_host '%s' has no host", base);
	if (href[0] == '/' && href[1] == '/')  /* scheme-relative: //host/path */
		*out = alts_asprintf("%.*s%s", (int)(host - base - 2), base, href);
	else if (href[0] == '/')
		*out = alts_asprintf("%.*s%s", (int)(path_at - base), base, href);
	else {
		/* Relative to the directory of base's path (query and fragment dropped). */
		q = path_at + strcspn(path_at, "?#");
		dir = (size_t)(q - base);
		while (dir > (size_t)(path_at - base) && base[dir - 1] != '/')
			dir--;
		if (dir == (size_t)(path_at - base))
			*out = alts_asprintf("%.*s/%s", (int)dir, base, href);
		else
			*out = alts_asprintf("%.*s%s", (int)dir, base, href);
	}
	return *out ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}
