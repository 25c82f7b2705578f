/* Unit tests for scheduler/albs.c (ALTS's callback shape) and scheduler/pull.c (pulled batches). */
#include "helpers.h"
#include "scheduler/albs.h"
#include "scheduler/pull.h"
#include "scheduler/store.h"

/* A result document as reporters/json.c writes it, with one check of each kind. */
static const char result_doc[] =
	"{\"api_version\":\"1\",\"result\":{},\"stats\":{},\"alts\":{\"suites\":[{\"started\":1764849571.25,"
	"\"checks\":["
	"{\"type\":\"install\",\"name\":\"install\",\"status\":\"pass\",\"started\":1764849571.5,\"duration\":2.0},"
	"{\"type\":\"integrity\",\"name\":\"integrity\",\"status\":\"fail\",\"started\":1764849573.5,\"duration\":1.0,"
	"\"output\":\"/usr/bin/x: checksum\"},"
	"{\"type\":\"script\",\"name\":\"third-party tests 1: tests/a b.sh\",\"status\":\"pass\",\"started\":1764849574.5,"
	"\"duration\":0.5,\"output\":\"1..1\\nok 1\\n\"},"
	"{\"type\":\"script\",\"name\":\"third-party tests 1: tests/c.sh\",\"status\":\"fail\",\"started\":1764849575,"
	"\"duration\":0.5,\"output\":\"\",\"message\":\"exit code 1\"},"
	"{\"type\":\"uninstall\",\"name\":\"uninstall\",\"status\":\"skip\",\"started\":1764849576,\"duration\":0}"
	"]}]}}";

static const char artifacts[] = "{\"result.json\":\"pulp:/r\",\"logs/install.log\":\"/pulp/api/v3/artifacts/1/\","
				"\"logs/integrity.log.gz\":\"/pulp/api/v3/artifacts/2/\"}";

static void assert_json_eq(json_t *j, const char *path, const char *expected)
{
	json_t *want = json_loads(expected, JSON_DECODE_ANY, NULL);
	char *got = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	assert_non_null(want);
	if (!json_equal(j, want))
		fail_msg("%s: got %s, expected %s", path, got ? got : "NULL", expected);
	free(got);
	json_decref(want);
}

static void test_scheduler_albs__summary_as_the_build_system_reads_it(void **state)
{
	struct albs_task t = { "finished", result_doc, artifacts, NULL, 1, 2, 3 };
	json_t *sum, *st;

	ALTS_UNUSED(state);
	assert_int_equal(albs_summary(&t, &sum, &st), 0);
	assert_json_eq(json_object_get(sum, "install_package"), "install_package", "{\"success\":true}");
	assert_json_eq(json_object_get(json_object_get(sum, "tests"), "package_integrity_tests"), "integrity",
		       "{\"success\":false,\"output\":\"/usr/bin/x: checksum\"}");
	assert_json_eq(json_object_get(sum, "third_party"), "third_party",
		       "{\"success\":false,"
		       "\"third_party_test_third-party_tests_1__tests_a_b.sh\":{\"success\":true,\"output\":\"1..1\\nok 1\\n\"},"
		       "\"third_party_test_third-party_tests_1__tests_c.sh\":{\"success\":false,\"output\":\"exit code 1\"}}");
	assert_json_eq(json_object_get(sum, "skipped_tests"), "skipped_tests", "[\"uninstall_package\"]");
	assert_null(json_object_get(sum, "uninstall_package"));
	assert_null(json_object_get(sum, "revoked"));
	assert_json_eq(json_object_get(sum, "logs"), "logs",
		       "[{\"name\":\"install.log\",\"href\":\"/pulp/api/v3/artifacts/1/\",\"type\":\"test_log\"},"
		       "{\"name\":\"integrity.log.gz\",\"href\":\"/pulp/api/v3/artifacts/2/\",\"type\":\"test_log\"}]");
	assert_string_equal(json_string_value(json_object_get(st, "started_at")), "2025-12-04T11:59:31.250000");
	assert_json_eq(json_object_get(st, "install_package"), "stats",
		       "{\"start_ts\":\"2025-12-04T11:59:31.500000\",\"finish_ts\":\"2025-12-04T11:59:33.500000\","
		       "\"delta\":2.0}");
	json_decref(sum);
	json_decref(st);
}

static void test_scheduler_albs__revoked_and_failed(void **state)
{
	struct albs_task queued = { "canceled", NULL, NULL, NULL, 1000, 0, 2000 };
	struct albs_task running = { "canceled", result_doc, artifacts, NULL, 1000, 1500, 2000 };
	struct albs_task failed = { "failed", NULL, NULL, "cannot create the environment", 1764849571000, 0, 0 };
	char *body;
	json_t *sum, *st;

	ALTS_UNUSED(state);
	body = albs_callback_body(&queued);
	assert_non_null(body);
	{
		json_t *j = json_loads(body, 0, NULL);

		assert_json_eq(j, "queued cancel", "{\"api_version\":\"20210512\",\"result\":{\"revoked\":true},\"stats\":{}}");
		json_decref(j);
	}
	free(body);
	assert_int_equal(albs_summary(&running, &sum, &st), 0);
	assert_true(json_is_true(json_object_get(sum, "revoked")));
	assert_null(json_object_get(sum, "logs"));  /* as ALTS: no logs with a revoked summary */
	assert_non_null(json_object_get(st, "started_at"));
	json_decref(sum);
	json_decref(st);
	assert_int_equal(albs_summary(&failed, &sum, &st), 0);
	assert_json_eq(json_object_get(sum, "initial_provision"), "failed",
		       "{\"success\":false,\"output\":\"cannot create the environment\"}");
	assert_string_equal(json_string_value(json_object_get(st, "started_at")), "2025-12-04T11:59:31.000000");
	json_decref(sum);
	json_decref(st);
}

static void test_scheduler_albs__join_url(void **state)
{
	static const struct {
		const char *base, *href, *want;
	} cases[] = {
		{ "https://build.almalinux.org", "/api/v1/tests/7/result/", "https://build.almalinux.org/api/v1/tests/7/result/" },
		{ "https://bs.example/x/y", "/api/v1/t/", "https://bs.example/api/v1/t/" },
		{ "https://bs.example/x/y", "z/", "https://bs.example/x/z/" },
		{ "https://bs.example", "z", "https://bs.example/z" },
		{ "https://bs.example/a", "http://other/cb", "http://other/cb" },
		{ "http://bs.example:8080/", "//cdn.example/p", "http://cdn.example/p" },
	};
	struct alts_err err = ALTS_ERR_INIT;
	char *out;

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		assert_ok_err(albs_join_url(&out, cases[i].base, cases[i].href, &err), &err);
		assert_string_equal(out, cases[i].want);
		alts_free(out);
	}
	assert_int_equal(albs_join_url(&out, NULL, "/api/v1/tests/7/result/", &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "bs_host"));
}

static const char *archs[] = { "x86_64" };
static const char *runners[] = { "local" };
static const char *dists[] = { "almalinux", "debian" };
static const char *map_keys[] = { "docker" };
static const char *map_values[] = { "local" };

static void test_scheduler_albs__pull_commit(void **state)
{
	struct strlist a = { archs, 1 }, r = { runners, 1 }, d = { dists, 2 };
	struct strmap m = { map_keys, map_values, 1 };
	struct payload_rules rules = { &a, &r, &d, 0, true, &m };
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = NULL;
	char path[4096];
	int q, sk, inv;
	const char *batch =
		"[{\"bs_task_id\":41,\"runner_type\":\"docker\",\"dist_name\":\"almalinux\",\"dist_version\":\"10-kitten\","
		"\"dist_arch\":\"x86_64\",\"package_name\":\"bash\",\"package_version\":\"5.2-1.el10\","
		"\"callback_href\":\"/api/v1/tests/41/result/\",\"repositories\":[{\"name\":\"b\",\"baseurl\":\"https://r/\"}],"
		"\"test_configuration\":{\"tests\":[],\"test_env\":{\"extra_env_vars\":[\"A=1\"],\"vm_ram_size\":1536}}},"
		"{\"bs_task_id\":42,\"runner_type\":\"docker\",\"dist_name\":\"almalinux\",\"dist_version\":\"9\","
		"\"dist_arch\":\"x86_64\",\"package_name\":\"zsh\",\"package_version\":\"5.8-9\","
		"\"callback_href\":\"/api/v1/tests/42/result/\",\"package_channel\":\"beta\",\"verbose\":true,"
		"\"test_flavor\":{\"name\":\"x\",\"version\":\"1\"}},"
		"{\"bs_task_id\":42,\"runner_type\":\"docker\",\"dist_name\":\"almalinux\",\"dist_version\":\"9\","
		"\"dist_arch\":\"x86_64\",\"package_name\":\"zsh\",\"callback_href\":\"/api/v1/tests/42/result/\"},"
		"{\"bs_task_id\":43,\"runner_type\":\"docker\",\"dist_name\":\"plan9\",\"dist_version\":\"9\","
		"\"dist_arch\":\"x86_64\",\"package_name\":\"zsh\",\"callback_href\":\"/api/v1/tests/43/result/\"}]";

	ALTS_UNUSED(state);
	snprintf(path, sizeof(path), "%s/tasks.db", test_sandbox_init());
	assert_ok_err(store_open(&s, path, &err), &err);
	assert_ok_err(pull_commit(s, &rules, batch, strlen(batch), &q, &sk, &inv, &err), &err);
	assert_int_equal(q, 2);
	assert_int_equal(sk, 1);   /* 42 twice in one answer */
	assert_int_equal(inv, 1);  /* plan9 */
	/* Served again (the Build System restarted): still queued here, so skipped. */
	assert_ok_err(pull_commit(s, &rules, batch, strlen(batch), &q, &sk, &inv, &err), &err);
	assert_int_equal(q, 0);
	assert_int_equal(sk, 3);
	{
		char *id = NULL;

		assert_ok_err(store_bs_active(s, "41", &id, &err), &err);
		assert_non_null(id);
		alts_free(id);
		assert_ok_err(store_bs_active(s, "43", &id, &err), &err);
		assert_null(id);
	}
	/* Garbage, a non-list and an empty list. */
	assert_int_equal(pull_commit(s, &rules, "<html>", 6, &q, &sk, &inv, &err), ALTS_EINVALID);
	assert_int_equal(pull_commit(s, &rules, "{\"detail\":\"x\"}", 14, &q, &sk, &inv, &err), ALTS_EINVALID);
	assert_ok_err(pull_commit(s, &rules, "[]", 2, &q, &sk, &inv, &err), &err);
	assert_int_equal(q + sk + inv, 0);
	store_free(s);
	test_sandbox_cleanup();
}

static void test_scheduler_albs__relative_callback_needs_bs_host(void **state)
{
	struct strlist a = { archs, 1 }, r = { runners, 1 }, d = { dists, 2 };
	struct strmap m = { map_keys, map_values, 1 };
	struct payload_rules rules = { &a, &r, &d, 0, false, &m };
	struct alts_err err = ALTS_ERR_INIT;
	struct task_request tr;
	struct arena *ar = arena_new();
	const char *body = "{\"runner_type\":\"docker\",\"dist_name\":\"debian\",\"dist_version\":12,\"dist_arch\":\"x86_64\","
			   "\"package_name\":\"bash\",\"callback_href\":\"/api/v1/tests/1/result/\"}";

	ALTS_UNUSED(state);
	assert_int_equal(payload_parse(&tr, ar, &rules, body, strlen(body), &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "callback_href"));
	rules.relative_callbacks = true;
	assert_ok_err(payload_parse(&tr, ar, &rules, body, strlen(body), &err), &err);
	assert_string_equal(tr.runner, "local");
	assert_string_equal(tr.queue, "local-x86_64-0");
	assert_null(strstr(tr.message, "alts_request"));
	body = "{\"runner_type\":\"docker\",\"dist_name\":\"debian\",\"dist_version\":12,\"dist_arch\":\"x86_64\","
	       "\"package_name\":\"bash\",\"test_configuration\":{\"tests\":null,\"test_env\":{\"extra_env_vars\":[\"NOEQ\"]}}}";
	assert_int_equal(payload_parse(&tr, ar, &rules, body, strlen(body), &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "NAME=value"));
	body = "{\"runner_type\":\"docker\",\"dist_name\":\"debian\",\"dist_version\":12,\"dist_arch\":\"x86_64\","
	       "\"package_name\":\"bash\",\"package_channel\":\"nightly\"}";
	assert_int_equal(payload_parse(&tr, ar, &rules, body, strlen(body), &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "package_channel"));
	body = "{\"runner_type\":\"docker\",\"dist_name\":\"debian\",\"dist_version\":12,\"dist_arch\":\"x86_64\","
	       "\"package_name\":\"bash\",\"test_configuration\":{\"tests\":[],\"test_env\":{\"extra_env_vars\":[\"MARK=x y\"],"
	       "\"pytest_is_needed\":false}},\"verbose\":false}";
	assert_ok_err(payload_parse(&tr, ar, &rules, body, strlen(body), &err), &err);
	assert_non_null(strstr(tr.message, "\"env\":{\"MARK\":\"x y\"}"));
	assert_non_null(strstr(tr.message, "\"alts_request\":{"));
	assert_non_null(strstr(tr.message, "\"pytest_is_needed\":false"));
	arena_free(ar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scheduler_albs__summary_as_the_build_system_reads_it),
		cmocka_unit_test(test_scheduler_albs__revoked_and_failed),
		cmocka_unit_test(test_scheduler_albs__join_url),
		cmocka_unit_test(test_scheduler_albs__pull_commit),
		cmocka_unit_test(test_scheduler_albs__relative_callback_needs_bs_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
