/* Building the first frame of a new context, for the switch code selected at
 * build time (switch-x86_64.S, switch-aarch64.S or the ucontext fallback). */
#include "internal.h"

#include <string.h>

#if defined(UVA_CONTEXT_UCONTEXT)

/* makecontext passes int arguments: the pointer travels in two halves. */
static void uc_trampoline(unsigned int hi, unsigned int lo) {
  uintptr_t p = ((uintptr_t)hi << 16 << 16) | (uintptr_t)lo;
  uva__stack_t *s = (uva__stack_t *)p;
  void (*entry)(uva__stack_t *) = (void (*)(uva__stack_t *))s->ctx.sp;
  entry(s);
}

void uva__ctx_make(uva__stack_t *s, void (*entry)(uva__stack_t *s)) {
  uintptr_t p = (uintptr_t)s;

  getcontext(&s->ctx.uc);
  s->ctx.uc.uc_stack.ss_sp = s->lo + 64; /* keep the canary clear */
  s->ctx.uc.uc_stack.ss_size = (size_t)(s->hi - s->lo) - 64;
  s->ctx.uc.uc_link = NULL;
  s->ctx.sp = (void *)(uintptr_t)entry;
  makecontext(&s->ctx.uc, (void (*)(void))uc_trampoline, 2,
              (unsigned int)(p >> 16 >> 16), (unsigned int)(p & 0xffffffffu));
}

void uva__ctx_switch(uva__ctx_t *from, uva__ctx_t *to) {
  swapcontext(&from->uc, &to->uc);
}

#elif defined(__x86_64__)

void uva__ctx_trampoline(void);

void uva__ctx_make(uva__stack_t *s, void (*entry)(uva__stack_t *s)) {
  uintptr_t top = (uintptr_t)s->hi & ~(uintptr_t)15;
  uint64_t *sp = (uint64_t *)(top - 72);

  /* Popped by uva__ctx_switch: r15, r14, r13, r12, rbx, rbp, then the
   * return address; rsp is 16-byte aligned after that ret. */
  memset(sp, 0, 56);
  sp[2] = (uint64_t)(uintptr_t)entry; /* r13 */
  sp[3] = (uint64_t)(uintptr_t)s;     /* r12 */
  sp[6] = (uint64_t)(uintptr_t)uva__ctx_trampoline;
  s->ctx.sp = sp;
}

#elif defined(__aarch64__)

void uva__ctx_trampoline(void);

void uva__ctx_make(uva__stack_t *s, void (*entry)(uva__stack_t *s)) {
  uintptr_t top = (uintptr_t)s->hi & ~(uintptr_t)15;
  uint64_t *sp = (uint64_t *)(top - 160);

  memset(sp, 0, 160);
  sp[0] = (uint64_t)(uintptr_t)s;     /* x19 */
  sp[1] = (uint64_t)(uintptr_t)entry; /* x20 */
  sp[11] = (uint64_t)(uintptr_t)uva__ctx_trampoline; /* x30 */
  s->ctx.sp = sp;
}

#else
#error "no context switch for this architecture: build with UVA_CONTEXT=ucontext"
#endif
