/*
 * json — every JSON document in and out goes through here (yajl).
 *
 * Writing (struct jw): a thin layer over yajl_gen that validates UTF-8 and
 * never beautifies. Calls after an error are ignored; jw_finish() reports
 * whether the whole document was generated. jw_kv_* write "key": value.
 *
 * Reading: json_parse() parses a whole document (strict JSON: no comments)
 * with yajl's event parser into a yajl_val tree (the yajl_tree layout, so
 * the YAJL_IS_* / YAJL_GET_* macros apply) held in one arena. It rejects
 * input longer than max_len, NUL bytes, and nesting deeper than max_depth
 * (the parse stops there), and returns NULL with a short reason in err for
 * malformed input, invalid UTF-8 included. The tree is read-only and freed
 * whole with json_free(root); never free or keep a subtree alone.
 * json_get() walks object keys (NULL-terminated list); the typed getters
 * return the value when the path exists with that type, else the default
 * (json_str: NULL; json_ll: def; json_bool: def).
 */
#ifndef LB_JSON_H
#define LB_JSON_H

#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

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
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
void jw_kv_str(struct jw *w, const char *k, const char *v);
void jw_kv_int(struct jw *w, const char *k, long long v);
void jw_kv_bool(struct jw *w, const char *k, int v);
void jw_kv_null(struct jw *w, const char *k);

yajl_val    json_parse(const char *data, size_t len, size_t max_depth, size_t max_len,
    char *err, size_t errlen);
void        json_free(yajl_val v);
yajl_val    json_get(yajl_val v, ...);	/* keys..., NULL */
const char *json_str(yajl_val v, const char *key);
long long   json_ll(yajl_val v, const char *key, long long def);
int         json_bool(yajl_val v, const char *key, int def);

#endif
