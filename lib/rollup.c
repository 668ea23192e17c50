/* Placeholder until the statistics issue designs the rollups: no-ops. */
#include "rollup.h"

int rollup_pr_before(struct db *db, unsigned long long pr_id) { (void)db; (void)pr_id; return 0; }
int rollup_pr_after(struct db *db, unsigned long long pr_id) { (void)db; (void)pr_id; return 0; }
int rollup_user_before(struct db *db, unsigned long long user_id) { (void)db; (void)user_id; return 0; }
int rollup_user_after(struct db *db, unsigned long long user_id) { (void)db; (void)user_id; return 0; }
int rollup_rebuild(struct db *db) { (void)db; return 0; }
