#include "framework/common.h"
#include "runners/runner_util.h"
#include "framework/suite.h"

#include "framework/fs.h"
#include "framework/sbuf.h"

#include <unistd.h>

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

int runner_remove_tree(const char *path)
{
	return fs_remove_tree(path);
}

void runner_proc_spec(struct proc_spec *spec, const struct runner_exec_req *req, char **env,
		      const char *default_cwd)
{
	struct proc_spec init = PROC_SPEC_INIT;

	*spec = init;
	spec->argv = req->argv;
	spec->envp = (const char *const *)env;
	spec->cwd = req->cwd ? req->cwd : default_cwd;
	spec->stdin_path = req->stdin_path;
	spec->stdout_path = req->stdout_path;
	spec->stderr_path = req->stderr_path;
	spec->stdout_capture = req->stdout_capture;
	spec->stderr_capture = req->stderr_capture;
	spec->append = req->append;
	spec->timeout = req->timeout;
	spec->cancel = req->cancel;
	spec->on_output = req->on_output;
	spec->payload = req->payload;
}

int runner_host_copy(const char *from, const char *to, struct alts_err *err)
{
	const char *argv[] = { "cp", "-a", "--", from, to, NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", "LANG=C", NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	char errfile[] = "/tmp/alts-cp-XXXXXX";
	struct sbuf msg = SBUF_INIT;
	int fd = mkstemp(errfile), rc;

	if (fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create a temporary file");
	close(fd);
	spec.argv = argv;
	spec.envp = envp;
	spec.stderr_path = errfile;
	spec.timeout = 600;
	rc = proc_run(&res, &spec, err);
	if (!rc && res.exit_code) {
		sbuf_read_file(&msg, errfile, 4096);
		sbuf_trim_trailing(&msg);
		rc = alts_err_set(err, ALTS_EENV, "cannot copy '%s' to '%s': %s", from, to,
				  msg.len ? msg.buf : "cp failed");
	}
	unlink(errfile);
	sbuf_release(&msg);
	return rc;
}
