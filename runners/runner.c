#include "framework/common.h"
#include "runners/runner_int.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "framework/suite.h"

#include <sys/mman.h>

static const struct runner_ops *const runner_registry[] = {
	&runner_local_ops,
	&runner_sandbox_ops,
	&runner_ssh_ops,
	&runner_docker_ops,
	&runner_command_ops,
};

static const char *runner_name_list[ALTS_ARRAY_SIZE(runner_registry) + 1];

const char *const *runner_names(void)
{
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(runner_registry); i++)
		runner_name_list[i] = runner_registry[i]->name;
	return runner_name_list;
}

static const struct runner_ops *runner_lookup(const char *name)
{
	for (size_t i = 0; name && i < ALTS_ARRAY_SIZE(runner_registry); i++) {
		if (!strcmp(runner_registry[i]->name, name))
			return runner_registry[i];
	}
	return NULL;
}

const struct conf_key *runner_conf_keys(const char *name, size_t *conf_size)
{
	const struct runner_ops *ops = runner_lookup(name);

	*conf_size = ops && ops->keys ? ops->conf_size : 0;
	return ops ? ops->keys : NULL;
}

int runner_conf_validate(const char *name, struct conf_ctx *ctx, yaml_node_t *node, const char *path,
			 const struct suite *suite, const void *conf)
{
	const struct runner_ops *ops = runner_lookup(name);

	return ops && ops->validate ? ops->validate(ctx, node, path, suite, conf) : 0;
}

/*
 * A large state (the sandbox's plan holds a path buffer for every mount)
 * is mapped, not calloc'ed: the kernel's zero pages are faulted in only
 * where written, where calloc would memset all of it again for every
 * runner (glibc serves a freed large block from the heap after the first).
 */
#define PRIV_MAP_MIN (64 * 1024)

static void *priv_alloc(size_t size)
{
	void *p;

	if (size < PRIV_MAP_MIN)
		return alts_calloc(1, size);
	/* One counted allocation, so that tests that fail the nth one reach this one too. */
	p = alts_malloc(1);
	if (!p)
		return NULL;
	alts_free(p);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void priv_free(void *p, size_t size)
{
	if (size < PRIV_MAP_MIN)
		alts_free(p);
	else if (p)
		munmap(p, size);
}

int runner_new_with_conf(struct runner **out, const struct runner_ops *ops, const struct suite *suite,
			 const void *conf, struct alts_err *err)
{
	struct runner *r;

	if (ops->abi != RUNNER_ABI)
		return alts_err_set(err, ALTS_EINTERNAL, "runner '%s' has ABI %d, expected %d", ops->name, ops->abi,
				    RUNNER_ABI);
	r = alts_calloc(1, sizeof(*r));
	if (!r)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	r->ops = ops;
	r->suite = suite;
	r->log = ops->name;
	if (!conf && suite)
		conf = suite_runner_conf(suite, ops->name);
	if (!conf && ops->conf_size && !(conf = r->own_conf = alts_calloc(1, ops->conf_size)))
		goto oom;
	r->conf = conf;
	if (ops->priv_size && !(r->priv = priv_alloc(ops->priv_size)))
		goto oom;
	*out = r;
	return 0;
oom:
	alts_free(r->own_conf);
	alts_free(r);
	return alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

int runner_new_with_ops(struct runner **out, const struct runner_ops *ops, const struct suite *suite,
			struct alts_err *err)
{
	return runner_new_with_conf(out, ops, suite, NULL, err);
}

int runner_new(struct runner **out, const char *name, const struct suite *suite, struct alts_err *err)
{
	const struct runner_ops *ops = runner_lookup(name);
	struct sbuf known = SBUF_INIT;
	int rc;

	if (ops)
		return runner_new_with_ops(out, ops, suite, err);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(runner_registry); i++)
		sbuf_addf(&known, "%s%s", i ? ", " : "", runner_registry[i]->name);
	rc = alts_err_set(err, ALTS_ENOTFOUND, "unknown runner '%s' (known: %s)", name, known.buf);
	sbuf_release(&known);
	return rc;
}

void runner_keep_env(struct runner *r)
{
	r->keep_env = true;
}

void runner_want_snapshots(struct runner *r)
{
	r->want_snapshots = true;
}

void runner_set_limits(struct runner *r, const struct runner_limits *limits)
{
	r->limits = *limits;
}

int runner_prepare(struct runner *r, struct alts_err *err)
{
	int rc;

	ALTS_ASSERT_ARG(!r->prepared, err);
	rc = r->ops->prepare(r, err);
	if (rc) {
		alts_err_prefix(err, "cannot prepare the '%s' environment", r->ops->name);
		return rc;
	}
	r->prepared = true;
	return 0;
}

int runner_exec(struct runner *r, struct proc_result *out, const struct runner_exec_req *req,
		struct alts_err *err)
{
	ALTS_ASSERT_ARG(r->prepared && req && req->argv && req->argv[0], err);
	if (r->broken)
		return alts_err_set(err, ALTS_EENV, "the '%s' environment is gone after a failed reset", r->ops->name);
	return r->ops->exec(r, out, req, err);
}

int runner_copy_in(struct runner *r, const char *host_path, const char *env_path, struct alts_err *err)
{
	ALTS_ASSERT_ARG(r->prepared, err);
	return r->ops->copy_in(r, host_path, env_path, err);
}

int runner_copy_out(struct runner *r, const char *env_path, const char *host_path, struct alts_err *err)
{
	ALTS_ASSERT_ARG(r->prepared, err);
	return r->ops->copy_out(r, env_path, host_path, err);
}

static int runner_no_reset(const struct runner *r, struct alts_err *err)
{
	return alts_err_set(err, ALTS_ENOTSUP,
			    "the '%s' runner has no snapshots: a fresh environment per check needs the sandbox runner",
			    r->ops->name);
}

int runner_snapshot(struct runner *r, struct alts_err *err)
{
	int rc;

	ALTS_ASSERT_ARG(r->prepared, err);
	if (!r->ops->snapshot)
		return runner_no_reset(r, err);
	if (r->broken)
		return alts_err_set(err, ALTS_EENV, "the '%s' environment is gone after a failed reset", r->ops->name);
	if (r->nsnapshots == RUNNER_MAX_SNAPSHOTS)
		return alts_err_set(err, ALTS_ENOTSUP, "too many snapshots of one environment (at most %d)",
				    RUNNER_MAX_SNAPSHOTS);
	rc = r->ops->snapshot(r, err);
	if (rc && rc != ALTS_ENOTSUP)
		r->broken = true;
	if (!rc)
		r->test_deps_snap[r->nsnapshots++] = r->ntest_deps;
	return rc;
}

/* After a reset: the test dependencies recorded after the last snapshot are gone with their packages. */
static void runner_forget_test_deps(struct runner *r)
{
	size_t keep = r->nsnapshots ? r->test_deps_snap[r->nsnapshots - 1] : 0;

	while (r->ntest_deps > keep)
		alts_free(r->test_deps[--r->ntest_deps]);
}

int runner_reset(struct runner *r, struct alts_err *err)
{
	int rc;

	ALTS_ASSERT_ARG(r->prepared, err);
	if (!r->ops->reset)
		return runner_no_reset(r, err);
	if (r->broken)
		return alts_err_set(err, ALTS_EENV, "the '%s' environment is gone after a failed reset", r->ops->name);
	rc = r->ops->reset(r, err);
	if (rc && rc != ALTS_ENOTSUP)
		r->broken = true;
	if (!rc)
		runner_forget_test_deps(r);
	return rc;
}

unsigned runner_snapshot_depth(const struct runner *r)
{
	return r->nsnapshots;
}

int runner_snapshot_drop(struct runner *r, struct alts_err *err)
{
	int rc;

	ALTS_ASSERT_ARG(r->prepared && r->nsnapshots > 0, err);
	if (!r->ops->drop)
		return runner_no_reset(r, err);
	if (r->broken)
		return alts_err_set(err, ALTS_EENV, "the '%s' environment is gone after a failed reset", r->ops->name);
	rc = r->ops->drop(r, err);
	if (rc && rc != ALTS_ENOTSUP)
		r->broken = true;
	if (!rc) {
		r->nsnapshots--;
		runner_forget_test_deps(r);
	}
	return rc;
}

bool runner_name_can_reset(const char *name)
{
	const struct runner_ops *ops = runner_lookup(name);

	return ops && (ops->caps & RUNNER_CAP_RESET);
}

bool runner_is_test_dep(const struct runner *r, const char *name)
{
	for (size_t i = 0; i < r->ntest_deps; i++) {
		if (!strcmp(r->test_deps[i], name))
			return true;
	}
	return false;
}

int runner_add_test_deps(struct runner *r, const char *const *names, size_t n, struct alts_err *err)
{
	for (size_t i = 0; i < n; i++) {
		char *copy;

		if (runner_is_test_dep(r, names[i]))
			continue;
		if (r->ntest_deps + 2 > r->test_deps_cap) {
			size_t cap = r->test_deps_cap ? 2 * r->test_deps_cap : 16;
			char **grown = alts_realloc(r->test_deps, cap * sizeof(*grown));

			if (!grown)
				return alts_err_set(err, ALTS_ENOMEM, "out of memory");
			r->test_deps = grown;
			r->test_deps_cap = cap;
		}
		copy = alts_strdup(names[i]);
		if (!copy)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		r->test_deps[r->ntest_deps++] = copy;
		r->test_deps[r->ntest_deps] = NULL;
	}
	return 0;
}

const char *const *runner_test_deps(const struct runner *r, size_t *n)
{
	static const char *const none[] = { NULL };

	*n = r->ntest_deps;
	return r->ntest_deps ? (const char *const *)r->test_deps : none;
}

const struct runner_info *runner_info(const struct runner *r)
{
	return &r->info;
}

const char *runner_workdir(const struct runner *r)
{
	return r->workdir ? r->workdir : "/tmp";
}

static void runner_info_release(struct runner_info *info)
{
	alts_free((char *)info->os_id);
	alts_free((char *)info->os_id_like);
	alts_free((char *)info->os_version);
	alts_free((char *)info->arch);
	alts_free((char *)info->root);
	memset(info, 0, sizeof(*info));
}

void runner_free(struct runner *r, bool keep)
{
	struct alts_err err = ALTS_ERR_INIT;

	if (!r)
		return;
	if (r->prepared && r->ops->teardown && r->ops->teardown(r, keep, &err))
		alts_log(ALTS_LOG_WARN, r->log, "teardown failed: %s", err.msg);
	r->ops->destroy(r);
	runner_info_release(&r->info);
	for (size_t i = 0; i < r->ntest_deps; i++)
		alts_free(r->test_deps[i]);
	alts_free(r->test_deps);
	alts_free(r->workdir);
	priv_free(r->priv, r->ops->priv_size);
	alts_free(r->own_conf);
	alts_free(r);
}
