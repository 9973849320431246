/* Cancellation tokens: uva_token_* (tokio-util's CancellationToken). */
#include "test-util.h"

#include <signal.h>
#include <unistd.h>

/* ---- basics ------------------------------------------------------------- */

START_TEST(token_cancel_settles_waiters) {
  LOOP_INIT(loop);
  uva_token_t *tok;
  uva_future_t *a, *b;
  then_rec r;

  memset(&r, 0, sizeof(r));
  ck_assert_int_eq(uva_token_new(loop, &tok), 0);
  ck_assert_int_eq(uva_token_is_cancelled(tok), 0);
  a = uva_token_cancelled(tok);
  b = uva_token_cancelled(tok);
  ck_assert_int_eq(uva_future_status(a), UVA_PENDING);
  ck_assert_int_eq(uva_future_then(b, record, &r), 0);
  uva_token_cancel(tok); /* loop thread: at once */
  ck_assert_int_eq(uva_token_is_cancelled(tok), 1);
  ck_assert_int_eq(uva_future_status(a), 0);
  ck_assert_int_eq(uva_block_on(loop, a, NULL), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, 0);
  /* cancelling again does nothing; a waiter made now settles at once */
  uva_token_cancel(tok);
  ck_assert_int_eq(uva_block_on(loop, uva_token_cancelled(tok), NULL), 0);
  uva_token_free(tok);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(token_waiter_cancel_and_free) {
  LOOP_INIT(loop);
  uva_token_t *tok;
  uva_future_t *a, *b;

  ck_assert_int_eq(uva_token_new(loop, &tok), 0);
  a = uva_token_cancelled(tok);
  b = uva_token_cancelled(tok);
  ck_assert_int_eq(uva_future_cancel(a), 0);
  ck_assert_int_eq(uva_future_status(a), UV_ECANCELED);
  uva_future_free(a);
  /* a timeout around a waiter: the token is not touched */
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_token_cancelled(tok), 5),
                                NULL),
                   UV_ETIMEDOUT);
  ck_assert_int_eq(uva_token_is_cancelled(tok), 0);
  uva_token_free(tok); /* b waits: it settles with UV_ECANCELED */
  ck_assert_int_eq(uva_future_status(b), UV_ECANCELED);
  uva_future_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

static int fifo[4], nfifo;

static void fifo_cb(int status, uva_value_t value, void *data) {
  (void)value;
  ck_assert_int_eq(status, 0);
  fifo[nfifo++] = (int)(intptr_t)data;
}

/* Waiters are woken in the order they began to wait. */
START_TEST(token_waiters_fifo) {
  LOOP_INIT(loop);
  uva_token_t *tok;
  intptr_t i;

  nfifo = 0;
  ck_assert_int_eq(uva_token_new(loop, &tok), 0);
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(
        uva_future_then(uva_token_cancelled(tok), fifo_cb, (void *)i), 0);
  uva_token_cancel(tok);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(nfifo, 4);
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(fifo[i], (int)i);
  uva_token_free(tok);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(token_children) {
  LOOP_INIT(loop);
  uva_token_t *p, *c1, *c2, *gc, *late;

  ck_assert_int_eq(uva_token_new(loop, &p), 0);
  ck_assert_int_eq(uva_token_child(p, &c1), 0);
  ck_assert_int_eq(uva_token_child(p, &c2), 0);
  ck_assert_int_eq(uva_token_child(c1, &gc), 0);
  /* a child's cancel does not reach its parent or sibling */
  uva_token_cancel(c2);
  ck_assert_int_eq(uva_token_is_cancelled(c2), 1);
  ck_assert_int_eq(uva_token_is_cancelled(p), 0);
  ck_assert_int_eq(uva_token_is_cancelled(c1), 0);
  uva_token_free(c2); /* unlinks itself */
  uva_token_cancel(p);
  ck_assert_int_eq(uva_token_is_cancelled(c1), 1);
  ck_assert_int_eq(uva_token_is_cancelled(gc), 1);
  /* the child of a cancelled token is born cancelled */
  ck_assert_int_eq(uva_token_child(p, &late), 0);
  ck_assert_int_eq(uva_token_is_cancelled(late), 1);
  ck_assert_int_eq(uva_block_on(loop, uva_token_cancelled(late), NULL), 0);
  uva_token_free(late);
  uva_token_free(gc);
  uva_token_free(c1);
  uva_token_free(p);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(token_parent_freed_first) {
  LOOP_INIT(loop);
  uva_token_t *p, *c;
  uva_future_t *w;

  ck_assert_int_eq(uva_token_new(loop, &p), 0);
  ck_assert_int_eq(uva_token_child(p, &c), 0);
  uva_token_free(p); /* c goes on alone, not cancelled */
  ck_assert_int_eq(uva_token_is_cancelled(c), 0);
  w = uva_token_cancelled(c);
  uva_token_cancel(c);
  ck_assert_int_eq(uva_block_on(loop, w, NULL), 0);
  uva_token_free(c);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(token_bad_input) {
  LOOP_INIT(loop);
  uva_token_t *tok = (uva_token_t *)1, *other;
  uv_loop_t loop2;

  ck_assert_int_eq(uva_token_new(NULL, &tok), UV_EINVAL);
  ck_assert_ptr_null(tok);
  ck_assert_int_eq(uva_token_new(loop, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_token_child(NULL, &tok), UV_EINVAL);
  ck_assert_ptr_null(tok);
  ck_assert_int_eq(uva_future_status(uva_token_cancelled(NULL)), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_token_bind(NULL, NULL)), UV_EINVAL);
  ck_assert_int_eq(uva_token_is_cancelled(NULL), 0);
  uva_token_cancel(NULL);
  uva_token_cancel_async(NULL);
  uva_token_free(NULL);
  ck_assert_int_eq(uva_token_new(loop, &tok), 0);
  ck_assert_int_eq(uva_token_child(tok, NULL), UV_EINVAL);
  /* bind: NULL future; a future of another loop (freed) */
  ck_assert_int_eq(uva_future_status(uva_token_bind(tok, NULL)), UV_EINVAL);
  ck_assert_int_eq(uv_loop_init(&loop2), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_token_bind(tok, uva_sleep(&loop2, 1000)), NULL),
      UV_EINVAL);
  ck_assert_int_eq(uv_run(&loop2, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&loop2), 0);
  ck_assert_int_eq(uva_token_child(tok, &other), 0);
  uva_token_free(other);
  uva_token_free(tok);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- bind ----------------------------------------------------------------- */

typedef struct {
  uv_loop_t *loop;
  int started, cleaned;
  int seen; /* what its await returned */
} worker_t;

static int worker_body(void *arg, uva_result_t *result) {
  worker_t *w = arg;
  int err;

  w->started++;
  err = uva_await(uva_sleep(w->loop, 10000), NULL);
  w->seen = err;
  w->cleaned++; /* the clean-up runs before the bound future settles */
  result->value.u64 = 7;
  return err;
}

static int canceller_body(void *arg, uva_result_t *result) {
  uva_token_t *tok = arg;
  (void)result;
  uva_token_cancel(tok);
  return 0;
}

START_TEST(token_bind_task) {
  LOOP_INIT(loop);
  uva_token_t *tok;
  worker_t w = {loop, 0, 0, 0};
  uva_future_t *bound;

  ck_assert_int_eq(uva_token_new(loop, &tok), 0);
  bound = uva_token_bind(tok, uva_spawn(loop, worker_body, &w));
  uva_future_detach(uva_spawn(loop, canceller_body, tok));
  ck_assert_int_eq(uva_block_on(loop, bound, NULL), UV_ECANCELED);
  ck_assert_int_eq(w.started, 1);
  ck_assert_int_eq(w.cleaned, 1);
  ck_assert_int_eq(w.seen, UV_ECANCELED);
  /* bound to a cancelled token: cancelled before it starts */
  memset(&w, 0, sizeof(w));
  w.loop = loop;
  ck_assert_int_eq(
      uva_block_on(loop, uva_token_bind(tok, uva_spawn(loop, worker_body, &w)),
                   NULL),
      UV_ECANCELED);
  ck_assert_int_eq(w.started, 0);
  uva_token_free(tok);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(token_bind_result_passes) {
  LOOP_INIT(loop);
  uva_token_t *tok;
  uva_value_t v;
  uva_future_t *bound;

  ck_assert_int_eq(uva_token_new(loop, &tok), 0);
  /* the bound future's value passes through, owned by the taker */
  bound = uva_token_bind(tok, uva_ready(loop, test_strdup("x"), free));
  ck_assert_int_eq(uva_block_on(loop, bound, &v), 0);
  ck_assert_str_eq(v.ptr, "x");
  free(v.ptr);
  /* freeing the token lets a bound future run on unbound */
  bound = uva_token_bind(tok, uva_sleep(loop, 5));
  uva_token_free(tok);
  ck_assert_int_eq(uva_block_on(loop, bound, NULL), 0);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(token_bind_exactly_once) {
  LOOP_INIT(loop);
  uva_token_t *tok;
  uva_chan_t *ch;
  int msg = 5, out = 0;
  uva_result_t win, res[2];
  uva_future_t *fs[2];

  ck_assert_int_eq(uva_token_new(loop, &tok), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &ch), 0);
  ck_assert_int_eq(uva_chan_try_send(ch, &msg), 0);
  /* a bound receive that loses a select takes no message */
  fs[0] = uva_ready_u64(loop, 1);
  fs[1] = uva_token_bind(tok, uva_chan_recv(ch, &out));
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 2, &win), NULL),
                   0);
  ck_assert_uint_eq(uva_chan_len(ch), 1);
  ck_assert_int_eq(out, 0);
  /* one that completes inside a join that times out is dropped untaken:
   * its message goes back */
  fs[0] = uva_token_bind(tok, uva_chan_recv(ch, &out));
  fs[1] = uva_sleep(loop, 2000);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_join(loop, fs, 2, res), 5), NULL),
      UV_ETIMEDOUT);
  ck_assert_uint_eq(uva_chan_len(ch), 1);
  ck_assert_int_eq(out, 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_token_bind(tok, uva_chan_recv(ch, &out)), NULL),
      0);
  ck_assert_int_eq(out, 5);
  uva_chan_free(ch);
  uva_token_free(tok);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- other threads and signal handlers ------------------------------------ */

static int thread_saw_before, thread_saw_after;

/* Every call another thread may make: is_cancelled, cancel, cancel_async. */
static void thread_cancel(void *arg) {
  usleep(10000);
  thread_saw_before = uva_token_is_cancelled(arg);
  uva_token_cancel(arg);
  uva_token_cancel_async(arg); /* a second cancel does nothing */
  thread_saw_after = uva_token_is_cancelled(arg);
}

START_TEST(token_cancel_from_thread) {
  LOOP_INIT(loop);
  uva_token_t *tok, *child;
  uv_thread_t th;
  uva_future_t *w;

  ck_assert_int_eq(uva_token_new(loop, &tok), 0);
  ck_assert_int_eq(uva_token_child(tok, &child), 0);
  w = uva_token_cancelled(child);
  ck_assert_int_eq(uv_thread_create(&th, thread_cancel, tok), 0);
  ck_assert_int_eq(uva_block_on(loop, w, NULL), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_int_eq(thread_saw_before, 0);
  ck_assert_int_eq(thread_saw_after, 1);
  ck_assert_int_eq(uva_token_is_cancelled(tok), 1);
  ck_assert_int_eq(uva_token_is_cancelled(child), 1);
  uva_token_free(child);
  uva_token_free(tok);
  LOOP_CLOSE(loop);
}
END_TEST

static uva_token_t *sig_tok;

static void on_usr1(int signum) {
  (void)signum;
  uva_token_cancel_async(sig_tok);
}

static void thread_raise(void *arg) {
  (void)arg;
  usleep(10000);
  kill(getpid(), SIGUSR1);
}

START_TEST(token_cancel_from_signal_handler) {
  LOOP_INIT(loop);
  struct sigaction sa, old;
  uva_token_t *child;
  uva_future_t *w;
  uv_thread_t th;
  worker_t wk = {loop, 0, 0, 0};
  uva_future_t *bound;

  ck_assert_int_eq(uva_token_new(loop, &sig_tok), 0);
  ck_assert_int_eq(uva_token_child(sig_tok, &child), 0);
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
  /* delivered on the loop's own thread, while it runs */
  w = uva_token_cancelled(child);
  bound = uva_token_bind(sig_tok, uva_spawn(loop, worker_body, &wk));
  ck_assert_int_eq(uv_thread_create(&th, thread_raise, NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, w, NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, bound, NULL), UV_ECANCELED);
  ck_assert_int_eq(wk.cleaned, 1);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  /* and raised synchronously on this thread, outside the loop */
  uva_token_free(child);
  uva_token_free(sig_tok);
  ck_assert_int_eq(uva_token_new(loop, &sig_tok), 0);
  raise(SIGUSR1);
  ck_assert_int_eq(uva_token_is_cancelled(sig_tok), 1);
  ck_assert_int_eq(uva_block_on(loop, uva_token_cancelled(sig_tok), NULL), 0);
  ck_assert_int_eq(sigaction(SIGUSR1, &old, NULL), 0);
  uva_token_free(sig_tok);
  LOOP_CLOSE(loop);
}
END_TEST

/* Threads race to cancel many tokens (cancel and cancel_async) while
 * their waiters wait on the loop: each token's effects run once. */
#define RACE_TOKENS 64
#define RACE_THREADS 4

static uva_token_t *race_tok[RACE_TOKENS];

static void race_thread(void *arg) {
  intptr_t k = (intptr_t)arg;
  int i;
  for (i = 0; i < RACE_TOKENS; i++) {
    int t = (int)((i * 7 + k * 13) % RACE_TOKENS);
    if (k % 2)
      uva_token_cancel(race_tok[t]);
    else
      uva_token_cancel_async(race_tok[t]);
    (void)uva_token_is_cancelled(race_tok[t]);
  }
}

START_TEST(token_cancel_race) {
  LOOP_INIT(loop);
  uva_token_t *child[RACE_TOKENS];
  uva_future_t *w[2 * RACE_TOKENS];
  uva_result_t res[2 * RACE_TOKENS];
  uv_thread_t th[RACE_THREADS];
  intptr_t k;
  int i;

  for (i = 0; i < RACE_TOKENS; i++) {
    ck_assert_int_eq(uva_token_new(loop, &race_tok[i]), 0);
    ck_assert_int_eq(uva_token_child(race_tok[i], &child[i]), 0);
    w[2 * i] = uva_token_cancelled(race_tok[i]);
    w[2 * i + 1] = uva_token_cancelled(child[i]);
  }
  for (k = 0; k < RACE_THREADS; k++)
    ck_assert_int_eq(uv_thread_create(&th[k], race_thread, (void *)k), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_join(loop, w, 2 * RACE_TOKENS, res), NULL), 0);
  for (k = 0; k < RACE_THREADS; k++)
    ck_assert_int_eq(uv_thread_join(&th[k]), 0);
  for (i = 0; i < 2 * RACE_TOKENS; i++)
    ck_assert_int_eq(res[i].status, 0);
  for (i = 0; i < RACE_TOKENS; i++) {
    ck_assert_int_eq(uva_token_is_cancelled(child[i]), 1);
    uva_token_free(child[i]);
    uva_token_free(race_tok[i]);
  }
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("token");
  TCase *tc = tcase_create("token");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, token_cancel_settles_waiters);
  tcase_add_test(tc, token_waiter_cancel_and_free);
  tcase_add_test(tc, token_waiters_fifo);
  tcase_add_test(tc, token_children);
  tcase_add_test(tc, token_parent_freed_first);
  tcase_add_test(tc, token_bad_input);
  tcase_add_test(tc, token_bind_task);
  tcase_add_test(tc, token_bind_result_passes);
  tcase_add_test(tc, token_bind_exactly_once);
  tcase_add_test(tc, token_cancel_from_thread);
  tcase_add_test(tc, token_cancel_from_signal_handler);
  tcase_add_test(tc, token_cancel_race);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
