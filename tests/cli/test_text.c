/* test_text.c: the text forms of the `leerplek` tool (leerplek_text): day masks (Dutch day
 * names too), decimals scaled to micro-degrees and metres (decimal commas when asked), dates,
 * UTC times, booleans, enum names and id lists, each parsed and formatted both ways, with the
 * bad inputs each parser must refuse; and the postcode table (leerplek_postcodes). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "leerplek.pb-c.h"
#include "leerplek_postcodes.h"
#include "leerplek_text.h"

static uint32_t days(const char *text) {
  uint32_t mask = 0;
  char why[200] = "";
  cr_assert_eq(lp_days_parse(text, &mask, why, sizeof why), 0, "\"%s\" refused: %s", text, why);
  return mask;
}

static void days_refused(const char *text, const char *expected_words) {
  uint32_t mask = 12345;
  char why[200] = "";
  cr_assert_eq(lp_days_parse(text, &mask, why, sizeof why), -1, "\"%s\" accepted", text);
  cr_assert_eq(mask, 12345, "a refused parse must not change the output");
  cr_assert(strstr(why, expected_words), "\"%s\": message \"%s\" lacks \"%s\"", text, why, expected_words);
}

Test(days, both_weeks_by_name) {
  cr_assert_eq(days("mon,tue"), 0x183u); /* the proto's own example */
  cr_assert_eq(days("MON, Tue ,wed"), 0x387u);
  cr_assert_eq(days("sun"), (1u << 6) | (1u << 13));
}

Test(days, per_week) {
  cr_assert_eq(days("A:mon,tue;B:wed"), 0x3u | (1u << 9));
  cr_assert_eq(days("B:fri"), 1u << 11);
  cr_assert_eq(days("A:mon;B:"), 1u);
  cr_assert_eq(days("a:thu; b:thu"), (1u << 3) | (1u << 10));
}

Test(days, positional) {
  cr_assert_eq(days("MT.....MT....."), 0x183u);
  cr_assert_eq(days("x------......x"), 1u | (1u << 13));
  cr_assert_eq(days("mtwtfssMTWTFSS"), LP_DAYS_ALL);
}

Test(days, refused) {
  days_refused("", "no days");
  days_refused("mon,funday", "unknown day");
  days_refused("mon,,tue", "empty day name");
  days_refused("A:mon;A:tue", "week A given twice");
  days_refused("C:mon", "A:days");
  days_refused("A:;B:", "no workday");
  days_refused("MQ.....MT.....", "position 2");
  days_refused("..............", "no workday");
}

Test(days, format_round_trips_every_mask) {
  char text[LP_TEXT_MAX];
  for (uint32_t mask = 1; mask <= LP_DAYS_ALL; mask++) {
    lp_days_format(mask, text, sizeof text);
    cr_assert_eq(days(text), mask, "mask %#x printed as \"%s\"", mask, text);
  }
  lp_days_format(0x183, text, sizeof text);
  cr_assert_str_eq(text, "mon,tue");
  lp_days_format(0x3u | (1u << 9), text, sizeof text);
  cr_assert_str_eq(text, "A:mon,tue;B:wed");
  lp_days_format(1u << 8, text, sizeof text);
  cr_assert_str_eq(text, "B:tue");
}

Test(coordinates, degrees_to_micro_degrees) {
  int32_t value;
  char why[200];
  cr_assert_eq(lp_latitude_parse("51.2172", &value, why, sizeof why), 0);
  cr_assert_eq(value, 51217200);
  cr_assert_eq(lp_longitude_parse("4.421100", &value, why, sizeof why), 0);
  cr_assert_eq(value, 4421100);
  cr_assert_eq(lp_longitude_parse("-0.000001", &value, why, sizeof why), 0);
  cr_assert_eq(value, -1);
  cr_assert_eq(lp_latitude_parse("-90", &value, why, sizeof why), 0);
  cr_assert_eq(value, -90000000);
  cr_assert_eq(lp_longitude_parse("180.0", &value, why, sizeof why), 0);
  cr_assert_eq(value, 180000000);
}

Test(coordinates, refused) {
  int32_t value = 7;
  char why[200];
  cr_assert_eq(lp_latitude_parse("90.000001", &value, why, sizeof why), -1);
  cr_assert(strstr(why, "outside -90..90"), "%s", why);
  cr_assert_eq(lp_longitude_parse("-180.5", &value, why, sizeof why), -1);
  cr_assert_eq(lp_latitude_parse("51.1234567", &value, why, sizeof why), -1);
  cr_assert(strstr(why, "more than 6 decimals"), "%s", why);
  cr_assert_eq(lp_latitude_parse("51,2", &value, why, sizeof why), -1); /* decimal comma */
  cr_assert_eq(lp_latitude_parse("5e1", &value, why, sizeof why), -1);
  cr_assert_eq(lp_latitude_parse("", &value, why, sizeof why), -1);
  cr_assert_eq(lp_latitude_parse("51.", &value, why, sizeof why), -1);
  cr_assert_eq(lp_latitude_parse("99999999999999999", &value, why, sizeof why), -1);
  cr_assert_eq(value, 7);
}

Test(fixed, format_is_the_inverse) {
  char text[LP_TEXT_MAX];
  int64_t back;
  static const int64_t samples[] = {0, 1, -1, 51217200, 4421100, -179999999, 90000000, 1000000};
  for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
    lp_fixed_format(samples[i], 6, text, sizeof text);
    cr_assert_eq(lp_fixed_parse(text, 6, -200000000, 200000000, &back, NULL, 0), 0, "%s", text);
    cr_assert_eq(back, samples[i], "%s", text);
  }
  lp_fixed_format(51217200, 6, text, sizeof text);
  cr_assert_str_eq(text, "51.2172");
  lp_fixed_format(12500, 3, text, sizeof text);
  cr_assert_str_eq(text, "12.5");
  lp_fixed_format(10000, 3, text, sizeof text);
  cr_assert_str_eq(text, "10");
  lp_fixed_format(-500000, 6, text, sizeof text);
  cr_assert_str_eq(text, "-0.5");
}

Test(fixed, kilometres_to_metres) {
  int64_t metres;
  char why[200];
  cr_assert_eq(lp_fixed_parse("12.5", 3, 100, 200000, &metres, why, sizeof why), 0);
  cr_assert_eq(metres, 12500);
  cr_assert_eq(lp_fixed_parse("0.1", 3, 100, 200000, &metres, why, sizeof why), 0);
  cr_assert_eq(metres, 100);
  cr_assert_eq(lp_fixed_parse("0.099", 3, 100, 200000, &metres, why, sizeof why), -1);
  cr_assert(strstr(why, "outside 0.1..200"), "%s", why);
  cr_assert_eq(lp_fixed_parse("1.0005", 3, 100, 200000, &metres, why, sizeof why), -1);
}

Test(numbers, whole_numbers) {
  uint32_t value;
  char why[200];
  cr_assert_eq(lp_u32_parse("100", 1, 100, &value, why, sizeof why), 0);
  cr_assert_eq(value, 100);
  cr_assert_eq(lp_u32_parse("101", 1, 100, &value, why, sizeof why), -1);
  cr_assert_eq(lp_u32_parse("0", 1, 100, &value, why, sizeof why), -1);
  cr_assert_eq(lp_u32_parse("-1", 0, 100, &value, why, sizeof why), -1);
  cr_assert_eq(lp_u32_parse("1.5", 0, 100, &value, why, sizeof why), -1);
  cr_assert_eq(lp_u32_parse("4294967296", 0, UINT32_MAX, &value, why, sizeof why), -1);
  cr_assert_eq(lp_u32_parse("", 0, 100, &value, why, sizeof why), -1);
}

Test(dates, parse_and_format) {
  int y, m, d;
  char why[200], text[LP_TEXT_MAX];
  cr_assert_eq(lp_date_parse("2024-02-29", &y, &m, &d, why, sizeof why), 0, "%s", why);
  cr_assert(y == 2024 && m == 2 && d == 29);
  lp_date_format(y, m, d, text, sizeof text);
  cr_assert_str_eq(text, "2024-02-29");
  cr_assert_eq(lp_date_parse("2023-02-29", &y, &m, &d, why, sizeof why), -1);
  cr_assert(strstr(why, "does not exist"), "%s", why);
  cr_assert_eq(lp_date_parse("2026-13-01", &y, &m, &d, why, sizeof why), -1);
  cr_assert_eq(lp_date_parse("1999-12-31", &y, &m, &d, why, sizeof why), -1);
  cr_assert_eq(lp_date_parse("2026-1-01", &y, &m, &d, why, sizeof why), -1);
  cr_assert_eq(lp_date_parse("01/09/2026", &y, &m, &d, why, sizeof why), -1);
}

Test(times, parse_and_format) {
  int64_t t;
  char why[200], text[LP_TEXT_MAX];
  cr_assert_eq(lp_time_parse("1970-01-02", &t, why, sizeof why), -1); /* year out of range */
  cr_assert_eq(lp_time_parse("2026-11-23T13:05:09Z", &t, why, sizeof why), 0, "%s", why);
  cr_assert_eq(t, 1795439109); /* date -u -d 2026-11-23T13:05:09Z +%s */
  lp_time_format(t, text, sizeof text);
  cr_assert_str_eq(text, "2026-11-23T13:05:09Z");
  cr_assert_eq(lp_time_parse("2024-03-01", &t, why, sizeof why), 0);
  lp_time_format(t, text, sizeof text);
  cr_assert_str_eq(text, "2024-03-01T00:00:00Z");
  cr_assert_eq(lp_time_parse("", &t, why, sizeof why), 0);
  cr_assert_eq(t, 0);
  lp_time_format(0, text, sizeof text);
  cr_assert_str_eq(text, "");
  cr_assert_eq(lp_time_parse("2026-11-23T24:00:00Z", &t, why, sizeof why), -1);
  cr_assert_eq(lp_time_parse("2026-11-23 13:05:09", &t, why, sizeof why), -1);
  /* Every day of a leap-year span survives the round trip. */
  for (int64_t day = 10957; day < 10957 + 3 * 366; day++) {
    lp_time_format(day * 86400 + 3661, text, sizeof text);
    cr_assert_eq(lp_time_parse(text, &t, why, sizeof why), 0, "%s: %s", text, why);
    cr_assert_eq(t, day * 86400 + 3661, "%s", text);
  }
}

Test(booleans, accepted_spellings) {
  int value;
  char why[200];
  static const char *const yes[] = {"true", "TRUE", "yes", "1"};
  static const char *const no[] = {"false", "No", "0", ""};
  for (size_t i = 0; i < 4; i++) {
    cr_assert_eq(lp_bool_parse(yes[i], &value, why, sizeof why), 0);
    cr_assert_eq(value, 1, "%s", yes[i]);
    cr_assert_eq(lp_bool_parse(no[i], &value, why, sizeof why), 0);
    cr_assert_eq(value, 0, "%s", no[i]);
  }
  cr_assert_eq(lp_bool_parse("ja", &value, why, sizeof why), -1);
}

Test(enums, short_names_both_ways) {
  int value;
  char why[300], text[64];
  cr_assert_eq(lp_enum_parse(&leerplek__v1__readiness__descriptor, "not_ready", &value, why, sizeof why), 0);
  cr_assert_eq(value, LEERPLEK__V1__READINESS__READINESS_NOT_READY);
  cr_assert_eq(lp_enum_parse(&leerplek__v1__readiness__descriptor, "Not-Ready", &value, why, sizeof why), 0);
  cr_assert_eq(value, LEERPLEK__V1__READINESS__READINESS_NOT_READY);
  cr_assert_eq(lp_enum_parse(&leerplek__v1__vacancy_kind__descriptor, "preparatory", &value, why, sizeof why), 0);
  cr_assert_eq(value, LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_PREPARATORY);
  cr_assert_eq(lp_enum_parse(&leerplek__v1__readiness__descriptor, "unspecified", &value, why, sizeof why), -1);
  cr_assert_eq(lp_enum_parse(&leerplek__v1__readiness__descriptor, "eager", &value, why, sizeof why), -1);
  cr_assert(strstr(why, "not_ready, partly, ready"), "%s", why);
  lp_enum_format(&leerplek__v1__placement_state__descriptor, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_AGREEMENT,
                 text, sizeof text);
  cr_assert_str_eq(text, "agreement");
  lp_enum_format(&leerplek__v1__role__descriptor, 0, text, sizeof text);
  cr_assert_str_eq(text, "");
  lp_enum_format(&leerplek__v1__role__descriptor, 99, text, sizeof text);
  cr_assert_str_eq(text, "99");
}

Test(lists, split_trim_and_bounds) {
  char **items;
  size_t count;
  char why[200];
  cr_assert_eq(lp_list_parse(" A ; B;;C ", 10, &items, &count, why, sizeof why), 0);
  cr_assert_eq(count, 3);
  cr_assert_str_eq(items[0], "A");
  cr_assert_str_eq(items[1], "B");
  cr_assert_str_eq(items[2], "C");
  for (size_t i = 0; i < count; i++) free(items[i]);
  free(items);
  cr_assert_eq(lp_list_parse("", 10, &items, &count, why, sizeof why), 0);
  cr_assert_eq(count, 0);
  cr_assert_null(items);
  cr_assert_eq(lp_list_parse("A;B;A", 10, &items, &count, why, sizeof why), -1);
  cr_assert(strstr(why, "listed twice"), "%s", why);
  cr_assert_eq(lp_list_parse("A;B;C", 2, &items, &count, why, sizeof why), -1);
  cr_assert(strstr(why, "more than 2"), "%s", why);
}

Test(days, dutch_names_read_and_written) {
  uint32_t dutch = 0, english = 0;
  char why[200], text[LP_TEXT_MAX];
  cr_assert_eq(lp_days_parse("A:ma,WO;B:vr,zo", &dutch, why, sizeof why), 0, "%s", why);
  cr_assert_eq(lp_days_parse("A:mon,wed;B:fri,sun", &english, why, sizeof why), 0, "%s", why);
  cr_expect_eq(dutch, english);
  lp_text_set_dutch_days(1);
  lp_days_format(dutch, text, sizeof text);
  lp_text_set_dutch_days(0);
  cr_expect_str_eq(text, "A:ma,wo;B:vr,zo");
  lp_days_format(dutch, text, sizeof text);
  cr_expect_str_eq(text, "A:mon,wed;B:fri,sun");
}

Test(fixed, decimal_commas_only_when_asked) {
  int64_t value = 0;
  char why[200], text[LP_TEXT_MAX];
  cr_expect_neq(lp_fixed_parse("51,2172", 6, -90000000, 90000000, &value, why, sizeof why), 0);
  cr_expect(strstr(why, "has a decimal comma"), "%s", why);
  lp_text_set_decimal_comma(1);
  cr_expect_eq(lp_fixed_parse("51,2172", 6, -90000000, 90000000, &value, why, sizeof why), 0, "%s", why);
  cr_expect_eq(value, 51217200);
  cr_expect_eq(lp_fixed_parse("4.42", 6, -180000000, 180000000, &value, why, sizeof why), 0, "'.' still reads");
  lp_fixed_format(51217200, 6, text, sizeof text);
  cr_expect_str_eq(text, "51,2172");
  cr_expect_neq(lp_fixed_parse("51,", 6, -90000000, 90000000, &value, why, sizeof why), 0);
  lp_text_set_decimal_comma(0);
  lp_fixed_format(51217200, 6, text, sizeof text);
  cr_expect_str_eq(text, "51.2172");
}

/* The postcode table: Antwerp's districts and the municipalities around, each once, each
 * centre in the Antwerp region; a code outside it is not guessed. */
Test(postcodes, the_table_covers_antwerp_and_its_surroundings) {
  size_t count = 0;
  const lp_postcode *table = lp_postcodes(&count);
  cr_assert_geq(count, 40);
  for (size_t i = 0; i < count; i++) {
    cr_expect_eq(strlen(table[i].code), 4, "%s", table[i].code);
    cr_expect(table[i].lat_e6 > 50900000 && table[i].lat_e6 < 51500000 && table[i].lon_e6 > 4000000 &&
                  table[i].lon_e6 < 4800000,
              "%s %s lies outside the Antwerp region", table[i].code, table[i].name);
    for (size_t j = 0; j < i; j++) cr_expect_str_neq(table[i].code, table[j].code, "listed twice");
  }
  /* Every postcode of the city and of the demo's surroundings. */
  static const char *const needed[] = {"2000", "2018", "2020", "2030", "2040", "2050", "2060", "2100",
                                       "2140", "2170", "2180", "2600", "2610", "2660", "2070", "2160",
                                       "2550", "2630", "2640", "2900", "2930", "2950"};
  for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
    cr_expect_not_null(lp_postcode_find(needed[i]), "%s is missing", needed[i]);
  const lp_postcode *deurne = lp_postcode_find("2100");
  cr_expect_eq(deurne->lat_e6, 51220000);
  cr_expect_eq(deurne->lon_e6, 4466000);
  cr_expect_null(lp_postcode_find("9999"));
  cr_expect_null(lp_postcode_find("1000"), "Brussels is not in the Antwerp table");
}
