#include "framework/common.h"
#include "reporters/stores/artifact_store_int.h"

/* Placeholder until the backend lands. */
static int s3_open(struct artifact_store *s, struct alts_err *err)
{
	(void)s;
	return alts_err_set(err, ALTS_EINVALID, "result backend 's3' is not built yet");
}

static void s3_close(struct artifact_store *s)
{
	(void)s;
}

const struct artifact_store_ops artifact_store_s3_ops = { .name = "s3", .open = s3_open, .close = s3_close };
