/*
 * alts-submit: the CI side of alts. Runs suites with the alts-run next to
 * it (--local) or on a scheduler (--url), leaving the same files in one
 * directory either way, and merges JUnit reports of a matrix.
 */
#include "framework/common.h"
#include "framework/exitcode.h"
#include "framework/fs.h"
#include "framework/sbuf.h"
#include "client/junit_merge.h"
#include "client/remote.h"

#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <unistd.h>

#define SUBMIT_DEFAULT_OUT "alts-artifacts"
#define SUBMIT_SUITE_MAX ((size_t)4 << 20)
#define SUBMIT_TOKEN_MAX ((size_t)64 << 10)

static volatile int interrupted;

static void on_signal(int sig)
{
	ALTS_UNUSED(sig);
	interrupted = 1;
}

static int fail_usage(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "alts-submit: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\ntry 'alts-submit %s--help'\n", cmd);
	return ALTS_EXIT_INVALID;
}

static int fail_err(const struct alts_err *err)
{
	fprintf(stderr, "alts-submit: error: %s\n", err->msg);
	return alts_err_exit_code(err->code);
}

/* ---- submit ------------------------------------------------------------ */

static const char submit_usage[] =
	"usage: alts-submit --local [options] SUITE.yaml...\n"
	"       alts-submit --url URL [options] (SUITE.yaml | --payload FILE.json)\n"
	"\n"
	"Runs the suites and leaves in the output directory: report.xml (JUnit),\n"
	"report.tap, result.json (ALTS shape), report.html and logs/.\n"
	"\n"
	"Where:\n"
	"  --local               run with the alts-run next to alts-submit, on this machine\n"
	"  --url URL             submit to the scheduler at URL and wait for the task\n"
	"  -o, --out DIR         output directory (default " SUBMIT_DEFAULT_OUT ")\n"
	"\n"
	"Scheduler (--url):\n"
	"  --token TOKEN         bearer token (visible in ps: prefer ALTS_TOKEN or --token-file)\n"
	"  --token-file FILE     read the token from FILE\n"
	"  --payload FILE        send this ALTS payload (JSON) instead of a suite\n"
	"  --arch ARCH           the architecture to run on (dist_arch), unless the suite says\n"
	"  --follow              stream the task's log while it runs\n"
	"  --timeout SECONDS     stop waiting after SECONDS (the task goes on); exit 3\n"
	"  --poll SECONDS        seconds between state checks (default 2)\n"
	"\n"
	"Passed to alts-run (--local; --runner also to the scheduler, as runner_type):\n"
	"  --dist NAME[-VERSION] --runner NAME --filter GLOB -j N --config FILE -q -v\n"
	"\n"
	"Other commands:\n"
	"  alts-submit merge-junit -o OUT.xml IN.xml...   merge JUnit reports of a matrix\n"
	"\n"
	"  --version             print the version\n"
	"  -h, --help            this text\n"
	"\n"
	"Environment: ALTS_TOKEN (the token when neither --token nor --token-file is given).\n"
	"Exit status: 0 all checks passed, 1 a check failed, 2 usage, suite or request\n"
	"error (a refused token too), 3 environment failure (runner, scheduler, timeout).\n";

struct submit_cli {
	bool local, follow, quiet, verbose;
	const char *url, *token, *token_file, *out, *payload, *arch;
	const char *dist, *runner, *filter, *jobs, *config;
	double timeout, poll;
	char **suites;
	int nsuites;
};

enum {
	S_LOCAL = 256, S_URL, S_TOKEN, S_TOKEN_FILE, S_PAYLOAD, S_FOLLOW, S_TIMEOUT, S_POLL, S_DIST, S_RUNNER,
	S_FILTER, S_CONFIG, S_ARCH,
};

static const struct option submit_opts[] = {
	{ "local", no_argument, NULL, S_LOCAL },
	{ "url", required_argument, NULL, S_URL },
	{ "token", required_argument, NULL, S_TOKEN },
	{ "token-file", required_argument, NULL, S_TOKEN_FILE },
	{ "payload", required_argument, NULL, S_PAYLOAD },
	{ "arch", required_argument, NULL, S_ARCH },
	{ "follow", no_argument, NULL, S_FOLLOW },
	{ "timeout", required_argument, NULL, S_TIMEOUT },
	{ "poll", required_argument, NULL, S_POLL },
	{ "out", required_argument, NULL, 'o' },
	{ "dist", required_argument, NULL, S_DIST },
	{ "runner", required_argument, NULL, S_RUNNER },
	{ "filter", required_argument, NULL, S_FILTER },
	{ "jobs", required_argument, NULL, 'j' },
	{ "config", required_argument, NULL, S_CONFIG },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 1e7)
		return false;
	*out = v;
	return true;
}

/* Returns -1 to go on, or an exit status. */
static int submit_parse(struct submit_cli *c, int argc, char **argv)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "o:j:qvh", submit_opts, NULL)) != -1) {
		switch (opt) {
		case S_LOCAL: c->local = true; break;
		case S_URL: c->url = optarg; break;
		case S_TOKEN: c->token = optarg; break;
		case S_TOKEN_FILE: c->token_file = optarg; break;
		case S_PAYLOAD: c->payload = optarg; break;
		case S_ARCH: c->arch = optarg; break;
		case S_FOLLOW: c->follow = true; break;
		case S_TIMEOUT:
			if (!parse_seconds(optarg, &c->timeout))
				return fail_usage("", "--timeout needs a number of seconds, not '%s'", optarg);
			break;
		case S_POLL:
			if (!parse_seconds(optarg, &c->poll))
				return fail_usage("", "--poll needs a number of seconds, not '%s'", optarg);
			break;
		case 'o': c->out = optarg; break;
		case S_DIST: c->dist = optarg; break;
		case S_RUNNER: c->runner = optarg; break;
		case S_FILTER: c->filter = optarg; break;
		case 'j': c->jobs = optarg; break;
		case S_CONFIG: c->config = optarg; break;
		case 'q': c->quiet = true; break;
		case 'v': c->verbose = true; break;
		case 'h': fputs(submit_usage, stdout); return ALTS_EXIT_PASS;
		default: fputs("try 'alts-submit --help'\n", stderr); return ALTS_EXIT_INVALID;
		}
	}
	c->suites = argv + optind;
	c->nsuites = argc - optind;
	if (c->local == !!c->url)
		return fail_usage("", "%s", c->local ? "--local and --url exclude each other" :
				  "choose --local (run here) or --url URL (run on a scheduler)");
	if (!c->out || !*c->out)
		c->out = SUBMIT_DEFAULT_OUT;
	if (c->local) {
		if (c->token || c->token_file || c->payload || c->arch || c->follow || c->timeout > 0 || c->poll > 0)
			return fail_usage("", "%s", "--token, --token-file, --payload, --arch, --follow, --timeout and "
					  "--poll need --url");
		if (!c->nsuites)
			return fail_usage("", "%s", "no suite given");
		return -1;
	}
	if (c->dist || c->filter || c->jobs || c->config || c->verbose)
		return fail_usage("", "%s", "--dist, --filter, -j, --config and -v apply to --local only "
				  "(a scheduler runs the suite as written: put the distribution in its environment)");
	if (c->token && c->token_file)
		return fail_usage("", "%s", "--token and --token-file exclude each other");
	if (!!c->payload + c->nsuites != 1)
		return fail_usage("", "%s", c->payload ? "--payload replaces the suite: give no SUITE" :
				  "--url takes one suite per call (merge several runs with 'alts-submit merge-junit')");
	if (c->payload && (c->runner || c->arch))
		return fail_usage("", "%s", "--runner and --arch apply to suites; the payload has runner_type and "
				  "dist_arch");
	return -1;
}

/* DIR/name, alts_malloc'd; NULL on OOM. */
static char *submit_path(const char *dir, const char *name)
{
	return alts_asprintf("%s/%s", dir, name);
}

/* The alts-run next to this executable. */
static int submit_find_alts_run(char *buf, size_t size, struct alts_err *err)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot find alts-submit's own path");
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	if (!str_fmt(buf, size, "%s/alts-run", slash ? self : "."))
		return alts_err_set(err, ALTS_EENV, "path too long: '%s/alts-run'", self);
	if (access(buf, X_OK) != 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot run '%s' (alts-run must be next to alts-submit)",
				      buf);
	return 0;
}

/* Replaces this process with alts-run writing every report into c->out; returns only on failure. */
static int submit_local(const struct submit_cli *c)
{
	struct alts_err err = ALTS_ERR_INIT;
	char alts_run[PATH_MAX];
	char *junit = NULL, *tap = NULL, *json = NULL, *html = NULL, *logs = NULL;
	const char **argv = NULL;
	size_t n = 0;
	int status = ALTS_EXIT_ENV;

	if (submit_find_alts_run(alts_run, sizeof(alts_run), &err) || fs_mkdir_p(c->out, 0755, &err))
		return fail_err(&err);
	junit = submit_path(c->out, "report.xml");
	tap = submit_path(c->out, "report.tap");
	json = submit_path(c->out, "result.json");
	html = submit_path(c->out, "report.html");
	logs = submit_path(c->out, "logs");
	argv = alts_calloc((size_t)c->nsuites + 32, sizeof(*argv));
	if (!junit || !tap || !json || !html || !logs || !argv) {
		fputs("alts-submit: out of memory\n", stderr);
		goto out;
	}
	argv[n++] = alts_run;
	argv[n++] = "--junit", argv[n++] = junit;
	argv[n++] = "--tap", argv[n++] = tap;
	argv[n++] = "--json", argv[n++] = json;
	argv[n++] = "--html", argv[n++] = html;
	argv[n++] = "--artifacts", argv[n++] = logs;
	if (c->dist)
		argv[n++] = "--dist", argv[n++] = c->dist;
	if (c->runner)
		argv[n++] = "--runner", argv[n++] = c->runner;
	if (c->filter)
		argv[n++] = "--filter", argv[n++] = c->filter;
	if (c->jobs)
		argv[n++] = "--jobs", argv[n++] = c->jobs;
	if (c->config)
		argv[n++] = "--config", argv[n++] = c->config;
	if (c->quiet)
		argv[n++] = "--quiet";
	if (c->verbose)
		argv[n++] = "--verbose";
	argv[n++] = "--";
	for (int i = 0; i < c->nsuites; i++)
		argv[n++] = c->suites[i];
	argv[n] = NULL;
	fflush(NULL);
	execv(alts_run, (char *const *)argv);
	fprintf(stderr, "alts-submit: error: cannot run '%s': %s\n", alts_run, strerror(errno));
out:
	alts_free(argv);
	alts_free(junit);
	alts_free(tap);
	alts_free(json);
	alts_free(html);
	alts_free(logs);
	return status;
}

static int submit_read_token(char **out, const struct submit_cli *c, struct alts_err *err)
{
	struct sbuf sb = SBUF_INIT;
	const char *env = getenv("ALTS_TOKEN");
	int rc;

	*out = NULL;
	if (c->token || !c->token_file) {
		const char *t = c->token ? c->token : env;

		if (t && *t && !(*out = alts_strdup(t)))
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		return 0;
	}
	rc = sbuf_read_file(&sb, c->token_file, SUBMIT_TOKEN_MAX);
	if (rc) {
		sbuf_release(&sb);
		return alts_err_errno(err, ALTS_EINVALID, -rc, "cannot read the token file '%s'", c->token_file);
	}
	sbuf_trim_trailing(&sb);
	if (!sb.len || strpbrk(sb.buf, "\r\n")) {
		sbuf_release(&sb);
		return alts_err_set(err, ALTS_EINVALID, "the token file '%s' must hold one token on one line",
				    c->token_file);
	}
	*out = sbuf_detach(&sb, NULL);
	return *out ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

/* The request body: {"suite": "<the YAML text>"} (plus runner_type, dist_arch), or the payload file as is. */
static int submit_body(char **out, const struct submit_cli *c, struct alts_err *err)
{
	const char *path = c->payload ? c->payload : c->suites[0];
	struct sbuf sb = SBUF_INIT;
	json_error_t jerr;
	json_t *j = NULL;
	int rc;

	*out = NULL;
	rc = sbuf_read_file(&sb, path, SUBMIT_SUITE_MAX);
	if (rc) {
		rc = alts_err_errno(err, ALTS_EINVALID, -rc, "cannot read '%s'", path);
		goto out;
	}
	if (c->payload) {
		j = json_loadb(sb.buf, sb.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(j)) {
			rc = alts_err_set(err, ALTS_EINVALID, "%s:%d:%d: %s", path, jerr.line, jerr.column,
					  j ? "the payload must be a JSON object" : jerr.text);
			goto out;
		}
	} else {
		j = json_object();
		if (!j || json_object_set_new(j, "suite", json_stringn(sb.buf, sb.len)) ||
		    (c->runner && json_object_set_new(j, "runner_type", json_string(c->runner))) ||
		    (c->arch && json_object_set_new(j, "dist_arch", json_string(c->arch)))) {
			rc = alts_err_set(err, ALTS_EINVALID, "'%s' is not UTF-8 text", path);
			goto out;
		}
	}
	*out = json_dumps(j, JSON_COMPACT);
	if (!*out)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
out:
	json_decref(j);
	sbuf_release(&sb);
	return rc;
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

static int submit_remote(const struct submit_cli *c)
{
	struct remote_opts o = REMOTE_OPTS_INIT;
	struct alts_err err = ALTS_ERR_INIT;
	char *token = NULL, *body = NULL;
	int status = ALTS_EXIT_ENV, rc;

	rc = submit_read_token(&token, c, &err);
	if (!rc)
		rc = submit_body(&body, c, &err);
	if (rc)
		goto out;
	o.url = c->url;
	o.token = token;
	o.out_dir = c->out;
	o.follow = c->follow;
	o.progress = c->quiet ? NULL : stderr;
	o.progress_tty = isatty(STDERR_FILENO);
	o.timeout = c->timeout;
	if (c->poll > 0)
		o.poll_interval = c->poll;
	o.cancel = &interrupted;
	install_signal_handlers();
	rc = remote_run(&status, &o, body, &err);
out:
	if (token)
		memset(token, 0, strlen(token));
	alts_free(token);
	free(body);  /* from jansson's json_dumps */
	return rc ? fail_err(&err) : status;
}

static int cmd_submit(int argc, char **argv)
{
	struct submit_cli c = { 0 };
	int status = submit_parse(&c, argc, argv);

	if (status >= 0)
		return status;
	return c.local ? submit_local(&c) : submit_remote(&c);
}

/* ---- merge-junit ------------------------------------------------------- */

static const char merge_usage[] =
	"usage: alts-submit merge-junit -o OUT.xml [--name NAME] [--schema XSD] IN.xml...\n"
	"\n"
	"Merges JUnit XML reports (a matrix of suites and distributions) into one\n"
	"<testsuites> with every <testsuite> of the inputs. Testsuites whose names\n"
	"clash are renamed 'NAME [DIST-VERSION-ARCH]' from their dist_name,\n"
	"dist_version and dist_arch properties (the input's file name when they\n"
	"have none); the root's totals are recomputed.\n"
	"\n"
	"  -o, --output FILE     merged report (- for stdout); written whole or not at all\n"
	"  --name NAME           name of the <testsuites> root (default alts)\n"
	"  --schema XSD          validate the merged report against this XML schema\n"
	"  -q, --quiet           no summary line on stderr\n";

static int cmd_merge_junit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' },
		{ "schema", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct junit_merge_opts mo = JUNIT_MERGE_OPTS_INIT;
	struct junit_merge_stats st;
	struct alts_err err = ALTS_ERR_INIT;
	const char *out = NULL;
	bool quiet = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'n': mo.name = optarg; break;
		case 's': mo.schema = optarg; break;
		case 'q': quiet = true; break;
		case 'h': fputs(merge_usage, stdout); return ALTS_EXIT_PASS;
		default: fputs("try 'alts-submit merge-junit --help'\n", stderr); return ALTS_EXIT_INVALID;
		}
	}
	if (!out)
		return fail_usage("merge-junit ", "%s", "-o OUT.xml is required");
	if (optind >= argc)
		return fail_usage("merge-junit ", "%s", "no input report given");
	if (junit_merge_files(out, (const char *const *)argv + optind, (size_t)(argc - optind), &mo, &st, &err))
		return fail_err(&err);
	if (!quiet)
		fprintf(stderr, "merged %d report%s into %s: %zu testsuites (%zu renamed), %zu tests, %zu failures, "
			"%zu errors\n", argc - optind, argc - optind == 1 ? "" : "s", out, st.suites, st.renamed,
			st.tests, st.failures, st.errors);
	return ALTS_EXIT_PASS;
}

/* ---- main -------------------------------------------------------------- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{ "submit", cmd_submit, "run suites here (--local) or on a scheduler (--url); the default" },
	{ "merge-junit", cmd_merge_junit, "merge JUnit reports into one, a testsuite per suite and distribution" },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("alts-submit %s\n", ALTS_VERSION);
		return ALTS_EXIT_PASS;
	}
	for (i = 0; argc > 1 && i < ALTS_ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (argc > 1 && argv[1][0] != '-' && !strchr(argv[1], '.') && !strchr(argv[1], '/') &&
	    access(argv[1], F_OK) != 0) {
		fprintf(stderr, "alts-submit: unknown command '%s'; commands:\n", argv[1]);
		for (i = 0; i < ALTS_ARRAY_SIZE(commands); i++)
			fprintf(stderr, "  %-12s %s\n", commands[i].name, commands[i].help);
		return ALTS_EXIT_INVALID;
	}
	return cmd_submit(argc, argv);
}
