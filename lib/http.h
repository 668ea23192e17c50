/*
 * http — request and response helpers for the FastCGI programs, and the
 * process model they share.
 *
 * Process model (http_serve): "PROG [--config FILE] [--socket PATH]
 * [--workers N]". With --socket the program opens that Unix socket (mode
 * 0666, inside a directory the operator controls), forks N workers
 * (default 2) and supervises them: a worker that dies is replaced (one whose
 * init() failed, exit status 1, stops the server with status 1 instead: a
 * new one would fail the same way), SIGTERM or SIGINT stops all of them and
 * removes the socket. Without --socket it
 * expects the listening socket on fd 0 (spawn-fcgi, systemd socket units)
 * and serves from a single process, or, when --workers N is given, from N
 * workers supervised the same way (the socket is left alone at exit).
 * Each worker calls init(ctx) once, then handler(req, ctx) per request,
 * one request at a time unless init() called http_threads(n): then from n
 * threads at once (1..64), and the program keeps whatever they share safe
 * itself. SIGTERM lets the requests in progress finish, then the worker
 * exits.
 *
 * Responses: http_respond() writes a status line, headers and body; every
 * JSON error body is {"error": {"code": ..., "message": ...}}.
 */
#ifndef LB_HTTP_H
#define LB_HTTP_H

#include <fcgiapp.h>
#include <stddef.h>

struct buf;

struct http_req {
	FCGX_Request *fcgi;
	const char   *method;		/* REQUEST_METHOD */
	const char   *path;		/* DOCUMENT_URI (no query string) */
	const char   *query;		/* QUERY_STRING, "" when absent */
	const char   *content_type;	/* CONTENT_TYPE or NULL */
	long long     content_length;	/* -1 when absent or invalid */
};

typedef int  (*http_init_fn)(void *ctx);
typedef void (*http_handler_fn)(struct http_req *req, void *ctx);

/* What a program tells http_serve() about itself; lib/http knows no
 * program, route or manual text of its own. */
struct http_prog {
	const char *name;		/* "lb-hook": log lines, --version, the manual */
	const char *summary;		/* the manual's NAME line after "name.fcgi - " */
	const char *description;	/* the first DESCRIPTION paragraph: whole lines,
					 * each indented 4 spaces and ending in '\n' */
	const char *allow;		/* the methods it answers: a 405's Allow header */
	void (*after)(void *ctx);	/* NULL, or run by the worker after each answer
					 * has gone out (work the client need not wait
					 * for); SIGTERM waits for it as for a request */
};

/* Parses argv (see above), runs the server, returns the exit status. The
 * config path, when given, is stored in *config_path for init(). */
int  http_serve(int argc, char **argv, const struct http_prog *prog,
    const char **config_path, http_init_fn init, http_handler_fn handler, void *ctx);

/* From init() only: the worker serves n requests at once (see above). */
void http_threads(int n);

/* Content coding: whether the request's Accept-Encoding takes gzip (a
 * "gzip", "x-gzip" or "*" element whose q is not 0); and the gzip encoding
 * of body into *out (malloc'd): 0, or -1 (nothing) when it fails or would
 * not be smaller than the body. */
int  http_accepts_gzip(struct http_req *r);
int  http_takes_gzip(const char *accept_encoding);	/* the same, of a header value */
int  http_gzip(const void *body, size_t len, char **out, size_t *outlen);
const char *http_param(struct http_req *r, const char *name);	/* FastCGI param */
const char *http_header(struct http_req *r, const char *name);	/* "X-GitHub-Event" */

/* Read the whole body into out. Returns 0, or -1 with *too_large set when
 * the body is longer than max (the rest is drained), or -1 on read error. */
int  http_read_body(struct http_req *r, struct buf *out, size_t max, int *too_large);

/* extra_headers: NULL or "Name: value\r\n..." lines. */
void http_respond(struct http_req *r, int status, const char *ctype,
    const char *extra_headers, const void *body, size_t len);
/* {"error":{"code":...,"message":...}} appended to out (non-ASCII bytes of
 * a message that is not valid UTF-8 become '?'); 0, or -1 out of memory. */
int  http_error_doc(const char *code, const char *message, struct buf *out);
void http_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A JSON answer with an ETag (weak, from the body); 304 when the request's
 * If-None-Match matches. cache: Cache-Control value or NULL. */
void http_respond_etag(struct http_req *r, int status, const char *ctype,
    const char *cache, const void *body, size_t len);
/* The weak ETag http_respond_etag() sends for (status, body), written into
 * out (NUL-terminated); and the answer for a tag computed before (answer
 * caches keep the tag with the body instead of hashing it again; extra:
 * NULL or more "Name: value\r\n" header lines, at most 200 bytes). */
#define HTTP_ETAG_LEN 32
void http_etag(int status, const void *body, size_t len, char out[HTTP_ETAG_LEN]);
void http_respond_tagged(struct http_req *r, int status, const char *ctype,
    const char *cache, const char *etag, const char *extra, const void *body, size_t len);
const char *http_reason(int status);

/* Query strings: copy the decoded value of name into out. Returns 1 when
 * found, 0 when absent, -1 when the value is malformed or too long. */
int  http_query(const char *qs, const char *name, char *out, size_t outlen);
/* Percent-decode (and '+' -> ' ' when form is set) in place-safe copy;
 * returns the decoded length or -1 on a bad escape / overflow. */
long http_urldecode(const char *in, size_t inlen, char *out, size_t outlen, int form);

/* The credentials of an "Authorization: Bearer <token>" value (RFC 7235
 * and 6750): the scheme in any case, one or more spaces or tabs, then the
 * token (no blanks inside), blanks around it ignored. Returns the token
 * and its length in *len, or NULL for another scheme or a malformed value. */
const char *http_bearer(const char *authorization, size_t *len);

/* Constant-time comparison of two byte strings (lengths may differ): the time
 * tells neither where they differ nor how long either is (it compares their
 * SHA-256 digests). */
int  http_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif
