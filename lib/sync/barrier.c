/* tokio::sync::Barrier: n parties meet; the last to arrive leads. */
#include "internal.h"
#include "sync-internal.h"

struct uva_barrier_s {
  uva__sync_t o;
  size_t n;       /* parties */
  size_t arrived; /* waiting in this generation */
  uint64_t gen;   /* trips so far */
  uva__waitq_t waiters;
};

typedef struct {
  uva_future_t base;
  uva_barrier_t *b;
  uint64_t gen;
} uva__bwait_t;

static void bwait_start(uva_future_t *f) {
  uva__bwait_t *w = (uva__bwait_t *)f;
  uva_barrier_t *b = w->b;
  uva_future_t *g;

  if (b->o.dead) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  if (++b->arrived < b->n) {
    w->gen = b->gen;
    uva__waitq_push(&b->waiters, f);
    return;
  }
  /* The last party: everyone of this generation goes, one at a time from
   * the live queue (a settle may cancel a later one: it then leaves as
   * part of an old generation, counting nothing). */
  b->arrived = 0;
  b->gen++;
  uva__settle_u64(f, 1);
  while ((g = b->waiters.head) != NULL &&
         ((uva__bwait_t *)g)->gen < b->gen) {
    uva__waitq_pop(&b->waiters);
    uva__settle_u64(g, 0);
  }
}

static void bwait_cancel(uva_future_t *f) {
  uva__bwait_t *w = (uva__bwait_t *)f;
  uva_barrier_t *b = w->b;

  if (uva__waitq_remove(&b->waiters, f) && w->gen == b->gen)
    b->arrived--;
  uva__settle_err(f, UV_ECANCELED);
}

static void bwait_release(uva_future_t *f) {
  uva_barrier_t *b = ((uva__bwait_t *)f)->b;
  uva__future_free_mem(f, sizeof(uva__bwait_t));
  uva__sync_unref(&b->o);
}

static const uva__ops_t bwait_ops = {
    .name = "barrier_wait",
    .cancel = bwait_cancel,
    .release = bwait_release,
    .start = bwait_start,
};

int uva_barrier_new(uv_loop_t *loop, size_t n, uva_barrier_t **out) {
  uva_barrier_t *b;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || n == 0)
    return UV_EINVAL;
  b = uva__sync_new(loop, sizeof(*b));
  if (b == NULL)
    return UV_ENOMEM;
  b->n = n;
  *out = b;
  return 0;
}

uva_future_t *uva_barrier_wait(uva_barrier_t *b) {
  uva_future_t *f;

  if (b == NULL)
    return uva__failed(NULL, UV_EINVAL);
  f = uva__sync_future(&b->o, &bwait_ops, sizeof(uva__bwait_t));
  if (f->state == UVA__PENDING)
    ((uva__bwait_t *)f)->b = b;
  return f;
}

void uva_barrier_free(uva_barrier_t *b) {
  if (b == NULL || b->o.dead)
    return;
  b->arrived = 0;
  uva__sync_free(&b->o, &b->waiters);
}
