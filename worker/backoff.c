#include "framework/common.h"
#include "worker/backoff.h"

long worker_backoff_next(long cur)
{
	if (cur < WORKER_BACKOFF_MIN_MS)
		return WORKER_BACKOFF_MIN_MS;
	if (cur >= WORKER_BACKOFF_MAX_MS / 2)
		return WORKER_BACKOFF_MAX_MS;
	return cur * 2;
}
