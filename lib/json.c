#include "json.h"
#include "buf.h"
#include "utf8.h"

#include <yajl/yajl_parse.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
jw_init(struct jw *w)
{
	w->failed = 0;
	w->g = yajl_gen_alloc(NULL);
	if (w->g == NULL)
		return -1;
	yajl_gen_config(w->g, yajl_gen_validate_utf8, 1);
	return 0;
}

void
jw_free(struct jw *w)
{
	if (w->g)
		yajl_gen_free(w->g);
	w->g = NULL;
}

int
jw_finish(struct jw *w, const char **out, size_t *len)
{
	const unsigned char *p;

	if (w->failed || w->g == NULL)
		return -1;
	if (yajl_gen_get_buf(w->g, &p, len) != yajl_gen_status_ok)
		return -1;
	*out = (const char *)p;
	return 0;
}

#define CHECK(expr) do { if (!w->failed && (expr) != yajl_gen_status_ok) w->failed = 1; } while (0)

void jw_obj(struct jw *w) { CHECK(yajl_gen_map_open(w->g)); }
void jw_obj_end(struct jw *w) { CHECK(yajl_gen_map_close(w->g)); }
void jw_arr(struct jw *w) { CHECK(yajl_gen_array_open(w->g)); }
void jw_arr_end(struct jw *w) { CHECK(yajl_gen_array_close(w->g)); }
void jw_key(struct jw *w, const char *k) { CHECK(yajl_gen_string(w->g, (const unsigned char *)k, strlen(k))); }
void jw_int(struct jw *w, long long v) { CHECK(yajl_gen_integer(w->g, v)); }
static void jw_bool(struct jw *w, int v) { CHECK(yajl_gen_bool(w->g, v)); }
void jw_null(struct jw *w) { CHECK(yajl_gen_null(w->g)); }

void
jw_strn(struct jw *w, const char *s, size_t n)
{
	if (s == NULL)
		CHECK(yajl_gen_null(w->g));
	else
		CHECK(yajl_gen_string(w->g, (const unsigned char *)s, n));
}

void jw_str(struct jw *w, const char *s) { jw_strn(w, s, s ? strlen(s) : 0); }
void jw_kv_str(struct jw *w, const char *k, const char *v) { jw_key(w, k); jw_str(w, v); }
void jw_kv_int(struct jw *w, const char *k, long long v) { jw_key(w, k); jw_int(w, v); }
void jw_kv_bool(struct jw *w, const char *k, int v) { jw_key(w, k); jw_bool(w, v); }
void jw_kv_null(struct jw *w, const char *k) { jw_key(w, k); jw_null(w); }

/*
 * Reading. yajl's event parser (yajl_parse) feeds the callbacks below, which
 * write the document into one block:
 *
 *   struct doc | text: len + 2 bytes | tape: one uint32_t per value and key
 *
 * text holds every string and number text at the offset where it stands in
 * the document (an escaped string decoded, ending where its closing quote
 * was: decoding only shrinks), each NUL-terminated; the bytes between them
 * are unused. The tape lists the values in document order, an object's
 * members as key, value, key, value; tape[0] is the distance back to the
 * block's start (json_free), tape[1] the root. An entry is
 *   bits 0-2  enum json_type
 *   bits 3-31 strings, numbers: the distance in bytes from the entry back to
 *             its text; objects, arrays: the entries of the subtree,
 *             itself included (the next sibling is that far on).
 * Every reference is relative, and yajl reads the caller's buffer, not the
 * block: the block may move (it is shrunk when the parse is done).
 *
 * Why the tape is bounded: in a document of length L (without whitespace)
 * with e values and keys, L >= 2e - 1 (a scalar takes a byte, a container
 * two, a member a key of >= 2 bytes and a colon, and siblings a comma); a
 * prefix yajl accepted before an error lacks at most a closing bracket per
 * open container and one value: e <= (L + depth + 2) / 2.
 */
#define PAYLOAD_MAX ((uint32_t)1 << 29)

struct doc {
	size_t peak;	/* json_peak_bytes() */
};

struct parse {
	char         *blk;
	size_t        text;	/* offset of text in blk: sizeof(struct doc) */
	size_t        tape;	/* offset of the tape in blk */
	uint32_t      n, cap;	/* tape entries used / reserved */
	uint32_t     *open;	/* per open container: its tape index */
	size_t        depth, max_depth;
	const char   *data;
	size_t        len;
	yajl_handle   h;
	size_t        cur, peak;	/* bytes allocated now / at most */
	const char   *fail;	/* reason a callback stopped the parse */
	int           too_deep;
};

#define TAPE(p)  ((struct json_node *)(void *)((p)->blk + (p)->tape))
#define TEXT(p)  ((p)->blk + (p)->text)

/* Counted allocations (yajl's, through yajl_alloc_funcs, and ours). */
struct mhdr {
	size_t      n;
	max_align_t align;
};

static void
count(struct parse *p, size_t add, size_t sub)
{
	p->cur = p->cur - sub + add;
	if (p->cur > p->peak)
		p->peak = p->cur;
}

static void *
m_malloc(void *ctx, size_t n)
{
	struct mhdr *h = n < SIZE_MAX - sizeof *h ? malloc(sizeof *h + n) : NULL;

	if (h == NULL)
		return NULL;
	h->n = n;
	count(ctx, sizeof *h + n, 0);
	return &h->align;
}

static void *
m_realloc(void *ctx, void *ptr, size_t n)
{
	struct mhdr *h, *old;
	size_t was;

	if (ptr == NULL)
		return m_malloc(ctx, n);
	old = (struct mhdr *)(void *)((char *)ptr - offsetof(struct mhdr, align));
	was = old->n;
	h = n < SIZE_MAX - sizeof *h ? realloc(old, sizeof *h + n) : NULL;
	if (h == NULL)
		return NULL;
	h->n = n;
	count(ctx, sizeof *h + n, sizeof *h + was);
	return &h->align;
}

static void
m_free(void *ctx, void *ptr)
{
	struct mhdr *h;

	if (ptr == NULL)
		return;
	h = (struct mhdr *)(void *)((char *)ptr - offsetof(struct mhdr, align));
	count(ctx, 0, sizeof *h + h->n);
	free(h);
}

static int
push(struct parse *p, uint32_t w)
{
	if (p->n == p->cap) {	/* cannot happen (see above): refuse, never overflow */
		p->fail = "more values than the document's length allows";
		return 0;
	}
	TAPE(p)[p->n++].w = w;
	return 1;
}

/* The entry for a text at offset off of the text area, about to be tape[n]. */
static int
push_text(struct parse *p, enum json_type t, size_t off)
{
	size_t back = p->tape + (size_t)p->n * 4 - (p->text + off);

	return push(p, (uint32_t)(back << 3) | t);
}

/* Whether s points into the document; *off its offset there. */
static int
at(const struct parse *p, const char *s, size_t *off)
{
	uintptr_t a = (uintptr_t)s, d = (uintptr_t)p->data;

	*off = (size_t)(a - d);
	return a >= d && a - d <= p->len;
}

static int cb_null(void *c) { return push(c, JSON_NULL); }
static int cb_bool(void *c, int b) { return push(c, b ? JSON_TRUE : JSON_FALSE); }

/* An integer: optional '-', digits, and in long long range. */
static int
is_integer(const char *s, size_t n)
{
	size_t i = n > 0 && s[0] == '-', digits = n - i;
	long long v;
	char *end;

	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	if (digits <= 18)
		return digits > 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	(void)v;
	return errno == 0 && end == s + n;
}

static int
cb_number(void *c, const char *s, size_t n)
{
	struct parse *p = c;
	size_t off;
	char *t;

	/* A number ending the input comes from yajl's lexer buffer: it is the
	 * document's last n bytes. */
	if (at(p, s, &off) && n <= p->len - off)
		;
	else if (n <= p->len)
		off = p->len - n;
	else {
		p->fail = "number outside the document";
		return 0;
	}
	t = TEXT(p) + off;
	memcpy(t, s, n);
	t[n] = '\0';
	return push_text(p, is_integer(t, n) ? JSON_INTEGER : JSON_NUMBER, off);
}

static int
hexval4(const char *s, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (c | 0x20) - 'a' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* The \u escapes of raw string text (between the quotes) pair surrogates:
 * a high one followed by an escaped low one, never one alone. yajl turns a
 * lone high surrogate into '?' and a high one followed by another escape
 * into some other character, so this is checked on the raw text. */
static int
escapes_valid(const char *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned cp, lo;
		if (r[i] != '\\')
			continue;
		if (i + 1 >= n)
			return 0;
		if (r[i + 1] != 'u') {
			i++;
			continue;
		}
		if (i + 6 > n || hexval4(r + i + 2, &cp) < 0)
			return 0;
		i += 5;
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return 0;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (i + 7 > n || r[i + 1] != '\\' || r[i + 2] != 'u' ||
			    hexval4(r + i + 3, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
				return 0;
			i += 6;
		}
	}
	return 1;
}

/* A string or key: validated, then copied to its place in the text. */
static int
text_string(struct parse *p, const unsigned char *us, size_t n)
{
	const char *s = (const char *)us, *d = p->data;
	size_t off, q;

	if (at(p, s, &off) && n < p->len - off) {
		;	/* no escapes: yajl points into the document */
	} else {
		/* decoded in yajl's buffer: the raw string ends just before the
		 * offset yajl has consumed, and starts at the first quote before
		 * it that no backslash escapes */
		size_t start, c = yajl_get_bytes_consumed(p->h);
		if (c < 2 || c > p->len || d[c - 1] != '"' || n > c - 2) {
			p->fail = "string outside the document";
			return 0;
		}
		q = c - 1;
		for (start = q; start > 0; ) {
			size_t bs = 0;
			start--;
			if (d[start] != '"')
				continue;
			while (bs < start && d[start - 1 - bs] == '\\')
				bs++;
			if (bs % 2 == 0)
				break;
		}
		if (d[start] != '"' || q - start - 1 < n ||
		    !escapes_valid(d + start + 1, q - start - 1)) {
			p->fail = "invalid UTF-8 in a string (an unpaired surrogate escape)";
			return 0;
		}
		off = q - n;
	}
	if (!utf8_valid(s, n)) {
		p->fail = "invalid UTF-8 in a string";
		return 0;
	}
	memcpy(TEXT(p) + off, s, n);
	TEXT(p)[off + n] = '\0';
	return push_text(p, JSON_STRING, off);
}

static int cb_string(void *c, const unsigned char *s, size_t n) { return text_string(c, s, n); }

static int
cb_open(struct parse *p, enum json_type t)
{
	if (p->depth == p->max_depth) {
		p->too_deep = 1;
		return 0;
	}
	p->open[p->depth++] = p->n;
	return push(p, t);
}

static int
cb_close(void *c)
{
	struct parse *p = c;
	uint32_t i;

	if (p->depth == 0)
		return 0;
	i = p->open[--p->depth];
	TAPE(p)[i].w |= (p->n - i) << 3;
	return 1;
}

static int cb_start_map(void *c) { return cb_open(c, JSON_OBJECT); }
static int cb_start_array(void *c) { return cb_open(c, JSON_ARRAY); }

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_bool,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_string,
	.yajl_end_map = cb_close,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_close,
};

json_val
json_parse(const char *data, size_t len, size_t max_depth, size_t max_len,
    char *err, size_t errlen)
{
	yajl_alloc_funcs af = { m_malloc, m_realloc, m_free, NULL };
	struct parse p;
	yajl_status st;
	struct json_node *root = NULL;
	size_t textlen, size;

	if (len > max_len || len > JSON_MAX_LEN) {
		lb_snprintf(err, errlen, "document too large");
		return NULL;
	}
	if (memchr(data, '\0', len) != NULL) {
		lb_snprintf(err, errlen, "NUL byte in document");
		return NULL;
	}
	if (max_depth > 100000)
		max_depth = 100000;
	memset(&p, 0, sizeof p);
	af.ctx = &p;
	p.data = data;
	p.len = len;
	p.max_depth = max_depth;
	/* the worst case, reserved: pages never written are never resident */
	textlen = (len + 2 + 3) & ~(size_t)3;
	p.text = sizeof(struct doc);
	p.tape = p.text + textlen;
	p.cap = (uint32_t)((len + max_depth) / 2 + 4 + 1);	/* + tape[0] */
	size = p.tape + (size_t)p.cap * 4;
	if (size - p.text >= PAYLOAD_MAX) {	/* cannot be: JSON_MAX_LEN */
		lb_snprintf(err, errlen, "document too large");
		return NULL;
	}
	p.blk = malloc(size);
	p.open = m_malloc(&p, (max_depth + 1) * sizeof *p.open);
	count(&p, size, 0);
	p.h = p.blk && p.open ? yajl_alloc(&callbacks, &af, &p) : NULL;
	if (p.h == NULL) {
		lb_snprintf(err, errlen, "out of memory");
		goto out;
	}
	TAPE(&p)[p.n++].w = (uint32_t)p.tape;	/* tape[0]: back to the block */
	st = yajl_parse(p.h, (const unsigned char *)data, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(p.h);
	if (p.too_deep)
		lb_snprintf(err, errlen, "nesting deeper than %zu", max_depth);
	else if (p.fail)
		lb_snprintf(err, errlen, "invalid JSON: %s", p.fail);
	else if (st != yajl_status_ok || p.n < 2 || p.depth != 0) {
		unsigned char *m = yajl_get_error(p.h, 0, (const unsigned char *)data, len);
		char *nl = m ? strchr((char *)m, '\n') : NULL;
		if (nl)
			*nl = '\0';
		lb_snprintf(err, errlen, "invalid JSON: %s", m && *m ? (char *)m : "parse error");
		if (m)
			yajl_free_error(p.h, m);
	} else {
		/* keep what the document used (shrinking: in place, or moved whole) */
		size_t used = p.tape + (size_t)p.n * 4;
		char *b = realloc(p.blk, used);
		if (b != NULL)
			p.blk = b;
		((struct doc *)(void *)p.blk)->peak = p.peak;
		root = TAPE(&p) + 1;
		p.blk = NULL;
	}
out:
	if (p.h)
		yajl_free(p.h);
	m_free(&p, p.open);
	free(p.blk);
	return root;
}

void
json_free(json_val root)
{
	if (root)
		free((char *)(root - 1) - root[-1].w);
}

size_t
json_peak_bytes(json_val root)
{
	return root ? ((const struct doc *)(const void *)((const char *)(root - 1) - root[-1].w))->peak : 0;
}

/* Entries of v's subtree: 1 for a scalar. */
static inline uint32_t
span(json_val v)
{
	return (v->w & 6) == 6 ? v->w >> 3 : 1;
}

static inline const char *
text_of(json_val v)
{
	return (const char *)v - (v->w >> 3);
}

const char *
json_string(json_val v)
{
	return json_is_string(v) ? text_of(v) : NULL;
}

const char *
json_number(json_val v)
{
	return json_is_number(v) ? text_of(v) : NULL;
}

long long
json_integer(json_val v)
{
	const char *s;
	unsigned long long u = 0;
	int neg;

	if (!json_is_integer(v))
		return 0;
	s = text_of(v);
	neg = *s == '-';
	for (s += neg; *s; s++)
		u = u * 10 + (unsigned)(*s - '0');
	return neg ? (u == 0 ? 0 : -(long long)(u - 1) - 1) : (long long)u;
}

json_val
json_first(json_val c)
{
	if (!json_is_object(c) && !json_is_array(c))
		return NULL;
	if (span(c) == 1)
		return NULL;
	return json_is_object(c) ? c + 2 : c + 1;
}

json_val
json_next(json_val c, json_val v)
{
	json_val next;

	if (v == NULL || (!json_is_object(c) && !json_is_array(c)))
		return NULL;
	next = v + span(v);
	if (next >= c + span(c))
		return NULL;
	return json_is_object(c) ? next + 1 : next;
}

const char *
json_key(json_val o, json_val member)
{
	if (!json_is_object(o) || member == NULL || member <= o + 1 || member >= o + span(o))
		return NULL;
	return json_string(member - 1);
}

size_t
json_len(json_val c)
{
	size_t n = 0;

	JSON_EACH(v, c)
		n++;
	return n;
}

/* The value of the first member named k, or NULL. */
static json_val
member(json_val o, const char *k)
{
	json_val end = o + span(o);

	for (json_val key = o + 1; key < end; ) {
		json_val v = key + 1;
		const char *t = text_of(key);
		if (t[0] == k[0] && strcmp(t, k) == 0)
			return v;
		key = v + span(v);
	}
	return NULL;
}

json_val
json_get(json_val v, ...)
{
	va_list ap;
	const char *k;

	va_start(ap, v);
	while (v && (k = va_arg(ap, const char *)) != NULL)
		v = json_is_object(v) ? member(v, k) : NULL;
	va_end(ap);
	return v;
}

const char *
json_str(json_val v, const char *key)
{
	return json_string(json_get(v, key, NULL));
}

long long
json_ll(json_val v, const char *key, long long def)
{
	json_val n = json_get(v, key, NULL);

	return json_is_integer(n) ? json_integer(n) : def;
}

int
json_bool(json_val v, const char *key, int def)
{
	json_val b = json_get(v, key, NULL);

	if (json_is_true(b))
		return 1;
	if (json_is_false(b))
		return 0;
	return def;
}
