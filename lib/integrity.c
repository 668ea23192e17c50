/*
 * integrity — see integrity.h for the checks, their requests and the
 * contract. Layout: run bookkeeping and findings; freshness;
 * reconciliation (search counts, bisection); labels; referential; teams;
 * deliveries; spool; repair jobs (redeliver, replay, spool, resync_month).
 */
#define _GNU_SOURCE
#include "integrity.h"
#include "buf.h"
#include "conf.h"
#include "date.h"
#include "db.h"
#include "github.h"
#include "ingest.h"
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "utf8.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define JSON_DEPTH      64
#define SCAN_LIMIT      10000	/* rows examined per referential query */
#define HOOK_DAYS       3	/* GitHub keeps deliveries this long */
#define HOOK_MAX_PAGES  50
#define MONTH_MAX_PAGES 10	/* the search API answers at most 1,000 results */
#define PAGE_PRS        100	/* PRs on the freshness page (per_page) */
#define LIST_MAX_PAGES  100	/* teams, members, labels: 10,000 each */
#define SEARCH_Q_MAX    256	/* GitHub refuses longer search queries */
#define NFIELDS         3	/* created, merged, closed without merge */
#define LABEL_SEP       '\x1f'	/* between label names in a kept page */

const char *const integrity_check_names[INTEGRITY_NCHECKS] = {
	"freshness", "reconciliation", "referential", "deliveries", "spool", "labels", "teams"
};

static const char *const field_names[NFIELDS] = { "created", "merged", "rejected" };

/* A change freshness already found, in month buckets: reconciliation and
 * labels count the database as it will be once those PRs are synced. */
struct delta {
	int field;	/* 0 created, 1 merged, 2 closed unmerged, 3 label (name) */
	int month;
	int d;
	char label[256];
};

struct ictx {
	const struct conf *c;
	struct db *db;
	struct gh *gh;
	int repair;
	int gh_prs, gh_teams, gh_token;
	struct integrity_result *res;
	long listed[INTEGRITY_NCHECKS];
	struct delta *deltas;
	size_t ndeltas, capdeltas;
	struct db_res *counts;		/* repo_id, created month, merged month, n */
	struct db_res *repo_ids;	/* id, full_name */
	struct db_res *label_counts;	/* repo_id, label name, merged PRs */
	double secs[INTEGRITY_NCHECKS];	/* time spent per check */
	int repo_start;			/* the repo's oldest month (reconciliation) */
	int repo_full;			/* reconciliation queued a full resync */
	int teams_verified;		/* the teams check compared every team's members */
	/* per repo: GitHub unchanged since the counts were last verified */
	int page_304;			/* freshness page 1 answered 304 */
	char page_etag[GH_ETAG_MAX];	/* its ETag (this run's) */
	int counts_unchanged;		/* ... and the counts were verified at that ETag */
	int counts_complete;		/* reconciliation verified every field this run */
	char *label_beliefs;		/* "name\tcount\n": GitHub's, at that ETag */
	int page_items;			/* PRs on the repo's freshness page, -1: unknown */
	char page_oldest[20];		/* the oldest updated_at on it */
	int hi;		/* current month index */
};

/* ------------------------------------------------------------ helpers */

int
integrity_range(int a, int b, char *out, size_t outlen)
{
	if (a < 0 || b < a || b / 12 > 9999)
		return -1;
	return lb_snprintf(out, outlen, "%04d-%02d-01..%04d-%02d-%02d", a / 12, a % 12 + 1,
	    b / 12, b % 12 + 1, date_days_in_month(b / 12, b % 12 + 1));
}

static void
note_error(struct ictx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note_error(struct ictx *x, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_warn("check: %s", line);
	if (x->res->error[0] == '\0')
		lb_strlcpy(x->res->error, line, sizeof x->res->error);
}

/* Count a finding; 1 when it is listed (stored, and repaired when asked). */
static int
counted(struct ictx *x, int check)
{
	x->res->findings++;
	x->res->per_check[check]++;
	if (x->listed[check] >= INTEGRITY_MAX_LISTED)
		return 0;
	x->listed[check]++;
	return 1;
}

static int
store_finding(struct ictx *x, int check, const char *subject, const char *detail,
    unsigned long long job)
{
	char subj[256], det[1024], jb[24];

	utf8_copy(subj, sizeof subj, subject, sizeof subj - 1);
	utf8_copy(det, sizeof det, detail ? detail : "", sizeof det - 1);
	lb_snprintf(jb, sizeof jb, "%llu", job);
	if (db_exec(x->db, "INSERT INTO integrity_findings (run_id, check_name, subject, detail, "
	    "found_at, repair_job_id) VALUES (?, ?, ?, ?, NOW(6), ?)", "ussss", x->res->run_id,
	    integrity_check_names[check], subj, det, job ? jb : NULL) < 0) {
		note_error(x, "storing a finding: %s", db_error(x->db));
		return -1;
	}
	return 0;
}

/* Something this run could not verify: stored and counted, never clean. */
static void
unverified(struct ictx *x, int check, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
unverified(struct ictx *x, int check, const char *subject, const char *fmt, ...)
{
	char subj[256], det[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(det, sizeof det, fmt, ap);
	va_end(ap);
	lb_strlcpy(subj, subject, sizeof subj);
	x->res->unverified++;
	log_info("check: not verified: %s %s: %s", integrity_check_names[check], subj, det);
	if (x->res->unverified > INTEGRITY_MAX_LISTED)
		return;
	if (db_exec(x->db, "INSERT INTO integrity_unverified (run_id, check_name, subject, detail) "
	    "VALUES (?, ?, ?, ?)", "usss", x->res->run_id, integrity_check_names[check], subj, det) < 0)
		note_error(x, "storing what was not verified: %s", db_error(x->db));
}

/* Queue a sync job of lib/sync (kind "pr", "team", "teams", "prs"). Team
 * repairs are full: an incremental one trusts a 304 on the member list,
 * which says nothing about rows lost on our side. */
static unsigned long long
repair_sync(struct ictx *x, const char *kind, const char *target, long number)
{
	int full = strcmp(kind, "team") == 0 || strcmp(kind, "teams") == 0 || strcmp(kind, "prs") == 0;

	unsigned long long id = 0;
	int existed = 0;

	if (!x->repair)
		return 0;
	if (jobs_queue(x->db, kind, target, number, full, &id, &existed) < 0) {
		note_error(x, "queueing sync %s: %s", kind, db_error(x->db));
		return 0;
	}
	x->res->jobs++;
	return id;
}

/* Queue a job of this module; args is finished JSON (w). */
static unsigned long long
repair_job(struct ictx *x, const char *kind, struct jw *w, const char *key)
{
	unsigned long long id = 0;
	const char *out;
	size_t len;
	char *args;
	int existed = 0;

	if (!x->repair)
		return 0;
	if (jw_finish(w, &out, &len) < 0 || len >= JOB_ARGS_MAX || (args = lb_strndup(out, len)) == NULL) {
		note_error(x, "queueing %s: arguments too long", kind);
		return 0;
	}
	if (jobs_enqueue(x->db, kind, args, key, 0, &id, &existed) < 0) {
		note_error(x, "queueing %s: %s", kind, db_error(x->db));
		id = 0;
	} else
		x->res->jobs++;
	free(args);
	return id;
}

static int
add_delta(struct ictx *x, int field, int month, int d, const char *label)
{
	if (month < 0)
		return 0;
	if (lb_grow(&x->deltas, &x->capdeltas, x->ndeltas, sizeof *x->deltas, 64) < 0)
		return -1;
	x->deltas[x->ndeltas].field = field;
	x->deltas[x->ndeltas].month = month;
	x->deltas[x->ndeltas].d = d;
	lb_strlcpy(x->deltas[x->ndeltas].label, label ? label : "", sizeof x->deltas[x->ndeltas].label);
	x->ndeltas++;
	return 0;
}

/* GET and parse; 1 with *root, 0 on 304, -1 on error (noted). */
static int
get_json(struct ictx *x, const char *url, const char *etag, struct gh_resp *r, json_val *root)
{
	char err[512], perr[128];
	int rc;

	*root = NULL;
	rc = gh_get(x->gh, url, etag, r, err, sizeof err);
	if (rc != GH_OK) {
		note_error(x, "%s", err);
		return -1;
	}
	if (r->not_modified)
		return 0;
	*root = json_parse(r->body.data ? r->body.data : "", r->body.len, JSON_DEPTH, GH_MAX_BODY,
	    perr, sizeof perr);
	if (*root == NULL) {
		note_error(x, "GET %.300s: %s", url, perr);
		return -1;
	}
	return 1;
}

/* "owner/name" -> "/repos/OWNER/NAME" escaped; -1 when malformed. */
static int
repo_path(const char *repo, char *out, size_t outlen)
{
	char owner[128], name[128], eo[400], en[400];

	if (gh_split_repo(repo, owner, sizeof owner, name, sizeof name) < 0 ||
	    gh_escape(owner, eo, sizeof eo) < 0 || gh_escape(name, en, sizeof en) < 0)
		return -1;
	return lb_snprintf(out, outlen, "/repos/%s/%s", eo, en);
}

static const char *
db_str(const struct db_res *r, size_t row, size_t col)
{
	const char *v = db_get(r, row, col);

	return v ? v : "";
}

/* ---------------------------------------------------------- freshness */

/* One PR of the page: times as "YYYY-MM-DD HH:MM:SS" ("" for none);
 * labels: the names, LABEL_SEP between them (control characters as '?'). */
struct pitem {
	long number;
	unsigned long long id;
	char created[20], updated[20], merged[20], closed[20];
	char labels[1024];
};

/* The label names of a PR object as pitem.labels. */
static void
labels_text(json_val labels, char *out, size_t outlen)
{
	size_t k = 0;

	out[0] = '\0';
	if (!json_is_array(labels))
		return;
	JSON_EACH(l, labels) {
		const char *n = json_str(l, "name");
		if (n == NULL || *n == '\0' || k + strlen(n) + 2 > outlen)
			continue;
		if (k)
			out[k++] = LABEL_SEP;
		for (; *n; n++)
			out[k++] = (unsigned char)*n < 0x20 || *n == 0x7f ? '?' : *n;
		out[k] = '\0';
	}
}

static int
page_items_from_json(json_val root, struct pitem **out, size_t *n)
{
	struct pitem *v;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!json_is_array(root))
		return -1;
	v = calloc(json_len(root) + 1, sizeof *v);
	if (v == NULL)
		return -1;
	JSON_EACH(p, root) {
		long long num = json_ll(p, "number", -1), id = json_ll(p, "id", -1);
		const char *m = json_str(p, "merged_at");

		if (num <= 0 || id <= 0 ||
		    date_from_iso(json_str(p, "created_at"), v[k].created, sizeof v[k].created) < 0 ||
		    date_from_iso(json_str(p, "updated_at"), v[k].updated, sizeof v[k].updated) < 0)
			continue;
		if (m == NULL || date_from_iso(m, v[k].merged, sizeof v[k].merged) < 0)
			v[k].merged[0] = '\0';
		m = json_str(p, "closed_at");
		if (m == NULL || date_from_iso(m, v[k].closed, sizeof v[k].closed) < 0)
			v[k].closed[0] = '\0';
		labels_text(json_get(p, "labels", NULL), v[k].labels, sizeof v[k].labels);
		v[k].number = (long)num;
		v[k].id = (unsigned long long)id;
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

/* The summary kept in integrity_pages, one line per PR:
 * "number\tid\tcreated\tupdated\tmerged\tclosed\tlabels\n". */
static int
page_items_to_text(const struct pitem *v, size_t n, struct buf *b)
{
	for (size_t i = 0; i < n; i++)
		if (buf_printf(b, "%ld\t%llu\t%s\t%s\t%s\t%s\t%s\n", v[i].number, v[i].id, v[i].created,
		    v[i].updated, v[i].merged, v[i].closed, v[i].labels) < 0)
			return -1;
	return 0;
}

/* 1 when a kept summary is in the format above (pages kept before sql/011
 * have five fields: asked again without their ETag). */
static int
page_text_current(const char *t)
{
	int tabs = 0;

	for (; *t && *t != '\n'; t++)
		tabs += *t == '\t';
	return tabs == 6 || *t == '\0';
}

static int
field_copy(const char **p, char *out, size_t outlen, char end)
{
	const char *e = strchr(*p, end);

	if (e == NULL || (size_t)(e - *p) >= outlen)
		return -1;
	memcpy(out, *p, (size_t)(e - *p));
	out[e - *p] = '\0';
	*p = e + 1;
	return 0;
}

static int
page_items_from_text(const char *t, struct pitem **out, size_t *n)
{
	size_t lines = 0, k = 0;
	struct pitem *v;

	for (const char *p = t; *p; p++)
		lines += *p == '\n';
	v = calloc(lines + 1, sizeof *v);
	if (v == NULL)
		return -1;
	while (*t && k < lines) {
		char num[24], id[24];
		long long a, b;
		if (field_copy(&t, num, sizeof num, '\t') < 0 || field_copy(&t, id, sizeof id, '\t') < 0 ||
		    field_copy(&t, v[k].created, sizeof v[k].created, '\t') < 0 ||
		    field_copy(&t, v[k].updated, sizeof v[k].updated, '\t') < 0 ||
		    field_copy(&t, v[k].merged, sizeof v[k].merged, '\t') < 0 ||
		    field_copy(&t, v[k].closed, sizeof v[k].closed, '\t') < 0 ||
		    field_copy(&t, v[k].labels, sizeof v[k].labels, '\n') < 0 ||
		    lb_parse_ll(num, 1, 2147483647, &a) < 0 || lb_parse_ll(id, 1, INT64_MAX, &b) < 0) {
			free(v);
			return -1;
		}
		v[k].number = (long)a;
		v[k].id = (unsigned long long)b;
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

/* PR ids compared in this run (a walk may meet a PR twice: pages shift
 * when PRs are updated meanwhile). Open addressing, grown at half full. */
struct idset {
	unsigned long long *v;
	size_t cap, n;
};

/* 1 when id was added, 0 when it was there, -1 out of memory. */
static int
idset_add(struct idset *s, unsigned long long id)
{
	size_t h;

	if (s->n * 2 >= s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		unsigned long long *nv = calloc(nc, sizeof *nv);
		if (nv == NULL)
			return -1;
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i]) {
				for (h = (size_t)(s->v[i] * 11400714819323198485ULL) & (nc - 1); nv[h]; h = (h + 1) & (nc - 1))
					;
				nv[h] = s->v[i];
			}
		free(s->v);
		s->v = nv;
		s->cap = nc;
	}
	for (h = (size_t)(id * 11400714819323198485ULL) & (s->cap - 1); s->v[h]; h = (h + 1) & (s->cap - 1))
		if (s->v[h] == id)
			return 0;
	s->v[h] = id;
	s->n++;
	return 1;
}

/* 1 when two label name lists (LABEL_SEP between names) hold the same
 * names, in any order, case aside. */
static int
label_sets_equal(const char *a, const char *b)
{
	size_t na = 0, nb = 0;

	for (const char *t = a; *t; t++)
		na += *t == LABEL_SEP;
	na += *a != '\0';
	for (const char *t = b; *t; t++)
		nb += *t == LABEL_SEP;
	nb += *b != '\0';
	if (na != nb)
		return 0;
	for (const char *t = a; *t;) {
		size_t l = strcspn(t, "\x1f");
		int found = 0;
		for (const char *u = b; *u && !found;) {
			size_t ul = strcspn(u, "\x1f");
			found = ul == l && strncasecmp(u, t, l) == 0;
			u += ul + (u[ul] != '\0');
		}
		if (!found)
			return 0;
		t += l + (t[l] != '\0');
	}
	return 1;
}

/* What differs between GitHub's PR p and the stored row (res row 0 of
 * the query in compare_items), in words. */
static void
describe(const struct pitem *p, const struct db_res *res, char *det, size_t len)
{
	const char *su = db_str(res, 0, 0), *sstate = db_str(res, 0, 5), *sclosed = db_str(res, 0, 7);
	int smerged = db_getll(res, 0, 6, 0) != 0, gmerged = p->merged[0] != '\0';
	const char *gstate = p->closed[0] ? "closed" : "open";
	char labels[1100] = "";
	struct buf b = BUF_INIT;

	buf_printf(&b, "outdated: stored updated_at %s, GitHub %s", su, p->updated);
	if (strcmp(sstate, gstate) != 0)
		buf_printf(&b, "; state: GitHub %s, stored %s", gstate, sstate);
	if (smerged != gmerged)
		buf_printf(&b, "; merged: GitHub %s, stored %s", gmerged ? "yes" : "no", smerged ? "yes" : "no");
	else if (p->closed[0] && sclosed[0] && strcmp(sclosed, p->closed) != 0)
		buf_printf(&b, "; closed_at: GitHub %s, stored %s", p->closed, sclosed);
	if (strcmp(db_str(res, 0, 4), p->labels) != 0) {
		/* the same names in another order are the same set */
		char a[1024], c[1024];
		lb_strlcpy(a, p->labels, sizeof a);
		lb_strlcpy(c, db_str(res, 0, 4), sizeof c);
		for (char *t = a; *t; t++)
			if (*t == LABEL_SEP)
				*t = ',';
		for (char *t = c; *t; t++)
			if (*t == LABEL_SEP)
				*t = ',';
		if (!label_sets_equal(p->labels, db_str(res, 0, 4)))
			lb_snprintf(labels, sizeof labels, "; labels: GitHub [%s], stored [%s]", a, c);
	}
	buf_printf(&b, "%s", labels);
	lb_strlcpy(det, b.data ? b.data : "outdated", len);
	buf_free(&b);
}

/* Compare GitHub's PRs (items) with the stored rows; each missing or
 * outdated one is a finding (sync_pr) and moves the counts the other
 * checks compare (deltas). */
static int
compare_items(struct ictx *x, const char *repo, const struct pitem *items, size_t n, struct idset *seen)
{
	char subj[300], det[1500];
	struct db_res *res = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct pitem *p = &items[i];
		int gc = date_month_index(p->created), gm = p->merged[0] ? date_month_index(p->merged) : -1;
		int gr = !p->merged[0] && p->closed[0] ? date_month_index(p->closed) : -1;
		int missing, sc = -1, sm = -1, sr = -1, bad = 0;
		char slabels[1024] = "";

		int fresh = idset_add(seen, p->id);
		if (fresh < 0) {
			note_error(x, "out of memory");
			return -1;
		}
		if (fresh == 0)
			continue;	/* met on an earlier page of this walk */
		if (db_query(x->db, &res, "SELECT DATE_FORMAT(p.updated_at, '%Y-%m-%d %H:%i:%s'), "
		    "YEAR(p.created_at) * 12 + MONTH(p.created_at) - 1, "
		    "IF(p.merged = 1 AND p.merged_at IS NOT NULL, YEAR(p.merged_at) * 12 + MONTH(p.merged_at) - 1, -1), "
		    "IF(p.state = 'closed' AND p.merged = 0 AND p.closed_at IS NOT NULL, "
		    "YEAR(p.closed_at) * 12 + MONTH(p.closed_at) - 1, -1), "
		    "(SELECT GROUP_CONCAT(l.name SEPARATOR '\x1f') FROM pr_labels pl "
		    "JOIN labels l ON l.id = pl.label_id WHERE pl.pr_id = p.id), p.state, p.merged, "
		    "IFNULL(DATE_FORMAT(p.closed_at, '%Y-%m-%d %H:%i:%s'), '') "
		    "FROM pull_requests p WHERE p.id = ?", "u", p->id) < 0) {
			note_error(x, "freshness: %s", db_error(x->db));
			return -1;
		}
		missing = res->nrows == 0;
		if (!missing && strcmp(db_str(res, 0, 0), p->updated) >= 0) {
			db_res_free(res);
			continue;	/* as new as GitHub's (or newer: a webhook) */
		}
		lb_snprintf(subj, sizeof subj, "%s#%ld", repo, p->number);
		if (missing)
			lb_snprintf(det, sizeof det, "missing (GitHub updated_at %s)", p->updated);
		else {
			describe(p, res, det, sizeof det);
			sc = (int)db_getll(res, 0, 1, -1);
			sm = (int)db_getll(res, 0, 2, -1);
			sr = (int)db_getll(res, 0, 3, -1);
			lb_strlcpy(slabels, db_str(res, 0, 4), sizeof slabels);
		}
		db_res_free(res);
		res = NULL;
		/* the counts as they will be once the PR is synced */
		bad |= add_delta(x, 0, gc, 1, NULL) < 0 || add_delta(x, 1, gm, 1, NULL) < 0 ||
		    add_delta(x, 2, gr, 1, NULL) < 0 || add_delta(x, 0, sc, -1, NULL) < 0 ||
		    add_delta(x, 1, sm, -1, NULL) < 0 || add_delta(x, 2, sr, -1, NULL) < 0;
		for (int side = 0; side < 2 && !bad; side++) {
			const char *t = side ? slabels : p->labels;
			int m = side ? sm : gm;
			while (m >= 0 && *t) {
				char name[256];
				size_t l = strcspn(t, "\x1f");
				if (l < sizeof name) {
					memcpy(name, t, l);
					name[l] = '\0';
					bad |= add_delta(x, 3, m, side ? -1 : 1, name) < 0;
				}
				t += l + (t[l] != '\0');
			}
		}
		if (bad) {
			note_error(x, "out of memory");
			return -1;
		}
		if (counted(x, IC_FRESHNESS))
			store_finding(x, IC_FRESHNESS, subj, det, repair_sync(x, "pr", repo, p->number));
	}
	return 0;
}

/* The kept walk of a repo (integrity_pages "walk:REPO"):
 * "top\tfloor\tpage\n": the walk down the PRs sorted by updated desc that
 * began when the newest was top goes down to floor (the top of the last
 * complete walk; "" all the way) and reads page next. page 1: no walk
 * under way (the last one completed at floor). */
struct walk {
	char top[20], floor[20];
	int page;
};

static int
walk_load(struct ictx *x, const char *repo, struct walk *w)
{
	struct db_res *res;
	char key[400], name[300];

	memset(w, 0, sizeof *w);
	w->page = 1;
	lb_snprintf(key, sizeof key, "walk:%s", repo);
	if (db_query(x->db, &res, "SELECT items FROM integrity_pages WHERE repo = ?", "s", key) < 0)
		return -1;
	if (res->nrows == 1) {
		const char *t = db_str(res, 0, 0);
		char pg[16];
		long long v;
		if (field_copy(&t, w->top, sizeof w->top, '\t') == 0 &&
		    field_copy(&t, w->floor, sizeof w->floor, '\t') == 0 &&
		    field_copy(&t, pg, sizeof pg, '\n') == 0 && lb_parse_ll(pg, 1, LIST_MAX_PAGES * 100, &v) == 0) {
			w->page = (int)v;
			db_res_free(res);
			return 1;
		}
		memset(w, 0, sizeof *w);
		w->page = 1;
	}
	db_res_free(res);
	/* no walk yet: a complete PR sync stored every PR updated up to its
	 * watermark; a webhook-only install has nothing to start from */
	lb_snprintf(name, sizeof name, "prs:%s", repo);
	if (db_query(x->db, &res, "SELECT DATE_FORMAT(watermark - INTERVAL ? SECOND, '%Y-%m-%d %H:%i:%s') "
	    "FROM sync_state WHERE name = ? AND watermark IS NOT NULL", "is", (long long)GH_UPDATED_OVERLAP, name) < 0)
		return -1;
	if (res->nrows == 1)
		lb_strlcpy(w->floor, db_str(res, 0, 0), sizeof w->floor);
	db_res_free(res);
	return 0;
}

static int
walk_store(struct ictx *x, const char *repo, const struct walk *w)
{
	char key[400], text[80];

	lb_snprintf(key, sizeof key, "walk:%s", repo);
	lb_snprintf(text, sizeof text, "%s\t%s\t%d\n", w->top, w->floor, w->page);
	return db_exec(x->db, "INSERT INTO integrity_pages (repo, etag, items, fetched_at) VALUES (?, NULL, ?, NOW(6)) "
	    "ON DUPLICATE KEY UPDATE items = VALUES(items), fetched_at = VALUES(fetched_at)", "ss", key, text);
}

/* Page 1 of the repo's PRs by updated desc (url), asked with the ETag kept
 * in integrity_pages (on 304 the page kept there), into *items, *n; the
 * page kept anew; *last when it is the only page. 0, or -1 (noted). */
static int
first_page(struct ictx *x, const char *repo, const char *url, struct gh_resp *r,
    struct pitem **items, size_t *n, int *last)
{
	char etag[GH_ETAG_MAX] = "";
	struct db_res *res = NULL;
	json_val root = NULL;
	int rc;

	if (db_query(x->db, &res, "SELECT etag, items FROM integrity_pages WHERE repo = ?", "s", repo) < 0) {
		note_error(x, "freshness: %s", db_error(x->db));
		return -1;
	}
	if (res->nrows == 1 && db_get(res, 0, 0) && page_text_current(db_str(res, 0, 1)))
		lb_strlcpy(etag, db_get(res, 0, 0), sizeof etag);
	rc = get_json(x, url, etag[0] ? etag : NULL, r, &root);
	if (rc == 0) {		/* 304: the page we kept is still GitHub's */
		if (res->nrows != 1 || page_items_from_text(db_str(res, 0, 1), items, n) < 0) {
			note_error(x, "freshness %s: 304 without a kept page", repo);
			rc = -1;
		}
		*last = *n < PAGE_PRS;
		x->page_304 = rc == 0;
		lb_strlcpy(x->page_etag, etag, sizeof x->page_etag);
	} else if (rc == 1) {
		lb_strlcpy(x->page_etag, r->etag, sizeof x->page_etag);
		struct buf t = BUF_INIT;
		if (page_items_from_json(root, items, n) < 0) {
			note_error(x, "freshness %s: expected a JSON array", repo);
			rc = -1;
		} else if (page_items_to_text(*items, *n, &t) < 0 ||
		    db_exec(x->db, "INSERT INTO integrity_pages (repo, etag, items, fetched_at) "
		    "VALUES (?, ?, ?, NOW(6)) ON DUPLICATE KEY UPDATE etag = VALUES(etag), "
		    "items = VALUES(items), fetched_at = VALUES(fetched_at)", "sss", repo,
		    r->etag[0] ? r->etag : NULL, t.data ? t.data : "") < 0) {
			note_error(x, "freshness %s: keeping the page: %s", repo, db_error(x->db));
			rc = -1;
		}
		*last = r->next[0] == '\0';
		buf_free(&t);
		json_free(root);
	}
	db_res_free(res);
	return rc < 0 ? -1 : 0;
}

static int
freshness(struct ictx *x, const char *repo)
{
	char rp[900], url[GH_URL_MAX], reached[20] = "";
	struct pitem *items = NULL;
	size_t n = 0, total = 0;
	struct idset seen = { NULL, 0, 0 };
	struct walk w;
	struct gh_resp r;
	json_val root = NULL;
	int rc, done, page, last = 0;

	if (repo_path(repo, rp, sizeof rp) < 0 ||
	    lb_snprintf(url, sizeof url, "%s/pulls?state=all&sort=updated&direction=desc&per_page=%d", rp, PAGE_PRS) < 0) {
		note_error(x, "freshness: bad repository '%.200s'", repo);
		return -1;
	}
	if (walk_load(x, repo, &w) < 0) {
		note_error(x, "freshness: %s", db_error(x->db));
		return -1;
	}
	gh_resp_init(&r);
	if (first_page(x, repo, url, &r, &items, &n, &last) < 0) {
		rc = -1;
		goto out;
	}

	/* page 1: the PRs changed last */
	for (size_t i = 0; i < n; i++)
		if (reached[0] == '\0' || strcmp(items[i].updated, reached) < 0)
			lb_strlcpy(reached, items[i].updated, sizeof reached);
	if (w.page <= 1) {	/* a new walk, from the newest PR down to the floor */
		w.top[0] = '\0';
		for (size_t i = 0; i < n; i++)
			if (strcmp(items[i].updated, w.top) > 0)
				lb_strlcpy(w.top, items[i].updated, sizeof w.top);
	}
	total = n;
	rc = compare_items(x, repo, items, n, &seen);
	free(items);
	items = NULL;
	if (rc < 0)
		goto out;
	/* then on down, page after page, to the PRs the last complete walk
	 * (or PR sync) already compared: every PR changed on GitHub since */
	done = last || n == 0 || (w.floor[0] && strcmp(reached, w.floor) < 0);
	page = w.page <= 1 ? 2 : w.page;
	for (int budget = INTEGRITY_WALK_PAGES; !done && budget > 0; budget--, page++) {
		char pu[GH_URL_MAX];
		if (lb_snprintf(pu, sizeof pu, "%s&page=%d", url, page) < 0 ||
		    (rc = get_json(x, pu, NULL, &r, &root)) <= 0) {
			rc = -1;
			goto out;
		}
		rc = page_items_from_json(root, &items, &n);
		last = r.next[0] == '\0';
		json_free(root);
		if (rc < 0) {
			note_error(x, "freshness %s: expected a JSON array", repo);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (reached[0] == '\0' || strcmp(items[i].updated, reached) < 0)
				lb_strlcpy(reached, items[i].updated, sizeof reached);
		total += n;
		rc = compare_items(x, repo, items, n, &seen);
		free(items);
		items = NULL;
		if (rc < 0)
			goto out;
		done = last || n == 0 || (w.floor[0] && strcmp(reached, w.floor) < 0);
	}
	if (done) {
		lb_strlcpy(w.floor, w.top, sizeof w.floor);
		w.page = 1;
	} else {
		w.page = page;
		unverified(x, IC_FRESHNESS, repo, "PRs updated from %s down to %s not compared with GitHub yet "
		    "(%d pages per check): the walk goes on at page %d next check", reached,
		    w.floor[0] ? w.floor : "the first", INTEGRITY_WALK_PAGES, page);
	}
	if (walk_store(x, repo, &w) < 0) {
		note_error(x, "freshness %s: keeping the walk: %s", repo, db_error(x->db));
		rc = -1;
		goto out;
	}
	/* what the probes of the reconciliation may skip: the PRs compared */
	x->page_items = (int)(total > INT32_MAX ? INT32_MAX : total);
	lb_strlcpy(x->page_oldest, reached, sizeof x->page_oldest);
	rc = 0;
out:
	gh_resp_free(&r);
	free(items);
	free(seen.v);
	return rc < 0 ? -1 : 0;
}

/* ----------------------------------------------------- reconciliation */

/* The search query of PRs of repo created (field 0), merged (1) or closed
 * without merge (2) in months a..b (all time when a..b covers every month),
 * with label qualifier value lq when not NULL. -1 when it cannot be written
 * or is longer than GitHub takes. */
static int
search_query(struct ictx *x, const char *repo, int field, const char *lq, int a, int b,
    char *q, size_t qlen)
{
	static const char *const is[NFIELDS] = { "", " is:merged", " is:closed is:unmerged" };
	static const char *const qual[NFIELDS] = { " created:", " merged:", " closed:" };
	char range[40] = "";

	if (!(a <= INTEGRITY_FIRST_MONTH && b >= x->hi) && integrity_range(a, b, range, sizeof range) < 0)
		return -1;
	if (lb_snprintf(q, qlen, "repo:%s is:pr%s%s%s%s%s", repo, is[field], range[0] ? qual[field] : "",
	    range, lq ? " label:" : "", lq ? lq : "") < 0 || strlen(q) > SEARCH_Q_MAX)
		return -1;
	return 0;
}

/* total_count of the search above; *oldest (when not NULL): the month of
 * the oldest PR created. 0, -1 on an error (noted), -2 when GitHub could
 * not count (query too long, incomplete_results: the caller says it is
 * unverified). */
static int
search_count(struct ictx *x, const char *repo, int field, const char *lq, int a, int b,
    long long *count, int *oldest)
{
	char q[600], eq[1800], url[GH_URL_MAX];
	struct gh_resp r;
	json_val root, tc, inc;
	int rc;

	if (search_query(x, repo, field, lq, a, b, q, sizeof q) < 0)
		return -2;
	if (gh_escape(q, eq, sizeof eq) < 0 ||
	    lb_snprintf(url, sizeof url, "/search/issues?q=%s&per_page=1%s", eq,
	    oldest ? "&sort=created&order=asc" : "") < 0) {
		note_error(x, "reconciliation: query too long for %.200s", repo);
		return -1;
	}
	gh_resp_init(&r);
	rc = get_json(x, url, NULL, &r, &root);
	gh_resp_free(&r);
	if (rc <= 0) {
		if (rc == 0)
			note_error(x, "reconciliation: unexpected 304");
		return -1;
	}
	tc = json_get(root, "total_count", NULL);
	if (!json_is_integer(tc) || json_integer(tc) < 0) {
		json_free(root);
		note_error(x, "reconciliation: search answer without total_count");
		return -1;
	}
	*count = json_integer(tc);
	inc = json_get(root, "incomplete_results", NULL);
	if (json_is_true(inc)) {	/* GitHub timed out counting: not a count */
		json_free(root);
		return -2;
	}
	if (oldest) {	/* the oldest PR's month: no month before it can differ */
		json_val items = json_get(root, "items", NULL);
		char t[20];
		*oldest = -1;
		if (json_is_array(items) && json_first(items) != NULL &&
		    date_from_iso(json_str(json_first(items), "created_at"), t, sizeof t) == 0)
			*oldest = date_month_index(t);
	}
	json_free(root);
	return 0;
}

/*
 * Finding the months that differ. A search answers one count (total_count),
 * so each month or range asked about costs one request. The three totals of
 * the repository (created, merged, closed without merge) say whether some
 * month differs; then:
 *
 *  1. probes: likely months first, one search each. A month asked about is
 *     known from then on (GitHub's count replaces the stored one in what
 *     follows), and as soon as the rest agrees in total nothing more is
 *     asked. Likely months, in this order (at most PROBE_MAX probes):
 *       a. months whose stored count moved, since the last check, away from
 *          what that check believed GitHub had (table integrity_counts,
 *          sql/006) in the direction of the difference: rows lost in an old
 *          month, a gap found last time and not repaired yet; newest first;
 *       b. the months of the PRs updated since the last check that this
 *          freshness page did not cover (more than PAGE_PRS were updated):
 *          from the month of the page's oldest updated_at down to the
 *          month of the last check, newest first. A PR updated later is on
 *          the page and freshness accounted for it (a missed webhook moves
 *          no count then); one updated before was on the last check's page
 *          or earlier ones. So no probe here when the page reaches back
 *          before the last check, or lists every PR (not full), or there
 *          was no last check (nothing tells the months); the current
 *          month when freshness failed (no page);
 *       c. the other months that moved, newest first.
 *     Why this works: GitHub's count of a past month does not change (a
 *     PR's creation month is fixed, a merge counts in the month it
 *     happens; a reopened PR leaves its closed month, the one exception:
 *     the bisection finds it), so a past month that differs now either moved on our side
 *     since the last check (a), or holds a PR that changed on GitHub while
 *     we missed it (b), or already differed then and is kept as believed
 *     (in (a) until repaired). Only a month that always differed unseen
 *     (the first check of an install, before any belief) or that GitHub
 *     itself rewrote (a PR deleted) escapes the probes.
 *  2. bisection of what is left: month ranges halved (the other half's
 *     count is the parent's minus the half asked: one search per split),
 *     about log2(months) searches per month that differs. It finds every
 *     month the probes missed, as before them: probes only save searches.
 * bench/40-integrity (10 repos, 1M PRs in 2022-2024; 59 months): rows lost
 * in an old month since the last check, or a gap found by the last check,
 * cost 1 search per month (the bisection alone: 6); a month with no trace
 * on our side costs the bisection (6).
 * After a check of a field that ran to the end, what we believe GitHub has
 * is kept: the stored count of the months that agreed, GitHub's of those
 * that differed (the months whose belief changed, and the current month:
 * its checked_at dates the check).
 */
struct recon {
	const char *repo;
	int field;
	const char *label;	/* labels check: the label's name, else NULL */
	const char *lq;		/* its search qualifier value ("\"NAME\"") */
	int lo, hi;
	long long *cnt;		/* per month lo..hi: stored (after freshness), then
				 * GitHub's for each month found or probed */
	long long *prefix;	/* prefix[i] = sum of cnt at the last prefix_sums() */
	int searches;		/* left for the bisection */
};

#define BISECT_SEARCHES 64	/* more: the repository is resynced in full */
#define PROBE_MAX       4	/* likely months asked about before bisecting */

static void
prefix_sums(struct recon *rc)
{
	int span = rc->hi - rc->lo + 1;

	rc->prefix[0] = 0;
	for (int i = 0; i < span; i++)
		rc->prefix[i + 1] = rc->prefix[i] + rc->cnt[i];
}

static long long
stored_sum(const struct recon *rc, int a, int b)
{
	return rc->prefix[b - rc->lo + 1] - rc->prefix[a - rc->lo];
}

/* Month m differs: GitHub gh, stored st. GitHub's count becomes the belief
 * (cnt; the prefix sums are left as they are for the bisection running). */
static int
month_finding(struct ictx *x, struct recon *rc, int m, long long gh, long long st)
{
	const char *const *fields = field_names;
	int check = rc->label ? IC_LABELS : IC_RECONCILIATION;
	char mn[16], subj[300], det[400], key[JOB_KEY_MAX];
	unsigned long long job = 0;
	struct jw w;

	rc->cnt[m - rc->lo] = gh;
	date_month_key(mn, sizeof mn, m / 12, m % 12 + 1);
	lb_snprintf(subj, sizeof subj, "%s %s", rc->repo, mn);
	if (rc->label)
		lb_snprintf(det, sizeof det, "label %s on merged PRs: GitHub %lld, stored %lld", rc->label, gh, st);
	else
		lb_snprintf(det, sizeof det, "%s: GitHub %lld, stored %lld", fields[rc->field], gh, st);
	if (!counted(x, check))
		return 0;
	if (x->repair && jw_init(&w) == 0) {
		jw_obj(&w);
		jw_kv_str(&w, "repo", rc->repo);
		jw_kv_str(&w, "month", mn);
		jw_kv_str(&w, "field", fields[rc->field]);
		jw_obj_end(&w);
		lb_snprintf(key, sizeof key, "month:%.200s:%s:%s", rc->repo, mn, fields[rc->field]);
		job = repair_job(x, "resync_month", &w, key);
		jw_free(&w);
	}
	return store_finding(x, check, subj, det, job);
}

/* GitHub has gh PRs in months a..b: find the months that differ. Returns
 * 1 when the search budget ran out (the caller resyncs in full), 2 when
 * GitHub could not count (unverified), -1 on an error. */
static int
bisect(struct ictx *x, struct recon *rc, int a, int b, long long gh)
{
	long long st = stored_sum(rc, a, b), left;
	int mid, r;

	if (st == gh)
		return 0;
	if (a == b)
		return month_finding(x, rc, a, gh, st);
	if (rc->searches-- <= 0)
		return 1;
	mid = a + (b - a) / 2;
	if ((r = search_count(x, rc->repo, rc->field, rc->lq, a, mid, &left, NULL)) < 0)
		return r == -2 ? 2 : -1;
	if ((r = bisect(x, rc, a, mid, left)) != 0)
		return r;
	return bisect(x, rc, mid + 1, b, gh - left);
}

/* Ask GitHub about month m alone; from then on its count is GitHub's. */
static int
probe(struct ictx *x, struct recon *rc, int m)
{
	long long n, st = rc->cnt[m - rc->lo];
	int r;

	if ((r = search_count(x, rc->repo, rc->field, rc->lq, m, m, &n, NULL)) < 0)
		return r == -2 ? 2 : -1;
	if (n != st && month_finding(x, rc, m, n, st) < 0)
		return -1;
	rc->cnt[m - rc->lo] = n;
	prefix_sums(rc);
	return 0;
}

/* The months to probe, in order (see above), within start..hi: prev holds
 * the belief of the last check (NULL: none), since its time ("": none),
 * diff = GitHub's total minus the stored one. Returns how many were
 * written to out (<= PROBE_MAX). */
static int
probe_order(const struct ictx *x, const struct recon *rc, const long long *prev, const char *since,
    int start, long long diff, int *out)
{
	int n = 0, rb = -1, ra = -1;	/* pass b: months rb down to ra */

	if (x->page_items < 0)
		rb = ra = rc->hi;
	else if (prev && x->page_items >= PAGE_PRS && strcmp(x->page_oldest, since) > 0) {
		rb = date_month_index(x->page_oldest);
		ra = date_month_index(since);
		if (rb < 0 || ra < 0 || rb > rc->hi)
			rb = ra = rc->hi;
	}
	if (ra < start)
		ra = start;
	for (int pass = 0; pass < 3; pass++)
		for (int m = pass == 1 ? rb : rc->hi; m >= (pass == 1 ? ra : start) && n < PROBE_MAX; m--) {
			int dup = 0;
			if (pass != 1) {
				long long moved = prev ? rc->cnt[m - rc->lo] - prev[m - rc->lo] : 0;
				int towards = (moved < 0 && diff > 0) || (moved > 0 && diff < 0);
				if (moved == 0 || towards != (pass == 0))
					continue;
			}
			for (int k = 0; k < n; k++)
				dup |= out[k] == m;
			if (!dup)
				out[n++] = m;
		}
	return n;
}

/* The belief of the last check for repo: prev[f][month - lo], since[f] the
 * time of that check ("YYYY-MM-DD HH:MM:SS"; "" when it has none). */
static int
beliefs_load(struct ictx *x, const char *repo, int lo, int hi, long long *prev[NFIELDS],
    char since[NFIELDS][20])
{
	struct db_res *res;

	for (int f = 0; f < NFIELDS; f++)
		since[f][0] = '\0';
	if (db_query(x->db, &res, "SELECT field, month, github, DATE_FORMAT(checked_at, "
	    "'%Y-%m-%d %H:%i:%s') FROM integrity_counts WHERE repo = ?", "s", repo) < 0) {
		note_error(x, "reconciliation: %s", db_error(x->db));
		return -1;
	}
	for (size_t i = 0; i < res->nrows; i++) {
		long long f = db_getll(res, i, 0, -1), m = db_getll(res, i, 1, -1), n = db_getll(res, i, 2, 0);
		const char *t = db_str(res, i, 3);
		if (f < 0 || f >= NFIELDS)
			continue;
		if (strlen(t) < 20 && strcmp(t, since[f]) > 0)
			lb_strlcpy(since[f], t, sizeof since[f]);
		if (m >= lo && m <= hi)
			prev[f][m - lo] = n;
	}
	db_res_free(res);
	return 0;
}

/* Keep what this check believes GitHub has (cnt of field f): the months
 * whose belief changed, and the current month (dating the check). */
static int
beliefs_store(struct ictx *x, const char *repo, int f, int lo, int hi, const long long *cnt,
    const long long *prev)
{
	int rc = 0;

	if (db_begin(x->db) < 0)
		rc = -1;
	for (int m = lo; m <= hi && rc == 0; m++) {
		if ((cnt[m - lo] == prev[m - lo] && m != hi) || cnt[m - lo] < 0)
			continue;
		rc = db_exec(x->db, "INSERT INTO integrity_counts (repo, field, month, github, checked_at) "
		    "VALUES (?, ?, ?, ?, NOW(6)) ON DUPLICATE KEY UPDATE github = VALUES(github), "
		    "checked_at = VALUES(checked_at)", "siii", repo, (long long)f, (long long)m, cnt[m - lo]);
	}
	if (rc == 0 && db_commit(x->db) < 0)
		rc = -1;
	if (rc < 0) {
		note_error(x, "reconciliation: keeping the counts of %.200s: %s", repo, db_error(x->db));
		db_rollback(x->db);
	}
	return rc;
}

/* The counts of every repository (x->counts), in one scan of the table:
 * the first repo pays it; x->repo_ids names the repository ids. 0, or -1
 * (noted). */
static int
counts_load(struct ictx *x)
{
	if (x->counts == NULL && (db_query(x->db, &x->counts, "SELECT repo_id, "
	    "YEAR(created_at) * 12 + MONTH(created_at) - 1, "
	    "IF(merged = 1 AND merged_at IS NOT NULL, YEAR(merged_at) * 12 + MONTH(merged_at) - 1, -1), "
	    "IF(state = 'closed' AND merged = 0 AND closed_at IS NOT NULL, "
	    "YEAR(closed_at) * 12 + MONTH(closed_at) - 1, -1), "
	    "COUNT(*) FROM pull_requests GROUP BY 1, 2, 3, 4", "") < 0 ||
	    db_query(x->db, &x->repo_ids, "SELECT id, full_name FROM repositories", "") < 0)) {
		note_error(x, "reconciliation: %s", db_error(x->db));
		db_res_free(x->counts);
		x->counts = NULL;
		return -1;
	}
	return 0;
}

/* GitHub unchanged (page 1 of the PRs by updated time answered 304) since a
 * check verified every count at this very page: GitHub's counts are what
 * that check believed, no search needed (x->counts_unchanged, with the
 * label beliefs). 0, or -1 (noted). */
static int
counts_verified(struct ictx *x, const char *repo)
{
	struct db_res *mk;
	char key[400];

	if (!x->page_304)
		return 0;
	lb_snprintf(key, sizeof key, "verified:%s", repo);
	if (db_query(x->db, &mk, "SELECT etag, items FROM integrity_pages WHERE repo = ?", "s", key) < 0) {
		note_error(x, "reconciliation: %s", db_error(x->db));
		return -1;
	}
	if (mk->nrows == 1 && db_get(mk, 0, 0) && strcmp(db_str(mk, 0, 0), x->page_etag) == 0 &&
	    (x->label_beliefs = lb_strndup(db_str(mk, 0, 1), strlen(db_str(mk, 0, 1)))) != NULL)
		x->counts_unchanged = 1;
	db_res_free(mk);
	return 0;
}

/* The repo's stored counts per field and month lo..hi (the months outside
 * at the ends), corrected by what freshness found. */
static void
stored_counts(struct ictx *x, const char *repo, int lo, int hi, long long *cnt[NFIELDS])
{
	const struct db_res *res = x->counts;
	int span = hi - lo + 1;

	for (size_t i = 0; i < res->nrows; i++) {
		long long n = db_getll(res, i, 4, 0);
		const char *rid = db_str(res, i, 0);
		int ours = 0;
		for (size_t k = 0; k < x->repo_ids->nrows && !ours; k++)
			ours = strcmp(db_str(x->repo_ids, k, 0), rid) == 0 &&
			    strcasecmp(db_str(x->repo_ids, k, 1), repo) == 0;
		if (!ours)
			continue;
		for (int f = 0; f < NFIELDS; f++) {
			long long m = db_getll(res, i, (size_t)f + 1, -1);
			if (m >= 0)
				cnt[f][m < lo ? 0 : m > hi ? span - 1 : m - lo] += n;
		}
	}
	for (size_t i = 0; i < x->ndeltas; i++) {
		const struct delta *d = &x->deltas[i];
		int m = d->month < lo ? lo : d->month > hi ? hi : d->month;
		if (d->field < NFIELDS)
			cnt[d->field][m - lo] += d->d;
	}
}

/* GitHub unchanged: each month of r's field whose stored count differs
 * from what GitHub was believed to have (prev) is a finding; the beliefs
 * are kept. 0, or -1. */
static int
beliefs_compare(struct ictx *x, struct recon *r, long long *prev)
{
	int span = r->hi - r->lo + 1, rc = 0;

	for (int i = 0; i < span && rc == 0; i++)
		if (r->cnt[i] != prev[i] && month_finding(x, r, r->lo + i, prev[i], r->cnt[i]) < 0)
			rc = -1;
	for (int i = 0; r->field == 0 && i < span; i++)
		if (prev[i] != 0 || r->cnt[i] != 0) {
			x->repo_start = r->lo + i;
			break;
		}
	if (rc == 0 && beliefs_store(x, r->repo, r->field, r->lo, r->hi, r->cnt, prev) < 0)
		rc = -1;
	return rc;
}

#define NARROW_NO_TOTAL 3	/* field_narrow(): GitHub's total was incomplete */

/* r's field against GitHub: its total (*total, the stored one *stored),
 * then, when they differ and no full resync is queued yet (full), the
 * months that differ narrowed down: probes of the likely months first
 * (prev: the counts believed at the last check, since its time; NULL when
 * none), then bisection from the oldest month either side has. *first is
 * GitHub's oldest created month (field created). Returns 0 (every month
 * that differs found), 1 (a full resync is the repair: why_full says why),
 * 2 (incomplete answers while narrowing), NARROW_NO_TOTAL, or -1. */
static int
field_narrow(struct ictx *x, struct recon *r, long long *prev, const char *since, int full,
    int *first, long long *total, long long *stored, char *why_full, size_t wlen)
{
	int span = r->hi - r->lo + 1, start = r->hi, b = 0, order[PROBE_MAX], np, sc;

	for (int i = 0; i < span; i++)
		if (r->cnt[i] != 0) {
			start = r->lo + i;
			break;
		}
	sc = search_count(x, r->repo, r->field, NULL, r->lo, r->hi, total, r->field == 0 ? first : NULL);
	if (sc == -2)
		return NARROW_NO_TOTAL;
	if (sc < 0)
		return -1;
	/* bisect from the oldest month either side has: a PR is merged or
	 * closed after it was created, so GitHub's oldest created PR bounds
	 * every field; the months before hold nothing on either side */
	if (*first >= r->lo && *first < start)
		start = *first;
	if (*first < r->lo && *total > 0)
		start = r->lo;
	if (r->field == 0)
		x->repo_start = start;
	*stored = r->prefix[span];
	if (full) {	/* a full resync is queued already: totals only */
		if (*stored != *total)
			b = 1;
	} else if (*stored == 0 && *total > 0) {
		/* nothing stored (never synced): resynced in full */
		b = 1;
		lb_strlcpy(why_full, "nothing stored", wlen);
	} else if (*stored != *total) {
		np = probe_order(x, r, prev, since, start, *total - *stored, order);
		for (int k = 0; k < np && b == 0 && stored_sum(r, start, r->hi) != *total; k++)
			b = probe(x, r, order[k]);
		if (b == 0)
			b = bisect(x, r, start, r->hi, *total);
		if (b == 1)
			lb_strlcpy(why_full, "too many months differ", wlen);
	}
	return b;
}

static int
reconciliation(struct ictx *x, const char *repo)
{
	int lo = INTEGRITY_FIRST_MONTH, hi = x->hi, span = hi - lo + 1, rc = 0, full = 0, first = -1;
	char since[NFIELDS][20], full_det[600] = "", why_full[64] = "";
	long long *cnt[NFIELDS] = { 0 }, *prefix[NFIELDS] = { 0 }, *prev[NFIELDS] = { 0 };
	int oom = 0, incomplete = 0;

	x->repo_start = hi;
	x->repo_full = 0;
	for (int f = 0; f < NFIELDS; f++) {
		cnt[f] = calloc((size_t)span, sizeof (long long));
		prev[f] = calloc((size_t)span, sizeof (long long));
		prefix[f] = calloc((size_t)span + 1, sizeof (long long));
		oom |= !cnt[f] || !prev[f] || !prefix[f];
	}
	if (oom) {
		note_error(x, "out of memory");
		rc = -1;
		goto out;
	}
	if (counts_load(x) < 0 || beliefs_load(x, repo, lo, hi, prev, since) < 0 ||
	    counts_verified(x, repo) < 0) {
		rc = -1;
		goto out;
	}
	stored_counts(x, repo, lo, hi, cnt);
	for (int f = 0; f < NFIELDS; f++) {
		struct recon r = { repo, f, NULL, NULL, lo, hi, cnt[f], prefix[f], BISECT_SEARCHES };
		long long total, stored;
		int b;
		prefix_sums(&r);
		if (x->counts_unchanged) {	/* GitHub's counts: the beliefs */
			if (rc == 0 && beliefs_compare(x, &r, prev[f]) < 0)
				rc = -1;
			continue;
		}
		b = field_narrow(x, &r, since[f][0] ? prev[f] : NULL, since[f], full, &first, &total,
		    &stored, why_full, sizeof why_full);
		if (b == NARROW_NO_TOTAL) {
			unverified(x, IC_RECONCILIATION, repo, "%s: GitHub answered without a complete count",
			    field_names[f]);
			incomplete = 1;
			continue;
		}
		if (b < 0) {
			rc = -1;
			break;
		}
		if (b == 2) {
			unverified(x, IC_RECONCILIATION, repo, "%s: GitHub answered without a complete count "
			    "while narrowing down the months that differ", field_names[f]);
			incomplete = 1;
			continue;
		}
		if (b == 1) {	/* too many months differ: one finding, a full resync */
			size_t l = strlen(full_det);
			full = 1;
			lb_snprintf(full_det + l, sizeof full_det - l, "%s%s: GitHub %lld, stored %lld",
			    l ? ", " : "", field_names[f], total, stored);
			continue;
		}
		if (beliefs_store(x, repo, f, lo, hi, cnt[f], prev[f]) < 0)
			rc = -1;
	}
	x->repo_full = full;
	x->counts_complete = rc == 0 && !full && !incomplete;
	if (full && counted(x, IC_RECONCILIATION)) {
		char det[800];
		lb_snprintf(det, sizeof det, "%s in all; %s: full resync", full_det,
		    why_full[0] ? why_full : "too many months differ");
		store_finding(x, IC_RECONCILIATION, repo, det, repair_sync(x, "prs", repo, 0));
	}
out:
	for (int f = 0; f < NFIELDS; f++) {
		free(cnt[f]);
		free(prev[f]);
		free(prefix[f]);
	}
	return rc;
}

/* ------------------------------------------------------ kept lists */

/*
 * A paged GitHub list asked with the ETags of the last check: page N of
 * url (which ends in "?per_page=100") is kept in integrity_pages under
 * "KEY:N" as a summary, one line per item made by fn from the JSON array,
 * after a first line "1" (more pages follow) or "0" (the last page). On
 * 304 the kept summary stands for the page. All summaries are appended to
 * out. Returns 0, or -1 on an error (noted).
 */
typedef int (*summarize_fn)(json_val item, struct buf *b);

static void
buf_clean(struct buf *b, const char *s)
{
	for (; s && *s; s++)
		buf_printf(b, "%c", (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static int
kept_list(struct ictx *x, const char *url, const char *key, summarize_fn fn, struct buf *out, int *all304)
{
	char pu[GH_URL_MAX], pk[400], etag[GH_ETAG_MAX];
	struct gh_resp r;
	int rc = 0;

	if (all304)
		*all304 = 1;
	gh_resp_init(&r);
	for (int page = 1; page <= LIST_MAX_PAGES; page++) {
		struct db_res *kept = NULL;
		const char *text = NULL;
		struct buf t = BUF_INIT;
		json_val root = NULL;
		int g, more = 0;

		etag[0] = '\0';
		if (lb_snprintf(pu, sizeof pu, "%s&page=%d", url, page) < 0 ||
		    lb_snprintf(pk, sizeof pk, "%s:%d", key, page) < 0) {
			note_error(x, "list key too long: %.200s", key);
			rc = -1;
			break;
		}
		if (db_query(x->db, &kept, "SELECT etag, items FROM integrity_pages WHERE repo = ?", "s", pk) < 0) {
			note_error(x, "kept pages: %s", db_error(x->db));
			rc = -1;
			break;
		}
		if (kept->nrows == 1 && db_get(kept, 0, 0))
			lb_strlcpy(etag, db_get(kept, 0, 0), sizeof etag);
		g = get_json(x, pu, etag[0] ? etag : NULL, &r, &root);
		if (g != 0 && all304)
			*all304 = 0;
		if (g == 0 && kept->nrows == 1) {
			text = db_str(kept, 0, 1);
			more = text[0] == '1';
			text = strchr(text, '\n');
			buf_printf(out, "%s", text ? text + 1 : "");
		} else if (g == 1 && json_is_array(root)) {
			more = r.next[0] != '\0';
			buf_printf(&t, "%d\n", more);
			JSON_EACH(item, root)
				fn(item, &t);
			buf_printf(out, "%s", t.data ? strchr(t.data, '\n') + 1 : "");
			if (db_exec(x->db, "INSERT INTO integrity_pages (repo, etag, items, fetched_at) "
			    "VALUES (?, ?, ?, NOW(6)) ON DUPLICATE KEY UPDATE etag = VALUES(etag), "
			    "items = VALUES(items), fetched_at = VALUES(fetched_at)", "sss", pk,
			    r.etag[0] ? r.etag : NULL, t.data ? t.data : "0\n") < 0) {
				note_error(x, "kept pages: %s", db_error(x->db));
				rc = -1;
			}
		} else {
			if (g >= 0)
				note_error(x, "GET %.300s: %s", pu, g == 0 ? "304 without a kept page" :
				    "expected a JSON array");
			rc = -1;
		}
		buf_free(&t);
		json_free(root);
		db_res_free(kept);
		if (rc < 0 || !more)
			break;
		if (page == LIST_MAX_PAGES) {
			note_error(x, "GET %.300s: more than %d pages", url, LIST_MAX_PAGES);
			rc = -1;
		}
	}
	gh_resp_free(&r);
	if (out->len && out->data == NULL)
		rc = -1;
	return rc;
}

/* The next line of a summary (moves *p); NULL at the end. */
static char *
next_line(char **p)
{
	char *s = *p, *e;

	if (s == NULL || *s == '\0')
		return NULL;
	e = strchr(s, '\n');
	if (e) {
		*e = '\0';
		*p = e + 1;
	} else
		*p = s + strlen(s);
	return s;
}

/* ------------------------------------------------------------- labels */

static int
sum_label(json_val l, struct buf *b)
{
	const char *n = json_str(l, "name");

	if (n == NULL || *n == '\0')
		return 0;
	buf_clean(b, n);
	return buf_printf(b, "\n");
}

struct lab {
	char name[256];
	long long stored;	/* merged PRs with it, after freshness */
	long long github;	/* GitHub's count, when known */
	int known;
};

static struct lab *
lab_find(struct lab *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static int
lab_add(struct lab **v, size_t *n, size_t *cap, const char *name, long long stored)
{
	struct lab *l = lab_find(*v, *n, name);

	if (l) {
		l->stored += stored;
		return 0;
	}
	if (lb_grow(v, cap, *n, sizeof **v, 32) < 0)
		return -1;
	lb_strlcpy((*v)[*n].name, name, sizeof (*v)[*n].name);
	(*v)[*n].stored = stored;
	(*v)[*n].github = 0;
	(*v)[*n].known = 0;
	(*n)++;
	return 0;
}

/* A name that may go in label:a,b,c (no quoting needed). */
static int
plain_label(const char *n)
{
	return *n && strpbrk(n, " ,\":\\") == NULL;
}

/* GitHub has total merged PRs labelled l, we have l->stored: find the
 * merged months that differ. */
static int
label_months(struct ictx *x, const char *repo, const char *repo_id, const struct lab *l,
    const char *lq, long long total)
{
	int lo = INTEGRITY_FIRST_MONTH, hi = x->hi, span = hi - lo + 1, start = x->repo_start, b;
	long long *cnt = calloc((size_t)span, sizeof *cnt), *prefix = calloc((size_t)span + 1, sizeof *prefix);
	struct recon r = { repo, 1, l->name, lq, lo, hi, cnt, prefix, BISECT_SEARCHES };
	struct db_res *res = NULL;
	int rc = 0;

	if (cnt == NULL || prefix == NULL) {
		note_error(x, "out of memory");
		rc = -1;
		goto out;
	}
	if (db_query(x->db, &res, "SELECT YEAR(p.merged_at) * 12 + MONTH(p.merged_at) - 1, COUNT(*) "
	    "FROM pull_requests p JOIN pr_labels pl ON pl.pr_id = p.id JOIN labels l ON l.id = pl.label_id "
	    "WHERE p.repo_id = ? AND p.merged = 1 AND p.merged_at IS NOT NULL AND l.name = ? GROUP BY 1",
	    "ss", repo_id, l->name) < 0) {
		note_error(x, "labels: %s", db_error(x->db));
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < res->nrows; i++) {
		long long m = db_getll(res, i, 0, -1);
		if (m >= 0)
			cnt[m < lo ? 0 : m > hi ? span - 1 : m - lo] += db_getll(res, i, 1, 0);
	}
	for (size_t i = 0; i < x->ndeltas; i++) {
		const struct delta *d = &x->deltas[i];
		int m = d->month < lo ? lo : d->month > hi ? hi : d->month;
		if (d->field == 3 && strcasecmp(d->label, l->name) == 0)
			cnt[m - lo] += d->d;
	}
	for (int i = 0; i < span; i++)
		if (cnt[i] != 0 && lo + i < start) {
			start = lo + i;
			break;
		}
	prefix_sums(&r);
	b = bisect(x, &r, start, hi, total);
	if (b < 0)
		rc = -1;
	else if (b == 2)
		unverified(x, IC_LABELS, repo, "label %s: GitHub answered without a complete count", l->name);
	else if (b == 1 && counted(x, IC_LABELS)) {
		char det[600];
		lb_snprintf(det, sizeof det, "label %s on merged PRs: GitHub %lld, stored %lld in all; "
		    "too many months differ: full resync", l->name, total, l->stored);
		store_finding(x, IC_LABELS, repo, det, repair_sync(x, "prs", repo, 0));
		rc = 1;	/* the full resync covers every label */
	}
out:
	db_res_free(res);
	free(cnt);
	free(prefix);
	return rc;
}

/* The labels of one repo's check: v[0..n) with the counts known so far,
 * the searches left, whether every count was verified, whether a full
 * resync was queued. */
struct labels {
	const char *repo, *rid;
	struct lab *v;
	size_t n, cap;
	int budget, complete, full;
};

/* Every label GitHub lists (names, one a line), every label stored on
 * merged PRs, and those freshness found: stored counts as they will be
 * after its repairs. 0, or -1 out of memory. */
static int
labels_gather(struct ictx *x, struct labels *ls, char *names)
{
	char *p = names, *line;

	while ((line = next_line(&p)) != NULL)
		if (*line && lab_add(&ls->v, &ls->n, &ls->cap, line, 0) < 0)
			return -1;
	for (size_t i = 0; i < x->label_counts->nrows; i++)
		if (strcmp(db_str(x->label_counts, i, 0), ls->rid) == 0 &&
		    lab_add(&ls->v, &ls->n, &ls->cap, db_str(x->label_counts, i, 1),
		    db_getll(x->label_counts, i, 2, 0)) < 0)
			return -1;
	for (size_t i = 0; i < x->ndeltas; i++)
		if (x->deltas[i].field == 3 &&
		    lab_add(&ls->v, &ls->n, &ls->cap, x->deltas[i].label, x->deltas[i].d) < 0)
			return -1;
	return 0;
}

/* GitHub unchanged, labels too, since a check verified them all: its
 * counts are that check's (x->label_beliefs); searches only where we
 * moved. 0, -1 on an error, -2 out of memory. */
static int
labels_believed(struct ictx *x, struct labels *ls)
{
	char *p = x->label_beliefs, *line;
	int rc = 0;

	while ((line = next_line(&p)) != NULL) {
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		if (lab_add(&ls->v, &ls->n, &ls->cap, line, 0) < 0)
			return -2;
		lab_find(ls->v, ls->n, line)->github = strtoll(tab + 1, NULL, 10);
	}
	for (size_t i = 0; i < ls->n && rc >= 0 && !ls->full; i++) {
		struct lab *l = &ls->v[i];
		char lq[300];
		if (l->stored == l->github)
			continue;
		if (strchr(l->name, '"') || lb_snprintf(lq, sizeof lq, "\"%s\"", l->name) < 0) {
			unverified(x, IC_LABELS, ls->repo, "label %s: a name GitHub's search cannot quote", l->name);
			continue;
		}
		rc = label_months(x, ls->repo, ls->rid, l, lq, l->github);
		ls->full = rc == 1;
	}
	return rc < 0 ? -1 : 0;
}

/* The plain-named labels stored on no merged PR (plain), as many at once
 * as fit in one search (must count 0); a group that counts more, and a
 * name too long for a group, go to single. 0 or -1. */
static int
labels_plain(struct ictx *x, struct labels *ls, const size_t *plain, size_t nplain,
    size_t *single, size_t *nsingle)
{
	for (size_t g = 0; g < nplain;) {
		char lq[SEARCH_Q_MAX + 1] = "", q[600];
		size_t g0 = g, l = 0;
		long long total;
		int sc;
		/* as many as fit in one query */
		for (; g < nplain; g++) {
			size_t add = strlen(ls->v[plain[g]].name) + (l ? 1 : 0);
			if (l + add >= sizeof lq)
				break;
			lq[l] = ',';
			lb_strlcpy(lq + l + (l ? 1 : 0), ls->v[plain[g]].name, sizeof lq - l - (l ? 1 : 0));
			l += add;
			if (search_query(x, ls->repo, 1, lq, INTEGRITY_FIRST_MONTH, x->hi, q, sizeof q) < 0) {
				l -= add;
				lq[l] = '\0';
				break;
			}
		}
		if (g == g0) {	/* one name alone is too long for a query */
			single[(*nsingle)++] = plain[g++];
			continue;
		}
		if (ls->budget-- <= 0) {
			unverified(x, IC_LABELS, ls->repo, "%zu labels stored on no merged PR not verified: at most "
			    "%d label searches per repository and check", nplain - g0, INTEGRITY_LABEL_SEARCHES);
			ls->complete = 0;
			break;
		}
		sc = search_count(x, ls->repo, 1, lq, INTEGRITY_FIRST_MONTH, x->hi, &total, NULL);
		if (sc == -2) {
			unverified(x, IC_LABELS, ls->repo, "labels %s: GitHub answered without a complete count", lq);
			ls->complete = 0;
			continue;
		}
		if (sc < 0)
			return -1;
		for (size_t k = g0; k < g; k++)
			if (total != 0)	/* some of them are on merged PRs: each one alone */
				single[(*nsingle)++] = plain[k];
			else
				ls->v[plain[k]].known = 1;	/* GitHub: 0 */
	}
	return 0;
}

/* One search per label of single, in turn from the run's id on, so that
 * labels left for the budget come first in a later check; a label that
 * differs is narrowed to its months. 0 or -1. */
static int
labels_single(struct ictx *x, struct labels *ls, const size_t *single, size_t nsingle)
{
	for (size_t k = 0; k < nsingle && !ls->full; k++) {
		struct lab *l = &ls->v[single[(k + (size_t)(x->res->run_id % (nsingle ? nsingle : 1))) % nsingle]];
		char lq[300];
		long long total;
		int sc, lr;
		if (ls->budget <= 0) {
			unverified(x, IC_LABELS, ls->repo, "%zu labels not verified: at most %d label searches per "
			    "repository and check (later checks take them first)", nsingle - k,
			    INTEGRITY_LABEL_SEARCHES);
			ls->complete = 0;
			break;
		}
		if (strchr(l->name, '"') || lb_snprintf(lq, sizeof lq, "\"%s\"", l->name) < 0) {
			unverified(x, IC_LABELS, ls->repo, "label %s: a name GitHub's search cannot quote", l->name);
			ls->complete = 0;
			continue;
		}
		ls->budget--;
		sc = search_count(x, ls->repo, 1, lq, INTEGRITY_FIRST_MONTH, x->hi, &total, NULL);
		if (sc == -2) {
			unverified(x, IC_LABELS, ls->repo, "label %s: GitHub could not count it (query too long "
			    "or incomplete results)", l->name);
			ls->complete = 0;
			continue;
		}
		if (sc < 0)
			return -1;
		l->github = total;
		l->known = 1;
		if (total == l->stored)
			continue;
		lr = label_months(x, ls->repo, ls->rid, l, lq, total);
		ls->full = lr == 1;
		if (lr < 0)
			return -1;
	}
	return 0;
}

/* Every count verified at this page of PRs: the next check may believe them
 * while GitHub answers 304 (kept as mkey); else the mark goes. 0 or -1. */
static int
labels_mark(struct ictx *x, const struct labels *ls, const char *mkey)
{
	struct buf t = BUF_INIT;
	int complete = ls->complete, ok, rc = 0;

	for (size_t i = 0; i < ls->n; i++)
		complete &= ls->v[i].known;
	ok = x->counts_complete && complete && !ls->full && x->page_etag[0];
	for (size_t i = 0; ok && i < ls->n; i++) {
		buf_clean(&t, ls->v[i].name);
		buf_printf(&t, "\t%lld\n", ls->v[i].github);
	}
	if (ok ? db_exec(x->db, "INSERT INTO integrity_pages (repo, etag, items, fetched_at) "
	    "VALUES (?, ?, ?, NOW(6)) ON DUPLICATE KEY UPDATE etag = VALUES(etag), items = VALUES(items), "
	    "fetched_at = VALUES(fetched_at)", "sss", mkey, x->page_etag, t.data ? t.data : "") < 0 :
	    db_exec(x->db, "DELETE FROM integrity_pages WHERE repo = ?", "s", mkey) < 0) {
		note_error(x, "labels: %s", db_error(x->db));
		rc = -1;
	}
	buf_free(&t);
	return rc;
}

/* The labels of merged PRs, searched one label at a time or in groups
 * (labels_plain, labels_single) unless GitHub is unchanged
 * (labels_believed). */
static int
labels_compare(struct ictx *x, struct labels *ls, int all304, const char *mkey)
{
	size_t *single = NULL, *plain = NULL, nsingle = 0, nplain = 0;
	int rc;

	if (x->counts_unchanged && all304)
		return labels_believed(x, ls);
	single = calloc(ls->n + 1, sizeof *single);
	plain = calloc(ls->n + 1, sizeof *plain);
	if (single == NULL || plain == NULL) {
		free(single);
		free(plain);
		return -2;
	}
	/* labels on merged PRs: one search each; labels on none: together */
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->v[i].stored == 0 && plain_label(ls->v[i].name))
			plain[nplain++] = i;
		else
			single[nsingle++] = i;
	}
	rc = labels_plain(x, ls, plain, nplain, single, &nsingle);
	if (rc == 0)
		rc = labels_single(x, ls, single, nsingle);
	if (rc == 0)
		rc = labels_mark(x, ls, mkey);
	free(single);
	free(plain);
	return rc;
}

static int
labels_check(struct ictx *x, const char *repo, int resynced)
{
	char rp[900], url[GH_URL_MAX], key[400], rid[24] = "", mkey[400];
	struct buf names = BUF_INIT;
	struct labels ls = { .repo = repo, .rid = rid, .budget = INTEGRITY_LABEL_SEARCHES,
	    .complete = 1 };
	int rc, all304 = 0;

	for (size_t k = 0; x->repo_ids && k < x->repo_ids->nrows && !rid[0]; k++)
		if (strcasecmp(db_str(x->repo_ids, k, 1), repo) == 0)
			lb_strlcpy(rid, db_str(x->repo_ids, k, 0), sizeof rid);
	lb_snprintf(mkey, sizeof mkey, "verified:%s", repo);
	if (resynced || !rid[0]) {	/* the full resync (or first sync) brings the labels */
		unverified(x, IC_LABELS, repo, "labels of merged PRs not compared: the repository is %s",
		    rid[0] ? "resynced in full" : "not stored yet");
		if (db_exec(x->db, "DELETE FROM integrity_pages WHERE repo = ?", "s", mkey) < 0) {
			note_error(x, "labels: %s", db_error(x->db));
			return -1;
		}
		return 0;
	}
	if (x->label_counts == NULL && db_query(x->db, &x->label_counts, "SELECT p.repo_id, l.name, COUNT(*) "
	    "FROM pr_labels pl JOIN pull_requests p ON p.id = pl.pr_id JOIN labels l ON l.id = pl.label_id "
	    "WHERE p.merged = 1 GROUP BY p.repo_id, l.name", "") < 0) {
		note_error(x, "labels: %s", db_error(x->db));
		return -1;
	}
	if (repo_path(repo, rp, sizeof rp) < 0 ||
	    lb_snprintf(url, sizeof url, "%s/labels?per_page=100", rp) < 0 ||
	    lb_snprintf(key, sizeof key, "labels:%s", repo) < 0) {
		note_error(x, "labels: bad repository '%.200s'", repo);
		return -1;
	}
	if (kept_list(x, url, key, sum_label, &names, &all304) < 0) {
		buf_free(&names);
		return -1;
	}
	rc = labels_gather(x, &ls, names.data) < 0 ? -2 : labels_compare(x, &ls, all304, mkey);
	if (rc == -2)
		note_error(x, "out of memory");
	free(ls.v);
	buf_free(&names);
	return rc < 0 ? -1 : 0;
}

/* -------------------------------------------------------- referential */

static int
referential(struct ictx *x)
{
	char subj[300], det[300];
	struct db_res *res;
	int rc = 0;

	/* PRs whose author is unknown: the distinct authors first (a loose
	 * scan of the author index, not of a million rows), then their PRs */
	if (db_query(x->db, &res, "SELECT a.author_id FROM (SELECT DISTINCT author_id FROM pull_requests) a "
	    "LEFT JOIN users u ON u.id = a.author_id WHERE u.id IS NULL ORDER BY a.author_id LIMIT ?", "i",
	    (long long)SCAN_LIMIT) < 0) {
		note_error(x, "referential: %s", db_error(x->db));
		return -1;
	}
	for (size_t k = 0; k < res->nrows; k++) {
		struct db_res *prs;
		if (db_query(x->db, &prs, "SELECT r.full_name, p.number FROM pull_requests p "
		    "JOIN repositories r ON r.id = p.repo_id WHERE p.author_id = ? ORDER BY p.id LIMIT ?", "si",
		    db_str(res, k, 0), (long long)SCAN_LIMIT) < 0) {
			db_res_free(res);
			note_error(x, "referential: %s", db_error(x->db));
			return -1;
		}
		for (size_t i = 0; i < prs->nrows; i++) {
			if (!counted(x, IC_REFERENTIAL))
				continue;
			lb_snprintf(subj, sizeof subj, "%s#%s", db_str(prs, i, 0), db_str(prs, i, 1));
			lb_snprintf(det, sizeof det, "author %s is not a known user", db_str(res, k, 0));
			store_finding(x, IC_REFERENTIAL, subj, det, x->gh_prs ?
			    repair_sync(x, "pr", db_str(prs, i, 0), (long)db_getll(prs, i, 1, 0)) : 0);
		}
		db_res_free(prs);
	}
	db_res_free(res);

	/* memberships pointing at an unknown team */
	if (db_query(x->db, &res, "SELECT m.team_id, COUNT(*) FROM memberships m "
	    "LEFT JOIN teams t ON t.id = m.team_id WHERE t.id IS NULL GROUP BY m.team_id "
	    "ORDER BY m.team_id LIMIT ?", "i", (long long)SCAN_LIMIT) < 0) {
		note_error(x, "referential: %s", db_error(x->db));
		return -1;
	}
	for (size_t i = 0; i < res->nrows; i++) {
		if (!counted(x, IC_REFERENTIAL))
			continue;
		lb_snprintf(subj, sizeof subj, "team %s", db_str(res, i, 0));
		lb_snprintf(det, sizeof det, "%s memberships point at this unknown team", db_str(res, i, 1));
		store_finding(x, IC_REFERENTIAL, subj, det, x->gh_teams ? repair_sync(x, "teams", NULL, 0) : 0);
	}
	db_res_free(res);

	/* open memberships pointing at an unknown member */
	if (db_query(x->db, &res, "SELECT t.slug, m.user_id FROM memberships m "
	    "JOIN teams t ON t.id = m.team_id LEFT JOIN users u ON u.id = m.user_id "
	    "WHERE u.id IS NULL AND m.ended_at IS NULL AND t.deleted_at IS NULL "
	    "ORDER BY m.team_id, m.user_id LIMIT ?", "i", (long long)SCAN_LIMIT) < 0) {
		note_error(x, "referential: %s", db_error(x->db));
		return -1;
	}
	for (size_t i = 0; i < res->nrows; i++) {
		if (!counted(x, IC_REFERENTIAL))
			continue;
		lb_snprintf(subj, sizeof subj, "team %s member %s", db_str(res, i, 0), db_str(res, i, 1));
		store_finding(x, IC_REFERENTIAL, subj, "membership points at an unknown member",
		    x->gh_teams ? repair_sync(x, "team", db_str(res, i, 0), 0) : 0);
	}
	db_res_free(res);

	/* teams whose members were not synced for too long (only when the
	 * teams sync is configured: a webhook-only install never syncs; and
	 * only when the teams check could not compare the members itself) */
	if (!x->gh_teams || x->teams_verified)
		return rc;
	if (db_query(x->db, &res, "SELECT slug, IFNULL(DATE_FORMAT(members_synced_at, "
	    "'%Y-%m-%d %H:%i:%s'), 'never') FROM teams WHERE deleted_at IS NULL AND "
	    "(members_synced_at IS NULL OR members_synced_at < NOW(6) - INTERVAL ? SECOND) "
	    "ORDER BY id LIMIT ?", "ii", 2 * x->c->teams_every, (long long)SCAN_LIMIT) < 0) {
		note_error(x, "referential: %s", db_error(x->db));
		return -1;
	}
	for (size_t i = 0; i < res->nrows; i++) {
		if (!counted(x, IC_REFERENTIAL))
			continue;
		lb_snprintf(subj, sizeof subj, "team %s", db_str(res, i, 0));
		lb_snprintf(det, sizeof det, "members last synced %s (more than %lld s ago)",
		    db_str(res, i, 1), 2 * x->c->teams_every);
		store_finding(x, IC_REFERENTIAL, subj, det, repair_sync(x, "team", db_str(res, i, 0), 0));
	}
	db_res_free(res);
	return rc;
}

/* -------------------------------------------------------------- teams */

static int
sum_team(json_val t, struct buf *b)
{
	long long id = json_ll(t, "id", -1);
	const char *slug = json_str(t, "slug"), *name = json_str(t, "name");

	if (id <= 0 || slug == NULL)
		return 0;
	buf_printf(b, "%lld\t", id);
	buf_clean(b, slug);
	buf_printf(b, "\t");
	buf_clean(b, name ? name : "");
	return buf_printf(b, "\n");
}

static int
sum_member(json_val u, struct buf *b)
{
	long long id = json_ll(u, "id", -1);

	return id > 0 ? buf_printf(b, "%lld\n", id) : 0;
}

static int
ull_cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* One team's members: GitHub's (listed) against the stored open ones
 * (ours, sorted). */
static int
team_members(struct ictx *x, const char *org, unsigned long long team, const char *slug,
    const unsigned long long *ours, size_t nours, unsigned long long *job)
{
	char es[320], url[GH_URL_MAX], key[64], subj[300], det[400];
	struct buf t = BUF_INIT;
	unsigned long long *gh = NULL, ex_gh = 0, ex_ours = 0;
	size_t ngh = 0, cap = 0, only_gh = 0, only_ours = 0, i = 0, k = 0;
	char *p, *line;
	int rc = 0;

	if (gh_escape(slug, es, sizeof es) < 0 ||
	    lb_snprintf(url, sizeof url, "/orgs/%s/teams/%s/members?per_page=100", org, es) < 0) {
		note_error(x, "teams: slug too long: %.100s", slug);
		return -1;
	}
	lb_snprintf(key, sizeof key, "members:%llu", team);
	if (kept_list(x, url, key, sum_member, &t, NULL) < 0) {
		buf_free(&t);
		return -1;
	}
	p = t.data;
	while ((line = next_line(&p)) != NULL) {
		if (lb_grow(&gh, &cap, ngh, sizeof *gh, 64) < 0) {
			note_error(x, "out of memory");
			rc = -1;
			goto out;
		}
		gh[ngh++] = strtoull(line, NULL, 10);
	}
	qsort(gh, ngh, sizeof *gh, ull_cmp);
	while (i < ngh || k < nours) {
		if (k >= nours || (i < ngh && gh[i] < ours[k])) {
			if (!only_gh++)
				ex_gh = gh[i];
			i++;
		} else if (i >= ngh || ours[k] < gh[i]) {
			if (!only_ours++)
				ex_ours = ours[k];
			k++;
		} else {
			i++;
			k++;
		}
	}
	if ((only_gh || only_ours) && counted(x, IC_TEAMS)) {
		char a[120] = "", b[120] = "";
		lb_snprintf(subj, sizeof subj, "team %s members", slug);
		if (only_gh)
			lb_snprintf(a, sizeof a, "; %zu listed by GitHub not stored (user %llu%s)",
			    only_gh, ex_gh, only_gh > 1 ? ", ..." : "");
		if (only_ours)
			lb_snprintf(b, sizeof b, "; %zu stored not listed by GitHub (user %llu%s)",
			    only_ours, ex_ours, only_ours > 1 ? ", ..." : "");
		lb_snprintf(det, sizeof det, "GitHub %zu, stored %zu%s%s", ngh, nours, a, b);
		*job = repair_sync(x, "team", slug, 0);
		store_finding(x, IC_TEAMS, subj, det, *job);
	}
out:
	free(gh);
	buf_free(&t);
	return rc;
}

/* A team GitHub lists that is not stored alike (row of stored, or -1 when
 * not live here): a finding, repaired by one teams sync (*teams_job). */
static void
team_differs(struct ictx *x, unsigned long long id, const char *slug, const char *name,
    const struct db_res *stored, size_t row, unsigned long long *teams_job)
{
	char subj[300], det[600];

	if (!counted(x, IC_TEAMS))
		return;
	lb_snprintf(subj, sizeof subj, "team %s", slug);
	if (row == (size_t)-1)
		lb_snprintf(det, sizeof det, "GitHub has team %llu (%s), not stored or deleted here", id, name);
	else
		lb_snprintf(det, sizeof det, "renamed on GitHub: %s (%s), stored %s (%s)", slug, name,
		    db_str(stored, row, 1), db_str(stored, row, 2));
	if (*teams_job == 0)
		*teams_job = repair_sync(x, "teams", NULL, 0);
	store_finding(x, IC_TEAMS, subj, det, *teams_job);
}

/* Live teams here (stored, their ids st_ids) that GitHub no longer lists
 * (listed, sorted here): findings, repaired by one teams sync. */
static void
teams_gone(struct ictx *x, const struct db_res *stored, const unsigned long long *st_ids,
    unsigned long long *listed, size_t nlisted, unsigned long long *teams_job)
{
	char subj[300], det[600];

	qsort(listed, nlisted, sizeof *listed, ull_cmp);
	for (size_t i = 0; i < stored->nrows; i++) {
		unsigned long long id = st_ids[i];
		if (bsearch(&id, listed, nlisted, sizeof *listed, ull_cmp) != NULL || !counted(x, IC_TEAMS))
			continue;
		lb_snprintf(subj, sizeof subj, "team %s", db_str(stored, i, 1));
		lb_snprintf(det, sizeof det, "live here, GitHub no longer lists team %llu (deleted)", id);
		if (*teams_job == 0)
			*teams_job = repair_sync(x, "teams", NULL, 0);
		store_finding(x, IC_TEAMS, subj, det, *teams_job);
	}
}

static int
teams_check(struct ictx *x, const char *why)
{
	char org[256], url[GH_URL_MAX], key[300];
	struct buf t = BUF_INIT;
	struct db_res *stored = NULL, *mem = NULL;	/* live teams; their open memberships */
	unsigned long long teams_job = 0, *ours = NULL, *listed_ids = NULL, *mt = NULL, *st_ids = NULL;
	size_t nmem = 0, nlisted = 0;
	char *p, *line;
	int rc = 0;

	if (!x->gh_teams) {
		if (x->c->partner_org && *x->c->partner_org)
			unverified(x, IC_TEAMS, "teams", "teams and memberships not compared with GitHub: %s",
			    x->gh ? why : "[github] token is not set");
		return 0;
	}
	if (gh_escape(x->c->partner_org, org, sizeof org) < 0 ||
	    lb_snprintf(url, sizeof url, "/orgs/%s/teams?per_page=100", org) < 0 ||
	    lb_snprintf(key, sizeof key, "teams:%s", x->c->partner_org) < 0) {
		note_error(x, "teams: partner_org too long");
		return -1;
	}
	if (db_query(x->db, &stored, "SELECT t.id, t.slug, t.name FROM teams t JOIN organizations o ON o.id = t.org_id "
	    "WHERE o.login = ? AND t.deleted_at IS NULL ORDER BY t.id", "s", x->c->partner_org) < 0 ||
	    db_query(x->db, &mem, "SELECT m.team_id, m.user_id FROM memberships m JOIN teams t ON t.id = m.team_id "
	    "JOIN organizations o ON o.id = t.org_id WHERE o.login = ? AND t.deleted_at IS NULL "
	    "AND m.ended_at IS NULL ORDER BY m.team_id, m.user_id", "s", x->c->partner_org) < 0) {
		note_error(x, "teams: %s", db_error(x->db));
		rc = -1;
		goto out;
	}
	if (kept_list(x, url, key, sum_team, &t, NULL) < 0) {
		rc = -1;
		goto out;
	}
	/* parsed once: the membership rows are sorted by team, then user */
	if ((ours = calloc(mem->nrows + 1, sizeof *ours)) == NULL ||
	    (mt = calloc(mem->nrows + 1, sizeof *mt)) == NULL ||
	    (st_ids = calloc(stored->nrows + 1, sizeof *st_ids)) == NULL ||
	    (listed_ids = calloc(t.len / 2 + 1, sizeof *listed_ids)) == NULL) {
		note_error(x, "out of memory");
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < mem->nrows; i++) {
		mt[i] = strtoull(db_str(mem, i, 0), NULL, 10);
		ours[i] = strtoull(db_str(mem, i, 1), NULL, 10);
	}
	for (size_t i = 0; i < stored->nrows; i++)
		st_ids[i] = strtoull(db_str(stored, i, 0), NULL, 10);
	/* each team GitHub lists: stored alike? its members alike? */
	p = t.data;
	while ((line = next_line(&p)) != NULL && rc == 0) {
		char *slug = strchr(line, '\t'), *name = slug ? strchr(slug + 1, '\t') : NULL;
		unsigned long long id = strtoull(line, NULL, 10), job = 0;
		size_t row = (size_t)-1, m0, m1;
		if (slug == NULL || name == NULL)
			continue;
		*slug++ = '\0';
		*name++ = '\0';
		listed_ids[nlisted++] = id;	/* a line is longer than 2 characters */
		row = lb_lower_bound(st_ids, stored->nrows, id);	/* stored is sorted by id */
		if (row == stored->nrows || st_ids[row] != id)
			row = (size_t)-1;
		if (row == (size_t)-1 || strcmp(db_str(stored, row, 1), slug) != 0 ||
		    strcmp(db_str(stored, row, 2), name) != 0) {
			team_differs(x, id, slug, name, stored, row, &teams_job);
			continue;	/* the teams sync brings its members */
		}
		/* the team's stored open memberships: a run of rows of mem */
		m0 = lb_lower_bound(mt, mem->nrows, id);
		for (m1 = m0; m1 < mem->nrows && mt[m1] == id; m1++)
			;
		nmem = m1 - m0;
		if (team_members(x, org, id, slug, ours + m0, nmem, &job) < 0)
			rc = -1;
	}
	if (rc == 0)
		teams_gone(x, stored, st_ids, listed_ids, nlisted, &teams_job);
out:
	free(ours);
	free(mt);
	free(st_ids);
	free(listed_ids);
	buf_free(&t);
	db_res_free(stored);
	db_res_free(mem);
	return rc;
}

/* --------------------------------------------------------- deliveries */

struct attempt {
	char guid[72];
	long long id;
	long code;
	char at[20];
	char event[64], action[64], status[96];
};

static int
attempt_cmp(const void *pa, const void *pb)
{
	const struct attempt *a = pa, *b = pb;
	int c = strcmp(a->guid, b->guid);

	return c ? c : strcmp(b->at, a->at);	/* newest first within a guid */
}

/* The API path of a webhook: /repos/O/R/hooks/ID, /orgs/O/hooks/ID, or
 * /app/hook for the webhook of the GitHub App we authenticate as. -1 when
 * the target cannot be named. */
static int
hook_path(const char *type, const char *target, unsigned long long hook, char *out, size_t outlen)
{
	char base[900], eo[400];

	if (strcmp(type, "app") == 0)
		return lb_snprintf(out, outlen, "/app/hook");
	if (strcmp(type, "repository") == 0) {
		if (repo_path(target, base, sizeof base) < 0)
			return -1;
	} else if (gh_escape(target, eo, sizeof eo) < 0 || lb_snprintf(base, sizeof base, "/orgs/%s", eo) < 0)
		return -1;
	return lb_snprintf(out, outlen, "%s/hooks/%llu", base, hook);
}

/* One delivery attempt of GitHub's list into v (grown by one): 1 when
 * stored, 0 when skipped (no valid guid or time; older than since:
 * *older set), -1 out of memory. */
static int
attempt_add(json_val d, const char *since, struct attempt **v, size_t *n, size_t *cap, int *older)
{
	const char *guid = json_str(d, "guid"), *ev = json_str(d, "event"),
	    *ac = json_str(d, "action"), *st = json_str(d, "status");
	struct attempt *a;

	if (guid == NULL || !ingest_valid_id(guid))
		return 0;
	if (lb_grow(v, cap, *n, sizeof **v, 128) < 0)
		return -1;
	a = &(*v)[*n];
	memset(a, 0, sizeof *a);
	lb_strlcpy(a->guid, guid, sizeof a->guid);
	a->id = json_ll(d, "id", -1);
	a->code = (long)json_ll(d, "status_code", 0);
	if (date_from_iso(json_str(d, "delivered_at"), a->at, sizeof a->at) < 0)
		return 0;
	lb_strlcpy(a->event, ev ? ev : "", sizeof a->event);
	lb_strlcpy(a->action, ac ? ac : "", sizeof a->action);
	lb_strlcpy(a->status, st ? st : "", sizeof a->status);
	if (strcmp(a->at, since) < 0) {
		*older = 1;
		return 0;
	}
	(*n)++;
	return 1;
}

/* The hook's delivery attempts since `since` (pages of base/deliveries,
 * newest first) into *v, *n. 0, or -1 (noted). */
static int
hook_attempts(struct ictx *x, unsigned long long hook, const char *base, const char *since,
    struct attempt **v, size_t *n)
{
	char url[GH_URL_MAX];
	size_t cap = 0;
	struct gh_resp r;
	int rc = 0;

	lb_snprintf(url, sizeof url, "%s/deliveries?per_page=100", base);
	gh_resp_init(&r);
	for (int page = 0; page < HOOK_MAX_PAGES && rc == 0; page++) {
		json_val root;
		int older = 0;
		if (get_json(x, url, NULL, &r, &root) <= 0) {
			rc = -1;
			break;
		}
		if (!json_is_array(root)) {
			note_error(x, "deliveries: hook %llu: expected a JSON array", hook);
			rc = -1;
		}
		JSON_EACH(d, root)
			if (rc == 0 && attempt_add(d, since, v, n, &cap, &older) < 0) {
				note_error(x, "out of memory");
				rc = -1;
			}
		json_free(root);
		if (older || r.next[0] == '\0')
			break;
		lb_strlcpy(url, r.next, sizeof url);
	}
	gh_resp_free(&r);
	return rc;
}

/* A delivery whose attempts (a, the newest first, n of them) all failed:
 * a finding unless we stored it (even as failed: replay covers it), and
 * its redelivery queued when repairing. 0, or -1 (noted). */
static int
failed_delivery(struct ictx *x, unsigned long long hook, const char *type, const char *target,
    const struct attempt *a, size_t n)
{
	char subj[300], det[600], key[JOB_KEY_MAX];
	unsigned long long job = 0;
	struct db_res *res;
	struct jw w;
	int known;

	if (db_query(x->db, &res, "SELECT 1 FROM deliveries WHERE id = ?", "s", a->guid) < 0) {
		note_error(x, "deliveries: %s", db_error(x->db));
		return -1;
	}
	known = res->nrows > 0;
	db_res_free(res);
	if (known || !counted(x, IC_DELIVERIES))
		return 0;
	lb_snprintf(subj, sizeof subj, "hook %llu delivery %s", hook, a->guid);
	lb_snprintf(det, sizeof det, "%s%s%s failed at %s: %ld %s (%zu attempts)", a->event,
	    a->action[0] ? "." : "", a->action, a->at, a->code, a->status, n);
	if (x->repair && a->id > 0 && jw_init(&w) == 0) {
		jw_obj(&w);
		jw_kv_int(&w, "hook", (long long)hook);
		jw_kv_str(&w, "type", strcmp(type, "repository") == 0 || strcmp(type, "app") == 0 ?
		    type : "organization");
		jw_kv_str(&w, "target", target);
		jw_kv_int(&w, "id", a->id);
		jw_kv_str(&w, "guid", a->guid);
		jw_obj_end(&w);
		lb_snprintf(key, sizeof key, "redeliver:%s", a->guid);
		job = repair_job(x, "redeliver", &w, key);
		jw_free(&w);
	}
	store_finding(x, IC_DELIVERIES, subj, det, job);
	return 0;
}

static int
hook_failures(struct ictx *x, unsigned long long hook, const char *type, const char *target)
{
	char base[900], since[32];
	struct attempt *v = NULL;
	size_t n = 0;
	time_t t = time(NULL) - HOOK_DAYS * 86400;
	int rc = 0;

	date_sql(t, since, sizeof since);
	if (hook_path(type, target, hook, base, sizeof base) < 0) {
		note_error(x, "deliveries: hook %llu: bad %s '%.200s'", hook, type, target);
		return -1;
	}
	if (hook_attempts(x, hook, base, since, &v, &n) < 0) {
		free(v);
		return -1;
	}
	qsort(v, n, sizeof *v, attempt_cmp);
	for (size_t i = 0, j; i < n && rc == 0; i = j) {
		int ok = 0;
		for (j = i; j < n && strcmp(v[j].guid, v[i].guid) == 0; j++)
			ok |= v[j].code >= 200 && v[j].code < 400;
		if (!ok)	/* v[i] is the newest failed attempt */
			rc = failed_delivery(x, hook, type, target, &v[i], j - i);
	}
	free(v);
	return rc;
}

static int
deliveries(struct ictx *x)
{
	char subj[300], det[1200], key[JOB_KEY_MAX];
	struct db_res *res;
	int rc = 0;

	if (x->gh_token) {
		if (db_query(x->db, &res, "SELECT hook_id, IFNULL(target_type, ''), IFNULL(target, '') "
		    "FROM webhooks ORDER BY hook_id", "") < 0) {
			note_error(x, "deliveries: %s", db_error(x->db));
			return -1;
		}
		for (size_t i = 0; i < res->nrows; i++) {
			const char *type = db_str(res, i, 1), *target = db_str(res, i, 2);
			if (strcmp(type, "app") == 0) {
				/* listed with the App's own JWT: only when we are that App */
				if (x->c->gh_app_id <= 0) {
					note_error(x, "deliveries: hook %s belongs to a GitHub App: its failed "
					    "deliveries are checked only with [github] app_id", db_str(res, i, 0));
					rc = -1;
				} else if (hook_failures(x, strtoull(db_str(res, i, 0), NULL, 10), type, "") < 0)
					rc = -1;
				continue;
			}
			if (strcmp(type, "repository") != 0 && *target == '\0')
				target = x->c->partner_org ? x->c->partner_org : "";
			if (*target == '\0') {
				note_error(x, "deliveries: hook %s: target unknown (no ping stored)", db_str(res, i, 0));
				rc = -1;
				continue;
			}
			if (hook_failures(x, strtoull(db_str(res, i, 0), NULL, 10), type, target) < 0)
				rc = -1;
		}
		db_res_free(res);
	}

	/* our own deliveries that failed to apply */
	if (db_query(x->db, &res, "SELECT id, event, IFNULL(action, ''), "
	    "DATE_FORMAT(received_at, '%Y-%m-%d %H:%i:%s'), IFNULL(error, '') FROM deliveries "
	    "WHERE outcome = 'failed' ORDER BY received_at, id LIMIT ?", "i", (long long)SCAN_LIMIT) < 0) {
		note_error(x, "deliveries: %s", db_error(x->db));
		return -1;
	}
	for (size_t i = 0; i < res->nrows; i++) {
		unsigned long long job = 0;
		struct jw w;
		if (!counted(x, IC_DELIVERIES))
			continue;
		lb_snprintf(subj, sizeof subj, "delivery %s", db_str(res, i, 0));
		lb_snprintf(det, sizeof det, "%s%s%s received %s failed to apply: %.900s", db_str(res, i, 1),
		    *db_str(res, i, 2) ? "." : "", db_str(res, i, 2), db_str(res, i, 3), db_str(res, i, 4));
		if (x->repair && jw_init(&w) == 0) {
			jw_obj(&w);
			jw_kv_str(&w, "id", db_str(res, i, 0));
			jw_obj_end(&w);
			lb_snprintf(key, sizeof key, "replay:%s", db_str(res, i, 0));
			job = repair_job(x, "replay", &w, key);
			jw_free(&w);
		}
		store_finding(x, IC_DELIVERIES, subj, det, job);
	}
	db_res_free(res);
	return rc;
}

/* -------------------------------------------------------------- spool */

static int
spool_check(struct ictx *x)
{
	const char *dir = x->c->spool_dir;
	char path[4096], subj[300], det[200];
	unsigned long long job = 0;
	time_t now = time(NULL);
	struct dirent *e;
	DIR *dp;
	int queued = 0;

	if (dir == NULL || *dir == '\0')
		return 0;
	if ((dp = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		note_error(x, "spool: cannot read %.300s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(dp)) != NULL) {
		size_t l = strlen(e->d_name);
		struct stat st;
		if (e->d_name[0] == '.' || l < 9 || strcmp(e->d_name + l - 9, ".delivery") != 0)
			continue;
		if (lb_snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < 0 || stat(path, &st) < 0 ||
		    now - st.st_mtime < INTEGRITY_SPOOL_AGE)
			continue;
		if (!counted(x, IC_SPOOL))
			continue;
		if (x->repair && !queued) {
			struct jw w;
			if (jw_init(&w) == 0) {
				jw_obj(&w);
				jw_obj_end(&w);
				job = repair_job(x, "spool", &w, "spool");
				jw_free(&w);
			}
			queued = 1;
		}
		lb_snprintf(subj, sizeof subj, "spool %s", e->d_name);
		lb_snprintf(det, sizeof det, "spooled %ld s ago and not applied yet", (long)(now - st.st_mtime));
		store_finding(x, IC_SPOOL, subj, det, job);
	}
	closedir(dp);
	return 0;
}

/* ---------------------------------------------------------------- run */

/* Runs older than 30 days go; this one is recorded (res->run_id). 0, or
 * -1 with res->error. */
static int
run_start(struct db *db, int repair, struct integrity_result *res)
{
	if (db_exec(db, "DELETE FROM integrity_findings WHERE run_id IN (SELECT id FROM integrity_runs "
	    "WHERE started_at < NOW(6) - INTERVAL 30 DAY)", "") < 0 ||
	    db_exec(db, "DELETE FROM integrity_unverified WHERE run_id IN (SELECT id FROM integrity_runs "
	    "WHERE started_at < NOW(6) - INTERVAL 30 DAY)", "") < 0 ||
	    db_exec(db, "DELETE FROM integrity_runs WHERE started_at < NOW(6) - INTERVAL 30 DAY", "") < 0 ||
	    db_exec(db, "INSERT INTO integrity_runs (started_at, repair, status) VALUES (NOW(6), ?, 'running')",
	    "i", (long long)(repair != 0)) < 0) {
		lb_snprintf(res->error, sizeof res->error, "database: %s", db_error(db));
		return -1;
	}
	res->run_id = db_insert_id(db);
	return 0;
}

/* The run's totals and status into its integrity_runs row. 0, or -1 (the
 * error in res->error unless one is there). */
static int
run_finish(struct db *db, struct integrity_result *res, int partial)
{
	if (db_exec(db, "UPDATE integrity_runs SET finished_at = NOW(6), findings = ?, requests = ?, "
	    "not_modified = ?, unverified = ?, status = ?, error = ? WHERE id = ?", "iiiissu",
	    (long long)res->findings, (long long)res->requests, (long long)res->not_modified,
	    (long long)res->unverified, partial ? "partial" : "ok",
	    res->error[0] ? res->error : NULL, res->run_id) < 0) {
		if (res->error[0] == '\0')
			lb_snprintf(res->error, sizeof res->error, "database: %s", db_error(db));
		return -1;
	}
	return 0;
}

static double
now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The checks of one tracked repository, in order: freshness (its deltas
 * correct the others), reconciliation, labels. -1 when one was partial. */
static int
repo_checks(struct ictx *x, const char *repo)
{
	double s0 = now_secs();
	int partial = 0;

	x->ndeltas = 0;
	x->page_items = -1;
	x->page_304 = x->counts_unchanged = x->counts_complete = 0;
	x->page_etag[0] = '\0';
	free(x->label_beliefs);
	x->label_beliefs = NULL;
	if (freshness(x, repo) < 0)
		partial = 1;
	x->secs[IC_FRESHNESS] += now_secs() - s0;
	s0 = now_secs();
	if (reconciliation(x, repo) < 0)
		partial = 1;
	x->secs[IC_RECONCILIATION] += now_secs() - s0;
	s0 = now_secs();
	if (labels_check(x, repo, x->repo_full) < 0)
		partial = 1;
	x->secs[IC_LABELS] += now_secs() - s0;
	return partial ? -1 : 0;
}

/* A client of the check's own, from the config; NULL (noted) when none. */
static struct gh *
own_client(struct ictx *x)
{
	char err[256];
	struct gh *g = gh_open(x->c, err, sizeof err);

	if (g == NULL)
		note_error(x, "github client: %s", err);
	else
		g->max_wait = 60;
	return g;
}

int
integrity_check(const struct conf *c, struct db *db, struct gh *gh, int repair,
    struct integrity_result *res)
{
	struct ictx x;
	struct gh *own = NULL;
	struct timespec t0, t1;
	unsigned long req0 = 0, nm0 = 0;
	char why[128] = "", why_teams[128] = "";
	time_t now = time(NULL);
	struct tm tm;
	int partial = 0;

	memset(res, 0, sizeof *res);
	memset(&x, 0, sizeof x);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	x.c = c;
	x.db = db;
	x.repair = repair;
	x.res = res;
	gmtime_r(&now, &tm);
	x.hi = (tm.tm_year + 1900) * 12 + tm.tm_mon;
	x.gh_token = conf_github_auth(c);
	x.gh_prs = gh_ready(c, "prs", why, sizeof why);
	x.gh_teams = gh_ready(c, "teams", why_teams, sizeof why_teams);

	if (run_start(db, repair, res) < 0)
		return -1;

	if (x.gh_token && gh == NULL)
		gh = own = own_client(&x);
	if (x.gh_token && gh) {
		req0 = gh->requests;
		nm0 = gh->not_modified;
	}
	x.gh = gh;
	if (gh == NULL)
		x.gh_prs = x.gh_teams = x.gh_token = 0;

	if (!x.gh_prs && c->repositories.n > 0)	/* a configuration, not an error */
		for (int k = 0; k < 3; k++)
			unverified(&x, k == 0 ? IC_FRESHNESS : k == 1 ? IC_RECONCILIATION : IC_LABELS,
			    "repositories", "skipped: %s", x.gh ? why : "[github] token (or a GitHub App) is not set");
	for (size_t i = 0; x.gh_prs && i < c->repositories.n; i++)
		if (repo_checks(&x, c->repositories.v[i]) < 0)
			partial = 1;
	{
		double s0 = now_secs();
		if (teams_check(&x, why_teams) < 0)
			partial = 1;
		else
			x.teams_verified = x.gh_teams;
		x.secs[IC_TEAMS] += now_secs() - s0;
	}
	{
		int (*const fn[])(struct ictx *) = { referential, deliveries, spool_check };
		for (int k = 0; k < 3; k++) {
			double s0 = now_secs();
			if (fn[k](&x) < 0)
				partial = 1;
			x.secs[IC_REFERENTIAL + k] += now_secs() - s0;
		}
	}
	if (res->error[0])
		partial = 1;

	if (gh) {
		res->requests = gh->requests - req0;
		res->not_modified = gh->not_modified - nm0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (run_finish(db, res, partial) < 0)
		partial = 1;
	log_info("check: run %llu: %ld findings (freshness %ld, reconciliation %ld, referential %ld, "
	    "deliveries %ld, spool %ld, labels %ld, teams %ld), %ld not verified, %ld repairs queued, "
	    "%lu GitHub requests (%lu not modified), %.2f s%s%s",
	    res->run_id, res->findings, res->per_check[0], res->per_check[1], res->per_check[2],
	    res->per_check[3], res->per_check[4], res->per_check[5], res->per_check[6], res->unverified,
	    res->jobs, res->requests, res->not_modified,
	    res->seconds, partial ? "; partial: " : "", partial ? res->error : "");
	log_debug("check: seconds per check: freshness %.2f, reconciliation %.2f, referential %.2f, "
	    "deliveries %.2f, spool %.2f, labels %.2f, teams %.2f", x.secs[0], x.secs[1], x.secs[2],
	    x.secs[3], x.secs[4], x.secs[5], x.secs[6]);
	free(x.deltas);
	free(x.label_beliefs);
	db_res_free(x.counts);
	db_res_free(x.label_counts);
	db_res_free(x.repo_ids);
	gh_free(own);
	return partial ? 1 : 0;
}

int
integrity_run(const struct conf *c, struct db *db, int repair, char *err, size_t errlen)
{
	struct integrity_result res;
	int rc = integrity_check(c, db, NULL, repair, &res);

	if (errlen)
		lb_strlcpy(err, rc == 0 ? "" : res.error, errlen);
	return rc == 0 ? 0 : -1;
}

/* -------------------------------------------------------- repair jobs */

int
integrity_job_kind(const char *kind)
{
	return kind && (strcmp(kind, "redeliver") == 0 || strcmp(kind, "replay") == 0 ||
	    strcmp(kind, "spool") == 0 || strcmp(kind, "resync_month") == 0);
}

int
integrity_redeliver(struct job_ctx *s, json_val v)
{
	const char *type = json_str(v, "type"), *target = json_str(v, "target");
	long long hook = json_ll(v, "hook", -1), id = json_ll(v, "id", -1);
	char base[900], path[GH_URL_MAX];
	struct gh_resp r;
	int rc;

	if (type == NULL || hook <= 0 || id <= 0 || (target == NULL && strcmp(type, "app") != 0)) {
		lb_snprintf(s->err, sizeof s->err, "redeliver: missing arguments");
		return JOB_EPERM;
	}
	if (hook_path(type, target ? target : "", (unsigned long long)hook, base, sizeof base) < 0 ||
	    lb_snprintf(path, sizeof path, "%s/deliveries/%lld/attempts", base, id) < 0) {
		lb_snprintf(s->err, sizeof s->err, "redeliver: bad %s '%.200s'", type, target ? target : "");
		return JOB_EPERM;
	}
	gh_resp_init(&r);
	rc = gh_post(s->gh, path, "", &r, s->err, sizeof s->err);
	gh_resp_free(&r);
	if (rc == GH_OK) {
		log_info("redelivery of %s (hook %lld, delivery %lld) requested",
		    json_str(v, "guid") ? json_str(v, "guid") : "?", hook, id);
		return JOB_OK;
	}
	/* gone (older than 3 days) or refused: retrying will not help */
	return rc == GH_EHTTP || rc == GH_EINVAL ? JOB_EPERM : JOB_ERETRY;
}

int
integrity_replay(struct job_ctx *s, json_val v)
{
	const char *id = json_str(v, "id");
	enum ingest_status st;

	if (id == NULL) {
		lb_snprintf(s->err, sizeof s->err, "replay: missing id");
		return JOB_EPERM;
	}
	st = ingest_replay(s->db, s->conf, id, s->err, sizeof s->err);
	switch (st) {
	case INGEST_PROCESSED: case INGEST_IGNORED: case INGEST_DUPLICATE:
		return JOB_OK;
	case INGEST_BADINPUT: case INGEST_NOTFOUND:
		return JOB_EPERM;
	default:
		return JOB_ERETRY;
	}
}

/* 1 when the label names of an issue object are the stored set (names
 * with LABEL_SEP between them). */
static int
same_labels(const char *stored, json_val labels)
{
	char mine[1024];

	labels_text(labels, mine, sizeof mine);
	return label_sets_equal(stored, mine);
}

/* Search the month's PRs and sync those that are missing or differ. */
/* The PR numbers a month's search listed. */
struct seen {
	long *v;
	size_t n, cap;
};

static int month_unlisted(struct job_ctx *s, const char *repo, int merged, int rejected,
    const char *first, const struct seen *seen, const struct integrity_syncer *sync);

/* One PR synced again: a permanent failure (gone) is logged and passed over. */
static int
month_sync(struct job_ctx *s, const char *repo, long num, const struct integrity_syncer *sync)
{
	int sr = sync->pr(s, repo, num);

	if (sr == JOB_EPERM)
		log_warn("resync_month %s#%ld: %s", repo, num, s->err);
	return sr == JOB_EPERM ? JOB_OK : sr;
}

/* One PR of the month's search (it): remembered in seen, synced again when
 * it is missing here or differs (updated_at, merge, state, labels). */
static int
month_item(struct job_ctx *s, const char *repo, json_val it, struct seen *seen,
    const struct integrity_syncer *sync)
{
	long long num = json_ll(it, "number", -1);
	const char *upd = json_str(it, "updated_at"), *st = json_str(it, "state");
	char gu[20];
	int gm = json_str(json_get(it, "pull_request", NULL), "merged_at") != NULL, need;
	struct db_res *res;

	if (num <= 0 || date_from_iso(upd, gu, sizeof gu) < 0)
		return JOB_OK;
	if (lb_grow(&seen->v, &seen->cap, seen->n, sizeof *seen->v, 128) < 0) {
		lb_snprintf(s->err, sizeof s->err, "out of memory");
		return JOB_ERETRY;
	}
	seen->v[seen->n++] = (long)num;
	if (db_query(s->db, &res, "SELECT DATE_FORMAT(p.updated_at, '%Y-%m-%d %H:%i:%s'), p.merged, "
	    "p.state, IFNULL((SELECT GROUP_CONCAT(l.name SEPARATOR '\x1f') FROM pr_labels pl "
	    "JOIN labels l ON l.id = pl.label_id WHERE pl.pr_id = p.id), '') "
	    "FROM pull_requests p JOIN repositories r ON r.id = p.repo_id "
	    "WHERE r.full_name = ? AND p.number = ?", "si", repo, num) < 0) {
		lb_snprintf(s->err, sizeof s->err, "database: %s", db_error(s->db));
		return JOB_ERETRY;
	}
	need = res->nrows == 0 || strcmp(db_str(res, 0, 0), gu) < 0 ||
	    (db_getll(res, 0, 1, 0) != 0) != gm || (st && strcmp(db_str(res, 0, 2), st) != 0) ||
	    !same_labels(db_str(res, 0, 3), json_get(it, "labels", NULL));
	db_res_free(res);
	return need ? month_sync(s, repo, (long)num, sync) : JOB_OK;
}

int
integrity_resync_month(struct job_ctx *s, json_val v, const struct integrity_syncer *sync)
{
	const char *repo = json_str(v, "repo"), *field = json_str(v, "field");
	int m = date_month_index(json_str(v, "month")), merged, rejected;
	char range[40], first[16], q[600], eq[1800], url[GH_URL_MAX];
	struct seen seen = { 0 };
	struct gh_resp r;
	int rc = JOB_OK;

	if (repo == NULL || m < 0 || field == NULL) {
		lb_snprintf(s->err, sizeof s->err, "resync_month: missing arguments");
		return JOB_EPERM;
	}
	merged = strcmp(field, "merged") == 0;
	rejected = strcmp(field, "rejected") == 0;
	lb_snprintf(first, sizeof first, "%04d-%02d-01", m / 12, m % 12 + 1);
	if (integrity_range(m, m, range, sizeof range) < 0 ||
	    lb_snprintf(q, sizeof q, "repo:%s is:pr %s:%s", repo, merged ? "is:merged merged" :
	    rejected ? "is:closed is:unmerged closed" : "created", range) < 0 ||
	    gh_escape(q, eq, sizeof eq) < 0 ||
	    lb_snprintf(url, sizeof url, "/search/issues?q=%s&per_page=100&sort=created&order=asc", eq) < 0) {
		lb_snprintf(s->err, sizeof s->err, "resync_month: bad arguments");
		return JOB_EPERM;
	}
	gh_resp_init(&r);
	for (int page = 0; page < MONTH_MAX_PAGES && rc == JOB_OK; page++) {
		char err[512], perr[128];
		json_val root, items;
		int g = gh_get(s->gh, url, NULL, &r, err, sizeof err);

		if (g != GH_OK) {
			lb_strlcpy(s->err, err, sizeof s->err);
			rc = g == GH_EWAIT ? JOB_EWAIT : g == GH_ESTOP ? JOB_ESTOP :
			    g == GH_EHTTP ? JOB_EPERM : JOB_ERETRY;
			break;
		}
		root = json_parse(r.body.data ? r.body.data : "", r.body.len, JSON_DEPTH, GH_MAX_BODY,
		    perr, sizeof perr);
		items = json_get(root, "items", NULL);
		if (root == NULL || !json_is_array(items)) {
			json_free(root);
			lb_snprintf(s->err, sizeof s->err, "resync_month: bad search answer");
			rc = JOB_ERETRY;
			break;
		}
		if (page == 0 && json_ll(root, "total_count", 0) > 1000) {
			/* beyond what search lists: the whole repository */
			json_free(root);
			gh_resp_free(&r);
			free(seen.v);
			return sync->prs(s, repo, 1);
		}
		for (json_val it = json_first(items); it && rc == JOB_OK; it = json_next(items, it))
			rc = month_item(s, repo, it, &seen, sync);
		json_free(root);
		if (rc != JOB_OK || r.next[0] == '\0')
			break;
		lb_strlcpy(url, r.next, sizeof url);
	}
	gh_resp_free(&r);
	if (rc == JOB_OK)
		rc = month_unlisted(s, repo, merged, rejected, first, &seen, sync);
	free(seen.v);
	return rc;
}

/* Stored PRs of the month (field merged, rejected or else created; first:
 * its first day) that the search did not list: synced again. */
static int
month_unlisted(struct job_ctx *s, const char *repo, int merged, int rejected, const char *first,
    const struct seen *seen, const struct integrity_syncer *sync)
{
	struct db_res *res;
	int rc = JOB_OK;

	if (db_query(s->db, &res, merged ?
	    "SELECT p.number FROM pull_requests p JOIN repositories r ON r.id = p.repo_id "
	    "WHERE r.full_name = ? AND p.merged = 1 AND p.merged_at >= ? AND p.merged_at < ? + INTERVAL 1 MONTH" :
	    rejected ?
	    "SELECT p.number FROM pull_requests p JOIN repositories r ON r.id = p.repo_id "
	    "WHERE r.full_name = ? AND p.state = 'closed' AND p.merged = 0 AND p.closed_at >= ? "
	    "AND p.closed_at < ? + INTERVAL 1 MONTH" :
	    "SELECT p.number FROM pull_requests p JOIN repositories r ON r.id = p.repo_id "
	    "WHERE r.full_name = ? AND p.created_at >= ? AND p.created_at < ? + INTERVAL 1 MONTH",
	    "sss", repo, first, first) < 0) {
		lb_snprintf(s->err, sizeof s->err, "database: %s", db_error(s->db));
		return JOB_ERETRY;
	}
	for (size_t i = 0; i < res->nrows && rc == JOB_OK; i++) {
		long num = (long)db_getll(res, i, 0, 0);
		int found = 0;
		for (size_t k = 0; k < seen->n && !found; k++)
			found = seen->v[k] == num;
		if (!found)
			rc = month_sync(s, repo, num, sync);
	}
	db_res_free(res);
	return rc;
}

/* ------------------------------------------------------------- listings */

int
integrity_run_get(struct db *db, unsigned long long run_id, struct db_res **out)
{
	return db_query(db, out, "SELECT id, " DATE_SQL_ISO("started_at") " AS started_at, "
	    DATE_SQL_ISO("finished_at") " AS finished_at, findings, requests, unverified, repair, "
	    "status FROM integrity_runs WHERE (? = 0 OR id = ?) ORDER BY id DESC LIMIT 1", "uu",
	    run_id, run_id);
}

int
integrity_findings_list(struct db *db, unsigned long long run_id, long long limit,
    struct db_res **out)
{
	return db_query(db, out, "SELECT id, check_name AS `check`, subject, detail, "
	    DATE_SQL_ISO("found_at") " AS found_at, repair_job_id FROM integrity_findings "
	    "WHERE run_id = ? ORDER BY id LIMIT ?", "ui", run_id, limit);
}

int
integrity_unverified_list(struct db *db, unsigned long long run_id, long long limit,
    struct db_res **out)
{
	return db_query(db, out, "SELECT check_name AS `check`, subject, detail "
	    "FROM integrity_unverified WHERE run_id = ? ORDER BY id LIMIT ?", "ui", run_id, limit);
}
