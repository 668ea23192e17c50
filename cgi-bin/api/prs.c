/*
 * The PRs behind a number, and one PR's story (docs/STATS.md "The PRs
 * behind a number").
 *
 *   GET /api/prs[.csv]?team=SLUG|scope=partner|all [&author=LOGIN]
 *       &metric=created|merged|rejected|open|points|partner_created|
 *               oss_created|processed|outstanding
 *       &period=...  &order=desc|asc  &page=N  &per_page=N
 *     exactly the PRs a counter of /api/leaderboard, /api/teams,
 *     /api/contributors or /api/stats/monthly counts, newest event first
 *     (order=asc: oldest), each with why it counted: the membership
 *     intervals that attributed it. Without team, scope=partner is the
 *     leaderboard's totals (PRs of at least one ranked team), scope=all
 *     (the default) every counted PR (contributors, monthly without team).
 *     JSON pages hold up to 500 PRs (default 50), CSV up to 10,000 (the
 *     default: the whole list of any ordinary number).
 *   GET /api/prs/{owner}/{repo}/{number}[?period=...]
 *     whether the PR counts and for which team, through which membership,
 *     or why not; with a period, which of its events fall in it; and the
 *     deliveries and syncs that wrote it (pr_history).
 *
 * The list is read from the rollups the counters come from (stat_pr_scope
 * carries the event times, sql/012): one ordered index range per page.
 */
#include "api.h"
#include "buf.h"
#include "db.h"
#include "json.h"
#include "period.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ISO(c) "DATE_FORMAT(" c ", '%Y-%m-%dT%H:%i:%sZ')"
#define JSON_PER_PAGE 50
#define JSON_MAX_PER_PAGE 500
#define CSV_MAX_PER_PAGE 10000

enum metric { M_CREATED, M_MERGED, M_REJECTED, M_OPEN, M_POINTS, M_PARTNER, M_OSS,
	M_PROCESSED, M_OUTSTANDING, M_N };

static const char *const metric_names[M_N] = {
	"created", "merged", "rejected", "open", "points", "partner_created", "oss_created",
	"processed", "outstanding",
};

/*
 * The event time a metric orders by and its condition over the period.
 * The bounds are placeholders of the condition itself (never columns of a
 * derived table: the optimizer then reads the whole scope instead of the
 * index range): 'a' binds the period's start, 'b' its end, in the order
 * of `args`. "All" binds the widest bounds with an inclusive end (lo/hi
 * texts); the other periods are [start, end).
 */
static const struct {
	const char *ev, *range, *all, *args;
	int join_pr;	/* needs stat_pr s (open / partner flags) */
} metric_sql[M_N] = {
	[M_CREATED] = { "sc.created_at", "sc.created_at >= ? AND sc.created_at < ?",
	    "sc.created_at >= ? AND sc.created_at <= ?", "ab", 0 },
	[M_MERGED] = { "sc.merged_at", "sc.merged_at >= ? AND sc.merged_at < ?",
	    "sc.merged_at >= ? AND sc.merged_at <= ?", "ab", 0 },
	[M_REJECTED] = { "sc.rejected_at", "sc.rejected_at >= ? AND sc.rejected_at < ?",
	    "sc.rejected_at >= ? AND sc.rejected_at <= ?", "ab", 0 },
	[M_OPEN] = { "sc.created_at", "sc.created_at >= ? AND sc.created_at < ? AND s.open = 1",
	    "sc.created_at >= ? AND sc.created_at <= ? AND s.open = 1", "ab", 1 },
	[M_POINTS] = { "sc.merged_at", "sc.merged_at >= ? AND sc.merged_at < ?",
	    "sc.merged_at >= ? AND sc.merged_at <= ?", "ab", 0 },
	[M_PARTNER] = { "sc.created_at", "sc.created_at >= ? AND sc.created_at < ? AND s.partner = 1",
	    "sc.created_at >= ? AND sc.created_at <= ? AND s.partner = 1", "ab", 1 },
	[M_OSS] = { "sc.created_at", "sc.created_at >= ? AND sc.created_at < ? AND s.partner = 0",
	    "sc.created_at >= ? AND sc.created_at <= ? AND s.partner = 0", "ab", 1 },
	[M_PROCESSED] = { "COALESCE(sc.merged_at, sc.rejected_at)",
	    "((sc.merged_at >= ? AND sc.merged_at < ?) OR (sc.rejected_at >= ? AND sc.rejected_at < ?))",
	    "((sc.merged_at >= ? AND sc.merged_at <= ?) OR "
	    "(sc.rejected_at >= ? AND sc.rejected_at <= ?))", "abab", 0 },
	/* open at the end of the period: created before it, not merged or
	 * rejected before it (the monthly "outstanding") */
	[M_OUTSTANDING] = { "sc.created_at",
	    "sc.created_at < ? AND (sc.merged_at IS NULL OR sc.merged_at >= ?) "
	    "AND (sc.rejected_at IS NULL OR sc.rejected_at >= ?)",
	    "sc.created_at <= ? AND (sc.merged_at IS NULL OR sc.merged_at > ?) "
	    "AND (sc.rejected_at IS NULL OR sc.rejected_at > ?)", "bbb", 0 },
};

struct list_args {
	struct period p;
	enum metric metric;
	int asc, csv;
	unsigned kind;			/* 0 team, 1 partner, 2 all */
	unsigned long long scope;	/* team id */
	unsigned long long author;	/* 0 = any */
	char team[128], author_login[128];
	long long page, per_page;
	char key[512];
};

/* ------------------------------------------------------------ the SQL */

/*
 * The statement texts of one list. Parameters, in this order: kind,
 * scope, the period bounds of the metric (metric_sql.args), the author
 * (0 = any); the page adds LIMIT, OFFSET; "why" then the team twice.
 */
struct list_sql {
	struct buf from;	/* "FROM ... WHERE ..." */
	struct buf page;	/* "(SELECT sc.pr_id, ev ... LIMIT ? OFFSET ?) x" */
};

static int
build_sql(const struct list_args *x, struct list_sql *q)
{
	const char *dir = x->asc ? "ASC" : "DESC";
	int join = metric_sql[x->metric].join_pr || x->author;

	memset(q, 0, sizeof *q);
	if (buf_printf(&q->from,
	    "FROM stat_pr_scope sc %s WHERE sc.kind = ? AND sc.scope_id = ? AND %s AND %s",
	    join ? "JOIN stat_pr s ON s.pr_id = sc.pr_id" : "",
	    x->p.kind == PERIOD_ALL ? metric_sql[x->metric].all : metric_sql[x->metric].range,
	    x->author ? "s.author_id = ?" : "? = 0") < 0)
		return -1;
	if (buf_printf(&q->page, "(SELECT sc.pr_id, %s AS ev %s ORDER BY %s %s, sc.pr_id %s "
	    "LIMIT ? OFFSET ?) x", metric_sql[x->metric].ev, q->from.data, metric_sql[x->metric].ev,
	    dir, dir) < 0)
		return -1;
	return 0;
}

static void
list_sql_free(struct list_sql *q)
{
	buf_free(&q->from);
	buf_free(&q->page);
}

/*
 * Runs one statement of a list: tail 0 binds the base parameters, 1 also
 * the page's LIMIT and OFFSET, 2 also the team of "why" (twice).
 */
static int
list_run(struct db *db, struct db_res **out, const char *sql, const struct list_args *x, int tail)
{
	const char *lo = x->p.kind == PERIOD_ALL ? "1000-01-01 00:00:00" : x->p.start;
	const char *hi = x->p.kind == PERIOD_ALL ? "9999-12-31 23:59:59" : x->p.end;
	const char *spec = metric_sql[x->metric].args, *v[4] = { NULL, NULL, NULL, NULL };
	long long kind = x->kind, lim = x->per_page, off = (x->page - 1) * x->per_page;
	unsigned long long sc = x->scope, au = x->author, t = x->kind == 0 ? x->scope : 0;
	size_t n = strlen(spec);

	for (size_t i = 0; i < n && i < 4; i++)
		v[i] = spec[i] == 'a' ? lo : hi;
	switch (n * 10 + (size_t)tail) {
	case 20: return db_query(db, out, sql, "iussu", kind, sc, v[0], v[1], au);
	case 21: return db_query(db, out, sql, "iussuii", kind, sc, v[0], v[1], au, lim, off);
	case 22: return db_query(db, out, sql, "iussuiiuu", kind, sc, v[0], v[1], au, lim, off, t, t);
	case 30: return db_query(db, out, sql, "iusssu", kind, sc, v[0], v[1], v[2], au);
	case 31: return db_query(db, out, sql, "iusssuii", kind, sc, v[0], v[1], v[2], au, lim, off);
	case 32: return db_query(db, out, sql, "iusssuiiuu", kind, sc, v[0], v[1], v[2], au, lim, off,
	    t, t);
	case 40: return db_query(db, out, sql, "iussssu", kind, sc, v[0], v[1], v[2], v[3], au);
	case 41: return db_query(db, out, sql, "iussssuii", kind, sc, v[0], v[1], v[2], v[3], au, lim,
	    off);
	case 42: return db_query(db, out, sql, "iussssuiiuu", kind, sc, v[0], v[1], v[2], v[3], au,
	    lim, off, t, t);
	}
	return -1;
}

/* ----------------------------------------------------------- one PR */

/* Columns of a PR row (after the page's own columns). */
#define PR_COLS \
	"p.id, r.full_name, p.number, p.title, p.html_url, u.login, u.id, p.state, p.merged, " \
	"p.draft, " ISO("p.created_at") ", " ISO("p.merged_at") ", " ISO("p.closed_at")
enum { C_ID, C_REPO, C_NUMBER, C_TITLE, C_URL, C_LOGIN, C_UID, C_STATE, C_MERGED, C_DRAFT,
	C_CREATED, C_MERGEDAT, C_CLOSED, C_NCOLS };

/* Rows of a per-PR result (labels, why: pr_id first) in the page's order. */
struct cursor {
	const struct db_res *r;
	size_t at;
};

/* The rows [*from, *to) of pr: the next ones, as the PRs come in order. */
static void
cursor_take(struct cursor *c, unsigned long long pr, size_t *from, size_t *to)
{
	*from = c->at;
	while (c->at < c->r->nrows && strtoull(db_get(c->r, c->at, 0), NULL, 10) == pr)
		c->at++;
	*to = c->at;
}

/* Points of a merged PR: merged_points + each label's points, a label
 * name counted once (in any case, as the rollups do). */
static long long
pr_points(const struct db_res *lr, size_t from, size_t to, int merged, long long merged_points)
{
	long long pts = 0;

	if (!merged)
		return 0;
	pts = merged_points;
	for (size_t i = from; i < to; i++) {
		int dup = 0;
		for (size_t j = from; j < i; j++)
			if (strcasecmp(db_get(lr, j, 1), db_get(lr, i, 1)) == 0)
				dup = 1;
		if (!dup)
			pts += db_getll(lr, i, 3, 0);
	}
	return pts;
}

static void
pr_url(const struct api *a, const struct db_res *r, size_t i, size_t c0, char *out, size_t len)
{
	const char *u = db_get(r, i, c0 + C_URL);

	if (u && *u)
		lb_strlcpy(out, u, len);
	else
		lb_snprintf(out, len, "%s/%s/pull/%s", a->web, db_get(r, i, c0 + C_REPO),
		    db_get(r, i, c0 + C_NUMBER));
}

/* The fields of one PR (inside an open object). */
static void
pr_json(struct jw *w, const struct api *a, const struct db_res *r, size_t i, size_t c0,
    const struct db_res *lr, size_t lfrom, size_t lto)
{
	char url[640];
	int merged = db_getll(r, i, c0 + C_MERGED, 0) == 1;

	pr_url(a, r, i, c0, url, sizeof url);
	jw_kv_int(w, "id", db_getll(r, i, c0 + C_ID, 0));
	jw_kv_str(w, "repo", db_get(r, i, c0 + C_REPO));
	jw_kv_int(w, "number", db_getll(r, i, c0 + C_NUMBER, 0));
	jw_kv_str(w, "title", db_get(r, i, c0 + C_TITLE));
	jw_kv_str(w, "url", url);
	jw_kv_str(w, "author", db_get(r, i, c0 + C_LOGIN));
	jw_kv_int(w, "author_id", db_getll(r, i, c0 + C_UID, 0));
	jw_kv_str(w, "state", db_get(r, i, c0 + C_STATE));
	jw_kv_bool(w, "merged", merged);
	jw_kv_bool(w, "draft", db_getll(r, i, c0 + C_DRAFT, 0) == 1);
	jw_kv_str(w, "created_at", db_get(r, i, c0 + C_CREATED));
	jw_kv_str(w, "merged_at", merged ? db_get(r, i, c0 + C_MERGEDAT) : NULL);
	jw_kv_str(w, "closed_at", db_get(r, i, c0 + C_CLOSED));
	jw_key(w, "labels");
	jw_arr(w);
	for (size_t k = lfrom; k < lto; k++) {
		jw_obj(w);
		jw_kv_str(w, "name", db_get(lr, k, 1));
		jw_kv_str(w, "color", db_get(lr, k, 2));
		jw_kv_int(w, "points", db_getll(lr, k, 3, 0));
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_kv_int(w, "points", pr_points(lr, lfrom, lto, merged, a->conf.merged_points));
}

/* Membership columns: team slug, team name, id, from, to, source, note. */
static void
membership_json(struct jw *w, const struct db_res *r, size_t i, size_t c0)
{
	jw_kv_str(w, "team", db_get(r, i, c0));
	jw_kv_str(w, "team_name", db_get(r, i, c0 + 1));
	jw_kv_int(w, "membership_id", db_getll(r, i, c0 + 2, 0));
	jw_kv_str(w, "from", db_get(r, i, c0 + 3));
	jw_kv_str(w, "to", db_get(r, i, c0 + 4));
	jw_kv_str(w, "source", db_get(r, i, c0 + 5));
	jw_kv_str(w, "note", db_get(r, i, c0 + 6));
}

#define MEMBERSHIP_COLS \
	"t.slug, t.name, m.id, " ISO("m.started_at") ", " ISO("m.ended_at") ", m.source, m.note"

/* ------------------------------------------------------------ parameters */

static int
name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.' || *s == '[' ||
		    *s == ']'))
			return 0;
	return 1;
}

static int
num_param(struct http_req *r, const char *name, long long def, long long max, long long *out)
{
	char v[32];
	int rc = api_param(r, name, v, sizeof v);

	if (rc < 0)
		return -1;
	*out = def;
	if (rc == 0 || v[0] == '\0')
		return 0;
	if (lb_parse_ll(v, 1, max, out) < 0) {
		api_fail(r, 400, "bad_parameter", "%s: expected a whole number from 1 to %lld", name,
		    max);
		return -1;
	}
	return 0;
}

/* 0, or -1 after an answer (400/404/503). *db is connected on success. */
static int
list_args(struct http_req *r, struct api *a, int csv, struct list_args *x, struct db **db)
{
	char metric[32], scope[16], order[8];
	int found;

	memset(x, 0, sizeof *x);
	x->csv = csv;
	if (api_period(r, &x->p) < 0 || api_param(r, "metric", metric, sizeof metric) < 0 ||
	    api_param(r, "team", x->team, sizeof x->team) < 0 ||
	    api_param(r, "author", x->author_login, sizeof x->author_login) < 0 ||
	    api_param(r, "scope", scope, sizeof scope) < 0 ||
	    api_param(r, "order", order, sizeof order) < 0 ||
	    num_param(r, "page", 1, 1000000, &x->page) < 0 ||
	    num_param(r, "per_page", csv ? CSV_MAX_PER_PAGE : JSON_PER_PAGE,
	    csv ? CSV_MAX_PER_PAGE : JSON_MAX_PER_PAGE, &x->per_page) < 0)
		return -1;
	x->metric = M_N;
	for (int i = 0; i < M_N; i++)
		if (strcmp(metric, metric_names[i]) == 0)
			x->metric = (enum metric)i;
	if (x->metric == M_N) {
		api_fail(r, 400, "bad_parameter", "metric: expected created, merged, rejected, open, "
		    "points, partner_created, oss_created, processed or outstanding");
		return -1;
	}
	if (order[0] && strcmp(order, "desc") != 0 && strcmp(order, "asc") != 0) {
		api_fail(r, 400, "bad_parameter", "order: expected desc or asc");
		return -1;
	}
	x->asc = strcmp(order, "asc") == 0;
	if (x->team[0] && scope[0] && strcmp(scope, "team") != 0) {
		api_fail(r, 400, "bad_parameter", "scope: team= already chooses the scope");
		return -1;
	}
	if (!x->team[0] && scope[0] && strcmp(scope, "partner") != 0 && strcmp(scope, "all") != 0) {
		api_fail(r, 400, "bad_parameter", "scope: expected partner or all");
		return -1;
	}
	x->kind = x->team[0] ? 0 : strcmp(scope, "partner") == 0 ? 1 : 2;
	if ((x->team[0] && !name_ok(x->team, 100)) ||
	    (x->author_login[0] && !name_ok(x->author_login, 100))) {
		api_fail(r, 404, "not_found", "no such %s", x->team[0] && !name_ok(x->team, 100) ?
		    "team" : "author");
		return -1;
	}
	/* the PRs with an event in the period (outstanding: every PR created
	 * before its end); their days' versions also move when a listed
	 * field (title, state) changes (lib/rollup folds every change) */
	if ((*db = api_stats_begin(r, a, x->metric == M_OUTSTANDING ? NULL : x->p.from,
	    x->p.to)) == NULL)
		return -1;
	if (x->team[0]) {
		found = stats_team_find(*db, &a->env, x->team, &x->scope);
		if (found <= 0) {
			if (found < 0)
				api_fail(r, 500, "internal", "statistics query failed");
			else
				api_fail(r, 404, "not_found", "no such team: %s", x->team);
			return -1;
		}
	}
	if (x->author_login[0]) {
		struct db_res *u;
		/* a login GitHub gave to several accounts over time: the one
		 * with counted PRs (the newest of them) */
		if (db_query(*db, &u, "SELECT id FROM users WHERE login = ? "
		    "ORDER BY EXISTS (SELECT 1 FROM stat_pr s WHERE s.author_id = users.id) DESC, "
		    "id DESC LIMIT 1", "s", x->author_login) < 0) {
			api_fail(r, 500, "internal", "statistics query failed");
			return -1;
		}
		if (u->nrows == 1)
			x->author = strtoull(db_get(u, 0, 0), NULL, 10);
		db_res_free(u);
		if (x->author == 0) {
			api_fail(r, 404, "not_found", "no such author: %s", x->author_login);
			return -1;
		}
	}
	snprintf(x->key, sizeof x->key, "prs|%d|%s|%s|%s|%s|%s|%u|%llu|%llu|%d|%lld|%lld",
	    csv, period_kind_name(x->p.kind), x->p.value, x->p.from, x->p.to,
	    metric_names[x->metric], x->kind, x->scope, x->author, x->asc, x->page, x->per_page);
	return 0;
}

/* The query string with page= replaced by page=n (for "next"). */
static int
page_url(const struct http_req *r, long long n, struct buf *out)
{
	const char *q = r->query ? r->query : "";

	if (buf_puts(out, r->path) < 0 || buf_putc(out, '?') < 0)
		return -1;
	while (*q) {
		const char *e = strchr(q, '&');
		size_t len = e ? (size_t)(e - q) : strlen(q);
		if (len && !(len >= 5 && strncmp(q, "page=", 5) == 0) &&
		    (buf_printf(out, "%.*s&", (int)len, q) < 0))
			return -1;
		q += len;
		if (*q == '&')
			q++;
	}
	return buf_printf(out, "page=%lld", n);
}

/* ------------------------------------------------------------- the list */

struct list_res {
	struct db_res *count, *prs, *labels, *why;
	struct db_res *lpoints;	/* metric points: the label points of the whole list */
};

static void
list_res_free(struct list_res *l)
{
	db_res_free(l->count);
	db_res_free(l->prs);
	db_res_free(l->labels);
	db_res_free(l->why);
	db_res_free(l->lpoints);
	memset(l, 0, sizeof *l);
}

/* The page's rows of labels and why are read through its ids, in page
 * order (JSON_TABLE over "[id,...]": primary key lookups, not the page's
 * range read and sort again). */
#define PAGE_IDS "JSON_TABLE(?, '$[*]' COLUMNS (o FOR ORDINALITY, id BIGINT UNSIGNED PATH '$')) j"
#define LABELS_SQL \
	"SELECT j.id, l.name, l.color, COALESCE(lp.points, 0) FROM " PAGE_IDS " " \
	"JOIN pr_labels pl ON pl.pr_id = j.id JOIN labels l ON l.id = pl.label_id " \
	"LEFT JOIN label_points lp ON lp.label_name = l.name ORDER BY j.o, l.name, l.id"
/* why: the attributing teams' intervals that contain the creation */
#define WHY_SQL \
	"SELECT j.id, " MEMBERSHIP_COLS " FROM " PAGE_IDS " " \
	"JOIN stat_pr_scope t0 ON t0.pr_id = j.id AND t0.kind = 0 AND (? = 0 OR t0.scope_id = ?) " \
	"JOIN stat_pr s0 ON s0.pr_id = j.id " \
	"JOIN memberships m ON m.user_id = s0.author_id AND m.team_id = t0.scope_id " \
	"AND (m.started_at IS NULL OR m.started_at <= s0.created_at) " \
	"AND (m.ended_at IS NULL OR m.ended_at > s0.created_at) " \
	"JOIN teams t ON t.id = t0.scope_id ORDER BY j.o, t.slug, m.id"

static int
list_query(struct db *db, const struct list_args *x, struct list_res *l)
{
	struct list_sql q;
	struct buf s1 = BUF_INIT, s2 = BUF_INIT, s5 = BUF_INIT;
	struct jw ids = { NULL, 0 };
	const char *idtext;
	size_t idlen;
	unsigned long long team = x->kind == 0 ? x->scope : 0;
	const char *dir = x->asc ? "ASC" : "DESC";
	int rc = -1;

	memset(l, 0, sizeof *l);
	if (build_sql(x, &q) < 0)
		goto out;
	if (buf_printf(&s1, "SELECT COUNT(*) %s", q.from.data) < 0 ||
	    buf_printf(&s2, "SELECT x.pr_id, %s FROM %s JOIN pull_requests p ON p.id = x.pr_id "
	    "JOIN repositories r ON r.id = p.repo_id JOIN users u ON u.id = p.author_id "
	    "ORDER BY x.ev %s, x.pr_id %s", PR_COLS, q.page.data, dir, dir) < 0)
		goto out;
	/* the points the list makes, as the counters add them: a label name
	 * once per PR (stat_pr_label), its label_points */
	if (x->metric == M_POINTS && (buf_printf(&s5, "SELECT COALESCE(SUM(lp.points), 0) "
	    "FROM (SELECT sc.pr_id %s) y JOIN stat_pr_label pl ON pl.pr_id = y.pr_id "
	    "JOIN label_points lp ON lp.label_name = pl.label", q.from.data) < 0 ||
	    list_run(db, &l->lpoints, s5.data, x, 0) < 0))
		goto out;
	if (list_run(db, &l->count, s1.data, x, 0) < 0 || list_run(db, &l->prs, s2.data, x, 1) < 0)
		goto out;
	/* the page's ids as a JSON array, generated like every JSON document */
	if (jw_init(&ids) < 0)
		goto out;
	jw_arr(&ids);
	for (size_t i = 0; i < l->prs->nrows; i++)
		jw_int(&ids, db_getll(l->prs, i, 0, 0));
	jw_arr_end(&ids);
	if (jw_finish(&ids, &idtext, &idlen) < 0 ||
	    db_query(db, &l->labels, LABELS_SQL, "s", idtext) < 0 ||
	    db_query(db, &l->why, WHY_SQL, "suu", idtext, team, team) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		list_res_free(l);
	list_sql_free(&q);
	buf_free(&s1);
	buf_free(&s2);
	buf_free(&s5);
	jw_free(&ids);
	return rc;
}

static void
list_json(struct http_req *r, struct api *a, const struct list_args *x, struct list_res *l)
{
	long long total = db_getll(l->count, 0, 0, 0);
	long long pages = (total + x->per_page - 1) / x->per_page;
	struct buf next = BUF_INIT;
	struct cursor lc = { l->labels, 0 }, wc = { l->why, 0 };
	struct jw w;

	if (jw_init(&w) < 0) {
		api_fail(r, 500, "internal", "out of memory");
		return;
	}
	jw_obj(&w);
	stats_period_json(&w, &x->p);
	jw_key(&w, "scope");
	jw_obj(&w);
	jw_kv_str(&w, "kind", x->kind == 0 ? "team" : x->kind == 1 ? "partner" : "all");
	jw_kv_str(&w, "team", x->kind == 0 ? x->team : NULL);
	jw_kv_str(&w, "author", x->author ? x->author_login : NULL);
	jw_obj_end(&w);
	jw_kv_str(&w, "metric", metric_names[x->metric]);
	jw_kv_str(&w, "order", x->asc ? "asc" : "desc");
	jw_kv_int(&w, "total", total);
	/* metric points: the points the list makes (the leaderboard's number) */
	if (l->lpoints)
		jw_kv_int(&w, "points", total * a->conf.merged_points + db_getll(l->lpoints, 0, 0, 0));
	else
		jw_kv_null(&w, "points");
	jw_kv_int(&w, "page", x->page);
	jw_kv_int(&w, "per_page", x->per_page);
	jw_kv_int(&w, "pages", pages);
	if (x->page < pages && page_url(r, x->page + 1, &next) == 0)
		jw_kv_str(&w, "next", next.data);
	else
		jw_kv_null(&w, "next");
	jw_key(&w, "prs");
	jw_arr(&w);
	for (size_t i = 0; i < l->prs->nrows; i++) {
		unsigned long long id = strtoull(db_get(l->prs, i, 0), NULL, 10);
		size_t lf, lt, wf, wt;
		cursor_take(&lc, id, &lf, &lt);
		cursor_take(&wc, id, &wf, &wt);
		jw_obj(&w);
		pr_json(&w, a, l->prs, i, 1, l->labels, lf, lt);
		jw_key(&w, "why");
		jw_arr(&w);
		for (size_t k = wf; k < wt; k++) {
			jw_obj(&w);
			membership_json(&w, l->why, k, 1);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	api_send_json(r, a, x->key, &w);
	jw_free(&w);
	buf_free(&next);
}

static int
list_csv(const struct api *a, struct list_res *l, struct buf *out)
{
	struct cursor lc = { l->labels, 0 }, wc = { l->why, 0 };
	const struct db_res *p = l->prs;

	if (buf_puts(out, "repo,number,title,author,state,merged,created_at,merged_at,closed_at,"
	    "labels,points,why,url\r\n") < 0)
		return -1;
	for (size_t i = 0; i < p->nrows; i++) {
		unsigned long long id = strtoull(db_get(p, i, 0), NULL, 10);
		struct buf lab = BUF_INIT, why = BUF_INIT;
		size_t lf, lt, wf, wt;
		int merged = db_getll(p, i, 1 + C_MERGED, 0) == 1, rc;
		char url[640];

		cursor_take(&lc, id, &lf, &lt);
		cursor_take(&wc, id, &wf, &wt);
		pr_url(a, p, i, 1, url, sizeof url);
		rc = 0;
		for (size_t k = lf; k < lt && rc == 0; k++)
			rc = buf_printf(&lab, "%s%s:%lld", k > lf ? "; " : "", db_get(l->labels, k, 1),
			    db_getll(l->labels, k, 3, 0));
		for (size_t k = wf; k < wt && rc == 0; k++) {
			const char *f = db_get(l->why, k, 4), *t = db_get(l->why, k, 5);
			rc = buf_printf(&why, "%s%s %s..%s (%s)", k > wf ? "; " : "",
			    db_get(l->why, k, 1), f ? f : "always", t ? t : "now", db_get(l->why, k, 6));
		}
		if (rc == 0)
			rc = stats_csv_field(out, db_get(p, i, 1 + C_REPO), 1) < 0 ||
			    buf_printf(out, ",%s", db_get(p, i, 1 + C_NUMBER)) < 0 ||
			    stats_csv_field(out, db_get(p, i, 1 + C_TITLE), 0) < 0 ||
			    stats_csv_field(out, db_get(p, i, 1 + C_LOGIN), 0) < 0 ||
			    stats_csv_field(out, db_get(p, i, 1 + C_STATE), 0) < 0 ||
			    buf_printf(out, ",%s", merged ? "true" : "false") < 0 ||
			    stats_csv_field(out, db_get(p, i, 1 + C_CREATED), 0) < 0 ||
			    stats_csv_field(out, merged ? db_get(p, i, 1 + C_MERGEDAT) : NULL, 0) < 0 ||
			    stats_csv_field(out, db_get(p, i, 1 + C_CLOSED), 0) < 0 ||
			    stats_csv_field(out, lab.data ? lab.data : "", 0) < 0 ||
			    buf_printf(out, ",%lld", pr_points(l->labels, lf, lt, merged,
			    a->conf.merged_points)) < 0 ||
			    stats_csv_field(out, why.data ? why.data : "", 0) < 0 ||
			    stats_csv_field(out, url, 0) < 0 || buf_puts(out, "\r\n") < 0 ? -1 : 0;
		buf_free(&lab);
		buf_free(&why);
		if (rc)
			return -1;
	}
	return 0;
}

static void
list_route(struct http_req *r, struct api *a, int csv)
{
	struct list_args x;
	struct list_res l;
	struct db *db;

	if (list_args(r, a, csv, &x, &db) < 0)
		return;
	if (api_cache_try(r, a, x.key))
		return;
	if (list_query(db, &x, &l) < 0) {
		api_fail(r, 500, "internal", "statistics query failed");
		return;
	}
	if (!csv)
		list_json(r, a, &x, &l);
	else {
		struct buf out = BUF_INIT;
		if (list_csv(a, &l, &out) < 0)
			api_fail(r, 500, "internal", "out of memory");
		else
			api_send(r, a, x.key, 200, "text/csv; charset=utf-8; header=present",
			    out.data ? out.data : "", out.len);
		buf_free(&out);
	}
	list_res_free(&l);
}

void
api_prs(struct http_req *r, struct api *a, const char *tail)
{
	(void)tail;
	list_route(r, a, 0);
}

void
api_prs_csv(struct http_req *r, struct api *a, const char *tail)
{
	(void)tail;
	list_route(r, a, 1);
}

/* ------------------------------------------------------------ the story */

static void
reason_json(struct jw *w, const char *code, const char *fmt, const char *arg)
{
	char msg[400];

	lb_snprintf(msg, sizeof msg, fmt, arg ? arg : "");
	jw_obj(w);
	jw_kv_str(w, "code", code);
	jw_kv_str(w, "message", msg);
	jw_obj_end(w);
}

/* Story columns: PR_COLS, then these. */
enum { S_TYPE = C_NCOLS, S_TRACKED, S_PARTNER, S_COUNTED, S_CREATED_RAW, S_MERGED_RAW,
	S_REJECTED_RAW };

/* Membership rows: team id, MEMBERSHIP_COLS (7), deleted, excluded, at creation. */
enum { MB_TEAM, MB_COLS, MB_DELETED = MB_COLS + 7, MB_EXCLUDED, MB_AT };

static int
in_period(const struct period *p, const char *t)
{
	if (t == NULL)
		return 0;
	if (p->kind == PERIOD_ALL)
		return 1;
	return strcmp(t, p->start) >= 0 && strcmp(t, p->end) < 0;
}

static int
story_path(const char *tail, char *owner, char *repo, long long *number)
{
	const char *s1 = strchr(tail, '/'), *s2;
	size_t lo, lr;

	if (s1 == NULL || (s2 = strchr(s1 + 1, '/')) == NULL)
		return -1;
	lo = (size_t)(s1 - tail);
	lr = (size_t)(s2 - s1 - 1);
	if (lo == 0 || lo > 100 || lr == 0 || lr > 100)
		return -1;
	memcpy(owner, tail, lo);
	owner[lo] = '\0';
	memcpy(repo, s1 + 1, lr);
	repo[lr] = '\0';
	if (!name_ok(owner, 100) || !name_ok(repo, 100))
		return -1;
	return lb_parse_ll(s2 + 1, 1, 2147483647LL, number);
}

/* What a PR's story is told from (api_pr_story). */
struct story {
	struct db_res *pr, *mb, *sc, *lab, *hist;	/* the PR; memberships; scopes; labels; history */
	int tracked, bot, counted, excl_at_creation, ranked_at_creation;
};

/* The author's memberships, the PR's team scopes, labels and history into
 * st (its PR row loaded); who the author was at creation. 0 or -1. */
static int
story_load(struct db *db, const struct api *a, unsigned long long id, struct story *st)
{
	if (db_query(db, &st->mb, "SELECT m.team_id, " MEMBERSHIP_COLS ", t.deleted_at IS NOT NULL, "
	    "FIND_IN_SET(t.slug, ?) > 0, (m.started_at IS NULL OR m.started_at <= p.created_at) "
	    "AND (m.ended_at IS NULL OR m.ended_at > p.created_at) "
	    "FROM pull_requests p JOIN memberships m ON m.user_id = p.author_id "
	    "JOIN teams t ON t.id = m.team_id WHERE p.id = ? "
	    "ORDER BY t.slug, m.team_id, m.started_at, m.id", "su", a->env.exclude, id) < 0 ||
	    db_query(db, &st->sc, "SELECT scope_id FROM stat_pr_scope WHERE pr_id = ? AND kind = 0 "
	    "ORDER BY scope_id", "u", id) < 0 ||
	    db_query(db, &st->lab, "SELECT pl.pr_id, l.name, l.color, COALESCE(lp.points, 0) "
	    "FROM pr_labels pl JOIN labels l ON l.id = pl.label_id "
	    "LEFT JOIN label_points lp ON lp.label_name = l.name WHERE pl.pr_id = ? "
	    "ORDER BY l.name, l.id", "u", id) < 0 ||
	    db_query(db, &st->hist, "SELECT " ISO("changed_at") ", source, ref, action, change_kind, "
	    "state, merged, " ISO("updated_at") " FROM pr_history WHERE pr_id = ? ORDER BY id",
	    "u", id) < 0)
		return -1;
	for (size_t i = 0; i < st->mb->nrows; i++)
		if (db_getll(st->mb, i, MB_AT, 0) == 1) {
			if (db_getll(st->mb, i, MB_EXCLUDED, 0) == 1)
				st->excl_at_creation = 1;
			else if (db_getll(st->mb, i, MB_DELETED, 0) == 0)
				st->ranked_at_creation = 1;
		}
	return 0;
}

/* Why the PR counts for no team (several reasons may hold at once), and
 * for period p (NULL: none) whether it falls in. */
static void
story_reasons(struct jw *w, const struct api *a, const struct story *st, const struct period *p)
{
	jw_key(w, "reasons");
	jw_arr(w);
	if (st->sc->nrows == 0) {
		if (st->bot)
			reason_json(w, "bot", "the author %s is a bot: bots never count",
			    db_get(st->pr, 0, C_LOGIN));
		if (!st->tracked)
			reason_json(w, "untracked_repository",
			    "%s is not a tracked repository ([github] repositories)",
			    db_get(st->pr, 0, C_REPO));
		if (st->excl_at_creation)
			reason_json(w, "excluded_team", "when the PR was created, its author was a "
			    "member of an excluded team (%s): such members count for no team",
			    a->conf.exclude_teams.n ? a->exclude : "");
		else if (!st->ranked_at_creation)
			reason_json(w, "not_member_when_created", "when the PR was created (%s), "
			    "its author was a member of no ranked team", db_get(st->pr, 0, C_CREATED));
	}
	if (p && !in_period(p, db_get(st->pr, 0, S_CREATED_RAW)))
		reason_json(w, "created_outside_period", "created %s, outside the period: not in "
		    "its created, open and partner/oss numbers", db_get(st->pr, 0, C_CREATED));
	jw_arr_end(w);
	if (p) {
		stats_period_json(w, p);
		jw_key(w, "in_period");
		jw_obj(w);
		jw_kv_bool(w, "created", st->counted && in_period(p, db_get(st->pr, 0, S_CREATED_RAW)));
		jw_kv_bool(w, "merged", st->counted && in_period(p, db_get(st->pr, 0, S_MERGED_RAW)));
		jw_kv_bool(w, "rejected", st->counted && in_period(p, db_get(st->pr, 0, S_REJECTED_RAW)));
		jw_obj_end(w);
	}
}

/* Each team of the author's membership history: counts or why not. */
static void
story_teams(struct jw *w, const struct story *st)
{
	jw_key(w, "teams");
	jw_arr(w);
	for (size_t i = 0; i < st->mb->nrows;) {
		size_t j = i;
		int at = 0, counts = 0;
		const char *reason;
		while (j < st->mb->nrows && strcmp(db_get(st->mb, j, MB_TEAM), db_get(st->mb, i, MB_TEAM)) == 0)
			at |= db_getll(st->mb, j++, MB_AT, 0) == 1;
		for (size_t k = 0; k < st->sc->nrows; k++)
			counts |= strcmp(db_get(st->sc, k, 0), db_get(st->mb, i, MB_TEAM)) == 0;
		reason = counts ? NULL : db_getll(st->mb, i, MB_DELETED, 0) == 1 ? "team_deleted" :
		    db_getll(st->mb, i, MB_EXCLUDED, 0) == 1 ? "team_excluded" : st->bot ? "bot" :
		    !st->tracked ? "untracked_repository" : st->excl_at_creation && at ? "excluded_team" :
		    !at ? "not_member_when_created" : "not_rolled_up";
		jw_obj(w);
		jw_kv_str(w, "team", db_get(st->mb, i, MB_COLS));
		jw_kv_str(w, "name", db_get(st->mb, i, MB_COLS + 1));
		jw_kv_bool(w, "counts", counts);
		jw_kv_str(w, "reason", reason);
		jw_key(w, "memberships");
		jw_arr(w);
		for (size_t k = i; k < j; k++) {
			jw_obj(w);
			jw_kv_int(w, "id", db_getll(st->mb, k, MB_COLS + 2, 0));
			jw_kv_str(w, "from", db_get(st->mb, k, MB_COLS + 3));
			jw_kv_str(w, "to", db_get(st->mb, k, MB_COLS + 4));
			jw_kv_str(w, "source", db_get(st->mb, k, MB_COLS + 5));
			jw_kv_str(w, "note", db_get(st->mb, k, MB_COLS + 6));
			jw_kv_bool(w, "at_creation", db_getll(st->mb, k, MB_AT, 0) == 1);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_obj_end(w);
		i = j;
	}
	jw_arr_end(w);
}

/* The PR's pr_history rows. */
static void
story_history(struct jw *w, const struct db_res *hist)
{
	jw_key(w, "history");
	jw_arr(w);
	for (size_t i = 0; i < hist->nrows; i++) {
		jw_obj(w);
		jw_kv_str(w, "at", db_get(hist, i, 0));
		jw_kv_str(w, "source", db_get(hist, i, 1));
		jw_kv_str(w, "ref", db_get(hist, i, 2));
		jw_kv_str(w, "action", db_get(hist, i, 3));
		jw_kv_str(w, "change", db_get(hist, i, 4));
		jw_kv_str(w, "state", db_get(hist, i, 5));
		jw_kv_bool(w, "merged", db_getll(hist, i, 6, 0) == 1);
		jw_kv_str(w, "updated_at", db_get(hist, i, 7));
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

void
api_pr_story(struct http_req *r, struct api *a, const char *tail)
{
	char owner[128], repo[128], full[260], kind[32];
	struct story st = { 0 };
	struct db_res *hist = NULL;
	struct period p;
	long long number;
	unsigned long long id;
	int with_period;
	struct db *db;
	struct jw w;
	char key[512];

	if (story_path(tail, owner, repo, &number) < 0) {
		api_fail(r, 404, "not_found", "expected /api/prs/OWNER/REPO/NUMBER");
		return;
	}
	if (api_param(r, "period", kind, sizeof kind) < 0 || api_period(r, &p) < 0)
		return;
	with_period = kind[0] != '\0';
	if ((db = api_stats_begin(r, a, NULL, NULL)) == NULL)
		return;
	lb_snprintf(full, sizeof full, "%s/%s", owner, repo);
	/* the story shows pr_history, written also for PRs that count for
	 * nothing (no day of theirs is versioned): its newest row is part of
	 * the key */
	if (db_query(db, &hist, "SELECT COALESCE(MAX(id), 0) FROM pr_history", "") < 0)
		goto dberr;
	snprintf(key, sizeof key, "story|%s|%lld|%d|%s|%s|%s|%s|h%s", full, number, with_period,
	    period_kind_name(p.kind), p.value, p.from, p.to, db_get(hist, 0, 0));
	db_res_free(hist);
	hist = NULL;
	if (api_cache_try(r, a, key))
		return;
	if (db_query(db, &st.pr, "SELECT " PR_COLS ", u.type, r.tracked, r.partner_owned, "
	    "s.pr_id IS NOT NULL, DATE_FORMAT(s.created_at, '%Y-%m-%d %H:%i:%s'), "
	    "DATE_FORMAT(s.merged_at, '%Y-%m-%d %H:%i:%s'), "
	    "DATE_FORMAT(s.rejected_at, '%Y-%m-%d %H:%i:%s') "
	    "FROM repositories r JOIN pull_requests p ON p.repo_id = r.id "
	    "JOIN users u ON u.id = p.author_id LEFT JOIN stat_pr s ON s.pr_id = p.id "
	    "WHERE r.full_name = ? AND p.number = ? ORDER BY r.tracked DESC, p.id DESC LIMIT 1",
	    "si", full, number) < 0)
		goto dberr;
	if (st.pr->nrows == 0) {
		api_fail(r, 404, "not_found", "no such pull request: %s#%lld", full, number);
		goto out;
	}
	id = strtoull(db_get(st.pr, 0, C_ID), NULL, 10);
	st.tracked = db_getll(st.pr, 0, S_TRACKED, 0) == 1;
	st.bot = db_get(st.pr, 0, S_TYPE) && strcmp(db_get(st.pr, 0, S_TYPE), "Bot") == 0;
	st.counted = db_getll(st.pr, 0, S_COUNTED, 0) == 1;
	if (story_load(db, a, id, &st) < 0)
		goto dberr;
	if (jw_init(&w) < 0)
		goto dberr;
	jw_obj(&w);
	jw_key(&w, "pr");
	jw_obj(&w);
	pr_json(&w, a, st.pr, 0, 0, st.lab, 0, st.lab->nrows);
	jw_kv_str(&w, "author_type", db_get(st.pr, 0, S_TYPE));
	jw_kv_bool(&w, "tracked", st.tracked);
	jw_kv_bool(&w, "partner", db_getll(st.pr, 0, S_PARTNER, 0) == 1);
	jw_obj_end(&w);
	jw_kv_bool(&w, "counted", st.counted);
	jw_key(&w, "counts_for");
	jw_arr(&w);
	for (size_t i = 0; i < st.sc->nrows; i++)
		for (size_t k = 0; k < st.mb->nrows; k++)
			if (strcmp(db_get(st.mb, k, MB_TEAM), db_get(st.sc, i, 0)) == 0) {
				jw_str(&w, db_get(st.mb, k, MB_COLS));
				break;
			}
	jw_arr_end(&w);
	story_reasons(&w, a, &st, with_period ? &p : NULL);
	story_teams(&w, &st);
	story_history(&w, st.hist);
	jw_obj_end(&w);
	api_send_json(r, a, key, &w);
	jw_free(&w);
	goto out;
dberr:
	api_fail(r, 500, "internal", "statistics query failed");
out:
	db_res_free(st.pr);
	db_res_free(st.mb);
	db_res_free(st.sc);
	db_res_free(st.lab);
	db_res_free(st.hist);
}
