#ifndef ALTS_WORKER_OPTS_H
#define ALTS_WORKER_OPTS_H

#include "framework/conf.h"

/* alts-worker's command-line options (worker_run); its own header so the worker's modules can keep a copy. */
struct worker_opts {
	const char *config_path;   /* required */
	struct strlist queues;     /* --queues; n == 0: worker_queues from the config */
	long concurrency;          /* --concurrency; 0: worker_concurrency */
	long max_tasks;            /* --max-tasks (--once: 1); 0: no limit */
};

#endif
