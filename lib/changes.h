/*
 * changes — the late changes to settled months that lib/rollup records in
 * table stat_changes (sql/012): a counter of a month that had been settled
 * for [stats] settle_days when a write changed it.
 *
 * Contract:
 *  - changes_list(): the newest `limit` late changes (id descending), of the
 *    month y-m only when y is not 0, columns CHANGES_COL_*: scope is "team",
 *    "partner" or "all"; team the team's slug (NULL: not a team, or a team
 *    gone); scope_id the team id (0 otherwise); repo and number the PR that
 *    caused it (NULL: a rebuild); changed_at "YYYY-MM-DDTHH:MM:SSZ".
 *    0, or -1 on a database error. Used by lb-admin changes and GET
 *    /api/admin/changes.
 */
#ifndef LB_CHANGES_H
#define LB_CHANGES_H

struct db;
struct db_res;

enum {
	CHANGES_COL_ID, CHANGES_COL_MONTH, CHANGES_COL_SCOPE, CHANGES_COL_TEAM, CHANGES_COL_METRIC,
	CHANGES_COL_OLD, CHANGES_COL_NEW, CHANGES_COL_REPO, CHANGES_COL_NUMBER, CHANGES_COL_PR_ID,
	CHANGES_COL_CHANGED_AT, CHANGES_COL_SCOPE_ID
};

int changes_list(struct db *db, int y, int m, long long limit, struct db_res **out);

#endif
