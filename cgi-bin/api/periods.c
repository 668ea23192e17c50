/* GET /api/periods: months, quarters and years with data, newest first
 * (from the first counted PR up to the current month, UTC). */
#include "api.h"
#include "json.h"

#include <time.h>

void
api_periods(struct http_req *r, struct api *a, const char *tail)
{
	char today[16];
	time_t now = time(NULL);
	struct tm tm;
	struct db *db;
	struct jw w;

	(void)tail;
	if ((db = api_stats_begin(r, a, NULL, NULL)) == NULL)
		return;
	if (api_cache_try(r, a, "periods"))
		return;
	gmtime_r(&now, &tm);
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	if (jw_init(&w) < 0) {
		api_fail(r, 500, "internal", "out of memory");
		return;
	}
	jw_obj(&w);
	if (stats_periods_json(db, today, &w) < 0) {
		jw_free(&w);
		api_fail(r, 500, "internal", "statistics query failed");
		return;
	}
	jw_obj_end(&w);
	api_send_json(r, a, "periods", &w);
	jw_free(&w);
}
