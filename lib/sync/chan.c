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
 * (a select dropping its other branches) that uses the same channel.
 *
 * This file: the mode switch, the pump that moves waiters along, the side
 * of other threads, creation, close, length and free.  The operations
 * (futures, fast paths, hand-off, parking) are in chan-ops.c; the state and
 * the ring's helpers in chan-internal.h. */
#include "chan-internal.h"

#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

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

/* Another thread (a plain one, or a task of another loop): locks the
 * channel, switching it to locked mode first if it is not there yet. */
void uva__chan_tenter(uva_chan_t *ch) {
  uv_mutex_lock(&ch->lock);
  if (atomic_load_explicit(&ch->threaded, memory_order_relaxed))
    return;
  atomic_store_explicit(&ch->threaded, 1, memory_order_seq_cst);
  (void)heavy_fence();
  while (atomic_load_explicit(&ch->busy, memory_order_seq_cst))
    sched_yield(); /* the loop is inside one operation: it ends soon */
}

/* Holds the remote wait the loop's waiters need: a waiting receiver or
 * sender may be served by another thread (uva_chan_send_blocking,
 * uva_chan_recv_blocking, uva_chan_close), so it keeps the async handle
 * open and uv_run alive, as a pending poll future does.  Loop thread.
 * Returns 0 or the error of opening the handle. */
int uva__chan_waits_slow(uva_chan_t *ch, int want) {
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
void uva__chan_pump(uva_chan_t *ch) {
  if (ch->pumping) {
    ch->pump_again = 1; /* the pump under way moves it along */
    return;
  }
  ch->pumping = 1;
  ch->refs++; /* a settle may free the channel meanwhile */
  while (!ch->dead) {
    int st, locked = lenter(ch);
    uva_future_t *f = pump_one(ch, &st);
    if (f == NULL) {
      (void)update_waits(ch); /* only releases here: cannot fail */
      requiet(ch);
      signal_threads(ch, locked);
      lleave(ch, locked);
      break;
    }
    lleave(ch, locked);
    uva__settle_err(f, st);
  }
  ch->pumping = 0;
  ch->pump_again = 0;
  uva__chan_unref(ch);
}

/* Ends a loop-side operation: leaves, settles the operation's own future
 * (d holds at most that one) first, then moves the rest along.  The settle
 * runs as part of a pump: whatever it makes happen on this channel (a select
 * cancelling its other branches here) is moved along after it. */
void uva__chan_finish(uva_chan_t *ch, int locked, done_t *d) {
  int need = pump_needed(ch, locked);
  if (!need)
    requiet(ch);
  lleave(ch, locked);
  if (d->head == NULL) {
    if (need)
      uva__chan_pump(ch);
    return;
  }
  if (ch->pumping) { /* inside a pump: it goes on after this */
    done_settle(d);
    ch->pump_again = 1;
    return;
  }
  ch->pumping = 1;
  ch->pump_again = 0;
  ch->refs++;
  done_settle(d);
  ch->pumping = 0;
  if ((need || ch->pump_again) && !ch->dead)
    uva__chan_pump(ch);
  uva__chan_unref(ch);
}

/* ---- the side of other threads ------------------------------------------ */

/* Runs on the loop thread after a thread changed what loop waiters wait for
 * (a message, room, the close). */
static void chan_remote_cb(uva__remote_t *rm) {
  uva_chan_t *ch = uva__container_of(rm, uva_chan_t, remote);
  done_t d = {NULL, NULL};
  int locked = lenter(ch);

  ch->notified = 0;
  uva__chan_finish(ch, locked, &d);
}

/* Locked, on another thread: wakes the loop if it has waiters (coalesced).
 * Returns 1 if the caller must post the wake-up after unlocking. */
static int need_wake(uva_chan_t *ch) {
  if (ch->notified || (ch->sendq.head == NULL && ch->recvq.head == NULL))
    return 0;
  ch->notified = 1;
  return 1;
}

/* The loop's wake-up is posted under the lock: the lock order channel, then
 * a loop's inbox is the only one (nothing takes them the other way round),
 * and the channel cannot be freed meanwhile. */
void uva__chan_tell(uva_chan_t *ch) {
  if (ch->tsend > 0 && (ch->closed || has_room(ch)))
    uv_cond_signal(&ch->room);
  if (ch->trecv > 0 && (ch->closed || has_avail(ch)))
    uv_cond_signal(&ch->msgs);
  if (ch->xsendq.head != NULL || ch->xrecvq.head != NULL)
    uva__chan_xwake(ch);
  if (need_wake(ch))
    uva__remote_post(ch->L, &ch->remote);
}

int uva_chan_send_blocking(uva_chan_t *ch, const void *msg) {
  int wake;

  if (ch == NULL || msg == NULL || uva__on_loop_thread(ch->L))
    return UV_EINVAL;
  uva__chan_tenter(ch);
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
  if (ch->xrecvq.head != NULL)
    uva__chan_xwake(ch);
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
  uva__chan_tenter(ch);
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
  if (ch->xsendq.head != NULL)
    uva__chan_xwake(ch);
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
  atomic_init(&ch->xrefs, 0);
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

int uva_chan_try_send(uva_chan_t *ch, const void *msg) {
  done_t d = {NULL, NULL};
  int locked, err = 0;

  if (ch == NULL || msg == NULL)
    return UV_EINVAL;
  if (uva__unlikely(!chan_home(ch)))
    return uva__chan_xtry_send(ch, msg);
  locked = lenter(ch);
  if (ch->closed)
    err = UV_EPIPE;
  else if (!has_room(ch) || ch->sendq.head != NULL)
    err = UV_EAGAIN; /* full, or earlier senders go first */
  else
    ring_push(ch, msg);
  uva__chan_finish(ch, locked, &d);
  return err;
}

int uva_chan_try_recv(uva_chan_t *ch, void *out) {
  done_t d = {NULL, NULL};
  int locked, err = 0;

  if (ch == NULL || out == NULL)
    return UV_EINVAL;
  if (uva__unlikely(!chan_home(ch)))
    return uva__chan_xtry_recv(ch, out);
  locked = lenter(ch);
  if (ch->recvq.head == NULL && has_avail(ch))
    take_avail(ch, out);
  else if (ch->closed && !has_avail(ch))
    err = UV_EOF;
  else
    err = UV_EAGAIN; /* empty, or earlier receivers go first */
  uva__chan_finish(ch, locked, &d);
  return err;
}

int uva_chan_close(uva_chan_t *ch) {
  done_t d = {NULL, NULL};
  int locked, wake;

  if (ch == NULL)
    return UV_EINVAL;
  if (!chan_home(ch)) { /* another thread, or a task of another loop */
    uva__chan_tenter(ch);
    if (ch->closed) {
      uv_mutex_unlock(&ch->lock);
      return UV_EPIPE;
    }
    ch->closed = 1;
    ch->quiet = 0;
    uv_cond_broadcast(&ch->room);
    uv_cond_broadcast(&ch->msgs);
    uva__chan_xwake(ch); /* every foreign waiter */
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
  uva__chan_finish(ch, locked, &d);
  return 0;
}

size_t uva_chan_len(uva_chan_t *ch) {
  size_t n;
  int locked;

  if (ch == NULL)
    return 0;
  if (!chan_home(ch)) {
    uva__chan_tenter(ch);
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
void uva__chan_unref(uva_chan_t *ch) {
  if (--ch->refs == 0)
    uva__obj_free(ch->L, ch, sizeof(*ch));
}

void uva_chan_free(uva_chan_t *ch) {
  uva_future_t *f;
  uva__recv_t *r;
  size_t off;

  if (ch == NULL || ch->dead)
    return;
  if (atomic_load_explicit(&ch->xrefs, memory_order_acquire) != 0) {
    /* a contract violation (chan.h): another loop's future still uses it */
    fprintf(stderr,
            "uva_chan_free: channel %p still has %zu futures of other "
            "loops\n",
            (void *)ch, atomic_load(&ch->xrefs));
    abort();
  }
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
  uva__chan_unref(ch); /* the caller's reference */
  uva__chan_unref(ch); /* futures made on it keep the struct until they go */
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
