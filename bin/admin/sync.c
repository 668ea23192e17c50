/*
 * lb-admin sync / backfill / jobs (docs/REFERENCE.md).
 *
 *   sync teams [--full] [--now]        sync team SLUG [--full] [--now]
 *   sync prs OWNER/REPO [--full] [--now]   sync pr OWNER/REPO#N [--now]
 *   backfill [--now]                   jobs [--state STATE]
 *
 * Without --now the work is queued for lb-syncd (one line on stdout says
 * which job). With --now it runs here, in the foreground, through the same
 * lib/sync code; on a terminal stderr shows one live progress line (pages,
 * PRs, requests left, ETA); when stderr is not a terminal nothing but
 * errors is written.
 */
#include "admin.h"
#include "buf.h"
#include "db.h"
#include "github.h"
#include "jobs.h"
#include "log.h"
#include "runner.h"
#include "store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cmd_sync(struct admin *a, int argc, char **argv);
int cmd_backfill(struct admin *a, int argc, char **argv);
int cmd_jobs(struct admin *a, int argc, char **argv);

static volatile sig_atomic_t interrupted;

static void on_int(int sig) { (void)sig; interrupted = 1; }

struct live {
	int tty;
	int shown;
};

static int
show_progress(void *arg, const struct job_progress *p)
{
	struct live *l = arg;
	char eta[32] = "";
	time_t el = time(NULL) - p->started;
	long done = p->pages - p->resumed_pages;

	if (!l->tty)
		return interrupted ? 1 : 0;
	if (p->last_page > p->pages && done > 0) {
		long secs = (long)((double)el / (double)done * (double)(p->last_page - p->pages));
		lb_snprintf(eta, sizeof eta, ", ETA %ld:%02ld", secs / 60, secs % 60);
	}
	if (p->last_page > 0)
		fprintf(stderr, "\r\033[K%s: page %ld/%ld, %ld items, %ld requests left%s",
		    p->what, p->pages, p->last_page, p->items, p->rate_remaining, eta);
	else
		fprintf(stderr, "\r\033[K%s: page %ld, %ld items, %ld requests left",
		    p->what, p->pages, p->items, p->rate_remaining);
	fflush(stderr);
	l->shown = 1;
	return interrupted ? 1 : 0;
}

static void
show_wait(void *arg, const char *why, double secs)
{
	struct live *l = arg;

	if (l->tty) {
		fprintf(stderr, "\r\033[K%s: waiting %.0f s", why, secs);
		fflush(stderr);
		l->shown = 1;
	}
}

/* Run kind/target now; returns the exit status. */
static int
run_now(struct admin *a, struct db *db, const char *kind, const char *target, long number, int full)
{
	struct job_ctx s;
	struct job j;
	struct live l = { isatty(2), 0 };
	struct sigaction sa;
	char err[256];
	struct gh *g;
	int rc;

	if (!l.tty && getenv("LB_LOG_LEVEL") == NULL)
		log_set_level(LOG_WARN_);	/* nothing extra when not a terminal */
	g = gh_open(&a->conf, err, sizeof err);
	if (g == NULL) {
		admin_err("%s", err);
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_int;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	g->stop = &interrupted;
	g->on_wait = show_wait;
	g->wait_arg = &l;
	memset(&s, 0, sizeof s);
	s.conf = &a->conf;
	s.db = db;
	s.gh = g;
	s.progress = show_progress;
	s.arg = &l;
	s.stop = &interrupted;
	store_origin("lb-admin", kind);	/* pr_history: written by sync --now */
	/* the job lb-syncd would run, run here (lib/runner) */
	if (jobs_describe(kind, target, number, full, &j) < 0) {
		lb_snprintf(s.err, sizeof s.err, "sync %s: arguments too long", kind);
		rc = JOB_EPERM;
	} else
		rc = runner_run(&s, j.kind, j.args);
	store_origin(NULL, NULL);
	if (l.shown)
		fputc('\n', stderr);
	if (rc == JOB_OK && l.tty)
		fprintf(stderr, "%s%s%s: done, %lu requests (%lu answered 304)\n", kind,
		    target ? " " : "", target ? target : "", g->requests, g->not_modified);
	if (rc != JOB_OK)
		admin_err("%s", s.err);
	gh_free(g);
	return rc == JOB_OK ? 0 : 1;
}

static int
queue_one(struct db *db, const char *kind, const char *target, long number, int full)
{
	unsigned long long id;
	int existed;

	if (jobs_queue(db, kind, target, number, full, &id, &existed) < 0) {
		admin_err("cannot queue the job: %s", db_error(db));
		return 1;
	}
	if (number > 0)
		printf("%s job %llu: sync %s %s#%ld\n", existed ? "already queued:" : "queued", id, kind,
		    target, number);
	else
		printf("%s job %llu: sync %s%s%s%s\n", existed ? "already queued:" : "queued", id, kind,
		    target ? " " : "", target ? target : "", full ? " --full" : "");
	return 0;
}

int
cmd_sync(struct admin *a, int argc, char **argv)
{
	const char *what = NULL, *target = NULL;
	int now = 0, full = 0;
	long number = 0;
	char repo[256];
	struct db *db;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--now") == 0)
			now = 1;
		else if (strcmp(argv[i], "--full") == 0)
			full = 1;
		else if (argv[i][0] == '-') {
			admin_err("sync: unknown option '%s'", argv[i]);
			return 2;
		} else if (what == NULL)
			what = argv[i];
		else if (target == NULL)
			target = argv[i];
		else {
			admin_err("sync: unexpected argument '%s'", argv[i]);
			return 2;
		}
	}
	if (what == NULL) {
		admin_err("usage: sync teams|team SLUG|prs OWNER/REPO [--full]|pr OWNER/REPO#N [--now]");
		return 2;
	}
	if (strcmp(what, "teams") == 0) {
		if (target) {
			admin_err("sync teams takes no argument (did you mean 'sync team %s'?)", target);
			return 2;
		}
	} else if (strcmp(what, "team") == 0) {
		if (target == NULL || *target == '\0' || strlen(target) > 100) {
			admin_err("usage: sync team SLUG [--now]");
			return 2;
		}
	} else if (strcmp(what, "prs") == 0) {
		char o[128], n[128];
		if (target == NULL || gh_split_repo(target, o, sizeof o, n, sizeof n) < 0) {
			admin_err("usage: sync prs OWNER/REPO [--full] [--now]");
			return 2;
		}
	} else if (strcmp(what, "pr") == 0) {
		const char *hash = target ? strrchr(target, '#') : NULL;
		char o[128], n[128];
		long long v;
		if (hash == NULL || (size_t)(hash - target) >= sizeof repo ||
		    lb_parse_ll(hash + 1, 1, 2147483647LL, &v) < 0) {
			admin_err("usage: sync pr OWNER/REPO#N [--now]");
			return 2;
		}
		memcpy(repo, target, (size_t)(hash - target));
		repo[hash - target] = '\0';
		if (gh_split_repo(repo, o, sizeof o, n, sizeof n) < 0) {
			admin_err("usage: sync pr OWNER/REPO#N [--now]");
			return 2;
		}
		target = repo;
		number = (long)v;
	} else {
		admin_err("sync: unknown target '%s' (teams, team, prs or pr)", what);
		return 2;
	}
	if ((db = admin_db(a)) == NULL)
		return 1;
	if (now)
		return run_now(a, db, what, target, number, full);
	return queue_one(db, what, target, number, full);
}

int
cmd_backfill(struct admin *a, int argc, char **argv)
{
	char why_t[128], why_p[128];
	int now = 0, teams, prs, rc = 0;
	struct db *db;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--now") == 0)
			now = 1;
		else {
			admin_err("backfill: unexpected argument '%s' (usage: backfill [--now])", argv[i]);
			return 2;
		}
	}
	if (admin_conf(a) < 0)
		return 1;
	teams = gh_ready(&a->conf, "teams", why_t, sizeof why_t);
	prs = gh_ready(&a->conf, "prs", why_p, sizeof why_p);
	if (!teams && !prs) {
		admin_err("backfill: nothing to do: %s; %s", why_t, why_p);
		return 1;
	}
	if ((db = admin_db(a)) == NULL)
		return 1;
	if (!teams)
		admin_err("backfill: teams skipped: %s", why_t);
	if (!prs)
		admin_err("backfill: pull requests skipped: %s", why_p);
	if (teams)
		rc = now ? run_now(a, db, "teams", NULL, 0, 1) : queue_one(db, "teams", NULL, 0, 1);
	for (size_t i = 0; prs && rc == 0 && i < a->conf.repositories.n; i++)
		rc = now ? run_now(a, db, "prs", a->conf.repositories.v[i], 0, 1)
		    : queue_one(db, "prs", a->conf.repositories.v[i], 0, 1);
	return rc;
}

int
cmd_jobs(struct admin *a, int argc, char **argv)
{
	const char *state = NULL;
	struct db_res *res;
	struct db *db;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else {
			admin_err("usage: jobs [--state queued|running|done|failed]");
			return 2;
		}
	}
	if (state && !jobs_state_valid(state)) {
		admin_err("jobs: unknown state '%s' (queued, running, done or failed)", state);
		return 2;
	}
	if ((db = admin_db(a)) == NULL)
		return 1;
	if (jobs_list(db, state, 500, &res) < 0) {
		admin_err("jobs: %s", db_error(db));
		return 1;
	}
	printf("%-8s %-8s %-11s %-40s %-8s %-19s %s\n", "ID", "STATE", "KIND", "ARGS", "ATTEMPTS",
	    "RUN_AFTER", "OWNER / PROGRESS / ERROR");
	for (size_t i = 0; i < res->nrows; i++) {
		const char *owner = admin_cell(res, i, JOBS_COL_LEASE_OWNER, "");
		const char *note = admin_cell(res, i, JOBS_COL_LAST_ERROR,
		    admin_cell(res, i, JOBS_COL_PROGRESS, ""));
		char att[32], at[32];

		lb_snprintf(att, sizeof att, "%s/%s", db_get(res, i, JOBS_COL_ATTEMPTS),
		    db_get(res, i, JOBS_COL_MAX_ATTEMPTS));
		printf("%-8s %-8s %-11s %-40s %-8s %-19s %s%s%s\n", db_get(res, i, JOBS_COL_ID),
		    db_get(res, i, JOBS_COL_STATE), db_get(res, i, JOBS_COL_KIND),
		    db_get(res, i, JOBS_COL_ARGS), att,
		    admin_time(res, i, JOBS_COL_RUN_AFTER, at, sizeof at, ""), owner,
		    *owner && *note ? " " : "", note);
	}
	db_res_free(res);
	return 0;
}
