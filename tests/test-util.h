/* Shared helpers for uva's Check suites.  Each test makes its own loop and
 * ends by asserting that uv_loop_close() returns 0. */
#ifndef UVA_TEST_UTIL_H
#define UVA_TEST_UTIL_H

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <uva.h>

#define LOOP_INIT(loop)                                                        \
  uv_loop_t loop##_storage, *loop = &loop##_storage;                           \
  ck_assert_int_eq(uv_loop_init(loop), 0)

/* Runs what is left, then checks that the loop closes with nothing of uva's
 * left behind. */
#define LOOP_CLOSE(loop)                                                       \
  do {                                                                         \
    ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);                         \
    ck_assert_int_eq(uv_loop_close(loop), 0);                                  \
  } while (0)

/* Closes the loop right away: nothing may be left to run. */
#define LOOP_CLOSE_NOW(loop) ck_assert_int_eq(uv_loop_close(loop), 0)

static inline char *test_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  memcpy(p, s, n);
  return p;
}

/* A free function that counts its calls (each test resets frees). */
static int frees;
static inline void count_free(void *p) {
  frees++;
  free(p);
}

/* Records what a uva_future_then callback got. */
typedef struct {
  int calls;
  int status;
  uva_value_t value;
  int in_call; /* set by a test while the registering call runs */
} then_rec;

static inline void record(int status, uva_value_t value, void *data) {
  then_rec *r = data;
  ck_assert_int_eq(r->in_call, 0); /* never inside the registering call */
  r->calls++;
  r->status = status;
  r->value = value;
}

static inline int test_run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  int failed;
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
