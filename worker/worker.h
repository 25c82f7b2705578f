#ifndef ALTS_WORKER_H
#define ALTS_WORKER_H

/* alts-worker: placeholder, being written. */
int worker_placeholder(void);

#endif
