/* The backtrace of a suspended context (lib/stats-unwind.c and
 * lib/stats-unwind-*.S, used by uva_loop_dump): a coroutine suspended three
 * calls deep is unwound from the registers its switch saved, through those
 * three functions, each frame on its own stack.  Plain C with no Check, so
 * that it also runs cross-compiled under qemu (tests/run --aarch64). */
#include "switch-util.h"

static uva__ctx_t main_ctx;

/* Three nested calls, then a switch back to main; never resumed. */
__attribute__((noinline)) void unwind_level3(uva__stack_t *s);
__attribute__((noinline)) void unwind_level2(uva__stack_t *s);
__attribute__((noinline)) void unwind_level1(uva__stack_t *s);

void unwind_level3(uva__stack_t *s) {
  uva__ctx_switch(&s->ctx, &main_ctx);
  __asm__ volatile("" ::: "memory");
  abort();
}

void unwind_level2(uva__stack_t *s) {
  unwind_level3(s);
  __asm__ volatile("" ::: "memory");
}

void unwind_level1(uva__stack_t *s) {
  unwind_level2(s);
  __asm__ volatile("" ::: "memory");
}

static void entry(uva__stack_t *s) { unwind_level1(s); }

/* Whether a frame's return address lies in fn (the call was at ip - 1). */
static int in(const void *ip, void (*fn)(uva__stack_t *)) {
  const char *p = (const char *)(uintptr_t)fn, *q = (const char *)ip - 1;
  return q >= p && q < p + 256;
}

int main(void) {
  uva__stack_t *s = make_stack(256 * 1024);
  const void *ip[16], *again[16];
  int i, n, cut, l1 = -1, l2 = -1, l3 = -1;

  uva__ctx_make(s, entry);
  uva__ctx_switch(&main_ctx, &s->ctx); /* runs until unwind_level3 */

  n = uva__backtrace(s, ip, 16, &cut);
  CHECK(n >= 3 && !cut);
  for (i = 0; i < n; i++) {
    if (in(ip[i], unwind_level3) && l3 < 0)
      l3 = i;
    if (in(ip[i], unwind_level2) && l2 < 0)
      l2 = i;
    if (in(ip[i], unwind_level1) && l1 < 0)
      l1 = i;
  }
  CHECK(l3 >= 0 && l2 > l3 && l1 > l2); /* innermost first */
  /* again: the first walk changed nothing on the task's stack */
  CHECK(uva__backtrace(s, again, 16, &cut) == n);
  CHECK(memcmp(again, ip, (size_t)(n > 0 ? n : 0) * sizeof(ip[0])) == 0);
  /* too few slots: the walk stops and says so */
  CHECK(uva__backtrace(s, again, 2, &cut) == 2 && cut);
  /* a saved stack pointer off the stack is refused, not followed */
  {
    void *sp = s->ctx.sp;
    s->ctx.sp = s->hi;
    CHECK(uva__backtrace(s, again, 16, &cut) == UV_EINVAL);
    s->ctx.sp = s->lo - 4096;
    CHECK(uva__backtrace(s, again, 16, &cut) == UV_EINVAL);
    s->ctx.sp = sp;
  }
  printf("unwind: %d frames, level3 #%d, level2 #%d, level1 #%d; %s\n", n, l3,
         l2, l1, failures == 0 ? "passed" : "FAILED");
  munmap(s->map, s->map_size);
  return failures == 0 ? 0 : 1;
}
