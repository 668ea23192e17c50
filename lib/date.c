#include "date.h"
#include "buf.h"

#include <string.h>

#define MAX_EPOCH 253402300799LL	/* 9999-12-31 23:59:59 */

int
date_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
date_days_in_month(int y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m < 1 || m > 12)
		return 0;
	return dm[m - 1] + (m == 2 && date_leap(y));
}

/* The n ASCII digits at s as a number in *out; -1 when one is not a digit. */
static int
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "YYYY-MM" at the start of s (what follows is the caller's). */
static int
month_prefix(const char *s, int *y, int *m)
{
	if (digits(s, 4, y) < 0 || s[4] != '-' || digits(s + 5, 2, m) < 0)
		return -1;
	return *y >= DATE_MIN_YEAR && *m >= 1 && *m <= 12 ? 0 : -1;
}

int
date_parse_year(const char *s, int *y)
{
	if (s == NULL || strlen(s) != 4 || digits(s, 4, y) < 0)
		return -1;
	return *y >= DATE_MIN_YEAR ? 0 : -1;
}

int
date_parse_month(const char *s, int *y, int *m)
{
	if (s == NULL || strlen(s) != 7)
		return -1;
	return month_prefix(s, y, m);
}

int
date_parse_day(const char *s, int *y, int *m, int *d)
{
	if (s == NULL || strlen(s) != 10 || month_prefix(s, y, m) < 0 || s[7] != '-' ||
	    digits(s + 8, 2, d) < 0)
		return -1;
	return *d >= 1 && *d <= date_days_in_month(*y, *m) ? 0 : -1;
}

int
date_month_index(const char *s)
{
	int y, m;

	if (s == NULL || strlen(s) < 7 || month_prefix(s, &y, &m) < 0)
		return -1;
	if (s[7] != '\0' && s[7] != '-')
		return -1;
	return y * 12 + m - 1;
}

void
date_month_key(char *out, size_t outlen, int y, int m)
{
	(void)lb_snprintf(out, outlen, "%04d-%02d", y, m);
}

/* Days since 1970-01-01 of a valid civil date (Howard Hinnant's algorithm). */
static long long
days_from_civil(long y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (long long)era * 146097 + doe - 719468;
}

/* The optional fraction and zone after the seconds: 0 with the offset in
 * seconds east of UTC, or -1. */
static int
zone(const char *p, long long *offset)
{
	int oh, om;

	*offset = 0;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (digits(p + 1, 2, &oh) < 0 || p[3] != ':' || digits(p + 4, 2, &om) < 0 ||
		    oh > 23 || om > 59)
			return -1;
		*offset = (*p == '+' ? 1 : -1) * (oh * 3600LL + om * 60);
		p += 6;
	}
	return *p == '\0' ? 0 : -1;
}

static int
parse_iso(const char *iso, long long *out)
{
	int y, mo, d, h, mi, s;
	long long t, offset;
	size_t n;

	if (iso == NULL || (n = strlen(iso)) < 19 || n > 40)
		return -1;
	if (month_prefix(iso, &y, &mo) < 0 || iso[7] != '-' || digits(iso + 8, 2, &d) < 0 ||
	    (iso[10] != 'T' && iso[10] != ' ') || digits(iso + 11, 2, &h) < 0 ||
	    iso[13] != ':' || digits(iso + 14, 2, &mi) < 0 || iso[16] != ':' ||
	    digits(iso + 17, 2, &s) < 0)
		return -1;
	if (d < 1 || d > date_days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
		return -1;
	if (zone(iso + 19, &offset) < 0)
		return -1;
	t = days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60 + s - offset;
	if (t < 0 || t > MAX_EPOCH)
		return -1;
	*out = t;
	return 0;
}

time_t
date_epoch(const char *iso)
{
	long long t;

	return parse_iso(iso, &t) < 0 ? (time_t)-1 : (time_t)t;
}

int
date_from_iso(const char *iso, char *out, size_t outlen)
{
	long long t;
	struct tm tm;
	time_t tt;

	if (parse_iso(iso, &t) < 0)
		return -1;
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return -1;
	return 0;
}

void
date_sql(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (gmtime_r(&t, &tm) != NULL)
		(void)strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
}
