/*
 * conf — the leaderboard configuration file (INI), see conf/leaderboard.conf.example.
 *
 * Contract:
 *  - conf_load() reads FILE into a zero-initialised struct conf after filling
 *    every key with its default. Sections and keys are fixed by one table in
 *    conf.c; an unknown section or key, a bad value, a duplicate key, a line
 *    that is not "key = value" / "[section]" / comment, or a missing required
 *    key is an error: conf_load() returns -1 and writes one line naming the
 *    file, the line number and the key into err ("leaderboard.conf:12:
 *    [sync] teams_every: bad duration 'soon' (use e.g. 30s, 15m, 6h, 1d)").
 *  - Comments start with ';' or '#' at the start of a line (after blanks), or
 *    after a blank inside a value (" ; comment"). Values may be "quoted".
 *  - Durations are seconds in the struct ("15m" -> 900); sizes are bytes
 *    ("25M" -> 26214400); lists are comma-separated, blanks trimmed, empty
 *    items dropped.
 *  - [database] hosts, when set, wins over host/port/socket: a list of
 *    cluster nodes (Galera), each "HOST", "HOST:PORT" ([database] port when
 *    none), "[V6]:PORT" or a Unix socket path ("/..."), at most
 *    CONF_DB_HOSTS_MAX; lib/db connects to the first reachable one.
 *  - [github] avatar_hosts is a list of URL prefixes, each stored ending
 *    with '/'. Unset, it is CONF_GITHUB_AVATAR_HOSTS plus, when api_url is
 *    a GitHub Enterprise one (SCHEME://HOST/api/v3), SCHEME://HOST/avatars/
 *    and SCHEME://avatars.HOST/.
 *  - conf_path() picks the file: the --config argument, else $LB_CONFIG,
 *    else /etc/leaderboard/leaderboard.conf.
 *  - conf_free() releases everything conf_load() allocated.
 */
#ifndef LB_CONF_H
#define LB_CONF_H

#include <stddef.h>

#define CONF_DEFAULT_PATH "/etc/leaderboard/leaderboard.conf"
/* github.com's avatar hosts (the numbered ones appear in older payloads) */
#define CONF_GITHUB_AVATAR_HOSTS "https://avatars.githubusercontent.com/, " \
	"https://avatars0.githubusercontent.com/, https://avatars1.githubusercontent.com/, " \
	"https://avatars2.githubusercontent.com/, https://avatars3.githubusercontent.com/"

#define CONF_DB_HOSTS_MAX 16

struct conf_list {
	char  **v;
	size_t  n;
};

struct conf {
	char *path;
	/* [database] */
	char *db_host;
	long long db_port;
	char *db_socket;
	char *db_user;
	char *db_password;
	char *db_name;
	struct conf_list db_hosts;	/* [database] hosts: cluster nodes, in order of preference */
	long long db_timeout;	/* seconds: connect, and each read/write of bounded handles (lib/db) */
	/* [github] */
	char *gh_api_url;
	char *gh_token;
	long long gh_app_id;		/* 0: no GitHub App */
	char *gh_app_key_file;
	long long gh_app_installation_id;	/* 0: found from partner_org */
	struct conf_list webhook_secrets;
	char *partner_org;
	struct conf_list repositories;	/* "owner/name", as written */
	struct conf_list exclude_teams;	/* team slugs */
	struct conf_list avatar_hosts;	/* URL prefixes avatar_url may start with */
	/* [sync] (seconds) */
	long long teams_every;
	long long prs_every;
	long long integrity_every;
	long long import_prs;		/* a full walk with more PRs ahead: one rebuild at its end */
	/* [scoring] */
	long long merged_points;
	/* [api] */
	char *admin_token;
	/* [hook] */
	char *spool_dir;
	long long max_body;		/* bytes */
	long long keep_deliveries_days;
	long long roll_when_idle_ms;	/* 0: always queue (lib/rollup.h rollup_inline) */
	long long hook_threads;		/* deliveries a lb-hook worker takes at once */
	/* [stats] */
	long long settle_days;		/* a month settles this many days after its end */
};

const char *conf_path(const char *arg);
int  conf_load(struct conf *c, const char *path, char *err, size_t errlen);
/* Parse from memory (tests); name is used in messages. */
int  conf_parse(struct conf *c, const char *name, const char *text, size_t len,
    char *err, size_t errlen);
void conf_free(struct conf *c);

/* Helpers for values of the config's types (also used by lb-admin). */
int  conf_parse_duration(const char *s, long long *secs);
int  conf_parse_size(const char *s, long long *bytes);
/* 1 when [github] has a token or a GitHub App. */
int  conf_github_auth(const struct conf *c);
/* 1 when s equals (ASCII case-insensitively) an item of l. */
int  conf_list_has(const struct conf_list *l, const char *s);

#endif
