/* lp_proc_status: the one reader of /proc/<pid>/status (VmRSS, VmHWM): the daemon's rematch
 * reports its memory after each phase with it, and the benchmarks print the memory of the
 * processes they measure. Header-only, so that each benchmark program needs no library. */
#ifndef LP_PROC_STATUS_H
#define LP_PROC_STATUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The field ("VmRSS", "VmHWM") of process pid's status in bytes (pid 0: this process), or -1
 * when the file or the field is missing. */
static inline long long lp_proc_status_bytes(long pid, const char *field) {
  char path[64], line[256];
  if (pid > 0)
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
  else
    snprintf(path, sizeof path, "/proc/self/status");
  FILE *status = fopen(path, "r");
  if (!status) return -1;
  size_t length = strlen(field);
  long long bytes = -1;
  while (fgets(line, sizeof line, status))
    if (strncmp(line, field, length) == 0 && line[length] == ':') {
      bytes = strtoll(line + length + 1, NULL, 10) * 1024;
      break;
    }
  fclose(status);
  return bytes;
}

#endif
