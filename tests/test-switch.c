/* The context switch on its own: coroutines that hand control back and forth
 * must find their callee-saved integer and floating-point registers, their
 * locals and their stack intact.  Plain C with no Check, so that it also runs
 * cross-compiled under qemu (tests/run --aarch64). */
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

static uva__ctx_t main_ctx;
static uva__stack_t *co[2];
static int failures;

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);    \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static uva__stack_t *make_stack(size_t size) {
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

/* Work that keeps values live in callee-saved registers across switches. */
static double spin(uva__stack_t *self, uva__ctx_t *to, int rounds, int seed) {
  volatile int check = seed;
  long a = seed, b = seed * 3, c = seed * 5, d = seed * 7, e = seed * 11;
  double x = seed * 0.5, y = seed * 0.25, z = seed * 0.125;
  for (int i = 0; i < rounds; i++) {
    uva__ctx_switch(&self->ctx, to);
    a += 1, b += 3, c += 5, d += 7, e += 11;
    x += 0.5, y += 0.25, z += 0.125;
  }
  CHECK(check == seed);
  CHECK(a == seed + rounds && b == seed * 3 + 3L * rounds);
  CHECK(c == seed * 5 + 5L * rounds && d == seed * 7 + 7L * rounds);
  CHECK(e == seed * 11 + 11L * rounds);
  return x + y + z;
}

static void entry(uva__stack_t *s) {
  int id = s == co[0] ? 0 : 1;
  double r;
  /* bounce: 0 -> 1 -> main -> 0 ... */
  r = spin(s, id == 0 ? &co[1]->ctx : &main_ctx, 1000, id + 2);
  CHECK(r == (id + 2) * 0.875 + 1000 * 0.875);
  s->arg = (void *)1; /* done */
  uva__ctx_switch(&s->ctx, &main_ctx);
  abort(); /* never resumed */
}

int main(void) {
  long m1 = 12345;
  double f1 = 3.5;
  int rounds = 0;

  co[0] = make_stack(64 * 1024);
  co[1] = make_stack(64 * 1024);
  uva__ctx_make(co[0], entry);
  uva__ctx_make(co[1], entry);
  /* main resumes coroutine 0; coroutine 1 switches back to main */
  while (co[0]->arg == NULL || co[1]->arg == NULL) {
    if (co[0]->arg == NULL)
      uva__ctx_switch(&main_ctx, &co[0]->ctx);
    else
      uva__ctx_switch(&main_ctx, &co[1]->ctx);
    m1++, f1 += 1.0, rounds++;
    if (rounds > 10000)
      break;
  }
  CHECK(co[0]->arg != NULL && co[1]->arg != NULL);
  CHECK(m1 == 12345 + rounds && f1 == 3.5 + rounds);
  munmap(co[0]->map, co[0]->map_size);
  munmap(co[1]->map, co[1]->map_size);
  printf("%d passed, %d failed\n", failures == 0 ? 1 : 0, failures == 0 ? 0 : 1);
  return failures == 0 ? 0 : 1;
}
