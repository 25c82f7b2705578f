/*
 * launch: runs a command from the installed packages and checks its exit
 * code, its output against regular expressions, and optionally that a
 * service it starts comes up. In a booted environment (boot: systemd) a
 * service alone is started with systemctl, and its unit's journal goes to
 * the check's log.
 */
#include "framework/common.h"
#include "checks/check_int.h"
#include "checks/pkg.h"
#include "framework/proc.h"

#include <regex.h>
#include <time.h>

#define LAUNCH_SERVICE_TIMEOUT 10.0
#define LAUNCH_POLL_INTERVAL 0.1

enum launch_pattern { PAT_STDOUT, PAT_STDERR, PAT_STDOUT_NOT, PAT_STDERR_NOT, PAT_COUNT };

static const char *const pattern_keys[PAT_COUNT] = { "stdout", "stderr", "stdout_not", "stderr_not" };

struct launch_conf {
	struct conf_argv command;
	long exit_code;
	const char *patterns[PAT_COUNT];  /* POSIX extended regular expressions */
	const char *service;              /* systemd unit (name.service) or process name */
	double service_timeout;           /* seconds; 0: LAUNCH_SERVICE_TIMEOUT */
	const char *stdin_data;
	regex_t re[PAT_COUNT];            /* compiled by validate */
	bool compiled[PAT_COUNT];
};

static const struct conf_key launch_keys[] = {
	{ "command", CONF_ARGV, offsetof(struct launch_conf, command), 0, NULL, NULL },
	{ "exit_code", CONF_INT, offsetof(struct launch_conf, exit_code), 0, NULL, NULL },
	{ "stdout", CONF_STRING, offsetof(struct launch_conf, patterns[PAT_STDOUT]), CONF_NONEMPTY, NULL, NULL },
	{ "stderr", CONF_STRING, offsetof(struct launch_conf, patterns[PAT_STDERR]), CONF_NONEMPTY, NULL, NULL },
	{ "stdout_not", CONF_STRING, offsetof(struct launch_conf, patterns[PAT_STDOUT_NOT]), CONF_NONEMPTY, NULL,
	  NULL },
	{ "stderr_not", CONF_STRING, offsetof(struct launch_conf, patterns[PAT_STDERR_NOT]), CONF_NONEMPTY, NULL,
	  NULL },
	{ "service", CONF_STRING, offsetof(struct launch_conf, service), CONF_NONEMPTY, NULL, NULL },
	{ "service_timeout", CONF_DURATION, offsetof(struct launch_conf, service_timeout), 0, NULL, NULL },
	{ "stdin", CONF_STRING, offsetof(struct launch_conf, stdin_data), CONF_LONG, NULL, NULL },
	CONF_KEYS_END,
};

static void launch_free_regexes(void *payload)
{
	struct launch_conf *conf = payload;

	for (int i = 0; i < PAT_COUNT; i++) {
		if (conf->compiled[i])
			regfree(&conf->re[i]);
		conf->compiled[i] = false;
	}
}

static bool service_name_ok(const char *name)
{
	if (!*name || *name == '-' || *name == '.')
		return false;
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("@._:+-", *p))
			return false;
	}
	return true;
}

/*
 * glibc's regcomp copies a repeated expression once per repetition ('+'
 * twice, '{n}' n times), and nested or stacked repetitions multiply:
 * "a++++...", "(a{99}){99}" take gigabytes to compile. Estimates the
 * compiled size, in atoms, and says whether it stays under a bound; the
 * text of an unbalanced or odd pattern is left to regcomp's own errors.
 */
#define LAUNCH_REGEX_MAX_ATOMS 100000.0
#define LAUNCH_REGEX_MAX_DEPTH 64

static const char *skip_bracket(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *end = strchr(p + 2, p[1]);

			while (end && end[1] != ']')
				end = strchr(end + 1, p[1]);
			p = end ? end + 2 : p + 1;
			continue;
		}
		p++;
	}
	return *p ? p + 1 : p;
}

static bool regex_small_enough(const char *p)
{
	double size[LAUNCH_REGEX_MAX_DEPTH + 1] = { 0 }, last = 0;
	int depth = 0;

	while (*p) {
		double k = 0;

		if (*p == '(') {
			if (depth == LAUNCH_REGEX_MAX_DEPTH)
				return false;
			size[++depth] = 0;
			last = 0;
			p++;
			continue;
		}
		if (*p == ')' && depth > 0) {
			last = size[depth--];
			size[depth] += last;
			p++;
		} else if (*p == '+') {
			k = 2;
			p++;
		} else if (*p == '{' && isdigit((unsigned char)p[1])) {
			char *end;
			unsigned long m = strtoul(p + 1, &end, 10), n = m;

			if (*end == ',')
				n = isdigit((unsigned char)end[1]) ? strtoul(end + 1, &end, 10) : m + 1;
			k = (double)(m > n ? m : n) + 1;
			p = *end == '}' ? end + 1 : end;
		} else if (*p == '*' || *p == '?' || *p == '|' || *p == '^' || *p == '$') {
			p++;
			continue;
		} else {
			p = *p == '[' ? skip_bracket(p) : p + ((*p == '\\' && p[1]) ? 2 : 1);
			last = 1;
			size[depth] += 1;
		}
		if (k > 0) {
			size[depth] += last * (k - 1);
			last *= k;
		}
		if (size[depth] > LAUNCH_REGEX_MAX_ATOMS || last > LAUNCH_REGEX_MAX_ATOMS)
			return false;
	}
	return true;
}

static int launch_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct suite *suite,
			   struct suite_check *check)
{
	struct launch_conf *conf = check->conf;
	int rc;

	rc = arena_on_free(suite->arena, launch_free_regexes, conf);
	if (rc)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	for (int i = 0; i < PAT_COUNT; i++) {
		char msg[256];
		int ec;

		if (!conf->patterns[i])
			continue;
		if (!regex_small_enough(conf->patterns[i]))
			return conf_fail(ctx, check_conf_node(ctx, node, pattern_keys[i]),
					 conf_path_key(ctx, path, pattern_keys[i]),
					 "regular expression too complex (its repetitions would compile to more than "
					 "%.0f parts)", LAUNCH_REGEX_MAX_ATOMS);
		ec = regcomp(&conf->re[i], conf->patterns[i], REG_EXTENDED | REG_NEWLINE | REG_NOSUB);
		if (ec) {
			regerror(ec, &conf->re[i], msg, sizeof(msg));
			return conf_fail(ctx, check_conf_node(ctx, node, pattern_keys[i]),
					 conf_path_key(ctx, path, pattern_keys[i]), "invalid regular expression '%s': %s",
					 conf->patterns[i], msg);
		}
		conf->compiled[i] = true;
	}
	if (!conf->command.argv && !conf->service)
		return conf_fail(ctx, node, path,
				 "missing required key 'command' (or 'service' alone, started with systemctl start in "
				 "a booted environment)");
	if (conf->exit_code < 0 || conf->exit_code > 255)
		return conf_fail(ctx, check_conf_node(ctx, node, "exit_code"), conf_path_key(ctx, path, "exit_code"),
				 "exit code %ld is out of range (0 to 255)", conf->exit_code);
	if (conf->service && !service_name_ok(conf->service))
		return conf_fail(ctx, check_conf_node(ctx, node, "service"), conf_path_key(ctx, path, "service"),
				 "'%s' is not a service or process name (letters, digits, @ . _ : + -)", conf->service);
	if (conf->service_timeout && !conf->service)
		return conf_fail(ctx, check_conf_node(ctx, node, "service_timeout"),
				 conf_path_key(ctx, path, "service_timeout"), "service_timeout needs 'service'");
	if (!conf->service_timeout)
		conf->service_timeout = LAUNCH_SERVICE_TIMEOUT;
	return 0;
}

static void add_problem(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_problem(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	if (sb->len)
		sbuf_adds(sb, "; ");
	va_start(ap, fmt);
	sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

/* Checks the command's outcome against the expectations; problems go to sb. */
static void launch_evaluate(const struct launch_conf *conf, const char *const *argv, const struct check_cmd_out *o,
			    struct sbuf *sb)
{
	const struct proc_result *p = &o->proc;

	if (p->canceled) {
		add_problem(sb, "canceled");
		return;
	}
	if (p->timed_out) {
		add_problem(sb, "command timed out after %.0fs", p->duration);
		return;
	}
	if (p->exec_errno) {
		add_problem(sb, "cannot execute '%s': %s", argv[0], strerror(p->exec_errno));
		return;
	}
	if (p->term_signal && p->exit_code != conf->exit_code)
		add_problem(sb, "killed by signal %d, expected exit code %ld", p->term_signal, conf->exit_code);
	else if (p->exit_code != conf->exit_code)
		add_problem(sb, "exit code %d, expected %ld", p->exit_code, conf->exit_code);
	for (int i = 0; i < PAT_COUNT; i++) {
		const struct sbuf *text = (i == PAT_STDOUT || i == PAT_STDOUT_NOT) ? &o->out : &o->err;
		const char *stream = (i == PAT_STDOUT || i == PAT_STDOUT_NOT) ? "stdout" : "stderr";
		bool must_match = i == PAT_STDOUT || i == PAT_STDERR;
		bool matched;

		if (!conf->compiled[i])
			continue;
		matched = regexec(&conf->re[i], text->buf, 0, NULL, 0) == 0;
		if (must_match && !matched)
			add_problem(sb, "%s did not match /%s/", stream, conf->patterns[i]);
		else if (!must_match && matched)
			add_problem(sb, "%s matched /%s/, which it must not", stream, conf->patterns[i]);
	}
}

static void sleep_for(double seconds)
{
	struct timespec ts;

	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* True when the environment booted systemd as PID 1 (environment: {boot: systemd}). */
static bool launch_booted(const struct check_ctx *ctx)
{
	return ctx->suite && ctx->suite->env.boot && !strcmp(ctx->suite->env.boot, "systemd");
}

/*
 * Booted: the unit's journal of this boot goes to the check's log; *last
 * (arena) gets its last line, for the failure message.
 */
static int launch_journal(struct check_ctx *ctx, const char *unit, const char **last, struct alts_err *err)
{
	const char *argv[] = { "journalctl", "-u", unit, "--no-pager", "-b", NULL };
	struct check_cmd_out o;
	int rc;

	*last = NULL;
	check_logf(ctx, "alts: the journal of %s:", unit);
	rc = check_cmd(ctx, &o, argv, NULL, 30, err);
	/* The last line the unit's own processes wrote ("Mon DD HH:MM:SS host ident[pid]: text"), not systemd's. */
	for (char *line = o.out.buf; !rc && line && *line;) {
		char *nl = strchr(line, '\n'), *text = line;
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		for (int spaces = 0; spaces < 4 && text; spaces++) {
			text = memchr(text, ' ', len - (size_t)(text - line));
			text = text ? text + 1 : NULL;
		}
		if (text && strncmp(text, "systemd[1]: ", 12))
			*last = arena_printf(ctx->arena, "%.*s", (int)(len - (size_t)(text - line)), text);
		line = nl ? nl + 1 : NULL;
	}
	check_cmd_out_release(&o);
	return rc;
}

/* The first line of a command's output (arena), or "no output". */
static const char *first_line(struct check_ctx *ctx, const struct sbuf *text)
{
	size_t len = strcspn(text->buf, "\n");

	while (len && text->buf[len - 1] == '.')  /* the message goes on after it */
		len--;
	return len ? arena_printf(ctx->arena, "%.*s", (int)len, text->buf) : "no output";
}

/* True when systemctl exists and talks to a running systemd. */
static int launch_have_systemd(struct check_ctx *ctx, const char *unit, bool *out, struct alts_err *err)
{
	const char *argv[] = { "systemctl", "is-active", "--", unit, NULL };
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	struct check_cmd_out o;
	int rc;

	opts.timeout = 30;
	opts.quiet = true;
	rc = check_cmd_ex(ctx, &o, pkg_probe_argv("systemctl"), &opts, err);

	*out = false;
	if (rc || o.proc.exit_code != 0) {
		check_cmd_out_release(&o);
		return rc;
	}
	check_cmd_out_release(&o);
	rc = check_cmd(ctx, &o, argv, NULL, 30, err);
	if (!rc)
		*out = !strstr(o.err.buf, "not been booted with systemd") && !strstr(o.err.buf, "Failed to connect to bus");
	check_cmd_out_release(&o);
	return rc;
}

/*
 * Waits until the service is active (systemctl is-active) or a process of
 * that name runs (pgrep -x), polling every 100 ms. *active says which.
 */
static int launch_wait_service(struct check_ctx *ctx, const struct launch_conf *conf, bool *active,
			       const char **how, struct alts_err *err)
{
	const char *name = conf->service;
	char proc_name[16];
	const char *argv[6];
	bool systemd = false;
	double until = proc_now() + conf->service_timeout;
	FILE *log = ctx->log;
	int rc = 0;
	unsigned polls = 0;

	*active = false;
	if (ends_with(name, ".service") || launch_booted(ctx)) {
		rc = launch_have_systemd(ctx, name, &systemd, err);
		if (rc)
			return rc;
	}
	if (systemd) {
		argv[0] = "systemctl";
		argv[1] = "is-active";
		argv[2] = "--quiet";
		argv[3] = "--";
		argv[4] = name;
		argv[5] = NULL;
		*how = "systemctl is-active";
	} else {
		/* Process names (comm) are cut at 15 bytes, and pgrep -x compares with those. */
		size_t len = strlen(name);

		if (ends_with(name, ".service"))
			len -= strlen(".service");
		if (len > 15)
			len = 15;
		memcpy(proc_name, name, len);
		proc_name[len] = '\0';
		argv[0] = "pgrep";
		argv[1] = "-x";
		argv[2] = "--";
		argv[3] = proc_name;
		argv[4] = NULL;
		*how = "pgrep -x";
	}
	check_logf(ctx, "alts: waiting up to %.1fs for %s %s", conf->service_timeout, *how, name);
	for (;;) {
		struct check_cmd_out o;
		bool last = proc_now() >= until || check_time_left(ctx) <= 0 || (ctx->cancel && *ctx->cancel);

		/* Log the first and the last poll, not every one in between. */
		ctx->log = polls == 0 || last ? log : NULL;
		rc = check_cmd(ctx, &o, argv, NULL, 10, err);
		ctx->log = log;
		polls++;
		if (!rc && o.proc.exit_code == 0 && !o.proc.timed_out)
			*active = true;
		check_cmd_out_release(&o);
		if (rc || *active || last)
			break;
		sleep_for(LAUNCH_POLL_INTERVAL);
	}
	check_logf(ctx, "alts: %s %s after %u poll%s", name, *active ? "is up" : "did not come up", polls,
		   polls == 1 ? "" : "s");
	return rc;
}

static int launch_run(struct check_ctx *ctx, struct alts_err *err)
{
	const struct launch_conf *conf = ctx->check->conf;
	struct check_result *res = ctx->result;
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	struct check_cmd_out o;
	struct sbuf problems = SBUF_INIT;
	const char *start_argv[] = { "systemctl", "start", "--", conf->service, NULL };
	const char *const *argv = conf->command.argv ? conf->command.argv : start_argv;
	bool booted = launch_booted(ctx);
	int rc;

	if (!conf->command.argv && !booted) {
		check_set(ctx, CHECK_FAIL,
			  "launch with 'service' and no 'command' starts the unit with systemctl, which needs "
			  "environment boot: systemd (or give the command that starts the service)");
		return 0;
	}
	opts.extra_env = check_alts_env(ctx);
	if (!opts.extra_env)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (conf->stdin_data) {
		rc = check_write_file(ctx, &opts.stdin_path, "stdin", conf->stdin_data, strlen(conf->stdin_data), err);
		if (rc)
			return rc;
	}
	rc = check_cmd_ex(ctx, &o, argv, &opts, err);
	if (rc)
		goto out;
	res->exit_code = o.proc.exit_code;
	res->term_signal = o.proc.term_signal;
	res->timed_out = o.proc.timed_out;
	launch_evaluate(conf, argv, &o, &problems);

	if (conf->service && !o.proc.timed_out && !o.proc.exec_errno && !o.proc.canceled &&
	    (o.proc.exit_code != conf->exit_code || o.proc.term_signal)) {
		/* The start failed: say so now, with its stderr, instead of waiting for a service that will not come. */
		const char *why = conf->command.argv ? check_cmd_summary(ctx, &o) : first_line(ctx, &o.err);

		sbuf_reset(&problems);
		add_problem(&problems, "service '%s' failed to start (%s)%s%s", conf->service, check_cmd_status(ctx, &o),
			    strcmp(why, "no output") ? ": " : "", strcmp(why, "no output") ? why : "");
		if (!check_sub_add(ctx->arena, &res->subs, &res->nsubs,
				   arena_printf(ctx->arena, "service %s", conf->service), CHECK_FAIL,
				   arena_printf(ctx->arena, "the start failed (%s)", check_cmd_status(ctx, &o)))) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
	} else if (conf->service && !o.proc.timed_out && !o.proc.exec_errno && !o.proc.canceled) {
		const char *how = NULL;
		const char *sub_name = arena_printf(ctx->arena, "service %s", conf->service);
		bool active = false;

		rc = launch_wait_service(ctx, conf, &active, &how, err);
		if (rc)
			goto out;
		if (!active)
			add_problem(&problems, "service '%s' is not running after %.0fs (%s)", conf->service,
				    conf->service_timeout, how);
		if (!sub_name || !check_sub_add(ctx->arena, &res->subs, &res->nsubs, sub_name,
						active ? CHECK_PASS : CHECK_FAIL,
						active ? NULL : arena_printf(ctx->arena, "not running (%s)", how))) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (booted && conf->service) {
		const char *last = NULL;

		rc = launch_journal(ctx, conf->service, &last, err);
		if (rc)
			goto out;
		if (problems.len && last)
			add_problem(&problems, "the unit's last journal line: %s", last);
	}
	if (!sbuf_ok(&problems) && problems.oom) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	if (problems.len)
		check_set(ctx, CHECK_FAIL, "%s", problems.buf);
	else
		check_set(ctx, CHECK_PASS, NULL);
out:
	sbuf_release(&problems);
	check_cmd_out_release(&o);
	return rc;
}

const struct check_ops check_launch_ops = {
	.name = "launch",
	.abi = CHECK_ABI,
	.caps = 0,
	.conf_size = sizeof(struct launch_conf),
	.keys = launch_keys,
	.validate = launch_validate,
	.run = launch_run,
};
