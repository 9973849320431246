/* Private core of uva, never installed: the inline fast paths that
 * internal.h declares or that every layer's hot path uses (object slabs,
 * the run queue, remote waits, lazy start and take, waking and parking
 * tasks, the cooperative budget).  Included by internal.h only, after the
 * types and declarations they use. */
#ifndef UVA_INTERNAL_INLINE_H
#define UVA_INTERNAL_INLINE_H

#ifndef UVA_INTERNAL_H
#error "include internal.h, not internal-inline.h"
#endif

/* ---- inline fast paths ------------------------------------------------- */

#ifdef UVA__ASAN
#include <sanitizer/asan_interface.h>
#define UVA__POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UVA__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define UVA__POISON(p, n) ((void)0)
#define UVA__UNPOISON(p, n) ((void)0)
#endif

/* The fault-injection build (tests/test-faults.c) caches nothing: every
 * object is an allocation that the test can make fail. */
#ifdef UVA_FAULT_INJECTION
#define UVA__CACHING 0
#else
#define UVA__CACHING 1
#endif

static inline void *uva__obj_alloc(uva__loop_t *L, size_t size) {
  size_t c = (size - 1) / 16;
  void *p;

  if (uva__likely(UVA__CACHING && c < UVA__CACHE_CLASSES &&
                  (p = L->cache[c]) != NULL)) {
    UVA__UNPOISON(p, (c + 1) * 16);
    L->cache[c] = *(void **)p;
    L->objects++;
    return p;
  }
  return uva__obj_alloc_slow(L, size);
}

static inline void uva__obj_free(uva__loop_t *L, void *p, size_t size) {
  size_t c = (size - 1) / 16;

  if (uva__likely(UVA__CACHING && c < UVA__CACHE_CLASSES &&
                  L->objects > 1)) {
    *(void **)p = L->cache[c];
    L->cache[c] = p;
    UVA__POISON(p, (c + 1) * 16);
    L->objects--;
    return;
  }
  uva__obj_free_slow(L, p, size);
}

/* Stats (issue 10): a kind that makes or frees a future's memory itself,
 * not through uva__future_alloc and uva__future_free_mem, reports it with
 * these (no-ops without UVA_STATS). */
static inline void uva__stat_future_made(uva__loop_t *L) {
  UVA__STAT(L->st.futures_made++);
  (void)L;
}
static inline void uva__stat_future_freed(uva_future_t *f) {
#if UVA_STATS
  f->L->st.futures_freed++;
  if (uva__unlikely(f->state == UVA__PENDING))
    f->L->st.futures_unsettled_freed++; /* completed at once (ops->now) */
#else
  (void)f;
#endif
}

static inline uva_future_t *uva__future_alloc(uva__loop_t *L,
                                              const uva__ops_t *ops,
                                              size_t size) {
  uva_future_t *f = (uva_future_t *)uva__obj_alloc(L, size);

  if (f != NULL) {
    memset(f, 0, sizeof(*f));
    f->L = L;
    f->ops = ops;
    uva__stat_future_made(L);
  }
  return f;
}

static inline void uva__rq_push(uva__loop_t *L, uva_future_t *f) {
  if (f->flags & UVA__F_QUEUED)
    return;
  f->flags |= UVA__F_QUEUED;
  f->next = NULL;
  if (L->rq_tail != NULL)
    L->rq_tail->next = f;
  else
    L->rq_head = f;
  L->rq_tail = f;
  if (L->idle == NULL && !L->draining && !L->in_cb)
    uva__idle_ensure(L);
}

/* Takes the head of the run queue off it (the caller knows it is there). */
static inline uva_future_t *uva__rq_pop(uva__loop_t *L) {
  uva_future_t *f = L->rq_head;

  L->rq_head = f->next;
  if (L->rq_head == NULL)
    L->rq_tail = NULL;
  else
    __builtin_prefetch(L->rq_head, 1);
  f->next = NULL;
  f->flags &= ~UVA__F_QUEUED;
  return f;
}

/* Inside a drain the async handle stays open and referenced until the
 * drain ends, so that tasks parking and waking in turn cost no handle work:
 * these are the counting fast paths. */
static inline int uva__remote_wait_begin(uva__loop_t *L) {
  if (uva__likely(L->async != NULL && L->async_refd)) {
    L->remote_waits++;
    return 0;
  }
  return uva__remote_wait_begin_slow(L);
}

static inline void uva__remote_wait_end(uva__loop_t *L) {
  if (--L->remote_waits == 0 && !L->draining && L->in_cb == 0)
    uva__remote_wait_end_slow(L); /* closes the async handle */
}

void uva__future_start_slow(uva_future_t *f);
void uva__future_take_slow(uva_future_t *f);

static inline void uva__future_start(uva_future_t *f) {
  if (uva__unlikely(f->flags & UVA__F_LAZY))
    uva__future_start_slow(f);
}

static inline void uva__future_take(uva_future_t *f) {
  if (!(f->flags & (UVA__F_TAKEN | UVA__F_STATIC)))
    uva__future_take_slow(f);
}

static inline void uva__task_wake(void *task) {
  uva__task_t *t = (uva__task_t *)task;
  uva__rq_push(t->base.L, &t->base);
}

static inline void uva__node_init(uva_future_t *node, uva__loop_t *L,
                                  const uva__ops_t *ops) {
  node->L = L;
  node->next = NULL;
  node->ops = ops;
  node->status = 0;
  node->state = UVA__PENDING;
  node->consumer = UVA__C_TASK;
  node->flags = UVA__F_TAKEN; /* nothing to take or undo */
  node->value.u64 = 0;
  node->free_fn = NULL;
  node->waiter = L->current;
  node->waiter_data = NULL;
  uva__stat_future_made(L); /* freed when uva__task_park returns (stats) */
}

/* Settles f, pending, with status and no value, as uva__settle does, with
 * the common case of a task waiting on it inline. */
static inline void uva__settle_quick(uva_future_t *f, int status) {
  if (uva__likely(f->consumer == UVA__C_TASK)) {
    UVA__STAT(f->L->st.futures_settled++);
    f->state = UVA__SETTLED;
    f->status = status;
    f->value.u64 = 0;
    f->free_fn = NULL;
    uva__task_wake(f->waiter);
    return;
  }
  uva__settle_err(f, status);
}

/* Inside a task of L: an await that completed at once spends one unit of
 * the cooperative budget (UVA__COOP), yielding when it runs out. */
void uva__coop_yield(uva__loop_t *L);
static inline void uva__coop_spend(uva__loop_t *L) {
  if (uva__unlikely(--L->coop <= 0))
    uva__coop_yield(L);
}

#endif /* UVA_INTERNAL_INLINE_H */
