/* Tasks: stackful coroutines scheduled from the loop's run queue.  A task is
 * its own join future; its stack is taken from the pool only when it first
 * runs, so a spawned task that has not started costs one small object. */
#include "internal.h"

#ifdef UVA__ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef UVA__TSAN
#include <sanitizer/tsan_interface.h>
#endif

#define F_STARTED (UVA__F_KIND0 << 0)
#define F_CANCEL_SEEN (UVA__F_KIND0 << 1)
/* Not started, UVA_STATS builds (issue 10): status holds where the task was
 * spawned, as an offset from fn, instead of a stack size (a default stack).
 * The task object stays 64 bytes. */
#define F_SITE (UVA__F_KIND0 << 2)
#if UVA_STATS
#define stack_kib(f) (((f)->flags & F_SITE) ? 0 : (size_t)(f)->status)
#else
#define stack_kib(f) ((size_t)(f)->status)
#endif

static void task_cancel(uva_future_t *f);
static void task_run(uva_future_t *f);
static void task_release(uva_future_t *f);

static const uva__ops_t task_ops = {
    .name = "task",
    .cancel = task_cancel,
    .run = task_run,
    .release = task_release,
};

/* ---- switching ---------------------------------------------------------- */

static void switch_ctx(uva__loop_t *L, uva__ctx_t *from, uva__ctx_t *to,
                       int dying) {
#ifdef UVA__ASAN
  void *fake = NULL;
  const void *bottom;
  size_t size;
  __sanitizer_start_switch_fiber(dying ? NULL : &fake, to->asan_bottom,
                                 to->asan_size);
  uva__ctx_switch(from, to);
  __sanitizer_finish_switch_fiber(fake, &bottom, &size);
  /* Resumed in a task that the loop's stack switched to: learn the loop
   * stack's bounds, for the switch back. */
  if (from != &L->main_ctx && L->from_main) {
    L->main_ctx.asan_bottom = bottom;
    L->main_ctx.asan_size = size;
    L->from_main = 0;
  }
#else
  (void)L;
  (void)dying;
#ifdef UVA__TSAN
  /* TSan keeps a call stack and a clock per fiber: tell it which one runs.
   * The loop's context is whatever fiber (thread) left for a task. */
  from->tsan_fiber = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
  uva__ctx_switch(from, to);
#endif
}

static void enter_from_main(uva__loop_t *L, uva__task_t *t) {
  L->current = t;
#ifdef UVA__ASAN
  L->from_main = 1;
#endif
  switch_ctx(L, &L->main_ctx, &uva__task_stack(t)->ctx, 0);
  /* back on the loop's stack */
  L->current = NULL;
  if (L->dead_stack != NULL) {
    uva__stack_put(L, L->dead_stack);
    L->dead_stack = NULL;
  }
}

/* Binds the not yet started t to stack s. */
static void task_bind(uva__task_t *t, uva__stack_t *s) {
  uva_future_t *f = &t->base;

  s->task = t;
  s->fn = (uva_task_fn)(uintptr_t)f->free_fn;
#if UVA_STATS
  s->site = (f->flags & F_SITE) ? (const char *)(uintptr_t)s->fn + f->status
                                : NULL;
  f->flags &= ~F_SITE;
#endif
  s->arg = f->value.ptr;
  s->awaiting = NULL;
  s->locals = NULL;
  f->value.ptr = s;
  f->free_fn = NULL;
  f->status = 0;
  f->flags |= F_STARTED;
}

/* A task that finished on s: when the queue's next item is a task that has
 * not started yet and wants a default stack, takes it off the queue and binds
 * it to s, so that it runs right here, with no switch and no stack from the
 * pool.  NULL when the next item is anything else. */
static uva__task_t *task_next_fresh(uva__loop_t *L, uva__stack_t *s) {
  uva_future_t *f = L->rq_head;

  if (f == NULL || f->ops != &task_ops || L->budget <= 0 ||
      (f->flags & (F_STARTED | UVA__F_DEAD | UVA__F_CANCEL)) ||
      f->state != UVA__PENDING || stack_kib(f) != 0 || !s->is_default)
    return NULL;
  L->budget--;
  uva__rq_pop(L);
  task_bind((uva__task_t *)f, s);
  return (uva__task_t *)f;
}

static void task_entry(uva__stack_t *s) {
  uva__task_t *t = s->task;
  uva__loop_t *L = t->base.L;
  uva_result_t r;
  int status;

#ifdef UVA__ASAN
  {
    const void *bottom;
    size_t size;
    __sanitizer_finish_switch_fiber(NULL, &bottom, &size);
    if (L->from_main) {
      L->main_ctx.asan_bottom = bottom;
      L->main_ctx.asan_size = size;
    }
    L->from_main = 0;
  }
#endif
  do {
    L->current = t;
    r.status = 0;
    r.value.u64 = 0;
    r.free_fn = NULL;
    status = s->fn(s->arg, &r);
    if (s->locals != NULL)
      uva__task_locals_drop(s);
    if (status > 0)
      status = UV_EINVAL; /* a body returns 0 or a negative error */
    if ((t->base.flags & UVA__F_CANCEL) || status != 0) {
      if (r.free_fn != NULL)
        r.free_fn(r.value.ptr);
      if (t->base.flags & UVA__F_CANCEL)
        status = UV_ECANCELED;
      r.value.u64 = 0;
      r.free_fn = NULL;
    }
    uva__stack_check(s);
    L->current = NULL; /* settling reuses t's fields, and may free t */
    uva__settle(&t->base, status, r.value, r.free_fn);
  } while ((t = task_next_fresh(L, s)) != NULL);
  /* s goes back to the pool once the loop's stack runs */
  L->dead_stack = s;
  switch_ctx(L, &s->ctx, &L->main_ctx, 1);
  __builtin_unreachable();
}

/* Gives t a stack.  Returns 0, or an error with which t has been settled. */
static int task_start(uva__loop_t *L, uva__task_t *t) {
  uva_future_t *f = &t->base;
  uva__stack_t *s;

  if (f->flags & UVA__F_CANCEL) {
    uva__settle_err(f, UV_ECANCELED);
    return UV_ECANCELED;
  }
  s = uva__stack_get(L, stack_kib(f) * 1024);
  if (s == NULL) {
    uva__settle_err(f, UV_ENOMEM);
    return UV_ENOMEM;
  }
  task_bind(t, s);
  uva__ctx_make(s, task_entry);
  return 0;
}

/* Suspends the running task t until something puts it back on the run
 * queue: switches straight to the next queued task when there is one, else
 * back to the loop's stack. */
static void suspend(uva__loop_t *L, uva__task_t *t) {
  uva__stack_t *s = uva__task_stack(t);
  uva_future_t *next = L->rq_head;

  L->coop = UVA__COOP; /* others run now: a new turn */
  uva__stack_check(s);
  if (next == &t->base && L->budget > 0) {
    /* t yielded and nothing else is ready: go on, within the budget, so that
     * a task that yields in a loop still lets libuv run its I/O and timers */
    L->budget--;
    uva__rq_pop(L);
    return;
  }
  if (next != NULL && next->ops == &task_ops && L->budget > 0 &&
      (next->flags & (F_STARTED | UVA__F_DEAD)) == F_STARTED &&
      next->state == UVA__PENDING) {
    uva__task_t *nt = (uva__task_t *)next;
    L->budget--;
    uva__rq_pop(L);
    L->current = nt;
    switch_ctx(L, &s->ctx, &uva__task_stack(nt)->ctx, 0);
  } else {
    switch_ctx(L, &s->ctx, &L->main_ctx, 0);
  }
}

/* ---- the task kind ------------------------------------------------------ */

static void task_run(uva_future_t *f) {
  uva__task_t *t = (uva__task_t *)f;
  uva__loop_t *L = f->L;

  if (!(f->flags & F_STARTED) && task_start(L, t) != 0)
    return;
  enter_from_main(L, t);
}

static void task_cancel(uva_future_t *f) {
  uva__task_t *t = (uva__task_t *)f;

  if (f->flags & UVA__F_CANCEL)
    return;
  f->flags |= UVA__F_CANCEL;
  /* Not started: it settles when the queue reaches it.  Started and
   * suspended in uva_await: cancel what it waits for, so it wakes. */
  if ((f->flags & F_STARTED) && uva__task_stack(t)->awaiting != NULL)
    uva__future_cancel(uva__task_stack(t)->awaiting);
}

static void task_release(uva_future_t *f) {
  uva__future_free_mem(f, sizeof(uva__task_t));
}


/* ---- public API --------------------------------------------------------- */

/* site: uva_spawn's caller, for uva_loop_dump (stats.c, issue 10) */
static inline __attribute__((always_inline)) uva_future_t *
spawn(uv_loop_t *loop, uva_task_fn fn, void *arg, const uva_spawn_opts_t *opts,
      const void *site) {
  uva__loop_t *L = uva__loop_get(loop);
  size_t size = 0;
  uva__task_t *t;

  if (loop == NULL || fn == NULL)
    return uva__failed(L, UV_EINVAL);
  if (opts != NULL && opts->stack_size != 0) {
    if (opts->stack_size < UVA_STACK_MIN ||
        opts->stack_size > ((size_t)1 << 40))
      return uva__failed(L, UV_EINVAL);
    size = opts->stack_size;
  }
  if (L == NULL)
    return uva__failed(NULL, UV_ENOMEM);
  t = (uva__task_t *)uva__future_alloc(L, &task_ops, sizeof(*t));
  if (t == NULL)
    return uva__failed(L, UV_ENOMEM);
  /* Until it starts, the join future's idle fields hold the start-up data. */
  t->base.free_fn = (uva_free_cb)(uintptr_t)fn;
  t->base.value.ptr = arg;
  t->base.status = (int32_t)((size + 1023) / 1024);
#if UVA_STATS /* issue 10: the spawn site, as an offset from fn */
  {
    intptr_t d = (const char *)site - (const char *)(uintptr_t)fn;
    if (size == 0 && d != 0 && d >= INT32_MIN && d <= INT32_MAX) {
      t->base.status = (int32_t)d;
      t->base.flags |= F_SITE;
    }
  }
  L->st.spawned++;
#else
  (void)site;
#endif
  if (uva__unlikely(L->shutdown))
    t->base.flags |= UVA__F_CANCEL; /* uva_loop_shutdown: never starts */
  uva__rq_push(L, &t->base);
  return &t->base;
}

uva_future_t *uva_spawn_ex(uv_loop_t *loop, uva_task_fn fn, void *arg,
                           const uva_spawn_opts_t *opts) {
  return spawn(loop, fn, arg, opts, __builtin_return_address(0));
}

uva_future_t *uva_spawn(uv_loop_t *loop, uva_task_fn fn, void *arg) {
  return spawn(loop, fn, arg, NULL, __builtin_return_address(0));
}

/* ---- for stats.c (issue 10) --------------------------------------------- */

int uva__task_is(const uva_future_t *f) { return f->ops == &task_ops; }

int uva__task_unstarted(const uva_future_t *f) {
  return f->ops == &task_ops && !(f->flags & (F_STARTED | UVA__F_DEAD)) &&
         f->state == UVA__PENDING;
}

const void *uva__task_site(const uva_future_t *f) {
#if UVA_STATS
  if (f->state != UVA__PENDING)
    return NULL; /* returned: its fields hold the result */
  if (f->flags & F_STARTED)
    return uva__task_stack((const uva__task_t *)f)->site;
  if (f->flags & F_SITE)
    return (const char *)(uintptr_t)f->free_fn + f->status;
#else
  (void)f;
#endif
  return NULL;
}

static uva__task_t *current_task(void) {
  uva__loop_t *L = uva__loop_running();
  return L != NULL ? L->current : NULL;
}

int uva_in_task(void) { return current_task() != NULL; }

/* Returns 1, once, when t has been cancelled and has not been told yet. */
static int take_cancel(uva__task_t *t) {
  if ((t->base.flags & (UVA__F_CANCEL | F_CANCEL_SEEN)) == UVA__F_CANCEL) {
    t->base.flags |= F_CANCEL_SEEN;
    return 1;
  }
  return 0;
}

/* Called by uva_await when f had already settled: every UVA__COOP such
 * awaits in a row, lets the other ready tasks run first. */
static __attribute__((noinline)) void coop_yield(uva__loop_t *L,
                                                 uva__task_t *t) {
  uva__rq_push(L, &t->base);
  suspend(L, t);
}

void uva__coop_yield(uva__loop_t *L) { coop_yield(L, L->current); }

static inline void coop_spend(uva__loop_t *L, uva__task_t *t) {
  if (uva__unlikely(--L->coop <= 0))
    coop_yield(L, t);
}

/* uva_await apart from its fast path. */
static __attribute__((noinline)) int await_slow(uva__task_t *t,
                                                uva_future_t *f,
                                                uva_value_t *value) {
  uva__loop_t *L;
  int status;

  if (t == NULL || (f->L != NULL && f->L != t->base.L)) {
    uva_future_free(f);
    return UV_EINVAL;
  }
  /* One that has completed keeps its result (see below). */
  if (!(f->state == UVA__SETTLED && f->status == 0) && take_cancel(t)) {
    uva_future_free(f);
    return UV_ECANCELED;
  }
  L = t->base.L;
  if (f->flags & UVA__F_STATIC) {
    status = f->status;
    uva__future_destroy(f);
    coop_spend(L, t);
    return status;
  }
  if (f->flags & UVA__F_LAZY) {
    /* Start it without a waiter: an operation that completes at once must
     * not wake this task, which is running. */
    f->consumer = UVA__C_BLOCK;
    uva__future_start(f);
  }
  if (f->state == UVA__PENDING) {
    f->consumer = UVA__C_TASK;
    f->waiter = t;
    uva__task_stack(t)->awaiting = f;
    suspend(L, t);
    uva__task_stack(t)->awaiting = NULL;
  } else {
    coop_spend(L, t);
  }
  f->consumer = UVA__C_DETACHED;
  uva__future_take(f);
  status = f->status;
  /* A result f got on its own before the cancel reached it stands (a
   * received message is not lost); the next await point reports the cancel.
   * Only when the cancel settled f is it reported here. */
  if (status == UV_ECANCELED)
    take_cancel(t);
  else if (status == 0 && value != NULL) {
    *value = f->value;
    f->free_fn = NULL;
  }
  uva__future_destroy(f);
  return status;
}

int uva_await(uva_future_t *f, uva_value_t *value) {
  uva__task_t *t = current_task();
  uva__loop_t *L;
  int status;

  if (f == NULL || f->consumer != UVA__C_NONE)
    return UV_EINVAL; /* a consumed future is not ours to touch */
  /* An operation that can complete at once (a channel send with room, a
   * receive with a message): done and taken in one step, never settled. */
  if (uva__likely(t != NULL && (f->flags & UVA__F_LAZY) &&
                  f->ops->now != NULL && f->L == t->base.L &&
                  !(t->base.flags & UVA__F_CANCEL))) {
    uva_result_t r;
    L = f->L;
    r.value.u64 = 0;
    r.free_fn = NULL;
    status = f->ops->now(f, &r);
    if (status != UVA_PENDING) {
      if (status == 0 && value != NULL)
        *value = r.value;
      else if (status == 0 && r.free_fn != NULL)
        r.free_fn(r.value.ptr);
      coop_spend(L, t);
      return status;
    }
  }
  return await_slow(t, f, value);
}

int uva__task_park(uva_future_t *node) {
  uva__loop_t *L = node->L;
  uva__task_t *t = L->current;
  uva__stack_t *s = uva__task_stack(t);
  int status;

  s->awaiting = node;
  suspend(L, t);
  s->awaiting = NULL;
  status = node->status;
  if (status == UV_ECANCELED)
    take_cancel(t);
  uva__stat_future_freed(node); /* the node's life ends (stats) */
  return status;
}

int uva__await_waiting(uva_future_t *f, uva_value_t *value) {
  return await_slow(current_task(), f, value);
}

int uva_yield(void) {
  uva__task_t *t = current_task();
  uva__loop_t *L;

  if (t == NULL)
    return UV_EINVAL;
  if (take_cancel(t))
    return UV_ECANCELED;
  L = t->base.L;
  uva__rq_push(L, &t->base);
  suspend(L, t);
  return take_cancel(t) ? UV_ECANCELED : 0;
}

int uva_block_on(uv_loop_t *loop, uva_future_t *f, uva_value_t *value) {
  uva__loop_t *L;
  int status, deadlocked = 0;

  if (f == NULL)
    return UV_EINVAL;
  if (f->flags & UVA__F_STATIC) { /* settled at once: nothing to run */
    status = loop == NULL || (f->L != NULL && f->L->loop != loop) ? UV_EINVAL
             : uva__loop_running() != NULL                       ? UV_EBUSY
                                                                 : f->status;
    uva__future_destroy(f);
    return status;
  }
  if (f->consumer != UVA__C_NONE)
    return UV_EINVAL;
  L = f->L;
  if (loop == NULL || L->loop != loop) {
    uva_future_free(f);
    return UV_EINVAL;
  }
  if (uva__loop_running() != NULL || L->draining || L->in_cb) {
    uva_future_free(f);
    return UV_EBUSY;
  }
  f->consumer = UVA__C_BLOCK;
  uva__future_start(f);
  while (f->state == UVA__PENDING) {
    int alive = uv_run(loop, UV_RUN_ONCE);
    if (f->state == UVA__PENDING && !alive && L->rq_head == NULL) {
      if (deadlocked) {
        /* cancelled, and still nothing can settle it: let it go */
        f->consumer = UVA__C_DETACHED;
        status = UV_EAGAIN;
        goto done;
      }
      /* Nothing left could settle f: cancel it, and run what that wakes
       * (a task's clean-up) before reporting. */
      deadlocked = 1;
      uva__future_cancel(f);
    }
  }
  /* Let libuv finish closing uva's handles (a timer that just fired, say),
   * and let pool jobs whose futures were cancelled return (a timed-out
   * spawn_blocking still using its arg), so that the caller's uv_loop_close
   * can succeed and arg may be freed.  f keeps the loop state alive
   * meanwhile. */
  uva__loop_settle(L);
  f->consumer = UVA__C_DETACHED;
  if (!deadlocked)
    uva__future_take(f);
  status = deadlocked ? UV_EAGAIN : f->status;
  if (status == 0 && value != NULL) {
    *value = f->value;
    f->free_fn = NULL;
  }
  uva__future_destroy(f);
done:
  return status;
}

size_t uva__task_cancel_all(uva__loop_t *L) {
  uva_future_t *f;
  uva__stack_t *s;
  size_t n = 0;

  /* Not started: on the run queue; cancelled, each settles when the queue
   * reaches it and never runs.  Cancelling never runs a task (tasks run
   * only from the queue), so neither list changes meanwhile. */
  for (f = L->rq_head; f != NULL; f = f->next)
    if (f->ops == &task_ops && !(f->flags & (F_STARTED | UVA__F_DEAD)) &&
        f->state == UVA__PENDING) {
      f->flags |= UVA__F_CANCEL;
      n++;
    }
  for (s = L->live_stacks; s != NULL; s = s->live_next) {
    task_cancel(&s->task->base);
    n++;
  }
  return n;
}
