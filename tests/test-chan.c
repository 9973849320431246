/* Channels: bounded FIFO, backpressure, close, try_*, many senders and
 * receivers, senders on other threads. */
#include "test-util.h"

#include <stdatomic.h>

typedef struct {
  uv_loop_t *loop;
  uva_chan_t *ch;
  int id;
  int n;
  uint64_t sum;
} ctx_t;

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uva_chan_t *ch = (uva_chan_t *)1;
  int x = 0;
  ck_assert_int_eq(uva_chan_new(NULL, 4, 4, &ch), UV_EINVAL);
  ck_assert_ptr_null(ch);
  ck_assert_int_eq(uva_chan_new(loop, 0, 4, &ch), UV_EINVAL);
  ck_assert_int_eq(uva_chan_new(loop, 4, 0, &ch), UV_EINVAL);
  ck_assert_int_eq(uva_chan_new(loop, 4, 4, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_chan_new(loop, (size_t)1 << 40, (size_t)1 << 40, &ch), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_chan_send(NULL, &x)), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_chan_recv(NULL, &x)), UV_EINVAL);
  ck_assert_int_eq(uva_chan_try_send(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_chan_try_recv(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_chan_send_blocking(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_chan_close(NULL), UV_EINVAL);
  uva_chan_free(NULL);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &ch), 0);
  uva_future_t *f = uva_chan_send(ch, NULL);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  f = uva_chan_recv(ch, NULL);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  ck_assert_int_eq(uva_chan_try_send(ch, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_chan_try_recv(ch, NULL), UV_EINVAL);
  /* blocking send on the loop's own thread would never wake up */
  ck_assert_int_eq(uva_chan_send_blocking(ch, &x), UV_EINVAL);
  uva_chan_free(ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(try_ops_and_close) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  int v;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &ch), 0);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), UV_EAGAIN);
  v = 1;
  ck_assert_int_eq(uva_chan_try_send(ch, &v), 0);
  v = 2;
  ck_assert_int_eq(uva_chan_try_send(ch, &v), 0);
  v = 3;
  ck_assert_int_eq(uva_chan_try_send(ch, &v), UV_EAGAIN);
  ck_assert_int_eq(uva_chan_close(ch), 0);
  ck_assert_int_eq(uva_chan_close(ch), UV_EPIPE);
  ck_assert_int_eq(uva_chan_try_send(ch, &v), UV_EPIPE);
  uva_future_t *f = uva_chan_send(ch, &v);
  ck_assert_int_eq(uva_future_status(f), UV_EPIPE);
  uva_future_free(f);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), 0);
  ck_assert_int_eq(v, 1);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), 0);
  ck_assert_int_eq(v, 2);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), UV_EOF);
  f = uva_chan_recv(ch, &v);
  ck_assert_int_eq(uva_future_status(f), UV_EOF);
  uva_future_free(f);
  uva_chan_free(ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int producer(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  (void)r;
  for (int i = 0; i < c->n; i++) {
    int64_t v = (int64_t)c->id * 1000000 + i;
    ck_assert_int_eq(uva_await(uva_chan_send(c->ch, &v), NULL), 0);
  }
  return 0;
}

static int consumer(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  int64_t v, last_seen[4] = {-1, -1, -1, -1};
  int st;
  (void)r;
  while ((st = uva_await(uva_chan_recv(c->ch, &v), NULL)) == 0) {
    int id = (int)(v / 1000000);
    /* each receiver sees each sender's messages in the order sent */
    ck_assert_int_gt(v, last_seen[id]);
    last_seen[id] = v;
    c->sum += (uint64_t)v;
    c->n++;
  }
  ck_assert_int_eq(st, UV_EOF);
  return 0;
}

static int closer(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_future_t **hs = (uva_future_t **)(uintptr_t)c->sum;
  (void)r;
  for (int i = 0; i < c->n; i++)
    ck_assert_int_eq(uva_await(hs[i], NULL), 0);
  return uva_chan_close(c->ch);
}

START_TEST(many_to_many_backpressure) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  ctx_t prod[4], cons[3], cl;
  uva_future_t *ph[4], *ch_[4];
  uint64_t want = 0, got = 0;
  int i, total = 0;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int64_t), 3, &ch), 0);
  for (i = 0; i < 4; i++) {
    prod[i] = (ctx_t){loop, ch, i, 500, 0};
    for (int k = 0; k < 500; k++)
      want += (uint64_t)i * 1000000 + (uint64_t)k;
    ph[i] = uva_spawn(loop, producer, &prod[i]);
  }
  for (i = 0; i < 3; i++) {
    cons[i] = (ctx_t){loop, ch, 0, 0, 0};
    ch_[i] = uva_spawn(loop, consumer, &cons[i]);
  }
  cl = (ctx_t){loop, ch, 0, 4, (uint64_t)(uintptr_t)ph};
  ch_[3] = uva_spawn(loop, closer, &cl);
  uva_result_t res[4];
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, ch_, 4, res), NULL), 0);
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(res[i].status, 0);
  for (i = 0; i < 3; i++) {
    got += cons[i].sum;
    total += cons[i].n;
    ck_assert_int_gt(cons[i].n, 0); /* every receiver took part */
  }
  ck_assert_int_eq(total, 2000);
  ck_assert_uint_eq(got, want);
  uva_chan_free(ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int order_log[16];
static int order_n;
static int ordered_recv(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  int v;
  (void)r;
  ck_assert_int_eq(uva_await(uva_chan_recv(c->ch, &v), NULL), 0);
  order_log[order_n++] = c->id * 100 + v;
  return 0;
}

START_TEST(waiters_fifo) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  ctx_t c[3];
  uva_future_t *h[3];
  int i, v;
  order_n = 0;
  /* capacity 3: a message given to a receiver that has not run yet still
   * counts against the capacity until the receiver takes it */
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 3, &ch), 0);
  for (i = 0; i < 3; i++) {
    c[i] = (ctx_t){loop, ch, i, 0, 0};
    h[i] = uva_spawn(loop, ordered_recv, &c[i]);
  }
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1); /* all three waiting */
  /* the receivers keep the loop alive while they wait */
  for (i = 0; i < 3; i++) {
    v = i + 1;
    ck_assert_int_eq(uva_chan_try_send(ch, &v), 0);
  }
  uva_result_t res[3];
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, h, 3, res), NULL), 0);
  ck_assert_int_eq(order_n, 3);
  ck_assert_int_eq(order_log[0], 1);
  ck_assert_int_eq(order_log[1], 102);
  ck_assert_int_eq(order_log[2], 203);
  uva_chan_free(ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(waiting_senders) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  int v, i;
  uva_future_t *s[3];
  then_rec rec[5];
  memset(rec, 0, sizeof(rec));
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  for (i = 0; i < 3; i++) {
    v = 10 + i;
    s[i] = uva_chan_send(ch, &v); /* msg copied: v may change */
  }
  /* lazy: nothing happens until a consumer takes them on */
  ck_assert_int_eq(uva_future_status(s[0]), UVA_PENDING);
  ck_assert_int_eq(uva_chan_len(ch), 0);
  ck_assert_int_eq(uva_future_cancel(s[2]), 0); /* never started: no effect */
  for (i = 0; i < 3; i++)
    ck_assert_int_eq(uva_future_then(s[i], record, &rec[i]), 0);
  ck_assert_int_eq(uva_chan_len(ch), 1); /* 10 in, 11 waits for room */
  ck_assert_int_eq(uva_chan_try_send(ch, &v), UV_EAGAIN);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), 0);
  ck_assert_int_eq(v, 10);
  ck_assert_int_eq(uva_chan_len(ch), 1); /* 11 moved in */
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), 0);
  ck_assert_int_eq(v, 11);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), UV_EAGAIN); /* 12 was cancelled */
  v = 5;
  ck_assert_int_eq(uva_future_then(uva_chan_send(ch, &v), record, &rec[3]), 0);
  ck_assert_int_eq(uva_future_then(uva_chan_send(ch, &v), record, &rec[4]), 0);
  ck_assert_int_eq(uva_chan_close(ch), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(rec[0].status, 0);
  ck_assert_int_eq(rec[1].status, 0);
  ck_assert_int_eq(rec[2].status, UV_ECANCELED);
  ck_assert_int_eq(rec[3].status, 0);
  ck_assert_int_eq(rec[4].status, UV_EPIPE); /* never got in */
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), 0);
  ck_assert_int_eq(v, 5);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), UV_EOF);
  uva_chan_free(ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(free_with_waiters) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  int v = 1, out;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  then_rec rec[4];
  memset(rec, 0, sizeof(rec));
  uva_future_t *r = uva_chan_recv(ch, &out);
  uva_future_t *r2 = uva_chan_recv(ch, &out);
  ck_assert_int_eq(uva_future_then(r, record, &rec[0]), 0); /* waits */
  uva_chan_free(ch);
  /* r2 was never started: consuming it after the free reports it */
  ck_assert_int_eq(uva_block_on(loop, r2, NULL), UV_ECANCELED);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(rec[0].status, UV_ECANCELED);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  ck_assert_int_eq(uva_future_then(uva_chan_send(ch, &v), record, &rec[1]), 0);
  ck_assert_int_eq(uva_future_then(uva_chan_send(ch, &v), record, &rec[2]), 0);
  uva_chan_free(ch);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(rec[1].status, 0);
  ck_assert_int_eq(rec[2].status, UV_ECANCELED);
  /* A receiver waited outside uv_run: libuv finishes closing uva's async
   * handle in the next run. */
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(cancelled_recv_never_writes) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  int out = -1, v = 7;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 4, &ch), 0);
  uva_future_t *r = uva_chan_recv(ch, &out);
  uva_future_free(r);
  ck_assert_int_eq(uva_chan_try_send(ch, &v), 0);
  ck_assert_int_eq(out, -1);
  ck_assert_int_eq(uva_chan_try_recv(ch, &out), 0);
  ck_assert_int_eq(out, 7);
  uva_chan_free(ch);
  LOOP_CLOSE(loop); /* as above */
}
END_TEST

/* A receiver task whose receive has completed, but which has not run yet,
 * is cancelled: the message is in its out buffer, so its await must report
 * it (0); the cancel shows at the task's next await.  Found by the
 * cross-thread stress test: the await returned UV_ECANCELED and the message
 * was lost to a receiver that trusted the status. */
typedef struct {
  uva_chan_t *ch;
  int v;
  int first;
  int second;
} late_cancel_t;

static int recv_then_recv(void *arg, uva_result_t *r) {
  late_cancel_t *c = arg;
  (void)r;
  c->first = uva_await(uva_chan_recv(c->ch, &c->v), NULL);
  /* the timeout only turns the old hang into a failure */
  c->second = uva_await(uva_timeout(uva_chan_recv(c->ch, &c->v), 10000), NULL);
  return 0;
}

START_TEST(cancel_after_delivery_keeps_message) {
  LOOP_INIT(loop);
  late_cancel_t c = {NULL, -1, 1, 1};
  int v = 42;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &c.ch), 0);
  uva_future_t *h = uva_spawn(loop, recv_then_recv, &c);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1); /* waiting */
  ck_assert_int_eq(uva_chan_try_send(c.ch, &v), 0); /* delivered */
  ck_assert_int_eq(c.v, 42); /* an awaiting task takes it for sure: straight to out */
  ck_assert_int_eq(uva_future_cancel(h), 0); /* before the task runs */
  ck_assert_int_eq(uva_block_on(loop, h, NULL), UV_ECANCELED);
  ck_assert_int_eq(c.first, 0);
  ck_assert_int_eq(c.v, 42);
  ck_assert_int_eq(c.second, UV_ECANCELED);
  uva_chan_free(c.ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* A task cancelled while it runs awaits a receive of a message that is
 * already there: the receive is lazy, so the await reports the cancel and
 * takes nothing; the message stays in the channel.  (Before receives were
 * lazy, found by the stress test: the await freed a completed receive and
 * returned UV_ECANCELED, and the message was lost.) */
typedef struct {
  uva_chan_t *ch;
  uva_future_t **self;
  int v, first, second;
} self_cancel_t;

static int cancel_self_then_recv(void *arg, uva_result_t *r) {
  self_cancel_t *c = arg;
  int m = 9;
  (void)r;
  ck_assert_int_eq(uva_future_cancel(*c->self), 0);
  ck_assert_int_eq(uva_chan_try_send(c->ch, &m), 0);
  c->first = uva_await(uva_chan_recv(c->ch, &c->v), NULL);
  c->second = uva_await(uva_timeout(uva_chan_recv(c->ch, &c->v), 10000), NULL);
  return 0;
}

START_TEST(cancelled_task_keeps_message_received_at_once) {
  LOOP_INIT(loop);
  uva_future_t *h;
  self_cancel_t c = {NULL, &h, -1, 1, 1};
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &c.ch), 0);
  h = uva_spawn(loop, cancel_self_then_recv, &c);
  ck_assert_int_eq(uva_block_on(loop, h, NULL), UV_ECANCELED);
  ck_assert_int_eq(c.first, UV_ECANCELED);
  /* the cancel was reported once; the next receive gets the message */
  ck_assert_int_eq(c.second, 0);
  ck_assert_int_eq(c.v, 9); /* not lost */
  uva_chan_free(c.ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* ---- other threads ------------------------------------------------------ */

typedef struct {
  uva_chan_t *ch;
  int id;
  int n;
  int result;
} tctx_t;

static void thread_sender(void *arg) {
  tctx_t *t = arg;
  for (int i = 0; i < t->n; i++) {
    uint64_t v = ((uint64_t)t->id << 32) | (uint64_t)i;
    int st = uva_chan_send_blocking(t->ch, &v);
    if (st != 0) {
      t->result = st;
      return;
    }
  }
  /* a last message says this sender is done */
  uint64_t end = ((uint64_t)t->id << 32) | 0xffffffffu;
  t->result = uva_chan_send_blocking(t->ch, &end);
}

typedef struct {
  uva_chan_t *ch;
  uint64_t count;
  uint64_t sum;
  int nthreads;
} rctx_t;

static int thread_receiver(void *arg, uva_result_t *r) {
  rctx_t *c = arg;
  uint64_t v, next[8] = {0};
  int st;
  (void)r;
  int ended = 0;
  while (ended < c->nthreads &&
         (st = uva_await(uva_chan_recv(c->ch, &v), NULL)) == 0) {
    uint32_t id = (uint32_t)(v >> 32), seq = (uint32_t)v;
    if (seq == 0xffffffffu) {
      ended++;
      continue;
    }
    ck_assert_uint_eq(seq, next[id]); /* nothing lost, nothing duplicated */
    next[id]++;
    c->count++;
    c->sum += v;
  }
  /* after the close, nothing is left */
  ck_assert_int_eq(uva_chan_close(c->ch), 0);
  ck_assert_int_eq(uva_await(uva_chan_recv(c->ch, &v), NULL), UV_EOF);
  return 0;
}

START_TEST(threads_send_blocking) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  enum { T = 3 };
  int N = getenv("UVA_TEST_SMALL") ? 2000 : 100000;
  uv_thread_t th[T];
  tctx_t tc[T];
  rctx_t rc = {0};
  int i;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(uint64_t), 16, &ch), 0);
  rc.ch = ch;
  rc.nthreads = T;
  uva_future_t *rh = uva_spawn(loop, thread_receiver, &rc);
  for (i = 0; i < T; i++) {
    tc[i] = (tctx_t){ch, i, N, 1};
    ck_assert_int_eq(uv_thread_create(&th[i], thread_sender, &tc[i]), 0);
  }
  ck_assert_int_eq(uva_block_on(loop, rh, NULL), 0);
  for (i = 0; i < T; i++) {
    uv_thread_join(&th[i]);
    ck_assert_int_eq(tc[i].result, 0);
  }
  ck_assert_uint_eq(rc.count, (uint64_t)T * (uint64_t)N);
  uva_chan_free(ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static atomic_int first_sent;
static void blocked_sender(void *arg) {
  tctx_t *t = arg;
  uint64_t v = 1;
  int st = uva_chan_send_blocking(t->ch, &v); /* fills */
  atomic_store(&first_sent, 1);
  if (st == 0)
    st = uva_chan_send_blocking(t->ch, &v); /* blocks (or finds it closed) */
  t->result = st;
}

/* Closes the channel once the thread's first message is in. */
static void close_later(uv_timer_t *h) {
  uva_chan_t *ch = h->data;
  if (!atomic_load(&first_sent))
    return; /* ticks again */
  ck_assert_int_eq(uva_chan_close(ch), 0);
  uv_close((uv_handle_t *)h, NULL);
}

START_TEST(close_wakes_blocked_thread) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  uv_thread_t th;
  uv_timer_t t;
  tctx_t tc;
  uint64_t v;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(uint64_t), 1, &ch), 0);
  tc = (tctx_t){ch, 0, 0, 1};
  atomic_store(&first_sent, 0);
  ck_assert_int_eq(uv_thread_create(&th, blocked_sender, &tc), 0);
  uv_timer_init(loop, &t);
  t.data = ch; /* our own handle: its data field is ours */
  uv_timer_start(&t, close_later, 20, 10);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  uv_thread_join(&th);
  ck_assert_int_eq(tc.result, UV_EPIPE);
  /* the message sent before the close is still delivered */
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), 0);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), UV_EOF);
  uva_chan_free(ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static uva_chan_t *late_ch;
static void late_sender(void *arg) {
  int m = 42;
  (void)arg;
  uv_sleep(50);
  uva_chan_send_blocking(late_ch, &m);
}

/* Found in review: two receives of one channel inside a select both gave up
 * their wait when the channel closed, so the loop stopped listening to other
 * threads and a later send_blocking was lost. */
START_TEST(select_of_two_receives_then_thread) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  int a, b, c = 0;
  uva_result_t win;
  uv_thread_t th;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  uva_future_t *kids[2] = {uva_chan_recv(ch, &a), uva_chan_recv(ch, &b)};
  uva_future_t *sel = uva_select(loop, kids, 2, &win);
  ck_assert_int_eq(uva_chan_close(ch), 0);
  ck_assert_int_eq(uva_block_on(loop, sel, NULL), 0);
  ck_assert_int_eq(win.status, UV_EOF);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &late_ch), 0);
  ck_assert_int_eq(uv_thread_create(&th, late_sender, NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_chan_recv(late_ch, &c), NULL), 0);
  ck_assert_int_eq(c, 42);
  uv_thread_join(&th);
  uva_chan_free(late_ch);
  uva_chan_free(ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static uva_waker_t *kept_waker;
static uva_chan_t *walk_ch;
static int pending_poll(void *s, uva_waker_t *w, uva_result_t *o) {
  (void)s;
  (void)o;
  if (kept_waker == NULL)
    kept_waker = uva_waker_clone(w);
  return UVA_PENDING;
}
static void wake_then_send(void *arg) {
  int m = 7;
  (void)arg;
  uva_waker_wake(kept_waker);   /* the inbox holds the waker */
  uva_waker_drop(kept_waker);   /* only the future's reference is left */
  uva_chan_send_blocking(walk_ch, &m); /* and the channel */
}
static void hold_loop_thread(uv_timer_t *t) {
  uv_thread_t th;
  uv_thread_create(&th, wake_then_send, NULL);
  uv_thread_join(&th);
  uv_close((uv_handle_t *)t, NULL);
}

/* Found in review: while uva walked its cross-thread inbox, the channel's
 * callback settled a select that freed the poll future whose waker was next
 * on the walk. */
START_TEST(inbox_walk_survives_frees) {
  LOOP_INIT(loop);
  int out = 0;
  uva_result_t win;
  uv_timer_t t;
  kept_waker = NULL;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 4, &walk_ch), 0);
  uva_future_t *kids[2] = {uva_chan_recv(walk_ch, &out),
                           uva_future_poll(loop, pending_poll, NULL, NULL)};
  uva_future_t *sel = uva_select(loop, kids, 2, &win);
  uv_timer_init(loop, &t);
  uv_timer_start(&t, hold_loop_thread, 10, 0);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, sel, &v), 0);
  ck_assert_uint_eq(v.u64, 0);
  ck_assert_int_eq(out, 7);
  uva_chan_free(walk_ch);
  LOOP_CLOSE(loop); /* the user's timer closes in the next run */
}
END_TEST

/* Channel operations that complete at once (lazy futures since exactly
 * once; a shared ready future before): every consumer must take them like
 * any other (then, join, select, timeout, free, detach, block_on), and the
 * loop must close afterwards. */
START_TEST(completed_at_once_futures_consumed_everywhere) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  uint64_t x = 1, out = 0;
  then_rec r = {0};
  uva_future_t *kids[2];
  uva_result_t res[2], win;
  uva_value_t v;

  ck_assert_int_eq(uva_chan_new(loop, sizeof(uint64_t), 8, &ch), 0);
  /* then: the callback still runs, from the loop, after the call */
  ck_assert_int_eq(uva_future_then(uva_chan_send(ch, &x), record, &r), 0);
  ck_assert_int_eq(r.calls, 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, 0);
  /* join and select of two of them */
  kids[0] = uva_chan_send(ch, &x);
  kids[1] = uva_chan_recv(ch, &out);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, kids, 2, res), NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_int_eq(res[1].status, 0);
  ck_assert_uint_eq(out, 1);
  kids[0] = uva_chan_send(ch, &x);
  kids[1] = uva_chan_send(ch, &x);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, kids, 2, &win), &v), 0);
  ck_assert_uint_eq(v.u64, 0);
  /* timeout passes it through; block_on, free and detach consume it */
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_chan_recv(ch, &out), 10), NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_chan_recv(ch, &out), NULL), 0);
  uva_future_free(uva_chan_send(ch, &x));
  uva_future_detach(uva_chan_send(ch, &x));
  kids[0] = uva_chan_send(ch, &x);
  /* lazy: cancelled before a consumer took it on, it sends nothing */
  ck_assert_int_eq(uva_future_cancel(kids[0]), 0);
  ck_assert_int_eq(uva_future_status(kids[0]), UV_ECANCELED);
  uva_future_free(kids[0]);
  uva_chan_free(ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* A receiver parks on a channel no thread has used yet (no fence: see park
 * in lib/sync/chan.c), then a thread's first send races with it: the first send
 * always wakes the loop, so the message arrives every time. */
typedef struct {
  uva_chan_t *ch;
  int delay;
} first_send_t;

static void first_sender(void *arg) {
  first_send_t *fs = arg;
  uint64_t v = 42;
  for (volatile int i = 0; i < fs->delay; i++)
    ;
  ck_assert_int_eq(uva_chan_send_blocking(fs->ch, &v), 0);
}

static int first_receiver(void *arg, uva_result_t *r) {
  uv_thread_t t;
  uint64_t v = 0;
  int st;
  ck_assert_int_eq(uv_thread_create(&t, first_sender, arg), 0);
  st = uva_await(uva_chan_recv(((first_send_t *)arg)->ch, &v), NULL);
  uv_thread_join(&t);
  r->value.u64 = v;
  return st;
}

START_TEST(first_thread_send_wakes_parked_receiver) {
  int rounds = getenv("UVA_TEST_SMALL") ? 200 : 3000, i;
  for (i = 0; i < rounds; i++) {
    LOOP_INIT(loop);
    first_send_t fs = {NULL, (i * 7919) % 3000};
    uva_value_t v;
    ck_assert_int_eq(uva_chan_new(loop, sizeof(uint64_t), 4, &fs.ch), 0);
    ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, first_receiver, &fs), &v), 0);
    ck_assert_uint_eq(v.u64, 42);
    uva_chan_free(fs.ch);
    LOOP_CLOSE(loop);
  }
}
END_TEST

/* ---- uva_chan_send_wait / uva_chan_recv_wait: tasks that park ------------ */

/* A task that must wait parks on a node on its own stack (lib/sync/chan-ops.c): the
 * hand-off, order, backpressure, cancel, close and free must behave as the
 * future-based calls do. */
typedef struct {
  uva_chan_t *ch;
  int n;
  int status;   /* of the last call */
  int got;      /* messages received */
  int bad;      /* out of order */
  int mix;      /* alternate with uva_await(uva_chan_recv(...)) */
} wctx_t;

static int w_sender(void *arg, uva_result_t *r) {
  wctx_t *c = arg;
  (void)r;
  for (int i = 1; i <= c->n; i++)
    if ((c->status = uva_chan_send_wait(c->ch, &i)) != 0)
      return c->status;
  return uva_chan_close(c->ch);
}

static int w_receiver(void *arg, uva_result_t *r) {
  wctx_t *c = arg;
  int v, k = 0;
  (void)r;
  for (;;) {
    v = -1;
    c->status = (c->mix && (k++ & 1)) ? uva_await(uva_chan_recv(c->ch, &v), NULL)
                                      : uva_chan_recv_wait(c->ch, &v);
    if (c->status != 0)
      break;
    if (v != ++c->got)
      c->bad++;
  }
  return c->status == UV_EOF ? 0 : c->status;
}

START_TEST(wait_calls_park_and_hand_off) {
  size_t caps[] = {1, 3, 64};
  for (int ci = 0; ci < 3; ci++)
    for (int mix = 0; mix < 2; mix++) {
      LOOP_INIT(loop);
      wctx_t s = {NULL, 1000, 1, 0, 0, 0}, rc;
      uva_future_t *h[2];
      uva_result_t res[2];
      ck_assert_int_eq(uva_chan_new(loop, sizeof(int), caps[ci], &s.ch), 0);
      rc = s;
      rc.mix = mix;
      /* the receiver first (it parks on an empty channel), then the
       * sender (it parks whenever the channel is full) */
      h[0] = uva_spawn(loop, w_receiver, &rc);
      h[1] = uva_spawn(loop, w_sender, &s);
      ck_assert_int_eq(uva_block_on(loop, uva_join(loop, h, 2, res), NULL), 0);
      ck_assert_int_eq(res[0].status, 0);
      ck_assert_int_eq(res[1].status, 0);
      ck_assert_int_eq(rc.got, 1000);
      ck_assert_int_eq(rc.bad, 0);
      ck_assert_int_eq(rc.status, UV_EOF);
      uva_chan_free(s.ch);
      LOOP_CLOSE_NOW(loop);
    }
}
END_TEST

typedef struct {
  uva_chan_t *ch;
  int v;
  int status;
  int returned;
} one_t;

static int w_recv_once(void *arg, uva_result_t *r) {
  one_t *o = arg;
  (void)r;
  o->status = uva_chan_recv_wait(o->ch, &o->v);
  o->returned = 1;
  return 0;
}

static int w_send_once(void *arg, uva_result_t *r) {
  one_t *o = arg;
  (void)r;
  o->status = uva_chan_send_wait(o->ch, &o->v);
  o->returned = 1;
  return 0;
}

START_TEST(wait_parked_cancel_takes_nothing) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  one_t o = {NULL, -1, 1, 0};
  int v;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  /* a parked receive, cancelled: UV_ECANCELED, out untouched, and the next
   * message stays in the channel for the next receiver */
  o.ch = ch;
  uva_future_t *h = uva_spawn(loop, w_recv_once, &o);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1); /* parked */
  ck_assert_int_eq(o.returned, 0);
  ck_assert_int_eq(uva_future_cancel(h), 0);
  /* a cancelled task's join future reports the cancel */
  ck_assert_int_eq(uva_block_on(loop, h, NULL), UV_ECANCELED);
  ck_assert_int_eq(o.status, UV_ECANCELED);
  ck_assert_int_eq(o.v, -1);
  v = 5;
  ck_assert_int_eq(uva_chan_try_send(ch, &v), 0);
  ck_assert_int_eq(o.v, -1); /* nobody left on the list writes to it */
  ck_assert_int_eq(uva_chan_len(ch), 1);
  /* a parked send (the channel is full), cancelled: its message never
   * gets in */
  one_t s = {ch, 6, 1, 0};
  h = uva_spawn(loop, w_send_once, &s);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(s.returned, 0);
  ck_assert_int_eq(uva_future_cancel(h), 0);
  ck_assert_int_eq(uva_block_on(loop, h, NULL), UV_ECANCELED);
  ck_assert_int_eq(s.status, UV_ECANCELED);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), 0);
  ck_assert_int_eq(v, 5);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), UV_EAGAIN);
  uva_chan_free(ch);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(wait_parked_close_and_free) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  one_t r = {NULL, -1, 1, 0}, s;
  int v = 1;
  uva_future_t *h;
  /* close: a parked receive ends with UV_EOF, a parked send with UV_EPIPE */
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  r.ch = ch;
  h = uva_spawn(loop, w_recv_once, &r);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(uva_chan_close(ch), 0);
  ck_assert_int_eq(uva_block_on(loop, h, NULL), 0);
  ck_assert_int_eq(r.status, UV_EOF);
  uva_chan_free(ch);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  ck_assert_int_eq(uva_chan_try_send(ch, &v), 0);
  s = (one_t){ch, 2, 1, 0};
  h = uva_spawn(loop, w_send_once, &s);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(uva_chan_close(ch), 0);
  ck_assert_int_eq(uva_block_on(loop, h, NULL), 0);
  ck_assert_int_eq(s.status, UV_EPIPE);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), 0);
  ck_assert_int_eq(v, 1);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), UV_EOF);
  uva_chan_free(ch);
  /* free: parked ones end with UV_ECANCELED and the task goes on */
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  r = (one_t){ch, -1, 1, 0};
  h = uva_spawn(loop, w_recv_once, &r);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  uva_chan_free(ch);
  ck_assert_int_eq(uva_block_on(loop, h, NULL), 0);
  ck_assert_int_eq(r.status, UV_ECANCELED);
  ck_assert_int_eq(r.v, -1);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  ck_assert_int_eq(uva_chan_try_send(ch, &v), 0);
  s = (one_t){ch, 2, 1, 0};
  h = uva_spawn(loop, w_send_once, &s);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  uva_chan_free(ch);
  ck_assert_int_eq(uva_block_on(loop, h, NULL), 0);
  ck_assert_int_eq(s.status, UV_ECANCELED);
  LOOP_CLOSE(loop);
}
END_TEST

/* Parked tasks served by plain threads (the channel in locked mode). */
typedef struct {
  uva_chan_t *ch;
  int n;
  int err;
  int bad;
} tpart_t;

static void t_sender(void *arg) {
  tpart_t *p = arg;
  for (int i = 1; i <= p->n && p->err == 0; i++)
    p->err = uva_chan_send_blocking(p->ch, &i);
}

static void t_receiver(void *arg) {
  tpart_t *p = arg;
  int v;
  for (int i = 1; i <= p->n; i++) {
    if ((p->err = uva_chan_recv_blocking(p->ch, &v)) != 0)
      return;
    if (v != i)
      p->bad++;
  }
}

typedef struct {
  tpart_t in, out; /* the thread sends on in.ch, receives on out.ch */
} tpair_t;

static int w_with_threads(void *arg, uva_result_t *r) {
  tpair_t *tp = arg;
  uv_thread_t a, b;
  int v, err = 0;
  (void)r;
  ck_assert_int_eq(uv_thread_create(&a, t_sender, &tp->in), 0);
  ck_assert_int_eq(uv_thread_create(&b, t_receiver, &tp->out), 0);
  for (int i = 1; i <= tp->in.n && err == 0; i++) {
    if ((err = uva_chan_recv_wait(tp->in.ch, &v)) == 0 && v != i)
      tp->in.bad++;
    if (err == 0)
      err = uva_chan_send_wait(tp->out.ch, &v);
  }
  uv_thread_join(&a);
  uv_thread_join(&b);
  return err;
}

START_TEST(wait_parked_served_by_threads) {
  LOOP_INIT(loop);
  int n = getenv("UVA_TEST_SMALL") ? 2000 : 20000;
  tpair_t tp = {{NULL, n, 0, 0}, {NULL, n, 0, 0}};
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &tp.in.ch), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &tp.out.ch), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, w_with_threads, &tp), NULL), 0);
  ck_assert_int_eq(tp.in.err, 0);
  ck_assert_int_eq(tp.out.err, 0);
  ck_assert_int_eq(tp.in.bad, 0);
  ck_assert_int_eq(tp.out.bad, 0);
  uva_chan_free(tp.in.ch);
  uva_chan_free(tp.out.ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* A parked send has copied its message, as uva_chan_send does: changing the
 * caller's variable while the task waits changes nothing (small messages
 * are copied onto the task's stack, large ones into a future). */
typedef struct {
  uva_chan_t *ch;
  char *msg;
  int status;
} big_send_t;

static int w_send_shared(void *arg, uva_result_t *r) {
  big_send_t *b = arg;
  (void)r;
  b->status = uva_chan_send_wait(b->ch, b->msg);
  return 0;
}

START_TEST(wait_parked_send_copies_message) {
  size_t sizes[] = {8, 64, 65, 4096};
  for (int i = 0; i < 4; i++) {
    LOOP_INIT(loop);
    size_t n = sizes[i];
    char *shared = malloc(n), *out = malloc(n);
    big_send_t b = {NULL, shared, 1};
    ck_assert_int_eq(uva_chan_new(loop, n, 1, &b.ch), 0);
    memset(shared, 'a', n);
    ck_assert_int_eq(uva_chan_try_send(b.ch, shared), 0); /* full */
    memset(shared, 'b', n);
    uva_future_t *h = uva_spawn(loop, w_send_shared, &b);
    ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1); /* parked */
    memset(shared, 'c', n); /* after the call: must not be what is sent */
    ck_assert_int_eq(uva_chan_try_recv(b.ch, out), 0);
    ck_assert_int_eq(out[0], 'a');
    ck_assert_int_eq(uva_block_on(loop, h, NULL), 0);
    ck_assert_int_eq(b.status, 0);
    ck_assert_int_eq(uva_chan_try_recv(b.ch, out), 0);
    ck_assert_int_eq(out[0], 'b');
    ck_assert_int_eq(out[n - 1], 'b');
    uva_chan_free(b.ch);
    free(shared);
    free(out);
    LOOP_CLOSE(loop);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("chan");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, try_ops_and_close);
  tcase_add_test(tc, many_to_many_backpressure);
  tcase_add_test(tc, waiters_fifo);
  tcase_add_test(tc, waiting_senders);
  tcase_add_test(tc, free_with_waiters);
  tcase_add_test(tc, cancelled_recv_never_writes);
  tcase_add_test(tc, cancel_after_delivery_keeps_message);
  tcase_add_test(tc, cancelled_task_keeps_message_received_at_once);
  tcase_add_test(tc, threads_send_blocking);
  tcase_add_test(tc, close_wakes_blocked_thread);
  tcase_add_test(tc, select_of_two_receives_then_thread);
  tcase_add_test(tc, inbox_walk_survives_frees);
  tcase_add_test(tc, completed_at_once_futures_consumed_everywhere);
  tcase_add_test(tc, first_thread_send_wakes_parked_receiver);
  tcase_add_test(tc, wait_calls_park_and_hand_off);
  tcase_add_test(tc, wait_parked_cancel_takes_nothing);
  tcase_add_test(tc, wait_parked_close_and_free);
  tcase_add_test(tc, wait_parked_served_by_threads);
  tcase_add_test(tc, wait_parked_send_copies_message);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
