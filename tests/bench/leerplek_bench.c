/* leerplek-bench: load generator for leerplekd, in the manner of redis-benchmark. It preloads a
 * small dataset, then drives C connections at pipeline depth P with a read/write mix and prints
 * requests/s, p50/p99/p99.9 latency and errors by status code (any error makes the run invalid
 * and the exit status non-zero). It can also measure the daemon's memory per idle connection
 * from /proc/<pid>/status.
 *
 * Design choices (why):
 * - One epoll loop per client thread, non-blocking sockets, default one thread. The bench shares
 *   a 2-core machine with leerplekd and redis-server; one thread driving all connections costs the
 *   least CPU (one epoll_wait serves many sockets), like redis-benchmark's default.
 * - Batches like redis-benchmark -P: a connection sends P requests in one write, waits for all P
 *   responses, then sends the next P. Latency of each request is from the write of its batch to
 *   the read that completed its response.
 * - Requests are pre-encoded once: a Request is a protobuf message, and concatenated encodings
 *   merge, so each frame is "request_id field" + a pre-packed template (token and body). The hot
 *   path then costs a memcpy, not a protobuf pack, so the client is not the bottleneck.
 * - Responses are checked with a small bounded reader of the envelope (request_id, status code,
 *   which body field is set) instead of a full unpack; a failed response is fully unpacked once
 *   per status code to print the daemon's message.
 * - Connections are opened with libleerplek (connect + Hello), then their sockets are driven
 *   directly; the preload uses libleerplek's blocking pipelining. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "leerplek_wire.h"
#include "libleerplek.h"
#include "../../daemon/lp_proc_status.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define STATUS_CODE_COUNT 17 /* gRPC canonical codes 0..16 */

/* The preloaded dataset. Small enough to load in well under a second, large enough that reads
 * hit many different records. Ids carry a "bench" prefix so they never collide with real data. */
#define BENCH_TRAININGS 16u
#define BENCH_COMPANIES 64u /* one location each */
#define BENCH_VACANCIES 256u
#define BENCH_SCHOOLS 8u
#define BENCH_PUPILS 1024u
/* Distinct pre-encoded write requests cycled through, so successive writes carry new values. */
#define BENCH_WRITE_VARIANTS 4096u
/* Preload requests pipelined before reading their replies: below the daemon's default
 * max_pending_requests (128), so the blocking client never waits on a paused daemon. */
#define PRELOAD_WINDOW 64u

/* Bounds on the command line. */
#define MAX_CONNECTIONS 10000u
#define MAX_PIPELINE 1024u
#define MAX_THREADS 64u
#define MAX_IDLE_CONNECTIONS 100000u
#define MAX_DURATION_S 3600.0
/* The largest response frame the bench accepts; every response it provokes is far smaller. */
#define MAX_RESPONSE_FRAME (1u << 20)

/* Field numbers of the calls used (Request.body and Response.body share them). */
enum {
  CALL_UPSERT_TRAINING = 20,
  CALL_GET_TRAINING = 21,
  CALL_UPDATE_VACANCY = 51,
  CALL_GET_VACANCY = 53,
  CALL_GET_PUPIL = 62,
};

/* ----------------------------------------------------------------------------------------- */
/* Options                                                                                    */
/* ----------------------------------------------------------------------------------------- */

typedef struct bench_options {
  const char *address;
  const char *token;
  unsigned connections;
  unsigned pipeline;
  uint64_t requests;     /* 0 = no count limit (then duration_s must be set) */
  double duration_s;     /* 0 = no time limit */
  unsigned read_percent; /* 100 = reads only, 0 = writes only */
  char mix_name[32];
  unsigned threads;
  unsigned idle_connections; /* memory measurement; 0 = skip */
  long daemon_pid;
  bool skip_preload;
} bench_options;

static void print_usage(FILE *out) {
  fprintf(out,
          "usage: leerplek-bench --address unix:/path|host:port --token TOKEN [options]\n"
          "\n"
          "Load generator for leerplekd (like redis-benchmark). TOKEN is a COORDINATOR token, or an\n"
          "ADMIN token with which the bench creates a COORDINATOR token for itself. It preloads a\n"
          "small dataset (trainings, companies, locations, vacancies, pupils; ids start with 'bench'),\n"
          "then measures.\n"
          "\n"
          "  -c N                   connections (default 50, at most %u)\n"
          "  -P N                   pipeline depth: requests per batch per connection (default 1,\n"
          "                         at most %u); a connection sends the next batch when all replies\n"
          "                         of the last one are in, as redis-benchmark -P does\n"
          "  -n N                   total requests (default 100000; 0 = no limit, needs --duration;\n"
          "                         -n 0 with --idle-connections and no --duration: memory only)\n"
          "  --duration S           stop issuing after S seconds (whichever of -n/--duration comes first)\n"
          "  --mix read|write|mixed[:READ_PERCENT]\n"
          "                         read:  get_training / get_vacancy / get_pupil (answered from memory)\n"
          "                         write: upsert_training / update_vacancy with varying values\n"
          "                                (acknowledged after Redis MULTI/EXEC)\n"
          "                         mixed: READ_PERCENT reads (default 90), the rest writes\n"
          "  --threads N            client threads, each with its own epoll loop (default 1; the\n"
          "                         bench shares the machine with the daemon and Redis)\n"
          "  --idle-connections K   before the load, open K connections (Hello only) and report the\n"
          "                         daemon's RSS growth per connection; needs --daemon-pid\n"
          "  --daemon-pid PID       the daemon's pid, for VmRSS in /proc/PID/status\n"
          "  --skip-preload         use the dataset loaded by an earlier run\n"
          "  -h, --help             this text\n"
          "\n"
          "Output: a human summary, then one machine-readable line starting with RESULT (and\n"
          "MEMORY for --idle-connections). Exit status: 0 valid run, 1 any error response or\n"
          "transport error, 2 bad usage or setup failure.\n",
          MAX_CONNECTIONS, MAX_PIPELINE);
}

/* Parses a whole decimal number in [min, max]; false with a message otherwise. */
static bool parse_number(const char *flag, const char *text, uint64_t min, uint64_t max, uint64_t *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (text[0] == '\0' || text[0] == '-' || *end != '\0' || errno != 0 || value < min || value > max) {
    fprintf(stderr, "leerplek-bench: %s: '%s' is not a whole number in %" PRIu64 "..%" PRIu64 "\n", flag, text, min,
            max);
    return false;
  }
  *out = value;
  return true;
}

static bool parse_mix(const char *text, bench_options *options) {
  uint64_t percent = 90;
  if (strcmp(text, "read") == 0) {
    options->read_percent = 100;
  } else if (strcmp(text, "write") == 0) {
    options->read_percent = 0;
  } else if (strcmp(text, "mixed") == 0 || strncmp(text, "mixed:", 6) == 0) {
    if (text[5] == ':' && !parse_number("--mix mixed:READ_PERCENT", text + 6, 0, 100, &percent)) return false;
    options->read_percent = (unsigned)percent;
  } else {
    fprintf(stderr, "leerplek-bench: --mix: '%s' is not read, write or mixed[:READ_PERCENT]\n", text);
    return false;
  }
  if (options->read_percent == 100)
    snprintf(options->mix_name, sizeof options->mix_name, "read");
  else if (options->read_percent == 0)
    snprintf(options->mix_name, sizeof options->mix_name, "write");
  else
    snprintf(options->mix_name, sizeof options->mix_name, "mixed:%u", options->read_percent);
  return true;
}

/* Returns 0, 1 for --help, or -1 on a usage error (reported). */
static int parse_options(int argc, char **argv, bench_options *options) {
  memset(options, 0, sizeof *options);
  options->connections = 50;
  options->pipeline = 1;
  options->requests = 100000;
  options->threads = 1;
  options->read_percent = 100;
  snprintf(options->mix_name, sizeof options->mix_name, "read");
  uint64_t number = 0;
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (strcmp(flag, "-h") == 0 || strcmp(flag, "--help") == 0) return 1;
    if (strcmp(flag, "--skip-preload") == 0) {
      options->skip_preload = true;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "leerplek-bench: %s needs a value (see --help)\n", flag);
      return -1;
    }
    const char *value = argv[++i];
    if (strcmp(flag, "--address") == 0 || strcmp(flag, "-a") == 0) {
      options->address = value;
    } else if (strcmp(flag, "--token") == 0 || strcmp(flag, "-t") == 0) {
      options->token = value;
    } else if (strcmp(flag, "-c") == 0) {
      if (!parse_number(flag, value, 1, MAX_CONNECTIONS, &number)) return -1;
      options->connections = (unsigned)number;
    } else if (strcmp(flag, "-P") == 0) {
      if (!parse_number(flag, value, 1, MAX_PIPELINE, &number)) return -1;
      options->pipeline = (unsigned)number;
    } else if (strcmp(flag, "-n") == 0) {
      if (!parse_number(flag, value, 0, UINT64_C(1) << 40, &number)) return -1;
      options->requests = number;
    } else if (strcmp(flag, "--duration") == 0) {
      char *end = NULL;
      errno = 0;
      double seconds = strtod(value, &end);
      if (value[0] == '\0' || *end != '\0' || errno != 0 || !(seconds > 0.0) || seconds > MAX_DURATION_S) {
        fprintf(stderr, "leerplek-bench: --duration: '%s' is not a number of seconds in (0, %.0f]\n", value,
                MAX_DURATION_S);
        return -1;
      }
      options->duration_s = seconds;
    } else if (strcmp(flag, "--mix") == 0) {
      if (!parse_mix(value, options)) return -1;
    } else if (strcmp(flag, "--threads") == 0) {
      if (!parse_number(flag, value, 1, MAX_THREADS, &number)) return -1;
      options->threads = (unsigned)number;
    } else if (strcmp(flag, "--idle-connections") == 0) {
      if (!parse_number(flag, value, 0, MAX_IDLE_CONNECTIONS, &number)) return -1;
      options->idle_connections = (unsigned)number;
    } else if (strcmp(flag, "--daemon-pid") == 0) {
      if (!parse_number(flag, value, 1, INT_MAX, &number)) return -1;
      options->daemon_pid = (long)number;
    } else {
      fprintf(stderr, "leerplek-bench: unknown option '%s' (see --help)\n", flag);
      return -1;
    }
  }
  if (!options->address || !options->token) {
    fprintf(stderr, "leerplek-bench: --address and --token are required (see --help)\n");
    return -1;
  }
  if (options->requests == 0 && options->duration_s == 0.0 && options->idle_connections == 0) {
    fprintf(stderr, "leerplek-bench: -n 0 (no count limit) needs --duration (or --idle-connections alone)\n");
    return -1;
  }
  if (options->idle_connections > 0 && options->daemon_pid == 0) {
    fprintf(stderr, "leerplek-bench: --idle-connections needs --daemon-pid\n");
    return -1;
  }
  if (options->threads > options->connections) options->threads = options->connections;
  return 0;
}

/* ----------------------------------------------------------------------------------------- */
/* Small helpers                                                                              */
/* ----------------------------------------------------------------------------------------- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU seconds (user + system) this process has used so far: shows whether the client itself
 * was near a full core, i.e. whether it may have been the bottleneck. */
static double process_cpu_seconds(void) {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0.0;
  return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec +
         (double)usage.ru_stime.tv_usec / 1e6;
}

static int response_code(const Leerplek__V1__Response *response) {
  return response->status ? (int)response->status->code : CODE(INTERNAL);
}

/* xorshift64*: a fast per-thread generator for choosing keys; quality needs are modest. */
static uint64_t next_random(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * UINT64_C(2685821657736338717);
}

static size_t varint_size(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    size++;
  }
  return size;
}

static size_t put_varint(unsigned char *out, uint64_t value) {
  size_t n = 0;
  while (value >= 0x80) {
    out[n++] = (unsigned char)(value | 0x80);
    value >>= 7;
  }
  out[n++] = (unsigned char)value;
  return n;
}

/* ----------------------------------------------------------------------------------------- */
/* Dataset: ids and record contents, shared by the preload and the request templates         */
/* ----------------------------------------------------------------------------------------- */

static void training_code(unsigned i, char *out, size_t size) { snprintf(out, size, "BENCH-T%02u", i); }
static void company_id(unsigned i, char *out, size_t size) { snprintf(out, size, "99%08u", i); }
static void location_id(unsigned i, char *out, size_t size) { snprintf(out, size, "bench-loc-%04u", i); }
static void vacancy_id(unsigned i, char *out, size_t size) { snprintf(out, size, "bench-vac-%04u", i); }
static void school_id(unsigned i, char *out, size_t size) { snprintf(out, size, "bench-school-%u", i); }
static void pupil_ref(unsigned i, char *out, size_t size) { snprintf(out, size, "bench-p%05u", i); }

/* Workplace days every bench vacancy and pupil share: Monday and Tuesday of both weeks. */
#define BENCH_DAY_MASK 0x183u

/* Company i is recognised for trainings i % T and (i + 1) % T; vacancy j is at company
 * j % COMPANIES for its first recognised training, so every vacancy is valid. */
static unsigned vacancy_training(unsigned j) { return (j % BENCH_COMPANIES) % BENCH_TRAININGS; }

/* Fills a vacancy record (all strings in the caller's buffers) with the given varying values. */
typedef struct vacancy_buffers {
  char id[40], location[40], training[40], mentor[64];
} vacancy_buffers;

static void fill_vacancy(Leerplek__V1__Vacancy *vacancy, Leerplek__V1__Date *start, vacancy_buffers *buffers,
                         unsigned j, unsigned seats, unsigned mentor_version) {
  vacancy_id(j, buffers->id, sizeof buffers->id);
  location_id(j % BENCH_COMPANIES, buffers->location, sizeof buffers->location);
  training_code(vacancy_training(j), buffers->training, sizeof buffers->training);
  snprintf(buffers->mentor, sizeof buffers->mentor, "bench mentor %u", mentor_version);
  start->year = 2027;
  start->month = 9;
  start->day = 1;
  vacancy->id = buffers->id;
  vacancy->location_id = buffers->location;
  vacancy->training_code = buffers->training;
  vacancy->seats = seats;
  vacancy->min_readiness = LEERPLEK__V1__READINESS__READINESS_PARTLY;
  vacancy->day_mask = BENCH_DAY_MASK;
  vacancy->kind = LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR;
  vacancy->start_date = start;
  vacancy->mentor = buffers->mentor;
}

/* ----------------------------------------------------------------------------------------- */
/* Preload (blocking, through libleerplek)                                                    */
/* ----------------------------------------------------------------------------------------- */

/* Builds request i of one preload step into *request (using the step's scratch storage). */
typedef void (*build_request_fn)(unsigned i, Leerplek__V1__Request *request, void *scratch);

typedef struct preload_scratch {
  union {
    struct {
      Leerplek__V1__UpsertTrainingRequest call;
      Leerplek__V1__Training training;
      char code[40], name[80];
    } training;
    struct {
      Leerplek__V1__UpsertCompanyRequest call;
      Leerplek__V1__Company company;
      char id[40], name[80], codes[2][40];
      char *code_list[2];
    } company;
    struct {
      Leerplek__V1__UpsertLocationRequest call;
      Leerplek__V1__Location location;
      Leerplek__V1__GeoPoint point;
      char id[40], company[40], name[80];
    } location;
    struct {
      Leerplek__V1__PublishVacancyRequest call;
      Leerplek__V1__Vacancy vacancy;
      Leerplek__V1__Date start;
      vacancy_buffers buffers;
    } vacancy;
    struct {
      Leerplek__V1__RegisterPupilRequest call;
      Leerplek__V1__Pupil pupil;
      Leerplek__V1__GeoPoint home;
      char school[40], ref[40], training[40];
    } pupil;
  } u;
} preload_scratch;

static void build_training(unsigned i, Leerplek__V1__Request *request, void *scratch_memory) {
  preload_scratch *s = scratch_memory;
  leerplek__v1__upsert_training_request__init(&s->u.training.call);
  leerplek__v1__training__init(&s->u.training.training);
  training_code(i, s->u.training.code, sizeof s->u.training.code);
  snprintf(s->u.training.name, sizeof s->u.training.name, "Bench training %u", i);
  s->u.training.training.code = s->u.training.code;
  s->u.training.training.name = s->u.training.name;
  s->u.training.call.training = &s->u.training.training;
  request->body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING;
  request->upsert_training = &s->u.training.call;
}

static void build_company(unsigned i, Leerplek__V1__Request *request, void *scratch_memory) {
  preload_scratch *s = scratch_memory;
  leerplek__v1__upsert_company_request__init(&s->u.company.call);
  leerplek__v1__company__init(&s->u.company.company);
  company_id(i, s->u.company.id, sizeof s->u.company.id);
  snprintf(s->u.company.name, sizeof s->u.company.name, "Bench company %u", i);
  training_code(i % BENCH_TRAININGS, s->u.company.codes[0], sizeof s->u.company.codes[0]);
  training_code((i + 1) % BENCH_TRAININGS, s->u.company.codes[1], sizeof s->u.company.codes[1]);
  s->u.company.code_list[0] = s->u.company.codes[0];
  s->u.company.code_list[1] = s->u.company.codes[1];
  s->u.company.company.id = s->u.company.id;
  s->u.company.company.name = s->u.company.name;
  s->u.company.company.n_recognised_training_codes = 2;
  s->u.company.company.recognised_training_codes = s->u.company.code_list;
  s->u.company.call.company = &s->u.company.company;
  request->body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_COMPANY;
  request->upsert_company = &s->u.company.call;
}

static void build_location(unsigned i, Leerplek__V1__Request *request, void *scratch_memory) {
  preload_scratch *s = scratch_memory;
  leerplek__v1__upsert_location_request__init(&s->u.location.call);
  leerplek__v1__location__init(&s->u.location.location);
  leerplek__v1__geo_point__init(&s->u.location.point);
  location_id(i, s->u.location.id, sizeof s->u.location.id);
  company_id(i, s->u.location.company, sizeof s->u.location.company);
  snprintf(s->u.location.name, sizeof s->u.location.name, "Bench workshop %u", i);
  /* Spread around Antwerp, about 1 km apart. */
  s->u.location.point.lat_e6 = 51190000 + (int32_t)(i % 8) * 9000;
  s->u.location.point.lon_e6 = 4380000 + (int32_t)(i / 8) * 14000;
  s->u.location.location.id = s->u.location.id;
  s->u.location.location.company_id = s->u.location.company;
  s->u.location.location.name = s->u.location.name;
  s->u.location.location.point = &s->u.location.point;
  s->u.location.location.postcode = (char *)"2000";
  s->u.location.location.district = (char *)"Antwerpen";
  s->u.location.call.location = &s->u.location.location;
  request->body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_LOCATION;
  request->upsert_location = &s->u.location.call;
}

static void build_vacancy(unsigned i, Leerplek__V1__Request *request, void *scratch_memory) {
  preload_scratch *s = scratch_memory;
  leerplek__v1__publish_vacancy_request__init(&s->u.vacancy.call);
  leerplek__v1__vacancy__init(&s->u.vacancy.vacancy);
  leerplek__v1__date__init(&s->u.vacancy.start);
  fill_vacancy(&s->u.vacancy.vacancy, &s->u.vacancy.start, &s->u.vacancy.buffers, i, 2, 0);
  s->u.vacancy.call.vacancy = &s->u.vacancy.vacancy;
  request->body_case = LEERPLEK__V1__REQUEST__BODY_PUBLISH_VACANCY;
  request->publish_vacancy = &s->u.vacancy.call;
}

static void build_pupil(unsigned i, Leerplek__V1__Request *request, void *scratch_memory) {
  preload_scratch *s = scratch_memory;
  leerplek__v1__register_pupil_request__init(&s->u.pupil.call);
  leerplek__v1__pupil__init(&s->u.pupil.pupil);
  leerplek__v1__geo_point__init(&s->u.pupil.home);
  school_id(i % BENCH_SCHOOLS, s->u.pupil.school, sizeof s->u.pupil.school);
  pupil_ref(i, s->u.pupil.ref, sizeof s->u.pupil.ref);
  training_code(i % BENCH_TRAININGS, s->u.pupil.training, sizeof s->u.pupil.training);
  s->u.pupil.home.lat_e6 = 51200000 + (int32_t)(i % 16) * 5000;
  s->u.pupil.home.lon_e6 = 4400000 + (int32_t)((i / 16) % 16) * 5000;
  s->u.pupil.pupil.school_id = s->u.pupil.school;
  s->u.pupil.pupil.ref = s->u.pupil.ref;
  s->u.pupil.pupil.training_code = s->u.pupil.training;
  s->u.pupil.pupil.readiness = LEERPLEK__V1__READINESS__READINESS_READY;
  s->u.pupil.pupil.home = &s->u.pupil.home;
  s->u.pupil.pupil.home_postcode = (char *)"2000";
  s->u.pupil.pupil.max_commute_m = 20000;
  s->u.pupil.pupil.day_mask = BENCH_DAY_MASK;
  s->u.pupil.call.pupil = &s->u.pupil.pupil;
  request->body_case = LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL;
  request->register_pupil = &s->u.pupil.call;
}

/* Sends count requests of one kind in windows of PRELOAD_WINDOW and checks every reply; an
 * ALREADY_EXISTS from a create is fine when allow_exists (an earlier run loaded the record). */
static int preload_step(leerplek_client *client, const char *what, unsigned count, build_request_fn build,
                        bool allow_exists) {
  preload_scratch scratch;
  for (unsigned first = 0; first < count; first += PRELOAD_WINDOW) {
    unsigned last = first + PRELOAD_WINDOW < count ? first + PRELOAD_WINDOW : count;
    for (unsigned i = first; i < last; i++) {
      Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
      build(i, &request, &scratch);
      if (leerplek_send(client, &request) != 0) {
        fprintf(stderr, "leerplek-bench: preload %s: %s\n", what, leerplek_error(client));
        return -1;
      }
    }
    for (unsigned i = first; i < last; i++) {
      Leerplek__V1__Response *response = NULL;
      if (leerplek_receive(client, &response) != 0) {
        fprintf(stderr, "leerplek-bench: preload %s: %s\n", what, leerplek_error(client));
        return -1;
      }
      int code = response_code(response);
      if (code != CODE(OK_UNSPECIFIED) && !(allow_exists && code == CODE(ALREADY_EXISTS))) {
        fprintf(stderr, "leerplek-bench: preload %s #%u refused: %s: %s (field '%s')\n", what, i,
                leerplek_status_name(code), response->status ? response->status->message : "no status",
                response->status ? response->status->field : "");
        leerplek_response_free(response);
        return -1;
      }
      leerplek_response_free(response);
    }
  }
  return 0;
}

static int preload(leerplek_client *client) {
  if (preload_step(client, "trainings", BENCH_TRAININGS, build_training, false) != 0 ||
      preload_step(client, "companies", BENCH_COMPANIES, build_company, false) != 0 ||
      preload_step(client, "locations", BENCH_COMPANIES, build_location, false) != 0 ||
      preload_step(client, "vacancies", BENCH_VACANCIES, build_vacancy, true) != 0 ||
      preload_step(client, "pupils", BENCH_PUPILS, build_pupil, true) != 0)
    return -1;
  return 0;
}

/* Connects with the given token; when it is an ADMIN token, creates a COORDINATOR token and
 * copies it into coordinator_token. Any other role is a setup error. */
static int obtain_coordinator_token(const bench_options *options, char *coordinator_token, size_t size) {
  char error[512];
  leerplek_client *client = NULL;
  if (leerplek_connect(options->address, options->token, &client, error, sizeof error) != 0) {
    fprintf(stderr, "leerplek-bench: %s\n", error);
    return -1;
  }
  /* leerplek_connect does not expose the Hello reply, so ask again to learn the role. */
  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = 1;
  hello.client_name = (char *)"leerplek-bench";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_HELLO;
  request.hello = &hello;
  Leerplek__V1__Response *response = NULL;
  int status = -1;
  if (leerplek_call(client, &request, &response) != 0) {
    fprintf(stderr, "leerplek-bench: hello: %s\n", leerplek_error(client));
    goto done;
  }
  if (response_code(response) != CODE(OK_UNSPECIFIED) || response->body_case != LEERPLEK__V1__RESPONSE__BODY_HELLO) {
    fprintf(stderr, "leerplek-bench: hello refused: %s: %s\n", leerplek_status_name(response_code(response)),
            response->status ? response->status->message : "no status");
    goto done;
  }
  Leerplek__V1__Role role = response->hello->role;
  leerplek_response_free(response);
  response = NULL;
  if (role == LEERPLEK__V1__ROLE__ROLE_COORDINATOR) {
    if (strlen(options->token) >= size) goto done;
    memcpy(coordinator_token, options->token, strlen(options->token) + 1);
    status = 0;
    goto done;
  }
  if (role != LEERPLEK__V1__ROLE__ROLE_ADMIN) {
    fprintf(stderr, "leerplek-bench: --token must be a COORDINATOR or ADMIN token (its role is %d)\n", (int)role);
    goto done;
  }
  Leerplek__V1__CreateTokenRequest create = LEERPLEK__V1__CREATE_TOKEN_REQUEST__INIT;
  create.role = LEERPLEK__V1__ROLE__ROLE_COORDINATOR;
  create.label = (char *)"leerplek-bench";
  Leerplek__V1__Request create_request = LEERPLEK__V1__REQUEST__INIT;
  create_request.body_case = LEERPLEK__V1__REQUEST__BODY_CREATE_TOKEN;
  create_request.create_token = &create;
  if (leerplek_call(client, &create_request, &response) != 0) {
    fprintf(stderr, "leerplek-bench: create_token: %s\n", leerplek_error(client));
    goto done;
  }
  if (response_code(response) != CODE(OK_UNSPECIFIED) ||
      response->body_case != LEERPLEK__V1__RESPONSE__BODY_CREATE_TOKEN || !response->create_token->token ||
      strlen(response->create_token->token) >= size) {
    fprintf(stderr, "leerplek-bench: create_token refused: %s: %s\n", leerplek_status_name(response_code(response)),
            response->status ? response->status->message : "no status or no token");
    goto done;
  }
  memcpy(coordinator_token, response->create_token->token, strlen(response->create_token->token) + 1);
  status = 0;
done:
  leerplek_response_free(response);
  leerplek_close(client);
  return status;
}

/* ----------------------------------------------------------------------------------------- */
/* Pre-encoded request templates                                                              */
/* ----------------------------------------------------------------------------------------- */

/* One pre-packed Request without its request_id: token and body. */
typedef struct request_template {
  unsigned char *bytes;
  uint32_t size;
  uint32_t call; /* the body field number, expected back in the Response */
} request_template;

typedef struct template_pool {
  request_template *items;
  size_t count;
  size_t capacity;
  uint32_t largest;
} template_pool;

static int pool_add(template_pool *pool, Leerplek__V1__Request *request, uint32_t call) {
  if (pool->count == pool->capacity) {
    size_t capacity = pool->capacity ? pool->capacity * 2 : 256;
    request_template *grown = realloc(pool->items, capacity * sizeof *grown);
    if (!grown) return -1;
    pool->items = grown;
    pool->capacity = capacity;
  }
  size_t size = protobuf_c_message_get_packed_size(&request->base);
  if (size > MAX_RESPONSE_FRAME) return -1;
  unsigned char *bytes = malloc(size ? size : 1);
  if (!bytes) return -1;
  protobuf_c_message_pack(&request->base, bytes);
  pool->items[pool->count++] = (request_template){bytes, (uint32_t)size, call};
  if (size > pool->largest) pool->largest = (uint32_t)size;
  return 0;
}

static void pool_free(template_pool *pool) {
  for (size_t i = 0; i < pool->count; i++) free(pool->items[i].bytes);
  free(pool->items);
  memset(pool, 0, sizeof *pool);
}

/* Reads: every preloaded training, vacancy and pupil once, so a uniform pick over a kind and
 * then a key spreads over all records. Stored kind by kind: [trainings][vacancies][pupils]. */
static int build_read_pool(template_pool *pool, char *token) {
  char key[40], school[40];
  for (unsigned i = 0; i < BENCH_TRAININGS; i++) {
    Leerplek__V1__GetTrainingRequest call = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
    training_code(i, key, sizeof key);
    call.code = key;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.token = token;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING;
    request.get_training = &call;
    if (pool_add(pool, &request, CALL_GET_TRAINING) != 0) return -1;
  }
  for (unsigned i = 0; i < BENCH_VACANCIES; i++) {
    Leerplek__V1__GetVacancyRequest call = LEERPLEK__V1__GET_VACANCY_REQUEST__INIT;
    vacancy_id(i, key, sizeof key);
    call.vacancy_id = key;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.token = token;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_VACANCY;
    request.get_vacancy = &call;
    if (pool_add(pool, &request, CALL_GET_VACANCY) != 0) return -1;
  }
  for (unsigned i = 0; i < BENCH_PUPILS; i++) {
    Leerplek__V1__GetPupilRequest call = LEERPLEK__V1__GET_PUPIL_REQUEST__INIT;
    school_id(i % BENCH_SCHOOLS, school, sizeof school);
    pupil_ref(i, key, sizeof key);
    call.school_id = school;
    call.pupil_ref = key;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.token = token;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PUPIL;
    request.get_pupil = &call;
    if (pool_add(pool, &request, CALL_GET_PUPIL) != 0) return -1;
  }
  return 0;
}

/* Picks a read: a kind uniformly (training, vacancy, pupil), then a record of it. */
static const request_template *pick_read(const template_pool *pool, uint64_t random) {
  unsigned kind = (unsigned)(random % 3);
  uint64_t key = random >> 8;
  if (kind == 0) return &pool->items[key % BENCH_TRAININGS];
  if (kind == 1) return &pool->items[BENCH_TRAININGS + key % BENCH_VACANCIES];
  return &pool->items[BENCH_TRAININGS + BENCH_VACANCIES + key % BENCH_PUPILS];
}

/* Writes: alternately an upsert_training with a new name and an update_vacancy with new seats
 * and mentor; each variant differs from the last write to the same record. */
static int build_write_pool(template_pool *pool, char *token) {
  for (unsigned v = 0; v < BENCH_WRITE_VARIANTS; v++) {
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.token = token;
    if (v % 2 == 0) {
      char code[40], name[80];
      unsigned i = (v / 2) % BENCH_TRAININGS;
      training_code(i, code, sizeof code);
      snprintf(name, sizeof name, "Bench training %u, version %u", i, v / 2 / BENCH_TRAININGS);
      Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
      training.code = code;
      training.name = name;
      Leerplek__V1__UpsertTrainingRequest call = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
      call.training = &training;
      request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING;
      request.upsert_training = &call;
      if (pool_add(pool, &request, CALL_UPSERT_TRAINING) != 0) return -1;
    } else {
      unsigned j = (v / 2) % BENCH_VACANCIES;
      unsigned version = v / 2 / BENCH_VACANCIES;
      Leerplek__V1__Vacancy vacancy = LEERPLEK__V1__VACANCY__INIT;
      Leerplek__V1__Date start = LEERPLEK__V1__DATE__INIT;
      vacancy_buffers buffers;
      fill_vacancy(&vacancy, &start, &buffers, j, 1 + (version + j) % 10, version);
      Leerplek__V1__UpdateVacancyRequest call = LEERPLEK__V1__UPDATE_VACANCY_REQUEST__INIT;
      call.vacancy = &vacancy;
      request.body_case = LEERPLEK__V1__REQUEST__BODY_UPDATE_VACANCY;
      request.update_vacancy = &call;
      if (pool_add(pool, &request, CALL_UPDATE_VACANCY) != 0) return -1;
    }
  }
  return 0;
}

/* ----------------------------------------------------------------------------------------- */
/* Latency histogram: log-linear buckets, 32 per power of two (about 3% resolution)           */
/* ----------------------------------------------------------------------------------------- */

#define HISTOGRAM_SUB_BITS 5
#define HISTOGRAM_SUB (1u << HISTOGRAM_SUB_BITS)
#define HISTOGRAM_MAX_BITS 42 /* about 73 minutes in ns: larger values are clamped */
#define HISTOGRAM_BUCKETS (2 * HISTOGRAM_SUB + (HISTOGRAM_MAX_BITS - HISTOGRAM_SUB_BITS) * HISTOGRAM_SUB)

typedef struct histogram {
  uint64_t counts[HISTOGRAM_BUCKETS];
  uint64_t total;
  uint64_t max_ns;
} histogram;

static unsigned histogram_index(uint64_t ns) {
  if (ns >= (UINT64_C(1) << HISTOGRAM_MAX_BITS)) ns = (UINT64_C(1) << HISTOGRAM_MAX_BITS) - 1;
  if (ns < 2 * HISTOGRAM_SUB) return (unsigned)ns;
  unsigned top_bit = 63u - (unsigned)__builtin_clzll(ns);
  unsigned shift = top_bit - HISTOGRAM_SUB_BITS;
  unsigned sub = (unsigned)(ns >> shift) - HISTOGRAM_SUB;
  return 2 * HISTOGRAM_SUB + (shift - 1) * HISTOGRAM_SUB + sub;
}

/* The middle of bucket index's range, in ns. */
static double histogram_value(unsigned index) {
  if (index < 2 * HISTOGRAM_SUB) return index;
  unsigned shift = (index - 2 * HISTOGRAM_SUB) / HISTOGRAM_SUB + 1;
  unsigned sub = (index - 2 * HISTOGRAM_SUB) % HISTOGRAM_SUB;
  double low = (double)((uint64_t)(HISTOGRAM_SUB + sub) << shift);
  return low + (double)(UINT64_C(1) << shift) / 2.0;
}

static void histogram_add(histogram *h, uint64_t ns, uint64_t times) {
  h->counts[histogram_index(ns)] += times;
  h->total += times;
  if (ns > h->max_ns) h->max_ns = ns;
}

static void histogram_merge(histogram *into, const histogram *from) {
  for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++) into->counts[i] += from->counts[i];
  into->total += from->total;
  if (from->max_ns > into->max_ns) into->max_ns = from->max_ns;
}

/* The latency at quantile q (0..1), in ms. */
static double histogram_quantile_ms(const histogram *h, double q) {
  if (h->total == 0) return 0.0;
  uint64_t rank = (uint64_t)(q * (double)h->total + 0.999999);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank) return histogram_value(i) / 1e6;
  }
  return (double)h->max_ns / 1e6;
}

/* ----------------------------------------------------------------------------------------- */
/* The load loop                                                                              */
/* ----------------------------------------------------------------------------------------- */

typedef struct in_flight {
  uint64_t request_id;
  uint32_t call;
} in_flight;

typedef struct bench_connection {
  leerplek_client *client; /* owns the socket */
  int fd;
  unsigned index;
  uint64_t next_request_id;
  unsigned char *out; /* the current batch's frames */
  size_t out_len, out_sent, out_capacity;
  unsigned char *in; /* received bytes not yet parsed */
  size_t in_len, in_capacity;
  in_flight *expected; /* the batch's requests in order */
  unsigned expected_count, expected_next;
  uint64_t batch_sent_ns;
  bool writing; /* EPOLLOUT is armed */
  bool finished;
} bench_connection;

typedef struct shared_state {
  const bench_options *options;
  const template_pool *reads;
  const template_pool *writes;
  atomic_uint_fast64_t issued; /* requests claimed by all threads, for -n */
  uint64_t start_ns;
  uint64_t deadline_ns; /* 0 = none */
  atomic_bool failed;   /* a transport error: every thread stops */
} shared_state;

typedef struct thread_state {
  shared_state *shared;
  bench_connection *connections;
  unsigned connection_count;
  int epoll_fd;
  uint64_t random;
  histogram latency;
  uint64_t completed;
  uint64_t status_counts[STATUS_CODE_COUNT];
  uint64_t unknown_status; /* codes outside 0..16 */
  uint64_t wrong_body;     /* OK but another body than the call */
  uint64_t transport_errors;
  bool example_printed[STATUS_CODE_COUNT];
  uint64_t last_response_ns;
  char transport_error[256];
} thread_state;

/* Claims up to want requests from the global -n budget; returns how many were granted. */
static unsigned claim_requests(shared_state *shared, unsigned want) {
  uint64_t limit = shared->options->requests;
  if (limit == 0) return want;
  uint64_t before = atomic_fetch_add(&shared->issued, want);
  if (before >= limit) return 0;
  return before + want <= limit ? want : (unsigned)(limit - before);
}

static void set_transport_error(thread_state *thread, bench_connection *connection, const char *what) {
  if (thread->transport_error[0] == '\0')
    snprintf(thread->transport_error, sizeof thread->transport_error, "connection %u: %s", connection->index, what);
  thread->transport_errors++;
  connection->finished = true;
  atomic_store(&thread->shared->failed, true);
}

static void arm_write(thread_state *thread, bench_connection *connection, bool on) {
  if (connection->writing == on) return;
  struct epoll_event event = {.events = EPOLLIN | (on ? EPOLLOUT : 0u), .data.ptr = connection};
  epoll_ctl(thread->epoll_fd, EPOLL_CTL_MOD, connection->fd, &event);
  connection->writing = on;
}

/* Writes what is left of the batch; arms EPOLLOUT if the socket is full. */
static void write_pending(thread_state *thread, bench_connection *connection) {
  while (connection->out_sent < connection->out_len) {
    ssize_t n = send(connection->fd, connection->out + connection->out_sent, connection->out_len - connection->out_sent,
                     MSG_NOSIGNAL);
    if (n > 0) {
      connection->out_sent += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      arm_write(thread, connection, true);
      return;
    }
    set_transport_error(thread, connection, n < 0 ? strerror(errno) : "send returned 0");
    return;
  }
  arm_write(thread, connection, false);
}

/* Starts the connection's next batch, or marks it finished when the run is over. */
static void start_batch(thread_state *thread, bench_connection *connection) {
  shared_state *shared = thread->shared;
  const bench_options *options = shared->options;
  uint64_t now = now_ns();
  if (atomic_load(&shared->failed) || (shared->deadline_ns && now >= shared->deadline_ns)) {
    connection->finished = true;
    return;
  }
  unsigned count = claim_requests(shared, options->pipeline);
  if (count == 0) {
    connection->finished = true;
    return;
  }
  connection->out_len = 0;
  connection->out_sent = 0;
  for (unsigned k = 0; k < count; k++) {
    uint64_t random = next_random(&thread->random);
    bool read =
        options->read_percent == 100 || (options->read_percent > 0 && (unsigned)(random % 100) < options->read_percent);
    const request_template *template =
        read ? pick_read(shared->reads, random >> 7) : &shared->writes->items[(random >> 7) % shared->writes->count];
    uint64_t id = connection->next_request_id++;
    size_t body = 1 + varint_size(id) + template->size;
    unsigned char *frame = connection->out + connection->out_len;
    leerplek_frame_put_length(frame, (uint32_t)body);
    frame[4] = 0x08; /* field 1 (request_id), varint */
    size_t at = 5 + put_varint(frame + 5, id);
    memcpy(frame + at, template->bytes, template->size);
    connection->out_len += at + template->size;
    connection->expected[k] = (in_flight){id, template->call};
  }
  connection->expected_count = count;
  connection->expected_next = 0;
  connection->batch_sent_ns = now;
  write_pending(thread, connection);
}

static bool read_varint(const unsigned char **at, const unsigned char *end, uint64_t *out) {
  uint64_t value = 0;
  for (unsigned shift = 0; shift < 64 && *at < end; shift += 7) {
    unsigned char byte = *(*at)++;
    value |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *out = value;
      return true;
    }
  }
  return false;
}

/* Reads a Response's request_id, status code and body field number from its encoding without
 * unpacking it. Bounded by size; false when the bytes are not a well-formed message. */
static bool scan_response(const unsigned char *bytes, size_t size, uint64_t *request_id, int *code,
                          uint32_t *body_field) {
  const unsigned char *at = bytes, *end = bytes + size;
  bool has_status = false;
  *request_id = 0;
  *code = CODE(OK_UNSPECIFIED);
  *body_field = 0;
  while (at < end) {
    uint64_t key, value;
    if (!read_varint(&at, end, &key)) return false;
    uint64_t field = key >> 3;
    switch (key & 7) {
    case 0:
      if (!read_varint(&at, end, &value)) return false;
      if (field == 1) *request_id = value;
      break;
    case 1:
      if (end - at < 8) return false;
      at += 8;
      break;
    case 5:
      if (end - at < 4) return false;
      at += 4;
      break;
    case 2: {
      if (!read_varint(&at, end, &value) || value > (uint64_t)(end - at)) return false;
      const unsigned char *inner = at, *inner_end = at + value;
      if (field == 2) {
        has_status = true;
        while (inner < inner_end) { /* Status: code is field 1, a varint */
          uint64_t inner_key, inner_value;
          if (!read_varint(&inner, inner_end, &inner_key)) return false;
          unsigned wire = (unsigned)(inner_key & 7);
          if (wire == 0) {
            if (!read_varint(&inner, inner_end, &inner_value)) return false;
            if ((inner_key >> 3) == 1) *code = inner_value > INT_MAX ? -1 : (int)inner_value;
          } else if (wire == 2) {
            if (!read_varint(&inner, inner_end, &inner_value) || inner_value > (uint64_t)(inner_end - inner))
              return false;
            inner += inner_value;
          } else if (wire == 1 && inner_end - inner >= 8) {
            inner += 8;
          } else if (wire == 5 && inner_end - inner >= 4) {
            inner += 4;
          } else {
            return false;
          }
        }
      } else if (field >= 10 && field <= UINT32_MAX) {
        *body_field = (uint32_t)field;
      }
      at += value;
      break;
    }
    default: return false;
    }
  }
  if (!has_status) *code = CODE(INTERNAL); /* the contract: no status means INTERNAL */
  return true;
}

/* Prints the daemon's explanation for the first failure of each status code. */
static void print_failure_example(thread_state *thread, const unsigned char *bytes, size_t size, int code) {
  if (code < 0 || code >= STATUS_CODE_COUNT || thread->example_printed[code]) return;
  thread->example_printed[code] = true;
  Leerplek__V1__Response *response = leerplek__v1__response__unpack(NULL, size, bytes);
  fprintf(stderr, "leerplek-bench: first %s: %s (field '%s')\n", leerplek_status_name(code),
          response && response->status ? response->status->message : "no message",
          response && response->status ? response->status->field : "");
  if (response) leerplek__v1__response__free_unpacked(response, NULL);
}

/* Handles one response frame of connection; false on a protocol violation (reported). */
static bool handle_response(thread_state *thread, bench_connection *connection, const unsigned char *bytes, size_t size,
                            uint64_t received_ns) {
  if (connection->expected_next >= connection->expected_count) {
    set_transport_error(thread, connection, "a response arrived that no request asked for");
    return false;
  }
  in_flight expected = connection->expected[connection->expected_next++];
  uint64_t request_id;
  int code;
  uint32_t body_field;
  if (!scan_response(bytes, size, &request_id, &code, &body_field)) {
    set_transport_error(thread, connection, "a response frame does not parse as a Response");
    return false;
  }
  if (request_id != expected.request_id) {
    char what[160];
    snprintf(what, sizeof what, "response for request %" PRIu64 " arrived where %" PRIu64 " was expected", request_id,
             expected.request_id);
    set_transport_error(thread, connection, what);
    return false;
  }
  histogram_add(&thread->latency, received_ns - connection->batch_sent_ns, 1);
  thread->completed++;
  if (code < 0 || code >= STATUS_CODE_COUNT) {
    thread->unknown_status++;
  } else {
    thread->status_counts[code]++;
    if (code != CODE(OK_UNSPECIFIED))
      print_failure_example(thread, bytes, size, code);
    else if (body_field != expected.call)
      thread->wrong_body++;
  }
  return true;
}

/* Reads what the socket has and handles every complete frame; starts the next batch when the
 * current one is fully answered. */
static void read_responses(thread_state *thread, bench_connection *connection) {
  for (;;) {
    if (connection->in_capacity - connection->in_len < 4096) {
      if (connection->in_capacity >= 2 * (size_t)MAX_RESPONSE_FRAME + 8) {
        set_transport_error(thread, connection, "input buffer limit reached");
        return;
      }
      size_t capacity = connection->in_capacity * 2;
      unsigned char *grown = realloc(connection->in, capacity);
      if (!grown) {
        set_transport_error(thread, connection, "out of memory for responses");
        return;
      }
      connection->in = grown;
      connection->in_capacity = capacity;
    }
    ssize_t n =
        recv(connection->fd, connection->in + connection->in_len, connection->in_capacity - connection->in_len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      set_transport_error(thread, connection, n == 0 ? "the daemon closed the connection" : strerror(errno));
      return;
    }
    uint64_t received = now_ns();
    connection->in_len += (size_t)n;
    size_t at = 0;
    while (connection->in_len - at >= LEERPLEK_FRAME_HEADER_SIZE) {
      const unsigned char *header = connection->in + at;
      uint32_t size = leerplek_frame_get_length(header);
      if (size > MAX_RESPONSE_FRAME) {
        set_transport_error(thread, connection, "a response frame is larger than 1 MiB");
        return;
      }
      if (connection->in_len - at - LEERPLEK_FRAME_HEADER_SIZE < size) break;
      if (!handle_response(thread, connection, header + LEERPLEK_FRAME_HEADER_SIZE, size, received)) return;
      at += LEERPLEK_FRAME_HEADER_SIZE + (size_t)size;
      thread->last_response_ns = received;
    }
    memmove(connection->in, connection->in + at, connection->in_len - at);
    connection->in_len -= at;
    if (connection->expected_next == connection->expected_count && connection->out_sent == connection->out_len) {
      if (connection->in_len != 0) {
        set_transport_error(thread, connection, "bytes arrived after the last response of a batch");
        return;
      }
      start_batch(thread, connection);
      if (connection->finished) return;
    }
  }
}

static void *run_thread(void *argument) {
  thread_state *thread = argument;
  struct epoll_event events[256];
  unsigned active = thread->connection_count;
  for (unsigned i = 0; i < thread->connection_count; i++) {
    start_batch(thread, &thread->connections[i]);
    if (thread->connections[i].finished) active--;
  }
  while (active > 0) {
    if (atomic_load(&thread->shared->failed)) break;
    int ready = epoll_wait(thread->epoll_fd, events, (int)(sizeof events / sizeof events[0]), 1000);
    if (ready < 0) {
      if (errno == EINTR) continue;
      snprintf(thread->transport_error, sizeof thread->transport_error, "epoll_wait: %s", strerror(errno));
      thread->transport_errors++;
      atomic_store(&thread->shared->failed, true);
      break;
    }
    for (int e = 0; e < ready; e++) {
      bench_connection *connection = events[e].data.ptr;
      if (connection->finished) continue;
      if (events[e].events & EPOLLOUT) write_pending(thread, connection);
      if (!connection->finished && (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        read_responses(thread, connection);
      if (connection->finished) {
        epoll_ctl(thread->epoll_fd, EPOLL_CTL_DEL, connection->fd, NULL);
        active--;
      }
    }
  }
  return NULL;
}

/* ----------------------------------------------------------------------------------------- */
/* Memory per idle connection                                                                 */
/* ----------------------------------------------------------------------------------------- */

/* The daemon's resident set in KiB, or -1 (reported). */
static long read_rss_kib(long pid) {
  long long bytes = lp_proc_status_bytes(pid, "VmRSS");
  if (bytes < 0) fprintf(stderr, "leerplek-bench: /proc/%ld/status has no VmRSS line (or cannot be read)\n", pid);
  return bytes < 0 ? -1 : (long)(bytes / 1024);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Opens K connections (each with Hello, so the daemon holds its per-connection state) and
 * reports the daemon's RSS growth per connection. 0, or -1 on failure (reported). */
static int measure_idle_connections(const bench_options *options, const char *token) {
  unsigned count = options->idle_connections;
  leerplek_client **clients = calloc(count, sizeof *clients);
  if (!clients) return -1;
  int status = -1;
  sleep_ms(200); /* let the daemon settle after the preload */
  long before = read_rss_kib(options->daemon_pid);
  if (before < 0) goto done;
  char error[512];
  for (unsigned i = 0; i < count; i++) {
    if (leerplek_connect(options->address, token, &clients[i], error, sizeof error) != 0) {
      fprintf(stderr,
              "leerplek-bench: idle connection %u of %u: %s (raise the daemon's max_connections "
              "and this shell's ulimit -n?)\n",
              i + 1, count, error);
      goto done;
    }
  }
  sleep_ms(200);
  long after = read_rss_kib(options->daemon_pid);
  if (after < 0) goto done;
  double per_connection = (double)(after - before) * 1024.0 / count;
  printf("memory: daemon RSS %ld KiB before, %ld KiB with %u more idle connections (after Hello): "
         "%.0f bytes per connection\n",
         before, after, count, per_connection);
  printf("MEMORY connections=%u rss_before_kib=%ld rss_after_kib=%ld bytes_per_connection=%.0f\n", count, before, after,
         per_connection);
  status = 0;
done:
  for (unsigned i = 0; i < count; i++) leerplek_close(clients[i]);
  free(clients);
  return status;
}

/* ----------------------------------------------------------------------------------------- */
/* main                                                                                       */
/* ----------------------------------------------------------------------------------------- */

static int open_load_connections(const bench_options *options, const char *token, bench_connection *connections,
                                 size_t frame_capacity) {
  char error[512];
  for (unsigned i = 0; i < options->connections; i++) {
    bench_connection *connection = &connections[i];
    connection->index = i;
    connection->next_request_id = 1u << 20; /* clear of the ids libleerplek used for Hello */
    if (leerplek_connect(options->address, token, &connection->client, error, sizeof error) != 0) {
      fprintf(stderr, "leerplek-bench: connection %u: %s\n", i + 1, error);
      return -1;
    }
    connection->fd = leerplek_fd(connection->client);
    int flags = fcntl(connection->fd, F_GETFL);
    if (flags < 0 || fcntl(connection->fd, F_SETFL, flags | O_NONBLOCK) != 0) {
      fprintf(stderr, "leerplek-bench: connection %u: fcntl: %s\n", i + 1, strerror(errno));
      return -1;
    }
    connection->out_capacity = frame_capacity * options->pipeline;
    connection->out = malloc(connection->out_capacity);
    connection->in_capacity = 64 * 1024;
    connection->in = malloc(connection->in_capacity);
    connection->expected = calloc(options->pipeline, sizeof *connection->expected);
    if (!connection->out || !connection->in || !connection->expected) {
      fprintf(stderr, "leerplek-bench: out of memory for connection buffers\n");
      return -1;
    }
  }
  return 0;
}

static void close_load_connections(bench_connection *connections, unsigned count) {
  for (unsigned i = 0; i < count; i++) {
    leerplek_close(connections[i].client);
    free(connections[i].out);
    free(connections[i].in);
    free(connections[i].expected);
  }
}

int main(int argc, char **argv) {
  bench_options options;
  int parsed = parse_options(argc, argv, &options);
  if (parsed == 1) {
    print_usage(stdout);
    return 0;
  }
  if (parsed != 0) return 2;

  char token[256];
  if (obtain_coordinator_token(&options, token, sizeof token) != 0) return 2;

  if (!options.skip_preload) {
    char error[512];
    leerplek_client *client = NULL;
    if (leerplek_connect(options.address, token, &client, error, sizeof error) != 0) {
      fprintf(stderr, "leerplek-bench: %s\n", error);
      return 2;
    }
    uint64_t started = now_ns();
    int rc = preload(client);
    leerplek_close(client);
    if (rc != 0) return 2;
    fprintf(stderr,
            "leerplek-bench: preloaded %u trainings, %u companies and locations, %u vacancies, %u pupils "
            "in %.2f s\n",
            BENCH_TRAININGS, BENCH_COMPANIES, BENCH_VACANCIES, BENCH_PUPILS, (double)(now_ns() - started) / 1e9);
  }

  if (options.idle_connections > 0 && measure_idle_connections(&options, token) != 0) return 2;
  if (options.requests == 0 && options.duration_s == 0.0) return 0;

  template_pool reads = {0}, writes = {0};
  if (build_read_pool(&reads, token) != 0 || build_write_pool(&writes, token) != 0) {
    fprintf(stderr, "leerplek-bench: out of memory building requests\n");
    return 2;
  }
  /* A frame: 4-byte length, request_id tag and varint (at most 11 bytes), the template. */
  size_t frame_capacity = 4 + 11 + (reads.largest > writes.largest ? reads.largest : writes.largest);

  int exit_status = 2;
  bench_connection *connections = calloc(options.connections, sizeof *connections);
  thread_state *threads = calloc(options.threads, sizeof *threads);
  pthread_t *thread_ids = calloc(options.threads, sizeof *thread_ids);
  shared_state shared = {.options = &options, .reads = &reads, .writes = &writes};
  atomic_init(&shared.issued, 0);
  atomic_init(&shared.failed, false);
  if (!connections || !threads || !thread_ids) {
    fprintf(stderr, "leerplek-bench: out of memory\n");
    goto cleanup;
  }
  if (open_load_connections(&options, token, connections, frame_capacity) != 0) goto cleanup;

  /* Connections are dealt to threads in contiguous slices; each thread owns its epoll set. */
  for (unsigned t = 0; t < options.threads; t++) {
    thread_state *thread = &threads[t];
    unsigned first = (unsigned)((uint64_t)options.connections * t / options.threads);
    unsigned last = (unsigned)((uint64_t)options.connections * (t + 1) / options.threads);
    thread->shared = &shared;
    thread->connections = &connections[first];
    thread->connection_count = last - first;
    thread->random = UINT64_C(0x9E3779B97F4A7C15) * (t + 1);
    thread->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (thread->epoll_fd < 0) {
      fprintf(stderr, "leerplek-bench: epoll_create1: %s\n", strerror(errno));
      goto cleanup;
    }
    for (unsigned i = first; i < last; i++) {
      struct epoll_event event = {.events = EPOLLIN, .data.ptr = &connections[i]};
      if (epoll_ctl(thread->epoll_fd, EPOLL_CTL_ADD, connections[i].fd, &event) != 0) {
        fprintf(stderr, "leerplek-bench: epoll_ctl: %s\n", strerror(errno));
        goto cleanup;
      }
    }
  }

  double cpu_before = process_cpu_seconds();
  shared.start_ns = now_ns();
  if (options.duration_s > 0.0) shared.deadline_ns = shared.start_ns + (uint64_t)(options.duration_s * 1e9);
  unsigned started_threads = 0;
  for (; started_threads < options.threads; started_threads++)
    if (pthread_create(&thread_ids[started_threads], NULL, run_thread, &threads[started_threads]) != 0) {
      fprintf(stderr, "leerplek-bench: could not start thread %u\n", started_threads + 1);
      atomic_store(&shared.failed, true);
      break;
    }
  for (unsigned t = 0; t < started_threads; t++) pthread_join(thread_ids[t], NULL);
  if (started_threads < options.threads) goto cleanup;

  histogram *total = calloc(1, sizeof *total);
  if (!total) goto cleanup;
  uint64_t completed = 0, status_counts[STATUS_CODE_COUNT] = {0}, unknown_status = 0, wrong_body = 0;
  uint64_t transport_errors = 0, end_ns = shared.start_ns;
  for (unsigned t = 0; t < options.threads; t++) {
    histogram_merge(total, &threads[t].latency);
    completed += threads[t].completed;
    for (unsigned c = 0; c < STATUS_CODE_COUNT; c++) status_counts[c] += threads[t].status_counts[c];
    unknown_status += threads[t].unknown_status;
    wrong_body += threads[t].wrong_body;
    transport_errors += threads[t].transport_errors;
    if (threads[t].last_response_ns > end_ns) end_ns = threads[t].last_response_ns;
    if (threads[t].transport_error[0])
      fprintf(stderr, "leerplek-bench: transport error: %s\n", threads[t].transport_error);
  }
  double seconds = (double)(end_ns - shared.start_ns) / 1e9;
  double client_cpu = seconds > 0.0 ? (process_cpu_seconds() - cpu_before) / seconds : 0.0;
  double per_second = seconds > 0.0 ? (double)completed / seconds : 0.0;
  uint64_t errors = unknown_status + wrong_body + transport_errors;
  for (unsigned c = 1; c < STATUS_CODE_COUNT; c++) errors += status_counts[c];

  const char *calls = options.read_percent == 100 ? "get_training/get_vacancy/get_pupil"
                      : options.read_percent == 0 ? "upsert_training/update_vacancy"
                                                  : "reads get_*, writes upsert_training/update_vacancy";
  printf("leerplek-bench: %s (%s), %u connections, pipeline %u, %u client thread%s\n", options.mix_name, calls,
         options.connections, options.pipeline, options.threads, options.threads == 1 ? "" : "s");
  printf("  requests    %" PRIu64 " in %.3f s\n", completed, seconds);
  printf("  throughput  %.0f requests/s\n", per_second);
  printf("  latency     p50 %.3f ms   p99 %.3f ms   p99.9 %.3f ms   max %.3f ms\n", histogram_quantile_ms(total, 0.50),
         histogram_quantile_ms(total, 0.99), histogram_quantile_ms(total, 0.999), (double)total->max_ns / 1e6);
  printf("  client CPU  %.0f%% of one core (all client threads)\n", client_cpu * 100.0);
  printf("  errors      %" PRIu64 "%s\n", errors, errors ? " (INVALID RUN)" : "");
  for (unsigned c = 1; c < STATUS_CODE_COUNT; c++)
    if (status_counts[c]) printf("    %-20s %" PRIu64 "\n", leerplek_status_name((int)c), status_counts[c]);
  if (unknown_status) printf("    %-20s %" PRIu64 "\n", "unknown status code", unknown_status);
  if (wrong_body) printf("    %-20s %" PRIu64 "\n", "OK with wrong body", wrong_body);
  if (transport_errors) printf("    %-20s %" PRIu64 "\n", "transport", transport_errors);
  printf("RESULT mix=%s connections=%u pipeline=%u threads=%u requests=%" PRIu64 " seconds=%.3f rps=%.0f "
         "p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f client_cpu=%.2f errors=%" PRIu64 "\n",
         options.mix_name, options.connections, options.pipeline, options.threads, completed, seconds, per_second,
         histogram_quantile_ms(total, 0.50), histogram_quantile_ms(total, 0.99), histogram_quantile_ms(total, 0.999),
         (double)total->max_ns / 1e6, client_cpu, errors);
  free(total);
  exit_status = errors || completed == 0 ? 1 : 0;

cleanup:
  if (threads)
    for (unsigned t = 0; t < options.threads; t++)
      if (threads[t].epoll_fd > 0) close(threads[t].epoll_fd);
  if (connections) close_load_connections(connections, options.connections);
  free(connections);
  free(threads);
  free(thread_ids);
  pool_free(&reads);
  pool_free(&writes);
  return exit_status;
}
