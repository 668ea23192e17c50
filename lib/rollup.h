/*
 * rollup — keeps the statistics rollups consistent with the PR and
 * membership tables, inside the writer's transaction.
 *
 * Contract (called by lib/store only):
 *  - rollup_pr_before(db, pr_id) runs before a PR row changes (a no-op when
 *    the PR is new); rollup_pr_after(db, pr_id) runs after it changed. The
 *    pair moves the PR's contribution from its old to its new state.
 *  - rollup_user_before(db, user_id) / rollup_user_after(db, user_id) wrap a
 *    change of one user's memberships (team attribution of all their PRs may
 *    change).
 *  - rollup_rebuild(db) recomputes everything from the base tables (after an
 *    admin edits memberships or label_points with SQL, or a config change of
 *    tracked repositories / excluded teams).
 *  All return 0 or -1 on a database error (the caller rolls back).
 */
#ifndef LB_ROLLUP_H
#define LB_ROLLUP_H

struct db;

int rollup_pr_before(struct db *db, unsigned long long pr_id);
int rollup_pr_after(struct db *db, unsigned long long pr_id);
int rollup_user_before(struct db *db, unsigned long long user_id);
int rollup_user_after(struct db *db, unsigned long long user_id);
int rollup_rebuild(struct db *db);

#endif
