/* test_language.c: the `leerplek` binary in Dutch and English, without a daemon. LANG picks
 * the language (LANG=nl_BE.UTF-8; and a Dutch locale this machine lacks, or LANGUAGE=nl under
 * C.UTF-8, still gives Dutch); help, usage errors and file errors come out in Dutch with no
 * English sentence left, and English stays the default. Day names are read in both languages. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_cli.h"

static const char *const dutch_env[] = {"LANG=nl_BE.UTF-8", "LEERPLEK_ADDRESS=unix:/nonexistent/leerplek-test.sock",
                                        NULL};
static const char *const english_env[] = {"LANG=C.UTF-8", "LEERPLEK_ADDRESS=unix:/nonexistent/leerplek-test.sock",
                                          NULL};

/* Words of English sentences that Dutch text does not use; a line holding one was left
 * untranslated. Option names, enum values and kinds (not_ready, trainings) are no sentences. */
static const char *const english_words[] = {" the ",    " and ",   " with ", " must ",  " only ",
                                            " cannot ", " which ", " from ", " to ",    " every ",
                                            " an ",     "Usage",   "Try ",   " Reads ", " Writes "};

static void expect_dutch(const char *what, const char *text) {
  char padded[16384];
  const char *line = text;
  while (line && *line) {
    const char *end = strchr(line, '\n');
    size_t length = end ? (size_t)(end - line) : strlen(line);
    if (length + 3 > sizeof padded) length = sizeof padded - 3;
    /* Spaces around the line so that a word at either end matches too. */
    snprintf(padded, sizeof padded, " %.*s ", (int)length, line);
    for (size_t w = 0; w < sizeof english_words / sizeof english_words[0]; w++)
      cr_expect_null(strstr(padded, english_words[w]), "%s: an English line in the Dutch output: \"%.*s\"", what,
                     (int)length, line);
    line = end ? end + 1 : NULL;
  }
}

static cli_result run(const char *const *env, const char *input, const char *const *args) {
  return run_cli(args, env, input);
}

Test(language, every_help_level_is_dutch_with_lang_nl_BE) {
  static const char *const levels[][4] = {{"--help"},
                                          {"school", "--help"},
                                          {"company", "--help"},
                                          {"coordinator", "--help"},
                                          {"admin", "--help"},
                                          {"school", "register", "--help"},
                                          {"school", "status", "--help"},
                                          {"school", "withdraw", "--help"},
                                          {"school", "decline", "--help"},
                                          {"school", "agreement", "--help"},
                                          {"school", "placements", "--help"},
                                          {"company", "publish", "--help"},
                                          {"company", "vacancies", "--help"},
                                          {"coordinator", "accept", "--help"},
                                          {"coordinator", "decline", "--help"},
                                          {"coordinator", "rematch", "--help"},
                                          {"coordinator", "report", "--help"},
                                          {"admin", "create-token", "--help"},
                                          {"admin", "tokens", "--help"},
                                          {"import", "--help"},
                                          {"export", "--help"},
                                          {"export", "pupils", "--help"}};
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
    const char *args[5] = {levels[i][0], levels[i][1], levels[i][2], levels[i][3], NULL};
    cli_result r = run(dutch_env, NULL, args);
    cr_expect_eq(r.status, 0, "%s %s: exit %d", args[0], args[1] ? args[1] : "", r.status);
    cr_expect(strstr(r.out, "Gebruik: leerplek"), "%s %s: %s", args[0], args[1] ? args[1] : "", r.out);
    expect_dutch(args[1] ? args[1] : args[0], r.out);
    cli_result_free(&r);
  }
  const char *const top[] = {"--help", NULL};
  cli_result r = run(dutch_env, NULL, top);
  cr_expect(strstr(r.out, "Groepen:") && strstr(r.out, "leerlingen inschrijven, plaatsing aanvragen"), "%s", r.out);
  cli_result_free(&r);
  const char *const columns[] = {"import", "--help", NULL};
  r = run(dutch_env, NULL, columns);
  cr_expect(strstr(r.out, "Kolommen van pupils") && strstr(r.out, "(optioneel) het type school"), "%s", r.out);
  cli_result_free(&r);
}

Test(language, errors_are_dutch_and_english_stays_the_default) {
  const char *const unknown_group[] = {"scholen", NULL};
  cli_result r = run(dutch_env, NULL, unknown_group);
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "leerplek: onbekende groep \"scholen\"\nProbeer 'leerplek --help'."), "%s", r.err);
  cli_result_free(&r);
  r = run(english_env, NULL, unknown_group);
  cr_expect(strstr(r.err, "leerplek: unknown group \"scholen\"\nTry 'leerplek --help'."), "%s", r.err);
  cli_result_free(&r);

  const char *const missing[] = {"school", "register", "--ref", "lln-1", NULL};
  r = run(dutch_env, NULL, missing);
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "--training is verplicht"), "%s", r.err);
  expect_dutch("register", r.err);
  cli_result_free(&r);

  /* A file error: the row's problems and the summary, with the plural of one problem. */
  const char *const check[] = {"import", "trainings", "-", "--check", NULL};
  r = run(dutch_env, "code,name\nbouw,Bouw\n", check);
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "<stdin>:2:1 (code): \"bouw\" is geen opleidingscode"), "%s", r.err);
  cr_expect(strstr(r.err, "1 probleem in <stdin>; er is niets geïmporteerd"), "%s", r.err);
  expect_dutch("import", r.err);
  cli_result_free(&r);
  r = run(dutch_env, "code,name\nbouw,Bouw\nhout,Hout\n", check);
  cr_expect(strstr(r.err, "2 problemen in <stdin>"), "%s", r.err);
  cli_result_free(&r);
  r = run(english_env, "code,name\nbouw,Bouw\n", check);
  cr_expect(strstr(r.err, "1 problem in <stdin>; nothing was imported"), "%s", r.err);
  cli_result_free(&r);

  /* Day names: Dutch ones are read in both languages; a wrong one names both sets. */
  const char *const days[] = {"import", "vacancies", "-", "--check", NULL};
  const char *const vacancies = "id,location_id,training_code,seats,min_readiness,days,kind,start_date\n"
                                "V-1,L-1,BOUW,1,partly,\"ma,di\",regular,2026-09-01\n"
                                "V-2,L-1,BOUW,1,partly,A:wo;B:vr,regular,2026-09-01\n"
                                "V-3,L-1,BOUW,1,partly,maan,regular,2026-09-01\n";
  r = run(english_env, vacancies, days);
  cr_expect_eq(r.status, 2);
  cr_expect(
      strstr(r.err,
             "<stdin>:4:6 (days): unknown day \"maan\" (use mon tue wed thu fri sat sun, or ma di wo do vr za zo)"),
      "%s", r.err);
  cr_expect(!strstr(r.err, "<stdin>:2:") && !strstr(r.err, "<stdin>:3:"), "ma,di and A:wo;B:vr are days: %s", r.err);
  cli_result_free(&r);
  r = run(dutch_env, vacancies, days);
  cr_expect(strstr(r.err, "onbekende dag \"maan\" (gebruik ma di wo do vr za zo"), "%s", r.err);
  cli_result_free(&r);
}

/* Dutch without the nl_BE locale generated: LANGUAGE under C.UTF-8, and a Dutch LANG this
 * machine has no locale for (nl_NL is not generated by install-deps). */
Test(language, dutch_without_the_locale) {
  static const char *const language_env[] = {"LC_ALL=C.UTF-8", "LANGUAGE=nl",
                                             "LEERPLEK_ADDRESS=unix:/nonexistent/x.sock", NULL};
  static const char *const missing_locale_env[] = {"LANG=nl_NL.UTF-8", "LEERPLEK_ADDRESS=unix:/nonexistent/x.sock",
                                                   NULL};
  const char *const args[] = {"coordinator", "--help", NULL};
  cli_result r = run(language_env, NULL, args);
  cr_expect(strstr(r.out, "Gebruik: leerplek coordinator <opdracht> [opties]"), "%s", r.out);
  cli_result_free(&r);
  r = run(missing_locale_env, NULL, args);
  cr_expect(strstr(r.out, "Gebruik: leerplek coordinator <opdracht> [opties]"), "%s", r.out);
  cli_result_free(&r);
}
