/* GET /api/teams/{slug}: a team's leaderboard row plus its members, each
 * with per-repository counts and github.com search links. 404 for a slug
 * that is not a ranked team (unknown, deleted or excluded). */
#include "api.h"
#include "json.h"
#include "period.h"

#include <stdio.h>
#include <string.h>

static int
slug_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 100)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

void
api_team(struct http_req *r, struct api *a, const char *slug)
{
	struct stats_board b;
	struct period p;
	enum stats_sort sort;
	unsigned long long id = 0;
	struct stats_team *t = NULL;
	struct db *db;
	struct jw w;
	char key[256];
	int found;

	if (api_period(r, &p) < 0 || api_sort(r, &sort, 1) < 0)
		return;
	if (!slug_ok(slug)) {
		api_fail(r, 404, "not_found", "no such team");
		return;
	}
	if ((db = api_stats_begin(r, a)) == NULL)
		return;
	snprintf(key, sizeof key, "team|%s|%s|%s|%s|%s|%s", slug, period_kind_name(p.kind),
	    p.value, p.from, p.to, stats_sort_name(sort));
	if (api_cache_try(r, a, key))
		return;
	found = stats_team_find(db, &a->env, slug, &id);
	if (found < 0) {
		api_fail(r, 500, "internal", "statistics query failed");
		return;
	}
	if (found == 0) {
		api_fail(r, 404, "not_found", "no such team: %s", slug);
		return;
	}
	/* the team's rank needs every team's counters, but only its own labels
	 * (unless sorting by points) */
	if (stats_board_for(db, &a->env, &p, sort, id, &b) < 0) {
		stats_board_free(&b);
		api_fail(r, 500, "internal", "statistics query failed");
		return;
	}
	for (size_t i = 0; i < b.n; i++)
		if (b.teams[i].id == id)
			t = &b.teams[i];
	if (t == NULL || jw_init(&w) < 0) {
		stats_board_free(&b);
		api_fail(r, t ? 500 : 404, t ? "internal" : "not_found", "no such team: %s", slug);
		return;
	}
	jw_obj(&w);
	stats_period_json(&w, &p);
	stats_team_json(&w, t, 0);
	if (stats_team_members_json(db, &a->env, &p, id, sort, &w) < 0) {
		jw_free(&w);
		stats_board_free(&b);
		api_fail(r, 500, "internal", "statistics query failed");
		return;
	}
	jw_obj_end(&w);
	api_send_json(r, a, key, &w);
	jw_free(&w);
	stats_board_free(&b);
}
