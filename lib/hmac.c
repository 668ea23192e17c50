#include "hmac.h"
#include "buf.h"
#include "conf.h"
#include "http.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <string.h>

/* HMAC-SHA256(key, data) into out: 0, or -1 (out zeroed) when OpenSSL
 * cannot compute it. OpenSSL 3's HMAC() looks the algorithm up by name on
 * every call; the lookup is done once per process here. */
static int
hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[32])
{
	static EVP_MAC *mac;
	static const unsigned char empty;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx;
	size_t n = 0;
	int rc = 0;

	if (mac == NULL)
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (ctx == NULL || !EVP_MAC_init(ctx, key ? key : &empty, keylen, params) ||
	    !EVP_MAC_update(ctx, data ? data : &empty, len) ||
	    !EVP_MAC_final(ctx, out, &n, 32) || n != 32) {
		memset(out, 0, 32);
		rc = -1;
	}
	EVP_MAC_CTX_free(ctx);
	return rc;
}

static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hmac_verify(const struct conf_list *secrets, const char *header, const void *body,
    size_t len)
{
	unsigned char want[32], got[32];
	int ok = 0;

	if (header == NULL || secrets == NULL || secrets->n == 0)
		return 0;
	if (strncmp(header, "sha256=", 7) != 0 || strlen(header) != 7 + 64)
		return 0;
	for (int i = 0; i < 32; i++) {
		int hi = unhex((unsigned char)header[7 + 2 * i]);
		int lo = unhex((unsigned char)header[8 + 2 * i]);
		if (hi < 0 || lo < 0)
			return 0;
		want[i] = (unsigned char)(hi << 4 | lo);
	}
	for (size_t i = 0; i < secrets->n; i++) {
		/* a digest that could not be computed never matches */
		int computed = hmac_sha256(secrets->v[i], strlen(secrets->v[i]), body, len, got) == 0;
		ok |= computed & http_ct_equal(want, sizeof want, got, sizeof got);
	}
	return ok != 0;
}

void
hmac_github_signature(const char *secret, const void *body, size_t len, char *out,
    size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[32];
	char s[7 + 64 + 1];

	hmac_sha256(secret, strlen(secret), body, len, d);
	memcpy(s, "sha256=", 7);
	for (int i = 0; i < 32; i++) {
		s[7 + 2 * i] = hex[d[i] >> 4];
		s[8 + 2 * i] = hex[d[i] & 15];
	}
	s[sizeof s - 1] = '\0';
	lb_strlcpy(out, s, outlen);
}
