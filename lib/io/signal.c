/* Signals: uva_signal (the next delivery, one uv_signal_t started
 * one-shot) and listeners (a uv_signal_t that counts deliveries).  A handler
 * exists only while a future or listener does.  libuv puts SIG_DFL back
 * when the last of its handles for a signal stops; uva then puts back what
 * the program had installed before (SIG_IGN or its own handler), if that was
 * not libuv's. */
#include "internal.h"

#include <signal.h>
#include <stdlib.h>

/* What each signal's disposition was before uva's first handle for it
 * started, and what libuv installed then: dispositions are a process's, so
 * this table is too (every loop of every thread shares it, under lock).
 * users counts uva's handles of the signal that are started. */
static struct {
  struct sigaction before;
  void (*libuv_handler)(int);
  int saved;
  unsigned users;
} sig_table[NSIG];
static uv_once_t sig_once = UV_ONCE_INIT;
static uv_mutex_t sig_lock;

static void sig_lock_init(void) {
  if (uv_mutex_init(&sig_lock) != 0)
    abort();
}

/* Before uv_signal_start: takes the lock, which sig_started gives back. */
static void sig_save(int signum) {
  uv_once(&sig_once, sig_lock_init);
  uv_mutex_lock(&sig_lock);
  if (sig_table[signum].users == 0) {
    sig_table[signum].saved =
        sigaction(signum, NULL, &sig_table[signum].before) == 0;
    sig_table[signum].libuv_handler = NULL;
  }
}

/* After uv_signal_start (err its result). */
static void sig_started(int signum, int err) {
  struct sigaction now;
  if (err == 0 && sig_table[signum].users++ == 0 &&
      sigaction(signum, NULL, &now) == 0)
    sig_table[signum].libuv_handler = now.sa_handler;
  uv_mutex_unlock(&sig_lock);
}

/* After the handle stopped (uv_close): once uva's last handle of signum is
 * gone, if libuv left SIG_DFL and the program had something else of its own
 * before, that comes back. */
static void sig_restore(int signum) {
  struct sigaction now;
  uv_mutex_lock(&sig_lock);
  if (--sig_table[signum].users == 0 && sig_table[signum].saved &&
      sigaction(signum, NULL, &now) == 0 && now.sa_handler == SIG_DFL &&
      !(now.sa_flags & SA_SIGINFO) &&
      (sig_table[signum].before.sa_handler != SIG_DFL ||
       (sig_table[signum].before.sa_flags & SA_SIGINFO)) &&
      sig_table[signum].before.sa_handler != sig_table[signum].libuv_handler)
    sigaction(signum, &sig_table[signum].before, NULL);
  uv_mutex_unlock(&sig_lock);
}

/* ---- uva_signal: the next delivery -------------------------------------- */

typedef struct {
  uva_future_t base;
  uv_signal_t handle;
} uva__sigonce_t;

static void once_close_cb(uv_handle_t *h) {
  uva__sigonce_t *s = uva__container_of(h, uva__sigonce_t, handle);
  uva__closed(s->base.L);
  uva__future_unhold(&s->base, sizeof(*s));
}

static void once_stop(uva__sigonce_t *s) {
  int signum = s->handle.signum;
  uva__close(s->base.L, (uv_handle_t *)&s->handle, once_close_cb);
  sig_restore(signum); /* uv_close stopped it */
}

static void once_cb(uv_signal_t *h, int signum) {
  uva__sigonce_t *s = uva__container_of(h, uva__sigonce_t, handle);
  uva__loop_t *L = s->base.L;
  uva_value_t v;

  uva__cb_enter(L);
  once_stop(s);
  v.i64 = signum;
  uva__settle(&s->base, 0, v, NULL);
  uva__cb_leave(L);
}

static void once_cancel(uva_future_t *f) {
  once_stop((uva__sigonce_t *)f);
  uva__settle_err(f, UV_ECANCELED);
}

static void once_release(uva_future_t *f) {
  uva__future_release_held(f, sizeof(uva__sigonce_t));
}

static const uva__ops_t once_ops = {
    .name = "signal",
    .cancel = once_cancel,
    .release = once_release,
};

static int signum_ok(int signum) {
  return signum > 0 && signum < NSIG && signum != SIGKILL &&
         signum != SIGSTOP;
}

uva_future_t *uva_signal(uv_loop_t *loop, int signum) {
  uva__loop_t *L = uva__loop_get(loop);
  uva__sigonce_t *s;
  uva_future_t *failed;
  int err;

  if (loop == NULL || !signum_ok(signum))
    return uva__failed(L, UV_EINVAL);
  if (L == NULL)
    return uva__failed(NULL, UV_ENOMEM);
  s = (uva__sigonce_t *)uva__future_alloc(L, &once_ops, sizeof(*s));
  if (s == NULL)
    return uva__failed(L, UV_ENOMEM);
  err = uv_signal_init(loop, &s->handle);
  if (err == 0) {
    sig_save(signum);
    err = uv_signal_start_oneshot(&s->handle, once_cb, signum);
    sig_started(signum, err);
    if (err != 0) {
      /* the handle exists: it goes through its close callback */
      s->base.flags |= UVA__F_HELD;
      uva__close(L, (uv_handle_t *)&s->handle, once_close_cb);
      uva__settle_err(&s->base, err);
      return &s->base;
    }
  }
  if (err != 0) {
    failed = uva__failed(L, err);
    uva__future_free_mem(&s->base, sizeof(*s));
    return failed;
  }
  s->base.flags |= UVA__F_HELD;
  return &s->base;
}

/* ---- listeners ---------------------------------------------------------- */

typedef struct uva__signext_s uva__signext_t;

struct uva_signal_s {
  uv_signal_t handle;
  uva__loop_t *L;
  size_t refs;    /* the user's, the handle's, one per next future */
  int closed;
  int signum;
  uint64_t count; /* deliveries nobody has taken */
  uva__signext_t *waiter;
};

struct uva__signext_s {
  uva_future_t base;
  uva_signal_t *sig;
};

static void sig_unref(uva_signal_t *sig) {
  if (--sig->refs == 0)
    uva__obj_free(sig->L, sig, sizeof(*sig));
}

static void sig_close_cb(uv_handle_t *h) {
  uva_signal_t *sig = uva__container_of(h, uva_signal_t, handle);
  uva__closed(sig->L);
  sig_unref(sig);
}

/* The handle counts for uv_run only while a next waits. */
static void sig_update(uva_signal_t *sig) {
  if (sig->closed)
    return;
  if (sig->waiter != NULL)
    uv_ref((uv_handle_t *)&sig->handle);
  else
    uv_unref((uv_handle_t *)&sig->handle);
}

static void next_give(uva__signext_t *n, uint64_t count) {
  uva_value_t v;
  v.u64 = count;
  uva__settle(&n->base, 0, v, NULL);
}

static void listen_cb(uv_signal_t *h, int signum) {
  uva_signal_t *sig = uva__container_of(h, uva_signal_t, handle);
  uva__loop_t *L = sig->L;
  uva__signext_t *n = sig->waiter;

  (void)signum;
  uva__cb_enter(L);
  sig->count++;
  if (n != NULL) {
    sig->waiter = NULL;
    sig_update(sig);
    next_give(n, sig->count);
    sig->count = 0;
  }
  uva__cb_leave(L);
}

static void next_start(uva_future_t *f) {
  uva__signext_t *n = (uva__signext_t *)f;
  uva_signal_t *sig = n->sig;
  uint64_t c;

  if (sig->closed) {
    uva__settle_err(f, UV_ECANCELED);
  } else if (sig->count > 0) {
    c = sig->count;
    sig->count = 0;
    next_give(n, c);
  } else if (sig->waiter != NULL) {
    uva__settle_err(f, UV_EBUSY); /* one next at a time */
  } else {
    sig->waiter = n;
    sig_update(sig);
  }
}

static void next_cancel(uva_future_t *f) {
  uva__signext_t *n = (uva__signext_t *)f;
  if (n->sig->waiter == n) {
    n->sig->waiter = NULL;
    sig_update(n->sig);
  }
  uva__settle_err(f, UV_ECANCELED);
}

/* Destroyed untaken: its deliveries count again. */
static void next_undo(uva_future_t *f) {
  uva__signext_t *n = (uva__signext_t *)f;
  uva_signal_t *sig = n->sig;

  if (f->status != 0 || sig->closed)
    return;
  if (sig->waiter != NULL) {
    uva__signext_t *w = sig->waiter;
    sig->waiter = NULL;
    sig_update(sig);
    next_give(w, f->value.u64);
  } else {
    sig->count += f->value.u64;
  }
}

static void next_release(uva_future_t *f) {
  uva_signal_t *sig = ((uva__signext_t *)f)->sig;
  uva__future_free_mem(f, sizeof(uva__signext_t));
  sig_unref(sig);
}

static const uva__ops_t next_ops = {
    .name = "signal_next",
    .cancel = next_cancel,
    .release = next_release,
    .start = next_start,
    .undo = next_undo,
};

int uva_signal_listen(uv_loop_t *loop, int signum, uva_signal_t **out) {
  uva__loop_t *L;
  uva_signal_t *sig;
  int err;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || !signum_ok(signum))
    return UV_EINVAL;
  if ((L = uva__loop_get(loop)) == NULL)
    return UV_ENOMEM;
  sig = uva__obj_alloc(L, sizeof(*sig));
  if (sig == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  memset(sig, 0, sizeof(*sig));
  sig->L = L;
  sig->signum = signum;
  err = uv_signal_init(loop, &sig->handle);
  if (err != 0) {
    uva__obj_free(L, sig, sizeof(*sig));
    return err;
  }
  sig->refs = 2; /* the user's and the handle's */
  sig_save(signum);
  err = uv_signal_start(&sig->handle, listen_cb, signum);
  sig_started(signum, err);
  if (err != 0) {
    sig->closed = 1;
    uva__close(L, (uv_handle_t *)&sig->handle, sig_close_cb);
    sig_unref(sig);
    return err;
  }
  sig_update(sig);
  *out = sig;
  return 0;
}

uva_future_t *uva_signal_next(uva_signal_t *sig) {
  uva__signext_t *n;

  if (sig == NULL)
    return uva__failed(NULL, UV_EINVAL);
  if (sig->closed)
    return uva__failed(sig->L, UV_EBADF);
  n = (uva__signext_t *)uva__future_alloc(sig->L, &next_ops, sizeof(*n));
  if (n == NULL)
    return uva__failed(sig->L, UV_ENOMEM);
  n->base.flags |= UVA__F_LAZY;
  n->sig = sig;
  sig->refs++;
  return &n->base;
}

void uva_signal_free(uva_signal_t *sig) {
  uva__signext_t *n;

  if (sig == NULL || sig->closed)
    return;
  sig->closed = 1;
  n = sig->waiter;
  sig->waiter = NULL;
  uva__close(sig->L, (uv_handle_t *)&sig->handle, sig_close_cb);
  sig_restore(sig->signum);
  if (n != NULL)
    uva__settle_err(&n->base, UV_ECANCELED);
  sig_unref(sig);
}
