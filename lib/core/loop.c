/* Per-loop state: the registry that maps a uv_loop_t to it, the object slabs,
 * the run queue and its drain, and the two handles uva opens on a loop (an
 * idle handle that runs queued work, an async handle for other threads).
 * Handles are open only while uva work that needs them is pending, so that
 * adding uva never changes when a program's uv_run returns. */
#include "internal.h"
#include "io-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- allocator ---------------------------------------------------------- */

static void *(*uva__malloc_fn)(size_t) = malloc;
static void *(*uva__realloc_fn)(void *, size_t) = realloc;
static void *(*uva__calloc_fn)(size_t, size_t) = calloc;
static void (*uva__free_fn)(void *) = free;

void *uva__malloc(size_t n) { return uva__malloc_fn(n); }
void *uva__calloc(size_t n, size_t m) { return uva__calloc_fn(n, m); }
void *uva__realloc(void *p, size_t n) { return uva__realloc_fn(p, n); }
void uva__free(void *p) { uva__free_fn(p); }

int uva_replace_allocator(void *(*malloc_fn)(size_t),
                          void *(*realloc_fn)(void *, size_t),
                          void *(*calloc_fn)(size_t, size_t),
                          void (*free_fn)(void *)) {
  if (malloc_fn == NULL || realloc_fn == NULL || calloc_fn == NULL ||
      free_fn == NULL)
    return UV_EINVAL;
  uva__malloc_fn = malloc_fn;
  uva__realloc_fn = realloc_fn;
  uva__calloc_fn = calloc_fn;
  uva__free_fn = free_fn;
  return 0;
}

/* ---- registry ----------------------------------------------------------- */

/* The registry is only a map from uv_loop_t to its state: each loop's work
 * stays in its own state.  Lookups hit a per-thread cache; the epoch changes
 * whenever a state is freed, so a cached pointer is never used stale. */
static uv_once_t reg_once = UV_ONCE_INIT;
static uv_mutex_t reg_lock;
static uva__loop_t *reg_head;
static atomic_uint reg_epoch;

#define UVA__TLS __attribute__((tls_model("initial-exec")))
static __thread uv_loop_t *tls_loop UVA__TLS;
static __thread uva__loop_t *tls_state UVA__TLS;
static __thread unsigned tls_epoch UVA__TLS;
__thread uva__loop_t *uva__tls_running
    __attribute__((tls_model("initial-exec")));

static void reg_init(void) {
  if (uv_mutex_init(&reg_lock) != 0)
    abort();
}

/* owner is written by the loop's thread and read by others: relaxed atomics
 * (a thread asking whether it is the loop's own only needs its own value). */
static void set_owner(uva__loop_t *L) {
  uv_thread_t self = uv_thread_self();
  __atomic_store(&L->owner, &self, __ATOMIC_RELAXED);
}

int uva__on_loop_thread(uva__loop_t *L) {
  uv_thread_t self = uv_thread_self(), owner;
  __atomic_load(&L->owner, &owner, __ATOMIC_RELAXED);
  return uv_thread_equal(&self, &owner);
}

/* The state of loop: found, or (create) made.  NULL if there is none, or
 * without memory. */
static uva__loop_t *loop_lookup(uv_loop_t *loop, int create) {
  uva__loop_t *L;
  unsigned epoch = atomic_load_explicit(&reg_epoch, memory_order_acquire);

  if (uva__likely(tls_loop == loop && tls_epoch == epoch && loop != NULL))
    return tls_state;
  if (loop == NULL)
    return NULL;
  uv_once(&reg_once, reg_init);
  uv_mutex_lock(&reg_lock);
  for (L = reg_head; L != NULL; L = L->reg_next)
    if (L->loop == loop)
      break;
  if (L == NULL && create) {
    L = uva__calloc(1, sizeof(*L));
    if (L != NULL && uv_mutex_init(&L->remote_lock) != 0) {
      uva__free(L);
      L = NULL;
    }
    if (L != NULL) {
      L->loop = loop;
      L->coop = UVA__COOP;
      set_owner(L);
      L->reg_next = reg_head;
      reg_head = L;
    }
  }
  epoch = atomic_load_explicit(&reg_epoch, memory_order_acquire);
  uv_mutex_unlock(&reg_lock);
  if (L != NULL) {
    tls_loop = loop;
    tls_state = L;
    tls_epoch = epoch;
  }
  return L;
}

uva__loop_t *uva__loop_get(uv_loop_t *loop) { return loop_lookup(loop, 1); }

uva__loop_t *uva__loop_find(uv_loop_t *loop) { return loop_lookup(loop, 0); }

/* Drops a reference other loops' caches hold on T (issue 11); the last one
 * frees a retired T's struct. */
static void xref_drop(uva__loop_t *T) {
  int free_it;

  uv_mutex_lock(&reg_lock);
  free_it = --T->xrefs == 0 && T->orphan;
  uv_mutex_unlock(&reg_lock);
  if (free_it) {
    uv_mutex_destroy(&T->remote_lock);
    uva__free(T);
  }
}

static void loop_free(uva__loop_t *L) {
  uva__loop_t **pp;
  uva__slab_t *slab;
  size_t i;
  int keep;

  uv_mutex_lock(&reg_lock);
  for (pp = &reg_head; *pp != NULL; pp = &(*pp)->reg_next)
    if (*pp == L) {
      *pp = L->reg_next;
      break;
    }
  atomic_fetch_add_explicit(&reg_epoch, 1, memory_order_acq_rel);
  uv_mutex_lock(&L->remote_lock);
  L->retired = 1; /* no request gets in any more */
  L->serving = 0;
  uv_mutex_unlock(&L->remote_lock);
  uv_mutex_unlock(&reg_lock);
  if (tls_state == L)
    tls_loop = NULL, tls_state = NULL;

  for (i = 0; i < sizeof(L->xcache) / sizeof(L->xcache[0]); i++)
    if (L->xcache[i].L != NULL) {
      xref_drop(L->xcache[i].L);
      L->xcache[i].L = NULL;
      L->xcache[i].loop = NULL;
    }
  uva__stack_pool_free(L);
  while ((slab = L->slabs) != NULL) {
    L->slabs = slab->next;
    UVA__UNPOISON(slab, slab->size);
    uva__free(slab);
  }
  /* Other loops that placed work here may still hold L in their caches:
   * then only the struct stays (retired), and the last of them frees it. */
  uv_mutex_lock(&reg_lock);
  keep = L->orphan = L->xrefs > 0;
  uv_mutex_unlock(&reg_lock);
  if (keep)
    return;
  uv_mutex_destroy(&L->remote_lock);
  uva__free(L);
}

void uva__loop_maybe_free(uva__loop_t *L) {
  if (L->objects == 0 && L->handles == 0 && L->rq_head == NULL &&
      !L->draining && L->in_cb == 0 && L->stacks_live == 0)
    loop_free(L);
}

/* ---- object slabs ------------------------------------------------------ */

/* Fixed-size objects (futures, tasks, requests, channels) live in per-loop
 * slabs: one free list per 16-byte size class, refilled by carving chunks
 * that double from 4 KiB to 256 KiB.  Steady-state work therefore calls no
 * allocator at all, and an object costs its size rounded up to 16 bytes with
 * no header.  Chunks go back to the allocator when the loop state is freed
 * (when nothing of uva is left on the loop), so the memory a loop keeps is
 * bounded by its peak of live objects.  Larger objects come from
 * uva__malloc.  Under ASan, free objects are poisoned. */
static void *slab_refill(uva__loop_t *L, size_t c) {
  size_t osize = (c + 1) * 16, size = L->slab_next[c];
  uva__slab_t *slab;
  char *p;

  if (size < UVA__SLAB_MIN)
    size = UVA__SLAB_MIN;
  slab = uva__malloc(size);
  if (slab == NULL)
    return NULL;
  slab->next = L->slabs;
  slab->size = size;
  L->slabs = slab;
  L->slab_next[c] = size < UVA__SLAB_MAX ? size * 2 : size;
  p = (char *)slab + ((sizeof(*slab) + 15) & ~(size_t)15);
  L->bump[c] = p + osize;
  L->bump_end[c] = (char *)slab + size;
  UVA__POISON(L->bump[c], (size_t)(L->bump_end[c] - L->bump[c]));
  return p;
}

void *uva__obj_alloc_slow(uva__loop_t *L, size_t size) {
  size_t c = (size - 1) / 16;
  void *p;

  if (!UVA__CACHING)
    c = UVA__CACHE_CLASSES; /* see UVA__CACHING in internal.h */
  if (uva__unlikely(c >= UVA__CACHE_CLASSES)) {
    p = uva__malloc(size);
  } else if ((p = L->cache[c]) != NULL) {
    UVA__UNPOISON(p, (c + 1) * 16);
    L->cache[c] = *(void **)p;
  } else if (L->bump_end[c] - L->bump[c] >= (ptrdiff_t)((c + 1) * 16)) {
    p = L->bump[c];
    L->bump[c] += (c + 1) * 16;
    UVA__UNPOISON(p, (c + 1) * 16);
  } else {
    p = slab_refill(L, c);
  }
  if (p == NULL)
    return NULL;
  L->objects++;
  return p;
}

void uva__obj_free_slow(uva__loop_t *L, void *p, size_t size) {
  size_t c = (size - 1) / 16;

  if (!UVA__CACHING)
    c = UVA__CACHE_CLASSES;
  if (uva__unlikely(c >= UVA__CACHE_CLASSES)) {
    uva__free(p);
  } else {
    *(void **)p = L->cache[c];
    L->cache[c] = p;
    UVA__POISON(p, (c + 1) * 16);
  }
  L->objects--;
  if (L->objects == 0)
    uva__loop_maybe_free(L);
}

void uva__close(uva__loop_t *L, uv_handle_t *h, uv_close_cb cb) {
  L->closing++;
  uv_close(h, cb);
}

void uva__closed(uva__loop_t *L) { L->closing--; }

void uva__loop_settle(uva__loop_t *L) {
  /* Closing handles take no wait (libuv does not block in poll while any
   * handle is closing); a pool request wakes the loop when it returns. */
  while (L->closing > 0 || L->pool_dropped > 0)
    uv_run(L->loop, L->pool_dropped > 0 ? UV_RUN_ONCE : UV_RUN_NOWAIT);
}

/* ---- idle handle: runs queued work when no uva callback is on the stack - */

/* The idle handle is closed whenever the queue drains, so that a loop with no
 * uva work has no uva handle at all.  A new one may be needed before the old
 * one's close callback has run: two are embedded in the loop state.  When
 * both are still closing, no third one is needed (nor memory for it, which
 * could run out): uva closes idle handles only from the drain at the end of a
 * uva callback run by uv_run, never from a close callback, so both close
 * callbacks run in the loop's next closing phase, and libuv does not block
 * in poll while handles are closing.  The first of them reopens the handle
 * (idle_close_cb): the queue drains without the loop ever waiting, one idle
 * phase later than a new handle would have drained it. */
static void idle_ensure(uva__loop_t *L);

static void idle_close_cb(uv_handle_t *h) {
  uva__idle_t *i = uva__container_of(h, uva__idle_t, handle);
  uva__loop_t *L = i->L;

  i->busy = 0;
  L->handles--;
  uva__closed(L);
  if (L->rq_head != NULL)
    idle_ensure(L); /* work queued while both slots were closing */
  uva__loop_maybe_free(L);
}

static void idle_cb(uv_idle_t *h) {
  uva__idle_t *i = uva__container_of(h, uva__idle_t, handle);
  uva__loop_t *L = i->L;

  uva__cb_enter(L);
  uva__cb_leave(L);
}

static void idle_ensure(uva__loop_t *L) {
  uva__idle_t *i;

  if (L->idle != NULL || L->draining || L->in_cb)
    return;
  if (!L->idle_slots[0].busy)
    i = &L->idle_slots[0];
  else if (!L->idle_slots[1].busy)
    i = &L->idle_slots[1];
  else
    return; /* both closing: the first close callback reopens one */
  i->L = L;
  i->busy = 1;
  uv_idle_init(L->loop, &i->handle);
  uv_idle_start(&i->handle, idle_cb);
  L->idle = i;
  L->handles++;
}

static void idle_close(uva__loop_t *L) {
  uva__idle_t *i = L->idle;

  if (i == NULL)
    return;
  L->idle = NULL;
  uva__close(L, (uv_handle_t *)&i->handle, idle_close_cb);
}

/* ---- run queue ---------------------------------------------------------- */

void uva__idle_ensure(uva__loop_t *L) { idle_ensure(L); }

void uva__cb_enter(uva__loop_t *L) {
  /* stats (issue 10): the outermost callback's start */
  UVA__STAT(L->in_cb == 0 && !L->draining &&
            (L->st.callbacks++,
             L->st.timing && (L->st.cb_start = uv_hrtime())));
  L->in_cb++;
}

void uva__cb_leave(uva__loop_t *L) {
  if (--L->in_cb == 0 && !L->draining)
    uva__drain(L);
}

static void async_settle(uva__loop_t *L);

void uva__drain(uva__loop_t *L) {
  uva__loop_t *prev = uva__tls_running;
  uva_future_t *f;

  L->draining = 1;
  L->budget = UVA__BUDGET;
  set_owner(L);
  uva__tls_running = L;
  while (L->rq_head != NULL && L->budget-- > 0) {
    f = uva__rq_pop(L);
    uva__future_run_queued(f);
  }
  uva__tls_running = prev;
  L->draining = 0;
  if (L->rq_head != NULL)
    idle_ensure(L); /* out of budget: go on after libuv's next poll */
  else
    idle_close(L);
  async_settle(L);
  /* issue 11: what the pool's pick reads */
  atomic_store_explicit(&L->load, L->stacks_live, memory_order_relaxed);
  /* stats (issue 10): a drain ends each outermost callback */
  UVA__STAT((L->st.drains++,
             L->st.busy_ns += L->st.cb_start != 0
                                  ? uv_hrtime() - L->st.cb_start : 0,
             L->st.cb_start = 0));
  uva__loop_maybe_free(L);
}

/* ---- async handle and the cross-thread inbox ---------------------------- */

typedef struct uva__async_s {
  uv_async_t handle;
  uva__loop_t *L;
} uva__async_t;

static void async_close_cb(uv_handle_t *h) {
  uva__async_t *a = uva__container_of(h, uva__async_t, handle);
  uva__loop_t *L = a->L;

  uva__free(a);
  L->handles--;
  uva__closed(L);
  uva__loop_maybe_free(L);
}

static void async_cb(uv_async_t *h) {
  uva__async_t *a = uva__container_of(h, uva__async_t, handle);
  uva__loop_t *L = a->L;
  uva__remote_t *r;

  uva__cb_enter(L);
  /* One node at a time: a callback may cancel or free nodes that are still
   * waiting (uva__remote_cancel then finds them on the inbox), and another
   * thread may post again meanwhile. */
  for (;;) {
    uv_mutex_lock(&L->remote_lock);
    r = L->inbox;
    if (r != NULL) {
      L->inbox = r->next;
      if (L->inbox == NULL)
        L->inbox_tail = NULL;
      r->queued = 0;
    }
    uv_mutex_unlock(&L->remote_lock);
    if (r == NULL)
      break;
    r->cb(r);
  }
  uva__cb_leave(L);
}

static void async_close(uva__loop_t *L) {
  uva__async_t *a = L->async;

  if (a == NULL)
    return;
  if (L->async_refd) {
    L->async_refd = 0;
    uv_unref((uv_handle_t *)&a->handle);
  }
  uv_mutex_lock(&L->remote_lock);
  L->async = NULL;
  uv_mutex_unlock(&L->remote_lock);
  uva__close(L, (uv_handle_t *)&a->handle, async_close_cb);
}

/* No wait left: the handle goes. */
static void async_settle(uva__loop_t *L) {
  if (L->remote_waits == 0)
    async_close(L);
}

/* Opens the async handle, unreferenced, if it is not open. */
static int async_open(uva__loop_t *L) {
  uva__async_t *a;
  int err;

  if (L->async == NULL) {
    a = uva__malloc(sizeof(*a));
    if (a == NULL)
      return UV_ENOMEM;
    a->L = L;
    err = uv_async_init(L->loop, &a->handle, async_cb);
    if (err != 0) {
      uva__free(a);
      return err;
    }
    uv_unref((uv_handle_t *)&a->handle);
    L->handles++;
    uv_mutex_lock(&L->remote_lock);
    L->async = a;
    /* Nodes posted while no handle was open, or whose wake-up went to a
     * handle that was then closed (libuv drops a closing handle's pending
     * send), would wait forever: the new handle runs them. */
    if (L->inbox != NULL)
      uv_async_send(&a->handle);
    uv_mutex_unlock(&L->remote_lock);
  }
  return 0;
}

int uva__remote_wait_begin_slow(uva__loop_t *L) {
  int err = async_open(L);

  if (err != 0)
    return err;
  if (L->remote_waits++ == 0 && !L->async_refd) { /* see internal.h */
    L->async_refd = 1;
    uv_ref((uv_handle_t *)&L->async->handle);
  }
  return 0;
}

/* The last wait ended outside any uva callback (uva__remote_wait_end in
 * internal.h): nothing will need the handle until a new wait begins. */
void uva__remote_wait_end_slow(uva__loop_t *L) { async_settle(L); }


/* Queues r at the inbox's tail, in the order posted (remote_lock held). */
static void inbox_push(uva__loop_t *L, uva__remote_t *r) {
  if (r->queued)
    return;
  r->queued = 1;
  r->next = NULL;
  if (L->inbox_tail != NULL)
    L->inbox_tail->next = r;
  else
    L->inbox = r;
  L->inbox_tail = r;
}

void uva__remote_post(uva__loop_t *L, uva__remote_t *r) {
  uv_mutex_lock(&L->remote_lock);
  inbox_push(L, r);
  if (L->async != NULL)
    uv_async_send(&L->async->handle);
  uv_mutex_unlock(&L->remote_lock);
}

void uva__remote_cancel(uva__loop_t *L, uva__remote_t *r) {
  uva__remote_t **pp;

  uva__remote_t *prev = NULL;

  uv_mutex_lock(&L->remote_lock);
  if (r->queued) {
    for (pp = &L->inbox; *pp != NULL; prev = *pp, pp = &(*pp)->next)
      if (*pp == r) {
        *pp = r->next;
        if (L->inbox_tail == r)
          L->inbox_tail = prev;
        break;
      }
    r->queued = 0;
  }
  uv_mutex_unlock(&L->remote_lock);
}

/* ---- serving other loops (issue 11) ------------------------------------- */

uva__loop_t *uva__remote_target(uva__loop_t *home, uv_loop_t *target) {
  uva__loop_t *T = NULL;
  size_t i, n = sizeof(home->xcache) / sizeof(home->xcache[0]);

  if (home != NULL)
    for (i = 0; i < n; i++)
      if (home->xcache[i].loop == target && home->xcache[i].L != NULL) {
        T = home->xcache[i].L;
        uv_mutex_lock(&T->remote_lock);
        if (!T->retired) {
          uv_mutex_unlock(&T->remote_lock);
          return T; /* referenced: its struct cannot go */
        }
        uv_mutex_unlock(&T->remote_lock);
        /* that state was freed: forget it, look again */
        home->xcache[i].L = NULL;
        home->xcache[i].loop = NULL;
        xref_drop(T);
        T = NULL;
        break;
      }
  uv_once(&reg_once, reg_init);
  uv_mutex_lock(&reg_lock);
  for (T = reg_head; T != NULL; T = T->reg_next)
    if (T->loop == target)
      break;
  if (T != NULL)
    T->xrefs++;
  uv_mutex_unlock(&reg_lock);
  if (T == NULL || home == NULL)
    return T;
  i = home->xcache_next++ % n;
  if (home->xcache[i].L != NULL)
    xref_drop(home->xcache[i].L);
  home->xcache[i].loop = target;
  home->xcache[i].L = T;
  return T;
}

void uva__remote_target_drop(uva__loop_t *T) { xref_drop(T); }

int uva__remote_post_request(uva__loop_t *T, uva__remote_t *r) {
  uv_mutex_lock(&T->remote_lock);
  if (!T->serving || T->retired || T->async == NULL) {
    uv_mutex_unlock(&T->remote_lock);
    return UV_ECONNREFUSED;
  }
  atomic_fetch_add_explicit(&T->xpending, 1, memory_order_relaxed);
  inbox_push(T, r);
  uv_async_send(&T->async->handle);
  uv_mutex_unlock(&T->remote_lock);
  return 0;
}

/* The serve's remote wait goes once the loop stops serving and the requests
 * queued before have run (loop thread). */
static void serve_settle(uva__loop_t *L) {
  if (!L->serving && L->serve_waiting &&
      atomic_load_explicit(&L->xpending, memory_order_acquire) == 0) {
    L->serve_waiting = 0;
    uva__remote_wait_end(L);
  }
}

void uva__remote_request_done(uva__loop_t *T) {
  atomic_fetch_sub_explicit(&T->xpending, 1, memory_order_acq_rel);
  serve_settle(T);
}

size_t uva__loop_load(uva__loop_t *L) {
  return atomic_load_explicit(&L->load, memory_order_relaxed) +
         atomic_load_explicit(&L->xpending, memory_order_relaxed);
}

int uva_loop_serve(uv_loop_t *loop) {
  uva__loop_t *L;
  int err;

  if (loop == NULL)
    return UV_EINVAL;
  L = uva__loop_get(loop);
  if (L == NULL)
    return UV_ENOMEM;
  if (L->serving)
    return UV_EALREADY;
  if (!L->serve_waiting) {
    err = uva__remote_wait_begin(L);
    if (err != 0) {
      uva__loop_maybe_free(L);
      return err;
    }
    L->serve_waiting = 1;
  }
  set_owner(L);
  uv_mutex_lock(&L->remote_lock);
  L->serving = 1;
  uv_mutex_unlock(&L->remote_lock);
  return 0;
}

int uva_loop_serve_stop(uv_loop_t *loop) {
  uva__loop_t *L;

  if (loop == NULL)
    return UV_EINVAL;
  L = loop_lookup(loop, 0);
  if (L == NULL || !L->serving)
    return UV_ENOENT;
  uv_mutex_lock(&L->remote_lock);
  L->serving = 0;
  uv_mutex_unlock(&L->remote_lock);
  serve_settle(L);
  return 0;
}

int uva_loop_serving(uv_loop_t *loop) {
  uva__loop_t *L;
  int serving = 0;

  if (loop == NULL)
    return 0;
  uv_once(&reg_once, reg_init);
  uv_mutex_lock(&reg_lock);
  for (L = reg_head; L != NULL; L = L->reg_next)
    if (L->loop == loop) {
      uv_mutex_lock(&L->remote_lock);
      serving = L->serving;
      uv_mutex_unlock(&L->remote_lock);
      break;
    }
  uv_mutex_unlock(&reg_lock);
  return serving;
}

/* ---- shutdown ----------------------------------------------------------- */

/* Nothing of uva's is left running on L: no task (a task that has not
 * started is on the run queue), no request in the thread pool, nothing
 * queued, no handle open or closing but those of futures held outside tasks
 * (a timer, or the async handle of a waiting receive). */
static int shutdown_done(const uva__loop_t *L) {
  return L->stacks_live == 0 && L->rq_head == NULL && L->pool_reqs == 0 &&
         L->closing == 0 && L->idle == NULL;
}

static void deadline_cb(uv_timer_t *t) { (void)t; }

static void deadline_close_cb(uv_handle_t *h) { *(int *)h->data = 1; }

int uva_loop_shutdown(uv_loop_t *loop, uint64_t timeout_ms, size_t *left) {
  uva__loop_t *L;
  uv_timer_t timer; /* the deadline: closed before this returns */
  uint64_t end;
  int status = 0, ran = 0, closed = 0;

  if (left != NULL)
    *left = 0;
  if (loop == NULL)
    return UV_EINVAL;
  if (uva__loop_running() != NULL)
    return UV_EBUSY;
  L = loop_lookup(loop, 0);
  if (L == NULL)
    return 0; /* uva has nothing on this loop */
  if (L->draining || L->in_cb)
    return UV_EBUSY;
  end = uva__deadline(timeout_ms);
  L->objects++; /* L stays until the end of this call */
  L->shutdown = 1;
  uva__task_cancel_all(L);
  uva__work_cancel_all(L);
  uv_timer_init(loop, &timer);
  timer.data = &closed;
  for (;;) {
    int expired;
    if (shutdown_done(L))
      break;
    expired = uv_hrtime() >= end;
    if (expired && ran) {
      status = UV_ETIMEDOUT;
      break;
    }
    /* The timer only ends the wait: the deadline is uv_hrtime()'s. */
    if (!expired && !uv_is_active((uv_handle_t *)&timer))
      uv_timer_start(&timer, deadline_cb, uva__timer_ms(loop, end), 0);
    uv_run(loop, expired ? UV_RUN_NOWAIT : UV_RUN_ONCE);
    ran = 1;
  }
  L->shutdown = 0;
  if (left != NULL && status != 0)
    *left = uva__task_cancel_all(L) + L->pool_reqs;
  uv_close((uv_handle_t *)&timer, deadline_close_cb);
  while (!closed)
    uv_run(loop, UV_RUN_NOWAIT);
  if (--L->objects == 0)
    uva__loop_maybe_free(L);
  return status;
}
