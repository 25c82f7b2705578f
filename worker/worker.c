#include "worker/worker.h"

int worker_placeholder(void)
{
	return 0;
}
