#include "db.h"
#include "buf.h"
#include "conf.h"
#include "log.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#define MAX_PARAMS 64
#define STMT_CACHE 128

struct cached {
	char       *sql;
	MYSQL_STMT *stmt;
};

/* One server of [database] (host/port/socket), or one node of [database] hosts. */
struct node {
	char    *host, *sock;
	unsigned port;
	double   held_until;	/* after a timeout: no new attempt before (monotonic s) */
};

struct db {
	MYSQL        *my;
	struct cached cache[STMT_CACHE];
	size_t        ncache;
	char          err[512];
	unsigned      errnum;
	unsigned long long affected, insert_id;
	/* connection settings, for reconnects */
	char *user, *pass, *name;
	struct node nodes[CONF_DB_HOSTS_MAX];
	size_t nnodes;
	size_t cur;	/* the node connected to (or last tried): tried first */
	int cluster;	/* [database] hosts: nodes checked for Galera readiness */
	int pinned;	/* db_open_pinned(): never moves to another node */
	int in_tx;	/* inside db_begin(): never reconnect silently */
	int read_committed;	/* db_read_committed(): set again on reconnect */
	int lazy;	/* db_lazy_begin(): autocommit off, db_begin sends nothing */
	int tx_fresh;	/* lazy transaction with no statement yet: may reconnect */
	unsigned timeout;	/* [database] timeout, seconds */
	int bounded;	/* DB_BOUNDED: reads and writes wait at most timeout too */
	const struct db_args *args;	/* DB_ARRAY: the parameters of the next statement */
	MYSQL_BIND *abind;	/* their bindings (grown as needed) */
	size_t nabind;
	double ok_at;	/* monotonic s of the last statement or ping the server answered */
};

static int bind_array(struct db *db, MYSQL_STMT *st);

/* A wait that ended this close to the timeout was the timeout. */
#define TIMEOUT_SLACK 0.25

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
set_err(struct db *db, unsigned num, const char *msg)
{
	db->errnum = num;
	lb_strlcpy(db->err, msg ? msg : "unknown error", sizeof db->err);
}

static void
cache_clear(struct db *db)
{
	for (size_t i = 0; i < db->ncache; i++) {
		mysql_stmt_close(db->cache[i].stmt);
		free(db->cache[i].sql);
	}
	db->ncache = 0;
}

/*
 * After a call that failed as "server gone" having waited since t0: when the
 * wait was a timeout (a connect, or a read/write of a bounded handle), the
 * server is stalled, not restarted: hold the handle down for `timeout`
 * seconds (calls fail at once) instead of waiting again on every call.
 * Returns 1 when it was a timeout.
 */
static int
timed_out(struct db *db, double t0, int io)
{
	double now = mono();

	if (!db_gone(db) || (io && !db->bounded) || now - t0 < (double)db->timeout - TIMEOUT_SLACK)
		return 0;
	db->nodes[db->cur].held_until = now + (double)db->timeout;
	if (db->nnodes > 1)
		log_warn("db: node %s gave no answer within %u s (%s); trying the others, not it, "
		    "for %u s", db->nodes[db->cur].sock ? db->nodes[db->cur].sock :
		    db->nodes[db->cur].host, db->timeout, db->err, db->timeout);
	else
		log_warn("db: no answer within %u s (%s); the database is treated as unreachable "
		    "for %u s", db->timeout, db->err, db->timeout);
	return 1;
}

static int
held(struct db *db, size_t k)
{
	struct node *n = &db->nodes[k];

	if (n->held_until == 0 || mono() >= n->held_until)
		return 0;
	set_err(db, CR_SERVER_GONE_ERROR, "the database did not answer in time a moment ago "
	    "([database] timeout); not asked again yet");
	return 1;
}

/*
 * A Galera node takes work only when it is part of the primary component
 * and in sync (wsrep_local_state 4 Synced, or 2 Donor/Desynced): a joining
 * node, or one cut off from the others, would refuse statements (1047) or
 * answer from old data. 0 when the node may be used (also a server without
 * Galera), -1 with the reason in db->err.
 */
static int
node_ready(struct db *db)
{
	static const char q[] = "SELECT @@wsrep_on, (SELECT VARIABLE_VALUE FROM "
	    "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE')";
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ok;

	if (mysql_real_query(db->my, q, sizeof q - 1) != 0) {
		/* a server built without Galera has no @@wsrep_on */
		if (mysql_errno(db->my) == ER_UNKNOWN_SYSTEM_VARIABLE)
			return 0;
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		return -1;
	}
	res = mysql_store_result(db->my);
	row = res ? mysql_fetch_row(res) : NULL;
	ok = row && (row[0] == NULL || strcmp(row[0], "0") == 0 ||
	    (row[1] && (strcmp(row[1], "4") == 0 || strcmp(row[1], "2") == 0)));
	if (!ok)
		set_err(db, ER_UNKNOWN_COM_ERROR, "Galera node not in sync with the cluster "
		    "(wsrep_local_state is not Synced)");
	if (res)
		mysql_free_result(res);
	return ok ? 0 : -1;
}

/* Connect to node k; 0, or -1 with the error in db->err (db->my NULL). */
static int
connect_node(struct db *db, size_t k)
{
	unsigned timeout = db->timeout ? db->timeout : 5;
	const struct node *n = &db->nodes[k];
	my_bool on = 1;

	db->my = mysql_init(NULL);
	if (db->my == NULL) {
		set_err(db, CR_OUT_OF_MEMORY, "out of memory");
		return -1;
	}
	/* the connect timeout also bounds the handshake with a stalled server */
	mysql_options(db->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	if (db->bounded) {	/* one wait each, not retried inside the connector */
		mysql_options(db->my, MYSQL_OPT_READ_TIMEOUT, &timeout);
		mysql_options(db->my, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	}
	mysql_options(db->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db->my, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
	if (db->read_committed)
		mysql_options(db->my, MYSQL_INIT_COMMAND,
		    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	if (db->lazy)
		mysql_options(db->my, MYSQL_INIT_COMMAND, "SET SESSION autocommit = 0");
	mysql_options(db->my, MYSQL_REPORT_DATA_TRUNCATION, &on);
	if (mysql_real_connect(db->my, n->sock ? NULL : n->host, db->user, db->pass,
	    db->name, n->port, n->sock, 0) == NULL) {
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
	} else if (!db->cluster || node_ready(db) == 0) {
		if (db->lazy && db->cluster)
			(void)mysql_commit(db->my);	/* node_ready's read under autocommit off */
		return 0;
	}
	mysql_close(db->my);
	db->my = NULL;
	return -1;
}

/*
 * (Re)connect: the node of the last connection first, then the others in
 * the order of [database] hosts (a pinned handle: only its node), skipping
 * nodes held after a timeout. A handle stays on the node it reached until
 * that connection is lost.
 */
static int
connect_now(struct db *db)
{
	size_t tries = db->pinned ? 1 : db->nnodes, asked = 0;

	if (db->my) {
		cache_clear(db);
		mysql_close(db->my);
		db->my = NULL;
	}
	for (size_t i = 0; i < tries; i++) {
		size_t k = (db->cur + i) % db->nnodes, was = db->cur;
		double t0;

		if (held(db, k))
			continue;
		db->nodes[k].held_until = 0;
		asked++;
		t0 = mono();
		db->cur = k;
		if (connect_node(db, k) == 0) {
			if (k != was && asked > 1)
				log_warn("db: connected to %s instead", db->nodes[k].sock ?
				    db->nodes[k].sock : db->nodes[k].host);
			return 0;
		}
		(void)timed_out(db, t0, 0);
		if (db->nnodes > 1)
			log_warn("db: %s: %s", db->nodes[k].sock ? db->nodes[k].sock :
			    db->nodes[k].host, db->err);
	}
	if (asked == 0)
		(void)held(db, db->cur);	/* every node held: say so */
	return -1;
}

/* Parse "HOST", "HOST:PORT", "[V6]:PORT" or "/socket" into n. */
static int
node_parse(struct node *n, const char *item, unsigned defport)
{
	const char *colon;
	long long port;

	n->port = defport;
	if (item[0] == '/') {
		n->sock = lb_strdup(item);
		return n->sock ? 0 : -1;
	}
	colon = item[0] == '[' ? strstr(item, "]:") : strrchr(item, ':');
	if (colon && item[0] == '[')
		colon++;
	if (colon && lb_parse_ll(colon + 1, 1, 65535, &port) == 0)
		n->port = (unsigned)port;
	else
		colon = NULL;
	if (item[0] == '[') {	/* the address without brackets */
		const char *e = strchr(item, ']');
		n->host = lb_strndup(item + 1, e ? (size_t)(e - item - 1) : strlen(item + 1));
	} else {
		n->host = colon ? lb_strndup(item, (size_t)(colon - item)) : lb_strdup(item);
	}
	return n->host ? 0 : -1;
}

struct db *
db_new(const struct conf *c, int flags)
{
	struct db *db = calloc(1, sizeof *db);

	if (db == NULL)
		return NULL;
	db->user = lb_strdup(c->db_user);
	db->pass = lb_strdup(c->db_password);
	db->name = lb_strdup(c->db_name);
	if (c->db_hosts.n > 0) {
		db->cluster = 1;
		for (size_t i = 0; i < c->db_hosts.n && i < CONF_DB_HOSTS_MAX; i++)
			if (node_parse(&db->nodes[db->nnodes++], c->db_hosts.v[i],
			    (unsigned)c->db_port) < 0) {
				db_close(db);
				return NULL;
			}
	} else {
		db->nnodes = 1;
		db->nodes[0].host = lb_strdup(c->db_host);
		db->nodes[0].sock = lb_strdup(c->db_socket);
		db->nodes[0].port = (unsigned)c->db_port;
	}
	db->timeout = c->db_timeout > 0 && c->db_timeout <= 3600 ? (unsigned)c->db_timeout : 5;
	db->bounded = (flags & DB_BOUNDED) != 0;
	return db;
}

struct db *
db_open(const struct conf *c, char *err, size_t errlen)
{
	struct db *db = db_new(c, 0);

	if (db == NULL) {
		lb_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (connect_now(db) < 0) {
		lb_snprintf(err, errlen, "database: %s", db->err);
		db_close(db);
		return NULL;
	}
	return db;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	cache_clear(db);
	if (db->my)
		mysql_close(db->my);
	for (size_t i = 0; i < db->nnodes; i++) {
		free(db->nodes[i].host);
		free(db->nodes[i].sock);
	}
	free(db->abind);
	free(db->user);
	free(db->pass);
	free(db->name);
	free(db);
}

int
db_ping(struct db *db)
{
	double t0 = mono();

	if (db->my) {
		if (mysql_ping(db->my) == 0) {
			db->ok_at = mono();
			return 0;
		}
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		if (timed_out(db, t0, 1))
			return -1;	/* stalled: connecting again would wait again */
	}
	return connect_now(db);
}

int
db_check(struct db *db, double fresh)
{
	if (db->my && db->errnum == 0 && mono() - db->ok_at < fresh)
		return 0;
	return db_ping(db);
}

unsigned
db_timeout(struct db *db)
{
	return db->bounded ? db->timeout : 0;
}

int
db_gone(struct db *db)
{
	switch (db->errnum) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_LOST_EXTENDED:
	case CR_UNKNOWN_HOST:
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case ER_UNKNOWN_COM_ERROR:	/* Galera: this node left the primary component */
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT */
		return 1;
	}
	return db->my == NULL;
}

static MYSQL_STMT *
prepare(struct db *db, const char *sql)
{
	MYSQL_STMT *st;

	for (size_t i = 0; i < db->ncache; i++)
		if (strcmp(db->cache[i].sql, sql) == 0)
			return db->cache[i].stmt;
	st = mysql_stmt_init(db->my);
	if (st == NULL) {
		set_err(db, CR_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		mysql_stmt_close(st);
		return NULL;
	}
	if (db->ncache == STMT_CACHE) {	/* evict the oldest */
		mysql_stmt_close(db->cache[0].stmt);
		free(db->cache[0].sql);
		memmove(db->cache, db->cache + 1, (STMT_CACHE - 1) * sizeof db->cache[0]);
		db->ncache--;
	}
	db->cache[db->ncache].sql = lb_strdup(sql);
	db->cache[db->ncache].stmt = st;
	db->ncache++;
	return st;
}

static void
forget(struct db *db, MYSQL_STMT *st)
{
	for (size_t i = 0; i < db->ncache; i++)
		if (db->cache[i].stmt == st) {
			mysql_stmt_close(st);
			free(db->cache[i].sql);
			memmove(db->cache + i, db->cache + i + 1, (db->ncache - i - 1) * sizeof db->cache[0]);
			db->ncache--;
			return;
		}
}

struct params {
	MYSQL_BIND  b[MAX_PARAMS];
	long long   ll[MAX_PARAMS];
	double      d[MAX_PARAMS];
	unsigned long len[MAX_PARAMS];
	my_bool     isnull[MAX_PARAMS];
};

static int
bind_params(struct db *db, MYSQL_STMT *st, struct params *p, const char *types, va_list ap)
{
	size_t n = strlen(types);

	if (strcmp(types, DB_ARRAY) == 0)
		return bind_array(db, st);
	if (n > MAX_PARAMS || n != mysql_stmt_param_count(st)) {
		set_err(db, CR_UNKNOWN_ERROR, "parameter count mismatch");
		log_error("db: statement wants %lu parameters, types \"%s\" give %zu",
		    mysql_stmt_param_count(st), types, n);
		return -1;
	}
	memset(p->b, 0, sizeof(MYSQL_BIND) * n);
	for (size_t i = 0; i < n; i++) {
		MYSQL_BIND *b = &p->b[i];
		switch (types[i]) {
		case 'i':
		case 'u':
			p->ll[i] = types[i] == 'i' ? va_arg(ap, long long)
			    : (long long)va_arg(ap, unsigned long long);
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = &p->ll[i];
			b->is_unsigned = types[i] == 'u';
			break;
		case 'd':
			p->d[i] = va_arg(ap, double);
			b->buffer_type = MYSQL_TYPE_DOUBLE;
			b->buffer = &p->d[i];
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			b->buffer_type = MYSQL_TYPE_STRING;
			if (s == NULL) {
				p->isnull[i] = 1;
				b->is_null = &p->isnull[i];
			} else {
				p->len[i] = strlen(s);
				b->buffer = (void *)s;
				b->buffer_length = p->len[i];
				b->length = &p->len[i];
			}
			break;
		}
		case 'b': {
			const void *v = va_arg(ap, const void *);
			size_t l = va_arg(ap, size_t);
			b->buffer_type = MYSQL_TYPE_BLOB;
			if (v == NULL) {
				p->isnull[i] = 1;
				b->is_null = &p->isnull[i];
			} else {
				p->len[i] = l;
				b->buffer = (void *)v;
				b->buffer_length = l;
				b->length = &p->len[i];
			}
			break;
		}
		default:
			set_err(db, CR_UNKNOWN_ERROR, "bad parameter type letter");
			log_error("db: bad type letter '%c' in \"%s\"", types[i], types);
			return -1;
		}
	}
	if (n && mysql_stmt_bind_param(st, p->b) != 0) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		return -1;
	}
	return 0;
}

/* Prepare (reconnecting once if the connection was lost), bind, execute. */
static MYSQL_STMT *
run(struct db *db, const char *sql, const char *types, va_list ap)
{
	struct params p;
	MYSQL_STMT *st;
	int attempt;

	db->errnum = 0;
	db->err[0] = '\0';
	for (attempt = 0; attempt < 2; attempt++) {
		va_list cp;
		double t0;
		int rc;

		if (db->my == NULL && connect_now(db) < 0)
			return NULL;
		t0 = mono();
		st = prepare(db, sql);
		if (st == NULL) {
			if (timed_out(db, t0, 1))
				return NULL;
			if (attempt == 0 && db_gone(db) && (!db->in_tx || db->tx_fresh)) {
				if (connect_now(db) < 0)
					return NULL;
				continue;
			}
			return NULL;
		}
		va_copy(cp, ap);
		rc = bind_params(db, st, &p, types, cp);
		va_end(cp);
		if (rc < 0)
			return NULL;
		if (mysql_stmt_execute(st) != 0) {
			set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
			forget(db, st);
			/* a stalled server is not asked twice: the caller learns
			 * "gone" after one timeout, not two */
			if (timed_out(db, t0, 1))
				return NULL;
			if (attempt == 0 && db_gone(db) && (!db->in_tx || db->tx_fresh)) {
				if (connect_now(db) < 0)
					return NULL;
				continue;
			}
			return NULL;
		}
		db->tx_fresh = 0;
		db->ok_at = mono();
		return st;
	}
	return NULL;
}

/* Lazy mode, outside db_begin(): each statement commits as under autocommit. */
static int
autocommit_lazy(struct db *db)
{
	double t0 = mono();

	if (!db->lazy || db->in_tx)
		return 0;
	if (mysql_commit(db->my) != 0) {
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		(void)timed_out(db, t0, 1);
		return -1;
	}
	return 0;
}

int
db_exec(struct db *db, const char *sql, const char *types, ...)
{
	MYSQL_STMT *st;
	va_list ap;

	va_start(ap, types);
	st = run(db, sql, types, ap);
	va_end(ap);
	if (st == NULL)
		return -1;
	db->affected = mysql_stmt_affected_rows(st);
	db->insert_id = mysql_stmt_insert_id(st);
	mysql_stmt_free_result(st);
	return autocommit_lazy(db);
}

void
db_res_free(struct db_res *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nrows * r->ncols; i++)
		free(r->val[i]);
	for (size_t i = 0; i < r->ncols; i++)
		free(r->names ? r->names[i] : NULL);
	free(r->names);
	free(r->val);
	free(r->len);
	free(r);
}

#define CELL 256

/* Where mysql_stmt_fetch() puts one row: a CELL-byte slot per column (a
 * longer value is fetched again whole by cell_copy()). */
struct rowbind {
	size_t         nc;
	MYSQL_BIND    *rb;
	unsigned long *lens;
	my_bool       *nulls, *errs;
	char          *cells;
};

static void
rowbind_free(struct rowbind *w)
{
	free(w->rb);
	free(w->lens);
	free(w->nulls);
	free(w->errs);
	free(w->cells);
}

/* Bind every column of meta as a string into w; r gets the column names. */
static int
rowbind_init(struct db *db, MYSQL_STMT *st, MYSQL_RES *meta, struct rowbind *w,
    struct db_res *r)
{
	size_t nc = mysql_num_fields(meta), n = nc ? nc : 1;

	memset(w, 0, sizeof *w);
	w->nc = nc;
	w->rb = calloc(n, sizeof *w->rb);
	w->lens = calloc(n, sizeof *w->lens);
	w->nulls = calloc(n, sizeof *w->nulls);
	w->errs = calloc(n, sizeof *w->errs);
	w->cells = malloc(n * CELL);
	r->ncols = nc;
	r->names = calloc(n, sizeof *r->names);
	if (!w->rb || !w->lens || !w->nulls || !w->errs || !w->cells || !r->names) {
		set_err(db, CR_OUT_OF_MEMORY, "out of memory");
		return -1;
	}
	for (size_t c = 0; c < nc; c++) {
		MYSQL_FIELD *f = mysql_fetch_field_direct(meta, (unsigned)c);
		r->names[c] = lb_strdup(f->name);
		w->rb[c].buffer_type = MYSQL_TYPE_STRING;
		w->rb[c].buffer = w->cells + c * CELL;
		w->rb[c].buffer_length = CELL;
		w->rb[c].length = &w->lens[c];
		w->rb[c].is_null = &w->nulls[c];
		w->rb[c].error = &w->errs[c];
	}
	if (mysql_stmt_bind_result(st, w->rb) != 0) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		return -1;
	}
	return 0;
}

/* Column c of the row just fetched, as a malloc'ed NUL-terminated copy. */
static int
cell_copy(struct db *db, MYSQL_STMT *st, const struct rowbind *w, size_t c, char **out)
{
	size_t l = w->lens[c];
	char *v = malloc(l + 1);

	*out = NULL;
	if (v == NULL) {
		set_err(db, CR_OUT_OF_MEMORY, "out of memory");
		return -1;
	}
	if (l <= CELL) {
		memcpy(v, w->cells + c * CELL, l);
	} else {
		MYSQL_BIND one;
		unsigned long got = 0;

		memset(&one, 0, sizeof one);
		one.buffer_type = MYSQL_TYPE_STRING;
		one.buffer = v;
		one.buffer_length = l;
		one.length = &got;
		if (mysql_stmt_fetch_column(st, &one, (unsigned)c, 0) != 0) {
			set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
			free(v);
			return -1;
		}
	}
	v[l] = '\0';
	*out = v;
	return 0;
}

/* Append the row just fetched to r (room for it is made here). */
static int
row_add(struct db *db, MYSQL_STMT *st, const struct rowbind *w, struct db_res *r,
    size_t *cap)
{
	size_t nc = w->nc, per = nc ? nc : 1, first = r->nrows * nc;

	if (r->nrows == *cap) {	/* val and len always have the same room */
		size_t vc = *cap * per, lc = vc;
		if (lb_grow(&r->val, &vc, vc, sizeof *r->val, 16 * per) < 0 ||
		    lb_grow(&r->len, &lc, lc, sizeof *r->len, 16 * per) < 0) {
			set_err(db, CR_OUT_OF_MEMORY, "out of memory");
			return -1;
		}
		*cap = vc / per;
	}
	for (size_t c = 0; c < nc; c++) {
		char *v = NULL;
		if (!w->nulls[c] && cell_copy(db, st, w, c, &v) < 0) {
			for (size_t k = first; k < first + c; k++)
				free(r->val[k]);
			return -1;
		}
		r->val[first + c] = v;
		r->len[first + c] = v ? w->lens[c] : 0;
	}
	r->nrows++;
	return 0;
}

/* Every row of the executed statement st into r. */
static int
fetch_all(struct db *db, MYSQL_STMT *st, MYSQL_RES *meta, struct db_res *r)
{
	struct rowbind w;
	size_t cap = 0;
	int rc = -1, f;

	if (rowbind_init(db, st, meta, &w, r) < 0)
		goto out;
	if (mysql_stmt_store_result(st) != 0) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		goto out;
	}
	while ((f = mysql_stmt_fetch(st)) == 0 || f == MYSQL_DATA_TRUNCATED)
		if (row_add(db, st, &w, r, &cap) < 0)
			goto out;
	if (f != MYSQL_NO_DATA)
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
	else
		rc = 0;
out:
	rowbind_free(&w);
	return rc;
}

int
db_query(struct db *db, struct db_res **out, const char *sql, const char *types, ...)
{
	MYSQL_STMT *st;
	MYSQL_RES *meta;
	struct db_res *r;
	va_list ap;
	double t0 = mono();

	*out = NULL;
	va_start(ap, types);
	st = run(db, sql, types, ap);
	va_end(ap);
	if (st == NULL)
		return -1;
	meta = mysql_stmt_result_metadata(st);
	if (meta == NULL) {
		set_err(db, CR_UNKNOWN_ERROR, "statement returns no result set");
		mysql_stmt_free_result(st);
		return -1;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL)
		set_err(db, CR_OUT_OF_MEMORY, "out of memory");
	if (r == NULL || fetch_all(db, st, meta, r) < 0) {
		(void)timed_out(db, t0, 1);
		mysql_free_result(meta);
		mysql_stmt_free_result(st);
		/* An error while rows arrive (INSERT ... RETURNING reports a
		 * duplicate key after its metadata) leaves the statement
		 * mid-result: prepare it afresh next time. */
		forget(db, st);
		db_res_free(r);
		return -1;
	}
	mysql_free_result(meta);
	mysql_stmt_free_result(st);
	if (autocommit_lazy(db) < 0) {
		db_res_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

const char *
db_get(const struct db_res *r, size_t row, size_t col)
{
	if (r == NULL || row >= r->nrows || col >= r->ncols)
		return NULL;
	return r->val[row * r->ncols + col];
}

size_t
db_getlen(const struct db_res *r, size_t row, size_t col)
{
	if (r == NULL || row >= r->nrows || col >= r->ncols)
		return 0;
	return r->len[row * r->ncols + col];
}

int
db_isnull(const struct db_res *r, size_t row, size_t col)
{
	return db_get(r, row, col) == NULL;
}

long long
db_getll(const struct db_res *r, size_t row, size_t col, long long def)
{
	const char *v = db_get(r, row, col);
	long long n;

	if (v == NULL || lb_parse_ll(v, INT64_MIN, INT64_MAX, &n) < 0)
		return def;
	return n;
}

int
db_exec_text(struct db *db, const char *sql, size_t len)
{
	double t0;

	if (db->my == NULL && connect_now(db) < 0)
		return -1;
	t0 = mono();
	if (mysql_real_query(db->my, sql, len) != 0) {
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		(void)timed_out(db, t0, 1);
		return -1;
	}
	do {
		MYSQL_RES *res = mysql_store_result(db->my);
		if (res)
			mysql_free_result(res);
	} while (mysql_next_result(db->my) == 0);
	db->affected = mysql_affected_rows(db->my);
	return autocommit_lazy(db);
}

int
db_read_committed(struct db *db)
{
	static const char sql[] = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";

	if (db->read_committed)
		return 0;
	if (db->my != NULL && db_exec_text(db, sql, sizeof sql - 1) < 0)
		return -1;
	db->read_committed = 1;
	return 0;
}

int
db_lazy_begin(struct db *db)
{
	static const char sql[] = "SET SESSION autocommit = 0";

	if (db->lazy)
		return 0;
	if (db->my != NULL && db_exec_text(db, sql, sizeof sql - 1) < 0)
		return -1;
	db->lazy = 1;
	return 0;
}

int
db_begin(struct db *db)
{
	double t0;

	if (db->my == NULL && connect_now(db) < 0)
		return -1;
	if (db->lazy) {		/* the first statement opens the transaction */
		db->in_tx = 1;
		db->tx_fresh = 1;
		return 0;
	}
	for (int attempt = 0;; attempt++) {
		t0 = mono();
		if (mysql_query(db->my, "START TRANSACTION") == 0)
			break;
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		if (timed_out(db, t0, 1))
			return -1;
		/* the connection was lost since the last call: nothing ran yet */
		if (attempt > 0 || !db_gone(db) || connect_now(db) < 0)
			return -1;
	}
	db->in_tx = 1;
	return 0;
}

int
db_commit(struct db *db)
{
	double t0 = mono();

	db->in_tx = 0;
	db->tx_fresh = 0;
	if (db->my == NULL || mysql_commit(db->my) != 0) {
		if (db->my) {
			set_err(db, mysql_errno(db->my), mysql_error(db->my));
			(void)timed_out(db, t0, 1);
		}
		return -1;
	}
	return 0;
}

int
db_rollback(struct db *db)
{
	double t0 = mono();

	db->in_tx = 0;
	db->tx_fresh = 0;
	if (db->my == NULL || mysql_rollback(db->my) != 0) {
		if (db->my) {
			set_err(db, mysql_errno(db->my), mysql_error(db->my));
			(void)timed_out(db, t0, 1);
		}
		return -1;
	}
	return 0;
}

int
db_retryable(unsigned err)
{
	return err == ER_LOCK_DEADLOCK || err == ER_LOCK_WAIT_TIMEOUT ||
	    err == ER_LOCK_ABORTED || err == ER_ERROR_DURING_COMMIT;
}

/*
 * After a COMMIT whose answer was lost with the connection: did it commit?
 * On a cluster the transaction may have been replicated before the node
 * died: the check reads with wsrep_sync_wait (the node it runs on first
 * applies every write set the cluster ordered so far). 1 committed, 0 not,
 * -1 unknown (no node reachable, or the check failed).
 */
static int
lost_commit(struct db *db, const struct db_txn_opt *o, void *arg)
{
	static const char on[] = "SET SESSION wsrep_sync_wait = 1";
	static const char off[] = "SET SESSION wsrep_sync_wait = DEFAULT";
	int rc;

	if (o->committed == NULL)
		return 0;	/* idempotent by key: running it again changes nothing */
	if (connect_now(db) < 0)
		return -1;
	/* (a server without Galera has no such variable: nothing to wait for) */
	if (db->cluster && db_exec_text(db, on, sizeof on - 1) < 0 &&
	    db->errnum != ER_UNKNOWN_SYSTEM_VARIABLE)
		return -1;
	rc = o->committed(db, arg);
	if (db->cluster && db_exec_text(db, off, sizeof off - 1) < 0 &&
	    db->errnum != ER_UNKNOWN_SYSTEM_VARIABLE)
		rc = -1;
	if (rc >= 0)
		log_warn("db: a COMMIT lost with its connection had %s", rc ? "committed" :
		    "not committed: running it again");
	return rc;
}

int
db_txn_with(struct db *db, const struct db_txn_opt *o, db_txn_fn fn, void *arg)
{
	static const char rc_sql[] = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED";

	for (int attempt = 1;; attempt++) {
		char err[sizeof db->err];
		unsigned num;
		int rc, in_commit = 0, gone;

		if (o->read_committed && db_exec_text(db, rc_sql, sizeof rc_sql - 1) < 0 &&
		    (!db_gone(db) || connect_now(db) < 0 ||
		    db_exec_text(db, rc_sql, sizeof rc_sql - 1) < 0))
			return -1;
		if (db_begin(db) < 0)
			return -1;
		rc = fn(db, arg);
		if (rc > 0) {
			(void)db_rollback(db);
			return rc;
		}
		if (rc == 0) {
			if (db_commit(db) == 0)
				return 0;
			in_commit = 1;
		}
		num = db->errnum;
		lb_strlcpy(err, db->err, sizeof err);
		gone = db_gone(db);
		(void)db_rollback(db);	/* also after a failed COMMIT: harmless */
		set_err(db, num, err);
		if ((!db_retryable(num) && !gone) || attempt >= o->attempts)
			return -1;
		if (gone && in_commit) {
			rc = lost_commit(db, o, arg);
			if (rc == 1)
				return 0;
			if (rc < 0) {
				set_err(db, num, err);
				return -1;
			}
		} else if (!gone) {
			usleep((useconds_t)(10000 * attempt));
		}
		/* gone: db_begin connects again, to another node when this one is lost */
	}
}

int
db_txn(struct db *db, int attempts, db_txn_fn fn, void *arg)
{
	struct db_txn_opt o = { attempts, 0, NULL };

	return db_txn_with(db, &o, fn, arg);
}

struct db *
db_open_pinned(const struct conf *c, struct db *near, char *err, size_t errlen)
{
	struct db *db = db_new(c, 0);

	if (db == NULL) {
		lb_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (near && near->nnodes == db->nnodes)
		db->cur = near->cur;
	if (connect_now(db) < 0) {
		lb_snprintf(err, errlen, "database: %s", db->err);
		db_close(db);
		return NULL;
	}
	db->pinned = 1;
	return db;
}

unsigned long long db_affected(struct db *db) { return db->affected; }
unsigned long long db_insert_id(struct db *db) { return db->insert_id; }
const char *db_error(struct db *db) { return db->err; }
unsigned db_errno(struct db *db) { return db->errnum; }

/* ------------------------------------------------------ array parameters */

static int
args_grow(struct db_args *a)
{
	struct db_param *n;
	size_t nc;

	if (a->oom)
		return -1;
	if (a->n < a->cap)
		return 0;
	nc = a->cap ? a->cap * 2 : 64;
	n = realloc(a->v, nc * sizeof *n);
	if (n == NULL) {
		a->oom = 1;
		return -1;
	}
	a->v = n;
	a->cap = nc;
	return 0;
}

void
db_args_u(struct db_args *a, unsigned long long v)
{
	if (args_grow(a) == 0)
		a->v[a->n++] = (struct db_param){ .type = 'u', .i = (long long)v };
}

void
db_args_i(struct db_args *a, long long v)
{
	if (args_grow(a) == 0)
		a->v[a->n++] = (struct db_param){ .type = 'i', .i = v };
}

void
db_args_s(struct db_args *a, const char *s)
{
	if (args_grow(a) == 0)
		a->v[a->n++] = (struct db_param){ .type = 's', .p = s, .len = s ? strlen(s) : 0 };
}

void
db_args_b(struct db_args *a, const void *p, size_t len)
{
	if (args_grow(a) == 0)
		a->v[a->n++] = (struct db_param){ .type = 'b', .p = p, .len = len };
}

void
db_args_reset(struct db_args *a)
{
	a->n = 0;
	a->oom = 0;
}

void
db_args_free(struct db_args *a)
{
	free(a->v);
	memset(a, 0, sizeof *a);
}

/* Binds db->args (types DB_ARRAY): one MYSQL_BIND per value, kept in db. */
static int
bind_array(struct db *db, MYSQL_STMT *st)
{
	const struct db_args *a = db->args;
	static my_bool yes = 1;

	if (a == NULL || a->oom || a->n != mysql_stmt_param_count(st)) {
		set_err(db, CR_UNKNOWN_ERROR, a && a->oom ? "out of memory" : "parameter count mismatch");
		log_error("db: statement wants %lu parameters, the array gives %zu",
		    mysql_stmt_param_count(st), a ? a->n : 0);
		return -1;
	}
	if (a->n > db->nabind) {
		MYSQL_BIND *nb = realloc(db->abind, a->n * sizeof *nb);
		if (nb == NULL) {
			set_err(db, CR_OUT_OF_MEMORY, "out of memory");
			return -1;
		}
		db->abind = nb;
		db->nabind = a->n;
	}
	memset(db->abind, 0, a->n * sizeof *db->abind);
	for (size_t i = 0; i < a->n; i++) {
		MYSQL_BIND *b = &db->abind[i];
		struct db_param *v = &a->v[i];
		if (v->type == 's' || v->type == 'b') {
			b->buffer_type = v->type == 's' ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
			if (v->p == NULL)
				b->is_null = &yes;
			b->buffer = (void *)v->p;
			b->buffer_length = (unsigned long)v->len;
			v->ulen = (unsigned long)v->len;
			b->length = &v->ulen;
		} else {
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = &v->i;
			b->is_unsigned = v->type == 'u';
		}
	}
	if (a->n && mysql_stmt_bind_param(st, db->abind) != 0) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		return -1;
	}
	return 0;
}

int
db_exec_args(struct db *db, const char *sql, const struct db_args *a)
{
	int rc;

	db->args = a;
	rc = db_exec(db, sql, DB_ARRAY);
	db->args = NULL;
	return rc;
}

int
db_query_args(struct db *db, struct db_res **out, const char *sql, const struct db_args *a)
{
	int rc;

	db->args = a;
	rc = db_query(db, out, sql, DB_ARRAY);
	db->args = NULL;
	return rc;
}

int
db_rows_sql(struct buf *b, const char *head, const char *row, const char *sep, size_t n,
    const char *tail)
{
	buf_reset(b);
	if (buf_puts(b, head) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((i && buf_puts(b, sep) < 0) || buf_puts(b, row) < 0)
			return -1;
	return buf_puts(b, tail ? tail : "");
}

size_t
db_batch_size(size_t n)
{
	static const size_t sizes[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		if (n <= sizes[i])
			return sizes[i];
	return n;
}
