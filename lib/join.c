/* Combinators over any futures: uva_join (join!) and uva_select (select!).
 * Each adopts its children as their consumer; cancelling a combinator cancels
 * and lets go of the children that are still pending, and settles at once. */
#include "internal.h"

typedef struct {
  uva_future_t base;
  size_t n;
  size_t remaining;
  uva_result_t *out; /* join: results[n]; select: the winner */
  uva_future_t *children[];
} uva__comb_t;

static size_t comb_size(size_t n) {
  return sizeof(uva__comb_t) + n * sizeof(uva_future_t *);
}

static void comb_release(uva_future_t *f) {
  uva__future_free_mem(f, comb_size(((uva__comb_t *)f)->n));
}

/* Lets go of every pending child, cancelling it. */
static void comb_drop_children(uva__comb_t *c) {
  size_t i;

  for (i = 0; i < c->n; i++) {
    uva_future_t *child = c->children[i];
    if (child == NULL)
      continue;
    c->children[i] = NULL;
    child->consumer = UVA__C_DETACHED;
    uva__future_cancel(child);
  }
}

/* Moves a settled child's result into r and destroys the child. */
static void take_result(uva_future_t *child, uva_result_t *r) {
  r->status = child->status;
  r->value = child->status == 0 ? child->value : (uva_value_t){0};
  r->free_fn = child->status == 0 ? child->free_fn : NULL;
  if (child->flags & UVA__F_STATIC) {
    uva__future_destroy(child); /* shared and read-only */
    return;
  }
  child->free_fn = NULL;
  child->consumer = UVA__C_DETACHED;
  uva__future_destroy(child);
}

/* Frees whatever the caller's array holds, in case of an error. */
static uva_future_t *fail_all(uva__loop_t *L, uva_future_t **futures,
                              size_t n, int err) {
  /* made first: freeing the last child may free the loop state */
  uva_future_t *f = uva__failed(L, err);
  size_t i;

  if (futures != NULL)
    for (i = 0; i < n; i++)
      uva_future_free(futures[i]);
  return f;
}

/* Checks the arguments both combinators share.  Returns 0 or an error. */
static int check_children(uv_loop_t *loop, uva__loop_t *L,
                          uva_future_t **futures, size_t n) {
  size_t i;

  if (loop == NULL || (futures == NULL && n > 0))
    return UV_EINVAL;
  for (i = 0; i < n; i++)
    if (futures[i] == NULL || futures[i]->consumer != UVA__C_NONE ||
        (futures[i]->L != NULL && futures[i]->L != L))
      return UV_EINVAL;
  return L == NULL ? UV_ENOMEM : 0;
}

/* ---- join --------------------------------------------------------------- */

static void join_child(uva_future_t *parent, uva_future_t *child,
                       size_t index) {
  uva__comb_t *c = (uva__comb_t *)parent;

  c->children[index] = NULL;
  take_result(child, &c->out[index]);
  if (--c->remaining == 0)
    uva__settle_err(parent, 0);
}

static void join_cancel(uva_future_t *f) {
  uva__comb_t *c = (uva__comb_t *)f;
  size_t i;

  comb_drop_children(c);
  for (i = 0; i < c->n; i++)
    uva_result_free(&c->out[i]);
  uva__settle_err(f, UV_ECANCELED);
}

static const uva__ops_t join_ops = {
    .name = "join",
    .cancel = join_cancel,
    .child = join_child,
    .release = comb_release,
};

uva_future_t *uva_join(uv_loop_t *loop, uva_future_t **futures, size_t n,
                       uva_result_t *results) {
  uva__loop_t *L = uva__loop_get(loop);
  uva__comb_t *c;
  size_t i;
  int err;

  err = check_children(loop, L, futures, n);
  if (err == 0 && results == NULL && n > 0)
    err = UV_EINVAL;
  if (err != 0)
    return fail_all(L, futures, n, err);
  c = (uva__comb_t *)uva__future_alloc(L, &join_ops, comb_size(n));
  if (c == NULL)
    return fail_all(L, futures, n, UV_ENOMEM);
  c->n = n;
  c->out = results;
  c->remaining = n + 1; /* held until every child is adopted */
  for (i = 0; i < n; i++) {
    results[i].status = UVA_PENDING;
    results[i].value.u64 = 0;
    results[i].free_fn = NULL;
    c->children[i] = futures[i];
  }
  for (i = 0; i < n; i++)
    uva__future_adopt(&c->base, futures[i], i);
  if (--c->remaining == 0)
    uva__settle_err(&c->base, 0);
  return &c->base;
}

/* ---- select ------------------------------------------------------------- */

static void select_child(uva_future_t *parent, uva_future_t *child,
                         size_t index) {
  uva__comb_t *c = (uva__comb_t *)parent;
  uva_value_t v;

  c->children[index] = NULL;
  take_result(child, c->out);
  comb_drop_children(c);
  v.u64 = index;
  uva__settle(parent, 0, v, NULL);
}

static void select_cancel(uva_future_t *f) {
  comb_drop_children((uva__comb_t *)f);
  uva__settle_err(f, UV_ECANCELED);
}

static const uva__ops_t select_ops = {
    .name = "select",
    .cancel = select_cancel,
    .child = select_child,
    .release = comb_release,
};

uva_future_t *uva_select(uv_loop_t *loop, uva_future_t **futures, size_t n,
                         uva_result_t *winner) {
  uva__loop_t *L = uva__loop_get(loop);
  uva__comb_t *c;
  size_t i;
  int err;

  err = check_children(loop, L, futures, n);
  if (err == 0 && (winner == NULL || n == 0))
    err = UV_EINVAL;
  if (err != 0)
    return fail_all(L, futures, n, err);
  c = (uva__comb_t *)uva__future_alloc(L, &select_ops, comb_size(n));
  if (c == NULL)
    return fail_all(L, futures, n, UV_ENOMEM);
  c->n = n;
  c->out = winner;
  for (i = 0; i < n; i++)
    c->children[i] = NULL;
  winner->status = UVA_PENDING;
  winner->value.u64 = 0;
  winner->free_fn = NULL;
  /* A child that has already settled wins, the first one in order. */
  for (i = 0; i < n; i++)
    if (futures[i]->state == UVA__SETTLED)
      break;
  if (i < n) {
    size_t j;
    for (j = 0; j < n; j++)
      if (j != i)
        uva_future_free(futures[j]);
    c->children[i] = futures[i];
    uva__future_adopt(&c->base, futures[i], i);
    return &c->base;
  }
  for (i = 0; i < n; i++)
    c->children[i] = futures[i];
  for (i = 0; i < n; i++)
    uva__future_adopt(&c->base, futures[i], i);
  return &c->base;
}
