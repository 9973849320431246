/* Task stacks: mmap'd, reused through a per-loop pool, with a guard page
 * below each (while the process has guard pages to spare) and a canary at the
 * low end that every switch checks. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UVA__VALGRIND 1
#endif
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UVA__ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UVA__ASAN 1
#endif
#ifdef UVA__ASAN
#include <sanitizer/asan_interface.h>
#endif

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif
#ifndef MAP_STACK
#define MAP_STACK 0
#endif

/* A guarded stack costs two memory mappings (vm.max_map_count is often
 * 65,530).  Past this many guarded stacks in the process, new stacks rely on
 * the canary alone, so that 100,000 suspended tasks still fit. */
#define UVA__GUARDED_MAX 16384
#define UVA__POOL_MAX 64

static atomic_long guarded_live;

static size_t page_size(void) {
  static size_t ps;
  if (ps == 0)
    ps = (size_t)sysconf(_SC_PAGESIZE);
  return ps;
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
  size_t total, hdr;
  char *map;
  uva__stack_t *s;
  int guarded;

  size = (size + ps - 1) & ~(ps - 1);
  total = size + ps; /* one page for the header and the guard */
  map = mmap(NULL, total, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (map == MAP_FAILED)
    return NULL;
  guarded = atomic_fetch_add(&guarded_live, 1) < UVA__GUARDED_MAX;
  if (guarded && mprotect(map, ps, PROT_NONE) != 0)
    guarded = 0;
  if (!guarded)
    atomic_fetch_sub(&guarded_live, 1);
  hdr = (sizeof(uva__stack_t) + 63) & ~(size_t)63;
  s = (uva__stack_t *)(map + total - hdr);
  s->map = map;
  s->map_size = total;
  s->lo = map + (guarded ? ps : 0);
  s->hi = (char *)s;
  s->guarded = guarded;
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

size_t uva__stack_default(void) {
  return (UVA_STACK_DEFAULT + page_size() - 1) & ~(page_size() - 1);
}

uva__stack_t *uva__stack_get(uva__loop_t *L, size_t size) {
  uva__stack_t *s;

  if (size == 0)
    size = uva__stack_default();
  else
    size = (size + page_size() - 1) & ~(page_size() - 1);
  if (size == uva__stack_default() && L->stack_pool != NULL) {
    s = L->stack_pool;
    L->stack_pool = s->next;
    L->stack_pool_n--;
#ifdef UVA__ASAN
    /* frames of the task that used it last are still poisoned */
    ASAN_UNPOISON_MEMORY_REGION(s->lo, (size_t)(s->hi - s->lo));
#endif
  } else if ((s = stack_map(size)) == NULL) {
    return NULL;
  }
  L->stacks_live++;
  return s;
}

void uva__stack_check(const uva__stack_t *s) {
  if (uva__unlikely(!s->guarded && *(const uint64_t *)s->lo != canary_of(s))) {
    fprintf(stderr,
            "uva: task stack overflow: a task ran past the end of its "
            "%zu-byte stack; give it a larger one with uva_spawn_ex "
            "(stack_size)\n",
            (size_t)(s->hi - s->lo));
    abort();
  }
}

void uva__stack_put(uva__loop_t *L, uva__stack_t *s) {
  uva__stack_check(s);
  L->stacks_live--;
  if (s->map_size == uva__stack_default() + page_size() &&
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
