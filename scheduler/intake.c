#include "framework/common.h"
#include "framework/log.h"
#include "scheduler/intake.h"

#include <pthread.h>

/* A bound on one transaction, so the first callers of a burst are not held back by the last. */
#define INTAKE_BATCH_MAX 1024

struct intake {
	struct store *store;
	struct outbox *outbox;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct intake_task *head;  /* handed in, oldest first */
	struct intake_task **tail;
	bool stopping;
};

/* Commits one batch (a list of at most INTAKE_BATCH_MAX tasks) and calls back. */
static void commit_batch(struct intake *in, struct intake_task *list, size_t n)
{
	struct store_new_task rows[INTAKE_BATCH_MAX];
	struct alts_err err = ALTS_ERR_INIT;
	struct intake_task *t, *next;
	size_t i = 0;

	for (t = list; t; t = t->next)
		rows[i++] = t->row;
	if (store_insert_many(in->store, rows, n, &err))
		alts_log(ALTS_LOG_ERROR, "intake", "%s", err.msg);
	if (in->outbox)
		outbox_kick(in->outbox);
	i = 0;
	for (t = list; t; t = next) {
		next = t->next;  /* t belongs to its caller again once done runs */
		t->next = NULL;
		t->row.rc = rows[i++].rc;
		t->done(t, t->payload);
	}
}

static void *intake_main(void *arg)
{
	struct intake *in = arg;

	pthread_mutex_lock(&in->lock);
	for (;;) {
		struct intake_task *list, **cut;
		size_t n = 0;

		while (!in->head && !in->stopping)
			pthread_cond_wait(&in->cond, &in->lock);
		if (!in->head)
			break;  /* stopping, and everything handed in is committed */
		list = in->head;
		for (cut = &in->head; *cut && n < INTAKE_BATCH_MAX; cut = &(*cut)->next)
			n++;
		in->head = *cut;
		*cut = NULL;
		if (!in->head)
			in->tail = &in->head;
		pthread_mutex_unlock(&in->lock);
		commit_batch(in, list, n);
		pthread_mutex_lock(&in->lock);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

int intake_start(struct intake **out, struct store *store, struct outbox *outbox, struct alts_err *err)
{
	struct intake *in = alts_calloc(1, sizeof(*in));

	if (!in)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	in->store = store;
	in->outbox = outbox;
	in->tail = &in->head;
	pthread_mutex_init(&in->lock, NULL);
	pthread_cond_init(&in->cond, NULL);
	if (pthread_create(&in->thread, NULL, intake_main, in)) {
		pthread_cond_destroy(&in->cond);
		pthread_mutex_destroy(&in->lock);
		alts_free(in);
		return alts_err_set(err, ALTS_EENV, "cannot start the intake thread");
	}
	*out = in;
	return 0;
}

int intake_submit(struct intake *in, struct intake_task *t)
{
	pthread_mutex_lock(&in->lock);
	if (in->stopping) {
		pthread_mutex_unlock(&in->lock);
		return ALTS_ECANCELED;
	}
	t->next = NULL;
	*in->tail = t;
	in->tail = &t->next;
	pthread_cond_signal(&in->cond);
	pthread_mutex_unlock(&in->lock);
	return 0;
}

void intake_stop(struct intake *in)
{
	bool join;

	if (!in)
		return;
	pthread_mutex_lock(&in->lock);
	join = !in->stopping;
	in->stopping = true;
	pthread_cond_signal(&in->cond);
	pthread_mutex_unlock(&in->lock);
	if (join)
		pthread_join(in->thread, NULL);
}

void intake_free(struct intake *in)
{
	if (!in)
		return;
	intake_stop(in);
	pthread_cond_destroy(&in->cond);
	pthread_mutex_destroy(&in->lock);
	alts_free(in);
}
