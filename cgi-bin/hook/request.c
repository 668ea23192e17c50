/* The checks of a delivery request (hook.h). The signature is verified
 * before the body is parsed in any way. */
#include "hook.h"
#include "buf.h"
#include "conf.h"
#include "hmac.h"
#include "ingest.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int
fail(struct hook_err *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(struct hook_err *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return -1;
}

static int
valid_hook_id(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	while (isdigit((unsigned char)s[n]))
		n++;
	return n > 0 && n <= 19 && s[n] == '\0';
}

int
hook_check(const struct conf *c, const struct hook_req *in, struct buf *body,
    struct ingest_delivery *d, struct hook_err *e)
{
	enum ingest_media media;
	int too_large;

	if (in->method == NULL || strcmp(in->method, "POST") != 0)
		return fail(e, 405, "method_not_allowed", "webhooks are POSTed");
	media = ingest_media(in->content_type);
	if (media == INGEST_MEDIA_OTHER)
		return fail(e, 415, "unsupported_media_type",
		    "use application/json or application/x-www-form-urlencoded");
	body->max = (size_t)c->max_body + 1;
	if (in->read_body(in->arg, body, (size_t)c->max_body, &too_large) < 0) {
		if (too_large)
			return fail(e, 413, "too_large", "the body is larger than %lld bytes",
			    c->max_body);
		return fail(e, 400, "bad_request", "cannot read the body");
	}
	if (c->webhook_secrets.n > 0 &&
	    !hmac_verify(&c->webhook_secrets, in->signature, body->data, body->len))
		return fail(e, 401, "bad_signature",
		    "X-Hub-Signature-256 is missing or does not match the secret");
	if (!ingest_valid_event(in->event) || !ingest_valid_id(in->delivery))
		return fail(e, 400, "bad_request",
		    "X-GitHub-Event and X-GitHub-Delivery are required (delivery: 1-64 of A-Z a-z 0-9 - _ . :)");
	/* the signature covers the raw body: decode the form only now, in place */
	if (media == INGEST_MEDIA_FORM && ingest_form_payload(body->data, body->len, &body->len) < 0)
		return fail(e, 400, "bad_request", "form body without a valid payload= field");
	memset(d, 0, sizeof *d);
	d->id = in->delivery;
	d->event = in->event;
	d->hook_id = valid_hook_id(in->hook_id) ? in->hook_id : NULL;
	d->content_type = media == INGEST_MEDIA_FORM ? "application/x-www-form-urlencoded" :
	    "application/json";
	d->body = body->data ? body->data : "";
	d->len = body->len;
	return 0;
}
