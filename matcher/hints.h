/* hints.h: private to libeligibility. The second half of eligibility_explain: checking each
 * unplaced pupil's hint by re-solving, and writing the reason and the hint as text. */
#ifndef LEERPLEK_MATCHER_HINTS_H
#define LEERPLEK_MATCHER_HINTS_H

#include "eligibility.h"

/* For every unplaced pupil whose explanation carries a planned hint (kind, vacancy, company),
 * finds the fewest seats that place it, by re-solving, strongest claims first while
 * weights->hint_pair_budget lasts; clears the hints it cannot confirm. */
matcher_status hints_verify(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                            int32_t vacancy_count, const eligibility_weights *weights, const eligibility_problem *built,
                            eligibility_explanation *explanations, matcher_error *error);

/* explanation->help: the reason with its figures, then the checked hint. */
void hints_format_help(const eligibility_pupil *pupil, int32_t vacancy_count, const eligibility_names *names,
                       const eligibility_weights *weights, eligibility_explanation *explanation);

#endif
