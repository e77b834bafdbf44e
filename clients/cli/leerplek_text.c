/* leerplek_text: strict parsers and their matching formatters for the text forms of proto
 * values (day masks, fixed-point decimals, dates, times, booleans, enums, id lists) used by
 * the `leerplek` tool's CSV files, flags and tables. See leerplek_text.h for the forms. */
#include "leerplek_text.h"

#include "leerplek_i18n.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const dutch_day_names[7] = {"ma", "di", "wo", "do", "vr", "za", "zo"};
static const char day_letters[8] = "MTWTFSS";
static int dutch_days;

void lp_text_set_dutch_days(int on) { dutch_days = on; }

static int decimal_comma;

void lp_text_set_decimal_comma(int on) { decimal_comma = on; }
char lp_decimal_mark(void) { return decimal_comma ? ',' : '.'; }

static int fail(char *why, size_t why_size, const char *format, ...) {
  if (why && why_size) {
    va_list args;
    va_start(args, format);
    vsnprintf(why, why_size, format, args);
    va_end(args);
  }
  return -1;
}

static int equal_ignoring_case(const char *a, size_t a_len, const char *b) {
  size_t b_len = strlen(b);
  if (a_len != b_len) return 0;
  for (size_t i = 0; i < a_len; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 0;
  return 1;
}

/* Parses "mon,tue" (one week's days) into bits 0..6; spaces around names are allowed. */
static int parse_week(const char *text, size_t len, uint32_t *week, char *why, size_t why_size) {
  *week = 0;
  size_t blank = 0;
  while (blank < len && isspace((unsigned char)text[blank])) blank++;
  if (blank == len) return 0; /* "A:" alone: no days that week */
  size_t start = 0;
  while (start <= len) {
    size_t end = start;
    while (end < len && text[end] != ',') end++;
    size_t a = start, b = end;
    while (a < b && isspace((unsigned char)text[a])) a++;
    while (b > a && isspace((unsigned char)text[b - 1])) b--;
    if (a == b) return fail(why, why_size, _("empty day name in \"%.*s\""), (int)len, text);
    int found = -1;
    for (int d = 0; d < 7; d++)
      if (equal_ignoring_case(text + a, b - a, day_names[d]) ||
          equal_ignoring_case(text + a, b - a, dutch_day_names[d]))
        found = d;
    if (found < 0)
      return fail(why, why_size, _("unknown day \"%.*s\" (use mon tue wed thu fri sat sun, or ma di wo do vr za zo)"),
                  (int)(b - a > 20 ? 20 : b - a), text + a);
    *week |= 1u << found;
    start = end + 1;
  }
  return 0;
}

static int parse_positional(const char *text, uint32_t *mask, char *why, size_t why_size) {
  uint32_t result = 0;
  for (int i = 0; i < 14; i++) {
    char c = text[i];
    if (c == '.' || c == '-') continue;
    if (c == 'x' || c == 'X' || toupper((unsigned char)c) == day_letters[i % 7]) {
      result |= 1u << i;
      continue;
    }
    return fail(why, why_size, _("position %d of \"%s\" is '%c': expected '%c', 'x' or '.'"), i + 1, text, c,
                day_letters[i % 7]);
  }
  *mask = result;
  return 0;
}

int lp_days_parse(const char *text, uint32_t *mask, char *why, size_t why_size) {
  size_t len = strlen(text);
  if (len == 0) return fail(why, why_size, _("no days given"));
  if (len > 64) return fail(why, why_size, _("day list longer than 64 characters"));
  uint32_t result = 0;
  int looks_positional = len == 14 && strchr(text, ',') == NULL && strchr(text, ':') == NULL;
  if (looks_positional) {
    if (parse_positional(text, &result, why, why_size) != 0) return -1;
  } else if (strchr(text, ':')) {
    /* Per-week form: parts separated by ';', each "A:days" or "B:days". */
    int seen[2] = {0, 0};
    const char *part = text;
    while (*part) {
      const char *end = strchr(part, ';');
      size_t part_len = end ? (size_t)(end - part) : strlen(part);
      while (part_len && isspace((unsigned char)*part)) part++, part_len--;
      if (part_len < 2 || part[1] != ':' ||
          (toupper((unsigned char)part[0]) != 'A' && toupper((unsigned char)part[0]) != 'B'))
        return fail(why, why_size, _("expected \"A:days\" or \"B:days\" in \"%s\""), text);
      int week_b = toupper((unsigned char)part[0]) == 'B';
      if (seen[week_b]++) return fail(why, why_size, _("week %c given twice"), week_b ? 'B' : 'A');
      uint32_t week;
      if (parse_week(part + 2, part_len - 2, &week, why, why_size) != 0) return -1;
      result |= week << (week_b ? 7 : 0);
      if (!end) break;
      part = end + 1;
    }
  } else {
    uint32_t week;
    if (parse_week(text, len, &week, why, why_size) != 0) return -1;
    result = week | (week << 7);
  }
  if (result == 0) return fail(why, why_size, _("no workday in \"%s\""), text);
  *mask = result;
  return 0;
}

static void append(char *out, size_t out_size, size_t *used, const char *text) {
  size_t len = strlen(text);
  if (*used + len + 1 > out_size) return;
  memcpy(out + *used, text, len + 1);
  *used += len;
}

static void append_week(char *out, size_t out_size, size_t *used, uint32_t week) {
  int first = 1;
  for (int d = 0; d < 7; d++) {
    if (!(week & (1u << d))) continue;
    if (!first) append(out, out_size, used, ",");
    append(out, out_size, used, dutch_days ? dutch_day_names[d] : day_names[d]);
    first = 0;
  }
}

void lp_days_format(uint32_t mask, char *out, size_t out_size) {
  if (out_size == 0) return;
  out[0] = '\0';
  size_t used = 0;
  uint32_t week_a = mask & 0x7f, week_b = (mask >> 7) & 0x7f;
  if (week_a == week_b) {
    append_week(out, out_size, &used, week_a);
    return;
  }
  if (week_a) {
    append(out, out_size, &used, "A:");
    append_week(out, out_size, &used, week_a);
  }
  if (week_b) {
    if (week_a) append(out, out_size, &used, ";");
    append(out, out_size, &used, "B:");
    append_week(out, out_size, &used, week_b);
  }
}

int lp_fixed_parse(const char *text, int decimals, int64_t min, int64_t max, int64_t *out, char *why, size_t why_size) {
  const char *p = text;
  int negative = 0;
  if (*p == '-' || *p == '+') negative = *p++ == '-';
  if (!isdigit((unsigned char)*p)) return fail(why, why_size, _("\"%s\" is not a number"), text);
  int64_t scaled = 0;
  int integer_digits = 0;
  for (; isdigit((unsigned char)*p); p++) {
    if (++integer_digits > 12) return fail(why, why_size, _("\"%s\" is too large"), text);
    scaled = scaled * 10 + (*p - '0');
  }
  int fraction_digits = 0;
  if (*p == '.' || (*p == ',' && decimal_comma)) {
    p++;
    for (; isdigit((unsigned char)*p); p++) {
      if (++fraction_digits > decimals)
        return fail(why, why_size, _("\"%s\" has more than %d decimals"), text, decimals);
      scaled = scaled * 10 + (*p - '0');
    }
    if (fraction_digits == 0) return fail(why, why_size, _("\"%s\" ends in a decimal mark"), text);
  }
  if (*p == ',' && !decimal_comma)
    return fail(why, why_size,
                _("\"%s\" has a decimal comma: use '.', or --decimal-comma (implied by --delimiter ';')"), text);
  if (*p != '\0') return fail(why, why_size, _("\"%s\" is not a decimal number"), text);
  for (int i = fraction_digits; i < decimals; i++) scaled *= 10;
  if (negative) scaled = -scaled;
  if (scaled < min || scaled > max) {
    char low[LP_TEXT_MAX], high[LP_TEXT_MAX];
    lp_fixed_format(min, decimals, low, sizeof low);
    lp_fixed_format(max, decimals, high, sizeof high);
    return fail(why, why_size, _("%s is outside %s..%s"), text, low, high);
  }
  *out = scaled;
  return 0;
}

void lp_fixed_format(int64_t value, int decimals, char *out, size_t out_size) {
  uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
  uint64_t scale = 1;
  for (int i = 0; i < decimals; i++) scale *= 10;
  uint64_t whole = magnitude / scale, fraction = magnitude % scale;
  /* The fraction digits by hand (decimals is at most 18 here), then trailing zeros dropped. */
  char digits[24] = "";
  if (fraction && decimals > 0 && decimals < 20) {
    digits[0] = lp_decimal_mark();
    for (int i = decimals; i >= 1; i--, fraction /= 10) digits[i] = (char)('0' + fraction % 10);
    size_t len = (size_t)decimals + 1;
    digits[len] = '\0';
    while (len > 1 && digits[len - 1] == '0') digits[--len] = '\0';
  }
  snprintf(out, out_size, "%s%" PRIu64 "%s", value < 0 ? "-" : "", whole, digits);
}

int lp_latitude_parse(const char *text, int32_t *micro_degrees, char *why, size_t why_size) {
  int64_t value;
  if (lp_fixed_parse(text, 6, -90000000, 90000000, &value, why, why_size) != 0) return -1;
  *micro_degrees = (int32_t)value;
  return 0;
}

int lp_longitude_parse(const char *text, int32_t *micro_degrees, char *why, size_t why_size) {
  int64_t value;
  if (lp_fixed_parse(text, 6, -180000000, 180000000, &value, why, why_size) != 0) return -1;
  *micro_degrees = (int32_t)value;
  return 0;
}

int lp_u32_parse(const char *text, uint32_t min, uint32_t max, uint32_t *out, char *why, size_t why_size) {
  if (!*text) return fail(why, why_size, _("no number given"));
  uint64_t value = 0;
  for (const char *p = text; *p; p++) {
    if (!isdigit((unsigned char)*p)) return fail(why, why_size, _("\"%s\" is not a whole number"), text);
    value = value * 10 + (uint64_t)(*p - '0');
    if (value > UINT32_MAX) return fail(why, why_size, _("\"%s\" is too large"), text);
  }
  if (value < min || value > max)
    return fail(why, why_size, _("%s is outside %lu..%lu"), text, (unsigned long)min, (unsigned long)max);
  *out = (uint32_t)value;
  return 0;
}

static int days_in_month(int year, int month) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return days[month - 1] + (month == 2 && leap);
}

/* Reads exactly `count` digits. */
static int read_digits(const char *p, int count, int *value) {
  *value = 0;
  for (int i = 0; i < count; i++) {
    if (!isdigit((unsigned char)p[i])) return -1;
    *value = *value * 10 + (p[i] - '0');
  }
  return 0;
}

int lp_date_parse(const char *text, int *year, int *month, int *day, char *why, size_t why_size) {
  int y, m, d;
  if (strlen(text) != 10 || text[4] != '-' || text[7] != '-' || read_digits(text, 4, &y) ||
      read_digits(text + 5, 2, &m) || read_digits(text + 8, 2, &d))
    return fail(why, why_size, _("\"%s\" is not a date YYYY-MM-DD"), text);
  if (y < 2000 || y > 2100) return fail(why, why_size, _("year %d is outside 2000..2100"), y);
  if (m < 1 || m > 12) return fail(why, why_size, _("month %d is outside 1..12"), m);
  if (d < 1 || d > days_in_month(y, m))
    return fail(why, why_size, _("%s: day %d does not exist in that month"), text, d);
  *year = y, *month = m, *day = d;
  return 0;
}

void lp_date_format(int year, int month, int day, char *out, size_t out_size) {
  if (year == 0 && month == 0 && day == 0) {
    snprintf(out, out_size, "%s", "");
    return;
  }
  snprintf(out, out_size, "%04d-%02d-%02d", year, month, day);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (valid for the years we accept). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t year_of_era = y - era * 400;
  int64_t day_of_year = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

int lp_time_parse(const char *text, int64_t *unix_s, char *why, size_t why_size) {
  if (!*text) {
    *unix_s = 0;
    return 0;
  }
  char date[11];
  size_t len = strlen(text);
  if (len != 10 && len != 20)
    return fail(why, why_size, _("\"%s\" is not a time YYYY-MM-DDTHH:MM:SSZ or a date"), text);
  memcpy(date, text, 10);
  date[10] = '\0';
  int y, m, d, hh = 0, mm = 0, ss = 0;
  if (lp_date_parse(date, &y, &m, &d, why, why_size) != 0) return -1;
  if (len == 20) {
    if (text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z' || read_digits(text + 11, 2, &hh) ||
        read_digits(text + 14, 2, &mm) || read_digits(text + 17, 2, &ss) || hh > 23 || mm > 59 || ss > 59)
      return fail(why, why_size, _("\"%s\" is not a time YYYY-MM-DDTHH:MM:SSZ"), text);
  }
  *unix_s = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
  return 0;
}

void lp_time_format(int64_t unix_s, char *out, size_t out_size) {
  if (unix_s == 0) {
    snprintf(out, out_size, "%s", "");
    return;
  }
  /* Inverse of days_from_civil (H. Hinnant's algorithm), so no dependence on the C library's
   * time zone handling. */
  int64_t days = unix_s / 86400, seconds = unix_s % 86400;
  if (seconds < 0) seconds += 86400, days--;
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t day_of_era = z - era * 146097;
  int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  int64_t mp = (5 * day_of_year + 2) / 153;
  int64_t d = day_of_year - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = year_of_era + era * 400 + (m <= 2);
  snprintf(out, out_size, "%04" PRId64 "-%02" PRId64 "-%02" PRId64 "T%02d:%02d:%02dZ", y, m, d, (int)(seconds / 3600),
           (int)(seconds / 60 % 60), (int)(seconds % 60));
}

int lp_bool_parse(const char *text, int *value, char *why, size_t why_size) {
  static const char *const yes[] = {"true", "yes", "1"};
  static const char *const no[] = {"false", "no", "0", ""};
  size_t len = strlen(text);
  for (size_t i = 0; i < 3; i++)
    if (equal_ignoring_case(text, len, yes[i])) return *value = 1, 0;
  for (size_t i = 0; i < 4; i++)
    if (equal_ignoring_case(text, len, no[i])) return *value = 0, 0;
  return fail(why, why_size, _("\"%s\" is not true/false/yes/no/1/0"), text);
}

/* The prefix every value name of the enum shares: the UNSPECIFIED name minus "UNSPECIFIED". */
static size_t enum_prefix_length(const ProtobufCEnumDescriptor *descriptor) {
  for (unsigned i = 0; i < descriptor->n_values; i++) {
    const char *name = descriptor->values[i].name;
    const char *marker = strstr(name, "UNSPECIFIED");
    if (descriptor->values[i].value == 0 && marker) return (size_t)(marker - name);
  }
  return 0;
}

int lp_enum_parse(const ProtobufCEnumDescriptor *descriptor, const char *text, int *value, char *why, size_t why_size) {
  size_t prefix = enum_prefix_length(descriptor);
  size_t len = strlen(text);
  char accepted[256] = "";
  size_t used = 0;
  for (unsigned i = 0; i < descriptor->n_values; i++) {
    if (descriptor->values[i].value == 0) continue;
    const char *short_name = descriptor->values[i].name + prefix;
    int same = strlen(short_name) == len;
    for (size_t k = 0; same && k < len; k++) {
      char c = text[k] == '-' ? '_' : (char)toupper((unsigned char)text[k]);
      same = c == short_name[k];
    }
    if (same) {
      *value = descriptor->values[i].value;
      return 0;
    }
    char lower[64];
    lp_enum_format(descriptor, descriptor->values[i].value, lower, sizeof lower);
    if (used) append(accepted, sizeof accepted, &used, ", ");
    append(accepted, sizeof accepted, &used, lower);
  }
  return fail(why, why_size, _("\"%.40s\" is not one of %s"), text, accepted);
}

void lp_enum_format(const ProtobufCEnumDescriptor *descriptor, int value, char *out, size_t out_size) {
  if (out_size == 0) return;
  out[0] = '\0';
  if (value == 0) return;
  const ProtobufCEnumValue *found = protobuf_c_enum_descriptor_get_value(descriptor, value);
  if (!found) {
    snprintf(out, out_size, "%d", value);
    return;
  }
  const char *short_name = found->name + enum_prefix_length(descriptor);
  size_t i = 0;
  for (; short_name[i] && i + 1 < out_size; i++) out[i] = (char)tolower((unsigned char)short_name[i]);
  out[i] = '\0';
}

int lp_list_parse(const char *text, size_t max_items, char ***items, size_t *count, char *why, size_t why_size) {
  *items = NULL;
  *count = 0;
  char **result = NULL;
  size_t n = 0;
  const char *p = text;
  while (*p) {
    const char *end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *a = p, *b = p + len;
    while (a < b && isspace((unsigned char)*a)) a++;
    while (b > a && isspace((unsigned char)b[-1])) b--;
    if (a < b) {
      int duplicate = 0;
      for (size_t i = 0; i < n && !duplicate; i++)
        duplicate = strlen(result[i]) == (size_t)(b - a) && memcmp(result[i], a, (size_t)(b - a)) == 0;
      if (duplicate || n == max_items) {
        if (duplicate)
          fail(why, why_size, _("\"%.*s\" is listed twice"), (int)(b - a > 40 ? 40 : b - a), a);
        else
          fail(why, why_size, _("more than %zu items"), max_items);
        for (size_t i = 0; i < n; i++) free(result[i]);
        free(result);
        return -1;
      }
      char **grown = realloc(result, (n + 1) * sizeof *grown);
      char *item = grown ? malloc((size_t)(b - a) + 1) : NULL;
      if (!item) {
        if (grown) result = grown;
        for (size_t i = 0; i < n; i++) free(result[i]);
        free(result);
        return fail(why, why_size, _("out of memory"));
      }
      result = grown;
      memcpy(item, a, (size_t)(b - a));
      item[b - a] = '\0';
      result[n++] = item;
    }
    if (!end) break;
    p = end + 1;
  }
  *items = result;
  *count = n;
  return 0;
}
