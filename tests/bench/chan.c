/* chan: n u64 messages from one task to another through a channel of
 * capacity 1024, and again of capacity 32; each side awaits every send and
 * every receive.  The receiver checks the count and the sum.  Allocations
 * are counted over the second half of the messages.
 *
 * Raw: a ring buffer of the same capacity between two callbacks run from a
 * callback queue (bench_rawq): the producer fills the ring until it is full
 * and queues the consumer, which empties it and queues the producer: the
 * batching that a bounded channel's backpressure gives. */
#include "bench.h"

#include <uva.h>

typedef struct {
  bench_run_t *r;
  uva_chan_t *ch;
  uint64_t sum, count;
} chan_ctx_t;

/* The "w" variants use the task calls that make no future when the
 * operation completes at once (uva_chan_send_wait, uva_chan_recv_wait). */
static int use_wait;
#define SEND(ch, p)                                                            \
  (use_wait ? uva_chan_send_wait((ch), (p))                                    \
            : uva_await(uva_chan_send((ch), (p)), NULL))
#define RECV(ch, p)                                                            \
  (use_wait ? uva_chan_recv_wait((ch), (p))                                    \
            : uva_await(uva_chan_recv((ch), (p)), NULL))

static int chan_sender(void *arg, uva_result_t *result) {
  chan_ctx_t *c = arg;
  uint64_t n = c->r->n;
  (void)result;
  for (uint64_t i = 1; i <= n; i++)
    if (SEND(c->ch, &i) != 0)
      return bench_fail(c->r, "send failed");
  return uva_chan_close(c->ch);
}

static int chan_receiver(void *arg, uva_result_t *result) {
  chan_ctx_t *c = arg;
  uint64_t half = c->r->n / 2, v;
  int err;
  (void)result;
  bench_start(c->r);
  while ((err = RECV(c->ch, &v)) == 0) {
    c->sum += v;
    if (++c->count == half)
      bench_steady_begin(c->r);
  }
  bench_steady_end(c->r, c->count - half);
  bench_stop(c->r);
  return err == UV_EOF ? 0 : bench_fail(c->r, "receive failed");
}

static int chan_uva(bench_run_t *r, size_t cap) {
  uv_loop_t loop;
  chan_ctx_t c = {r, NULL, 0, 0};
  uva_future_t *fs[2];
  uva_result_t res[2];
  int err;

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  if (uva_chan_new(&loop, sizeof(uint64_t), cap, &c.ch) != 0)
    return bench_fail(r, "uva_chan_new");
  fs[0] = uva_spawn(&loop, chan_receiver, &c);
  fs[1] = uva_spawn(&loop, chan_sender, &c);
  err = uva_block_on(&loop, uva_join(&loop, fs, 2, res), NULL);
  if (err != 0 || res[0].status != 0 || res[1].status != 0)
    bench_fail(r, "a task failed");
  uva_chan_free(c.ch);
  if (c.count != r->n || c.sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong count or sum");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

static int chan_1024(bench_run_t *r) { return chan_uva(r, 1024); }
static int chan_1024w(bench_run_t *r) {
  use_wait = 1;
  return chan_uva(r, 1024);
}
static int chan_32(bench_run_t *r) { return chan_uva(r, 32); }

/* ---- raw ---------------------------------------------------------------- */

typedef struct {
  bench_run_t *r;
  bench_rawq_t q;
  bench_job_t producer, consumer;
  uint64_t *ring;
  size_t cap, head, len;
  uint64_t next, n, sum, count, half;
} raw_chan_t;

static void raw_produce(bench_job_t *job) {
  raw_chan_t *c = (raw_chan_t *)((char *)job - offsetof(raw_chan_t, producer));
  while (c->len < c->cap && c->next <= c->n) {
    size_t tail = c->head + c->len;
    c->ring[tail >= c->cap ? tail - c->cap : tail] = c->next++;
    c->len++;
  }
  bench_rawq_push(&c->q, &c->consumer);
}

static void raw_consume(bench_job_t *job) {
  raw_chan_t *c = (raw_chan_t *)((char *)job - offsetof(raw_chan_t, consumer));
  while (c->len > 0) {
    c->sum += c->ring[c->head];
    c->head = c->head + 1 == c->cap ? 0 : c->head + 1;
    c->len--;
    if (++c->count == c->half)
      bench_steady_begin(c->r);
  }
  if (c->next <= c->n)
    bench_rawq_push(&c->q, &c->producer);
}

static int chan_raw(bench_run_t *r, size_t cap) {
  uv_loop_t loop;
  raw_chan_t c = {0};

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  c.r = r;
  c.cap = cap;
  c.n = r->n;
  c.next = 1;
  c.half = r->n / 2;
  c.producer.fn = raw_produce;
  c.consumer.fn = raw_consume;
  c.ring = bench_malloc(cap * sizeof(*c.ring));
  if (c.ring == NULL)
    return bench_fail(r, "no memory");
  bench_rawq_init(&loop, &c.q);
  bench_start(r);
  bench_rawq_push(&c.q, &c.producer);
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_steady_end(r, c.count - c.half);
  bench_stop(r);
  bench_rawq_close(&c.q);
  bench_free(c.ring);
  if (c.count != r->n || c.sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong count or sum");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

static int chan_raw_1024(bench_run_t *r) { return chan_raw(r, 1024); }
static int chan_raw_32(bench_run_t *r) { return chan_raw(r, 32); }

const bench_case_t bench_chan_cases[] = {
    {"chan", "cap1024", 10000000, 20000, chan_1024, chan_raw_1024, "message",
     NULL, {0, 15, 0, 0}},
    {"chan", "cap32", 10000000, 20000, chan_32, chan_raw_32, "message", NULL,
     {0, 15, 0, 0}},
    {"chan", "cap1024w", 10000000, 20000, chan_1024w, chan_raw_1024,
     "message", NULL, {0, 15, 0, 0}},
    {0},
};
