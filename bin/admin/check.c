/*
 * lb-admin check [--repair] [--json]
 *   Runs the integrity checks now (lib/integrity) and prints the run's
 *   findings: an aligned table (CHECK, SUBJECT, DETAIL, REPAIR JOB), what
 *   the run could not verify ("not verified:" lines: a check skipped for
 *   configuration or budget, a count GitHub could not give) and a summary
 *   line, or with --json one document for scripts:
 *     {"run": {"id", "started_at", "finished_at", "repair", "status",
 *      "error", "findings", "unverified", "repairs_queued", "requests",
 *      "not_modified", "milliseconds"}, "counts": {"freshness": n, ...},
 *      "findings": [{"check", "subject", "detail", "found_at",
 *      "repair_job_id"}], "unverified": [{"check", "subject", "detail"}]}
 *   (at most INTEGRITY_MAX_LISTED findings per check are listed; counts
 *   has them all). --repair queues the repairs for lb-syncd.
 *   Exit 0 when every check ran (findings or not), 1 when a check could not
 *   run (the reason on stderr; the others' findings are still printed).
 */
#include "admin.h"
#include "buf.h"
#include "db.h"
#include "integrity.h"
#include "json.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cmd_check(struct admin *a, int argc, char **argv);

static int
print_json(const struct integrity_result *res, struct db_res *run, struct db_res *f, struct db_res *u)
{
	const char *out;
	size_t len;
	struct jw w;
	int rc = 0;

	if (jw_init(&w) < 0)
		return -1;
	jw_obj(&w);
	jw_key(&w, "run");
	jw_obj(&w);
	jw_kv_int(&w, "id", (long long)res->run_id);
	jw_kv_str(&w, "started_at", run->nrows ? db_get(run, 0, INTEGRITY_RUN_STARTED_AT) : NULL);
	jw_kv_str(&w, "finished_at", run->nrows ? db_get(run, 0, INTEGRITY_RUN_FINISHED_AT) : NULL);
	jw_kv_bool(&w, "repair", run->nrows ? db_getll(run, 0, INTEGRITY_RUN_REPAIR, 0) != 0 : 0);
	jw_kv_str(&w, "status", run->nrows ? db_get(run, 0, INTEGRITY_RUN_STATUS) : NULL);
	jw_kv_str(&w, "error", res->error[0] ? res->error : NULL);
	jw_kv_int(&w, "findings", res->findings);
	jw_kv_int(&w, "unverified", res->unverified);
	jw_kv_int(&w, "repairs_queued", res->jobs);
	jw_kv_int(&w, "requests", (long long)res->requests);
	jw_kv_int(&w, "not_modified", (long long)res->not_modified);
	jw_kv_int(&w, "milliseconds", (long long)(res->seconds * 1000.0 + 0.5));
	jw_obj_end(&w);
	jw_key(&w, "counts");
	jw_obj(&w);
	for (int i = 0; i < INTEGRITY_NCHECKS; i++)
		jw_kv_int(&w, integrity_check_names[i], res->per_check[i]);
	jw_obj_end(&w);
	jw_key(&w, "findings");
	jw_arr(&w);
	for (size_t i = 0; i < f->nrows; i++) {
		jw_obj(&w);
		jw_kv_str(&w, "check", db_get(f, i, INTEGRITY_FINDING_CHECK));
		jw_kv_str(&w, "subject", db_get(f, i, INTEGRITY_FINDING_SUBJECT));
		jw_kv_str(&w, "detail", db_get(f, i, INTEGRITY_FINDING_DETAIL));
		jw_kv_str(&w, "found_at", db_get(f, i, INTEGRITY_FINDING_FOUND_AT));
		if (db_isnull(f, i, INTEGRITY_FINDING_REPAIR_JOB_ID))
			jw_kv_null(&w, "repair_job_id");
		else
			jw_kv_int(&w, "repair_job_id", db_getll(f, i, INTEGRITY_FINDING_REPAIR_JOB_ID, 0));
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "unverified");
	jw_arr(&w);
	for (size_t i = 0; i < u->nrows; i++) {
		jw_obj(&w);
		jw_kv_str(&w, "check", db_get(u, i, INTEGRITY_UNVERIFIED_CHECK));
		jw_kv_str(&w, "subject", db_get(u, i, INTEGRITY_UNVERIFIED_SUBJECT));
		jw_kv_str(&w, "detail", db_get(u, i, INTEGRITY_UNVERIFIED_DETAIL));
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (jw_finish(&w, &out, &len) < 0)
		rc = -1;
	else {
		fwrite(out, 1, len, stdout);
		fputc('\n', stdout);
	}
	jw_free(&w);
	return rc;
}

/* Text from GitHub may hold control characters: never send them to a
 * terminal. */
static void
sanitize(struct db_res *f)
{
	for (size_t i = 0; i < f->nrows * f->ncols; i++)
		for (char *p = f->val[i]; p && *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
}

static void
print_table(const struct integrity_result *res, struct db_res *f, struct db_res *u, int tty)
{
	int wc = 5, ws = 7, wd = 6;
	const int maxs = 48, maxd = 72;

	enum { CHECK = INTEGRITY_FINDING_CHECK, SUBJECT = INTEGRITY_FINDING_SUBJECT,
		DETAIL = INTEGRITY_FINDING_DETAIL, JOB = INTEGRITY_FINDING_REPAIR_JOB_ID };

	for (size_t i = 0; i < f->nrows; i++) {
		int l0 = (int)strlen(admin_cell(f, i, CHECK, "")), l1 = (int)strlen(admin_cell(f, i, SUBJECT, ""));
		int l2 = (int)strlen(admin_cell(f, i, DETAIL, ""));
		if (l0 > wc) wc = l0;
		if (l1 > ws) ws = l1;
		if (l2 > wd) wd = l2;
	}
	if (tty) {		/* keep a row on one line of a terminal */
		if (ws > maxs) ws = maxs;
		if (wd > maxd) wd = maxd;
	}
	if (f->nrows) {
		printf("%-*s  %-*s  %-*s  %s\n", wc, "CHECK", ws, "SUBJECT", wd, "DETAIL", "REPAIR JOB");
		for (size_t i = 0; i < f->nrows; i++)
			printf("%-*s  %-*.*s  %-*.*s  %s\n", wc, admin_cell(f, i, CHECK, ""), ws, ws,
			    admin_cell(f, i, SUBJECT, ""), wd, wd, admin_cell(f, i, DETAIL, ""),
			    admin_cell(f, i, JOB, "-"));
		if ((long)f->nrows < res->findings)
			printf("(%ld more findings not listed)\n", res->findings - (long)f->nrows);
		printf("\n");
	}
	for (size_t i = 0; i < u->nrows; i++)
		printf("not verified: %s %s: %s\n", admin_cell(u, i, INTEGRITY_UNVERIFIED_CHECK, ""),
		    admin_cell(u, i, INTEGRITY_UNVERIFIED_SUBJECT, ""),
		    admin_cell(u, i, INTEGRITY_UNVERIFIED_DETAIL, ""));
	if ((long)u->nrows < res->unverified)
		printf("(%ld more not verified, not listed)\n", res->unverified - (long)u->nrows);
	if (u->nrows)
		printf("\n");
	printf("check run %llu: %ld finding%s (", res->run_id, res->findings, res->findings == 1 ? "" : "s");
	for (int i = 0; i < INTEGRITY_NCHECKS; i++)
		printf("%s%s %ld", i ? ", " : "", integrity_check_names[i], res->per_check[i]);
	printf("), %ld not verified", res->unverified);
	printf(", %ld repair%s queued, %lu GitHub request%s (%lu not modified), %.2f s\n", res->jobs,
	    res->jobs == 1 ? "" : "s", res->requests, res->requests == 1 ? "" : "s", res->not_modified,
	    res->seconds);
	if (res->findings && res->jobs == 0)
		printf("run `lb-admin check --repair` to queue the repairs for lb-syncd\n");
}

int
cmd_check(struct admin *a, int argc, char **argv)
{
	struct integrity_result res;
	struct db_res *run = NULL, *f = NULL, *u = NULL;
	struct db *db;
	int repair = 0, json = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--repair") == 0)
			repair = 1;
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			admin_err("usage: check [--repair] [--json]");
			return 2;
		}
	}
	if ((db = admin_db(a)) == NULL)
		return 1;
	rc = integrity_check(&a->conf, db, NULL, repair, &res);
	if (rc < 0) {
		admin_err("check: %s", res.error);
		return 1;
	}
	/* res.run_id is this run's (never 0 once integrity_check() returned) */
	if (integrity_run_get(db, res.run_id, &run) < 0 ||
	    integrity_findings_list(db, res.run_id, LLONG_MAX, &f) < 0 ||
	    integrity_unverified_list(db, res.run_id, LLONG_MAX, &u) < 0) {
		admin_err("check: %s", db_error(db));
		db_res_free(run);
		db_res_free(f);
		return 1;
	}
	if (json) {
		if (print_json(&res, run, f, u) < 0) {
			admin_err("check: cannot generate JSON");
			rc = 1;
		}
	} else {
		sanitize(f);
		sanitize(u);
		print_table(&res, f, u, isatty(STDOUT_FILENO));
	}
	fflush(stdout);
	db_res_free(run);
	db_res_free(f);
	db_res_free(u);
	if (rc != 0) {
		admin_err("check incomplete: %s", res.error[0] ? res.error : "see the log");
		return 1;
	}
	return 0;
}
