/* pingpong: n round trips between two tasks over two channels of capacity 1:
 * the pinger sends i and awaits i + 1 back from the ponger.  Allocations
 * are counted over the second half of the round trips.
 *
 * Raw: two one-slot mailboxes and two callbacks; each handoff queues the
 * peer's callback on the callback queue (bench_rawq), as a wake-up does. */
#include "bench.h"

#include <uva.h>

typedef struct {
  bench_run_t *r;
  uva_chan_t *ping, *pong;
  uint64_t trips;
} pp_ctx_t;

/* The "w" variant uses uva_chan_send_wait / uva_chan_recv_wait. */
static int use_wait;
#define SEND(ch, p)                                                            \
  (use_wait ? uva_chan_send_wait((ch), (p))                                    \
            : uva_await(uva_chan_send((ch), (p)), NULL))
#define RECV(ch, p)                                                            \
  (use_wait ? uva_chan_recv_wait((ch), (p))                                    \
            : uva_await(uva_chan_recv((ch), (p)), NULL))

static int pinger(void *arg, uva_result_t *result) {
  pp_ctx_t *c = arg;
  uint64_t n = c->r->n, half = n / 2, v;
  (void)result;
  bench_start(c->r);
  for (uint64_t i = 0; i < n; i++) {
    if (i == half)
      bench_steady_begin(c->r);
    if (SEND(c->ping, &i) != 0 || RECV(c->pong, &v) != 0)
      return bench_fail(c->r, "pinger: channel failed");
    if (v != i + 1)
      return bench_fail(c->r, "pinger: wrong reply");
    c->trips++;
  }
  bench_steady_end(c->r, n - half);
  bench_stop(c->r);
  return uva_chan_close(c->ping);
}

static int ponger(void *arg, uva_result_t *result) {
  pp_ctx_t *c = arg;
  uint64_t v;
  int err;
  (void)result;
  while ((err = RECV(c->ping, &v)) == 0) {
    v++;
    if (SEND(c->pong, &v) != 0)
      return bench_fail(c->r, "ponger: send failed");
  }
  return err == UV_EOF ? 0 : bench_fail(c->r, "ponger: receive failed");
}

static int pingpong_uva(bench_run_t *r) {
  uv_loop_t loop;
  pp_ctx_t c = {r, NULL, NULL, 0};
  uva_future_t *fs[2];
  uva_result_t res[2];
  int err;

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  if (uva_chan_new(&loop, sizeof(uint64_t), 1, &c.ping) != 0 ||
      uva_chan_new(&loop, sizeof(uint64_t), 1, &c.pong) != 0)
    return bench_fail(r, "uva_chan_new");
  fs[0] = uva_spawn(&loop, pinger, &c);
  fs[1] = uva_spawn(&loop, ponger, &c);
  err = uva_block_on(&loop, uva_join(&loop, fs, 2, res), NULL);
  if (err != 0 || res[0].status != 0 || res[1].status != 0)
    bench_fail(r, "a task failed");
  uva_chan_free(c.ping);
  uva_chan_free(c.pong);
  if (c.trips != r->n)
    bench_fail(r, "wrong count of round trips");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

static int pingpong_uva_w(bench_run_t *r) {
  use_wait = 1;
  return pingpong_uva(r);
}

/* ---- raw ---------------------------------------------------------------- */

typedef struct {
  bench_run_t *r;
  bench_rawq_t q;
  bench_job_t ping_job, pong_job;
  uint64_t ping_slot, pong_slot;
  int ping_full, pong_full;
  uint64_t i, n, trips;
  int bad;
} raw_pp_t;

#define RAW_PP(job, member)                                                    \
  ((raw_pp_t *)((char *)(job) - offsetof(raw_pp_t, member)))

/* The pinger: takes the reply (if any) and sends the next ping. */
static void raw_pinger(bench_job_t *job) {
  raw_pp_t *c = RAW_PP(job, ping_job);
  if (c->pong_full) {
    c->pong_full = 0;
    if (c->pong_slot != c->i + 1)
      c->bad = 1;
    c->trips++;
    c->i++;
    if (c->i == c->n / 2)
      bench_steady_begin(c->r);
  }
  if (c->i < c->n) {
    c->ping_slot = c->i;
    c->ping_full = 1;
    bench_rawq_push(&c->q, &c->pong_job);
  }
}

static void raw_ponger(bench_job_t *job) {
  raw_pp_t *c = RAW_PP(job, pong_job);
  c->ping_full = 0;
  c->pong_slot = c->ping_slot + 1;
  c->pong_full = 1;
  bench_rawq_push(&c->q, &c->ping_job);
}

static int pingpong_raw(bench_run_t *r) {
  uv_loop_t loop;
  raw_pp_t c = {0};

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  c.r = r;
  c.n = r->n;
  c.ping_job.fn = raw_pinger;
  c.pong_job.fn = raw_ponger;
  bench_rawq_init(&loop, &c.q);
  bench_start(r);
  bench_rawq_push(&c.q, &c.ping_job);
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_steady_end(r, r->n - r->n / 2);
  bench_stop(r);
  bench_rawq_close(&c.q);
  if (c.trips != r->n || c.bad)
    bench_fail(r, "wrong count of round trips or reply");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

const bench_case_t bench_pingpong_cases[] = {
    {"pingpong", "cap1", 1000000, 2000, pingpong_uva, pingpong_raw,
     "round trip", NULL, {0, 50, 0, 0}},
    {"pingpong", "cap1w", 1000000, 2000, pingpong_uva_w, pingpong_raw,
     "round trip", NULL, {0, 50, 0, 0}},
    {0},
};
