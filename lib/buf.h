/*
 * buf — a growable byte buffer with a hard upper bound.
 *
 * Contract:
 *  - A struct buf starts zeroed (BUF_INIT) and owns its memory; buf_free()
 *    releases it and leaves an empty buffer that may be reused.
 *  - data is always NUL-terminated (when non-NULL), so text can be used as a
 *    C string; len never counts that NUL.
 *  - Every append fails (returns -1, buffer unchanged) instead of growing past
 *    max (0 means BUF_DEFAULT_MAX) or when memory runs out. Callers check.
 */
#ifndef LB_BUF_H
#define LB_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_DEFAULT_MAX ((size_t)64 * 1024 * 1024)

struct buf {
	char   *data;
	size_t  len;
	size_t  cap;
	size_t  max;
};

#define BUF_INIT { NULL, 0, 0, 0 }

int  buf_append(struct buf *b, const void *p, size_t n);
int  buf_puts(struct buf *b, const char *s);
int  buf_putc(struct buf *b, char c);
int  buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Reserve room for n more bytes; returns -1 past max. */
int  buf_reserve(struct buf *b, size_t n);
/* The same, growing to exactly n more bytes (a size known in advance). */
int  buf_reserve_exact(struct buf *b, size_t n);
void buf_reset(struct buf *b);		/* len = 0, memory kept */
void buf_free(struct buf *b);
/* Hand the memory to the caller (never NULL: "" for an empty buffer, or
 * NULL only when out of memory); the buffer is empty afterwards. */
char *buf_detach(struct buf *b);

/* Bounded string helpers (no strcpy/sprintf in this code base). */
size_t lb_strlcpy(char *dst, const char *src, size_t size);
/* snprintf that reports truncation: 0 when it fit, -1 otherwise. */
int    lb_snprintf(char *dst, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* malloc'ed copy, or NULL when s is NULL or memory runs out. */
char  *lb_strdup(const char *s);
char  *lb_strndup(const char *s, size_t n);
/* Room for element n of the array *pp (void **, elements of elem bytes,
 * *cap of them): when n == *cap the capacity doubles (from first). 0, or
 * -1 when memory runs out (*pp and *cap unchanged). */
int    lb_grow(void *pp, size_t *cap, size_t n, size_t elem, size_t first);
/* The first index of ascending v[0..n) whose value is >= x (n when none). */
size_t lb_lower_bound(const unsigned long long *v, size_t n, unsigned long long x);
/* Parse a whole decimal integer in [min, max]; 0 on success, -1 otherwise. */
int    lb_parse_ll(const char *s, long long min, long long max, long long *out);

#endif
