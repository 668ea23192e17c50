/* lib/utf8: the strict validator and the cut at a character boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "utf8.h"
#include "utf8_cases.h"

#include <string.h>

static void
test_utf8_valid(void **state)
{
	static const char *const good[] = {
		"", "ascii only", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf" /* U+D7FF */,
		"\xee\x80\x80" /* U+E000 */, "\xef\xbf\xbf" /* U+FFFF */, "\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbf" /* U+10FFFF */, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		"0123456789abcdef0123456789abcdef\xc3\xa9", "\x7f",
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (!utf8_valid(good[i], strlen(good[i])))
			fail_msg("refused: good[%zu]", i);
	assert_true(utf8_valid("a\0b", 3));	/* NUL is a character */
	for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
		const char *s = bad_utf8[i].bytes;
		if (utf8_valid(s, strlen(s)))
			fail_msg("accepted: %s", bad_utf8[i].name);
		/* anywhere in a longer string, past the word-at-a-time ASCII path */
		lb_snprintf(buf, sizeof buf, "0123456789abcdef%s0123456789", s);
		if (utf8_valid(buf, strlen(buf)))
			fail_msg("accepted inside ASCII: %s", bad_utf8[i].name);
	}
	/* only the bytes given count: a valid prefix of a cut sequence */
	assert_true(utf8_valid("\xc3\xa9\xe2", 2));
	assert_false(utf8_valid("\xc3\xa9\xe2", 3));
}

static void
test_utf8_cut(void **state)
{
	/* "é€😀" = C3 A9 | E2 82 AC | F0 9F 98 80 */
	static const char s[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	static const size_t want[] = { 0, 0, 2, 2, 2, 5, 5, 5, 5, 9, 9 };
	char dst[8];

	(void)state;
	for (size_t max = 0; max < sizeof want / sizeof want[0]; max++) {
		size_t n = utf8_cut(s, 9, max);
		assert_int_equal(n, want[max]);
		assert_true(utf8_valid(s, n));
	}
	assert_int_equal(utf8_cut("abc", 3, 2), 2);
	/* utf8_copy: cut to max and to the destination, NUL-terminated */
	assert_int_equal(utf8_copy(dst, sizeof dst, s, 100), 5);	/* 7 bytes fit: "é€" */
	assert_string_equal(dst, "\xc3\xa9\xe2\x82\xac");
	assert_int_equal(utf8_copy(dst, sizeof dst, s, 4), 2);
	assert_string_equal(dst, "\xc3\xa9");
	assert_int_equal(utf8_copy(dst, sizeof dst, "plain", 100), 5);
	assert_string_equal(dst, "plain");
	assert_int_equal(utf8_copy(dst, 1, s, 100), 0);
	assert_string_equal(dst, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
