#include "framework/common.h"
#include "framework/suite.h"

#include <strings.h>
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

bool suite_inner_path_ok(const char *path)
{
	if (!path[0] || path[0] == '/')
		return false;
	for (const char *s = path; *s;) {
		size_t n = strcspn(s, "/");

		if (n == 2 && !strncmp(s, "..", 2))
			return false;
		s += n;
		s += *s == '/';
	}
	return true;
}

bool suite_url_is_local(const char *url)
{
	const char *p = url;

	/* an apt line: "deb [options] URL suite..." */
	if (!strncmp(p, "deb ", 4) || !strncmp(p, "deb-src ", 8)) {
		p = strchr(p, ' ') + 1;
		while (*p == ' ')
			p++;
		if (*p == '[') {
			p = strchr(p, ']');
			if (!p)
				return true;
			p++;
			while (*p == ' ')
				p++;
		}
	}
	if (p[0] == '/' || p[0] == '.' || !strncasecmp(p, "file:", 5) || !strncasecmp(p, "copy:", 5))
		return true;
	/* git's scp-like ssh form, "[user@]host:path": a colon before any slash */
	{
		const char *colon = strchr(p, ':'), *slash = strchr(p, '/');

		if (colon && colon - p > 1 && (!slash || colon < slash) && !strstr(p, "://"))
			return false;
	}
	/* anything else without a network scheme is refused */
	return !(!strncasecmp(p, "http://", 7) || !strncasecmp(p, "https://", 8) || !strncasecmp(p, "ftp://", 6) ||
		 !strncasecmp(p, "git://", 6) || !strncasecmp(p, "ssh://", 6) || !strncasecmp(p, "mirror://", 9) ||
		 !strncasecmp(p, "mirror+http://", 14) || !strncasecmp(p, "mirror+https://", 15));
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
