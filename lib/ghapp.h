/*
 * ghapp — GitHub App credentials: the private key, the JWT it signs, and the
 * installation access token lib/github exchanges it for.
 *
 * Contract:
 *  - gh_app_new() reads the PEM private key (RSA; PKCS#1 or PKCS#8, as GitHub
 *    hands it out) from key_file once. A file that cannot be opened or does
 *    not hold an RSA private key is an error naming the file (never its
 *    content). A key readable or writable by others is accepted with a
 *    warning in the log. installation_id 0 means "find it from org" (lib/
 *    github does that on first use).
 *  - gh_app_jwt() writes "header.payload.signature" (RS256, base64url without
 *    padding) with iat = now - 60 (GitHub's allowance for clock drift), exp =
 *    now + 540 (under GitHub's 10 minute maximum) and iss = the App id.
 *    Headers and payload are generated with yajl.
 *  - The installation token lives in the struct (token, expires_at) and is
 *    handed out by gh_app_token() while more than GH_APP_RENEW_MARGIN seconds
 *    are left; gh_app_set_token() stores a new one, gh_app_drop_token() forgets
 *    it (after a 401). Key and tokens are wiped from memory when replaced or
 *    freed and never written to a log line or an error message.
 *  - gh_base64url() is pure (unit-tested).
 */
#ifndef LB_GHAPP_H
#define LB_GHAPP_H

#include <stddef.h>
#include <time.h>

#define GH_APP_RENEW_MARGIN 120	/* seconds before expires_at a token is renewed */
#define GH_APP_JWT_MAX      2048
#define GH_APP_TOKEN_MAX    256

struct gh_app;

struct gh_app *gh_app_new(long long app_id, const char *key_file, long long installation_id,
    char *err, size_t errlen);
void        gh_app_free(struct gh_app *a);

long long   gh_app_id(const struct gh_app *a);
long long   gh_app_installation(const struct gh_app *a);	/* 0: not known yet */
void        gh_app_set_installation(struct gh_app *a, long long id);

int         gh_app_jwt(const struct gh_app *a, time_t now, char *out, size_t outlen,
    char *err, size_t errlen);

/* The cached installation token, or NULL when there is none or it expires
 * within GH_APP_RENEW_MARGIN seconds of now. */
const char *gh_app_token(const struct gh_app *a, time_t now);
/* Store token (expires at epoch expires_at); -1 when it is too long. */
int         gh_app_set_token(struct gh_app *a, const char *token, time_t expires_at);
void        gh_app_drop_token(struct gh_app *a);
unsigned long gh_app_tokens_issued(const struct gh_app *a);

/* base64url (RFC 4648 section 5) without padding; -1 when out is too small. */
int         gh_base64url(const unsigned char *in, size_t len, char *out, size_t outlen);

#endif
