/* test_rematch: the rematch through the real daemon and Redis: dry run changes nothing, a
 * rematch proposes, both sides accept, an agreement is recorded, a decline excludes the
 * company, a second rematch keeps fixed pairs and is optimal (checked against the test's own
 * eligibility_build + matcher_solve + matcher_verify on the same data); the lock refuses a
 * second rematch; writes during rematches are never lost; roles; report and waiting list. */
#include <pthread.h>
#include <stdlib.h>

#include "common.h"
#include "eligibility.h"

#define STATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define SIDE(name) LEERPLEK__V1__SIDE__SIDE_##name

static lp_harness harness;
static leerplek_client *coordinator, *school_a, *school_b;
static char coordinator_token[128], school_a_token[128], school_b_token[128];

/* Companies X and Y, sorted ids; their locations 1.5 km and 6 km from the pupils' home. */
#define COMPANY_X "1111111111"
#define COMPANY_Y "2222222222"
static const struct {
  const char *school, *ref;
} pupil_list[] = {{"school-a", "p1"}, {"school-a", "p2"}, {"school-a", "p3"}, {"school-b", "q1"}, {"school-b", "q2"}};
#define PUPILS 5

static int location_at(const char *id, const char *company, int32_t lat_e6, const char *district) {
  Leerplek__V1__GeoPoint point = LEERPLEK__V1__GEO_POINT__INIT;
  point.lat_e6 = lat_e6;
  point.lon_e6 = 4421100;
  Leerplek__V1__Location location = LEERPLEK__V1__LOCATION__INIT;
  location.id = (char *)id;
  location.company_id = (char *)company;
  location.name = (char *)"Werkplaats";
  location.point = &point;
  location.postcode = (char *)"2000";
  location.district = (char *)district;
  Leerplek__V1__UpsertLocationRequest body = LEERPLEK__V1__UPSERT_LOCATION_REQUEST__INIT;
  body.location = &location;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_LOCATION;
  request.upsert_location = &body;
  return call_code(coordinator, &request, NULL);
}

/* The placement (caller frees the response). */
static Leerplek__V1__Placement *get_placement(const char *school, const char *ref, Leerplek__V1__Response **response) {
  return placement_at(coordinator, school, ref, response);
}

static int proposal_call(uint64_t proposal_id, int side, bool decline) {
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  Leerplek__V1__AcceptProposalRequest accept = LEERPLEK__V1__ACCEPT_PROPOSAL_REQUEST__INIT;
  Leerplek__V1__DeclineProposalRequest decline_body = LEERPLEK__V1__DECLINE_PROPOSAL_REQUEST__INIT;
  if (decline) {
    decline_body.proposal_id = proposal_id;
    decline_body.side = (Leerplek__V1__Side)side;
    decline_body.reason = (char *)"geen plaats meer";
    request.body_case = LEERPLEK__V1__REQUEST__BODY_DECLINE_PROPOSAL;
    request.decline_proposal = &decline_body;
  } else {
    accept.proposal_id = proposal_id;
    accept.side = (Leerplek__V1__Side)side;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL;
    request.accept_proposal = &accept;
  }
  return call_code(coordinator, &request, NULL);
}

static int record_agreement(uint64_t proposal_id) {
  return record_agreement_as(coordinator, proposal_id, "OAO-2026-1");
}

static void setup(void) {
  start_all(&harness, NULL);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator_token, sizeof coordinator_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-a", school_a_token, sizeof school_a_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-b", school_b_token, sizeof school_b_token);
  leerplek_close(admin);
  cr_assert_not_null(coordinator = harness_connect(&harness, coordinator_token));
  cr_assert_not_null(school_a = harness_connect(&harness, school_a_token));
  cr_assert_not_null(school_b = harness_connect(&harness, school_b_token));
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_company(coordinator, COMPANY_X, "KAPPER"), 0);
  cr_assert_eq(upsert_company(coordinator, COMPANY_Y, "KAPPER"), 0);
  /* Pupils live at lat 51.217234; X is ~1.5 km north, Y ~6 km north. */
  cr_assert_eq(location_at("loc-x", COMPANY_X, 51230800, "Centrum"), 0);
  cr_assert_eq(location_at("loc-y", COMPANY_Y, 51271200, "Merksem"), 0);
  cr_assert_eq(publish_vacancy(coordinator, "vac-x", "loc-x", "KAPPER"), 0);
  cr_assert_eq(publish_vacancy(coordinator, "vac-y", "loc-y", "KAPPER"), 0);
  for (int i = 0; i < PUPILS; i++) {
    cr_assert_eq(register_pupil(coordinator, pupil_list[i].school, pupil_list[i].ref, "KAPPER"), 0);
    cr_assert_eq(request_placement(coordinator, pupil_list[i].school, pupil_list[i].ref), 0);
  }
}

static void teardown(void) {
  leerplek_close(coordinator);
  leerplek_close(school_a);
  leerplek_close(school_b);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(rematch, .init = setup, .fini = teardown, .timeout = 60);

/* The problem the daemon should build, from what the test knows of the data and reads back
 * of the placements (taken before a rematch, since current proposals carry a move penalty). */
typedef struct model {
  eligibility_vacancy vacancies[2];
  eligibility_pupil pupils[PUPILS];
  int32_t excluded[PUPILS][2];
} model;

/* Where each pupil is now in the daemon: 0 vac-x, 1 vac-y, -1 none; *states gets the states. */
static void daemon_assignment(int32_t vacancy_of[PUPILS], int states[PUPILS]) {
  for (int i = 0; i < PUPILS; i++) {
    Leerplek__V1__Response *response = NULL;
    Leerplek__V1__Placement *placement = get_placement(pupil_list[i].school, pupil_list[i].ref, &response);
    vacancy_of[i] =
        placement->offer && placement->proposal_id ? (strcmp(placement->offer->vacancy_id, "vac-x") == 0 ? 0 : 1) : -1;
    states[i] = placement->state;
    leerplek_response_free(response);
  }
}

static void model_read(model *m) {
  memset(m, 0, sizeof *m);
  for (int j = 0; j < 2; j++) {
    m->vacancies[j].training = 0;
    m->vacancies[j].company = j; /* companies sorted by id: X = 0, Y = 1 */
    m->vacancies[j].recognised = 1;
    m->vacancies[j].open = 1;
    m->vacancies[j].min_readiness = READINESS_PARTLY;
    m->vacancies[j].day_mask = 0x183;
    m->vacancies[j].seats = 2;
    m->vacancies[j].lat_e6 = j == 0 ? 51230800 : 51271200;
    m->vacancies[j].lon_e6 = 4421100;
  }
  int32_t vacancy_of[PUPILS];
  int states[PUPILS];
  daemon_assignment(vacancy_of, states);
  for (int i = 0; i < PUPILS; i++) {
    eligibility_pupil *p = &m->pupils[i];
    p->training = 0;
    p->readiness = READINESS_READY;
    p->day_mask = 0x183;
    p->lat_e6 = 51217234;
    p->lon_e6 = 4421100;
    p->max_commute_m = 15000;
    p->proposed_vacancy = states[i] == STATE(PROPOSED) ? vacancy_of[i] : -1;
    p->fixed_vacancy = states[i] == STATE(ACCEPTED) || states[i] == STATE(AGREEMENT) ? vacancy_of[i] : -1;
    Leerplek__V1__Response *pupil_response = NULL;
    cr_assert_eq(get_pupil(coordinator, pupil_list[i].school, pupil_list[i].ref, &pupil_response), 0);
    const Leerplek__V1__Pupil *pupil = pupil_response->get_pupil->pupil;
    /* The daemon stores the home point rounded; match on what it stored. */
    p->lat_e6 = pupil->home->lat_e6;
    p->lon_e6 = pupil->home->lon_e6;
    for (size_t c = 0; c < pupil->n_declined_company_ids && c < 2; c++)
      m->excluded[i][p->excluded_count++] = strcmp(pupil->declined_company_ids[c], COMPANY_X) == 0 ? 0 : 1;
    p->excluded_companies = p->excluded_count ? m->excluded[i] : NULL;
    leerplek_response_free(pupil_response);
  }
}

/* Solves the model independently (and proves it); the daemon's current assignment must cost
 * exactly the optimum in it, and the objective the rematch reported must be the optimum. */
static void check_optimal(model *m, int64_t daemon_objective) {
  eligibility_weights weights;
  eligibility_default_weights(&weights);
  eligibility_problem problem;
  matcher_error error;
  cr_assert_eq(eligibility_build(m->pupils, PUPILS, m->vacancies, 2, &weights, &problem, &error), MATCHER_OK, "%s",
               error.message);
  matcher_solution solution;
  cr_assert_eq(matcher_solve(&problem.problem, NULL, &solution, &error), MATCHER_OK, "%s", error.message);
  cr_assert_eq(matcher_verify(&problem.problem, &solution, &error), MATCHER_OK, "%s", error.message);
  int32_t vacancy_of[PUPILS];
  int states[PUPILS];
  daemon_assignment(vacancy_of, states);
  int64_t cost = 0;
  for (int i = 0; i < PUPILS; i++) {
    if (vacancy_of[i] < 0) {
      cost += problem.problem.unplaced_penalty[i];
      continue;
    }
    bool found = false;
    for (int64_t k = 0; k < problem.problem.pair_count; k++)
      if (problem.problem.pairs[k].pupil == i && problem.problem.pairs[k].vacancy == vacancy_of[i])
        cost += problem.problem.pairs[k].cost, found = true;
    cr_assert(found, "pupil %d holds vacancy %d, which is not an eligible pair", i, vacancy_of[i]);
    if (m->pupils[i].fixed_vacancy >= 0) cr_assert_eq(vacancy_of[i], m->pupils[i].fixed_vacancy, "a fixed pair moved");
  }
  cr_assert_eq(cost, solution.objective, "the daemon's proposals cost %lld, the optimum is %lld", (long long)cost,
               (long long)solution.objective);
  cr_assert_eq(daemon_objective, solution.objective, "the rematch reported objective %lld, the optimum is %lld",
               (long long)daemon_objective, (long long)solution.objective);
  matcher_solution_free(&solution);
  eligibility_problem_free(&problem);
}

Test(rematch, dry_run_changes_nothing_and_shows_the_changes) {
  char *before = harness_snapshot(&harness);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, true, &response), 0, "%s", response->status->message);
  const Leerplek__V1__RematchResult *result = response->run_rematch->result;
  cr_assert(result->dry_run);
  cr_assert_eq(result->epoch, 1);
  cr_assert_eq(result->newly_proposed, 4, "4 seats for 5 pupils: %u proposed", result->newly_proposed);
  cr_assert_eq(result->unplaced, 1);
  cr_assert_eq(result->n_changes, 4);
  for (size_t c = 0; c < result->n_changes; c++)
    cr_assert_eq(result->changes[c]->kind, LEERPLEK__V1__CHANGE_KIND__CHANGE_KIND_PROPOSED);
  leerplek_response_free(response);
  char *after = harness_snapshot(&harness);
  cr_assert_str_eq(before, after, "a dry run changed lp:* in Redis");
  free(before);
  free(after);
}

/* The next rematch reuses the pairs of the last applied one (reused_pupils), and a dry run in
 * between, which builds from them too, must leave them to it. */
Test(rematch, a_dry_run_leaves_the_reused_pairs_to_the_next_rematch) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  cr_assert_eq(response->run_rematch->result->reused_pupils, 0, "the first rematch after a start reused pairs");
  leerplek_response_free(response);
  for (int run = 0; run < 2; run++) {
    bool dry_run = run == 0;
    cr_assert_eq(run_rematch(coordinator, dry_run, &response), 0, "%s", response->status->message);
    const Leerplek__V1__RematchResult *result = response->run_rematch->result;
    cr_assert_eq(result->dry_run, dry_run);
    cr_assert_eq(result->reused_pupils, PUPILS, "%s rematch: %u of %d unchanged pupils reused their pairs",
                 dry_run ? "the dry" : "the real", result->reused_pupils, PUPILS);
    leerplek_response_free(response);
  }
}

/* The phases of RematchResult account for the daemon's time as the proto says: each within
 * total_us and together at most it, the epoch write's two parts within write_us, the snapshot's
 * copying within snapshot_us, and a dry run writes nothing. */
static void check_phases(const Leerplek__V1__RematchResult *result) {
  uint64_t phases = result->lock_us + result->snapshot_us + result->candidates_us + result->solve_us +
                    result->verify_us + result->explain_us + result->write_us + result->apply_us + result->finish_us;
  cr_assert_leq(phases, result->total_us, "the phases (%llu us) exceed total_us (%llu us)", (unsigned long long)phases,
                (unsigned long long)result->total_us);
  cr_assert_gt(result->total_us, 0);
  cr_assert_geq(result->snapshot_slices, 1, "a snapshot takes at least one slice");
  cr_assert_leq(result->snapshot_copy_us, result->snapshot_us, "copying %llu us of a %llu us snapshot",
                (unsigned long long)result->snapshot_copy_us, (unsigned long long)result->snapshot_us);
  cr_assert_leq(result->write_stage_us + result->write_promote_us, result->write_us);
  /* The memory after each phase, in the order they ran; the peak never falls. */
  static const char *const phase_names[] = {"snapshot", "candidates", "solve", "verify", "explain", "write"};
  size_t expected = result->dry_run ? 5 : 6;
  cr_assert_eq(result->n_phase_memory, expected, "%zu phases' memory, expected %zu", result->n_phase_memory, expected);
  for (size_t n = 0; n < expected; n++) {
    const Leerplek__V1__RematchPhaseMemory *memory = result->phase_memory[n];
    cr_assert_str_eq(memory->phase, phase_names[n]);
    cr_assert_gt(memory->rss_bytes, 1 << 20, "%s: RSS %llu bytes", phase_names[n],
                 (unsigned long long)memory->rss_bytes);
    cr_assert_geq(memory->peak_rss_bytes, memory->rss_bytes, "%s: peak below RSS", phase_names[n]);
    if (n > 0) cr_assert_geq(memory->peak_rss_bytes, result->phase_memory[n - 1]->peak_rss_bytes);
  }
  if (result->dry_run) {
    cr_assert_eq(result->write_us, 0, "a dry run wrote for %llu us", (unsigned long long)result->write_us);
    cr_assert_eq(result->bytes_written, 0);
    cr_assert_eq(result->write_chunks, 0);
    cr_assert_eq(result->promote_slices, 0);
    cr_assert_eq(result->apply_us, 0);
  } else {
    cr_assert_gt(result->bytes_written, 0, "a rematch writes at least its epoch");
    cr_assert_geq(result->promote_slices, 1);
    cr_assert_geq(result->write_chunks, result->promote_slices, "write_chunks counts the promote's slices too");
    cr_assert_geq(result->write_final_us, 1);
    cr_assert_leq(result->write_final_us, result->write_us);
  }
}

Test(rematch, the_phases_account_for_the_daemons_time) {
  for (int run = 0; run < 3; run++) {
    Leerplek__V1__Response *response = NULL;
    bool dry_run = run == 1;
    cr_assert_eq(run_rematch(coordinator, dry_run, &response), 0, "%s", response->status->message);
    check_phases(response->run_rematch->result);
    leerplek_response_free(response);
  }
}

/* What the solve did (RematchResult warm_started .. solve_pairs_scanned): the first rematch
 * solves cold; the next one, with nothing changed but the proposals the first one made (which
 * add the move penalty to the pupils' other pairs), starts warm and has no pupil to check; a
 * new vacancy every pupil is eligible for gives each of them a pair, so each is checked. */
Test(rematch, the_result_says_what_the_warm_start_did) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  const Leerplek__V1__RematchResult *result = response->run_rematch->result;
  cr_assert(!result->warm_started, "the first rematch after a start has nothing to start from");
  cr_assert_eq(result->warm_changed_pupils, 0);
  cr_assert_eq(result->warm_repaired, 0);
  cr_assert_geq(result->solve_searches, PUPILS, "a cold solve searches once per pupil: %llu",
                (unsigned long long)result->solve_searches);
  cr_assert_gt(result->solve_pairs_scanned, 0);
  cr_assert_eq(result->newly_proposed, 4);
  int64_t objective = result->objective;
  leerplek_response_free(response);

  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  result = response->run_rematch->result;
  cr_assert(result->warm_started);
  cr_assert_eq(result->warm_changed_pupils, 0, "%u pupils checked: a proposal alone marked them",
               result->warm_changed_pupils);
  cr_assert_eq(result->warm_repaired, 0);
  cr_assert_eq(result->solve_pairs_scanned, 0, "nothing to search for: %llu pairs scanned",
               (unsigned long long)result->solve_pairs_scanned);
  cr_assert_eq(result->moved + result->released + result->newly_proposed, 0);
  cr_assert(result->proven_optimal);
  cr_assert_eq(result->objective, objective, "the same assignment, the same cost (the move penalty is on the others)");
  leerplek_response_free(response);

  cr_assert_eq(publish_vacancy(coordinator, "vac-z", "loc-x", "KAPPER"), 0);
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  result = response->run_rematch->result;
  cr_assert(result->warm_started);
  cr_assert_eq(result->warm_changed_pupils, PUPILS, "a new pair for every pupil: %u checked",
               result->warm_changed_pupils);
  cr_assert_eq(result->newly_proposed, 1, "the pupil left waiting takes the new seat");
  cr_assert_gt(result->solve_searches, 0);
  cr_assert(result->proven_optimal);
  leerplek_response_free(response);
}

Test(rematch, lifecycle_with_a_second_optimal_rematch) {
  Leerplek__V1__Response *response = NULL;
  model before;
  model_read(&before);
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  cr_assert_eq(response->run_rematch->result->epoch, 1);
  cr_assert_eq(response->run_rematch->result->newly_proposed, 4);
  check_optimal(&before, response->run_rematch->result->objective);
  leerplek_response_free(response);
  redisContext *redis = harness_redis(&harness);
  redisReply *epoch = redisCommand(redis, "GET lp:epoch");
  cr_assert_eq(epoch->type, REDIS_REPLY_STRING);
  cr_assert_str_eq(epoch->str, "1");
  freeReplyObject(epoch);
  redisReply *lock = redisCommand(redis, "EXISTS lp:lock:rematch");
  cr_assert_eq(lock->integer, 0, "the lock was not released");
  freeReplyObject(lock);
  redisReply *events = redisCommand(redis, "XLEN lp:events");
  cr_assert_geq(events->integer, 4);
  freeReplyObject(events);

  /* Find who went where: vac-x (nearer) has 2 seats, vac-y 2; one pupil waits. */
  uint64_t proposal[PUPILS] = {0};
  int waiting = -1, at_y = -1, at_x = -1;
  for (int i = 0; i < PUPILS; i++) {
    Leerplek__V1__Placement *placement = get_placement(pupil_list[i].school, pupil_list[i].ref, &response);
    if (placement->state == STATE(WAITING)) {
      waiting = i;
      cr_assert_not_null(placement->unplaced, "an unplaced pupil has no reason");
      cr_assert_eq(placement->unplaced->reason, LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_SEATS_TAKEN);
    } else {
      cr_assert_eq(placement->state, STATE(PROPOSED));
      cr_assert_eq(placement->epoch, 1);
      proposal[i] = placement->proposal_id;
      if (strcmp(placement->offer->vacancy_id, "vac-x") == 0)
        at_x = i;
      else
        at_y = i;
    }
    leerplek_response_free(response);
  }
  cr_assert(waiting >= 0 && at_x >= 0 && at_y >= 0);

  /* Both sides accept at_x; the agreement is recorded: fixed from now on. */
  cr_assert_eq(proposal_call(proposal[at_x], SIDE(SCHOOL), false), 0);
  cr_assert_eq(proposal_call(proposal[at_x], SIDE(COMPANY), false), 0);
  cr_assert_eq(record_agreement(proposal[at_x]), 0);
  /* The company declines at_y: it waits again, company Y excluded. */
  cr_assert_eq(proposal_call(proposal[at_y], SIDE(COMPANY), true), 0);

  model_read(&before);
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  const Leerplek__V1__RematchResult *result = response->run_rematch->result;
  cr_assert_eq(result->epoch, 2);
  cr_assert_eq(result->base_epoch, 1);
  cr_assert_eq(result->fixed, 1);
  int64_t objective = result->objective;
  leerplek_response_free(response);

  Leerplek__V1__Placement *fixed = get_placement(pupil_list[at_x].school, pupil_list[at_x].ref, &response);
  cr_assert_eq(fixed->state, STATE(AGREEMENT), "a rematch moved a fixed placement");
  cr_assert_eq(fixed->proposal_id, proposal[at_x]);
  leerplek_response_free(response);
  Leerplek__V1__Placement *declined = get_placement(pupil_list[at_y].school, pupil_list[at_y].ref, &response);
  cr_assert(!(declined->offer && declined->proposal_id && strcmp(declined->offer->company_id, COMPANY_Y) == 0),
            "proposed again to the company that declined");
  leerplek_response_free(response);
  check_optimal(&before, objective);
}

Test(rematch, a_held_lock_refuses_a_second_rematch) {
  /* Another daemon's rematch holds the lock: this one must refuse, change nothing. */
  redisContext *redis = harness_redis(&harness);
  redisReply *set = redisCommand(redis, "SET lp:lock:rematch other-daemon PX 60000");
  freeReplyObject(set);
  char *before = harness_snapshot(&harness);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), CODE(ABORTED));
  cr_assert(strstr(response->status->message, "another rematch is running") != NULL, "unclear message: %s",
            response->status->message);
  leerplek_response_free(response);
  char *after = harness_snapshot(&harness);
  cr_assert_str_eq(before, after);
  free(before);
  free(after);
  redisReply *owner = redisCommand(redis, "GET lp:lock:rematch");
  cr_assert_str_eq(owner->str, "other-daemon", "someone else's lock was released");
  freeReplyObject(owner);
  freeReplyObject(redisCommand(redis, "DEL lp:lock:rematch"));
  redisFree(redis);
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  leerplek_response_free(response);
}

Test(rematch, roles_report_and_waiting_list) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(school_a, false, NULL), CODE(PERMISSION_DENIED));
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  leerplek_response_free(response);

  cr_assert_eq(get_report(school_a, NULL), CODE(PERMISSION_DENIED));
  cr_assert_eq(get_report(coordinator, &response), 0);
  const Leerplek__V1__Report *report = response->get_report->report;
  cr_assert_eq(report->epoch, 1);
  cr_assert_not_null(report->last_rematch);
  cr_assert_eq(report->headline->pupils_registered, PUPILS);
  cr_assert_eq(report->headline->schools, 2);
  cr_assert_eq(report->headline->pupils_proposed, 4);
  cr_assert_eq(report->headline->pupils_waiting, 1);
  cr_assert_eq(report->headline->open_seats, 4);
  cr_assert_eq(report->headline->free_seats, 0);
  cr_assert_eq(report->headline->recognised_companies, 2);
  cr_assert_eq(report->headline->recognised_locations, 2);
  cr_assert_eq(report->n_by_training, 1);
  cr_assert_str_eq(report->by_training[0]->key, "KAPPER");
  cr_assert_eq(report->by_training[0]->shortage, 1);
  cr_assert_geq(report->n_shortages, 1);
  cr_assert_str_eq(report->shortages[0]->training_code, "KAPPER");
  cr_assert_eq(report->n_unplaced_by_reason, 1);
  cr_assert_eq(report->unplaced_by_reason[0]->reason, LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_SEATS_TAKEN);
  leerplek_response_free(response);

  /* The waiting list: one pupil; a school sees it only if it is its own. */
  Leerplek__V1__GetWaitingListRequest list_body = LEERPLEK__V1__GET_WAITING_LIST_REQUEST__INIT;
  Leerplek__V1__Request list_request = LEERPLEK__V1__REQUEST__INIT;
  list_request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_WAITING_LIST;
  list_request.get_waiting_list = &list_body;
  cr_assert_eq(call_code(coordinator, &list_request, &response), 0);
  const Leerplek__V1__GetWaitingListResponse *list = response->get_waiting_list;
  cr_assert_eq(list->n_entries, 1);
  cr_assert_eq(list->entries[0]->position, 1);
  cr_assert_not_null(list->entries[0]->unplaced);
  cr_assert_eq(list->entries[0]->unplaced->reason, LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_SEATS_TAKEN);
  cr_assert_gt(strlen(list->entries[0]->unplaced->help), 0, "no help text");
  cr_assert_gt(list->entries[0]->priority_score, 0);
  char owner[64];
  snprintf(owner, sizeof owner, "%s", list->entries[0]->school_id);
  leerplek_response_free(response);
  leerplek_client *own = strcmp(owner, "school-a") == 0 ? school_a : school_b;
  leerplek_client *other = own == school_a ? school_b : school_a;
  cr_assert_eq(call_code(own, &list_request, &response), 0);
  cr_assert_eq(response->get_waiting_list->n_entries, 1);
  cr_assert_str_eq(response->get_waiting_list->entries[0]->school_id, owner);
  leerplek_response_free(response);
  cr_assert_eq(call_code(other, &list_request, &response), 0);
  cr_assert_eq(response->get_waiting_list->n_entries, 0, "a school saw another school's pupil");
  leerplek_response_free(response);
  list_body.school_id = (char *)owner;
  cr_assert_eq(call_code(other, &list_request, NULL), CODE(PERMISSION_DENIED));
}

/* Rematches in a loop on their own connection while the main thread writes. */
typedef struct rematch_loop {
  const char *token;
  volatile int stop;
  int runs, failures;
} rematch_loop;

static void *rematches(void *arg) {
  rematch_loop *loop = arg;
  leerplek_client *client = harness_connect(&harness, loop->token);
  while (client && !loop->stop) {
    Leerplek__V1__RunRematchRequest body = LEERPLEK__V1__RUN_REMATCH_REQUEST__INIT;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_RUN_REMATCH;
    request.run_rematch = &body;
    Leerplek__V1__Response *response = NULL;
    if (leerplek_call(client, &request, &response) != 0 || !response->status || response->status->code != 0)
      loop->failures++;
    else
      loop->runs++;
    if (response) leerplek_response_free(response);
  }
  if (client) leerplek_close(client);
  return NULL;
}

Test(rematch, writes_during_rematches_are_not_lost) {
  rematch_loop loop = {coordinator_token, 0, 0, 0};
  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, rematches, &loop), 0);
  enum { WRITES = 150 };
  for (int i = 0; i < WRITES; i++) {
    char ref[32];
    snprintf(ref, sizeof ref, "w%03d", i);
    cr_assert_eq(register_pupil(school_a, "school-a", ref, "KAPPER"), 0);
    cr_assert_eq(request_placement(school_a, "school-a", ref), 0);
  }
  loop.stop = 1;
  pthread_join(thread, NULL);
  cr_assert_gt(loop.runs, 0, "no rematch ran");
  cr_assert_eq(loop.failures, 0, "%d rematches failed", loop.failures);
  /* Every write is there, and placements are consistent with the seats. */
  int proposed = 0;
  for (int i = 0; i < WRITES; i++) {
    char ref[32];
    snprintf(ref, sizeof ref, "w%03d", i);
    Leerplek__V1__Response *response = NULL;
    Leerplek__V1__Placement *placement = get_placement("school-a", ref, &response);
    cr_assert(placement->state == STATE(WAITING) || placement->state == STATE(PROPOSED));
    proposed += placement->state == STATE(PROPOSED);
    leerplek_response_free(response);
  }
  for (int i = 0; i < PUPILS; i++) {
    Leerplek__V1__Response *response = NULL;
    proposed += get_placement(pupil_list[i].school, pupil_list[i].ref, &response)->state == STATE(PROPOSED);
    leerplek_response_free(response);
  }
  cr_assert_leq(proposed, 4, "%d proposals for 4 seats", proposed);
  /* A last rematch sees all writes: still 4 seats, all proposed. */
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0);
  cr_assert_eq(response->run_rematch->result->pupils, WRITES + PUPILS);
  leerplek_response_free(response);
}

Test(rematch, a_proposal_moves_only_when_better_by_more_than_the_threshold) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  leerplek_response_free(response);
  uint64_t before[PUPILS];
  for (int i = 0; i < PUPILS; i++) {
    before[i] = get_placement(pupil_list[i].school, pupil_list[i].ref, &response)->proposal_id;
    leerplek_response_free(response);
  }
  /* Two new seats next to X: the waiting pupil takes one; those at Y (6 km) would save about
   * 4.5 km = 45 cost units by moving, less than the default threshold of 100: they stay. */
  cr_assert_eq(publish_vacancy(coordinator, "vac-z", "loc-x", "KAPPER"), 0);
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  cr_assert_eq(response->run_rematch->result->newly_proposed, 1);
  cr_assert_eq(response->run_rematch->result->moved, 0, "a proposal moved for a gain below the threshold");
  leerplek_response_free(response);
  int kept = 0;
  for (int i = 0; i < PUPILS; i++) {
    Leerplek__V1__Placement *placement = get_placement(pupil_list[i].school, pupil_list[i].ref, &response);
    cr_assert_eq(placement->state, STATE(PROPOSED));
    if (before[i]) kept += placement->proposal_id == before[i];
    leerplek_response_free(response);
  }
  cr_assert_eq(kept, 4, "only %d of 4 proposals were kept", kept);
}
