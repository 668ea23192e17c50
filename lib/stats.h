/*
 * stats — the statistics queries of the JSON API, answered from the
 * rollups of lib/rollup (docs/STATS.md). docs/REFERENCE.md "Statistics:
 * definitions" and "JSON API" are the specification.
 *
 * Contract:
 *  - Periods that are one rollup bucket (all, a year, a quarter, a month)
 *    read the counters of that bucket: the work is proportional to the
 *    number of teams / authors in the answer, never to the number of PRs.
 *    Other ranges sum the buckets that tile them (period_piece(): whole
 *    years, quarters, months, and the days at the edges): proportional to
 *    the rows of those buckets, never to the PRs.
 *  - struct stats_env carries what the queries need from the config:
 *    excluded team slugs (comma-joined, lower case), merged_points, the
 *    web base URL for search links ("https://github.com") and the avatar
 *    URL prefixes ([github] avatar_hosts).
 *  - Every "avatar_url" written is one that stats_avatar_ok() accepts, else
 *    null: a stored URL of another host (a payload can carry any URL) never
 *    reaches a browser, whenever it was stored.
 *  - stats_board() fills a leaderboard (ranked teams sorted by `sort`,
 *    ties by name, then id; totals over distinct PRs and members). The
 *    caller frees it with stats_board_free() (the strings of its rows
 *    point into result sets the board owns). Returns 0 or -1 (database).
 *    stats_board_for() is the same, but fetches the labels of one team
 *    only (labels_of; 0 = all; every team's for SORT_POINTS, which ranks
 *    by them) and leaves the totals at zero: the team drill-down needs
 *    only its own team's row and rank.
 *  - The stats_*_json() functions write one JSON value into w (the caller
 *    opened the enclosing object); they return 0, -1 on a database error.
 *  - stats_team_find() resolves a ranked team's slug: 1 found, 0 unknown,
 *    -1 database error.
 */
#ifndef LB_STATS_H
#define LB_STATS_H

#include <stddef.h>

struct buf;
struct conf_list;
struct db;
struct db_res;
struct jw;
struct period;

enum stats_sort { SORT_MERGED, SORT_CREATED, SORT_POINTS, SORT_REJECTED };

struct stats_env {
	const char *exclude;		/* "slug1,slug2" */
	long long   merged_points;
	const char *web;		/* "https://github.com" */
	const struct conf_list *avatar_hosts;	/* URL prefixes ending in '/'; NULL: none */
};

struct stats_label {
	char     *name, *color;	/* color may be NULL */
	long long count, points;
	size_t    ord;		/* row of the query (ties keep the name order) */
};

struct stats_team {
	unsigned long long id;
	char     *slug, *name;
	long long rank, members, created, merged, rejected, open, partner_created,
	          oss_created, points;
	struct stats_label *labels;
	size_t    nlabels;
};

struct stats_board {
	struct stats_team  totals;	/* slug/name NULL; rank = number of teams */
	struct stats_team *teams;
	size_t             n;
	struct db_res     *res[5];	/* the result sets the strings point into */
};

/* Parses "merged"/"created"/"points"/"rejected"; -1 otherwise. */
int  stats_sort_parse(const char *s, enum stats_sort *out);
const char *stats_sort_name(enum stats_sort s);

int  stats_board(struct db *db, const struct stats_env *env, const struct period *p,
    enum stats_sort sort, struct stats_board *out);
int  stats_board_for(struct db *db, const struct stats_env *env, const struct period *p,
    enum stats_sort sort, unsigned long long labels_of, struct stats_board *out);
void stats_board_free(struct stats_board *b);

/* The "period" object. */
void stats_period_json(struct jw *w, const struct period *p);
/* One leaderboard row (as in "teams"); with_members_count 0 leaves out
 * "members" (the team drill-down puts its list there). */
void stats_team_json(struct jw *w, const struct stats_team *t, int with_members_count);
/* The board as CSV (RFC 4180, CRLF, header row). Text cells are always
 * quoted and safe for spreadsheets whatever field separator the reader
 * splits on (docs/STATS.md "CSV"): where the cell starts, and after each
 * ',' ';' '|' TAB CR or LF inside it, a formula start (= + - @ or their
 * full-width forms, after blanks and quotes) or a TAB, CR or LF gets a "'"
 * before it. Numbers are written bare. */
int  stats_board_csv(const struct stats_board *b, size_t limit, struct buf *out);
/* 1 when url may be shown as an avatar: it starts with one of
 * env->avatar_hosts (ASCII case-insensitively), has something after the
 * prefix, is at most 512 bytes and has no blank, control character,
 * quote, backslash or angle bracket. */
int  stats_avatar_ok(const struct stats_env *env, const char *url);
/* One CSV cell of the same rules (a ',' before it unless first; NULL is
 * empty), for the other CSV answers. 0 or -1 (out of memory). */
int  stats_csv_field(struct buf *b, const char *s, int first);

int  stats_team_find(struct db *db, const struct stats_env *env, const char *slug,
    unsigned long long *id);
/* "members": [...] of a team drill-down, sorted like the leaderboard
 * (points sorts by merged), ties by login. */
int  stats_team_members_json(struct db *db, const struct stats_env *env,
    const struct period *p, unsigned long long team_id, enum stats_sort sort, struct jw *w);
/* "contributors": [...]; team_id 0 = every counted author. sort must not
 * be SORT_POINTS. */
int  stats_contributors_json(struct db *db, const struct stats_env *env,
    const struct period *p, unsigned long long team_id, enum stats_sort sort, long long limit,
    struct jw *w);
/* "months": [...], "rows": {...} of the monthly statistics. */
int  stats_monthly_json(struct db *db, int year, unsigned long long team_id, struct jw *w);
/* "months", "quarters", "years" (newest first), up to `today` (YYYY-MM-DD). */
int  stats_periods_json(struct db *db, const char *today, struct jw *w);

#endif
