/* leerplek-gen: writes a generated instance file (see generator.h) for demos, benchmarks and
 * manual experiments, or with --demo the Antwerp demo dataset as CSV files (demo_data.h), its
 * agreements included. Output depends only on the options, never on the time or the machine's
 * state, so a size and seed name a dataset exactly: the same command gives the same bytes.
 *
 * Exit status: 0 written, 1 out of memory or write failed, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "demo_data.h"
#include "generator.h"
#include "instance.h"

enum { EXIT_WRITTEN = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: leerplek-gen --size antwerp|flanders|germany [options]\n"
    "       leerplek-gen --demo DIR [--seed N] [--scale K]\n"
    "\n"
    "Writes a realistic, seeded matching instance in the instance format that\n"
    "leerplek-solve reads. The same options always give identical output.\n"
    "\n"
    "sizes:\n"
    "  antwerp    307 pupils, 1,220 vacancies, Antwerp's education areas\n"
    "  flanders   20,000 pupils, 30,000 vacancies, Flemish cities (about 1.4 M pairs)\n"
    "  germany    200,000 pupils, 250,000 vacancies, German cities (about 6.8 M pairs)\n"
    "\n"
    "options:\n"
    "  -S, --size NAME          the size and map (required)\n"
    "  -s, --seed N             random seed, 0..2^64-1 (default 1)\n"
    "  -p, --pupils N           override the pupil count\n"
    "  -v, --vacancies M        override the vacancy count; the map is scaled so that\n"
    "                           vacancies per km^2 stay the same\n"
    "  -f, --fixed-permille K   fix K per 1000 pupils to an accepted placement ('f' lines)\n"
    "  -o, --output FILE        write to FILE instead of standard output\n"
    "  -h, --help               print this help\n"
    "\n"
    "demo dataset (CSV files that `leerplek import` reads):\n"
    "  -d, --demo DIR           write trainings.csv, companies.csv, locations.csv,\n"
    "                           vacancies.csv, pupils.csv, agreement-pupils.csv,\n"
    "                           agreements.csv, organisations.csv, offers.csv,\n"
    "                           referrals.csv, tokens-plan.txt and trend.txt\n"
    "                           into DIR (created if missing) and print a summary\n"
    "                           (import agreement-pupils.csv as pupils without\n"
    "                           --request, then `leerplek import agreements`)\n"
    "  -k, --scale K            multiply every count but the trainings by K, 1..200\n"
    "                           (65: about 20,000 pupils, the size of Flanders)\n"
    "\n"
    "what the demo follows (the SamDuLeA network's dashboard of Antwerp, February 2022,\n"
    "unless said otherwise):\n"
    "  pupils          307 waiting for a place (pupils.csv, the rematch's cohort): 139\n"
    "                  full-time secondary, 6 BuSO, 83 learning-and-working\n"
    "                  centres, 79 Syntra; the eight named trainings with their counts\n"
    "                  (equine care 30, chemistry 35, hairdresser-stylist 10, hair care 14,\n"
    "                  electrical installations 22, electrotechnician 12, welding 11, fitness 8)\n"
    "  schools         20: 10 full-time, 2 BuSO, 7 learning-and-working centres, 1 Syntra;\n"
    "                  pupils are dealt over the schools of their kind, so every one has some\n"
    "  trainings       44: offered by 20 full-time, 1 BuSO, 24 learning-and-working, 14 Syntra\n"
    "  companies       1,220 recognised companies, 367 recognised locations; each company\n"
    "                  works in one trade and is recognised only for trainings of that trade\n"
    "  homes           the 15 education areas of the 2020-2021 study of 1,601 part-time-track\n"
    "                  pupils, in its proportions; groups 45 % many disadvantage indicators,\n"
    "                  27 % newcomers (OKAN), 28 % few indicators (the same study)\n"
    "  seats           short (0.6 seats per pupil) in the trainings that lost pupils from\n"
    "                  October 2021 to February 2022, 1.3 elsewhere; preparatory places for\n"
    "                  70 % of the pupils not ready yet (the lack of protected places the\n"
    "                  network names)\n"
    "  commute limits  40 % by bike, 4-12 km; 60 % by public transport, about 16 km (6-30):\n"
    "                  an assumption of this generator, the seeds give no figure\n"
    "  trend           320 pupils in dual learning in October 2021 and the named trainings'\n"
    "                  October counts (26, 38, 13, 15, 20, 10, 14, 11), as a snapshot of\n"
    "                  2026-10-01 (trend.txt)\n"
    "  preparatory     5 support organisations with sites in Antwerp's districts; a referral\n"
    "  track           for every not-ready pupil, trajectories as seed 000 counts them over\n"
    "                  1,601 pupils (preparatory only 34.6 %, guidance only 24.8 %, work only\n"
    "                  16.1 %, preparatory + FOIBAL 6.5 %, ALTDEL + preparatory 5.4 %, ALTDEL\n"
    "                  + FOIBAL 5.3 %, FOIBAL only 4.1 %, all three 3.1 %); offers with the\n"
    "                  seats those referrals ask per component, Monday to Friday\n"
    "  agreements      367, of which 321 running (agreements.csv). leerplek holds one\n"
    "                  placement, so at most one running agreement, per pupil: the seed's\n"
    "                  321 running agreements on 307 pupils (14 hold two at once) are 321\n"
    "                  pupils with one running agreement each, its 46 ended ones 46 pupils\n"
    "                  whose agreement ended (they left the track); these 367 pupils\n"
    "                  (agreement-pupils.csv) come beside the 307 waiting ones, in the\n"
    "                  seed's kinds (139:6:83:79) and its trainings mix. Each running\n"
    "                  agreement holds a seat of its own vacancy, added to the seats above,\n"
    "                  so the waiting pupils meet the same free seats. Dates: signed shortly\n"
    "                  before a start on 1 September or 1 October 2026, through 30 June 2028\n"
    "                  (two school years); the ended ones ended 15 September - 9 November\n"
    "                  2026, with a reason (an assumption: the seeds give no dates)\n";

/* Strict decimal: the whole argument, no sign, within [0, maximum]. */
static bool parse_unsigned(const char *text, uint64_t maximum, uint64_t *value) {
  if (text[0] < '0' || text[0] > '9') return false;
  errno = 0;
  char *end;
  unsigned long long parsed = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || parsed > maximum) return false;
  *value = parsed;
  return true;
}

static int64_t total_seats(const matcher_problem *problem) {
  int64_t seats = 0;
  for (int32_t j = 0; j < problem->vacancy_count; j++) seats += problem->seats[j];
  return seats;
}

static int write_instance(FILE *out, const char *size_name, uint64_t seed, const instance *inst) {
  const matcher_problem *problem = &inst->problem;
  fprintf(out, "c leerplek instance generated by leerplek-gen: size=%s seed=%" PRIu64 "\n", size_name, seed);
  fprintf(out, "c pupils=%d vacancies=%d seats=%lld pairs=%lld fixed=%lld\n", problem->pupil_count,
          problem->vacancy_count, (long long)total_seats(problem), (long long)problem->pair_count,
          (long long)problem->fixed_count);
  fprintf(out, "c format: p N M E | v vacancy seats | u pupil unplaced_penalty | e pupil vacancy cost"
               " | f pupil vacancy\n");
  fprintf(out, "c costs: commute in units of 100 m + preference penalty; penalties ~1e9..1e12\n");
  return instance_write(out, problem);
}

/* The --demo mode: the CSV dataset into a directory, and its summary on standard output. */
static int write_demo(const char *directory, uint64_t seed, const char *scale_text) {
  uint64_t scale = 1;
  if (scale_text != NULL && (!parse_unsigned(scale_text, DEMO_SCALE_MAX, &scale) || scale < 1)) {
    fprintf(stderr, "leerplek-gen: --scale '%s' is not a number 1..%d\n", scale_text, DEMO_SCALE_MAX);
    return EXIT_USAGE;
  }
  if (mkdir(directory, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "leerplek-gen: cannot create %s: %s\n", directory, strerror(errno));
    return EXIT_FAILED;
  }
  demo_dataset dataset;
  if (demo_generate(seed, (int32_t)scale, &dataset) != 0) {
    fprintf(stderr, "leerplek-gen: out of memory generating the demo dataset at scale %d\n", (int)scale);
    return EXIT_FAILED;
  }
  errno = 0;
  int written = demo_write_directory(&dataset, directory);
  int write_errno = errno;
  if (written == 0) demo_write_summary(&dataset, stdout);
  demo_free(&dataset);
  if (written != 0) {
    fprintf(stderr, "leerplek-gen: writing the demo dataset into %s failed: %s\n", directory, strerror(write_errno));
    return EXIT_FAILED;
  }
  return EXIT_WRITTEN;
}

int main(int argc, char **argv) {
  static const struct option long_options[] = {
      {"size", required_argument, NULL, 'S'},
      {"seed", required_argument, NULL, 's'},
      {"pupils", required_argument, NULL, 'p'},
      {"vacancies", required_argument, NULL, 'v'},
      {"fixed-permille", required_argument, NULL, 'f'},
      {"output", required_argument, NULL, 'o'},
      {"demo", required_argument, NULL, 'd'},
      {"scale", required_argument, NULL, 'k'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *size_name = NULL, *output_path = NULL;
  const char *pupils_text = NULL, *vacancies_text = NULL, *fixed_text = NULL;
  const char *demo_directory = NULL, *scale_text = NULL;
  uint64_t seed = 1;
  int option;
  while ((option = getopt_long(argc, argv, "S:s:p:v:f:o:d:k:h", long_options, NULL)) != -1) {
    switch (option) {
    case 'S': size_name = optarg; break;
    case 's':
      if (!parse_unsigned(optarg, UINT64_MAX, &seed)) {
        fprintf(stderr, "leerplek-gen: --seed '%s' is not a number 0..2^64-1\n", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'p': pupils_text = optarg; break;
    case 'v': vacancies_text = optarg; break;
    case 'f': fixed_text = optarg; break;
    case 'o': output_path = optarg; break;
    case 'd': demo_directory = optarg; break;
    case 'k': scale_text = optarg; break;
    case 'h': fputs(usage_text, stdout); return EXIT_WRITTEN;
    default: fputs("Try 'leerplek-gen --help'.\n", stderr); return EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "leerplek-gen: unexpected argument '%s'\n", argv[optind]);
    return EXIT_USAGE;
  }
  if (demo_directory != NULL || scale_text != NULL) {
    if (demo_directory == NULL || size_name != NULL || pupils_text != NULL || vacancies_text != NULL ||
        fixed_text != NULL || output_path != NULL) {
      fputs("leerplek-gen: --demo DIR takes only --seed and --scale\n", stderr);
      return EXIT_USAGE;
    }
    return write_demo(demo_directory, seed, scale_text);
  }
  generator_params params;
  if (size_name == NULL || generator_params_for(size_name, &params) != 0) {
    fprintf(stderr, "leerplek-gen: --size must be antwerp, flanders or germany%s%s\n",
            size_name != NULL ? ", not " : "", size_name != NULL ? size_name : "");
    return EXIT_USAGE;
  }
  uint64_t value;
  if (pupils_text != NULL) {
    if (!parse_unsigned(pupils_text, MATCHER_COUNT_MAX, &value)) {
      fprintf(stderr, "leerplek-gen: --pupils '%s' is not a count 0..%d\n", pupils_text, MATCHER_COUNT_MAX);
      return EXIT_USAGE;
    }
    params.pupils = (int32_t)value;
  }
  if (vacancies_text != NULL) {
    if (!parse_unsigned(vacancies_text, MATCHER_COUNT_MAX, &value)) {
      fprintf(stderr, "leerplek-gen: --vacancies '%s' is not a count 0..%d\n", vacancies_text, MATCHER_COUNT_MAX);
      return EXIT_USAGE;
    }
    params.vacancies = (int32_t)value;
  }
  if (fixed_text != NULL) {
    if (!parse_unsigned(fixed_text, 1000, &value)) {
      fprintf(stderr, "leerplek-gen: --fixed-permille '%s' is not a number 0..1000\n", fixed_text);
      return EXIT_USAGE;
    }
    params.fixed_permille = (int32_t)value;
  }

  instance inst;
  if (generator_make(&params, seed, &inst) != 0) {
    fprintf(stderr, "leerplek-gen: out of memory generating %d pupils x %d vacancies\n", params.pupils,
            params.vacancies);
    return EXIT_FAILED;
  }
  FILE *out = output_path != NULL ? fopen(output_path, "w") : stdout;
  if (out == NULL) {
    fprintf(stderr, "leerplek-gen: cannot create %s: %s\n", output_path, strerror(errno));
    instance_free(&inst);
    return EXIT_FAILED;
  }
  /* Only a regular file is ever removed after a failed write: -o may name a device. */
  struct stat output_status;
  bool regular_file = output_path != NULL && fstat(fileno(out), &output_status) == 0 && S_ISREG(output_status.st_mode);
  int written = write_instance(out, size_name, seed, &inst);
  int write_errno = errno;
  instance_free(&inst);
  if (output_path != NULL && fclose(out) != 0 && written == 0) {
    written = -1;
    write_errno = errno;
  }
  if (written != 0) {
    fprintf(stderr, "leerplek-gen: writing %s failed: %s\n", output_path != NULL ? output_path : "<stdout>",
            strerror(write_errno));
    if (regular_file) remove(output_path); /* a truncated instance would only fail later, far from here */
    return EXIT_FAILED;
  }
  return EXIT_WRITTEN;
}
