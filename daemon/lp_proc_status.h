/* lp_proc_status: the one reader of /proc/<pid>/status (VmRSS, VmHWM): the daemon's rematch
 * reports its memory after each phase with it, and the benchmarks print the memory of the
 * processes they measure. Header-only, so that each benchmark program needs no library. */
#ifndef LP_PROC_STATUS_H
#define LP_PROC_STATUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields ("VmRSS", "VmHWM") of process pid's status in bytes (pid 0: this process), read
 * in one pass of the file; -1 for a field missing, all -1 when the file is. */
static inline void lp_proc_status_fields(long pid, const char *const *fields, long long *bytes, int count) {
  char path[64], line[256];
  for (int f = 0; f < count; f++) bytes[f] = -1;
  if (pid > 0)
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
  else
    snprintf(path, sizeof path, "/proc/self/status");
  FILE *status = fopen(path, "r");
  if (!status) return;
  while (fgets(line, sizeof line, status))
    for (int f = 0; f < count; f++) {
      size_t length = strlen(fields[f]);
      if (strncmp(line, fields[f], length) == 0 && line[length] == ':')
        bytes[f] = strtoll(line + length + 1, NULL, 10) * 1024;
    }
  fclose(status);
}

/* One field of process pid's status in bytes, or -1 (see lp_proc_status_fields). */
static inline long long lp_proc_status_bytes(long pid, const char *field) {
  long long bytes;
  lp_proc_status_fields(pid, &field, &bytes, 1);
  return bytes;
}

#endif
