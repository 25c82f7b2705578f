#include "framework/common.h"
#include "engine/config_load.h"
#include "framework/log.h"
#include "framework/notify.h"
#include "framework/sbuf.h"
#include "runners/image.h"
#include "worker/consumer.h"
#include "worker/pool.h"
#include "worker/queues.h"
#include "worker/publish.h"
#include "worker/task.h"
#include "worker/wctx.h"
#include "worker/wlog.h"
#include "worker/worker.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#define WORKER_TICK_MS 100
#define WORKER_ABORT_WAIT_MS 15000    /* after the grace period: aborted tasks get this long to go */
#define WORKER_LINGER_S 5.0           /* reports still queued at exit get this long */
#define WORKER_CANCELED_MAX 16384
#define WORKER_CANCELED_TTL_MS (24LL * 3600 * 1000)
#define WORKER_DONE_MAX 4096
#define WORKER_DONE_TTL_MS (6LL * 3600 * 1000)

/* Signal flags: the one piece of process state, as a signal handler needs. */
static volatile sig_atomic_t sig_stop;
static volatile sig_atomic_t sig_reload;

static void on_stop(int sig)
{
	ALTS_UNUSED(sig);
	sig_stop++;
}

static void on_reload(int sig)
{
	ALTS_UNUSED(sig);
	sig_reload = 1;
}

/* The pool's pool_run_fn: each job is a task message. */
static void run_task(struct job *j, void *payload)
{
	task_run(payload, j);
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool list_eq(const struct strlist *a, const struct strlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->v[i], b->v[i]))
			return false;
	}
	return true;
}

/* True when the new config needs new connections (broker, queues, exchange). */
static bool broker_changed(struct worker *w, const struct farm_config *a, const struct farm_config *b)
{
	return !str_eq(a->rabbitmq_host, b->rabbitmq_host) || a->rabbitmq_port != b->rabbitmq_port ||
	       a->rabbitmq_ssl_port != b->rabbitmq_ssl_port || a->use_ssl != b->use_ssl ||
	       !str_eq(a->rabbitmq_ssl_cacert, b->rabbitmq_ssl_cacert) ||
	       !str_eq(a->rabbitmq_ssl_cert, b->rabbitmq_ssl_cert) || !str_eq(a->rabbitmq_ssl_key, b->rabbitmq_ssl_key) ||
	       !str_eq(a->rabbitmq_user, b->rabbitmq_user) || !str_eq(a->rabbitmq_password, b->rabbitmq_password) ||
	       !str_eq(a->rabbitmq_vhost, b->rabbitmq_vhost) || !str_eq(a->results_queue, b->results_queue) ||
	       !str_eq(a->cancel_exchange, b->cancel_exchange) || a->worker_heartbeat != b->worker_heartbeat ||
	       (!w->opts.queues.n && !list_eq(&a->worker_queues, &b->worker_queues));
}

static void reload(struct worker *w)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct farm_config *c = NULL;
	struct worker_cfg *wc, *old;
	bool reconnect;

	if (farm_config_load(&c, w->opts.config_path, &err)) {
		wlog(ALTS_LOG_ERROR, "config.reload_failed", NULL, "msg=%s (keeping the old config)", err.msg);
		return;
	}
	if (!wctx_queues(w, c)->n || !c->results_queue || !*c->results_queue) {
		wlog(ALTS_LOG_ERROR, "config.reload_failed", NULL,
		     "msg=no queues or no results_queue in the new config (keeping the old config)");
		farm_config_free(c);
		return;
	}
	if (queues_check_host(wctx_queues(w, c), &err)) {
		wlog(ALTS_LOG_ERROR, "config.reload_failed", NULL, "msg=%s (keeping the old config)", err.msg);
		farm_config_free(c);
		return;
	}
	wc = alts_calloc(1, sizeof(*wc));
	if (!wc) {
		farm_config_free(c);
		return;
	}
	wc->c = c;
	wc->refs = 1;
	pthread_mutex_lock(&w->cfg_lock);
	old = w->cfg;
	reconnect = broker_changed(w, old->c, c);
	w->cfg = wc;
	pthread_mutex_unlock(&w->cfg_lock);
	if (c->worker_concurrency != old->c->worker_concurrency && w->opts.concurrency <= 0)
		wlog(ALTS_LOG_WARN, "config.reload", NULL, "msg=worker_concurrency changes need a restart");
	wctx_cfg_put(w, old);
	wlog(ALTS_LOG_INFO, "config.reloaded", NULL, "path=%s reconnect=%s", w->opts.config_path,
	     reconnect ? "true" : "false");
	if (reconnect) {
		consumer_reconnect(w->consumer);
		publisher_reconnect(w->publisher);
	}
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_reload;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The caller's thread: signals, graceful stop, --max-tasks. */
static void supervise(struct worker *w)
{
	int64_t grace_end = 0, abort_end = 0;
	int handled_stops = 0;

	for (;;) {
		int64_t now = wctx_mono_ms();
		int phase = atomic_load(&w->phase);

		if (sig_reload) {
			sig_reload = 0;
			alts_notify("RELOADING=1");
			reload(w);
			alts_notify("READY=1");
		}
		if (sig_stop > handled_stops) {
			handled_stops = sig_stop;
			if (phase == WORKER_RUNNING) {
				struct worker_cfg *wc = wctx_cfg_get(w);

				grace_end = now + (int64_t)(wc->c->worker_grace_period * 1000);
				wctx_cfg_put(w, wc);
				wlog(ALTS_LOG_INFO, "worker.stopping", NULL, "running=%zu grace_ms=%lld",
				     pool_load(w->pool), (long long)(grace_end - now));
				alts_notify("STOPPING=1");
				consumer_pause(w->consumer);
				atomic_store(&w->phase, WORKER_DRAINING);
			} else if (phase == WORKER_DRAINING) {
				grace_end = now;  /* a second signal: do not wait */
			}
			continue;
		}
		if (phase == WORKER_RUNNING && atomic_load(&w->max_reached)) {
			consumer_pause(w->consumer);
			atomic_store(&w->phase, WORKER_DRAINING);
			grace_end = INT64_MAX;
			continue;
		}
		if (phase != WORKER_RUNNING && pool_load(w->pool) == 0)
			break;
		if (phase == WORKER_DRAINING && now >= grace_end) {
			wlog(ALTS_LOG_WARN, "worker.grace_over", NULL, "running=%zu msg=aborting and requeueing",
			     pool_load(w->pool));
			pool_abort_all(w->pool, JOB_STOP_SHUTDOWN);
			atomic_store(&w->phase, WORKER_ABORTING);
			abort_end = now + WORKER_ABORT_WAIT_MS;
		}
		if (phase == WORKER_ABORTING && now >= abort_end)
			break;
		usleep(WORKER_TICK_MS * 1000);
	}
}

static int hostname_ident(char *buf, size_t size)
{
	char host[128] = "localhost";

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	return str_fmt(buf, size, "%s/%ld", host, (long)getpid()) ? 0 : ALTS_ERROR;
}

int worker_run(const struct worker_opts *o, struct alts_err *err)
{
	struct worker w;
	struct farm_config *c = NULL;
	int rc;

	memset(&w, 0, sizeof(w));
	w.opts = *o;
	pthread_mutex_init(&w.cfg_lock, NULL);
	rc = farm_config_load(&c, o->config_path, err);
	if (rc)
		goto out;
	if (!o->queues.n && !c->worker_queues.n) {
		w.image_queues_arena = arena_new();
		rc = w.image_queues_arena ? queues_from_images(&w.image_queues, w.image_queues_arena, c, err)
					  : alts_err_set(err, ALTS_ENOMEM, "out of memory");
		if (rc)
			goto out;
	}
	if (!wctx_queues(&w, c)->n) {
		rc = alts_err_set(err, ALTS_EINVALID,
				  "%s: no queues to consume (set worker_queues, use --queues, or add images to %s)",
				  o->config_path, image_cache_dir());
		goto out;
	}
	rc = queues_check_host(wctx_queues(&w, c), err);
	if (rc) {
		alts_err_prefix(err, "%s", o->config_path);
		goto out;
	}
	if (!c->results_queue || !*c->results_queue) {
		rc = alts_err_set(err, ALTS_EINVALID, "%s: results_queue: must not be empty for the worker",
				  o->config_path);
		goto out;
	}
	rc = config_load(&w.engine_config, NULL, err);
	if (rc)
		goto out;
	/* A farm never trusts an image's package index: every install refreshes it. */
	w.engine_config->index_max_age = 0;
	if (c->uninstall_excluded_pkgs.n) {
		/* ALTS's uninstall_excluded_pkgs: the uninstall check leaves them out, as protected packages. */
		struct strlist *pp = &w.engine_config->protected_packages;
		const char **v = arena_alloc(w.engine_config->arena, (pp->n + c->uninstall_excluded_pkgs.n) * sizeof(*v));

		if (!v) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < pp->n; i++)
			v[i] = pp->v[i];
		for (size_t i = 0; i < c->uninstall_excluded_pkgs.n; i++)
			v[pp->n + i] = arena_strdup(w.engine_config->arena, c->uninstall_excluded_pkgs.v[i]);
		pp->v = v;
		pp->n += c->uninstall_excluded_pkgs.n;
	}
	w.cfg = alts_calloc(1, sizeof(*w.cfg));
	w.canceled = idset_new(WORKER_CANCELED_MAX, WORKER_CANCELED_TTL_MS);
	w.done = idset_new(WORKER_DONE_MAX, WORKER_DONE_TTL_MS);
	w.active = idset_new(1024, 0);
	if (!w.cfg || !w.canceled || !w.done || !w.active) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	w.cfg->c = c;
	w.cfg->refs = 1;
	c = NULL;
	hostname_ident(w.ident, sizeof(w.ident));
	wlog_capture_framework();
	install_signals();
	rc = publisher_start(&w.publisher, &w, err);
	if (!rc)
		rc = pool_start(&w.pool, &w, (int)(o->concurrency > 0 ? o->concurrency : w.cfg->c->worker_concurrency),
				run_task, &w, err);
	if (!rc)
		rc = consumer_start(&w.consumer, &w, err);
	if (rc)
		goto stop;
	{
		const struct strlist *q = wctx_queues(&w, w.cfg->c);
		struct sbuf names = SBUF_INIT;

		for (size_t i = 0; i < q->n; i++)
			sbuf_addf(&names, "%s%s", i ? "," : "", q->v[i]);
		wlog(ALTS_LOG_INFO, "worker.started", NULL, "worker=%s concurrency=%ld config=%s queues=%s", w.ident,
		     o->concurrency > 0 ? o->concurrency : w.cfg->c->worker_concurrency, o->config_path, names.buf);
		sbuf_release(&names);
	}
	alts_notify("READY=1"); /* systemd Type=notify: consuming */
	supervise(&w);
stop:
	/* Order: the pool must not wait on a publisher that is gone, the consumer sends the last settles. */
	atomic_store(&w.phase, WORKER_ABORTING);
	if (w.pool)
		pool_abort_all(w.pool, JOB_STOP_SHUTDOWN);
	publisher_stop(w.publisher, WORKER_LINGER_S);
	pool_stop(w.pool);
	consumer_stop(w.consumer);
	publisher_free(w.publisher);
	atomic_store(&w.phase, WORKER_STOPPED);
	if (!rc)
		wlog(ALTS_LOG_INFO, "worker.stopped", NULL, "tasks=%ld", atomic_load(&w.tasks_done));
out:
	farm_config_free(c);
	if (w.cfg)
		wctx_cfg_put(&w, w.cfg);
	idset_free(w.canceled);
	idset_free(w.done);
	idset_free(w.active);
	config_free(w.engine_config);
	arena_free(w.image_queues_arena);
	pthread_mutex_destroy(&w.cfg_lock);
	alts_log_set_sink(NULL, NULL);
	return rc;
}
