/* libFuzzer: the worker's task message decoder (farm/msg.c), as a delivery gives it. */
#include "framework/common.h"
#include "farm/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct task_msg m = TASK_MSG_INIT;
	char *bad_id = NULL;

	(void)task_msg_parse(&m, &bad_id, (const char *)data, size, size & 1 ? "fuzz-id" : NULL, &err);
	task_msg_release(&m);
	alts_free(bad_id);
	return 0;
}
