#ifndef ALTS_STORE_SPOOL_H
#define ALTS_STORE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/err.h"
#include "reporters/stores/artifact_store.h"

/*
 * The spool: uploads that failed even after the store's retries wait in a
 * local directory and are delivered later by artifact_spool_flush(). It
 * survives restarts: each entry is two files named by a unique id,
 *
 *   <spool_dir>/<id>.data   the bytes to upload
 *   <spool_dir>/<id>.json   {"key", "content_type", "size", "attempts",
 *                            "last_error", "spooled_at", "updated_at"}
 *
 * both written atomically (temporary file, fsync, rename); the .json is
 * written last and is what makes an entry exist, so a crash half-way
 * leaves no entry that points at missing data. Keys are the relative keys
 * passed to artifact_store_put_* (the store's base path is applied at
 * delivery), so an entry is delivered wherever the store then points.
 *
 * Which failures are spooled: any failure to deliver (network, timeouts,
 * 5xx/429 after retries, and also 4xx such as a wrong secret, which an
 * operator can fix and restart). Not spooled: an invalid key
 * (ALTS_EINVALID) or a source file that cannot be read; those return the
 * error as artifact_store_put_* does.
 *
 * Entries with the same key are delivered oldest first, so the newest
 * wins. Functions may be called from several threads and processes at
 * once: flushes take an exclusive lock (<spool_dir>/.lock) and a flush
 * that finds it taken returns at once with nothing done.
 */

/*
 * Uploads path as key; if that fails, copies it into spool_dir.
 * Returns 0 when the file was uploaded (*spooled false) or is safely in
 * the spool (*spooled true; err then holds the upload failure, for the
 * log). Any other return is an error that left nothing behind.
 * spool_dir is created when missing; NULL or "" means no spool (the
 * upload's own result is returned). s may be NULL (the store could not
 * be opened): the file goes straight to the spool.
 */
int artifact_spool_put_file(struct artifact_store *s, const char *spool_dir, const char *key, const char *path,
			    const char *content_type, bool *spooled, struct alts_err *err);

/* As artifact_spool_put_file, for bytes in memory. */
int artifact_spool_put_bytes(struct artifact_store *s, const char *spool_dir, const char *key, const void *data,
			     size_t len, const char *content_type, bool *spooled, struct alts_err *err);

/*
 * As artifact_spool_put_bytes, for a task's summary (artifact_store_put_summary:
 * <results_base_path><task_id>.json, on Azure in the summaries' container);
 * a flush delivers it the same way.
 */
int artifact_spool_put_summary(struct artifact_store *s, const char *spool_dir, const char *task_id, const char *json,
			       size_t len, bool *spooled, struct alts_err *err);

/*
 * A batch (a task's reports, logs and summary): puts made durable together by one commit
 * (artifact_batch_*), with the spool behind them as for single puts. A put that fails is
 * spooled at once; a failed commit spools every put of the batch. Same contract otherwise as
 * artifact_spool_put_*: 0 when stored, or (*spooled true, the reason in err) safely in the
 * spool. Nothing put is visible in the store before the commit returns.
 *
 * path, data and key are borrowed until artifact_spool_batch_commit() returns (a failed
 * commit spools them). s may be NULL: everything goes to the spool.
 */
struct artifact_spool_batch;

int artifact_spool_batch_begin(struct artifact_spool_batch **out, struct artifact_store *s, const char *spool_dir,
			       struct alts_err *err);
int artifact_spool_batch_put_file(struct artifact_spool_batch *b, const char *key, const char *path,
				  const char *content_type, bool *spooled, struct alts_err *err);
int artifact_spool_batch_put_bytes(struct artifact_spool_batch *b, const char *key, const void *data, size_t len,
				   const char *content_type, bool *spooled, struct alts_err *err);
int artifact_spool_batch_put_summary(struct artifact_spool_batch *b, const char *task_id, const char *json,
				     size_t len, bool *spooled, struct alts_err *err);
/*
 * Commits and frees b. 0 when every put is now durable in the store (*spooled false), or
 * the commit failed and all of them are in the spool (*spooled true, the failure in err);
 * else an error that left some put nowhere (no spool configured, or spooling failed).
 */
int artifact_spool_batch_commit(struct artifact_spool_batch *b, bool *spooled, struct alts_err *err);
/* Drops a batch not committed (its puts are not stored). NULL-safe. */
void artifact_spool_batch_free(struct artifact_spool_batch *b);

/*
 * Tries to deliver every entry in spool_dir, oldest first; a delivered
 * entry is removed, a failed one gets attempts+1 and last_error updated.
 * It stops at the first failed delivery (the store is most likely still
 * down, and each failure costs the store's retries).
 * *delivered and *remaining (either may be NULL) are always written.
 * Returns 0 when nothing remains (also when spool_dir does not exist or
 * another flush holds the lock: then *remaining counts the entries seen);
 * otherwise the code of the failed delivery, with its message in err.
 */
int artifact_spool_flush(struct artifact_store *s, const char *spool_dir, size_t *delivered, size_t *remaining,
			 struct alts_err *err);

/*
 * Calls cb for each entry waiting in spool_dir, oldest first, with its key
 * (borrowed for the call). A non-zero return from cb stops the walk and is
 * returned. A missing spool_dir has no entries.
 */
int artifact_spool_list(const char *spool_dir, int (*cb)(const char *key, void *payload), void *payload,
			struct alts_err *err);

#endif
