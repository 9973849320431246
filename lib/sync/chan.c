/* Bounded channels of fixed-size messages, exactly once.
 *
 * One ring of cap slots holds every message in the channel, whoever sent it,
 * so a channel never holds more than its capacity.  Sends and receives are
 * lazy futures (they act when consumed).  A receive that completes reserves
 * its message in the ring instead of removing it: the message is copied to
 * the caller's out and removed only when the receive's result is taken, and
 * goes back to the channel, in its place, when the receive is dropped
 * untaken.  Reserved messages count against the capacity until then.
 *
 * While only the loop's thread uses a channel, no operation takes a lock.
 * The first call from another thread (uva_chan_send_blocking,
 * uva_chan_recv_blocking, uva_chan_close, uva_chan_len) switches the channel
 * for good to a mode in which every operation takes the channel's mutex.
 * The switch needs no help from the loop: the loop marks each lock-free
 * operation as busy and then looks at the mode with only a compiler barrier;
 * the thread sets the mode, runs a process-wide barrier (membarrier), then
 * waits for the loop to leave a busy operation (asymmetric Dekker: the loop
 * pays no fence per message).  Where membarrier is missing, channels are
 * made in locked mode.
 *
 * Futures are never settled while the channel is busy or locked: operations
 * collect them and settle them after leaving, since settling may run code
 * (a select dropping its other branches) that uses the same channel. */
#include "internal.h"
#include "sync-internal.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

enum { S_AVAIL = 0, S_RESERVED = 1, S_GAP = 2 };

typedef struct uva__recv_s uva__recv_t;

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

static void done_add(done_t *d, uva_future_t *f, int status) {
  f->status = status;
  f->next = NULL;
  if (d->tail != NULL)
    d->tail->next = f;
  else
    d->head = f;
  d->tail = f;
}

static void done_settle(done_t *d) {
  uva_future_t *f;

  while ((f = d->head) != NULL) {
    d->head = f->next;
    f->next = NULL;
    uva__settle_err(f, f->status);
  }
}

/* ---- lock-free or locked ------------------------------------------------ */

static uv_once_t mb_once = UV_ONCE_INIT;
static int mb_ok; /* membarrier (private expedited) is usable */
static atomic_int mb_fallback;

static void mb_init(void) {
#if defined(__linux__) && defined(SYS_membarrier)
  long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
      syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
              0) == 0)
    mb_ok = 1;
#endif
  if (!mb_ok)
    atomic_store(&mb_fallback, 1);
}

/* The thread side's barrier: every thread of the process has run a full
 * memory barrier when it returns (membarrier).  Returns 0 when it could not
 * (then both sides use sequentially consistent operations instead). */
static int heavy_fence(void) {
#if defined(__linux__) && defined(SYS_membarrier) && !defined(UVA__TSAN)
  if (mb_ok &&
      syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
    return 1;
#endif
  return 0;
}

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

/* Another thread: locks the channel, switching it to locked mode first if
 * it is not there yet. */
static void tenter(uva_chan_t *ch) {
  uv_mutex_lock(&ch->lock);
  if (atomic_load_explicit(&ch->threaded, memory_order_relaxed))
    return;
  atomic_store_explicit(&ch->threaded, 1, memory_order_seq_cst);
  (void)heavy_fence();
  while (atomic_load_explicit(&ch->busy, memory_order_seq_cst))
    sched_yield(); /* the loop is inside one operation: it ends soon */
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
static int ch_closed(uva_chan_t *ch) {
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
static void remove_slot(uva_chan_t *ch, size_t slot) {
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
static size_t reserve(uva_chan_t *ch) {
  size_t off = first_avail(ch), s = slot_of(ch, off);
  ch->state[s] = S_RESERVED;
  ch->nres++;
  ch->quiet = 0;
  ch->scan = off + 1;
  return s;
}

/* A reserved message becomes available again, in its place. */
static void unreserve(uva_chan_t *ch, size_t slot) {
  size_t off = slot >= ch->head ? slot - ch->head : slot + ch->cap - ch->head;
  ch->state[slot] = S_AVAIL;
  if (--ch->nres == 0)
    ch->scan = 0;
  else if (off < ch->scan)
    ch->scan = off;
}

/* ---- waiters ------------------------------------------------------------- */

static void hold_add(uva_chan_t *ch, uva__recv_t *r) {
  r->hprev = NULL;
  r->hnext = ch->holders;
  if (ch->holders != NULL)
    ch->holders->hprev = r;
  ch->holders = r;
  r->base.flags |= F_HOLD;
}

static void hold_remove(uva_chan_t *ch, uva__recv_t *r) {
  if (r->hprev != NULL)
    r->hprev->hnext = r->hnext;
  else
    ch->holders = r->hnext;
  if (r->hnext != NULL)
    r->hnext->hprev = r->hprev;
  r->hnext = r->hprev = NULL;
  r->base.flags &= ~F_HOLD;
}

/* Holds the remote wait the loop's waiters need: a waiting receiver or
 * sender may be served by another thread (uva_chan_send_blocking,
 * uva_chan_recv_blocking, uva_chan_close), so it keeps the async handle
 * open and uv_run alive, as a pending poll future does.  Loop thread.
 * Returns 0 or the error of opening the handle. */
static int update_waits_slow(uva_chan_t *ch, int want) {
  int err;

  if (want && !ch->strong) {
    if ((err = uva__remote_wait_begin(ch->L)) != 0)
      return err;
    ch->strong = 1;
    ch->quiet = 0;
  } else if (!want && ch->strong) {
    ch->strong = 0;
    uva__remote_wait_end(ch->L);
  }
  return 0;
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
  return update_waits_slow(ch, want);
}

/* Locked mode: tells blocked threads what changed.  One of each kind is
 * woken; a thread that finds more room (or more messages) after its own
 * operation wakes the next (no herd for one free slot); a close wakes all. */
static void signal_threads(uva_chan_t *ch, int locked) {
  if (!locked)
    return;
  if (ch->tsend > 0 && has_room(ch))
    uv_cond_signal(&ch->room);
  if (ch->trecv > 0 && has_avail(ch))
    uv_cond_signal(&ch->msgs);
}

/* Whether f's consumer takes its result whatever happens once it settled
 * with 0: a task's uva_await (a cancel that comes later is reported at the
 * next await) and a then callback do.  For such a receive the message goes
 * straight to out, with no reservation. */
static inline int takes_for_sure(const uva_future_t *f) {
  return f->consumer == UVA__C_TASK || f->consumer == UVA__C_THEN;
}

/* One step of moving things along: a waiting sender into the ring (or
 * failed, after a close), the oldest available message reserved for the
 * oldest waiting receiver (or UV_EOF for it, once the channel is closed and
 * empty).  Returns the future that step completed, its status in *st, or
 * NULL when nothing can move. */
static uva_future_t *pump_one(uva_chan_t *ch, int *st) {
  uva_future_t *f;

  if (ch->sendq.head != NULL && (ch->closed || has_room(ch))) {
    f = uva__waitq_pop(&ch->sendq);
    if (ch->closed) {
      *st = UV_EPIPE;
    } else {
      ring_push(ch, send_msg((uva__send_t *)f));
      f->flags |= F_SENT;
      *st = 0;
    }
    return f;
  }
  if (ch->recvq.head != NULL && has_avail(ch)) {
    uva__recv_t *r = (uva__recv_t *)uva__waitq_pop(&ch->recvq);
    if (takes_for_sure(&r->base)) {
      take_avail(ch, r->out);
    } else {
      r->slot = reserve(ch);
      hold_add(ch, r);
    }
    *st = 0;
    return &r->base;
  }
  if (ch->recvq.head != NULL && ch->closed && !has_avail(ch)) {
    *st = UV_EOF;
    return uva__waitq_pop(&ch->recvq);
  }
  return NULL;
}

/* Moves things along until nothing more can move, settling each future as
 * its step completes, outside the channel: settling one may cancel another
 * (a select dropping its other branches), which must then not take effect.
 * Ends with the remote waits fixed and blocked threads told. */
static void pump(uva_chan_t *ch) {
  for (;;) {
    int st, locked = lenter(ch);
    uva_future_t *f = pump_one(ch, &st);
    if (f == NULL) {
      (void)update_waits(ch); /* only releases here: cannot fail */
      requiet(ch);
      signal_threads(ch, locked);
      lleave(ch, locked);
      return;
    }
    lleave(ch, locked);
    uva__settle_err(f, st);
  }
}

/* Before leaving: tells blocked threads what changed (locked mode, so
 * that an operation takes the lock once), and returns whether pump has
 * anything to do: waiters to serve, a remote wait to let go of. */
static inline int pump_needed(uva_chan_t *ch, int locked) {
  if (locked)
    signal_threads(ch, 1);
  return ch->sendq.head != NULL || ch->recvq.head != NULL || ch->strong;
}

/* Ends a loop-side operation: leaves, settles the operation's own future
 * (d holds at most that one) first, then moves the rest along. */
static void finish(uva_chan_t *ch, int locked, done_t *d) {
  int need = pump_needed(ch, locked);
  if (!need)
    requiet(ch);
  lleave(ch, locked);
  done_settle(d);
  if (need)
    pump(ch);
}

/* ---- send and receive futures --------------------------------------------- */

static void msg_free(uva_free_cb elem_free, void *msg) {
  if (elem_free != NULL)
    elem_free(msg);
}

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
  finish(ch, locked, &d);
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
  finish(ch, locked, &d);
}

static void send_cancel(uva_future_t *f) {
  uva_chan_t *ch = ((uva__send_t *)f)->ch;
  waiter_cancel(ch, &ch->sendq, f);
}

/* A message that never got in is freed with the channel's element free
 * function (ownership passed to the channel with uva_chan_send). */
static void chan_unref(uva_chan_t *ch);

static void send_release(uva_future_t *f) {
  uva__send_t *s = (uva__send_t *)f;
  uva_chan_t *ch = s->ch;
  if (!(f->flags & F_SENT))
    msg_free(s->elem_free, s->msg);
  uva__future_free_mem(f, s->size);
  chan_unref(ch);
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
    pump(ch); /* a receiver waits, or threads do */
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
    pump(ch); /* a sender waits for the room, or threads do */
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
  chan_unref(ch);
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
  finish(ch, locked, &d);
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
  finish(ch, locked, &d);
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
  finish(ch, locked, &d);
}

static void recv_release(uva_future_t *f) {
  uva_chan_t *ch = ((uva__recv_t *)f)->ch;
  uva__future_free_mem(f, sizeof(uva__recv_t));
  chan_unref(ch);
}

/* uva_await's one step (ops->now). */
static int recv_now(uva_future_t *f, uva_result_t *out) {
  uva__recv_t *r = (uva__recv_t *)f;
  uva_chan_t *ch = r->ch;

  (void)out;
  if (ch->dead || recv_here(ch, r->out) != 0)
    return UVA_PENDING;
  uva__future_free_mem(f, sizeof(*r));
  chan_unref(ch);
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

/* ---- the side of other threads ------------------------------------------ */

/* Runs on the loop thread after a thread changed what loop waiters wait for
 * (a message, room, the close). */
static void chan_remote_cb(uva__remote_t *rm) {
  uva_chan_t *ch = uva__container_of(rm, uva_chan_t, remote);
  done_t d = {NULL, NULL};
  int locked = lenter(ch);

  ch->notified = 0;
  finish(ch, locked, &d);
}

/* Locked, on another thread: wakes the loop if it has waiters (coalesced).
 * Returns 1 if the caller must post the wake-up after unlocking. */
static int need_wake(uva_chan_t *ch) {
  if (ch->notified || (ch->sendq.head == NULL && ch->recvq.head == NULL))
    return 0;
  ch->notified = 1;
  return 1;
}

int uva_chan_send_blocking(uva_chan_t *ch, const void *msg) {
  int wake;

  if (ch == NULL || msg == NULL || uva__on_loop_thread(ch->L))
    return UV_EINVAL;
  tenter(ch);
  while (!ch->closed && !has_room(ch)) {
    ch->tsend++;
    uv_cond_wait(&ch->room, &ch->lock);
    ch->tsend--;
  }
  if (ch->closed) {
    uv_mutex_unlock(&ch->lock);
    return UV_EPIPE;
  }
  ring_push(ch, msg);
  if (ch->trecv > 0)
    uv_cond_signal(&ch->msgs);
  if (ch->tsend > 0 && has_room(ch))
    uv_cond_signal(&ch->room); /* the next blocked sender */
  wake = ch->recvq.head != NULL && need_wake(ch);
  uv_mutex_unlock(&ch->lock);
  /* The channel is still there: it may not be freed before we return. */
  if (wake)
    uva__remote_post(ch->L, &ch->remote);
  return 0;
}

int uva_chan_recv_blocking(uva_chan_t *ch, void *out) {
  int wake;

  if (ch == NULL || out == NULL || uva__on_loop_thread(ch->L))
    return UV_EINVAL;
  tenter(ch);
  while (!has_avail(ch) && !(ch->closed && !has_avail(ch))) {
    ch->trecv++;
    uv_cond_wait(&ch->msgs, &ch->lock);
    ch->trecv--;
  }
  if (!has_avail(ch)) {
    uv_mutex_unlock(&ch->lock);
    return UV_EOF;
  }
  take_avail(ch, out);
  if (ch->tsend > 0)
    uv_cond_signal(&ch->room);
  if (ch->trecv > 0 && has_avail(ch))
    uv_cond_signal(&ch->msgs); /* the next blocked receiver */
  wake = ch->sendq.head != NULL && need_wake(ch);
  uv_mutex_unlock(&ch->lock);
  if (wake)
    uva__remote_post(ch->L, &ch->remote);
  return 0;
}

/* ---- public API --------------------------------------------------------- */

int uva_chan_new_ex(uv_loop_t *loop, size_t elem_size, size_t capacity,
                    uva_free_cb elem_free, uva_chan_t **out) {
  uva__loop_t *L;
  uva_chan_t *ch;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || elem_size == 0 || capacity == 0 ||
      capacity > (SIZE_MAX - capacity) / elem_size)
    return UV_EINVAL;
  uv_once(&mb_once, mb_init);
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
  ch->elem_free = elem_free;
  ch->quiet = 1;
  /* the ring and its slot states in one allocation */
  ch->ring = uva__calloc(1, capacity * elem_size + capacity);
  if (ch->ring == NULL)
    goto fail;
  ch->state = (uint8_t *)ch->ring + capacity * elem_size;
  if (uv_mutex_init(&ch->lock) != 0)
    goto fail;
  if (uv_cond_init(&ch->room) != 0) {
    uv_mutex_destroy(&ch->lock);
    goto fail;
  }
  if (uv_cond_init(&ch->msgs) != 0) {
    uv_cond_destroy(&ch->room);
    uv_mutex_destroy(&ch->lock);
    goto fail;
  }
  atomic_init(&ch->busy, 0);
#ifdef UVA__TSAN
  atomic_init(&ch->threaded, 0); /* both sides use seq_cst operations */
#else
  /* no membarrier: locked mode from the start (see lenter) */
  atomic_init(&ch->threaded, atomic_load(&mb_fallback) ? 1 : 0);
#endif
  ch->remote.cb = chan_remote_cb;
  ch->refs = 1;
#if UVA_STATS /* issue 10: on L's list of channels for uva_loop_dump */
  ch->st_next = L->st.chans;
  if (L->st.chans != NULL)
    L->st.chans->st_prev = ch;
  L->st.chans = ch;
  L->st.channels++;
#endif
  *out = ch;
  return 0;

fail:
  uva__free(ch->ring);
  uva__obj_free(L, ch, sizeof(*ch));
  return UV_ENOMEM;
}

int uva_chan_new(uv_loop_t *loop, size_t elem_size, size_t capacity,
                 uva_chan_t **out) {
  return uva_chan_new_ex(loop, elem_size, capacity, NULL, out);
}

uva_future_t *uva_chan_send(uva_chan_t *ch, const void *msg) {
  uva__send_t *s;
  size_t size;

  if (ch == NULL || msg == NULL)
    return uva__failed(ch != NULL ? ch->L : NULL, UV_EINVAL);
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
    pump(ch); /* threads may have to hear of it, or serve it now */
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
    pump(ch);
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
  return uva_await(uva_chan_recv(ch, out), NULL);
}

int uva_chan_try_send(uva_chan_t *ch, const void *msg) {
  done_t d = {NULL, NULL};
  int locked, err = 0;

  if (ch == NULL || msg == NULL)
    return UV_EINVAL;
  locked = lenter(ch);
  if (ch->closed)
    err = UV_EPIPE;
  else if (!has_room(ch) || ch->sendq.head != NULL)
    err = UV_EAGAIN; /* full, or earlier senders go first */
  else
    ring_push(ch, msg);
  finish(ch, locked, &d);
  return err;
}

int uva_chan_try_recv(uva_chan_t *ch, void *out) {
  done_t d = {NULL, NULL};
  int locked, err = 0;

  if (ch == NULL || out == NULL)
    return UV_EINVAL;
  locked = lenter(ch);
  if (ch->recvq.head == NULL && has_avail(ch))
    take_avail(ch, out);
  else if (ch->closed && !has_avail(ch))
    err = UV_EOF;
  else
    err = UV_EAGAIN; /* empty, or earlier receivers go first */
  finish(ch, locked, &d);
  return err;
}

int uva_chan_close(uva_chan_t *ch) {
  done_t d = {NULL, NULL};
  int locked, wake;

  if (ch == NULL)
    return UV_EINVAL;
  if (!uva__on_loop_thread(ch->L)) {
    tenter(ch);
    if (ch->closed) {
      uv_mutex_unlock(&ch->lock);
      return UV_EPIPE;
    }
    ch->closed = 1;
    ch->quiet = 0;
    uv_cond_broadcast(&ch->room);
    uv_cond_broadcast(&ch->msgs);
    wake = need_wake(ch);
    uv_mutex_unlock(&ch->lock);
    if (wake)
      uva__remote_post(ch->L, &ch->remote);
    return 0;
  }
  locked = lenter(ch);
  if (ch->closed) {
    lleave(ch, locked);
    return UV_EPIPE;
  }
  ch->closed = 1;
  ch->quiet = 0;
  if (locked) {
    uv_cond_broadcast(&ch->room);
    uv_cond_broadcast(&ch->msgs);
  }
  finish(ch, locked, &d);
  return 0;
}

size_t uva_chan_len(uva_chan_t *ch) {
  size_t n;
  int locked;

  if (ch == NULL)
    return 0;
  if (!uva__on_loop_thread(ch->L)) {
    tenter(ch);
    n = ch->count - ch->nres;
    uv_mutex_unlock(&ch->lock);
    return n;
  }
  locked = lenter(ch);
  n = ch->count - ch->nres;
  lleave(ch, locked);
  return n;
}

/* The last reference went: the channel's memory goes. */
static void chan_unref(uva_chan_t *ch) {
  if (--ch->refs == 0)
    uva__obj_free(ch->L, ch, sizeof(*ch));
}

void uva_chan_free(uva_chan_t *ch) {
  uva_future_t *f;
  uva__recv_t *r;
  size_t off;

  if (ch == NULL || ch->dead)
    return;
  ch->refs++; /* the futures settled below may drop theirs meanwhile */
  uva__remote_cancel(ch->L, &ch->remote);
  /* One at a time: settling one may cancel another (a select). */
  while ((f = uva__waitq_pop(&ch->sendq)) != NULL ||
         (f = uva__waitq_pop(&ch->recvq)) != NULL)
    uva__settle_err(f, UV_ECANCELED);
  ch->dead = 1;
#if UVA_STATS /* issue 10: off L's list of channels */
  if (ch->st_prev != NULL)
    ch->st_prev->st_next = ch->st_next;
  else
    ch->L->st.chans = ch->st_next;
  if (ch->st_next != NULL)
    ch->st_next->st_prev = ch->st_prev;
  ch->L->st.channels--;
#endif
  /* Receives that completed but were not taken yet: their messages go with
   * the channel, and they report UV_ECANCELED when taken. */
  while ((r = ch->holders) != NULL) {
    hold_remove(ch, r);
    r->base.status = UV_ECANCELED;
  }
  (void)update_waits(ch);
  for (off = 0; off < ch->count; off++) {
    size_t s = slot_of(ch, off);
    if (ch->state[s] != S_GAP)
      msg_free(ch->elem_free, slot_ptr(ch, s));
  }
  ch->count = 0;
  uv_cond_destroy(&ch->msgs);
  uv_cond_destroy(&ch->room);
  uv_mutex_destroy(&ch->lock);
  uva__free(ch->ring);
  ch->ring = NULL;
  chan_unref(ch); /* the caller's reference */
  chan_unref(ch); /* futures made on it keep the struct until they go */
}

/* ---- for stats.c (issue 10) --------------------------------------------- */

static size_t list_len(const uva_future_t *f) {
  size_t n = 0;
  for (; f != NULL; f = f->next)
    n++;
  return n;
}

/* Loop thread.  A channel other threads use is read under its lock. */
void uva__chan_describe(const uva_chan_t *ch, char *buf, size_t n) {
  uva_chan_t *m = (uva_chan_t *)(uintptr_t)ch;
  int threaded;

  if (ch->dead) {
    snprintf(buf, n, "channel %p (freed)", (const void *)ch);
    return;
  }
  threaded = atomic_load_explicit(&m->threaded, memory_order_acquire);
  if (threaded)
    uv_mutex_lock(&m->lock);
  snprintf(buf, n,
           "channel %p: %zu/%zu messages of %zu bytes (%zu reserved), "
           "%zu receivers and %zu senders waiting%s%s",
           (const void *)ch, ch->count - ch->nres, ch->cap, ch->elem,
           ch->nres, list_len(ch->recvq.head), list_len(ch->sendq.head),
           threaded ? ", used by other threads" : "",
           ch->closed ? ", closed" : "");
  if (threaded)
    uv_mutex_unlock(&m->lock);
}

uva_chan_t *uva__chan_next(const uva_chan_t *ch) {
#if UVA_STATS
  return ch->st_next;
#else
  (void)ch;
  return NULL;
#endif
}

static void chan_op_describe(const uva_future_t *f, char *buf, size_t n) {
  const uva_chan_t *ch = f->ops == &send_ops ? ((const uva__send_t *)f)->ch
                                             : ((const uva__recv_t *)f)->ch;
  uva__chan_describe(ch, buf, n);
}
