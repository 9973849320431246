/* Stream output: write (copied), write_bufs (the caller's buffers) and
 * shutdown, one future each.  They are lazy: nothing is written until the
 * future has a consumer.  A started write goes out at once with
 * uv_try_write when libuv has nothing queued (the future settles then, with
 * no request), else with uv_write; while libuv's write queue is above the
 * stream's high-water mark, started writes and shutdowns wait in order in
 * uva's queue, and go to libuv as it drains. */
#include "stream-internal.h"

#define F_WAITING (UVA__F_KIND0 << 0)  /* in the stream's wait queue */
#define F_SHUTDOWN (UVA__F_KIND0 << 1) /* a shutdown, not a write */
#define F_DONE (UVA__F_KIND0 << 2)     /* done callback called (or none) */
#define F_WCACHE (UVA__F_KIND0 << 3)   /* memory from the streams' cache */

struct uva__wr_s {
  uva_future_t base;
  uva_stream_t *s;
  uva__wr_t *next;
  union {
    uv_write_t w;
    uv_shutdown_t sd;
  } req;
  uv_buf_t *bufs; /* what is left to write (bufs[0] may be advanced) */
  unsigned nbufs;
  size_t len;  /* bytes in all, the value on success */
  size_t size; /* bytes allocated, or the cache class (F_WCACHE) */
  uva_free_cb done;
  void *done_arg;
  /* uv_buf_t bufs[nbufs], then for uva_stream_write the bytes */
};

/* write_bufs' done callback: once, when libuv no longer uses the buffers. */
static void wr_done(uva__wr_t *w) {
  if (!(w->base.flags & F_DONE)) {
    w->base.flags |= F_DONE;
    if (w->done != NULL)
      w->done(w->done_arg);
  }
}

static void wr_settle(uva__wr_t *w, int status) {
  uva_value_t v;

  v.u64 = status == 0 ? w->len : 0;
  if (w->base.state == UVA__PENDING)
    uva__settle(&w->base, status, v, NULL);
}

static void wq_pump(uva_stream_t *s);
static const uva__ops_t wr_ops;

/* ---- memory: slab objects up to 512 bytes; larger writes (a 16 KiB
 * message) reuse blocks the loop's streams keep per size class, so that
 * steady-state writing calls no allocator either. */

static int wclass(size_t size) {
  size_t cap = 1024;
  int c = 0;

  if (!UVA__CACHING || size <= 512)
    return -1;
  while (cap < size && c < UVA__WCLASSES) {
    cap *= 2;
    c++;
  }
  return c < UVA__WCLASSES ? c : -1;
}

static uva__wr_t *wr_mem_alloc(uva_stream_t *s, size_t size) {
  uva__loop_t *L = s->L;
  uva__streams_t *S = L->streams;
  int c = wclass(size);
  uva_future_t *f;

  if (c < 0) {
    f = uva__future_alloc(L, &wr_ops, size);
    if (f != NULL)
      ((uva__wr_t *)f)->size = size;
    return (uva__wr_t *)f;
  }
  if ((f = S->wcache[c]) != NULL) {
    S->wcache[c] = *(void **)f;
    S->wcount[c]--;
  } else if ((f = uva__malloc((size_t)1024 << c)) == NULL) {
    return NULL;
  }
  L->objects++; /* as a slab object counts */
  uva__stat_future_made(L); /* issue 10 */
  memset(f, 0, sizeof(*f));
  f->L = L;
  f->ops = &wr_ops;
  f->flags = F_WCACHE;
  ((uva__wr_t *)f)->size = (size_t)c;
  return (uva__wr_t *)f;
}

/* Frees w's memory (the caller holds a reference on the stream, so this is
 * never the loop's last object). */
static void wr_mem_free(uva__wr_t *w) {
  uva__loop_t *L = w->base.L;
  uva__streams_t *S = L->streams;

  if (!(w->base.flags & F_WCACHE)) {
    uva__future_free_mem(&w->base, w->size);
    return;
  }
  L->objects--;
  uva__stat_future_freed(&w->base); /* issue 10 */
  if (S->wcount[w->size] < UVA__WCACHE) {
    *(void **)w = S->wcache[w->size];
    S->wcache[w->size] = w;
    S->wcount[w->size]++;
  } else {
    uva__free(w);
  }
}

/* libuv is done with a write or shutdown request. */
static void req_done(uva__wr_t *w, int status) {
  uva_stream_t *s = w->s;
  uva__loop_t *L = s->L;

  uva__cb_enter(L);
  s->refs++;
  uva__stream_busy(s, -1);
  wr_done(w);
  wr_settle(w, status);
  w->base.flags &= ~UVA__F_HELD;
  if (w->base.flags & UVA__F_RELEASED) {
    wr_mem_free(w);
    uva__stream_unref(s); /* the future's reference */
  }
  wq_pump(s);
  uva__stream_unref(s);
  uva__cb_leave(L);
}

static void write_cb(uv_write_t *req, int status) {
  req_done(uva__container_of(req, uva__wr_t, req.w), status);
}

static void shutdown_cb(uv_shutdown_t *req, int status) {
  req_done(uva__container_of(req, uva__wr_t, req.sd), status);
}

/* Hands w to libuv (the caller has counted it busy). */
static void submit(uva__wr_t *w) {
  uva_stream_t *s = w->s;
  int err;

  if (w->base.flags & F_SHUTDOWN) {
    err = uv_shutdown(&w->req.sd, s->h, shutdown_cb);
  } else {
    if (s->h->write_queue_size == 0) {
      int n = uv_try_write(s->h, w->bufs, w->nbufs);
      if (n >= 0) {
        size_t k = (size_t)n;
        while (w->nbufs > 0 && k >= w->bufs[0].len) {
          k -= w->bufs[0].len;
          w->bufs++;
          w->nbufs--;
        }
        if (w->nbufs == 0) { /* all written, no request */
          uva__stream_busy(s, -1);
          wr_done(w);
          wr_settle(w, 0);
          return;
        }
        w->bufs[0].base += k;
        w->bufs[0].len -= k;
      } else if (n != UV_EAGAIN && n != UV_ENOSYS) {
        uva__stream_busy(s, -1);
        wr_done(w);
        wr_settle(w, n);
        return;
      }
    }
    err = uv_write(&w->req.w, s->h, w->bufs, w->nbufs, write_cb);
  }
  if (err != 0) {
    uva__stream_busy(s, -1);
    wr_done(w);
    wr_settle(w, err);
    return;
  }
  w->base.flags |= UVA__F_HELD;
}

static int has_room(const uva_stream_t *s) {
  return s->h->write_queue_size <= s->whigh;
}

/* Submits waiting writes while libuv's queue has room. */
static void wq_pump(uva_stream_t *s) {
  while (s->wq_head != NULL &&
         !(s->flags & (UVA__S_FREED | UVA__S_CLOSING)) &&
         (has_room(s) || (s->wq_head->base.flags & F_SHUTDOWN))) {
    uva__wr_t *w = s->wq_head;
    s->wq_head = w->next;
    if (s->wq_head == NULL)
      s->wq_tail = NULL;
    w->next = NULL;
    w->base.flags &= ~F_WAITING;
    submit(w);
  }
}

static void wr_start(uva_future_t *f) {
  uva__wr_t *w = (uva__wr_t *)f;
  uva_stream_t *s = w->s;

  if (s->flags & (UVA__S_FREED | UVA__S_CLOSING | UVA__S_DETACHED)) {
    wr_done(w);
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  uva__stream_busy(s, 1);
  if (s->wq_head == NULL &&
      (has_room(s) || (f->flags & F_SHUTDOWN))) {
    submit(w);
    return;
  }
  f->flags |= F_WAITING;
  if (s->wq_tail != NULL)
    s->wq_tail->next = w;
  else
    s->wq_head = w;
  s->wq_tail = w;
}

/* A waiting write leaves the queue and has no effect.  One libuv has
 * started cannot be recalled: it settles now with UV_ECANCELED and libuv
 * writes it anyway (done is called when libuv lets go of it). */
static void wr_cancel(uva_future_t *f) {
  uva__wr_t *w = (uva__wr_t *)f;
  uva_stream_t *s = w->s;

  if (f->flags & F_WAITING) {
    uva__wr_t **pp;
    for (pp = &s->wq_head; *pp != w; pp = &(*pp)->next)
      ;
    *pp = w->next;
    if (s->wq_tail == w) {
      uva__wr_t *t = s->wq_head;
      while (t != NULL && t->next != NULL)
        t = t->next;
      s->wq_tail = t;
    }
    w->next = NULL;
    f->flags &= ~F_WAITING;
    uva__stream_busy(s, -1);
    wr_done(w);
  }
  uva__settle_err(f, UV_ECANCELED);
}

static void wr_release(uva_future_t *f) {
  uva__wr_t *w = (uva__wr_t *)f;
  uva_stream_t *s = w->s;

  if (f->flags & UVA__F_HELD) {
    f->flags |= UVA__F_RELEASED; /* freed by req_done */
    return;
  }
  wr_done(w); /* never started */
  wr_mem_free(w);
  uva__stream_unref(s);
}

static const uva__ops_t wr_ops = {
    .name = "stream_write",
    .cancel = wr_cancel,
    .release = wr_release,
    .start = wr_start,
};

/* A write future for nbufs buffers and extra bytes of inline data. */
static uva__wr_t *wr_new(uva_stream_t *s, unsigned nbufs, size_t extra) {
  size_t size = sizeof(uva__wr_t) + nbufs * sizeof(uv_buf_t) + extra;
  uva__wr_t *w;

  if (extra > SIZE_MAX / 2 || nbufs > 65536)
    return NULL;
  w = wr_mem_alloc(s, size);
  if (w == NULL)
    return NULL;
  w->base.flags |= UVA__F_LAZY;
  w->s = s;
  w->next = NULL;
  w->bufs = (uv_buf_t *)(w + 1);
  w->nbufs = nbufs;
  w->len = 0;
  w->done = NULL;
  w->done_arg = NULL;
  s->refs++;
  return w;
}

static int wr_check(uva_stream_t *s) {
  int err = uva__stream_check(s);

  if (err == 0 && (s->flags & UVA__S_LISTENER))
    err = UV_EINVAL;
  return err;
}

uva_future_t *uva_stream_write(uva_stream_t *s, const void *data,
                               size_t len) {
  int err = wr_check(s);
  uva__wr_t *w;
  char *p;

  if (err == 0 && data == NULL && len > 0)
    err = UV_EINVAL;
  if (err == 0 && len > UINT32_MAX)
    err = UV_EINVAL;
  if (err != 0)
    return uva__failed(s != NULL && err != UV_EINVAL ? s->L : NULL, err);
  if ((w = wr_new(s, 1, len)) == NULL)
    return uva__failed(s->L, UV_ENOMEM);
  p = (char *)(w->bufs + 1);
  if (len > 0)
    memcpy(p, data, len);
  w->bufs[0] = uv_buf_init(p, (unsigned)len);
  w->len = len;
  w->base.flags |= F_DONE;
  return &w->base;
}

uva_future_t *uva_stream_write_bufs(uva_stream_t *s, const uv_buf_t bufs[],
                                    unsigned int nbufs, uva_free_cb done,
                                    void *done_arg) {
  int err = wr_check(s);
  uva__wr_t *w;
  unsigned i;

  if (err == 0 && (bufs == NULL || nbufs == 0 || nbufs > 65536))
    err = UV_EINVAL;
  for (i = 0; err == 0 && i < nbufs; i++)
    if (bufs[i].base == NULL && bufs[i].len > 0)
      err = UV_EINVAL;
  if (err == 0 && (w = wr_new(s, nbufs, 0)) == NULL)
    err = UV_ENOMEM;
  if (err != 0) {
    if (done != NULL)
      done(done_arg); /* the buffers were never used */
    return uva__failed(s != NULL && err != UV_EINVAL ? s->L : NULL, err);
  }
  for (i = 0; i < nbufs; i++) {
    w->bufs[i] = bufs[i];
    w->len += bufs[i].len;
  }
  w->done = done;
  w->done_arg = done_arg;
  return &w->base;
}

uva_future_t *uva_stream_shutdown(uva_stream_t *s) {
  int err = wr_check(s);
  uva__wr_t *w;

  if (err != 0)
    return uva__failed(s != NULL && err != UV_EINVAL ? s->L : NULL, err);
  if ((w = wr_new(s, 0, 0)) == NULL)
    return uva__failed(s->L, UV_ENOMEM);
  w->base.flags |= F_SHUTDOWN | F_DONE;
  return &w->base;
}

void uva__stream_write_shutdown(uva_stream_t *s, int err) {
  while (s->wq_head != NULL) {
    uva__wr_t *w = s->wq_head;
    s->wq_head = w->next;
    w->next = NULL;
    w->base.flags &= ~F_WAITING;
    uva__stream_busy(s, -1);
    wr_done(w);
    wr_settle(w, err);
  }
  s->wq_tail = NULL;
}
