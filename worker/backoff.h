#ifndef ALTS_WORKER_BACKOFF_H
#define ALTS_WORKER_BACKOFF_H

/* Reconnect backoff: 250 ms, doubling, at most 10 s. */
#define WORKER_BACKOFF_MIN_MS 250
#define WORKER_BACKOFF_MAX_MS 10000

/* The delay after one that was cur ms; cur <= 0 gives the first delay. */
long worker_backoff_next(long cur);

#endif
