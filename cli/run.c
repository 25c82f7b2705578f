/* alts-run: runs YAML test suites locally and reports TAP, JUnit XML and JSON. */
#include "framework/common.h"
#include "engine/config_load.h"
#include "engine/suite_load.h"
#include "engine/engine.h"
#include "framework/exitcode.h"
#include "framework/log.h"
#include "checks/check_int.h"
#include "runners/runner.h"

#include <getopt.h>
#include <signal.h>
#include <unistd.h>

static volatile int interrupted;

static void on_signal(int sig)
{
	ALTS_UNUSED(sig);
	interrupted = 1;
}

struct cli {
	struct engine_opts eng;
	const char *tap, *junit, *json, *html, *config_path, *color, *dist;
	int tap_version;
	bool list, validate_only, verbose, quiet;
	char **suite_paths;
	int nsuites;
};

static const char usage_text[] =
	"usage: alts-run [options] SUITE.yaml...\n"
	"\n"
	"Runs package test suites in a clean environment and reports every check.\n"
	"\n"
	"Output:\n"
	"  --tap FILE|-          write TAP to FILE (- for stdout)\n"
	"  --tap-version 13|14   TAP version to write (default 13, which prove reads)\n"
	"  --junit FILE          write JUnit XML to FILE\n"
	"  --json FILE           write the JSON result (ALTS shape) to FILE\n"
	"  --html FILE           write a self-contained HTML report to FILE\n"
	"  --artifacts DIR       keep per-check logs under DIR (default: a new temporary dir)\n"
	"  -v, --verbose         stream each check's output\n"
	"  -q, --quiet           no console report (TAP/JUnit/JSON still written)\n"
	"  --color WHEN          auto (default), always or never; NO_COLOR is honoured\n"
	"\n"
	"Selection and environment:\n"
	"  --runner NAME         run on this runner instead of the suite's (known: %s)\n"
	"  --dist NAME[-VERSION] override the distribution, e.g. debian-12\n"
	"  --filter GLOB         run only checks whose name or kind matches GLOB\n"
	"  --keep-env            keep the environment after the run and print where it is\n"
	"  -j, --jobs N          run N suites in parallel (default 1)\n"
	"  --config FILE         alts config (default " ALTS_DEFAULT_CONFIG_PATH " if present)\n"
	"\n"
	"Other:\n"
	"  --list                print the checks of each suite and exit\n"
	"  --validate            check the suites and exit\n"
	"  --log-level LEVEL     error, warn (default), info, debug or trace\n"
	"  --version             print the version\n"
	"  -h, --help            this text\n"
	"\n"
	"Exit status: 0 all checks passed, 1 a check failed, 2 usage or suite error,\n"
	"3 environment failure (runner, tools, I/O).\n";

static void usage(FILE *f)
{
	const char *const *names = runner_names();
	char known[256] = "";
	size_t len = 0;

	for (; *names; names++)
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", len ? ", " : "", *names);
	fprintf(f, usage_text, known);
}

static int fail_usage(const char *fmt, const char *arg)
{
	fputs("alts-run: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\ntry 'alts-run --help'\n", stderr);
	return ALTS_EXIT_INVALID;
}

static bool parse_jobs(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 64)
		return false;
	*out = (int)v;
	return true;
}

/* "debian-12" -> debian, 12; "almalinux" -> almalinux. */
static void split_dist(struct cli *c)
{
	static char name[128], version[64];
	const char *dash = strrchr(c->dist, '-');

	if (dash && isdigit((unsigned char)dash[1])) {
		snprintf(name, sizeof(name), "%.*s", (int)(dash - c->dist), c->dist);
		snprintf(version, sizeof(version), "%s", dash + 1);
		c->eng.dist_name = name;
		c->eng.dist_version = version;
	} else {
		c->eng.dist_name = c->dist;
	}
}

enum {
	OPT_TAP = 256, OPT_TAP_VERSION, OPT_JUNIT, OPT_JSON, OPT_HTML, OPT_ARTIFACTS, OPT_RUNNER, OPT_DIST, OPT_FILTER,
	OPT_KEEP_ENV, OPT_CONFIG, OPT_LIST, OPT_VALIDATE, OPT_LOG_LEVEL, OPT_VERSION, OPT_COLOR,
};

static const struct option long_opts[] = {
	{ "tap", required_argument, NULL, OPT_TAP },
	{ "tap-version", required_argument, NULL, OPT_TAP_VERSION },
	{ "junit", required_argument, NULL, OPT_JUNIT },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "artifacts", required_argument, NULL, OPT_ARTIFACTS },
	{ "runner", required_argument, NULL, OPT_RUNNER },
	{ "dist", required_argument, NULL, OPT_DIST },
	{ "filter", required_argument, NULL, OPT_FILTER },
	{ "keep-env", no_argument, NULL, OPT_KEEP_ENV },
	{ "jobs", required_argument, NULL, 'j' },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "validate", no_argument, NULL, OPT_VALIDATE },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Returns -1 to go on, or an exit status. */
static int parse_args(struct cli *c, int argc, char **argv)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "j:vqh", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_TAP: c->tap = optarg; break;
		case OPT_TAP_VERSION:
			if (strcmp(optarg, "13") && strcmp(optarg, "14"))
				return fail_usage("--tap-version must be 13 or 14, not '%s'", optarg);
			c->tap_version = optarg[1] == '3' ? 13 : 14;
			break;
		case OPT_JUNIT: c->junit = optarg; break;
		case OPT_JSON: c->json = optarg; break;
		case OPT_HTML: c->html = optarg; break;
		case OPT_ARTIFACTS: c->eng.artifacts_dir = optarg; break;
		case OPT_RUNNER: c->eng.runner = optarg; break;
		case OPT_DIST: c->dist = optarg; break;
		case OPT_FILTER: c->eng.filter = optarg; break;
		case OPT_KEEP_ENV: c->eng.keep_env = true; break;
		case 'j':
			if (!parse_jobs(optarg, &c->eng.jobs))
				return fail_usage("-j needs a number from 1 to 64, not '%s'", optarg);
			break;
		case OPT_CONFIG: c->config_path = optarg; break;
		case OPT_LIST: c->list = true; break;
		case OPT_VALIDATE: c->validate_only = true; break;
		case OPT_LOG_LEVEL:
			if (alts_log_set_level(optarg))
				return fail_usage("unknown log level '%s' (error, warn, info, debug, trace)", optarg);
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "auto") && strcmp(optarg, "always") && strcmp(optarg, "never"))
				return fail_usage("--color must be auto, always or never, not '%s'", optarg);
			c->color = optarg;
			break;
		case 'v': c->verbose = true; break;
		case 'q': c->quiet = true; break;
		case OPT_VERSION: printf("alts-run %s\n", ALTS_VERSION); return ALTS_EXIT_PASS;
		case 'h': usage(stdout); return ALTS_EXIT_PASS;
		default: fputs("try 'alts-run --help'\n", stderr); return ALTS_EXIT_INVALID;
		}
	}
	if (optind >= argc)
		return fail_usage("%s", "no suite given");
	if (c->eng.runner) {
		bool known = false;

		for (const char *const *n = runner_names(); *n; n++)
			known |= !strcmp(*n, c->eng.runner);
		if (!known)
			return fail_usage("unknown runner '%s'", c->eng.runner);
	}
	if (c->dist)
		split_dist(c);
	c->suite_paths = argv + optind;
	c->nsuites = argc - optind;
	return -1;
}

static bool use_color(const struct cli *c, FILE *f)
{
	const char *no = getenv("NO_COLOR");

	if (c->color && !strcmp(c->color, "always"))
		return true;
	if (c->color && !strcmp(c->color, "never"))
		return false;
	if (no && *no)
		return false;
	return isatty(fileno(f));
}

/* The console's status line of running suites: on a terminal, not in CI, not on TERM=dumb. */
static bool live_status(FILE *f)
{
	const char *term = getenv("TERM"), *ci = getenv("CI");

	if (!isatty(fileno(f)) || (term && !strcmp(term, "dumb")))
		return false;
	return !ci || !*ci || !strcmp(ci, "0") || !strcmp(ci, "false");
}

static int open_reporters(struct reporter_set *set, const struct cli *c, const struct alts_config *cfg,
			  struct alts_err *err)
{
	struct reporter_opts o = { 0 };
	bool tap_stdout = c->tap && !strcmp(c->tap, "-");
	int rc = 0;

	o.tap_version = c->tap_version ? c->tap_version : 13;
	o.output_cap = cfg->output_tail;
	if (!c->quiet) {
		o.path = tap_stdout ? "stderr" : "-";
		o.color = use_color(c, tap_stdout ? stderr : stdout);
		o.verbose = c->verbose;
		o.live = live_status(tap_stdout ? stderr : stdout);
		rc = reporter_set_add(set, "console", &o, err);
	}
	o.color = false;
	o.verbose = false;
	o.live = false;
	if (!rc && c->tap) {
		o.path = c->tap;
		rc = reporter_set_add(set, "tap", &o, err);
	}
	if (!rc && c->junit) {
		o.path = c->junit;
		rc = reporter_set_add(set, "junit", &o, err);
	}
	if (!rc && c->json) {
		o.path = c->json;
		rc = reporter_set_add(set, "json", &o, err);
	}
	if (!rc && c->html) {
		o.path = c->html;
		rc = reporter_set_add(set, "html", &o, err);
	}
	return rc;
}

static void list_suite(const struct suite *s)
{
	printf("%s (%s)\n", s->name, s->path);
	for (size_t i = 0; i < s->nchecks; i++) {
		const struct suite_check *c = &s->checks[i];

		if (c->skip)
			printf("  %2zu. %-10s %s  [skip: %s]\n", i + 1, c->type, c->name, c->skip);
		else
			printf("  %2zu. %-10s %s\n", i + 1, c->type, c->name);
	}
}

static int load_suites(struct suite ***out, const struct cli *c)
{
	struct suite **suites = alts_calloc((size_t)c->nsuites, sizeof(*suites));
	int bad = 0;

	if (!suites) {
		fputs("alts-run: out of memory\n", stderr);
		return ALTS_EXIT_ENV;
	}
	for (int i = 0; i < c->nsuites; i++) {
		struct alts_err err = ALTS_ERR_INIT;
		int rc = suite_load_file(&suites[i], c->suite_paths[i], &err);

		if (rc) {
			fprintf(stderr, "alts-run: error: %s\n", err.msg);
			bad = rc == ALTS_ENOMEM ? ALTS_EXIT_ENV : ALTS_EXIT_INVALID;
		}
	}
	*out = suites;
	return bad;
}

static void free_suites(struct suite **suites, int n)
{
	for (int i = 0; suites && i < n; i++)
		suite_free(suites[i]);
	alts_free(suites);
}

static void install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int run(struct cli *c, struct suite **suites, struct alts_config *cfg)
{
	struct reporter_set *set = NULL;
	struct run_result *rr = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	int status;

	if (reporter_set_new(&set)) {
		fputs("alts-run: out of memory\n", stderr);
		return ALTS_EXIT_ENV;
	}
	if (open_reporters(set, c, cfg, &err)) {
		fprintf(stderr, "alts-run: error: %s\n", err.msg);
		reporter_set_free(set);
		return alts_err_exit_code(err.code);
	}
	c->eng.config = cfg;
	c->eng.cancel = &interrupted;
	install_signal_handlers();
	if (engine_run(&rr, suites, (size_t)c->nsuites, &c->eng, set, &err)) {
		fprintf(stderr, "alts-run: error: %s\n", err.msg);
		reporter_set_free(set);
		return ALTS_EXIT_ENV;
	}
	reporter_set_free(set);
	if (!c->quiet)
		fprintf(c->tap && !strcmp(c->tap, "-") ? stderr : stdout, "logs: %s\n", rr->artifacts_dir);
	/* -q silences the console, not the reason a run could not be done. */
	for (size_t i = 0; c->quiet && i < rr->nsuites; i++) {
		if (rr->suites[i]->bail_out)
			fprintf(stderr, "alts-run: environment failure in suite '%s': %s\n", rr->suites[i]->suite->name,
				rr->suites[i]->bail_out);
	}
	status = rr->exit_code;
	run_result_free(rr);
	return status;
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	struct engine_opts defaults = ENGINE_OPTS_INIT;
	struct suite **suites = NULL;
	struct alts_config *cfg = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	int status;

	c.eng = defaults;
	status = parse_args(&c, argc, argv);
	if (status >= 0)
		return status;
	if (config_load(&cfg, c.config_path, &err)) {
		fprintf(stderr, "alts-run: error: %s\n", err.msg);
		return alts_err_exit_code(err.code) == ALTS_EXIT_ENV ? ALTS_EXIT_ENV : ALTS_EXIT_INVALID;
	}
	status = load_suites(&suites, &c);
	if (status)
		goto out;
	/* --dist replaces the suites' distribution, so runners and images see it too. */
	for (int i = 0; c.eng.dist_name && i < c.nsuites; i++) {
		suites[i]->env.dist_name = c.eng.dist_name;
		suites[i]->env.dist_version = c.eng.dist_version;
	}
	if (c.list) {
		for (int i = 0; i < c.nsuites; i++)
			list_suite(suites[i]);
		goto out;
	}
	if (c.validate_only) {
		for (int i = 0; i < c.nsuites; i++)
			printf("%s: ok (%zu check%s)\n", suites[i]->path, suites[i]->nchecks,
			       suites[i]->nchecks == 1 ? "" : "s");
		goto out;
	}
	status = run(&c, suites, cfg);
out:
	free_suites(suites, c.nsuites);
	config_free(cfg);
	return status;
}
