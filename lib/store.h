/*
 * store — the one write path into the normalized tables, shared by the
 * webhook receiver (lb-hook.fcgi), the spool and replay, and the GitHub sync
 * (lb-syncd). Inputs are GitHub's own JSON objects (as parsed by lib/json),
 * which have the same shape in webhook payloads and REST answers.
 *
 * Contract:
 *  - Every function runs inside the caller's transaction (it never begins,
 *    commits or rolls back) and returns 0 on success, -1 on a database error
 *    (db_error() says which) or STORE_EBADINPUT when the object lacks a
 *    required field or has one of the wrong type (nothing written).
 *  - store_pr(): upserts the PR snapshot (pull_requests), its author (users),
 *    base repository (repositories, tracked/partner_owned from the config)
 *    and its full label set (labels, pr_labels) — unless the stored snapshot
 *    has a newer updated_at, in which case nothing changes and *result is
 *    STORE_STALE. Equal updated_at: the new snapshot replaces the stored one
 *    (webhook actions such as labeled share one updated_at second).
 *    merged comes from "merged" when present, else from merged_at != null.
 *    additions/deletions/... are kept from the stored row when the object
 *    lacks them (the REST list endpoint does not send them).
 *    A change queues the PR for the statistics in the same transaction
 *    (rollup_queue(), lib/rollup.h); an unchanged snapshot writes nothing
 *    but its fingerprint (snapshot_fp, below) when the row lacks it.
 *  - store_user(), store_repo(), store_team(): upsert by GitHub id.
 *  - Memberships (table memberships, see sql/001_initial.sql):
 *    store_member_start(): opens an interval unless one is open already;
 *      at == NULL means "since the beginning of time" (sync). An addition
 *      older than a webhook removal applied before it (which stored "since
 *      always, until the removal") gives that interval its start.
 *    store_member_end(): closes the open interval(s) at `at`.
 *    Both call rollup_user_before()/rollup_user_after().
 *  - store_team_deleted(): marks the team deleted at `at` and ends its open
 *    memberships.
 *  - Times are "YYYY-MM-DD HH:MM:SS[.ffffff]" UTC strings (store_now() gives
 *    the current one); GitHub's ISO 8601 "2024-03-01T10:00:00Z" is converted
 *    by date_from_iso() (lib/date).
 */
#ifndef LB_STORE_H
#define LB_STORE_H

#include <stddef.h>
#include "json.h"

struct conf;
struct db;

#define STORE_EBADINPUT (-2)

enum store_result { STORE_INSERTED, STORE_UPDATED, STORE_UNCHANGED, STORE_STALE };

int store_pr(struct db *db, const struct conf *c, json_val pr, const char *source,
    enum store_result *result);
int store_user(struct db *db, json_val user);
int store_repo(struct db *db, const struct conf *c, json_val repo);
int store_team(struct db *db, json_val team, unsigned long long org_id);
int store_team_deleted(struct db *db, unsigned long long team_id, const char *at);
int store_member_start(struct db *db, unsigned long long team_id,
    unsigned long long user_id, const char *at, const char *source);
int store_member_end(struct db *db, unsigned long long team_id,
    unsigned long long user_id, const char *at);

/*
 * PR history (sql/012 pr_history): every store_pr() that changes something
 * writes one row (source, ref, action, inserted/updated, the snapshot's
 * state and updated_at); an unchanged or stale snapshot writes none.
 * store_origin() says what the following store_pr() calls come from: the
 * delivery id and its action (lib/ingest), "job:ID" and the job kind
 * (lb-syncd); NULL clears it. The origin is per process (one thread).
 */
void store_origin(const char *ref, const char *action);

/*
 * Recognising a snapshot already stored without reading it field by field,
 * for a caller whose transaction starts with an INSERT of its own (lib/ingest:
 * the deliveries row). store_pr() keeps in pull_requests.snapshot_fp the
 * fingerprint of the last snapshot it stored (sql/010). store_pr_check_init()
 * computes the snapshot's fingerprint (0, or STORE_EBADINPUT for an object
 * store_pr() would refuse); "INSERT ... RETURNING " STORE_PR_CHECK, with
 * check.id bound ('u') to its '?', reads the stored one in the same round
 * trip; store_pr_check_known() on that value is 1 when store_pr() would
 * write nothing (the same fingerprint, or a newer updated_at stored), else 0:
 * call store_pr(). Read inside the caller's transaction.
 */
struct store_pr_check {
	unsigned long long id;
	char               fp[33];
	char               updated[32];
};

#define STORE_PR_CHECK \
    "(SELECT CONCAT(IFNULL(snapshot_fp, '-'), ' ', " \
    "DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s')) FROM pull_requests WHERE id = ?)"

int store_pr_check_init(const struct conf *c, json_val pr, struct store_pr_check *check);
int store_pr_check_known(const struct store_pr_check *check, const char *stored);

/*
 * store_prs(): n snapshots (one page of a sync) in a few multi-row
 * statements, with store_pr()'s rules: per PR, results[i] is its
 * enum store_result or STORE_EBADINPUT (skipped). The stored rows of the
 * page are read (and locked) in one statement; a newer stored snapshot is
 * kept (stale), the same fingerprint (and label set: pr_labels changed by
 * hand is rewritten) writes nothing (unchanged); the rest
 * writes its authors, repository and label rows when they changed, then
 * every PR row, the label sets, one pr_history row each and the queue
 * (rollup_queue; with import set, stat_import instead: sql/020, counted by
 * the next rebuild), one statement per table. PRs the page path does not
 * decide (a stored row without fingerprint, a number held by another id,
 * the same PR twice, a new PR that another writer stored between the read
 * and the INSERT) go through store_pr() in the same transaction.
 * Runs inside the caller's transaction, best under READ COMMITTED (the
 * locking read then locks only the rows found). It writes only from its
 * arguments and the database, so db_txn() may run it again after a
 * deadlock, a certification conflict or a lost node; run twice, the
 * second run finds every snapshot stored (unchanged) and writes nothing.
 * 0, or -1 on a database error.
 * store_prs_from() is the same with the origin of each PR's pr_history row
 * given per PR (from[i] for prs[i]: lb-hook's deliveries committed
 * together) instead of store_origin()'s, and the queue, not an import.
 */
struct store_from {
	const char *ref;	/* the delivery id */
	const char *action;	/* its action, or NULL */
};

int  store_prs(struct db *db, const struct conf *c, const json_val *prs, size_t n,
    const char *source, int import, int *results);
int  store_prs_from(struct db *db, const struct conf *c, const json_val *prs, size_t n,
    const char *source, const struct store_from *from, int *results);

/* Added by the webhooks work: validates a PR object exactly as store_pr()
 * does, without touching the database: 0, or STORE_EBADINPUT. (Fuzzing.) */
int  store_pr_valid(const struct conf *c, json_val pr);

/* "2024-03-01T10:00:00Z" -> "2024-03-01 10:00:00"; -1 when malformed. */
void store_now(char *out, size_t outlen);	/* with microseconds */

#endif
