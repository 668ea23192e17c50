/* lib/runner and lib/jobs: the job table and the job a request describes,
 * without a database (the failures below must not need one). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "integrity.h"
#include "jobs.h"
#include "runner.h"

static void
test_unknown_kind(void **state)
{
	struct job_ctx s;

	(void)state;
	memset(&s, 0, sizeof s);	/* no database, no GitHub client */
	assert_int_equal(runner_run(&s, "no_such_kind", "{}"), JOB_EPERM);
	assert_string_equal(s.err, "unknown job kind 'no_such_kind' or missing arguments");
	memset(&s, 0, sizeof s);
	assert_int_equal(runner_run(&s, "", NULL), JOB_EPERM);
	assert_non_null(strstr(s.err, "unknown job kind"));
	memset(&s, 0, sizeof s);
	assert_int_equal(runner_run(&s, NULL, NULL), JOB_EPERM);
	assert_non_null(strstr(s.err, "unknown job kind"));
}

static void
test_bad_arguments(void **state)
{
	struct job_ctx s;

	(void)state;
	memset(&s, 0, sizeof s);
	assert_int_equal(runner_run(&s, "sync_teams", "{\"full\": tru"), JOB_EPERM);
	assert_non_null(strstr(s.err, "job arguments: "));
	/* a sync of one team, repo or PR without its subject */
	memset(&s, 0, sizeof s);
	assert_int_equal(runner_run(&s, "sync_team", "{\"full\": true}"), JOB_EPERM);
	assert_string_equal(s.err, "unknown job kind 'sync_team' or missing arguments");
	memset(&s, 0, sizeof s);
	assert_int_equal(runner_run(&s, "sync_prs", "{}"), JOB_EPERM);
	assert_string_equal(s.err, "unknown job kind 'sync_prs' or missing arguments");
	memset(&s, 0, sizeof s);
	assert_int_equal(runner_run(&s, "sync_pr", NULL), JOB_EPERM);
	assert_string_equal(s.err, "unknown job kind 'sync_pr' or missing arguments");
}

static void
test_table(void **state)
{
	static const char *const repairs[] = { "redeliver", "replay", "spool", "resync_month" };
	static const char *const what[] = { "teams", "team", "prs", "pr", "check" };
	struct job j;

	(void)state;
	/* every repair a check queues has a handler */
	for (size_t i = 0; i < sizeof repairs / sizeof repairs[0]; i++) {
		assert_int_equal(integrity_job_kind(repairs[i]), 1);
		assert_int_equal(runner_knows(repairs[i]), 1);
	}
	/* and so has every job lb-admin or a schedule queues */
	for (size_t i = 0; i < sizeof what / sizeof what[0]; i++) {
		assert_int_equal(jobs_describe(what[i], "acme/widgets", 7, 0, &j), 0);
		assert_int_equal(runner_knows(j.kind), 1);
	}
	assert_int_equal(runner_knows("sync"), 0);
	assert_int_equal(runner_knows(NULL), 0);
}

static void
test_describe(void **state)
{
	struct job j;

	(void)state;
	assert_int_equal(jobs_describe("teams", NULL, 0, 1, &j), 0);
	assert_string_equal(j.kind, "sync_teams");
	assert_string_equal(j.dedupe_key, "teams");
	assert_string_equal(j.args, "{\"full\":true}");
	assert_int_equal(jobs_describe("team", "core", 0, 0, &j), 0);
	assert_string_equal(j.kind, "sync_team");
	assert_string_equal(j.dedupe_key, "team:core");
	assert_string_equal(j.args, "{\"slug\":\"core\",\"full\":false}");
	assert_int_equal(jobs_describe("prs", "acme/widgets", 0, 0, &j), 0);
	assert_string_equal(j.kind, "sync_prs");
	assert_string_equal(j.dedupe_key, "prs:acme/widgets");
	assert_int_equal(jobs_describe("pr", "acme/widgets", 42, 0, &j), 0);
	assert_string_equal(j.kind, "sync_pr");
	assert_string_equal(j.dedupe_key, "pr:acme/widgets#42");
	assert_string_equal(j.args, "{\"repo\":\"acme/widgets\",\"number\":42}");
	assert_int_equal(jobs_describe("check", NULL, 0, 1, &j), 0);
	assert_string_equal(j.kind, "check");
	assert_string_equal(j.args, "{\"repair\":true}");
	assert_int_equal(jobs_describe("everything", NULL, 0, 0, &j), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_kind),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
