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
#include "db.h"

#include <stdio.h>
#include <string.h>

static const char *
cell(const struct db_res *r, size_t row, size_t col)
{
	const char *v = db_get(r, row, col);

	return v ? v : "-";
}

int
cmd_changes(struct admin *a, int argc, char **argv)
{
	char day[16] = "";
	struct db_res *r;
	struct db *db;
	long long limit = 100;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc &&
		    lb_parse_ll(argv[i + 1], 1, 1000000000, &limit) == 0)
			i++;
		else if (strcmp(argv[i], "--month") == 0 && i + 1 < argc &&
		    strlen(argv[i + 1]) == 7 && argv[i + 1][4] == '-') {
			lb_snprintf(day, sizeof day, "%s-01", argv[++i]);
		} else {
			admin_err("usage: changes [--month YYYY-MM] [--limit N]");
			return 2;
		}
	}
	if ((db = admin_db(a)) == NULL)
		return 1;
	if (db_query(db, &r,
	    "SELECT DATE_FORMAT(c.changed_at, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT(c.month, '%Y-%m'), "
	    "IF(c.kind = 0, COALESCE(t.slug, CONCAT('team ', c.scope_id)), "
	    "ELT(c.kind, 'partner', 'all')), c.metric, c.old_value, c.new_value, "
	    "CONCAT(rp.full_name, '#', p.number) FROM stat_changes c "
	    "LEFT JOIN teams t ON c.kind = 0 AND t.id = c.scope_id "
	    "LEFT JOIN pull_requests p ON p.id = c.pr_id "
	    "LEFT JOIN repositories rp ON rp.id = p.repo_id "
	    "WHERE (? = '' OR c.month = ?) ORDER BY c.id DESC LIMIT ?", "ssi", day, day, limit) < 0) {
		admin_err("changes: %s", db_error(db));
		return 1;
	}
	printf("CHANGED\tMONTH\tSCOPE\tMETRIC\tOLD\tNEW\tPR\n");
	for (size_t i = 0; i < r->nrows; i++)
		printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(r, i, 0), cell(r, i, 1), cell(r, i, 2),
		    cell(r, i, 3), cell(r, i, 4), cell(r, i, 5), cell(r, i, 6));
	db_res_free(r);
	return 0;
}
