/* leerplek_report: the coordinators' report (a Report as lp_message_to_json gives it) cut
 * into flat tables, one row per item, for `leerplek coordinator report --table NAME` and
 * `--csv-dir DIR`: a spreadsheet gets one proper table per file instead of whole tables packed
 * into cells. Column names are the proto's field names (snake_case, never translated), in the
 * proto's field order, so headers stay stable as the report grows at the end. */
#ifndef LEERPLEK_REPORT_H
#define LEERPLEK_REPORT_H

#include <stddef.h>

#include <jansson.h>

/* The tables, in the order --csv-dir writes them. */
extern const char *const lp_report_tables[];
extern const size_t lp_report_table_count;

/* Builds table `name` of `report`: *rows an array of flat objects, *columns an array of the
 * column names (strings). Returns 0, or -1 for an unknown name. The caller decrefs both. */
int lp_report_table(const json_t *report, const char *name, json_t **rows, json_t **columns);

#endif
