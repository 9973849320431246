/* The future core: settle once, exactly one consumer, cancel, drop, values
 * with their free functions.  Every kind of future (timer, fs request, task,
 * channel operation, combinator) is a uva_future_t with an ops table. */
#include "internal.h"

#include <string.h>

const uva__ops_t uva__plain_ops = {.name = "future"};

/* Futures that failed before they could have a loop or memory.  They are
 * never written to and never freed. */
#define UVA__STATIC_FUTURE(err)                                                \
  {                                                                            \
    NULL, NULL, &uva__plain_ops, (err), UVA__SETTLED, UVA__C_NONE,             \
        UVA__F_STATIC, {NULL}, NULL, NULL, NULL                                \
  }
static uva_future_t static_einval = UVA__STATIC_FUTURE(UV_EINVAL);
static uva_future_t static_enomem = UVA__STATIC_FUTURE(UV_ENOMEM);

/* ---- internal API ------------------------------------------------------- */

void uva__future_free_mem(uva_future_t *f, size_t size) {
  uva__stat_future_freed(f); /* issue 10 */
  uva__obj_free(f->L, f, size);
}

uva_future_t *uva__failed(uva__loop_t *L, int err) {
  uva_future_t *f;

  if (L != NULL &&
      (f = uva__future_alloc(L, &uva__plain_ops, sizeof(*f))) != NULL) {
    f->state = UVA__SETTLED;
    UVA__STAT(L->st.futures_settled++); /* born settled */
    f->status = err;
    return f;
  }
  if (L != NULL)
    uva__loop_maybe_free(L); /* it may have been made for this call */
  return err == UV_EINVAL ? &static_einval : &static_enomem;
}

static void release(uva_future_t *f) {
  if (f->ops->release != NULL)
    f->ops->release(f);
  else
    uva__future_free_mem(f, sizeof(*f));
}


void uva__future_destroy(uva_future_t *f) {
  if (f->flags & UVA__F_STATIC)
    return; /* shared, never freed */
  if (!(f->flags & UVA__F_TAKEN)) {
    /* Nobody took its result: the operation gives back what it took. */
    f->flags |= UVA__F_TAKEN;
    if (f->ops->undo != NULL && f->state == UVA__SETTLED &&
        !(f->flags & UVA__F_LAZY))
      f->ops->undo(f);
  }
  if (f->free_fn != NULL && f->status == 0) {
    uva_free_cb fn = f->free_fn;
    f->free_fn = NULL;
    fn(f->value.ptr);
  }
  if (f->flags & UVA__F_QUEUED) {
    f->flags |= UVA__F_DEAD;
    return;
  }
  release(f);
}

void uva__future_release_held(uva_future_t *f, size_t size) {
  if (f->flags & UVA__F_HELD)
    f->flags |= UVA__F_RELEASED;
  else
    uva__future_free_mem(f, size);
}

int uva__future_unhold(uva_future_t *f, size_t size) {
  f->flags &= ~UVA__F_HELD;
  if (f->flags & UVA__F_RELEASED) {
    uva__future_free_mem(f, size);
    return 1;
  }
  return 0;
}

void uva__settle(uva_future_t *f, int status, uva_value_t value,
                 uva_free_cb free_fn) {
  UVA__STAT(f->L->st.futures_settled++);
  f->state = UVA__SETTLED;
  f->status = status;
  if (status == 0) {
    f->value = value;
    f->free_fn = free_fn;
  } else {
    f->value.u64 = 0;
    f->free_fn = NULL;
  }
  switch (f->consumer) {
  case UVA__C_TASK:
    uva__task_wake(f->waiter);
    break;
  case UVA__C_THEN:
  case UVA__C_HOOK:
    uva__rq_push(f->L, f);
    break;
  case UVA__C_COMB: {
    uva_future_t *parent = f->waiter;
    parent->ops->child(parent, f, (size_t)(uintptr_t)f->waiter_data);
    break;
  }
  case UVA__C_DETACHED:
    uva__future_destroy(f);
    break;
  case UVA__C_RUN:
    uva__future_take(f);
    uva__future_destroy(f);
    break;
  default:
    break;
  }
}

void uva__settle_err(uva_future_t *f, int status) {
  uva_value_t v;
  v.u64 = 0;
  uva__settle(f, status, v, NULL);
}

void uva__future_start_slow(uva_future_t *f) {
  f->flags &= ~UVA__F_LAZY;
  f->ops->start(f);
}

void uva__future_take_slow(uva_future_t *f) {
  f->flags |= UVA__F_TAKEN;
  if (f->ops->take != NULL)
    f->ops->take(f);
}

void uva__future_cancel(uva_future_t *f) {
  if (f->state != UVA__PENDING)
    return;
  if (f->flags & UVA__F_LAZY) {
    /* Never started: it has had no effect and has nothing to undo.  A
     * combinator still lets go of its children (and its timer): its cancel
     * hook runs. */
    f->flags = (uint16_t)((f->flags & ~UVA__F_LAZY) | UVA__F_TAKEN);
    if (f->ops->child != NULL && f->ops->cancel != NULL)
      f->ops->cancel(f);
    else
      uva__settle_err(f, UV_ECANCELED);
  } else if (f->ops->cancel != NULL)
    f->ops->cancel(f);
  else
    uva__settle_err(f, UV_ECANCELED);
}

void uva__future_adopt(uva_future_t *parent, uva_future_t *child,
                       size_t index) {
  if (child->flags & UVA__F_STATIC) {
    parent->ops->child(parent, child, index);
    return;
  }
  child->consumer = UVA__C_COMB;
  child->waiter = parent;
  child->waiter_data = (void *)(uintptr_t)index;
  if (child->state == UVA__SETTLED)
    parent->ops->child(parent, child, index);
}

void uva__future_run_queued(uva_future_t *f) {
  if (f->flags & UVA__F_DEAD) {
    f->flags &= ~UVA__F_DEAD;
    release(f);
    return;
  }
  if (f->state == UVA__SETTLED) {
    if (f->consumer == UVA__C_THEN) {
      uva_then_cb cb = (uva_then_cb)(uintptr_t)f->waiter;
      uva_value_t v;
      uva__future_take(f);
      v = f->value;
      f->free_fn = NULL; /* the value is the callback's now */
      f->consumer = UVA__C_DETACHED;
      cb(f->status, v, f->waiter_data);
      uva__future_destroy(f);
    } else if (f->consumer == UVA__C_HOOK) {
      uva__hook_fn hook = (uva__hook_fn)(uintptr_t)f->waiter;
      uva__future_take(f);
      f->consumer = UVA__C_DETACHED;
      hook(f, f->waiter_data);
      uva__future_destroy(f);
    }
    return;
  }
  if (f->ops->run != NULL)
    f->ops->run(f);
}

/* ---- user futures: settled by their producer ---------------------------- */

/* A future from uva_future_new stays allocated until its producer has
 * settled it, even when its consumer cancelled and dropped it first: the
 * producer's later resolve then finds valid memory, learns UV_ECANCELED and
 * frees its value.  Its cancel hook (uva_future_on_cancel) tells the
 * producer when the consumer lets go. */
typedef struct {
  uva_future_t base;
  uva_cancel_cb on_cancel;
  void *on_cancel_data;
} uva__user_t;

static void user_release(uva_future_t *f) {
  uva__future_release_held(f, sizeof(uva__user_t));
}

/* The consumer cancelled or dropped a future its producer has not settled:
 * settle it, then tell the producer (last: it may resolve f, which can free
 * it). */
static void user_cancel(uva_future_t *f) {
  uva__user_t *u = (uva__user_t *)f;
  uva_cancel_cb cb = u->on_cancel;
  void *data = u->on_cancel_data;

  u->on_cancel = NULL;
  uva__settle_err(f, UV_ECANCELED);
  if (cb != NULL)
    cb(f, data);
}

static const uva__ops_t user_ops = {
    .name = "future_new",
    .cancel = user_cancel,
    .release = user_release,
};

uva_future_t *uva_future_new(uv_loop_t *loop) {
  uva__loop_t *L = uva__loop_get(loop);
  uva_future_t *f;

  if (loop == NULL)
    return uva__failed(NULL, UV_EINVAL);
  if (L == NULL ||
      (f = uva__future_alloc(L, &user_ops, sizeof(uva__user_t))) == NULL)
    return uva__failed(L, UV_ENOMEM);
  ((uva__user_t *)f)->on_cancel = NULL;
  ((uva__user_t *)f)->on_cancel_data = NULL;
  f->flags |= UVA__F_USER | UVA__F_HELD;
  return f;
}

int uva_future_on_cancel(uva_future_t *f, uva_cancel_cb cb, void *data) {
  uva__user_t *u = (uva__user_t *)f;

  if (f == NULL || (f->flags & UVA__F_STATIC) || !(f->flags & UVA__F_USER) ||
      !(f->flags & UVA__F_HELD))
    return UV_EINVAL;
  if (f->state != UVA__PENDING)
    return UV_EBUSY;
  u->on_cancel = cb;
  u->on_cancel_data = cb != NULL ? data : NULL;
  return 0;
}

static int user_complete(uva_future_t *f, int status, uva_value_t value,
                         uva_free_cb free_fn) {
  if (f == NULL || !(f->flags & UVA__F_USER) || !(f->flags & UVA__F_HELD))
    return UV_EINVAL;
  if (f->state == UVA__SETTLED) {
    /* Settled without its producer: it was cancelled. */
    if (status == 0 && free_fn != NULL)
      free_fn(value.ptr);
    uva__future_unhold(f, sizeof(uva__user_t));
    return UV_ECANCELED;
  }
  f->flags &= ~UVA__F_HELD;
  uva__settle(f, status, value, free_fn);
  return 0;
}

int uva_future_resolve(uva_future_t *f, void *ptr, uva_free_cb free_fn) {
  uva_value_t v;
  v.ptr = ptr;
  return user_complete(f, 0, v, free_fn);
}

int uva_future_resolve_u64(uva_future_t *f, uint64_t value) {
  uva_value_t v;
  v.u64 = value;
  return user_complete(f, 0, v, NULL);
}

int uva_future_reject(uva_future_t *f, int err) {
  uva_value_t v;
  if (err >= 0)
    return UV_EINVAL;
  v.u64 = 0;
  return user_complete(f, err, v, NULL);
}

/* ---- born settled ------------------------------------------------------- */

static uva_future_t *ready(uv_loop_t *loop, uva_value_t v, uva_free_cb fn) {
  uva__loop_t *L = uva__loop_get(loop);
  uva_future_t *f;

  if (L == NULL ||
      (f = uva__future_alloc(L, &uva__plain_ops, sizeof(*f))) == NULL) {
    if (fn != NULL)
      fn(v.ptr);
    return uva__failed(L, loop == NULL ? UV_EINVAL : UV_ENOMEM);
  }
  f->state = UVA__SETTLED;
  UVA__STAT(L->st.futures_settled++); /* born settled */
  f->value = v;
  f->free_fn = fn;
  return f;
}

uva_future_t *uva_ready(uv_loop_t *loop, void *ptr, uva_free_cb free_fn) {
  uva_value_t v;
  v.ptr = ptr;
  return ready(loop, v, free_fn);
}

uva_future_t *uva_ready_u64(uv_loop_t *loop, uint64_t value) {
  uva_value_t v;
  v.u64 = value;
  return ready(loop, v, NULL);
}

uva_future_t *uva_failed(uv_loop_t *loop, int err) {
  if (loop == NULL || err >= 0)
    return uva__failed(uva__loop_get(loop), UV_EINVAL);
  return uva__failed(uva__loop_get(loop), err);
}

/* ---- consumers ---------------------------------------------------------- */

int uva_future_then(uva_future_t *f, uva_then_cb cb, void *data) {
  if (f == NULL)
    return UV_EINVAL;
  if (f->flags & UVA__F_STATIC)
    return f->status; /* failed without a loop: nothing can call back */
  if (f->consumer != UVA__C_NONE)
    return UV_EINVAL;
  if (cb == NULL) {
    uva_future_free(f);
    return UV_EINVAL;
  }
  f->consumer = UVA__C_THEN;
  f->waiter = (void *)(uintptr_t)cb;
  f->waiter_data = data;
  uva__future_start(f); /* settling queues it */
  if (f->state == UVA__SETTLED)
    uva__rq_push(f->L, f);
  return 0;
}

int uva_future_cancel(uva_future_t *f) {
  if (f == NULL)
    return UV_EINVAL;
  if (f->state != UVA__PENDING)
    return UV_EBUSY;
  uva__future_cancel(f);
  return 0;
}

void uva_future_free(uva_future_t *f) {
  if (f != NULL && (f->flags & UVA__F_STATIC))
    uva__future_destroy(f);
  if (f == NULL || (f->flags & UVA__F_STATIC) || f->consumer != UVA__C_NONE)
    return;
  f->consumer = UVA__C_DETACHED;
  if (f->state == UVA__PENDING)
    uva__future_cancel(f); /* destroyed when it settles */
  else
    uva__future_destroy(f);
}

void uva_future_detach(uva_future_t *f) {
  if (f != NULL && (f->flags & UVA__F_STATIC))
    uva__future_destroy(f);
  if (f == NULL || (f->flags & UVA__F_STATIC) || f->consumer != UVA__C_NONE)
    return;
  f->consumer = UVA__C_RUN;
  if (f->state == UVA__SETTLED) {
    uva__future_take(f);
    uva__future_destroy(f);
    return;
  }
  uva__future_start(f); /* settling takes and destroys it */
}

int uva_future_status(const uva_future_t *f) {
  if (f == NULL)
    return UV_EINVAL;
  return f->state == UVA__PENDING ? UVA_PENDING : f->status;
}

void uva_result_free(uva_result_t *r) {
  if (r == NULL)
    return;
  if (r->free_fn != NULL)
    r->free_fn(r->value.ptr);
  r->free_fn = NULL;
  r->value.u64 = 0;
}

unsigned int uva_version(void) { return UVA_VERSION_HEX; }

#define UVA__STR2(x) #x
#define UVA__STR(x) UVA__STR2(x)
const char *uva_version_string(void) {
  return UVA__STR(UVA_VERSION_MAJOR) "." UVA__STR(
      UVA_VERSION_MINOR) "." UVA__STR(UVA_VERSION_PATCH);
}
