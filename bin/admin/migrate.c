/* lb-admin migrate: apply sql/NNN_*.sql (see lib/migrate.h). */
#include "admin.h"
#include "db.h"
#include "migrate.h"

#include <stdio.h>

int
cmd_migrate(struct admin *a, int argc, char **argv)
{
	char dir[4096], err[1024];
	struct db *db;
	int applied;

	(void)argv;
	if (argc != 1) {
		admin_err("usage: lb-admin migrate");
		return 2;
	}
	db = admin_db(a);
	if (db == NULL)
		return 1;
	migrate_dir(dir, sizeof dir);
	if (migrate_run(db, dir, stdout, &applied, err, sizeof err) < 0) {
		admin_err("migrate: %s", err);
		return 1;
	}
	printf("schema at version %lld (%d migration%s applied)\n", migrate_version(db),
	    applied, applied == 1 ? "" : "s");
	return 0;
}
