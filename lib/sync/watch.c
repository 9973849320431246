/* tokio::sync::watch: one value of fixed size, a version, many receivers.
 * A receiver remembers the version it has seen; changed() waits for a newer
 * one.  Loop thread only, but for uva_watch_send: another thread copies its
 * value into a second slot under the watch's mutex and posts the watch to
 * the loop, which publishes it (fold) before anything else it does with the
 * watch; the loop's own calls take no lock. */
#include "internal.h"
#include "sync-internal.h"

struct uva_watch_s {
  uva__sync_t o;
  size_t elem;
  uint64_t version;
  int closed;           /* written under lock (other threads read it) */
  uva__waitq_t waiters; /* pending changed futures */
  uv_mutex_t lock;      /* the remote slot and closed, for other threads */
  atomic_int remote_set; /* the remote slot holds a value to publish */
  uva__remote_t node;
  char val[]; /* the value, then the remote slot (elem bytes each) */
};

struct uva_watch_rx_s {
  uva__rx_t r; /* r.o is the watch */
  uint64_t seen;
};

#define W(o) ((uva_watch_t *)(o))
#define RX(r) ((uva_watch_rx_t *)(r))

/* A new value is in: the version goes up, every waiter wakes (one at a
 * time: a settle may cancel another waiter, a select). */
static void publish(uva_watch_t *w) {
  uva_future_t *f;

  w->version++;
  while ((f = uva__waitq_pop(&w->waiters)) != NULL)
    uva__settle_u64(f, w->version);
  (void)uva__sync_hold(&w->o, 0);
}

/* Publishes a value another thread sent. */
static void fold_slow(uva_watch_t *w) {
  uv_mutex_lock(&w->lock);
  memcpy(w->val, w->val + w->elem, w->elem);
  atomic_store_explicit(&w->remote_set, 0, memory_order_relaxed);
  uv_mutex_unlock(&w->lock);
  publish(w);
}

static inline void fold(uva_watch_t *w) {
  if (uva__unlikely(
          atomic_load_explicit(&w->remote_set, memory_order_relaxed)))
    fold_slow(w);
}

static void remote_cb(uva__remote_t *r) {
  fold(uva__container_of(r, uva_watch_t, node));
}

static void changed_start(uva_future_t *f) {
  uva__rxwait_t *c = (uva__rxwait_t *)f;
  uva_watch_t *w = W(c->o);

  int err;

  if (!uva__rx_begin(c))
    return;
  fold(w);
  if (w->version != RX(c->rx)->seen) {
    uva__settle_u64(f, w->version);
  } else if (w->closed) {
    uva__settle_err(f, UV_EPIPE);
  } else {
    /* another thread's send may wake it: hold the loop's async handle */
    uva__waitq_push(&w->waiters, f);
    if ((err = uva__sync_hold(&w->o, 1)) != 0) {
      uva__waitq_remove(&w->waiters, f);
      uva__rx_detach(c);
      uva__settle_err(f, err);
    }
  }
}

static void changed_cancel(uva_future_t *f) {
  uva__rxwait_t *c = (uva__rxwait_t *)f;
  uva_watch_t *w = W(c->o);
  uva__rx_cancel(c, &w->waiters);
  if (!w->o.dead && w->waiters.head == NULL)
    (void)uva__sync_hold(&w->o, 0);
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
  w = uva__sync_new(loop, sizeof(*w) + 2 * elem_size);
  if (w == NULL)
    return UV_ENOMEM;
  if (uv_mutex_init(&w->lock) != 0) {
    uva__sync_unref(&w->o);
    return UV_ENOMEM;
  }
  w->elem = elem_size;
  atomic_init(&w->remote_set, 0);
  w->node.cb = remote_cb;
  memcpy(w->val, init, elem_size);
  *out = w;
  return 0;
}

int uva_watch_send(uva_watch_t *w, const void *val) {
  int err = 0;

  if (w == NULL || val == NULL)
    return UV_EINVAL;
  if (!uva__on_loop(w->o.L)) {
    uv_mutex_lock(&w->lock);
    if (w->closed) {
      err = UV_EPIPE;
    } else {
      memcpy(w->val + w->elem, val, w->elem);
      atomic_store_explicit(&w->remote_set, 1, memory_order_relaxed);
      uva__remote_post(w->o.L, &w->node);
    }
    uv_mutex_unlock(&w->lock);
    return err;
  }
  if (w->closed || w->o.dead)
    return UV_EPIPE;
  fold(w); /* a thread's earlier value first */
  memcpy(w->val, val, w->elem);
  publish(w);
  return 0;
}

uint64_t uva_watch_borrow(uva_watch_t *w, void *out) {
  fold(w);
  memcpy(out, w->val, w->elem);
  return w->version;
}

/* Loop thread: closed, under the lock that other threads read it with. */
static void set_closed(uva_watch_t *w) {
  uv_mutex_lock(&w->lock);
  w->closed = 1;
  uv_mutex_unlock(&w->lock);
}

int uva_watch_close(uva_watch_t *w) {
  uva_future_t *f;

  if (w == NULL)
    return UV_EINVAL;
  if (w->closed)
    return UV_EPIPE;
  fold(w); /* a value sent before the close is published */
  set_closed(w);
  while ((f = uva__waitq_pop(&w->waiters)) != NULL)
    uva__settle_err(f, UV_EPIPE); /* they had seen the latest */
  (void)uva__sync_hold(&w->o, 0);
  return 0;
}

void uva_watch_free(uva_watch_t *w) {
  if (w == NULL || w->o.dead)
    return;
  if (!w->closed)
    set_closed(w);
  uva__remote_cancel(w->o.L, &w->node);
  atomic_store_explicit(&w->remote_set, 0, memory_order_relaxed);
  uv_mutex_destroy(&w->lock); /* no other thread's call may still run */
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
  uva_watch_t *w;
  int alive;

  if (rx == NULL)
    return;
  w = W(rx->r.o);
  alive = !w->o.dead; /* then the owner's reference keeps w */
  uva__rx_free(&rx->r, &w->waiters, sizeof(*rx));
  if (alive && w->waiters.head == NULL)
    (void)uva__sync_hold(&w->o, 0);
}
