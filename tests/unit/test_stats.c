/* Unit tests of lib/stats that need no database: the CSV of a board
 * (RFC 4180, safe for spreadsheets whatever their field separator) and the
 * avatar URL filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "stats.h"

/* The CSV of one team named `name` (slug "s", no labels), data row only. */
static char *
csv_of(const char *name, const char *label)
{
	struct stats_label lab = { .name = (char *)label, .count = 2 };
	struct stats_team t = { .id = 7, .slug = "s", .name = (char *)name, .rank = 1, .merged = 3,
	    .labels = label ? &lab : NULL, .nlabels = label ? 1 : 0 };
	struct stats_board b = { .teams = &t, .n = 1 };
	struct buf out = BUF_INIT;
	char *row;

	assert_int_equal(stats_board_csv(&b, 10, &out), 0);
	assert_non_null(out.data);
	row = strstr(out.data, "\r\n");
	assert_non_null(row);
	row = lb_strdup(row + 2);
	buf_free(&out);
	return row;
}

static void
expect_name(const char *name, const char *cell)
{
	char want[512];
	char *row = csv_of(name, NULL);

	snprintf(want, sizeof want, "1,7,\"s\",%s,0,0,3,0,0,0,0,0,\"\"\r\n", cell);
	assert_string_equal(row, want);
	free(row);
}

static void
test_csv_cells(void **state)
{
	(void)state;
	expect_name("Acme", "\"Acme\"");				/* text always quoted */
	expect_name("Acme, Inc. \"AI\"", "\"Acme, Inc. \"\"AI\"\"\"");
	expect_name("=1+2", "\"'=1+2\"");
	expect_name("+1", "\"'+1\"");
	expect_name("-1", "\"'-1\"");
	expect_name("@SUM(A1)", "\"'@SUM(A1)\"");
	expect_name("\t=1", "\"'\t'=1\"");
	expect_name("\r\nx", "\"'\r'\nx\"");
	expect_name("  =1", "\"'  =1\"");			/* blanks do not hide it */
	expect_name("\"=1\"", "\"'\"\"=1\"\"\"");		/* nor a quote */
	expect_name("\xef\xbc\x9d" "1+1", "\"'\xef\xbc\x9d" "1+1\"");	/* full-width = */
	expect_name("\xef\xbc\xa0x", "\"'\xef\xbc\xa0x\"");		/* full-width @ */
	/* after a separator of any locale, or a line break, as at the start */
	expect_name("x;=1+2", "\"x;'=1+2\"");
	expect_name("x, -1", "\"x,' -1\"");
	expect_name("a|=b", "\"a|'=b\"");
	expect_name("a\t+b", "\"a\t'+b\"");
	expect_name("a\n@b", "\"a\n'@b\"");
	/* what is no formula stays as it is */
	expect_name("a-b=c", "\"a-b=c\"");
	expect_name("x; y", "\"x; y\"");
	expect_name("\xef\xbc\x91", "\"\xef\xbc\x91\"");		/* full-width 1 */
	expect_name("", "\"\"");
}

static void
test_csv_labels(void **state)
{
	char *row;

	(void)state;
	/* labels are joined with "; ": a label is the start of a cell for ';' readers */
	row = csv_of("n", "=cmd|' /C calc'!A0");
	assert_string_equal(row, "1,7,\"s\",\"n\",0,0,3,0,0,0,0,0,\"'=cmd|' /C calc'!A0:2\"\r\n");
	free(row);
}

static void
test_avatar_ok(void **state)
{
	char *hosts[] = { "https://avatars.githubusercontent.com/", "https://ghe.example.com/avatars/" };
	struct conf_list l = { hosts, 2 };
	struct stats_env env = { .avatar_hosts = &l };
	char longu[600];

	(void)state;
	assert_true(stats_avatar_ok(&env, "https://avatars.githubusercontent.com/u/1?v=4"));
	assert_true(stats_avatar_ok(&env, "HTTPS://Avatars.GitHubUserContent.com/u/1"));
	assert_true(stats_avatar_ok(&env, "https://ghe.example.com/avatars/u/3?s=40"));
	assert_false(stats_avatar_ok(&env, NULL));
	assert_false(stats_avatar_ok(&env, ""));
	assert_false(stats_avatar_ok(&env, "https://avatars.githubusercontent.com/"));
	assert_false(stats_avatar_ok(&env, "https://avatars.githubusercontent.com"));
	assert_false(stats_avatar_ok(&env, "http://avatars.githubusercontent.com/u/1"));
	assert_false(stats_avatar_ok(&env, "https://avatars.githubusercontent.com.evil.example/u/1"));
	assert_false(stats_avatar_ok(&env, "https://avatars.githubusercontent.com@evil.example/u"));
	assert_false(stats_avatar_ok(&env, "https://evil.example/https://avatars.githubusercontent.com/"));
	assert_false(stats_avatar_ok(&env, "https://ghe.example.com/u/3"));
	assert_false(stats_avatar_ok(&env, "data:image/png;base64,AAAA"));
	assert_false(stats_avatar_ok(&env, "javascript:alert(1)"));
	assert_false(stats_avatar_ok(&env, "//avatars.githubusercontent.com/u/1"));
	assert_false(stats_avatar_ok(&env, "https://avatars.githubusercontent.com/u/1\" onerror=\"x"));
	assert_false(stats_avatar_ok(&env, "https://avatars.githubusercontent.com/u/1\\x"));
	assert_false(stats_avatar_ok(&env, "https://avatars.githubusercontent.com/u/1\n"));
	memset(longu, 'a', sizeof longu - 1);
	longu[sizeof longu - 1] = '\0';
	memcpy(longu, "https://avatars.githubusercontent.com/", 38);
	assert_false(stats_avatar_ok(&env, longu));
	env.avatar_hosts = NULL;
	assert_false(stats_avatar_ok(&env, "https://avatars.githubusercontent.com/u/1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_cells),
		cmocka_unit_test(test_csv_labels),
		cmocka_unit_test(test_avatar_ok),
	};
	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
