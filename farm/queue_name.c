#include "framework/common.h"
#include "framework/sbuf.h"
#include "farm/queue_name.h"

/* ALTS's map of architectures to the queue they are served from. */
static const struct {
	const char *arch;
	const char *queue_arch;
} arch_map[] = {
	{ "x86_64", "x86_64" }, { "amd64", "x86_64" },	 { "i686", "x86_64" },	   { "i386", "x86_64" },
	{ "i486", "x86_64" },	{ "i586", "x86_64" },	 { "x86_64_v2", "x86_64_v2" }, { "aarch64", "aarch64" },
	{ "arm64", "aarch64" }, { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
};

const char *queue_name_arch(const char *arch)
{
	for (size_t i = 0; arch && i < ALTS_ARRAY_SIZE(arch_map); i++) {
		if (!strcmp(arch_map[i].arch, arch))
			return arch_map[i].queue_arch;
	}
	return NULL;
}

const char *queue_name_known_archs(void)
{
	return "x86_64, amd64, i686, i386, i486, i586, x86_64_v2, aarch64, arm64, ppc64le, s390x";
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

void queue_name_dist(char *buf, size_t size, const char *image, const char *dist_name, const char *dist_version)
{
	if (!size)
		return;
	if (image && *image)
		snprintf(buf, size, "%s", image);
	else if (dist_name && *dist_name && dist_version && *dist_version)
		snprintf(buf, size, "%s-%s", dist_name, dist_version);
	else
		snprintf(buf, size, "%s", dist_name ? dist_name : "");
	lower(buf);
}

void queue_name_image_dist(char *buf, size_t size, const char *image, const char *arch)
{
	size_t n, a = arch ? strlen(arch) : 0;

	if (!size)
		return;
	snprintf(buf, size, "%s", image);
	n = strlen(buf);
	if (a && n > a + 1 && buf[n - a - 1] == '-' && !strcmp(buf + n - a, arch))
		buf[n - a - 1] = '\0';
}

bool queue_name_format(char *buf, size_t size, const char *runner, const char *qarch, long cost, const char *dist)
{
	bool ok = dist && *dist ? str_fmt(buf, size, "%s-%s-%ld.%s", runner, qarch, cost, dist)
				: str_fmt(buf, size, "%s-%s-%ld", runner, qarch, cost);

	return ok && strlen(buf) <= QUEUE_NAME_MAX;
}

bool queue_name_parse(struct queue_name_parts *out, const char *name)
{
	struct queue_name_parts p;
	const char *dot = strchr(name, '.'), *end = dot ? dot : name + strlen(name);
	const char *dash2, *dash1;
	char *stop;

	memset(&p, 0, sizeof(p));
	if (strlen(name) > QUEUE_NAME_MAX)
		return false;
	/* <runner>-<arch>-<cost>: the last two dashes before the dot (no arch has a dash). */
	for (dash2 = end; dash2 > name && dash2[-1] != '-'; dash2--)
		;
	if (dash2 <= name + 1)
		return false;
	for (dash1 = dash2 - 1; dash1 > name && dash1[-1] != '-'; dash1--)
		;
	if (dash1 <= name + 1 || (size_t)(dash1 - 1 - name) >= sizeof(p.runner) ||
	    (size_t)(dash2 - 1 - dash1) >= sizeof(p.arch))
		return false;
	memcpy(p.runner, name, (size_t)(dash1 - 1 - name));
	memcpy(p.arch, dash1, (size_t)(dash2 - 1 - dash1));
	if (!isdigit((unsigned char)*dash2) || !queue_name_arch(p.arch) || strcmp(queue_name_arch(p.arch), p.arch))
		return false;
	errno = 0;
	p.cost = strtol(dash2, &stop, 10);
	if (errno || stop != end)
		return false;
	if (dot)
		snprintf(p.dist, sizeof(p.dist), "%s", dot + 1);
	if (dot && !p.dist[0])
		return false;
	*out = p;
	return true;
}
