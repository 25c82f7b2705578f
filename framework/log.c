#include "framework/common.h"
#include "framework/log.h"
#include "framework/sbuf.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

int alts_log_threshold = ALTS_LOG_WARN;
static int log_json;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };

int alts_log_set_level(const char *name)
{
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(level_names); i++) {
		if (!strcmp(name, level_names[i])) {
			alts_log_threshold = (int)i;
			return 0;
		}
	}
	return ALTS_EINVALID;
}

void alts_log_set_json(int on)
{
	log_json = on;
}

static alts_log_sink_fn log_sink;
static void *log_sink_payload;

void alts_log_set_sink(alts_log_sink_fn sink, void *payload)
{
	pthread_mutex_lock(&log_lock);
	log_sink = sink;
	log_sink_payload = payload;
	pthread_mutex_unlock(&log_lock);
}

static void json_quote(struct sbuf *sb, const char *s)
{
	sbuf_addch(sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sbuf_addf(sb, "\\%c", c);
		else if (c < 0x20)
			sbuf_addf(sb, "\\u%04x", c);
		else
			sbuf_addch(sb, (char)c);
	}
	sbuf_addch(sb, '"');
}

void alts_log_write(int level, const char *comp, int errnum, const char *fmt, ...)
{
	struct sbuf line = SBUF_INIT, msg = SBUF_INIT;
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (errnum)
		sbuf_addf(&msg, ": %s", strerror(errnum));
	if (log_sink) {
		log_sink(level, comp, msg.buf, log_sink_payload);
		sbuf_release(&msg);
		return;
	}

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (level < 0 || level >= (int)ALTS_ARRAY_SIZE(level_names))
		level = ALTS_LOG_ERROR;

	if (log_json) {
		sbuf_addf(&line, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"comp\":", stamp,
			  ts.tv_nsec / 1000000, level_names[level]);
		json_quote(&line, comp);
		sbuf_adds(&line, ",\"msg\":");
		json_quote(&line, msg.buf);
		sbuf_adds(&line, "}\n");
	} else {
		sbuf_addf(&line, "%s.%03ldZ %-5s %s: %s\n", stamp, ts.tv_nsec / 1000000,
			  level_names[level], comp, msg.buf);
	}
	pthread_mutex_lock(&log_lock);
	fputs(line.buf, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
	sbuf_release(&line);
	sbuf_release(&msg);
}
