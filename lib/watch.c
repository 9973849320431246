/* tokio::sync::watch: one value of fixed size, a version, many receivers.
 * A receiver remembers the version it has seen; changed() waits for a newer
 * one.  Loop thread only. */
#include "internal.h"

struct uva_watch_s {
  uva__sync_t o;
  size_t elem;
  uint64_t version;
  int closed;
  uva__waitq_t waiters; /* pending changed futures */
  char val[];
};

struct uva_watch_rx_s {
  uva_watch_t *w;
  uint64_t seen;
  uva_future_t *pending; /* its changed future, until taken or dropped */
};

typedef struct {
  uva_future_t base;
  uva_watch_t *w;
  uva_watch_rx_t *rx; /* NULL once rx is freed */
} uva__changed_t;

static void settle_version(uva_future_t *f, uint64_t version) {
  uva_value_t v;
  v.u64 = version;
  uva__settle(f, 0, v, NULL);
}

static void detach(uva__changed_t *c) {
  if (c->rx != NULL && c->rx->pending == &c->base)
    c->rx->pending = NULL;
}

static void changed_start(uva_future_t *f) {
  uva__changed_t *c = (uva__changed_t *)f;
  uva_watch_t *w = c->w;

  if (w->o.dead || c->rx == NULL) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  if (c->rx->pending != NULL) {
    uva__settle_err(f, UV_EBUSY);
    return;
  }
  c->rx->pending = f;
  if (w->version != c->rx->seen)
    settle_version(f, w->version);
  else if (w->closed)
    uva__settle_err(f, UV_EPIPE);
  else
    uva__waitq_push(&w->waiters, f);
}

static void changed_cancel(uva_future_t *f) {
  uva__changed_t *c = (uva__changed_t *)f;
  uva__waitq_remove(&c->w->waiters, f);
  detach(c);
  uva__settle_err(f, UV_ECANCELED);
}

/* Taken: the latest value counts as seen. */
static void changed_take(uva_future_t *f) {
  uva__changed_t *c = (uva__changed_t *)f;
  if (f->status == 0 && c->rx != NULL)
    c->rx->seen = c->w->version;
  detach(c);
}

static void changed_undo(uva_future_t *f) { detach((uva__changed_t *)f); }

static void changed_release(uva_future_t *f) {
  uva__changed_t *c = (uva__changed_t *)f;
  uva_watch_t *w = c->w;
  detach(c);
  uva__future_free_mem(f, sizeof(*c));
  uva__sync_unref(&w->o);
}

static const uva__ops_t changed_ops = {
    .name = "watch_changed",
    .cancel = changed_cancel,
    .release = changed_release,
    .start = changed_start,
    .take = changed_take,
    .undo = changed_undo,
};

int uva_watch_new(uv_loop_t *loop, size_t elem_size, const void *init,
                  uva_watch_t **out) {
  uva_watch_t *w;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || init == NULL || out == NULL || elem_size == 0 ||
      elem_size > ((size_t)1 << 40))
    return UV_EINVAL;
  w = uva__sync_new(loop, sizeof(*w) + elem_size);
  if (w == NULL)
    return UV_ENOMEM;
  w->elem = elem_size;
  memcpy(w->val, init, elem_size);
  *out = w;
  return 0;
}

int uva_watch_send(uva_watch_t *w, const void *val) {
  uva_future_t *f;

  if (w == NULL || val == NULL)
    return UV_EINVAL;
  if (w->closed || w->o.dead)
    return UV_EPIPE;
  memcpy(w->val, val, w->elem);
  w->version++;
  /* One at a time: a settle may cancel another waiter (a select). */
  while ((f = uva__waitq_pop(&w->waiters)) != NULL)
    settle_version(f, w->version);
  return 0;
}

uint64_t uva_watch_borrow(uva_watch_t *w, void *out) {
  memcpy(out, w->val, w->elem);
  return w->version;
}

int uva_watch_close(uva_watch_t *w) {
  uva_future_t *f;

  if (w == NULL)
    return UV_EINVAL;
  if (w->closed)
    return UV_EPIPE;
  w->closed = 1;
  while ((f = uva__waitq_pop(&w->waiters)) != NULL)
    uva__settle_err(f, UV_EPIPE); /* they had seen the latest */
  return 0;
}

void uva_watch_free(uva_watch_t *w) {
  uva_future_t *f;

  if (w == NULL || w->o.dead)
    return;
  w->o.refs++;
  w->o.dead = 1;
  w->closed = 1;
  while ((f = uva__waitq_pop(&w->waiters)) != NULL) {
    detach((uva__changed_t *)f);
    uva__settle_err(f, UV_ECANCELED);
  }
  uva__sync_unref(&w->o);
  uva__sync_unref(&w->o);
}

int uva_watch_subscribe(uva_watch_t *w, uva_watch_rx_t **out) {
  uva_watch_rx_t *rx;

  if (out != NULL)
    *out = NULL;
  if (w == NULL || out == NULL)
    return UV_EINVAL;
  rx = uva__obj_alloc(w->o.L, sizeof(*rx));
  if (rx == NULL)
    return UV_ENOMEM;
  rx->w = w;
  rx->seen = w->version;
  rx->pending = NULL;
  w->o.refs++;
  *out = rx;
  return 0;
}

uva_future_t *uva_watch_changed(uva_watch_rx_t *rx) {
  uva__changed_t *c;
  uva_watch_t *w;

  if (rx == NULL)
    return uva__failed(NULL, UV_EINVAL);
  w = rx->w;
  c = (uva__changed_t *)uva__future_alloc(w->o.L, &changed_ops, sizeof(*c));
  if (c == NULL)
    return uva__failed(w->o.L, UV_ENOMEM);
  c->base.flags |= UVA__F_LAZY;
  c->w = w;
  c->rx = rx;
  w->o.refs++;
  return &c->base;
}

uint64_t uva_watch_borrow_and_update(uva_watch_rx_t *rx, void *out) {
  rx->seen = uva_watch_borrow(rx->w, out);
  return rx->seen;
}

void uva_watch_rx_free(uva_watch_rx_t *rx) {
  uva_watch_t *w;
  uva_future_t *f;

  if (rx == NULL)
    return;
  w = rx->w;
  if ((f = rx->pending) != NULL) {
    uva__changed_t *c = (uva__changed_t *)f;
    rx->pending = NULL;
    c->rx = NULL;
    if (f->state == UVA__PENDING) {
      uva__waitq_remove(&w->waiters, f);
      uva__settle_err(f, UV_ECANCELED);
    }
  }
  uva__obj_free(w->o.L, rx, sizeof(*rx));
  uva__sync_unref(&w->o);
}
