/*
 * stats_load — test helper: applies JSON commands from stdin (one object
 * per line) through lib/store, each in its own transaction, the same write
 * path as lb-hook and lb-syncd:
 *   {"op":"pr","pr":{...GitHub pull request...}}
 *   {"op":"user","user":{...}}   {"op":"repo","repo":{...}}
 *   {"op":"team","team":{...},"org_id":N}
 *   {"op":"team_deleted","team_id":N,"at":"2024-01-01T00:00:00Z"}
 *   {"op":"member_start","team_id":N,"user_id":N,"at":ISO or null}
 *   {"op":"member_end","team_id":N,"user_id":N,"at":ISO}
 *   {"op":"rebuild"}   rollup_check() forced (outside a transaction)
 *   {"op":"check"}     rollup_check() (config fingerprint etc.)
 * Usage: stats_load --config FILE < commands. Exit 0, or 1 naming the line.
 */
#include "buf.h"
#include "conf.h"
#include "date.h"
#include "db.h"
#include "json.h"
#include "rollup.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
when(json_val v, const char *key, char *out, size_t len, const char **res)
{
	const char *s = json_str(v, key);

	*res = NULL;
	if (s == NULL)
		return 0;
	if (date_from_iso(s, out, len) < 0)
		return -1;
	*res = out;
	return 0;
}

static int
apply(struct db *db, struct conf *c, json_val v)
{
	const char *op = json_str(v, "op"), *at;
	char t[40];
	enum store_result res;
	unsigned long long team = (unsigned long long)json_ll(v, "team_id", 0);
	unsigned long long user = (unsigned long long)json_ll(v, "user_id", 0);
	int rebuilt;

	if (op == NULL)
		return -2;
	if (strcmp(op, "check") == 0)
		return rollup_check(db, c, 0, &rebuilt);
	if (when(v, "at", t, sizeof t, &at) < 0)
		return -2;
	if (strcmp(op, "pr") == 0)
		return store_pr(db, c, json_get(v, "pr", NULL), "webhook", &res);
	if (strcmp(op, "user") == 0)
		return store_user(db, json_get(v, "user", NULL));
	if (strcmp(op, "repo") == 0)
		return store_repo(db, c, json_get(v, "repo", NULL));
	if (strcmp(op, "team") == 0)
		return store_team(db, json_get(v, "team", NULL),
		    (unsigned long long)json_ll(v, "org_id", 0));
	if (strcmp(op, "team_deleted") == 0)
		return store_team_deleted(db, team, at);
	if (strcmp(op, "member_start") == 0)
		return store_member_start(db, team, user, at, NULL);
	if (strcmp(op, "member_end") == 0)
		return store_member_end(db, team, user, at);
	if (strcmp(op, "rebuild") == 0)
		return rollup_check(db, c, 1, &rebuilt);
	return -2;
}

int
main(int argc, char **argv)
{
	const char *cfg = NULL;
	struct conf c;
	struct db *db;
	char err[512], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			cfg = argv[++i];
	if (conf_load(&c, conf_path(cfg), err, sizeof err) < 0) {
		fprintf(stderr, "stats_load: %s\n", err);
		return 1;
	}
	rollup_configure(&c);
	db = db_open(&c, err, sizeof err);
	if (db == NULL) {
		fprintf(stderr, "stats_load: %s\n", err);
		return 1;
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		json_val v;
		int rc;

		lineno++;
		if (n <= 1)
			continue;
		v = json_parse(line, (size_t)n, 64, 1 << 24, err, sizeof err);
		if (v == NULL) {
			fprintf(stderr, "stats_load: line %ld: %s\n", lineno, err);
			return 1;
		}
		if (strcmp(json_str(v, "op") ? json_str(v, "op") : "", "check") == 0 ||
		    strcmp(json_str(v, "op") ? json_str(v, "op") : "", "rebuild") == 0)
			rc = apply(db, &c, v);
		else {
			rc = db_begin(db);
			if (rc == 0)
				rc = apply(db, &c, v);
			if (rc == 0)
				rc = db_commit(db);
			else
				db_rollback(db);
		}
		json_free(v);
		if (rc != 0) {
			fprintf(stderr, "stats_load: line %ld: %s\n", lineno,
			    rc == -2 ? "bad command" : db_error(db));
			return 1;
		}
	}
	free(line);
	/* PR changes reach the rollups through the queue (lib/rollup.h) */
	if (rollup_fold(db, 0, NULL) < 0) {
		fprintf(stderr, "stats_load: fold: %s\n", db_error(db));
		return 1;
	}
	db_close(db);
	conf_free(&c);
	return 0;
}
