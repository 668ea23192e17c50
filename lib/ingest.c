/*
 * ingest — one delivery: deliveries row + effects, one transaction (see
 * ingest.h). The dispatch table below is the list of events that matter
 * (docs/REFERENCE.md "Webhooks"); everything else is stored "ignored".
 */
#include "ingest.h"
#include "buf.h"
#include "conf.h"
#include "date.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "store.h"
#include "http.h"
#include "utf8.h"

#include <ctype.h>
#include <mysqld_error.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ATTEMPTS 5

struct ctx {
	struct db          *db;
	const struct conf  *c;
	json_val            root;
	const char         *action;	/* NULL when the payload has none */
	const char         *at;		/* received_at */
	const char         *hook_id;	/* header, may be NULL */
	int                 known;	/* the INSERT found this PR snapshot stored */
	char                why[160];	/* reason of a STORE_EBADINPUT */
};

static int
bad(struct ctx *x, const char *why)
{
	lb_strlcpy(x->why, why, sizeof x->why);
	return STORE_EBADINPUT;
}

static int
is_action(const struct ctx *x, const char *a)
{
	return x->action && strcmp(x->action, a) == 0;
}

/* ------------------------------------------------------- organizations */

/* 1: the partner org (or no partner_org configured), 0: another org,
 * -1: no usable "organization" object. */
static int
org_of(const struct ctx *x, unsigned long long *id)
{
	json_val o = json_get(x->root, "organization", NULL);
	json_val v = json_get(o, "id", NULL);
	const char *login = json_str(o, "login");

	if (!json_is_object(o) || login == NULL || !json_is_integer(v) || json_integer(v) <= 0)
		return -1;
	*id = (unsigned long long)json_integer(v);
	if (x->c->partner_org == NULL || x->c->partner_org[0] == '\0')
		return 1;
	return strcasecmp(login, x->c->partner_org) == 0;
}

static int
org_write(struct ctx *x, unsigned long long id)
{
	json_val o = json_get(x->root, "organization", NULL);
	const char *login = json_str(o, "login");
	char l[101];

	utf8_copy(l, sizeof l, login, 100);	/* organizations.login VARCHAR(100) */
	return db_exec(x->db,
	    "INSERT INTO organizations (id, login, is_partner) VALUES (?, ?, ?) "
	    "ON DUPLICATE KEY UPDATE login = VALUES(login), is_partner = VALUES(is_partner)",
	    "usi", id, l, (long long)(x->c->partner_org && strcasecmp(login, x->c->partner_org) == 0));
}

/* ------------------------------------------------------------- handlers */

static int
on_ping(struct ctx *x)
{
	json_val hook = json_get(x->root, "hook", NULL);
	json_val ev = json_get(hook, "events", NULL);
	long long id = json_ll(x->root, "hook_id", -1);
	const char *type = json_str(hook, "type"), *target;
	struct buf events = BUF_INIT;
	char tt[21] = "", tg[202] = "";
	int rc;

	if (id <= 0)
		id = json_ll(hook, "id", -1);
	if (id <= 0 && x->hook_id)
		(void)lb_parse_ll(x->hook_id, 1, INT64_MAX, &id);
	if (id <= 0)
		return bad(x, "ping without hook_id");
	if (type) {	/* the columns' widths, never inside a UTF-8 sequence */
		utf8_copy(tt, sizeof tt, type, sizeof tt - 1);
		for (char *t = tt; *t; t++)
			*t = (char)tolower((unsigned char)*t);
	}
	target = json_str(json_get(x->root, "organization", NULL), "login");
	if (target == NULL)
		target = json_str(json_get(x->root, "repository", NULL), "full_name");
	if (target)
		utf8_copy(tg, sizeof tg, target, sizeof tg - 1);
	events.max = 1024;
	JSON_EACH(e, ev) {
		if (!json_is_string(e))
			continue;
		if ((events.len && buf_putc(&events, ',') < 0) || buf_puts(&events, json_string(e)) < 0)
			break;
	}
	rc = db_exec(x->db,
	    "INSERT INTO webhooks (hook_id, target_type, target, events, first_seen_at, last_ping_at) "
	    "VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
	    "target_type = COALESCE(VALUES(target_type), target_type), "
	    "target = COALESCE(VALUES(target), target), events = COALESCE(VALUES(events), events), "
	    "first_seen_at = LEAST(first_seen_at, VALUES(first_seen_at)), "
	    "last_ping_at = GREATEST(COALESCE(last_ping_at, VALUES(last_ping_at)), VALUES(last_ping_at))",
	    "ussss" "s", (unsigned long long)id, tt[0] ? tt : NULL, tg[0] ? tg : NULL,
	    events.len ? events.data : NULL, x->at, x->at);
	buf_free(&events);
	return rc;
}

static int
on_pull_request(struct ctx *x)
{
	enum store_result res;
	json_val pr = json_get(x->root, "pull_request", NULL);
	int rc;

	if (!json_is_object(pr))
		return bad(x, "pull_request: no pull_request object");
	if (x->known)
		return 0;	/* stored already (store_pr_check_known): nothing to write */
	rc = store_pr(x->db, x->c, pr, "webhook", &res);
	if (rc == STORE_EBADINPUT)
		return bad(x, "pull_request: missing or malformed field in pull_request");
	return rc;
}

static int
team_id_of(json_val team, unsigned long long *id)
{
	json_val v = json_get(team, "id", NULL);

	if (!json_is_integer(v) || json_integer(v) <= 0)
		return -1;
	*id = (unsigned long long)json_integer(v);
	return 0;
}

static int
on_team(struct ctx *x)
{
	json_val team = json_get(x->root, "team", NULL);
	unsigned long long org, tid;
	int rc;

	if (org_of(x, &org) < 0 || team_id_of(team, &tid) < 0)
		return bad(x, "team: missing organization or team");
	if (org_write(x, org) < 0)
		return -1;
	rc = store_team(x->db, team, org);
	if (rc == STORE_EBADINPUT)
		return bad(x, "team: malformed team object");
	if (rc < 0)
		return -1;
	if (is_action(x, "deleted"))
		return store_team_deleted(x->db, tid, x->at);
	return 0;
}

static int
on_membership(struct ctx *x)
{
	json_val team = json_get(x->root, "team", NULL);
	json_val member = json_get(x->root, "member", NULL);
	unsigned long long org, tid, uid;
	int rc;

	if (org_of(x, &org) < 0 || team_id_of(team, &tid) < 0 ||
	    team_id_of(member, &uid) < 0)
		return bad(x, "membership: missing organization, team or member");
	rc = store_user(x->db, member);
	if (rc == STORE_EBADINPUT)
		return bad(x, "membership: malformed member");
	if (rc < 0 || org_write(x, org) < 0)
		return -1;
	/* A deleted team comes as {id, name, deleted: true}: keep what we have. */
	if (json_str(team, "slug")) {
		rc = store_team(x->db, team, org);
		if (rc == STORE_EBADINPUT)
			return bad(x, "membership: malformed team");
		if (rc < 0)
			return -1;
	}
	if (is_action(x, "added"))
		return store_member_start(x->db, tid, uid, x->at, "webhook");
	return store_member_end(x->db, tid, uid, x->at);
}

static int
on_organization(struct ctx *x)
{
	json_val user = json_get(x->root, "membership", "user", NULL);
	unsigned long long org, uid;
	struct db_res *r;
	int rc;

	if (org_of(x, &org) < 0 || team_id_of(user, &uid) < 0)
		return bad(x, "organization: missing organization or membership.user");
	rc = store_user(x->db, user);
	if (rc == STORE_EBADINPUT)
		return bad(x, "organization: malformed membership.user");
	if (rc < 0 || org_write(x, org) < 0)
		return -1;
	if (is_action(x, "member_added"))
		return 0;
	/* member_removed: out of every team of the org, now. */
	if (db_query(x->db, &r,
	    "SELECT DISTINCT m.team_id FROM memberships m JOIN teams t ON t.id = m.team_id "
	    "WHERE m.user_id = ? AND m.ended_at IS NULL AND (t.org_id = ? OR t.org_id IS NULL) "
	    "FOR UPDATE",
	    "uu", uid, org) < 0)
		return -1;
	rc = 0;
	for (size_t i = 0; i < r->nrows && rc == 0; i++)
		rc = store_member_end(x->db, strtoull(db_get(r, i, 0), NULL, 10), uid, x->at);
	db_res_free(r);
	return rc;
}

static int
on_repository(struct ctx *x)
{
	int rc = store_repo(x->db, x->c, json_get(x->root, "repository", NULL));

	if (rc == STORE_EBADINPUT)
		return bad(x, "repository: missing or malformed repository");
	return rc;
}

/*
 * The events that matter. actions: NULL = every action; else a
 * space-separated list. partner: only for the partner org's payloads.
 */
static const struct route {
	const char *event;
	const char *actions;
	int         partner;
	int       (*fn)(struct ctx *);
} routes[] = {
	{ "ping",         NULL,                          0, on_ping },
	{ "pull_request", NULL,                          0, on_pull_request },
	{ "team",         "created edited deleted",      1, on_team },
	{ "membership",   "added removed",               1, on_membership },
	{ "organization", "member_added member_removed", 1, on_organization },
	{ "repository",   "renamed transferred",         0, on_repository },
};

static int
word_in(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p = list;

	while (n && (p = strstr(p, w)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

/* The route of a delivery, or NULL: stored and ignored. */
static const struct route *
route_of(const struct ctx *x, const char *event)
{
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const struct route *r = &routes[i];
		unsigned long long org;
		if (strcmp(r->event, event) != 0)
			continue;
		if (r->actions && (x->action == NULL || !word_in(r->actions, x->action)))
			return NULL;
		if (r->partner && org_of(x, &org) == 0)
			return NULL;	/* another organization's teams */
		if (strcmp(event, "membership") == 0 && json_str(x->root, "scope") &&
		    strcmp(json_str(x->root, "scope"), "team") != 0)
			return NULL;
		return r;
	}
	return NULL;
}

/* ------------------------------------------------------------ the row */

/* Insert the row (live), or update it (exists: a failed one; replay). */
static int
row_write(struct db *db, const struct ingest_delivery *d, const char *action,
    const char *outcome, const char *error, int exists, int replay)
{
	char now[32];

	store_now(now, sizeof now);
	if (replay)
		return db_exec(db,
		    "UPDATE deliveries SET outcome = ?, error = ?, processed_at = ?, action = ? "
		    "WHERE id = ?", "sssss", outcome, error, now, action, d->id);
	if (exists)
		return db_exec(db,
		    "UPDATE deliveries SET event = ?, action = ?, hook_id = ?, received_at = ?, "
		    "processed_at = ?, outcome = ?, error = ?, content_type = ?, body = ? WHERE id = ?",
		    "ssssssssbs", d->event, action, d->hook_id, d->received_at, now, outcome, error,
		    d->content_type, d->body, d->len, d->id);
	return db_exec(db,
	    "INSERT INTO deliveries (id, event, action, hook_id, received_at, processed_at, "
	    "outcome, error, content_type, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "sssssssssb", d->id, d->event, action, d->hook_id, d->received_at, now, outcome,
	    error, d->content_type, d->body, d->len);
}

/*
 * The deliveries row of a pull_request whose PR object store_pr() accepts:
 * the INSERT also returns the stored snapshot's fingerprint (STORE_PR_CHECK),
 * so a snapshot already stored costs this statement and the COMMIT. *known
 * says whether it was.
 */
static int
row_insert_pr(struct db *db, const struct ingest_delivery *d, const char *action,
    const struct store_pr_check *k, int *known)
{
	struct db_res *r;
	char now[32];

	store_now(now, sizeof now);
	if (db_query(db, &r,
	    "INSERT INTO deliveries (id, event, action, hook_id, received_at, processed_at, "
	    "outcome, error, content_type, body) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) "
	    "RETURNING " STORE_PR_CHECK,
	    "ssssssssb" "u", d->id, d->event, action, d->hook_id, d->received_at, now,
	    "processed", d->content_type, d->body, d->len, k->id) < 0)
		return -1;
	*known = store_pr_check_known(k, db_get(r, 0, 0));
	db_res_free(r);
	return 0;
}

/* Record a failure outside any transaction. */
static int
row_failed(struct db *db, const struct ingest_delivery *d, const char *action,
    const char *error, int replay)
{
	struct db_res *r;
	int exists;

	if (db_query(db, &r, "SELECT outcome FROM deliveries WHERE id = ?", "s", d->id) < 0)
		return -1;
	exists = r->nrows == 1;
	db_res_free(r);
	return row_write(db, d, action, "failed", error, exists, replay);
}

/* One delivery being applied: what every attempt of its transaction needs. */
struct run {
	struct ctx                   x;
	const struct ingest_delivery *d;
	const struct route          *rt;
	const char                  *action, *outcome;
	int                          replay, with_check;
	struct store_pr_check        k;
	enum ingest_status           st;	/* of the attempt that commits */
};

enum { RUN_DUPLICATE = 1, RUN_BADINPUT = 2 };	/* db_txn decisions: rolled back */

/* The deliveries row of this attempt: inserted (live), or found failed
 * (exists: applied again), or RUN_DUPLICATE. */
static int
run_row(struct db *db, struct run *u, int *exists)
{
	struct db_res *r;
	int rc = 0, failed;

	*exists = 0;
	if (u->with_check)
		rc = row_insert_pr(db, u->d, u->action, &u->k, &u->x.known);
	else if (!u->replay)
		rc = row_write(db, u->d, u->action, u->outcome, u->x.root ? NULL : u->x.why, 0, 0);
	if (rc == 0)
		return 0;
	if (db_errno(db) != ER_DUP_ENTRY || db_query(db, &r,
	    "SELECT outcome FROM deliveries WHERE id = ? FOR UPDATE", "s", u->d->id) < 0)
		return -1;
	failed = r->nrows == 1 && strcmp(db_get(r, 0, 0), "failed") == 0;
	db_res_free(r);
	if (!failed)
		return RUN_DUPLICATE;
	*exists = 1;	/* a failed delivery arrives again: apply it */
	return 0;
}

/* One attempt (db_txn): the row, then the event's effects. */
static int
run_txn(struct db *db, void *arg)
{
	struct run *u = arg;
	int exists, rc;

	if (u->x.root)
		u->x.why[0] = '\0';
	u->x.known = 0;
	if ((rc = run_row(db, u, &exists)) != 0)
		return rc;
	if (u->x.root == NULL) {	/* not JSON: the row says why */
		u->st = INGEST_BADINPUT;
		return (exists || u->replay) ?
		    row_write(db, u->d, u->action, "failed", u->x.why, exists, u->replay) : 0;
	}
	rc = u->rt ? u->rt->fn(&u->x) : 0;
	if (rc == STORE_EBADINPUT)
		return RUN_BADINPUT;
	if (rc < 0 || ((exists || u->replay) &&
	    row_write(db, u->d, u->action, u->outcome, NULL, exists, u->replay) < 0))
		return -1;
	u->st = u->rt ? INGEST_PROCESSED : INGEST_IGNORED;
	return 0;
}

/* Whether delivery id is stored with an outcome other than "failed": 1, 0,
 * or -1 on a database error. */
static int
row_committed(struct db *db, const char *id)
{
	struct db_res *r;
	int yes;

	if (db_query(db, &r, "SELECT outcome FROM deliveries WHERE id = ?", "s", id) < 0)
		return -1;
	yes = r->nrows == 1 && strcmp(db_get(r, 0, 0), "failed") != 0;
	db_res_free(r);
	return yes;
}

/* After a COMMIT lost with the connection: whether the row is stored as
 * this attempt left it (a replay runs again: idempotent by key). */
static int
run_committed(struct db *db, void *arg)
{
	struct run *u = arg;

	return u->replay ? 0 : row_committed(db, u->d->id);
}

/* Parses the payload and picks its route (u->x.why says why when not JSON). */
static void
run_parse(struct run *u, const struct conf *c, char *act, json_val root)
{
	const struct ingest_delivery *d = u->d;
	char perr[128] = "";

	u->x.root = root ? root :
	    json_parse(d->body, d->len, INGEST_MAX_DEPTH, d->len + 1, perr, sizeof perr);
	if (u->x.root && !json_is_object(u->x.root)) {
		json_free(u->x.root);
		u->x.root = NULL;
		lb_strlcpy(perr, "the payload is not a JSON object", sizeof perr);
	}
	if (u->x.root == NULL) {
		lb_snprintf(u->x.why, sizeof u->x.why, "invalid JSON payload: %s", perr);
		u->outcome = "failed";
		return;
	}
	u->x.action = json_str(u->x.root, "action");
	if (u->x.action) {	/* cut to the column, never inside a UTF-8 sequence */
		utf8_copy(act, 65, u->x.action, 64);
		u->action = act;
	}
	u->rt = route_of(&u->x, d->event);
	u->outcome = u->rt ? "processed" : "ignored";
	u->with_check = !u->replay && u->rt && u->rt->fn == on_pull_request &&
	    store_pr_check_init(c, json_get(u->x.root, "pull_request", NULL), &u->k) == 0;
}

/*
 * One transaction through db_txn_with(): deadlocks, lock wait timeouts,
 * Galera aborts and lost connections run it again from the parsed payload
 * (a COMMIT lost with its connection is checked by the row first).
 * Deliveries run under READ COMMITTED (db_read_committed(), once per
 * connection): no gap locks, so deliveries of new PRs (ids near each other)
 * never deadlock on the same index gap, and every read sees what concurrent
 * deliveries committed (lib/store locks the rows it decides on).
 */
static enum ingest_status
run(struct db *db, const struct conf *c, const struct ingest_delivery *d, int replay,
    json_val root, char *err, size_t errlen)
{
	struct run u;
	struct db_txn_opt o = { ATTEMPTS, 0, run_committed };
	char act[65] = "";
	int rc;

	memset(&u, 0, sizeof u);
	u.x.db = db;
	u.x.c = c;
	u.x.at = d->received_at;
	u.x.hook_id = d->hook_id;
	u.d = d;
	u.replay = replay;
	err[0] = '\0';
	run_parse(&u, c, act, root);
	store_origin(d->id, u.action);	/* pr_history: this delivery wrote it */
	rc = db_read_committed(db) < 0 ? -1 : db_txn_with(db, &o, run_txn, &u);
	store_origin(NULL, NULL);
	if (rc == 0 && u.st == INGEST_BADINPUT)
		lb_strlcpy(err, u.x.why, errlen);
	else if (rc == RUN_DUPLICATE)
		u.st = INGEST_DUPLICATE;
	else if (rc == RUN_BADINPUT) {
		lb_strlcpy(err, u.x.why[0] ? u.x.why : "malformed payload", errlen);
		if (row_failed(db, d, u.action, err, replay) < 0)
			log_warn("delivery %s: cannot record the failure: %s", d->id, db_error(db));
		u.st = INGEST_BADINPUT;
	} else if (rc < 0) {
		lb_snprintf(err, errlen, "database: %s", db_error(db));
		u.st = db_gone(db) || row_failed(db, d, u.action, err, replay) < 0 ?
		    INGEST_DBERROR : INGEST_FAILED;
	}
	json_free(u.x.root);
	return u.st;
}

enum ingest_status
ingest_apply(struct db *db, const struct conf *c, const struct ingest_delivery *d,
    char *err, size_t errlen)
{
	return run(db, c, d, 0, NULL, err, errlen);
}

/* ------------------------------------------------------------ batches */

int
ingest_batchable(const struct conf *c, const struct ingest_delivery *d, json_val *root)
{
	char perr[128];
	json_val pr;

	*root = NULL;
	if (strcmp(d->event, "pull_request") != 0)
		return 0;
	*root = json_parse(d->body, d->len, INGEST_MAX_DEPTH, d->len + 1, perr, sizeof perr);
	if (!json_is_object(*root))
		return 0;
	pr = json_get(*root, "pull_request", NULL);
	return json_is_object(pr) && store_pr_valid(c, pr) == 0;
}

/* The deliveries committed together: what every attempt needs. */
struct batch {
	const struct conf     *c;
	struct ingest_item    *v;
	size_t                 n;
	json_val              *prs;
	struct store_from     *from;
	int                   *res;
	char                 (*act)[65];
	char                   now[32];
	struct db_args         a;
	struct buf             sql;
};

/* One attempt: the deliveries rows in one INSERT (a delivery id stored
 * already: RUN_DUPLICATE, each goes its own way after the rollback), then
 * the PRs as one page. */
static int
batch_txn(struct db *db, void *arg)
{
	struct batch *b = arg;

	db_args_reset(&b->a);
	for (size_t i = 0; i < b->n; i++) {
		const struct ingest_delivery *d = b->v[i].d;
		db_args_s(&b->a, d->id);
		db_args_s(&b->a, d->event);
		db_args_s(&b->a, b->from[i].action);
		db_args_s(&b->a, d->hook_id);
		db_args_s(&b->a, d->received_at);
		db_args_s(&b->a, b->now);
		db_args_s(&b->a, d->content_type);
		db_args_b(&b->a, d->body, d->len);
	}
	if (db_rows_sql(&b->sql, "INSERT INTO deliveries (id, event, action, hook_id, received_at, "
	    "processed_at, outcome, error, content_type, body) VALUES ",
	    "(?, ?, ?, ?, ?, ?, 'processed', NULL, ?, ?)", ", ", b->n, "") < 0)
		return -1;
	if (db_exec_args(db, b->sql.data, &b->a) < 0)
		return db_errno(db) == ER_DUP_ENTRY ? RUN_DUPLICATE : -1;
	if (store_prs_from(db, b->c, b->prs, b->n, "webhook", b->from, b->res) < 0)
		return -1;
	for (size_t i = 0; i < b->n; i++)
		if (b->res[i] == STORE_EBADINPUT)
			return RUN_BADINPUT;
	return 0;
}

/* After a COMMIT lost with the connection: the rows commit together, the
 * first one says (no row of theirs was stored before: the INSERT took them
 * all). */
static int
batch_committed(struct db *db, void *arg)
{
	struct batch *b = arg;

	return row_committed(db, b->v[0].d->id);
}

/* The batch's transaction: 0 committed, else why not. */
static int
batch_run(struct db *db, struct batch *b)
{
	struct db_txn_opt o = { ATTEMPTS, 0, batch_committed };

	b->prs = calloc(b->n, sizeof *b->prs);
	b->from = calloc(b->n, sizeof *b->from);
	b->res = calloc(b->n, sizeof *b->res);
	b->act = calloc(b->n, sizeof *b->act);
	if (!b->prs || !b->from || !b->res || !b->act)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		const char *a = json_str(b->v[i].root, "action");
		b->prs[i] = json_get(b->v[i].root, "pull_request", NULL);
		b->from[i].ref = b->v[i].d->id;
		if (a != NULL)
			utf8_copy(b->act[i], sizeof b->act[i], a, 64);
		b->from[i].action = a ? b->act[i] : NULL;
	}
	store_now(b->now, sizeof b->now);
	return db_read_committed(db) < 0 ? -1 : db_txn_with(db, &o, batch_txn, b);
}

void
ingest_apply_batch(struct db *db, const struct conf *c, struct ingest_item *v, size_t n)
{
	struct batch b;
	int rc = -1;

	memset(&b, 0, sizeof b);
	b.c = c;
	b.v = v;
	b.n = n;
	if (n > 1 && (rc = batch_run(db, &b)) != 0 && rc != RUN_DUPLICATE)
		log_info("%zu deliveries received together are applied one by one: %s", n,
		    rc == RUN_BADINPUT ? "a PR object the page refused" : db_error(db));
	for (size_t i = 0; i < n; i++) {
		v[i].err[0] = '\0';
		if (rc == 0) {
			v[i].st = INGEST_PROCESSED;
			json_free(v[i].root);
		} else {	/* one by one: duplicates, failures, a spool */
			v[i].st = run(db, c, v[i].d, 0, v[i].root, v[i].err, sizeof v[i].err);
		}
		v[i].root = NULL;
		v[i].gone = v[i].st == INGEST_DBERROR && db_gone(db);
	}
	free(b.prs);
	free(b.from);
	free(b.res);
	free(b.act);
	db_args_free(&b.a);
	buf_free(&b.sql);
}

enum ingest_status
ingest_replay(struct db *db, const struct conf *c, const char *id, char *err, size_t errlen)
{
	struct ingest_delivery d;
	struct db_res *r;
	enum ingest_status st;

	if (db_query(db, &r,
	    "SELECT event, hook_id, DATE_FORMAT(received_at, '%Y-%m-%d %H:%i:%s.%f'), "
	    "content_type, body FROM deliveries WHERE id = ?", "s", id) < 0) {
		lb_snprintf(err, errlen, "database: %s", db_error(db));
		return INGEST_DBERROR;
	}
	if (r->nrows == 0) {
		db_res_free(r);
		lb_snprintf(err, errlen, "no delivery '%s'", id);
		return INGEST_NOTFOUND;
	}
	memset(&d, 0, sizeof d);
	d.id = id;
	d.event = db_get(r, 0, 0);
	d.hook_id = db_get(r, 0, 1);
	d.received_at = db_get(r, 0, 2);
	d.content_type = db_get(r, 0, 3);
	d.body = db_get(r, 0, 4);
	d.len = db_getlen(r, 0, 4);
	st = run(db, c, &d, 1, NULL, err, errlen);
	db_res_free(r);
	return st;
}

const char *
ingest_status_name(enum ingest_status s)
{
	switch (s) {
	case INGEST_PROCESSED: return "processed";
	case INGEST_IGNORED:   return "ignored";
	case INGEST_DUPLICATE: return "duplicate";
	case INGEST_BADINPUT:  return "invalid";
	case INGEST_FAILED:    return "failed";
	case INGEST_DBERROR:   return "error";
	case INGEST_NOTFOUND:  return "not found";
	}
	return "?";
}

int
ingest_valid_id(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return 0;
	for (; id[n]; n++)
		if (!isalnum((unsigned char)id[n]) && id[n] != '-' && id[n] != '_' && id[n] != '.' &&
		    id[n] != ':')
			return 0;
	return n >= 1 && n <= 64;
}

int
ingest_valid_event(const char *event)
{
	size_t n = 0;

	if (event == NULL)
		return 0;
	for (; event[n]; n++)
		if (!islower((unsigned char)event[n]) && event[n] != '_' && event[n] != '-' &&
		    !isdigit((unsigned char)event[n]))
			return 0;
	return n >= 1 && n <= 64;
}

enum ingest_media
ingest_media(const char *ct)
{
	size_t n = 0;

	if (ct == NULL)
		return INGEST_MEDIA_OTHER;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	while (ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t')
		n++;
	if (n == 16 && strncasecmp(ct, "application/json", n) == 0)
		return INGEST_MEDIA_JSON;
	if (n == 33 && strncasecmp(ct, "application/x-www-form-urlencoded", n) == 0)
		return INGEST_MEDIA_FORM;
	return INGEST_MEDIA_OTHER;
}

int
ingest_form_payload(char *body, size_t len, size_t *outlen)
{
	const char *p = body, *end;

	if (body == NULL)	/* an empty body: no field (and no pointer to add to) */
		return -1;
	end = body + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *q = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(q - p));
		if (eq && eq - p == 7 && memcmp(p, "payload", 7) == 0) {
			/* the decoder writes byte j after reading byte i >= j of
			 * the field, which starts later in the same buffer */
			long n = http_urldecode(eq + 1, (size_t)(q - eq - 1), body, len + 1, 1);
			if (n < 0)
				return -1;
			*outlen = (size_t)n;
			return 0;
		}
		p = q + 1;
	}
	return -1;
}

int
ingest_purge(struct db *db, long long days, unsigned long long *deleted)
{
	*deleted = 0;
	if (days <= 0)
		return 0;
	for (;;) {
		if (db_exec(db, "DELETE FROM deliveries WHERE received_at < UTC_TIMESTAMP(6) - INTERVAL ? DAY "
		    "ORDER BY received_at LIMIT 5000", "i", days) < 0)
			return -1;
		*deleted += db_affected(db);
		if (db_affected(db) < 5000)
			return 0;
	}
}

int
ingest_list(struct db *db, int failed_only, long long limit, struct db_res **out)
{
	return db_query(db, out,
	    "SELECT id, event, action, hook_id, " DATE_SQL_ISO("received_at") " AS received_at, "
	    DATE_SQL_ISO("processed_at") " AS processed_at, outcome, error, content_type, "
	    "LENGTH(body) AS size FROM deliveries WHERE (? = 0 OR outcome = 'failed') "
	    "ORDER BY received_at DESC, id LIMIT ?", "ii", (long long)(failed_only != 0), limit);
}
