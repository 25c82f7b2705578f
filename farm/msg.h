#ifndef ALTS_FARM_MSG_H
#define ALTS_FARM_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "framework/err.h"

/*
 * The message shapes of docs/internals/worker-protocol.md: parsing task
 * messages and cancel messages (the worker), building reports (the
 * worker) and reading them back (the scheduler). Pure functions, no I/O.
 */

#define TASK_MSG_MAX_BYTES (8u << 20)

/* A task message; every string is the caller's (task_msg_release). */
struct task_msg {
	char *task_id;     /* always set on success */
	char *runner;      /* NULL when absent */
	char *queue;       /* NULL when absent */
	char *suite;       /* the suite as text (JSON, or the YAML/JSON string the message held) */
};

#define TASK_MSG_INIT { NULL, NULL, NULL, NULL }

/* True for a usable task id: 1..64 of [A-Za-z0-9._-], not starting with '.'. */
bool task_msg_id_ok(const char *id);

/*
 * Parses a task message. message_id (the AMQP property, may be NULL) is
 * the id when the body has none. On success 0 with *out filled. On
 * failure ALTS_EINVALID (or ALTS_ENOMEM) with the reason in err; then
 * *id_out (may be NULL) gets the task id when one could still be
 * identified (the caller's, alts_free), so the failure can be reported.
 */
int task_msg_parse(struct task_msg *out, char **id_out, const char *body, size_t len, const char *message_id,
		   struct alts_err *err);
void task_msg_release(struct task_msg *m);

/* The task id of a cancel message {"task_id": "..."}; NULL when malformed. Caller's (alts_free). */
char *cancel_msg_parse(const char *body, size_t len);

/* One artifact of a report. */
struct report_artifact {
	const char *name;   /* "report.tap", "logs/01-install.log" */
	const char *url;
};

/* A report; borrowed strings. */
struct report {
	const char *task_id;
	const char *state;          /* received, running, finished, failed, revoked */
	const char *worker;         /* <host>/<pid> */
	int64_t time_ms;
	long done, total;           /* progress; total < 0: none */
	const char *result;         /* JSON text of the result, or NULL */
	bool revoked;               /* adds "revoked": true to the result (an empty one when none) */
	int success;                /* 0/1: adds "success" to the result (when there is one); -1: not */
	const struct report_artifact *artifacts;
	size_t nartifacts;
	const char *const *pending; /* artifacts spooled for later upload */
	size_t npending;
	const char *error;          /* failed: why; NULL otherwise */
	const char *log;            /* running: text for the task's live log, or NULL */
};

#define REPORT_INIT { NULL, NULL, NULL, 0, 0, -1, NULL, false, -1, NULL, 0, NULL, 0, NULL, NULL }

/*
 * Builds the report's JSON (compact). A result that is not a JSON object
 * is kept under "result" as {"raw": "<text>"}. *out is the caller's
 * (alts_free).
 */
int report_build(char **out, const struct report *r, struct alts_err *err);

/*
 * Folds an unsent report into the later one of the same task that
 * supersedes it, so the two travel as one message: *out is newer with
 * older's "log" text in front of newer's, and older's "progress" and
 * "worker" where newer has none. The scheduler stores from the merged
 * report what it stores from the two in order (the live log, progress,
 * worker, the state), except that a task whose "running" was merged into
 * its end gets started_ms = finished_ms. Only a newer "running",
 * "finished" or "failed" report absorbs an older "received" or "running"
 * one; anything else is ALTS_EINVALID (send both, in order). *out is the
 * caller's (alts_free).
 */
int report_merge(char **out, const char *older, size_t olen, const char *newer, size_t nlen, struct alts_err *err);

#define REPORT_MAX_BYTES (4u << 20)
#define REPORT_WORKER_MAX 256
#define REPORT_ERROR_MAX 4096        /* a longer error is cut (it is a message, not data) */
#define REPORT_ARTIFACTS_MAX 1024
#define REPORT_LOG_CHUNK_MAX (256 << 10)

/* A report read back; every string is the struct's (report_in_release). */
struct report_in {
	char *task_id;              /* always set on success */
	char *state;                /* always set on success; not checked against the known states */
	char *worker;               /* NULL when absent or bad, as every optional field */
	char *result;               /* JSON object text */
	char *artifacts;            /* JSON object text {name: url} */
	char *artifacts_pending;    /* JSON array text [name] */
	char *error;
	char *log;                  /* cut at its first NUL byte */
	bool has_progress;
	int64_t progress_done, progress_total;
};

#define REPORT_IN_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, 0, 0 }

/* Told about an optional field that is left out: what was expected of it. */
typedef void (*report_warn_fn)(const char *task_id, const char *field, const char *expected, void *payload);

/*
 * Parses a report. ALTS_EINVALID when it is not a JSON object of at most
 * REPORT_MAX_BYTES with string task_id and state; ALTS_ENOMEM. A bad
 * optional field is left out and passed to warn (may be NULL); the
 * report still parses.
 */
int report_parse(struct report_in *out, const char *body, size_t len, report_warn_fn warn, void *payload);
void report_in_release(struct report_in *r);

#endif
