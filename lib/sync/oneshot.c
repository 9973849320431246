/* Oneshot: a future settled once from any thread.
 *
 * The sender is a small block shared with the receiving future (malloc'd,
 * reference-counted, freed by whichever side lets go last, on any thread).
 * A send stores the value in the block under its lock and posts the
 * block's node to the loop's inbox; the loop settles the future from the
 * node's callback.  The block's lock orders a send against the receiver
 * going away: the receiver takes its node off the inbox under the same
 * lock, so a node is never left queued for a block that is gone, and a
 * sender touches the loop only while the receiver (and so the loop state)
 * is alive. */
#include "internal.h"
#include "sync-internal.h"

enum { EMPTY = 0, SENT, CLOSED, DELIVERED };

typedef struct uva__orx_s uva__orx_t;

struct uva_oneshot_s {
  uv_mutex_t lock;
  atomic_int refs; /* the sender and the receiver */
  uva__loop_t *L;
  uva__orx_t *rx; /* the receiving future while it lives (under lock) */
  int state;      /* under lock */
  int rx_closed;  /* the receiver was cancelled or freed (under lock) */
  uva_value_t value;
  uva_free_cb free_fn;
  uva__remote_t node;
};

struct uva__orx_s {
  uva_future_t base;
  uva_oneshot_t *s;
  int strong; /* holds a remote wait */
};

static void unref(uva_oneshot_t *s) {
  if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
    uv_mutex_destroy(&s->lock);
    uva__free(s);
  }
}

static void rx_settle(uva__orx_t *r, int status, uva_value_t v,
                      uva_free_cb fn) {
  if (r->strong) {
    r->strong = 0;
    uva__remote_wait_end(r->base.L);
  }
  uva__settle(&r->base, status, v, fn);
}

/* Loop thread: settles the started, pending receiver from the block. */
static void deliver(uva_oneshot_t *s) {
  uva__orx_t *r;
  uva_value_t v;
  uva_free_cb fn = NULL;
  int st;

  uv_mutex_lock(&s->lock);
  r = s->rx;
  st = s->state;
  if (r == NULL || (r->base.flags & UVA__F_LAZY) ||
      r->base.state != UVA__PENDING || (st != SENT && st != CLOSED)) {
    uv_mutex_unlock(&s->lock);
    return;
  }
  v = s->value;
  if (st == SENT) {
    fn = s->free_fn;
    s->free_fn = NULL;
    s->state = DELIVERED;
  }
  uv_mutex_unlock(&s->lock);
  if (st == SENT)
    rx_settle(r, 0, v, fn);
  else
    rx_settle(r, UV_EPIPE, v, NULL);
}

static void remote_cb(uva__remote_t *node) {
  deliver(uva__container_of(node, uva_oneshot_t, node));
}

static void orx_start(uva_future_t *f) {
  uva__orx_t *r = (uva__orx_t *)f;
  int err;

  if ((err = uva__remote_wait_begin(f->L)) != 0) {
    uva__settle_err(f, err);
    return;
  }
  r->strong = 1;
  deliver(r->s); /* sent or closed before: settles now */
}

static void orx_cancel(uva_future_t *f) {
  uva_oneshot_t *s = ((uva__orx_t *)f)->s;
  uva_value_t v;
  v.u64 = 0;
  uv_mutex_lock(&s->lock);
  s->rx_closed = 1;
  uv_mutex_unlock(&s->lock);
  rx_settle((uva__orx_t *)f, UV_ECANCELED, v, NULL);
}

/* The receiver goes: later sends fail, a value sent but never delivered is
 * freed, and the node leaves the inbox. */
static void orx_release(uva_future_t *f) {
  uva__orx_t *r = (uva__orx_t *)f;
  uva_oneshot_t *s = r->s;
  uva_free_cb fn = NULL;
  void *ptr = NULL;

  uv_mutex_lock(&s->lock);
  s->rx = NULL;
  s->rx_closed = 1;
  if (s->state == SENT) {
    fn = s->free_fn;
    ptr = s->value.ptr;
    s->free_fn = NULL;
    s->state = DELIVERED;
  }
  uva__remote_cancel(f->L, &s->node);
  uv_mutex_unlock(&s->lock);
  if (fn != NULL)
    fn(ptr);
  if (r->strong) {
    r->strong = 0;
    uva__remote_wait_end(f->L);
  }
  uva__future_free_mem(f, sizeof(*r));
  unref(s);
}

static const uva__ops_t orx_ops = {
    .name = "oneshot",
    .cancel = orx_cancel,
    .release = orx_release,
    .start = orx_start,
};

int uva_oneshot_new(uv_loop_t *loop, uva_oneshot_t **tx, uva_future_t **rx) {
  uva__loop_t *L;
  uva_oneshot_t *s;
  uva__orx_t *r;

  if (tx != NULL)
    *tx = NULL;
  if (rx != NULL)
    *rx = NULL;
  if (loop == NULL || tx == NULL || rx == NULL) {
    if (rx != NULL)
      *rx = uva__failed(NULL, UV_EINVAL);
    return UV_EINVAL;
  }
  L = uva__loop_get(loop);
  if (L == NULL) {
    *rx = uva__failed(NULL, UV_ENOMEM);
    return UV_ENOMEM;
  }
  s = uva__malloc(sizeof(*s));
  if (s == NULL || uv_mutex_init(&s->lock) != 0) {
    uva__free(s);
    *rx = uva__failed(L, UV_ENOMEM);
    return UV_ENOMEM;
  }
  r = (uva__orx_t *)uva__future_alloc(L, &orx_ops, sizeof(*r));
  if (r == NULL) {
    uv_mutex_destroy(&s->lock);
    uva__free(s);
    *rx = uva__failed(L, UV_ENOMEM);
    return UV_ENOMEM;
  }
  atomic_init(&s->refs, 2);
  s->L = L;
  s->rx = r;
  s->state = EMPTY;
  s->rx_closed = 0;
  s->value.u64 = 0;
  s->free_fn = NULL;
  memset(&s->node, 0, sizeof(s->node));
  s->node.cb = remote_cb;
  r->base.flags |= UVA__F_LAZY;
  r->s = s;
  r->strong = 0;
  *tx = s;
  *rx = &r->base;
  return 0;
}

/* Stores the outcome and tells the loop.  Returns 0 or UV_EPIPE. */
static int complete(uva_oneshot_t *s, int state, uva_value_t v,
                    uva_free_cb fn) {
  int here, err = 0;

  uv_mutex_lock(&s->lock);
  if (s->rx_closed) {
    err = UV_EPIPE;
    uv_mutex_unlock(&s->lock);
  } else {
    s->state = state;
    s->value = v;
    s->free_fn = fn;
    here = uva__on_loop(s->L);
    if (!here)
      uva__remote_post(s->L, &s->node);
    uv_mutex_unlock(&s->lock);
    if (here)
      deliver(s);
  }
  unref(s);
  return err;
}

int uva_oneshot_send(uva_oneshot_t *tx, void *ptr, uva_free_cb free_fn) {
  uva_value_t v;
  if (tx == NULL)
    return UV_EINVAL;
  v.ptr = ptr;
  return complete(tx, SENT, v, free_fn);
}

int uva_oneshot_send_u64(uva_oneshot_t *tx, uint64_t value) {
  uva_value_t v;
  if (tx == NULL)
    return UV_EINVAL;
  v.u64 = value;
  return complete(tx, SENT, v, NULL);
}

void uva_oneshot_close(uva_oneshot_t *tx) {
  uva_value_t v;
  if (tx == NULL)
    return;
  v.u64 = 0;
  (void)complete(tx, CLOSED, v, NULL);
}

int uva_oneshot_is_closed(uva_oneshot_t *tx) {
  int closed;
  if (tx == NULL)
    return 0;
  uv_mutex_lock(&tx->lock);
  closed = tx->rx_closed;
  uv_mutex_unlock(&tx->lock);
  return closed;
}
