/*
 * store — the one write path into the normalized tables (see store.h for
 * the contract). Every object is validated completely before the first
 * write, so STORE_EBADINPUT never leaves a partial change behind inside the
 * caller's transaction. Strings are cut (at a UTF-8 character boundary) to
 * the width of their column, so a long title never fails a delivery.
 */
#include "store.h"
#include "buf.h"
#include "conf.h"
#include "date.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "rollup.h"
#include "utf8.h"

#include <mysqld_error.h>
#include <openssl/evp.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#define MAX_LABELS 100	/* GitHub allows 100 labels per issue */

/* ---------------------------------------------------------------- times */

void
store_now(char *out, size_t outlen)
{
	struct timeval tv;
	char sec[32];

	gettimeofday(&tv, NULL);
	date_sql(tv.tv_sec, sec, sizeof sec);
	(void)lb_snprintf(out, outlen, "%s.%06ld", sec, (long)tv.tv_usec);
}

/* ------------------------------------------------------------ validation */

/* A string-or-null field: 0 and *out (NULL for absent/null), -1 wrong type. */
static int
opt_str(json_val o, const char *key, const char **out)
{
	json_val v = json_get(o, key, NULL);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string(v);
	return 0;
}

/* Required GitHub id: a positive integer. */
static int
req_id(json_val o, const char *key, unsigned long long *out)
{
	json_val v = json_get(o, key, NULL);

	if (!json_is_integer(v) || json_integer(v) <= 0)
		return -1;
	*out = (unsigned long long)json_integer(v);
	return 0;
}

/* Optional count 0..UINT32_MAX: *present 0 when absent/null; -1 bad. */
static int
opt_count(json_val o, const char *key, long long *out, int *present)
{
	json_val v = json_get(o, key, NULL);

	*present = 0;
	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer(v) < 0 ||
	    json_integer(v) > (long long)UINT32_MAX)
		return -1;
	*out = json_integer(v);
	*present = 1;
	return 0;
}

/* Optional boolean: -1 absent/null, 0/1, -2 wrong type. */
static int
opt_bool(json_val o, const char *key)
{
	json_val v = json_get(o, key, NULL);

	if (v == NULL || json_is_null(v))
		return -1;
	if (json_is_true(v))
		return 1;
	if (json_is_false(v))
		return 0;
	return -2;
}

/* Optional time (string or null): out[0] = '\0' when absent; -1 bad. */
static int
opt_time(json_val o, const char *key, char *out, size_t outlen)
{
	const char *s;

	out[0] = '\0';
	if (opt_str(o, key, &s) < 0)
		return -1;
	if (s == NULL)
		return 0;
	return date_from_iso(s, out, outlen);
}

/* ------------------------------------------------------------------ users */

struct user {
	unsigned long long id;
	char login[101];
	char avatar[513];
	const char *type;	/* NULL: keep the stored one */
	char typebuf[21];
};

static int
user_parse(json_val u, struct user *out)
{
	const char *login, *avatar, *type;

	if (!json_is_object(u) || req_id(u, "id", &out->id) < 0)
		return -1;
	login = json_str(u, "login");
	if (login == NULL || *login == '\0')
		return -1;
	if (opt_str(u, "avatar_url", &avatar) < 0 || opt_str(u, "type", &type) < 0)
		return -1;
	utf8_copy(out->login, sizeof out->login, login, 100);
	utf8_copy(out->avatar, sizeof out->avatar, avatar ? avatar : "", 512);
	out->type = NULL;
	if (type && *type) {
		utf8_copy(out->typebuf, sizeof out->typebuf, type, 20);
		out->type = out->typebuf;
	}
	return 0;
}

/*
 * Rows shared by many PRs (author, repository, labels) are read first and
 * written only when something changed: an upsert takes the row's lock until
 * commit, and every delivery of the same author would queue behind it.
 */
/* Whether the stored row (found; login, avatar or '', type) equals u. */
static int
user_same(const struct user *u, int found, const char *login, const char *avatar,
    const char *type)
{
	return found && strcmp(login, u->login) == 0 &&
	    (u->avatar[0] == '\0' || strcmp(avatar, u->avatar) == 0) &&
	    (u->type == NULL || strcmp(type, u->type) == 0);
}

/* Writes u unless the stored row (as read by the caller) equals it. */
static int
user_write_known(struct db *db, const struct user *u, int found, const char *login,
    const char *avatar, const char *type)
{
	/* A change of type (User <-> Bot) changes whether all their PRs count. */
	int type_change = found && u->type && strcmp(type, u->type) != 0;

	if (user_same(u, found, login, avatar, type))
		return 0;
	if (type_change && rollup_user_before(db, u->id) < 0)
		return -1;
	if (db_exec(db,
	    "INSERT INTO users (id, login, avatar_url, type) VALUES (?, ?, ?, COALESCE(?, 'User')) "
	    "ON DUPLICATE KEY UPDATE login = VALUES(login), "
	    "avatar_url = COALESCE(VALUES(avatar_url), avatar_url), "
	    "type = COALESCE(?, type)",
	    "ussss", u->id, u->login, u->avatar[0] ? u->avatar : NULL, u->type, u->type) < 0)
		return -1;
	if (type_change && rollup_user_after(db, u->id) < 0)
		return -1;
	return 0;
}

static int
user_write(struct db *db, const struct user *u)
{
	struct db_res *r = NULL;
	int rc;

	if (db_query(db, &r, "SELECT login, IFNULL(avatar_url, ''), type FROM users WHERE id = ?",
	    "u", u->id) < 0)
		return -1;
	rc = r->nrows == 1 ?
	    user_write_known(db, u, 1, db_get(r, 0, 0), db_get(r, 0, 1), db_get(r, 0, 2)) :
	    user_write_known(db, u, 0, "", "", "");
	db_res_free(r);
	return rc;
}

int
store_user(struct db *db, json_val user)
{
	struct user u;

	if (user_parse(user, &u) < 0)
		return STORE_EBADINPUT;
	return user_write(db, &u);
}

/* ------------------------------------------------------------------ repos */

struct repo {
	unsigned long long id;
	char owner[101];
	char name[101];
	char full_name[202];
	int tracked, partner_owned, private_;
};

static int
repo_parse(const struct conf *c, json_val r, struct repo *out)
{
	const char *name, *full, *owner;
	json_val o;
	int priv;

	if (!json_is_object(r) || req_id(r, "id", &out->id) < 0)
		return -1;
	name = json_str(r, "name");
	full = json_str(r, "full_name");
	o = json_get(r, "owner", NULL);
	owner = json_is_object(o) ? json_str(o, "login") : NULL;
	if (name == NULL || *name == '\0' || (full == NULL && owner == NULL))
		return -1;
	priv = opt_bool(r, "private");
	if (priv == -2)
		return -1;
	utf8_copy(out->name, sizeof out->name, name, 100);
	if (owner == NULL) {	/* derive it from full_name */
		const char *slash = strchr(full, '/');
		if (slash == NULL || slash == full)
			return -1;
		if ((size_t)(slash - full) > 100)
			return -1;
		memcpy(out->owner, full, (size_t)(slash - full));
		out->owner[slash - full] = '\0';
	} else {
		if (*owner == '\0')
			return -1;
		utf8_copy(out->owner, sizeof out->owner, owner, 100);
	}
	if (full)
		utf8_copy(out->full_name, sizeof out->full_name, full, 201);
	else if (lb_snprintf(out->full_name, sizeof out->full_name, "%s/%s", out->owner,
	    out->name) < 0)
		return -1;
	out->tracked = conf_list_has(&c->repositories, out->full_name);
	out->partner_owned = c->partner_org && *c->partner_org &&
	    strcasecmp(out->owner, c->partner_org) == 0;
	out->private_ = priv == 1;
	return 0;
}

/* Runs fn over every PR of the repository (rollup after a flag change). */
static int
each_repo_pr(struct db *db, unsigned long long repo_id, int (*fn)(struct db *, unsigned long long))
{
	struct db_res *r;
	int rc = 0;

	if (db_query(db, &r, "SELECT id FROM pull_requests WHERE repo_id = ?", "u", repo_id) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows && rc == 0; i++)
		rc = fn(db, strtoull(db_get(r, i, 0), NULL, 10));
	db_res_free(r);
	return rc;
}

/* The stored row as the caller read it: columns col.. of row 0 of r are
 * tracked, partner_owned, owner_login, name, full_name, private. */
static int
repo_same(const struct repo *rp, const struct db_res *r, size_t col, int *flags_change)
{
	*flags_change = db_getll(r, 0, col, 0) != rp->tracked ||
	    db_getll(r, 0, col + 1, 0) != rp->partner_owned;
	return !*flags_change && strcmp(db_get(r, 0, col + 2), rp->owner) == 0 &&
	    strcmp(db_get(r, 0, col + 3), rp->name) == 0 &&
	    strcmp(db_get(r, 0, col + 4), rp->full_name) == 0 &&
	    db_getll(r, 0, col + 5, 0) == rp->private_;
}

/* Writes rp unless the stored row equals it (found: columns as repo_same). */
static int
repo_write_known(struct db *db, const struct repo *rp, int found, const struct db_res *r,
    size_t col)
{
	int flags_change = 0;

	if (found && repo_same(rp, r, col, &flags_change))
		return 0;	/* unchanged: no write, no lock */
	if (db_exec(db,
	    "INSERT INTO repositories (id, owner_login, name, full_name, tracked, partner_owned, private) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE owner_login = VALUES(owner_login), "
	    "name = VALUES(name), full_name = VALUES(full_name), tracked = VALUES(tracked), "
	    "partner_owned = VALUES(partner_owned), private = VALUES(private)",
	    "usssiii", rp->id, rp->owner, rp->name, rp->full_name, (long long)rp->tracked,
	    (long long)rp->partner_owned, (long long)rp->private_) < 0)
		return -1;
	/* Whether its PRs count (tracked) or how (partner_owned) changed. */
	if (flags_change && each_repo_pr(db, rp->id, rollup_pr_after) < 0)
		return -1;
	return 0;
}

static int
repo_write(struct db *db, const struct repo *rp)
{
	struct db_res *r;
	int rc;

	if (db_query(db, &r, "SELECT tracked, partner_owned, owner_login, name, full_name, private "
	    "FROM repositories WHERE id = ?", "u", rp->id) < 0)
		return -1;
	rc = repo_write_known(db, rp, r->nrows == 1, r, 0);
	db_res_free(r);
	return rc;
}

int
store_repo(struct db *db, const struct conf *c, json_val repo)
{
	struct repo rp;

	if (repo_parse(c, repo, &rp) < 0)
		return STORE_EBADINPUT;
	return repo_write(db, &rp);
}

/* ----------------------------------------------------------------- labels */

struct label {
	unsigned long long id;
	char name[256];
	char color[7];
	const char *description;	/* points into the tree, cut when written */
};

static int
label_parse(json_val l, struct label *out)
{
	const char *name, *color;

	if (!json_is_object(l) || req_id(l, "id", &out->id) < 0)
		return -1;
	name = json_str(l, "name");
	if (name == NULL || opt_str(l, "color", &color) < 0 ||
	    opt_str(l, "description", &out->description) < 0)
		return -1;
	utf8_copy(out->name, sizeof out->name, name, 255);
	utf8_copy(out->color, sizeof out->color, color ? color : "", 6);
	return 0;
}

/* ------------------------------------------------------------------- PRs */

struct pr {
	unsigned long long id;
	long long number;
	struct user author;
	struct repo repo;
	char title[1025];
	char html_url[513];
	char state[11];
	int draft, merged;
	char created[32], updated[32], closed[32], merged_at[32];
	long long cnt[6];
	int has[6];
	struct label *labels;
	size_t nlabels;
};

static const char *const count_keys[6] = {
	"additions", "deletions", "changed_files", "commits", "comments", "review_comments"
};

static int
pr_parse(const struct conf *c, json_val p, struct pr *out)
{
	const char *title, *url, *state;
	json_val base, labels;
	int b;

	memset(out, 0, sizeof *out);
	if (!json_is_object(p) || req_id(p, "id", &out->id) < 0)
		return -1;
	out->number = json_ll(p, "number", -1);
	if (out->number <= 0 || out->number > (long long)UINT32_MAX)
		return -1;
	if (user_parse(json_get(p, "user", NULL), &out->author) < 0)
		return -1;
	base = json_get(p, "base", "repo", NULL);
	if (repo_parse(c, base, &out->repo) < 0)
		return -1;
	state = json_str(p, "state");
	if (state == NULL || (strcmp(state, "open") != 0 && strcmp(state, "closed") != 0))
		return -1;
	lb_strlcpy(out->state, state, sizeof out->state);
	if (opt_str(p, "title", &title) < 0 || opt_str(p, "html_url", &url) < 0)
		return -1;
	utf8_copy(out->title, sizeof out->title, title ? title : "", 1024);
	utf8_copy(out->html_url, sizeof out->html_url, url ? url : "", 512);
	if ((b = opt_bool(p, "draft")) == -2)
		return -1;
	out->draft = b == 1;
	if (date_from_iso(json_str(p, "created_at"), out->created, sizeof out->created) < 0 ||
	    date_from_iso(json_str(p, "updated_at"), out->updated, sizeof out->updated) < 0 ||
	    opt_time(p, "closed_at", out->closed, sizeof out->closed) < 0 ||
	    opt_time(p, "merged_at", out->merged_at, sizeof out->merged_at) < 0)
		return -1;
	if ((b = opt_bool(p, "merged")) == -2)
		return -1;
	out->merged = b >= 0 ? b : out->merged_at[0] != '\0';
	for (int i = 0; i < 6; i++)
		if (opt_count(p, count_keys[i], &out->cnt[i], &out->has[i]) < 0)
			return -1;
	labels = json_get(p, "labels", NULL);
	if (labels != NULL && !json_is_null(labels)) {
		size_t i = 0;
		if (!json_is_array(labels) || (out->nlabels = json_len(labels)) > MAX_LABELS)
			return -1;
		if (out->nlabels) {
			out->labels = calloc(out->nlabels, sizeof *out->labels);
			if (out->labels == NULL)
				return -1;
		}
		JSON_EACH(l, labels)
			if (label_parse(l, &out->labels[i++]) < 0)
				return -1;
	}
	return 0;
}

static int
in_labels(const struct pr *p, unsigned long long id)
{
	for (size_t i = 0; i < p->nlabels; i++)
		if (p->labels[i].id == id)
			return 1;
	return 0;
}

/* Upsert the snapshot's label rows (labels) that differ from the stored ones. */
static int
label_rows_write(struct db *db, const struct pr *p)
{
	struct db_res *r;
	char desc[1025];

	for (size_t i = 0; i < p->nlabels; i++) {
		const struct label *l = &p->labels[i];
		int same;
		utf8_copy(desc, sizeof desc, l->description ? l->description : "", 1024);
		if (db_query(db, &r, "SELECT repo_id, name, IFNULL(color, ''), IFNULL(description, '') "
		    "FROM labels WHERE id = ?", "u", l->id) < 0)
			return -1;
		same = r->nrows == 1 && strtoull(db_get(r, 0, 0) ? db_get(r, 0, 0) : "0", NULL, 10) ==
		    p->repo.id && strcmp(db_get(r, 0, 1), l->name) == 0 &&
		    strcmp(db_get(r, 0, 2), l->color) == 0 && strcmp(db_get(r, 0, 3), desc) == 0;
		db_res_free(r);
		if (same)
			continue;
		if (db_exec(db,
		    "INSERT INTO labels (id, repo_id, name, color, description) VALUES (?, ?, ?, ?, ?) "
		    "ON DUPLICATE KEY UPDATE repo_id = VALUES(repo_id), name = VALUES(name), "
		    "color = VALUES(color), description = VALUES(description)",
		    "uusss", l->id, p->repo.id, l->name, l->color[0] ? l->color : NULL,
		    l->description ? desc : NULL) < 0)
			return -1;
	}
	return 0;
}

/* Make pr_labels equal the snapshot's set (the PR row is locked); *changed
 * when it differed. */
static int
pr_labels_write(struct db *db, const struct pr *p, int *changed)
{
	struct db_res *r;

	*changed = 0;
	if (db_query(db, &r, "SELECT label_id FROM pr_labels WHERE pr_id = ? FOR UPDATE", "u", p->id) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows; i++) {
		unsigned long long lid = strtoull(db_get(r, i, 0), NULL, 10);
		if (in_labels(p, lid))
			continue;
		if (db_exec(db, "DELETE FROM pr_labels WHERE pr_id = ? AND label_id = ?", "uu",
		    p->id, lid) < 0) {
			db_res_free(r);
			return -1;
		}
		*changed = 1;
	}
	for (size_t i = 0; i < p->nlabels; i++) {
		int have = 0;
		for (size_t k = 0; k < r->nrows && !have; k++)
			have = strtoull(db_get(r, k, 0), NULL, 10) == p->labels[i].id;
		if (have)
			continue;
		if (db_exec(db, "INSERT IGNORE INTO pr_labels (pr_id, label_id) VALUES (?, ?)", "uu",
		    p->id, p->labels[i].id) < 0) {
			db_res_free(r);
			return -1;
		}
		*changed = 1;
	}
	db_res_free(r);
	return 0;
}

static const char *
tnull(const char *t)
{
	return t[0] ? t : NULL;
}

/* Binds an optional count: 'u' with the value or 's' NULL is not possible in
 * one type string, so counts travel as strings (NULL when absent). */
static const char *
cstr(const struct pr *p, int i, char *buf, size_t len)
{
	if (!p->has[i])
		return NULL;
	(void)lb_snprintf(buf, len, "%lld", p->cnt[i]);
	return buf;
}

int
store_pr_valid(const struct conf *c, json_val pr)
{
	struct pr p;
	int rc = pr_parse(c, pr, &p) < 0 ? STORE_EBADINPUT : 0;

	free(p.labels);
	return rc;
}

/*
 * What the database holds for one snapshot, read in ONE statement without
 * locks: the PR row (with its snapshot_fp), its label ids, its author, its
 * base repository and the snapshot's first PF_LABELS label rows. Most
 * deliveries repeat a known state (review requested, synchronize, a second
 * delivery of the same change): they end here, with no write and no lock.
 */
#define PF_LABELS 8
#define TF(c) "DATE_FORMAT(" c ", '%Y-%m-%d %H:%i:%s')"
static const char PREFETCH_SQL[] =
    "SELECT p.id IS NOT NULL, " TF("p.updated_at") ", p.repo_id, p.number, p.author_id, "
    "p.title, IFNULL(p.html_url, ''), p.state, p.draft, p.merged, " TF("p.created_at") ", "
    "IFNULL(" TF("p.closed_at") ", ''), IFNULL(" TF("p.merged_at") ", ''), "
    "p.additions, p.deletions, p.changed_files, p.commits, p.comments, p.review_comments, "
    "(SELECT GROUP_CONCAT(label_id ORDER BY label_id) FROM pr_labels WHERE pr_id = p.id), "
    "u.id IS NOT NULL, u.login, IFNULL(u.avatar_url, ''), u.type, "
    "r.id IS NOT NULL, r.tracked, r.partner_owned, r.owner_login, r.name, r.full_name, r.private, "
    "(SELECT GROUP_CONCAT(CONCAT_WS(0x1f, id, IFNULL(repo_id, ''), name, IFNULL(color, ''), "
    "  MD5(IFNULL(description, ''))) ORDER BY id SEPARATOR 0x1e) "
    " FROM labels WHERE id IN (?, ?, ?, ?, ?, ?, ?, ?)), p.snapshot_fp "
    "FROM (SELECT 1 AS one) o LEFT JOIN pull_requests p ON p.id = ? "
    "LEFT JOIN users u ON u.id = ? LEFT JOIN repositories r ON r.id = ?";
enum { PF_FOUND, PF_UPDATED, PF_ROW, PF_COUNTS = 13, PF_LABELIDS = 19, PF_USER = 20,
    PF_REPO = 24, PF_LABELROWS = 31, PF_FP = 32 };

static int
cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* The snapshot's distinct label ids, ascending; their count. */
static size_t
label_ids(const struct pr *p, unsigned long long *ids)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < p->nlabels; i++)
		ids[n++] = p->labels[i].id;

	qsort(ids, n, sizeof ids[0], cmp_ull);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || ids[i] != ids[k - 1])
			ids[k++] = ids[i];
	return k;
}

/* The snapshot's first label with that id (one exists: ids come from it). */
static const struct label *
label_by_id(const struct pr *p, unsigned long long id)
{
	for (size_t k = 0; k < p->nlabels; k++)
		if (p->labels[k].id == id)
			return &p->labels[k];
	return NULL;
}

/* The stored label set ("1,5,9" or NULL) equals the snapshot's. */
static int
label_set_same(const struct pr *p, const char *stored)
{
	unsigned long long ids[MAX_LABELS];
	size_t n = label_ids(p, ids);
	struct buf b = BUF_INIT;
	int same;

	for (size_t i = 0; i < n; i++)
		if (buf_printf(&b, i ? ",%llu" : "%llu", ids[i]) < 0) {
			buf_free(&b);
			return 0;
		}
	same = strcmp(stored ? stored : "", b.data ? b.data : "") == 0;
	buf_free(&b);
	return same;
}

/* MD5 of s in lower-case hex, as MariaDB's MD5() gives it: the prefetch
 * compares descriptions by digest (a VARCHAR(1024) inside GROUP_CONCAT makes
 * MariaDB build an on-disk temporary table for every delivery). */
static void
md5_hex(const char *s, char out[33])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	out[0] = '\0';
	if (EVP_Digest(s, strlen(s), d, &len, EVP_md5(), NULL) != 1 || len != 16)
		return;
	for (unsigned i = 0; i < 16; i++) {
		out[2 * i] = "0123456789abcdef"[d[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
	}
	out[32] = '\0';
}

/* The stored label rows equal the snapshot's labels (all of them fetched:
 * at most PF_LABELS distinct ids). */
static int
label_rows_same(const struct pr *p, const char *stored)
{
	unsigned long long ids[MAX_LABELS];
	size_t n = label_ids(p, ids);
	struct buf b = BUF_INIT;
	char desc[1025], md5[33];
	int same, ok = 0;

	if (n == 0)
		return 1;
	if (n > PF_LABELS)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct label *l = label_by_id(p, ids[i]);
		utf8_copy(desc, sizeof desc, l->description ? l->description : "", 1024);
		md5_hex(desc, md5);
		ok = buf_printf(&b, "%s%llu\x1f%llu\x1f%s\x1f%s\x1f%s", i ? "\x1e" : "", l->id,
		    p->repo.id, l->name, l->color, md5);
		if (ok < 0)
			break;
	}
	same = ok == 0 && strcmp(stored ? stored : "", b.data ? b.data : "") == 0;
	buf_free(&b);
	return same;
}

/*
 * The snapshot's fingerprint (pull_requests.snapshot_fp, sql/010): MD5 over
 * every value store_pr() writes from it, labels in id order; "" when it
 * cannot be computed (never equal to a stored one).
 */
static void
pr_fingerprint(const struct pr *p, const unsigned long long *ids, size_t n, char out[33])
{
	struct buf b = BUF_INIT;
	char desc[1025];
	int ok;

	out[0] = '\0';
	ok = buf_printf(&b, "v1\x1f%llu\x1f%lld\x1f%llu\x1f%s\x1f%s\x1f%s\x1f%llu\x1f%s\x1f%s\x1f%s"
	    "\x1f%d\x1f%d\x1f%d\x1f%s\x1f%s\x1f%s\x1f%d\x1f%d\x1f%s\x1f%s\x1f%s\x1f%s",
	    p->id, p->number, p->author.id, p->author.login, p->author.avatar,
	    p->author.type ? p->author.type : "-", p->repo.id, p->repo.owner, p->repo.name,
	    p->repo.full_name, p->repo.tracked, p->repo.partner_owned, p->repo.private_,
	    p->title, p->html_url, p->state, p->draft, p->merged, p->created, p->updated,
	    p->closed, p->merged_at);
	for (int i = 0; i < 6 && ok == 0; i++)
		ok = p->has[i] ? buf_printf(&b, "\x1f%lld", p->cnt[i]) : buf_puts(&b, "\x1f-");
	for (size_t i = 0; i < n && ok == 0; i++) {
		const struct label *l = label_by_id(p, ids[i]);
		utf8_copy(desc, sizeof desc, l->description ? l->description : "", 1024);
		ok = buf_printf(&b, "\x1e%llu\x1f%s\x1f%s\x1f%s", l->id, l->name, l->color, desc);
	}
	if (ok == 0 && b.data)
		md5_hex(b.data, out);
	buf_free(&b);
}

int
store_pr_check_init(const struct conf *c, json_val pr, struct store_pr_check *check)
{
	struct pr p;
	int rc = pr_parse(c, pr, &p) < 0 ? STORE_EBADINPUT : 0;

	memset(check, 0, sizeof *check);
	if (rc == 0) {
		unsigned long long ids[MAX_LABELS];
		check->id = p.id;
		pr_fingerprint(&p, ids, label_ids(&p, ids), check->fp);
		lb_strlcpy(check->updated, p.updated, sizeof check->updated);
	}
	free(p.labels);
	return rc;
}

int
store_pr_check_known(const struct store_pr_check *check, const char *stored)
{
	const char *sp = stored ? strchr(stored, ' ') : NULL;

	if (sp == NULL || check->fp[0] == '\0')
		return 0;	/* not stored yet */
	if (strcmp(sp + 1, check->updated) > 0)
		return 1;	/* a newer snapshot is stored: store_pr() would skip this one */
	return (size_t)(sp - stored) == 32 && memcmp(stored, check->fp, 32) == 0;
}

static int
str_eq_col(const struct db_res *r, size_t col, const char *v)
{
	const char *s = db_get(r, 0, col);

	return s != NULL && strcmp(s, v) == 0;
}

/* The stored PR row (prefetched) equals the snapshot, source aside. */
static int
pr_row_same(const struct pr *p, const struct db_res *r)
{
	if (strtoull(db_get(r, 0, PF_ROW) ? db_get(r, 0, PF_ROW) : "0", NULL, 10) != p->repo.id ||
	    db_getll(r, 0, PF_ROW + 1, -1) != p->number ||
	    strtoull(db_get(r, 0, PF_ROW + 2) ? db_get(r, 0, PF_ROW + 2) : "0", NULL, 10) !=
	    p->author.id ||
	    !str_eq_col(r, PF_ROW + 3, p->title) || !str_eq_col(r, PF_ROW + 4, p->html_url) ||
	    !str_eq_col(r, PF_ROW + 5, p->state) || db_getll(r, 0, PF_ROW + 6, -1) != p->draft ||
	    db_getll(r, 0, PF_ROW + 7, -1) != p->merged ||
	    !str_eq_col(r, PF_ROW + 8, p->created) || !str_eq_col(r, PF_ROW + 9, p->closed) ||
	    !str_eq_col(r, PF_ROW + 10, p->merged_at) || !str_eq_col(r, PF_UPDATED, p->updated))
		return 0;
	for (int i = 0; i < 6; i++)	/* an absent count keeps the stored one */
		if (p->has[i] && (db_isnull(r, 0, PF_COUNTS + i) ||
		    db_getll(r, 0, PF_COUNTS + i, -1) != p->cnt[i]))
			return 0;
	return 1;
}

/*
 * GitHub numbers PRs once per repository: a stored row with the snapshot's
 * repository and number under another id is an identity GitHub no longer
 * has (a row written by hand, or from a payload GitHub did not send). The
 * snapshot wins: that row and its labels go, and its statistics follow
 * (queued). 1 when a row was removed, 0 when none conflicts, -1 on error.
 */
static int
free_number(struct db *db, const struct pr *p)
{
	struct db_res *r;
	unsigned long long other = 0;

	if (db_query(db, &r, "SELECT id FROM pull_requests WHERE repo_id = ? AND number = ? "
	    "FOR UPDATE", "ui", p->repo.id, p->number) < 0)
		return -1;
	if (r->nrows == 1)
		other = strtoull(db_get(r, 0, 0), NULL, 10);
	db_res_free(r);
	if (other == 0 || other == p->id)
		return 0;
	log_warn("pull request %s#%lld: id %llu replaces the stored id %llu", p->repo.full_name,
	    p->number, p->id, other);
	if (db_exec(db, "DELETE FROM pr_labels WHERE pr_id = ?", "u", other) < 0 ||
	    db_exec(db, "DELETE FROM pull_requests WHERE id = ?", "u", other) < 0 ||
	    rollup_queue(db, other) < 0)
		return -1;
	return 1;
}

/* ---------------------------------------------------------- PR history */

static char origin_ref[101], origin_action[65];

void
store_origin(const char *ref, const char *action)
{
	lb_strlcpy(origin_ref, ref ? ref : "", sizeof origin_ref);
	lb_strlcpy(origin_action, action ? action : "", sizeof origin_action);
}

/* One row of pr_history (sql/012) per snapshot that changed something. */
static int
history(struct db *db, const struct pr *p, const char *source, int inserted)
{
	return db_exec(db, "INSERT INTO pr_history (pr_id, changed_at, source, ref, action, "
	    "change_kind, state, merged, updated_at) VALUES (?, UTC_TIMESTAMP(6), ?, ?, ?, ?, ?, ?, ?)",
	    "usssssis", p->id, source, origin_ref[0] ? origin_ref : NULL,
	    origin_action[0] ? origin_action : NULL, inserted ? "inserted" : "updated", p->state,
	    (long long)p->merged, p->updated);
}

/* One store_pr() call: the parsed snapshot and what its statements bind. */
struct pr_w {
	struct pr          p;
	unsigned long long ids[MAX_LABELS];	/* its distinct label ids, ascending */
	size_t             nl;
	char               fp[33], cb[6][24];
	const char        *cs[6];	/* the counts as bound (NULL: absent) */
	const char        *source;
};

/* Adds the label ids to pr_labels, 8 a statement (the last padded with its
 * last id: INSERT IGNORE keeps one row), so a PR's labels are one round
 * trip in the common case. */
static int
pr_labels_insert(struct db *db, unsigned long long pr_id, const unsigned long long *ids, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		unsigned long long l[8];
		for (size_t k = 0; k < 8; k++)
			l[k] = ids[i + k < n ? i + k : n - 1];
		if (db_exec(db, "INSERT IGNORE INTO pr_labels (pr_id, label_id) VALUES (?, ?), (?, ?), "
		    "(?, ?), (?, ?), (?, ?), (?, ?), (?, ?), (?, ?)", "uuuuuuuuuuuuuuuu",
		    pr_id, l[0], pr_id, l[1], pr_id, l[2], pr_id, l[3], pr_id, l[4], pr_id, l[5],
		    pr_id, l[6], pr_id, l[7]) < 0)
			return -1;
	}
	return 0;
}

/* The row of a PR not stored yet, and its label set: 0 inserted, 1 stored
 * meanwhile by another transaction (update that row), 2 its number was
 * freed (insert again), -1 on error. */
static int
pr_insert(struct db *db, struct pr_w *w)
{
	const struct pr *p = &w->p;

	if (db_exec(db,
	    "INSERT INTO pull_requests (id, repo_id, number, author_id, title, html_url, "
	    "state, draft, merged, created_at, updated_at, closed_at, merged_at, additions, "
	    "deletions, changed_files, commits, comments, review_comments, source, "
	    "snapshot_fp) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "uuiusssiisssssssssss" "s", p->id, p->repo.id, p->number, p->author.id, p->title,
	    p->html_url[0] ? p->html_url : NULL, p->state, (long long)p->draft,
	    (long long)p->merged, p->created, p->updated, tnull(p->closed),
	    tnull(p->merged_at), w->cs[0], w->cs[1], w->cs[2], w->cs[3], w->cs[4], w->cs[5],
	    w->source, tnull(w->fp)) == 0)
		return pr_labels_insert(db, p->id, w->ids, w->nl);
	if (db_errno(db) != ER_DUP_ENTRY)
		return -1;
	if (strstr(db_error(db), "pull_requests_repo_number") != NULL)
		return free_number(db, p) < 0 ? -1 : 2;
	return 1;
}

/* The stored row, locked, then updated: 0 written (*aff rows, *lchanged
 * when the label set changed), 1 a newer snapshot is stored (stale), 2 the
 * row is gone (insert it), 3 its number was freed (update again), -1. */
static int
pr_update(struct db *db, struct pr_w *w, unsigned long long *aff, int *lchanged)
{
	const struct pr *p = &w->p;
	const char *const *cs = w->cs;
	struct db_res *r;
	int stale, freed;

	if (db_query(db, &r, "SELECT DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s') FROM pull_requests "
	    "WHERE id = ? FOR UPDATE", "u", p->id) < 0)
		return -1;
	if (r->nrows != 1) {
		db_res_free(r);
		return 2;	/* deleted meanwhile */
	}
	stale = strcmp(db_get(r, 0, 0), p->updated) > 0;
	db_res_free(r);
	if (stale)
		return 1;
	if (db_exec(db,
	    "UPDATE pull_requests SET repo_id = ?, number = ?, author_id = ?, title = ?, "
	    "html_url = ?, state = ?, draft = ?, merged = ?, created_at = ?, updated_at = ?, "
	    "closed_at = ?, merged_at = ?, additions = COALESCE(?, additions), "
	    "deletions = COALESCE(?, deletions), changed_files = COALESCE(?, changed_files), "
	    "commits = COALESCE(?, commits), comments = COALESCE(?, comments), "
	    "review_comments = COALESCE(?, review_comments), source = ?, snapshot_fp = ? "
	    "WHERE id = ?",
	    "uiusssiisssssssssss" "su", p->repo.id, p->number, p->author.id, p->title,
	    p->html_url[0] ? p->html_url : NULL, p->state, (long long)p->draft,
	    (long long)p->merged, p->created, p->updated, tnull(p->closed), tnull(p->merged_at),
	    cs[0], cs[1], cs[2], cs[3], cs[4], cs[5], w->source, tnull(w->fp), p->id) < 0) {
		if (db_errno(db) != ER_DUP_ENTRY ||
		    strstr(db_error(db), "pull_requests_repo_number") == NULL ||
		    (freed = free_number(db, p)) <= 0)
			return -1;
		return 3;	/* the number is free now: update again */
	}
	*aff = db_affected(db);
	return pr_labels_write(db, p, lchanged) < 0 ? -1 : 0;
}

/*
 * Whether the prefetched state (PREFETCH_SQL) equals the snapshot: 1 it
 * does (its fingerprint written when the row lacks it), 0 something to
 * write: then the author, repository and label rows that differ are
 * written, -1 on error.
 */
static int
pr_shared(struct db *db, struct pr_w *w, const struct db_res *pf)
{
	const struct pr *p = &w->p;
	int found = db_getll(pf, 0, PF_FOUND, 0) == 1, fc;
	/* (the strings of a row not found are NULL: *_same look at found first) */
	int ufound = db_getll(pf, 0, PF_USER, 0) == 1, rfound = db_getll(pf, 0, PF_REPO, 0) == 1;
	int lrows_same = label_rows_same(p, db_get(pf, 0, PF_LABELROWS));

	if (found && lrows_same && pr_row_same(p, pf) &&
	    label_set_same(p, db_get(pf, 0, PF_LABELIDS)) &&
	    user_same(&p->author, ufound, db_get(pf, 0, PF_USER + 1), db_get(pf, 0, PF_USER + 2),
	    db_get(pf, 0, PF_USER + 3)) && rfound && repo_same(&p->repo, pf, PF_REPO + 1, &fc)) {
		/* the same snapshot again: nothing to write but its fingerprint,
		 * when the row has none or another one (only if the row is still
		 * the one compared) */
		if (w->fp[0] && !str_eq_col(pf, PF_FP, w->fp) && db_exec(db,
		    "UPDATE pull_requests SET snapshot_fp = ? WHERE id = ? AND "
		    "updated_at = ? AND snapshot_fp <=> ?", "suss", w->fp, p->id, p->updated,
		    db_get(pf, 0, PF_FP)) < 0)
			return -1;
		return 1;
	}
	if (user_write_known(db, &p->author, ufound, db_get(pf, 0, PF_USER + 1),
	    db_get(pf, 0, PF_USER + 2), db_get(pf, 0, PF_USER + 3)) < 0 ||
	    repo_write_known(db, &p->repo, rfound, pf, PF_REPO + 1) < 0 ||
	    (!lrows_same && label_rows_write(db, p) < 0))
		return -1;
	return 0;
}

/* Parses the snapshot into w: 0, or STORE_EBADINPUT (w->p.labels freed). */
static int
pr_w_init(struct pr_w *w, const struct conf *c, json_val pr, const char *source)
{
	if (pr_parse(c, pr, &w->p) < 0) {
		free(w->p.labels);
		return STORE_EBADINPUT;
	}
	for (int i = 0; i < 6; i++)
		w->cs[i] = cstr(&w->p, i, w->cb[i], sizeof w->cb[i]);
	w->source = source ? source : "webhook";
	w->nl = label_ids(&w->p, w->ids);
	pr_fingerprint(&w->p, w->ids, w->nl, w->fp);
	return 0;
}

/*
 * Writes that change something lock the PR row (SELECT ... FOR UPDATE)
 * before the stale check, so two snapshots of one PR are applied one after
 * the other. A PR not stored yet takes no lock (no gap locks under READ
 * COMMITTED, see lib/ingest): when a concurrent transaction inserts it
 * first, our INSERT fails with a duplicate key and the locked path runs
 * against its row. A change queues the PR for the statistics (rollup_queue).
 */
int
store_pr(struct db *db, const struct conf *c, json_val pr, const char *source,
    enum store_result *result)
{
	struct db_res *pf = NULL;
	unsigned long long lid[PF_LABELS] = { 0 }, aff = 0;
	struct pr_w w;
	int rc = -1, found, lchanged = 0, inserted = 0, step;

	*result = STORE_UNCHANGED;
	if (pr_w_init(&w, c, pr, source) < 0)
		return STORE_EBADINPUT;
	for (size_t i = 0; i < w.nl && i < PF_LABELS; i++)
		lid[i] = w.ids[i];
	if (db_query(db, &pf, PREFETCH_SQL, "uuuuuuuuuuu", lid[0], lid[1], lid[2], lid[3], lid[4],
	    lid[5], lid[6], lid[7], w.p.id, w.p.author.id, w.p.repo.id) < 0)
		goto out;
	found = db_getll(pf, 0, PF_FOUND, 0) == 1;
	if (found && strcmp(db_get(pf, 0, PF_UPDATED), w.p.updated) > 0) {
		*result = STORE_STALE;
		rc = 0;
		goto out;
	}
	if ((step = pr_shared(db, &w, pf)) != 0) {
		rc = step > 0 ? 0 : -1;
		goto out;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		if (!found && (step = pr_insert(db, &w)) != 1) {
			if (step < 0)
				goto out;
			inserted = step == 0;
			if (inserted)
				break;
			continue;	/* the number was freed: insert again */
		}
		/* stored (or inserted meanwhile by someone else): update that row */
		step = pr_update(db, &w, &aff, &lchanged);
		if (step < 0)
			goto out;
		found = step != 2;
		if (step == 1) {
			*result = STORE_STALE;
			rc = 0;
			goto out;
		}
		if (step == 0)
			break;
	}
	if (!inserted && (!found || step != 0))
		goto out;	/* inserted and deleted by others three times: give up */
	if ((inserted || aff > 0 || lchanged) && (rollup_queue(db, w.p.id) < 0 ||
	    history(db, &w.p, w.source, inserted) < 0))
		goto out;
	*result = inserted ? STORE_INSERTED : aff > 0 || lchanged ? STORE_UPDATED : STORE_UNCHANGED;
	rc = 0;
out:
	db_res_free(pf);
	free(w.p.labels);
	return rc;
}

/* ------------------------------------------------------------------ teams */

int
store_team(struct db *db, json_val team, unsigned long long org_id)
{
	unsigned long long id;
	const char *slug, *name, *desc;
	char s[101], n[256], d[1025];

	if (!json_is_object(team) || req_id(team, "id", &id) < 0)
		return STORE_EBADINPUT;
	slug = json_str(team, "slug");
	name = json_str(team, "name");
	if (slug == NULL || *slug == '\0' || opt_str(team, "description", &desc) < 0)
		return STORE_EBADINPUT;
	if (name == NULL)
		name = slug;
	utf8_copy(s, sizeof s, slug, 100);
	utf8_copy(n, sizeof n, name, 255);
	utf8_copy(d, sizeof d, desc ? desc : "", 1024);
	if (org_id)
		return db_exec(db,
		    "INSERT INTO teams (id, org_id, slug, name, description) VALUES (?, ?, ?, ?, ?) "
		    "ON DUPLICATE KEY UPDATE org_id = VALUES(org_id), slug = VALUES(slug), "
		    "name = VALUES(name), description = VALUES(description)",
		    "uusss", id, org_id, s, n, desc ? d : NULL);
	return db_exec(db,
	    "INSERT INTO teams (id, slug, name, description) VALUES (?, ?, ?, ?) "
	    "ON DUPLICATE KEY UPDATE slug = VALUES(slug), name = VALUES(name), "
	    "description = VALUES(description)",
	    "usss", id, s, n, desc ? d : NULL);
}

/* ------------------------------------------------------------ memberships */

/* Serializes changes to one user's memberships: under READ COMMITTED a
 * locking read of an empty range locks nothing, so the user row is the
 * lock (a user not stored yet: nothing to lock, nothing to race with). */
static int
lock_member(struct db *db, unsigned long long user_id)
{
	struct db_res *r;

	if (db_query(db, &r, "SELECT id FROM users WHERE id = ? FOR UPDATE", "u", user_id) < 0)
		return -1;
	db_res_free(r);
	return 0;
}

static int
membership_end_open(struct db *db, unsigned long long team_id, unsigned long long user_id,
    const char *at)
{
	struct db_res *r;
	int n;

	if (db_query(db, &r,
	    "SELECT COUNT(*) FROM memberships WHERE team_id = ? AND user_id = ? "
	    "AND ended_at IS NULL AND (started_at IS NULL OR started_at <= ?) FOR UPDATE",
	    "uus", team_id, user_id, at) < 0)
		return -1;
	n = (int)db_getll(r, 0, 0, 0);
	db_res_free(r);
	if (n == 0)
		return 0;
	if (rollup_user_before(db, user_id) < 0)
		return -1;
	if (db_exec(db,
	    "UPDATE memberships SET ended_at = ? WHERE team_id = ? AND user_id = ? "
	    "AND ended_at IS NULL AND (started_at IS NULL OR started_at <= ?)",
	    "suus", at, team_id, user_id, at) < 0)
		return -1;
	return rollup_user_after(db, user_id);
}

int
store_team_deleted(struct db *db, unsigned long long team_id, const char *at)
{
	struct db_res *r;
	int rc = 0;

	if (db_exec(db, "UPDATE teams SET deleted_at = COALESCE(deleted_at, ?) WHERE id = ?",
	    "su", at, team_id) < 0)
		return -1;
	if (db_query(db, &r,
	    "SELECT DISTINCT user_id FROM memberships WHERE team_id = ? AND ended_at IS NULL FOR UPDATE",
	    "u", team_id) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows && rc == 0; i++)
		rc = membership_end_open(db, team_id, strtoull(db_get(r, i, 0), NULL, 10), at);
	db_res_free(r);
	return rc;
}

/*
 * Every read of memberships here is a locking read (FOR UPDATE): two
 * deliveries about the same member serialize, and the second sees what the
 * first committed (a plain read would use an older snapshot).
 * Intervals stay ordered even when deliveries arrive late:
 *  - an interval covering `at` already: nothing to do;
 *  - an interval that starts after `at` (a late "added"): it starts earlier;
 *  - otherwise a new open interval from `at`.
 * at == NULL (sync): an open interval exists -> nothing; no interval ever ->
 * one since the beginning of time; only closed ones -> the member came back
 * at an unknown moment after the last end: the new interval starts now.
 */
int
store_member_start(struct db *db, unsigned long long team_id,
    unsigned long long user_id, const char *at, const char *source)
{
	struct db_res *r;
	char now[32];
	long long open, total;
	const char *start = at;
	unsigned long long later = 0;

	if (source == NULL)
		source = at ? "webhook" : "sync";
	if (lock_member(db, user_id) < 0)
		return -1;
	if (at == NULL) {
		if (db_query(db, &r,
		    "SELECT COALESCE(SUM(ended_at IS NULL), 0), COUNT(*) FROM memberships "
		    "WHERE team_id = ? AND user_id = ? FOR UPDATE", "uu", team_id, user_id) < 0)
			return -1;
		open = db_getll(r, 0, 0, 0);
		total = db_getll(r, 0, 1, 0);
		db_res_free(r);
		if (open > 0)
			return 0;
		if (total > 0) {
			store_now(now, sizeof now);
			start = now;
		}
	} else {
		/* A removal applied before this earlier addition (spooled, or a
		 * replay) stored "member since always, until the removal": the
		 * addition says since when. Only a webhook removal of someone never
		 * seen as a member makes such a row (source 'webhook', no start). */
		if (db_query(db, &r,
		    "SELECT id FROM memberships WHERE team_id = ? AND user_id = ? "
		    "AND started_at IS NULL AND source = 'webhook' AND ended_at > ? "
		    "ORDER BY ended_at LIMIT 1 FOR UPDATE", "uus", team_id, user_id, at) < 0)
			return -1;
		later = r->nrows == 1 ? strtoull(db_get(r, 0, 0), NULL, 10) : 0;
		db_res_free(r);
		if (later) {
			if (rollup_user_before(db, user_id) < 0 ||
			    db_exec(db, "UPDATE memberships SET started_at = ? WHERE id = ?", "su", at,
			    later) < 0)
				return -1;
			return rollup_user_after(db, user_id);
		}
		if (db_query(db, &r,
		    "SELECT COUNT(*) FROM memberships WHERE team_id = ? AND user_id = ? "
		    "AND (started_at IS NULL OR started_at <= ?) AND (ended_at IS NULL OR ended_at > ?) FOR UPDATE",
		    "uuss", team_id, user_id, at, at) < 0)
			return -1;
		open = db_getll(r, 0, 0, 0);
		db_res_free(r);
		if (open > 0)
			return 0;
		if (db_query(db, &r,
		    "SELECT id FROM memberships WHERE team_id = ? AND user_id = ? AND started_at > ? "
		    "ORDER BY started_at LIMIT 1 FOR UPDATE", "uus", team_id, user_id, at) < 0)
			return -1;
		if (r->nrows == 1)
			later = strtoull(db_get(r, 0, 0), NULL, 10);
		db_res_free(r);
	}
	if (rollup_user_before(db, user_id) < 0)
		return -1;
	if (later) {
		if (db_exec(db, "UPDATE memberships SET started_at = ? WHERE id = ?", "su", at,
		    later) < 0)
			return -1;
	} else if (db_exec(db,
	    "INSERT INTO memberships (team_id, user_id, started_at, ended_at, source) "
	    "VALUES (?, ?, ?, NULL, ?)", "uuss", team_id, user_id, start, source) < 0)
		return -1;
	return rollup_user_after(db, user_id);
}

/*
 * Closes the interval(s) open at `at`. A removal of someone never seen as a
 * member says they were one until now: that becomes a closed interval since
 * the beginning of time (what a sync before the removal would have stored).
 */
int
store_member_end(struct db *db, unsigned long long team_id,
    unsigned long long user_id, const char *at)
{
	struct db_res *r;
	long long total;

	if (lock_member(db, user_id) < 0)
		return -1;
	if (db_query(db, &r, "SELECT COUNT(*) FROM memberships WHERE team_id = ? AND user_id = ? FOR UPDATE",
	    "uu", team_id, user_id) < 0)
		return -1;
	total = db_getll(r, 0, 0, 0);
	db_res_free(r);
	if (total == 0) {
		if (rollup_user_before(db, user_id) < 0 ||
		    db_exec(db,
		    "INSERT INTO memberships (team_id, user_id, started_at, ended_at, source) "
		    "VALUES (?, ?, NULL, ?, 'webhook')", "uus", team_id, user_id, at) < 0)
			return -1;
		return rollup_user_after(db, user_id);
	}
	return membership_end_open(db, team_id, user_id, at);
}

/* ------------------------------------------------------- a page of PRs */

/*
 * store_prs(): the snapshots of one page in a few multi-row statements.
 * Each PR gets a state: new, update (its row is locked), stale, unchanged
 * (same fingerprint), or slow (a case the page path does not decide:
 * store_pr() runs for it, in the same transaction).
 */
enum { PG_BAD, PG_NEW, PG_UPDATE, PG_STALE, PG_SAME, PG_SLOW };

struct page_pr {
	struct pr p;
	char fp[33];
	char cb[6][24];
	const char *cs[6];
	char *stored_labels;	/* "1,5,9" of an update, malloc'ed */
	int st;
};

struct page {
	struct db *db;
	const struct conf *c;
	const char *source;
	int import;	/* the page's PRs go to stat_import, not stat_queue */
	const struct store_from *from;	/* per PR, or NULL: store_origin()'s */
	struct page_pr *v;
	size_t n;
	struct db_args a;
	struct buf sql;
};

/* Binds ids[0..n) padded to db_batch_size(n) with the last one (an IN list
 * or a multi-row INSERT IGNORE does not mind a repeated value). */
static size_t
args_ids(struct db_args *a, const unsigned long long *ids, size_t n)
{
	size_t m = db_batch_size(n);

	for (size_t i = 0; i < m; i++)
		db_args_u(a, ids[i < n ? i : n - 1]);
	return m;
}

/* Pads `rows` rows of `width` values to db_batch_size(rows) rows by
 * repeating the last one (for upserts, where a repeat changes nothing).
 * The padded row count. */
static size_t
args_pad(struct db_args *a, size_t width, size_t rows)
{
	size_t m = db_batch_size(rows);

	for (size_t i = rows; i < m && !a->oom; i++)
		for (size_t k = 0; k < width && !a->oom; k++) {
			struct db_param v = a->v[a->n - width];
			if (v.type == 's')
				db_args_s(a, v.p);
			else if (v.type == 'u')
				db_args_u(a, (unsigned long long)v.i);
			else
				db_args_i(a, v.i);
		}
	return m;
}

/* "head (?, ?, ...) tail" for m placeholders, with the IN list form. */
static int
in_sql(struct buf *b, const char *head, size_t m, const char *tail)
{
	return db_rows_sql(b, head, "?", ", ", m, tail);
}

static int page_numbers_sql(struct page *pg);

/* "head ids[0..n))" read into *r: the page's lookups by id in one
 * statement; with locked, also the rows of the page's (repository, number)
 * pairs, FOR UPDATE (page_classify). */
static int
page_lookup(struct page *pg, const unsigned long long *ids, size_t n, const char *head,
    int locked, struct db_res **r)
{
	size_t m;

	db_args_reset(&pg->a);
	m = args_ids(&pg->a, ids, n);
	if (in_sql(&pg->sql, head, m, ")") < 0 ||
	    (locked && (page_numbers_sql(pg) < 0 || buf_puts(&pg->sql, " FOR UPDATE") < 0)))
		return -1;
	return db_query_args(pg->db, r, pg->sql.data, &pg->a);
}

static int
page_cmp_id(const void *a, const void *b)
{
	return cmp_ull(a, b);
}

/* The ids of the PRs in state st (any writable one when st < 0), sorted. */
static size_t
page_ids(const struct page *pg, int st, unsigned long long *ids)
{
	size_t k = 0;

	for (size_t i = 0; i < pg->n; i++)
		if (st < 0 ? (pg->v[i].st == PG_NEW || pg->v[i].st == PG_UPDATE) : pg->v[i].st == st)
			ids[k++] = pg->v[i].p.id;
	qsort(ids, k, sizeof ids[0], page_cmp_id);
	return k;
}

static struct page_pr *
page_find(struct page *pg, unsigned long long id)
{
	for (size_t i = 0; i < pg->n; i++)
		if (pg->v[i].st != PG_BAD && pg->v[i].p.id == id)
			return &pg->v[i];
	return NULL;
}

/* Parse every PR; 1 when two of them are the same PR (the page path then
 * leaves the page to store_pr(), one after the other). */
static int
page_parse(struct page *pg, const json_val *prs)
{
	for (size_t i = 0; i < pg->n; i++) {
		struct page_pr *x = &pg->v[i];
		unsigned long long ids[MAX_LABELS];
		if (pr_parse(pg->c, prs[i], &x->p) < 0) {
			x->st = PG_BAD;
			continue;
		}
		x->st = PG_NEW;
		for (int k = 0; k < 6; k++)
			x->cs[k] = cstr(&x->p, k, x->cb[k], sizeof x->cb[k]);
		pr_fingerprint(&x->p, ids, label_ids(&x->p, ids), x->fp);
		for (size_t j = 0; j < i; j++)
			if (pg->v[j].st != PG_BAD && (pg->v[j].p.id == x->p.id ||
			    (pg->v[j].p.repo.id == x->p.repo.id && pg->v[j].p.number == x->p.number)))
				return 1;
	}
	return 0;
}

/* The PR whose (repository, number) a stored row holds, if any. */
static struct page_pr *
page_find_number(struct page *pg, unsigned long long repo, long long number)
{
	for (size_t i = 0; i < pg->n; i++)
		if (pg->v[i].st != PG_BAD && pg->v[i].p.repo.id == repo && pg->v[i].p.number == number)
			return &pg->v[i];
	return NULL;
}

static int
page_classify_row(struct page_pr *x, const struct db_res *r, size_t i)
{
	if (x->st != PG_NEW)
		return 0;	/* decided already (slow: a number conflict) */
	if (strcmp(db_get(r, i, 1), x->p.updated) > 0)
		x->st = PG_STALE;
	else if (db_isnull(r, i, 2) || x->fp[0] == '\0')
		x->st = PG_SLOW;
	else if (strcmp(db_get(r, i, 2), x->fp) == 0 && label_set_same(&x->p, db_get(r, i, 3)))
		x->st = PG_SAME;
	else {	/* (the same fingerprint with another label set: a set changed
		 * by hand, or by a writer that had a bug: this snapshot's set) */
		x->st = PG_UPDATE;
		x->stored_labels = lb_strdup(db_get(r, i, 3) ? db_get(r, i, 3) : "");
		if (x->stored_labels == NULL)
			return -1;
	}
	return 0;
}

static int in_tail(struct buf *b, size_t m, const char *tail);

/* Appends " OR (repo_id = ? AND number IN (?, ...))" per repository of
 * the page (one, mostly: an index range each), binding them. */
static int
page_numbers_sql(struct page *pg)
{
	for (size_t i = 0; i < pg->n; i++) {
		unsigned long long repo = pg->v[i].p.repo.id;
		size_t cnt = 0, m, last = i;
		int seen = 0;
		if (pg->v[i].st == PG_BAD)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = pg->v[k].st != PG_BAD && pg->v[k].p.repo.id == repo;
		if (seen)
			continue;
		db_args_u(&pg->a, repo);
		for (size_t k = i; k < pg->n; k++)
			if (pg->v[k].st != PG_BAD && pg->v[k].p.repo.id == repo) {
				db_args_i(&pg->a, pg->v[k].p.number);
				cnt++;
				last = k;
			}
		m = db_batch_size(cnt);
		for (size_t k = cnt; k < m; k++)
			db_args_i(&pg->a, pg->v[last].p.number);
		if (buf_puts(&pg->sql, " OR (repo_id = ? AND number IN (") < 0 ||
		    in_tail(&pg->sql, m, "))") < 0)
			return -1;
	}
	return 0;
}

/*
 * The stored rows of the page's PRs, read with their locks in one
 * statement: by id, and by (repository, number). Each PR becomes new,
 * update, stale, unchanged or slow: a row without fingerprint, or a
 * (repository, number) held by another id (store_pr() frees it).
 */
static int
page_classify(struct page *pg, unsigned long long *ids)
{
	size_t n = page_ids(pg, PG_NEW, ids);
	struct db_res *r;
	int rc = 0;

	if (n == 0)
		return 0;
	if (page_lookup(pg, ids, n, "SELECT id, " TF("updated_at") ", snapshot_fp, "
	    "(SELECT GROUP_CONCAT(label_id ORDER BY label_id) FROM pr_labels WHERE pr_id = p.id), "
	    "repo_id, number FROM pull_requests p WHERE id IN (", 1, &r) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows && rc == 0; i++) {
		unsigned long long id = strtoull(db_get(r, i, 0), NULL, 10);
		struct page_pr *x = page_find(pg, id);
		struct page_pr *y = page_find_number(pg, strtoull(db_get(r, i, 4), NULL, 10),
		    db_getll(r, i, 5, 0));
		if (y != NULL && y->p.id != id)
			y->st = PG_SLOW;	/* its number is another id's row */
		if (x != NULL)
			rc = page_classify_row(x, r, i);
	}
	db_res_free(r);
	return rc;
}

/* The last writable PR of the page by that author (its data wins, as it
 * would when the PRs were stored one after the other). */
static const struct user *
page_author(const struct page *pg, unsigned long long id)
{
	const struct user *u = NULL;

	for (size_t i = 0; i < pg->n; i++)
		if ((pg->v[i].st == PG_NEW || pg->v[i].st == PG_UPDATE) && pg->v[i].p.author.id == id)
			u = &pg->v[i].p.author;
	return u;
}

/* Distinct author ids of the writable PRs, sorted. */
static size_t
page_author_ids(const struct page *pg, unsigned long long *ids)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < pg->n; i++)
		if (pg->v[i].st == PG_NEW || pg->v[i].st == PG_UPDATE)
			ids[n++] = pg->v[i].p.author.id;
	qsort(ids, n, sizeof ids[0], page_cmp_id);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || ids[i] != ids[k - 1])
			ids[k++] = ids[i];
	return k;
}

/* One upsert row of users: the values as stored after the write (an absent
 * avatar or type keeps the stored one). */
static void
user_row_args(struct db_args *a, const struct user *u, int found, const char *avatar,
    const char *type)
{
	db_args_u(a, u->id);
	db_args_s(a, u->login);
	db_args_s(a, u->avatar[0] ? u->avatar : found && avatar[0] ? avatar : NULL);
	db_args_s(a, u->type ? u->type : found ? type : "User");
}

/*
 * The page's authors: read in one statement, the changed ones written in
 * one multi-row upsert (a change of type, which re-rolls the user's PRs,
 * goes through user_write_known()).
 */
static int
page_users(struct page *pg, unsigned long long *ids)
{
	size_t n = page_author_ids(pg, ids), m, rows = 0;
	struct db_res *r;
	int rc = 0;

	if (n == 0)
		return 0;
	if (page_lookup(pg, ids, n, "SELECT id, login, IFNULL(avatar_url, ''), type FROM users "
	    "WHERE id IN (", 0, &r) < 0)
		return -1;
	db_args_reset(&pg->a);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct user *u = page_author(pg, ids[i]);
		size_t row = r->nrows;
		for (size_t k = 0; k < r->nrows; k++)
			if (strtoull(db_get(r, k, 0), NULL, 10) == ids[i])
				row = k;
		if (row == r->nrows) {
			user_row_args(&pg->a, u, 0, "", "");
		} else if (user_same(u, 1, db_get(r, row, 1), db_get(r, row, 2), db_get(r, row, 3))) {
			continue;
		} else if (u->type && strcmp(db_get(r, row, 3), u->type) != 0) {
			rc = user_write_known(pg->db, u, 1, db_get(r, row, 1), db_get(r, row, 2),
			    db_get(r, row, 3));
			continue;
		} else {
			user_row_args(&pg->a, u, 1, db_get(r, row, 2), db_get(r, row, 3));
		}
		rows++;
	}
	if (rc == 0 && rows > 0) {
		m = args_pad(&pg->a, 4, rows);
		rc = db_rows_sql(&pg->sql, "INSERT INTO users (id, login, avatar_url, type) VALUES ",
		    "(?, ?, ?, ?)", ", ", m, " ON DUPLICATE KEY UPDATE login = VALUES(login), "
		    "avatar_url = VALUES(avatar_url), type = VALUES(type)");
		if (rc == 0)
			rc = db_exec_args(pg->db, pg->sql.data, &pg->a);
	}
	db_res_free(r);
	return rc;
}

/* The repositories of the writable PRs (a page has one, mostly): each read
 * and written when it changed, as store_pr() does. */
static int
page_repos(struct page *pg)
{
	for (size_t i = 0; i < pg->n; i++) {
		int seen = 0;
		if (pg->v[i].st != PG_NEW && pg->v[i].st != PG_UPDATE)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = (pg->v[k].st == PG_NEW || pg->v[k].st == PG_UPDATE) &&
			    pg->v[k].p.repo.id == pg->v[i].p.repo.id;
		if (!seen && repo_write(pg->db, &pg->v[i].p.repo) < 0)
			return -1;
	}
	return 0;
}

struct page_label {
	const struct label *l;
	unsigned long long repo;
	char desc[1025];
	char md5[33];
	int write;
};

/* Distinct labels of the writable PRs (the last PR's copy wins), by id. */
static size_t
page_labels_collect(const struct page *pg, struct page_label *out)
{
	size_t n = 0;

	for (size_t i = 0; i < pg->n; i++) {
		const struct page_pr *x = &pg->v[i];
		if (x->st != PG_NEW && x->st != PG_UPDATE)
			continue;
		for (size_t j = 0; j < x->p.nlabels; j++) {
			const struct label *l = &x->p.labels[j];
			size_t k;
			for (k = 0; k < n && out[k].l->id != l->id; k++)
				;
			out[k].l = l;
			out[k].repo = x->p.repo.id;
			out[k].write = 1;
			if (k == n)
				n++;
		}
	}
	for (size_t k = 0; k < n; k++) {
		utf8_copy(out[k].desc, sizeof out[k].desc,
		    out[k].l->description ? out[k].l->description : "", 1024);
		md5_hex(out[k].desc, out[k].md5);
	}
	return n;
}

/* The stored rows of labels lb[0..n): the ones equal to the snapshot's are
 * not written. */
static int
page_labels_compare(struct page *pg, struct page_label *lb, size_t n, unsigned long long *ids)
{
	struct db_res *r;

	for (size_t k = 0; k < n; k++)
		ids[k] = lb[k].l->id;
	if (page_lookup(pg, ids, n, "SELECT id, IFNULL(repo_id, ''), name, IFNULL(color, ''), "
	    "MD5(IFNULL(description, '')) FROM labels WHERE id IN (", 0, &r) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows; i++) {
		unsigned long long id = strtoull(db_get(r, i, 0), NULL, 10);
		for (size_t k = 0; k < n; k++)
			if (lb[k].l->id == id)
				lb[k].write = strtoull(db_get(r, i, 1), NULL, 10) != lb[k].repo ||
				    strcmp(db_get(r, i, 2), lb[k].l->name) != 0 ||
				    strcmp(db_get(r, i, 3), lb[k].l->color) != 0 ||
				    strcmp(db_get(r, i, 4), lb[k].md5) != 0;
	}
	db_res_free(r);
	return 0;
}

/* The page's label rows (labels): read in one statement, the changed ones
 * written in one multi-row upsert. */
static int
page_labels(struct page *pg)
{
	size_t total = 0, n, rows = 0, m;
	struct page_label *lb;
	unsigned long long *ids;
	int rc = -1;

	for (size_t i = 0; i < pg->n; i++)
		total += pg->v[i].st == PG_NEW || pg->v[i].st == PG_UPDATE ? pg->v[i].p.nlabels : 0;
	if (total == 0)
		return 0;
	lb = calloc(total, sizeof *lb);
	ids = calloc(total, sizeof *ids);
	if (lb == NULL || ids == NULL)
		goto out;
	n = page_labels_collect(pg, lb);
	if (page_labels_compare(pg, lb, n, ids) < 0)
		goto out;
	db_args_reset(&pg->a);
	for (size_t k = 0; k < n; k++) {
		if (!lb[k].write)
			continue;
		db_args_u(&pg->a, lb[k].l->id);
		db_args_u(&pg->a, lb[k].repo);
		db_args_s(&pg->a, lb[k].l->name);
		db_args_s(&pg->a, lb[k].l->color[0] ? lb[k].l->color : NULL);
		db_args_s(&pg->a, lb[k].l->description ? lb[k].desc : NULL);
		rows++;
	}
	rc = 0;
	if (rows > 0) {
		m = args_pad(&pg->a, 5, rows);
		rc = db_rows_sql(&pg->sql, "INSERT INTO labels (id, repo_id, name, color, description) "
		    "VALUES ", "(?, ?, ?, ?, ?)", ", ", m, " ON DUPLICATE KEY UPDATE "
		    "repo_id = VALUES(repo_id), name = VALUES(name), color = VALUES(color), "
		    "description = VALUES(description)");
		if (rc == 0)
			rc = db_exec_args(pg->db, pg->sql.data, &pg->a);
	}
out:
	free(lb);
	free(ids);
	return rc;
}

/* A stored row is replaced only by a snapshot at least as new (the row
 * lock was taken for the PRs found). updated_at is assigned last: the
 * others compare it. */
#define PG_NEWER "VALUES(updated_at) >= updated_at"
#define PG_SET(c) c " = IF(" PG_NEWER ", VALUES(" c "), " c "), "
#define PG_KEEP(c) c " = IF(" PG_NEWER ", COALESCE(VALUES(" c "), " c "), " c "), "
static const char PG_UPSERT_TAIL[] =
    " ON DUPLICATE KEY UPDATE " PG_SET("repo_id") PG_SET("number") PG_SET("author_id")
    PG_SET("title") PG_SET("html_url") PG_SET("state") PG_SET("draft") PG_SET("merged")
    PG_SET("created_at") PG_SET("closed_at") PG_SET("merged_at") PG_KEEP("additions")
    PG_KEEP("deletions") PG_KEEP("changed_files") PG_KEEP("commits") PG_KEEP("comments")
    PG_KEEP("review_comments") PG_SET("source") PG_SET("snapshot_fp")
    "updated_at = GREATEST(updated_at, VALUES(updated_at))";

static void
pr_row_args(struct db_args *a, const struct page_pr *x, const char *source)
{
	const struct pr *p = &x->p;

	db_args_u(a, p->id);
	db_args_u(a, p->repo.id);
	db_args_i(a, p->number);
	db_args_u(a, p->author.id);
	db_args_s(a, p->title);
	db_args_s(a, p->html_url[0] ? p->html_url : NULL);
	db_args_s(a, p->state);
	db_args_i(a, p->draft);
	db_args_i(a, p->merged);
	db_args_s(a, p->created);
	db_args_s(a, p->updated);
	db_args_s(a, tnull(p->closed));
	db_args_s(a, tnull(p->merged_at));
	for (int k = 0; k < 6; k++)
		db_args_s(a, x->cs[k]);
	db_args_s(a, source);
	db_args_s(a, tnull(x->fp));
}

/*
 * The new PRs that another writer stored between page_classify() and
 * their INSERT: a new PR takes no lock (no gap locks under READ
 * COMMITTED), so another lb-hook worker or lb-syncd may insert it meanwhile.
 * Its row was left alone (ON DUPLICATE KEY UPDATE id = id: locked, not
 * changed); the PR goes to store_pr(), which compares updated_at and
 * rewrites the label set. (An upsert would keep the newer row, but add
 * this snapshot's labels to its set or leave its labels in place.) A row
 * with this snapshot's fingerprint is this insert's, or the same snapshot
 * stored by the other writer, whose label set is this one.
 */
static int
page_new_taken(struct page *pg, unsigned long long *ids)
{
	size_t n = page_ids(pg, PG_NEW, ids);
	struct db_res *r;

	if (page_lookup(pg, ids, n, "SELECT id, snapshot_fp FROM pull_requests WHERE id IN (", 0,
	    &r) < 0)
		return -1;
	for (size_t i = 0; i < pg->n; i++) {
		struct page_pr *x = &pg->v[i];
		int ours = 0;
		if (x->st != PG_NEW)
			continue;
		for (size_t k = 0; k < r->nrows && !ours; k++)
			ours = strtoull(db_get(r, k, 0), NULL, 10) == x->p.id && !db_isnull(r, k, 1) &&
			    strcmp(db_get(r, k, 1), x->fp) == 0;
		if (!ours)
			x->st = PG_SLOW;
	}
	db_res_free(r);
	return 0;
}

/*
 * The page's PRs of state st in one multi-row statement: the new ones
 * inserted (a duplicate key changes nothing: page_new_taken() then finds
 * which were stored meanwhile), the stored ones (locked) upserted.
 */
static int
page_pr_rows(struct page *pg, int st, unsigned long long *ids)
{
	size_t rows = 0, m;

	db_args_reset(&pg->a);
	for (size_t i = 0; i < pg->n; i++)
		if (pg->v[i].st == st) {
			pr_row_args(&pg->a, &pg->v[i], pg->source);
			rows++;
		}
	if (rows == 0)
		return 0;
	m = args_pad(&pg->a, 21, rows);
	if (db_rows_sql(&pg->sql, "INSERT INTO pull_requests (id, repo_id, number, author_id, title, "
	    "html_url, state, draft, merged, created_at, updated_at, closed_at, merged_at, additions, "
	    "deletions, changed_files, commits, comments, review_comments, source, snapshot_fp) "
	    "VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ", ", m,
	    st == PG_NEW ? " ON DUPLICATE KEY UPDATE id = id" : PG_UPSERT_TAIL) < 0 ||
	    db_exec_args(pg->db, pg->sql.data, &pg->a) < 0)
		return -1;
	/* one affected row per row inserted (the padding repeats the last) */
	if (st == PG_NEW && db_affected(pg->db) != rows)
		return page_new_taken(pg, ids);
	return 0;
}

/* Whether the stored label list "1,5,9" holds id. */
static int
in_list(const char *list, unsigned long long id)
{
	for (const char *s = list; s && *s;) {
		char *end;
		if (strtoull(s, &end, 10) == id)
			return 1;
		s = *end == ',' ? end + 1 : end;
		if (end == s && *s != '\0')
			break;
	}
	return 0;
}

/* pr_labels equal to the snapshots' sets: the stored pairs no longer in a
 * set deleted in one statement, the missing ones inserted in one. */
static int
page_pr_labels(struct page *pg)
{
	size_t rows = 0;

	db_args_reset(&pg->a);
	for (size_t i = 0; i < pg->n; i++) {
		const struct page_pr *x = &pg->v[i];
		for (const char *s = x->st == PG_UPDATE ? x->stored_labels : NULL; s && *s;) {
			char *end;
			unsigned long long lid = strtoull(s, &end, 10);
			if (end == s)
				break;
			if (!in_labels(&x->p, lid)) {
				db_args_u(&pg->a, x->p.id);
				db_args_u(&pg->a, lid);
				rows++;
			}
			s = *end == ',' ? end + 1 : end;
		}
	}
	if (rows > 0 && (db_rows_sql(&pg->sql, "DELETE FROM pr_labels WHERE ",
	    "(pr_id = ? AND label_id = ?)", " OR ", args_pad(&pg->a, 2, rows), "") < 0 ||
	    db_exec_args(pg->db, pg->sql.data, &pg->a) < 0))
		return -1;
	rows = 0;
	db_args_reset(&pg->a);
	for (size_t i = 0; i < pg->n; i++) {
		const struct page_pr *x = &pg->v[i];
		if (x->st != PG_NEW && x->st != PG_UPDATE)
			continue;
		for (size_t j = 0; j < x->p.nlabels; j++)
			if (x->st == PG_NEW || !in_list(x->stored_labels, x->p.labels[j].id)) {
				db_args_u(&pg->a, x->p.id);
				db_args_u(&pg->a, x->p.labels[j].id);
				rows++;
			}
	}
	if (rows > 0 && (db_rows_sql(&pg->sql, "INSERT IGNORE INTO pr_labels (pr_id, label_id) VALUES ",
	    "(?, ?)", ", ", args_pad(&pg->a, 2, rows), "") < 0 ||
	    db_exec_args(pg->db, pg->sql.data, &pg->a) < 0))
		return -1;
	return 0;
}

/* "?, ?, ... ?)" appended: the rest of an IN list of m values. */
static int
in_tail(struct buf *b, size_t m, const char *tail)
{
	for (size_t i = 0; i < m; i++)
		if (buf_puts(b, i ? ", ?" : "?") < 0)
			return -1;
	return buf_puts(b, tail);
}

/* The ref and action columns of the page's pr_history rows: the origin of
 * store_origin(), or per PR (pg->from): ELT(FIELD(id, ids...), refs...),
 * padded to db_batch_size() with the last PR (FIELD takes the first match)
 * so that a few statement texts serve every page size. */
static int
history_origin_sql(struct page *pg)
{
	size_t m = db_batch_size(pg->n);

	if (pg->from == NULL) {
		db_args_s(&pg->a, origin_ref[0] ? origin_ref : NULL);
		db_args_s(&pg->a, origin_action[0] ? origin_action : NULL);
		return buf_puts(&pg->sql, "?, ?, ");
	}
	for (int col = 0; col < 2; col++) {
		if (buf_puts(&pg->sql, "ELT(FIELD(id") < 0)
			return -1;
		for (size_t i = 0; i < m; i++) {
			db_args_u(&pg->a, pg->v[i < pg->n ? i : pg->n - 1].p.id);
			if (buf_puts(&pg->sql, ", ?") < 0)
				return -1;
		}
		if (buf_puts(&pg->sql, ")") < 0)
			return -1;
		for (size_t i = 0; i < m; i++) {
			const struct store_from *f = &pg->from[i < pg->n ? i : pg->n - 1];
			db_args_s(&pg->a, col == 0 ? f->ref : f->action);
			if (buf_puts(&pg->sql, ", ?") < 0)
				return -1;
		}
		if (buf_puts(&pg->sql, "), ") < 0)
			return -1;
	}
	return 0;
}

/* pr_history (one row per PR written, as the rows now are) and stat_queue
 * (stat_import for an import's page), one statement each. ids has room for
 * 2 x the page. */
static int
page_history_queue(struct page *pg, unsigned long long *ids)
{
	unsigned long long *fresh = ids + pg->n;
	size_t n = page_ids(pg, -1, ids), nf = page_ids(pg, PG_NEW, fresh), m, mf;

	if (n == 0)
		return 0;
	if (nf == 0)
		fresh[nf++] = 0;	/* no PR id is 0 */
	db_args_reset(&pg->a);
	db_args_s(&pg->a, pg->source);
	buf_reset(&pg->sql);
	if (buf_puts(&pg->sql, "INSERT INTO pr_history (pr_id, changed_at, source, ref, action, "
	    "change_kind, state, merged, updated_at) SELECT id, UTC_TIMESTAMP(6), ?, ") < 0 ||
	    history_origin_sql(pg) < 0)
		return -1;
	mf = args_ids(&pg->a, fresh, nf);
	m = args_ids(&pg->a, ids, n);
	if (buf_puts(&pg->sql, "IF(id IN (") < 0 ||
	    in_tail(&pg->sql, mf, "), 'inserted', 'updated'), state, merged, "
	    "updated_at FROM pull_requests WHERE id IN (") < 0 ||
	    in_tail(&pg->sql, m, ") ORDER BY id") < 0 ||
	    db_exec_args(pg->db, pg->sql.data, &pg->a) < 0)
		return -1;
	db_args_reset(&pg->a);
	m = args_ids(&pg->a, ids, n);
	if (pg->import ?
	    db_rows_sql(&pg->sql, "INSERT INTO stat_import (pr_id, at) VALUES ",
	    "(?, UTC_TIMESTAMP(6))", ", ", m, " ON DUPLICATE KEY UPDATE n = n + 1, at = VALUES(at)") < 0 :
	    db_rows_sql(&pg->sql, "INSERT IGNORE INTO stat_queue (pr_id) VALUES ", "(?)", ", ", m,
	    "") < 0)
		return -1;
	return db_exec_args(pg->db, pg->sql.data, &pg->a);
}

/* The PRs left to store_pr(), one after the other. */
static int
page_slow(struct page *pg, const json_val *prs, int *results)
{
	char ref[sizeof origin_ref], action[sizeof origin_action];
	int rc = 0;

	lb_strlcpy(ref, origin_ref, sizeof ref);
	lb_strlcpy(action, origin_action, sizeof action);
	for (size_t i = 0; i < pg->n && rc >= 0; i++) {
		enum store_result sr;
		if (pg->v[i].st != PG_SLOW)
			continue;
		if (pg->from)
			store_origin(pg->from[i].ref, pg->from[i].action);
		rc = store_pr(pg->db, pg->c, prs[i], pg->source, &sr);
		if (rc == STORE_EBADINPUT)
			rc = 0, results[i] = STORE_EBADINPUT;
		else
			results[i] = (int)sr;
	}
	store_origin(ref, action);
	return rc < 0 ? -1 : 0;
}

static int
page_write(struct page *pg, const json_val *prs, int *results, unsigned long long *ids)
{
	static const int res[] = { STORE_EBADINPUT, STORE_INSERTED, STORE_UPDATED, STORE_STALE,
	    STORE_UNCHANGED, STORE_UNCHANGED };

	if (page_parse(pg, prs)) {
		for (size_t i = 0; i < pg->n; i++)
			if (pg->v[i].st != PG_BAD)
				pg->v[i].st = PG_SLOW;	/* the same PR twice: in order */
	} else if (page_classify(pg, ids) < 0 || page_users(pg, ids) < 0 || page_repos(pg) < 0 ||
	    page_labels(pg) < 0 || page_pr_rows(pg, PG_NEW, ids) < 0 ||
	    page_pr_rows(pg, PG_UPDATE, ids) < 0 || page_pr_labels(pg) < 0 ||
	    page_history_queue(pg, ids) < 0)
		return -1;
	for (size_t i = 0; i < pg->n; i++)
		results[i] = res[pg->v[i].st];
	return page_slow(pg, prs, results);
}

static int
prs_write(struct db *db, const struct conf *c, const json_val *prs, size_t n,
    const char *source, int import, const struct store_from *from, int *results)
{
	struct page pg;
	unsigned long long *ids;
	int rc = -1;

	memset(&pg, 0, sizeof pg);
	pg.db = db;
	pg.c = c;
	pg.source = source ? source : "sync";
	pg.import = import;
	pg.from = from;
	pg.n = n;
	if (n == 0)
		return 0;
	pg.v = calloc(n, sizeof *pg.v);
	ids = calloc(2 * n + 1, sizeof *ids);
	if (pg.v != NULL && ids != NULL)
		rc = page_write(&pg, prs, results, ids);
	for (size_t i = 0; pg.v && i < n; i++) {
		free(pg.v[i].p.labels);
		free(pg.v[i].stored_labels);
	}
	free(pg.v);
	free(ids);
	db_args_free(&pg.a);
	buf_free(&pg.sql);
	return rc;
}

int
store_prs(struct db *db, const struct conf *c, const json_val *prs, size_t n,
    const char *source, int import, int *results)
{
	return prs_write(db, c, prs, n, source, import, NULL, results);
}

int
store_prs_from(struct db *db, const struct conf *c, const json_val *prs, size_t n,
    const char *source, const struct store_from *from, int *results)
{
	return prs_write(db, c, prs, n, source, 0, from, results);
}
