#include "json.h"
#include "buf.h"

#include <stdarg.h>
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

/* Maximum nesting of arrays/objects outside strings; SIZE_MAX on a stray
 * closing bracket (yajl reports the actual error). */
static size_t
nesting(const char *p, size_t len, size_t limit)
{
	size_t depth = 0, max = 0;
	int in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
			if (max > limit)
				return max;
		} else if ((c == '}' || c == ']') && depth)
			depth--;
	}
	return max;
}

yajl_val
json_parse(const char *data, size_t len, size_t max_depth, size_t max_len,
    char *err, size_t errlen)
{
	char ebuf[256];
	char *copy;
	yajl_val v;

	if (len > max_len) {
		lb_snprintf(err, errlen, "document too large");
		return NULL;
	}
	if (nesting(data, len, max_depth) > max_depth) {
		lb_snprintf(err, errlen, "nesting deeper than %zu", max_depth);
		return NULL;
	}
	if (memchr(data, '\0', len) != NULL) {
		lb_snprintf(err, errlen, "NUL byte in document");
		return NULL;
	}
	copy = lb_strndup(data, len);	/* yajl_tree_parse wants a C string */
	if (copy == NULL) {
		lb_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ebuf[0] = '\0';
	v = yajl_tree_parse(copy, ebuf, sizeof ebuf);
	free(copy);
	if (v == NULL) {
		char *nl = strchr(ebuf, '\n');
		if (nl)
			*nl = '\0';
		lb_snprintf(err, errlen, "invalid JSON: %s", ebuf[0] ? ebuf : "parse error");
	}
	return v;
}

void
json_free(yajl_val v)
{
	if (v)
		yajl_tree_free(v);
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
