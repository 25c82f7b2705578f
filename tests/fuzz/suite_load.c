/* libFuzzer: the suite loader (YAML or JSON text to a validated suite). */
#include "framework/common.h"
#include "engine/suite_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct suite *s = NULL;

	if (!suite_load_buffer(&s, "fuzz.yaml", "/nonexistent", (const char *)data, size, &err))
		suite_free(s);
	return 0;
}
