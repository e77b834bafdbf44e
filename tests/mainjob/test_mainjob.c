/* test_mainjob.c: the README's main command, deploy/main.sh, run whole the way a person runs
 * it, but against a fresh mkdtemp folder (LEERPLEK_RUN_DIR), with this build's programs
 * (LEERPLEK_BIN: no install, no apt-get, no build) and unix sockets for the API and HTTP
 * listeners (no port clashes with a running daemon or a parallel test). It checks what the
 * issue asks of the command: exit status 0; the headline (proposed > 0, the 321 running
 * agreements kept, and unplaced counts adding up to the 307 waiting pupils and those 321), the
 * agreements (367 in all, 321 running, 46 ended, as the seed's), the reasons, the report's shortage table, the
 * dashboard URL and the CLI hints; tokens.txt with mode 600 holding working admin, coordinator, school and company
 * tokens; a second run (in Dutch, LANG=nl_BE.UTF-8) says it reset, LEERPLEK_KEEP=1 says it
 * reused and the store kept its pupils (and one added between the runs); `main.sh stop` stops
 * both servers, and the daemon's log holds no sanitizer report. Whatever fails, the suite's
 * fini stops the servers and removes the folder (LEERPLEK_KEEP_TEST_DIR=1 keeps it). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef LEERPLEK_SOURCE_DIR
#error "LEERPLEK_SOURCE_DIR must name the source tree (for deploy/main.sh)"
#endif
#ifndef LEERPLEK_BIN_DIR
#error "LEERPLEK_BIN_DIR must name the folder of this build's leerplekd, leerplek and leerplek-gen"
#endif

#define MAIN_SH LEERPLEK_SOURCE_DIR "/deploy/main.sh"
#define CLI LEERPLEK_BIN_DIR "/leerplek"
/* One run of the script must end well within this (it takes about a second, a few under ASan). */
#define RUN_SECONDS 90
/* The demo: 307 waiting pupils, and 367 more with the seed's agreements (321 running, 46 ended). */
#define DEMO_WAITING_PUPILS 307
#define DEMO_AGREEMENTS 367
#define DEMO_RUNNING 321
#define DEMO_PUPILS (DEMO_WAITING_PUPILS + DEMO_AGREEMENTS)
#define DEMO_REQUESTS (DEMO_WAITING_PUPILS + DEMO_RUNNING)

extern char **environ;

static char run_dir[64];
static char env_bin[600], env_run_dir[128], env_listen[160], env_http_listen[160];
static char http_socket[128];

typedef struct run_result {
  int status; /* exit status; 128 + signal; -1 when it had to be killed at the deadline */
  char *out;  /* stdout (and stderr, when merged) */
} run_result;

static long long now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Runs argv (argv[0] looked up in PATH) in its own process group with the environment minus
 * every LEERPLEK_* variable plus `extra` (NULL-terminated), stdin from /dev/null, stdout into
 * the result, stderr into the result too (merge) or appended to err_path. Kills the group at
 * the deadline. */
static run_result run(const char *const *argv, const char *const *extra, bool merge, const char *err_path) {
  run_result result = {-1, NULL};
  size_t n_env = 0, n_extra = 0;
  while (environ[n_env]) n_env++;
  while (extra && extra[n_extra]) n_extra++;
  char **env = calloc(n_env + n_extra + 1, sizeof *env);
  size_t k = 0;
  for (size_t i = 0; i < n_env; i++)
    if (strncmp(environ[i], "LEERPLEK_", 9) != 0) env[k++] = environ[i];
  for (size_t i = 0; i < n_extra; i++) env[k++] = (char *)extra[i];

  int out_pipe[2];
  cr_assert_eq(pipe2(out_pipe, O_CLOEXEC), 0, "pipe: %s", strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  if (merge)
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 2);
  else
    posix_spawn_file_actions_addopen(&actions, 2, err_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid;
  int spawned = posix_spawnp(&pid, argv[0], &actions, &attributes, (char *const *)argv, env);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  free(env);
  close(out_pipe[1]);
  cr_assert_eq(spawned, 0, "cannot run %s: %s", argv[0], strerror(spawned));

  size_t length = 0, capacity = 65536;
  result.out = malloc(capacity);
  cr_assert_not_null(result.out);
  bool killed = false;
  long long deadline = now_ms() + RUN_SECONDS * 1000LL;
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0 && !killed) {
      kill(-pid, SIGKILL);
      killed = true;
    }
    struct pollfd readable = {out_pipe[0], POLLIN, 0};
    int ready = poll(&readable, 1, killed ? 1000 : (int)(left < 1000 ? left : 1000));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      if (killed) break; /* something of the group kept the pipe; give up on the rest */
      continue;
    }
    if (length + 4096 + 1 > capacity) {
      capacity *= 2;
      result.out = realloc(result.out, capacity);
      cr_assert_not_null(result.out);
    }
    ssize_t got = read(out_pipe[0], result.out + length, capacity - length - 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    length += (size_t)got;
  }
  result.out[length] = '\0';
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (killed)
    result.status = -1;
  else if (WIFEXITED(status))
    result.status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.status = 128 + WTERMSIG(status);
  return result;
}

/* bash deploy/main.sh [argument] with the test's settings (and LEERPLEK_KEEP=1 if keep), in
 * English, or in Dutch (LANG=nl_BE.UTF-8: the tool's tables it reads are Dutch then). */
static run_result run_main_in(const char *argument, bool keep, bool dutch) {
  const char *argv[] = {"bash", MAIN_SH, argument, NULL};
  const char *extra[] = {env_bin,
                         env_run_dir,
                         env_listen,
                         env_http_listen,
                         dutch ? "LANG=nl_BE.UTF-8" : "LANG=C.UTF-8",
                         "LANGUAGE=",
                         keep ? "LEERPLEK_KEEP=1" : NULL,
                         NULL};
  return run(argv, extra, true, NULL);
}

static run_result run_main(const char *argument, bool keep) { return run_main_in(argument, keep, false); }

/* The leerplek tool against the daemon main.sh started, with a token; stdout only. */
static run_result run_cli(const char *token, const char *const *args) {
  const char *argv[16] = {CLI};
  size_t n = 1;
  for (size_t i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
  argv[n] = NULL;
  char address[200], token_env[300], err_path[128];
  snprintf(address, sizeof address, "LEERPLEK_ADDRESS=%s", env_listen + strlen("LEERPLEK_LISTEN="));
  snprintf(token_env, sizeof token_env, "LEERPLEK_TOKEN=%s", token);
  snprintf(err_path, sizeof err_path, "%s/test-cli.err", run_dir);
  const char *extra[] = {address, token_env, NULL};
  return run(argv, extra, false, err_path);
}

/* Shows the whole output when an assertion about it is about to fail. */
static void expect_ok(const run_result *r, const char *what) {
  if (r->status != 0) fprintf(stderr, "---- %s: exit status %d, output:\n%s\n----\n", what, r->status, r->out);
  cr_assert_eq(r->status, 0, "%s: exit status %d (its output is above)", what, r->status);
}

static void expect_contains(const run_result *r, const char *what, const char *text) {
  if (!strstr(r->out, text)) fprintf(stderr, "---- %s: output:\n%s\n----\n", what, r->out);
  cr_assert_not_null(strstr(r->out, text), "%s: the output lacks \"%s\" (the output is above)", what, text);
}

static char *read_file(const char *path) {
  FILE *file = fopen(path, "r");
  if (!file) return NULL;
  char *text = NULL;
  size_t size = 0;
  FILE *memory = open_memstream(&text, &size);
  char chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, file)) > 0) fwrite(chunk, 1, got, memory);
  fclose(file);
  fclose(memory);
  return text;
}

static void path_in_run(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", run_dir, name); }

/* The pid in <run>/<name>, or 0. */
static pid_t pid_from(const char *name) {
  char path[128];
  path_in_run(path, sizeof path, name);
  char *text = read_file(path);
  pid_t pid = text ? (pid_t)atol(text) : 0;
  free(text);
  return pid;
}

/* Alive and not a zombie: the daemons are orphans once main.sh exited, and the process that
 * inherits them may never reap them. */
static bool alive(pid_t pid) {
  if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) return false;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  char *stat = read_file(path);
  if (!stat) return false;
  const char *state = strrchr(stat, ')');
  bool running = state && state[1] == ' ' && state[2] != 'Z' && state[2] != 'X';
  free(stat);
  return running;
}

static bool gone_within(pid_t pid, int seconds) {
  for (long long deadline = now_ms() + seconds * 1000LL; now_ms() < deadline;) {
    if (!alive(pid)) return true;
    struct timespec pause = {0, 50 * 1000000L};
    nanosleep(&pause, NULL);
  }
  return !alive(pid);
}

/* The token of a role in tokens.txt ("<role> <token> [<id>]"), copied to out. */
static void token_of(const char *tokens, const char *role, char *out, size_t size) {
  out[0] = '\0';
  size_t role_length = strlen(role);
  for (const char *line = tokens; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, role, role_length) != 0 || line[role_length] != ' ') continue;
    const char *token = line + role_length;
    while (*token == ' ') token++;
    size_t length = strcspn(token, " \n");
    if (length < size) {
      memcpy(out, token, length);
      out[length] = '\0';
    }
    return;
  }
}

/* The length of the JSON array the tool printed, or -1. */
static long json_array_length(const char *text) {
  json_error_t error;
  json_t *value = json_loads(text, 0, &error);
  long length = json_is_array(value) ? (long)json_array_size(value) : -1;
  json_decref(value);
  return length;
}

/* "== result: P pupils proposed, A accepted or with an agreement, U unplaced (of N pupils asking
 * for a place)"; the report below it in the tool's English or, with dutch, Dutch tables. */
static void expect_headline_in(const run_result *r, const char *what, bool dutch) {
  const char *line = strstr(r->out, "== result: ");
  if (!line) fprintf(stderr, "---- %s: output:\n%s\n----\n", what, r->out);
  cr_assert_not_null(line, "%s: no \"== result:\" headline", what);
  int proposed = -1, kept = -1, unplaced = -1, total = -1;
  int fields = sscanf(line, "== result: %d pupils proposed, %d accepted or with an agreement, %d unplaced (of %d",
                      &proposed, &kept, &unplaced, &total);
  cr_assert_eq(fields, 4, "%s: the headline does not parse: %.120s", what, line);
  cr_expect_gt(proposed, 0, "%s: nobody proposed", what);
  cr_expect_eq(kept, DEMO_RUNNING, "%s: %d kept, not the demo's %d running agreements", what, kept, DEMO_RUNNING);
  cr_expect_geq(unplaced, 0);
  cr_expect_eq(proposed + kept + unplaced, DEMO_REQUESTS, "%s: %d proposed + %d kept + %d unplaced != %d requests",
               what, proposed, kept, unplaced, DEMO_REQUESTS);
  cr_expect_eq(total, DEMO_REQUESTS);
  expect_contains(r, what,
                  "  agreements: 367 in all, 321 running, 46 ended (the SamDuLeA dashboard of February 2022: 367 in "
                  "all, 321 running");
  /* The reasons right below it, and the report's reasons and shortage table after it. */
  expect_contains(r, what, "  why unplaced: ");
  const char *reasons = strstr(line, "  why unplaced: ");
  if (dutch)
    cr_expect(strstr(reasons, "niets_binnen_reisafstand") || strstr(reasons, "plaatsen_bezet") ||
                  strstr(reasons, "geen_passende_dagen"),
              "%s: no known reason after \"why unplaced\"", what);
  else
    cr_expect(strstr(reasons, "none_within_commute") || strstr(reasons, "seats_taken") ||
                  strstr(reasons, "no_compatible_days"),
              "%s: no known reason after \"why unplaced\"", what);
  const char *report = strstr(line, "== report");
  cr_assert_not_null(report, "%s: no report after the headline", what);
  cr_expect_not_null(strstr(report, dutch ? "niet_geplaatst_per_reden:" : "unplaced_by_reason:"),
                     "%s: the report has no reasons", what);
  const char *shortages = strstr(report, dutch ? "tekorten:" : "shortages:");
  cr_assert_not_null(shortages, "%s: the report has no shortage table", what);
  const char *header = strchr(shortages, '\n');
  cr_assert_not_null(header);
  cr_expect(strncmp(header + 1, dutch ? "opleiding" : "training_code", dutch ? 9 : 13) == 0,
            "%s: the shortage table has no header", what);
  const char *first_row = strchr(header + 1, '\n');
  cr_assert_not_null(first_row);
  cr_expect(first_row[1] >= 'A' && first_row[1] <= 'Z', "%s: the shortage table has no rows (the demo lacks places)",
            what);
}

static void expect_headline(const run_result *r, const char *what) { expect_headline_in(r, what, false); }

/* The demo's referral rows (demo/referrals.csv without its header). */
static int demo_referral_rows(void) {
  char path[600];
  snprintf(path, sizeof path, "%s/demo/referrals.csv", run_dir);
  char *text = read_file(path);
  cr_assert_not_null(text, "no %s", path);
  int rows = -1;
  for (const char *p = text; *p; p++) rows += *p == '\n';
  free(text);
  return rows;
}

/* A key's number in the tool's "  key: value" output after `from`, or -1. */
static long value_after(const char *from, const char *key) {
  char pattern[80];
  snprintf(pattern, sizeof pattern, "\n  %s: ", key);
  const char *at = strstr(from, pattern);
  return at ? strtol(at + strlen(pattern), NULL, 10) : -1;
}

/* The preparatory track: every referral imported, dispatched (some seats out of reach or on
 * other days, so a few wait), and the registration point's summary per partner with all of
 * them, the total last. */
static void expect_dispatch_in(const run_result *r, const char *what, bool dutch) {
  int rows = demo_referral_rows();
  cr_expect_gt(rows, 0, "%s: the demo has no referrals", what);
  if (!dutch) {
    char imported[120];
    snprintf(imported, sizeof imported, "10/10 imported %d of %d referrals", rows, rows);
    expect_contains(r, what, imported);
  }
  const char *dispatch = strstr(r->out, "== dispatch the preparatory track");
  if (!dispatch) fprintf(stderr, "---- %s: output:\n%s\n----\n", what, r->out);
  cr_assert_not_null(dispatch, "%s: no dispatch step", what);
  long referrals = value_after(dispatch, dutch ? "aanmeldingen" : "referrals");
  long dispatched = value_after(dispatch, dutch ? "toegewezen" : "dispatched");
  cr_expect_eq(referrals, rows, "%s: dispatch saw %ld referrals, the demo has %d", what, referrals, rows);
  cr_expect(dispatched > rows / 2 && dispatched <= rows, "%s: %ld of %d referrals dispatched", what, dispatched, rows);
  const char *summary = strstr(dispatch, "== the central registration point, per partner");
  cr_assert_not_null(summary, "%s: no registration point summary after the dispatch", what);
  static const char *const partners[] = {"oal-centrum", "oal-noord", "oal-oost", "oal-zuid", "stad-werkt"};
  for (size_t k = 0; k < sizeof partners / sizeof partners[0]; k++) {
    char row[40];
    snprintf(row, sizeof row, "\n%s ", partners[k]);
    cr_expect_not_null(strstr(summary, row), "%s: the summary has no row for %s", what, partners[k]);
  }
  /* The total row has no key: its first number is every request. */
  const char *end = strstr(summary, "\n==");
  const char *total = summary;
  for (const char *p = summary; p && (!end || p < end); p = strchr(p + 1, '\n'))
    if (p[0] == '\n' && p[1] == ' ') total = p;
  cr_expect_eq(strtol(total, NULL, 10), rows, "%s: the summary's total is not the %d requests", what, rows);
}

static void expect_where_to_look(const run_result *r, const char *what) {
  char dashboard[256];
  snprintf(dashboard, sizeof dashboard, "dashboard:           http://localhost/dashboard");
  expect_contains(r, what, "== where to look next");
  expect_contains(r, what, dashboard);
  snprintf(dashboard, sizeof dashboard, "curl --unix-socket %s http://localhost/dashboard", http_socket);
  expect_contains(r, what, dashboard);
  char tokens[160];
  snprintf(tokens, sizeof tokens, "tokens:              %s/tokens.txt", run_dir);
  expect_contains(r, what, tokens);
  expect_contains(r, what, "as a coordinator:");
  expect_contains(r, what, "as school ");
  expect_contains(r, what, "as company ");
  char stop[160];
  snprintf(stop, sizeof stop, "LEERPLEK_RUN_DIR=%s bash deploy/main.sh stop", run_dir);
  expect_contains(r, what, stop);
}

static void setup(void) {
  /* The servers outlive main.sh: become their parent, so that teardown reaps them even where
   * the init process does not (containers). */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  snprintf(run_dir, sizeof run_dir, "/tmp/leerplek-mainjob-XXXXXX");
  cr_assert_not_null(mkdtemp(run_dir), "mkdtemp: %s", strerror(errno));
  snprintf(env_bin, sizeof env_bin, "LEERPLEK_BIN=%s", LEERPLEK_BIN_DIR);
  snprintf(env_run_dir, sizeof env_run_dir, "LEERPLEK_RUN_DIR=%s", run_dir);
  snprintf(env_listen, sizeof env_listen, "LEERPLEK_LISTEN=unix:%s/api.sock", run_dir);
  snprintf(http_socket, sizeof http_socket, "%s/http.sock", run_dir);
  snprintf(env_http_listen, sizeof env_http_listen, "LEERPLEK_HTTP_LISTEN=unix:%s", http_socket);
}

/* Runs even when an assertion failed: stop what main.sh started, by its own command first,
 * then by the pid files (SIGKILL) in case the script is what broke; remove the folder. */
static void teardown(void) {
  if (!run_dir[0]) return;
  pid_t daemon = pid_from("leerplekd.pid"), redis = pid_from("redis.pid");
  run_result r = run_main("stop", false);
  free(r.out);
  if (alive(daemon)) kill(daemon, SIGKILL);
  if (alive(redis)) kill(redis, SIGKILL);
  if (getenv("LEERPLEK_KEEP_TEST_DIR")) {
    fprintf(stderr, "test_mainjob: kept %s\n", run_dir);
  } else {
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", run_dir);
    if (system(command) != 0) fprintf(stderr, "test_mainjob: could not remove %s\n", run_dir);
  }
  run_dir[0] = '\0';
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

TestSuite(mainjob, .init = setup, .fini = teardown, .timeout = 600);

Test(mainjob, runs_resets_reuses_and_stops) {
  char path[128];

  /* 1. The first run: a new store, the demo, a rematch, the report. */
  long long started = now_ms();
  run_result first = run_main(NULL, false);
  long long first_ms = now_ms() - started;
  expect_ok(&first, "first run");
  expect_contains(&first, "first run", "(LEERPLEK_BIN: no install, no build)");
  cr_expect_null(strstr(first.out, "install what is missing"), "LEERPLEK_BIN set, yet it installed");
  expect_contains(&first, "first run", "== store: new");
  expect_contains(&first, "first run", "1/10 imported 44 of 44 trainings");
  expect_contains(&first, "first run", "5/10 imported 307 of 307 pupils");
  expect_contains(&first, "first run", "6/10 imported 367 of 367 pupils");
  char agreements_line[300];
  snprintf(agreements_line, sizeof agreements_line,
           "7/10 imported 367 of 367 agreements from %s/demo/agreements.csv (321 running, 46 ended; 367 recorded now, "
           "0 there already)",
           run_dir);
  expect_contains(&first, "first run", agreements_line);
  expect_contains(&first, "first run", "8/10 imported 5 of 5 organisations");
  expect_headline(&first, "first run");
  expect_dispatch_in(&first, "first run", false);
  expect_where_to_look(&first, "first run");

  pid_t daemon = pid_from("leerplekd.pid"), redis = pid_from("redis.pid");
  cr_assert(alive(daemon), "leerplekd (pid %d from leerplekd.pid) is not running after the run", (int)daemon);
  cr_assert(alive(redis), "redis-server (pid %d from redis.pid) is not running after the run", (int)redis);

  path_in_run(path, sizeof path, "tokens.txt");
  struct stat tokens_stat;
  cr_assert_eq(stat(path, &tokens_stat), 0, "no %s", path);
  cr_expect_eq(tokens_stat.st_mode & 0777, 0600, "tokens.txt has mode %o, not 600", tokens_stat.st_mode & 0777);
  char *tokens = read_file(path);
  cr_assert_not_null(tokens);
  char admin[160], coordinator[160], school[160], company[160];
  token_of(tokens, "admin", admin, sizeof admin);
  token_of(tokens, "coordinator", coordinator, sizeof coordinator);
  token_of(tokens, "school", school, sizeof school);
  token_of(tokens, "company", company, sizeof company);
  cr_assert(strncmp(admin, "lp1.", 4) == 0, "no admin token in tokens.txt:\n%s", tokens);
  cr_assert(strncmp(coordinator, "lp1.", 4) == 0, "no coordinator token in tokens.txt:\n%s", tokens);
  cr_assert(strncmp(school, "lp1.", 4) == 0, "no school token in tokens.txt:\n%s", tokens);
  cr_assert(strncmp(company, "lp1.", 4) == 0, "no company token in tokens.txt:\n%s", tokens);

  /* The tokens do what the hints say: the school sees its pupils, the company its proposals,
   * the admin its tokens. */
  run_result r = run_cli(school, (const char *const[]){"school", "placements", "--json", NULL});
  expect_ok(&r, "leerplek school placements (school token)");
  cr_expect_gt(json_array_length(r.out), 0, "the demo school has no placements");
  free(r.out);
  r = run_cli(company, (const char *const[]){"company", "proposals", "--json", NULL});
  expect_ok(&r, "leerplek company proposals (company token)");
  cr_expect_gt(json_array_length(r.out), 0, "the demo company (the one with the most proposals) has none");
  free(r.out);
  r = run_cli(admin, (const char *const[]){"admin", "tokens", "--json", NULL});
  expect_ok(&r, "leerplek admin tokens (admin token)");
  cr_expect_geq(json_array_length(r.out), 4, "fewer than 4 tokens in the store");
  free(r.out);

  /* 2. Again, in Dutch: it stops the previous servers and resets the store, and reads the
   * tool's Dutch tables for its headline. */
  started = now_ms();
  run_result second = run_main_in(NULL, false, true);
  long long second_ms = now_ms() - started;
  expect_ok(&second, "second run");
  expect_contains(&second, "second run", "== store: reset");
  char stopped[64];
  snprintf(stopped, sizeof stopped, "stopped leerplekd (pid %d)", (int)daemon);
  expect_contains(&second, "second run", stopped);
  cr_expect(!alive(daemon), "the first run's leerplekd (pid %d) still runs", (int)daemon);
  cr_expect(!alive(redis), "the first run's redis-server (pid %d) still runs", (int)redis);
  expect_headline_in(&second, "second run", true);
  expect_dispatch_in(&second, "second run", true);
  expect_contains(&second, "second run", "  epoch: 1\n");                  /* an empty store: the first epoch */
  expect_contains(&second, "second run", "  niet_geplaatst_per_reden:\n"); /* the rematch's table in Dutch */
  free(tokens);
  tokens = read_file(path);
  cr_assert_not_null(tokens);
  token_of(tokens, "coordinator", coordinator, sizeof coordinator);
  r = run_cli(coordinator, (const char *const[]){"coordinator", "pupils", "--json", NULL});
  expect_ok(&r, "leerplek coordinator pupils after the reset");
  cr_expect_eq(json_array_length(r.out), DEMO_PUPILS, "not the %d demo pupils after the reset", DEMO_PUPILS);
  free(r.out);

  /* A pupil that is not in the demo: the reused store must still have it. */
  char *pupils_csv;
  path_in_run(path, sizeof path, "demo/pupils.csv");
  pupils_csv = read_file(path);
  cr_assert_not_null(pupils_csv, "no %s", path);
  char *second_line = strchr(pupils_csv, '\n');
  cr_assert_not_null(second_line);
  char *ref = strstr(second_line, ",P-");
  cr_assert_not_null(ref, "no P- reference in the demo's first pupil");
  memcpy(ref + 1, "T-", 2); /* P-000001 -> T-000001 */
  char *third_line = strchr(second_line + 1, '\n');
  cr_assert_not_null(third_line);
  third_line[1] = '\0';
  path_in_run(path, sizeof path, "extra-pupil.csv");
  FILE *extra = fopen(path, "w");
  cr_assert_not_null(extra);
  fputs(pupils_csv, extra);
  fclose(extra);
  free(pupils_csv);
  r = run_cli(coordinator, (const char *const[]){"import", "pupils", path, NULL});
  expect_ok(&r, "leerplek import pupils extra-pupil.csv");
  free(r.out);

  /* 3. LEERPLEK_KEEP=1: the same store, the same tokens, the next epoch. */
  started = now_ms();
  run_result third = run_main(NULL, true);
  long long third_ms = now_ms() - started;
  expect_ok(&third, "run with LEERPLEK_KEEP=1");
  expect_contains(&third, "run with LEERPLEK_KEEP=1", "== store: reusing");
  expect_contains(&third, "run with LEERPLEK_KEEP=1", "== tokens: reusing");
  expect_contains(&third, "run with LEERPLEK_KEEP=1", "  base_epoch: 1\n");
  /* The agreements are in the store already: the import finds them and changes nothing, and
   * the second rematch keeps them as they were. */
  snprintf(agreements_line, sizeof agreements_line,
           "7/10 imported 367 of 367 agreements from %s/demo/agreements.csv (321 running, 46 ended; 0 recorded now, "
           "367 there already)",
           run_dir);
  expect_contains(&third, "run with LEERPLEK_KEEP=1", agreements_line);
  expect_contains(&third, "run with LEERPLEK_KEEP=1", "  agreements: 367 in all, 321 running, 46 ended");
  expect_where_to_look(&third, "run with LEERPLEK_KEEP=1");
  r = run_cli(coordinator, (const char *const[]){"coordinator", "pupils", "--json", NULL});
  expect_ok(&r, "leerplek coordinator pupils after the reuse (the token of the run before)");
  cr_expect_eq(json_array_length(r.out), DEMO_PUPILS + 1,
               "not the %d demo pupils and the extra one in the reused store", DEMO_PUPILS);
  cr_expect_not_null(strstr(r.out, "\"T-"), "the pupil added between the runs is gone");
  free(r.out);

  /* 4. stop: both servers end (the daemon cleanly, with no sanitizer report in its log). */
  daemon = pid_from("leerplekd.pid");
  redis = pid_from("redis.pid");
  cr_assert(alive(daemon) && alive(redis), "the servers of the third run are not running");
  started = now_ms();
  run_result stop = run_main("stop", false);
  long long stop_ms = now_ms() - started;
  expect_ok(&stop, "main.sh stop");
  expect_contains(&stop, "main.sh stop", "stopped leerplekd");
  expect_contains(&stop, "main.sh stop", "stopped redis-server");
  cr_expect(gone_within(daemon, 5), "leerplekd (pid %d) still runs after main.sh stop", (int)daemon);
  cr_expect(gone_within(redis, 5), "redis-server (pid %d) still runs after main.sh stop", (int)redis);
  path_in_run(path, sizeof path, "leerplekd.pid");
  cr_expect_neq(access(path, F_OK), 0, "leerplekd.pid is left after main.sh stop");
  path_in_run(path, sizeof path, "redis.pid");
  cr_expect_neq(access(path, F_OK), 0, "redis.pid is left after main.sh stop");
  path_in_run(path, sizeof path, "leerplekd.log");
  char *log = read_file(path);
  cr_assert_not_null(log);
  cr_expect(!strstr(log, "Sanitizer") && !strstr(log, "runtime error:"), "leerplekd.log has a sanitizer report:\n%s",
            log);
  free(log);

  /* stop again: nothing to do, still fine. */
  run_result again = run_main("stop", false);
  expect_ok(&again, "main.sh stop a second time");
  expect_contains(&again, "main.sh stop a second time", "nothing was running");

  fprintf(stderr, "test_mainjob: first run %lld ms, reset %lld ms, reuse %lld ms, stop %lld ms\n", first_ms, second_ms,
          third_ms, stop_ms);
  free(first.out);
  free(second.out);
  free(third.out);
  free(stop.out);
  free(again.out);
  free(tokens);
}
