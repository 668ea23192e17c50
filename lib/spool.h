/*
 * spool — durable storage of verified webhook deliveries while MariaDB is
 * unreachable, and their later application.
 *
 * Contract:
 *  - spool_write() stores one verified delivery in [hook] spool_dir: it is
 *    written to a temporary file, fsync'd, renamed to its final name and the
 *    directory fsync'd, so once it returns 0 the delivery survives a crash.
 *    Final names ("<YYYYMMDDhhmmssffffff of received_at>-<pid>-<seq>.delivery", fixed width) sort
 *    in arrival order. Returns -1 (errno set, nothing left behind) when the
 *    directory cannot be written.
 *    File format: one line of JSON {"delivery", "event", "hook_id",
 *    "received_at", "content_type"}, a newline, then the payload bytes.
 *  - spool_apply_all() applies every spooled delivery in arrival order
 *    through the same code as a live delivery (lib/ingest), deleting each file
 *    only after its transaction committed; it stops at the first database
 *    error (the file stays for the next run). *applied counts the files
 *    applied. Returns 0, or -1 when it stopped on an error. Runs of several
 *    processes (and threads) are serialized by a lock file (.lock) in the
 *    directory. A file that cannot be parsed is renamed to *.corrupt and
 *    logged, not retried. When stop is not NULL and becomes non-zero, it
 *    returns 0 after the delivery being applied (the rest waits).
 *  - spool_count() is the number of deliveries waiting (-1 when the
 *    directory cannot be read; 0 when it does not exist).
 */
#ifndef LB_SPOOL_H
#define LB_SPOOL_H

#include <stdatomic.h>

struct conf;
struct db;
struct ingest_delivery;

int spool_apply_all(const struct conf *c, struct db *db, const atomic_int *stop, int *applied);
int spool_write(const struct conf *c, const struct ingest_delivery *d);
int spool_count(const struct conf *c);

#endif
