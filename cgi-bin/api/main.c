/*
 * lb-api.fcgi — the read-only JSON API (../shared/CONTRACT.md "JSON API").
 * main() only loads the config, routes and dispatches.
 */
#include "api.h"
#include "buf.h"
#include "db.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct route {
	const char *path;	/* exact, or a prefix when it ends with '/' */
	void (*fn)(struct http_req *, struct api *, const char *tail);
};

static const struct route routes[] = {
	{ "/api/health", api_health },
};

static struct api api;

struct db *
api_db(struct api *a)
{
	char err[512];

	if (a->db && db_ping(a->db) == 0)
		return a->db;
	if (a->db) {
		db_close(a->db);
		a->db = NULL;
	}
	a->db = db_open(&a->conf, err, sizeof err);
	if (a->db == NULL)
		log_warn("%s", err);
	return a->db;
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
				return;
			}
		} else if (strcmp(r->path, routes[i].path) == 0) {
			routes[i].fn(r, a, "");
			return;
		}
	}
	http_error(r, 404, "not_found", "no such API route: %.200s", r->path);
}

int
main(int argc, char **argv)
{
	return http_serve(argc, argv, "lb-api", &api.config_path, init, handle, &api);
}
