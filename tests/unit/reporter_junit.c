#include "tests/unit/helpers.h"

#include <unistd.h>

#include "reporters/reporter_int.h"
#include "tests/unit/report_fixture.h"

RF_OUTPUT_FILE_FIXTURE(xml_path, "report.xml")

#define assert_starts_with(text, prefix)                                              \
	do {                                                                          \
		if (strncmp((text), (prefix), strlen(prefix)))                        \
			fail_msg("expected start:\n%s\n--- got:\n%.300s", (prefix), (text)); \
	} while (0)

#define assert_contains(hay, needle)                                                 \
	do {                                                                         \
		if (!strstr((hay), (needle)))                                        \
			fail_msg("missing:\n%s\n--- in:\n%s", (needle), (hay));      \
	} while (0)

static char *junit_of(int only, size_t cap)
{
	struct reporter_opts opts = { .output_cap = cap };
	struct alts_err err = ALTS_ERR_INIT;
	char *out;

	assert_ok_err(rf_report("junit", opts, xml_path, only, &err), &err);
	out = rf_slurp(xml_path);
	assert_non_null(out);
	return out;
}

/* The element that starts with head, up to its closing tag. */
static char *element(const char *xml, const char *head, const char *close)
{
	const char *start = strstr(xml, head), *end;

	if (!start)
		fail_msg("no element '%s' in:\n%s", head, xml);
	end = strstr(start, close);
	assert_non_null(end);
	return alts_strndup(start, (size_t)(end - start) + strlen(close));
}

static void test_reporter_junit__root_counts_every_testcase(void **state)
{
	char *out = junit_of(0, 0);

	ALTS_UNUSED(state);
	assert_starts_with(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				  "<testsuites name=\"alts\" tests=\"22\" failures=\"7\" errors=\"1\" time=\"14.000\">\n");
	assert_string_equal(out + strlen(out) - 14, "</testsuites>\n");
	alts_free(out);
}

static void test_reporter_junit__suite_attributes_and_properties(void **state)
{
	char *out = junit_of(0, 0), *suite;
	char host[256] = "";

	ALTS_UNUSED(state);
	gethostname(host, sizeof(host) - 1);
	suite = element(out, "<testsuite name=\"alpha\"", ">");
	assert_contains(suite, " tests=\"20\" failures=\"7\" errors=\"0\" skipped=\"2\" time=\"12.500\""
			       " timestamp=\"2024-05-01T10:40:00+00:00\" hostname=\"");
	assert_contains(suite, host);
	assert_contains(suite, " file=\"suites/alpha.yaml\">");
	alts_free(suite);
	assert_contains(out, "<testsuite name=\"alpha\" tests=\"20\"");
	assert_contains(out, "    <properties>\n"
			     "      <property name=\"dist_name\" value=\"debian\"/>\n"
			     "      <property name=\"dist_version\" value=\"12\"/>\n"
			     "      <property name=\"dist_arch\" value=\"x86_64\"/>\n"
			     "      <property name=\"runner\" value=\"local\"/>\n"
			     "      <property name=\"packages\" value=\"hello\"/>\n"
			     "    </properties>\n    <testcase name=\"install\"");
	assert_contains(out, "<testsuite name=\"beta\" tests=\"2\" failures=\"0\" errors=\"1\" skipped=\"1\"");
	assert_contains(out, "      <property name=\"bail_out\" value=\"docker daemon not reachable\"/>\n");
	assert_contains(out, "    <system-err>alts: bail out: docker daemon not reachable</system-err>\n"
			     "  </testsuite>\n");
	alts_free(out);
}

static void test_reporter_junit__statuses_map_to_elements(void **state)
{
	char *out = junit_of(0, 0), *tc;

	ALTS_UNUSED(state);
	tc = element(out, "<testcase name=\"install\" classname=\"alpha.install\"", "</testcase>");
	assert_contains(tc, "time=\"0.250\">\n      <system-out>alts: log /var/tmp/alts/alpha/00-install.log\n"
			    "Setting up hello (2.10-3) ...\n</system-out>\n");
	assert_null(strstr(tc, "<failure"));
	alts_free(tc);
	tc = element(out, "<testcase name=\"optional #feature\"", "</testcase>");
	assert_contains(tc, "<skipped message=\"needs:root\"/>");
	alts_free(tc);
	tc = element(out, "<testcase name=\"known bug\" classname=\"alpha.script\"", "</testcase>");
	assert_contains(tc, "<system-out>alts: expected failure: exit code 2\n");
	assert_null(strstr(tc, "<failure"));
	alts_free(tc);
	tc = element(out, "<testcase name=\"flaky fixed\"", "</testcase>");
	assert_contains(tc, "<failure message=\"expected to fail, but passed\" type=\"xpass\">");
	alts_free(tc);
	tc = element(out, "<testcase name=\"install\" classname=\"beta.install\"", "</testcase>");
	assert_contains(tc, "<error message=\"runner &apos;docker&apos; failed: cannot start container\" "
			    "type=\"error\">docker: Cannot connect to the Docker daemon\n</error>");
	alts_free(tc);
	alts_free(out);
}

static void test_reporter_junit__parts_are_testcases_too(void **state)
{
	char *out = junit_of(1, 0);

	ALTS_UNUSED(state);
	assert_contains(out, "<testcase name=\"integrity\" classname=\"alpha.integrity\" time=\"2.750\">\n"
			     "      <failure message=\"1 of 5 integrity checks failed\" type=\"fail\">");
	assert_contains(out, "<testcase name=\"integrity / files present\" classname=\"alpha.integrity\" "
			     "time=\"0.010\">\n    </testcase>\n");
	assert_contains(out, "<testcase name=\"integrity / file modes\" classname=\"alpha.integrity\" time=\"0.010\">\n"
			     "      <failure message=\"/usr/bin/hello: mode 0777, expected 0755\" type=\"fail\">"
			     "  mode mismatch: /usr/bin/hello\n</failure>\n");
	assert_contains(out, "<testcase name=\"upstream tests / t/adv.t / localized #2\" classname=\"alpha.script\"");
	assert_contains(out, "<testcase name=\"upstream tests / t/skip.t\" classname=\"alpha.script\" time=\"0.010\">\n"
			     "      <skipped message=\"no network\"/>\n");
	alts_free(out);
}

static void test_reporter_junit__output_is_escaped_xml(void **state)
{
	char *out = junit_of(1, 0), *tc;
	size_t i, n;

	ALTS_UNUSED(state);
	tc = element(out, "<testcase name=\"launch hello\"", "</testcase>");
	assert_contains(tc, "<failure message=\"exit code 1\" type=\"fail\">"
			    "Starting hello &amp; &lt;friends&gt; \"quoted\" 'single'\n"
			    "&lt;![CDATA[]]&gt; and ]]&gt; and &lt;![CDATA[ nested ]]&gt;\n");
	assert_contains(tc, "\tline with a tab, a bell , esc red, ctrl , del \n");
	assert_contains(tc, "bad utf-8 \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd( | good: caf\xc3\xa9 ");
	assert_contains(tc, "formfeed and vt and nul-free end\n");  /* CR LF is LF: no "&#13;" in CI viewers */
	assert_null(strstr(out, "&#13;"));
	assert_null(strstr(out, "CDATA[]]>"));
	n = strlen(out);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 && c != '\n' && c != '\t')
			fail_msg("control character 0x%02x at byte %zu", c, i);
	}
	alts_free(tc);
	alts_free(out);
}

static void test_reporter_junit__attributes_keep_whitespace(void **state)
{
	struct reporter_opts opts = { .path = xml_path };
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_set *set = NULL;
	struct rf_run run;
	char *out;

	ALTS_UNUSED(state);
	rf_run_init(&run, 1);
	run.results[0]->checks[1].message = "line\none\t\"two\" <&>";
	assert_int_equal(reporter_set_new(&set), 0);
	assert_ok_err(reporter_set_add(set, "junit", &opts, &err), &err);
	assert_ok_err(rf_emit(set, &run, &err), &err);
	reporter_set_free(set);
	rf_run_release(&run);
	out = rf_slurp(xml_path);
	assert_contains(out, "<failure message=\"line&#10;one&#9;&quot;two&quot; &lt;&amp;&gt;\" type=\"fail\">");
	alts_free(out);
}

static void test_reporter_junit__output_cap_keeps_the_tail(void **state)
{
	char *out = junit_of(1, 12);

	ALTS_UNUSED(state);
	assert_contains(out, "<system-out>alts: log /var/tmp/alts/alpha/00-install.log\n"
			     "[alts: 18 bytes of output omitted]\n2.10-3) ...\n</system-out>");
	alts_free(out);
}

static void test_reporter_junit__default_path_is_report_xml(void **state)
{
	struct reporter_opts opts = { 0 };
	struct alts_err err = ALTS_ERR_INIT;
	char cwd[PATH_MAX], *out, *dir = alts_strdup(xml_path);

	ALTS_UNUSED(state);
	*strrchr(dir, '/') = '\0';
	remove(xml_path);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_ok_err(rf_report("junit", opts, NULL, 2, &err), &err);
	out = rf_slurp("report.xml");
	assert_int_equal(chdir(cwd), 0);
	assert_non_null(out);
	assert_contains(out, "<testsuite name=\"beta\"");
	alts_free(out);
	alts_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_reporter_junit__root_counts_every_testcase),
		T(test_reporter_junit__suite_attributes_and_properties),
		T(test_reporter_junit__statuses_map_to_elements),
		T(test_reporter_junit__parts_are_testcases_too),
		T(test_reporter_junit__output_is_escaped_xml),
		T(test_reporter_junit__attributes_keep_whitespace),
		T(test_reporter_junit__output_cap_keeps_the_tail),
		T(test_reporter_junit__default_path_is_report_xml),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
