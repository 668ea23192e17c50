/* Unit tests of lib/http: the Authorization header's bearer credentials
 * (RFC 7235 / 6750) and the constant-time comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "http.h"

static void
test_bearer_accepted(void **state)
{
	/* the scheme in any case, one or more blanks, blanks around ignored */
	const char *ok[] = { "Bearer tok3n", "bearer tok3n", "BEARER tok3n", "bEaReR tok3n",
	    "Bearer   tok3n", "Bearer\ttok3n", " Bearer tok3n ", "Bearer tok3n\t" };

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		size_t len = 0;
		const char *t = http_bearer(ok[i], &len);
		assert_non_null(t);
		assert_int_equal(len, 5);
		assert_memory_equal(t, "tok3n", 5);
	}
}

static void
test_bearer_refused(void **state)
{
	const char *bad[] = { "", "Bearer", "Bearer ", "Bearer\t ", "Bearertok3n", "Basic tok3n",
	    "Token tok3n", "Bearers tok3n", "Bear tok3n", "Bearer tok3n extra", "Bearer a b", "tok3n" };

	(void)state;
	assert_null(http_bearer(NULL, &(size_t){ 0 }));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t len = 0;
		assert_null(http_bearer(bad[i], &len));
	}
}

static void
test_ct_equal(void **state)
{
	(void)state;
	assert_true(http_ct_equal("abc", 3, "abc", 3));
	assert_false(http_ct_equal("abc", 3, "abd", 3));
	assert_false(http_ct_equal("abc", 3, "abcd", 4));
	assert_false(http_ct_equal("", 0, "a", 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer_accepted),
		cmocka_unit_test(test_bearer_refused),
		cmocka_unit_test(test_ct_equal),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
