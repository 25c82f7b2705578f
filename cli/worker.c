/* alts-worker: runs the scheduler's tasks from RabbitMQ (docs/worker.md). */
#include "framework/common.h"
#include "framework/exitcode.h"
#include "framework/log.h"
#include "worker/worker.h"

#include <getopt.h>

static const char usage_text[] =
	"usage: alts-worker -c CONFIG [options]   (CONFIG: default $CELERY_CONFIG_PATH)\n"
	"\n"
	"Consumes task queues from RabbitMQ, runs each task's suite, stores the reports\n"
	"and logs in the artifact store and reports the results to the scheduler.\n"
	"\n"
	"  -c, --config FILE     the scheduler/worker config (YAML; required)\n"
	"  --queues A,B          queues to consume (default: worker_queues from the config,\n"
	"                        else one per image in the cache or in worker_images)\n"
	"  --concurrency N       tasks run at once, also the prefetch (default: worker_concurrency)\n"
	"  --max-tasks N         stop after N tasks (requeueing anything prefetched)\n"
	"  --once                same as --max-tasks 1\n"
	"  --log-level LEVEL     error, warn, info (default), debug or trace\n"
	"  --version             print the version\n"
	"  -h, --help            this text\n"
	"\n"
	"Signals: SIGTERM/SIGINT stop gracefully (worker_grace_period), SIGHUP reloads the config.\n"
	"A queue for an architecture this host cannot run (no qemu-<arch> binfmt_misc handler)\n"
	"is a config error.\n"
	"Exit status: 0 after a clean stop, 2 usage or config error, 3 environment failure.\n";

static int fail_usage(const char *fmt, const char *arg)
{
	fputs("alts-worker: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\ntry 'alts-worker --help'\n", stderr);
	return ALTS_EXIT_INVALID;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Splits "a,b" into list (pointers into the copy in *buf). */
static int split_queues(struct strlist *list, char **buf, const char *arg)
{
	size_t n = 1;
	char *p;

	*buf = alts_strdup(arg);
	for (const char *q = arg; *q; q++)
		n += *q == ',';
	list->v = alts_calloc(n, sizeof(*list->v));
	if (!*buf || !list->v)
		return ALTS_ENOMEM;
	list->n = 0;
	p = *buf;
	for (;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (!*p)
			return ALTS_EINVALID;
		list->v[list->n++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

enum { OPT_QUEUES = 256, OPT_CONCURRENCY, OPT_MAX_TASKS, OPT_ONCE, OPT_LOG_LEVEL, OPT_VERSION };

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "max-tasks", required_argument, NULL, OPT_MAX_TASKS },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct worker_opts o = { 0 };
	struct alts_err err = ALTS_ERR_INIT;
	char *queues_buf = NULL;
	int opt, status = ALTS_EXIT_PASS, rc;

	alts_log_set_level("info");
	while ((opt = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c': o.config_path = optarg; break;
		case OPT_QUEUES:
			alts_free(queues_buf);
			alts_free(o.queues.v);
			rc = split_queues(&o.queues, &queues_buf, optarg);
			if (rc) {
				status = rc == ALTS_ENOMEM ? ALTS_EXIT_ENV
							   : fail_usage("--queues needs names separated by commas, not '%s'", optarg);
				goto out;
			}
			break;
		case OPT_CONCURRENCY:
			if (!parse_long(optarg, 1, 256, &o.concurrency)) {
				status = fail_usage("--concurrency needs a number from 1 to 256, not '%s'", optarg);
				goto out;
			}
			break;
		case OPT_MAX_TASKS:
			if (!parse_long(optarg, 1, LONG_MAX, &o.max_tasks)) {
				status = fail_usage("--max-tasks needs a positive number, not '%s'", optarg);
				goto out;
			}
			break;
		case OPT_ONCE: o.max_tasks = 1; break;
		case OPT_LOG_LEVEL:
			if (strcmp(optarg, "debug") && strcmp(optarg, "info") && strcmp(optarg, "warn") &&
			    strcmp(optarg, "error") && strcmp(optarg, "trace")) {
				status = fail_usage("unknown log level '%s' (debug, info, warn, error)", optarg);
				goto out;
			}
			alts_log_set_level(optarg);
			break;
		case OPT_VERSION: printf("alts-worker %s\n", ALTS_VERSION); goto out;
		case 'h': fputs(usage_text, stdout); goto out;
		default: fputs("try 'alts-worker --help'\n", stderr); status = ALTS_EXIT_INVALID; goto out;
		}
	}
	if (optind < argc) {
		status = fail_usage("unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!o.config_path && getenv("CELERY_CONFIG_PATH") && *getenv("CELERY_CONFIG_PATH"))
		o.config_path = getenv("CELERY_CONFIG_PATH");  /* ALTS's variable */
	if (!o.config_path) {
		status = fail_usage("%s", "no config given (-c CONFIG)");
		goto out;
	}
	rc = worker_run(&o, &err);
	if (rc) {
		fprintf(stderr, "alts-worker: error: %s\n", err.msg);
		status = rc == ALTS_EINVALID ? ALTS_EXIT_INVALID : ALTS_EXIT_ENV;
	}
out:
	alts_free(queues_buf);
	alts_free(o.queues.v);
	return status;
}
