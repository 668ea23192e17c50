/* lib/migrate: splitting a migration file into statements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "migrate.h"

#include <string.h>

struct got {
	char   s[8][256];
	size_t n;
};

static int
collect(const char *stmt, size_t len, void *arg)
{
	struct got *g = arg;

	assert_true(g->n < 8 && len < sizeof g->s[0]);
	memcpy(g->s[g->n], stmt, len);
	g->s[g->n][len] = '\0';
	g->n++;
	return 0;
}

static void
test_split(void **state)
{
	static const char sql[] =
	    "-- a comment; not a statement\n"
	    "CREATE TABLE t (a INT COMMENT 'x;y');\n"
	    "INSERT INTO t VALUES (1); /* ; */ INSERT INTO t VALUES (2)\n";
	struct got g = { .n = 0 };

	(void)state;
	assert_int_equal(migrate_split(sql, sizeof sql - 1, collect, &g), 0);
	assert_int_equal(g.n, 3);
	/* comments stay with the statement that follows them (the server skips them) */
	assert_string_equal(g.s[0], "-- a comment; not a statement\nCREATE TABLE t (a INT COMMENT 'x;y')");
	assert_string_equal(g.s[1], "INSERT INTO t VALUES (1)");
	assert_string_equal(g.s[2], "/* ; */ INSERT INTO t VALUES (2)\n");
}

/* DELIMITER lines, as the mariadb client reads them: procedure bodies. */
static void
test_delimiter(void **state)
{
	static const char sql[] =
	    "SELECT 1;\n"
	    "DELIMITER //\n"
	    "CREATE PROCEDURE p() BEGIN SELECT 2; SELECT ';'; END//\n"
	    "delimiter ;\n"
	    "SELECT 3;\n";
	struct got g = { .n = 0 };

	(void)state;
	assert_int_equal(migrate_split(sql, sizeof sql - 1, collect, &g), 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.s[0], "SELECT 1");
	assert_string_equal(g.s[1], "CREATE PROCEDURE p() BEGIN SELECT 2; SELECT ';'; END");
	assert_string_equal(g.s[2], "SELECT 3");
	g.n = 0;
	assert_int_equal(migrate_split("DELIMITER \nSELECT 1;", 20, collect, &g), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_delimiter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
