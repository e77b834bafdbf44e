/* lp_log: leveled logging to stderr with a UTC timestamp; the level is set from the config. */
#include "lp_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int current_level = LP_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

int lp_log_level_parse(const char *name) {
  for (int i = 0; i < 4; i++)
    if (strcmp(name, level_names[i]) == 0) return i;
  return -1;
}

void lp_log_set_level(int level) { current_level = level; }

int lp_log_enabled(int level) { return level <= current_level; }

void lp_log(int level, const char *format, ...) {
  if (level > current_level) return;
  char stamp[32];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm utc;
  gmtime_r(&now.tv_sec, &utc);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  char line[2048];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  /* One fprintf per line so that lines of concurrent processes do not interleave. */
  fprintf(stderr, "%s.%03ldZ leerplekd %s: %s\n", stamp, now.tv_nsec / 1000000L, level_names[level], line);
}
