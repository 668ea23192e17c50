/* GET /api/teams/{slug}: a team's leaderboard row plus its members, each
 * with per-repository counts and github.com search links. 404 for a slug
 * that is not a ranked team (unknown, deleted or excluded).
 *
 * {slug} is one percent-encoded path segment and may hold any character a
 * slug has (GitHub's, or whatever a team webhook carried): ' ', '%', '/',
 * '?', non-ASCII... It is decoded here from the raw REQUEST_URI, because
 * nginx's DOCUMENT_URI has %2F already turned into '/' (and dot segments
 * resolved); when the raw path does not start with /api/teams/ (nginx
 * normalised it), the tail of DOCUMENT_URI is the slug. */
#include "api.h"
#include "json.h"
#include "period.h"

#include <stdio.h>
#include <string.h>

#define SLUG_MAX 400	/* teams.slug is VARCHAR(100): up to 4 bytes a character */

/* The slug of this request into out (NUL-terminated); 0, or -1 when it
 * cannot be a slug (empty, too long, a bad escape or a NUL byte). */
static int
slug_of(struct http_req *r, const char *tail, char *out, size_t outlen)
{
	static const char route[] = "/api/teams/";
	const char *raw = http_param(r, "REQUEST_URI");
	long n;

	if (raw && strncmp(raw, route, sizeof route - 1) == 0) {
		const char *seg = raw + sizeof route - 1;
		size_t len = strcspn(seg, "?");
		n = http_urldecode(seg, len, out, outlen, 0);
		if (n <= 0 || memchr(out, '\0', (size_t)n) != NULL)
			return -1;
		return 0;
	}
	n = (long)strlen(tail);
	if (n == 0 || (size_t)n >= outlen)
		return -1;
	memcpy(out, tail, (size_t)n + 1);
	return 0;
}

void
api_team(struct http_req *r, struct api *a, const char *tail)
{
	char slug[SLUG_MAX + 1];
	struct stats_board b;
	struct period p;
	enum stats_sort sort;
	unsigned long long id = 0;
	struct stats_team *t = NULL;
	struct db *db;
	struct jw w;
	char key[SLUG_MAX + 128];
	int found;

	if (api_period(r, &p) < 0 || api_sort(r, &sort, 1) < 0)
		return;
	if (slug_of(r, tail, slug, sizeof slug) < 0) {
		api_fail(r, 404, "not_found", "no such team");
		return;
	}
	if ((db = api_stats_begin(r, a, p.from, p.to)) == NULL)
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
