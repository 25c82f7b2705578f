/*
 * report_sample: writes the synthetic run of tests/unit/report_fixture.h
 * through the real reporters, so tests/integration can feed the files to
 * real consumers (prove, tap-parser, xmllint, jq).
 *
 *   report_sample [--only 1|2] [--tap F [--tap-version 13|14]] [--junit F]
 *                 [--json F] [--console F [--color] [--verbose]]
 *
 * Exit status: 0 when every file was written, 2 for bad usage, 3 when a
 * reporter failed.
 */
#include "framework/common.h"
#include "framework/exitcode.h"
#include "reporters/reporter.h"
#include "tests/unit/report_fixture.h"

struct sample_opts {
	int only;
	const char *tap, *junit, *json, *console;
	struct reporter_opts tap_opts, console_opts;
};

static int usage(void)
{
	fprintf(stderr, "usage: report_sample [--only 1|2] [--tap FILE [--tap-version 13|14]] [--junit FILE]\n"
			"                     [--json FILE] [--console FILE [--color] [--verbose]]\n");
	return ALTS_EXIT_INVALID;
}

static bool parse_int(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 1000)
		return false;
	*out = (int)v;
	return true;
}

static int parse_args(struct sample_opts *o, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--color")) {
			o->console_opts.color = true;
			continue;
		}
		if (!strcmp(a, "--verbose")) {
			o->console_opts.verbose = true;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(a, "--tap"))
			o->tap = v;
		else if (!strcmp(a, "--junit"))
			o->junit = v;
		else if (!strcmp(a, "--json"))
			o->json = v;
		else if (!strcmp(a, "--console"))
			o->console = v;
		else if (!strcmp(a, "--tap-version") && parse_int(v, &o->tap_opts.tap_version))
			continue;
		else if (!strcmp(a, "--only") && parse_int(v, &o->only) && o->only <= 2)
			continue;
		else
			return -1;
	}
	return 0;
}

static int add(struct reporter_set *set, const char *name, const char *path, struct reporter_opts opts)
{
	struct alts_err err = ALTS_ERR_INIT;
	int rc;

	if (!path)
		return 0;
	opts.path = path;
	rc = reporter_set_add(set, name, &opts, &err);
	if (rc)
		fprintf(stderr, "report_sample: %s\n", err.msg);
	return rc;
}

int main(int argc, char **argv)
{
	struct sample_opts o = { 0 };
	struct reporter_opts plain = { 0 };
	struct reporter_set *set = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	struct rf_run run;
	int rc;

	if (parse_args(&o, argc, argv))
		return usage();
	if (reporter_set_new(&set)) {
		fprintf(stderr, "report_sample: out of memory\n");
		return ALTS_EXIT_ENV;
	}
	if (add(set, "tap", o.tap, o.tap_opts) || add(set, "junit", o.junit, plain) ||
	    add(set, "json", o.json, plain) || add(set, "console", o.console, o.console_opts)) {
		reporter_set_free(set);
		return ALTS_EXIT_INVALID;
	}
	rf_run_init(&run, o.only);
	rc = rf_emit(set, &run, &err);
	if (rc)
		fprintf(stderr, "report_sample: %s\n", err.msg);
	reporter_set_free(set);
	rf_run_release(&run);
	return rc ? ALTS_EXIT_ENV : ALTS_EXIT_PASS;
}
