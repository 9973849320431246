/* The sync model (issue 10): seeded programs of tasks that share one Mutex,
 * one Semaphore, one Notify and one watch, with an optional plain thread
 * that calls notify_one and releases semaphore permits it was lent, checked
 * against these invariants:
 *
 *  - a Mutex is held by at most one task at a time, and a wait that did not
 *    return 0 holds nothing (a later try_lock by its owner would see it);
 *  - the permits held by tasks never exceed the Semaphore's count, and
 *    every permit comes back (available == count at the end), also the one
 *    lent to the thread, which releases it from there;
 *  - no wake-up is lost: once every live task is waiting on the Notify, one
 *    notify_one wakes exactly one of them; waits that returned 0 never
 *    outnumber the notify_one calls plus the waiters woken by
 *    notify_waiters;
 *  - watch: each changed() that returns 0 sees a newer version than the
 *    task saw before, and borrow gives the latest value sent;
 *  - the loop closes and every allocation of uva's is freed.
 *
 * Waits come in several forms: the _wait call, uva_await of the future, a
 * uva_timeout, a uva_select against a sleep, and a join with a sleep inside
 * a shorter timeout, which drops a wait that may have been granted (the
 * ops->undo path: the lock, permits or notification must be passed on). */
#include "sync.h"

#include "model.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uva.h>

#define S_TASKS 6
#define S_OPS 10

enum {
  SOP_LOCK,
  SOP_TRY_LOCK,
  SOP_ACQ,
  SOP_TRY_ACQ,
  SOP_NOTIFY_ONE,
  SOP_NOTIFY_WAITERS,
  SOP_WAIT,
  SOP_WAIT_PLAIN,
  SOP_SEND,
  SOP_CHANGED,
  SOP_YIELD,
  SOP_SLEEP,
  SOP_KINDS
};

static const char *sop_names[] = {"lock",  "try_lock", "acquire", "try_acquire",
                                  "notify_one", "notify_waiters", "wait",
                                  "wait_plain", "send", "changed", "yield",
                                  "sleep"};

/* How a wait is made. */
enum { W_WAIT, W_AWAIT, W_TIMEOUT, W_SELECT, W_JOIN_DROP, W_FORMS };

typedef struct {
  uint8_t kind, form, arg, ms;
} sop_t;

typedef struct {
  int id, nops;
  sop_t ops[S_OPS];
  int done, waiting_plain;
  uint64_t plain_done; /* plain waits that returned */
  uint64_t seen_version;
} stask_t;

static struct {
  uv_loop_t loop;
  uva_mutex_t *m;
  uva_semaphore_t *sem;
  uva_notify_t *n;
  uva_watch_t *w;
  size_t permits;
  int ntasks;
  stask_t t[S_TASKS];
  int holder;     /* task holding the mutex, or -1 */
  size_t in_use;  /* permits held by tasks (and lent to the thread) */
  uint64_t value; /* the latest value sent on the watch */
  uint64_t notifies, woken_all, wakes;
  int th_on, th_n;
  uv_thread_t th;
  atomic_int th_done;
  atomic_uint th_notifies;
  int cur_task, cur_op, trace;
  model_sync_stats_t *st;
} S;

static void sfail(int line, const char *cond, const char *fmt, ...) {
  va_list ap;
  fflush(stdout);
  fprintf(stderr, "uva sync model: FAIL (%s) task %d op %d: ", model_label,
          S.cur_task, S.cur_op);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " [%s, sync.c:%d]\n", cond, line);
  fflush(stderr);
  abort();
}

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond))                                                               \
      sfail(__LINE__, #cond, __VA_ARGS__);                                     \
  } while (0)

/* ---- decoding ----------------------------------------------------------- */

typedef struct {
  const uint8_t *p;
  size_t n, i;
} rd_t;

static unsigned rd(rd_t *r, unsigned mod) {
  unsigned b = r->i < r->n ? r->p[r->i++] : 0;
  return mod ? b % mod : b;
}

static void decode(const uint8_t *bytes, size_t n) {
  rd_t r = {bytes, n, 0};
  S.permits = 1 + rd(&r, 3);
  S.ntasks = 2 + (int)rd(&r, S_TASKS - 1);
  S.th_on = rd(&r, 3) == 0;
  S.th_n = 1 + (int)rd(&r, 8);
  for (int i = 0; i < S.ntasks; i++) {
    stask_t *t = &S.t[i];
    t->id = i;
    t->nops = 1 + (int)rd(&r, S_OPS);
    for (int k = 0; k < t->nops; k++) {
      sop_t *o = &t->ops[k];
      o->kind = (uint8_t)rd(&r, SOP_KINDS);
      o->form = (uint8_t)rd(&r, W_FORMS);
      o->arg = (uint8_t)(1 + rd(&r, (unsigned)S.permits));
      o->ms = (uint8_t)rd(&r, 4);
    }
  }
}

/* ---- waits -------------------------------------------------------------- */

/* Awaits f in the given form; returns its status (0: it took effect). */
static int wait_form(uva_future_t *f, int form, int ms) {
  uva_future_t *kids[2];
  uva_result_t res[2];
  uva_result_t w;
  uva_value_t v;
  int st;

  switch (form) {
  case W_TIMEOUT:
    return uva_await(uva_timeout(f, (uint64_t)ms), NULL);
  case W_SELECT:
    kids[0] = f;
    kids[1] = uva_sleep(&S.loop, (uint64_t)ms);
    st = uva_await(uva_select(&S.loop, kids, 2, &w), &v);
    if (st != 0)
      return st;
    return v.u64 == 0 ? w.status : UV_ETIMEDOUT;
  case W_JOIN_DROP:
    /* the wait may be granted inside the join, which the shorter timeout
     * then drops untaken */
    kids[0] = f;
    kids[1] = uva_sleep(&S.loop, (uint64_t)ms + 2);
    st = uva_await(uva_timeout(uva_join(&S.loop, kids, 2, res), (uint64_t)ms),
                   NULL);
    if (st == 0) {
      uva_result_free(&res[1]);
      return res[0].status;
    }
    return st;
  default:
    return uva_await(f, NULL);
  }
}

static void hold_lock(stask_t *t, const sop_t *o) {
  CHECK(S.holder == -1, "mutex held by task %d too", S.holder);
  S.holder = t->id;
  if (o->ms & 1)
    CHECK(uva_yield() == 0, "yield");
  else
    CHECK(uva_await(uva_sleep(&S.loop, o->ms), NULL) == 0, "sleep");
  CHECK(S.holder == t->id, "mutex taken from under task %d", t->id);
  S.holder = -1;
  CHECK(uva_mutex_unlock(S.m) == 0, "unlock");
}

static void hold_permits(const sop_t *o) {
  S.in_use += o->arg;
  CHECK(S.in_use <= S.permits, "%zu permits held of %zu", S.in_use,
        S.permits);
  CHECK(uva_yield() == 0, "yield");
  S.in_use -= o->arg;
  CHECK(uva_semaphore_release(S.sem, o->arg) == 0, "release");
}

static void run_op(stask_t *t, const sop_t *o) {
  int st, ms = o->ms;

  switch (o->kind) {
  case SOP_LOCK:
    st = o->form == W_WAIT ? uva_mutex_lock_wait(S.m)
                           : wait_form(uva_mutex_lock(S.m), o->form, ms);
    CHECK(st == 0 || st == UV_ETIMEDOUT, "lock: %s", uv_err_name(st));
    if (st == 0)
      hold_lock(t, o);
    break;
  case SOP_TRY_LOCK:
    st = uva_mutex_try_lock(S.m);
    CHECK(st == 0 || st == UV_EAGAIN, "try_lock: %s", uv_err_name(st));
    CHECK(st != 0 || S.holder == -1, "try_lock while task %d holds",
          S.holder);
    if (st == 0)
      hold_lock(t, o);
    break;
  case SOP_ACQ:
    st = o->form == W_WAIT
             ? uva_semaphore_acquire_wait(S.sem, o->arg)
             : wait_form(uva_semaphore_acquire(S.sem, o->arg), o->form, ms);
    CHECK(st == 0 || st == UV_ETIMEDOUT, "acquire: %s", uv_err_name(st));
    if (st == 0)
      hold_permits(o);
    break;
  case SOP_TRY_ACQ:
    st = uva_semaphore_try_acquire(S.sem, o->arg);
    CHECK(st == 0 || st == UV_EAGAIN, "try_acquire: %s", uv_err_name(st));
    if (st == 0)
      hold_permits(o);
    break;
  case SOP_NOTIFY_ONE:
    S.notifies++;
    CHECK(uva_notify_one(S.n) == 0, "notify_one");
    break;
  case SOP_NOTIFY_WAITERS:
    /* at most every other task is waiting now */
    S.woken_all += (uint64_t)S.ntasks;
    CHECK(uva_notify_waiters(S.n) == 0, "notify_waiters");
    break;
  case SOP_WAIT:
    st = wait_form(uva_notify_notified(S.n),
                   o->form == W_WAIT || o->form == W_AWAIT ? W_TIMEOUT
                                                           : o->form,
                   ms);
    CHECK(st == 0 || st == UV_ETIMEDOUT, "wait: %s", uv_err_name(st));
    if (st == 0)
      S.wakes++;
    break;
  case SOP_WAIT_PLAIN:
    t->waiting_plain = 1;
    st = o->form & 1 ? uva_notify_wait(S.n)
                     : uva_await(uva_notify_notified(S.n), NULL);
    t->waiting_plain = 0;
    CHECK(st == 0, "plain wait: %s", uv_err_name(st));
    t->plain_done++;
    S.wakes++;
    break;
  case SOP_SEND:
    S.value++;
    CHECK(uva_watch_send(S.w, &S.value) == 0, "watch send");
    break;
  case SOP_CHANGED: {
    uva_watch_rx_t *rx;
    uint64_t got, ver;
    CHECK(uva_watch_subscribe(S.w, &rx) == 0, "subscribe");
    ver = uva_watch_borrow(S.w, &got);
    CHECK(got == S.value, "borrow %llu, sent %llu", (unsigned long long)got,
          (unsigned long long)S.value);
    CHECK(ver >= t->seen_version, "version went back");
    t->seen_version = ver;
    st = wait_form(uva_watch_changed(rx),
                   o->form == W_WAIT || o->form == W_AWAIT ? W_TIMEOUT
                                                           : o->form,
                   ms);
    CHECK(st == 0 || st == UV_ETIMEDOUT, "changed: %s", uv_err_name(st));
    if (st == 0) {
      ver = uva_watch_borrow_and_update(rx, &got);
      CHECK(ver > t->seen_version, "changed without a newer version");
      CHECK(got == S.value, "borrow after changed");
      t->seen_version = ver;
    }
    uva_watch_rx_free(rx);
    break;
  }
  case SOP_YIELD:
    CHECK(uva_yield() == 0, "yield");
    break;
  default:
    CHECK(uva_await(uva_sleep(&S.loop, (uint64_t)ms), NULL) == 0, "sleep");
  }
}

static int task_body(void *arg, uva_result_t *r) {
  stask_t *t = arg;
  (void)r;
  for (int k = 0; k < t->nops; k++) {
    S.cur_task = t->id;
    S.cur_op = k;
    if (S.trace)
      printf("  task %d op %d: %s form %d arg %d ms %d\n", t->id, k,
             sop_names[t->ops[k].kind], t->ops[k].form, t->ops[k].arg,
             t->ops[k].ms);
    run_op(t, &t->ops[k]);
    S.st->ops++;
  }
  t->done = 1;
  return 0;
}

/* The thread: notify_one calls, and the release of permits lent to it. */
static void thread_main(void *arg) {
  size_t lent = (size_t)(uintptr_t)arg;
  for (int i = 0; i < S.th_n; i++) {
    atomic_fetch_add(&S.th_notifies, 1);
    CHECK(uva_notify_one(S.n) == 0, "thread notify_one");
    if (i == 0 && lent > 0)
      CHECK(uva_semaphore_release(S.sem, lent) == 0, "thread release");
    if (i % 3 == 2)
      uv_sleep(1);
  }
  atomic_store(&S.th_done, 1);
}

/* ---- the root ----------------------------------------------------------- */

static int all_waiting(void) {
  int live = 0;
  for (int i = 0; i < S.ntasks; i++) {
    if (S.t[i].done)
      continue;
    live++;
    if (!S.t[i].waiting_plain)
      return 0;
  }
  return live > 0;
}

static int all_done(void) {
  for (int i = 0; i < S.ntasks; i++)
    if (!S.t[i].done)
      return 0;
  return 1;
}

static uint64_t plain_total(void) {
  uint64_t n = 0;
  for (int i = 0; i < S.ntasks; i++)
    n += S.t[i].plain_done;
  return n;
}

/* Every task that looks waiting really is registered: one woken by a
 * notify but not yet resumed runs during a yield (it was queued before the
 * yield queued the root), so nothing changing across one means none. */
static int settled_waiting(void) {
  uint64_t before = plain_total();
  CHECK(uva_yield() == 0, "yield");
  return all_waiting() && plain_total() == before;
}

static int root_body(void *arg, uva_result_t *r) {
  size_t lent = 0;
  int spins = 0;
  (void)arg;
  (void)r;
  if (S.th_on) {
    /* lend the thread a permit (held by it until it releases it) */
    if (uva_semaphore_try_acquire(S.sem, 1) == 0)
      lent = 1; /* not counted in in_use: the thread gives it back */
    CHECK(uv_thread_create(&S.th, thread_main, (void *)(uintptr_t)lent) == 0,
          "thread");
  }
  for (int i = 0; i < S.ntasks; i++)
    uva_future_detach(uva_spawn(&S.loop, task_body, &S.t[i]));
  /* the thread first: its notifies and its release */
  while (S.th_on && !atomic_load(&S.th_done))
    CHECK(uva_await(uva_sleep(&S.loop, 1), NULL) == 0, "sleep");
  while (!all_done()) {
    S.cur_task = -1;
    S.cur_op = spins;
    CHECK(++spins < 20000, "stalled: tasks never finish (a lost wake-up, "
                           "or a lock or permit never given back)");
    if (all_waiting() && settled_waiting()) {
      /* no wake-up lost: one notify_one wakes exactly one waiter (which
       * may then wait again and take a permit it stored itself: count
       * the tasks that moved, not their waits) */
      uint64_t before[S_TASKS];
      int moved = 0;
      for (int i = 0; i < S.ntasks; i++)
        before[i] = S.t[i].plain_done;
      S.notifies++;
      CHECK(uva_notify_one(S.n) == 0, "notify_one");
      CHECK(uva_yield() == 0, "yield");
      for (int i = 0; i < S.ntasks; i++)
        moved += S.t[i].plain_done != before[i];
      CHECK(moved == 1, "notify_one with every task waiting woke %d tasks",
            moved);
    } else if (spins % 4 == 0) {
      CHECK(uva_await(uva_sleep(&S.loop, 1), NULL) == 0, "sleep");
    } else {
      CHECK(uva_yield() == 0, "yield");
    }
  }
  return 0;
}

void model_sync_run(const uint8_t *bytes, size_t n, model_sync_stats_t *st,
                    int trace) {
  long base = model_alloc_live();
  uint64_t got;
  int err;

  memset(&S, 0, sizeof(S));
  S.st = st;
  S.trace = trace;
  S.holder = -1;
  atomic_init(&S.th_done, 0);
  atomic_init(&S.th_notifies, 0);
  decode(bytes, n);
  if (trace) {
    printf("sync program: %d tasks, %zu permits, thread %d (%d notifies)\n",
           S.ntasks, S.permits, S.th_on, S.th_n);
  }
  CHECK(uv_loop_init(&S.loop) == 0, "uv_loop_init");
  CHECK(uva_mutex_new(&S.loop, &S.m) == 0, "mutex");
  CHECK(uva_semaphore_new(&S.loop, S.permits, &S.sem) == 0, "semaphore");
  CHECK(uva_notify_new(&S.loop, &S.n) == 0, "notify");
  CHECK(uva_watch_new(&S.loop, sizeof(uint64_t), &S.value, &S.w) == 0,
        "watch");
  err = uva_block_on(&S.loop, uva_spawn(&S.loop, root_body, NULL), NULL);
  CHECK(err == 0, "root: %s", uv_err_name(err));
  if (S.th_on)
    CHECK(uv_thread_join(&S.th) == 0, "join thread");
  /* end state */
  S.cur_task = -1;
  S.cur_op = -1;
  CHECK(S.holder == -1 && uva_mutex_try_lock(S.m) == 0,
        "the mutex is still held");
  CHECK(uva_mutex_unlock(S.m) == 0, "unlock");
  CHECK(uva_semaphore_available(S.sem) == S.permits,
        "%zu permits free of %zu at the end", uva_semaphore_available(S.sem),
        S.permits);
  CHECK(S.wakes <= S.notifies + atomic_load(&S.th_notifies) + S.woken_all,
        "%llu wakes from %llu notifies",
        (unsigned long long)S.wakes, (unsigned long long)S.notifies);
  uva_watch_borrow(S.w, &got);
  CHECK(got == S.value, "watch holds %llu, last sent %llu",
        (unsigned long long)got, (unsigned long long)S.value);
  uva_mutex_free(S.m);
  uva_semaphore_free(S.sem);
  uva_notify_free(S.n);
  uva_watch_free(S.w);
  CHECK(uv_run(&S.loop, UV_RUN_DEFAULT) == 0, "uv_run");
  CHECK(uv_loop_close(&S.loop) == 0, "uv_loop_close");
  CHECK(model_alloc_live() == base, "%ld allocation(s) of uva's left",
        model_alloc_live() - base);
  st->programs++;
  st->tasks += (uint64_t)S.ntasks;
  st->wakes += S.wakes;
  st->notifies += S.notifies + atomic_load(&S.th_notifies);
}
