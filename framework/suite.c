#include "framework/common.h"
#include "framework/suite.h"
#include "framework/arena.h"

bool suite_package_name_ok(const char *name)
{
	if (!name || !*name || !(isalnum((unsigned char)*name) || *name == '_') || strlen(name) > SUITE_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("+._~-", *p))
			return false;
	}
	return true;
}

bool suite_version_ok(const char *version)
{
	if (!version || !*version || !isalnum((unsigned char)*version) || strlen(version) > SUITE_NAME_MAX)
		return false;
	for (const char *p = version; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr(".+~_:-", *p))
			return false;
	}
	return true;
}

const void *suite_runner_conf(const struct suite *s, const char *runner)
{
	for (size_t i = 0; s && runner && i < s->env.nrunners; i++) {
		if (!strcmp(s->env.runners[i].runner, runner))
			return s->env.runners[i].conf;
	}
	return NULL;
}

void suite_free(struct suite *s)
{
	if (!s)
		return;
	arena_free(s->arena);
	alts_free(s);
}
