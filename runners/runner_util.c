#include "framework/common.h"
#include "runners/runner_util.h"
#include "framework/suite.h"

#include <ftw.h>
#include <sys/stat.h>

static const char *const passthrough_vars[] = {
	"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", NULL,
};

struct env_list {
	char **v;
	size_t n, alloc;
};

static int env_set(struct env_list *l, const char *name, size_t name_len, const char *value)
{
	char *entry = alts_asprintf("%.*s=%s", (int)name_len, name, value);

	if (!entry)
		return ALTS_ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		if (!strncmp(l->v[i], entry, name_len + 1)) {
			alts_free(l->v[i]);
			l->v[i] = entry;
			return 0;
		}
	}
	if (l->n + 2 > l->alloc) {
		size_t next = l->alloc ? l->alloc * 2 : 32;
		char **nv = alts_reallocarray(l->v, next, sizeof(char *));

		if (!nv) {
			alts_free(entry);
			return ALTS_ENOMEM;
		}
		l->v = nv;
		l->alloc = next;
	}
	l->v[l->n++] = entry;
	l->v[l->n] = NULL;
	return 0;
}

void runner_env_free(char **env)
{
	for (char **p = env; p && *p; p++)
		alts_free(*p);
	alts_free(env);
}

int runner_env_build(char ***out, const struct runner *r, const struct runner_exec_req *req,
		     struct alts_err *err)
{
	struct env_list l = { 0 };
	int rc = 0;
	const struct { const char *name, *value; } base[] = {
		{ "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
		{ "HOME", "/root" },
		{ "LANG", "C.UTF-8" },
		{ "TERM", "dumb" },
		{ "DEBIAN_FRONTEND", "noninteractive" },
		{ "ALTS_WORKDIR", runner_workdir(r) },
	};

	for (size_t i = 0; !rc && i < ALTS_ARRAY_SIZE(base); i++)
		rc = env_set(&l, base[i].name, strlen(base[i].name), base[i].value);
	if (!rc && r->info.root)
		rc = env_set(&l, "ALTS_ROOT", 8, r->info.root);
	for (size_t i = 0; !rc && passthrough_vars[i]; i++) {
		const char *v = getenv(passthrough_vars[i]);

		if (v)
			rc = env_set(&l, passthrough_vars[i], strlen(passthrough_vars[i]), v);
	}
	for (size_t i = 0; !rc && r->suite && i < r->suite->vars.n; i++)
		rc = env_set(&l, r->suite->vars.keys[i], strlen(r->suite->vars.keys[i]), r->suite->vars.values[i]);
	for (const char *const *e = req ? req->env : NULL; !rc && e && *e; e++) {
		const char *eq = strchr(*e, '=');

		if (!eq || eq == *e) {
			runner_env_free(l.v);
			return alts_err_set(err, ALTS_EINVALID, "bad environment entry '%s' (expected NAME=value)", *e);
		}
		rc = env_set(&l, *e, (size_t)(eq - *e), eq + 1);
	}
	if (!rc && !l.v)
		rc = env_set(&l, "PATH", 4, "/usr/bin:/bin");
	if (rc) {
		runner_env_free(l.v);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	*out = l.v;
	return 0;
}

static char *os_release_value(const char *line, size_t len)
{
	if (len >= 2 && (line[0] == '"' || line[0] == '\'') && line[len - 1] == line[0]) {
		line++;
		len -= 2;
	}
	return alts_strndup(line, len);
}

int runner_parse_os_release(struct runner_info *info, const char *text, struct alts_err *err)
{
	const struct { const char *key; const char **field; } keys[] = {
		{ "ID=", &info->os_id },
		{ "ID_LIKE=", &info->os_id_like },
		{ "VERSION_ID=", &info->os_version },
	};
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		for (size_t i = 0; i < ALTS_ARRAY_SIZE(keys); i++) {
			size_t klen = strlen(keys[i].key);

			if (len > klen && !strncmp(line, keys[i].key, klen) && !*keys[i].field) {
				*keys[i].field = os_release_value(line + klen, len - klen);
				if (!*keys[i].field)
					return alts_err_set(err, ALTS_ENOMEM, "out of memory");
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(keys); i++) {
		if (!*keys[i].field && !(*keys[i].field = alts_strdup("")))
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	ALTS_UNUSED(sb);
	ALTS_UNUSED(ftw);
	if (flag == FTW_DNR || flag == FTW_NS)
		return 0;
	return remove(path) && errno != ENOENT ? -1 : 0;
}

int runner_remove_tree(const char *path)
{
	if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return errno ? -errno : ALTS_ERROR;
	return 0;
}
