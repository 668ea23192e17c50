#include "jobs.h"
#include "buf.h"
#include "date.h"
#include "db.h"
#include "json.h"
#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long
jobs_backoff(unsigned attempts)
{
	long d = 30;

	for (unsigned i = 1; i < attempts && d < 6 * 3600; i++)
		d *= 2;
	return d > 6 * 3600 ? 6 * 3600 : d;
}

/* start time of a process in clock ticks since boot (/proc/PID/stat field
 * 22), 0 when the process does not exist */
static unsigned long long
proc_start(long pid)
{
	char path[64], data[1024], *p;
	unsigned long long v = 0;
	size_t n;
	FILE *f;

	if (lb_snprintf(path, sizeof path, "/proc/%ld/stat", pid) < 0)
		return 0;
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(data, 1, sizeof data - 1, f);
	fclose(f);
	data[n] = '\0';
	p = strrchr(data, ')');
	if (p == NULL)
		return 0;
	/* fields after ')' start with field 3 (state); starttime is field 22 */
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return 0;
	v = strtoull(p + 1, NULL, 10);
	return v;
}

void
jobs_owner(char *out, size_t outlen)
{
	char host[64];

	if (gethostname(host, sizeof host) < 0)
		lb_strlcpy(host, "localhost", sizeof host);
	host[sizeof host - 1] = '\0';
	for (char *p = host; *p; p++)
		if (*p == ':')
			*p = '_';
	lb_snprintf(out, outlen, "%s:%ld:%llu", host, (long)getpid(), proc_start((long)getpid()));
}

int
jobs_owner_parse(const char *owner, char *host, size_t hostlen, long *pid,
    unsigned long long *start)
{
	const char *a = strchr(owner, ':'), *b;
	long long v;
	char num[32];

	if (a == NULL || (b = strchr(a + 1, ':')) == NULL)
		return -1;
	if ((size_t)(a - owner) + 1 > hostlen || (size_t)(b - a - 1) + 1 > sizeof num)
		return -1;
	memcpy(host, owner, (size_t)(a - owner));
	host[a - owner] = '\0';
	memcpy(num, a + 1, (size_t)(b - a - 1));
	num[b - a - 1] = '\0';
	if (lb_parse_ll(num, 1, 1LL << 31, &v) < 0)
		return -1;
	*pid = (long)v;
	if (lb_parse_ll(b + 1, 0, 1LL << 62, &v) < 0)
		return -1;
	*start = (unsigned long long)v;
	return 0;
}

int
jobs_owner_dead(const char *owner)
{
	char me[JOB_OWNER_MAX], myhost[128], host[128], head[JOB_OWNER_MAX];
	unsigned long long start, mystart;
	long pid, mypid;
	const char *c;
	size_t n;

	if (owner == NULL)
		return 0;
	/* "HOST:PID:START", and whatever a lease adds after a third ':' */
	c = strchr(owner, ':');
	c = c ? strchr(c + 1, ':') : NULL;
	c = c ? strchr(c + 1, ':') : NULL;
	n = c ? (size_t)(c - owner) : strlen(owner);
	if (n >= sizeof head)
		return 0;
	memcpy(head, owner, n);
	head[n] = '\0';
	jobs_owner(me, sizeof me);
	if (jobs_owner_parse(me, myhost, sizeof myhost, &mypid, &mystart) < 0 ||
	    jobs_owner_parse(head, host, sizeof host, &pid, &start) < 0 || strcmp(host, myhost) != 0)
		return 0;
	if (pid == mypid)
		return start != mystart;	/* our pid, an earlier process's start */
	return proc_start(pid) != start || start == 0;
}

int
jobs_enqueue(struct db *db, const char *kind, const char *args, const char *dedupe_key,
    long delay_secs, unsigned long long *id, int *existed)
{
	struct db_res *res;

	*existed = 0;
	*id = 0;
	if (db_exec(db, "INSERT IGNORE INTO jobs (kind, args, dedupe_key, run_after) "
	    "VALUES (?, ?, ?, NOW(6) + INTERVAL ? SECOND)", "sssi",
	    kind, args ? args : "", dedupe_key, (long long)(delay_secs > 0 ? delay_secs : 0)) < 0)
		return -1;
	if (db_affected(db) == 1) {
		*id = db_insert_id(db);
		return 0;
	}
	if (db_query(db, &res, "SELECT id FROM jobs WHERE active_key = ?", "s", dedupe_key) < 0)
		return -1;
	*existed = 1;
	if (res->nrows == 1)
		*id = (unsigned long long)db_getll(res, 0, 0, 0);
	db_res_free(res);
	if (*id == 0) {
		/* finished between our insert and select: try once more */
		if (db_exec(db, "INSERT IGNORE INTO jobs (kind, args, dedupe_key, run_after) "
		    "VALUES (?, ?, ?, NOW(6) + INTERVAL ? SECOND)", "sssi",
		    kind, args ? args : "", dedupe_key, (long long)(delay_secs > 0 ? delay_secs : 0)) < 0)
			return -1;
		*existed = db_affected(db) != 1;
		*id = db_insert_id(db);
	}
	return 0;
}

static int
fill(struct db_res *res, struct job *j)
{
	memset(j, 0, sizeof *j);
	j->id = (unsigned long long)db_getll(res, 0, 0, 0);
	lb_strlcpy(j->kind, db_get(res, 0, 1) ? db_get(res, 0, 1) : "", sizeof j->kind);
	lb_strlcpy(j->args, db_get(res, 0, 2) ? db_get(res, 0, 2) : "", sizeof j->args);
	lb_strlcpy(j->dedupe_key, db_get(res, 0, 3) ? db_get(res, 0, 3) : "", sizeof j->dedupe_key);
	j->attempts = (unsigned)db_getll(res, 0, 4, 0) + 1;
	j->max_attempts = (unsigned)db_getll(res, 0, 5, 8);
	return 0;
}

struct claim {
	const char *owner, *ready_by;
	long lease_secs;
	struct job *j;
	int got;
};

/* One attempt: the oldest ready job, then the claim, in one transaction.
 * On Galera the row locks are the node's own: a claimer on another node
 * may pick the same job, and the second COMMIT fails certification (1213);
 * db_txn_with() then runs this again, which picks another job. */
static int
claim_txn(struct db *db, void *arg)
{
	struct claim *c = arg;
	struct db_res *res = NULL;

	c->got = 0;
	if (db_query(db, &res,
	    "SELECT id, kind, args, dedupe_key, attempts, max_attempts FROM jobs "
	    "WHERE state = 'queued' AND run_after <= LEAST(NOW(6), COALESCE(CAST(? AS DATETIME(6)), NOW(6))) "
	    "ORDER BY run_after LIMIT 1 FOR UPDATE SKIP LOCKED", "s", c->ready_by) < 0)
		return -1;
	if (res->nrows == 0) {
		db_res_free(res);
		if (db_query(db, &res,
		    "SELECT id, kind, args, dedupe_key, attempts, max_attempts FROM jobs "
		    "WHERE state = 'running' AND lease_expires_at < LEAST(NOW(6), "
		    "COALESCE(CAST(? AS DATETIME(6)), NOW(6))) "
		    "ORDER BY lease_expires_at LIMIT 1 FOR UPDATE SKIP LOCKED", "s", c->ready_by) < 0)
			return -1;
	}
	if (res->nrows == 0) {
		db_res_free(res);
		return 0;
	}
	fill(res, c->j);
	db_res_free(res);
	/* the claim is the committed change: attempts + 1 and our lease */
	if (db_exec(db, "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
	    "lease_owner = ?, lease_expires_at = NOW(6) + INTERVAL ? SECOND, finished_at = NULL "
	    "WHERE id = ?", "siu", c->owner, (long long)c->lease_secs, c->j->id) < 0)
		return -1;
	c->got = 1;
	return 0;
}

/* After a lost COMMIT: is the job ours, with the attempt this claim made? */
static int
claim_committed(struct db *db, void *arg)
{
	struct claim *c = arg;
	struct db_res *res;
	int ours;

	if (!c->got)
		return 1;	/* nothing was claimed: nothing to run again */
	if (db_query(db, &res, "SELECT 1 FROM jobs WHERE id = ? AND state = 'running' "
	    "AND lease_owner = ? AND attempts = ?", "usi", c->j->id, c->owner,
	    (long long)c->j->attempts) < 0)
		return -1;
	ours = res->nrows == 1;
	db_res_free(res);
	return ours;
}

int
jobs_claim(struct db *db, const char *owner, long lease_secs, const char *ready_by,
    struct job *j)
{
	struct claim c = { owner, ready_by, lease_secs, j, 0 };
	struct db_txn_opt o = { 8, 0, claim_committed };

	if (db_txn_with(db, &o, claim_txn, &c) < 0)
		return -1;
	return c.got;
}

int
jobs_renew(struct db *db, unsigned long long id, const char *owner, long lease_secs,
    const char *progress)
{
	if (progress) {
		if (db_exec(db, "UPDATE jobs SET lease_expires_at = NOW(6) + INTERVAL ? SECOND, "
		    "progress = LEFT(?, 255) WHERE id = ? AND lease_owner = ? AND state = 'running'",
		    "isus", (long long)lease_secs, progress, id, owner) < 0)
			return -1;
	} else if (db_exec(db, "UPDATE jobs SET lease_expires_at = NOW(6) + INTERVAL ? SECOND "
	    "WHERE id = ? AND lease_owner = ? AND state = 'running'",
	    "ius", (long long)lease_secs, id, owner) < 0)
		return -1;
	if (db_affected(db) == 1)
		return 0;
	/* 0 affected rows also when nothing changed within the same microsecond:
	 * ask whether the lease is still ours */
	{
		struct db_res *res;
		int ours;
		if (db_query(db, &res, "SELECT 1 FROM jobs WHERE id = ? AND lease_owner = ? "
		    "AND state = 'running'", "us", id, owner) < 0)
			return -1;
		ours = res->nrows == 1;
		db_res_free(res);
		return ours ? 0 : 1;
	}
}

int
jobs_done(struct db *db, unsigned long long id, const char *owner, const char *progress)
{
	return db_exec(db, "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, "
	    "finished_at = NOW(6), last_error = NULL, progress = COALESCE(LEFT(?, 255), progress) "
	    "WHERE id = ? AND lease_owner = ?", "sus", progress, id, owner);
}

int
jobs_fail(struct db *db, const struct job *j, const char *owner, const char *error,
    int permanent)
{
	if (permanent || j->attempts >= j->max_attempts)
		return db_exec(db, "UPDATE jobs SET state = 'failed', lease_owner = NULL, "
		    "lease_expires_at = NULL, finished_at = NOW(6), last_error = LEFT(?, 1024) "
		    "WHERE id = ? AND lease_owner = ?", "sus", error, j->id, owner);
	return db_exec(db, "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
	    "run_after = NOW(6) + INTERVAL ? SECOND, last_error = LEFT(?, 1024) "
	    "WHERE id = ? AND lease_owner = ?", "isus",
	    (long long)jobs_backoff(j->attempts), error, j->id, owner);
}

int
jobs_defer(struct db *db, unsigned long long id, const char *owner, long secs, const char *why)
{
	return db_exec(db, "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
	    "attempts = IF(attempts > 0, attempts - 1, 0), run_after = NOW(6) + INTERVAL ? SECOND, "
	    "last_error = COALESCE(LEFT(?, 1024), last_error) WHERE id = ? AND lease_owner = ?",
	    "isus", (long long)(secs > 0 ? secs : 0), why, id, owner);
}

int
jobs_release(struct db *db, unsigned long long id, const char *owner)
{
	return jobs_defer(db, id, owner, 0, NULL);
}

int
jobs_reclaim_local(struct db *db, int *reclaimed)
{
	char me[JOB_OWNER_MAX], myhost[128];
	unsigned long long mystart;
	struct db_res *res;
	long mypid;

	*reclaimed = 0;
	jobs_owner(me, sizeof me);
	if (jobs_owner_parse(me, myhost, sizeof myhost, &mypid, &mystart) < 0)
		return 0;
	if (db_query(db, &res, "SELECT id, lease_owner FROM jobs WHERE state = 'running' "
	    "AND lease_owner LIKE CONCAT(?, ':%')", "s", myhost) < 0)
		return -1;
	for (size_t i = 0; i < res->nrows; i++) {
		const char *owner = db_get(res, i, 1);
		if (!jobs_owner_dead(owner))
			continue;	/* alive (or ours, or another host's): still its job */
		if (db_exec(db, "UPDATE jobs SET state = 'queued', lease_owner = NULL, "
		    "lease_expires_at = NULL, run_after = NOW(6), "
		    "last_error = 'requeued: its lb-syncd process died' "
		    "WHERE id = ? AND lease_owner = ? AND state = 'running'",
		    "us", (unsigned long long)db_getll(res, i, 0, 0), owner) < 0) {
			db_res_free(res);
			return -1;
		}
		if (db_affected(db) == 1) {
			log_warn("job %s: its lb-syncd (%s) died; requeued", db_get(res, i, 0), owner);
			(*reclaimed)++;
		}
	}
	db_res_free(res);
	return 0;
}

int
jobs_prune(struct db *db, long days)
{
	return db_exec(db, "DELETE FROM jobs WHERE state IN ('done', 'failed') "
	    "AND finished_at < NOW(6) - INTERVAL ? DAY LIMIT 10000", "i", (long long)days);
}

/* ------------------------------------------------------------- listings */

int
jobs_state_valid(const char *state)
{
	static const char *states[] = { "queued", "running", "done", "failed" };

	for (size_t i = 0; state != NULL && i < sizeof states / sizeof states[0]; i++)
		if (strcmp(state, states[i]) == 0)
			return 1;
	return 0;
}

int
jobs_list(struct db *db, const char *state, long long limit, struct db_res **out)
{
	if (state == NULL)
		state = "";
	return db_query(db, out,
	    "SELECT id, kind, args, state, priority, attempts, max_attempts, "
	    DATE_SQL_ISO("run_after") " AS run_after, lease_owner, "
	    DATE_SQL_ISO("lease_expires_at") " AS lease_expires_at, progress, last_error, "
	    DATE_SQL_ISO("created_at") " AS created_at, " DATE_SQL_ISO("updated_at") " AS updated_at, "
	    DATE_SQL_ISO("finished_at") " AS finished_at "
	    "FROM jobs WHERE (? = '' OR state = ?) ORDER BY id DESC LIMIT ?", "ssi", state, state,
	    limit);
}

int
jobs_counts(struct db *db, struct db_res **out)
{
	return db_query(db, out, "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state", "");
}

/* The kind, arguments and dedupe key of the job that does `what` (jobs.h). */
int
jobs_describe(const char *what, const char *target, long number, int full, struct job *j)
{
	const char *out;
	struct jw w;
	size_t len;
	int rc = -1;

	memset(j, 0, sizeof *j);
	if (jw_init(&w) < 0)
		return -1;
	jw_obj(&w);
	if (strcmp(what, "teams") == 0) {
		lb_strlcpy(j->kind, "sync_teams", sizeof j->kind);
		lb_snprintf(j->dedupe_key, sizeof j->dedupe_key, "teams");
		jw_kv_bool(&w, "full", full);
	} else if (strcmp(what, "team") == 0) {
		lb_strlcpy(j->kind, "sync_team", sizeof j->kind);
		lb_snprintf(j->dedupe_key, sizeof j->dedupe_key, "team:%.200s", target);
		jw_kv_str(&w, "slug", target);
		jw_kv_bool(&w, "full", full);
	} else if (strcmp(what, "prs") == 0) {
		lb_strlcpy(j->kind, "sync_prs", sizeof j->kind);
		lb_snprintf(j->dedupe_key, sizeof j->dedupe_key, "prs:%.220s", target);
		jw_kv_str(&w, "repo", target);
		jw_kv_bool(&w, "full", full);
	} else if (strcmp(what, "pr") == 0) {
		lb_strlcpy(j->kind, "sync_pr", sizeof j->kind);
		lb_snprintf(j->dedupe_key, sizeof j->dedupe_key, "pr:%.220s#%ld", target, number);
		jw_kv_str(&w, "repo", target);
		jw_kv_int(&w, "number", number);
	} else if (strcmp(what, "check") == 0) {
		lb_strlcpy(j->kind, "check", sizeof j->kind);
		lb_snprintf(j->dedupe_key, sizeof j->dedupe_key, "check");
		jw_kv_bool(&w, "repair", full);
	} else {
		jw_free(&w);
		return -1;
	}
	jw_obj_end(&w);
	if (jw_finish(&w, &out, &len) == 0 && len < sizeof j->args) {
		memcpy(j->args, out, len);
		j->args[len] = '\0';
		rc = 0;
	}
	jw_free(&w);
	return rc;
}

/* Queue the job that does `what` (jobs.h). */
int
jobs_queue(struct db *db, const char *what, const char *target, long number, int full,
    unsigned long long *id, int *existed)
{
	struct job j;
	int rc;

	if (jobs_describe(what, target, number, full, &j) < 0)
		return -1;
	rc = jobs_enqueue(db, j.kind, j.args, j.dedupe_key, 0, id, existed);
	if (rc == 0 && *existed && full)	/* a queued incremental one becomes full */
		rc = db_exec(db, "UPDATE jobs SET args = ? WHERE id = ? AND state = 'queued'", "su",
		    j.args, *id);
	return rc;
}
