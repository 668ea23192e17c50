/*
 * libFuzzer target: lb-hook.fcgi's request handling before the database —
 * Content-Type, delivery/event header syntax, HMAC verification, form
 * decoding, then payload parsing. Input layout (all parts optional):
 *   content-type \n event \n delivery \n signature \n body...
 * Half of the runs sign the body correctly so that the later stages are
 * reached as often as the signature check.
 */
#include "buf.h"
#include "conf.h"
#include "hmac.h"
#include "ingest.h"
#include "json.h"
#include "store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct conf conf;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
setup(void)
{
	static const char text[] =
	    "[database]\nname = x\n[github]\nwebhook_secret = first, second\n"
	    "repositories = acme/repo\n";
	char err[256];

	if (conf_parse(&conf, "fuzz.conf", text, sizeof text - 1, err, sizeof err) < 0)
		abort();
	ready = 1;
}

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char ct[256], event[256], id[256], sig[256], err[128];
	struct buf form = BUF_INIT;
	const char *body, *json;
	size_t blen, jlen;
	enum ingest_media m;
	json_val root;

	if (!ready)
		setup();
	p = field(p, end, ct, sizeof ct);
	p = field(p, end, event, sizeof event);
	p = field(p, end, id, sizeof id);
	p = field(p, end, sig, sizeof sig);
	body = (const char *)p;
	blen = (size_t)(end - p);

	m = ingest_media(ct);
	(void)ingest_valid_event(event);
	(void)ingest_valid_id(id);
	if (size && (data[0] & 1))	/* sign it right: reach the next stages */
		hmac_github_signature("second", body, blen, sig, sizeof sig);
	if (!hmac_verify(&conf.webhook_secrets, sig, body, blen))
		return 0;
	json = body;
	jlen = blen;
	if (m == INGEST_MEDIA_FORM) {	/* decoded in place, as lb-hook does */
		if (buf_append(&form, body, blen) < 0 || ingest_form_payload(form.data, form.len, &jlen) < 0) {
			buf_free(&form);
			return 0;
		}
		json = form.data;
	}
	root = json_parse(json, jlen, INGEST_MAX_DEPTH, jlen + 1, err, sizeof err);
	if (root) {
		(void)store_pr_valid(&conf, json_get(root, "pull_request", NULL));
		json_free(root);
	}
	buf_free(&form);
	return 0;
}
