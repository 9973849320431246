/* The backtrace of a suspended task, for uva_loop_dump (stats.c): the
 * platform's DWARF unwinder, started from the registers uva__ctx_switch
 * saved on the task's stack (lib/stats-unwind-*.S describes them to it). */
#include "internal.h"

#if (defined(__x86_64__) || defined(__aarch64__)) &&                          \
    !defined(UVA_CONTEXT_UCONTEXT)
#include <unwind.h>

/* what uva__ctx_switch pushes below a suspended task's stack pointer */
#if defined(__x86_64__)
#define SAVED 56
#else
#define SAVED 160
#endif

void uva__stats_unwind(void *saved_sp, void (*fn)(void *), void *arg);
extern const char uva__stats_unwind_ret[];

typedef struct {
  const char *lo, *hi; /* the task's stack: [saved sp, top) */
  const void **ip;
  int max, n, in_task, cut;
} bt_t;

static _Unwind_Reason_Code bt_frame(struct _Unwind_Context *ctx, void *arg) {
  bt_t *bt = arg;
  const char *ip = (const char *)_Unwind_GetIP(ctx);
  const char *cfa = (const char *)_Unwind_GetCFA(ctx);

  if (!bt->in_task) {
    /* bt_collect's frame, then the stub's: the task's frames come next */
    if (ip == uva__stats_unwind_ret)
      bt->in_task = 1;
    return _URC_NO_REASON;
  }
  if (ip == NULL)
    return _URC_END_OF_STACK;
  if (cfa < bt->lo || cfa > bt->hi || bt->n == bt->max) {
    bt->cut = 1; /* not on the task's stack (a corrupt chain), or too deep */
    return _URC_END_OF_STACK;
  }
  bt->ip[bt->n++] = ip;
  return _URC_NO_REASON;
}

static void bt_collect(void *arg) { _Unwind_Backtrace(bt_frame, arg); }

int uva__backtrace(const uva__stack_t *s, const void **ip, int max,
                   int *cut) {
  bt_t bt;

  *cut = 0;
  if ((const char *)s->ctx.sp < s->lo ||
      (const char *)s->ctx.sp + SAVED > s->hi)
    return UV_EINVAL;
  bt.lo = s->ctx.sp;
  bt.hi = s->hi;
  bt.ip = ip;
  bt.max = max;
  bt.n = bt.in_task = bt.cut = 0;
  uva__stats_unwind(s->ctx.sp, bt_collect, &bt);
  *cut = bt.cut;
  return bt.n;
}

#else

int uva__backtrace(const uva__stack_t *s, const void **ip, int max,
                   int *cut) {
  (void)s, (void)ip, (void)max;
  *cut = 0;
  return UV_ENOTSUP;
}

#endif
