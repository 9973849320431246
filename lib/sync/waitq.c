/* What the sync primitives share: FIFO waiter queues, the life cycle of a
 * sync object (references held by its futures), the remote wait that lets
 * other threads wake waiters, and the batch semaphore under Semaphore, Mutex
 * and RwLock.
 *
 * Exactly once, as for channels: an acquire is a lazy future that takes its
 * permits when it settles with 0; if its result is then dropped untaken (a
 * select it lost, a join or timeout that was dropped, uva_future_free) its
 * ops->undo gives them back and serves the next waiter.  Futures are settled
 * one at a time, each after the state has been updated: settling may run
 * code (a select dropping its other branches) that uses the same object, and
 * serve() then simply runs again. */
#include "internal.h"
#include "sync-internal.h"

/* ---- sync objects ------------------------------------------------------- */

void *uva__sync_new(uv_loop_t *loop, size_t size) {
  uva__loop_t *L;
  uva__sync_t *o;

  if (loop == NULL || (L = uva__loop_get(loop)) == NULL)
    return NULL;
  o = uva__obj_alloc(L, size);
  if (o == NULL) {
    uva__loop_maybe_free(L);
    return NULL;
  }
  memset(o, 0, size);
  o->L = L;
  o->refs = 1;
  o->size = size;
  return o;
}

void uva__sync_unref(uva__sync_t *o) {
  if (--o->refs == 0)
    uva__obj_free(o->L, o, o->size);
}

int uva__sync_hold(uva__sync_t *o, int want) {
  int err;

  if (want && !o->strong) {
    if ((err = uva__remote_wait_begin(o->L)) != 0)
      return err;
    o->strong = 1;
  } else if (!want && o->strong) {
    o->strong = 0;
    uva__remote_wait_end(o->L);
  }
  return 0;
}

uva_future_t *uva__sync_future(uva__sync_t *o, const uva__ops_t *ops,
                               size_t size) {
  uva_future_t *f = uva__future_alloc(o->L, ops, size);

  if (f == NULL)
    return uva__failed(o->L, UV_ENOMEM);
  f->flags |= UVA__F_LAZY;
  o->refs++;
  return f;
}

void uva__sync_free(uva__sync_t *o, uva__waitq_t *q) {
  uva_future_t *f;

  o->refs++; /* settling may drop futures meanwhile */
  o->dead = 1;
  while ((f = uva__waitq_pop(q)) != NULL)
    uva__settle_err(f, UV_ECANCELED);
  (void)uva__sync_hold(o, 0);
  uva__sync_unref(o); /* the owner's */
  uva__sync_unref(o);
}

/* ---- receivers (watch, broadcast) --------------------------------------- */

void *uva__rx_new(uva__sync_t *o, size_t size) {
  uva__rx_t *rx = uva__obj_alloc(o->L, size);

  if (rx == NULL)
    return NULL;
  memset(rx, 0, size);
  rx->o = o;
  o->refs++;
  return rx;
}

void uva__rx_free(uva__rx_t *rx, uva__waitq_t *q, size_t size) {
  uva__sync_t *o = rx->o;
  uva_future_t *f = rx->pending;

  if (f != NULL) {
    rx->pending = NULL;
    ((uva__rxwait_t *)f)->rx = NULL;
    if (f->state == UVA__PENDING) {
      uva__waitq_remove(q, f);
      uva__settle_err(f, UV_ECANCELED);
    }
  }
  uva__obj_free(o->L, rx, size);
  uva__sync_unref(o);
}

int uva__rx_begin(uva__rxwait_t *w) {
  if (w->o->dead || w->rx == NULL) {
    uva__settle_err(&w->base, UV_ECANCELED);
    return 0;
  }
  if (w->rx->pending != NULL) {
    uva__settle_err(&w->base, UV_EBUSY);
    return 0;
  }
  w->rx->pending = &w->base;
  return 1;
}

void uva__rx_detach(uva__rxwait_t *w) {
  if (w->rx != NULL && w->rx->pending == &w->base)
    w->rx->pending = NULL;
}

void uva__rx_cancel(uva__rxwait_t *w, uva__waitq_t *q) {
  uva__waitq_remove(q, &w->base);
  uva__rx_detach(w);
  uva__settle_err(&w->base, UV_ECANCELED);
}

void uva__rx_release(uva_future_t *f, size_t size) {
  uva__rxwait_t *w = (uva__rxwait_t *)f;
  uva__sync_t *o = w->o;

  uva__rx_detach(w);
  uva__future_free_mem(f, size);
  uva__sync_unref(o);
}

/* ---- the batch semaphore ------------------------------------------------ */

typedef struct {
  uva_future_t base;
  uva__sem_t *s;
  size_t n;
} uva__acq_t;

/* Adds what other threads released meanwhile. */
static inline void fold(uva__sem_t *s) {
  if (uva__unlikely(
          atomic_load_explicit(&s->remote, memory_order_relaxed) != 0)) {
    size_t n = atomic_exchange_explicit(&s->remote, 0, memory_order_acquire);
    s->permits = n > s->max - s->permits ? s->max : s->permits + n;
  }
}

void uva__settle_u64(uva_future_t *f, uint64_t u) {
  uva_value_t v;
  v.u64 = u;
  uva__settle(f, 0, v, NULL);
}

/* Hands permits to the waiters at the head, in order, while there are
 * enough for the head; a closed (or freed) semaphore fails them all. */
static void serve(uva__sem_t *s) {
  uva_future_t *f;

  if (s->serving) {
    s->again = 1; /* reentered from a settle: the outer loop goes on */
    return;
  }
  s->serving = 1;
  do {
    s->again = 0;
    fold(s);
    while ((f = s->waiters.head) != NULL) {
      size_t n = ((uva__acq_t *)f)->n;
      if (s->closed || s->o.dead) {
        uva__waitq_pop(&s->waiters);
        uva__settle_err(f, s->o.dead ? UV_ECANCELED : UV_EPIPE);
        continue;
      }
      if (n > s->permits)
        break;
      uva__waitq_pop(&s->waiters);
      s->permits -= n;
      uva__settle_u64(f, n);
    }
  } while (s->again);
  s->serving = 0;
  if (s->threads)
    (void)uva__sync_hold(&s->o, s->waiters.head != NULL); /* releases only */
}

static void acq_start(uva_future_t *f) {
  uva__acq_t *a = (uva__acq_t *)f;
  uva__sem_t *s = a->s;
  int err;

  if (s->o.dead) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  fold(s);
  if (s->closed) {
    uva__settle_err(f, UV_EPIPE);
  } else if (s->waiters.head == NULL && a->n <= s->permits) {
    s->permits -= a->n;
    uva__settle_u64(f, a->n);
  } else {
    uva__waitq_push(&s->waiters, f);
    if (s->threads && (err = uva__sync_hold(&s->o, 1)) != 0) {
      uva__waitq_remove(&s->waiters, f);
      uva__settle_err(f, err);
    }
  }
}

/* A waiting acquire is cancelled: it leaves the queue holding nothing, and
 * those it kept waiting behind it may go. */
static void acq_cancel(uva_future_t *f) {
  uva__sem_t *s = ((uva__acq_t *)f)->s;
  int was_head = s->waiters.head == f;

  uva__waitq_remove(&s->waiters, f);
  uva__settle_err(f, UV_ECANCELED);
  if (!s->o.dead && (was_head || s->waiters.head == NULL))
    serve(s);
}

/* Settled with its permits but dropped untaken: they go back. */
static void acq_undo(uva_future_t *f) {
  uva__acq_t *a = (uva__acq_t *)f;
  uva__sem_t *s = a->s;

  if (f->status != 0 || s->o.dead)
    return;
  s->permits += a->n;
  serve(s);
}

static void acq_release(uva_future_t *f) {
  uva__sem_t *s = ((uva__acq_t *)f)->s;
  uva__future_free_mem(f, sizeof(uva__acq_t));
  uva__sync_unref(&s->o);
}

/* Takes the permits now if they are free and nobody waits. */
static inline int grab(uva__sem_t *s, size_t n) {
  fold(s);
  if (s->closed || s->waiters.head != NULL || n > s->permits)
    return 0;
  s->permits -= n;
  return 1;
}

/* uva_await's one step (ops->now). */
static int acq_now(uva_future_t *f, uva_result_t *out) {
  uva__acq_t *a = (uva__acq_t *)f;
  uva__sem_t *s = a->s;

  if (s->o.dead || !grab(s, a->n))
    return UVA_PENDING;
  out->value.u64 = a->n;
  acq_release(f);
  return 0;
}

static const uva__ops_t acq_ops = {
    .name = "acquire",
    .cancel = acq_cancel,
    .release = acq_release,
    .start = acq_start,
    .undo = acq_undo,
    .now = acq_now,
};

static void sem_remote_cb(uva__remote_t *r) {
  uva__sem_t *s = uva__container_of(r, uva__sem_t, node);
  serve(s); /* folds */
}

void uva__sem_init(uva__sem_t *s, size_t permits, size_t max, int threads) {
  s->node.cb = sem_remote_cb;
  s->permits = permits;
  s->max = max;
  s->threads = (uint8_t)threads;
  atomic_init(&s->remote, 0);
}

uva_future_t *uva__sem_acquire(uva__sem_t *s, size_t n) {
  uva_future_t *f;

  if (s->closed)
    return uva__failed(s->o.L, UV_EPIPE);
  f = uva__sync_future(&s->o, &acq_ops, sizeof(uva__acq_t));
  if (f->state == UVA__PENDING) {
    ((uva__acq_t *)f)->s = s;
    ((uva__acq_t *)f)->n = n;
  }
  return f;
}

/* A task's acquire that must wait: the task parks on a node on its own
 * stack (no future; see uva__task_park) until serve() grants the permits or
 * a cancel, close or free settles it. */
static __attribute__((noinline)) int acq_park(uva__sem_t *s, size_t n) {
  uva__acq_t node;
  int err;

  uva__node_init(&node.base, s->o.L, &acq_ops);
  node.s = s;
  node.n = n;
  uva__waitq_push(&s->waiters, &node.base);
  if (s->threads && (err = uva__sync_hold(&s->o, 1)) != 0) {
    uva__waitq_remove(&s->waiters, &node.base);
    return err;
  }
  return uva__task_park(&node.base);
}

int uva__sem_acquire_wait(uva__sem_t *s, size_t n) {
  if (uva__likely(uva__live_task_of(s->o.L))) {
    if (grab(s, n)) {
      uva__coop_spend(s->o.L);
      return 0;
    }
    if (!s->closed && !s->o.dead)
      return acq_park(s, n);
  }
  return uva_await(uva__sem_acquire(s, n), NULL);
}

int uva__sem_try_acquire(uva__sem_t *s, size_t n) {
  if (s->closed)
    return UV_EPIPE;
  return grab(s, n) ? 0 : UV_EAGAIN;
}

int uva__sem_release(uva__sem_t *s, size_t n) {
  fold(s);
  if (n > s->max - s->permits)
    return UV_EINVAL;
  s->permits += n;
  if (s->waiters.head != NULL)
    serve(s);
  return 0;
}

void uva__sem_release_remote(uva__sem_t *s, size_t n) {
  atomic_fetch_add_explicit(&s->remote, n, memory_order_release);
  uva__remote_post(s->o.L, &s->node);
}

size_t uva__sem_available(uva__sem_t *s) {
  fold(s);
  return s->permits;
}

void uva__sem_close(uva__sem_t *s) {
  s->closed = 1;
  serve(s);
}

void uva__sem_free(uva__sem_t *s) {
  if (s->threads)
    uva__remote_cancel(s->o.L, &s->node);
  s->o.refs++; /* settling may drop futures meanwhile */
  s->o.dead = 1;
  serve(s); /* every waiter: UV_ECANCELED */
  (void)uva__sync_hold(&s->o, 0);
  uva__sync_unref(&s->o); /* the owner's */
  uva__sync_unref(&s->o);
}
