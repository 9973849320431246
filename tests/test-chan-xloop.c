/* Channels used between loops (issue 11): tasks of other loops, each loop
 * in its own thread, send to and receive from a channel of loop A, with
 * every rule of chan.h: order, exactly once (also in a select on the other
 * loop), exact capacity, cancelled and dropped operations taking nothing,
 * close waking the other loops' waiters, and the rules of uva_chan_free. */
#include "test-util.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

/* ---- a loop in its own thread running one task ---------------------------- */

typedef struct lt_s {
  uv_thread_t th;
  uv_loop_t loop;
  uva_task_fn fn;
  void *ctx;
  int id;
  int status; /* the task's */
  int closed; /* uv_loop_close's result */
} lt_t;

static void lt_main(void *p) {
  lt_t *t = p;
  if (uv_loop_init(&t->loop) != 0) {
    t->status = -9999;
    return;
  }
  t->status = uva_block_on(&t->loop, uva_spawn(&t->loop, t->fn, t), NULL);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  t->closed = uv_loop_close(&t->loop);
}

static void lt_start(lt_t *t, uva_task_fn fn, void *ctx, int id) {
  memset(t, 0, sizeof(*t));
  t->fn = fn;
  t->ctx = ctx;
  t->id = id;
  t->closed = -1;
  ck_assert_int_eq(uv_thread_create(&t->th, lt_main, t), 0);
}

/* Joins t and checks that its task returned want and its loop closed. */
static void lt_join(lt_t *t, int want) {
  ck_assert_int_eq(uv_thread_join(&t->th), 0);
  ck_assert_int_eq(t->status, want);
  ck_assert_int_eq(t->closed, 0);
}

/* A task on the main thread's loop (A). */
typedef struct {
  uv_loop_t *loop;
  void *ctx;
} home_t;

/* ---- one sender, one receiver, in order ------------------------------------ */

#define N_ORDER 20000

typedef struct {
  uva_chan_t *ch;
  int n;
  int got;   /* messages received */
  int order; /* 1 while every message came in order */
} order_t;

/* Sends 1..n, alternating the task call and an awaited future. */
static int order_sender(order_t *o) {
  int i, err;
  for (i = 1; i <= o->n; i++) {
    if (i % 2)
      err = uva_chan_send_wait(o->ch, &i);
    else
      err = uva_await(uva_chan_send(o->ch, &i), NULL);
    if (err != 0)
      return err;
  }
  return uva_chan_close(o->ch);
}

/* Receives until UV_EOF, alternating as the sender does, and a then-less
 * try_recv now and then. */
static int order_receiver(order_t *o) {
  int v, err, i = 0;
  o->order = 1;
  for (;;) {
    i++;
    if (i % 7 == 0 && (err = uva_chan_try_recv(o->ch, &v)) != UV_EAGAIN) {
      /* got one at once, or UV_EOF */
    } else if (i % 2) {
      err = uva_chan_recv_wait(o->ch, &v);
    } else {
      err = uva_await(uva_chan_recv(o->ch, &v), NULL);
    }
    if (err == UV_EOF)
      return 0;
    if (err != 0)
      return err;
    if (v != ++o->got)
      o->order = 0;
  }
}

static int foreign_send_task(void *arg, uva_result_t *r) {
  (void)r;
  return order_sender(((lt_t *)arg)->ctx);
}
static int foreign_recv_task(void *arg, uva_result_t *r) {
  (void)r;
  return order_receiver(((lt_t *)arg)->ctx);
}
static int home_recv_task(void *arg, uva_result_t *r) {
  (void)r;
  return order_receiver(((home_t *)arg)->ctx);
}
static int home_send_task(void *arg, uva_result_t *r) {
  (void)r;
  return order_sender(((home_t *)arg)->ctx);
}

START_TEST(foreign_sender_in_order) {
  LOOP_INIT(loop);
  order_t o = {NULL, N_ORDER, 0, 0};
  home_t h = {loop, &o};
  lt_t b;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 4, &o.ch), 0);
  lt_start(&b, foreign_send_task, &o, 1);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, home_recv_task, &h), NULL),
                   0);
  lt_join(&b, 0);
  ck_assert_int_eq(o.got, N_ORDER);
  ck_assert_int_eq(o.order, 1);
  uva_chan_free(o.ch);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(foreign_receiver_in_order) {
  LOOP_INIT(loop);
  order_t o = {NULL, N_ORDER, 0, 0};
  home_t h = {loop, &o};
  lt_t b;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 4, &o.ch), 0);
  lt_start(&b, foreign_recv_task, &o, 1);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, home_send_task, &h), NULL),
                   0);
  lt_join(&b, 0);
  ck_assert_int_eq(o.got, N_ORDER);
  ck_assert_int_eq(o.order, 1);
  uva_chan_free(o.ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* Both ends on other loops: A's loop does not run at all meanwhile (its
 * thread only joins the others), and a larger message (parked copies). */
typedef struct {
  int seq;
  char pad[100];
} big_t;

typedef struct {
  uva_chan_t *ch;
  int n, got, order;
} big_ctx_t;

static int big_sender(void *arg, uva_result_t *r) {
  big_ctx_t *c = ((lt_t *)arg)->ctx;
  big_t m;
  int i, err;
  (void)r;
  memset(&m, 0, sizeof(m));
  for (i = 1; i <= c->n; i++) {
    m.seq = i;
    m.pad[99] = (char)i;
    if ((err = uva_chan_send_wait(c->ch, &m)) != 0)
      return err;
  }
  return uva_chan_close(c->ch);
}

static int big_receiver(void *arg, uva_result_t *r) {
  big_ctx_t *c = ((lt_t *)arg)->ctx;
  big_t m;
  int err;
  (void)r;
  c->order = 1;
  while ((err = uva_chan_recv_wait(c->ch, &m)) == 0) {
    if (m.seq != ++c->got || m.pad[99] != (char)m.seq)
      c->order = 0;
  }
  return err == UV_EOF ? 0 : err;
}

START_TEST(both_ends_foreign_home_idle) {
  LOOP_INIT(loop);
  big_ctx_t c = {NULL, N_ORDER, 0, 0};
  lt_t b, d;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(big_t), 1, &c.ch), 0);
  lt_start(&d, big_receiver, &c, 2);
  lt_start(&b, big_sender, &c, 1);
  lt_join(&b, 0);
  lt_join(&d, 0);
  ck_assert_int_eq(c.got, N_ORDER);
  ck_assert_int_eq(c.order, 1);
  ck_assert_uint_eq(uva_chan_len(c.ch), 0);
  uva_chan_free(c.ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- capacity -------------------------------------------------------------- */

#define CAP 3
#define N_CAP 3000

typedef struct {
  uva_chan_t *ch;
  atomic_int over; /* a length above CAP was seen */
  atomic_int sent;
  int stage;       /* the first test's steps */
  int results[4];
} cap_ctx_t;

/* Fills the channel of a loop that does not receive: CAP sends complete at
 * once, then try_send says UV_EAGAIN and a send times out, sending
 * nothing. */
static int cap_filler(void *arg, uva_result_t *r) {
  cap_ctx_t *c = ((lt_t *)arg)->ctx;
  int i, v;
  (void)r;
  for (i = 0; i < CAP; i++) {
    v = i;
    if (uva_chan_send_wait(c->ch, &v) != 0)
      return -1;
  }
  v = 100;
  c->results[0] = uva_chan_try_send(c->ch, &v);
  c->results[1] = uva_await(
      uva_timeout(uva_chan_send(c->ch, &v), 20), NULL);
  c->results[2] = (int)uva_chan_len(c->ch);
  return 0;
}

START_TEST(capacity_foreign_filler) {
  LOOP_INIT(loop);
  cap_ctx_t c;
  lt_t b;
  int v, i;
  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), CAP, &c.ch), 0);
  lt_start(&b, cap_filler, &c, 1);
  lt_join(&b, 0);
  ck_assert_int_eq(c.results[0], UV_EAGAIN);
  ck_assert_int_eq(c.results[1], UV_ETIMEDOUT);
  ck_assert_int_eq(c.results[2], CAP);
  for (i = 0; i < CAP; i++) {
    ck_assert_int_eq(uva_chan_try_recv(c.ch, &v), 0);
    ck_assert_int_eq(v, i);
  }
  ck_assert_int_eq(uva_chan_try_recv(c.ch, &v), UV_EAGAIN); /* 100: never */
  uva_chan_free(c.ch);
  LOOP_CLOSE(loop);
}
END_TEST

static int cap_sender(void *arg, uva_result_t *r) {
  lt_t *t = arg;
  cap_ctx_t *c = t->ctx;
  int i, v, err;
  (void)r;
  for (i = 0; i < N_CAP; i++) {
    v = t->id * 100000 + i;
    err = (i % 3 == 0) ? uva_await(uva_chan_send(c->ch, &v), NULL)
                       : uva_chan_send_wait(c->ch, &v);
    if (err != 0)
      return err;
    atomic_fetch_add(&c->sent, 1);
    if (uva_chan_len(c->ch) > CAP)
      atomic_store(&c->over, 1);
  }
  return 0;
}

typedef struct {
  cap_ctx_t *c;
  uv_loop_t *loop;
  int got;
} cap_home_t;

/* A slow receiver on A: every other receive waits a millisecond first, so
 * the senders find the channel full. */
static int cap_receiver(void *arg, uva_result_t *r) {
  cap_home_t *h = arg;
  int v, err;
  (void)r;
  while (h->got < 2 * N_CAP) {
    if (uva_chan_len(h->c->ch) > CAP)
      atomic_store(&h->c->over, 1);
    if (h->got % 64 == 0)
      uva_await(uva_sleep(h->loop, 1), NULL);
    if ((err = uva_chan_recv_wait(h->c->ch, &v)) != 0)
      return err;
    h->got++;
  }
  return 0;
}

START_TEST(capacity_two_foreign_senders) {
  LOOP_INIT(loop);
  cap_ctx_t c;
  cap_home_t h;
  lt_t b, d;
  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), CAP, &c.ch), 0);
  h.c = &c;
  h.loop = loop;
  h.got = 0;
  lt_start(&b, cap_sender, &c, 1);
  lt_start(&d, cap_sender, &c, 2);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, cap_receiver, &h), NULL),
                   0);
  lt_join(&b, 0);
  lt_join(&d, 0);
  ck_assert_int_eq(h.got, 2 * N_CAP);
  ck_assert_int_eq(atomic_load(&c.sent), 2 * N_CAP);
  ck_assert_int_eq(atomic_load(&c.over), 0);
  ck_assert_uint_eq(uva_chan_len(c.ch), 0);
  uva_chan_free(c.ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- select on another loop: exactly one effect ------------------------------ */

#define ROUNDS 4000
#define IDS (3 * ROUNDS + 16)

typedef struct {
  uva_chan_t *ch;  /* B sends its round numbers into it */
  uva_chan_t *ch2; /* A and C send ids into it */
  atomic_int sent_b[ROUNDS];  /* B's send won round i */
  atomic_int got_ch[ROUNDS];  /* receptions of B's round i from ch */
  atomic_int sent_ch2[IDS];   /* id went into ch2 */
  atomic_int got_ch2[IDS];    /* receptions of id from ch2 */
  atomic_int next_id;
  int wins[3];                /* B: send, recv, sleep */
} sel_ctx_t;

static int sel_b(void *arg, uva_result_t *r) {
  lt_t *t = arg;
  sel_ctx_t *c = t->ctx;
  int i, x = -1, err;
  (void)r;
  for (i = 0; i < ROUNDS; i++) {
    uva_future_t *f[3];
    uva_result_t w;
    uva_value_t idx;
    f[0] = uva_chan_send(c->ch, &i);
    f[1] = uva_chan_recv(c->ch2, &x);
    f[2] = uva_sleep(&t->loop, 1);
    if (i % 2) { /* the other order too */
      uva_future_t *tmp = f[0];
      f[0] = f[1];
      f[1] = tmp;
    }
    err = uva_await(uva_select(&t->loop, f, 3, &w), &idx);
    if (err != 0)
      return err;
    if (w.status != 0)
      return w.status;
    {
      int which = (int)idx.u64;
      if (i % 2 && which < 2)
        which = 1 - which;
      c->wins[which]++;
      if (which == 0)
        atomic_fetch_add(&c->sent_b[i], 1);
      else if (which == 1) {
        if (x < 0 || x >= IDS)
          return -3;
        atomic_fetch_add(&c->got_ch2[x], 1);
      }
    }
  }
  return uva_chan_close(c->ch);
}

/* A and C: receive B's rounds from ch until UV_EOF; after each one, offer
 * an id to ch2 (try_send: counted only when it went in). */
static int sel_peer(sel_ctx_t *c) {
  int v, err, id;
  while ((err = uva_chan_recv_wait(c->ch, &v)) == 0) {
    if (v < 0 || v >= ROUNDS)
      return -4;
    atomic_fetch_add(&c->got_ch[v], 1);
    id = atomic_fetch_add(&c->next_id, 1);
    if (id >= IDS)
      return -5;
    if (uva_chan_try_send(c->ch2, &id) == 0)
      atomic_fetch_add(&c->sent_ch2[id], 1);
  }
  return err == UV_EOF ? 0 : err;
}

static int sel_c(void *arg, uva_result_t *r) {
  (void)r;
  return sel_peer(((lt_t *)arg)->ctx);
}
static int sel_a(void *arg, uva_result_t *r) {
  (void)r;
  return sel_peer(((home_t *)arg)->ctx);
}

START_TEST(select_on_other_loop_exactly_once) {
  LOOP_INIT(loop);
  sel_ctx_t *c = calloc(1, sizeof(*c));
  home_t h = {loop, c};
  lt_t b, d;
  int i, v, sends = 0;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &c->ch), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &c->ch2), 0);
  lt_start(&b, sel_b, c, 1);
  lt_start(&d, sel_c, c, 2);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, sel_a, &h), NULL), 0);
  lt_join(&b, 0);
  lt_join(&d, 0);
  /* what is left in ch2 */
  while (uva_chan_try_recv(c->ch2, &v) == 0)
    atomic_fetch_add(&c->got_ch2[v], 1);
  for (i = 0; i < ROUNDS; i++) {
    ck_assert_int_eq(atomic_load(&c->got_ch[i]), atomic_load(&c->sent_b[i]));
    sends += atomic_load(&c->sent_b[i]);
  }
  for (i = 0; i < IDS; i++)
    ck_assert_int_eq(atomic_load(&c->got_ch2[i]), atomic_load(&c->sent_ch2[i]));
  ck_assert_int_eq(sends, c->wins[0]);
  ck_assert_int_eq(c->wins[0] + c->wins[1] + c->wins[2], ROUNDS);
  ck_assert_int_gt(c->wins[0], 0);
  ck_assert_int_gt(c->wins[1], 0);
  uva_chan_free(c->ch);
  uva_chan_free(c->ch2);
  free(c);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- dropped and cancelled operations take nothing --------------------------- */

typedef struct {
  uva_chan_t *ch;
  int res[16];
  int vals[16];
} drop_ctx_t;

/* The channel holds 1, 2, 3 (sent by A before the thread started). */
static int drop_task(void *arg, uva_result_t *r) {
  lt_t *t = arg;
  drop_ctx_t *c = t->ctx;
  uva_future_t *f[2];
  uva_result_t res[2];
  uva_result_t w;
  int x = -1, y = -1, z = -1;
  (void)r;
  /* a join holding a completed receive times out: 1 goes back */
  f[0] = uva_chan_recv(c->ch, &x);
  f[1] = uva_sleep(&t->loop, 200);
  c->res[0] = uva_await(uva_timeout(uva_join(&t->loop, f, 2, res), 10), NULL);
  c->vals[0] = x; /* not written */
  /* a select whose ready branch wins over a receive that also completed */
  f[0] = uva_ready_u64(&t->loop, 7);
  f[1] = uva_chan_recv(c->ch, &y);
  c->res[1] = uva_await(uva_select(&t->loop, f, 2, &w), NULL);
  c->vals[1] = y; /* not written */
  /* a receive made and freed unconsumed takes nothing */
  uva_future_free(uva_chan_recv(c->ch, &z));
  c->vals[2] = z;
  /* now 1, 2, 3 in order */
  c->res[2] = uva_chan_recv_wait(c->ch, &c->vals[3]);
  c->res[3] = uva_await(uva_chan_recv(c->ch, &c->vals[4]), NULL);
  c->res[4] = uva_chan_try_recv(c->ch, &c->vals[5]);
  /* empty: a waiting receive that times out takes nothing */
  c->res[5] = uva_await(uva_timeout(uva_chan_recv(c->ch, &x), 10), NULL);
  /* sends into the empty channel (capacity 3) */
  x = 10;
  c->res[6] = uva_chan_send_wait(c->ch, &x);
  x = 11;
  c->res[7] = uva_chan_try_send(c->ch, &x);
  x = 12;
  c->res[8] = uva_await(uva_timeout(uva_chan_send(c->ch, &x), 10), NULL);
  /* full: a select of a send and a sleep: the sleep wins, nothing sent */
  x = 13;
  f[0] = uva_chan_send(c->ch, &x);
  f[1] = uva_sleep(&t->loop, 5);
  c->res[9] = uva_await(uva_select(&t->loop, f, 2, &w), NULL);
  c->res[10] = (int)uva_chan_len(c->ch);
  /* full: a waiting send that times out sends nothing */
  x = 14;
  c->res[11] = uva_await(uva_timeout(uva_chan_send(c->ch, &x), 10), NULL);
  return 0;
}

static int elem_frees;
static void count_elem(void *p) {
  (void)p;
  elem_frees++;
}

START_TEST(dropped_and_cancelled_take_nothing) {
  LOOP_INIT(loop);
  drop_ctx_t c;
  lt_t b;
  int v;
  memset(&c, 0, sizeof(c));
  elem_frees = 0;
  ck_assert_int_eq(uva_chan_new_ex(loop, sizeof(int), 3, count_elem, &c.ch), 0);
  for (v = 1; v <= 3; v++)
    ck_assert_int_eq(uva_chan_try_send(c.ch, &v), 0);
  lt_start(&b, drop_task, &c, 1);
  lt_join(&b, 0);
  ck_assert_int_eq(c.res[0], UV_ETIMEDOUT);
  ck_assert_int_eq(c.vals[0], -1);
  ck_assert_int_eq(c.res[1], 0);
  ck_assert_int_eq(c.vals[1], -1);
  ck_assert_int_eq(c.vals[2], -1);
  ck_assert_int_eq(c.res[2], 0);
  ck_assert_int_eq(c.vals[3], 1);
  ck_assert_int_eq(c.res[3], 0);
  ck_assert_int_eq(c.vals[4], 2);
  ck_assert_int_eq(c.res[4], 0);
  ck_assert_int_eq(c.vals[5], 3);
  ck_assert_int_eq(c.res[5], UV_ETIMEDOUT);
  ck_assert_int_eq(c.res[6], 0);
  ck_assert_int_eq(c.res[7], 0);
  ck_assert_int_eq(c.res[8], 0); /* capacity 3: room for a third */
  ck_assert_int_eq(c.res[9], 0);
  ck_assert_int_eq(c.res[10], 3);
  ck_assert_int_eq(c.res[11], UV_ETIMEDOUT);
  /* 13 lost its select, 14 timed out: freed, never sent */
  ck_assert_int_eq(elem_frees, 2);
  for (v = 10; v <= 12; v++) {
    int got;
    ck_assert_int_eq(uva_chan_try_recv(c.ch, &got), 0);
    ck_assert_int_eq(got, v);
  }
  ck_assert_int_eq(uva_chan_try_recv(c.ch, &v), UV_EAGAIN);
  uva_chan_free(c.ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* A closes while tasks of B wait to receive (empty channel) and to send
 * (another, full channel): they get UV_EOF and UV_EPIPE. */
typedef struct {
  uva_chan_t *empty, *full;
  uv_sem_t waiting;
  int recv_res, send_res, after_res;
} close_ctx_t;

static int close_recv_task(void *arg, uva_result_t *r) {
  close_ctx_t *c = ((lt_t *)arg)->ctx;
  int v;
  (void)r;
  uv_sem_post(&c->waiting);
  c->recv_res = uva_chan_recv_wait(c->empty, &v);
  return 0;
}

static int close_send_task(void *arg, uva_result_t *r) {
  close_ctx_t *c = ((lt_t *)arg)->ctx;
  int v = 5;
  (void)r;
  uv_sem_post(&c->waiting);
  c->send_res = uva_await(uva_chan_send(c->full, &v), NULL);
  c->after_res = uva_chan_try_send(c->full, &v);
  return 0;
}

typedef struct {
  close_ctx_t *c;
  uv_loop_t *loop;
} close_home_t;

static int close_home(void *arg, uva_result_t *r) {
  close_home_t *h = arg;
  (void)r;
  uva_await(uva_sleep(h->loop, 30), NULL); /* let them wait */
  if (uva_chan_close(h->c->empty) != 0 || uva_chan_close(h->c->full) != 0)
    return -1;
  return 0;
}

START_TEST(close_wakes_foreign_waiters) {
  LOOP_INIT(loop);
  close_ctx_t c;
  close_home_t h = {&c, loop};
  lt_t b, d;
  int v = 1;
  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(uv_sem_init(&c.waiting, 0), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &c.empty), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &c.full), 0);
  ck_assert_int_eq(uva_chan_try_send(c.full, &v), 0);
  lt_start(&b, close_recv_task, &c, 1);
  lt_start(&d, close_send_task, &c, 2);
  uv_sem_wait(&c.waiting);
  uv_sem_wait(&c.waiting);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, close_home, &h), NULL), 0);
  lt_join(&b, 0);
  lt_join(&d, 0);
  ck_assert_int_eq(c.recv_res, UV_EOF);
  ck_assert_int_eq(c.send_res, UV_EPIPE);
  ck_assert_int_eq(c.after_res, UV_EPIPE);
  ck_assert_int_eq(uva_chan_try_recv(c.full, &v), 0); /* still drains */
  ck_assert_int_eq(v, 1);
  ck_assert_int_eq(uva_chan_try_recv(c.full, &v), UV_EOF);
  uv_sem_destroy(&c.waiting);
  uva_chan_free(c.empty);
  uva_chan_free(c.full);
  LOOP_CLOSE(loop);
}
END_TEST

/* A plain thread cannot make futures or wait on a loop's channel (uva
 * cannot place it); its try calls, close and len work. */
typedef struct {
  uva_chan_t *ch;
  int res[6];
} plain_ctx_t;

static void plain_thread(void *arg) {
  plain_ctx_t *c = arg;
  int v = 42, out = 0;
  uva_future_t *f = uva_chan_send(c->ch, &v);
  c->res[0] = uva_future_status(f);
  uva_future_free(f);
  c->res[1] = uva_chan_try_send(c->ch, &v);
  c->res[2] = uva_chan_try_recv(c->ch, &out);
  c->res[3] = out;
  c->res[4] = uva_chan_try_recv(c->ch, &out);
  c->res[5] = (int)uva_chan_len(c->ch);
}

START_TEST(plain_thread_rules) {
  LOOP_INIT(loop);
  plain_ctx_t c;
  uv_thread_t th;
  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &c.ch), 0);
  ck_assert_int_eq(uv_thread_create(&th, plain_thread, &c), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_int_eq(c.res[0], UV_EINVAL);
  ck_assert_int_eq(c.res[1], 0);
  ck_assert_int_eq(c.res[2], 0);
  ck_assert_int_eq(c.res[3], 42);
  ck_assert_int_eq(c.res[4], UV_EAGAIN);
  ck_assert_int_eq(c.res[5], 0);
  uva_chan_free(c.ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* uva_chan_free while a future of another loop is alive: a contract
 * violation, detected (abort). */
typedef struct {
  uva_chan_t *ch;
  uv_sem_t made, end;
} freeviol_t;

static int freeviol_task(void *arg, uva_result_t *r) {
  freeviol_t *c = ((lt_t *)arg)->ctx;
  int v;
  uva_future_t *f;
  (void)r;
  f = uva_chan_recv(c->ch, &v);
  uv_sem_post(&c->made);
  uv_sem_wait(&c->end); /* never: the process aborts */
  uva_future_free(f);
  return 0;
}

START_TEST(free_with_foreign_future_aborts) {
  LOOP_INIT(loop);
  freeviol_t c;
  lt_t b;
  ck_assert_int_eq(uv_sem_init(&c.made, 0), 0);
  ck_assert_int_eq(uv_sem_init(&c.end, 0), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &c.ch), 0);
  lt_start(&b, freeviol_task, &c, 1);
  uv_sem_wait(&c.made);
  uva_chan_free(c.ch); /* aborts */
  uv_sem_post(&c.end);
  lt_join(&b, 0);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- a then callback of another loop ------------------------------------------ */

typedef struct {
  uva_chan_t *ch, *back;
  uv_sem_t registered;
  int val, status, calls, back_res;
} then_ctx_t;

/* On B: a callback of B's that uses A's channel too. */
static void then_got(int status, uva_value_t value, void *data) {
  then_ctx_t *c = data;
  int v = c->val + 1;
  (void)value;
  c->calls++;
  c->status = status;
  c->back_res = uva_chan_try_send(c->back, &v);
}

static int then_task(void *arg, uva_result_t *r) {
  then_ctx_t *c = ((lt_t *)arg)->ctx;
  int err;
  (void)r;
  err = uva_future_then(uva_chan_recv(c->ch, &c->val), then_got, c);
  uv_sem_post(&c->registered);
  return err; /* B's loop runs on for the callback: the waiting receive
               * keeps it alive */
}

START_TEST(then_callback_on_other_loop) {
  LOOP_INIT(loop);
  then_ctx_t c;
  lt_t b;
  int v = 77;
  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(uv_sem_init(&c.registered, 0), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &c.ch), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &c.back), 0);
  lt_start(&b, then_task, &c, 1);
  uv_sem_wait(&c.registered);
  ck_assert_int_eq(uva_chan_try_send(c.ch, &v), 0); /* from A's thread */
  lt_join(&b, 0);
  ck_assert_int_eq(c.calls, 1);
  ck_assert_int_eq(c.status, 0);
  ck_assert_int_eq(c.val, 77);
  ck_assert_int_eq(c.back_res, 0);
  ck_assert_int_eq(uva_chan_try_recv(c.back, &v), 0);
  ck_assert_int_eq(v, 78);
  ck_assert_uint_eq(uva_chan_len(c.ch), 0);
  uv_sem_destroy(&c.registered);
  uva_chan_free(c.ch);
  uva_chan_free(c.back);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- shutdown of a loop whose tasks wait on another loop's channels ---------- */

typedef struct {
  uva_chan_t *empty, *full;
  int recv_res, send_res, sel_res;
  int shutdown_res, closed;
  size_t left;
} shut_ctx_t;

static int shut_recv(void *arg, uva_result_t *r) {
  shut_ctx_t *c = arg;
  int v;
  (void)r;
  c->recv_res = uva_chan_recv_wait(c->empty, &v);
  return 0;
}

static int shut_send(void *arg, uva_result_t *r) {
  shut_ctx_t *c = arg;
  int v = 9;
  (void)r;
  c->send_res = uva_await(uva_chan_send(c->full, &v), NULL);
  return 0;
}

typedef struct {
  shut_ctx_t *c;
  uv_loop_t *loop;
} shut_sel_t;

static int shut_select(void *arg, uva_result_t *r) {
  shut_sel_t *s = arg;
  uva_future_t *f[2];
  uva_result_t w;
  int v = 8, x;
  (void)r;
  f[0] = uva_chan_send(s->c->full, &v);
  f[1] = uva_chan_recv(s->c->empty, &x);
  s->c->sel_res = uva_await(uva_select(s->loop, f, 2, &w), NULL);
  return 0;
}

static void shut_thread(void *arg) {
  shut_ctx_t *c = arg;
  uv_loop_t loop;
  shut_sel_t sel;
  if (uv_loop_init(&loop) != 0)
    return;
  sel.c = c;
  sel.loop = &loop;
  uva_future_detach(uva_spawn(&loop, shut_recv, c));
  uva_future_detach(uva_spawn(&loop, shut_send, c));
  uva_future_detach(uva_spawn(&loop, shut_select, &sel));
  uva_block_on(&loop, uva_sleep(&loop, 20), NULL); /* they all wait */
  c->shutdown_res = uva_loop_shutdown(&loop, 1000, &c->left);
  c->closed = uv_loop_close(&loop);
}

START_TEST(shutdown_cancels_foreign_waiters) {
  LOOP_INIT(loop);
  shut_ctx_t c;
  uv_thread_t th;
  int v = 1;
  memset(&c, 0, sizeof(c));
  c.closed = -1;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &c.empty), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &c.full), 0);
  ck_assert_int_eq(uva_chan_try_send(c.full, &v), 0);
  ck_assert_int_eq(uv_thread_create(&th, shut_thread, &c), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_int_eq(c.shutdown_res, 0);
  ck_assert_uint_eq(c.left, 0);
  ck_assert_int_eq(c.closed, 0);
  ck_assert_int_eq(c.recv_res, UV_ECANCELED);
  ck_assert_int_eq(c.send_res, UV_ECANCELED);
  ck_assert_int_eq(c.sel_res, UV_ECANCELED);
  /* nothing sent, nothing taken */
  ck_assert_uint_eq(uva_chan_len(c.empty), 0);
  ck_assert_uint_eq(uva_chan_len(c.full), 1);
  ck_assert_int_eq(uva_chan_try_recv(c.full, &v), 0);
  ck_assert_int_eq(v, 1);
  uva_chan_free(c.empty); /* no future of the other loop is left */
  uva_chan_free(c.full);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- stress: 4 loops each sending and receiving ------------------------------ */

#define LOOPS 4
#define M_MSG 20000

typedef struct {
  uva_chan_t *ch;
  atomic_int seen[LOOPS][M_MSG];
  atomic_int senders_done;
  atomic_int bad;
} st_ctx_t;

typedef struct {
  st_ctx_t *c;
  uv_loop_t *loop;
  int id;
  int send_err, recv_err;
} st_side_t;

static int st_sender(void *arg, uva_result_t *r) {
  st_side_t *s = arg;
  st_ctx_t *c = s->c;
  int i, v, err = 0;
  (void)r;
  for (i = 0; i < M_MSG; i++) {
    v = s->id * M_MSG + i;
    switch (i % 4) {
    case 0:
      err = uva_chan_send_wait(c->ch, &v);
      break;
    case 1:
      err = uva_await(uva_chan_send(c->ch, &v), NULL);
      break;
    case 2: { /* a select against a sleep: retried until the send wins */
      uva_future_t *f[2];
      uva_result_t w;
      uva_value_t idx;
      for (;;) {
        f[0] = uva_sleep(s->loop, 1);
        f[1] = uva_chan_send(c->ch, &v);
        if ((err = uva_await(uva_select(s->loop, f, 2, &w), &idx)) != 0)
          break;
        if (idx.u64 == 1) {
          err = w.status;
          break;
        }
      }
      break;
    }
    default:
      while ((err = uva_chan_try_send(c->ch, &v)) == UV_EAGAIN)
        uva_yield();
    }
    if (err != 0) {
      s->send_err = err;
      return err;
    }
  }
  if (atomic_fetch_add(&c->senders_done, 1) == LOOPS - 1)
    uva_chan_close(c->ch); /* the last sender closes */
  return 0;
}

static void st_mark(st_ctx_t *c, int v) {
  if (v < 0 || v >= LOOPS * M_MSG) {
    atomic_store(&c->bad, 1);
    return;
  }
  atomic_fetch_add(&c->seen[v / M_MSG][v % M_MSG], 1);
}

static int st_receiver(void *arg, uva_result_t *r) {
  st_side_t *s = arg;
  st_ctx_t *c = s->c;
  int v = -1, err, i = 0;
  (void)r;
  for (;; i++) {
    switch (i % 3) {
    case 0:
      err = uva_chan_recv_wait(c->ch, &v);
      break;
    case 1:
      err = uva_await(uva_chan_recv(c->ch, &v), NULL);
      break;
    default: { /* a receive raced by a short sleep: may lose, give back */
      uva_future_t *f[2];
      uva_result_t w;
      uva_value_t idx;
      f[0] = uva_chan_recv(c->ch, &v);
      f[1] = uva_sleep(s->loop, 1);
      err = uva_await(uva_select(s->loop, f, 2, &w), &idx);
      if (err == 0 && idx.u64 == 1)
        continue; /* the sleep won: nothing taken */
      if (err == 0)
        err = w.status;
    }
    }
    if (err == UV_EOF)
      return 0;
    if (err != 0) {
      s->recv_err = err;
      return err;
    }
    st_mark(c, v);
  }
}

/* One loop's pair of tasks. */
static int st_both(uv_loop_t *loop, st_side_t *s) {
  uva_future_t *f[2];
  uva_result_t res[2];
  int err;
  s->loop = loop;
  f[0] = uva_spawn(loop, st_sender, s);
  f[1] = uva_spawn(loop, st_receiver, s);
  err = uva_await(uva_join(loop, f, 2, res), NULL);
  if (err != 0)
    return err;
  return res[0].status != 0 ? res[0].status : res[1].status;
}

static st_side_t sides[LOOPS];

static int st_thread_task(void *arg, uva_result_t *r) {
  lt_t *t = arg;
  (void)r;
  return st_both(&t->loop, &sides[t->id]);
}

static int st_home_task(void *arg, uva_result_t *r) {
  home_t *h = arg;
  (void)r;
  return st_both(h->loop, &sides[0]);
}

START_TEST(stress_four_loops) {
  LOOP_INIT(loop);
  st_ctx_t *c = calloc(1, sizeof(*c));
  home_t h = {loop, c};
  lt_t t[LOOPS];
  int i, j;
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 8, &c->ch), 0);
  for (i = 0; i < LOOPS; i++) {
    memset(&sides[i], 0, sizeof(sides[i]));
    sides[i].c = c;
    sides[i].id = i;
  }
  for (i = 1; i < LOOPS; i++)
    lt_start(&t[i], st_thread_task, c, i);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, st_home_task, &h), NULL),
                   0);
  for (i = 1; i < LOOPS; i++)
    lt_join(&t[i], 0);
  ck_assert_int_eq(atomic_load(&c->bad), 0);
  for (i = 0; i < LOOPS; i++)
    for (j = 0; j < M_MSG; j++)
      if (atomic_load(&c->seen[i][j]) != 1)
        ck_abort_msg("message %d of loop %d received %d times", j, i,
                     atomic_load(&c->seen[i][j]));
  ck_assert_uint_eq(uva_chan_len(c->ch), 0);
  uva_chan_free(c->ch);
  free(c);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("chan-xloop");
  TCase *tc = tcase_create("core");
  const char *fork = getenv("CK_FORK");
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, foreign_sender_in_order);
  tcase_add_test(tc, foreign_receiver_in_order);
  tcase_add_test(tc, both_ends_foreign_home_idle);
  tcase_add_test(tc, capacity_foreign_filler);
  tcase_add_test(tc, capacity_two_foreign_senders);
  tcase_add_test(tc, select_on_other_loop_exactly_once);
  tcase_add_test(tc, dropped_and_cancelled_take_nothing);
  tcase_add_test(tc, close_wakes_foreign_waiters);
  tcase_add_test(tc, plain_thread_rules);
  tcase_add_test(tc, then_callback_on_other_loop);
  tcase_add_test(tc, shutdown_cancels_foreign_waiters);
  tcase_add_test(tc, stress_four_loops);
  if (fork == NULL || strcmp(fork, "no") != 0)
    tcase_add_test_raise_signal(tc, free_with_foreign_future_aborts, SIGABRT);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
