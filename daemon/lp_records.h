/* lp_records: copies and edits of stored records that the handlers and the rematch share
 * (both below the handlers, so that the rematch needs nothing of them). */
#ifndef LP_RECORDS_H
#define LP_RECORDS_H

#include "leerplek.pb-c.h"

#define LP_MAX_KEY 80 /* longest in-memory key: "<school id>/<pupil ref>" */

/* A deep copy of a message (pack + unpack); never NULL (see lp_alloc.h). Free with
 * protobuf_c_message_free_unpacked. */
void *lp_clone(const void *message);
/* Replaces an owned string field of an unpacked message with a copy of value. */
void lp_set_string(char **field, const char *value);
/* The proposal ends or is replaced by another: its pin and its manual info go with it. */
void lp_placement_end_manual(Leerplek__V1__Placement *placement);

#endif
