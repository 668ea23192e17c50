/* GET /api/stats/monthly?year=YYYY[&team=SLUG] (year defaults to this one) */
#include "api.h"
#include "date.h"
#include "json.h"

#include <stdio.h>
#include <time.h>

void
api_monthly(struct http_req *r, struct api *a, const char *tail)
{
	char ys[32], team[401], key[512], last[16];	/* team: a slug, VARCHAR(100) */
	unsigned long long id = 0;
	struct db *db;
	struct jw w;
	int year;

	(void)tail;
	if (api_param(r, "year", ys, sizeof ys) < 0 || api_param(r, "team", team, sizeof team) < 0)
		return;
	if (ys[0] == '\0') {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		year = tm.tm_year + 1900;
	} else if (date_parse_year(ys, &year) < 0) {
		api_fail(r, 400, "bad_parameter", "year: expected a year such as 2024");
		return;
	}
	/* outstanding counts every PR created before each month: the answer
	 * reads every day up to the year's end */
	snprintf(last, sizeof last, "%04d-12-31", year);
	if ((db = api_stats_begin(r, a, NULL, last)) == NULL)
		return;
	snprintf(key, sizeof key, "monthly|%d|%s", year, team);
	if (api_cache_try(r, a, key))
		return;
	if (team[0]) {
		int found = stats_team_find(db, &a->env, team, &id);
		if (found <= 0) {
			api_fail(r, found < 0 ? 500 : 404, found < 0 ? "internal" : "not_found",
			    "team: no such team: %s", team);
			return;
		}
	}
	if (jw_init(&w) < 0) {
		api_fail(r, 500, "internal", "out of memory");
		return;
	}
	jw_obj(&w);
	jw_kv_int(&w, "year", year);
	if (stats_monthly_json(db, year, id, &w) < 0) {
		jw_free(&w);
		api_fail(r, 500, "internal", "statistics query failed");
		return;
	}
	jw_obj_end(&w);
	api_send_json(r, a, key, &w);
	jw_free(&w);
}
