/* Intervals (tokio::time::interval): a schedule of deadlines in uv_hrtime()
 * and one uv_timer_t, started only while a tick waits.  A tick completes
 * when the schedule's next deadline has passed; the schedule moves on only
 * when a tick's result is taken, so a tick dropped untaken loses nothing.
 * Deadlines are honest as uva_sleep's (see time.c): never early. */
#include "internal.h"
#include "io-internal.h"

#define NS_PER_MS 1000000u
#define LATE_NS (5 * NS_PER_MS) /* later than this: a missed tick */

typedef struct uva__tick_s uva__tick_t;

struct uva_interval_s {
  uva__loop_t *L;
  uv_timer_t timer;
  uint64_t period; /* ns */
  uint64_t next;   /* the next tick's deadline, uv_hrtime() */
  uva_missed_tick_t behavior;
  int freed;
  int closed;
  size_t refs;          /* tick futures alive */
  uva__tick_t *waiting; /* the started tick that waits for the timer */
};

struct uva__tick_s {
  uva_future_t base;
  uva_interval_t *iv;
};

static void interval_maybe_free(uva_interval_t *iv) {
  if (iv->freed && iv->closed && iv->refs == 0)
    uva__obj_free(iv->L, iv, sizeof(*iv));
}

static void timer_close_cb(uv_handle_t *h) {
  uva_interval_t *iv = uva__container_of(h, uva_interval_t, timer);

  iv->L->handles--;
  uva__closed(iv->L);
  iv->closed = 1;
  interval_maybe_free(iv);
}

static void tick_settle(uva__tick_t *t) {
  uva_value_t v;
  v.u64 = t->iv->next;
  uva__settle(&t->base, 0, v, NULL);
}

static void timer_cb(uv_timer_t *h) {
  uva_interval_t *iv = uva__container_of(h, uva_interval_t, timer);
  uva__tick_t *t = iv->waiting;

  if (t == NULL)
    return;
  if (uv_hrtime() < iv->next) { /* libuv counts whole ms: not yet */
    uv_timer_start(h, timer_cb, uva__timer_ms(h->loop, iv->next), 0);
    return;
  }
  iv->waiting = NULL;
  uva__cb_enter(iv->L);
  tick_settle(t);
  uva__cb_leave(iv->L);
}

static void arm(uva_interval_t *iv) {
  uv_timer_start(&iv->timer, timer_cb, uva__timer_ms(iv->L->loop, iv->next),
                 0);
}

/* ---- the tick future ----------------------------------------------------- */

static void tick_start(uva_future_t *f) {
  uva__tick_t *t = (uva__tick_t *)f;
  uva_interval_t *iv = t->iv;

  if (iv->freed)
    uva__settle_err(f, UV_ECANCELED);
  else if (iv->waiting != NULL)
    uva__settle_err(f, UV_EBUSY);
  else if (uv_hrtime() >= iv->next)
    tick_settle(t);
  else {
    iv->waiting = t;
    arm(iv);
  }
}

/* Taken: the schedule moves on, by the missed-tick behaviour if late. */
static void tick_take(uva_future_t *f) {
  uva_interval_t *iv = ((uva__tick_t *)f)->iv;
  uint64_t now, due = f->value.u64, p = iv->period;

  if (f->status != 0 || iv->freed || due != iv->next)
    return; /* failed, or reset meanwhile */
  now = uv_hrtime();
  if (now <= due + LATE_NS || iv->behavior == UVA_TICK_BURST)
    iv->next = due + p;
  else if (iv->behavior == UVA_TICK_DELAY)
    iv->next = now + p;
  else
    iv->next = due + p * ((now - due) / p + 1);
}

static void tick_cancel(uva_future_t *f) {
  uva__tick_t *t = (uva__tick_t *)f;

  if (t->iv->waiting == t) {
    t->iv->waiting = NULL;
    uv_timer_stop(&t->iv->timer);
  }
  uva__settle_err(f, UV_ECANCELED);
}

static void tick_release(uva_future_t *f) {
  uva_interval_t *iv = ((uva__tick_t *)f)->iv;

  uva__future_free_mem(f, sizeof(uva__tick_t));
  iv->refs--;
  interval_maybe_free(iv);
}

static const uva__ops_t tick_ops = {
    .name = "interval_tick",
    .cancel = tick_cancel,
    .release = tick_release,
    .start = tick_start,
    .take = tick_take,
};

/* ---- public ------------------------------------------------------------- */

int uva_interval_new(uv_loop_t *loop, uint64_t period_ms,
                     uva_missed_tick_t behavior, uva_interval_t **out) {
  uva__loop_t *L;
  uva_interval_t *iv;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || period_ms == 0 ||
      period_ms > UINT64_MAX / NS_PER_MS / 2 ||
      (behavior != UVA_TICK_BURST && behavior != UVA_TICK_DELAY &&
       behavior != UVA_TICK_SKIP))
    return UV_EINVAL;
  L = uva__loop_get(loop);
  if (L == NULL)
    return UV_ENOMEM;
  iv = uva__obj_alloc(L, sizeof(*iv));
  if (iv == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  memset(iv, 0, sizeof(*iv));
  iv->L = L;
  iv->period = period_ms * NS_PER_MS;
  iv->behavior = behavior;
  iv->next = uv_hrtime(); /* the first tick completes at once */
  uv_timer_init(loop, &iv->timer);
  L->handles++;
  *out = iv;
  return 0;
}

uva_future_t *uva_interval_tick(uva_interval_t *iv) {
  uva__tick_t *t;

  if (iv == NULL)
    return uva__failed(NULL, UV_EINVAL);
  t = (uva__tick_t *)uva__future_alloc(iv->L, &tick_ops, sizeof(*t));
  if (t == NULL)
    return uva__failed(iv->L, UV_ENOMEM);
  t->iv = iv;
  iv->refs++;
  t->base.flags |= UVA__F_LAZY;
  return &t->base;
}

void uva_interval_reset(uva_interval_t *iv) {
  if (iv == NULL || iv->freed)
    return;
  iv->next = uva__deadline(iv->period / NS_PER_MS);
  if (iv->waiting != NULL)
    arm(iv);
}

void uva_interval_free(uva_interval_t *iv) {
  uva__tick_t *t;

  if (iv == NULL)
    return;
  iv->freed = 1;
  iv->refs++; /* alive until the end of this call */
  if ((t = iv->waiting) != NULL) {
    iv->waiting = NULL;
    uv_timer_stop(&iv->timer);
    uva__settle_err(&t->base, UV_ECANCELED);
  }
  uva__close(iv->L, (uv_handle_t *)&iv->timer, timer_close_cb);
  iv->refs--;
  interval_maybe_free(iv);
}
