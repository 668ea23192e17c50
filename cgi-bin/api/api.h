/*
 * lb-api internals. main.c parses and routes; one file per resource.
 * A handler writes exactly one response (http_respond* / http_error).
 */
#ifndef LB_API_H
#define LB_API_H

#include "conf.h"
#include "http.h"

struct db;

struct api {
	const char *config_path;
	struct conf conf;
	struct db  *db;		/* NULL while MariaDB is unreachable */
};

/* The connection, (re)connecting when needed; NULL when MariaDB is down. */
struct db *api_db(struct api *a);

/* GET /api/health — 200 {"status":"ok",...}; 503 {"status":"error",...}
 * when MariaDB is unreachable. */
void api_health(struct http_req *r, struct api *a, const char *tail);

#endif
