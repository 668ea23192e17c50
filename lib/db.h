/*
 * db — MariaDB access through prepared statements only.
 *
 * Contract:
 *  - db_open() connects with the [database] settings (socket wins over
 *    host/port), utf8mb4, UTC session time zone, autocommit on. Returns NULL
 *    and fills err with the server's message when it cannot connect.
 *  - [database] hosts (a Galera cluster): a handle connects to the first
 *    node of the list that answers and is in sync (wsrep_local_state Synced
 *    or Donor; a server without Galera is taken as it is), and stays on it
 *    until that connection is lost or times out; it then connects to the
 *    next node (the lost one last), the same rules as for one server below
 *    applying per node: a node that timed out is not asked again for T
 *    seconds while the others are. A statement outside a transaction, or
 *    the first of a lazy one, that meets a lost connection runs again once
 *    on the node reached; in a transaction the error reaches the caller
 *    (db_txn() runs the whole transaction again). Error 1047 (a node cut off
 *    from the primary component) counts as lost.
 *  - Timeouts ([database] timeout, T seconds, default 5): every connect,
 *    the handshake included, waits at most T. A handle made by
 *    db_new(c, DB_BOUNDED) also waits at most T for each read and each write
 *    of a statement (MariaDB Connector/C waits once per read: no internal
 *    retry), so no call on it waits much longer than T for a stalled server;
 *    the programs that answer HTTP requests (lb-hook, lb-api) and
 *    lb-syncd's spool applier use those. db_open() handles (lb-syncd's jobs,
 *    lb-admin, rollup rebuilds) let statements run as long as they take:
 *    migrations, rebuilds and lock waits may legitimately take minutes.
 *  - A call that failed as "server gone" after waiting T (a timeout, not a
 *    refused or closed connection) is not retried, and for the next T
 *    seconds every call on that handle fails at once as gone (db_gone())
 *    without asking the server: a stalled server costs one wait per T per
 *    handle, not one per call. A lost connection is reconnected on the next
 *    call (prepared statements are prepared again).
 *  - db_new() makes a handle that connects on its first use (and after every
 *    lost connection); NULL only when out of memory. Flags: DB_BOUNDED.
 *  - Statements are given as SQL text with '?' placeholders plus a type
 *    string, one letter per parameter, followed by the values:
 *        'i' long long          'u' unsigned long long
 *        's' const char * (NULL binds SQL NULL)
 *        'b' const void *, size_t   (bytes; NULL binds SQL NULL)
 *        'd' double
 *    The number of letters must equal the statement's parameter count, else
 *    the call fails (a programming error, logged). Prepared statements are
 *    cached per connection by SQL text, so pass the same text for the same
 *    statement.
 *  - db_exec() runs a statement without result set; affected rows and the
 *    last insert id are available afterwards.
 *  - db_query() runs a statement and buffers its whole result as text (every
 *    value as bytes + length, NULL distinguished); the caller frees it with
 *    db_res_free(). Large columns (LONGBLOB) are fetched whole.
 *  - All calls return 0 on success and -1 on error; db_error() / db_errno()
 *    describe the last error; db_gone() tells whether the error means the
 *    server is unreachable (the hook then spools, the API answers 503).
 *  - One struct db is used by one thread at a time.
 */
#ifndef LB_DB_H
#define LB_DB_H

#include <stddef.h>

struct conf;
struct db;

struct db_res {
	size_t   nrows, ncols;
	char   **val;	/* nrows * ncols, NUL-terminated; NULL for SQL NULL */
	size_t  *len;
	char   **names;	/* column names */
};

#define DB_BOUNDED 1	/* reads and writes wait at most [database] timeout */

struct db *db_open(const struct conf *c, char *err, size_t errlen);
struct db *db_new(const struct conf *c, int flags);
void       db_close(struct db *db);
/* Ping and reconnect if needed; 0 when the server answers. A ping that
 * timed out does not reconnect (the server is stalled). */
int        db_ping(struct db *db);
/* db_ping(), unless the server answered this handle's last statement (or
 * ping) less than `fresh` seconds ago: then 0 without asking it again (a
 * statement that finds the connection lost reconnects by itself outside a
 * transaction, above). lb-api's per-request check. */
int        db_check(struct db *db, double fresh);
/* Seconds one read may wait on this handle; 0 when unbounded. */
unsigned   db_timeout(struct db *db);

int  db_exec(struct db *db, const char *sql, const char *types, ...);
int  db_query(struct db *db, struct db_res **out, const char *sql, const char *types, ...);
void db_res_free(struct db_res *r);

/* Cell access: NULL / 0 / def for SQL NULL or out-of-range indexes. */
const char *db_get(const struct db_res *r, size_t row, size_t col);
size_t      db_getlen(const struct db_res *r, size_t row, size_t col);
long long   db_getll(const struct db_res *r, size_t row, size_t col, long long def);
int         db_isnull(const struct db_res *r, size_t row, size_t col);

/* Run a non-preparable statement (DDL the server refuses to prepare). */
int  db_exec_text(struct db *db, const char *sql, size_t len);

/* Every later transaction of this connection (reconnects included) runs
 * under READ COMMITTED: no gap locks, each statement reads what is committed.
 * One statement the first time, none after. 0 or -1. */
int  db_read_committed(struct db *db);
/* Lazy transactions for a connection that runs many short ones (lb-hook):
 * autocommit off for the session (reconnects included), db_begin() sends
 * nothing (the first statement opens the transaction; a lost connection is
 * re-opened then, as nothing ran yet), and a statement outside db_begin()
 * is committed right after it, as under autocommit. 0 or -1. */
int  db_lazy_begin(struct db *db);
int  db_begin(struct db *db);
int  db_commit(struct db *db);
int  db_rollback(struct db *db);

/* Transactions run again when MariaDB aborted them. db_txn() runs
 * fn(db, arg) between db_begin() and db_commit(), at most `attempts` times
 * (at least once): when fn or the COMMIT fails with an error that
 * db_retryable() accepts, the transaction is rolled back and, after a pause
 * of 10 ms x the attempt number, fn runs again from the start, so fn must
 * derive everything from arg and the database, never from a failed attempt.
 * fn returns 0 to commit, a positive value to roll back and return it (a
 * decision, not an error), -1 on error (db_errno() must describe it: a
 * failed db_* call does). Returns 0 when committed, fn's positive value, or
 * -1: a non-retryable error, or the last attempt failed; db_error() and
 * db_errno() then describe the error that ended it (not the rollback). */
typedef int (*db_txn_fn)(struct db *db, void *arg);
int  db_txn(struct db *db, int attempts, db_txn_fn fn, void *arg);
/* db_txn() with options. A lost connection (db_gone()) also runs the
 * transaction again, at once, on the node db_begin() reaches next (another
 * one of [database] hosts when this one is lost): before COMMIT nothing was
 * applied. When the COMMIT itself was lost, it may have been applied:
 *  - committed == NULL: fn runs again; it must be idempotent by key (a
 *    second run after a first that committed changes nothing: deliveries
 *    by id, snapshots by updated_at, a dequeue with the work it dequeues);
 *  - else committed(db, arg) is asked first, outside a transaction and, on
 *    a cluster, with causal reads (wsrep_sync_wait: the node applies every
 *    write set ordered so far): 1 = it committed (db_txn_with returns 0),
 *    0 = it did not (fn runs again), -1 = unknown (returns -1).
 * read_committed: each attempt runs under READ COMMITTED (SET TRANSACTION
 * before it), whatever the session's level. */
struct db_txn_opt {
	int attempts;
	int read_committed;
	db_txn_fn committed;
};
int  db_txn_with(struct db *db, const struct db_txn_opt *o, db_txn_fn fn, void *arg);
/* 1 for the errors after which the same transaction may simply be run
 * again: 1213 deadlock (Galera's certification conflicts and brute-force
 * aborts report it too), 1205 lock wait timeout, 1689 lock aborted (a DDL
 * replicated in total order), 1180 error during COMMIT. */
int  db_retryable(unsigned err);
/* A handle on the node `near` is connected to (NULL: the first reachable),
 * that never moves to another node: for work whose state lives on one node
 * (the rollup rebuild's MEMORY and temporary tables). NULL + err on failure. */
struct db *db_open_pinned(const struct conf *c, struct db *near, char *err, size_t errlen);

unsigned long long db_affected(struct db *db);
unsigned long long db_insert_id(struct db *db);
const char *db_error(struct db *db);
unsigned    db_errno(struct db *db);
/* 1 when the last error means the server is down or the connection lost. */
int         db_gone(struct db *db);

/*
 * Statements with many rows (multi-row upserts, IN lists): parameters from
 * an array instead of a type string. A struct db_args starts zeroed and
 * collects values in placeholder order (db_args_u / _i / _s / _b: 'u', 'i',
 * 's', 'b' as above; a string or blob is bound by pointer, not copied, and must outlive the
 * call: never a copy on the stack of a helper that returns before it); an
 * allocation failure is remembered and fails the statement.
 * db_exec_args() / db_query_args() are db_exec() / db_query() with those
 * values (the type string DB_ARRAY). The SQL text is still cached by text:
 * build it for a few fixed row counts (db_batch_size() rounds n up to a
 * power of two), never with values in it; db_rows_sql() writes
 * head + n times row, joined by sep, + tail into b. 0 or -1.
 */
#define DB_ARRAY "*"
struct buf;
struct db_param {
	char          type;
	long long     i;
	const void   *p;
	size_t        len;
	unsigned long ulen;	/* internal */
};
struct db_args {
	struct db_param *v;
	size_t           n, cap;
	int              oom;
};
void   db_args_u(struct db_args *a, unsigned long long v);
void   db_args_i(struct db_args *a, long long v);
void   db_args_s(struct db_args *a, const char *s);
void   db_args_b(struct db_args *a, const void *p, size_t len);
void   db_args_reset(struct db_args *a);
void   db_args_free(struct db_args *a);
int    db_exec_args(struct db *db, const char *sql, const struct db_args *a);
int    db_query_args(struct db *db, struct db_res **out, const char *sql,
    const struct db_args *a);
int    db_rows_sql(struct buf *b, const char *head, const char *row, const char *sep,
    size_t n, const char *tail);
size_t db_batch_size(size_t n);

#endif
