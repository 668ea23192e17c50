/* spool — see spool.h. */
#include "spool.h"
#include "buf.h"
#include "conf.h"
#include "db.h"
#include "ingest.h"
#include "json.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SUFFIX ".delivery"
#define HEADER_MAX 4096

static unsigned seq;

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
spool_write(const struct conf *c, const struct ingest_delivery *d)
{
	char tmp[4096], fin[4096], stamp[96];
	struct timeval tv;
	struct jw w;
	const char *hdr;
	size_t hlen;
	int fd, e;
	unsigned n;

	if (c->spool_dir == NULL || c->spool_dir[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	(void)mkdir(c->spool_dir, 0700);
	if (jw_init(&w) < 0)
		return -1;
	jw_obj(&w);
	jw_kv_str(&w, "delivery", d->id);
	jw_kv_str(&w, "event", d->event);
	jw_kv_str(&w, "hook_id", d->hook_id);
	jw_kv_str(&w, "received_at", d->received_at);
	jw_kv_str(&w, "content_type", d->content_type);
	jw_obj_end(&w);
	if (jw_finish(&w, &hdr, &hlen) < 0 || hlen >= HEADER_MAX) {
		jw_free(&w);
		errno = EINVAL;
		return -1;
	}
	/* The name sorts by arrival: the digits of received_at (YYYYMMDDhhmmssffffff,
	 * the time the delivery was taken in, which also dates its memberships),
	 * not the time of this write, which comes after a failed connect of
	 * varying length and would let two workers' files swap order. */
	{
		size_t k = 0;
		for (const char *p = d->received_at; p && *p && k < sizeof stamp - 1; p++)
			if (*p >= '0' && *p <= '9')
				stamp[k++] = *p;
		stamp[k] = '\0';
		if (k != 20) {
			gettimeofday(&tv, NULL);
			struct tm tm;
			gmtime_r(&tv.tv_sec, &tm);
			snprintf(stamp, sizeof stamp, "%04d%02d%02d%02d%02d%02d%06ld", tm.tm_year + 1900,
			    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
		}
	}
	n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);	/* lb-hook's threads */
	if (lb_snprintf(tmp, sizeof tmp, "%s/.tmp-%ld-%u", c->spool_dir, (long)getpid(), n) < 0 ||
	    lb_snprintf(fin, sizeof fin, "%s/%s-%010ld-%08u" SUFFIX, c->spool_dir,
	    stamp, (long)getpid(), n) < 0) {
		jw_free(&w);
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		jw_free(&w);
		return -1;
	}
	if (write_all(fd, hdr, hlen) < 0 || write_all(fd, "\n", 1) < 0 ||
	    write_all(fd, d->body, d->len) < 0 || fsync(fd) < 0)
		goto fail;
	jw_free(&w);
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, fin) < 0 || fsync_dir(c->spool_dir) < 0)
		goto fail;
	return 0;
fail:
	e = errno;
	if (fd >= 0) {
		jw_free(&w);
		close(fd);
	}
	unlink(tmp);
	errno = e;
	return -1;
}

static int
is_entry(const char *name)
{
	size_t n = strlen(name), s = strlen(SUFFIX);

	return name[0] != '.' && n > s && strcmp(name + n - s, SUFFIX) == 0;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted entry names (caller frees each and the array); -1 on error. */
static int
list(const char *dir, char ***out, size_t *n)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (dp == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(dp)) != NULL) {
		if (!is_entry(e->d_name))
			continue;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nv = realloc(v, nc * sizeof *nv);
			if (nv == NULL)
				goto oom;
			v = nv;
			cap = nc;
		}
		v[*n] = lb_strdup(e->d_name);
		if (v[*n] == NULL)
			goto oom;
		(*n)++;
	}
	closedir(dp);
	if (*n)
		qsort(v, *n, sizeof *v, cmp);
	*out = v;
	return 0;
oom:
	closedir(dp);
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	*n = 0;
	return -1;
}

int
spool_count(const struct conf *c)
{
	char **v;
	size_t n;

	if (c->spool_dir == NULL || c->spool_dir[0] == '\0')
		return 0;
	if (list(c->spool_dir, &v, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return (int)n;
}

static int
read_file(const char *path, size_t max, struct buf *b)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	b->max = max;
	while ((r = read(fd, chunk, sizeof chunk)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (buf_append(b, chunk, (size_t)r) < 0) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	close(fd);
	return 0;
}

static void
set_aside(const char *dir, const char *name, const char *why)
{
	char from[4096], to[4096];

	log_error("spool: %s/%s: %s; renamed to %s.corrupt", dir, name, why, name);
	if (lb_snprintf(from, sizeof from, "%s/%s", dir, name) == 0 &&
	    lb_snprintf(to, sizeof to, "%s/%s.corrupt", dir, name) == 0)
		(void)rename(from, to);
}

/* 1 applied (file gone), 0 set aside, -1 database error (file kept). */
static int
apply_one(const struct conf *c, struct db *db, const char *name)
{
	char path[4096], herr[128], err[512];
	struct buf b = BUF_INIT;
	struct ingest_delivery d;
	json_val h = NULL;
	enum ingest_status st;
	char *nl;
	int rc = 0;

	if (lb_snprintf(path, sizeof path, "%s/%s", c->spool_dir, name) < 0)
		return 0;
	if (read_file(path, (size_t)c->max_body + HEADER_MAX + 2, &b) < 0) {
		if (errno == ENOENT)	/* applied by someone else meanwhile */
			return 0;
		set_aside(c->spool_dir, name, strerror(errno));
		goto out;
	}
	nl = b.data ? memchr(b.data, '\n', b.len < HEADER_MAX ? b.len : HEADER_MAX) : NULL;
	if (nl == NULL) {
		set_aside(c->spool_dir, name, "no header line");
		goto out;
	}
	h = json_parse(b.data, (size_t)(nl - b.data), 4, HEADER_MAX, herr, sizeof herr);
	memset(&d, 0, sizeof d);
	d.id = json_str(h, "delivery");
	d.event = json_str(h, "event");
	d.hook_id = json_str(h, "hook_id");
	d.received_at = json_str(h, "received_at");
	d.content_type = json_str(h, "content_type");
	d.body = nl + 1;
	d.len = b.len - (size_t)(nl + 1 - b.data);
	if (h == NULL || !ingest_valid_id(d.id) || !ingest_valid_event(d.event) ||
	    d.received_at == NULL) {
		set_aside(c->spool_dir, name, "bad header");
		goto out;
	}
	st = ingest_apply(db, c, &d, err, sizeof err);
	if (st == INGEST_DBERROR) {
		log_warn("spool: %s (delivery %s) stays: %s", name, d.id, err);
		rc = -1;
		goto out;
	}
	if (st == INGEST_BADINPUT || st == INGEST_FAILED)
		log_warn("spool: delivery %s stored as failed: %s", d.id, err);
	else
		log_info("spool: delivery %s %s", d.id, ingest_status_name(st));
	if (unlink(path) < 0 && errno != ENOENT) {
		log_error("spool: cannot remove %s: %s", path, strerror(errno));
		rc = -1;
		goto out;
	}
	(void)fsync_dir(c->spool_dir);
	rc = 1;
out:
	json_free(h);
	buf_free(&b);
	return rc;
}

int
spool_apply_all(const struct conf *c, struct db *db, const atomic_int *stop, int *applied)
{
	char lock[4096], **names;
	size_t n;
	int fd, rc = 0;

	*applied = 0;
	if (c->spool_dir == NULL || c->spool_dir[0] == '\0')
		return 0;
	if (list(c->spool_dir, &names, &n) < 0) {
		log_error("spool: cannot read %s: %s", c->spool_dir, strerror(errno));
		return -1;
	}
	if (n == 0) {
		free(names);
		return 0;
	}
	fd = -1;
	if (lb_snprintf(lock, sizeof lock, "%s/.lock", c->spool_dir) == 0)
		fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		log_error("spool: cannot lock %s: %s", lock, strerror(errno));
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n && !(stop && atomic_load(stop)); i++) {
		int r = apply_one(c, db, names[i]);
		if (r < 0) {
			rc = -1;
			break;
		}
		*applied += r;
	}
out:
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
