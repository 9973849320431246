/* Cross-loop stress (issue 11): four loops, each in its own thread and
 * serving, each with a channel of its own.  On every loop, sender tasks
 * send numbered messages to the channels of all four loops (three of them
 * another loop's); receiver tasks receive from their own loop's channel and
 * from the next loop's, one of them selecting over both and a short sleep;
 * a canceller keeps cancelling receivers (which it replaces); and a spawner
 * places burst tasks on the other loops (uva_spawn_on) that send a few
 * messages each, half of them with a deadline that cancels the burst
 * midway.  Every send that returned 0 is recorded, every receipt counted:
 * at the end each message sent was received exactly once, nothing else
 * was received, each join future settled once, and every loop closes with
 * 0.
 *
 * M (messages per sender task) is UVA_STRESS_N when set, else 500 with
 * UVA_TEST_SMALL (valgrind, sanitizers), else 20,000. */
#include "test-util.h"

#include <stdatomic.h>
#include <stdio.h>

#define LOOPS 4
#define SENDERS_PER_LOOP 2
#define RECEIVERS_PER_LOOP 3
#define BURSTS_PER_LOOP 40
#define BURST_LEN 16
#define LOCAL_IDS (LOOPS * SENDERS_PER_LOOP)
#define MAX_IDS (LOCAL_IDS + LOOPS * BURSTS_PER_LOOP)
#define CAPACITY 32

typedef struct {
  uint32_t id;
  uint32_t seq;
} msg_t;

typedef struct {
  uv_loop_t loop;
  uv_thread_t thread;
  uv_sem_t ready;
  int close_rc;
  uva_chan_t *ch; /* made on this loop */
} node_t;

static node_t nodes[LOOPS];
static size_t M;
static atomic_uchar *sent;     /* [MAX_IDS][max(M, BURST_LEN)] */
static atomic_uint *received;  /* same shape */
static size_t stride;
static atomic_int bursts_next, bursts_ok, bursts_cancelled, joins_settled;
static atomic_int receivers_cancelled, senders_done;

static void node_main(void *arg) {
  node_t *n = arg;
  ck_assert_int_eq(uv_loop_init(&n->loop), 0);
  ck_assert_int_eq(uva_loop_serve(&n->loop), 0);
  uv_sem_post(&n->ready);
  uv_run(&n->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(uva_loop_shutdown(&n->loop, 5000, NULL), 0);
  uv_run(&n->loop, UV_RUN_DEFAULT);
  n->close_rc = uv_loop_close(&n->loop);
}

static int node_of(uv_loop_t *loop) {
  int i;
  for (i = 0; i < LOOPS; i++)
    if (&nodes[i].loop == loop)
      return i;
  return -1;
}

/* ---- senders ------------------------------------------------------------ */

static int send_one(uint32_t id, uint32_t seq, int target) {
  msg_t m = {id, seq};
  int err = uva_chan_send_wait(nodes[target].ch, &m);
  if (err == 0)
    atomic_store(&sent[id * stride + seq], 1);
  return err;
}

static int sender_fn(void *arg, uva_result_t *r) {
  uint32_t id = (uint32_t)(uintptr_t)arg;
  int me = node_of(uva_current_loop()), err;
  uint32_t seq;
  (void)r;
  for (seq = 0; seq < M; seq++)
    if ((err = send_one(id, seq, (int)((me + seq) % LOOPS))) != 0)
      return err;
  atomic_fetch_add(&senders_done, 1);
  return 0;
}

/* Placed on another loop by a spawner: sends BURST_LEN messages to the
 * channels of the loop it runs on and the next one. */
static int burst_fn(void *arg, uva_result_t *r) {
  uint32_t id = (uint32_t)(uintptr_t)arg;
  int me = node_of(uva_current_loop()), err;
  uint32_t seq;
  for (seq = 0; seq < BURST_LEN; seq++) {
    if ((err = send_one(id, seq, (int)((me + seq) % LOOPS))) != 0)
      return err;
    if (seq % 4 == 1 && (err = uva_yield()) != 0)
      return err;
  }
  r->value.u64 = id;
  return 0;
}

static int spawner_fn(void *arg, uva_result_t *r) {
  uv_loop_t *home = uva_current_loop();
  int me = node_of(home), k;
  (void)arg;
  (void)r;
  for (k = 0; k < BURSTS_PER_LOOP; k++) {
    uint32_t id = LOCAL_IDS + (uint32_t)atomic_fetch_add(&bursts_next, 1);
    int target = (me + 1 + k % (LOOPS - 1)) % LOOPS, err;
    uva_future_t *j = uva_spawn_on(home, &nodes[target].loop, burst_fn,
                                   (void *)(uintptr_t)id);
    uva_value_t v;
    if (k % 2 == 1)
      j = uva_timeout(j, (uint64_t)(k % 3)); /* 0-2 ms: often cancels */
    err = uva_await(j, &v);
    atomic_fetch_add(&joins_settled, 1);
    if (err == 0) {
      if (v.u64 != id)
        return UV_EPROTO;
      atomic_fetch_add(&bursts_ok, 1);
    } else if (err == UV_ETIMEDOUT || err == UV_ECANCELED) {
      atomic_fetch_add(&bursts_cancelled, 1);
    } else {
      return err;
    }
  }
  return 0;
}

/* ---- receivers ---------------------------------------------------------- */

static void count(const msg_t *m) {
  atomic_fetch_add(&received[m->id * stride + m->seq], 1);
}

/* kind 0: own channel; 1: the next loop's; 2: a select over both and a
 * 1 ms sleep.  Returns when every channel it reads is closed and empty. */
static int receiver_fn(void *arg, uva_result_t *r) {
  int kind = (int)(uintptr_t)arg % 3;
  uv_loop_t *home = uva_current_loop();
  int me = node_of(home), err;
  uva_chan_t *own = nodes[me].ch, *next = nodes[(me + 1) % LOOPS].ch;
  msg_t m;
  (void)r;
  for (;;) {
    if (kind < 2) {
      err = uva_chan_recv_wait(kind == 0 ? own : next, &m);
      if (err == UV_EOF)
        return 0;
      if (err != 0)
        return err;
      count(&m);
    } else {
      msg_t a, b;
      uva_result_t w;
      uva_value_t v;
      uva_future_t *fs[3] = {uva_chan_recv(own, &a), uva_chan_recv(next, &b),
                             uva_sleep(home, 1)};
      err = uva_await(uva_select(home, fs, 3, &w), &v);
      if (err != 0)
        return err;
      if (v.u64 == 0 && w.status == 0)
        count(&a);
      else if (v.u64 == 1 && w.status == 0)
        count(&b);
      else if (v.u64 < 2 && w.status == UV_EOF)
        kind = (int)(1 - v.u64); /* that one is done: read the other */
      else if (v.u64 < 2)
        return w.status;
    }
  }
}

typedef struct {
  uva_future_t *rx[RECEIVERS_PER_LOOP];
} recv_set;

/* Cancels a receiver now and then and starts a new one in its place; at
 * the end waits for all of them. */
static int canceller_fn(void *arg, uva_result_t *r) {
  uv_loop_t *home = uva_current_loop();
  recv_set set;
  int i, err, round = 0;
  (void)arg;
  (void)r;
  for (i = 0; i < RECEIVERS_PER_LOOP; i++)
    set.rx[i] = uva_spawn(home, receiver_fn, (void *)(uintptr_t)i);
  while (atomic_load(&senders_done) < LOCAL_IDS ||
         atomic_load(&joins_settled) < LOOPS * BURSTS_PER_LOOP) {
    if ((err = uva_await(uva_sleep(home, 2), NULL)) != 0)
      return err;
    i = round++ % RECEIVERS_PER_LOOP;
    uva_future_cancel(set.rx[i]);
    err = uva_await(set.rx[i], NULL);
    if (err != 0 && err != UV_ECANCELED)
      return err;
    atomic_fetch_add(&receivers_cancelled, 1);
    set.rx[i] = uva_spawn(home, receiver_fn, (void *)(uintptr_t)i);
  }
  for (i = 0; i < RECEIVERS_PER_LOOP; i++)
    if ((err = uva_await(set.rx[i], NULL)) != 0)
      return err;
  return 0;
}

/* ---- the driver (on the test's own loop) ------------------------------- */

static int make_chan(void *arg, uva_result_t *r) {
  node_t *n = arg;
  (void)r;
  return uva_chan_new(&n->loop, sizeof(msg_t), CAPACITY, &n->ch);
}

static int free_chan(void *arg, uva_result_t *r) {
  node_t *n = arg;
  (void)r;
  uva_chan_free(n->ch);
  n->ch = NULL;
  return uva_loop_serve_stop(&n->loop);
}

static uv_loop_t *driver_loop;

static int driver(void *arg, uva_result_t *r) {
  uva_future_t *work[LOOPS * (SENDERS_PER_LOOP + 1)], *cancellers[LOOPS];
  uva_result_t rs[LOOPS * (SENDERS_PER_LOOP + 1)], cs[LOOPS];
  size_t n = 0;
  int i, s, err;
  (void)arg;
  (void)r;
  for (i = 0; i < LOOPS; i++)
    cancellers[i] = uva_spawn_on(driver_loop, &nodes[i].loop, canceller_fn, NULL);
  for (i = 0; i < LOOPS; i++) {
    for (s = 0; s < SENDERS_PER_LOOP; s++)
      work[n++] = uva_spawn_on(driver_loop, &nodes[i].loop, sender_fn,
                               (void *)(uintptr_t)(i * SENDERS_PER_LOOP + s));
    work[n++] = uva_spawn_on(driver_loop, &nodes[i].loop, spawner_fn, NULL);
  }
  if ((err = uva_await(uva_join(driver_loop, work, n, rs), NULL)) != 0)
    return err;
  for (i = 0; i < (int)n; i++)
    if (rs[i].status != 0)
      return rs[i].status;
  /* every send is done: close the channels (from this thread: allowed),
   * the receivers drain them and end */
  for (i = 0; i < LOOPS; i++)
    if ((err = uva_chan_close(nodes[i].ch)) != 0)
      return err;
  if ((err = uva_await(uva_join(driver_loop, cancellers, LOOPS, cs), NULL)) != 0)
    return err;
  for (i = 0; i < LOOPS; i++)
    if (cs[i].status != 0)
      return cs[i].status;
  return 0;
}

START_TEST(loops_exchange_and_cancel) {
  const char *e = getenv("UVA_STRESS_N");
  size_t i, id, seq, total = 0, lost = 0, dup = 0, ghost = 0;
  LOOP_INIT(loop);

  M = e != NULL ? (size_t)strtoul(e, NULL, 10)
                : getenv("UVA_TEST_SMALL") != NULL ? 500 : 20000;
  stride = M > BURST_LEN ? M : BURST_LEN;
  sent = calloc(MAX_IDS * stride, sizeof(*sent));
  received = calloc(MAX_IDS * stride, sizeof(*received));
  ck_assert_ptr_nonnull(sent);
  ck_assert_ptr_nonnull(received);
  atomic_store(&bursts_next, 0);
  atomic_store(&bursts_ok, 0);
  atomic_store(&bursts_cancelled, 0);
  atomic_store(&joins_settled, 0);
  atomic_store(&receivers_cancelled, 0);
  atomic_store(&senders_done, 0);
  driver_loop = loop;
  for (i = 0; i < LOOPS; i++) {
    memset(&nodes[i], 0, sizeof(nodes[i]));
    nodes[i].close_rc = -1;
    ck_assert_int_eq(uv_sem_init(&nodes[i].ready, 0), 0);
    ck_assert_int_eq(uv_thread_create(&nodes[i].thread, node_main, &nodes[i]), 0);
    uv_sem_wait(&nodes[i].ready);
    ck_assert_int_eq(uva_spawn_on_blocking(&nodes[i].loop, make_chan, &nodes[i],
                                           NULL),
                     0);
  }
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, driver, NULL), NULL), 0);
  for (i = 0; i < LOOPS; i++)
    ck_assert_int_eq(uva_spawn_on_blocking(&nodes[i].loop, free_chan, &nodes[i],
                                           NULL),
                     0);
  for (i = 0; i < LOOPS; i++) {
    uv_thread_join(&nodes[i].thread);
    ck_assert_int_eq(nodes[i].close_rc, 0);
    uv_sem_destroy(&nodes[i].ready);
  }
  for (id = 0; id < MAX_IDS; id++)
    for (seq = 0; seq < stride; seq++) {
      unsigned s = atomic_load(&sent[id * stride + seq]);
      unsigned g = atomic_load(&received[id * stride + seq]);
      total += s;
      if (s && g == 0)
        lost++;
      else if (g > 1)
        dup++;
      else if (!s && g)
        ghost++;
    }
  printf("xstress: %zu messages, %d bursts done, %d cancelled, %d receivers "
         "cancelled; lost %zu, duplicated %zu, never sent %zu\n",
         total, atomic_load(&bursts_ok), atomic_load(&bursts_cancelled),
         atomic_load(&receivers_cancelled), lost, dup, ghost);
  ck_assert_uint_eq(lost, 0);
  ck_assert_uint_eq(dup, 0);
  ck_assert_uint_eq(ghost, 0);
  ck_assert_uint_ge(total, LOCAL_IDS * M);
  ck_assert_int_eq(atomic_load(&joins_settled), LOOPS * BURSTS_PER_LOOP);
  free(sent);
  free(received);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("xstress");
  TCase *tc = tcase_create("xstress");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, loops_exchange_and_cancel);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
