/*
 * lib/date: the calendar and time texts. Every expected value is a fact of
 * the Gregorian calendar or of UTC (epoch seconds checked by hand:
 * 86400 s a day, 365 days a common year, 366 a leap year), never a value
 * read from the program.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "date.h"

static void
test_leap(void **state)
{
	(void)state;
	assert_true(date_leap(2024));		/* divisible by 4 */
	assert_false(date_leap(2023));
	assert_false(date_leap(1900));		/* by 100, not by 400 */
	assert_false(date_leap(2100));
	assert_true(date_leap(2000));		/* by 400 */
	assert_true(date_leap(1600));
	assert_false(date_leap(1970));
	assert_true(date_leap(1972));
}

static void
test_days_in_month(void **state)
{
	static const int common[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	(void)state;
	for (int m = 1; m <= 12; m++) {
		assert_int_equal(date_days_in_month(2023, m), common[m - 1]);
		assert_int_equal(date_days_in_month(2024, m), m == 2 ? 29 : common[m - 1]);
	}
	assert_int_equal(date_days_in_month(1900, 2), 28);
	assert_int_equal(date_days_in_month(2000, 2), 29);
	assert_int_equal(date_days_in_month(2024, 0), 0);
	assert_int_equal(date_days_in_month(2024, 13), 0);
	assert_int_equal(date_days_in_month(2024, -1), 0);
}

static void
test_parse_day(void **state)
{
	int y = 0, m = 0, d = 0;

	(void)state;
	assert_int_equal(date_parse_day("2024-02-29", &y, &m, &d), 0);
	assert_int_equal(y, 2024);
	assert_int_equal(m, 2);
	assert_int_equal(d, 29);
	assert_int_equal(date_parse_day("1970-01-01", &y, &m, &d), 0);
	assert_int_equal(date_parse_day("9999-12-31", &y, &m, &d), 0);
	assert_int_equal(y, 9999);
	assert_int_equal(d, 31);
	assert_int_equal(date_parse_day("2000-02-29", &y, &m, &d), 0);
	const char *bad[] = { NULL, "", "2023-02-29", "1900-02-29", "2024-04-31", "2024-13-01",
		"2024-00-10", "2024-01-00", "2024-01-32", "1969-12-31", "2024-1-01", "2024-01-1",
		"2024/01/01", "2024-01-01 ", " 2024-01-01", "2024-01-01x", "abcd-01-01", "20240101",
		"+024-01-01", "2024-+1-01" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(date_parse_day(bad[i], &y, &m, &d), -1);
}

static void
test_parse_month_year(void **state)
{
	int y = 0, m = 0;

	(void)state;
	assert_int_equal(date_parse_month("2024-03", &y, &m), 0);
	assert_int_equal(y, 2024);
	assert_int_equal(m, 3);
	assert_int_equal(date_parse_month("1970-01", &y, &m), 0);
	assert_int_equal(date_parse_month("9999-12", &y, &m), 0);
	const char *badm[] = { NULL, "", "2024-13", "2024-00", "2024-3", "1969-12", "2024/03",
		"2024-03-01", "2024-03 ", "abcd-03", "2024- 3" };
	for (size_t i = 0; i < sizeof badm / sizeof badm[0]; i++)
		assert_int_equal(date_parse_month(badm[i], &y, &m), -1);

	assert_int_equal(date_parse_year("2024", &y), 0);
	assert_int_equal(y, 2024);
	assert_int_equal(date_parse_year("1970", &y), 0);
	assert_int_equal(date_parse_year("9999", &y), 0);
	const char *bady[] = { NULL, "", "1969", "0000", "24", "20245", "+202", " 2024", "2o24" };
	for (size_t i = 0; i < sizeof bady / sizeof bady[0]; i++)
		assert_int_equal(date_parse_year(bady[i], &y), -1);
}

static void
test_month_index(void **state)
{
	char key[8];

	(void)state;
	assert_int_equal(date_month_index("2024-03"), 2024 * 12 + 2);
	assert_int_equal(date_month_index("2024-03-31 23:59:59"), 2024 * 12 + 2);
	assert_int_equal(date_month_index("2008-01-01"), 2008 * 12);
	assert_int_equal(date_month_index("2024-12"), 2024 * 12 + 11);
	assert_int_equal(date_month_index("1970-01"), 1970 * 12);
	assert_int_equal(date_month_index("2024-13"), -1);
	assert_int_equal(date_month_index("2024-00"), -1);
	assert_int_equal(date_month_index("2024-3"), -1);
	assert_int_equal(date_month_index("2024/03"), -1);
	assert_int_equal(date_month_index("2024-03x"), -1);
	assert_int_equal(date_month_index("abcd-03"), -1);
	assert_int_equal(date_month_index("1969-12"), -1);
	assert_int_equal(date_month_index(""), -1);
	assert_int_equal(date_month_index(NULL), -1);

	date_month_key(key, sizeof key, 2024, 3);
	assert_string_equal(key, "2024-03");
	date_month_key(key, sizeof key, 1970, 12);
	assert_string_equal(key, "1970-12");
}

static void
test_epoch(void **state)
{
	(void)state;
	assert_int_equal(date_epoch("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(date_epoch("1970-01-02T00:00:00Z"), 86400);
	assert_int_equal(date_epoch("1971-01-01T00:00:00Z"), 365 * 86400);
	assert_int_equal(date_epoch("1973-01-01T00:00:00Z"), (365 * 2 + 366) * 86400);	/* 1972 leap */
	assert_int_equal(date_epoch("2000-01-01T00:00:00Z"), 946684800);	/* 10957 days */
	assert_int_equal(date_epoch("2001-09-09T01:46:40Z"), 1000000000);
	assert_int_equal(date_epoch("2024-03-01 10:00:00"), 1709287200);
	assert_int_equal(date_epoch("2024-03-01 10:00:00.123456"), 1709287200);
	assert_int_equal(date_epoch("2024-03-01T12:00:00+02:00"), 1709287200);
	assert_int_equal(date_epoch("2024-03-01T09:30:00-00:30"), 1709287200);
	assert_int_equal(date_epoch("9999-12-31T23:59:59Z"), 253402300799LL);
	const char *bad[] = { NULL, "", "yesterday", "2024-03-01", "2024-03-01T10:00",
		"2024-03-01T10:00:00Q", "2024-02-30T00:00:00Z", "2024-03-01T10:60:00Z",
		"2024-03-01T10:00:60Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+00:01",
		"9999-12-31T23:59:59-00:01", "2024-03-01T10:00:00+24:00", "2024-03-01X10:00:00Z",
		"2024-03-01T10:00:00Z " };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(date_epoch(bad[i]), -1);
}

static void
test_from_iso(void **state)
{
	char out[32], small[19];

	(void)state;
	assert_int_equal(date_from_iso("2024-03-01T10:00:00Z", out, sizeof out), 0);
	assert_string_equal(out, "2024-03-01 10:00:00");
	assert_int_equal(date_from_iso("2024-03-01T10:00:00.123456Z", out, sizeof out), 0);
	assert_string_equal(out, "2024-03-01 10:00:00");
	assert_int_equal(date_from_iso("2024-03-01T01:30:00+02:00", out, sizeof out), 0);
	assert_string_equal(out, "2024-02-29 23:30:00");	/* leap day */
	assert_int_equal(date_from_iso("2023-03-01T01:30:00+02:00", out, sizeof out), 0);
	assert_string_equal(out, "2023-02-28 23:30:00");	/* common year */
	assert_int_equal(date_from_iso("2023-12-31T23:00:00-01:00", out, sizeof out), 0);
	assert_string_equal(out, "2024-01-01 00:00:00");
	assert_int_equal(date_from_iso("2024-03-01 10:00:00", out, sizeof out), 0);
	assert_string_equal(out, "2024-03-01 10:00:00");
	const char *bad[] = { NULL, "", "yesterday", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
		"2024-03-01T24:00:00Z", "2024-03-01T10:00:00X", "2024-03-01T10:00:00+2:00",
		"1969-12-31T23:59:59Z", "2024-03-01T10:00:00.Z", "2024-3-01T10:00:00Z" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(date_from_iso(bad[i], out, sizeof out), -1);
	/* "YYYY-MM-DD HH:MM:SS" needs 20 bytes */
	assert_int_equal(date_from_iso("2024-03-01T10:00:00Z", small, sizeof small), -1);
}

static void
test_sql(void **state)
{
	char out[32];

	(void)state;
	date_sql(0, out, sizeof out);
	assert_string_equal(out, "1970-01-01 00:00:00");
	date_sql(951782400, out, sizeof out);		/* 11016 days */
	assert_string_equal(out, "2000-02-29 00:00:00");
	date_sql(1709287200 + 86399 - 36000, out, sizeof out);
	assert_string_equal(out, "2024-03-01 23:59:59");
	date_sql(date_epoch("2024-02-29T23:59:59Z") + 1, out, sizeof out);
	assert_string_equal(out, "2024-03-01 00:00:00");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leap),
		cmocka_unit_test(test_days_in_month),
		cmocka_unit_test(test_parse_day),
		cmocka_unit_test(test_parse_month_year),
		cmocka_unit_test(test_month_index),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_from_iso),
		cmocka_unit_test(test_sql),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
