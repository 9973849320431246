/* tokio::sync::Notify: notify_one (one stored permit when nobody waits) and
 * notify_waiters, callable from any thread.  Calls from other threads add
 * to an atomic counter and post the Notify's node to the loop's inbox;
 * the loop applies them (fold) before anything else it does with the
 * Notify, so the Notify's state itself is the loop thread's alone. */
#include "internal.h"
#include "sync-internal.h"

struct uva_notify_s {
  uva__sync_t o;
  int permit;           /* one stored notify_one */
  uint64_t gen;         /* notify_waiters calls applied so far */
  uva__waitq_t waiters; /* FIFO */
  /* calls from other threads not applied yet: notify_one calls in the
   * low 32 bits, notify_waiters calls in the high 32 (one word, so the
   * loop's check is one load) */
  atomic_uint_least64_t remote;
  uva__remote_t node;
};

typedef struct {
  uva_future_t base;
  uva_notify_t *n;
  uint64_t gen; /* n->gen when it began to wait */
} uva__notified_t;

#define F_ONE (UVA__F_KIND0 << 0) /* woken by notify_one or the permit */

static void wake_one(uva_notify_t *n);

/* notify_waiters: wakes the waiters that were there (older generation);
 * one at a time from the live queue, since a settle may cancel others. */
static void wake_all(uva_notify_t *n) {
  uva_future_t *f;

  n->gen++;
  while ((f = n->waiters.head) != NULL &&
         ((uva__notified_t *)f)->gen < n->gen) {
    uva__waitq_pop(&n->waiters);
    uva__settle_err(f, 0);
  }
}

static void hold(uva_notify_t *n) {
  (void)uva__sync_hold(&n->o, n->waiters.head != NULL); /* releases only */
}

#define ALL_ONE ((uint64_t)1 << 32)

/* Applies what other threads asked for. */
static void fold_slow(uva_notify_t *n) {
  uint64_t r = atomic_exchange_explicit(&n->remote, 0, memory_order_acquire);
  uint32_t one = (uint32_t)r;

  if ((r >> 32) != 0)
    wake_all(n);
  /* Each wakes one waiter; with none left, they make one permit. */
  while (one-- > 0 && !(n->permit && n->waiters.head == NULL))
    wake_one(n);
  hold(n);
}

static inline void fold(uva_notify_t *n) {
  if (uva__unlikely(atomic_load_explicit(&n->remote, memory_order_relaxed) !=
                    0))
    fold_slow(n);
}

static void wake_one(uva_notify_t *n) {
  uva_future_t *f = uva__waitq_pop(&n->waiters);

  if (f == NULL) {
    n->permit = 1;
    return;
  }
  f->flags |= F_ONE;
  uva__settle_err(f, 0);
}

static void remote_cb(uva__remote_t *r) {
  uva_notify_t *n = uva__container_of(r, uva_notify_t, node);
  fold(n);
}

static void notified_start(uva_future_t *f) {
  uva__notified_t *w = (uva__notified_t *)f;
  uva_notify_t *n = w->n;
  int err;

  if (n->o.dead) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  fold(n);
  if (n->permit) {
    n->permit = 0;
    f->flags |= F_ONE;
    uva__settle_err(f, 0);
    return;
  }
  w->gen = n->gen;
  uva__waitq_push(&n->waiters, f);
  if ((err = uva__sync_hold(&n->o, 1)) != 0) {
    uva__waitq_remove(&n->waiters, f);
    uva__settle_err(f, err);
  }
}

static void notified_cancel(uva_future_t *f) {
  uva_notify_t *n = ((uva__notified_t *)f)->n;

  uva__waitq_remove(&n->waiters, f);
  uva__settle_err(f, UV_ECANCELED);
  if (!n->o.dead)
    hold(n);
}

/* Woken by notify_one but dropped untaken: the notification goes on. */
static void notified_undo(uva_future_t *f) {
  uva_notify_t *n = ((uva__notified_t *)f)->n;

  if (f->status != 0 || !(f->flags & F_ONE) || n->o.dead)
    return;
  wake_one(n);
  hold(n);
}

static void notified_release(uva_future_t *f) {
  uva_notify_t *n = ((uva__notified_t *)f)->n;
  uva__future_free_mem(f, sizeof(uva__notified_t));
  uva__sync_unref(&n->o);
}

static int notified_now(uva_future_t *f, uva_result_t *out) {
  uva_notify_t *n = ((uva__notified_t *)f)->n;

  (void)out;
  if (n->o.dead)
    return UVA_PENDING;
  fold(n);
  if (!n->permit)
    return UVA_PENDING;
  n->permit = 0;
  notified_release(f);
  return 0;
}

static const uva__ops_t notified_ops = {
    .name = "notified",
    .cancel = notified_cancel,
    .release = notified_release,
    .start = notified_start,
    .undo = notified_undo,
    .now = notified_now,
};

int uva_notify_new(uv_loop_t *loop, uva_notify_t **out) {
  uva_notify_t *n;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL)
    return UV_EINVAL;
  n = uva__sync_new(loop, sizeof(*n));
  if (n == NULL)
    return UV_ENOMEM;
  atomic_init(&n->remote, 0);
  n->node.cb = remote_cb;
  *out = n;
  return 0;
}

uva_future_t *uva_notify_notified(uva_notify_t *n) {
  uva_future_t *f;

  if (n == NULL)
    return uva__failed(NULL, UV_EINVAL);
  f = uva__sync_future(&n->o, &notified_ops, sizeof(uva__notified_t));
  if (f->state == UVA__PENDING)
    ((uva__notified_t *)f)->n = n;
  return f;
}

/* A task's uva_notify_wait that must wait: the task parks on a node on
 * its own stack (no future; see uva__task_park) until a notification or a
 * cancel settles it. */
static __attribute__((noinline)) int notified_park(uva_notify_t *n) {
  uva__notified_t node;
  int err;

  uva__node_init(&node.base, n->o.L, &notified_ops);
  node.n = n;
  node.gen = n->gen;
  uva__waitq_push(&n->waiters, &node.base);
  if ((err = uva__sync_hold(&n->o, 1)) != 0) {
    uva__waitq_remove(&n->waiters, &node.base);
    return err;
  }
  return uva__task_park(&node.base);
}

int uva_notify_wait(uva_notify_t *n) {
  if (n == NULL)
    return UV_EINVAL;
  if (uva__likely(uva__live_task_of(n->o.L))) {
    fold(n);
    if (n->permit) {
      n->permit = 0;
      uva__coop_spend(n->o.L);
      return 0;
    }
    if (!n->o.dead)
      return notified_park(n);
  }
  return uva_await(uva_notify_notified(n), NULL);
}

int uva_notify_one(uva_notify_t *n) {
  if (n == NULL)
    return UV_EINVAL;
  if (!uva__on_loop(n->o.L)) {
    atomic_fetch_add_explicit(&n->remote, 1, memory_order_release);
    uva__remote_post(n->o.L, &n->node);
    return 0;
  }
  fold(n);
  wake_one(n);
  hold(n);
  return 0;
}

int uva_notify_waiters(uva_notify_t *n) {
  if (n == NULL)
    return UV_EINVAL;
  if (!uva__on_loop(n->o.L)) {
    atomic_fetch_add_explicit(&n->remote, ALL_ONE, memory_order_release);
    uva__remote_post(n->o.L, &n->node);
    return 0;
  }
  fold(n);
  wake_all(n);
  hold(n);
  return 0;
}

void uva_notify_free(uva_notify_t *n) {
  if (n == NULL || n->o.dead)
    return;
  uva__remote_cancel(n->o.L, &n->node);
  uva__sync_free(&n->o, &n->waiters);
}
