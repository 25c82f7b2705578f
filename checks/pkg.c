/*
 * Package-manager knowledge: tool choice and the argv of each operation.
 * Every argument is a separate argv element; nothing here is parsed by a
 * shell. See checks/pkg.h and docs/internals/packages.md.
 */
#include "framework/common.h"
#include "checks/pkg.h"

#include <fnmatch.h>

static const char *const apt_env[] = {
	"DEBIAN_FRONTEND=noninteractive",
	"APT_LISTCHANGES_FRONTEND=none",
	NULL,
};

static const char *const dpkg_env[] = {
	"DEBIAN_FRONTEND=noninteractive",
	NULL,
};

const char *pkg_tool_name(enum pkg_tool t)
{
	switch (t) {
	case PKG_TOOL_APT: return "apt-get";
	case PKG_TOOL_DPKG: return "dpkg";
	case PKG_TOOL_DNF: return "dnf";
	case PKG_TOOL_YUM: return "yum";
	case PKG_TOOL_RPM: return "rpm";
	default: return "none";
	}
}

static enum pkg_family tool_family(enum pkg_tool t)
{
	switch (t) {
	case PKG_TOOL_APT:
	case PKG_TOOL_DPKG: return PKG_FAMILY_DEB;
	case PKG_TOOL_DNF:
	case PKG_TOOL_YUM:
	case PKG_TOOL_RPM: return PKG_FAMILY_RPM;
	default: return PKG_FAMILY_NONE;
	}
}

static enum pkg_tool tool_by_name(const char *name)
{
	static const struct {
		const char *name;
		enum pkg_tool tool;
	} names[] = {
		{ "apt", PKG_TOOL_APT }, { "apt-get", PKG_TOOL_APT }, { "dpkg", PKG_TOOL_DPKG },
		{ "dnf", PKG_TOOL_DNF }, { "yum", PKG_TOOL_YUM },     { "rpm", PKG_TOOL_RPM },
	};

	for (size_t i = 0; name && i < ALTS_ARRAY_SIZE(names); i++) {
		if (!strcmp(names[i].name, name))
			return names[i].tool;
	}
	return PKG_TOOL_NONE;
}

static bool word_in(const char *word, const char *const *list)
{
	for (; *list; list++) {
		if (!strcmp(*list, word))
			return true;
	}
	return false;
}

/* The major version number at the start of version, or -1. */
static long major_version(const char *version)
{
	char *end;
	long v;

	if (!version || !isdigit((unsigned char)*version))
		return -1;
	errno = 0;
	v = strtol(version, &end, 10);
	return errno ? -1 : v;
}

/* The tool for one os-release ID (or dist_name) and version; NONE if unknown. */
static enum pkg_tool tool_for_dist(const char *id, const char *version)
{
	static const char *const debian_like[] = { "debian", "ubuntu", "linuxmint", "raspbian", "devuan",
						   "kali", "pop", "elementary", "astra", NULL };
	static const char *const el_like[] = { "rhel", "centos", "almalinux", "rocky", "ol", "oracle",
					       "eurolinux", "cloudlinux", "scientific", "virtuozzo", "redhat",
					       "el", NULL };
	long major = major_version(version);

	if (!id || !*id)
		return PKG_TOOL_NONE;
	if (word_in(id, debian_like))
		return PKG_TOOL_APT;
	if (!strcmp(id, "fedora"))
		return PKG_TOOL_DNF;
	if (!strcmp(id, "amzn"))
		return major == 2 ? PKG_TOOL_YUM : PKG_TOOL_DNF;
	if (word_in(id, el_like))
		return major >= 0 && major < 8 ? PKG_TOOL_YUM : PKG_TOOL_DNF;
	return PKG_TOOL_NONE;
}

/* Tries each word of an ID_LIKE list ("rhel centos fedora"). */
static enum pkg_tool tool_for_id_like(const char *like, const char *version)
{
	char word[64];

	while (like && *like) {
		size_t n = strcspn(like, " \t");

		if (n && n < sizeof(word)) {
			enum pkg_tool t;

			memcpy(word, like, n);
			word[n] = '\0';
			t = tool_for_dist(word, version);
			if (t)
				return t;
		}
		like += n;
		like += strspn(like, " \t");
	}
	return PKG_TOOL_NONE;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* The family the suite's package files need; NONE when there are none. */
static int files_family(enum pkg_family *out, const struct suite *s, struct alts_err *err)
{
	enum pkg_family fam = PKG_FAMILY_NONE;

	for (size_t i = 0; i < s->npackages; i++) {
		const char *f = s->packages[i].file;
		enum pkg_family this;

		if (!f)
			continue;
		this = ends_with(f, ".deb") ? PKG_FAMILY_DEB : ends_with(f, ".rpm") ? PKG_FAMILY_RPM : PKG_FAMILY_NONE;
		if (!this)
			return alts_err_set(err, ALTS_EINVALID, "package file '%s' is neither a .deb nor an .rpm", f);
		if (fam && this != fam)
			return alts_err_set(err, ALTS_EINVALID, "the suite mixes .deb and .rpm package files");
		fam = this;
	}
	*out = fam;
	return 0;
}

int pkg_detect(struct pkg_mgr *out, const struct suite *suite, const struct runner_info *info,
	       struct alts_err *err)
{
	const struct suite_environment *env = &suite->env;
	const char *root = info && info->root ? info->root : env->root;
	const char *os_version = info ? info->os_version : NULL;
	enum pkg_family files = PKG_FAMILY_NONE, fam;
	enum pkg_tool tool = PKG_TOOL_NONE;
	const char *reason = NULL;
	int rc;

	rc = files_family(&files, suite, err);
	if (rc)
		return rc;
	if (env->package_manager) {
		tool = tool_by_name(env->package_manager);
		if (!tool)
			return alts_err_set(err, ALTS_EINVALID, "unknown package manager '%s'", env->package_manager);
		reason = "environment.package_manager";
	}
	if (!tool && env->dist_name) {
		tool = tool_for_dist(env->dist_name, env->dist_version ? env->dist_version : os_version);
		reason = "environment.dist_name";
	}
	if (!tool && root && files) {
		tool = files == PKG_FAMILY_DEB ? PKG_TOOL_DPKG : PKG_TOOL_RPM;
		reason = "the package files";
	}
	if (!tool && info) {
		tool = tool_for_dist(info->os_id, os_version);
		if (!tool)
			tool = tool_for_id_like(info->os_id_like, os_version);
		reason = "the environment's os-release";
	}
	if (!tool && files) {
		tool = files == PKG_FAMILY_DEB ? PKG_TOOL_DPKG : PKG_TOOL_RPM;
		reason = "the package files";
	}
	if (!tool) {
		if (env->dist_name)
			return alts_err_set(err, ALTS_ENOTFOUND,
					    "cannot tell the package manager of distribution '%s'; "
					    "set environment.package_manager",
					    env->dist_name);
		return alts_err_set(err, ALTS_ENOTFOUND,
				    "cannot tell which package manager to use (os '%s'); "
				    "set environment.package_manager",
				    info && info->os_id && *info->os_id ? info->os_id : "unknown");
	}
	fam = tool_family(tool);
	if (files && files != fam)
		return alts_err_set(err, ALTS_EINVALID, "the suite's %s files cannot be installed with %s",
				    files == PKG_FAMILY_DEB ? ".deb" : ".rpm", pkg_tool_name(tool));
	if (root)
		tool = fam == PKG_FAMILY_DEB ? PKG_TOOL_DPKG : PKG_TOOL_RPM;
	out->family = fam;
	out->tool = tool;
	out->root = root;
	out->reason = reason;
	return 0;
}

/* ---- commands ---------------------------------------------------------- */

void pkg_cmd_release(struct pkg_cmd *c)
{
	if (!c)
		return;
	alts_free(c->argv);
	arena_free(c->arena);
	memset(c, 0, sizeof(*c));
}

void pkg_cmd_add(struct pkg_cmd *c, const char *arg)
{
	if (c->oom)
		return;
	if (!arg) {
		c->oom = true;
		return;
	}
	if (c->argc + 2 > c->alloc) {
		size_t want = c->alloc ? 2 * c->alloc : 16;
		const char **v = alts_reallocarray(c->argv, want, sizeof(*v));

		if (!v) {
			c->oom = true;
			return;
		}
		c->argv = v;
		c->alloc = want;
	}
	c->argv[c->argc++] = arg;
	c->argv[c->argc] = NULL;
}

void pkg_cmd_addf(struct pkg_cmd *c, const char *fmt, ...)
{
	va_list ap;
	struct sbuf sb = SBUF_INIT;

	if (c->oom)
		return;
	if (!c->arena && !(c->arena = arena_new())) {
		c->oom = true;
		return;
	}
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	pkg_cmd_add(c, sb.oom ? NULL : arena_strndup(c->arena, sb.buf, sb.len));
	sbuf_release(&sb);
}

/* Finishes a built command: moves it to out, or reports OOM. */
static int cmd_finish(struct pkg_cmd *out, struct pkg_cmd *c, struct alts_err *err)
{
	if (c->oom || !c->argc) {
		pkg_cmd_release(c);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	*out = *c;
	return 0;
}

/* dpkg and dpkg-query: --root=DIR. */
static void add_dpkg_root(struct pkg_cmd *c, const struct pkg_mgr *m)
{
	if (m->root)
		pkg_cmd_addf(c, "--root=%s", m->root);
}

/* rpm: --root DIR. */
static void add_rpm_root(struct pkg_cmd *c, const struct pkg_mgr *m)
{
	if (m->root) {
		pkg_cmd_add(c, "--root");
		pkg_cmd_add(c, m->root);
	}
}

static void add_apt_options(struct pkg_cmd *c)
{
	pkg_cmd_add(c, "-y");
	/* Suites running in parallel on one host wait for each other instead of failing. */
	pkg_cmd_add(c, "-o");
	pkg_cmd_add(c, "DPkg::Lock::Timeout=600");
	pkg_cmd_add(c, "-o");
	pkg_cmd_add(c, "Dpkg::Options::=--force-confdef");
	pkg_cmd_add(c, "-o");
	pkg_cmd_add(c, "Dpkg::Options::=--force-confold");
}

/* name=version for apt, name-version for dnf/yum; epoch goes before the version. */
static void add_spec(struct pkg_cmd *c, const struct suite_package *p, char sep)
{
	if (p->version && p->epoch)
		pkg_cmd_addf(c, "%s%c%s:%s", p->name, sep, p->epoch, p->version);
	else if (p->version)
		pkg_cmd_addf(c, "%s%c%s", p->name, sep, p->version);
	else
		pkg_cmd_add(c, p->name);
}

int pkg_install_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const struct suite_package *pkgs, size_t n,
		    unsigned flags, struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;

	if (!n)
		return alts_err_set(err, ALTS_EINVALID, "no packages to install");
	if (m->tool == PKG_TOOL_DPKG || m->tool == PKG_TOOL_RPM) {
		for (size_t i = 0; i < n; i++) {
			if (!pkgs[i].file)
				return alts_err_set(err, ALTS_EINVALID,
						    "package '%s' has no file; %s installs package files only%s",
						    pkgs[i].name, pkg_tool_name(m->tool),
						    m->root ? " (environment.root is set)" : "");
		}
	}
	switch (m->tool) {
	case PKG_TOOL_APT:
		pkg_cmd_add(&c, "apt-get");
		pkg_cmd_add(&c, "install");
		add_apt_options(&c);
		if (flags & PKG_INSTALL_DOWNGRADE)
			pkg_cmd_add(&c, "--allow-downgrades");
		if (flags & PKG_INSTALL_NO_RECOMMENDS)
			pkg_cmd_add(&c, "--no-install-recommends");
		for (size_t i = 0; i < n; i++) {
			if (pkgs[i].file)
				pkg_cmd_add(&c, pkgs[i].file);
			else
				add_spec(&c, &pkgs[i], '=');
		}
		c.env = apt_env;
		break;
	case PKG_TOOL_DPKG:
		pkg_cmd_add(&c, "dpkg");
		add_dpkg_root(&c, m);
		if (m->root) {
			pkg_cmd_add(&c, "--force-not-root");
			pkg_cmd_add(&c, "--force-depends");
		}
		pkg_cmd_add(&c, "--force-confdef");
		pkg_cmd_add(&c, "--force-confold");
		pkg_cmd_add(&c, "-i");
		for (size_t i = 0; i < n; i++)
			pkg_cmd_add(&c, pkgs[i].file);
		c.env = dpkg_env;
		break;
	case PKG_TOOL_DNF:
	case PKG_TOOL_YUM:
		pkg_cmd_add(&c, pkg_tool_name(m->tool));
		pkg_cmd_add(&c, "install");
		pkg_cmd_add(&c, "-y");
		if ((flags & PKG_INSTALL_NO_RECOMMENDS) && m->tool == PKG_TOOL_DNF)
			pkg_cmd_add(&c, "--setopt=install_weak_deps=False");
		for (size_t i = 0; i < n; i++) {
			if (pkgs[i].file)
				pkg_cmd_add(&c, pkgs[i].file);
			else
				add_spec(&c, &pkgs[i], '-');
		}
		break;
	case PKG_TOOL_RPM:
		pkg_cmd_add(&c, "rpm");
		add_rpm_root(&c, m);
		if (flags & PKG_INSTALL_DOWNGRADE) {
			pkg_cmd_add(&c, "-U");
			pkg_cmd_add(&c, "--oldpackage");
		} else {
			pkg_cmd_add(&c, "-i");
		}
		if (m->root)
			pkg_cmd_add(&c, "--nodeps");
		for (size_t i = 0; i < n; i++)
			pkg_cmd_add(&c, pkgs[i].file);
		break;
	default: return alts_err_set(err, ALTS_EINTERNAL, "no package manager chosen");
	}
	return cmd_finish(out, &c, err);
}

int pkg_remove_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *const *names, size_t n,
		   struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;

	if (!n)
		return alts_err_set(err, ALTS_EINVALID, "no packages to remove");
	switch (m->tool) {
	case PKG_TOOL_APT:
		pkg_cmd_add(&c, "apt-get");
		pkg_cmd_add(&c, "remove");
		add_apt_options(&c);
		c.env = apt_env;
		break;
	case PKG_TOOL_DPKG:
		pkg_cmd_add(&c, "dpkg");
		add_dpkg_root(&c, m);
		if (m->root) {
			pkg_cmd_add(&c, "--force-not-root");
			pkg_cmd_add(&c, "--force-depends");
		}
		pkg_cmd_add(&c, "-r");
		c.env = dpkg_env;
		break;
	case PKG_TOOL_DNF:
	case PKG_TOOL_YUM:
		pkg_cmd_add(&c, pkg_tool_name(m->tool));
		pkg_cmd_add(&c, "remove");
		pkg_cmd_add(&c, "-y");
		break;
	case PKG_TOOL_RPM:
		pkg_cmd_add(&c, "rpm");
		add_rpm_root(&c, m);
		pkg_cmd_add(&c, "-e");
		if (m->root)
			pkg_cmd_add(&c, "--nodeps");
		break;
	default: return alts_err_set(err, ALTS_EINTERNAL, "no package manager chosen");
	}
	for (size_t i = 0; i < n; i++)
		pkg_cmd_add(&c, names[i]);
	return cmd_finish(out, &c, err);
}

int pkg_query_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *name, struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;

	if (m->family == PKG_FAMILY_DEB) {
		pkg_cmd_add(&c, "dpkg-query");
		add_dpkg_root(&c, m);
		pkg_cmd_add(&c, "-W");
		pkg_cmd_add(&c, "--showformat=${Status}\\t${Version}\\n");
	} else if (m->family == PKG_FAMILY_RPM) {
		pkg_cmd_add(&c, "rpm");
		add_rpm_root(&c, m);
		pkg_cmd_add(&c, "-q");
		pkg_cmd_add(&c, "--qf");
		pkg_cmd_add(&c, "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n");
	} else {
		return alts_err_set(err, ALTS_EINTERNAL, "no package manager chosen");
	}
	pkg_cmd_add(&c, name);
	return cmd_finish(out, &c, err);
}

bool pkg_query_parse(const struct pkg_mgr *m, int exit_code, const char *out, struct arena *a,
		     const char **version)
{
	const char *tab, *nl;
	bool installed = false;

	if (exit_code != 0 || !out)
		return false;
	tab = strchr(out, '\t');
	nl = strchr(out, '\n');
	if (!nl)
		nl = out + strlen(out);
	if (!tab || tab > nl)
		return false;
	if (m->family == PKG_FAMILY_DEB) {
		/* "want error status": installed when the status word is "installed". */
		const char *status = out;

		for (int word = 0; word < 2 && status < tab; word++) {
			status = memchr(status, ' ', (size_t)(tab - status));
			status = status ? status + 1 : tab;
		}
		installed = (size_t)(tab - status) == strlen("installed") && !strncmp(status, "installed", 9);
	} else {
		installed = tab > out;
	}
	if (installed && version)
		*version = a ? arena_strndup(a, tab + 1, (size_t)(nl - tab - 1)) : NULL;
	return installed;
}

int pkg_list_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *name, struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;

	if (m->family == PKG_FAMILY_DEB) {
		pkg_cmd_add(&c, "dpkg-query");
		add_dpkg_root(&c, m);
		pkg_cmd_add(&c, "-L");
	} else if (m->family == PKG_FAMILY_RPM) {
		pkg_cmd_add(&c, "rpm");
		add_rpm_root(&c, m);
		pkg_cmd_add(&c, "-ql");
		pkg_cmd_add(&c, "--noghost");
	} else {
		return alts_err_set(err, ALTS_EINTERNAL, "no package manager chosen");
	}
	pkg_cmd_add(&c, name);
	return cmd_finish(out, &c, err);
}

int pkg_lines_collect(struct strlist *out, const char *text, pkg_line_fn keep, void *payload, struct arena *a)
{
	size_t n = 0, i = 0;
	const char **v;

	for (const char *p = text; p && *p; p++)
		n += *p == '\n';
	v = arena_alloc(a, (n + 2) * sizeof(*v));
	if (!v)
		return ALTS_ENOMEM;
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		int rc = keep(p, len, &v[i], a, payload);

		if (rc < 0)
			return rc;
		i += rc > 0;
		p += len + (nl ? 1 : 0);
	}
	v[i] = NULL;
	out->v = v;
	out->n = i;
	return 0;
}

static int keep_path(const char *line, size_t len, const char **kept, struct arena *a, void *payload)
{
	ALTS_UNUSED(payload);
	if (len <= 1 || line[0] != '/' || (len == 2 && line[1] == '.'))
		return 0;
	*kept = arena_strndup(a, line, len);
	return *kept ? 1 : ALTS_ENOMEM;
}

int pkg_list_parse(struct strlist *out, const char *text, struct arena *a)
{
	return pkg_lines_collect(out, text, keep_path, NULL, a);
}

const char *const *pkg_probe_argv(const char *program)
{
	static const char *const debsums[] = { "debsums", "--version", NULL };
	static const char *const readelf[] = { "readelf", "--version", NULL };
	static const char *const ldd[] = { "ldd", "--version", NULL };
	static const char *const systemctl[] = { "systemctl", "--version", NULL };
	static const char *const ansible[] = { "ansible-playbook", "--version", NULL };

	if (!strcmp(program, "debsums"))
		return debsums;
	if (!strcmp(program, "readelf"))
		return readelf;
	if (!strcmp(program, "ldd"))
		return ldd;
	if (!strcmp(program, "systemctl"))
		return systemctl;
	if (!strcmp(program, "ansible-playbook"))
		return ansible;
	return NULL;
}

int pkg_verify_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, enum pkg_verifier v, const char *name,
		   struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;

	switch (v) {
	case PKG_VERIFY_DEBSUMS:
		pkg_cmd_add(&c, "debsums");
		pkg_cmd_add(&c, "-s");
		if (m->root)
			pkg_cmd_addf(&c, "--root=%s", m->root);
		break;
	case PKG_VERIFY_DPKG:
		pkg_cmd_add(&c, "dpkg");
		add_dpkg_root(&c, m);
		pkg_cmd_add(&c, "--verify");
		break;
	case PKG_VERIFY_RPM:
		pkg_cmd_add(&c, "rpm");
		add_rpm_root(&c, m);
		pkg_cmd_add(&c, "-V");
		if (m->root)
			pkg_cmd_add(&c, "--nodeps");
		break;
	default: return alts_err_set(err, ALTS_EINTERNAL, "unknown verifier %d", (int)v);
	}
	pkg_cmd_add(&c, name);
	return cmd_finish(out, &c, err);
}

/* path without the scratch root in front, if it is there. */
static const char *strip_root(const char *path, size_t *len, const char *root)
{
	size_t rl = root ? strlen(root) : 0;

	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (rl > 1 && *len > rl && !strncmp(path, root, rl) && path[rl] == '/') {
		*len -= rl;
		return path + rl;
	}
	return path;
}

/* "S.5....T." and dpkg's "??5??????": nine attribute characters. */
static bool is_attr_field(const char *line, size_t len)
{
	if (len < 10 || !isspace((unsigned char)line[9]))
		return false;
	for (size_t i = 0; i < 9; i++) {
		if (!strchr(".?SM5DLUGTPc", line[i]))
			return false;
	}
	return true;
}

/* Lines of no interest: notices and warnings from the tools' wrappers. */
static bool verify_noise(const char *line, size_t len)
{
	static const char *const noise[] = { "rpm: RPM should not be used directly",
					     "rpm: However assuming you know what you are doing",
					     "dpkg: warning: ", "debsums: no md5sums for ", NULL };

	for (const char *const *p = noise; *p; p++) {
		size_t n = strlen(*p);

		if (len >= n && !strncmp(line, *p, n))
			return true;
	}
	return false;
}

static int add_problem(struct arena *a, const char ***v, size_t *n, size_t *alloc, const char *s)
{
	if (!s)
		return ALTS_ENOMEM;
	if (*n + 2 > *alloc) {
		size_t want = *alloc ? 2 * *alloc : 8;
		const char **nv = arena_alloc(a, want * sizeof(*nv));

		if (!nv)
			return ALTS_ENOMEM;
		if (*n)
			memcpy(nv, *v, *n * sizeof(*nv));
		*v = nv;
		*alloc = want;
	}
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
	return 0;
}

/* debsums: "debsums: changed file P (from X package)". */
static const char *parse_debsums_line(struct arena *a, const char *line, size_t len, const char *root)
{
	static const struct {
		const char *prefix, *kind;
	} kinds[] = { { "debsums: changed file ", "modified" }, { "debsums: missing file ", "missing" } };

	for (size_t k = 0; k < ALTS_ARRAY_SIZE(kinds); k++) {
		size_t pl = strlen(kinds[k].prefix);
		const char *path, *from;
		size_t plen;

		if (len <= pl || strncmp(line, kinds[k].prefix, pl))
			continue;
		path = line + pl;
		plen = len - pl;
		from = NULL;
		for (size_t i = plen; i >= 7; i--) {
			if (!strncmp(path + i - 7, " (from ", 7)) {
				from = path + i - 7;
				break;
			}
		}
		if (from)
			plen = (size_t)(from - path);
		path = strip_root(path, &plen, root);
		return arena_printf(a, "%s: %.*s", kinds[k].kind, (int)plen, path);
	}
	return arena_strndup(a, line, len);
}

/* rpm -V and dpkg --verify: "S.5....T.  c /etc/x", "missing   d /usr/x". */
static const char *parse_attr_line(struct arena *a, const char *line, size_t len, const char *root)
{
	const char *slash = memchr(line, '/', len);
	const char *kind;
	size_t plen;

	if (!strncmp(line, "missing", 7) && len > 7 && isspace((unsigned char)line[7]))
		kind = "missing";
	else if (is_attr_field(line, len))
		kind = "modified";
	else
		return arena_strndup(a, line, len);
	if (!slash)
		return arena_strndup(a, line, len);
	plen = len - (size_t)(slash - line);
	slash = strip_root(slash, &plen, root);
	return arena_printf(a, "%s: %.*s", kind, (int)plen, slash);
}

int pkg_verify_parse(struct strlist *out, enum pkg_verifier v, const char *root, const char *text,
		     struct arena *a)
{
	const char **list = NULL;
	size_t n = 0, alloc = 0;

	while (text && *text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		const char *line = text;

		text += len + (nl ? 1 : 0);
		while (len && isspace((unsigned char)line[len - 1]))
			len--;
		if (!len || verify_noise(line, len))
			continue;
		if (add_problem(a, &list, &n, &alloc,
				v == PKG_VERIFY_DEBSUMS ? parse_debsums_line(a, line, len, root)
							: parse_attr_line(a, line, len, root)))
			return ALTS_ENOMEM;
	}
	out->v = list;
	out->n = n;
	return 0;
}

int pkg_repo_file(struct sbuf *content, const char **env_path, const struct pkg_mgr *m,
		  const struct suite_repo *repo, struct arena *a, struct alts_err *err)
{
	const char *url = repo->url;
	const char *path;

	if (m->root || m->tool == PKG_TOOL_DPKG || m->tool == PKG_TOOL_RPM)
		return alts_err_set(err, ALTS_EINVALID, "repository '%s' cannot be used with %s%s: it installs "
				    "package files only", repo->name, pkg_tool_name(m->tool),
				    m->root ? " in a scratch root" : "");
	if (m->tool == PKG_TOOL_APT) {
		path = arena_printf(a, "/etc/apt/sources.list.d/alts-%s.list", repo->name);
		if (repo->apt_line)
			sbuf_addf(content, "%s\n", url);
		else
			sbuf_addf(content, "deb [trusted=yes] %s%s ./\n", url[0] == '/' ? "file:" : "", url);
	} else {
		if (repo->apt_line)
			return alts_err_set(err, ALTS_EINVALID, "repository '%s' is an apt line, which %s cannot use",
					    repo->name, pkg_tool_name(m->tool));
		path = arena_printf(a, "/etc/yum.repos.d/alts-%s.repo", repo->name);
		sbuf_addf(content, "[alts-%s]\nname=alts repository %s\nbaseurl=%s%s\nenabled=1\ngpgcheck=0\n"
			  "repo_gpgcheck=0\n", repo->name, repo->name, url[0] == '/' ? "file://" : "", url);
		if (m->tool == PKG_TOOL_DNF)
			sbuf_adds(content, "module_hotfixes=1\n");
	}
	if (!path || !sbuf_ok(content))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	*env_path = path;
	return 0;
}

int pkg_refresh_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;

	if (m->tool != PKG_TOOL_APT) {
		*out = c;
		return 0;
	}
	pkg_cmd_add(&c, "apt-get");
	pkg_cmd_add(&c, "update");
	c.env = apt_env;
	return cmd_finish(out, &c, err);
}

int pkg_root_init_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, size_t i, struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;

	if (!m->root || m->family != PKG_FAMILY_DEB || i > 1)
		return ALTS_ENOTFOUND;
	if (i == 0) {
		pkg_cmd_add(&c, "mkdir");
		pkg_cmd_add(&c, "-p");
		pkg_cmd_add(&c, "--");
		pkg_cmd_addf(&c, "%s/var/lib/dpkg/info", m->root);
		pkg_cmd_addf(&c, "%s/var/lib/dpkg/updates", m->root);
	} else {
		pkg_cmd_add(&c, "touch");
		pkg_cmd_add(&c, "--");
		pkg_cmd_addf(&c, "%s/var/lib/dpkg/status", m->root);
		pkg_cmd_addf(&c, "%s/var/lib/dpkg/available", m->root);
	}
	return cmd_finish(out, &c, err);
}

int pkg_filters_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;
	const char *root = m->root ? m->root : "";

	if (m->family != PKG_FAMILY_DEB)
		return ALTS_ENOTFOUND;
	pkg_cmd_add(&c, "grep");
	pkg_cmd_add(&c, "-rhsE");
	pkg_cmd_add(&c, "^[[:space:]]*path-(exclude|include)");
	pkg_cmd_add(&c, "--");
	pkg_cmd_addf(&c, "%s/etc/dpkg/dpkg.cfg", root);
	pkg_cmd_addf(&c, "%s/etc/dpkg/dpkg.cfg.d", root);
	return cmd_finish(out, &c, err);
}

int pkg_filters_parse(struct pkg_filters *f, const char *text, struct arena *a)
{
	size_t lines = 1, n = 0;

	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	f->patterns = arena_alloc(a, lines * sizeof(*f->patterns));
	f->include = arena_alloc(a, lines * sizeof(*f->include));
	if (!f->patterns || !f->include)
		return ALTS_ENOMEM;
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		const char *p = text, *end = text + len;
		bool include;

		text += len + (nl ? 1 : 0);
		while (p < end && isspace((unsigned char)*p))
			p++;
		if ((size_t)(end - p) > 12 && !strncmp(p, "path-exclude", 12))
			include = false;
		else if ((size_t)(end - p) > 12 && !strncmp(p, "path-include", 12))
			include = true;
		else
			continue;
		p += 12;
		/* "path-exclude=GLOB" or "path-exclude GLOB" */
		while (p < end && (isspace((unsigned char)*p) || *p == '='))
			p++;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		if (end == p)
			continue;
		f->patterns[n] = arena_strndup(a, p, (size_t)(end - p));
		if (!f->patterns[n])
			return ALTS_ENOMEM;
		f->include[n++] = include;
	}
	f->n = n;
	return 0;
}

bool pkg_filters_excluded(const struct pkg_filters *f, const char *path)
{
	bool excluded = false;

	for (size_t i = 0; f && i < f->n; i++) {
		if (!fnmatch(f->patterns[i], path, 0))
			excluded = !f->include[i];
	}
	return excluded;
}

int pkg_satisfy_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *const *relations, size_t n,
		    struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;

	if (!n)
		return alts_err_set(err, ALTS_EINVALID, "no dependencies to install");
	switch (m->tool) {
	case PKG_TOOL_APT:
		pkg_cmd_add(&c, "apt-get");
		pkg_cmd_add(&c, "satisfy");
		add_apt_options(&c);
		pkg_cmd_add(&c, "--no-install-recommends");
		c.env = apt_env;
		break;
	case PKG_TOOL_DNF:
	case PKG_TOOL_YUM:
		pkg_cmd_add(&c, pkg_tool_name(m->tool));
		pkg_cmd_add(&c, "install");
		pkg_cmd_add(&c, "-y");
		break;
	default:
		return alts_err_set(err, ALTS_EINVALID, "%s cannot install dependencies by name%s", pkg_tool_name(m->tool),
				    m->root ? " (environment.root is set)" : "");
	}
	for (size_t i = 0; i < n; i++)
		pkg_cmd_add(&c, relations[i]);
	return cmd_finish(out, &c, err);
}

int pkg_installed_names_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;

	if (m->family == PKG_FAMILY_DEB) {
		pkg_cmd_add(&c, "dpkg-query");
		add_dpkg_root(&c, m);
		pkg_cmd_add(&c, "-W");
		pkg_cmd_add(&c, "--showformat=${db:Status-Abbrev}\\t${Package}\\n");
	} else if (m->family == PKG_FAMILY_RPM) {
		pkg_cmd_add(&c, "rpm");
		add_rpm_root(&c, m);
		pkg_cmd_add(&c, "-qa");
		pkg_cmd_add(&c, "--qf");
		pkg_cmd_add(&c, "ii \t%{NAME}\n");
	} else {
		return alts_err_set(err, ALTS_EINTERNAL, "no package manager chosen");
	}
	return cmd_finish(out, &c, err);
}

static int keep_installed_name(const char *line, size_t len, const char **kept, struct arena *a, void *payload)
{
	const char *tab = memchr(line, '\t', len);

	ALTS_UNUSED(payload);
	/* "ii " (dpkg: wanted install, installed) or rpm's fixed "ii "; half-installed and config-files are not */
	if (!tab || len < 3 || line[0] != 'i' || line[1] != 'i' || tab + 1 == line + len)
		return 0;
	*kept = arena_strndup(a, tab + 1, (size_t)(line + len - tab - 1));
	return *kept ? 1 : ALTS_ENOMEM;
}

int pkg_installed_names_parse(struct strlist *out, const char *text, struct arena *a)
{
	return pkg_lines_collect(out, text, keep_installed_name, NULL, a);
}
