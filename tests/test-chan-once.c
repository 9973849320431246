/* Channels, exactly once and exact capacity (issue 9): regression tests for
 * the losses seen before receives were lazy and reserved their message,
 * receives whose result is dropped by every kind of consumer, the capacity
 * with threads and tasks sending together, and the calls for other threads
 * (close, blocking receive, len) and the element free function. */
#include "test-util.h"

#include <stdatomic.h>

#define N_MSG 1000

typedef struct {
  uva_chan_t *ch;
  int n;
  int base;
  int done; /* sends that have returned 0 */
} prod_t;

static int producer(void *arg, uva_result_t *r) {
  prod_t *p = arg;
  int i, v, err;
  (void)r;
  for (i = 1; i <= p->n; i++) {
    v = p->base + i;
    if ((err = uva_await(uva_chan_send(p->ch, &v), NULL)) != 0)
      return err;
    p->done++;
  }
  return 0;
}

typedef struct {
  uv_loop_t *loop;
  uva_chan_t *a, *b;
  int got_a, got_b, last_a, last_b, order_ok, mode;
} sel_t;

/* Loops on select(recv a, recv b) (mode 0) or select(sleep 0 or ready,
 * recv b) (mode 1) until both channels are closed and drained. */
static int selector(void *arg, uva_result_t *r) {
  sel_t *s = arg;
  int x = 0, y = 0, eof_a = s->mode == 1, eof_b = 0, round = 0;
  (void)r;
  s->order_ok = 1;
  while (!eof_a || !eof_b) {
    uva_future_t *f[2];
    uva_result_t w;
    uva_value_t idx;
    int err;
    round++;
    if (s->mode == 0)
      f[0] = eof_a ? uva_sleep(s->loop, 1) : uva_chan_recv(s->a, &x);
    else
      f[0] = round % 3 == 0 ? uva_ready_u64(s->loop, 0) : uva_sleep(s->loop, 1);
    f[1] = eof_b ? uva_sleep(s->loop, 1) : uva_chan_recv(s->b, &y);
    err = uva_await(uva_select(s->loop, f, 2, &w), &idx);
    if (err != 0)
      return err;
    if (w.status == UV_EOF) {
      if (idx.u64 == 0)
        eof_a = 1;
      else
        eof_b = 1;
      continue;
    }
    if (w.status != 0)
      return w.status;
    if (idx.u64 == 0 && s->mode == 0) {
      if (x != s->last_a + 1)
        s->order_ok = 0;
      s->last_a = x;
      s->got_a++;
    } else if (idx.u64 == 1 && !eof_b) {
      if (y != s->last_b + 1)
        s->order_ok = 0;
      s->last_b = y;
      s->got_b++;
    }
  }
  return 0;
}

static void select_round(int mode) {
  LOOP_INIT(loop);
  sel_t s;
  prod_t pa, pb;
  uva_future_t *h[3];
  uva_result_t res[3];
  memset(&s, 0, sizeof(s));
  s.loop = loop;
  s.mode = mode;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 4, &s.a), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 4, &s.b), 0);
  pa = (prod_t){s.a, mode == 0 ? N_MSG : 0, 0, 0};
  pb = (prod_t){s.b, N_MSG, 0, 0};
  h[0] = uva_spawn(loop, producer, &pa);
  h[1] = uva_spawn(loop, producer, &pb);
  h[2] = uva_spawn(loop, selector, &s);
  /* the producers finish first; then the channels are closed */
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, h, 2, res), NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_int_eq(res[1].status, 0);
  uva_chan_close(s.a);
  uva_chan_close(s.b);
  ck_assert_int_eq(uva_block_on(loop, h[2], NULL), 0);
  ck_assert_int_eq(s.got_a, mode == 0 ? N_MSG : 0);
  ck_assert_int_eq(s.got_b, N_MSG); /* before: 945 of 1,000 lost */
  ck_assert_int_eq(s.order_ok, 1);
  uva_chan_free(s.a);
  uva_chan_free(s.b);
  LOOP_CLOSE(loop);
}

/* Regression (issue 9, 1): select over receives from two busy channels. */
START_TEST(select_two_receives_loses_nothing) { select_round(0); }
END_TEST

/* Regression (issue 9, 1): select of (a future sometimes ready, a receive)
 * lost 82 of 1,000. */
START_TEST(select_ready_or_receive_loses_nothing) { select_round(1); }
END_TEST

/* Exactly one of the channel operations in a select takes effect. */
START_TEST(select_exactly_one_takes_effect) {
  LOOP_INIT(loop);
  uva_chan_t *a, *b;
  int x = 1, y = 2, out = 0, i;
  uva_future_t *f[2];
  uva_result_t w;
  uva_value_t idx;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 4, &a), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 4, &b), 0);
  /* two sends with room: only the first is sent */
  f[0] = uva_chan_send(a, &x);
  f[1] = uva_chan_send(b, &y);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, f, 2, &w), &idx), 0);
  ck_assert_uint_eq(idx.u64, 0);
  ck_assert_uint_eq(uva_chan_len(a), 1);
  ck_assert_uint_eq(uva_chan_len(b), 0);
  /* two receives with messages: only the first takes one */
  ck_assert_int_eq(uva_chan_try_send(b, &y), 0);
  f[0] = uva_chan_recv(a, &out);
  f[1] = uva_chan_recv(b, &out);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, f, 2, &w), &idx), 0);
  ck_assert_uint_eq(idx.u64, 0);
  ck_assert_int_eq(out, 1);
  ck_assert_uint_eq(uva_chan_len(b), 1);
  /* a send and a receive on the same channel: the receive (first) waits,
   * the send goes in, and the receive does not take it */
  for (i = 0; i < 3; i++)
    uva_chan_try_recv(b, &out);
  f[0] = uva_chan_recv(b, &out);
  f[1] = uva_chan_send(b, &x);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, f, 2, &w), &idx), 0);
  ck_assert_uint_eq(idx.u64, 1);
  ck_assert_uint_eq(uva_chan_len(b), 1);
  uva_chan_free(a);
  uva_chan_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

/* Receives that completed inside a timeout and a select, held by a join
 * that is then timed out: every layer drops its child untaken and each
 * message goes back to its channel; out is never written. */
START_TEST(dropped_results_give_messages_back) {
  LOOP_INIT(loop);
  uva_chan_t *a, *b;
  int v = 7, oa = 0, ob = 0;
  uva_future_t *never = uva_future_new(loop), *f[3], *sel[1];
  uva_result_t res[3], w;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &a), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &b), 0);
  ck_assert_int_eq(uva_chan_try_send(a, &v), 0);
  v = 8;
  ck_assert_int_eq(uva_chan_try_send(b, &v), 0);
  sel[0] = uva_chan_recv(b, &ob);
  f[0] = uva_timeout(uva_chan_recv(a, &oa), 100000);
  f[1] = uva_select(loop, sel, 1, &w);
  f[2] = never;
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_join(loop, f, 3, res), 5), NULL),
      UV_ETIMEDOUT);
  ck_assert_int_eq(oa, 0);
  ck_assert_int_eq(ob, 0);
  ck_assert_int_eq(uva_chan_try_recv(a, &v), 0);
  ck_assert_int_eq(v, 7);
  ck_assert_int_eq(uva_chan_try_recv(b, &v), 0);
  ck_assert_int_eq(v, 8);
  ck_assert_int_eq(uva_future_resolve_u64(never, 1), UV_ECANCELED);
  /* a settled receive freed untaken through a timeout of it that lost a
   * select at its creation: it never started, so nothing moved */
  ck_assert_int_eq(uva_chan_try_send(a, &v), 0);
  f[0] = uva_ready_u64(loop, 1);
  f[1] = uva_timeout(uva_chan_recv(a, &oa), 1000);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, f, 2, &w), NULL), 0);
  ck_assert_int_eq(oa, 0);
  ck_assert_uint_eq(uva_chan_len(a), 1);
  uva_chan_free(a);
  uva_chan_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

/* A join of two receives and a never-ready future, timed out after both
 * receives completed: both messages go back, in order, and out is not
 * written. */
START_TEST(timed_out_join_gives_back_in_order) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  int v, o1 = 0, o2 = 0;
  uva_future_t *f[3], *never = uva_future_new(loop);
  uva_result_t res[3];
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &ch), 0);
  for (v = 1; v <= 2; v++)
    ck_assert_int_eq(uva_chan_try_send(ch, &v), 0);
  f[0] = uva_chan_recv(ch, &o1);
  f[1] = uva_chan_recv(ch, &o2);
  f[2] = never;
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_join(loop, f, 3, res), 5), NULL),
      UV_ETIMEDOUT);
  ck_assert_int_eq(o1, 0);
  ck_assert_int_eq(o2, 0);
  ck_assert_uint_eq(uva_chan_len(ch), 2);
  v = 3; /* full: the reserved messages still counted, now back */
  ck_assert_int_eq(uva_chan_try_send(ch, &v), UV_EAGAIN);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), 0);
  ck_assert_int_eq(v, 1);
  ck_assert_int_eq(uva_chan_try_recv(ch, &v), 0);
  ck_assert_int_eq(v, 2);
  ck_assert_int_eq(uva_future_resolve_u64(never, 1), UV_ECANCELED);
  uva_chan_free(ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- exact capacity ------------------------------------------------------ */

typedef struct {
  uva_chan_t *ch;
  int n, base;
  atomic_int returned; /* send_blocking calls that returned 0 */
} tsend_t;

static void thread_sender(void *arg) {
  tsend_t *t = arg;
  int i, v;
  for (i = 1; i <= t->n; i++) {
    v = t->base + i;
    if (uva_chan_send_blocking(t->ch, &v) != 0)
      return;
    atomic_fetch_add(&t->returned, 1);
  }
}

static int sleep_ms(uv_loop_t *loop, uint64_t ms) {
  return uva_block_on(loop, uva_sleep(loop, ms), NULL);
}

/* Regression (issue 9, 2): capacity 1 filled from the loop; a thread's
 * send_blocking returned at once and two messages could be received. */
START_TEST(thread_blocks_while_full) {
  LOOP_INIT(loop);
  tsend_t t;
  uv_thread_t th;
  int v = 100, i;
  size_t caps[3] = {1, 4, 16};
  for (i = 0; i < 3; i++) {
    size_t k;
    memset(&t, 0, sizeof(t));
    t.n = 1;
    t.base = 1000;
    ck_assert_int_eq(uva_chan_new(loop, sizeof(int), caps[i], &t.ch), 0);
    for (k = 0; k < caps[i]; k++)
      ck_assert_int_eq(uva_chan_try_send(t.ch, &v), 0);
    ck_assert_int_eq(uv_thread_create(&th, thread_sender, &t), 0);
    ck_assert_int_eq(sleep_ms(loop, 30), 0);
    ck_assert_int_eq(atomic_load(&t.returned), 0); /* still blocked */
    ck_assert_uint_eq(uva_chan_len(t.ch), caps[i]);
    ck_assert_int_eq(uva_chan_try_recv(t.ch, &v), 0); /* makes room */
    uv_thread_join(&th);
    ck_assert_int_eq(atomic_load(&t.returned), 1);
    ck_assert_uint_eq(uva_chan_len(t.ch), caps[i]); /* never more */
    for (k = 0; k < caps[i]; k++)
      ck_assert_int_eq(uva_chan_try_recv(t.ch, &v), 0);
    ck_assert_int_eq(v, 1001);
    ck_assert_int_eq(uva_chan_try_recv(t.ch, &v), UV_EAGAIN);
    uva_chan_free(t.ch);
  }
  LOOP_CLOSE(loop);
}
END_TEST

typedef struct {
  uva_chan_t *ch;
  tsend_t *threads;
  prod_t *tasks;
  int nthreads, ntasks, received, over;
  int total;
  size_t cap;
} capcheck_t;

static int cap_receiver(void *arg, uva_result_t *r) {
  capcheck_t *c = arg;
  int v;
  (void)r;
  while (c->received < c->total) {
    int k, sent = 0;
    /* every send that has returned is in the channel or received */
    if (uva_await(uva_chan_recv(c->ch, &v), NULL) != 0)
      return UV_EIO;
    c->received++;
    for (k = 0; k < c->nthreads; k++)
      sent += atomic_load(&c->threads[k].returned);
    /* every send that has returned is in the channel or received */
    for (k = 0; k < c->ntasks; k++)
      sent += c->tasks[k].done;
    if (sent - c->received > (int)c->cap)
      c->over++;
    if (uva_chan_len(c->ch) > c->cap)
      c->over++;
    if (c->received % 7 == 0)
      uva_yield();
  }
  return 0;
}

/* Threads and tasks sending together: the channel never holds more than
 * its capacity, and every message arrives once. */
START_TEST(capacity_with_threads_and_tasks) {
  LOOP_INIT(loop);
  enum { NT = 3, NK = 2 };
  int per = getenv("UVA_TEST_SMALL") ? 500 : 5000, i;
  tsend_t th[NT];
  prod_t tk[NK];
  uv_thread_t tid[NT];
  uva_future_t *h[NK + 1];
  uva_result_t res[NK + 1];
  capcheck_t c;
  memset(&c, 0, sizeof(c));
  memset(th, 0, sizeof(th));
  c.cap = 3;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), c.cap, &c.ch), 0);
  c.threads = th;
  c.nthreads = NT;
  c.tasks = tk;
  c.ntasks = NK;
  c.total = (NT + NK) * per;
  for (i = 0; i < NK; i++) {
    tk[i] = (prod_t){c.ch, per, (i + 1) * 1000000, 0};
    h[i] = uva_spawn(loop, producer, &tk[i]);
  }
  h[NK] = uva_spawn(loop, cap_receiver, &c);
  for (i = 0; i < NT; i++) {
    th[i].ch = c.ch;
    th[i].n = per;
    th[i].base = (NK + i + 1) * 1000000;
    ck_assert_int_eq(uv_thread_create(&tid[i], thread_sender, &th[i]), 0);
  }
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, h, NK + 1, res), NULL), 0);
  for (i = 0; i < NT; i++)
    uv_thread_join(&tid[i]);
  for (i = 0; i <= NK; i++)
    ck_assert_int_eq(res[i].status, 0);
  ck_assert_int_eq(c.received, c.total);
  ck_assert_int_eq(c.over, 0);
  ck_assert_uint_eq(uva_chan_len(c.ch), 0);
  uva_chan_free(c.ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- calls for other threads, element free function ---------------------- */

typedef struct {
  uva_chan_t *ch;
  int got[64];
  int n;
  int end;
} trecv_t;

static void thread_receiver(void *arg) {
  trecv_t *t = arg;
  int v, err;
  while ((err = uva_chan_recv_blocking(t->ch, &v)) == 0)
    t->got[t->n++] = v;
  t->end = err;
}

static int task_sends(void *arg, uva_result_t *r) {
  uva_chan_t *ch = arg;
  int i, err;
  (void)r;
  for (i = 1; i <= 20; i++)
    if ((err = uva_await(uva_chan_send(ch, &i), NULL)) != 0)
      return err;
  return uva_chan_close(ch);
}

/* Tokio's blocking_recv: a plain thread receives what a task sends. */
START_TEST(recv_blocking_from_thread) {
  LOOP_INIT(loop);
  trecv_t t;
  uv_thread_t th;
  int i, v = 0;
  memset(&t, 0, sizeof(t));
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &t.ch), 0);
  ck_assert_int_eq(uva_chan_recv_blocking(t.ch, &v), UV_EINVAL); /* loop thread */
  ck_assert_int_eq(uva_chan_recv_blocking(NULL, &v), UV_EINVAL);
  ck_assert_int_eq(uv_thread_create(&th, thread_receiver, &t), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, task_sends, t.ch), NULL), 0);
  uv_thread_join(&th);
  ck_assert_int_eq(t.end, UV_EOF);
  ck_assert_int_eq(t.n, 20);
  for (i = 0; i < 20; i++)
    ck_assert_int_eq(t.got[i], i + 1);
  uva_chan_free(t.ch);
  LOOP_CLOSE(loop);
}
END_TEST

static void thread_closes(void *arg) {
  uv_sleep(20);
  ck_assert_int_eq(uva_chan_close(arg), 0);
  ck_assert_int_eq(uva_chan_close(arg), UV_EPIPE);
}

/* Closing from another thread wakes a receiver waiting on the loop. */
START_TEST(close_from_thread) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  uv_thread_t th;
  int v = 0;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &ch), 0);
  ck_assert_int_eq(uv_thread_create(&th, thread_closes, ch), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_chan_recv(ch, &v), NULL), UV_EOF);
  uv_thread_join(&th);
  ck_assert_int_eq(uva_chan_try_send(ch, &v), UV_EPIPE);
  uva_chan_free(ch);
  LOOP_CLOSE(loop);
}
END_TEST

static int elem_frees;
static void free_boxed(void *elem) {
  elem_frees++;
  free(*(char **)elem);
}

/* The element free function frees what messages point to: those left in the
 * channel when it is freed, and those of sends that never got in. */
START_TEST(element_free_function) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  char *p;
  int i;
  uva_future_t *f[2];
  uva_result_t w;
  elem_frees = 0;
  ck_assert_int_eq(uva_chan_new_ex(loop, sizeof(char *), 2, free_boxed, &ch), 0);
  ck_assert_uint_eq(uva_chan_len(ch), 0);
  for (i = 0; i < 2; i++) {
    p = test_strdup("message");
    ck_assert_int_eq(uva_block_on(loop, uva_chan_send(ch, &p), NULL), 0);
  }
  ck_assert_uint_eq(uva_chan_len(ch), 2);
  /* full: a send that loses a select never gets in; its message is freed */
  p = test_strdup("loser");
  f[0] = uva_ready_u64(loop, 1);
  f[1] = uva_chan_send(ch, &p);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, f, 2, &w), NULL), 0);
  ck_assert_int_eq(elem_frees, 1);
  /* a send freed before it was consumed */
  p = test_strdup("freed");
  uva_future_free(uva_chan_send(ch, &p));
  ck_assert_int_eq(elem_frees, 2);
  /* a send that times out waiting for room */
  p = test_strdup("timed out");
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_chan_send(ch, &p), 5), NULL),
                   UV_ETIMEDOUT);
  ck_assert_int_eq(elem_frees, 3);
  /* try_send that fails: the message stays the caller's */
  p = test_strdup("mine");
  ck_assert_int_eq(uva_chan_try_send(ch, &p), UV_EAGAIN);
  free(p);
  ck_assert_int_eq(elem_frees, 3);
  uva_chan_free(ch); /* the two inside */
  ck_assert_int_eq(elem_frees, 5);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("chan-once");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, select_two_receives_loses_nothing);
  tcase_add_test(tc, select_ready_or_receive_loses_nothing);
  tcase_add_test(tc, select_exactly_one_takes_effect);
  tcase_add_test(tc, dropped_results_give_messages_back);
  tcase_add_test(tc, timed_out_join_gives_back_in_order);
  tcase_add_test(tc, thread_blocks_while_full);
  tcase_add_test(tc, capacity_with_threads_and_tasks);
  tcase_add_test(tc, recv_blocking_from_thread);
  tcase_add_test(tc, close_from_thread);
  tcase_add_test(tc, element_free_function);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
