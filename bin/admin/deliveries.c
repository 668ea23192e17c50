/*
 * lb-admin deliveries [--failed] [--limit N]
 *   Lists stored webhook deliveries, newest first (default 100), one per
 *   line, tab-separated: id, event, action, outcome, received_at, error.
 * lb-admin replay DELIVERY_ID|--all
 *   Re-applies stored bodies (lib/ingest: idempotent), oldest first with
 *   --all, printing "ID<TAB>outcome" per delivery. Exit 1 when one could not
 *   be applied (unknown id, invalid payload, database error).
 */
#include "admin.h"
#include "buf.h"
#include "db.h"
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An error on one line of the tab-separated listing. */
static const char *
one_line(const char *s, char *out, size_t outlen)
{
	if (s == NULL)
		return "-";
	lb_strlcpy(out, s, outlen);
	for (char *p = out; *p; p++)
		if (*p == '\t' || *p == '\n')
			*p = ' ';
	return out;
}

int
cmd_deliveries(struct admin *a, int argc, char **argv)
{
	struct db_res *r;
	struct db *db;
	long long limit = 100;
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--failed") == 0)
			failed = 1;
		else if (!admin_limit_opt(argc, argv, &i, &limit)) {
			admin_err("usage: deliveries [--failed] [--limit N]");
			return 2;
		}
	}
	if ((db = admin_db(a)) == NULL)
		return 1;
	if (ingest_list(db, failed, limit, &r) < 0) {
		admin_err("deliveries: %s", db_error(db));
		return 1;
	}
	printf("ID\tEVENT\tACTION\tOUTCOME\tRECEIVED\tERROR\n");
	for (size_t i = 0; i < r->nrows; i++) {
		char at[32], err[4100];	/* error: VARCHAR(1024) of utf8mb4 */

		printf("%s\t%s\t%s\t%s\t%s\t%s\n", admin_cell(r, i, INGEST_COL_ID, "-"),
		    admin_cell(r, i, INGEST_COL_EVENT, "-"), admin_cell(r, i, INGEST_COL_ACTION, "-"),
		    admin_cell(r, i, INGEST_COL_OUTCOME, "-"),
		    admin_time(r, i, INGEST_COL_RECEIVED_AT, at, sizeof at, "-"),
		    one_line(db_get(r, i, INGEST_COL_ERROR), err, sizeof err));
	}
	db_res_free(r);
	return 0;
}

static int
replay_one(struct admin *a, struct db *db, const char *id)
{
	char err[512];
	enum ingest_status st = ingest_replay(db, &a->conf, id, err, sizeof err);

	printf("%s\t%s\n", id, ingest_status_name(st));
	fflush(stdout);
	if (st == INGEST_PROCESSED || st == INGEST_IGNORED)
		return 0;
	admin_err("replay %s: %s", id, err[0] ? err : ingest_status_name(st));
	return -1;
}

int
cmd_replay(struct admin *a, int argc, char **argv)
{
	struct db_res *r;
	struct db *db;
	int bad = 0;

	if (argc != 2 || (argv[1][0] == '-' && strcmp(argv[1], "--all") != 0)) {
		admin_err("usage: replay DELIVERY_ID|--all");
		return 2;
	}
	if ((db = admin_db(a)) == NULL)
		return 1;
	if (strcmp(argv[1], "--all") != 0)
		return replay_one(a, db, argv[1]) < 0 ? 1 : 0;
	/* ids only: bodies are fetched one at a time */
	if (db_query(db, &r, "SELECT id FROM deliveries ORDER BY received_at, id", "") < 0) {
		admin_err("replay: %s", db_error(db));
		return 1;
	}
	for (size_t i = 0; i < r->nrows; i++)
		if (replay_one(a, db, db_get(r, i, 0)) < 0)
			bad++;
	printf("%zu replayed, %d failed\n", r->nrows - (size_t)bad, bad);
	db_res_free(r);
	return bad ? 1 : 0;
}
