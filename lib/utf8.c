/* utf8 — strict validation and cutting at character boundaries (utf8.h). */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

/*
 * Well-formed sequences (RFC 3629, Table 3-7 of the Unicode standard):
 *   00-7F
 *   C2-DF 80-BF
 *   E0    A0-BF 80-BF
 *   E1-EC 80-BF 80-BF
 *   ED    80-9F 80-BF        (not the surrogates A0-BF)
 *   EE-EF 80-BF 80-BF
 *   F0    90-BF 80-BF 80-BF
 *   F1-F3 80-BF 80-BF 80-BF
 *   F4    80-8F 80-BF 80-BF  (nothing above U+10FFFF)
 */
int
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + n;

	while (s < end) {
		unsigned char c = *s, lo = 0x80, hi = 0xBF;
		size_t len;

		if (c < 0x80) {
			/* ASCII runs, a word at a time */
			while (end - s >= 8) {
				uint64_t w;
				memcpy(&w, s, 8);
				if (w & 0x8080808080808080ULL)
					break;
				s += 8;
			}
			while (s < end && *s < 0x80)
				s++;
			continue;
		}
		if (c < 0xC2)
			return 0;	/* continuation byte without lead, or overlong C0/C1 */
		if (c < 0xE0)
			len = 2;
		else if (c < 0xF0) {
			len = 3;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c < 0xF5) {
			len = 4;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else
			return 0;
		if ((size_t)(end - s) < len || s[1] < lo || s[1] > hi)
			return 0;
		for (size_t i = 2; i < len; i++)
			if ((s[i] & 0xC0) != 0x80)
				return 0;
		s += len;
	}
	return 1;
}

size_t
utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	/* s[max] exists: back off while it continues the character before it */
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

size_t
utf8_copy(char *dst, size_t dstlen, const char *s, size_t max)
{
	size_t n;

	if (max > dstlen - 1)
		max = dstlen - 1;
	n = strnlen(s, max + 1);
	n = utf8_cut(s, n, max);
	memcpy(dst, s, n);
	dst[n] = '\0';
	return n;
}
