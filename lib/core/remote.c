/* Work placed on another loop (issue 11): uva_spawn_on, uva_future_on and
 * uva_spawn_on_blocking.
 *
 * A call is a bridge (uva__xcall_t, allocated with uva__malloc since both
 * threads use it) between the home side, a future of the caller's loop (or a
 * blocked thread), and the target side, a future of the target loop (a
 * task's join future, or what make returned) consumed there by an internal
 * hook that takes its result when it settles.  Three nodes cross the
 * threads, each on the other loop's inbox (one uv_async_t per loop,
 * coalesced): the request (home -> target), the cancel (home -> target, at
 * most once) and the reply (target -> home).  The home loop holds a remote
 * wait from the request until the reply, so its inbox is open for it; the
 * target holds one from the request's arrival until it is done, including a
 * cancel that may still arrive, so its inbox is open for that.
 *
 * Who may still use the bridge is counted in refs: the home side (until the
 * reply has run), the target side (until it has replied) and a posted
 * cancel (until it has run there).  The last one frees it.  Whether a cancel
 * is still worth posting is decided on one atomic word, st: the home side
 * sets X_CANCEL before posting, the target side sets X_DONE before
 * replying; whoever comes second knows what the other did. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

#define X_CANCEL 1u /* home side: a cancel is posted (or was meant) */
#define X_DONE 2u   /* target side: the result is on its way home */

typedef struct uva__xcall_s {
  uva__remote_t request; /* to the target: start the work */
  uva__remote_t cancel;  /* to the target: cancel it */
  uva__remote_t reply;   /* to the home loop: the result is here */
  uva__loop_t *home;     /* NULL: a blocked thread waits (blocking) */
  uva__loop_t *target;
  uv_loop_t *target_loop;
  uva_future_t *hf;      /* the home future (home thread) */
  uva_future_t *tf;      /* the target future (target thread) */
  uva_task_fn fn;        /* uva_spawn_on: the task's body, or */
  uva_make_fn make;      /* uva_future_on: what makes the target future */
  void *arg;
  atomic_uint st;        /* X_CANCEL, X_DONE */
  atomic_int refs;
  int started;           /* target thread: the request has run */
  int cancel_ran;        /* target thread: the cancel has run */
  int waiting;           /* target thread: the target's wait is held */
  uva_result_t res;      /* written on the target, read at home */
  /* blocking */
  uv_mutex_t *mu;
  uv_cond_t *cv;
  int done;
} uva__xcall_t;

/* The home future: a plain future of the home loop whose cancel reaches
 * the target. */
typedef struct {
  uva_future_t base;
  uva__xcall_t *x;
} uva__xfut_t;

static void plain_free(uva__xcall_t *x);

static void x_unref(uva__xcall_t *x) {
  if (atomic_fetch_sub_explicit(&x->refs, 1, memory_order_acq_rel) == 1)
    uva__free(x);
}

/* ---- the target side (target thread) ------------------------------------ */

/* The target side is finished once its result is on the way home and no
 * cancel can still come: its wait and reference go. */
static void target_finish(uva__xcall_t *x, unsigned st) {
  uva__loop_t *T = x->target;

  if ((st & X_CANCEL) && !x->cancel_ran)
    return; /* the cancel is on its way here: it finishes */
  if (x->waiting) {
    x->waiting = 0;
    uva__remote_wait_end(T);
  }
}

/* The result goes home: to the home loop's inbox, or to the blocked
 * thread.  Last use of x by the target side. */
static void target_reply(uva__xcall_t *x, int status, uva_value_t value,
                         uva_free_cb free_fn) {
  unsigned st;

  x->res.status = status;
  x->res.value = status == 0 ? value : (uva_value_t){0};
  x->res.free_fn = status == 0 ? free_fn : NULL;
  x->tf = NULL;
  st = atomic_fetch_or_explicit(&x->st, X_DONE, memory_order_acq_rel);
  target_finish(x, st | X_DONE);
  if (x->home == NULL && x->mu == NULL) { /* detached: nobody wants it */
    uva_result_free(&x->res);
    plain_free(x);
    return;
  }
  if (x->home == NULL) {
    /* The waiting thread frees x once it sees done. */
    uv_mutex_lock(x->mu);
    x->done = 1;
    uv_cond_signal(x->cv);
    uv_mutex_unlock(x->mu);
    return;
  }
  uva__remote_post(x->home, &x->reply); /* home holds a wait for it */
  x_unref(x);
}

/* The target future settled and its result was taken: it goes home. */
static void target_done(uva_future_t *f, void *data) {
  uva__xcall_t *x = data;
  uva_free_cb free_fn = f->status == 0 ? f->free_fn : NULL;

  f->free_fn = NULL; /* the value is the bridge's now */
  target_reply(x, f->status, f->value, free_fn);
}

static uva_future_t *spawn_make(uv_loop_t *target, void *arg) {
  uva__xcall_t *x = arg;
  return uva_spawn(target, x->fn, x->arg);
}

static void target_request(uva__remote_t *r) {
  uva__xcall_t *x = uva__container_of(r, uva__xcall_t, request);
  uva__loop_t *T = x->target;
  uva_future_t *f;
  int err;

  x->started = 1;
  if (x->cancel_ran) { /* the cancel overtook the request */
    uva__remote_request_done(T);
    target_reply(x, UV_ECANCELED, (uva_value_t){0}, NULL);
    return;
  }
  /* Held until the end, so that a cancel can reach this loop. */
  err = uva__remote_wait_begin(T);
  uva__remote_request_done(T);
  if (err != 0) {
    target_reply(x, err, (uva_value_t){0}, NULL);
    return;
  }
  x->waiting = 1;
  f = x->fn != NULL ? spawn_make(x->target_loop, x) : x->make(x->target_loop, x->arg);
  if (f == NULL) {
    target_reply(x, UV_ENOMEM, (uva_value_t){0}, NULL);
    return;
  }
  if (f->L != T || f->consumer != UVA__C_NONE) {
    /* A failed future of no loop reports its error; one of another loop
     * or one already consumed is make's mistake: left alone (it is not
     * this thread's to free), reported as UV_EINVAL. */
    target_reply(x, f->L == NULL ? f->status : UV_EINVAL, (uva_value_t){0},
                 NULL);
    return;
  }
  x->tf = f;
  f->consumer = UVA__C_HOOK;
  f->waiter = (void *)(uintptr_t)target_done;
  f->waiter_data = x;
  uva__future_start(f);
  if (f->state == UVA__SETTLED)
    uva__rq_push(T, f);
}

static void target_cancel(uva__remote_t *r) {
  uva__xcall_t *x = uva__container_of(r, uva__xcall_t, cancel);
  unsigned st = atomic_load_explicit(&x->st, memory_order_acquire);

  x->cancel_ran = 1;
  if (x->started) {
    if (!(st & X_DONE) && x->tf != NULL)
      uva__future_cancel(x->tf); /* its result comes home as usual */
    else
      target_finish(x, st);
  }
  /* not started: the request, when it runs, replies UV_ECANCELED */
  x_unref(x);
}

/* ---- the home side (home thread) ---------------------------------------- */

static void home_reply(uva__remote_t *r) {
  uva__xcall_t *x = uva__container_of(r, uva__xcall_t, reply);
  uva__loop_t *H = x->home;
  uva_future_t *hf = x->hf;

  x->hf = NULL; /* runs inside the inbox's callback */
  uva__settle(hf, x->res.status, x->res.value, x->res.free_fn);
  uva__remote_wait_end(H);
  x_unref(x);
}

/* The home future is cancelled (or dropped) while pending: the target side
 * is asked to cancel, unless it has replied already.  The home future
 * settles when the reply comes (a task: once it has returned). */
static void home_cancel(uva_future_t *f) {
  uva__xcall_t *x = ((uva__xfut_t *)f)->x;
  unsigned st;

  atomic_fetch_add_explicit(&x->refs, 1, memory_order_relaxed);
  st = atomic_fetch_or_explicit(&x->st, X_CANCEL, memory_order_acq_rel);
  if (st & (X_DONE | X_CANCEL)) {
    x_unref(x); /* the reply is on its way, or a cancel is */
    return;
  }
  /* The target holds its inbox open until it has seen this (X_DONE was not
   * set: target_finish waits for the cancel). */
  uva__remote_post(x->target, &x->cancel);
}

static void home_describe(const uva_future_t *f, char *buf, size_t n) {
  const uva__xcall_t *x = ((const uva__xfut_t *)f)->x;
  snprintf(buf, n, "%s on loop %p", x->fn != NULL ? "task" : "future",
           (void *)x->target_loop);
}

static void home_release(uva_future_t *f) {
  uva__future_free_mem(f, sizeof(uva__xfut_t));
}

static const uva__ops_t xfut_ops = {
    .name = "remote",
    .cancel = home_cancel,
    .release = home_release,
    .describe = home_describe,
};

/* ---- the calls ---------------------------------------------------------- */

static uva__xcall_t *xcall_new(uva__loop_t *home, uva__loop_t *T,
                               uv_loop_t *target, uva_task_fn fn,
                               uva_make_fn make, void *arg) {
  uva__xcall_t *x = uva__calloc(1, sizeof(*x));

  if (x == NULL)
    return NULL;
  x->request.cb = target_request;
  x->cancel.cb = target_cancel;
  x->reply.cb = home_reply;
  x->home = home;
  x->target = T;
  x->target_loop = target;
  x->fn = fn;
  x->make = make;
  x->arg = arg;
  atomic_init(&x->st, 0);
  atomic_init(&x->refs, 2); /* home, target */
  return x;
}

static uva_future_t *place(uv_loop_t *loop, uv_loop_t *target, uva_task_fn fn,
                           uva_make_fn make, void *arg) {
  uva__loop_t *H, *T;
  uva__xfut_t *hf;
  uva__xcall_t *x;
  int err;

  if (loop == NULL || target == NULL || (fn == NULL && make == NULL))
    return uva__failed(loop != NULL ? uva__loop_find(loop) : NULL, UV_EINVAL);
  if (loop == target && fn != NULL)
    return uva_spawn(loop, fn, arg);
  H = uva__loop_get(loop);
  if (H == NULL)
    return uva__failed(NULL, UV_ENOMEM);
  T = uva__remote_target(H, target);
  if (T == NULL) {
    uva_future_t *f = uva__failed(H, UV_ECONNREFUSED);
    uva__loop_maybe_free(H);
    return f;
  }
  hf = (uva__xfut_t *)uva__future_alloc(H, &xfut_ops, sizeof(*hf));
  x = hf != NULL ? xcall_new(H, T, target, fn, make, arg) : NULL;
  if (x == NULL) {
    if (hf != NULL)
      uva__future_free_mem(&hf->base, sizeof(*hf));
    return uva__failed(H, UV_ENOMEM);
  }
  hf->x = x;
  x->hf = &hf->base;
  err = uva__remote_wait_begin(H);
  if (err == 0) {
    err = uva__remote_post_request(T, &x->request);
    if (err != 0)
      uva__remote_wait_end(H);
  }
  if (err != 0) {
    uva__free(x);
    hf->base.state = UVA__SETTLED; /* never pending: freed as made */
    uva__future_free_mem(&hf->base, sizeof(*hf));
    return uva__failed(H, err);
  }
  return &hf->base;
}

uva_future_t *uva_spawn_on(uv_loop_t *loop, uv_loop_t *target, uva_task_fn fn,
                           void *arg) {
  if (fn == NULL)
    return uva__failed(loop != NULL ? uva__loop_find(loop) : NULL, UV_EINVAL);
  return place(loop, target, fn, NULL, arg);
}

uva_future_t *uva_future_on(uv_loop_t *loop, uv_loop_t *target,
                            uva_make_fn make, void *arg) {
  if (make == NULL)
    return uva__failed(loop != NULL ? uva__loop_find(loop) : NULL, UV_EINVAL);
  if (loop != NULL && loop == target) {
    uva_future_t *f = make(loop, arg);
    return f != NULL ? f : uva__failed(uva__loop_find(loop), UV_ENOMEM);
  }
  return place(loop, target, NULL, make, arg);
}

/* For a thread with no home loop (or one that does not use it): a bridge to
 * target holding a reference to its state, which goes with the bridge
 * (plain_free).  Returns 0, UV_ECONNREFUSED or UV_ENOMEM. */
static int plain_new(uv_loop_t *target, uva_task_fn fn, void *arg,
                     uva__xcall_t **out) {
  uva__loop_t *T = uva__remote_target(NULL, target); /* the registry's lock */

  *out = NULL;
  if (T == NULL)
    return UV_ECONNREFUSED;
  *out = xcall_new(NULL, T, target, fn, NULL, arg);
  if (*out == NULL) {
    uva__remote_target_drop(T);
    return UV_ENOMEM;
  }
  return 0;
}

static void plain_free(uva__xcall_t *x) {
  uva__remote_target_drop(x->target);
  uva__free(x);
}

int uva_spawn_on_detached(uv_loop_t *target, uva_task_fn fn, void *arg) {
  uva__xcall_t *x;
  int err;

  if (target == NULL || fn == NULL)
    return UV_EINVAL;
  if ((err = plain_new(target, fn, arg, &x)) != 0)
    return err;
  err = uva__remote_post_request(x->target, &x->request);
  if (err != 0)
    plain_free(x); /* else target_reply frees it when the task is done */
  return err;
}

int uva_spawn_on_blocking(uv_loop_t *target, uva_task_fn fn, void *arg,
                          uva_result_t *result) {
  uva__xcall_t *x;
  uv_mutex_t mu;
  uv_cond_t cv;
  int err;

  if (result != NULL)
    memset(result, 0, sizeof(*result));
  if (target == NULL || fn == NULL || uva__loop_running() != NULL)
    return UV_EINVAL;
  if ((err = plain_new(target, fn, arg, &x)) != 0)
    return err;
  if (uva__on_loop_thread(x->target)) {
    plain_free(x);
    return UV_EINVAL; /* its own loop's thread would wait for itself */
  }
  if (uv_mutex_init(&mu) != 0) {
    plain_free(x);
    return UV_ENOMEM;
  }
  if (uv_cond_init(&cv) != 0) {
    uv_mutex_destroy(&mu);
    plain_free(x);
    return UV_ENOMEM;
  }
  x->mu = &mu;
  x->cv = &cv;
  err = uva__remote_post_request(x->target, &x->request);
  if (err == 0) {
    uv_mutex_lock(&mu);
    while (!x->done)
      uv_cond_wait(&cv, &mu);
    uv_mutex_unlock(&mu);
    err = x->res.status;
    if (result != NULL && err == 0)
      *result = x->res;
    else
      uva_result_free(&x->res);
  }
  uv_cond_destroy(&cv);
  uv_mutex_destroy(&mu);
  plain_free(x);
  return err;
}
