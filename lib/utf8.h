/*
 * utf8 — strict UTF-8 (RFC 3629): exactly the text MariaDB's utf8mb4 stores.
 *
 * Contract:
 *  - utf8_valid(s, n) is 1 when the n bytes are well-formed UTF-8, else 0.
 *    Refused: overlong forms (C0 AF, E0 80 AF, F0 80 80 AF...), the
 *    surrogates U+D800-DFFF (ED A0 80 - ED BF BF), anything above U+10FFFF
 *    (F4 90 80 80 and up, F5-FF), sequences cut short, continuation bytes
 *    without a lead byte. NUL is a valid character (callers that want C
 *    strings reject it themselves).
 *  - utf8_cut(s, n, max) is the length of the longest prefix of the n bytes
 *    s that is at most max bytes long and does not end inside a character:
 *    n when n <= max. For valid UTF-8 the prefix is valid UTF-8.
 *  - utf8_copy(dst, dstlen, s, max) copies the C string s into dst
 *    (dstlen > 0), cut with utf8_cut to at most max and dstlen - 1 bytes,
 *    NUL-terminated; returns the bytes copied. The one helper for fitting a
 *    string into a column width.
 */
#ifndef LB_UTF8_H
#define LB_UTF8_H

#include <stddef.h>

int    utf8_valid(const char *s, size_t n);
size_t utf8_cut(const char *s, size_t n, size_t max);
size_t utf8_copy(char *dst, size_t dstlen, const char *s, size_t max);

#endif
