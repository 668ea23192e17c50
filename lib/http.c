#include "http.h"
#include "buf.h"
#include "json.h"
#include "log.h"

#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <zlib.h>

#define MAX_WORKERS 64
#define MAX_THREADS 64

static volatile sig_atomic_t stopping;
static volatile int in_request;	/* requests in progress in this worker */
/* The program http_serve() runs (the Allow header of a 405, after()). */
static const struct http_prog *program;
static int threads = 1;		/* requests a worker serves at once (http_threads) */

struct worker {
	int             fd;
	http_handler_fn handler;
	void           *ctx;
};
static pthread_mutex_t accept_mu = PTHREAD_MUTEX_INITIALIZER;

static void
worker_term(int sig)
{
	(void)sig;
	stopping = 1;
	if (__atomic_load_n(&in_request, __ATOMIC_SEQ_CST) == 0)
		_exit(0);
}

static void
master_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* One request: its parameters, the handler, the answer, after(). */
static void
serve_one(FCGX_Request *req, http_handler_fn handler, void *ctx)
{
	struct http_req r;
	const char *cl;
	long long n;

	memset(&r, 0, sizeof r);
	r.fcgi = req;
	r.method = FCGX_GetParam("REQUEST_METHOD", req->envp);
	r.path = FCGX_GetParam("DOCUMENT_URI", req->envp);
	if (r.path == NULL)
		r.path = FCGX_GetParam("SCRIPT_NAME", req->envp);
	r.query = FCGX_GetParam("QUERY_STRING", req->envp);
	r.content_type = FCGX_GetParam("CONTENT_TYPE", req->envp);
	if (r.content_type && *r.content_type == '\0')
		r.content_type = NULL;
	cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
	r.content_length = (cl && *cl && lb_parse_ll(cl, 0, INT64_MAX, &n) == 0) ? n : -1;
	if (r.method == NULL)
		r.method = "GET";
	if (r.path == NULL)
		r.path = "/";
	if (r.query == NULL)
		r.query = "";
	handler(&r, ctx);
	FCGX_Finish_r(req);
	if (program && program->after)
		program->after(ctx);
}

/*
 * The accept loop of one thread. Accepts are taken one thread at a time;
 * a SIGTERM ends the worker at once when no request is in progress, else
 * the last request to finish ends it (threads waiting in accept never
 * see the flag).
 */
static void *
accept_loop(void *arg)
{
	struct worker *w = arg;
	FCGX_Request req;

	if (FCGX_InitRequest(&req, w->fd, 0) != 0) {
		log_error("cannot initialise a FastCGI request");
		_exit(1);
	}
	for (;;) {
		int rc;

		pthread_mutex_lock(&accept_mu);
		rc = stopping ? -1 : FCGX_Accept_r(&req);
		if (rc >= 0)
			__atomic_add_fetch(&in_request, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&accept_mu);
		if (rc < 0)
			break;
		serve_one(&req, w->handler, w->ctx);
		if (__atomic_sub_fetch(&in_request, 1, __ATOMIC_SEQ_CST) == 0 && stopping)
			_exit(0);
	}
	_exit(0);
	return NULL;
}

static void
worker_loop(int fd, http_init_fn init, http_handler_fn handler, void *ctx)
{
	struct sigaction sa;
	struct worker w = { fd, handler, ctx };

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = worker_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (init && init(ctx) < 0)
		_exit(1);
	if (FCGX_Init() != 0) {
		log_error("cannot initialise FastCGI");
		_exit(1);
	}
	for (int i = 1; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, accept_loop, &w) != 0) {
			log_error("cannot start a request thread");
			_exit(1);
		}
	}
	accept_loop(&w);
}

static pid_t
spawn(int fd, http_init_fn init, http_handler_fn handler, void *ctx)
{
	pid_t pid = fork();

	if (pid == 0)
		worker_loop(fd, init, handler, ctx);
	if (pid < 0)
		log_error("fork: %s", strerror(errno));
	return pid;
}

/* The manual page of a FastCGI program (--help): its own NAME line and
 * DESCRIPTION paragraph, then what http_serve() does for every program. */
static void
help(const struct http_prog *prog)
{
	const char *progname = prog->name;

	printf("NAME\n"
	    "    %s.fcgi - %s\n"
	    "\n"
	    "SYNOPSIS\n"
	    "    %s.fcgi [--config FILE] [--socket PATH] [--workers N]\n"
	    "    %s.fcgi --help | --version\n"
	    "\n"
	    "DESCRIPTION\n",
	    progname, prog->summary, progname, progname);
	fputs(prog->description, stdout);
	printf("\n"
	    "    A FastCGI server, started in one of two ways:\n"
	    "    - with --socket PATH it listens on that Unix socket (mode 0666:\n"
	    "      put it in a directory only nginx can reach), runs N worker\n"
	    "      processes and replaces a worker that dies;\n"
	    "    - without --socket it serves the listening socket passed on fd 0:\n"
	    "      systemd socket activation (StandardInput=socket, the shipped\n"
	    "      %s.socket/%s.service) or spawn-fcgi; from one process, or\n"
	    "      with --workers N from N supervised worker processes.\n"
	    "    SIGTERM or SIGINT lets requests in progress finish, then stops.\n"
	    "    Log lines go to stderr (the journal under systemd).\n"
	    "\n"
	    "OPTIONS\n"
	    "    --config FILE  the configuration file (see FILES)\n"
	    "    --socket PATH  listen on this Unix socket instead of fd 0\n"
	    "    --workers N    worker processes, 1..%d (with --socket: default 2;\n"
	    "                   on fd 0: one process unless given)\n"

	    "    --help, -h     print this manual\n"
	    "    --version      print the version\n"
	    "\n"
	    "ENVIRONMENT\n"
	    "    LB_CONFIG      configuration file when --config is not given\n"
	    "    LB_LOG_LEVEL   debug, info, warn or error\n"
	    "\n"
	    "FILES\n"
	    "    /etc/leaderboard/leaderboard.conf\n"
	    "        the configuration when neither --config nor LB_CONFIG is given\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 after a clean stop, 1 when it cannot start (the log says why),\n"
	    "    2 bad usage.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    lb-admin --help, lb-syncd --help, docs/OPERATIONS.md\n",
	    progname, progname, MAX_WORKERS);
}

int
http_serve(int argc, char **argv, const struct http_prog *prog,
    const char **config_path, http_init_fn init, http_handler_fn handler, void *ctx)
{
	const char *progname = prog->name;
	const char *sock = NULL;
	long long workers = 2;
	int workers_given = 0, rc = 0;
	pid_t pids[MAX_WORKERS];
	struct sigaction sa;
	int fd;

	program = prog;
	log_init(progname);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			*config_path = argv[++i];
		else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
			if (lb_parse_ll(argv[++i], 1, MAX_WORKERS, &workers) < 0) {
				fprintf(stderr, "%s: --workers: expected 1..%d\n", progname, MAX_WORKERS);
				return 2;
			}
			workers_given = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			help(prog);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", progname, LB_VERSION);
			return 0;
		} else {
			fprintf(stderr, "%s: unknown argument '%s' (see --help)\n", progname, argv[i]);
			return 2;
		}
	}
	if (sock == NULL && !workers_given) {
		worker_loop(0, init, handler, ctx);
		return 0;
	}
	if (sock == NULL) {
		fd = 0;		/* the listening socket passed on fd 0, shared by the workers */
	} else {
		unlink(sock);	/* a stale socket of a killed instance */
		fd = FCGX_OpenSocket(sock, 128);
		if (fd < 0) {
			log_error("cannot listen on '%s': %s", sock, strerror(errno));
			return 1;
		}
		chmod(sock, 0666);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = master_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < workers; i++)
		pids[i] = spawn(fd, init, handler, ctx);
	log_info("listening on %s with %lld workers", sock ? sock : "fd 0", workers);
	while (!stopping) {
		int status;
		pid_t dead = waitpid(-1, &status, 0);
		if (dead < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < workers; i++) {
			if (pids[i] != dead || stopping)
				continue;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
				/* init() failed (configuration): a new worker would too */
				log_error("worker %ld could not start; stopping", (long)dead);
				pids[i] = -1;
				stopping = 1;
				rc = 1;
				break;
			}
			log_warn("worker %ld exited (status %d), restarting", (long)dead, status);
			pids[i] = spawn(fd, init, handler, ctx);
		}
	}
	for (int i = 0; i < workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (int i = 0; i < workers; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	if (sock)
		unlink(sock);
	return rc;
}

void
http_threads(int n)
{
	threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
}

const char *
http_param(struct http_req *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgi->envp);
}

int
http_gzip(const void *body, size_t len, char **out, size_t *outlen)
{
	z_stream z;
	unsigned char *dst;
	uLong cap;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (len == 0 || len > UINT_MAX)
		return -1;
	memset(&z, 0, sizeof z);
	/* windowBits 15 + 16: a gzip wrapper; level 1: 400 KB of JSON in about
	 * 1.5 ms, a twelfth of its size */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	cap = deflateBound(&z, (uLong)len);
	if ((dst = malloc(cap)) == NULL) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)body;
	z.avail_in = (uInt)len;
	z.next_out = dst;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	deflateEnd(&z);
	if (rc != Z_STREAM_END || z.total_out >= len) {
		free(dst);
		return -1;
	}
	*out = (char *)dst;
	*outlen = z.total_out;
	return 0;
}

/* One element of Accept-Encoding, [p, end): 2 when it is gzip (or x-gzip),
 * 1 when it is "*", each with a weight above 0; -2 / -1 the same with q=0;
 * 0 another coding. */
static int
coding_gzip(const char *p, const char *end)
{
	const char *name = p, *q;
	size_t n;
	int kind;

	while (p < end && *p != ';')
		p++;
	q = p;
	while (q > name && (q[-1] == ' ' || q[-1] == '\t'))
		q--;
	n = (size_t)(q - name);
	if ((n == 4 && strncasecmp(name, "gzip", 4) == 0) ||
	    (n == 6 && strncasecmp(name, "x-gzip", 6) == 0))
		kind = 2;
	else if (n == 1 && *name == '*')
		kind = 1;
	else
		return 0;
	/* parameters: only q matters; q=0, q=0.0, q=0.000 refuse it */
	while (p < end) {
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			p += 2;
			if (p < end && *p == '0') {
				p++;
				if (p < end && *p == '.')
					p++;
				while (p < end && *p == '0')
					p++;
				if (!(p < end && *p >= '1' && *p <= '9'))
					return -kind;
			}
			return kind;
		}
		while (p < end && *p != ';')
			p++;
	}
	return kind;
}

int
http_accepts_gzip(struct http_req *r)
{
	return http_takes_gzip(http_header(r, "Accept-Encoding"));
}

int
http_takes_gzip(const char *h)
{
	const char *p;
	int gzip = 0, star = 0;

	if (h == NULL)
		return 0;
	/* gzip named decides; else "*" does (RFC 9110 12.5.3) */
	for (p = h; *p;) {
		const char *end;
		int k;
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		end = p;
		while (*end && *end != ',')
			end++;
		k = end > p ? coding_gzip(p, end) : 0;
		if (k == 2 || k == -2)
			gzip = k;
		else if (k == 1 || k == -1)
			star = k;
		p = end;
	}
	return gzip ? gzip > 0 : star > 0;
}

const char *
http_header(struct http_req *r, const char *name)
{
	char key[128] = "HTTP_";
	size_t i, j = 5;

	for (i = 0; name[i] && j < sizeof key - 1; i++, j++)
		key[j] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	key[j] = '\0';
	return FCGX_GetParam(key, r->fcgi->envp);
}

int
http_read_body(struct http_req *r, struct buf *out, size_t max, int *too_large)
{
	char drain[4096];
	int n;

	*too_large = 0;
	if (r->content_length > (long long)max)
		*too_large = 1;
	else if (r->content_length > 0 && buf_reserve_exact(out, (size_t)r->content_length) < 0)
		return -1;
	for (;;) {
		size_t room;
		if (*too_large) {	/* drain */
			if (FCGX_GetStr(drain, sizeof drain, r->fcgi->in) <= 0)
				break;
			continue;
		}
		if (out->len + 1 >= out->cap) {
			/* full (no length announced, or more than it): a chunk at a time */
			if ((n = FCGX_GetStr(drain, sizeof drain, r->fcgi->in)) <= 0)
				break;
			if (out->len + (size_t)n > max)
				*too_large = 1;
			else if (buf_append(out, drain, (size_t)n) < 0)
				return -1;
			continue;
		}
		/* the announced body straight into the buffer: no copy, no stack */
		room = out->cap - out->len - 1;
		n = FCGX_GetStr(out->data + out->len, room > INT_MAX ? INT_MAX : (int)room,
		    r->fcgi->in);
		if (n <= 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len > max)
			*too_large = 1;
	}
	return *too_large ? -1 : 0;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return "Unknown";
}

/*
 * libfcgi writes its output stream in records of 8 KB, one write(2) each:
 * a 400 KB answer is 50 writes and as many wake-ups of nginx. A large body
 * goes out here in records of 64 KB instead, all in one sendmsg(2) when the
 * socket takes it, after the stream's buffered headers (FCGX_FFlush): the
 * same FastCGI stream (FCGI_STDOUT records of this request id), which
 * FCGX_Finish_r() ends as usual.
 */
#define FCGI_STDOUT_TYPE 6
#define RECORD_MAX 65528	/* content bytes per record: <= 65535, a multiple of 8 */
#define DIRECT_MIN (32u * 1024)

static void
put_body(struct http_req *r, const void *body, size_t len)
{
	FCGX_Request *q = r->fcgi;
	const unsigned char *p = body;
	size_t nrec = (len + RECORD_MAX - 1) / RECORD_MAX, i;
	unsigned char (*hdr)[8];
	struct iovec *iov;
	struct msghdr mh;

	if (len < DIRECT_MIN || q->ipcFd < 0 || FCGX_FFlush(q->out) != 0 ||
	    (hdr = calloc(nrec, sizeof *hdr)) == NULL) {
		FCGX_PutStr(body, (int)len, q->out);
		return;
	}
	if ((iov = calloc(2 * nrec, sizeof *iov)) == NULL) {
		free(hdr);
		FCGX_PutStr(body, (int)len, q->out);
		return;
	}
	for (i = 0; i < nrec; i++) {
		size_t n = len - i * RECORD_MAX < RECORD_MAX ? len - i * RECORD_MAX : RECORD_MAX;
		hdr[i][0] = 1;	/* FCGI_VERSION_1 */
		hdr[i][1] = FCGI_STDOUT_TYPE;
		hdr[i][2] = (unsigned char)((q->requestId >> 8) & 0xff);
		hdr[i][3] = (unsigned char)(q->requestId & 0xff);
		hdr[i][4] = (unsigned char)((n >> 8) & 0xff);
		hdr[i][5] = (unsigned char)(n & 0xff);
		iov[2 * i].iov_base = hdr[i];
		iov[2 * i].iov_len = 8;
		iov[2 * i + 1].iov_base = (void *)(p + i * RECORD_MAX);
		iov[2 * i + 1].iov_len = n;
	}
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = iov;
	mh.msg_iovlen = 2 * nrec;
	while (mh.msg_iovlen > 0) {
		ssize_t w = sendmsg(q->ipcFd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;	/* the peer is gone: FCGX_Finish_r() fails too */
		}
		/* a partial send: skip what went out */
		while (mh.msg_iovlen > 0 && (size_t)w >= mh.msg_iov->iov_len) {
			w -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + w;
			mh.msg_iov->iov_len -= (size_t)w;
		}
	}
	free(iov);
	free(hdr);
}

void
http_respond(struct http_req *r, int status, const char *ctype,
    const char *extra_headers, const void *body, size_t len)
{
	char head[512];

	/* FCGX_FPrintF knows no %zu: format here, bounded. */
	snprintf(head, sizeof head, "Status: %d %s\r\n", status, http_reason(status));
	FCGX_PutS(head, r->fcgi->out);
	if (ctype) {
		snprintf(head, sizeof head, "Content-Type: %s\r\n", ctype);
		FCGX_PutS(head, r->fcgi->out);
	}
	if (status != 304) {
		snprintf(head, sizeof head, "Content-Length: %zu\r\n", len);
		FCGX_PutS(head, r->fcgi->out);
	}
	if (extra_headers)
		FCGX_PutS(extra_headers, r->fcgi->out);
	FCGX_PutS("\r\n", r->fcgi->out);
	if (body && len && status != 304 && strcmp(r->method, "HEAD") != 0)
		put_body(r, body, len);
}

int
http_error_doc(const char *code, const char *message, struct buf *out)
{
	char msg[512];

	lb_strlcpy(msg, message, sizeof msg);
	/* Generated with yajl (lib/json) like every JSON document. The message
	 * may echo request input: if it is not valid UTF-8, non-ASCII bytes are
	 * replaced by '?' and the document generated again. */
	for (int attempt = 0; attempt < 2; attempt++) {
		struct jw w;
		const char *doc;
		size_t len;
		int rc;

		if (attempt == 1)
			for (char *p = msg; *p; p++)
				if ((unsigned char)*p >= 0x80)
					*p = '?';
		if (jw_init(&w) < 0)
			return -1;
		jw_obj(&w);
		jw_key(&w, "error");
		jw_obj(&w);
		jw_kv_str(&w, "code", code);
		jw_kv_str(&w, "message", msg);
		jw_obj_end(&w);
		jw_obj_end(&w);
		rc = jw_finish(&w, &doc, &len) == 0 ? buf_append(out, doc, len) : 1;
		jw_free(&w);
		if (rc <= 0)
			return rc;
	}
	return -1;
}

void
http_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[512], allow[128];
	struct buf b = BUF_INIT;
	const char *hdr = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	(void)http_error_doc(code, msg, &b);
	if (status == 401)
		hdr = "WWW-Authenticate: Bearer realm=\"leaderboard\"\r\n";
	else if (status == 405 && program != NULL && program->allow != NULL &&
	    lb_snprintf(allow, sizeof allow, "Allow: %s\r\n", program->allow) >= 0)
		hdr = allow;
	http_respond(r, status, "application/json", hdr, b.data, b.len);
	buf_free(&b);
}

void
http_etag(int status, const void *body, size_t len, char out[HTTP_ETAG_LEN])
{
	/* FNV-1a-like over 64-bit words (a byte at a time was a noticeable
	 * part of answering a 400 KB leaderboard), then the tail bytes */
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)len;
	const unsigned char *p = body;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h ^= w;
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	for (; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	snprintf(out, HTTP_ETAG_LEN, "W/\"%016llx%04x\"", (unsigned long long)h, status & 0xffff);
}

void
http_respond_tagged(struct http_req *r, int status, const char *ctype, const char *cache,
    const char *etag, const char *extra, const void *body, size_t len)
{
	char hdr[512];
	const char *inm;

	snprintf(hdr, sizeof hdr, "ETag: %s\r\nCache-Control: %s\r\n%s", etag,
	    cache ? cache : "no-cache", extra ? extra : "");
	inm = http_header(r, "If-None-Match");
	if (inm && status == 200) {
		/* a list of tags, or "*"; compare weakly */
		const char *bare = strncmp(etag, "W/", 2) == 0 ? etag + 2 : etag;
		if (strcmp(inm, "*") == 0 || strstr(inm, bare) != NULL) {
			http_respond(r, 304, NULL, hdr, NULL, 0);
			return;
		}
	}
	http_respond(r, status, ctype, hdr, body, len);
}

void
http_respond_etag(struct http_req *r, int status, const char *ctype,
    const char *cache, const void *body, size_t len)
{
	char etag[HTTP_ETAG_LEN];

	http_etag(status, body, len, etag);
	http_respond_tagged(r, status, ctype, cache, etag, NULL, body, len);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

long
http_urldecode(const char *in, size_t inlen, char *out, size_t outlen, int form)
{
	size_t j = 0;

	for (size_t i = 0; i < inlen; i++) {
		int c = (unsigned char)in[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= inlen)
				return -1;
			hi = hexval((unsigned char)in[i + 1]);
			lo = hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && form) {
			c = ' ';
		}
		if (j + 1 >= outlen)
			return -1;
		out[j++] = (char)c;
	}
	if (outlen)
		out[j] = '\0';
	return (long)j;
}

int
http_query(const char *qs, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = qs;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *kend = eq ? eq : end;
		char key[64];
		long kl = http_urldecode(p, (size_t)(kend - p), key, sizeof key, 1);

		if (kl >= 0 && (size_t)kl == nl && memcmp(key, name, nl) == 0) {
			const char *v = eq ? eq + 1 : end;
			long vl = http_urldecode(v, (size_t)(end - v), out, outlen, 1);
			if (vl < 0 || memchr(out, '\0', (size_t)vl) != NULL)
				return -1;
			return 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

const char *
http_bearer(const char *h, size_t *len)
{
	const char *tok, *end;

	if (h == NULL)
		return NULL;
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return NULL;
	tok = h + 6;
	while (*tok == ' ' || *tok == '\t')
		tok++;
	end = tok;
	while (*end && *end != ' ' && *end != '\t')
		end++;
	for (const char *p = end; *p; p++)
		if (*p != ' ' && *p != '\t')
			return NULL;	/* a second word: not a bearer token */
	if (end == tok)
		return NULL;
	*len = (size_t)(end - tok);
	return tok;
}

int
http_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	unsigned char x[SHA256_DIGEST_LENGTH], y[SHA256_DIGEST_LENGTH], d;

	/* Compare digests, not the strings: a loop over the bytes would take
	 * time in proportion to the shorter one, telling a guesser the
	 * secret's length. The digests' equality is the strings' (SHA-256). */
	if (SHA256(a, alen, x) == NULL || SHA256(b, blen, y) == NULL)
		return 0;
	d = (unsigned char)(alen != blen);
	for (size_t i = 0; i < sizeof x; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
