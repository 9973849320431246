/* Channel operations of other loops (issue 11): a task or uva callback of
 * loop R uses a channel of loop A (ch->L != R).
 *
 * Every effect happens on the thread of the loop whose future it is, under
 * the channel's lock: a foreign operation runs on R's thread, switches the
 * channel to locked mode (uva__chan_tenter) and does its step itself, as a
 * plain thread's blocking call does, without blocking: a send pushes into
 * the ring if there is room; a receive takes the oldest available message
 * when its consumer takes the result for sure (a task's await, a then
 * callback), else reserves it, and the take or undo later (on R's thread,
 * under the lock) removes or gives back the reserved slot.  After a change
 * it tells the others (uva__chan_tell): blocked threads, A's pump (the
 * coalesced ch->remote, only when A has waiters) and the foreign waiters.
 * Nothing here ever runs A's pump or settles a future of another loop.
 *
 * Foreign waiters.  An operation that cannot complete now puts its future
 * (a future of R) on ch->xsendq or ch->xrecvq, holds a remote wait on R so
 * that R's uv_run stays alive and its inbox works, and waits.  Whoever
 * changes the channel's state (A's operations and pump in locked mode, plain
 * threads, other foreign operations, a close) wakes every waiter of the
 * kind that may now proceed: it takes them all off the list and posts each
 * one's node to its loop, still under the lock.  The node runs on R's
 * thread and retries the step; a waiter that finds nothing (another took
 * it) goes back on the list.  Waking all of a kind means a woken waiter that
 * is then cancelled never swallows a wake-up another one needed.  Since an
 * operation's effect happens only on R's thread inside its retry, a select
 * on R cancels its other branches before any of them can act: exactly once.
 *
 * Lifetime: ch->xrefs counts the foreign futures alive; uva_chan_free
 * aborts if any is (a contract violation, chan.h). */
#include "chan-internal.h"

enum { X_IDLE = 0, X_LISTED = 1, X_WOKEN = 2 };

struct uva__xop_s {
  uva_future_t base; /* a future of the foreign loop: base.L */
  uva_chan_t *ch;
  uva__remote_t node;        /* posted to base.L by whoever wakes it */
  uva__xop_t *xnext, *xprev; /* ch->xsendq or ch->xrecvq */
  uint8_t where;             /* X_*, under the channel's lock */
  uint8_t is_send;
  uint8_t waiting; /* holds a remote wait on base.L (its thread only) */
  uint8_t hold;    /* a receive holds the reserved slot */
  uint8_t sent;    /* a send's message is in */
  size_t slot;     /* the reserved slot, while hold */
  void *out;       /* a receive's destination */
  uva_free_cb elem_free;
  size_t size; /* of this object */
  char msg[];  /* a send's message */
};

/* ---- the lists (locked) -------------------------------------------------- */

static void xl_push(uva__xlist_t *q, uva__xop_t *x) {
  x->xnext = NULL;
  x->xprev = q->tail;
  if (q->tail != NULL)
    q->tail->xnext = x;
  else
    q->head = x;
  q->tail = x;
  x->where = X_LISTED;
}

static void xl_remove(uva__xlist_t *q, uva__xop_t *x) {
  if (x->xprev != NULL)
    x->xprev->xnext = x->xnext;
  else
    q->head = x->xnext;
  if (x->xnext != NULL)
    x->xnext->xprev = x->xprev;
  else
    q->tail = x->xprev;
  x->xnext = x->xprev = NULL;
  x->where = X_IDLE;
}

/* Wakes every waiter on q, the oldest first: a loop's inbox is first in,
 * first out, so the waiters of one loop retry in the order they began to
 * wait. */
static void xl_wake_all(uva__xlist_t *q) {
  uva__xop_t *x = q->head, *next;

  q->head = q->tail = NULL;
  for (; x != NULL; x = next) {
    next = x->xnext;
    x->xnext = x->xprev = NULL;
    x->where = X_WOKEN;
    uva__remote_post(x->base.L, &x->node);
  }
}

void uva__chan_xwake(uva_chan_t *ch) {
  if (ch->xsendq.head != NULL && (ch->closed || has_room(ch)))
    xl_wake_all(&ch->xsendq);
  if (ch->xrecvq.head != NULL && (ch->closed || has_avail(ch)))
    xl_wake_all(&ch->xrecvq);
}

/* ---- the steps (locked, on the foreign loop's thread) -------------------- */

/* Sends msg if the channel has room.  Returns 0 with the status in *st
 * (0, or UV_EPIPE: closed), or UVA_PENDING having done nothing. */
static int xsend_step(uva_chan_t *ch, const void *msg, int *st) {
  if (ch->closed) {
    *st = UV_EPIPE;
    return 0;
  }
  if (!has_room(ch))
    return UVA_PENDING;
  ring_push(ch, msg);
  uva__chan_tell(ch);
  *st = 0;
  return 0;
}

/* Receives the oldest available message: into out when sure (the consumer
 * takes the result whatever happens; x may then be NULL), else reserved
 * for x.  Returns 0 with the status in *st (0, or UV_EOF: closed and
 * drained), or UVA_PENDING having done nothing. */
static int xrecv_step(uva_chan_t *ch, uva__xop_t *x, void *out, int sure,
                      int *st) {
  if (has_avail(ch)) {
    if (sure) {
      take_avail(ch, out);
      uva__chan_tell(ch); /* room */
    } else {
      x->slot = reserve(ch); /* no one can do more than before */
      x->hold = 1;
    }
    *st = 0;
    return 0;
  }
  if (ch->closed) {
    *st = UV_EOF;
    return 0;
  }
  return UVA_PENDING;
}

static int xop_step(uva__xop_t *x, int *st) {
  if (x->is_send) {
    int r = xsend_step(x->ch, x->msg, st);
    if (r == 0 && *st == 0)
      x->sent = 1;
    return r;
  }
  return xrecv_step(x->ch, x, x->out, takes_for_sure(&x->base), st);
}

/* Locked: x could not complete: it waits on its list, holding a remote wait
 * on its loop.  Returns UVA_PENDING, or 0 with the error in *st. */
static int xop_wait(uva__xop_t *x, int *st) {
  uva_chan_t *ch = x->ch;
  int err;

  if (!x->waiting) {
    if ((err = uva__remote_wait_begin(x->base.L)) != 0) {
      *st = err;
      return 0;
    }
    x->waiting = 1;
  }
  xl_push(x->is_send ? &ch->xsendq : &ch->xrecvq, x);
  return UVA_PENDING;
}

/* Unlocked: x is done with st. */
static void xop_done(uva__xop_t *x, int st) {
  if (x->waiting) {
    x->waiting = 0;
    uva__remote_wait_end(x->base.L);
  }
  uva__settle_err(&x->base, st);
}

/* ---- the future's hooks (the foreign loop's thread) ---------------------- */

/* Locked (entered by the caller): tries x's step, else puts x on its list
 * to wait; unlocks, and settles x if it is done. */
static void xop_try(uva__xop_t *x) {
  uva_chan_t *ch = x->ch;
  int st, r = xop_step(x, &st);

  if (r != 0)
    r = xop_wait(x, &st);
  uv_mutex_unlock(&ch->lock);
  if (r == 0)
    xop_done(x, st);
}

static void xop_start(uva_future_t *f) {
  uva__xop_t *x = (uva__xop_t *)f;

  uva__chan_tenter(x->ch);
  xop_try(x);
}

/* A waker posted the node: the channel changed, try again. */
static void xop_retry(uva__remote_t *rm) {
  uva__xop_t *x = uva__container_of(rm, uva__xop_t, node);
  uva_chan_t *ch = x->ch;

  uva__chan_tenter(ch);
  if (x->where != X_WOKEN) { /* cannot happen: a cancel takes the node back */
    uv_mutex_unlock(&ch->lock);
    return;
  }
  x->where = X_IDLE;
  xop_try(x);
}

static void xop_cancel(uva_future_t *f) {
  uva__xop_t *x = (uva__xop_t *)f;
  uva_chan_t *ch = x->ch;

  uva__chan_tenter(ch);
  if (x->where == X_LISTED)
    xl_remove(x->is_send ? &ch->xsendq : &ch->xrecvq, x);
  else if (x->where == X_WOKEN)
    uva__remote_cancel(f->L, &x->node); /* every waiter of its kind was
                                          * woken too: nothing is lost */
  x->where = X_IDLE;
  uv_mutex_unlock(&ch->lock);
  xop_done(x, UV_ECANCELED);
}

/* The receive's result is taken: its reserved message goes to out and
 * leaves the channel. */
static void xrecv_take(uva_future_t *f) {
  uva__xop_t *x = (uva__xop_t *)f;
  uva_chan_t *ch = x->ch;

  if (!x->hold)
    return;
  uva__chan_tenter(ch);
  msg_copy(x->out, slot_ptr(ch, x->slot), ch->elem);
  remove_slot(ch, x->slot);
  x->hold = 0;
  uva__chan_tell(ch);
  uv_mutex_unlock(&ch->lock);
}

/* Dropped untaken: the message is available again, in its place. */
static void xrecv_undo(uva_future_t *f) {
  uva__xop_t *x = (uva__xop_t *)f;
  uva_chan_t *ch = x->ch;

  if (!x->hold)
    return;
  uva__chan_tenter(ch);
  unreserve(ch, x->slot);
  x->hold = 0;
  uva__chan_tell(ch);
  uv_mutex_unlock(&ch->lock);
}

/* Frees x; its last touch of the channel is the count of foreign
 * futures. */
static void xop_free(uva__xop_t *x) {
  uva_chan_t *ch = x->ch;
  uva__future_free_mem(&x->base, x->size);
  atomic_fetch_sub_explicit(&ch->xrefs, 1, memory_order_release);
}

static void xop_release(uva_future_t *f) {
  uva__xop_t *x = (uva__xop_t *)f;
  if (x->is_send && !x->sent)
    msg_free(x->elem_free, x->msg);
  xop_free(x);
}

/* uva_await's one step: done at once if it can be (a receive takes for
 * sure: its consumer is the awaiting task). */
static int xop_now(uva_future_t *f, uva_result_t *out) {
  uva__xop_t *x = (uva__xop_t *)f;
  uva_chan_t *ch = x->ch;
  int st, r;

  (void)out;
  uva__chan_tenter(ch);
  r = x->is_send ? xsend_step(ch, x->msg, &st)
                 : xrecv_step(ch, x, x->out, 1, &st);
  uv_mutex_unlock(&ch->lock);
  if (r != 0 || st != 0)
    return UVA_PENDING; /* nothing done: start reports a close */
  xop_free(x);
  return 0;
}

static void xop_describe(const uva_future_t *f, char *buf, size_t n) {
  uva__chan_describe(((const uva__xop_t *)f)->ch, buf, n);
}

static const uva__ops_t xsend_ops = {
    .describe = xop_describe,
    .name = "chan_send (other loop)",
    .cancel = xop_cancel,
    .release = xop_release,
    .start = xop_start,
    .now = xop_now,
};

static const uva__ops_t xrecv_ops = {
    .describe = xop_describe,
    .name = "chan_recv (other loop)",
    .cancel = xop_cancel,
    .release = xop_release,
    .start = xop_start,
    .take = xrecv_take,
    .undo = xrecv_undo,
    .now = xop_now,
};

/* ---- entry points (chan.c, chan-ops.c route here) ------------------------ */

static uva__xop_t *xop_new(uva_chan_t *ch, uva__loop_t *R,
                           const uva__ops_t *ops, size_t extra) {
  size_t size = sizeof(uva__xop_t) + extra;
  uva__xop_t *x = (uva__xop_t *)uva__future_alloc(R, ops, size);

  if (x == NULL)
    return NULL;
  memset((char *)x + sizeof(x->base), 0, sizeof(*x) - sizeof(x->base));
  x->base.flags |= UVA__F_LAZY;
  x->ch = ch;
  x->node.cb = xop_retry;
  x->size = size;
  atomic_fetch_add_explicit(&ch->xrefs, 1, memory_order_relaxed);
  return x;
}

uva_future_t *uva__chan_xsend(uva_chan_t *ch, const void *msg,
                              uva__loop_t *R) {
  uva__xop_t *x;
  int closed;

  if (R == NULL)
    return uva__failed(NULL, UV_EINVAL); /* a thread uva cannot place */
  uva__chan_tenter(ch);
  closed = ch->closed;
  uv_mutex_unlock(&ch->lock);
  if (closed)
    return uva__failed(R, UV_EPIPE); /* nothing could ever get in */
  x = xop_new(ch, R, &xsend_ops, ch->elem);
  if (x == NULL)
    return uva__failed(R, UV_ENOMEM); /* the message stays the caller's */
  x->is_send = 1;
  x->elem_free = ch->elem_free;
  msg_copy(x->msg, msg, ch->elem);
  return &x->base;
}

uva_future_t *uva__chan_xrecv(uva_chan_t *ch, void *out, uva__loop_t *R) {
  uva__xop_t *x;
  int eof;

  if (R == NULL)
    return uva__failed(NULL, UV_EINVAL);
  uva__chan_tenter(ch);
  eof = ch->closed && !has_avail(ch);
  uv_mutex_unlock(&ch->lock);
  if (eof)
    return uva__failed(R, UV_EOF); /* final, so not lazy */
  x = xop_new(ch, R, &xrecv_ops, 0);
  if (x == NULL)
    return uva__failed(R, UV_ENOMEM);
  x->out = out;
  return &x->base;
}

/* Whether the running code is a task of R that may go on. */
static inline int in_live_task_of(uva__loop_t *R) {
  return R->current != NULL && !(R->current->base.flags & UVA__F_CANCEL);
}

int uva__chan_xsend_wait(uva_chan_t *ch, const void *msg, uva__loop_t *R) {
  int err, r = UVA_PENDING;

  if (in_live_task_of(R)) { /* at once if it can, without a future */
    uva__chan_tenter(ch);
    r = xsend_step(ch, msg, &err);
    uv_mutex_unlock(&ch->lock);
  }
  if (r != 0)
    return uva_await(uva__chan_xsend(ch, msg, R), NULL);
  if (err == 0)
    uva__coop_spend(R);
  return err;
}

int uva__chan_xrecv_wait(uva_chan_t *ch, void *out, uva__loop_t *R) {
  int err, r = UVA_PENDING;

  if (in_live_task_of(R)) { /* the task takes for sure: no reservation */
    uva__chan_tenter(ch);
    r = xrecv_step(ch, NULL, out, 1, &err);
    uv_mutex_unlock(&ch->lock);
  }
  if (r != 0)
    return uva_await(uva__chan_xrecv(ch, out, R), NULL);
  if (err == 0)
    uva__coop_spend(R);
  return err;
}

/* try_send and try_recv off the channel's loop (any thread): the same rules
 * as on it, under the lock. */
int uva__chan_xtry_send(uva_chan_t *ch, const void *msg) {
  int err = 0;

  uva__chan_tenter(ch);
  if (ch->closed) {
    err = UV_EPIPE;
  } else if (!has_room(ch) || ch->sendq.head != NULL) {
    err = UV_EAGAIN; /* full, or the loop's waiting senders go first */
  } else {
    ring_push(ch, msg);
    uva__chan_tell(ch);
  }
  uv_mutex_unlock(&ch->lock);
  return err;
}

int uva__chan_xtry_recv(uva_chan_t *ch, void *out) {
  int err = 0;

  uva__chan_tenter(ch);
  if (ch->recvq.head == NULL && has_avail(ch)) {
    take_avail(ch, out);
    uva__chan_tell(ch);
  } else if (ch->closed && !has_avail(ch)) {
    err = UV_EOF;
  } else {
    err = UV_EAGAIN; /* empty, or the loop's waiting receivers go first */
  }
  uv_mutex_unlock(&ch->lock);
  return err;
}
