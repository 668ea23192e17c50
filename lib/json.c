#include "json.h"
#include "buf.h"

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
void jw_double(struct jw *w, double v) { CHECK(yajl_gen_double(w->g, v)); }
void jw_bool(struct jw *w, int v) { CHECK(yajl_gen_bool(w->g, v)); }
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
 * build the same yajl_val tree yajl_tree_parse() would, with two changes:
 * every node, string and array of the document lives in one arena (a few
 * large blocks instead of a malloc per value: a 25 KB webhook payload is
 * ~1,500 values), and the nesting limit is enforced while parsing.
 * The document's root is the first thing in its arena: json_free() finds
 * the blocks from it.
 */
struct block {
	struct block *next;
	size_t        cap, used;
	max_align_t   data[];
};

struct doc {
	struct block     *blocks;
	struct yajl_val_s root;
};

struct member {
	const char *key;	/* NULL inside arrays */
	yajl_val    val;
};

struct parse {
	struct block  *blocks;
	struct member *pend;	/* members of the open containers, innermost last */
	size_t         npend, cappend;
	size_t        *open;	/* per open container: its first index in pend */
	yajl_val      *node;	/* per open container: its node */
	size_t         depth, max_depth;
	const char    *key;	/* the key just read, for the next value */
	struct doc    *doc;
	int            started, oom, too_deep;
};

static void *
arena(struct parse *p, size_t n)
{
	struct block *b = p->blocks;
	void *out;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = b ? b->cap * 2 : 0;
		if (cap < n)
			cap = n;
		if (cap > SIZE_MAX - sizeof *b || (b = malloc(sizeof *b + cap)) == NULL) {
			p->oom = 1;
			return NULL;
		}
		b->next = p->blocks;
		b->cap = cap;
		b->used = 0;
		p->blocks = b;
	}
	out = (char *)b->data + b->used;
	b->used += n;
	return out;
}

static char *
arena_str(struct parse *p, const unsigned char *s, size_t n)
{
	char *c = n < SIZE_MAX ? arena(p, n + 1) : NULL;

	if (c) {
		memcpy(c, s, n);
		c[n] = '\0';
	}
	return c;
}

/* A new value of type t, attached to the open container (or the root). */
static yajl_val
value(struct parse *p, yajl_type t)
{
	yajl_val v;

	if (!p->started) {
		p->started = 1;
		v = &p->doc->root;
	} else {
		if (p->depth == 0 || (v = arena(p, sizeof *v)) == NULL)
			return NULL;
		if (p->npend == p->cappend) {
			size_t cap = p->cappend ? p->cappend * 2 : 64;
			struct member *m = realloc(p->pend, cap * sizeof *m);
			if (m == NULL) {
				p->oom = 1;
				return NULL;
			}
			p->pend = m;
			p->cappend = cap;
		}
		p->pend[p->npend].key = p->key;
		p->pend[p->npend].val = v;
		p->npend++;
		p->key = NULL;
	}
	memset(v, 0, sizeof *v);
	v->type = t;
	return v;
}

static int cb_null(void *c) { return value(c, yajl_t_null) != NULL; }

static int
cb_bool(void *c, int b)
{
	return value(c, b ? yajl_t_true : yajl_t_false) != NULL;
}

/* As yajl_tree: the text, the integer when it is one that fits in a long
 * long, the double when strtod gives one in range. */
static int
cb_number(void *c, const char *s, size_t n)
{
	struct parse *p = c;
	yajl_val v = value(p, yajl_t_number);
	char *end;
	size_t i = 0;

	if (v == NULL || (v->u.number.r = arena_str(p, (const unsigned char *)s, n)) == NULL)
		return 0;
	if (n > 0 && s[0] == '-')
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == n) {
		errno = 0;
		v->u.number.i = strtoll(v->u.number.r, &end, 10);
		if (errno == 0 && *end == '\0')
			v->u.number.flags |= YAJL_NUMBER_INT_VALID;
	}
	errno = 0;
	v->u.number.d = strtod(v->u.number.r, &end);
	if (errno == 0 && *end == '\0')
		v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
	return 1;
}

static int
cb_string(void *c, const unsigned char *s, size_t n)
{
	struct parse *p = c;
	yajl_val v = value(p, yajl_t_string);

	return v != NULL && (v->u.string = arena_str(p, s, n)) != NULL;
}

static int
cb_key(void *c, const unsigned char *s, size_t n)
{
	struct parse *p = c;

	return (p->key = arena_str(p, s, n)) != NULL;
}

static int
cb_open(struct parse *p, yajl_type t)
{
	yajl_val v;

	if (p->depth == p->max_depth) {
		p->too_deep = 1;
		return 0;
	}
	if ((v = value(p, t)) == NULL)
		return 0;
	p->open[p->depth] = p->npend;
	p->node[p->depth] = v;
	p->depth++;
	return 1;
}

static int
cb_close(struct parse *p)
{
	yajl_val v;
	size_t first, n;
	yajl_val *vals;

	if (p->depth == 0)
		return 0;
	p->depth--;
	v = p->node[p->depth];
	first = p->open[p->depth];
	n = p->npend - first;
	vals = n ? arena(p, n * sizeof *vals) : NULL;
	if (n && vals == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		vals[i] = p->pend[first + i].val;
	if (v->type == yajl_t_object) {
		const char **keys = n ? arena(p, n * sizeof *keys) : NULL;
		if (n && keys == NULL)
			return 0;
		for (size_t i = 0; i < n; i++)
			keys[i] = p->pend[first + i].key;
		v->u.object.keys = keys;
		v->u.object.values = vals;
		v->u.object.len = n;
	} else {
		v->u.array.values = vals;
		v->u.array.len = n;
	}
	p->npend = first;
	return 1;
}

static int cb_start_map(void *c) { return cb_open(c, yajl_t_object); }
static int cb_start_array(void *c) { return cb_open(c, yajl_t_array); }
static int cb_end(void *c) { return cb_close(c); }

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_bool,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_key,
	.yajl_end_map = cb_end,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end,
};

static void
blocks_free(struct block *b)
{
	while (b) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
}

yajl_val
json_parse(const char *data, size_t len, size_t max_depth, size_t max_len,
    char *err, size_t errlen)
{
	struct parse p;
	yajl_handle h;
	yajl_status st;
	yajl_val root = NULL;

	if (len > max_len) {
		lb_snprintf(err, errlen, "document too large");
		return NULL;
	}
	if (memchr(data, '\0', len) != NULL) {
		lb_snprintf(err, errlen, "NUL byte in document");
		return NULL;
	}
	memset(&p, 0, sizeof p);
	p.max_depth = max_depth;
	/* the first block holds the whole tree of most documents */
	if (arena(&p, sizeof(struct doc) + len + len / 2 + 1024) == NULL) {
		lb_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p.blocks->used = 0;
	p.doc = arena(&p, sizeof *p.doc);
	p.open = calloc(max_depth + 1, sizeof *p.open);
	p.node = calloc(max_depth + 1, sizeof *p.node);
	h = p.open && p.node ? yajl_alloc(&callbacks, NULL, &p) : NULL;
	if (h == NULL) {
		lb_snprintf(err, errlen, "out of memory");
		goto out;
	}
	st = yajl_parse(h, (const unsigned char *)data, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (p.too_deep)
		lb_snprintf(err, errlen, "nesting deeper than %zu", max_depth);
	else if (p.oom)
		lb_snprintf(err, errlen, "out of memory");
	else if (st != yajl_status_ok || !p.started || p.depth != 0) {
		unsigned char *m = yajl_get_error(h, 0, (const unsigned char *)data, len);
		char *nl = m ? strchr((char *)m, '\n') : NULL;
		if (nl)
			*nl = '\0';
		lb_snprintf(err, errlen, "invalid JSON: %s", m && *m ? (char *)m : "parse error");
		if (m)
			yajl_free_error(h, m);
	} else {
		p.doc->blocks = p.blocks;
		p.blocks = NULL;
		root = &p.doc->root;
	}
	yajl_free(h);
out:
	blocks_free(p.blocks);
	free(p.pend);
	free(p.open);
	free(p.node);
	return root;
}

void
json_free(yajl_val v)
{
	if (v)
		blocks_free(((struct doc *)(void *)((char *)v - offsetof(struct doc, root)))->blocks);
}

yajl_val
json_get(yajl_val v, ...)
{
	va_list ap;
	const char *k;

	va_start(ap, v);
	while (v && (k = va_arg(ap, const char *)) != NULL) {
		yajl_val next = NULL;
		if (!YAJL_IS_OBJECT(v)) {
			v = NULL;
			break;
		}
		for (size_t i = 0; i < v->u.object.len; i++)
			if (strcmp(v->u.object.keys[i], k) == 0) {
				next = v->u.object.values[i];
				break;
			}
		v = next;
	}
	va_end(ap);
	return v;
}

const char *
json_str(yajl_val v, const char *key)
{
	yajl_val s = json_get(v, key, NULL);

	return YAJL_IS_STRING(s) ? s->u.string : NULL;
}

long long
json_ll(yajl_val v, const char *key, long long def)
{
	yajl_val n = json_get(v, key, NULL);

	return YAJL_IS_INTEGER(n) ? YAJL_GET_INTEGER(n) : def;
}

int
json_bool(yajl_val v, const char *key, int def)
{
	yajl_val b = json_get(v, key, NULL);

	if (YAJL_IS_TRUE(b))
		return 1;
	if (YAJL_IS_FALSE(b))
		return 0;
	return def;
}
