/* run_cli: spawns the `leerplek` binary built with the tests and captures what it prints. */
#include "run_cli.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef LEERPLEK_CLI_PATH
#error "LEERPLEK_CLI_PATH must name the leerplek binary"
#endif

extern char **environ;

/* Output beyond this is not needed by any test. */
#define CAPTURE_MAX (8u << 20)

typedef struct buffer {
  char *data;
  size_t len;
} buffer;

static void append(buffer *b, const char *data, size_t len) {
  if (b->len + len > CAPTURE_MAX) len = CAPTURE_MAX - b->len;
  char *grown = realloc(b->data, b->len + len + 1);
  if (!grown) abort();
  memcpy(grown + b->len, data, len);
  b->data = grown;
  b->len += len;
  b->data[b->len] = '\0';
}

cli_result run_cli(const char *const *argv, const char *const *env, const char *input) {
  cli_result result = {-1, NULL, NULL};
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) || pipe(out_pipe) || pipe(err_pipe)) abort();
  /* The environment: ours without the tool's variables, plus the test's. */
  size_t n_env = 0, n_extra = 0;
  while (environ[n_env]) n_env++;
  while (env && env[n_extra]) n_extra++;
  /* In sanitizer builds a finding must not pass for one of the tool's own exit codes (1..3),
   * so each sanitizer gets a distinct one. Harmless without sanitizers. */
  static const char *const sanitizer_env[] = {"ASAN_OPTIONS=exitcode=98", "UBSAN_OPTIONS=exitcode=99",
                                              "LSAN_OPTIONS=exitcode=97"};
  char **child_env = calloc(n_env + n_extra + 5, sizeof *child_env);
  size_t k = 0;
  /* The language is the test's to choose (English unless it sets LANG, LANGUAGE, ...): the
   * tester's own locale variables are dropped. */
  for (size_t i = 0; i < n_env; i++)
    if (strncmp(environ[i], "LEERPLEK_", 9) != 0 && strncmp(environ[i], "ASAN_OPTIONS=", 13) != 0 &&
        strncmp(environ[i], "UBSAN_OPTIONS=", 14) != 0 && strncmp(environ[i], "LSAN_OPTIONS=", 13) != 0 &&
        strncmp(environ[i], "LANG=", 5) != 0 && strncmp(environ[i], "LANGUAGE=", 9) != 0 &&
        strncmp(environ[i], "LC_", 3) != 0)
      child_env[k++] = environ[i];
  for (size_t i = 0; i < 3; i++) child_env[k++] = (char *)sanitizer_env[i];
  for (size_t i = 0; i < n_extra; i++) child_env[k++] = (char *)env[i];
  size_t n_args = 0;
  while (argv[n_args]) n_args++;
  char **child_argv = calloc(n_args + 2, sizeof *child_argv);
  child_argv[0] = (char *)LEERPLEK_CLI_PATH;
  for (size_t i = 0; i < n_args; i++) child_argv[i + 1] = (char *)argv[i];

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_addclose(&actions, in_pipe[1]);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
  pid_t pid;
  int spawned = posix_spawn(&pid, LEERPLEK_CLI_PATH, &actions, NULL, child_argv, child_env);
  posix_spawn_file_actions_destroy(&actions);
  free(child_env);
  free(child_argv);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (spawned != 0) abort();
  /* Small inputs only: the pipe buffer holds them, so write all before reading. */
  signal(SIGPIPE, SIG_IGN);
  if (input && write(in_pipe[1], input, strlen(input)) < 0) { /* the tool may not read it */
  }
  close(in_pipe[1]);
  buffer out = {0}, err = {0};
  append(&out, "", 0);
  append(&err, "", 0);
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, 30000) <= 0) {
      kill(pid, SIGKILL); /* hung: fail the test instead of waiting forever */
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char chunk[4096];
      ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      } else {
        append(i == 0 ? &out : &err, chunk, (size_t)n);
      }
    }
  }
  for (int i = 0; i < 2; i++)
    if (fds[i].fd >= 0) close(fds[i].fd);
  int status;
  waitpid(pid, &status, 0);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = out.data;
  result.err = err.data;
  return result;
}

void cli_result_free(cli_result *result) {
  free(result->out);
  free(result->err);
  result->out = result->err = NULL;
}
