/* Cancellation tokens (tokio-util's CancellationToken).  A token is a flag
 * (an atomic, so that any thread and a signal handler may set it), a
 * uv_async_t of its own (uv_async_send is async-signal-safe, where uva's
 * shared per-loop inbox takes a mutex), and a list of what its cancel
 * reaches: waiters, bound futures, groups and child tokens (uva__tlink_t).
 * The cancel's effects always run on the loop's thread: at once when
 * uva_token_cancel is called there, else from the async callback. */
#include "internal.h"
#include "sync-internal.h"

struct uva_token_s {
  uva__loop_t *L;
  uv_async_t async;
  atomic_int cancelled; /* set by any thread */
  int propagated;       /* loop thread: the effects have run */
  int refd;             /* async referenced: waiters wait */
  size_t waiters;       /* pending uva_token_cancelled futures */
  uva__tlink_t links;   /* what a cancel reaches (a sentinel), oldest
                          first */
  uva__tlink_t as_child; /* on the parent's list */
};

/* ---- the listener list -------------------------------------------------- */

int uva__token_listen(uva_token_t *tok, uva__tlink_t *l) {
  if (tok->propagated)
    return 1;
  l->next = &tok->links;
  l->prev = tok->links.prev;
  l->prev->next = l;
  tok->links.prev = l;
  return 0;
}

void uva__token_unlisten(uva__tlink_t *l) {
  if (l->next == NULL)
    return;
  l->prev->next = l->next;
  l->next->prev = l->prev;
  l->next = NULL;
  l->prev = NULL;
}

/* The oldest listener still linked, or NULL. */
static uva__tlink_t *first_link(uva_token_t *tok) {
  return tok->links.next != &tok->links ? tok->links.next : NULL;
}

uva__loop_t *uva__token_loop(const uva_token_t *tok) { return tok->L; }

/* The async handle is referenced exactly while a waiter waits. */
static void token_ref(uva_token_t *tok) {
  int want = tok->waiters > 0;

  if (want == tok->refd)
    return;
  tok->refd = want;
  if (want)
    uv_ref((uv_handle_t *)&tok->async);
  else
    uv_unref((uv_handle_t *)&tok->async);
}

/* Runs the cancel's effects, once, on the loop's thread.  Each listener is
 * unlinked before its callback runs, so a callback may unlink others. */
static void propagate(uva_token_t *tok) {
  uva__tlink_t *l;

  if (tok->propagated)
    return;
  atomic_store_explicit(&tok->cancelled, 1, memory_order_release);
  tok->propagated = 1;
  while ((l = first_link(tok)) != NULL) {
    uva__token_unlisten(l);
    l->cb(l);
  }
  token_ref(tok);
}

static void token_async_cb(uv_async_t *h) {
  uva_token_t *tok = uva__container_of(h, uva_token_t, async);
  uva__loop_t *L = tok->L;

  if (!atomic_load_explicit(&tok->cancelled, memory_order_acquire))
    return;
  uva__cb_enter(L);
  propagate(tok);
  uva__cb_leave(L);
}

static void child_cancel_cb(uva__tlink_t *l) {
  propagate(uva__container_of(l, uva_token_t, as_child));
}

/* ---- tokens ------------------------------------------------------------- */

static int token_make(uv_loop_t *loop, uva_token_t **out) {
  uva__loop_t *L;
  uva_token_t *tok;
  int err;

  L = uva__loop_get(loop);
  if (L == NULL)
    return UV_ENOMEM;
  tok = uva__obj_alloc(L, sizeof(*tok));
  if (tok == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  memset(tok, 0, sizeof(*tok));
  tok->L = L;
  atomic_init(&tok->cancelled, 0);
  err = uv_async_init(loop, &tok->async, token_async_cb);
  if (err != 0) {
    uva__obj_free(L, tok, sizeof(*tok));
    return err;
  }
  uv_unref((uv_handle_t *)&tok->async);
  L->handles++;
  tok->links.next = tok->links.prev = &tok->links;
  tok->as_child.cb = child_cancel_cb;
  *out = tok;
  return 0;
}

int uva_token_new(uv_loop_t *loop, uva_token_t **out) {
  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL)
    return UV_EINVAL;
  return token_make(loop, out);
}

int uva_token_child(uva_token_t *parent, uva_token_t **out) {
  int err;

  if (out != NULL)
    *out = NULL;
  if (parent == NULL || out == NULL)
    return UV_EINVAL;
  err = token_make(parent->L->loop, out);
  if (err != 0)
    return err;
  if (uva__token_listen(parent, &(*out)->as_child) != 0) {
    atomic_store_explicit(&(*out)->cancelled, 1, memory_order_release);
    (*out)->propagated = 1;
  }
  return 0;
}

void uva_token_cancel_async(uva_token_t *tok) {
  if (tok != NULL && atomic_exchange(&tok->cancelled, 1) == 0)
    uv_async_send(&tok->async);
}

void uva_token_cancel(uva_token_t *tok) {
  if (tok == NULL)
    return;
  if (!uva__on_loop_thread(tok->L)) {
    uva_token_cancel_async(tok);
    return;
  }
  propagate(tok);
}

int uva_token_is_cancelled(const uva_token_t *tok) {
  return tok != NULL &&
         atomic_load_explicit(&((uva_token_t *)tok)->cancelled,
                              memory_order_acquire) != 0;
}

static void token_close_cb(uv_handle_t *h) {
  uva_token_t *tok = uva__container_of(h, uva_token_t, async);
  uva__loop_t *L = tok->L;

  L->handles--;
  uva__closed(L);
  uva__obj_free(L, tok, sizeof(*tok));
}

void uva_token_free(uva_token_t *tok) {
  uva__tlink_t *l;

  if (tok == NULL)
    return;
  uva__token_unlisten(&tok->as_child);
  while ((l = first_link(tok)) != NULL) {
    uva__token_unlisten(l);
    if (l->gone != NULL)
      l->gone(l);
  }
  tok->waiters = 0;
  token_ref(tok);
  uva__close(tok->L, (uv_handle_t *)&tok->async, token_close_cb);
}

/* ---- uva_token_cancelled ------------------------------------------------ */

typedef struct {
  uva_future_t base;
  uva__tlink_t link;
  uva_token_t *tok;
} uva__twait_t;

static void twait_done(uva__twait_t *w, int status) {
  uva_token_t *tok = w->tok;

  w->tok = NULL;
  if (tok != NULL) {
    tok->waiters--;
    token_ref(tok);
  }
  uva__settle_err(&w->base, status);
}

static void twait_cb(uva__tlink_t *l) {
  twait_done(uva__container_of(l, uva__twait_t, link), 0);
}

static void twait_gone(uva__tlink_t *l) {
  uva__twait_t *w = uva__container_of(l, uva__twait_t, link);
  w->tok = NULL; /* its count went with the token */
  uva__settle_err(&w->base, UV_ECANCELED);
}

static void twait_cancel(uva_future_t *f) {
  uva__twait_t *w = (uva__twait_t *)f;
  uva__token_unlisten(&w->link);
  twait_done(w, UV_ECANCELED);
}

/* Already cancelled when made: settles from the run queue. */
static void twait_run(uva_future_t *f) { uva__settle_err(f, 0); }

static void twait_release(uva_future_t *f) {
  uva__future_free_mem(f, sizeof(uva__twait_t));
}

static const uva__ops_t twait_ops = {
    .name = "token_cancelled",
    .cancel = twait_cancel,
    .run = twait_run,
    .release = twait_release,
};

uva_future_t *uva_token_cancelled(uva_token_t *tok) {
  uva__twait_t *w;

  if (tok == NULL)
    return uva__failed(NULL, UV_EINVAL);
  w = (uva__twait_t *)uva__future_alloc(tok->L, &twait_ops, sizeof(*w));
  if (w == NULL)
    return uva__failed(tok->L, UV_ENOMEM);
  w->link.cb = twait_cb;
  w->link.gone = twait_gone;
  w->link.next = w->link.prev = NULL;
  if (uva__token_listen(tok, &w->link) != 0) {
    uva__rq_push(tok->L, &w->base);
    return &w->base;
  }
  w->tok = tok;
  tok->waiters++;
  token_ref(tok);
  return &w->base;
}

/* ---- uva_token_bind ----------------------------------------------------- */

/* Holds its child as uva_timeout does: settles with the child's status when
 * it settles, and takes or drops the child's result with its own. */
typedef struct {
  uva_future_t base;
  uva__tlink_t link;
  uva_future_t *child;
} uva__bind_t;

static void bind_cancel_child(uva__bind_t *b) {
  if (b->child != NULL && b->child->state == UVA__PENDING)
    uva__future_cancel(b->child); /* b settles when it has */
}

static void bind_token_cb(uva__tlink_t *l) {
  bind_cancel_child(uva__container_of(l, uva__bind_t, link));
}

static void bind_cancel(uva_future_t *f) {
  uva__bind_t *b = (uva__bind_t *)f;
  uva__token_unlisten(&b->link);
  bind_cancel_child(b);
}

static void bind_child(uva_future_t *parent, uva_future_t *child,
                       size_t index) {
  uva__bind_t *b = (uva__bind_t *)parent;

  (void)index;
  uva__token_unlisten(&b->link);
  uva__settle(parent, child->status, child->value, NULL);
}

static void bind_start(uva_future_t *f) {
  uva__bind_t *b = (uva__bind_t *)f;
  if (b->child != NULL)
    uva__future_start(b->child);
}

static void bind_take(uva_future_t *f) {
  uva__hold_take(f, &((uva__bind_t *)f)->child);
}

static void bind_undo(uva_future_t *f) {
  uva__hold_drop(&((uva__bind_t *)f)->child);
}

static void bind_release(uva_future_t *f) {
  uva__bind_t *b = (uva__bind_t *)f;
  uva__token_unlisten(&b->link);
  uva__hold_drop(&b->child);
  uva__future_free_mem(f, sizeof(*b));
}

static const uva__ops_t bind_ops = {
    .name = "token_bind",
    .cancel = bind_cancel,
    .child = bind_child,
    .release = bind_release,
    .start = bind_start,
    .take = bind_take,
    .undo = bind_undo,
};

uva_future_t *uva_token_bind(uva_token_t *tok, uva_future_t *f) {
  uva__bind_t *b;

  if (f == NULL)
    return uva__failed(tok != NULL ? tok->L : NULL, UV_EINVAL);
  if (f->consumer != UVA__C_NONE && !(f->flags & UVA__F_STATIC))
    return uva__failed(f->L, UV_EINVAL);
  if (tok == NULL || (f->L != NULL && f->L != tok->L)) {
    uva_future_t *failed = uva__failed(f->L, UV_EINVAL);
    uva_future_free(f);
    return failed;
  }
  if ((f->flags & UVA__F_STATIC) || f->state == UVA__SETTLED)
    return f; /* its result is already the answer */
  b = (uva__bind_t *)uva__future_alloc(tok->L, &bind_ops, sizeof(*b));
  if (b == NULL) {
    uva_future_t *failed = uva__failed(tok->L, UV_ENOMEM);
    uva_future_free(f);
    return failed;
  }
  b->child = f;
  b->link.cb = bind_token_cb;
  b->link.gone = NULL;
  b->link.next = b->link.prev = NULL;
  if (f->flags & UVA__F_LAZY)
    b->base.flags |= UVA__F_LAZY;
  uva__future_adopt(&b->base, f, 0);
  if (uva__token_listen(tok, &b->link) != 0)
    bind_cancel_child(b);
  return &b->base;
}
