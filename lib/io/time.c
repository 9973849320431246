/* Time: uva_sleep (one uv_timer_t per sleep) and uva_timeout (a timer raced
 * against a child future).
 *
 * A deadline is measured from the call, in uv_hrtime(), never from libuv's
 * cached loop time (uv_now), which is as old as the loop iteration: a task
 * that computed for 50 ms before asking for a 30 ms sleep would otherwise get
 * one that ends at once.  The timer is started for the time left until the
 * deadline in loop time (so it is longer by how stale uv_now is), and a timer
 * that fires before uv_hrtime() has reached the deadline (libuv counts whole
 * milliseconds) is started again for the rest.  uva never calls
 * uv_update_time on the program's loop.
 *
 * A zero duration uses no timer: the future settles from the run queue, so
 * that a task looping on uva_sleep(loop, 0) or uva_timeout(f, 0) is bound by
 * the run queue's budget like any other work and lets libuv run its timers
 * and I/O (a timer due at once would run again within the same libuv
 * iteration, for ever). */
#include "internal.h"
#include "io-internal.h"

#include <stdio.h>

#define NS_PER_MS 1000000u

#define F_NOW (UVA__F_KIND0 << 0) /* zero duration: no timer, the run queue */

uint64_t uva__deadline(uint64_t ms) {
  uint64_t now = uv_hrtime();

  if (ms > (UINT64_MAX - now) / NS_PER_MS)
    return UINT64_MAX;
  return now + ms * NS_PER_MS;
}

uint64_t uva__timer_ms(uv_loop_t *loop, uint64_t deadline) {
  uint64_t due = deadline / NS_PER_MS + (deadline % NS_PER_MS != 0);
  uint64_t now = uv_now(loop);

  return due > now ? due - now : 1;
}

/* In a timer callback: returns 1 if deadline has passed, else starts the
 * timer again for what is left and returns 0. */
static int timer_due(uv_timer_t *h, uv_timer_cb cb, uint64_t deadline) {
  if (uv_hrtime() >= deadline)
    return 1;
  uv_timer_start(h, cb, uva__timer_ms(h->loop, deadline), 0);
  return 0;
}

/* ---- sleep -------------------------------------------------------------- */

typedef struct {
  uva_future_t base;
  uv_timer_t timer;
  uint64_t deadline; /* uv_hrtime() */
} uva__sleep_t;

static void sleep_close_cb(uv_handle_t *h) {
  uva__sleep_t *s = uva__container_of(h, uva__sleep_t, timer);
  uva__closed(s->base.L);
  uva__future_unhold(&s->base, sizeof(*s));
}

static void sleep_timer_cb(uv_timer_t *h) {
  uva__sleep_t *s = uva__container_of(h, uva__sleep_t, timer);
  uva__loop_t *L = s->base.L;

  if (!timer_due(h, sleep_timer_cb, s->deadline))
    return;
  uva__cb_enter(L);
  uva__close(s->base.L, (uv_handle_t *)&s->timer, sleep_close_cb);
  uva__settle_err(&s->base, 0);
  uva__cb_leave(L);
}

static void sleep_cancel(uva_future_t *f) {
  uva__sleep_t *s = (uva__sleep_t *)f;
  if (!(f->flags & F_NOW))
    uva__close(s->base.L, (uv_handle_t *)&s->timer, sleep_close_cb);
  uva__settle_err(f, UV_ECANCELED);
}

/* A zero-duration sleep reached the head of the run queue. */
static void sleep_run(uva_future_t *f) { uva__settle_err(f, 0); }

static void sleep_release(uva_future_t *f) {
  uva__future_release_held(f, sizeof(uva__sleep_t));
}

/* For uva_loop_dump (stats.c, issue 10): the time left. */
static void sleep_describe(const uva_future_t *f, char *buf, size_t n) {
  const uva__sleep_t *s = (const uva__sleep_t *)f;
  uint64_t now = uv_hrtime();

  if (f->flags & F_NOW)
    snprintf(buf, n, "0 ms, on the run queue");
  else
    snprintf(buf, n, "%llu ms left",
             (unsigned long long)(s->deadline > now
                                      ? (s->deadline - now) / NS_PER_MS
                                      : 0));
}

static const uva__ops_t sleep_ops = {
    .describe = sleep_describe,
    .name = "sleep",
    .cancel = sleep_cancel,
    .run = sleep_run,
    .release = sleep_release,
};

uva_future_t *uva_sleep(uv_loop_t *loop, uint64_t ms) {
  uva__loop_t *L = uva__loop_get(loop);
  uva__sleep_t *s;

  if (loop == NULL)
    return uva__failed(NULL, UV_EINVAL);
  if (L == NULL)
    return uva__failed(NULL, UV_ENOMEM);
  s = (uva__sleep_t *)uva__future_alloc(L, &sleep_ops, sizeof(*s));
  if (s == NULL)
    return uva__failed(L, UV_ENOMEM);
  if (ms == 0) {
    s->base.flags |= F_NOW;
    uva__rq_push(L, &s->base);
    return &s->base;
  }
  s->deadline = uva__deadline(ms);
  uv_timer_init(loop, &s->timer);
  uv_timer_start(&s->timer, sleep_timer_cb, uva__timer_ms(loop, s->deadline),
                 0);
  s->base.flags |= UVA__F_HELD;
  return &s->base;
}

/* ---- timeout ------------------------------------------------------------ */

typedef struct {
  uva_future_t base;
  uv_timer_t timer;
  uva_future_t *child;
  uint64_t deadline; /* uv_hrtime() */
} uva__timeout_t;

static void timeout_close_cb(uv_handle_t *h) {
  uva__timeout_t *t = uva__container_of(h, uva__timeout_t, timer);
  uva__closed(t->base.L);
  uva__future_unhold(&t->base, sizeof(*t));
}

static void timeout_stop(uva__timeout_t *t) {
  if (!(t->base.flags & F_NOW))
    uva__close(t->base.L, (uv_handle_t *)&t->timer, timeout_close_cb);
}

/* Cancels and lets go of the child, stops the timer, settles. */
static void timeout_finish(uva__timeout_t *t, int status) {
  uva_future_t *child = t->child;

  t->child = NULL;
  timeout_stop(t);
  if (child != NULL) {
    child->consumer = UVA__C_DETACHED;
    uva__future_cancel(child); /* destroyed when it settles */
  }
  uva__settle_err(&t->base, status);
}

static void timeout_timer_cb(uv_timer_t *h) {
  uva__timeout_t *t = uva__container_of(h, uva__timeout_t, timer);
  uva__loop_t *L = t->base.L;

  if (!timer_due(h, timeout_timer_cb, t->deadline))
    return;
  uva__cb_enter(L);
  timeout_finish(t, UV_ETIMEDOUT);
  uva__cb_leave(L);
}

/* A zero timeout reached the head of the run queue with its child still
 * pending. */
static void timeout_run(uva_future_t *f) {
  timeout_finish((uva__timeout_t *)f, UV_ETIMEDOUT);
}

/* The child settled in time: the timeout settles with its status, and holds
 * the child until its own result is taken (then the child's is, and its
 * value moves here) or dropped (then the child is dropped untaken). */
static void timeout_child(uva_future_t *parent, uva_future_t *child,
                          size_t index) {
  uva__timeout_t *t = (uva__timeout_t *)parent;

  (void)index;
  timeout_stop(t);
  uva__settle(parent, child->status, child->value, NULL);
}

static void timeout_start(uva_future_t *f) {
  uva__timeout_t *t = (uva__timeout_t *)f;
  if (t->child != NULL)
    uva__future_start(t->child); /* may settle (and free) t */
}

static void timeout_take(uva_future_t *f) {
  uva__timeout_t *t = (uva__timeout_t *)f;
  uva_future_t *child = t->child;

  if (child == NULL)
    return;
  t->child = NULL;
  uva__future_take(child);
  f->status = child->status;
  f->value = child->status == 0 ? child->value : (uva_value_t){0};
  f->free_fn = child->status == 0 ? child->free_fn : NULL;
  child->free_fn = NULL; /* the value moves to the parent */
  child->consumer = UVA__C_DETACHED;
  uva__future_destroy(child);
}

/* Lets go of a child still held: dropped untaken. */
static void timeout_drop_child(uva__timeout_t *t) {
  uva_future_t *child = t->child;

  if (child == NULL)
    return;
  t->child = NULL;
  child->consumer = UVA__C_DETACHED;
  if (child->state == UVA__PENDING)
    uva__future_cancel(child);
  else
    uva__future_destroy(child);
}

static void timeout_undo(uva_future_t *f) {
  timeout_drop_child((uva__timeout_t *)f);
}

static void timeout_cancel(uva_future_t *f) {
  timeout_finish((uva__timeout_t *)f, UV_ECANCELED);
}

static void timeout_release(uva_future_t *f) {
  timeout_drop_child((uva__timeout_t *)f);
  uva__future_release_held(f, sizeof(uva__timeout_t));
}

/* For uva_loop_dump: the time left and the future it bounds. */
static void timeout_describe(const uva_future_t *f, char *buf, size_t n) {
  const uva__timeout_t *t = (const uva__timeout_t *)f;
  uint64_t now = uv_hrtime();

  snprintf(buf, n, "%llu ms left, over %s",
           (unsigned long long)((f->flags & F_NOW) || t->deadline <= now
                                    ? 0
                                    : (t->deadline - now) / NS_PER_MS),
           t->child != NULL ? t->child->ops->name : "nothing");
}

static const uva__ops_t timeout_ops = {
    .describe = timeout_describe,
    .name = "timeout",
    .cancel = timeout_cancel,
    .run = timeout_run,
    .child = timeout_child,
    .release = timeout_release,
    .start = timeout_start,
    .take = timeout_take,
    .undo = timeout_undo,
};

uva_future_t *uva_timeout(uva_future_t *f, uint64_t ms) {
  uva__timeout_t *t;

  if (f == NULL)
    return uva__failed(NULL, UV_EINVAL);
  if ((f->flags & UVA__F_STATIC) || f->consumer != UVA__C_NONE)
    return f->consumer != UVA__C_NONE ? uva__failed(f->L, UV_EINVAL) : f;
  if (f->state == UVA__SETTLED)
    return f; /* its result is already the answer */
  t = (uva__timeout_t *)uva__future_alloc(f->L, &timeout_ops, sizeof(*t));
  if (t == NULL) {
    uva_future_t *failed = uva__failed(f->L, UV_ENOMEM);
    uva_future_free(f); /* after: it may free the loop state */
    return failed;
  }
  t->child = f;
  t->base.flags |= UVA__F_LAZY; /* starts f when it has a consumer */
  uva__future_adopt(&t->base, f, 0);
  if (ms == 0) {
    t->base.flags |= F_NOW;
    uva__rq_push(f->L, &t->base);
    return &t->base;
  }
  t->deadline = uva__deadline(ms);
  uv_timer_init(f->L->loop, &t->timer);
  uv_timer_start(&t->timer, timeout_timer_cb,
                 uva__timer_ms(f->L->loop, t->deadline), 0);
  t->base.flags |= UVA__F_HELD;
  return &t->base;
}
