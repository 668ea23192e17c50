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
 *  - jobs_list(): the newest `limit` jobs (id descending), of one state
 *    when state is not NULL/"" (jobs_state_valid(): queued, running, done,
 *    failed), columns JOBS_COL_* (times "YYYY-MM-DDTHH:MM:SSZ", NULL where
 *    the column is). jobs_counts(): (state, count) rows by state. Both 0, or
 *    -1 on a database error. Used by lb-admin jobs and GET /api/admin/jobs.
 *  - jobs_describe() fills a job's kind, args and dedupe key from what it
 *    does (-1 for another `what`), and jobs_queue() queues that job: "teams" -> sync_teams {"full"} key "teams"; "team" SLUG ->
 *    sync_team {"slug","full"} key "team:SLUG"; "prs" O/R -> sync_prs
 *    {"repo","full"} key "prs:O/R"; "pr" O/R N -> sync_pr {"repo","number"}
 *    key "pr:O/R#N"; "check" -> check {"repair": full} key "check". A full
 *    request upgrades a queued incremental one. -1 for another `what` or a
 *    database error. (lib/runner runs each kind.)
 *
 * What a job is given and returns (struct job_ctx, JOB_*): the handlers of
 * lib/runner's table (lib/sync, lib/integrity) take a struct job_ctx and
 * return JOB_OK, or JOB_ERETRY (transient: network, 5xx, database: the
 * queue retries with backoff), JOB_EPERM (permanent: 404, 401, bad
 * arguments, not configured), JOB_EWAIT (rate limited: retry at
 * ctx->gh->retry_at), JOB_ESTOP (*stop was set, or progress() asked to
 * stop); ctx->err then has one line.
 */
#ifndef LB_JOBS_H
#define LB_JOBS_H

#include <signal.h>
#include <stddef.h>
#include <time.h>

struct conf;
struct db;
struct gh;

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

enum { JOB_OK = 0, JOB_ERETRY = -1, JOB_EPERM = -2, JOB_EWAIT = -3, JOB_ESTOP = -4 };

/* Where a long job is, given to job_ctx.progress after each page. */
struct job_progress {
	const char *what;	/* "acme/widgets", "teams" */
	long pages;		/* pages fetched in this walk (resumed ones included) */
	long last_page;		/* from Link rel="last"; 0 when unknown */
	long items;		/* PRs / teams / members stored */
	unsigned long requests;	/* by this client so far */
	long rate_remaining;	/* -1 unknown */
	time_t started;
	long resumed_pages;	/* pages done before a resume */
};

/* What a job runs with: lb-syncd's run_job() and lb-admin's --now fill it. */
struct job_ctx {
	const struct conf *conf;
	struct db *db;
	struct gh *gh;
	/* called after each page; non-zero return stops the walk (JOB_ESTOP) */
	int (*progress)(void *arg, const struct job_progress *p);
	void *arg;
	volatile sig_atomic_t *stop;
	char err[512];
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
/* 1 when owner ("HOST:PID:START", a lease's may add ":..." after it) names
 * a process of this host that no longer runs (its pid gone or reused by a
 * process started at another time); 0 for a live process, this process,
 * another host's, or an owner it cannot read. */
int  jobs_owner_dead(const char *owner);
/* Parse an owner string "HOST:PID:START"; 0 on success. */
int  jobs_owner_parse(const char *owner, char *host, size_t hostlen, long *pid,
    unsigned long long *start);
int  jobs_describe(const char *what, const char *target, long number, int full, struct job *j);
int  jobs_queue(struct db *db, const char *what, const char *target, long number, int full,
    unsigned long long *id, int *existed);

struct db_res;
enum {
	JOBS_COL_ID, JOBS_COL_KIND, JOBS_COL_ARGS, JOBS_COL_STATE, JOBS_COL_PRIORITY,
	JOBS_COL_ATTEMPTS, JOBS_COL_MAX_ATTEMPTS, JOBS_COL_RUN_AFTER, JOBS_COL_LEASE_OWNER,
	JOBS_COL_LEASE_EXPIRES_AT, JOBS_COL_PROGRESS, JOBS_COL_LAST_ERROR, JOBS_COL_CREATED_AT,
	JOBS_COL_UPDATED_AT, JOBS_COL_FINISHED_AT
};
int  jobs_state_valid(const char *state);
int  jobs_list(struct db *db, const char *state, long long limit, struct db_res **out);
int  jobs_counts(struct db *db, struct db_res **out);

#endif
