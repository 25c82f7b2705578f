/* libFuzzer: the scheduler's JSON payload validator and the queue message made from it. */
#include "framework/common.h"
#include "framework/arena.h"
#include "scheduler/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *arches[] = { "x86_64", "aarch64" }, *runners[] = { "docker", "local" },
			  *dists[] = { "almalinux", "debian" };
	static const struct strlist la = { arches, 2 }, lr = { runners, 2 }, ld = { dists, 2 };
	struct payload_rules rules = { &la, &lr, &ld, 0 };
	struct alts_err err = ALTS_ERR_INIT;
	struct arena *a = arena_new();
	struct task_request tr;
	char *msg = NULL;

	if (!a)
		return 0;
	if (!payload_parse(&tr, a, &rules, (const char *)data, size, &err) &&
	    !payload_message(&msg, &tr, "00000000-0000-7000-8000-000000000000", &err))
		alts_free(msg);
	arena_free(a);
	return 0;
}
