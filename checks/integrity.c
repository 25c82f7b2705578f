/*
 * integrity: for each package, the package manager's own verification
 * (debsums / dpkg --verify / rpm -V), then ALTS's checks on the listed
 * files: they exist, symlinks resolve, ELF files find their libraries
 * (ldd's way, through their dynamic loader; ldd itself for the rest) and
 * carry no RPATH/RUNPATH with an empty entry (readelf -d). Every command
 * gets many paths at once (batches); the one shell script is a constant
 * that takes the paths as its arguments.
 */
#include "framework/common.h"
#include "checks/check_int.h"
#include "checks/pkg.h"

#include <fnmatch.h>

#define INTEGRITY_STAT_BATCH 500
#define INTEGRITY_ELF_BATCH 100
#define INTEGRITY_ELF_MAX 2000   /* ELF candidates examined per package */
#define INTEGRITY_LINK_DEPTH 8   /* symlink hops followed in a scratch root */
#define INTEGRITY_SHOW 3         /* problems named in a message */

enum integrity_part {
	PART_VERIFY = 1 << 0,
	PART_FILES = 1 << 1,
	PART_SYMLINKS = 1 << 2,
	PART_LDD = 1 << 3,
	PART_RPATH = 1 << 4,
	PART_ALL = (1 << 5) - 1,
};

static const struct {
	const char *name;
	unsigned part;
} integrity_parts[] = {
	{ "verify", PART_VERIFY }, { "files", PART_FILES }, { "symlinks", PART_SYMLINKS },
	{ "ldd", PART_LDD },       { "rpath", PART_RPATH },
};

struct integrity_conf {
	struct strlist packages;  /* subset; empty: all */
	struct strlist checks;    /* parts to run; empty: all */
	struct strlist ignore;    /* globs of paths to leave out */
	unsigned parts;           /* from checks, set by validate */
};

static const struct conf_key integrity_keys[] = {
	{ "packages", CONF_STRLIST, offsetof(struct integrity_conf, packages), CONF_NONEMPTY, NULL, NULL },
	{ "checks", CONF_STRLIST, offsetof(struct integrity_conf, checks), CONF_NONEMPTY, NULL, NULL },
	{ "ignore", CONF_STRLIST, offsetof(struct integrity_conf, ignore), CONF_NONEMPTY, NULL, NULL },
	CONF_KEYS_END,
};

static int integrity_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct suite *suite,
			      struct suite_check *check)
{
	struct integrity_conf *conf = check->conf;
	int rc = pkg_validate_subset(ctx, node, path, suite, &conf->packages);

	if (rc)
		return rc;
	conf->parts = conf->checks.n ? 0 : PART_ALL;
	for (size_t i = 0; i < conf->checks.n; i++) {
		unsigned part = 0;

		for (size_t j = 0; j < ALTS_ARRAY_SIZE(integrity_parts) && !part; j++) {
			if (!strcmp(integrity_parts[j].name, conf->checks.v[i]))
				part = integrity_parts[j].part;
		}
		if (!part)
			return conf_fail(ctx, check_conf_node(ctx, node, "checks"), conf_path_key(ctx, path, "checks"),
					 "unknown integrity check '%s' (known: verify, files, symlinks, ldd, rpath)",
					 conf->checks.v[i]);
		conf->parts |= part;
	}
	for (size_t i = 0; i < conf->ignore.n; i++) {
		if (conf->ignore.v[i][0] != '/' && conf->ignore.v[i][0] != '*')
			return conf_fail(ctx, check_conf_node(ctx, node, "ignore"), conf_path_key(ctx, path, "ignore"),
					 "'%s' is not an absolute path pattern", conf->ignore.v[i]);
	}
	return 0;
}

/* What a run knows about the environment, found once. */
struct integrity_run {
	struct check_ctx *ctx;
	const struct integrity_conf *conf;
	struct pkg_mgr m;
	enum pkg_verifier verifier;
	const char *verifier_name;
	bool have_ldd, have_readelf;
	bool sh_looked;               /* sh_loader was looked for */
	const char *sh_loader;        /* /bin/sh's loader (arena), or NULL */
	struct pkg_filters filters;   /* dpkg path-exclude rules */
	unsigned parts;               /* enum integrity_part */
	size_t nfailed;               /* failed sub-checks */
	const char *first_failure;    /* "name: message" of the first */
};

/* One listed file. */
struct ifile {
	const char *path;      /* as the package lists it */
	const char *env_path;  /* where it is (with the scratch root) */
	char type;             /* '?' missing, 'f' regular, 'd' directory, 'l' symlink, 'o' other */
	unsigned mode;
};

/* A list of problems for one sub-check. */
struct problems {
	struct sbuf text;  /* one per line */
	size_t n;
	struct sbuf shown; /* the first INTEGRITY_SHOW, "; " separated */
};

static void problems_init(struct problems *p)
{
	sbuf_init(&p->text, 1u << 20);
	sbuf_init(&p->shown, 1024);
	p->n = 0;
}

static void problems_release(struct problems *p)
{
	sbuf_release(&p->text);
	sbuf_release(&p->shown);
}

static void problem_add(struct problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem_add(struct problems *p, const char *fmt, ...)
{
	va_list ap;
	size_t start = p->text.len;

	va_start(ap, fmt);
	sbuf_vaddf(&p->text, fmt, ap);
	va_end(ap);
	if (p->n < INTEGRITY_SHOW) {
		if (p->n)
			sbuf_adds(&p->shown, "; ");
		sbuf_add(&p->shown, p->text.buf + start, p->text.len - start);
	}
	sbuf_addch(&p->text, '\n');
	p->n++;
}

static bool ignored(const struct integrity_conf *conf, const char *path)
{
	for (size_t i = 0; conf && i < conf->ignore.n; i++) {
		if (!fnmatch(conf->ignore.v[i], path, 0))
			return true;
	}
	return false;
}

/* Records a sub-result "pkg: what". */
static int sub_add(struct integrity_run *run, const char *pkg, const char *what, enum check_status status,
		   const char *message, const char *output, struct alts_err *err)
{
	struct check_ctx *ctx = run->ctx;
	struct check_result *res = ctx->result;
	const char *name = arena_printf(ctx->arena, "%s: %s", pkg, what);
	struct check_sub *sub;

	if (!name)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (message && !(message = arena_strdup(ctx->arena, message)))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	sub = check_sub_add(ctx->arena, &res->subs, &res->nsubs, name, status, message);
	if (!sub)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (output && *output)
		sub->output = arena_strdup(ctx->arena, output);
	check_logf(ctx, "alts: %s: %s%s%s", name, check_status_name(status), message ? ": " : "",
		   message ? message : "");
	if (status == CHECK_FAIL) {
		if (!run->nfailed)
			run->first_failure = arena_printf(ctx->arena, "%s: %s", name, message ? message : "failed");
		run->nfailed++;
	}
	return 0;
}

/* Records the outcome of a sub-check from its problems. */
static int sub_from_problems(struct integrity_run *run, const char *pkg, const char *what, struct problems *p,
			     struct alts_err *err)
{
	const char *msg = NULL;
	int rc;

	if (p->text.oom || p->shown.oom)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (p->n > INTEGRITY_SHOW)
		msg = arena_printf(run->ctx->arena, "%s (and %zu more)", p->shown.buf, p->n - INTEGRITY_SHOW);
	else if (p->n)
		msg = p->shown.buf;
	rc = sub_add(run, pkg, what, p->n ? CHECK_FAIL : CHECK_PASS, msg, p->n ? p->text.buf : NULL, err);
	return rc;
}

/*
 * Runs {"prog", ..., "--", paths...} once per batch (without the "--"
 * when dashdash is false: the prefix ends where the paths go) and hands
 * each output to fn with the batch's paths; first is the index of
 * paths[0] in the whole list.
 */
typedef int (*batch_fn)(struct integrity_run *run, const struct check_cmd_out *o, const char *const *paths,
			size_t n, size_t first, void *payload, struct alts_err *err);

static int run_batches_ex(struct integrity_run *run, const char *const *prefix, bool dashdash,
			  const char *const *paths, size_t n, size_t batch, batch_fn fn, void *payload,
			  struct alts_err *err)
{
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	size_t nprefix = 0;
	const char **argv;
	int rc = 0;

	while (prefix[nprefix])
		nprefix++;
	argv = alts_calloc(nprefix + batch + 2, sizeof(*argv));
	if (!argv)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	memcpy(argv, prefix, nprefix * sizeof(*argv));
	if (dashdash)
		argv[nprefix++] = "--";
	opts.quiet = true;
	for (size_t at = 0; at < n && !rc; at += batch) {
		size_t k = n - at < batch ? n - at : batch;
		struct check_cmd_out o;

		memcpy(argv + nprefix, paths + at, k * sizeof(*argv));
		argv[nprefix + k] = NULL;
		rc = check_cmd_ex(run->ctx, &o, argv, &opts, err);
		if (!rc && (o.proc.timed_out || o.proc.canceled))
			rc = alts_err_set(err, o.proc.canceled ? ALTS_ECANCELED : ALTS_ETIMEOUT, "%s %s", argv[0],
					  check_cmd_status(run->ctx, &o));
		else if (!rc && o.proc.exec_errno)
			rc = alts_err_set(err, ALTS_EENV, "cannot run '%s' in the environment: %s", argv[0],
					  strerror(o.proc.exec_errno));
		if (!rc)
			rc = fn(run, &o, paths + at, k, at, payload, err);
		check_cmd_out_release(&o);
	}
	alts_free(argv);
	return rc;
}

static int run_batches(struct integrity_run *run, const char *const *prefix, const char *const *paths, size_t n,
		       size_t batch, batch_fn fn, void *payload, struct alts_err *err)
{
	return run_batches_ex(run, prefix, true, paths, n, batch, fn, payload, err);
}

/* Walks "name" lines in the order the names were given; calls fn for each match. */
struct line_walk {
	const char *const *paths;
	size_t n, at;
};

/* The index of name in the walk's paths at or after the cursor, or n. */
static size_t walk_find(struct line_walk *w, const char *name, size_t len)
{
	for (size_t i = w->at; i < w->n; i++) {
		if (strlen(w->paths[i]) == len && !memcmp(w->paths[i], name, len)) {
			w->at = i + 1;
			return i;
		}
	}
	return w->n;
}

static char stat_type(const char *s, size_t len)
{
	if (len >= 7 && !strncmp(s, "regular", 7))
		return 'f';
	if (len == 9 && !strncmp(s, "directory", 9))
		return 'd';
	if (len == 13 && !strncmp(s, "symbolic link", 13))
		return 'l';
	return 'o';
}

/* stat --printf '%F\t%a\t%n\n': fills the type and mode of each path found. */
static int stat_batch(struct integrity_run *run, const struct check_cmd_out *o, const char *const *paths, size_t n,
		      size_t first, void *payload, struct alts_err *err)
{
	struct ifile *files = (struct ifile *)payload + first;
	struct line_walk w = { paths, n, 0 };
	const char *p = o->out.buf;

	ALTS_UNUSED(run);
	ALTS_UNUSED(err);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *t1 = memchr(p, '\t', len);
		const char *t2 = t1 ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - p)) : NULL;

		if (t1 && t2) {
			size_t i = walk_find(&w, t2 + 1, len - (size_t)(t2 + 1 - p));

			if (i < n) {
				files[i].type = stat_type(p, (size_t)(t1 - p));
				files[i].mode = (unsigned)strtoul(t1 + 1, NULL, 8);
			}
		}
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

/* Lists the package's files into *files (arena), without ignored ones. */
static int integrity_list(struct integrity_run *run, const char *pkg, struct ifile **files, size_t *nfiles,
			  bool *listed, struct alts_err *err)
{
	struct check_ctx *ctx = run->ctx;
	struct pkg_cmd cmd = PKG_CMD_INIT;
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	struct check_cmd_out o;
	struct strlist list = { 0 };
	struct ifile *v;
	size_t n = 0;
	int rc = pkg_list_cmd(&cmd, &run->m, pkg, err);

	*listed = false;
	if (rc)
		return rc;
	opts.extra_env = cmd.env;
	opts.quiet = true;
	rc = check_cmd_ex(ctx, &o, cmd.argv, &opts, err);
	if (rc)
		goto out;
	if (o.proc.exit_code != 0) {
		const char *msg = arena_printf(ctx->arena, "cannot list the files (%s): %s", check_cmd_status(ctx, &o),
					       check_cmd_summary(ctx, &o));

		rc = sub_add(run, pkg, "files exist", CHECK_FAIL, msg, NULL, err);
		goto out;
	}
	if (pkg_list_parse(&list, o.out.buf, ctx->arena)) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	if (o.out.capped)
		check_logf(ctx, "alts: %s: the file list was longer than alts keeps; checking part of it", pkg);
	v = arena_alloc(ctx->arena, (list.n + 1) * sizeof(*v));
	if (!v) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < list.n; i++) {
		if (ignored(run->conf, list.v[i]) || strchr(list.v[i], '\n'))
			continue;
		v[n].path = list.v[i];
		v[n].env_path = run->m.root ? arena_printf(ctx->arena, "%s%s", run->m.root, list.v[i]) : list.v[i];
		v[n].type = '?';
		if (!v[n].env_path) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	check_logf(ctx, "alts: %s lists %zu paths (%zu checked)", pkg, list.n, n);
	*files = v;
	*nfiles = n;
	*listed = true;
out:
	check_cmd_out_release(&o);
	pkg_cmd_release(&cmd);
	return rc;
}

/* Runs stat over every file, recording types and modes. */
static int integrity_stat(struct integrity_run *run, struct ifile *files, size_t n, struct alts_err *err)
{
	static const char *const prefix[] = { "stat", "--printf", "%F\\t%a\\t%n\\n", NULL };
	const char **paths = alts_calloc(n + 1, sizeof(*paths));
	int rc;

	if (!paths)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		paths[i] = files[i].env_path;
	rc = run_batches(run, prefix, paths, n, INTEGRITY_STAT_BATCH, stat_batch, files, err);
	alts_free(paths);
	return rc;
}

static int integrity_files(struct integrity_run *run, const char *pkg, const struct ifile *files, size_t n,
			   struct alts_err *err)
{
	struct problems p;
	int rc;

	problems_init(&p);
	for (size_t i = 0; i < n; i++) {
		if (files[i].type != '?')
			continue;
		if (pkg_filters_excluded(&run->filters, files[i].path)) {
			check_logf(run->ctx, "alts: %s is absent, as dpkg's path-exclude asks", files[i].path);
			continue;
		}
		problem_add(&p, "missing: %s", files[i].path);
	}
	rc = sub_from_problems(run, pkg, "files exist", &p, err);
	problems_release(&p);
	return rc;
}

/* stat -L over symlinks: those it cannot follow are dangling. */
struct link_state {
	const char **cur;   /* path being resolved (host or root-prefixed), NULL when done */
	char *type;         /* type of cur: '?' missing, 'l' link, other resolved */
	size_t n;
};

static int link_stat_batch(struct integrity_run *run, const struct check_cmd_out *o, const char *const *paths,
			   size_t n, size_t first, void *payload, struct alts_err *err)
{
	char *types = (char *)payload + first;
	struct line_walk w = { paths, n, 0 };
	const char *p = o->out.buf;

	ALTS_UNUSED(run);
	ALTS_UNUSED(err);
	for (size_t i = 0; i < n; i++)
		types[i] = '?';
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *tab = memchr(p, '\t', len);

		if (tab) {
			size_t i = walk_find(&w, tab + 1, len - (size_t)(tab + 1 - p));

			if (i < n)
				types[i] = stat_type(p, (size_t)(tab - p));
		}
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

/* Types of paths (stat, or stat -L when follow), in types[]. */
static int stat_types(struct integrity_run *run, const char *const *paths, size_t n, bool follow, char *types,
		      struct alts_err *err)
{
	static const char *const plain[] = { "stat", "--printf", "%F\\t%n\\n", NULL };
	static const char *const deref[] = { "stat", "-L", "--printf", "%F\\t%n\\n", NULL };

	return run_batches(run, follow ? deref : plain, paths, n, INTEGRITY_STAT_BATCH, link_stat_batch, types, err);
}

/* readlink over symlinks: one target per line, in order (all args are links). */
static int readlink_batch(struct integrity_run *run, const struct check_cmd_out *o, const char *const *paths,
			  size_t n, size_t first, void *payload, struct alts_err *err)
{
	const char **targets = (const char **)payload + first;
	const char *p = o->out.buf;
	size_t i = 0;

	ALTS_UNUSED(paths);
	while (*p && i < n) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		targets[i] = arena_strndup(run->ctx->arena, p, len);
		if (!targets[i++])
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		p += len + (nl ? 1 : 0);
	}
	if (i != n) {
		/* A link vanished between calls: treat every target here as unknown. */
		for (i = 0; i < n; i++)
			targets[i] = NULL;
	}
	return 0;
}

/* Where a link's target is, inside the scratch root. */
static const char *root_target(struct arena *a, const char *root, const char *link, const char *target)
{
	const char *slash;

	if (target[0] == '/')
		return arena_printf(a, "%s%s", root, target);
	slash = strrchr(link, '/');
	return arena_printf(a, "%.*s/%s", slash ? (int)(slash - link) : 0, link, target);
}

/*
 * In a scratch root, absolute targets must be read relative to the root,
 * so links are followed by hand: readlink, join, stat, up to
 * INTEGRITY_LINK_DEPTH hops. Sets types[i] to the final type.
 */
static int resolve_in_root(struct integrity_run *run, const char **cur, char *types, size_t n,
			   struct alts_err *err)
{
	static const char *const readlink_argv[] = { "readlink", NULL };
	struct arena *a = run->ctx->arena;
	const char **batch = alts_calloc(n + 1, sizeof(*batch));
	const char **targets = alts_calloc(n + 1, sizeof(*targets));
	size_t *idx = alts_calloc(n + 1, sizeof(*idx));
	char *bt = alts_calloc(n + 1, 1);
	int rc = 0;

	if (!batch || !targets || !idx || !bt) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		types[i] = 'l';
	for (int hop = 0; hop < INTEGRITY_LINK_DEPTH && !rc; hop++) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			if (types[i] == 'l') {
				idx[k] = i;
				batch[k++] = cur[i];
			}
		}
		if (!k)
			break;
		rc = run_batches(run, readlink_argv, batch, k, INTEGRITY_STAT_BATCH, readlink_batch, targets, err);
		for (size_t j = 0; j < k && !rc; j++) {
			size_t i = idx[j];

			if (!targets[j]) {
				types[i] = '?';
				continue;
			}
			cur[i] = root_target(a, run->m.root, cur[i], targets[j]);
			if (!cur[i])
				rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			batch[j] = cur[i];
		}
		if (!rc)
			rc = stat_types(run, batch, k, false, bt, err);
		for (size_t j = 0; j < k && !rc; j++)
			types[idx[j]] = bt[j];
	}
out:
	alts_free(batch);
	alts_free(targets);
	alts_free(idx);
	alts_free(bt);
	return rc;
}

static int integrity_symlinks(struct integrity_run *run, const char *pkg, const struct ifile *files, size_t n,
			      struct alts_err *err)
{
	const char **links = NULL;
	const struct ifile **which = NULL;
	char *types = NULL;
	struct problems p;
	size_t k = 0;
	int rc = 0;

	problems_init(&p);
	links = alts_calloc(n + 1, sizeof(*links));
	which = alts_calloc(n + 1, sizeof(*which));
	types = alts_calloc(n + 1, 1);
	if (!links || !which || !types) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (files[i].type == 'l') {
			which[k] = &files[i];
			links[k++] = files[i].env_path;
		}
	}
	if (!k) {
		rc = sub_add(run, pkg, "symlinks", CHECK_PASS, NULL, NULL, err);
		goto out;
	}
	if (run->m.root)
		rc = resolve_in_root(run, links, types, k, err);
	else
		rc = stat_types(run, links, k, true, types, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < k; i++) {
		if (types[i] == '?')
			problem_add(&p, "dangling: %s", which[i]->path);
		else if (types[i] == 'l')
			problem_add(&p, "too many levels of links: %s", which[i]->path);
	}
	rc = sub_from_problems(run, pkg, "symlinks", &p, err);
out:
	problems_release(&p);
	alts_free(links);
	alts_free(which);
	alts_free(types);
	return rc;
}

/* Files worth giving to ldd and readelf: regular, in a bin/lib dir, executable or a shared object. */
static bool elf_candidate(const struct ifile *f)
{
	static const char *const dirs[] = { "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/",
					    "/libexec/", NULL };
	bool in_dir = false;

	if (f->type != 'f')
		return false;
	for (const char *const *d = dirs; *d && !in_dir; d++)
		in_dir = strstr(f->path, *d) != NULL;
	return in_dir && ((f->mode & 0111) || strstr(f->path, ".so"));
}

/* Output sections: with one path there is no header; with more, "path:" (ldd) or "File: path" (readelf). */
struct section_walk {
	struct line_walk w;
	size_t cur;  /* index of the path whose section we are in, or n */
};

static void section_start(struct section_walk *s, const char *const *paths, size_t n)
{
	s->w.paths = paths;
	s->w.n = n;
	s->w.at = 0;
	s->cur = n == 1 ? 0 : n;
}

/* Strips the scratch root for messages. */
static const char *display_path(const struct integrity_run *run, const char *env_path)
{
	size_t rl = run->m.root ? strlen(run->m.root) : 0;

	if (rl && !strncmp(env_path, run->m.root, rl) && env_path[rl] == '/')
		return env_path + rl;
	return env_path;
}

/* Where tag starts inside the line, or NULL. */
static const char *line_find(const char *line, size_t len, const char *tag)
{
	return memmem(line, len, tag, strlen(tag));
}

static bool line_starts(const char *line, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);

	return len >= pl && !memcmp(line, prefix, pl);
}

/* True for the line check_cmd puts where it left the middle of a long output out. */
static bool is_cut_line(const struct check_cmd_out *o, const char *line, size_t len)
{
	static const char tail[] = " bytes left out ...]";

	return o->out.capped && line_starts(line, len, "[... ") && len >= sizeof(tail) - 1 &&
	       !memcmp(line + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
}

/*
 * The ldd part. ldd is a shell script that costs some 30 ms a file, so
 * files are traced through their dynamic loader directly, the way ldd
 * does it, many files per command; ldd itself gets only the files this
 * cannot answer for. readelf -d -l (the rpath part's command, with -l)
 * tells which files need libraries at all and which loader each asks
 * for (PT_INTERP).
 */
enum elf_kind {
	ELF_UNKNOWN,  /* readelf did not say (absent, output cut): ask ldd */
	ELF_NONE,     /* not ELF, static, or needing no library: nothing can be missing */
	ELF_DYNAMIC,  /* needs libraries: trace it */
};

struct elf_file {
	const char *path;      /* in the environment; borrowed */
	enum elf_kind kind;
	bool elf, needs, cut;  /* readelf: ELF, has NEEDED/filter entries, its section was cut */
	const char *interp;    /* PT_INTERP (arena), or NULL */
	const char *loader;    /* what traces it, or NULL: ldd does */
	bool listed;           /* a listing of its libraries was read */
	const char *missing;   /* libraries not found, one a line (arena), or NULL */
};

/*
 * Traces each file "$@" through the loader $1, after a "==> FILE" line,
 * with ldd's settings: LD_TRACE_LOADED_OBJECTS=1, the rest cleared. Not
 * --list: glibc 2.36's stops at the first missing library ("error while
 * loading shared libraries", exit 127) instead of printing "=> not
 * found". Only glibc's loader knows LD_TRACE_LOADED_OBJECTS (musl's would
 * run the file), so the loader must first pass --verify on itself, a
 * glibc option (exit 2: a library); any other lists nothing. Nor does a
 * file the loader refuses (another class or machine). ldd gets those.
 * Constant: the loader and the files are positional parameters.
 */
static const char trace_script[] =
	"L=$1; shift; \"$L\" --verify \"$L\" >/dev/null 2>&1; case $? in 0|2) ;; *) exit 0;; esac; "
	"for f; do printf '%s\\n' \"==> $f\"; "
	"LD_TRACE_LOADED_OBJECTS=1 LD_WARN= LD_BIND_NOW= LD_VERBOSE= \"$L\" \"$f\" 2>&1; done";

/* A "\tlib => not found" line of a listing: records lib as missing from f. */
static int note_missing(struct integrity_run *run, struct elf_file *f, const char *line, size_t len,
			struct alts_err *err)
{
	const char *nf = line_find(line, len, " => not found");

	if (!nf)
		return 0;
	f->missing = arena_printf(run->ctx->arena, "%s%.*s\n", f->missing ? f->missing : "", (int)(nf - line - 1),
				  line + 1);
	return f->missing ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

/* A listing that cannot be trusted whole (cut short): ldd gets the file. */
static void unlist(struct elf_file *f)
{
	f->listed = false;
	f->missing = NULL;
}

/* ldd over files (payload: struct elf_file *[], like paths): "path:" sections of "\t..." lines. */
static int ldd_batch(struct integrity_run *run, const struct check_cmd_out *o, const char *const *paths, size_t n,
		     size_t first, void *payload, struct alts_err *err)
{
	struct elf_file **files = (struct elf_file **)payload + first;
	struct section_walk s;
	const char *line = o->out.buf;
	int rc = 0;

	section_start(&s, paths, n);
	while (*line && !rc) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (n > 1 && len > 1 && line[0] != '\t' && line[len - 1] == ':') {
			size_t i = walk_find(&s.w, line, len - 1);

			if (i < n)
				s.cur = i;
		} else if (s.cur < n && len > 0 && line[0] == '\t') {
			rc = note_missing(run, files[s.cur], line, len, err);
		}
		line += len + (nl ? 1 : 0);
	}
	return rc;
}

/* The trace script's output (payload: struct elf_file *[], like paths): "==> path" sections. */
static int trace_batch(struct integrity_run *run, const struct check_cmd_out *o, const char *const *paths,
		       size_t n, size_t first, void *payload, struct alts_err *err)
{
	struct elf_file **files = (struct elf_file **)payload + first;
	struct line_walk w = { paths, n, 0 };
	const char *line = o->out.buf;
	size_t cur = n;
	int rc = 0;

	while (*line && !rc) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (line_starts(line, len, "==> ")) {
			cur = walk_find(&w, line + 4, len - 4);
		} else if (is_cut_line(o, line, len)) {
			if (cur < n)
				unlist(files[cur]);
			cur = n;
		} else if (cur < n && len > 0 && line[0] == '\t') {
			files[cur]->listed = true;
			rc = note_missing(run, files[cur], line, len, err);
		}
		line += len + (nl ? 1 : 0);
	}
	if (o->proc.term_signal && cur < n)
		unlist(files[cur]);  /* killed while printing it */
	return rc;
}

/* True when a search path has an empty entry ("", ":x", "x:", "x::y"), which means the current directory. */
static bool path_has_empty_entry(const char *s, size_t len)
{
	if (!len || s[0] == ':' || s[len - 1] == ':')
		return true;
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] == ':' && s[i + 1] == ':')
			return true;
	}
	return false;
}

static void rpath_line(struct integrity_run *run, struct problems *p, const char *path, const char *line,
		       size_t len)
{
	static const struct {
		const char *tag, *name;
	} tags[] = { { "Library rpath: [", "RPATH" }, { "Library runpath: [", "RUNPATH" } };

	for (size_t t = 0; t < ALTS_ARRAY_SIZE(tags); t++) {
		const char *at = line_find(line, len, tags[t].tag);
		const char *val, *end;

		if (!at)
			continue;
		val = at + strlen(tags[t].tag);
		end = memchr(val, ']', (size_t)(line + len - val));
		if (end && path_has_empty_entry(val, (size_t)(end - val)))
			problem_add(p, "%s: %s '%.*s' has an empty entry (the current directory)",
				    display_path(run, path), tags[t].name, (int)(end - val), val);
	}
}

/* readelf -l/-d lines about an ELF file, for the ldd part. */
static int elf_line(struct integrity_run *run, struct elf_file *f, const char *line, size_t len,
		    struct alts_err *err)
{
	static const char interp[] = "[Requesting program interpreter: ";
	const char *at, *end;

	if (line_starts(line, len, "Elf file type is ") ||
	    line_starts(line, len, "There are no program headers in this file."))
		f->elf = true;
	else if (line_find(line, len, " (NEEDED) ") || line_find(line, len, " (FILTER) ") ||
		 line_find(line, len, " (AUXILIARY) "))
		f->needs = true;
	else if ((at = line_find(line, len, interp)) && (end = memrchr(line, ']', len)) && end > at) {
		f->interp = arena_strndup(run->ctx->arena, at + sizeof(interp) - 1,
					  (size_t)(end - at - (sizeof(interp) - 1)));
		if (!f->interp)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	return 0;
}

/* What readelf_batch fills: either may be NULL. */
struct readelf_job {
	struct problems *rpath;  /* RPATH/RUNPATH problems */
	struct elf_file *elf;    /* one per path, for the ldd part */
};

/* readelf -d [-l] over files: "File: path" sections (none with one path). */
static int readelf_batch(struct integrity_run *run, const struct check_cmd_out *o, const char *const *paths,
			 size_t n, size_t first, void *payload, struct alts_err *err)
{
	struct readelf_job *job = payload;
	struct elf_file *elf = job->elf ? job->elf + first : NULL;
	/* Output not cut and readelf not killed: a file it printed nothing ELF about is not ELF. */
	bool whole = !o->out.capped && !o->proc.term_signal;
	struct section_walk s;
	const char *line = o->out.buf;
	int rc = 0;

	section_start(&s, paths, n);
	while (*line && !rc) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (line_starts(line, len, "File: ")) {
			s.cur = walk_find(&s.w, line + 6, len - 6);
		} else if (is_cut_line(o, line, len)) {
			if (elf && s.cur < n)
				elf[s.cur].cut = true;
			s.cur = n;
		} else if (s.cur < n) {
			if (job->rpath)
				rpath_line(run, job->rpath, paths[s.cur], line, len);
			if (elf)
				rc = elf_line(run, &elf[s.cur], line, len, err);
		}
		line += len + (nl ? 1 : 0);
	}
	for (size_t i = 0; elf && i < n; i++) {
		if (elf[i].cut || (!elf[i].elf && !whole))
			elf[i].kind = ELF_UNKNOWN;
		else
			elf[i].kind = elf[i].elf && elf[i].needs ? ELF_DYNAMIC : ELF_NONE;
	}
	return rc;
}

/* True for an interpreter worth running as a loader: in a lib directory, named like one (ld-linux-x86-64.so.2). */
static bool loader_usable(const char *interp)
{
	const char *base = interp ? strrchr(interp, '/') : NULL;

	return base && (!strncmp(interp, "/lib", 4) || !strncmp(interp, "/usr/lib", 8)) && !strstr(interp, "/..") &&
	       !strncmp(base + 1, "ld", 2) && strstr(base, ".so");
}

/* The loader /bin/sh asks for (the environment's usual one), found once; *out NULL if none. */
static int default_loader(struct integrity_run *run, const char **out, struct alts_err *err)
{
	static const char *const argv[] = { "readelf", "-l", "-W", NULL };
	static const char *const sh[] = { "/bin/sh", NULL };

	if (!run->sh_looked) {
		struct elf_file f = { .path = sh[0] };
		struct readelf_job job = { NULL, &f };
		int rc = run_batches(run, argv, sh, 1, 1, readelf_batch, &job, err);

		if (rc)
			return rc;
		run->sh_looked = true;
		run->sh_loader = loader_usable(f.interp) ? f.interp : NULL;
	}
	*out = run->sh_loader;
	return 0;
}

/* The usable interpreter most of the files ask for, or NULL. */
static const char *usual_loader(const struct elf_file *elf, size_t n)
{
	const char *best = NULL;
	size_t best_n = 0;

	for (size_t i = 0; i < n; i++) {
		size_t c = 0;

		if (!loader_usable(elf[i].interp) || (best && !strcmp(best, elf[i].interp)))
			continue;
		for (size_t j = i; j < n; j++)
			c += elf[j].interp && !strcmp(elf[j].interp, elf[i].interp);
		if (c > best_n) {
			best = elf[i].interp;
			best_n = c;
		}
	}
	return best;
}

/* Picks each dynamic file's loader: its PT_INTERP, or for a library the package's usual one, else /bin/sh's. */
static int pick_loaders(struct integrity_run *run, struct elf_file *elf, size_t n, struct alts_err *err)
{
	const char *usual = usual_loader(elf, n);
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		if (elf[i].kind != ELF_DYNAMIC)
			continue;
		if (elf[i].interp)
			elf[i].loader = loader_usable(elf[i].interp) ? elf[i].interp : NULL;
		else if (usual)
			elf[i].loader = usual;
		else
			rc = default_loader(run, &elf[i].loader, err);
	}
	return rc;
}

/* Lists the libraries of every file that needs some: loaders first, ldd for the rest; problems in file order. */
static int ldd_files(struct integrity_run *run, const char *pkg, struct elf_file *elf, size_t n, struct problems *p,
		     struct alts_err *err)
{
	static const char *const ldd_argv[] = { "ldd", NULL };
	struct elf_file **list = alts_calloc(n + 1, sizeof(*list));
	const char **paths = alts_calloc(n + 1, sizeof(*paths));
	bool *queued = alts_calloc(n + 1, sizeof(*queued));
	size_t m = 0;
	int rc = 0;

	if (!list || !paths || !queued) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	rc = pick_loaders(run, elf, n, err);
	for (size_t i = 0; i < n && !rc; i++) {
		const char *prefix[] = { "sh", "-c", trace_script, "sh", elf[i].loader, NULL };

		if (elf[i].kind != ELF_DYNAMIC || !elf[i].loader || queued[i])
			continue;
		m = 0;
		for (size_t j = i; j < n; j++) {
			if (elf[j].kind == ELF_DYNAMIC && elf[j].loader && !queued[j] &&
			    !strcmp(elf[j].loader, elf[i].loader)) {
				queued[j] = true;
				list[m] = &elf[j];
				paths[m++] = elf[j].path;
			}
		}
		rc = run_batches_ex(run, prefix, false, paths, m, INTEGRITY_ELF_BATCH, trace_batch, list, err);
	}
	m = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		if (elf[i].kind == ELF_UNKNOWN || (elf[i].kind == ELF_DYNAMIC && !elf[i].listed)) {
			list[m] = &elf[i];
			paths[m++] = elf[i].path;
		}
	}
	if (!rc && m) {
		check_logf(run->ctx, "alts: %s: %zu files for ldd (no loader could list them)", pkg, m);
		rc = run_batches(run, ldd_argv, paths, m, INTEGRITY_ELF_BATCH, ldd_batch, list, err);
	}
	for (size_t i = 0; i < n && !rc; i++) {
		for (const char *lib = elf[i].missing; lib && *lib;) {
			const char *nl = strchr(lib, '\n');

			problem_add(p, "%s: %.*s not found", display_path(run, elf[i].path), (int)(nl - lib), lib);
			lib = nl + 1;
		}
	}
out:
	alts_free(list);
	alts_free(paths);
	alts_free(queued);
	return rc;
}

/* The ldd and rpath parts over the ELF candidates, sharing one readelf. */
static int integrity_elf(struct integrity_run *run, const char *pkg, const struct ifile *files, size_t n,
			 struct alts_err *err)
{
	static const char *const rpath_argv[] = { "readelf", "-d", "-W", NULL };
	static const char *const both_argv[] = { "readelf", "-d", "-l", "-W", NULL };
	bool rpath = (run->parts & PART_RPATH) && run->have_readelf;
	bool ldd = (run->parts & PART_LDD) && !run->m.root && run->have_ldd;
	const char **cand = NULL;
	struct elf_file *elf = NULL;
	struct problems rp, lp;
	size_t k = 0;
	int rc = 0;

	problems_init(&rp);
	problems_init(&lp);
	cand = alts_calloc(n + 1, sizeof(*cand));
	elf = alts_calloc(n + 1, sizeof(*elf));
	if (!cand || !elf) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && k < INTEGRITY_ELF_MAX; i++) {
		if (elf_candidate(&files[i])) {
			elf[k].path = files[i].env_path;
			cand[k++] = files[i].env_path;
		}
	}
	if (k == INTEGRITY_ELF_MAX && (rpath || ldd))
		check_logf(run->ctx, "alts: %s: examining the first %d binaries only", pkg, INTEGRITY_ELF_MAX);
	if (run->have_readelf && (rpath || ldd)) {
		struct readelf_job job = { rpath ? &rp : NULL, ldd ? elf : NULL };

		rc = run_batches(run, ldd ? both_argv : rpath_argv, cand, k, INTEGRITY_ELF_BATCH, readelf_batch, &job,
				 err);
	}
	if (!rc && ldd)
		rc = ldd_files(run, pkg, elf, k, &lp, err);
	if (rc)
		goto out;
	if (run->parts & PART_LDD) {
		if (run->m.root)
			rc = sub_add(run, pkg, "ldd", CHECK_SKIP,
				     "ldd would look for libraries on the host, not in the scratch root", NULL, err);
		else if (!run->have_ldd)
			rc = sub_add(run, pkg, "ldd", CHECK_SKIP, "ldd is not installed in the environment", NULL, err);
		else
			rc = sub_from_problems(run, pkg, "ldd", &lp, err);
	}
	if (!rc && (run->parts & PART_RPATH)) {
		if (!run->have_readelf)
			rc = sub_add(run, pkg, "rpath", CHECK_SKIP,
				     "readelf is not installed in the environment (binutils)", NULL, err);
		else
			rc = sub_from_problems(run, pkg, "rpath", &rp, err);
	}
out:
	problems_release(&rp);
	problems_release(&lp);
	alts_free(cand);
	alts_free(elf);
	return rc;
}

static bool is_path_problem(const char *s, const char **path)
{
	static const char *const kinds[] = { "modified: ", "missing: ", NULL };

	for (const char *const *k = kinds; *k; k++) {
		if (!strncmp(s, *k, strlen(*k))) {
			*path = s + strlen(*k);
			return true;
		}
	}
	return false;
}

static int integrity_verify(struct integrity_run *run, const char *pkg, struct alts_err *err)
{
	struct check_ctx *ctx = run->ctx;
	struct pkg_cmd cmd = PKG_CMD_INIT;
	struct check_cmd_out o;
	struct strlist found = { 0 };
	struct sbuf all = SBUF_INIT;
	struct problems p;
	int rc = pkg_verify_cmd(&cmd, &run->m, run->verifier, pkg, err);

	if (rc)
		return rc;
	problems_init(&p);
	rc = pkg_ctx_run(ctx, &o, &cmd, err);
	if (rc)
		goto out;
	sbuf_add(&all, o.out.buf, o.out.len);
	sbuf_addch(&all, '\n');
	sbuf_add(&all, o.err.buf, o.err.len);
	if (!sbuf_ok(&all) || pkg_verify_parse(&found, run->verifier, run->m.root, all.buf, ctx->arena)) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < found.n; i++) {
		const char *path;

		if (is_path_problem(found.v[i], &path) &&
		    (ignored(run->conf, path) ||
		     (!strncmp(found.v[i], "missing", 7) && pkg_filters_excluded(&run->filters, path))))
			continue;
		problem_add(&p, "%s", found.v[i]);
	}
	if (!p.n && (o.proc.exit_code != 0 || o.proc.timed_out)) {
		/* Failed without naming a file (dpkg --verify of an unknown package, ...). */
		if (found.n == 0 || o.proc.timed_out)
			problem_add(&p, "%s failed (%s): %s", run->verifier_name, check_cmd_status(ctx, &o),
				    check_cmd_summary(ctx, &o));
	}
	rc = sub_from_problems(run, pkg, run->verifier_name, &p, err);
out:
	problems_release(&p);
	sbuf_release(&all);
	check_cmd_out_release(&o);
	pkg_cmd_release(&cmd);
	return rc;
}

/* Runs a probe argv: *present unless the exec failed (127). */
static int probe(struct integrity_run *run, const char *program, bool *present, struct alts_err *err)
{
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	struct check_cmd_out o;
	int rc;

	opts.timeout = 60;
	opts.quiet = true;
	rc = check_cmd_ex(run->ctx, &o, pkg_probe_argv(program), &opts, err);

	*present = !rc && o.proc.exit_code != 127 && !o.proc.exec_errno;
	check_cmd_out_release(&o);
	return rc;
}

static int integrity_prepare(struct integrity_run *run, struct alts_err *err)
{
	struct check_ctx *ctx = run->ctx;
	unsigned parts = run->parts;
	int rc = pkg_ctx_detect(ctx, &run->m, err);

	if (rc)
		return rc;
	if (run->m.family == PKG_FAMILY_RPM) {
		run->verifier = PKG_VERIFY_RPM;
		run->verifier_name = "rpm -V";
	} else {
		bool debsums = false;

		if (parts & PART_VERIFY) {
			rc = probe(run, "debsums", &debsums, err);
			if (rc)
				return rc;
		}
		run->verifier = debsums ? PKG_VERIFY_DEBSUMS : PKG_VERIFY_DPKG;
		run->verifier_name = debsums ? "debsums" : "dpkg --verify";
	}
	if (parts & PART_LDD && !run->m.root)
		rc = probe(run, "ldd", &run->have_ldd, err);
	/* readelf serves the rpath part, and the ldd part (which loader, which files). */
	if (!rc && ((parts & PART_RPATH) || ((parts & PART_LDD) && !run->m.root)))
		rc = probe(run, "readelf", &run->have_readelf, err);
	if (!rc && run->m.family == PKG_FAMILY_DEB && (parts & (PART_VERIFY | PART_FILES))) {
		struct pkg_cmd cmd = PKG_CMD_INIT;
		struct check_cmd_out o;

		rc = pkg_filters_cmd(&cmd, &run->m, err);
		if (!rc)
			rc = pkg_ctx_run(ctx, &o, &cmd, err);
		if (!rc) {
			if (pkg_filters_parse(&run->filters, o.out.buf, ctx->arena))
				rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			check_cmd_out_release(&o);
		}
		pkg_cmd_release(&cmd);
	}
	return rc;
}

static int integrity_package(struct integrity_run *run, const char *pkg, struct alts_err *err)
{
	unsigned parts = run->parts;
	struct ifile *files = NULL;
	size_t n = 0;
	bool listed = false;
	int rc = 0;

	if (parts & PART_VERIFY) {
		rc = integrity_verify(run, pkg, err);
		if (rc)
			return rc;
	}
	if (!(parts & ~PART_VERIFY))
		return 0;
	rc = integrity_list(run, pkg, &files, &n, &listed, err);
	if (rc || !listed)
		return rc;
	rc = integrity_stat(run, files, n, err);
	if (!rc && (parts & PART_FILES))
		rc = integrity_files(run, pkg, files, n, err);
	if (!rc && (parts & PART_SYMLINKS))
		rc = integrity_symlinks(run, pkg, files, n, err);
	if (!rc && (parts & (PART_LDD | PART_RPATH)))
		rc = integrity_elf(run, pkg, files, n, err);
	return rc;
}

static int integrity_run(struct check_ctx *ctx, struct alts_err *err)
{
	static const struct integrity_conf defaults = { .parts = PART_ALL };
	const struct integrity_conf *conf = ctx->check->conf ? ctx->check->conf : &defaults;
	struct integrity_run run = { 0 };
	const struct suite_package **sel = NULL;
	size_t nsel = 0, nrun = 0;
	int rc;

	run.ctx = ctx;
	run.conf = conf;
	run.parts = conf->parts ? conf->parts : PART_ALL;
	rc = pkg_ctx_select(ctx, &conf->packages, &sel, &nsel, err);
	if (rc == ALTS_EINVALID) {
		check_set(ctx, CHECK_FAIL, "%s", err->msg);
		alts_err_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	rc = integrity_prepare(&run, err);
	for (size_t i = 0; i < nsel && !rc; i++) {
		const char *why = pkg_ctx_excluded(ctx, sel[i]->name, "integrity");

		if (why) {
			rc = sub_add(&run, sel[i]->name, "integrity", CHECK_SKIP, why, NULL, err);
			continue;
		}
		nrun++;
		rc = integrity_package(&run, sel[i]->name, err);
	}
	if (rc == ALTS_ETIMEOUT || rc == ALTS_ECANCELED) {
		check_set(ctx, CHECK_FAIL, "%s", err->msg);
		ctx->result->timed_out = rc == ALTS_ETIMEOUT;
		alts_err_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	if (!nrun)
		check_set(ctx, CHECK_SKIP, "every package is excluded on %s", pkg_ctx_dist_name(ctx));
	else if (run.nfailed > 1)
		check_set(ctx, CHECK_FAIL, "%s (and %zu more failed checks)", run.first_failure, run.nfailed - 1);
	else if (run.nfailed)
		check_set(ctx, CHECK_FAIL, "%s", run.first_failure);
	else
		check_set(ctx, CHECK_PASS, NULL);
	return 0;
}

const struct check_ops check_integrity_ops = {
	.name = "integrity",
	.abi = CHECK_ABI,
	.caps = CHECK_CAP_NEEDS_PACKAGES,
	.conf_size = sizeof(struct integrity_conf),
	.keys = integrity_keys,
	.validate = integrity_validate,
	.run = integrity_run,
};
