/* Allocation-failure injection (issue 4, item 2).  Linked against uva_fault,
 * the variant of the library built with UVA_FAULT_INJECTION: it caches no
 * object and pools no stack, and counts each stack's mmap as an allocation,
 * so every allocation site goes through the allocator installed here with
 * uva_replace_allocator.
 *
 * Each scenario below exercises some public calls.  It is run with the 1st
 * allocation failing, then the 2nd, and so on, until a run makes no
 * injected failure.  Every run must report the failure (UV_ENOMEM as a
 * return value or as a failed future's status) or succeed with the right
 * result; the loop must then close with 0 and every allocation uva made must
 * have been freed.  Crashes end the test (Check forks each one). */
#include "test-util.h"

#include <execinfo.h>
#include <signal.h>
#include <netdb.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the counting allocator --------------------------------------------- */

static atomic_long fail_at;  /* the allocation that fails (1-based); 0: none */
static atomic_long nallocs;  /* allocations asked for in this run */
static atomic_long injected; /* failures injected in this run */
static atomic_long live;     /* allocations not yet freed */

/* To see where a failing run's allocation comes from: FAULTS_ONLY=<index
 * of the scenario> FAULTS_FROM=<n> CK_FORK=no runs that scenario from
 * allocation n on and prints a backtrace of each injected failure. */
static int trace;

static int inject(void) {
  long n = atomic_fetch_add(&nallocs, 1) + 1;
  if (n == atomic_load(&fail_at)) {
    atomic_fetch_add(&injected, 1);
    if (trace) {
      void *bt[32];
      fprintf(stderr, "faults: allocation %ld fails here:\n", n);
      backtrace_symbols_fd(bt, backtrace(bt, 32), 2);
    }
    return 1;
  }
  return 0;
}

static void *fi_malloc(size_t n) {
  void *p = inject() ? NULL : malloc(n);
  if (p != NULL)
    atomic_fetch_add(&live, 1);
  return p;
}

static void *fi_calloc(size_t n, size_t m) {
  void *p = inject() ? NULL : calloc(n, m);
  if (p != NULL)
    atomic_fetch_add(&live, 1);
  return p;
}

static void *fi_realloc(void *p, size_t n) {
  if (p == NULL)
    return fi_malloc(n);
  return inject() ? NULL : realloc(p, n);
}

static void fi_free(void *p) {
  if (p != NULL) {
    atomic_fetch_sub(&live, 1);
    free(p);
  }
}

/* ---- helpers ------------------------------------------------------------ */

/* A call's status: the injected UV_ENOMEM ends the scenario, anything else
 * must be 0. */
#define TRY(expr)                                                              \
  do {                                                                         \
    int err_ = (expr);                                                         \
    if (err_ == UV_ENOMEM)                                                     \
      return err_;                                                             \
    ck_assert_int_eq(err_, 0);                                                 \
  } while (0)

/* As TRY, where the call may also give the expected error want. */
#define TRY_WANT(expr, want)                                                   \
  do {                                                                         \
    int err_ = (expr);                                                         \
    if (err_ == UV_ENOMEM)                                                     \
      return err_;                                                             \
    ck_assert_int_eq(err_, (want));                                            \
  } while (0)

static const char *tmpdir(void) {
  const char *d = getenv("UVA_TEST_TMPDIR");
  return d != NULL ? d : ".";
}

static void tmp_path(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/faults-%ld-%s", tmpdir(), (long)getpid(), name);
}

/* ---- scenarios ---------------------------------------------------------- */

/* uva_future_new, uva_future_then, uva_future_resolve_u64. */
static int sc_future_then(uv_loop_t *loop) {
  then_rec r;
  uva_future_t *f = uva_future_new(loop);
  int failed = uva_future_status(f) == UV_ENOMEM;
  memset(&r, 0, sizeof(r));
  TRY(uva_future_then(f, record, &r));
  if (failed) {
    /* failed with a loop: the callback reports it */
    ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(r.calls, 1);
    return r.status;
  }
  ck_assert_int_eq(uva_future_resolve_u64(f, 42), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, 0);
  ck_assert_uint_eq(r.value.u64, 42);
  return 0;
}

/* uva_ready, uva_ready_u64, uva_failed, uva_block_on. */
static int sc_ready(uv_loop_t *loop) {
  uva_value_t v;
  TRY(uva_block_on(loop, uva_ready(loop, test_strdup("hi"), free), &v));
  ck_assert_str_eq(v.ptr, "hi");
  free(v.ptr);
  TRY(uva_block_on(loop, uva_ready_u64(loop, 7), &v));
  ck_assert_uint_eq(v.u64, 7);
  TRY_WANT(uva_block_on(loop, uva_failed(loop, UV_EPIPE), NULL), UV_EPIPE);
  return 0;
}

static int body_value(void *arg, uva_result_t *result) {
  (void)arg;
  result->value.ptr = test_strdup("task");
  result->free_fn = free;
  return 0;
}

/* uva_spawn, a task's stack, uva_block_on of its join future. */
static int sc_spawn(uv_loop_t *loop) {
  uva_value_t v;
  TRY(uva_block_on(loop, uva_spawn(loop, body_value, NULL), &v));
  ck_assert_str_eq(v.ptr, "task");
  free(v.ptr);
  return 0;
}

static int body_await(void *arg, uva_result_t *result) {
  uv_loop_t *loop = arg;
  uva_value_t v;
  int err;
  if ((err = uva_await(uva_ready_u64(loop, 5), &v)) != 0)
    return err;
  ck_assert_uint_eq(v.u64, 5);
  if ((err = uva_yield()) != 0)
    return err;
  if ((err = uva_await(uva_sleep(loop, 1), NULL)) != 0)
    return err;
  result->value.u64 = v.u64 + 1;
  return 0;
}

/* uva_spawn_ex with a small stack; uva_await and uva_yield inside it. */
static int sc_spawn_ex_await(uv_loop_t *loop) {
  uva_spawn_opts_t opts = {UVA_STACK_MIN};
  uva_value_t v;
  TRY(uva_block_on(loop, uva_spawn_ex(loop, body_await, loop, &opts), &v));
  ck_assert_uint_eq(v.u64, 6);
  return 0;
}

static int body_parent(void *arg, uva_result_t *result) {
  uv_loop_t *loop = arg;
  uva_future_t *a = uva_spawn(loop, body_await, loop);
  uva_future_t *b = uva_spawn(loop, body_await, loop);
  uva_value_t va, vb;
  int ea = uva_await(a, &va);
  int eb = uva_await(b, &vb);
  if (ea != 0)
    return ea;
  if (eb != 0)
    return eb;
  result->value.u64 = va.u64 + vb.u64;
  return 0;
}

/* Tasks that spawn and await tasks. */
static int sc_nested_tasks(uv_loop_t *loop) {
  uva_value_t v;
  TRY(uva_block_on(loop, uva_spawn(loop, body_parent, loop), &v));
  ck_assert_uint_eq(v.u64, 12);
  return 0;
}

/* uva_sleep; cancel, free and detach of pending futures. */
/* Frees f (or detaches it) and returns its status if it failed at once
 * with UV_ENOMEM, else 0: what a dropped future's caller can learn. */
static int drop(uva_future_t *f, int detach) {
  int err = uva_future_status(f) == UV_ENOMEM ? UV_ENOMEM : 0;
  if (detach)
    uva_future_detach(f);
  else
    uva_future_free(f);
  return err;
}

static int sc_sleep_cancel(uv_loop_t *loop) {
  then_rec r;
  uva_future_t *f;
  int err = 0;
  TRY(uva_block_on(loop, uva_sleep(loop, 1), NULL));
  memset(&r, 0, sizeof(r));
  f = uva_sleep(loop, 10000);
  if (uva_future_status(f) == UV_ENOMEM)
    return drop(f, 0);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_future_status(f), UV_ECANCELED);
  ck_assert_int_eq(uva_future_then(f, record, &r), 0);
  err |= drop(uva_sleep(loop, 10000), 0);
  err |= drop(uva_spawn(loop, body_value, NULL), 0); /* never runs */
  err |= drop(uva_sleep(loop, 1), 1);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, UV_ECANCELED);
  return err;
}

static int body_slow(void *arg, uva_result_t *result) {
  (void)result;
  return uva_await(uva_sleep(arg, 10000), NULL);
}

/* uva_timeout: one that fires (cancelling a task), one that does not. */
static int sc_timeout(uv_loop_t *loop) {
  TRY_WANT(uva_block_on(loop, uva_timeout(uva_sleep(loop, 10000), 1), NULL),
           UV_ETIMEDOUT);
  TRY_WANT(uva_block_on(loop,
                        uva_timeout(uva_spawn(loop, body_slow, loop), 1), NULL),
           UV_ETIMEDOUT);
  TRY(uva_block_on(loop, uva_timeout(uva_sleep(loop, 1), 10000), NULL));
  return 0;
}

/* uva_join of different kinds of futures. */
static int sc_join(uv_loop_t *loop) {
  uva_result_t res[4];
  uva_future_t *kids[4];
  int err = 0, i;
  kids[0] = uva_sleep(loop, 1);
  kids[1] = uva_ready_u64(loop, 5);
  kids[2] = uva_spawn(loop, body_value, NULL);
  kids[3] = uva_ready(loop, test_strdup("r"), free);
  TRY(uva_block_on(loop, uva_join(loop, kids, 4, res), NULL));
  for (i = 0; i < 4; i++) {
    if (res[i].status == UV_ENOMEM)
      err = UV_ENOMEM;
    else
      ck_assert_int_eq(res[i].status, 0);
  }
  if (err == 0) {
    ck_assert_uint_eq(res[1].value.u64, 5);
    ck_assert_str_eq(res[2].value.ptr, "task");
    ck_assert_str_eq(res[3].value.ptr, "r");
  }
  for (i = 0; i < 4; i++)
    uva_result_free(&res[i]);
  return err;
}

/* uva_select: the losers are cancelled and freed. */
static int sc_select(uv_loop_t *loop) {
  uva_result_t win;
  uva_future_t *kids[3];
  uva_value_t v;
  kids[0] = uva_sleep(loop, 10000);
  kids[1] = uva_sleep(loop, 1);
  kids[2] = uva_spawn(loop, body_slow, loop);
  TRY(uva_block_on(loop, uva_select(loop, kids, 3, &win), &v));
  if (win.status == UV_ENOMEM)
    return UV_ENOMEM; /* a child that failed at once wins */
  ck_assert_int_eq(win.status, 0);
  ck_assert_uint_eq(v.u64, 1);
  return 0;
}

/* uva_fs_write_file, uva_fs_read_file. */
static int sc_fs_whole(uv_loop_t *loop) {
  char path[512];
  uva_value_t v;
  int err;
  tmp_path(path, sizeof(path), "whole");
  TRY(uva_block_on(loop, uva_fs_write_file(loop, path, "hello", 5), &v));
  ck_assert_uint_eq(v.u64, 5);
  err = uva_block_on(loop, uva_fs_read_file(loop, path), &v);
  unlink(path);
  TRY(err);
  ck_assert_str_eq(((uva_buf_t *)v.ptr)->base, "hello");
  uva_buf_free(v.ptr);
  /* nothing: a future failed with libuv's error */
  TRY_WANT(uva_block_on(loop, uva_fs_read_file(loop, path), NULL), UV_ENOENT);
  /* a file whose size stat cannot tell: the buffer grows (realloc) */
  if (access("/proc/self/maps", R_OK) == 0) {
    TRY(uva_block_on(loop, uva_fs_read_file(loop, "/proc/self/maps"), &v));
    ck_assert_uint_gt(((uva_buf_t *)v.ptr)->len, 0);
    uva_buf_free(v.ptr);
  }
  return 0;
}

/* uva_fs_open, _write, _read, _close, and an open dropped while it runs. */
static int sc_fs_fd(uv_loop_t *loop) {
  char path[512];
  uva_value_t v;
  uva_future_t *f;
  uv_file fd;
  int err;
  tmp_path(path, sizeof(path), "fd");
  TRY(uva_block_on(loop, uva_fs_open(loop, path, O_RDWR | O_CREAT | O_TRUNC, 0644),
                   &v));
  fd = (uv_file)v.i64;
  err = uva_block_on(loop, uva_fs_write(loop, fd, "abc", 3, 0), &v);
  if (err == 0) {
    ck_assert_uint_eq(v.u64, 3);
    err = uva_block_on(loop, uva_fs_read(loop, fd, 16, 0), &v);
  }
  if (err == 0) {
    ck_assert_str_eq(((uva_buf_t *)v.ptr)->base, "abc");
    uva_buf_free(v.ptr);
  }
  if (uva_block_on(loop, uva_fs_close(loop, fd), NULL) == UV_ENOMEM) {
    close(fd);
    err = err != 0 ? err : UV_ENOMEM;
  }
  /* dropped at once: the descriptor is closed when the open completes */
  f = uva_fs_open(loop, path, O_RDONLY, 0);
  if (uva_future_status(f) == UV_ENOMEM && err == 0)
    err = UV_ENOMEM;
  uva_future_free(f);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  unlink(path);
  TRY(err);
  return 0;
}

static int blocking_body(void *arg, uva_result_t *result) {
  (void)arg;
  result->value.u64 = 99;
  return 0;
}

/* uva_spawn_blocking. */
static int sc_spawn_blocking(uv_loop_t *loop) {
  uva_value_t v;
  TRY(uva_block_on(loop, uva_spawn_blocking(loop, blocking_body, NULL), &v));
  ck_assert_uint_eq(v.u64, 99);
  return 0;
}

/* uva_spawn_blocking_ex: arg_free runs exactly once, also when the job could
 * not start. */
static int ex_frees;
static void ex_free(void *p) {
  ex_frees++;
  free(p);
}

static int sc_spawn_blocking_ex(uv_loop_t *loop) {
  uva_value_t v;
  int err;
  ex_frees = 0;
  err = uva_block_on(
      loop, uva_spawn_blocking_ex(loop, blocking_body, malloc(8), ex_free), &v);
  ck_assert_int_eq(ex_frees, 1);
  TRY(err);
  ck_assert_uint_eq(v.u64, 99);
  return 0;
}

/* uva_loop_shutdown (allocates nothing itself) over a started task and one
 * that has not started. */
static int sc_shutdown(uv_loop_t *loop) {
  then_rec a, b;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  TRY(uva_future_then(uva_spawn(loop, body_slow, loop), record, &a));
  uv_run(loop, UV_RUN_NOWAIT); /* it starts and sleeps */
  TRY(uva_future_then(uva_spawn(loop, body_value, NULL), record, &b));
  TRY(uva_loop_shutdown(loop, 60000, NULL));
  ck_assert_int_eq(a.calls, 1);
  ck_assert_int_eq(b.calls, 1);
  if (a.status == UV_ENOMEM || b.status == UV_ENOMEM)
    return UV_ENOMEM;
  ck_assert_int_eq(a.status, UV_ECANCELED);
  ck_assert_int_eq(b.status, UV_ECANCELED);
  return 0;
}

/* ---- channels ----------------------------------------------------------- */

#define MSGS 10

typedef struct {
  uv_loop_t *loop;
  uva_chan_t *ch;
  int sum;
  int count;
} chan_ctx;

static int body_consumer(void *arg, uva_result_t *result) {
  chan_ctx *c = arg;
  int x, err;
  (void)result;
  for (;;) {
    err = uva_await(uva_chan_recv(c->ch, &x), NULL);
    if (err == UV_EOF)
      return 0;
    if (err != 0) {
      uva_chan_close(c->ch); /* lets a blocked sender go (UV_EPIPE) */
      return err;
    }
    c->sum += x;
    c->count++;
  }
}

static int body_producer(void *arg, uva_result_t *result) {
  chan_ctx *c = arg;
  int i, err = 0;
  (void)result;
  for (i = 0; i < MSGS && err == 0; i++)
    err = uva_await(uva_chan_send(c->ch, &i), NULL);
  uva_chan_close(c->ch);
  return err;
}

/* A task of a channel scenario has ended: when it failed (even before it
 * started), the channel closes, so that the other task does not wait for it
 * forever. */
typedef struct {
  chan_ctx *c;
  int status;
  int calls;
} task_rec;

static void task_done(int status, uva_value_t v, void *data) {
  task_rec *t = data;
  (void)v;
  t->status = status;
  t->calls++;
  if (status != 0)
    uva_chan_close(t->c->ch); /* UV_EPIPE if already closed */
}

/* Runs consumer and producer as two tasks until both have ended.  Returns
 * UV_ENOMEM if either reported it, else checks that every message came
 * through (a producer that got UV_EPIPE saw the consumer fail). */
static int chan_run(chan_ctx *c, uva_task_fn consumer, uva_task_fn producer) {
  task_rec t[2] = {{c, 0, 0}, {c, 0, 0}};
  uva_task_fn fns[2] = {consumer, producer};
  int i, err;
  for (i = 0; i < 2; i++) {
    err = uva_future_then(uva_spawn(c->loop, fns[i], c), task_done, &t[i]);
    if (err != 0) {
      t[i].status = err; /* failed without a loop: no callback */
      t[i].calls = 1;
      uva_chan_close(c->ch);
    }
  }
  ck_assert_int_eq(uv_run(c->loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(t[0].calls, 1);
  ck_assert_int_eq(t[1].calls, 1);
  if (t[0].status == UV_ENOMEM || t[1].status == UV_ENOMEM)
    return UV_ENOMEM;
  ck_assert_int_eq(t[0].status, 0);
  ck_assert_int_eq(t[1].status, 0);
  ck_assert_int_eq(c->count, MSGS);
  ck_assert_int_eq(c->sum, MSGS * (MSGS - 1) / 2);
  return 0;
}

/* uva_chan_new, try_send/try_recv, send and recv futures in tasks (the
 * consumer parks first, the producer waits for room), close, free. */
static int sc_chan_tasks(uv_loop_t *loop) {
  chan_ctx c = {loop, NULL, 0, 0};
  int x = 5, err;
  TRY(uva_chan_new(loop, sizeof(int), 2, &c.ch));
  ck_assert_int_eq(uva_chan_try_send(c.ch, &x), 0);
  ck_assert_int_eq(uva_chan_try_recv(c.ch, &x), 0);
  ck_assert_int_eq(uva_chan_try_recv(c.ch, &x), UV_EAGAIN);
  err = chan_run(&c, body_consumer, body_producer);
  uva_chan_free(c.ch);
  return err;
}

static int blocking_sender(void *arg, uva_result_t *result) {
  chan_ctx *c = arg;
  int i, err = 0;
  (void)result;
  for (i = 0; i < MSGS && err == 0; i++)
    err = uva_chan_send_blocking(c->ch, &i);
  return err;
}

static int body_thread_producer(void *arg, uva_result_t *result) {
  chan_ctx *c = arg;
  int err = uva_await(uva_spawn_blocking(c->loop, blocking_sender, c), NULL);
  (void)result;
  uva_chan_close(c->ch);
  return err == UV_EPIPE ? 0 : err; /* UV_EPIPE: the consumer failed */
}

/* uva_chan_send_blocking from libuv's thread pool into a parked receiver. */
static int sc_chan_thread(uv_loop_t *loop) {
  chan_ctx c = {loop, NULL, 0, 0};
  int err;
  TRY(uva_chan_new(loop, sizeof(int), 2, &c.ch));
  err = chan_run(&c, body_consumer, body_thread_producer);
  uva_chan_free(c.ch);
  return err;
}

/* ---- poll futures ------------------------------------------------------- */

typedef struct {
  int polls;
  int freed;
  uv_thread_t thread;
  int started;
  uva_waker_t *waker;
} poll_ctx;

static void wake_from_thread(void *arg) {
  poll_ctx *p = arg;
  uva_waker_wake(p->waker);
  uva_waker_drop(p->waker);
}

/* Ready on the third poll: woken once from the loop's thread, once from
 * another thread. */
static int poll_fn(void *state, uva_waker_t *waker, uva_result_t *out) {
  poll_ctx *p = state;
  switch (p->polls++) {
  case 0:
    uva_waker_wake(waker);
    return UVA_PENDING;
  case 1:
    p->waker = uva_waker_clone(waker);
    ck_assert_int_eq(uv_thread_create(&p->thread, wake_from_thread, p), 0);
    p->started = 1;
    return UVA_PENDING;
  default:
    out->value.u64 = 42;
    return 0;
  }
}

static int pending_forever(void *state, uva_waker_t *waker, uva_result_t *out) {
  (void)waker;
  (void)out;
  ((poll_ctx *)state)->polls++;
  return UVA_PENDING;
}

static void poll_state_free(void *state) { ((poll_ctx *)state)->freed++; }

/* uva_future_poll, wakers from both threads, a poll cancelled by select. */
static int sc_poll(uv_loop_t *loop) {
  poll_ctx p, q;
  uva_value_t v;
  uva_result_t win;
  uva_future_t *kids[2];
  int err;
  memset(&p, 0, sizeof(p));
  memset(&q, 0, sizeof(q));
  err = uva_block_on(loop, uva_future_poll(loop, poll_fn, &p, poll_state_free),
                     &v);
  if (p.started)
    uv_thread_join(&p.thread);
  ck_assert_int_eq(p.freed, 1);
  TRY(err);
  ck_assert_uint_eq(v.u64, 42);
  kids[0] = uva_future_poll(loop, pending_forever, &q, poll_state_free);
  kids[1] = uva_sleep(loop, 1);
  err = uva_block_on(loop, uva_select(loop, kids, 2, &win), &v);
  ck_assert_int_eq(q.freed, 1);
  TRY(err);
  TRY(win.status);
  ck_assert_uint_eq(v.u64, 1);
  return 0;
}

/* ---- the idle handle --------------------------------------------------- */

#define ROUNDS 4

typedef struct {
  uv_loop_t *loop;
  uv_timer_t timers[ROUNDS];
  int done;
  int err;
} idle_ctx;

static int body_nothing(void *arg, uva_result_t *result) {
  (void)arg;
  (void)result;
  return 0;
}

static void idle_done(int status, uva_value_t v, void *data) {
  idle_ctx *c = data;
  (void)v;
  c->done++;
  if (status != 0) {
    ck_assert_int_eq(status, UV_ENOMEM);
    c->err = status;
  }
}

static void idle_then(idle_ctx *c, uva_future_t *f) {
  int err = uva_future_then(f, idle_done, c);
  if (err != 0) {
    ck_assert_int_eq(err, UV_ENOMEM);
    c->err = err;
    c->done++;
  }
}

/* The program's own timer: spawns a task from outside any uva callback, so
 * that uva opens its idle handle. */
static void spawn_from_timer(uv_timer_t *t) {
  idle_ctx *c = t->data;
  idle_then(c, uva_spawn(c->loop, body_nothing, NULL));
}

/* In one pass over the timers, the program's timers and uva's sleeps
 * alternate: each sleep's callback drains the queue and closes the idle
 * handle the spawn before it opened, so the later spawns find every idle
 * handle uva had closing.  (uva allocated a third handle then, and aborted
 * when that allocation failed.) */
static int sc_idle_handles(uv_loop_t *loop) {
  idle_ctx c;
  int i;
  memset(&c, 0, sizeof(c));
  c.loop = loop;
  for (i = 0; i < ROUNDS; i++) {
    uv_timer_init(loop, &c.timers[i]);
    c.timers[i].data = &c;
    uv_timer_start(&c.timers[i], spawn_from_timer, 1, 0);
    if (i < ROUNDS - 1)
      idle_then(&c, uva_sleep(loop, 1));
  }
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(c.done, 2 * ROUNDS - 1);
  for (i = 0; i < ROUNDS; i++)
    uv_close((uv_handle_t *)&c.timers[i], NULL);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0); /* c goes out of scope */
  return c.err;
}

/* ---- io: UDP, DNS, signals, asyncfd, processes ------------------------- */

/* uva_udp_bind, _send, _recv, _free.  A datagram that found no memory is
 * dropped and counted: the receive then times out, which reports it. */
static int sc_udp(uv_loop_t *loop) {
  struct sockaddr_in a;
  struct sockaddr_storage sa;
  uva_udp_t *s = NULL, *c = NULL;
  uint32_t x = 5, got = 0;
  uva_value_t v;
  int err;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &a), 0);
  err = uva_udp_bind(loop, (struct sockaddr *)&a, 0, &s);
  if (err == 0)
    err = uva_udp_bind(loop, (struct sockaddr *)&a, 0, &c);
  if (err == 0)
    err = uva_udp_sockname(s, &sa);
  if (err == 0)
    err = uva_block_on(loop, uva_udp_send(c, &x, sizeof(x), (struct sockaddr *)&sa), &v);
  if (err == 0) {
    err = uva_block_on(loop, uva_timeout(uva_udp_recv(s, &got, sizeof(got), NULL), 2000), &v);
    if (err == UV_ETIMEDOUT && uva_udp_dropped(s) > 0)
      err = UV_ENOMEM;
    else if (err == 0)
      ck_assert_uint_eq(got, 5);
  }
  uva_udp_free(s);
  uva_udp_free(c);
  return err;
}

/* uva_getaddrinfo and uva_getnameinfo (numeric: no network). */
static int sc_dns(uv_loop_t *loop) {
  struct addrinfo h;
  struct sockaddr_in a;
  uva_value_t v;
  memset(&h, 0, sizeof(h));
  h.ai_family = AF_INET;
  h.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  TRY(uva_block_on(loop, uva_getaddrinfo(loop, "127.0.0.1", "80", &h), &v));
  ck_assert_ptr_nonnull(v.ptr);
  uva_freeaddrinfo(v.ptr);
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 80, &a), 0);
  TRY(uva_block_on(loop, uva_getnameinfo(loop, (struct sockaddr *)&a,
                                         NI_NUMERICHOST | NI_NUMERICSERV), &v));
  ck_assert_str_eq(((uva_nameinfo_t *)v.ptr)->host, "127.0.0.1");
  uva_nameinfo_free(v.ptr);
  return 0;
}

/* uva_signal, uva_signal_listen, _next, _free. */
static int sc_signal(uv_loop_t *loop) {
  uva_signal_t *sig;
  uva_future_t *f = uva_signal(loop, SIGUSR1);
  uva_value_t v;
  int err = uva_future_status(f);
  if (err == UV_ENOMEM) {
    uva_future_free(f);
    return err;
  }
  uv_kill(getpid(), SIGUSR1);
  TRY(uva_block_on(loop, f, &v));
  ck_assert_int_eq(v.i64, SIGUSR1);
  TRY(uva_signal_listen(loop, SIGUSR1, &sig));
  uv_kill(getpid(), SIGUSR1);
  err = uva_block_on(loop, uva_signal_next(sig), &v);
  uva_signal_free(sig);
  TRY(err);
  ck_assert_uint_eq(v.u64, 1);
  return 0;
}

/* uva_asyncfd_new, _readable, _writable, _free. */
static int sc_asyncfd(uv_loop_t *loop) {
  int sv[2], err;
  uva_asyncfd_t *a;
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  err = uva_asyncfd_new(loop, sv[0], &a);
  if (err == 0) {
    err = uva_block_on(loop, uva_asyncfd_writable(a), NULL);
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    if (err == 0)
      err = uva_block_on(loop, uva_asyncfd_readable(a), NULL);
    uva_asyncfd_free(a);
  }
  close(sv[0]);
  close(sv[1]);
  return err;
}

/* uva_process_spawn with a stdout pipe, read to the end, _wait, _free. */
static int sc_process(uv_loop_t *loop) {
  char *args[] = {"sh", "-c", "echo hi", NULL};
  uva_process_opts_t o;
  uva_process_t *p;
  uva_value_t v;
  int err;
  memset(&o, 0, sizeof(o));
  o.file = "sh";
  o.args = args;
  o.stdio[1] = UVA_STDIO_PIPE;
  o.flags = UVA_PROCESS_KILL_ON_FREE;
  TRY(uva_process_spawn(loop, &o, &p));
  err = uva_block_on(loop, uva_stream_read_until(uva_process_stream(p, 1), '\n', 64), &v);
  if (err == 0) {
    ck_assert_uint_eq(((uva_buf_t *)v.ptr)->len, 3);
    uva_buf_free(v.ptr);
    err = uva_block_on(loop, uva_process_wait(p), &v);
    if (err == 0)
      ck_assert_int_eq(UVA_EXIT_STATUS(v.u64), 0);
  }
  uva_process_free(p);
  return err;
}

/* ---- the driver --------------------------------------------------------- */

/* ---- streams ------------------------------------------------------------ */

/* Consumes s with uva_stream_close and waits; *sp is cleared once s is
 * consumed (an ENOMEM from the call itself leaves s open). */
static int stream_close_wait(uv_loop_t *loop, uva_stream_t **sp) {
  uva_future_t *f = uva_stream_close(*sp);
  if (uva_future_status(f) == UV_ENOMEM) {
    uva_future_free(f);
    return UV_ENOMEM;
  }
  *sp = NULL;
  return uva_block_on(loop, f, NULL);
}

/* uva_tcp_listen, uva_tcp_connect, uva_tcp_connect_host, uva_stream_accept,
 * write, read_exact, read_until, read, shutdown, close. */
static int sc_tcp(uv_loop_t *loop) {
  struct sockaddr_in a;
  struct sockaddr_storage ss;
  uva_stream_t *l = NULL, *c = NULL, *s = NULL, *c2 = NULL;
  uva_value_t v;
  char buf[8];
  int err;
  uv_ip4_addr("127.0.0.1", 0, &a);
  TRY(uva_tcp_listen(loop, (struct sockaddr *)&a, 0, 0, &l));
  ck_assert_int_eq(uva_stream_sockname(l, &ss), 0);
  if ((err = uva_block_on(loop, uva_tcp_connect(loop, (struct sockaddr *)&ss),
                          &v)) != 0)
    goto out;
  c = v.ptr;
  if ((err = uva_block_on(loop, uva_stream_accept(l), &v)) != 0)
    goto out;
  s = v.ptr;
  if ((err = uva_block_on(loop, uva_stream_write(c, "ab\ncdef", 7), NULL)) !=
      0)
    goto out;
  if ((err = uva_block_on(loop, uva_stream_read_until(s, '\n', 8), &v)) != 0)
    goto out;
  uva_buf_free(v.ptr);
  if ((err = uva_block_on(loop, uva_stream_read_exact(s, buf, 2), NULL)) != 0)
    goto out;
  if ((err = uva_block_on(loop, uva_stream_shutdown(c), NULL)) != 0)
    goto out;
  if ((err = uva_block_on(loop, uva_stream_read(s, buf, 8), &v)) != 0)
    goto out;
  if ((err = stream_close_wait(loop, &s)) != 0)
    goto out;
  {
    char host[64];
    uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof host);
    if ((err = uva_block_on(loop,
                            uva_tcp_connect_host(
                                loop, host,
                                ntohs(((struct sockaddr_in *)&ss)->sin_port)),
                            &v)) != 0)
      goto out;
    c2 = v.ptr;
  }
out:
  uva_stream_free(c2);
  uva_stream_free(s);
  uva_stream_free(c);
  uva_stream_free(l);
  return err;
}

/* uva_stream_adopt, reads into uva's buffer, uva_stream_release with the
 * rest, uva_stream_open. */
static int sc_adopt(uv_loop_t *loop) {
  int fd[2], err;
  uv_pipe_t h;
  uva_stream_t *s = NULL, *w = NULL;
  uv_stream_t *back;
  uva_buf_t *rest = NULL;
  char buf[4];
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
  uv_pipe_init(loop, &h, 0);
  ck_assert_int_eq(uv_pipe_open(&h, fd[0]), 0);
  if ((err = uva_stream_open(loop, fd[1], &w)) != 0) {
    close(fd[1]);
    goto out;
  }
  if ((err = uva_stream_adopt((uv_stream_t *)&h, &s)) != 0)
    goto out;
  if ((err = uva_block_on(loop, uva_stream_write(w, "abcdef", 6), NULL)) != 0)
    goto out;
  if ((err = uva_block_on(loop, uva_stream_read_exact(s, buf, 2), NULL)) != 0)
    goto out;
  /* let the rest arrive in uva's buffer */
  if ((err = uva_block_on(loop, uva_sleep(loop, 5), NULL)) != 0)
    goto out;
  if ((err = uva_stream_release(s, &back, &rest)) != 0)
    goto out;
  s = NULL;
  ck_assert_ptr_eq(back, (uv_stream_t *)&h);
  if (rest != NULL) {
    ck_assert(memcmp(rest->base, "cdef", rest->len) == 0);
    uva_buf_free(rest);
  }
out:
  uva_stream_free(s);
  uva_stream_free(w);
  uv_close((uv_handle_t *)&h, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
  return err;
}

/* uva_token_new, uva_token_child, uva_token_cancelled, uva_token_bind. */
static int sc_token(uv_loop_t *loop) {
  uva_token_t *tok = NULL, *child = NULL;
  uva_future_t *w, *b;
  int err, err2;

  if ((err = uva_token_new(loop, &tok)) != 0)
    return err;
  if ((err = uva_token_child(tok, &child)) != 0)
    goto out;
  w = uva_token_cancelled(child);
  b = uva_token_bind(tok, uva_spawn(loop, body_await, loop));
  uva_token_cancel(tok);
  err = uva_block_on(loop, w, NULL);
  err2 = uva_block_on(loop, b, NULL);
  if (err == 0 && err2 != UV_ECANCELED)
    err = err2;
out:
  uva_token_free(child);
  uva_token_free(tok);
  uv_run(loop, UV_RUN_DEFAULT);
  return err;
}

/* uva_group_new, spawn, add, join_next, wait, free with a running task. */
static int sc_group(uv_loop_t *loop) {
  uva_group_t *g;
  uva_result_t r;
  int err;

  TRY(uva_group_new(loop, &g));
  if ((err = uva_group_spawn(g, body_value, NULL, NULL, NULL)) != 0)
    goto out;
  if ((err = uva_group_add(g, uva_sleep(loop, 1), NULL)) != 0)
    goto out;
  if ((err = uva_block_on(loop, uva_group_wait(g), NULL)) != 0)
    goto out;
  while ((err = uva_block_on(loop, uva_group_join_next(g, &r), NULL)) == 0) {
    if (r.status == UV_ENOMEM)
      err = UV_ENOMEM; /* a task's stack */
    else
      ck_assert_int_eq(r.status, 0);
    uva_result_free(&r);
    if (err != 0)
      goto out;
  }
  if (err != UV_EOF)
    goto out;
  err = uva_group_spawn(g, body_await, loop, NULL, NULL);
out:
  uva_group_free(g); /* cancels the last task */
  uv_run(loop, UV_RUN_DEFAULT);
  return err;
}

/* uva_interval_new, uva_interval_tick. */
static int sc_interval(uv_loop_t *loop) {
  uva_interval_t *iv;
  int err, i;

  TRY(uva_interval_new(loop, 1, UVA_TICK_SKIP, &iv));
  for (i = 0, err = 0; i < 3 && err == 0; i++)
    err = uva_block_on(loop, uva_interval_tick(iv), NULL);
  uva_interval_free(iv);
  uv_run(loop, UV_RUN_DEFAULT);
  return err;
}

static int double_u64(void *data, uva_result_t *r) {
  (void)data;
  r->value.u64 *= 2;
  return r->status;
}

static uva_future_t *next_u64(void *data, uva_value_t v, uva_free_cb fn) {
  (void)fn;
  return uva_ready_u64(data, v.u64 + 1);
}

/* uva_first_ok, uva_future_map, uva_future_and_then. */
static int sc_combinators(uv_loop_t *loop) {
  uva_future_t *fs[2];
  uva_result_t win;
  uva_value_t v;
  int st[2];

  fs[0] = uva_failed(loop, UV_EPIPE);
  fs[1] = uva_ready_u64(loop, 3);
  TRY(uva_block_on(loop, uva_first_ok(loop, fs, 2, &win, st), NULL));
  if (st[0] == UV_ENOMEM || st[1] == UV_ENOMEM)
    return UV_ENOMEM; /* a child failed to be made */
  ck_assert_uint_eq(win.value.u64, 3);
  TRY(uva_block_on(loop,
                   uva_future_map(uva_ready_u64(loop, 2), double_u64, NULL),
                   &v));
  ck_assert_uint_eq(v.u64, 4);
  TRY(uva_block_on(
      loop, uva_future_and_then(uva_ready_u64(loop, 1), next_u64, loop), &v));
  ck_assert_uint_eq(v.u64, 2);
  return 0;
}

static int key;

static int body_local(void *arg, uva_result_t *result) {
  char *v = test_strdup("v");
  int err;
  (void)arg;
  (void)result;
  if ((err = uva_task_local_set(&key, v, free)) != 0) {
    free(v); /* still ours */
    return err;
  }
  ck_assert_str_eq(uva_task_local_get(&key), "v");
  return 0;
}

/* uva_task_local_set. */
static int sc_task_local(uv_loop_t *loop) {
  TRY(uva_block_on(loop, uva_spawn(loop, body_local, NULL), NULL));
  return 0;
}

/* ---- loops that work together (issue 11) -------------------------------- */

typedef struct {
  uv_loop_t loop;
  uv_sem_t ready;
  int serve_err;
} remote_srv;

static void remote_srv_main(void *arg) {
  remote_srv *s = arg;
  ck_assert_int_eq(uv_loop_init(&s->loop), 0);
  s->serve_err = uva_loop_serve(&s->loop);
  uv_sem_post(&s->ready);
  if (s->serve_err == 0)
    uv_run(&s->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(uva_loop_shutdown(&s->loop, 5000, NULL), 0);
  ck_assert_int_eq(uv_run(&s->loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&s->loop), 0);
}

static int remote_add(void *arg, uva_result_t *result) {
  result->value.u64 = (uintptr_t)arg + 1;
  return 0;
}

static int remote_stop(void *arg, uva_result_t *result) {
  (void)result;
  return uva_loop_serve_stop(arg);
}

static uva_future_t *remote_make(uv_loop_t *target, void *arg) {
  return uva_ready_u64(target, (uintptr_t)arg);
}

static int remote_body(void *arg, uva_result_t *result) {
  remote_srv *s = arg;
  uv_loop_t *home = uva_current_loop();
  uva_value_t v;
  int err;
  (void)result;
  if ((err = uva_await(uva_spawn_on(home, &s->loop, remote_add, (void *)1), &v)) != 0)
    return err;
  ck_assert_uint_eq(v.u64, 2);
  if ((err = uva_await(uva_future_on(home, &s->loop, remote_make, (void *)7), &v)) != 0)
    return err;
  ck_assert_uint_eq(v.u64, 7);
  return 0;
}

/* uva_loop_serve, uva_spawn_on, uva_future_on and uva_spawn_on_blocking
 * between this loop and a serving loop in a thread (the failure may come on
 * either side; uva_spawn_on_detached is left out: a task it cannot make on
 * the target has nobody to tell). */
static int sc_remote(uv_loop_t *loop) {
  remote_srv s;
  uv_thread_t th;
  int err, stop;
  ck_assert_int_eq(uv_sem_init(&s.ready, 0), 0);
  ck_assert_int_eq(uv_thread_create(&th, remote_srv_main, &s), 0);
  uv_sem_wait(&s.ready);
  uv_sem_destroy(&s.ready);
  if (s.serve_err != 0) {
    uv_thread_join(&th);
    return s.serve_err;
  }
  err = uva_block_on(loop, uva_spawn(loop, remote_body, &s), NULL);
  if (err == 0)
    err = uva_spawn_on_blocking(&s.loop, remote_add, NULL, NULL);
  /* one failure per run: a second try gets through (the first one's
   * UV_ENOMEM is the run's report) */
  while ((stop = uva_spawn_on_blocking(&s.loop, remote_stop, &s.loop, NULL)) ==
         UV_ENOMEM)
    if (err == 0)
      err = stop;
  ck_assert_int_eq(stop, 0);
  uv_thread_join(&th);
  return err;
}

typedef struct {
  const char *name;
  int (*fn)(uv_loop_t *loop);
} scenario_t;

/* ---- sync primitives (issue 10) ----------------------------------------- */

typedef struct {
  uva_mutex_t *m;
  uva_rwlock_t *rw;
  uva_semaphore_t *s;
  uva_notify_t *n;
  uva_barrier_t *b;
} sync_ctx;

static int sync_body(void *arg, uva_result_t *result) {
  sync_ctx *c = arg;
  int err;
  (void)result;
  if ((err = uva_await(uva_mutex_lock(c->m), NULL)) != 0)
    return err;
  ck_assert_int_eq(uva_mutex_unlock(c->m), 0);
  if ((err = uva_await(uva_rwlock_write(c->rw), NULL)) != 0)
    return err;
  ck_assert_int_eq(uva_rwlock_write_unlock(c->rw), 0);
  if ((err = uva_await(uva_semaphore_acquire(c->s, 1), NULL)) != 0)
    return err;
  /* a waiting acquire: it holds the loop's async handle (an allocation) */
  err = uva_await(uva_timeout(uva_semaphore_acquire(c->s, 1), 1), NULL);
  ck_assert_int_eq(uva_semaphore_release(c->s, 1), 0);
  if (err != UV_ETIMEDOUT)
    return err;
  ck_assert_int_eq(uva_notify_one(c->n), 0);
  if ((err = uva_await(uva_notify_notified(c->n), NULL)) != 0)
    return err;
  err = uva_await(uva_timeout(uva_notify_notified(c->n), 1), NULL);
  if (err != UV_ETIMEDOUT)
    return err;
  return uva_await(uva_barrier_wait(c->b), NULL);
}

/* Mutex, RwLock, Semaphore, Notify, Barrier: new, lock/acquire futures,
 * waits with a timeout. */
static int sc_sync_locks(uv_loop_t *loop) {
  sync_ctx c;
  int err;
  memset(&c, 0, sizeof(c));
  if ((err = uva_mutex_new(loop, &c.m)) == 0 &&
      (err = uva_rwlock_new(loop, &c.rw)) == 0 &&
      (err = uva_semaphore_new(loop, 1, &c.s)) == 0 &&
      (err = uva_notify_new(loop, &c.n)) == 0 &&
      (err = uva_barrier_new(loop, 1, &c.b)) == 0)
    err = uva_block_on(loop, uva_spawn(loop, sync_body, &c), NULL);
  uva_mutex_free(c.m);
  uva_rwlock_free(c.rw);
  uva_semaphore_free(c.s);
  uva_notify_free(c.n);
  uva_barrier_free(c.b);
  return err;
}

/* watch, broadcast and oneshot. */
static int sc_sync_values(uv_loop_t *loop) {
  uva_watch_t *w = NULL;
  uva_watch_rx_t *wrx = NULL;
  uva_broadcast_t *b = NULL;
  uva_broadcast_rx_t *brx = NULL;
  uva_oneshot_t *tx;
  uva_future_t *rx;
  uva_value_t v;
  int x = 1, got = 0, err;
  if ((err = uva_watch_new(loop, sizeof(int), &x, &w)) == 0 &&
      (err = uva_watch_subscribe(w, &wrx)) == 0 &&
      (err = uva_watch_send(w, &x)) == 0 &&
      (err = uva_block_on(loop, uva_watch_changed(wrx), NULL)) == 0 &&
      /* a waiting changed holds the async handle (an allocation) */
      (err = uva_block_on(loop, uva_timeout(uva_watch_changed(wrx), 1),
                          NULL)) == UV_ETIMEDOUT &&
      (err = uva_watch_send(w, &x)) == 0 &&
      (err = uva_broadcast_new(loop, sizeof(int), 2, &b)) == 0 &&
      (err = uva_broadcast_subscribe(b, &brx)) == 0 &&
      (err = uva_broadcast_send(b, &x)) == 0 &&
      (err = uva_block_on(loop, uva_broadcast_recv(brx, &got), NULL)) == 0)
    ck_assert_int_eq(got, 1);
  uva_watch_rx_free(wrx);
  uva_watch_free(w);
  uva_broadcast_rx_free(brx);
  uva_broadcast_free(b);
  if (err != 0)
    return err;
  if ((err = uva_oneshot_new(loop, &tx, &rx)) != 0) {
    ck_assert_int_eq(uva_future_status(rx), err);
    uva_future_free(rx);
    return err;
  }
  ck_assert_int_eq(uva_oneshot_send_u64(tx, 9), 0);
  if ((err = uva_block_on(loop, rx, &v)) != 0)
    return err;
  ck_assert_uint_eq(v.u64, 9);
  return 0;
}

static const scenario_t scenarios[] = {
    {"future_new+then", sc_future_then},
    {"ready+block_on", sc_ready},
    {"spawn", sc_spawn},
    {"spawn_ex+await+yield", sc_spawn_ex_await},
    {"nested tasks", sc_nested_tasks},
    {"sleep+cancel/free/detach", sc_sleep_cancel},
    {"timeout", sc_timeout},
    {"join", sc_join},
    {"select", sc_select},
    {"fs read_file/write_file", sc_fs_whole},
    {"fs open/write/read/close", sc_fs_fd},
    {"spawn_blocking", sc_spawn_blocking},
    {"spawn_blocking_ex", sc_spawn_blocking_ex},
    {"loop_shutdown", sc_shutdown},
    {"chan tasks", sc_chan_tasks},
    {"chan send_blocking", sc_chan_thread},
    {"poll+wakers", sc_poll},
    {"idle handles", sc_idle_handles},
    {"tcp streams", sc_tcp},
    {"adopt+release", sc_adopt},
    {"udp", sc_udp},
    {"dns", sc_dns},
    {"signal", sc_signal},
    {"asyncfd", sc_asyncfd},
    {"process", sc_process},
    {"token", sc_token},
    {"group", sc_group},
    {"interval", sc_interval},
    {"first_ok+map+and_then", sc_combinators},
    {"task_local", sc_task_local},
    {"sync locks", sc_sync_locks},
    {"sync values", sc_sync_values},
    {"remote (two loops)", sc_remote},
};
#define NSCENARIOS ((int)(sizeof(scenarios) / sizeof(scenarios[0])))

/* Injection points per scenario, shared with the parent when Check forks. */
static long *points;

START_TEST(scenario) {
  const scenario_t *sc = &scenarios[_i];
  const char *only = getenv("FAULTS_ONLY"), *from = getenv("FAULTS_FROM");
  long n = 1;

  if (only != NULL && atoi(only) != _i)
    return;
  if (from != NULL) {
    n = atol(from);
    trace = 1;
  }
  for (;; n++) {
    uv_loop_t loop;
    int r;
    atomic_store(&nallocs, 0);
    atomic_store(&injected, 0);
    atomic_store(&live, 0);
    atomic_store(&fail_at, n);
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    r = sc->fn(&loop);
    atomic_store(&fail_at, 0);
    if (atomic_load(&injected) == 0)
      ck_assert_msg(r == 0, "%s: %s without an injected failure", sc->name,
                    uv_err_name(r));
    else
      ck_assert_msg(r == UV_ENOMEM,
                    "%s, allocation %ld failed: the scenario reported %s",
                    sc->name, n, r == 0 ? "success" : uv_err_name(r));
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    ck_assert_msg(atomic_load(&live) == 0,
                  "%s, allocation %ld failed: %ld allocations leaked",
                  sc->name, n, atomic_load(&live));
    if (atomic_load(&injected) == 0)
      break;
  }
  points[_i] = n - 1;
  printf("faults: %-26s %3ld injection points\n", sc->name, n - 1);
  fflush(stdout);
}
END_TEST

int main(void) {
  Suite *s = suite_create("faults");
  TCase *tc = tcase_create("enomem");
  long total = 0;
  int i, rc;

  points = mmap(NULL, NSCENARIOS * sizeof(long), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (points == MAP_FAILED)
    return EXIT_FAILURE;
  if (uva_replace_allocator(fi_malloc, fi_realloc, fi_calloc, fi_free) != 0)
    return EXIT_FAILURE;
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, scenario, 0, NSCENARIOS);
  suite_add_tcase(s, tc);
  rc = test_run_suite(s);
  for (i = 0; i < NSCENARIOS; i++)
    total += points[i];
  printf("faults: %d scenarios, %ld injection points, %ld runs\n", NSCENARIOS,
         total, total + NSCENARIOS);
  return rc;
}
