/* GET /api/leaderboard and /api/leaderboard.csv */
#include "api.h"
#include "buf.h"
#include "json.h"
#include "period.h"

#include <stdio.h>

struct lb_args {
	struct period   p;
	enum stats_sort sort;
	long long       limit;
	char            key[192];
};

/* 0, or -1 after a 400/503 answer. */
static int
args(struct http_req *r, struct lb_args *x, const char *route)
{
	if (api_period(r, &x->p) < 0 || api_sort(r, &x->sort, 1) < 0 ||
	    api_limit(r, 10000, &x->limit) < 0)
		return -1;
	snprintf(x->key, sizeof x->key, "%s|%s|%s|%s|%s|%s|%lld", route,
	    period_kind_name(x->p.kind), x->p.value, x->p.from, x->p.to,
	    stats_sort_name(x->sort), x->limit);
	return 0;
}

void
api_leaderboard(struct http_req *r, struct api *a, const char *tail)
{
	struct stats_board b;
	struct lb_args x;
	struct db *db;
	struct jw w;

	(void)tail;
	if (args(r, &x, "lb") < 0 || (db = api_stats_begin(r, a, x.p.from, x.p.to)) == NULL)
		return;
	if (api_cache_try(r, a, x.key))
		return;
	if (stats_board(db, &a->env, &x.p, x.sort, &b) < 0) {
		api_fail(r, 500, "internal", "statistics query failed");
		stats_board_free(&b);
		return;
	}
	if (jw_init(&w) < 0) {
		api_fail(r, 500, "internal", "out of memory");
		stats_board_free(&b);
		return;
	}
	jw_obj(&w);
	stats_period_json(&w, &x.p);
	jw_key(&w, "totals");
	jw_obj(&w);
	jw_kv_int(&w, "teams", (long long)b.n);
	jw_kv_int(&w, "members", b.totals.members);
	jw_kv_int(&w, "created", b.totals.created);
	jw_kv_int(&w, "merged", b.totals.merged);
	jw_kv_int(&w, "rejected", b.totals.rejected);
	jw_kv_int(&w, "open", b.totals.open);
	jw_kv_int(&w, "partner_created", b.totals.partner_created);
	jw_kv_int(&w, "oss_created", b.totals.oss_created);
	jw_kv_int(&w, "points", b.totals.points);
	jw_obj_end(&w);
	jw_key(&w, "teams");
	jw_arr(&w);
	for (size_t i = 0; i < b.n && (long long)i < x.limit; i++) {
		jw_obj(&w);
		stats_team_json(&w, &b.teams[i], 1);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	api_send_json(r, a, x.key, &w);
	jw_free(&w);
	stats_board_free(&b);
}

void
api_leaderboard_csv(struct http_req *r, struct api *a, const char *tail)
{
	struct stats_board b;
	struct buf out = BUF_INIT;
	struct lb_args x;
	struct db *db;

	(void)tail;
	if (args(r, &x, "csv") < 0 || (db = api_stats_begin(r, a, x.p.from, x.p.to)) == NULL)
		return;
	if (api_cache_try(r, a, x.key))
		return;
	if (stats_board(db, &a->env, &x.p, x.sort, &b) < 0) {
		api_fail(r, 500, "internal", "statistics query failed");
		stats_board_free(&b);
		return;
	}
	if (stats_board_csv(&b, (size_t)x.limit, &out) < 0)
		api_fail(r, 500, "internal", "out of memory");
	else
		api_send(r, a, x.key, 200, "text/csv; charset=utf-8; header=present",
		    out.data ? out.data : "", out.len);
	buf_free(&out);
	stats_board_free(&b);
}
