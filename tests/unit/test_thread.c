/* lib/thread: a helper thread starts with every signal blocked; the
 * starting thread's mask is left as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "thread.h"

#include <signal.h>
#include <string.h>

struct seen {
	sigset_t mask;
	int ok;
};

static void *
record_mask(void *arg)
{
	struct seen *s = arg;

	s->ok = pthread_sigmask(SIG_BLOCK, NULL, &s->mask) == 0;
	return NULL;
}

static void
test_helper_blocks_signals(void **state)
{
	struct seen s;
	pthread_t tid;

	(void)state;
	memset(&s, 0, sizeof s);
	assert_int_equal(lb_thread_start(&tid, record_mask, &s), 0);
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_true(s.ok);
	/* the signals lb-syncd handles, and the others a thread could catch */
	assert_true(sigismember(&s.mask, SIGTERM));
	assert_true(sigismember(&s.mask, SIGHUP));
	assert_true(sigismember(&s.mask, SIGINT));
	assert_true(sigismember(&s.mask, SIGUSR1));
	assert_true(sigismember(&s.mask, SIGALRM));
}

static void
test_caller_mask_kept(void **state)
{
	sigset_t before, after, only_usr2;
	struct seen s;
	pthread_t tid;

	(void)state;
	/* a caller that blocks one signal of its own keeps exactly that */
	sigemptyset(&only_usr2);
	sigaddset(&only_usr2, SIGUSR2);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &only_usr2, &before), 0);
	assert_int_equal(lb_thread_start(&tid, record_mask, &s), 0);
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &before, &after), 0);
	assert_true(sigismember(&after, SIGUSR2));
	assert_false(sigismember(&after, SIGTERM));
	assert_false(sigismember(&after, SIGHUP));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helper_blocks_signals),
		cmocka_unit_test(test_caller_mask_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
