/* uva_loop_stats and uva_loop_dump (include/uva/stats.h): counts follow
 * tasks, futures, channels and stacks as they come and go; the dump names
 * each task's body, spawn site, what it awaits and its backtrace; bad input
 * gets a clear error.  This executable exports its symbols (ENABLE_EXPORTS)
 * so that dladdr can name the functions below. */
#define _GNU_SOURCE /* open_memstream */
#include "test-util.h"

#include <stdio.h>

#if !(defined(__x86_64__) || defined(__aarch64__)) ||                         \
    defined(UVA_CONTEXT_UCONTEXT)
#define NO_BACKTRACE 1 /* the dump says "not available on this platform" */
#endif

/* Non-static so that dladdr finds them (exported with -rdynamic). */
int stats_recv_body(void *arg, uva_result_t *result);
int stats_sleep_body(void *arg, uva_result_t *result);
int stats_self_body(void *arg, uva_result_t *result);
uva_future_t *stats_spawn_site(uv_loop_t *loop, uva_task_fn fn, void *arg);

__attribute__((noinline)) int stats_recv_body(void *arg, uva_result_t *result) {
  int v = 0, err;
  (void)result;
  err = uva_await(uva_chan_recv(arg, &v), NULL);
  __asm__ volatile("" ::: "memory"); /* keeps the frame: not a tail call */
  return err;
}

__attribute__((noinline)) int stats_sleep_body(void *arg,
                                               uva_result_t *result) {
  int err;
  (void)result;
  err = uva_await(uva_sleep(arg, 600000), NULL);
  __asm__ volatile("" ::: "memory");
  return err == UV_ECANCELED ? 0 : -1;
}

__attribute__((noinline)) uva_future_t *
stats_spawn_site(uv_loop_t *loop, uva_task_fn fn, void *arg) {
  uva_future_t *f = uva_spawn(loop, fn, arg);
  __asm__ volatile("" ::: "memory"); /* the call is not a tail call */
  return f;
}

static uva_stats_t get(uv_loop_t *loop, int expect) {
  uva_stats_t st;
  memset(&st, 0xab, sizeof(st));
  st.size = sizeof(st);
  ck_assert_int_eq(uva_loop_stats(loop, &st), expect);
  ck_assert_uint_eq(st.size, sizeof(st));
  return st;
}

/* The dump as a string (free it). */
static char *dump(uv_loop_t *loop) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(uva_loop_dump(loop, f), 0);
  ck_assert_int_eq(fclose(f), 0);
  return buf;
}

static int count_of(const char *hay, const char *needle) {
  int n = 0;
  const char *p = hay;
  while ((p = strstr(p, needle)) != NULL) {
    n++;
    p += strlen(needle);
  }
  return n;
}

/* The block of the dump that begins at its n-th "task " line. */
static const char *task_block(const char *d, int n) {
  const char *p = d;
  for (;;) {
    p = strstr(p, "\ntask ");
    ck_assert_ptr_nonnull(p);
    if (n-- == 0)
      return p + 1;
    p++;
  }
}

/* Ends a test whose task f waits on ch: one message lets it return, then
 * the channel goes and the loop closes. */
static void finish(uv_loop_t *loop, uva_chan_t *ch, uva_future_t *f) {
  int one = 1;
  ck_assert_int_eq(uva_chan_try_send(ch, &one), 0);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), 0);
  uva_chan_free(ch);
  LOOP_CLOSE(loop);
}

START_TEST(test_bad_input) {
  uva_stats_t st;
  LOOP_INIT(loop);
  FILE *f = fopen("/dev/null", "w");

  ck_assert_ptr_nonnull(f);
  st.size = sizeof(st);
  ck_assert_int_eq(uva_loop_stats(NULL, &st), UV_EINVAL);
  ck_assert_int_eq(uva_loop_stats(loop, NULL), UV_EINVAL);
  st.size = 0;
  ck_assert_int_eq(uva_loop_stats(loop, &st), UV_EINVAL);
  ck_assert_int_eq(uva_loop_dump(NULL, f), UV_EINVAL);
  ck_assert_int_eq(uva_loop_dump(loop, NULL), UV_EINVAL);
  /* a loop uva never saw: UV_ENOENT, zeros; the dump writes nothing */
  st = get(loop, UV_ENOENT);
  ck_assert_uint_eq(st.tasks_alive, 0);
  ck_assert_uint_eq(st.objects, 0);
  ck_assert_uint_eq(st.slab_bytes, 0);
  ck_assert_uint_eq(st.busy_ns, 0);
  ck_assert_int_eq(uva_loop_dump(loop, f), UV_ENOENT);
  ck_assert_int_eq(ftell(f), 0);
  fclose(f);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* A caller built with a smaller struct gets only what fits. */
START_TEST(test_struct_size) {
  uva_stats_t big[2];
  uva_chan_t *ch;
  LOOP_INIT(loop);

  ck_assert_int_eq(uva_chan_new(loop, 4, 1, &ch), 0);
  memset(big, 0x5a, sizeof(big));
  big[0].size = offsetof(uva_stats_t, tasks_alive);
  ck_assert_int_eq(uva_loop_stats(loop, &big[0]), 0);
  ck_assert_uint_eq(big[0].size, offsetof(uva_stats_t, tasks_alive));
  ck_assert(big[0].counters == 0 || big[0].counters == 1);
  ck_assert_uint_eq(big[0].tasks_alive, 0x5a5a5a5a5a5a5a5aull); /* untouched */
  /* a larger (newer) struct: the rest is left alone */
  big[0].size = sizeof(big);
  ck_assert_int_eq(uva_loop_stats(loop, &big[0]), 0);
  ck_assert_uint_eq(big[0].size, sizeof(big));
  ck_assert_uint_eq(big[0].tasks_alive, 0);
  ck_assert_uint_eq(big[1].size, 0x5a5a5a5a5a5a5a5aull);
  uva_chan_free(ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(test_counts_follow_tasks) {
  uva_future_t *f[2];
  uva_chan_t *ch;
  uva_stats_t st;
  int one = 1, i;
  char *d;
  LOOP_INIT(loop);

  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 4, &ch), 0);
  st = get(loop, 0);
  ck_assert_uint_eq(st.tasks_alive, 0);
  ck_assert_uint_eq(st.stacks_live, 0);
  ck_assert_uint_ge(st.objects, 1); /* the channel */
  ck_assert_uint_gt(st.slab_bytes, 0);
  ck_assert_uint_le(st.slab_free, st.slab_bytes);
  if (st.counters) {
    uva_chan_t *ch2;
    ck_assert_uint_eq(st.channels, 1);
    ck_assert_uint_eq(st.tasks_spawned, 0);
    /* channels made and freed */
    ck_assert_int_eq(uva_chan_new(loop, 1, 1, &ch2), 0);
    ck_assert_uint_eq(get(loop, 0).channels, 2);
    d = dump(loop);
    ck_assert_int_eq(count_of(d, "\nchannel "), 2);
    free(d);
    uva_chan_free(ch2);
    ck_assert_uint_eq(get(loop, 0).channels, 1);
  } else {
    ck_assert_uint_eq(st.channels, UVA_STATS_NOT_COUNTED);
    ck_assert_uint_eq(st.futures_pending, UVA_STATS_NOT_COUNTED);
  }

  for (i = 0; i < 2; i++)
    f[i] = stats_spawn_site(loop, stats_recv_body, ch);
  st = get(loop, 0);
  ck_assert_uint_eq(st.tasks_alive, 2);
  ck_assert_uint_eq(st.tasks_ready, 2);
  ck_assert_uint_eq(st.tasks_not_started, 2);
  ck_assert_uint_eq(st.tasks_suspended, 0);
  ck_assert_uint_eq(st.tasks_running, 0);
  ck_assert_uint_eq(st.futures_queued, 2);
  ck_assert_uint_eq(st.stacks_live, 0);
  if (st.counters) {
    ck_assert_uint_eq(st.tasks_spawned, 2);
    ck_assert_uint_eq(st.futures_alive, 2);
    ck_assert_uint_eq(st.futures_pending, 2);
  }
  d = dump(loop);
  ck_assert_int_eq(count_of(d, "\ntask "), 2);
  ck_assert_int_eq(count_of(d, ": not started\n"), 2);
  ck_assert_ptr_nonnull(strstr(d, "fn: stats_recv_body+0x0"));
  if (st.counters)
    ck_assert_ptr_nonnull(strstr(d, "spawned at: stats_spawn_site+"));
  ck_assert_ptr_nonnull(strstr(d, "run queue: task 2\n"));
  free(d);

  /* one loop iteration: both start and wait on the channel */
  uv_run(loop, UV_RUN_NOWAIT);
  st = get(loop, 0);
  ck_assert_uint_eq(st.tasks_alive, 2);
  ck_assert_uint_eq(st.tasks_suspended, 2);
  ck_assert_uint_eq(st.tasks_ready, 0);
  ck_assert_uint_eq(st.tasks_not_started, 0);
  ck_assert_uint_eq(st.stacks_live, 2);
  ck_assert_uint_ge(st.stack_bytes, 2 * (uint64_t)UVA_STACK_DEFAULT);
  ck_assert_uint_gt(st.stack_resident, 0);
  ck_assert_uint_le(st.stack_resident, st.stack_bytes);
  ck_assert_uint_ge(st.remote_waits, 1); /* the waiting receives */
  if (st.counters) {
    ck_assert_uint_eq(st.futures_alive, 4); /* 2 tasks, 2 receives */
    ck_assert_uint_eq(st.futures_pending, 4);
    ck_assert_uint_ge(st.callbacks, 1);
    ck_assert_uint_ge(st.drains, 1);
    ck_assert_uint_gt(st.busy_ns, 0);
  }
  d = dump(loop);
  if (getenv("UVA_STATS_SHOW") != NULL)
    fputs(d, stderr);
  ck_assert_int_eq(count_of(d, "\ntask "), 2);
  ck_assert_int_eq(count_of(d, ": suspended\n"), 2);
  ck_assert_int_eq(count_of(d, "  awaits: chan_recv (channel "), 2);
  ck_assert_ptr_nonnull(strstr(d, "0/4 messages of 4 bytes (0 reserved), "
                                  "2 receivers and 0 senders waiting"));
  ck_assert_ptr_nonnull(strstr(d, "awaited by tasks: chan_recv 2\n"));
  ck_assert_ptr_nonnull(strstr(d, "run queue: none\n"));
  {
    const char *b = task_block(d, 0);
    const char *end = strstr(b + 1, "\ntask ");
    const char *fn = strstr(b, "fn: stats_recv_body+0x0 (");
    ck_assert_ptr_nonnull(fn);
    ck_assert(end == NULL || fn < end);
#ifndef NO_BACKTRACE
    {
      /* the backtrace goes through the body, below the await */
      const char *bt = strstr(b, "  backtrace:\n");
      const char *body;
      ck_assert_ptr_nonnull(bt);
      ck_assert_ptr_nonnull(strstr(bt, "    #0 "));
      body = strstr(bt, " stats_recv_body+0x");
      ck_assert_ptr_nonnull(body);
      ck_assert(end == NULL || body < end);
    }
#else
    ck_assert_ptr_nonnull(
        strstr(b, "  backtrace: not available on this platform\n"));
#endif
  }
  if (st.counters) {
    ck_assert_int_eq(count_of(d, "spawned at: stats_spawn_site+0x"), 2);
    ck_assert_ptr_nonnull(strstr(d, "\nchannel "));
  }
  free(d);

  /* a message each: both return */
  ck_assert_int_eq(uva_chan_try_send(ch, &one), 0);
  ck_assert_int_eq(uva_chan_try_send(ch, &one), 0);
  while (uva_future_status(f[0]) == UVA_PENDING ||
         uva_future_status(f[1]) == UVA_PENDING)
    uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(uva_future_status(f[0]), 0);
  ck_assert_int_eq(uva_future_status(f[1]), 0);
  st = get(loop, 0);
  ck_assert_uint_eq(st.tasks_alive, 0);
  ck_assert_uint_eq(st.tasks_suspended, 0);
  ck_assert_uint_eq(st.stacks_live, 0);
  ck_assert_uint_eq(st.stacks_pooled, 2); /* kept for the next tasks */
  if (st.counters) {
    ck_assert_uint_eq(st.futures_alive, 2); /* the settled join futures */
    ck_assert_uint_eq(st.futures_pending, 0);
    ck_assert_uint_eq(st.channels, 1);
  }
  uva_future_free(f[0]);
  uva_future_free(f[1]);
  st = get(loop, 0);
  if (st.counters) {
    ck_assert_uint_eq(st.futures_alive, 0);
    ck_assert_uint_ge(st.futures_made, 4);
  }
  uva_chan_free(ch);
  /* nothing of uva's is left: its state (and the counters) went */
  get(loop, UV_ENOENT);
  LOOP_CLOSE(loop);
}
END_TEST

/* Inside a task: the caller is the running task; a sleeping one says how
 * long it has left. */
static int stats_inside(void *arg, uva_result_t *result) {
  uv_loop_t *loop = arg;
  uva_future_t *sleeper = stats_spawn_site(loop, stats_sleep_body, loop);
  uva_stats_t st;
  char *d;

  (void)result;
  ck_assert_int_eq(uva_yield(), 0); /* the sleeper starts and waits */
  st = get(loop, 0);
  ck_assert_uint_eq(st.tasks_running, 1);
  ck_assert_uint_eq(st.tasks_suspended, 1);
  ck_assert_uint_eq(st.tasks_alive, 2);
  ck_assert_uint_ge(st.handles, 1); /* the sleep's timer */
  d = dump(loop);
  ck_assert_int_eq(count_of(d, "\ntask "), 2);
  ck_assert_int_eq(count_of(d, ": running\n"), 1);
  ck_assert_ptr_nonnull(
      strstr(d, "  awaits: nothing (it is running: the caller)\n"));
  ck_assert_ptr_nonnull(strstr(d, "  awaits: sleep ("));
  ck_assert_ptr_nonnull(strstr(d, " ms left)\n"));
  ck_assert_ptr_nonnull(strstr(d, "fn: stats_sleep_body+0x0"));
#ifndef NO_BACKTRACE
  ck_assert_ptr_nonnull(strstr(d, " stats_sleep_body+0x"));
#endif
  free(d);
  /* cancelling the sleeper: the dump says so while it winds down */
  ck_assert_int_eq(uva_future_cancel(sleeper), 0);
  d = dump(loop);
  ck_assert_ptr_nonnull(strstr(d, ", cancelled\n"));
  free(d);
  ck_assert_int_eq(uva_await(sleeper, NULL), UV_ECANCELED);
  return 0;
}

START_TEST(test_inside_task) {
  LOOP_INIT(loop);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, stats_inside, loop),
                                NULL),
                   0);
  LOOP_CLOSE(loop);
}
END_TEST

/* A task that awaits another task. */
typedef struct {
  uv_loop_t *loop;
  uva_chan_t *ch;
} pair_t;

static int stats_outer(void *arg, uva_result_t *result) {
  pair_t *p = arg;
  (void)result;
  return uva_await(uva_spawn(p->loop, stats_recv_body, p->ch), NULL);
}

START_TEST(test_awaits_task) {
  uva_chan_t *ch;
  uva_future_t *f;
  pair_t p;
  char *d;
  LOOP_INIT(loop);

  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  p.loop = loop;
  p.ch = ch;
  f = uva_spawn(loop, stats_outer, &p);
  uv_run(loop, UV_RUN_NOWAIT);
  d = dump(loop);
  ck_assert_int_eq(count_of(d, ": suspended\n"), 2);
  ck_assert_ptr_nonnull(strstr(d, "  awaits: task 0x"));
  ck_assert_ptr_nonnull(strstr(d, "  awaits: chan_recv (channel "));
  free(d);
  finish(loop, ch, f);
}
END_TEST

/* Time in uva is measured only once somebody asked; the callbacks are
 * counted from the start. */
static int stats_timeout_body(void *arg, uva_result_t *result) {
  int v;
  (void)result;
  return uva_await(uva_timeout(uva_chan_recv(arg, &v), 600000), NULL);
}

START_TEST(test_timing_when_asked) {
  uva_chan_t *ch;
  uva_future_t *f;
  uva_stats_t st;
  int one = 1;
  char *d;
  LOOP_INIT(loop);

  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  f = uva_spawn(loop, stats_timeout_body, ch);
  uv_run(loop, UV_RUN_NOWAIT); /* callbacks run: the task waits */
  st = get(loop, 0);
  if (st.counters) {
    ck_assert_uint_ge(st.callbacks, 1);
    ck_assert_uint_eq(st.busy_ns, 0); /* nobody had asked */
  }
  ck_assert_uint_eq(st.tasks_suspended, 1);
  d = dump(loop);
  ck_assert_ptr_nonnull(strstr(d, "  awaits: timeout ("));
  ck_assert_ptr_nonnull(strstr(d, " ms left, over chan_recv)\n"));
  free(d);
  ck_assert_int_eq(uva_chan_try_send(ch, &one), 0);
  while (uva_future_status(f) == UVA_PENDING)
    uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(uva_future_status(f), 0);
  st = get(loop, 0);
  if (st.counters)
    ck_assert_uint_gt(st.busy_ns, 0); /* asked: timed since */
  uva_future_free(f);
  uva_chan_free(ch);
  LOOP_CLOSE(loop);
}
END_TEST

typedef struct {
  uv_loop_t *loop;
  uva_chan_t *ch;
  int v;
  uva_result_t winner;
} sel_t;

static int stats_select_body(void *arg, uva_result_t *result) {
  sel_t *p = arg;
  uva_future_t *fs[2];
  (void)result;
  fs[0] = uva_sleep(p->loop, 600000);
  fs[1] = uva_chan_recv(p->ch, &p->v);
  return uva_await(uva_select(p->loop, fs, 2, &p->winner), NULL);
}

/* A task with a stack size of its own keeps it; its spawn site is not
 * recorded (the field that would hold it holds the size). */
START_TEST(test_own_stack_size) {
  uva_spawn_opts_t opts = {64 * 1024};
  uva_chan_t *ch;
  uva_future_t *f;
  uva_stats_t st;
  char *d;
  LOOP_INIT(loop);

  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  f = uva_spawn_ex(loop, stats_recv_body, ch, &opts);
  uv_run(loop, UV_RUN_NOWAIT);
  st = get(loop, 0);
  ck_assert_uint_eq(st.tasks_suspended, 1);
  ck_assert_uint_eq(st.stack_bytes, 64 * 1024);
  d = dump(loop);
  if (st.counters)
    ck_assert_ptr_nonnull(strstr(d, "  spawned at: not recorded ("));
  ck_assert_ptr_nonnull(strstr(d, "fn: stats_recv_body+0x0"));
  free(d);
  finish(loop, ch, f);
}
END_TEST

/* A task parked in uva_chan_recv_wait (a waiter node on its own stack, no
 * future object) counts as waiting on one pending future, and the counts
 * go back to zero when it is served. */
static int stats_recv_wait_body(void *arg, uva_result_t *result) {
  int v;
  (void)result;
  return uva_chan_recv_wait(arg, &v);
}

START_TEST(test_parked_wait) {
  uva_chan_t *ch;
  uva_future_t *f;
  uva_stats_t st;
  char *d;
  LOOP_INIT(loop);

  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  f = uva_spawn(loop, stats_recv_wait_body, ch);
  uv_run(loop, UV_RUN_NOWAIT);
  st = get(loop, 0);
  ck_assert_uint_eq(st.tasks_suspended, 1);
  if (st.counters) {
    ck_assert_uint_eq(st.futures_pending, 2); /* the task, its node */
    ck_assert_uint_eq(st.futures_alive, 2);
  }
  d = dump(loop);
  ck_assert_ptr_nonnull(strstr(d, "  awaits: chan_recv (channel "));
  free(d);
  {
    int one = 1;
    ck_assert_int_eq(uva_chan_try_send(ch, &one), 0);
  }
  while (uva_future_status(f) == UVA_PENDING)
    uv_run(loop, UV_RUN_ONCE);
  st = get(loop, 0);
  if (st.counters) {
    ck_assert_uint_eq(st.futures_pending, 0);
    ck_assert_uint_eq(st.futures_alive, 1); /* the settled join future */
  }
  uva_future_free(f);
  uva_chan_free(ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* Futures of every kind, in every way of waiting: once all is done, none
 * is counted alive or pending (the counters balance). */
static int stats_blocking(void *arg, uva_result_t *result) {
  (void)arg;
  result->value.u64 = 7;
  return 0;
}

static int stats_sender(void *arg, uva_result_t *result) {
  int i, err = 0;
  (void)result;
  for (i = 0; i < 4 && err == 0; i++)
    err = uva_chan_send_wait(arg, &i); /* parks: capacity 1 */
  return err;
}

static void stats_then(int status, uva_value_t value, void *data) {
  (void)status, (void)value;
  ++*(int *)data;
}

static int stats_mix(void *arg, uva_result_t *result) {
  uva_chan_t *ch = arg;
  uv_loop_t *loop = uva_current_loop();
  uva_future_t *fs[2], *sender, *user;
  uva_result_t rs[2], win;
  int v, i, thens = 0;

  (void)result;
  ck_assert_ptr_nonnull(loop);
  ck_assert_int_eq(uva_await(uva_sleep(loop, 1), NULL), 0);
  ck_assert_int_eq(uva_await(uva_ready_u64(loop, 1), NULL), 0);
  ck_assert_int_eq(uva_await(uva_failed(loop, UV_EIO), NULL), UV_EIO);
  fs[0] = uva_sleep(loop, 1);
  fs[1] = uva_ready_u64(loop, 2);
  ck_assert_int_eq(uva_await(uva_join(loop, fs, 2, rs), NULL), 0);
  fs[0] = uva_sleep(loop, 100000);
  fs[1] = uva_ready_u64(loop, 3);
  ck_assert_int_eq(uva_await(uva_select(loop, fs, 2, &win), NULL), 0);
  ck_assert_int_eq(uva_await(uva_timeout(uva_sleep(loop, 100000), 1), NULL),
                   UV_ETIMEDOUT);
  ck_assert_int_eq(uva_await(uva_spawn_blocking(loop, stats_blocking, NULL),
                             NULL),
                   0);
  user = uva_future_new(loop);
  ck_assert_int_eq(uva_future_resolve_u64(user, 5), 0);
  ck_assert_int_eq(uva_await(user, NULL), 0);
  ck_assert_int_eq(uva_future_then(uva_sleep(loop, 0), stats_then, &thens),
                   0);
  ck_assert_int_eq(uva_yield(), 0);
  sender = uva_spawn(loop, stats_sender, ch);
  for (i = 0; i < 4; i++) {
    if (i % 2 == 0)
      ck_assert_int_eq(uva_chan_recv_wait(ch, &v), 0);
    else
      ck_assert_int_eq(uva_await(uva_chan_recv(ch, &v), NULL), 0);
    ck_assert_int_eq(v, i);
  }
  ck_assert_int_eq(uva_await(sender, NULL), 0);
  ck_assert_int_eq(uva_await(uva_chan_send(ch, &v), NULL), 0);
  ck_assert_int_eq(uva_chan_recv_wait(ch, &v), 0);
  while (thens == 0)
    ck_assert_int_eq(uva_yield(), 0);
  return 0;
}

START_TEST(test_counters_balance) {
  uva_chan_t *ch;
  uva_stats_t st;
  LOOP_INIT(loop);

  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn(loop, stats_mix, ch), NULL), 0);
  st = get(loop, 0);
  ck_assert_uint_eq(st.tasks_alive, 0);
  if (st.counters) {
    ck_assert_uint_eq(st.futures_alive, 0);
    ck_assert_uint_eq(st.futures_pending, 0);
    ck_assert_uint_ge(st.futures_made, 20);
    ck_assert_uint_eq(st.tasks_spawned, 2);
  }
  uva_chan_free(ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* A select says which of its children are pending. */
START_TEST(test_awaits_select) {
  uva_future_t *f;
  sel_t p;
  char *d;
  LOOP_INIT(loop);

  memset(&p, 0, sizeof(p));
  p.loop = loop;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &p.ch), 0);
  f = uva_spawn(loop, stats_select_body, &p);
  uv_run(loop, UV_RUN_NOWAIT);
  d = dump(loop);
  ck_assert_ptr_nonnull(
      strstr(d, "  awaits: select (of 2, 2 pending: sleep, chan_recv)\n"));
  free(d);
  finish(loop, p.ch, f);
  ck_assert_int_eq(p.v, 1); /* the receive won */
}
END_TEST

/* The calls allocate nothing of uva's: they work with an allocator that
 * always fails. */
static void *fail_malloc(size_t n) { (void)n; return NULL; }
static void *fail_realloc(void *p, size_t n) { (void)p, (void)n; return NULL; }
static void *fail_calloc(size_t n, size_t m) { (void)n, (void)m; return NULL; }

START_TEST(test_no_allocation) {
  uva_chan_t *ch;
  uva_future_t *f;
  uva_stats_t st;
  char *d;
  LOOP_INIT(loop);

  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  f = stats_spawn_site(loop, stats_recv_body, ch);
  uv_run(loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(
      uva_replace_allocator(fail_malloc, fail_realloc, fail_calloc, free), 0);
  st = get(loop, 0);
  ck_assert_uint_eq(st.tasks_suspended, 1);
  d = dump(loop); /* open_memstream uses libc's malloc, not uva's */
  ck_assert_ptr_nonnull(strstr(d, ": suspended\n"));
  free(d);
  ck_assert_int_eq(uva_replace_allocator(malloc, realloc, calloc, free), 0);
  uva_future_free(f); /* cancels the task */
  uva_chan_free(ch);
  LOOP_CLOSE(loop);
}
END_TEST

typedef struct {
  uv_loop_t *loop;
  int stats, dump;
} other_t;

static void other_thread(void *arg) {
  other_t *o = arg;
  uva_stats_t st;
  FILE *f = fopen("/dev/null", "w");

  st.size = sizeof(st);
  o->stats = uva_loop_stats(o->loop, &st);
  o->dump = f != NULL ? uva_loop_dump(o->loop, f) : 1;
  if (f != NULL)
    fclose(f);
}

static void chan_len_thread(void *arg) { (void)uva_chan_len(arg); }

/* From a thread other than the loop's: UV_EINVAL, nothing read. */
START_TEST(test_other_thread) {
  other_t o;
  uva_chan_t *ch;
  uv_thread_t th;
  LOOP_INIT(loop);

  ck_assert_int_eq(uva_chan_new(loop, 4, 1, &ch), 0);
  o.loop = loop;
  o.stats = o.dump = 1;
  ck_assert_int_eq(uv_thread_create(&th, other_thread, &o), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_int_eq(o.stats, UV_EINVAL);
  ck_assert_int_eq(o.dump, UV_EINVAL);
  {
    /* a channel another thread has used is described under its lock */
    uva_stats_t st = get(loop, 0);
    char *d;
    ck_assert_int_eq(uv_thread_create(&th, chan_len_thread, ch), 0);
    ck_assert_int_eq(uv_thread_join(&th), 0);
    d = dump(loop);
    if (st.counters)
      ck_assert_ptr_nonnull(strstr(d, ", used by other threads\n"));
    free(d);
  }
  uva_chan_free(ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static Suite *stats_suite(void) {
  Suite *s = suite_create("stats");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_struct_size);
  tcase_add_test(tc, test_counts_follow_tasks);
  tcase_add_test(tc, test_inside_task);
  tcase_add_test(tc, test_awaits_task);
  tcase_add_test(tc, test_own_stack_size);
  tcase_add_test(tc, test_awaits_select);
  tcase_add_test(tc, test_parked_wait);
  tcase_add_test(tc, test_counters_balance);
  tcase_add_test(tc, test_timing_when_asked);
  tcase_add_test(tc, test_no_allocation);
  tcase_add_test(tc, test_other_thread);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(stats_suite()); }
