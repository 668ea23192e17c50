/* lib/json reading: the tree json_parse() builds, and what it rejects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "json.h"

#include <string.h>

static yajl_val
parse(const char *s, size_t depth, char *err, size_t errlen)
{
	err[0] = '\0';
	return json_parse(s, strlen(s), depth, strlen(s) + 1, err, errlen);
}

static void
test_tree(void **state)
{
	static const char doc[] =
	    "{\"a\": {\"b\": [1, -2, 3.5, \"x\\u00e9\", true, false, null, {}, []]},"
	    " \"big\": 9223372036854775807, \"over\": 9223372036854775808,"
	    " \"neg\": -9223372036854775808, \"exp\": 1e3, \"a2\": \"dup\", \"a2\": \"second\"}";
	char err[256];
	yajl_val v, b, n;

	(void)state;
	v = parse(doc, 8, err, sizeof err);
	assert_non_null(v);
	assert_true(YAJL_IS_OBJECT(v));
	assert_int_equal(v->u.object.len, 7);
	b = json_get(v, "a", "b", NULL);
	assert_true(YAJL_IS_ARRAY(b));
	assert_int_equal(b->u.array.len, 9);
	assert_true(YAJL_IS_INTEGER(b->u.array.values[0]));
	assert_int_equal(YAJL_GET_INTEGER(b->u.array.values[0]), 1);
	assert_int_equal(YAJL_GET_INTEGER(b->u.array.values[1]), -2);
	n = b->u.array.values[2];
	assert_false(YAJL_IS_INTEGER(n));
	assert_true(YAJL_IS_DOUBLE(n));
	assert_true(YAJL_GET_DOUBLE(n) == 3.5);
	assert_string_equal(n->u.number.r, "3.5");
	assert_true(YAJL_IS_STRING(b->u.array.values[3]));
	assert_string_equal(b->u.array.values[3]->u.string, "x\xc3\xa9");
	assert_true(YAJL_IS_TRUE(b->u.array.values[4]));
	assert_true(YAJL_IS_FALSE(b->u.array.values[5]));
	assert_true(YAJL_IS_NULL(b->u.array.values[6]));
	assert_true(YAJL_IS_OBJECT(b->u.array.values[7]));
	assert_int_equal(b->u.array.values[7]->u.object.len, 0);
	assert_true(YAJL_IS_ARRAY(b->u.array.values[8]));
	assert_int_equal(b->u.array.values[8]->u.array.len, 0);
	assert_int_equal(json_ll(v, "big", 0), INT64_MAX);
	n = json_get(v, "over", NULL);	/* out of range: a number, not an integer */
	assert_true(YAJL_IS_NUMBER(n));
	assert_false(YAJL_IS_INTEGER(n));
	assert_int_equal(json_ll(v, "over", 42), 42);
	assert_int_equal(json_ll(v, "neg", 0), INT64_MIN);
	n = json_get(v, "exp", NULL);
	assert_false(YAJL_IS_INTEGER(n));
	assert_true(YAJL_GET_DOUBLE(n) == 1000.0);
	assert_string_equal(json_str(v, "a2"), "dup");	/* the first of two equal keys */
	assert_string_equal(v->u.object.keys[6], "a2");
	assert_string_equal(v->u.object.values[6]->u.string, "second");
	json_free(v);

	v = parse("  \"just a string\" ", 1, err, sizeof err);
	assert_non_null(v);
	assert_string_equal(v->u.string, "just a string");
	json_free(v);
	v = parse("17", 1, err, sizeof err);
	assert_non_null(v);
	assert_int_equal(YAJL_GET_INTEGER(v), 17);
	json_free(v);
}

/* A document much larger than the first arena block. */
static void
test_large(void **state)
{
	struct buf b = BUF_INIT;
	char err[256];
	yajl_val v;

	(void)state;
	buf_puts(&b, "[");
	for (int i = 0; i < 20000; i++)
		buf_printf(&b, "%s{\"k%d\":[%d,\"s%d\"]}", i ? "," : "", i, i, i);
	buf_puts(&b, "]");
	v = json_parse(b.data, b.len, 4, b.len + 1, err, sizeof err);
	assert_non_null(v);
	assert_int_equal(v->u.array.len, 20000);
	for (int i = 0; i < 20000; i += 997) {
		char key[16], s[16];
		yajl_val o = v->u.array.values[i], a;
		lb_snprintf(key, sizeof key, "k%d", i);
		lb_snprintf(s, sizeof s, "s%d", i);
		a = json_get(o, key, NULL);
		assert_true(YAJL_IS_ARRAY(a));
		assert_int_equal(YAJL_GET_INTEGER(a->u.array.values[0]), i);
		assert_string_equal(a->u.array.values[1]->u.string, s);
	}
	json_free(v);
	buf_free(&b);
}

static void
test_depth(void **state)
{
	char err[256];
	yajl_val v;

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
}

static void
test_rejects(void **state)
{
	const char *bad[] = {
		"", "   ", "{", "[1,]", "{\"a\" 1}", "{\"a\":1}}", "[1] [2]", "nul", "01x",
		"\"\xff\"", "\"\xc3\"", "/* c */ 1", "[1] // c", "{\"a\":1,}", "\"a\\q\"",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		yajl_val v = parse(bad[i], 8, err, sizeof err);
		if (v != NULL)
			fail_msg("accepted: %s", bad[i]);
		assert_true(strncmp(err, "invalid JSON: ", 14) == 0);
	}
	assert_null(json_parse("[1]\0[2]", 7, 8, 8, err, sizeof err));
	assert_string_equal(err, "NUL byte in document");
	assert_null(json_parse("[1, 2, 3]", 9, 8, 8, err, sizeof err));
	assert_string_equal(err, "document too large");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
