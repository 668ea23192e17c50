/*
 * log — leveled log lines to stderr (or syslog once log_use_syslog() ran).
 *
 * Contract:
 *  - One line per call: "2024-03-01T10:00:00Z lb-syncd[123] warn: message".
 *  - Messages below the current level are dropped. The level comes from
 *    log_init() or the LB_LOG_LEVEL environment variable (debug|info|warn|error).
 *  - Never log secrets: callers pass tokens through log_redact() first.
 */
#ifndef LB_LOG_H
#define LB_LOG_H

enum log_level { LOG_DEBUG_ = 0, LOG_INFO_, LOG_WARN_, LOG_ERROR_ };

void log_init(const char *progname);
void log_set_level(enum log_level level);
int  log_parse_level(const char *s, enum log_level *out);
void log_use_syslog(void);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG_, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO_, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN_, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR_, __VA_ARGS__)

#endif
