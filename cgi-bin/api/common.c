/* Shared pieces of the statistics routes: parameters, errors with ETags,
 * the data version and the per-worker answer cache. */
#include "api.h"
#include "buf.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "period.h"
#include "rollup.h"
#include "shcache.h"

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
	 * holding one request for minutes. Then the data version of those
	 * days, which keys the answer: with nothing queued, one statement. */
	if (rollup_read_days(db, from, to, API_FOLD_MAX, a->version, sizeof a->version) < 0) {
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
		a->cache_bytes -= c->len + c->gzlen;
	free(c->key);
	free(c->ctype);
	free(c->body);
	memset(c, 0, sizeof *c);
}

/* ------------------------------------------------ the shared answer cache
 *
 * lb-api's workers share their answers in memory (lib/shcache, mapped by
 * main() before the workers are forked): a worker that misses its own
 * cache looks there, and the first worker to miss both computes the answer
 * while the others wait for it (at most SHARED_WAIT_MS) and then copy it.
 * So an answer is computed once per data version, not once per worker. An
 * entry is served only for the version the reader just read (as its own
 * cache), and for API_CACHE_TTL seconds after it was computed.
 */
#define SHARED_WAIT_MS 3000	/* a worker waits this long for another's answer */
#define API_GZIP_MIN 512	/* answers from this size on are also kept gzipped */

static void cache_put(struct api *a, const char *key, int status, const char *ctype,
    const char *etag, const char *body, size_t len, const char *gz, size_t gzlen, time_t at);

/* An answer, in its gzip form when it has one and the client takes it
 * (Vary: the encoding depends on Accept-Encoding; the ETag is the answer's,
 * weak, the same for both forms). how: X-Answer, where it came from. */
static void
respond(struct http_req *r, int status, const char *ctype, const char *etag, const char *body,
    size_t len, const char *gz, size_t gzlen, const char *how)
{
	char extra[160];
	int z = gzlen > 0 && http_accepts_gzip(r);

	snprintf(extra, sizeof extra, "%s%sX-Answer: %s\r\n",
	    gzlen > 0 ? "Vary: Accept-Encoding\r\n" : "", z ? "Content-Encoding: gzip\r\n" : "",
	    how);
	http_respond_tagged(r, status, ctype, API_MAX_AGE, etag, extra, z ? gz : body,
	    z ? gzlen : len);
}

void
api_request_end(struct api *a)
{
	if (a->lock_key) {
		shcache_drop(a->shared, a->lock_key);
		free(a->lock_key);
		a->lock_key = NULL;
	}
}

static void
shared_put(struct api *a, const char *key, int status, const char *ctype, const char *etag,
    const char *body, size_t len, const char *gz, size_t gzlen)
{
	struct shcache_entry e = { .status = status, .body = (char *)body, .len = len,
	    .alt = (char *)gz, .alt_len = gzlen, .at = time(NULL) };

	if (a->shared == NULL)
		return;
	lb_strlcpy(e.ctype, ctype, sizeof e.ctype);
	lb_strlcpy(e.etag, etag, sizeof e.etag);
	(void)shcache_put(a->shared, key, a->version, &e);	/* not kept: recomputed */
	free(a->lock_key);
	a->lock_key = NULL;
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
			respond(r, c->status, c->ctype, c->etag, c->body, c->len, c->body + c->len,
			    c->gzlen, "cached");
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
	struct shcache_entry e;
	int got;

	if (a->no_cache)
		return 0;
	if (local_try(r, a, key))
		return 1;
	got = shcache_get(a->shared, key, a->version, API_CACHE_TTL, SHARED_WAIT_MS, &e);
	if (got == SHCACHE_HIT) {
		cache_put(a, key, e.status, e.ctype, e.etag, e.body, e.len, e.alt, e.alt_len, e.at);
		respond(r, e.status, e.ctype, e.etag, e.body, e.len, e.alt, e.alt_len, "shared");
		free(e.body);
		return 1;
	}
	/* computed here; api_send() stores it (and ends the claim), or
	 * api_request_end() gives the claim up after an error */
	if (got == SHCACHE_MINE && (a->lock_key = lb_strdup(key)) == NULL)
		shcache_drop(a->shared, key);
	return 0;
}

static void
cache_put(struct api *a, const char *key, int status, const char *ctype, const char *etag,
    const char *body, size_t len, const char *gz, size_t gzlen, time_t at)
{
	struct api_cached *victim = NULL;
	size_t klen = strlen(key);
	char *k;

	if (gz == NULL)
		gzlen = 0;
	if (a->no_cache || len + gzlen > API_CACHE_BYTES / 4)
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
	while (a->cache_bytes + len + gzlen > API_CACHE_BYTES) {
		struct api_cached *old = NULL;
		for (size_t i = 0; i < API_CACHE_SLOTS; i++)
			if (a->cache[i].key && (old == NULL || a->cache[i].used < old->used))
				old = &a->cache[i];
		if (old == NULL)
			break;
		slot_free(a, old);
	}
	victim->body = malloc(len + gzlen ? len + gzlen : 1);
	victim->ctype = lb_strdup(ctype);
	if (k == NULL || victim->body == NULL || victim->ctype == NULL) {
		free(k);
		free(victim->body);
		free(victim->ctype);
		memset(victim, 0, sizeof *victim);
		return;
	}
	memcpy(victim->body, body, len);
	if (gzlen)
		memcpy(victim->body + len, gz, gzlen);
	victim->key = k;
	victim->len = len;
	victim->gzlen = gzlen;
	victim->status = status;
	lb_strlcpy(victim->etag, etag, sizeof victim->etag);
	victim->used = ++a->cache_tick;
	victim->at = at;
	a->cache_bytes += len + gzlen;
}

void
api_send(struct http_req *r, struct api *a, const char *key, int status, const char *ctype,
    const char *body, size_t len)
{
	char etag[HTTP_ETAG_LEN], *gz = NULL;
	size_t gzlen = 0;
	int keep = key && !a->no_cache;

	http_etag(status, body, len, etag);
	/* compressed once here, for every reader of the answer that takes
	 * gzip (browsers do): a 400 KB leaderboard is about 35 KB */
	if (len >= API_GZIP_MIN && (keep || http_accepts_gzip(r)) &&
	    http_gzip(body, len, &gz, &gzlen) < 0)
		gzlen = 0;
	if (keep) {
		cache_put(a, key, status, ctype, etag, body, len, gz, gzlen, time(NULL));
		shared_put(a, key, status, ctype, etag, body, len, gz, gzlen);
	}
	respond(r, status, ctype, etag, body, len, gz, gzlen, "computed");
	free(gz);
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
