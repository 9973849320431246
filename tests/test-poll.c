/* Poll futures and wakers: uva_future_poll, uva_waker_wake/clone/drop. */
#include "test-util.h"

#include <stdatomic.h>


/* The state every poll function here works on.  state_free only counts, so
 * that each test can check it ran exactly once. */
typedef struct {
  int polls;
  int state_frees;
  int ready_at;  /* poll number that returns ready (0: never) */
  int ret;       /* what the ready poll returns */
  uint64_t value;
  int wakes_inside; /* wakes made inside each pending poll */
  uva_waker_t *clone;
  uv_timer_t timer;
  int ticks;
  int wakes_per_tick;
  int ticks_at_ready;
  uv_thread_t thread;
  int thread_started;
  atomic_int flag; /* set by the other thread before it wakes */
  int thread_wakes;
  uv_sem_t go;
} pstate;

static void pstate_init(pstate *st) {
  memset(st, 0, sizeof(*st));
  atomic_init(&st->flag, 0);
}

static void pstate_free(void *p) { ((pstate *)p)->state_frees++; }

/* Ready (returning st->ret) at poll st->ready_at, else pending; wakes itself
 * st->wakes_inside times inside each pending poll. */
static int poll_counting(void *state, uva_waker_t *waker, uva_result_t *out) {
  pstate *st = state;
  int i;
  st->polls++;
  if (st->ready_at != 0 && st->polls >= st->ready_at) {
    out->value.u64 = st->value;
    return st->ret;
  }
  for (i = 0; i < st->wakes_inside; i++)
    uva_waker_wake(waker);
  return UVA_PENDING;
}

START_TEST(poll_ready_at_once) {
  LOOP_INIT(loop);
  pstate st;
  uva_value_t v;
  pstate_init(&st);
  st.ready_at = 1;
  st.value = 42;
  uva_future_t *f = uva_future_poll(loop, poll_counting, &st, pstate_free);
  ck_assert_int_eq(st.polls, 0); /* first polled from the loop */
  ck_assert_int_eq(uva_future_status(f), UVA_PENDING);
  ck_assert_int_eq(uva_block_on(loop, f, &v), 0);
  ck_assert_uint_eq(v.u64, 42);
  ck_assert_int_eq(st.polls, 1);
  ck_assert_int_eq(st.state_frees, 1);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(poll_state_free_null) {
  LOOP_INIT(loop);
  pstate st;
  uva_value_t v;
  pstate_init(&st);
  st.ready_at = 1;
  st.value = 5;
  ck_assert_int_eq(
      uva_block_on(loop, uva_future_poll(loop, poll_counting, &st, NULL), &v),
      0);
  ck_assert_uint_eq(v.u64, 5);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(poll_wake_inside) {
  LOOP_INIT(loop);
  pstate st;
  uva_value_t v;
  pstate_init(&st);
  st.ready_at = 4;
  st.value = 9;
  st.wakes_inside = 3; /* coalesced: one more poll per pending poll */
  ck_assert_int_eq(
      uva_block_on(loop, uva_future_poll(loop, poll_counting, &st, pstate_free),
                   &v),
      0);
  ck_assert_uint_eq(v.u64, 9);
  ck_assert_int_eq(st.polls, 4);
  ck_assert_int_eq(st.state_frees, 1);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* ---- woken from a uv_timer callback ------------------------------------- */

/* First poll: keeps a clone of the waker.  Each poll that stays pending
 * starts a one-shot timer, so ticks and polls alternate however late the
 * loop runs (a repeating timer can fire twice before a poll on a loaded
 * machine: libuv runs due timers at the end of a UV_RUN_ONCE iteration and
 * again at the start of the next).  Each tick wakes wakes_per_tick times;
 * the last tick (when ready_at is reached) drops the clone. */
static void wake_tick(uv_timer_t *h) {
  pstate *st = h->data;
  int i;
  /* one poll per earlier tick, plus the first: never polled unwoken */
  ck_assert_int_eq(st->polls, st->ticks + 1);
  st->ticks++;
  for (i = 0; i < st->wakes_per_tick; i++)
    uva_waker_wake(st->clone);
  if (st->ticks + 1 >= st->ready_at) {
    uva_waker_drop(st->clone);
    st->clone = NULL;
  }
}

static int poll_timer(void *state, uva_waker_t *waker, uva_result_t *out) {
  pstate *st = state;
  st->polls++;
  if (st->polls == 1) {
    st->clone = uva_waker_clone(waker);
    ck_assert_ptr_nonnull(st->clone);
    st->timer.data = st;
  }
  if (st->polls >= st->ready_at) {
    st->ticks_at_ready = st->ticks;
    out->value.u64 = st->value;
    return 0;
  }
  ck_assert_int_eq(uv_timer_start(&st->timer, wake_tick, 5, 0), 0);
  return UVA_PENDING;
}

START_TEST(poll_wake_from_timer) {
  LOOP_INIT(loop);
  pstate st;
  uva_value_t v;
  pstate_init(&st);
  st.ready_at = 2;
  st.value = 7;
  st.wakes_per_tick = 1;
  ck_assert_int_eq(uv_timer_init(loop, &st.timer), 0);
  uva_future_t *f = uva_future_poll(loop, poll_timer, &st, pstate_free);
  /* polled once, then not again until woken */
  ck_assert_int_ne(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(st.polls, 1);
  ck_assert_int_eq(uva_block_on(loop, f, &v), 0);
  ck_assert_uint_eq(v.u64, 7);
  ck_assert_int_eq(st.polls, 2);
  ck_assert_int_eq(st.ticks, 1);
  ck_assert_int_eq(st.state_frees, 1);
  uv_close((uv_handle_t *)&st.timer, NULL);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(poll_wakes_coalesce) {
  LOOP_INIT(loop);
  pstate st;
  uva_value_t v;
  pstate_init(&st);
  st.ready_at = 4;
  st.value = 8;
  st.wakes_per_tick = 3; /* three wakes before each poll: one poll */
  ck_assert_int_eq(uv_timer_init(loop, &st.timer), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_future_poll(loop, poll_timer, &st, pstate_free),
                   &v),
      0);
  ck_assert_uint_eq(v.u64, 8);
  ck_assert_int_eq(st.polls, 4);
  ck_assert_int_eq(st.ticks_at_ready, 3); /* once per tick, not per wake */
  ck_assert_int_eq(st.state_frees, 1);
  uv_close((uv_handle_t *)&st.timer, NULL);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- woken from another thread ------------------------------------------ */

static void waking_thread(void *arg) {
  pstate *st = arg;
  uva_waker_t *w = st->clone;
  int i;
  uv_sleep(20);
  for (i = 0; i < st->thread_wakes - 1; i++)
    uva_waker_wake(w);
  atomic_store(&st->flag, 1);
  uva_waker_wake(w);
  uva_waker_drop(w); /* the state may be gone from here on */
}

static int poll_thread(void *state, uva_waker_t *waker, uva_result_t *out) {
  pstate *st = state;
  st->polls++;
  if (atomic_load(&st->flag)) {
    out->value.u64 = 42;
    return 0;
  }
  if (!st->thread_started) {
    st->thread_started = 1;
    st->clone = uva_waker_clone(waker);
    ck_assert_int_eq(uv_thread_create(&st->thread, waking_thread, st), 0);
  }
  return UVA_PENDING;
}

START_TEST(poll_wake_from_thread) {
  LOOP_INIT(loop);
  pstate st;
  uva_value_t v;
  pstate_init(&st);
  st.thread_wakes = 1;
  /* the pending poll future keeps the loop alive until the thread wakes it */
  ck_assert_int_eq(
      uva_block_on(loop, uva_future_poll(loop, poll_thread, &st, pstate_free),
                   &v),
      0);
  ck_assert_uint_eq(v.u64, 42);
  ck_assert_int_ge(st.polls, 2);
  ck_assert_int_eq(st.state_frees, 1);
  ck_assert_int_eq(uv_thread_join(&st.thread), 0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(poll_many_wakes_from_thread) {
  LOOP_INIT(loop);
  pstate st;
  uva_value_t v;
  pstate_init(&st);
  st.thread_wakes = 1000;
  ck_assert_int_eq(
      uva_block_on(loop, uva_future_poll(loop, poll_thread, &st, pstate_free),
                   &v),
      0);
  ck_assert_uint_eq(v.u64, 42);
  ck_assert_int_ge(st.polls, 2);
  ck_assert_int_le(st.polls, 1001);
  ck_assert_int_eq(st.state_frees, 1);
  ck_assert_int_eq(uv_thread_join(&st.thread), 0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* The same with uv_run instead of block_on: the pending future keeps it. */
static int then_calls;
static int then_status;
static uint64_t then_value;
static void then_note(int status, uva_value_t value, void *data) {
  (void)data;
  then_calls++;
  then_status = status;
  then_value = value.u64;
}

START_TEST(poll_thread_keeps_loop_alive) {
  LOOP_INIT(loop);
  pstate st;
  pstate_init(&st);
  st.thread_wakes = 1;
  then_calls = 0;
  ck_assert_int_eq(
      uva_future_then(uva_future_poll(loop, poll_thread, &st, pstate_free),
                      then_note, NULL),
      0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(then_calls, 1);
  ck_assert_int_eq(then_status, 0);
  ck_assert_uint_eq(then_value, 42);
  ck_assert_int_eq(st.state_frees, 1);
  ck_assert_int_eq(uv_thread_join(&st.thread), 0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* ---- errors and values -------------------------------------------------- */

START_TEST(poll_error) {
  LOOP_INIT(loop);
  pstate st;
  pstate_init(&st);
  st.ready_at = 2;
  st.ret = UV_EIO;
  st.wakes_inside = 1;
  ck_assert_int_eq(
      uva_block_on(loop, uva_future_poll(loop, poll_counting, &st, pstate_free),
                   NULL),
      UV_EIO);
  ck_assert_int_eq(st.polls, 2);
  ck_assert_int_eq(st.state_frees, 1);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(poll_positive_return) {
  LOOP_INIT(loop);
  static const int bad[] = {2, 5, 1000};
  int i;
  for (i = 0; i < 3; i++) {
    pstate st;
    pstate_init(&st);
    st.ready_at = 1;
    st.ret = bad[i];
    ck_assert_int_eq(
        uva_block_on(loop,
                     uva_future_poll(loop, poll_counting, &st, pstate_free),
                     NULL),
        UV_EINVAL);
    ck_assert_int_eq(st.polls, 1);
    ck_assert_int_eq(st.state_frees, 1);
  }
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int poll_ptr(void *state, uva_waker_t *waker, uva_result_t *out) {
  pstate *st = state;
  (void)waker;
  st->polls++;
  out->value.ptr = test_strdup("polled");
  out->free_fn = count_free;
  return 0;
}

START_TEST(poll_value_ptr) {
  LOOP_INIT(loop);
  pstate st;
  uva_value_t v;
  pstate_init(&st);
  frees = 0;
  ck_assert_int_eq(
      uva_block_on(loop, uva_future_poll(loop, poll_ptr, &st, pstate_free),
                   &v),
      0);
  ck_assert_str_eq(v.ptr, "polled");
  ck_assert_int_eq(frees, 0);
  count_free(v.ptr);
  ck_assert_int_eq(st.state_frees, 1);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(poll_value_freed_unclaimed) {
  LOOP_INIT(loop);
  pstate st, st2;
  pstate_init(&st);
  pstate_init(&st2);
  frees = 0;
  /* detached: freed when it settles */
  uva_future_detach(uva_future_poll(loop, poll_ptr, &st, pstate_free));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st.polls, 1);
  ck_assert_int_eq(st.state_frees, 1);
  ck_assert_int_eq(frees, 1);
  /* freed after it settled */
  uva_future_t *f = uva_future_poll(loop, poll_ptr, &st2, pstate_free);
  while (uva_future_status(f) == UVA_PENDING)
    uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(uva_future_status(f), 0);
  ck_assert_int_eq(frees, 1);
  uva_future_free(f);
  ck_assert_int_eq(frees, 2);
  ck_assert_int_eq(st2.state_frees, 1);
  LOOP_CLOSE(loop);
}
END_TEST

static int poll_in_task(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  pstate st;
  uva_value_t v;
  pstate_init(&st);
  st.ready_at = 3;
  st.value = 31;
  st.wakes_inside = 1;
  ck_assert_int_eq(
      uva_await(uva_future_poll(loop, poll_counting, &st, pstate_free), &v),
      0);
  ck_assert_int_eq(st.state_frees, 1);
  r->value.u64 = v.u64;
  return 0;
}

START_TEST(poll_awaited_in_task) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, poll_in_task, loop), &v),
                   0);
  ck_assert_uint_eq(v.u64, 31);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* ---- cancel and free ---------------------------------------------------- */

START_TEST(poll_cancel_pending) {
  LOOP_INIT(loop);
  pstate st;
  pstate_init(&st); /* never ready, never woken */
  uva_future_t *f = uva_future_poll(loop, poll_counting, &st, pstate_free);
  ck_assert_int_ne(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(st.polls, 1);
  ck_assert_int_eq(st.state_frees, 0);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_future_status(f), UV_ECANCELED);
  ck_assert_int_eq(st.state_frees, 1);
  ck_assert_int_eq(uva_future_cancel(f), UV_EBUSY);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ECANCELED);
  ck_assert_int_eq(st.polls, 1);
  ck_assert_int_eq(st.state_frees, 1);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(poll_cancel_before_first_poll) {
  LOOP_INIT(loop);
  pstate st;
  pstate_init(&st);
  st.ready_at = 1;
  uva_future_t *f = uva_future_poll(loop, poll_counting, &st, pstate_free);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(st.state_frees, 1);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ECANCELED);
  ck_assert_int_eq(st.polls, 0); /* never polled */
  ck_assert_int_eq(st.state_frees, 1);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(poll_free_pending) {
  LOOP_INIT(loop);
  pstate st, st2;
  pstate_init(&st);
  pstate_init(&st2);
  uva_future_t *f = uva_future_poll(loop, poll_counting, &st, pstate_free);
  ck_assert_int_ne(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(st.polls, 1);
  uva_future_free(f);
  ck_assert_int_eq(st.state_frees, 1);
  /* freed before its first poll */
  uva_future_free(uva_future_poll(loop, poll_counting, &st2, pstate_free));
  ck_assert_int_eq(st2.state_frees, 1);
  /* neither keeps the loop alive any more */
  LOOP_CLOSE(loop);
  ck_assert_int_eq(st.polls, 1);
  ck_assert_int_eq(st2.polls, 0);
  ck_assert_int_eq(st.state_frees, 1);
  ck_assert_int_eq(st2.state_frees, 1);
}
END_TEST

/* A heap state (a slot for a waker clone), freed by state_free: valgrind
 * checks it is freed, and the counter that it is freed once. */
static int heap_state_frees;
static void heap_state_free(void *p) {
  heap_state_frees++;
  free(p);
}

static int poll_keep_clone(void *state, uva_waker_t *waker,
                           uva_result_t *out) {
  uva_waker_t **slot = state;
  (void)out;
  if (*slot == NULL)
    *slot = uva_waker_clone(waker);
  return UVA_PENDING;
}

typedef struct {
  uva_waker_t *clone;
  uv_sem_t go;
} late_waker;

static void late_thread(void *arg) {
  late_waker *lw = arg;
  uv_sem_wait(&lw->go);
  uva_waker_wake(lw->clone); /* the future is gone: harmless */
  uva_waker_wake(lw->clone);
  uva_waker_drop(lw->clone);
}

START_TEST(poll_wake_after_cancel_from_thread) {
  LOOP_INIT(loop);
  late_waker lw;
  uv_thread_t th;
  uva_waker_t **slot = calloc(1, sizeof(*slot));
  heap_state_frees = 0;
  uva_future_t *f =
      uva_future_poll(loop, poll_keep_clone, slot, heap_state_free);
  ck_assert_int_ne(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_ptr_nonnull(*slot);
  lw.clone = *slot; /* the state is freed below; the clone lives on */
  ck_assert_int_eq(uv_sem_init(&lw.go, 0), 0);
  ck_assert_int_eq(uv_thread_create(&th, late_thread, &lw), 0);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(heap_state_frees, 1);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ECANCELED);
  uv_sem_post(&lw.go); /* wake while the loop is still open */
  ck_assert_int_eq(uv_thread_join(&th), 0);
  uv_sem_destroy(&lw.go);
  ck_assert_int_eq(heap_state_frees, 1);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(poll_wake_after_loop_closed) {
  late_waker lw;
  uv_thread_t th;
  uva_waker_t **slot = calloc(1, sizeof(*slot));
  heap_state_frees = 0;
  {
    LOOP_INIT(loop);
    uva_future_t *f =
        uva_future_poll(loop, poll_keep_clone, slot, heap_state_free);
    ck_assert_int_ne(uv_run(loop, UV_RUN_NOWAIT), 0);
    lw.clone = *slot;
    ck_assert_ptr_nonnull(lw.clone);
    uva_future_free(f);
    ck_assert_int_eq(heap_state_frees, 1);
    LOOP_CLOSE(loop);
  }
  /* the loop is closed; a clone held elsewhere is still valid to use */
  ck_assert_int_eq(uv_sem_init(&lw.go, 0), 0);
  ck_assert_int_eq(uv_thread_create(&th, late_thread, &lw), 0);
  uv_sem_post(&lw.go);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  uv_sem_destroy(&lw.go);
}
END_TEST

START_TEST(poll_clone_on_loop_thread_outlives_future) {
  LOOP_INIT(loop);
  uva_waker_t **slot = calloc(1, sizeof(*slot));
  heap_state_frees = 0;
  uva_future_t *f =
      uva_future_poll(loop, poll_keep_clone, slot, heap_state_free);
  ck_assert_int_ne(uv_run(loop, UV_RUN_NOWAIT), 0);
  uva_waker_t *w = *slot;
  ck_assert_ptr_nonnull(w);
  ck_assert_ptr_eq(uva_waker_clone(w), w); /* two references now */
  uva_future_free(f);
  ck_assert_int_eq(heap_state_frees, 1);
  uva_waker_wake(w); /* a no-op: the future is gone */
  uva_waker_drop(w);
  uva_waker_wake(w);
  uva_waker_drop(w);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

START_TEST(poll_bad_input) {
  LOOP_INIT(loop);
  pstate st;
  pstate_init(&st);
  uva_future_t *f = uva_future_poll(NULL, poll_counting, &st, pstate_free);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  ck_assert_int_eq(st.state_frees, 1);
  uva_future_free(f);
  f = uva_future_poll(loop, NULL, &st, pstate_free);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  ck_assert_int_eq(st.state_frees, 2);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_EINVAL);
  f = uva_future_poll(loop, NULL, NULL, NULL);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  ck_assert_int_eq(st.polls, 0);
  ck_assert_int_eq(st.state_frees, 2);
  uva_waker_wake(NULL);
  ck_assert_ptr_null(uva_waker_clone(NULL));
  uva_waker_drop(NULL);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* ---- cancelled while its poll function runs ----------------------------- */

/* Regression: a poll future cancelled from inside its own poll function (here
 * by uva_future_cancel on itself; in poll_select_loser_during_poll through a
 * select) was finished twice.  Now it settles with UV_ECANCELED when the poll
 * returns, state_free runs once and the value the poll returned is freed. */
static uva_future_t *self_future;
static int self_cancel_ret;
static int poll_self_cancel(void *state, uva_waker_t *waker,
                            uva_result_t *out) {
  pstate *st = state;
  (void)waker;
  st->polls++;
  self_cancel_ret = uva_future_cancel(self_future);
  out->value.ptr = malloc(8);
  out->free_fn = count_free;
  return 0;
}

START_TEST(poll_cancel_during_poll) {
  LOOP_INIT(loop);
  pstate st;
  pstate_init(&st);
  frees = 0;
  self_cancel_ret = 1;
  self_future = uva_future_poll(loop, poll_self_cancel, &st, pstate_free);
  ck_assert_int_eq(uva_block_on(loop, self_future, NULL), UV_ECANCELED);
  ck_assert_int_eq(self_cancel_ret, 0);
  ck_assert_int_eq(st.polls, 1);
  ck_assert_int_eq(st.state_frees, 1);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(frees, 1);
}
END_TEST

static uva_future_t *other_future;
static int other_resolve_ret;
static int poll_resolves_other(void *state, uva_waker_t *waker,
                               uva_result_t *out) {
  pstate *st = state;
  (void)waker;
  st->polls++;
  other_resolve_ret = uva_future_resolve_u64(other_future, 5);
  out->value.u64 = 6;
  return 0;
}

START_TEST(poll_select_loser_during_poll) {
  LOOP_INIT(loop);
  pstate st;
  uva_result_t w;
  uva_future_t *fs[2];
  uva_value_t v;
  pstate_init(&st);
  other_resolve_ret = 1;
  other_future = uva_future_new(loop);
  fs[0] = other_future;
  fs[1] = uva_future_poll(loop, poll_resolves_other, &st, pstate_free);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 2, &w), &v), 0);
  ck_assert_int_eq(other_resolve_ret, 0);
  ck_assert_uint_eq(v.u64, 0); /* settled first, inside the poll */
  ck_assert_int_eq(w.status, 0);
  ck_assert_uint_eq(w.value.u64, 5);
  ck_assert_int_eq(st.polls, 1);
  ck_assert_int_eq(st.state_frees, 1);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("poll");
  TCase *tc = tcase_create("poll");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, poll_ready_at_once);
  tcase_add_test(tc, poll_state_free_null);
  tcase_add_test(tc, poll_wake_inside);
  tcase_add_test(tc, poll_wake_from_timer);
  tcase_add_test(tc, poll_wakes_coalesce);
  tcase_add_test(tc, poll_wake_from_thread);
  tcase_add_test(tc, poll_many_wakes_from_thread);
  tcase_add_test(tc, poll_thread_keeps_loop_alive);
  tcase_add_test(tc, poll_error);
  tcase_add_test(tc, poll_positive_return);
  tcase_add_test(tc, poll_value_ptr);
  tcase_add_test(tc, poll_value_freed_unclaimed);
  tcase_add_test(tc, poll_awaited_in_task);
  tcase_add_test(tc, poll_cancel_pending);
  tcase_add_test(tc, poll_cancel_before_first_poll);
  tcase_add_test(tc, poll_free_pending);
  tcase_add_test(tc, poll_wake_after_cancel_from_thread);
  tcase_add_test(tc, poll_wake_after_loop_closed);
  tcase_add_test(tc, poll_clone_on_loop_thread_outlives_future);
  tcase_add_test(tc, poll_bad_input);
  suite_add_tcase(s, tc);
  /* Regression tests for bugs these suites found (fixed). */
  tc = tcase_create("regressions");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, poll_cancel_during_poll);
  tcase_add_test(tc, poll_select_loser_during_poll);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
