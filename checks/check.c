/*
 * The check registry and the helpers every check uses to run commands
 * in the environment (see checks/check_int.h).
 */
#include "framework/common.h"
#include "checks/check_int.h"
#include "framework/proc.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each stream of a command is kept up to this many bytes (head and tail). */
#define CHECK_CMD_OUTPUT_MAX (1u << 20)
/* A logged command line longer than this is shortened. */
#define CHECK_LOG_ARGV_MAX 4096
/* A one-line result message longer than this is cut. */
#define CHECK_MESSAGE_MAX 1024

/*
 * The registry: the names suites use, and the kind each is. A name other
 * than its ops' own is an alias (the suite's spelling stays its type).
 */
static const char *const check_name_list[] = {
	"install", "launch", "integrity", "script", "uninstall", "upgrade", "dep8", "autopkgtest", NULL,
};

static const struct check_ops *const check_registry[] = {
	&check_install_ops,
	&check_launch_ops,
	&check_integrity_ops,
	&check_script_ops,
	&check_uninstall_ops,
	&check_upgrade_ops,
	&check_dep8_ops,
	&check_dep8_ops,  /* autopkgtest: DEP-8 under autopkgtest's name */
};

_Static_assert(ALTS_ARRAY_SIZE(check_name_list) == ALTS_ARRAY_SIZE(check_registry) + 1,
	       "one name per registry entry");

const struct check_ops *check_lookup_as(const char *name, const char **kind)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(check_registry); i++) {
		if (strcmp(check_name_list[i], name))
			continue;
		if (check_registry[i]->abi != CHECK_ABI)
			return NULL;
		if (kind)
			*kind = check_name_list[i];
		return check_registry[i];
	}
	return NULL;
}

const struct check_ops *check_lookup(const char *name)
{
	return check_lookup_as(name, NULL);
}

const char *const *check_names(void)
{
	return check_name_list;
}

double check_time_left(const struct check_ctx *ctx)
{
	if (!ctx->deadline)
		return 1e9;
	return ctx->deadline - proc_now();
}

void check_logf(struct check_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (!ctx->log)
		return;
	va_start(ap, fmt);
	vfprintf(ctx->log, fmt, ap);
	va_end(ap);
	fputc('\n', ctx->log);
}

void check_set(struct check_ctx *ctx, enum check_status status, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	ctx->result->status = status;
	if (!fmt) {
		ctx->result->message = NULL;
		return;
	}
	sbuf_init(&sb, CHECK_MESSAGE_MAX);
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	/* One line: control characters become spaces, trailing blanks go. */
	for (size_t i = 0; i < sb.len; i++) {
		if ((unsigned char)sb.buf[i] < 0x20 || sb.buf[i] == 0x7f)
			sb.buf[i] = ' ';
	}
	sbuf_trim_trailing(&sb);
	ctx->result->message = sb.oom ? "out of memory while formatting the message"
				      : arena_strndup(ctx->arena, sb.buf, sb.len);
	sbuf_release(&sb);
}

void check_cmd_out_release(struct check_cmd_out *o)
{
	if (!o)
		return;
	sbuf_release(&o->out);
	sbuf_release(&o->err);
	alts_free((void *)o->whole);
	o->whole = NULL;
	o->whole_len = 0;
}

static bool shell_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr("_./=:,+@%-^", *s))
			return false;
	}
	return true;
}

static void add_quoted(struct sbuf *sb, const char *s)
{
	if (shell_safe(s)) {
		sbuf_adds(sb, s);
		return;
	}
	sbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			sbuf_adds(sb, "'\\''");
		else
			sbuf_addch(sb, *s);
	}
	sbuf_addch(sb, '\'');
}

/* Display only: the result is never given to a shell. */
static void argv_display(struct sbuf *sb, const char *const *argv, size_t max)
{
	size_t n = 0, total = 0;

	while (argv[total])
		total++;
	for (; argv[n]; n++) {
		if (max && sb->len > max)
			break;
		if (n)
			sbuf_addch(sb, ' ');
		add_quoted(sb, argv[n]);
	}
	if (n < total)
		sbuf_addf(sb, " ... (%zu more arguments)", total - n);
}

const char *check_argv_display(struct check_ctx *ctx, const char *const *argv)
{
	struct sbuf sb = SBUF_INIT;
	const char *s;

	argv_display(&sb, argv, CHECK_LOG_ARGV_MAX);
	s = sb.oom ? "?" : arena_strndup(ctx->arena, sb.buf, sb.len);
	sbuf_release(&sb);
	return s ? s : "?";
}

/*
 * Puts a stream's kept head and tail into sb. When bytes were cut out
 * between them (the stream had more than CHECK_CMD_OUTPUT_MAX), a marker
 * line says how many and sb->capped is set: the head is kept for
 * parsers, the tail because that is where errors are.
 */
static void keep_capped(struct sbuf *sb, const char *head, size_t head_len, const char *tail, size_t tail_len,
			unsigned long long left_out)
{
	sbuf_add(sb, head, head_len);
	if (left_out) {
		sbuf_addf(sb, "\n[... %llu bytes left out ...]\n", left_out);
		sb->capped = true;
	}
	sbuf_add(sb, tail, tail_len);
}

/*
 * A stream captured with CHECK_CMD_OUTPUT_MAX/2 bytes of head and of tail,
 * into sb. The marker counts what a capture file would have left out (a
 * stream over proc's 256 MiB counts as the file would have been).
 */
static int take_capture(struct sbuf *sb, const struct proc_capture *c)
{
	char *tail = c->tail_len ? alts_malloc(c->tail_len) : NULL;

	if (c->oom || (c->tail_len && !tail)) {
		alts_free(tail);
		return -ENOMEM;
	}
	proc_capture_tail(c, tail);
	keep_capped(sb, c->head, c->head_len, tail, c->tail_len,
		    c->total > CHECK_CMD_OUTPUT_MAX ? proc_capture_file_size(c->total) - CHECK_CMD_OUTPUT_MAX : 0);
	alts_free(tail);
	return 0;
}

/*
 * With whole_stdout: all of stdout as a capture file would hold it (up to
 * proc's 256 MiB, then its note and tail) goes to out->whole when it is
 * longer than CHECK_CMD_OUTPUT_MAX; out->out gets its head and tail.
 */
static int take_whole(struct check_cmd_out *out, const struct proc_capture *c)
{
	size_t len, half = CHECK_CMD_OUTPUT_MAX / 2;
	char *text;

	if (c->oom || !(text = proc_capture_file_text(c, &len)))
		return -ENOMEM;
	if (len <= CHECK_CMD_OUTPUT_MAX) {
		sbuf_add(&out->out, text, len);
		alts_free(text);
		return 0;
	}
	keep_capped(&out->out, text, half, text + len - half, half, len - CHECK_CMD_OUTPUT_MAX);
	out->whole = text;
	out->whole_len = len;
	return 0;
}

static void log_stream(struct check_ctx *ctx, const struct sbuf *sb)
{
	if (!ctx->log || !sb->len)
		return;
	fwrite(sb->buf, 1, sb->len, ctx->log);
	if (sb->buf[sb->len - 1] != '\n')
		fputc('\n', ctx->log);
}

static void log_status(struct check_ctx *ctx, const struct check_cmd_out *o)
{
	check_logf(ctx, "[%s, %.1fs]", check_cmd_status(ctx, o), o->proc.duration);
}

static const char *signal_name(int sig)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
		{ SIGHUP, "SIGHUP" },   { SIGINT, "SIGINT" },   { SIGQUIT, "SIGQUIT" }, { SIGILL, "SIGILL" },
		{ SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" }, { SIGBUS, "SIGBUS" },   { SIGFPE, "SIGFPE" },
		{ SIGKILL, "SIGKILL" }, { SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
		{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
	};

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(names); i++) {
		if (names[i].sig == sig)
			return names[i].name;
	}
	return "signal";
}

const char *check_cmd_status(struct check_ctx *ctx, const struct check_cmd_out *o)
{
	const struct proc_result *p = &o->proc;
	const char *s;

	if (p->canceled)
		s = "canceled";
	else if (p->timed_out)
		s = arena_printf(ctx->arena, "timed out after %.0fs", p->duration);
	else if (p->exec_errno)
		s = arena_printf(ctx->arena, "cannot execute: %s", strerror(p->exec_errno));
	else if (p->term_signal)
		s = arena_printf(ctx->arena, "killed by signal %d (%s)", p->term_signal, signal_name(p->term_signal));
	else
		s = arena_printf(ctx->arena, "exit %d", p->exit_code);
	return s ? s : "?";
}

static bool summary_line(const char *line, size_t len)
{
	static const char *const prefixes[] = { "E: ", "Error: ", "error: ", "Error:", "fatal: ", "dpkg: error",
						"No match for argument", NULL };

	for (const char *const *p = prefixes; *p; p++) {
		size_t n = strlen(*p);

		if (len >= n && !strncmp(line, *p, n))
			return true;
	}
	return false;
}

/* The first "error"-looking line of sb, else its last non-blank line; NULL if empty. */
static const char *pick_line(struct check_ctx *ctx, const struct sbuf *sb)
{
	const char *last = NULL, *p = sb->buf;
	size_t last_len = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *t = p;
		size_t tl = len;

		while (tl && isspace((unsigned char)*t)) {
			t++;
			tl--;
		}
		while (tl && isspace((unsigned char)t[tl - 1]))
			tl--;
		if (tl && summary_line(t, tl))
			return arena_strndup(ctx->arena, t, tl);
		if (tl && strncmp(t, "rpm: ", 5) && strncmp(t, "[... ", 5)) {
			last = t;
			last_len = tl;
		}
		p = nl ? nl + 1 : p + len;
	}
	return last ? arena_strndup(ctx->arena, last, last_len) : NULL;
}

const char *check_cmd_summary(struct check_ctx *ctx, const struct check_cmd_out *o)
{
	const char *s = pick_line(ctx, &o->err);

	if (!s || !summary_line(s, strlen(s))) {
		const char *t = pick_line(ctx, &o->out);

		if (t && (!s || summary_line(t, strlen(t))))
			s = t;
	}
	return s ? s : "no output";
}

/* Builds the environment list: the suite's `env`, then extra. */
static char **build_env(const struct suite *suite, const char *const *extra)
{
	size_t n = 0, nvars = suite ? suite->vars.n : 0, i = 0;
	char **env;

	while (extra && extra[n])
		n++;
	env = alts_calloc(nvars + n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t v = 0; v < nvars; v++) {
		env[i] = alts_asprintf("%s=%s", suite->vars.keys[v], suite->vars.values[v]);
		if (!env[i++])
			goto oom;
	}
	for (size_t e = 0; e < n; e++) {
		env[i] = alts_strdup(extra[e]);
		if (!env[i++])
			goto oom;
	}
	return env;
oom:
	for (size_t k = 0; k < i; k++)
		alts_free(env[k]);
	alts_free(env);
	return NULL;
}

static void free_env(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		alts_free(env[i]);
	alts_free(env);
}

int check_cmd_ex(struct check_ctx *ctx, struct check_cmd_out *out, const char *const *argv,
		 const struct check_cmd_opts *opts, struct alts_err *err)
{
	static const struct check_cmd_opts defaults = CHECK_CMD_OPTS_INIT;
	struct runner_exec_req req = RUNNER_EXEC_REQ_INIT;
	/* In memory, no file: the head and tail kept (all of a whole stdout, as a capture file holds it). */
	struct proc_capture cap_out = { CHECK_CMD_OUTPUT_MAX / 2, CHECK_CMD_OUTPUT_MAX / 2 },
			    cap_err = { CHECK_CMD_OUTPUT_MAX / 2, CHECK_CMD_OUTPUT_MAX / 2 };
	struct sbuf line = SBUF_INIT;
	char **env = NULL;
	double left = check_time_left(ctx), timeout;
	int rc;

	memset(out, 0, sizeof(*out));
	sbuf_init(&out->out, CHECK_CMD_OUTPUT_MAX + 128);
	sbuf_init(&out->err, CHECK_CMD_OUTPUT_MAX + 128);
	out->proc.exit_code = -1;
	if (!opts)
		opts = &defaults;
	ALTS_ASSERT_ARG(argv && argv[0], err);
	if (opts->whole_stdout)
		cap_out.head_max = cap_out.tail_max = 0;

	argv_display(&line, argv, CHECK_LOG_ARGV_MAX);
	check_logf(ctx, "$ %s", line.buf);
	sbuf_release(&line);
	if (ctx->deadline && left <= 0) {
		out->proc.timed_out = true;
		check_logf(ctx, "[not run: the check's time is up]");
		return 0;
	}
	timeout = opts->timeout > 0 ? opts->timeout : 0;
	if (ctx->deadline && (timeout <= 0 || left < timeout))
		timeout = left;

	env = build_env(ctx->suite, opts->extra_env);
	if (!env) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	req.argv = argv;
	req.env = (const char *const *)env;
	req.cwd = opts->cwd;
	req.timeout = timeout;
	req.stdout_capture = &cap_out;
	req.stderr_capture = &cap_err;
	req.stdin_path = opts->stdin_path;
	req.cancel = ctx->cancel;
	req.on_output = ctx->on_output;
	req.payload = ctx->payload;
	rc = runner_exec(ctx->runner, &out->proc, &req, err);
	if (rc) {
		check_logf(ctx, "[environment failure: %s]", err->msg);
		goto out;
	}
	rc = opts->whole_stdout ? take_whole(out, &cap_out) : take_capture(&out->out, &cap_out);
	if (!rc)
		rc = take_capture(&out->err, &cap_err);
	if (rc || !sbuf_ok(&out->out) || !sbuf_ok(&out->err)) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	if (!opts->quiet)
		log_stream(ctx, &out->out);
	log_stream(ctx, &out->err);
	log_status(ctx, out);
out:
	proc_capture_release(&cap_out);
	proc_capture_release(&cap_err);
	free_env(env);
	return rc;
}

int check_cmd(struct check_ctx *ctx, struct check_cmd_out *out, const char *const *argv,
	      const char *const *extra_env, double timeout, struct alts_err *err)
{
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;

	opts.extra_env = extra_env;
	opts.timeout = timeout;
	return check_cmd_ex(ctx, out, argv, &opts, err);
}

const char *check_scratch_dir(struct check_ctx *ctx, struct alts_err *err)
{
	if (!ctx->scratch)
		return "/tmp";
	if (!ctx->scratch_made && mkdir(ctx->scratch, 0755) < 0 && errno != EEXIST) {
		alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", ctx->scratch);
		return NULL;
	}
	ctx->scratch_made = true;
	return ctx->scratch;
}

int check_write_file(struct check_ctx *ctx, const char **path, const char *name, const char *data, size_t len,
		     struct alts_err *err)
{
	const char *dir = check_scratch_dir(ctx, err);
	char *p = dir ? arena_printf(ctx->arena, "%s/%s-XXXXXX", dir, name) : NULL;
	int fd, rc = 0;

	if (!dir)
		return err->code;
	if (!p)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	fd = mkstemp(p);
	if (fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", p);
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = alts_err_errno(err, ALTS_EENV, n < 0 ? errno : EIO, "cannot write '%s'", p);
			break;
		}
		data += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 && !rc)
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s'", p);
	if (rc) {
		unlink(p);
		return rc;
	}
	*path = p;
	return 0;
}

const char *check_log_since(struct check_ctx *ctx, long from)
{
	struct sbuf sb = SBUF_INIT;
	const char *s = NULL;
	FILE *f;

	if (!ctx->log || !ctx->result->log_path || from < 0)
		return NULL;
	fflush(ctx->log);
	f = fopen(ctx->result->log_path, "re");
	if (!f)
		return NULL;
	if (fseek(f, from, SEEK_SET) == 0) {
		char buf[8192];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && sb.len < (256u << 10))
			sbuf_add(&sb, buf, n);
	}
	fclose(f);
	if (sbuf_ok(&sb) && sb.len)
		s = arena_strndup(ctx->arena, sb.buf, sb.len);
	sbuf_release(&sb);
	return s;
}

int check_env_mkdir(struct check_ctx *ctx, const char *dir, struct alts_err *err)
{
	const char *argv[] = { "mkdir", "-p", "--", dir, NULL };
	struct check_cmd_out o;
	int rc = check_cmd(ctx, &o, argv, NULL, 0, err);

	if (!rc && o.proc.exit_code != 0)
		rc = alts_err_set(err, ALTS_EENV, "cannot create '%s' in the environment (%s): %s", dir,
				  check_cmd_status(ctx, &o), check_cmd_summary(ctx, &o));
	check_cmd_out_release(&o);
	return rc;
}

yaml_node_t *check_conf_node(struct conf_ctx *ctx, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return map;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = conf_scalar(yaml_document_get_node(ctx->doc, p->key));

		if (k && !strcmp(k, key))
			return yaml_document_get_node(ctx->doc, p->value);
	}
	return map;
}

const char *const *check_alts_env(struct check_ctx *ctx)
{
	const char **env = arena_alloc(ctx->arena, 3 * sizeof(*env));
	const struct runner_info *info = ctx->runner ? runner_info(ctx->runner) : NULL;
	struct sbuf names = SBUF_INIT;
	size_t n = 0;

	if (!env)
		return NULL;
	for (size_t i = 0; i < ctx->suite->npackages; i++)
		sbuf_addf(&names, "%s%s", i ? " " : "", ctx->suite->packages[i].name);
	env[n++] = sbuf_ok(&names) ? arena_printf(ctx->arena, "ALTS_PACKAGES=%s", names.buf) : NULL;
	sbuf_release(&names);
	if (info && info->root)
		env[n++] = arena_printf(ctx->arena, "ALTS_ROOT=%s", info->root);
	env[n] = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!env[i])
			return NULL;
	}
	return env;
}
