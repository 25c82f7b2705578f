#include "framework/common.h"
#include "framework/sbuf.h"
#include "worker/wlog.h"

#include <stdarg.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };

/*
 * Appends the formatted pairs; a value that holds spaces, quotes or
 * control characters after "msg=" is quoted and escaped so each event
 * stays one parseable line.
 */
static void add_pairs(struct sbuf *line, const char *fmt, va_list ap)
{
	struct sbuf raw = SBUF_INIT;
	const char *m;

	sbuf_vaddf(&raw, fmt, ap);
	m = strstr(raw.buf, "msg=");
	if (!m || (m != raw.buf && m[-1] != ' ')) {
		sbuf_add(line, raw.buf, raw.len);
		goto out;
	}
	sbuf_add(line, raw.buf, (size_t)(m - raw.buf) + 4);
	sbuf_addch(line, '"');
	for (const char *p = m + 4; *p; p++) {
		if (*p == '"' || *p == '\\')
			sbuf_addf(line, "\\%c", *p);
		else if (*p == '\n')
			sbuf_adds(line, "\\n");
		else if ((unsigned char)*p < 0x20)
			sbuf_addch(line, ' ');
		else
			sbuf_addch(line, *p);
	}
	sbuf_addch(line, '"');
out:
	sbuf_release(&raw);
}

void wlog_write(int level, const char *event, const char *task, const char *fmt, ...)
{
	struct sbuf line = SBUF_INIT;
	struct timeval tv;
	struct tm tm;
	char ts[32];
	va_list ap;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (level < 0)
		level = 0;
	if (level > ALTS_LOG_TRACE)
		level = ALTS_LOG_TRACE;
	sbuf_addf(&line, "ts=%s.%03ldZ level=%s event=%s task=%s", ts, (long)(tv.tv_usec / 1000), level_names[level],
		  event, task && *task ? task : "-");
	if (fmt && *fmt) {
		sbuf_addch(&line, ' ');
		va_start(ap, fmt);
		add_pairs(&line, fmt, ap);
		va_end(ap);
	}
	sbuf_addch(&line, '\n');
	if (sbuf_ok(&line)) {
		ssize_t n = write(STDERR_FILENO, line.buf, line.len);

		ALTS_UNUSED(n);
	}
	sbuf_release(&line);
}

static _Thread_local const char *wlog_task;

void wlog_set_task(const char *task)
{
	wlog_task = task;
}

static void framework_sink(int level, const char *comp, const char *msg, void *payload)
{
	ALTS_UNUSED(payload);
	wlog_write(level, "log", wlog_task, "comp=%s msg=%s", comp, msg);
}

void wlog_capture_framework(void)
{
	alts_log_set_sink(framework_sink, NULL);
}

const char *wlog_quote(char *buf, size_t size, const char *s)
{
	size_t n = 0;
	bool plain = s && *s;

	for (const char *p = s; plain && *p; p++)
		plain = (unsigned char)*p > ' ' && *p != '"' && *p != '=' && *p != '\\';
	if (plain || size < 3)
		return s;
	buf[n++] = '"';
	for (const char *p = s ? s : ""; *p; p++) {
		size_t w = *p == '"' || *p == '\\' ? 2 : 1;

		if (n + w + 2 > size)  /* the closing quote and the NUL must fit */
			break;
		if (w == 2)
			buf[n++] = '\\';
		buf[n++] = (unsigned char)*p < ' ' ? ' ' : *p;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}
