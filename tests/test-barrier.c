/* Barrier: n parties released together, one leader, starts over; a
 * cancelled wait leaves the barrier; free with waiters. */
#include "test-util.h"

static int leaders, released;
static void passed(int status, uva_value_t v, void *data) {
  (void)data;
  ck_assert_int_eq(status, 0);
  released++;
  leaders += (int)v.u64;
}

static void rec_status(int status, uva_value_t v, void *data) {
  (void)v;
  *(int *)data = status;
}

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uva_barrier_t *b = (uva_barrier_t *)1;
  ck_assert_int_eq(uva_barrier_new(NULL, 2, &b), UV_EINVAL);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(uva_barrier_new(loop, 0, &b), UV_EINVAL);
  ck_assert_int_eq(uva_barrier_new(loop, 2, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_barrier_wait(NULL)), UV_EINVAL);
  uva_barrier_free(NULL);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(generations) {
  LOOP_INIT(loop);
  uva_barrier_t *b;
  leaders = released = 0;
  ck_assert_int_eq(uva_barrier_new(loop, 3, &b), 0);
  for (int gen = 0; gen < 3; gen++) {
    for (int i = 0; i < 2; i++)
      ck_assert_int_eq(uva_future_then(uva_barrier_wait(b), passed, NULL), 0);
    ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(released, gen * 3); /* two are not enough */
    ck_assert_int_eq(uva_future_then(uva_barrier_wait(b), passed, NULL), 0);
    ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(released, (gen + 1) * 3);
    ck_assert_int_eq(leaders, gen + 1);
  }
  /* n = 1: every wait passes at once and leads */
  uva_barrier_free(b);
  ck_assert_int_eq(uva_barrier_new(loop, 1, &b), 0);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_barrier_wait(b), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  uva_barrier_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(cancel_and_free) {
  LOOP_INIT(loop);
  uva_barrier_t *b;
  uva_future_t *f;
  int st = 1, st2 = 1;
  leaders = released = 0;
  ck_assert_int_eq(uva_barrier_new(loop, 2, &b), 0);
  /* before: an unconsumed wait never arrives */
  uva_future_free(uva_barrier_wait(b));
  /* while waiting: cancelled, it no longer counts */
  f = uva_barrier_wait(b);
  ck_assert_int_eq(uva_future_then(f, rec_status, &st), 0);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st, UV_ECANCELED);
  ck_assert_int_eq(uva_future_then(uva_barrier_wait(b), passed, NULL), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(released, 0); /* alone: the cancelled one left */
  /* a timeout over a wait */
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_barrier_wait(b), 5), NULL), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(released, 1);
  ck_assert_int_eq(leaders, 0); /* the timeout's wait led */
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_barrier_wait(b), 2), NULL),
      UV_ETIMEDOUT);
  /* free with a waiter */
  ck_assert_int_eq(uva_future_then(uva_barrier_wait(b), rec_status, &st2), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  uva_barrier_free(b);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st2, UV_ECANCELED);
  LOOP_CLOSE(loop);
}
END_TEST

/* Tasks meet each round. */
typedef struct {
  uva_barrier_t *b;
  int *phase, *leads;
} party_t;

static int party(void *arg, uva_result_t *r) {
  party_t *p = arg;
  uva_value_t v;
  (void)r;
  for (int round = 0; round < 10; round++) {
    p->phase[round]++;
    ck_assert_int_eq(uva_await(uva_barrier_wait(p->b), &v), 0);
    ck_assert_int_eq(p->phase[round], 4); /* everyone arrived */
    *p->leads += (int)v.u64;
  }
  return 0;
}

START_TEST(tasks_rounds) {
  LOOP_INIT(loop);
  uva_barrier_t *b;
  int phase[10] = {0}, leads = 0;
  party_t p = {NULL, phase, &leads};
  ck_assert_int_eq(uva_barrier_new(loop, 4, &b), 0);
  p.b = b;
  for (int i = 0; i < 4; i++)
    uva_future_detach(uva_spawn(loop, party, &p));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(leads, 10);
  uva_barrier_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("barrier");
  TCase *tc = tcase_create("barrier");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, generations);
  tcase_add_test(tc, cancel_and_free);
  tcase_add_test(tc, tasks_rounds);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
