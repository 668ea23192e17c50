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

static const char *
cell(const struct db_res *r, size_t row, size_t col)
{
	const char *v = db_get(r, row, col);

	return v ? v : "-";
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
		else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc &&
		    lb_parse_ll(argv[i + 1], 1, 1000000000, &limit) == 0)
			i++;
		else {
			admin_err("usage: deliveries [--failed] [--limit N]");
			return 2;
		}
	}
	if ((db = admin_db(a)) == NULL)
		return 1;
	if (db_query(db, &r,
	    "SELECT id, event, action, outcome, DATE_FORMAT(received_at, '%Y-%m-%d %H:%i:%s'), "
	    "REPLACE(REPLACE(error, '\\t', ' '), '\\n', ' ') FROM deliveries "
	    "WHERE (? = 0 OR outcome = 'failed') ORDER BY received_at DESC, id LIMIT ?",
	    "ii", (long long)failed, limit) < 0) {
		admin_err("deliveries: %s", db_error(db));
		return 1;
	}
	printf("ID\tEVENT\tACTION\tOUTCOME\tRECEIVED\tERROR\n");
	for (size_t i = 0; i < r->nrows; i++)
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", cell(r, i, 0), cell(r, i, 1), cell(r, i, 2),
		    cell(r, i, 3), cell(r, i, 4), cell(r, i, 5));
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
