/* Poll futures: a future driven by a user poll function and a waker that any
 * thread may use (the seed's `impl Future for MyFuture`).  The waker is
 * reference counted and outlives its future; once the future is gone, a wake
 * does nothing and never touches the loop. */
#include "internal.h"

typedef struct uva__poll_s uva__poll_t;

struct uva_waker_s {
  atomic_int refs;
  uv_mutex_t lock;    /* guards f against wakes from other threads */
  uva__poll_t *f;     /* NULL once the future has settled */
  uva__loop_t *L;     /* valid while f is not NULL */
  uva__remote_t remote;
};

#define F_POLLING (UVA__F_KIND0 << 0) /* fn is running */

struct uva__poll_s {
  uva_future_t base;
  uva_poll_fn fn;
  void *state;
  uva_free_cb state_free;
  uva_waker_t *waker;
};

static void waker_unref(uva_waker_t *w) {
  if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) == 1) {
    uv_mutex_destroy(&w->lock);
    uva__free(w);
  }
}

/* Runs on the loop thread when another thread woke the future. */
static void waker_remote_cb(uva__remote_t *r) {
  uva_waker_t *w = uva__container_of(r, uva_waker_t, remote);
  if (w->f != NULL)
    uva__rq_push(w->L, &w->f->base);
}

/* Ends the future's side: the waker lets go of it, the state is freed. */
static void poll_finish(uva__poll_t *p, int status, uva_result_t *out) {
  uva_waker_t *w = p->waker;
  uva__loop_t *L = p->base.L;
  uva_free_cb state_free = p->state_free;
  void *state = p->state;

  uv_mutex_lock(&w->lock);
  w->f = NULL;
  uv_mutex_unlock(&w->lock);
  uva__remote_cancel(L, &w->remote);
  p->waker = NULL;
  waker_unref(w);
  uva__remote_wait_end(L);
  /* Settle first (it may free p), then free the state: user code in
   * state_free then finds the future settled, not half finished. */
  if (out != NULL)
    uva__settle(&p->base, status, out->value, out->free_fn);
  else
    uva__settle_err(&p->base, status);
  if (state_free != NULL)
    state_free(state);
}

static void poll_run(uva_future_t *f) {
  uva__poll_t *p = (uva__poll_t *)f;
  uva_result_t out;
  int status;

  out.status = 0;
  out.value.u64 = 0;
  out.free_fn = NULL;
  f->flags |= F_POLLING;
  status = p->fn(p->state, p->waker, &out);
  f->flags &= ~F_POLLING;
  if (f->flags & UVA__F_CANCEL)
    status = UV_ECANCELED; /* cancelled from inside the poll */
  else if (status == UVA_PENDING)
    return;
  else if (status > 0)
    status = UV_EINVAL;
  if (status != 0 && out.free_fn != NULL)
    out.free_fn(out.value.ptr);
  poll_finish(p, status, status == 0 ? &out : NULL);
}

/* A poll in progress still uses the state and the waker: it finishes when
 * the poll function returns. */
static void poll_cancel(uva_future_t *f) {
  if (f->flags & F_POLLING)
    f->flags |= UVA__F_CANCEL;
  else
    poll_finish((uva__poll_t *)f, UV_ECANCELED, NULL);
}

static void poll_release(uva_future_t *f) {
  uva__future_free_mem(f, sizeof(uva__poll_t));
}

static const uva__ops_t poll_ops = {
    .name = "poll",
    .cancel = poll_cancel,
    .run = poll_run,
    .release = poll_release,
};

uva_future_t *uva_future_poll(uv_loop_t *loop, uva_poll_fn fn, void *state,
                              uva_free_cb state_free) {
  uva__loop_t *L = uva__loop_get(loop);
  uva__poll_t *p = NULL;
  uva_waker_t *w = NULL;
  int err = UV_ENOMEM;

  if (loop == NULL || fn == NULL) {
    err = UV_EINVAL;
    goto fail;
  }
  if (L == NULL)
    goto fail;
  p = (uva__poll_t *)uva__future_alloc(L, &poll_ops, sizeof(*p));
  w = uva__malloc(sizeof(*w));
  if (p == NULL || w == NULL || uv_mutex_init(&w->lock) != 0)
    goto fail;
  /* A thread may wake it at any time: keep the async handle open. */
  err = uva__remote_wait_begin(L);
  if (err != 0) {
    uv_mutex_destroy(&w->lock);
    goto fail;
  }
  atomic_init(&w->refs, 1);
  w->f = p;
  w->L = L;
  w->remote.next = NULL;
  w->remote.cb = waker_remote_cb;
  w->remote.queued = 0;
  p->fn = fn;
  p->state = state;
  p->state_free = state_free;
  p->waker = w;
  uva__rq_push(L, &p->base); /* the first poll, soon */
  return &p->base;

fail:
  {
    uva_future_t *failed = uva__failed(L, err); /* before p goes: it may
                                                  free the loop state */
    uva__free(w);
    if (p != NULL)
      uva__future_free_mem(&p->base, sizeof(*p));
    if (state_free != NULL)
      state_free(state);
    return failed;
  }
}

void uva_waker_wake(uva_waker_t *w) {
  if (w == NULL)
    return;
  uv_mutex_lock(&w->lock);
  if (w->f != NULL) {
    if (uva__on_loop_thread(w->L))
      uva__rq_push(w->L, &w->f->base);
    else
      uva__remote_post(w->L, &w->remote);
  }
  uv_mutex_unlock(&w->lock);
}

uva_waker_t *uva_waker_clone(uva_waker_t *w) {
  if (w != NULL)
    atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
  return w;
}

void uva_waker_drop(uva_waker_t *w) {
  if (w != NULL)
    waker_unref(w);
}
