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
#include "log.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

void
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

/* ------------------------------------------------------------ the lock */

/* Takes the stat_state row lock; *exclude gets the excluded slugs. */
static int
lock_state(struct db *db, char *exclude, size_t len)
{
	struct db_res *r;

	if (db_query(db, &r, "SELECT exclude_teams FROM stat_state WHERE id = 1 FOR UPDATE",
	    "") < 0)
		return -1;
	if (exclude)
		lb_strlcpy(exclude, r->nrows ? (db_get(r, 0, 0) ? db_get(r, 0, 0) : "") : "", len);
	db_res_free(r);
	return 0;
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

enum { T_COUNTS, T_LABELS, T_AUTHORS, T_REPOS };
enum { V_CREATED, V_MERGED, V_REJECTED, V_OPEN, V_PARTNER, V_OSS };

struct delta {
	int table;
	char grain;
	char bucket[11];
	unsigned kind;
	unsigned long long scope, author, repo;
	const char *label;
	long long v[6];
};

struct deltas {
	struct delta *d;
	size_t n, cap;
};

static int
same_key(const struct delta *a, const struct delta *b)
{
	return a->table == b->table && a->grain == b->grain && strcmp(a->bucket, b->bucket) == 0 &&
	    a->kind == b->kind && a->scope == b->scope && a->author == b->author &&
	    a->repo == b->repo && (a->label == b->label ||
	    (a->label && b->label && strcasecmp(a->label, b->label) == 0));
}

static int
add(struct deltas *ds, const struct delta *k, int field, long long v)
{
	for (size_t i = 0; i < ds->n; i++)
		if (same_key(&ds->d[i], k)) {
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

static const char grains[4] = { 'A', 'Y', 'Q', 'M' };

static void
bucket_of(char grain, const char *when, char out[11])
{
	int y = (int)strtol(when, NULL, 10);
	int m = (int)strtol(when + 5, NULL, 10);

	switch (grain) {
	case 'Y': (void)lb_snprintf(out, 11, "%04d-01-01", y); break;
	case 'Q': (void)lb_snprintf(out, 11, "%04d-%02d-01", y, (m - 1) / 3 * 3 + 1); break;
	case 'M': (void)lb_snprintf(out, 11, "%04d-%02d-01", y, m); break;
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
		for (int g = 0; g < 4; g++) {
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
	for (int i = 0; i < 6; i++)
		if (d->v[i])
			return 1;
	return 0;
}

static int
apply_author(struct db *db, const struct delta *d)
{
	struct db_res *r;
	long long o[3] = { 0, 0, 0 }, n[3];
	int had, has;

	if (db_query(db, &r,
	    "SELECT created, merged, rejected FROM stat_authors WHERE grain = ? AND bucket = ? "
	    "AND kind = ? AND scope_id = ? AND author_id = ? FOR UPDATE",
	    "ssiuu", (char[2]){ d->grain, 0 }, d->bucket, (long long)d->kind, d->scope,
	    d->author) < 0)
		return -1;
	if (r->nrows == 1)
		for (int i = 0; i < 3; i++)
			o[i] = db_getll(r, 0, (size_t)i, 0);
	db_res_free(r);
	for (int i = 0; i < 3; i++)
		n[i] = o[i] + d->v[i];
	had = o[0] || o[1] || o[2];
	has = n[0] || n[1] || n[2];
	if (!has) {
		if (db_exec(db, "DELETE FROM stat_authors WHERE grain = ? AND bucket = ? "
		    "AND kind = ? AND scope_id = ? AND author_id = ?",
		    "ssiuu", (char[2]){ d->grain, 0 }, d->bucket, (long long)d->kind, d->scope,
		    d->author) < 0)
			return -1;
	} else if (db_exec(db,
	    "INSERT INTO stat_authors (grain, bucket, kind, scope_id, author_id, created, merged, "
	    "rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
	    "created = VALUES(created), merged = VALUES(merged), rejected = VALUES(rejected)",
	    "ssiuuiii", (char[2]){ d->grain, 0 }, d->bucket, (long long)d->kind, d->scope,
	    d->author, n[0], n[1], n[2]) < 0)
		return -1;
	if (had != has || (o[0] > 0) != (n[0] > 0)) {
		long long dm = (long long)has - had, dc = (long long)(n[0] > 0) - (o[0] > 0);
		if (db_exec(db,
		    "INSERT INTO stat_counts (grain, bucket, kind, scope_id, members, contributors) "
		    "VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
		    "members = members + VALUES(members), contributors = contributors + VALUES(contributors)",
		    "ssiuii", (char[2]){ d->grain, 0 }, d->bucket, (long long)d->kind, d->scope,
		    dm, dc) < 0)
			return -1;
	}
	return 0;
}

static int
apply(struct db *db, const struct delta *d)
{
	char g[2] = { d->grain, 0 };
	int neg = 0;

	for (int i = 0; i < 6; i++)
		neg |= d->v[i] < 0;
	switch (d->table) {
	case T_COUNTS:
		return db_exec(db,
		    "INSERT INTO stat_counts (grain, bucket, kind, scope_id, created, merged, rejected, "
		    "open, partner_created, oss_created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
		    "ON DUPLICATE KEY UPDATE created = created + VALUES(created), "
		    "merged = merged + VALUES(merged), rejected = rejected + VALUES(rejected), "
		    "open = open + VALUES(open), partner_created = partner_created + VALUES(partner_created), "
		    "oss_created = oss_created + VALUES(oss_created)",
		    "ssiuiiiiii", g, d->bucket, (long long)d->kind, d->scope, d->v[0], d->v[1],
		    d->v[2], d->v[3], d->v[4], d->v[5]);
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
	case T_AUTHORS:
		return apply_author(db, d);
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

/* stat_first of one author in one scope, from stat_pr / stat_pr_scope. */
static int
refresh_first(struct db *db, unsigned kind, unsigned long long scope, unsigned long long author)
{
	struct db_res *r;
	int rc;

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
		rc = db_exec(db,
		    "INSERT INTO stat_first (kind, scope_id, author_id, first_created) "
		    "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE first_created = VALUES(first_created)",
		    "iuus", (long long)kind, scope, author, db_get(r, 0, 0));
	db_res_free(r);
	return rc;
}

static int
firsts(struct db *db, const struct contrib *c)
{
	if (!c->counted)
		return 0;
	if (refresh_first(db, 2, 0, c->author) < 0)
		return -1;
	for (size_t i = 0; i < c->nteams; i++)
		if (refresh_first(db, 0, c->teams[i], c->author) < 0)
			return -1;
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
	if (db_exec(db, "INSERT INTO stat_pr_scope (pr_id, kind, scope_id) VALUES (?, 2, 0)",
	    "u", pr_id) < 0)
		return -1;
	if (c->nteams && db_exec(db,
	    "INSERT INTO stat_pr_scope (pr_id, kind, scope_id) VALUES (?, 1, 0)", "u", pr_id) < 0)
		return -1;
	for (size_t i = 0; i < c->nteams; i++)
		if (db_exec(db, "INSERT INTO stat_pr_scope (pr_id, kind, scope_id) VALUES (?, 0, ?)",
		    "uu", pr_id, c->teams[i]) < 0)
			return -1;
	for (size_t i = 0; i < c->nlabels; i++)
		if (db_exec(db, "INSERT IGNORE INTO stat_pr_label (pr_id, label) VALUES (?, ?)",
		    "us", pr_id, c->labels[i]) < 0)
			return -1;
	return 0;
}

/* Move one PR from its stored to its current contribution. */
static int
reroll(struct db *db, unsigned long long pr_id, const char *exclude, int *changed)
{
	struct contrib *o = malloc(sizeof *o), *n = malloc(sizeof *n);
	struct deltas ds = { NULL, 0, 0 };
	int rc = -1;

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
	/* counters first, then the authors (their transitions adjust members) */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ds.n; i++) {
			if ((ds.d[i].table == T_AUTHORS) != pass || !nonzero(&ds.d[i]))
				continue;
			if (apply(db, &ds.d[i]) < 0)
				goto out;
		}
	if (store_contrib(db, pr_id, n) < 0 || firsts(db, o) < 0 || firsts(db, n) < 0)
		goto out;
	*changed = 1;
	rc = 0;
out:
	free(ds.d);
	free(o);
	free(n);
	return rc;
}

static int
bump(struct db *db)
{
	return db_exec(db, "UPDATE stat_state SET version = version + 1 WHERE id = 1", "");
}

/* ----------------------------------------------------------------- hooks */

int
rollup_pr_before(struct db *db, unsigned long long pr_id)
{
	(void)db;
	(void)pr_id;
	return 0;
}

int
rollup_pr_after(struct db *db, unsigned long long pr_id)
{
	char exclude[4096];
	int changed = 0;

	if (lock_state(db, exclude, sizeof exclude) < 0 ||
	    reroll(db, pr_id, exclude, &changed) < 0)
		return -1;
	return changed ? bump(db) : 0;
}

int
rollup_user_before(struct db *db, unsigned long long user_id)
{
	(void)user_id;
	return lock_state(db, NULL, 0);
}

int
rollup_user_after(struct db *db, unsigned long long user_id)
{
	char exclude[4096];
	struct db_res *r;
	int changed = 0, rc = 0;

	if (lock_state(db, exclude, sizeof exclude) < 0)
		return -1;
	if (db_query(db, &r, "SELECT id FROM pull_requests WHERE author_id = ?", "u", user_id) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows && rc == 0; i++)
		rc = reroll(db, strtoull(db_get(r, i, 0), NULL, 10), exclude, &changed);
	db_res_free(r);
	if (rc < 0)
		return -1;
	/* what the rollups now know of memberships (a locking read sees the
	 * latest committed rows; writers are serialized by the lock above) */
	if (db_query(db, &r, "SELECT CONCAT(COUNT(*), '/', COALESCE(DATE_FORMAT(MAX(updated_at), "
	    "'%Y-%m-%d %H:%i:%s.%f'), '')) FROM memberships LOCK IN SHARE MODE", "") < 0)
		return -1;
	rc = db_exec(db, "UPDATE stat_state SET mem_sig = ?, version = version + 1 WHERE id = 1",
	    "s", db_get(r, 0, 0));
	db_res_free(r);
	return rc;
}

/* --------------------------------------------------------------- rebuild */

#define EVENTS(cols_c, cols_m, cols_r) \
	"(SELECT pr_id, author_id, repo_id, created_at AS at, " cols_c " FROM stat_pr " \
	" UNION ALL SELECT pr_id, author_id, repo_id, merged_at, " cols_m " FROM stat_pr " \
	"  WHERE merged_at IS NOT NULL " \
	" UNION ALL SELECT pr_id, author_id, repo_id, rejected_at, " cols_r " FROM stat_pr " \
	"  WHERE rejected_at IS NOT NULL) e "

#define ROLL_BUCKET(g) \
	(g == 'Q' ? "MAKEDATE(YEAR(bucket), 1) + INTERVAL (QUARTER(bucket) - 1) QUARTER" : \
	 g == 'Y' ? "MAKEDATE(YEAR(bucket), 1)" : "DATE '1970-01-01'")

static const char *const rebuild_sql[] = {
	"DELETE FROM stat_pr",
	"DELETE FROM stat_pr_scope",
	"DELETE FROM stat_pr_label",
	"DELETE FROM stat_counts",
	"DELETE FROM stat_labels",
	"DELETE FROM stat_authors",
	"DELETE FROM stat_repos",
	"DELETE FROM stat_first",
	"INSERT INTO stat_pr (pr_id, author_id, repo_id, partner, created_at, merged_at, "
	"rejected_at, open) SELECT p.id, p.author_id, p.repo_id, r.partner_owned, p.created_at, "
	"IF(p.merged = 1, p.merged_at, NULL), "
	"IF(p.state = 'closed' AND p.merged = 0, p.closed_at, NULL), p.state = 'open' "
	"FROM pull_requests p JOIN repositories r ON r.id = p.repo_id "
	"JOIN users u ON u.id = p.author_id WHERE r.tracked = 1 AND u.type <> 'Bot'",
	/* 9: team attribution, two parameters: the excluded slugs */
	"INSERT INTO stat_pr_scope (pr_id, kind, scope_id) "
	"SELECT DISTINCT s.pr_id, 0, m.team_id FROM stat_pr s "
	"JOIN memberships m ON m.user_id = s.author_id "
	" AND (m.started_at IS NULL OR m.started_at <= s.created_at) "
	" AND (m.ended_at IS NULL OR m.ended_at > s.created_at) "
	"JOIN teams t ON t.id = m.team_id AND t.deleted_at IS NULL AND FIND_IN_SET(t.slug, ?) = 0 "
	"WHERE NOT EXISTS (SELECT 1 FROM memberships x JOIN teams xt ON xt.id = x.team_id "
	" WHERE x.user_id = s.author_id AND FIND_IN_SET(xt.slug, ?) > 0 "
	" AND (x.started_at IS NULL OR x.started_at <= s.created_at) "
	" AND (x.ended_at IS NULL OR x.ended_at > s.created_at))",
	"INSERT INTO stat_pr_scope (pr_id, kind, scope_id) "
	"SELECT DISTINCT pr_id, 1, 0 FROM stat_pr_scope WHERE kind = 0",
	"INSERT INTO stat_pr_scope (pr_id, kind, scope_id) SELECT pr_id, 2, 0 FROM stat_pr",
	"INSERT IGNORE INTO stat_pr_label (pr_id, label) SELECT pl.pr_id, l.name "
	"FROM pr_labels pl JOIN labels l ON l.id = pl.label_id JOIN stat_pr s ON s.pr_id = pl.pr_id",
	/* months */
	"INSERT INTO stat_counts (grain, bucket, kind, scope_id, created, merged, rejected, open, "
	"partner_created, oss_created) "
	"SELECT 'M', DATE_FORMAT(e.at, '%Y-%m-01'), sc.kind, sc.scope_id, SUM(e.c), SUM(e.m), "
	"SUM(e.r), SUM(e.o), SUM(e.pc), SUM(e.oc) FROM "
	EVENTS("1 AS c, 0 AS m, 0 AS r, open AS o, partner AS pc, 1 - partner AS oc",
	    "0, 1, 0, 0, 0, 0", "0, 0, 1, 0, 0, 0")
	"JOIN stat_pr_scope sc ON sc.pr_id = e.pr_id GROUP BY 2, 3, 4",
	"INSERT INTO stat_authors (grain, bucket, kind, scope_id, author_id, created, merged, rejected) "
	"SELECT 'M', DATE_FORMAT(e.at, '%Y-%m-01'), sc.kind, sc.scope_id, e.author_id, SUM(e.c), "
	"SUM(e.m), SUM(e.r) FROM "
	EVENTS("1 AS c, 0 AS m, 0 AS r", "0, 1, 0", "0, 0, 1")
	"JOIN stat_pr_scope sc ON sc.pr_id = e.pr_id GROUP BY 2, 3, 4, 5",
	"INSERT INTO stat_repos (grain, bucket, team_id, author_id, repo_id, created, merged, rejected) "
	"SELECT 'M', DATE_FORMAT(e.at, '%Y-%m-01'), sc.scope_id, e.author_id, e.repo_id, SUM(e.c), "
	"SUM(e.m), SUM(e.r) FROM "
	EVENTS("1 AS c, 0 AS m, 0 AS r", "0, 1, 0", "0, 0, 1")
	"JOIN stat_pr_scope sc ON sc.pr_id = e.pr_id AND sc.kind = 0 GROUP BY 2, 3, 4, 5",
	"INSERT INTO stat_labels (grain, bucket, kind, scope_id, label, n) "
	"SELECT 'M', DATE_FORMAT(s.merged_at, '%Y-%m-01'), sc.kind, sc.scope_id, pl.label, COUNT(*) "
	"FROM stat_pr s JOIN stat_pr_label pl ON pl.pr_id = s.pr_id "
	"JOIN stat_pr_scope sc ON sc.pr_id = s.pr_id WHERE s.merged_at IS NOT NULL GROUP BY 2, 3, 4, 5",
	NULL
};

static int
roll_up(struct db *db, char g)
{
	struct buf b = BUF_INIT;
	const char *bk = ROLL_BUCKET(g);
	int rc = 0;

	/* each grain from the months */
	if (buf_printf(&b,
	    "INSERT INTO stat_counts (grain, bucket, kind, scope_id, created, merged, rejected, open, "
	    "partner_created, oss_created) SELECT '%c', %s, kind, scope_id, SUM(created), SUM(merged), "
	    "SUM(rejected), SUM(open), SUM(partner_created), SUM(oss_created) FROM stat_counts "
	    "WHERE grain = 'M' GROUP BY 2, 3, 4", g, bk) < 0 ||
	    db_exec(db, b.data, "") < 0)
		rc = -1;
	buf_reset(&b);
	if (rc == 0 && (buf_printf(&b,
	    "INSERT INTO stat_authors (grain, bucket, kind, scope_id, author_id, created, merged, "
	    "rejected) SELECT '%c', %s, kind, scope_id, author_id, SUM(created), SUM(merged), "
	    "SUM(rejected) FROM stat_authors WHERE grain = 'M' GROUP BY 2, 3, 4, 5", g, bk) < 0 ||
	    db_exec(db, b.data, "") < 0))
		rc = -1;
	buf_reset(&b);
	if (rc == 0 && (buf_printf(&b,
	    "INSERT INTO stat_repos (grain, bucket, team_id, author_id, repo_id, created, merged, "
	    "rejected) SELECT '%c', %s, team_id, author_id, repo_id, SUM(created), SUM(merged), "
	    "SUM(rejected) FROM stat_repos WHERE grain = 'M' GROUP BY 2, 3, 4, 5", g, bk) < 0 ||
	    db_exec(db, b.data, "") < 0))
		rc = -1;
	buf_reset(&b);
	if (rc == 0 && (buf_printf(&b,
	    "INSERT INTO stat_labels (grain, bucket, kind, scope_id, label, n) "
	    "SELECT '%c', %s, kind, scope_id, label, SUM(n) FROM stat_labels WHERE grain = 'M' "
	    "GROUP BY 2, 3, 4, 5", g, bk) < 0 ||
	    db_exec(db, b.data, "") < 0))
		rc = -1;
	buf_free(&b);
	return rc;
}

int
rollup_rebuild(struct db *db)
{
	char exclude[4096];
	struct db_res *r;
	int rc;

	if (lock_state(db, exclude, sizeof exclude) < 0)
		return -1;
	for (size_t i = 0; rebuild_sql[i]; i++) {
		if (i == 9)
			rc = db_exec(db, rebuild_sql[i], "ss", exclude, exclude);
		else
			rc = db_exec(db, rebuild_sql[i], "");
		if (rc < 0) {
			log_error("rollup rebuild: statement %zu: %s", i, db_error(db));
			return -1;
		}
	}
	if (roll_up(db, 'Q') < 0 || roll_up(db, 'Y') < 0 || roll_up(db, 'A') < 0)
		return -1;
	if (db_exec(db,
	    "UPDATE stat_counts c JOIN (SELECT grain, bucket, kind, scope_id, COUNT(*) AS n, "
	    "SUM(created > 0) AS k FROM stat_authors GROUP BY grain, bucket, kind, scope_id) a "
	    "USING (grain, bucket, kind, scope_id) SET c.members = a.n, c.contributors = a.k", "") < 0)
		return -1;
	if (db_exec(db, "INSERT INTO stat_first (kind, scope_id, author_id, first_created) "
	    "SELECT 2, 0, author_id, MIN(created_at) FROM stat_pr GROUP BY author_id", "") < 0 ||
	    db_exec(db, "INSERT INTO stat_first (kind, scope_id, author_id, first_created) "
	    "SELECT 0, sc.scope_id, s.author_id, MIN(s.created_at) FROM stat_pr s "
	    "JOIN stat_pr_scope sc ON sc.pr_id = s.pr_id AND sc.kind = 0 "
	    "GROUP BY sc.scope_id, s.author_id", "") < 0)
		return -1;
	if (db_query(db, &r, "SELECT (" "SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(id), 0), ':', "
	    "COALESCE(BIT_XOR(CRC32(id)), 0)) FROM teams WHERE deleted_at IS NOT NULL "
	    "OR FIND_IN_SET(slug, ?) > 0), (SELECT CONCAT(COUNT(*), '/', "
	    "COALESCE(DATE_FORMAT(MAX(updated_at), '%Y-%m-%d %H:%i:%s.%f'), '')) FROM memberships)",
	    "s", exclude) < 0)
		return -1;
	rc = db_exec(db, "UPDATE stat_state SET version = version + 1, unranked_sig = ?, "
	    "mem_sig = ?, built_at = UTC_TIMESTAMP(6) WHERE id = 1",
	    "ss", db_get(r, 0, 0), db_get(r, 0, 1));
	db_res_free(r);
	return rc;
}

/* ----------------------------------------------------------------- check */

#define SET_BIG "SET SESSION tmp_table_size = 1073741824, max_heap_table_size = 1073741824"
#define SET_SMALL "SET SESSION tmp_table_size = DEFAULT, max_heap_table_size = DEFAULT"

int
rollup_check(struct db *db, const struct conf *c, int force, int *rebuilt)
{
	char fp[17], exclude[4096], repos[8192];
	struct buf rb = BUF_INIT;
	struct db_res *st = NULL, *live = NULL, *lk = NULL;
	int need, rc = -1, locked = 0;

	*rebuilt = 0;
	rollup_config_fp(c, fp);
	if (rollup_exclude_list(c, exclude, sizeof exclude) < 0) {
		log_error("rollup: exclude_teams list too long");
		return -1;
	}
	if (db_query(db, &st, "SELECT config_fp, unranked_sig, mem_sig FROM stat_state WHERE id = 1",
	    "") < 0 || db_query(db, &live, "SELECT (" "SELECT CONCAT(COUNT(*), ':', "
	    "COALESCE(SUM(id), 0), ':', COALESCE(BIT_XOR(CRC32(id)), 0)) FROM teams "
	    "WHERE deleted_at IS NOT NULL OR FIND_IN_SET(slug, ?) > 0), (SELECT CONCAT(COUNT(*), '/', "
	    "COALESCE(DATE_FORMAT(MAX(updated_at), '%Y-%m-%d %H:%i:%s.%f'), '')) FROM memberships)",
	    "s", exclude) < 0)
		goto out;
	if (st->nrows != 1) {
		log_error("rollup: stat_state has no row (migration 004 missing?)");
		goto out;
	}
	need = force || strcmp(db_get(st, 0, 0), fp) != 0 ||
	    strcmp(db_get(st, 0, 1), db_get(live, 0, 0)) != 0 ||
	    strcmp(db_get(st, 0, 2), db_get(live, 0, 1)) != 0;
	if (!need) {
		rc = 0;
		goto out;
	}
	if (db_query(db, &lk, "SELECT GET_LOCK('leaderboard.rollup', 0)", "") < 0)
		goto out;
	locked = db_getll(lk, 0, 0, 0) == 1;
	if (!locked) {
		rc = 0;		/* another process rebuilds */
		goto out;
	}
	if (list_join(&c->repositories, &rb) < 0 || rb.len >= sizeof repos) {
		log_error("rollup: repositories list too long");
		goto out;
	}
	lb_strlcpy(repos, rb.data ? rb.data : "", sizeof repos);
	log_info("rollup: rebuilding statistics (config %s, was %s; teams %s, was %s; "
	    "memberships %s, was %s)", fp, db_get(st, 0, 0), db_get(live, 0, 0), db_get(st, 0, 1),
	    db_get(live, 0, 1), db_get(st, 0, 2));
	/* big GROUP BYs: keep their temporary tables in memory */
	if (db_exec_text(db, SET_BIG, strlen(SET_BIG)) < 0 ||
	    db_exec_text(db, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
	    strlen("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")) < 0 || db_begin(db) < 0)
		goto out;
	if (lock_state(db, NULL, 0) < 0 ||
	    db_exec(db, "UPDATE repositories SET tracked = FIND_IN_SET(full_name, ?) > 0, "
	    "partner_owned = (owner_login = ?)", "ss", repos,
	    c->partner_org ? c->partner_org : "") < 0 ||
	    db_exec(db, "UPDATE stat_state SET exclude_teams = ?, config_fp = ? WHERE id = 1",
	    "ss", exclude, fp) < 0 ||
	    rollup_rebuild(db) < 0 || db_commit(db) < 0) {
		log_error("rollup: rebuild failed: %s", db_error(db));
		db_rollback(db);
		goto out;
	}
	*rebuilt = 1;
	rc = 0;
out:
	if (locked)
		(void)db_exec_text(db, SET_SMALL, strlen(SET_SMALL));
	if (locked) {
		struct db_res *rl = NULL;
		if (db_query(db, &rl, "SELECT RELEASE_LOCK('leaderboard.rollup')", "") == 0)
			db_res_free(rl);
	}
	buf_free(&rb);
	db_res_free(lk);
	db_res_free(st);
	db_res_free(live);
	return rc;
}
