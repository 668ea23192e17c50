/*
 * integrity — the periodic consistency check: finds what webhooks missed and
 * queues its repair. lb-syncd runs it as job kind "check" every [sync]
 * integrity_every (always repairing); `lb-admin check [--repair]` calls
 * integrity_check() directly.
 *
 * The seven checks (names as stored in integrity_findings.check_name) and
 * the facts a statistic depends on that each one covers:
 *  freshness       per tracked repo, the PRs sorted by updated desc: page 1
 *                  with If-None-Match (the ETag kept in integrity_pages; on
 *                  304 the page kept there is compared again), then page
 *                  after page down to where the last complete walk began
 *                  (its top, kept as "walk:REPO"; before any walk: the
 *                  watermark of a completed PR sync; with none, all the
 *                  way), at most INTEGRITY_WALK_PAGES more per check (the rest is
 *                  said unverified and the walk goes on next check). Each
 *                  PR against the stored updated_at: every fact of every PR
 *                  GitHub changed since; missing or outdated PR -> sync_pr
 *                  job, the detail naming what differs (state, merged,
 *                  closed_at, labels).
 *  reconciliation  per tracked repo, GitHub's search total_count of PRs
 *                  created, of PRs merged and of PRs closed without merge
 *                  (is:closed is:unmerged, by closed month) against the
 *                  stored counts (corrected by what freshness already
 *                  found): rows lost or changed on our side (a PR, its
 *                  state, merge, created/merged/closed months). While
 *                  GitHub is unchanged (page 1 answered 304 at the ETag at
 *                  which the last complete check verified every count, kept
 *                  as "verified:REPO") GitHub's counts per month are those
 *                  believed (integrity_counts): each month that differs is
 *                  found without a search. Else, when a total differs,
 *                  the likely months are asked about first, one search each
 *                  (months whose stored count moved since the last check
 *                  away from the counts it believed GitHub had; the months
 *                  of PRs updated since the last check that freshness did
 *                  not read), until the rest agrees; what is left is
 *                  bisected over month ranges (one search per split) down
 *                  to the months that differ -> resync_month job (search
 *                  that month, sync the PRs that differ in updated_at,
 *                  state, merge or labels).
 *  labels          per tracked repo, the labels of merged PRs: GitHub's
 *                  label list (paged, ETags kept), then per label with
 *                  merged PRs stored one search (is:merged label:"NAME")
 *                  against the stored count, and one search for the
 *                  plain-named labels stored on no merged PR at once
 *                  (label:a,b,...: must be 0); while GitHub is unchanged
 *                  (as above, and the label list answered 304) the counts
 *                  believed stand for GitHub's. A differing label is
 *                  bisected over merged months -> resync_month (merged). At
 *                  most INTEGRITY_LABEL_SEARCHES label searches per repo and
 *                  check: the others are said to be unverified.
 *  referential     PRs whose author is unknown -> sync_pr; open memberships
 *                  pointing at an unknown member -> sync_team; memberships
 *                  pointing at an unknown team -> sync_teams; when the teams
 *                  check could not run: live teams whose members were not
 *                  synced for 2 x teams_every -> sync_team.
 *  teams           the partner org's teams (paged, ETags kept) against the
 *                  live stored teams (id, slug, name: a team created,
 *                  deleted or renamed) -> sync_teams (full); each live
 *                  team's members (paged, ETags kept) against its open
 *                  memberships -> sync_team (full).
 *  deliveries      GitHub's deliveries of every hook recorded in table
 *                  webhooks (last 3 days, the time GitHub keeps them):
 *                  a delivery whose attempts all failed and that we never
 *                  stored -> redeliver job (POST .../attempts); our own
 *                  deliveries rows with outcome "failed" -> replay job.
 *  spool           spooled deliveries older than INTEGRITY_SPOOL_AGE -> spool
 *                  job (apply the spool).
 * Requests per check: free when they answer 304 (kept ETags): per tracked
 * repo the freshness page and the label pages, 1 per 100 teams and 1 per
 * team (per 100 members). Charged: 1 per hook (per 100 deliveries of the
 * last 3 days); per repo whose page 1 changed (or without a last complete
 * check) the pages of the walk below page 1, 3 searches and 1 per label on
 * merged PRs (+ 1 for the plain-named labels on none, + 1 per other
 * label), plus per month that differs there 1 search when it moved on our
 * side since the last check or holds PRs updated since then that the walk
 * did not read, else (no trace of it on our side) about log2(months since
 * the oldest PR) searches, the bisection, after at most 4 probes in vain.
 * Checks that need GitHub are skipped without a token, partner_org or
 * repositories: said as unverified, never counted as clean.
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
 *  - What a run could not verify (a check skipped for configuration or
 *    budget, a search GitHub answered with incomplete_results) is stored in
 *    integrity_unverified (check_name, subject, detail) and counted in
 *    res->unverified and integrity_runs.unverified; it is no finding.
 *  - integrity_run() is the job entry point: integrity_check() with its own
 *    client; 0 when every check ran, else -1 with one line in err.
 *  - integrity_job_kind() says whether kind is a repair job this module
 *    queues (redeliver, replay, spool, resync_month); lib/runner's table
 *    has a handler for each (spool: lib/spool's spool_apply_all()).
 *  - Repair handlers (args: the job's parsed JSON; return a JOB_* code of
 *    lib/jobs.h, ctx->err then holding one line):
 *    integrity_redeliver() {"type","target","hook","id","guid"}: POST
 *      .../hooks/{hook}/deliveries/{id}/attempts through lib/github;
 *    integrity_replay() {"id"}: ingest_replay() of a stored delivery;
 *    integrity_resync_month() {"repo","month","field"}: searches the
 *      month's PRs and syncs, through sync->pr(), each one missing or
 *      differing (updated_at, merge, state, labels) and each stored one the
 *      search did not list; more than 1,000 results: sync->prs(repo, full).
 *      This module does not sync by itself: the runner passes lib/sync's.
 *  - Pure helper (unit-tested): integrity_range() writes
 *    "YYYY-MM-01..YYYY-MM-DD" for the months a..b (month indexes of
 *    date_month_index(), lib/date).
 */
#ifndef LB_INTEGRITY_H
#define LB_INTEGRITY_H

#include "json.h"

#include <stddef.h>

struct conf;
struct db;
struct gh;
struct job_ctx;

#define INTEGRITY_NCHECKS     7
#define INTEGRITY_SPOOL_AGE   300	/* seconds */
#define INTEGRITY_MAX_LISTED  1000	/* findings stored per check and run */
#define INTEGRITY_FIRST_MONTH (2008 * 12)	/* 2008-01: no PR is older */
#define INTEGRITY_LABEL_SEARCHES 40	/* label searches per repo and check */
#define INTEGRITY_WALK_PAGES  20	/* freshness pages after page 1, per repo and check */

enum { IC_FRESHNESS, IC_RECONCILIATION, IC_REFERENTIAL, IC_DELIVERIES, IC_SPOOL, IC_LABELS, IC_TEAMS };

extern const char *const integrity_check_names[INTEGRITY_NCHECKS];

struct integrity_result {
	unsigned long long run_id;
	long findings;				/* all of them, listed or not */
	long per_check[INTEGRITY_NCHECKS];
	long jobs;				/* repairs queued (new or existing) */
	long unverified;			/* things this run could not verify */
	unsigned long requests, not_modified;	/* GitHub requests of this run */
	double seconds;
	char error[512];			/* "" when every check ran */
};

int integrity_check(const struct conf *c, struct db *db, struct gh *gh, int repair,
    struct integrity_result *res);
int integrity_run(const struct conf *c, struct db *db, int repair, char *err, size_t errlen);

int integrity_job_kind(const char *kind);

/* How integrity_resync_month() syncs one PR, or a whole repository. */
struct integrity_syncer {
	int (*pr)(struct job_ctx *s, const char *repo, long number);
	int (*prs)(struct job_ctx *s, const char *repo, int full);
};

int integrity_redeliver(struct job_ctx *s, json_val args);
int integrity_replay(struct job_ctx *s, json_val args);
int integrity_resync_month(struct job_ctx *s, json_val args, const struct integrity_syncer *sync);

int integrity_range(int a, int b, char *out, size_t outlen);

/* What integrity_check() stored, for lb-admin check and GET
 * /api/admin/integrity (times "YYYY-MM-DDTHH:MM:SSZ"; 0, or -1 on a
 * database error):
 *  - integrity_run_get(): run run_id (0: the latest), no row when none,
 *    columns INTEGRITY_RUN_*;
 *  - integrity_findings_list(): its findings in the order found, at most
 *    limit, columns INTEGRITY_FINDING_* (repair_job_id NULL: none queued);
 *  - integrity_unverified_list(): what it could not verify, at most limit,
 *    columns INTEGRITY_UNVERIFIED_*. */
struct db_res;
enum {
	INTEGRITY_RUN_ID, INTEGRITY_RUN_STARTED_AT, INTEGRITY_RUN_FINISHED_AT, INTEGRITY_RUN_FINDINGS,
	INTEGRITY_RUN_REQUESTS, INTEGRITY_RUN_UNVERIFIED, INTEGRITY_RUN_REPAIR, INTEGRITY_RUN_STATUS
};
enum {
	INTEGRITY_FINDING_ID, INTEGRITY_FINDING_CHECK, INTEGRITY_FINDING_SUBJECT,
	INTEGRITY_FINDING_DETAIL, INTEGRITY_FINDING_FOUND_AT, INTEGRITY_FINDING_REPAIR_JOB_ID
};
enum { INTEGRITY_UNVERIFIED_CHECK, INTEGRITY_UNVERIFIED_SUBJECT, INTEGRITY_UNVERIFIED_DETAIL };
int integrity_run_get(struct db *db, unsigned long long run_id, struct db_res **out);
int integrity_findings_list(struct db *db, unsigned long long run_id, long long limit,
    struct db_res **out);
int integrity_unverified_list(struct db *db, unsigned long long run_id, long long limit,
    struct db_res **out);

#endif
