/* Task stacks: mmap'd, reused through a per-loop pool, with a guard region
 * below each (while the process has guarded stacks to spare) and a canary at
 * the low end that every switch checks. */
#define _GNU_SOURCE /* REG_RSP: the stack pointer of a faulting task */
#include "internal.h"

#include <fcntl.h>
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

/* Below each stack, in the same mapping, lies a guard region of 1 MiB of
 * address space (no memory), as wide as Linux's own stack guard gap: a frame
 * of up to that size that runs past the end of the stack lands there, even
 * when it skips pages (a large local array written from its low end), and
 * never in the stack mapped below.  On a guarded stack the region is
 * PROT_NONE, so the first access faults and is reported at once.  A guarded
 * stack costs two memory mappings (vm.max_map_count is often 65,530), however
 * wide its guard region.  Past this many guarded stacks in the process, new
 * stacks rely on the canary alone, so that 100,000 suspended tasks still fit:
 * the region below such a stack is an ordinary red zone, never touched (no
 * memory) unless the task overflows.  An overflow that writes the canary is
 * reported at the task's next switch; one that skips it is found when the
 * stack is released, by asking the kernel whether any red-zone page has been
 * touched (mincore). */
#define UVA__GUARDED_MAX 16384
#define UVA__GUARD (1024 * 1024)
#define UVA__POOL_MAX 64
#ifdef UVA_FAULT_INJECTION
#define UVA__POOLING 0 /* every stack is mapped: see stack_map */
#else
#define UVA__POOLING 1
#endif

static atomic_long guarded_live;

/* ---- reporting a guard-page hit ----------------------------------------- */

/* A task that runs into its guard region gets SIGSEGV on a stack it can no
 * longer use.  uva handles SIGSEGV on an alternate signal stack (set on each
 * thread that runs tasks, unless the program set one), reports an overflow
 * of the running task's stack, and hands every other SIGSEGV to the handler
 * that was there before.  A fault with the task's stack pointer below its
 * stack (by less than UVA__SP_REACH past the guard region) is an overflow
 * too: a frame wider than the guard region that faulted further down. */
#ifndef UVA__ASAN
#define UVA__ALTSTACK_SIZE (64 * 1024)
#define UVA__SP_REACH ((size_t)64 * UVA__GUARD)

static uv_once_t segv_once = UV_ONCE_INIT;
static struct sigaction segv_prev;
static pthread_key_t altstack_key;
static int segv_ready;
static __thread int altstack_done __attribute__((tls_model("initial-exec")));

static void write_str(const char *p) {
  ssize_t r = write(2, p, strlen(p));
  (void)r;
}

/* The stack pointer of the interrupted code, or NULL where unknown or when
 * it ran on the alternate stack (another signal's handler). */
static const char *fault_sp(void *ctx) {
  ucontext_t *uc = ctx;
  if (uc->uc_stack.ss_flags & SS_ONSTACK)
    return NULL;
#if defined(__x86_64__) && defined(REG_RSP)
  return (const char *)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  return (const char *)uc->uc_mcontext.sp;
#else
  return NULL;
#endif
}

static void segv_handler(int sig, siginfo_t *si, void *ctx) {
  uva__loop_t *L = uva__loop_running();

  if (L != NULL && L->current != NULL) {
    const uva__stack_t *s = uva__task_stack(L->current);
    const char *a = si->si_addr, *sp = fault_sp(ctx);
    /* It hit the guard region; or the task's stack pointer is below its
     * stack (a frame wider than the guard region that faulted further
     * down). */
    if ((s->guarded && a >= (const char *)s->map && a < s->lo) ||
        (sp != NULL && sp < s->lo &&
         (size_t)(s->lo - sp) <= UVA__GUARD + UVA__SP_REACH)) {
      char num[32], *e = num + sizeof(num) - 1;
      size_t n = s->size;
      *e = '\0';
      do
        *--e = (char)('0' + n % 10);
      while ((n /= 10) != 0);
      write_str("uva: task stack overflow: a task ran past the end of its ");
      write_str(e);
      write_str(a >= (const char *)s->map && a < s->lo
                    ? "-byte stack (guard page hit); "
                    : "-byte stack (stack pointer below it); ");
      write_str("give it a larger one with uva_spawn_ex (stack_size)\n");
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

/* The alternate stack has a guard region on either side (one mapping): a
 * task's frame that runs far past its own stack's guard region faults there
 * instead of writing over it, and a handler that overflows it faults too. */
#define UVA__ALTSTACK_MAP (UVA__GUARD + UVA__ALTSTACK_SIZE + UVA__GUARD)

static void altstack_free(void *p) {
  stack_t st;
  memset(&st, 0, sizeof(st));
  st.ss_flags = SS_DISABLE;
  sigaltstack(&st, NULL);
  munmap(p, UVA__ALTSTACK_MAP);
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
  p = mmap(NULL, UVA__ALTSTACK_MAP, PROT_NONE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return;
  memset(&st, 0, sizeof(st));
  st.ss_sp = (char *)p + UVA__GUARD;
  st.ss_size = UVA__ALTSTACK_SIZE;
  if (mprotect(st.ss_sp, UVA__ALTSTACK_SIZE, PROT_READ | PROT_WRITE) != 0 ||
      sigaltstack(&st, NULL) != 0 ||
      pthread_setspecific(altstack_key, p) != 0)
    munmap(p, UVA__ALTSTACK_MAP);
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

/* Whether the kernel may back any anonymous mapping with huge pages without
 * being asked (transparent_hugepage "always"); read once per process. */
static int thp_always(void) {
  static atomic_int cache; /* 0: not read yet, 1: no, 2: yes */
  int v = atomic_load_explicit(&cache, memory_order_relaxed);

  if (v == 0) {
    char buf[128];
    ssize_t n = -1;
    int fd = open("/sys/kernel/mm/transparent_hugepage/enabled",
                  O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      n = read(fd, buf, sizeof(buf) - 1);
      close(fd);
    }
    v = n > 0 && (buf[n] = '\0', strstr(buf, "[always]") != NULL) ? 2 : 1;
    atomic_store_explicit(&cache, v, memory_order_relaxed);
  }
  return v == 2;
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
  /* below the stack: the guard region, or the red zone */
  below = UVA__GUARD;
  if (size > SIZE_MAX - below - ps) {
    if (guarded)
      atomic_fetch_sub(&guarded_live, 1);
    return NULL;
  }
  total = size + below;
  map = mmap(NULL, total, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (map == MAP_FAILED) {
    if (guarded)
      atomic_fetch_sub(&guarded_live, 1);
    return NULL;
  }
  if (guarded && mprotect(map, below, PROT_NONE) != 0) {
    guarded = 0; /* the region stays usable: a red zone */
    atomic_fetch_sub(&guarded_live, 1);
  }
#ifdef MADV_NOHUGEPAGE
  /* A red zone is checked page by page (redzone_check): no huge page may
   * bring it in along with the stack's own lowest pages.  The same advice on
   * every such stack keeps neighbouring ones one mapping. */
  if (!guarded && thp_always())
    madvise(map, total, MADV_NOHUGEPAGE);
#endif
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

#ifdef UVA__ASAN
/* Clears ASan's poison from [p, p + n): frames of the task that used this
 * memory last (a pooled stack, or an unmapped one at the same address) may
 * still be poisoned.  __asan_unpoison_memory_region writes every shadow byte,
 * which for a stack of a TiB is 128 GiB of memory: whole shadow pages are
 * given back to the kernel instead (they read as zero, unpoisoned), as ASan
 * itself does for large ranges. */
static void asan_unpoison(char *p, size_t n) {
  size_t scale, offset, ps = page_size();
  uintptr_t sb, se, pb, pe;

  __asan_get_shadow_mapping(&scale, &offset);
  sb = ((uintptr_t)p >> scale) + offset;
  se = (((uintptr_t)p + n) >> scale) + offset;
  pb = (sb + ps - 1) & ~(uintptr_t)(ps - 1);
  pe = se & ~(uintptr_t)(ps - 1);
  if (pe <= pb || madvise((void *)pb, pe - pb, MADV_DONTNEED) != 0) {
    ASAN_UNPOISON_MEMORY_REGION(p, n);
    return;
  }
  ASAN_UNPOISON_MEMORY_REGION(p, ((pb - offset) << scale) - (uintptr_t)p);
  ASAN_UNPOISON_MEMORY_REGION((char *)((pe - offset) << scale),
                              (uintptr_t)p + n - ((pe - offset) << scale));
}
#endif

/* A canary-only stack: aborts if any page of its red zone has been touched
 * (the task ran past the end of its stack and skipped the canary). */
static void redzone_check(const uva__stack_t *s) {
  unsigned char vec[UVA__GUARD / 4096];
  size_t n = (size_t)(s->lo - (char *)s->map) / page_size(), i;

  if (s->guarded || n > sizeof(vec) ||
      mincore(s->map, n * page_size(), vec) != 0)
    return;
  for (i = 0; i < n; i++)
    if (vec[i] & 1) {
      fprintf(stderr,
              "uva: task stack overflow: a task ran past the end of its "
              "%zu-byte stack (red zone written, found when the stack was "
              "released); give it a larger one with uva_spawn_ex "
              "(stack_size)\n",
              s->size);
      abort();
    }
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
  asan_unpoison(s->lo, (size_t)(s->hi - s->lo));
#endif
#ifdef UVA__TSAN
  /* a fresh fiber per task: a finished task's fiber still holds its frames */
  s->ctx.tsan_fiber = __tsan_create_fiber(0);
#endif
  L->stacks_live++;
  /* on L's list of stacks in use (uva__task_cancel_all walks it) */
  s->live_prev = NULL;
  s->live_next = L->live_stacks;
  if (L->live_stacks != NULL)
    L->live_stacks->live_prev = s;
  L->live_stacks = s;
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
  redzone_check(s);
#ifdef UVA__TSAN
  __tsan_destroy_fiber(s->ctx.tsan_fiber); /* called on the loop's stack */
#endif
  L->stacks_live--;
  if (s->live_prev != NULL)
    s->live_prev->live_next = s->live_next;
  else
    L->live_stacks = s->live_next;
  if (s->live_next != NULL)
    s->live_next->live_prev = s->live_prev;
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
