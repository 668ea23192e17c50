/*
 * lb-api internals. main.c parses and routes; one file per resource.
 * A handler writes exactly one response (http_respond* / api_fail).
 */
#ifndef LB_API_H
#define LB_API_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "http.h"
#include "stats.h"

struct db;
struct jw;
struct shcache;

#define API_CACHE_SLOTS 64
#define API_CACHE_BYTES (32u * 1024 * 1024)
#define API_CHECK_EVERY 2	/* seconds between rollup freshness checks */
#define API_MAX_AGE "public, max-age=15"
#define API_CACHE_TTL 60	/* seconds an answer is reused even when the version matches:
			 * for what no version covers (a label's color, an interval
			 * ending at a time set in advance) */

struct api_cached {
	char   *key;		/* route + normalized parameters + data version */
	char   *ctype;
	char   *body;		/* the answer, then its gzip form (gzlen bytes, 0: none) */
	size_t  len, gzlen;
	int     status;
	char    etag[HTTP_ETAG_LEN];	/* computed once, with the body */
	unsigned long long used;
	time_t  at;		/* when computed (API_CACHE_TTL) */
};

struct api {
	const char *config_path;
	struct conf conf;
	struct db  *db;		/* NULL while MariaDB is unreachable */
	/* statistics */
	char        exclude[4096];	/* excluded slugs, comma-joined */
	char        web[256];		/* https://github.com or the GHE host */
	struct stats_env env;
	time_t      checked_at;		/* last rollup_check_soon() */
	int         rebuild_after;	/* it left a large rebuild for after the answer */
	char        version[512];	/* data version of the current request */
	struct api_cached cache[API_CACHE_SLOTS];
	size_t      cache_bytes;
	unsigned long long cache_tick;
	int         no_cache;		/* LB_API_NO_CACHE=1 (benchmarks) */
	struct shcache *shared;		/* the workers' shared answers (NULL: none) */
	char       *lock_key;		/* the answer this worker computes for all (claimed) */
};

/* The connection, (re)connecting when needed; NULL when MariaDB is down. */
struct db *api_db(struct api *a);
/* After an answer has gone out: the rebuild a request left for then
 * (rollup_check_soon), if any. */
void api_after(void *ctx);

/* An error answer {"error": {...}} with an ETag like every answer. */
void api_fail(struct http_req *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Query parameter into out: 1 present, 0 absent; -1 (400 sent, naming the
 * parameter) when malformed or too long. */
int  api_param(struct http_req *r, const char *name, char *out, size_t len);

/* Statistics requests: connects (503 when MariaDB is down), runs the
 * rollup freshness check when due, folds queued PR changes and reads the
 * data version of an answer that reads the days [from, to] (inclusive
 * "YYYY-MM-DD"; NULL or "" = unbounded): only a change of one of those
 * days (or of teams, users, repositories, memberships, label_points, a
 * rebuild) changes it. Then api_cache_try() answers from the worker's
 * cache when `key` was computed for the same version (returns 1).
 * Returns NULL after answering 503. */
struct db *api_stats_begin(struct http_req *r, struct api *a, const char *from, const char *to);
int  api_cache_try(struct http_req *r, struct api *a, const char *key);
/* After every request: releases the shared cache's lock of an answer that
 * ended in an error instead of api_send(). */
void api_request_end(struct api *a);
/* Answer (with ETag / 304 / Cache-Control) and remember it under key. */
void api_send(struct http_req *r, struct api *a, const char *key, int status,
    const char *ctype, const char *body, size_t len);
/* Finish w and api_send it as JSON (500 when generation failed). */
void api_send_json(struct http_req *r, struct api *a, const char *key, struct jw *w);

/* Routes. Statuses: 200, 304 (If-None-Match), 400 (bad parameter, named),
 * 404 (unknown team), 503 (database unreachable). */
void api_health(struct http_req *r, struct api *a, const char *tail);
void api_periods(struct http_req *r, struct api *a, const char *tail);
void api_leaderboard(struct http_req *r, struct api *a, const char *tail);
void api_leaderboard_csv(struct http_req *r, struct api *a, const char *tail);
void api_team(struct http_req *r, struct api *a, const char *tail);
void api_contributors(struct http_req *r, struct api *a, const char *tail);
void api_monthly(struct http_req *r, struct api *a, const char *tail);
/* The PRs behind a number, one PR's story (prs.c). */
void api_prs(struct http_req *r, struct api *a, const char *tail);
void api_prs_csv(struct http_req *r, struct api *a, const char *tail);
void api_pr_story(struct http_req *r, struct api *a, const char *tail);
/* Admin routes: 401 without the right bearer token (constant-time). */
void api_admin_jobs(struct http_req *r, struct api *a, const char *tail);
void api_admin_deliveries(struct http_req *r, struct api *a, const char *tail);
void api_admin_integrity(struct http_req *r, struct api *a, const char *tail);
void api_admin_changes(struct http_req *r, struct api *a, const char *tail);

/* Shared parameter parsing of the statistics routes (400 sent on error). */
struct period;
int  api_period(struct http_req *r, struct period *p);
int  api_sort(struct http_req *r, enum stats_sort *s, int allow_points);
int  api_limit(struct http_req *r, long long def, long long *limit);

#endif
