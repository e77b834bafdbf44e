/* test_tls: the API port with TLS (tls_cert_file), against the real daemon: libleerplek, the
 * leerplek tool and `openssl s_client` connect and verify it; TLS 1.1 is refused; a certificate
 * from a CA the client does not trust, or for another host, is refused by the client; a
 * plain-text client gets a clear refusal and nothing crashes; with tls_client_ca_file only
 * clients with a certificate from that CA get in; a key that does not match the certificate
 * stops the daemon at start. The certificates are made here, with openssl, in the test's
 * private directory. */
#include "common.h"
#include "raw_client.h"
#include "run_cli.h"

#include <sys/wait.h>

#ifndef LEERPLEK_CLI_PATH
#error "LEERPLEK_CLI_PATH must name the leerplek binary"
#endif

static lp_harness harness;
static char address[64];
static char http_socket[400];

/* Runs a shell command in the test's directory; its exit status. */
static int shell(const char *format, ...) __attribute__((format(printf, 1, 2)));
static int shell(const char *format, ...) {
  char command[4096];
  int used = snprintf(command, sizeof command, "cd '%s' && ( ", harness.dir);
  va_list args;
  va_start(args, format);
  used += vsnprintf(command + used, sizeof command - (size_t)used, format, args);
  va_end(args);
  snprintf(command + used, sizeof command - (size_t)used, " )");
  int status = system(command);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A CA (name.pem, name.key) and a certificate it signs (cert.pem, cert.key) for san. */
static void make_ca(const char *name) {
  cr_assert_eq(shell("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=%s -keyout %s.key -out %s.pem "
                     ">/dev/null 2>&1",
                     name, name, name),
               0, "openssl could not make the CA %s", name);
}
static void make_cert(const char *ca, const char *cert, const char *san, const char *usage) {
  cr_assert_eq(shell("openssl req -newkey rsa:2048 -nodes -subj /CN=%s -keyout %s.key -out %s.csr >/dev/null 2>&1 && "
                     "printf 'subjectAltName=%s\\nextendedKeyUsage=%s\\n' > %s.ext && "
                     "openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -CAcreateserial -days 2 -extfile %s.ext "
                     "-out %s.pem >/dev/null 2>&1",
                     cert, cert, cert, san, usage, cert, cert, ca, ca, cert, cert),
               0, "openssl could not make the certificate %s", cert);
}

static char *path_in_dir(const char *name) {
  static char paths[8][400];
  static int next;
  char *path = paths[next++ % 8];
  snprintf(path, sizeof paths[0], "%s/%s", harness.dir, name);
  return path;
}

/* Starts the daemon on a TLS port with cert (and, if not NULL, client_ca) and waits until a
 * client trusting trust_ca gets in, or, when the harness' probe cannot (it has no client
 * certificate, or trust_ca is NULL: the certificate names another host), until it listens. */
static void start_tls_daemon(const char *cert, const char *trust_ca, const char *client_ca) {
  snprintf(address, sizeof address, "127.0.0.1:%d", harness_free_port());
  snprintf(http_socket, sizeof http_socket, "unix:%s/http.sock", harness.dir);
  char cert_file[400], key_file[400], client_ca_file[400];
  snprintf(cert_file, sizeof cert_file, "%s/%s.pem", harness.dir, cert);
  snprintf(key_file, sizeof key_file, "%s/%s.key", harness.dir, cert);
  snprintf(client_ca_file, sizeof client_ca_file, "%s/%s.pem", harness.dir, client_ca ? client_ca : "");
  const char *flags[] = {"--listen",
                         address,
                         "--http_listen",
                         http_socket,
                         "--tls_cert_file",
                         cert_file,
                         "--tls_key_file",
                         key_file,
                         client_ca ? "--tls_client_ca_file" : NULL,
                         client_ca_file,
                         NULL};
  snprintf(harness.tls_ca_file, sizeof harness.tls_ca_file, "%s/%s.pem", harness.dir, trust_ca ? trust_ca : "");
  if (client_ca || !trust_ca) {
    harness.tls_ca_file[0] = '\0';
    snprintf(harness.daemon_address, sizeof harness.daemon_address, "%s", address);
    char log_path[400];
    snprintf(log_path, sizeof log_path, "%s/leerplekd.log", harness.dir);
    const char *argv[24] = {LEERPLEKD_PATH, "--redis", harness.redis_address, "--log_level", "debug"};
    int argc = 5;
    for (int i = 0; flags[i]; i++) argv[argc++] = flags[i];
    argv[argc] = NULL;
    harness.daemon_pid = harness_spawn(argv, log_path);
    bool listening = false;
    for (long long deadline = harness_now_ms() + 5000; !listening && harness_now_ms() < deadline; sleep_ms(20)) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      struct sockaddr_in probe = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(strrchr(address, ':') + 1))};
      probe.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      listening = connect(fd, (struct sockaddr *)&probe, sizeof probe) == 0;
      close(fd);
    }
    cr_assert(listening, "leerplekd with tls_client_ca_file did not listen");
    return;
  }
  cr_assert_eq(harness_start_daemon(&harness, flags), 0, "leerplekd did not start with TLS");
}

static void setup(void) {
  memset(&harness, 0, sizeof harness);
  cr_assert_eq(harness_start_redis(&harness), 0);
  cr_assert_eq(harness_create_admin_token(&harness), 0);
  make_ca("ca");
  make_cert("ca", "server", "IP:127.0.0.1,DNS:localhost", "serverAuth");
}

static void teardown(void) { cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly"); }

TestSuite(tls, .init = setup, .fini = teardown, .timeout = 90);

/* A metric's value from /metrics (-1 when absent). */
static double metric(const char *name) {
  char *reply = http_exchange(http_socket + 5, "GET /metrics HTTP/1.0\r\n\r\n");
  double value = -1;
  char needle[128];
  snprintf(needle, sizeof needle, "\n%s ", name);
  const char *found = strstr(reply, needle);
  if (found) value = strtod(found + strlen(needle), NULL);
  free(reply);
  return value;
}

Test(tls, libleerplek_and_the_cli_connect_over_tls) {
  start_tls_daemon("server", "ca", NULL);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(admin, "libleerplek over TLS");
  char coordinator[128];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator, sizeof coordinator);
  cr_assert_eq(upsert_training(admin, "TLS-1", "over TLS"), LEERPLEK__V1__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
               "an admin token may not write trainings, over TLS as in the clear");
  leerplek_close(admin);

  char token_variable[200], ca_variable[500];
  snprintf(token_variable, sizeof token_variable, "LEERPLEK_TOKEN=%s", coordinator);
  snprintf(ca_variable, sizeof ca_variable, "LEERPLEK_TLS_CA=%s", path_in_dir("ca.pem"));
  const char *env[] = {token_variable, NULL};
  const char *upsert[] = {"--address", address,     "--tls", "--tls-ca", path_in_dir("ca.pem"),
                          "import",    "trainings", "-",     NULL};
  cli_result imported = run_cli(upsert, env, "code,name\nTLS-1,Opleiding over TLS\n");
  cr_assert_eq(imported.status, 0, "leerplek --tls import: %s", imported.err);
  cli_result_free(&imported);
  /* The CA from the environment, with --tls. */
  const char *env_with_ca[] = {token_variable, ca_variable, NULL};
  const char *list[] = {"--address", address, "--tls", "--csv", "coordinator", "trainings", NULL};
  cli_result listed = run_cli(list, env_with_ca, NULL);
  cr_assert_eq(listed.status, 0, "%s", listed.err);
  cr_assert_not_null(strstr(listed.out, "Opleiding over TLS"), "%s", listed.out);
  cli_result_free(&listed);
  /* Without --tls the tool speaks plain text to a TLS port: refused, with the reason. */
  const char *plain[] = {"--address", address, "coordinator", "trainings", NULL};
  cli_result refused = run_cli(plain, env, NULL);
  cr_assert_eq(refused.status, 3, "exit 3 (connection failure), got %d", refused.status);
  cr_assert_not_null(strstr(refused.err, "FAILED_PRECONDITION"), "%s", refused.err);
  cr_assert_not_null(strstr(refused.err, "speaks TLS only"), "%s", refused.err);
  cli_result_free(&refused);
  /* With --tls but no CA that trusts the daemon (the system's store): refused by the tool. */
  const char *untrusted[] = {"--address", address, "--tls", "coordinator", "trainings", NULL};
  cli_result distrust = run_cli(untrusted, env, NULL);
  cr_assert_eq(distrust.status, 3);
  cr_assert_not_null(strstr(distrust.err, "certificate verify failed"), "%s", distrust.err);
  cli_result_free(&distrust);
}

Test(tls, openssl_s_client_verifies_tls12_and_13_and_tls11_is_refused) {
  start_tls_daemon("server", "ca", NULL);
  const char *port = strrchr(address, ':') + 1;
  cr_assert_eq(
      shell(
          "timeout 20 openssl s_client -connect 127.0.0.1:%s -CAfile ca.pem -verify_return_error -verify_ip 127.0.0.1 "
          "-brief </dev/null >s13.out 2>&1 && grep -q 'Protocol version: TLSv1.3' s13.out && "
          "grep -q 'Verification: OK' s13.out",
          port),
      0, "s_client (TLS 1.3) did not verify the daemon");
  cr_assert_eq(
      shell("timeout 20 openssl s_client -connect 127.0.0.1:%s -CAfile ca.pem -verify_return_error -tls1_2 -brief "
            "</dev/null >s12.out 2>&1 && grep -q 'Protocol version: TLSv1.2' s12.out",
            port),
      0, "s_client -tls1_2 must get in");
  cr_assert_neq(
      shell("timeout 20 openssl s_client -connect 127.0.0.1:%s -CAfile ca.pem -tls1_1 -cipher DEFAULT@SECLEVEL=0 "
            "</dev/null >s11.out 2>&1",
            port),
      0, "TLS 1.1 must be refused");
  cr_assert_gt(metric("leerplek_tls_handshake_failures_total"), 0, "the refused handshake is counted");
  /* A Hello over s_client's TLS session gets a framed HelloResponse. */
  /* Hello, by hand: request_id 1 (08 01), hello (field 10: 52 02) with protocol_version 1. */
  cr_assert_eq(
      shell("(printf '\\000\\000\\000\\006\\010\\001\\122\\002\\010\\001'; sleep 1) | timeout 20 openssl s_client "
            "-connect 127.0.0.1:%s -CAfile ca.pem -quiet -no_ign_eof -verify_return_error 2>/dev/null | head -c 4 | "
            "od -An -tx1 > hello.out; test -s hello.out && ! grep -q '00 00 00 00' hello.out",
            port),
      0, "a Hello through openssl s_client must be answered");
  leerplek_client *client = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(client, "the daemon serves TLS clients after all that");
  leerplek_close(client);
}

Test(tls, a_certificate_the_client_cannot_trust_is_refused) {
  make_ca("rogue");
  make_cert("rogue", "impostor", "IP:127.0.0.1,DNS:localhost", "serverAuth");
  make_cert("ca", "elsewhere", "DNS:other.example", "serverAuth");
  /* An impostor: right host, signed by a CA the client does not trust. */
  start_tls_daemon("impostor", "rogue", NULL);
  leerplek_client *client = NULL;
  char error[512];
  leerplek_tls tls = {path_in_dir("ca.pem"), NULL, NULL, NULL};
  cr_assert_neq(leerplek_connect_tls(address, harness.admin_token, &tls, &client, error, sizeof error), 0,
                "a certificate from an untrusted CA must be refused");
  cr_assert_not_null(strstr(error, "certificate verify failed"), "%s", error);
  const char *port = strrchr(address, ':') + 1;
  cr_assert_neq(
      shell("timeout 20 openssl s_client -connect 127.0.0.1:%s -CAfile ca.pem -verify_return_error </dev/null "
            ">rogue.out 2>&1",
            port),
      0, "s_client must refuse the impostor too");
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);

  /* A trusted CA, but the certificate names another host. */
  start_tls_daemon("elsewhere", NULL, NULL);
  cr_assert_neq(leerplek_connect_tls(address, harness.admin_token, &tls, &client, error, sizeof error), 0,
                "a certificate for another host must be refused");
  cr_assert_not_null(strstr(error, "certificate verify failed"), "%s", error);
  cr_assert_not_null(strstr(error, "mismatch"), "%s", error);
  leerplek_tls named = {path_in_dir("ca.pem"), NULL, NULL, "other.example"};
  cr_assert_eq(leerplek_connect_tls(address, harness.admin_token, &named, &client, error, sizeof error), 0,
               "with the certificate's own name it verifies: %s", error);
  leerplek_close(client);
  /* The tool: refused for the address' host, accepted with --tls-server-name. */
  char token_variable[200];
  snprintf(token_variable, sizeof token_variable, "LEERPLEK_TOKEN=%s", harness.admin_token);
  const char *env[] = {token_variable, NULL};
  const char *mismatch[] = {"--address", address, "--tls-ca", path_in_dir("ca.pem"), "admin", "tokens", NULL};
  cli_result refused = run_cli(mismatch, env, NULL);
  cr_assert_eq(refused.status, 3);
  cr_assert_not_null(strstr(refused.err, "mismatch"), "%s", refused.err);
  cli_result_free(&refused);
  const char *renamed[] = {
      "--address", address,  "--tls-ca", path_in_dir("ca.pem"), "--tls-server-name", "other.example",
      "admin",     "tokens", NULL};
  cli_result accepted = run_cli(renamed, env, NULL);
  cr_assert_eq(accepted.status, 0, "%s", accepted.err);
  cli_result_free(&accepted);
}

Test(tls, plain_text_on_the_tls_port_gets_a_clear_refusal_and_nothing_crashes) {
  start_tls_daemon("server", "ca", NULL);
  leerplek_client *client = NULL;
  char error[512];
  cr_assert_neq(leerplek_connect(address, harness.admin_token, &client, error, sizeof error), 0);
  cr_assert_not_null(strstr(error, "FAILED_PRECONDITION"), "%s", error);
  cr_assert_not_null(strstr(error, "TLS"), "%s", error);
  /* Raw garbage: an HTTP request, a lone byte then a hang-up, a TLS record header cut short. */
  int fd = raw_connect_to(address);
  raw_write(fd, "GET / HTTP/1.0\r\n\r\n", 18);
  Leerplek__V1__Response *response = raw_response(fd);
  cr_assert_not_null(response, "an HTTP request on the TLS port gets a framed refusal");
  cr_assert_eq(response->status->code, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_FAILED_PRECONDITION);
  leerplek_response_free(response);
  cr_assert(raw_closed(fd));
  close(fd);
  fd = raw_connect_to(address);
  raw_write(fd, "\x00", 1);
  close(fd);
  fd = raw_connect_to(address);
  raw_write(fd, "\x16\x03\x01\x00", 4);
  close(fd);
  cr_assert_geq(metric("leerplek_tls_plaintext_refused_total"), 3);
  client = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(client, "TLS clients are still served");
  leerplek_close(client);
}

Test(tls, with_tls_client_ca_file_only_clients_with_a_certificate_get_in) {
  make_ca("clients");
  make_cert("clients", "school", "DNS:school.example", "clientAuth");
  make_ca("rogue");
  make_cert("rogue", "stranger", "DNS:stranger.example", "clientAuth");
  start_tls_daemon("server", "ca", "clients");
  leerplek_client *client = NULL;
  char error[512];
  leerplek_tls without = {path_in_dir("ca.pem"), NULL, NULL, NULL};
  cr_assert_neq(leerplek_connect_tls(address, NULL, &without, &client, error, sizeof error), 0,
                "no client certificate: refused");
  cr_assert_not_null(strstr(error, "certificate"), "%s", error);
  leerplek_tls stranger = {path_in_dir("ca.pem"), path_in_dir("stranger.pem"), path_in_dir("stranger.key"), NULL};
  cr_assert_neq(leerplek_connect_tls(address, NULL, &stranger, &client, error, sizeof error), 0,
                "a certificate from another CA: refused");
  leerplek_tls school = {path_in_dir("ca.pem"), path_in_dir("school.pem"), path_in_dir("school.key"), NULL};
  cr_assert_eq(leerplek_connect_tls(address, harness.admin_token, &school, &client, error, sizeof error), 0,
               "a certificate from tls_client_ca_file gets in: %s", error);
  leerplek_close(client);
  /* The tool with --tls-cert/--tls-key. */
  char token_variable[200];
  snprintf(token_variable, sizeof token_variable, "LEERPLEK_TOKEN=%s", harness.admin_token);
  const char *env[] = {token_variable, NULL};
  const char *tokens[] = {"--address",  address,
                          "--tls-ca",   path_in_dir("ca.pem"),
                          "--tls-cert", path_in_dir("school.pem"),
                          "--tls-key",  path_in_dir("school.key"),
                          "--csv",      "admin",
                          "tokens",     NULL};
  cli_result listed = run_cli(tokens, env, NULL);
  cr_assert_eq(listed.status, 0, "%s", listed.err);
  cr_assert_not_null(strstr(listed.out, "first admin"), "%s", listed.out);
  cli_result_free(&listed);
}

Test(tls, a_key_that_does_not_match_the_certificate_stops_the_daemon) {
  make_cert("ca", "other", "IP:127.0.0.1", "serverAuth");
  int status = shell(
      "'%s' --redis '%s' --listen 127.0.0.1:%d --tls_cert_file server.pem --tls_key_file other.key "
      "2>mismatch.log; test $? -ne 0 && grep -q 'tls_key_file' mismatch.log && grep -q 'does not match' mismatch.log",
      LEERPLEKD_PATH, harness.redis_address, harness_free_port());
  cr_assert_eq(status, 0, "a mismatched key must stop leerplekd with a message naming tls_key_file");
  status =
      shell("'%s' --redis '%s' --tls_cert_file server.pem 2>half.log; test $? -eq 2 && grep -q 'tls_key_file' half.log",
            LEERPLEKD_PATH, harness.redis_address);
  cr_assert_eq(status, 0, "a certificate without a key is a config error (exit 2)");
  status = shell("'%s' --redis '%s' --listen 127.0.0.1:%d --tls_cert_file missing.pem --tls_key_file server.key "
                 "2>missing.log; test $? -ne 0 && grep -q 'missing.pem' missing.log",
                 LEERPLEKD_PATH, harness.redis_address, harness_free_port());
  cr_assert_eq(status, 0, "a missing certificate file is named");
}
