/* Unit tests of lib/github (Link parsing, backoff, escaping, retries and
 * rate-limit waits against a scripted local HTTP server, with the sleep
 * injected) and the pure parts of lib/jobs and lib/sync. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "github.h"
#include "jobs.h"
#include "sync.h"

static void
test_link_parse(void **state)
{
	char next[256];
	long last;

	(void)state;
	assert_int_equal(gh_link_parse(
	    "<https://api.github.com/repositories/1/pulls?state=all&per_page=100&page=2>; rel=\"next\", "
	    "<https://api.github.com/repositories/1/pulls?state=all&per_page=100&page=34>; rel=\"last\"",
	    next, sizeof next, &last), 0);
	assert_string_equal(next, "https://api.github.com/repositories/1/pulls?state=all&per_page=100&page=2");
	assert_int_equal(last, 34);

	/* last page: only prev/first */
	assert_int_equal(gh_link_parse("<https://x/a?page=1>; rel=\"first\", <https://x/a?page=33>; rel=\"prev\"",
	    next, sizeof next, &last), 0);
	assert_string_equal(next, "");
	assert_int_equal(last, 0);

	/* order, unquoted rel, several rel values, blanks */
	assert_int_equal(gh_link_parse("  <https://x/a?per_page=5&page=9>;rel=last ,<https://x/a?page=2>; "
	    "rel=\"prev next\"", next, sizeof next, &last), 0);
	assert_string_equal(next, "https://x/a?page=2");
	assert_int_equal(last, 9);

	/* "page=" must be a parameter, not the tail of another one */
	assert_int_equal(gh_link_parse("<https://x/a?per_page=100>; rel=\"last\"", next, sizeof next, &last), 0);
	assert_int_equal(last, 0);

	assert_int_equal(gh_link_parse("", next, sizeof next, &last), 0);
	assert_int_equal(gh_link_parse("https://x/a; rel=\"next\"", next, sizeof next, &last), -1);
	assert_int_equal(gh_link_parse("<https://x/a; rel=\"next\"", next, sizeof next, &last), -1);
	/* a next URL that does not fit */
	assert_int_equal(gh_link_parse("<https://x/aaaaaaaaaaaaaaaa>; rel=\"next\"", next, 8, &last), -1);
}

static void
test_backoff(void **state)
{
	(void)state;
	assert_true(gh_backoff(1, 1.0) == 1.0);
	assert_true(gh_backoff(2, 1.0) == 2.0);
	assert_true(gh_backoff(4, 1.0) == 8.0);
	assert_true(gh_backoff(30, 1.0) == 60.0);
	assert_true(gh_backoff(0, 0.5) == 0.5);
	assert_int_equal(jobs_backoff(1), 30);
	assert_int_equal(jobs_backoff(2), 60);
	assert_int_equal(jobs_backoff(5), 480);
	assert_int_equal(jobs_backoff(40), 6 * 3600);
}

static void
test_escape_and_split(void **state)
{
	char out[32], o[16], n[16];
	long pid;
	unsigned long long start;
	char host[32];

	(void)state;
	assert_int_equal(gh_escape("team one/ä", out, sizeof out), 0);
	assert_string_equal(out, "team%20one%2F%C3%A4");
	assert_int_equal(gh_escape("Plain-name_1.x~", out, sizeof out), 0);
	assert_string_equal(out, "Plain-name_1.x~");
	assert_int_equal(gh_escape("%%%%%%%%%%%", out, sizeof out), -1);

	assert_int_equal(gh_split_repo("acme/widgets", o, sizeof o, n, sizeof n), 0);
	assert_string_equal(o, "acme");
	assert_string_equal(n, "widgets");
	assert_int_equal(gh_split_repo("acme", o, sizeof o, n, sizeof n), -1);
	assert_int_equal(gh_split_repo("/x", o, sizeof o, n, sizeof n), -1);
	assert_int_equal(gh_split_repo("a/", o, sizeof o, n, sizeof n), -1);
	assert_int_equal(gh_split_repo("a/b/c", o, sizeof o, n, sizeof n), -1);
	assert_int_equal(gh_split_repo("a/b?x", o, sizeof o, n, sizeof n), -1);
	assert_int_equal(gh_split_repo("a b/c", o, sizeof o, n, sizeof n), -1);

	assert_int_equal(jobs_owner_parse("host-1:4242:99887766", host, sizeof host, &pid, &start), 0);
	assert_string_equal(host, "host-1");
	assert_int_equal(pid, 4242);
	assert_true(start == 99887766ULL);
	assert_int_equal(jobs_owner_parse("host", host, sizeof host, &pid, &start), -1);
	assert_int_equal(jobs_owner_parse("host:x:1", host, sizeof host, &pid, &start), -1);
}

/* ------------------------------------------- a scripted HTTP server */

static const char *script[8];	/* raw answers, in order, one per connection */

static pid_t
serve(int *port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	pid_t pid;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s, 8), 0);
	getsockname(s, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	pid = fork();
	if (pid == 0) {
		for (int i = 0; script[i]; i++) {
			char req[8192];
			size_t got = 0;
			int c = accept(s, NULL, NULL);
			if (c < 0)
				_exit(1);
			while (got < sizeof req - 1) {	/* read the request head */
				ssize_t n = read(c, req + got, sizeof req - 1 - got);
				if (n <= 0)
					break;
				got += (size_t)n;
				req[got] = '\0';
				if (strstr(req, "\r\n\r\n"))
					break;
			}
			if (write(c, script[i], strlen(script[i])) < 0)
				_exit(1);
			close(c);
		}
		_exit(0);
	}
	close(s);
	return pid;
}

static double slept[16];
static int nslept;
static time_t fake_now = 1700000000;

static void
fake_sleep(struct gh *g, double secs)
{
	(void)g;
	if (nslept < 16)
		slept[nslept++] = secs;
	fake_now += (time_t)secs;
}

static time_t
get_now(void)
{
	return fake_now;
}

static void
test_retries_and_limits(void **state)
{
	char url[64], err[512];
	struct gh_resp r;
	struct gh *g;
	int port, status;
	pid_t pid;
	char reset_hdr[160];

	(void)state;
	lb_snprintf(reset_hdr, sizeof reset_hdr,
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\nETag: W/\"abc\"\r\n"
	    "x-ratelimit-remaining: 0\r\nx-ratelimit-reset: %lld\r\n\r\n[]", (long long)fake_now + 30);
	script[0] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	script[1] = "HTTP/1.1 403 Forbidden\r\nRetry-After: 7\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
	script[2] = reset_hdr;
	script[3] = "HTTP/1.1 304 Not Modified\r\nConnection: close\r\nx-ratelimit-remaining: 4999\r\n"
	    "x-ratelimit-reset: 1\r\n\r\n";
	script[4] = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
	script[5] = NULL;
	pid = serve(&port);
	lb_snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	g = gh_new(url, "sekrit-token", err, sizeof err);
	assert_non_null(g);
	g->sleep = fake_sleep;
	g->now = get_now;
	gh_resp_init(&r);

	/* 502 -> backoff 1 s; 403 + Retry-After: 7 -> 7 s; then 200 */
	assert_int_equal(gh_get(g, "/a?per_page=100", NULL, &r, err, sizeof err), GH_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.etag, "W/\"abc\"");
	assert_int_equal(nslept, 2);
	assert_true(slept[0] == 1.0 && slept[1] == 7.0);
	assert_int_equal(g->requests, 3);
	assert_int_equal(g->rate_remaining, 0);

	/* remaining 0: the next request first waits until the reset (31 s) */
	assert_int_equal(gh_get(g, "/a", "W/\"abc\"", &r, err, sizeof err), GH_OK);
	assert_int_equal(r.not_modified, 1);
	assert_int_equal(nslept, 3);
	assert_true(slept[2] >= 21.0 && slept[2] <= 31.0);

	/* a final 404: GH_EHTTP, no retry, the token nowhere in err */
	assert_int_equal(gh_get(g, "/missing", NULL, &r, err, sizeof err), GH_EHTTP);
	assert_int_equal(r.status, 404);
	assert_null(strstr(err, "sekrit"));
	assert_int_equal(g->requests, 5);

	/* URLs outside api_url are refused (the token stays home) */
	assert_int_equal(gh_get(g, "http://evil.example/x", NULL, &r, err, sizeof err), GH_EINVAL);
	assert_int_equal(gh_get(g, "http://127.0.0.1:1/x", NULL, &r, err, sizeof err), GH_EINVAL);

	/* a wait longer than max_wait is returned, not slept */
	g->rate_remaining = 0;
	g->rate_reset = fake_now + 1000;
	g->max_wait = 60;
	assert_int_equal(gh_get(g, "/a", NULL, &r, err, sizeof err), GH_EWAIT);
	assert_true(g->retry_at >= fake_now + 1000);
	assert_int_equal(nslept, 3);

	gh_resp_free(&r);
	gh_free(g);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
test_network_errors_give_up(void **state)
{
	char err[512];
	struct gh_resp r;
	struct gh *g;

	(void)state;
	/* port 1 on loopback: connection refused every time */
	g = gh_new("http://127.0.0.1:1", "tok", err, sizeof err);
	assert_non_null(g);
	g->sleep = fake_sleep;
	g->now = get_now;
	nslept = 0;
	gh_resp_init(&r);
	assert_int_equal(gh_get(g, "/x", NULL, &r, err, sizeof err), GH_ENET);
	assert_int_equal(nslept, GH_RETRIES);
	assert_true(slept[GH_RETRIES - 1] == gh_backoff(GH_RETRIES, 1.0));
	assert_int_equal(g->requests, GH_RETRIES + 1);
	gh_resp_free(&r);
	gh_free(g);
	assert_null(gh_new("ftp://x", NULL, err, sizeof err));
	assert_null(gh_new("https://x", "a\nb", err, sizeof err));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_parse),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_escape_and_split),
		cmocka_unit_test(test_retries_and_limits),
		cmocka_unit_test(test_network_errors_give_up),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
