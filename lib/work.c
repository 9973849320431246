/* Blocking work: uva_spawn_blocking runs a function on libuv's thread pool
 * (one uv_work_t) and settles its future from the after-work callback on the
 * loop's thread.  uva's own jobs (whole-file reads and writes) use the same
 * future with an argument they own. */
#include "internal.h"

typedef struct {
  uva_future_t base;
  uv_work_t req;
  uva_task_fn fn;
  void *arg;
  uva_result_t result; /* fn's return code and result, from the pool */
} uva__work_t;

#define F_OWN_ARG (UVA__F_KIND0 << 0) /* arg is uva's: freed after the job */

/* Frees a result that nobody will take. */
static void result_drop(uva_result_t *r) {
  if (r->free_fn != NULL)
    r->free_fn(r->value.ptr);
  r->free_fn = NULL;
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
  if (status == 0)
    status = w->result.status;
  if (w->base.flags & UVA__F_CANCEL)
    status = UV_ECANCELED; /* cancelled while it ran: it has returned now */
  if (status != 0 || w->base.state != UVA__PENDING)
    result_drop(&w->result);
  if (w->base.state == UVA__PENDING)
    uva__settle(&w->base, status, w->result.value, w->result.free_fn);
  if (w->base.flags & F_OWN_ARG)
    uva__free(w->arg);
  uva__future_unhold(&w->base, sizeof(*w)); /* may free w */
  uva__cb_leave(L);
}

/* A job that has not started is removed and settles now.  A running one
 * cannot be stopped: its future settles with UV_ECANCELED once fn has
 * returned, so that whatever fn uses (its arg, a waiting task's stack) stays
 * valid until the future settles. */
static void work_cancel(uva_future_t *f) {
  uva__work_t *w = (uva__work_t *)f;
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

/* Queues fn(arg) as a job; own: arg is uva's (freed after the job, or now if
 * the job cannot start). */
static uva_future_t *work_start(uva__loop_t *L, uva_task_fn fn, void *arg,
                                int own) {
  uva__work_t *w;
  uva_future_t *f;
  int err;

  w = (uva__work_t *)uva__future_alloc(L, &work_ops, sizeof(*w));
  if (w == NULL) {
    if (own)
      uva__free(arg);
    return uva__failed(L, UV_ENOMEM);
  }
  w->fn = fn;
  w->arg = arg;
  if (own)
    w->base.flags |= F_OWN_ARG;
  w->result.status = 0;
  w->result.value.u64 = 0;
  w->result.free_fn = NULL;
  err = uv_queue_work(L->loop, &w->req, work_cb, after_work_cb);
  if (err != 0) {
    if (own)
      uva__free(arg);
    f = uva__failed(L, err); /* before the free: it may free L */
    uva__future_free_mem(&w->base, sizeof(*w));
    return f;
  }
  w->base.flags |= UVA__F_HELD;
  return &w->base;
}

uva_future_t *uva__blocking(uva__loop_t *L, uva_task_fn fn, void *arg) {
  return work_start(L, fn, arg, 1);
}

/* ---- public API --------------------------------------------------------- */

uva_future_t *uva_spawn_blocking(uv_loop_t *loop, uva_task_fn fn, void *arg) {
  uva__loop_t *L = uva__loop_get(loop);

  if (loop == NULL || fn == NULL)
    return uva__failed(L, UV_EINVAL);
  if (L == NULL)
    return uva__failed(NULL, UV_ENOMEM);
  return work_start(L, fn, arg, 0);
}
