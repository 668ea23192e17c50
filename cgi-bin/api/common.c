/* Shared pieces of the statistics routes: parameters, errors with ETags,
 * the data version and the per-worker answer cache. */
#include "api.h"
#include "buf.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "period.h"
#include "rollup.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
api_fail(struct http_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (http_error_doc(code, msg, &b) < 0)
		http_error(r, status, code, "%s", msg);
	else if (status == 401) {
		/* http_respond_etag() has no room for WWW-Authenticate: same tag here */
		char etag[HTTP_ETAG_LEN], hdr[256];
		http_etag(status, b.data, b.len, etag);
		snprintf(hdr, sizeof hdr, "ETag: %s\r\nCache-Control: no-store\r\n"
		    "WWW-Authenticate: Bearer realm=\"leaderboard\"\r\n", etag);
		http_respond(r, status, "application/json", hdr, b.data, b.len);
	} else
		http_respond_etag(r, status, "application/json", "no-cache", b.data, b.len);
	buf_free(&b);
}

int
api_param(struct http_req *r, const char *name, char *out, size_t len)
{
	int rc = http_query(r->query, name, out, len);

	if (rc < 0) {
		api_fail(r, 400, "bad_parameter", "%s: malformed or too long", name);
		return -1;
	}
	if (rc == 0)
		out[0] = '\0';
	return rc;
}

int
api_period(struct http_req *r, struct period *p)
{
	char kind[32], value[32], from[32], to[32], msg[160];
	const char *bad = NULL;

	if (api_param(r, "period", kind, sizeof kind) < 0 ||
	    api_param(r, "value", value, sizeof value) < 0 ||
	    api_param(r, "from", from, sizeof from) < 0 || api_param(r, "to", to, sizeof to) < 0)
		return -1;
	if (period_parse(kind, value, from, to, time(NULL), p, &bad, msg, sizeof msg) < 0) {
		api_fail(r, 400, "bad_parameter", "%s", msg);
		return -1;
	}
	return 0;
}

int
api_sort(struct http_req *r, enum stats_sort *s, int allow_points)
{
	char v[32];
	int rc = api_param(r, "sort", v, sizeof v);

	if (rc < 0)
		return -1;
	*s = SORT_MERGED;
	if (rc == 0 || v[0] == '\0')
		return 0;
	if (stats_sort_parse(v, s) < 0 || (!allow_points && *s == SORT_POINTS)) {
		api_fail(r, 400, "bad_parameter", "sort: expected %s",
		    allow_points ? "merged, created, points or rejected" : "merged, created or rejected");
		return -1;
	}
	return 0;
}

int
api_limit(struct http_req *r, long long def, long long *limit)
{
	char v[32];
	int rc = api_param(r, "limit", v, sizeof v);

	if (rc < 0)
		return -1;
	*limit = def;
	if (rc == 0 || v[0] == '\0')
		return 0;
	if (lb_parse_ll(v, 1, 10000, limit) < 0) {
		api_fail(r, 400, "bad_parameter", "limit: expected a whole number from 1 to 10000");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------- version + cache */

#define API_FOLD_MAX 2000	/* PRs, about 5 s */

/*
 * The data version of an answer reading the days [from, to] ("" = every
 * day): SUM(v) of those days' stat_day_version rows (lib/rollup bumps the
 * days of every PR change it folds or rolls), plus what can change any
 * answer: the last rebuild (also every config change), teams, users,
 * repositories and memberships (newest updated_at, all indexed),
 * label_points, today's date. A write of December 2026 leaves the key of
 * a 2024 answer as it was.
 */
static int
read_version(struct api *a, const char *from, const char *to)
{
	struct db_res *res;

	if (from == NULL || from[0] == '\0')
		from = "1000-01-01";
	if (to == NULL || to[0] == '\0')
		to = "9999-12-31";
	if (db_query(a->db, &res,
	    "SELECT CONCAT_WS('|', (SELECT COALESCE(SUM(v), 0) FROM stat_day_version "
	    "WHERE day >= ? AND day <= ?), "
	    "(SELECT built_at FROM stat_state WHERE id = 1), "
	    "(SELECT MAX(updated_at) FROM teams), (SELECT MAX(updated_at) FROM users), "
	    "(SELECT MAX(updated_at) FROM repositories), (SELECT MAX(updated_at) FROM memberships), "
	    "(SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT(label_name, '=', points))), 0)) "
	    "FROM label_points), UTC_DATE())", "ss", from, to) < 0)
		return -1;
	lb_strlcpy(a->version, db_get(res, 0, 0) ? db_get(res, 0, 0) : "", sizeof a->version);
	db_res_free(res);
	return 0;
}

void
api_after(void *ctx)
{
	struct api *a = ctx;
	struct db *db;
	int rebuilt = 0;

	if (!a->rebuild_after)
		return;
	a->rebuild_after = 0;
	/* skipped when another process rebuilds already (the lease); a
	 * failure is recorded and logged by the rebuild (lib/rollup.h), and a
	 * lost connection leaves it to the next check */
	if ((db = api_db(a)) != NULL)
		(void)rollup_check(db, &a->conf, 0, &rebuilt);
}

struct db *
api_stats_begin(struct http_req *r, struct api *a, const char *from, const char *to)
{
	struct db *db = api_db(a);
	time_t now = time(NULL);

	if (db == NULL) {
		api_fail(r, 503, "database_unavailable", "the database is unreachable");
		return NULL;
	}
	if (now - a->checked_at >= API_CHECK_EVERY || now < a->checked_at) {
		int rebuilt = 0, later = 0;
		/* a large rebuild (minutes at a million PRs: nginx would give
		 * this client a 504) runs after the answer, which comes from the
		 * rollups as they are, like every other reader's meanwhile */
		if (rollup_check_soon(db, &a->conf, &rebuilt, &later) == 0) {
			a->checked_at = now;
			a->rebuild_after |= later;
		} else if (db_gone(db)) {
			api_fail(r, 503, "database_unavailable", "the database is unreachable");
			return NULL;
		}
	}
	/* PR changes committed so far reach the rollups first (lib/rollup.h),
	 * those of the days this answer reads: an answer of 2024 does not wait
	 * for the fold of a PR of today; a backlog larger than API_FOLD_MAX
	 * (lb-syncd not running) is folded a slice per request instead of
	 * holding one request for minutes */
	if (rollup_fold_days(db, from, to, API_FOLD_MAX) < 0)
		log_warn("statistics: cannot fold queued PR changes: %s", db_error(db));
	if (read_version(a, from, to) < 0) {
		if (db_gone(db))
			api_fail(r, 503, "database_unavailable", "the database is unreachable");
		else
			api_fail(r, 500, "internal", "cannot read the statistics version");
		return NULL;
	}
	return db;
}

static char *
full_key(struct api *a, const char *key)
{
	struct buf b = BUF_INIT;

	if (buf_printf(&b, "%s#%s", key, a->version) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static void
slot_free(struct api *a, struct api_cached *c)
{
	if (c->key)
		a->cache_bytes -= c->len;
	free(c->key);
	free(c->ctype);
	free(c->body);
	memset(c, 0, sizeof *c);
}

/* ------------------------------------------------ the shared answer cache
 *
 * stat_answers (sql/018) holds one answer per key for every worker: a
 * worker that misses its own cache reads it there, and the first worker to
 * miss both takes the key's GET_LOCK, computes, stores and releases it,
 * while the others wait on the lock and then read the row. So an answer is
 * computed once per data version, not once per worker. The row is served
 * only for the version the reader just read (as its own cache), and for
 * API_CACHE_TTL seconds after it was computed.
 */
#define SHARED_KEY "UNHEX(SHA2(?, 256))"
#define SHARED_LOCK "CONCAT('lb-answer:', LEFT(SHA2(?, 256), 40))"
#define SHARED_MAX_BYTES (64ull * 1024 * 1024)	/* all bodies together */
#define SHARED_LOCK_WAIT 3	/* seconds a worker waits for another's answer */

static void cache_put(struct api *a, const char *key, int status, const char *ctype,
    const char *etag, const char *body, size_t len, time_t at);

/* 1 when the shared row of key at this version answered r (and is now in
 * the worker's cache too), 0 otherwise (errors included: then computed). */
static int
shared_try(struct http_req *r, struct api *a, const char *key)
{
	struct db_res *res;
	int hit = 0;

	if (db_query(a->db, &res, "SELECT status, ctype, etag, body, UNIX_TIMESTAMP(at) "
	    "FROM stat_answers WHERE k = " SHARED_KEY " AND ver = ? AND at > NOW(6) - INTERVAL ? "
	    "SECOND", "ssi", key, a->version, (long long)API_CACHE_TTL) < 0) {
		log_warn("statistics: shared answer cache: %s", db_error(a->db));
		return 0;
	}
	if (res->nrows == 1 && db_get(res, 0, 1) && db_get(res, 0, 2) && db_get(res, 0, 3)) {
		int status = (int)db_getll(res, 0, 0, 200);
		const char *body = db_get(res, 0, 3);
		size_t len = db_getlen(res, 0, 3);
		cache_put(a, key, status, db_get(res, 0, 1), db_get(res, 0, 2), body, len,
		    (time_t)db_getll(res, 0, 4, (long long)time(NULL)));
		http_respond_tagged(r, status, db_get(res, 0, 1), API_MAX_AGE, db_get(res, 0, 2),
		    body, len);
		hit = 1;
	}
	db_res_free(res);
	return hit;
}

/* 1 when the shared row of key at this version is there (not read). */
static int
shared_stored(struct api *a, const char *key)
{
	struct db_res *res;
	int n;

	if (db_query(a->db, &res, "SELECT 1 FROM stat_answers WHERE k = " SHARED_KEY " AND ver = ? "
	    "AND at > NOW(6) - INTERVAL ? SECOND", "ssi", key, a->version,
	    (long long)API_CACHE_TTL) < 0) {
		log_warn("statistics: shared answer cache: %s", db_error(a->db));
		return 0;
	}
	n = (int)res->nrows;
	db_res_free(res);
	return n == 1;
}

static void
shared_unlock(struct api *a)
{
	struct db_res *res = NULL;
	char *key = a->lock_key;

	if (key == NULL)
		return;
	a->lock_key = NULL;
	if (db_query(a->db, &res, "SELECT RELEASE_LOCK(" SHARED_LOCK ")", "s", key) == 0)
		db_res_free(res);
	free(key);
}

/* Store the answer for the other workers, keep the table bounded, release
 * the key's lock. Failures only cost recomputation. */
static void
shared_put(struct api *a, const char *key, int status, const char *ctype, const char *etag,
    const char *body, size_t len)
{
	struct db_res *res;

	if (len <= API_CACHE_BYTES / 4 && db_exec(a->db, "INSERT INTO stat_answers "
	    "(k, ver, status, ctype, etag, len, body, at) VALUES (" SHARED_KEY ", ?, ?, ?, ?, ?, "
	    "?, NOW(6)) ON DUPLICATE KEY UPDATE ver = VALUES(ver), status = VALUES(status), "
	    "ctype = VALUES(ctype), etag = VALUES(etag), len = VALUES(len), body = VALUES(body), "
	    "at = VALUES(at)", "ssissub", key, a->version, (long long)status, ctype, etag,
	    (unsigned long long)len, body, len) < 0)
		log_warn("statistics: shared answer cache: %s", db_error(a->db));
	shared_unlock(a);
	/* expired rows go; then the oldest while the bodies exceed the bound
	 * (SUM over the (at, len) index, a few hundred entries at most) */
	(void)db_exec(a->db, "DELETE FROM stat_answers WHERE at < NOW(6) - INTERVAL ? SECOND",
	    "i", (long long)API_CACHE_TTL);
	for (int i = 0; i < 64; i++) {
		unsigned long long total;
		if (db_query(a->db, &res, "SELECT COALESCE(SUM(len), 0) FROM stat_answers", "") < 0)
			return;
		total = strtoull(db_get(res, 0, 0) ? db_get(res, 0, 0) : "0", NULL, 10);
		db_res_free(res);
		if (total <= SHARED_MAX_BYTES ||
		    db_exec(a->db, "DELETE FROM stat_answers ORDER BY at LIMIT 8", "") < 0)
			return;
	}
}

void
api_request_end(struct api *a)
{
	if (a->lock_key)
		shared_unlock(a);
}

/* The worker's own cache: 1 when it answered r. */
static int
local_try(struct http_req *r, struct api *a, const char *key)
{
	char *k = full_key(a, key);

	if (k == NULL)
		return 0;
	for (size_t i = 0; i < API_CACHE_SLOTS; i++) {
		struct api_cached *c = &a->cache[i];
		if (c->key && strcmp(c->key, k) == 0) {
			time_t now = time(NULL);
			/* the version is read before the answer's queries, and a
			 * writer's commit may land between: never reuse for long */
			if (now - c->at >= API_CACHE_TTL || now < c->at) {
				/* drop it: cache_put() would add a second entry
				 * under the same key behind this one, and every
				 * lookup would stop here and recompute */
				slot_free(a, c);
				break;
			}
			c->used = ++a->cache_tick;
			http_respond_tagged(r, c->status, c->ctype, API_MAX_AGE, c->etag, c->body,
			    c->len);
			free(k);
			return 1;
		}
	}
	free(k);
	return 0;
}

int
api_cache_try(struct http_req *r, struct api *a, const char *key)
{
	struct db_res *res;
	int locked;

	if (a->no_cache)
		return 0;
	if (local_try(r, a, key) || shared_try(r, a, key))
		return 1;
	/* single flight: one worker computes, the others wait and read its row */
	if (db_query(a->db, &res, "SELECT GET_LOCK(" SHARED_LOCK ", ?)", "si", key,
	    (long long)SHARED_LOCK_WAIT) < 0)
		return 0;
	locked = db_getll(res, 0, 0, 0) == 1;
	db_res_free(res);
	if (!locked)
		return 0;	/* waited long enough: compute it here too */
	if ((a->lock_key = lb_strdup(key)) == NULL) {
		if (db_query(a->db, &res, "SELECT RELEASE_LOCK(" SHARED_LOCK ")", "s", key) == 0)
			db_res_free(res);
		return 0;
	}
	/* stored by the worker this one waited for: the lock goes to the next
	 * waiter before the body is read (the waiters read it side by side,
	 * not one after the other); a row gone meanwhile is computed here */
	if (shared_stored(a, key)) {
		shared_unlock(a);
		return shared_try(r, a, key);
	}
	return 0;	/* computed here; api_send() stores it and unlocks */
}

static void
cache_put(struct api *a, const char *key, int status, const char *ctype, const char *etag,
    const char *body, size_t len, time_t at)
{
	struct api_cached *victim = NULL;
	size_t klen = strlen(key);
	char *k;

	if (a->no_cache || len > API_CACHE_BYTES / 4)
		return;
	k = full_key(a, key);
	if (k == NULL)
		return;
	for (size_t i = 0; i < API_CACHE_SLOTS; i++) {
		struct api_cached *c = &a->cache[i];
		/* a key is kept once: the answer of an older data version of
		 * the same route and parameters is useless now (answers of
		 * other periods keep theirs: their days did not change) */
		if (c->key && strncmp(c->key, key, klen) == 0 && c->key[klen] == '#')
			slot_free(a, c);
		/* the first free slot, else the least recently used one */
		if (victim == NULL || (victim->key && (c->key == NULL || c->used < victim->used)))
			victim = c;
	}
	slot_free(a, victim);
	while (a->cache_bytes + len > API_CACHE_BYTES) {
		struct api_cached *old = NULL;
		for (size_t i = 0; i < API_CACHE_SLOTS; i++)
			if (a->cache[i].key && (old == NULL || a->cache[i].used < old->used))
				old = &a->cache[i];
		if (old == NULL)
			break;
		slot_free(a, old);
	}
	victim->body = malloc(len ? len : 1);
	victim->ctype = lb_strdup(ctype);
	if (k == NULL || victim->body == NULL || victim->ctype == NULL) {
		free(k);
		free(victim->body);
		free(victim->ctype);
		memset(victim, 0, sizeof *victim);
		return;
	}
	memcpy(victim->body, body, len);
	victim->key = k;
	victim->len = len;
	victim->status = status;
	lb_strlcpy(victim->etag, etag, sizeof victim->etag);
	victim->used = ++a->cache_tick;
	victim->at = at;
	a->cache_bytes += len;
}

void
api_send(struct http_req *r, struct api *a, const char *key, int status, const char *ctype,
    const char *body, size_t len)
{
	char etag[HTTP_ETAG_LEN];

	http_etag(status, body, len, etag);
	if (key && !a->no_cache) {
		cache_put(a, key, status, ctype, etag, body, len, time(NULL));
		shared_put(a, key, status, ctype, etag, body, len);
	}
	http_respond_tagged(r, status, ctype, API_MAX_AGE, etag, body, len);
}

void
api_send_json(struct http_req *r, struct api *a, const char *key, struct jw *w)
{
	const char *doc;
	size_t len;

	if (jw_finish(w, &doc, &len) < 0)
		api_fail(r, 500, "internal", "cannot generate JSON");
	else
		api_send(r, a, key, 200, "application/json", doc, len);
}
