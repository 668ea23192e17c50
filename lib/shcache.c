#include "shcache.h"
#include "buf.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * The region: a header (lock, condition, ring position), SHCACHE_SLOTS
 * slots, then the body space, used as a ring: a new body goes at `head`
 * (back to 0 when it does not fit before the end), and every entry whose
 * body lay where it goes is forgotten. So the oldest bodies give way and
 * nothing needs freeing.
 */
enum { FREE = 0, BUSY, READY };

struct slot {
	int      state;
	pid_t    owner;		/* BUSY: the process computing it */
	uint64_t used;		/* last touched (tick): the least recent READY goes */
	time_t   at;
	size_t   off, len;	/* READY: the body in the ring, */
	size_t   alt_len;	/* followed by its second form */
	int      status;
	char     key[SHCACHE_KEY_MAX];
	char     ver[SHCACHE_VER_MAX];
	char     ctype[SHCACHE_CTYPE_MAX];
	char     etag[SHCACHE_ETAG_MAX];
};

struct shcache {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	size_t   bytes;		/* the whole mapping */
	size_t   space;		/* body space */
	size_t   head;		/* where the next body goes */
	uint64_t tick;
	struct slot slots[SHCACHE_SLOTS];
};

static unsigned char *
space_of(struct shcache *c)
{
	return (unsigned char *)c + sizeof *c;
}

struct shcache *
shcache_open(size_t bytes)
{
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	struct shcache *c;

	if (bytes < sizeof *c + ((size_t)1 << 20)) {
		errno = EINVAL;
		return NULL;
	}
	c = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
	    -1, 0);
	if (c == MAP_FAILED)
		return NULL;
	/* the mapping is zeroed: every slot FREE */
	c->bytes = bytes;
	c->space = bytes - sizeof *c;
	if (pthread_mutexattr_init(&ma) != 0 || pthread_condattr_init(&ca) != 0 ||
	    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_mutex_init(&c->mu, &ma) != 0 || pthread_cond_init(&c->cv, &ca) != 0) {
		munmap(c, bytes);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutexattr_destroy(&ma);
	pthread_condattr_destroy(&ca);
	return c;
}

void
shcache_close(struct shcache *c)
{
	if (c)
		munmap(c, c->bytes);
}

/* The lock; a holder that died left the table in any state: it is emptied. */
static void
lock(struct shcache *c)
{
	if (pthread_mutex_lock(&c->mu) == EOWNERDEAD) {
		memset(c->slots, 0, sizeof c->slots);
		c->head = 0;
		pthread_mutex_consistent(&c->mu);
		pthread_cond_broadcast(&c->cv);
	}
}

static int
alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

static struct slot *
find(struct shcache *c, const char *key)
{
	for (size_t i = 0; i < SHCACHE_SLOTS; i++)
		if (c->slots[i].state != FREE && strcmp(c->slots[i].key, key) == 0)
			return &c->slots[i];
	return NULL;
}

/* A slot for a new key: a free one, else the least recently used READY
 * one; NULL when every slot is being computed. */
static struct slot *
victim(struct shcache *c)
{
	struct slot *v = NULL;

	for (size_t i = 0; i < SHCACHE_SLOTS; i++) {
		struct slot *s = &c->slots[i];
		if (s->state == BUSY && !alive(s->owner))
			s->state = FREE;
		if (s->state == FREE)
			return s;
		if (s->state == READY && (v == NULL || s->used < v->used))
			v = s;
	}
	return v;
}

static void
claim(struct shcache *c, struct slot *s, const char *key)
{
	s->state = BUSY;
	s->owner = getpid();
	s->used = ++c->tick;
	lb_strlcpy(s->key, key, sizeof s->key);
}

static int
copy_out(struct shcache *c, struct slot *s, struct shcache_entry *e)
{
	char *body = malloc(s->len + s->alt_len ? s->len + s->alt_len : 1);

	if (body == NULL)
		return -1;
	memcpy(body, space_of(c) + s->off, s->len + s->alt_len);
	e->status = s->status;
	memcpy(e->ctype, s->ctype, sizeof e->ctype);
	memcpy(e->etag, s->etag, sizeof e->etag);
	e->body = body;
	e->len = s->len;
	e->alt = s->alt_len ? body + s->len : NULL;
	e->alt_len = s->alt_len;
	e->at = s->at;
	s->used = ++c->tick;
	return 0;
}

static void
deadline_of(struct timespec *t, int wait_ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += wait_ms / 1000;
	t->tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* Waits for a wake-up, at most 100 ms (a dying owner wakes nobody), never
 * past the deadline: 1 when the deadline has passed. */
static int
wait_step(struct shcache *c, const struct timespec *deadline)
{
	struct timespec now, t;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > deadline->tv_sec ||
	    (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec))
		return 1;
	deadline_of(&t, 100);
	if (t.tv_sec > deadline->tv_sec ||
	    (t.tv_sec == deadline->tv_sec && t.tv_nsec > deadline->tv_nsec))
		t = *deadline;
	if (pthread_cond_timedwait(&c->cv, &c->mu, &t) == EOWNERDEAD) {
		memset(c->slots, 0, sizeof c->slots);
		c->head = 0;
		pthread_mutex_consistent(&c->mu);
	}
	return 0;
}

int
shcache_get(struct shcache *c, const char *key, const char *ver, int ttl, int wait_ms,
    struct shcache_entry *e)
{
	struct timespec deadline;
	int rc = SHCACHE_MISS;

	if (c == NULL || strlen(key) >= SHCACHE_KEY_MAX || strlen(ver) >= SHCACHE_VER_MAX)
		return SHCACHE_MISS;
	deadline_of(&deadline, wait_ms);
	lock(c);
	for (;;) {
		struct slot *s = find(c, key);
		time_t now = time(NULL);

		if (s && s->state == READY && strcmp(s->ver, ver) == 0 && now >= s->at &&
		    now - s->at < ttl) {
			rc = copy_out(c, s, e) == 0 ? SHCACHE_HIT : SHCACHE_MISS;
			break;
		}
		if (s && s->state == BUSY && s->owner != getpid() && alive(s->owner)) {
			if (wait_step(c, &deadline))
				break;	/* waited long enough: MISS */
			continue;
		}
		/* not there for this version (or its computer died): ours */
		if (s == NULL && (s = victim(c)) == NULL)
			break;
		claim(c, s, key);
		rc = SHCACHE_MINE;
		break;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* Forgets every READY entry whose body overlaps [off, off + len). */
static void
overwrite(struct shcache *c, size_t off, size_t len)
{
	for (size_t i = 0; i < SHCACHE_SLOTS; i++) {
		struct slot *s = &c->slots[i];
		if (s->state == READY && s->off < off + len && off < s->off + s->len + s->alt_len)
			s->state = FREE;
	}
}

int
shcache_put(struct shcache *c, const char *key, const char *ver,
    const struct shcache_entry *e)
{
	struct slot *s;
	size_t total;
	int rc = -1;

	if (c == NULL || strlen(key) >= SHCACHE_KEY_MAX || strlen(ver) >= SHCACHE_VER_MAX)
		return -1;
	total = e->len + (e->alt ? e->alt_len : 0);
	lock(c);
	s = find(c, key);
	if (total > c->space / 4) {
		if (s && s->state == BUSY && s->owner == getpid())
			s->state = FREE;
		goto out;
	}
	if (s == NULL && (s = victim(c)) == NULL)
		goto out;
	/* a READY entry of this key keeps its slot but not its body */
	s->state = BUSY;
	if (c->head + total > c->space)
		c->head = 0;
	overwrite(c, c->head, total);
	memcpy(space_of(c) + c->head, e->body, e->len);
	if (total > e->len)
		memcpy(space_of(c) + c->head + e->len, e->alt, total - e->len);
	s->off = c->head;
	s->len = e->len;
	s->alt_len = total - e->len;
	c->head += total;
	lb_strlcpy(s->key, key, sizeof s->key);
	lb_strlcpy(s->ver, ver, sizeof s->ver);
	s->status = e->status;
	lb_strlcpy(s->ctype, e->ctype, sizeof s->ctype);
	lb_strlcpy(s->etag, e->etag, sizeof s->etag);
	s->at = e->at;
	s->used = ++c->tick;
	s->state = READY;
	rc = 0;
out:
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void
shcache_drop(struct shcache *c, const char *key)
{
	struct slot *s;

	if (c == NULL || strlen(key) >= SHCACHE_KEY_MAX)
		return;
	lock(c);
	s = find(c, key);
	if (s && s->state == BUSY && s->owner == getpid()) {
		s->state = FREE;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}
