/* demo_data.c: builds the Antwerp demo dataset (see demo_data.h) and writes it as the CSV
 * files `leerplek import` reads, plus the list of tokens a demo needs.
 *
 * Choices the CSV model forces, and why:
 * - A location belongs to exactly one company and a vacancy to a location, so only companies
 *   with a location can publish. The network counts 1,220 recognised companies but 367 recognised
 *   locations: here the first 90 % of the locations each go to a different company and the
 *   rest are second or third sites of those, so about 330 companies can publish and the other
 *   ~890 are recognised but have no published site yet (as in the network's real register,
 *   where recognition is asked for long before a place opens).
 * - Every company works in one trade (construction, hospitality, care, ...) and is recognised
 *   only for trainings of that trade, one or two weighted by how many pupils follow them; a
 *   vacancy goes preferably to a location whose company already has the recognition, otherwise
 *   to a company of the same trade that takes it on (never beyond DEMO_RECOGNITIONS_MAX), so a
 *   hotel is never recognised for bricklaying.
 * - Proportions that the tests and the dashboard compare with the SamDuLeA figures (pupils per school
 *   kind, per named training, per education area, per group) are apportioned exactly (largest
 *   remainder) and then shuffled, so a seed changes who is where but not the totals.
 * - Seats per training follow the SamDuLeA dashboard (February 2022), not chance: the named
 *   trainings that lost pupils between October 2021 and February 2022 (chemistry 38->35,
 *   hairdresser-stylist 13->10, hair care 15->14, welding-construction 14->11, fitness
 *   instructor 11->8) are short, about 0.6 seats per pupil; those that grew (equine care
 *   26->30, electrical installations 20->22, electrotechnician 10->12) and the rest have 1.3;
 *   preparatory (protected) places cover 70 % of the pupils who are not ready yet, the lack
 *   the network names most. Workplaces cluster where companies are (the port, the periphery,
 *   the centre) while pupils live in the north and the south, which leaves some areas short.
 * - Commute limits are those of pupils who travel by bike (40 %: 4-12 km) or by public
 *   transport (60 %: about 16 km, 6-30 km), the two ways pupils of these tracks get to work.
 * - Pupils of one kind of school are dealt over its schools in turn, so every school (both
 *   BuSO schools too) has pupils.
 * - Dates are fixed around the 2026-2027 school year, never taken from the clock, so the same
 *   seed gives the same bytes.
 */
#include "demo_data.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "generator.h"

static const double PI = 3.14159265358979323846;

enum {
  FT = 1u << DEMO_SCHOOL_FULL_TIME,
  BU = 1u << DEMO_SCHOOL_BUSO,
  LW = 1u << DEMO_SCHOOL_LEARNING_WORKING,
  SY = 1u << DEMO_SCHOOL_SYNTRA
};

/* The trades companies work in; a company is recognised only for trainings of its own. */
enum {
  TRADE_ANIMALS_GREEN,
  TRADE_CHEMISTRY,
  TRADE_HAIR_BEAUTY,
  TRADE_ELECTRICAL,
  TRADE_METAL,
  TRADE_SPORT,
  TRADE_LOGISTICS,
  TRADE_RETAIL_FOOD,
  TRADE_HOSPITALITY,
  TRADE_CONSTRUCTION,
  TRADE_INSTALLATION,
  TRADE_VEHICLES,
  TRADE_CARE,
  TRADE_SERVICES,
  TRADE_COUNT
};

/* The named trainings of the SamDuLeA dashboard come first with their February 2022 pupil counts.
 * Chemistry and welding-construction lost pupils between October and February (38->35,
 * 14->11): they are always short of seats, so every seed shows a large training blocking. The
 * offered_by masks give exactly 20 full-time, 1 BuSO, 24 learning-and-working and 14 Syntra
 * trainings, as on the dashboard. */
static const demo_training training_table[DEMO_TRAININGS] = {
    /* code, name, offered by, February 2022 pupils, their school kind, company word, short */
    {"PAARDENZORG", "Assistent paardenzorg", FT | LW, 30, DEMO_SCHOOL_FULL_TIME, "Manege", false, TRADE_ANIMALS_GREEN},
    {"CHEMIE", "Chemische procestechniek", FT, 35, DEMO_SCHOOL_FULL_TIME, "Chemie", true, TRADE_CHEMISTRY},
    {"KAPPER-STYLIST", "Kapper-stylist", LW | SY, 10, DEMO_SCHOOL_SYNTRA, "Kapsalon", true, TRADE_HAIR_BEAUTY},
    {"HAARZORG", "Haarzorg", FT | LW, 14, DEMO_SCHOOL_LEARNING_WORKING, "Haarstudio", true, TRADE_HAIR_BEAUTY},
    {"ELEKTRO-INST", "Elektrische installaties", FT | LW, 22, DEMO_SCHOOL_LEARNING_WORKING, "Elektro", false,
     TRADE_ELECTRICAL},
    {"ELEKTROTECHNICUS", "Elektrotechnicus", FT, 12, DEMO_SCHOOL_FULL_TIME, "Elektrotechniek", false, TRADE_ELECTRICAL},
    {"LASSEN-CONSTRUCTIE", "Lassen-constructie", FT | LW, 11, DEMO_SCHOOL_LEARNING_WORKING, "Staalbouw", true,
     TRADE_METAL},
    {"FITNESSINSTRUCTEUR", "Fitnessinstructeur", SY, 8, DEMO_SCHOOL_SYNTRA, "Fitness", true, TRADE_SPORT},
    {"LOGISTIEK", "Logistiek medewerker", FT | LW | BU, 0, 0, "Logistiek", false, TRADE_LOGISTICS},
    {"VERKOOP", "Medewerker verkoop", FT, 0, 0, "Winkel", false, TRADE_RETAIL_FOOD},
    {"KEUKEN", "Keukenmedewerker", FT | LW, 0, 0, "Brasserie", false, TRADE_HOSPITALITY},
    {"ZAAL", "Medewerker zaal", LW, 0, 0, "Restaurant", false, TRADE_HOSPITALITY},
    {"KOK", "Kok", SY, 0, 0, "Restaurant", false, TRADE_HOSPITALITY},
    {"BAKKER", "Bakker", LW | SY, 0, 0, "Bakkerij", false, TRADE_RETAIL_FOOD},
    {"SLAGER", "Slager-spekslager", SY, 0, 0, "Slagerij", false, TRADE_RETAIL_FOOD},
    {"METSELAAR", "Metselaar", FT | LW, 0, 0, "Bouw", false, TRADE_CONSTRUCTION},
    {"SCHILDER", "Schilder-decorateur", LW, 0, 0, "Schilderwerken", false, TRADE_CONSTRUCTION},
    {"TIMMERMAN", "Timmerman", LW | SY, 0, 0, "Houtbouw", false, TRADE_CONSTRUCTION},
    {"SCHRIJNWERKER", "Schrijnwerker", FT, 0, 0, "Schrijnwerkerij", false, TRADE_CONSTRUCTION},
    {"SANITAIR", "Sanitaire installaties", LW | SY, 0, 0, "Sanitair", false, TRADE_INSTALLATION},
    {"CV-INSTALLATIES", "Centrale verwarming", SY, 0, 0, "Verwarming", false, TRADE_INSTALLATION},
    {"AUTOTECHNIEK", "Autotechnicus", FT | LW, 0, 0, "Garage", false, TRADE_VEHICLES},
    {"CARROSSERIE", "Carrosserie", LW, 0, 0, "Carrosserie", false, TRADE_VEHICLES},
    {"FIETSHERSTELLER", "Fietshersteller", LW, 0, 0, "Fietsen", false, TRADE_VEHICLES},
    {"MAGAZIJN", "Magazijnmedewerker", FT | LW, 0, 0, "Distributie", false, TRADE_LOGISTICS},
    {"ONDERHOUD", "Onderhoudstechnicus", FT, 0, 0, "Techniek", false, TRADE_METAL},
    {"ZORGKUNDIGE", "Zorgkundige", FT, 0, 0, "Woonzorg", false, TRADE_CARE},
    {"KINDERBEGELEIDER", "Kinderbegeleider", FT, 0, 0, "Kinderdagverblijf", false, TRADE_CARE},
    {"SCHOONMAAK", "Medewerker schoonmaak", LW, 0, 0, "Schoonmaak", false, TRADE_SERVICES},
    {"GROENZORG", "Groenzorg", FT, 0, 0, "Groen", false, TRADE_ANIMALS_GREEN},
    {"TUINAANLEG", "Tuinaanlegger", SY, 0, 0, "Tuinen", false, TRADE_ANIMALS_GREEN},
    {"BANKWERKER", "Bankwerker", FT, 0, 0, "Metaal", false, TRADE_METAL},
    {"CNC-OPERATOR", "Operator CNC", FT, 0, 0, "Precisie", false, TRADE_METAL},
    {"PRODUCTIE", "Productiemedewerker", LW, 0, 0, "Productie", false, TRADE_METAL},
    {"RUWBOUW", "Medewerker ruwbouw", LW, 0, 0, "Ruwbouw", false, TRADE_CONSTRUCTION},
    {"DAKDEKKER", "Dakdekker", SY, 0, 0, "Daken", false, TRADE_CONSTRUCTION},
    {"VLOERDER", "Vloerder-tegelzetter", LW | SY, 0, 0, "Vloeren", false, TRADE_CONSTRUCTION},
    {"SCHOONHEID", "Schoonheidsverzorging", SY, 0, 0, "Schoonheidssalon", false, TRADE_HAIR_BEAUTY},
    {"BLOEMSCHIKKEN", "Bloembinder", LW, 0, 0, "Bloemen", false, TRADE_RETAIL_FOOD},
    {"ICT-HELPDESK", "ICT-helpdeskmedewerker", FT, 0, 0, "ICT", false, TRADE_SERVICES},
    {"ONTHAAL", "Onthaalmedewerker", SY, 0, 0, "Kantoor", false, TRADE_SERVICES},
    {"HOTEL", "Hotelmedewerker", SY, 0, 0, "Hotel", false, TRADE_HOSPITALITY},
    {"ONDERHOUDSMECANICIEN", "Onderhoudsmecanicien", LW, 0, 0, "Mechanica", false, TRADE_METAL},
    {"GLAZENWASSER", "Glazenwasser", LW, 0, 0, "Glasreiniging", false, TRADE_SERVICES},
};

const int32_t demo_schools_per_kind[DEMO_SCHOOL_KIND_COUNT] = {10, 2, 7, 1};
const int32_t demo_pupils_per_kind[DEMO_SCHOOL_KIND_COUNT] = {139, 6, 83, 79};
const int32_t demo_trainings_per_kind[DEMO_SCHOOL_KIND_COUNT] = {20, 1, 24, 14};
const int32_t demo_group_percent[DEMO_GROUP_COUNT] = {45, 27, 28};
const int32_t demo_trajectory_permille[DEMO_TRAJECTORY_COUNT] = {346, 248, 161, 65, 54, 53, 41, 31};
const char *const demo_component_names[DEMO_COMPONENT_COUNT] = {"fovorm", "fowerk", "foibal",
                                                                "bgltra", "prjlew", "altdel"};

/* Neutral names; the sites are in the districts the demo's pupils live in, and the city's own
 * workshops stand for "the city itself as a workplace for the preparatory phase". */
static const demo_site zuid_sites[] = {{"hoboken", "Atelier Hoboken", "2660", "Kiel/Hoboken"},
                                       {"kiel", "Atelier Kiel", "2020", "Brederode/Markgrave"}};
static const demo_site noord_sites[] = {{"merksem", "Huis Merksem", "2170", "Merksem"},
                                        {"ekeren", "Huis Ekeren", "2180", "Ekeren"}};
static const demo_site oost_sites[] = {
    {"deurne", "Werkhuis Deurne", "2100", "Deurne north"},
    {"borgerhout", "Werkhuis Borgerhout", "2140", "Deurne-south/Borgerhout extra muros"}};
static const demo_site centrum_sites[] = {{"centrum", "Trajecthuis Centrum", "2000", "inner city/Eilandje"},
                                          {"berchem", "Trajecthuis Berchem", "2600", "Stadspark/Zurenborg/Berchem"}};
static const demo_site stad_sites[] = {{"noord", "Stadsatelier Noord", "2060", "Antwerpen-Noord/Borgerhout-north"},
                                       {"wilrijk", "Stadsatelier Wilrijk", "2610", "Wilrijk/Nieuw-Berchem"},
                                       {"linkeroever", "Stadsatelier Linkeroever", "2050", "Linkeroever"}};
#define SITES(array) array, (int32_t)(sizeof array / sizeof array[0])
static const demo_organisation organisation_table[] = {
    {"oal-zuid", "Werkplaats Zuid vzw", SITES(zuid_sites)},
    {"oal-noord", "Traject Noord vzw", SITES(noord_sites)},
    {"oal-oost", "Atelier Oost vzw", SITES(oost_sites)},
    {"oal-centrum", "Begeleiding Centrum vzw", SITES(centrum_sites)},
    {"stad-werkt", "Stadsateliers Antwerpen", SITES(stad_sites)},
};
enum { ORG_ZUID, ORG_NOORD, ORG_OOST, ORG_CENTRUM, ORG_STAD, ORGANISATIONS };

/* Where each component is offered, as (organisation, site): spread so that every part of the
 * city has a few components within a short trip. */
#define PLACES_MAX 4
static const struct {
  int32_t count;
  int32_t organisation[PLACES_MAX], site[PLACES_MAX];
} component_places[DEMO_COMPONENT_COUNT] = {
    [DEMO_FOVORM] = {3, {ORG_ZUID, ORG_CENTRUM, ORG_NOORD}, {0, 0, 0}},
    [DEMO_FOWERK] = {4, {ORG_ZUID, ORG_OOST, ORG_STAD, ORG_STAD}, {1, 0, 0, 1}},
    [DEMO_FOIBAL] = {2, {ORG_OOST, ORG_STAD}, {1, 2}},
    [DEMO_BGLTRA] = {3, {ORG_CENTRUM, ORG_NOORD, ORG_OOST}, {0, 1, 1}},
    [DEMO_PRJLEW] = {2, {ORG_CENTRUM, ORG_ZUID}, {1, 0}},
    [DEMO_ALTDEL] = {3, {ORG_NOORD, ORG_OOST, ORG_STAD}, {0, 0, 0}},
};
#define OFFER_SEATS_MAX 100
#define OFFER_DAYS (0x1Fu | 0x1Fu << 7) /* Monday to Friday of both weeks: trajectories run on school days */

static const char *const trajectory_reason[DEMO_TRAJECTORY_COUNT] = {
    "preparatory phase before a workplace",
    "guidance alongside school",
    "work with an employer under guidance",
    "preparatory phase with an individual training",
    "work with an employer beside a preparatory phase",
    "work with an employer and an individual training",
    "individual vocational training",
    "preparatory phase, individual training and work",
};

static const char *const school_prefix[DEMO_SCHOOL_KIND_COUNT] = {"VT", "BUSO", "CDO", "SYNTRA"};
static const char *const group_note[DEMO_GROUP_COUNT] = {"group: many disadvantage indicators",
                                                         "group: newcomer (OKAN)", "group: few indicators"};
static const char *const readiness_name[] = {"not_ready", "partly", "ready"};
/* The CSV names of the school kinds (the proto's SchoolType), in demo_school_kind order. */
static const char *const school_type_name[DEMO_SCHOOL_KIND_COUNT] = {"full_time", "buso", "learning_working", "syntra"};

/* Postcode of each education area, in generator_antwerp_areas order. "outside the city" is a
 * ring: its postcode depends on the direction (see periphery_postcode). */
static const char *const area_postcode[] = {
    "2000", "2060", "", "2660", "2100", "2170", "2140", "2610", "2018", "2600", "2020", "2050", "2180", "2030", "2040",
};

typedef struct {
  const char *postcode;
  const char *municipality;
} municipality;

/* Eight sectors counter-clockwise from the east. */
static const municipality periphery[8] = {
    {"2160", "Wommelgem"},   {"2900", "Schoten"},    {"2930", "Brasschaat"}, {"2950", "Kapellen"},
    {"2070", "Zwijndrecht"}, {"2630", "Aartselaar"}, {"2550", "Kontich"},    {"2640", "Mortsel"},
};

static const char *const mentor_roles[] = {"zaakvoerder", "praktijkopleider", "ploegbaas", "HR-verantwoordelijke",
                                           "meestergast"};
static const char *const name_syllables[] = {"ka",  "ver", "lo", "mi",  "dra", "sel", "to",  "ne",
                                             "bri", "mo",  "ra", "vin", "de",  "lu",  "sta", "ko"};
static const char *const legal_forms[] = {"BV", "NV", "CommV", "VZW"};

#define KM_PER_DEGREE_NORTH 110.574
/* Bound of the per-area and per-apportionment tables (Antwerp has 15 areas). */
#define AREAS_MAX 64
#define SEATS_PER_PUPIL 1.3
#define SHORT_SEATS_PER_PUPIL 0.6
#define BIKE_PERCENT 40
#define NOT_READY_PERCENT 15
#define PARTLY_READY_PERCENT 30
#define PREFERENCE_PERCENT 40
/* The agreements' own random stream: adding them changes nothing drawn before. */
#define AGREEMENT_STREAM 0x9e3779b97f4a7c15ull
#define AGREEMENT_ENDS_ON "2028-06-30"
/* The coordinator's reason written with each agreement's manual placement. */
#define AGREEMENT_PLACEMENT_NOTE                                                                                       \
  "OAO signed before the demo's start (one of the SamDuLeA dashboard's agreements): recorded as it stands"

/* ---------------------------------------------------------------------------------------- */
/* Small helpers */

/* Splits total over weights by largest remainder: the parts add up to total exactly. */
static void apportion(int32_t total, const double *weights, int32_t count, int32_t *parts) {
  double sum = 0;
  for (int32_t k = 0; k < count; k++) sum += weights[k];
  int32_t given = 0;
  double remainder[AREAS_MAX] = {0};
  for (int32_t k = 0; k < count; k++) {
    double exact = sum > 0 ? total * weights[k] / sum : 0;
    parts[k] = (int32_t)floor(exact);
    remainder[k] = exact - parts[k];
    given += parts[k];
  }
  while (given < total) {
    int32_t best = 0; /* ties go to the lower index: deterministic */
    for (int32_t k = 1; k < count; k++)
      if (remainder[k] > remainder[best]) best = k;
    parts[best]++;
    remainder[best] = -1;
    given++;
  }
}

static void shuffle(generator_random *stream, int32_t *items, int32_t count) {
  for (int32_t k = count - 1; k > 0; k--) {
    int32_t other = (int32_t)generator_random_below(stream, (uint32_t)k + 1);
    int32_t swap = items[k];
    items[k] = items[other];
    items[other] = swap;
  }
}

/* Fills items with value k repeated parts[k] times, then shuffles. */
static void spread_shuffled(generator_random *stream, const int32_t *parts, int32_t count, int32_t *items) {
  int32_t at = 0;
  for (int32_t k = 0; k < count; k++)
    for (int32_t n = 0; n < parts[k]; n++) items[at++] = k;
  shuffle(stream, items, at);
}

static int32_t pick_weighted(generator_random *stream, const double *weights, int32_t count) {
  double sum = 0;
  for (int32_t k = 0; k < count; k++) sum += weights[k];
  double target = generator_random_unit(stream) * sum;
  for (int32_t k = 0; k < count; k++) {
    if (target < weights[k]) return k;
    target -= weights[k];
  }
  return count - 1;
}

/* "YYYY-MM-DD" of a day `days_back` days before 2026-11-01 (2026 is not a leap year). */
static void date_before_reference(int32_t days_back, char text[11]) {
  static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int year = 2026, month = 11, day = 1;
  while (days_back-- > 0) {
    if (--day == 0) {
      if (--month == 0) {
        month = 12;
        year--;
      }
      day = month_days[month - 1];
    }
  }
  /* Formatted through a roomy buffer: the compiler cannot see that year stays 4 digits. */
  char formatted[40];
  snprintf(formatted, sizeof formatted, "%04d-%02d-%02d", year, month, day);
  memcpy(text, formatted, 10);
  text[10] = '\0';
}

/* A place in an education area as degrees, with its postcode and district name. */
static void place_in_area(generator_random *stream, const generator_centre *areas, int32_t area, double *latitude,
                          double *longitude, const char **postcode, const char **district) {
  const generator_centre *centre = &areas[area];
  double east_km, north_km;
  generator_place_offset(stream, centre, centre->spread_km, 1.0, &east_km, &north_km);
  *latitude = centre->latitude + north_km / KM_PER_DEGREE_NORTH;
  *longitude = centre->longitude + east_km / (111.320 * cos(centre->latitude * PI / 180.0));
  if (centre->ring_outer_km > 0) {
    double angle = atan2(north_km, east_km); /* -pi..pi, 0 = east */
    int sector = (int)floor((angle + PI / 8) / (PI / 4));
    sector = ((sector % 8) + 8) % 8;
    *postcode = periphery[sector].postcode;
    *district = periphery[sector].municipality;
  } else {
    *postcode = area_postcode[area];
    *district = centre->name;
  }
}

static bool company_recognises(const demo_company *company, int32_t training) {
  for (int32_t k = 0; k < company->training_count; k++)
    if (company->trainings[k] == training) return true;
  return false;
}

static bool company_recognise(demo_company *company, int32_t training) {
  if (company_recognises(company, training)) return true;
  if (company->training_count == DEMO_RECOGNITIONS_MAX || training_table[training].trade != company->trade)
    return false;
  company->trainings[company->training_count++] = training;
  return true;
}

void demo_days_text(uint16_t days, char text[15]) {
  static const char letters[] = "MTWTFSS";
  for (int k = 0; k < 14; k++) text[k] = (days >> k) & 1 ? letters[k % 7] : '.';
  text[14] = '\0';
}

/* ---------------------------------------------------------------------------------------- */
/* Generation */

void demo_free(demo_dataset *dataset) {
  free(dataset->schools);
  free(dataset->companies);
  free(dataset->locations);
  free(dataset->vacancies);
  free(dataset->pupils);
  free(dataset->offers);
  free(dataset->referrals);
  free(dataset->agreement_pupils);
  free(dataset->agreements);
  memset(dataset, 0, sizeof *dataset);
}

static void make_schools(demo_dataset *d) {
  int32_t at = 0;
  for (int kind = 0; kind < DEMO_SCHOOL_KIND_COUNT; kind++)
    for (int32_t n = 0; n < demo_schools_per_kind[kind] * d->scale; n++) {
      d->schools[at].kind = (demo_school_kind)kind;
      snprintf(d->schools[at].id, sizeof d->schools[at].id, "%s%03d", school_prefix[kind], (int)n + 1);
      at++;
    }
}

/* Enterprise numbers: 8 digits plus the mod-97 check digits Belgian numbers carry, in the
 * 1xxx range of newer numbers, spaced so that no two companies collide even at the largest
 * scale (244,000 companies * 37 < 10,000,000). Names are invented syllables, never a person. */
static void make_companies(demo_dataset *d, generator_random *stream, const double *training_weight) {
  for (int32_t c = 0; c < d->company_count; c++) {
    demo_company *company = &d->companies[c];
    uint32_t base = 10000000u + (uint32_t)c * 37u + generator_random_below(stream, 37);
    snprintf(company->id, sizeof company->id, "%08u%02u", base, 97u - base % 97u);
    company->training_count = 0;
    int32_t first = pick_weighted(stream, training_weight, DEMO_TRAININGS);
    company->trade = training_table[first].trade;
    company_recognise(company, first);
    if (generator_random_percent(stream, 30)) {
      /* A second training of the same trade. */
      double same_trade[DEMO_TRAININGS];
      for (int32_t t = 0; t < DEMO_TRAININGS; t++)
        same_trade[t] = training_table[t].trade == company->trade ? training_weight[t] : 0;
      company_recognise(company, pick_weighted(stream, same_trade, DEMO_TRAININGS));
    }
    char invented[16] = "";
    int syllables = 2 + (int)generator_random_below(stream, 2);
    for (int k = 0; k < syllables; k++) strcat(invented, name_syllables[generator_random_below(stream, 16)]);
    invented[0] = (char)(invented[0] - 'a' + 'A');
    snprintf(company->name, sizeof company->name, "%s %s %s", training_table[first].sector, invented,
             legal_forms[generator_random_below(stream, 4)]);
  }
}

static void make_locations(demo_dataset *d, generator_random *stream, const generator_centre *areas,
                           int32_t area_count) {
  double vacancy_weight[AREAS_MAX] = {0};
  for (int32_t a = 0; a < area_count; a++) vacancy_weight[a] = areas[a].vacancy_weight;
  int32_t own_sites = d->location_count * 9 / 10;
  for (int32_t l = 0; l < d->location_count; l++) {
    demo_location *location = &d->locations[l];
    location->company = l < own_sites ? l : (int32_t)generator_random_below(stream, (uint32_t)own_sites);
    d->companies[location->company].location_count++;
    location->area = pick_weighted(stream, vacancy_weight, area_count);
    const char *postcode;
    place_in_area(stream, areas, location->area, &location->latitude, &location->longitude, &postcode,
                  &location->district);
    snprintf(location->postcode, sizeof location->postcode, "%s", postcode);
    snprintf(location->id, sizeof location->id, "VP-%05d", (int)l + 1);
  }
}

/* Pupils: kind, training, area and group come from exact quotas; the rest is drawn. */
static bool make_pupils(demo_dataset *d, generator_random *stream, const generator_centre *areas, int32_t area_count) {
  int32_t n = d->pupil_count;
  int32_t *slot_kind = malloc((size_t)n * sizeof *slot_kind);
  int32_t *slot_training = malloc((size_t)n * sizeof *slot_training);
  int32_t *order = malloc((size_t)n * sizeof *order);
  int32_t *area_of = malloc((size_t)n * sizeof *area_of);
  int32_t *group_of = malloc((size_t)n * sizeof *group_of);
  if (!slot_kind || !slot_training || !order || !area_of || !group_of) {
    free(slot_kind), free(slot_training), free(order), free(area_of), free(group_of);
    return false;
  }
  int32_t at = 0;
  for (int kind = 0; kind < DEMO_SCHOOL_KIND_COUNT; kind++) {
    int32_t remaining = demo_pupils_per_kind[kind] * d->scale;
    double weight[DEMO_TRAININGS];
    int32_t parts[DEMO_TRAININGS];
    for (int32_t t = 0; t < DEMO_TRAININGS; t++) {
      const demo_training *training = &training_table[t];
      weight[t] = 0;
      if (training->named_pupils > 0) {
        if ((int)training->named_kind == kind) remaining -= training->named_pupils * d->scale;
      } else if (training->offered_by & (1u << kind)) {
        weight[t] = exp(0.7 * generator_random_gaussian(stream)); /* uneven popularity */
      }
    }
    apportion(remaining, weight, DEMO_TRAININGS, parts);
    for (int32_t t = 0; t < DEMO_TRAININGS; t++) {
      const demo_training *training = &training_table[t];
      if (training->named_pupils > 0 && (int)training->named_kind == kind) parts[t] = training->named_pupils * d->scale;
      for (int32_t k = 0; k < parts[t]; k++) {
        slot_kind[at] = kind;
        slot_training[at] = t;
        at++;
      }
    }
  }
  for (int32_t i = 0; i < n; i++) order[i] = i;
  shuffle(stream, order, n);

  double area_weight[AREAS_MAX] = {0};
  int32_t area_parts[AREAS_MAX] = {0};
  for (int32_t a = 0; a < area_count; a++) area_weight[a] = areas[a].pupil_weight;
  apportion(n, area_weight, area_count, area_parts);
  spread_shuffled(stream, area_parts, area_count, area_of);
  double group_weight[DEMO_GROUP_COUNT];
  int32_t group_parts[DEMO_GROUP_COUNT];
  for (int g = 0; g < DEMO_GROUP_COUNT; g++) group_weight[g] = demo_group_percent[g];
  apportion(n, group_weight, DEMO_GROUP_COUNT, group_parts);
  spread_shuffled(stream, group_parts, DEMO_GROUP_COUNT, group_of);

  /* Schools of one kind are contiguous in d->schools (make_schools). */
  int32_t first_school[DEMO_SCHOOL_KIND_COUNT];
  int32_t dealt[DEMO_SCHOOL_KIND_COUNT] = {0};
  for (int kind = 0, start = 0; kind < DEMO_SCHOOL_KIND_COUNT; kind++) {
    first_school[kind] = start;
    start += demo_schools_per_kind[kind] * d->scale;
  }
  for (int32_t i = 0; i < n; i++) {
    demo_pupil *pupil = &d->pupils[i];
    int32_t slot = order[i];
    int kind = slot_kind[slot];
    snprintf(pupil->ref, sizeof pupil->ref, "P-%06d", (int)i + 1);
    /* Dealt in turn (the order is shuffled already): every school of the kind has pupils. */
    pupil->school = first_school[kind] + dealt[kind]++ % (demo_schools_per_kind[kind] * d->scale);
    pupil->training = slot_training[slot];
    pupil->area = area_of[i];
    pupil->group = (demo_group)group_of[i];
    pupil->newcomer_okan = pupil->group == DEMO_GROUP_NEWCOMER;
    pupil->special_needs = kind == DEMO_SCHOOL_BUSO;
    /* Special-needs pupils more often start in a preparatory phase. */
    int32_t not_ready = pupil->special_needs ? 3 * NOT_READY_PERCENT : NOT_READY_PERCENT;
    int32_t pick = (int32_t)generator_random_below(stream, 100);
    pupil->readiness = pick < not_ready                          ? DEMO_NOT_READY
                       : pick < not_ready + PARTLY_READY_PERCENT ? DEMO_PARTLY
                                                                 : DEMO_READY;
    const char *postcode;
    double latitude, longitude;
    place_in_area(stream, areas, pupil->area, &latitude, &longitude, &postcode, &pupil->district);
    /* About 100 m: enough for commutes, not an address. */
    pupil->latitude = round(latitude * 1000.0) / 1000.0;
    pupil->longitude = round(longitude * 1000.0) / 1000.0;
    snprintf(pupil->postcode, sizeof pupil->postcode, "%s", postcode);
    /* By bike 4-12 km; by tram, bus or train a lognormal around 16 km, 6-30 km. */
    double commute = generator_random_percent(stream, BIKE_PERCENT)
                         ? 4.0 + 8.0 * generator_random_unit(stream)
                         : 16.0 * exp(0.35 * generator_random_gaussian(stream));
    if (commute < 4.0) commute = 4.0;
    if (commute > 30.0) commute = 30.0;
    pupil->max_commute_km = round(commute * 10.0) / 10.0;
    pupil->days = generator_random_pupil_days(stream);
    /* Waiting since the start of the school year or earlier, a long tail back to spring. */
    double waiting = -log(1.0 - generator_random_unit(stream)) * 50.0;
    date_before_reference(waiting > 240 ? 240 : (int32_t)waiting, pupil->waiting_since);
    pupil->preferred_count = 0;
  }
  free(slot_kind), free(slot_training), free(order), free(area_of), free(group_of);
  return true;
}

static demo_vacancy *append_vacancy(demo_dataset *d, int32_t *capacity) {
  if (d->vacancy_count == *capacity) {
    int32_t grown_capacity = *capacity == 0 ? 256 : *capacity * 2;
    demo_vacancy *grown = realloc(d->vacancies, (size_t)grown_capacity * sizeof *grown);
    if (grown == NULL) return NULL;
    d->vacancies = grown;
    *capacity = grown_capacity;
  }
  demo_vacancy *vacancy = &d->vacancies[d->vacancy_count];
  memset(vacancy, 0, sizeof *vacancy);
  snprintf(vacancy->id, sizeof vacancy->id, "V-%06d", (int)d->vacancy_count + 1);
  d->vacancy_count++;
  return vacancy;
}

/* A location for a workplace of `training`: a number of tries for one whose company is
 * already recognised; else, of the companies of the training's trade tried, the one with the
 * fewest recognitions takes it on, so companies stay recognised for one to a few trainings of
 * their trade. A trade without any located company (possible only at odd seeds) gets one: a
 * company with a location and a single recognition changes to it. */
static int32_t location_for(demo_dataset *d, generator_random *stream, int32_t training) {
  int32_t fallback = -1;
  for (int attempt = 0; attempt < 64; attempt++) {
    int32_t l = (int32_t)generator_random_below(stream, (uint32_t)d->location_count);
    demo_company *company = &d->companies[d->locations[l].company];
    if (company_recognises(company, training)) return l;
    if (company->trade == training_table[training].trade && company->training_count < DEMO_RECOGNITIONS_MAX &&
        (fallback < 0 || company->training_count < d->companies[d->locations[fallback].company].training_count))
      fallback = l;
  }
  for (int32_t l = 0; fallback < 0 && l < d->location_count; l++) {
    const demo_company *company = &d->companies[d->locations[l].company];
    if (company->trade == training_table[training].trade && company->training_count < DEMO_RECOGNITIONS_MAX)
      fallback = l;
  }
  if (fallback < 0) {
    for (int32_t l = 0; fallback < 0 && l < d->location_count; l++)
      if (d->companies[d->locations[l].company].training_count == 1) fallback = l;
    if (fallback < 0) fallback = 0;
    demo_company *company = &d->companies[d->locations[fallback].company];
    company->trade = training_table[training].trade;
    company->training_count = 0;
  }
  company_recognise(&d->companies[d->locations[fallback].company], training);
  return fallback;
}

static bool make_vacancies(demo_dataset *d, generator_random *stream) {
  int32_t demand[DEMO_TRAININGS] = {0}, not_ready[DEMO_TRAININGS] = {0};
  for (int32_t i = 0; i < d->pupil_count; i++) {
    demand[d->pupils[i].training]++;
    not_ready[d->pupils[i].training] += d->pupils[i].readiness == DEMO_NOT_READY;
  }
  int32_t capacity = 0;
  for (int32_t t = 0; t < DEMO_TRAININGS; t++) {
    /* The SamDuLeA dashboard's shortages (see the top of this file), the same for every seed. */
    double ratio = training_table[t].always_short ? SHORT_SEATS_PER_PUPIL : SEATS_PER_PUPIL;
    int32_t wanted = demand[t] > 0 ? (int32_t)lround(demand[t] * ratio)
                                   : (1 + (int32_t)generator_random_below(stream, 3)) * d->scale;
    if (wanted < 1) wanted = 1;
    /* Protected places for most pupils who are not ready yet, at least one where any is. */
    int32_t preparatory_wanted = not_ready[t] > 0 ? (int32_t)lround(not_ready[t] * 0.7) : 0;
    if (not_ready[t] > 0 && preparatory_wanted < 1) preparatory_wanted = 1;
    int32_t seats = 0, preparatory_seats = 0;
    while (preparatory_seats < preparatory_wanted || seats < wanted) {
      demo_vacancy *vacancy = append_vacancy(d, &capacity);
      if (vacancy == NULL) return false;
      vacancy->training = t;
      vacancy->preparatory = preparatory_seats < preparatory_wanted;
      vacancy->location = location_for(d, stream, t);
      vacancy->seats = generator_random_seats(stream);
      vacancy->min_readiness = vacancy->preparatory                   ? DEMO_NOT_READY
                               : generator_random_percent(stream, 40) ? DEMO_READY
                                                                      : DEMO_PARTLY;
      vacancy->days = generator_random_vacancy_days(stream);
      static const char *const starts[] = {"2026-09-01", "2026-10-01", "2026-11-02", "2026-12-01"};
      snprintf(vacancy->start_date, sizeof vacancy->start_date, "%s", starts[generator_random_below(stream, 4)]);
      vacancy->mentor = vacancy->preparatory ? "jobcoach" : mentor_roles[generator_random_below(stream, 5)];
      seats += vacancy->seats;
      if (vacancy->preparatory) preparatory_seats += vacancy->seats;
    }
  }
  return true;
}

/* Some pupils rank up to three companies with a workplace in their training. make_vacancies
 * appends the workplaces training by training, so each training's are one contiguous run. */
static void make_preferences(demo_dataset *d, generator_random *stream) {
  int32_t first[DEMO_TRAININGS + 1];
  for (int32_t t = 0, v = 0; t <= DEMO_TRAININGS; t++) {
    while (v < d->vacancy_count && d->vacancies[v].training < t) v++;
    first[t] = v;
  }
  for (int32_t i = 0; i < d->pupil_count; i++) {
    demo_pupil *pupil = &d->pupils[i];
    int32_t offered = first[pupil->training + 1] - first[pupil->training];
    if (offered == 0 || !generator_random_percent(stream, PREFERENCE_PERCENT)) continue;
    int32_t wanted = 1 + (int32_t)generator_random_below(stream, DEMO_PREFERENCES_MAX);
    for (int attempt = 0; attempt < 8 && pupil->preferred_count < wanted; attempt++) {
      const demo_vacancy *vacancy =
          &d->vacancies[first[pupil->training] + (int32_t)generator_random_below(stream, (uint32_t)offered)];
      int32_t company = d->locations[vacancy->location].company;
      bool known = false;
      for (int32_t k = 0; k < pupil->preferred_count; k++) known = known || pupil->preferred[k] == company;
      if (!known) pupil->preferred[pupil->preferred_count++] = company;
    }
  }
}

unsigned demo_referral_components(demo_trajectory trajectory, int32_t nth) {
  switch (trajectory) {
  case DEMO_TRAJECTORY_PREPARATORY: return nth % 2 ? 1u << DEMO_FOWERK : 1u << DEMO_FOVORM | 1u << DEMO_FOWERK;
  case DEMO_TRAJECTORY_GUIDANCE: return nth % 2 ? 1u << DEMO_PRJLEW : 1u << DEMO_BGLTRA;
  case DEMO_TRAJECTORY_WORK: return 1u << DEMO_ALTDEL;
  case DEMO_TRAJECTORY_PREPARATORY_IBAL: return 1u << DEMO_FOWERK | 1u << DEMO_FOIBAL;
  case DEMO_TRAJECTORY_WORK_PREPARATORY: return 1u << DEMO_ALTDEL | 1u << DEMO_FOVORM;
  case DEMO_TRAJECTORY_WORK_IBAL: return 1u << DEMO_ALTDEL | 1u << DEMO_FOIBAL;
  case DEMO_TRAJECTORY_IBAL: return 1u << DEMO_FOIBAL;
  case DEMO_TRAJECTORY_ALL: return 1u << DEMO_FOWERK | 1u << DEMO_FOIBAL | 1u << DEMO_ALTDEL;
  case DEMO_TRAJECTORY_COUNT: break;
  }
  return 0;
}

/* A referral for every not-ready pupil, the trajectories dealt so that every prefix of the
 * pupils follows seed 000's mix as closely as whole pupils allow (the pupils are already in
 * random order); then offers with exactly the seats the referrals ask per component, split
 * over the component's places and at most OFFER_SEATS_MAX each. */
static bool make_preparatory_track(demo_dataset *d) {
  d->organisations = organisation_table;
  d->organisation_count = ORGANISATIONS;
  int32_t not_ready = 0;
  for (int32_t i = 0; i < d->pupil_count; i++) not_ready += d->pupils[i].readiness == DEMO_NOT_READY;
  d->referrals = calloc((size_t)(not_ready ? not_ready : 1), sizeof *d->referrals);
  if (!d->referrals) return false;
  int32_t dealt[DEMO_TRAJECTORY_COUNT] = {0}, demand[DEMO_COMPONENT_COUNT] = {0};
  for (int32_t i = 0; i < d->pupil_count; i++) {
    if (d->pupils[i].readiness != DEMO_NOT_READY) continue;
    int32_t k = d->referral_count;
    int32_t best = 0;
    double best_gap = -1e9;
    for (int32_t t = 0; t < DEMO_TRAJECTORY_COUNT; t++) {
      double gap = demo_trajectory_permille[t] * (k + 1) / 1000.0 - dealt[t];
      if (gap > best_gap + 1e-9) {
        best_gap = gap;
        best = t;
      }
    }
    demo_referral *referral = &d->referrals[d->referral_count++];
    referral->pupil = i;
    referral->trajectory = (demo_trajectory)best;
    referral->components = demo_referral_components(referral->trajectory, dealt[best]);
    dealt[best]++;
    for (int c = 0; c < DEMO_COMPONENT_COUNT; c++) demand[c] += (referral->components >> c) & 1u;
  }
  int32_t offer_capacity = 0;
  for (int c = 0; c < DEMO_COMPONENT_COUNT; c++)
    offer_capacity += component_places[c].count + demand[c] / OFFER_SEATS_MAX + 1;
  d->offers = calloc((size_t)offer_capacity, sizeof *d->offers);
  if (!d->offers) return false;
  for (int c = 0; c < DEMO_COMPONENT_COUNT; c++) {
    int32_t places = component_places[c].count;
    int32_t pieces = (demand[c] + OFFER_SEATS_MAX - 1) / OFFER_SEATS_MAX;
    if (pieces < places) pieces = places;
    double weights[PLACES_MAX * 64];
    int32_t parts[PLACES_MAX * 64];
    if (pieces > PLACES_MAX * 64) return false;
    for (int32_t p = 0; p < pieces; p++) weights[p] = 1.0;
    apportion(demand[c], weights, pieces, parts);
    for (int32_t p = 0; p < pieces; p++) {
      if (parts[p] == 0) continue;
      demo_offer *offer = &d->offers[d->offer_count++];
      offer->organisation = component_places[c].organisation[p % places];
      offer->site = component_places[c].site[p % places];
      offer->component = (demo_component)c;
      offer->seats = parts[p];
      char upper[8];
      for (int k = 0; k < 7 && demo_component_names[c][k]; k++) {
        upper[k] = (char)(demo_component_names[c][k] - 'a' + 'A');
        upper[k + 1] = '\0';
      }
      snprintf(offer->id, sizeof offer->id, "OFF-%s-%02d", upper, (int)(p + 1));
    }
  }
  return true;
}

/* ---------------------------------------------------------------------------------------- */
/* The agreements the demo starts with */

/* Days since 1970-01-01 of a civil date and back (proleptic Gregorian), for the agreements'
 * dates: fixed, never the clock. */
static int32_t days_from_civil(int year, int month, int day) {
  year -= month <= 2;
  int era = (year >= 0 ? year : year - 399) / 400;
  int year_of_era = year - era * 400;
  int day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

/* "YYYY-MM-DD" of `text` moved by `days` days. */
static void date_shifted(const char *text, int32_t days, char out[11]) {
  int year = 0, month = 0, day = 0;
  sscanf(text, "%d-%d-%d", &year, &month, &day);
  int32_t z = days_from_civil(year, month, day) + days + 719468;
  int era = (z >= 0 ? z : z - 146096) / 146097;
  int day_of_era = z - era * 146097;
  int year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  int day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  int month_index = (5 * day_of_year + 2) / 153;
  day = day_of_year - (153 * month_index + 2) / 5 + 1;
  month = month_index < 10 ? month_index + 3 : month_index - 9;
  year = year_of_era + era * 400 + (month <= 2);
  char formatted[40];
  snprintf(formatted, sizeof formatted, "%04d-%02d-%02d", year, month, day);
  memcpy(out, formatted, 10);
  out[10] = '\0';
}

/* Kilometres between two points, flat-earth (enough within a city). */
static double distance_km(double latitude, double longitude, double other_latitude, double other_longitude) {
  double north = (other_latitude - latitude) * KM_PER_DEGREE_NORTH;
  double east = (other_longitude - longitude) * 111.320 * cos(latitude * PI / 180.0);
  return sqrt(north * north + east * east);
}

/* Why the demo's agreements ended early, as a school or coordinator writes it. */
static const char *const end_reasons[] = {
    "de leerling stopt met de opleiding",    "de leerling stapt over naar voltijds onderwijs",
    "de onderneming stopt met de opleiding", "de leerling verhuist",
    "in onderling akkoord stopgezet",
};

/* A vacancy of the training for an agreement pupil: one that starts by 2026-10-01 and is not a
 * preparatory place when there is one (the pupils of running agreements are ready), tried at
 * random; `borrowing` (an ended agreement) also wants a seat of the waiting pupils' seats that
 * no other ended agreement borrowed, since an ended agreement held its seat only until it
 * ended. -1 when the training has none that fits. */
static int32_t agreement_vacancy(const demo_dataset *d, generator_random *stream, const int32_t *first,
                                 int32_t training, const int32_t *borrowed, bool borrowing) {
  int32_t offered = first[training + 1] - first[training];
  if (offered == 0) return -1;
  int32_t fallback = -1;
  for (int attempt = 0; attempt < 32; attempt++) {
    int32_t v = first[training] + (int32_t)generator_random_below(stream, (uint32_t)offered);
    const demo_vacancy *vacancy = &d->vacancies[v];
    if (borrowing && borrowed[v] >= vacancy->seats) continue;
    if (!vacancy->preparatory && strcmp(vacancy->start_date, "2026-10-01") <= 0) return v;
    if (fallback < 0) fallback = v;
  }
  for (int32_t v = first[training]; fallback < 0 && v < first[training + 1]; v++)
    if (!borrowing || borrowed[v] < d->vacancies[v].seats) fallback = v;
  return fallback;
}

/* The seed's 321 running and 46 ended agreements (times the scale), each on a pupil of its
 * own: kinds apportioned as the seed's 307 pupils are (139, 6, 83, 79), trainings, groups and
 * schools those of a waiting pupil of the same kind drawn at random (so the seed's trainings
 * mix holds), the home near the workplace within the pupil's commute, the days the
 * workplace's. A running agreement adds its seat to its vacancy (seats_held). */
static bool make_agreements(demo_dataset *d, const generator_centre *areas) {
  int32_t running = DEMO_AGREEMENTS_RUNNING * d->scale, all = DEMO_AGREEMENTS * d->scale;
  d->agreement_pupils = calloc((size_t)all, sizeof *d->agreement_pupils);
  d->agreements = calloc((size_t)all, sizeof *d->agreements);
  int32_t *kind_of = malloc((size_t)all * sizeof *kind_of);
  int32_t *by_kind = malloc((size_t)(d->pupil_count + 1) * sizeof *by_kind);
  int32_t *borrowed = calloc((size_t)(d->vacancy_count + 1), sizeof *borrowed);
  if (!d->agreement_pupils || !d->agreements || !kind_of || !by_kind || !borrowed) {
    free(kind_of), free(by_kind), free(borrowed);
    return false;
  }
  generator_random stream;
  generator_random_seed(&stream, d->seed ^ AGREEMENT_STREAM);
  double kind_weight[DEMO_SCHOOL_KIND_COUNT];
  for (int kind = 0; kind < DEMO_SCHOOL_KIND_COUNT; kind++) kind_weight[kind] = demo_pupils_per_kind[kind];
  int32_t parts[DEMO_SCHOOL_KIND_COUNT];
  apportion(running, kind_weight, DEMO_SCHOOL_KIND_COUNT, parts);
  spread_shuffled(&stream, parts, DEMO_SCHOOL_KIND_COUNT, kind_of);
  apportion(all - running, kind_weight, DEMO_SCHOOL_KIND_COUNT, parts);
  spread_shuffled(&stream, parts, DEMO_SCHOOL_KIND_COUNT, kind_of + running);

  /* The waiting pupils grouped by their school's kind, and each training's vacancies (one
   * contiguous run each, see make_preferences). */
  int32_t kind_start[DEMO_SCHOOL_KIND_COUNT + 1] = {0};
  for (int32_t i = 0; i < d->pupil_count; i++) kind_start[d->schools[d->pupils[i].school].kind + 1]++;
  for (int kind = 0; kind < DEMO_SCHOOL_KIND_COUNT; kind++) kind_start[kind + 1] += kind_start[kind];
  int32_t filled[DEMO_SCHOOL_KIND_COUNT] = {0};
  for (int32_t i = 0; i < d->pupil_count; i++) {
    int kind = d->schools[d->pupils[i].school].kind;
    by_kind[kind_start[kind] + filled[kind]++] = i;
  }
  int32_t first[DEMO_TRAININGS + 1];
  for (int32_t t = 0, v = 0; t <= DEMO_TRAININGS; t++) {
    while (v < d->vacancy_count && d->vacancies[v].training < t) v++;
    first[t] = v;
  }
  int32_t first_school[DEMO_SCHOOL_KIND_COUNT], dealt[DEMO_SCHOOL_KIND_COUNT] = {0};
  for (int kind = 0, start = 0; kind < DEMO_SCHOOL_KIND_COUNT; kind++) {
    first_school[kind] = start;
    start += demo_schools_per_kind[kind] * d->scale;
  }

  for (int32_t k = 0; k < all; k++) {
    bool ended = k >= running;
    int kind = kind_of[k];
    int32_t in_kind = kind_start[kind + 1] - kind_start[kind];
    const demo_pupil *model = NULL;
    int32_t vacancy = -1;
    for (int attempt = 0; attempt < 64 && vacancy < 0 && in_kind > 0; attempt++) {
      model = &d->pupils[by_kind[kind_start[kind] + (int32_t)generator_random_below(&stream, (uint32_t)in_kind)]];
      vacancy = agreement_vacancy(d, &stream, first, model->training, borrowed, ended);
    }
    if (vacancy < 0) { /* unreachable at the seed's sizes: every kind has pupils and seats */
      free(kind_of), free(by_kind), free(borrowed);
      return false;
    }
    demo_vacancy *workplace = &d->vacancies[vacancy];
    const demo_location *location = &d->locations[workplace->location];
    demo_pupil *pupil = &d->agreement_pupils[d->agreement_pupil_count++];
    snprintf(pupil->ref, sizeof pupil->ref, "A-%06d", (int)k + 1);
    pupil->school = first_school[kind] + dealt[kind]++ % (demo_schools_per_kind[kind] * d->scale);
    pupil->training = model->training;
    pupil->group = model->group;
    pupil->newcomer_okan = model->newcomer_okan;
    pupil->special_needs = model->special_needs;
    pupil->readiness = workplace->preparatory ? DEMO_NOT_READY : DEMO_READY;
    pupil->area = location->area;
    const char *postcode;
    double latitude, longitude;
    place_in_area(&stream, areas, pupil->area, &latitude, &longitude, &postcode, &pupil->district);
    pupil->latitude = round(latitude * 1000.0) / 1000.0;
    pupil->longitude = round(longitude * 1000.0) / 1000.0;
    snprintf(pupil->postcode, sizeof pupil->postcode, "%s", postcode);
    double commute = generator_random_percent(&stream, BIKE_PERCENT)
                         ? 4.0 + 8.0 * generator_random_unit(&stream)
                         : 16.0 * exp(0.35 * generator_random_gaussian(&stream));
    double needed = distance_km(pupil->latitude, pupil->longitude, location->latitude, location->longitude) + 1.0;
    if (commute < needed) commute = needed; /* they got there every week already */
    if (commute < 4.0) commute = 4.0;
    pupil->max_commute_km = round(commute * 10.0) / 10.0;
    pupil->days = workplace->days;
    date_before_reference(120 + (int32_t)generator_random_below(&stream, 60), pupil->waiting_since);
    pupil->preferred_count = 0;

    demo_agreement *agreement = &d->agreements[d->agreement_count++];
    agreement->pupil = k;
    agreement->vacancy = vacancy;
    snprintf(agreement->ref, sizeof agreement->ref, "OAO-2026-%06d", (int)k + 1);
    const char *starts = strcmp(workplace->start_date, "2026-10-01") <= 0 ? workplace->start_date : "2026-10-01";
    snprintf(agreement->starts_on, sizeof agreement->starts_on, "%s", ended ? "2026-09-01" : starts);
    date_shifted(agreement->starts_on, -(int32_t)(3 + generator_random_below(&stream, 18)), agreement->signed_on);
    /* Through 30 June 2028: the two school years of a training trajectory. */
    snprintf(agreement->ends_on, sizeof agreement->ends_on, "%s", AGREEMENT_ENDS_ON);
    if (ended) {
      date_shifted("2026-09-15", (int32_t)generator_random_below(&stream, 56), agreement->ended_on);
      agreement->end_reason = end_reasons[generator_random_below(&stream, sizeof end_reasons / sizeof end_reasons[0])];
      borrowed[vacancy]++;
    } else {
      workplace->seats_held++;
    }
  }
  free(kind_of), free(by_kind), free(borrowed);
  return true;
}

int demo_generate(uint64_t seed, int32_t scale, demo_dataset *out) {
  memset(out, 0, sizeof *out);
  if (scale < 1 || scale > DEMO_SCALE_MAX) return -1;
  generator_params antwerp;
  if (generator_params_for("antwerp", &antwerp) != 0) return -1;
  int32_t area_count;
  const generator_centre *areas = generator_antwerp_areas(&area_count);
  if (area_count < 1 || area_count > AREAS_MAX) return -1;
  generator_random stream;
  generator_random_seed(&stream, seed);

  out->seed = seed;
  out->scale = scale;
  out->trainings = training_table;
  out->training_count = DEMO_TRAININGS;
  out->school_count = DEMO_SCHOOLS * scale;
  out->company_count = DEMO_COMPANIES * scale;
  out->location_count = DEMO_LOCATIONS * scale;
  out->pupil_count = DEMO_PUPILS * scale;
  out->schools = calloc((size_t)out->school_count, sizeof *out->schools);
  out->companies = calloc((size_t)out->company_count, sizeof *out->companies);
  out->locations = calloc((size_t)out->location_count, sizeof *out->locations);
  out->pupils = calloc((size_t)out->pupil_count, sizeof *out->pupils);
  if (!out->schools || !out->companies || !out->locations || !out->pupils) {
    demo_free(out);
    return -1;
  }
  /* Companies are recognised mostly for the trainings pupils follow. */
  double training_weight[DEMO_TRAININGS];
  for (int32_t t = 0; t < DEMO_TRAININGS; t++) {
    int32_t named = training_table[t].named_pupils;
    training_weight[t] = named > 0 ? named : 4.0 * exp(0.7 * generator_random_gaussian(&stream));
  }
  make_schools(out);
  make_companies(out, &stream, training_weight);
  make_locations(out, &stream, areas, area_count);
  if (!make_pupils(out, &stream, areas, area_count) || !make_vacancies(out, &stream)) {
    demo_free(out);
    return -1;
  }
  make_preferences(out, &stream);
  if (!make_preparatory_track(out) || !make_agreements(out, areas)) {
    demo_free(out);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* CSV files */

/* One CSV cell: quoted (with doubled quotes) only when it holds a delimiter, quote or newline. */
static void put_cell(FILE *out, const char *text, bool last) {
  if (strpbrk(text, ",\"\r\n") == NULL) {
    fputs(text, out);
  } else {
    fputc('"', out);
    for (const char *p = text; *p; p++) {
      if (*p == '"') fputc('"', out);
      fputc(*p, out);
    }
    fputc('"', out);
  }
  fputc(last ? '\n' : ',', out);
}

static void write_trainings(const demo_dataset *d, FILE *out) {
  fputs("code,name,provider_types\n", out);
  for (int32_t t = 0; t < d->training_count; t++) {
    char providers[64] = "";
    for (int kind = 0; kind < DEMO_SCHOOL_KIND_COUNT; kind++)
      if (d->trainings[t].offered_by & (1u << kind)) {
        if (providers[0]) strcat(providers, ";");
        strcat(providers, school_type_name[kind]);
      }
    put_cell(out, d->trainings[t].code, false);
    put_cell(out, d->trainings[t].name, false);
    put_cell(out, providers, true);
  }
}

static void write_companies(const demo_dataset *d, FILE *out) {
  fputs("id,name,recognised_trainings\n", out);
  for (int32_t c = 0; c < d->company_count; c++) {
    const demo_company *company = &d->companies[c];
    char codes[DEMO_RECOGNITIONS_MAX * 33] = "";
    for (int32_t k = 0; k < company->training_count; k++) {
      if (k > 0) strcat(codes, ";");
      strcat(codes, d->trainings[company->trainings[k]].code);
    }
    put_cell(out, company->id, false);
    put_cell(out, company->name, false);
    put_cell(out, codes, true);
  }
}

static void write_locations(const demo_dataset *d, FILE *out) {
  fputs("id,company_id,name,latitude,longitude,postcode,district\n", out);
  for (int32_t l = 0; l < d->location_count; l++) {
    const demo_location *location = &d->locations[l];
    const demo_company *company = &d->companies[location->company];
    char name[96], latitude[24], longitude[24];
    snprintf(name, sizeof name, "%s %s", company->name, location->district);
    snprintf(latitude, sizeof latitude, "%.6f", location->latitude);
    snprintf(longitude, sizeof longitude, "%.6f", location->longitude);
    put_cell(out, location->id, false);
    put_cell(out, company->id, false);
    put_cell(out, name, false);
    put_cell(out, latitude, false);
    put_cell(out, longitude, false);
    put_cell(out, location->postcode, false);
    put_cell(out, location->district, true);
  }
}

static void write_vacancies(const demo_dataset *d, FILE *out) {
  fputs("id,location_id,training_code,seats,min_readiness,days,kind,start_date,mentor,state\n", out);
  for (int32_t v = 0; v < d->vacancy_count; v++) {
    const demo_vacancy *vacancy = &d->vacancies[v];
    char seats[16], days[15];
    snprintf(seats, sizeof seats, "%d", (int)(vacancy->seats + vacancy->seats_held));
    demo_days_text(vacancy->days, days);
    put_cell(out, vacancy->id, false);
    put_cell(out, d->locations[vacancy->location].id, false);
    put_cell(out, d->trainings[vacancy->training].code, false);
    put_cell(out, seats, false);
    put_cell(out, readiness_name[vacancy->min_readiness], false);
    put_cell(out, days, false);
    put_cell(out, vacancy->preparatory ? "preparatory" : "regular", false);
    put_cell(out, vacancy->start_date, false);
    put_cell(out, vacancy->mentor, false);
    put_cell(out, "open", true);
  }
}

static void write_pupil_rows(const demo_dataset *d, const demo_pupil *pupils, int32_t count, FILE *out) {
  fputs("school_id,ref,training_code,readiness,latitude,longitude,home_postcode,home_district,"
        "max_commute_km,days,preferred_companies,newcomer_okan,special_needs_buso,waiting_since,"
        "school_notes,school_type\n",
        out);
  for (int32_t i = 0; i < count; i++) {
    const demo_pupil *pupil = &pupils[i];
    char latitude[24], longitude[24], commute[24], days[15];
    char preferred[DEMO_PREFERENCES_MAX * 12] = "";
    snprintf(latitude, sizeof latitude, "%.3f", pupil->latitude);
    snprintf(longitude, sizeof longitude, "%.3f", pupil->longitude);
    snprintf(commute, sizeof commute, "%.1f", pupil->max_commute_km);
    demo_days_text(pupil->days, days);
    for (int32_t k = 0; k < pupil->preferred_count; k++) {
      if (k > 0) strcat(preferred, ";");
      strcat(preferred, d->companies[pupil->preferred[k]].id);
    }
    put_cell(out, d->schools[pupil->school].id, false);
    put_cell(out, pupil->ref, false);
    put_cell(out, d->trainings[pupil->training].code, false);
    put_cell(out, readiness_name[pupil->readiness], false);
    put_cell(out, latitude, false);
    put_cell(out, longitude, false);
    put_cell(out, pupil->postcode, false);
    put_cell(out, pupil->district, false);
    put_cell(out, commute, false);
    put_cell(out, days, false);
    put_cell(out, preferred, false);
    put_cell(out, pupil->newcomer_okan ? "true" : "false", false);
    put_cell(out, pupil->special_needs ? "true" : "false", false);
    put_cell(out, pupil->waiting_since, false);
    put_cell(out, group_note[pupil->group], false);
    put_cell(out, school_type_name[d->schools[pupil->school].kind], true);
  }
}

static void write_pupils(const demo_dataset *d, FILE *out) { write_pupil_rows(d, d->pupils, d->pupil_count, out); }

static void write_agreement_pupils(const demo_dataset *d, FILE *out) {
  write_pupil_rows(d, d->agreement_pupils, d->agreement_pupil_count, out);
}

/* One row per agreement, in the columns `leerplek import agreements` reads; placement_note is
 * the coordinator's written reason the import gives with the manual placement. */
static void write_agreements(const demo_dataset *d, FILE *out) {
  fputs("school_id,pupil_ref,vacancy_id,agreement_ref,signed_on,starts_on,ends_on,ended_on,end_reason,"
        "placement_note\n",
        out);
  for (int32_t k = 0; k < d->agreement_count; k++) {
    const demo_agreement *agreement = &d->agreements[k];
    const demo_pupil *pupil = &d->agreement_pupils[agreement->pupil];
    put_cell(out, d->schools[pupil->school].id, false);
    put_cell(out, pupil->ref, false);
    put_cell(out, d->vacancies[agreement->vacancy].id, false);
    put_cell(out, agreement->ref, false);
    put_cell(out, agreement->signed_on, false);
    put_cell(out, agreement->starts_on, false);
    put_cell(out, agreement->ends_on, false);
    put_cell(out, agreement->ended_on, false);
    put_cell(out, agreement->end_reason ? agreement->end_reason : "", false);
    put_cell(out, AGREEMENT_PLACEMENT_NOTE, true);
  }
}

static void write_organisations(const demo_dataset *d, FILE *out) {
  fputs("id,name,site_id,site_name,postcode,district\n", out);
  for (int32_t o = 0; o < d->organisation_count; o++) {
    const demo_organisation *organisation = &d->organisations[o];
    for (int32_t s = 0; s < organisation->site_count; s++) {
      put_cell(out, organisation->id, false);
      put_cell(out, organisation->name, false);
      put_cell(out, organisation->sites[s].id, false);
      put_cell(out, organisation->sites[s].name, false);
      put_cell(out, organisation->sites[s].postcode, false);
      put_cell(out, organisation->sites[s].district, true);
    }
  }
}

static void write_offers(const demo_dataset *d, FILE *out) {
  fputs("id,organisation_id,site_id,component,training_codes,seats,days,start_date\n", out);
  for (int32_t k = 0; k < d->offer_count; k++) {
    const demo_offer *offer = &d->offers[k];
    const demo_organisation *organisation = &d->organisations[offer->organisation];
    char seats[16], days[15];
    snprintf(seats, sizeof seats, "%d", (int)offer->seats);
    demo_days_text(OFFER_DAYS, days);
    put_cell(out, offer->id, false);
    put_cell(out, organisation->id, false);
    put_cell(out, organisation->sites[offer->site].id, false);
    put_cell(out, demo_component_names[offer->component], false);
    put_cell(out, "", false);
    put_cell(out, seats, false);
    put_cell(out, days, false);
    put_cell(out, "2026-09-01", true);
  }
}

/* Newcomers' referrals are urgent (a school year already lost to arriving); the priority flags
 * are shared so the partner can plan for them, the school notes are not. */
static void write_referrals(const demo_dataset *d, FILE *out) {
  fputs("school_id,pupil_ref,component,reason,urgency,share_priority_flags,share_school_notes\n", out);
  for (int32_t k = 0; k < d->referral_count; k++) {
    const demo_referral *referral = &d->referrals[k];
    const demo_pupil *pupil = &d->pupils[referral->pupil];
    for (int c = 0; c < DEMO_COMPONENT_COUNT; c++) {
      if (!((referral->components >> c) & 1u)) continue;
      put_cell(out, d->schools[pupil->school].id, false);
      put_cell(out, pupil->ref, false);
      put_cell(out, demo_component_names[c], false);
      put_cell(out, trajectory_reason[referral->trajectory], false);
      put_cell(out, pupil->newcomer_okan ? "high" : "normal", false);
      put_cell(out, "true", false);
      put_cell(out, "false", true);
    }
  }
}

/* The tokens a demo run creates: the coordinator, each school, and each company that has a
 * location (only those can publish or answer proposals). "<role> <scope>" per line. */
static void write_tokens_plan(const demo_dataset *d, FILE *out) {
  fprintf(out,
          "# leerplek demo: tokens to create, one per line: <role> <scope>\n"
          "# e.g. leerplek admin create-token --role school --scope school:%s\n",
          d->school_count > 0 ? d->schools[0].id : "VT01");
  fputs("coordinator coordinator\n", out);
  for (int32_t s = 0; s < d->school_count; s++) fprintf(out, "school school:%s\n", d->schools[s].id);
  for (int32_t c = 0; c < d->company_count; c++)
    if (d->companies[c].location_count > 0) fprintf(out, "company company:%s\n", d->companies[c].id);
}

/* The earlier figures the SamDuLeA dashboard gives: 320 pupils in dual learning in October
 * 2021 (307 in February 2022; the demo has 321 with a running agreement, see demo_data.h) and
 * the October counts of the named trainings, as a snapshot of the demo's October; main.sh
 * stores it as lp:trend:<day> before the daemon starts, and the daemon adds today's. Only what
 * is known is written: the 320 are pupils in dual learning, not all registered pupils, whom
 * the demo's waiting pupils add to. */
static const struct {
  const char *code;
  int32_t pupils;
} october_2021[] = {
    {"PAARDENZORG", 26},  {"CHEMIE", 38},           {"KAPPER-STYLIST", 13},     {"HAARZORG", 15},
    {"ELEKTRO-INST", 20}, {"ELEKTROTECHNICUS", 10}, {"LASSEN-CONSTRUCTIE", 14}, {"FITNESSINSTRUCTEUR", 11},
};

static void write_trend(const demo_dataset *d, FILE *out) {
  fprintf(out, "2026-10-01 pupils_in_dual_learning=%d", (int)(320 * d->scale));
  for (size_t t = 0; t < sizeof october_2021 / sizeof october_2021[0]; t++)
    fprintf(out, " %s=%d", october_2021[t].code, (int)(october_2021[t].pupils * d->scale));
  fputc('\n', out);
}

typedef void (*file_writer)(const demo_dataset *, FILE *);

static int write_file(const demo_dataset *d, const char *directory, const char *name, file_writer writer) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s", directory, name) >= (int)sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  FILE *out = fopen(path, "w");
  if (out == NULL) return -1;
  writer(d, out);
  int failed = ferror(out);
  if (fclose(out) != 0 || failed) {
    if (errno == 0) errno = EIO;
    return -1;
  }
  return 0;
}

int demo_write_directory(const demo_dataset *dataset, const char *directory) {
  static const struct {
    const char *name;
    file_writer writer;
  } files[] = {
      {"trainings.csv", write_trainings},     {"companies.csv", write_companies},
      {"locations.csv", write_locations},     {"vacancies.csv", write_vacancies},
      {"pupils.csv", write_pupils},           {"agreement-pupils.csv", write_agreement_pupils},
      {"agreements.csv", write_agreements},   {"organisations.csv", write_organisations},
      {"offers.csv", write_offers},           {"referrals.csv", write_referrals},
      {"tokens-plan.txt", write_tokens_plan}, {"trend.txt", write_trend},
  };
  for (size_t k = 0; k < sizeof files / sizeof files[0]; k++)
    if (write_file(dataset, directory, files[k].name, files[k].writer) != 0) return -1;
  return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Summary */

void demo_write_summary(const demo_dataset *d, FILE *out) {
  int32_t vacancy_seats = 0, preparatory_seats = 0, not_ready = 0;
  int32_t pupils_of[DEMO_TRAININGS] = {0}, seats_of[DEMO_TRAININGS] = {0}, held_of[DEMO_TRAININGS] = {0};
  for (int32_t v = 0; v < d->vacancy_count; v++) {
    held_of[d->vacancies[v].training] += d->vacancies[v].seats_held;
    vacancy_seats += d->vacancies[v].seats;
    preparatory_seats += d->vacancies[v].preparatory ? d->vacancies[v].seats : 0;
    seats_of[d->vacancies[v].training] += d->vacancies[v].seats;
  }
  for (int32_t i = 0; i < d->pupil_count; i++) {
    pupils_of[d->pupils[i].training]++;
    not_ready += d->pupils[i].readiness == DEMO_NOT_READY;
  }
  int32_t with_location = 0;
  for (int32_t c = 0; c < d->company_count; c++) with_location += d->companies[c].location_count > 0;
  fprintf(out, "leerplek demo dataset: seed=%llu scale=%d\n", (unsigned long long)d->seed, (int)d->scale);
  fprintf(out, "  trainings %d, schools %d, companies %d (%d with a location), locations %d\n", (int)d->training_count,
          (int)d->school_count, (int)d->company_count, (int)with_location, (int)d->location_count);
  fprintf(out,
          "  vacancies %d with %d seats for the waiting pupils (%d preparatory); pupils waiting %d (%d not ready)\n",
          (int)d->vacancy_count, (int)vacancy_seats, (int)preparatory_seats, (int)d->pupil_count, (int)not_ready);
  int32_t referral_rows = 0, offer_seats = 0;
  for (int32_t k = 0; k < d->referral_count; k++) referral_rows += __builtin_popcount(d->referrals[k].components);
  for (int32_t k = 0; k < d->offer_count; k++) offer_seats += d->offers[k].seats;
  int32_t running = 0, seats_held = 0;
  for (int32_t k = 0; k < d->agreement_count; k++) running += d->agreements[k].ended_on[0] == '\0';
  for (int32_t v = 0; v < d->vacancy_count; v++) seats_held += d->vacancies[v].seats_held;
  fprintf(
      out,
      "  agreements %d (%d running, %d ended) for %d pupils of their own; %d more seats, held by the running ones\n",
      (int)d->agreement_count, (int)running, (int)(d->agreement_count - running), (int)d->agreement_pupil_count,
      (int)seats_held);
  fprintf(out, "  support organisations %d with %d offers of %d seats; referrals %d for %d pupils\n",
          (int)d->organisation_count, (int)d->offer_count, (int)offer_seats, (int)referral_rows,
          (int)d->referral_count);
  fprintf(out, "  %-22s %7s %7s %7s\n", "training", "pupils", "seats", "held");
  for (int32_t t = 0; t < d->training_count; t++)
    fprintf(out, "  %-22s %7d %7d %7d%s\n", d->trainings[t].code, (int)pupils_of[t], (int)seats_of[t], (int)held_of[t],
            seats_of[t] < pupils_of[t] ? "  short" : "");
  int32_t area_count;
  const generator_centre *areas = generator_antwerp_areas(&area_count);
  int32_t pupils_in[AREAS_MAX] = {0}, seats_in[AREAS_MAX] = {0};
  for (int32_t i = 0; i < d->pupil_count; i++) pupils_in[d->pupils[i].area]++;
  for (int32_t v = 0; v < d->vacancy_count; v++)
    seats_in[d->locations[d->vacancies[v].location].area] += d->vacancies[v].seats;
  fprintf(out, "  %-36s %7s %7s\n", "education area", "pupils", "seats");
  for (int32_t a = 0; a < area_count; a++)
    fprintf(out, "  %-36s %7d %7d%s\n", areas[a].name, (int)pupils_in[a], (int)seats_in[a],
            seats_in[a] < pupils_in[a] ? "  short" : "");
}
