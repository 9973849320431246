/* Channels' internal state, shared by lib/sync/chan.c (the ring's life:
 * creation, the pump that moves waiters along, other threads, close and
 * free) and lib/sync/chan-ops.c (the send and receive operations: futures,
 * the task calls that park, the hand-off).  Never installed.  The design
 * is described at the top of chan.c. */
#ifndef UVA_CHAN_INTERNAL_H
#define UVA_CHAN_INTERNAL_H

#include "internal.h"
#include "sync-internal.h"

#include <string.h>

enum { S_AVAIL = 0, S_RESERVED = 1, S_GAP = 2 };

typedef struct uva__recv_s uva__recv_t;
typedef struct uva__xop_s uva__xop_t;

/* Foreign waiters (chan-xloop.c): operations of tasks of other loops that
 * wait, in the order they began to wait (guarded by the lock). */
typedef struct {
  uva__xop_t *head, *tail;
} uva__xlist_t;

struct uva_chan_s {
  uva__loop_t *L;
  size_t elem;
  size_t cap;
  char *ring;
  uint8_t *state; /* per slot; all S_AVAIL while nres == 0 */
  size_t head;    /* slot of the oldest message */
  size_t count;   /* occupied slots from head: messages, reserved or not */
  size_t nres;    /* reserved slots and gaps (taken out of order) */
  size_t scan;    /* no S_AVAIL slot before this offset from head */
  int closed;
  int quiet;   /* not closed, nobody waiting, no reservation, no remote
                * wait: the fast paths need to look at nothing else (kept
                * conservatively: cleared by whatever ends it, set again
                * by requiet) */
  int dead;    /* uva_chan_free was called: only futures keep it */
  int pumping; /* a pump (or an operation's settle) is under way: a pump
                * asked for meanwhile (a settle cancelling a sibling on this
                * channel) is left to it, so that every cancel a settle
                * makes happens before anything else moves */
  int pump_again;
  size_t refs; /* the caller's handle (until freed) and each future */
  uva_free_cb elem_free; /* frees what a message points to, or NULL */
  uva__waitq_t sendq; /* loop senders waiting for room */
  uva__waitq_t recvq; /* loop receivers waiting */
  uva__recv_t *holders; /* settled receives holding a reserved slot */
  int strong;           /* holds a remote wait for its waiters */

  /* the side of other threads */
  atomic_int busy;     /* the loop is inside a lock-free operation */
  atomic_int threaded; /* locked mode: another thread has used it */
  uv_mutex_t lock;
  uv_cond_t room;      /* threads waiting for room */
  uv_cond_t msgs;      /* threads waiting for a message */
  int tsend, trecv;    /* threads blocked on room, on a message */
  int notified;        /* a wake-up is on its way to the loop */
  uva__remote_t remote;
  /* the side of other loops (chan-xloop.c) */
  uva__xlist_t xsendq; /* their senders waiting for room (locked) */
  uva__xlist_t xrecvq; /* their receivers waiting (locked) */
  atomic_size_t xrefs; /* their futures alive on the channel */
#if UVA_STATS
  uva_chan_t *st_prev, *st_next; /* L->st.chans (issue 10, stats.c) */
#endif
};

typedef struct {
  uva_future_t base;
  uva_chan_t *ch;
  uva_free_cb elem_free;
  const void *src; /* a parked task's message (a node), or NULL: in msg */
  size_t size;     /* of this object */
  char msg[];
} uva__send_t;

/* A waiting sender's message. */
static inline const void *send_msg(const uva__send_t *s) {
  return s->src != NULL ? s->src : s->msg;
}

struct uva__recv_s {
  uva_future_t base;
  uva_chan_t *ch;
  void *out;
  size_t slot;               /* the reserved slot, once settled with 0 */
  uva__recv_t *hnext, *hprev; /* ch->holders */
};

#define F_SENT (UVA__F_KIND0 << 0) /* a send's message is in the channel */
#define F_HOLD (UVA__F_KIND0 << 1) /* a receive holds a reserved slot */

/* Futures to settle once the channel is left: linked through next, the
 * status kept in status meanwhile. */
typedef struct {
  uva_future_t *head, *tail;
} done_t;

static inline void done_add(done_t *d, uva_future_t *f, int status) {
  f->status = status;
  f->next = NULL;
  if (d->tail != NULL)
    d->tail->next = f;
  else
    d->head = f;
  d->tail = f;
}

static inline void done_settle(done_t *d) {
  uva_future_t *f;

  while ((f = d->head) != NULL) {
    d->head = f->next;
    f->next = NULL;
    uva__settle_err(f, f->status);
  }
}

/* ---- shared by chan.c, chan-ops.c and chan-xloop.c ---------------------- */

/* Another thread (a plain thread, or a task of another loop): locks the
 * channel, switching it to locked mode first if it is not there yet. */
void uva__chan_tenter(uva_chan_t *ch);
/* Locked, off the channel's loop after a change to the channel (a message
 * in or out, a reservation given back, the close): signals blocked threads,
 * wakes the foreign waiters that may now proceed and posts the wake-up of
 * the channel's loop if its waiters may (coalesced). */
void uva__chan_tell(uva_chan_t *ch);
/* Locked: wakes the foreign waiters that may now proceed (chan-xloop.c). */
void uva__chan_xwake(uva_chan_t *ch);
/* Foreign futures and calls (chan-xloop.c): R is the running loop, not the
 * channel's (NULL: a thread uva cannot place, the futures fail). */
uva_future_t *uva__chan_xsend(uva_chan_t *ch, const void *msg, uva__loop_t *R);
uva_future_t *uva__chan_xrecv(uva_chan_t *ch, void *out, uva__loop_t *R);
int uva__chan_xsend_wait(uva_chan_t *ch, const void *msg, uva__loop_t *R);
int uva__chan_xrecv_wait(uva_chan_t *ch, void *out, uva__loop_t *R);
int uva__chan_xtry_send(uva_chan_t *ch, const void *msg);
int uva__chan_xtry_recv(uva_chan_t *ch, void *out);

/* Whether the caller is on the channel's loop: a task or callback of its
 * loop, or its thread outside any loop's callbacks.  Otherwise it is a
 * task or callback of another loop, or another thread. */
static inline int chan_home(const uva_chan_t *ch) {
  uva__loop_t *R = uva__loop_running();
  if (uva__likely(R == ch->L))
    return 1;
  return R == NULL && uva__on_loop_thread(ch->L);
}

/* The remote wait of the loop's waiters (update_waits without its fast
 * path). */
int uva__chan_waits_slow(uva_chan_t *ch, int want);
/* Moves things along until nothing more can move, settling each future as
 * its step completes (chan.c). */
void uva__chan_pump(uva_chan_t *ch);
/* Ends a loop-side operation: leaves, settles d's future, moves the rest
 * along (chan.c). */
void uva__chan_finish(uva_chan_t *ch, int locked, done_t *d);
/* Drops a reference; the last one frees the channel's memory (chan.c). */
void uva__chan_unref(uva_chan_t *ch);

/* Loop thread: enters an operation.  Returns 1 when the channel is locked
 * (locked mode), 0 when the operation runs lock-free.  Marking the channel
 * busy and then reading its mode needs a store-load barrier against the
 * thread side's (set the mode, then read busy): membarrier gives it from the
 * thread side, so the loop needs only a compiler barrier; without it (and
 * under TSan, which does not know membarrier) both sides use sequentially
 * consistent operations. */
static inline int lenter(uva_chan_t *ch) {
#ifdef UVA__TSAN
  atomic_exchange_explicit(&ch->busy, 1, memory_order_seq_cst);
#else
  /* Without membarrier, channels are made in locked mode (uva_chan_new_ex),
   * so a lock-free operation always has the thread side's barrier. */
  atomic_store_explicit(&ch->busy, 1, memory_order_relaxed);
  atomic_signal_fence(memory_order_seq_cst);
#endif
  if (uva__likely(!atomic_load_explicit(&ch->threaded, memory_order_seq_cst)))
    return 0;
  atomic_store_explicit(&ch->busy, 0, memory_order_release);
  uv_mutex_lock(&ch->lock);
  return 1;
}

static inline void lleave(uva_chan_t *ch, int locked) {
  if (locked)
    uv_mutex_unlock(&ch->lock);
  else
    atomic_store_explicit(&ch->busy, 0, memory_order_release);
}

/* ---- the ring ----------------------------------------------------------- */

static inline size_t slot_of(const uva_chan_t *ch, size_t off) {
  size_t i = ch->head + off;
  return i >= ch->cap ? i - ch->cap : i;
}

static inline char *slot_ptr(const uva_chan_t *ch, size_t slot) {
  return ch->ring + slot * ch->elem;
}

/* Copies one message: the common sizes as single moves. */
static inline void msg_copy(void *dst, const void *src, size_t elem) {
  if (uva__likely(elem == 8)) {
    memcpy(dst, src, 8);
    return;
  }
  switch (elem) {
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

static inline int has_room(const uva_chan_t *ch) { return ch->count < ch->cap; }

/* Sets quiet again if nothing that ends it holds any more (entered). */
static inline void requiet(uva_chan_t *ch) {
  ch->quiet = !ch->closed && ch->sendq.head == NULL && ch->recvq.head == NULL &&
              !ch->strong && ch->nres == 0;
}

/* Loop thread: the channel is closed (read under the lock in locked mode). */
static inline int ch_closed(uva_chan_t *ch) {
  int locked = lenter(ch), closed = ch->closed;
  lleave(ch, locked);
  return closed;
}

/* Slots outside [head, head + count) are always S_AVAIL (pop_front resets
 * what it drops). */
static inline void ring_push(uva_chan_t *ch, const void *msg) {
  size_t s = slot_of(ch, ch->count);
  msg_copy(slot_ptr(ch, s), msg, ch->elem);
  ch->count++;
}

/* Offset of the oldest message no receive holds, or count when none. */
static inline size_t first_avail(uva_chan_t *ch) {
  size_t off;

  if (uva__likely(ch->nres == 0))
    return 0;
  for (off = ch->scan; off < ch->count; off++)
    if (ch->state[slot_of(ch, off)] == S_AVAIL)
      break;
  ch->scan = off;
  return off;
}

static inline int has_avail(uva_chan_t *ch) {
  return first_avail(ch) < ch->count;
}

/* Drops the front slot and the gaps behind it. */
static inline void pop_front(uva_chan_t *ch) {
  if (uva__likely(ch->nres == 0)) {
    if (++ch->head == ch->cap)
      ch->head = 0;
    ch->count--;
    return;
  }
  do {
    if (ch->state[ch->head] != S_AVAIL)
      ch->nres--;
    ch->state[ch->head] = S_AVAIL;
    if (++ch->head == ch->cap)
      ch->head = 0;
    ch->count--;
    if (ch->scan > 0)
      ch->scan--;
  } while (ch->count > 0 && ch->nres > 0 && ch->state[ch->head] == S_GAP);
  if (ch->nres == 0)
    ch->scan = 0;
}

/* Removes the message at slot (held or available): the front one leaves the
 * ring, another one leaves a gap until those before it have gone. */
static inline void remove_slot(uva_chan_t *ch, size_t slot) {
  if (slot == ch->head) {
    pop_front(ch);
    return;
  }
  if (ch->state[slot] == S_AVAIL)
    ch->nres++;
  ch->state[slot] = S_GAP;
  ch->quiet = 0;
}

/* Takes the oldest available message into out (there is one). */
static inline void take_avail(uva_chan_t *ch, void *out) {
  size_t s = slot_of(ch, first_avail(ch));
  msg_copy(out, slot_ptr(ch, s), ch->elem);
  remove_slot(ch, s);
}

/* Reserves the oldest available message (there is one); returns its slot. */
static inline size_t reserve(uva_chan_t *ch) {
  size_t off = first_avail(ch), s = slot_of(ch, off);
  ch->state[s] = S_RESERVED;
  ch->nres++;
  ch->quiet = 0;
  ch->scan = off + 1;
  return s;
}

/* A reserved message becomes available again, in its place. */
static inline void unreserve(uva_chan_t *ch, size_t slot) {
  size_t off = slot >= ch->head ? slot - ch->head : slot + ch->cap - ch->head;
  ch->state[slot] = S_AVAIL;
  if (--ch->nres == 0)
    ch->scan = 0;
  else if (off < ch->scan)
    ch->scan = off;
}

/* ---- waiters ------------------------------------------------------------- */

static inline void hold_add(uva_chan_t *ch, uva__recv_t *r) {
  r->hprev = NULL;
  r->hnext = ch->holders;
  if (ch->holders != NULL)
    ch->holders->hprev = r;
  ch->holders = r;
  r->base.flags |= F_HOLD;
}

static inline void hold_remove(uva_chan_t *ch, uva__recv_t *r) {
  if (r->hprev != NULL)
    r->hprev->hnext = r->hnext;
  else
    ch->holders = r->hnext;
  if (r->hnext != NULL)
    r->hnext->hprev = r->hprev;
  r->hnext = r->hprev = NULL;
  r->base.flags &= ~F_HOLD;
}

/* A waiter was added and the channel holds no remote wait yet: takes
 * one. */
static inline int waits_hold(uva_chan_t *ch) {
  int err = uva__remote_wait_begin(ch->L);
  if (err == 0)
    ch->strong = 1;
  return err;
}

static inline int update_waits(uva_chan_t *ch) {
  int want = ch->recvq.head != NULL || ch->sendq.head != NULL;
  if (uva__likely(want == ch->strong))
    return 0;
  return uva__chan_waits_slow(ch, want);
}

/* Locked mode: tells blocked threads what changed.  One of each kind is
 * woken; a thread that finds more room (or more messages) after its own
 * operation wakes the next (no herd for one free slot); a close wakes all. */
static inline void signal_threads(uva_chan_t *ch, int locked) {
  if (!locked)
    return;
  if (ch->tsend > 0 && has_room(ch))
    uv_cond_signal(&ch->room);
  if (ch->trecv > 0 && has_avail(ch))
    uv_cond_signal(&ch->msgs);
  if (ch->xsendq.head != NULL || ch->xrecvq.head != NULL)
    uva__chan_xwake(ch);
}

/* Whether f's consumer takes its result whatever happens once it settled
 * with 0: a task's uva_await (a cancel that comes later is reported at the
 * next await) and a then callback do.  For such a receive the message goes
 * straight to out, with no reservation. */
static inline int takes_for_sure(const uva_future_t *f) {
  return f->consumer == UVA__C_TASK || f->consumer == UVA__C_THEN ||
         f->consumer == UVA__C_HOOK;
}

/* Before leaving: tells blocked threads what changed (locked mode, so
 * that an operation takes the lock once), and returns whether pump has
 * anything to do: waiters to serve, a remote wait to let go of. */
static inline int pump_needed(uva_chan_t *ch, int locked) {
  if (locked)
    signal_threads(ch, 1);
  return ch->sendq.head != NULL || ch->recvq.head != NULL || ch->strong;
}


/* Frees what a dropped message points to. */
static inline void msg_free(uva_free_cb elem_free, void *msg) {
  if (elem_free != NULL)
    elem_free(msg);
}

#endif /* UVA_CHAN_INTERNAL_H */
