/*
 * The command runner: an external provisioner makes the machine (the
 * Terraform/OpenNebula case) and alts talks to it with another runner.
 *
 * environment.command.create runs on this host (argv, no shell, in the
 * suite's directory, with the caller's environment plus
 * ALTS_PROVISION_ID) and prints on stdout one JSON object:
 *   {"type": "ssh", "host": ..., "port": ..., "user": ..., "identity_file": ...,
 *    "known_hosts": ..., "strict_host_key_checking": ..., "connect_timeout": ...}
 *   {"type": "docker", "url": ..., "image": ..., "platform": ...}
 * Keys not given come from the suite's environment.ssh or .docker. The
 * inner runner (runner_ssh_ops or runner_docker_ops) gets its settings
 * (struct ssh_conf or struct docker_conf) made here from those values,
 * through runner_new_with_conf(). At teardown (and whenever create ran but
 * a later step failed) environment.command.destroy runs with the same
 * JSON on stdin and the same ALTS_PROVISION_ID.
 */
#include "framework/common.h"
#include "runners/docker.h"
#include "runners/runner_util.h"
#include "runners/ssh.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "framework/suite.h"

#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>

extern char **environ;

#define COMMAND_TIMEOUT 3600.0  /* create and destroy: terraform apply can be slow */
#define COMMAND_INFO_MAX 65536
#define COMMAND_MAX_STRINGS 16

/* environment.command */
struct command_conf {
	struct conf_argv create;     /* prints connection info as JSON on stdout; required by the command runner */
	struct conf_argv destroy;    /* gets that JSON on stdin; optional */
};

struct command {
	char id[64];                 /* ALTS_PROVISION_ID */
	char dir[PATH_MAX];          /* this host: info.json and the provisioner's logs */
	char info_path[PATH_MAX + 16];
	bool created;                /* create ran: destroy must run once */
	struct ssh_conf ssh;         /* the inner runner's settings: the suite's section with what */
	struct docker_conf docker;   /* create printed (one of the two is used) */
	struct runner *inner;
	char *strings[COMMAND_MAX_STRINGS];  /* owned values ssh and docker point to */
	size_t nstrings;
};

static int command_make_id(struct command *c, struct alts_err *err)
{
	unsigned char rnd[6] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && read(fd, rnd, sizeof(rnd)) == (ssize_t)sizeof(rnd);

	if (fd >= 0)
		close(fd);
	if (!ok)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot read /dev/urandom");
	snprintf(c->id, sizeof(c->id), "alts-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	return 0;
}

/* The caller's environment with ALTS_PROVISION_ID set: a provisioner needs its cloud credentials. */
static const char **command_env(const char *id_var)
{
	size_t n = 0, j = 0;
	const char **env;

	while (environ && environ[n])
		n++;
	env = alts_calloc(n + 2, sizeof(char *));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "ALTS_PROVISION_ID=", 18))
			env[j++] = environ[i];
	}
	env[j] = id_var;
	return env;
}

/* Runs the provisioner's argv; a non-zero exit is ALTS_EENV with the end of its log. */
static int command_run(struct runner *r, struct command *c, const char *what, const struct conf_argv *cmd,
		       const char *stdin_path, const char *stdout_path, struct alts_err *err)
{
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct sbuf log = SBUF_INIT;
	char log_path[PATH_MAX + 32], id_var[96];
	const char **env;
	int rc;

	snprintf(id_var, sizeof(id_var), "ALTS_PROVISION_ID=%s", c->id);
	env = command_env(id_var);
	if (!env)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	snprintf(log_path, sizeof(log_path), "%s/%s.log", c->dir, what);
	spec.argv = cmd->argv;
	spec.envp = env;
	spec.cwd = r->suite->dir;
	spec.stdin_path = stdin_path;
	spec.stdout_path = stdout_path ? stdout_path : log_path;
	spec.stderr_path = log_path;
	spec.append = true;
	spec.timeout = COMMAND_TIMEOUT;
	alts_log(ALTS_LOG_INFO, r->log, "%s %s: %s", what, c->id, cmd->argv[0]);
	rc = proc_run(&res, &spec, err);
	if (!rc && res.exit_code) {
		sbuf_read_file(&log, log_path, 0);
		sbuf_trim_trailing(&log);
		rc = alts_err_set(err, ALTS_EENV, "the provisioner's %s command '%s' %s %d%s%s", what, cmd->argv[0],
				  res.timed_out ? "timed out, status" : "exited with status", res.exit_code,
				  log.len ? ": " : "", log.len > 1500 ? log.buf + log.len - 1500 : log.buf);
	}
	sbuf_release(&log);
	alts_free(env);
	return rc;
}

static int command_destroy_now(struct runner *r, struct command *c, struct alts_err *err)
{
	const struct command_conf *conf = r->conf;
	const struct conf_argv *destroy = &conf->destroy;

	if (!c->created)
		return 0;
	c->created = false;
	if (!destroy->argc)
		return 0;
	return command_run(r, c, "destroy", destroy, c->info_path, NULL, err);
}

/* A string JSON value kept for the inner runner's settings; NULL when key is absent. */
static int command_take(struct command *c, json_t *obj, const char *key, const char **out, struct alts_err *err)
{
	json_t *v = json_object_get(obj, key);
	char *copy;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !*json_string_value(v))
		return alts_err_set(err, ALTS_EINVALID, "the provisioner's '%s' must be a non-empty string", key);
	if (c->nstrings == COMMAND_MAX_STRINGS)
		return alts_err_set(err, ALTS_EINTERNAL, "too many provisioner values");
	copy = alts_strdup(json_string_value(v));
	if (!copy)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	c->strings[c->nstrings++] = copy;
	*out = copy;
	return 0;
}

static int command_number(json_t *obj, const char *key, double *out, struct alts_err *err)
{
	json_t *v = json_object_get(obj, key);
	char *end;
	double d;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_number(v)) {
		d = json_number_value(v);
	} else if (json_is_string(v)) {
		errno = 0;
		d = strtod(json_string_value(v), &end);
		if (errno || end == json_string_value(v) || *end)
			return alts_err_set(err, ALTS_EINVALID, "the provisioner's '%s' is not a number: '%s'", key,
					    json_string_value(v));
	} else {
		return alts_err_set(err, ALTS_EINVALID, "the provisioner's '%s' must be a number", key);
	}
	if (d < 0)
		return alts_err_set(err, ALTS_EINVALID, "the provisioner's '%s' must not be negative", key);
	*out = d;
	return 0;
}

static int command_ssh_conf(struct command *c, json_t *info, struct alts_err *err)
{
	struct ssh_conf *ssh = &c->ssh;
	double port = ssh->port, timeout = ssh->connect_timeout;
	int rc = command_take(c, info, "host", &ssh->host, err);

	if (!rc)
		rc = command_take(c, info, "user", &ssh->user, err);
	if (!rc)
		rc = command_take(c, info, "identity_file", &ssh->identity_file, err);
	if (!rc)
		rc = command_take(c, info, "known_hosts", &ssh->known_hosts, err);
	if (!rc)
		rc = command_take(c, info, "strict_host_key_checking", &ssh->strict_host_key_checking, err);
	if (!rc)
		rc = command_number(info, "port", &port, err);
	if (!rc)
		rc = command_number(info, "connect_timeout", &timeout, err);
	if (rc)
		return rc;
	if (!ssh->host || ssh->host[0] == '-' || strpbrk(ssh->host, " \t\n@"))
		return alts_err_set(err, ALTS_EINVALID, "the provisioner gave no usable 'host' ('%s')",
				    ssh->host ? ssh->host : "");
	if (port > 65535 || port != (double)(long)port)
		return alts_err_set(err, ALTS_EINVALID, "the provisioner's port %g is not a port", port);
	if (ssh->user && (ssh->user[0] == '-' || strpbrk(ssh->user, " \t\n@")))
		return alts_err_set(err, ALTS_EINVALID, "the provisioner's user '%s' is not a user name", ssh->user);
	if (ssh->strict_host_key_checking && strcmp(ssh->strict_host_key_checking, "yes") &&
	    strcmp(ssh->strict_host_key_checking, "no") && strcmp(ssh->strict_host_key_checking, "accept-new"))
		return alts_err_set(err, ALTS_EINVALID,
				    "the provisioner's strict_host_key_checking '%s' is not yes, accept-new or no",
				    ssh->strict_host_key_checking);
	if ((ssh->known_hosts && strpbrk(ssh->known_hosts, "%$\"' \t\n")) ||
	    (ssh->identity_file && strpbrk(ssh->identity_file, "%$")))
		return alts_err_set(err, ALTS_EINVALID, "the provisioner's key paths may not contain %%, $, quotes or spaces");
	ssh->port = (long)port;
	ssh->connect_timeout = timeout;
	return 0;
}

static int command_docker_conf(struct command *c, json_t *info, struct alts_err *err)
{
	struct docker_conf *d = &c->docker;
	int rc = command_take(c, info, "url", &d->url, err);

	if (!rc)
		rc = command_take(c, info, "image", &d->image, err);
	if (!rc)
		rc = command_take(c, info, "platform", &d->platform, err);
	return rc;
}

/* Reads what create printed and makes the inner runner. */
static int command_connect(struct runner *r, struct command *c, struct alts_err *err)
{
	const struct runner_ops *ops;
	const void *base, *conf;
	json_error_t jerr;
	json_t *info = json_load_file(c->info_path, 0, &jerr), *type;
	const char *t;
	int rc;

	if (!info)
		return alts_err_set(err, ALTS_EENV, "the provisioner printed no JSON object: %s (line %d)", jerr.text,
				    jerr.line);
	if (!json_is_object(info)) {
		rc = alts_err_set(err, ALTS_EENV, "the provisioner printed JSON that is not an object");
		goto out;
	}
	type = json_object_get(info, "type");
	t = json_is_string(type) ? json_string_value(type) : type ? "" : "ssh";
	if (!strcmp(t, "ssh")) {
		ops = &runner_ssh_ops;
		if ((base = suite_runner_conf(r->suite, ops->name)))
			c->ssh = *(const struct ssh_conf *)base;
		conf = &c->ssh;
		rc = command_ssh_conf(c, info, err);
	} else if (!strcmp(t, "docker")) {
		ops = &runner_docker_ops;
		if ((base = suite_runner_conf(r->suite, ops->name)))
			c->docker = *(const struct docker_conf *)base;
		conf = &c->docker;
		rc = command_docker_conf(c, info, err);
	} else {
		rc = alts_err_set(err, ALTS_EINVALID, "the provisioner's type '%s' is not ssh or docker", t);
		goto out;
	}
	if (!rc)
		rc = runner_new_with_conf(&c->inner, ops, r->suite, conf, err);
	if (!rc) {
		c->inner->log = r->log;
		if (r->keep_env)
			runner_keep_env(c->inner);
		rc = runner_prepare(c->inner, err);
	}
	if (rc)
		alts_err_prefix(err, "%s from the provisioner", t);
out:
	json_decref(info);
	return rc;
}

static int command_copy_info(struct runner *r, struct command *c, struct alts_err *err)
{
	const struct runner_info *in = runner_info(c->inner);

	r->info.name = r->ops->name;
	r->info.os_id = alts_strdup(in->os_id ? in->os_id : "");
	r->info.os_id_like = alts_strdup(in->os_id_like ? in->os_id_like : "");
	r->info.os_version = alts_strdup(in->os_version ? in->os_version : "");
	r->info.arch = alts_strdup(in->arch ? in->arch : "");
	r->workdir = alts_strdup(runner_workdir(c->inner));
	if (!r->info.os_id || !r->info.os_id_like || !r->info.os_version || !r->info.arch || !r->workdir)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	return 0;
}

static int command_prepare(struct runner *r, struct alts_err *err)
{
	struct command *c = r->priv;
	const struct command_conf *conf = r->conf;
	const char *tmp = getenv("TMPDIR");
	int rc;

	if (!r->suite || !conf || !conf->create.argc)
		return alts_err_set(err, ALTS_EINVALID, "the command runner needs environment.command.create");
	rc = command_make_id(c, err);
	if (rc)
		return rc;
	if (!str_fmt(c->dir, sizeof(c->dir), "%s/alts-command-XXXXXX", tmp && *tmp ? tmp : "/tmp") || !mkdtemp(c->dir)) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create a directory like '%s'", c->dir);
		c->dir[0] = '\0';
		return rc;
	}
	snprintf(c->info_path, sizeof(c->info_path), "%s/info.json", c->dir);
	c->created = true;  /* from here on destroy runs, even when create fails half-way */
	rc = command_run(r, c, "create", &conf->create, NULL, c->info_path, err);
	if (!rc)
		rc = command_connect(r, c, err);
	if (!rc)
		rc = command_copy_info(r, c, err);
	if (rc) {
		struct alts_err derr = ALTS_ERR_INIT;

		if (c->inner) {
			runner_free(c->inner, false);
			c->inner = NULL;
		}
		if (command_destroy_now(r, c, &derr))
			alts_log(ALTS_LOG_ERROR, r->log, "%s", derr.msg);
		return rc;
	}
	alts_log(ALTS_LOG_INFO, r->log, "provisioned %s: %s", c->id, c->inner->ops->name);
	return 0;
}

static int command_exec(struct runner *r, struct proc_result *out, const struct runner_exec_req *req,
			struct alts_err *err)
{
	struct command *c = r->priv;

	return runner_exec(c->inner, out, req, err);
}

static int command_copy_in(struct runner *r, const char *host_path, const char *env_path, struct alts_err *err)
{
	struct command *c = r->priv;

	return runner_copy_in(c->inner, host_path, env_path, err);
}

static int command_copy_out(struct runner *r, const char *env_path, const char *host_path, struct alts_err *err)
{
	struct command *c = r->priv;

	return runner_copy_out(c->inner, env_path, host_path, err);
}

static int command_teardown(struct runner *r, bool keep, struct alts_err *err)
{
	struct command *c = r->priv;
	const struct command_conf *conf = r->conf;

	runner_free(c->inner, keep);
	c->inner = NULL;
	if (keep || r->keep_env) {
		fprintf(stderr,
			"alts: kept the provisioned machine %s; its connection info is in %s\n"
			"  destroy it with: ALTS_PROVISION_ID=%s %s ... < %s\n",
			c->id, c->info_path, c->id,
			conf->destroy.argc ? conf->destroy.argv[0] : "<destroy>",
			c->info_path);
		c->created = false;
		c->dir[0] = '\0';  /* keep the directory with info.json */
		return 0;
	}
	return command_destroy_now(r, c, err);
}

static void command_destroy(struct runner *r)
{
	struct command *c = r->priv;
	struct alts_err err = ALTS_ERR_INIT;

	if (!c)
		return;
	runner_free(c->inner, false);
	c->inner = NULL;
	if (c->created && r->suite && command_destroy_now(r, c, &err))
		alts_log(ALTS_LOG_ERROR, r->log, "%s", err.msg);
	if (c->dir[0])
		runner_remove_tree(c->dir);
	for (size_t i = 0; i < c->nstrings; i++)
		alts_free(c->strings[i]);
}

/* --- settings: environment.command --- */

static const struct conf_key command_conf_keys[] = {
	{ "create", CONF_ARGV, offsetof(struct command_conf, create), CONF_REQUIRED, NULL, NULL },
	{ "destroy", CONF_ARGV, offsetof(struct command_conf, destroy), 0, NULL, NULL },
	CONF_KEYS_END,
};

/* What the command runner cannot start without, when the suite chooses it. */
static int command_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const struct suite *suite,
			    const void *conf)
{
	const struct command_conf *c = conf;

	ALTS_UNUSED(suite);
	if (!c->create.argc)
		return conf_fail(ctx, node, path, "the command runner needs 'command: {create: [...]}'");
	return 0;
}

const struct runner_ops runner_command_ops = {
	.name = "command",
	.abi = RUNNER_ABI,
	.caps = 0,
	.priv_size = sizeof(struct command),
	.conf_size = sizeof(struct command_conf),
	.keys = command_conf_keys,
	.validate = command_validate,
	.prepare = command_prepare,
	.exec = command_exec,
	.copy_in = command_copy_in,
	.copy_out = command_copy_out,
	.teardown = command_teardown,
	.destroy = command_destroy,
};
