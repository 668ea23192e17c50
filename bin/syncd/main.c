/*
 * lb-syncd — the sync daemon (../shared/CONTRACT.md "Programs and commands").
 * Foundation skeleton: loads the config, connects, and waits for SIGTERM;
 * --once returns at once. Schedules, jobs and the spool come with their issues.
 */
#include "conf.h"
#include "db.h"
#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL;
	struct sigaction sa;
	struct conf conf;
	char err[512];
	int once = 0;

	log_init("lb-syncd");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--once") == 0)
			once = 1;
		else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: lb-syncd [--config FILE] [--once]\n");
			return 0;
		} else {
			fprintf(stderr, "lb-syncd: unknown argument '%s' (see --help)\n", argv[i]);
			return 2;
		}
	}
	if (conf_load(&conf, conf_path(config_path), err, sizeof err) < 0) {
		fprintf(stderr, "lb-syncd: %s\n", err);
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	log_info("started");
	while (!once && !stop)
		pause();
	log_info("stopped");
	conf_free(&conf);
	return 0;
}
