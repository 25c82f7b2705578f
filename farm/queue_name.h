#ifndef ALTS_FARM_QUEUE_NAME_H
#define ALTS_FARM_QUEUE_NAME_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Task queue names, shared by the scheduler (where a task goes) and the
 * worker (what it consumes). ALTS's names are <runner>-<arch>-<cost>
 * (docker-x86_64-0), <arch> from ALTS's map (aarch64 for arm64, x86_64
 * for amd64 and i686, ...). With distribution_queues the scheduler adds
 * the image a task runs in: <runner>-<arch>-<cost>.<image>
 * (sandbox-x86_64-0.almalinux-9), <image> being the suite's
 * environment.image, else "<dist_name>-<dist_version>" lowercased: the
 * image the sandbox runner picks for it, without the "-<arch>" suffix a
 * foreign-architecture image carries (the arch is already in the name).
 * A name without '.' stays an ALTS name (docs/internals/worker-protocol.md).
 */

#define QUEUE_NAME_MAX 255  /* AMQP's limit on a queue name */

/* The queue architecture for a dist_arch (aarch64 for arm64, x86_64 for i686, ...), or NULL. */
const char *queue_name_arch(const char *arch);
/* Every architecture queue_name_arch() knows, comma-separated. */
const char *queue_name_known_archs(void);

/*
 * The distribution part for a task: image when set, else
 * "<dist_name>-<dist_version>" lowercased; "" when neither names one.
 */
void queue_name_dist(char *buf, size_t size, const char *image, const char *dist_name, const char *dist_version);

/*
 * The distribution part an image serves: its name, less a trailing
 * "-<arch>" (image_name_for() adds it to foreign-architecture images).
 */
void queue_name_image_dist(char *buf, size_t size, const char *image, const char *arch);

/*
 * Writes <runner>-<qarch>-<cost>[.<dist>] into buf (dist NULL or "": the
 * ALTS name). False when it does not fit or is longer than QUEUE_NAME_MAX.
 */
bool queue_name_format(char *buf, size_t size, const char *runner, const char *qarch, long cost, const char *dist);

/* A queue name taken apart; strings point into the struct. */
struct queue_name_parts {
	char runner[64];
	char arch[32];   /* a queue architecture (x86_64, x86_64_v2, aarch64, ppc64le, s390x) */
	long cost;
	char dist[QUEUE_NAME_MAX + 1];  /* "" for an ALTS name */
};

/*
 * Takes name apart. False when it is not <runner>-<arch>-<cost>[.<dist>]
 * with a known queue architecture (an operator's own queue name: nothing
 * is known about it).
 */
bool queue_name_parse(struct queue_name_parts *out, const char *name);

#endif
