/*
 * shcache — answers shared by the worker processes of one program on one
 * host, in a shared memory region mapped before the workers are forked.
 *
 * lb-api's workers are processes (lib/http): an answer one of them computes
 * for a data version is what every other needs next. Here it is kept once,
 * in memory they all map, and the first worker to miss a key computes it
 * while the others wait for it ("single flight").
 *
 * Contract:
 *  - shcache_open(bytes) maps a region of `bytes` (at least 1 MB: a table of
 *    SHCACHE_SLOTS entries, the rest for bodies) shared with every process
 *    forked afterwards. NULL with errno set when it cannot. Nothing is
 *    persistent: the region dies with the last process that maps it.
 *  - An entry is the answer of a key (a string of at most SHCACHE_KEY_MAX -
 *    1 bytes: route and parameters) at a version (at most SHCACHE_VER_MAX -
 *    1 bytes) and a time. A longer key or version is never kept (MISS).
 *    shcache_get() returns it only for the same version and while it is
 *    younger than `ttl` seconds.
 *  - shcache_get(): SHCACHE_HIT fills *e (e->body malloc'd: the caller frees
 *    it; e->alt, when the entry has one, points into the same block). SHCACHE_MINE: the key is not there for this version and the
 *    caller is now the one computing it; until it calls shcache_put() or
 *    shcache_drop(), other processes asking for the key wait for it (at
 *    most `wait_ms`; also ended at once when the computing process dies).
 *    SHCACHE_MISS: compute without a claim (waited `wait_ms` in vain, every
 *    slot is being computed, out of memory); shcache_put() still stores it.
 *  - shcache_put() stores an answer (overwriting the key's entry, ending a
 *    claim of the caller's) and wakes the waiters. Bodies larger than a
 *    quarter of the body space (both forms) are not kept (the claim still ends). When the
 *    space is full the oldest bodies give way. 0 stored, -1 not kept.
 *  - shcache_drop() ends the caller's claim of key without an answer (an
 *    error was sent instead): a waiter then computes it.
 *  - A process that dies while holding the region's lock (a robust mutex)
 *    leaves the table to be emptied by the next one: never a torn entry.
 *  - Bodies are copied in and out under the lock; nothing points into the
 *    region after a call returns. Thread-safe and process-safe.
 */
#ifndef LB_SHCACHE_H
#define LB_SHCACHE_H

#include <stddef.h>
#include <time.h>

#define SHCACHE_SLOTS    128
#define SHCACHE_KEY_MAX  1024
#define SHCACHE_VER_MAX  512
#define SHCACHE_CTYPE_MAX 100
#define SHCACHE_ETAG_MAX 48

struct shcache;

struct shcache_entry {
	int     status;
	char    ctype[SHCACHE_CTYPE_MAX];
	char    etag[SHCACHE_ETAG_MAX];
	char   *body;		/* shcache_get: malloc'd copy; shcache_put: read */
	size_t  len;
	char   *alt;		/* a second form of the answer (lb-api: gzip) or NULL;
				 * shcache_get: inside body's block, not freed alone */
	size_t  alt_len;
	time_t  at;		/* when it was computed */
};

enum { SHCACHE_MISS = 0, SHCACHE_HIT = 1, SHCACHE_MINE = 2 };

struct shcache *shcache_open(size_t bytes);
void shcache_close(struct shcache *c);
int  shcache_get(struct shcache *c, const char *key, const char *ver, int ttl, int wait_ms,
    struct shcache_entry *e);
int  shcache_put(struct shcache *c, const char *key, const char *ver,
    const struct shcache_entry *e);
void shcache_drop(struct shcache *c, const char *key);

#endif
