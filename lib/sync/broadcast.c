/* tokio::sync::broadcast: a ring that keeps the last cap messages; each
 * receiver has its own position (a sequence number), and one that fell
 * behind the ring is told how many it missed.  Loop thread only. */
#include "internal.h"
#include "sync-internal.h"

struct uva_broadcast_s {
  uva__sync_t o;
  size_t elem, cap;
  uint64_t tail; /* messages sent so far: the next one's sequence number */
  int closed;
  uva__waitq_t waiters; /* pending receives with nothing to get yet */
  char ring[];
};

struct uva_broadcast_rx_s {
  uva__rx_t r;   /* r.o is the channel */
  uint64_t next; /* sequence number of its next message */
};

typedef struct {
  uva__rxwait_t w;
  void *out;
  uint64_t seq; /* of the message it got */
} uva__brecv_t;

#define B(o) ((uva_broadcast_t *)(o))
#define RX(r) ((uva_broadcast_rx_t *)(r))

/* Copies rx's next message (or the oldest retained one, if rx fell behind)
 * to out.  Returns 1 with its sequence number and the count missed, or 0
 * when there is none yet.  Moves nothing. */
static int peek(uva_broadcast_rx_t *rx, void *out, uint64_t *seq,
                uint64_t *missed) {
  uva_broadcast_t *b = B(rx->r.o);
  uint64_t oldest = b->tail > b->cap ? b->tail - b->cap : 0, next = rx->next;

  *missed = 0;
  if (next < oldest) {
    *missed = oldest - next;
    next = oldest;
  }
  if (next >= b->tail)
    return 0;
  memcpy(out, b->ring + (size_t)(next % b->cap) * b->elem, b->elem);
  *seq = next;
  return 1;
}

/* Delivers to r if its message is there.  Returns 1 if it settled. */
static int try_deliver(uva__brecv_t *r) {
  uint64_t missed;

  if (!peek(RX(r->w.rx), r->out, &r->seq, &missed))
    return 0;
  uva__settle_u64(&r->w.base, missed);
  return 1;
}

static void brecv_start(uva_future_t *f) {
  uva__brecv_t *r = (uva__brecv_t *)f;
  uva_broadcast_t *b = B(r->w.o);

  if (!uva__rx_begin(&r->w) || try_deliver(r))
    return;
  if (b->closed)
    uva__settle_err(f, UV_EOF);
  else
    uva__waitq_push(&b->waiters, f);
}

static void brecv_cancel(uva_future_t *f) {
  uva__brecv_t *r = (uva__brecv_t *)f;
  uva__rx_cancel(&r->w, &B(r->w.o)->waiters);
}

/* Taken: the receiver moves past the message. */
static void brecv_take(uva_future_t *f) {
  uva__brecv_t *r = (uva__brecv_t *)f;
  if (f->status == 0 && r->w.rx != NULL)
    RX(r->w.rx)->next = r->seq + 1;
  uva__rx_detach(&r->w);
}

/* Dropped untaken: the receiver stays where it was. */
static void brecv_undo(uva_future_t *f) {
  uva__rx_detach((uva__rxwait_t *)f);
}

static void brecv_release(uva_future_t *f) {
  uva__rx_release(f, sizeof(uva__brecv_t));
}

static const uva__ops_t brecv_ops = {
    .name = "broadcast_recv",
    .cancel = brecv_cancel,
    .release = brecv_release,
    .start = brecv_start,
    .take = brecv_take,
    .undo = brecv_undo,
};

int uva_broadcast_new(uv_loop_t *loop, size_t elem_size, size_t capacity,
                      uva_broadcast_t **out) {
  uva_broadcast_t *b;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || elem_size == 0 || capacity == 0 ||
      capacity > (SIZE_MAX - sizeof(*b)) / elem_size)
    return UV_EINVAL;
  b = uva__sync_new(loop, sizeof(*b) + capacity * elem_size);
  if (b == NULL)
    return UV_ENOMEM;
  b->elem = elem_size;
  b->cap = capacity;
  *out = b;
  return 0;
}

int uva_broadcast_send(uva_broadcast_t *b, const void *msg) {
  uva_future_t *f;

  if (b == NULL || msg == NULL)
    return UV_EINVAL;
  if (b->closed || b->o.dead)
    return UV_EPIPE;
  memcpy(b->ring + (size_t)(b->tail % b->cap) * b->elem, msg, b->elem);
  b->tail++;
  /* Every waiter has its message now; one at a time (a settle may cancel
   * another waiter). */
  while ((f = uva__waitq_pop(&b->waiters)) != NULL)
    if (!try_deliver((uva__brecv_t *)f))
      uva__settle_err(f, UV_EOF); /* cannot happen: it was behind tail */
  return 0;
}

int uva_broadcast_close(uva_broadcast_t *b) {
  uva_future_t *f;

  if (b == NULL)
    return UV_EINVAL;
  if (b->closed)
    return UV_EPIPE;
  b->closed = 1;
  while ((f = uva__waitq_pop(&b->waiters)) != NULL)
    uva__settle_err(f, UV_EOF);
  return 0;
}

void uva_broadcast_free(uva_broadcast_t *b) {
  if (b == NULL || b->o.dead)
    return;
  b->closed = 1;
  uva__sync_free(&b->o, &b->waiters);
}

int uva_broadcast_subscribe(uva_broadcast_t *b, uva_broadcast_rx_t **out) {
  uva_broadcast_rx_t *rx;

  if (out != NULL)
    *out = NULL;
  if (b == NULL || out == NULL)
    return UV_EINVAL;
  if ((rx = uva__rx_new(&b->o, sizeof(*rx))) == NULL)
    return UV_ENOMEM;
  rx->next = b->tail;
  *out = rx;
  return 0;
}

uva_future_t *uva_broadcast_recv(uva_broadcast_rx_t *rx, void *out) {
  uva_future_t *f;
  uva__brecv_t *r;

  if (rx == NULL || out == NULL)
    return uva__failed(rx != NULL ? rx->r.o->L : NULL, UV_EINVAL);
  f = uva__sync_future(rx->r.o, &brecv_ops, sizeof(*r));
  if (f->state == UVA__PENDING) {
    r = (uva__brecv_t *)f;
    r->w.o = rx->r.o;
    r->w.rx = &rx->r;
    r->out = out;
  }
  return f;
}

int uva_broadcast_try_recv(uva_broadcast_rx_t *rx, void *out,
                           uint64_t *missed) {
  uint64_t seq, m;

  if (rx == NULL || out == NULL)
    return UV_EINVAL;
  if (rx->r.pending != NULL)
    return UV_EBUSY;
  if (!peek(rx, out, &seq, &m))
    return B(rx->r.o)->closed ? UV_EOF : UV_EAGAIN;
  rx->next = seq + 1;
  if (missed != NULL)
    *missed = m;
  return 0;
}

void uva_broadcast_rx_free(uva_broadcast_rx_t *rx) {
  if (rx != NULL)
    uva__rx_free(&rx->r, &B(rx->r.o)->waiters, sizeof(*rx));
}
