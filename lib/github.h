/*
 * github — a small GitHub REST client (libcurl; bodies parsed by lib/json).
 *
 * Contract:
 *  - gh_new() takes api_url ("https://api.github.com" or a GitHub Enterprise
 *    "https://HOST/api/v3", no trailing slash) and the token (may be NULL:
 *    no Authorization header). The token is sent only as
 *    "Authorization: Bearer ..." and never appears in a log line or an error
 *    message written by this module (URLs never carry it).
 *  - gh_open() builds the client from [github]: a token, or a GitHub App.
 *    With an App, endpoints GitHub authenticates by the App itself (/app...,
 *    /orgs/X/installation) get a fresh JWT (lib/ghapp); every other request
 *    gets the installation token, fetched on first use (POST
 *    /app/installations/{id}/access_tokens; the id found with GET
 *    /orgs/{partner_org}/installation when not configured), renewed shortly
 *    before its expires_at, and renewed once more when GitHub answers 401 to
 *    it. A token that cannot be had fails the request with one clear line
 *    (App not installed, installation gone or suspended, JWT refused).
 *  - gh_get() GETs one URL: a path ("/orgs/acme/teams?per_page=100") is
 *    appended to api_url; an absolute URL (a Link "next") must start with
 *    api_url, else it is refused (the token never goes to another host).
 *    With etag != NULL it sends If-None-Match and a 304 answer sets
 *    r->not_modified. On 200 r->body holds the body (bounded by
 *    GH_MAX_BODY), r->etag the ETag, r->next the Link rel="next" URL ("" on
 *    the last page) and r->last_page the rel="last" page number (0: unknown).
 *  - Limits and retries, all inside gh_get():
 *      primary limit: when an answer says x-ratelimit-remaining: 0, the next
 *        request first waits until x-ratelimit-reset;
 *      secondary limit (403/429): waits Retry-After seconds, else until
 *        x-ratelimit-reset when remaining is 0, else backs off (>= 60 s);
 *      5xx and network errors: retried with exponential backoff
 *        (gh_backoff(), GH_RETRIES retries), connect and stall timeouts.
 *    A wait longer than g->max_wait is not slept: gh_get() returns GH_EWAIT
 *    with g->retry_at (epoch seconds) so the caller can reschedule its job.
 *    Sleeping goes through g->sleep (injectable for tests) and stops early
 *    (GH_ESTOP) when *g->stop becomes non-zero.
 *  - Return codes: GH_OK; GH_EHTTP for a final HTTP error (r->status says
 *    which: 401, 404, 422...); GH_ENET when retries ran out; GH_EWAIT;
 *    GH_ESTOP; GH_EINVAL for a refused URL or an oversized body. err gets one
 *    line without secrets.
 *  - ETags per URL are kept in table http_cache: gh_cache_get() /
 *    gh_cache_put() (callers decide when a result is complete enough to
 *    cache its ETag).
 *  - gh_link_parse() and gh_backoff() are pure (unit-tested).
 *  - One struct gh is used by one thread; gh_free() releases it.
 */
#ifndef LB_GITHUB_H
#define LB_GITHUB_H

#include "buf.h"

#include <signal.h>
#include <stddef.h>
#include <time.h>

#define GH_MAX_BODY   ((size_t)48 * 1024 * 1024)
#define GH_RETRIES    5
#define GH_URL_MAX    1024
#define GH_ETAG_MAX   256
/* Seconds a list sorted by updated_at is re-read below what was seen
 * before (lib/sync's incremental walks, lib/integrity's freshness floor). */
#define GH_UPDATED_OVERLAP 120

enum { GH_OK = 0, GH_EHTTP = -1, GH_ENET = -2, GH_EWAIT = -3, GH_ESTOP = -4, GH_EINVAL = -5 };

struct conf;
struct db;
struct gh_app;

struct gh_resp {
	long       status;
	int        not_modified;
	struct buf body;
	char       etag[GH_ETAG_MAX];
	char       next[GH_URL_MAX];
	long       last_page;
};

struct gh {
	void  *curl;
	char  *api_url;
	char  *auth_header;	/* "Authorization: Bearer ..." (secret) */
	struct gh_app *app;	/* a GitHub App instead of a token (lib/ghapp) */
	char  *org;		/* partner_org: finds the App's installation */
	unsigned long app_renewals;	/* installation tokens fetched */
	char   user_agent[128];
	/* rate limit as last reported */
	long   rate_remaining;	/* -1: unknown */
	time_t rate_reset;
	/* counters */
	unsigned long requests;	/* HTTP requests sent (304s included) */
	unsigned long not_modified;
	unsigned long long bytes;	/* body bytes received */
	/* waits */
	long   max_wait;	/* seconds; longer waits return GH_EWAIT */
	time_t retry_at;	/* set with GH_EWAIT */
	long   timeout;		/* whole-request timeout, seconds */
	double backoff_base;	/* first retry delay, seconds (default 1) */
	void (*sleep)(struct gh *g, double secs);	/* default: nanosleep in slices */
	time_t (*now)(void);
	volatile sig_atomic_t *stop;
	/* optional callback after each wait decision (progress lines) */
	void (*on_wait)(void *arg, const char *why, double secs);
	void  *wait_arg;
};

struct gh *gh_new(const char *api_url, const char *token, char *err, size_t errlen);
/* The client [github] describes: token, or a GitHub App (app_id,
 * app_private_key_file, app_installation_id, else found from partner_org). */
struct gh *gh_open(const struct conf *c, char *err, size_t errlen);
void       gh_free(struct gh *g);

void gh_resp_init(struct gh_resp *r);
void gh_resp_free(struct gh_resp *r);

int  gh_get(struct gh *g, const char *url, const char *etag, struct gh_resp *r,
    char *err, size_t errlen);
/* POST body (JSON, "" for none) to url, with gh_get()'s limits and retries. */
int  gh_post(struct gh *g, const char *url, const char *body, struct gh_resp *r,
    char *err, size_t errlen);

/* ETag cache in table http_cache, keyed by the URL as given to gh_get().
 * get: 1 and etag filled when known, 0 when not, -1 on a database error. */
int  gh_cache_get(struct db *db, const char *url, char *etag, size_t etaglen);
int  gh_cache_put(struct db *db, const char *url, const char *etag);
int  gh_cache_del(struct db *db, const char *url);

/* Parse a Link header value: copies the rel="next" URL into next ("" when
 * absent) and returns the page number of rel="last" in *last (0 if absent).
 * Returns 0, or -1 when the header is malformed or a URL does not fit. */
int  gh_link_parse(const char *value, char *next, size_t nextlen, long *last);
/* Backoff before retry number n (1-based): 1, 2, 4, ... seconds, capped at
 * 60, scaled by base (seconds for n = 1). */
double gh_backoff(int n, double base);
/* Percent-encode one path segment (owner, repo, slug) into out; -1 if it does
 * not fit. Unreserved characters pass through. */
int  gh_escape(const char *s, char *out, size_t outlen);
/* "owner/name" -> 0 and both parts (each at most 100 bytes, no blank, '?',
 * '#' or '%'); -1 when malformed or a part does not fit. */
int  gh_split_repo(const char *repo, char *owner, size_t olen, char *name, size_t nlen);
/* 1 when GitHub may be called for work: "teams" (a token or an App, plus
 * partner_org), "prs" (a token or an App, plus repositories) or "pr" (one
 * PR, of any repository: a token or an App only); else 0 with why. */
int  gh_ready(const struct conf *c, const char *work, char *why, size_t whylen);

#endif
