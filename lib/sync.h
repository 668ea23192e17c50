/*
 * sync — GitHub REST -> database, through lib/store (the write path shared
 * with webhooks). Used by lb-syncd (jobs) and lb-admin (--now).
 *
 * Contract:
 *  - sync_teams(): GET /orgs/{org} and /orgs/{org}/teams (all pages): every
 *    team upserted (renames keep the id), teams of the org no longer listed
 *    are marked deleted (memberships ended now); then each team's members
 *    (sync_team()). Without full, a list whose first page answers 304 to
 *    its stored ETag is unchanged (ETags are kept only for one-page lists).
 *  - sync_team(): one team by slug: members (all pages) become open
 *    memberships (store_member_start with "since the beginning of time", or
 *    "now" for someone who was a member before), open memberships of people
 *    no longer listed end now.
 *  - sync_prs(): GET /repos/{o}/{r}/pulls?state=all&sort=updated&
 *    direction=desc&per_page=100. Incremental (watermark known, not full):
 *    page 1 is asked with the ETag of the last complete run (304: nothing
 *    changed, one request) and the walk stops at the first PR updated more
 *    than SYNC_OVERLAP seconds before the watermark. Full (or no watermark):
 *    every page; after each page a checkpoint (next URL) is committed with
 *    the page's PRs, so a walk that was killed resumes where it stopped.
 *    The watermark (newest updated_at seen) and page 1's ETag are stored only
 *    when a walk completes. Labels come from the list: no request per PR.
 *    A full walk uses two threads more for its duration: one fetches the
 *    next page while the current one is stored (ctx->gh is used by one
 *    thread at a time), one folds the stored pages into the statistics on
 *    a database connection of its own (opened from ctx->conf; without it,
 *    the walk folds itself), at most two pages behind the walk. When
 *    sync_prs() returns, both have ended and the walk's pages are folded.
 *    A full walk with more than [sync] import_prs PRs ahead of its first
 *    page (rel="last"), or resumed while imported PRs wait, is an import:
 *    its pages record their PRs in stat_import instead of the queue, and
 *    sync_prs() returns after one rebuild of the statistics (rollup_check,
 *    forced) that counts them, whether the walk completed or not.
 *  - sync_pr(): GET /repos/{o}/{r}/pulls/{n} (the full object).
 *  - Each page is written in one transaction of its own.
 *  - Each function is a job handler of lib/runner (and runs for lb-admin
 *    ... --now): it takes a struct job_ctx and returns a JOB_* code of
 *    lib/jobs.h, ctx->err then holding one line. GitHub is called only when
 *    gh_ready() (lib/github.h) allows the work ("teams", "prs", "pr").
 *  - A transaction that fails with a deadlock or lock wait timeout (another
 *    writer, e.g. a second lb-syncd or the webhook receiver) is run again at
 *    once from the data already fetched, up to SYNC_DEADLOCK_RETRIES times
 *    (db_txn()); no request is repeated for it.
 */
#ifndef LB_SYNC_H
#define LB_SYNC_H

struct job_ctx;

#define SYNC_DEADLOCK_RETRIES 5

int sync_teams(struct job_ctx *s, int full);
int sync_team(struct job_ctx *s, const char *slug, int full);
int sync_prs(struct job_ctx *s, const char *repo, int full);
int sync_pr(struct job_ctx *s, const char *repo, long number);

#endif
