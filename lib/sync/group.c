/* Task groups (JoinSet, TaskTracker).  The group is the consumer of each
 * member: an embedded future (the hub) adopts it as a combinator does, and
 * its child hook moves the member from the running list to the done queue.
 * A join_next future takes the done queue's head when it completes and
 * holds it until its result is taken (then the member's result goes to the
 * caller) or dropped (then the member goes back to the front of the
 * queue).  The group's memory stays until it is freed, no member runs and
 * no future of it is left (refs). */
#include "internal.h"
#include "sync-internal.h"

/* A member.  Linked on g->running or g->done (circular, with sentinels), or
 * held by a join_next (unlinked). */
typedef struct uva__gmem_s {
  struct uva__gmem_s *next, *prev;
  uva_future_t *f;
  uint64_t id;
} uva__gmem_t;

/* A join_next or wait future waiting in the group (circular list). */
typedef struct uva__gwait_s {
  uva_future_t base;
  struct uva__gwait_s *next, *prev;
  uva_group_t *g;
  uva__gmem_t *m;    /* join_next: the member it holds once settled */
  uva_result_t *out; /* join_next: where the member's result goes */
} uva__gwait_t;

struct uva_group_s {
  uva_future_t hub; /* consumer of every member (ops->child only) */
  uva__gmem_t running, done;
  uva__gwait_t nexts, waits;
  size_t n_running, n_done, n_held;
  size_t refs; /* futures of the group alive */
  uint64_t next_id;
  int freed;
  int token_cancelled;
  uva__tlink_t link; /* bound token */
};

/* ---- lists -------------------------------------------------------------- */

#define LIST_INIT(s) ((s)->next = (s)->prev = (s))
#define LIST_EMPTY(s) ((s)->next == (s))
#define LIST_REMOVE(e)                                                         \
  do {                                                                         \
    (e)->prev->next = (e)->next;                                               \
    (e)->next->prev = (e)->prev;                                               \
    (e)->next = (e)->prev = NULL;                                              \
  } while (0)
#define LIST_INSERT_AFTER(at, e)                                               \
  do {                                                                         \
    __typeof__(e) at_ = (at);                                                  \
    (e)->next = at_->next;                                                     \
    (e)->prev = at_;                                                           \
    at_->next->prev = (e);                                                     \
    at_->next = (e);                                                           \
  } while (0)
#define LIST_PUSH_TAIL(s, e) LIST_INSERT_AFTER((s)->prev, e)

/* ---- helpers ------------------------------------------------------------ */

static void group_maybe_free(uva_group_t *g) {
  if (g->freed && g->n_running == 0 && g->refs == 0)
    uva__obj_free(g->hub.L, g, sizeof(*g));
}

/* Drops a member's future untaken and the member. */
static void mem_drop(uva__loop_t *L, uva__gmem_t *m) {
  uva_future_t *f = m->f;

  if (!(f->flags & UVA__F_STATIC))
    f->consumer = UVA__C_DETACHED;
  uva__future_destroy(f);
  uva__obj_free(L, m, sizeof(*m));
}

/* Hands done members to waiting join_nexts, oldest to oldest; once nothing
 * runs, the join_nexts left get UV_EOF. */
static void serve(uva_group_t *g) {
  while (!LIST_EMPTY(&g->nexts) && !LIST_EMPTY(&g->done)) {
    uva__gwait_t *w = g->nexts.next;
    uva__gmem_t *m = g->done.next;
    uva_value_t v;
    LIST_REMOVE(w);
    LIST_REMOVE(m);
    g->n_done--;
    g->n_held++;
    w->m = m;
    v.u64 = m->id;
    uva__settle(&w->base, 0, v, NULL);
  }
  if (g->n_running == 0)
    while (!LIST_EMPTY(&g->nexts)) {
      uva__gwait_t *w = g->nexts.next;
      LIST_REMOVE(w);
      uva__settle_err(&w->base, UV_EOF);
    }
}

static void settle_waits(uva_group_t *g) {
  while (!LIST_EMPTY(&g->waits)) {
    uva__gwait_t *w = g->waits.next;
    LIST_REMOVE(w);
    uva__settle_err(&w->base, 0);
  }
}

/* A member settled. */
static void hub_child(uva_future_t *hub, uva_future_t *f, size_t index) {
  uva_group_t *g = uva__container_of(hub, uva_group_t, hub);
  uva__gmem_t *m = (uva__gmem_t *)(uintptr_t)index;

  (void)f;
  LIST_REMOVE(m);
  g->n_running--;
  if (g->freed)
    mem_drop(hub->L, m);
  else {
    LIST_PUSH_TAIL(&g->done, m);
    g->n_done++;
    serve(g);
  }
  if (g->n_running == 0)
    settle_waits(g);
  group_maybe_free(g);
}

static const uva__ops_t hub_ops = {.name = "group", .child = hub_child};

/* Cancels every running member.  Each is moved back to g->running before
 * its cancel, which may settle it (and others, which unlink themselves
 * from the scratch list as from any list). */
static void cancel_running(uva_group_t *g) {
  uva__gmem_t scratch;

  if (LIST_EMPTY(&g->running))
    return;
  scratch.next = g->running.next;
  scratch.prev = g->running.prev;
  scratch.next->prev = &scratch;
  scratch.prev->next = &scratch;
  LIST_INIT(&g->running);
  while (!LIST_EMPTY(&scratch)) {
    uva__gmem_t *m = scratch.next;
    LIST_REMOVE(m);
    LIST_PUSH_TAIL(&g->running, m);
    uva__future_cancel(m->f);
  }
}

/* ---- public ------------------------------------------------------------- */

int uva_group_new(uv_loop_t *loop, uva_group_t **out) {
  uva__loop_t *L;
  uva_group_t *g;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL)
    return UV_EINVAL;
  L = uva__loop_get(loop);
  if (L == NULL)
    return UV_ENOMEM;
  g = uva__obj_alloc(L, sizeof(*g));
  if (g == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  memset(g, 0, sizeof(*g));
  g->hub.L = L;
  g->hub.ops = &hub_ops;
  LIST_INIT(&g->running);
  LIST_INIT(&g->done);
  LIST_INIT(&g->nexts);
  LIST_INIT(&g->waits);
  *out = g;
  return 0;
}

int uva_group_add(uva_group_t *g, uva_future_t *f, uint64_t *id) {
  uva__gmem_t *m;

  if (g == NULL || f == NULL)
    return UV_EINVAL;
  if (!(f->flags & UVA__F_STATIC) && f->consumer != UVA__C_NONE)
    return UV_EINVAL; /* another consumer's: left alone */
  if (!(f->flags & UVA__F_STATIC) && f->L != g->hub.L) {
    uva_future_free(f);
    return UV_EINVAL;
  }
  m = uva__obj_alloc(g->hub.L, sizeof(*m));
  if (m == NULL) {
    uva_future_free(f);
    return UV_ENOMEM;
  }
  m->f = f;
  m->id = ++g->next_id;
  if (id != NULL)
    *id = m->id;
  LIST_PUSH_TAIL(&g->running, m);
  g->n_running++;
  uva__future_adopt(&g->hub, f, (size_t)(uintptr_t)m);
  if (f->state == UVA__PENDING) {
    uva__future_start(f); /* the group consumes it: it runs now */
    if (g->token_cancelled && f->state == UVA__PENDING)
      uva__future_cancel(f);
  }
  return 0;
}

int uva_group_spawn(uva_group_t *g, uva_task_fn fn, void *arg,
                    const uva_spawn_opts_t *opts, uint64_t *id) {
  uva_future_t *f;
  int err;

  if (g == NULL || fn == NULL)
    return UV_EINVAL;
  f = uva_spawn_ex(g->hub.L->loop, fn, arg, opts);
  if (f->state == UVA__SETTLED && f->status < 0) {
    err = f->status;
    uva_future_free(f);
    return err;
  }
  return uva_group_add(g, f, id);
}

/* ---- join_next and wait futures ------------------------------------------ */

static void gwait_cancel(uva_future_t *f) {
  uva__gwait_t *w = (uva__gwait_t *)f;

  if (w->next != NULL)
    LIST_REMOVE(w);
  uva__settle_err(f, UV_ECANCELED);
}

static void gwait_release(uva_future_t *f) {
  uva__gwait_t *w = (uva__gwait_t *)f;
  uva_group_t *g = w->g;

  uva__future_free_mem(f, sizeof(*w));
  g->refs--;
  group_maybe_free(g);
}

static void next_start(uva_future_t *f) {
  uva__gwait_t *w = (uva__gwait_t *)f;
  uva_group_t *g = w->g;

  if (g->freed)
    uva__settle_err(f, UV_ECANCELED);
  else {
    LIST_PUSH_TAIL(&g->nexts, w);
    serve(g);
  }
}

/* The result is taken: the member's result goes to the caller. */
static void next_take(uva_future_t *f) {
  uva__gwait_t *w = (uva__gwait_t *)f;
  uva__gmem_t *m = w->m;

  if (m == NULL)
    return;
  w->m = NULL;
  w->g->n_held--;
  uva__child_take(m->f, w->out);
  uva__obj_free(f->L, m, sizeof(*m));
}

/* uva_await's fast path: a member has finished, so the join_next completes
 * and is taken in one step (never settled; f is released). */
static int next_now(uva_future_t *f, uva_result_t *out) {
  uva__gwait_t *w = (uva__gwait_t *)f;
  uva_group_t *g = w->g;
  uva__gmem_t *m;

  if (g->freed || LIST_EMPTY(&g->done))
    return UVA_PENDING;
  m = g->done.next;
  LIST_REMOVE(m);
  g->n_done--;
  out->value.u64 = m->id;
  uva__child_take(m->f, w->out);
  uva__obj_free(f->L, m, sizeof(*m));
  gwait_release(f);
  return 0;
}

/* Dropped untaken: the member goes back to the front of the queue. */
static void next_undo(uva_future_t *f) {
  uva__gwait_t *w = (uva__gwait_t *)f;
  uva__gmem_t *m = w->m;
  uva_group_t *g = w->g;

  if (m == NULL)
    return;
  w->m = NULL;
  g->n_held--;
  if (g->freed) {
    mem_drop(f->L, m);
    return;
  }
  LIST_INSERT_AFTER(&g->done, m);
  g->n_done++;
  serve(g);
}

static const uva__ops_t next_ops = {
    .name = "group_join_next",
    .cancel = gwait_cancel,
    .release = gwait_release,
    .start = next_start,
    .take = next_take,
    .undo = next_undo,
    .now = next_now,
};

static const uva__ops_t wait_ops = {
    .name = "group_wait",
    .cancel = gwait_cancel,
    .release = gwait_release,
};

static uva__gwait_t *gwait_new(uva_group_t *g, const uva__ops_t *ops) {
  uva__gwait_t *w =
      (uva__gwait_t *)uva__future_alloc(g->hub.L, ops, sizeof(*w));

  if (w == NULL)
    return NULL;
  w->next = w->prev = NULL;
  w->g = g;
  w->m = NULL;
  w->out = NULL;
  g->refs++;
  return w;
}

uva_future_t *uva_group_join_next(uva_group_t *g, uva_result_t *out) {
  uva__gwait_t *w;

  if (g == NULL || out == NULL)
    return uva__failed(g != NULL ? g->hub.L : NULL, UV_EINVAL);
  w = gwait_new(g, &next_ops);
  if (w == NULL)
    return uva__failed(g->hub.L, UV_ENOMEM);
  w->out = out;
  out->status = UVA_PENDING;
  out->value.u64 = 0;
  out->free_fn = NULL;
  w->base.flags |= UVA__F_LAZY;
  return &w->base;
}

uva_future_t *uva_group_wait(uva_group_t *g) {
  uva__gwait_t *w;

  if (g == NULL)
    return uva__failed(NULL, UV_EINVAL);
  w = gwait_new(g, &wait_ops);
  if (w == NULL)
    return uva__failed(g->hub.L, UV_ENOMEM);
  if (g->n_running == 0)
    uva__settle_err(&w->base, 0);
  else
    LIST_PUSH_TAIL(&g->waits, w);
  return &w->base;
}

void uva_group_cancel(uva_group_t *g) {
  if (g != NULL)
    cancel_running(g);
}

size_t uva_group_len(const uva_group_t *g) {
  return g != NULL ? g->n_running + g->n_done + g->n_held : 0;
}

size_t uva_group_running(const uva_group_t *g) {
  return g != NULL ? g->n_running : 0;
}

static void group_token_cb(uva__tlink_t *l) {
  uva_group_t *g = uva__container_of(l, uva_group_t, link);
  g->token_cancelled = 1;
  cancel_running(g);
}

int uva_group_bind_token(uva_group_t *g, uva_token_t *tok) {
  if (g == NULL)
    return UV_EINVAL;
  uva__token_unlisten(&g->link);
  g->token_cancelled = 0;
  if (tok == NULL)
    return 0;
  if (uva__token_loop(tok) != g->hub.L)
    return UV_EINVAL;
  g->link.cb = group_token_cb;
  g->link.gone = NULL;
  if (uva__token_listen(tok, &g->link) != 0)
    group_token_cb(&g->link);
  return 0;
}

void uva_group_detach_all(uva_group_t *g) {
  if (g == NULL)
    return;
  while (!LIST_EMPTY(&g->running)) {
    uva__gmem_t *m = g->running.next;
    LIST_REMOVE(m);
    g->n_running--;
    m->f->consumer = UVA__C_RUN; /* taken and freed when it settles */
    uva__obj_free(g->hub.L, m, sizeof(*m));
  }
  serve(g);
  settle_waits(g);
}

void uva_group_free(uva_group_t *g) {
  if (g == NULL)
    return;
  g->refs++; /* alive until the end of this call */
  uva__token_unlisten(&g->link);
  g->freed = 1;
  while (!LIST_EMPTY(&g->done)) {
    uva__gmem_t *m = g->done.next;
    LIST_REMOVE(m);
    g->n_done--;
    mem_drop(g->hub.L, m);
  }
  while (!LIST_EMPTY(&g->nexts)) {
    uva__gwait_t *w = g->nexts.next;
    LIST_REMOVE(w);
    uva__settle_err(&w->base, UV_ECANCELED);
  }
  cancel_running(g);
  if (g->n_running == 0)
    settle_waits(g);
  g->refs--;
  group_maybe_free(g);
}
