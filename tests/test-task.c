/* Tasks: spawn, await, yield, block_on, cancellation, stacks. */
#include "test-util.h"

#include <fenv.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static uv_loop_t *tloop;

static int ret_arg(void *arg, uva_result_t *r) {
  r->value.u64 = (uint64_t)(uintptr_t)arg;
  return 0;
}

START_TEST(spawn_block_on) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, ret_arg, (void *)7), &v), 0);
  ck_assert_uint_eq(v.u64, 7);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int fail_task(void *arg, uva_result_t *r) {
  (void)arg;
  r->value.ptr = malloc(10); /* freed by uva: the task failed */
  r->free_fn = free;
  return UV_EPERM;
}

START_TEST(task_error) {
  LOOP_INIT(loop);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, fail_task, NULL), NULL), UV_EPERM);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int str_task(void *arg, uva_result_t *r) {
  (void)arg;
  r->value.ptr = test_strdup("Task 1 completed");
  r->free_fn = free;
  return 0;
}

START_TEST(result_freed_when_dropped) {
  LOOP_INIT(loop);
  /* Result nobody takes: freed with its free_fn (valgrind checks). */
  uva_future_detach(uva_spawn(loop, str_task, NULL));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int awaiter(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uva_value_t v;
  uint64_t sum = 0;
  int i;
  uva_future_t *h[10];
  for (i = 0; i < 10; i++)
    h[i] = uva_spawn(loop, ret_arg, (void *)(uintptr_t)i);
  for (i = 0; i < 10; i++) {
    ck_assert_int_eq(uva_await(h[i], &v), 0);
    sum += v.u64;
  }
  /* settled futures do not switch */
  ck_assert_int_eq(uva_await(uva_ready_u64(loop, 100), &v), 0);
  sum += v.u64;
  r->value.u64 = sum;
  return 0;
}

START_TEST(await_children) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, awaiter, loop), &v), 0);
  ck_assert_uint_eq(v.u64, 145);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(await_outside_task) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_await(uva_ready_u64(loop, 1), &v), UV_EINVAL);
  ck_assert_int_eq(uva_await(NULL, &v), UV_EINVAL);
  ck_assert_int_eq(uva_yield(), UV_EINVAL);
  ck_assert_int_eq(uva_in_task(), 0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int trace[64];
static int trace_n;

static int yielder(void *arg, uva_result_t *r) {
  int id = (int)(uintptr_t)arg, i;
  (void)r;
  ck_assert_int_eq(uva_in_task(), 1);
  for (i = 0; i < 3; i++) {
    trace[trace_n++] = id;
    ck_assert_int_eq(uva_yield(), 0);
  }
  return 0;
}

START_TEST(yield_interleaves) {
  LOOP_INIT(loop);
  trace_n = 0;
  uva_future_detach(uva_spawn(loop, yielder, (void *)1));
  uva_future_detach(uva_spawn(loop, yielder, (void *)2));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  int want[] = {1, 2, 1, 2, 1, 2};
  ck_assert_int_eq(trace_n, 6);
  for (int i = 0; i < 6; i++)
    ck_assert_int_eq(trace[i], want[i]);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static uva_future_t *never;
static int sleeper_forever(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  int *cleanup = NULL;
  (void)r;
  /* first await is cancelled */
  never = uva_future_new(loop);
  int st = uva_await(never, NULL);
  ck_assert_int_eq(st, UV_ECANCELED);
  /* a later await works: the task may clean up asynchronously */
  st = uva_await(uva_sleep(loop, 1), NULL);
  ck_assert_int_eq(st, 0);
  free(cleanup);
  return 0;
}

/* Regression: a task that yields in a loop, alone on the queue, must still let
 * libuv run (here a timer that ends the loop). */
static void flag_timer_cb(uv_timer_t *t) {
  *(int *)t->data = 1;
  uv_close((uv_handle_t *)t, NULL);
}

static uv_timer_t *spin_timer;
static int spin_until_flag(void *arg, uva_result_t *r) {
  volatile int *flag = arg;
  uint64_t n = 0;
  /* started here, not before uva_block_on: under valgrind more than 1 ms
   * passed before the task's first run, so the timer had fired already */
  uv_update_time(spin_timer->loop);
  uv_timer_start(spin_timer, flag_timer_cb, 1, 0);
  while (!*flag) {
    ck_assert_int_eq(uva_yield(), 0);
    n++;
  }
  r->value.u64 = n;
  return 0;
}

START_TEST(yield_lets_io_run) {
  LOOP_INIT(loop);
  uv_timer_t timer;
  int flag = 0;
  uva_value_t v;
  uv_timer_init(loop, &timer);
  timer.data = &flag;
  spin_timer = &timer;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, spin_until_flag, &flag), &v), 0);
  ck_assert_int_eq(flag, 1);
  ck_assert_uint_gt(v.u64, 0);
  LOOP_CLOSE(loop);
}
END_TEST

/* Issue 9: a task that polls a channel with uva_chan_try_recv and yields in
 * between never lets go of the loop; a whole-file read (a pool job whose
 * completion comes through libuv's I/O) must still complete beside it. */
typedef struct {
  uv_loop_t *loop;
  uva_chan_t *ch;
  const char *path;
} spin_ctx;

static int read_then_send(void *arg, uva_result_t *r) {
  spin_ctx *c = arg;
  uva_value_t v;
  uint64_t len;
  (void)r;
  ck_assert_int_eq(uva_await(uva_fs_read_file(c->loop, c->path), &v), 0);
  len = ((uva_buf_t *)v.ptr)->len;
  uva_buf_free(v.ptr);
  return uva_chan_try_send(c->ch, &len);
}

static int try_recv_spinner(void *arg, uva_result_t *r) {
  spin_ctx *c = arg;
  uint64_t len = 0, end = uv_hrtime() + 10000 * (uint64_t)1000000; /* sanity */
  int st;
  while ((st = uva_chan_try_recv(c->ch, &len)) == UV_EAGAIN && uv_hrtime() < end)
    ck_assert_int_eq(uva_yield(), 0);
  r->value.u64 = len;
  return st == 0 ? 0 : UV_ETIMEDOUT; /* the read never completed */
}

START_TEST(try_recv_spinner_lets_fs_run) {
  LOOP_INIT(loop);
  const char *dir = getenv("UVA_TEST_TMPDIR");
  char path[512];
  uva_future_t *kids[2];
  uva_result_t res[2];
  spin_ctx c;
  FILE *fp;
  snprintf(path, sizeof(path), "%s/task-spin-%ld.txt", dir != NULL ? dir : ".",
           (long)getpid());
  fp = fopen(path, "w");
  ck_assert_ptr_nonnull(fp);
  fputs("twelve bytes", fp);
  fclose(fp);
  c.loop = loop;
  c.path = path;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(uint64_t), 1, &c.ch), 0);
  kids[0] = uva_spawn(loop, try_recv_spinner, &c);
  kids[1] = uva_spawn(loop, read_then_send, &c);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, kids, 2, res), NULL), 0);
  ck_assert_int_eq(res[1].status, 0);
  ck_assert_msg(res[0].status == 0, "the read never completed beside the spinner");
  ck_assert_uint_eq(res[0].value.u64, 12);
  uva_chan_free(c.ch);
  remove(path);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* A task whose awaits all complete at once (here ready futures) still lets
 * the other tasks and libuv run: every UVA__COOP such awaits it yields. */
static int set_flag_task(void *arg, uva_result_t *r) {
  (void)r;
  *(int *)arg = 1;
  return 0;
}

static int busy_until_flag(void *arg, uva_result_t *r) {
  volatile int *flag = arg;
  uint64_t n = 0;
  uva_value_t v;
  while (!*flag) {
    ck_assert_int_eq(uva_await(uva_ready_u64(tloop, 1), &v), 0);
    n += v.u64;
  }
  r->value.u64 = n;
  return 0;
}

START_TEST(busy_awaits_let_others_run) {
  LOOP_INIT(loop);
  int flag = 0;
  uva_value_t v;
  uva_future_t *busy;
  tloop = loop;
  busy = uva_spawn(loop, busy_until_flag, &flag);
  uva_future_detach(uva_spawn(loop, set_flag_task, &flag));
  ck_assert_int_eq(uva_block_on(loop, busy, &v), 0);
  ck_assert_uint_gt(v.u64, 0);
  /* and libuv: a timer ends the busy task */
  flag = 0;
  {
    uv_timer_t timer;
    uv_timer_init(loop, &timer);
    timer.data = &flag;
    uv_timer_start(&timer, flag_timer_cb, 1, 0);
    ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, busy_until_flag, &flag), &v), 0);
  }
  LOOP_CLOSE(loop);
}
END_TEST

/* Tasks share the loop thread's floating-point environment: a task sees the
 * rounding mode the program set, also after a switch. */
static int round_task(void *arg, uva_result_t *r) {
  (void)arg;
  r->value.u64 = (uint64_t)fegetround();
  ck_assert_int_eq(uva_yield(), 0);
  ck_assert_int_eq(fegetround(), (int)r->value.u64);
  return 0;
}

START_TEST(tasks_share_fp_env) {
  LOOP_INIT(loop);
  uva_value_t v;
  int saved = fegetround();
  ck_assert_int_eq(fesetround(FE_DOWNWARD), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, round_task, NULL), &v), 0);
  fesetround(saved);
  ck_assert_int_eq((int)v.u64, FE_DOWNWARD);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(cancel_suspended_task) {
  LOOP_INIT(loop);
  tloop = loop;
  uva_future_t *h = uva_spawn(loop, sleeper_forever, loop);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0); /* runs until the await */
  ck_assert_int_eq(uva_future_status(h), UVA_PENDING);
  ck_assert_int_eq(uva_future_cancel(h), 0);
  ck_assert_int_eq(uva_future_status(h), UVA_PENDING); /* settles on return */
  ck_assert_int_eq(uva_block_on(loop, h, NULL), UV_ECANCELED);
  /* its producer still settles it, and learns it was cancelled */
  ck_assert_int_eq(uva_future_resolve_u64(never, 1), UV_ECANCELED);
  LOOP_CLOSE(loop);
}
END_TEST

static int never_runs(void *arg, uva_result_t *r) {
  (void)arg;
  (void)r;
  ck_abort_msg("cancelled before it started");
  return 0;
}

START_TEST(cancel_before_start) {
  LOOP_INIT(loop);
  uva_future_t *h = uva_spawn(loop, never_runs, NULL);
  ck_assert_int_eq(uva_future_cancel(h), 0);
  ck_assert_int_eq(uva_block_on(loop, h, NULL), UV_ECANCELED);
  /* freeing an unstarted task cancels it too */
  uva_future_free(uva_spawn(loop, never_runs, NULL));
  LOOP_CLOSE(loop);
}
END_TEST

static int self_cancel(void *arg, uva_result_t *r) {
  uva_future_t **self = arg;
  (void)r;
  ck_assert_int_eq(uva_future_cancel(*self), 0);
  ck_assert_int_eq(uva_yield(), UV_ECANCELED); /* next await-point */
  ck_assert_int_eq(uva_yield(), 0);           /* once */
  return 0;
}

START_TEST(cancel_running_task) {
  LOOP_INIT(loop);
  uva_future_t *h = uva_spawn(loop, self_cancel, &h);
  ck_assert_int_eq(uva_block_on(loop, h, NULL), UV_ECANCELED);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* Found by the model test (seed 1046): a task whose awaited receive had
 * already taken a message when its join future was cancelled (before the
 * task ran again) got UV_ECANCELED from that await, and the message was
 * lost.  The result stands; the cancel is seen at the next await point. */
static int recv_then_yield(void *arg, uva_result_t *r) {
  uva_chan_t *ch = arg;
  int v = 0;
  ck_assert_int_eq(uva_await(uva_chan_recv(ch, &v), NULL), 0);
  ck_assert_int_eq(v, 7);
  ck_assert_int_eq(uva_yield(), UV_ECANCELED);
  r->value.u64 = (uint64_t)v;
  return 0;
}

START_TEST(cancel_after_settle_keeps_result) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  int v = 7;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  uva_future_t *h = uva_spawn(loop, recv_then_yield, ch);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1); /* waits on the recv */
  ck_assert_int_eq(uva_chan_try_send(ch, &v), 0);  /* the recv settles */
  ck_assert_int_eq(uva_future_cancel(h), 0);        /* before the task runs */
  ck_assert_int_eq(uva_block_on(loop, h, NULL), UV_ECANCELED);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), UV_EAGAIN); /* not left behind */
  uva_chan_free(ch);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(spawn_bad_input) {
  LOOP_INIT(loop);
  uva_spawn_opts_t o = {1024};
  ck_assert_int_eq(uva_future_status(uva_spawn(NULL, ret_arg, NULL)), UV_EINVAL);
  uva_future_t *f = uva_spawn(loop, NULL, NULL);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  f = uva_spawn_ex(loop, ret_arg, NULL, &o);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  ck_assert_int_eq(uva_block_on(NULL, uva_ready_u64(loop, 1), NULL), UV_EINVAL);
  ck_assert_int_eq(uva_block_on(loop, NULL, NULL), UV_EINVAL);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int deep(int n) {
  volatile char buf[512];
  buf[0] = (char)n;
  return n == 0 ? buf[0] : deep(n - 1) + buf[0];
}

static int big_stack_task(void *arg, uva_result_t *r) {
  (void)arg;
  r->value.i64 = deep(1500); /* ~750 KiB of stack */
  return 0;
}

START_TEST(custom_stack_size) {
  LOOP_INIT(loop);
  uva_spawn_opts_t o = {4 * 1024 * 1024};
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn_ex(loop, big_stack_task, NULL, &o), &v), 0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int block_on_inside(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  (void)r;
  return uva_block_on(loop, uva_ready_u64(loop, 1), NULL);
}

START_TEST(block_on_in_task) {
  LOOP_INIT(loop);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, block_on_inside, loop), NULL), UV_EBUSY);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(block_on_deadlock) {
  LOOP_INIT(loop);
  uva_future_t *f = uva_future_new(loop);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_EAGAIN);
  ck_assert_int_eq(uva_future_resolve_u64(f, 1), UV_ECANCELED);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int started;
static uva_future_t *orphan;
static int orphan_cleaned;
static int awaits_orphan(void *arg, uva_result_t *r) {
  (void)arg;
  (void)r;
  ck_assert_int_eq(uva_await(orphan, NULL), UV_ECANCELED);
  orphan_cleaned = 1; /* the task got to clean up before block_on returned */
  return 0;
}

/* Found in review: block_on gave up on a task without letting it run its
 * cancellation, leaving it queued and the loop busy. */
START_TEST(block_on_deadlock_task) {
  LOOP_INIT(loop);
  orphan_cleaned = 0;
  orphan = uva_future_new(loop);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, awaits_orphan, NULL), NULL), UV_EAGAIN);
  ck_assert_int_eq(orphan_cleaned, 1);
  ck_assert_int_eq(uva_future_resolve_u64(orphan, 1), UV_ECANCELED);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int waits_on_sleep(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  (void)r;
  started++;
  return uva_await(uva_sleep(loop, 600000), NULL);
}

START_TEST(many_suspended_tasks) {
  LOOP_INIT(loop);
  /* valgrind cannot track 100,000 stack mappings */
  int MANY = getenv("UVA_TEST_SMALL") != NULL ? 2000 : 100000;
  uva_future_t **h = malloc(sizeof(*h) * MANY);
  int i;
  for (i = 0; i < MANY; i++)
    h[i] = uva_spawn(loop, waits_on_sleep, loop);
  started = 0;
  while (started < MANY)
    ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  /* every task is suspended on its sleep now; cancel them all */
  for (i = 0; i < MANY; i++)
    ck_assert_int_eq(uva_future_status(h[i]), UVA_PENDING);
  for (i = 0; i < MANY; i++)
    uva_future_free(h[i]);
  free(h);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- uva_loop_shutdown (issue 9) ---------------------------------------- */

static int cleaned_up;

/* Sleeps ms; when cancelled, cleans up with an await of a 5 ms sleep. */
static int sleep_then_clean_up(void *arg, uva_result_t *r) {
  uint64_t ms = (uint64_t)(uintptr_t)arg;
  int st = uva_await(uva_sleep(tloop, ms), NULL);
  if (st == UV_ECANCELED) {
    ck_assert_int_eq(uva_await(uva_sleep(tloop, 5), NULL), 0);
    cleaned_up++;
  }
  r->value.u64 = ms;
  return st;
}

/* After block_on of a select of tasks, the cancelled losers were still
 * cleaning up and uv_loop_close returned UV_EBUSY, with no call to finish
 * them. */
START_TEST(shutdown_after_select) {
  LOOP_INIT(loop);
  uva_future_t *kids[3];
  uva_result_t win;
  uva_value_t v;
  size_t left = 99;
  tloop = loop;
  cleaned_up = 0;
  kids[0] = uva_spawn(loop, sleep_then_clean_up, (void *)600000);
  kids[1] = uva_spawn(loop, sleep_then_clean_up, (void *)5);
  kids[2] = uva_spawn(loop, sleep_then_clean_up, (void *)600000);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, kids, 3, &win), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  ck_assert_int_eq(win.status, 0);
  ck_assert_int_eq(cleaned_up, 0);
  ck_assert_int_eq(uv_loop_close(loop), UV_EBUSY); /* the losers' clean-up */
  ck_assert_int_eq(uva_loop_shutdown(loop, 60000, &left), 0);
  ck_assert_uint_eq(left, 0);
  ck_assert_int_eq(cleaned_up, 2);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static volatile int stubborn_stop;
static int stubborn_rounds;

/* Ignores cancellation: goes on awaiting sleeps until told to stop. */
static int stubborn(void *arg, uva_result_t *r) {
  int st;
  (void)arg;
  (void)r;
  while (!stubborn_stop) {
    st = uva_await(uva_sleep(tloop, 5), NULL);
    ck_assert(st == 0 || st == UV_ECANCELED);
    stubborn_rounds++;
  }
  return 0;
}

START_TEST(shutdown_times_out) {
  LOOP_INIT(loop);
  uva_future_t *h;
  size_t left = 0;
  uint64_t t0;
  tloop = loop;
  stubborn_stop = 0;
  stubborn_rounds = 0;
  h = uva_spawn(loop, stubborn, NULL);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1); /* started, sleeping */
  t0 = uv_hrtime();
  ck_assert_int_eq(uva_loop_shutdown(loop, 50, &left), UV_ETIMEDOUT);
  ck_assert_uint_ge(uv_hrtime() - t0, 50 * 1000000ull);
  ck_assert_uint_eq(left, 1);
  ck_assert_int_gt(stubborn_rounds, 0);  /* it ran, and was left suspended */
  ck_assert_int_eq(uva_future_status(h), UVA_PENDING);
  ck_assert_int_ne(uv_loop_close(loop), 0); /* its sleep is still pending */
  /* a later call finishes it once it gives up */
  stubborn_stop = 1;
  ck_assert_int_eq(uva_loop_shutdown(loop, 60000, &left), 0);
  ck_assert_uint_eq(left, 0);
  ck_assert_int_eq(uva_future_status(h), UV_ECANCELED);
  uva_future_free(h);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int spawns_in_clean_up(void *arg, uva_result_t *r) {
  uva_future_t *child;
  (void)arg;
  (void)r;
  ck_assert_int_eq(uva_await(uva_future_new(tloop), NULL), UV_ECANCELED);
  /* a task spawned during the shutdown is born cancelled */
  child = uva_spawn(tloop, never_runs, NULL);
  ck_assert_int_eq(uva_await(child, NULL), UV_ECANCELED);
  return 0;
}

/* Tasks that have not started never run; tasks spawned meanwhile neither. */
START_TEST(shutdown_unstarted_tasks) {
  LOOP_INIT(loop);
  uva_future_t *held, *parent;
  size_t left = 99;
  tloop = loop;
  held = uva_spawn(loop, never_runs, NULL);
  uva_future_detach(uva_spawn(loop, never_runs, NULL));
  uva_future_detach(uva_spawn_ex(loop, never_runs, NULL, &(uva_spawn_opts_t){UVA_STACK_MIN}));
  ck_assert_int_eq(uva_loop_shutdown(loop, 60000, &left), 0);
  ck_assert_uint_eq(left, 0);
  ck_assert_int_eq(uva_future_status(held), UV_ECANCELED);
  uva_future_free(held);
  /* started and waiting for a future nobody settles; its clean-up spawns */
  parent = uva_spawn(loop, spawns_in_clean_up, NULL);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0); /* it waits */
  ck_assert_int_eq(uva_future_status(parent), UVA_PENDING);
  ck_assert_int_eq(uva_loop_shutdown(loop, 60000, NULL), 0);
  ck_assert_int_eq(uva_future_status(parent), UV_ECANCELED);
  uva_future_free(parent);
  /* afterwards, tasks run again */
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, ret_arg, (void *)5), NULL), 0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static void shutdown_in_cb(int status, uva_value_t v, void *data) {
  uv_loop_t *loop = data;
  (void)status;
  (void)v;
  ck_assert_int_eq(uva_loop_shutdown(loop, 0, NULL), UV_EBUSY);
}

static int shutdown_inside(void *arg, uva_result_t *r) {
  (void)r;
  return uva_loop_shutdown(arg, 0, NULL);
}

START_TEST(shutdown_nothing_and_misuse) {
  LOOP_INIT(loop);
  size_t left = 99;
  /* uva has nothing on the loop */
  ck_assert_int_eq(uva_loop_shutdown(loop, 0, &left), 0);
  ck_assert_uint_eq(left, 0);
  ck_assert_int_eq(uva_loop_shutdown(NULL, 0, &left), UV_EINVAL);
  /* after work that has finished */
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 1), NULL), 0);
  ck_assert_int_eq(uva_loop_shutdown(loop, 1000, NULL), 0);
  /* inside a task or a uva callback: uv_run is not reentrant */
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, shutdown_inside, loop), NULL),
                   UV_EBUSY);
  ck_assert_int_eq(uva_future_then(uva_ready_u64(loop, 1), shutdown_in_cb, loop), 0);
  ck_assert_int_eq(uva_loop_shutdown(loop, 60000, NULL), 0); /* runs it */
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static uint64_t pp_count;
static int pinger(void *arg, uva_result_t *r) {
  uva_future_t **slot = arg;
  (void)r;
  /* two tasks hand a user future back and forth through globals */
  for (int i = 0; i < 1000; i++) {
    pp_count++;
    ck_assert_int_eq(uva_yield(), 0);
  }
  (void)slot;
  return 0;
}

START_TEST(switch_many_times) {
  LOOP_INIT(loop);
  pp_count = 0;
  uva_future_t *fs[2] = {uva_spawn(loop, pinger, NULL), uva_spawn(loop, pinger, NULL)};
  ck_assert_int_eq(uva_block_on(loop, fs[0], NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, fs[1], NULL), 0);
  ck_assert_uint_eq(pp_count, 2000);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int overflow_task(void *arg, uva_result_t *r) {
  (void)arg;
  r->value.i64 = deep(100000); /* far past a 16 KiB stack */
  return 0;
}

/* In a child process: a task overflows its stack; uva must say so on stderr
 * and abort, instead of corrupting memory. */
START_TEST(stack_overflow_reported) {
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    uv_loop_t loop;
    uva_spawn_opts_t o = {UVA_STACK_MIN};
    dup2(fds[1], 2);
    uv_loop_init(&loop);
    uva_block_on(&loop, uva_spawn_ex(&loop, overflow_task, NULL, &o), NULL);
    _exit(0); /* not reached */
  }
  close(fds[1]);
  char buf[4096];
  size_t n = 0;
  ssize_t r;
  while (n < sizeof(buf) - 1 && (r = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0)
    n += (size_t)r;
  buf[n] = 0;
  close(fds[0]);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "child survived");
  /* uva's message, or ASan's own report in an ASan build */
  ck_assert_msg(strstr(buf, "uva: task stack overflow") != NULL ||
                    strstr(buf, "stack-overflow") != NULL ||
                    strstr(buf, "SEGV") != NULL,
                "unexpected report: %s", buf);
  if (getenv("UVA_TEST_MODE") == NULL || strcmp(getenv("UVA_TEST_MODE"), "asan") != 0) {
    ck_assert_msg(strstr(buf, "uva: task stack overflow") != NULL, "got: %s", buf);
    /* it names the stack's size and the remedy */
    ck_assert_msg(strstr(buf, "16384-byte stack (guard page hit)") != NULL, "got: %s", buf);
    ck_assert_msg(strstr(buf, "uva_spawn_ex (stack_size)") != NULL, "got: %s", buf);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  }
}
END_TEST

/* ---- an overflow leaves the other tasks' stacks alone ------------------- */

#define NEIGHBOURS 4
#define PATTERN_LEN 2048
#define BIG_PATTERN_LEN (192 * 1024) /* most of a default stack */
static volatile unsigned char *nb_data[NEIGHBOURS];
static size_t nb_len = PATTERN_LEN;
static int nb_ready;

/* Keeps a known pattern on its stack and waits forever. */
static int neighbour(void *arg, uva_result_t *r) {
  int id = (int)(intptr_t)arg;
  volatile unsigned char data[PATTERN_LEN];
  (void)r;
  for (int i = 0; i < PATTERN_LEN; i++)
    data[i] = (unsigned char)(id * 37 + i);
  nb_data[id] = data;
  nb_ready++;
  return uva_await(uva_future_new(tloop), NULL); /* never settled */
}

/* As neighbour, with a pattern over most of a default-size stack. */
static int big_neighbour(void *arg, uva_result_t *r) {
  int id = (int)(intptr_t)arg;
  volatile unsigned char data[BIG_PATTERN_LEN];
  (void)r;
  for (int i = 0; i < BIG_PATTERN_LEN; i++)
    data[i] = (unsigned char)(id * 37 + i);
  nb_data[id] = data;
  nb_ready++;
  return uva_await(uva_future_new(tloop), NULL); /* never settled */
}

/* uva aborts: before the process dies, look at the neighbours' stacks. */
static void check_neighbours(int sig) {
  int bad = 0;
  (void)sig;
  for (int id = 0; id < NEIGHBOURS; id++)
    for (size_t i = 0; i < nb_len; i++)
      if (nb_data[id] == NULL || nb_data[id][i] != (unsigned char)(id * 37 + i))
        bad = 1;
  const char *m = bad ? "test: a neighbour's stack was corrupted\n"
                      : "test: neighbours intact\n";
  ssize_t w = write(2, m, strlen(m));
  (void)w;
  signal(SIGABRT, SIG_DFL);
  raise(SIGABRT);
}

/* Once every neighbour waits (those spawned after it got their stacks after
 * its own), runs past the end of its UVA_STACK_MIN stack by about 1 KiB in
 * one frame (every byte written), comes back, and switches: with a guard
 * page it faults at once; on a canary-only stack it is caught at the
 * switch. */
static int overflow_a_little(void *arg, uva_result_t *r) {
  size_t n = UVA_STACK_MIN + 1024;
  (void)arg;
  (void)r;
  while (nb_ready < NEIGHBOURS)
    ck_assert_int_eq(uva_yield(), 0);
  volatile char *big = __builtin_alloca(n);
  memset((char *)big, 0x5a, n);
  __asm__ volatile("" : : "r"(big) : "memory"); /* the stores must happen */
  return uva_yield();
}

/* A frame of 400 KiB on a default (256 KiB) stack that writes only its
 * first 4 KiB, its low end: without -fstack-clash-protection nothing touches
 * the pages in between, so it skips a guard page and wrote into the stack
 * mapped below.  Then it comes back and switches. */
#define BIG_FRAME (400 * 1024)
static int overflow_big_frame(void *arg, uva_result_t *r) {
  (void)arg;
  (void)r;
  while (nb_ready < NEIGHBOURS)
    ck_assert_int_eq(uva_yield(), 0);
  volatile char *big = __builtin_alloca(BIG_FRAME);
  memset((char *)big, 0x5a, 4096);
  __asm__ volatile("" : : "r"(big) : "memory"); /* the stores must happen */
  return uva_yield();
}

/* In a child: neighbours on either side of an overflowing task (stacks are
 * mapped in the order tasks start).  big: default-size stacks, neighbours
 * with a pattern over most of theirs, and overflow_big_frame; else
 * UVA_STACK_MIN and overflow_a_little.  Returns the child's stderr and
 * status. */
static void run_overflow_child(int canary_only, int big, char *buf, size_t cap,
                               int *status) {
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    uv_loop_t loop;
    uva_spawn_opts_t o = {UVA_STACK_MIN};
    dup2(fds[1], 2);
    uv_loop_init(&loop);
    tloop = &loop;
    if (canary_only) {
      /* use up the process's guarded stacks: later ones have a canary only */
      started = 0;
      for (int i = 0; i < 16384; i++)
        uva_future_detach(uva_spawn_ex(&loop, waits_on_sleep, &loop, &o));
      while (started < 16384)
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    signal(SIGABRT, check_neighbours);
    nb_ready = 0;
    nb_len = big ? BIG_PATTERN_LEN : PATTERN_LEN;
    uva_task_fn nb = big ? big_neighbour : neighbour;
    if (big)
      o.stack_size = 0; /* the default */
    for (int id = 0; id < NEIGHBOURS / 2; id++)
      uva_future_detach(uva_spawn_ex(&loop, nb, (void *)(intptr_t)id, &o));
    uva_future_t *h = uva_spawn_ex(
        &loop, big ? overflow_big_frame : overflow_a_little, NULL, &o);
    for (int id = NEIGHBOURS / 2; id < NEIGHBOURS; id++)
      uva_future_detach(uva_spawn_ex(&loop, nb, (void *)(intptr_t)id, &o));
    uva_block_on(&loop, h, NULL);
    _exit(0); /* not reached */
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t r;
  while (n < cap - 1 && (r = read(fds[0], buf + n, cap - 1 - n)) > 0)
    n += (size_t)r;
  buf[n] = 0;
  close(fds[0]);
  ck_assert_int_eq(waitpid(pid, status, 0), pid);
}

static int uva_reports_overflows(void) {
  /* ASan reports them itself (uva installs no handler there) */
  const char *m = getenv("UVA_TEST_MODE");
  return m == NULL || strcmp(m, "asan") != 0;
}

START_TEST(stack_overflow_spares_neighbours_guarded) {
  char buf[4096];
  int status;
  if (!uva_reports_overflows())
    return;
  run_overflow_child(0, 0, buf, sizeof(buf), &status);
  ck_assert_msg(WIFSIGNALED(status), "status %d", status);
  ck_assert_msg(WTERMSIG(status) == SIGABRT, "signal %d: %s", WTERMSIG(status), buf);
  ck_assert_msg(strstr(buf, "16384-byte stack (guard page hit)") != NULL, "got: %s", buf);
  ck_assert_msg(strstr(buf, "test: neighbours intact") != NULL, "got: %s", buf);
  ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}
END_TEST

/* Past the process's guarded stacks: the overflow lands in the stack's own
 * red zone and is reported at the task's next switch, before any other task
 * runs. */
START_TEST(stack_overflow_spares_neighbours_canary) {
  char buf[4096];
  int status;
  if (!uva_reports_overflows() || getenv("UVA_TEST_SMALL") != NULL)
    return; /* valgrind: 16,384 stacks are too many to track */
  run_overflow_child(1, 0, buf, sizeof(buf), &status);
  ck_assert_msg(WIFSIGNALED(status), "status %d", status);
  ck_assert_msg(WTERMSIG(status) == SIGABRT, "signal %d: %s", WTERMSIG(status), buf);
  ck_assert_msg(strstr(buf, "16384-byte stack (canary overwritten, found at a switch)") != NULL,
                "got: %s", buf);
  ck_assert_msg(strstr(buf, "uva_spawn_ex (stack_size)") != NULL, "got: %s", buf);
  ck_assert_msg(strstr(buf, "test: neighbours intact") != NULL, "got: %s", buf);
  ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}
END_TEST

/* Issue 9: a 400 KiB frame on a 256 KiB stack skipped the guard page and
 * silently wrote into the next task's stack.  The guard region below each
 * stack is 1 MiB: it faults there, is reported, and the neighbours are
 * intact. */
START_TEST(stack_overflow_big_frame_guarded) {
  char buf[4096];
  int status;
  if (!uva_reports_overflows())
    return;
  run_overflow_child(0, 1, buf, sizeof(buf), &status);
  ck_assert_msg(WIFSIGNALED(status), "child survived (status %d): %s", status, buf);
  ck_assert_msg(WTERMSIG(status) == SIGABRT, "signal %d: %s", WTERMSIG(status), buf);
  ck_assert_msg(strstr(buf, "262144-byte stack (guard page hit)") != NULL, "got: %s", buf);
  ck_assert_msg(strstr(buf, "test: neighbours intact") != NULL, "got: %s", buf);
}
END_TEST

/* The same past the process's guarded stacks: the frame skips the canary
 * and writes into the stack's own red zone, which is checked when the stack
 * is released. */
START_TEST(stack_overflow_big_frame_canary) {
  char buf[4096];
  int status;
  if (!uva_reports_overflows() || getenv("UVA_TEST_SMALL") != NULL)
    return; /* valgrind: 16,384 stacks are too many to track */
  run_overflow_child(1, 1, buf, sizeof(buf), &status);
  ck_assert_msg(WIFSIGNALED(status), "child survived (status %d): %s", status, buf);
  ck_assert_msg(WTERMSIG(status) == SIGABRT, "signal %d: %s", WTERMSIG(status), buf);
  ck_assert_msg(strstr(buf, "262144-byte stack (red zone written") != NULL, "got: %s", buf);
  ck_assert_msg(strstr(buf, "test: neighbours intact") != NULL, "got: %s", buf);
}
END_TEST

/* Issue 9: uva's 64 KiB alternate signal stack was mapped right below the
 * first task stack of a thread, so a frame of ~300 KiB on that stack wrote
 * into it without a fault.  Both have guard regions now: reported. */
#define SIGSTACK_FRAME (300 * 1024)
static int first_stack_big_frame(void *arg, uva_result_t *r) {
  (void)arg;
  (void)r;
  volatile char *big = __builtin_alloca(SIGSTACK_FRAME);
  memset((char *)big, 0x5a, 4096);
  __asm__ volatile("" : : "r"(big) : "memory");
  return uva_yield();
}

START_TEST(stack_overflow_into_signal_stack) {
  int fds[2];
  char buf[4096];
  int status;
  if (!uva_reports_overflows())
    return;
  ck_assert_int_eq(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    /* the first task stack of a fresh process (with CK_FORK; without it
     * the layout differs, and the overflow must be reported all the same) */
    uv_loop_t loop;
    dup2(fds[1], 2);
    uv_loop_init(&loop);
    uva_block_on(&loop, uva_spawn(&loop, first_stack_big_frame, NULL), NULL);
    _exit(0); /* not reached */
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t rd;
  while (n < sizeof(buf) - 1 && (rd = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0)
    n += (size_t)rd;
  buf[n] = 0;
  close(fds[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFSIGNALED(status), "child survived (status %d): %s", status, buf);
  ck_assert_msg(WTERMSIG(status) == SIGABRT, "signal %d: %s", WTERMSIG(status), buf);
  ck_assert_msg(strstr(buf, "uva: task stack overflow") != NULL, "got: %s", buf);
}
END_TEST

/* Issue 9: in an ASan build, a task with a 1 TiB stack unpoisoned 128 GiB of
 * shadow memory and exhausted memory.  Its stack is address space only, in
 * every build (a system that will not map it gives UV_ENOMEM). */
static int touch_a_little(void *arg, uva_result_t *r) {
  volatile char buf[8192];
  (void)arg;
  buf[0] = 1;
  buf[sizeof(buf) - 1] = 2;
  r->value.u64 = (uint64_t)(buf[0] + buf[sizeof(buf) - 1]);
  return 0;
}

START_TEST(huge_stack_costs_no_memory) {
  LOOP_INIT(loop);
  uva_spawn_opts_t o = {(size_t)1 << 40};
  struct rusage before, after;
  uva_value_t v;
  int st;
  ck_assert_int_eq(getrusage(RUSAGE_SELF, &before), 0);
  st = uva_block_on(loop, uva_spawn_ex(loop, touch_a_little, NULL, &o), &v);
  ck_assert_int_eq(getrusage(RUSAGE_SELF, &after), 0);
  if (!uva_reports_overflows()) /* ASan: the mapping works there */
    ck_assert_int_eq(st, 0);
  ck_assert_msg(st == 0 || st == UV_ENOMEM, "%s", uv_err_name(st));
  if (st == 0)
    ck_assert_uint_eq(v.u64, 3);
  /* peak memory grew by less than 256 MiB (ru_maxrss is in KiB) */
  ck_assert_int_lt(after.ru_maxrss - before.ru_maxrss, 256 * 1024);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("task");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, spawn_block_on);
  tcase_add_test(tc, task_error);
  tcase_add_test(tc, result_freed_when_dropped);
  tcase_add_test(tc, await_children);
  tcase_add_test(tc, await_outside_task);
  tcase_add_test(tc, yield_interleaves);
  tcase_add_test(tc, yield_lets_io_run);
  tcase_add_test(tc, tasks_share_fp_env);
  tcase_add_test(tc, busy_awaits_let_others_run);
  tcase_add_test(tc, try_recv_spinner_lets_fs_run);
  tcase_add_test(tc, cancel_suspended_task);
  tcase_add_test(tc, cancel_before_start);
  tcase_add_test(tc, cancel_running_task);
  tcase_add_test(tc, cancel_after_settle_keeps_result);
  tcase_add_test(tc, spawn_bad_input);
  tcase_add_test(tc, custom_stack_size);
  tcase_add_test(tc, block_on_in_task);
  tcase_add_test(tc, block_on_deadlock);
  tcase_add_test(tc, block_on_deadlock_task);
  tcase_add_test(tc, many_suspended_tasks);
  tcase_add_test(tc, switch_many_times);
  tcase_add_test(tc, shutdown_after_select);
  tcase_add_test(tc, shutdown_times_out);
  tcase_add_test(tc, shutdown_unstarted_tasks);
  tcase_add_test(tc, shutdown_nothing_and_misuse);
  tcase_add_test(tc, stack_overflow_reported);
  tcase_add_test(tc, stack_overflow_spares_neighbours_guarded);
  tcase_add_test(tc, stack_overflow_spares_neighbours_canary);
  tcase_add_test(tc, stack_overflow_big_frame_guarded);
  tcase_add_test(tc, stack_overflow_big_frame_canary);
  tcase_add_test(tc, stack_overflow_into_signal_stack);
  tcase_add_test(tc, huge_stack_costs_no_memory);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
