/* Blocking work: uva_spawn_blocking on libuv's thread pool, its results,
 * errors, cancellation before and after a job starts, and freeing. */
#include "test-util.h"

#define POOL 4 /* main() sets UV_THREADPOOL_SIZE to this */

/* A gate that pool jobs wait at, so that a test knows which jobs run. */
typedef struct {
  uv_mutex_t mu;
  uv_cond_t cv;
  int started;
  int open;
} gate_t;

static void gate_init(gate_t *g) {
  ck_assert_int_eq(uv_mutex_init(&g->mu), 0);
  ck_assert_int_eq(uv_cond_init(&g->cv), 0);
  g->started = 0;
  g->open = 0;
}

static void gate_wait_started(gate_t *g, int n) {
  uv_mutex_lock(&g->mu);
  while (g->started < n)
    uv_cond_wait(&g->cv, &g->mu);
  uv_mutex_unlock(&g->mu);
}

static void gate_open(gate_t *g) {
  uv_mutex_lock(&g->mu);
  g->open = 1;
  uv_cond_broadcast(&g->cv);
  uv_mutex_unlock(&g->mu);
}

static void gate_destroy(gate_t *g) {
  uv_cond_destroy(&g->cv);
  uv_mutex_destroy(&g->mu);
}

/* Waits at the gate, then returns a string (freed by whoever holds it). */
static int gated(void *arg, uva_result_t *r) {
  gate_t *g = arg;
  uv_mutex_lock(&g->mu);
  g->started++;
  uv_cond_broadcast(&g->cv);
  while (!g->open)
    uv_cond_wait(&g->cv, &g->mu);
  uv_mutex_unlock(&g->mu);
  r->value.ptr = test_strdup("gated");
  r->free_fn = free;
  return 0;
}

/* Fills every pool thread with a gated job and waits until all run. */
static void fill_pool(uv_loop_t *loop, gate_t *g, uva_future_t **jobs) {
  for (int i = 0; i < POOL; i++)
    jobs[i] = uva_spawn_blocking(loop, gated, g);
  gate_wait_started(g, POOL);
}

/* Opens the gate and awaits the jobs, which give their strings back. */
static void drain_pool(uv_loop_t *loop, gate_t *g, uva_future_t **jobs) {
  uva_value_t v;
  gate_open(g);
  for (int i = 0; i < POOL; i++) {
    ck_assert_int_eq(uva_block_on(loop, jobs[i], &v), 0);
    ck_assert_str_eq(v.ptr, "gated");
    free(v.ptr);
  }
}

static int sum_to(void *arg, uva_result_t *r) {
  uint64_t n = (uint64_t)(uintptr_t)arg, s = 0;
  for (uint64_t i = 1; i <= n; i++)
    s += i;
  r->value.u64 = s;
  return 0;
}

START_TEST(result_value) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn_blocking(loop, sum_to, (void *)100), &v), 0);
  ck_assert_uint_eq(v.u64, 5050);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int where(void *arg, uva_result_t *r) {
  uv_thread_t *t = malloc(sizeof(*t));
  (void)arg;
  *t = uv_thread_self();
  r->value.ptr = t;
  r->free_fn = free;
  return 0;
}

START_TEST(runs_on_pool_thread) {
  LOOP_INIT(loop);
  uv_thread_t self = uv_thread_self();
  uva_value_t v;
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn_blocking(loop, where, NULL), &v), 0);
  ck_assert(!uv_thread_equal(&self, v.ptr));
  free(v.ptr);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int fails(void *arg, uva_result_t *r) {
  r->value.ptr = malloc(16); /* freed by uva: the job failed */
  r->free_fn = free;
  return (int)(intptr_t)arg;
}

START_TEST(error_status) {
  LOOP_INIT(loop);
  uva_value_t v = {.u64 = 7};
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn_blocking(loop, fails, (void *)UV_EPERM), &v),
      UV_EPERM);
  ck_assert_uint_eq(v.u64, 7); /* untouched on error */
  /* a positive return is not a status */
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn_blocking(loop, fails, (void *)5), NULL),
      UV_EINVAL);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int make_str(void *arg, uva_result_t *r) {
  (void)arg;
  r->value.ptr = test_strdup("blocking result");
  r->free_fn = free;
  return 0;
}

START_TEST(result_freed_when_not_taken) {
  LOOP_INIT(loop);
  /* detached: the result is freed when the job settles */
  uva_future_detach(uva_spawn_blocking(loop, make_str, NULL));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  /* settled, then freed without taking */
  uva_future_t *f = uva_spawn_blocking(loop, make_str, NULL);
  while (uva_future_status(f) == UVA_PENDING)
    uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(uva_future_status(f), 0);
  uva_future_free(f);
  /* awaited without a place for the value */
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn_blocking(loop, make_str, NULL), NULL), 0);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(free_while_running) {
  LOOP_INIT(loop);
  gate_t g;
  gate_init(&g);
  uva_future_t *f = uva_spawn_blocking(loop, gated, &g);
  gate_wait_started(&g, 1);
  uva_future_free(f); /* too late for uv_cancel: its result is freed later */
  gate_open(&g);
  LOOP_CLOSE(loop);
  gate_destroy(&g);
}
END_TEST

START_TEST(cancel_while_running) {
  LOOP_INIT(loop);
  gate_t g;
  gate_init(&g);
  uva_future_t *f = uva_spawn_blocking(loop, gated, &g);
  gate_wait_started(&g, 1);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  /* a running job cannot stop: the future waits for it, so that what the job
   * uses stays valid until the future settles */
  ck_assert_int_eq(uva_future_status(f), UVA_PENDING);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  gate_open(&g);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ECANCELED);
  LOOP_CLOSE_NOW(loop); /* the job has finished and its string is freed */
  gate_destroy(&g);
}
END_TEST

static int ran;
static int count_run(void *arg, uva_result_t *r) {
  (void)arg;
  (void)r;
  ran++;
  return 0;
}

START_TEST(cancel_before_start) {
  LOOP_INIT(loop);
  uva_future_t *jobs[POOL];
  gate_t g;
  gate_init(&g);
  ran = 0;
  fill_pool(loop, &g, jobs);
  /* every thread is busy: these wait in libuv's queue */
  uva_future_t *f = uva_spawn_blocking(loop, count_run, NULL);
  uva_future_t *h = uva_spawn_blocking(loop, count_run, NULL);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_future_status(f), UV_ECANCELED);
  uva_future_free(h); /* freeing cancels too */
  drain_pool(loop, &g, jobs);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ECANCELED);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(ran, 0);
  gate_destroy(&g);
}
END_TEST

static void open_gate_cb(uv_timer_t *t) {
  gate_open(t->data);
  uv_close((uv_handle_t *)t, NULL);
}

/* Opens g from the loop 100 ms from now, well after a 10 ms timeout (the
 * loop's cached time is refreshed first: it may be old). */
static void start_opener(uv_loop_t *loop, uv_timer_t *t, gate_t *g) {
  uv_timer_init(loop, t);
  t->data = g;
  uv_update_time(loop);
  uv_timer_start(t, open_gate_cb, 100, 0);
}

START_TEST(timeout_cancels) {
  LOOP_INIT(loop);
  gate_t g;
  uv_timer_t opener;
  gate_init(&g);
  uva_future_t *f = uva_timeout(uva_spawn_blocking(loop, gated, &g), 10);
  gate_wait_started(&g, 1);
  /* the job goes on after the timeout: block_on waits until it has
   * returned, so that g may go right after */
  start_opener(loop, &opener, &g);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ETIMEDOUT);
  ck_assert_int_eq(g.open, 1);
  gate_destroy(&g);
  LOOP_CLOSE(loop); /* the program's timer is closing */
}
END_TEST

START_TEST(bad_input) {
  LOOP_INIT(loop);
  ck_assert_int_eq(uva_future_status(uva_spawn_blocking(NULL, sum_to, NULL)),
                   UV_EINVAL);
  uva_future_t *f = uva_spawn_blocking(loop, NULL, NULL);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int task_body(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uva_future_t *f[8];
  uva_value_t v;
  uint64_t sum = 0;
  for (int i = 0; i < 8; i++)
    f[i] = uva_spawn_blocking(loop, sum_to, (void *)(uintptr_t)(i + 1));
  for (int i = 0; i < 8; i++) {
    ck_assert_int_eq(uva_await(f[i], &v), 0);
    sum += v.u64;
  }
  ck_assert_int_eq(
      uva_await(uva_spawn_blocking(loop, fails, (void *)UV_EIO), &v), UV_EIO);
  r->value.u64 = sum;
  return 0;
}

START_TEST(from_task) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, task_body, loop), &v), 0);
  ck_assert_uint_eq(v.u64, 1 + 3 + 6 + 10 + 15 + 21 + 28 + 36);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(with_then) {
  LOOP_INIT(loop);
  then_rec a = {0}, b = {0};
  ck_assert_int_eq(
      uva_future_then(uva_spawn_blocking(loop, make_str, NULL), record, &a), 0);
  ck_assert_int_eq(
      uva_future_then(uva_spawn_blocking(loop, fails, (void *)UV_ENOENT),
                      record, &b),
      0);
  ck_assert_int_eq(a.calls, 0); /* never inside the call */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(a.calls, 1);
  ck_assert_int_eq(a.status, 0);
  ck_assert_str_eq(a.value.ptr, "blocking result");
  free(a.value.ptr);
  ck_assert_int_eq(b.calls, 1);
  ck_assert_int_eq(b.status, UV_ENOENT);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(many_jobs_joined) {
  LOOP_INIT(loop);
  enum { N = 200 };
  uva_future_t *f[N];
  uva_result_t res[N];
  for (int i = 0; i < N; i++)
    f[i] = uva_spawn_blocking(loop, sum_to, (void *)(uintptr_t)i);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, f, N, res), NULL), 0);
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(res[i].status, 0);
    ck_assert_uint_eq(res[i].value.u64, (uint64_t)i * (i + 1) / 2);
  }
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* ---- jobs whose futures were dropped (issue 9) ---------------------------- */

/* Sleeps 100 ms, then writes to its argument: the caller must not have freed
 * it yet. */
static int slow_writer(void *arg, uva_result_t *r) {
  (void)r;
  uv_sleep(100);
  *(int *)arg = 42;
  return 0;
}

/* block_on of a timeout around a job returned UV_ETIMEDOUT while the job
 * still ran and used arg: a caller that freed arg got a use after free
 * (ASan), and uv_loop_close returned UV_EBUSY.  block_on now returns once
 * the job has returned. */
START_TEST(timed_out_job_done_when_block_on_returns) {
  LOOP_INIT(loop);
  int *arg = malloc(sizeof(*arg));
  *arg = 0;
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_spawn_blocking(loop, slow_writer, arg), 50),
                   NULL),
      UV_ETIMEDOUT);
  ck_assert_int_eq(*arg, 42); /* it has run to the end */
  free(arg);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* The same when the job loses a select to a sleep. */
START_TEST(select_loser_job_done_when_block_on_returns) {
  LOOP_INIT(loop);
  int *arg = malloc(sizeof(*arg));
  uva_future_t *kids[2];
  uva_result_t win;
  uva_value_t v;
  *arg = 0;
  kids[0] = uva_spawn_blocking(loop, slow_writer, arg);
  kids[1] = uva_sleep(loop, 20);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, kids, 2, &win), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  ck_assert_int_eq(*arg, 42);
  free(arg);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* uva_spawn_blocking_ex: arg_free(arg) exactly once, on the loop's thread,
 * once fn has returned or the job was removed before it started. */
static int arg_frees;
static uv_thread_t loop_thread;

static void arg_free(void *p) {
  uv_thread_t self = uv_thread_self();
  ck_assert(uv_thread_equal(&self, &loop_thread));
  arg_frees++;
  free(p);
}

static int count_arg(void *arg, uva_result_t *r) {
  r->value.u64 = (uint64_t)*(int *)arg;
  ran++;
  return 0;
}

/* Waits at the gate g, whose address is in arg's second slot. */
typedef struct {
  int value;
  gate_t *g;
} gated_arg_t;

static int gated_arg(void *arg, uva_result_t *r) {
  gated_arg_t *a = arg;
  uva_result_t ignored = {0};
  gated(a->g, &ignored);
  free(ignored.value.ptr);
  r->value.u64 = (uint64_t)a->value;
  return 0;
}

static gated_arg_t *new_gated_arg(gate_t *g, int value) {
  gated_arg_t *a = malloc(sizeof(*a));
  a->value = value;
  a->g = g;
  return a;
}

START_TEST(ex_arg_free_completed) {
  LOOP_INIT(loop);
  uva_value_t v;
  int *arg = malloc(sizeof(*arg));
  *arg = 7;
  arg_frees = 0;
  loop_thread = uv_thread_self();
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn_blocking_ex(loop, count_arg, arg, arg_free), &v),
      0);
  ck_assert_uint_eq(v.u64, 7);
  ck_assert_int_eq(arg_frees, 1);
  /* detached: freed when it is over */
  arg = malloc(sizeof(*arg));
  *arg = 1;
  uva_future_detach(uva_spawn_blocking_ex(loop, count_arg, arg, arg_free));
  LOOP_CLOSE(loop);
  ck_assert_int_eq(arg_frees, 2);
  /* a NULL arg_free is allowed: the caller keeps arg */
  LOOP_INIT(loop2);
  int mine = 3;
  ck_assert_int_eq(
      uva_block_on(loop2, uva_spawn_blocking_ex(loop2, count_arg, &mine, NULL), &v),
      0);
  ck_assert_uint_eq(v.u64, 3);
  LOOP_CLOSE_NOW(loop2);
}
END_TEST

START_TEST(ex_arg_free_running_cancelled) {
  LOOP_INIT(loop);
  gate_t g, g2;
  uva_future_t *f;
  uv_timer_t opener;
  gate_init(&g);
  gate_init(&g2);
  arg_frees = 0;
  loop_thread = uv_thread_self();
  /* cancelled while it runs: freed when it returns */
  f = uva_spawn_blocking_ex(loop, gated_arg, new_gated_arg(&g, 1), arg_free);
  gate_wait_started(&g, 1);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(arg_frees, 0);
  gate_open(&g);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ECANCELED);
  ck_assert_int_eq(arg_frees, 1);
  /* timed out while it runs: block_on returns once it has returned */
  f = uva_timeout(
      uva_spawn_blocking_ex(loop, gated_arg, new_gated_arg(&g2, 2), arg_free),
      10);
  gate_wait_started(&g2, 1);
  start_opener(loop, &opener, &g2);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ETIMEDOUT);
  ck_assert_int_eq(arg_frees, 2);
  LOOP_CLOSE(loop);
  gate_destroy(&g);
  gate_destroy(&g2);
}
END_TEST

START_TEST(ex_arg_free_not_started) {
  LOOP_INIT(loop);
  uva_future_t *jobs[POOL];
  gate_t g;
  gate_init(&g);
  ran = 0;
  arg_frees = 0;
  loop_thread = uv_thread_self();
  fill_pool(loop, &g, jobs);
  /* waits in libuv's queue: removed; arg_free runs from the loop */
  uva_future_t *f = uva_spawn_blocking_ex(loop, count_arg, malloc(sizeof(int)),
                                          arg_free);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_future_status(f), UV_ECANCELED);
  uva_future_free(f);
  uva_future_free(uva_spawn_blocking_ex(loop, count_arg, malloc(sizeof(int)),
                                        arg_free)); /* freeing cancels too */
  drain_pool(loop, &g, jobs);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(ran, 0);
  ck_assert_int_eq(arg_frees, 2);
  gate_destroy(&g);
}
END_TEST

/* A job that cannot start frees arg before the call returns. */
START_TEST(ex_arg_free_failed_to_start) {
  LOOP_INIT(loop);
  uva_future_t *f;
  arg_frees = 0;
  loop_thread = uv_thread_self();
  f = uva_spawn_blocking_ex(loop, NULL, malloc(1), arg_free);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  ck_assert_int_eq(arg_frees, 1);
  uva_future_free(f);
  f = uva_spawn_blocking_ex(NULL, count_arg, malloc(1), arg_free);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  ck_assert_int_eq(arg_frees, 2);
  uva_future_free(f);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* uva_loop_shutdown removes the jobs that have not started and waits for the
 * running ones. */
START_TEST(shutdown_waits_for_jobs) {
  LOOP_INIT(loop);
  uva_future_t *jobs[POOL], *queued;
  uv_timer_t opener;
  size_t left = 99;
  gate_t g;
  gate_init(&g);
  ran = 0;
  arg_frees = 0;
  loop_thread = uv_thread_self();
  fill_pool(loop, &g, jobs);
  queued = uva_spawn_blocking_ex(loop, count_arg, malloc(sizeof(int)), arg_free);
  /* the running jobs do not return before the deadline */
  ck_assert_int_eq(uva_loop_shutdown(loop, 20, &left), UV_ETIMEDOUT);
  ck_assert_uint_eq(left, POOL);
  ck_assert_int_eq(uva_future_status(queued), UV_ECANCELED);
  ck_assert_int_eq(arg_frees, 1); /* removed, and its callback has run */
  /* the gate opens while the next shutdown waits */
  uv_timer_init(loop, &opener);
  opener.data = &g;
  uv_timer_start(&opener, open_gate_cb, 20, 0);
  ck_assert_int_eq(uva_loop_shutdown(loop, 60000, &left), 0);
  ck_assert_uint_eq(left, 0);
  for (int i = 0; i < POOL; i++) {
    uva_value_t v;
    ck_assert_int_eq(uva_future_status(jobs[i]), 0); /* not cancelled */
    ck_assert_int_eq(uva_block_on(loop, jobs[i], &v), 0);
    free(v.ptr);
  }
  uva_future_free(queued);
  ck_assert_int_eq(ran, 0);
  gate_destroy(&g);
  LOOP_CLOSE(loop); /* the program's own timer is closing */
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("work");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, result_value);
  tcase_add_test(tc, runs_on_pool_thread);
  tcase_add_test(tc, error_status);
  tcase_add_test(tc, result_freed_when_not_taken);
  tcase_add_test(tc, free_while_running);
  tcase_add_test(tc, cancel_while_running);
  tcase_add_test(tc, cancel_before_start);
  tcase_add_test(tc, timeout_cancels);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, from_task);
  tcase_add_test(tc, with_then);
  tcase_add_test(tc, many_jobs_joined);
  tcase_add_test(tc, timed_out_job_done_when_block_on_returns);
  tcase_add_test(tc, select_loser_job_done_when_block_on_returns);
  tcase_add_test(tc, ex_arg_free_completed);
  tcase_add_test(tc, ex_arg_free_running_cancelled);
  tcase_add_test(tc, ex_arg_free_not_started);
  tcase_add_test(tc, ex_arg_free_failed_to_start);
  tcase_add_test(tc, shutdown_waits_for_jobs);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* Read once, when libuv first starts its pool: cancel_before_start needs
   * to know how many threads to fill. */
  setenv("UV_THREADPOOL_SIZE", "4", 1);
  return test_run_suite(suite());
}
