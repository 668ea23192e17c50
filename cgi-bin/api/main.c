/*
 * lb-api.fcgi — the read-only JSON API (docs/REFERENCE.md "JSON API").
 * main() only loads the config, routes and dispatches.
 */
#include "api.h"
#include "buf.h"
#include "db.h"
#include "log.h"
#include "rollup.h"
#include "shcache.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the answers shared by the workers: bodies of 64 MB at most in all */
#define SHARED_BYTES (64u * 1024 * 1024)

struct route {
	const char *path;	/* exact, or a prefix when it ends with '/' */
	void (*fn)(struct http_req *, struct api *, const char *tail);
};

static const struct route routes[] = {
	{ "/api/health", api_health },
	{ "/api/periods", api_periods },
	{ "/api/leaderboard", api_leaderboard },
	{ "/api/leaderboard.csv", api_leaderboard_csv },
	{ "/api/teams/", api_team },
	{ "/api/contributors", api_contributors },
	{ "/api/stats/monthly", api_monthly },
	{ "/api/prs", api_prs },
	{ "/api/prs.csv", api_prs_csv },
	{ "/api/prs/", api_pr_story },
	{ "/api/admin/jobs", api_admin_jobs },
	{ "/api/admin/deliveries", api_admin_deliveries },
	{ "/api/admin/integrity", api_admin_integrity },
	{ "/api/admin/changes", api_admin_changes },
};

static struct api api;

/* The worker's one handle, bounded ([database] timeout for every wait, see
 * lib/db.h): NULL (answer 503) when MariaDB is unreachable or does not
 * answer in time; the handle reconnects by itself on a later request. A
 * handle the server answered less than a second ago is not pinged again
 * (a round trip per request under load): its next statement reconnects by
 * itself if the connection was lost meanwhile. */
struct db *
api_db(struct api *a)
{
	if (a->db == NULL)
		return NULL;
	if (db_check(a->db, 1.0) == 0)
		return a->db;
	log_warn("database: %s", db_error(a->db));
	return NULL;
}

static int
init(void *ctx)
{
	struct api *a = ctx;
	char err[512];

	if (conf_load(&a->conf, conf_path(a->config_path), err, sizeof err) < 0) {
		log_error("%s", err);
		return -1;
	}
	rollup_configure(&a->conf);
	if (rollup_exclude_list(&a->conf, a->exclude, sizeof a->exclude) < 0) {
		log_error("[github] exclude_teams: list too long");
		return -1;
	}
	/* search links: github.com, or the GitHub Enterprise host of api_url */
	lb_strlcpy(a->web, "https://github.com", sizeof a->web);
	if (a->conf.gh_api_url) {
		const char *u = a->conf.gh_api_url;
		size_t n = strlen(u);
		while (n && u[n - 1] == '/')
			n--;
		if (n > 7 && n < sizeof a->web && strncmp(u + n - 7, "/api/v3", 7) == 0) {
			memcpy(a->web, u, n - 7);
			a->web[n - 7] = '\0';
		}
	}
	/*
	 * Answers are built in buffers of up to a few MB (a 2,000-team
	 * leaderboard is 400 KB of JSON, its result sets more). glibc serves
	 * such blocks with mmap and returns them at free(): every request
	 * would fault its pages in again (measured: a fifth of the worker's
	 * time). Keep them in the heap, and keep the heap.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	a->env.exclude = a->exclude;
	a->env.merged_points = a->conf.merged_points;
	a->env.web = a->web;
	a->env.avatar_hosts = &a->conf.avatar_hosts;
	a->no_cache = getenv("LB_API_NO_CACHE") && strcmp(getenv("LB_API_NO_CACHE"), "1") == 0;
	a->db = db_new(&a->conf, DB_BOUNDED);
	if (a->db == NULL) {
		log_error("out of memory");
		return -1;
	}
	(void)api_db(a);	/* connect early; failure is fine, health reports it */
	return 0;
}

static void
handle(struct http_req *r, void *ctx)
{
	struct api *a = ctx;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		http_error(r, 405, "method_not_allowed", "the API is read-only: use GET");
		return;
	}
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		size_t l = strlen(routes[i].path);
		if (routes[i].path[l - 1] == '/') {
			if (strncmp(r->path, routes[i].path, l) == 0 && r->path[l] != '\0') {
				routes[i].fn(r, a, r->path + l);
				api_request_end(a);
				return;
			}
		} else if (strcmp(r->path, routes[i].path) == 0) {
			routes[i].fn(r, a, "");
			api_request_end(a);
			return;
		}
	}
	api_fail(r, 404, "not_found", "no such API route: %.200s", r->path);
}

int
main(int argc, char **argv)
{
	static const struct http_prog prog = {
		.name = "lb-api",
		.summary = "the read-only JSON API of leaderboard (FastCGI)",
		.description =
		    "    Answers GET /api/... (health, periods, leaderboard, teams,\n"
		    "    contributors, monthly statistics, admin routes) with JSON and\n"
		    "    ETags, reading MariaDB. nginx serves it at /api/.\n",
		.allow = "GET, HEAD",
		.after = api_after,
	};

	/* before the workers are forked: they all map it (lib/shcache.h);
	 * without it each worker computes its own answers */
	if ((api.shared = shcache_open(SHARED_BYTES)) == NULL)
		log_warn("answer cache: cannot map %zu bytes of shared memory: %s; each worker "
		    "computes its own answers", (size_t)SHARED_BYTES, strerror(errno));
	return http_serve(argc, argv, &prog, &api.config_path, init, handle, &api);
}
