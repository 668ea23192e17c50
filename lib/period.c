#include "period.h"
#include "buf.h"
#include "date.h"

#include <stdio.h>
#include <string.h>

static int
parse_quarter(const char *s, int *y, int *q)
{
	char year[5];

	if (s == NULL || strlen(s) != 7 || s[4] != '-' || s[5] != 'Q' || s[6] < '1' || s[6] > '4')
		return 0;
	memcpy(year, s, 4);
	year[4] = '\0';
	*q = s[6] - '0';
	return date_parse_year(year, y) == 0;
}

static void
day(char out[11], int y, int m, int d)
{
	(void)lb_snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static void
stamp(char out[24], int y, int m, int d)
{
	(void)lb_snprintf(out, 24, "%04d-%02d-%02d 00:00:00", y, m, d);
}

/* The day after y-m-d (may be 10000-01-01). */
static void
next_day(int *y, int *m, int *d)
{
	if (++*d > date_days_in_month(*y, *m)) {
		*d = 1;
		if (++*m > 12) {
			*m = 1;
			++*y;
		}
	}
}

void
period_bucket(char grain, int y, int m, int d, char out[11])
{
	(void)d;
	switch (grain) {
	case 'Y': day(out, y, 1, 1); break;
	case 'Q': day(out, y, (m - 1) / 3 * 3 + 1, 1); break;
	case 'M': day(out, y, m, 1); break;
	default: lb_strlcpy(out, "1970-01-01", 11); break;
	}
}

const char *
period_kind_name(enum period_kind k)
{
	switch (k) {
	case PERIOD_ALL: return "all";
	case PERIOD_YEAR: return "year";
	case PERIOD_QUARTER: return "quarter";
	case PERIOD_MONTH: return "month";
	case PERIOD_RANGE: return "range";
	}
	return "all";
}

/* Fill from/to/start/end for the days [y1-m1-d1, y2-m2-d2]. */
static void
span(struct period *p, int y1, int m1, int d1, int y2, int m2, int d2)
{
	day(p->from, y1, m1, d1);
	day(p->to, y2, m2, d2);
	stamp(p->start, y1, m1, d1);
	next_day(&y2, &m2, &d2);
	stamp(p->end, y2, m2, d2);
}

static int
fail(const char **bad, const char *param, char *msg, size_t msglen, const char *text)
{
	*bad = param;
	(void)lb_snprintf(msg, msglen, "%s: %s", param, text);
	return -1;
}

int
period_parse(const char *kind, const char *value, const char *from, const char *to,
    time_t now, struct period *p, const char **bad, char *msg, size_t msglen)
{
	struct tm tm;
	int y, m, d, q, y2, m2, d2;

	memset(p, 0, sizeof *p);
	gmtime_r(&now, &tm);
	if (kind == NULL || *kind == '\0' || strcmp(kind, "all") == 0) {
		p->kind = PERIOD_ALL;
		p->grain = 'A';
		lb_strlcpy(p->bucket, "1970-01-01", sizeof p->bucket);
		return 0;
	}
	if (strcmp(kind, "year") == 0) {
		if (value == NULL || *value == '\0')
			y = tm.tm_year + 1900;
		else if (date_parse_year(value, &y) < 0)
			return fail(bad, "value", msg, msglen, "expected a year such as 2024");
		p->kind = PERIOD_YEAR;
		(void)lb_snprintf(p->value, sizeof p->value, "%04d", y);
		span(p, y, 1, 1, y, 12, 31);
		p->grain = 'Y';
		period_bucket('Y', y, 1, 1, p->bucket);
		return 0;
	}
	if (strcmp(kind, "quarter") == 0) {
		if (value == NULL || *value == '\0') {
			y = tm.tm_year + 1900;
			q = tm.tm_mon / 3 + 1;
		} else if (!parse_quarter(value, &y, &q))
			return fail(bad, "value", msg, msglen, "expected a quarter such as 2024-Q1");
		p->kind = PERIOD_QUARTER;
		(void)lb_snprintf(p->value, sizeof p->value, "%04d-Q%d", y, q);
		m = (q - 1) * 3 + 1;
		span(p, y, m, 1, y, m + 2, date_days_in_month(y, m + 2));
		p->grain = 'Q';
		period_bucket('Q', y, m, 1, p->bucket);
		return 0;
	}
	if (strcmp(kind, "month") == 0) {
		if (value == NULL || *value == '\0') {
			y = tm.tm_year + 1900;
			m = tm.tm_mon + 1;
		} else if (date_parse_month(value, &y, &m) < 0)
			return fail(bad, "value", msg, msglen, "expected a month such as 2024-03");
		p->kind = PERIOD_MONTH;
		date_month_key(p->value, sizeof p->value, y, m);
		span(p, y, m, 1, y, m, date_days_in_month(y, m));
		p->grain = 'M';
		period_bucket('M', y, m, 1, p->bucket);
		return 0;
	}
	if (strcmp(kind, "range") == 0) {
		if (from == NULL || *from == '\0')
			return fail(bad, "from", msg, msglen, "required for period=range (YYYY-MM-DD)");
		if (date_parse_day(from, &y, &m, &d) < 0)
			return fail(bad, "from", msg, msglen, "expected a date such as 2024-03-01");
		if (to == NULL || *to == '\0')
			return fail(bad, "to", msg, msglen, "required for period=range (YYYY-MM-DD)");
		if (date_parse_day(to, &y2, &m2, &d2) < 0)
			return fail(bad, "to", msg, msglen, "expected a date such as 2024-03-31");
		if (strcmp(from, to) > 0)
			return fail(bad, "from", msg, msglen, "must not be after to");
		p->kind = PERIOD_RANGE;
		span(p, y, m, d, y2, m2, d2);
		/* exactly one bucket? then the rollups answer it */
		if (d == 1 && y == y2 && d2 == date_days_in_month(y2, m2)) {
			if (m == 1 && m2 == 12)
				p->grain = 'Y';
			else if (m == m2)
				p->grain = 'M';
			else if ((m - 1) % 3 == 0 && m2 == m + 2)
				p->grain = 'Q';
			if (p->grain)
				period_bucket(p->grain, y, m, 1, p->bucket);
		}
		return 0;
	}
	return fail(bad, "period", msg, msglen, "expected all, year, quarter, month or range");
}

/* Day y-m-d plus the whole bucket of grain g starting there: the day after
 * its last day into out. */
static void
after_bucket(char g, int y, int m, int d, char out[11])
{
	int n = g == 'Y' ? 12 : g == 'Q' ? 3 : g == 'M' ? 1 : 0;

	if (n == 0)
		next_day(&y, &m, &d);
	else {
		m += n;
		if (m > 12) {
			m -= 12;
			y++;
		}
		d = 1;
	}
	if (y > 9999)
		lb_strlcpy(out, "9999-12-32", 11);	/* after every valid day */
	else
		day(out, y, m, d);
}

char
period_piece(const char *at, const char *to, char next[11])
{
	static const char order[3] = { 'Y', 'Q', 'M' };
	char after[11], last[11];
	int y, m, d;

	if (date_parse_day(at, &y, &m, &d) < 0) {
		lb_strlcpy(next, "9999-12-31", 11);
		return 0;
	}
	for (int i = 0; i < 3 && d == 1; i++) {
		char g = order[i];
		if ((g == 'Y' && m != 1) || (g == 'Q' && (m - 1) % 3 != 0))
			continue;
		after_bucket(g, y, m, d, after);
		/* the bucket's last day: the day before `after`, i.e. the end
		 * of the month before it */
		{
			int ly = y, lm = m + (g == 'Y' ? 11 : g == 'Q' ? 2 : 0);
			if (lm > 12) {
				lm -= 12;
				ly++;
			}
			day(last, ly, lm, date_days_in_month(ly, lm));
		}
		if (strcmp(last, to) <= 0) {
			lb_strlcpy(next, after, 11);
			return g;
		}
	}
	after_bucket('D', y, m, d, next);
	return 'D';
}
