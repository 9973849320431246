/* Combinators over one future, without a task: uva_future_map and
 * uva_future_and_then, and the helpers every future that holds one child
 * shares (token binds too): the child settles, the holder settles with its
 * status, and the child's result moves to the holder when the holder's is
 * taken (or the child is dropped untaken with it). */
#include "internal.h"

void uva__hold_take(uva_future_t *f, uva_future_t **slot) {
  uva_future_t *child = *slot;
  uva_result_t r;

  if (child == NULL)
    return;
  *slot = NULL;
  uva__child_take(child, &r);
  f->status = r.status;
  f->value = r.value;
  f->free_fn = r.free_fn;
}

void uva__hold_drop(uva_future_t **slot) {
  uva_future_t *child = *slot;

  if (child == NULL)
    return;
  *slot = NULL;
  uva__child_drop(child);
}

/* The holder's child settled: the holder settles with its status; the
 * value stays the child's until taken. */
static void hold_child(uva_future_t *parent, uva_future_t *child,
                       size_t index) {
  (void)index;
  uva__settle(parent, child->status, child->value, NULL);
}

/* ---- map ---------------------------------------------------------------- */

typedef struct {
  uva_future_t base;
  uva_future_t *child;
  uva_map_fn fn;
  void *data;
} uva__map_t;

static void map_cancel(uva_future_t *f) {
  uva__map_t *m = (uva__map_t *)f;
  if (m->child != NULL && m->child->state == UVA__PENDING)
    uva__future_cancel(m->child); /* f settles when it has */
  else
    uva__settle_err(f, UV_ECANCELED);
}

static void map_start(uva_future_t *f) {
  uva__map_t *m = (uva__map_t *)f;
  if (m->child != NULL)
    uva__future_start(m->child);
}

static void map_take(uva_future_t *f) {
  uva__map_t *m = (uva__map_t *)f;
  uva_result_t r;
  int status;

  if (m->child == NULL)
    return;
  uva__hold_take(f, &m->child);
  r.status = f->status;
  r.value = f->value;
  r.free_fn = f->free_fn;
  status = m->fn(m->data, &r);
  if (status > 0)
    status = UV_EINVAL;
  if (status != 0) {
    uva_result_free(&r);
    f->value.u64 = 0;
    f->free_fn = NULL;
  } else {
    f->value = r.value;
    f->free_fn = r.free_fn;
  }
  f->status = status;
}

static void map_undo(uva_future_t *f) {
  uva__hold_drop(&((uva__map_t *)f)->child);
}

static void map_release(uva_future_t *f) {
  uva__hold_drop(&((uva__map_t *)f)->child);
  uva__future_free_mem(f, sizeof(uva__map_t));
}

static const uva__ops_t map_ops = {
    .name = "map",
    .cancel = map_cancel,
    .child = hold_child,
    .release = map_release,
    .start = map_start,
    .take = map_take,
    .undo = map_undo,
};

/* Checks the child of map and and_then.  Returns NULL, or the failed
 * future to return (made before f is freed: freeing f may free the loop
 * state). */
static uva_future_t *check_one(uva_future_t *f, void *fn) {
  uva_future_t *failed;

  if (f == NULL)
    return uva__failed(NULL, UV_EINVAL);
  if (!(f->flags & UVA__F_STATIC) && f->consumer != UVA__C_NONE)
    return uva__failed(f->L, UV_EINVAL);
  if (f->flags & UVA__F_STATIC)
    return fn == NULL ? uva__failed(NULL, UV_EINVAL) : f; /* failed as is */
  if (fn != NULL)
    return NULL;
  failed = uva__failed(f->L, UV_EINVAL);
  uva_future_free(f);
  return failed;
}

uva_future_t *uva_future_map(uva_future_t *f, uva_map_fn fn, void *data) {
  uva__map_t *m;
  uva_future_t *failed = check_one(f, (void *)(uintptr_t)fn);

  if (failed != NULL)
    return failed;
  m = (uva__map_t *)uva__future_alloc(f->L, &map_ops, sizeof(*m));
  if (m == NULL) {
    failed = uva__failed(f->L, UV_ENOMEM);
    uva_future_free(f);
    return failed;
  }
  m->child = f;
  m->fn = fn;
  m->data = data;
  if (f->flags & UVA__F_LAZY)
    m->base.flags |= UVA__F_LAZY;
  uva__future_adopt(&m->base, f, 0);
  return &m->base;
}

/* ---- and_then ----------------------------------------------------------- */

#define F_SECOND (UVA__F_KIND0 << 0) /* child is fn's future */
#define F_STARTED (UVA__F_KIND0 << 1)

typedef struct {
  uva_future_t base;
  uva_future_t *child;
  uva_and_then_fn fn;
  void *data;
} uva__chain_t;

static void chain_child(uva_future_t *parent, uva_future_t *child,
                        size_t index) {
  uva__chain_t *c = (uva__chain_t *)parent;

  (void)index;
  if (parent->flags & F_SECOND) {
    hold_child(parent, child, 0);
    return;
  }
  if (child->status != 0) {
    int status = child->status;
    uva__hold_drop(&c->child);
    uva__settle_err(parent, status);
    return;
  }
  /* f succeeded: fn runs from the run queue (never inside a uva call, nor
   * before the chain has a consumer). */
  if (parent->flags & F_STARTED)
    uva__rq_push(parent->L, parent);
}

static void chain_start(uva_future_t *f) {
  uva__chain_t *c = (uva__chain_t *)f;

  f->flags |= F_STARTED;
  if (c->child == NULL)
    return; /* f failed already, and so did the chain */
  if (c->child->state == UVA__SETTLED)
    chain_child(f, c->child, 0);
  else
    uva__future_start(c->child);
}

/* From the run queue, f having succeeded: the next step. */
static void chain_run(uva_future_t *f) {
  uva__chain_t *c = (uva__chain_t *)f;
  uva_future_t *next;
  uva_result_t r;

  if (c->child == NULL || (f->flags & F_SECOND) ||
      c->child->state != UVA__SETTLED)
    return;
  uva__child_take(c->child, &r);
  c->child = NULL;
  next = c->fn(c->data, r.value, r.free_fn);
  if (next == NULL) {
    uva__settle_err(f, UV_EINVAL);
    return;
  }
  if (!(next->flags & UVA__F_STATIC) &&
      (next->consumer != UVA__C_NONE || next->L != f->L)) {
    if (next->consumer == UVA__C_NONE)
      uva_future_free(next);
    uva__settle_err(f, UV_EINVAL);
    return;
  }
  f->flags |= F_SECOND;
  c->child = next;
  uva__future_adopt(f, next, 0);
  if (next->state == UVA__PENDING)
    uva__future_start(next);
}

static void chain_cancel(uva_future_t *f) {
  uva__chain_t *c = (uva__chain_t *)f;

  if (c->child != NULL && c->child->state == UVA__PENDING) {
    uva__future_cancel(c->child); /* f settles when it has */
    return;
  }
  /* f succeeded and fn has not run yet (or nothing is held): the step
   * is not taken. */
  uva__hold_drop(&c->child);
  uva__settle_err(f, UV_ECANCELED);
}

static void chain_take(uva_future_t *f) {
  uva__hold_take(f, &((uva__chain_t *)f)->child);
}

static void chain_undo(uva_future_t *f) {
  uva__hold_drop(&((uva__chain_t *)f)->child);
}

static void chain_release(uva_future_t *f) {
  uva__hold_drop(&((uva__chain_t *)f)->child);
  uva__future_free_mem(f, sizeof(uva__chain_t));
}

static const uva__ops_t chain_ops = {
    .name = "and_then",
    .cancel = chain_cancel,
    .run = chain_run,
    .child = chain_child,
    .release = chain_release,
    .start = chain_start,
    .take = chain_take,
    .undo = chain_undo,
};

uva_future_t *uva_future_and_then(uva_future_t *f, uva_and_then_fn fn,
                                  void *data) {
  uva__chain_t *c;
  uva_future_t *failed = check_one(f, (void *)(uintptr_t)fn);

  if (failed != NULL)
    return failed;
  c = (uva__chain_t *)uva__future_alloc(f->L, &chain_ops, sizeof(*c));
  if (c == NULL) {
    failed = uva__failed(f->L, UV_ENOMEM);
    uva_future_free(f);
    return failed;
  }
  c->child = f;
  c->fn = fn;
  c->data = data;
  c->base.flags |= UVA__F_LAZY;
  uva__future_adopt(&c->base, f, 0);
  return &c->base;
}

/* ---- the running loop --------------------------------------------------- */

uv_loop_t *uva_current_loop(void) {
  uva__loop_t *L = uva__loop_running();
  return L != NULL ? L->loop : NULL;
}
