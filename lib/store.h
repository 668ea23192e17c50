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
 *    (rollup_queue(), lib/rollup.h); an unchanged snapshot writes nothing.
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
 *    by store_time().
 */
#ifndef LB_STORE_H
#define LB_STORE_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

struct conf;
struct db;

#define STORE_EBADINPUT (-2)

enum store_result { STORE_INSERTED, STORE_UPDATED, STORE_UNCHANGED, STORE_STALE };

int store_pr(struct db *db, const struct conf *c, yajl_val pr, const char *source,
    enum store_result *result);
int store_user(struct db *db, yajl_val user);
int store_repo(struct db *db, const struct conf *c, yajl_val repo);
int store_team(struct db *db, yajl_val team, unsigned long long org_id);
int store_team_deleted(struct db *db, unsigned long long team_id, const char *at);
int store_member_start(struct db *db, unsigned long long team_id,
    unsigned long long user_id, const char *at, const char *source);
int store_member_end(struct db *db, unsigned long long team_id,
    unsigned long long user_id, const char *at);

/*
 * The prefetch of store_pr() as one scalar SQL expression, for a caller
 * whose transaction starts with an INSERT of its own (lib/ingest: the
 * deliveries row): "INSERT ... RETURNING " STORE_PR_PREFETCH reads what
 * store_pr() needs in the same round trip. Its STORE_PR_PREFETCH_NPARAMS
 * '?' are unsigned ('u') and come from store_pr_prefetch_params() (0, or
 * STORE_EBADINPUT for a PR object store_pr() would refuse). The value is a
 * JSON array; store_pr_prefetched() is store_pr() with that value instead
 * of reading it again: it must be read inside the caller's transaction,
 * and store_pr_prefetched() must follow it there.
 */
#define STORE_PR_PREFETCH_NPARAMS 11
#define STORE_PR_TIME_(c) "DATE_FORMAT(" c ", '%Y-%m-%d %H:%i:%s')"
#define STORE_PR_PREFETCH \
    "(SELECT JSON_ARRAY(p.id IS NOT NULL, " STORE_PR_TIME_("p.updated_at") ", p.repo_id, " \
    "p.number, p.author_id, p.title, IFNULL(p.html_url, ''), p.state, p.draft, p.merged, " \
    STORE_PR_TIME_("p.created_at") ", IFNULL(" STORE_PR_TIME_("p.closed_at") ", ''), " \
    "IFNULL(" STORE_PR_TIME_("p.merged_at") ", ''), p.additions, p.deletions, " \
    "p.changed_files, p.commits, p.comments, p.review_comments, " \
    "(SELECT GROUP_CONCAT(label_id ORDER BY label_id) FROM pr_labels WHERE pr_id = p.id), " \
    "u.id IS NOT NULL, u.login, IFNULL(u.avatar_url, ''), u.type, " \
    "r.id IS NOT NULL, r.tracked, r.partner_owned, r.owner_login, r.name, r.full_name, " \
    "r.private, " \
    "(SELECT GROUP_CONCAT(CONCAT_WS(0x1f, id, IFNULL(repo_id, ''), name, IFNULL(color, ''), " \
    "  MD5(IFNULL(description, ''))) ORDER BY id SEPARATOR 0x1e) " \
    " FROM labels WHERE id IN (?, ?, ?, ?, ?, ?, ?, ?))) " \
    "FROM (SELECT 1 AS one) o LEFT JOIN pull_requests p ON p.id = ? " \
    "LEFT JOIN users u ON u.id = ? LEFT JOIN repositories r ON r.id = ?)"

int store_pr_prefetch_params(const struct conf *c, yajl_val pr,
    unsigned long long params[STORE_PR_PREFETCH_NPARAMS]);
int store_pr_prefetched(struct db *db, const struct conf *c, yajl_val pr, const char *source,
    const char *prefetched, enum store_result *result);

/* Added by the webhooks work: validates a PR object exactly as store_pr()
 * does, without touching the database: 0, or STORE_EBADINPUT. (Fuzzing.) */
int  store_pr_valid(const struct conf *c, yajl_val pr);

/* "2024-03-01T10:00:00Z" -> "2024-03-01 10:00:00"; -1 when malformed. */
int  store_time(const char *iso, char *out, size_t outlen);
void store_now(char *out, size_t outlen);	/* with microseconds */

#endif
