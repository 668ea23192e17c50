/*
 * rollup — incremental maintenance and full rebuild of the stat_* tables.
 * docs/STATS.md explains the tables; sql/004_stats.sql defines them.
 *
 * One PR's contribution: whether it counts, its author, repository,
 * partner flag, created / merged / rejected times, open flag, the ranked
 * teams it is attributed to and its label names. rollup_pr_after() turns
 * the stored (old) and the computed (new) contribution into counter deltas
 * (old with sign -1, new with +1), merges equal keys and writes only what
 * changed.
 */
#include "rollup.h"
#include "buf.h"
#include "conf.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "thread.h"
#include "utf8.h"

#include <ctype.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_TEAMS  64
#define MAX_LABELS 64

struct contrib {
	int counted;
	unsigned long long author, repo;
	int partner, open;
	char created[24], merged[24], rejected[24];	/* "" when none */
	size_t nteams, nlabels;
	unsigned long long teams[MAX_TEAMS];
	char labels[MAX_LABELS][256];
};

/* ---------------------------------------------------------------- config */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, lower-cased, comma-joined copy of a config list. */
static int
list_join(const struct conf_list *l, struct buf *out)
{
	char **v = calloc(l->n ? l->n : 1, sizeof *v);
	int rc = 0;

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		v[i] = lb_strdup(l->v[i]);
		if (v[i] == NULL) {
			rc = -1;
			goto out;
		}
		for (char *p = v[i]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	qsort(v, l->n, sizeof *v, cmp_str);
	for (size_t i = 0; i < l->n && rc == 0; i++)
		if (buf_printf(out, "%s%s", i ? "," : "", v[i]) < 0)
			rc = -1;
out:
	for (size_t i = 0; i < l->n; i++)
		free(v[i]);
	free(v);
	return rc;
}

int
rollup_exclude_list(const struct conf *c, char *out, size_t outlen)
{
	struct buf b = BUF_INIT;
	int rc = -1;

	if (list_join(&c->exclude_teams, &b) == 0 && b.len < outlen) {
		lb_strlcpy(out, b.data ? b.data : "", outlen);
		rc = 0;
	}
	buf_free(&b);
	return rc;
}

/* Fingerprint of the config parts the rollups depend on (hex, 17 bytes). */
static void
rollup_config_fp(const struct conf *c, char out[17])
{
	struct buf b = BUF_INIT;
	uint64_t h = 1469598103934665603ULL;

	(void)buf_puts(&b, "v1|repos=");
	(void)list_join(&c->repositories, &b);
	(void)buf_puts(&b, "|exclude=");
	(void)list_join(&c->exclude_teams, &b);
	(void)buf_printf(&b, "|org=%s", c->partner_org ? c->partner_org : "");
	for (size_t i = 0; i < b.len; i++) {
		h ^= (unsigned char)tolower((unsigned char)b.data[i]);
		h *= 1099511628211ULL;
	}
	buf_free(&b);
	(void)lb_snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ------------------------------------------------------------ the locks */

/*
 * Writers take a SHARED lock on stat_state row 1 (compatible with each
 * other); a rebuild takes it exclusively (rollup_check), so it waits for
 * the writers in flight and holds new ones back until it is done.
 * *exclude gets the excluded slugs the rollups were built with.
 */
static int
lock_state(struct db *db, char *exclude, size_t len)
{
	struct db_res *r;

	if (db_query(db, &r, "SELECT exclude_teams FROM stat_state WHERE id = 1 LOCK IN SHARE MODE",
	    "") < 0)
		return -1;
	if (exclude)
		lb_strlcpy(exclude, r->nrows ? (db_get(r, 0, 0) ? db_get(r, 0, 0) : "") : "", len);
	db_res_free(r);
	return 0;
}

/* The author's users row, shared: a membership change (lib/store locks the
 * row exclusively) and the rolls of that author's PRs exclude each other,
 * so neither computes attribution from memberships the other is changing. */
static int
lock_user_shared(struct db *db, unsigned long long user_id)
{
	struct db_res *r;

	if (db_query(db, &r, "SELECT id FROM users WHERE id = ? LOCK IN SHARE MODE", "u",
	    user_id) < 0)
		return -1;
	db_res_free(r);
	return 0;
}

/* One of 64 version slots (API caches): only writers on the same slot
 * touch the same row, and only when a rollup really changed. */
static int
bump(struct db *db)
{
	return db_exec(db, "INSERT INTO stat_version (slot, v) VALUES (CONNECTION_ID() % 64, 1) "
	    "ON DUPLICATE KEY UPDATE v = v + 1", "");
}

/* ------------------------------------------------------ contributions */

static void
cpy(char *dst, size_t len, const char *src)
{
	lb_strlcpy(dst, src ? src : "", len);
}

static int
load_old(struct db *db, unsigned long long pr_id, struct contrib *c)
{
	struct db_res *r;

	memset(c, 0, sizeof *c);
	if (db_query(db, &r,
	    "SELECT author_id, repo_id, partner, created_at, merged_at, rejected_at, open "
	    "FROM stat_pr WHERE pr_id = ?", "u", pr_id) < 0)
		return -1;
	if (r->nrows == 1) {
		c->counted = 1;
		c->author = strtoull(db_get(r, 0, 0), NULL, 10);
		c->repo = strtoull(db_get(r, 0, 1), NULL, 10);
		c->partner = (int)db_getll(r, 0, 2, 0);
		cpy(c->created, sizeof c->created, db_get(r, 0, 3));
		cpy(c->merged, sizeof c->merged, db_get(r, 0, 4));
		cpy(c->rejected, sizeof c->rejected, db_get(r, 0, 5));
		c->open = (int)db_getll(r, 0, 6, 0);
	}
	db_res_free(r);
	if (!c->counted)
		return 0;
	if (db_query(db, &r, "SELECT scope_id FROM stat_pr_scope WHERE pr_id = ? AND kind = 0 "
	    "ORDER BY scope_id", "u", pr_id) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows && c->nteams < MAX_TEAMS; i++)
		c->teams[c->nteams++] = strtoull(db_get(r, i, 0), NULL, 10);
	db_res_free(r);
	if (db_query(db, &r, "SELECT label FROM stat_pr_label WHERE pr_id = ? ORDER BY label",
	    "u", pr_id) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows && c->nlabels < MAX_LABELS; i++)
		cpy(c->labels[c->nlabels++], sizeof c->labels[0], db_get(r, i, 0));
	db_res_free(r);
	return 0;
}

static int
load_new(struct db *db, unsigned long long pr_id, const char *exclude, struct contrib *c)
{
	struct db_res *r;

	memset(c, 0, sizeof *c);
	if (db_query(db, &r,
	    "SELECT p.author_id, p.repo_id, r.partner_owned, p.created_at, "
	    "IF(p.merged = 1, p.merged_at, NULL), "
	    "IF(p.state = 'closed' AND p.merged = 0, p.closed_at, NULL), p.state = 'open' "
	    "FROM pull_requests p JOIN repositories r ON r.id = p.repo_id "
	    "JOIN users u ON u.id = p.author_id "
	    "WHERE p.id = ? AND r.tracked = 1 AND u.type <> 'Bot'", "u", pr_id) < 0)
		return -1;
	if (r->nrows == 1) {
		c->counted = 1;
		c->author = strtoull(db_get(r, 0, 0), NULL, 10);
		c->repo = strtoull(db_get(r, 0, 1), NULL, 10);
		c->partner = (int)db_getll(r, 0, 2, 0);
		cpy(c->created, sizeof c->created, db_get(r, 0, 3));
		cpy(c->merged, sizeof c->merged, db_get(r, 0, 4));
		cpy(c->rejected, sizeof c->rejected, db_get(r, 0, 5));
		c->open = (int)db_getll(r, 0, 6, 0);
	}
	db_res_free(r);
	if (!c->counted)
		return 0;
	/* member of T when created, and not then of an excluded team */
	if (db_query(db, &r,
	    "SELECT DISTINCT m.team_id FROM memberships m JOIN teams t ON t.id = m.team_id "
	    "WHERE m.user_id = ? AND (m.started_at IS NULL OR m.started_at <= ?) "
	    "AND (m.ended_at IS NULL OR m.ended_at > ?) "
	    "AND t.deleted_at IS NULL AND FIND_IN_SET(t.slug, ?) = 0 "
	    "AND NOT EXISTS (SELECT 1 FROM memberships x JOIN teams xt ON xt.id = x.team_id "
	    "  WHERE x.user_id = m.user_id AND FIND_IN_SET(xt.slug, ?) > 0 "
	    "  AND (x.started_at IS NULL OR x.started_at <= ?) "
	    "  AND (x.ended_at IS NULL OR x.ended_at > ?)) "
	    "ORDER BY m.team_id",
	    "ussssss", c->author, c->created, c->created, exclude, exclude, c->created,
	    c->created) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows && c->nteams < MAX_TEAMS; i++)
		c->teams[c->nteams++] = strtoull(db_get(r, i, 0), NULL, 10);
	db_res_free(r);
	if (db_query(db, &r,
	    "SELECT DISTINCT l.name FROM pr_labels pl JOIN labels l ON l.id = pl.label_id "
	    "WHERE pl.pr_id = ? ORDER BY l.name", "u", pr_id) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows && c->nlabels < MAX_LABELS; i++) {
		/* the same name twice in another case is one label to MariaDB */
		const char *n = db_get(r, i, 0);
		int dup = 0;
		for (size_t j = 0; j < c->nlabels; j++)
			if (strcasecmp(c->labels[j], n) == 0)
				dup = 1;
		if (!dup)
			cpy(c->labels[c->nlabels++], sizeof c->labels[0], n);
	}
	db_res_free(r);
	return 0;
}

static int
contrib_equal(const struct contrib *a, const struct contrib *b)
{
	if (a->counted != b->counted)
		return 0;
	if (!a->counted)
		return 1;
	if (a->author != b->author || a->repo != b->repo || a->partner != b->partner ||
	    a->open != b->open || strcmp(a->created, b->created) != 0 ||
	    strcmp(a->merged, b->merged) != 0 || strcmp(a->rejected, b->rejected) != 0 ||
	    a->nteams != b->nteams || a->nlabels != b->nlabels)
		return 0;
	for (size_t i = 0; i < a->nteams; i++)
		if (a->teams[i] != b->teams[i])
			return 0;
	for (size_t i = 0; i < a->nlabels; i++)
		if (strcmp(a->labels[i], b->labels[i]) != 0)
			return 0;
	return 1;
}

/* ---------------------------------------------------------------- deltas */

/* Tables in lock order: every writer locks stat_authors rows, then
 * stat_counts, stat_labels, stat_repos (each in key order), then its PR's
 * stat_pr* rows, then stat_first rows: single-PR writers never deadlock. */
enum { T_AUTHORS, T_COUNTS, T_LABELS, T_REPOS };
enum { V_CREATED, V_MERGED, V_REJECTED, V_OPEN, V_PARTNER, V_OSS, V_MEMBERS, V_CONTRIB, V_N };

struct delta {
	int table;
	char grain;
	char bucket[11];
	unsigned kind;
	unsigned long long scope, author, repo;
	const char *label;
	long long v[V_N];
};

struct deltas {
	struct delta *d;
	size_t n, cap;
};

static int
ucmp(unsigned long long a, unsigned long long b)
{
	return a < b ? -1 : a > b;
}

static int
delta_cmp(const void *pa, const void *pb)
{
	const struct delta *a = pa, *b = pb;
	int c;

	if (a->table != b->table)
		return a->table < b->table ? -1 : 1;
	if (a->grain != b->grain)
		return a->grain < b->grain ? -1 : 1;
	if ((c = strcmp(a->bucket, b->bucket)) != 0)
		return c;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if ((c = ucmp(a->scope, b->scope)) != 0 || (c = ucmp(a->author, b->author)) != 0 ||
	    (c = ucmp(a->repo, b->repo)) != 0)
		return c;
	if (a->label == NULL || b->label == NULL)
		return (a->label != NULL) - (b->label != NULL);
	return strcasecmp(a->label, b->label);
}

static int
add(struct deltas *ds, const struct delta *k, int field, long long v)
{
	for (size_t i = 0; i < ds->n; i++)
		if (delta_cmp(&ds->d[i], k) == 0) {
			ds->d[i].v[field] += v;
			return 0;
		}
	if (ds->n == ds->cap) {
		size_t nc = ds->cap ? ds->cap * 2 : 64;
		struct delta *nd = realloc(ds->d, nc * sizeof *nd);
		if (nd == NULL)
			return -1;
		ds->d = nd;
		ds->cap = nc;
	}
	ds->d[ds->n] = *k;
	memset(ds->d[ds->n].v, 0, sizeof ds->d[ds->n].v);
	ds->d[ds->n].v[field] = v;
	ds->n++;
	return 0;
}

static const char grains[5] = { 'A', 'Y', 'Q', 'M', 'D' };

static void
bucket_of(char grain, const char *when, char out[11])
{
	int y = (int)strtol(when, NULL, 10);
	int m = (int)strtol(when + 5, NULL, 10);

	switch (grain) {
	case 'Y': (void)lb_snprintf(out, 11, "%04d-01-01", y); break;
	case 'Q': (void)lb_snprintf(out, 11, "%04d-%02d-01", y, (m - 1) / 3 * 3 + 1); break;
	case 'M': (void)lb_snprintf(out, 11, "%04d-%02d-01", y, m); break;
	case 'D': lb_strlcpy(out, when, 11); break;
	default: lb_strlcpy(out, "1970-01-01", 11); break;
	}
}

/* One event (created/merged/rejected at `when`) of contribution c in every
 * scope and grain. */
static int
event(struct deltas *ds, const struct contrib *c, long long s, const char *when, int what)
{
	size_t nscopes = 1 + (c->nteams > 0) + c->nteams;

	for (size_t si = 0; si < nscopes; si++) {
		unsigned kind = si == 0 ? 2 : si == 1 ? 1 : 0;
		unsigned long long scope = kind == 0 ? c->teams[si - 2] : 0;
		for (int g = 0; g < (int)sizeof grains; g++) {
			struct delta k;
			memset(&k, 0, sizeof k);
			k.grain = grains[g];
			bucket_of(k.grain, when, k.bucket);
			k.kind = kind;
			k.scope = scope;
			k.table = T_COUNTS;
			if (add(ds, &k, what, s) < 0)
				return -1;
			if (what == V_CREATED) {
				if (c->open && add(ds, &k, V_OPEN, s) < 0)
					return -1;
				if (add(ds, &k, c->partner ? V_PARTNER : V_OSS, s) < 0)
					return -1;
			}
			k.table = T_AUTHORS;
			k.author = c->author;
			if (add(ds, &k, what, s) < 0)
				return -1;
			if (kind == 0) {
				k.table = T_REPOS;
				k.repo = c->repo;
				if (add(ds, &k, what, s) < 0)
					return -1;
				k.repo = 0;
			}
			k.author = 0;
			if (what == V_MERGED) {
				k.table = T_LABELS;
				for (size_t l = 0; l < c->nlabels; l++) {
					k.label = c->labels[l];
					if (add(ds, &k, 0, s) < 0)
						return -1;
				}
			}
		}
	}
	return 0;
}

static int
contrib_deltas(struct deltas *ds, const struct contrib *c, long long s)
{
	if (!c->counted)
		return 0;
	if (event(ds, c, s, c->created, V_CREATED) < 0)
		return -1;
	if (c->merged[0] && event(ds, c, s, c->merged, V_MERGED) < 0)
		return -1;
	if (c->rejected[0] && event(ds, c, s, c->rejected, V_REJECTED) < 0)
		return -1;
	return 0;
}

static int
nonzero(const struct delta *d)
{
	for (int i = 0; i < V_N; i++)
		if (d->v[i])
			return 1;
	return 0;
}

/*
 * One stat_authors row: the additive upsert locks it (also a row another
 * writer is inserting right now), the read-back gives the new value, the
 * old one is new - delta. 0 <-> non-zero transitions become members /
 * contributors deltas of the scope's stat_counts row (applied later, in
 * key order, with the other counters).
 */
static int
apply_author(struct db *db, const struct delta *d, struct deltas *ds)
{
	char g[2] = { d->grain, 0 };
	struct db_res *r;
	long long o[3], n[3] = { 0, 0, 0 };
	int had, has;

	/* the row as the upsert left it (RETURNING): no read-back */
	if (db_query(db, &r,
	    "INSERT INTO stat_authors (grain, bucket, kind, scope_id, author_id, created, merged, "
	    "rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
	    "created = created + VALUES(created), merged = merged + VALUES(merged), "
	    "rejected = rejected + VALUES(rejected) RETURNING created, merged, rejected",
	    "ssiuuiii", g, d->bucket, (long long)d->kind, d->scope, d->author, d->v[0], d->v[1],
	    d->v[2]) < 0)
		return -1;
	if (r->nrows == 1)
		for (int i = 0; i < 3; i++)
			n[i] = db_getll(r, 0, (size_t)i, 0);
	db_res_free(r);
	for (int i = 0; i < 3; i++)
		o[i] = n[i] - d->v[i];
	had = o[0] || o[1] || o[2];
	has = n[0] || n[1] || n[2];
	if (!has && db_exec(db, "DELETE FROM stat_authors WHERE grain = ? AND bucket = ? "
	    "AND kind = ? AND scope_id = ? AND author_id = ?",
	    "ssiuu", g, d->bucket, (long long)d->kind, d->scope, d->author) < 0)
		return -1;
	if (had != has || (o[0] > 0) != (n[0] > 0)) {
		struct delta k = *d;
		k.table = T_COUNTS;
		k.author = 0;
		if (add(ds, &k, V_MEMBERS, (long long)has - had) < 0 ||
		    add(ds, &k, V_CONTRIB, (long long)(n[0] > 0) - (o[0] > 0)) < 0)
			return -1;
	}
	return 0;
}

static int
apply(struct db *db, const struct delta *d)
{
	char g[2] = { d->grain, 0 };
	int neg = 0;

	for (int i = 0; i < V_N; i++)
		neg |= d->v[i] < 0;
	switch (d->table) {
	case T_COUNTS:
		return db_exec(db,
		    "INSERT INTO stat_counts (grain, bucket, kind, scope_id, created, merged, rejected, "
		    "open, partner_created, oss_created, members, contributors) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
		    "ON DUPLICATE KEY UPDATE created = created + VALUES(created), "
		    "merged = merged + VALUES(merged), rejected = rejected + VALUES(rejected), "
		    "open = open + VALUES(open), partner_created = partner_created + VALUES(partner_created), "
		    "oss_created = oss_created + VALUES(oss_created), "
		    "members = members + VALUES(members), contributors = contributors + VALUES(contributors)",
		    "ssiuiiiiiiii", g, d->bucket, (long long)d->kind, d->scope, d->v[0], d->v[1],
		    d->v[2], d->v[3], d->v[4], d->v[5], d->v[6], d->v[7]);
	case T_LABELS:
		if (db_exec(db,
		    "INSERT INTO stat_labels (grain, bucket, kind, scope_id, label, n) "
		    "VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
		    "ssiusi", g, d->bucket, (long long)d->kind, d->scope, d->label, d->v[0]) < 0)
			return -1;
		return !neg ? 0 : db_exec(db,
		    "DELETE FROM stat_labels WHERE grain = ? AND bucket = ? AND kind = ? "
		    "AND scope_id = ? AND label = ? AND n <= 0",
		    "ssius", g, d->bucket, (long long)d->kind, d->scope, d->label);
	case T_REPOS:
		if (db_exec(db,
		    "INSERT INTO stat_repos (grain, bucket, team_id, author_id, repo_id, created, "
		    "merged, rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
		    "created = created + VALUES(created), merged = merged + VALUES(merged), "
		    "rejected = rejected + VALUES(rejected)",
		    "ssuuuiii", g, d->bucket, d->scope, d->author, d->repo, d->v[0], d->v[1],
		    d->v[2]) < 0)
			return -1;
		return !neg ? 0 : db_exec(db,
		    "DELETE FROM stat_repos WHERE grain = ? AND bucket = ? AND team_id = ? "
		    "AND author_id = ? AND repo_id = ? AND created = 0 AND merged = 0 AND rejected = 0",
		    "ssuuu", g, d->bucket, d->scope, d->author, d->repo);
	}
	return -1;
}

/*
 * stat_first of one author in one scope. The row is locked first (a
 * placeholder is inserted when missing), then the minimum is read: a
 * concurrent writer of the same author either committed before (its PR is
 * seen) or waits for this lock and recomputes after.
 */
static int
refresh_first(struct db *db, unsigned kind, unsigned long long scope, unsigned long long author)
{
	struct db_res *r;
	int rc;

	if (db_exec(db, "INSERT INTO stat_first (kind, scope_id, author_id, first_created) "
	    "VALUES (?, ?, ?, '9999-12-31') ON DUPLICATE KEY UPDATE first_created = first_created",
	    "iuu", (long long)kind, scope, author) < 0)
		return -1;
	if (kind == 2)
		rc = db_query(db, &r, "SELECT MIN(created_at) FROM stat_pr WHERE author_id = ?",
		    "u", author);
	else
		rc = db_query(db, &r,
		    "SELECT MIN(s.created_at) FROM stat_pr s JOIN stat_pr_scope sc "
		    "ON sc.pr_id = s.pr_id AND sc.kind = 0 AND sc.scope_id = ? WHERE s.author_id = ?",
		    "uu", scope, author);
	if (rc < 0)
		return -1;
	if (db_isnull(r, 0, 0))
		rc = db_exec(db, "DELETE FROM stat_first WHERE kind = ? AND scope_id = ? "
		    "AND author_id = ?", "iuu", (long long)kind, scope, author);
	else
		rc = db_exec(db, "UPDATE stat_first SET first_created = ? WHERE kind = ? "
		    "AND scope_id = ? AND author_id = ?",
		    "siuu", db_get(r, 0, 0), (long long)kind, scope, author);
	db_res_free(r);
	return rc;
}

struct firstkey {
	unsigned kind;
	unsigned long long scope, author;
};

static int
first_cmp(const void *pa, const void *pb)
{
	const struct firstkey *a = pa, *b = pb;
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if ((c = ucmp(a->scope, b->scope)) != 0)
		return c;
	return ucmp(a->author, b->author);
}

static size_t
first_keys(const struct contrib *c, struct firstkey *k, size_t n)
{
	if (!c->counted)
		return n;
	k[n++] = (struct firstkey){ 2, 0, c->author };
	for (size_t i = 0; i < c->nteams; i++)
		k[n++] = (struct firstkey){ 0, c->teams[i], c->author };
	return n;
}

/* The stat_first rows of the old and the new contribution, in key order;
 * nothing when neither the author, the creation time nor the teams moved. */
static int
firsts(struct db *db, const struct contrib *o, const struct contrib *n)
{
	struct firstkey k[2 * (MAX_TEAMS + 1)];
	size_t nk = 0;

	if (o->counted == n->counted && (!o->counted || (o->author == n->author &&
	    strcmp(o->created, n->created) == 0 && o->nteams == n->nteams &&
	    memcmp(o->teams, n->teams, o->nteams * sizeof o->teams[0]) == 0)))
		return 0;
	nk = first_keys(o, k, nk);
	nk = first_keys(n, k, nk);
	qsort(k, nk, sizeof k[0], first_cmp);
	for (size_t i = 0; i < nk; i++) {
		if (i > 0 && first_cmp(&k[i - 1], &k[i]) == 0)
			continue;
		if (refresh_first(db, k[i].kind, k[i].scope, k[i].author) < 0)
			return -1;
	}
	return 0;
}

static int
store_contrib(struct db *db, unsigned long long pr_id, const struct contrib *c)
{
	if (db_exec(db, "DELETE FROM stat_pr WHERE pr_id = ?", "u", pr_id) < 0 ||
	    db_exec(db, "DELETE FROM stat_pr_scope WHERE pr_id = ?", "u", pr_id) < 0 ||
	    db_exec(db, "DELETE FROM stat_pr_label WHERE pr_id = ?", "u", pr_id) < 0)
		return -1;
	if (!c->counted)
		return 0;
	if (db_exec(db,
	    "INSERT INTO stat_pr (pr_id, author_id, repo_id, partner, created_at, merged_at, "
	    "rejected_at, open) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    "uuuisssi", pr_id, c->author, c->repo, (long long)c->partner, c->created,
	    c->merged[0] ? c->merged : NULL, c->rejected[0] ? c->rejected : NULL,
	    (long long)c->open) < 0)
		return -1;
	/* the scope rows carry the event times: the PRs behind a counter are
	 * an index range (sql/012) */
	for (size_t i = 0; i < 2 + c->nteams; i++) {
		long long kind = i == 0 ? 2 : i == 1 ? 1 : 0;
		if (i == 1 && c->nteams == 0)
			break;
		if (db_exec(db, "INSERT INTO stat_pr_scope (pr_id, kind, scope_id, created_at, "
		    "merged_at, rejected_at) VALUES (?, ?, ?, ?, ?, ?)", "uiusss", pr_id, kind,
		    kind == 0 ? c->teams[i - 2] : 0ULL, c->created, c->merged[0] ? c->merged : NULL,
		    c->rejected[0] ? c->rejected : NULL) < 0)
			return -1;
	}
	for (size_t i = 0; i < c->nlabels; i++)
		if (db_exec(db, "INSERT IGNORE INTO stat_pr_label (pr_id, label) VALUES (?, ?)",
		    "us", pr_id, c->labels[i]) < 0)
			return -1;
	return 0;
}

/* ---------------------------------------------------------- late changes */

static long long settle_days = 7;	/* [stats] settle_days (rollup_configure) */

void
rollup_configure(const struct conf *c)
{
	settle_days = c->settle_days;
}

/* 1 when the month of bucket "YYYY-MM-01" ended more than settle_days ago. */
static int
settled(const char *bucket, time_t now)
{
	struct tm tm;
	time_t end;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = (int)strtol(bucket, NULL, 10) - 1900;
	tm.tm_mon = (int)strtol(bucket + 5, NULL, 10);	/* the next month, 0-based */
	tm.tm_mday = 1;
	end = timegm(&tm);
	return end != (time_t)-1 && now - end > settle_days * 86400LL;
}

/* The old and new value of each counter a delta changed, read back from
 * the row the upsert locked (one statement per changed counter). */
#define LATE_SQL(col) \
	"INSERT INTO stat_changes (month, kind, scope_id, metric, old_value, new_value, pr_id, " \
	"changed_at) SELECT bucket, kind, scope_id, '" col "', " col " - ?, " col ", ?, " \
	"UTC_TIMESTAMP(6) FROM stat_counts WHERE grain = 'M' AND bucket = ? AND kind = ? " \
	"AND scope_id = ?"

static int
record_late(struct db *db, const struct delta *d, unsigned long long pr_id)
{
	static const char *const sql[V_N] = {
		LATE_SQL("created"), LATE_SQL("merged"), LATE_SQL("rejected"), LATE_SQL("open"),
		LATE_SQL("partner_created"), LATE_SQL("oss_created"), LATE_SQL("members"),
		LATE_SQL("contributors"),
	};

	if (d->table == T_LABELS)
		return d->v[0] == 0 ? 0 : db_exec(db,
		    "INSERT INTO stat_changes (month, kind, scope_id, metric, old_value, new_value, "
		    "pr_id, changed_at) SELECT ?, ?, ?, CONCAT('label:', ?), "
		    "COALESCE((SELECT n FROM stat_labels WHERE grain = 'M' AND bucket = ? AND kind = ? "
		    "AND scope_id = ? AND label = ?), 0) - ?, "
		    "COALESCE((SELECT n FROM stat_labels WHERE grain = 'M' AND bucket = ? AND kind = ? "
		    "AND scope_id = ? AND label = ?), 0), ?, UTC_TIMESTAMP(6)",
		    "siussiusisiusu", d->bucket, (long long)d->kind, d->scope, d->label, d->bucket,
		    (long long)d->kind, d->scope, d->label, d->v[0], d->bucket, (long long)d->kind,
		    d->scope, d->label, pr_id);
	for (int i = 0; i < V_N; i++)
		if (d->v[i] && db_exec(db, sql[i], "iusiu", d->v[i], pr_id, d->bucket,
		    (long long)d->kind, d->scope) < 0)
			return -1;
	return 0;
}

/*
 * Whether this roll's changes to settled months are late changes: always
 * for a PR the rollups counted already (merged or closed late, labels,
 * attribution, author or repository changes); for a PR counted for the
 * first time, only once its repository's history was imported (a PR sync
 * of it completed: sync_state has its watermark). The first import of a
 * repository's past is not a change of settled numbers. 1, 0 or -1.
 */
static int
late_worthy(struct db *db, const struct contrib *o, const struct contrib *n)
{
	struct db_res *r;
	int yes;

	if (o->counted || !n->counted)
		return 1;
	if (db_query(db, &r, "SELECT EXISTS (SELECT 1 FROM repositories rp JOIN sync_state ss "
	    "ON ss.name = CONCAT('prs:', rp.full_name) WHERE rp.id = ? AND ss.watermark IS NOT NULL)",
	    "u", n->repo) < 0)
		return -1;
	yes = db_getll(r, 0, 0, 0) == 1;
	db_res_free(r);
	return yes;
}

/* ---------------------------------------------------------- day versions */

static int
day_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/*
 * Adds 1 to the version of every day an event of o or n falls on
 * (stat_day_version, sql/014): the answers of the periods containing one
 * of those days are the ones this roll can change (lb-api keys its cache
 * by the versions of the days an answer reads). Days in key order, after
 * every other row of the roll (lock order).
 */
static int
rollup_bump_contrib(struct db *db, const struct contrib *o, const struct contrib *n)
{
	char d[6][11];
	size_t k = 0;
	const struct contrib *c[2] = { o, n };

	for (int i = 0; i < 2; i++) {
		const char *ev[3] = { c[i]->created, c[i]->merged, c[i]->rejected };
		if (!c[i]->counted)
			continue;
		for (int e = 0; e < 3; e++)
			if (ev[e][0])
				lb_strlcpy(d[k++], ev[e], sizeof d[0]);
	}
	qsort(d, k, sizeof d[0], day_cmp);
	for (size_t i = 0; i < k; i++) {
		if (i > 0 && strcmp(d[i - 1], d[i]) == 0)
			continue;
		if (db_exec(db, "INSERT INTO stat_day_version (day, v) VALUES (?, 1) "
		    "ON DUPLICATE KEY UPDATE v = v + 1", "s", d[i]) < 0)
			return -1;
	}
	return 0;
}

/*
 * A folded PR change: its days as rolled up now, also when no number
 * changed (a title or state text the PR lists of /api/prs show).
 */
static int
rollup_bump_pr(struct db *db, unsigned long long pr_id)
{
	return db_exec(db, "INSERT INTO stat_day_version (day, v) SELECT d, 1 FROM ("
	    "SELECT DATE(created_at) d FROM stat_pr WHERE pr_id = ? "
	    "UNION SELECT DATE(merged_at) FROM stat_pr WHERE pr_id = ? "
	    "UNION SELECT DATE(rejected_at) FROM stat_pr WHERE pr_id = ?) x "
	    "WHERE d IS NOT NULL ORDER BY d ON DUPLICATE KEY UPDATE v = v + 1", "uuu",
	    pr_id, pr_id, pr_id);
}

/* Move one PR from its stored to its current contribution. The caller holds
 * the PR (pull_requests row lock, or the author's users row exclusively). */
static int
reroll(struct db *db, unsigned long long pr_id, const char *exclude, int *changed)
{
	struct contrib *o = malloc(sizeof *o), *n = malloc(sizeof *n);
	struct deltas ds = { NULL, 0, 0 };
	size_t nauthors;
	time_t now;
	int rc = -1, late = -1;

	if (o == NULL || n == NULL)
		goto out;
	if (load_old(db, pr_id, o) < 0 || load_new(db, pr_id, exclude, n) < 0)
		goto out;
	if (contrib_equal(o, n)) {
		rc = 0;
		goto out;
	}
	if (contrib_deltas(&ds, o, -1) < 0 || contrib_deltas(&ds, n, +1) < 0)
		goto out;
	/* stat_authors first (their transitions add members / contributors
	 * deltas), then the other counters, each table in key order */
	qsort(ds.d, ds.n, sizeof ds.d[0], delta_cmp);
	for (nauthors = 0; nauthors < ds.n && ds.d[nauthors].table == T_AUTHORS; nauthors++)
		;
	for (size_t i = 0; i < nauthors; i++) {
		struct delta d = ds.d[i];	/* apply_author may grow ds */
		if (nonzero(&d) && apply_author(db, &d, &ds) < 0)
			goto out;
	}
	qsort(ds.d, ds.n, sizeof ds.d[0], delta_cmp);
	now = time(NULL);
	for (size_t i = nauthors; i < ds.n; i++) {
		const struct delta *d = &ds.d[i];
		if (!nonzero(d))
			continue;
		if (apply(db, d) < 0)
			goto out;
		/* a settled month changed: record it (sql/012 stat_changes) */
		if (d->grain != 'M' || (d->table != T_COUNTS && d->table != T_LABELS) ||
		    !settled(d->bucket, now))
			continue;
		if (late < 0 && (late = late_worthy(db, o, n)) < 0)
			goto out;
		if (late && record_late(db, d, pr_id) < 0)
			goto out;
	}
	if (store_contrib(db, pr_id, n) < 0 || firsts(db, o, n) < 0 ||
	    rollup_bump_contrib(db, o, n) < 0)
		goto out;
	*changed = 1;
	rc = 0;
out:
	free(ds.d);
	free(o);
	free(n);
	return rc;
}

/* ----------------------------------------------------------------- hooks */

int
rollup_pr_after(struct db *db, unsigned long long pr_id)
{
	char exclude[4096];
	struct db_res *r;
	int changed = 0;

	if (lock_state(db, exclude, sizeof exclude) < 0)
		return -1;
	/* the PR row (lib/store holds it already; a repository's re-roll
	 * takes it here), then its author, shared */
	if (db_query(db, &r, "SELECT author_id FROM pull_requests WHERE id = ? FOR UPDATE", "u",
	    pr_id) < 0)
		return -1;
	if (r->nrows == 1 && lock_user_shared(db, strtoull(db_get(r, 0, 0), NULL, 10)) < 0) {
		db_res_free(r);
		return -1;
	}
	db_res_free(r);
	/*
	 * Fast path (most deliveries repeat a known state): one query says
	 * whether the rolled-up row and label set equal the live ones. Team
	 * attribution depends only on author and creation time here (a
	 * membership change re-rolls the user's PRs itself; edits made with
	 * SQL trigger a rebuild), so equal means nothing to do.
	 */
	if (db_query(db, &r,
	    "SELECT COUNT(*) FROM pull_requests p JOIN repositories rp ON rp.id = p.repo_id "
	    "JOIN users u ON u.id = p.author_id JOIN stat_pr s ON s.pr_id = p.id "
	    "WHERE p.id = ? AND rp.tracked = 1 AND u.type <> 'Bot' AND s.author_id = p.author_id "
	    "AND s.repo_id = p.repo_id AND s.partner = rp.partner_owned "
	    "AND s.created_at = p.created_at "
	    "AND s.merged_at <=> IF(p.merged = 1, p.merged_at, NULL) "
	    "AND s.rejected_at <=> IF(p.state = 'closed' AND p.merged = 0, p.closed_at, NULL) "
	    "AND s.open = (p.state = 'open') "
	    "AND (SELECT COUNT(*) FROM stat_pr_label x WHERE x.pr_id = p.id) = "
	    " (SELECT COUNT(DISTINCT l.name) FROM pr_labels pl JOIN labels l ON l.id = pl.label_id "
	    "  WHERE pl.pr_id = p.id) "
	    "AND NOT EXISTS (SELECT 1 FROM pr_labels pl JOIN labels l ON l.id = pl.label_id "
	    " WHERE pl.pr_id = p.id AND NOT EXISTS (SELECT 1 FROM stat_pr_label x "
	    "  WHERE x.pr_id = p.id AND x.label = l.name))", "u", pr_id) < 0)
		return -1;
	changed = db_getll(r, 0, 0, 0) == 1;
	db_res_free(r);
	if (changed)
		return 0;	/* unchanged */
	if (reroll(db, pr_id, exclude, &changed) < 0)
		return -1;
	return changed ? bump(db) : 0;
}

/* ----------------------------------------------------------- the leases */

/*
 * Cluster-wide leases (sql/015_leases.sql), instead of GET_LOCK(), which
 * is local to one MariaDB server: a lease is a committed row, so two
 * processes on two Galera nodes never both hold it (the second COMMIT
 * fails certification and is retried by the server, then sees the owner).
 */
#define LEASE_OWNER_MAX 160

/* This handle's owner string: host:pid:start (lib/jobs) and the handle. */
static void
lease_owner(struct db *db, char *out, size_t len)
{
	char me[JOB_OWNER_MAX];

	jobs_owner(me, sizeof me);
	(void)lb_snprintf(out, len, "%s:%p", me, (void *)db);
}

/* Take or renew lease `name` for secs: 1 ours, 0 another's, -1 error. */
static int
lease_take(struct db *db, const char *name, long secs)
{
	char owner[LEASE_OWNER_MAX];
	struct db_res *r;
	int ours;

	lease_owner(db, owner, sizeof owner);
	/* single-table UPDATE assigns left to right: expires_at sees the new owner */
	if (db_exec(db, "UPDATE leases SET owner = IF(owner IS NULL OR expires_at < NOW(6) "
	    "OR owner = ?, ?, owner), expires_at = IF(owner = ?, NOW(6) + INTERVAL ? SECOND, "
	    "expires_at) WHERE name = ?", "sssis", owner, owner, owner, (long long)secs, name) < 0)
		return db_retryable(db_errno(db)) ? 0 : -1;	/* lost the race */
	if (db_affected(db) == 1)
		return 1;
	if (db_query(db, &r, "SELECT owner <=> ?, owner FROM leases WHERE name = ?", "ss", owner,
	    name) < 0)
		return -1;
	ours = r->nrows == 0 ? -1 : db_getll(r, 0, 0, 0) == 1;
	if (ours == 0 && jobs_owner_dead(db_get(r, 0, 1))) {
		/* held by a process of this host that died (kill -9 mid-fold):
		 * taken over now rather than when it expires */
		if (db_exec(db, "UPDATE leases SET owner = ?, expires_at = NOW(6) + INTERVAL ? SECOND "
		    "WHERE name = ? AND owner = ?", "siss", owner, (long long)secs, name,
		    db_get(r, 0, 1)) < 0) {
			db_res_free(r);
			return db_retryable(db_errno(db)) ? 0 : -1;
		}
		if ((ours = db_affected(db) == 1))
			log_warn("rollup: lease '%s' of %s, a process that died, taken over", name,
			    db_get(r, 0, 1));
	}
	db_res_free(r);
	if (ours < 0)
		log_error("rollup: no lease row '%s' (migration 015 missing?)", name);
	return ours;
}

/* Give lease `name` back if this handle holds it: 0, or -1. */
static int
lease_clear(struct db *db, const char *name)
{
	char owner[LEASE_OWNER_MAX];

	lease_owner(db, owner, sizeof owner);
	return db_exec(db, "UPDATE leases SET owner = NULL, expires_at = '1970-01-01' "
	    "WHERE name = ? AND owner = ?", "ss", name, owner);
}

static void
lease_drop(struct db *db, const char *name)
{
	if (lease_clear(db, name) < 0)
		log_warn("rollup: lease %s not given back (it expires): %s", name, db_error(db));
}

/* Wait up to `wait` seconds for lease `name`; with `queue`, stop waiting
 * once stat_queue is empty (the holder folded it). 1 taken, 0 not, -1. */
static int
lease_wait(struct db *db, const char *name, long secs, int wait, int queue)
{
	struct timespec t0, t;
	struct db_res *r;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if ((rc = lease_take(db, name, secs)) != 0)
			return rc;
		if (queue) {
			if (db_query(db, &r, "SELECT EXISTS (SELECT 1 FROM stat_queue)", "") < 0)
				return -1;
			rc = db_getll(r, 0, 0, 0) == 0;
			db_res_free(r);
			if (rc)
				return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= wait)
			return 0;
		{
			struct timespec pause = { 0, 20 * 1000 * 1000 };
			nanosleep(&pause, NULL);
		}
	}
}

/* ------------------------------------------------------ a batch of PRs */

/*
 * The fold re-rolls a batch of queued PRs at once: their stored and their
 * current contributions are read in a few statements for the whole batch,
 * the deltas of every PR whose contribution moved are merged and applied
 * with one multi-row statement per table and chunk (in key order, as
 * reroll() does), and the stat_pr* and stat_first rows follow the same way.
 * A PR whose change may touch a settled month (a late change, recorded per
 * PR) is re-rolled alone by reroll().
 */
#define FOLD_ROWS 512	/* rows per multi-row statement */

struct fold {
	struct db *db;
	const unsigned long long *ids;
	size_t n;
	struct contrib *o, *c;	/* n each: stored, current */
	struct db_args a;
	struct buf sql;
	char exclude[4096];
	int changed;
	/* late_worthy()'s answer for a first count, per repository: asked once
	 * a batch (a page is one repository's) */
	unsigned long long lw_repo[8];
	int lw_yes[8];
	size_t lw_n;
};

static size_t
fold_index(const struct fold *f, unsigned long long id)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->ids[i] == id)
			return i;
	return f->n;
}

/* Binds the batch's ids (padded) after what f->a holds; appends
 * "?, ?, ... tail" to f->sql. */
static int
fold_in(struct fold *f, const char *tail)
{
	size_t m = db_batch_size(f->n);

	for (size_t i = 0; i < m; i++) {
		db_args_u(&f->a, f->ids[i < f->n ? i : f->n - 1]);
		if (buf_puts(&f->sql, i ? ", ?" : "?") < 0)
			return -1;
	}
	return buf_puts(&f->sql, tail);
}

/* A query over the batch: head, the IN list, tail (with the excluded slugs
 * bound twice first when excl); row i goes to fn(dst[k], r, i) for the
 * batch's PR k in column 0. */
static int
fold_rows(struct fold *f, const char *head, const char *tail, int excl, struct contrib *dst,
    void (*fn)(struct contrib *, const struct db_res *, size_t))
{
	struct db_res *r;

	db_args_reset(&f->a);
	buf_reset(&f->sql);
	if (excl) {
		db_args_s(&f->a, f->exclude);
		db_args_s(&f->a, f->exclude);
	}
	if (buf_puts(&f->sql, head) < 0 || fold_in(f, tail) < 0 ||
	    db_query_args(f->db, &r, f->sql.data, &f->a) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows; i++) {
		size_t k = fold_index(f, strtoull(db_get(r, i, 0), NULL, 10));
		if (k < f->n)
			fn(&dst[k], r, i);
	}
	db_res_free(r);
	return 0;
}

/* Columns 1..7: author, repo, partner, created, merged, rejected, open. */
static void
row_contrib(struct contrib *c, const struct db_res *r, size_t i)
{
	c->counted = 1;
	c->author = strtoull(db_get(r, i, 1), NULL, 10);
	c->repo = strtoull(db_get(r, i, 2), NULL, 10);
	c->partner = (int)db_getll(r, i, 3, 0);
	cpy(c->created, sizeof c->created, db_get(r, i, 4));
	cpy(c->merged, sizeof c->merged, db_get(r, i, 5));
	cpy(c->rejected, sizeof c->rejected, db_get(r, i, 6));
	c->open = (int)db_getll(r, i, 7, 0);
}

static void
row_team(struct contrib *c, const struct db_res *r, size_t i)
{
	if (c->counted && c->nteams < MAX_TEAMS)
		c->teams[c->nteams++] = strtoull(db_get(r, i, 1), NULL, 10);
}

static void
row_label_old(struct contrib *c, const struct db_res *r, size_t i)
{
	if (c->counted && c->nlabels < MAX_LABELS)
		cpy(c->labels[c->nlabels++], sizeof c->labels[0], db_get(r, i, 1));
}

/* the same name twice in another case is one label to MariaDB */
static void
row_label_new(struct contrib *c, const struct db_res *r, size_t i)
{
	const char *n = db_get(r, i, 1);

	if (!c->counted || c->nlabels >= MAX_LABELS)
		return;
	for (size_t j = 0; j < c->nlabels; j++)
		if (strcasecmp(c->labels[j], n) == 0)
			return;
	cpy(c->labels[c->nlabels++], sizeof c->labels[0], n);
}

/* load_old() and load_new() for the whole batch: six statements. */
static int
fold_load(struct fold *f)
{
	if (fold_rows(f, "SELECT pr_id, author_id, repo_id, partner, created_at, merged_at, "
	    "rejected_at, open FROM stat_pr WHERE pr_id IN (", ")", 0, f->o, row_contrib) < 0 ||
	    fold_rows(f, "SELECT pr_id, scope_id FROM stat_pr_scope WHERE kind = 0 AND pr_id IN (",
	    ") ORDER BY pr_id, scope_id", 0, f->o, row_team) < 0 ||
	    fold_rows(f, "SELECT pr_id, label FROM stat_pr_label WHERE pr_id IN (",
	    ") ORDER BY pr_id, label", 0, f->o, row_label_old) < 0)
		return -1;
	if (fold_rows(f, "SELECT p.id, p.author_id, p.repo_id, r.partner_owned, p.created_at, "
	    "IF(p.merged = 1, p.merged_at, NULL), "
	    "IF(p.state = 'closed' AND p.merged = 0, p.closed_at, NULL), p.state = 'open' "
	    "FROM pull_requests p JOIN repositories r ON r.id = p.repo_id "
	    "JOIN users u ON u.id = p.author_id WHERE r.tracked = 1 AND u.type <> 'Bot' "
	    "AND p.id IN (", ")", 0, f->c, row_contrib) < 0)
		return -1;
	/* member of T when created, and not then of an excluded team */
	if (fold_rows(f, "SELECT DISTINCT p.id, m.team_id FROM pull_requests p "
	    "JOIN memberships m ON m.user_id = p.author_id JOIN teams t ON t.id = m.team_id "
	    "WHERE (m.started_at IS NULL OR m.started_at <= p.created_at) "
	    "AND (m.ended_at IS NULL OR m.ended_at > p.created_at) "
	    "AND t.deleted_at IS NULL AND FIND_IN_SET(t.slug, ?) = 0 "
	    "AND NOT EXISTS (SELECT 1 FROM memberships x JOIN teams xt ON xt.id = x.team_id "
	    "  WHERE x.user_id = m.user_id AND FIND_IN_SET(xt.slug, ?) > 0 "
	    "  AND (x.started_at IS NULL OR x.started_at <= p.created_at) "
	    "  AND (x.ended_at IS NULL OR x.ended_at > p.created_at)) AND p.id IN (",
	    ") ORDER BY p.id, m.team_id", 1, f->c, row_team) < 0)
		return -1;
	/* pr_labels first, by its primary key: MariaDB chose to start from
	 * labels and read every PR of each label through pr_labels_label
	 * (87,000 rows for a batch's 75 at 200,000 PRs, growing with them) */
	return fold_rows(f, "SELECT DISTINCT pl.pr_id, l.name FROM pr_labels pl "
	    "STRAIGHT_JOIN labels l ON l.id = pl.label_id WHERE pl.pr_id IN (", ") ORDER BY pl.pr_id, l.name",
	    0, f->c, row_label_new);
}

/* 1 when one of the contribution's event months is settled. */
static int
touches_settled(const struct contrib *c, time_t now)
{
	char b[11];
	const char *when[3] = { c->created, c->merged, c->rejected };

	if (!c->counted)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (when[i][0] == '\0')
			continue;
		bucket_of('M', when[i], b);
		if (settled(b, now))
			return 1;
	}
	return 0;
}

/* Whether PR k must be re-rolled alone: its change may be a late one. */
static int
fold_alone(struct fold *f, size_t k, time_t now)
{
	int late;

	if (!touches_settled(&f->o[k], now) && !touches_settled(&f->c[k], now))
		return 0;
	if (f->o[k].counted || !f->c[k].counted)
		return 1;	/* late_worthy()'s first rule, without its query */
	for (size_t i = 0; i < f->lw_n; i++)
		if (f->lw_repo[i] == f->c[k].repo)
			return f->lw_yes[i];
	late = late_worthy(f->db, &f->o[k], &f->c[k]);
	if (late >= 0 && f->lw_n < sizeof f->lw_repo / sizeof f->lw_repo[0]) {
		f->lw_repo[f->lw_n] = f->c[k].repo;
		f->lw_yes[f->lw_n++] = late;
	}
	return late;	/* 1, 0 or -1 */
}

/* One multi-row statement per FOLD_ROWS rows: head, rows, tail; row(i)
 * binds row i. Padded with pad(last) rows that change nothing. */
static int
fold_chunks(struct fold *f, size_t n, const char *head, const char *rowsql, const char *sep,
    const char *tail, void (*row)(struct fold *, const void *), const void *const *items,
    void (*pad)(struct fold *, const void *))
{
	for (size_t at = 0; at < n; at += FOLD_ROWS) {
		size_t k = n - at < FOLD_ROWS ? n - at : FOLD_ROWS, m = db_batch_size(k);
		db_args_reset(&f->a);
		for (size_t i = 0; i < m; i++)
			(i < k ? row : pad)(f, items[at + (i < k ? i : k - 1)]);
		if (db_rows_sql(&f->sql, head, rowsql, sep, m, tail) < 0 ||
		    db_exec_args(f->db, f->sql.data, &f->a) < 0)
			return -1;
	}
	return 0;
}

static const char *
grain_s(char g)
{
	switch (g) {
	case 'Y': return "Y";
	case 'Q': return "Q";
	case 'M': return "M";
	case 'D': return "D";
	default:  return "A";
	}
}

static int
ds_push(struct deltas *ds, const struct delta *d)
{
	if (ds->n == ds->cap) {
		size_t nc = ds->cap ? ds->cap * 2 : 256;
		struct delta *nd = realloc(ds->d, nc * sizeof *nd);
		if (nd == NULL)
			return -1;
		ds->d = nd;
		ds->cap = nc;
	}
	ds->d[ds->n++] = *d;
	return 0;
}

/* Sorted in key order, equal keys merged, zero deltas dropped. */
static void
ds_merge(struct deltas *ds)
{
	size_t k = 0;

	if (ds->n == 0)
		return;	/* ds->d may be NULL: not for qsort */
	qsort(ds->d, ds->n, sizeof ds->d[0], delta_cmp);
	for (size_t i = 0; i < ds->n; i++) {
		if (k > 0 && delta_cmp(&ds->d[k - 1], &ds->d[i]) == 0) {
			for (int v = 0; v < V_N; v++)
				ds->d[k - 1].v[v] += ds->d[i].v[v];
			continue;
		}
		ds->d[k++] = ds->d[i];
	}
	ds->n = 0;
	for (size_t i = 0; i < k; i++)
		if (nonzero(&ds->d[i]))
			ds->d[ds->n++] = ds->d[i];
}

static void
bind_key(struct fold *f, const struct delta *d)
{
	db_args_s(&f->a, grain_s(d->grain));
	db_args_s(&f->a, d->bucket);
	db_args_i(&f->a, (long long)d->kind);
	db_args_u(&f->a, d->scope);
}

static void
row_author(struct fold *f, const void *p)
{
	const struct delta *d = p;

	bind_key(f, d);
	db_args_u(&f->a, d->author);
	for (int i = 0; i < 3; i++)
		db_args_i(&f->a, d->v[i]);
}

static void
pad_author(struct fold *f, const void *p)
{
	bind_key(f, p);	/* the key's strings are p's: bound by pointer */
	db_args_u(&f->a, ((const struct delta *)p)->author);
	for (int i = 0; i < 3; i++)
		db_args_i(&f->a, 0);
}

static void
key_author(struct fold *f, const void *p)
{
	bind_key(f, p);
	db_args_u(&f->a, ((const struct delta *)p)->author);
}

/* Is row `row` of r (grain, bucket, kind, scope_id, author_id, ...) d's? */
static int
author_row_is(const struct db_res *r, size_t row, const struct delta *d)
{
	return db_get(r, row, 0)[0] == d->grain && strcmp(db_get(r, row, 1), d->bucket) == 0 &&
	    (unsigned)db_getll(r, row, 2, 0) == d->kind &&
	    strtoull(db_get(r, row, 3), NULL, 10) == d->scope &&
	    strtoull(db_get(r, row, 4), NULL, 10) == d->author;
}

/* Finds d's row in r (grain, bucket, kind, scope_id, author_id, created,
 * merged, rejected) and writes its three counters to nv; 0 when absent.
 * An upsert's RETURNING gives its rows in the order of its VALUES, so row
 * `hint` (d's place there) is looked at first: a batch of k rows costs k
 * comparisons, not k * k / 2; the scan is the fallback. */
static void
author_row(const struct db_res *r, size_t hint, const struct delta *d, long long nv[3])
{
	size_t row = hint;

	nv[0] = nv[1] = nv[2] = 0;
	if (hint >= r->nrows || !author_row_is(r, hint, d))
		for (row = 0; row < r->nrows && !author_row_is(r, row, d); row++)
			;
	if (row == r->nrows)
		return;
	for (int v = 0; v < 3; v++)
		nv[v] = db_getll(r, row, (size_t)(5 + v), 0);
}

/* The deltas d[0..k) after their upsert, whose RETURNING rows are r: 0 <->
 * non-zero transitions become members / contributors deltas (into extra),
 * rows now all zero are collected in gone. Like apply_author(), for many
 * rows. */
static int
authors_after(const struct db_res *r, const struct delta *const *d, size_t k,
    struct deltas *extra, const struct delta **gone, size_t *ngone)
{
	for (size_t i = 0; i < k; i++) {
		long long o[3], nv[3];
		int had, has;
		author_row(r, i, d[i], nv);
		for (int v = 0; v < 3; v++)
			o[v] = nv[v] - d[i]->v[v];
		had = o[0] || o[1] || o[2];
		has = nv[0] || nv[1] || nv[2];
		if (!has)
			gone[(*ngone)++] = d[i];
		if (had != has || (o[0] > 0) != (nv[0] > 0)) {
			struct delta c = *d[i];
			c.table = T_COUNTS;
			c.author = 0;
			memset(c.v, 0, sizeof c.v);
			c.v[V_MEMBERS] = (long long)has - had;
			c.v[V_CONTRIB] = (long long)(nv[0] > 0) - (o[0] > 0);
			if (ds_push(extra, &c) < 0)
				return -1;
		}
	}
	return 0;
}

/* The additive upserts of stat_authors, FOLD_ROWS rows a statement, each
 * returning the rows as they are after it (INSERT ... RETURNING gives the
 * updated row of a duplicate key): no read-back, whose OR of keys cost
 * MariaDB's range optimizer more than the upsert itself. */
static int
authors_upsert(struct fold *f, const struct delta **au, size_t n, struct deltas *extra,
    const struct delta **gone, size_t *ngone)
{
	for (size_t at = 0; at < n; at += FOLD_ROWS) {
		size_t k = n - at < FOLD_ROWS ? n - at : FOLD_ROWS, m = db_batch_size(k);
		struct db_res *r;
		int rc;
		db_args_reset(&f->a);
		for (size_t i = 0; i < m; i++)
			(i < k ? row_author : pad_author)(f, au[at + (i < k ? i : k - 1)]);
		if (db_rows_sql(&f->sql, "INSERT INTO stat_authors (grain, bucket, kind, scope_id, "
		    "author_id, created, merged, rejected) VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?)", ", ",
		    m, " ON DUPLICATE KEY UPDATE created = created + VALUES(created), "
		    "merged = merged + VALUES(merged), rejected = rejected + VALUES(rejected) "
		    "RETURNING grain, bucket, kind, scope_id, author_id, created, merged, rejected") < 0 ||
		    db_query_args(f->db, &r, f->sql.data, &f->a) < 0)
			return -1;
		rc = authors_after(r, au + at, k, extra, gone, ngone);
		db_res_free(r);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void
row_count(struct fold *f, const void *p)
{
	const struct delta *d = p;

	bind_key(f, d);
	for (int i = 0; i < V_N; i++)
		db_args_i(&f->a, d->v[i]);
}

static void
pad_count(struct fold *f, const void *p)
{
	bind_key(f, p);
	for (int i = 0; i < V_N; i++)
		db_args_i(&f->a, 0);
}

static void
row_label(struct fold *f, const void *p)
{
	const struct delta *d = p;

	bind_key(f, d);
	db_args_s(&f->a, d->label);
	db_args_i(&f->a, d->v[0]);
}

static void key_label(struct fold *f, const void *p);

static void
pad_label(struct fold *f, const void *p)
{
	key_label(f, p);
	db_args_i(&f->a, 0);
}

static void
key_label(struct fold *f, const void *p)
{
	bind_key(f, p);
	db_args_s(&f->a, ((const struct delta *)p)->label);
}

static void
key_repo(struct fold *f, const void *p)
{
	const struct delta *d = p;

	db_args_s(&f->a, grain_s(d->grain));
	db_args_s(&f->a, d->bucket);
	db_args_u(&f->a, d->scope);
	db_args_u(&f->a, d->author);
	db_args_u(&f->a, d->repo);
}

static void
row_repo(struct fold *f, const void *p)
{
	const struct delta *d = p;

	key_repo(f, d);
	for (int i = 0; i < 3; i++)
		db_args_i(&f->a, d->v[i]);
}

static void
pad_repo(struct fold *f, const void *p)
{
	key_repo(f, p);
	for (int i = 0; i < 3; i++)
		db_args_i(&f->a, 0);
}

/* The pointers to ds's deltas of one table (those with a negative value
 * when neg), in ds's order. */
static size_t
ds_table(const struct deltas *ds, int table, int neg, const struct delta **out)
{
	size_t n = 0;

	for (size_t i = 0; i < ds->n; i++) {
		int isneg = 0;
		for (int v = 0; v < V_N; v++)
			isneg |= ds->d[i].v[v] < 0;
		if (ds->d[i].table == table && (!neg || isneg))
			out[n++] = &ds->d[i];
	}
	return n;
}

/* stat_authors: additive upserts returning the rows, the empty ones
 * deleted; their transitions join ds (then merged again). */
static int
fold_authors(struct fold *f, struct deltas *ds, const struct delta **p)
{
	struct deltas extra = { NULL, 0, 0 };
	size_t n = ds_table(ds, T_AUTHORS, 0, p), ngone = 0;
	const struct delta **gone = p + n;
	int rc = -1;

	if (authors_upsert(f, p, n, &extra, gone, &ngone) < 0 ||
	    fold_chunks(f, ngone, "DELETE FROM stat_authors WHERE (", "(grain = ? AND bucket = ? "
	    "AND kind = ? AND scope_id = ? AND author_id = ?)", " OR ",
	    ") AND created = 0 AND merged = 0 AND rejected = 0", key_author,
	    (const void *const *)gone, key_author) < 0)
		goto out;
	rc = 0;
	for (size_t i = 0; i < extra.n && rc == 0; i++)
		rc = ds_push(ds, &extra.d[i]);
	if (rc == 0)
		ds_merge(ds);
out:
	free(extra.d);
	return rc;
}

/* stat_counts, stat_labels, stat_repos: additive upserts, each table in key
 * order; label and repo rows that reach zero deleted. */
static int
fold_counters(struct fold *f, struct deltas *ds, const struct delta **p)
{
	size_t n;

	n = ds_table(ds, T_COUNTS, 0, p);
	if (fold_chunks(f, n, "INSERT INTO stat_counts (grain, bucket, kind, scope_id, created, "
	    "merged, rejected, open, partner_created, oss_created, members, contributors) VALUES ",
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ", ", " ON DUPLICATE KEY UPDATE "
	    "created = created + VALUES(created), merged = merged + VALUES(merged), "
	    "rejected = rejected + VALUES(rejected), open = open + VALUES(open), "
	    "partner_created = partner_created + VALUES(partner_created), "
	    "oss_created = oss_created + VALUES(oss_created), members = members + VALUES(members), "
	    "contributors = contributors + VALUES(contributors)",
	    row_count, (const void *const *)p, pad_count) < 0)
		return -1;
	n = ds_table(ds, T_LABELS, 0, p);
	if (fold_chunks(f, n, "INSERT INTO stat_labels (grain, bucket, kind, scope_id, label, n) "
	    "VALUES ", "(?, ?, ?, ?, ?, ?)", ", ", " ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
	    row_label, (const void *const *)p, pad_label) < 0)
		return -1;
	n = ds_table(ds, T_LABELS, 1, p);
	if (fold_chunks(f, n, "DELETE FROM stat_labels WHERE (", "(grain = ? AND bucket = ? AND "
	    "kind = ? AND scope_id = ? AND label = ?)", " OR ", ") AND n <= 0", key_label,
	    (const void *const *)p, key_label) < 0)
		return -1;
	n = ds_table(ds, T_REPOS, 0, p);
	if (fold_chunks(f, n, "INSERT INTO stat_repos (grain, bucket, team_id, author_id, repo_id, "
	    "created, merged, rejected) VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?)", ", ",
	    " ON DUPLICATE KEY UPDATE created = created + VALUES(created), "
	    "merged = merged + VALUES(merged), rejected = rejected + VALUES(rejected)",
	    row_repo, (const void *const *)p, pad_repo) < 0)
		return -1;
	n = ds_table(ds, T_REPOS, 1, p);
	return fold_chunks(f, n, "DELETE FROM stat_repos WHERE (", "(grain = ? AND bucket = ? AND "
	    "team_id = ? AND author_id = ? AND repo_id = ?)", " OR ",
	    ") AND created = 0 AND merged = 0 AND rejected = 0", key_repo, (const void *const *)p,
	    key_repo);
}

struct fold_pr {
	unsigned long long id;
	const struct contrib *c;
	size_t i;	/* team index, or label index */
};

static void
row_stat_pr(struct fold *f, const void *p)
{
	const struct fold_pr *x = p;
	const struct contrib *c = x->c;

	db_args_u(&f->a, x->id);
	db_args_u(&f->a, c->author);
	db_args_u(&f->a, c->repo);
	db_args_i(&f->a, c->partner);
	db_args_s(&f->a, c->created);
	db_args_s(&f->a, c->merged[0] ? c->merged : NULL);
	db_args_s(&f->a, c->rejected[0] ? c->rejected : NULL);
	db_args_i(&f->a, c->open);
}

/* Scope rows: i 0 is kind 2, i 1 kind 1, i >= 2 the team i - 2. */
static void
row_scope(struct fold *f, const void *p)
{
	const struct fold_pr *x = p;
	const struct contrib *c = x->c;

	db_args_u(&f->a, x->id);
	db_args_i(&f->a, x->i == 0 ? 2 : x->i == 1 ? 1 : 0);
	db_args_u(&f->a, x->i >= 2 ? c->teams[x->i - 2] : 0ULL);
	db_args_s(&f->a, c->created);
	db_args_s(&f->a, c->merged[0] ? c->merged : NULL);
	db_args_s(&f->a, c->rejected[0] ? c->rejected : NULL);
}

static void
row_pr_label(struct fold *f, const void *p)
{
	const struct fold_pr *x = p;

	db_args_u(&f->a, x->id);
	db_args_s(&f->a, x->c->labels[x->i]);
}

static void
row_id(struct fold *f, const void *p)
{
	db_args_u(&f->a, ((const struct fold_pr *)p)->id);
}

/* The rows of kind (0 stat_pr, 1 scope, 2 label) of the moved PRs. */
static size_t
fold_pr_rows(const struct fold *f, const int *moved, int kind, struct fold_pr *x,
    const void **p)
{
	size_t n = 0;

	for (size_t k = 0; k < f->n; k++) {
		const struct contrib *c = &f->c[k];
		size_t rows = kind < 0 ? 1 : !c->counted ? 0 : kind == 0 ? 1 :
		    kind == 1 ? (c->nteams ? 2 + c->nteams : 1) : c->nlabels;
		if (!moved[k])
			continue;
		for (size_t i = 0; i < rows; i++) {
			x[n] = (struct fold_pr){ f->ids[k], c, i };
			p[n] = &x[n];
			n++;
		}
	}
	return n;
}

/* store_contrib() for every moved PR: three deletes, three inserts. */
static int
fold_contribs(struct fold *f, const int *moved, struct fold_pr *x, const void **p)
{
	static const char *const del[] = { "DELETE FROM stat_pr WHERE pr_id IN (",
	    "DELETE FROM stat_pr_scope WHERE pr_id IN (", "DELETE FROM stat_pr_label WHERE pr_id IN (" };
	size_t n = fold_pr_rows(f, moved, -1, x, p);

	for (int t = 0; t < 3; t++)
		if (fold_chunks(f, n, del[t], "?", ", ", ")", row_id, p, row_id) < 0)
			return -1;
	n = fold_pr_rows(f, moved, 0, x, p);
	if (fold_chunks(f, n, "INSERT INTO stat_pr (pr_id, author_id, repo_id, partner, created_at, "
	    "merged_at, rejected_at, open) VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?)", ", ",
	    " ON DUPLICATE KEY UPDATE pr_id = pr_id", row_stat_pr, p, row_stat_pr) < 0)
		return -1;
	n = fold_pr_rows(f, moved, 1, x, p);
	if (fold_chunks(f, n, "INSERT INTO stat_pr_scope (pr_id, kind, scope_id, created_at, "
	    "merged_at, rejected_at) VALUES ", "(?, ?, ?, ?, ?, ?)", ", ",
	    " ON DUPLICATE KEY UPDATE pr_id = pr_id", row_scope, p, row_scope) < 0)
		return -1;
	n = fold_pr_rows(f, moved, 2, x, p);
	return fold_chunks(f, n, "INSERT IGNORE INTO stat_pr_label (pr_id, label) VALUES ", "(?, ?)",
	    ", ", "", row_pr_label, p, row_pr_label);
}

static void
row_first_key(struct fold *f, const void *p)
{
	const struct firstkey *k = p;

	db_args_i(&f->a, (long long)k->kind);
	db_args_u(&f->a, k->scope);
	db_args_u(&f->a, k->author);
}

struct first_val {
	struct firstkey k;
	const char *min;	/* NULL: no PR left */
};

static void
row_first_val(struct fold *f, const void *p)
{
	const struct first_val *v = p;

	row_first_key(f, &v->k);
	db_args_s(&f->a, v->min);
}

/* The minimum created_at of each key from one query over their authors. */
static int
first_mins(struct fold *f, struct first_val *v, size_t n, struct db_res **r)
{
	size_t m = db_batch_size(n);

	db_args_reset(&f->a);
	buf_reset(&f->sql);
	if (buf_puts(&f->sql, "SELECT 2, 0, author_id, MIN(created_at) FROM stat_pr "
	    "WHERE author_id IN (") < 0)
		return -1;
	for (size_t i = 0; i < m; i++) {
		db_args_u(&f->a, v[i < n ? i : n - 1].k.author);
		if (buf_puts(&f->sql, i ? ", ?" : "?") < 0)
			return -1;
	}
	if (buf_puts(&f->sql, ") GROUP BY author_id UNION ALL SELECT 0, sc.scope_id, s.author_id, "
	    "MIN(s.created_at) FROM stat_pr s JOIN stat_pr_scope sc ON sc.pr_id = s.pr_id "
	    "AND sc.kind = 0 WHERE s.author_id IN (") < 0)
		return -1;
	for (size_t i = 0; i < m; i++) {
		db_args_u(&f->a, v[i < n ? i : n - 1].k.author);
		if (buf_puts(&f->sql, i ? ", ?" : "?") < 0)
			return -1;
	}
	if (buf_puts(&f->sql, ") GROUP BY sc.scope_id, s.author_id") < 0 ||
	    db_query_args(f->db, r, f->sql.data, &f->a) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		for (size_t row = 0; row < (*r)->nrows; row++)
			if ((unsigned)db_getll(*r, row, 0, 0) == v[i].k.kind &&
			    strtoull(db_get(*r, row, 1), NULL, 10) == v[i].k.scope &&
			    strtoull(db_get(*r, row, 2), NULL, 10) == v[i].k.author)
				v[i].min = db_get(*r, row, 3);
	return 0;
}

/* refresh_first() for every key of the moved PRs (see firsts()): the rows
 * locked (placeholders for missing ones), the minima read, then written. */
static int
fold_firsts(struct fold *f, const int *moved)
{
	struct firstkey *k = malloc(2 * (MAX_TEAMS + 1) * f->n * sizeof *k);
	struct first_val *v = NULL;
	const void **p = NULL;
	struct db_res *r = NULL;
	size_t nk = 0, nv = 0, ngone = 0, nset = 0;
	int rc = -1;

	if (k == NULL)
		return -1;
	for (size_t i = 0; i < f->n; i++) {
		const struct contrib *o = &f->o[i], *c = &f->c[i];
		if (!moved[i] || (o->counted == c->counted && (!o->counted || (o->author == c->author &&
		    strcmp(o->created, c->created) == 0 && o->nteams == c->nteams &&
		    memcmp(o->teams, c->teams, o->nteams * sizeof o->teams[0]) == 0))))
			continue;
		nk = first_keys(o, k, nk);
		nk = first_keys(c, k, nk);
	}
	qsort(k, nk, sizeof k[0], first_cmp);
	v = calloc(nk ? nk : 1, sizeof *v);
	p = calloc(2 * nk + 1, sizeof *p);
	if (v == NULL || p == NULL)
		goto out;
	for (size_t i = 0; i < nk; i++)
		if (i == 0 || first_cmp(&k[i - 1], &k[i]) != 0)
			v[nv++].k = k[i];
	rc = 0;
	if (nv == 0)
		goto out;
	for (size_t i = 0; i < nv; i++)
		p[i] = &v[i].k;
	rc = -1;
	if (fold_chunks(f, nv, "INSERT INTO stat_first (kind, scope_id, author_id, first_created) "
	    "VALUES ", "(?, ?, ?, '9999-12-31')", ", ", " ON DUPLICATE KEY UPDATE "
	    "first_created = first_created", row_first_key, p, row_first_key) < 0 ||
	    first_mins(f, v, nv, &r) < 0)
		goto out;
	for (size_t i = 0; i < nv; i++)
		if (v[i].min)
			p[nset++] = &v[i];
		else
			p[nv + ngone++] = &v[i].k;
	if (fold_chunks(f, nset, "INSERT INTO stat_first (kind, scope_id, author_id, first_created) "
	    "VALUES ", "(?, ?, ?, ?)", ", ", " ON DUPLICATE KEY UPDATE "
	    "first_created = VALUES(first_created)", row_first_val, p, row_first_val) < 0)
		goto out;
	rc = fold_chunks(f, ngone, "DELETE FROM stat_first WHERE ", "(kind = ? AND scope_id = ? "
	    "AND author_id = ?)", " OR ", "", row_first_key, p + nv, row_first_key);
out:
	db_res_free(r);
	free(k);
	free(v);
	free(p);
	return rc;
}

static int
cmp_u64(const void *a, const void *b)
{
	return ucmp(*(const unsigned long long *)a, *(const unsigned long long *)b);
}

/* The batch's PR rows (the lock store_pr() takes), then their authors,
 * shared, as rollup_pr_after() takes them. */
static int
fold_lock(struct fold *f)
{
	struct db_res *r;
	unsigned long long *au;
	size_t na = 0, m;
	int rc;

	db_args_reset(&f->a);
	buf_reset(&f->sql);
	if (buf_puts(&f->sql, "SELECT id, author_id FROM pull_requests WHERE id IN (") < 0 ||
	    fold_in(f, ") ORDER BY id FOR UPDATE") < 0 ||
	    db_query_args(f->db, &r, f->sql.data, &f->a) < 0)
		return -1;
	au = calloc(r->nrows + 1, sizeof *au);
	if (au == NULL) {
		db_res_free(r);
		return -1;
	}
	for (size_t i = 0; i < r->nrows; i++)
		au[na++] = strtoull(db_get(r, i, 1), NULL, 10);
	db_res_free(r);
	rc = 0;
	if (na > 0) {
		qsort(au, na, sizeof au[0], cmp_u64);
		m = db_batch_size(na);
		db_args_reset(&f->a);
		for (size_t i = 0; i < m; i++)
			db_args_u(&f->a, au[i < na ? i : na - 1]);
		rc = db_rows_sql(&f->sql, "SELECT id FROM users WHERE id IN (", "?", ", ", m,
		    ") ORDER BY id LOCK IN SHARE MODE");
		if (rc == 0 && (rc = db_query_args(f->db, &r, f->sql.data, &f->a)) == 0)
			db_res_free(r);
	}
	free(au);
	return rc;
}

/* The deltas of the PRs that moved into ds; the ones to re-roll alone are
 * re-rolled here. */
static int
fold_deltas(struct fold *f, int *moved, struct deltas *ds)
{
	time_t now = time(NULL);

	for (size_t k = 0; k < f->n; k++) {
		struct deltas one = { NULL, 0, 0 };
		int alone, changed = 0, rc = 0;
		moved[k] = 0;
		if (contrib_equal(&f->o[k], &f->c[k]))
			continue;
		if ((alone = fold_alone(f, k, now)) < 0)
			return -1;
		if (alone) {
			if (reroll(f->db, f->ids[k], f->exclude, &changed) < 0 ||
			    rollup_bump_pr(f->db, f->ids[k]) < 0)
				return -1;
			f->changed |= changed;
			continue;
		}
		moved[k] = 1;
		f->changed = 1;
		if (contrib_deltas(&one, &f->o[k], -1) < 0 || contrib_deltas(&one, &f->c[k], +1) < 0)
			rc = -1;
		for (size_t i = 0; i < one.n && rc == 0; i++)
			rc = ds_push(ds, &one.d[i]);
		free(one.d);
		if (rc < 0)
			return -1;
	}
	ds_merge(ds);
	return 0;
}

static void
row_day(struct fold *f, const void *p)
{
	db_args_s(&f->a, (const char *)p);
}

/*
 * The day versions of the batch (see rollup_bump_contrib() and
 * rollup_bump_pr(), which the fold of one PR calls): every day an event of
 * a PR's stored or current contribution falls on, for every PR of the
 * batch, moved or not (its days as rolled up now), each once, in key
 * order, after every other row of the batch (lock order), in one
 * multi-row statement per chunk. The PRs re-rolled alone bumped theirs in
 * reroll() too: a version only has to grow.
 */
static int
fold_days(struct fold *f)
{
	char (*d)[11] = malloc((6 * f->n + 1) * sizeof *d);
	const void **p = malloc((6 * f->n + 1) * sizeof *p);
	size_t k = 0, nd = 0;
	int rc = -1;

	if (d == NULL || p == NULL)
		goto out;
	for (size_t i = 0; i < f->n; i++)
		for (int w = 0; w < 2; w++) {
			const struct contrib *c = w ? &f->c[i] : &f->o[i];
			const char *ev[3] = { c->created, c->merged, c->rejected };
			if (!c->counted)
				continue;
			for (int e = 0; e < 3; e++)
				if (ev[e][0])
					lb_strlcpy(d[k++], ev[e], sizeof d[0]);
		}
	qsort(d, k, sizeof d[0], day_cmp);
	for (size_t i = 0; i < k; i++)
		if (i == 0 || strcmp(d[i - 1], d[i]) != 0)
			p[nd++] = d[i];
	rc = fold_chunks(f, nd, "INSERT INTO stat_day_version (day, v) VALUES ", "(?, 1)", ", ",
	    " ON DUPLICATE KEY UPDATE v = v + 1", row_day, p, row_day);
out:
	free(d);
	free(p);
	return rc;
}

static int
fold_apply(struct fold *f, int *moved)
{
	struct deltas ds = { NULL, 0, 0 };
	const void **p = NULL;
	struct fold_pr *x = NULL;
	int rc = -1;

	size_t rows = f->n * (MAX_TEAMS + MAX_LABELS + 2);

	if (fold_lock(f) < 0 || fold_load(f) < 0 || fold_deltas(f, moved, &ds) < 0)
		goto out;
	x = malloc(rows * sizeof *x);
	p = malloc((2 * ds.n + 1) * sizeof *p);
	if (p == NULL || x == NULL || fold_authors(f, &ds, (const struct delta **)p) < 0)
		goto out;
	free(p);	/* ds grew by the transitions */
	p = malloc(((2 * ds.n > rows ? 2 * ds.n : rows) + 1) * sizeof *p);
	if (p == NULL || fold_counters(f, &ds, (const struct delta **)p) < 0 ||
	    fold_contribs(f, moved, x, p) < 0 || fold_firsts(f, moved) < 0)
		goto out;
	if (fold_days(f) < 0)
		goto out;
	rc = f->changed ? bump(f->db) : 0;
out:
	free(ds.d);
	free(p);
	free(x);
	return rc;
}

/* rollup_pr_after() for ids[0..n), in one pass. */
static int
fold_many(struct db *db, const unsigned long long *ids, size_t n)
{
	struct fold f;
	int *moved = calloc(n ? n : 1, sizeof *moved);
	int rc = -1;

	memset(&f, 0, sizeof f);
	f.db = db;
	f.ids = ids;
	f.n = n;
	f.o = calloc(n ? n : 1, sizeof *f.o);
	f.c = calloc(n ? n : 1, sizeof *f.c);
	if (moved != NULL && f.o != NULL && f.c != NULL && n > 0 &&
	    lock_state(db, f.exclude, sizeof f.exclude) == 0)
		rc = fold_apply(&f, moved);
	else if (n == 0)
		rc = 0;
	free(moved);
	free(f.o);
	free(f.c);
	db_args_free(&f.a);
	buf_free(&f.sql);
	return rc;
}

/* ------------------------------------------------------------ the queue */

static __thread int roll_inline;	/* rollup_inline(): per thread */

void
rollup_inline(int on)
{
	roll_inline = on;
}

/* rollup_pr_after() in the caller's transaction (and the PR's days bumped,
 * as the fold does), unless the rollups were never built (the first build
 * counts it, as it counts the PRs queued before it: a PR rolled into no
 * baseline would only record late changes of its own) or a rebuild holds
 * stat_state row 1 (minutes at a large org: the shared lock is asked
 * without waiting). 0 rolled, 1 not (the caller queues the PR), -1. */
static int
roll_now(struct db *db, unsigned long long pr_id)
{
	struct db_res *r;
	int built;

	if (db_query(db, &r, "SELECT built_at IS NOT NULL FROM stat_state WHERE id = 1 "
	    "LOCK IN SHARE MODE NOWAIT", "") < 0)
		return db_errno(db) == ER_LOCK_WAIT_TIMEOUT ? 1 : -1;
	built = db_getll(r, 0, 0, 0) == 1;
	db_res_free(r);
	if (!built)
		return 1;
	/* its days too when no number moved: a title the PR lists show */
	return rollup_pr_after(db, pr_id) < 0 || rollup_bump_pr(db, pr_id) < 0 ? -1 : 0;
}

int
rollup_queue(struct db *db, unsigned long long pr_id)
{
	int rc;

	if (roll_inline && (rc = roll_now(db, pr_id)) <= 0)
		return rc;
	return db_exec(db, "INSERT IGNORE INTO stat_queue (pr_id) VALUES (?)", "u", pr_id);
}

#define FOLD_BATCH 100		/* the LIMIT below */
#define FOLD_WAIT  30		/* seconds a folder waits for the fold lease */
#define FOLD_LEASE 60		/* seconds; renewed after every batch */
#define REBUILD_LEASE 900	/* seconds: taken for this, renewed while the build runs */

/* The rebuild's lease length L: REBUILD_LEASE, or for tests the variable
 * LB_TEST_REBUILD_LEASE (seconds, 3 to REBUILD_LEASE). The build renews its
 * leases every L/15 seconds for L/3 (struct renewer), so at 900 s: every
 * minute for five, and a rebuilder that died frees them within five
 * minutes. (Read on every call: no state shared between threads.) */
static long
rebuild_lease(void)
{
	const char *v = getenv("LB_TEST_REBUILD_LEASE");
	long t = v ? strtol(v, NULL, 10) : 0;

	return t >= 3 && t <= REBUILD_LEASE ? t : REBUILD_LEASE;
}

struct fold_run {
	unsigned n;
	int empty;
	int gave_back;	/* the last batch gave the fold lease back in its transaction */
};

/* The batch leaves the queue: one statement. */
static int
fold_dequeue(struct db *db, const unsigned long long *ids, size_t n)
{
	struct db_args a = { NULL, 0, 0, 0 };
	struct buf sql = BUF_INIT;
	size_t m = db_batch_size(n);
	int rc;

	for (size_t i = 0; i < m; i++)
		db_args_u(&a, ids[i < n ? i : n - 1]);
	rc = db_rows_sql(&sql, "DELETE FROM stat_queue WHERE pr_id IN (", "?", ", ", m, ")");
	if (rc == 0)
		rc = db_exec_args(db, sql.data, &a);
	db_args_free(&a);
	buf_free(&sql);
	return rc;
}

/* One transaction (READ COMMITTED: each PR is read as committed when its
 * row lock was taken, never from a snapshot older than the change it
 * folds): re-roll up to FOLD_BATCH queued PRs in one pass (fold_many) and
 * dequeue them. Run again after a lost COMMIT, it finds the PRs it
 * dequeued gone (and on Galera a second run on stale rows fails
 * certification): never counted twice. */
static int
fold_txn(struct db *db, void *arg)
{
	unsigned long long ids[FOLD_BATCH];
	struct fold_run *f = arg;
	struct db_res *r;
	size_t n;

	if (db_query(db, &r, "SELECT pr_id FROM stat_queue ORDER BY pr_id LIMIT 100", "") < 0)
		return -1;
	n = r->nrows;
	for (size_t i = 0; i < n; i++)
		ids[i] = strtoull(db_get(r, i, 0), NULL, 10);
	db_res_free(r);
	f->n = (unsigned)n;
	/* a short batch took every PR committed before it: the queue is empty
	 * for whoever asked before (newer ones are the next fold's) */
	f->empty = n < FOLD_BATCH;
	f->gave_back = 0;
	if (n > 0 && (fold_many(db, ids, n) < 0 || fold_dequeue(db, ids, n) < 0))
		return -1;
	/* the last batch: the lease goes back with its COMMIT, one write (and
	 * one log flush) less than lease_drop() after it */
	if (f->empty) {
		if (lease_clear(db, "fold") < 0)
			return -1;
		f->gave_back = 1;
	}
	return 0;
}

static int
fold_batch(struct db *db, unsigned *done, int *empty, int *gave_back)
{
	struct db_txn_opt o = { 5, 1, NULL };
	struct fold_run f = { 0, 0, 0 };

	if (db_txn_with(db, &o, fold_txn, &f) < 0) {
		/* said here: giving the lease back replaces the error */
		log_warn("rollup: fold: %s", db_error(db));
		return -1;
	}
	*done += f.n;
	*empty = f.empty;
	*gave_back = f.gave_back;
	return 0;
}

/* The fold under the lease, taken by the caller: batches until one is
 * short (the queue as of the call is empty: that batch gives the lease back
 * in its own transaction) or max; gives the lease back. */
static int
fold_held(struct db *db, unsigned max, unsigned *folded)
{
	unsigned done = 0;
	int rc = 0, empty = 0, gave_back = 0;

	while (!empty && (max == 0 || done < max)) {
		if ((rc = fold_batch(db, &done, &empty, &gave_back)) < 0)
			break;
		if (!empty && lease_take(db, "fold", FOLD_LEASE) != 1) {
			log_warn("rollup: the fold lease expired; another process folds the rest");
			break;
		}
	}
	if (!gave_back)	/* after a lost node: on the next one (it expires otherwise) */
		lease_drop(db, "fold");
	if (folded)
		*folded = done;
	return rc;
}

int
rollup_fold(struct db *db, unsigned max, unsigned *folded)
{
	struct db_res *r;
	int locked, empty, wait;

	if (folded)
		*folded = 0;
	if (db_query(db, &r, "SELECT EXISTS (SELECT 1 FROM stat_queue)", "") < 0)
		return -1;
	empty = db_getll(r, 0, 0, 0) == 0;
	db_res_free(r);
	if (empty)
		return 0;
	/* one folder at a time in the whole cluster (the fold lease); the others
	 * wait for it, then fold what is left (on a bounded handle, less than its
	 * timeout: a wait for the lease must not look like a stalled server) */
	wait = FOLD_WAIT;
	if (db_timeout(db) > 0 && db_timeout(db) - 1 < (unsigned)wait)
		wait = (int)db_timeout(db) - 1;
	if ((locked = lease_wait(db, "fold", FOLD_LEASE, wait, 1)) < 0)
		return -1;
	if (!locked)
		return 0;	/* folded by the holder meanwhile, or still folding */
	return fold_held(db, max, folded);
}

/* "A queued PR touches the days [?, ?]" (any day: TOUCHES_ANY), as an SQL
 * expression: queue_touches() and rollup_read_days() */
#define TOUCHES_ANY "EXISTS (SELECT 1 FROM stat_queue)"
#define TOUCHES_DAYS "EXISTS (SELECT 1 FROM stat_queue q " \
	"LEFT JOIN pull_requests p ON p.id = q.pr_id LEFT JOIN stat_pr s ON s.pr_id = q.pr_id " \
	"WHERE p.id IS NULL OR DATE(p.created_at) BETWEEN ? AND ? " \
	"OR DATE(p.merged_at) BETWEEN ? AND ? OR DATE(p.closed_at) BETWEEN ? AND ? " \
	"OR DATE(s.created_at) BETWEEN ? AND ? OR DATE(s.merged_at) BETWEEN ? AND ? " \
	"OR DATE(s.rejected_at) BETWEEN ? AND ?)"
#define TOUCHES_TYPES "ssssssssssss"
#define TOUCHES_ARGS(from, to) from, to, from, to, from, to, from, to, from, to, from, to

/*
 * A reader's fold: only while a queued PR has an event day in [from, to]
 * (its stored contribution's, stat_pr, or its row's now: created, merged,
 * closed), the days whose versions its fold would bump: an answer over
 * other days reads no bucket that fold changes. 1 while one does.
 */
static int
queue_touches(struct db *db, const char *from, const char *to)
{
	struct db_res *r;
	int touches;

	if (from == NULL) {
		if (db_query(db, &r, "SELECT " TOUCHES_ANY, "") < 0)
			return -1;
	} else if (db_query(db, &r, "SELECT " TOUCHES_DAYS, TOUCHES_TYPES,
	    TOUCHES_ARGS(from, to)) < 0)
		return -1;
	touches = db_getll(r, 0, 0, 1) != 0;
	db_res_free(r);
	return touches;
}

/* 1 while a rebuild that started more than `wait` seconds ago runs (its
 * lease "rollup" held: taken for rebuild_lease() seconds, renewed for a
 * third of that, so one that expires sooner than rebuild_lease() - wait
 * seconds from now is not young), 0, -1. Such a rebuild (minutes at a million PRs) holds the fold lease
 * longer than a reader waits: the reader does not wait it out. A young
 * one (a small org, a first build) is waited for as a folder is. */
static int
rebuilding(struct db *db, int wait)
{
	struct db_res *r;
	int yes;

	if (db_query(db, &r, "SELECT EXISTS (SELECT 1 FROM leases WHERE name = 'rollup' "
	    "AND owner IS NOT NULL AND expires_at > NOW(6) "
	    "AND expires_at < NOW(6) + INTERVAL ? SECOND)", "i",
	    (long long)(rebuild_lease() - wait)) < 0)
		return -1;
	yes = db_getll(r, 0, 0, 0) == 1;
	db_res_free(r);
	return yes;
}

/*
 * lb-api's fold. Whoever holds the fold lease folds; a reader waiting for
 * it watches the queue every 2 ms (the rows its answer needs leave the
 * queue with the batch that folds them) and asks for the lease every
 * 20 ms, so it waits about as long as the fold, not in 20 ms steps.
 */
int
rollup_fold_days(struct db *db, const char *from, const char *to, unsigned max)
{
	struct timespec t0, t;
	int lo = from == NULL || from[0] == '\0', hi = to == NULL || to[0] == '\0';
	int wait = FOLD_WAIT, rc;

	if (lo && !hi)
		from = "1000-01-01";
	if (hi && !lo)
		to = "9999-12-31";
	if (lo && hi)
		from = to = NULL;	/* every day: any queued PR */
	if (db_timeout(db) > 0 && db_timeout(db) - 1 < (unsigned)wait)
		wait = (int)db_timeout(db) - 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0;; i++) {
		if ((rc = queue_touches(db, from, to)) <= 0)
			return rc;
		if (i % 10 == 0 && (rc = lease_take(db, "fold", FOLD_LEASE)) != 0)
			return rc < 0 ? -1 : fold_held(db, max, NULL);
		if (i == 0 && (rc = rebuilding(db, wait)) != 0)
			return rc < 0 ? -1 : 0;	/* folded after the swap: answer as things are */
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= wait)
			return 0;
		{
			struct timespec pause = { 0, 2 * 1000 * 1000 };
			nanosleep(&pause, NULL);
		}
	}
}

/*
 * The data version of an answer reading the days [from, to]: SUM(v) of
 * those days' stat_day_version rows (bumped for the days of every PR
 * change folded or rolled), plus what can change any answer: the last
 * rebuild (also every config change), teams, users, repositories and
 * memberships (newest updated_at, all indexed), label_points, today's
 * date. A write of December 2026 leaves the version of 2024 as it was.
 */
#define VERSION_OF_DAYS "CONCAT_WS('|', (SELECT COALESCE(SUM(v), 0) FROM stat_day_version " \
	"WHERE day >= ? AND day <= ?), (SELECT built_at FROM stat_state WHERE id = 1), " \
	"(SELECT MAX(updated_at) FROM teams), (SELECT MAX(updated_at) FROM users), " \
	"(SELECT MAX(updated_at) FROM repositories), (SELECT MAX(updated_at) FROM memberships), " \
	"(SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT(label_name, '=', points))), 0)) " \
	"FROM label_points), UTC_DATE())"

static int
version_only(struct db *db, const char *vfrom, const char *vto, char *ver, size_t len)
{
	struct db_res *r;

	if (db_query(db, &r, "SELECT " VERSION_OF_DAYS, "ss", vfrom, vto) < 0)
		return -1;
	lb_strlcpy(ver, db_get(r, 0, 0) ? db_get(r, 0, 0) : "", len);
	db_res_free(r);
	return 0;
}

int
rollup_read_days(struct db *db, const char *from, const char *to, unsigned max, char *ver,
    size_t len)
{
	const char *vfrom = from && from[0] ? from : "1000-01-01";
	const char *vto = to && to[0] ? to : "9999-12-31";
	int any = (from == NULL || from[0] == '\0') && (to == NULL || to[0] == '\0');
	struct db_res *r;
	int touches;

	/* the usual case, nothing of those days queued: one round trip */
	if ((any ? db_query(db, &r, "SELECT " TOUCHES_ANY ", " VERSION_OF_DAYS, "ss", vfrom, vto)
	    : db_query(db, &r, "SELECT " TOUCHES_DAYS ", " VERSION_OF_DAYS, TOUCHES_TYPES "ss",
	    TOUCHES_ARGS(vfrom, vto), vfrom, vto)) < 0)
		return -1;
	touches = db_getll(r, 0, 0, 1) != 0;
	lb_strlcpy(ver, db_get(r, 0, 1) ? db_get(r, 0, 1) : "", len);
	db_res_free(r);
	if (!touches)
		return 0;
	if (rollup_fold_days(db, from, to, max) < 0)
		log_warn("statistics: cannot fold queued PR changes: %s", db_error(db));
	return version_only(db, vfrom, vto, ver, len);
}

/*
 * A membership (or type) change of one user: the users row exclusively
 * (PR writers of that author wait), then stat_state row 2 exclusively:
 * membership changes are serialized among themselves (row 2 keeps what the
 * rollups know of memberships), never with the PR writers of other users.
 */
static int
lock_user(struct db *db, unsigned long long user_id)
{
	struct db_res *r;

	if (lock_state(db, NULL, 0) < 0)
		return -1;
	if (db_query(db, &r, "SELECT id FROM users WHERE id = ? FOR UPDATE", "u", user_id) < 0)
		return -1;
	db_res_free(r);
	if (db_query(db, &r, "SELECT mem_sig FROM stat_state WHERE id = 2 FOR UPDATE", "") < 0)
		return -1;
	db_res_free(r);
	return 0;
}

int
rollup_user_before(struct db *db, unsigned long long user_id)
{
	return lock_user(db, user_id);
}

int
rollup_user_after(struct db *db, unsigned long long user_id)
{
	char exclude[4096];
	struct db_res *r;
	int changed = 0, rc = 0;

	/* the locks again: harmless when the caller took them, needed when not */
	if (lock_user(db, user_id) < 0 || lock_state(db, exclude, sizeof exclude) < 0)
		return -1;
	if (db_query(db, &r, "SELECT id FROM pull_requests WHERE author_id = ?", "u", user_id) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows && rc == 0; i++)
		rc = reroll(db, strtoull(db_get(r, i, 0), NULL, 10), exclude, &changed);
	db_res_free(r);
	if (rc < 0)
		return -1;
	/* what the rollups now know of memberships: membership writers are
	 * serialized by row 2, so every earlier one has committed */
	if (db_query(db, &r, "SELECT CONCAT(COUNT(*), '/', COALESCE(DATE_FORMAT(MAX(updated_at), "
	    "'%Y-%m-%d %H:%i:%s.%f'), '')) FROM memberships", "") < 0)
		return -1;
	rc = db_exec(db, "UPDATE stat_state SET mem_sig = ? WHERE id = 2", "s", db_get(r, 0, 0));
	db_res_free(r);
	if (rc == 0 && changed)
		rc = bump(db);
	return rc;
}

/* --------------------------------------------------------------- rebuild */

/*
 * The rebuild fills fresh tables stat_*_new with set-based statements
 * (bulk INSERT ... SELECT ... GROUP BY, no per-row work, secondary indexes
 * added after the load), then swaps them in with one atomic RENAME TABLE.
 * DDL commits: the caller excludes the writers (rollup_check holds
 * stat_state row 1 exclusively on a second connection meanwhile).
 */
static const char *const stat_tables[] = {
	"stat_pr", "stat_pr_scope", "stat_pr_label", "stat_counts", "stat_labels",
	"stat_authors", "stat_repos", "stat_first", NULL
};

/* Secondary indexes, created after the load (sorted index build). */
static const char *const stat_indexes[] = {
	"ALTER TABLE stat_pr_new DROP INDEX stat_pr_author, DROP INDEX stat_pr_created, "
	"DROP INDEX stat_pr_merged, DROP INDEX stat_pr_rejected",
	"ALTER TABLE stat_pr_scope_new DROP INDEX stat_pr_scope_scope, "
	"DROP INDEX stat_pr_scope_created, DROP INDEX stat_pr_scope_merged, "
	"DROP INDEX stat_pr_scope_rejected",
	"ALTER TABLE stat_counts_new DROP INDEX stat_counts_scope",
	"ALTER TABLE stat_first_new DROP INDEX stat_first_when",
	NULL
};

#define EV_COLS "kind, scope_id, author_id, repo_id, bucket, c, m, r, o, pc, oc"
#define QBUCKET "MAKEDATE(YEAR(bucket), 1) + INTERVAL (QUARTER(bucket) - 1) QUARTER"

static const char *const build_sql[] = {
	/* 0: the PRs that count */
	"INSERT INTO stat_pr_new (pr_id, author_id, repo_id, partner, created_at, merged_at, "
	"rejected_at, open) SELECT p.id, p.author_id, p.repo_id, r.partner_owned, p.created_at, "
	"IF(p.merged = 1, p.merged_at, NULL), "
	"IF(p.state = 'closed' AND p.merged = 0, p.closed_at, NULL), p.state = 'open' "
	"FROM pull_requests p JOIN repositories r ON r.id = p.repo_id "
	"JOIN users u ON u.id = p.author_id WHERE r.tracked = 1 AND u.type <> 'Bot' ORDER BY p.id",
	/* 1, 2: membership intervals of ranked / excluded teams (parameter: the
	 * excluded slugs), unbounded ends made concrete */
	"INSERT INTO rb_ranked (user_id, team_id, s, e) SELECT m.user_id, m.team_id, "
	"COALESCE(m.started_at, '1000-01-01'), COALESCE(m.ended_at, '9999-12-31') "
	"FROM memberships m JOIN teams t ON t.id = m.team_id "
	"WHERE t.deleted_at IS NULL AND FIND_IN_SET(t.slug, ?) = 0",
	"INSERT INTO rb_excl (user_id, s, e) SELECT m.user_id, "
	"COALESCE(m.started_at, '1000-01-01'), COALESCE(m.ended_at, '9999-12-31') "
	"FROM memberships m JOIN teams t ON t.id = m.team_id WHERE FIND_IN_SET(t.slug, ?) > 0",
	/* 3: team attribution */
	"INSERT IGNORE INTO stat_pr_scope_new (pr_id, kind, scope_id, created_at, merged_at, "
	"rejected_at) SELECT s.pr_id, 0, m.team_id, s.created_at, s.merged_at, s.rejected_at "
	"FROM stat_pr_new s "
	"JOIN rb_ranked m ON m.user_id = s.author_id AND m.s <= s.created_at AND m.e > s.created_at "
	"WHERE NOT EXISTS (SELECT 1 FROM rb_excl x WHERE x.user_id = s.author_id "
	" AND x.s <= s.created_at AND x.e > s.created_at)",
	"INSERT INTO stat_pr_scope_new (pr_id, kind, scope_id, created_at, merged_at, rejected_at) "
	"SELECT DISTINCT pr_id, 1, 0, created_at, merged_at, rejected_at FROM stat_pr_scope_new "
	"WHERE kind = 0",
	"INSERT INTO stat_pr_scope_new (pr_id, kind, scope_id, created_at, merged_at, rejected_at) "
	"SELECT pr_id, 2, 0, created_at, merged_at, rejected_at FROM stat_pr_new",
	"INSERT IGNORE INTO stat_pr_label_new (pr_id, label) SELECT pl.pr_id, l.name "
	"FROM pr_labels pl JOIN labels l ON l.id = pl.label_id JOIN stat_pr_new s ON s.pr_id = pl.pr_id",
	/* 7: every event of every PR in every scope, with its day */
	"INSERT INTO stat_ev_work (" EV_COLS ") "
	"SELECT sc.kind, sc.scope_id, e.author_id, e.repo_id, e.bucket, e.c, e.m, e.r, e.o, e.pc, e.oc "
	"FROM (SELECT pr_id, author_id, repo_id, DATE(created_at) AS bucket, "
	"  1 AS c, 0 AS m, 0 AS r, open AS o, partner AS pc, 1 - partner AS oc FROM stat_pr_new "
	" UNION ALL SELECT pr_id, author_id, repo_id, DATE(merged_at), "
	"  0, 1, 0, 0, 0, 0 FROM stat_pr_new WHERE merged_at IS NOT NULL "
	" UNION ALL SELECT pr_id, author_id, repo_id, DATE(rejected_at), "
	"  0, 0, 1, 0, 0, 0 FROM stat_pr_new WHERE rejected_at IS NOT NULL) e "
	"JOIN stat_pr_scope_new sc ON sc.pr_id = e.pr_id",
	NULL
};

/* After the shared part, two chains run at once on two connections (the
 * machine has cores to spare): counters, the teams' authors, firsts, labels
 * and the stat_pr* indexes; repos and the authors of kinds 1 and 2. Each entry: SQL, or a roll-up "@<table><grain>". */
static const char *const chain1[] = {
	"INSERT INTO stat_counts_new (grain, bucket, kind, scope_id, created, merged, rejected, open, "
	"partner_created, oss_created) SELECT 'D', bucket, kind, scope_id, SUM(c), SUM(m), SUM(r), "
	"SUM(o), SUM(pc), SUM(oc) FROM stat_ev_work GROUP BY bucket, kind, scope_id",
	"INSERT INTO stat_authors_new (grain, bucket, kind, scope_id, author_id, created, merged, "
	"rejected) SELECT 'D', bucket, kind, scope_id, author_id, SUM(c), SUM(m), SUM(r) "
	"FROM stat_ev_work WHERE kind = 0 GROUP BY bucket, kind, scope_id, author_id",
	"@0M", "@0Q", "@0Y", "@0A", "@1M0", "@1Q0", "@1Y0", "@1A0",
	"INSERT INTO stat_first_new (kind, scope_id, author_id, first_created) "
	"SELECT 2, 0, author_id, MIN(created_at) FROM stat_pr_new GROUP BY author_id",
	"INSERT INTO stat_first_new (kind, scope_id, author_id, first_created) "
	"SELECT 0, sc.scope_id, s.author_id, MIN(s.created_at) FROM stat_pr_scope_new sc "
	"JOIN stat_pr_new s ON s.pr_id = sc.pr_id WHERE sc.kind = 0 "
	"GROUP BY sc.scope_id, s.author_id",
	"ALTER TABLE stat_first_new ADD KEY stat_first_when (kind, scope_id, first_created)",
	"INSERT INTO stat_labels_new (grain, bucket, kind, scope_id, label, n) "
	"SELECT 'D', DATE(s.merged_at), sc.kind, sc.scope_id, pl.label, COUNT(*) "
	"FROM stat_pr_label_new pl STRAIGHT_JOIN stat_pr_new s ON s.pr_id = pl.pr_id "
	"STRAIGHT_JOIN stat_pr_scope_new sc ON sc.pr_id = s.pr_id WHERE s.merged_at IS NOT NULL "
	"GROUP BY 2, 3, 4, 5",
	"@3M", "@3Q", "@3Y", "@3A",
	"ALTER TABLE stat_pr_scope_new ADD KEY stat_pr_scope_scope (kind, scope_id, pr_id), "
	"ADD KEY stat_pr_scope_created (kind, scope_id, created_at), "
	"ADD KEY stat_pr_scope_merged (kind, scope_id, merged_at), "
	"ADD KEY stat_pr_scope_rejected (kind, scope_id, rejected_at)",
	"ALTER TABLE stat_pr_new ADD KEY stat_pr_author (author_id, created_at), "
	"ADD KEY stat_pr_created (created_at), ADD KEY stat_pr_merged (merged_at), "
	"ADD KEY stat_pr_rejected (rejected_at)",
	NULL
};
/* after both: they need every stat_authors row */
static const char *const chain3[] = {
	"INSERT INTO stat_counts_new (grain, bucket, kind, scope_id, members, contributors) "
	"SELECT grain, bucket, kind, scope_id, COUNT(*), SUM(created > 0) FROM stat_authors_new "
	"GROUP BY grain, bucket, kind, scope_id ON DUPLICATE KEY UPDATE "
	"members = VALUES(members), contributors = VALUES(contributors)",
	"ALTER TABLE stat_counts_new ADD KEY stat_counts_scope (kind, scope_id, grain, bucket)",
	NULL
};
static const char *const chain2[] = {
	"INSERT INTO stat_repos_new (grain, bucket, team_id, author_id, repo_id, created, merged, "
	"rejected) SELECT 'D', bucket, scope_id, author_id, repo_id, SUM(c), SUM(m), SUM(r) "
	"FROM stat_ev_work WHERE kind = 0 GROUP BY bucket, scope_id, author_id, repo_id",
	"@2M", "@2Q", "@2Y", "@2A",
	/* the authors of kinds 1 and 2 here (chain 1 has those of the teams) */
	"INSERT INTO stat_authors_new (grain, bucket, kind, scope_id, author_id, created, merged, "
	"rejected) SELECT 'D', bucket, kind, scope_id, author_id, SUM(c), SUM(m), SUM(r) "
	"FROM stat_ev_work WHERE kind > 0 GROUP BY bucket, kind, scope_id, author_id",
	"@1M1", "@1Q1", "@1Y1", "@1A1",
	NULL
};

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* LB_ROLLUP_TRACE=1 logs the time of every rebuild statement. */
static void
trace(const char *what, size_t i, double t0)
{
	if (getenv("LB_ROLLUP_TRACE"))
		log_info("rollup rebuild: %s %zu: %.2f s", what, i, now_s() - t0);
}

/* Months from days, quarters from months, years from quarters, all time from years: table
 * t (0 counts, 1 authors, 2 repos, 3 labels) at grain g. */
static int
roll_one(struct db *db, int t, char g, char kinds)
{
	static const char *const fmt[] = {
		"INSERT INTO stat_counts_new (grain, bucket, kind, scope_id, created, merged, rejected, "
		"open, partner_created, oss_created) SELECT '%c', %s, kind, scope_id, SUM(created), "
		"SUM(merged), SUM(rejected), SUM(open), SUM(partner_created), SUM(oss_created) "
		"FROM stat_counts_new WHERE grain = '%c' GROUP BY 2, 3, 4",
		"INSERT INTO stat_authors_new (grain, bucket, kind, scope_id, author_id, created, merged, "
		"rejected) SELECT '%c', %s, kind, scope_id, author_id, SUM(created), SUM(merged), "
		"SUM(rejected) FROM stat_authors_new WHERE grain = '%c'%s GROUP BY 2, 3, 4, 5",
		"INSERT INTO stat_repos_new (grain, bucket, team_id, author_id, repo_id, created, merged, "
		"rejected) SELECT '%c', %s, team_id, author_id, repo_id, SUM(created), SUM(merged), "
		"SUM(rejected) FROM stat_repos_new WHERE grain = '%c' GROUP BY 2, 3, 4, 5",
		"INSERT INTO stat_labels_new (grain, bucket, kind, scope_id, label, n) "
		"SELECT '%c', %s, kind, scope_id, label, SUM(n) FROM stat_labels_new WHERE grain = '%c' "
		"GROUP BY 2, 3, 4, 5",
	};
	const char *bk = g == 'M' ? "DATE_FORMAT(bucket, '%Y-%m-01')" : g == 'Q' ? QBUCKET :
	    g == 'Y' ? "MAKEDATE(YEAR(bucket), 1)" : "DATE '1970-01-01'";
	char from = g == 'M' ? 'D' : g == 'Q' ? 'M' : g == 'Y' ? 'Q' : 'Y';
	struct buf b = BUF_INIT;
	int rc = 0;

	/* kinds: '0' teams only, '1' kinds 1 and 2, else all */
	const char *kf = kinds == '0' ? " AND kind = 0" : kinds == '1' ? " AND kind > 0" : "";

	if (t < 0 || t > 3 || buf_printf(&b, fmt[t], g, bk, from, kf) < 0 ||
	    db_exec(db, b.data, "") < 0) {
		log_error("rollup rebuild: roll-up %d/%c: %s", t, g, db_error(db));
		rc = -1;
	}
	buf_free(&b);
	return rc;
}

struct chain {
	struct db *db;
	const char *const *sql;
	const char *name;
	int rc;
};

static void *
run_chain(void *arg)
{
	struct chain *c = arg;

	c->rc = 0;
	for (size_t i = 0; c->sql[i] && c->rc == 0; i++) {
		double t0 = now_s();
		if (c->sql[i][0] == '@')
			c->rc = roll_one(c->db, c->sql[i][1] - '0', c->sql[i][2], c->sql[i][3]);
		else if ((c->rc = db_exec(c->db, c->sql[i], "")) < 0)
			log_error("rollup rebuild: %s %zu: %s", c->name, i, db_error(c->db));
		trace(c->name, i, t0);
	}
	return NULL;
}

static int
exec_list(struct db *db, const char *const *sql, const char *what)
{
	for (size_t i = 0; sql[i]; i++) {
		double t0 = now_s();
		if (db_exec(db, sql[i], "") < 0) {
			log_error("rollup rebuild: %s %zu: %s", what, i, db_error(db));
			return -1;
		}
		trace(what, i, t0);
	}
	return 0;
}

static int
exec_fmt(struct db *db, const char *fmt, const char *arg)
{
	struct buf b = BUF_INIT;
	int rc = -1;

	if (buf_printf(&b, fmt, arg, arg, arg, arg) == 0)
		rc = db_exec(db, b.data, "");
	if (rc < 0)
		log_error("rollup rebuild: %s: %s", b.data ? b.data : fmt, db_error(db));
	buf_free(&b);
	return rc;
}

static void
drop_work(struct db *db)
{
	static const char drop[] = "DROP TEMPORARY TABLE IF EXISTS rb_ranked, rb_excl";

	(void)db_exec_text(db, drop, strlen(drop));
	(void)db_exec(db, "DROP TABLE IF EXISTS stat_ev_work", "");
	for (size_t i = 0; stat_tables[i]; i++) {
		(void)exec_fmt(db, "DROP TABLE IF EXISTS %s_new", stat_tables[i]);
		(void)exec_fmt(db, "DROP TABLE IF EXISTS %s_old", stat_tables[i]);
	}
}

/*
 * Late changes of a rebuild (admins correcting memberships with SQL, teams
 * deleted or excluded, tracked repositories changed): the monthly counters
 * and label counts of settled months that differ between the old rollups
 * (stat_*_old, just swapped out) and the new ones, without a PR (the
 * cause is the edit); a failure is logged, the rebuild stands. Not for the
 * first build (nothing was shown before it); at most 100,000 rows of each kind.
 */

static int
rebuild_changes(struct db *db)
{
	struct db_res *r;
	int first;

	if (db_query(db, &r, "SELECT built_at IS NULL FROM stat_state WHERE id = 1", "") < 0)
		return -1;
	first = r->nrows == 0 || db_getll(r, 0, 0, 1) == 1;
	db_res_free(r);
	if (first)
		return 0;
	/* one row per (month, scope, metric) whose value differs: old and new
	 * rows side by side (a missing row is zeros), unpivoted */
	if (db_exec(db,
	    "INSERT INTO stat_changes (month, kind, scope_id, metric, old_value, new_value, pr_id, "
	    "changed_at) SELECT d.bucket, d.kind, d.scope_id, m.metric, "
	    "ELT(m.i, d.o1, d.o2, d.o3, d.o4, d.o5, d.o6, d.o7, d.o8), "
	    "ELT(m.i, d.n1, d.n2, d.n3, d.n4, d.n5, d.n6, d.n7, d.n8), NULL, UTC_TIMESTAMP(6) "
	    "FROM (SELECT bucket, kind, scope_id, SUM(o1) o1, SUM(o2) o2, SUM(o3) o3, SUM(o4) o4, "
	    " SUM(o5) o5, SUM(o6) o6, SUM(o7) o7, SUM(o8) o8, SUM(n1) n1, SUM(n2) n2, "
	    " SUM(n3) n3, SUM(n4) n4, SUM(n5) n5, SUM(n6) n6, SUM(n7) n7, SUM(n8) n8 FROM ("
	    "  SELECT bucket, kind, scope_id, created o1, merged o2, rejected o3, open o4, "
	    "  partner_created o5, oss_created o6, members o7, contributors o8, 0 n1, 0 n2, 0 n3, "
	    "  0 n4, 0 n5, 0 n6, 0 n7, 0 n8 FROM stat_counts_old WHERE grain = 'M' "
	    "  AND bucket + INTERVAL 1 MONTH + INTERVAL ? DAY < UTC_TIMESTAMP() "
	    "  UNION ALL SELECT bucket, kind, scope_id, 0, 0, 0, 0, 0, 0, 0, 0, created, merged, "
	    "  rejected, open, partner_created, oss_created, members, contributors FROM stat_counts "
	    "  WHERE grain = 'M' AND bucket + INTERVAL 1 MONTH + INTERVAL ? DAY < UTC_TIMESTAMP()) u "
	    " GROUP BY bucket, kind, scope_id) d "
	    "JOIN (SELECT 1 i, 'created' metric UNION ALL SELECT 2, 'merged' UNION ALL "
	    " SELECT 3, 'rejected' UNION ALL SELECT 4, 'open' UNION ALL SELECT 5, 'partner_created' "
	    " UNION ALL SELECT 6, 'oss_created' UNION ALL SELECT 7, 'members' UNION ALL "
	    " SELECT 8, 'contributors') m "
	    "WHERE ELT(m.i, d.o1, d.o2, d.o3, d.o4, d.o5, d.o6, d.o7, d.o8) <> "
	    " ELT(m.i, d.n1, d.n2, d.n3, d.n4, d.n5, d.n6, d.n7, d.n8) "
	    "ORDER BY d.bucket, d.kind, d.scope_id, m.i LIMIT 100000",
	    "ii", settle_days, settle_days) < 0 ||
	    db_exec(db,
	    "INSERT INTO stat_changes (month, kind, scope_id, metric, old_value, new_value, pr_id, "
	    "changed_at) SELECT bucket, kind, scope_id, CONCAT('label:', label), SUM(o), SUM(n), NULL, "
	    "UTC_TIMESTAMP(6) FROM ("
	    " SELECT bucket, kind, scope_id, label, n o, 0 n FROM stat_labels_old WHERE grain = 'M' "
	    " AND bucket + INTERVAL 1 MONTH + INTERVAL ? DAY < UTC_TIMESTAMP() "
	    " UNION ALL SELECT bucket, kind, scope_id, label, 0, n FROM stat_labels WHERE grain = 'M' "
	    " AND bucket + INTERVAL 1 MONTH + INTERVAL ? DAY < UTC_TIMESTAMP()) u "
	    "GROUP BY bucket, kind, scope_id, label HAVING SUM(o) <> SUM(n) "
	    "ORDER BY bucket, kind, scope_id, label LIMIT 100000", "ii", settle_days, settle_days) < 0) {
		log_error("rollup rebuild: late changes: %s", db_error(db));
		return -1;
	}
	return 0;
}

int
rollup_rebuild(struct db *db, struct db *db2, const char *exclude, int late)
{
	struct buf ren = BUF_INIT;
	int rc = -1;

	drop_work(db);
	for (size_t i = 0; stat_tables[i]; i++)
		if (exec_fmt(db, "CREATE TABLE %s_new LIKE %s", stat_tables[i]) < 0)
			goto out;
	if (exec_list(db, stat_indexes, "drop index") < 0)
		goto out;
	if (db_exec(db, "CREATE TEMPORARY TABLE rb_ranked (user_id BIGINT UNSIGNED NOT NULL, "
	    "team_id BIGINT UNSIGNED NOT NULL, s DATETIME(6) NOT NULL, e DATETIME(6) NOT NULL, "
	    "KEY (user_id)) ENGINE=MEMORY", "") < 0 ||
	    db_exec(db, "CREATE TEMPORARY TABLE rb_excl (user_id BIGINT UNSIGNED NOT NULL, "
	    "s DATETIME(6) NOT NULL, e DATETIME(6) NOT NULL, KEY (user_id)) ENGINE=MEMORY", "") < 0 ||
	    db_exec(db, "CREATE TABLE stat_ev_work (kind TINYINT UNSIGNED NOT NULL, "
	    "scope_id BIGINT UNSIGNED NOT NULL, author_id BIGINT UNSIGNED NOT NULL, "
	    "repo_id BIGINT UNSIGNED NOT NULL, bucket DATE NOT NULL, c TINYINT NOT NULL, "
	    "m TINYINT NOT NULL, r TINYINT NOT NULL, o TINYINT NOT NULL, pc TINYINT NOT NULL, "
	    "oc TINYINT NOT NULL) ENGINE=MEMORY", "") < 0) {
		log_error("rollup rebuild: work tables: %s", db_error(db));
		goto out;
	}
	for (size_t i = 0; build_sql[i]; i++) {
		double t0 = now_s();
		int r = (i == 1 || i == 2) ? db_exec(db, build_sql[i], "s", exclude) :
		    db_exec(db, build_sql[i], "");
		if (r < 0) {
			log_error("rollup rebuild: statement %zu: %s", i, db_error(db));
			goto out;
		}
		trace("statement", i, t0);
	}
	{
		struct chain c1 = { db, chain1, "chain 1", 0 }, c2 = { db2, chain2, "chain 2", 0 };
		pthread_t th;
		int threaded = db2 != NULL && lb_thread_start(&th, run_chain, &c2) == 0;

		run_chain(&c1);
		if (threaded)
			pthread_join(th, NULL);
		else {
			c2.db = db;
			if (c1.rc == 0)
				run_chain(&c2);
		}
		if (c1.rc < 0 || c2.rc < 0)
			goto out;
		c1.sql = chain3;
		c1.name = "chain 3";
		run_chain(&c1);
		if (c1.rc < 0)
			goto out;
	}
	/* the swap: one atomic RENAME of every table */
	(void)buf_puts(&ren, "RENAME TABLE ");
	for (size_t i = 0; stat_tables[i]; i++)
		(void)buf_printf(&ren, "%s%s TO %s_old, %s_new TO %s", i ? ", " : "", stat_tables[i],
		    stat_tables[i], stat_tables[i], stat_tables[i]);
	if (ren.data == NULL || db_exec(db, ren.data, "") < 0) {
		log_error("rollup rebuild: swap: %s", db_error(db));
		goto out;
	}
	if (late)
		(void)rebuild_changes(db);
	rc = 0;
out:
	drop_work(db);
	buf_free(&ren);
	return rc;
}

/* ----------------------------------------------------------------- check */

#define SET_BIG "SET SESSION tmp_table_size = 2147483648, max_heap_table_size = 2147483648, " \
	"tx_isolation = 'READ-COMMITTED'"
#define SET_SMALL "SET SESSION tmp_table_size = DEFAULT, max_heap_table_size = DEFAULT, " \
	"tx_isolation = DEFAULT"
#define SET_RC "SET SESSION tx_isolation = 'READ-COMMITTED'"

#define LIVE_SQL \
	"SELECT (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(id), 0), ':', " \
	"COALESCE(BIT_XOR(CRC32(id)), 0)) FROM teams WHERE deleted_at IS NOT NULL " \
	"OR FIND_IN_SET(slug, ?) > 0), (SELECT CONCAT(COUNT(*), '/', " \
	"COALESCE(DATE_FORMAT(MAX(updated_at), '%Y-%m-%d %H:%i:%s.%f'), '')) FROM memberships)"

/*
 * The PRs of imports (sql/020) that the build counts: stat_import as it is
 * before the build reads the PRs, in a work table of the build's
 * connection. After the swap, import_done() deletes those rows, unless one
 * was stored again meanwhile (its n grew: the next rebuild counts it).
 */
static const char import_drop[] = "DROP TEMPORARY TABLE IF EXISTS stat_import_seen";

static int
import_seen(struct db *db)
{
	static const char seen[] = "CREATE TEMPORARY TABLE stat_import_seen (PRIMARY KEY (pr_id)) "
	    "ENGINE=InnoDB SELECT pr_id, n FROM stat_import";

	return db_exec_text(db, import_drop, strlen(import_drop)) < 0 ? -1 :
	    db_exec_text(db, seen, strlen(seen));
}

static int
import_done(struct db *db)
{
	unsigned long long n = 0;
	int rc;

	rc = db_exec(db, "DELETE i FROM stat_import i JOIN stat_import_seen s "
	    "ON s.pr_id = i.pr_id AND s.n = i.n", "");
	if (rc == 0)
		n = db_affected(db);
	if (rc < 0 || db_exec_text(db, import_drop, strlen(import_drop)) < 0) {
		log_warn("rollup: imported PRs counted but not dequeued (the next rebuild does): %s",
		    db_error(db));
		return 0;	/* the rollups are right: a later rebuild only repeats the work */
	}
	if (n > 0)
		log_info("rollup: %llu imported PRs counted", n);
	return 0;
}

/*
 * The rebuild proper. `lk` (a second connection) holds stat_state rows 1
 * and 2 exclusively for the whole build: writers in flight finish first,
 * new ones wait (they retry on a lock wait timeout). `db` builds and swaps.
 */
static int
rebuild_locked(struct db *db, struct db *lk, struct db *db2, const struct conf *c,
    const char *fp, const char *exclude, const char *repos, int late)
{
	struct db_res *r = NULL;
	struct timespec t0, t1;
	double secs;
	int rc = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the config first (committed: writers meanwhile roll with it, which
	 * keeps the old rollups consistent too) */
	if (db_exec(db, "UPDATE repositories SET tracked = FIND_IN_SET(full_name, ?) > 0, "
	    "partner_owned = (owner_login = ?)", "ss", repos,
	    c->partner_org ? c->partner_org : "") < 0)
		goto out;
	if (db_exec_text(lk, SET_RC, strlen(SET_RC)) < 0 ||
	    db_begin(lk) < 0 ||
	    db_query(lk, &r, "SELECT id FROM stat_state WHERE id IN (1, 2) FOR UPDATE", "") < 0)
		goto out;
	db_res_free(r);
	r = NULL;
	/* what the build starts from, read before it: on a cluster a membership
	 * change on another node is not held back by lk, and one committed
	 * during the build then differs from this at the next check (which
	 * rebuilds again) instead of going unnoticed */
	if (db_query(db, &r, LIVE_SQL, "s", exclude) < 0 || import_seen(db) < 0 ||
	    rollup_rebuild(db, db2, exclude, late) < 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (db_exec(lk, "UPDATE stat_state SET exclude_teams = ?, config_fp = ?, unranked_sig = ?, "
	    "built_at = UTC_TIMESTAMP(6), build_seconds = ?, rebuild_failures = 0, "
	    "rebuild_error = NULL, rebuild_retry_at = NULL WHERE id = 1",
	    "sssd", exclude, fp, db_get(r, 0, 0), secs) < 0 ||
	    db_exec(lk, "UPDATE stat_state SET mem_sig = ? WHERE id = 2", "s", db_get(r, 0, 1)) < 0 ||
	    bump(lk) < 0 || db_commit(lk) < 0)
		goto out;
	log_info("rollup: rebuilt in %.1f s", secs);
	rc = import_done(db);
out:
	if (rc < 0) {
		log_error("rollup: rebuild failed: %s / %s", db_error(db), db_error(lk));
		db_rollback(lk);
	}
	db_res_free(r);
	return rc;
}

/* The rebuild's leases: "rollup" (one rebuilder; taken or not, no wait),
 * then "fold" (no folder anywhere in the cluster while tables are swapped;
 * waiting for the folder in flight). 1 both held, 0 not (none held), -1. */
static int
rebuild_leases(struct db *db)
{
	int rc = lease_take(db, "rollup", rebuild_lease()), wait = FOLD_WAIT;

	if (rc <= 0)
		return rc;
	if (db_timeout(db) > 0 && db_timeout(db) - 1 < (unsigned)wait)
		wait = (int)db_timeout(db) - 1;	/* lb-api: not longer than its timeout */
	if ((rc = lease_wait(db, "fold", rebuild_lease(), wait, 0)) <= 0)
		lease_drop(db, "rollup");
	return rc;
}

/*
 * The build's leases stay held while it runs, however long (a rebuild at
 * ten million PRs takes about half an hour): a thread renews them on the
 * caller's connection, which the build does not use (it works on
 * connections of its own). Without this a folder took the expired fold
 * lease mid-build and waited on stat_state, which the build holds, until
 * its timeout (lb-api: answers failing as "database unavailable"), and a
 * second rebuild could start.
 */
struct renewer {
	struct db      *db;
	long            every, hold;	/* seconds */
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	int             stop;
};

static void *
renewer_run(void *arg)
{
	struct renewer *w = arg;
	struct timespec at;

	pthread_mutex_lock(&w->mu);
	clock_gettime(CLOCK_MONOTONIC, &at);
	while (!w->stop) {
		at.tv_sec += w->every;
		while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &at) == 0)
			;	/* woken without stop (spurious): the same deadline */
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->mu);
		if (lease_take(w->db, "rollup", w->hold) != 1 || lease_take(w->db, "fold", w->hold) != 1)
			log_warn("rollup: the rebuild's leases not renewed (%s)",
			    db_errno(w->db) ? db_error(w->db) : "another process holds them");
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* 0 with the thread running, -1 (then the build runs without renewal). */
static int
renewer_start(struct renewer *w, pthread_t *th, struct db *db)
{
	pthread_condattr_t ca;
	long lease = rebuild_lease();

	memset(w, 0, sizeof *w);
	w->db = db;
	w->every = lease / 15 > 0 ? lease / 15 : 1;
	w->hold = lease / 3 > 3 * w->every ? lease / 3 : 3 * w->every;
	if (pthread_condattr_init(&ca) != 0)
		return -1;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&w->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	if (pthread_mutex_init(&w->mu, NULL) != 0) {
		pthread_cond_destroy(&w->cv);
		return -1;
	}
	if (lb_thread_start(th, renewer_run, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		return -1;
	}
	return 0;
}

static void
renewer_stop(struct renewer *w, pthread_t th)
{
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(th, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}

/*
 * A failed rebuild is recorded on stat_state row 1 (sql/021): no process
 * starts another before rebuild_retry_at, 30 s after the first failure,
 * twice as long after each further one, at most an hour.
 */
static void
rebuild_failed(struct db *db, const char *why)
{
	char w[501];

	utf8_copy(w, sizeof w, why && why[0] ? why : "see the log", 500);
	if (db_exec(db, "UPDATE stat_state SET rebuild_failures = rebuild_failures + 1, "
	    "rebuild_error = ?, rebuild_retry_at = UTC_TIMESTAMP(6) + INTERVAL "
	    "LEAST(3600, 30 * POW(2, LEAST(rebuild_failures, 8) - 1)) SECOND WHERE id = 1",
	    "s", w) < 0)
		log_warn("rollup: the failed rebuild not recorded: %s", db_error(db));
	else
		log_warn("rollup: rebuild failed (%s); none is started before "
		    "stat_state.rebuild_retry_at", w);
}

/* Once per retry time and process: a check that finds a rebuild needed
 * while a failed one waits says so, not on every request. */
static void
rebuild_waits(const char *until, const char *failures, const char *why)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static char said[32];

	pthread_mutex_lock(&mu);
	if (until && strcmp(said, until) != 0) {
		lb_strlcpy(said, until, sizeof said);
		log_warn("rollup: the statistics need a rebuild, but %s failed in a row (last: %s); "
		    "the next attempt not before %s UTC", failures ? failures : "?",
		    why ? why : "?", until);
	}
	pthread_mutex_unlock(&mu);
}

/*
 * The build, the caller holding the leases on db: on connections of its
 * own, its leases renewed meanwhile, a failure recorded (rebuild_failed).
 * 0 or -1.
 */
static int
rebuild_build(struct db *db, const struct conf *c, const char *fp, const char *exclude,
    const char *repos, int late)
{
	struct db *lockdb = NULL, *db2 = NULL, *bdb = NULL;
	struct renewer w;
	pthread_t th;
	char err[256];
	int rc = -1, renewing;

	/* The build runs on connections of its own (db_open: statements as
	 * long as they take), not on the caller's, which may be bounded (lb-api:
	 * lib/db.h); the caller's holds the leases. The build's work tables
	 * (MEMORY, TEMPORARY) live on one node: both build connections stay on
	 * the node of the caller's. */
	lockdb = db_open(c, err, sizeof err);
	bdb = lockdb ? db_open_pinned(c, db, err, sizeof err) : NULL;
	if (bdb == NULL) {
		rebuild_failed(db, err);
		goto out;
	}
	if (db_exec_text(bdb, SET_BIG, strlen(SET_BIG)) == 0) {
		/* another connection builds half of the tables at the same time */
		db2 = db_open_pinned(c, bdb, err, sizeof err);
		if (db2 && db_exec_text(db2, SET_BIG, strlen(SET_BIG)) < 0) {
			db_close(db2);
			db2 = NULL;
		}
		if (!(renewing = renewer_start(&w, &th, db) == 0))
			log_warn("rollup: no thread to renew the rebuild's leases: they expire "
			    "after %ld s", rebuild_lease());
		rc = rebuild_locked(bdb, lockdb, db2, c, fp, exclude, repos, late);
		if (renewing)
			renewer_stop(&w, th);
	}
	if (rc < 0)
		rebuild_failed(db, db_errno(bdb) ? db_error(bdb) : db_errno(lockdb) ?
		    db_error(lockdb) : db2 && db_errno(db2) ? db_error(db2) : NULL);
out:
	if (bdb)
		db_close(bdb);
	if (lockdb)
		db_close(lockdb);
	if (db2)
		db_close(db2);
	return rc;
}

/*
 * A rebuild of more PRs than this is not run by a request that must answer
 * soon (rollup_check_soon): about 8 s here (1M PRs take 164 s), well within
 * nginx's read timeout for the API. For tests, LB_TEST_REBUILD_INLINE (0
 * and up) replaces it. (Read on every call, as rebuild_lease().)
 */
#define REBUILD_INLINE_PRS 50000

static long long
rebuild_inline_prs(void)
{
	const char *v = getenv("LB_TEST_REBUILD_INLINE");
	long long n = v ? strtoll(v, NULL, 10) : -1;

	return n >= 0 ? n : REBUILD_INLINE_PRS;
}

/* 1 when the rebuild is too large to run before an answer: the rollups
 * were built once (answers can come from them meanwhile), no rebuild runs
 * (the caller would skip it at once: not logged again by every check of
 * every worker while one runs) and pull_requests holds more than
 * rebuild_inline_prs() rows (InnoDB's estimate: the rebuild reads them
 * all). 0, or -1. */
static int
rebuild_large(struct db *db, const char *built_at)
{
	struct db_res *r;
	long long rows, running;

	if (built_at == NULL)
		return 0;
	if (db_query(db, &r, "SELECT (SELECT COALESCE(MAX(TABLE_ROWS), 0) "
	    "FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
	    "AND TABLE_NAME = 'pull_requests'), EXISTS (SELECT 1 FROM leases "
	    "WHERE name = 'rollup' AND owner IS NOT NULL AND expires_at > NOW(6))", "") < 0)
		return -1;
	rows = db_getll(r, 0, 0, 0);
	running = db_getll(r, 0, 1, 0);
	db_res_free(r);
	if (running || rows <= rebuild_inline_prs())
		return 0;
	log_info("rollup: the statistics need a rebuild of about %lld PRs: it runs after this "
	    "answer, which comes from the rollups as they are", rows);
	return 1;
}

/* rollup_check(); with later set, a large rebuild is left to the caller
 * (*later = 1) instead of run */
static int
check_as(struct db *db, const struct conf *c, int force, int *rebuilt, int *later)
{
	char fp[17], exclude[4096], repos[8192];
	struct buf rb = BUF_INIT;
	struct db_res *st = NULL, *live = NULL;
	int need, rc = -1, locked = 0, big;

	*rebuilt = 0;
	rollup_configure(c);
	rollup_config_fp(c, fp);
	if (rollup_exclude_list(c, exclude, sizeof exclude) < 0) {
		log_error("rollup: exclude_teams list too long");
		return -1;
	}
	if (db_query(db, &st, "SELECT config_fp, unranked_sig, "
	    "(SELECT mem_sig FROM stat_state WHERE id = 2), rebuild_retry_at > UTC_TIMESTAMP(6), "
	    "DATE_FORMAT(rebuild_retry_at, '%Y-%m-%d %H:%i:%s'), rebuild_failures, rebuild_error, "
	    "built_at FROM stat_state WHERE id = 1", "") < 0 ||
	    db_query(db, &live, LIVE_SQL, "s", exclude) < 0)
		goto out;
	if (st->nrows != 1) {
		log_error("rollup: stat_state has no row (migration 004 missing?)");
		goto out;
	}
	need = force || strcmp(db_get(st, 0, 0), fp) != 0 ||
	    strcmp(db_get(st, 0, 1), db_get(live, 0, 0)) != 0 ||
	    strcmp(db_get(st, 0, 2) ? db_get(st, 0, 2) : "", db_get(live, 0, 1)) != 0;
	if (!need) {
		rc = 0;
		goto out;
	}
	if (db_getll(st, 0, 3, 0) == 1 && force != ROLLUP_FORCE_NOW) {	/* failed: not yet again */
		rebuild_waits(db_get(st, 0, 4), db_get(st, 0, 5), db_get(st, 0, 6));
		rc = 0;
		goto out;
	}
	if (later && (big = rebuild_large(db, db_get(st, 0, 7))) != 0) {
		*later = big == 1;
		rc = big < 0 ? -1 : 0;
		goto out;
	}
	if ((locked = rebuild_leases(db)) <= 0) {
		rc = locked;	/* 0: another process rebuilds or folds */
		locked = 0;
		goto out;
	}
	if (list_join(&c->repositories, &rb) < 0 || rb.len >= sizeof repos) {
		log_error("rollup: repositories list too long");
		goto out;
	}
	lb_strlcpy(repos, rb.data ? rb.data : "", sizeof repos);
	log_info("rollup: rebuilding statistics (config %s, was %s; teams %s, was %s; "
	    "memberships %s, was %s)", fp, db_get(st, 0, 0), db_get(live, 0, 0), db_get(st, 0, 1),
	    db_get(live, 0, 1), db_get(st, 0, 2) ? db_get(st, 0, 2) : "");
	if (rebuild_build(db, c, fp, exclude, repos, force != ROLLUP_FORCE_IMPORT) < 0)
		goto out;
	*rebuilt = 1;
	rc = 0;
out:
	if (locked) {
		lease_drop(db, "fold");
		lease_drop(db, "rollup");
	}
	buf_free(&rb);
	db_res_free(st);
	db_res_free(live);
	return rc;
}

int
rollup_check(struct db *db, const struct conf *c, int force, int *rebuilt)
{
	return check_as(db, c, force, rebuilt, NULL);
}

int
rollup_check_soon(struct db *db, const struct conf *c, int *rebuilt, int *later)
{
	*later = 0;
	return check_as(db, c, 0, rebuilt, later);
}

/* PRs of an import that stopped (sql/020: none stored in the last 10
 * minutes) are counted by a rebuild. */
int
rollup_import_check(struct db *db, const struct conf *c, int *rebuilt)
{
	struct db_res *r;
	int stale, first;

	*rebuilt = 0;
	if (db_query(db, &r, "SELECT MAX(at) < UTC_TIMESTAMP(6) - INTERVAL 10 MINUTE "
	    "FROM stat_import", "") < 0)
		return -1;
	stale = db_getll(r, 0, 0, 0) == 1;
	db_res_free(r);
	if (!stale)
		return 0;
	/* a first import (no PR of a repository whose walk completed once)
	 * fills settled months: not late changes (late_worthy's rule) */
	if (db_query(db, &r, "SELECT EXISTS (SELECT 1 FROM stat_import i "
	    "JOIN pull_requests p ON p.id = i.pr_id JOIN repositories rp ON rp.id = p.repo_id "
	    "JOIN sync_state ss ON ss.name = CONCAT('prs:', rp.full_name) "
	    "WHERE ss.watermark IS NOT NULL)", "") < 0)
		return -1;
	first = db_getll(r, 0, 0, 1) == 0;
	db_res_free(r);
	log_info("rollup: PRs of an import that stopped wait in stat_import: rebuilding");
	return rollup_check(db, c, first ? ROLLUP_FORCE_IMPORT : ROLLUP_FORCE, rebuilt);
}
