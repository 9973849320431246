/* Cross-thread stress: 4 threads each send N numbered messages with
 * uva_chan_send_blocking into two channels (two threads each), while tasks
 * on the loop receive them (one from each channel, one racing a receive on
 * the first against a stop future, one selecting over both channels and a
 * stop future) and a canceller keeps cancelling receives (through the stop
 * futures) and whole receiver tasks (which it replaces).  Every message must
 * arrive exactly once (a bitmap per sender, a count and a checksum), and each
 * receiver must see each sender's messages in the order sent.
 *
 * The order across receivers cannot be checked: a receive completes on the
 * loop's thread in the channel's order, but its task only sees the message
 * when it next runs, and meanwhile a running receiver may take any number of
 * later messages at once (the channel's fast path, while threads keep
 * refilling it).  How far ahead a message was seen is printed.
 *
 * N is UVA_STRESS_N when set, else 20,000 with UVA_TEST_SMALL (valgrind,
 * sanitizers), else 2,500,000 (10 million messages). */
#include "test-util.h"

#include <inttypes.h>
#include <stdio.h>

#define SENDERS 4
#define RECEIVERS 4
#define SEQ_BITS 56
#define SEQ_MASK (((uint64_t)1 << SEQ_BITS) - 1)
#define SENTINEL UINT64_MAX /* never a message: sender ids stay below 4 */
#define CAPACITY 256

typedef struct stress_s stress_t;

typedef struct {
  stress_t *S;
  int idx;
  uint64_t last[SENDERS]; /* a receiver slot: last seq + 1 seen per sender */
} slot_t;

struct stress_s {
  uv_loop_t *loop;
  uva_chan_t *ch;  /* senders 0 and 1 */
  uva_chan_t *ch2; /* senders 2 and 3 */
  uint64_t n; /* messages per sender */
  uint64_t period; /* deliveries between two cancels */

  /* the threads */
  uv_thread_t th[SENDERS];
  slot_t sslot[SENDERS];
  int sresult[SENDERS];

  /* the loop side (only the loop's thread touches these) */
  uint64_t *seen[SENDERS]; /* a bit per message received */
  uint64_t low[SENDERS];   /* every message below this one is in */
  uint64_t count, sum, hash, max_lag;
  uint64_t bad; /* first message out of order or seen twice, or SENTINEL */
  const char *why;
  uint64_t written_on_cancel; /* cancelled receives that wrote to out */
  slot_t rslot[RECEIVERS];
  uva_future_t *recv_h[RECEIVERS]; /* join futures of the current receivers */
  uva_future_t *stop[RECEIVERS];   /* a select-style receiver's stop future */
  uva_future_t *tick;              /* wakes the canceller */
  int closing;
  uint64_t task_cancels, recv_cancels, respawns;
};

static uint64_t mix(uint64_t x) { /* splitmix64's finaliser */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/* ---- the threads -------------------------------------------------------- */

static void sender(void *arg) {
  slot_t *sl = arg;
  stress_t *S = sl->S;
  uint64_t seq;

  for (seq = 0; seq < S->n; seq++) {
    uint64_t v = ((uint64_t)sl->idx << SEQ_BITS) | seq;
    int st = uva_chan_send_blocking(sl->idx < 2 ? S->ch : S->ch2, &v);
    if (st != 0) {
      S->sresult[sl->idx] = st;
      return;
    }
  }
  S->sresult[sl->idx] = 0;
}

/* On libuv's thread pool: returns once every sender has sent everything. */
static int join_senders(void *arg, uva_result_t *r) {
  stress_t *S = arg;
  (void)r;
  for (int i = 0; i < SENDERS; i++)
    if (uv_thread_join(&S->th[i]) != 0)
      return UV_EINVAL;
  return 0;
}

/* ---- the loop side ------------------------------------------------------ */

/* Receiver slot sl saw v: check it. */
static void deliver(stress_t *S, slot_t *sl, uint64_t v) {
  uint64_t id = v >> SEQ_BITS, seq = v & SEQ_MASK, *w, bit;

  if (S->bad != SENTINEL)
    return;
  if (id >= SENDERS || seq >= S->n) {
    S->bad = v;
    S->why = "not a message that was sent";
    return;
  }
  w = &S->seen[id][seq / 64];
  bit = (uint64_t)1 << (seq % 64);
  if (*w & bit) {
    S->bad = v;
    S->why = "received twice";
    return;
  }
  if (seq < sl->last[id]) {
    S->bad = v;
    S->why = "one receiver saw it after a later one of the same sender";
    return;
  }
  if (seq - S->low[id] > S->max_lag)
    S->max_lag = seq - S->low[id];
  *w |= bit;
  sl->last[id] = seq + 1;
  while (S->low[id] < S->n &&
         (S->seen[id][S->low[id] / 64] >> (S->low[id] % 64) & 1))
    S->low[id]++;
  S->count++;
  S->sum += v;
  S->hash ^= mix(v);
  if (S->count % S->period == 0 && S->tick != NULL) {
    uva_future_resolve_u64(S->tick, 0);
    S->tick = NULL;
  }
}

/* Receiver 3: selects over a receive on each channel still open and a stop
 * future, until both channels end or the task is cancelled.  Exactly one
 * branch takes effect: a losing receive must not have taken a message. */
static int receiver_both(slot_t *sl) {
  stress_t *S = sl->S;
  int i = sl->idx, open1 = 1, open2 = 1;

  while (open1 || open2) {
    uint64_t v1 = SENTINEL, v2 = SENTINEL;
    uva_future_t *kids[3];
    int which_ch[3], n = 0, st;
    uva_result_t win;
    uva_value_t which;
    if (open1) {
      which_ch[n] = 1;
      kids[n++] = uva_chan_recv(S->ch, &v1);
    }
    if (open2) {
      which_ch[n] = 2;
      kids[n++] = uva_chan_recv(S->ch2, &v2);
    }
    which_ch[n] = 0;
    kids[n++] = S->stop[i] = uva_future_new(S->loop);
    st = uva_await(uva_select(S->loop, kids, (size_t)n, &win), &which);
    if (S->stop[i] != NULL) {
      uva_future_resolve_u64(S->stop[i], 0);
      S->stop[i] = NULL;
    }
    if (st != 0) { /* the task was cancelled: nothing taken */
      if (v1 != SENTINEL || v2 != SENTINEL)
        S->written_on_cancel++;
      return st == UV_ECANCELED ? 0 : st;
    }
    if (which_ch[which.u64] == 0) { /* stopped: receive again */
      if (v1 != SENTINEL || v2 != SENTINEL)
        S->written_on_cancel++;
      continue;
    }
    if (which_ch[which.u64] == 1 ? v2 != SENTINEL : v1 != SENTINEL)
      S->written_on_cancel++; /* the losing receive took one */
    if (win.status == UV_EOF) {
      if (which_ch[which.u64] == 1)
        open1 = 0;
      else
        open2 = 0;
      continue;
    }
    if (win.status != 0)
      return win.status;
    deliver(S, sl, which_ch[which.u64] == 1 ? v1 : v2);
    if (S->count % S->period == 0 && uva_yield() == UV_ECANCELED)
      return 0;
  }
  return 0;
}

/* Receives until the channel ends or the task is cancelled.  Receiver 1
 * races each receive against a stop future in a select, which the canceller
 * may settle: the receive is then cancelled and must not have written.
 * Receiver 2 receives from the second channel, receiver 3 from both. */
static int receiver(void *arg, uva_result_t *r) {
  slot_t *sl = arg;
  stress_t *S = sl->S;
  int i = sl->idx;
  (void)r;

  if (i == 3)
    return receiver_both(sl);
  for (;;) {
    uint64_t v = SENTINEL;
    int st;

    if (i == 1) {
      uva_future_t *kids[2];
      uva_result_t win;
      uva_value_t which;
      kids[0] = uva_chan_recv(S->ch, &v);
      kids[1] = S->stop[i] = uva_future_new(S->loop);
      st = uva_await(uva_select(S->loop, kids, 2, &win), &which);
      if (S->stop[i] != NULL) { /* its producer settles it exactly once */
        uva_future_resolve_u64(S->stop[i], 0);
        S->stop[i] = NULL;
      }
      if (st == 0 && which.u64 == 1) { /* stopped: receive again */
        if (v != SENTINEL)
          S->written_on_cancel++;
        continue;
      }
      if (st == 0)
        st = win.status;
    } else {
      st = uva_await(uva_chan_recv(i == 2 ? S->ch2 : S->ch, &v), NULL);
    }
    if (st != 0) {
      /* UV_ECANCELED: this task was cancelled; UV_EOF: the end */
      if (v != SENTINEL)
        S->written_on_cancel++;
      return st == UV_ECANCELED || st == UV_EOF ? 0 : st;
    }
    deliver(S, sl, v);
    /* A receiver that always finds a message never suspends: let the
     * canceller (and the other receivers) run now and then. */
    if (S->count % S->period == 0 && uva_yield() == UV_ECANCELED)
      return 0;
  }
}

/* Every period deliveries, cancels something: in turn a select-style
 * receiver's pending receive (through its stop future) or a whole receiver
 * task, which it then awaits and replaces. */
static int canceller(void *arg, uva_result_t *r) {
  stress_t *S = arg;
  uint64_t k = 0;
  (void)r;

  while (!S->closing) {
    S->tick = uva_future_new(S->loop);
    ck_assert_int_eq(uva_await(S->tick, NULL), 0);
    if (S->closing)
      break;
    int i = (int)(k % RECEIVERS);
    int round = (int)(k / RECEIVERS);
    k++;
    if (i % 2 == 1 && round % 2 == 0) /* give it a chance to be waiting */
      for (int y = 0; y < 8 && S->stop[i] == NULL && !S->closing; y++)
        ck_assert_int_eq(uva_yield(), 0);
    if (i % 2 == 1 && round % 2 == 0 && S->stop[i] != NULL) {
      uva_future_resolve_u64(S->stop[i], 1);
      S->stop[i] = NULL;
      S->recv_cancels++;
    } else {
      ck_assert_int_eq(uva_future_cancel(S->recv_h[i]), 0);
      int st = uva_await(S->recv_h[i], NULL);
      ck_assert_msg(st == UV_ECANCELED, "receiver ended with %d", st);
      S->task_cancels++;
      S->recv_h[i] = uva_spawn(S->loop, receiver, &S->rslot[i]);
      S->respawns++;
    }
  }
  return 0;
}

static int supervisor(void *arg, uva_result_t *r) {
  stress_t *S = arg;
  uva_future_t *c;
  int i;
  (void)r;

  for (i = 0; i < RECEIVERS; i++) {
    S->rslot[i] = (slot_t){S, i, {0}};
    S->recv_h[i] = uva_spawn(S->loop, receiver, &S->rslot[i]);
  }
  c = uva_spawn(S->loop, canceller, S);
  ck_assert_int_eq(uva_await(uva_spawn_blocking(S->loop, join_senders, S), NULL), 0);
  /* Every message is in (staged or in the ring): close, and the receivers
   * drain the rest and see UV_EOF. */
  S->closing = 1;
  ck_assert_int_eq(uva_chan_close(S->ch), 0);
  ck_assert_int_eq(uva_chan_close(S->ch2), 0);
  if (S->tick != NULL) {
    uva_future_resolve_u64(S->tick, 0);
    S->tick = NULL;
  }
  ck_assert_int_eq(uva_await(c, NULL), 0);
  for (i = 0; i < RECEIVERS; i++)
    ck_assert_int_eq(uva_await(S->recv_h[i], NULL), 0);
  return 0;
}

static uint64_t per_sender(void) {
  const char *e = getenv("UVA_STRESS_N");
  if (e != NULL && *e != '\0')
    return strtoull(e, NULL, 10);
  return getenv("UVA_TEST_SMALL") != NULL ? 20000 : 2500000;
}

START_TEST(threads_send_tasks_receive_and_cancel) {
  LOOP_INIT(loop);
  static stress_t S; /* large enough to keep off the test's stack */
  uint64_t want_sum = 0, want_hash = 0, total;
  int i;

  memset(&S, 0, sizeof(S));
  S.loop = loop;
  S.n = per_sender();
  S.bad = SENTINEL;
  total = S.n * SENDERS;
  S.period = total / 10000 > 64 ? total / 10000 : 64;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(uint64_t), CAPACITY, &S.ch), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(uint64_t), CAPACITY, &S.ch2), 0);

  uint64_t t0 = uv_hrtime();
  for (i = 0; i < SENDERS; i++) {
    S.sslot[i] = (slot_t){&S, i, {0}};
    S.seen[i] = calloc(S.n / 64 + 1, sizeof(uint64_t));
    ck_assert_ptr_nonnull(S.seen[i]);
    S.sresult[i] = 1;
    ck_assert_int_eq(uv_thread_create(&S.th[i], sender, &S.sslot[i]), 0);
  }
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, supervisor, &S), NULL), 0);
  double secs = (double)(uv_hrtime() - t0) / 1e9;

  fprintf(stderr,
          "stress: %d threads x %" PRIu64 " messages in %.2f s (%.2f M/s); "
          "%" PRIu64 " receives and %" PRIu64 " receiver tasks cancelled; "
          "seen up to %" PRIu64 " ahead\n",
          SENDERS, S.n, secs, (double)total / secs / 1e6, S.recv_cancels,
          S.task_cancels, S.max_lag);

  for (i = 0; i < SENDERS; i++)
    ck_assert_int_eq(S.sresult[i], 0);
  ck_assert_msg(S.bad == SENTINEL, "sender %" PRIu64 ", message %" PRIu64 ": %s",
                S.bad >> SEQ_BITS, S.bad & SEQ_MASK, S.why);
  ck_assert_uint_eq(S.written_on_cancel, 0);
  for (i = 0; i < SENDERS; i++)
    ck_assert_uint_eq(S.low[i], S.n); /* none lost */
  ck_assert_uint_eq(S.count, total);
  for (i = 0; i < SENDERS; i++)
    for (uint64_t seq = 0; seq < S.n; seq++) {
      uint64_t v = ((uint64_t)i << SEQ_BITS) | seq;
      want_sum += v;
      want_hash ^= mix(v);
    }
  ck_assert_uint_eq(S.sum, want_sum);
  ck_assert_uint_eq(S.hash, want_hash);
  /* Receiver tasks were cancelled; receives are cancelled only when the
   * canceller finds one waiting (counted and printed above). */
  ck_assert_uint_gt(S.task_cancels, 0);
  for (i = 0; i < SENDERS; i++)
    free(S.seen[i]);
  uva_chan_free(S.ch);
  uva_chan_free(S.ch2);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("stress");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 1200); /* ctest's own timeout is the real bound */
  tcase_add_test(tc, threads_send_tasks_receive_and_cancel);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
