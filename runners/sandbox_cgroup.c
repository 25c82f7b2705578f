/*
 * Resource limits of a sandbox: a cgroup per sandbox, 'alts/<name>' under
 * the v1 pids, memory and devices hierarchies, or under the v2 unified
 * hierarchy (written to the v2 interface files; not exercised by the
 * tests, whose machine has cgroup v1 only).
 */
#include "framework/common.h"
#include "runners/sandbox_cgroup.h"
#include "framework/log.h"
#include "framework/sbuf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"
#define DEFAULT_DISK (4ULL << 30)
#define DEFAULT_PIDS 4096

void sandbox_size_str(char *buf, size_t size, uint64_t bytes)
{
	if (bytes >= (1ULL << 30) && !(bytes % (1ULL << 30)))
		snprintf(buf, size, "%llu GiB", (unsigned long long)(bytes >> 30));
	else if (bytes >= (1ULL << 20))
		snprintf(buf, size, "%llu MiB", (unsigned long long)(bytes >> 20));
	else
		snprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
}

/* "4G", "512M", "100k", "1048576", "0" */
static int parse_size(const char *name, const char *v, uint64_t *out, struct alts_err *err)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v)
		return alts_err_set(err, ALTS_EINVALID, "invalid %s '%s' (a size such as 4G, 512M or 0 for none)", name, v);
	switch (*end) {
	case 'k': case 'K': n <<= 10; end++; break;
	case 'm': case 'M': n <<= 20; end++; break;
	case 'g': case 'G': n <<= 30; end++; break;
	case 't': case 'T': n <<= 40; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end)
		return alts_err_set(err, ALTS_EINVALID, "invalid %s '%s' (a size such as 4G, 512M or 0 for none)", name, v);
	*out = n;
	return 0;
}

static uint64_t half_of_ram(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	return pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize / 2 : 0;
}

/* The environment variable env, else the config key's value, else NULL; *name says which. */
static const char *limit_value(const char *env, const char *key, const char *conf, const char **name)
{
	const char *v = getenv(env);

	if (v && *v) {
		*name = env;
		return v;
	}
	*name = key;
	return conf && *conf ? conf : NULL;
}

int sandbox_limits_get(struct sandbox_limits *l, const struct runner_limits *conf, struct alts_err *err)
{
	const char *v, *name;
	uint64_t n;
	int rc;

	l->disk = DEFAULT_DISK;
	l->memory = half_of_ram();
	l->pids = DEFAULT_PIDS;
	if ((v = limit_value("ALTS_SANDBOX_DISK", "sandbox_disk", conf->disk, &name)) &&
	    (rc = parse_size(name, v, &l->disk, err)))
		return rc;
	if ((v = limit_value("ALTS_SANDBOX_MEMORY", "sandbox_memory", conf->memory, &name)) &&
	    (rc = parse_size(name, v, &l->memory, err)))
		return rc;
	if ((v = limit_value("ALTS_SANDBOX_PIDS", "sandbox_pids", conf->pids, &name))) {
		if ((rc = parse_size(name, v, &n, err)))
			return rc;
		l->pids = (long)n;
	}
	return 0;
}

static int write_str(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	int fd, rc = 0;

	if (!str_fmt(path, sizeof(path), "%s/%s", dir, file))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static bool exists(const char *a, const char *b)
{
	char path[PATH_MAX];

	return str_fmt(path, sizeof(path), "%s%s", a, b) && access(path, F_OK) == 0;
}

static int add_dir(struct sandbox_cgroup *cg, const char *base, const char *name, struct alts_err *err)
{
	char *dir = cg->dirs[cg->n];
	char parent[PATH_MAX];

	if (!str_fmt(parent, sizeof(parent), "%s/alts", base) || !str_fmt(dir, PATH_MAX, "%s/%s", parent, name))
		return alts_err_set(err, ALTS_EINVALID, "cgroup path too long");
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create cgroup '%s'", parent);
	if (cg->v2) {
		write_str(base, "cgroup.subtree_control", "+pids +memory");
		write_str(parent, "cgroup.subtree_control", "+pids +memory");
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create cgroup '%s'", dir);
	cg->procs_fd[cg->n] = cg->oom_fd[cg->n] = cg->pids_fd[cg->n] = -1;
	cg->n++;
	return 0;
}

static int set_limit(const char *dir, const char *file, const char *value, struct alts_err *err)
{
	int rc = write_str(dir, file, value);

	return rc ? alts_err_errno(err, ALTS_EENV, -rc, "cannot write '%s' to %s/%s", value, dir, file) : 0;
}

/* One rule per write(), all through one open devices.allow. */
static int allow_devices(const char *dir, const char *const *rules, size_t n, struct alts_err *err)
{
	char path[PATH_MAX];
	int fd, rc = 0;

	if (!str_fmt(path, sizeof(path), "%s/devices.allow", dir))
		return alts_err_set(err, ALTS_EINVALID, "cgroup path too long");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", path);
	for (size_t i = 0; !rc && i < n; i++) {
		if (write(fd, rules[i], strlen(rules[i])) < 0)
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s' to %s", rules[i], path);
	}
	close(fd);
	return rc;
}

static int create_v1(struct sandbox_cgroup *cg, const char *name, const struct sandbox_limits *l, struct alts_err *err)
{
	static const char *const dev_allow[] = {
		"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm",
		"c 136:* rwm",
	};
	char v[64];
	int rc;

	if (l->pids && exists(CG_ROOT, "/pids/cgroup.procs")) {
		if ((rc = add_dir(cg, CG_ROOT "/pids", name, err)))
			return rc;
		snprintf(v, sizeof(v), "%ld", l->pids);
		if ((rc = set_limit(cg->dirs[cg->n - 1], "pids.max", v, err)))
			return rc;
		cg->has_pids = true;
	}
	if (l->memory && exists(CG_ROOT, "/memory/cgroup.procs")) {
		if ((rc = add_dir(cg, CG_ROOT "/memory", name, err)))
			return rc;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory);
		if ((rc = set_limit(cg->dirs[cg->n - 1], "memory.limit_in_bytes", v, err)))
			return rc;
		/* With swap accounting, swap counts too (otherwise the hog would only move to swap). */
		if (exists(cg->dirs[cg->n - 1], "/memory.memsw.limit_in_bytes") &&
		    (rc = set_limit(cg->dirs[cg->n - 1], "memory.memsw.limit_in_bytes", v, err)))
			return rc;
		cg->has_memory = true;
	}
	if (exists(CG_ROOT, "/devices/cgroup.procs")) {
		if ((rc = add_dir(cg, CG_ROOT "/devices", name, err)) ||
		    (rc = set_limit(cg->dirs[cg->n - 1], "devices.deny", "a", err)))
			return rc;
		if ((rc = allow_devices(cg->dirs[cg->n - 1], dev_allow, ALTS_ARRAY_SIZE(dev_allow), err)))
			return rc;
	}
	return 0;
}

/* cgroup v2 (untested here: this project's CI machine has v1 only). Devices need eBPF there: nodev stands in. */
static int create_v2(struct sandbox_cgroup *cg, const char *name, const struct sandbox_limits *l, struct alts_err *err)
{
	char v[64];
	int rc;

	cg->v2 = true;
	if ((rc = add_dir(cg, CG_ROOT, name, err)))
		return rc;
	if (l->pids) {
		snprintf(v, sizeof(v), "%ld", l->pids);
		if ((rc = set_limit(cg->dirs[0], "pids.max", v, err)))
			return rc;
		cg->has_pids = true;
	}
	if (l->memory) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory);
		if ((rc = set_limit(cg->dirs[0], "memory.max", v, err)))
			return rc;
		if (exists(cg->dirs[0], "/memory.swap.max"))
			set_limit(cg->dirs[0], "memory.swap.max", "0", err);
		cg->has_memory = true;
	}
	return 0;
}

/* Opens the counter files of directory i once: sandbox_cgroup_counters() runs around every command. */
static void open_counters(struct sandbox_cgroup *cg, int i)
{
	const char *oom = cg->v2 ? "memory.events" : strstr(cg->dirs[i], "/memory/") ? "memory.oom_control" : NULL;
	const char *pids = cg->v2 || strstr(cg->dirs[i], "/pids/") ? "pids.events" : NULL;
	char path[PATH_MAX];

	if (oom && str_fmt(path, sizeof(path), "%s/%s", cg->dirs[i], oom))
		cg->oom_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
	if (pids && str_fmt(path, sizeof(path), "%s/%s", cg->dirs[i], pids))
		cg->pids_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
}

int sandbox_cgroup_create(struct sandbox_cgroup *cg, const char *name, const struct sandbox_limits *l,
			  struct alts_err *err)
{
	int rc;

	memset(cg, 0, sizeof(*cg));
	if (exists(CG_ROOT, "/cgroup.controllers"))
		rc = create_v2(cg, name, l, err);
	else
		rc = create_v1(cg, name, l, err);
	for (int i = 0; !rc && i < cg->n; i++) {
		char path[PATH_MAX];

		str_fmt(path, sizeof(path), "%s/cgroup.procs", cg->dirs[i]);
		cg->procs_fd[i] = open(path, O_WRONLY | O_CLOEXEC);
		if (cg->procs_fd[i] < 0)
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", path);
		else
			open_counters(cg, i);
	}
	if (rc) {
		sandbox_cgroup_remove(cg);
		return rc;
	}
	if ((l->memory && !cg->has_memory) || (l->pids && !cg->has_pids))
		alts_log(ALTS_LOG_WARN, "sandbox",
			 "no cgroup %s controller under " CG_ROOT ": no %s limit holds in the sandbox",
			 l->memory && !cg->has_memory ? "memory" : "pids",
			 l->memory && !cg->has_memory ? "memory" : "process");
	return 0;
}

int sandbox_cgroup_join(const struct sandbox_cgroup *cg)
{
	for (int i = 0; i < cg->n; i++) {
		if (cg->procs_fd[i] >= 0 && write(cg->procs_fd[i], "0", 1) < 0)
			return -errno;
	}
	return 0;
}

/* The value of "key N" in a cgroup file kept open: read again from its start (the kernel makes it anew). */
static long read_key(int fd, const char *key)
{
	char buf[4096];
	size_t k = strlen(key);
	ssize_t n;

	if (fd < 0)
		return 0;
	do
		n = pread(fd, buf, sizeof(buf) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *line = buf; line && *line;) {
		if (!strncmp(line, key, k) && line[k] == ' ')
			return strtol(line + k + 1, NULL, 10);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return 0;
}

void sandbox_cgroup_counters(const struct sandbox_cgroup *cg, long *oom_kills, long *pids_max)
{
	*oom_kills = *pids_max = 0;
	for (int i = 0; i < cg->n; i++) {
		*oom_kills += read_key(cg->oom_fd[i], "oom_kill");
		*pids_max += read_key(cg->pids_fd[i], "max");
	}
}

void sandbox_cgroup_remove(struct sandbox_cgroup *cg)
{
	for (int i = 0; i < cg->n; i++) {
		int *fds[] = { &cg->procs_fd[i], &cg->oom_fd[i], &cg->pids_fd[i] };

		for (size_t k = 0; k < ALTS_ARRAY_SIZE(fds); k++) {
			if (*fds[k] >= 0)
				close(*fds[k]);
			*fds[k] = -1;
		}
		/* The sandbox's processes were killed; the kernel may take a moment to let them go. */
		for (int tries = 0; tries < 200 && rmdir(cg->dirs[i]) < 0 && errno == EBUSY; tries++) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	cg->n = 0;
}

void sandbox_cgroup_forget(const char *name)
{
	static const char *const bases[] = { CG_ROOT "/pids", CG_ROOT "/memory", CG_ROOT "/devices", CG_ROOT };
	char path[PATH_MAX];

	if (!name[0] || strchr(name, '/') || name[0] == '.')
		return;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bases); i++) {
		if (str_fmt(path, sizeof(path), "%s/alts/%s", bases[i], name))
			rmdir(path);
	}
}
