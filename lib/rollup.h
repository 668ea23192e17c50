/*
 * rollup — keeps the statistics rollups (sql/004_stats.sql, docs/STATS.md)
 * consistent with the PR and membership tables, inside the writer's
 * transaction.
 *
 * Contract (PR changes are folded in later, off the ingestion path):
 *  - rollup_queue(db, pr_id): lib/store calls it in the transaction that
 *    changed a PR row or its labels; it records the PR in stat_queue
 *    (sql/008_stat_queue.sql), nothing else. A webhook delivery thus costs
 *    a handful of statements, whatever the rollups hold.
 *  - rollup_inline(on) switches the calling thread's rollup_queue() to
 *    rolling the PR at once instead (rollup_pr_after() in the same
 *    transaction: readers never find it queued, so none waits for its
 *    fold), except before the rollups' first build (which counts it) and
 *    while a rebuild holds stat_state row 1 (asked with NOWAIT): the PR is
 *    queued then. lb-hook turns it on for a delivery
 *    that finds its worker idle ([hook] roll_when_idle_ms): at a low rate
 *    the writer pays the roll and readers get answers without waiting; a
 *    busy receiver queues, and the folds batch. Off by default.
 *  - rollup_fold(db, max, &folded) brings the rollups up to date with every
 *    queued PR committed so far (max == 0: all of them; else stops after
 *    about max), in transactions of 100 PRs under READ COMMITTED (a
 *    shorter batch is the last: it took every PR committed before it, and
 *    gives the fold lease back in its own transaction), the
 *    batch re-rolled in one pass (the same rows rollup_pr_after() would
 *    write for each PR, with a few multi-row statements per table: the
 *    batch's PR rows locked, then their authors shared; a PR whose change
 *    touches a settled month is re-rolled alone, as rollup_pr_after() does,
 *    for its late-change records), the day versions of every PR of the
 *    batch bumped (stat_day_version, as rollup_bump_contrib() and
 *    rollup_bump_pr() do for one PR) and the batch dequeued, all in the
 *    same transaction.
 *    One process folds at a time in the whole cluster (lease "fold", a row
 *    of table leases, sql/015: GET_LOCK() would hold on one MariaDB node
 *    only); another caller waits for it (up to 30 s, on a bounded handle
 *    less than its timeout: lib/db.h; it stops waiting once the queue is
 *    empty; then returns 0) and folds what is left. A batch is one
 *    db_txn_with() transaction: a deadlock, a Galera certification conflict
 *    or a lost connection runs it again (on the next node), and a batch
 *    whose COMMIT was lost finds the PRs it dequeued gone: never counted
 *    twice. Callers: lb-syncd
 *    every iteration, after every job and after every page of a PR sync;
 *    lb-api before every statistics answer, up to 2,000 PRs (so answers
 *    include every committed change unless a larger backlog waits: then a
 *    slice per request); tests and tools.
 *    Returns 0 (with *folded set when not NULL) or -1 on a database error.
 *  - rollup_fold_days(db, from, to, max) is lb-api's: rollup_fold() only
 *    when a queued PR has an event day (created, merged, closed; as stored
 *    in stat_pr or as its row is now) in the days [from, to] ("YYYY-MM-DD";
 *    NULL or "" = unbounded on that side; both: any queued PR), i.e. when its
 *    fold would change a bucket an answer over those days reads. It folds
 *    when it gets the fold lease; else it waits (as rollup_fold, but watching
 *    the queue every 2 ms) until those PRs left the queue, except while a
 *    rebuild that started longer ago than that wait runs (lease "rollup":
 *    minutes for a large org, or an import's end): then it returns at once,
 *    and the answer comes from the rollups as they are (the PRs queued
 *    meanwhile are folded after the swap). 0 or -1.
 *  - rollup_read_days(db, from, to, max, ver, len) is how lb-api starts a
 *    statistics answer: rollup_fold_days(db, from, to, max) when a queued
 *    PR touches those days, and the data version of the answers over them
 *    into ver: a string that changes with every change of one of those
 *    days (stat_day_version), a rebuild, teams, users, repositories,
 *    memberships, label_points, and the date. When nothing of those days is
 *    queued (the usual case) both are one statement. A fold that fails is
 *    logged and the version read anyway (the answer is as of the rollups).
 *    0, or -1 when the version could not be read.
 *  - rollup_pr_after(db, pr_id) runs after a PR row changed: it subtracts
 *    the contribution last rolled up (kept in stat_pr*, so nothing needs to
 *    run before the change), computes the new one from the base tables and
 *    adds it. Calling it twice, or without a change, is harmless. lib/store
 *    calls it itself only when a repository's tracking changes.
 *  - A change of one user's memberships (or type) is wrapped:
 *    rollup_user_before(db, user_id) takes the locks it needs (the users
 *    row, then stat_state row 2, exclusively); rollup_user_after(db,
 *    user_id) takes them too (harmless when held) and rolls every PR of the
 *    user again (team attribution may change).
 *  - No global writer lock: every hook takes a SHARED lock on stat_state
 *    row 1 (only a rebuild takes it exclusively), counters are changed with
 *    additive row-level upserts in one key order, a PR roll holds its
 *    pull_requests row and its author's users row (shared); membership
 *    changes hold the users row and stat_state row 2 exclusively (they are
 *    serialized among themselves). A transaction that stores several PRs
 *    can still deadlock with another writer; InnoDB then fails one with
 *    ER_LOCK_DEADLOCK (1213) and the caller retries.
 *  - Every change adds 1 to one of 64 stat_version slots (SUM(v): a global
 *    data version). Every roll that changes a number also adds 1 to the
 *    stat_day_version row (sql/014) of each day an event of the PR falls
 *    on, before and after the change, and the fold to the days of every PR
 *    it dequeues: lb-api keys an answer by the days it reads, so a write
 *    invalidates only the periods it touches.
 *  - Grains 'A', 'Y', 'Q', 'M' and 'D' (the day: period=range sums the
 *    buckets that tile it).
 *  - rollup_rebuild(db, db2, exclude, late) recomputes everything from the
 *    base tables into fresh tables (half of them on db2 in a second thread
 *    when db2 is not NULL) and swaps them in with RENAME TABLE (DDL: it
 *    commits; the caller must keep the writers out, as rollup_check does);
 *    with late set, the settled months whose numbers moved are recorded as
 *    late changes (stat_changes, without a PR; not on the first build).
 *  All return 0, or -1 on a database error (the caller rolls back).
 *
 * Contract (outside the write path):
 *  - rollup_check(db, conf, force, &rebuilt) compares what the rollups were
 *    built from (stat_state: config fingerprint of tracked repositories,
 *    partner org and excluded teams; which teams are deleted or excluded;
 *    row count and newest updated_at of memberships) with the live values,
 *    and when they differ (or force is set) brings repositories.tracked /
 *    partner_owned in line with the config and rebuilds under the leases
 *    "rollup" (skipped when another process holds it) and "fold" (no fold
 *    anywhere meanwhile; waited for like a folder does), both taken on db,
 *    on connections of its own that let statements run as long as they
 *    take (db may be bounded) and stay on db's node (db_open_pinned: the
 *    build's MEMORY work table exists on one node), while one of them holds
 *    stat_state rows 1 and 2 exclusively (on a cluster that holds back the
 *    writers of that node only; a membership change committed on another
 *    node during the build is seen by the next check, which rebuilds
 *    again). lb-api calls it (through rollup_check_soon) at most every
 *    few seconds. Every rebuild also counts the PRs of imports waiting in
 *    stat_import (sql/020: a large full walk stores its PRs there and ends
 *    with a forced rollup_check) and deletes the rows it counted.
 *    The build's leases are renewed by a thread on db while it runs, so a
 *    build longer than the lease (ten million PRs: half an hour) keeps
 *    them. A rebuild that fails is recorded on stat_state row 1 (sql/021:
 *    rebuild_failures, rebuild_error, rebuild_retry_at) and no process
 *    starts another before rebuild_retry_at (30 s, doubling per failure
 *    in a row, at most an hour): until then a check that finds a rebuild
 *    needed answers 0 without one (logged once per retry time), unless
 *    force is ROLLUP_FORCE_NOW (lb-admin rebuild). A rebuild that succeeds
 *    clears them.
 *    Returns 0 (with *rebuilt set when it rebuilt) or -1.
 *  - rollup_import_check(db, conf, &rebuilt) rebuilds (rollup_check,
 *    forced) when stat_import holds PRs none of which was stored in the
 *    last 10 minutes: an import that stopped before its end. lb-syncd
 *    calls it every iteration. 0 or -1.
 */
#ifndef LB_ROLLUP_H
#define LB_ROLLUP_H

#include <stddef.h>

struct conf;
struct db;

int rollup_queue(struct db *db, unsigned long long pr_id);
void rollup_inline(int on);
int rollup_fold(struct db *db, unsigned max, unsigned *folded);
int rollup_fold_days(struct db *db, const char *from, const char *to, unsigned max);
int rollup_read_days(struct db *db, const char *from, const char *to, unsigned max, char *ver,
    size_t len);
int rollup_pr_after(struct db *db, unsigned long long pr_id);
int rollup_user_before(struct db *db, unsigned long long user_id);
int rollup_user_after(struct db *db, unsigned long long user_id);
int rollup_rebuild(struct db *db, struct db *db2, const char *exclude, int late);
/* rollup_check's force: rebuild even when nothing changed; _IMPORT: after
 * the first import of a repository, whose PRs in settled months are not
 * late changes (the rebuild records none) */
#define ROLLUP_FORCE        1
#define ROLLUP_FORCE_IMPORT 2
#define ROLLUP_FORCE_NOW    3	/* forced, even while a failed rebuild waits */
int rollup_check(struct db *db, const struct conf *c, int force, int *rebuilt);
/* rollup_check(db, c, 0, rebuilt) for a request that must answer soon: a
 * rebuild of more than 50,000 PRs (pull_requests, InnoDB's estimate; the
 * test variable LB_TEST_REBUILD_INLINE replaces the number) is not run
 * when the rollups were built before: *later is set instead (logged), the
 * answer comes from the rollups as they are (as every other reader's
 * during a rebuild), and the caller runs rollup_check() once it has
 * answered (lb-api: after the response, lib/http's after()). A first
 * build always runs. 0 or -1. */
int rollup_check_soon(struct db *db, const struct conf *c, int *rebuilt, int *later);
int rollup_import_check(struct db *db, const struct conf *c, int *rebuilt);

/*
 * Late changes: when a roll changes a counter of a month (stat_counts, or
 * a label count of stat_labels, grain M) that ended more than
 * [stats] settle_days ago, the transaction also stores the change in
 * stat_changes (sql/012: month, scope, metric, old, new, the PR, time).
 * rollup_configure() takes settle_days from the config (default 7 until
 * called); rollup_check() calls it too.
 */
void rollup_configure(const struct conf *c);

/* Comma-joined excluded team slugs, lower case ("" when none). */
int  rollup_exclude_list(const struct conf *c, char *out, size_t outlen);

#endif
