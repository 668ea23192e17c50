/* lib/integrity: the pure helper (search date ranges; month indexes: test_date). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "integrity.h"

static void
test_range(void **state)
{
	char out[40];

	(void)state;
	assert_int_equal(integrity_range(2024 * 12 + 1, 2024 * 12 + 1, out, sizeof out), 0);
	assert_string_equal(out, "2024-02-01..2024-02-29");	/* leap year */
	assert_int_equal(integrity_range(2023 * 12 + 1, 2023 * 12 + 1, out, sizeof out), 0);
	assert_string_equal(out, "2023-02-01..2023-02-28");
	assert_int_equal(integrity_range(1900 * 12 + 1, 1900 * 12 + 1, out, sizeof out), 0);
	assert_string_equal(out, "1900-02-01..1900-02-28");	/* not a leap year */
	assert_int_equal(integrity_range(2000 * 12 + 1, 2000 * 12 + 1, out, sizeof out), 0);
	assert_string_equal(out, "2000-02-01..2000-02-29");
	assert_int_equal(integrity_range(INTEGRITY_FIRST_MONTH, 2024 * 12 + 11, out, sizeof out), 0);
	assert_string_equal(out, "2008-01-01..2024-12-31");
	assert_int_equal(integrity_range(2024 * 12 + 3, 2024 * 12 + 5, out, sizeof out), 0);
	assert_string_equal(out, "2024-04-01..2024-06-30");
	assert_int_equal(integrity_range(5, 4, out, sizeof out), -1);
	assert_int_equal(integrity_range(-1, 4, out, sizeof out), -1);
	assert_int_equal(integrity_range(2024 * 12, 2024 * 12, out, 10), -1);	/* does not fit */
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(integrity_check_names[IC_FRESHNESS], "freshness");
	assert_string_equal(integrity_check_names[IC_RECONCILIATION], "reconciliation");
	assert_string_equal(integrity_check_names[IC_REFERENTIAL], "referential");
	assert_string_equal(integrity_check_names[IC_DELIVERIES], "deliveries");
	assert_string_equal(integrity_check_names[IC_SPOOL], "spool");
	assert_int_equal(integrity_job_kind("redeliver"), 1);
	assert_int_equal(integrity_job_kind("resync_month"), 1);
	assert_int_equal(integrity_job_kind("sync_pr"), 0);
	assert_int_equal(integrity_job_kind(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
