/* Accepting: the listener's connection callback and the accept futures.
 * libuv holds one connection for uv_accept (and stops watching the listener
 * until it is taken); the kernel's backlog holds the rest.  An accepted
 * connection whose future is dropped untaken goes back to the front of the
 * listener's ready list (undo), where the next accept finds it first. */
#include "stream-internal.h"

#define F_QUEUED (UVA__F_KIND0 << 0) /* on the listener's wait list */

struct uva__ac_s {
  uva_future_t base;
  uva_stream_t *s;
  uva__ac_t *next;
};

static void ac_unlink(uva__ac_t *a) {
  uva_stream_t *s = a->s;
  uva__ac_t **pp;

  for (pp = &s->ac_head; *pp != a; pp = &(*pp)->next)
    ;
  *pp = a->next;
  if (s->ac_tail == a) {
    uva__ac_t *t = s->ac_head;
    while (t != NULL && t->next != NULL)
      t = t->next;
    s->ac_tail = t;
  }
  a->next = NULL;
  a->base.flags &= ~F_QUEUED;
  uva__stream_busy(s, -1);
}

/* A new owned stream for the connection libuv holds, or NULL with *err. */
static uva_stream_t *accept_one(uva_stream_t *s, int *err) {
  uva_stream_t *c = uva__stream_alloc(s->L);

  if (c == NULL) {
    *err = UV_ENOMEM; /* the connection stays in libuv */
    return NULL;
  }
  if (s->h->type == UV_TCP)
    uv_tcp_init(s->L->loop, &c->u.tcp);
  else
    uv_pipe_init(s->L->loop, &c->u.pipe, 0);
  uva__stream_owned(c);
  *err = uv_accept(s->h, &c->u.stream);
  s->conns--;
  if (*err != 0) {
    uva_stream_free(c);
    return NULL;
  }
  return c;
}

static void accept_feed(uva_stream_t *s) {
  uva__ac_t *a;

  while ((a = s->ac_head) != NULL) {
    uva_stream_t *c = NULL;
    uva_value_t v;
    int err = 0;
    if (s->ready != NULL) {
      c = s->ready;
      s->ready = c->next;
      c->next = NULL;
    } else if (s->accept_err != 0) {
      err = s->accept_err;
      s->accept_err = 0;
    } else if (s->conns > 0) {
      c = accept_one(s, &err);
    } else {
      break;
    }
    ac_unlink(a);
    v.ptr = c;
    uva__settle(&a->base, err, v, err == 0 ? uva_stream_free : NULL);
  }
}

void uva__stream_connection_cb(uv_stream_t *server, int status) {
  uva_stream_t *s = uva__stream_of(server);
  uva__loop_t *L = s->L;

  uva__cb_enter(L);
  if (status < 0)
    s->accept_err = status;
  else
    s->conns++;
  accept_feed(s);
  uva__cb_leave(L);
}

static void ac_start(uva_future_t *f) {
  uva__ac_t *a = (uva__ac_t *)f;
  uva_stream_t *s = a->s;

  if (s->flags & (UVA__S_FREED | UVA__S_CLOSING)) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  f->flags |= F_QUEUED;
  if (s->ac_tail != NULL)
    s->ac_tail->next = a;
  else
    s->ac_head = a;
  s->ac_tail = a;
  uva__stream_busy(s, 1);
  accept_feed(s);
}

static void ac_cancel(uva_future_t *f) {
  if (f->flags & F_QUEUED)
    ac_unlink((uva__ac_t *)f);
  uva__settle_err(f, UV_ECANCELED);
}

/* An accepted connection nobody took goes back to the front of the
 * listener's queue. */
static void ac_undo(uva_future_t *f) {
  uva__ac_t *a = (uva__ac_t *)f;
  uva_stream_t *s = a->s, *c = f->value.ptr;

  if (f->status != 0 || c == NULL)
    return;
  f->free_fn = NULL;
  f->value.ptr = NULL;
  if (s->flags & (UVA__S_FREED | UVA__S_CLOSING)) {
    uva_stream_free(c);
    return;
  }
  c->next = s->ready;
  s->ready = c;
  accept_feed(s);
}

static void ac_release(uva_future_t *f) {
  uva_stream_t *s = ((uva__ac_t *)f)->s;
  uva__future_free_mem(f, sizeof(uva__ac_t));
  uva__stream_unref(s);
}

static const uva__ops_t ac_ops = {
    .name = "stream_accept",
    .cancel = ac_cancel,
    .release = ac_release,
    .start = ac_start,
    .undo = ac_undo,
};

uva_future_t *uva_stream_accept(uva_stream_t *s) {
  int err = uva__stream_check(s);
  uva__ac_t *a;

  if (err == 0 && !(s->flags & UVA__S_LISTENER))
    err = UV_EINVAL;
  if (err != 0)
    return uva__failed(s != NULL && err != UV_EINVAL ? s->L : NULL, err);
  a = (uva__ac_t *)uva__future_alloc(s->L, &ac_ops, sizeof(*a));
  if (a == NULL)
    return uva__failed(s->L, UV_ENOMEM);
  a->base.flags |= UVA__F_LAZY;
  a->s = s;
  a->next = NULL;
  s->refs++;
  return &a->base;
}

void uva__stream_accept_shutdown(uva_stream_t *s, int err) {
  uva_stream_t *c;

  while (s->ac_head != NULL) {
    uva__ac_t *a = s->ac_head;
    ac_unlink(a);
    uva__settle_err(&a->base, err);
  }
  while ((c = s->ready) != NULL) {
    s->ready = c->next;
    uva_stream_free(c);
  }
}
