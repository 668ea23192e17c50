#include "stats.h"
#include "buf.h"
#include "conf.h"
#include "date.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "period.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * SQL fragments. "Bucket" statements read the counters of one (grain,
 * bucket); "range" statements sum the buckets that tile the range
 * (period_piece: whole years, quarters and months, and the days at its
 * edges), listed in one JSON parameter [["Y","2024-01-01"],["D",...],...]
 * that JSON_TABLE turns into primary key lookups of each bucket. The grain
 * column names the tables' collation: without it MariaDB picks one of its
 * own (10.11.18: utf8mb4_general_ci, an "illegal mix" with the tables'
 * utf8mb4_unicode_ci; 10.11.19: the server's latin1).
 */
#define PIECES \
	"JSON_TABLE(?, '$[*]' COLUMNS (g CHAR(1) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci " \
	"PATH '$[0]', b DATE PATH '$[1]')) k "

#define COUNTS_BUCKET \
	"SELECT scope_id, members, created, merged, rejected, open, partner_created, oss_created " \
	"FROM stat_counts WHERE grain = ? AND bucket = ? AND kind = ?"
/* members: the distinct authors of the scope's stat_authors rows in the
 * buckets (a row exists while the author has an event in its bucket).
 * Parameters: pieces, kind, pieces, kind. */
#define COUNTS_RANGE \
	"SELECT c.scope_id, COALESCE(m.members, 0), c.created, c.merged, c.rejected, c.open, " \
	"c.partner_created, c.oss_created FROM (SELECT x.scope_id, SUM(x.created) AS created, " \
	"SUM(x.merged) AS merged, SUM(x.rejected) AS rejected, SUM(x.open) AS open, " \
	"SUM(x.partner_created) AS partner_created, SUM(x.oss_created) AS oss_created " \
	"FROM " PIECES "STRAIGHT_JOIN stat_counts x ON x.grain = k.g AND x.bucket = k.b " \
	"AND x.kind = ? GROUP BY x.scope_id) c LEFT JOIN (SELECT a.scope_id, " \
	"COUNT(DISTINCT a.author_id) AS members FROM " PIECES "STRAIGHT_JOIN stat_authors a " \
	"ON a.grain = k.g AND a.bucket = k.b AND a.kind = ? GROUP BY a.scope_id) m " \
	"ON m.scope_id = c.scope_id ORDER BY c.scope_id"

/* The ranked teams (not deleted, not excluded), in id order. */
#define TEAMS_RANKED \
	"SELECT id, slug, name FROM teams WHERE deleted_at IS NULL AND FIND_IN_SET(slug, ?) = 0 " \
	"ORDER BY id"

/*
 * Label rows (scope_id, label, n, points, color) in scope_id order; within
 * a scope the C side orders them by n descending, ties in the collation
 * order of the name. The bucket query reads stat_labels in primary key
 * order (scope_id, label: no sort); a label's color is that of the newest
 * label (highest id) with that name, through the labels_name index (the
 * subquery cache answers repeated names).
 */
#define LABEL_COLOR_OF(col) \
	"(SELECT lc.color FROM labels lc WHERE lc.name = " col " ORDER BY lc.id DESC LIMIT 1)"
#define LABELS_BUCKET_COLS \
	"SELECT l.scope_id, l.label, l.n, COALESCE(lp.points, 0), " LABEL_COLOR_OF("l.label") \
	" FROM stat_labels l LEFT JOIN label_points lp ON lp.label_name = l.label " \
	"WHERE l.grain = ? AND l.bucket = ? AND l.kind = ? AND l.n > 0 "
#define LABELS_BUCKET LABELS_BUCKET_COLS "ORDER BY l.scope_id, l.label"
#define LABELS_BUCKET_ONE LABELS_BUCKET_COLS "AND l.scope_id = ? ORDER BY l.scope_id, l.label"
#define LABELS_RANGE_SQL(one) \
	"SELECT y.scope_id, y.label, y.n, COALESCE(lp.points, 0), " LABEL_COLOR_OF("y.label") \
	" FROM (SELECT l.scope_id, l.label, SUM(l.n) AS n FROM " PIECES "STRAIGHT_JOIN stat_labels l " \
	"ON l.grain = k.g AND l.bucket = k.b AND l.kind = ? " one "GROUP BY l.scope_id, l.label " \
	"HAVING SUM(l.n) > 0) y LEFT JOIN label_points lp ON lp.label_name = y.label " \
	"ORDER BY y.scope_id, y.label"
#define LABELS_RANGE LABELS_RANGE_SQL("")
#define LABELS_RANGE_ONE LABELS_RANGE_SQL("AND l.scope_id = ? ")

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

void
stats_board_free(struct stats_board *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->teams[i].labels);
	free(b->teams);
	free(b->totals.labels);
	for (size_t i = 0; i < sizeof b->res / sizeof b->res[0]; i++)
		db_res_free(b->res[i]);
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

static unsigned long long
ull(const struct db_res *r, size_t row, size_t col)
{
	const char *v = db_get(r, row, col);

	return v ? strtoull(v, NULL, 10) : 0;
}

/* Within a scope: n descending, ties in the order the rows came in (the
 * collation order of the name). */
static int
label_cmp(const void *a, const void *b)
{
	const struct stats_label *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/*
 * Attach label rows (scope_id, label, n, points, color; in scope_id order)
 * to teams (in id order): one merge pass. Names and colors point into r.
 */
static int
attach_labels(struct stats_team *teams, size_t n, const struct db_res *r,
    long long merged_points)
{
	size_t i = 0, t = 0;

	for (size_t k = 0; k < n; k++)
		teams[k].points = teams[k].merged * merged_points;
	while (i < r->nrows) {
		unsigned long long scope = ull(r, i, 0);
		size_t j = i;

		while (j < r->nrows && ull(r, j, 0) == scope)
			j++;
		while (t < n && teams[t].id < scope)
			t++;
		if (t < n && teams[t].id == scope) {
			struct stats_team *x = &teams[t];
			x->labels = calloc(j - i, sizeof *x->labels);
			if (x->labels == NULL)
				return -1;
			for (size_t k = i; k < j; k++) {
				struct stats_label *l = &x->labels[x->nlabels++];
				l->name = r->val[k * r->ncols + 1];
				l->count = ll(r, k, 2);
				l->points = ll(r, k, 3);
				l->color = r->val[k * r->ncols + 4];
				l->ord = k;
				if (l->name == NULL)
					return -1;
				x->points += l->count * l->points;
			}
			qsort(x->labels, x->nlabels, sizeof *x->labels, label_cmp);
		}
		i = j;
	}
	return 0;
}

/*
 * The buckets tiling a range period (period_piece), as the JSON parameter
 * of PIECES; NULL when out of memory. The caller frees it.
 */
static char *
pieces_json(const struct period *p)
{
	char at[11], next[11];
	const char *doc;
	char *copy = NULL;
	size_t len;
	struct jw w;

	if (jw_init(&w) < 0)
		return NULL;
	jw_arr(&w);
	for (lb_strlcpy(at, p->from, sizeof at); strcmp(at, p->to) <= 0;
	    lb_strlcpy(at, next, sizeof at)) {
		char g[2] = { period_piece(at, p->to, next), 0 };
		if (g[0] == 0)
			break;
		jw_arr(&w);
		jw_str(&w, g);
		jw_str(&w, at);
		jw_arr_end(&w);
	}
	jw_arr_end(&w);
	if (jw_finish(&w, &doc, &len) == 0 && (copy = malloc(len + 1)) != NULL) {
		memcpy(copy, doc, len);
		copy[len] = '\0';
	}
	jw_free(&w);
	return copy;
}

static int
query_counts(struct db *db, const struct period *p, int kind, struct db_res **out)
{
	char *pj;
	int rc;

	if (p->grain)
		return db_query(db, out, COUNTS_BUCKET " ORDER BY scope_id", "ssi", grain_str(p),
		    p->bucket, (long long)kind);
	if ((pj = pieces_json(p)) == NULL)
		return -1;
	rc = db_query(db, out, COUNTS_RANGE, "sisi", pj, (long long)kind, pj, (long long)kind);
	free(pj);
	return rc;
}

/* one = 0: the labels of every scope of the kind; else only that scope's */
static int
query_labels(struct db *db, const struct period *p, int kind, unsigned long long one,
    struct db_res **out)
{
	char *pj;
	int rc;

	if (p->grain)
		return one ? db_query(db, out, LABELS_BUCKET_ONE, "ssiu", grain_str(p), p->bucket,
		    (long long)kind, one) : db_query(db, out, LABELS_BUCKET, "ssi", grain_str(p),
		    p->bucket, (long long)kind);
	if ((pj = pieces_json(p)) == NULL)
		return -1;
	rc = one ? db_query(db, out, LABELS_RANGE_ONE, "siu", pj, (long long)kind, one) :
	    db_query(db, out, LABELS_RANGE, "si", pj, (long long)kind);
	free(pj);
	return rc;
}

int
stats_board(struct db *db, const struct stats_env *env, const struct period *p,
    enum stats_sort sort, struct stats_board *b)
{
	return stats_board_for(db, env, p, sort, 0, b);
}

int
stats_board_for(struct db *db, const struct stats_env *env, const struct period *p,
    enum stats_sort sort, unsigned long long labels_of, struct stats_board *b)
{
	struct db_res *tr, *cr, *lr;
	size_t c = 0;
	int rc = -1, totals = labels_of == 0;

	memset(b, 0, sizeof *b);
	/* points rank every team: then every team's labels are needed */
	if (sort == SORT_POINTS)
		labels_of = 0;
	if (db_query(db, &b->res[0], TEAMS_RANKED, "s", env->exclude) < 0 ||
	    query_counts(db, p, 0, &b->res[1]) < 0 ||
	    query_labels(db, p, 0, labels_of, &b->res[2]) < 0)
		goto out;
	tr = b->res[0];
	cr = b->res[1];
	lr = b->res[2];
	b->teams = calloc(tr->nrows ? tr->nrows : 1, sizeof *b->teams);
	if (b->teams == NULL)
		goto out;
	/* teams and counters, both in id order: one merge pass */
	for (size_t i = 0; i < tr->nrows; i++) {
		struct stats_team *t = &b->teams[b->n++];
		t->id = ull(tr, i, 0);
		t->slug = tr->val[i * tr->ncols + 1];
		t->name = tr->val[i * tr->ncols + 2];
		while (c < cr->nrows && ull(cr, c, 0) < t->id)
			c++;
		if (c < cr->nrows && ull(cr, c, 0) == t->id)
			counts_from(t, cr, c, 1);
	}
	if (attach_labels(b->teams, b->n, lr, env->merged_points) < 0)
		goto out;
	sort_key = sort;
	qsort(b->teams, b->n, sizeof *b->teams, team_cmp);
	for (size_t i = 0; i < b->n; i++)
		b->teams[i].rank = (long long)i + 1;

	/* totals: the partner program (kind 1), each PR and member once */
	b->totals.rank = (long long)b->n;
	if (!totals) {
		rc = 0;
		goto out;
	}
	if (query_counts(db, p, 1, &b->res[3]) < 0)
		goto out;
	if (b->res[3]->nrows == 1)
		counts_from(&b->totals, b->res[3], 0, 1);
	if (query_labels(db, p, 1, 0, &b->res[4]) < 0 ||
	    attach_labels(&b->totals, 1, b->res[4], env->merged_points) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		log_error("stats: leaderboard: %s", db_error(db));
	return rc;
}

/* jw_kv_int() through yajl_gen_number() with a plain conversion: yajl's
 * own integer output goes through sprintf, a visible cost for the 40,000
 * numbers of a 2,000-team leaderboard. Same text, same error handling. */
static void
kv_int(struct jw *w, const char *k, long long v)
{
	char tmp[24], *e = tmp + sizeof tmp, *p = e;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	jw_key(w, k);
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	if (!w->failed && yajl_gen_number(w->g, p, (size_t)(e - p)) != yajl_gen_status_ok)
		w->failed = 1;
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
	kv_int(w, "rank", t->rank);
	kv_int(w, "id", (long long)t->id);
	jw_kv_str(w, "slug", t->slug);
	jw_kv_str(w, "name", t->name);
	if (with_members_count)
		kv_int(w, "members", t->members);
	kv_int(w, "created", t->created);
	kv_int(w, "merged", t->merged);
	kv_int(w, "rejected", t->rejected);
	kv_int(w, "open", t->open);
	kv_int(w, "partner_created", t->partner_created);
	kv_int(w, "oss_created", t->oss_created);
	kv_int(w, "points", t->points);
	jw_key(w, "labels");
	jw_arr(w);
	for (size_t i = 0; i < t->nlabels; i++) {
		jw_obj(w);
		jw_kv_str(w, "name", t->labels[i].name);
		jw_kv_str(w, "color", t->labels[i].color);
		kv_int(w, "count", t->labels[i].count);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/*
 * CSV text cells (stats.h): quoted, '"' doubled, and neutralised for
 * spreadsheets. A spreadsheet runs a cell starting with = + - @ (Excel
 * and LibreOffice also take the full-width forms U+FF1D, U+FF0B, U+FF0D,
 * U+FF20) as a formula, after a leading TAB or CR too. Our quoting keeps
 * ',' inside a cell, but a reader whose locale splits on ';' (or TAB or
 * '|') starts a new cell after every such character, and a naive reader
 * a new row after CR or LF: so every position after one of them is
 * treated as the start of a cell as well. Blanks and '"' before the
 * formula character do not hide it (a reader may strip them).
 */
static int
csv_boundary(unsigned char c)
{
	return c == ',' || c == ';' || c == '|' || c == '\t' || c == '\r' || c == '\n';
}

/* length of the formula start at s (a byte, or 3 for a full-width form), 0 if none */
static size_t
csv_formula(const unsigned char *s)
{
	if (*s == '=' || *s == '+' || *s == '-' || *s == '@')
		return 1;
	/* U+FF0B EF BC 8B, U+FF0D EF BC 8D, U+FF1D EF BC 9D, U+FF20 EF BC A0 */
	if (s[0] == 0xef && s[1] == 0xbc && (s[2] == 0x8b || s[2] == 0x8d || s[2] == 0x9d ||
	    s[2] == 0xa0))
		return 3;
	return 0;
}

/* whether a cell starting at s would run as a formula (or start with a
 * TAB, CR or LF, which a reader may strip before one) */
static int
csv_dangerous(const unsigned char *s)
{
	if (*s == '\t' || *s == '\r' || *s == '\n')
		return 1;
	while (*s == ' ' || *s == '"')
		s++;
	return csv_formula(s) > 0;
}

static int
csv_cell(struct buf *b, const char *s, int comma)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	int at_start = 1;

	if ((comma && buf_putc(b, ',') < 0) || buf_putc(b, '"') < 0)
		return -1;
	for (const unsigned char *q = p;; q++) {
		if (at_start && csv_dangerous(q) && buf_putc(b, '\'') < 0)
			return -1;
		if (*q == '\0')
			break;
		if ((*q == '"' && buf_putc(b, '"') < 0) || buf_putc(b, (char)*q) < 0)
			return -1;
		at_start = csv_boundary(*q);
	}
	return buf_putc(b, '"');
}

static int
csv_text(struct buf *b, const char *s)
{
	return csv_cell(b, s, 1);
}

int
stats_avatar_ok(const struct stats_env *env, const char *url)
{
	size_t n;

	if (url == NULL || env->avatar_hosts == NULL)
		return 0;
	n = strlen(url);
	if (n == 0 || n > 512)
		return 0;
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '\'' || *p == '\\' || *p == '<' ||
		    *p == '>' || *p == '`')
			return 0;
	for (size_t i = 0; i < env->avatar_hosts->n; i++) {
		const char *pre = env->avatar_hosts->v[i];
		size_t l = strlen(pre);
		if (l > 0 && pre[l - 1] == '/' && n > l && strncasecmp(url, pre, l) == 0)
			return 1;
	}
	return 0;
}

static void
avatar_kv(struct jw *w, const struct stats_env *env, const char *url)
{
	jw_kv_str(w, "avatar_url", stats_avatar_ok(env, url) ? url : NULL);
}

int
stats_csv_field(struct buf *b, const char *s, int first)
{
	return csv_cell(b, s, !first);
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
		    csv_text(out, t->slug) < 0 || csv_text(out, t->name) < 0 ||
		    buf_printf(out, ",%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld", t->members,
		    t->created, t->merged, t->rejected, t->open, t->partner_created, t->oss_created,
		    t->points) < 0 || csv_text(out, lab.data) < 0 ||
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

/*
 * Search links, "<web>/search?q=<form-encoded query>&type=pullrequests"
 * with the query "is:pr author:LOGIN repo:REPO[ STATE][ QUAL:FROM..TO]".
 * Form encoding works character by character, so the encoded pieces are
 * made once (per request, member or repository) and the links are
 * concatenations of them: no per-link formatting.
 */
struct links {
	struct buf pre;		/* web + "/search?q=" + enc("is:pr author:") */
	struct buf suf[3];	/* enc(state + qualifier) + "&type=pullrequests" */
	struct buf login;	/* enc(login) of the current member */
	struct buf repo;	/* enc(" repo:" + repo) of the current row */
	struct buf url, tmp;
};

static void
links_free(struct links *l)
{
	buf_free(&l->pre);
	for (int i = 0; i < 3; i++)
		buf_free(&l->suf[i]);
	buf_free(&l->login);
	buf_free(&l->repo);
	buf_free(&l->url);
	buf_free(&l->tmp);
}

static int
links_init(struct links *l, const struct stats_env *env, const struct period *p)
{
	static const char *const state[3] = { "", " is:merged", " is:closed is:unmerged" };
	static const char *const qual[3] = { "created", "merged", "closed" };

	memset(l, 0, sizeof *l);
	if (buf_puts(&l->pre, env->web) < 0 || buf_puts(&l->pre, "/search?q=") < 0 ||
	    form_encode(&l->pre, "is:pr author:") < 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		buf_reset(&l->tmp);
		if (buf_puts(&l->tmp, state[i]) < 0 || (p->from[0] && buf_printf(&l->tmp,
		    " %s:%s..%s", qual[i], p->from, p->to) < 0) ||
		    form_encode(&l->suf[i], l->tmp.data ? l->tmp.data : "") < 0 ||
		    buf_puts(&l->suf[i], "&type=pullrequests") < 0)
			return -1;
	}
	return 0;
}

static int
links_piece(struct buf *b, const char *prefix, const char *s)
{
	buf_reset(b);
	return form_encode(b, prefix) < 0 || form_encode(b, s ? s : "") < 0 ? -1 : 0;
}

/* "key": link of kind k (0 created, 1 merged, 2 rejected) */
static void
links_kv(struct jw *w, struct links *l, const char *key, int k)
{
	buf_reset(&l->url);
	if (buf_append(&l->url, l->pre.data, l->pre.len) < 0 ||
	    buf_append(&l->url, l->login.data, l->login.len) < 0 ||
	    buf_append(&l->url, l->repo.data, l->repo.len) < 0 ||
	    buf_append(&l->url, l->suf[k].data, l->suf[k].len) < 0) {
		w->failed = 1;
		return;
	}
	jw_key(w, key);
	jw_strn(w, l->url.data, l->url.len);
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
/* parameters: pieces, kind, scope */
#define MEMBERS_RANGE \
	"SELECT a.author_id, u.login, u.avatar_url, SUM(a.created), SUM(a.merged), " \
	"SUM(a.rejected) FROM " PIECES "STRAIGHT_JOIN stat_authors a ON a.grain = k.g " \
	"AND a.bucket = k.b AND a.kind = ? AND a.scope_id = ? STRAIGHT_JOIN users u ON u.id = a.author_id " \
	"GROUP BY a.author_id, u.login, u.avatar_url"
#define REPOS_BUCKET \
	"SELECT x.author_id, r.full_name, x.created, x.merged, x.rejected FROM stat_repos x " \
	"JOIN repositories r ON r.id = x.repo_id WHERE x.grain = ? AND x.bucket = ? " \
	"AND x.team_id = ? ORDER BY x.author_id, r.full_name"
/* parameters: pieces, team */
#define REPOS_RANGE \
	"SELECT x.author_id, r.full_name, SUM(x.created), SUM(x.merged), SUM(x.rejected) " \
	"FROM " PIECES "STRAIGHT_JOIN stat_repos x ON x.grain = k.g AND x.bucket = k.b " \
	"AND x.team_id = ? STRAIGHT_JOIN repositories r ON r.id = x.repo_id " \
	"GROUP BY x.author_id, r.full_name ORDER BY x.author_id, r.full_name"

int
stats_team_members_json(struct db *db, const struct stats_env *env,
    const struct period *p, unsigned long long team_id, enum stats_sort sort, struct jw *w)
{
	struct db_res *mr = NULL, *rr = NULL;
	struct member *ms = NULL;
	char *pj = NULL;
	unsigned long long *ra = NULL;
	struct links lk;
	int rc = -1;

	if (links_init(&lk, env, p) < 0) {
		links_free(&lk);
		return -1;
	}

	if (p->grain) {
		if (db_query(db, &mr, MEMBERS_BUCKET, "ssiu", grain_str(p), p->bucket, 0LL,
		    team_id) < 0 || db_query(db, &rr, REPOS_BUCKET, "ssu", grain_str(p),
		    p->bucket, team_id) < 0)
			goto out;
	} else if ((pj = pieces_json(p)) == NULL ||
	    db_query(db, &mr, MEMBERS_RANGE, "siu", pj, 0LL, team_id) < 0 ||
	    db_query(db, &rr, REPOS_RANGE, "su", pj, team_id) < 0)
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
	/* repository rows are in author order: each member's are one run */
	ra = calloc(rr->nrows ? rr->nrows : 1, sizeof *ra);
	if (ra == NULL)
		goto out;
	for (size_t k = 0; k < rr->nrows; k++)
		ra[k] = ull(rr, k, 0);
	jw_key(w, "members");
	jw_arr(w);
	for (size_t i = 0; i < mr->nrows; i++) {
		size_t lo = lb_lower_bound(ra, rr->nrows, ms[i].id);	/* the member's first row */
		jw_obj(w);
		kv_int(w, "id", (long long)ms[i].id);
		jw_kv_str(w, "login", ms[i].login);
		avatar_kv(w, env, ms[i].avatar);
		kv_int(w, "created", ms[i].c);
		kv_int(w, "merged", ms[i].m);
		kv_int(w, "rejected", ms[i].r);
		if (links_piece(&lk.login, "", ms[i].login) < 0)
			goto out;
		jw_key(w, "repos");
		jw_arr(w);
		for (size_t k = lo; k < rr->nrows && ra[k] == ms[i].id; k++) {
			const char *repo = db_get(rr, k, 1);
			long long rc_ = ll(rr, k, 2), rm = ll(rr, k, 3), rj = ll(rr, k, 4);
			if (rc_ == 0 && rm == 0 && rj == 0)
				continue;
			jw_obj(w);
			jw_kv_str(w, "repo", repo);
			kv_int(w, "created", rc_);
			kv_int(w, "merged", rm);
			kv_int(w, "rejected", rj);
			if (links_piece(&lk.repo, " repo:", repo) < 0)
				goto out;
			jw_key(w, "links");
			jw_obj(w);
			links_kv(w, &lk, "created", 0);
			links_kv(w, &lk, "merged", 1);
			links_kv(w, &lk, "rejected", 2);
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
	links_free(&lk);
	free(pj);
	free(ra);
	free(ms);
	db_res_free(mr);
	db_res_free(rr);
	return rc;
}

/* ---------------------------------------------------------- contributors */

/* The top `limit` authors of a bucket by col: *r the rows above the N-th
 * value, *r2 (may stay NULL) the ties at it in login order. 0 or -1. */
static int
top_authors_bucket(struct db *db, const struct period *p, const char *col, long long kind,
    unsigned long long team_id, long long limit, struct db_res **r, struct db_res **r2)
{
	/*
	 * Top-N without sorting every author: the N-th value T through
	 * the (..., scope_id, <col>) index (N entries), the rows above T
	 * (fewer than N) sorted, then the ties at T in login order: all
	 * of them sorted when they are few, else by walking users_login
	 * and probing stat_authors until enough are found.
	 */
	long long floor = -(1LL << 62), nties = 0;
	struct buf sql = BUF_INIT;
	int rc = -1, rc2;

	if (buf_printf(&sql, "SELECT %s FROM stat_authors WHERE grain = ? AND bucket = ? "
	    "AND kind = ? AND scope_id = ? ORDER BY %s DESC LIMIT 1 OFFSET ?", col, col) < 0 ||
	    db_query(db, r, sql.data, "ssiui", grain_str(p), p->bucket, kind, team_id,
	    limit - 1) < 0)
		goto out;
	if ((*r)->nrows == 1)
		floor = ll(*r, 0, 0);
	db_res_free(*r);
	*r = NULL;
	buf_reset(&sql);
	if (buf_printf(&sql, MEMBERS_BUCKET " AND a.%s %s ? ORDER BY a.%s DESC, u.login, "
	    "a.author_id LIMIT ?", col, floor == -(1LL << 62) ? ">=" : ">", col) < 0 ||
	    db_query(db, r, sql.data, "ssiuii", grain_str(p), p->bucket, kind, team_id,
	    floor, limit) < 0)
		goto out;
	if (floor != -(1LL << 62) && (long long)(*r)->nrows < limit) {
		buf_reset(&sql);
		/* how many ties, counted up to 2,001 only (a popular value
		 * has tens of thousands) */
		if (buf_printf(&sql, "SELECT COUNT(*) FROM (SELECT 1 FROM stat_authors "
		    "WHERE grain = ? AND bucket = ? AND kind = ? AND scope_id = ? AND %s = ? "
		    "LIMIT 2001) x", col) < 0 ||
		    db_query(db, r2, sql.data, "ssiui", grain_str(p), p->bucket, kind, team_id,
		    floor) < 0)
			goto out;
		nties = ll(*r2, 0, 0);
		db_res_free(*r2);
		*r2 = NULL;
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
		if (rc2 < 0 || db_query(db, r2, sql.data, "ssiuii", grain_str(p), p->bucket,
		    kind, team_id, floor, limit - (long long)(*r)->nrows) < 0)
			goto out;
	}
	rc = 0;
out:
	buf_free(&sql);
	return rc;
}

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
	char *pj = NULL;
	size_t n1, n;
	int rc = -1;

	if (p->grain) {
		if (top_authors_bucket(db, p, col, kind, team_id, limit, &r, &r2) < 0)
			goto out;
	} else if ((pj = pieces_json(p)) == NULL ||
	    buf_printf(&sql, MEMBERS_RANGE " ORDER BY SUM(a.%s) DESC, u.login, a.author_id "
	    "LIMIT ?", col) < 0 || db_query(db, &r, sql.data, "siui", pj, kind, team_id, limit) < 0)
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
		kv_int(w, "rank", (long long)i + 1);
		kv_int(w, "id", ll(x, j, 0));
		jw_kv_str(w, "login", db_get(x, j, 1));
		avatar_kv(w, env, db_get(x, j, 2));
		jw_key(w, "teams");
		jw_arr(w);
		for (size_t k = 0; k < t->nrows; k++)
			if (strcmp(db_get(t, k, 0), id) == 0)
				jw_str(w, db_get(t, k, 1));
		jw_arr_end(w);
		kv_int(w, "created", ll(x, j, 3));
		kv_int(w, "merged", ll(x, j, 4));
		kv_int(w, "rejected", ll(x, j, 5));
		jw_obj_end(w);
	}
#undef ROW_RES
#undef ROW_IDX
	jw_arr_end(w);
	rc = 0;
out:
	if (rc < 0)
		log_error("stats: contributors: %s", db_error(db));
	free(pj);
	buf_free(&sql);
	buf_free(&ids);
	db_res_free(r);
	db_res_free(r2);
	db_res_free(t);
	return rc;
}

/* --------------------------------------------------------------- monthly */

/* One year of monthly counts; index 0 is the year's total. */
struct monthly {
	long long c[13], m[13], rj[13], k[13], nc[13], out[13];
};

/* The months and rows of stats_monthly_json() from the counts in y. */
static void
monthly_write(struct jw *w, int year, const struct monthly *y)
{
	static const char *const rows[] = { "processed", "merged", "rejected", "created",
	    "outstanding", "acceptance_rate", "contributors", "new_contributors" };
	char mon[8];

	jw_key(w, "months");
	jw_arr(w);
	for (int i = 1; i <= 12; i++) {
		date_month_key(mon, sizeof mon, year, i);
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
			long long proc = y->m[i] + y->rj[i], v = 0;
			if (i == 0)
				jw_key(w, "total");
			else {
				date_month_key(mon, sizeof mon, year, i);
				jw_key(w, mon);
			}
			switch (row) {
			case 0: v = proc; break;
			case 1: v = y->m[i]; break;
			case 2: v = y->rj[i]; break;
			case 3: v = y->c[i]; break;
			case 4: v = y->out[i]; break;
			case 5:
				if (proc == 0) {
					jw_null(w);
					continue;
				}
				v = (200 * y->m[i] + proc) / (2 * proc);	/* round half up */
				break;
			case 6: v = y->k[i]; break;
			case 7: v = y->nc[i]; break;
			}
			jw_int(w, v);
		}
		jw_obj_end(w);
	}
	jw_obj_end(w);
}

int
stats_monthly_json(struct db *db, int year, unsigned long long team_id, struct jw *w)
{
	long long kind = team_id ? 0 : 2;
	struct monthly y;
	long long base = 0;
	char y0[11], y1[11], ystart[24], yend[24];
	struct db_res *r = NULL;
	int rc = -1;

	memset(&y, 0, sizeof y);
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
		y.c[mo] = ll(r, i, 1);
		y.m[mo] = ll(r, i, 2);
		y.rj[mo] = ll(r, i, 3);
		y.k[mo] = ll(r, i, 4);
	}
	db_res_free(r);
	if (db_query(db, &r, "SELECT contributors FROM stat_counts WHERE grain = 'Y' "
	    "AND bucket = ? AND kind = ? AND scope_id = ?", "siu", y0, kind, team_id) < 0)
		goto out;
	y.k[0] = r->nrows ? ll(r, 0, 0) : 0;
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
			y.nc[mo] = ll(r, i, 1);
	}
	for (int i = 1; i <= 12; i++) {
		base += y.c[i] - y.m[i] - y.rj[i];
		y.out[i] = base;
		y.c[0] += y.c[i];
		y.m[0] += y.m[i];
		y.rj[0] += y.rj[i];
		y.nc[0] += y.nc[i];
	}
	y.out[0] = y.out[12];
	monthly_write(w, year, &y);
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
	    "AND grain = 'M' AND (created > 0 OR merged > 0 OR rejected > 0)",
	    "") < 0) {
		log_error("stats: periods: %s", db_error(db));
		return -1;
	}
	if (date_parse_day(today, &y1, &m1, &d) < 0) {
		db_res_free(r);
		return -1;
	}
	y0 = y1;
	m0 = m1;
	if (!db_isnull(r, 0, 0)) {
		int y, m;
		(void)date_parse_day(db_get(r, 0, 0), &y0, &m0, &d);
		if (date_parse_day(db_get(r, 0, 1), &y, &m, &d) == 0 &&
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
		date_month_key(s, sizeof s, y, m);
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
