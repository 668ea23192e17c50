/*
 * date — the one home of calendar arithmetic and time text: UTC, the
 * Gregorian calendar, years 1970..9999.
 *
 * Texts:
 *   day       "YYYY-MM-DD"                       2024-02-29
 *   month     "YYYY-MM"                          2024-02
 *   SQL time  "YYYY-MM-DD HH:MM:SS"              what MariaDB's DATETIME columns hold
 *   ISO time  "YYYY-MM-DDTHH:MM:SS[.f...][Z|+hh:mm|-hh:mm]"  (GitHub's; a blank may
 *             stand for the T, no zone means UTC)
 *
 * Contract:
 *  - date_leap(y): 1 for a leap year (divisible by 4, not by 100 unless by 400).
 *    date_days_in_month(y, m): 28..31, or 0 when m is not 1..12.
 *  - The parsers take exactly their text (fixed widths, ASCII digits, nothing
 *    before or after), check the calendar (no 2023-02-29, no month 13) and the
 *    year range, and return 0 with the fields set, or -1 (NULL is malformed;
 *    the fields are then unspecified). Nothing is allocated.
 *  - date_month_index(s): the month of a text that starts "YYYY-MM" and ends
 *    there or goes on with '-' (a day or an SQL time) as y * 12 + (m - 1); -1
 *    when malformed. date_month_key() writes "YYYY-MM" (outlen >= 8).
 *  - date_epoch(iso): the ISO (or SQL) time as seconds since 1970-01-01 UTC,
 *    the zone offset applied; -1 when malformed or outside 1970..9999.
 *    date_from_iso(): the same instant as an SQL time (UTC, the fraction
 *    dropped); 0, or -1 (malformed, or out too small).
 *  - date_sql(t): writes the SQL time of epoch t (out at least 20 bytes).
 *  - DATE_SQL_ISO(col): the SQL expression that reads a DATETIME column as
 *    "YYYY-MM-DDTHH:MM:SSZ" (NULL stays NULL), the form every listing gives.
 */
#ifndef LB_DATE_H
#define LB_DATE_H

#include <stddef.h>
#include <time.h>

#define DATE_MIN_YEAR 1970
#define DATE_MAX_YEAR 9999

#define DATE_SQL_ISO(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

int    date_leap(int y);
int    date_days_in_month(int y, int m);

int    date_parse_year(const char *s, int *y);			/* "YYYY" */
int    date_parse_month(const char *s, int *y, int *m);		/* "YYYY-MM" */
int    date_parse_day(const char *s, int *y, int *m, int *d);	/* "YYYY-MM-DD" */

int    date_month_index(const char *s);
void   date_month_key(char *out, size_t outlen, int y, int m);

time_t date_epoch(const char *iso);
int    date_from_iso(const char *iso, char *out, size_t outlen);
void   date_sql(time_t t, char *out, size_t outlen);

#endif
