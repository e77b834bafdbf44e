/* install_client: a program from outside the project, built by test_install.sh against the
 * installed libleerplek with nothing but `pkg-config --cflags --libs leerplek`. It connects
 * to leerplekd with an admin token and lists the tokens: the header, the generated messages
 * and both libraries must all have been installed for it to compile, link and succeed. */
#include <libleerplek.h>

#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: install_client ADDRESS ADMIN_TOKEN\n");
    return 2;
  }
  char error[256];
  leerplek_client *client = NULL;
  if (leerplek_connect(argv[1], argv[2], &client, error, sizeof error) != 0) {
    fprintf(stderr, "install_client: connect to %s: %s\n", argv[1], error);
    return 1;
  }
  Leerplek__V1__ListTokensRequest list = LEERPLEK__V1__LIST_TOKENS_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TOKENS;
  request.list_tokens = &list;
  Leerplek__V1__Response *response = NULL;
  if (leerplek_call(client, &request, &response) != 0) {
    fprintf(stderr, "install_client: list_tokens: %s\n", leerplek_error(client));
    leerplek_close(client);
    return 1;
  }
  int code = response->status ? (int)response->status->code : LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INTERNAL;
  size_t tokens = response->body_case == LEERPLEK__V1__RESPONSE__BODY_LIST_TOKENS ? response->list_tokens->n_tokens : 0;
  printf("install_client: list_tokens: %s, %zu tokens\n", leerplek_status_name(code), tokens);
  leerplek_response_free(response);
  leerplek_close(client);
  /* The store holds the admin token the call was made with, so an OK reply lists at least it. */
  return code == LEERPLEK__V1__STATUS_CODE__STATUS_CODE_OK_UNSPECIFIED && tokens >= 1 ? 0 : 1;
}
