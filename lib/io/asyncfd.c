/* Readiness of a descriptor another library owns: one uv_poll_t per
 * uva_asyncfd_t, started with the union of what its pending futures wait
 * for (readable, writable) and stopped when none waits.  uva never reads,
 * writes or closes the descriptor. */
#include "internal.h"

typedef struct uva__fdwait_s uva__fdwait_t;

struct uva_asyncfd_s {
  uv_poll_t handle;
  uva__loop_t *L;
  size_t refs; /* the user's, the handle's, one per future */
  int closed;
  int events;  /* what the poll handle is started with, or 0 */
  uva__fdwait_t *waiters; /* pending futures, newest first */
};

struct uva__fdwait_s {
  uva_future_t base;
  uva_asyncfd_t *a;
  uva__fdwait_t *next;
  int events; /* UV_READABLE or UV_WRITABLE */
};

static void afd_unref(uva_asyncfd_t *a) {
  if (--a->refs == 0)
    uva__obj_free(a->L, a, sizeof(*a));
}

static void afd_close_cb(uv_handle_t *h) {
  uva_asyncfd_t *a = uva__container_of(h, uva_asyncfd_t, handle);
  uva__closed(a->L);
  afd_unref(a);
}

static void afd_poll_cb(uv_poll_t *h, int status, int events);

/* The poll handle watches exactly what the pending futures wait for. */
static int afd_update(uva_asyncfd_t *a) {
  uva__fdwait_t *w;
  int want = 0, err = 0;

  if (a->closed)
    return 0;
  for (w = a->waiters; w != NULL; w = w->next)
    want |= w->events;
  if (want & UV_READABLE)
    want |= UV_DISCONNECT;
  if (want == a->events)
    return 0;
  if (want == 0)
    uv_poll_stop(&a->handle);
  else
    err = uv_poll_start(&a->handle, want, afd_poll_cb);
  if (err == 0)
    a->events = want;
  return err;
}

static void waiter_remove(uva_asyncfd_t *a, uva__fdwait_t *w) {
  uva__fdwait_t **pp;
  for (pp = &a->waiters; *pp != NULL; pp = &(*pp)->next)
    if (*pp == w) {
      *pp = w->next;
      w->next = NULL;
      return;
    }
}

/* Settles every waiter whose events are among ready (all of them with an
 * error). */
static void afd_wake(uva_asyncfd_t *a, int status, int ready) {
  uva__fdwait_t **pp = &a->waiters, *w, *done = NULL;

  while ((w = *pp) != NULL) {
    if (status != 0 || (w->events & ready)) {
      *pp = w->next;
      w->next = done;
      done = w;
    } else {
      pp = &w->next;
    }
  }
  afd_update(a); /* before settling: a settle may free a */
  while ((w = done) != NULL) {
    done = w->next;
    w->next = NULL;
    uva__settle_err(&w->base, status);
  }
}

static void afd_poll_cb(uv_poll_t *h, int status, int events) {
  uva_asyncfd_t *a = uva__container_of(h, uva_asyncfd_t, handle);
  uva__loop_t *L = a->L;

  uva__cb_enter(L);
  if (events & UV_DISCONNECT)
    events |= UV_READABLE; /* a hang-up reads as end of file */
  afd_wake(a, status, events);
  uva__cb_leave(L);
}

static void wait_cancel(uva_future_t *f) {
  uva__fdwait_t *w = (uva__fdwait_t *)f;
  waiter_remove(w->a, w);
  afd_update(w->a); /* interest dropped */
  uva__settle_err(f, UV_ECANCELED);
}

static void wait_release(uva_future_t *f) {
  uva_asyncfd_t *a = ((uva__fdwait_t *)f)->a;
  uva__future_free_mem(f, sizeof(uva__fdwait_t));
  afd_unref(a);
}

static const uva__ops_t wait_ops = {
    .name = "asyncfd",
    .cancel = wait_cancel,
    .release = wait_release,
};

static uva_future_t *afd_wait(uva_asyncfd_t *a, int events) {
  uva__fdwait_t *w;
  int err;

  if (a == NULL)
    return uva__failed(NULL, UV_EINVAL);
  if (a->closed)
    return uva__failed(a->L, UV_EBADF);
  w = (uva__fdwait_t *)uva__future_alloc(a->L, &wait_ops, sizeof(*w));
  if (w == NULL)
    return uva__failed(a->L, UV_ENOMEM);
  w->a = a;
  w->events = events;
  w->next = a->waiters;
  a->waiters = w;
  a->refs++;
  err = afd_update(a);
  if (err != 0) {
    waiter_remove(a, w);
    uva__settle_err(&w->base, err);
  }
  return &w->base;
}

int uva_asyncfd_new(uv_loop_t *loop, int fd, uva_asyncfd_t **out) {
  uva__loop_t *L;
  uva_asyncfd_t *a;
  int err;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL)
    return UV_EINVAL;
  if (fd < 0)
    return UV_EBADF;
  if ((L = uva__loop_get(loop)) == NULL)
    return UV_ENOMEM;
  a = uva__obj_alloc(L, sizeof(*a));
  if (a == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  memset(a, 0, sizeof(*a));
  a->L = L;
  err = uv_poll_init(loop, &a->handle, fd);
  if (err != 0) {
    uva__obj_free(L, a, sizeof(*a));
    return err;
  }
  a->refs = 2; /* the user's and the handle's */
  *out = a;
  return 0;
}

uva_future_t *uva_asyncfd_readable(uva_asyncfd_t *a) {
  return afd_wait(a, UV_READABLE);
}

uva_future_t *uva_asyncfd_writable(uva_asyncfd_t *a) {
  return afd_wait(a, UV_WRITABLE);
}

void uva_asyncfd_free(uva_asyncfd_t *a) {
  uva__fdwait_t *w;

  if (a == NULL || a->closed)
    return;
  a->closed = 1;
  uva__close(a->L, (uv_handle_t *)&a->handle, afd_close_cb);
  while ((w = a->waiters) != NULL) {
    a->waiters = w->next;
    w->next = NULL;
    uva__settle_err(&w->base, UV_ECANCELED);
  }
  afd_unref(a);
}
