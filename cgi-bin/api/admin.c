/*
 * Admin routes (Authorization: Bearer <[api] admin_token>, the scheme in any
 * case, the token compared in constant time; 401 without it or when no
 * token is configured):
 *   GET /api/admin/jobs[?state=queued|running|done|failed]   newest 200 jobs
 *   GET /api/admin/deliveries[?failed=1]                      newest 200 deliveries
 *   GET /api/admin/integrity                                  latest check and its findings
 *   GET /api/admin/changes[?month=YYYY-MM&limit=N]            late changes to settled months
 *       (stat_changes, sql/012), newest first, 200 unless limit says otherwise
 * Answers are never cached (Cache-Control: no-store) but carry an ETag.
 */
#include "api.h"
#include "buf.h"
#include "changes.h"
#include "date.h"
#include "db.h"
#include "ingest.h"
#include "integrity.h"
#include "jobs.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

static int
authorized(struct http_req *r, struct api *a)
{
	const char *tok = a->conf.admin_token, *given;
	size_t len = 0;

	given = http_bearer(http_header(r, "Authorization"), &len);
	if (tok == NULL || *tok == '\0' || given == NULL) {
		api_fail(r, 401, "unauthorized", "admin routes need Authorization: Bearer <admin_token>");
		return 0;
	}
	if (!http_ct_equal(given, len, tok, strlen(tok))) {
		api_fail(r, 401, "unauthorized", "wrong admin token");
		return 0;
	}
	return 1;
}

/* Rows as objects keyed by column name; types has one letter per column:
 * 'i' integer, 's' string; the columns after the last letter are left out. */
static void
rows_json(struct jw *w, const struct db_res *res, const char *types)
{
	jw_arr(w);
	for (size_t i = 0; i < res->nrows; i++) {
		jw_obj(w);
		for (size_t c = 0; c < res->ncols && types[c]; c++) {
			jw_key(w, res->names[c]);
			if (db_isnull(res, i, c))
				jw_null(w);
			else if (types[c] == 'i')
				jw_int(w, db_getll(res, i, c, 0));
			else
				jw_str(w, db_get(res, i, c));
		}
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void
finish(struct http_req *r, struct jw *w)
{
	const char *doc;
	size_t len;

	if (jw_finish(w, &doc, &len) < 0)
		api_fail(r, 500, "internal", "cannot generate JSON");
	else
		http_respond_etag(r, 200, "application/json", "no-store", doc, len);
	jw_free(w);
}

static struct db *
begin(struct http_req *r, struct api *a)
{
	struct db *db;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return NULL;
	if (!authorized(r, a))
		return NULL;
	db = api_db(a);
	if (db == NULL)
		api_fail(r, 503, "database_unavailable", "the database is unreachable");
	return db;
}

void
api_admin_jobs(struct http_req *r, struct api *a, const char *tail)
{
	struct db_res *res = NULL, *cnt = NULL;
	char state[32];
	struct db *db;
	struct jw w;
	int rc;

	(void)tail;
	if ((db = begin(r, a)) == NULL)
		return;
	if (api_param(r, "state", state, sizeof state) < 0)
		return;
	if (state[0] && !jobs_state_valid(state)) {
		api_fail(r, 400, "bad_parameter", "state: expected queued, running, done or failed");
		return;
	}
	rc = jobs_list(db, state, 200, &res);
	if (rc == 0)
		rc = jobs_counts(db, &cnt);
	if (rc < 0 || jw_init(&w) < 0) {
		api_fail(r, 500, "internal", "cannot read jobs");
		goto out;
	}
	jw_obj(&w);
	jw_key(&w, "counts");
	jw_obj(&w);
	for (size_t i = 0; i < cnt->nrows; i++)
		jw_kv_int(&w, db_get(cnt, i, 0), db_getll(cnt, i, 1, 0));
	jw_obj_end(&w);
	jw_key(&w, "jobs");
	rows_json(&w, res, "isssiiisssssss");	/* id .. updated_at */
	jw_obj_end(&w);
	finish(r, &w);
out:
	db_res_free(res);
	db_res_free(cnt);
}

void
api_admin_deliveries(struct http_req *r, struct api *a, const char *tail)
{
	struct db_res *res = NULL;
	char failed[8];
	struct db *db;
	struct jw w;

	(void)tail;
	if ((db = begin(r, a)) == NULL)
		return;
	if (api_param(r, "failed", failed, sizeof failed) < 0)
		return;
	if (failed[0] && strcmp(failed, "1") && strcmp(failed, "0") && strcmp(failed, "true") &&
	    strcmp(failed, "false")) {
		api_fail(r, 400, "bad_parameter", "failed: expected 1 or 0");
		return;
	}
	if (ingest_list(db, strcmp(failed, "1") == 0 || strcmp(failed, "true") == 0, 200, &res) < 0 ||
	    jw_init(&w) < 0) {
		api_fail(r, 500, "internal", "cannot read deliveries");
		db_res_free(res);
		return;
	}
	jw_obj(&w);
	jw_key(&w, "deliveries");
	rows_json(&w, res, "sssisssssi");
	jw_obj_end(&w);
	finish(r, &w);
	db_res_free(res);
}

void
api_admin_integrity(struct http_req *r, struct api *a, const char *tail)
{
	struct db_res *run = NULL, *f = NULL, *u = NULL;
	unsigned long long id = 0;
	struct db *db;
	struct jw w;
	int rc;

	(void)tail;
	if ((db = begin(r, a)) == NULL)
		return;
	rc = integrity_run_get(db, 0, &run);
	if (rc == 0 && run->nrows)
		id = strtoull(db_get(run, 0, INTEGRITY_RUN_ID), NULL, 10);
	if (rc == 0)
		rc = integrity_findings_list(db, id, 1000, &f);
	if (rc == 0)	/* what the run could not verify is not clean either */
		rc = integrity_unverified_list(db, id, 1000, &u);
	if (rc < 0 || jw_init(&w) < 0) {
		api_fail(r, 500, "internal", "cannot read integrity runs");
		goto out;
	}
	jw_obj(&w);
	jw_key(&w, "run");
	if (run->nrows == 0)
		jw_null(&w);
	else {
		jw_obj(&w);
		jw_kv_int(&w, "id", db_getll(run, 0, INTEGRITY_RUN_ID, 0));
		jw_kv_str(&w, "started_at", db_get(run, 0, INTEGRITY_RUN_STARTED_AT));
		jw_kv_str(&w, "finished_at", db_get(run, 0, INTEGRITY_RUN_FINISHED_AT));
		jw_kv_int(&w, "findings", db_getll(run, 0, INTEGRITY_RUN_FINDINGS, 0));
		jw_kv_int(&w, "requests", db_getll(run, 0, INTEGRITY_RUN_REQUESTS, 0));
		jw_kv_int(&w, "unverified", db_getll(run, 0, INTEGRITY_RUN_UNVERIFIED, 0));
		jw_obj_end(&w);
	}
	jw_key(&w, "findings");
	rows_json(&w, f, "issssi");
	jw_key(&w, "unverified");
	rows_json(&w, u, "sss");
	jw_obj_end(&w);
	finish(r, &w);
out:
	db_res_free(run);
	db_res_free(f);
	db_res_free(u);
}

void
api_admin_changes(struct http_req *r, struct api *a, const char *tail)
{
	struct db_res *res = NULL;
	char month[16];
	long long limit;
	struct db *db;
	struct jw w;
	int y = 0, m = 0;

	(void)tail;
	if ((db = begin(r, a)) == NULL)
		return;
	if (api_param(r, "month", month, sizeof month) < 0 || api_limit(r, 200, &limit) < 0)
		return;
	if (month[0] && date_parse_month(month, &y, &m) < 0) {
		api_fail(r, 400, "bad_parameter", "month: expected a month such as 2024-03");
		return;
	}
	if (changes_list(db, y, m, limit, &res) < 0 || jw_init(&w) < 0) {
		api_fail(r, 500, "internal", "cannot read late changes");
		db_res_free(res);
		return;
	}
	jw_obj(&w);
	jw_kv_int(&w, "settle_days", a->conf.settle_days);
	jw_key(&w, "changes");
	rows_json(&w, res, "issssiisiis");	/* id .. changed_at */
	jw_obj_end(&w);
	finish(r, &w);
	db_res_free(res);
}
