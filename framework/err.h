#ifndef ALTS_ERR_H
#define ALTS_ERR_H

/*
 * Error codes: 0 is success, failures are negative. Only codes that a
 * caller acts on get their own value; everything else is ALTS_ERROR.
 */
enum {
	ALTS_OK = 0,
	ALTS_ERROR = -1,      /* generic failure, see err->msg */
	ALTS_ENOMEM = -2,     /* an allocation failed */
	ALTS_EINVALID = -3,   /* invalid input: suite, config, usage */
	ALTS_ENOTFOUND = -4,  /* a named thing does not exist */
	ALTS_ETIMEOUT = -5,   /* a deadline passed */
	ALTS_ECANCELED = -6,  /* stopped on request */
	ALTS_EINTERNAL = -7,  /* a bug: an assertion that failed in release */
	ALTS_EENV = -8,       /* the test environment failed (not the package) */
	ALTS_ECONFLICT = -9,  /* a thing of that name exists with other contents (a reused key) */
	ALTS_ENOTSUP = -10,   /* the backend cannot do this (a runner without snapshots) */
};

#define ALTS_ERR_MSG_MAX 2048

/*
 * A caller-owned error. The function that finds a failure writes the
 * message; callers pass the code up unchanged and may prepend context
 * with alts_err_prefix(), never replace the message.
 */
struct alts_err {
	int code;
	char msg[ALTS_ERR_MSG_MAX];
};

#define ALTS_ERR_INIT { 0, { 0 } }

/* Records code and message in err (may be NULL); returns code. */
int alts_err_set(struct alts_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like alts_err_set, appending ": strerror(errnum)". */
int alts_err_errno(struct alts_err *err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prepends "context: " to the message already in err. */
void alts_err_prefix(struct alts_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void alts_err_clear(struct alts_err *err);

/* Lowercase name of a code, for logs: "invalid input" and so on. */
const char *alts_err_name(int code);

/* Exit status for a code (see framework/exitcode.h). */
int alts_err_exit_code(int code);

/* Debug builds abort; release builds return ALTS_EINTERNAL. */
#ifdef NDEBUG
#define ALTS_ASSERT_ARG(x, err)                                                   \
	do {                                                                      \
		if (!(x))                                                         \
			return alts_err_set((err), ALTS_EINTERNAL,                \
					    "internal error: '%s' failed at %s:%d", #x, \
					    __FILE__, __LINE__);                  \
	} while (0)
#else
#include <assert.h>
#define ALTS_ASSERT_ARG(x, err) assert(x)
#endif

#endif
