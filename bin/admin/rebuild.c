/*
 * lb-admin rebuild
 *   Rebuilds the statistics now (rollup_check forced, lib/rollup.h), also
 *   while a rebuild that failed waits for its retry time
 *   (stat_state.rebuild_retry_at, sql/021), and prints how long it took.
 *   Fails (1) when it fails, or when another process rebuilds right now.
 */
#include "admin.h"
#include "db.h"
#include "rollup.h"

#include <stdio.h>
#include <stdlib.h>

int
cmd_rebuild(struct admin *a, int argc, char **argv)
{
	struct db_res *r;
	struct db *db;
	int rebuilt = 0;

	(void)argv;
	if (argc != 1) {
		admin_err("usage: rebuild");
		return 2;
	}
	if ((db = admin_db(a)) == NULL)	/* loads the config too */
		return 1;
	if (rollup_check(db, &a->conf, ROLLUP_FORCE_NOW, &rebuilt) < 0) {
		if (db_query(db, &r, "SELECT rebuild_error FROM stat_state WHERE id = 1", "") == 0) {
			admin_err("rebuild failed: %s", db_get(r, 0, 0) ? db_get(r, 0, 0) :
			    "see the messages above");
			db_res_free(r);
		} else
			admin_err("rebuild failed: %s", db_error(db));
		return 1;
	}
	if (!rebuilt) {
		admin_err("another process is rebuilding or folding the statistics: try again later");
		return 1;
	}
	if (db_query(db, &r, "SELECT build_seconds FROM stat_state WHERE id = 1", "") < 0) {
		admin_err("rebuild: %s", db_error(db));
		return 1;
	}
	printf("statistics rebuilt in %.1f s\n", db_get(r, 0, 0) ? strtod(db_get(r, 0, 0), NULL) : 0.0);
	db_res_free(r);
	return 0;
}
