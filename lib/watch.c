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
  uva__rx_t r; /* r.o is the watch */
  uint64_t seen;
};

#define W(o) ((uva_watch_t *)(o))
#define RX(r) ((uva_watch_rx_t *)(r))

static void changed_start(uva_future_t *f) {
  uva__rxwait_t *c = (uva__rxwait_t *)f;
  uva_watch_t *w = W(c->o);

  if (!uva__rx_begin(c))
    return;
  if (w->version != RX(c->rx)->seen)
    uva__settle_u64(f, w->version);
  else if (w->closed)
    uva__settle_err(f, UV_EPIPE);
  else
    uva__waitq_push(&w->waiters, f);
}

static void changed_cancel(uva_future_t *f) {
  uva__rxwait_t *c = (uva__rxwait_t *)f;
  uva__rx_cancel(c, &W(c->o)->waiters);
}

/* Taken: the latest value counts as seen. */
static void changed_take(uva_future_t *f) {
  uva__rxwait_t *c = (uva__rxwait_t *)f;
  if (f->status == 0 && c->rx != NULL)
    RX(c->rx)->seen = W(c->o)->version;
  uva__rx_detach(c);
}

/* Dropped untaken: marks nothing. */
static void changed_undo(uva_future_t *f) {
  uva__rx_detach((uva__rxwait_t *)f);
}

static void changed_release(uva_future_t *f) {
  uva__rx_release(f, sizeof(uva__rxwait_t));
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
    uva__settle_u64(f, w->version);
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
  if (w == NULL || w->o.dead)
    return;
  w->closed = 1;
  uva__sync_free(&w->o, &w->waiters);
}

int uva_watch_subscribe(uva_watch_t *w, uva_watch_rx_t **out) {
  uva_watch_rx_t *rx;

  if (out != NULL)
    *out = NULL;
  if (w == NULL || out == NULL)
    return UV_EINVAL;
  if ((rx = uva__rx_new(&w->o, sizeof(*rx))) == NULL)
    return UV_ENOMEM;
  rx->seen = w->version;
  *out = rx;
  return 0;
}

uva_future_t *uva_watch_changed(uva_watch_rx_t *rx) {
  uva_future_t *f;

  if (rx == NULL)
    return uva__failed(NULL, UV_EINVAL);
  f = uva__sync_future(rx->r.o, &changed_ops, sizeof(uva__rxwait_t));
  if (f->state == UVA__PENDING) {
    ((uva__rxwait_t *)f)->o = rx->r.o;
    ((uva__rxwait_t *)f)->rx = &rx->r;
  }
  return f;
}

uint64_t uva_watch_borrow_and_update(uva_watch_rx_t *rx, void *out) {
  rx->seen = uva_watch_borrow(W(rx->r.o), out);
  return rx->seen;
}

void uva_watch_rx_free(uva_watch_rx_t *rx) {
  if (rx != NULL)
    uva__rx_free(&rx->r, &W(rx->r.o)->waiters, sizeof(*rx));
}
