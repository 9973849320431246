/* TCP: listen, connect (to an address, or to a host name and port through
 * uv_getaddrinfo, trying each address in turn), socket options and
 * addresses.  The connect future is shared with pipe.c. */
#include "stream-internal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

/* ---- connect ------------------------------------------------------------ */

typedef struct {
  uva_future_t base;
  uv_connect_t req;
  uv_getaddrinfo_t gai;
  uva_stream_t *s;         /* the stream being connected, or NULL */
  struct addrinfo *res;    /* connect_host: the addresses */
  struct addrinfo *cur;    /* the one being tried */
  int last_err;
  int resolving;           /* the getaddrinfo request is out */
} uva__conn_t;

static void connect_cb(uv_connect_t *req, int status);

/* Lets go of the stream being connected (if any). */
static void conn_drop_stream(uva__conn_t *c) {
  uva_stream_t *s = c->s;

  if (s != NULL) {
    c->s = NULL;
    uva__stream_busy(s, -1);
    s->flags &= ~UVA__S_CONNECTING;
    uva_stream_free(s);
  }
}

/* Starts connecting a new stream to addr.  Returns 0 or an error. */
static int conn_start(uva__conn_t *c, const struct sockaddr *addr,
                      const char *path) {
  uva__loop_t *L = c->base.L;
  uva_stream_t *s = uva__stream_alloc(L);
  int err = 0;

  if (s == NULL)
    return UV_ENOMEM;
  if (path != NULL) {
    uv_pipe_init(L->loop, &s->u.pipe, 0);
    uva__stream_owned(s);
    uv_pipe_connect(&c->req, &s->u.pipe, path, connect_cb);
  } else {
    uv_tcp_init(L->loop, &s->u.tcp);
    uva__stream_owned(s);
    err = uv_tcp_connect(&c->req, &s->u.tcp, addr, connect_cb);
  }
  if (err != 0) {
    uva_stream_free(s);
    return err;
  }
  s->flags |= UVA__S_CONNECTING;
  c->s = s;
  uva__stream_busy(s, 1);
  return 0;
}

/* connect_host: tries the addresses from cur on.  Returns 1 if a connect is
 * out, else 0 with last_err set. */
static int conn_next(uva__conn_t *c) {
  for (; c->cur != NULL; c->cur = c->cur->ai_next) {
    int family = c->cur->ai_family;
    if (family != AF_INET && family != AF_INET6)
      continue;
    c->last_err = conn_start(c, c->cur->ai_addr, NULL);
    if (c->last_err == 0)
      return 1;
    if (c->last_err == UV_ENOMEM)
      break;
  }
  return 0;
}

/* Settles c (with the stream s, or NULL) once no request is out; frees the
 * addresses. */
static void conn_finish(uva__conn_t *c, int status, uva_stream_t *s) {
  uva_value_t v;

  v.ptr = s;
  if (c->res != NULL) {
    uv_freeaddrinfo(c->res);
    c->res = c->cur = NULL;
  }
  if (c->base.state == UVA__PENDING)
    uva__settle(&c->base, status, v, s != NULL ? uva_stream_free : NULL);
}

static void connect_cb(uv_connect_t *req, int status) {
  uva__conn_t *c = uva__container_of(req, uva__conn_t, req);
  uva__loop_t *L = c->base.L;

  uva__cb_enter(L);
  if (c->base.state != UVA__PENDING) {
    conn_drop_stream(c); /* cancelled meanwhile */
    conn_finish(c, UV_ECANCELED, NULL);
  } else if (status == 0) {
    uva_stream_t *s = c->s;
    c->s = NULL;
    s->flags &= ~UVA__S_CONNECTING;
    uva__stream_busy(s, -1);
    conn_finish(c, 0, s);
  } else {
    conn_drop_stream(c);
    c->last_err = status;
    if (c->cur != NULL) {
      c->cur = c->cur->ai_next;
      if (conn_next(c)) {
        uva__cb_leave(L);
        return; /* still held */
      }
    }
    conn_finish(c, c->last_err, NULL);
  }
  uva__future_unhold(&c->base, sizeof(*c));
  uva__cb_leave(L);
}

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  uva__conn_t *c = uva__container_of(req, uva__conn_t, gai);
  uva__loop_t *L = c->base.L;

  uva__cb_enter(L);
  c->resolving = 0;
  c->res = c->cur = res;
  if (c->base.state != UVA__PENDING) {
    conn_finish(c, UV_ECANCELED, NULL);
  } else if (status != 0) {
    conn_finish(c, status, NULL);
  } else {
    c->last_err = UV_EAI_NONAME; /* no usable address */
    if (conn_next(c)) {
      uva__cb_leave(L);
      return;
    }
    conn_finish(c, c->last_err, NULL);
  }
  uva__future_unhold(&c->base, sizeof(*c));
  uva__cb_leave(L);
}

/* Settles now; the request underneath calls back later and cleans up. */
static void conn_cancel(uva_future_t *f) {
  uva__conn_t *c = (uva__conn_t *)f;

  if (c->resolving)
    uv_cancel((uv_req_t *)&c->gai);
  uva__settle_err(f, UV_ECANCELED);
  conn_drop_stream(c); /* its connect calls back with UV_ECANCELED */
}

static void conn_release(uva_future_t *f) {
  uva__future_release_held(f, sizeof(uva__conn_t));
}

static const uva__ops_t conn_ops = {
    .name = "stream_connect",
    .cancel = conn_cancel,
    .release = conn_release,
};

static uva__conn_t *conn_new(uva__loop_t *L) {
  uva__conn_t *c = (uva__conn_t *)uva__future_alloc(L, &conn_ops, sizeof(*c));

  if (c != NULL) {
    c->s = NULL;
    c->res = c->cur = NULL;
    c->last_err = 0;
    c->resolving = 0;
  }
  return c;
}

uva_future_t *uva__stream_connect(uv_loop_t *loop,
                                  const struct sockaddr *addr,
                                  const char *path) {
  uva__loop_t *L = uva__loop_get(loop);
  uva__conn_t *c;
  uva_future_t *failed;
  int err;

  if (loop == NULL)
    return uva__failed(NULL, UV_EINVAL);
  if (L == NULL || (c = conn_new(L)) == NULL)
    return uva__failed(L, UV_ENOMEM);
  err = conn_start(c, addr, path);
  if (err != 0) {
    failed = uva__failed(L, err);
    uva__future_free_mem(&c->base, sizeof(*c));
    return failed;
  }
  c->base.flags |= UVA__F_HELD;
  return &c->base;
}

uva_future_t *uva_tcp_connect(uv_loop_t *loop, const struct sockaddr *addr) {
  if (loop == NULL || addr == NULL ||
      (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
    return uva__failed(uva__loop_get(loop), UV_EINVAL);
  return uva__stream_connect(loop, addr, NULL);
}

uva_future_t *uva_tcp_connect_host(uv_loop_t *loop, const char *host,
                                   uint16_t port) {
  uva__loop_t *L = uva__loop_get(loop);
  struct addrinfo hints;
  uva__conn_t *c;
  uva_future_t *failed;
  char service[8];
  int err;

  if (loop == NULL || host == NULL)
    return uva__failed(L, UV_EINVAL);
  if (L == NULL || (c = conn_new(L)) == NULL)
    return uva__failed(L, UV_ENOMEM);
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  snprintf(service, sizeof(service), "%u", (unsigned)port);
  err = uv_getaddrinfo(loop, &c->gai, gai_cb, host, service, &hints);
  if (err != 0) {
    failed = uva__failed(L, err);
    uva__future_free_mem(&c->base, sizeof(*c));
    return failed;
  }
  c->resolving = 1;
  c->base.flags |= UVA__F_HELD;
  return &c->base;
}

/* ---- listen ------------------------------------------------------------- */

/* Listens on the owned handle of s (bound by the caller); on failure frees
 * s.  Returns 0 or an error. */
int uva__stream_listen(uva_stream_t *s, int backlog, uva_stream_t **out) {
  int err = uv_listen(s->h, backlog > 0 ? backlog : SOMAXCONN,
                      uva__stream_connection_cb);

  if (err != 0) {
    uva_stream_free(s);
    return err;
  }
  s->flags |= UVA__S_LISTENER;
  *out = s;
  return 0;
}

int uva_tcp_listen(uv_loop_t *loop, const struct sockaddr *addr, int backlog,
                   unsigned flags, uva_stream_t **out) {
  uva__loop_t *L;
  uva_stream_t *s;
  int err;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || addr == NULL || out == NULL ||
      (flags & ~(UVA_TCP_IPV6ONLY | UVA_TCP_REUSEPORT)) != 0 ||
      (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
    return UV_EINVAL;
  if ((L = uva__loop_get(loop)) == NULL)
    return UV_ENOMEM;
  if ((s = uva__stream_alloc(L)) == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  err = uv_tcp_init_ex(loop, &s->u.tcp, addr->sa_family);
  if (err != 0) {
    uva__stream_discard(s);
    return err;
  }
  uva__stream_owned(s);
  if (flags & UVA_TCP_REUSEPORT) {
    uv_os_fd_t fd;
    int one = 1;
    err = uv_fileno(&s->u.handle, &fd);
    if (err == 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
                               sizeof(one)) != 0)
      err = uv_translate_sys_error(errno);
  }
  if (err == 0)
    err = uv_tcp_bind(&s->u.tcp, addr,
                      (flags & UVA_TCP_IPV6ONLY) ? UV_TCP_IPV6ONLY : 0);
  if (err != 0) {
    uva_stream_free(s);
    return err;
  }
  return uva__stream_listen(s, backlog, out);
}

/* ---- options and addresses ---------------------------------------------- */

static int tcp_check(uva_stream_t *s) {
  int err = uva__stream_check(s);

  if (err == 0 && s->h->type != UV_TCP)
    err = UV_EINVAL;
  return err;
}

int uva_tcp_nodelay(uva_stream_t *s, int enable) {
  int err = tcp_check(s);
  return err != 0 ? err : uv_tcp_nodelay((uv_tcp_t *)s->h, enable != 0);
}

int uva_tcp_keepalive(uva_stream_t *s, int enable, unsigned int delay) {
  int err = tcp_check(s);
  return err != 0 ? err
                  : uv_tcp_keepalive((uv_tcp_t *)s->h, enable != 0, delay);
}

static int name(uva_stream_t *s, struct sockaddr_storage *out, int peer) {
  int err = uva__stream_check(s), len = (int)sizeof(*out);

  if (err == 0 && out == NULL)
    err = UV_EINVAL;
  if (err != 0)
    return err;
  memset(out, 0, sizeof(*out));
  if (s->h->type == UV_TCP)
    return peer ? uv_tcp_getpeername((uv_tcp_t *)s->h,
                                     (struct sockaddr *)out, &len)
                : uv_tcp_getsockname((uv_tcp_t *)s->h,
                                     (struct sockaddr *)out, &len);
  if (s->h->type == UV_NAMED_PIPE) {
    struct sockaddr_un *un = (struct sockaddr_un *)out;
    size_t n = sizeof(un->sun_path);
    un->sun_family = AF_UNIX;
    err = peer ? uv_pipe_getpeername((uv_pipe_t *)s->h, un->sun_path, &n)
               : uv_pipe_getsockname((uv_pipe_t *)s->h, un->sun_path, &n);
    return err;
  }
  return UV_ENOTSUP; /* a TTY has no address */
}

int uva_stream_sockname(uva_stream_t *s, struct sockaddr_storage *out) {
  return name(s, out, 0);
}

int uva_stream_peername(uva_stream_t *s, struct sockaddr_storage *out) {
  return name(s, out, 1);
}
