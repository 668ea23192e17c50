/*
 * spool — durable storage of verified webhook deliveries while MariaDB is
 * unreachable, and their later application.
 *
 * Contract:
 *  - spool_apply_all() applies every spooled delivery in arrival order
 *    through the same code as a live delivery, deleting each file only after
 *    its transaction committed; it stops at the first database error (the
 *    file stays for the next run). *applied counts the files applied.
 *    Returns 0, or -1 when it stopped on an error.
 */
#ifndef LB_SPOOL_H
#define LB_SPOOL_H

struct conf;
struct db;

int spool_apply_all(const struct conf *c, struct db *db, int *applied);

#endif
