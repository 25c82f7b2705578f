#include "tests/unit/helpers.h"

#include <unistd.h>

#include "reporters/reporter_int.h"
#include "tests/unit/report_fixture.h"

RF_OUTPUT_FILE_FIXTURE(html_path, "report.html")

#define assert_contains(hay, needle)                                                 \
	do {                                                                         \
		if (!strstr((hay), (needle)))                                        \
			fail_msg("missing:\n%s\n--- in:\n%s", (needle), (hay));      \
	} while (0)

#define assert_lacks(hay, needle)                                                    \
	do {                                                                         \
		if (strstr((hay), (needle)))                                         \
			fail_msg("unexpected:\n%s\n--- in:\n%.2000s", (needle), (hay)); \
	} while (0)

static char *html_of(int only, size_t cap)
{
	struct reporter_opts opts = { .output_cap = cap };
	struct alts_err err = ALTS_ERR_INIT;
	char *out;

	assert_ok_err(rf_report("html", opts, html_path, only, &err), &err);
	out = rf_slurp(html_path);
	assert_non_null(out);
	return out;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

/* From the first occurrence of head up to the end of close. */
static char *element(const char *html, const char *head, const char *close)
{
	const char *start = strstr(html, head), *end;

	if (!start)
		fail_msg("no element '%s' in:\n%.3000s", head, html);
	end = strstr(start, close);
	assert_non_null(end);
	return alts_strndup(start, (size_t)(end - start) + strlen(close));
}

/* The invariant of every page: a whole document that loads nothing from elsewhere. */
static void assert_html_invariants(const char *out)
{
	static const char *const pairs[][2] = {
		{ "<html", "</html>" }, { "<head>", "</head>" }, { "<body>", "</body>" },
		{ "<section", "</section>" }, { "<table", "</table>" }, { "<tr", "</tr>" },
		{ "<td", "</td>" }, { "<thead>", "</thead>" }, { "<details", "</details>" },
		{ "<summary>", "</summary>" }, { "<pre>", "</pre>" }, { "<script>", "</script>" },
		{ "<style>", "</style>" }, { "<a ", "</a>" },
	};
	static const char *const external[] = { "http:", "https:", "//cdn", " src=", "<link", "@import", "url(" };
	size_t i, n = strlen(out);

	if (strncmp(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", 60))
		fail_msg("bad start:\n%.200s", out);
	assert_string_equal(out + n - 16, "</body>\n</html>\n");
	assert_contains(out, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
			     "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">");
	for (i = 0; i < ALTS_ARRAY_SIZE(pairs); i++)
		if (count(out, pairs[i][0]) != count(out, pairs[i][1]))
			fail_msg("%zu '%s' but %zu '%s'", count(out, pairs[i][0]), pairs[i][0],
				 count(out, pairs[i][1]), pairs[i][1]);
	for (i = 0; i < ALTS_ARRAY_SIZE(external); i++)
		assert_lacks(out, external[i]);
	assert_int_equal(count(out, "<script>"), 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			fail_msg("control character 0x%02x at byte %zu", c, i);
	}
}

static void test_reporter_html__page_is_whole_and_self_contained(void **state)
{
	char *out = html_of(0, 0);

	ALTS_UNUSED(state);
	assert_html_invariants(out);
	alts_free(out);
	out = html_of(2, 0);
	assert_html_invariants(out);
	alts_free(out);
}

static void test_reporter_html__summary_line_and_title(void **state)
{
	char *out = html_of(0, 0);

	ALTS_UNUSED(state);
	assert_contains(out, "<title>alts: ERROR, 3 passed, 4 failed, 2 skipped, 1 error</title>");
	assert_contains(out, "<header class=\"error\">\n<h1>alts report <span class=\"badge error\">ERROR</span></h1>\n"
			     "<p class=\"summary\" id=\"summary\">2 suites: 3 passed, 4 failed, 2 skipped, 1 error"
			     " in 14.00s</p>\n<p class=\"meta\">started 2024-05-01T10:40:00+00:00 on ");
	alts_free(out);
	out = html_of(1, 0);
	assert_contains(out, "<title>alts: FAILED, 3 passed, 4 failed, 1 skipped</title>");
	assert_contains(out, "<p class=\"summary\" id=\"summary\">1 suite: 3 passed, 4 failed, 1 skipped in 14.00s</p>");
	alts_free(out);
}

static void test_reporter_html__overview_has_a_chip_per_check(void **state)
{
	char *out = html_of(0, 0), *row;

	ALTS_UNUSED(state);
	row = element(out, "<tr class=\"fail problem\"><td><a href=\"#s1\">alpha</a>", "</tr>");
	assert_contains(row, "<td>debian 12 x86_64</td><td>local</td>");
	assert_contains(row, "<a class=\"chip pass\" href=\"#s1-c1\" title=\"install: pass\">1</a>"
			     "<a class=\"chip fail\" href=\"#s1-c2\" title=\"launch hello: fail\">2</a>"
			     "<a class=\"chip skip\" href=\"#s1-c3\" title=\"optional #feature: skip\">3</a>");
	assert_int_equal(count(row, "class=\"chip "), 8);
	assert_contains(row, "<span class=\"badge fail\">FAILED</span> 3 passed, 4 failed, 1 skipped</td>"
			     "<td class=\"duration\">12.50s</td>");
	alts_free(row);
	row = element(out, "<tr class=\"error problem\"><td><a href=\"#s2\">beta</a>", "</tr>");
	assert_contains(row, "<td>almalinux 9 aarch64</td><td>docker</td>");
	assert_contains(row, "<a class=\"chip error\" href=\"#s2-c1\" title=\"install: error\">1</a>");
	alts_free(row);
	alts_free(out);
}

static void test_reporter_html__one_row_per_check_and_part(void **state)
{
	char *out = html_of(0, 0);

	ALTS_UNUSED(state);
	assert_int_equal(count(out, "<table class=\"checks\">"), 2);
	assert_int_equal(count(out, "<tr class=\"check "), 10);
	/* integrity: 5 parts; upstream tests: 3 parts with 2 + 2 parts of their own */
	assert_int_equal(count(out, "<tr class=\"part "), 12);
	assert_contains(out, "<tr class=\"part fail problem\" data-status=\"fail\"><td class=\"num\"></td>"
			     "<td class=\"name\" style=\"padding-left:5em\">localized #2</td><td class=\"type\"></td>"
			     "<td class=\"status\"><span class=\"badge fail\">FAIL</span></td>"
			     "<td class=\"duration\">0.01s</td><td class=\"details\"><div class=\"message\">"
			     "got &#39;hello&#39;, expected &#39;bonjour&#39;</div></td></tr>\n");
	alts_free(out);
}

static void test_reporter_html__failed_check_is_marked_and_open(void **state)
{
	char *out = html_of(1, 0), *row;

	ALTS_UNUSED(state);
	row = element(out, "<tr class=\"check fail problem\" data-status=\"fail\" id=\"s1-c2\">", "</tr>");
	assert_contains(row, "<td class=\"num\">2</td><td class=\"name\">launch hello</td><td class=\"type\">launch</td>"
			     "<td class=\"status\"><span class=\"badge fail\">FAIL</span></td>"
			     "<td class=\"duration\">0.75s</td><td class=\"details\"><div class=\"message\">exit code 1</div>"
			     "<details class=\"log\" open><summary>output (");
	assert_contains(row, " bytes) · log <code>/var/tmp/alts/alpha/01-launch.log</code></summary><pre>Starting hello");
	alts_free(row);
	/* a passing check keeps its output folded */
	row = element(out, "<tr class=\"check pass ok\" data-status=\"pass\" id=\"s1-c1\">", "</tr>");
	assert_contains(row, "<details class=\"log\"><summary>output (30 bytes) · log <code>");
	assert_contains(row, "<pre>Setting up hello (2.10-3) ...\n</pre></details>");
	alts_free(row);
	alts_free(out);
}

static void test_reporter_html__every_status_has_text_and_colour(void **state)
{
	char *out = html_of(0, 0), *row;

	ALTS_UNUSED(state);
	row = element(out, "id=\"s1-c3\">", "</tr>");
	assert_contains(row, "<span class=\"badge skip\">SKIP</span>");
	assert_contains(row, "<div class=\"message\">needs:root</div>");
	alts_free(row);
	row = element(out, "id=\"s1-c4\">", "</tr>");
	assert_contains(row, "<span class=\"badge xfail\">XFAIL</span>");
	assert_contains(row, "<div class=\"message\">expected failure: exit code 2</div><details class=\"log\"><summary>");
	alts_free(row);
	row = element(out, "id=\"s1-c5\">", "</tr>");
	assert_contains(row, "<span class=\"badge xpass\">XPASS</span>");
	assert_contains(row, "<div class=\"message\">expected to fail, but passed</div>"
			     "<div class=\"log\">no output · log <code>/var/tmp/alts/alpha/04-script.log</code></div>");
	assert_lacks(row, "<details");
	alts_free(row);
	assert_contains(out, "<tr class=\"check error problem\" data-status=\"error\" id=\"s2-c1\">");
	assert_contains(out, "<span class=\"badge error\">ERROR</span>");
	assert_contains(out, "<p class=\"bail\">bail out: docker daemon not reachable</p>");
	assert_contains(out, ".badge.pass{background:var(--pass)}");
	assert_contains(out, "--pass:#1a7f37;--fail:#cf222e;");
	alts_free(out);
}

static void test_reporter_html__output_is_escaped(void **state)
{
	char *out = html_of(1, 0), *pre;

	ALTS_UNUSED(state);
	pre = element(out, "<pre>Starting hello", "</pre>");
	assert_contains(pre, "<pre>Starting hello &amp; &lt;friends&gt; &quot;quoted&quot; &#39;single&#39;\n"
			     "&lt;![CDATA[]]&gt; and ]]&gt; and &lt;![CDATA[ nested ]]&gt;\n...\n---\n"
			     "Bail out! this is output, not TAP\n");
	assert_contains(pre, "\tline with a tab, a bell , esc red, ctrl , del \n");
	assert_contains(pre, "bad utf-8 \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd( | good: caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\n");
	assert_contains(pre, "formfeed and vt and nul-free end\nhello: error: cannot open display\n</pre>");
	assert_lacks(out, "<friends>");
	assert_html_invariants(out);
	alts_free(pre);
	alts_free(out);
}

static void test_reporter_html__names_and_messages_are_escaped(void **state)
{
	struct reporter_opts opts = { .path = html_path };
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_set *set = NULL;
	struct rf_run run;
	char *out;

	ALTS_UNUSED(state);
	rf_run_init(&run, 1);
	run.suites[0]->name = "<b>suite</b> & co";
	run.results[0]->checks[1].name = "launch \"<img src=x onerror=alert(1)>\"";
	run.results[0]->checks[1].message = "line\r\none <script>alert('x')</script>";
	assert_int_equal(reporter_set_new(&set), 0);
	assert_ok_err(reporter_set_add(set, "html", &opts, &err), &err);
	assert_ok_err(rf_emit(set, &run, &err), &err);
	reporter_set_free(set);
	rf_run_release(&run);
	out = rf_slurp(html_path);
	assert_contains(out, "<h2>&lt;b&gt;suite&lt;/b&gt; &amp; co <span class=\"badge fail\">FAILED</span></h2>");
	assert_contains(out, "<td class=\"name\">launch &quot;&lt;img src=x onerror=alert(1)&gt;&quot;</td>");
	assert_contains(out, "title=\"launch &quot;&lt;img src=x onerror=alert(1)&gt;&quot;: fail\"");
	assert_contains(out, "<div class=\"message\">line\none &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</div>");
	assert_int_equal(count(out, "<script>"), 1);
	assert_int_equal(count(out, "<img"), 0);
	alts_free(out);
}

static void test_reporter_html__output_cap_keeps_the_tail(void **state)
{
	char *out = html_of(1, 40), *pre;

	ALTS_UNUSED(state);
	pre = element(out, "<details class=\"log\" open><summary>output (", "</details>");
	assert_contains(pre, ", tail shown) · log <code>/var/tmp/alts/alpha/01-launch.log</code></summary>"
			     "<pre>[alts: ");
	assert_contains(pre, " bytes of output omitted]\n");
	assert_contains(pre, "hello: error: cannot open display\n</pre>");
	assert_lacks(pre, "Starting hello");
	alts_free(pre);
	/* each check is capped on its own */
	assert_contains(out, "<pre>Setting up hello (2.10-3) ...\n</pre>");
	alts_free(out);
}

static void test_reporter_html__default_path_and_open_error(void **state)
{
	struct reporter_opts opts = { 0 };
	struct reporter_set *set = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	char cwd[PATH_MAX], *out, *dir = alts_strdup(html_path);

	ALTS_UNUSED(state);
	*strrchr(dir, '/') = '\0';
	remove(html_path);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_ok_err(rf_report("html", opts, NULL, 2, &err), &err);
	out = rf_slurp("report.html");
	assert_int_equal(chdir(cwd), 0);
	assert_non_null(out);
	assert_contains(out, "<a href=\"#s1\">beta</a>");
	alts_free(out);
	alts_free(dir);

	opts.path = "/nonexistent-dir/report.html";
	assert_int_equal(reporter_set_new(&set), 0);
	assert_int_equal(reporter_set_add(set, "html", &opts, &err), ALTS_ERROR);
	assert_non_null(strstr(err.msg, "cannot open '/nonexistent-dir/report.html' for writing: "));
	reporter_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_reporter_html__page_is_whole_and_self_contained),
		T(test_reporter_html__summary_line_and_title),
		T(test_reporter_html__overview_has_a_chip_per_check),
		T(test_reporter_html__one_row_per_check_and_part),
		T(test_reporter_html__failed_check_is_marked_and_open),
		T(test_reporter_html__every_status_has_text_and_colour),
		T(test_reporter_html__output_is_escaped),
		T(test_reporter_html__names_and_messages_are_escaped),
		T(test_reporter_html__output_cap_keeps_the_tail),
		T(test_reporter_html__default_path_and_open_error),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
