/* GET /api/health */
#include "api.h"
#include "db.h"
#include "json.h"
#include "migrate.h"

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
	jw_obj_end(&w);
	if (jw_finish(&w, &doc, &len) < 0)
		http_error(r, 500, "internal", "cannot generate JSON");
	else
		http_respond_etag(r, ok ? 200 : 503, "application/json", "no-store", doc, len);
	jw_free(&w);
}
