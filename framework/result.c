#include "framework/common.h"
#include "framework/result.h"

static const char *const status_names[] = {
	[CHECK_PASS] = "pass",
	[CHECK_FAIL] = "fail",
	[CHECK_SKIP] = "skip",
	[CHECK_ERROR] = "error",
	[CHECK_XFAIL] = "xfail",
	[CHECK_XPASS] = "xpass",
};

const char *check_status_name(enum check_status s)
{
	if ((size_t)s >= ALTS_ARRAY_SIZE(status_names))
		return "unknown";
	return status_names[s];
}

bool check_status_is_failure(enum check_status s)
{
	return s == CHECK_FAIL || s == CHECK_ERROR || s == CHECK_XPASS;
}

/*
 * Arena memory cannot be resized, so the array doubles: its capacity is
 * implied by its length (4, then the next power of two), which is why
 * only this function may grow it.
 */
static bool sub_array_full(size_t n)
{
	return n == 0 || (n >= 4 && (n & (n - 1)) == 0);
}

struct check_sub *check_sub_add(struct arena *a, struct check_sub **subs, size_t *nsubs,
				const char *name, enum check_status status, const char *message)
{
	size_t n = *nsubs;
	struct check_sub *sub;

	if (sub_array_full(n)) {
		size_t cap = n ? n * 2 : 4;
		struct check_sub *grown;

		if (cap > SIZE_MAX / sizeof(*grown))
			return NULL;
		grown = arena_alloc(a, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		if (n)
			memcpy(grown, *subs, n * sizeof(*grown));
		*subs = grown;
	}
	sub = &(*subs)[n];
	memset(sub, 0, sizeof(*sub));
	sub->name = arena_strdup(a, name ? name : "");
	if (!sub->name)
		return NULL;
	if (message) {
		sub->message = arena_strdup(a, message);
		if (!sub->message)
			return NULL;
	}
	sub->status = status;
	*nsubs = n + 1;
	return sub;
}

void suite_result_count(struct suite_result *sr)
{
	size_t i;

	sr->passed = sr->failed = sr->skipped = sr->errors = 0;
	for (i = 0; i < sr->nchecks; i++) {
		switch (sr->checks[i].status) {
		case CHECK_PASS:
		case CHECK_XFAIL:
			sr->passed++;
			break;
		case CHECK_FAIL:
		case CHECK_XPASS:
			sr->failed++;
			break;
		case CHECK_SKIP:
			sr->skipped++;
			break;
		case CHECK_ERROR:
			sr->errors++;
			break;
		}
	}
}
