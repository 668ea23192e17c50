/*
 * lb-hook.fcgi — GitHub webhook receiver (docs/REFERENCE.md "Webhooks").
 *
 * handle() checks the request (hook_check(), request.c) in this order and answers:
 *   405 method_not_allowed   not POST
 *   415 unsupported_media    Content-Type neither application/json nor
 *                            application/x-www-form-urlencoded
 *   413 too_large            body longer than [hook] max_body
 *   401 bad_signature        X-Hub-Signature-256 missing or matching no
 *                            configured secret (nothing is stored)
 *   400 bad_request          X-GitHub-Event / X-GitHub-Delivery missing or
 *                            malformed, form without payload=
 *   400 invalid_payload      not JSON, or a field missing / of a wrong type
 *                            (the delivery is kept with outcome "failed")
 *   202 {"delivery", "status": processed|ignored|duplicate|spooled}
 *   500 failed               a database error (the delivery is kept as
 *                            "failed": lb-admin replay re-applies it)
 *   503 unavailable          MariaDB unreachable and the spool unwritable
 * "Unreachable" includes a MariaDB that does not answer within [database]
 * timeout (lib/db bounded handle): the delivery is spooled, so GitHub gets
 * its 202 well inside its 10 s.
 * The signature is verified before the body is parsed in any way.
 * A worker serves [hook] threads requests at once; each thread checks and
 * parses its own delivery, and group_apply() (group.c) applies it on the
 * worker's one database handle, with the deliveries that arrived meanwhile.
 */
#include "buf.h"
#include "conf.h"
#include "db.h"
#include "hook.h"
#include "http.h"
#include "ingest.h"
#include "json.h"
#include "log.h"
#include "spool.h"
#include "rollup.h"
#include "store.h"

#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <strings.h>

static const char *config_path;
static struct conf conf;
static struct db *db;

static int
init(void *ctx)
{
	char err[512];

	(void)ctx;
	if (conf_load(&conf, conf_path(config_path), err, sizeof err) < 0) {
		log_error("%s", err);
		return -1;
	}
	rollup_configure(&conf);
	if (conf.webhook_secrets.n == 0)
		log_warn("no [github] webhook_secret configured: unsigned deliveries are accepted");
	/*
	 * A delivery allocates its body and its parsed document (lib/json: ~65
	 * KB reserved while parsing GitHub's 25 KB payloads, ~30 KB kept) and
	 * frees them at the end: with glibc's default 128 KB trim threshold the
	 * heap shrank and grew back (brk, then page faults on fresh pages) for
	 * every delivery. Keep up to 4 MB of heap (with 32 threads, 1 MB made
	 * the heap shrink and grow back under load: bench/10-hook measured
	 * about 25% more CPU in lb-hook for the same RSS); blocks above 1 MB
	 * (rare huge bodies) are mapped and returned at once, so a worker's RSS
	 * stays small.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
	/* One heap for all the worker's threads ([hook] threads): glibc would
	 * give each thread an arena of its own, each keeping its freed memory,
	 * and a worker's RSS would grow with its threads. */
	(void)mallopt(M_ARENA_MAX, 1);
	http_threads((int)conf.hook_threads);
	/*
	 * Bounded: a stalled MariaDB answers nothing, and GitHub gives up after
	 * 10 s. Every wait on this handle ends after [database] timeout, then
	 * the delivery is spooled (and for that long the handle does not wait
	 * again: the next deliveries are spooled at once). The handle connects
	 * on first use and again after a lost connection.
	 */
	db = db_new(&conf, DB_BOUNDED);
	if (db == NULL) {
		log_error("out of memory");
		return -1;
	}
	if (db_ping(db) < 0)	/* connect early; failure is fine: we spool */
		log_warn("database: %s", db_error(db));
	if (db_lazy_begin(db) < 0)	/* one round trip less per delivery */
		log_warn("database: %s", db_error(db));
	return 0;
}

static void
answer(struct http_req *r, const char *id, const char *status)
{
	struct jw w;
	const char *out;
	size_t len;

	if (jw_init(&w) < 0) {
		http_error(r, 500, "internal", "out of memory");
		return;
	}
	jw_obj(&w);
	jw_kv_str(&w, "delivery", id);
	jw_kv_str(&w, "status", status);
	jw_obj_end(&w);
	if (jw_finish(&w, &out, &len) == 0)
		http_respond(r, 202, "application/json", NULL, out, len);
	else
		http_error(r, 500, "internal", "cannot write the answer");
	jw_free(&w);
}

static void
spool(struct http_req *r, const struct ingest_delivery *d, const char *why)
{
	if (spool_write(&conf, d) < 0) {
		log_error("delivery %s: database unreachable (%s) and spool failed: %s", d->id,
		    why, strerror(errno));
		http_error(r, 503, "unavailable", "database unreachable and the spool is not writable");
		return;
	}
	log_warn("delivery %s spooled: %s", d->id, why);
	answer(r, d->id, "spooled");
}

static int
read_body(void *arg, struct buf *out, size_t max, int *too_large)
{
	return http_read_body(arg, out, max, too_large);
}

static void
handle(struct http_req *r, void *ctx)
{
	struct hook_req in = {
		.method = r->method,
		.content_type = r->content_type,
		.signature = http_header(r, "X-Hub-Signature-256"),
		.event = http_header(r, "X-GitHub-Event"),
		.delivery = http_header(r, "X-GitHub-Delivery"),
		.hook_id = http_header(r, "X-GitHub-Hook-ID"),
		.read_body = read_body,
		.arg = r,
	};
	struct buf body = BUF_INIT;
	struct ingest_delivery d;
	struct group_item g;
	struct hook_err e;
	const char *err = g.it.err;
	char now[32];
	enum ingest_status st;

	(void)ctx;
	if (hook_check(&conf, &in, &body, &d, &e) < 0) {
		http_error(r, e.status, e.code, "%s", e.message);
		goto out;
	}
	store_now(now, sizeof now);
	d.received_at = now;
	memset(&g, 0, sizeof g);
	g.it.d = &d;
	g.batchable = ingest_batchable(&conf, &d, &g.it.root);
	group_apply(db, &conf, &g);
	st = g.it.st;
	switch (st) {
	case INGEST_PROCESSED:
	case INGEST_IGNORED:
	case INGEST_DUPLICATE:
		log_debug("delivery %s (%s): %s", d.id, d.event, ingest_status_name(st));
		answer(r, d.id, ingest_status_name(st));
		break;
	case INGEST_BADINPUT:
		log_info("delivery %s (%s) rejected: %s", d.id, d.event, err);
		http_error(r, 400, "invalid_payload", "%s", err);
		break;
	case INGEST_FAILED:
		log_error("delivery %s (%s) failed: %s", d.id, d.event, err);
		http_error(r, 500, "failed", "stored as failed (lb-admin replay %s): %s", d.id, err);
		break;
	case INGEST_DBERROR:
	case INGEST_NOTFOUND:
		if (g.it.gone) {
			spool(r, &d, err);
		} else {
			log_error("delivery %s (%s): %s", d.id, d.event, err);
			http_error(r, 500, "internal", "%s", err);
		}
		break;
	}
out:
	buf_free(&body);
}

int
main(int argc, char **argv)
{
	static const struct http_prog prog = {
		.name = "lb-hook",
		.summary = "the GitHub webhook receiver of leaderboard (FastCGI)",
		.description =
		    "    Answers POST /hook: checks X-Hub-Signature-256 against every\n"
		    "    [github] webhook_secret, stores and applies the delivery, and\n"
		    "    answers 202 within GitHub's 10 seconds. While MariaDB is\n"
		    "    unreachable, signed deliveries go to [hook] spool_dir and\n"
		    "    lb-syncd applies them later. nginx serves it at /hook.\n",
		.allow = "POST",
	};

	return http_serve(argc, argv, &prog, &config_path, init, handle, NULL);
}
