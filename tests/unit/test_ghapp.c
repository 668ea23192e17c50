/* Unit tests of lib/ghapp: base64url (RFC 4648 vectors), the App's key file
 * (missing, not a key, not RSA), the JWT's claims and RS256 signature
 * (checked with libcrypto against the key's public half), and when a cached
 * installation token counts as too old. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "buf.h"
#include "ghapp.h"
#include "json.h"

static char tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	lb_strlcpy(tmpdir, "/tmp/lb-ghapp-XXXXXX", sizeof tmpdir);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	lb_snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* a fresh key of the given type written as PEM; returns it (caller frees) */
static EVP_PKEY *
key_file(const char *path, int rsa)
{
	EVP_PKEY *k = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	FILE *f = fopen(path, "w");

	assert_non_null(k);
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	chmod(path, 0600);
	return k;
}

/* base64url -> bytes (test-side decoder, independent of gh_base64url) */
static size_t
unb64url(const char *s, size_t n, unsigned char *out)
{
	char buf[4096];
	size_t m = 0;
	int len;

	assert_true(n + 4 < sizeof buf);
	for (size_t i = 0; i < n; i++)
		buf[m++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (m % 4)
		buf[m++] = '=';
	buf[m] = '\0';
	len = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)m);
	assert_true(len >= 0);
	/* EVP_DecodeBlock counts padding bytes as zeros */
	for (size_t i = m; i > 0 && buf[i - 1] == '='; i--)
		len--;
	return (size_t)len;
}

static void
test_base64url(void **state)
{
	static const struct { const char *in; const char *out; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
		{ "\xfb\xff", "-_8" }, { "\xff\xfe\xfd", "__79" },
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		assert_int_equal(gh_base64url((const unsigned char *)v[i].in, strlen(v[i].in), out, sizeof out), 0);
		assert_string_equal(out, v[i].out);
	}
	assert_int_equal(gh_base64url((const unsigned char *)"foobar", 6, out, 8), -1);
}

static void
test_key_errors(void **state)
{
	char path[128], err[256];
	EVP_PKEY *k;

	(void)state;
	lb_snprintf(path, sizeof path, "%s/missing.pem", tmpdir);
	assert_null(gh_app_new(1, path, 0, err, sizeof err));
	assert_non_null(strstr(err, "cannot open"));
	assert_non_null(strstr(err, "missing.pem"));

	lb_snprintf(path, sizeof path, "%s/garbage.pem", tmpdir);
	write_file(path, "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0IGJ5dGVz\n-----END RSA PRIVATE KEY-----\n", 0600);
	assert_null(gh_app_new(1, path, 0, err, sizeof err));
	assert_non_null(strstr(err, "not a PEM private key"));
	assert_null(strstr(err, "c2VjcmV0"));	/* never the content */

	lb_snprintf(path, sizeof path, "%s/ec.pem", tmpdir);
	k = key_file(path, 0);
	EVP_PKEY_free(k);
	assert_null(gh_app_new(1, path, 0, err, sizeof err));
	assert_non_null(strstr(err, "not an RSA key"));

	assert_null(gh_app_new(0, path, 0, err, sizeof err));
	assert_null(gh_app_new(1, NULL, 0, err, sizeof err));
}

static void
test_jwt(void **state)
{
	char path[128], err[256], jwt[GH_APP_JWT_MAX];
	unsigned char raw[2048];
	const char *dot1, *dot2;
	struct gh_app *a;
	EVP_PKEY *k;
	EVP_MD_CTX *md;
	json_val v;
	size_t n;
	time_t now = 1700000000;

	(void)state;
	lb_snprintf(path, sizeof path, "%s/app.pem", tmpdir);
	k = key_file(path, 1);
	a = gh_app_new(31337, path, 0, err, sizeof err);
	assert_non_null(a);
	assert_int_equal(gh_app_id(a), 31337);
	assert_int_equal(gh_app_installation(a), 0);
	assert_int_equal(gh_app_jwt(a, now, jwt, sizeof jwt, err, sizeof err), 0);

	dot1 = strchr(jwt, '.');
	assert_non_null(dot1);
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	assert_null(strchr(dot2 + 1, '.'));
	assert_null(strpbrk(jwt, "=+/"));

	n = unb64url(jwt, (size_t)(dot1 - jwt), raw);
	raw[n] = '\0';
	v = json_parse((const char *)raw, n, 8, 4096, NULL, 0);
	assert_non_null(v);
	assert_string_equal(json_str(v, "alg"), "RS256");
	assert_string_equal(json_str(v, "typ"), "JWT");
	json_free(v);

	n = unb64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), raw);
	raw[n] = '\0';
	v = json_parse((const char *)raw, n, 8, 4096, NULL, 0);
	assert_non_null(v);
	assert_int_equal(json_ll(v, "iat", 0), now - 60);
	assert_int_equal(json_ll(v, "exp", 0), now + 540);
	assert_string_equal(json_str(v, "iss"), "31337");
	json_free(v);

	/* RS256 over "header.payload", verified with the public half */
	n = unb64url(dot2 + 1, strlen(dot2 + 1), raw);
	assert_int_equal(n, 256);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestVerify(md, raw, n, (const unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
	/* and a changed payload does not verify */
	jwt[dot1 - jwt + 3] ^= 1;
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_not_equal(EVP_DigestVerify(md, raw, n, (const unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
	EVP_MD_CTX_free(md);

	EVP_PKEY_free(k);
	gh_app_free(a);
}

static void
test_token_cache(void **state)
{
	char path[128], err[256], big[GH_APP_TOKEN_MAX + 8];
	struct gh_app *a;
	EVP_PKEY *k;
	time_t now = 1700000000;

	(void)state;
	lb_snprintf(path, sizeof path, "%s/tok.pem", tmpdir);
	k = key_file(path, 1);
	EVP_PKEY_free(k);
	a = gh_app_new(7, path, 99, err, sizeof err);
	assert_non_null(a);
	assert_int_equal(gh_app_installation(a), 99);
	assert_null(gh_app_token(a, now));	/* none yet */

	assert_int_equal(gh_app_set_token(a, "ghs_one", now + 3600), 0);
	assert_string_equal(gh_app_token(a, now), "ghs_one");
	/* kept until GH_APP_RENEW_MARGIN seconds before it expires */
	assert_non_null(gh_app_token(a, now + 3600 - GH_APP_RENEW_MARGIN - 1));
	assert_null(gh_app_token(a, now + 3600 - GH_APP_RENEW_MARGIN));
	assert_int_equal(gh_app_tokens_issued(a), 1);

	gh_app_drop_token(a);	/* after a 401 */
	assert_null(gh_app_token(a, now));

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(gh_app_set_token(a, big, now + 3600), -1);
	assert_int_equal(gh_app_set_token(a, "two\r\nX-Evil: 1", now + 3600), -1);
	assert_null(gh_app_token(a, now));
	gh_app_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64url),
		cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_jwt),
		cmocka_unit_test(test_token_cache),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
