#include "framework/common.h"
#include "reporters/stores/artifact_store_int.h"

/* Placeholder until the backend lands. */
static int azure_open(struct artifact_store *s, struct alts_err *err)
{
	(void)s;
	return alts_err_set(err, ALTS_EINVALID, "result backend 'azureblockblob' is not built yet");
}

static void azure_close(struct artifact_store *s)
{
	(void)s;
}

const struct artifact_store_ops artifact_store_azure_ops = { .name = "azureblockblob", .open = azure_open, .close = azure_close };
