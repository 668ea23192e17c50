/*
 * jobs — the durable job queue in table jobs, shared by every lb-syncd on
 * every host (and lb-admin, which queues).
 *
 * Contract:
 *  - jobs_enqueue(): queues KIND with ARGS (JSON text) unless a job with the
 *    same dedupe key is already queued or running (the generated column
 *    active_key is unique among those): then *id is that job's id and
 *    *existed is 1. delay_secs > 0 sets run_after in the future.
 *  - jobs_claim(): in one transaction, picks the oldest ready job — queued
 *    with run_after <= now, or running with an expired lease (its daemon
 *    died) — with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent claimers
 *    never get the same job; marks it running, attempts + 1, lease_owner =
 *    owner, lease_expires_at = now + lease_secs. With ready_by (a
 *    "YYYY-MM-DD hh:mm:ss.ffffff" database time) only jobs that were ready
 *    by then are taken: a pass over the jobs claimable when it began (a job
 *    that failed meanwhile is queued again for later, so it is not taken
 *    twice in one pass). Returns 1 and fills *j, 0 when nothing is ready,
 *    -1 on a database error. On a Galera cluster the row locks are local to
 *    a node: claimers on two nodes may pick the same job, and the second
 *    COMMIT fails certification; the claim then runs again (another job).
 *    A claim whose COMMIT was lost with its node is checked on the next
 *    node (lease_owner and attempts) before anything runs again, so a job
 *    is claimed once per attempt.
 *  - jobs_renew() extends the lease (and stores a progress text when not
 *    NULL); returns 1 when the lease is no longer ours (the job must stop),
 *    0 when renewed, -1 on error.
 *  - jobs_done() / jobs_fail() / jobs_release() end a lease of ours:
 *    done -> state done; fail -> queued again after jobs_backoff(attempts),
 *    or state failed once attempts reached max_attempts or when permanent;
 *    defer -> queued again after secs, the attempt not counted (rate
 *    limits); release -> defer by 0 (SIGTERM). They touch only rows whose lease_owner is owner.
 *  - jobs_reclaim_local(): requeues running jobs leased by a process of this
 *    host (owner "HOST:PID:START") that no longer exists, so a daemon killed
 *    with SIGKILL and restarted does not wait for the lease to expire.
 *  - jobs_owner() builds this process's owner string.
 *  - jobs_backoff() is pure: 30 s * 2^(attempts-1), capped at 6 h.
 */
#ifndef LB_JOBS_H
#define LB_JOBS_H

#include <stddef.h>

struct db;

#define JOB_KIND_MAX  32
#define JOB_ARGS_MAX  1024
#define JOB_KEY_MAX   256
#define JOB_OWNER_MAX 128

struct job {
	unsigned long long id;
	char kind[JOB_KIND_MAX];
	char args[JOB_ARGS_MAX];
	char dedupe_key[JOB_KEY_MAX];
	unsigned attempts, max_attempts;
};

int  jobs_enqueue(struct db *db, const char *kind, const char *args, const char *dedupe_key,
    long delay_secs, unsigned long long *id, int *existed);
int  jobs_claim(struct db *db, const char *owner, long lease_secs, const char *ready_by,
    struct job *j);
int  jobs_renew(struct db *db, unsigned long long id, const char *owner, long lease_secs,
    const char *progress);
int  jobs_done(struct db *db, unsigned long long id, const char *owner, const char *progress);
int  jobs_fail(struct db *db, const struct job *j, const char *owner, const char *error,
    int permanent);
/* Queued again after secs without counting the attempt (rate limit). */
int  jobs_defer(struct db *db, unsigned long long id, const char *owner, long secs,
    const char *why);
int  jobs_release(struct db *db, unsigned long long id, const char *owner);
int  jobs_reclaim_local(struct db *db, int *reclaimed);
/* Delete done/failed jobs finished more than days ago. */
int  jobs_prune(struct db *db, long days);
void jobs_owner(char *out, size_t outlen);
long jobs_backoff(unsigned attempts);
/* Parse an owner string "HOST:PID:START"; 0 on success. */
int  jobs_owner_parse(const char *owner, char *host, size_t hostlen, long *pid,
    unsigned long long *start);

#endif
