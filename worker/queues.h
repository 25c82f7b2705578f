#ifndef ALTS_WORKER_QUEUES_H
#define ALTS_WORKER_QUEUES_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/arena.h"
#include "framework/conf.h"
#include "framework/err.h"
#include "farm/farm_config.h"

/*
 * Which queues a worker consumes when neither --queues nor worker_queues
 * names them: one per image it has (the cache, or worker_images), named
 * as the scheduler routes tasks (farm/queue_name.h):
 * sandbox-<arch>-<cost>.<image> with distribution_queues, else ALTS's
 * sandbox-<arch>-<cost>. And whether this host can run a queue's
 * architecture at all.
 */

/*
 * The queues for c's images into *out (strings and array in a). An
 * image of an architecture this host cannot run is left out with a
 * warning; a worker_images name that is not in the cache yet (it can be
 * built) is taken to be of the host's architecture. *out may be empty.
 */
int queues_from_images(struct strlist *out, struct arena *a, const struct farm_config *c, struct alts_err *err);

/*
 * True when this host runs qarch (a queue architecture), natively or
 * through an enabled qemu-user binfmt_misc handler: image_arch_support()
 * of runners/image.h ($ALTS_BINFMT_DIR replaces /proc/sys/fs/binfmt_misc
 * for tests). why (may be NULL) gets the reason when not.
 */
bool queues_arch_runnable(const char *qarch, char *why, size_t why_size);

/*
 * ALTS_EINVALID naming the first queue whose architecture
 * (<runner>-<arch>-<cost>[.<image>]) this host cannot run; names of
 * another shape are the operator's and pass.
 */
int queues_check_host(const struct strlist *queues, struct alts_err *err);

#endif
