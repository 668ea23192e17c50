/* Unit tests of lib/http: the Authorization header's bearer credentials
 * (RFC 7235 / 6750), the constant-time comparison, Accept-Encoding and the
 * gzip form of answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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

/* Accept-Encoding: gzip taken when named (or "*") with a weight above 0;
 * a gzip named with q=0 refuses it even when "*" takes anything. */
static void
test_takes_gzip(void **state)
{
	const char *yes[] = { "gzip", "gzip, deflate", "deflate, gzip", "gzip, deflate, br, zstd",
	    "GZIP", "x-gzip", "br;q=1.0, gzip;q=0.8", "gzip;q=0.001", "*", "identity, *;q=0.5",
	    "gzip ; q=1", " ,gzip" };
	const char *no[] = { NULL, "", "identity", "deflate, br", "gzip;q=0", "gzip;q=0.000",
	    "gzip; q=0, *", "*;q=0", "gzipx", "xgzip", "gzi", "gzip;q=0, deflate", "br, *;q=0.0" };

	(void)state;
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (http_takes_gzip(yes[i]) != 1)
			fail_msg("'%s' should take gzip", yes[i]);
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (http_takes_gzip(no[i]) != 0)
			fail_msg("'%s' should not take gzip", no[i] ? no[i] : "(none)");
}

/* The gzip form inflates back to the body; a body it would not shrink has none. */
static void
test_gzip(void **state)
{
	char body[4096], *gz, back[8192];
	size_t gzlen;
	z_stream z;
	static const char row[] = "{\"team\":\"alpha\",\"merged\":12},";

	(void)state;
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = row[i % (sizeof row - 1)];
	assert_int_equal(http_gzip(body, sizeof body, &gz, &gzlen), 0);
	assert_true(gzlen > 18 && gzlen < sizeof body / 4);
	assert_int_equal((unsigned char)gz[0], 0x1f);	/* the gzip magic */
	assert_int_equal((unsigned char)gz[1], 0x8b);
	memset(&z, 0, sizeof z);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)gzlen;
	z.next_out = (Bytef *)back;
	z.avail_out = sizeof back;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, sizeof body);
	assert_memory_equal(back, body, sizeof body);
	inflateEnd(&z);
	free(gz);
	/* one byte cannot get smaller */
	assert_int_equal(http_gzip("x", 1, &gz, &gzlen), -1);
	assert_null(gz);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer_accepted),
		cmocka_unit_test(test_bearer_refused),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_takes_gzip),
		cmocka_unit_test(test_gzip),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
