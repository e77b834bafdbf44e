/* lp_dashboard: GET /dashboard, the coordinators' page. It renders the same Report that the
 * GetReport call returns (handlers_rematch.c computes it; nothing is counted twice), as one
 * self-contained HTML page: headline figures, pupils by state per training, supply against
 * demand per district, unplaced reasons and the largest shortages, with inline SVG charts and
 * no script or external asset. Only aggregates: no pupil reference, school or home point ever
 * reaches this page, because the Report holds none. Text from the store (training names,
 * districts) is HTML-escaped. */
#include "lp_dashboard.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_handlers.h"
#include "lp_rematch.h"

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

/* "UNPLACED_REASON_NONE_WITHIN_COMMUTE" -> "none within commute", from the generated enum
 * descriptor so that the proto file stays the one list of reasons. */
static void reason_text(int reason, char *out, size_t out_size) {
  const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value(&leerplek__v1__unplaced_reason__descriptor, reason);
  const char *name = value ? value->name : "UNKNOWN";
  const char *prefix = "UNPLACED_REASON_";
  if (strncmp(name, prefix, strlen(prefix)) == 0) name += strlen(prefix);
  size_t i = 0;
  for (; name[i] && i + 1 < out_size; i++) out[i] = name[i] == '_' ? ' ' : (char)tolower((unsigned char)name[i]);
  out[i] = '\0';
}

/* ---- charts -------------------------------------------------------------------------- */

#define MAX_SERIES 3

typedef struct chart_row {
  const char *label;
  const char *title;                 /* tooltip, e.g. the training's name; may be NULL */
  uint32_t values[MAX_SERIES];
} chart_row;

typedef struct chart {
  const char *id;                    /* the svg's id, for tests and links */
  const char *caption;
  size_t series;
  const char *series_names[MAX_SERIES];
  const char *colours[MAX_SERIES];
  bool stacked;                      /* stacked: one bar per row; else one thin bar per series */
} chart;

/* A horizontal bar chart: one row per label, scaled to the largest row, with its figures. */
static void add_bar_chart(struct evbuffer *out, const chart *chart, const chart_row *rows, size_t row_count) {
  const int label_width = 280, bar_width = 420, row_height = chart->stacked ? 22 : 12 * (int)chart->series + 8;
  uint32_t largest = 1;
  for (size_t r = 0; r < row_count; r++) {
    uint32_t total = 0;
    for (size_t s = 0; s < chart->series; s++) {
      if (chart->stacked) total += rows[r].values[s];
      else if (rows[r].values[s] > total) total = rows[r].values[s];
    }
    if (total > largest) largest = total;
  }
  int height = 30 + (int)row_count * row_height;
  evbuffer_add_printf(out, "<figure><figcaption>");
  add_escaped(out, chart->caption);
  evbuffer_add_printf(out, "</figcaption>\n<svg id=\"%s\" role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                      "xmlns=\"http://www.w3.org/2000/svg\">\n",
                      chart->id, label_width + bar_width + 80, height, label_width + bar_width + 80, height);
  /* Legend. */
  int x = label_width;
  for (size_t s = 0; s < chart->series; s++) {
    evbuffer_add_printf(out, "<rect x=\"%d\" y=\"4\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"15\">",
                        x, chart->colours[s], x + 16);
    add_escaped(out, chart->series_names[s]);
    evbuffer_add_printf(out, "</text>\n");
    x += 24 + 8 * (int)strlen(chart->series_names[s]);
  }
  for (size_t r = 0; r < row_count; r++) {
    int y = 26 + (int)r * row_height;
    evbuffer_add_printf(out, "<g class=\"row\" data-label=\"");
    add_escaped(out, rows[r].label);
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
        evbuffer_add_printf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"10\" fill=\"%s\" data-value=\"%u\"/>"
                            "<text x=\"%d\" y=\"%d\" class=\"figure\">%u</text>",
                            label_width, bar_y, length, chart->colours[s], rows[r].values[s],
                            label_width + length + 4, bar_y + 9, rows[r].values[s]);
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

static void add_figure(struct evbuffer *out, const char *id, const char *label, uint32_t value) {
  evbuffer_add_printf(out, "<div class=\"card\"><span class=\"value\" id=\"%s\">%u</span><span class=\"label\">%s</span></div>\n",
                      id, value, label);
}

static void add_headline(struct evbuffer *out, const Leerplek__V1__Headline *h) {
  evbuffer_add_printf(out, "<section class=\"cards\" aria-label=\"headline figures\">\n");
  add_figure(out, "pupils-in-dual-learning", "pupils in dual learning (agreement signed)", h->pupils_in_dual_learning);
  add_figure(out, "pupils-registered", "pupils registered", h->pupils_registered);
  add_figure(out, "pupils-waiting", "pupils waiting", h->pupils_waiting);
  add_figure(out, "pupils-proposed", "pupils with a proposal", h->pupils_proposed);
  add_figure(out, "pupils-accepted", "proposals accepted by both sides", h->pupils_accepted);
  add_figure(out, "schools", "schools", h->schools);
  add_figure(out, "trainings", "trainings", h->trainings);
  add_figure(out, "agreements-running", "agreements running", h->agreements_running);
  add_figure(out, "recognised-companies", "recognised companies", h->recognised_companies);
  add_figure(out, "recognised-locations", "recognised locations", h->recognised_locations);
  add_figure(out, "open-vacancies", "open vacancies", h->open_vacancies);
  add_figure(out, "free-seats", "free seats", h->free_seats);
  evbuffer_add_printf(out, "</section>\n");
}

static void add_trainings_chart(struct evbuffer *out, const Leerplek__V1__Report *report, chart_row *rows) {
  size_t count = 0;
  for (size_t i = 0; i < report->n_by_training; i++) {
    const Leerplek__V1__ReportRow *row = report->by_training[i];
    if (row->pupils_waiting + row->pupils_proposed + row->pupils_placed == 0) continue;
    rows[count++] = (chart_row){row->key, row->name, {row->pupils_waiting, row->pupils_proposed, row->pupils_placed}};
  }
  const chart pupils_by_state = {"chart-trainings", "Largest shortage first; hover a code for the training's name.", 3,
                                 {"waiting", "proposed", "placed"}, {"#d9534f", "#f0ad4e", "#5cb85c"}, true};
  if (count == 0) evbuffer_add_printf(out, "<p id=\"chart-trainings\">No pupils registered yet.</p>\n");
  else add_bar_chart(out, &pupils_by_state, rows, count);
}

static void add_districts_chart(struct evbuffer *out, const Leerplek__V1__Report *report, chart_row *rows) {
  size_t count = 0;
  for (size_t i = 0; i < report->n_by_district; i++) {
    const Leerplek__V1__ReportRow *row = report->by_district[i];
    rows[count++] = (chart_row){row->key[0] ? row->key : "(no district)", NULL, {row->pupils_waiting, row->free_seats, 0}};
  }
  const chart supply_demand = {"chart-districts", "Pupils waiting, by their home district, against free seats, by the workplace's district.",
                               2, {"pupils waiting", "free seats"}, {"#d9534f", "#337ab7"}, false};
  if (count == 0) evbuffer_add_printf(out, "<p id=\"chart-districts\">No districts yet.</p>\n");
  else add_bar_chart(out, &supply_demand, rows, count);
}

static void add_reasons_chart(struct evbuffer *out, const Leerplek__V1__Report *report, chart_row *rows) {
  char labels[8][48]; /* the rows point into it until the chart is written */
  size_t count = 0;
  for (size_t i = 0; i < report->n_unplaced_by_reason && count < 8; i++) {
    const Leerplek__V1__ReasonCount *reason = report->unplaced_by_reason[i];
    if (reason->pupils == 0) continue;
    reason_text(reason->reason, labels[count], sizeof labels[count]);
    rows[count] = (chart_row){labels[count], NULL, {reason->pupils, 0, 0}};
    count++;
  }
  const chart reasons = {"chart-reasons", "Why waiting pupils are not placed, as found by the last rematch.", 1,
                         {"pupils"}, {"#777777"}, false};
  if (count == 0) evbuffer_add_printf(out, "<p id=\"chart-reasons\">No unplaced pupils with a reason yet (run a rematch).</p>\n");
  else add_bar_chart(out, &reasons, rows, count);
}

static void add_shortages(struct evbuffer *out, const Leerplek__V1__Report *report) {
  evbuffer_add_printf(out, "<h2>Largest shortages</h2>\n");
  if (report->n_shortages == 0) {
    evbuffer_add_printf(out, "<p id=\"shortages\">No training lacks places.</p>\n");
    return;
  }
  evbuffer_add_printf(out, "<table id=\"shortages\"><thead><tr><th>training</th><th>district</th><th>pupils waiting</th>"
                           "<th>free seats</th><th>shortage</th><th>need a preparatory place</th></tr></thead><tbody>\n");
  for (size_t i = 0; i < report->n_shortages; i++) {
    const Leerplek__V1__Shortage *s = report->shortages[i];
    evbuffer_add_printf(out, "<tr><td>");
    add_escaped(out, s->training_code);
    evbuffer_add_printf(out, "</td><td>");
    add_escaped(out, s->district[0] ? s->district : "all districts");
    evbuffer_add_printf(out, "</td><td>%u</td><td>%u</td><td>%u</td><td>%u</td></tr>\n", s->pupils_waiting, s->free_seats,
                        s->shortage, s->needs_preparatory);
  }
  evbuffer_add_printf(out, "</tbody></table>\n");
}

static void add_last_rematch(struct evbuffer *out, const Leerplek__V1__Report *report) {
  const Leerplek__V1__RematchResult *last = report->last_rematch;
  if (!last) {
    evbuffer_add_printf(out, "<p id=\"last-rematch\">No rematch has been applied yet.</p>\n");
    return;
  }
  time_t started = (time_t)last->started_unix_s;
  struct tm when;
  char when_text[32];
  localtime_r(&started, &when);
  strftime(when_text, sizeof when_text, "%Y-%m-%d %H:%M", &when);
  uint64_t total_us = last->snapshot_us + last->candidates_us + last->solve_us + last->write_us;
  evbuffer_add_printf(out, "<p id=\"last-rematch\">Last rematch: epoch <b>%llu</b>, %s, %u pupils, %u vacancies, "
                           "%llu eligible pairs: <b>%u with a proposal</b>, <b>%u unplaced</b>, %u fixed (accepted or signed); "
                           "%u newly proposed, %u moved, %u released; %.1f ms.</p>\n",
                      (unsigned long long)last->epoch, when_text, last->pupils, last->vacancies,
                      (unsigned long long)last->eligible_pairs, last->placed, last->unplaced, last->fixed, last->newly_proposed,
                      last->moved, last->released, (double)total_us / 1000.0);
}

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"refresh\" content=\"60\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>leerplek: dual learning placements</title>\n"
    "<style>\n"
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1100px}\n"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:.6em}.card{border:1px solid #ccc;border-radius:6px;padding:.5em .8em;min-width:9em}\n"
    ".value{display:block;font-size:1.6em;font-weight:bold}.label{font-size:.85em;color:#555}\n"
    "figure{margin:.5em 0}figcaption{color:#555;margin-bottom:.3em}svg text{font-size:12px;fill:#222}\n"
    "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.2em .6em;text-align:right}\n"
    "th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}.muted{color:#666;font-size:.85em}\n"
    "</style></head><body>\n";

int lp_dashboard_render(lp_daemon *daemon, struct evbuffer *out) {
  Leerplek__V1__GetReportRequest report_request = LEERPLEK__V1__GET_REPORT_REQUEST__INIT;
  report_request.max_shortages = 15;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_REPORT;
  request.get_report = &report_request;
  Leerplek__V1__Response response = LEERPLEK__V1__RESPONSE__INIT;
  lp_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.daemon = daemon;
  ctx.request = &request;
  ctx.response = &response;
  ctx.now = (long long)time(NULL);
  ctx.who.role = LEERPLEK__V1__ROLE__ROLE_COORDINATOR; /* the page shows the coordinators' aggregates */
  int rc = lp_handle_get_report(&ctx);
  if (rc != 0 || !response.get_report || !response.get_report->report) {
    lp_scratch_free(&ctx);
    return -1;
  }
  const Leerplek__V1__Report *report = response.get_report->report;
  size_t most_rows = report->n_by_training > report->n_by_district ? report->n_by_training : report->n_by_district;
  chart_row *rows = lp_calloc(most_rows + 8, sizeof *rows);
  time_t now = (time_t)ctx.now;
  struct tm local;
  char now_text[32];
  localtime_r(&now, &local);
  strftime(now_text, sizeof now_text, "%Y-%m-%d %H:%M:%S", &local);

  evbuffer_add(out, page_head, sizeof page_head - 1);
  evbuffer_add_printf(out, "<h1>leerplek: dual learning placements</h1>\n"
                           "<p class=\"muted\">Figures of %s, epoch %llu; this page refreshes every minute and "
                           "shows aggregates only.</p>\n",
                      now_text, (unsigned long long)report->epoch);
  add_headline(out, report->headline);
  add_last_rematch(out, report);
  evbuffer_add_printf(out, "<h2>Pupils by state per training</h2>\n");
  add_trainings_chart(out, report, rows);
  evbuffer_add_printf(out, "<h2>Supply against demand per district</h2>\n");
  add_districts_chart(out, report, rows);
  evbuffer_add_printf(out, "<h2>Unplaced reasons</h2>\n");
  add_reasons_chart(out, report, rows);
  add_shortages(out, report);
  evbuffer_add_printf(out, "<p class=\"muted\">leerplekd %s. Per pupil details: <code>leerplek coordinator waiting</code> "
                           "and <code>leerplek coordinator report</code>.</p>\n</body></html>\n",
                      &LP_SERVER_VERSION[strlen("leerplekd ")]);
  free(rows);
  lp_scratch_free(&ctx);
  return 0;
}
