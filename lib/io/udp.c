/* UDP sockets: one uv_udp_t per uva_udp_t, sends and receives as lazy
 * futures.
 *
 * libuv reads each datagram into the socket's one scratch buffer (64 KiB,
 * libuv's suggested size, allocated with the socket); uva copies it into a
 * node of exactly its size.  The node goes to the first started receive, or
 * waits in the socket's queue (at most max nodes; past that a datagram is
 * dropped and counted).  A receive that settles holds its node until its
 * consumer takes the result (then the node is copied into the caller's
 * buffer and freed) or until it is destroyed untaken (then the node goes
 * back to the front of the queue, or to the first waiting receive): no
 * datagram libuv delivered is lost to a cancel, a timeout or a select.
 *
 * The socket reads while a receive waits or its queue may hold datagrams
 * (max > 0), and its handle is referenced only while a receive waits, so an
 * idle socket never keeps uv_run alive.  The struct lives until its handle
 * is closed and the last future that refers to it is gone (refs). */
#include "internal.h"

#define UDP_SCRATCH 65536

typedef struct uva__dgram_s uva__dgram_t;
struct uva__dgram_s {
  uva__dgram_t *next;
  uint64_t seq; /* arrival order: undone datagrams go back in it */
  size_t len;
  struct sockaddr_storage addr;
  char data[];
};

typedef struct uva__udp_recv_s uva__udp_recv_t;

struct uva_udp_s {
  uv_udp_t handle;
  uva__loop_t *L;
  size_t refs;   /* the user's, the open handle's, one per future */
  int closed;    /* uva_udp_free was called */
  int reading;   /* uv_udp_recv_start is on */
  int refd;      /* the handle is referenced */
  char *scratch; /* UDP_SCRATCH bytes libuv reads into */
  uva__dgram_t *qhead, *qtail;
  size_t qlen, qmax;
  uint64_t dropped;
  uint64_t seq; /* datagrams kept so far */
  uva__udp_recv_t *whead, *wtail; /* started receives waiting, in order */
};

struct uva__udp_recv_s {
  uva_future_t base;
  uva_udp_t *u;
  void *buf;
  size_t len;
  struct sockaddr_storage *from;
  uva__dgram_t *d; /* held from settling until take or undo */
  uva__udp_recv_t *wnext;
};

typedef struct {
  uva_future_t base;
  uva_udp_t *u;
  size_t size; /* of this allocation, data included */
  size_t len;
  struct sockaddr_storage addr;
  uv_udp_send_t req;
  char data[];
} uva__udp_send_t;

/* ---- the socket's life ---------------------------------------------------- */

static void udp_unref(uva_udp_t *u) {
  if (--u->refs == 0) {
    uva__free(u->scratch);
    uva__obj_free(u->L, u, sizeof(*u));
  }
}

static void udp_close_cb(uv_handle_t *h) {
  uva_udp_t *u = uva__container_of(h, uva_udp_t, handle);
  uva__closed(u->L);
  udp_unref(u);
}

static void udp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  uva_udp_t *u = uva__container_of(h, uva_udp_t, handle);
  (void)suggested;
  *buf = uv_buf_init(u->scratch, UDP_SCRATCH);
}

static void udp_recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags);

/* Reads while someone receives or the queue may hold datagrams; the handle
 * counts for uv_run only while a receive waits. */
static void udp_update(uva_udp_t *u) {
  int want_read = !u->closed && (u->whead != NULL || u->qmax > 0);
  int want_ref = !u->closed && u->whead != NULL;

  if (want_read && !u->reading)
    u->reading = uv_udp_recv_start(&u->handle, udp_alloc_cb, udp_recv_cb) == 0;
  else if (!want_read && u->reading) {
    uv_udp_recv_stop(&u->handle);
    u->reading = 0;
  }
  if (u->closed)
    return;
  if (want_ref && !u->refd)
    uv_ref((uv_handle_t *)&u->handle);
  else if (!want_ref && u->refd)
    uv_unref((uv_handle_t *)&u->handle);
  u->refd = want_ref;
}

/* ---- receive -------------------------------------------------------------- */

/* Hands d to the started receive r, which settles with the full length. */
static void recv_give(uva__udp_recv_t *r, uva__dgram_t *d) {
  uva_value_t v;
  r->d = d;
  v.u64 = d->len;
  uva__settle(&r->base, 0, v, NULL);
}

static uva__udp_recv_t *waiter_pop(uva_udp_t *u) {
  uva__udp_recv_t *r = u->whead;
  if (r != NULL) {
    u->whead = r->wnext;
    if (u->whead == NULL)
      u->wtail = NULL;
    r->wnext = NULL;
  }
  return r;
}

static void waiter_remove(uva_udp_t *u, uva__udp_recv_t *r) {
  uva__udp_recv_t **pp = &u->whead, *prev = NULL;
  while (*pp != NULL && *pp != r) {
    prev = *pp;
    pp = &(*pp)->wnext;
  }
  if (*pp == NULL)
    return;
  *pp = r->wnext;
  if (u->wtail == r)
    u->wtail = prev;
  r->wnext = NULL;
}

static void udp_recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags) {
  uva_udp_t *u = uva__container_of(h, uva_udp_t, handle);
  uva__loop_t *L = u->L;
  uva__udp_recv_t *r;
  uva__dgram_t *d;

  (void)buf;
  (void)flags; /* UV_UDP_PARTIAL cannot happen: the scratch holds 64 KiB */
  if (nread == 0 && addr == NULL)
    return; /* nothing more to read now */
  uva__cb_enter(L);
  if (nread < 0) {
    /* A socket error (an ICMP error on Linux): the first waiting receive
     * reports it; with nobody waiting it is dropped. */
    if ((r = waiter_pop(u)) != NULL)
      uva__settle_err(&r->base, (int)nread);
  } else if (u->whead == NULL && u->qlen >= u->qmax) {
    u->dropped++;
  } else if ((d = uva__malloc(sizeof(*d) + (size_t)nread)) == NULL) {
    u->dropped++; /* no memory for it: dropped and counted, as when full */
  } else {
    d->next = NULL;
    d->seq = u->seq++;
    d->len = (size_t)nread;
    memset(&d->addr, 0, sizeof(d->addr));
    memcpy(&d->addr, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in));
    memcpy(d->data, u->scratch, (size_t)nread);
    if ((r = waiter_pop(u)) != NULL) {
      recv_give(r, d);
    } else {
      if (u->qtail != NULL)
        u->qtail->next = d;
      else
        u->qhead = d;
      u->qtail = d;
      u->qlen++;
    }
  }
  udp_update(u);
  uva__cb_leave(L);
}

static void recv_start(uva_future_t *f) {
  uva__udp_recv_t *r = (uva__udp_recv_t *)f;
  uva_udp_t *u = r->u;
  uva__dgram_t *d;

  if (u->closed) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  if ((d = u->qhead) != NULL) {
    u->qhead = d->next;
    if (u->qhead == NULL)
      u->qtail = NULL;
    u->qlen--;
    d->next = NULL;
    recv_give(r, d);
    return;
  }
  if (u->wtail != NULL)
    u->wtail->wnext = r;
  else
    u->whead = r;
  u->wtail = r;
  udp_update(u);
}

/* A waiting receive has taken nothing: it leaves the line. */
static void recv_cancel(uva_future_t *f) {
  uva__udp_recv_t *r = (uva__udp_recv_t *)f;
  waiter_remove(r->u, r);
  udp_update(r->u);
  uva__settle_err(f, UV_ECANCELED);
}

/* The consumer takes the datagram: into the caller's buffer, truncated to
 * its length; the value stays the datagram's full length. */
static void recv_take(uva_future_t *f) {
  uva__udp_recv_t *r = (uva__udp_recv_t *)f;
  uva__dgram_t *d = r->d;

  if (d == NULL)
    return;
  r->d = NULL;
  if (d->len > 0 && r->len > 0)
    memcpy(r->buf, d->data, d->len < r->len ? d->len : r->len);
  if (r->from != NULL)
    memcpy(r->from, &d->addr, sizeof(d->addr));
  uva__free(d);
}

/* Destroyed untaken: the datagram goes to the first waiting receive, or back
 * into the queue in arrival order (at the front, unless other receives
 * dropped together with it gave older ones back first), even past max: it
 * was already counted in. */
static void recv_undo(uva_future_t *f) {
  uva__udp_recv_t *r = (uva__udp_recv_t *)f;
  uva_udp_t *u = r->u;
  uva__udp_recv_t *w;
  uva__dgram_t *d = r->d;

  if (d == NULL)
    return;
  r->d = NULL;
  if (u->closed) {
    uva__free(d);
  } else if ((w = waiter_pop(u)) != NULL) {
    recv_give(w, d);
    udp_update(u);
  } else {
    uva__dgram_t **pp = &u->qhead;
    while (*pp != NULL && (*pp)->seq < d->seq)
      pp = &(*pp)->next;
    d->next = *pp;
    *pp = d;
    if (d->next == NULL)
      u->qtail = d;
    u->qlen++;
  }
}

static void recv_release(uva_future_t *f) {
  uva__udp_recv_t *r = (uva__udp_recv_t *)f;
  uva_udp_t *u = r->u;

  uva__free(r->d); /* neither taken nor undone: only if the core never ran
                      either hook */
  uva__future_free_mem(f, sizeof(*r));
  udp_unref(u);
}

static const uva__ops_t recv_ops = {
    .name = "udp_recv",
    .cancel = recv_cancel,
    .release = recv_release,
    .start = recv_start,
    .take = recv_take,
    .undo = recv_undo,
};

/* ---- send ----------------------------------------------------------------- */

static void send_cb(uv_udp_send_t *req, int status) {
  uva__udp_send_t *s = uva__container_of(req, uva__udp_send_t, req);
  uva__loop_t *L = s->base.L;
  uva_udp_t *u = s->u;
  uva_value_t v;

  uva__cb_enter(L);
  v.u64 = s->len;
  if (s->base.state == UVA__PENDING)
    uva__settle(&s->base, status, v, NULL);
  if (uva__future_unhold(&s->base, s->size))
    udp_unref(u); /* the future's: it was released while libuv held it */
  udp_unref(u);   /* the request's */
  uva__cb_leave(L);
}

static void send_start(uva_future_t *f) {
  uva__udp_send_t *s = (uva__udp_send_t *)f;
  uva_udp_t *u = s->u;
  uv_buf_t b = uv_buf_init(s->data, (unsigned)s->len);
  uva_value_t v;
  int err;

  if (u->closed) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  /* At once when libuv's send queue is empty: the datagram is the kernel's
   * before start returns. */
  err = uv_udp_try_send(&u->handle, &b, 1, (struct sockaddr *)&s->addr);
  if (err >= 0) {
    v.u64 = s->len;
    uva__settle(f, 0, v, NULL);
    return;
  }
  if (err == UV_EAGAIN)
    err = uv_udp_send(&s->req, &u->handle, &b, 1, (struct sockaddr *)&s->addr,
                      send_cb);
  if (err != 0) {
    uva__settle_err(f, err);
    return;
  }
  u->refs++; /* the request's, dropped in send_cb */
  f->flags |= UVA__F_HELD;
}

/* A send waiting in libuv's queue cannot be taken back: the future settles
 * with UV_ECANCELED now, and the datagram is still sent. */
static void send_cancel(uva_future_t *f) { uva__settle_err(f, UV_ECANCELED); }

static void send_release(uva_future_t *f) {
  uva__udp_send_t *s = (uva__udp_send_t *)f;
  uva_udp_t *u = s->u;

  if (f->flags & UVA__F_HELD) {
    f->flags |= UVA__F_RELEASED; /* send_cb frees it and drops the refs */
    return;
  }
  uva__future_free_mem(f, s->size);
  udp_unref(u);
}

static const uva__ops_t send_ops = {
    .name = "udp_send",
    .cancel = send_cancel,
    .release = send_release,
    .start = send_start,
};

/* ---- public API ------------------------------------------------------------ */

static int addr_ok(const struct sockaddr *addr) {
  return addr != NULL &&
         (addr->sa_family == AF_INET || addr->sa_family == AF_INET6);
}

static socklen_t addr_len(const struct sockaddr *addr) {
  return addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in);
}

int uva_udp_bind(uv_loop_t *loop, const struct sockaddr *addr,
                 unsigned int flags, uva_udp_t **out) {
  uva__loop_t *L;
  uva_udp_t *u;
  unsigned int uvflags = 0;
  int err;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || !addr_ok(addr) ||
      (flags & ~(UVA_UDP_IPV6ONLY | UVA_UDP_REUSEADDR)) != 0 ||
      ((flags & UVA_UDP_IPV6ONLY) && addr->sa_family != AF_INET6))
    return UV_EINVAL;
  if ((L = uva__loop_get(loop)) == NULL)
    return UV_ENOMEM;
  u = uva__obj_alloc(L, sizeof(*u));
  if (u == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  memset(u, 0, sizeof(*u));
  u->L = L;
  u->qmax = 1024;
  u->scratch = uva__malloc(UDP_SCRATCH);
  if (u->scratch == NULL) {
    uva__obj_free(L, u, sizeof(*u));
    return UV_ENOMEM;
  }
  err = uv_udp_init(loop, &u->handle);
  if (err != 0) {
    uva__free(u->scratch);
    uva__obj_free(L, u, sizeof(*u));
    return err;
  }
  u->refs = 2; /* the user's and the handle's */
  uv_unref((uv_handle_t *)&u->handle);
  if (flags & UVA_UDP_IPV6ONLY)
    uvflags |= UV_UDP_IPV6ONLY;
  if (flags & UVA_UDP_REUSEADDR)
    uvflags |= UV_UDP_REUSEADDR;
  err = uv_udp_bind(&u->handle, addr, uvflags);
  if (err != 0) {
    /* the handle goes in its close callback, when the loop next runs */
    u->closed = 1;
    uva__close(L, (uv_handle_t *)&u->handle, udp_close_cb);
    udp_unref(u);
    return err;
  }
  udp_update(u);
  *out = u;
  return 0;
}

uva_future_t *uva_udp_send(uva_udp_t *u, const void *data, size_t len,
                           const struct sockaddr *addr) {
  uva__udp_send_t *s;
  size_t size;

  if (u == NULL)
    return uva__failed(NULL, UV_EINVAL);
  if (u->closed)
    return uva__failed(u->L, UV_EBADF);
  if ((data == NULL && len > 0) || !addr_ok(addr) || len > UINT32_MAX)
    return uva__failed(u->L, UV_EINVAL);
  size = sizeof(*s) + len;
  s = (uva__udp_send_t *)uva__future_alloc(u->L, &send_ops, size);
  if (s == NULL)
    return uva__failed(u->L, UV_ENOMEM);
  s->base.flags |= UVA__F_LAZY;
  s->u = u;
  s->size = size;
  s->len = len;
  memset(&s->addr, 0, sizeof(s->addr));
  memcpy(&s->addr, addr, addr_len(addr));
  if (len > 0)
    memcpy(s->data, data, len);
  u->refs++;
  return &s->base;
}

uva_future_t *uva_udp_recv(uva_udp_t *u, void *buf, size_t len,
                           struct sockaddr_storage *from) {
  uva__udp_recv_t *r;

  if (u == NULL)
    return uva__failed(NULL, UV_EINVAL);
  if (u->closed)
    return uva__failed(u->L, UV_EBADF);
  if (buf == NULL && len > 0)
    return uva__failed(u->L, UV_EINVAL);
  r = (uva__udp_recv_t *)uva__future_alloc(u->L, &recv_ops, sizeof(*r));
  if (r == NULL)
    return uva__failed(u->L, UV_ENOMEM);
  r->base.flags |= UVA__F_LAZY;
  r->u = u;
  r->buf = buf;
  r->len = len;
  r->from = from;
  r->d = NULL;
  r->wnext = NULL;
  u->refs++;
  return &r->base;
}

int uva_udp_set_queue(uva_udp_t *u, size_t max) {
  if (u == NULL)
    return UV_EINVAL;
  if (u->closed)
    return UV_EBADF;
  u->qmax = max; /* datagrams already queued past max stay */
  udp_update(u);
  return 0;
}

uint64_t uva_udp_dropped(const uva_udp_t *u) {
  return u != NULL ? u->dropped : 0;
}

size_t uva_udp_queued(const uva_udp_t *u) { return u != NULL ? u->qlen : 0; }

int uva_udp_sockname(uva_udp_t *u, struct sockaddr_storage *out) {
  int n = sizeof(*out);
  if (u == NULL || out == NULL)
    return UV_EINVAL;
  if (u->closed)
    return UV_EBADF;
  return uv_udp_getsockname(&u->handle, (struct sockaddr *)out, &n);
}

#define UDP_CHECK(u)                                                           \
  do {                                                                         \
    if ((u) == NULL)                                                           \
      return UV_EINVAL;                                                        \
    if ((u)->closed)                                                           \
      return UV_EBADF;                                                         \
  } while (0)

int uva_udp_set_broadcast(uva_udp_t *u, int on) {
  UDP_CHECK(u);
  return uv_udp_set_broadcast(&u->handle, on != 0);
}

int uva_udp_set_multicast_loop(uva_udp_t *u, int on) {
  UDP_CHECK(u);
  return uv_udp_set_multicast_loop(&u->handle, on != 0);
}

int uva_udp_set_multicast_ttl(uva_udp_t *u, int ttl) {
  UDP_CHECK(u);
  return uv_udp_set_multicast_ttl(&u->handle, ttl);
}

int uva_udp_join(uva_udp_t *u, const char *group, const char *iface) {
  UDP_CHECK(u);
  if (group == NULL)
    return UV_EINVAL;
  return uv_udp_set_membership(&u->handle, group, iface, UV_JOIN_GROUP);
}

int uva_udp_leave(uva_udp_t *u, const char *group, const char *iface) {
  UDP_CHECK(u);
  if (group == NULL)
    return UV_EINVAL;
  return uv_udp_set_membership(&u->handle, group, iface, UV_LEAVE_GROUP);
}

void uva_udp_free(uva_udp_t *u) {
  uva__udp_recv_t *r;
  uva__dgram_t *d;

  if (u == NULL || u->closed)
    return;
  u->closed = 1;
  udp_update(u); /* stops reading */
  while ((d = u->qhead) != NULL) {
    u->qhead = d->next;
    uva__free(d);
  }
  u->qtail = NULL;
  u->qlen = 0;
  uva__close(u->L, (uv_handle_t *)&u->handle, udp_close_cb);
  while ((r = waiter_pop(u)) != NULL)
    uva__settle_err(&r->base, UV_ECANCELED);
  udp_unref(u); /* the user's */
}
