/* Task stacks: mmap'd, reused through a per-loop pool, with a guard page
 * below each (while the process has guard pages to spare) and a canary at the
 * low end that every switch checks. */
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UVA__VALGRIND 1
#endif
#endif

#ifdef UVA__ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef UVA__TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif
#ifndef MAP_STACK
#define MAP_STACK 0
#endif

/* A guarded stack costs two memory mappings (vm.max_map_count is often
 * 65,530).  Past this many guarded stacks in the process, new stacks rely on
 * the canary alone, so that 100,000 suspended tasks still fit.  Such a stack
 * has a red zone below it instead of the guard page: address space in the
 * same mapping, never touched (no memory) unless the task overflows, so that
 * an overflow lands there, not in the stack mapped below, until the canary
 * check at the task's next switch reports it. */
#define UVA__GUARDED_MAX 16384
#define UVA__REDZONE (64 * 1024)
#define UVA__POOL_MAX 64
#ifdef UVA_FAULT_INJECTION
#define UVA__POOLING 0 /* every stack is mapped: see stack_map */
#else
#define UVA__POOLING 1
#endif

static atomic_long guarded_live;

/* ---- reporting a guard-page hit ----------------------------------------- */

/* A task that runs into its guard page gets SIGSEGV on a stack it can no
 * longer use.  uva handles SIGSEGV on an alternate signal stack (set on each
 * thread that runs tasks, unless the program set one), reports an overflow
 * of the running task's stack, and hands every other SIGSEGV to the handler
 * that was there before. */
#ifndef UVA__ASAN
#define UVA__ALTSTACK_SIZE (64 * 1024)

static uv_once_t segv_once = UV_ONCE_INIT;
static struct sigaction segv_prev;
static pthread_key_t altstack_key;
static int segv_ready;
static __thread int altstack_done __attribute__((tls_model("initial-exec")));

static void write_str(const char *p) {
  ssize_t r = write(2, p, strlen(p));
  (void)r;
}

static void segv_handler(int sig, siginfo_t *si, void *ctx) {
  uva__loop_t *L = uva__loop_running();

  if (L != NULL && L->current != NULL) {
    const uva__stack_t *s = uva__task_stack(L->current);
    const char *a = si->si_addr;
    if (s->guarded && a >= (const char *)s->map && a < s->lo) {
      char num[32], *e = num + sizeof(num) - 1;
      size_t n = s->size;
      *e = '\0';
      do
        *--e = (char)('0' + n % 10);
      while ((n /= 10) != 0);
      write_str("uva: task stack overflow: a task ran past the end of its ");
      write_str(e);
      write_str("-byte stack (guard page hit); give it a larger one with "
                "uva_spawn_ex (stack_size)\n");
      abort();
    }
  }
  /* not ours: as if uva had never been there */
  if (segv_prev.sa_flags & SA_SIGINFO) {
    segv_prev.sa_sigaction(sig, si, ctx);
  } else if (segv_prev.sa_handler == SIG_DFL ||
             segv_prev.sa_handler == SIG_IGN) {
    signal(sig, SIG_DFL); /* the fault repeats and ends the process */
  } else {
    segv_prev.sa_handler(sig);
  }
}

static void altstack_free(void *p) {
  stack_t st;
  memset(&st, 0, sizeof(st));
  st.ss_flags = SS_DISABLE;
  sigaltstack(&st, NULL);
  munmap(p, UVA__ALTSTACK_SIZE);
}

static void segv_install(void) {
  struct sigaction sa;

  if (pthread_key_create(&altstack_key, altstack_free) != 0)
    return;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = segv_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, &segv_prev) == 0)
    segv_ready = 1;
}

void uva__stack_thread_init(void) {
  stack_t cur, st;
  void *p;

  if (altstack_done)
    return;
  altstack_done = 1;
  uv_once(&segv_once, segv_install);
  if (!segv_ready || sigaltstack(NULL, &cur) != 0 ||
      !(cur.ss_flags & SS_DISABLE))
    return; /* the program has its own alternate stack */
  p = mmap(NULL, UVA__ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return;
  memset(&st, 0, sizeof(st));
  st.ss_sp = p;
  st.ss_size = UVA__ALTSTACK_SIZE;
  if (sigaltstack(&st, NULL) != 0 ||
      pthread_setspecific(altstack_key, p) != 0)
    munmap(p, UVA__ALTSTACK_SIZE);
}
#else
void uva__stack_thread_init(void) {} /* ASan reports stack overflows */
#endif

/* Loops in several threads ask at once: a relaxed atomic, so that the
 * repeated store of the same value is not a data race. */
static size_t page_size(void) {
  static atomic_size_t ps_cache;
  size_t ps = atomic_load_explicit(&ps_cache, memory_order_relaxed);
  if (ps == 0) {
    ps = (size_t)sysconf(_SC_PAGESIZE);
    atomic_store_explicit(&ps_cache, ps, memory_order_relaxed);
  }
  return ps;
}

static size_t stack_default(void) {
  return (UVA_STACK_DEFAULT + page_size() - 1) & ~(page_size() - 1);
}

static uint64_t canary_of(const uva__stack_t *s) {
  return (uint64_t)0x75766173746b3a29ULL ^ (uint64_t)(uintptr_t)s->lo;
}

static void stack_unmap(uva__stack_t *s) {
#ifdef UVA__VALGRIND
  VALGRIND_STACK_DEREGISTER(s->vg_id);
#endif
  if (s->guarded)
    atomic_fetch_sub(&guarded_live, 1);
  munmap(s->map, s->map_size);
}

static uva__stack_t *stack_map(size_t size) {
  size_t ps = page_size();
  size_t total, hdr, below;
  char *map;
  uva__stack_t *s;
  int guarded;

#ifdef UVA_FAULT_INJECTION
  {
    /* The fault-injection build counts a stack's mmap as an allocation that
     * the test can make fail. */
    void *probe = uva__malloc(1);
    if (probe == NULL)
      return NULL;
    uva__free(probe);
  }
#endif
  size = (size + ps - 1) & ~(ps - 1);
  guarded = atomic_fetch_add(&guarded_live, 1) < UVA__GUARDED_MAX;
  if (!guarded)
    atomic_fetch_sub(&guarded_live, 1);
  /* below the stack: the guard page, or the red zone */
  below = guarded ? ps : UVA__REDZONE;
  total = size + below;
  map = mmap(NULL, total, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (map == MAP_FAILED) {
    if (guarded)
      atomic_fetch_sub(&guarded_live, 1);
    return NULL;
  }
  if (guarded && mprotect(map, ps, PROT_NONE) != 0) {
    guarded = 0; /* the page stays usable: a red zone of one page */
    atomic_fetch_sub(&guarded_live, 1);
  }
  /* the header takes the top of the stack's own pages */
  hdr = (sizeof(uva__stack_t) + 63) & ~(size_t)63;
  s = (uva__stack_t *)(map + total - hdr);
  s->map = map;
  s->map_size = total;
  s->size = size;
  s->lo = map + below;
  s->hi = (char *)s;
  s->guarded = guarded;
  s->is_default = size == stack_default();
  s->next = NULL;
  /* A guarded stack needs no canary, and not writing one leaves its lowest
   * page untouched (no RSS for a stack that stays shallow). */
  if (!guarded)
    *(uint64_t *)s->lo = canary_of(s);
  s->ctx.asan_bottom = s->lo;
  s->ctx.asan_size = (size_t)(s->hi - s->lo);
#ifdef UVA__VALGRIND
  s->vg_id = VALGRIND_STACK_REGISTER(s->lo, s->hi);
#else
  s->vg_id = 0;
#endif
  return s;
}

uva__stack_t *uva__stack_get(uva__loop_t *L, size_t size) {
  uva__stack_t *s;

  if (size == 0)
    size = stack_default();
  else
    size = (size + page_size() - 1) & ~(page_size() - 1);
  if (size == stack_default() && L->stack_pool != NULL) {
    s = L->stack_pool;
    L->stack_pool = s->next;
    L->stack_pool_n--;
  } else if ((s = stack_map(size)) == NULL) {
    return NULL;
  }
  uva__stack_thread_init();
#ifdef UVA__ASAN
  /* frames of the task that used this memory last (a pooled stack, or an
   * unmapped one at the same address) are still poisoned */
  ASAN_UNPOISON_MEMORY_REGION(s->lo, (size_t)(s->hi - s->lo));
#endif
#ifdef UVA__TSAN
  /* a fresh fiber per task: a finished task's fiber still holds its frames */
  s->ctx.tsan_fiber = __tsan_create_fiber(0);
#endif
  L->stacks_live++;
  return s;
}

void uva__stack_check(const uva__stack_t *s) {
  if (uva__unlikely(!s->guarded && *(const uint64_t *)s->lo != canary_of(s))) {
    fprintf(stderr,
            "uva: task stack overflow: a task ran past the end of its "
            "%zu-byte stack (canary overwritten, found at a switch); give it "
            "a larger one with uva_spawn_ex (stack_size)\n",
            s->size);
    abort();
  }
}

void uva__stack_put(uva__loop_t *L, uva__stack_t *s) {
  uva__stack_check(s);
#ifdef UVA__TSAN
  __tsan_destroy_fiber(s->ctx.tsan_fiber); /* called on the loop's stack */
#endif
  L->stacks_live--;
  if (UVA__POOLING && s->is_default &&
      L->stack_pool_n < UVA__POOL_MAX) {
    s->next = L->stack_pool;
    L->stack_pool = s;
    L->stack_pool_n++;
  } else {
    stack_unmap(s);
  }
}

void uva__stack_pool_free(uva__loop_t *L) {
  uva__stack_t *s;

  while ((s = L->stack_pool) != NULL) {
    L->stack_pool = s->next;
    stack_unmap(s);
  }
  L->stack_pool_n = 0;
}
