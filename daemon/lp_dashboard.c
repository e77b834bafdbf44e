/* lp_dashboard: GET /dashboard, the coordinators' page. It renders the same Report that the
 * GetReport call returns (lp_report.c computes it, lp_figures.c adds the trend; nothing is counted
 * twice), as one self-contained HTML page with what the SamDuLeA network's own dashboard shows
 * (Antwerp, February 2022): the headline figures, pupils, schools and trainings per school
 * type, all agreements against running ones and the trend of the headline over the days, then
 * pupils by state per training (by name), supply against demand per district, unplaced reasons
 * and the largest shortages, with inline SVG charts and no script or external asset. Only
 * aggregates: no pupil reference, school or home point ever reaches this page, because the
 * Report holds none. Text from the store (training names, districts) is HTML-escaped. In
 * Dutch or English (gettext, domain leerplekd: daemon/po/nl.po), per request. */
#include "lp_dashboard.h"

#include <ctype.h>
#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lp_alloc.h"
#include "leerplek_i18n.h"
#include "lp_figures.h"
#include "lp_log.h"
#include "lp_rematch.h"
#include "lp_report.h"

/* ---- language ------------------------------------------------------------------------ */

#define DASHBOARD_DOMAIN "leerplekd"

/* The page is built for one language at a time (on the event loop thread only). */
static int dutch_page;

/* Text people read: Dutch from the catalogue, else the English of the source. */
static const char *T(const char *text) { return dutch_page ? dgettext(DASHBOARD_DOMAIN, text) : text; }

/* The value of q= in an Accept-Language item (1 when absent). */
static double quality(const char *item, size_t length) {
  for (size_t i = 0; i + 2 < length; i++)
    if (item[i] == ';' && (item[i + 1] == 'q' || item[i + 1] == 'Q') && item[i + 2] == '=') return atof(item + i + 3);
  return 1.0;
}

int lp_dashboard_dutch(const char *query, const char *accept_language) {
  for (const char *q = query; q && *q;) {
    if (strncmp(q, "lang=", 5) == 0) return strncmp(q + 5, "nl", 2) == 0;
    q = strchr(q, '&');
    if (q) q++;
  }
  double best_dutch = 0, best_english = 0;
  for (const char *item = accept_language; item && *item;) {
    while (*item == ' ' || *item == ',') item++;
    size_t length = strcspn(item, ",");
    double q = quality(item, length);
    if (strncasecmp(item, "nl", 2) == 0 && (length == 2 || item[2] == '-' || item[2] == ';' || item[2] == ' ')) {
      if (q > best_dutch) best_dutch = q;
    } else if (strncasecmp(item, "en", 2) == 0 && (length == 2 || item[2] == '-' || item[2] == ';' || item[2] == ' ')) {
      if (q > best_english) best_english = q;
    }
    item += length;
  }
  return best_dutch > 0 && best_dutch > best_english;
}

/* The messages locale of a Dutch page, made once; NULL when nl_BE.UTF-8 is not generated here
 * (deploy/install-deps.sh generates it), and the page then stays English. */
static locale_t dutch_locale(void) {
  static int tried;
  static locale_t locale;
  if (!tried) {
    tried = 1;
    if (!lp_i18n_bind(DASHBOARD_DOMAIN)) LP_WARN("dashboard: no Dutch catalogue (leerplekd.mo) found; English only");
    locale = newlocale(LC_MESSAGES_MASK, "nl_BE.UTF-8", (locale_t)0);
    if (!locale)
      LP_WARN("dashboard: the locale nl_BE.UTF-8 is missing (deploy/install-deps.sh generates it); English only");
  }
  return locale;
}

/* ---- text ---------------------------------------------------------------------------- */

static void add_escaped(struct evbuffer *out, const char *text) {
  for (const char *c = text ? text : ""; *c; c++) {
    switch (*c) {
    case '&': evbuffer_add(out, "&amp;", 5); break;
    case '<': evbuffer_add(out, "&lt;", 4); break;
    case '>': evbuffer_add(out, "&gt;", 4); break;
    case '"': evbuffer_add(out, "&quot;", 6); break;
    case '\'': evbuffer_add(out, "&#39;", 5); break;
    default: evbuffer_add(out, c, 1);
    }
  }
}

/* "UNPLACED_REASON_NONE_WITHIN_COMMUTE" -> "none_within_commute" (as the tool names it), from
 * the generated enum descriptor so that the proto file stays the one list of reasons: the
 * data-label of a chart row, the same in every language, and the text of a reason this page
 * has no words for yet. */
static void reason_text(int reason, char *out, size_t out_size) {
  const ProtobufCEnumValue *value =
      protobuf_c_enum_descriptor_get_value(&leerplek__v1__unplaced_reason__descriptor, reason);
  const char *name = value ? value->name : "UNKNOWN";
  const char *prefix = "UNPLACED_REASON_";
  if (strncmp(name, prefix, strlen(prefix)) == 0) name += strlen(prefix);
  size_t i = 0;
  for (; name[i] && i + 1 < out_size; i++) out[i] = (char)tolower((unsigned char)name[i]);
  out[i] = '\0';
}

/* ---- charts -------------------------------------------------------------------------- */

#define MAX_SERIES 4

typedef struct chart_row {
  const char *key;   /* data-label: language-neutral (code, district, reason) */
  const char *label; /* what the row shows */
  const char *title; /* tooltip, e.g. the training's name; may be NULL */
  uint32_t values[MAX_SERIES];
} chart_row;

typedef struct chart {
  const char *id; /* the svg's id, for tests and links */
  const char *caption;
  size_t series;
  const char *series_names[MAX_SERIES];
  const char *colours[MAX_SERIES];
  bool stacked; /* stacked: one bar per row; else one thin bar per series */
} chart;

/* A horizontal bar chart: one row per label, scaled to the largest row, with its figures. */
static void add_bar_chart(struct evbuffer *out, const chart *chart, const chart_row *rows, size_t row_count) {
  const int label_width = 280, bar_width = 420, row_height = chart->stacked ? 22 : 12 * (int)chart->series + 8;
  uint32_t largest = 1;
  for (size_t r = 0; r < row_count; r++) {
    uint32_t total = 0;
    for (size_t s = 0; s < chart->series; s++) {
      if (chart->stacked)
        total += rows[r].values[s];
      else if (rows[r].values[s] > total)
        total = rows[r].values[s];
    }
    if (total > largest) largest = total;
  }
  int height = 30 + (int)row_count * row_height;
  evbuffer_add_printf(out, "<figure><figcaption>");
  add_escaped(out, T(chart->caption));
  evbuffer_add_printf(out,
                      "</figcaption>\n<svg id=\"%s\" role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                      "xmlns=\"http://www.w3.org/2000/svg\">\n",
                      chart->id, label_width + bar_width + 80, height, label_width + bar_width + 80, height);
  /* Legend. */
  int x = label_width;
  for (size_t s = 0; s < chart->series; s++) {
    evbuffer_add_printf(out, "<rect x=\"%d\" y=\"4\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"15\">",
                        x, chart->colours[s], x + 16);
    add_escaped(out, T(chart->series_names[s]));
    evbuffer_add_printf(out, "</text>\n");
    x += 24 + 8 * (int)strlen(T(chart->series_names[s]));
  }
  for (size_t r = 0; r < row_count; r++) {
    int y = 26 + (int)r * row_height;
    evbuffer_add_printf(out, "<g class=\"row\" data-label=\"");
    add_escaped(out, rows[r].key);
    evbuffer_add_printf(out, "\">");
    if (rows[r].title) {
      evbuffer_add_printf(out, "<title>");
      add_escaped(out, rows[r].title);
      evbuffer_add_printf(out, "</title>");
    }
    evbuffer_add_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_width - 6, y + 14);
    add_escaped(out, rows[r].label);
    evbuffer_add_printf(out, "</text>");
    int offset = 0;
    for (size_t s = 0; s < chart->series; s++) {
      int length = (int)((double)rows[r].values[s] * bar_width / largest);
      if (chart->stacked) {
        evbuffer_add_printf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"%s\" data-value=\"%u\"/>",
                            label_width + offset, y + 2, length, chart->colours[s], rows[r].values[s]);
        offset += length;
      } else {
        int bar_y = y + 2 + 12 * (int)s;
        evbuffer_add_printf(out,
                            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"10\" fill=\"%s\" data-value=\"%u\"/>"
                            "<text x=\"%d\" y=\"%d\" class=\"figure\">%u</text>",
                            label_width, bar_y, length, chart->colours[s], rows[r].values[s], label_width + length + 4,
                            bar_y + 9, rows[r].values[s]);
      }
    }
    if (chart->stacked) {
      evbuffer_add_printf(out, "<text x=\"%d\" y=\"%d\" class=\"figure\">", label_width + offset + 4, y + 14);
      for (size_t s = 0; s < chart->series; s++) evbuffer_add_printf(out, "%s%u", s ? " / " : "", rows[r].values[s]);
      evbuffer_add_printf(out, "</text>");
    }
    evbuffer_add_printf(out, "</g>\n");
  }
  evbuffer_add_printf(out, "</svg></figure>\n");
}

/* ---- the page ------------------------------------------------------------------------ */

/* Marks text for xgettext (keyword N_) where it is stored and translated later with T. */
#define N_(text) text

static void add_figure(struct evbuffer *out, const char *id, const char *label, uint32_t value) {
  evbuffer_add_printf(out, "<div class=\"card\"><span class=\"value\" id=\"%s\">%u</span><span class=\"label\">", id,
                      value);
  add_escaped(out, T(label));
  evbuffer_add_printf(out, "</span></div>\n");
}

static void add_headline(struct evbuffer *out, const Leerplek__V1__Headline *h) {
  evbuffer_add_printf(out, "<section class=\"cards\" aria-label=\"");
  add_escaped(out, T("headline figures"));
  evbuffer_add_printf(out, "\">\n");
  add_figure(out, "pupils-in-dual-learning", N_("pupils in dual learning (agreement signed)"),
             h->pupils_in_dual_learning);
  add_figure(out, "pupils-registered", N_("pupils registered"), h->pupils_registered);
  add_figure(out, "pupils-waiting", N_("pupils waiting"), h->pupils_waiting);
  /* Proposed, accepted and agreement are three states, each named one way on the whole page. */
  add_figure(out, "pupils-proposed", N_("pupils proposed (both sides to answer)"), h->pupils_proposed);
  add_figure(out, "pupils-accepted", N_("pupils accepted (both sides said yes, agreement to sign)"),
             h->pupils_accepted);
  add_figure(out, "schools", N_("schools"), h->schools);
  add_figure(out, "trainings", N_("trainings"), h->trainings);
  add_figure(out, "agreements", N_("agreements (signed)"), h->agreements);
  add_figure(out, "agreements-running", N_("agreements running"), h->agreements_running);
  add_figure(out, "agreements-all", N_("all agreements (ended ones included)"), h->agreements_all);
  add_figure(out, "recognised-companies", N_("recognised companies"), h->recognised_companies);
  add_figure(out, "recognised-locations", N_("recognised locations"), h->recognised_locations);
  add_figure(out, "open-vacancies", N_("open vacancies"), h->open_vacancies);
  add_figure(out, "free-seats", N_("free seats"), h->free_seats);
  evbuffer_add_printf(out, "</section>\n");
}

/* The school types in the order of the network's dashboard, with their names. */
static const struct {
  Leerplek__V1__SchoolType type;
  const char *id;
  const char *name;
} school_types[] = {
    {LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_FULL_TIME, "full_time", N_("full-time secondary")},
    {LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_BUSO, "buso", N_("special needs secondary (BuSO)")},
    {LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_LEARNING_WORKING, "learning_working", N_("learning-and-working centres")},
    {LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_SYNTRA, "syntra", N_("Syntra")},
    {LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_UNSPECIFIED, "unspecified", N_("type not given")},
};

static uint32_t count_of(Leerplek__V1__TypeCount *const *counts, size_t n, Leerplek__V1__SchoolType type) {
  for (size_t i = 0; i < n; i++)
    if (counts[i]->school_type == type) return counts[i]->count;
  return 0;
}

/* Pupils, schools and trainings per school type, as the network counts them. */
static void add_school_types(struct evbuffer *out, const Leerplek__V1__Report *report) {
  evbuffer_add_printf(out, "<h2>%s</h2>\n", T("Per school type"));
  evbuffer_add_printf(
      out, "<table id=\"school-types\"><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>\n",
      T("school type"), T("pupils"), T("schools"), T("trainings offered"));
  for (size_t t = 0; t < sizeof school_types / sizeof school_types[0]; t++) {
    uint32_t pupils = count_of(report->pupils_by_school_type, report->n_pupils_by_school_type, school_types[t].type);
    uint32_t schools = count_of(report->schools_by_school_type, report->n_schools_by_school_type, school_types[t].type);
    uint32_t trainings =
        count_of(report->trainings_by_provider_type, report->n_trainings_by_provider_type, school_types[t].type);
    /* "not given" only when something lacks a type. */
    if (school_types[t].type == LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_UNSPECIFIED && pupils + schools + trainings == 0)
      continue;
    evbuffer_add_printf(out, "<tr><td>");
    add_escaped(out, T(school_types[t].name));
    evbuffer_add_printf(
        out, "</td><td id=\"pupils-%s\">%u</td><td id=\"schools-%s\">%u</td><td id=\"trainings-%s\">%u</td></tr>\n",
        school_types[t].id, pupils, school_types[t].id, schools, school_types[t].id, trainings);
  }
  evbuffer_add_printf(
      out, "</tbody></table>\n<p class=\"muted\">%s</p>\n",
      T("A training offered by several school types counts for each; a school counts for each type its pupils have."));
}

/* Days since 1970-01-01 of "YYYY-MM-DD" (proleptic Gregorian), for the trend's x axis. */
static long day_number(const char *day) {
  int year = 1970, month = 1, date = 1;
  if (sscanf(day, "%d-%d-%d", &year, &month, &date) != 3) return 0;
  year -= month <= 2;
  long era = (year >= 0 ? year : year - 399) / 400;
  long year_of_era = year - era * 400;
  long day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + date - 1;
  long day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

#define TREND_SERIES 4
static const struct {
  const char *name;
  const char *colour;
} trend_series[TREND_SERIES] = {
    {N_("pupils registered"), "#337ab7"},
    {N_("pupils in dual learning (agreement signed)"), "#5cb85c"},
    {N_("agreements running"), "#f0ad4e"},
    {N_("pupils waiting"), "#d9534f"},
};

static uint32_t trend_value(const Leerplek__V1__TrendPoint *point, int series) {
  switch (series) {
  case 0: return point->pupils_registered;
  case 1: return point->pupils_in_dual_learning;
  case 2: return point->agreements_running;
  default: return point->pupils_waiting;
  }
}

static const char *training_name(const Leerplek__V1__Report *report, const char *code);

static uint32_t trend_pupils_of(const Leerplek__V1__TrendPoint *point, const char *code) {
  for (size_t t = 0; t < point->n_trainings_pupils; t++)
    if (strcmp(point->trainings_pupils[t]->training_code, code) == 0) return point->trainings_pupils[t]->pupils;
  return 0;
}

/* Pupils per training on the first day and the last, for the trainings the first snapshot
 * lists (as the network's dashboard compares October with February). */
static void add_trend_trainings(struct evbuffer *out, const Leerplek__V1__Report *report,
                                const Leerplek__V1__TrendPoint *first, const Leerplek__V1__TrendPoint *last) {
  if (first == last || first->n_trainings_pupils == 0) return;
  evbuffer_add_printf(
      out,
      "<table id=\"trend-trainings\"><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>\n",
      T("pupils per training"), first->day, last->day, T("difference"));
  for (size_t t = 0; t < first->n_trainings_pupils; t++) {
    const Leerplek__V1__TrendTraining *training = first->trainings_pupils[t];
    uint32_t now = trend_pupils_of(last, training->training_code);
    evbuffer_add_printf(out, "<tr><td title=\"");
    add_escaped(out, training->training_code);
    evbuffer_add_printf(out, "\">");
    add_escaped(out, training_name(report, training->training_code));
    evbuffer_add_printf(out, "</td><td id=\"trend-first-");
    add_escaped(out, training->training_code);
    evbuffer_add_printf(out, "\">%u</td><td id=\"trend-last-", training->pupils);
    add_escaped(out, training->training_code);
    evbuffer_add_printf(out, "\">%u</td><td>%+lld</td></tr>\n", now, (long long)now - (long long)training->pupils);
  }
  evbuffer_add_printf(out, "</tbody></table>\n");
}

/* Whether a snapshot holds the figure: an earlier snapshot seeded with only some figures (the
 * demo's October has the pupil count alone) has 0 for the rest, which is "not known" there. */
static int known(const Leerplek__V1__TrendPoint *point, uint32_t value, const Leerplek__V1__Report *report) {
  return value > 0 || point == report->trend[report->n_trend - 1];
}

/* The daily snapshots as lines over time, and the change from the first day to the last (as
 * the network reports "from October to February"). */
static void add_trend(struct evbuffer *out, const Leerplek__V1__Report *report) {
  evbuffer_add_printf(out, "<h2>%s</h2>\n", T("Trend"));
  if (report->n_trend == 0) {
    evbuffer_add_printf(out, "<p id=\"chart-trend\">%s</p>\n", T("No daily snapshot yet."));
    return;
  }
  const Leerplek__V1__TrendPoint *first = report->trend[0], *last = report->trend[report->n_trend - 1];
  /* The legend takes two entries a row above the plot: Dutch names are long. */
  const int left = 60, width = 640, top = 24 + 18 * ((TREND_SERIES + 1) / 2), height = 200;
  long first_day = day_number(first->day), span = day_number(last->day) - first_day;
  uint32_t largest = 1;
  for (size_t i = 0; i < report->n_trend; i++)
    for (int s = 0; s < TREND_SERIES; s++)
      if (trend_value(report->trend[i], s) > largest) largest = trend_value(report->trend[i], s);
  evbuffer_add_printf(out, "<figure><figcaption>");
  add_escaped(out, T("The headline figures, one snapshot per day."));
  evbuffer_add_printf(
      out,
      "</figcaption>\n<svg id=\"chart-trend\" role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "xmlns=\"http://www.w3.org/2000/svg\">\n",
      left + width + 40, top + height + 40, left + width + 40, top + height + 40);
  for (int s = 0; s < TREND_SERIES; s++) {
    int x = left + (s % 2) * (width / 2), y = 4 + 18 * (s / 2);
    evbuffer_add_printf(out, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">",
                        x, y, trend_series[s].colour, x + 16, y + 11);
    add_escaped(out, T(trend_series[s].name));
    evbuffer_add_printf(out, "</text>\n");
  }
  evbuffer_add_printf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>", left, top + height,
                      left + width, top + height);
  evbuffer_add_printf(
      out,
      "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%u</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n",
      left - 6, top + 10, largest, left - 6, top + height);
  for (int s = 0; s < TREND_SERIES; s++) {
    evbuffer_add_printf(out, "<polyline class=\"series\" fill=\"none\" stroke-width=\"2\" stroke=\"%s\" points=\"",
                        trend_series[s].colour);
    int drawn = 0;
    for (size_t i = 0; i < report->n_trend; i++) {
      if (!known(report->trend[i], trend_value(report->trend[i], s), report)) continue;
      long offset = day_number(report->trend[i]->day) - first_day;
      int px = left + (span > 0 ? (int)(offset * width / span) : width / 2);
      int py = top + height - (int)((double)trend_value(report->trend[i], s) * height / largest);
      evbuffer_add_printf(out, "%s%d,%d", drawn++ ? " " : "", px, py);
    }
    evbuffer_add_printf(out, "\"/>\n");
    for (size_t i = 0; i < report->n_trend; i++) {
      if (!known(report->trend[i], trend_value(report->trend[i], s), report)) continue;
      long offset = day_number(report->trend[i]->day) - first_day;
      int px = left + (span > 0 ? (int)(offset * width / span) : width / 2);
      int py = top + height - (int)((double)trend_value(report->trend[i], s) * height / largest);
      evbuffer_add_printf(out, "<circle cx=\"%d\" cy=\"%d\" r=\"3\" fill=\"%s\"><title>%s: %u</title></circle>", px, py,
                          trend_series[s].colour, report->trend[i]->day, trend_value(report->trend[i], s));
    }
  }
  evbuffer_add_printf(
      out,
      "\n<text x=\"%d\" y=\"%d\">%s</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n</svg></figure>\n",
      left, top + height + 18, first->day, left + width, top + height + 18, last->day);
  static const struct {
    const char *name;
    const char *id;
  } rows[] = {{N_("pupils registered"), "pupils-registered"},
              {N_("pupils in dual learning (agreement signed)"), "pupils-in-dual-learning"},
              {N_("schools"), "schools"},
              {N_("trainings"), "trainings"},
              {N_("agreements (signed)"), "agreements"},
              {N_("agreements running"), "agreements-running"},
              {N_("all agreements (ended ones included)"), "agreements-all"},
              {N_("recognised companies"), "recognised-companies"},
              {N_("recognised locations"), "recognised-locations"}};
  uint32_t firsts[9] = {
      first->pupils_registered,   first->pupils_in_dual_learning, first->schools,        first->trainings,
      first->agreements,          first->agreements_running,      first->agreements_all, first->recognised_companies,
      first->recognised_locations};
  uint32_t lasts[9] = {
      last->pupils_registered,   last->pupils_in_dual_learning, last->schools,        last->trainings,
      last->agreements,          last->agreements_running,      last->agreements_all, last->recognised_companies,
      last->recognised_locations};
  evbuffer_add_printf(
      out, "<table id=\"trend\"><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>\n",
      T("figure"), first->day, last->day, T("difference"));
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    evbuffer_add_printf(out, "<tr><td>");
    add_escaped(out, T(rows[r].name));
    if (!known(first, firsts[r], report)) {
      evbuffer_add_printf(out, "</td><td id=\"trend-first-%s\">-</td><td id=\"trend-last-%s\">%u</td><td>-</td></tr>\n",
                          rows[r].id, rows[r].id, lasts[r]);
      continue;
    }
    evbuffer_add_printf(out,
                        "</td><td id=\"trend-first-%s\">%u</td><td id=\"trend-last-%s\">%u</td><td>%+lld</td></tr>\n",
                        rows[r].id, firsts[r], rows[r].id, lasts[r], (long long)lasts[r] - (long long)firsts[r]);
  }
  evbuffer_add_printf(out, "</tbody></table>\n");
  add_trend_trainings(out, report, first, last);
}

static void add_trainings_chart(struct evbuffer *out, const Leerplek__V1__Report *report, chart_row *rows) {
  size_t count = 0;
  for (size_t i = 0; i < report->n_by_training; i++) {
    const Leerplek__V1__ReportRow *row = report->by_training[i];
    if (row->pupils_waiting + row->pupils_proposed + row->pupils_accepted + row->pupils_agreement == 0) continue;
    /* The training's name, as people know it; its code in the tooltip and data-label. */
    rows[count++] =
        (chart_row){row->key,
                    row->name[0] ? row->name : row->key,
                    row->key,
                    {row->pupils_waiting, row->pupils_proposed, row->pupils_accepted, row->pupils_agreement}};
  }
  static const chart pupils_by_state = {"chart-trainings",
                                        N_("Largest shortage first; hover a training for its code."),
                                        4,
                                        {N_("waiting"), N_("proposed"), N_("accepted"), N_("agreement")},
                                        {"#d9534f", "#f0ad4e", "#8fd18f", "#2e8b2e"},
                                        true};
  if (count == 0)
    evbuffer_add_printf(out, "<p id=\"chart-trainings\">%s</p>\n", T("No pupils registered yet."));
  else
    add_bar_chart(out, &pupils_by_state, rows, count);
}

static void add_districts_chart(struct evbuffer *out, const Leerplek__V1__Report *report, chart_row *rows) {
  size_t count = 0;
  for (size_t i = 0; i < report->n_by_district; i++) {
    const Leerplek__V1__ReportRow *row = report->by_district[i];
    const char *label = row->key[0] ? row->key : T("(no district)");
    rows[count++] = (chart_row){label, label, NULL, {row->pupils_waiting, row->free_seats, 0}};
  }
  static const chart supply_demand = {
      "chart-districts",
      N_("Pupils waiting, by their home district, against free seats, by the workplace's district."),
      2,
      {N_("pupils waiting"), N_("free seats")},
      {"#d9534f", "#337ab7"},
      false};
  if (count == 0)
    evbuffer_add_printf(out, "<p id=\"chart-districts\">%s</p>\n", T("No districts yet."));
  else
    add_bar_chart(out, &supply_demand, rows, count);
}

/* The reasons as people read them, by UnplacedReason value; a reason added to the proto later
 * shows its enum name until it is listed here. */
static const char *const reason_labels[] = {
    "",
    N_("no recognised vacancy"),
    N_("readiness too low"),
    N_("none within commute"),
    N_("no compatible days"),
    N_("all excluded"),
    N_("seats taken"),
};

static void add_reasons_chart(struct evbuffer *out, const Leerplek__V1__Report *report, chart_row *rows) {
  char keys[8][48]; /* the rows point into it until the chart is written */
  size_t count = 0;
  for (size_t i = 0; i < report->n_unplaced_by_reason && count < 8; i++) {
    const Leerplek__V1__ReasonCount *reason = report->unplaced_by_reason[i];
    if (reason->pupils == 0) continue;
    reason_text(reason->reason, keys[count], sizeof keys[count]);
    int known = reason->reason > 0 && (size_t)reason->reason < sizeof reason_labels / sizeof reason_labels[0];
    const char *label = known ? T(reason_labels[reason->reason]) : keys[count];
    rows[count] = (chart_row){keys[count], label, NULL, {reason->pupils, 0, 0}};
    count++;
  }
  static const chart reasons = {"chart-reasons",
                                N_("Why waiting pupils are not placed, as found by the last rematch."),
                                1,
                                {N_("pupils")},
                                {"#777777"},
                                false};
  if (count == 0)
    evbuffer_add_printf(out, "<p id=\"chart-reasons\">%s</p>\n",
                        T("No unplaced pupils with a reason yet (run a rematch)."));
  else
    add_bar_chart(out, &reasons, rows, count);
}

/* The training's name for a code, from the report's rows (the code when it has none). */
static const char *training_name(const Leerplek__V1__Report *report, const char *code) {
  for (size_t i = 0; i < report->n_by_training; i++)
    if (strcmp(report->by_training[i]->key, code) == 0 && report->by_training[i]->name[0])
      return report->by_training[i]->name;
  return code;
}

static void add_shortages(struct evbuffer *out, const Leerplek__V1__Report *report) {
  evbuffer_add_printf(out, "<h2>%s</h2>\n", T("Largest shortages"));
  if (report->n_shortages == 0) {
    evbuffer_add_printf(out, "<p id=\"shortages\">%s</p>\n", T("No training lacks places."));
    return;
  }
  evbuffer_add_printf(out,
                      "<table "
                      "id=\"shortages\"><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></"
                      "tr></thead><tbody>\n",
                      T("training"), T("district"), T("pupils waiting"), T("free seats"), T("shortage"),
                      T("need a preparatory place"));
  for (size_t i = 0; i < report->n_shortages; i++) {
    const Leerplek__V1__Shortage *s = report->shortages[i];
    evbuffer_add_printf(out, "<tr><td title=\"");
    add_escaped(out, s->training_code);
    evbuffer_add_printf(out, "\">");
    add_escaped(out, training_name(report, s->training_code));
    evbuffer_add_printf(out, "</td><td>");
    add_escaped(out, s->district[0] ? s->district : T("all districts"));
    evbuffer_add_printf(out, "</td><td>%u</td><td>%u</td><td>%u</td><td>%u</td></tr>\n", s->pupils_waiting,
                        s->free_seats, s->shortage, s->needs_preparatory);
  }
  evbuffer_add_printf(out, "</tbody></table>\n");
}

static void add_figures_row(struct evbuffer *out, const char *label, const Leerplek__V1__RegistrationFigures *f) {
  evbuffer_add_printf(out, "<tr><td>");
  add_escaped(out, label);
  evbuffer_add_printf(out, "</td><td>%u</td><td>%u</td><td>%u</td><td>%u</td><td>%u</td></tr>\n", f->requests,
                      f->started, f->median_days_to_start, f->p90_days_to_start, f->over_deadline);
}

/* The registration point per partner, the total last: how long schools wait for a start. */
static void add_registration_point(struct evbuffer *out, const Leerplek__V1__Report *report) {
  const Leerplek__V1__RegistrationSummary *summary = report->registration_point;
  if (!summary || !summary->total) return;
  evbuffer_add_printf(out, "<h2>%s</h2>\n", T("Central registration point"));
  if (summary->total->requests == 0) {
    evbuffer_add_printf(out, "<p id=\"registration-point\">%s</p>\n",
                        T("No school has referred a pupil to the partners yet."));
    return;
  }
  evbuffer_add_printf(out, "<p class=\"muted\">");
  /* TRANSLATORS: the deadline in days */
  evbuffer_add_printf(
      out, T("Days from a school's request to the start of the trajectory; overdue: not started after %u days."),
      summary->deadline_days);
  evbuffer_add_printf(out, "</p>\n");
  evbuffer_add_printf(out,
                      "<table "
                      "id=\"registration-point\"><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</"
                      "th><th>%s</th></tr></thead><tbody>\n",
                      T("partner"), T("requests"), T("started"), T("median days to start"), T("90th percentile"),
                      T("overdue"));
  for (size_t i = 0; i < summary->n_by_partner; i++)
    add_figures_row(out, summary->by_partner[i]->key, summary->by_partner[i]);
  add_figures_row(out, T("all requests"), summary->total);
  evbuffer_add_printf(out, "</tbody></table>\n");
}

static void add_last_rematch(struct evbuffer *out, const Leerplek__V1__Report *report) {
  const Leerplek__V1__RematchResult *last = report->last_rematch;
  if (!last) {
    evbuffer_add_printf(out, "<p id=\"last-rematch\">%s</p>\n", T("No rematch has been applied yet."));
    return;
  }
  time_t started = (time_t)last->started_unix_s;
  struct tm when;
  char when_text[32];
  localtime_r(&started, &when);
  strftime(when_text, sizeof when_text, "%Y-%m-%d %H:%M", &when);
  uint64_t total_us = last->snapshot_us + last->candidates_us + last->solve_us + last->write_us;
  evbuffer_add_printf(out, "<p id=\"last-rematch\">");
  /* TRANSLATORS: epoch, date, pupils, vacancies, pairs, proposed, unplaced, fixed, newly proposed, moved, released, ms
   */
  evbuffer_add_printf(out,
                      T("Last rematch: epoch <b>%llu</b>, %s, %u pupils, %u vacancies, %llu eligible pairs: <b>%u "
                        "proposed</b> (both sides to answer), "
                        "<b>%u unplaced</b>, %u kept as they were (accepted or agreement); %u newly proposed, %u "
                        "moved, %u released; %.1f ms."),
                      (unsigned long long)last->epoch, when_text, last->pupils, last->vacancies,
                      (unsigned long long)last->eligible_pairs, last->placed, last->unplaced, last->fixed,
                      last->newly_proposed, last->moved, last->released, (double)total_us / 1000.0);
  evbuffer_add_printf(out, "</p>\n");
}

static const char page_style[] =
    "<style>\n"
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1100px}\n"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:.6em}.card{border:1px solid #ccc;border-radius:6px;padding:.5em "
    ".8em;min-width:9em}\n"
    ".value{display:block;font-size:1.6em;font-weight:bold}.label{font-size:.85em;color:#555}\n"
    "figure{margin:.5em 0}figcaption{color:#555;margin-bottom:.3em}svg text{font-size:12px;fill:#222}\n"
    "table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.2em .6em;text-align:right}\n"
    "th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}.muted{color:#666;font-size:.85em}\n"
    "nav{float:right}nav a{margin-left:.6em}\n"
    "</style></head><body>\n";

static int render(lp_daemon *daemon, struct evbuffer *out) {
  /* The coordinators' aggregates, as GetReport answers them. */
  lp_pool pool = {0};
  long long now_unix_s = (long long)time(NULL);
  Leerplek__V1__Report *report = lp_report_build(&pool, daemon, 15, now_unix_s);
  lp_trend_attach(daemon->trend, report, &pool, now_unix_s);
  size_t most_rows = report->n_by_training > report->n_by_district ? report->n_by_training : report->n_by_district;
  chart_row *rows = lp_calloc(most_rows + 8, sizeof *rows);
  time_t now = (time_t)now_unix_s;
  struct tm local;
  char now_text[32];
  localtime_r(&now, &local);
  strftime(now_text, sizeof now_text, "%Y-%m-%d %H:%M:%S", &local);

  evbuffer_add_printf(out,
                      "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">\n"
                      "<meta http-equiv=\"refresh\" content=\"60\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
                      dutch_page ? "nl-BE" : "en");
  add_escaped(out, T("leerplek: dual learning placements"));
  evbuffer_add_printf(out, "</title>\n");
  evbuffer_add(out, page_style, sizeof page_style - 1);
  evbuffer_add_printf(out, "<nav><a href=\"?lang=nl\" hreflang=\"nl\">Nederlands</a><a href=\"?lang=en\" "
                           "hreflang=\"en\">English</a></nav>\n<h1>");
  add_escaped(out, T("leerplek: dual learning placements"));
  evbuffer_add_printf(out, "</h1>\n<p class=\"muted\">");
  evbuffer_add_printf(out, T("Figures of %s, epoch %llu; this page refreshes every minute and shows aggregates only."),
                      now_text, (unsigned long long)report->epoch);
  evbuffer_add_printf(out, "</p>\n");
  add_headline(out, report->headline);
  add_last_rematch(out, report);
  add_school_types(out, report);
  add_trend(out, report);
  evbuffer_add_printf(out, "<h2>%s</h2>\n", T("Pupils by state per training"));
  add_trainings_chart(out, report, rows);
  evbuffer_add_printf(out, "<h2>%s</h2>\n", T("Supply against demand per district"));
  add_districts_chart(out, report, rows);
  evbuffer_add_printf(out, "<h2>%s</h2>\n", T("Unplaced reasons"));
  add_reasons_chart(out, report, rows);
  add_shortages(out, report);
  add_registration_point(out, report);
  evbuffer_add_printf(out, "<p class=\"muted\">");
  evbuffer_add_printf(out,
                      T("leerplekd %s. Per pupil details: <code>leerplek coordinator waiting</code> and <code>leerplek "
                        "coordinator report</code>."),
                      &LP_SERVER_VERSION[strlen("leerplekd ")]);
  evbuffer_add_printf(out, "</p>\n</body></html>\n");
  free(rows);
  lp_pool_free(&pool);
  return 0;
}

int lp_dashboard_render(lp_daemon *daemon, struct evbuffer *out, int dutch) {
  locale_t dutch_messages = dutch ? dutch_locale() : (locale_t)0;
  locale_t previous = dutch_messages ? uselocale(dutch_messages) : (locale_t)0;
  dutch_page = dutch_messages != (locale_t)0;
  int rc = render(daemon, out);
  dutch_page = 0;
  if (dutch_messages) uselocale(previous);
  return rc;
}
