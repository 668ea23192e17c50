#define _GNU_SOURCE
#include "sync.h"
#include "buf.h"
#include "conf.h"
#include "date.h"
#include "db.h"
#include "github.h"
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "rollup.h"
#include "store.h"
#include "thread.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JSON_DEPTH 64
#define PR_PAGE 100	/* PRs a page of a walk asks for (per_page) */


static int
map_gh(struct job_ctx *s, int rc, const struct gh_resp *r, const char *gherr)
{
	lb_strlcpy(s->err, gherr, sizeof s->err);
	switch (rc) {
	case GH_EWAIT: return JOB_EWAIT;
	case GH_ESTOP: return JOB_ESTOP;
	case GH_ENET:  return JOB_ERETRY;
	case GH_EHTTP:
		/* 401/404/410/422: retrying will not help; 403 without a
		 * rate-limit sign (no access) neither */
		(void)r;
		return JOB_EPERM;
	default:       return JOB_EPERM;
	}
}

static int
db_fail(struct job_ctx *s, const char *what)
{
	lb_snprintf(s->err, sizeof s->err, "database: %s: %s", what, db_error(s->db));
	db_rollback(s->db);
	return JOB_ERETRY;
}

/* GET url and parse an array or object answer. 1 with *root, 0 on 304. */
static int
fetch(struct job_ctx *s, const char *url, const char *etag, struct gh_resp *r,
    json_val *root, int want_array)
{
	char err[512], perr[128];
	int rc;

	*root = NULL;
	if (s->stop && *s->stop) {
		lb_snprintf(s->err, sizeof s->err, "stopped");
		return JOB_ESTOP;
	}
	rc = gh_get(s->gh, url, etag, r, err, sizeof err);
	if (rc != GH_OK)
		return map_gh(s, rc, r, err);
	if (r->not_modified)
		return 0;
	*root = json_parse(r->body.data ? r->body.data : "", r->body.len, JSON_DEPTH, GH_MAX_BODY,
	    perr, sizeof perr);
	if (*root == NULL) {
		lb_snprintf(s->err, sizeof s->err, "GET %.300s: %s", url, perr);
		return JOB_ERETRY;
	}
	if (want_array ? !json_is_array(*root) : !json_is_object(*root)) {
		lb_snprintf(s->err, sizeof s->err, "GET %.300s: expected a JSON %s", url,
		    want_array ? "array" : "object");
		json_free(*root);
		*root = NULL;
		return JOB_ERETRY;
	}
	return 1;
}

static int
report(struct job_ctx *s, struct job_progress *p)
{
	p->requests = s->gh->requests;
	p->rate_remaining = s->gh->rate_remaining;
	if (s->progress && s->progress(s->arg, p) != 0) {
		lb_snprintf(s->err, sizeof s->err, "stopped (lease lost or interrupted)");
		return JOB_ESTOP;
	}
	return 0;
}

static int
state_started(struct job_ctx *s, const char *name)
{
	return db_exec(s->db, "INSERT INTO sync_state (name, last_started_at, last_status) "
	    "VALUES (?, NOW(6), 'running') ON DUPLICATE KEY UPDATE last_started_at = NOW(6), "
	    "last_status = 'running'", "s", name);
}

static void
state_failed(struct job_ctx *s, const char *name)
{
	if (db_exec(s->db, "UPDATE sync_state SET last_status = 'failed', "
	    "last_finished_at = NOW(6) WHERE name = ?", "s", name) < 0)
		log_warn("sync_state %s: %s", name, db_error(s->db));
}

/* ---------------------------------------------------------------- teams */

/* The pages of a list, kept until its transaction. */
struct pages {
	json_val *v;
	size_t n;
	char first_etag[GH_ETAG_MAX];	/* page 1's */
	int single;			/* the list fits on page 1 */
};

static void
pages_free(struct pages *p)
{
	for (size_t i = 0; i < p->n; i++)
		json_free(p->v[i]);
	free(p->v);
}

/* GET first (page 1 with etag) and every next page into out, counting them
 * in pg. After page max_pages + 1 the walk stops: there, or with JOB_EPERM
 * "WHAT: too many pages" when what is not NULL. 1 with the pages, 0 when
 * page 1 answered 304, else a JOB_* code. */
static int
fetch_pages(struct job_ctx *s, const char *first, const char *etag, int max_pages,
    const char *what, struct pages *out, struct job_progress *pg)
{
	char url[GH_URL_MAX];
	struct gh_resp r;
	int rc = 1;

	lb_strlcpy(url, first, sizeof url);
	gh_resp_init(&r);
	for (int page = 1;; page++) {
		json_val root, *n;
		int got = fetch(s, url, page == 1 ? etag : NULL, &r, &root, 1);

		if (got <= 0) {
			rc = got;
			break;
		}
		if (page == 1) {
			lb_strlcpy(out->first_etag, r.etag, sizeof out->first_etag);
			out->single = r.next[0] == '\0';
		}
		n = realloc(out->v, (out->n + 1) * sizeof *n);
		if (n == NULL) {
			json_free(root);
			lb_snprintf(s->err, sizeof s->err, "out of memory");
			rc = JOB_ERETRY;
			break;
		}
		out->v = n;
		out->v[out->n++] = root;
		pg->pages++;
		if (r.next[0] == '\0')
			break;
		if (page > max_pages) {
			if (what) {
				lb_snprintf(s->err, sizeof s->err, "%s: too many pages", what);
				rc = JOB_EPERM;
			}
			break;
		}
		lb_strlcpy(url, r.next, sizeof url);
	}
	gh_resp_free(&r);
	return rc;
}

/* After db_txn() failed: its error as s->err. */
static int
txn_error(struct job_ctx *s, const char *what)
{
	lb_snprintf(s->err, sizeof s->err, "database: %s: %s", what, db_error(s->db));
	return JOB_ERETRY;
}

/* The lists' ETag: kept only for a list on one page (a change on page 2
 * does not change page 1's). */
static int
keep_etag(struct db *db, const char *first, const struct pages *p)
{
	return p->single ? gh_cache_put(db, first, p->first_etag) : gh_cache_del(db, first);
}

/* One team's members as one transaction (db_txn()): what failed in `what`. */
struct members_txn {
	const char *slug, *first, *now, *what;
	unsigned long long team_id;
	const struct pages *pages;
	struct job_progress *pg;
	long items0;
	unsigned long long *ids;	/* the members listed */
	size_t nids, cap;
};

static int
remember_member(struct members_txn *t, unsigned long long id)
{
	if (lb_grow(&t->ids, &t->cap, t->nids, sizeof *t->ids, 64) < 0)
		return -1;
	t->ids[t->nids++] = id;
	return 0;
}

/* Open memberships of the team whose member GitHub no longer lists end now. */
static int
end_unlisted(struct db *db, struct members_txn *t)
{
	struct db_res *res;
	int rc = 0;

	t->what = "memberships";
	if (db_query(db, &res, "SELECT DISTINCT user_id FROM memberships WHERE team_id = ? "
	    "AND ended_at IS NULL", "u", t->team_id) < 0)
		return -1;
	for (size_t i = 0; i < res->nrows && rc == 0; i++) {
		unsigned long long uid = strtoull(db_get(res, i, 0), NULL, 10);
		int found = 0;
		for (size_t k = 0; k < t->nids && !found; k++)
			found = t->ids[k] == uid;
		if (!found)
			rc = store_member_end(db, t->team_id, uid, t->now);
	}
	db_res_free(res);
	return rc;
}

/* One attempt: users and memberships of the listed members, ended ones of
 * the others, the team's members_synced_at and the list's ETag. */
static int
members_txn(struct db *db, void *arg)
{
	struct members_txn *t = arg;

	t->nids = 0;
	t->pg->items = t->items0;
	t->what = "memberships";
	for (size_t p = 0; p < t->pages->n; p++) {
		JSON_EACH(u, t->pages->v[p]) {
			long long id = json_ll(u, "id", -1);
			int src;
			if (id <= 0) {
				log_warn("team %s: member without id skipped", t->slug);
				continue;
			}
			src = store_user(db, u);
			if (src == STORE_EBADINPUT) {
				log_warn("team %s: malformed member skipped", t->slug);
				continue;
			}
			if (src < 0 || store_member_start(db, t->team_id, (unsigned long long)id, NULL, "sync") < 0)
				return -1;
			if (remember_member(t, (unsigned long long)id) < 0)
				return 1;	/* out of memory */
			t->pg->items++;
		}
	}
	if (end_unlisted(db, t) < 0)
		return -1;
	t->what = "teams";
	if (db_exec(db, "UPDATE teams SET members_synced_at = NOW(6) WHERE id = ?", "u", t->team_id) < 0 ||
	    keep_etag(db, t->first, t->pages) < 0)
		return -1;
	t->what = "commit";
	return 0;
}

static int
members_store(struct job_ctx *s, unsigned long long team_id, const char *slug, const char *first,
    const struct pages *pages, struct job_progress *pg)
{
	char now[32];
	struct members_txn t = { .slug = slug, .first = first, .now = now, .what = "begin",
	    .team_id = team_id, .pages = pages, .pg = pg, .items0 = pg->items };
	int rc;

	store_now(now, sizeof now);
	rc = db_txn(s->db, SYNC_DEADLOCK_RETRIES + 1, members_txn, &t);
	free(t.ids);
	if (rc > 0) {
		lb_snprintf(s->err, sizeof s->err, "out of memory");
		return JOB_ERETRY;
	}
	return rc < 0 ? txn_error(s, t.what) : report(s, pg);
}

/* The members of one team (all pages), stored in one transaction. */
static int
members_walk(struct job_ctx *s, unsigned long long team_id, const char *slug, int full,
    struct job_progress *pg)
{
	char org[256], eslug[320], first[GH_URL_MAX], etag[GH_ETAG_MAX] = "", what[400];
	struct pages pages = { 0 };
	int rc;

	if (gh_escape(s->conf->partner_org, org, sizeof org) < 0 || gh_escape(slug, eslug, sizeof eslug) < 0 ||
	    lb_snprintf(first, sizeof first, "/orgs/%s/teams/%s/members?per_page=100", org, eslug) < 0) {
		lb_snprintf(s->err, sizeof s->err, "team slug too long");
		return JOB_EPERM;
	}
	if (!full && gh_cache_get(s->db, first, etag, sizeof etag) < 0)
		return db_fail(s, "http_cache");
	lb_snprintf(what, sizeof what, "members of %s", slug);
	rc = fetch_pages(s, first, etag, 10000, what, &pages, pg);
	if (rc == 0) {	/* 304: unchanged since the last complete fetch */
		rc = JOB_OK;
		if (db_exec(s->db, "UPDATE teams SET members_synced_at = NOW(6) WHERE id = ?",
		    "u", team_id) < 0)
			rc = db_fail(s, "teams");
	} else if (rc > 0)
		rc = members_store(s, team_id, slug, first, &pages, pg);
	pages_free(&pages);
	return rc;
}

static int
org_fetch(struct job_ctx *s, unsigned long long *org_id)
{
	char org[256], url[400];
	struct gh_resp r;
	json_val root;
	long long id;
	int rc;

	if (gh_escape(s->conf->partner_org, org, sizeof org) < 0 ||
	    lb_snprintf(url, sizeof url, "/orgs/%s", org) < 0) {
		lb_snprintf(s->err, sizeof s->err, "partner_org too long");
		return JOB_EPERM;
	}
	gh_resp_init(&r);
	rc = fetch(s, url, NULL, &r, &root, 0);
	gh_resp_free(&r);
	if (rc < 0)
		return rc;
	id = json_ll(root, "id", -1);
	if (id <= 0 || json_str(root, "login") == NULL) {
		json_free(root);
		lb_snprintf(s->err, sizeof s->err, "GET %s: no id/login", url);
		return JOB_ERETRY;
	}
	*org_id = (unsigned long long)id;
	if (db_exec(s->db, "INSERT INTO organizations (id, login, is_partner) VALUES (?, ?, 1) "
	    "ON DUPLICATE KEY UPDATE login = VALUES(login), is_partner = 1", "us",
	    *org_id, json_str(root, "login")) < 0) {
		json_free(root);
		return db_fail(s, "organizations");
	}
	json_free(root);
	return JOB_OK;
}

/* The org's team list as one transaction (db_txn()). */
struct teams_txn {
	const char *first, *now, *what;
	unsigned long long org_id;
	const struct pages *pages;
};

static int
team_listed(const struct pages *pages, long long id)
{
	for (size_t p = 0; p < pages->n; p++)
		for (json_val t = json_first(pages->v[p]); t; t = json_next(pages->v[p], t))
			if (json_ll(t, "id", -1) == id)
				return 1;
	return 0;
}

/* Teams of the org GitHub no longer lists: deleted (memberships end now). */
static int
mark_deleted(struct db *db, const struct teams_txn *t)
{
	struct db_res *res;
	int rc = 0;

	if (db_query(db, &res, "SELECT id, slug FROM teams WHERE org_id = ? AND deleted_at IS NULL",
	    "u", t->org_id) < 0)
		return -1;
	for (size_t i = 0; i < res->nrows && rc == 0; i++) {
		long long id = db_getll(res, i, 0, 0);
		if (team_listed(t->pages, id))
			continue;
		log_info("teams: %s is gone from GitHub: marked deleted", db_get(res, i, 1));
		rc = store_team_deleted(db, (unsigned long long)id, t->now);
	}
	db_res_free(res);
	return rc;
}

static int
teams_txn(struct db *db, void *arg)
{
	struct teams_txn *t = arg;

	t->what = "teams";
	for (size_t p = 0; p < t->pages->n; p++)
		JSON_EACH(team, t->pages->v[p]) {
			int src = store_team(db, team, t->org_id);
			if (src == STORE_EBADINPUT)
				log_warn("teams: malformed team skipped");
			else if (src < 0)
				return -1;
		}
	if (mark_deleted(db, t) < 0)
		return -1;
	t->what = "http_cache";
	if (keep_etag(db, t->first, t->pages) < 0)
		return -1;
	t->what = "commit";
	return 0;
}

/* The org's teams (all pages): upserted, the unlisted marked deleted. */
static int
teams_list(struct job_ctx *s, unsigned long long org_id, int full, struct job_progress *pg)
{
	char org[256], first[400], etag[GH_ETAG_MAX] = "", now[32];
	struct pages pages = { 0 };
	struct teams_txn t = { .first = first, .now = now, .what = "begin", .org_id = org_id,
	    .pages = &pages };
	int rc;

	gh_escape(s->conf->partner_org, org, sizeof org);
	lb_snprintf(first, sizeof first, "/orgs/%s/teams?per_page=100", org);
	if (!full && gh_cache_get(s->db, first, etag, sizeof etag) < 0)
		return db_fail(s, "http_cache");
	rc = fetch_pages(s, first, etag, 1000, NULL, &pages, pg);
	if (rc > 0) {
		store_now(now, sizeof now);
		rc = db_txn(s->db, SYNC_DEADLOCK_RETRIES + 1, teams_txn, &t) < 0
		    ? txn_error(s, t.what) : JOB_OK;
	}
	pages_free(&pages);
	return rc;	/* 0 too: 304, the list is unchanged */
}

/* The members of every live team of the org. */
static int
teams_members(struct job_ctx *s, unsigned long long org_id, int full, struct job_progress *pg)
{
	struct db_res *res;
	int rc = JOB_OK;

	if (db_query(s->db, &res, "SELECT id, slug FROM teams WHERE org_id = ? AND deleted_at IS NULL "
	    "ORDER BY id", "u", org_id) < 0)
		return db_fail(s, "teams");
	pg->last_page = pg->pages + (long)res->nrows;
	for (size_t i = 0; i < res->nrows && rc == JOB_OK; i++)
		rc = members_walk(s, (unsigned long long)db_getll(res, i, 0, 0), db_get(res, i, 1), full, pg);
	db_res_free(res);
	return rc;
}

int
sync_teams(struct job_ctx *s, int full)
{
	char why[128];
	struct job_progress pg;
	unsigned long long org_id = 0;
	int rc;

	memset(&pg, 0, sizeof pg);
	pg.what = "teams";
	pg.started = time(NULL);
	if (!gh_ready(s->conf, "teams", why, sizeof why)) {
		lb_snprintf(s->err, sizeof s->err, "teams sync: %s", why);
		return JOB_EPERM;
	}
	if (state_started(s, "teams") < 0)
		return db_fail(s, "sync_state");
	if ((rc = org_fetch(s, &org_id)) == JOB_OK && (rc = teams_list(s, org_id, full, &pg)) >= 0)
		rc = teams_members(s, org_id, full, &pg);
	if (rc < 0) {
		state_failed(s, "teams");
		return rc;
	}
	if (db_exec(s->db, "UPDATE sync_state SET last_finished_at = NOW(6), last_status = 'ok', "
	    "last_full_at = IF(?, NOW(6), last_full_at), detail = NULL WHERE name = 'teams'", "i",
	    (long long)full) < 0)
		return db_fail(s, "sync_state");
	return JOB_OK;
}

/* One object in a transaction of its own (db_txn()): a team or a PR. */
struct one_txn {
	const struct conf *conf;
	json_val obj;
	unsigned long long org_id;
};

static int
team_txn(struct db *db, void *arg)
{
	const struct one_txn *t = arg;
	int rc = store_team(db, t->obj, t->org_id);

	return rc == STORE_EBADINPUT ? 1 : rc < 0 ? -1 : 0;
}

int
sync_team(struct job_ctx *s, const char *slug, int full)
{
	char org[256], eslug[320], url[700], why[128];
	struct job_progress pg;
	struct one_txn t = { 0 };
	struct gh_resp r;
	json_val root, oid;
	long long id;
	int rc;

	memset(&pg, 0, sizeof pg);
	pg.what = slug;
	pg.started = time(NULL);
	if (!gh_ready(s->conf, "teams", why, sizeof why)) {
		lb_snprintf(s->err, sizeof s->err, "team sync: %s", why);
		return JOB_EPERM;
	}
	if (gh_escape(s->conf->partner_org, org, sizeof org) < 0 || gh_escape(slug, eslug, sizeof eslug) < 0 ||
	    lb_snprintf(url, sizeof url, "/orgs/%s/teams/%s", org, eslug) < 0) {
		lb_snprintf(s->err, sizeof s->err, "team slug too long");
		return JOB_EPERM;
	}
	gh_resp_init(&r);
	rc = fetch(s, url, NULL, &r, &root, 0);
	gh_resp_free(&r);
	if (rc < 0)
		return rc;
	id = json_ll(root, "id", -1);
	oid = json_get(root, "organization", "id", NULL);
	if (id <= 0) {
		json_free(root);
		lb_snprintf(s->err, sizeof s->err, "GET %s: team without id", url);
		return JOB_ERETRY;
	}
	t.obj = root;
	t.org_id = json_is_integer(oid) && json_integer(oid) > 0 ? (unsigned long long)json_integer(oid) : 0;
	rc = db_txn(s->db, SYNC_DEADLOCK_RETRIES + 1, team_txn, &t);
	json_free(root);
	if (rc > 0) {
		lb_snprintf(s->err, sizeof s->err, "GET %s: malformed team", url);
		return JOB_EPERM;
	}
	if (rc < 0)
		return txn_error(s, "teams");
	return members_walk(s, (unsigned long long)id, slug, full, &pg);
}

/* ------------------------------------------------------------------ PRs */

struct checkpoint {
	char next[GH_URL_MAX];
	char top[32];		/* newest updated_at of the walk ("" none) */
	char etag[GH_ETAG_MAX];
	long pages, items;
};

static int
checkpoint_read(const char *detail, struct checkpoint *cp)
{
	char err[64];
	json_val v;
	const char *n, *t, *e;

	memset(cp, 0, sizeof *cp);
	if (detail == NULL || *detail != '{')
		return 0;
	v = json_parse(detail, strlen(detail), 4, 4096, err, sizeof err);
	if (v == NULL)
		return 0;
	n = json_str(v, "next");
	t = json_str(v, "top");
	e = json_str(v, "etag");
	if (n && *n) {
		lb_strlcpy(cp->next, n, sizeof cp->next);
		lb_strlcpy(cp->top, t ? t : "", sizeof cp->top);
		lb_strlcpy(cp->etag, e ? e : "", sizeof cp->etag);
		cp->pages = (long)json_ll(v, "pages", 0);
		cp->items = (long)json_ll(v, "items", 0);
	}
	json_free(v);
	return cp->next[0] != '\0';
}

static int
checkpoint_write(struct job_ctx *s, const char *name, const struct checkpoint *cp)
{
	struct jw w;
	const char *out;
	size_t len;
	char *copy;
	int rc = -1;

	if (jw_init(&w) < 0)
		return -1;
	jw_obj(&w);
	jw_kv_str(&w, "next", cp->next);
	jw_kv_str(&w, "top", cp->top);
	jw_kv_str(&w, "etag", cp->etag);
	jw_kv_int(&w, "pages", cp->pages);
	jw_kv_int(&w, "items", cp->items);
	jw_obj_end(&w);
	if (jw_finish(&w, &out, &len) == 0 && len <= 1024 && (copy = lb_strndup(out, len)) != NULL) {
		rc = db_exec(s->db, "UPDATE sync_state SET detail = ? WHERE name = ?", "ss", copy, name);
		free(copy);
	}
	jw_free(&w);
	return rc;
}

/* A PR walk of one repository: what sync_prs() keeps between pages. */
struct walk {
	struct job_ctx *s;
	const char *repo;
	char first[GH_URL_MAX], url[GH_URL_MAX], name[300], etag[GH_ETAG_MAX];
	struct checkpoint cp;
	struct job_progress pg;
	time_t watermark, stop_before, top_t;	/* -1: none */
	int full, bad;
	int import;	/* an import: its PRs wait in stat_import for one rebuild */
	struct folder *folder;	/* a full walk's fold thread, or NULL: fold here */
};

/*
 * A full walk folds its pages into the statistics in a thread of its own,
 * on a connection of its own, while the walk stores the next page: the
 * fold of page k and the write of page k+1 run on both of MariaDB's cores
 * instead of one after the other. folder_kick() after each page's commit
 * asks for a fold of everything queued (a kick while folding runs it once
 * more), and waits while more than FOLD_LAG stored pages are not folded
 * yet: the fold is the slower of the two at scale, and the queue must stay
 * short (lb-api folds the queued PRs an answer reads before answering).
 * folder_stop() runs what was asked, then ends the thread, so the queue is
 * folded when the walk returns, as without the thread. Without a
 * connection or a thread the walk folds in its own thread (NULL folder).
 */
#define FOLD_LAG 2	/* pages stored and not yet folded, at most */

struct folder {
	struct db *db;
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* kicked, folded or quit changed */
	unsigned long kicked, folded;	/* pages asked for, pages folded */
	int quit;
	const char *repo;
};

static void *
folder_main(void *arg)
{
	struct folder *f = arg;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		unsigned long upto;
		while (f->folded == f->kicked && !f->quit)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->folded == f->kicked)
			break;
		upto = f->kicked;	/* every page committed before this fold */
		pthread_mutex_unlock(&f->mu);
		if (rollup_fold(f->db, 0, NULL) < 0)
			log_warn("%s: statistics: %s", f->repo, db_error(f->db));
		pthread_mutex_lock(&f->mu);
		f->folded = upto;	/* folded, or left to the next fold */
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static struct folder *
folder_start(const struct conf *c, const char *repo)
{
	struct folder *f = calloc(1, sizeof *f);
	char err[256];
	int e;

	if (f == NULL)
		return NULL;
	f->repo = repo;
	if ((f->db = db_open(c, err, sizeof err)) == NULL) {
		log_warn("%s: statistics fold in the walk's thread: %s", repo, err);
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	e = lb_thread_start(&f->tid, folder_main, f);	/* signals stay the walk's thread's */
	if (e != 0) {
		pthread_cond_destroy(&f->cv);
		pthread_mutex_destroy(&f->mu);
		db_close(f->db);
		free(f);
		return NULL;
	}
	return f;
}

static void
folder_kick(struct folder *f)
{
	pthread_mutex_lock(&f->mu);
	f->kicked++;
	pthread_cond_broadcast(&f->cv);
	while (f->kicked - f->folded > FOLD_LAG)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

static void
folder_stop(struct folder *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->quit = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->tid, NULL);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	db_close(f->db);
	free(f);
}

/* One page of a walk: its PRs (down to the watermark) and, in a full walk,
 * the checkpoint, in one transaction (store_prs: a few multi-row statements
 * for the whole page). Derived from w and the page only, so db_txn can run
 * it again; the outputs go to w once it committed (page_store). */
struct page_txn {
	struct walk *w;
	json_val root;
	const char *next;
	/* out */
	time_t top_t;
	long items;
	int bad, done;
};

/*
 * For the tests only (tests/e2e/sync-kill.test.mjs): with the environment
 * variable LB_TEST_KILL_IN_PAGE=N, lb-syncd kills itself with SIGKILL in
 * the transaction of the walk's page N, after its PRs were written and
 * before the checkpoint and the COMMIT: the worst moment for a kill -9,
 * reached without timing. Unset (as everywhere else), it does nothing.
 */
static void
kill_in_page(long page, size_t prs)
{
	const char *v = getenv("LB_TEST_KILL_IN_PAGE");
	long at = v ? strtol(v, NULL, 10) : 0;

	if (at <= 0 || page != at)
		return;
	log_warn("LB_TEST_KILL_IN_PAGE: SIGKILL in page %ld, %zu PRs written, not committed",
	    page, prs);
	raise(SIGKILL);
}

static int
page_txn_run(struct db *db, void *arg)
{
	struct page_txn *t = arg;
	struct walk *w = t->w;
	size_t n = json_len(t->root), k = 0;
	json_val *prs = calloc(n ? n : 1, sizeof *prs);
	int *res = calloc(n ? n : 1, sizeof *res), rc = -1;
	struct checkpoint cp = w->cp;

	t->done = 0;
	t->top_t = w->top_t;
	t->items = w->pg.items;
	t->bad = w->bad;
	if (prs == NULL || res == NULL)
		goto out;
	JSON_EACH(pr, t->root) {
		time_t upd = date_epoch(json_str(pr, "updated_at"));
		if (upd > t->top_t)
			t->top_t = upd;
		if (w->stop_before >= 0 && upd >= 0 && upd < w->stop_before) {
			t->done = 1;	/* older than the watermark: seen before */
			break;
		}
		prs[k++] = pr;
	}
	if (store_prs(db, w->s->conf, prs, k, "sync", w->import, res) < 0)
		goto out;
	for (size_t i = 0; i < k; i++) {
		if (res[i] == STORE_EBADINPUT) {
			t->bad++;
			log_warn("%s: malformed pull request #%lld skipped", w->repo,
			    json_ll(prs[i], "number", -1));
		} else
			t->items++;
	}
	kill_in_page(w->pg.pages + 1, k);
	if (t->next[0] == '\0')
		t->done = 1;
	rc = 0;
	if (w->full && !t->done) {	/* checkpoint, in the page's transaction */
		lb_strlcpy(cp.next, t->next, sizeof cp.next);
		if (t->top_t >= 0)
			date_sql(t->top_t, cp.top, sizeof cp.top);
		cp.pages = w->pg.pages + 1;
		cp.items = t->items;
		rc = checkpoint_write(w->s, w->name, &cp);
	}
out:
	free(prs);
	free(res);
	return rc;
}

/* Stores one page (READ COMMITTED: the page's locking read locks only the
 * PR rows it finds), again after a deadlock or a certification conflict,
 * and on the next node after a lost one (db_txn_with: a page run twice
 * stores nothing twice, snapshots by updated_at, the checkpoint by name).
 * Then the page's PRs reach the statistics (lib/rollup.h: the queue stays
 * one page long). JOB_OK, or JOB_ERETRY with s->err set. */
static int
page_store(struct walk *w, json_val root, const char *next, int *done)
{
	struct db_txn_opt o = { SYNC_DEADLOCK_RETRIES + 1, 1, NULL };
	struct page_txn t = { w, root, next, -1, 0, 0, 0 };

	if (db_txn_with(w->s->db, &o, page_txn_run, &t) < 0) {
		lb_snprintf(w->s->err, sizeof w->s->err, "database: pull_requests: %s",
		    db_error(w->s->db));
		return JOB_ERETRY;
	}
	w->top_t = t.top_t;
	w->pg.items = t.items;
	w->bad = t.bad;
	w->pg.pages++;
	*done = t.done;
	if (w->folder != NULL)
		folder_kick(w->folder);
	else if (rollup_fold(w->s->db, 0, NULL) < 0)
		log_warn("%s: statistics: %s", w->repo, db_error(w->s->db));
	return JOB_OK;
}

/* The walk's URLs and state: a checkpoint resumes an interrupted full walk,
 * else a full walk (full, or never synced) or one down to the watermark
 * (page 1 conditional on its ETag). JOB_OK or an error with s->err. */
static int
walk_open(struct walk *w, int full)
{
	struct job_ctx *s = w->s;
	char owner[128], rname[128], eo[400], er[400], why[128];
	struct db_res *res;

	w->pg.what = w->repo;
	w->pg.started = time(NULL);
	w->watermark = w->stop_before = w->top_t = -1;
	if (!gh_ready(s->conf, "prs", why, sizeof why)) {
		lb_snprintf(s->err, sizeof s->err, "PR sync: %s", why);
		return JOB_EPERM;
	}
	if (gh_split_repo(w->repo, owner, sizeof owner, rname, sizeof rname) < 0) {
		lb_snprintf(s->err, sizeof s->err, "bad repository '%.200s' (want OWNER/NAME)", w->repo);
		return JOB_EPERM;
	}
	if (gh_escape(owner, eo, sizeof eo) < 0 || gh_escape(rname, er, sizeof er) < 0 ||
	    lb_snprintf(w->first, sizeof w->first,
	    "/repos/%s/%s/pulls?state=all&sort=updated&direction=desc&per_page=%d", eo, er,
	    PR_PAGE) < 0 ||
	    lb_snprintf(w->name, sizeof w->name, "prs:%s", w->repo) < 0) {
		lb_snprintf(s->err, sizeof s->err, "repository name too long");
		return JOB_EPERM;
	}
	if (db_query(s->db, &res, "SELECT watermark, detail FROM sync_state WHERE name = ?", "s",
	    w->name) < 0)
		return db_fail(s, "sync_state");
	if (res->nrows == 1)
		w->watermark = date_epoch(db_get(res, 0, 0));
	if (res->nrows == 1 && checkpoint_read(db_get(res, 0, 1), &w->cp)) {
		w->full = 1;	/* an interrupted full walk: resume it */
		lb_strlcpy(w->url, w->cp.next, sizeof w->url);
		w->pg.pages = w->pg.resumed_pages = w->cp.pages;
		w->pg.items = w->cp.items;
		w->top_t = date_epoch(w->cp.top);
		log_info("%s: resuming the full walk at page %ld", w->repo, w->cp.pages + 1);
	} else {
		w->full = full || w->watermark < 0;
		lb_strlcpy(w->url, w->first, sizeof w->url);
		if (!w->full && gh_cache_get(s->db, w->first, w->etag, sizeof w->etag) < 0) {
			db_res_free(res);
			return db_fail(s, "http_cache");
		}
	}
	db_res_free(res);
	if (!w->full)
		w->stop_before = w->watermark - GH_UPDATED_OVERLAP;
	return state_started(s, w->name) < 0 ? db_fail(s, "sync_state") : JOB_OK;
}

/* The end of a walk, one transaction: the new watermark, the checkpoint
 * cleared, page 1's ETag kept (all idempotent: run again after a lost
 * COMMIT, it writes the same). */
static int
walk_close_txn(struct db *db, void *arg)
{
	struct walk *w = arg;
	char wm[32] = "";

	if (w->top_t >= 0 && w->top_t > w->watermark)
		date_sql(w->top_t, wm, sizeof wm);
	if (db_exec(db, "UPDATE sync_state SET watermark = COALESCE(?, watermark), "
	    "detail = ?, last_finished_at = NOW(6), last_status = 'ok', "
	    "last_full_at = IF(?, NOW(6), last_full_at) WHERE name = ?", "ssis",
	    wm[0] ? wm : NULL, w->bad ? "malformed pull requests skipped" : NULL,
	    (long long)w->full, w->name) < 0)
		return -1;
	return w->cp.etag[0] && gh_cache_put(db, w->first, w->cp.etag) < 0 ? -1 : 0;
}

/*
 * The next page of a full walk is fetched by a second thread while the
 * current one is stored: a backfill takes about the longer of GitHub's and
 * MariaDB's time, not their sum. Only a full walk reads ahead (it reads
 * every page to the end: no request is spent that the walk would not
 * make); an incremental one stops at the watermark. The two threads never
 * use the GitHub client at the same time: the walk joins the reader before
 * its next use of s->gh (report() reads its counters). The reader has a
 * job_ctx of its own for its error line.
 */
struct ahead {
	struct job_ctx ctx;	/* a copy of the walk's, own err */
	char url[GH_URL_MAX];
	struct gh_resp *r;
	json_val root;
	int rc;
	pthread_t tid;
	int running;
};

static void *
ahead_main(void *arg)
{
	struct ahead *a = arg;

	a->rc = fetch(&a->ctx, a->url, NULL, a->r, &a->root, 1);
	return NULL;
}

/* Starts reading url into r; falls back to reading it in the walk's
 * thread (ahead_take) when no thread can be made. */
static void
ahead_start(struct ahead *a, struct job_ctx *s, const char *url, struct gh_resp *r)
{

	a->ctx = *s;
	a->ctx.err[0] = '\0';
	lb_strlcpy(a->url, url, sizeof a->url);
	a->r = r;
	a->root = NULL;
	a->rc = JOB_ERETRY;
	a->running = lb_thread_start(&a->tid, ahead_main, a) == 0;
}

/* The page read ahead: fetch()'s answer, with its root and s->err. */
static int
ahead_take(struct ahead *a, struct job_ctx *s, json_val *root)
{
	if (a->running)
		pthread_join(a->tid, NULL);
	else
		ahead_main(a);
	a->running = 0;
	*root = a->root;
	if (a->rc <= 0)
		lb_strlcpy(s->err, a->ctx.err, sizeof s->err);
	return a->rc;
}

/*
 * A full walk with [sync] import_prs PRs or more ahead of it (from the
 * first page's rel="last": PR_PAGE a page) is an import: its pages record their
 * PRs in stat_import (sql/020) instead of stat_queue, and the walk ends with
 * one rebuild of the statistics (set-based, minutes at a million PRs, where
 * the fold page by page takes hours). The fold thread still folds what
 * webhooks queue meanwhile. A walk resumed after an interruption is an
 * import again when imported PRs are still waiting.
 */
static int
walk_import(struct walk *w)
{
	const struct conf *c = w->s->conf;
	struct db_res *r;
	int waiting;

	if (!w->full || c->import_prs <= 0)
		return 0;
	if (w->pg.last_page > w->pg.pages &&
	    (w->pg.last_page - w->pg.pages) * PR_PAGE >= c->import_prs)
		return 1;
	if (w->pg.resumed_pages == 0)
		return 0;
	if (db_query(w->s->db, &r, "SELECT EXISTS (SELECT 1 FROM stat_import)", "") < 0)
		return -1;
	waiting = db_getll(r, 0, 0, 0) != 0;
	db_res_free(r);
	return waiting;
}

/* The import's end: its PRs counted by a rebuild (forced; lb-syncd rebuilds
 * later for rows a rebuild did not take: rollup_import_check). */
static void
walk_import_end(struct walk *w)
{
	int rebuilt = 0, rc;

	log_info("%s: import of %ld PRs stored: rebuilding the statistics", w->repo, w->pg.items);
	/* a repository's first import fills settled months: no late changes */
	rc = rollup_check(w->s->db, w->s->conf, w->watermark < 0 ? ROLLUP_FORCE_IMPORT : ROLLUP_FORCE,
	    &rebuilt);
	if (rc < 0 || !rebuilt)
		log_warn("%s: the imported PRs are counted by a later rebuild (%s)", w->repo,
		    rc < 0 ? "this one failed" : "another process rebuilds or folds");
}

int
sync_prs(struct job_ctx *s, const char *repo, int full)
{
	struct walk *w = calloc(1, sizeof *w);
	struct gh_resp resp[2], *r = &resp[0];
	struct ahead ahead;
	json_val root;
	int rc, got = 0, have = 0;

	if (w == NULL) {
		lb_snprintf(s->err, sizeof s->err, "out of memory");
		return JOB_ERETRY;
	}
	w->s = s;
	w->repo = repo;
	if ((rc = walk_open(w, full)) != JOB_OK) {
		free(w);
		return rc;
	}
	memset(&ahead, 0, sizeof ahead);
	if (w->full)
		w->folder = folder_start(s->conf, repo);
	gh_resp_init(&resp[0]);
	gh_resp_init(&resp[1]);
	for (int page = 1;; page++) {
		int done = 0, fresh_first = page == 1 && w->cp.next[0] == '\0';

		if (!have)
			got = fetch(s, w->url, fresh_first ? w->etag : NULL, r, &root, 1);
		have = 0;
		if (got <= 0) {	/* 0: 304 on page 1, nothing changed since the last run */
			rc = got == 0 ? JOB_OK : got;
			break;
		}
		if (fresh_first)
			lb_strlcpy(w->cp.etag, r->etag, sizeof w->cp.etag);
		if (r->last_page)
			w->pg.last_page = r->last_page;
		if (page == 1 && (w->import = walk_import(w)) < 0) {
			rc = db_fail(s, "stat_import");
			json_free(root);
			break;
		}
		if (page == 1 && w->import)
			log_info("%s: import: the statistics are rebuilt once when the walk ends "
			    "([sync] import_prs = %lld)", repo, s->conf->import_prs);
		if (w->full && r->next[0] != '\0' && page < 1000000) {
			ahead_start(&ahead, s, r->next, r == &resp[0] ? &resp[1] : &resp[0]);
			have = 1;
		}
		rc = page_store(w, root, r->next, &done);
		json_free(root);
		if (have) {
			got = ahead_take(&ahead, s, &root);	/* always joined */
			if (rc < 0 || done) {
				json_free(root);
				have = 0;
			} else if (got < 0)
				rc = got;	/* the next page's error ends the walk here */
		}
		if (rc < 0 || (rc = report(s, &w->pg)) < 0 || done) {
			if (have)
				json_free(root);
			break;
		}
		lb_strlcpy(w->url, r->next, sizeof w->url);
		if (have)
			r = r == &resp[0] ? &resp[1] : &resp[0];
		if (page > 1000000) {
			lb_snprintf(s->err, sizeof s->err, "%s: too many pages", repo);
			rc = JOB_EPERM;
			break;
		}
	}
	gh_resp_free(&resp[0]);
	gh_resp_free(&resp[1]);
	folder_stop(w->folder);	/* the queue folded, as the walk leaves it */
	if (w->import > 0)
		walk_import_end(w);	/* what was stored counts, the walk done or not */
	if (rc < 0)
		state_failed(s, w->name);
	else if (db_txn(s->db, SYNC_DEADLOCK_RETRIES + 1, walk_close_txn, w) < 0)
		rc = db_fail(s, "sync_state");
	free(w);
	return rc;
}

static int
pr_txn(struct db *db, void *arg)
{
	const struct one_txn *t = arg;
	enum store_result sr;
	int rc = store_pr(db, t->conf, t->obj, "sync", &sr);

	return rc == STORE_EBADINPUT ? 1 : rc < 0 ? -1 : 0;
}

int
sync_pr(struct job_ctx *s, const char *repo, long number)
{
	char owner[128], rname[128], eo[400], er[400], url[1000], why[128];
	struct one_txn t = { 0 };
	struct gh_resp r;
	json_val root;
	int rc;

	if (!gh_ready(s->conf, "pr", why, sizeof why)) {
		lb_snprintf(s->err, sizeof s->err, "PR sync: %s", why);
		return JOB_EPERM;
	}
	if (gh_split_repo(repo, owner, sizeof owner, rname, sizeof rname) < 0 || number <= 0 ||
	    gh_escape(owner, eo, sizeof eo) < 0 || gh_escape(rname, er, sizeof er) < 0 ||
	    lb_snprintf(url, sizeof url, "/repos/%s/%s/pulls/%ld", eo, er, number) < 0) {
		lb_snprintf(s->err, sizeof s->err, "bad pull request '%.200s#%ld'", repo, number);
		return JOB_EPERM;
	}
	gh_resp_init(&r);
	rc = fetch(s, url, NULL, &r, &root, 0);
	gh_resp_free(&r);
	if (rc < 0)
		return rc;
	t.conf = s->conf;
	t.obj = root;
	rc = db_txn(s->db, SYNC_DEADLOCK_RETRIES + 1, pr_txn, &t);
	json_free(root);
	if (rc > 0) {
		lb_snprintf(s->err, sizeof s->err, "GET %s: malformed pull request", url);
		return JOB_EPERM;
	}
	return rc < 0 ? txn_error(s, "pull_requests") : JOB_OK;
}
