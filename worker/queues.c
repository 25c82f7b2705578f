#include "framework/common.h"
#include "framework/log.h"
#include "farm/queue_name.h"
#include "runners/image.h"
#include "worker/queues.h"

#include <sys/utsname.h>

#define QUEUES_IMAGE_RUNNER "sandbox"  /* the runner that runs suites in cached images */

/* The queue architecture of this host (a string of the map, not of u), or NULL. */
static const char *host_qarch(void)
{
	struct utsname u;

	return uname(&u) ? NULL : queue_name_arch(u.machine);
}

bool queues_arch_runnable(const char *qarch, char *why, size_t why_size)
{
	struct alts_err err = ALTS_ERR_INIT;

	/* One judge for images and queues: runners/image.c (native, or an enabled qemu-user handler). */
	if (!image_arch_check(qarch, &err))
		return true;
	if (why)
		snprintf(why, why_size, "%s", err.msg);
	return false;
}

int queues_check_host(const struct strlist *queues, struct alts_err *err)
{
	struct queue_name_parts p;
	char why[ALTS_ERR_MSG_MAX];

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
};

static int derive_add(struct derive *d, const char *image, const char *arch)
{
	const char *qarch = queue_name_arch(arch);
	char dist[QUEUE_NAME_MAX + 1], name[QUEUE_NAME_MAX + 1], why[ALTS_ERR_MSG_MAX];

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
	struct derive d = { a, c, NULL, 0, 0 };
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
