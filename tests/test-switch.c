/* The context switch on its own: coroutines that hand control back and forth
 * must find their callee-saved integer and floating-point registers, their
 * locals and their stack intact.  Plain C with no Check, so that it also runs
 * cross-compiled under qemu (tests/run --aarch64). */
#include "switch-util.h"

static uva__ctx_t main_ctx;
static uva__stack_t *co[2];

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
