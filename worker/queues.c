#include "framework/common.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "farm/queue_name.h"
#include "runners/image.h"
#include "worker/queues.h"

#include <sys/utsname.h>

#define QUEUES_IMAGE_RUNNER "sandbox"  /* the runner that runs suites in cached images */
#define QUEUES_BINFMT_DIR "/proc/sys/fs/binfmt_misc"

static const char *host_qarch(void)
{
	static char machine[sizeof(((struct utsname *)0)->machine)];
	struct utsname u;

	if (uname(&u))
		return NULL;
	snprintf(machine, sizeof(machine), "%s", u.machine);
	return queue_name_arch(machine);
}

/* x86-64-v2: the CPU flags the psABI level requires (cx16, lahf_lm, popcnt, sse4_1, sse4_2, ssse3). */
static bool cpu_has_x86_64_v2(void)
{
	static const char *const need[] = { " cx16", " lahf_lm", " popcnt", " sse4_1", " sse4_2", " ssse3" };
	struct sbuf info = SBUF_INIT;
	const char *flags, *eol;
	bool ok = false;

	if (sbuf_read_file(&info, "/proc/cpuinfo", 4 << 20) || !(flags = strstr(info.buf, "\nflags")))
		goto out;
	eol = strchr(flags + 1, '\n');
	if (eol)
		info.buf[eol - info.buf] = '\0';
	ok = true;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(need); i++) {
		const char *p = strstr(flags, need[i]);
		size_t n = strlen(need[i]);

		ok = ok && p && (p[n] == ' ' || p[n] == '\0' || p[n] == '\n');
	}
out:
	sbuf_release(&info);
	return ok;
}

static bool binfmt_enabled(const char *qarch, char *path, size_t size)
{
	const char *dir = getenv("ALTS_BINFMT_MISC");
	struct sbuf text = SBUF_INIT;
	bool ok;

	/* qemu-user-static's handler names (x86_64_v2 runs under qemu-x86_64). */
	str_fmt(path, size, "%s/qemu-%s", dir && *dir ? dir : QUEUES_BINFMT_DIR,
		!strcmp(qarch, "x86_64_v2") ? "x86_64" : qarch);
	ok = !sbuf_read_file(&text, path, 64 << 10) && !strncmp(text.buf, "enabled", 7);
	sbuf_release(&text);
	return ok;
}

bool queues_arch_runnable(const char *qarch, char *why, size_t why_size)
{
	const char *host = host_qarch();
	char path[PATH_MAX];

	if (host && !strcmp(host, qarch))
		return true;
	if (host && !strcmp(host, "x86_64") && !strcmp(qarch, "x86_64_v2")) {
		if (cpu_has_x86_64_v2())
			return true;
	}
	if (binfmt_enabled(qarch, path, sizeof(path)))
		return true;
	if (why)
		snprintf(why, why_size,
			 "this %s host cannot run %s binaries (no enabled binfmt_misc handler %s: install "
			 "qemu-user-static)",
			 host ? host : "unknown-architecture", qarch, path);
	return false;
}

int queues_check_host(const struct strlist *queues, struct alts_err *err)
{
	struct queue_name_parts p;
	char why[PATH_MAX + 160];

	for (size_t i = 0; i < queues->n; i++) {
		if (!queue_name_parse(&p, queues->v[i]))
			continue;
		if (!queues_arch_runnable(p.arch, why, sizeof(why)))
			return alts_err_set(err, ALTS_EINVALID, "queue '%s': architecture %s refused: %s", queues->v[i],
					    p.arch, why);
	}
	return 0;
}

struct derive {
	struct arena *a;
	const struct farm_config *c;
	const char **v;
	size_t n, cap;
	int rc;
};

static int derive_add(struct derive *d, const char *image, const char *arch)
{
	const char *qarch = queue_name_arch(arch);
	char dist[QUEUE_NAME_MAX + 1], name[QUEUE_NAME_MAX + 1], why[PATH_MAX + 160];

	if (!qarch) {
		alts_log(ALTS_LOG_WARN, "worker", "image '%s': unknown architecture '%s' (known: %s); no queue for it",
			 image, arch, queue_name_known_archs());
		return 0;
	}
	if (!queues_arch_runnable(qarch, why, sizeof(why))) {
		alts_log(ALTS_LOG_WARN, "worker", "image '%s' (%s) left out: %s", image, qarch, why);
		return 0;
	}
	queue_name_image_dist(dist, sizeof(dist), image, arch);
	if (!queue_name_format(name, sizeof(name), QUEUES_IMAGE_RUNNER, qarch, d->c->default_cost,
			       d->c->distribution_queues ? dist : NULL)) {
		alts_log(ALTS_LOG_WARN, "worker", "image '%s': queue name too long; no queue for it", image);
		return 0;
	}
	for (size_t i = 0; i < d->n; i++) {
		if (!strcmp(d->v[i], name))
			return 0;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		const char **v = arena_alloc(d->a, cap * sizeof(*v));

		if (!v)
			return ALTS_ENOMEM;
		if (d->n)
			memcpy(v, d->v, d->n * sizeof(*v));
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n] = arena_strdup(d->a, name);
	return d->v[d->n++] ? 0 : ALTS_ENOMEM;
}

static int derive_one(const struct image_meta *m, void *payload)
{
	return derive_add(payload, m->name, m->arch);
}

int queues_from_images(struct strlist *out, struct arena *a, const struct farm_config *c, struct alts_err *err)
{
	struct derive d = { a, c, NULL, 0, 0, 0 };
	int rc = 0;

	if (c->worker_images.n) {
		for (size_t i = 0; !rc && i < c->worker_images.n; i++) {
			struct image_meta m;
			struct alts_err e = ALTS_ERR_INIT;
			const char *host = host_qarch();

			if (!image_open(&m, c->worker_images.v[i], &e))
				rc = derive_add(&d, m.name, m.arch);
			else  /* not built yet: the sandbox builds it for this host */
				rc = derive_add(&d, c->worker_images.v[i], host ? host : "x86_64");
		}
	} else {
		rc = image_list(derive_one, &d, err);
	}
	if (rc == ALTS_ENOMEM)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (rc)
		return rc;
	out->v = d.v;
	out->n = d.n;
	return 0;
}
