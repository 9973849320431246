/* The backtrace of a suspended context (lib/stats-unwind-*.S, used by
 * uva_loop_dump): a coroutine suspended three calls deep is unwound from
 * the registers its switch saved, through those three functions, each
 * frame on its own stack.  Plain C with no Check, so that it also runs
 * cross-compiled under qemu (tests/run --aarch64). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unwind.h>

void uva__stats_unwind(void *saved_sp, void (*fn)(void *), void *arg);
extern const char uva__stats_unwind_ret[];

static uva__ctx_t main_ctx;
static int failures;

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);    \
      failures++;                                                              \
    }                                                                          \
  } while (0)

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

typedef struct {
  const char *lo, *hi;
  const char *ip[16];
  int n, in_task, outside;
} bt_t;

static _Unwind_Reason_Code frame(struct _Unwind_Context *ctx, void *arg) {
  bt_t *bt = arg;
  const char *ip = (const char *)_Unwind_GetIP(ctx);
  const char *cfa = (const char *)_Unwind_GetCFA(ctx);

  if (!bt->in_task) {
    bt->in_task = ip == uva__stats_unwind_ret;
    return _URC_NO_REASON;
  }
  if (cfa < bt->lo || cfa > bt->hi)
    bt->outside++;
  if (bt->n == 16)
    return _URC_END_OF_STACK;
  bt->ip[bt->n++] = ip;
  return _URC_NO_REASON;
}

static void collect(void *arg) { _Unwind_Backtrace(frame, arg); }

/* Whether a frame's return address lies in fn (the call was at ip - 1). */
static int in(const char *ip, void (*fn)(uva__stack_t *)) {
  const char *p = (const char *)(uintptr_t)fn;
  return ip - 1 >= p && ip - 1 < p + 256;
}

int main(void) {
  size_t size = 256 * 1024;
  char *map = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uva__stack_t *s;
  bt_t bt;
  int i, l1 = -1, l2 = -1, l3 = -1;

  if (map == MAP_FAILED)
    abort();
  s = (uva__stack_t *)(map + size - ((sizeof(*s) + 63) & ~(size_t)63));
  memset(s, 0, sizeof(*s));
  s->map = map;
  s->map_size = size;
  s->lo = map;
  s->hi = (char *)s;
  uva__ctx_make(s, entry);
  uva__ctx_switch(&main_ctx, &s->ctx); /* runs until unwind_level3 */

  memset(&bt, 0, sizeof(bt));
  bt.lo = s->ctx.sp;
  bt.hi = s->hi;
  uva__stats_unwind(s->ctx.sp, collect, &bt);
  CHECK(bt.in_task);
  for (i = 0; i < bt.n; i++) {
    if (in(bt.ip[i], unwind_level3) && l3 < 0)
      l3 = i;
    if (in(bt.ip[i], unwind_level2) && l2 < 0)
      l2 = i;
    if (in(bt.ip[i], unwind_level1) && l1 < 0)
      l1 = i;
  }
  CHECK(l3 >= 0 && l2 > l3 && l1 > l2); /* innermost first */
  CHECK(bt.outside == 0);
  /* twice: nothing on the task's stack was changed by the first walk */
  {
    bt_t again;
    memset(&again, 0, sizeof(again));
    again.lo = bt.lo;
    again.hi = bt.hi;
    uva__stats_unwind(s->ctx.sp, collect, &again);
    CHECK(again.n == bt.n && memcmp(again.ip, bt.ip, sizeof(bt.ip)) == 0);
  }
  if (failures == 0)
    printf("unwind: %d frames, level3 #%d, level2 #%d, level1 #%d\n", bt.n,
           l3, l2, l1);
  munmap(map, size);
  return failures == 0 ? 0 : 1;
}
