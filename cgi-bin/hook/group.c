/*
 * Deliveries that arrive together, committed together (hook.h group_apply).
 *
 * A worker serves [hook] threads requests at once. Each thread checks and
 * parses its own delivery, then queues it here. One thread at a time
 * leads: it takes every delivery queued so far and applies them on the
 * worker's one database handle, pull_request snapshots as one transaction
 * (lib/ingest ingest_apply_batch), the rest one by one, while the next
 * deliveries queue behind it. Then it wakes the threads whose deliveries
 * it applied, and hands the lead to the first delivery queued meanwhile.
 * Under load, groups grow with the wait; a lone delivery goes alone (and,
 * when the worker was idle, rolls its PR into the statistics:
 * rollup_inline).
 */
#include "hook.h"
#include "conf.h"
#include "ingest.h"
#include "rollup.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct group_item *head, **tail = &head;
static int leading;
static struct timespec answered;	/* when the last group was applied */

/* Whether the worker had waited at least [hook] roll_when_idle_ms for
 * this delivery (under mu). */
static int
idle_enough(const struct conf *c)
{
	struct timespec now;
	double ms;

	if (c->roll_when_idle_ms <= 0)
		return 0;
	if (answered.tv_sec == 0 && answered.tv_nsec == 0)
		return 1;	/* the worker's first delivery */
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - answered.tv_sec) * 1e3 +
	    (double)(now.tv_nsec - answered.tv_nsec) / 1e6;
	return ms >= (double)c->roll_when_idle_ms;
}

/* One at a time, in the leading thread. */
static void
apply_one(struct db *db, const struct conf *c, struct group_item *g, int roll)
{
	rollup_inline(roll);
	ingest_apply_batch(db, c, &g->it, 1);
	rollup_inline(0);
}

/* The most body bytes one transaction's INSERT carries: far below
 * MariaDB's max_allowed_packet (16 MB by default), whatever the group. */
#define BATCH_BYTES (4u << 20)

/* Applies v[0..n) (PR snapshots) in transactions of at most BATCH_BYTES of
 * bodies each (a delivery larger than that goes alone). */
static void
apply_batches(struct db *db, const struct conf *c, struct ingest_item *v, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t k = i + 1, bytes = v[i].d->len;
		while (k < n && bytes + v[k].d->len <= BATCH_BYTES)
			bytes += v[k++].d->len;
		ingest_apply_batch(db, c, v + i, k - i);
		i = k;
	}
}

/*
 * The group in the order its deliveries arrived (received_at, taken before
 * the parse): threads queue as their parses end, and two deliveries of one
 * PR with the same updated_at (labeled, then unlabeled, in one second) must
 * be applied as they came, the later one last. Insertion sort: a group is
 * at most [hook] threads long.
 */
static struct group_item *
by_arrival(struct group_item *list)
{
	struct group_item *out = NULL, *next;

	for (; list; list = next) {
		struct group_item **p = &out;
		next = list->next;
		while (*p && strcmp((*p)->it.d->received_at, list->it.d->received_at) <= 0)
			p = &(*p)->next;
		list->next = *p;
		*p = list;
	}
	return out;
}

/* A group: its PR snapshots together (copied into one array), the rest
 * one by one. */
static void
apply_group(struct db *db, const struct conf *c, struct group_item *list, int idle)
{
	struct ingest_item *v;
	struct group_item *g;
	size_t n = 0, k = 0;

	if (list->next == NULL) {
		apply_one(db, c, list, idle);
		return;
	}
	for (g = list; g; g = g->next)
		n += g->batchable;
	v = n > 1 ? calloc(n, sizeof *v) : NULL;
	for (g = list; g; g = g->next) {
		if (v != NULL && g->batchable)
			v[k++] = g->it;
		else
			apply_one(db, c, g, 0);
	}
	if (v == NULL)
		return;
	apply_batches(db, c, v, n);
	k = 0;
	for (g = list; g; g = g->next)
		if (g->batchable)
			g->it = v[k++];
	free(v);
}

/*
 * Each thread waits on its own condition variable until its delivery is
 * applied or it is handed the lead; the leader wakes exactly the threads
 * of its group, and the first thread queued behind them as the next
 * leader, never every waiting thread.
 */
void
group_apply(struct db *db, const struct conf *c, struct group_item *g)
{
	struct group_item *list, *next;
	int idle;

	g->next = NULL;
	g->done = 0;
	g->lead = 0;
	pthread_cond_init(&g->cv, NULL);
	pthread_mutex_lock(&mu);
	*tail = g;
	tail = &g->next;
	if (!leading)
		leading = g->lead = 1;
	while (!g->done && !g->lead)
		pthread_cond_wait(&g->cv, &mu);
	if (g->done) {
		pthread_mutex_unlock(&mu);
		pthread_cond_destroy(&g->cv);
		return;
	}
	list = head;	/* g leads: every delivery queued so far, g among them */
	head = NULL;
	tail = &head;
	idle = idle_enough(c);
	pthread_mutex_unlock(&mu);
	list = by_arrival(list);
	apply_group(db, c, list, idle);
	pthread_mutex_lock(&mu);
	for (; list; list = next) {
		next = list->next;
		list->done = 1;
		if (list != g)
			pthread_cond_signal(&list->cv);
	}
	clock_gettime(CLOCK_MONOTONIC, &answered);
	if (head != NULL) {
		head->lead = 1;
		pthread_cond_signal(&head->cv);
	} else {
		leading = 0;
	}
	pthread_mutex_unlock(&mu);
	pthread_cond_destroy(&g->cv);
}
