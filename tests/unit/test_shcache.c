/* lib/shcache: answers shared by forked processes; one computes a key
 * while the others wait, a dead computer's claim is taken over, the
 * oldest bodies give way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct shcache_entry
entry(const char *body, size_t len)
{
	struct shcache_entry e;

	memset(&e, 0, sizeof e);
	e.status = 200;
	snprintf(e.ctype, sizeof e.ctype, "application/json");
	snprintf(e.etag, sizeof e.etag, "\"t1\"");
	e.body = (char *)body;
	e.len = len;
	e.at = time(NULL);
	return e;
}

static void
test_version_and_age(void **state)
{
	struct shcache *c = shcache_open(4u << 20);
	struct shcache_entry e = entry("{\"a\":1}", 7), got;

	(void)state;
	assert_non_null(c);
	assert_int_equal(shcache_get(c, "/api/x", "v1", 60, 0, &got), SHCACHE_MINE);
	assert_int_equal(shcache_put(c, "/api/x", "v1", &e), 0);
	assert_int_equal(shcache_get(c, "/api/x", "v1", 60, 0, &got), SHCACHE_HIT);
	assert_int_equal(got.status, 200);
	assert_string_equal(got.ctype, "application/json");
	assert_string_equal(got.etag, "\"t1\"");
	assert_int_equal(got.len, 7);
	assert_memory_equal(got.body, "{\"a\":1}", 7);
	assert_null(got.alt);
	free(got.body);
	/* a second form (lb-api: the gzip one) comes back with it */
	e.alt = "ZZZ";
	e.alt_len = 3;
	assert_int_equal(shcache_put(c, "/api/x", "v1", &e), 0);
	assert_int_equal(shcache_get(c, "/api/x", "v1", 60, 0, &got), SHCACHE_HIT);
	assert_int_equal(got.len, 7);
	assert_memory_equal(got.body, "{\"a\":1}", 7);
	assert_int_equal(got.alt_len, 3);
	assert_memory_equal(got.alt, "ZZZ", 3);
	free(got.body);
	e.alt = NULL;
	e.alt_len = 0;
	/* another version of the data: computed again, by the one who asks */
	assert_int_equal(shcache_get(c, "/api/x", "v2", 60, 0, &got), SHCACHE_MINE);
	shcache_drop(c, "/api/x");
	/* too old: computed again */
	e.at = time(NULL) - 61;
	assert_int_equal(shcache_put(c, "/api/y", "v1", &e), 0);
	assert_int_equal(shcache_get(c, "/api/y", "v1", 60, 0, &got), SHCACHE_MINE);
	shcache_drop(c, "/api/y");
	/* a key or version too long to keep is never shared */
	char longkey[SHCACHE_KEY_MAX + 1];
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	assert_int_equal(shcache_get(c, longkey, "v1", 60, 0, &got), SHCACHE_MISS);
	assert_int_equal(shcache_put(c, longkey, "v1", &e), -1);
	shcache_close(c);
}

/* A child's result: its shcache_get() outcome, then (HIT) the body. */
static int
child_get(struct shcache *c, const char *key, int wait_ms, int signal_fd)
{
	struct shcache_entry got;
	int rc;

	if (signal_fd >= 0 && write(signal_fd, "w", 1) != 1)
		return 100;
	rc = shcache_get(c, key, "v1", 60, wait_ms, &got);
	if (rc == SHCACHE_HIT) {
		rc = got.len == 5 && memcmp(got.body, "hello", 5) == 0 ? 10 : 11;
		free(got.body);
	}
	return rc;
}

static int
status_of(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
test_one_computes_others_wait(void **state)
{
	struct shcache *c = shcache_open(4u << 20);
	struct shcache_entry e = entry("hello", 5), got;
	int fds[2];
	char b;
	pid_t pid;

	(void)state;
	assert_non_null(c);
	assert_int_equal(shcache_get(c, "/api/lb", "v1", 60, 0, &got), SHCACHE_MINE);
	/* while this process computes it, another one gets no claim of its own */
	pid = fork();
	if (pid == 0)
		_exit(child_get(c, "/api/lb", 0, -1));
	assert_int_equal(status_of(pid), SHCACHE_MISS);
	/* one that waits gets this process's answer */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	if (pid == 0)
		_exit(child_get(c, "/api/lb", 10000, fds[1]));
	assert_int_equal(read(fds[0], &b, 1), 1);
	assert_int_equal(shcache_put(c, "/api/lb", "v1", &e), 0);
	assert_int_equal(status_of(pid), 10);
	close(fds[0]);
	close(fds[1]);
	shcache_close(c);
}

static void
test_claims_end(void **state)
{
	struct shcache *c = shcache_open(4u << 20);
	struct shcache_entry got;
	pid_t pid;

	(void)state;
	assert_non_null(c);
	/* a process that dies while computing leaves the key to the next one */
	pid = fork();
	if (pid == 0)
		_exit(shcache_get(c, "/api/dead", "v1", 60, 0, &got));
	assert_int_equal(status_of(pid), SHCACHE_MINE);
	assert_int_equal(shcache_get(c, "/api/dead", "v1", 60, 0, &got), SHCACHE_MINE);
	/* a claim given up (an error was sent) goes to the next one too */
	shcache_drop(c, "/api/dead");
	pid = fork();
	if (pid == 0)
		_exit(child_get(c, "/api/dead", 0, -1));
	assert_int_equal(status_of(pid), SHCACHE_MINE);
	shcache_close(c);
}

static void
test_oldest_give_way(void **state)
{
	size_t bytes = 2u << 20, quarter;
	struct shcache *c = shcache_open(bytes);
	struct shcache_entry e, got;
	char *body;
	char key[32];

	(void)state;
	assert_non_null(c);
	/* the body space is what the table leaves of the region: a body of
	 * a quarter of the region is more than a quarter of that space */
	quarter = bytes / 4;
	body = calloc(1, quarter);
	assert_non_null(body);
	e = entry(body, quarter);
	assert_int_equal(shcache_put(c, "/api/big", "v1", &e), -1);
	assert_int_equal(shcache_get(c, "/api/big", "v1", 60, 0, &got), SHCACHE_MINE);
	shcache_drop(c, "/api/big");
	/* bodies of a fifth of the region: the first ones give way */
	e.len = bytes / 5;
	for (int i = 0; i < 12; i++) {
		snprintf(key, sizeof key, "/api/k%d", i);
		memset(body, 'a' + i, e.len);
		assert_int_equal(shcache_put(c, key, "v1", &e), 0);
	}
	assert_int_equal(shcache_get(c, "/api/k0", "v1", 60, 0, &got), SHCACHE_MINE);
	shcache_drop(c, "/api/k0");
	assert_int_equal(shcache_get(c, "/api/k11", "v1", 60, 0, &got), SHCACHE_HIT);
	assert_int_equal(got.len, e.len);
	assert_int_equal(got.body[0], 'a' + 11);
	assert_int_equal(got.body[e.len - 1], 'a' + 11);
	free(got.body);
	assert_int_equal(shcache_get(c, "/api/k10", "v1", 60, 0, &got), SHCACHE_HIT);
	assert_int_equal(got.body[e.len / 2], 'a' + 10);
	free(got.body);
	free(body);
	shcache_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_and_age),
		cmocka_unit_test(test_one_computes_others_wait),
		cmocka_unit_test(test_claims_end),
		cmocka_unit_test(test_oldest_give_way),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
