/* Unit tests of lib/conf: the INI format, defaults, and every error path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"

static int
parse(struct conf *c, const char *text, char *err)
{
	return conf_parse(c, "t.conf", text, strlen(text), err, 256);
}

static void
test_full_file(void **state)
{
	struct conf c;
	char err[256] = "";
	const char *text =
	    "; comment\n# other comment\n"
	    "[database]\n host = db.example ; trailing comment\nport = 3307\nuser = lb\n"
	    "password = \"p;a#ss\"\nname = leaderboard\ntimeout = 2\n\n"
	    "[github]\napi_url = https://ghe.example/api/v3/\ntoken = t0k\n"
	    "webhook_secret = one, two ,,three\npartner_org = acme\n"
	    "repositories = acme/a, other/b\nexclude_teams = staff\n"
	    "[sync]\nteams_every = 6h\nprs_every = 15m\nintegrity_every = 1d\nimport_prs = 0\n"
	    "[scoring]\nmerged_points = 3\n[api]\nadmin_token = adm\n"
	    "[hook]\nspool_dir = /tmp/spool\nmax_body = 1M\nkeep_deliveries_days = 7\n"
	    "roll_when_idle_ms = 0\nthreads = 4\n";

	(void)state;
	assert_int_equal(parse(&c, text, err), 0);
	assert_string_equal(c.db_host, "db.example");
	assert_int_equal(c.db_port, 3307);
	assert_string_equal(c.db_password, "p;a#ss");
	assert_int_equal(c.db_timeout, 2);
	assert_string_equal(c.gh_api_url, "https://ghe.example/api/v3");
	assert_int_equal(c.webhook_secrets.n, 3);
	assert_string_equal(c.webhook_secrets.v[1], "two");
	assert_string_equal(c.webhook_secrets.v[2], "three");
	assert_int_equal(c.repositories.n, 2);
	assert_true(conf_list_has(&c.repositories, "OTHER/B"));
	assert_int_equal(c.teams_every, 6 * 3600);
	assert_int_equal(c.prs_every, 900);
	assert_int_equal(c.integrity_every, 86400);
	assert_int_equal(c.import_prs, 0);
	assert_int_equal(c.merged_points, 3);
	assert_int_equal(c.max_body, 1024 * 1024);
	assert_int_equal(c.keep_deliveries_days, 7);
	assert_int_equal(c.roll_when_idle_ms, 0);
	assert_int_equal(c.hook_threads, 4);
	conf_free(&c);
}

static void
test_defaults(void **state)
{
	struct conf c;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(&c, "[database]\nname = lb", err), 0);
	assert_string_equal(c.gh_api_url, "https://api.github.com");
	assert_int_equal(c.max_body, 25 * 1024 * 1024);
	assert_int_equal(c.merged_points, 1);
	assert_int_equal(c.teams_every, 6 * 3600);
	assert_int_equal(c.import_prs, 20000);
	assert_int_equal(c.db_port, 3306);
	assert_int_equal(c.db_timeout, 5);
	assert_int_equal(c.roll_when_idle_ms, 50);
	assert_int_equal(c.hook_threads, 32);
	assert_null(c.gh_token);
	assert_int_equal(c.webhook_secrets.n, 0);
	conf_free(&c);
}

struct bad {
	const char *text;
	const char *msg;
};

static void
test_db_hosts(void **state)
{
	struct conf c;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(&c, "[database]\nname = x\n"
	    "hosts = db1:3307, db2 ,/run/g3.sock,[::1]:3308, 10.0.0.4\n", err), 0);
	assert_int_equal(c.db_hosts.n, 5);
	assert_string_equal(c.db_hosts.v[0], "db1:3307");
	assert_string_equal(c.db_hosts.v[1], "db2");
	assert_string_equal(c.db_hosts.v[2], "/run/g3.sock");
	assert_string_equal(c.db_hosts.v[3], "[::1]:3308");
	conf_free(&c);
	assert_int_equal(parse(&c, "[database]\nname = x\n", err), 0);
	assert_int_equal(c.db_hosts.n, 0);	/* unset: host/port/socket */
	conf_free(&c);
}

static void
test_errors(void **state)
{
	static const struct bad cases[] = {
		{ "[database]\nname = x\ncolour = blue\n", "t.conf:3: [database] unknown key 'colour'" },
		{ "[nosuch]\n", "t.conf:1: unknown section [nosuch]" },
		{ "[database]\nname = x\nport = 70000\n", "t.conf:3: [database] port: bad number '70000'" },
		{ "[database]\nname = x\nport = 12ab\n", "t.conf:3: [database] port: bad number" },
		{ "[database]\nname = x\n[sync]\nprs_every = soon\n", "t.conf:4: [sync] prs_every: bad duration" },
		{ "[database]\nname = x\n[sync]\nprs_every = 5s\n", "t.conf:4: [sync] prs_every: duration out of range" },
		{ "[database]\nname = x\ntimeout = 0s\n", "t.conf:3: [database] timeout: duration out of range (1s to 60s)" },
		{ "[database]\nname = x\ntimeout = 2m\n", "t.conf:3: [database] timeout: duration out of range (1s to 60s)" },
		{ "[database]\nname = x\n[hook]\nmax_body = lots\n", "t.conf:4: [hook] max_body: bad size" },
		{ "[database]\nname = x\n[github]\napi_url = ftp://x\n", "t.conf:4: [github] api_url: not an http(s) URL" },
		{ "[database]\nhost = x\n", "t.conf: [database] name: required key missing" },
		{ "name = x\n", "t.conf:1: key 'name' outside of any [section]" },
		{ "[database]\nname x\n", "t.conf:2: expected 'key = value'" },
		{ "[database\n", "t.conf:1: bad section header" },
		{ "[database]\nname = x\nname = y\n", "t.conf:3: [database] name: given twice" },
		{ "[database]\nname = \"x\n", "t.conf:2: [database] name: unterminated quote" },
		{ "[scoring]\nmerged_points = -\n[database]\nname = x\n", "t.conf:2: [scoring] merged_points: bad number" },
		{ "[database]\nname = x\nhosts = a:0\n", "t.conf:3: [database] hosts: bad port (1 to 65535)" },
		{ "[database]\nname = x\nhosts = a:b\n", "t.conf:3: [database] hosts: bad port" },
		{ "[database]\nname = x\nhosts = ::1:3306\n", "t.conf:3: [database] hosts: bad host (IPv6" },
		{ "[database]\nname = x\nhosts = ,\n", "t.conf:3: [database] hosts: empty list" },
		{ "[database]\nname = x\nhosts = :3306\n", "t.conf:3: [database] hosts: bad host (host:port)" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct conf c;
		char err[256] = "";
		assert_int_equal(parse(&c, cases[i].text, err), -1);
		if (strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, err, cases[i].msg);
	}
}

static void
test_long_and_binary_lines(void **state)
{
	struct conf c;
	char err[256] = "";
	static char big[20000];

	(void)state;
	memset(big, 'a', sizeof big - 1);
	memcpy(big, "[database]\nname = ", 18);
	assert_int_equal(parse(&c, big, err), -1);
	assert_non_null(strstr(err, "line too long"));
	assert_int_equal(conf_parse(&c, "t.conf", "[database]\0name = x", 19, err, sizeof err), -1);
	assert_non_null(strstr(err, "NUL"));
}

static void
test_missing_file(void **state)
{
	struct conf c;
	char err[256] = "";

	(void)state;
	assert_int_equal(conf_load(&c, "/nonexistent/lb.conf", err, sizeof err), -1);
	assert_string_equal(err, "/nonexistent/lb.conf: cannot open: No such file or directory");
}

static void
test_duration_and_size(void **state)
{
	long long v;

	(void)state;
	assert_int_equal(conf_parse_duration("90", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(conf_parse_duration("2w", &v), 0);
	assert_int_equal(v, 14 * 86400);
	assert_int_equal(conf_parse_duration("1hh", &v), -1);
	assert_int_equal(conf_parse_duration("-1h", &v), -1);
	assert_int_equal(conf_parse_duration("99999999999999999999s", &v), -1);
	assert_int_equal(conf_parse_size("25M", &v), 0);
	assert_int_equal(v, 25 * 1024 * 1024);
	assert_int_equal(conf_parse_size("512kb", &v), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(conf_parse_size("1T", &v), -1);
}

/* [github] avatar_hosts: github.com's hosts by default, GitHub Enterprise's
 * derived from api_url, or the configured prefixes (normalised to end in
 * '/'); anything that is not an http(s) URL prefix is refused. */
static void
test_avatar_hosts(void **state)
{
	struct conf c;
	char err[256] = "";
	const char *base = "[database]\nname = x\n[github]\n";
	char text[512];

	(void)state;
	assert_int_equal(parse(&c, base, err), 0);
	assert_int_equal(c.avatar_hosts.n, 5);
	assert_string_equal(c.avatar_hosts.v[0], "https://avatars.githubusercontent.com/");
	assert_string_equal(c.avatar_hosts.v[2], "https://avatars1.githubusercontent.com/");
	conf_free(&c);

	snprintf(text, sizeof text, "%sapi_url = https://ghe.example.com/api/v3/\n", base);
	assert_int_equal(parse(&c, text, err), 0);
	assert_int_equal(c.avatar_hosts.n, 7);
	assert_string_equal(c.avatar_hosts.v[5], "https://ghe.example.com/avatars/");
	assert_string_equal(c.avatar_hosts.v[6], "https://avatars.ghe.example.com/");
	conf_free(&c);

	/* another API root (a test double, a proxy): github.com's hosts only */
	snprintf(text, sizeof text, "%sapi_url = http://127.0.0.1:9999\n", base);
	assert_int_equal(parse(&c, text, err), 0);
	assert_int_equal(c.avatar_hosts.n, 5);
	conf_free(&c);

	snprintf(text, sizeof text, "%savatar_hosts = https://cdn.example.org/a, HTTP://b.example/\n", base);
	assert_int_equal(parse(&c, text, err), 0);
	assert_int_equal(c.avatar_hosts.n, 2);
	assert_string_equal(c.avatar_hosts.v[0], "https://cdn.example.org/a/");
	assert_string_equal(c.avatar_hosts.v[1], "HTTP://b.example/");
	conf_free(&c);

	const char *bad[] = { "ftp://x.example/", "avatars.githubusercontent.com", "https://",
	    "https:///path", "https://a.example/x y", "https://a.example/?q", "https://a\"b/" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "%savatar_hosts = %s\n", base, bad[i]);
		assert_int_equal(parse(&c, text, err), -1);
		assert_non_null(strstr(err, "[github] avatar_hosts"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_db_hosts),
		cmocka_unit_test(test_long_and_binary_lines),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_duration_and_size),
		cmocka_unit_test(test_avatar_hosts),
	};
	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
