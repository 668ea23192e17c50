/*
 * lb-syncd — the sync daemon (docs/REFERENCE.md "Programs and commands").
 *
 * The hook spool goes first, whatever the job queue holds: the daemon
 * applies it in a thread of its own (the spooler) with its own bounded
 * connection (lib/db.h), polling the spool directory every SPOOL_POLL_MS;
 * so deliveries spooled while MariaDB was down are applied within about a
 * second of it answering again, even while a job waits for GitHub (a job
 * against an unreachable GitHub takes ~31 s of retries) or runs for hours.
 *
 * The main thread works in passes: fold queued PR changes, requeue jobs of
 * dead local daemons, queue what the schedules say is due ([sync]
 * teams_every, prs_every, integrity_every; the last start of each is kept in
 * sync_state "schedule:*", claimed with a conditional UPDATE so that several
 * daemons queue it once), then run the jobs that were claimable when the
 * pass began (lib/jobs: jobs_claim(ready_by)), each at most once: a job that
 * fails is queued again with its backoff and waits for a later pass, so
 * failing jobs cannot keep a pass going. After a pass that ran nothing it
 * sleeps IDLE_SECS.
 *
 * --once: no thread. It applies the spool (every delivery waiting at that
 * moment, in arrival order), then runs one pass as above (jobs claimable
 * when the pass begins, each attempted at most once; jobs queued or
 * becoming ready during the pass wait for the next run), then exits. Exit
 * status 1 when the database is unreachable.
 *
 * Without a token plus partner_org / repositories, GitHub is never called
 * (said once at start).
 *
 * Signals (handled by the main thread; the spooler blocks them): SIGTERM /
 * SIGINT stop at the next page boundary (the running job is released to the
 * queue, a full walk keeps its checkpoint; the spooler stops after the
 * delivery it is applying) and exit; SIGHUP reloads the configuration
 * between jobs (the spooler is restarted with it).
 */
#include "conf.h"
#include "db.h"
#include "github.h"
#include "jobs.h"
#include "log.h"
#include "rollup.h"
#include "ingest.h"
#include "spool.h"
#include "runner.h"
#include "store.h"
#include "thread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEASE_SECS   300
#define IDLE_SECS    2
#define MAX_WAIT     60	/* longer GitHub waits put the job back with run_after */
#define SPOOL_POLL_MS 500	/* how often the spooler looks at the spool dir */

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_term(int sig) { (void)sig; stop_flag = 1; }
static void on_hup(int sig) { (void)sig; reload_flag = 1; }

/* The spool applier thread: reads conf (never changed while it runs: a
 * reload stops it first), owns db. */
struct spooler {
	pthread_t tid;
	int running;
	atomic_int stop;
	const struct conf *conf;
	struct db *db;
};

struct daemon {
	const char *config_path;
	struct conf conf;
	struct db  *db;
	struct gh  *gh;
	char owner[JOB_OWNER_MAX];
	int  once;
	/* the job being run, for the progress callback */
	const struct job *job;
	int  lease_lost;
	time_t last_prune;
	struct spooler sp;
	/* a job's outcome that could not be written (the database went away
	 * just then, e.g. a Galera node died): written on the next iteration
	 * that reaches the database, before anything is claimed, while the
	 * lease still holds; else the job would wait out its lease and run
	 * again as a new attempt */
	struct {
		int set;
		struct job job;
		struct job_ctx ctx;	/* its err */
		int rc;
		time_t t0, ended;
		unsigned long req0;
	} pending;
};

static void
ms_sleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void *
spooler_main(void *arg)
{
	struct spooler *sp = arg;
	int down = 0, unreadable = 0;

	while (!atomic_load(&sp->stop)) {
		int waiting = spool_count(sp->conf), applied = 0, rc;

		if (waiting < 0 && !unreadable)
			log_error("spool: cannot read %s: %s", sp->conf->spool_dir, strerror(errno));
		unreadable = waiting < 0;
		if (waiting > 0) {
			/* ping first: while MariaDB is away, say so once instead
			 * of once per file per poll */
			if (db_ping(sp->db) < 0) {
				if (!down)
					log_warn("spool: %d deliveries wait; database unreachable: %s "
					    "(retrying)", waiting, db_error(sp->db));
				down = 1;
			} else {
				if (down)
					log_info("spool: database reachable again: applying %d deliveries",
					    waiting);
				down = 0;
				rc = spool_apply_all(sp->conf, sp->db, &sp->stop, &applied);
				if (applied)
					log_info("spool: %d deliveries applied", applied);
				if (rc < 0)
					log_warn("spool: stopped on an error (%s); will retry",
					    db_error(sp->db));
				if (rc == 0 && applied > 0)
					continue;	/* more may have arrived meanwhile */
			}
		}
		for (int t = 0; t < SPOOL_POLL_MS / 100 && !atomic_load(&sp->stop); t++)
			ms_sleep(100);
	}
	return NULL;
}

static void
spooler_start(struct daemon *d)
{
	int e;

	if (d->conf.spool_dir == NULL || d->conf.spool_dir[0] == '\0')
		return;
	d->sp.conf = &d->conf;
	atomic_store(&d->sp.stop, 0);
	d->sp.db = db_new(&d->conf, DB_BOUNDED);
	if (d->sp.db == NULL) {
		log_error("spool: out of memory; the spool is applied between jobs only");
		return;
	}
	e = lb_thread_start(&d->sp.tid, spooler_main, &d->sp);	/* signals stay with the main thread */
	if (e != 0) {
		log_error("spool: cannot start its thread: %s; the spool is applied between jobs only",
		    strerror(e));
		db_close(d->sp.db);
		d->sp.db = NULL;
		return;
	}
	d->sp.running = 1;
}

static void
spooler_stop(struct daemon *d)
{
	if (!d->sp.running)
		return;
	atomic_store(&d->sp.stop, 1);
	pthread_join(d->sp.tid, NULL);
	d->sp.running = 0;
	db_close(d->sp.db);
	d->sp.db = NULL;
}

static void
nap(double secs)
{
	struct timespec ts;

	while (secs > 0 && !stop_flag && !reload_flag) {
		double step = secs < 0.2 ? secs : 0.2;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(step * 1e9);
		nanosleep(&ts, NULL);
		secs -= step;
	}
}

static void
say_github_state(const struct conf *c)
{
	char why[128];

	if (!gh_ready(c, "teams", why, sizeof why))
		log_info("teams sync off: %s (GitHub is not called for teams)", why);
	if (!gh_ready(c, "prs", why, sizeof why))
		log_info("pull request sync off: %s (GitHub is not called for PRs)", why);
}

static int
make_gh(struct daemon *d)
{
	char err[256];

	gh_free(d->gh);
	d->gh = gh_open(&d->conf, err, sizeof err);
	if (d->gh == NULL) {
		log_error("github client: %s", err);
		return -1;
	}
	d->gh->max_wait = MAX_WAIT;
	d->gh->stop = &stop_flag;
	return 0;
}

static void
reload(struct daemon *d)
{
	struct conf nc;
	struct db *ndb;
	char err[512];

	reload_flag = 0;
	if (conf_load(&nc, conf_path(d->config_path), err, sizeof err) < 0) {
		log_error("reload: %s (keeping the old configuration)", err);
		return;
	}
	ndb = db_open(&nc, err, sizeof err);
	if (ndb == NULL) {
		log_error("reload: database: %s (keeping the old configuration)", err);
		conf_free(&nc);
		return;
	}
	rollup_configure(&nc);
	db_close(d->db);
	d->db = ndb;
	spooler_stop(d);	/* it reads d->conf */
	conf_free(&d->conf);
	d->conf = nc;
	if (!d->once)
		spooler_start(d);
	make_gh(d);
	log_info("configuration reloaded");
	say_github_state(&d->conf);
}

/* 1 when this daemon won the schedule slot NAME (due every secs) */
static int
due(struct daemon *d, const char *name, long long every)
{
	if (db_exec(d->db, "INSERT IGNORE INTO sync_state (name) VALUES (?)", "s", name) < 0 ||
	    db_exec(d->db, "UPDATE sync_state SET last_started_at = NOW(6), last_status = 'queued' "
	    "WHERE name = ? AND (last_started_at IS NULL OR last_started_at <= NOW(6) - INTERVAL ? SECOND)",
	    "si", name, every) < 0) {
		log_warn("schedule %s: %s", name, db_error(d->db));
		return 0;
	}
	return db_affected(d->db) == 1;
}

static void
queue(struct daemon *d, const char *kind, const char *target)
{
	unsigned long long id;
	int existed;

	if (jobs_queue(d->db, kind, target, 0, 0, &id, &existed) < 0)
		log_warn("queue %s %s: %s", kind, target ? target : "", db_error(d->db));
	else if (!existed)
		log_info("queued job %llu: %s%s%s", id, kind, target ? " " : "", target ? target : "");
}

static void
schedules(struct daemon *d)
{
	char why[128];

	if (gh_ready(&d->conf, "teams", why, sizeof why) &&
	    due(d, "schedule:teams", d->conf.teams_every))
		queue(d, "teams", NULL);
	if (gh_ready(&d->conf, "prs", why, sizeof why) &&
	    due(d, "schedule:prs", d->conf.prs_every))
		for (size_t i = 0; i < d->conf.repositories.n; i++)
			queue(d, "prs", d->conf.repositories.v[i]);
	if (due(d, "schedule:check", d->conf.integrity_every)) {
		unsigned long long id;
		int existed;
		/* the daemon's checks always queue their repairs (lib/integrity) */
		if (jobs_queue(d->db, "check", NULL, 0, 1, &id, &existed) < 0)
			log_warn("queue check: %s", db_error(d->db));
		else if (!existed)
			log_info("queued job %llu: check --repair", id);
	}
}

static int
on_progress(void *arg, const struct job_progress *p)
{
	struct daemon *d = arg;
	char text[256];
	int rc;

	if (p->last_page > 0)
		lb_snprintf(text, sizeof text, "%s: page %ld/%ld, %ld items, %lu requests, %ld left",
		    p->what, p->pages, p->last_page, p->items, p->requests, p->rate_remaining);
	else
		lb_snprintf(text, sizeof text, "%s: page %ld, %ld items, %lu requests, %ld left",
		    p->what, p->pages, p->items, p->requests, p->rate_remaining);
	log_debug("job %llu: %s", d->job->id, text);
	rc = jobs_renew(d->db, d->job->id, d->owner, LEASE_SECS, text);
	if (rc == 1) {
		log_warn("job %llu: lease lost to another daemon: stopping it", d->job->id);
		d->lease_lost = 1;
		return 1;
	}
	return stop_flag ? 1 : 0;
}

static int record(struct daemon *d, const struct job *j, int rc, const struct job_ctx *sc,
    time_t t0, unsigned long req0, int say);

static void
run_job(struct daemon *d, const struct job *j)
{
	struct job_ctx s;
	unsigned long req0 = d->gh->requests;
	time_t t0 = time(NULL);
	int rc, drc = 0;

	memset(&s, 0, sizeof s);
	s.conf = &d->conf;
	s.db = d->db;
	s.gh = d->gh;
	s.progress = on_progress;
	s.arg = d;
	s.stop = &stop_flag;
	d->job = j;
	d->lease_lost = 0;
	log_info("job %llu: %s %s (attempt %u)", j->id, j->kind, j->args, j->attempts);
	{
		char ref[32];	/* pr_history: the PRs this job writes */
		lb_snprintf(ref, sizeof ref, "job:%llu", j->id);
		store_origin(ref, j->kind);
	}
	rc = runner_run(&s, j->kind, j->args);
	store_origin(NULL, NULL);
	if (d->lease_lost)
		return;
	for (int tries = 0; tries < 3; tries++) {
		drc = record(d, j, rc, &s, t0, req0, tries == 0);
		if (drc == 0 || db_gone(d->db))
			break;
		nap(0.05);
	}
	if (drc < 0) {
		log_warn("job %llu: cannot record its outcome: %s (trying again when the database "
		    "answers)", j->id, db_error(d->db));
		d->pending.set = 1;
		d->pending.job = *j;
		d->pending.ctx = s;
		d->pending.rc = rc;
		d->pending.t0 = t0;
		d->pending.ended = time(NULL);
		d->pending.req0 = req0;
	}
}

/* The outcome run_job() could not write, written now: 0 when written or
 * given up (the lease has expired: another claim owns the job), -1 when
 * the database still fails. */
static int
settle(struct daemon *d)
{
	if (!d->pending.set)
		return 0;
	if (record(d, &d->pending.job, d->pending.rc, &d->pending.ctx, d->pending.t0,
	    d->pending.req0, 0) < 0) {
		if (time(NULL) - d->pending.ended < LEASE_SECS)
			return -1;
		log_warn("job %llu: its outcome was never written and its lease has expired: "
		    "it runs again", d->pending.job.id);
	} else
		log_info("job %llu: outcome written after the database came back", d->pending.job.id);
	d->pending.set = 0;
	return 0;
}

/* Write the outcome of a job; log it when say is set. */
static int
record(struct daemon *d, const struct job *j, int rc, const struct job_ctx *sc, time_t t0,
    unsigned long req0, int say)
{
	int drc = 0;

	switch (rc) {
	case JOB_OK:
		drc = jobs_done(d->db, j->id, d->owner, NULL);
		if (say)
			log_info("job %llu: done in %lds, %lu requests", j->id, (long)(time(NULL) - t0),
			    d->gh->requests - req0);
		break;
	case JOB_EWAIT: {
		long secs = (long)(d->gh->retry_at - time(NULL));
		drc = jobs_defer(d->db, j->id, d->owner, secs, sc->err);
		if (say)
			log_warn("job %llu: %s; put back for %ld s", j->id, sc->err, secs);
		break;
	}
	case JOB_ESTOP:
		drc = jobs_release(d->db, j->id, d->owner);
		if (say)
			log_info("job %llu: released (%s)", j->id, sc->err);
		break;
	case JOB_EPERM:
		drc = jobs_fail(d->db, j, d->owner, sc->err, 1);
		if (say)
			log_error("job %llu: failed: %s", j->id, sc->err);
		break;
	default:
		drc = jobs_fail(d->db, j, d->owner, sc->err, 0);
		if (say)
			log_warn("job %llu: %s (attempt %u of %u%s)", j->id, sc->err, j->attempts, j->max_attempts,
			    j->attempts >= j->max_attempts ? ", giving up" : ", will retry");
		break;
	}
	return drc;
}

/* Statistics catch up with the PR changes stored so far, and with the PRs
 * of an import that stopped before its end (lib/rollup.h). */
static void
fold(struct daemon *d)
{
	unsigned n = 0;
	int rebuilt;

	if (rollup_fold(d->db, 0, &n) < 0)
		log_warn("statistics: fold: %s", db_error(d->db));
	else if (n)
		log_debug("statistics: %u changed PRs folded in", n);
	if (rollup_import_check(d->db, &d->conf, &rebuilt) < 0)
		log_warn("statistics: imported PRs: %s", db_error(d->db));
}

/* The spool, on the main connection: --once, or when the spooler thread
 * could not start. */
static void
spool_here(struct daemon *d)
{
	int applied = 0;

	if (spool_apply_all(&d->conf, d->db, NULL, &applied) < 0)
		log_warn("spool: stopped on an error (%s); will retry", db_error(d->db));
	else if (applied)
		log_info("spool: %d deliveries applied", applied);
}

/* One pass (see the top of this file); -1 when the database is
 * unreachable, else the number of jobs run. */
static int
iteration(struct daemon *d)
{
	struct db_res *res;
	char ready_by[40];
	struct job j;
	int rc, reclaimed, ran = 0;

	if (db_ping(d->db) < 0)
		return -1;
	if (settle(d) < 0)
		return db_gone(d->db) ? -1 : 0;
	if (!d->sp.running)
		spool_here(d);
	fold(d);
	if (jobs_reclaim_local(d->db, &reclaimed) < 0)
		log_warn("jobs: %s", db_error(d->db));
	schedules(d);
	/* the jobs claimable now, each at most once */
	if (db_query(d->db, &res, "SELECT DATE_FORMAT(NOW(6), '%Y-%m-%d %H:%i:%s.%f')", "") < 0)
		return db_gone(d->db) ? -1 : 0;
	lb_strlcpy(ready_by, db_get(res, 0, 0) ? db_get(res, 0, 0) : "", sizeof ready_by);
	db_res_free(res);
	while (!stop_flag && !reload_flag) {
		int tries = 0;
		/* a claim may meet a deadlock with another daemon: try again */
		while ((rc = jobs_claim(d->db, d->owner, LEASE_SECS, ready_by, &j)) < 0 &&
		    !db_gone(d->db) && ++tries < 5)
			nap(0.02 * tries);
		if (rc < 0) {
			log_warn("jobs: claim: %s", db_error(d->db));
			return db_gone(d->db) ? -1 : ran;
		}
		if (rc == 0)
			break;
		run_job(d, &j);
		ran++;
		if (settle(d) < 0)
			return db_gone(d->db) ? -1 : ran;
		if (!d->sp.running && !d->once)
			spool_here(d);
		fold(d);
	}
	if (time(NULL) - d->last_prune > 3600) {
		unsigned long long purged;
		if (jobs_prune(d->db, 30) < 0)
			log_warn("jobs: prune: %s", db_error(d->db));
		if (ingest_purge(d->db, d->conf.keep_deliveries_days, &purged) < 0)
			log_warn("deliveries: purge: %s", db_error(d->db));
		else if (purged)
			log_info("deliveries: purged %llu older than %lld days", purged,
			    d->conf.keep_deliveries_days);
		d->last_prune = time(NULL);
	}
	return ran;
}

static int
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	log_use_syslog();
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "NAME\n"
	    "    lb-syncd - leaderboard's sync daemon\n\n"
	    "SYNOPSIS\n"
	    "    lb-syncd [--config FILE] [--once] [--daemon] [--log-level debug|info|warn|error]\n\n"
	    "DESCRIPTION\n"
	    "    Applies the webhook spool (in a thread of its own, within about a second of\n"
	    "    MariaDB answering again, whatever the job queue holds), queues the scheduled\n"
	    "    syncs (teams every [sync] teams_every, each tracked repository's PRs every\n"
	    "    prs_every, the integrity check every integrity_every), runs queued jobs from\n"
	    "    the shared MariaDB queue in passes (each pass runs the jobs ready when it\n"
	    "    began, each at most once; several lb-syncd on several hosts may share the\n"
	    "    queue), and purges deliveries older than [hook] keep_deliveries_days.\n"
	    "    Without [github] token (or app_id and app_private_key_file), partner_org\n"
	    "    and repositories it never calls GitHub.\n\n"
	    "OPTIONS\n"
	    "    --config FILE   configuration (else $LB_CONFIG, else /etc/leaderboard/leaderboard.conf)\n"
	    "    --once          apply the spool, then one pass (queue what the schedules say\n"
	    "                    is due, run each job claimable at that moment at most once),\n"
	    "                    then exit\n"
	    "    --daemon        detach and log to syslog\n"
	    "    --log-level L   debug, info (default), warn or error\n\n"
	    "SIGNALS\n"
	    "    SIGTERM, SIGINT  release (or finish) the running job and exit\n"
	    "    SIGHUP           reload the configuration\n\n"
	    "EXIT STATUS\n"
	    "    0 success, 1 failure (one line on stderr), 2 bad usage\n");
}

/* The command line into d; -1 to exit with *status. */
static int
parse_args(struct daemon *d, int argc, char **argv, int *background, int *status)
{
	enum log_level lvl;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			d->config_path = argv[++i];
		else if (strcmp(argv[i], "--once") == 0)
			d->once = 1;
		else if (strcmp(argv[i], "--daemon") == 0)
			*background = 1;
		else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
			if (log_parse_level(argv[++i], &lvl) < 0) {
				fprintf(stderr, "lb-syncd: bad log level '%s'\n", argv[i]);
				*status = 2;
				return -1;
			}
			log_set_level(lvl);
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			*status = 0;
			return -1;
		} else {
			fprintf(stderr, "lb-syncd: unknown argument '%s' (see --help)\n", argv[i]);
			*status = 2;
			return -1;
		}
	}
	return 0;
}

static void
handle_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	char err[512];
	int background = 0, rc = 0, down_logged = 0;

	memset(&d, 0, sizeof d);
	log_init("lb-syncd");
	if (parse_args(&d, argc, argv, &background, &rc) < 0)
		return rc;
	if (conf_load(&d.conf, conf_path(d.config_path), err, sizeof err) < 0) {
		fprintf(stderr, "lb-syncd: %s\n", err);
		return 1;
	}
	rollup_configure(&d.conf);
	if (background && daemonize() < 0) {
		fprintf(stderr, "lb-syncd: cannot detach: %s\n", strerror(errno));
		return 1;
	}
	handle_signals();
	jobs_owner(d.owner, sizeof d.owner);
	if (make_gh(&d) < 0) {
		conf_free(&d.conf);
		return 1;
	}
	log_info("started (%s)%s", d.owner, d.once ? ", once" : "");
	say_github_state(&d.conf);
	if (!d.once)
		spooler_start(&d);
	while (!stop_flag) {
		int ran;

		if (reload_flag)
			reload(&d);
		if (d.db == NULL) {
			d.db = db_open(&d.conf, err, sizeof err);
			if (d.db == NULL) {
				if (d.once) {
					log_error("database: %s", err);
					rc = 1;
					break;
				}
				if (!down_logged)
					log_warn("database unreachable: %s (retrying)", err);
				down_logged = 1;
				nap(5);
				continue;
			}
			if (down_logged)
				log_info("database reachable again");
			down_logged = 0;
		}
		if ((ran = iteration(&d)) < 0) {
			if (d.once) {
				log_error("database: %s", db_error(d.db));
				rc = 1;
				break;
			}
			if (!down_logged)
				log_warn("database unreachable: %s (retrying)", db_error(d.db));
			down_logged = 1;
			nap(5);
			continue;
		}
		if (d.once)
			break;
		if (ran == 0)
			nap(IDLE_SECS);
	}
	spooler_stop(&d);
	log_info("stopped");
	gh_free(d.gh);
	db_close(d.db);
	conf_free(&d.conf);
	return rc;
}
