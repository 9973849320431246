/* Combinators over any futures: uva_join (join!), uva_select (select!) and
 * uva_first_ok (select_ok: the first to succeed).
 * Each adopts its children as their consumer when it is made, and is lazy:
 * it starts its lazy children (channel operations, reads) only once it has a
 * consumer itself, so that a select over channel operations lets exactly one
 * of them take effect.  A child that has settled stays with its combinator
 * until the combinator's own result is taken (then the child's result is
 * taken too and written to the caller's results) or dropped (then the child
 * is dropped untaken, and gives back what it took).  Cancelling a
 * combinator cancels and lets go of its children, and settles at once. */
#include "internal.h"

#include <stdio.h>

typedef struct {
  uva_future_t base;
  size_t n;
  size_t remaining;  /* join: children not settled yet */
  uva_result_t *out; /* join: results[n]; select: the winner */
  size_t win;        /* select: index of the winner, once won */
  int won;           /* select: a child has settled */
  int starting;      /* select: its start is starting children */
  int dropping;      /* letting go of children: their settling is ignored */
  int *statuses;     /* first_ok: each child's status, or NULL */
  int last_err;      /* first_ok: the error of the last child to fail */
  uva_future_t *children[]; /* held children (pending or settled) */
} uva__comb_t;

static size_t comb_size(size_t n) {
  return sizeof(uva__comb_t) + n * sizeof(uva_future_t *);
}

/* Lets go of child: a pending one is cancelled (and destroyed when it
 * settles), a settled one is destroyed untaken (it gives back what it
 * took). */
void uva__child_drop(uva_future_t *child) {
  if (child->flags & UVA__F_STATIC) {
    uva__future_destroy(child);
    return;
  }
  child->consumer = UVA__C_DETACHED;
  if (child->state == UVA__PENDING)
    uva__future_cancel(child);
  else
    uva__future_destroy(child);
}

/* Lets go of every child still held.  First the pending ones are cancelled
 * while still held (what settles meanwhile is ignored, and stays held), so
 * that none of them takes what a settled sibling then gives back; then every
 * child is dropped: a settled one gives back what it took. */
static void comb_drop_children(uva__comb_t *c) {
  size_t i;

  c->dropping = 1;
  for (i = 0; i < c->n; i++) {
    uva_future_t *child = c->children[i];
    if (child != NULL && child->state == UVA__PENDING &&
        !(child->flags & UVA__F_STATIC))
      uva__future_cancel(child);
  }
  for (i = 0; i < c->n; i++) {
    uva_future_t *child = c->children[i];
    if (child == NULL)
      continue;
    c->children[i] = NULL;
    uva__child_drop(child);
  }
  c->dropping = 0;
}

static void comb_release(uva_future_t *f) {
  uva__comb_t *c = (uva__comb_t *)f;
  comb_drop_children(c); /* a combinator dropped before it started */
  uva__future_free_mem(f, comb_size(c->n));
}

/* Takes a settled child's result into r and destroys the child. */
void uva__child_take(uva_future_t *child, uva_result_t *r) {
  uva__future_take(child);
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

/* Returns 1 if futures[i] appears in futures[0..i). */
static int seen_before(uva_future_t **futures, size_t i) {
  size_t j;

  for (j = 0; j < i; j++)
    if (futures[j] == futures[i])
      return 1;
  return 0;
}

/* Frees whatever the caller's array holds, in case of an error: each
 * future once, even one that appears twice (dups: the array may hold
 * duplicates). */
static uva_future_t *fail_all(uva__loop_t *L, uva_future_t **futures,
                              size_t n, int err, int dups) {
  /* made first: freeing the last child may free the loop state */
  uva_future_t *f = uva__failed(L, err);
  size_t i;

  if (futures == NULL)
    return f;
  if (!dups) {
    for (i = 0; i < n; i++)
      uva_future_free(futures[i]);
    return f;
  }
  /* Shared static futures stand for one use per entry: each is released
   * first, while every other entry is still alive to look at.  Then each
   * other future once, at its first entry (one seen before may be freed
   * already, so only its address is compared). */
  for (i = 0; i < n; i++)
    if (futures[i] != NULL && (futures[i]->flags & UVA__F_STATIC))
      uva_future_free(futures[i]);
  for (i = 0; i < n; i++)
    if (futures[i] != NULL && !seen_before(futures, i) &&
        !(futures[i]->flags & UVA__F_STATIC))
      uva_future_free(futures[i]);
  return f;
}

/* Checks the arguments both combinators share.  Returns 0 or an error;
 * *dups is set when a future appears twice. */
static int check_children(uv_loop_t *loop, uva__loop_t *L,
                          uva_future_t **futures, size_t n, int *dups) {
  size_t i;
  int err = 0;

  *dups = 0;
  if (loop == NULL || (futures == NULL && n > 0))
    return UV_EINVAL;
  for (i = 0; i < n; i++)
    if (futures[i] == NULL || futures[i]->consumer != UVA__C_NONE ||
        (futures[i]->L != NULL && futures[i]->L != L))
      return UV_EINVAL;
  /* The same future twice: mark each one (a shared static future stands
   * for one use per entry and is never written to). */
  for (i = 0; i < n; i++) {
    uva_future_t *f = futures[i];
    if (f->flags & UVA__F_STATIC)
      continue;
    if (f->flags & UVA__F_MARK) {
      *dups = 1;
      err = UV_EINVAL;
    }
    f->flags |= UVA__F_MARK;
  }
  for (i = 0; i < n; i++)
    if (!(futures[i]->flags & UVA__F_STATIC))
      futures[i]->flags &= ~UVA__F_MARK;
  if (err != 0)
    return err;
  return L == NULL ? UV_ENOMEM : 0;
}

/* ---- join --------------------------------------------------------------- */

static void join_child(uva_future_t *parent, uva_future_t *child,
                       size_t index) {
  uva__comb_t *c = (uva__comb_t *)parent;

  (void)child;
  (void)index; /* held in children[index] until the join is taken */
  if (c->dropping)
    return;
  if (--c->remaining == 0)
    uva__settle_err(parent, 0);
}

static void join_start(uva_future_t *f) {
  uva__comb_t *c = (uva__comb_t *)f;
  size_t i;

  c->remaining++; /* held: the join cannot settle (and go) meanwhile */
  for (i = 0; i < c->n; i++)
    if (c->children[i] != NULL)
      uva__future_start(c->children[i]);
  if (--c->remaining == 0)
    uva__settle_err(f, 0);
}

static void join_take(uva_future_t *f) {
  uva__comb_t *c = (uva__comb_t *)f;
  size_t i;

  for (i = 0; i < c->n; i++) {
    uva_future_t *child = c->children[i];
    if (child == NULL)
      continue;
    c->children[i] = NULL;
    uva__child_take(child, &c->out[i]);
  }
}

static void comb_undo(uva_future_t *f) {
  comb_drop_children((uva__comb_t *)f);
}

static void join_cancel(uva_future_t *f) {
  comb_drop_children((uva__comb_t *)f);
  uva__settle_err(f, UV_ECANCELED);
}

/* For uva_loop_dump (stats.c, issue 10): the children still pending. */
static void comb_describe(const uva_future_t *f, char *buf, size_t n) {
  const uva__comb_t *c = (const uva__comb_t *)f;
  size_t i, pending = 0, used;
  const char *sep = ": ";

  for (i = 0; i < c->n; i++)
    pending += c->children[i] != NULL &&
               c->children[i]->state == UVA__PENDING;
  used = (size_t)snprintf(buf, n, "of %zu, %zu pending", c->n, pending);
  for (i = 0; i < c->n && used < n; i++) {
    const uva_future_t *child = c->children[i];
    if (child != NULL && child->state == UVA__PENDING) {
      used += (size_t)snprintf(buf + used, n - used, "%s%s", sep,
                               child->ops->name);
      sep = ", ";
    }
  }
}

static const uva__ops_t join_ops = {
    .describe = comb_describe,
    .name = "join",
    .cancel = join_cancel,
    .child = join_child,
    .release = comb_release,
    .start = join_start,
    .take = join_take,
    .undo = comb_undo,
};

uva_future_t *uva_join(uv_loop_t *loop, uva_future_t **futures, size_t n,
                       uva_result_t *results) {
  uva__loop_t *L = uva__loop_get(loop);
  uva__comb_t *c;
  size_t i;
  int err, dups;

  err = check_children(loop, L, futures, n, &dups);
  if (err == 0 && results == NULL && n > 0)
    err = UV_EINVAL;
  if (err != 0)
    return fail_all(L, futures, n, err, dups);
  c = (uva__comb_t *)uva__future_alloc(L, &join_ops, comb_size(n));
  if (c == NULL)
    return fail_all(L, futures, n, UV_ENOMEM, 0);
  c->base.flags |= UVA__F_LAZY;
  c->n = n;
  c->out = results;
  c->remaining = n + 1; /* held until every child is adopted */
  c->win = 0;
  c->won = c->starting = c->dropping = 0;
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

static void select_settle(uva__comb_t *c) {
  uva_value_t v;
  v.u64 = c->win;
  uva__settle(&c->base, 0, v, NULL);
}

/* child, at index, wins: the others are let go of. */
static void select_win(uva__comb_t *c, uva_future_t *child, size_t index) {
  c->children[index] = NULL; /* held apart from the losers */
  comb_drop_children(c);
  c->children[index] = child;
  c->win = index;
  c->won = 1;
}

static void select_child(uva_future_t *parent, uva_future_t *child,
                         size_t index) {
  uva__comb_t *c = (uva__comb_t *)parent;

  if (c->dropping)
    return;
  select_win(c, child, index);
  if (!c->starting)
    select_settle(c);
}

/* Starts the children in order until one has won: the later ones never
 * start, so they have had no effect. */
static void start_until_won(uva__comb_t *c) {
  size_t i;

  c->starting = 1;
  for (i = 0; i < c->n && !c->won; i++)
    if (c->children[i] != NULL)
      uva__future_start(c->children[i]);
  c->starting = 0;
}

static void select_start(uva_future_t *f) {
  uva__comb_t *c = (uva__comb_t *)f;

  start_until_won(c);
  if (c->won && c->base.state == UVA__PENDING)
    select_settle(c);
}

static void select_take(uva_future_t *f) {
  uva__comb_t *c = (uva__comb_t *)f;
  uva_future_t *child = c->children[c->win];

  if (child != NULL) {
    c->children[c->win] = NULL;
    uva__child_take(child, c->out);
  }
}

static void select_cancel(uva_future_t *f) {
  comb_drop_children((uva__comb_t *)f);
  uva__settle_err(f, UV_ECANCELED);
}

static const uva__ops_t select_ops = {
    .describe = comb_describe,
    .name = "select",
    .cancel = select_cancel,
    .child = select_child,
    .release = comb_release,
    .start = select_start,
    .take = select_take,
    .undo = comb_undo,
};

/* What uva_select and uva_first_ok share: checks the arguments and makes
 * the combinator of kind ops, holding no child yet, in *out.  Returns NULL,
 * or the failed future to return (the children freed). */
static uva_future_t *select_make(uv_loop_t *loop, uva_future_t **futures,
                                 size_t n, uva_result_t *winner,
                                 const uva__ops_t *ops, uva__comb_t **out) {
  uva__loop_t *L = uva__loop_get(loop);
  uva__comb_t *c;
  size_t i;
  int err, dups;

  err = check_children(loop, L, futures, n, &dups);
  if (err == 0 && (winner == NULL || n == 0))
    err = UV_EINVAL;
  if (err != 0)
    return fail_all(L, futures, n, err, dups);
  c = (uva__comb_t *)uva__future_alloc(L, ops, comb_size(n));
  if (c == NULL)
    return fail_all(L, futures, n, UV_ENOMEM, 0);
  c->base.flags |= UVA__F_LAZY;
  c->n = n;
  c->out = winner;
  c->statuses = NULL;
  c->win = 0;
  c->won = c->starting = c->dropping = 0;
  for (i = 0; i < n; i++)
    c->children[i] = NULL;
  winner->status = UVA_PENDING;
  winner->value.u64 = 0;
  winner->free_fn = NULL;
  *out = c;
  return NULL;
}

uva_future_t *uva_select(uv_loop_t *loop, uva_future_t **futures, size_t n,
                         uva_result_t *winner) {
  uva__comb_t *c;
  uva_future_t *failed;
  size_t i;

  if ((failed = select_make(loop, futures, n, winner, &select_ops, &c)) !=
      NULL)
    return failed;
  /* A child that has already settled wins, the first one in order; the
   * others are let go of (lazy ones never started). */
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

/* ---- first_ok ----------------------------------------------------------- */

/* A child succeeded (it wins, as in select) or failed (it is let go of;
 * when none is left, the first_ok fails with the last error). */
static void first_ok_settle(uva__comb_t *c) {
  size_t i;

  if (c->base.state != UVA__PENDING)
    return;
  if (c->won) {
    if (c->statuses != NULL)
      for (i = 0; i < c->n; i++)
        if (c->statuses[i] == UVA_PENDING)
          c->statuses[i] = UV_ECANCELED;
    select_settle(c);
  } else if (c->remaining == 0)
    uva__settle_err(&c->base, c->last_err);
}

static void first_ok_child(uva_future_t *parent, uva_future_t *child,
                           size_t index) {
  uva__comb_t *c = (uva__comb_t *)parent;

  if (c->dropping || c->won)
    return;
  if (c->statuses != NULL)
    c->statuses[index] = child->status;
  if (child->status == 0) {
    select_win(c, child, index);
  } else {
    c->last_err = child->status;
    c->children[index] = NULL;
    c->remaining--;
    uva__child_drop(child);
  }
  if (!c->starting)
    first_ok_settle(c);
}

/* Starts the children in order until one succeeds. */
static void first_ok_start(uva_future_t *f) {
  uva__comb_t *c = (uva__comb_t *)f;

  start_until_won(c);
  first_ok_settle(c);
}

static const uva__ops_t first_ok_ops = {
    .name = "first_ok",
    .cancel = select_cancel,
    .child = first_ok_child,
    .release = comb_release,
    .start = first_ok_start,
    .take = select_take,
    .undo = comb_undo,
};

uva_future_t *uva_first_ok(uv_loop_t *loop, uva_future_t **futures, size_t n,
                           uva_result_t *winner, int *statuses) {
  uva__comb_t *c;
  uva_future_t *failed;
  size_t i;

  if ((failed = select_make(loop, futures, n, winner, &first_ok_ops, &c)) !=
      NULL)
    return failed;
  c->statuses = statuses;
  c->last_err = UV_ECANCELED;
  c->remaining = n;
  for (i = 0; i < n; i++) {
    c->children[i] = futures[i];
    if (statuses != NULL)
      statuses[i] = UVA_PENDING;
  }
  /* Children that have settled already are looked at in order (the first
   * success wins, and the rest are let go of: comb_drop_children frees
   * those not adopted yet); settling waits until the end. */
  c->starting = 1;
  for (i = 0; i < n && !c->won; i++)
    uva__future_adopt(&c->base, futures[i], i);
  c->starting = 0;
  first_ok_settle(c);
  return &c->base;
}
