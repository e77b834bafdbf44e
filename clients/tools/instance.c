/* instance.c: reads and writes the instance file format described in instance.h.
 *
 * Benchmark files have millions of lines, so the reader does its own buffering (one fread'd
 * block, lines found with memchr) and its own integer scanning instead of getline + sscanf;
 * reading from a fixed block is also what bounds the line length. Everything it allocates is
 * justified by lines already read: 'v', 'u', 'e' and 'f' records are appended to lists that
 * grow as their lines arrive, and arrays indexed by pupil or vacancy are only made once as
 * many 'u' (or 'v') lines as the 'p' line announced have been read, so a header that lies
 * about its counts (`p 1073741823 1073741823 0`) costs nothing until the lines are really there.
 */
#include "instance.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Big enough that fread is called rarely, and always larger than one full line. */
#define READ_BLOCK_SIZE (1u << 20)

/* The pair array starts at most this big and then doubles, so that an untrusted 'p' line
 * cannot reserve memory for pairs that never come. */
#define INITIAL_PAIR_CAPACITY 65536

/* The most numbers any record has ('e i j cost'); one more is read to detect extra fields. */
#define MAX_RECORD_NUMBERS 3

typedef struct {
  FILE *in;
  char *block;
  size_t start; /* unconsumed bytes are block[start..end) */
  size_t end;
  bool at_eof;
} line_reader;

typedef enum { LINE_OK, LINE_END, LINE_TOO_LONG, LINE_READ_ERROR } line_status;

/* Line numbers of the records of one kind, stored as runs: record k of a run is on line
 * first_line + (k - first_index). Records usually come in one contiguous block, so this is a
 * handful of runs instead of one number per pair, yet any record's line can be named. */
typedef struct {
  int64_t first_index;
  int64_t first_line;
} line_run;

typedef struct {
  line_run *runs;
  size_t count;
  size_t capacity;
} line_runs;

/* 'v' or 'u' records as read (vacancy or pupil, seats or penalty), in file order. */
typedef struct {
  int32_t index;
  int64_t value;
} indexed_value;

typedef struct {
  indexed_value *items;
  int64_t count;
  int64_t capacity;
  line_runs lines;
} indexed_values;

typedef struct {
  const char *source;
  char *error;
  size_t error_size;
  int error_kind; /* errno value to return with */
  int64_t line_number;

  bool have_header;
  int64_t header_line;
  int64_t pupil_count;
  int64_t vacancy_count;
  int64_t declared_pair_count;

  indexed_values vacancy_records;
  indexed_values pupil_records;
  /* Made from the records by place_vacancies/place_pupils once their lines are all in. */
  int64_t *unplaced_penalty;
  int32_t *seats;

  matcher_pair *pairs;
  int64_t pair_count;
  int64_t pair_capacity;
  line_runs pair_lines;

  matcher_fixed_pair *fixed;
  int64_t fixed_count;
  int64_t fixed_capacity;
  line_runs fixed_lines;
  int32_t *fixed_index_of_pupil; /* 0: not fixed, k + 1: fixed by record k */
} reader_state;

/* ---------------------------------------------------------------------------------------- */
/* Errors */

static void report(reader_state *state, int error_kind, int64_t line, const char *format, ...) {
  state->error_kind = error_kind;
  if (state->error == NULL || state->error_size == 0) return;
  int prefix = line > 0 ? snprintf(state->error, state->error_size, "%s:%lld: ", state->source, (long long)line)
                        : snprintf(state->error, state->error_size, "%s: ", state->source);
  if (prefix < 0 || (size_t)prefix >= state->error_size) return;
  va_list arguments;
  va_start(arguments, format);
  vsnprintf(state->error + prefix, state->error_size - (size_t)prefix, format, arguments);
  va_end(arguments);
}

static void report_no_memory(reader_state *state) { report(state, ENOMEM, state->line_number, "out of memory"); }

/* ---------------------------------------------------------------------------------------- */
/* Lines */

static line_status next_line(line_reader *reader, const char **line, size_t *length) {
  for (;;) {
    char *begin = reader->block + reader->start;
    size_t available = reader->end - reader->start;
    char *newline = memchr(begin, '\n', available);
    if (newline != NULL) {
      *line = begin;
      *length = (size_t)(newline - begin);
      reader->start += *length + 1;
      return *length > INSTANCE_LINE_MAX ? LINE_TOO_LONG : LINE_OK;
    }
    if (available > INSTANCE_LINE_MAX) return LINE_TOO_LONG;
    if (reader->at_eof) {
      if (available == 0) return LINE_END;
      *line = begin; /* a last line without its newline */
      *length = available;
      reader->start = reader->end;
      return LINE_OK;
    }
    memmove(reader->block, begin, available);
    reader->start = 0;
    reader->end = available;
    size_t got = fread(reader->block + reader->end, 1, READ_BLOCK_SIZE - reader->end, reader->in);
    reader->end += got;
    if (got == 0) {
      if (ferror(reader->in)) return LINE_READ_ERROR;
      reader->at_eof = true;
    }
  }
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Scans one whitespace-separated decimal integer starting at line[*position]. Returns 1 and
 * advances on success, 0 when the token is not an integer, -1 when it does not fit in int64.
 * Hand-written because sscanf/strtoll need a NUL-terminated copy and are several times
 * slower over millions of lines. */
static int scan_integer(const char *line, size_t length, size_t *position, int64_t *value) {
  size_t at = *position;
  bool negative = false;
  if (at < length && (line[at] == '-' || line[at] == '+')) {
    negative = line[at] == '-';
    at++;
  }
  size_t first_digit = at;
  uint64_t magnitude = 0;
  bool overflow = false;
  while (at < length && line[at] >= '0' && line[at] <= '9') {
    uint64_t digit = (uint64_t)(line[at] - '0');
    if (magnitude > (UINT64_MAX - digit) / 10)
      overflow = true;
    else
      magnitude = magnitude * 10 + digit;
    at++;
  }
  if (at == first_digit || (at < length && !is_blank(line[at]))) return 0;
  /* -2^63 is refused too: no field accepts a negative number anyway. */
  if (overflow || magnitude > (uint64_t)INT64_MAX) return -1;
  *value = negative ? -(int64_t)magnitude : (int64_t)magnitude;
  *position = at;
  return 1;
}

/* Length of the token at line[position], capped so messages stay short. */
static int token_length(const char *line, size_t length, size_t position) {
  size_t end = position;
  while (end < length && !is_blank(line[end])) end++;
  size_t token = end - position;
  return token > 40 ? 40 : (int)token;
}

typedef struct {
  char kind;
  const char *usage; /* for messages: the record as the format shows it */
  int count;         /* numbers after the kind letter */
  const char *names[MAX_RECORD_NUMBERS];
} record_shape;

static const record_shape header_shape = {
    'p', "p pupils vacancies pairs", 3, {"pupil count", "vacancy count", "pair count"}};
static const record_shape vacancy_shape = {'v', "v vacancy seats", 2, {"vacancy", "seats", NULL}};
static const record_shape pupil_shape = {'u', "u pupil penalty", 2, {"pupil", "unplaced penalty", NULL}};
static const record_shape pair_shape = {'e', "e pupil vacancy cost", 3, {"pupil", "vacancy", "cost"}};
static const record_shape fixed_shape = {'f', "f pupil vacancy", 2, {"pupil", "vacancy", NULL}};

/* Reads exactly shape->count integers after the kind letter at line[1]. */
static bool parse_numbers(reader_state *state, const record_shape *shape, const char *line, size_t length,
                          int64_t numbers[MAX_RECORD_NUMBERS]) {
  size_t position = 1;
  int found = 0;
  for (;;) {
    while (position < length && is_blank(line[position])) position++;
    if (position >= length) break;
    if (found == shape->count) {
      report(state, EINVAL, state->line_number,
             "'%c' line has more than %d numbers: extra field '%.*s' (expected '%s')", shape->kind, shape->count,
             token_length(line, length, position), line + position, shape->usage);
      return false;
    }
    int scanned = scan_integer(line, length, &position, &numbers[found]);
    if (scanned <= 0) {
      report(state, EINVAL, state->line_number, "'%c' line: %s '%.*s' is %s", shape->kind, shape->names[found],
             token_length(line, length, position), line + position, scanned == 0 ? "not an integer" : "out of range");
      return false;
    }
    found++;
  }
  if (found < shape->count) {
    report(state, EINVAL, state->line_number, "'%c' line has %d number%s, expected %d ('%s')", shape->kind, found,
           found == 1 ? "" : "s", shape->count, shape->usage);
    return false;
  }
  return true;
}

static bool check_range(reader_state *state, const record_shape *shape, int field, int64_t value, int64_t low,
                        int64_t high) {
  if (value >= low && value <= high) return true;
  if (high < low)
    report(state, EINVAL, state->line_number, "'%c' line: %s %lld out of range (there are none)", shape->kind,
           shape->names[field], (long long)value);
  else
    report(state, EINVAL, state->line_number, "'%c' line: %s %lld out of range %lld..%lld", shape->kind,
           shape->names[field], (long long)value, (long long)low, (long long)high);
  return false;
}

static bool note_line(reader_state *state, line_runs *runs, int64_t index) {
  if (runs->count > 0) {
    const line_run *last = &runs->runs[runs->count - 1];
    if (last->first_line + (index - last->first_index) == state->line_number) return true;
  }
  if (runs->count == runs->capacity) {
    size_t capacity = runs->capacity == 0 ? 16 : runs->capacity * 2;
    line_run *grown = realloc(runs->runs, capacity * sizeof *grown);
    if (grown == NULL) {
      report_no_memory(state);
      return false;
    }
    runs->runs = grown;
    runs->capacity = capacity;
  }
  runs->runs[runs->count++] = (line_run){index, state->line_number};
  return true;
}

static int64_t line_of(const line_runs *runs, int64_t index) {
  size_t low = 0, high = runs->count; /* the answer is the last run starting at or before index */
  while (high - low > 1) {
    size_t middle = low + (high - low) / 2;
    if (runs->runs[middle].first_index <= index)
      low = middle;
    else
      high = middle;
  }
  return runs->runs[low].first_line + (index - runs->runs[low].first_index);
}

/* ---------------------------------------------------------------------------------------- */
/* Records */

static bool read_header(reader_state *state, const int64_t numbers[]) {
  for (int field = 0; field < 2; field++)
    if (!check_range(state, &header_shape, field, numbers[field], 0, MATCHER_COUNT_MAX)) return false;
  int64_t possible_pairs = numbers[0] * numbers[1]; /* both <= 2^30: no overflow */
  if (!check_range(state, &header_shape, 2, numbers[2], 0, possible_pairs)) return false;
  state->have_header = true;
  state->header_line = state->line_number;
  state->pupil_count = numbers[0];
  state->vacancy_count = numbers[1];
  state->declared_pair_count = numbers[2];
  return true;
}

/* Appends a 'v' or 'u' record. At most limit + 1 are kept: one more than the header allows
 * already proves a repeat, which place_records then names. */
static bool add_record(reader_state *state, indexed_values *records, int64_t limit, int64_t index, int64_t value) {
  if (records->count == records->capacity) {
    int64_t capacity = records->capacity == 0 ? 64 : records->capacity * 2;
    if (capacity > limit + 1) capacity = limit + 1;
    indexed_value *grown = realloc(records->items, (size_t)capacity * sizeof *grown);
    if (grown == NULL) {
      report_no_memory(state);
      return false;
    }
    records->items = grown;
    records->capacity = capacity;
  }
  if (!note_line(state, &records->lines, records->count)) return false;
  records->items[records->count++] = (indexed_value){(int32_t)index, value};
  return true;
}

typedef struct {
  int32_t index;
  int64_t position; /* k: the record's place in file order */
} record_position;

static int by_index_then_position(const void *a, const void *b) {
  const record_position *x = a, *y = b;
  if (x->index != y->index) return x->index < y->index ? -1 : 1;
  return (x->position > y->position) - (x->position < y->position);
}

/* Checks the records of one kind against `size` (the header's count) and, when every index in
 * 0..size-1 is given exactly once, spreads their values over an array of size entries, which
 * the size records read justify. The first repeat in file order is refused on its line; a
 * missing index is refused at the end of input. Neither check allocates more than the records
 * read: they sort a copy of (index, position) pairs. */
static bool place_records(reader_state *state, const indexed_values *records, int64_t size, char kind, const char *what,
                          void **values, size_t value_size) {
  record_position *sorted = malloc(((size_t)records->count + 1) * sizeof *sorted);
  if (sorted == NULL) {
    report_no_memory(state);
    return false;
  }
  for (int64_t k = 0; k < records->count; k++) sorted[k] = (record_position){records->items[k].index, k};
  qsort(sorted, (size_t)records->count, sizeof *sorted, by_index_then_position);
  int64_t repeat = -1, missing = -1;
  for (int64_t n = 0; n < records->count; n++) {
    bool repeated = n > 0 && sorted[n].index == sorted[n - 1].index;
    if (repeated && (repeat < 0 || sorted[n].position < repeat)) repeat = sorted[n].position;
    int64_t expected = n == 0 ? 0 : sorted[n - 1].index + 1;
    if (!repeated && missing < 0 && sorted[n].index > expected) missing = expected;
  }
  if (missing < 0 && records->count > 0 && sorted[records->count - 1].index + 1 < size)
    missing = sorted[records->count - 1].index + 1;
  if (missing < 0 && records->count == 0 && size > 0) missing = 0;
  free(sorted);
  if (repeat >= 0) {
    report(state, EINVAL, line_of(&records->lines, repeat), "'%c' line: %s %d given twice", kind, what,
           records->items[repeat].index);
    return false;
  }
  if (missing >= 0) {
    report(state, EINVAL, state->line_number, "end of input: no '%c' line for %s %lld (%lld of %lld missing)", kind,
           what, (long long)missing, (long long)(size - records->count), (long long)size);
    return false;
  }
  /* +1: calloc(0) may return NULL, which would look like a failure. */
  *values = calloc((size_t)size + 1, value_size);
  if (*values == NULL) {
    report_no_memory(state);
    return false;
  }
  for (int64_t k = 0; k < records->count; k++) {
    const indexed_value *record = &records->items[k];
    if (value_size == sizeof(int32_t))
      ((int32_t *)*values)[record->index] = (int32_t)record->value;
    else
      ((int64_t *)*values)[record->index] = record->value;
  }
  return true;
}

static bool place_vacancies(reader_state *state) {
  return place_records(state, &state->vacancy_records, state->vacancy_count, 'v', "vacancy", (void **)&state->seats,
                       sizeof *state->seats);
}

static bool place_pupils(reader_state *state) {
  return place_records(state, &state->pupil_records, state->pupil_count, 'u', "pupil",
                       (void **)&state->unplaced_penalty, sizeof *state->unplaced_penalty);
}

static bool read_vacancy(reader_state *state, const int64_t numbers[]) {
  if (!check_range(state, &vacancy_shape, 0, numbers[0], 0, state->vacancy_count - 1) ||
      !check_range(state, &vacancy_shape, 1, numbers[1], 0, INT32_MAX))
    return false;
  if (!add_record(state, &state->vacancy_records, state->vacancy_count, numbers[0], numbers[1])) return false;
  if (state->vacancy_records.count > state->vacancy_count) {
    place_vacancies(state); /* more lines than vacancies: names the repeat */
    return false;
  }
  return true;
}

static bool read_pupil(reader_state *state, const int64_t numbers[]) {
  if (!check_range(state, &pupil_shape, 0, numbers[0], 0, state->pupil_count - 1) ||
      !check_range(state, &pupil_shape, 1, numbers[1], 0, MATCHER_VALUE_MAX))
    return false;
  if (!add_record(state, &state->pupil_records, state->pupil_count, numbers[0], numbers[1])) return false;
  if (state->pupil_records.count > state->pupil_count) {
    place_pupils(state); /* more lines than pupils: names the repeat */
    return false;
  }
  return true;
}

static bool read_pair(reader_state *state, const int64_t numbers[]) {
  if (!check_range(state, &pair_shape, 0, numbers[0], 0, state->pupil_count - 1) ||
      !check_range(state, &pair_shape, 1, numbers[1], 0, state->vacancy_count - 1) ||
      !check_range(state, &pair_shape, 2, numbers[2], 0, MATCHER_VALUE_MAX))
    return false;
  if (state->pair_count == state->declared_pair_count) {
    report(state, EINVAL, state->line_number, "more 'e' lines than the %lld the 'p' line on line %lld announced",
           (long long)state->declared_pair_count, (long long)state->header_line);
    return false;
  }
  if (state->pair_count == state->pair_capacity) {
    int64_t capacity = state->pair_capacity == 0 ? INITIAL_PAIR_CAPACITY : state->pair_capacity * 2;
    if (capacity > state->declared_pair_count) capacity = state->declared_pair_count;
    matcher_pair *grown = realloc(state->pairs, (size_t)capacity * sizeof *grown);
    if (grown == NULL) {
      report_no_memory(state);
      return false;
    }
    state->pairs = grown;
    state->pair_capacity = capacity;
  }
  if (!note_line(state, &state->pair_lines, state->pair_count)) return false;
  state->pairs[state->pair_count++] = (matcher_pair){(int32_t)numbers[0], (int32_t)numbers[1], numbers[2]};
  return true;
}

/* Refuses the first 'f' line (in file order) that fixes a pupil fixed before. Called once the
 * file is read (its 'u' lines justify an array per pupil) or when 'f' lines outnumber pupils. */
static bool check_fixed_once(reader_state *state) {
  if (state->fixed_count == 0) return true;
  state->fixed_index_of_pupil = calloc((size_t)state->pupil_count + 1, sizeof(int32_t));
  if (state->fixed_index_of_pupil == NULL) {
    report_no_memory(state);
    return false;
  }
  for (int64_t k = 0; k < state->fixed_count; k++) {
    int32_t pupil = state->fixed[k].pupil;
    int32_t earlier = state->fixed_index_of_pupil[pupil];
    if (earlier != 0) {
      report(state, EINVAL, line_of(&state->fixed_lines, k), "'f' line: pupil %d is already fixed on line %lld", pupil,
             (long long)line_of(&state->fixed_lines, earlier - 1));
      return false;
    }
    state->fixed_index_of_pupil[pupil] = (int32_t)(k + 1);
  }
  return true;
}

static bool read_fixed(reader_state *state, const int64_t numbers[]) {
  if (!check_range(state, &fixed_shape, 0, numbers[0], 0, state->pupil_count - 1) ||
      !check_range(state, &fixed_shape, 1, numbers[1], 0, state->vacancy_count - 1))
    return false;
  /* A pupil is fixed at most once, so one more than pupil_count already proves a repeat. */
  if (state->fixed_count == state->fixed_capacity) {
    int64_t capacity = state->fixed_capacity == 0 ? 64 : state->fixed_capacity * 2;
    if (capacity > state->pupil_count + 1) capacity = state->pupil_count + 1;
    matcher_fixed_pair *grown = realloc(state->fixed, (size_t)capacity * sizeof *grown);
    if (grown == NULL) {
      report_no_memory(state);
      return false;
    }
    state->fixed = grown;
    state->fixed_capacity = capacity;
  }
  if (!note_line(state, &state->fixed_lines, state->fixed_count)) return false;
  state->fixed[state->fixed_count++] = (matcher_fixed_pair){(int32_t)numbers[0], (int32_t)numbers[1]};
  if (state->fixed_count > state->pupil_count) {
    check_fixed_once(state); /* more lines than pupils: names the repeat */
    return false;
  }
  return true;
}

static bool read_record(reader_state *state, const char *line, size_t length) {
  size_t first = 0;
  while (first < length && is_blank(line[first])) first++;
  if (first == length || line[first] == 'c') return true; /* blank line or comment */
  line += first;
  length -= first;

  char kind = line[0];
  const record_shape *shape = NULL;
  switch (kind) {
  case 'p': shape = &header_shape; break;
  case 'v': shape = &vacancy_shape; break;
  case 'u': shape = &pupil_shape; break;
  case 'e': shape = &pair_shape; break;
  case 'f': shape = &fixed_shape; break;
  default: break;
  }
  if (shape == NULL || (length > 1 && !is_blank(line[1]))) {
    report(state, EINVAL, state->line_number, "unknown line kind '%.*s' (expected c, p, v, u, e or f)",
           token_length(line, length, 0), line);
    return false;
  }
  if (kind == 'p' && state->have_header) {
    report(state, EINVAL, state->line_number, "second 'p' line (the first is on line %lld)",
           (long long)state->header_line);
    return false;
  }
  if (kind != 'p' && !state->have_header) {
    report(state, EINVAL, state->line_number, "'%c' line before the 'p' line, which must come first", kind);
    return false;
  }
  int64_t numbers[MAX_RECORD_NUMBERS];
  if (!parse_numbers(state, shape, line, length, numbers)) return false;
  switch (kind) {
  case 'p': return read_header(state, numbers);
  case 'v': return read_vacancy(state, numbers);
  case 'u': return read_pupil(state, numbers);
  case 'e': return read_pair(state, numbers);
  default: return read_fixed(state, numbers);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Whole-file checks, once every line is in */

static bool check_counts(reader_state *state) {
  int64_t last_line = state->line_number;
  if (!state->have_header) {
    report(state, EINVAL, last_line, "no 'p' line (expected 'p pupils vacancies pairs' first)");
    return false;
  }
  if (!place_vacancies(state) || !place_pupils(state) || !check_fixed_once(state)) return false;
  if (state->pair_count < state->declared_pair_count) {
    report(state, EINVAL, last_line, "end of input after %lld 'e' lines, but the 'p' line on line %lld announced %lld",
           (long long)state->pair_count, (long long)state->header_line, (long long)state->declared_pair_count);
    return false;
  }
  return true;
}

static bool pairs_strictly_sorted(const matcher_pair *pairs, int64_t count) {
  for (int64_t k = 1; k < count; k++) {
    if (pairs[k].pupil < pairs[k - 1].pupil ||
        (pairs[k].pupil == pairs[k - 1].pupil && pairs[k].vacancy <= pairs[k - 1].vacancy))
      return false;
  }
  return true;
}

/* Pairs grouped by pupil: the pairs of pupil i are order[start[i] .. start[i + 1]), each group
 * in file order. Only built when the file's pairs are not already sorted. */
typedef struct {
  int64_t *start;
  int64_t *order;
} pairs_by_pupil;

static bool group_by_pupil(reader_state *state, pairs_by_pupil *groups) {
  int64_t pupils = state->pupil_count;
  groups->start = calloc((size_t)pupils + 1, sizeof *groups->start);
  groups->order = malloc(((size_t)state->pair_count + 1) * sizeof *groups->order);
  if (groups->start == NULL || groups->order == NULL) {
    report_no_memory(state);
    return false;
  }
  for (int64_t k = 0; k < state->pair_count; k++) groups->start[state->pairs[k].pupil + 1]++;
  for (int64_t i = 0; i < pupils; i++) groups->start[i + 1] += groups->start[i];
  /* Fill using start[i] as a cursor, then shift back: avoids a second offsets array. */
  for (int64_t k = 0; k < state->pair_count; k++) groups->order[groups->start[state->pairs[k].pupil]++] = k;
  for (int64_t i = pupils; i > 0; i--) groups->start[i] = groups->start[i - 1];
  groups->start[0] = 0;
  return true;
}

/* Finds the duplicate pair whose second occurrence comes first in the file. */
static bool check_duplicates(reader_state *state, const pairs_by_pupil *groups) {
  int64_t *seen_at = malloc(((size_t)state->vacancy_count + 1) * sizeof *seen_at);
  if (seen_at == NULL) {
    report_no_memory(state);
    return false;
  }
  for (int64_t j = 0; j < state->vacancy_count; j++) seen_at[j] = -1;
  int64_t duplicate = -1, original = -1;
  for (int64_t i = 0; i < state->pupil_count; i++) {
    for (int64_t position = groups->start[i]; position < groups->start[i + 1]; position++) {
      int64_t k = groups->order[position];
      int32_t vacancy = state->pairs[k].vacancy;
      /* seen_at holds positions, which only grow: one set during this pupil is >= start. */
      if (seen_at[vacancy] >= groups->start[i]) {
        if (duplicate < 0 || k < duplicate) {
          duplicate = k;
          original = groups->order[seen_at[vacancy]];
        }
      }
      seen_at[vacancy] = position;
    }
  }
  free(seen_at);
  if (duplicate >= 0) {
    report(state, EINVAL, line_of(&state->pair_lines, duplicate),
           "'e' line: pair (pupil %d, vacancy %d) given twice (first on line %lld)", state->pairs[duplicate].pupil,
           state->pairs[duplicate].vacancy, (long long)line_of(&state->pair_lines, original));
    return false;
  }
  return true;
}

static bool is_pair_sorted(const matcher_pair *pairs, int64_t count, int32_t pupil, int32_t vacancy) {
  int64_t low = 0, high = count;
  while (low < high) {
    int64_t middle = low + (high - low) / 2;
    const matcher_pair *pair = &pairs[middle];
    if (pair->pupil < pupil || (pair->pupil == pupil && pair->vacancy < vacancy))
      low = middle + 1;
    else
      high = middle;
  }
  return low < count && pairs[low].pupil == pupil && pairs[low].vacancy == vacancy;
}

static bool is_pair_grouped(const reader_state *state, const pairs_by_pupil *groups, int32_t pupil, int32_t vacancy) {
  for (int64_t position = groups->start[pupil]; position < groups->start[pupil + 1]; position++)
    if (state->pairs[groups->order[position]].vacancy == vacancy) return true;
  return false;
}

static bool check_pairs(reader_state *state) {
  bool sorted = pairs_strictly_sorted(state->pairs, state->pair_count);
  pairs_by_pupil groups = {NULL, NULL};
  bool ok = true;
  if (!sorted) /* sorted pairs cannot repeat; otherwise group them to find repeats */
    ok = group_by_pupil(state, &groups) && check_duplicates(state, &groups);
  for (int64_t k = 0; ok && k < state->fixed_count; k++) {
    const matcher_fixed_pair *fixed = &state->fixed[k];
    bool eligible = sorted ? is_pair_sorted(state->pairs, state->pair_count, fixed->pupil, fixed->vacancy)
                           : is_pair_grouped(state, &groups, fixed->pupil, fixed->vacancy);
    if (!eligible) {
      report(state, EINVAL, line_of(&state->fixed_lines, k),
             "'f' line: fixed pair (pupil %d, vacancy %d) has no 'e' line", fixed->pupil, fixed->vacancy);
      ok = false;
    }
  }
  free(groups.start);
  free(groups.order);
  return ok;
}

static void release_state(reader_state *state) {
  free(state->unplaced_penalty);
  free(state->seats);
  free(state->vacancy_records.items);
  free(state->vacancy_records.lines.runs);
  free(state->pupil_records.items);
  free(state->pupil_records.lines.runs);
  free(state->pairs);
  free(state->pair_lines.runs);
  free(state->fixed);
  free(state->fixed_lines.runs);
  free(state->fixed_index_of_pupil);
}

int instance_read(FILE *in, const char *source_name, instance *out, char *error, size_t error_size) {
  reader_state state = {0};
  state.source = source_name != NULL ? source_name : "<input>";
  state.error = error;
  state.error_size = error_size;
  if (error != NULL && error_size > 0) error[0] = '\0';
  memset(out, 0, sizeof *out);

  line_reader reader = {in, malloc(READ_BLOCK_SIZE), 0, 0, false};
  bool ok = reader.block != NULL;
  if (!ok) report_no_memory(&state);
  while (ok) {
    const char *line;
    size_t length;
    line_status status = next_line(&reader, &line, &length);
    if (status == LINE_END) break;
    state.line_number++;
    if (status == LINE_TOO_LONG) {
      report(&state, EINVAL, state.line_number, "line longer than %d characters", INSTANCE_LINE_MAX);
      ok = false;
    } else if (status == LINE_READ_ERROR) {
      int read_error = errno != 0 ? errno : EIO;
      report(&state, read_error, state.line_number, "read error: %s", strerror(read_error));
      ok = false;
    } else {
      ok = read_record(&state, line, length);
    }
  }
  free(reader.block);
  ok = ok && check_counts(&state) && check_pairs(&state);

  /* Empty arrays are still allocated, so the problem never holds a NULL array. */
  if (ok && state.pairs == NULL) {
    state.pairs = malloc(sizeof *state.pairs);
    ok = state.pairs != NULL;
  }
  if (ok && state.fixed == NULL) {
    state.fixed = malloc(sizeof *state.fixed);
    ok = state.fixed != NULL;
  }
  if (!ok && state.error_kind == 0) report_no_memory(&state);
  if (ok) {
    /* The pair array may be up to twice too big after doubling: give the rest back. */
    if (state.pair_count > 0 && state.pair_count < state.pair_capacity) {
      matcher_pair *shrunk = realloc(state.pairs, (size_t)state.pair_count * sizeof *shrunk);
      if (shrunk != NULL) state.pairs = shrunk;
    }
    out->unplaced_penalty = state.unplaced_penalty;
    out->seats = state.seats;
    out->pairs = state.pairs;
    out->fixed = state.fixed;
    out->problem = (matcher_problem){
        .pupil_count = (int32_t)state.pupil_count,
        .vacancy_count = (int32_t)state.vacancy_count,
        .unplaced_penalty = state.unplaced_penalty,
        .seats = state.seats,
        .pair_count = state.pair_count,
        .pairs = state.pairs,
        .fixed_count = state.fixed_count,
        .fixed = state.fixed,
    };
    matcher_error check_error;
    matcher_status status = matcher_check(&out->problem, &check_error);
    if (status == MATCHER_INVALID || status == MATCHER_NO_MEMORY) {
      report(&state, status == MATCHER_NO_MEMORY ? ENOMEM : EINVAL, 0, "%s: %s", matcher_status_name(status),
             check_error.message);
      ok = false;
    }
    /* MATCHER_INFEASIBLE is a well-formed file: solving it reports the conflict. */
    state.unplaced_penalty = NULL;
    state.seats = NULL;
    state.pairs = NULL;
    state.fixed = NULL;
    if (!ok) instance_free(out);
  }
  release_state(&state);
  if (!ok) {
    errno = state.error_kind != 0 ? state.error_kind : EINVAL;
    return -1;
  }
  return 0;
}

void instance_free(instance *inst) {
  if (inst == NULL) return;
  free(inst->unplaced_penalty);
  free(inst->seats);
  free(inst->pairs);
  free(inst->fixed);
  memset(inst, 0, sizeof *inst);
}

/* ---------------------------------------------------------------------------------------- */
/* Writing */

/* Output is formatted by hand into a block and written with fwrite: fprintf per number is the
 * slowest part of writing a multi-million-pair file. */
typedef struct {
  FILE *out;
  size_t used;
  bool failed;
  char block[16384];
} block_writer;

static void flush_block(block_writer *writer) {
  if (writer->used > 0 && !writer->failed && fwrite(writer->block, 1, writer->used, writer->out) != writer->used)
    writer->failed = true;
  writer->used = 0;
}

/* One record: a kind letter and up to three non-negative numbers. */
static void write_record(block_writer *writer, char kind, int count, int64_t a, int64_t b, int64_t c) {
  if (writer->used > sizeof writer->block - 80) /* a record is at most 2 + 3 * 21 characters */
    flush_block(writer);
  char *at = writer->block + writer->used;
  *at++ = kind;
  int64_t values[3] = {a, b, c};
  for (int field = 0; field < count; field++) {
    *at++ = ' ';
    /* Valid problems have no negative numbers, but an invalid one must not cause UB. */
    uint64_t value = values[field] < 0 ? 0 - (uint64_t)values[field] : (uint64_t)values[field];
    if (values[field] < 0) *at++ = '-';
    char digits[24];
    int length = 0;
    do {
      digits[length++] = (char)('0' + value % 10);
      value /= 10;
    } while (value > 0);
    while (length > 0) *at++ = digits[--length];
  }
  *at++ = '\n';
  writer->used = (size_t)(at - writer->block);
}

int instance_write(FILE *out, const matcher_problem *problem) {
  block_writer *writer = malloc(sizeof *writer);
  if (writer == NULL) {
    errno = ENOMEM;
    return -1;
  }
  writer->out = out;
  writer->used = 0;
  writer->failed = false;
  write_record(writer, 'p', 3, problem->pupil_count, problem->vacancy_count, problem->pair_count);
  for (int32_t j = 0; j < problem->vacancy_count; j++) write_record(writer, 'v', 2, j, problem->seats[j], 0);
  for (int32_t i = 0; i < problem->pupil_count; i++) write_record(writer, 'u', 2, i, problem->unplaced_penalty[i], 0);
  for (int64_t k = 0; k < problem->pair_count; k++)
    write_record(writer, 'e', 3, problem->pairs[k].pupil, problem->pairs[k].vacancy, problem->pairs[k].cost);
  for (int64_t k = 0; k < problem->fixed_count; k++)
    write_record(writer, 'f', 2, problem->fixed[k].pupil, problem->fixed[k].vacancy, 0);
  flush_block(writer);
  bool failed = writer->failed;
  free(writer);
  if (fflush(out) != 0 || ferror(out)) failed = true;
  return failed ? -1 : 0;
}
