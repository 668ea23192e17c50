/*
 * migrate — the numbered SQL migrations of sql/ (NNN_name.sql).
 *
 * Contract:
 *  - migrate_dir() finds the directory: $LB_SQL_DIR, else ../sql or
 *    ../share/leaderboard/sql next to the running executable, else
 *    LB_DATADIR/sql (compiled in, /usr/local/share/leaderboard by default).
 *  - migrate_run() creates schema_migrations if needed, then applies every
 *    file whose version is not recorded, in version order, one statement at
 *    a time. A version is recorded only after all its statements succeeded;
 *    on the first error it stops and returns -1 with "NNN_name.sql: statement
 *    K: <MariaDB error>" in err, so schema_migrations stays truthful. A
 *    second run applies nothing. progress (may be NULL) gets one line per
 *    applied file.
 *  - migrate_version() is the highest applied version (0 when none, -1 on
 *    error).
 */
#ifndef LB_MIGRATE_H
#define LB_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

struct db;

const char *migrate_dir(char *out, size_t outlen);
int migrate_run(struct db *db, const char *dir, FILE *progress, int *applied,
    char *err, size_t errlen);
long long migrate_version(struct db *db);

#endif
