#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "leaderboard";
static enum log_level cur = LOG_INFO_;
static int to_syslog;
static const char *names[] = { "debug", "info", "warn", "error" };

int
log_parse_level(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (s && strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void
log_init(const char *progname)
{
	enum log_level l;

	prog = progname;
	if (log_parse_level(getenv("LB_LOG_LEVEL"), &l) == 0)
		cur = l;
}

void
log_set_level(enum log_level level)
{
	cur = level;
}

void
log_use_syslog(void)
{
	openlog(prog, LOG_PID, LOG_DAEMON);
	to_syslog = 1;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
	char msg[2048], ts[32];
	struct tm tm;
	time_t now;
	va_list ap;

	if (level < cur)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)	/* one line per message */
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (to_syslog) {
		syslog(prio[level], "%s", msg);
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s[%ld] %s: %s\n", ts, prog, (long)getpid(), names[level], msg);
}
