/* Private core types of uva: never installed. */
#ifndef UVA_INTERNAL_H
#define UVA_INTERNAL_H

#include "uva.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define uva__container_of(ptr, type, member)                                   \
  ((type *)((char *)(ptr)-offsetof(type, member)))

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UVA__ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UVA__ASAN 1
#endif
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UVA__TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define UVA__TSAN 1
#endif

#if defined(__GNUC__)
#define uva__likely(x) __builtin_expect(!!(x), 1)
#define uva__unlikely(x) __builtin_expect(!!(x), 0)
#else
#define uva__likely(x) (x)
#define uva__unlikely(x) (x)
#endif

/* Issue 10 (stats.c): counters on hot paths exist only when the library is
 * built with UVA_STATS (CMake option, default ON); UVA__STAT(expr) compiles
 * to nothing without it. */
#ifndef UVA_STATS
#define UVA_STATS 0
#endif
#if UVA_STATS
#define UVA__STAT(expr) ((void)(expr))
#else
#define UVA__STAT(expr) ((void)0)
#endif

typedef struct uva__loop_s uva__loop_t;
typedef struct uva__ops_s uva__ops_t;
typedef struct uva__stack_s uva__stack_t;

/* ---- allocator (loop.c) ------------------------------------------------- */

void *uva__malloc(size_t n);
void *uva__calloc(size_t n, size_t m);
void *uva__realloc(void *p, size_t n);
void uva__free(void *p);

/* ---- futures (future.c) ------------------------------------------------- */

enum { UVA__PENDING = 0, UVA__SETTLED = 1 };

/* Who consumes a future. */
enum {
  UVA__C_NONE = 0, /* nobody yet: the user holds it */
  UVA__C_TASK,     /* a task suspended in uva_await: waiter = task */
  UVA__C_THEN,     /* uva_future_then: waiter = cb, data = user data */
  UVA__C_COMB,     /* join/select/timeout: waiter = parent, data = index */
  UVA__C_BLOCK,    /* uva_block_on polls the state */
  UVA__C_DETACHED, /* dropped (freed, cancelled by a parent): destroyed
                      untaken when it settles, so ops->undo gives back
                      what it took */
  UVA__C_RUN,      /* uva_future_detach: runs on; its result is taken and
                      freed when it settles */
  UVA__C_HOOK      /* an internal consumer (remote.c): once settled, from the
                      run queue, f's result is taken and waiter, a
                      uva__hook_fn, is called with f and waiter_data; it
                      takes the value (clearing free_fn) or leaves it to be
                      freed; f is destroyed after it returns */
};
/* The callback of a UVA__C_HOOK consumer. */
typedef void (*uva__hook_fn)(uva_future_t *f, void *data);

/* flags */
#define UVA__F_STATIC 0x0001u    /* shared and read-only: a static failed
                                    future (L NULL) */
#define UVA__F_QUEUED 0x0002u    /* on the loop's run queue */
#define UVA__F_DEAD 0x0004u      /* destroyed while queued: free on dequeue */
#define UVA__F_CANCEL 0x0008u    /* cancellation requested (tasks, polls) */
#define UVA__F_USER 0x0010u      /* made by uva_future_new */
#define UVA__F_HELD 0x0020u      /* libuv still holds the memory */
#define UVA__F_RELEASED 0x0040u  /* consumed and destroyed while held */
#define UVA__F_LAZY 0x0080u      /* not started: ops->start runs when it
                                    gets a consumer */
#define UVA__F_TAKEN 0x8000u     /* its result was taken (ops->take ran), or
                                    there is nothing to undo */
#define UVA__F_MARK 0x4000u      /* scratch mark (duplicate checks) */
#define UVA__F_KIND0 0x0100u     /* first bit free for the kind's own use
                                    (up to 0x2000u) */

struct uva_future_s {
  uva__loop_t *L;          /* NULL only for static failed futures */
  uva_future_t *next;      /* run queue or a wait list */
  const uva__ops_t *ops;   /* the kind */
  int32_t status;          /* 0 or negative error, once settled */
  uint8_t state;           /* UVA__PENDING / UVA__SETTLED */
  uint8_t consumer;        /* UVA__C_* */
  uint16_t flags;          /* UVA__F_* */
  uva_value_t value;       /* once settled with 0 */
  uva_free_cb free_fn;     /* frees value.ptr if nobody takes it */
  void *waiter;            /* see UVA__C_* */
  void *waiter_data;
};

/* What a kind of future does.  Every hook may be NULL. */
struct uva__ops_s {
  const char *name;
  /* f is pending and someone asked to cancel it: stop the work underneath and
   * settle f (now, or when the work has stopped). */
  void (*cancel)(uva_future_t *f);
  /* f is on the run queue, still pending: do the kind's queued work (start or
   * resume a task, poll). */
  void (*run)(uva_future_t *f);
  /* a child of this combinator (consumer UVA__C_COMB) settled */
  void (*child)(uva_future_t *parent, uva_future_t *child, size_t index);
  /* f is consumed and settled, its value already taken or freed: release the
   * kind's resources and the memory (uva__future_free_mem when nothing is
   * held).  NULL means uva__future_free_mem. */
  void (*release)(uva_future_t *f);
  /* Lazy kinds only (made with UVA__F_LAZY): f has got a consumer, so the
   * operation begins now (take a message, read buffered bytes, register as
   * a waiter).  It may settle f before it returns.  Until then f has no
   * effect at all: freeing or cancelling an unstarted f undoes nothing. */
  void (*start)(uva_future_t *f);
  /* f has settled and its consumer takes the result now (await returns it,
   * a then callback gets it, a select or join hands it on): the effect is
   * final.  Called once, before value and status are read. */
  void (*take)(uva_future_t *f);
  /* f has settled but is destroyed without its result having been taken (a
   * select loser, a cancelled join, uva_future_free): give back what the
   * operation took, so nothing is lost (a message to the front of its
   * channel, bytes to the front of the stream's buffer).  Called once,
   * instead of take. */
  void (*undo)(uva_future_t *f);
  /* Optional, lazy kinds: the consumer (uva_await) would start f and take
   * its result at once.  If the operation can complete right now, do it
   * and take it in one step (the effect is final), store its value and
   * free function in out (zeroed by the caller) and return its status;
   * else return UVA_PENDING having done nothing.  When it completes, it
   * also releases f (as ops->release would): f is gone, never settled. */
  int (*now)(uva_future_t *f, uva_result_t *out);
  /* Optional (uva_loop_dump, stats.c): writes what f waits for, beyond its
   * name, as text into buf[0..n) ("12 ms left"); loop thread, f pending. */
  void (*describe)(const uva_future_t *f, char *buf, size_t n);
};

/* uva__future_alloc (inline, below): allocates size bytes (at least
 * sizeof(uva_future_t)) from L's slabs and initialises a pending future of
 * kind ops.  NULL without memory. */
/* Gives a future's memory back; size as allocated. */
void uva__future_free_mem(uva_future_t *f, size_t size);
/* A failed future for err: from L when possible, else a static one. */
uva_future_t *uva__failed(uva__loop_t *L, int err);
/* Settles a pending future and notifies its consumer. */
void uva__settle(uva_future_t *f, int status, uva_value_t value,
                 uva_free_cb free_fn);
void uva__settle_err(uva_future_t *f, int status);
/* Destroys a settled, consumed f: frees any value nobody took, then releases
 * it.  Safe while f is queued (deferred). */
void uva__future_destroy(uva_future_t *f);
/* Asks a pending f to cancel; no-op if settled. */
void uva__future_cancel(uva_future_t *f);
/* Starts a lazy f (UVA__F_LAZY): ops->start runs, once.  No-op otherwise.
 * Every consumer calls it when it takes f on (a combinator: when it starts
 * itself). */
static inline void uva__future_start(uva_future_t *f);
/* The consumer takes the result of the settled f now: ops->take runs, once;
 * then value and status are final.  No-op for a shared static future. */
static inline void uva__future_take(uva_future_t *f);
/* Makes parent (a combinator) the consumer of child at index. */
void uva__future_adopt(uva_future_t *parent, uva_future_t *child,
                       size_t index);
/* Called by a kind whose memory libuv held, once libuv has let go: frees the
 * memory if the future was released meanwhile.  Returns 1 if it freed it. */
int uva__future_unhold(uva_future_t *f, size_t size);
/* Release hook helper: frees now, or marks for uva__future_unhold. */
void uva__future_release_held(uva_future_t *f, size_t size);

extern const uva__ops_t uva__plain_ops;

/* Combinator children (join.c).  uva__child_drop lets go of a child: a
 * pending one is cancelled (and destroyed when it settles), a settled one
 * is destroyed untaken (it gives back what it took).  uva__child_take takes
 * a settled child's result into r (the value is r's now) and destroys the
 * child. */
void uva__child_drop(uva_future_t *child);
void uva__child_take(uva_future_t *child, uva_result_t *r);
/* For a future f that holds one child in *slot (combinators.c):
 * uva__hold_take moves the settled child's result into f's own status,
 * value and free function (a take hook); uva__hold_drop lets go of the
 * child (an undo or release hook).  Both do nothing when *slot is NULL. */
void uva__hold_take(uva_future_t *f, uva_future_t **slot);
void uva__hold_drop(uva_future_t **slot);

/* ---- per-loop state (loop.c) -------------------------------------------- */

/* A node on the loop's cross-thread inbox (channels and wakers). */
typedef struct uva__remote_s uva__remote_t;
struct uva__remote_s {
  uva__remote_t *next;
  void (*cb)(uva__remote_t *r); /* runs on the loop thread */
  int queued;                   /* guarded by L->remote_lock */
};

#if defined(UVA_CONTEXT_UCONTEXT)
#include <ucontext.h>
#endif

typedef struct {
  void *sp; /* saved stack pointer; first, the switch code relies on it */
#if defined(UVA_CONTEXT_UCONTEXT)
  ucontext_t uc;
#endif
  const void *asan_bottom;
  size_t asan_size;
#ifdef UVA__TSAN
  void *tsan_fiber; /* TSan's state for this stack (its own thread's for the
                     * loop's main context) */
#endif
} uva__ctx_t;

#define UVA__CACHE_CLASSES 32 /* 16-byte size classes up to 512 bytes */
#define UVA__SLAB_MIN 4096    /* first chunk of a class, in bytes */
#define UVA__SLAB_MAX 262144  /* chunks double up to this size */

/* A chunk of memory carved into objects of one size class. */
typedef struct uva__slab_s {
  struct uva__slab_s *next;
  size_t size;
} uva__slab_t;

struct uva__loop_s {
  uv_loop_t *loop;
  uva__loop_t *reg_next; /* registry list */
  uv_thread_t owner;     /* the thread that runs the loop */

  /* run queue: futures, linked through next */
  uva_future_t *rq_head;
  uva_future_t *rq_tail;
  int draining;
  int in_cb;
  int budget; /* queue items this drain may still run */
  int coop;   /* awaits that may still complete at once before a yield */
  int from_main; /* ASan: the last switch left the loop's stack */

  /* scheduling */
  struct uva__task_s *current; /* running task or NULL */
  uva__ctx_t main_ctx;         /* the loop's own stack while a task runs */
  uva__stack_t *dead_stack;    /* a finished task's stack, to release */
  uva__stack_t *stack_pool;    /* free default-size stacks */
  size_t stack_pool_n;
  size_t stacks_live;
  uva__stack_t *live_stacks;   /* the stacks_live stacks, each a started
                                * task's that has not returned */
  int shutdown;                /* in uva_loop_shutdown: new tasks are born
                                * cancelled */

  /* handles: allocated per opening, so one may close while another opens */
  struct uva__idle_s *idle;    /* open and started, or NULL */
  struct uva__idle_s {
    uv_idle_t handle;
    uva__loop_t *L;
    int busy;
  } idle_slots[2];
  struct uva__async_s *async;  /* open, or NULL */
  size_t handles;              /* open or closing */
  size_t remote_waits;         /* waits another thread may end */
  int async_refd;              /* async is referenced */
  size_t closing;              /* uva's handles being closed */

  /* uva's requests in libuv's thread pool (work.c, fs.c) */
  struct uva__work_s *jobs;    /* work jobs in the pool (a list) */
  size_t pool_reqs;            /* work jobs and fs requests in the pool */
  size_t pool_dropped;         /* of those, ones whose future was cancelled
                                * while libuv held them: uva_block_on waits
                                * until they have returned */

  /* cross-thread inbox */
  uv_mutex_t remote_lock;
  uva__remote_t *inbox;      /* first in, first out */
  uva__remote_t *inbox_tail;

  /* serving other loops (remote.c, issue 11) */
  int serving;            /* uva_loop_serve: requests accepted (remote_lock) */
  int serve_waiting;      /* the serve's remote wait is held (loop thread) */
  int retired;            /* freed while other loops still referred to it:
                           * only the struct is kept (reg_lock, remote_lock) */
  int orphan;             /* freed but for the struct, which the last of
                           * those references frees (reg_lock) */
  size_t xrefs;           /* other loops' cached references (reg_lock) */
  atomic_size_t xpending; /* requests queued on the inbox, not yet run */
  atomic_size_t load;     /* live tasks, published at each drain's end */
  struct {
    uv_loop_t *loop;
    uva__loop_t *L; /* referenced (xrefs) while cached here */
  } xcache[4];              /* targets this loop placed work on */
  unsigned xcache_next;

  /* lifetime */
  size_t objects; /* futures and channels alive */
  struct uva__streams_s *streams; /* stream.c: adopted handles, scratch */

  /* object slabs: per size class a free list, then the unused tail of the
   * class's newest chunk */
  void *cache[UVA__CACHE_CLASSES];
  char *bump[UVA__CACHE_CLASSES];
  char *bump_end[UVA__CACHE_CLASSES];
  size_t slab_next[UVA__CACHE_CLASSES]; /* size of the class's next chunk */
  uva__slab_t *slabs;                   /* every chunk, freed with L */

#if UVA_STATS
  /* counters read by uva_loop_stats (stats.c), since L was made */
  struct {
    uint64_t callbacks;       /* outermost uva callbacks from libuv */
    uint64_t drains;          /* run-queue drains */
    uint64_t busy_ns;         /* uv_hrtime() spent in those callbacks */
    uint64_t cb_start;        /* uv_hrtime() at the current one's start */
    int timing;               /* busy_ns is measured: set by the first
                               * uva_loop_stats or uva_loop_dump */
    uint64_t spawned;         /* tasks spawned */
    uint64_t futures_made;    /* futures allocated */
    uint64_t futures_settled; /* futures settled (or born settled) */
    uint64_t futures_freed;   /* futures freed */
    uint64_t futures_unsettled_freed; /* of those, freed unsettled (an
                                       * operation done at once, ops->now):
                                       * pending = made - settled - this */
    uint64_t channels;        /* channels made and not freed */
    uva_chan_t *chans;        /* those channels (chan.c links them) */
  } st;
#endif
};

/* The state of loop, made on first use.  NULL without memory. */
uva__loop_t *uva__loop_get(uv_loop_t *loop);
/* The state of loop if uva has one now, else NULL (never makes one). */
uva__loop_t *uva__loop_find(uv_loop_t *loop);
/* The loop state whose scheduler runs on this thread now, or NULL. */
/* initial-exec: one load from the thread pointer, also in the shared
 * library (whose static TLS need is this one pointer). */
extern __thread uva__loop_t *uva__tls_running
    __attribute__((tls_model("initial-exec")));
static inline uva__loop_t *uva__loop_running(void) { return uva__tls_running; }
/* Frees L if nothing uses it any more (called after objects drop). */
void uva__loop_maybe_free(uva__loop_t *L);

/* uva__obj_alloc and uva__obj_free (inline, below) take objects from and
 * give them back to L's slabs; the _slow versions do everything else. */
void *uva__obj_alloc_slow(uva__loop_t *L, size_t size);
void uva__obj_free_slow(uva__loop_t *L, void *p, size_t size);

/* uva__rq_push (inline, below): puts f on the run queue (no-op if already
 * there) and makes sure the loop will drain it (uva__idle_ensure). */
void uva__idle_ensure(uva__loop_t *L);
/* Wraps every uva callback from libuv: enter, then leave, which drains. */
void uva__cb_enter(uva__loop_t *L);
void uva__cb_leave(uva__loop_t *L);
typedef struct uva__idle_s uva__idle_t;
/* Runs one dequeued future's queued work (future.c). */
void uva__future_run_queued(uva_future_t *f);
/* Queue items one drain may run before it hands the thread back to libuv, so
 * that busy tasks cannot starve the loop's I/O. */
#define UVA__BUDGET 4096
/* Awaits of already-settled futures (a channel that always has a message)
 * a task may make in a row before uva_await yields for it, as Tokio's
 * cooperative budget does, so that such a task cannot starve the others. */
#define UVA__COOP 128
/* Runs the queue until empty (from a libuv callback). */
void uva__drain(uva__loop_t *L);

/* A wait another thread may end (a pending poll future, a receiver on a
 * channel): keeps the async handle open and referenced.  Returns 0 or a
 * libuv error from uv_async_init. */
int uva__remote_wait_begin_slow(uva__loop_t *L);
void uva__remote_wait_end_slow(uva__loop_t *L);
/* From any thread: queues r on L's inbox and wakes the loop (coalesced).
 * Only while a remote wait is open, or r's owner guarantees the handle. */
void uva__remote_post(uva__loop_t *L, uva__remote_t *r);
/* Removes r from the inbox if it is there (loop thread). */
void uva__remote_cancel(uva__loop_t *L, uva__remote_t *r);
/* Issue 11 (loop.c): the state of target if it serves now, for placing
 * work on it from home's thread (home NULL: a thread that runs no loop).
 * The state is cached in home (referenced, so it is never freed while
 * cached) so that a hot target costs no registry lock.  Returns NULL if
 * target has no uva state or does not serve. */
uva__loop_t *uva__remote_target(uva__loop_t *home, uv_loop_t *target);
/* From any thread: as uva__remote_post, if T serves; returns UV_ECONNREFUSED
 * otherwise (nothing posted).  A posted request counts in T->xpending until
 * its callback calls uva__remote_request_done (first thing), so that a loop
 * that stops serving still runs the requests queued before. */
int uva__remote_post_request(uva__loop_t *T, uva__remote_t *r);
void uva__remote_request_done(uva__loop_t *T);
/* For a target found without a home (uva__remote_target(NULL, ...)): the
 * reference the lookup took is dropped (any thread). */
void uva__remote_target_drop(uva__loop_t *T);
/* Live tasks of L (read relaxed, any thread; for the pool's pick). */
size_t uva__loop_load(uva__loop_t *L);
int uva__on_loop_thread(uva__loop_t *L);
/* uv_close for every handle uva owns, and the first thing its close callback
 * calls: uva_block_on waits until none is closing. */
void uva__close(uva__loop_t *L, uv_handle_t *h, uv_close_cb cb);
void uva__closed(uva__loop_t *L);
/* For uva_block_on once its future has settled (L kept alive by the caller):
 * runs the loop until libuv has closed the handles uva was closing and every
 * pool request whose future was cancelled has returned (L->pool_dropped), so
 * that nothing of uva's is left behind. */
void uva__loop_settle(uva__loop_t *L);

/* ---- tasks (task.c) ----------------------------------------------------- */

/* A task is its own join future, 64 bytes in all.  While the join future is
 * pending its value fields are unused, so the task keeps its own data there:
 * before the first run value.ptr is arg, free_fn is fn and status the stack
 * size in KiB (or, in UVA_STATS builds with a default stack, the spawn site
 * as an offset from fn: task.c, F_SITE); once started, value.ptr is the
 * task's stack. */
typedef struct uva__task_s {
  uva_future_t base;
} uva__task_t;

#define uva__task_stack(t) ((uva__stack_t *)(t)->base.value.ptr)

/* uva_await without its fast paths, for a caller that has just found that
 * f (a fresh future of the running task's loop) cannot complete at once. */
int uva__await_waiting(uva_future_t *f, uva_value_t *value);
/* Puts a task suspended in uva_await back on the run queue (inline, below). */
static inline void uva__task_wake(void *task);

/* Parking a task on a waiter node instead of a future: a primitive whose
 * operation must wait, called from a task (the _wait calls), makes a node on
 * the task's own stack with uva__node_init, puts it on its waiter list and
 * calls uva__task_park.  The node is a pending future of consumer
 * UVA__C_TASK whose waiter is the task, so whoever serves the list settles it
 * as any waiting future (uva__settle wakes the task), and a cancel of the
 * task cancels it through ops->cancel, which must take it off the list and
 * settle it.  Nothing ever destroys or releases a node (no slab object, no
 * reference), so a node is never made lazy, never reserves anything, and is
 * never handed to a consumer. */
static inline void uva__node_init(uva_future_t *node, uva__loop_t *L,
                                  const uva__ops_t *ops);
/* Suspends the running task of node->L until node settles; returns its
 * status (a UV_ECANCELED there is the task's cancel, reported once). */
int uva__task_park(uva_future_t *node);
/* For stats.c: 1 if f is a task's join future; 1 if f is a task that has
 * not started (on the run queue); where the task f was spawned (the return
 * address of its uva_spawn call) or NULL where that was not recorded. */
int uva__task_is(const uva_future_t *f);
int uva__task_unstarted(const uva_future_t *f);
const void *uva__task_site(const uva_future_t *f);
/* Cancels every task of L's: those not started yet (on the run queue) and
 * the started ones (L->live_stacks).  Called outside any uva callback.
 * Returns how many tasks there are (each cancelled now or before). */
size_t uva__task_cancel_all(uva__loop_t *L);

/* ---- stacks and context switch (stack.c, switch-*) ---------------------- */

struct uva__stack_s {
  uva__ctx_t ctx;
  uva__stack_t *next; /* pool link */
  void *map;          /* mmap base */
  size_t map_size;
  size_t size;        /* as asked for, rounded up to a page */
  char *lo;           /* lowest usable byte (canary here) */
  char *hi;           /* one past the highest usable byte */
  unsigned vg_id;
  int guarded;
  int is_default; /* UVA_STACK_DEFAULT bytes: may go back to the pool */
  /* the task fields moved here when it started */
  uva__task_t *task;
  void *arg;
  uva_task_fn fn;
  uva_future_t *awaiting; /* what the task is suspended on */
  void *locals;           /* task-local values (task_local.c) */
  uva__stack_t *live_prev; /* L->live_stacks, while in use */
  uva__stack_t *live_next;
#if UVA_STATS
  const void *site; /* where the task was spawned, or NULL (stats.c) */
#endif
};

/* Runs the destructors of the task-local values of the task on s
 * (task_local.c); task.c calls it when the body has returned. */
void uva__task_locals_drop(uva__stack_t *s);

uva__stack_t *uva__stack_get(uva__loop_t *L, size_t size);
void uva__stack_put(uva__loop_t *L, uva__stack_t *s);
void uva__stack_pool_free(uva__loop_t *L);
/* Aborts with a clear message if the stack's canary was overwritten. */
void uva__stack_check(const uva__stack_t *s);
/* Once per thread that runs tasks: the alternate signal stack on which a
 * guard-page hit is reported. */
void uva__stack_thread_init(void);

/* The return addresses of the frames of the suspended s, innermost first,
 * into ip[0..max) (stats-unwind.c, for uva_loop_dump): returns how many,
 * with *cut 1 when the walk stopped at a frame off the stack or at max;
 * UV_EINVAL if s's saved stack pointer is not on it; UV_ENOTSUP where the
 * build cannot unwind (the ucontext switch, other architectures). */
int uva__backtrace(const uva__stack_t *s, const void **ip, int max, int *cut);
/* Prepares ctx to run entry(s) on s's stack at the first switch. */
void uva__ctx_make(uva__stack_t *s, void (*entry)(uva__stack_t *s));
/* Saves the current context in from and resumes to. */
void uva__ctx_switch(uva__ctx_t *from, uva__ctx_t *to);

/* The inline fast paths (object slabs, run queue, remote waits, start and
 * take, waking and parking tasks, the cooperative budget). */
#include "internal-inline.h"

#endif /* UVA_INTERNAL_H */
