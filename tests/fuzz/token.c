/* libFuzzer: the bearer token checks (shape, then libjwt, header and claims) of the scheduler. */
#include "framework/common.h"
#include "scheduler/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alts_err err = ALTS_ERR_INIT;
	char *header = alts_malloc(size + 8);

	if (!header)
		return 0;
	memcpy(header, "Bearer ", 7);
	memcpy(header + 7, data, size);
	header[size + 7] = '\0';
	(void)auth_verify_header(header, "fuzz-secret", "HS256", 1700000000, &err);
	alts_free(header);
	return 0;
}
