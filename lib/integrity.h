/*
 * integrity — the periodic consistency check: finds what webhooks missed and
 * queues its repair. lb-syncd runs it as job kind "check" every [sync]
 * integrity_every (always repairing); `lb-admin check [--repair]` calls
 * integrity_check() directly.
 *
 * The five checks (names as stored in integrity_findings.check_name):
 *  freshness       per tracked repo, page 1 of the PRs sorted by updated
 *                  desc (If-None-Match with the ETag of the last check; on
 *                  304 the page kept in integrity_pages is compared again)
 *                  against the stored updated_at: missing or outdated PR ->
 *                  sync_pr job.
 *  reconciliation  per tracked repo, GitHub's search total_count of PRs
 *                  created and of PRs merged against the stored counts
 *                  (corrected by what freshness already found); when a
 *                  total differs, the likely months are asked about first,
 *                  one search each (months whose stored count moved since
 *                  the last check away from the counts it believed GitHub
 *                  had, kept in integrity_counts; the months of PRs updated
 *                  since the last check below the freshness page), until
 *                  the rest agrees; what is left is bisected over month
 *                  ranges (the other half's count is the parent's minus the
 *                  half asked: one search per split) down to the months
 *                  that differ -> resync_month job (search that month, sync
 *                  the PRs that differ).
 *  referential     PRs whose author is unknown -> sync_pr; open memberships
 *                  pointing at an unknown member -> sync_team; memberships
 *                  pointing at an unknown team -> sync_teams; live teams whose
 *                  members were not synced for 2 x teams_every -> sync_team.
 *  deliveries      GitHub's deliveries of every hook recorded in table
 *                  webhooks (last 3 days, the time GitHub keeps them):
 *                  a delivery whose attempts all failed and that we never
 *                  stored -> redeliver job (POST .../attempts); our own
 *                  deliveries rows with outcome "failed" -> replay job.
 *  spool           spooled deliveries older than INTEGRITY_SPOOL_AGE -> spool
 *                  job (apply the spool).
 * Requests per check: 3 per tracked repo (the freshness page, free when it
 * answers 304, and two searches) + 1 per hook (per 100 deliveries of the
 * last 3 days) + per month that differs 1 search when it moved on our side
 * since the last check (rows lost, or found last time and not repaired) or
 * holds PRs updated since then below the freshness page, else (no trace of
 * it on our side) about log2(months since the oldest PR) searches, the
 * bisection, after at most 4 probes in vain. Checks that need GitHub are skipped (said in the run's
 * error) without a token, partner_org or repositories.
 *
 * Contract:
 *  - integrity_check() records a run (integrity_runs) and every finding
 *    (integrity_findings: check_name, subject, detail, found_at and, when
 *    repair is set, repair_job_id of the job queued through lib/jobs with a
 *    dedupe key, so a repair already queued is not queued twice). gh may be
 *    NULL: a client is made from the config (and freed). Returns 0 when
 *    every check ran, 1 when some could not (GitHub or database error, the
 *    others still ran; res->error says why, the run's status is "partial"),
 *    -1 when no run could be recorded (database; res->error).
 *  - integrity_run() is the job entry point: integrity_check() with its own
 *    client; 0 when every check ran, else -1 with one line in err.
 *  - integrity_job_kind() says whether kind is a repair job of this module
 *    (redeliver, replay, spool, resync_month); integrity_job() runs one
 *    (args as JSON text) and returns a SYNC_* code of lib/sync.h.
 *  - Pure helpers (unit-tested): integrity_month() parses "YYYY-MM" (or a
 *    longer date) into a month index (year * 12 + month - 1), -1 when
 *    malformed; integrity_range() writes "YYYY-MM-01..YYYY-MM-DD" for the
 *    months a..b.
 */
#ifndef LB_INTEGRITY_H
#define LB_INTEGRITY_H

#include <stddef.h>

struct conf;
struct db;
struct gh;
struct sync_ctx;

#define INTEGRITY_NCHECKS     5
#define INTEGRITY_SPOOL_AGE   300	/* seconds */
#define INTEGRITY_MAX_LISTED  1000	/* findings stored per check and run */
#define INTEGRITY_FIRST_MONTH (2008 * 12)	/* 2008-01: no PR is older */

enum { IC_FRESHNESS, IC_RECONCILIATION, IC_REFERENTIAL, IC_DELIVERIES, IC_SPOOL };

extern const char *const integrity_check_names[INTEGRITY_NCHECKS];

struct integrity_result {
	unsigned long long run_id;
	long findings;				/* all of them, listed or not */
	long per_check[INTEGRITY_NCHECKS];
	long jobs;				/* repairs queued (new or existing) */
	unsigned long requests, not_modified;	/* GitHub requests of this run */
	double seconds;
	char error[512];			/* "" when every check ran */
};

int integrity_check(const struct conf *c, struct db *db, struct gh *gh, int repair,
    struct integrity_result *res);
int integrity_run(const struct conf *c, struct db *db, int repair, char *err, size_t errlen);

int integrity_job_kind(const char *kind);
int integrity_job(struct sync_ctx *s, const char *kind, const char *args);

int integrity_month(const char *s);
int integrity_range(int a, int b, char *out, size_t outlen);

#endif
