#include "changes.h"
#include "buf.h"
#include "date.h"
#include "db.h"

int
changes_list(struct db *db, int y, int m, long long limit, struct db_res **out)
{
	char day[16] = "";

	if (y != 0)
		(void)lb_snprintf(day, sizeof day, "%04d-%02d-01", y, m);
	return db_query(db, out,
	    "SELECT c.id, DATE_FORMAT(c.month, '%Y-%m') AS month, "
	    "ELT(c.kind + 1, 'team', 'partner', 'all') AS scope, t.slug AS team, c.metric, "
	    "c.old_value AS old, c.new_value AS new, rp.full_name AS repo, p.number, c.pr_id, "
	    DATE_SQL_ISO("c.changed_at") " AS changed_at, c.scope_id FROM stat_changes c "
	    "LEFT JOIN teams t ON c.kind = 0 AND t.id = c.scope_id "
	    "LEFT JOIN pull_requests p ON p.id = c.pr_id "
	    "LEFT JOIN repositories rp ON rp.id = p.repo_id "
	    "WHERE (? = '' OR c.month = ?) ORDER BY c.id DESC LIMIT ?", "ssi", day, day, limit);
}
