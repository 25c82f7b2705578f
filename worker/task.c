#include "framework/common.h"
#include "engine/suite_load.h"
#include "engine/engine.h"
#include "farm/msg.h"
#include "framework/exitcode.h"
#include "framework/fs.h"
#include "framework/sbuf.h"
#include "reporters/reporter_int.h"
#include "reporters/stores/artifact_store.h"
#include "reporters/stores/spool.h"
#include "runners/runner.h"
#include "worker/publish.h"
#include "worker/task.h"
#include "worker/wlog.h"
#include "worker/wctx.h"

#include <ctype.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * How long a received or running report waits for a later one of the same task to carry it
 * (publisher_hold): the delay a live view may see, and the window in which a short task's reports
 * become one message.
 */
#define TASK_REPORT_HOLD_MS 200
/* How long a task thread waits for the broker to confirm its final report (checked in slices). */
#define TASK_CONFIRM_WAIT_S 3600.0
#define TASK_MAX_ARTIFACTS 512

/* The reports a task stores, by reporter: their names in the store. */
static const char *const task_reports[][2] = { { "tap", "report.tap" }, { "junit", "report.xml" },
					       { "json", "result.json" } };
#define TASK_NREPORTS ALTS_ARRAY_SIZE(task_reports)
#define TASK_REPORT_JSON 2

/* One task while it runs. */
struct task {
	struct worker *w;
	struct job *j;
	const struct farm_config *c;
	const char *id;
	char *dir;                 /* per-task temporary directory: the engine's artifacts (check logs) */
	struct suite *suite;
	struct run_result *rr;
	long done, total;
	/* The final report. */
	const char *state;
	const char *error;
	char *error_buf;
	struct sbuf reports[TASK_NREPORTS];  /* the file reporters' output, stored from memory */
	struct sbuf result;        /* result.json for the final report (logs pointed at the store) */
	struct report_artifact artifacts[TASK_MAX_ARTIFACTS];
	size_t nartifacts;
	const char *pending[TASK_MAX_ARTIFACTS];
	size_t npending;
	const char *batched[TASK_MAX_ARTIFACTS];  /* in the store's batch (durable at its commit) */
	size_t nbatched;
	/* The store, opened once per task, and the batch its artifacts and summary share. */
	struct artifact_store *store;
	struct artifact_spool_batch *batch;
	bool store_tried;
	struct arena *arena;       /* names and URLs */
};

void task_apply_timeouts(struct suite *s, const struct farm_config *c)
{
	for (size_t i = 0; i < s->nchecks; i++) {
		struct suite_check *ch = &s->checks[i];
		double limit = ch->type && !strcmp(ch->type, "script") ? c->tests_timeout : c->commands_timeout;
		double own = ch->timeout > 0 ? ch->timeout : s->check_timeout;

		if (limit <= 0)
			continue;
		ch->timeout = own > 0 && own < limit ? own : limit;
	}
}

const char *task_pick_runner(const struct suite *s, const char *msg_runner)
{
	if (s && s->env.runner)
		return NULL;  /* the engine uses the suite's */
	return msg_runner;
}

static bool runner_known(const char *name)
{
	for (const char *const *n = runner_names(); *n; n++) {
		if (!strcmp(*n, name))
			return true;
	}
	return false;
}

/*
 * Opens the task's store once and starts the batch its artifacts and summary join. Without
 * a store (it could not be opened) the batch sends everything to the spool.
 */
static void task_batch_begin(struct task *t)
{
	struct artifact_store_config sc;
	struct alts_err err = ALTS_ERR_INIT;

	if (t->batch)
		return;
	if (!t->store_tried) {
		t->store_tried = true;
		farm_config_artifact_store(t->c, &sc);
		if (artifact_store_open(&t->store, &sc, &err)) {
			wlog(ALTS_LOG_ERROR, "artifact.store_unavailable", t->id, "msg=%s", err.msg);
			t->store = NULL;
		}
	}
	if (artifact_spool_batch_begin(&t->batch, t->store, t->c->spool_directory, &err))
		wlog(ALTS_LOG_ERROR, "artifact.batch_failed", t->id, "msg=%s", err.msg);
}

/*
 * Puts the summary (the final report, kept in the store beside the artifacts) into the
 * task's batch and commits it: one barrier makes the artifacts and the summary durable
 * before the report is sent. When the commit fails, all of it is spooled: the report then
 * names every artifact pending and is built again into *body.
 */
static void commit_summary(struct task *t, struct report *r, char **body)
{
	struct alts_err err = ALTS_ERR_INIT;
	bool spooled = false;

	task_batch_begin(t);
	if (!t->batch) {
		wlog(ALTS_LOG_ERROR, "summary.lost", t->id, "msg=no batch");
		return;
	}
	if (artifact_spool_batch_put_summary(t->batch, t->id, *body, strlen(*body), &spooled, &err))
		wlog(ALTS_LOG_ERROR, "summary.lost", t->id, "msg=%s", err.msg);
	else if (spooled)
		wlog(ALTS_LOG_WARN, "summary.spooled", t->id, "msg=%s", err.msg);
	spooled = false;
	if (artifact_spool_batch_commit(t->batch, &spooled, &err))
		wlog(ALTS_LOG_ERROR, "artifacts.lost", t->id, "msg=%s", err.msg);
	t->batch = NULL;
	if (spooled) {
		char *again = NULL;

		wlog(ALTS_LOG_WARN, "artifacts.spooled", t->id, "count=%zu msg=%s", t->nbatched, err.msg);
		for (size_t i = 0; i < t->nbatched; i++)
			t->pending[t->npending++] = t->batched[i];
		t->nbatched = 0;
		r->pending = t->pending;
		r->npending = t->npending;
		if (report_build(&again, r, &err)) {
			wlog(ALTS_LOG_ERROR, "report.build_failed", t->id, "msg=%s", err.msg);
			return;
		}
		alts_free(*body);
		*body = again;
		/* The newer entry of a key wins at delivery: the summary now names them pending. */
		if (artifact_spool_put_summary(NULL, t->c->spool_directory, t->id, again, strlen(again), &spooled, &err))
			wlog(ALTS_LOG_ERROR, "summary.lost", t->id, "msg=%s", err.msg);
	}
	if (t->rr)
		wlog(ALTS_LOG_INFO, "artifacts.stored", t->id, "stored=%zu pending=%zu", t->nbatched, t->npending);
}

/* Publishes a report (final: stores the summary, waits for the confirm). 0, or the publisher's error. */
static int send_report(struct task *t, struct report *r, bool final)
{
	struct alts_err err = ALTS_ERR_INIT;
	char *body = NULL;
	int rc = report_build(&body, r, &err);

	if (rc) {
		wlog(ALTS_LOG_ERROR, "report.build_failed", t->id, "msg=%s", err.msg);
		return rc;
	}
	if (final)
		commit_summary(t, r, &body);
	/*
	 * received/running/progress are superseded by the final report: transient, no disk write at the
	 * broker, and held a moment so that a later report of the task carries them (one message for a
	 * short task instead of four).
	 */
	if (final)
		rc = publisher_send(t->w->publisher, t->id, body, strlen(body), TASK_CONFIRM_WAIT_S, true);
	else
		rc = publisher_hold(t->w->publisher, t->id, body, strlen(body), TASK_REPORT_HOLD_MS);
	if (rc)
		wlog(ALTS_LOG_WARN, "report.unconfirmed", t->id, "state=%s", r->state);
	alts_free(body);
	return rc;
}

static void send_state(struct task *t, const char *state, long done, long total, const char *log)
{
	struct report r = REPORT_INIT;

	r.task_id = t->id;
	r.state = state;
	r.worker = t->w->ident;
	r.time_ms = wctx_now_ms();
	r.done = done;
	r.total = total;
	r.log = log;
	send_report(t, &r, false);
}

/*
 * The live-log text for a finished check: "PASS install (1.2 s)", and for
 * a failure its reason and the last lines of its output, indented.
 */
#define LIVE_LOG_TAIL_LINES 20
#define LIVE_LOG_TAIL_BYTES 4096

static void live_log_check(struct sbuf *sb, const struct check_result *cr)
{
	char reason[512];
	const char *why = reporter_check_reason(cr, reason, sizeof(reason));
	const char *out = cr->output, *tail, *status = check_status_name(cr->status);
	char upper[16];
	size_t len, lines = 0, i;

	/* Upper case, as the console shows it. */
	for (i = 0; status[i] && i < sizeof(upper) - 1; i++)
		upper[i] = (char)toupper((unsigned char)status[i]);
	upper[i] = '\0';
	sbuf_addf(sb, "%-5s %s (%.1f s)\n", upper, cr->name, cr->duration);
	if (!check_status_is_failure(cr->status))
		return;
	if (why && *why)
		sbuf_addf(sb, "      %s\n", why);
	if (!out || !*out)
		return;
	len = strlen(out);
	tail = out + len;
	while (tail > out && (size_t)(out + len - tail) < LIVE_LOG_TAIL_BYTES) {
		if (tail[-1] == '\n' && tail != out + len && ++lines > LIVE_LOG_TAIL_LINES)
			break;
		tail--;
	}
	sbuf_adds(sb, "      | ");
	for (const char *p = tail; *p; p++) {
		sbuf_add(sb, p, 1);
		if (*p == '\n' && p[1])
			sbuf_adds(sb, "      | ");
	}
	if (out[len - 1] != '\n')
		sbuf_adds(sb, "\n");
}

/* ---- The progress reporter: running reports, provisioning deadline. ---- */

static void progress_suite_start(struct reporter *r, const struct suite *s)
{
	struct task *t = r->opts.payload;
	double pt = t->c->provision_timeout;

	t->total = (long)s->nchecks;
	if (pt > 0)
		atomic_store(&t->j->provision_ms, wctx_mono_ms() + (long long)(pt * 1000));
	char q[256];

	wlog(ALTS_LOG_INFO, "task.running", t->id, "suite=%s checks=%zu", wlog_quote(q, sizeof(q), s->name),
	     s->nchecks);
	send_state(t, "running", 0, t->total, NULL);
}

static void progress_check_start(struct reporter *r, const struct suite *s, const struct suite_check *c)
{
	struct task *t = r->opts.payload;

	ALTS_UNUSED(s);
	ALTS_UNUSED(c);
	atomic_store(&t->j->provision_ms, 0);
}

static void progress_check_end(struct reporter *r, const struct suite_result *sr, const struct check_result *cr)
{
	struct task *t = r->opts.payload;
	struct sbuf log = SBUF_INIT;
	char q[256];

	ALTS_UNUSED(sr);
	atomic_store(&t->j->provision_ms, 0);
	t->done++;
	wlog(ALTS_LOG_INFO, "check.finished", t->id, "check=%s status=%s done=%ld total=%ld",
	     wlog_quote(q, sizeof(q), cr->name), check_status_name(cr->status), t->done, t->total);
	live_log_check(&log, cr);
	send_state(t, "running", t->done, t->total, sbuf_ok(&log) && log.len ? log.buf : NULL);
	sbuf_release(&log);
}

static void progress_destroy(struct reporter *r)
{
	ALTS_UNUSED(r);
}

static const struct reporter_ops progress_ops = {
	.name = "worker-progress",
	.abi = REPORTER_ABI,
	.suite_start = progress_suite_start,
	.check_start = progress_check_start,
	.check_end = progress_check_end,
	.destroy = progress_destroy,
};

static int open_reporters(struct reporter_set **out, struct task *t, struct alts_err *err)
{
	struct reporter_set *set = NULL;
	struct reporter_opts o = { 0 };
	int rc = reporter_set_new(&set);

	if (rc)
		return alts_err_set(err, rc, "out of memory");
	o.tap_version = 13;
	o.output_cap = t->w->engine_config->output_tail;
	for (size_t i = 0; !rc && i < TASK_NREPORTS; i++) {
		o.out = &t->reports[i];
		rc = reporter_set_add(set, task_reports[i][0], &o, err);
	}
	o.out = NULL;
	o.payload = t;
	if (!rc)
		rc = reporter_set_add_ops(set, &progress_ops, &o, err);
	if (rc) {
		reporter_set_free(set);
		return rc;
	}
	*out = set;
	return 0;
}

/* ---- Artifacts ---- */

/* Puts an artifact (a file at path, or data/len) into the task's batch; a missing file is skipped. */
static void add_artifact(struct task *t, const char *name, const char *path, const void *data, size_t len)
{
	struct alts_err err = ALTS_ERR_INIT;
	char *key = arena_printf(t->arena, "%s/%s", t->id, name);
	char *url = NULL;
	bool spooled = false;
	int rc;

	/* Every name kept goes to pending or batched (a URL too only with a store): bound them all. */
	if (!key || !t->batch || t->npending + t->nbatched >= TASK_MAX_ARTIFACTS)
		return;
	name = arena_strdup(t->arena, name);
	rc = path ? artifact_spool_batch_put_file(t->batch, key, path, NULL, &spooled, &err)
		  : artifact_spool_batch_put_bytes(t->batch, key, data, len, NULL, &spooled, &err);
	if (rc == ALTS_ENOTFOUND)
		return;
	if (rc || !name) {
		wlog(ALTS_LOG_ERROR, "artifact.lost", t->id, "name=%s msg=%s", name ? name : "?", err.msg);
		return;
	}
	if (spooled) {
		wlog(ALTS_LOG_WARN, "artifact.spooled", t->id, "name=%s msg=%s", name, err.msg);
		t->pending[t->npending++] = name;
	} else {
		t->batched[t->nbatched++] = name;
	}
	if (t->store && !artifact_store_url(t->store, key, &url, &err)) {
		t->artifacts[t->nartifacts].name = name;
		t->artifacts[t->nartifacts].url = arena_strdup(t->arena, url);
		t->nartifacts++;
		alts_free(url);
	}
}

static void store_artifacts(struct task *t)
{
	struct alts_err err = ALTS_ERR_INIT;

	task_batch_begin(t);
	for (size_t i = 0; i < TASK_NREPORTS; i++) {
		if (sbuf_ok(&t->reports[i]) && t->reports[i].len)
			add_artifact(t, task_reports[i][1], NULL, t->reports[i].buf, t->reports[i].len);
	}
	for (size_t s = 0; t->rr && s < t->rr->nsuites; s++) {
		const struct suite_result *sr = t->rr->suites[s];

		for (size_t i = 0; i < sr->nchecks; i++) {
			const struct check_result *cr = &sr->checks[i];
			const char *path = cr->log_path;
			char *name;

			if (!cr->log_path || !cr->log_name)
				continue;
			name = arena_printf(t->arena, "logs/%s%s", cr->log_name, t->c->gzip_logs ? ".gz" : "");
			if (t->c->gzip_logs && access(cr->log_path, R_OK) == 0) {
				char *gz = arena_printf(t->arena, "%s.gz", cr->log_path);

				if (!gz || artifact_gzip_file(cr->log_path, gz, &err)) {
					wlog(ALTS_LOG_WARN, "artifact.gzip_failed", t->id, "msg=%s", err.msg);
					name = arena_printf(t->arena, "logs/%s", cr->log_name);
				} else {
					path = gz;
				}
			}
			if (name)
				add_artifact(t, name, path, NULL, 0);
		}
	}
}

/* ---- The run ---- */

static void set_error(struct task *t, const char *state, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_error(struct task *t, const char *state, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	alts_free(t->error_buf);
	t->error_buf = sbuf_detach(&sb, NULL);
	t->error = t->error_buf;
	t->state = state;
}

static int make_dir(struct task *t)
{
	const char *tmp = getenv("TMPDIR");

	t->dir = alts_asprintf("%s/alts-task-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", t->id);
	if (!t->dir || !mkdtemp(t->dir)) {
		set_error(t, "failed", "cannot create a task directory: %s", t->dir ? strerror(errno) : "out of memory");
		return ALTS_EENV;
	}
	return 0;
}

/* Loads the suite and runs it; fills state/error/result. */
static void run_suite(struct task *t, const struct task_msg *m)
{
	struct engine_opts eo = ENGINE_OPTS_INIT;
	struct reporter_set *set = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	const char *runner;
	enum job_stop why;
	int rc;

	/* A suite from the farm may name no path of this worker (SUITE_LOAD_FARM). */
	if (suite_load_buffer_flags(&t->suite, "suite", t->dir, m->suite, strlen(m->suite), SUITE_LOAD_FARM, &err)) {
		set_error(t, "failed", "invalid suite: %s", err.msg);
		return;
	}
	runner = task_pick_runner(t->suite, m->runner);
	if (runner && !runner_known(runner)) {
		set_error(t, "failed", "unknown runner '%s'", runner);
		return;
	}
	task_apply_timeouts(t->suite, t->c);
	if (t->c->task_timeout > 0)
		atomic_store(&t->j->deadline_ms, wctx_mono_ms() + (long long)(t->c->task_timeout * 1000));
	if (open_reporters(&set, t, &err)) {
		set_error(t, "failed", "cannot open the reporters: %s", err.msg);
		goto out;
	}
	eo.runner = runner;
	eo.artifacts_dir = t->dir;
	eo.config = t->w->engine_config;
	eo.cancel = &t->j->cancel;
	rc = engine_run(&t->rr, &t->suite, 1, &eo, set, &err);
	reporter_set_free(set);
	set = NULL;
	atomic_store(&t->j->deadline_ms, 0);
	atomic_store(&t->j->provision_ms, 0);
	if (rc) {
		set_error(t, "failed", "cannot run the suite: %s", err.msg);
		goto out;
	}
	if (sbuf_ok(&t->reports[TASK_REPORT_JSON]))
		sbuf_add(&t->result, t->reports[TASK_REPORT_JSON].buf, t->reports[TASK_REPORT_JSON].len);
	if (!t->result.len || !sbuf_ok(&t->result))
		wlog(ALTS_LOG_WARN, "result.missing", t->id, "msg=the JSON reporter wrote nothing");
	why = (enum job_stop)atomic_load(&t->j->stop);
	if (why == JOB_STOP_REVOKED)
		t->state = "revoked";
	else if (why == JOB_STOP_SHUTDOWN)
		t->state = NULL;  /* requeued, not reported */
	else if (why == JOB_STOP_TIMEOUT)
		set_error(t, "failed", "task timed out after %gs (task_timeout)", t->c->task_timeout);
	else if (why == JOB_STOP_PROVISION)
		set_error(t, "failed", "environment not ready within %gs (provision_timeout)", t->c->provision_timeout);
	else if (t->rr->nsuites && t->rr->suites[0]->bail_out)
		set_error(t, "failed", "environment failure: %s", t->rr->suites[0]->bail_out);
	else
		t->state = "finished";
out:
	reporter_set_free(set);
}

static void finish(struct task *t, enum settle how)
{
	pool_settle(t->w->pool, t->j, how);
}

/* result.logs maps log names to local paths, gone after the task: point them at the stored copies. */
static void point_logs_at_store(struct task *t)
{
	json_t *j = t->result.len ? json_loadb(t->result.buf, t->result.len, 0, NULL) : NULL;
	json_t *logs = json_object_get(json_object_get(j, "result"), "logs");
	const char *name;
	json_t *v;
	char *text;

	if (!json_is_object(logs)) {
		json_decref(j);
		return;
	}
	json_object_foreach(logs, name, v) {
		for (size_t i = 0; i < t->nartifacts; i++) {
			const char *a = t->artifacts[i].name;

			if (!strncmp(a, "logs/", 5) && !strncmp(a + 5, name, strlen(name)) &&
			    (!a[5 + strlen(name)] || !strcmp(a + 5 + strlen(name), ".gz")))
				json_object_set_new(logs, name, json_string(t->artifacts[i].url));
		}
	}
	text = json_dumps(j, JSON_COMPACT);
	if (text) {
		sbuf_reset(&t->result);
		sbuf_adds(&t->result, text);
		free(text);
	}
	json_decref(j);
}

static void report_final(struct task *t, bool revoked)
{
	struct report r = REPORT_INIT;
	int rc;

	r.task_id = t->id;
	r.state = t->state;
	r.worker = t->w->ident;
	r.time_ms = wctx_now_ms();
	point_logs_at_store(t);  /* before r.result borrows t->result */
	r.result = t->result.len ? t->result.buf : NULL;
	r.revoked = revoked;
	if (t->rr && r.result)
		r.success = t->rr->exit_code == ALTS_EXIT_PASS;
	r.artifacts = t->artifacts;
	r.nartifacts = t->nartifacts;
	r.pending = t->pending;
	r.npending = t->npending;
	r.error = t->error;
	rc = send_report(t, &r, true);
	if (rc) {
		/* Not confirmed (stopping, or the broker is gone): let it run again elsewhere. */
		finish(t, SETTLE_REQUEUE);
		return;
	}
	finish(t, SETTLE_ACK);
	idset_add(t->w->done, t->id, wctx_mono_ms());
	if (t->error)
		wlog(ALTS_LOG_WARN, "task.failed", t->id, "state=%s msg=%s", t->state, t->error);
	else
		wlog(ALTS_LOG_INFO, "task.finished", t->id, "state=%s success=%s", t->state,
		     t->rr && t->rr->exit_code == ALTS_EXIT_PASS ? "true" : "false");
}

void task_run(struct worker *w, struct job *j)
{
	struct task t = { 0 };
	struct task_msg m = TASK_MSG_INIT;
	struct alts_err err = ALTS_ERR_INIT;
	struct worker_cfg *wc = wctx_cfg_get(w);
	char *bad_id = NULL;
	bool active = false;

	t.w = w;
	t.j = j;
	t.c = wc->c;
	sbuf_init(&t.result, 0);
	for (size_t i = 0; i < TASK_NREPORTS; i++)
		sbuf_init(&t.reports[i], 0);
	t.arena = arena_new();
	if (!t.arena) {
		finish(&t, SETTLE_REQUEUE);
		goto out;
	}
	if (task_msg_parse(&m, &bad_id, j->body, j->len, j->message_id, &err)) {
		if (!bad_id) {
			wlog(ALTS_LOG_ERROR, "task.dropped", NULL, "queue=%s msg=%s", j->queue, err.msg);
			finish(&t, SETTLE_ACK);
			goto out;
		}
		snprintf(j->task_id, sizeof(j->task_id), "%s", bad_id);
		t.id = j->task_id;
		set_error(&t, "failed", "invalid task message: %s", err.msg);
		report_final(&t, false);
		goto out;
	}
	snprintf(j->task_id, sizeof(j->task_id), "%s", m.task_id);
	t.id = j->task_id;
	wlog_set_task(t.id);
	wlog(ALTS_LOG_INFO, "task.received", t.id, "queue=%s redelivered=%s", j->queue,
	     j->redelivered ? "true" : "false");
	if (idset_has(w->done, t.id, wctx_mono_ms())) {
		wlog(ALTS_LOG_INFO, "task.duplicate", t.id, "msg=finished here recently; acked");
		finish(&t, SETTLE_ACK);
		goto out;
	}
	if (!(active = idset_add(w->active, t.id, 0))) {
		if (pool_alias(w->pool, j)) {
			/* Settled with the run in progress (acked when it reports). */
			wlog(ALTS_LOG_INFO, "task.duplicate", t.id, "msg=running here; settled with that run");
			goto out;
		}
		wlog(ALTS_LOG_INFO, "task.duplicate", t.id, "msg=already taken here; acked");
		finish(&t, SETTLE_ACK);
		goto out;
	}
	if (idset_has(w->canceled, t.id, wctx_mono_ms())) {
		t.state = "revoked";
		wlog(ALTS_LOG_INFO, "task.revoked", t.id, "running=false");
		report_final(&t, true);
		goto out;
	}
	send_state(&t, "received", 0, -1, NULL);
	if (!make_dir(&t))
		run_suite(&t, &m);
	if (!t.state) {
		wlog(ALTS_LOG_INFO, "task.requeued", t.id, "msg=stopped by shutdown");
		finish(&t, SETTLE_REQUEUE);
		goto out;
	}
	if (t.rr)
		store_artifacts(&t);
	if (!strcmp(t.state, "revoked"))
		wlog(ALTS_LOG_INFO, "task.revoked", t.id, "running=true");
	report_final(&t, !strcmp(t.state, "revoked"));
out:
	wlog_set_task(NULL);
	if (active)
		idset_remove(w->active, t.id);
	if (t.dir)
		fs_remove_tree(t.dir);
	alts_free(t.dir);
	artifact_spool_batch_free(t.batch);
	artifact_store_free(t.store);
	for (size_t i = 0; i < TASK_NREPORTS; i++)
		sbuf_release(&t.reports[i]);
	alts_free(bad_id);
	alts_free(t.error_buf);
	run_result_free(t.rr);
	suite_free(t.suite);
	task_msg_release(&m);
	sbuf_release(&t.result);
	arena_free(t.arena);
	wctx_cfg_put(w, wc);
	wctx_task_done(w);
}
