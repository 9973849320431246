/* A pool of loops in threads (issue 11): include/uva/pool.h.
 *
 * Each slot of the pool is one thread that runs one loop of its own.  The
 * thread makes its loop, a stop handle (a uv_async_t of the pool's) and
 * starts serving (uva_loop_serve); then it says "ready" to uva_pool_new and
 * runs the loop until the stop handle fires.  The stop callback, on the
 * loop's thread, stops serving (uva_loop_serve_stop: work placed afterwards
 * is refused), closes the stop handle and makes uv_run return (uv_stop);
 * the thread then ends uva's work with uva_loop_shutdown (again until
 * nothing is left if the first deadline passed) and closes the loop.
 * uva_pool_free stops every loop first and only then joins the threads, so
 * the loops shut down side by side: a task on one loop that awaits a task
 * on another is cancelled while the other can still answer.
 *
 * The pool places work only through the public calls (uva_spawn_on,
 * uva_spawn_on_blocking); the one thing it reads of uva's internals is each
 * loop's load (uva__loop_load: its live tasks, published at the end of each
 * run of its queue, and the requests queued for it), for uva_pool_pick.
 * That figure lags behind a burst of placements from a loop on itself (a
 * task that places 16 tasks without yielding: those on its own loop are
 * plain spawns, published only once it yields), so the pool adds what such
 * picks gave a loop since the loop's last turn ended (a uv_check_t of the
 * pool's marks each turn). */
#include "internal.h"

/* A pool thread's stack: the loop's own code and the program's callbacks
 * run on it (tasks run on stacks of their own); address space only, the
 * pages touched are what it costs. */
#define POOL_THREAD_STACK (1024 * 1024)
/* After the first deadline of uva_pool_free has passed, the loop runs in
 * steps of this many milliseconds until the tasks left have returned. */
#define POOL_DRAIN_STEP_MS 1000
/* The largest pool uva_pool_new makes. */
#define POOL_MAX 1024

enum { SLOT_STARTING = 0, SLOT_READY, SLOT_FAILED };

typedef struct pool_slot_s {
  uva_pool_t *pool;
  uv_loop_t *loop;  /* allocated apart: leaked if it cannot be closed */
  uva__loop_t *L;   /* loop's uva state, alive while the loop serves */
  uv_thread_t thread;
  uv_async_t stop;  /* uva_pool_free -> the loop's thread */
  uv_check_t check; /* unreferenced: marks the placements the load shows */
  atomic_size_t placed; /* picks of this loop from itself (uva_pool_pick) */
  atomic_size_t seen;   /* placed, as it was at the end of the loop's
                         * last turn: by then the load counts them */
  int state;        /* SLOT_* (pool->mu) */
  int err;          /* the start's error, then the shutdown's result */
} pool_slot_t;

struct uva_pool_s {
  size_t n;
  atomic_size_t next; /* where uva_pool_pick starts looking (round robin) */
  uv_mutex_t mu;      /* state of each slot, timeout_ms */
  uv_cond_t cv;       /* a slot left SLOT_STARTING */
  uint64_t timeout_ms;
  pool_slot_t slots[];
};

/* The pool whose thread this is (NULL on every other thread). */
static __thread uva_pool_t *pool_self;

/* On the loop's thread, once uva_pool_free (or a failed uva_pool_new) has
 * sent it: no more work from other threads; uv_run returns. */
static void slot_stop_cb(uv_async_t *h) {
  pool_slot_t *s = uva__container_of(h, pool_slot_t, stop);
  uva_loop_serve_stop(h->loop);
  uv_close((uv_handle_t *)h, NULL);
  uv_close((uv_handle_t *)&s->check, NULL);
  uv_stop(h->loop);
}

/* At the end of each turn of the loop (after its I/O callbacks, in which
 * uva ran what was placed and published the load): what was picked before
 * now shows in uva__loop_load (as a live task or a queued request). */
static void slot_check_cb(uv_check_t *h) {
  pool_slot_t *s = uva__container_of(h, pool_slot_t, check);
  atomic_store_explicit(
      &s->seen, atomic_load_explicit(&s->placed, memory_order_relaxed),
      memory_order_relaxed);
}

/* After uv_run has returned: uva's work on the loop is ended, then the loop
 * is closed.  Returns 0, UV_ETIMEDOUT (tasks outlived the deadline; they
 * have returned by now) or UV_EBUSY (the loop could not be closed). */
static int slot_shutdown(pool_slot_t *s) {
  uint64_t timeout_ms;
  int err, timed_out = 0;

  uv_mutex_lock(&s->pool->mu);
  timeout_ms = s->pool->timeout_ms;
  uv_mutex_unlock(&s->pool->mu);
  err = uva_loop_shutdown(s->loop, timeout_ms, NULL);
  while (err == UV_ETIMEDOUT) {
    timed_out = 1;
    err = uva_loop_shutdown(s->loop, POOL_DRAIN_STEP_MS, NULL);
  }
  /* What is left of uva's: replies to work this loop placed on other loops
   * that is still out there (a detached uva_spawn_on, a target's wait for a
   * cancel on its way), futures held outside tasks, handles closing (the
   * stop handle's close callback too).  The loops shut down side by side,
   * so the replies come. */
  for (;;) {
    uva_stats_t st;
    memset(&st, 0, sizeof(st));
    st.size = sizeof(st);
    if (uva_loop_stats(s->loop, &st) != 0 || st.handles == 0)
      break;
    if (uv_run(s->loop, UV_RUN_ONCE) == 0)
      break; /* nothing left alive: what remains cannot move */
  }
  uv_run(s->loop, UV_RUN_NOWAIT); /* close callbacks still due; never waits */
  if (uv_loop_close(s->loop) != 0)
    return UV_EBUSY;
  return timed_out ? UV_ETIMEDOUT : 0;
}

/* Makes the slot's loop, its handles, and has it serve; on an error leaves
 * nothing behind (the loop closed).  Returns 0 or the error. */
static int slot_start(pool_slot_t *s) {
  int err;

  err = uv_loop_init(s->loop);
  if (err != 0)
    return err;
  err = uv_async_init(s->loop, &s->stop, slot_stop_cb);
  if (err != 0) {
    uv_loop_close(s->loop);
    return err;
  }
  uv_check_init(s->loop, &s->check); /* cannot fail on unix */
  uv_check_start(&s->check, slot_check_cb);
  uv_unref((uv_handle_t *)&s->check);
  err = uva_loop_serve(s->loop);
  s->L = err == 0 ? uva__loop_find(s->loop) : NULL;
  if (err == 0 && s->L == NULL)
    err = UV_ENOMEM; /* not expected: a serving loop has its state */
  if (err != 0) {
    uv_close((uv_handle_t *)&s->stop, NULL);
    uv_close((uv_handle_t *)&s->check, NULL);
    if (uva_loop_serving(s->loop))
      uva_loop_serve_stop(s->loop);
    uva_loop_shutdown(s->loop, 0, NULL);
    uv_run(s->loop, UV_RUN_DEFAULT);
    uv_loop_close(s->loop);
  }
  return err;
}

static void slot_main(void *arg) {
  pool_slot_t *s = arg;
  int err;

  pool_self = s->pool;
  /* One thread at a time makes its loop (or, failing, closes it): the file
   * descriptors one closes and another gets are then ordered (ThreadSanitizer
   * cannot see the kernel's order). */
  uv_mutex_lock(&s->pool->mu);
  err = slot_start(s);
  s->state = err == 0 ? SLOT_READY : SLOT_FAILED;
  s->err = err;
  uv_cond_broadcast(&s->pool->cv);
  uv_mutex_unlock(&s->pool->mu);
  if (err != 0)
    return;
  uv_run(s->loop, UV_RUN_DEFAULT);
  s->err = slot_shutdown(s); /* read after uv_thread_join */
}

/* Stops and joins the threads of slots [0, n) that were started, then
 * frees the pool.  Returns the worst result: UV_EBUSY, then UV_ETIMEDOUT,
 * else 0.  A loop that could not be closed is leaked. */
static int pool_end(uva_pool_t *pool, size_t n, uint64_t timeout_ms) {
  size_t i;
  int err = 0;

  uv_mutex_lock(&pool->mu);
  pool->timeout_ms = timeout_ms;
  uv_mutex_unlock(&pool->mu);
  /* Every loop is told first, so that they shut down side by side. */
  for (i = 0; i < n; i++)
    if (pool->slots[i].state == SLOT_READY)
      uv_async_send(&pool->slots[i].stop);
  for (i = 0; i < n; i++) {
    pool_slot_t *s = &pool->slots[i];
    uv_thread_join(&s->thread);
    if (s->state == SLOT_READY) {
      if (s->err == UV_EBUSY)
        err = UV_EBUSY;
      else if (s->err == UV_ETIMEDOUT && err == 0)
        err = UV_ETIMEDOUT;
      if (s->err == UV_EBUSY)
        continue; /* its loop is leaked, not freed under its handles */
    }
    uva__free(s->loop);
  }
  for (i = n; i < pool->n; i++)
    uva__free(pool->slots[i].loop);
  uv_cond_destroy(&pool->cv);
  uv_mutex_destroy(&pool->mu);
  uva__free(pool);
  return err;
}

int uva_pool_new(size_t n, uva_pool_t **out) {
  uv_thread_options_t opts;
  uva_pool_t *pool;
  size_t i, started;
  int err;

  if (out != NULL)
    *out = NULL;
  if (out == NULL || n > POOL_MAX)
    return UV_EINVAL;
  if (n == 0)
    n = uv_available_parallelism();
  if (n == 0)
    n = 1;
  if (n > POOL_MAX)
    n = POOL_MAX;
  pool = uva__calloc(1, sizeof(*pool) + n * sizeof(pool->slots[0]));
  if (pool == NULL)
    return UV_ENOMEM;
  pool->n = n;
  atomic_init(&pool->next, 0);
  for (i = 0; i < n; i++) {
    pool->slots[i].pool = pool;
    atomic_init(&pool->slots[i].placed, 0);
    atomic_init(&pool->slots[i].seen, 0);
    pool->slots[i].loop = uva__malloc(sizeof(uv_loop_t));
    if (pool->slots[i].loop == NULL)
      break;
  }
  if (i < n) {
    while (i-- > 0)
      uva__free(pool->slots[i].loop);
    uva__free(pool);
    return UV_ENOMEM;
  }
  err = uv_mutex_init(&pool->mu);
  if (err == 0) {
    err = uv_cond_init(&pool->cv);
    if (err != 0)
      uv_mutex_destroy(&pool->mu);
  }
  if (err != 0) {
    for (i = 0; i < n; i++)
      uva__free(pool->slots[i].loop);
    uva__free(pool);
    return err;
  }

  opts.flags = UV_THREAD_HAS_STACK_SIZE;
  opts.stack_size = POOL_THREAD_STACK;
  for (started = 0; started < n; started++) {
    err = uv_thread_create_ex(&pool->slots[started].thread, &opts, slot_main,
                              &pool->slots[started]);
    if (err != 0)
      break;
  }
  /* Every thread started says whether its loop serves. */
  uv_mutex_lock(&pool->mu);
  for (i = 0; i < started; i++) {
    while (pool->slots[i].state == SLOT_STARTING)
      uv_cond_wait(&pool->cv, &pool->mu);
    if (pool->slots[i].state == SLOT_FAILED && err == 0)
      err = pool->slots[i].err;
  }
  uv_mutex_unlock(&pool->mu);
  if (err != 0) {
    pool_end(pool, started, 0); /* nothing ran on them: closes cleanly */
    return err;
  }
  *out = pool;
  return 0;
}

size_t uva_pool_size(const uva_pool_t *pool) {
  return pool != NULL ? pool->n : 0;
}

uv_loop_t *uva_pool_loop(const uva_pool_t *pool, size_t i) {
  if (pool == NULL || i >= pool->n)
    return NULL;
  return pool->slots[i].loop;
}

/* Loop s's load now: its live tasks as uva last published them and the
 * requests queued for it, and the tasks its own tasks placed on it through
 * the pool since its last turn ended. */
static size_t slot_load(pool_slot_t *s) {
  return uva__loop_load(s->L) +
         (atomic_load_explicit(&s->placed, memory_order_relaxed) -
          atomic_load_explicit(&s->seen, memory_order_relaxed));
}

uv_loop_t *uva_pool_pick(uva_pool_t *pool) {
  size_t i, k, n, best, best_load, load;

  if (pool == NULL)
    return NULL;
  n = pool->n;
  /* The search starts one further each time, so that ties go round robin. */
  best = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed) % n;
  best_load = slot_load(&pool->slots[best]);
  for (k = 1; k < n && best_load > 0; k++) {
    i = (best + k) % n;
    load = slot_load(&pool->slots[i]);
    if (load < best_load) {
      best = i;
      best_load = load;
    }
  }
  /* Work placed from a loop on itself is a plain spawn, which the load
   * shows only once the spawning task yields: counted here meanwhile.
   * (Work placed on another loop shows at once, as a queued request.) */
  if (pool->slots[best].loop == uva_current_loop())
    atomic_fetch_add_explicit(&pool->slots[best].placed, 1,
                              memory_order_relaxed);
  return pool->slots[best].loop;
}

uva_future_t *uva_pool_spawn(uv_loop_t *loop, uva_pool_t *pool,
                             uva_task_fn fn, void *arg) {
  if (pool == NULL || loop == NULL || fn == NULL)
    return uva_spawn_on(loop, NULL, fn, arg); /* fails with UV_EINVAL */
  return uva_spawn_on(loop, uva_pool_pick(pool), fn, arg);
}

int uva_pool_block_on(uva_pool_t *pool, uva_task_fn fn, void *arg,
                      uva_result_t *result) {
  if (result != NULL)
    memset(result, 0, sizeof(*result));
  if (pool == NULL || pool_self != NULL)
    return UV_EINVAL;
  return uva_spawn_on_blocking(uva_pool_pick(pool), fn, arg, result);
}

int uva_pool_free(uva_pool_t *pool, uint64_t timeout_ms) {
  if (pool == NULL)
    return 0;
  if (pool_self != NULL)
    return UV_EINVAL; /* it would wait for its own thread */
  return pool_end(pool, pool->n, timeout_ms);
}
