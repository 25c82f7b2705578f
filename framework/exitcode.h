#ifndef ALTS_EXITCODE_H
#define ALTS_EXITCODE_H

/* Process exit statuses of every alts executable. */
enum alts_exit {
	ALTS_EXIT_PASS = 0,    /* every check passed (or was skipped) */
	ALTS_EXIT_FAIL = 1,    /* at least one check failed */
	ALTS_EXIT_INVALID = 2, /* usage error or invalid suite/config */
	ALTS_EXIT_ENV = 3,     /* the environment failed: runner, tools, I/O */
};

#endif
