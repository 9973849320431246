/* Stream input: the buffer, libuv's read callbacks, the read futures
 * (read, read_exact, read_until) and accept.
 *
 * Bytes libuv delivers go straight into the buffer of the oldest waiting
 * uva_stream_read when nothing is buffered (no copy), else into the loop's
 * scratch buffer, from which the waiting reads are served; what nobody
 * waits for is copied into chunks that hold exactly those bytes (small ones
 * are slab objects).  read_exact and read_until leave their bytes in the
 * buffer until they can complete, so a cancel has nothing to give back; a
 * read that completed but whose result nobody took gives its bytes back to
 * the front of the buffer (undo).  Reading stays started while anything
 * waits or the buffer is under its high-water mark, and stops above it
 * (backpressure) until the buffer drains under the low-water mark. */
#include "stream-internal.h"

enum { RD_SOME, RD_EXACT, RD_UNTIL };

#define F_QUEUED (UVA__F_KIND0 << 0) /* on the stream's wait list */

struct uva__rd_s {
  uva_future_t base;
  uva_stream_t *s;
  uva__rd_t *next;
  char *buf;      /* RD_SOME, RD_EXACT: the caller's buffer */
  size_t len;     /* its size; RD_UNTIL: the maximum */
  size_t scanned; /* RD_UNTIL: bytes searched for delim so far */
  int kind;
  int delim;
};

/* Small chunks are carved to fill a 512-byte slab object. */
#define CHUNK_MIN (512 - sizeof(uva__chunk_t))

/* ---- the input buffer --------------------------------------------------- */

static void chunk_free(uva_stream_t *s, uva__chunk_t *c) {
  if (c->cap != 0) /* cap 0: the scratch buffer, borrowed */
    uva__obj_free(s->L, c, sizeof(*c) + c->cap);
}

static uva__chunk_t *chunk_new(uva_stream_t *s, size_t n) {
  size_t cap = n < CHUNK_MIN ? CHUNK_MIN : n;
  uva__chunk_t *c = uva__obj_alloc(s->L, sizeof(*c) + cap);

  if (c != NULL) {
    c->next = NULL;
    c->base = (char *)(c + 1);
    c->start = c->end = 0;
    c->cap = cap;
  }
  return c;
}

static void input_drop(uva_stream_t *s) {
  uva__chunk_t *c;

  while ((c = s->in_head) != NULL) {
    s->in_head = c->next;
    chunk_free(s, c);
  }
  s->in_tail = NULL;
  s->in_bytes = 0;
}

/* Memory ran out while bytes had to be kept: rather than lose some silently,
 * the stream fails; every later read reports UV_ENOMEM. */
static void input_lost(uva_stream_t *s) {
  input_drop(s);
  s->read_err = UV_ENOMEM;
}

/* Moves the first n (<= in_bytes) buffered bytes to dst. */
static void copy_out(uva_stream_t *s, char *dst, size_t n) {
  while (n > 0) {
    uva__chunk_t *c = s->in_head;
    size_t k = c->end - c->start;
    if (k > n)
      k = n;
    memcpy(dst, c->base + c->start, k);
    dst += k;
    n -= k;
    c->start += k;
    s->in_bytes -= k;
    if (c->start == c->end) {
      s->in_head = c->next;
      if (s->in_head == NULL)
        s->in_tail = NULL;
      chunk_free(s, c);
    }
  }
}

/* Appends a copy of p[0..n) to the buffer.  Returns 0 or UV_ENOMEM. */
static int append(uva_stream_t *s, const char *p, size_t n) {
  uva__chunk_t *c = s->in_tail;

  if (c == NULL || c->cap == 0 || c->cap - c->end < n) {
    if ((c = chunk_new(s, n)) == NULL)
      return UV_ENOMEM;
    if (s->in_tail != NULL)
      s->in_tail->next = c;
    else
      s->in_head = c;
    s->in_tail = c;
  }
  memcpy(c->base + c->end, p, n);
  c->end += n;
  s->in_bytes += n;
  return 0;
}

/* Gives p[0..n) back to the front of the buffer (an undone read). */
static void push_front(uva_stream_t *s, const char *p, size_t n) {
  uva__chunk_t *c;
  uva__rd_t *r;

  if (n == 0 || (s->flags & (UVA__S_FREED | UVA__S_DETACHED)))
    return;
  if ((c = chunk_new(s, n)) == NULL) {
    input_lost(s);
    return;
  }
  memcpy(c->base, p, n);
  c->end = n;
  c->next = s->in_head;
  s->in_head = c;
  if (s->in_tail == NULL)
    s->in_tail = c;
  s->in_bytes += n;
  for (r = s->rd_head; r != NULL; r = r->next)
    r->scanned = 0;
}

/* The offset of the first delim at or after from and before limit, or
 * limit. */
static size_t scan(const uva_stream_t *s, size_t from, size_t limit,
                   int delim) {
  const uva__chunk_t *c;
  size_t off = 0;

  for (c = s->in_head; c != NULL && off < limit; c = c->next) {
    size_t k = c->end - c->start;
    if (off + k > from) {
      size_t i = from > off ? from - off : 0;
      size_t end = limit - off < k ? limit - off : k;
      const char *q = memchr(c->base + c->start + i, delim, end - i);
      if (q != NULL)
        return off + (size_t)(q - (c->base + c->start));
    }
    off += k;
  }
  return limit;
}

int uva__stream_take_input(uva_stream_t *s, uva_buf_t **rest) {
  uva_buf_t *b;

  if (rest == NULL || s->in_bytes == 0) {
    input_drop(s);
    return 0;
  }
  b = uva__malloc(sizeof(*b) + s->in_bytes + 1);
  if (b == NULL)
    return UV_ENOMEM;
  b->base = (char *)(b + 1);
  b->len = s->in_bytes;
  copy_out(s, b->base, b->len);
  b->base[b->len] = '\0';
  *rest = b;
  return 0;
}

/* ---- serving the waiting reads ----------------------------------------- */

static void rd_unlink(uva__rd_t *r) {
  uva_stream_t *s = r->s;
  uva__rd_t **pp;

  for (pp = &s->rd_head; *pp != r; pp = &(*pp)->next)
    ;
  *pp = r->next;
  if (s->rd_tail == r) {
    uva__rd_t *t = s->rd_head;
    while (t != NULL && t->next != NULL)
      t = t->next;
    s->rd_tail = t;
  }
  r->next = NULL;
  r->base.flags &= ~F_QUEUED;
  uva__stream_busy(s, -1);
}

static void rd_done(uva__rd_t *r, int status, uva_value_t v, uva_free_cb fn) {
  rd_unlink(r);
  uva__settle(&r->base, status, v, fn);
}

/* Serves the oldest waiting read from the buffer.  Returns 1 if it settled
 * (which may change anything on the stream), 0 if it must wait. */
static int serve_one(uva_stream_t *s, uva__rd_t *r) {
  uva_value_t v;
  size_t n;

  v.u64 = 0;
  switch (r->kind) {
  case RD_SOME:
    if (s->in_bytes == 0)
      break;
    n = s->in_bytes < r->len ? s->in_bytes : r->len;
    copy_out(s, r->buf, n);
    v.u64 = n;
    rd_done(r, 0, v, NULL);
    return 1;
  case RD_EXACT:
    if (s->in_bytes < r->len)
      break;
    copy_out(s, r->buf, r->len);
    v.u64 = r->len;
    rd_done(r, 0, v, NULL);
    return 1;
  default: { /* RD_UNTIL */
    size_t limit = s->in_bytes < r->len ? s->in_bytes : r->len;
    size_t at = scan(s, r->scanned, limit, r->delim);
    uva_buf_t *b;
    if (at < limit)
      n = at + 1;
    else if (limit == r->len)
      return rd_done(r, UV_ENOBUFS, v, NULL), 1; /* bytes stay */
    else if (s->read_err == UV_EOF && s->in_bytes > 0)
      n = s->in_bytes; /* the last line has no delimiter */
    else {
      r->scanned = limit;
      break;
    }
    if ((b = uva__malloc(sizeof(*b) + n + 1)) == NULL)
      return rd_done(r, UV_ENOMEM, v, NULL), 1; /* bytes stay */
    b->base = (char *)(b + 1);
    b->len = n;
    copy_out(s, b->base, n);
    b->base[n] = '\0';
    v.ptr = b;
    rd_done(r, 0, v, uva_buf_free);
    return 1;
  }
  }
  if (s->read_err != 0) {
    rd_done(r, s->read_err, v, NULL); /* partial bytes stay */
    return 1;
  }
  return 0;
}

static void feed(uva_stream_t *s) {
  while (s->rd_head != NULL && serve_one(s, s->rd_head))
    ;
}

/* ---- libuv's callbacks -------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  uva_stream_t *s = uva__stream_of((uv_stream_t *)h);
  uva__streams_t *S = s->L->streams;
  uva__rd_t *r = s->rd_head;

  (void)suggested;
  if (r != NULL && r->kind == RD_SOME && s->in_bytes == 0) {
    *buf = uv_buf_init(r->buf, (unsigned)(r->len > UINT32_MAX ? UINT32_MAX
                                                               : r->len));
    return;
  }
  if (S->scratch == NULL)
    S->scratch = uva__malloc(UVA__SCRATCH);
  *buf = uv_buf_init(S->scratch, S->scratch != NULL ? UVA__SCRATCH : 0);
}

/* The bytes are in the scratch buffer: serve the waiting reads from the
 * buffer followed by them, and keep the rest. */
static void deliver(uva_stream_t *s, const char *p, size_t n) {
  uva__chunk_t x, **pp;

  if (s->in_head != NULL) {
    if (append(s, p, n) != 0)
      input_lost(s);
    feed(s);
    return;
  }
  /* Nothing buffered: the scratch bytes are the buffer while the reads are
   * served, and what is left is copied out of it. */
  x.next = NULL;
  x.base = (char *)p;
  x.start = 0;
  x.end = n;
  x.cap = 0;
  s->in_head = s->in_tail = &x;
  s->in_bytes = n;
  feed(s);
  for (pp = &s->in_head; *pp != NULL && *pp != &x; pp = &(*pp)->next)
    ;
  if (*pp == &x) {
    /* x is the last chunk (an undo may have put some before it) */
    uva__chunk_t *c = chunk_new(s, x.end - x.start);
    if (c == NULL) {
      *pp = NULL;
      s->in_tail = NULL;
      input_lost(s);
      feed(s);
      return;
    }
    memcpy(c->base, x.base + x.start, x.end - x.start);
    c->end = x.end - x.start;
    *pp = c;
    s->in_tail = c;
  }
}

static void read_cb(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf) {
  uva_stream_t *s = uva__stream_of(h);
  uva__loop_t *L = s->L;
  uva__rd_t *r = s->rd_head;

  uva__cb_enter(L);
  s->refs++;
  if (nread > 0) {
    if (r != NULL && buf->base == r->buf && r->kind == RD_SOME &&
        s->in_bytes == 0) {
      uva_value_t v;
      v.u64 = (uint64_t)nread;
      rd_done(r, 0, v, NULL); /* the bytes landed in the caller's buffer */
    } else {
      deliver(s, buf->base, (size_t)nread);
    }
  } else if (nread < 0) {
    if (s->read_err == 0)
      s->read_err = nread == UV_ENOBUFS ? UV_ENOMEM : (int)nread;
    feed(s);
  }
  uva__stream_read_update(s);
  uva__stream_unref(s);
  uva__cb_leave(L);
}

void uva__stream_read_update(uva_stream_t *s) {
  int want, err;

  if ((s->flags & (UVA__S_FREED | UVA__S_CLOSING | UVA__S_DETACHED |
                   UVA__S_LISTENER)) ||
      !(s->flags & UVA__S_RSTARTED) || s->read_err != 0)
    want = 0;
  else if (s->rd_head != NULL)
    want = 1;
  else
    want = (s->flags & UVA__S_READING) ? s->in_bytes < s->high
                                       : s->in_bytes <= s->low;
  if (want && !(s->flags & UVA__S_READING)) {
    err = uv_read_start(s->h, alloc_cb, read_cb);
    if (err != 0) {
      s->read_err = err;
      feed(s);
      return;
    }
    s->flags |= UVA__S_READING;
  } else if (!want && (s->flags & UVA__S_READING)) {
    s->flags &= ~UVA__S_READING;
    if (!(s->flags & (UVA__S_CLOSING | UVA__S_DETACHED)))
      uv_read_stop(s->h);
  }
}

/* ---- read futures ------------------------------------------------------- */

static void rd_start(uva_future_t *f) {
  uva__rd_t *r = (uva__rd_t *)f;
  uva_stream_t *s = r->s;

  if (s->flags & (UVA__S_FREED | UVA__S_CLOSING | UVA__S_DETACHED)) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  f->flags |= F_QUEUED;
  if (s->rd_tail != NULL)
    s->rd_tail->next = r;
  else
    s->rd_head = r;
  s->rd_tail = r;
  s->flags |= UVA__S_RSTARTED;
  uva__stream_busy(s, 1);
  if (s->rd_head == r)
    feed(s);
  uva__stream_read_update(s);
}

/* A waiting read took nothing from the buffer: it just leaves the queue. */
static void rd_cancel(uva_future_t *f) {
  uva__rd_t *r = (uva__rd_t *)f;

  if (f->flags & F_QUEUED) {
    rd_unlink(r);
    uva__stream_read_update(r->s);
  }
  uva__settle_err(f, UV_ECANCELED);
}

/* The read completed but nobody took its bytes: they go back to the front of
 * the stream, for the next read. */
static void rd_undo(uva_future_t *f) {
  uva__rd_t *r = (uva__rd_t *)f;
  uva_stream_t *s = r->s;

  if (f->status != 0)
    return;
  if (r->kind == RD_UNTIL) {
    uva_buf_t *b = f->value.ptr;
    f->free_fn = NULL;
    push_front(s, b->base, b->len);
    uva_buf_free(b);
  } else {
    push_front(s, r->buf, (size_t)f->value.u64);
  }
  f->value.u64 = 0;
  feed(s);
  uva__stream_read_update(s);
}

static void rd_release(uva_future_t *f) {
  uva_stream_t *s = ((uva__rd_t *)f)->s;
  uva__future_free_mem(f, sizeof(uva__rd_t));
  uva__stream_unref(s);
}

static const uva__ops_t rd_ops = {
    .name = "stream_read",
    .cancel = rd_cancel,
    .release = rd_release,
    .start = rd_start,
    .undo = rd_undo,
};

static uva_future_t *rd_new(uva_stream_t *s, int kind, void *buf,
                            size_t len, int delim) {
  int err = uva__stream_check(s);
  uva__rd_t *r;

  if (err == 0 && (s->flags & UVA__S_LISTENER))
    err = UV_EINVAL;
  if (err == 0 && kind != RD_UNTIL && (buf == NULL || len == 0))
    err = UV_EINVAL;
  if (err == 0 && kind == RD_UNTIL && (len == 0 || delim < 0 || delim > 255))
    err = UV_EINVAL;
  if (err != 0)
    return uva__failed(s != NULL && err != UV_EINVAL ? s->L : NULL, err);
  r = (uva__rd_t *)uva__future_alloc(s->L, &rd_ops, sizeof(*r));
  if (r == NULL)
    return uva__failed(s->L, UV_ENOMEM);
  r->base.flags |= UVA__F_LAZY;
  r->s = s;
  r->next = NULL;
  r->buf = buf;
  r->len = len;
  r->scanned = 0;
  r->kind = kind;
  r->delim = delim;
  s->refs++;
  return &r->base;
}

uva_future_t *uva_stream_read(uva_stream_t *s, void *buf, size_t len) {
  return rd_new(s, RD_SOME, buf, len, 0);
}

uva_future_t *uva_stream_read_exact(uva_stream_t *s, void *buf, size_t len) {
  return rd_new(s, RD_EXACT, buf, len, 0);
}

uva_future_t *uva_stream_read_until(uva_stream_t *s, int delim, size_t max) {
  return rd_new(s, RD_UNTIL, NULL, max, delim);
}

int uva_stream_set_buffer(uva_stream_t *s, size_t high, size_t low) {
  int err = uva__stream_check(s);

  if (err != 0)
    return err;
  if (high == 0 || low > high)
    return UV_EINVAL;
  s->high = high;
  s->low = low;
  uva__stream_read_update(s);
  return 0;
}

size_t uva__stream_buffered(const uva_stream_t *s) { return s->in_bytes; }

/* ---- freeing ------------------------------------------------------------ */

void uva__stream_read_shutdown(uva_stream_t *s, int err) {
  while (s->rd_head != NULL) {
    uva__rd_t *r = s->rd_head;
    rd_unlink(r);
    uva__settle_err(&r->base, err);
  }
  input_drop(s);
}
