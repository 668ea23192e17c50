/* lib/period: parsing, validation, buckets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "period.h"

static const time_t NOW = 1718000000;	/* 2024-06-10 06:13:20 UTC */

static void
ok(const char *k, const char *v, const char *f, const char *t, struct period *p)
{
	const char *bad = NULL;
	char msg[128];

	assert_int_equal(period_parse(k, v, f, t, NOW, p, &bad, msg, sizeof msg), 0);
}

static void
bad(const char *k, const char *v, const char *f, const char *t, const char *param)
{
	struct period p;
	const char *b = NULL;
	char msg[128];

	assert_int_equal(period_parse(k, v, f, t, NOW, &p, &b, msg, sizeof msg), -1);
	assert_non_null(b);
	assert_string_equal(b, param);
	assert_non_null(strstr(msg, param));
}

static void
test_kinds(void **state)
{
	struct period p;

	(void)state;
	ok(NULL, NULL, NULL, NULL, &p);
	assert_int_equal(p.kind, PERIOD_ALL);
	assert_int_equal(p.grain, 'A');
	assert_string_equal(p.from, "");

	ok("month", "2024-02", NULL, NULL, &p);
	assert_string_equal(p.from, "2024-02-01");
	assert_string_equal(p.to, "2024-02-29");
	assert_string_equal(p.start, "2024-02-01 00:00:00");
	assert_string_equal(p.end, "2024-03-01 00:00:00");
	assert_int_equal(p.grain, 'M');
	assert_string_equal(p.bucket, "2024-02-01");

	ok("month", "2023-12", NULL, NULL, &p);
	assert_string_equal(p.end, "2024-01-01 00:00:00");

	ok("quarter", "2024-Q4", NULL, NULL, &p);
	assert_string_equal(p.from, "2024-10-01");
	assert_string_equal(p.to, "2024-12-31");
	assert_string_equal(p.bucket, "2024-10-01");
	assert_int_equal(p.grain, 'Q');

	ok("year", "2023", NULL, NULL, &p);
	assert_string_equal(p.value, "2023");
	assert_string_equal(p.to, "2023-12-31");
	assert_string_equal(p.end, "2024-01-01 00:00:00");

	/* defaults: the one containing now */
	ok("month", NULL, NULL, NULL, &p);
	assert_string_equal(p.value, "2024-06");
	ok("quarter", "", NULL, NULL, &p);
	assert_string_equal(p.value, "2024-Q2");
	ok("year", NULL, NULL, NULL, &p);
	assert_string_equal(p.value, "2024");
}

static void
test_ranges(void **state)
{
	struct period p;

	(void)state;
	ok("range", NULL, "2024-03-05", "2024-04-20", &p);
	assert_int_equal(p.grain, 0);
	assert_string_equal(p.start, "2024-03-05 00:00:00");
	assert_string_equal(p.end, "2024-04-21 00:00:00");
	ok("range", NULL, "2024-03-05", "2024-03-05", &p);
	assert_string_equal(p.end, "2024-03-06 00:00:00");
	ok("range", NULL, "2024-02-01", "2024-02-29", &p);
	assert_int_equal(p.grain, 'M');
	ok("range", NULL, "2024-04-01", "2024-06-30", &p);
	assert_int_equal(p.grain, 'Q');
	assert_string_equal(p.bucket, "2024-04-01");
	ok("range", NULL, "2024-02-01", "2024-04-30", &p);
	assert_int_equal(p.grain, 0);
	ok("range", NULL, "2023-01-01", "2023-12-31", &p);
	assert_int_equal(p.grain, 'Y');
	ok("range", NULL, "2023-12-31", "2024-01-01", &p);
	assert_int_equal(p.grain, 0);
	assert_string_equal(p.end, "2024-01-02 00:00:00");
	ok("range", NULL, "9999-12-01", "9999-12-31", &p);
	assert_string_equal(p.end, "10000-01-01 00:00:00");
}

static void
test_errors(void **state)
{
	(void)state;
	bad("month", "2024-13", NULL, NULL, "value");
	bad("month", "2024-00", NULL, NULL, "value");
	bad("month", "2024-3", NULL, NULL, "value");
	bad("month", "24-03", NULL, NULL, "value");
	bad("month", "2024-03x", NULL, NULL, "value");
	bad("quarter", "2024-Q5", NULL, NULL, "value");
	bad("quarter", "2024-Q0", NULL, NULL, "value");
	bad("quarter", "2024Q1", NULL, NULL, "value");
	bad("year", "1969", NULL, NULL, "value");
	bad("year", "20245", NULL, NULL, "value");
	bad("year", "-202", NULL, NULL, "value");
	bad("week", NULL, NULL, NULL, "period");
	bad("ALL", NULL, NULL, NULL, "period");
	bad("range", NULL, NULL, "2024-01-01", "from");
	bad("range", NULL, "2024-01-01", NULL, "to");
	bad("range", NULL, "2024-02-30", "2024-03-01", "from");
	bad("range", NULL, "2023-01-01", "2023-02-29", "to");
	bad("range", NULL, "2024-05-01", "2024-04-30", "from");
	bad("range", NULL, "2024-1-01", "2024-04-30", "from");
}

static void
test_buckets(void **state)
{
	char b[11];

	(void)state;
	period_bucket('Q', 2024, 8, 17, b);
	assert_string_equal(b, "2024-07-01");
	period_bucket('Y', 2024, 8, 17, b);
	assert_string_equal(b, "2024-01-01");
	period_bucket('M', 2024, 8, 17, b);
	assert_string_equal(b, "2024-08-01");
	period_bucket('A', 2024, 8, 17, b);
	assert_string_equal(b, "1970-01-01");
}

/* Walks [from, to] with period_piece into "G:bucket G:bucket ..." */
static void
tile(const char *from, const char *to, char *out, size_t len)
{
	char at[11], next[11];
	size_t n = 0;

	out[0] = '\0';
	for (lb_strlcpy(at, from, sizeof at); strcmp(at, to) <= 0; lb_strlcpy(at, next, sizeof at)) {
		char g = period_piece(at, to, next);
		if (g == 0 || lb_snprintf(out + n, len - n, "%s%c:%s", n ? " " : "", g, at) < 0)
			break;
		n = strlen(out);
	}
}

static void
test_pieces(void **state)
{
	char t[4096];

	(void)state;
	/* the largest aligned buckets, days only at the edges */
	tile("2024-03-30", "2024-05-02", t, sizeof t);
	assert_string_equal(t, "D:2024-03-30 D:2024-03-31 M:2024-04-01 D:2024-05-01 D:2024-05-02");
	tile("2023-12-31", "2025-04-01", t, sizeof t);
	assert_string_equal(t, "D:2023-12-31 Y:2024-01-01 Q:2025-01-01 D:2025-04-01");
	tile("2024-02-01", "2024-02-29", t, sizeof t);	/* leap February is a month */
	assert_string_equal(t, "M:2024-02-01");
	tile("2024-07-01", "2024-12-31", t, sizeof t);
	assert_string_equal(t, "Q:2024-07-01 Q:2024-10-01");
	tile("2024-03-06", "2024-03-06", t, sizeof t);
	assert_string_equal(t, "D:2024-03-06");
	/* the last valid year ends the walk */
	tile("9999-01-01", "9999-12-31", t, sizeof t);
	assert_string_equal(t, "Y:9999-01-01");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
