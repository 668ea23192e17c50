/*
 * period — the statistics periods of docs/REFERENCE.md, in UTC.
 *
 *   all                      everything
 *   year     value=2024      2024-01-01 .. 2024-12-31
 *   quarter  value=2024-Q1   2024-01-01 .. 2024-03-31 (Q1..Q4)
 *   month    value=2024-03   2024-03-01 .. 2024-03-31
 *   range    from=2024-03-05&to=2024-04-20   both days inclusive
 *
 * Contract:
 *  - period_parse() validates the query parameters (any may be NULL =
 *    absent). kind absent means "all"; value absent for year/quarter/month
 *    means the one containing `now`; range needs both from and to. Years
 *    are 1970..9999. On error it returns -1, *bad names the offending
 *    parameter ("period", "value", "from", "to") and msg says why; nothing
 *    else is allocated.
 *  - The result carries the inclusive days (from/to, "" for all), the
 *    half-open time interval [start, end) as "YYYY-MM-DD 00:00:00" strings
 *    for SQL, and, when the period is exactly one rollup bucket (all, a
 *    year, a quarter, a month — also a range that covers exactly one of
 *    them), grain 'A'/'Y'/'Q'/'M' and the bucket's first day; grain 0 for
 *    other ranges.
 *  - period_bucket() gives the bucket (first day) of a date for a grain.
 *  - Days, months and years are read and checked by lib/date.
 */
#ifndef LB_PERIOD_H
#define LB_PERIOD_H

#include <time.h>

enum period_kind { PERIOD_ALL, PERIOD_YEAR, PERIOD_QUARTER, PERIOD_MONTH, PERIOD_RANGE };

struct period {
	enum period_kind kind;
	char value[16];		/* "2024", "2024-Q1", "2024-03"; "" for all and range */
	char from[11], to[11];	/* inclusive days; "" for all */
	char start[24], end[24];	/* [start, end) for SQL; "" for all */
	char grain;		/* 'A', 'Y', 'Q', 'M' or 0 (an unaligned range) */
	char bucket[11];	/* the bucket's first day when grain != 0 */
};

int period_parse(const char *kind, const char *value, const char *from, const char *to,
    time_t now, struct period *out, const char **bad, char *msg, size_t msglen);

const char *period_kind_name(enum period_kind k);

/* Bucket of day y-m-d for grain 'A','Y','Q','M': writes "YYYY-MM-DD". */
void period_bucket(char grain, int y, int m, int d, char out[11]);
/*
 * Tiling a range with rollup buckets: the largest bucket (year, quarter,
 * month, else the day: 'Y', 'Q', 'M', 'D') that starts on day `at` and
 * ends on or before `to` (both "YYYY-MM-DD", at <= to); next gets the day
 * after it ("9999-12-32" after the last valid day). Walking from `from`
 * while next <= to gives at most 2 x (31 + 2 + 3) pieces plus the whole
 * years. Returns 0 (and next past every day) when `at` is not a date.
 */
char period_piece(const char *at, const char *to, char next[11]);

#endif
