/*
 * lb-admin — the administrator's command line. See usage() and
 * ../shared/CONTRACT.md "Programs and commands".
 */
#include "admin.h"
#include "buf.h"
#include "db.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
	const char *name;
	int (*fn)(struct admin *, int, char **);
	const char *usage;
};

/* Commands of other modules are declared weak so that this table is the one
 * place listing them; a missing implementation answers "not available". */
int cmd_sync(struct admin *, int, char **) __attribute__((weak));
int cmd_backfill(struct admin *, int, char **) __attribute__((weak));
int cmd_check(struct admin *, int, char **) __attribute__((weak));
int cmd_jobs(struct admin *, int, char **) __attribute__((weak));
int cmd_deliveries(struct admin *, int, char **) __attribute__((weak));
int cmd_replay(struct admin *, int, char **) __attribute__((weak));

static const struct command commands[] = {
	{ "migrate",    cmd_migrate,    "migrate" },
	{ "sync",       cmd_sync,       "sync teams|team SLUG|prs OWNER/REPO [--full]|pr OWNER/REPO#N [--now]" },
	{ "backfill",   cmd_backfill,   "backfill [--now]" },
	{ "check",      cmd_check,      "check [--repair] [--json]" },
	{ "jobs",       cmd_jobs,       "jobs [--state STATE]" },
	{ "deliveries", cmd_deliveries, "deliveries [--failed]" },
	{ "replay",     cmd_replay,     "replay DELIVERY_ID|--all" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: lb-admin [--config FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "\nThe config comes from --config, else $LB_CONFIG, else %s.\n"
	    "Exit status: 0 success, 1 failure, 2 bad usage.\n", CONF_DEFAULT_PATH);
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
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("lb-admin %s\n", LB_VERSION);
			return 0;
		} else {
			admin_err("unknown option '%s'", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
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
	usage(stderr);
	return 2;
}
