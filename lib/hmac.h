/*
 * hmac — GitHub webhook signatures (X-Hub-Signature-256).
 *
 * Contract:
 *  - hmac_verify() checks a header value "sha256=<64 hex digits>" against
 *    the HMAC of the raw body under each secret of the list. Every secret is
 *    tried (no early exit, constant-time compares), so the time taken does
 *    not tell which secret matched or how much of the digest was right.
 *    Returns 1 when one secret matches, 0 otherwise (a NULL, "sha1=..." or
 *    malformed header, truncated or non-hex digits, or no secret at all).
 */
#ifndef LB_HMAC_H
#define LB_HMAC_H

#include <stddef.h>

struct conf_list;

int  hmac_verify(const struct conf_list *secrets, const char *header, const void *body,
    size_t len);
/* "sha256=" + lowercase hex of the HMAC, into out (at least 72 bytes). */
void hmac_github_signature(const char *secret, const void *body, size_t len, char *out,
    size_t outlen);

#endif
