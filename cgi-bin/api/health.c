/* GET /api/health */
#include "api.h"
#include "db.h"
#include "json.h"
#include "migrate.h"

/* "integrity": {"last_run", "findings"} of the latest finished check
 * (nulls when none ran, or when the database cannot say). */
static void
integrity_summary(struct jw *w, struct db *db)
{
	struct db_res *res = NULL;

	jw_key(w, "integrity");
	jw_obj(w);
	if (db && db_query(db, &res, "SELECT DATE_FORMAT(finished_at, '%Y-%m-%dT%H:%i:%sZ'), findings "
	    "FROM integrity_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1", "") == 0 &&
	    res->nrows == 1) {
		jw_kv_str(w, "last_run", db_get(res, 0, 0));
		jw_kv_int(w, "findings", db_getll(res, 0, 1, 0));
	} else {
		jw_kv_null(w, "last_run");
		jw_kv_null(w, "findings");
	}
	db_res_free(res);
	jw_obj_end(w);
}

void
api_health(struct http_req *r, struct api *a, const char *tail)
{
	struct db *db = api_db(a);
	long long version = db ? migrate_version(db) : -1;
	const char *doc;
	size_t len;
	struct jw w;
	int ok = db != NULL && version >= 0;

	(void)tail;
	if (jw_init(&w) < 0) {
		http_error(r, 500, "internal", "out of memory");
		return;
	}
	jw_obj(&w);
	jw_kv_str(&w, "status", ok ? "ok" : "error");
	jw_kv_str(&w, "database", ok ? "ok" : "unreachable");
	if (ok)
		jw_kv_int(&w, "schema_version", version);
	else
		jw_kv_null(&w, "schema_version");
	jw_kv_str(&w, "version", LB_VERSION);
	integrity_summary(&w, ok ? db : NULL);
	jw_obj_end(&w);
	if (jw_finish(&w, &doc, &len) < 0)
		http_error(r, 500, "internal", "cannot generate JSON");
	else
		http_respond_etag(r, ok ? 200 : 503, "application/json", "no-store", doc, len);
	jw_free(&w);
}
