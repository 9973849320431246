/* Bounded channels of fixed-size messages.  The loop side (send, recv, try_*,
 * close) works on a ring buffer that only the loop's thread touches, so it
 * takes no lock.  Other threads (uva_chan_send_blocking) put messages into a
 * staging ring of the same capacity under a mutex; the loop moves them into
 * the channel when a receiver needs them, and a thread wakes the loop through
 * uv_async_send only when a receiver is parked and no wake-up is already on
 * its way. */
#include "internal.h"

#include <string.h>

struct uva_chan_s {
  uva__loop_t *L;
  size_t elem;
  size_t cap;
  char *ring;
  size_t head;
  size_t count;
  int closed;
  uva_future_t *send_head, *send_tail; /* senders waiting for room */
  uva_future_t *recv_head, *recv_tail; /* receivers waiting for a message */

  /* the side other threads use */
  uv_mutex_t rlock;
  uv_cond_t rcond;
  char *stage;         /* cap messages, made by the first thread sender */
  size_t shead;        /* guarded by rlock, as are the next four */
  size_t scount;
  int rclosed;
  int notified;        /* a wake-up is on its way to the loop */
  int blocked;         /* threads waiting for room */
  atomic_size_t staged; /* scount, readable without the lock */
  atomic_int parked;    /* receivers are waiting on the loop */
  atomic_int threaded;  /* a thread has sent (stage is made) */
  int waiting;          /* loop side: parked, and holding a remote wait */
  uva__remote_t remote;
};

typedef struct {
  uva_future_t base;
  uva_chan_t *ch;
  size_t size; /* of this object: the channel may be gone when it is freed */
  char msg[];
} uva__send_t;

typedef struct {
  uva_future_t base;
  uva_chan_t *ch;
  void *out;
} uva__recv_t;

/* ---- waiter lists ------------------------------------------------------- */

static void list_push(uva_future_t **head, uva_future_t **tail,
                      uva_future_t *f) {
  f->next = NULL;
  if (*tail != NULL)
    (*tail)->next = f;
  else
    *head = f;
  *tail = f;
}

static uva_future_t *list_pop(uva_future_t **head, uva_future_t **tail) {
  uva_future_t *f = *head;
  if (f != NULL) {
    *head = f->next;
    if (*head == NULL)
      *tail = NULL;
    f->next = NULL;
  }
  return f;
}

static void list_remove(uva_future_t **head, uva_future_t **tail,
                        uva_future_t *f) {
  uva_future_t **pp, *prev = NULL;
  for (pp = head; *pp != NULL; prev = *pp, pp = &(*pp)->next)
    if (*pp == f) {
      *pp = f->next;
      if (*tail == f)
        *tail = prev;
      f->next = NULL;
      return;
    }
}

/* ---- the loop side ------------------------------------------------------ */

/* Copies one message: the common sizes as single moves. */
static inline void msg_copy(void *dst, const void *src, size_t elem) {
  switch (elem) {
  case 8:
    memcpy(dst, src, 8);
    break;
  case 4:
    memcpy(dst, src, 4);
    break;
  case 16:
    memcpy(dst, src, 16);
    break;
  default:
    memcpy(dst, src, elem);
  }
}

static inline __attribute__((always_inline)) void ring_push(uva_chan_t *ch,
                                                           const void *msg) {
  size_t i = ch->head + ch->count;
  if (i >= ch->cap)
    i -= ch->cap;
  msg_copy(ch->ring + i * ch->elem, msg, ch->elem);
  ch->count++;
}

static inline __attribute__((always_inline)) void ring_pop(uva_chan_t *ch,
                                                          void *out) {
  msg_copy(out, ch->ring + ch->head * ch->elem, ch->elem);
  if (++ch->head == ch->cap)
    ch->head = 0;
  ch->count--;
}

/* The first receiver waits: wake-ups from other threads are needed now.
 * Returns 0 or the error of opening uva's async handle. */
static int park(uva_chan_t *ch) {
  int err;

  if (ch->waiting)
    return 0;
  err = uva__remote_wait_begin(ch->L);
  if (err != 0)
    return err;
  ch->waiting = 1;
  /* A thread stages under rlock, then looks at parked; the loop sets parked
   * under rlock (uva_chan_recv then looks at the staged count): the lock
   * orders the two, so one sees the other and a thread pays no fence per
   * message.  Until a thread has sent, even the lock is not needed: a
   * thread's first send always wakes the loop (uva_chan_send_blocking). */
  if (atomic_load_explicit(&ch->threaded, memory_order_relaxed)) {
    uv_mutex_lock(&ch->rlock);
    atomic_store_explicit(&ch->parked, 1, memory_order_relaxed);
    uv_mutex_unlock(&ch->rlock);
  } else {
    atomic_store_explicit(&ch->parked, 1, memory_order_relaxed);
  }
  return 0;
}

/* The last waiting receiver left: the loop no longer needs wake-ups. */
static void unpark(uva_chan_t *ch) {
  if (!ch->waiting)
    return;
  ch->waiting = 0;
  atomic_store_explicit(&ch->parked, 0, memory_order_relaxed);
  uva__remote_wait_end(ch->L);
}

/* Moves staged messages from other threads into the ring while it has
 * room, and lets blocked threads go on. */
static void pull_staged(uva_chan_t *ch) {
  size_t n, i;

  uv_mutex_lock(&ch->rlock);
  n = ch->cap - ch->count;
  if (n > ch->scount)
    n = ch->scount;
  for (i = 0; i < n; i++) {
    ring_push(ch, ch->stage + ch->shead * ch->elem);
    if (++ch->shead == ch->cap)
      ch->shead = 0;
  }
  ch->scount -= n;
  atomic_store_explicit(&ch->staged, ch->scount, memory_order_relaxed);
  if (ch->scount == 0)
    ch->notified = 0;
  if (n > 0 && ch->blocked > 0)
    uv_cond_broadcast(&ch->rcond);
  uv_mutex_unlock(&ch->rlock);
}

static int has_staged(uva_chan_t *ch) {
  return atomic_load_explicit(&ch->staged, memory_order_relaxed) != 0;
}

/* Moves messages along until nothing more can move: waiting senders and
 * staged messages into the ring, the ring into waiting receivers.  After a
 * close with nothing left, receivers get UV_EOF. */
static void pump(uva_chan_t *ch) {
  uva_future_t *f;

  for (;;) {
    while (ch->count < ch->cap &&
           (f = list_pop(&ch->send_head, &ch->send_tail)) != NULL) {
      ring_push(ch, ((uva__send_t *)f)->msg);
      uva__settle_err(f, 0);
    }
    /* Staged messages move only into an empty ring: one swap of buffers under
     * the lock per batch, not a locked copy per message. */
    if (ch->count == 0 && has_staged(ch))
      pull_staged(ch);
    if (ch->count == 0 || ch->recv_head == NULL)
      break;
    while (ch->count > 0 &&
           (f = list_pop(&ch->recv_head, &ch->recv_tail)) != NULL) {
      ring_pop(ch, ((uva__recv_t *)f)->out);
      if (ch->recv_head == NULL)
        unpark(ch);
      uva__settle_err(f, 0);
    }
  }
  if (ch->closed && ch->count == 0 && !has_staged(ch) &&
      ch->recv_head != NULL) {
    while ((f = list_pop(&ch->recv_head, &ch->recv_tail)) != NULL)
      uva__settle_err(f, UV_EOF);
    unpark(ch);
  }
}

static inline __attribute__((always_inline)) int try_send(uva_chan_t *ch,
                                                         const void *msg) {
  uva_future_t *f;

  if (ch->closed)
    return UV_EPIPE;
  if ((f = ch->recv_head) != NULL && ch->count == 0) {
    /* hand the message straight to the oldest receiver */
    list_pop(&ch->recv_head, &ch->recv_tail);
    msg_copy(((uva__recv_t *)f)->out, msg, ch->elem);
    if (ch->recv_head == NULL)
      unpark(ch);
    uva__settle_err(f, 0);
    return 0;
  }
  if (ch->count == ch->cap || ch->send_head != NULL)
    return UV_EAGAIN;
  ring_push(ch, msg);
  if (ch->recv_head != NULL)
    pump(ch);
  return 0;
}

static inline __attribute__((always_inline)) int try_recv(uva_chan_t *ch,
                                                         void *out) {
  if (ch->count == 0 && has_staged(ch))
    pull_staged(ch);
  if (ch->count == 0) {
    if (ch->send_head != NULL)
      pump(ch);
    if (ch->count == 0)
      return ch->closed && !has_staged(ch) ? UV_EOF : UV_EAGAIN;
  }
  ring_pop(ch, out);
  if (ch->send_head != NULL)
    pump(ch);
  return 0;
}

/* ---- send and receive futures ------------------------------------------- */

static void send_cancel(uva_future_t *f) {
  uva__send_t *s = (uva__send_t *)f;
  if (s->ch != NULL)
    list_remove(&s->ch->send_head, &s->ch->send_tail, f);
  uva__settle_err(f, UV_ECANCELED);
}

static void send_release(uva_future_t *f) {
  uva__future_free_mem(f, ((uva__send_t *)f)->size);
}

static const uva__ops_t send_ops = {
    .name = "chan_send",
    .cancel = send_cancel,
    .release = send_release,
};

static void recv_cancel(uva_future_t *f) {
  uva__recv_t *r = (uva__recv_t *)f;
  uva_chan_t *ch = r->ch;
  if (ch != NULL) {
    list_remove(&ch->recv_head, &ch->recv_tail, f);
    if (ch->recv_head == NULL)
      unpark(ch);
  }
  uva__settle_err(f, UV_ECANCELED);
}

static void recv_release(uva_future_t *f) {
  uva__future_free_mem(f, sizeof(uva__recv_t));
}

static const uva__ops_t recv_ops = {
    .name = "chan_recv",
    .cancel = recv_cancel,
    .release = recv_release,
};

/* ---- the side of other threads ------------------------------------------ */

/* Runs on the loop thread after a thread staged messages for a parked
 * receiver. */
static void chan_remote_cb(uva__remote_t *r) {
  uva_chan_t *ch = uva__container_of(r, uva_chan_t, remote);
  pump(ch);
}

int uva_chan_send_blocking(uva_chan_t *ch, const void *msg) {
  int wake = 0, first = 0;

  if (ch == NULL || msg == NULL || uva__on_loop_thread(ch->L))
    return UV_EINVAL;
  uv_mutex_lock(&ch->rlock);
  if (ch->stage == NULL && !ch->rclosed) {
    ch->stage = uva__malloc(ch->cap * ch->elem);
    if (ch->stage == NULL) {
      uv_mutex_unlock(&ch->rlock);
      return UV_ENOMEM;
    }
    atomic_store_explicit(&ch->threaded, 1, memory_order_relaxed);
    first = 1;
  }
  while (!ch->rclosed && ch->scount == ch->cap) {
    ch->blocked++;
    uv_cond_wait(&ch->rcond, &ch->rlock);
    ch->blocked--;
  }
  if (ch->rclosed) {
    uv_mutex_unlock(&ch->rlock);
    return UV_EPIPE;
  }
  {
    size_t i = ch->shead + ch->scount;
    if (i >= ch->cap)
      i -= ch->cap;
    msg_copy(ch->stage + i * ch->elem, msg, ch->elem);
  }
  ch->scount++;
  /* Publish the count and look for a parked receiver, both under rlock: the
   * loop parks under rlock, then looks at the count (see park). */
  atomic_store_explicit(&ch->staged, ch->scount, memory_order_relaxed);
  if (!ch->notified &&
      (first || atomic_load_explicit(&ch->parked, memory_order_relaxed))) {
    ch->notified = 1;
    wake = 1;
  }
  uv_mutex_unlock(&ch->rlock);
  /* Outside the lock, so that the loop never waits for a syscall of ours.
   * The channel is still there: it may not be freed before we return. */
  if (wake)
    uva__remote_post(ch->L, &ch->remote);
  return 0;
}

/* ---- public API --------------------------------------------------------- */

int uva_chan_new(uv_loop_t *loop, size_t elem_size, size_t capacity,
                 uva_chan_t **out) {
  uva__loop_t *L;
  uva_chan_t *ch;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || elem_size == 0 || capacity == 0 ||
      capacity > SIZE_MAX / elem_size)
    return UV_EINVAL;
  L = uva__loop_get(loop);
  if (L == NULL)
    return UV_ENOMEM;
  ch = uva__obj_alloc(L, sizeof(*ch));
  if (ch == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  memset(ch, 0, sizeof(*ch));
  ch->L = L;
  ch->elem = elem_size;
  ch->cap = capacity;
  ch->ring = uva__malloc(capacity * elem_size);
  if (ch->ring == NULL)
    goto fail;
  if (uv_mutex_init(&ch->rlock) != 0)
    goto fail;
  if (uv_cond_init(&ch->rcond) != 0) {
    uv_mutex_destroy(&ch->rlock);
    goto fail;
  }
  atomic_init(&ch->staged, 0);
  atomic_init(&ch->parked, 0);
  atomic_init(&ch->threaded, 0);
  ch->remote.cb = chan_remote_cb;
  *out = ch;
  return 0;

fail:
  uva__free(ch->ring);
  uva__obj_free(L, ch, sizeof(*ch));
  return UV_ENOMEM;
}

static __attribute__((noinline)) uva_future_t *send_slow(uva_chan_t *ch,
                                                         const void *msg) {
  uva__send_t *s;
  size_t size;
  int err;

  if (ch == NULL || msg == NULL)
    return uva__failed(ch != NULL ? ch->L : NULL, UV_EINVAL);
  err = try_send(ch, msg);
  if (err == 0)
    return uva__ready(ch->L); /* sent: nothing to allocate */
  if (err != UV_EAGAIN)
    return uva__failed(ch->L, err);
  /* A message is never sent by a call that reports failure: without memory
   * for the waiting send, it is not sent at all. */
  size = sizeof(*s) + ch->elem;
  s = (uva__send_t *)uva__future_alloc(ch->L, &send_ops, size);
  if (s == NULL)
    return uva__failed(ch->L, UV_ENOMEM);
  s->size = size;
  s->ch = ch;
  memcpy(s->msg, msg, ch->elem);
  list_push(&ch->send_head, &ch->send_tail, &s->base);
  return &s->base;
}

static __attribute__((noinline)) uva_future_t *recv_slow(uva_chan_t *ch,
                                                         void *out) {
  uva__recv_t *r;
  int err;

  if (ch == NULL || out == NULL)
    return uva__failed(ch != NULL ? ch->L : NULL, UV_EINVAL);
  if (ch->recv_head == NULL) {
    err = try_recv(ch, out);
    if (err == 0)
      return uva__ready(ch->L); /* received: nothing to allocate */
    if (err != UV_EAGAIN)
      return uva__failed(ch->L, err);
  }
  r = (uva__recv_t *)uva__future_alloc(ch->L, &recv_ops, sizeof(*r));
  if (r == NULL)
    return uva__failed(ch->L, UV_ENOMEM);
  if (ch->recv_head == NULL && (err = park(ch)) != 0) {
    uva__future_free_mem(&r->base, sizeof(*r));
    return uva__failed(ch->L, err);
  }
  r->ch = ch;
  r->out = out;
  list_push(&ch->recv_head, &ch->recv_tail, &r->base);
  if (has_staged(ch)) /* after park: see there */
    pump(ch);
  return &r->base;
}

/* The public send and receive: the common case (room, or a message, and
 * nobody waiting) inline, the rest in send_slow and recv_slow. */
uva_future_t *uva_chan_send(uva_chan_t *ch, const void *msg) {
  if (uva__likely(ch != NULL && msg != NULL && !ch->closed &&
                  ch->recv_head == NULL && ch->send_head == NULL &&
                  ch->count < ch->cap)) {
    ring_push(ch, msg);
    return uva__ready(ch->L);
  }
  return send_slow(ch, msg);
}

uva_future_t *uva_chan_recv(uva_chan_t *ch, void *out) {
  if (uva__likely(ch != NULL && out != NULL && ch->recv_head == NULL &&
                  ch->send_head == NULL && ch->count > 0)) {
    ring_pop(ch, out);
    return uva__ready(ch->L);
  }
  return recv_slow(ch, out);
}

int uva_chan_try_send(uva_chan_t *ch, const void *msg) {
  if (ch == NULL || msg == NULL)
    return UV_EINVAL;
  return try_send(ch, msg);
}

int uva_chan_try_recv(uva_chan_t *ch, void *out) {
  if (ch == NULL || out == NULL)
    return UV_EINVAL;
  if (ch->recv_head != NULL)
    return UV_EAGAIN; /* earlier receivers go first */
  return try_recv(ch, out);
}

int uva_chan_close(uva_chan_t *ch) {
  uva_future_t *f;

  if (ch == NULL)
    return UV_EINVAL;
  if (ch->closed)
    return UV_EPIPE;
  ch->closed = 1;
  uv_mutex_lock(&ch->rlock);
  ch->rclosed = 1;
  if (ch->blocked > 0)
    uv_cond_broadcast(&ch->rcond);
  uv_mutex_unlock(&ch->rlock);
  /* room that opens from now on is for staged messages only */
  while ((f = list_pop(&ch->send_head, &ch->send_tail)) != NULL)
    uva__settle_err(f, UV_EPIPE);
  pump(ch);
  return 0;
}

void uva_chan_free(uva_chan_t *ch) {
  uva__loop_t *L;
  uva_future_t *f;

  if (ch == NULL)
    return;
  L = ch->L;
  uva__remote_cancel(L, &ch->remote);
  while ((f = list_pop(&ch->send_head, &ch->send_tail)) != NULL) {
    ((uva__send_t *)f)->ch = NULL;
    uva__settle_err(f, UV_ECANCELED);
  }
  if (ch->recv_head != NULL) {
    unpark(ch);
    while ((f = list_pop(&ch->recv_head, &ch->recv_tail)) != NULL) {
      ((uva__recv_t *)f)->ch = NULL;
      uva__settle_err(f, UV_ECANCELED);
    }
  }
  uv_cond_destroy(&ch->rcond);
  uv_mutex_destroy(&ch->rlock);
  uva__free(ch->stage);
  uva__free(ch->ring);
  uva__obj_free(L, ch, sizeof(*ch));
}
