#include "migrate.h"
#include "buf.h"
#include "db.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LB_DATADIR
#define LB_DATADIR "/usr/local/share/leaderboard"
#endif

static int
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *
migrate_dir(char *out, size_t outlen)
{
	const char *env = getenv("LB_SQL_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		lb_strlcpy(out, env, outlen);
		return out;
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *d = dirname(exe);
		if (lb_snprintf(out, outlen, "%s/../sql", d) == 0 && is_dir(out))
			return out;
		if (lb_snprintf(out, outlen, "%s/../share/leaderboard/sql", d) == 0 && is_dir(out))
			return out;
	}
	lb_snprintf(out, outlen, "%s/sql", LB_DATADIR);
	return out;
}

/* Split SQL text into statements. Calls fn for each non-empty statement;
 * stops and returns fn's value when non-zero. */
static int
migrate_split(const char *sql, size_t len,
    int (*fn)(const char *stmt, size_t len, void *arg), void *arg)
{
	size_t start = 0, i = 0;
	char quote = 0;

	while (i < len) {
		char c = sql[i];
		if (quote) {
			if (c == '\\' && quote != '`')
				i++;
			else if (c == quote)
				quote = 0;
			i++;
			continue;
		}
		if (c == '\'' || c == '"' || c == '`') {
			quote = c;
		} else if (c == '-' && i + 1 < len && sql[i + 1] == '-') {
			while (i < len && sql[i] != '\n')
				i++;
			continue;
		} else if (c == '#') {
			while (i < len && sql[i] != '\n')
				i++;
			continue;
		} else if (c == '/' && i + 1 < len && sql[i + 1] == '*') {
			i += 2;
			while (i + 1 < len && !(sql[i] == '*' && sql[i + 1] == '/'))
				i++;
			i += 2;
			continue;
		} else if (c == ';') {
			size_t s = start, e = i;
			while (s < e && isspace((unsigned char)sql[s]))
				s++;
			if (e > s) {
				int rc = fn(sql + s, e - s, arg);
				if (rc)
					return rc;
			}
			start = i + 1;
		}
		i++;
	}
	/* a last statement without ';' */
	{
		size_t s = start;
		int only_comments = 1;
		for (size_t k = s; k < len; k++)
			if (!isspace((unsigned char)sql[k])) {
				only_comments = 0;
				break;
			}
		if (!only_comments) {
			/* skip leading comments in the tail */
			size_t k = s;
			while (k < len) {
				while (k < len && isspace((unsigned char)sql[k]))
					k++;
				if (k + 1 < len && sql[k] == '-' && sql[k + 1] == '-') {
					while (k < len && sql[k] != '\n')
						k++;
					continue;
				}
				break;
			}
			if (k < len)
				return fn(sql + k, len - k, arg);
		}
	}
	return 0;
}

struct apply_ctx {
	struct db *db;
	int        n;
	char       err[512];
};

/* Comment-only statements are skipped; the rest run as prepared statements,
 * falling back to a plain query for what the server cannot prepare. */
static int
apply_one(const char *stmt, size_t len, void *arg)
{
	struct apply_ctx *a = arg;
	char *s = lb_strndup(stmt, len);
	int rc;

	if (s == NULL)
		return -1;
	a->n++;
	rc = db_exec(a->db, s, "");
	if (rc < 0 && db_errno(a->db) == 1295 /* ER_UNSUPPORTED_PS */)
		rc = db_exec_text(a->db, s, len);
	if (rc < 0)
		lb_snprintf(a->err, sizeof a->err, "statement %d: %s", a->n, db_error(a->db));
	free(s);
	return rc < 0 ? -1 : 0;
}

static int
cmp_names(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

long long
migrate_version(struct db *db)
{
	struct db_res *r;
	long long v;

	if (db_query(db, &r, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", "") < 0)
		return -1;
	v = db_getll(r, 0, 0, 0);
	db_res_free(r);
	return v;
}

static int
read_file(const char *path, struct buf *b)
{
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_append(b, chunk, n) < 0) {
			fclose(f);
			return -1;
		}
	fclose(f);
	return 0;
}

int
migrate_run(struct db *db, const char *dir, FILE *progress, int *applied,
    char *err, size_t errlen)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int rc = -1;

	*applied = 0;
	if (db_exec(db,
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version INT UNSIGNED NOT NULL PRIMARY KEY,"
	    " name VARCHAR(255) NOT NULL,"
	    " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	    " COMMENT='Applied migrations of sql/ (lb-admin migrate)'", "") < 0) {
		lb_snprintf(err, errlen, "cannot create schema_migrations: %s", db_error(db));
		return -1;
	}
	d = opendir(dir);
	if (d == NULL) {
		lb_snprintf(err, errlen, "%s: cannot open migrations directory: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		char **nn;
		if (l < 9 || !isdigit((unsigned char)de->d_name[0]) || !isdigit((unsigned char)de->d_name[1]) ||
		    !isdigit((unsigned char)de->d_name[2]) || de->d_name[3] != '_' ||
		    strcmp(de->d_name + l - 4, ".sql") != 0)
			continue;
		nn = realloc(names, (n + 1) * sizeof *names);
		if (nn == NULL)
			break;
		names = nn;
		names[n++] = lb_strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		long long version = (names[i][0] - '0') * 100 + (names[i][1] - '0') * 10 + (names[i][2] - '0');
		char path[4096];
		struct db_res *r;
		struct buf b = BUF_INIT;
		struct apply_ctx a;
		int done;

		if (i > 0 && strncmp(names[i], names[i - 1], 3) == 0) {
			lb_snprintf(err, errlen, "%s: version %03lld given twice", names[i], version);
			goto out;
		}
		if (db_query(db, &r, "SELECT 1 FROM schema_migrations WHERE version = ?", "i", version) < 0) {
			lb_snprintf(err, errlen, "%s", db_error(db));
			goto out;
		}
		done = r->nrows > 0;
		db_res_free(r);
		if (done)
			continue;
		if (lb_snprintf(path, sizeof path, "%s/%s", dir, names[i]) < 0 || read_file(path, &b) < 0) {
			lb_snprintf(err, errlen, "%s: cannot read: %s", names[i], strerror(errno));
			buf_free(&b);
			goto out;
		}
		memset(&a, 0, sizeof a);
		a.db = db;
		if (migrate_split(b.data ? b.data : "", b.len, apply_one, &a) != 0) {
			lb_snprintf(err, errlen, "%s: %s", names[i], a.err);
			buf_free(&b);
			goto out;
		}
		buf_free(&b);
		if (db_exec(db, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", "is",
		    version, names[i]) < 0) {
			lb_snprintf(err, errlen, "%s: cannot record: %s", names[i], db_error(db));
			goto out;
		}
		(*applied)++;
		if (progress)
			fprintf(progress, "applied %s (%d statements)\n", names[i], a.n);
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
