/* lib/buf: bounded buffers and the small helpers every module shares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"

#include <stdlib.h>
#include <string.h>

static void
test_lower_bound(void **state)
{
	static const unsigned long long v[] = { 2, 4, 4, 4, 9, 30 };
	const size_t n = sizeof v / sizeof v[0];

	(void)state;
	assert_int_equal(lb_lower_bound(v, 0, 5), 0);	/* empty */
	assert_int_equal(lb_lower_bound(v, n, 0), 0);	/* below all */
	assert_int_equal(lb_lower_bound(v, n, 2), 0);
	assert_int_equal(lb_lower_bound(v, n, 3), 1);
	assert_int_equal(lb_lower_bound(v, n, 4), 1);	/* the first of equals */
	assert_int_equal(lb_lower_bound(v, n, 5), 4);
	assert_int_equal(lb_lower_bound(v, n, 30), 5);
	assert_int_equal(lb_lower_bound(v, n, 31), n);	/* above all */
	assert_int_equal(lb_lower_bound(v, n, UINT64_MAX), n);
}

static void
test_grow(void **state)
{
	int *a = NULL;
	size_t cap = 0;

	(void)state;
	for (size_t i = 0; i < 100; i++) {
		assert_int_equal(lb_grow(&a, &cap, i, sizeof *a, 4), 0);
		assert_true(cap > i);
		a[i] = (int)i;
	}
	assert_int_equal(cap, 128);	/* 4 doubled five times */
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(a[i], (int)i);
	free(a);
}

static void
test_bounds(void **state)
{
	struct buf b = BUF_INIT;
	char s[6];
	long long v;

	(void)state;
	b.max = 8;
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(buf_putc(&b, '9'), -1);	/* past max */
	assert_int_equal(b.len, 8);
	buf_free(&b);
	assert_int_equal(lb_snprintf(s, sizeof s, "%s", "abcde"), 0);
	assert_int_equal(lb_snprintf(s, sizeof s, "%s", "abcdef"), -1);
	assert_string_equal(s, "abcde");
	assert_int_equal(lb_strlcpy(s, "longer than six", sizeof s), 15);
	assert_string_equal(s, "longe");
	assert_int_equal(lb_parse_ll("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(lb_parse_ll("101", 0, 100, &v), -1);
	assert_int_equal(lb_parse_ll("4x", 0, 100, &v), -1);
	assert_int_equal(lb_parse_ll("", 0, 100, &v), -1);
}

/* buf_reserve_exact: room for exactly n more bytes (and the NUL), never
 * past max, the data kept. */
static void
test_reserve_exact(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(buf_reserve_exact(&b, 1000), 0);
	assert_int_equal(b.cap, 1001);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_int_equal(b.cap, 1001);	/* no growth within the room */
	assert_int_equal(buf_reserve_exact(&b, 10), 0);
	assert_int_equal(b.cap, 1001);	/* room enough already */
	assert_int_equal(buf_reserve_exact(&b, 2000), 0);
	assert_int_equal(b.cap, 2004);
	assert_string_equal(b.data, "abc");
	buf_free(&b);
	b.max = 100;
	assert_int_equal(buf_reserve_exact(&b, 101), -1);	/* past max */
	assert_int_equal(buf_reserve_exact(&b, 100), 0);
	assert_int_equal(b.cap, 101);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lower_bound),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_reserve_exact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
