/* Shared by the plain-C tests of the context switch (test-switch.c,
 * test-unwind.c), which also run cross-compiled under qemu: a check that
 * counts failures, and a stack mapped by hand. */
#ifndef UVA_SWITCH_UTIL_H
#define UVA_SWITCH_UTIL_H

#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define REGISTER_STACK(lo, hi) VALGRIND_STACK_REGISTER(lo, hi)
#endif
#endif
#ifndef REGISTER_STACK
#define REGISTER_STACK(lo, hi) ((void)(lo), (void)(hi))
#endif

static int failures;

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);    \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static inline uva__stack_t *make_stack(size_t size) {
  char *map = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uva__stack_t *s;
  if (map == MAP_FAILED)
    abort();
  s = (uva__stack_t *)(map + size - ((sizeof(*s) + 63) & ~(size_t)63));
  memset(s, 0, sizeof(*s));
  s->map = map;
  s->map_size = size;
  s->lo = map;
  s->hi = (char *)s;
  REGISTER_STACK(s->lo, s->hi);
  return s;
}

#endif /* UVA_SWITCH_UTIL_H */
