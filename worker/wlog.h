#ifndef ALTS_WORKER_WLOG_H
#define ALTS_WORKER_WLOG_H

#include <stddef.h>

#include "framework/log.h"

/*
 * The worker's structured log: one logfmt line per event on stderr,
 *   ts=2026-11-26T00:40:00.123Z level=info event=task.started task=<id> queue=... msg="..."
 * `task` is "-" for events that belong to no task. The level threshold is
 * framework/log.h's (alts_log_threshold, --log-level). fmt adds more
 * key=value pairs (values with spaces quoted by the caller with wlog_q
 * not needed: use msg=%s through wlog_msg). Thread-safe: one write per line.
 */
void wlog_write(int level, const char *event, const char *task, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * s as a logfmt value: as is when it is a plain word, else quoted with
 * '"' and '\\' escaped (cut to fit size). Returns s or buf.
 */
const char *wlog_quote(char *buf, size_t size, const char *s);

/*
 * Routes the framework's own log lines (engine, runners, checks) through
 * the same format, as event=log with comp= and the task id of the calling
 * thread (wlog_set_task). Call once at start.
 */
void wlog_capture_framework(void);
/* The task the calling thread works on (borrowed until reset); NULL: none. */
void wlog_set_task(const char *task);

#define wlog(level, event, task, ...)                                      \
	do {                                                               \
		if ((level) <= alts_log_threshold)                         \
			wlog_write((level), (event), (task), __VA_ARGS__); \
	} while (0)

#endif
