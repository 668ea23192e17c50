/*
 * runner — the one table of job kinds and their handlers, above lib/sync and
 * lib/integrity (which do not know each other). lb-syncd runs every claimed
 * job through runner_run(); lb-admin ... --now runs the same handlers.
 *
 * The kinds (args as JSON; lib/jobs.h's jobs_describe() builds the first
 * five from what they do):
 *   sync_teams   {"full"}            sync_teams() of lib/sync
 *   sync_team    {"slug","full"}     sync_team()
 *   sync_prs     {"repo","full"}     sync_prs()
 *   sync_pr      {"repo","number"}   sync_pr()
 *   check        {"repair"}          integrity_run() of lib/integrity
 *   redeliver, replay, resync_month  the repairs a check queues (lib/integrity;
 *                                    resync_month syncs through lib/sync)
 *   spool        {}                  spool_apply_all() of lib/spool
 *
 * Contract:
 *  - runner_run() parses args (text, may be NULL or "") once and calls the
 *    kind's handler with ctx. Returns the handler's JOB_* code (lib/jobs.h).
 *    Unparsable args, an unknown kind or a missing required argument (slug,
 *    repo) -> JOB_EPERM with one line in ctx->err; nothing else is touched.
 *  - runner_knows() is 1 when the table has kind (NULL: 0).
 */
#ifndef LB_RUNNER_H
#define LB_RUNNER_H

struct job_ctx;

int runner_run(struct job_ctx *ctx, const char *kind, const char *args);
int runner_knows(const char *kind);

#endif
