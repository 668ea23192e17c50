/*
 * lb-hook internals: the checks of a delivery request, apart from FastCGI
 * and the database so that tests/fuzz/fuzz_request.c runs the same code.
 *
 * hook_check() takes the request's method, Content-Type and GitHub headers
 * (NULL when absent) and a reader of its body, and checks them in the order
 * of main.c's comment: 405, 415, 413 (or 400 when the body cannot be read),
 * 401, 400 (headers), 400 (a form without payload=). It returns 0 with *d
 * ready for ingest_apply() but for received_at (NULL: the caller's clock),
 * pointing into in and body (decoded in place when it was a form), or -1
 * with the answer to give in *e.
 * body is the caller's (free it either way).
 */
#ifndef LB_HOOK_H
#define LB_HOOK_H

#include <pthread.h>
#include <stddef.h>
#include "ingest.h"

struct buf;
struct conf;
struct ingest_delivery;

struct hook_req {
	const char *method;
	const char *content_type;
	const char *signature;		/* X-Hub-Signature-256 */
	const char *event;		/* X-GitHub-Event */
	const char *delivery;		/* X-GitHub-Delivery */
	const char *hook_id;		/* X-GitHub-Hook-ID */
	/* http_read_body()'s contract: 0, or -1 with *too_large set when the
	 * body is longer than max, -1 on a read error */
	int (*read_body)(void *arg, struct buf *out, size_t max, int *too_large);
	void *arg;
};

struct hook_err {
	int status;
	const char *code;
	char message[256];
};

int hook_check(const struct conf *c, const struct hook_req *in, struct buf *body,
    struct ingest_delivery *d, struct hook_err *e);

/*
 * group_apply() (group.c): applies one delivery on the worker's database
 * handle, together with the deliveries its other threads queued meanwhile
 * (lib/ingest ingest_apply_batch), and returns when it is applied, its
 * result in g->it. The caller fills g->it.d, g->it.root and g->batchable
 * (ingest_batchable()); the root is taken. Safe from any number of threads.
 */
struct group_item {
	struct ingest_item  it;
	int                 batchable;
	int                 done, lead;		/* internal */
	pthread_cond_t      cv;
	struct group_item  *next;
};
struct db;
void group_apply(struct db *db, const struct conf *c, struct group_item *g);

#endif
