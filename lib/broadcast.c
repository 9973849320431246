/* tokio::sync::broadcast: a ring that keeps the last cap messages; each
 * receiver has its own position (a sequence number), and one that fell
 * behind the ring is told how many it missed.  Loop thread only. */
#include "internal.h"

struct uva_broadcast_s {
  uva__sync_t o;
  size_t elem, cap;
  uint64_t tail; /* messages sent so far: the next one's sequence number */
  int closed;
  uva__waitq_t waiters; /* pending receives with nothing to get yet */
  char ring[];
};

struct uva_broadcast_rx_s {
  uva_broadcast_t *b;
  uint64_t next;         /* sequence number of its next message */
  uva_future_t *pending; /* its receive, until taken or dropped */
};

typedef struct {
  uva_future_t base;
  uva_broadcast_t *b;
  uva_broadcast_rx_t *rx; /* NULL once rx is freed */
  void *out;
  uint64_t seq; /* of the message it got */
} uva__brecv_t;

/* Copies rx's next message (or the oldest retained one, if rx fell behind)
 * to out.  Returns 1 with its sequence number and the count missed, or 0
 * when there is none yet.  Moves nothing. */
static int peek(uva_broadcast_rx_t *rx, void *out, uint64_t *seq,
                uint64_t *missed) {
  uva_broadcast_t *b = rx->b;
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

static void detach(uva__brecv_t *r) {
  if (r->rx != NULL && r->rx->pending == &r->base)
    r->rx->pending = NULL;
}

/* Delivers to r if its message is there.  Returns 1 if it settled. */
static int try_deliver(uva__brecv_t *r) {
  uint64_t missed;
  uva_value_t v;

  if (!peek(r->rx, r->out, &r->seq, &missed))
    return 0;
  v.u64 = missed;
  uva__settle(&r->base, 0, v, NULL);
  return 1;
}

static void brecv_start(uva_future_t *f) {
  uva__brecv_t *r = (uva__brecv_t *)f;
  uva_broadcast_t *b = r->b;

  if (b->o.dead || r->rx == NULL) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  if (r->rx->pending != NULL) {
    uva__settle_err(f, UV_EBUSY);
    return;
  }
  r->rx->pending = f;
  if (try_deliver(r))
    return;
  if (b->closed)
    uva__settle_err(f, UV_EOF);
  else
    uva__waitq_push(&b->waiters, f);
}

static void brecv_cancel(uva_future_t *f) {
  uva__brecv_t *r = (uva__brecv_t *)f;
  uva__waitq_remove(&r->b->waiters, f);
  detach(r);
  uva__settle_err(f, UV_ECANCELED);
}

/* Taken: the receiver moves past the message. */
static void brecv_take(uva_future_t *f) {
  uva__brecv_t *r = (uva__brecv_t *)f;
  if (f->status == 0 && r->rx != NULL)
    r->rx->next = r->seq + 1;
  detach(r);
}

static void brecv_undo(uva_future_t *f) { detach((uva__brecv_t *)f); }

static void brecv_release(uva_future_t *f) {
  uva__brecv_t *r = (uva__brecv_t *)f;
  uva_broadcast_t *b = r->b;
  detach(r);
  uva__future_free_mem(f, sizeof(*r));
  uva__sync_unref(&b->o);
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
  uva_future_t *f;

  if (b == NULL || b->o.dead)
    return;
  b->o.refs++;
  b->o.dead = 1;
  b->closed = 1;
  while ((f = uva__waitq_pop(&b->waiters)) != NULL) {
    detach((uva__brecv_t *)f);
    uva__settle_err(f, UV_ECANCELED);
  }
  uva__sync_unref(&b->o);
  uva__sync_unref(&b->o);
}

int uva_broadcast_subscribe(uva_broadcast_t *b, uva_broadcast_rx_t **out) {
  uva_broadcast_rx_t *rx;

  if (out != NULL)
    *out = NULL;
  if (b == NULL || out == NULL)
    return UV_EINVAL;
  rx = uva__obj_alloc(b->o.L, sizeof(*rx));
  if (rx == NULL)
    return UV_ENOMEM;
  rx->b = b;
  rx->next = b->tail;
  rx->pending = NULL;
  b->o.refs++;
  *out = rx;
  return 0;
}

uva_future_t *uva_broadcast_recv(uva_broadcast_rx_t *rx, void *out) {
  uva__brecv_t *r;
  uva_broadcast_t *b;

  if (rx == NULL || out == NULL)
    return uva__failed(rx != NULL ? rx->b->o.L : NULL, UV_EINVAL);
  b = rx->b;
  r = (uva__brecv_t *)uva__future_alloc(b->o.L, &brecv_ops, sizeof(*r));
  if (r == NULL)
    return uva__failed(b->o.L, UV_ENOMEM);
  r->base.flags |= UVA__F_LAZY;
  r->b = b;
  r->rx = rx;
  r->out = out;
  b->o.refs++;
  return &r->base;
}

int uva_broadcast_try_recv(uva_broadcast_rx_t *rx, void *out,
                           uint64_t *missed) {
  uint64_t seq, m;

  if (rx == NULL || out == NULL)
    return UV_EINVAL;
  if (rx->pending != NULL)
    return UV_EBUSY;
  if (!peek(rx, out, &seq, &m))
    return rx->b->closed ? UV_EOF : UV_EAGAIN;
  rx->next = seq + 1;
  if (missed != NULL)
    *missed = m;
  return 0;
}

void uva_broadcast_rx_free(uva_broadcast_rx_t *rx) {
  uva_broadcast_t *b;
  uva_future_t *f;

  if (rx == NULL)
    return;
  b = rx->b;
  if ((f = rx->pending) != NULL) {
    uva__brecv_t *r = (uva__brecv_t *)f;
    rx->pending = NULL;
    r->rx = NULL;
    if (f->state == UVA__PENDING) {
      uva__waitq_remove(&b->waiters, f);
      uva__settle_err(f, UV_ECANCELED);
    }
  }
  uva__obj_free(b->o.L, rx, sizeof(*rx));
  uva__sync_unref(&b->o);
}
