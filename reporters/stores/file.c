#include "framework/common.h"
#include "reporters/stores/artifact_store_int.h"

/* Placeholder until the backend lands. */
static int file_open(struct artifact_store *s, struct alts_err *err)
{
	(void)s;
	return alts_err_set(err, ALTS_EINVALID, "result backend 'file' is not built yet");
}

static void file_close(struct artifact_store *s)
{
	(void)s;
}

const struct artifact_store_ops artifact_store_file_ops = { .name = "file", .open = file_open, .close = file_close };
