#include "tests/unit/helpers.h"

#include <jansson.h>

#include "reporters/reporter_int.h"
#include "tests/unit/report_fixture.h"

RF_OUTPUT_FILE_FIXTURE(json_path, "result.json")

static json_t *doc_load(const char *path)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);

	if (!doc)
		fail_msg("invalid JSON in '%s': %s at line %d", path, jerr.text, jerr.line);
	return doc;
}

/* The fixture's JSON document, parsed. */
static json_t *doc_of(int only, size_t cap)
{
	struct reporter_opts opts = { .output_cap = cap };
	struct alts_err err = ALTS_ERR_INIT;

	assert_ok_err(rf_report("json", opts, json_path, only, &err), &err);
	return doc_load(json_path);
}

/* The value at a path: keys separated by '/', "#2" indexes an array. */
static json_t *at(json_t *doc, const char *path)
{
	char *copy = alts_strdup(path), *part, *save = NULL;
	json_t *v = doc;

	for (part = strtok_r(copy, "/", &save); part && v; part = strtok_r(NULL, "/", &save))
		v = part[0] == '#' ? json_array_get(v, strtoul(part + 1, NULL, 10)) : json_object_get(v, part);
	alts_free(copy);
	if (!v)
		fail_msg("no value at '%s'", path);
	return v;
}

static void assert_str_at(json_t *doc, const char *path, const char *want)
{
	json_t *v = at(doc, path);

	if (!json_is_string(v) || strcmp(json_string_value(v), want))
		fail_msg("%s: expected \"%s\", got %s", path, want,
			 json_is_string(v) ? json_string_value(v) : "a non-string");
}

static void assert_bool_at(json_t *doc, const char *path, bool want)
{
	json_t *v = at(doc, path);

	if (!json_is_boolean(v) || json_is_true(v) != want)
		fail_msg("%s: expected %s", path, want ? "true" : "false");
}

static void assert_num_at(json_t *doc, const char *path, double want)
{
	json_t *v = at(doc, path);

	if (!json_is_number(v) || json_number_value(v) != want)
		fail_msg("%s: expected %g, got %g", path, want, json_number_value(v));
}

static void assert_null_at(json_t *doc, const char *path)
{
	if (!json_is_null(at(doc, path)))
		fail_msg("%s: expected null", path);
}

static void test_reporter_json__single_suite_is_an_alts_result(void **state)
{
	json_t *doc = doc_of(1, 0);

	ALTS_UNUSED(state);
	assert_str_at(doc, "api_version", "1");
	assert_bool_at(doc, "result/install_package/success", true);
	assert_str_at(doc, "result/install_package/log", "00-install.log");
	assert_bool_at(doc, "result/launch/success", false);
	assert_bool_at(doc, "result/launch_2/success", true);
	assert_bool_at(doc, "result/package_integrity_tests/success", false);
	assert_bool_at(doc, "result/uninstall_package/success", true);
	assert_str_at(doc, "result/logs/05-integrity.log", "/var/tmp/alts/alpha/05-integrity.log");
	assert_null(json_object_get(doc, "suites"));
	json_decref(doc);
}

static void test_reporter_json__scripts_are_third_party_tests(void **state)
{
	json_t *doc = doc_of(1, 0);

	ALTS_UNUSED(state);
	assert_bool_at(doc, "result/tests/known bug/success", true);
	assert_str_at(doc, "result/tests/known bug/output", "known failure\n");
	assert_str_at(doc, "result/tests/known bug/log", "03-script.log");
	assert_bool_at(doc, "result/tests/flaky fixed/success", false);
	assert_str_at(doc, "result/tests/flaky fixed/output", "");
	assert_bool_at(doc, "result/tests/upstream tests/success", false);
	assert_bool_at(doc, "result/third_party/upstream tests/success", false);
	assert_int_equal(json_object_size(at(doc, "result/tests")), 3);
	json_decref(doc);
}

static void test_reporter_json__integrity_parts_are_listed(void **state)
{
	json_t *doc = doc_of(1, 0);

	ALTS_UNUSED(state);
	assert_int_equal(json_object_size(at(doc, "result/package_integrity_tests/tests")), 5);
	assert_bool_at(doc, "result/package_integrity_tests/tests/checksums/success", true);
	assert_bool_at(doc, "result/package_integrity_tests/tests/file modes/success", false);
	assert_str_at(doc, "result/package_integrity_tests/tests/file modes/output",
		      "  mode mismatch: /usr/bin/hello\n");
	json_decref(doc);
}

static void test_reporter_json__stats_time_each_stage(void **state)
{
	json_t *doc = doc_of(1, 0);

	ALTS_UNUSED(state);
	assert_num_at(doc, "stats/install_package/start_ts", RF_T0);
	assert_num_at(doc, "stats/install_package/finish_ts", RF_T0 + 0.25);
	assert_num_at(doc, "stats/install_package/delta", 0.25);
	assert_num_at(doc, "stats/launch_2/delta", 1.25);
	assert_num_at(doc, "stats/upstream tests/delta", 3.25);
	json_decref(doc);
}

static void test_reporter_json__alts_key_has_everything(void **state)
{
	json_t *doc = doc_of(1, 0);
	json_t *suite;

	ALTS_UNUSED(state);
	assert_str_at(doc, "alts/version", ALTS_VERSION);
	assert_num_at(doc, "alts/summary/failed", 4);
	assert_num_at(doc, "alts/summary/exit_code", 1);
	suite = at(doc, "alts/suites/#0");
	assert_str_at(suite, "name", "alpha");
	assert_str_at(suite, "path", "suites/alpha.yaml");
	assert_str_at(suite, "runner", "local");
	assert_str_at(suite, "dist/name", "debian");
	assert_str_at(suite, "dist/arch", "x86_64");
	assert_str_at(suite, "packages/#0/name", "hello");
	assert_num_at(suite, "counts/passed", 3);
	assert_num_at(suite, "counts/skipped", 1);
	assert_null_at(suite, "bail_out");
	assert_int_equal(json_array_size(at(suite, "checks")), 8);
	assert_str_at(suite, "checks/#1/type", "launch");
	assert_str_at(suite, "checks/#1/status", "fail");
	assert_num_at(suite, "checks/#1/exit_code", 1);
	assert_null_at(suite, "checks/#1/signal");
	assert_bool_at(suite, "checks/#1/timed_out", false);
	assert_str_at(suite, "checks/#1/log", "/var/tmp/alts/alpha/01-launch.log");
	assert_str_at(suite, "checks/#3/status", "xfail");
	assert_str_at(suite, "checks/#4/status", "xpass");
	assert_null_at(suite, "checks/#2/exit_code");
	assert_str_at(suite, "checks/#6/subs/#1/subs/#1/name", "localized #2");
	assert_str_at(suite, "checks/#6/subs/#1/subs/#1/status", "fail");
	assert_str_at(suite, "checks/#6/subs/#1/subs/#1/message", "got 'hello', expected 'bonjour'");
	json_decref(doc);
}

static void test_reporter_json__output_keeps_bytes_as_valid_utf8(void **state)
{
	json_t *doc = doc_of(1, 0);
	const char *out;

	ALTS_UNUSED(state);
	out = json_string_value(at(doc, "alts/suites/#0/checks/#1/output"));
	assert_non_null(out);
	/* control characters survive (escaped by JSON), invalid bytes become U+FFFD */
	assert_non_null(strstr(out, "esc \033[31mred\033[0m, ctrl \001\002\037, del \177\n"));
	assert_non_null(strstr(out, "bad utf-8 \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd( | good: caf\xc3\xa9 "));
	assert_non_null(strstr(out, "<![CDATA[]]>"));
	json_decref(doc);
}

static void test_reporter_json__several_suites_list_documents(void **state)
{
	json_t *doc = doc_of(0, 0);

	ALTS_UNUSED(state);
	assert_str_at(doc, "api_version", "1");
	assert_int_equal(json_array_size(at(doc, "suites")), 2);
	assert_str_at(doc, "suites/#0/api_version", "1");
	assert_bool_at(doc, "suites/#0/result/install_package/success", true);
	assert_bool_at(doc, "suites/#1/result/install_package/success", false);
	assert_str_at(doc, "suites/#1/alts/suites/#0/bail_out", "docker daemon not reachable");
	assert_str_at(doc, "suites/#1/alts/suites/#0/checks/#0/status", "error");
	assert_null(json_object_get(at(doc, "suites/#0/alts"), "summary"));
	assert_num_at(doc, "summary/suites", 2);
	assert_num_at(doc, "summary/passed", 3);
	assert_num_at(doc, "summary/failed", 4);
	assert_num_at(doc, "summary/skipped", 2);
	assert_num_at(doc, "summary/errors", 1);
	assert_num_at(doc, "summary/exit_code", 3);
	assert_null(json_object_get(doc, "result"));
	json_decref(doc);
}

static void test_reporter_json__output_cap_keeps_the_tail(void **state)
{
	json_t *doc = doc_of(1, 12);

	ALTS_UNUSED(state);
	assert_str_at(doc, "alts/suites/#0/checks/#0/output", "2.10-3) ...\n");
	assert_num_at(doc, "alts/suites/#0/checks/#0/output_omitted_bytes", 18);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_reporter_json__single_suite_is_an_alts_result),
		T(test_reporter_json__scripts_are_third_party_tests),
		T(test_reporter_json__integrity_parts_are_listed),
		T(test_reporter_json__stats_time_each_stage),
		T(test_reporter_json__alts_key_has_everything),
		T(test_reporter_json__output_keeps_bytes_as_valid_utf8),
		T(test_reporter_json__several_suites_list_documents),
		T(test_reporter_json__output_cap_keeps_the_tail),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
