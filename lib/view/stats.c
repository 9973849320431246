/* A view of what runs on a loop (issue 10): uva_loop_stats and
 * uva_loop_dump.  Everything here is read on demand from the loop state;
 * the counters that need a hot-path increment live in L->st and exist only
 * in UVA_STATS builds (see include/uva/stats.h for the choices). */
#define _GNU_SOURCE /* dladdr */
#include "internal.h"
#include "sync-internal.h" /* channels */

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UVA__NO_ASAN __attribute__((no_sanitize_address))
#endif
#endif
#if !defined(UVA__NO_ASAN) && defined(__SANITIZE_ADDRESS__)
#define UVA__NO_ASAN __attribute__((no_sanitize_address))
#endif
#ifndef UVA__NO_ASAN
#define UVA__NO_ASAN
#endif

#define BT_MAX 32    /* frames printed per task */
#define KINDS_MAX 32 /* distinct kinds of future counted in a dump */

/* ---- gathering ---------------------------------------------------------- */

/* Bytes of [p, p + n) in memory (p page-aligned). */
static uint64_t resident(const char *p, size_t n) {
  unsigned char vec[4096];
  size_t ps = (size_t)sysconf(_SC_PAGESIZE), pages = (n + ps - 1) / ps, i, k;
  uint64_t bytes = 0;

  while (pages > 0) {
    k = pages < sizeof(vec) ? pages : sizeof(vec);
    if (mincore((void *)(uintptr_t)p, k * ps, vec) != 0)
      return bytes;
    for (i = 0; i < k; i++)
      bytes += (vec[i] & 1) ? ps : 0;
    p += k * ps;
    pages -= k;
  }
  return bytes;
}

static void stack_bytes(const uva__stack_t *s, uva_stats_t *st) {
  st->stack_bytes += s->size;
  st->stack_resident +=
      resident(s->lo, (size_t)((const char *)s->map + s->map_size - s->lo));
}

/* Free objects are poisoned under ASan: their links are read unchecked. */
static UVA__NO_ASAN uint64_t slab_free_bytes(const uva__loop_t *L) {
  uint64_t bytes = 0;
  size_t c;
  void *p;

  for (c = 0; c < UVA__CACHE_CLASSES; c++) {
    for (p = L->cache[c]; p != NULL; p = *(void **)p)
      bytes += (c + 1) * 16;
    bytes += (uint64_t)(L->bump_end[c] - L->bump[c]);
  }
  return bytes;
}

/* The state a task is in; t is alive. */
enum { T_RUNNING, T_READY, T_NOT_STARTED, T_SUSPENDED };

static int task_state(const uva__loop_t *L, const uva__task_t *t) {
  if (L->current == t)
    return T_RUNNING;
  if (uva__task_unstarted(&t->base))
    return T_NOT_STARTED;
  return (t->base.flags & UVA__F_QUEUED) ? T_READY : T_SUSPENDED;
}

static void gather(uva__loop_t *L, uva_stats_t *st) {
  const uva_future_t *f;
  const uva__stack_t *s;
  const uva__slab_t *slab;

  memset(st, 0, sizeof(*st));
  st->size = sizeof(*st);
  st->counters = UVA_STATS ? 1 : 0;
  for (f = L->rq_head; f != NULL; f = f->next) {
    if (f->flags & UVA__F_DEAD)
      continue;
    st->futures_queued++;
    if (uva__task_unstarted(f)) {
      st->tasks_not_started++;
      st->tasks_ready++;
    } else if (uva__task_is(f) && f->state == UVA__PENDING) {
      st->tasks_ready++;
    }
  }
  for (s = L->live_stacks; s != NULL; s = s->live_next) {
    if (L->current != NULL && s->task == L->current)
      st->tasks_running++;
    else if (!(s->task->base.flags & UVA__F_QUEUED))
      st->tasks_suspended++;
    stack_bytes(s, st);
  }
  for (s = L->stack_pool; s != NULL; s = s->next)
    stack_bytes(s, st);
  st->tasks_alive = st->tasks_running + st->tasks_ready + st->tasks_suspended;
  st->stacks_live = L->stacks_live;
  st->stacks_pooled = L->stack_pool_n;
  st->objects = L->objects;
  for (slab = L->slabs; slab != NULL; slab = slab->next)
    st->slab_bytes += slab->size;
  st->slab_free = slab_free_bytes(L);
  st->handles = L->handles;
  st->handles_closing = L->closing;
  st->pool_requests = L->pool_reqs;
  st->remote_waits = L->remote_waits;
  st->loop_iterations = UVA_STATS_NOT_COUNTED;
#if UV_VERSION_HEX >= ((1 << 16) | (45 << 8))
  {
    uv_metrics_t m;
    if (uv_metrics_info(L->loop, &m) == 0)
      st->loop_iterations = m.loop_count;
  }
#endif
#if UVA_STATS
  st->tasks_spawned = L->st.spawned;
  st->futures_alive = L->st.futures_made - L->st.futures_freed;
  st->futures_pending = L->st.futures_made - L->st.futures_settled -
                        L->st.futures_unsettled_freed;
  st->futures_made = L->st.futures_made;
  st->channels = L->st.channels;
  st->callbacks = L->st.callbacks;
  st->drains = L->st.drains;
  st->busy_ns = L->st.busy_ns;
#else
  st->tasks_spawned = st->futures_alive = st->futures_pending =
      st->futures_made = st->channels = st->callbacks = st->drains =
          st->busy_ns = UVA_STATS_NOT_COUNTED;
#endif
}

/* The loop state for a stats call: 0, or the error to return. */
static int find(uv_loop_t *loop, uva__loop_t **out) {
  uva__loop_t *L;

  *out = NULL;
  if (loop == NULL)
    return UV_EINVAL;
  L = uva__loop_find(loop);
  if (L == NULL)
    return UV_ENOENT;
  if (!uva__on_loop_thread(L))
    return UV_EINVAL;
#if UVA_STATS
  L->st.timing = 1; /* somebody asks: time the callbacks from now on */
#endif
  *out = L;
  return 0;
}

int uva_loop_stats(uv_loop_t *loop, uva_stats_t *out) {
  uva_stats_t st;
  uva__loop_t *L;
  size_t size;
  int err;

  if (out == NULL)
    return UV_EINVAL;
  size = out->size;
  if (size < offsetof(uva_stats_t, counters) + sizeof(out->counters))
    return UV_EINVAL;
  err = find(loop, &L);
  if (err == UV_ENOENT) {
    memset(&st, 0, sizeof(st));
  } else if (err != 0) {
    out->counters = UVA_STATS ? 1 : 0;
    return err;
  } else {
    gather(L, &st);
  }
  st.counters = UVA_STATS ? 1 : 0;
  st.size = size;
  memcpy(out, &st, size < sizeof(st) ? size : sizeof(st));
  return err;
}

/* ---- printing ----------------------------------------------------------- */

static const char *base_name(const char *path) {
  const char *p = strrchr(path, '/');
  return p != NULL ? p + 1 : path;
}

/* Prints code address a as symbol+offset (file), or file+offset when the
 * symbol is not exported, or the bare address.  ret: a return address (the
 * call is the byte before it). */
static void put_code(FILE *out, const void *a, int ret) {
  Dl_info di;
  const char *q = (const char *)a - (ret ? 1 : 0);

  if (a != NULL && dladdr(q, &di) != 0 && di.dli_fname != NULL) {
    if (di.dli_sname != NULL && di.dli_saddr != NULL)
      fprintf(out, "%s+0x%lx (%s)", di.dli_sname,
              (unsigned long)((const char *)a - (const char *)di.dli_saddr),
              base_name(di.dli_fname));
    else
      fprintf(out, "%s+0x%lx", base_name(di.dli_fname),
              (unsigned long)((const char *)a - (const char *)di.dli_fbase));
  } else {
    fprintf(out, "%p", a);
  }
}

static uva_task_fn task_fn(const uva__task_t *t) {
  if (uva__task_unstarted(&t->base))
    return (uva_task_fn)(uintptr_t)t->base.free_fn;
  return uva__task_stack(t)->fn;
}

/* What a pending or just settled future is: its kind and detail. */
static void put_future(FILE *out, const uva_future_t *f) {
  char buf[256];

  fprintf(out, "%s", f->ops->name);
  if (uva__task_is(f)) {
    const uva__task_t *t = (const uva__task_t *)f;
    fprintf(out, " %p", (const void *)f);
    if (f->state == UVA__PENDING) {
      fprintf(out, " (");
      put_code(out, (const void *)(uintptr_t)task_fn(t), 0);
      fprintf(out, ")");
    }
  } else if (f->ops->describe != NULL && f->state == UVA__PENDING) {
    buf[0] = '\0';
    f->ops->describe(f, buf, sizeof(buf));
    fprintf(out, " (%s)", buf);
  }
  if (f->state == UVA__SETTLED)
    fprintf(out, ", settled with %s: the task runs next",
            f->status == 0 ? "0" : uv_err_name(f->status));
}

static void put_backtrace(FILE *out, const uva__stack_t *s) {
  const void *ip[BT_MAX];
  int i, n, cut;

  n = uva__backtrace(s, ip, BT_MAX, &cut);
  if (n == UV_ENOTSUP) {
    fprintf(out, "  backtrace: not available on this platform\n");
    return;
  }
  if (n < 0) {
    fprintf(out, "  backtrace: saved stack pointer outside the stack\n");
    return;
  }
  fprintf(out, "  backtrace:\n");
  for (i = 0; i < n; i++) {
    fprintf(out, "    #%d %p ", i, ip[i]);
    put_code(out, ip[i], 1);
    fputc('\n', out);
  }
  if (cut)
    fprintf(out, "    (stopped: frame outside the stack or too deep)\n");
}

static const char *const state_names[] = {"running", "ready", "not started",
                                          "suspended"};

static void put_task(FILE *out, uva__loop_t *L, uva__task_t *t) {
  int state = task_state(L, t);
  const uva__stack_t *s =
      state == T_NOT_STARTED ? NULL : uva__task_stack(t);

  fprintf(out, "task %p: %s%s\n", (void *)t, state_names[state],
          (t->base.flags & UVA__F_CANCEL) ? ", cancelled" : "");
  fprintf(out, "  fn: ");
  put_code(out, (const void *)(uintptr_t)task_fn(t), 0);
  fputc('\n', out);
#if UVA_STATS
  if (uva__task_site(&t->base) != NULL) {
    fprintf(out, "  spawned at: ");
    put_code(out, uva__task_site(&t->base), 1);
    fputc('\n', out);
  } else {
    fprintf(out, "  spawned at: not recorded (a stack size of its own, or "
                 "the spawner too far from fn)\n");
  }
#else
  fprintf(out, "  spawned at: not counted (built without UVA_STATS)\n");
#endif
  if (s == NULL)
    return;
  if (state == T_RUNNING) {
    fprintf(out, "  awaits: nothing (it is running: the caller)\n");
    return;
  }
  fprintf(out, "  awaits: ");
  if (s->awaiting != NULL)
    put_future(out, s->awaiting);
  else
    fprintf(out, "yield");
  fputc('\n', out);
  put_backtrace(out, s);
}

typedef struct {
  const char *name[KINDS_MAX];
  uint64_t n[KINDS_MAX];
  int used;
  uint64_t other;
} kinds_t;

static void kinds_add(kinds_t *k, const char *name) {
  int i;

  for (i = 0; i < k->used; i++)
    if (k->name[i] == name || strcmp(k->name[i], name) == 0) {
      k->n[i]++;
      return;
    }
  if (k->used == KINDS_MAX) {
    k->other++;
    return;
  }
  k->name[k->used] = name;
  k->n[k->used++] = 1;
}

static void kinds_put(FILE *out, const char *title, const kinds_t *k) {
  int i;

  fprintf(out, "%s:", title);
  if (k->used == 0)
    fprintf(out, " none");
  for (i = 0; i < k->used; i++)
    fprintf(out, " %s %llu%s", k->name[i], (unsigned long long)k->n[i],
            i + 1 < k->used || k->other ? "," : "");
  if (k->other)
    fprintf(out, " other %llu", (unsigned long long)k->other);
  fputc('\n', out);
}

/* A counter's value, or "not counted". */
static const char *num(char *buf, size_t n, uint64_t v) {
  if (v == UVA_STATS_NOT_COUNTED)
    snprintf(buf, n, "not counted");
  else
    snprintf(buf, n, "%llu", (unsigned long long)v);
  return buf;
}

static void put_summary(FILE *out, uva__loop_t *L, const uva_stats_t *st) {
  char a[24], b[24], c[24], d[24], e[24], g[24];

  fprintf(out,
          "uva loop %p: tasks %llu alive (%llu running, %llu ready of which "
          "%llu not started, %llu suspended), %s spawned\n",
          (void *)L->loop, (unsigned long long)st->tasks_alive,
          (unsigned long long)st->tasks_running,
          (unsigned long long)st->tasks_ready,
          (unsigned long long)st->tasks_not_started,
          (unsigned long long)st->tasks_suspended,
          num(a, sizeof(a), st->tasks_spawned));
  fprintf(out,
          "futures: %s alive, %s pending, %s made, %llu queued; objects "
          "%llu; channels %s\n",
          num(a, sizeof(a), st->futures_alive),
          num(b, sizeof(b), st->futures_pending),
          num(c, sizeof(c), st->futures_made),
          (unsigned long long)st->futures_queued,
          (unsigned long long)st->objects, num(d, sizeof(d), st->channels));
  fprintf(out,
          "memory: stacks %llu live + %llu pooled, %llu KiB mapped, %llu KiB "
          "resident; slabs %llu KiB, %llu KiB free\n",
          (unsigned long long)st->stacks_live,
          (unsigned long long)st->stacks_pooled,
          (unsigned long long)(st->stack_bytes / 1024),
          (unsigned long long)(st->stack_resident / 1024),
          (unsigned long long)(st->slab_bytes / 1024),
          (unsigned long long)(st->slab_free / 1024));
  fprintf(out,
          "libuv: handles %llu (%llu closing), pool requests %llu, remote "
          "waits %llu; loop iterations %s, callbacks %s, drains %s, "
          "busy %s ns\n",
          (unsigned long long)st->handles,
          (unsigned long long)st->handles_closing,
          (unsigned long long)st->pool_requests,
          (unsigned long long)st->remote_waits,
          num(a, sizeof(a), st->loop_iterations),
          num(e, sizeof(e), st->callbacks), num(g, sizeof(g), st->drains),
          num(b, sizeof(b), st->busy_ns));
}

int uva_loop_dump(uv_loop_t *loop, FILE *out) {
  uva_stats_t st;
  uva__loop_t *L;
  uva_future_t *f;
  uva__stack_t *s;
  kinds_t awaited, queued;
  int err;

  if (out == NULL)
    return UV_EINVAL;
  err = find(loop, &L);
  if (err != 0)
    return err;
  gather(L, &st);
  put_summary(out, L, &st);
  memset(&awaited, 0, sizeof(awaited));
  memset(&queued, 0, sizeof(queued));
  /* started tasks, then the ones that have not started (queue order) */
  for (s = L->live_stacks; s != NULL; s = s->live_next) {
    put_task(out, L, s->task);
    if (s->awaiting != NULL && s->task != L->current)
      kinds_add(&awaited, s->awaiting->ops->name);
  }
  for (f = L->rq_head; f != NULL; f = f->next) {
    if (f->flags & UVA__F_DEAD)
      continue;
    kinds_add(&queued, f->ops->name);
    if (uva__task_unstarted(f))
      put_task(out, L, (uva__task_t *)f);
  }
  kinds_put(out, "awaited by tasks", &awaited);
  kinds_put(out, "run queue", &queued);
#if UVA_STATS
  {
    const uva_chan_t *ch;
    char buf[256];
    for (ch = L->st.chans; ch != NULL; ch = uva__chan_next(ch)) {
      uva__chan_describe(ch, buf, sizeof(buf));
      fprintf(out, "%s\n", buf);
    }
  }
#else
  fprintf(out, "channels: not counted (built without UVA_STATS)\n");
#endif
  fflush(out);
  return ferror(out) ? UV_EIO : 0;
}
