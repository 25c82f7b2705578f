#ifndef ALTS_RUNNER_UTIL_H
#define ALTS_RUNNER_UTIL_H

/* Shared by runner backends. */

#include "runners/runner_int.h"

/*
 * Builds the environment of a command: a fixed base (PATH, HOME, LANG,
 * TERM, DEBIAN_FRONTEND, proxies passed through from the host), then the
 * suite's `env`, then req->env; later entries replace earlier ones.
 * *out is a NULL-terminated array owned by the caller: free with
 * runner_env_free().
 */
int runner_env_build(char ***out, const struct runner *r, const struct runner_exec_req *req,
		     struct alts_err *err);
void runner_env_free(char **env);

/*
 * Parses os-release text (KEY=value lines, values optionally quoted) into
 * info->os_id, os_id_like and os_version (alts_malloc'd).
 */
int runner_parse_os_release(struct runner_info *info, const char *text, struct alts_err *err);

/* Removes a directory tree; 0 or negative errno. Does not cross mount points. */
int runner_remove_tree(const char *path);

/* Fills spec from req: argv, env (from runner_env_build), cwd (default_cwd when unset), I/O, limits. */
void runner_proc_spec(struct proc_spec *spec, const struct runner_exec_req *req, char **env,
		      const char *default_cwd);

/* `cp -a` on the host, with cp's own complaint in the error. */
int runner_host_copy(const char *from, const char *to, struct alts_err *err);

#endif
