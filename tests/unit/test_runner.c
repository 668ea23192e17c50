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

/* Jobs that must fail permanently, with one line, before touching anything. */
static void
test_refused(void **state)
{
	static const struct {
		const char *kind, *args, *err;
	} cases[] = {
		{ "no_such_kind", "{}", "unknown job kind 'no_such_kind' or missing arguments" },
		{ "", NULL, "unknown job kind '' or missing arguments" },
		{ NULL, NULL, "unknown job kind '' or missing arguments" },
		{ "sync_teams", "{\"full\": tru", "job arguments: " },
		/* a sync of one team, repo or PR without its subject */
		{ "sync_team", "{\"full\": true}", "unknown job kind 'sync_team' or missing arguments" },
		{ "sync_prs", "{}", "unknown job kind 'sync_prs' or missing arguments" },
		{ "sync_pr", NULL, "unknown job kind 'sync_pr' or missing arguments" },
	};
	struct job_ctx s;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&s, 0, sizeof s);	/* no database, no GitHub client */
		assert_int_equal(runner_run(&s, cases[i].kind, cases[i].args), JOB_EPERM);
		assert_memory_equal(s.err, cases[i].err, strlen(cases[i].err));
	}
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

/* What each request becomes: kind, dedupe key, arguments. */
static void
test_describe(void **state)
{
	static const struct {
		const char *what, *target;
		long number;
		int full;
		const char *kind, *key, *args;
	} cases[] = {
		{ "teams", NULL, 0, 1, "sync_teams", "teams", "{\"full\":true}" },
		{ "team", "core", 0, 0, "sync_team", "team:core", "{\"slug\":\"core\",\"full\":false}" },
		{ "prs", "acme/widgets", 0, 0, "sync_prs", "prs:acme/widgets",
		  "{\"repo\":\"acme/widgets\",\"full\":false}" },
		{ "pr", "acme/widgets", 42, 0, "sync_pr", "pr:acme/widgets#42",
		  "{\"repo\":\"acme/widgets\",\"number\":42}" },
		{ "check", NULL, 0, 1, "check", "check", "{\"repair\":true}" },
	};
	struct job j;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(jobs_describe(cases[i].what, cases[i].target, cases[i].number,
		    cases[i].full, &j), 0);
		assert_string_equal(j.kind, cases[i].kind);
		assert_string_equal(j.dedupe_key, cases[i].key);
		assert_string_equal(j.args, cases[i].args);
	}
	assert_int_equal(jobs_describe("everything", NULL, 0, 0, &j), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
