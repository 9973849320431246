/* Time: uva_sleep and uva_timeout. */
#include "test-util.h"


/* Loop time now, refreshed. */
static uint64_t now_ms(uv_loop_t *loop) {
  uv_update_time(loop);
  return uv_now(loop);
}

/* ---- then-callbacks that record what they saw ---------------------------- */

static int order[16];
static int order_n;
static int order_status[16];

static void rec_order(int status, uva_value_t value, void *data) {
  (void)value;
  ck_assert_int_lt(order_n, 16);
  order_status[order_n] = status;
  order[order_n++] = (int)(intptr_t)data;
}

/* ---- a user timer that settles a user future ----------------------------- */

typedef struct {
  uv_timer_t timer;
  uva_future_t *f;
  int err;       /* reject with this when < 0 */
  const char *s; /* else resolve with a copy of s (count_free) */
  int ret;       /* what the resolve returned */
  int fired;
} settler_t;

static void settler_cb(uv_timer_t *h) {
  settler_t *st = (settler_t *)h;
  st->fired++;
  if (st->err < 0)
    st->ret = uva_future_reject(st->f, st->err);
  else
    st->ret = uva_future_resolve(st->f, test_strdup(st->s), count_free);
}

static void settler_start(uv_loop_t *loop, settler_t *st, uva_future_t *f,
                          uint64_t ms) {
  st->f = f;
  st->fired = 0;
  st->ret = 1;
  ck_assert_int_eq(uv_timer_init(loop, &st->timer), 0);
  ck_assert_int_eq(uv_timer_start(&st->timer, settler_cb, ms, 0), 0);
}

/* ---- sleep -------------------------------------------------------------- */

START_TEST(sleep_settles_after_the_time) {
  LOOP_INIT(loop);
  uva_value_t v;
  uint64_t t0 = now_ms(loop);
  v.u64 = 99;
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 50), &v), 0);
  ck_assert_uint_ge(now_ms(loop) - t0, 45);
  ck_assert_uint_eq(v.u64, 0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(sleep_zero) {
  LOOP_INIT(loop);
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 0), NULL), 0);
  /* and through a then-callback */
  order_n = 0;
  ck_assert_int_eq(uva_future_then(uva_sleep(loop, 0), rec_order, (void *)7),
                   0);
  ck_assert_int_eq(order_n, 0); /* never inside the call */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(order_n, 1);
  ck_assert_int_eq(order_status[0], 0);
  ck_assert_int_eq(order[0], 7);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* Timers settle in deadline order.  A deadline counts from its own call, so
 * the durations differ by 20 ms or more: the order then does not depend on
 * how long the calls take (under valgrind, milliseconds).  Not a zero sleep:
 * it settles from the run queue, after any timer already due when the loop
 * first runs (see sleep_zero). */
START_TEST(sleeps_settle_in_deadline_order) {
  LOOP_INIT(loop);
  static const int ms[] = {160, 40, 120, 20, 80};
  static const int want[] = {20, 40, 80, 120, 160};
  int i;
  order_n = 0;
  for (i = 0; i < 5; i++)
    ck_assert_int_eq(uva_future_then(uva_sleep(loop, (uint64_t)ms[i]),
                                     rec_order, (void *)(intptr_t)ms[i]),
                     0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(order_n, 5);
  for (i = 0; i < 5; i++) {
    ck_assert_int_eq(order_status[i], 0);
    ck_assert_int_eq(order[i], want[i]);
  }
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int sleepy_task(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uint64_t t0 = now_ms(loop);
  ck_assert_int_eq(uva_await(uva_sleep(loop, 20), NULL), 0);
  ck_assert_int_eq(uva_await(uva_sleep(loop, 0), NULL), 0);
  ck_assert_int_eq(uva_await(uva_sleep(loop, 10), NULL), 0);
  r->value.u64 = now_ms(loop) - t0;
  return 0;
}

START_TEST(sleep_in_task) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, sleepy_task, loop), &v),
                   0);
  ck_assert_uint_ge(v.u64, 27);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(sleep_keeps_loop_alive) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  order_n = 0;
  ck_assert_int_eq(uva_future_then(uva_sleep(loop, 30), rec_order, (void *)1),
                   0);
  /* uv_run returns only once nothing is left: after the sleep fired */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(order_n, 1);
  ck_assert_int_eq(order_status[0], 0);
  ck_assert_uint_ge(now_ms(loop) - t0, 25);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(sleep_cancel) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  uva_future_t *s = uva_sleep(loop, 600000);
  ck_assert_int_eq(uva_future_status(s), UVA_PENDING);
  ck_assert_int_eq(uva_future_cancel(s), 0);
  ck_assert_int_eq(uva_future_status(s), UV_ECANCELED); /* leaf: at once */
  ck_assert_int_eq(uva_future_cancel(s), UV_EBUSY);
  /* block_on returns once libuv has closed the timer: nothing is left */
  ck_assert_int_eq(uva_block_on(loop, s, NULL), UV_ECANCELED);
  ck_assert_uint_lt(now_ms(loop) - t0, 30000);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(sleep_cancel_then) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  uva_future_t *s = uva_sleep(loop, 600000);
  order_n = 0;
  ck_assert_int_eq(uva_future_cancel(s), 0);
  ck_assert_int_eq(uva_future_then(s, rec_order, (void *)3), 0);
  /* the stopped timer does not keep the loop: one run closes it */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(order_n, 1);
  ck_assert_int_eq(order_status[0], UV_ECANCELED);
  ck_assert_uint_lt(now_ms(loop) - t0, 30000);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(sleep_cancel_then_free) {
  LOOP_INIT(loop);
  uva_future_t *s = uva_sleep(loop, 600000);
  ck_assert_int_eq(uva_future_cancel(s), 0);
  uva_future_free(s);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(sleep_free_pending) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  uva_future_free(uva_sleep(loop, 600000));
  uva_future_free(uva_sleep(loop, 0));
  /* freed sleeps no longer keep the loop alive */
  LOOP_CLOSE(loop);
  ck_assert_uint_lt(now_ms(loop) - t0, 30000);
}
END_TEST

START_TEST(sleep_detach) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  uva_future_detach(uva_sleep(loop, 20));
  /* a detached sleep runs on: uv_run waits for it */
  LOOP_CLOSE(loop);
  ck_assert_uint_ge(now_ms(loop) - t0, 15);
}
END_TEST

START_TEST(sleep_null_loop) {
  LOOP_INIT(loop);
  uva_future_t *s = uva_sleep(NULL, 10);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(uva_future_status(s), UV_EINVAL);
  uva_future_free(s);
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(NULL, 10), NULL), UV_EINVAL);
  order_n = 0;
  ck_assert_int_eq(uva_future_then(uva_sleep(NULL, 10), rec_order, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(order_n, 0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* The contract: block_on over a sleep leaves nothing for the caller to run. */
START_TEST(block_on_sleep_then_close) {
  uv_loop_t storage, *loop = &storage;
  ck_assert_int_eq(uv_loop_init(loop), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 10), NULL), 0);
  ck_assert_int_eq(uv_loop_close(loop), 0);
  /* the same loop again, with a timeout around a sleep, both ways */
  ck_assert_int_eq(uv_loop_init(loop), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_sleep(loop, 10), 60000), NULL), 0);
  ck_assert_int_eq(uv_loop_close(loop), 0);
  ck_assert_int_eq(uv_loop_init(loop), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_sleep(loop, 600000), 10), NULL),
      UV_ETIMEDOUT);
  ck_assert_int_eq(uv_loop_close(loop), 0);
}
END_TEST

/* ---- deadlines count from the call (issue 9) ----------------------------- */

#define MS ((uint64_t)1000000) /* uv_hrtime() units */

/* Computes for ms milliseconds without awaiting: the loop's cached time
 * (uv_now) falls that far behind. */
static void busy_ms(uint64_t ms) {
  uint64_t end = uv_hrtime() + ms * MS;
  while (uv_hrtime() < end)
    ;
}

static int busy_then_sleep(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uint64_t t0;
  busy_ms(50);
  t0 = uv_hrtime();
  ck_assert_int_eq(uva_await(uva_sleep(loop, 30), NULL), 0);
  r->value.u64 = uv_hrtime() - t0;
  return 0;
}

static int busy_then_timeout(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uva_future_t *never = uva_future_new(loop);
  uint64_t t0;
  busy_ms(50);
  t0 = uv_hrtime();
  ck_assert_int_eq(uva_await(uva_timeout(never, 30), NULL), UV_ETIMEDOUT);
  r->value.u64 = uv_hrtime() - t0;
  ck_assert_int_eq(uva_future_resolve_u64(never, 1), UV_ECANCELED);
  return 0;
}

/* A task that computed for 50 ms, then sleeps 30 ms: the sleep lasts 30 ms
 * from the call (it lasted 0-1 ms when counted from uv_now). */
START_TEST(sleep_counts_from_the_call) {
  LOOP_INIT(loop);
  uva_value_t v;
  uint64_t t0;
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn(loop, busy_then_sleep, loop), &v), 0);
  ck_assert_uint_ge(v.u64, 30 * MS);
  /* outside a task too: the loop's time is as stale after busy work */
  busy_ms(50);
  t0 = uv_hrtime();
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 30), NULL), 0);
  ck_assert_uint_ge(uv_hrtime() - t0, 30 * MS);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(timeout_counts_from_the_call) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn(loop, busy_then_timeout, loop), &v), 0);
  ck_assert_uint_ge(v.u64, 30 * MS);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* Many short sleeps never end early either (libuv counts whole
 * milliseconds: a timer may fire before uv_hrtime() has reached the
 * deadline, and is then started again for the rest). */
static int short_sleeps(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  int i;
  (void)r;
  for (i = 0; i < 50; i++) {
    uint64_t t0 = uv_hrtime();
    if (i % 3 == 0)
      busy_ms(1);
    ck_assert_int_eq(uva_await(uva_sleep(loop, 1 + i % 3), NULL), 0);
    ck_assert_uint_ge(uv_hrtime() - t0, (uint64_t)(1 + i % 3) * MS);
  }
  return 0;
}

START_TEST(short_sleeps_never_early) {
  LOOP_INIT(loop);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, short_sleeps, loop), NULL),
                   0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* ---- zero durations cannot starve libuv (issue 9) ------------------------ */

/* A spinner gives up after this long: a generous sanity bound, reached only
 * when what it waits for never runs. */
#define GIVE_UP (10 * 1000 * MS)

static volatile int own_fired, sleeper_done;

static void own_timer_cb(uv_timer_t *t) {
  own_fired = 1;
  uv_close((uv_handle_t *)t, NULL);
}

static int sleeps_20ms(void *arg, uva_result_t *r) {
  (void)r;
  ck_assert_int_eq(uva_await(uva_sleep(arg, 20), NULL), 0);
  sleeper_done = 1;
  return 0;
}

/* Loops on zero sleeps (kind 0) or zero timeouts (kind 1) until the other
 * task's sleep and the test's own timer have both fired. */
static int zero_spinner(uv_loop_t *loop, int kind, uva_result_t *r) {
  uint64_t n = 0, end = uv_hrtime() + GIVE_UP;
  while (!(own_fired && sleeper_done) && uv_hrtime() < end) {
    if (kind == 0)
      ck_assert_int_eq(uva_await(uva_sleep(loop, 0), NULL), 0);
    else
      ck_assert_int_eq(
          uva_await(uva_timeout(uva_sleep(loop, 600000), 0), NULL),
          UV_ETIMEDOUT);
    n++;
  }
  r->value.u64 = n;
  return own_fired && sleeper_done ? 0 : UV_ETIMEDOUT; /* starved them */
}

static int zero_sleep_spinner(void *arg, uva_result_t *r) {
  return zero_spinner(arg, 0, r);
}

static int zero_timeout_spinner(void *arg, uva_result_t *r) {
  return zero_spinner(arg, 1, r);
}

static void run_beside_spinner(uv_loop_t *loop, uva_task_fn spinner) {
  uv_timer_t timer;
  uva_future_t *kids[2];
  uva_result_t res[2];
  own_fired = 0;
  sleeper_done = 0;
  ck_assert_int_eq(uv_timer_init(loop, &timer), 0);
  ck_assert_int_eq(uv_timer_start(&timer, own_timer_cb, 20, 0), 0);
  kids[0] = uva_spawn(loop, spinner, loop);
  kids[1] = uva_spawn(loop, sleeps_20ms, loop);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, kids, 2, res), NULL), 0);
  ck_assert_msg(res[0].status == 0,
                "the spinner gave up: the program's timer and the other "
                "task's sleep never ran beside it");
  ck_assert_int_eq(res[1].status, 0);
  ck_assert_uint_gt(res[0].value.u64, 0);
}

/* A task looping on uva_sleep(loop, 0) let nothing else run: it resumed in
 * the timer callback and re-armed a timer due at once, which libuv ran in
 * the same iteration, for ever. */
START_TEST(zero_sleeps_starve_nothing) {
  LOOP_INIT(loop);
  run_beside_spinner(loop, zero_sleep_spinner);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(zero_timeouts_starve_nothing) {
  LOOP_INIT(loop);
  run_beside_spinner(loop, zero_timeout_spinner);
  LOOP_CLOSE(loop);
}
END_TEST

/* A zero timeout around a future that is still pending when the run queue
 * reaches it times out; one whose child settled before that has the child's
 * result. */
START_TEST(zero_timeout_results) {
  LOOP_INIT(loop);
  uva_future_t *u = uva_future_new(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(u, 0), NULL), UV_ETIMEDOUT);
  ck_assert_int_eq(uva_future_resolve_u64(u, 1), UV_ECANCELED);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_sleep(loop, 0), 0), &v), 0);
  u = uva_future_new(loop);
  uva_future_t *t = uva_timeout(u, 0);
  ck_assert_int_eq(uva_future_resolve_u64(u, 9), 0);
  ck_assert_int_eq(uva_block_on(loop, t, &v), 0);
  ck_assert_uint_eq(v.u64, 9);
  /* cancelled and freed before the queue reaches them */
  uva_future_free(uva_sleep(loop, 0));
  u = uva_future_new(loop);
  uva_future_free(uva_timeout(u, 0));
  ck_assert_int_eq(uva_future_resolve_u64(u, 1), UV_ECANCELED);
  t = uva_sleep(loop, 0);
  ck_assert_int_eq(uva_future_cancel(t), 0);
  ck_assert_int_eq(uva_block_on(loop, t, NULL), UV_ECANCELED);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- timeout: the child settles first ----------------------------------- */

START_TEST(timeout_child_first_ptr) {
  LOOP_INIT(loop);
  settler_t st = {0};
  uva_future_t *u = uva_future_new(loop);
  uva_value_t v;
  frees = 0;
  st.s = "hello";
  settler_start(loop, &st, u, 10);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(u, 60000), &v), 0);
  ck_assert_int_eq(st.fired, 1);
  ck_assert_int_eq(st.ret, 0);
  ck_assert_str_eq(v.ptr, "hello");
  ck_assert_int_eq(frees, 0); /* the value is ours */
  count_free(v.ptr);
  uv_close((uv_handle_t *)&st.timer, NULL);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(frees, 1);
}
END_TEST

START_TEST(timeout_child_first_u64_and_error) {
  LOOP_INIT(loop);
  settler_t st = {0};
  uva_future_t *u = uva_future_new(loop);
  uva_value_t v;
  /* an integer value passes through */
  uva_future_t *t = uva_timeout(u, 60000);
  ck_assert_int_eq(uva_future_resolve_u64(u, 77), 0);
  ck_assert_int_eq(uva_block_on(loop, t, &v), 0);
  ck_assert_uint_eq(v.u64, 77);
  /* an error passes through */
  u = uva_future_new(loop);
  st.err = UV_EIO;
  settler_start(loop, &st, u, 5);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(u, 60000), &v), UV_EIO);
  ck_assert_int_eq(st.ret, 0);
  /* a sleep that ends first */
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_sleep(loop, 5), 60000), &v), 0);
  uv_close((uv_handle_t *)&st.timer, NULL);
  LOOP_CLOSE(loop);
}
END_TEST

static int str_task(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  ck_assert_int_eq(uva_await(uva_sleep(loop, 5), NULL), 0);
  r->value.ptr = test_strdup("from task");
  r->free_fn = count_free;
  return 0;
}

START_TEST(timeout_task_child_first) {
  LOOP_INIT(loop);
  uva_value_t v;
  frees = 0;
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_spawn(loop, str_task, loop), 60000),
                   &v),
      0);
  ck_assert_str_eq(v.ptr, "from task");
  ck_assert_int_eq(frees, 0);
  count_free(v.ptr);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(timeout_child_value_freed_when_dropped) {
  LOOP_INIT(loop);
  uva_future_t *u = uva_future_new(loop);
  uva_future_t *t = uva_timeout(u, 60000);
  frees = 0;
  ck_assert_int_eq(uva_future_resolve(u, malloc(16), count_free), 0);
  ck_assert_int_eq(frees, 0);
  /* nobody takes the timeout's value: it is freed with its free function */
  uva_future_free(t);
  ck_assert_int_eq(frees, 1);
  /* same through detach, with the child settling later from the loop */
  settler_t st = {0};
  st.s = "x";
  u = uva_future_new(loop);
  settler_start(loop, &st, u, 5);
  uva_future_detach(uva_timeout(u, 60000));
  while (st.fired == 0)
    uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(st.ret, 0);
  uv_close((uv_handle_t *)&st.timer, NULL);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(frees, 2);
}
END_TEST

/* ---- timeout: the child is too slow ------------------------------------- */

START_TEST(timeout_user_child_slow) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  uva_future_t *u = uva_future_new(loop);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(u, 20), NULL), UV_ETIMEDOUT);
  ck_assert_uint_ge(now_ms(loop) - t0, 15);
  /* the child was cancelled: its producer learns it and its value is freed */
  frees = 0;
  ck_assert_int_eq(uva_future_resolve(u, malloc(8), count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 1);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(timeout_sleep_child_slow) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_sleep(loop, 600000), 10), NULL),
      UV_ETIMEDOUT);
  /* the sleep's timer was stopped and closed with the timeout's */
  LOOP_CLOSE_NOW(loop);
  ck_assert_uint_lt(now_ms(loop) - t0, 30000);
}
END_TEST

static int task_await_status;
static int task_finished;
static int slow_task(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  task_await_status = 1;
  task_await_status = uva_await(uva_sleep(loop, 600000), NULL);
  /* a cancelled task may still clean up asynchronously */
  ck_assert_int_eq(uva_await(uva_sleep(loop, 1), NULL), 0);
  task_finished = 1;
  r->value.ptr = malloc(4); /* freed by uva: the join future was cancelled */
  r->free_fn = count_free;
  return 0;
}

START_TEST(timeout_task_child_slow) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  task_await_status = 0;
  task_finished = 0;
  frees = 0;
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_spawn(loop, slow_task, loop), 10),
                   NULL),
      UV_ETIMEDOUT);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(task_await_status, UV_ECANCELED);
  ck_assert_int_eq(task_finished, 1);
  ck_assert_int_eq(frees, 1);
  ck_assert_uint_lt(now_ms(loop) - t0, 30000);
}
END_TEST

/* ---- timeout: special inputs -------------------------------------------- */

START_TEST(timeout_already_settled) {
  LOOP_INIT(loop);
  uva_value_t v;
  frees = 0;
  ck_assert_int_eq(
      uva_block_on(loop,
                   uva_timeout(uva_ready(loop, test_strdup("r"), count_free),
                               0),
                   &v),
      0);
  ck_assert_str_eq(v.ptr, "r");
  ck_assert_int_eq(frees, 0);
  count_free(v.ptr);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_ready_u64(loop, 5), 10), &v), 0);
  ck_assert_uint_eq(v.u64, 5);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_failed(loop, UV_ENOENT), 10), NULL),
      UV_ENOENT);
  /* a settled user future, and a failed one without a loop */
  uva_future_t *u = uva_future_new(loop);
  ck_assert_int_eq(uva_future_reject(u, UV_EPIPE), 0);
  uva_future_t *t = uva_timeout(u, 10);
  ck_assert_int_eq(uva_future_status(t), UV_EPIPE);
  ck_assert_int_eq(uva_block_on(loop, t, NULL), UV_EPIPE);
  t = uva_timeout(uva_sleep(NULL, 1), 10);
  ck_assert_int_eq(uva_future_status(t), UV_EINVAL);
  uva_future_free(t);
  /* value freed when nobody takes it */
  uva_future_free(uva_timeout(uva_ready(loop, malloc(3), count_free), 10));
  ck_assert_int_eq(frees, 2);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(timeout_null) {
  LOOP_INIT(loop);
  uva_future_t *t = uva_timeout(NULL, 10);
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(uva_future_status(t), UV_EINVAL);
  uva_future_free(t);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(NULL, 10), NULL), UV_EINVAL);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(timeout_cancel) {
  LOOP_INIT(loop);
  uva_future_t *u = uva_future_new(loop);
  uva_future_t *t = uva_timeout(u, 600000);
  ck_assert_int_eq(uva_future_status(t), UVA_PENDING);
  ck_assert_int_eq(uva_future_cancel(t), 0);
  ck_assert_int_eq(uva_future_status(t), UV_ECANCELED);
  ck_assert_int_eq(uva_future_cancel(t), UV_EBUSY);
  frees = 0;
  ck_assert_int_eq(uva_future_resolve(u, malloc(2), count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 1);
  ck_assert_int_eq(uva_block_on(loop, t, NULL), UV_ECANCELED);
  /* with a sleep child: both timers go */
  t = uva_timeout(uva_sleep(loop, 600000), 600000);
  ck_assert_int_eq(uva_future_cancel(t), 0);
  ck_assert_int_eq(uva_block_on(loop, t, NULL), UV_ECANCELED);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(timeout_cancel_task_child) {
  LOOP_INIT(loop);
  task_await_status = 0;
  task_finished = 0;
  frees = 0;
  uva_future_t *t = uva_timeout(uva_spawn(loop, slow_task, loop), 600000);
  /* let the task start and suspend in its await */
  while (task_await_status == 0)
    ck_assert_int_ne(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(uva_future_cancel(t), 0);
  ck_assert_int_eq(uva_block_on(loop, t, NULL), UV_ECANCELED);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(task_await_status, UV_ECANCELED);
  ck_assert_int_eq(task_finished, 1);
  ck_assert_int_eq(frees, 1);
}
END_TEST

START_TEST(timeout_free_pending) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  uva_future_t *u = uva_future_new(loop);
  uva_future_free(uva_timeout(u, 600000));
  frees = 0;
  ck_assert_int_eq(uva_future_resolve(u, malloc(2), count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 1);
  uva_future_free(uva_timeout(uva_sleep(loop, 600000), 600000));
  LOOP_CLOSE(loop);
  ck_assert_uint_lt(now_ms(loop) - t0, 30000);
}
END_TEST

/* A timeout awaited inside a task, both outcomes. */
static int timeout_awaiter(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  (void)r;
  ck_assert_int_eq(uva_await(uva_timeout(uva_sleep(loop, 600000), 5), NULL),
                   UV_ETIMEDOUT);
  ck_assert_int_eq(uva_await(uva_timeout(uva_sleep(loop, 5), 600000), NULL),
                   0);
  return 0;
}

START_TEST(timeout_in_task) {
  LOOP_INIT(loop);
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn(loop, timeout_awaiter, loop), NULL), 0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("time");
  TCase *tc = tcase_create("sleep");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, sleep_settles_after_the_time);
  tcase_add_test(tc, sleep_zero);
  tcase_add_test(tc, sleeps_settle_in_deadline_order);
  tcase_add_test(tc, sleep_in_task);
  tcase_add_test(tc, sleep_keeps_loop_alive);
  tcase_add_test(tc, sleep_cancel);
  tcase_add_test(tc, sleep_cancel_then);
  tcase_add_test(tc, sleep_cancel_then_free);
  tcase_add_test(tc, sleep_free_pending);
  tcase_add_test(tc, sleep_detach);
  tcase_add_test(tc, sleep_null_loop);
  tcase_add_test(tc, block_on_sleep_then_close);
  tcase_add_test(tc, sleep_counts_from_the_call);
  tcase_add_test(tc, timeout_counts_from_the_call);
  tcase_add_test(tc, short_sleeps_never_early);
  tcase_add_test(tc, zero_sleeps_starve_nothing);
  tcase_add_test(tc, zero_timeouts_starve_nothing);
  tcase_add_test(tc, zero_timeout_results);
  suite_add_tcase(s, tc);
  tc = tcase_create("timeout");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, timeout_child_first_ptr);
  tcase_add_test(tc, timeout_child_first_u64_and_error);
  tcase_add_test(tc, timeout_task_child_first);
  tcase_add_test(tc, timeout_child_value_freed_when_dropped);
  tcase_add_test(tc, timeout_user_child_slow);
  tcase_add_test(tc, timeout_sleep_child_slow);
  tcase_add_test(tc, timeout_task_child_slow);
  tcase_add_test(tc, timeout_already_settled);
  tcase_add_test(tc, timeout_null);
  tcase_add_test(tc, timeout_cancel);
  tcase_add_test(tc, timeout_cancel_task_child);
  tcase_add_test(tc, timeout_free_pending);
  tcase_add_test(tc, timeout_in_task);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
