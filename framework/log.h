#ifndef ALTS_LOG_H
#define ALTS_LOG_H

/*
 * Diagnostics for operators, on stderr (text or JSON lines). What a user
 * must read travels in struct alts_err instead. Never log secrets.
 */
enum alts_log_level {
	ALTS_LOG_ERROR = 0,
	ALTS_LOG_WARN,
	ALTS_LOG_INFO,
	ALTS_LOG_DEBUG,
	ALTS_LOG_TRACE,
};

extern int alts_log_threshold;

/* Sets the level from a name ("error".."trace"); ALTS_EINVALID if unknown. */
int alts_log_set_level(const char *name);
void alts_log_set_json(int on);

/*
 * Sends every line to sink instead of stderr (NULL: back to stderr), e.g.
 * the worker's logfmt lines with the task id. sink gets the formatted
 * message (errno text included), is called from any thread, and must not
 * log itself.
 */
typedef void (*alts_log_sink_fn)(int level, const char *comp, const char *msg, void *payload);
void alts_log_set_sink(alts_log_sink_fn sink, void *payload);

void alts_log_write(int level, const char *comp, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Tests the level before formatting anything. */
#define alts_log(level, comp, ...)                                     \
	do {                                                           \
		if ((level) <= alts_log_threshold)                     \
			alts_log_write((level), (comp), 0, __VA_ARGS__); \
	} while (0)

#define alts_log_errno(level, comp, errnum, ...)                           \
	do {                                                               \
		if ((level) <= alts_log_threshold)                         \
			alts_log_write((level), (comp), (errnum), __VA_ARGS__); \
	} while (0)

#endif
