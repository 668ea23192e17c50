/* GET /api/contributors?period=...&team=SLUG&sort=&limit= (default 100) */
#include "api.h"
#include "json.h"
#include "period.h"

#include <stdio.h>

void
api_contributors(struct http_req *r, struct api *a, const char *tail)
{
	struct period p;
	enum stats_sort sort;
	long long limit;
	unsigned long long id = 0;
	struct db *db;
	struct jw w;
	char team[401], key[640];	/* team: a slug, VARCHAR(100) */
	int has_team;

	(void)tail;
	if (api_period(r, &p) < 0 || api_sort(r, &sort, 0) < 0 || api_limit(r, 100, &limit) < 0 ||
	    (has_team = api_param(r, "team", team, sizeof team)) < 0)
		return;
	if ((db = api_stats_begin(r, a, p.from, p.to)) == NULL)
		return;
	snprintf(key, sizeof key, "contrib|%s|%s|%s|%s|%s|%lld|%s", period_kind_name(p.kind),
	    p.value, p.from, p.to, stats_sort_name(sort), limit, team);
	if (api_cache_try(r, a, key))
		return;
	if (team[0]) {
		int found = stats_team_find(db, &a->env, team, &id);
		if (found < 0) {
			api_fail(r, 500, "internal", "statistics query failed");
			return;
		}
		if (found == 0) {
			api_fail(r, 404, "not_found", "team: no such team: %s", team);
			return;
		}
	}
	if (jw_init(&w) < 0) {
		api_fail(r, 500, "internal", "out of memory");
		return;
	}
	jw_obj(&w);
	stats_period_json(&w, &p);
	if (stats_contributors_json(db, &a->env, &p, id, sort, limit, &w) < 0) {
		jw_free(&w);
		api_fail(r, 500, "internal", "statistics query failed");
		return;
	}
	jw_obj_end(&w);
	api_send_json(r, a, key, &w);
	jw_free(&w);
}
