/*
 * lb-admin internals: one file per command group, dispatched from main.c's
 * table. A command returns the process exit status: 0 success, 1 failure
 * (one clear line on stderr), 2 bad usage.
 */
#ifndef LB_ADMIN_H
#define LB_ADMIN_H

#include "conf.h"

struct db;

struct admin {
	const char *config_path;
	struct conf conf;
	int         conf_loaded;
	struct db  *db;
};

/* Load the config (once); prints the error and returns -1 on failure. */
int        admin_conf(struct admin *a);
/* Connect (once); prints the error and returns NULL on failure. */
struct db *admin_db(struct admin *a);
/* "lb-admin: <message>" on stderr. */
void       admin_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_migrate(struct admin *a, int argc, char **argv);
/* bin/admin/deliveries.c (webhooks) */
int cmd_deliveries(struct admin *a, int argc, char **argv);
int cmd_replay(struct admin *a, int argc, char **argv);
/* bin/admin/changes.c (late changes to settled months) */
int cmd_changes(struct admin *a, int argc, char **argv);

#endif
