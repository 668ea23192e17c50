/*
 * libFuzzer target: lb-hook.fcgi's request handling before the database,
 * through the production entry point hook_check() (cgi-bin/hook/request.c:
 * method, Content-Type, body size, HMAC verification, delivery/event header
 * syntax, form decoding), then the payload parsing ingest_apply() starts
 * with (lib/json at INGEST_MAX_DEPTH, store_pr_valid). Input layout (all
 * parts optional):
 *   content-type \n event \n delivery \n signature \n body...
 * Half of the runs sign the body correctly so that the later stages are
 * reached as often as the signature check; the first byte also picks the
 * method (a few runs are not POSTs).
 */
#include "buf.h"
#include "fuzz.h"
#include "hmac.h"
#include "hook.h"
#include "ingest.h"
#include "json.h"
#include "store.h"

#include <string.h>

static const char config[] =
    "[database]\nname = x\n[github]\nwebhook_secret = first, second\n"
    "repositories = acme/repo\n[hook]\nmax_body = 32768\n";

/* Next '\n'-terminated field as a C string (at most 255 bytes kept). */
static const uint8_t *
field(const uint8_t *p, const uint8_t *end, char *out, size_t outlen)
{
	const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = (size_t)((nl ? nl : end) - p);

	if (n > outlen - 1)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return nl ? nl + 1 : end;
}

struct body {
	const char *data;
	size_t len;
};

/* http_read_body() over the fuzz input, in chunks as FastCGI gives them. */
static int
read_body(void *arg, struct buf *out, size_t max, int *too_large)
{
	const struct body *b = arg;

	*too_large = b->len > max;
	if (*too_large)
		return -1;
	for (size_t off = 0; off < b->len; off += 4096) {
		size_t n = b->len - off < 4096 ? b->len - off : 4096;
		if (buf_append(out, b->data + off, n) < 0)
			return -1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char ct[256], event[256], id[256], sig[256], err[128];
	struct buf body = BUF_INIT;
	struct ingest_delivery d;
	struct hook_err e;
	struct body raw;
	const struct conf *conf = fuzz_conf(config, sizeof config - 1);
	json_val root;

	p = field(p, end, ct, sizeof ct);
	p = field(p, end, event, sizeof event);
	p = field(p, end, id, sizeof id);
	p = field(p, end, sig, sizeof sig);
	raw.data = (const char *)p;
	raw.len = (size_t)(end - p);
	if (size && (data[0] & 1))	/* sign it right: reach the next stages */
		hmac_github_signature("second", raw.data, raw.len, sig, sizeof sig);

	struct hook_req in = {
		.method = size && (data[0] & 0x1e) == 0x1e ? "GET" : "POST",
		.content_type = ct,
		.signature = sig,
		.event = event,
		.delivery = id,
		.hook_id = size > 1 && (data[1] & 1) ? "12345" : NULL,
		.read_body = read_body,
		.arg = &raw,
	};
	if (hook_check(conf, &in, &body, &d, &e) == 0) {
		root = json_parse(d.body, d.len, INGEST_MAX_DEPTH, d.len + 1, err, sizeof err);
		if (root) {
			(void)store_pr_valid(conf, json_get(root, "pull_request", NULL));
			json_free(root);
		}
	} else if (e.status < 400 || e.status > 415 || e.code == NULL)
		abort();	/* every refusal is one of the documented answers */
	buf_free(&body);
	return 0;
}
