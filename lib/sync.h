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
 *  - sync_pr(): GET /repos/{o}/{r}/pulls/{n} (the full object).
 *  - Each page is written in one transaction of its own.
 *  - Return: 0, or SYNC_ERETRY (transient: network, 5xx, database),
 *    SYNC_EPERM (permanent: 404, 401, bad arguments, not configured),
 *    SYNC_EWAIT (rate limited: retry at s->gh->retry_at), SYNC_ESTOP
 *    (*stop was set, or progress() asked to stop). s->err has one line.
 *  - A transaction that fails with a deadlock or lock wait timeout (another
 *    writer, e.g. a second lb-syncd or the webhook receiver) is run again at
 *    once from the data already fetched, up to SYNC_DEADLOCK_RETRIES times;
 *    no request is repeated for it.
 *  - sync_run_job() runs a queued job by kind/args (JSON): sync_teams
 *    {"full"}, sync_team {"slug"}, sync_prs {"repo","full"}, sync_pr
 *    {"repo","number"}, check {"repair"} (lib/integrity).
 *  - sync_github_ready() says whether GitHub may be called for a kind of
 *    work: a token plus partner_org (teams) or repositories (PRs).
 */
#ifndef LB_SYNC_H
#define LB_SYNC_H

#include <signal.h>
#include <stddef.h>
#include <time.h>

struct conf;
struct db;
struct gh;

#define SYNC_OVERLAP 120	/* seconds re-read below the watermark */
#define SYNC_DEADLOCK_RETRIES 5

enum { SYNC_OK = 0, SYNC_ERETRY = -1, SYNC_EPERM = -2, SYNC_EWAIT = -3, SYNC_ESTOP = -4 };

struct sync_progress {
	const char *what;	/* "acme/widgets", "teams" */
	long pages;		/* pages fetched in this walk (resumed ones included) */
	long last_page;		/* from Link rel="last"; 0 when unknown */
	long items;		/* PRs / teams / members stored */
	unsigned long requests;	/* by this client so far */
	long rate_remaining;	/* -1 unknown */
	time_t started;
	long resumed_pages;	/* pages done before a resume */
};

struct sync_ctx {
	const struct conf *conf;
	struct db *db;
	struct gh *gh;
	/* called after each page; non-zero return stops the walk (SYNC_ESTOP) */
	int (*progress)(void *arg, const struct sync_progress *p);
	void *arg;
	volatile sig_atomic_t *stop;
	int  deadlock;	/* internal: the last database error was a deadlock */
	char err[512];
};

int sync_teams(struct sync_ctx *s, int full);
int sync_team(struct sync_ctx *s, const char *slug, int full);
int sync_prs(struct sync_ctx *s, const char *repo, int full);
int sync_pr(struct sync_ctx *s, const char *repo, long number);
int sync_run_job(struct sync_ctx *s, const char *kind, const char *args);

/* 1 when GitHub may be called for kind ("teams" or "prs"), else 0 with why. */
int sync_github_ready(const struct conf *c, const char *kind, char *why, size_t whylen);

/* Queue the jobs (dedupe keys "teams", "team:SLUG", "prs:O/R", "pr:O/R#N",
 * "check"); a full request upgrades a queued incremental one. */
int sync_queue(struct db *db, const char *kind, const char *repo_or_slug, long number,
    int full, unsigned long long *id, int *existed);

/* "owner/name" -> 0 and both parts; -1 when malformed. */
int sync_split_repo(const char *repo, char *owner, size_t olen, char *name, size_t nlen);

#endif
