#include "stats.h"
#include "buf.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "period.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * SQL fragments. "Bucket" statements read the counters of one (grain,
 * bucket); "range" statements aggregate stat_pr between q.a and q.b (one
 * constant row, so the optimizer sees constants).
 */
#define RANGE_Q "JOIN (SELECT CAST(? AS DATETIME) AS a, CAST(? AS DATETIME) AS b) q "
/* The PRs with an event in the range: three index range scans (an OR over
 * the three columns would scan every PR). Parameters: a, b three times. */
#define RANGE_IDS \
	"(SELECT pr_id FROM stat_pr WHERE created_at >= ? AND created_at < ? " \
	"UNION SELECT pr_id FROM stat_pr WHERE merged_at >= ? AND merged_at < ? " \
	"UNION SELECT pr_id FROM stat_pr WHERE rejected_at >= ? AND rejected_at < ?) ids " \
	"JOIN stat_pr s ON s.pr_id = ids.pr_id "
#define RP(p) (p)->start, (p)->end, (p)->start, (p)->end, (p)->start, (p)->end, (p)->start, (p)->end
#define IN_C "(s.created_at >= q.a AND s.created_at < q.b)"
#define IN_M "(s.merged_at >= q.a AND s.merged_at < q.b)"
#define IN_R "(s.rejected_at >= q.a AND s.rejected_at < q.b)"
#define IN_ANY "(" IN_C " OR " IN_M " OR " IN_R ")"

#define COUNTS_BUCKET \
	"SELECT scope_id, members, created, merged, rejected, open, partner_created, oss_created " \
	"FROM stat_counts WHERE grain = ? AND bucket = ? AND kind = ?"
#define COUNTS_RANGE \
	"SELECT sc.scope_id, COUNT(DISTINCT s.author_id) AS members, " \
	"COALESCE(SUM(" IN_C "), 0) AS created, COALESCE(SUM(" IN_M "), 0) AS merged, " \
	"COALESCE(SUM(" IN_R "), 0) AS rejected, COALESCE(SUM(" IN_C " AND s.open = 1), 0) AS open, " \
	"COALESCE(SUM(" IN_C " AND s.partner = 1), 0) AS partner_created, " \
	"COALESCE(SUM(" IN_C " AND s.partner = 0), 0) AS oss_created " \
	"FROM " RANGE_IDS RANGE_Q "JOIN stat_pr_scope sc ON sc.pr_id = s.pr_id AND sc.kind = ? " \
	"WHERE " IN_ANY " GROUP BY sc.scope_id"

#define TEAM_COLS \
	"SELECT t.id, t.slug, t.name, COALESCE(x.members, 0), COALESCE(x.created, 0), " \
	"COALESCE(x.merged, 0), COALESCE(x.rejected, 0), COALESCE(x.open, 0), " \
	"COALESCE(x.partner_created, 0), COALESCE(x.oss_created, 0) FROM teams t LEFT JOIN ("
#define TEAM_WHERE \
	") x ON x.scope_id = t.id WHERE t.deleted_at IS NULL AND FIND_IN_SET(t.slug, ?) = 0"

#define LABEL_COLOR \
	"LEFT JOIN (SELECT name, MAX(id) AS id FROM labels GROUP BY name) lx ON lx.name = y.label " \
	"LEFT JOIN labels lc ON lc.id = lx.id "
#define LABELS_BUCKET \
	"SELECT y.scope_id, y.label, y.n, y.points, lc.color FROM (SELECT l.scope_id, l.label, l.n, " \
	"COALESCE(lp.points, 0) AS points FROM stat_labels l LEFT JOIN label_points lp " \
	"ON lp.label_name = l.label WHERE l.grain = ? AND l.bucket = ? AND l.kind = ? AND l.n > 0) y " \
	LABEL_COLOR "ORDER BY y.scope_id, y.n DESC, y.label"
#define LABELS_RANGE \
	"SELECT y.scope_id, y.label, y.n, y.points, lc.color FROM (SELECT sc.scope_id, pl.label, " \
	"COUNT(*) AS n, COALESCE(MAX(lp.points), 0) AS points FROM " RANGE_IDS RANGE_Q \
	"JOIN stat_pr_scope sc ON sc.pr_id = s.pr_id AND sc.kind = ? " \
	"JOIN stat_pr_label pl ON pl.pr_id = s.pr_id " \
	"LEFT JOIN label_points lp ON lp.label_name = pl.label " \
	"WHERE " IN_M " GROUP BY sc.scope_id, pl.label) y " LABEL_COLOR \
	"ORDER BY y.scope_id, y.n DESC, y.label"

int
stats_sort_parse(const char *s, enum stats_sort *out)
{
	static const char *const names[] = { "merged", "created", "points", "rejected" };

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum stats_sort)i;
			return 0;
		}
	return -1;
}

const char *
stats_sort_name(enum stats_sort s)
{
	switch (s) {
	case SORT_CREATED: return "created";
	case SORT_POINTS: return "points";
	case SORT_REJECTED: return "rejected";
	default: return "merged";
	}
}

static char g1[2];	/* grain as a one-letter string, per call */

static const char *
grain_str(const struct period *p)
{
	g1[0] = p->grain;
	g1[1] = '\0';
	return g1;
}

static long long
ll(const struct db_res *r, size_t row, size_t col)
{
	return db_getll(r, row, col, 0);
}

/* ----------------------------------------------------------- leaderboard */

static void
team_free(struct stats_team *t)
{
	free(t->slug);
	free(t->name);
	for (size_t i = 0; i < t->nlabels; i++) {
		free(t->labels[i].name);
		free(t->labels[i].color);
	}
	free(t->labels);
}

void
stats_board_free(struct stats_board *b)
{
	for (size_t i = 0; i < b->n; i++)
		team_free(&b->teams[i]);
	free(b->teams);
	team_free(&b->totals);
	memset(b, 0, sizeof *b);
}

static void
counts_from(struct stats_team *t, const struct db_res *r, size_t row, size_t c0)
{
	t->members = ll(r, row, c0);
	t->created = ll(r, row, c0 + 1);
	t->merged = ll(r, row, c0 + 2);
	t->rejected = ll(r, row, c0 + 3);
	t->open = ll(r, row, c0 + 4);
	t->partner_created = ll(r, row, c0 + 5);
	t->oss_created = ll(r, row, c0 + 6);
}

static int
team_cmp_by(const struct stats_team *a, const struct stats_team *b, enum stats_sort s)
{
	long long x, y;
	int c;

	switch (s) {
	case SORT_CREATED: x = a->created; y = b->created; break;
	case SORT_POINTS: x = a->points; y = b->points; break;
	case SORT_REJECTED: x = a->rejected; y = b->rejected; break;
	default: x = a->merged; y = b->merged; break;
	}
	if (x != y)
		return x > y ? -1 : 1;
	c = strcmp(a->name, b->name);
	if (c)
		return c;
	return a->id < b->id ? -1 : a->id > b->id;
}

static enum stats_sort sort_key;

static int
team_cmp(const void *a, const void *b)
{
	return team_cmp_by(a, b, sort_key);
}

/* Attach label rows (scope_id, label, n, points, color) to teams. */
static int
attach_labels(struct stats_team *teams, size_t n, const struct db_res *r,
    long long merged_points)
{
	size_t i = 0;

	for (size_t t = 0; t < n; t++)
		teams[t].points = teams[t].merged * merged_points;
	while (i < r->nrows) {
		unsigned long long scope = strtoull(db_get(r, i, 0), NULL, 10);
		size_t j = i, k;
		struct stats_team *t = NULL;

		while (j < r->nrows && strtoull(db_get(r, j, 0), NULL, 10) == scope)
			j++;
		for (k = 0; k < n; k++)
			if (teams[k].id == scope) {
				t = &teams[k];
				break;
			}
		if (t) {
			t->labels = calloc(j - i, sizeof *t->labels);
			if (t->labels == NULL)
				return -1;
			for (size_t x = i; x < j; x++) {
				struct stats_label *l = &t->labels[t->nlabels++];
				l->name = lb_strdup(db_get(r, x, 1));
				l->count = ll(r, x, 2);
				l->points = ll(r, x, 3);
				l->color = db_get(r, x, 4) ? lb_strdup(db_get(r, x, 4)) : NULL;
				if (l->name == NULL)
					return -1;
				t->points += l->count * l->points;
			}
		}
		i = j;
	}
	return 0;
}

static int
query_counts(struct db *db, const struct stats_env *env, const struct period *p, int kind,
    struct db_res **out)
{
	if (kind == 0) {
		if (p->grain)
			return db_query(db, out, TEAM_COLS COUNTS_BUCKET TEAM_WHERE " ORDER BY t.id",
			    "ssis", grain_str(p), p->bucket, 0LL, env->exclude);
		return db_query(db, out, TEAM_COLS COUNTS_RANGE TEAM_WHERE " ORDER BY t.id",
		    "ssssssssis", RP(p), 0LL, env->exclude);
	}
	if (p->grain)
		return db_query(db, out, COUNTS_BUCKET, "ssi", grain_str(p), p->bucket,
		    (long long)kind);
	return db_query(db, out, COUNTS_RANGE, "ssssssssi", RP(p), (long long)kind);
}

static int
query_labels(struct db *db, const struct period *p, int kind, struct db_res **out)
{
	if (p->grain)
		return db_query(db, out, LABELS_BUCKET, "ssi", grain_str(p), p->bucket,
		    (long long)kind);
	return db_query(db, out, LABELS_RANGE, "ssssssssi", RP(p), (long long)kind);
}

int
stats_board(struct db *db, const struct stats_env *env, const struct period *p,
    enum stats_sort sort, struct stats_board *b)
{
	struct db_res *r = NULL;
	int rc = -1;

	memset(b, 0, sizeof *b);
	if (query_counts(db, env, p, 0, &r) < 0)
		goto out;
	b->teams = calloc(r->nrows ? r->nrows : 1, sizeof *b->teams);
	if (b->teams == NULL)
		goto out;
	for (size_t i = 0; i < r->nrows; i++) {
		struct stats_team *t = &b->teams[b->n++];
		t->id = strtoull(db_get(r, i, 0), NULL, 10);
		t->slug = lb_strdup(db_get(r, i, 1));
		t->name = lb_strdup(db_get(r, i, 2));
		if (t->slug == NULL || t->name == NULL)
			goto out;
		counts_from(t, r, i, 3);
	}
	db_res_free(r);
	r = NULL;
	if (query_labels(db, p, 0, &r) < 0 || attach_labels(b->teams, b->n, r,
	    env->merged_points) < 0)
		goto out;
	db_res_free(r);
	r = NULL;
	sort_key = sort;
	qsort(b->teams, b->n, sizeof *b->teams, team_cmp);
	for (size_t i = 0; i < b->n; i++)
		b->teams[i].rank = (long long)i + 1;

	/* totals: the partner program (kind 1), each PR and member once */
	if (query_counts(db, env, p, 1, &r) < 0)
		goto out;
	if (r->nrows == 1)
		counts_from(&b->totals, r, 0, 1);
	db_res_free(r);
	r = NULL;
	if (query_labels(db, p, 1, &r) < 0 || attach_labels(&b->totals, 1, r,
	    env->merged_points) < 0)
		goto out;
	b->totals.rank = (long long)b->n;
	rc = 0;
out:
	if (rc < 0)
		log_error("stats: leaderboard: %s", db_error(db));
	db_res_free(r);
	return rc;
}

void
stats_period_json(struct jw *w, const struct period *p)
{
	jw_key(w, "period");
	jw_obj(w);
	jw_kv_str(w, "kind", period_kind_name(p->kind));
	jw_kv_str(w, "value", p->value[0] ? p->value : NULL);
	jw_kv_str(w, "from", p->from[0] ? p->from : NULL);
	jw_kv_str(w, "to", p->to[0] ? p->to : NULL);
	jw_obj_end(w);
}

void
stats_team_json(struct jw *w, const struct stats_team *t, int with_members_count)
{
	jw_kv_int(w, "rank", t->rank);
	jw_kv_int(w, "id", (long long)t->id);
	jw_kv_str(w, "slug", t->slug);
	jw_kv_str(w, "name", t->name);
	if (with_members_count)
		jw_kv_int(w, "members", t->members);
	jw_kv_int(w, "created", t->created);
	jw_kv_int(w, "merged", t->merged);
	jw_kv_int(w, "rejected", t->rejected);
	jw_kv_int(w, "open", t->open);
	jw_kv_int(w, "partner_created", t->partner_created);
	jw_kv_int(w, "oss_created", t->oss_created);
	jw_kv_int(w, "points", t->points);
	jw_key(w, "labels");
	jw_arr(w);
	for (size_t i = 0; i < t->nlabels; i++) {
		jw_obj(w);
		jw_kv_str(w, "name", t->labels[i].name);
		jw_kv_str(w, "color", t->labels[i].color);
		jw_kv_int(w, "count", t->labels[i].count);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* RFC 4180 field; cells that a spreadsheet would run as a formula get a
 * leading apostrophe (OWASP "CSV injection"). */
static int
csv_field(struct buf *b, const char *s, int first)
{
	int quote = 0;

	if (!first && buf_putc(b, ',') < 0)
		return -1;
	if (s == NULL)
		return 0;
	for (const char *p = s; *p; p++)
		if (*p == '"' || *p == ',' || *p == '\r' || *p == '\n')
			quote = 1;
	if (quote && buf_putc(b, '"') < 0)
		return -1;
	if (strchr("=+-@\t\r", *s) != NULL && *s && buf_putc(b, '\'') < 0)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p == '"' && buf_putc(b, '"') < 0)
			return -1;
		if (buf_putc(b, *p) < 0)
			return -1;
	}
	if (quote && buf_putc(b, '"') < 0)
		return -1;
	return 0;
}

int
stats_board_csv(const struct stats_board *b, size_t limit, struct buf *out)
{
	if (buf_puts(out, "rank,id,slug,name,members,created,merged,rejected,open,"
	    "partner_created,oss_created,points,labels\r\n") < 0)
		return -1;
	for (size_t i = 0; i < b->n && i < limit; i++) {
		const struct stats_team *t = &b->teams[i];
		struct buf lab = BUF_INIT;
		int rc;

		for (size_t k = 0; k < t->nlabels; k++)
			if (buf_printf(&lab, "%s%s:%lld", k ? "; " : "", t->labels[k].name,
			    t->labels[k].count) < 0) {
				buf_free(&lab);
				return -1;
			}
		rc = buf_printf(out, "%lld,%llu", t->rank, t->id) < 0 ||
		    csv_field(out, t->slug, 0) < 0 || csv_field(out, t->name, 0) < 0 ||
		    buf_printf(out, ",%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld", t->members,
		    t->created, t->merged, t->rejected, t->open, t->partner_created, t->oss_created,
		    t->points) < 0 || csv_field(out, lab.data ? lab.data : "", 0) < 0 ||
		    buf_puts(out, "\r\n") < 0;
		buf_free(&lab);
		if (rc)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ drill-down */

int
stats_team_find(struct db *db, const struct stats_env *env, const char *slug,
    unsigned long long *id)
{
	struct db_res *r;
	int found;

	if (db_query(db, &r, "SELECT id FROM teams WHERE slug = ? AND deleted_at IS NULL "
	    "AND FIND_IN_SET(slug, ?) = 0 ORDER BY id DESC LIMIT 1", "ss", slug, env->exclude) < 0)
		return -1;
	found = r->nrows == 1;
	if (found)
		*id = strtoull(db_get(r, 0, 0), NULL, 10);
	db_res_free(r);
	return found;
}

/* application/x-www-form-urlencoded, as URLSearchParams writes it */
static int
form_encode(struct buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int c = *p, rc;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '*' || c == '-' || c == '.' || c == '_')
			rc = buf_putc(b, (char)c);
		else if (c == ' ')
			rc = buf_putc(b, '+');
		else
			rc = buf_printf(b, "%%%02X", c);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void
search_link(struct jw *w, const struct stats_env *env, const struct period *p, const char *key,
    const char *login, const char *repo, const char *state, const char *qual)
{
	struct buf q = BUF_INIT, u = BUF_INIT;

	(void)buf_printf(&q, "is:pr author:%s repo:%s%s", login, repo, state);
	if (p->from[0])
		(void)buf_printf(&q, " %s:%s..%s", qual, p->from, p->to);
	(void)buf_printf(&u, "%s/search?q=", env->web);
	(void)form_encode(&u, q.data ? q.data : "");
	(void)buf_puts(&u, "&type=pullrequests");
	jw_kv_str(w, key, u.data);
	buf_free(&q);
	buf_free(&u);
}

struct member {
	unsigned long long id;
	const char *login, *avatar;
	long long c, m, r;
	size_t row;
};

static enum stats_sort msort;

static int
member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	long long vx, vy;
	int c;

	switch (msort) {
	case SORT_CREATED: vx = x->c; vy = y->c; break;
	case SORT_REJECTED: vx = x->r; vy = y->r; break;
	default: vx = x->m; vy = y->m; break;
	}
	if (vx != vy)
		return vx > vy ? -1 : 1;
	c = strcmp(x->login ? x->login : "", y->login ? y->login : "");
	if (c)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

#define MEMBERS_BUCKET \
	"SELECT a.author_id, u.login, u.avatar_url, a.created, a.merged, a.rejected " \
	"FROM stat_authors a JOIN users u ON u.id = a.author_id " \
	"WHERE a.grain = ? AND a.bucket = ? AND a.kind = ? AND a.scope_id = ?"
#define MEMBERS_RANGE \
	"SELECT s.author_id, u.login, u.avatar_url, COALESCE(SUM(" IN_C "), 0) AS created, " \
	"COALESCE(SUM(" IN_M "), 0) AS merged, COALESCE(SUM(" IN_R "), 0) AS rejected " \
	"FROM " RANGE_IDS RANGE_Q "JOIN stat_pr_scope sc ON sc.pr_id = s.pr_id AND sc.kind = ? " \
	"AND sc.scope_id = ? JOIN users u ON u.id = s.author_id WHERE " IN_ANY \
	" GROUP BY s.author_id, u.login, u.avatar_url"
#define REPOS_BUCKET \
	"SELECT x.author_id, r.full_name, x.created, x.merged, x.rejected FROM stat_repos x " \
	"JOIN repositories r ON r.id = x.repo_id WHERE x.grain = ? AND x.bucket = ? " \
	"AND x.team_id = ? ORDER BY x.author_id, r.full_name"
#define REPOS_RANGE \
	"SELECT s.author_id, r.full_name, COALESCE(SUM(" IN_C "), 0), COALESCE(SUM(" IN_M "), 0), " \
	"COALESCE(SUM(" IN_R "), 0) FROM " RANGE_IDS RANGE_Q "JOIN stat_pr_scope sc " \
	"ON sc.pr_id = s.pr_id AND sc.kind = 0 AND sc.scope_id = ? " \
	"JOIN repositories r ON r.id = s.repo_id WHERE " IN_ANY \
	" GROUP BY s.author_id, r.full_name ORDER BY s.author_id, r.full_name"

int
stats_team_members_json(struct db *db, const struct stats_env *env,
    const struct period *p, unsigned long long team_id, enum stats_sort sort, struct jw *w)
{
	struct db_res *mr = NULL, *rr = NULL;
	struct member *ms = NULL;
	int rc = -1;

	if (p->grain) {
		if (db_query(db, &mr, MEMBERS_BUCKET, "ssiu", grain_str(p), p->bucket, 0LL,
		    team_id) < 0 || db_query(db, &rr, REPOS_BUCKET, "ssu", grain_str(p),
		    p->bucket, team_id) < 0)
			goto out;
	} else if (db_query(db, &mr, MEMBERS_RANGE, "ssssssssiu", RP(p), 0LL,
	    team_id) < 0 || db_query(db, &rr, REPOS_RANGE, "ssssssssu", RP(p), team_id) < 0)
		goto out;
	ms = calloc(mr->nrows ? mr->nrows : 1, sizeof *ms);
	if (ms == NULL)
		goto out;
	for (size_t i = 0; i < mr->nrows; i++) {
		ms[i].id = strtoull(db_get(mr, i, 0), NULL, 10);
		ms[i].login = db_get(mr, i, 1);
		ms[i].avatar = db_get(mr, i, 2);
		ms[i].c = ll(mr, i, 3);
		ms[i].m = ll(mr, i, 4);
		ms[i].r = ll(mr, i, 5);
	}
	msort = sort;
	qsort(ms, mr->nrows, sizeof *ms, member_cmp);
	jw_key(w, "members");
	jw_arr(w);
	for (size_t i = 0; i < mr->nrows; i++) {
		jw_obj(w);
		jw_kv_int(w, "id", (long long)ms[i].id);
		jw_kv_str(w, "login", ms[i].login);
		jw_kv_str(w, "avatar_url", ms[i].avatar);
		jw_kv_int(w, "created", ms[i].c);
		jw_kv_int(w, "merged", ms[i].m);
		jw_kv_int(w, "rejected", ms[i].r);
		jw_key(w, "repos");
		jw_arr(w);
		for (size_t k = 0; k < rr->nrows; k++) {
			const char *repo = db_get(rr, k, 1);
			if (strtoull(db_get(rr, k, 0), NULL, 10) != ms[i].id)
				continue;
			if (ll(rr, k, 2) == 0 && ll(rr, k, 3) == 0 && ll(rr, k, 4) == 0)
				continue;
			jw_obj(w);
			jw_kv_str(w, "repo", repo);
			jw_kv_int(w, "created", ll(rr, k, 2));
			jw_kv_int(w, "merged", ll(rr, k, 3));
			jw_kv_int(w, "rejected", ll(rr, k, 4));
			jw_key(w, "links");
			jw_obj(w);
			search_link(w, env, p, "created", ms[i].login, repo, "", "created");
			search_link(w, env, p, "merged", ms[i].login, repo, " is:merged", "merged");
			search_link(w, env, p, "rejected", ms[i].login, repo,
			    " is:closed is:unmerged", "closed");
			jw_obj_end(w);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	rc = 0;
out:
	if (rc < 0)
		log_error("stats: team members: %s", db_error(db));
	free(ms);
	db_res_free(mr);
	db_res_free(rr);
	return rc;
}

/* ---------------------------------------------------------- contributors */

int
stats_contributors_json(struct db *db, const struct stats_env *env,
    const struct period *p, unsigned long long team_id, enum stats_sort sort, long long limit,
    struct jw *w)
{
	const char *col = sort == SORT_CREATED ? "created" : sort == SORT_REJECTED ? "rejected" :
	    "merged";
	long long kind = team_id ? 0 : 2;
	struct db_res *r = NULL, *r2 = NULL, *t = NULL;
	struct buf sql = BUF_INIT, ids = BUF_INIT;
	size_t n1, n;
	int rc = -1, rc2;

	if (p->grain) {
		/*
		 * Top-N without sorting every author: the N-th value T through
		 * the (..., scope_id, <col>) index (N entries), the rows above T
		 * (fewer than N) sorted, then the ties at T in login order: all
		 * of them sorted when they are few, else by walking users_login
		 * and probing stat_authors until enough are found.
		 */
		long long floor = -(1LL << 62), nties = 0;
		if (buf_printf(&sql, "SELECT %s FROM stat_authors WHERE grain = ? AND bucket = ? "
		    "AND kind = ? AND scope_id = ? ORDER BY %s DESC LIMIT 1 OFFSET ?", col, col) < 0 ||
		    db_query(db, &r, sql.data, "ssiui", grain_str(p), p->bucket, kind, team_id,
		    limit - 1) < 0)
			goto out;
		if (r->nrows == 1)
			floor = ll(r, 0, 0);
		db_res_free(r);
		r = NULL;
		buf_reset(&sql);
		if (buf_printf(&sql, MEMBERS_BUCKET " AND a.%s %s ? ORDER BY a.%s DESC, u.login, "
		    "a.author_id LIMIT ?", col, floor == -(1LL << 62) ? ">=" : ">", col) < 0 ||
		    db_query(db, &r, sql.data, "ssiuii", grain_str(p), p->bucket, kind, team_id,
		    floor, limit) < 0)
			goto out;
		if (floor != -(1LL << 62) && (long long)r->nrows < limit) {
			buf_reset(&sql);
			if (buf_printf(&sql, "SELECT COUNT(*) FROM stat_authors WHERE grain = ? "
			    "AND bucket = ? AND kind = ? AND scope_id = ? AND %s = ?", col) < 0 ||
			    db_query(db, &r2, sql.data, "ssiui", grain_str(p), p->bucket, kind, team_id,
			    floor) < 0)
				goto out;
			nties = ll(r2, 0, 0);
			db_res_free(r2);
			r2 = NULL;
			buf_reset(&sql);
			if (nties <= 2000)
				rc2 = buf_printf(&sql, MEMBERS_BUCKET " AND a.%s = ? ORDER BY u.login, "
				    "a.author_id LIMIT ?", col);
			else
				rc2 = buf_printf(&sql, "SELECT a.author_id, u.login, u.avatar_url, "
				    "a.created, a.merged, a.rejected FROM users u FORCE INDEX (users_login) "
				    "STRAIGHT_JOIN stat_authors a ON a.grain = ? AND a.bucket = ? "
				    "AND a.kind = ? AND a.scope_id = ? AND a.author_id = u.id "
				    "WHERE a.%s = ? ORDER BY u.login, u.id LIMIT ?", col);
			if (rc2 < 0 || db_query(db, &r2, sql.data, "ssiuii", grain_str(p), p->bucket,
			    kind, team_id, floor, limit - (long long)r->nrows) < 0)
				goto out;
		}
	} else if (buf_printf(&sql, MEMBERS_RANGE " ORDER BY %s DESC, u.login, s.author_id "
	    "LIMIT ?", col) < 0 || db_query(db, &r, sql.data, "ssssssssiui", RP(p), kind,
	    team_id, limit) < 0)
		goto out;
	/* rows: those of r, then those of r2 (the ties) */
	n1 = r->nrows;
	n = n1 + (r2 ? r2->nrows : 0);
#define ROW_RES(i) ((i) < n1 ? r : r2)
#define ROW_IDX(i) ((i) < n1 ? (i) : (i) - n1)
	(void)buf_putc(&ids, '[');
	for (size_t i = 0; i < n; i++)
		(void)buf_printf(&ids, "%s%s", i ? "," : "", db_get(ROW_RES(i), ROW_IDX(i), 0));
	if (buf_putc(&ids, ']') < 0)
		goto out;
	/* the partner teams each one belongs to now */
	if (db_query(db, &t,
	    "SELECT j.uid, t.slug FROM JSON_TABLE(?, '$[*]' COLUMNS (uid BIGINT UNSIGNED PATH '$')) j "
	    "JOIN memberships m ON m.user_id = j.uid "
	    "AND (m.started_at IS NULL OR m.started_at <= UTC_TIMESTAMP(6)) "
	    "AND (m.ended_at IS NULL OR m.ended_at > UTC_TIMESTAMP(6)) "
	    "JOIN teams t ON t.id = m.team_id AND t.deleted_at IS NULL AND FIND_IN_SET(t.slug, ?) = 0 "
	    "GROUP BY j.uid, t.slug ORDER BY j.uid, t.slug", "ss", ids.data, env->exclude) < 0)
		goto out;
	jw_key(w, "contributors");
	jw_arr(w);
	for (size_t i = 0; i < n; i++) {
		const struct db_res *x = ROW_RES(i);
		size_t j = ROW_IDX(i);
		const char *id = db_get(x, j, 0);
		jw_obj(w);
		jw_kv_int(w, "rank", (long long)i + 1);
		jw_kv_int(w, "id", ll(x, j, 0));
		jw_kv_str(w, "login", db_get(x, j, 1));
		jw_kv_str(w, "avatar_url", db_get(x, j, 2));
		jw_key(w, "teams");
		jw_arr(w);
		for (size_t k = 0; k < t->nrows; k++)
			if (strcmp(db_get(t, k, 0), id) == 0)
				jw_str(w, db_get(t, k, 1));
		jw_arr_end(w);
		jw_kv_int(w, "created", ll(x, j, 3));
		jw_kv_int(w, "merged", ll(x, j, 4));
		jw_kv_int(w, "rejected", ll(x, j, 5));
		jw_obj_end(w);
	}
#undef ROW_RES
#undef ROW_IDX
	jw_arr_end(w);
	rc = 0;
out:
	if (rc < 0)
		log_error("stats: contributors: %s", db_error(db));
	buf_free(&sql);
	buf_free(&ids);
	db_res_free(r);
	db_res_free(r2);
	db_res_free(t);
	return rc;
}

/* --------------------------------------------------------------- monthly */

int
stats_monthly_json(struct db *db, int year, unsigned long long team_id, struct jw *w)
{
	long long kind = team_id ? 0 : 2;
	long long c[13] = { 0 }, m[13] = { 0 }, rj[13] = { 0 }, k[13] = { 0 }, nc[13] = { 0 };
	long long out_[13] = { 0 }, base = 0;
	char y0[11], y1[11], ystart[24], yend[24], mon[8];
	struct db_res *r = NULL;
	static const char *const rows[] = { "processed", "merged", "rejected", "created",
	    "outstanding", "acceptance_rate", "contributors", "new_contributors" };
	int rc = -1;

	(void)lb_snprintf(y0, sizeof y0, "%04d-01-01", year);
	(void)lb_snprintf(y1, sizeof y1, "%04d-12-01", year);
	(void)lb_snprintf(ystart, sizeof ystart, "%04d-01-01 00:00:00", year);
	(void)lb_snprintf(yend, sizeof yend, "%04d-01-01 00:00:00", year + 1);
	if (db_query(db, &r, "SELECT MONTH(bucket), created, merged, rejected, contributors "
	    "FROM stat_counts WHERE grain = 'M' AND kind = ? AND scope_id = ? "
	    "AND bucket BETWEEN ? AND ?", "iuss", kind, team_id, y0, y1) < 0)
		goto out;
	for (size_t i = 0; i < r->nrows; i++) {
		long long mo = ll(r, i, 0);
		if (mo < 1 || mo > 12)
			continue;
		c[mo] = ll(r, i, 1);
		m[mo] = ll(r, i, 2);
		rj[mo] = ll(r, i, 3);
		k[mo] = ll(r, i, 4);
	}
	db_res_free(r);
	if (db_query(db, &r, "SELECT contributors FROM stat_counts WHERE grain = 'Y' "
	    "AND bucket = ? AND kind = ? AND scope_id = ?", "siu", y0, kind, team_id) < 0)
		goto out;
	k[0] = r->nrows ? ll(r, 0, 0) : 0;
	db_res_free(r);
	if (db_query(db, &r, "SELECT COALESCE(SUM(created - merged - rejected), 0) FROM stat_counts "
	    "WHERE grain = 'M' AND kind = ? AND scope_id = ? AND bucket < ?", "ius", kind,
	    team_id, y0) < 0)
		goto out;
	base = ll(r, 0, 0);
	db_res_free(r);
	if (db_query(db, &r, "SELECT MONTH(first_created), COUNT(*) FROM stat_first "
	    "WHERE kind = ? AND scope_id = ? AND first_created >= ? AND first_created < ? "
	    "GROUP BY 1", "iuss", kind, team_id, ystart, yend) < 0)
		goto out;
	for (size_t i = 0; i < r->nrows; i++) {
		long long mo = ll(r, i, 0);
		if (mo >= 1 && mo <= 12)
			nc[mo] = ll(r, i, 1);
	}
	for (int i = 1; i <= 12; i++) {
		base += c[i] - m[i] - rj[i];
		out_[i] = base;
		c[0] += c[i];
		m[0] += m[i];
		rj[0] += rj[i];
		nc[0] += nc[i];
	}
	out_[0] = out_[12];
	jw_key(w, "months");
	jw_arr(w);
	for (int i = 1; i <= 12; i++) {
		(void)lb_snprintf(mon, sizeof mon, "%04d-%02d", year, i);
		jw_str(w, mon);
	}
	jw_arr_end(w);
	jw_key(w, "rows");
	jw_obj(w);
	for (size_t row = 0; row < sizeof rows / sizeof rows[0]; row++) {
		jw_key(w, rows[row]);
		jw_obj(w);
		for (int j = 1; j <= 13; j++) {
			int i = j == 13 ? 0 : j;
			long long proc = m[i] + rj[i], v = 0;
			if (i == 0)
				jw_key(w, "total");
			else {
				(void)lb_snprintf(mon, sizeof mon, "%04d-%02d", year, i);
				jw_key(w, mon);
			}
			switch (row) {
			case 0: v = proc; break;
			case 1: v = m[i]; break;
			case 2: v = rj[i]; break;
			case 3: v = c[i]; break;
			case 4: v = out_[i]; break;
			case 5:
				if (proc == 0) {
					jw_null(w);
					continue;
				}
				v = (200 * m[i] + proc) / (2 * proc);	/* round half up */
				break;
			case 6: v = k[i]; break;
			case 7: v = nc[i]; break;
			}
			jw_int(w, v);
		}
		jw_obj_end(w);
	}
	jw_obj_end(w);
	rc = 0;
out:
	if (rc < 0)
		log_error("stats: monthly: %s", db_error(db));
	db_res_free(r);
	return rc;
}

/* --------------------------------------------------------------- periods */

int
stats_periods_json(struct db *db, const char *today, struct jw *w)
{
	struct db_res *r;
	int y0, m0, y1, m1, d;
	char s[16];

	if (db_query(db, &r, "SELECT DATE_FORMAT(MIN(bucket), '%Y-%m-%d'), "
	    "DATE_FORMAT(MAX(bucket), '%Y-%m-%d') FROM stat_counts WHERE kind = 2 AND scope_id = 0 "
	    "AND grain = 'M'",
	    "") < 0) {
		log_error("stats: periods: %s", db_error(db));
		return -1;
	}
	if (period_parse_date(today, &y1, &m1, &d) < 0) {
		db_res_free(r);
		return -1;
	}
	y0 = y1;
	m0 = m1;
	if (!db_isnull(r, 0, 0)) {
		int y, m;
		(void)period_parse_date(db_get(r, 0, 0), &y0, &m0, &d);
		if (period_parse_date(db_get(r, 0, 1), &y, &m, &d) == 0 &&
		    (y > y1 || (y == y1 && m > m1))) {
			y1 = y;
			m1 = m;
		}
		if (y0 > y1 || (y0 == y1 && m0 > m1)) {
			y0 = y1;
			m0 = m1;
		}
	}
	db_res_free(r);
	jw_key(w, "months");
	jw_arr(w);
	for (int y = y1, m = m1; y > y0 || (y == y0 && m >= m0);) {
		(void)lb_snprintf(s, sizeof s, "%04d-%02d", y, m);
		jw_str(w, s);
		if (--m == 0) {
			m = 12;
			y--;
		}
	}
	jw_arr_end(w);
	jw_key(w, "quarters");
	jw_arr(w);
	for (int y = y1, q = (m1 - 1) / 3 + 1; y > y0 || (y == y0 && q >= (m0 - 1) / 3 + 1);) {
		(void)lb_snprintf(s, sizeof s, "%04d-Q%d", y, q);
		jw_str(w, s);
		if (--q == 0) {
			q = 4;
			y--;
		}
	}
	jw_arr_end(w);
	jw_key(w, "years");
	jw_arr(w);
	for (int y = y1; y >= y0; y--) {
		(void)lb_snprintf(s, sizeof s, "%04d", y);
		jw_str(w, s);
	}
	jw_arr_end(w);
	return 0;
}
