/* libFuzzer: the TAP parser and the failure summary built from what it parsed. */
#include "framework/common.h"
#include "framework/arena.h"
#include "checks/tap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct tap_doc *d;

	if (!a)
		return 0;
	(void)tap_detect((const char *)data, size);
	d = tap_parse(a, (const char *)data, size);
	if (d) {
		(void)tap_failure(a, d);
		for (size_t i = 0; i < d->ntests; i++)
			(void)tap_test_name(a, &d->tests[i]);
	}
	arena_free(a);
	return 0;
}
