#define _GNU_SOURCE
#include "sync.h"
#include "buf.h"
#include "conf.h"
#include "db.h"
#include "github.h"
#include "integrity.h"
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "rollup.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JSON_DEPTH 64

int
sync_split_repo(const char *repo, char *owner, size_t olen, char *name, size_t nlen)
{
	const char *slash = repo ? strchr(repo, '/') : NULL;
	size_t ol;

	if (slash == NULL || slash == repo || slash[1] == '\0' || strchr(slash + 1, '/'))
		return -1;
	ol = (size_t)(slash - repo);
	if (ol + 1 > olen || strlen(slash + 1) + 1 > nlen || ol > 100 || strlen(slash + 1) > 100)
		return -1;
	memcpy(owner, repo, ol);
	owner[ol] = '\0';
	lb_strlcpy(name, slash + 1, nlen);
	for (const char *p = repo; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == '%')
			return -1;
	return 0;
}

int
sync_github_ready(const struct conf *c, const char *kind, char *why, size_t whylen)
{
	if (!conf_github_auth(c)) {
		lb_snprintf(why, whylen, "[github] token (or app_id + app_private_key_file) is not set");
		return 0;
	}
	if (strcmp(kind, "teams") == 0 && (c->partner_org == NULL || *c->partner_org == '\0')) {
		lb_snprintf(why, whylen, "[github] partner_org is not set");
		return 0;
	}
	if (strcmp(kind, "prs") == 0 && c->repositories.n == 0) {
		lb_snprintf(why, whylen, "[github] repositories is empty");
		return 0;
	}
	return 1;
}

/* "2024-03-01T10:00:00Z" or "2024-03-01 10:00:00[.ffffff]" -> epoch; -1 */
static time_t
parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || (*end != 'T' && *end != ' '))
		return -1;
	end = strptime(end + 1, "%H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	return timegm(&tm);
}

static void
fmt_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
}

static int
map_gh(struct sync_ctx *s, int rc, const struct gh_resp *r, const char *gherr)
{
	lb_strlcpy(s->err, gherr, sizeof s->err);
	switch (rc) {
	case GH_EWAIT: return SYNC_EWAIT;
	case GH_ESTOP: return SYNC_ESTOP;
	case GH_ENET:  return SYNC_ERETRY;
	case GH_EHTTP:
		/* 401/404/410/422: retrying will not help; 403 without a
		 * rate-limit sign (no access) neither */
		(void)r;
		return SYNC_EPERM;
	default:       return SYNC_EPERM;
	}
}

static int
db_fail(struct sync_ctx *s, const char *what)
{
	unsigned e = db_errno(s->db);

	/* 1213 deadlock, 1205 lock wait timeout: the transaction may simply
	 * be run again (another writer, e.g. a second lb-syncd, got there) */
	s->deadlock = e == 1213 || e == 1205;
	lb_snprintf(s->err, sizeof s->err, "database: %s: %s", what, db_error(s->db));
	db_rollback(s->db);
	return SYNC_ERETRY;
}

/* GET url and parse an array or object answer. 1 with *root, 0 on 304. */
/* After a failed transaction: 1 when it was a deadlock worth running again
 * (*tries counts them), after a short pause. */
static int
again(struct sync_ctx *s, int *tries)
{
	if (!s->deadlock || ++*tries > SYNC_DEADLOCK_RETRIES)
		return 0;
	log_info("%s; running the transaction again", s->err);
	s->deadlock = 0;
	usleep((useconds_t)(10000 * *tries));
	return 1;
}

static int
fetch(struct sync_ctx *s, const char *url, const char *etag, struct gh_resp *r,
    json_val *root, int want_array)
{
	char err[512], perr[128];
	int rc;

	*root = NULL;
	if (s->stop && *s->stop) {
		lb_snprintf(s->err, sizeof s->err, "stopped");
		return SYNC_ESTOP;
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
		return SYNC_ERETRY;
	}
	if (want_array ? !json_is_array(*root) : !json_is_object(*root)) {
		lb_snprintf(s->err, sizeof s->err, "GET %.300s: expected a JSON %s", url,
		    want_array ? "array" : "object");
		json_free(*root);
		*root = NULL;
		return SYNC_ERETRY;
	}
	return 1;
}

static int
report(struct sync_ctx *s, struct sync_progress *p)
{
	p->requests = s->gh->requests;
	p->rate_remaining = s->gh->rate_remaining;
	if (s->progress && s->progress(s->arg, p) != 0) {
		lb_snprintf(s->err, sizeof s->err, "stopped (lease lost or interrupted)");
		return SYNC_ESTOP;
	}
	return 0;
}

static int
state_started(struct sync_ctx *s, const char *name)
{
	return db_exec(s->db, "INSERT INTO sync_state (name, last_started_at, last_status) "
	    "VALUES (?, NOW(6), 'running') ON DUPLICATE KEY UPDATE last_started_at = NOW(6), "
	    "last_status = 'running'", "s", name);
}

static void
state_failed(struct sync_ctx *s, const char *name)
{
	if (db_exec(s->db, "UPDATE sync_state SET last_status = 'failed', "
	    "last_finished_at = NOW(6) WHERE name = ?", "s", name) < 0)
		log_warn("sync_state %s: %s", name, db_error(s->db));
}

/* ---------------------------------------------------------------- teams */

static int
members_walk(struct sync_ctx *s, unsigned long long team_id, const char *slug, int full,
    struct sync_progress *pg)
{
	char org[256], eslug[320], url[GH_URL_MAX], first[GH_URL_MAX], etag[GH_ETAG_MAX] = "";
	char now[32];
	unsigned long long *ids = NULL;
	size_t nids = 0, cap = 0;
	json_val *objs = NULL;	/* pages kept until the transaction */
	size_t npages = 0, pcap = 0;
	struct gh_resp r;
	struct db_res *res = NULL;
	int rc = SYNC_OK, single = 0, tries = 0;
	long items0;
	char first_etag[GH_ETAG_MAX] = "";

	if (gh_escape(s->conf->partner_org, org, sizeof org) < 0 || gh_escape(slug, eslug, sizeof eslug) < 0 ||
	    lb_snprintf(first, sizeof first, "/orgs/%s/teams/%s/members?per_page=100", org, eslug) < 0) {
		lb_snprintf(s->err, sizeof s->err, "team slug too long");
		return SYNC_EPERM;
	}
	if (!full && gh_cache_get(s->db, first, etag, sizeof etag) < 0)
		return db_fail(s, "http_cache");
	lb_strlcpy(url, first, sizeof url);
	gh_resp_init(&r);
	for (int page = 1;; page++) {
		json_val root;
		rc = fetch(s, url, page == 1 ? etag : NULL, &r, &root, 1);
		if (rc < 0)
			goto out;
		if (rc == 0) {	/* 304: unchanged since the last complete fetch */
			rc = SYNC_OK;
			if (db_exec(s->db, "UPDATE teams SET members_synced_at = NOW(6) WHERE id = ?",
			    "u", team_id) < 0)
				rc = db_fail(s, "teams");
			goto out;
		}
		if (page == 1) {
			lb_strlcpy(first_etag, r.etag, sizeof first_etag);
			single = r.next[0] == '\0';
		}
		if (npages == pcap) {
			size_t nc = pcap ? pcap * 2 : 4;
			json_val *n = realloc(objs, nc * sizeof *n);
			if (n == NULL) {
				json_free(root);
				lb_snprintf(s->err, sizeof s->err, "out of memory");
				rc = SYNC_ERETRY;
				goto out;
			}
			objs = n;
			pcap = nc;
		}
		objs[npages++] = root;
		pg->pages++;
		if (r.next[0] == '\0')
			break;
		lb_strlcpy(url, r.next, sizeof url);
		if (page > 10000) {
			lb_snprintf(s->err, sizeof s->err, "members of %s: too many pages", slug);
			rc = SYNC_EPERM;
			goto out;
		}
	}

	/* one transaction: users, new memberships, ended memberships */
	store_now(now, sizeof now);
	items0 = pg->items;
retry:
	nids = 0;
	pg->items = items0;
	if (db_begin(s->db) < 0) {
		rc = db_fail(s, "begin");
		goto fail_tx;
	}
	for (size_t p = 0; p < npages; p++) {
		JSON_EACH(u, objs[p]) {
			long long id = json_ll(u, "id", -1);
			int src;
			if (id <= 0) {
				log_warn("team %s: member without id skipped", slug);
				continue;
			}
			src = store_user(s->db, u);
			if (src == STORE_EBADINPUT) {
				log_warn("team %s: malformed member skipped", slug);
				continue;
			}
			if (src < 0 || store_member_start(s->db, team_id, (unsigned long long)id, NULL, "sync") < 0) {
				rc = db_fail(s, "memberships");
				goto fail_tx;
			}
			if (nids == cap) {
				size_t nc = cap ? cap * 2 : 64;
				unsigned long long *n = realloc(ids, nc * sizeof *n);
				if (n == NULL) {
					db_rollback(s->db);
					lb_snprintf(s->err, sizeof s->err, "out of memory");
					rc = SYNC_ERETRY;
					goto out;
				}
				ids = n;
				cap = nc;
			}
			ids[nids++] = (unsigned long long)id;
			pg->items++;
		}
	}
	if (db_query(s->db, &res, "SELECT DISTINCT user_id FROM memberships WHERE team_id = ? "
	    "AND ended_at IS NULL", "u", team_id) < 0) {
		rc = db_fail(s, "memberships");
		goto fail_tx;
	}
	for (size_t i = 0; i < res->nrows; i++) {
		unsigned long long uid = strtoull(db_get(res, i, 0), NULL, 10);
		int found = 0;
		for (size_t k = 0; k < nids && !found; k++)
			found = ids[k] == uid;
		if (!found && store_member_end(s->db, team_id, uid, now) < 0) {
			rc = db_fail(s, "memberships");
			goto fail_tx;
		}
	}
	if (db_exec(s->db, "UPDATE teams SET members_synced_at = NOW(6) WHERE id = ?", "u", team_id) < 0 ||
	    (single ? gh_cache_put(s->db, first, first_etag) : gh_cache_del(s->db, first)) < 0) {
		rc = db_fail(s, "teams");
		goto fail_tx;
	}
	if (db_commit(s->db) < 0) {
		rc = db_fail(s, "commit");
		goto fail_tx;
	}
	rc = report(s, pg);
	goto out;
fail_tx:
	db_res_free(res);
	res = NULL;
	if (again(s, &tries))
		goto retry;
out:
	db_res_free(res);
	for (size_t p = 0; p < npages; p++)
		json_free(objs[p]);
	free(objs);
	free(ids);
	gh_resp_free(&r);
	return rc;
}

static int
org_fetch(struct sync_ctx *s, unsigned long long *org_id)
{
	char org[256], url[400];
	struct gh_resp r;
	json_val root;
	long long id;
	int rc;

	if (gh_escape(s->conf->partner_org, org, sizeof org) < 0 ||
	    lb_snprintf(url, sizeof url, "/orgs/%s", org) < 0) {
		lb_snprintf(s->err, sizeof s->err, "partner_org too long");
		return SYNC_EPERM;
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
		return SYNC_ERETRY;
	}
	*org_id = (unsigned long long)id;
	if (db_exec(s->db, "INSERT INTO organizations (id, login, is_partner) VALUES (?, ?, 1) "
	    "ON DUPLICATE KEY UPDATE login = VALUES(login), is_partner = 1", "us",
	    *org_id, json_str(root, "login")) < 0) {
		json_free(root);
		return db_fail(s, "organizations");
	}
	json_free(root);
	return SYNC_OK;
}

int
sync_teams(struct sync_ctx *s, int full)
{
	char org[256], first[400], url[GH_URL_MAX], etag[GH_ETAG_MAX] = "", first_etag[GH_ETAG_MAX] = "";
	char now[32], why[128];
	struct sync_progress pg;
	unsigned long long org_id = 0;
	struct db_res *res = NULL;
	json_val *pages = NULL;
	size_t npages = 0;
	struct gh_resp r;
	int rc, unchanged = 0, single = 0, tries = 0;

	memset(&pg, 0, sizeof pg);
	pg.what = "teams";
	pg.started = time(NULL);
	if (!sync_github_ready(s->conf, "teams", why, sizeof why)) {
		lb_snprintf(s->err, sizeof s->err, "teams sync: %s", why);
		return SYNC_EPERM;
	}
	if (state_started(s, "teams") < 0)
		return db_fail(s, "sync_state");
	if ((rc = org_fetch(s, &org_id)) < 0)
		goto failed;
	gh_escape(s->conf->partner_org, org, sizeof org);
	lb_snprintf(first, sizeof first, "/orgs/%s/teams?per_page=100", org);
	if (!full && gh_cache_get(s->db, first, etag, sizeof etag) < 0) {
		rc = db_fail(s, "http_cache");
		goto failed;
	}
	lb_strlcpy(url, first, sizeof url);
	gh_resp_init(&r);
	for (int page = 1;; page++) {
		json_val root, *n;
		rc = fetch(s, url, page == 1 ? etag : NULL, &r, &root, 1);
		if (rc < 0)
			break;
		if (rc == 0) {
			unchanged = 1;
			rc = SYNC_OK;
			break;
		}
		rc = SYNC_OK;
		if (page == 1) {
			lb_strlcpy(first_etag, r.etag, sizeof first_etag);
			single = r.next[0] == '\0';
		}
		n = realloc(pages, (npages + 1) * sizeof *n);
		if (n == NULL) {
			json_free(root);
			lb_snprintf(s->err, sizeof s->err, "out of memory");
			rc = SYNC_ERETRY;
			break;
		}
		pages = n;
		pages[npages++] = root;
		pg.pages++;
		if (r.next[0] == '\0' || page > 1000)
			break;
		lb_strlcpy(url, r.next, sizeof url);
	}
	gh_resp_free(&r);
	if (rc < 0)
		goto failed;

	if (!unchanged) {
		store_now(now, sizeof now);
teams_retry:
		if (db_begin(s->db) < 0) {
			rc = db_fail(s, "begin");
			goto teams_fail;
		}
		for (size_t p = 0; p < npages; p++)
			JSON_EACH(t, pages[p]) {
				int src = store_team(s->db, t, org_id);
				if (src == STORE_EBADINPUT)
					log_warn("teams: malformed team skipped");
				else if (src < 0) {
					rc = db_fail(s, "teams");
					goto teams_fail;
				}
			}
		/* teams of the org GitHub no longer lists: deleted */
		if (db_query(s->db, &res, "SELECT id, slug FROM teams WHERE org_id = ? AND deleted_at IS NULL",
		    "u", org_id) < 0) {
			rc = db_fail(s, "teams");
			goto teams_fail;
		}
		for (size_t i = 0; i < res->nrows; i++) {
			long long id = db_getll(res, i, 0, 0);
			int found = 0;
			for (size_t p = 0; p < npages && !found; p++)
				for (json_val t = json_first(pages[p]); t && !found; t = json_next(pages[p], t))
					found = json_ll(t, "id", -1) == id;
			if (!found) {
				log_info("teams: %s is gone from GitHub: marked deleted", db_get(res, i, 1));
				if (store_team_deleted(s->db, (unsigned long long)id, now) < 0) {
					rc = db_fail(s, "teams");
					goto teams_fail;
				}
			}
		}
		db_res_free(res);
		res = NULL;
		if ((single ? gh_cache_put(s->db, first, first_etag) : gh_cache_del(s->db, first)) < 0) {
			rc = db_fail(s, "http_cache");
			goto teams_fail;
		}
		if (db_commit(s->db) < 0) {
			rc = db_fail(s, "commit");
			goto teams_fail;
		}
		goto teams_ok;
teams_fail:
		db_res_free(res);
		res = NULL;
		if (again(s, &tries))
			goto teams_retry;
		goto failed;
	}
teams_ok:
	for (size_t p = 0; p < npages; p++)
		json_free(pages[p]);
	free(pages);
	pages = NULL;
	npages = 0;

	/* members of every live team of the org */
	if (db_query(s->db, &res, "SELECT id, slug FROM teams WHERE org_id = ? AND deleted_at IS NULL "
	    "ORDER BY id", "u", org_id) < 0) {
		rc = db_fail(s, "teams");
		goto failed;
	}
	pg.last_page = pg.pages + (long)res->nrows;
	for (size_t i = 0; i < res->nrows; i++) {
		rc = members_walk(s, (unsigned long long)db_getll(res, i, 0, 0), db_get(res, i, 1), full, &pg);
		if (rc < 0)
			goto failed;
	}
	db_res_free(res);
	res = NULL;
	if (db_exec(s->db, "UPDATE sync_state SET last_finished_at = NOW(6), last_status = 'ok', "
	    "last_full_at = IF(?, NOW(6), last_full_at), detail = NULL WHERE name = 'teams'", "i",
	    (long long)full) < 0)
		return db_fail(s, "sync_state");
	return SYNC_OK;
failed:
	db_res_free(res);
	for (size_t p = 0; p < npages; p++)
		json_free(pages[p]);
	free(pages);
	state_failed(s, "teams");
	return rc;
}

int
sync_team(struct sync_ctx *s, const char *slug, int full)
{
	char org[256], eslug[320], url[700], why[128];
	struct sync_progress pg;
	unsigned long long org_id;
	struct gh_resp r;
	json_val root, oid;
	long long id;
	int rc, tries = 0;

	memset(&pg, 0, sizeof pg);
	pg.what = slug;
	pg.started = time(NULL);
	if (!sync_github_ready(s->conf, "teams", why, sizeof why)) {
		lb_snprintf(s->err, sizeof s->err, "team sync: %s", why);
		return SYNC_EPERM;
	}
	if (gh_escape(s->conf->partner_org, org, sizeof org) < 0 || gh_escape(slug, eslug, sizeof eslug) < 0 ||
	    lb_snprintf(url, sizeof url, "/orgs/%s/teams/%s", org, eslug) < 0) {
		lb_snprintf(s->err, sizeof s->err, "team slug too long");
		return SYNC_EPERM;
	}
	gh_resp_init(&r);
	rc = fetch(s, url, NULL, &r, &root, 0);
	gh_resp_free(&r);
	if (rc < 0)
		return rc;
	id = json_ll(root, "id", -1);
	oid = json_get(root, "organization", "id", NULL);
	org_id = json_is_integer(oid) && json_integer(oid) > 0 ? (unsigned long long)json_integer(oid) : 0;
	if (id <= 0) {
		json_free(root);
		lb_snprintf(s->err, sizeof s->err, "GET %s: team without id", url);
		return SYNC_ERETRY;
	}
	do {
		if (db_begin(s->db) < 0) {
			rc = db_fail(s, "begin");
			continue;
		}
		rc = store_team(s->db, root, org_id);
		if (rc == STORE_EBADINPUT) {
			db_rollback(s->db);
			lb_snprintf(s->err, sizeof s->err, "GET %s: malformed team", url);
			rc = SYNC_EPERM;
			break;
		}
		rc = rc < 0 || db_commit(s->db) < 0 ? db_fail(s, "teams") : SYNC_OK;
	} while (rc == SYNC_ERETRY && again(s, &tries));
	json_free(root);
	if (rc < 0)
		return rc;
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
checkpoint_write(struct sync_ctx *s, const char *name, const struct checkpoint *cp)
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

/* One page of a PR walk: its PRs (down to the watermark) and, in a full
 * walk, the checkpoint, in one transaction (db_txn: run again from the same
 * data after a deadlock). Outputs are set from the committed attempt. */
struct page_txn {
	struct sync_ctx *s;
	json_val root;
	struct checkpoint *cp;
	const char *name, *repo;
	int walk_full;
	const char *next;
	time_t stop_before, top0;
	long items0, pages;
	int bad0;
	/* out */
	time_t top_t;
	long items;
	int bad, done;
};

static int
page_txn_run(struct db *db, void *arg)
{
	struct page_txn *t = arg;
	size_t n = json_len(t->root), k = 0;
	json_val *prs = calloc(n ? n : 1, sizeof *prs);
	int *res = calloc(n ? n : 1, sizeof *res), rc = -1;

	t->done = 0;
	t->top_t = t->top0;
	t->items = t->items0;
	t->bad = t->bad0;
	if (prs == NULL || res == NULL)
		goto out;
	JSON_EACH(pr, t->root) {
		time_t upd = parse_time(json_str(pr, "updated_at"));
		if (upd > t->top_t)
			t->top_t = upd;
		if (t->stop_before >= 0 && upd >= 0 && upd < t->stop_before) {
			t->done = 1;	/* older than the watermark: seen before */
			break;
		}
		prs[k++] = pr;
	}
	if (store_prs(db, t->s->conf, prs, k, "sync", res) < 0)
		goto out;
	for (size_t i = 0; i < k; i++) {
		if (res[i] == STORE_EBADINPUT) {
			t->bad++;
			log_warn("%s: malformed pull request #%lld skipped", t->repo,
			    json_ll(prs[i], "number", -1));
		} else
			t->items++;
	}
	if (t->next[0] == '\0')
		t->done = 1;
	rc = 0;
	if (t->walk_full && !t->done) {	/* checkpoint, in the page's transaction */
		lb_strlcpy(t->cp->next, t->next, sizeof t->cp->next);
		if (t->top_t >= 0)
			fmt_time(t->top_t, t->cp->top, sizeof t->cp->top);
		t->cp->pages = t->pages + 1;
		t->cp->items = t->items;
		rc = checkpoint_write(t->s, t->name, t->cp);
	}
out:
	free(prs);
	free(res);
	return rc;
}

/* Runs the page's transaction (again after a deadlock); 0, or -1 with
 * s->err set. */
static int
page_store(struct page_txn *t)
{
	if (db_txn(t->s->db, SYNC_DEADLOCK_RETRIES + 1, page_txn_run, t) == 0)
		return 0;
	lb_snprintf(t->s->err, sizeof t->s->err, "database: pull_requests: %s",
	    db_error(t->s->db));
	return -1;
}

int
sync_prs(struct sync_ctx *s, const char *repo, int full)
{
	char owner[128], rname[128], eo[400], er[400], first[GH_URL_MAX], url[GH_URL_MAX];
	char name[300], etag[GH_ETAG_MAX] = "", why[128];
	struct sync_progress pg;
	struct checkpoint cp;
	struct db_res *res = NULL;
	struct gh_resp r;
	time_t watermark = -1, stop_before = -1, top_t = -1;
	int rc = SYNC_OK, walk_full, bad = 0;

	memset(&pg, 0, sizeof pg);
	pg.what = repo;
	pg.started = time(NULL);
	if (!sync_github_ready(s->conf, "prs", why, sizeof why)) {
		lb_snprintf(s->err, sizeof s->err, "PR sync: %s", why);
		return SYNC_EPERM;
	}
	if (sync_split_repo(repo, owner, sizeof owner, rname, sizeof rname) < 0) {
		lb_snprintf(s->err, sizeof s->err, "bad repository '%.200s' (want OWNER/NAME)", repo);
		return SYNC_EPERM;
	}
	if (gh_escape(owner, eo, sizeof eo) < 0 || gh_escape(rname, er, sizeof er) < 0 ||
	    lb_snprintf(first, sizeof first,
	    "/repos/%s/%s/pulls?state=all&sort=updated&direction=desc&per_page=100", eo, er) < 0 ||
	    lb_snprintf(name, sizeof name, "prs:%s", repo) < 0) {
		lb_snprintf(s->err, sizeof s->err, "repository name too long");
		return SYNC_EPERM;
	}
	if (db_query(s->db, &res, "SELECT watermark, detail FROM sync_state WHERE name = ?", "s", name) < 0)
		return db_fail(s, "sync_state");
	if (res->nrows == 1)
		watermark = parse_time(db_get(res, 0, 0));
	memset(&cp, 0, sizeof cp);
	if (res->nrows == 1 && checkpoint_read(db_get(res, 0, 1), &cp)) {
		walk_full = 1;	/* an interrupted full walk: resume it */
		lb_strlcpy(url, cp.next, sizeof url);
		pg.pages = pg.resumed_pages = cp.pages;
		pg.items = cp.items;
		top_t = parse_time(cp.top);
		log_info("%s: resuming the full walk at page %ld", repo, cp.pages + 1);
	} else {
		walk_full = full || watermark < 0;
		lb_strlcpy(url, first, sizeof url);
		if (!walk_full && gh_cache_get(s->db, first, etag, sizeof etag) < 0) {
			db_res_free(res);
			return db_fail(s, "http_cache");
		}
	}
	db_res_free(res);
	res = NULL;
	if (!walk_full)
		stop_before = watermark - SYNC_OVERLAP;
	if (state_started(s, name) < 0)
		return db_fail(s, "sync_state");
	/* the page's locking read then locks only the PR rows it finds */
	if (db_read_committed(s->db) < 0)
		return db_fail(s, "isolation level");

	gh_resp_init(&r);
	for (int page = 1;; page++) {
		json_val root;
		int done = 0;
		int fresh_first = page == 1 && cp.next[0] == '\0';

		rc = fetch(s, url, fresh_first ? etag : NULL, &r, &root, 1);
		if (rc < 0)
			break;
		if (rc == 0) {	/* 304 on page 1: nothing changed since the last run */
			rc = SYNC_OK;
			break;
		}
		rc = SYNC_OK;
		if (fresh_first)
			lb_strlcpy(cp.etag, r.etag, sizeof cp.etag);
		if (r.last_page)
			pg.last_page = r.last_page;
		{
			struct page_txn t = { s, root, &cp, name, repo, walk_full, r.next,
			    stop_before, top_t, pg.items, pg.pages, bad, top_t, pg.items, bad, 0 };
			if (page_store(&t) < 0) {
				json_free(root);
				rc = SYNC_ERETRY;
				goto out;
			}
			top_t = t.top_t;
			pg.items = t.items;
			bad = t.bad;
			done = t.done;
			json_free(root);
			pg.pages++;
			/* the page's PRs reach the statistics now, not after the
			 * whole walk (lib/rollup.h): the queue stays one page long */
			if (rollup_fold(s->db, 0, NULL) < 0)
				log_warn("%s: statistics: %s", repo, db_error(s->db));
		}
		if ((rc = report(s, &pg)) < 0)
			break;
		if (done)
			break;
		lb_strlcpy(url, r.next, sizeof url);
		if (page > 1000000) {
			lb_snprintf(s->err, sizeof s->err, "%s: too many pages", repo);
			rc = SYNC_EPERM;
			break;
		}
	}
out:
	gh_resp_free(&r);
	if (rc < 0) {
		state_failed(s, name);
		return rc;
	}
	{
		char wm[32] = "";
		int tries = 0;
		if (top_t >= 0 && top_t > watermark)
			fmt_time(top_t, wm, sizeof wm);
		do {
			if (db_begin(s->db) < 0)
				rc = db_fail(s, "begin");
			else if (db_exec(s->db, "UPDATE sync_state SET watermark = COALESCE(?, watermark), "
			    "detail = ?, last_finished_at = NOW(6), last_status = 'ok', "
			    "last_full_at = IF(?, NOW(6), last_full_at) WHERE name = ?", "ssis",
			    wm[0] ? wm : NULL, bad ? "malformed pull requests skipped" : NULL,
			    (long long)walk_full, name) < 0)
				rc = db_fail(s, "sync_state");
			else if (cp.etag[0] && gh_cache_put(s->db, first, cp.etag) < 0)
				rc = db_fail(s, "http_cache");
			else if (db_commit(s->db) < 0)
				rc = db_fail(s, "commit");
			else
				rc = SYNC_OK;
		} while (rc != SYNC_OK && again(s, &tries));
	}
	return rc;
}

int
sync_pr(struct sync_ctx *s, const char *repo, long number)
{
	char owner[128], rname[128], eo[400], er[400], url[1000], why[128];
	enum store_result sr;
	struct gh_resp r;
	json_val root;
	int rc, tries = 0;

	if (!sync_github_ready(s->conf, "pr", why, sizeof why)) {
		lb_snprintf(s->err, sizeof s->err, "PR sync: %s", why);
		return SYNC_EPERM;
	}
	if (sync_split_repo(repo, owner, sizeof owner, rname, sizeof rname) < 0 || number <= 0 ||
	    gh_escape(owner, eo, sizeof eo) < 0 || gh_escape(rname, er, sizeof er) < 0 ||
	    lb_snprintf(url, sizeof url, "/repos/%s/%s/pulls/%ld", eo, er, number) < 0) {
		lb_snprintf(s->err, sizeof s->err, "bad pull request '%.200s#%ld'", repo, number);
		return SYNC_EPERM;
	}
	gh_resp_init(&r);
	rc = fetch(s, url, NULL, &r, &root, 0);
	gh_resp_free(&r);
	if (rc < 0)
		return rc;
	do {
		if (db_begin(s->db) < 0) {
			rc = db_fail(s, "begin");
			continue;
		}
		rc = store_pr(s->db, s->conf, root, "sync", &sr);
		if (rc == STORE_EBADINPUT) {
			db_rollback(s->db);
			lb_snprintf(s->err, sizeof s->err, "GET %s: malformed pull request", url);
			rc = SYNC_EPERM;
			break;
		}
		rc = rc < 0 || db_commit(s->db) < 0 ? db_fail(s, "pull_requests") : SYNC_OK;
	} while (rc == SYNC_ERETRY && again(s, &tries));
	json_free(root);
	return rc;
}

/* ------------------------------------------------------------ job glue */


int
sync_run_job(struct sync_ctx *s, const char *kind, const char *args)
{
	char err[64];
	json_val v = NULL;
	int rc, full;

	if (args && *args) {
		v = json_parse(args, strlen(args), 4, JOB_ARGS_MAX, err, sizeof err);
		if (v == NULL) {
			lb_snprintf(s->err, sizeof s->err, "job arguments: %s", err);
			return SYNC_EPERM;
		}
	}
	full = json_bool(v, "full", 0);
	if (strcmp(kind, "sync_teams") == 0)
		rc = sync_teams(s, full);
	else if (strcmp(kind, "sync_team") == 0 && json_str(v, "slug"))
		rc = sync_team(s, json_str(v, "slug"), full);
	else if (strcmp(kind, "sync_prs") == 0 && json_str(v, "repo"))
		rc = sync_prs(s, json_str(v, "repo"), full);
	else if (strcmp(kind, "sync_pr") == 0 && json_str(v, "repo"))
		rc = sync_pr(s, json_str(v, "repo"), (long)json_ll(v, "number", 0));
	else if (strcmp(kind, "check") == 0) {
		rc = integrity_run(s->conf, s->db, json_bool(v, "repair", 0), s->err, sizeof s->err) < 0
		    ? SYNC_ERETRY : SYNC_OK;
	} else if (integrity_job_kind(kind)) {	/* repairs queued by a check */
		rc = integrity_job(s, kind, args);
	} else {
		lb_snprintf(s->err, sizeof s->err, "unknown job kind '%.32s' or missing arguments", kind);
		rc = SYNC_EPERM;
	}
	json_free(v);
	return rc;
}

int
sync_queue(struct db *db, const char *kind, const char *target, long number, int full,
    unsigned long long *id, int *existed)
{
	char key[JOB_KEY_MAX];
	const char *jkind, *out;
	struct jw w;
	size_t len;
	char *args;
	int rc;

	if (jw_init(&w) < 0)
		return -1;
	jw_obj(&w);
	if (strcmp(kind, "teams") == 0) {
		jkind = "sync_teams";
		lb_snprintf(key, sizeof key, "teams");
		jw_kv_bool(&w, "full", full);
	} else if (strcmp(kind, "team") == 0) {
		jkind = "sync_team";
		lb_snprintf(key, sizeof key, "team:%.200s", target);
		jw_kv_str(&w, "slug", target);
		jw_kv_bool(&w, "full", full);
	} else if (strcmp(kind, "prs") == 0) {
		jkind = "sync_prs";
		lb_snprintf(key, sizeof key, "prs:%.220s", target);
		jw_kv_str(&w, "repo", target);
		jw_kv_bool(&w, "full", full);
	} else if (strcmp(kind, "pr") == 0) {
		jkind = "sync_pr";
		lb_snprintf(key, sizeof key, "pr:%.220s#%ld", target, number);
		jw_kv_str(&w, "repo", target);
		jw_kv_int(&w, "number", number);
	} else if (strcmp(kind, "check") == 0) {
		jkind = "check";
		lb_snprintf(key, sizeof key, "check");
		jw_kv_bool(&w, "repair", full);
	} else {
		jw_free(&w);
		return -1;
	}
	jw_obj_end(&w);
	if (jw_finish(&w, &out, &len) < 0 || (args = lb_strndup(out, len)) == NULL) {
		jw_free(&w);
		return -1;
	}
	jw_free(&w);
	rc = jobs_enqueue(db, jkind, args, key, 0, id, existed);
	if (rc == 0 && *existed && full)	/* a queued incremental one becomes full */
		rc = db_exec(db, "UPDATE jobs SET args = ? WHERE id = ? AND state = 'queued'", "su", args, *id);
	free(args);
	return rc;
}
