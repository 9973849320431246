/* Blocking work: uva_spawn_blocking runs a function on libuv's thread pool
 * (one uv_work_t) and settles its future from the after-work callback on the
 * loop's thread.  uva's own jobs (whole-file reads and writes) use the same
 * future with an argument they own.
 *
 * A job's memory (and its arg) stays alive until libuv's after-work callback
 * has run, whatever happened to its future: a job cannot be stopped once fn
 * runs.  A job whose future was cancelled while libuv held it (by the caller,
 * or by a timeout, select, join or task cancel that dropped it) is counted in
 * L->pool_dropped until then, so that uva_block_on and uva_loop_shutdown can
 * wait for it and the loop closes afterwards; arg_free tells the caller. */
#include "internal.h"
#include "io-internal.h"

typedef struct uva__work_s {
  uva_future_t base;
  uv_work_t req;
  uva_task_fn fn;
  void *arg;
  uva_free_cb arg_free; /* called with arg once the job is over; may be NULL */
  struct uva__work_s *prev, *next; /* L->jobs */
  uva_result_t result; /* fn's return code and result, from the pool */
} uva__work_t;

#define F_OWN_ARG (UVA__F_KIND0 << 0) /* uva's own job: settles at once when
                                         cancelled, even while it runs */
#define F_DROPPED (UVA__F_KIND0 << 1) /* cancelled while libuv held it:
                                         counted in L->pool_dropped */

/* Frees a result that nobody will take. */
static void result_drop(uva_result_t *r) {
  if (r->free_fn != NULL)
    r->free_fn(r->value.ptr);
  r->free_fn = NULL;
}

static void mark_dropped(uva__work_t *w) {
  if (!(w->base.flags & F_DROPPED)) {
    w->base.flags |= F_DROPPED;
    w->base.L->pool_dropped++;
  }
}

/* On a thread-pool thread: touches only fn, arg and result, which the loop's
 * thread leaves alone until the after-work callback. */
static void work_cb(uv_work_t *req) {
  uva__work_t *w = uva__container_of(req, uva__work_t, req);
  int status;

  status = w->fn(w->arg, &w->result);
  if (status > 0)
    status = UV_EINVAL; /* a body returns 0 or a negative error */
  w->result.status = status;
}

/* On the loop's thread once the job has run, or has been cancelled before it
 * started (status UV_ECANCELED, fn never ran). */
static void after_work_cb(uv_work_t *req, int status) {
  uva__work_t *w = uva__container_of(req, uva__work_t, req);
  uva__loop_t *L = w->base.L;

  uva__cb_enter(L);
  if (w->prev != NULL)
    w->prev->next = w->next;
  else
    L->jobs = w->next;
  if (w->next != NULL)
    w->next->prev = w->prev;
  L->pool_reqs--;
  if (w->base.flags & F_DROPPED)
    L->pool_dropped--;
  if (status == 0)
    status = w->result.status;
  if (w->base.flags & UVA__F_CANCEL)
    status = UV_ECANCELED; /* cancelled while it ran: it has returned now */
  if (status != 0 || w->base.state != UVA__PENDING)
    result_drop(&w->result);
  if (w->arg_free != NULL)
    w->arg_free(w->arg); /* fn is done with it */
  if (w->base.state == UVA__PENDING)
    uva__settle(&w->base, status, w->result.value, w->result.free_fn);
  uva__future_unhold(&w->base, sizeof(*w)); /* may free w */
  uva__cb_leave(L);
}

/* A job that has not started is removed and settles now.  A running one
 * cannot be stopped: its future settles with UV_ECANCELED once fn has
 * returned, so that whatever fn uses (its arg, a waiting task's stack) stays
 * valid until the future settles. */
static void work_cancel(uva_future_t *f) {
  uva__work_t *w = (uva__work_t *)f;

  mark_dropped(w);
  /* A job of uva's own touches nothing of the caller's: it settles at once
   * even while it runs, and its result is dropped when it returns. */
  if (uv_cancel((uv_req_t *)&w->req) == 0 || (f->flags & F_OWN_ARG))
    uva__settle_err(f, UV_ECANCELED);
  else
    f->flags |= UVA__F_CANCEL;
}

static void work_release(uva_future_t *f) {
  uva__future_release_held(f, sizeof(uva__work_t));
}

static const uva__ops_t work_ops = {
    .name = "spawn_blocking",
    .cancel = work_cancel,
    .release = work_release,
};

/* Queues fn(arg) as a job; arg_free(arg) (if not NULL) runs once the job is
 * over, or before this returns if the job cannot start.  own: a job of
 * uva's. */
static uva_future_t *work_start(uva__loop_t *L, uva_task_fn fn, void *arg,
                                uva_free_cb arg_free, int own) {
  uva__work_t *w;
  uva_future_t *f;
  int err;

  w = (uva__work_t *)uva__future_alloc(L, &work_ops, sizeof(*w));
  if (w == NULL) {
    if (arg_free != NULL)
      arg_free(arg);
    return uva__failed(L, UV_ENOMEM);
  }
  w->fn = fn;
  w->arg = arg;
  w->arg_free = arg_free;
  if (own)
    w->base.flags |= F_OWN_ARG;
  w->result.status = 0;
  w->result.value.u64 = 0;
  w->result.free_fn = NULL;
  err = uv_queue_work(L->loop, &w->req, work_cb, after_work_cb);
  if (err != 0) {
    if (arg_free != NULL)
      arg_free(arg);
    f = uva__failed(L, err); /* before the free: it may free L */
    uva__future_free_mem(&w->base, sizeof(*w));
    return f;
  }
  w->prev = NULL;
  w->next = L->jobs;
  if (L->jobs != NULL)
    L->jobs->prev = w;
  L->jobs = w;
  L->pool_reqs++;
  w->base.flags |= UVA__F_HELD;
  return &w->base;
}

uva_future_t *uva__blocking(uva__loop_t *L, uva_task_fn fn, void *arg) {
  return work_start(L, fn, arg, uva__free, 1);
}

void uva__work_cancel_all(uva__loop_t *L) {
  uva__work_t *w;

  /* Settling never takes a job off the list (only its after-work callback
   * does), nor frees one (libuv holds it). */
  for (w = L->jobs; w != NULL; w = w->next)
    if (w->base.state == UVA__PENDING &&
        uv_cancel((uv_req_t *)&w->req) == 0) {
      mark_dropped(w);
      uva__settle_err(&w->base, UV_ECANCELED);
    }
}

/* ---- public API --------------------------------------------------------- */

uva_future_t *uva_spawn_blocking_ex(uv_loop_t *loop, uva_task_fn fn,
                                    void *arg, uva_free_cb arg_free) {
  uva__loop_t *L = uva__loop_get(loop);
  uva_future_t *f;

  if (loop == NULL || fn == NULL || L == NULL) {
    f = uva__failed(L, loop == NULL || fn == NULL ? UV_EINVAL : UV_ENOMEM);
    if (arg_free != NULL)
      arg_free(arg);
    return f;
  }
  return work_start(L, fn, arg, arg_free, 0);
}

uva_future_t *uva_spawn_blocking(uv_loop_t *loop, uva_task_fn fn, void *arg) {
  return uva_spawn_blocking_ex(loop, fn, arg, NULL);
}
