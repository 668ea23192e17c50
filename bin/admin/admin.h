/*
 * lb-admin internals: one file per command group, dispatched from main.c's
 * table. A command returns the process exit status: 0 success, 1 failure
 * (one clear line on stderr), 2 bad usage.
 */
#ifndef LB_ADMIN_H
#define LB_ADMIN_H

#include "conf.h"

#include <stddef.h>

struct db;
struct db_res;

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

/* Listings (bin/admin/list.c): the modules give the rows, these print them.
 * admin_cell(): the text of a cell, dflt when it is NULL. admin_time(): a
 * listing's time "YYYY-MM-DDTHH:MM:SSZ" as "YYYY-MM-DD HH:MM:SS" (in out),
 * dflt when NULL. admin_limit_opt(): 1 when argv[*i] is "--limit N" with N in
 * 1..1000000000 (*limit set, *i moved to N), else 0. */
const char *admin_cell(const struct db_res *r, size_t row, size_t col, const char *dflt);
const char *admin_time(const struct db_res *r, size_t row, size_t col, char *out, size_t outlen,
    const char *dflt);
int        admin_limit_opt(int argc, char **argv, int *i, long long *limit);

int cmd_migrate(struct admin *a, int argc, char **argv);
/* bin/admin/deliveries.c (webhooks) */
int cmd_deliveries(struct admin *a, int argc, char **argv);
int cmd_replay(struct admin *a, int argc, char **argv);
/* bin/admin/changes.c (late changes to settled months) */
int cmd_changes(struct admin *a, int argc, char **argv);
/* bin/admin/rebuild.c (the statistics) */
int cmd_rebuild(struct admin *a, int argc, char **argv);

#endif
