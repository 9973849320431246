/* Intervals: uva_interval_* (tokio::time::interval). */
#include "test-util.h"

#define MS 1000000ull

static uint64_t tick(uv_loop_t *loop, uva_interval_t *iv) {
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_interval_tick(iv), &v), 0);
  ck_assert_uint_ge(uv_hrtime(), v.u64); /* never early */
  return v.u64;
}

START_TEST(interval_ticks_every_period) {
  LOOP_INIT(loop);
  uva_interval_t *iv;
  uint64_t start = uv_hrtime(), d0, d, t0;
  int i;

  ck_assert_int_eq(uva_interval_new(loop, 10, UVA_TICK_BURST, &iv), 0);
  d0 = tick(loop, iv); /* the first one at once */
  ck_assert_uint_ge(d0, start);
  t0 = uv_hrtime();
  for (i = 1; i <= 5; i++) {
    d = tick(loop, iv);
    ck_assert_uint_eq(d, d0 + (uint64_t)i * 10 * MS);
  }
  ck_assert_uint_ge(uv_hrtime() - t0, 40 * MS);
  uva_interval_free(iv);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(interval_missed_burst) {
  LOOP_INIT(loop);
  uva_interval_t *iv;
  uint64_t d0, now;
  int i;

  ck_assert_int_eq(uva_interval_new(loop, 20, UVA_TICK_BURST, &iv), 0);
  d0 = tick(loop, iv);
  uv_sleep(75); /* the loop is busy for almost 4 periods */
  for (i = 1; i <= 3; i++)
    ck_assert_uint_eq(tick(loop, iv), d0 + (uint64_t)i * 20 * MS);
  ck_assert_uint_eq(tick(loop, iv), d0 + 80 * MS);
  now = uv_hrtime();
  ck_assert_uint_ge(now, d0 + 80 * MS);
  uva_interval_free(iv);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(interval_missed_delay) {
  LOOP_INIT(loop);
  uva_interval_t *iv;
  uint64_t d0, d1, d2;

  ck_assert_int_eq(uva_interval_new(loop, 20, UVA_TICK_DELAY, &iv), 0);
  d0 = tick(loop, iv);
  uv_sleep(75);
  d1 = tick(loop, iv);
  ck_assert_uint_eq(d1, d0 + 20 * MS);
  d2 = tick(loop, iv); /* one period after d1 was taken, >= d0 + 75 ms */
  ck_assert_uint_ge(d2, d0 + 95 * MS);
  ck_assert_uint_ge(tick(loop, iv), d2 + 20 * MS);
  uva_interval_free(iv);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(interval_missed_skip) {
  LOOP_INIT(loop);
  uva_interval_t *iv;
  uint64_t d0, d1, d2, d3;

  ck_assert_int_eq(uva_interval_new(loop, 20, UVA_TICK_SKIP, &iv), 0);
  d0 = tick(loop, iv);
  uv_sleep(75);
  d1 = tick(loop, iv);
  ck_assert_uint_eq(d1, d0 + 20 * MS);
  d2 = tick(loop, iv); /* the next one on the grid after d1 was taken */
  ck_assert_uint_ge(d2, d0 + 80 * MS);
  ck_assert_uint_eq((d2 - d0) % (20 * MS), 0);
  d3 = tick(loop, iv); /* on the grid still (later if d2 was taken late) */
  ck_assert_uint_ge(d3, d2 + 20 * MS);
  ck_assert_uint_eq((d3 - d0) % (20 * MS), 0);
  uva_interval_free(iv);
  LOOP_CLOSE(loop);
}
END_TEST

/* A tick that is cancelled, times out, loses a select or is dropped
 * untaken loses no tick. */
START_TEST(interval_cancel_safe) {
  LOOP_INIT(loop);
  uva_interval_t *iv;
  uva_future_t *fs[2], *t;
  uva_result_t win, res[2];
  uint64_t d0;
  then_rec rec;

  /* a long period, so that each step below happens before the deadline
   * even under valgrind */
  ck_assert_int_eq(uva_interval_new(loop, 400, UVA_TICK_BURST, &iv), 0);
  d0 = tick(loop, iv);
  /* times out while waiting */
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_interval_tick(iv), 5),
                                NULL),
                   UV_ETIMEDOUT);
  /* loses a select: never started */
  fs[0] = uva_ready_u64(loop, 1);
  fs[1] = uva_interval_tick(iv);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 2, &win), NULL),
                   0);
  /* cancelled while waiting */
  t = uva_interval_tick(iv);
  memset(&rec, 0, sizeof(rec));
  ck_assert_int_eq(uva_future_then(t, record, &rec), 0);
  ck_assert_int_eq(uva_future_cancel(t), 0);
  /* completes inside a join that times out: dropped untaken */
  fs[0] = uva_interval_tick(iv);
  fs[1] = uva_sleep(loop, 5000);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_join(loop, fs, 2, res), 800), NULL),
      UV_ETIMEDOUT);
  /* the tick of d0 + 400 ms is still there, at once */
  ck_assert_uint_eq(tick(loop, iv), d0 + 400 * MS);
  ck_assert_uint_eq(tick(loop, iv), d0 + 800 * MS);
  uva_interval_free(iv);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(interval_busy_free_reset) {
  LOOP_INIT(loop);
  uva_interval_t *iv;
  then_rec a;
  uint64_t d0, before;

  memset(&a, 0, sizeof(a));
  ck_assert_int_eq(uva_interval_new(loop, 300, UVA_TICK_BURST, &iv), 0);
  d0 = tick(loop, iv);
  /* reset: the next deadline is a period from now */
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 10), NULL), 0);
  before = uv_hrtime();
  uva_interval_reset(iv);
  ck_assert_uint_ge(tick(loop, iv), before + 300 * MS);
  ck_assert_uint_gt(before, d0);
  /* one tick waits; a second is refused */
  ck_assert_int_eq(uva_future_then(uva_interval_tick(iv), record, &a), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_interval_tick(iv), NULL),
                   UV_EBUSY);
  /* freed: the waiting tick settles with UV_ECANCELED, and one not started
   * does when it starts */
  {
    uva_future_t *later = uva_interval_tick(iv);
    uva_interval_free(iv);
    ck_assert_int_eq(uva_block_on(loop, later, NULL), UV_ECANCELED);
  }
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(a.calls, 1);
  ck_assert_int_eq(a.status, UV_ECANCELED);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(interval_bad_input) {
  LOOP_INIT(loop);
  uva_interval_t *iv = (uva_interval_t *)1;

  ck_assert_int_eq(uva_interval_new(NULL, 1, UVA_TICK_BURST, &iv), UV_EINVAL);
  ck_assert_ptr_null(iv);
  ck_assert_int_eq(uva_interval_new(loop, 0, UVA_TICK_BURST, &iv), UV_EINVAL);
  ck_assert_int_eq(uva_interval_new(loop, 1, (uva_missed_tick_t)7, &iv),
                   UV_EINVAL);
  ck_assert_int_eq(uva_interval_new(loop, 1, UVA_TICK_SKIP, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_interval_tick(NULL)), UV_EINVAL);
  uva_interval_reset(NULL);
  uva_interval_free(NULL);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* In a task, as a rate limiter. */
static int ticker_body(void *arg, uva_result_t *result) {
  uva_interval_t *iv = arg;
  int i, err;
  for (i = 0; i < 4; i++)
    if ((err = uva_await(uva_interval_tick(iv), NULL)) != 0)
      return err;
  result->value.u64 = (uint64_t)i;
  return 0;
}

START_TEST(interval_in_task) {
  LOOP_INIT(loop);
  uva_interval_t *iv;
  uva_value_t v;
  uint64_t t0 = uv_hrtime();

  ck_assert_int_eq(uva_interval_new(loop, 10, UVA_TICK_DELAY, &iv), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, ticker_body, iv), &v),
                   0);
  ck_assert_uint_eq(v.u64, 4);
  ck_assert_uint_ge(uv_hrtime() - t0, 30 * MS);
  uva_interval_free(iv);
  LOOP_CLOSE(loop);
}
END_TEST

/* Ticks that keep losing selects and timing out: every tick taken is the
 * one after the previous taken tick (BURST keeps the grid), none lost,
 * none twice. */
static int tick_stress_body(void *arg, uva_result_t *result) {
  uva_interval_t *iv = arg;
  uv_loop_t *loop = uva_current_loop();
  uint64_t prev = 0;
  unsigned seed = 99;
  int taken = 0, lost = 0;

  while (taken < 60) {
    uva_future_t *fs[2];
    uva_result_t win;
    uva_value_t v;
    int err, kind;
    seed = seed * 1103515245u + 12345u;
    kind = (int)((seed >> 16) % 3);
    if (kind == 0) {
      err = uva_await(uva_interval_tick(iv), &v);
    } else if (kind == 1) {
      fs[0] = uva_sleep(loop, 0);
      fs[1] = uva_interval_tick(iv);
      err = uva_await(uva_select(loop, fs, 2, &win), &v);
      if (err == 0 && v.u64 == 0) {
        lost++;
        continue;
      }
      v = win.value;
      err = win.status;
    } else {
      err = uva_await(uva_timeout(uva_interval_tick(iv), 1), &v);
      if (err == UV_ETIMEDOUT) {
        lost++;
        continue;
      }
    }
    ck_assert_int_eq(err, 0);
    if (taken > 0)
      ck_assert_uint_eq(v.u64, prev + 2 * MS);
    prev = v.u64;
    taken++;
  }
  ck_assert_int_gt(lost, 0);
  result->value.u64 = (uint64_t)taken;
  return 0;
}

START_TEST(interval_no_tick_lost) {
  LOOP_INIT(loop);
  uva_interval_t *iv;
  uva_value_t v;

  ck_assert_int_eq(uva_interval_new(loop, 2, UVA_TICK_BURST, &iv), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn(loop, tick_stress_body, iv), &v), 0);
  ck_assert_uint_eq(v.u64, 60);
  uva_interval_free(iv);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("interval");
  TCase *tc = tcase_create("interval");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, interval_ticks_every_period);
  tcase_add_test(tc, interval_missed_burst);
  tcase_add_test(tc, interval_missed_delay);
  tcase_add_test(tc, interval_missed_skip);
  tcase_add_test(tc, interval_cancel_safe);
  tcase_add_test(tc, interval_busy_free_reset);
  tcase_add_test(tc, interval_bad_input);
  tcase_add_test(tc, interval_in_task);
  tcase_add_test(tc, interval_no_tick_lost);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
