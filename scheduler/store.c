#include "framework/common.h"
#include "scheduler/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

enum store_stmt {
	ST_INSERT,
	ST_GET,
	ST_LIST,
	ST_LIST_STATE,
	ST_CANCEL,
	ST_CANCEL_BS,
	ST_UNPUBLISHED,
	ST_MARK,
	ST_COUNT,
	ST_RUNNING,
	ST_FINISHED,
	ST_CALLBACKS,
	ST_CALLBACK_DONE,
	ST_RECEIVED,
	ST_REVOKED,
	ST_CANCELS,
	ST_CANCEL_SENT,
	ST_LIVE_LOG,
	ST_BS_ACTIVE,
	ST_IDEM_INSERT,
	ST_IDEM_GET,
	ST_IDEM_EXPIRE,
	ST_MAX,
};

#define STORE_COLUMNS \
	"seq, id, state, queue, bs_task_id, callback_href, message, result, created_ms, updated_ms, " \
	"published_ms, started_ms, finished_ms, published, callback_attempts, worker, artifacts, " \
	"artifacts_pending, error, progress_done, progress_total, cancel_pending"

static const char *const store_sql[ST_MAX] = {
	[ST_INSERT] = "INSERT INTO tasks (id, state, queue, bs_task_id, callback_href, message, created_ms, updated_ms,"
		      " published) VALUES (?1, 'queued', ?2, ?3, ?4, ?5, ?6, ?6, 0)",
	[ST_GET] = "SELECT " STORE_COLUMNS " FROM tasks WHERE id = ?1",
	[ST_IDEM_INSERT] = "INSERT INTO idempotency (key, body_hash, task_id, created_ms) VALUES (?1, ?2, ?3, ?4)",
	[ST_IDEM_GET] = "SELECT task_id, body_hash FROM idempotency WHERE key = ?1 AND created_ms >= ?2",
	[ST_IDEM_EXPIRE] = "DELETE FROM idempotency WHERE created_ms < ?1",
	[ST_LIST] = "SELECT " STORE_COLUMNS " FROM tasks WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[ST_LIST_STATE] = "SELECT " STORE_COLUMNS " FROM tasks WHERE seq > ?1 AND state = ?3 ORDER BY seq LIMIT ?2",
	/* A published or running task must be told to the workers: cancel_pending (old values on the right). */
	[ST_CANCEL] = "UPDATE tasks SET state = 'canceled', updated_ms = ?2, finished_ms = ?2,"
		      " cancel_pending = (published = 1 OR state = 'running')"
		      " WHERE id = ?1 AND state IN ('queued', 'running')",
	[ST_CANCEL_BS] = "UPDATE tasks SET state = 'canceled', updated_ms = ?2, finished_ms = ?2,"
			 " cancel_pending = (published = 1 OR state = 'running')"
			 " WHERE bs_task_id = ?1 AND state IN ('queued', 'running')",
	[ST_UNPUBLISHED] = "SELECT " STORE_COLUMNS " FROM tasks WHERE published = 0 AND state = 'queued'"
			   " AND seq > ?2 ORDER BY seq LIMIT ?1",
	/* Canceled while its message was in flight: the cancel must follow it. */
	[ST_MARK] = "UPDATE tasks SET published = 1, published_ms = ?2, updated_ms = ?2,"
		    " cancel_pending = CASE WHEN state = 'canceled' AND published = 0 THEN 1 ELSE cancel_pending END"
		    " WHERE id = ?1",
	[ST_COUNT] = "SELECT state, COUNT(*) FROM tasks GROUP BY state ORDER BY state",
	/*
	 * Reports: ?1 id, ?2 now, ?3 state, ?4 result, ?5 worker, ?6 artifacts, ?7 pending, ?8 error, ?9/?10
	 * progress, ?11 live log text to append while the log is under ?12 bytes.
	 */
	[ST_RUNNING] = "UPDATE tasks SET state = 'running', started_ms = COALESCE(started_ms, ?2), updated_ms = ?2,"
		       " live_log = CASE WHEN ?11 IS NULL OR length(CAST(COALESCE(live_log, '') AS BLOB)) >= ?12 THEN live_log"
		       " ELSE COALESCE(live_log, '') || ?11 END,"
		       " worker = COALESCE(?5, worker), progress_done = COALESCE(?9, progress_done),"
		       " progress_total = COALESCE(?10, progress_total)"
		       " WHERE id = ?1 AND state IN ('queued', 'running')",
	[ST_FINISHED] = "UPDATE tasks SET state = ?3, result = ?4, finished_ms = ?2, updated_ms = ?2,"
			" started_ms = COALESCE(started_ms, ?2), worker = COALESCE(?5, worker),"
			" live_log = CASE WHEN ?11 IS NULL OR length(CAST(COALESCE(live_log, '') AS BLOB)) >= ?12 THEN live_log"
			" ELSE COALESCE(live_log, '') || ?11 END,"
			" artifacts = COALESCE(?6, artifacts), artifacts_pending = ?7, error = ?8,"
			" progress_done = COALESCE(?9, progress_done), progress_total = COALESCE(?10, progress_total)"
			" WHERE id = ?1 AND state IN ('queued', 'running')",
	[ST_RECEIVED] = "UPDATE tasks SET worker = COALESCE(?5, worker), updated_ms = ?2"
			" WHERE id = ?1 AND state IN ('queued', 'running')",
	/* A worker's revoked report also lands on a task the scheduler canceled first; the first result stays. */
	[ST_REVOKED] = "UPDATE tasks SET state = 'canceled', result = ?4, updated_ms = ?2,"
		       " finished_ms = COALESCE(finished_ms, ?2), worker = COALESCE(?5, worker),"
		       " artifacts = COALESCE(?6, artifacts), artifacts_pending = ?7, error = ?8,"
		       " progress_done = COALESCE(?9, progress_done), progress_total = COALESCE(?10, progress_total)"
		       " WHERE id = ?1 AND (state IN ('queued', 'running') OR (state = 'canceled' AND result IS NULL))",
	[ST_CANCELS] = "SELECT " STORE_COLUMNS " FROM tasks WHERE cancel_pending = 1 ORDER BY seq LIMIT ?1",
	[ST_CANCEL_SENT] = "UPDATE tasks SET cancel_pending = 0 WHERE id = ?1",
	/* substr on a BLOB counts bytes; a task without a log reads as empty. */
	/* substr() takes 32-bit starts: an offset past the end is compared first, in 64 bits. */
	[ST_LIVE_LOG] = "SELECT CASE WHEN ?2 >= length(CAST(COALESCE(live_log, '') AS BLOB)) THEN x''"
			" ELSE substr(CAST(COALESCE(live_log, '') AS BLOB), ?2 + 1, ?3) END FROM tasks WHERE id = ?1",
	[ST_CALLBACKS] = "SELECT " STORE_COLUMNS " FROM tasks WHERE callback_done = 0 AND callback_href IS NOT NULL"
			 " AND (state IN ('finished', 'failed') OR (state = 'canceled' AND"
			 /* canceled: at once when it never ran; a running one once its worker stopped it (revoked
			  * report: a result, or updated after the cancel) or after the grace ?3 */
			 " (started_ms IS NULL OR result IS NOT NULL OR updated_ms > finished_ms OR finished_ms <= ?3)))"
			 " AND callback_next_ms <= ?1 ORDER BY seq LIMIT ?2",
	[ST_CALLBACK_DONE] = "UPDATE tasks SET callback_done = ?2, callback_next_ms = ?3,"
			     " callback_attempts = callback_attempts + 1 WHERE id = ?1",
	[ST_BS_ACTIVE] = "SELECT id FROM tasks WHERE bs_task_id = ?1 AND state IN ('queued', 'running') LIMIT 1",
};

static const char store_schema[] =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = NORMAL;"
	"PRAGMA busy_timeout = 5000;"
	"CREATE TABLE IF NOT EXISTS tasks ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" id TEXT NOT NULL UNIQUE,"
	" state TEXT NOT NULL,"
	" queue TEXT NOT NULL,"
	" bs_task_id TEXT,"
	" callback_href TEXT,"
	" message TEXT NOT NULL,"
	" result TEXT,"
	" created_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL,"
	" published_ms INTEGER,"
	" started_ms INTEGER,"
	" finished_ms INTEGER,"
	" published INTEGER NOT NULL DEFAULT 0,"
	" callback_done INTEGER NOT NULL DEFAULT 0,"
	" callback_attempts INTEGER NOT NULL DEFAULT 0,"
	" callback_next_ms INTEGER NOT NULL DEFAULT 0,"
	" worker TEXT,"
	" artifacts TEXT,"
	" artifacts_pending TEXT,"
	" error TEXT,"
	" progress_done INTEGER,"
	" progress_total INTEGER,"
	" cancel_pending INTEGER NOT NULL DEFAULT 0,"
	" live_log TEXT);"
	"CREATE INDEX IF NOT EXISTS tasks_outbox ON tasks (published, state);"
	"CREATE INDEX IF NOT EXISTS tasks_bs ON tasks (bs_task_id);"
	"CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state, seq);"
	"CREATE TABLE IF NOT EXISTS idempotency ("
	" key TEXT PRIMARY KEY,"
	" body_hash TEXT NOT NULL,"
	" task_id TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency (created_ms);";

/*
 * Columns added after the first schema: a database from an older
 * scheduler gets them with ALTER TABLE ADD COLUMN (rows keep their data,
 * new columns start NULL or at their default). Append only.
 */
static const struct {
	const char *name;
	const char *decl;
} store_columns_added[] = {
	{ "worker", "TEXT" },
	{ "artifacts", "TEXT" },
	{ "artifacts_pending", "TEXT" },
	{ "error", "TEXT" },
	{ "progress_done", "INTEGER" },
	{ "progress_total", "INTEGER" },
	{ "cancel_pending", "INTEGER NOT NULL DEFAULT 0" },
	{ "live_log", "TEXT" },
};

/* Indexes on added columns: created after the migration. */
static const char store_schema_late[] =
	"CREATE INDEX IF NOT EXISTS tasks_cancel ON tasks (cancel_pending) WHERE cancel_pending = 1;";

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_MAX];
	pthread_mutex_t lock;
};

int64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int store_fail(struct store *s, struct alts_err *err, const char *what)
{
	return alts_err_set(err, ALTS_ERROR, "task store: cannot %s: %s", what, sqlite3_errmsg(s->db));
}

void store_task_release(struct store_task *t)
{
	if (!t)
		return;
	alts_free(t->id);
	alts_free(t->state);
	alts_free(t->queue);
	alts_free(t->bs_task_id);
	alts_free(t->callback_href);
	alts_free(t->message);
	alts_free(t->result);
	alts_free(t->worker);
	alts_free(t->artifacts);
	alts_free(t->artifacts_pending);
	alts_free(t->error);
	memset(t, 0, sizeof(*t));
}

/* Adds the columns an older database lacks, in one transaction. */
static int store_migrate(struct store *s, const char *path, struct alts_err *err)
{
	bool have[ALTS_ARRAY_SIZE(store_columns_added)] = { false };
	sqlite3_stmt *st = NULL;
	char *errmsg = NULL;
	int rc = 0, step, missing = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA table_info(tasks)", -1, &st, NULL) != SQLITE_OK)
		return alts_err_set(err, ALTS_EENV, "cannot read the schema of task store '%s': %s", path,
				    sqlite3_errmsg(s->db));
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);

		for (size_t i = 0; name && i < ALTS_ARRAY_SIZE(store_columns_added); i++)
			have[i] = have[i] || !strcmp(name, store_columns_added[i].name);
	}
	if (step != SQLITE_DONE)
		rc = alts_err_set(err, ALTS_EENV, "cannot read the schema of task store '%s': %s", path,
				  sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	if (rc)
		return rc;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(store_columns_added); i++)
		missing += !have[i];
	if (!missing)
		return 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &errmsg) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(store_columns_added); i++) {
		char sql[256];

		if (have[i])
			continue;
		snprintf(sql, sizeof(sql), "ALTER TABLE tasks ADD COLUMN %s %s", store_columns_added[i].name,
			 store_columns_added[i].decl);
		if (sqlite3_exec(s->db, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, &errmsg) != SQLITE_OK) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		goto fail;
	}
	return 0;
fail:
	rc = alts_err_set(err, ALTS_EENV, "cannot migrate task store '%s': %s", path,
			  errmsg ? errmsg : sqlite3_errmsg(s->db));
	sqlite3_free(errmsg);
	return rc;
}

int store_open(struct store **out, const char *path, struct alts_err *err)
{
	struct store *s = alts_calloc(1, sizeof(*s));
	char *errmsg = NULL;
	int rc = 0;

	if (!s)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = alts_err_set(err, ALTS_EENV, "cannot open task store '%s': %s", path,
				  s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	if (sqlite3_exec(s->db, store_schema, NULL, NULL, &errmsg) != SQLITE_OK) {
		rc = alts_err_set(err, ALTS_EENV, "cannot initialise task store '%s': %s", path,
				  errmsg ? errmsg : "unknown error");
		sqlite3_free(errmsg);
		goto out;
	}
	rc = store_migrate(s, path, err);
	if (rc)
		goto out;
	if (sqlite3_exec(s->db, store_schema_late, NULL, NULL, &errmsg) != SQLITE_OK) {
		rc = alts_err_set(err, ALTS_EENV, "cannot initialise task store '%s': %s", path,
				  errmsg ? errmsg : "unknown error");
		sqlite3_free(errmsg);
		goto out;
	}
	for (int i = 0; i < ST_MAX; i++) {
		if (sqlite3_prepare_v3(s->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) !=
		    SQLITE_OK) {
			rc = alts_err_set(err, ALTS_EINTERNAL, "cannot prepare statement %d: %s", i, sqlite3_errmsg(s->db));
			goto out;
		}
	}
out:
	if (rc) {
		store_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_MAX; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	alts_free(s);
}

/* Takes the lock and a reset statement; store_end() releases both. */
static sqlite3_stmt *store_begin(struct store *s, enum store_stmt which)
{
	pthread_mutex_lock(&s->lock);
	return s->stmt[which];
}

static void store_end(struct store *s, sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->lock);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? alts_strdup((const char *)v) : NULL;
}

static int read_row(sqlite3_stmt *st, struct store_task *t)
{
	memset(t, 0, sizeof(*t));
	t->seq = sqlite3_column_int64(st, 0);
	t->id = col_dup(st, 1);
	t->state = col_dup(st, 2);
	t->queue = col_dup(st, 3);
	t->bs_task_id = col_dup(st, 4);
	t->callback_href = col_dup(st, 5);
	t->message = col_dup(st, 6);
	t->result = col_dup(st, 7);
	t->created_ms = sqlite3_column_int64(st, 8);
	t->updated_ms = sqlite3_column_int64(st, 9);
	t->published_ms = sqlite3_column_int64(st, 10);
	t->started_ms = sqlite3_column_int64(st, 11);
	t->finished_ms = sqlite3_column_int64(st, 12);
	t->published = sqlite3_column_int(st, 13) != 0;
	t->callback_attempts = sqlite3_column_int(st, 14);
	t->worker = col_dup(st, 15);
	t->artifacts = col_dup(st, 16);
	t->artifacts_pending = col_dup(st, 17);
	t->error = col_dup(st, 18);
	t->has_progress = sqlite3_column_type(st, 19) != SQLITE_NULL && sqlite3_column_type(st, 20) != SQLITE_NULL;
	t->progress_done = sqlite3_column_int64(st, 19);
	t->progress_total = sqlite3_column_int64(st, 20);
	t->cancel_pending = sqlite3_column_int(st, 21) != 0;
	if (!t->id || !t->state || !t->queue || !t->message ||
	    (sqlite3_column_type(st, 7) != SQLITE_NULL && !t->result) ||
	    (sqlite3_column_type(st, 15) != SQLITE_NULL && !t->worker) ||
	    (sqlite3_column_type(st, 16) != SQLITE_NULL && !t->artifacts) ||
	    (sqlite3_column_type(st, 17) != SQLITE_NULL && !t->artifacts_pending) ||
	    (sqlite3_column_type(st, 18) != SQLITE_NULL && !t->error)) {
		store_task_release(t);
		return ALTS_ENOMEM;
	}
	return 0;
}

/* Keeps t's Idempotency-Key with the lock held: ALTS_ECONFLICT when the key is kept already. */
static int insert_idem(struct store *s, const struct store_new_task *t, int64_t now_ms, struct alts_err *err)
{
	sqlite3_stmt *st = s->stmt[ST_IDEM_INSERT];
	int rc = 0, step;

	bind_text(st, 1, t->idem_key);
	bind_text(st, 2, t->idem_hash);
	bind_text(st, 3, t->id);
	sqlite3_bind_int64(st, 4, now_ms);
	step = sqlite3_step(st);
	if (step == SQLITE_CONSTRAINT)
		rc = alts_err_set(err, ALTS_ECONFLICT, "Idempotency-Key '%s' is in use", t->idem_key);
	else if (step != SQLITE_DONE)
		rc = store_fail(s, err, "keep an Idempotency-Key");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* One INSERT with the lock held; st stays reset for the next one. */
static int insert_row(struct store *s, sqlite3_stmt *st, const struct store_new_task *t, int64_t now_ms,
		      struct alts_err *err)
{
	int rc = 0;

	/* The key and the task go in together: a savepoint undoes the key when the task fails. */
	if (t->idem_key && sqlite3_exec(s->db, "SAVEPOINT task_row", NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(s, err, "insert a task");
	if (t->idem_key)
		rc = insert_idem(s, t, now_ms, err);
	if (!rc) {
		bind_text(st, 1, t->id);
		bind_text(st, 2, t->queue);
		bind_text(st, 3, t->bs_task_id);
		bind_text(st, 4, t->callback_href);
		bind_text(st, 5, t->message);
		sqlite3_bind_int64(st, 6, now_ms);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = store_fail(s, err, "insert a task");
		sqlite3_reset(st);
	}
	if (t->idem_key) {
		if (rc)
			sqlite3_exec(s->db, "ROLLBACK TO task_row", NULL, NULL, NULL);
		sqlite3_exec(s->db, "RELEASE task_row", NULL, NULL, NULL);
	}
	return rc;
}

/* Forgets Idempotency-Keys older than STORE_IDEM_TTL_MS, with the lock held; failures only cost space. */
static void expire_idem(struct store *s, int64_t now_ms)
{
	sqlite3_stmt *st = s->stmt[ST_IDEM_EXPIRE];

	sqlite3_bind_int64(st, 1, now_ms - STORE_IDEM_TTL_MS);
	sqlite3_step(st);
	sqlite3_reset(st);
}

int store_idem_get(struct store *s, const char *key, char task_id[64], char hash[65], struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_IDEM_GET);
	int rc = 0, step;

	bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, store_now_ms() - STORE_IDEM_TTL_MS);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(task_id, 64, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(st, 1));
	} else if (step == SQLITE_DONE) {
		rc = alts_err_set(err, ALTS_ENOTFOUND, "no task for Idempotency-Key '%s'", key);
	} else {
		rc = store_fail(s, err, "read an Idempotency-Key");
	}
	store_end(s, st);
	return rc;
}

int store_insert(struct store *s, const char *id, const char *queue, const char *bs_task_id,
		 const char *callback_href, const char *message, struct alts_err *err)
{
	struct store_new_task t = { id, queue, bs_task_id, callback_href, message, 0 };

	return store_insert_many(s, &t, 1, err);
}

int store_insert_many(struct store *s, struct store_new_task *tasks, size_t n, struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_INSERT);
	int64_t now_ms = store_now_ms();
	size_t i = 0;
	int rc = 0;
	bool keys = false;

	for (i = 0; i < n; i++)
		keys = keys || tasks[i].idem_key;
	if (keys)
		expire_idem(s, now_ms);
	if (n > 1 && sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
		for (i = 0; i < n && !rc; i++)
			rc = insert_row(s, st, &tasks[i], now_ms, NULL);
		if (!rc && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
			for (i = 0; i < n; i++)
				tasks[i].rc = 0;
			goto out;
		}
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	/* One at a time (autocommit): a failing row takes only itself down. */
	rc = 0;
	for (i = 0; i < n; i++) {
		struct alts_err one = ALTS_ERR_INIT;

		tasks[i].rc = insert_row(s, st, &tasks[i], now_ms, &one);
		if (tasks[i].rc && !rc)
			rc = alts_err_set(err, tasks[i].rc, "%s", one.msg);
	}
out:
	store_end(s, st);
	return rc;
}

int store_get(struct store *s, struct store_task *out, const char *id, struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_GET);
	int rc, step;

	bind_text(st, 1, id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = read_row(st, out) ? alts_err_set(err, ALTS_ENOMEM, "out of memory") : 0;
	else if (step == SQLITE_DONE)
		rc = alts_err_set(err, ALTS_ENOTFOUND, "task '%s' not found", id);
	else
		rc = store_fail(s, err, "read a task");
	store_end(s, st);
	return rc;
}

/* Runs a row-returning statement, calling fn per row (outside no lock: rows are copies). */
static int run_rows(struct store *s, sqlite3_stmt *st, store_task_fn fn, void *payload, struct alts_err *err)
{
	struct store_task *rows = NULL;
	size_t n = 0, alloc = 0;
	int rc = 0, step;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == alloc) {
			struct store_task *grown = alts_reallocarray(rows, alloc ? alloc * 2 : 16, sizeof(*rows));

			if (!grown) {
				rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
				break;
			}
			rows = grown;
			alloc = alloc ? alloc * 2 : 16;
		}
		if (read_row(st, &rows[n])) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store_fail(s, err, "list tasks");
	store_end(s, st);
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			rc = fn(&rows[i], payload);
		store_task_release(&rows[i]);
	}
	alts_free(rows);
	return rc;
}

int store_list(struct store *s, const char *state, int64_t after, int limit, store_task_fn fn, void *payload,
	       struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, state ? ST_LIST_STATE : ST_LIST);

	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit);
	if (state)
		bind_text(st, 3, state);
	return run_rows(s, st, fn, payload, err);
}

int store_unpublished(struct store *s, int64_t after, int limit, store_task_fn fn, void *payload,
		      struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_UNPUBLISHED);

	sqlite3_bind_int(st, 1, limit);
	sqlite3_bind_int64(st, 2, after);
	return run_rows(s, st, fn, payload, err);
}

int store_mark_published(struct store *s, const char *id, int64_t now_ms, struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_MARK);
	int rc = 0;

	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_fail(s, err, "mark a task published");
	store_end(s, st);
	return rc;
}

int store_mark_published_many(struct store *s, const char *const *ids, size_t n, int64_t now_ms,
			      struct alts_err *err)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (n == 1)
		return store_mark_published(s, ids[0], now_ms, err);
	if (!n)
		return 0;
	st = store_begin(s, ST_MARK);
	/* One transaction: one WAL commit for the whole batch instead of one per task. */
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = store_fail(s, err, "begin marking tasks published");
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		bind_text(st, 1, ids[i]);
		sqlite3_bind_int64(st, 2, now_ms);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = store_fail(s, err, "mark a task published");
		sqlite3_reset(st);
	}
	if (sqlite3_exec(s->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !rc)
		rc = store_fail(s, err, "commit tasks published");
out:
	store_end(s, st);
	return rc;
}

static const char *static_state(const char *state)
{
	static const char *const states[] = { "queued", "running", "finished", "failed", "canceled" };

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(states); i++) {
		if (!strcmp(states[i], state))
			return states[i];
	}
	return "unknown";
}

int store_cancel(struct store *s, const char *id, const char **state_out, bool *changed, struct alts_err *err)
{
	struct store_task t;
	sqlite3_stmt *st = store_begin(s, ST_CANCEL);
	int rc = 0;

	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, store_now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_fail(s, err, "cancel a task");
	*changed = sqlite3_changes(s->db) > 0;
	store_end(s, st);
	if (rc)
		return rc;
	rc = store_get(s, &t, id, err);
	if (rc)
		return rc;
	*state_out = static_state(t.state);
	store_task_release(&t);
	return 0;
}

int store_cancel_bs(struct store *s, const char *bs_task_id, int *count, struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_CANCEL_BS);
	int rc = 0;

	bind_text(st, 1, bs_task_id);
	sqlite3_bind_int64(st, 2, store_now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_fail(s, err, "cancel tasks");
	else
		*count = sqlite3_changes(s->db);
	store_end(s, st);
	return rc;
}

int store_count_states(struct store *s, store_count_fn fn, void *payload, struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_COUNT);
	int rc = 0, step;

	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1), payload);
	if (step != SQLITE_DONE)
		rc = store_fail(s, err, "count tasks");
	store_end(s, st);
	return rc;
}

int store_report(struct store *s, const char *id, const struct task_report *r, bool *applied, struct alts_err *err)
{
	static const struct {
		const char *state;
		enum store_stmt stmt;
	} kinds[] = {
		{ "received", ST_RECEIVED }, { "running", ST_RUNNING }, { "finished", ST_FINISHED },
		{ "failed", ST_FINISHED },   { "revoked", ST_REVOKED },
	};
	sqlite3_stmt *st;
	struct store_task t = { 0 };
	int rc = 0, kind = -1;

	*applied = false;
	for (size_t i = 0; r->state && i < ALTS_ARRAY_SIZE(kinds); i++) {
		if (!strcmp(kinds[i].state, r->state))
			kind = (int)i;
	}
	if (kind < 0)
		return alts_err_set(err, ALTS_EINVALID,
				    "unknown state '%s' (allowed: received, running, finished, failed, revoked)",
				    r->state ? r->state : "");
	st = store_begin(s, kinds[kind].stmt);
	/* Every report statement takes the same numbered parameters; unused ones are ignored. */
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, store_now_ms());
	if (kinds[kind].stmt == ST_FINISHED)
		bind_text(st, 3, r->state);
	if (sqlite3_bind_parameter_count(st) >= 4)
		bind_text(st, 4, r->result);
	bind_text(st, 5, r->worker);
	if (sqlite3_bind_parameter_count(st) >= 8) {
		bind_text(st, 6, r->artifacts);
		bind_text(st, 7, r->artifacts_pending);
		bind_text(st, 8, r->error);
	}
	if (sqlite3_bind_parameter_count(st) >= 10 && r->has_progress) {
		sqlite3_bind_int64(st, 9, r->progress_done);
		sqlite3_bind_int64(st, 10, r->progress_total);
	}
	if (sqlite3_bind_parameter_count(st) >= 12) {
		bind_text(st, 11, r->log);
		sqlite3_bind_int64(st, 12, STORE_LIVE_LOG_MAX);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_fail(s, err, "record a report");
	else
		*applied = sqlite3_changes(s->db) > 0;
	store_end(s, st);
	if (rc || *applied)
		return rc;
	rc = store_get(s, &t, id, err);
	store_task_release(&t);
	return rc;
}

int store_live_log(struct store *s, const char *id, int64_t offset, size_t max, struct sbuf *out,
		   struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_LIVE_LOG);
	int rc = 0, step;

	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, offset < 0 ? 0 : offset);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);

		if (n > 0)
			sbuf_add(out, sqlite3_column_blob(st, 0), (size_t)n);
		if (!sbuf_ok(out))
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	} else if (step == SQLITE_DONE) {
		rc = alts_err_set(err, ALTS_ENOTFOUND, "task '%s' not found", id);
	} else {
		rc = store_fail(s, err, "read a live log");
	}
	store_end(s, st);
	return rc;
}

int store_pending_cancels(struct store *s, int limit, store_task_fn fn, void *payload, struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_CANCELS);

	sqlite3_bind_int(st, 1, limit);
	return run_rows(s, st, fn, payload, err);
}

int store_cancel_sent(struct store *s, const char *id, struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_CANCEL_SENT);
	int rc = 0;

	bind_text(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_fail(s, err, "record a cancel");
	store_end(s, st);
	return rc;
}

int store_pending_callbacks(struct store *s, int64_t now_ms, int limit, store_task_fn fn, void *payload,
			    struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_CALLBACKS);

	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int(st, 2, limit);
	sqlite3_bind_int64(st, 3, now_ms - STORE_CANCEL_CALLBACK_GRACE_MS);
	return run_rows(s, st, fn, payload, err);
}

int store_bs_active(struct store *s, const char *bs_task_id, char **id_out, struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_BS_ACTIVE);
	int rc = 0, step;

	*id_out = NULL;
	bind_text(st, 1, bs_task_id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*id_out = alts_strdup((const char *)sqlite3_column_text(st, 0));
		if (!*id_out)
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	} else if (step != SQLITE_DONE) {
		rc = store_fail(s, err, "look up a build system task");
	}
	store_end(s, st);
	return rc;
}

int store_callback_result(struct store *s, const char *id, int done, int64_t next_ms, struct alts_err *err)
{
	sqlite3_stmt *st = store_begin(s, ST_CALLBACK_DONE);
	int rc = 0;

	bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, done);
	sqlite3_bind_int64(st, 3, next_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_fail(s, err, "record a callback");
	store_end(s, st);
	return rc;
}
