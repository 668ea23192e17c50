#include "conf.h"
#include "buf.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

enum ctype { C_STR, C_INT, C_DURATION, C_SIZE, C_LIST, C_URL, C_PREFIXES, C_HOSTS };

struct centry {
	const char *section;
	const char *key;
	enum ctype  type;
	size_t      off;
	const char *def;	/* NULL: no default */
	long long   min, max;	/* bounds for numbers */
	int         required;
};

#define O(f) offsetof(struct conf, f)
#define DAY (86400LL)
static const struct centry table[] = {
	{ "database", "host",     C_STR, O(db_host),     "localhost", 0, 0, 0 },
	{ "database", "port",     C_INT, O(db_port),     "3306", 1, 65535, 0 },
	{ "database", "socket",   C_STR, O(db_socket),   NULL, 0, 0, 0 },
	{ "database", "hosts",    C_HOSTS, O(db_hosts),  NULL, 0, 0, 0 },
	{ "database", "user",     C_STR, O(db_user),     "leaderboard", 0, 0, 0 },
	{ "database", "password", C_STR, O(db_password), NULL, 0, 0, 0 },
	{ "database", "name",     C_STR, O(db_name),     NULL, 0, 0, 1 },
	{ "database", "timeout",  C_DURATION, O(db_timeout), "5s", 1, 60, 0 },
	{ "github", "api_url",        C_URL,  O(gh_api_url),      "https://api.github.com", 0, 0, 0 },
	{ "github", "token",          C_STR,  O(gh_token),        NULL, 0, 0, 0 },
	{ "github", "app_id",               C_INT, O(gh_app_id),               NULL, 1, INT64_MAX, 0 },
	{ "github", "app_private_key_file", C_STR, O(gh_app_key_file),         NULL, 0, 0, 0 },
	{ "github", "app_installation_id",  C_INT, O(gh_app_installation_id),  NULL, 1, INT64_MAX, 0 },
	{ "github", "webhook_secret", C_LIST, O(webhook_secrets), NULL, 0, 0, 0 },
	{ "github", "partner_org",    C_STR,  O(partner_org),     NULL, 0, 0, 0 },
	{ "github", "repositories",   C_LIST, O(repositories),    NULL, 0, 0, 0 },
	{ "github", "exclude_teams",  C_LIST, O(exclude_teams),   NULL, 0, 0, 0 },
	{ "github", "avatar_hosts",   C_PREFIXES, O(avatar_hosts), NULL, 0, 0, 0 },
	{ "sync", "teams_every",     C_DURATION, O(teams_every),     "6h", 60, 365 * DAY, 0 },
	{ "sync", "prs_every",       C_DURATION, O(prs_every),       "15m", 60, 365 * DAY, 0 },
	{ "sync", "integrity_every", C_DURATION, O(integrity_every), "1h", 60, 365 * DAY, 0 },
	{ "sync", "import_prs",      C_INT,      O(import_prs),      "20000", 0, INT64_MAX, 0 },
	{ "scoring", "merged_points", C_INT, O(merged_points), "1", -1000000, 1000000, 0 },
	{ "api", "admin_token", C_STR, O(admin_token), NULL, 0, 0, 0 },
	{ "hook", "spool_dir",            C_STR,  O(spool_dir),            "/var/spool/leaderboard", 0, 0, 0 },
	{ "hook", "max_body",             C_SIZE, O(max_body),             "25M", 1024, 1024LL * 1024 * 1024, 0 },
	{ "hook", "keep_deliveries_days", C_INT,  O(keep_deliveries_days), "90", 0, 100000, 0 },
	{ "hook", "roll_when_idle_ms",    C_INT,  O(roll_when_idle_ms),    "50", 0, 60000, 0 },
	{ "hook", "threads",              C_INT,  O(hook_threads),         "32", 1, 64, 0 },
	{ "stats", "settle_days", C_INT, O(settle_days), "7", 0, 36500, 0 },
};
#define NENTRIES (sizeof table / sizeof table[0])

const char *
conf_path(const char *arg)
{
	const char *env;

	if (arg && *arg)
		return arg;
	env = getenv("LB_CONFIG");
	if (env && *env)
		return env;
	return CONF_DEFAULT_PATH;
}

int
conf_parse_duration(const char *s, long long *secs)
{
	char *end;
	long long v, mul = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = DAY; break;
		case 'w': mul = 7 * DAY; break;
		default: return -1;
		}
		if (end[1] != '\0')
			return -1;
	}
	if (v > (1LL << 40) / mul)
		return -1;
	*secs = v * mul;
	return 0;
}

int
conf_parse_size(const char *s, long long *bytes)
{
	char *end;
	long long v, mul = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'K': mul = 1024; break;
		case 'M': mul = 1024 * 1024; break;
		case 'G': mul = 1024 * 1024 * 1024; break;
		default: return -1;
		}
		if (end[1] != '\0' && !(toupper((unsigned char)end[1]) == 'B' && end[2] == '\0'))
			return -1;
	}
	if (v > (1LL << 50) / mul)
		return -1;
	*bytes = v * mul;
	return 0;
}

int
conf_list_has(const struct conf_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static void
list_free(struct conf_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
list_parse(struct conf_list *l, const char *s)
{
	const char *p = s;

	list_free(l);
	while (*p) {
		const char *q = strchr(p, ',');
		const char *e = q ? q : p + strlen(p);
		const char *a = p;
		char **nv;

		while (a < e && isspace((unsigned char)*a))
			a++;
		while (e > a && isspace((unsigned char)e[-1]))
			e--;
		if (e > a) {
			nv = realloc(l->v, (l->n + 1) * sizeof *nv);
			if (nv == NULL)
				return -1;
			l->v = nv;
			l->v[l->n] = lb_strndup(a, (size_t)(e - a));
			if (l->v[l->n] == NULL)
				return -1;
			l->n++;
		}
		if (q == NULL)
			break;
		p = q + 1;
	}
	return 0;
}

/*
 * A list of URL prefixes ("https://HOST[/PATH]/"): each item an http(s) URL
 * with a host and no blanks, quotes or backslashes; a prefix always ends
 * with '/' (one is appended), so "https://a.example" never matches
 * "https://a.example.evil/".
 */
static const char *
prefixes_parse(struct conf_list *l, const char *v)
{
	if (list_parse(l, v) < 0)
		return "out of memory";
	for (size_t i = 0; i < l->n; i++) {
		char *u = l->v[i], *d;
		size_t skip = strncasecmp(u, "https://", 8) == 0 ? 8 :
		    strncasecmp(u, "http://", 7) == 0 ? 7 : 0;
		size_t n = strlen(u);

		if (skip == 0)
			return "not an http(s) URL";
		if (u[skip] == '\0' || u[skip] == '/')
			return "URL without a host";
		for (const char *p = u; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '\'' ||
			    *p == '\\' || *p == '<' || *p == '>' || *p == '?' || *p == '#')
				return "not a URL prefix (no blanks, quotes, '?' or '#')";
		if (u[n - 1] == '/')
			continue;
		d = malloc(n + 2);
		if (d == NULL)
			return "out of memory";
		memcpy(d, u, n);
		d[n] = '/';
		d[n + 1] = '\0';
		free(u);
		l->v[i] = d;
	}
	return NULL;
}

/*
 * [database] hosts: the nodes of a cluster, each "HOST", "HOST:PORT",
 * "[V6ADDR]:PORT" or a Unix socket path (starting with '/'), at most
 * CONF_DB_HOSTS_MAX, no blanks or quotes inside an item.
 */
static const char *
hosts_parse(struct conf_list *l, const char *v)
{
	if (list_parse(l, v) < 0)
		return "out of memory";
	if (l->n == 0)
		return "empty list (give host:port or socket paths, comma-separated)";
	if (l->n > CONF_DB_HOSTS_MAX)
		return "too many hosts (at most 16)";
	for (size_t i = 0; i < l->n; i++) {
		const char *h = l->v[i], *colon;
		long long port;

		for (const char *p = h; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '\\' || *p == '\'')
				return "bad host (no blanks or quotes)";
		if (h[0] == '/')
			continue;
		colon = h[0] == '[' ? strstr(h, "]:") : strrchr(h, ':');
		if (colon && h[0] == '[')
			colon++;
		if (h[0] == '[' ? (strchr(h, ']') == NULL) : (colon && strchr(h, ':') != colon))
			return "bad host (IPv6 addresses go in brackets: [::1]:3306)";
		if (colon == h)
			return "bad host (host:port)";
		if (colon && lb_parse_ll(colon + 1, 1, 65535, &port) < 0)
			return "bad port (1 to 65535)";
	}
	return NULL;
}

/*
 * [github] avatar_hosts when the file does not set it: GitHub's avatar
 * hosts, and for GitHub Enterprise (api_url = SCHEME://HOST/api/v3) that
 * host's two avatar locations, SCHEME://HOST/avatars/ and
 * SCHEME://avatars.HOST/ (subdomain isolation).
 */
static int
avatar_defaults(struct conf *c)
{
	struct buf b = BUF_INIT;
	const char *u = c->gh_api_url ? c->gh_api_url : "";
	size_t n = strlen(u), skip = strncmp(u, "https://", 8) == 0 ? 8 : 7;
	int rc;

	if (buf_puts(&b, CONF_GITHUB_AVATAR_HOSTS) < 0) {
		buf_free(&b);
		return -1;
	}
	if (n > skip + 7 && strcmp(u + n - 7, "/api/v3") == 0 && strchr(u + skip, '/') == u + n - 7) {
		int hl = (int)(n - 7 - skip);
		if (buf_printf(&b, ", %.*s%.*s/avatars/, %.*savatars.%.*s/", (int)skip, u, hl, u + skip,
		    (int)skip, u, hl, u + skip) < 0) {
			buf_free(&b);
			return -1;
		}
	}
	rc = prefixes_parse(&c->avatar_hosts, b.data) == NULL ? 0 : -1;
	buf_free(&b);
	return rc;
}

/* Store value v for entry e; returns NULL or a static description of the problem. */
static const char *
set_value(struct conf *c, const struct centry *e, const char *v)
{
	char *base = (char *)c;
	long long n = 0;

	switch (e->type) {
	case C_URL:
		if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
			return "not an http(s) URL";
		/* FALLTHROUGH */
	case C_STR: {
		char **sp = (char **)(base + e->off);
		char *d = lb_strdup(v);
		if (d == NULL)
			return "out of memory";
		if (e->type == C_URL) {	/* no trailing slash: we append paths */
			size_t l = strlen(d);
			while (l > 8 && d[l - 1] == '/')
				d[--l] = '\0';
		}
		free(*sp);
		*sp = d;
		return NULL;
	}
	case C_INT:
		if (lb_parse_ll(v, e->min, e->max, &n) < 0)
			return "bad number";
		break;
	case C_DURATION:
		if (conf_parse_duration(v, &n) < 0)
			return "bad duration (use e.g. 30s, 15m, 6h, 1d)";
		if (n < e->min || n > e->max)
			return e->max <= 60 ? "duration out of range (1s to 60s)"
			    : "duration out of range (1m to 365d)";
		break;
	case C_SIZE:
		if (conf_parse_size(v, &n) < 0)
			return "bad size (use e.g. 512K, 25M)";
		if (n < e->min || n > e->max)
			return "size out of range (1K to 1G)";
		break;
	case C_LIST:
		if (list_parse((struct conf_list *)(base + e->off), v) < 0)
			return "out of memory";
		return NULL;
	case C_PREFIXES:
		return prefixes_parse((struct conf_list *)(base + e->off), v);
	case C_HOSTS:
		return hosts_parse((struct conf_list *)(base + e->off), v);
	}
	*(long long *)(base + e->off) = n;
	return NULL;
}

int
conf_github_auth(const struct conf *c)
{
	return (c->gh_token && *c->gh_token) || c->gh_app_id > 0;
}

/* Exactly one way to authenticate to GitHub (or none). */
static const char *
check_github_auth(const struct conf *c)
{
	int token = c->gh_token && *c->gh_token;
	int key = c->gh_app_key_file && *c->gh_app_key_file;

	if (token && (c->gh_app_id > 0 || key || c->gh_app_installation_id > 0))
		return "token and app_id/app_private_key_file are both set: use one of them";
	if (c->gh_app_id > 0 && !key)
		return "app_id needs app_private_key_file (the App's .pem key)";
	if (key && c->gh_app_id <= 0)
		return "app_private_key_file needs app_id (the App's numeric id)";
	if (c->gh_app_installation_id > 0 && c->gh_app_id <= 0)
		return "app_installation_id needs app_id and app_private_key_file";
	return NULL;
}

static void
conf_init(struct conf *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < NENTRIES; i++)
		if (table[i].def)
			(void)set_value(c, &table[i], table[i].def);
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* "[name]" (s, trimmed) into section: 0, or -1 with err for a malformed
 * header or a section the table does not know. */
static int
section_header(char *s, char *section, size_t seclen, const char *name, int lineno,
    char *err, size_t errlen)
{
	char *close = strchr(s, ']');
	size_t i;

	if (close == NULL || *trim(close + 1) != '\0' || (size_t)(close - s - 1) >= seclen) {
		lb_snprintf(err, errlen, "%s:%d: bad section header '%s'", name, lineno, s);
		return -1;
	}
	*close = '\0';
	lb_strlcpy(section, trim(s + 1), seclen);
	for (i = 0; i < NENTRIES; i++)
		if (strcmp(table[i].section, section) == 0)
			break;
	if (i == NENTRIES) {
		lb_snprintf(err, errlen, "%s:%d: unknown section [%s]", name, lineno, section);
		return -1;
	}
	return 0;
}

/* After the last line: the GitHub credentials agree, defaults of keys not
 * given (avatar_hosts), every required key given. 0, or -1 with err. */
static int
complete(struct conf *c, const unsigned char *seen, const char *name, char *err, size_t errlen)
{
	if (check_github_auth(c) != NULL) {
		lb_snprintf(err, errlen, "%s: [github] %s", name, check_github_auth(c));
		return -1;
	}
	for (size_t i = 0; i < NENTRIES; i++)
		if (table[i].off == O(avatar_hosts) && !seen[i] && avatar_defaults(c) < 0) {
			lb_snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
	for (size_t i = 0; i < NENTRIES; i++)
		if (table[i].required && !seen[i]) {
			lb_snprintf(err, errlen, "%s: [%s] %s: required key missing", name,
			    table[i].section, table[i].key);
			return -1;
		}
	return 0;
}

int
conf_parse(struct conf *c, const char *name, const char *text, size_t len,
    char *err, size_t errlen)
{
	unsigned char seen[NENTRIES] = { 0 };
	char section[64] = "";
	char line[8192];
	size_t pos = 0;
	int lineno = 0;

	conf_init(c);
	c->path = lb_strdup(name);
	if (memchr(text, '\0', len) != NULL) {
		lb_snprintf(err, errlen, "%s: contains a NUL byte", name);
		goto fail;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *s, *eq, *key, *val;
		const struct centry *e = NULL;
		const char *why;

		lineno++;
		if (l >= sizeof line) {
			lb_snprintf(err, errlen, "%s:%d: line too long", name, lineno);
			goto fail;
		}
		memcpy(line, text + pos, l);
		line[l] = '\0';
		pos += l + (nl ? 1 : 0);
		s = trim(line);
		if (*s == '\0' || *s == ';' || *s == '#')
			continue;
		if (*s == '[') {
			if (section_header(s, section, sizeof section, name, lineno, err, errlen) < 0)
				goto fail;
			continue;
		}
		eq = strchr(s, '=');
		if (eq == NULL) {
			lb_snprintf(err, errlen, "%s:%d: expected 'key = value', got '%.60s'", name, lineno, s);
			goto fail;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (section[0] == '\0') {
			lb_snprintf(err, errlen, "%s:%d: key '%s' outside of any [section]", name, lineno, key);
			goto fail;
		}
		for (size_t i = 0; i < NENTRIES; i++)
			if (strcmp(table[i].section, section) == 0 && strcmp(table[i].key, key) == 0) {
				e = &table[i];
				break;
			}
		if (e == NULL) {
			lb_snprintf(err, errlen, "%s:%d: [%s] unknown key '%s'", name, lineno, section, key);
			goto fail;
		}
		if (seen[e - table]) {
			lb_snprintf(err, errlen, "%s:%d: [%s] %s: given twice", name, lineno, section, key);
			goto fail;
		}
		seen[e - table] = 1;
		if (*val == '"') {
			char *q = strrchr(val + 1, '"');
			if (q == NULL || *trim(q + 1) != '\0') {
				lb_snprintf(err, errlen, "%s:%d: [%s] %s: unterminated quote", name, lineno, section, key);
				goto fail;
			}
			*q = '\0';
			val++;
		} else {
			/* inline comment: " ;" or " #" */
			for (char *p = val; *p; p++)
				if ((*p == ';' || *p == '#') && p > val && isspace((unsigned char)p[-1])) {
					*p = '\0';
					val = trim(val);
					break;
				}
		}
		why = set_value(c, e, val);
		if (why) {
			lb_snprintf(err, errlen, "%s:%d: [%s] %s: %s '%.60s'", name, lineno, section, key, why, val);
			goto fail;
		}
	}
	if (complete(c, seen, name, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	conf_free(c);
	return -1;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct buf b = BUF_INIT;
	char chunk[8192];
	size_t n;
	FILE *f;
	int rc;

	b.max = 1024 * 1024;
	f = fopen(path, "r");
	if (f == NULL) {
		memset(c, 0, sizeof *c);
		lb_snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_append(&b, chunk, n) < 0) {
			fclose(f);
			buf_free(&b);
			memset(c, 0, sizeof *c);
			lb_snprintf(err, errlen, "%s: file too large", path);
			return -1;
		}
	fclose(f);
	rc = conf_parse(c, path, b.data ? b.data : "", b.len, err, errlen);
	buf_free(&b);
	return rc;
}

void
conf_free(struct conf *c)
{
	char *base = (char *)c;

	for (size_t i = 0; i < NENTRIES; i++) {
		if (table[i].type == C_STR || table[i].type == C_URL) {
			char **sp = (char **)(base + table[i].off);
			free(*sp);
			*sp = NULL;
		} else if (table[i].type == C_LIST || table[i].type == C_PREFIXES ||
		    table[i].type == C_HOSTS) {
			list_free((struct conf_list *)(base + table[i].off));
		}
	}
	free(c->path);
	c->path = NULL;
}
