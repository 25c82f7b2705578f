/* Unit tests for worker/wlog.c: logfmt values. */
#include "helpers.h"
#include "worker/wlog.h"

static void test_worker_wlog__quote(void **state)
{
	char buf[32];

	ALTS_UNUSED(state);
	assert_string_equal(wlog_quote(buf, sizeof(buf), "plain-word_1.2"), "plain-word_1.2");
	assert_string_equal(wlog_quote(buf, sizeof(buf), "say hello"), "\"say hello\"");
	assert_string_equal(wlog_quote(buf, sizeof(buf), "a=\"b\\c\""), "\"a=\\\"b\\\\c\\\"\"");
	assert_string_equal(wlog_quote(buf, sizeof(buf), "tab\there"), "\"tab here\"");
	assert_string_equal(wlog_quote(buf, sizeof(buf), ""), "\"\"");
	assert_string_equal(wlog_quote(buf, sizeof(buf), NULL), "\"\"");
	/* Cut to fit, still closed. */
	assert_string_equal(wlog_quote(buf, 8, "a b c d e f"), "\"a b c\"");
	assert_string_equal(wlog_quote(buf, 7, "a b c d e f"), "\"a b \"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_wlog__quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
