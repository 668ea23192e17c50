/*
 * json — every JSON document in and out goes through here (yajl).
 *
 * Writing (struct jw): a thin layer over yajl_gen that validates UTF-8 and
 * never beautifies. Calls after an error are ignored; jw_finish() reports
 * whether the whole document was generated. jw_kv_* write "key": value.
 *
 * Reading: json_parse() parses a whole document with yajl's event parser
 * (strict JSON: no comments, one value) into a compact read-only tree and
 * returns its root, or NULL with a short reason in err when the input is
 * longer than max_len (or JSON_MAX_LEN), holds a NUL byte, nests deeper than
 * max_depth (the parse stops there), is malformed, or has a string - key or
 * value - that is not strict UTF-8 (lib/utf8: what MariaDB's utf8mb4
 * refuses: overlongs, surrogates, > U+10FFFF, cut or stray bytes), escapes
 * included: \uD800-\uDBFF must be followed by an escaped \uDC00-\uDFFF, a
 * low surrogate alone is refused. (\u0000 is kept as a NUL byte: C readers
 * see the string end there.) Every string in the tree is valid UTF-8.
 *
 * Values are handles (json_val; NULL means "no such value"), valid until
 * json_free(root) frees the whole document; never free any other value.
 * The json_is_* predicates take NULL (false). json_get() walks object keys
 * (NULL-terminated list; the first member of a key wins); the member getters
 * json_str/json_ll/json_bool return the value when the path exists with that
 * type, else the default (json_str: NULL). Arrays and objects are walked with
 * json_first()/json_next() (or JSON_EACH): elements, or member values, in
 * document order; json_key() names a member; json_len() counts (it walks).
 *
 * Memory, the bound (len: the document's length, E: the longest string
 * with escapes, decoded). A parse reserves one block for the worst case of
 * its length: the strings and number texts, decoded in place, each at its
 * offset in the document (len + 2 bytes), and a tape of 4 bytes per value
 * and per key, at most (len + max_depth) / 2 + 4 of them; it shrinks the
 * block to what the document used when done. Besides: the nesting stack (4
 * bytes per level of max_depth) and yajl's state, a few KB plus its decode
 * buffer for strings with escapes (up to 2 * E allocated, E written).
 *  - written (what can become resident): at most 3 * len + 8 * max_depth +
 *    16 KiB, whatever the input (a value costs 2 bytes of text at least, a
 *    string with escapes as many as it decodes to);
 *  - allocated at the peak: at most 3 * len + 2 * E + 8 * max_depth + 16 KiB
 *    (<= 5 * len + ...); json_peak_bytes(root) is this figure for the
 *    document's parse (each allocation at its size plus 16 bytes, a realloc
 *    at its new size);
 *  - kept until json_free(): len + 2 + 4 per value and key, about 1.2 * len
 *    for GitHub's webhook payloads (one value per ~24 bytes).
 */
#ifndef LB_JSON_H
#define LB_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

struct jw {
	yajl_gen g;
	int      failed;
};

int  jw_init(struct jw *w);
void jw_free(struct jw *w);
/* 0 and the document (owned by w, valid until jw_free) when all went well. */
int  jw_finish(struct jw *w, const char **out, size_t *len);

void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s);	/* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, long long v);
void jw_null(struct jw *w);
void jw_kv_str(struct jw *w, const char *k, const char *v);
void jw_kv_int(struct jw *w, const char *k, long long v);
void jw_kv_bool(struct jw *w, const char *k, int v);
void jw_kv_null(struct jw *w, const char *k);

/* A value of a parsed document. The layout is private to json.c; the
 * inline accessors below only read its type bits. */
struct json_node {
	uint32_t w;
};
typedef const struct json_node *json_val;

enum json_type {
	JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_STRING,
	JSON_INTEGER,	/* a number that is an integer in long long range */
	JSON_NUMBER,	/* any other number (fraction, exponent, too large) */
	JSON_OBJECT, JSON_ARRAY
};

#define JSON_MAX_LEN ((size_t)128 * 1024 * 1024)

json_val    json_parse(const char *data, size_t len, size_t max_depth, size_t max_len,
    char *err, size_t errlen);
void        json_free(json_val root);
size_t      json_peak_bytes(json_val root);

static inline int
json_is(json_val v, enum json_type t)
{
	return v != NULL && (enum json_type)(v->w & 7) == t;
}
static inline int json_is_null(json_val v) { return json_is(v, JSON_NULL); }
static inline int json_is_true(json_val v) { return json_is(v, JSON_TRUE); }
static inline int json_is_false(json_val v) { return json_is(v, JSON_FALSE); }
static inline int json_is_string(json_val v) { return json_is(v, JSON_STRING); }
static inline int json_is_integer(json_val v) { return json_is(v, JSON_INTEGER); }
static inline int json_is_number(json_val v) { return json_is(v, JSON_INTEGER) || json_is(v, JSON_NUMBER); }
static inline int json_is_object(json_val v) { return json_is(v, JSON_OBJECT); }
static inline int json_is_array(json_val v) { return json_is(v, JSON_ARRAY); }

const char *json_string(json_val v);	/* NULL unless a string */
long long   json_integer(json_val v);	/* 0 unless an integer */
const char *json_number(json_val v);	/* the number's text, NULL unless a number */

json_val    json_first(json_val container);
json_val    json_next(json_val container, json_val v);
#define JSON_EACH(v, container) \
	for (json_val v = json_first(container); v != NULL; v = json_next(container, v))
/* The key of member, a value json_first()/json_next() gave for object. */
const char *json_key(json_val object, json_val member);
size_t      json_len(json_val container);	/* 0 unless an array or object */

json_val    json_get(json_val v, ...);	/* keys..., NULL */
const char *json_str(json_val v, const char *key);
long long   json_ll(json_val v, const char *key, long long def);
int         json_bool(json_val v, const char *key, int def);

#endif
