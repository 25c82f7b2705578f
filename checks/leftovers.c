/*
 * Leftovers of a package's life: see checks/leftovers.h. The walk is
 * `find ROOT ( -path ROOT/proc -o ... ) -prune -o -printf '%y %p\0'`
 * (GNU findutils, on every Linux distribution alts supports), the
 * process list `ps -e -o pid=,comm=,args=`. Both run with argv, never
 * a shell; their output goes straight to host files (no capture cap).
 */
#include "framework/common.h"
#include "checks/leftovers.h"
#include "framework/proc.h"

#include <fnmatch.h>
#include <time.h>
#include <unistd.h>

/* Paths the walk never enters: kernel file systems, mounts, and the runner's own workdir. */
static const char *const walk_pruned[] = { "/proc", "/sys", "/dev", "/run", "/mnt", "/media", NULL };

/*
 * Expected changes, by family: fnmatch(3) patterns without FNM_PATHNAME,
 * so * also matches '/'. Documented in docs/checks.md (uninstall).
 */
static const char *const common_excl[] = {
	"/var/log/*",
	"/var/cache/*",
	"/etc/ld.so.cache",
	"/root/.cache/*",
	NULL,
};

static const char *const deb_excl[] = {
	"/var/lib/dpkg/*",
	"/var/lib/apt/*",
	"/var/backups/*",
	"/etc/apt/sources.list.d/alts-*",
	"/var/lib/ucf/hashfile*",
	"/var/lib/ucf/registry*",
	NULL,
};

static const char *const rpm_excl[] = {
	"/var/lib/rpm/*",
	"/var/lib/rpm",
	"/usr/lib/sysimage/rpm/*",
	"/var/lib/dnf/*",
	"/var/lib/yum/*",
	"/var/lib/rpm-state/*",
	"/etc/yum.repos.d/alts-*",
	"/root/.rpmdb/*",          /* rpm on Debian keeps root's database there */
	NULL,
};

const char *const *leftovers_exclusions(enum pkg_family family)
{
	return family == PKG_FAMILY_DEB ? deb_excl : family == PKG_FAMILY_RPM ? rpm_excl : NULL;
}

static bool match_any(const char *const *pats, const char *path)
{
	for (size_t i = 0; pats && pats[i]; i++) {
		if (!fnmatch(pats[i], path, 0))
			return true;
	}
	return false;
}

bool leftovers_excluded(enum pkg_family family, const char *path, const struct strlist *extra)
{
	if (match_any(common_excl, path) || match_any(leftovers_exclusions(family), path))
		return true;
	for (size_t i = 0; extra && i < extra->n; i++) {
		if (!fnmatch(extra->v[i], path, 0))
			return true;
	}
	return false;
}

enum leftovers_policy leftovers_policy(const struct leftovers_conf *c)
{
	if (!c || !c->purge || (c->leftovers && !strcmp(c->leftovers, "ignore")))
		return LEFTOVERS_IGNORE;
	if (c->leftovers && !strcmp(c->leftovers, "warn"))
		return LEFTOVERS_WARN;
	return LEFTOVERS_FAIL;
}

bool leftovers_wanted(const struct suite *s)
{
	for (size_t i = 0; i < s->nchecks; i++) {
		const struct suite_check *c = &s->checks[i];

		if (c->ops == &check_uninstall_ops && !c->skip && leftovers_policy(c->conf) != LEFTOVERS_IGNORE)
			return true;
	}
	return false;
}

struct walk_entry {
	const char *path;  /* root stripped */
	char type;
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct walk_entry *)a)->path, ((const struct walk_entry *)b)->path);
}

/* Splits a walk into sorted entries (arena a). */
static int walk_parse(const char *buf, size_t len, const char *root, struct walk_entry **out, size_t *n,
		      struct arena *a)
{
	size_t count = 0, k = 0, rl = root && strcmp(root, "/") ? strlen(root) : 0;
	struct walk_entry *v;

	for (size_t i = 0; i < len; i++)
		count += buf[i] == '\0';
	v = arena_alloc(a, (count + 1) * sizeof(*v));
	if (!v)
		return ALTS_ENOMEM;
	for (size_t i = 0; i < len;) {
		const char *rec = buf + i;
		size_t rlen = strnlen(rec, len - i);
		const char *path;

		i += rlen + 1;
		if (rlen < 3 || rec[1] != ' ')
			continue;
		path = rec + 2;
		if (rl) {
			if (strncmp(path, root, rl) || (path[rl] && path[rl] != '/'))
				continue;
			path += rl;
			if (!*path)
				path = "/";
		}
		v[k].type = rec[0];
		v[k].path = arena_strndup(a, path, strnlen(path, (size_t)(buf + len - path)));
		if (!v[k++].path)
			return ALTS_ENOMEM;
	}
	qsort(v, k, sizeof(*v), entry_cmp);
	*out = v;
	*n = k;
	return 0;
}

static bool has_prefix_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && path[n] == '/';
}

int leftovers_diff(const char *before, size_t before_len, const char *after, size_t after_len,
		   enum pkg_family family, const char *root, const struct strlist *extra, struct strlist *out,
		   struct arena *a)
{
	struct walk_entry *b = NULL, *f = NULL, **added, **gone;
	size_t nb = 0, nf = 0, na = 0, ng = 0, i = 0, j = 0, k = 0;
	const char **v;
	int rc;

	rc = walk_parse(before, before_len, root, &b, &nb, a);
	if (!rc)
		rc = walk_parse(after, after_len, root, &f, &nf, a);
	if (rc)
		return rc;
	added = arena_alloc(a, (nf + 1) * sizeof(*added));
	gone = arena_alloc(a, (nb + 1) * sizeof(*gone));
	if (!added || !gone)
		return ALTS_ENOMEM;
	/* Every new path is kept here, excluded or not: a new directory holding only excluded files is not news. */
	while (i < nb || j < nf) {
		int c = i >= nb ? 1 : j >= nf ? -1 : strcmp(b[i].path, f[j].path);

		if (c < 0) {
			if (!leftovers_excluded(family, b[i].path, extra))
				gone[ng++] = &b[i];
			i++;
		} else if (c > 0) {
			added[na++] = &f[j];
			j++;
		} else {
			i++;
			j++;
		}
	}
	v = arena_alloc(a, (na + ng + 1) * sizeof(*v));
	if (!v)
		return ALTS_ENOMEM;
	for (size_t x = 0; x < na; x++) {
		bool parent = false;

		if (leftovers_excluded(family, added[x]->path, extra))
			continue;
		/* A new directory is named only when nothing new is inside: then its files say more. */
		if (added[x]->type == 'd') {
			for (size_t y = 0; y < na && !parent; y++)
				parent = y != x && has_prefix_dir(added[y]->path, added[x]->path);
		}
		if (parent)
			continue;
		v[k] = arena_printf(a, "left behind: %s%s", added[x]->path, added[x]->type == 'd' ? "/" : "");
		if (!v[k++])
			return ALTS_ENOMEM;
	}
	for (size_t x = 0; x < ng; x++) {
		bool inside = false;

		/* A removed directory's contents went with it. */
		for (size_t y = 0; y < ng && !inside; y++)
			inside = y != x && gone[y]->type == 'd' && has_prefix_dir(gone[x]->path, gone[y]->path);
		if (inside)
			continue;
		v[k] = arena_printf(a, "removed: %s%s", gone[x]->path, gone[x]->type == 'd' ? "/" : "");
		if (!v[k++])
			return ALTS_ENOMEM;
	}
	v[k] = NULL;
	out->v = v;
	out->n = k;
	return 0;
}

/* One "PID COMM ARGS" line: pid, comm and args spans. false when it is not one. */
static bool ps_line(const char *p, size_t len, long *pid, const char **comm, size_t *comm_len, const char **args,
		    size_t *args_len)
{
	char *end;

	while (len && *p == ' ') {
		p++;
		len--;
	}
	if (!len || !isdigit((unsigned char)*p))
		return false;
	*pid = strtol(p, &end, 10);
	len -= (size_t)(end - p);
	p = end;
	while (len && *p == ' ') {
		p++;
		len--;
	}
	*comm = p;
	while (len && *p != ' ') {
		p++;
		len--;
	}
	*comm_len = (size_t)(p - *comm);
	while (len && *p == ' ') {
		p++;
		len--;
	}
	*args = p;
	*args_len = len;
	return *comm_len > 0;
}

static bool pid_in(const char *text, long pid)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *comm, *args;
		size_t cl, al;
		long q;

		if (ps_line(p, len, &q, &comm, &cl, &args, &al) && q == pid)
			return true;
		p = nl ? nl + 1 : p + len;
	}
	return false;
}

/* A process of the "after" list that the "before" list (payload) does not have. */
static int keep_new_proc(const char *line, size_t len, const char **kept, struct arena *a, void *before)
{
	const char *comm, *args;
	size_t cl, al;
	long pid;

	if (!ps_line(line, len, &pid, &comm, &cl, &args, &al) || (cl == 2 && !strncmp(comm, "ps", 2)) ||
	    pid_in(before, pid))
		return 0;
	while (al && isspace((unsigned char)args[al - 1]))
		al--;
	*kept = arena_printf(a, "still running: %ld %.*s (%.*s)", pid, (int)cl, comm, (int)al, args);
	return *kept ? 1 : ALTS_ENOMEM;
}

int leftovers_procs(const char *before, const char *after, struct strlist *out, struct arena *a)
{
	return pkg_lines_collect(out, after, keep_new_proc, (void *)before, a);
}

/*
 * Runs argv with stdout to the host file out_path (no cap), stderr to
 * the log. *status: the exit code, -1 when it did not exit normally.
 */
static int run_to_file(struct check_ctx *ctx, const char *const *argv, const char *out_path, int *status,
		       struct alts_err *err)
{
	struct runner_exec_req req = RUNNER_EXEC_REQ_INIT;
	struct proc_result pr;
	const char *err_path = arena_printf(ctx->arena, "%s.err", out_path);
	struct sbuf sb = SBUF_INIT;
	double left = check_time_left(ctx);
	int rc;

	if (!err_path)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (!check_scratch_dir(ctx, err))
		return err->code;
	check_logf(ctx, "$ %s > %s", check_argv_display(ctx, argv), out_path);
	memset(&pr, 0, sizeof(pr));
	req.argv = argv;
	req.timeout = left < 300 ? left : 300;
	req.stdout_path = out_path;
	req.stderr_path = err_path;
	req.cancel = ctx->cancel;
	if (req.timeout <= 0) {
		*status = -1;
		check_logf(ctx, "[not run: the check's time is up]");
		return 0;
	}
	rc = runner_exec(ctx->runner, &pr, &req, err);
	if (rc)
		return rc;
	if (!sbuf_read_file(&sb, err_path, 64 * 1024) && sb.len)
		check_logf(ctx, "%s", sb.buf);
	sbuf_release(&sb);
	unlink(err_path);
	*status = pr.timed_out || pr.term_signal || pr.exec_errno ? -1 : pr.exit_code;
	check_logf(ctx, "[exit %d, %.1fs]", *status, pr.duration);
	return 0;
}

static const char *walk_root(const struct pkg_mgr *m)
{
	return m && m->root ? m->root : "/";
}

/* The find argv for root, pruning the kernel file systems and the runner's workdir. */
static const char **walk_argv(struct check_ctx *ctx, const struct pkg_mgr *m)
{
	const char *root = walk_root(m);
	const char *base = strcmp(root, "/") ? root : "";
	const char **v = arena_alloc(ctx->arena, 32 * sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	v[n++] = "find";
	v[n++] = root;
	v[n++] = "(";
	for (size_t i = 0; walk_pruned[i]; i++) {
		if (i)
			v[n++] = "-o";
		v[n++] = "-path";
		v[n++] = arena_printf(ctx->arena, "%s%s", base, walk_pruned[i]);
	}
	v[n++] = "-o";
	v[n++] = "-path";
	v[n++] = runner_workdir(ctx->runner);
	v[n++] = ")";
	v[n++] = "-prune";
	v[n++] = "-o";
	v[n++] = "-printf";
	v[n++] = "%y %p\\0";
	v[n] = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!v[i])
			return NULL;
	}
	return v;
}

static const char *const ps_argv[] = { "ps", "-e", "-o", "pid=,comm=,args=", NULL };

static const char *life_dir(struct check_ctx *ctx)
{
	return arena_printf(ctx->arena, "%s/alts-life", runner_workdir(ctx->runner));
}

/* A file in the check's scratch directory (made by check_scratch_dir() before the file is). */
static const char *scratch_path(struct check_ctx *ctx, const char *name)
{
	return arena_printf(ctx->arena, "%s/%s", ctx->scratch ? ctx->scratch : "/tmp", name);
}

int leftovers_snapshot(struct check_ctx *ctx, const struct pkg_mgr *m, struct alts_err *err)
{
	const char *dir = life_dir(ctx), *files = scratch_path(ctx, "life-before-files"),
		   *procs = scratch_path(ctx, "life-before-procs");
	const char *marker = dir ? arena_printf(ctx->arena, "%s/files", dir) : NULL;
	const char *test_argv[] = { "test", "-e", marker, NULL };
	const char **walk = walk_argv(ctx, m);
	struct check_cmd_out o;
	int status = 0, rc;

	if (!dir || !files || !procs || !marker || !walk)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = check_cmd(ctx, &o, test_argv, NULL, 30, err);
	status = o.proc.exit_code;
	check_cmd_out_release(&o);
	if (rc)
		return rc;
	if (status == 0) {
		check_logf(ctx, "alts: the leftovers walk was taken before");
		return 0;
	}
	check_logf(ctx, "alts: walking the file system before the package's life (for uninstall's leftovers)");
	rc = run_to_file(ctx, walk, files, &status, err);
	if (!rc && status != 0 && status != 1)
		rc = alts_err_set(err, ALTS_EENV, "cannot walk the environment's file system (find exit %d)", status);
	if (!rc)
		rc = run_to_file(ctx, ps_argv, procs, &status, err);
	if (!rc && status != 0)
		check_logf(ctx, "alts: ps failed (exit %d): processes will not be compared", status);
	if (!rc)
		rc = check_env_mkdir(ctx, dir, err);
	if (!rc)
		rc = runner_copy_in(ctx->runner, files, marker, err);
	if (!rc && status == 0)
		rc = runner_copy_in(ctx->runner, procs, arena_printf(ctx->arena, "%s/procs", dir), err);
	unlink(files);
	unlink(procs);
	return rc;
}

static void sleep_for(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Processes that were not there before, after up to conf->grace seconds for them to stop. */
static int compare_procs(struct check_ctx *ctx, const struct leftovers_conf *conf, const char *before_path,
			 struct strlist *out, struct alts_err *err)
{
	struct sbuf before = SBUF_INIT, now = SBUF_INIT;
	double grace = conf->grace > 0 ? conf->grace : LEFTOVERS_GRACE, until = proc_now() + grace;
	const char *now_path = scratch_path(ctx, "life-after-procs");
	FILE *log = ctx->log;
	int rc = 0, status = 0;
	unsigned polls = 0;

	out->n = 0;
	out->v = NULL;
	if (!now_path)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (sbuf_read_file(&before, before_path, 0)) {
		check_logf(ctx, "alts: no process list from before; processes are not compared");
		goto out;
	}
	for (;;) {
		/* Log the first and the last poll. */
		ctx->log = polls == 0 ? log : NULL;
		rc = run_to_file(ctx, ps_argv, now_path, &status, err);
		ctx->log = log;
		polls++;
		if (rc)
			goto out;
		sbuf_reset(&now);
		if (status != 0 || sbuf_read_file(&now, now_path, 0)) {
			check_logf(ctx, "alts: ps failed (exit %d); processes are not compared", status);
			goto out;
		}
		rc = leftovers_procs(before.buf, now.buf, out, ctx->arena);
		if (rc) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
		if (!out->n || proc_now() >= until || check_time_left(ctx) <= 1)
			break;
		sleep_for(0.2);
	}
	check_logf(ctx, "alts: %zu new process%s after %u poll%s (grace %.1fs)%s%s", out->n, out->n == 1 ? "" : "es",
		   polls, polls == 1 ? "" : "s", grace, out->n ? ":\n" : "", out->n ? now.buf : "");
out:
	unlink(now_path);
	sbuf_release(&before);
	sbuf_release(&now);
	return rc;
}

/* path as an fnmatch pattern that matches only itself. */
static const char *glob_literal(struct arena *a, const char *path)
{
	struct sbuf out = SBUF_INIT;
	const char *r;

	for (const char *p = path; *p; p++) {
		if (strchr("*?[\\", *p))
			sbuf_addch(&out, '\\');
		sbuf_addch(&out, *p);
	}
	r = sbuf_ok(&out) ? arena_strndup(a, out.buf, out.len) : NULL;
	sbuf_release(&out);
	return r;
}

/*
 * The ignore patterns and, as literal paths, the files of the test
 * dependencies (checks/testdeps.h): those installed after the "before"
 * walk are not the package's leftovers.
 */
static int ignore_with_test_deps(struct check_ctx *ctx, const struct pkg_mgr *m, const struct strlist *ignore,
				 struct strlist *out, struct alts_err *err)
{
	size_t ndeps, n = ignore->n, cap;
	const char *const *deps = runner_test_deps(ctx->runner, &ndeps);
	const char **v;

	*out = *ignore;
	if (!ndeps)
		return 0;
	cap = ignore->n + 64;
	v = arena_alloc(ctx->arena, cap * sizeof(*v));
	if (!v)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < ignore->n; i++)
		v[i] = ignore->v[i];
	for (size_t d = 0; d < ndeps; d++) {
		struct pkg_cmd cmd = PKG_CMD_INIT;
		struct check_cmd_out o;
		struct strlist files = { NULL, 0 };
		const char *text;
		int rc = pkg_list_cmd(&cmd, m, deps[d], err);

		if (rc)
			return rc;
		rc = pkg_ctx_run_list(ctx, &o, &cmd, &text, err);
		pkg_cmd_release(&cmd);
		if (!rc && !o.proc.exit_code && pkg_list_parse(&files, text, ctx->arena))
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		check_cmd_out_release(&o);
		if (rc)
			return rc;
		for (size_t i = 0; i < files.n; i++) {
			if (n + 1 >= cap) {
				const char **grown = arena_alloc(ctx->arena, 2 * cap * sizeof(*grown));

				if (!grown)
					return alts_err_set(err, ALTS_ENOMEM, "out of memory");
				memcpy(grown, v, n * sizeof(*v));
				v = grown;
				cap *= 2;
			}
			if (!(v[n++] = glob_literal(ctx->arena, files.v[i])))
				return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		}
	}
	check_logf(ctx, "alts: the files of %zu test dependencies are not leftovers", ndeps);
	out->v = v;
	out->n = n;
	return 0;
}

int leftovers_compare(struct check_ctx *ctx, const struct pkg_mgr *m, const struct leftovers_conf *conf,
		      struct strlist *findings, bool *nobefore, struct alts_err *err)
{
	struct strlist ignore;
	const char *dir = life_dir(ctx), *bfiles = scratch_path(ctx, "life-before-files"),
		   *bprocs = scratch_path(ctx, "life-before-procs"), *afiles = scratch_path(ctx, "life-after-files");
	const char **walk = walk_argv(ctx, m);
	struct sbuf before = SBUF_INIT, after = SBUF_INIT;
	struct strlist files = { NULL, 0 }, procs = { NULL, 0 };
	struct alts_err cerr = ALTS_ERR_INIT;
	const char **v;
	int rc, status = 0;

	*nobefore = false;
	findings->v = NULL;
	findings->n = 0;
	if (!dir || !bfiles || !bprocs || !afiles || !walk)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	/* The walk from before comes out into the scratch directory, which is made on demand. */
	if (!check_scratch_dir(ctx, err))
		return err->code;
	if (runner_copy_out(ctx->runner, arena_printf(ctx->arena, "%s/files", dir), bfiles, &cerr) ||
	    access(bfiles, R_OK) != 0) {
		check_logf(ctx, "alts: no walk from before the package's life: %s", cerr.msg[0] ? cerr.msg : "no file");
		*nobefore = true;
		return 0;
	}
	if (runner_copy_out(ctx->runner, arena_printf(ctx->arena, "%s/procs", dir), bprocs, &cerr))
		check_logf(ctx, "alts: no process list from before: %s", cerr.msg);
	rc = compare_procs(ctx, conf, bprocs, &procs, err);
	if (rc)
		goto out;
	check_logf(ctx, "alts: walking the file system after the purge");
	rc = run_to_file(ctx, walk, afiles, &status, err);
	if (!rc && status != 0 && status != 1)
		rc = alts_err_set(err, ALTS_EENV, "cannot walk the environment's file system (find exit %d)", status);
	if (rc)
		goto out;
	if (sbuf_read_file(&before, bfiles, 0) || sbuf_read_file(&after, afiles, 0)) {
		rc = alts_err_set(err, ALTS_EENV, "cannot read the file system walks");
		goto out;
	}
	rc = ignore_with_test_deps(ctx, m, &conf->ignore, &ignore, err);
	if (rc)
		goto out;
	rc = leftovers_diff(before.buf, before.len, after.buf, after.len, m->family,
			    strcmp(walk_root(m), "/") ? walk_root(m) : NULL, &ignore, &files, ctx->arena);
	if (rc) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	v = arena_alloc(ctx->arena, (files.n + procs.n + 1) * sizeof(*v));
	if (!v) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < files.n; i++)
		v[findings->n++] = files.v[i];
	for (size_t i = 0; i < procs.n; i++)
		v[findings->n++] = procs.v[i];
	v[findings->n] = NULL;
	findings->v = v;
	for (size_t i = 0; i < findings->n; i++)
		check_logf(ctx, "alts: %s", findings->v[i]);
out:
	unlink(bfiles);
	unlink(bprocs);
	unlink(afiles);
	sbuf_release(&before);
	sbuf_release(&after);
	return rc;
}
