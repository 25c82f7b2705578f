/* Unit tests for scheduler/payload.c: validation table, routing map, suite conversion, messages. */
#include "helpers.h"
#include "framework/arena.h"
#include "scheduler/payload.h"

#include <jansson.h>

static const char *archs[] = { "x86_64", "amd64", "i686", "i386", "i486", "i586", "x86_64_v2",
			       "aarch64", "arm64", "ppc64le", "s390x" };
static const char *runners[] = { "docker", "local" };
static const char *dists[] = { "almalinux", "debian", "rocky" };
static const struct strlist arch_list = { archs, ALTS_ARRAY_SIZE(archs) };
static const struct strlist runner_list = { runners, ALTS_ARRAY_SIZE(runners) };
static const struct strlist dist_list = { dists, ALTS_ARRAY_SIZE(dists) };
static const struct payload_rules rules = { &arch_list, &runner_list, &dist_list, 0 };

#define BASE "\"runner_type\":\"docker\",\"dist_name\":\"almalinux\",\"dist_version\":\"9\",\"dist_arch\":\"x86_64\""

static int parse(struct task_request *r, struct arena *a, const char *body, struct alts_err *err)
{
	return payload_parse(r, a, &rules, body, strlen(body), err);
}

static void test_scheduler_payload__routing_map(void **state)
{
	static const struct {
		const char *runner, *arch, *queue;
	} cases[] = {
		{ "docker", "x86_64", "docker-x86_64-0" }, { "docker", "amd64", "docker-x86_64-0" },
		{ "docker", "i686", "docker-x86_64-0" },   { "docker", "i386", "docker-x86_64-0" },
		{ "docker", "i486", "docker-x86_64-0" },   { "docker", "i586", "docker-x86_64-0" },
		{ "local", "aarch64", "local-aarch64-0" }, { "local", "arm64", "local-aarch64-0" },
		{ "docker", "x86_64_v2", "docker-x86_64_v2-0" }, { "docker", "ppc64le", "docker-ppc64le-0" },
		{ "docker", "s390x", "docker-s390x-0" },  { "any", "arm64", "docker-aarch64-0" },
	};
	struct alts_err err = ALTS_ERR_INIT;
	char q[64];

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		const char *runner = NULL;

		assert_ok_err(payload_route(q, sizeof(q), &rules, cases[i].runner, cases[i].arch, &runner, &err), &err);
		assert_string_equal(q, cases[i].queue);
	}
	{
		struct payload_rules costly = rules;
		const char *runner = NULL;

		costly.cost = 3;
		assert_ok_err(payload_route(q, sizeof(q), &costly, "local", "amd64", &runner, &err), &err);
		assert_string_equal(q, "local-x86_64-3");
		assert_string_equal(runner, "local");
	}
	{
		const char *runner = NULL;

		assert_int_equal(payload_route(q, sizeof(q), &rules, "ssh", "x86_64", &runner, &err), ALTS_EINVALID);
		assert_non_null(strstr(err.msg, "allowed: docker, local, any"));
		assert_int_equal(payload_route(q, sizeof(q), &rules, "docker", "sparc", &runner, &err), ALTS_EINVALID);
		assert_non_null(strstr(err.msg, "unknown architecture 'sparc'"));
	}
	assert_null(payload_queue_arch("noarch"));
	assert_string_equal(payload_queue_arch("arm64"), "aarch64");
}

/* Every body is refused with ALTS_EINVALID and a message naming the problem. */
static void test_scheduler_payload__invalid_bodies(void **state)
{
	static const struct {
		const char *body, *want;
	} cases[] = {
		{ "", "invalid JSON" },
		{ "{", "invalid JSON" },
		{ "[1,2]", "expected a JSON object" },
		{ "\"str\"", "expected a JSON object" },
		{ "{\"a\":1,\"a\":2}", "duplicate" },
		{ "{" BASE ",\"package_name\":\"bash\",\"bogus\":1}", "unknown key 'bogus'" },
		{ "{" BASE "}", "missing required key 'package_name'" },
		{ "{\"dist_name\":\"almalinux\",\"dist_version\":\"9\",\"dist_arch\":\"x86_64\",\"package_name\":\"b\"}",
		  "missing required key 'runner_type'" },
		{ "{\"runner_type\":\"opennebula\",\"dist_name\":\"almalinux\",\"dist_version\":\"9\",\"dist_arch\":\"x86_64\","
		  "\"package_name\":\"b\"}", "unknown runner 'opennebula' (allowed: docker, local, any)" },
		{ "{\"runner_type\":\"docker\",\"dist_name\":\"gentoo\",\"dist_version\":\"9\",\"dist_arch\":\"x86_64\","
		  "\"package_name\":\"b\"}", "unknown distribution 'gentoo' (allowed: almalinux, debian, rocky)" },
		{ "{\"runner_type\":\"docker\",\"dist_name\":\"debian\",\"dist_version\":\"12\",\"dist_arch\":\"sparc\","
		  "\"package_name\":\"b\"}", "unknown architecture 'sparc' (allowed: x86_64" },
		{ "{\"runner_type\":\"docker\",\"dist_name\":\"debian\",\"dist_version\":true,\"dist_arch\":\"x86_64\","
		  "\"package_name\":\"b\"}", "dist_version: expected a string or a number" },
		{ "{\"runner_type\":\"docker\",\"dist_name\":\"debian\",\"dist_version\":\"1 2\",\"dist_arch\":\"x86_64\","
		  "\"package_name\":\"b\"}", "invalid version '1 2'" },
		{ "{" BASE ",\"package_name\":\"bash; rm -rf /\"}", "invalid package name" },
		{ "{" BASE ",\"package_name\":\"\"}", "must not be empty" },
		{ "{" BASE ",\"package_name\":[\"bash\"]}", "expected a string" },
		{ "{" BASE ",\"package_name\":\"bash\",\"package_version\":\"1.0 $(id)\"}", "invalid version" },
		{ "{" BASE ",\"package_name\":\"bash\",\"package_epoch\":\"x\"}", "expected digits" },
		{ "{" BASE ",\"package_name\":\"bash\",\"repositories\":{}}", "expected a list of repositories" },
		{ "{" BASE ",\"package_name\":\"bash\",\"repositories\":[{\"name\":\"r\"}]}", "exactly one of 'url' and 'baseurl'" },
		{ "{" BASE ",\"package_name\":\"bash\",\"repositories\":[{\"url\":\"gopher://x\"}]}", "invalid URL" },
		{ "{" BASE ",\"package_name\":\"bash\",\"repositories\":[{\"url\":\"http://x\",\"key\":1}]}", "unknown key 'key'" },
		{ "{" BASE ",\"package_name\":\"bash\",\"callback_href\":\"javascript:alert(1)\"}", "http:// or https://" },
		{ "{" BASE ",\"package_name\":\"bash\",\"bs_task_id\":\"1;2\"}", "invalid id" },
		{ "{" BASE ",\"package_name\":123}", "package_name: expected a string (a package name), got the number 123" },
		{ "{" BASE ",\"package_name\":\"bash\",\"bs_task_id\":-5}", "bs_task_id: expected a non-negative integer" },
		{ "{" BASE ",\"package_name\":\"bash\",\"bs_task_id\":1.5}", "bs_task_id: expected a non-negative integer" },
		{ "{" BASE ",\"package_name\":\"bash\",\"module_stream\":\"3\"}", "module_name: required" },
		{ "{" BASE ",\"package_name\":\"bash\",\"module_name\":\"perl\"}", "module_stream: required" },
		{ "{" BASE ",\"package_name\":\"bash\",\"test_configuration\":{\"tests\":[{\"git_ref\":\"x\"}]}}",
		  "missing required key 'url'" },
		{ "{" BASE ",\"package_name\":\"bash\",\"test_configuration\":{\"tests\":[{\"url\":\"-uhttp://x\"}]}}",
		  "invalid git URL" },
		{ "{" BASE ",\"package_name\":\"bash\",\"test_configuration\":{\"tests\":[{\"url\":\"https://x\",\"test_dir\":\"../etc\"}]}}",
		  "invalid path" },
		{ "{" BASE ",\"package_name\":\"bash\",\"test_configuration\":{\"other\":1}}", "unknown key 'other'" },
		{ "{\"suite\":\"name: x\\nchecks: []\\n\"}", "suite" },
		{ "{\"suite\":{\"checks\":[\"install\"],\"packages\":[\"bash\"]}}", "dist_arch: required" },
		{ "{\"suite\":{\"checks\":[\"frobnicate\"]}}", "frobnicate" },
		{ "{\"suite\":\"checks: [install]\\npackages: [bash]\\n\",\"package_name\":\"x\"}", "cannot be combined" },
		{ "{\"suite\":[1]}", "expected a suite" },
	};
	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		struct alts_err err = ALTS_ERR_INIT;
		struct arena *a = arena_new();
		struct task_request r;
		int rc = parse(&r, a, cases[i].body, &err);

		if (rc != ALTS_EINVALID || !strstr(err.msg, cases[i].want))
			fail_msg("case %zu (%s): rc %d, message '%s' lacks '%s'", i, cases[i].body, rc, err.msg, cases[i].want);
		arena_free(a);
	}
}

static json_t *parse_message(const char *body, const char *id)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct arena *a = arena_new();
	struct task_request r;
	char *msg = NULL;
	json_t *j;

	assert_ok_err(parse(&r, a, body, &err), &err);
	/* The fast path (no libyaml) and libyaml's agree on the message. */
	{
		struct task_request ry;

		assert_ok_err(payload_parse_yaml(&ry, a, &rules, body, strlen(body), &err), &err);
		assert_string_equal(ry.message, r.message);
		assert_string_equal(ry.queue, r.queue);
	}
	assert_ok_err(payload_message(&msg, &r, id, &err), &err);
	j = json_loads(msg, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "task_id")), id);
	/* What a worker will load: the suite in the message is a valid suite. */
	assert_ok_err(payload_suite_loads(json_object_get(j, "suite"), &err), &err);
	alts_free(msg);
	arena_free(a);
	return j;
}

/* Compares j with the JSON text want (key order aside). */
static void assert_json(json_t *j, const char *want)
{
	json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
	char *got = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	assert_non_null(got);
	assert_non_null(w);
	if (!json_equal(j, w))
		fail_msg("got %s\nwant %s", got, want);
	json_decref(w);
	free(got);
}

static void test_scheduler_payload__alts_payload_becomes_standard_suite(void **state)
{
	json_t *m = parse_message(
		"{\"runner_type\":\"any\",\"dist_name\":\"almalinux\",\"dist_version\":9,\"dist_arch\":\"arm64\","
		"\"package_name\":\"bash\",\"package_epoch\":\"1\","
		"\"repositories\":[{\"name\":\"base\",\"baseurl\":\"https://r.example/9/\"}],\"bs_task_id\":42,"
		"\"callback_href\":\"https://bs.example/cb\",\"module_name\":\"perl\",\"module_stream\":\"5.32\","
		"\"test_configuration\":{\"tests\":[{\"url\":\"https://g.example/t.git\",\"git_ref\":\"main\","
		"\"test_dir\":\"tests\",\"tests_to_run\":[\"a.sh\",\"b.sh\"]}]},\"package_version\":null}",
		"00000000-0000-4000-8000-000000000000");

	ALTS_UNUSED(state);
	assert_json(json_object_get(m, "queue"), "\"docker-aarch64-0\"");
	assert_json(json_object_get(m, "bs_task_id"), "\"42\"");
	assert_json(json_object_get(m, "callback_href"), "\"https://bs.example/cb\"");
	assert_json(json_object_get(m, "module"), "{\"name\":\"perl\",\"stream\":\"5.32\"}");
	assert_json(json_object_get(m, "suite"),
		    "{\"name\":\"bash\",\"packages\":[{\"name\":\"bash\",\"epoch\":\"1\"}],"
		    "\"repositories\":[{\"name\":\"base\",\"baseurl\":\"https://r.example/9/\"}],"
		    "\"environment\":{\"dist_name\":\"almalinux\",\"dist_version\":\"9\",\"dist_arch\":\"arm64\"},"
		    "\"checks\":[\"install\",\"integrity\","
		    "{\"script\":{\"git\":{\"url\":\"https://g.example/t.git\",\"ref\":\"main\",\"path\":\"tests/a.sh\"},"
		    "\"name\":\"third-party tests 1: tests/a.sh\"}},"
		    "{\"script\":{\"git\":{\"url\":\"https://g.example/t.git\",\"ref\":\"main\",\"path\":\"tests/b.sh\"},"
		    "\"name\":\"third-party tests 1: tests/b.sh\"}},\"uninstall\"]}");
	json_decref(m);
}

/*
 * Release builds do not load the generated suite again (debug builds do):
 * every shape of ALTS payload must give a suite that loads, with the task
 * id in its place.
 */
static void test_scheduler_payload__every_payload_shape_loads(void **state)
{
	static const char *const bodies[] = {
		"{" BASE ",\"package_name\":\"bash\"}",
		"{" BASE ",\"package_name\":\"perl-DBI\",\"package_version\":\"1.643-9.el9\",\"package_epoch\":2}",
		"{" BASE ",\"package_name\":\"lib+plus_1.0\",\"package_version\":\"1:2.3~rc1+dfsg-1\"}",
		"{" BASE ",\"package_name\":\"bash\",\"repositories\":[{\"url\":\"http://r/\"},"
		"{\"name\":\"b\",\"baseurl\":\"https://r/b/\"},{\"name\":\"c\",\"url\":\"ftp://r/c/\"}]}",
		"{" BASE ",\"package_name\":\"nodejs\",\"module_name\":\"nodejs\",\"module_stream\":\"18\","
		"\"module_version\":\"9020020230524\"}",
		"{" BASE ",\"package_name\":\"bash\",\"bs_task_id\":\"a-1_2\",\"callback_href\":\"http://bs/cb?x=1\"}",
		"{" BASE ",\"package_name\":\"bash\",\"test_configuration\":{\"tests\":[{\"url\":\"https://g/t.git\"},"
		"{\"url\":\"git@g.example:t.git\",\"git_ref\":\"v1\",\"test_dir\":\"a/b\","
		"\"tests_to_run\":[\"x.sh\",\"y/z.bats\"]}]}}",
		"{\"runner_type\":\"local\",\"dist_name\":\"debian\",\"dist_version\":12.5,\"dist_arch\":\"amd64\","
		"\"package_name\":\"hello\",\"package_version\":null,\"repositories\":[]}",
		"{\"runner_type\":\"any\",\"dist_name\":\"rocky\",\"dist_version\":\"8.10\",\"dist_arch\":\"ppc64le\","
		"\"package_name\":\"kernel-tools\"}",
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bodies); i++)
		json_decref(parse_message(bodies[i], "01890a5d-ac96-774b-bcce-b302099a8057"));
}

static void test_scheduler_payload__suite_as_text_and_object(void **state)
{
	json_t *m = parse_message("{\"suite\":\"name: s\\npackages: [bash]\\nenvironment: {dist_arch: amd64}\\n"
				  "checks:\\n  - install\\n  - launch:\\n      command: [bash, --version]\\n"
				  "      timeout: 1.50\\n\",\"runner_type\":\"local\"}",
				  "00000000-0000-4000-8000-000000000001");

	ALTS_UNUSED(state);
	assert_json(json_object_get(m, "queue"), "\"local-x86_64-0\"");
	/* Plain numbers other than integers keep their text. */
	assert_json(json_object_get(m, "suite"),
		    "{\"name\":\"s\",\"packages\":[\"bash\"],\"environment\":{\"dist_arch\":\"amd64\"},"
		    "\"checks\":[\"install\",{\"launch\":{\"command\":[\"bash\",\"--version\"],\"timeout\":\"1.50\"}}]}");
	json_decref(m);
	m = parse_message("{\"suite\":{\"packages\":[\"bash\"],\"checks\":[\"install\"]},\"dist_arch\":\"s390x\"}",
			  "00000000-0000-4000-8000-000000000002");
	assert_json(json_object_get(m, "queue"), "\"docker-s390x-0\"");
	assert_json(json_object_get(m, "suite"), "{\"packages\":[\"bash\"],\"checks\":[\"install\"]}");
	json_decref(m);
}

static void test_scheduler_payload__distribution_queues(void **state)
{
	struct payload_rules by_dist = rules;
	static const struct {
		const char *body, *queue;
	} cases[] = {
		{ "{" BASE ",\"package_name\":\"bash\",\"repositories\":[]}", "docker-x86_64-0.almalinux-9" },
		{ "{\"runner_type\":\"docker\",\"dist_name\":\"almalinux\",\"dist_version\":\"10-kitten\","
		  "\"dist_arch\":\"arm64\",\"package_name\":\"bash\",\"repositories\":[]}",
		  "docker-aarch64-0.almalinux-10-kitten" },
		/* A suite's environment.image wins over its distribution. */
		{ "{\"runner_type\":\"local\",\"suite\":{\"packages\":[\"bash\"],\"checks\":[\"install\"],"
		  "\"environment\":{\"dist_name\":\"debian\",\"dist_version\":12,\"image\":\"debian-12-rpm\","
		  "\"dist_arch\":\"x86_64\"}}}",
		  "local-x86_64-0.debian-12-rpm" },
		{ "{\"runner_type\":\"local\",\"suite\":{\"packages\":[\"bash\"],\"checks\":[\"install\"],"
		  "\"environment\":{\"dist_name\":\"Debian\",\"dist_version\":\"12\",\"dist_arch\":\"amd64\"}}}",
		  "local-x86_64-0.debian-12" },
		/* Nothing names a distribution: ALTS's name. */
		{ "{\"runner_type\":\"local\",\"dist_arch\":\"s390x\",\"suite\":{\"packages\":[\"bash\"],"
		  "\"checks\":[\"install\"]}}",
		  "local-s390x-0" },
	};

	ALTS_UNUSED(state);
	by_dist.distribution_queues = true;
	by_dist.cost = 0;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		struct alts_err err = ALTS_ERR_INIT;
		struct arena *a = arena_new();
		struct task_request r;

		assert_ok_err(payload_parse(&r, a, &by_dist, cases[i].body, strlen(cases[i].body), &err), &err);
		assert_string_equal(r.queue, cases[i].queue);
		assert_non_null(strstr(r.message, cases[i].queue));
		arena_free(a);
	}
	{
		static const char bad[] = "{\"runner_type\":\"local\",\"suite\":{\"packages\":[\"bash\"],"
					  "\"checks\":[\"install\"],\"environment\":{\"dist_name\":\"de bian\","
					  "\"dist_version\":\"12\",\"dist_arch\":\"x86_64\"}}}";
		struct alts_err err = ALTS_ERR_INIT;
		struct arena *a = arena_new();
		struct task_request r;

		assert_int_equal(payload_parse(&r, a, &by_dist, bad, strlen(bad), &err), ALTS_EINVALID);
		/* The suite loader refuses it first; payload.c would too, for the queue name. */
		if (!strstr(err.msg, "dist_name"))
			fail_msg("%s", err.msg);
		arena_free(a);
	}
}

static void test_scheduler_payload__alloc_failures_are_clean(void **state)
{
	static const char body[] = "{" BASE ",\"package_name\":\"bash\",\"repositories\":[{\"url\":\"http://r/\"}]}";
	unsigned long n;

	ALTS_UNUSED(state);
	alts_alloc_fail_at(0);
	{
		struct alts_err err = ALTS_ERR_INIT;
		struct arena *a = arena_new();
		struct task_request r;

		assert_ok_err(parse(&r, a, body, &err), &err);
		arena_free(a);
	}
	n = alts_alloc_fail_at(0);
	for (unsigned long i = 1; i <= n; i++) {
		struct alts_err err = ALTS_ERR_INIT;
		struct arena *a = arena_new();
		struct task_request r;
		int rc;

		if (!a)
			continue;
		alts_alloc_fail_at(i);
		rc = parse(&r, a, body, &err);
		alts_alloc_fail_at(0);
		assert_true(rc == 0 || rc == ALTS_ENOMEM || rc == ALTS_EINVALID);
		arena_free(a);
	}
}

/*
 * A suite sent to the farm names no path of the worker (absolute, '..',
 * local repositories and git URLs), and validating one never looks at the
 * scheduler's own files: /bin/true is no better than /no/such/file.
 */
static void test_scheduler_payload__farm_suites_name_no_host_path(void **state)
{
	static const char *const bad[] = {
		"{\"checks\":[{\"script\":{\"path\":\"/bin/true\"}}]}",
		"{\"checks\":[{\"script\":{\"path\":\"../../../../tmp/x.sh\"}}]}",
		"{\"checks\":[{\"script\":{\"path\":\"tests/../../x.sh\"}}]}",
		"{\"checks\":[{\"script\":{\"git\":{\"url\":\"file:///srv/git/t.git\"}}}]}",
		"{\"checks\":[{\"script\":{\"git\":{\"url\":\"/srv/git/t.git\"}}}]}",
		"{\"checks\":[{\"script\":{\"git\":{\"url\":\"./t.git\"}}}]}",
		"{\"packages\":[\"bash\"],\"repositories\":[\"file:///root\"],\"checks\":[\"install\"]}",
		"{\"packages\":[\"bash\"],\"repositories\":[\"/srv/repo\"],\"checks\":[\"install\"]}",
		"{\"packages\":[\"bash\"],\"repositories\":[\"deb [trusted=yes] file:/srv/repo ./\"],"
		"\"checks\":[\"install\"]}",
		"{\"packages\":[{\"name\":\"x\",\"file\":\"/var/cache/x.deb\"}],\"checks\":[\"install\"]}",
	};
	static const char *const good[] = {
		"{\"checks\":[{\"script\":{\"path\":\"tests/no-such-script.sh\"}}]}",
		"{\"checks\":[{\"script\":{\"git\":{\"url\":\"git@g.example:t.git\"}}}]}",
		"{\"checks\":[{\"script\":{\"git\":{\"url\":\"ssh://g.example/t.git\"}}}]}",
		"{\"packages\":[\"bash\"],\"repositories\":[\"deb [trusted=yes] http://r/ ./\"],"
		"\"checks\":[\"install\"]}",
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		struct alts_err err = ALTS_ERR_INIT;
		json_t *suite = json_loads(bad[i], 0, NULL);

		assert_non_null(suite);
		assert_int_not_equal(payload_suite_loads(suite, &err), 0);
		if (!strstr(err.msg, "farm"))
			fail_msg("%s: %s", bad[i], err.msg);
		json_decref(suite);
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(good); i++) {
		struct alts_err err = ALTS_ERR_INIT;
		json_t *suite = json_loads(good[i], 0, NULL);

		assert_non_null(suite);
		if (payload_suite_loads(suite, &err))
			fail_msg("%s: %s", good[i], err.msg);
		json_decref(suite);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scheduler_payload__routing_map),
		cmocka_unit_test(test_scheduler_payload__invalid_bodies),
		cmocka_unit_test(test_scheduler_payload__alts_payload_becomes_standard_suite),
		cmocka_unit_test(test_scheduler_payload__every_payload_shape_loads),
		cmocka_unit_test(test_scheduler_payload__suite_as_text_and_object),
		cmocka_unit_test(test_scheduler_payload__distribution_queues),
		cmocka_unit_test(test_scheduler_payload__alloc_failures_are_clean),
		cmocka_unit_test(test_scheduler_payload__farm_suites_name_no_host_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
