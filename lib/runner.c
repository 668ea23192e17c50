/*
 * runner — see runner.h: kinds[] is the table, runner_run() the dispatch.
 */
#include "runner.h"
#include "buf.h"
#include "db.h"
#include "integrity.h"
#include "jobs.h"
#include "json.h"
#include "spool.h"
#include "sync.h"

#include <string.h>

/* A handler: the job's parsed arguments (NULL for none); a JOB_* code. */
typedef int (*job_fn)(struct job_ctx *s, json_val args);

static int
missing(struct job_ctx *s, const char *kind)
{
	lb_snprintf(s->err, sizeof s->err, "unknown job kind '%.32s' or missing arguments", kind);
	return JOB_EPERM;
}

static int
run_sync_teams(struct job_ctx *s, json_val v)
{
	return sync_teams(s, json_bool(v, "full", 0));
}

static int
run_sync_team(struct job_ctx *s, json_val v)
{
	const char *slug = json_str(v, "slug");

	return slug ? sync_team(s, slug, json_bool(v, "full", 0)) : missing(s, "sync_team");
}

static int
run_sync_prs(struct job_ctx *s, json_val v)
{
	const char *repo = json_str(v, "repo");

	return repo ? sync_prs(s, repo, json_bool(v, "full", 0)) : missing(s, "sync_prs");
}

static int
run_sync_pr(struct job_ctx *s, json_val v)
{
	const char *repo = json_str(v, "repo");

	return repo ? sync_pr(s, repo, (long)json_ll(v, "number", 0)) : missing(s, "sync_pr");
}

static int
run_check(struct job_ctx *s, json_val v)
{
	return integrity_run(s->conf, s->db, json_bool(v, "repair", 0), s->err, sizeof s->err) < 0
	    ? JOB_ERETRY : JOB_OK;
}

static int
run_spool(struct job_ctx *s, json_val v)
{
	int applied = 0;

	(void)v;
	if (spool_apply_all(s->conf, s->db, NULL, &applied) < 0) {
		lb_snprintf(s->err, sizeof s->err, "spool: stopped on an error: %s", db_error(s->db));
		return JOB_ERETRY;
	}
	return JOB_OK;
}

static int
run_resync_month(struct job_ctx *s, json_val v)
{
	static const struct integrity_syncer by_sync = { sync_pr, sync_prs };

	return integrity_resync_month(s, v, &by_sync);
}

static const struct {
	const char *kind;
	job_fn run;
} kinds[] = {
	{ "sync_teams",   run_sync_teams },
	{ "sync_team",    run_sync_team },
	{ "sync_prs",     run_sync_prs },
	{ "sync_pr",      run_sync_pr },
	{ "check",        run_check },
	{ "redeliver",    integrity_redeliver },
	{ "replay",       integrity_replay },
	{ "resync_month", run_resync_month },
	{ "spool",        run_spool },
};

static job_fn
find(const char *kind)
{
	for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return kinds[i].run;
	return NULL;
}

int
runner_knows(const char *kind)
{
	return find(kind) != NULL;
}

int
runner_run(struct job_ctx *s, const char *kind, const char *args)
{
	job_fn run = find(kind);
	char err[64];
	json_val v = NULL;
	int rc;

	if (args && *args) {
		v = json_parse(args, strlen(args), 4, JOB_ARGS_MAX, err, sizeof err);
		if (v == NULL) {
			lb_snprintf(s->err, sizeof s->err, "job arguments: %s", err);
			return JOB_EPERM;
		}
	}
	rc = run ? run(s, v) : missing(s, kind ? kind : "");
	json_free(v);
	return rc;
}
