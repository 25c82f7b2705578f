#include <stdio.h>

#include "worker/worker.h"

int main(void)
{
	fputs("alts-worker: not built yet\n", stderr);
	return 2 + worker_placeholder();
}
