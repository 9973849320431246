/* uva's internal declarations for the sync layer (lib/sync/): what its
 * modules share (cancellation tokens that groups and bound futures listen
 * to; the waiter queue, object lifetime and batch semaphore of the sync
 * primitives).  Never installed. */
#ifndef UVA_SYNC_INTERNAL_H
#define UVA_SYNC_INTERNAL_H

#include "internal.h"

/* ---- cancellation tokens (token.c) -------------------------------------- */

/* Something a token cancels: a uva_token_cancelled waiter, a bound future,
 * a group, a child token.  Linked on the token's circular list in the
 * order of linking (next NULL while not linked). */
typedef struct uva__tlink_s uva__tlink_t;
struct uva__tlink_s {
  uva__tlink_t *next;
  uva__tlink_t *prev;
  void (*cb)(uva__tlink_t *l);   /* the token was cancelled (l unlinked) */
  void (*gone)(uva__tlink_t *l); /* the token was freed (l unlinked); may be
                                    NULL */
};

/* Links l to tok, on the loop's thread.  Returns 0; or 1, linking nothing,
 * when tok's cancel has already been propagated (the caller acts at once). */
int uva__token_listen(uva_token_t *tok, uva__tlink_t *l);
/* Unlinks l if it is linked. */
void uva__token_unlisten(uva__tlink_t *l);
/* The loop state tok belongs to. */
uva__loop_t *uva__token_loop(const uva_token_t *tok);

/* ---- channels (chan.c), for uva_loop_dump (lib/view/stats.c) ----------- */

/* Writes a line's worth about ch into buf[0..n): messages and capacity,
 * waiters, closed.  Loop thread. */
void uva__chan_describe(const uva_chan_t *ch, char *buf, size_t n);
/* The next channel on L's list (L->st.chans, UVA_STATS builds). */
uva_chan_t *uva__chan_next(const uva_chan_t *ch);

/* ---- sync primitives (waitq.c) ------------------------------------------ */

/* A FIFO of waiting futures, linked through next. */
typedef struct {
  uva_future_t *head, *tail;
} uva__waitq_t;

/* Adds f at the tail; takes the head (NULL when empty); takes f off q,
 * returning 1 if it was there. */
static inline void uva__waitq_push(uva__waitq_t *q, uva_future_t *f) {
  f->next = NULL;
  if (q->tail != NULL)
    q->tail->next = f;
  else
    q->head = f;
  q->tail = f;
}

static inline uva_future_t *uva__waitq_pop(uva__waitq_t *q) {
  uva_future_t *f = q->head;
  if (f != NULL) {
    q->head = f->next;
    if (q->head == NULL)
      q->tail = NULL;
    f->next = NULL;
  }
  return f;
}

static inline int uva__waitq_remove(uva__waitq_t *q, uva_future_t *f) {
  uva_future_t **pp, *prev = NULL;
  for (pp = &q->head; *pp != NULL; prev = *pp, pp = &(*pp)->next)
    if (*pp == f) {
      *pp = f->next;
      if (q->tail == f)
        q->tail = prev;
      f->next = NULL;
      return 1;
    }
  return 0;
}


/* What every sync object starts with: its loop, its memory, and the
 * references that keep it (the caller's handle until freed, and each
 * future made on it).  Loop thread only. */
typedef struct {
  uva__loop_t *L;
  size_t refs;
  size_t size;    /* of the whole object */
  uint8_t dead;   /* freed by its owner: only futures keep it */
  uint8_t strong; /* holds a remote wait (uva__sync_hold) */
} uva__sync_t;

/* Allocates a sync object of size bytes (zeroed, one reference) on loop's
 * state.  NULL without memory (or loop NULL). */
void *uva__sync_new(uv_loop_t *loop, size_t size);
void uva__sync_unref(uva__sync_t *o);
/* A lazy future of kind ops (size bytes) on o, holding a reference to it;
 * a failed future (UV_ENOMEM) without memory. */
uva_future_t *uva__sync_future(uva__sync_t *o, const uva__ops_t *ops,
                               size_t size);
/* The owner frees o: each waiter on q settles with UV_ECANCELED (one at a
 * time), the remote wait goes, and the memory once the last future has. */
void uva__sync_free(uva__sync_t *o, uva__waitq_t *q);

/* A receiver of a watch or broadcast: one wait pending at a time.  It holds
 * a reference to its object. */
typedef struct {
  uva__sync_t *o;
  uva_future_t *pending; /* its wait, until taken or dropped */
} uva__rx_t;

/* A receiver's wait. */
typedef struct {
  uva_future_t base;
  uva__sync_t *o;
  uva__rx_t *rx; /* NULL once the receiver is freed */
} uva__rxwait_t;

/* Allocates a receiver of size bytes (zeroed) on o.  NULL without memory. */
void *uva__rx_new(uva__sync_t *o, size_t size);
/* Frees rx (size bytes): its pending wait, if still on q, settles with
 * UV_ECANCELED. */
void uva__rx_free(uva__rx_t *rx, uva__waitq_t *q, size_t size);
/* A wait's first step when it starts: settles w with UV_ECANCELED (object
 * or receiver freed) or UV_EBUSY (another wait pending) and returns 0, or
 * makes w the receiver's pending wait and returns 1. */
int uva__rx_begin(uva__rxwait_t *w);
/* w is no longer its receiver's pending wait (taken, dropped, released). */
void uva__rx_detach(uva__rxwait_t *w);
/* What a wait's cancel and release hooks do: off q and settled; detached,
 * its memory (size bytes) freed and its reference dropped. */
void uva__rx_cancel(uva__rxwait_t *w, uva__waitq_t *q);
void uva__rx_release(uva_future_t *f, size_t size);

/* Holds (want 1) or lets go of (want 0) a remote wait for o's waiters, so
 * that another thread's call wakes the loop and uv_run stays alive.
 * Returns 0 or the error of opening the async handle. */
int uva__sync_hold(uva__sync_t *o, int want);

/* The batch semaphore under Semaphore, Mutex and RwLock: permits handed to
 * waiting acquires strictly in FIFO order (a large acquire at the head
 * blocks smaller ones behind it).  Acquires are lazy futures that take
 * their permits when they settle; one dropped untaken (ops->undo) gives
 * them back.  With threads set, uva__sem_release_remote may add permits
 * from any thread (through remote, applied on the loop thread). */
typedef struct {
  uva__sync_t o;
  size_t permits; /* available now (some may be held back for the head) */
  size_t max;     /* permits may never exceed it */
  uva__waitq_t waiters;
  uint8_t closed, serving, again, threads;
  atomic_size_t remote; /* released by other threads, not yet added */
  uva__remote_t node;
} uva__sem_t;

/* On L's thread: at once when L's scheduler runs here (a task or uva
 * callback of L's), else by comparing thread ids. */
static inline int uva__on_loop(uva__loop_t *L) {
  return uva__loop_running() == L || uva__on_loop_thread(L);
}

/* Whether the running code is a task of L that has not been cancelled:
 * a _wait call may then complete at once without a future. */
static inline int uva__live_task_of(uva__loop_t *L) {
  uva__loop_t *R = uva__loop_running();
  return R == L && R->current != NULL &&
         !(R->current->base.flags & UVA__F_CANCEL);
}

/* Settles a pending future with 0 and value.u64 = u. */
void uva__settle_u64(uva_future_t *f, uint64_t u);

/* Initialises the semaphore part of a new object (from uva__sync_new). */
void uva__sem_init(uva__sem_t *s, size_t permits, size_t max, int threads);
/* A lazy future that acquires n permits (value.u64 = n). */
uva_future_t *uva__sem_acquire(uva__sem_t *s, size_t n);
/* Inside a task: acquires n permits, without a future when they are free
 * at once.  0 or an error, as uva_await of uva__sem_acquire. */
int uva__sem_acquire_wait(uva__sem_t *s, size_t n);
/* 0, UV_EAGAIN (not enough, or others wait), UV_EPIPE (closed). */
int uva__sem_try_acquire(uva__sem_t *s, size_t n);
/* Loop thread: gives n permits back and serves the waiters.  UV_EINVAL if
 * the count would pass max. */
int uva__sem_release(uva__sem_t *s, size_t n);
/* Any thread: adds n permits on the loop's thread soon (s->threads). */
void uva__sem_release_remote(uva__sem_t *s, size_t n);
size_t uva__sem_available(uva__sem_t *s);
/* Fails every waiter (and every later acquire) with UV_EPIPE. */
void uva__sem_close(uva__sem_t *s);
/* The owner frees s: waiters settle with UV_ECANCELED, memory goes once
 * the last future has. */
void uva__sem_free(uva__sem_t *s);

#endif /* UVA_SYNC_INTERNAL_H */
