/*
 * lb-admin — the administrator's command line. See usage() and
 * docs/REFERENCE.md "Programs and commands".
 */
#include "admin.h"
#include "buf.h"
#include "db.h"
#include "log.h"
#include "rollup.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
	const char *name;
	int (*fn)(struct admin *, int, char **);
	const char *usage;
	const char *help;	/* --help: what it does, wrapped at 72 columns */
};

/* Commands of other modules are declared weak so that this table is the one
 * place listing them; a missing implementation answers "not available". */
int cmd_sync(struct admin *, int, char **) __attribute__((weak));
int cmd_backfill(struct admin *, int, char **) __attribute__((weak));
int cmd_check(struct admin *, int, char **) __attribute__((weak));
int cmd_jobs(struct admin *, int, char **) __attribute__((weak));
int cmd_deliveries(struct admin *, int, char **) __attribute__((weak));
int cmd_replay(struct admin *, int, char **) __attribute__((weak));
int cmd_changes(struct admin *, int, char **) __attribute__((weak));
int cmd_rebuild(struct admin *, int, char **) __attribute__((weak));

static const struct command commands[] = {
	{ "migrate",    cmd_migrate,    "migrate",
	  "Apply the SQL migrations not applied yet, in order (from\n"
	  "$LB_SQL_DIR, else ../share/leaderboard/sql next to lb-admin). A second\n"
	  "run applies nothing. Run it after every upgrade, before restarting." },
	{ "sync",       cmd_sync,       "sync teams|team SLUG|prs OWNER/REPO [--full]|pr OWNER/REPO#N [--now]",
	  "Queue a sync for lb-syncd: all teams and memberships of the partner\n"
	  "org, one team, the PRs of one tracked repository (updated since the\n"
	  "last sync, or all with --full), or one PR; one line on stdout names\n"
	  "the job. --now runs it here instead, in the foreground, with a live\n"
	  "progress line on a terminal." },
	{ "backfill",   cmd_backfill,   "backfill [--now]",
	  "Queue (or with --now run) a sync of the teams and a full sync of\n"
	  "every tracked repository: the first import after installing." },
	{ "check",      cmd_check,      "check [--repair] [--json]",
	  "Run the integrity checks now and print the findings; --repair\n"
	  "also repairs what can be repaired." },
	{ "jobs",       cmd_jobs,       "jobs [--state STATE]",
	  "List the job queue, optionally only jobs in STATE." },
	{ "deliveries", cmd_deliveries, "deliveries [--failed] [--limit N]",
	  "List the stored webhook deliveries, newest first (default 100),\n"
	  "or only the failed ones: id, event, action, outcome, time, error." },
	{ "replay",     cmd_replay,     "replay DELIVERY_ID|--all",
	  "Apply a stored delivery again (idempotent), or with --all every\n"
	  "stored delivery, oldest first." },
	{ "changes",    cmd_changes,    "changes [--month YYYY-MM] [--limit N]",
	  "List late changes, newest first (default 100): counters of months\n"
	  "settled for [stats] settle_days that a write changed afterwards:\n"
	  "time, month, scope, metric, old, new, the PR that caused it." },
	{ "rebuild",    cmd_rebuild,    "rebuild",
	  "Rebuild the statistics from the stored PRs and memberships now,\n"
	  "also while a rebuild that failed waits for its retry time\n"
	  "(stat_state.rebuild_retry_at); prints how long it took. lb-api and\n"
	  "lb-syncd rebuild by themselves when the config or the memberships\n"
	  "changed: this is for after a failure, or after fixing one." },
};

/* --help prints the manual page; bad usage prints the synopsis to stderr. */
static void
usage(FILE *f, int full)
{
	size_t i, n = sizeof commands / sizeof commands[0];

	if (!full) {
		fprintf(f, "usage: lb-admin [--config FILE] COMMAND [ARGS]\n\ncommands:\n");
		for (i = 0; i < n; i++)
			fprintf(f, "  %s\n", commands[i].usage);
		fprintf(f, "\nlb-admin --help explains each command.\n");
		return;
	}
	fprintf(f,
	    "NAME\n"
	    "    lb-admin - administer a leaderboard installation\n"
	    "\n"
	    "SYNOPSIS\n"
	    "    lb-admin [--config FILE] COMMAND [ARGS]\n"
	    "    lb-admin --help | --version\n"
	    "\n"
	    "DESCRIPTION\n"
	    "    The administrator's command line of leaderboard: applies schema\n"
	    "    migrations, queues GitHub syncs for lb-syncd (or runs them in the\n"
	    "    foreground), runs integrity checks, and shows jobs and webhook\n"
	    "    deliveries. It talks to MariaDB with the [database] settings of the\n"
	    "    configuration file.\n"
	    "\n"
	    "COMMANDS\n");
	for (i = 0; i < n; i++) {
		const char *h = commands[i].help;

		fprintf(f, "    %s\n", commands[i].usage);
		while (*h) {
			size_t len = strcspn(h, "\n");
			fprintf(f, "        %.*s\n", (int)len, h);
			h += len + (h[len] == '\n');
		}
		if (commands[i].fn == NULL)
			fprintf(f, "        (not available in this build)\n");
	}
	fprintf(f,
	    "\n"
	    "OPTIONS\n"
	    "    --config FILE  the configuration file (see FILES)\n"
	    "    --help, -h     print this manual\n"
	    "    --version      print the version\n"
	    "\n"
	    "ENVIRONMENT\n"
	    "    LB_CONFIG      configuration file when --config is not given\n"
	    "    LB_SQL_DIR     directory of the NNN_name.sql migrations\n"
	    "    LB_LOG_LEVEL   debug, info, warn or error\n"
	    "\n"
	    "FILES\n"
	    "    %s\n"
	    "        the configuration (INI) when neither --config nor LB_CONFIG\n"
	    "        is given; every key is explained in leaderboard.conf.example\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 success, 1 failure (one line on stderr), 2 bad usage.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    lb-syncd --help, lb-api.fcgi --help, lb-hook.fcgi --help,\n"
	    "    docs/OPERATIONS.md (installed in share/doc/leaderboard)\n",
	    CONF_DEFAULT_PATH);
}

void
admin_err(const char *fmt, ...)
{
	va_list ap;

	fputs("lb-admin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
admin_conf(struct admin *a)
{
	char err[512];

	if (a->conf_loaded)
		return 0;
	if (conf_load(&a->conf, conf_path(a->config_path), err, sizeof err) < 0) {
		admin_err("%s", err);
		return -1;
	}
	a->conf_loaded = 1;
	rollup_configure(&a->conf);
	return 0;
}

struct db *
admin_db(struct admin *a)
{
	char err[512];

	if (a->db)
		return a->db;
	if (admin_conf(a) < 0)
		return NULL;
	a->db = db_open(&a->conf, err, sizeof err);
	if (a->db == NULL)
		admin_err("%s", err);
	return a->db;
}

int
main(int argc, char **argv)
{
	struct admin a;
	int i = 1, rc;

	memset(&a, 0, sizeof a);
	log_init("lb-admin");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			a.config_path = argv[++i];
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout, 1);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("lb-admin %s\n", LB_VERSION);
			return 0;
		} else {
			admin_err("unknown option '%s'", argv[i]);
			usage(stderr, 0);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr, 0);
		return 2;
	}
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
		if (strcmp(commands[k].name, argv[i]) != 0)
			continue;
		if (commands[k].fn == NULL) {
			admin_err("'%s' is not available in this build", argv[i]);
			return 1;
		}
		rc = commands[k].fn(&a, argc - i, argv + i);
		db_close(a.db);
		if (a.conf_loaded)
			conf_free(&a.conf);
		return rc;
	}
	admin_err("unknown command '%s'", argv[i]);
	usage(stderr, 0);
	return 2;
}
