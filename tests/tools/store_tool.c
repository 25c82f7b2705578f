/*
 * store_tool: drives an artifact store from a worker config, for
 * tests/integration/t_artifact_stores.sh (tests only).
 *
 *   store_tool CONFIG put-file KEY PATH [CONTENT_TYPE]
 *   store_tool CONFIG put-bytes KEY TEXT
 *   store_tool CONFIG put-summary TASK_ID JSON
 *   store_tool CONFIG get KEY [MAX]        the object (at most MAX bytes) on stdout;
 *                                          "capped" on stderr when it was cut
 *   store_tool CONFIG url KEY
 *   store_tool CONFIG spool-put-file KEY PATH   prints "uploaded" or "spooled"
 *   store_tool CONFIG flush-spool          prints "delivered N remaining M"
 *   store_tool CONFIG parallel-put N KEY_PREFIX PATH   N threads, one store
 *   store_tool CONFIG gzip SRC DST
 *
 * The spool is the config's spool_directory. Errors go to stderr; the exit
 * status is 0, 2 (invalid input), 3 (the store failed) or 4 (not found).
 */
#include "framework/common.h"
#include "engine/config_load.h"

#include <pthread.h>
#include <unistd.h>

#include "framework/sbuf.h"
#include "reporters/stores/artifact_store.h"
#include "reporters/stores/spool.h"
#include "farm/farm_config.h"

struct tool {
	struct farm_config *cfg;
	struct artifact_store *store;
	int argc;
	char **argv;  /* after the command name */
	struct alts_err err;
};

static int need_args(struct tool *t, int n, const char *usage)
{
	if (t->argc < n)
		return alts_err_set(&t->err, ALTS_EINVALID, "usage: store_tool CONFIG %s", usage);
	return 0;
}

static int cmd_put_file(struct tool *t)
{
	int rc = need_args(t, 2, "put-file KEY PATH [CONTENT_TYPE]");

	return rc ? rc
		  : artifact_store_put_file(t->store, t->argv[0], t->argv[1], t->argc > 2 ? t->argv[2] : NULL, &t->err);
}

static int cmd_put_bytes(struct tool *t)
{
	int rc = need_args(t, 2, "put-bytes KEY TEXT");

	return rc ? rc
		  : artifact_store_put_bytes(t->store, t->argv[0], t->argv[1], strlen(t->argv[1]), NULL, &t->err);
}

static int cmd_put_summary(struct tool *t)
{
	int rc = need_args(t, 2, "put-summary TASK_ID JSON");

	return rc ? rc
		  : artifact_store_put_summary(t->store, t->argv[0], t->argv[1], strlen(t->argv[1]), &t->err);
}

static int cmd_get(struct tool *t)
{
	struct sbuf out = SBUF_INIT;
	int rc = need_args(t, 1, "get KEY [MAX]");
	size_t max = t->argc > 1 ? strtoul(t->argv[1], NULL, 10) : 0;

	if (!rc)
		rc = artifact_store_get(t->store, t->argv[0], &out, max, &t->err);
	if (!rc) {
		fwrite(out.buf, 1, out.len, stdout);
		if (out.capped)
			fprintf(stderr, "capped\n");
	}
	sbuf_release(&out);
	return rc;
}

static int cmd_url(struct tool *t)
{
	char *url = NULL;
	int rc = need_args(t, 1, "url KEY");

	if (!rc)
		rc = artifact_store_url(t->store, t->argv[0], &url, &t->err);
	if (!rc)
		printf("%s\n", url);
	alts_free(url);
	return rc;
}

static int cmd_spool_put_file(struct tool *t)
{
	bool spooled = false;
	int rc = need_args(t, 2, "spool-put-file KEY PATH");

	if (!rc)
		rc = artifact_spool_put_file(t->store, t->cfg->spool_directory, t->argv[0], t->argv[1], NULL, &spooled,
					     &t->err);
	if (!rc) {
		printf("%s\n", spooled ? "spooled" : "uploaded");
		if (spooled)
			fprintf(stderr, "store_tool: upload failed: %s\n", t->err.msg);
	}
	return rc;
}

static int cmd_flush_spool(struct tool *t)
{
	size_t delivered = 0, remaining = 0;
	int rc = artifact_spool_flush(t->store, t->cfg->spool_directory, &delivered, &remaining, &t->err);

	printf("delivered %zu remaining %zu\n", delivered, remaining);
	return rc;
}

struct put_job {
	struct tool *t;
	char *key;
	const char *path;
	struct alts_err err;
	int rc;
};

static void *put_thread(void *arg)
{
	struct put_job *j = arg;

	j->rc = artifact_store_put_file(j->t->store, j->key, j->path, NULL, &j->err);
	return NULL;
}

/* N threads upload through the one store at once: the store must be thread-safe. */
static int cmd_parallel_put(struct tool *t)
{
	long n = t->argc > 0 ? strtol(t->argv[0], NULL, 10) : 0;
	struct put_job jobs[32];
	pthread_t th[32];
	int rc = need_args(t, 3, "parallel-put N KEY_PREFIX PATH");

	if (rc)
		return rc;
	if (n < 1 || n > 32)
		return alts_err_set(&t->err, ALTS_EINVALID, "N must be 1..32");
	for (long i = 0; i < n; i++) {
		jobs[i] = (struct put_job){ .t = t, .path = t->argv[2] };
		jobs[i].key = alts_asprintf("%s%ld", t->argv[1], i);
		if (!jobs[i].key || pthread_create(&th[i], NULL, put_thread, &jobs[i]))
			abort();
	}
	for (long i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].rc && !rc) {
			rc = jobs[i].rc;
			t->err = jobs[i].err;
		}
		alts_free(jobs[i].key);
	}
	return rc;
}

static int cmd_gzip(struct tool *t)
{
	int rc = need_args(t, 2, "gzip SRC DST");

	return rc ? rc : artifact_gzip_file(t->argv[0], t->argv[1], &t->err);
}

static const struct {
	const char *name;
	int (*fn)(struct tool *t);
} commands[] = {
	{ "put-file", cmd_put_file },
	{ "put-bytes", cmd_put_bytes },
	{ "put-summary", cmd_put_summary },
	{ "get", cmd_get },
	{ "url", cmd_url },
	{ "spool-put-file", cmd_spool_put_file },
	{ "flush-spool", cmd_flush_spool },
	{ "parallel-put", cmd_parallel_put },
	{ "gzip", cmd_gzip },
};

static int exit_status(int rc)
{
	return rc == ALTS_ENOTFOUND ? 4 : rc == ALTS_EINVALID ? 2 : 3;
}

int main(int argc, char **argv)
{
	struct tool t = { .err = ALTS_ERR_INIT };
	struct artifact_store_config scfg;
	int (*fn)(struct tool *) = NULL;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: store_tool CONFIG COMMAND ARGS...\n");
		return 2;
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(commands); i++) {
		if (!strcmp(commands[i].name, argv[2]))
			fn = commands[i].fn;
	}
	if (!fn) {
		fprintf(stderr, "store_tool: unknown command '%s'\n", argv[2]);
		return 2;
	}
	rc = farm_config_load(&t.cfg, argv[1], &t.err);
	if (!rc) {
		farm_config_artifact_store(t.cfg, &scfg);
		rc = artifact_store_open(&t.store, &scfg, &t.err);
	}
	if (!rc) {
		t.argc = argc - 3;
		t.argv = argv + 3;
		rc = fn(&t);
	}
	if (rc)
		fprintf(stderr, "store_tool: %s\n", t.err.msg);
	artifact_store_free(t.store);
	farm_config_free(t.cfg);
	return rc ? exit_status(rc) : 0;
}
