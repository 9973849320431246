/* Streams: the life cycle of a uva_stream_t over a uv_stream_t (TCP, pipe,
 * TTY).  A stream either owns its handle (embedded, found from libuv's
 * callbacks with container_of) or has adopted the program's handle (found
 * through a per-loop map from handle address to stream, since uva never
 * uses the data field of a handle it did not create).  Reading is in
 * stream-read.c, writing in stream-write.c, TCP and pipes in tcp.c and
 * pipe.c. */
#include "stream-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

/* ---- SIGPIPE ------------------------------------------------------------ */

/* libuv writes with write(2)/writev(2), which raise SIGPIPE on a socket or
 * pipe whose peer has gone.  As Node does, uva sets SIGPIPE to SIG_IGN once,
 * when the first stream is made, if it still has its default action; a
 * program that installed a handler (or ignores it already) is left alone.
 * Writes then fail with UV_EPIPE. */
static uv_once_t sigpipe_once = UV_ONCE_INIT;

static void sigpipe_init(void) {
  struct sigaction sa;

  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
      !(sa.sa_flags & SA_SIGINFO)) {
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
  }
}

void uva__stream_sigpipe(void) { uv_once(&sigpipe_once, sigpipe_init); }

/* ---- the per-loop map: adopted handle -> stream ------------------------- */

static size_t map_slot(const uva__streams_t *S, const void *h) {
  uintptr_t x = (uintptr_t)h >> 3;
  return (size_t)(x * 0x9E3779B97F4A7C15ull) & (S->map_cap - 1);
}

static uva_stream_t *map_get(const uva__streams_t *S, const uv_stream_t *h) {
  size_t i;

  if (S == NULL || S->map_used == 0)
    return NULL;
  for (i = map_slot(S, h); S->map[i] != NULL; i = (i + 1) & (S->map_cap - 1))
    if (S->map[i]->h == h)
      return S->map[i];
  return NULL;
}

static void map_insert(uva__streams_t *S, uva_stream_t *s) {
  size_t i = map_slot(S, s->h);

  while (S->map[i] != NULL)
    i = (i + 1) & (S->map_cap - 1);
  S->map[i] = s;
  S->map_used++;
}

static int map_put(uva__streams_t *S, uva_stream_t *s) {
  if ((S->map_used + 1) * 2 > S->map_cap) {
    size_t i, old_cap = S->map_cap, cap = old_cap ? old_cap * 2 : 16;
    uva_stream_t **old = S->map, **m = uva__calloc(cap, sizeof(*m));
    if (m == NULL)
      return UV_ENOMEM;
    S->map = m;
    S->map_cap = cap;
    S->map_used = 0;
    for (i = 0; i < old_cap; i++)
      if (old[i] != NULL)
        map_insert(S, old[i]);
    uva__free(old);
  }
  map_insert(S, s);
  return 0;
}

/* Linear probing: deletion shifts the entries after the hole back. */
static void map_del(uva__streams_t *S, uva_stream_t *s) {
  size_t mask = S->map_cap - 1, i, j, k;

  if (S->map_used == 0)
    return;
  for (i = map_slot(S, s->h); S->map[i] != s; i = (i + 1) & mask)
    if (S->map[i] == NULL)
      return;
  S->map[i] = NULL;
  S->map_used--;
  for (j = (i + 1) & mask; S->map[j] != NULL; j = (j + 1) & mask) {
    k = map_slot(S, S->map[j]->h);
    /* the entry at j stays unless its home slot k lies cyclically in
     * (i, j] */
    if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
      S->map[i] = S->map[j];
      S->map[j] = NULL;
      i = j;
    }
  }
}

/* ---- internal API ------------------------------------------------------- */

uva_stream_t *uva__stream_of(uv_stream_t *h) {
  uva__loop_t *L = uva__loop_get(h->loop);
  uva_stream_t *s = L != NULL ? map_get(L->streams, h) : NULL;

  return s != NULL ? s : uva__container_of(h, uva_stream_t, u.stream);
}

uva_stream_t *uva__stream_alloc(uva__loop_t *L) {
  uva__streams_t *S = L->streams;
  uva_stream_t *s;

  if (S == NULL) {
    S = uva__calloc(1, sizeof(*S));
    if (S == NULL)
      return NULL;
    L->streams = S;
  }
  s = uva__obj_alloc(L, sizeof(*s));
  if (s == NULL) {
    if (S->n == 0) {
      L->streams = NULL;
      uva__free(S);
    }
    return NULL;
  }
  memset(s, 0, sizeof(*s));
  s->L = L;
  s->magic = UVA__STREAM_MAGIC;
  s->refs = 1;
  s->high = UVA__IN_HIGH;
  s->low = UVA__IN_LOW;
  s->whigh = UVA__OUT_HIGH;
  S->n++;
  uva__stream_sigpipe();
  return s;
}

static void stream_free_mem(uva_stream_t *s) {
  uva__loop_t *L = s->L;
  uva__streams_t *S = L->streams;

  s->magic = 0;
  if (--S->n == 0) {
    int c;
    L->streams = NULL;
    uva__free(S->map);
    uva__free(S->scratch);
    for (c = 0; c < UVA__WCLASSES; c++)
      while (S->wcache[c] != NULL) {
        void *p = S->wcache[c];
        S->wcache[c] = *(void **)p;
        uva__free(p);
      }
    uva__free(S);
  }
  uva__obj_free(L, s, sizeof(*s)); /* may free L */
}

void uva__stream_discard(uva_stream_t *s) { stream_free_mem(s); }

void uva__stream_owned(uva_stream_t *s) {
  s->h = &s->u.stream;
  s->refs++; /* the open handle: dropped in the close callback */
  uv_unref(&s->u.handle);
}

void uva__stream_unref(uva_stream_t *s) {
  if (--s->refs == 0)
    stream_free_mem(s);
}

void uva__stream_busy(uva_stream_t *s, int delta) {
  s->busy += (size_t)(ptrdiff_t)delta;
  if (s->flags & (UVA__S_DETACHED | UVA__S_CLOSING))
    return;
  if (s->busy > 0 && !(s->flags & UVA__S_REFD)) {
    s->flags |= UVA__S_REFD;
    uv_ref((uv_handle_t *)s->h);
  } else if (s->busy == 0 && (s->flags & UVA__S_REFD)) {
    s->flags &= ~UVA__S_REFD;
    uv_unref((uv_handle_t *)s->h);
  }
}

int uva__stream_check(const uva_stream_t *s) {
  if (s == NULL || s->magic != UVA__STREAM_MAGIC)
    return UV_EINVAL;
  if ((s->flags & (UVA__S_FREED | UVA__S_CLOSING)) ||
      uv_is_closing((const uv_handle_t *)s->h))
    return UV_EBADF;
  return 0;
}

/* uva_stream_close's future settles from the close callback, so libuv holds
 * it until then.  Cancelling it settles it at once; the close goes on. */
static void close_release(uva_future_t *f) {
  uva__future_release_held(f, sizeof(*f));
}

static const uva__ops_t close_ops = {
    .name = "stream_close",
    .release = close_release,
};

/* Settles the close future, if any. */
static void stream_closed(uva_stream_t *s) {
  uva_future_t *f = s->close_f;

  s->close_f = NULL;
  if (f != NULL) {
    if (f->state == UVA__PENDING)
      uva__settle_err(f, 0);
    uva__future_unhold(f, sizeof(*f));
  }
}

void uva__stream_close_cb(uv_handle_t *h) {
  uva_stream_t *s = uva__container_of(h, uva_stream_t, u.handle);
  uva__loop_t *L = s->L;

  uva__closed(L);
  uva__cb_enter(L);
  stream_closed(s);
  uva__stream_unref(s); /* the handle's reference; may free L's state */
  uva__cb_leave(L);
}

/* An adopted handle that uva_stream_close closed. */
static void adopted_close_cb(uv_handle_t *h) {
  uva__loop_t *L = uva__loop_get(h->loop);
  uva_stream_t *s = map_get(L->streams, (uv_stream_t *)h);

  uva__closed(L);
  uva__cb_enter(L);
  map_del(L->streams, s);
  s->flags |= UVA__S_DETACHED;
  stream_closed(s);
  uva__stream_unref(s);
  uva__cb_leave(L);
}

/* The handle goes back to the program: not reading, its ref state as it was
 * when uva adopted it, out of the map. */
static void detach(uva_stream_t *s) {
  uv_read_stop(s->h);
  s->flags &= ~(UVA__S_READING | UVA__S_RSTARTED);
  if (s->had_ref)
    uv_ref((uv_handle_t *)s->h);
  else
    uv_unref((uv_handle_t *)s->h);
  map_del(s->L->streams, s);
  s->flags |= UVA__S_DETACHED;
}

/* What free, close and release share: everything pending settles with
 * UV_ECANCELED and the input is dropped. */
static void cancel_all(uva_stream_t *s) {
  s->flags |= UVA__S_FREED;
  uva__stream_read_shutdown(s, UV_ECANCELED);
  uva__stream_accept_shutdown(s, UV_ECANCELED);
  uva__stream_write_shutdown(s, UV_ECANCELED);
}

/* ---- the child-process hook -------------------------------------------- */

uva_stream_t *uva__stream_new_pipe(uva__loop_t *L, uv_pipe_t **pipe) {
  uva_stream_t *s = L != NULL ? uva__stream_alloc(L) : NULL;

  if (s == NULL)
    return NULL;
  uv_pipe_init(L->loop, &s->u.pipe, 0); /* cannot fail on Unix */
  uva__stream_owned(s);
  *pipe = &s->u.pipe;
  return s;
}

/* ---- public API --------------------------------------------------------- */

int uva_stream_open(uv_loop_t *loop, uv_file fd, uva_stream_t **out) {
  uva__loop_t *L;
  uva_stream_t *s;
  uv_handle_type type;
  int err, own = fd, dup_fd = -1;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL)
    return UV_EINVAL;
  if (fd < 0 || fcntl(fd, F_GETFD) < 0)
    return UV_EBADF;
  type = uv_guess_handle(fd);
  if (type != UV_TTY && type != UV_NAMED_PIPE && type != UV_TCP)
    return UV_EINVAL;
  if ((L = uva__loop_get(loop)) == NULL)
    return UV_ENOMEM;
  if ((s = uva__stream_alloc(L)) == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  if (fd <= 2) {
    /* the standard descriptors stay open: the stream owns a duplicate */
    dup_fd = own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (own < 0) {
      err = uv_translate_sys_error(errno);
      uva__stream_discard(s);
      return err;
    }
  }
  if (type == UV_TTY) {
    err = uv_tty_init(loop, &s->u.tty, own, 0);
    if (err != 0) {
      if (dup_fd >= 0)
        close(dup_fd);
      uva__stream_discard(s);
      return err;
    }
  } else {
    if (type == UV_TCP) {
      uv_tcp_init(loop, &s->u.tcp);
      err = uv_tcp_open(&s->u.tcp, own);
    } else {
      uv_pipe_init(loop, &s->u.pipe, 0);
      err = uv_pipe_open(&s->u.pipe, own);
    }
    if (err != 0) {
      if (dup_fd >= 0)
        close(dup_fd);
      uva__stream_owned(s);
      uva_stream_free(s);
      return err;
    }
  }
  uva__stream_owned(s);
  *out = s;
  return 0;
}

int uva_stream_adopt(uv_stream_t *h, uva_stream_t **out) {
  uva__loop_t *L;
  uva_stream_t *s;

  if (out != NULL)
    *out = NULL;
  if (h == NULL || out == NULL || h->loop == NULL)
    return UV_EINVAL;
  if (h->type != UV_TCP && h->type != UV_NAMED_PIPE && h->type != UV_TTY)
    return UV_EINVAL;
  if (uv_is_closing((uv_handle_t *)h))
    return UV_EBADF;
  if (h->connection_cb != NULL)
    return UV_EINVAL; /* a listener: only connected streams are adopted */
  if ((L = uva__loop_get(h->loop)) == NULL)
    return UV_ENOMEM;
  if (map_get(L->streams, h) != NULL)
    return UV_EBUSY;
  if ((s = uva__stream_alloc(L)) == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  s->h = h;
  s->flags |= UVA__S_ADOPTED;
  if (map_put(L->streams, s) != 0) {
    uva__stream_discard(s);
    return UV_ENOMEM;
  }
  uv_read_stop(h);
  s->had_ref = uv_has_ref((uv_handle_t *)h);
  uv_unref((uv_handle_t *)h);
  *out = s;
  return 0;
}

/* What release and export check before a stream's connection leaves uva:
 * s is a live stream, adopted or not as the caller wants (and not a
 * listener), and no byte uva took from the socket was lost. */
static int handoff_check(const uva_stream_t *s, int adopted) {
  int err = uva__stream_check(s);

  if (err != 0)
    return err;
  if (!(s->flags & UVA__S_ADOPTED) != !adopted ||
      (s->flags & UVA__S_LISTENER))
    return UV_EINVAL;
  if (s->read_err == UV_ENOMEM)
    return UV_ENOMEM; /* bytes were lost: the rest would be wrong */
  return 0;
}

int uva_stream_release(uva_stream_t *s, uv_stream_t **h, uva_buf_t **rest) {
  int err = handoff_check(s, 1);

  if (h != NULL)
    *h = NULL;
  if (rest != NULL)
    *rest = NULL;
  if (h == NULL && (err == 0 || err == UV_ENOMEM))
    err = UV_EINVAL;
  if (err != 0)
    return err;
  /* Stop reading first, so that every byte uva has not buffered stays in the
   * kernel for the program. */
  uv_read_stop(s->h);
  s->flags &= ~UVA__S_READING;
  err = uva__stream_take_input(s, rest);
  if (err != 0) {
    uva__stream_read_update(s);
    return err; /* still adopted, nothing lost */
  }
  *h = s->h;
  cancel_all(s);
  detach(s);
  uva__stream_unref(s);
  return 0;
}

int uva_stream_export(uva_stream_t *s, uv_file *fd) {
  uv_os_fd_t own;
  int err, dup_fd;

  if (fd != NULL)
    *fd = -1;
  err = handoff_check(s, 0);
  if (err == 0 && (fd == NULL || s->h->type == UV_TTY))
    err = UV_EINVAL;
  if (err != 0)
    return err;
  /* Nothing may be lost: no unread bytes in uva's buffer, no read, write
   * or shutdown waiting or in libuv's hands (busy counts them all, also a
   * cancelled write libuv still holds). */
  if (s->in_bytes != 0 || s->busy != 0 || s->rd_head != NULL ||
      s->wq_head != NULL || s->h->write_queue_size != 0)
    return UV_EBUSY;
  /* A read failed (UV_ECONNRESET): the kernel has reported it once and
   * would not again, so the other loop would take the reset for an end. */
  if (s->read_err != 0 && s->read_err != UV_EOF)
    return s->read_err;
  err = uv_fileno((uv_handle_t *)s->h, &own);
  if (err != 0)
    return err;
  dup_fd = fcntl(own, F_DUPFD_CLOEXEC, 3);
  if (dup_fd < 0)
    return uv_translate_sys_error(errno); /* s is untouched */
  /* No read callback can run before the close: a read-ahead that was
   * active stops here, and every byte uva has not taken stays in the
   * kernel, behind the duplicate.  uv_close removes the socket from this
   * loop's epoll set and closes s's descriptor at once. */
  uva_stream_free(s);
  *fd = dup_fd;
  return 0;
}

uva_future_t *uva_stream_close(uva_stream_t *s) {
  uva_future_t *f;
  int err = uva__stream_check(s);

  if (err != 0)
    return uva__failed(s != NULL && err != UV_EINVAL ? s->L : NULL, err);
  f = uva__future_alloc(s->L, &close_ops, sizeof(*f));
  if (f == NULL)
    return uva__failed(s->L, UV_ENOMEM); /* s stays open */
  /* It settles from the close callback: held until then. */
  f->flags |= UVA__F_HELD;
  s->close_f = f;
  cancel_all(s);
  s->flags |= UVA__S_CLOSING;
  if (s->flags & UVA__S_ADOPTED) {
    s->refs++; /* dropped by adopted_close_cb */
    uva__close(s->L, (uv_handle_t *)s->h, adopted_close_cb);
  } else {
    uva__close(s->L, &s->u.handle, uva__stream_close_cb);
  }
  uva__stream_unref(s); /* the user's reference */
  return f;
}

void uva_stream_free(void *p) {
  uva_stream_t *s = p;

  if (s == NULL || s->magic != UVA__STREAM_MAGIC ||
      (s->flags & UVA__S_FREED))
    return;
  cancel_all(s);
  if (s->flags & UVA__S_ADOPTED) {
    if (!(s->flags & UVA__S_DETACHED))
      detach(s);
  } else if (!(s->flags & UVA__S_CLOSING)) {
    s->flags |= UVA__S_CLOSING;
    uva__close(s->L, &s->u.handle, uva__stream_close_cb);
  }
  uva__stream_unref(s);
}
