/* Byte sequences MariaDB's utf8mb4 refuses (test_utf8, test_json). */
#ifndef UTF8_CASES_H
#define UTF8_CASES_H

/* What MariaDB's utf8mb4 refuses, as raw bytes and as escapes. */
static const struct {
	const char *name, *bytes;
} bad_utf8[] = {
	{ "overlong '/' (C0 AF)", "\xc0\xaf" },
	{ "overlong NUL (C0 80)", "\xc0\x80" },
	{ "overlong C1 BF", "\xc1\xbf" },
	{ "overlong 3-byte (E0 80 AF)", "\xe0\x80\xaf" },
	{ "overlong 3-byte (E0 9F BF)", "\xe0\x9f\xbf" },
	{ "overlong 4-byte (F0 80 80 AF)", "\xf0\x80\x80\xaf" },
	{ "overlong 4-byte (F0 8F BF BF)", "\xf0\x8f\xbf\xbf" },
	{ "surrogate U+D800 (ED A0 80)", "\xed\xa0\x80" },
	{ "surrogate U+DFFF (ED BF BF)", "\xed\xbf\xbf" },
	{ "surrogate pair, CESU-8", "\xed\xa0\xbd\xed\xb8\x80" },
	{ "above U+10FFFF (F4 90 80 80)", "\xf4\x90\x80\x80" },
	{ "F5 lead byte", "\xf5\x80\x80\x80" },
	{ "F8 5-byte form", "\xf8\x88\x80\x80\x80" },
	{ "FF", "\xff" },
	{ "FE", "\xfe" },
	{ "truncated 2-byte", "\xc3" },
	{ "truncated 3-byte", "\xe2\x82" },
	{ "truncated 4-byte", "\xf0\x9f\x98" },
	{ "truncated then ASCII", "\xe2\x82z" },
	{ "stray continuation", "\x80" },
	{ "stray continuation after ASCII", "abc\xbf" },
	{ "two continuations after a 2-byte", "\xc3\xa9\xa9" },
};

static const char *const bad_escapes[] = {
	"\\ud800", "\\uD800x", "\\uDBFF", "\\ud800\\u0041", "\\ud800\\ud800", "\\udc00",
	"\\uDFFF\\uD800", "x\\ud83d", "\\ud83d\\n", "\\ud83d\\\\ude00",
};

#endif
