#include "framework/common.h"
#include "framework/config.h"
#include "framework/arena.h"

#include <fnmatch.h>

void config_free(struct alts_config *c)
{
	if (!c)
		return;
	arena_free(c->arena);
	alts_free(c);
}

bool config_is_protected(const struct alts_config *c, const char *pkg)
{
	for (size_t i = 0; i < c->protected_packages.n; i++) {
		if (!fnmatch(c->protected_packages.v[i], pkg, 0))
			return true;
	}
	return false;
}

static bool prefix_match(const char *pattern, const char *pkg)
{
	size_t len = strlen(pattern);

	if (len && pattern[len - 1] == '*')
		len--;
	return !strncmp(pattern, pkg, len);
}

static bool dist_match(const char *pattern, const char *name, const char *version)
{
	char full[256];

	if (!name)
		return false;
	if (!fnmatch(pattern, name, 0))
		return true;
	snprintf(full, sizeof(full), "%s-%s", name, version ? version : "");
	return !fnmatch(pattern, full, 0);
}

static bool exclusion_covers_check(const struct config_exclusion *e, const char *kind)
{
	if (!e->checks.n)
		return strcmp(kind, "install") && strcmp(kind, "uninstall");
	for (size_t i = 0; i < e->checks.n; i++) {
		if (!strcmp(e->checks.v[i], kind))
			return true;
	}
	return false;
}

const struct config_exclusion *config_find_exclusion(const struct alts_config *c, const char *dist_name,
						     const char *dist_version, const char *pkg,
						     const char *check_kind)
{
	for (size_t i = 0; i < c->nexclusions; i++) {
		const struct config_exclusion *e = &c->exclusions[i];

		if (!dist_match(e->dist, dist_name, dist_version) || !exclusion_covers_check(e, check_kind))
			continue;
		for (size_t j = 0; j < e->packages.n; j++) {
			if (prefix_match(e->packages.v[j], pkg))
				return e;
		}
	}
	return NULL;
}

const char *config_exclusion_reason(const struct config_exclusion *e)
{
	return e->reason ? e->reason : "listed in the config's exclusions";
}
