/* Name resolution: uva_getaddrinfo and uva_getnameinfo, one libuv request
 * each (uv_getaddrinfo, uv_getnameinfo) on libuv's thread pool.  The future
 * holds the request until libuv's callback runs; a cancel asks libuv to take
 * the request off the pool (uv_cancel), settles at once, and frees whatever
 * result arrives later. */
#include "internal.h"

#include <stdio.h>

typedef struct {
  uva_future_t base;
  uv_getaddrinfo_t req;
} uva__gai_t;

typedef struct {
  uva_future_t base;
  uv_getnameinfo_t req;
  uva_nameinfo_t *out; /* the value, allocated with the call */
} uva__gni_t;

void uva_freeaddrinfo(void *ai) {
  if (ai != NULL)
    uv_freeaddrinfo(ai);
}

void uva_nameinfo_free(void *ni) { uva__free(ni); }

/* ---- getaddrinfo -------------------------------------------------------- */

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  uva__gai_t *g = uva__container_of(req, uva__gai_t, req);
  uva__loop_t *L = g->base.L;
  uva_value_t v;

  uva__cb_enter(L);
  if (g->base.state == UVA__PENDING) {
    v.ptr = res;
    if (status == 0)
      uva__settle(&g->base, 0, v, uva_freeaddrinfo);
    else
      uva__settle_err(&g->base, status);
    res = status == 0 ? NULL : res;
  }
  uva_freeaddrinfo(res); /* nobody takes it (cancelled), or an error's */
  uva__future_unhold(&g->base, sizeof(*g));
  uva__cb_leave(L);
}

static void gai_cancel(uva_future_t *f) {
  uva__gai_t *g = (uva__gai_t *)f;
  uv_cancel((uv_req_t *)&g->req); /* fails once a pool thread has it */
  uva__settle_err(f, UV_ECANCELED);
}

static void gai_release(uva_future_t *f) {
  uva__future_release_held(f, sizeof(uva__gai_t));
}

static const uva__ops_t gai_ops = {
    .name = "getaddrinfo",
    .cancel = gai_cancel,
    .release = gai_release,
};

uva_future_t *uva_getaddrinfo(uv_loop_t *loop, const char *node,
                              const char *service,
                              const struct addrinfo *hints) {
  uva__loop_t *L = uva__loop_get(loop);
  uva__gai_t *g;
  uva_future_t *failed;
  int err;

  if (loop == NULL || (node == NULL && service == NULL))
    return uva__failed(L, UV_EINVAL);
  if (L == NULL)
    return uva__failed(NULL, UV_ENOMEM);
  g = (uva__gai_t *)uva__future_alloc(L, &gai_ops, sizeof(*g));
  if (g == NULL)
    return uva__failed(L, UV_ENOMEM);
  err = uv_getaddrinfo(loop, &g->req, gai_cb, node, service, hints);
  if (err != 0) {
    failed = uva__failed(L, err); /* before the free: it may free L */
    uva__future_free_mem(&g->base, sizeof(*g));
    return failed;
  }
  g->base.flags |= UVA__F_HELD;
  return &g->base;
}

/* ---- getnameinfo -------------------------------------------------------- */

static void gni_cb(uv_getnameinfo_t *req, int status, const char *host,
                   const char *service) {
  uva__gni_t *g = uva__container_of(req, uva__gni_t, req);
  uva__loop_t *L = g->base.L;
  uva_nameinfo_t *out = g->out;
  uva_value_t v;

  uva__cb_enter(L);
  g->out = NULL;
  if (g->base.state == UVA__PENDING && status == 0) {
    snprintf(out->host, sizeof(out->host), "%s", host != NULL ? host : "");
    snprintf(out->service, sizeof(out->service), "%s",
             service != NULL ? service : "");
    v.ptr = out;
    out = NULL;
    uva__settle(&g->base, 0, v, uva_nameinfo_free);
  } else if (g->base.state == UVA__PENDING) {
    uva__settle_err(&g->base, status);
  }
  uva__free(out);
  uva__future_unhold(&g->base, sizeof(*g));
  uva__cb_leave(L);
}

static void gni_cancel(uva_future_t *f) {
  uva__gni_t *g = (uva__gni_t *)f;
  uv_cancel((uv_req_t *)&g->req);
  uva__settle_err(f, UV_ECANCELED);
}

static void gni_release(uva_future_t *f) {
  uva__future_release_held(f, sizeof(uva__gni_t));
}

static const uva__ops_t gni_ops = {
    .name = "getnameinfo",
    .cancel = gni_cancel,
    .release = gni_release,
};

uva_future_t *uva_getnameinfo(uv_loop_t *loop, const struct sockaddr *addr,
                              int flags) {
  uva__loop_t *L = uva__loop_get(loop);
  uva__gni_t *g;
  uva_future_t *failed;
  int err;

  if (loop == NULL || addr == NULL ||
      (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
    return uva__failed(L, UV_EINVAL);
  if (L == NULL)
    return uva__failed(NULL, UV_ENOMEM);
  g = (uva__gni_t *)uva__future_alloc(L, &gni_ops, sizeof(*g));
  if (g == NULL)
    return uva__failed(L, UV_ENOMEM);
  g->out = uva__malloc(sizeof(*g->out));
  if (g->out == NULL) {
    failed = uva__failed(L, UV_ENOMEM);
    uva__future_free_mem(&g->base, sizeof(*g));
    return failed;
  }
  err = uv_getnameinfo(loop, &g->req, gni_cb, addr, flags);
  if (err != 0) {
    uva__free(g->out);
    failed = uva__failed(L, err);
    uva__future_free_mem(&g->base, sizeof(*g));
    return failed;
  }
  g->base.flags |= UVA__F_HELD;
  return &g->base;
}
