/* leerplek_text: the readable text forms the `leerplek` tool uses for proto values in CSV files,
 * flags and tables: two-week day masks ("mon,tue" or "A:mon;B:wed" or "MT.....MT....."),
 * fixed-point decimals (degrees -> micro-degrees, km -> metres), dates, UTC times, booleans,
 * enum names and ';'-separated id lists. Every parser is strict and bounded and says what is
 * wrong in `why`; every formatter writes the form its parser reads back. */
#ifndef LEERPLEK_TEXT_H
#define LEERPLEK_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Room for any text written by the formatters below, including the terminating NUL. */
#define LP_TEXT_MAX 96

/* The widest day mask: bits 0..13 (Monday of week A .. Sunday of week B). */
#define LP_DAYS_ALL 0x3fffu

/* Day masks. Accepted forms:
 *   "mon,tue"            the same days in week A and week B
 *   "A:mon,tue;B:wed"    per week (either part may be left out; "A:" alone = none that week)
 *   "MT.....MT....."     14 positions Monday A..Sunday B: the day's letter (any case) or 'x'
 *                        = works, '.' or '-' = free
 * Day names are mon tue wed thu fri sat sun (case-insensitive). The result must be non-zero. */
int lp_days_parse(const char *text, uint32_t *mask, char *why, size_t why_size);
/* Dutch day names (ma di wo do vr za zo) are always accepted; with this on, lp_days_format
 * writes them (the tool's tables in Dutch; never --json or --csv). */
void lp_text_set_dutch_days(int on);
/* Writes "mon,tue" when both weeks are equal, else "A:mon,tue;B:wed" (an empty week left out);
 * "" for 0. */
void lp_days_format(uint32_t mask, char *out, size_t out_size);

/* A decimal number with at most `decimals` fraction digits (no exponent, optional sign),
 * scaled by 10^decimals into *out and checked against [min, max] (scaled units). */
int lp_fixed_parse(const char *text, int decimals, int64_t min, int64_t max, int64_t *out, char *why, size_t why_size);
/* Whether decimals may be written with a comma ("51,21"), as Flemish spreadsheets save them
 * in ';'-separated CSV: when on, lp_fixed_parse accepts ',' as well as '.' and
 * lp_fixed_format and lp_decimal_mark write ','. Off by default (flags, JSON). */
void lp_text_set_decimal_comma(int on);
char lp_decimal_mark(void);
/* The inverse: value / 10^decimals with trailing fraction zeros removed ("51.2172", "10"). */
void lp_fixed_format(int64_t value, int decimals, char *out, size_t out_size);

/* Degrees <-> micro-degrees, ranges of latitude (-90..90) and longitude (-180..180). */
int lp_latitude_parse(const char *text, int32_t *micro_degrees, char *why, size_t why_size);
int lp_longitude_parse(const char *text, int32_t *micro_degrees, char *why, size_t why_size);

/* Unsigned integer in [min, max], decimal digits only. */
int lp_u32_parse(const char *text, uint32_t min, uint32_t max, uint32_t *out, char *why, size_t why_size);

/* Calendar date "YYYY-MM-DD", year 2000..2100, day valid for the month. */
int lp_date_parse(const char *text, int *year, int *month, int *day, char *why, size_t why_size);
void lp_date_format(int year, int month, int day, char *out, size_t out_size);

/* UTC time "YYYY-MM-DDTHH:MM:SSZ" or a date "YYYY-MM-DD" (midnight UTC) -> seconds since 1970;
 * "" -> 0 (not set). lp_time_format writes the first form, "" for 0. */
int lp_time_parse(const char *text, int64_t *unix_s, char *why, size_t why_size);
void lp_time_format(int64_t unix_s, char *out, size_t out_size);

/* "true"/"yes"/"1" or "false"/"no"/"0"/"" (case-insensitive). */
int lp_bool_parse(const char *text, int *value, char *why, size_t why_size);

/* Enum values by short name: the proto name without the enum's prefix, lower case
 * ("READINESS_NOT_READY" -> "not_ready"); parsing also accepts '-' for '_' and any case. The
 * UNSPECIFIED value is neither parsed nor printed by name (it formats as ""). */
int lp_enum_parse(const ProtobufCEnumDescriptor *descriptor, const char *text, int *value, char *why, size_t why_size);
void lp_enum_format(const ProtobufCEnumDescriptor *descriptor, int value, char *out, size_t out_size);

/* Splits "a;b; c" into trimmed, non-empty, malloc'd items (at most max_items, no
 * duplicates); "" gives none. On success the caller frees each item and the array. */
int lp_list_parse(const char *text, size_t max_items, char ***items, size_t *count, char *why, size_t why_size);

#endif
