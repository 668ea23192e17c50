/*
 * lib/json reading: the tree json_parse() builds, what it rejects (strict
 * UTF-8 in keys and values included), and the memory bound of json.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "json.h"
#include "utf8_cases.h"

#include <stdlib.h>
#include <string.h>

static json_val
parse(const char *s, size_t depth, char *err, size_t errlen)
{
	err[0] = '\0';
	return json_parse(s, strlen(s), depth, strlen(s) + 1, err, errlen);
}

/* The n-th element or member value of c (0-based), or NULL. */
static json_val
nth(json_val c, size_t n)
{
	JSON_EACH(v, c)
		if (n-- == 0)
			return v;
	return NULL;
}

static void
test_tree(void **state)
{
	static const char doc[] =
	    "{\"a\": {\"b\": [1, -2, 3.5, \"x\\u00e9\", true, false, null, {}, []]},"
	    " \"big\": 9223372036854775807, \"over\": 9223372036854775808,"
	    " \"neg\": -9223372036854775808, \"exp\": 1e3, \"a2\": \"dup\", \"a2\": \"second\"}";
	static const char *const keys[] = { "a", "big", "over", "neg", "exp", "a2", "a2" };
	char err[256];
	json_val v, b, n;
	size_t i = 0;

	(void)state;
	v = parse(doc, 8, err, sizeof err);
	assert_non_null(v);
	assert_true(json_is_object(v));
	assert_int_equal(json_len(v), 7);
	JSON_EACH(m, v)
		assert_string_equal(json_key(v, m), keys[i++]);
	assert_int_equal(i, 7);
	b = json_get(v, "a", "b", NULL);
	assert_true(json_is_array(b));
	assert_int_equal(json_len(b), 9);
	assert_true(json_is_integer(nth(b, 0)));
	assert_int_equal(json_integer(nth(b, 0)), 1);
	assert_int_equal(json_integer(nth(b, 1)), -2);
	n = nth(b, 2);
	assert_false(json_is_integer(n));
	assert_true(json_is_number(n));
	assert_string_equal(json_number(n), "3.5");
	assert_true(strtod(json_number(n), NULL) == 3.5);
	assert_int_equal(json_integer(n), 0);
	assert_true(json_is_string(nth(b, 3)));
	assert_string_equal(json_string(nth(b, 3)), "x\xc3\xa9");
	assert_null(json_string(nth(b, 2)));
	assert_null(json_number(nth(b, 3)));
	assert_true(json_is_true(nth(b, 4)));
	assert_true(json_is_false(nth(b, 5)));
	assert_true(json_is_null(nth(b, 6)));
	assert_true(json_is_object(nth(b, 7)));
	assert_int_equal(json_len(nth(b, 7)), 0);
	assert_null(json_first(nth(b, 7)));
	assert_true(json_is_array(nth(b, 8)));
	assert_int_equal(json_len(nth(b, 8)), 0);
	assert_null(nth(b, 9));
	assert_null(json_key(b, nth(b, 0)));	/* an array has no keys */
	assert_int_equal(json_ll(v, "big", 0), INT64_MAX);
	n = json_get(v, "over", NULL);	/* out of range: a number, not an integer */
	assert_true(json_is_number(n));
	assert_false(json_is_integer(n));
	assert_int_equal(json_ll(v, "over", 42), 42);
	assert_int_equal(json_ll(v, "neg", 0), INT64_MIN);
	n = json_get(v, "exp", NULL);
	assert_false(json_is_integer(n));
	assert_true(strtod(json_number(n), NULL) == 1000.0);
	assert_string_equal(json_str(v, "a2"), "dup");	/* the first of two equal keys */
	assert_string_equal(json_string(nth(v, 6)), "second");
	assert_null(json_get(v, "a", "b", "c", NULL));	/* b is an array */
	assert_null(json_get(v, "nope", NULL));
	assert_null(json_get(NULL, "a", NULL));
	assert_false(json_is_null(NULL));
	json_free(v);

	v = parse("  \"just a string\" ", 1, err, sizeof err);
	assert_non_null(v);
	assert_string_equal(json_string(v), "just a string");
	json_free(v);
	v = parse("17", 1, err, sizeof err);	/* a number ending the input */
	assert_non_null(v);
	assert_int_equal(json_integer(v), 17);
	json_free(v);
	v = parse("-0", 1, err, sizeof err);
	assert_true(json_is_integer(v));
	assert_int_equal(json_integer(v), 0);
	json_free(v);
	v = parse("[12345678901234567890123]", 2, err, sizeof err);
	assert_true(json_is_number(json_first(v)) && !json_is_integer(json_first(v)));
	assert_string_equal(json_number(json_first(v)), "12345678901234567890123");
	json_free(v);
}

/* Strings with escapes are decoded in place: each must come out whole, next
 * to its neighbours, whatever backslashes and quotes it holds. */
static void
test_escapes(void **state)
{
	static const char doc[] =
	    "{\"k\\n\": \"v\\t\", \"q\": [\"a\\\"b\", \"\\\\\", \"\\\"\", \"x\\\\\\\"y\", \"tail\\\\\","
	    "\"\\u00e9\\u20ac\\ud83d\\ude00\", \"\\/\", \"\", \"plain\", 12, \"\\u0041\\u0042\"],"
	    " \"\\u00fcber\": \"\\uDBFF\\uDFFF\"}";
	static const char *const q[] = { "a\"b", "\\", "\"", "x\\\"y", "tail\\",
		"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "/", "", "plain", NULL, "AB" };
	char err[256];
	json_val v, a;
	size_t i = 0;

	(void)state;
	v = parse(doc, 4, err, sizeof err);
	assert_non_null(v);
	assert_string_equal(json_str(v, "k\n"), "v\t");
	a = json_get(v, "q", NULL);
	JSON_EACH(s, a) {
		if (q[i])
			assert_string_equal(json_string(s), q[i]);
		else
			assert_int_equal(json_integer(s), 12);
		i++;
	}
	assert_int_equal(i, sizeof q / sizeof q[0]);
	assert_string_equal(json_str(v, "\xc3\xbc" "ber"), "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	json_free(v);
}

/* A document much larger than the first guess at its size. */
static void
test_large(void **state)
{
	struct buf b = BUF_INIT;
	char err[256];
	json_val v;
	int i = 0;

	(void)state;
	buf_puts(&b, "[");
	for (int k = 0; k < 20000; k++)
		buf_printf(&b, "%s{\"k%d\":[%d,\"s%d\"]}", k ? "," : "", k, k, k);
	buf_puts(&b, "]");
	v = json_parse(b.data, b.len, 4, b.len + 1, err, sizeof err);
	assert_non_null(v);
	assert_int_equal(json_len(v), 20000);
	JSON_EACH(o, v) {
		char key[16], s[16];
		json_val a;
		lb_snprintf(key, sizeof key, "k%d", i);
		lb_snprintf(s, sizeof s, "s%d", i);
		a = json_get(o, key, NULL);
		assert_true(json_is_array(a));
		assert_int_equal(json_integer(json_first(a)), i);
		assert_string_equal(json_string(json_next(a, json_first(a))), s);
		i++;
	}
	assert_int_equal(i, 20000);
	json_free(v);
	buf_free(&b);
}

static void
test_depth(void **state)
{
	char err[256];
	json_val v;

	(void)state;
	v = parse("[[[{\"a\":[]}]]]", 5, err, sizeof err);	/* exactly 5 levels */
	assert_non_null(v);
	json_free(v);
	v = parse("[[[{\"a\":[[]]}]]]", 5, err, sizeof err);
	assert_null(v);
	assert_string_equal(err, "nesting deeper than 5");
	v = parse("[\"[[[[[[[[\", {\"]]]]\": \"{{{{{{\"}]", 2, err, sizeof err);	/* brackets in strings */
	assert_non_null(v);
	json_free(v);
	v = parse("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 64, err, sizeof err);
	assert_null(v);	/* open to the limit, never closed */
}

static void
test_rejects(void **state)
{
	const char *bad[] = {
		"", "   ", "{", "[1,]", "{\"a\" 1}", "{\"a\":1}}", "[1] [2]", "nul", "01x",
		"\"\xff\"", "\"\xc3\"", "/* c */ 1", "[1] // c", "{\"a\":1,}", "\"a\\q\"",
		"[1,2", "{\"a\":", "[\"x\\u12\"]",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_val v = parse(bad[i], 8, err, sizeof err);
		if (v != NULL)
			fail_msg("accepted: %s", bad[i]);
		assert_true(strncmp(err, "invalid JSON: ", 14) == 0);
	}
	assert_null(json_parse("[1]\0[2]", 7, 8, 8, err, sizeof err));
	assert_string_equal(err, "NUL byte in document");
	assert_null(json_parse("[1, 2, 3]", 9, 8, 8, err, sizeof err));
	assert_string_equal(err, "document too large");
}

/* json_parse() refuses every bad sequence, in values and in keys, raw or
 * behind escapes, and keeps the good ones. */
static void
test_strict_strings(void **state)
{
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
		for (int where = 0; where < 4; where++) {
			struct buf b = BUF_INIT;
			json_val v;
			/* value, key, value with an escape too (yajl's other path), key with one */
			if (where == 0)
				buf_printf(&b, "{\"title\":\"x%sy\"}", bad_utf8[i].bytes);
			else if (where == 1)
				buf_printf(&b, "{\"x%sy\":1}", bad_utf8[i].bytes);
			else if (where == 2)
				buf_printf(&b, "[\"\\n%s\\t\"]", bad_utf8[i].bytes);
			else
				buf_printf(&b, "{\"\\\"%s\":1}", bad_utf8[i].bytes);
			v = json_parse(b.data, b.len, 8, b.len + 1, err, sizeof err);
			if (v != NULL)
				fail_msg("accepted: %s (form %d)", bad_utf8[i].name, where);
			assert_true(strncmp(err, "invalid JSON: ", 14) == 0);
			buf_free(&b);
		}
	}
	for (size_t i = 0; i < sizeof bad_escapes / sizeof bad_escapes[0]; i++) {
		for (int where = 0; where < 2; where++) {
			struct buf b = BUF_INIT;
			json_val v;
			buf_printf(&b, where ? "{\"%s\":1}" : "{\"title\":\"%s\"}", bad_escapes[i]);
			v = json_parse(b.data, b.len, 8, b.len + 1, err, sizeof err);
			if (v != NULL)
				fail_msg("accepted: %s", b.data);
			assert_string_equal(err, "invalid JSON: invalid UTF-8 in a string (an unpaired surrogate escape)");
			buf_free(&b);
		}
	}
	/* \\ before a u is an escaped backslash: no \u escape, nothing unpaired */
	{
		json_val v = parse("[\"\\\\ud800\"]", 2, err, sizeof err);
		assert_non_null(v);
		assert_string_equal(json_string(json_first(v)), "\\ud800");
		json_free(v);
	}
}

/*
 * The bound of json.h: at its peak a parse holds at most
 * 3 * len + 2 * E + 8 * max_depth + 16 KiB bytes (E: the longest string with
 * escapes). Checked on the worst shapes for a tree and for yajl's buffers.
 */
static size_t
bound(size_t len, size_t e, size_t depth)
{
	return 3 * len + 2 * e + 8 * depth + 16 * 1024;
}

static void
test_memory_bound(void **state)
{
	struct buf b = BUF_INIT;
	char err[256];
	json_val v;
	size_t e;

	(void)state;
	/* dense: a value every 2 bytes (the old tree took ~60x this) */
	b.max = 16 * 1024 * 1024;
	buf_puts(&b, "{\"padding\":[");
	while (b.len < 4 * 1000 * 1000)
		buf_puts(&b, "0,0,0,0,0,0,0,0,1,[],{},\"\",true,null,");
	buf_puts(&b, "0]}");
	v = json_parse(b.data, b.len, 64, b.len + 1, err, sizeof err);
	assert_non_null(v);
	assert_true(json_len(json_get(v, "padding", NULL)) > b.len / 4);
	assert_true(json_peak_bytes(v) >= b.len);
	if (json_peak_bytes(v) > bound(b.len, 0, 64))
		fail_msg("dense: %zu bytes for %zu", json_peak_bytes(v), b.len);
	json_free(v);

	/* objects of one-letter keys and values */
	buf_reset(&b);
	buf_puts(&b, "[");
	while (b.len < 4 * 1000 * 1000)
		buf_puts(&b, "{\"a\":1,\"b\":{\"c\":[2]},\"d\":\"e\"},");
	buf_puts(&b, "{}]");
	v = json_parse(b.data, b.len, 64, b.len + 1, err, sizeof err);
	assert_non_null(v);
	if (json_peak_bytes(v) > bound(b.len, 0, 64))
		fail_msg("objects: %zu bytes for %zu", json_peak_bytes(v), b.len);
	json_free(v);

	/* one long string with escapes: yajl decodes it into its own buffer */
	buf_reset(&b);
	buf_puts(&b, "{\"body\":\"");
	while (b.len < 4 * 1000 * 1000)
		buf_puts(&b, "line with \\\"quotes\\\" and \\u00e9\\r\\n");
	buf_puts(&b, "\"}");
	v = json_parse(b.data, b.len, 64, b.len + 1, err, sizeof err);
	assert_non_null(v);
	e = strlen(json_str(v, "body"));
	assert_true(e > 3 * 1000 * 1000);
	if (json_peak_bytes(v) > bound(b.len, e, 64))
		fail_msg("escaped string: %zu bytes for %zu", json_peak_bytes(v), b.len);
	json_free(v);

	/* deep: the nesting stack counts */
	buf_reset(&b);
	for (int i = 0; i < 5000; i++)
		buf_putc(&b, '[');
	for (int i = 0; i < 5000; i++)
		buf_putc(&b, ']');
	v = json_parse(b.data, b.len, 5000, b.len + 1, err, sizeof err);
	assert_non_null(v);
	if (json_peak_bytes(v) > bound(b.len, 0, 5000))
		fail_msg("deep: %zu bytes for %zu", json_peak_bytes(v), b.len);
	json_free(v);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_strict_strings),
		cmocka_unit_test(test_memory_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
