/* Channel sends and receives: the lazy futures (start, cancel, take,
 * undo, the one step of uva_await), the inline fast paths and the
 * hand-off to a parked receiver, and the task calls (uva_chan_send_wait,
 * uva_chan_recv_wait) that park on a node on the task's own stack when they
 * must wait.  The channel's state and its helpers are in chan-internal.h;
 * the design is described at the top of chan.c. */
#include "chan-internal.h"

/* ---- send and receive futures --------------------------------------------- */


/* Puts f on a waiter list (senders or receivers) and holds the remote wait
 * it needs.  Returns 1 when it left the channel (lock-free mode: nothing
 * else can move, the caller is done), 0 when the caller still finishes
 * (locked mode, or f failed: its error is in d). */
static int waiter_add(uva_chan_t *ch, int locked, uva__waitq_t *q,
                      uva_future_t *f, done_t *d) {
  int err;

  uva__waitq_push(q, f);
  ch->quiet = 0;
  if (!ch->strong && (err = waits_hold(ch)) != 0) {
    uva__waitq_remove(q, f);
    done_add(d, f, err);
    return 0;
  }
  if (locked)
    return 0;
  lleave(ch, locked);
  return 1;
}

/* A waiting send or receive is cancelled: off its list, settled. */
static void waiter_cancel(uva_chan_t *ch, uva__waitq_t *q, uva_future_t *f) {
  done_t d = {NULL, NULL};
  int locked;

  if (ch->dead) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  locked = lenter(ch);
  uva__waitq_remove(q, f);
  done_add(&d, f, UV_ECANCELED);
  uva__chan_finish(ch, locked, &d);
}

static void send_start(uva_future_t *f) {
  uva__send_t *s = (uva__send_t *)f;
  uva_chan_t *ch = s->ch;
  done_t d = {NULL, NULL};
  int locked;

  if (ch->dead) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  locked = lenter(ch);
  if (ch->closed) {
    done_add(&d, f, UV_EPIPE);
  } else if (has_room(ch) && ch->sendq.head == NULL) {
    ring_push(ch, s->msg);
    f->flags |= F_SENT;
    done_add(&d, f, 0);
  } else if (waiter_add(ch, locked, &ch->sendq, f, &d)) {
    return; /* it waits: nothing else can move (no room, earlier senders) */
  }
  uva__chan_finish(ch, locked, &d);
}

static void send_cancel(uva_future_t *f) {
  uva_chan_t *ch = ((uva__send_t *)f)->ch;
  waiter_cancel(ch, &ch->sendq, f);
}

/* A message that never got in is freed with the channel's element free
 * function (ownership passed to the channel with uva_chan_send). */
static void send_release(uva_future_t *f) {
  uva__send_t *s = (uva__send_t *)f;
  uva_chan_t *ch = s->ch;
  if (!(f->flags & F_SENT))
    msg_free(s->elem_free, s->msg);
  uva__future_free_mem(f, s->size);
  uva__chan_unref(ch);
}

/* The hand-off (lock-free mode, entered, a receiver that takes its result
 * for sure at the head of the list, nothing in the ring): the message goes
 * straight from the sender to that receiver's out, and the receiver is
 * woken.  Leaves the channel. */
static inline void handoff(uva_chan_t *ch, const void *msg) {
  uva__recv_t *r = (uva__recv_t *)uva__waitq_pop(&ch->recvq);
  msg_copy(r->out, msg, ch->elem);
  if (ch->recvq.head == NULL && ch->sendq.head == NULL && ch->strong) {
    ch->strong = 0; /* no waiter left: the remote wait goes */
    uva__remote_wait_end(ch->L);
    requiet(ch);
  }
  lleave(ch, 0);
  uva__settle_quick(&r->base, 0);
}

/* Entered (locked as lenter said): sends msg if there is room and no
 * earlier sender waits: straight to the oldest waiting receiver when it
 * takes its result for sure, else into the ring.  Returns 0 having left the
 * channel (and moved things along), or UVA_PENDING still entered, having
 * done nothing. */
static int send_step(uva_chan_t *ch, int locked, const void *msg) {
  int need;

  if (ch->closed || !has_room(ch) || ch->sendq.head != NULL)
    return UVA_PENDING;
  if (!locked && ch->recvq.head != NULL && ch->count == 0 &&
      takes_for_sure(ch->recvq.head)) {
    handoff(ch, msg);
    return 0;
  }
  ring_push(ch, msg);
  need = pump_needed(ch, locked);
  lleave(ch, locked);
  if (need)
    uva__chan_pump(ch); /* a receiver waits, or threads do */
  return 0;
}

/* Enters ch (*locked as lenter says) and does send_step's two common cases
 * inline: room and nobody waiting (into the ring), one receiver parked
 * (the hand-off).  Returns 0 having left the channel, or UVA_PENDING still
 * entered, having done nothing (send_step may still send).  Loop thread. */
static inline __attribute__((always_inline)) int
send_enter(uva_chan_t *ch, const void *msg, int *locked) {
  int l = lenter(ch);

  *locked = l;
  if (uva__likely(!l)) {
    if (uva__likely(ch->quiet && ch->count < ch->cap)) {
      ring_push(ch, msg);
      lleave(ch, 0);
      return 0;
    }
    if (ch->recvq.head != NULL && ch->count == 0 && !ch->closed &&
        ch->sendq.head == NULL && takes_for_sure(ch->recvq.head)) {
      handoff(ch, msg);
      return 0;
    }
  }
  return UVA_PENDING;
}

/* Sends msg now if it can go (see send_enter).  Returns 0, or UVA_PENDING
 * having done nothing.  Loop thread. */
static int send_here(uva_chan_t *ch, const void *msg) {
  int locked;

  if (send_enter(ch, msg, &locked) == 0 || send_step(ch, locked, msg) == 0)
    return 0;
  lleave(ch, locked);
  return UVA_PENDING;
}

/* Entered (locked as lenter said): receives into out if a message is
 * available and no earlier receiver waits.  Returns 0 having left the
 * channel (and moved things along), or UVA_PENDING still entered, having
 * done nothing. */
static int recv_step(uva_chan_t *ch, int locked, void *out) {
  int need;

  if (ch->recvq.head != NULL || !has_avail(ch))
    return UVA_PENDING;
  take_avail(ch, out);
  need = pump_needed(ch, locked);
  lleave(ch, locked);
  if (need)
    uva__chan_pump(ch); /* a sender waits for the room, or threads do */
  return 0;
}

/* Enters ch (*locked as lenter says) and does recv_step's common case
 * inline: messages, none reserved, nobody waiting.  Returns 0 having left
 * the channel, or UVA_PENDING still entered, having done nothing (recv_step
 * may still receive).  Loop thread. */
static inline __attribute__((always_inline)) int
recv_enter(uva_chan_t *ch, void *out, int *locked) {
  int l = lenter(ch);

  *locked = l;
  if (uva__likely(!l && ch->quiet && ch->count > 0)) {
    msg_copy(out, slot_ptr(ch, ch->head), ch->elem);
    pop_front(ch);
    lleave(ch, 0);
    return 0;
  }
  return UVA_PENDING;
}

/* Receives into out now if a message is there for it.  Returns 0, or
 * UVA_PENDING having done nothing.  Loop thread. */
static int recv_here(uva_chan_t *ch, void *out) {
  int locked;

  if (recv_enter(ch, out, &locked) == 0 || recv_step(ch, locked, out) == 0)
    return 0;
  lleave(ch, locked);
  return UVA_PENDING;
}

/* uva_await's one step (ops->now). */
static int send_now(uva_future_t *f, uva_result_t *out) {
  uva__send_t *s = (uva__send_t *)f;
  uva_chan_t *ch = s->ch;

  (void)out;
  if (ch->dead || send_here(ch, s->msg) != 0)
    return UVA_PENDING;
  uva__future_free_mem(f, s->size); /* sent: nothing to free but f */
  uva__chan_unref(ch);
  return 0;
}

static void chan_op_describe(const uva_future_t *f, char *buf, size_t n);

static const uva__ops_t send_ops = {
    .describe = chan_op_describe,
    .name = "chan_send",
    .cancel = send_cancel,
    .release = send_release,
    .start = send_start,
    .now = send_now,
};

static void recv_start(uva_future_t *f) {
  uva__recv_t *r = (uva__recv_t *)f;
  uva_chan_t *ch = r->ch;
  done_t d = {NULL, NULL};
  int locked;

  if (ch->dead) {
    uva__settle_err(f, UV_ECANCELED);
    return;
  }
  locked = lenter(ch);
  if (ch->recvq.head == NULL && has_avail(ch)) {
    r->slot = reserve(ch);
    hold_add(ch, r);
    done_add(&d, f, 0);
  } else if (ch->closed && !has_avail(ch)) {
    done_add(&d, f, UV_EOF);
  } else if (waiter_add(ch, locked, &ch->recvq, f, &d)) {
    return; /* it waits: nothing else can move (no message for it) */
  }
  uva__chan_finish(ch, locked, &d);
}

static void recv_cancel(uva_future_t *f) {
  uva_chan_t *ch = ((uva__recv_t *)f)->ch;
  waiter_cancel(ch, &ch->recvq, f);
}

/* The receive's result is taken: its message goes to out and leaves the
 * channel, making room. */
static void recv_take(uva_future_t *f) {
  uva__recv_t *r = (uva__recv_t *)f;
  uva_chan_t *ch = r->ch;
  done_t d = {NULL, NULL};
  int locked;

  if (!(f->flags & F_HOLD))
    return;
  locked = lenter(ch);
  hold_remove(ch, r);
  msg_copy(r->out, slot_ptr(ch, r->slot), ch->elem);
  remove_slot(ch, r->slot);
  uva__chan_finish(ch, locked, &d);
}

/* Dropped untaken: the message is available again, in its place. */
static void recv_undo(uva_future_t *f) {
  uva__recv_t *r = (uva__recv_t *)f;
  uva_chan_t *ch = r->ch;
  done_t d = {NULL, NULL};
  int locked;

  if (!(f->flags & F_HOLD))
    return;
  locked = lenter(ch);
  hold_remove(ch, r);
  unreserve(ch, r->slot);
  uva__chan_finish(ch, locked, &d);
}

static void recv_release(uva_future_t *f) {
  uva_chan_t *ch = ((uva__recv_t *)f)->ch;
  uva__future_free_mem(f, sizeof(uva__recv_t));
  uva__chan_unref(ch);
}

/* uva_await's one step (ops->now). */
static int recv_now(uva_future_t *f, uva_result_t *out) {
  uva__recv_t *r = (uva__recv_t *)f;
  uva_chan_t *ch = r->ch;

  (void)out;
  if (ch->dead || recv_here(ch, r->out) != 0)
    return UVA_PENDING;
  uva__future_free_mem(f, sizeof(*r));
  uva__chan_unref(ch);
  return 0;
}

static const uva__ops_t recv_ops = {
    .describe = chan_op_describe,
    .name = "chan_recv",
    .cancel = recv_cancel,
    .release = recv_release,
    .start = recv_start,
    .take = recv_take,
    .undo = recv_undo,
    .now = recv_now,
};

uva_future_t *uva_chan_send(uva_chan_t *ch, const void *msg) {
  uva__send_t *s;
  size_t size;

  if (ch == NULL || msg == NULL)
    return uva__failed(ch != NULL ? ch->L : NULL, UV_EINVAL);
  if (uva__unlikely(!chan_home(ch))) /* another loop's (chan-xloop.c) */
    return uva__chan_xsend(ch, msg, uva__loop_running());
  if (ch_closed(ch))
    return uva__failed(ch->L, UV_EPIPE); /* nothing could ever get in */
  size = sizeof(*s) + ch->elem;
  s = (uva__send_t *)uva__future_alloc(ch->L, &send_ops, size);
  if (s == NULL)
    return uva__failed(ch->L, UV_ENOMEM); /* the message stays the caller's */
  s->base.flags |= UVA__F_LAZY;
  s->ch = ch;
  s->elem_free = ch->elem_free;
  s->src = NULL;
  s->size = size;
  msg_copy(s->msg, msg, ch->elem);
  ch->refs++;
  return &s->base;
}

uva_future_t *uva_chan_recv(uva_chan_t *ch, void *out) {
  uva__recv_t *r;

  if (ch == NULL || out == NULL)
    return uva__failed(ch != NULL ? ch->L : NULL, UV_EINVAL);
  if (uva__unlikely(!chan_home(ch)))
    return uva__chan_xrecv(ch, out, uva__loop_running());
  {
    /* closed and empty: nothing can ever come (final, so not lazy) */
    int locked = lenter(ch), eof = ch->closed && !has_avail(ch);
    lleave(ch, locked);
    if (eof)
      return uva__failed(ch->L, UV_EOF);
  }
  r = (uva__recv_t *)uva__future_alloc(ch->L, &recv_ops, sizeof(*r));
  if (r == NULL)
    return uva__failed(ch->L, UV_ENOMEM);
  r->base.flags |= UVA__F_LAZY;
  r->ch = ch;
  r->out = out;
  r->hnext = r->hprev = NULL;
  ch->refs++;
  return &r->base;
}

/* Whether the running code is a task of ch's loop that may go on. */
static inline int in_live_task(const uva_chan_t *ch) {
  uva__loop_t *L = uva__loop_running();
  return L == ch->L && L->current != NULL &&
         !(L->current->base.flags & UVA__F_CANCEL);
}

/* Messages up to this size are copied onto a parked sender's stack. */
#define PARK_COPY 64

/* A task's send that send_enter could not complete (entered, locked as
 * lenter said): sends if send_step can, else the task parks on a node on
 * its own stack, with a copy of the message, until the send is served,
 * cancelled or fails. */
static __attribute__((noinline)) int send_park(uva_chan_t *ch, int locked,
                                               const void *msg) {
  uva__send_t node;
  uint64_t copy[PARK_COPY / 8]; /* the message, as uva_chan_send copies */
  int err;

  if (send_step(ch, locked, msg) == 0) {
    uva__coop_spend(ch->L);
    return 0;
  }
  if (ch->closed) {
    lleave(ch, locked);
    return UV_EPIPE;
  }
  if (ch->elem > PARK_COPY) {
    /* a large message: copied into a future, as uva_chan_send does */
    lleave(ch, locked);
    return uva__await_waiting(uva_chan_send(ch, msg), NULL);
  }
  memcpy(copy, msg, ch->elem);
  uva__node_init(&node.base, ch->L, &send_ops);
  node.ch = ch;
  node.src = copy;
  uva__waitq_push(&ch->sendq, &node.base);
  ch->quiet = 0;
  if (!ch->strong && (err = waits_hold(ch)) != 0) {
    uva__waitq_remove(&ch->sendq, &node.base);
    lleave(ch, locked);
    return err;
  }
  lleave(ch, locked);
  if (locked)
    uva__chan_pump(ch); /* threads may have to hear of it, or serve it now */
  return uva__task_park(&node.base);
}

/* A task's receive must wait: as send_park, with the message copied to out
 * by whoever serves it. */
static __attribute__((noinline)) int recv_park(uva_chan_t *ch, int locked,
                                               void *out) {
  uva__recv_t node;
  int err;

  if (recv_step(ch, locked, out) == 0) {
    uva__coop_spend(ch->L);
    return 0;
  }
  if (ch->closed && !has_avail(ch)) {
    lleave(ch, locked);
    return UV_EOF;
  }
  uva__node_init(&node.base, ch->L, &recv_ops);
  node.ch = ch;
  node.out = out;
  uva__waitq_push(&ch->recvq, &node.base);
  ch->quiet = 0;
  if (!ch->strong && (err = waits_hold(ch)) != 0) {
    uva__waitq_remove(&ch->recvq, &node.base);
    lleave(ch, locked);
    return err;
  }
  lleave(ch, locked);
  if (locked)
    uva__chan_pump(ch);
  return uva__task_park(&node.base);
}

int uva_chan_send_wait(uva_chan_t *ch, const void *msg) {
  int locked;

  if (uva__unlikely(ch == NULL || msg == NULL))
    return UV_EINVAL;
  if (uva__likely(in_live_task(ch))) {
    if (send_enter(ch, msg, &locked) != 0)
      return send_park(ch, locked, msg);
    uva__coop_spend(ch->L);
    return 0;
  }
  {
    uva__loop_t *R = uva__loop_running();
    if (R != NULL && R != ch->L) /* a task of another loop */
      return uva__chan_xsend_wait(ch, msg, R);
  }
  return uva_await(uva_chan_send(ch, msg), NULL);
}

int uva_chan_recv_wait(uva_chan_t *ch, void *out) {
  int locked;

  if (uva__unlikely(ch == NULL || out == NULL))
    return UV_EINVAL;
  if (uva__likely(in_live_task(ch))) {
    if (recv_enter(ch, out, &locked) != 0)
      return recv_park(ch, locked, out);
    uva__coop_spend(ch->L);
    return 0;
  }
  {
    uva__loop_t *R = uva__loop_running();
    if (R != NULL && R != ch->L)
      return uva__chan_xrecv_wait(ch, out, R);
  }
  return uva_await(uva_chan_recv(ch, out), NULL);
}

static void chan_op_describe(const uva_future_t *f, char *buf, size_t n) {
  const uva_chan_t *ch = f->ops == &send_ops ? ((const uva__send_t *)f)->ch
                                             : ((const uva__recv_t *)f)->ch;
  uva__chan_describe(ch, buf, n);
}
