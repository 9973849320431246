/* Name resolution with numeric hosts and "localhost" only (no network):
 * getaddrinfo and getnameinfo, an unknown name, cancels, values nobody
 * takes, bad input.  libuv's thread pool takes part (tests/run --tsan). */
#include "test-util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>

static struct addrinfo hints4(int flags) {
  struct addrinfo h;
  memset(&h, 0, sizeof(h));
  h.ai_family = AF_INET;
  h.ai_socktype = SOCK_STREAM;
  h.ai_flags = flags;
  return h;
}

/* The list holds 127.0.0.1:port. */
static void assert_loopback(struct addrinfo *ai, int port) {
  int found = 0;
  for (; ai != NULL; ai = ai->ai_next) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ai->ai_addr;
    ck_assert_int_eq(ai->ai_family, AF_INET);
    if (sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
        ntohs(sin->sin_port) == port)
      found = 1;
  }
  ck_assert(found);
}

START_TEST(localhost) {
  LOOP_INIT(loop);
  struct addrinfo h = hints4(0);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_getaddrinfo(loop, "localhost", "80", &h), &v), 0);
  assert_loopback(v.ptr, 80);
  uva_freeaddrinfo(v.ptr);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(numeric) {
  LOOP_INIT(loop);
  struct addrinfo h = hints4(AI_NUMERICHOST | AI_NUMERICSERV);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_getaddrinfo(loop, "127.0.0.1", "8080", &h), &v), 0);
  assert_loopback(v.ptr, 8080);
  uva_freeaddrinfo(v.ptr);
  /* no hints, no service */
  ck_assert_int_eq(uva_block_on(loop, uva_getaddrinfo(loop, "127.0.0.1", NULL, NULL), &v), 0);
  ck_assert_ptr_nonnull(v.ptr);
  uva_freeaddrinfo(v.ptr);
  /* a numeric host that is not one */
  {
    int err = uva_block_on(loop, uva_getaddrinfo(loop, "not-a-number", NULL, &h), NULL);
    ck_assert_msg(err == UV_EAI_NONAME, "%s", uv_err_name(err));
  }
  LOOP_CLOSE(loop);
}
END_TEST

/* It may ask a resolver; it must fail with a UV_EAI_* error in any case. */
START_TEST(unknown_name) {
  LOOP_INIT(loop);
  uint64_t t0 = uv_hrtime();
  int err = uva_block_on(loop, uva_getaddrinfo(loop, "no-such-host.invalid", "80", NULL), NULL);
  ck_assert_msg(err <= UV_EAI_ADDRFAMILY && err >= UV_EAI_PROTOCOL,
                "%s", uv_err_name(err));
  ck_assert_uint_lt(uv_hrtime() - t0, 60000000000ull);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(nameinfo) {
  LOOP_INIT(loop);
  struct sockaddr_in a;
  struct sockaddr_in6 a6;
  uva_nameinfo_t *ni;
  uva_value_t v;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 80, &a), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_getnameinfo(loop, (struct sockaddr *)&a,
                                                      NI_NUMERICHOST | NI_NUMERICSERV), &v), 0);
  ni = v.ptr;
  ck_assert_str_eq(ni->host, "127.0.0.1");
  ck_assert_str_eq(ni->service, "80");
  uva_nameinfo_free(ni);
  ck_assert_int_eq(uv_ip6_addr("::1", 443, &a6), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_getnameinfo(loop, (struct sockaddr *)&a6,
                                                      NI_NUMERICHOST | NI_NUMERICSERV), &v), 0);
  ni = v.ptr;
  ck_assert_str_eq(ni->host, "::1");
  ck_assert_str_eq(ni->service, "443");
  uva_nameinfo_free(ni);
  /* a name lookup: whatever the machine calls 127.0.0.1, it is a string */
  ck_assert_int_eq(uva_block_on(loop, uva_getnameinfo(loop, (struct sockaddr *)&a, 0), &v), 0);
  ck_assert_uint_gt(strlen(((uva_nameinfo_t *)v.ptr)->host), 0);
  uva_nameinfo_free(v.ptr);
  LOOP_CLOSE(loop);
}
END_TEST

/* Cancelled at once (the request is still queued, or already running):
 * settles with UV_ECANCELED; whatever libuv hands back later is freed. */
START_TEST(cancel) {
  LOOP_INIT(loop);
  struct addrinfo h = hints4(0);
  struct sockaddr_in a;
  int i;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 80, &a), 0);
  for (i = 0; i < 20; i++) {
    uva_future_t *f = uva_getaddrinfo(loop, "localhost", "80", &h);
    uva_future_t *g = uva_getnameinfo(loop, (struct sockaddr *)&a, 0);
    ck_assert_int_eq(uva_future_cancel(f), 0);
    ck_assert_int_eq(uva_future_status(f), UV_ECANCELED);
    uva_future_free(f);
    uva_future_free(g); /* freed pending: cancelled */
  }
  /* cancelled by a timeout that always wins */
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_getaddrinfo(loop, "localhost", NULL, &h), 0), NULL),
                   UV_ETIMEDOUT);
  LOOP_CLOSE(loop); /* the requests finish; nothing leaks */
}
END_TEST

/* Results that settle and are never taken are freed with the future. */
START_TEST(untaken_results) {
  LOOP_INIT(loop);
  struct addrinfo h = hints4(0);
  struct sockaddr_in a;
  uva_future_t *f, *g;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 80, &a), 0);
  f = uva_getaddrinfo(loop, "localhost", "80", &h);
  g = uva_getnameinfo(loop, (struct sockaddr *)&a, NI_NUMERICHOST);
  uva_future_detach(uva_getaddrinfo(loop, "127.0.0.1", "1", &h));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uva_future_status(f), 0);
  ck_assert_int_eq(uva_future_status(g), 0);
  uva_future_free(f);
  uva_future_free(g);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(bad_input) {
  LOOP_INIT(loop);
  struct sockaddr_in a;
  struct sockaddr bad;
  uva_future_t *f;
  memset(&bad, 0, sizeof(bad));
  bad.sa_family = AF_UNIX;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 80, &a), 0);
#define FAILS(expr, err)                                                       \
  do {                                                                         \
    f = (expr);                                                                \
    ck_assert_int_eq(uva_future_status(f), (err));                             \
    uva_future_free(f);                                                        \
  } while (0)
  FAILS(uva_getaddrinfo(NULL, "localhost", NULL, NULL), UV_EINVAL);
  FAILS(uva_getaddrinfo(loop, NULL, NULL, NULL), UV_EINVAL);
  FAILS(uva_getnameinfo(NULL, (struct sockaddr *)&a, 0), UV_EINVAL);
  FAILS(uva_getnameinfo(loop, NULL, 0), UV_EINVAL);
  FAILS(uva_getnameinfo(loop, &bad, 0), UV_EINVAL);
  uva_freeaddrinfo(NULL);
  uva_nameinfo_free(NULL);
  LOOP_CLOSE(loop);
}
END_TEST

int main(void) {
  Suite *s = suite_create("dns");
  TCase *tc = tcase_create("dns");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, localhost);
  tcase_add_test(tc, numeric);
  tcase_add_test(tc, unknown_name);
  tcase_add_test(tc, nameinfo);
  tcase_add_test(tc, cancel);
  tcase_add_test(tc, untaken_results);
  tcase_add_test(tc, bad_input);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
