/*
 * hook_baseline — the benchmark baseline of bench/10-hook: the minimal
 * correct receiver. A FastCGI program with lb-hook.fcgi's process model
 * (lib/http) that reads the body of each POST, verifies its
 * X-Hub-Signature-256 against the configured secrets (lib/hmac, as lb-hook
 * does before anything else: 401 when it does not match), then stores it
 * with one prepared INSERT (autocommit: one durable commit per request) and
 * answers 202. No parsing, no dispatch.
 *
 * With HOOK_BASELINE_ROW=1 in the environment it writes lb-hook's raw record
 * instead (the same INSERT INTO deliveries, from the headers alone): the
 * bench shows how much of lb-hook's cost is that row and how much the rest.
 */
#include "buf.h"
#include "conf.h"
#include "db.h"
#include "hmac.h"
#include "http.h"
#include "log.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

static const char *config_path;
static struct conf conf;
static struct db *db;
static int raw_row;

static int
init(void *ctx)
{
	static const char ddl[] =
	    "CREATE TABLE IF NOT EXISTS bench_baseline (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, "
	    "delivery VARCHAR(64) NOT NULL, body LONGBLOB NOT NULL, PRIMARY KEY (id)) "
	    "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
	const char *row = getenv("HOOK_BASELINE_ROW");
	char err[512];

	(void)ctx;
	raw_row = row != NULL && strcmp(row, "1") == 0;
	if (conf_load(&conf, conf_path(config_path), err, sizeof err) < 0) {
		log_error("%s", err);
		return -1;
	}
	db = db_open(&conf, err, sizeof err);
	if (db == NULL) {
		log_error("%s", err);
		return -1;
	}
	return db_exec_text(db, ddl, sizeof ddl - 1);
}

/* lb-hook's row of a processed delivery, as lib/ingest writes it. */
static int
raw_insert(struct http_req *r, const char *id, const struct buf *body)
{
	char now[32];

	store_now(now, sizeof now);
	return db_exec(db,
	    "INSERT INTO deliveries (id, event, action, hook_id, received_at, processed_at, "
	    "outcome, error, content_type, body) VALUES (?, ?, NULL, ?, ?, ?, 'processed', NULL, ?, ?)",
	    "ssssssb", id ? id : "", http_header(r, "X-GitHub-Event") ? http_header(r, "X-GitHub-Event") : "",
	    http_header(r, "X-GitHub-Hook-ID"), now, now, "application/json",
	    body->data ? body->data : "", body->len);
}

static void
handle(struct http_req *r, void *ctx)
{
	struct buf body = BUF_INIT;
	const char *id = http_header(r, "X-GitHub-Delivery");
	int too_large;

	(void)ctx;
	body.max = (size_t)conf.max_body + 1;
	if (http_read_body(r, &body, (size_t)conf.max_body, &too_large) < 0) {
		http_error(r, 413, "too_large", "too large");
	} else if (!hmac_verify(&conf.webhook_secrets, http_header(r, "X-Hub-Signature-256"),
	    body.data ? body.data : "", body.len)) {
		http_error(r, 401, "bad_signature", "signature does not match");
	} else if (raw_row ? raw_insert(r, id, &body) < 0 :
	    db_exec(db, "INSERT INTO bench_baseline (delivery, body) VALUES (?, ?)", "sb",
	    id ? id : "", body.data ? body.data : "", body.len) < 0) {
		http_error(r, 500, "db", "%s", db_error(db));
	} else {
		http_respond(r, 202, "application/json", NULL, "{\"status\":\"stored\"}", 19);
	}
	buf_free(&body);
}

int
main(int argc, char **argv)
{
	return http_serve(argc, argv, "hook_baseline", &config_path, init, handle, NULL);
}
