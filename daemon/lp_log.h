/* lp_log: leveled logging to stderr (error, warn, info, debug), one line per message. */
#ifndef LP_LOG_H
#define LP_LOG_H

enum lp_log_level { LP_LOG_ERROR = 0, LP_LOG_WARN = 1, LP_LOG_INFO = 2, LP_LOG_DEBUG = 3 };

/* Parses "error", "warn", "info" or "debug"; -1 if it is none of them. */
int lp_log_level_parse(const char *name);
void lp_log_set_level(int level);
int lp_log_enabled(int level);
void lp_log(int level, const char *format, ...) __attribute__((format(printf, 2, 3)));

#define LP_ERROR(...) lp_log(LP_LOG_ERROR, __VA_ARGS__)
#define LP_WARN(...) lp_log(LP_LOG_WARN, __VA_ARGS__)
#define LP_INFO(...) lp_log(LP_LOG_INFO, __VA_ARGS__)
#define LP_DEBUG(...) lp_log(LP_LOG_DEBUG, __VA_ARGS__)

#endif
