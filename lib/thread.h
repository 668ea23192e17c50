/*
 * thread — starting a helper thread that never takes a signal.
 *
 * lb-syncd's SIGTERM / SIGHUP handlers set flags that its main thread
 * checks, and its sleeps end early on EINTR: a signal delivered to a helper
 * thread (the spooler, a walk's read-ahead or fold thread, a rebuild's
 * second chain) would be noticed only at the next check. So every helper
 * starts with all signals blocked and the process's signals stay with the
 * thread that started it.
 *
 * Contract:
 *  - lb_thread_start() is pthread_create() with default attributes and
 *    every signal blocked in the new thread; the caller's mask is left as
 *    it was. Returns 0, or pthread_create()'s error number (nothing
 *    started).
 */
#ifndef LB_THREAD_H
#define LB_THREAD_H

#include <pthread.h>

int lb_thread_start(pthread_t *tid, void *(*fn)(void *), void *arg);

#endif
