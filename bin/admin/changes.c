/*
 * lb-admin changes [--month YYYY-MM] [--limit N]
 *   Lists the late changes (stat_changes, sql/012): counters of months that
 *   had been settled for [stats] settle_days when a write changed them,
 *   newest first (default 100), one per line, tab-separated: time, month,
 *   scope (team slug, "partner" or "all"), metric, old, new, the PR
 *   (OWNER/REPO#N, "-" for none).
 */
#include "admin.h"
#include "buf.h"
#include "changes.h"
#include "date.h"
#include "db.h"

#include <stdio.h>
#include <string.h>

int
cmd_changes(struct admin *a, int argc, char **argv)
{
	struct db_res *r;
	struct db *db;
	long long limit = 100;
	int y = 0, m = 0;

	for (int i = 1; i < argc; i++) {
		if (admin_limit_opt(argc, argv, &i, &limit))
			continue;
		if (strcmp(argv[i], "--month") == 0 && i + 1 < argc &&
		    date_parse_month(argv[i + 1], &y, &m) == 0) {
			i++;
		} else {
			admin_err("usage: changes [--month YYYY-MM] [--limit N]");
			return 2;
		}
	}
	if ((db = admin_db(a)) == NULL)
		return 1;
	if (changes_list(db, y, m, limit, &r) < 0) {
		admin_err("changes: %s", db_error(db));
		return 1;
	}
	printf("CHANGED\tMONTH\tSCOPE\tMETRIC\tOLD\tNEW\tPR\n");
	for (size_t i = 0; i < r->nrows; i++) {
		const char *scope = admin_cell(r, i, CHANGES_COL_SCOPE, "-");
		char at[32], team[32], pr[256] = "-";

		if (strcmp(scope, "team") == 0) {
			lb_snprintf(team, sizeof team, "team %s", admin_cell(r, i, CHANGES_COL_SCOPE_ID, ""));
			scope = admin_cell(r, i, CHANGES_COL_TEAM, team);
		}
		if (!db_isnull(r, i, CHANGES_COL_REPO) && !db_isnull(r, i, CHANGES_COL_NUMBER))
			lb_snprintf(pr, sizeof pr, "%s#%s", db_get(r, i, CHANGES_COL_REPO),
			    db_get(r, i, CHANGES_COL_NUMBER));
		printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
		    admin_time(r, i, CHANGES_COL_CHANGED_AT, at, sizeof at, "-"),
		    admin_cell(r, i, CHANGES_COL_MONTH, "-"), scope,
		    admin_cell(r, i, CHANGES_COL_METRIC, "-"), admin_cell(r, i, CHANGES_COL_OLD, "-"),
		    admin_cell(r, i, CHANGES_COL_NEW, "-"), pr);
	}
	db_res_free(r);
	return 0;
}
