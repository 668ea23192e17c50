/*
 * ingest — applies one webhook delivery: the raw deliveries row and its
 * effect on the normalized tables (through lib/store) in one transaction.
 * Shared by lb-hook.fcgi (live), lib/spool (deliveries spooled while MariaDB
 * was down) and lb-admin replay.
 *
 * Contract:
 *  - ingest_apply() parses the JSON payload, dispatches on the event and
 *    action (docs/REFERENCE.md "Webhooks"), and commits the deliveries
 *    row together with the effects. A delivery id already stored with an
 *    outcome other than "failed" gives INGEST_DUPLICATE and changes nothing;
 *    a "failed" one is processed again (a redelivery after a fix).
 *    Membership intervals start/end at d->received_at, so applying a
 *    spooled or replayed delivery later gives the same history.
 *  - One transaction through db_txn_with() (lib/db.h), 5 attempts:
 *    deadlocks, lock wait timeouts, Galera aborts and lost connections run
 *    it again from the parsed payload; after a COMMIT lost with its
 *    connection the deliveries row says whether it committed (a replay
 *    simply runs again: idempotent by key). A failure leaves no effect of
 *    the delivery behind (rolled back as a whole).
 *  - Results: PROCESSED / IGNORED (committed); DUPLICATE (nothing changed);
 *    BADINPUT: the payload is not valid JSON or lacks a required field or
 *    has one of the wrong type: no effect, the row is stored with outcome
 *    "failed" and the reason (when the database allows); FAILED: a database
 *    error other than "unreachable": no effect, row stored as "failed";
 *    DBERROR: nothing could be stored — db_gone(db) tells whether MariaDB is
 *    unreachable (the caller spools). err receives a one-line reason.
 *  - ingest_replay() re-applies the stored body of delivery `id` with its
 *    original received_at and updates its outcome (idempotent: PR snapshots
 *    obey the stale rule, intervals the rules of lib/store). NOTFOUND when
 *    no such delivery is stored.
 *  - ingest_valid_id() / ingest_valid_event(): header syntax (what fits the
 *    deliveries table and can name a spool entry).
 */
#ifndef LB_INGEST_H
#define LB_INGEST_H

#include <stddef.h>
#include "json.h"

struct conf;
struct db;

struct ingest_delivery {
	const char *id;			/* X-GitHub-Delivery */
	const char *event;		/* X-GitHub-Event */
	const char *hook_id;		/* X-GitHub-Hook-ID, decimal, or NULL */
	const char *received_at;	/* "YYYY-MM-DD HH:MM:SS.ffffff" UTC */
	const char *content_type;	/* as received, e.g. application/json */
	const char *body;		/* the JSON payload (form already decoded) */
	size_t      len;
};

enum ingest_status {
	INGEST_PROCESSED,
	INGEST_IGNORED,
	INGEST_DUPLICATE,
	INGEST_BADINPUT,
	INGEST_FAILED,
	INGEST_DBERROR,
	INGEST_NOTFOUND
};

#define INGEST_MAX_DEPTH 64

enum ingest_status ingest_apply(struct db *db, const struct conf *c,
    const struct ingest_delivery *d, char *err, size_t errlen);
/*
 * Deliveries that arrive together (lb-hook's threads) committed together.
 * ingest_batchable() parses the payload into *root (the caller's, NULL when
 * it is not JSON) and says whether the delivery may join a batch: a
 * pull_request whose PR object store_pr() accepts. ingest_apply_batch()
 * applies n such deliveries (each item's d and root; it takes the roots):
 * their deliveries rows in one INSERT and their PRs as one page
 * (store_prs_from(), each PR's history naming its delivery), in one
 * transaction with ingest_apply()'s retries. The results are
 * ingest_apply()'s: every item PROCESSED when it commits; otherwise (n ==
 * 1, a delivery id stored already, a database error) each delivery is
 * applied by itself as ingest_apply() would, with its own status and err,
 * and gone says whether its DBERROR means MariaDB is unreachable.
 */
struct ingest_item {
	const struct ingest_delivery *d;
	json_val                      root;
	enum ingest_status            st;
	int                           gone;
	char                          err[512];
};
int  ingest_batchable(const struct conf *c, const struct ingest_delivery *d, json_val *root);
void ingest_apply_batch(struct db *db, const struct conf *c, struct ingest_item *v, size_t n);

enum ingest_status ingest_replay(struct db *db, const struct conf *c, const char *id,
    char *err, size_t errlen);
/* "processed", "ignored", "duplicate", "invalid", "failed", "error", "not found" */
const char *ingest_status_name(enum ingest_status s);

int ingest_valid_id(const char *id);
int ingest_valid_event(const char *event);

/* Request helpers of lb-hook.fcgi (here so that they can be fuzzed):
 * the media type of a Content-Type value (parameters and case ignored), and
 * the "payload" field of a form body, percent-decoded in place: moved to the
 * start of body (len + 1 bytes) and NUL-terminated, *outlen its length, no
 * second copy of a body that may be 25 MB. -1 when there is no such field or
 * it is malformed (the body's bytes are then unspecified). */
enum ingest_media { INGEST_MEDIA_OTHER, INGEST_MEDIA_JSON, INGEST_MEDIA_FORM };
enum ingest_media ingest_media(const char *content_type);
int ingest_form_payload(char *body, size_t len, size_t *outlen);

/* Delete raw deliveries received more than `days` days ago ([hook]
 * keep_deliveries_days; 0 keeps everything), in batches of 5,000 rows so no
 * transaction grows large. *deleted counts them. 0, or -1 on a database
 * error. The normalized tables are untouched. */
int ingest_purge(struct db *db, long long days, unsigned long long *deleted);

/* The stored deliveries, newest first (received_at descending, then id), at
 * most `limit`, only outcome "failed" when failed_only; columns
 * INGEST_COL_* (times "YYYY-MM-DDTHH:MM:SSZ", size = bytes of the body, NULL
 * where the column is). 0, or -1 on a database error. Used by lb-admin
 * deliveries and GET /api/admin/deliveries. */
struct db_res;
enum {
	INGEST_COL_ID, INGEST_COL_EVENT, INGEST_COL_ACTION, INGEST_COL_HOOK_ID,
	INGEST_COL_RECEIVED_AT, INGEST_COL_PROCESSED_AT, INGEST_COL_OUTCOME, INGEST_COL_ERROR,
	INGEST_COL_CONTENT_TYPE, INGEST_COL_SIZE
};
int ingest_list(struct db *db, int failed_only, long long limit, struct db_res **out);

#endif
