#define _GNU_SOURCE
#include "github.h"
#include "buf.h"
#include "conf.h"
#include "date.h"
#include "db.h"
#include "ghapp.h"
#include "json.h"
#include "log.h"

#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RATE_WAITS_MAX 10	/* rate-limit waits per gh_get() */

/* headers of the answer in progress */
struct hdrs {
	struct gh_resp *r;
	long remaining;		/* -1: absent */
	long long reset;	/* 0: absent */
	long retry_after;	/* -1: absent */
	int  link_bad;
};

static time_t
default_now(void)
{
	return time(NULL);
}

static void
default_sleep(struct gh *g, double secs)
{
	struct timespec ts;

	while (secs > 0 && !(g->stop && *g->stop)) {
		double step = secs < 0.1 ? secs : 0.1;
		ts.tv_sec = (time_t)step;
		ts.tv_nsec = (long)((step - (double)ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !(g->stop && *g->stop))
			;
		secs -= step;
	}
}

double
gh_backoff(int n, double base)
{
	double d = base;

	if (n < 1)
		n = 1;
	for (int i = 1; i < n && d < 60; i++)
		d *= 2;
	return d > 60 ? 60 : d;
}

int
gh_split_repo(const char *repo, char *owner, size_t olen, char *name, size_t nlen)
{
	const char *slash = repo ? strchr(repo, '/') : NULL;
	size_t ol;

	if (slash == NULL || slash == repo || slash[1] == '\0' || strchr(slash + 1, '/'))
		return -1;
	ol = (size_t)(slash - repo);
	if (ol + 1 > olen || strlen(slash + 1) + 1 > nlen || ol > 100 || strlen(slash + 1) > 100)
		return -1;
	memcpy(owner, repo, ol);
	owner[ol] = '\0';
	lb_strlcpy(name, slash + 1, nlen);
	for (const char *p = repo; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == '%')
			return -1;
	return 0;
}

int
gh_ready(const struct conf *c, const char *work, char *why, size_t whylen)
{
	if (!conf_github_auth(c)) {
		lb_snprintf(why, whylen, "[github] token (or app_id + app_private_key_file) is not set");
		return 0;
	}
	if (strcmp(work, "teams") == 0 && (c->partner_org == NULL || *c->partner_org == '\0')) {
		lb_snprintf(why, whylen, "[github] partner_org is not set");
		return 0;
	}
	if (strcmp(work, "prs") == 0 && c->repositories.n == 0) {
		lb_snprintf(why, whylen, "[github] repositories is empty");
		return 0;
	}
	return 1;
}

int
gh_escape(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= outlen)
				return -1;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return 0;
}

/* page=N inside a URL's query string, 0 when absent */
static long
page_of(const char *url, size_t len)
{
	const char *q = memchr(url, '?', len);
	long long v;
	char num[24];

	while (q && q < url + len) {
		q++;
		if ((size_t)(url + len - q) > 5 && strncmp(q, "page=", 5) == 0) {
			size_t n = 0;
			q += 5;
			while (q + n < url + len && isdigit((unsigned char)q[n]) && n < sizeof num - 1)
				n++;
			memcpy(num, q, n);
			num[n] = '\0';
			return lb_parse_ll(num, 1, 100000000, &v) == 0 ? (long)v : 0;
		}
		q = memchr(q, '&', (size_t)(url + len - q));
	}
	return 0;
}

int
gh_link_parse(const char *v, char *next, size_t nextlen, long *last)
{
	const char *p = v;

	if (nextlen)
		next[0] = '\0';
	*last = 0;
	for (;;) {
		const char *lt, *gt, *end, *rel;
		size_t ulen;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		if (*p != '<')
			return -1;
		lt = p + 1;
		gt = strchr(lt, '>');
		if (gt == NULL)
			return -1;
		ulen = (size_t)(gt - lt);
		/* parameters up to the next ", <" (a comma outside <...>) */
		end = gt + 1;
		while (*end && *end != ',')
			end++;
		rel = NULL;
		for (const char *s = gt + 1; s + 4 <= end; s++)
			if (strncasecmp(s, "rel=", 4) == 0) {
				rel = s + 4;
				break;
			}
		if (rel) {
			const char *t = rel, *ve;
			if (*t == '"') {
				t++;
				ve = t;
				while (ve < end && *ve != '"')
					ve++;
			} else {
				ve = t;
				while (ve < end && *ve != ';' && *ve != ' ')
					ve++;
			}
			/* rel may hold several space-separated values */
			while (t < ve) {
				const char *te = t;
				while (te < ve && *te != ' ')
					te++;
				if (te - t == 4 && strncmp(t, "next", 4) == 0) {
					if (ulen + 1 > nextlen)
						return -1;
					memcpy(next, lt, ulen);
					next[ulen] = '\0';
				} else if (te - t == 4 && strncmp(t, "last", 4) == 0)
					*last = page_of(lt, ulen);
				t = te;
				while (t < ve && *t == ' ')
					t++;
			}
		}
		p = end;
	}
}

struct gh *
gh_new(const char *api_url, const char *token, char *err, size_t errlen)
{
	static int global_done;
	struct gh *g;
	struct buf b = BUF_INIT;
	size_t n;

	if (api_url == NULL || (strncmp(api_url, "https://", 8) != 0 && strncmp(api_url, "http://", 7) != 0)) {
		lb_snprintf(err, errlen, "github api_url must start with https:// or http://");
		return NULL;
	}
	if (!global_done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		global_done = 1;
	}
	g = calloc(1, sizeof *g);
	if (g == NULL) {
		lb_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->api_url = lb_strdup(api_url);
	if (g->api_url == NULL)
		goto oom;
	n = strlen(g->api_url);
	while (n > 0 && g->api_url[n - 1] == '/')
		g->api_url[--n] = '\0';
	if (token && *token) {
		if (strpbrk(token, "\r\n") != NULL) {
			lb_snprintf(err, errlen, "github token contains a line break");
			gh_free(g);
			return NULL;
		}
		if (buf_printf(&b, "Authorization: Bearer %s", token) < 0)
			goto oom;
		g->auth_header = buf_detach(&b);
		if (g->auth_header == NULL)
			goto oom;
	}
	lb_snprintf(g->user_agent, sizeof g->user_agent, "leaderboard-syncd/%s", LB_VERSION);
	g->curl = curl_easy_init();
	if (g->curl == NULL)
		goto oom;
	g->rate_remaining = -1;
	g->max_wait = 3600;
	g->timeout = 120;
	g->sleep = default_sleep;
	g->now = default_now;
	g->backoff_base = 1.0;
	return g;
oom:
	buf_free(&b);
	gh_free(g);
	lb_snprintf(err, errlen, "out of memory");
	return NULL;
}

struct gh *
gh_open(const struct conf *c, char *err, size_t errlen)
{
	struct gh *g;

	if (c->gh_app_id <= 0)
		return gh_new(c->gh_api_url, c->gh_token, err, errlen);
	if ((g = gh_new(c->gh_api_url, NULL, err, errlen)) == NULL)
		return NULL;
	g->app = gh_app_new(c->gh_app_id, c->gh_app_key_file, c->gh_app_installation_id, err, errlen);
	if (g->app == NULL || (c->partner_org && (g->org = lb_strdup(c->partner_org)) == NULL)) {
		if (g->app)
			lb_snprintf(err, errlen, "out of memory");
		gh_free(g);
		return NULL;
	}
	return g;
}

void
gh_free(struct gh *g)
{
	if (g == NULL)
		return;
	if (g->curl)
		curl_easy_cleanup(g->curl);
	if (g->auth_header) {
		explicit_bzero(g->auth_header, strlen(g->auth_header));
		free(g->auth_header);
	}
	gh_app_free(g->app);
	free(g->org);
	free(g->api_url);
	free(g);
}

void
gh_resp_init(struct gh_resp *r)
{
	memset(r, 0, sizeof *r);
	r->body.max = GH_MAX_BODY;
}

void
gh_resp_free(struct gh_resp *r)
{
	buf_free(&r->body);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct gh_resp *r = arg;

	if (buf_append(&r->body, p, size * n) < 0)
		return 0;	/* aborts the transfer: CURLE_WRITE_ERROR */
	return size * n;
}

/* value of header "name:" in line (len bytes), trimmed, copied into out */
static int
header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name), vl;
	const char *v;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return 0;
	v = line + nl + 1;
	vl = len - nl - 1;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	if (vl + 1 > outlen)
		return -1;
	memcpy(out, v, vl);
	out[vl] = '\0';
	return 1;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct hdrs *h = arg;
	size_t len = size * n;
	char val[2048];
	long long v;
	int rc;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new answer (after a redirect or 100): forget earlier headers */
		h->remaining = -1;
		h->reset = 0;
		h->retry_after = -1;
		h->link_bad = 0;
		h->r->etag[0] = '\0';
		h->r->next[0] = '\0';
		h->r->last_page = 0;
		return len;
	}
	if ((rc = header_value(p, len, "etag", val, sizeof val)) == 1)
		lb_strlcpy(h->r->etag, strlen(val) < GH_ETAG_MAX ? val : "", GH_ETAG_MAX);
	else if ((rc = header_value(p, len, "link", val, sizeof val)) != 0) {
		if (rc < 0 || gh_link_parse(val, h->r->next, sizeof h->r->next, &h->r->last_page) < 0)
			h->link_bad = 1;
	} else if (header_value(p, len, "x-ratelimit-remaining", val, sizeof val) == 1) {
		if (lb_parse_ll(val, 0, 100000000, &v) == 0)
			h->remaining = (long)v;
	} else if (header_value(p, len, "x-ratelimit-reset", val, sizeof val) == 1) {
		if (lb_parse_ll(val, 0, 1LL << 40, &v) == 0)
			h->reset = v;
	} else if (header_value(p, len, "retry-after", val, sizeof val) == 1) {
		if (lb_parse_ll(val, 0, 86400 * 7, &v) == 0)
			h->retry_after = (long)v;
	}
	return len;
}

/* Wait secs (or return GH_EWAIT / GH_ESTOP). */
static int
wait_for(struct gh *g, double secs, const char *why, char *err, size_t errlen)
{
	if (g->stop && *g->stop) {
		lb_snprintf(err, errlen, "stopped");
		return GH_ESTOP;
	}
	if (secs > (double)g->max_wait) {
		g->retry_at = g->now() + (time_t)secs + 1;
		lb_snprintf(err, errlen, "%s: next request allowed in %.0f s", why, secs);
		return GH_EWAIT;
	}
	if (secs <= 0)
		return GH_OK;
	log_info("github: %s: waiting %.1f s", why, secs);
	if (g->on_wait)
		g->on_wait(g->wait_arg, why, secs);
	g->sleep(g, secs);
	if (g->stop && *g->stop) {
		lb_snprintf(err, errlen, "stopped");
		return GH_ESTOP;
	}
	return GH_OK;
}

static int
url_allowed(const struct gh *g, const char *url)
{
	size_t n = strlen(g->api_url);

	return strncmp(url, g->api_url, n) == 0 && (url[n] == '/' || url[n] == '?');
}

static int gh_request(struct gh *g, const char *method, const char *url, const char *etag,
    const char *body, struct gh_resp *r, char *err, size_t errlen);

int
gh_get(struct gh *g, const char *url, const char *etag, struct gh_resp *r,
    char *err, size_t errlen)
{
	return gh_request(g, "GET", url, etag, NULL, r, err, errlen);
}

int
gh_post(struct gh *g, const char *url, const char *body, struct gh_resp *r,
    char *err, size_t errlen)
{
	return gh_request(g, "POST", url, NULL, body ? body : "", r, err, errlen);
}

/* Endpoints GitHub authenticates with the App's JWT, not an installation
 * token: /app..., and {orgs/X,repos/X/Y,users/X}/installation. */
static int
needs_jwt(const struct gh *g, const char *full)
{
	const char *p = full + strlen(g->api_url), *q;
	size_t n;

	if (strncmp(p, "/app", 4) == 0 && (p[4] == '\0' || p[4] == '/' || p[4] == '?'))
		return 1;
	q = strchr(p, '?');
	n = q ? (size_t)(q - p) : strlen(p);
	return n > 13 && memcmp(p + n - 13, "/installation", 13) == 0 &&
	    (strncmp(p, "/orgs/", 6) == 0 || strncmp(p, "/repos/", 7) == 0 || strncmp(p, "/users/", 7) == 0);
}

/* The installation id from partner_org (GET /orgs/{org}/installation). */
static int
app_find_installation(struct gh *g, char *err, size_t errlen)
{
	char path[300], esc[200];
	struct gh_resp r;
	json_val root;
	long long id;
	int rc;

	if (g->org == NULL || gh_escape(g->org, esc, sizeof esc) < 0) {
		lb_snprintf(err, errlen, "GitHub App %lld: set [github] app_installation_id or partner_org",
		    gh_app_id(g->app));
		return GH_EINVAL;
	}
	lb_snprintf(path, sizeof path, "/orgs/%s/installation", esc);
	gh_resp_init(&r);
	rc = gh_request(g, "GET", path, NULL, NULL, &r, err, errlen);
	if (rc == GH_EHTTP && r.status == 404)
		lb_snprintf(err, errlen, "GitHub App %lld is not installed on %.100s "
		    "(install it on the organization, or set [github] app_installation_id)",
		    gh_app_id(g->app), g->org);
	if (rc == GH_OK) {
		root = json_parse(r.body.data, r.body.len, 16, GH_MAX_BODY, NULL, 0);
		id = json_ll(root, "id", -1);
		json_free(root);
		if (id <= 0) {
			lb_snprintf(err, errlen, "GET %s: answer without an installation id", path);
			rc = GH_EINVAL;
		} else
			gh_app_set_installation(g->app, id);
	}
	gh_resp_free(&r);
	return rc;
}

/* A new installation access token (POST /app/installations/{id}/access_tokens). */
static int
app_renew(struct gh *g, char *err, size_t errlen)
{
	char path[128];
	struct gh_resp r;
	json_val root;
	time_t exp;
	long long inst;
	int rc;

	if (gh_app_installation(g->app) == 0 && (rc = app_find_installation(g, err, errlen)) != GH_OK)
		return rc;
	inst = gh_app_installation(g->app);
	lb_snprintf(path, sizeof path, "/app/installations/%lld/access_tokens", inst);
	gh_resp_init(&r);
	rc = gh_request(g, "POST", path, NULL, "", &r, err, errlen);
	if (rc == GH_EHTTP) {
		if (r.status == 404)
			lb_snprintf(err, errlen, "GitHub App %lld: installation %lld not found: the App was "
			    "uninstalled or the installation id is wrong", gh_app_id(g->app), inst);
		else if (r.status == 403)
			lb_snprintf(err, errlen, "GitHub App %lld: installation %lld is suspended or may not "
			    "get a token (HTTP 403)", gh_app_id(g->app), inst);
		else if (r.status == 401)
			lb_snprintf(err, errlen, "GitHub App %lld: the JWT was refused (HTTP 401): check "
			    "app_id, app_private_key_file and this host's clock", gh_app_id(g->app));
	}
	if (rc == GH_OK) {
		root = json_parse(r.body.data, r.body.len, 16, GH_MAX_BODY, NULL, 0);
		exp = date_epoch(json_str(root, "expires_at"));
		if (exp < 0 || gh_app_set_token(g->app, json_str(root, "token"), exp) < 0) {
			lb_snprintf(err, errlen, "POST %s: answer without a usable token or expires_at", path);
			rc = GH_EINVAL;
		} else
			log_info("github: GitHub App %lld: new installation token (installation %lld)",
			    gh_app_id(g->app), inst);
		json_free(root);
	}
	gh_resp_free(&r);
	return rc;
}

/* "Authorization: ..." for this request into hdr ("" for none). */
static int
auth_header(struct gh *g, const char *full, char *hdr, size_t hdrlen, int *jwt, char *err, size_t errlen)
{
	char jwtbuf[GH_APP_JWT_MAX];
	const char *tok;
	int rc;

	hdr[0] = '\0';
	*jwt = 0;
	if (g->app == NULL) {
		if (g->auth_header)
			lb_strlcpy(hdr, g->auth_header, hdrlen);
		return GH_OK;
	}
	if (needs_jwt(g, full)) {
		*jwt = 1;
		if (gh_app_jwt(g->app, g->now(), jwtbuf, sizeof jwtbuf, err, errlen) < 0)
			return GH_EINVAL;
		rc = lb_snprintf(hdr, hdrlen, "Authorization: Bearer %s", jwtbuf);
		explicit_bzero(jwtbuf, sizeof jwtbuf);
		return rc < 0 ? GH_EINVAL : GH_OK;
	}
	if ((tok = gh_app_token(g->app, g->now())) == NULL) {
		if ((rc = app_renew(g, err, errlen)) != GH_OK)
			return rc;
		g->app_renewals++;
		tok = gh_app_token(g->app, g->now());
		if (tok == NULL) {
			lb_snprintf(err, errlen, "GitHub App %lld: the new installation token expires "
			    "too soon: check this host's clock", gh_app_id(g->app));
			return GH_EINVAL;
		}
	}
	return lb_snprintf(hdr, hdrlen, "Authorization: Bearer %s", tok) < 0 ? GH_EINVAL : GH_OK;
}

/* url (a path, or an absolute URL under api_url) as the URL to ask, into
 * full; GH_OK, or GH_EINVAL with err. */
static int
full_url(struct gh *g, const char *url, char *full, size_t fulllen, char *err, size_t errlen)
{
	if (url[0] != '/' && !url_allowed(g, url)) {
		lb_snprintf(err, errlen, "refusing URL outside api_url: %.200s", url);
		return GH_EINVAL;
	}
	if (lb_snprintf(full, fulllen, "%s%s", url[0] == '/' ? g->api_url : "", url) < 0) {
		lb_snprintf(err, errlen, "URL too long");
		return GH_EINVAL;
	}
	if (strpbrk(full, " \r\n\t") != NULL) {
		lb_snprintf(err, errlen, "refusing URL with blanks");
		return GH_EINVAL;
	}
	return GH_OK;
}

/* One attempt's request headers into *hl (freed first): made anew each
 * attempt, as an App's token may have been renewed. GH_OK or an error. */
static int
request_headers(struct gh *g, const char *full, const struct buf *inm, int json_body,
    struct curl_slist **hl, int *jwt, char *err, size_t errlen)
{
	char auth[GH_APP_JWT_MAX + 64];
	struct curl_slist *tmp;
	int oom = 0, rc;

	curl_easy_setopt(g->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(*hl);
	*hl = NULL;
	if ((rc = auth_header(g, full, auth, sizeof auth, jwt, err, errlen)) != GH_OK)
		return rc;
	const char *lines[] = { "Accept: application/vnd.github+json",
	    "X-GitHub-Api-Version: 2022-11-28", auth[0] ? auth : NULL,
	    inm->len ? inm->data : NULL, json_body ? "Content-Type: application/json" : NULL };
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		if (lines[i] == NULL)
			continue;
		if ((tmp = curl_slist_append(*hl, lines[i])) == NULL)
			oom = 1;
		else
			*hl = tmp;
	}
	explicit_bzero(auth, sizeof auth);
	if (oom) {
		lb_snprintf(err, errlen, "out of memory");
		return GH_EINVAL;
	}
	return GH_OK;
}

/* One attempt's transfer: r and h emptied, every curl option set. */
static void
request_setup(struct gh *g, const char *full, struct curl_slist *hl, const char *body, int post,
    struct gh_resp *r, struct hdrs *h, char *errbuf)
{
	CURL *c = g->curl;

	buf_reset(&r->body);
	r->status = 0;
	r->not_modified = 0;
	r->etag[0] = r->next[0] = '\0';
	r->last_page = 0;
	memset(h, 0, sizeof *h);
	h->r = r;
	h->remaining = -1;
	h->retry_after = -1;
	errbuf[0] = '\0';

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_USERAGENT, g->user_agent);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, g->timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (post) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	}
}

/* Before an attempt: the primary limit (the last answer said nothing is
 * left) is waited for, a stop is obeyed. GH_OK or why not. */
static int
before_attempt(struct gh *g, char *err, size_t errlen)
{
	int rc;

	if (g->rate_remaining == 0) {
		time_t now = g->now();
		double wait = g->rate_reset > now ? (double)(g->rate_reset - now + 1) : 0;
		if ((rc = wait_for(g, wait, "rate limit exhausted", err, errlen)) != GH_OK)
			return rc;
		g->rate_remaining = -1;
	}
	if (g->stop && *g->stop) {
		lb_snprintf(err, errlen, "stopped");
		return GH_ESTOP;
	}
	return GH_OK;
}

/* A 403/429 that is a rate limit: the seconds to wait and why; 0 when the
 * answer is no rate limit. */
static int
rate_limited(struct gh *g, long status, const struct hdrs *h, double *wait, const char **why)
{
	if ((status != 403 && status != 429) ||
	    (h->retry_after < 0 && h->remaining != 0 && status != 429))
		return 0;
	*why = "secondary rate limit";
	if (h->retry_after >= 0)
		*wait = (double)h->retry_after;
	else if (h->remaining == 0) {
		time_t now = g->now();
		*why = "rate limit exhausted";
		*wait = h->reset > now ? (double)(h->reset - now + 1) : 1;
	} else
		*wait = 60;
	return 1;
}

/* After a network or server error (what): GH_OK after the backoff of retry
 * number ++*retries, GH_ENET when retries ran out (err), or what the wait
 * returned. */
static int
retry_wait(struct gh *g, int *retries, const char *method, const char *full, const char *what,
    const char *why, char *err, size_t errlen)
{
	if (++*retries > GH_RETRIES) {
		lb_snprintf(err, errlen, "%s %.300s: %s", method, full, what);
		return GH_ENET;
	}
	log_warn("github: %s %.300s: %s (retry %d)", method, full, what, *retries);
	return wait_for(g, gh_backoff(*retries, g->backoff_base), why, err, errlen);
}

/* A 304 or 2xx answer: GH_OK, or GH_EINVAL for a malformed Link header. */
static int
answered(struct gh *g, struct gh_resp *r, const struct hdrs *h, const char *method,
    const char *full, char *err, size_t errlen)
{
	if (r->status == 304) {
		r->not_modified = 1;
		g->not_modified++;
		return GH_OK;
	}
	if (h->link_bad) {
		lb_snprintf(err, errlen, "%s %.300s: malformed Link header", method, full);
		return GH_EINVAL;
	}
	return GH_OK;
}

/* One request with the limits and retries of github.h. */
static int
gh_request(struct gh *g, const char *method, const char *url, const char *etag,
    const char *body, struct gh_resp *r, char *err, size_t errlen)
{
	char full[GH_URL_MAX + 256], errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hl = NULL;
	struct buf inm = BUF_INIT;
	struct hdrs h;
	int retries = 0, rate_waits = 0, renewed = 0, jwt = 0, rc;
	int post = strcmp(method, "POST") == 0;
	CURL *c = g->curl;

	if ((rc = full_url(g, url, full, sizeof full, err, errlen)) != GH_OK)
		return rc;
	if (etag && *etag && strpbrk(etag, "\r\n") == NULL &&
	    buf_printf(&inm, "If-None-Match: %s", etag) < 0) {
		lb_snprintf(err, errlen, "out of memory");
		return GH_EINVAL;
	}

	for (;;) {
		CURLcode cc;
		long status = 0;
		double wait;
		const char *why;

		if ((rc = request_headers(g, full, &inm, post && body && *body, &hl, &jwt, err,
		    errlen)) != GH_OK || (rc = before_attempt(g, err, errlen)) != GH_OK)
			goto out;
		request_setup(g, full, hl, body, post, r, &h, errbuf);
		g->requests++;
		cc = curl_easy_perform(c);
		if (h.remaining >= 0) {
			g->rate_remaining = h.remaining;
			g->rate_reset = (time_t)h.reset;
		}
		if (cc == CURLE_WRITE_ERROR) {
			lb_snprintf(err, errlen, "%s %.300s: answer larger than %zu bytes", method, full, (size_t)GH_MAX_BODY);
			rc = GH_EINVAL;
			goto out;
		}
		if (cc != CURLE_OK) {
			if ((rc = retry_wait(g, &retries, method, full, errbuf[0] ? errbuf :
			    curl_easy_strerror(cc), "network error", err, errlen)) != GH_OK)
				goto out;
			continue;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		r->status = status;
		g->bytes += r->body.len;
		if (status == 304 || (status >= 200 && status < 300)) {
			rc = answered(g, r, &h, method, full, err, errlen);
			goto out;
		}
		if (rate_limited(g, status, &h, &wait, &why)) {
			if (++rate_waits > RATE_WAITS_MAX) {
				lb_snprintf(err, errlen, "%s %.300s: still rate limited after %d waits", method, full, RATE_WAITS_MAX);
				rc = GH_ENET;
				goto out;
			}
			log_warn("github: %s %.300s: %ld (%s)", method, full, status, why);
			g->rate_remaining = -1;	/* the wait below covers it */
			if ((rc = wait_for(g, wait, why, err, errlen)) != GH_OK)
				goto out;
			continue;
		}
		if (status >= 500) {
			char what[32];
			lb_snprintf(what, sizeof what, "HTTP %ld", status);
			if ((rc = retry_wait(g, &retries, method, full, what, "server error", err,
			    errlen)) != GH_OK)
				goto out;
			continue;
		}
		if (status == 401 && g->app && !jwt && !renewed) {
			/* an installation token GitHub no longer takes: one new one */
			log_warn("github: %s %.300s: 401 with the installation token: renewing it", method, full);
			gh_app_drop_token(g->app);
			renewed = 1;
			continue;
		}
		lb_snprintf(err, errlen, "%s %.300s: HTTP %ld", method, full, status);
		rc = GH_EHTTP;
		goto out;
	}
out:
	buf_free(&inm);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);	/* holds the token: freed memory, not logged */
	return rc;
}

int
gh_cache_get(struct db *db, const char *url, char *etag, size_t etaglen)
{
	struct db_res *res;
	int found = 0;

	if (etaglen)
		etag[0] = '\0';
	if (strlen(url) > 700)
		return 0;
	if (db_query(db, &res, "SELECT etag FROM http_cache WHERE url = ?", "s", url) < 0)
		return -1;
	if (res->nrows == 1 && db_get(res, 0, 0) && *db_get(res, 0, 0)) {
		lb_strlcpy(etag, db_get(res, 0, 0), etaglen);
		found = 1;
	}
	db_res_free(res);
	return found;
}

int
gh_cache_put(struct db *db, const char *url, const char *etag)
{
	if (strlen(url) > 700 || etag == NULL || *etag == '\0' || strlen(etag) > 255)
		return 0;
	return db_exec(db, "INSERT INTO http_cache (url, etag, fetched_at) VALUES (?, ?, NOW(6)) "
	    "ON DUPLICATE KEY UPDATE etag = VALUES(etag), fetched_at = VALUES(fetched_at)",
	    "ss", url, etag);
}

int
gh_cache_del(struct db *db, const char *url)
{
	if (strlen(url) > 700)
		return 0;
	return db_exec(db, "DELETE FROM http_cache WHERE url = ?", "s", url);
}
