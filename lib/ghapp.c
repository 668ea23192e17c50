#include "ghapp.h"
#include "buf.h"
#include "json.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

struct gh_app {
	long long     id;
	long long     installation;
	EVP_PKEY     *key;
	char          token[GH_APP_TOKEN_MAX];
	time_t        expires_at;
	unsigned long issued;
};

int
gh_base64url(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i = 0;

	if (outlen < (len / 3) * 4 + 4)
		return -1;
	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
		out[o++] = al[v >> 6 & 63];
		out[o++] = al[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
		out[o++] = al[v >> 6 & 63];
	}
	out[o] = '\0';
	return 0;
}

struct gh_app *
gh_app_new(long long app_id, const char *key_file, long long installation_id,
    char *err, size_t errlen)
{
	struct gh_app *a;
	struct stat st;
	FILE *f;

	if (app_id <= 0 || key_file == NULL || *key_file == '\0') {
		lb_snprintf(err, errlen, "[github] app_id and app_private_key_file go together");
		return NULL;
	}
	f = fopen(key_file, "r");
	if (f == NULL) {
		lb_snprintf(err, errlen, "[github] app_private_key_file %s: cannot open: %s",
		    key_file, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)))
		log_warn("[github] app_private_key_file %s is readable or writable by others "
		    "(mode %04o): chmod 600 it", key_file, (unsigned)(st.st_mode & 07777));
	a = calloc(1, sizeof *a);
	if (a == NULL) {
		fclose(f);
		lb_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->id = app_id;
	a->installation = installation_id > 0 ? installation_id : 0;
	a->key = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
	fclose(f);
	ERR_clear_error();	/* the parser's queue may name the file's content */
	if (a->key == NULL || EVP_PKEY_get_base_id(a->key) != EVP_PKEY_RSA) {
		lb_snprintf(err, errlen, "[github] app_private_key_file %s: %s", key_file,
		    a->key ? "not an RSA key (GitHub Apps use RSA)" :
		    "not a PEM private key (use the .pem file GitHub generated)");
		gh_app_free(a);
		return NULL;
	}
	return a;
}

void
gh_app_free(struct gh_app *a)
{
	if (a == NULL)
		return;
	EVP_PKEY_free(a->key);
	explicit_bzero(a->token, sizeof a->token);
	free(a);
}

long long
gh_app_id(const struct gh_app *a)
{
	return a->id;
}

long long
gh_app_installation(const struct gh_app *a)
{
	return a->installation;
}

void
gh_app_set_installation(struct gh_app *a, long long id)
{
	a->installation = id;
}

/* base64url of a yajl-generated JSON document */
static int
json_part(struct jw *w, char *out, size_t outlen)
{
	const char *doc;
	size_t len;

	if (jw_finish(w, &doc, &len) < 0)
		return -1;
	return gh_base64url((const unsigned char *)doc, len, out, outlen);
}

int
gh_app_jwt(const struct gh_app *a, time_t now, char *out, size_t outlen, char *err, size_t errlen)
{
	char head[128], body[256], iss[24];
	unsigned char sig[1024];
	size_t siglen = sizeof sig, n;
	EVP_MD_CTX *md = NULL;
	struct jw w;
	int rc = -1;

	if (jw_init(&w) < 0)
		goto fail;
	jw_obj(&w);
	jw_kv_str(&w, "alg", "RS256");
	jw_kv_str(&w, "typ", "JWT");
	jw_obj_end(&w);
	rc = json_part(&w, head, sizeof head);
	jw_free(&w);
	if (rc < 0 || jw_init(&w) < 0)
		goto fail;
	lb_snprintf(iss, sizeof iss, "%lld", a->id);
	jw_obj(&w);
	jw_kv_int(&w, "iat", (long long)now - 60);
	jw_kv_int(&w, "exp", (long long)now + 540);
	jw_kv_str(&w, "iss", iss);
	jw_obj_end(&w);
	rc = json_part(&w, body, sizeof body);
	jw_free(&w);
	if (rc < 0 || lb_snprintf(out, outlen, "%s.%s", head, body) < 0)
		goto fail;
	rc = -1;
	n = strlen(out);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, a->key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)out, n) != 1)
		goto fail;
	if (n + 1 >= outlen)
		goto fail;
	out[n] = '.';
	if (gh_base64url(sig, siglen, out + n + 1, outlen - n - 1) < 0)
		goto fail;
	rc = 0;
fail:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (rc < 0) {
		if (outlen)
			out[0] = '\0';
		lb_snprintf(err, errlen, "cannot sign the GitHub App JWT");
	}
	return rc;
}

const char *
gh_app_token(const struct gh_app *a, time_t now)
{
	if (a->token[0] == '\0' || a->expires_at - now <= GH_APP_RENEW_MARGIN)
		return NULL;
	return a->token;
}

int
gh_app_set_token(struct gh_app *a, const char *token, time_t expires_at)
{
	explicit_bzero(a->token, sizeof a->token);
	if (token == NULL || strlen(token) >= sizeof a->token || strpbrk(token, "\r\n ") != NULL)
		return -1;
	lb_strlcpy(a->token, token, sizeof a->token);
	a->expires_at = expires_at;
	a->issued++;
	return 0;
}

void
gh_app_drop_token(struct gh_app *a)
{
	explicit_bzero(a->token, sizeof a->token);
	a->expires_at = 0;
}

unsigned long
gh_app_tokens_issued(const struct gh_app *a)
{
	return a->issued;
}
