/* Context switch for AArch64 (AAPCS64): saves x19-x30 and d8-d15 on the
 * current stack, stores sp in from->sp and resumes to->sp.  FPCR is not
 * switched: tasks share the thread's floating-point environment (see
 * switch-x86_64.S).
 *   void uva__ctx_switch(uva__ctx_t *from, uva__ctx_t *to);  */
        .text
        .globl  uva__ctx_switch
        .hidden uva__ctx_switch
        .type   uva__ctx_switch, %function
        .p2align 4
uva__ctx_switch:
        sub     sp, sp, #160
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mov     x9, sp
        str     x9, [x0]
        ldr     x9, [x1]
        mov     sp, x9
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #160
        ret
        .size   uva__ctx_switch, .-uva__ctx_switch

/* First code of a new context: x19 holds the argument, x20 the entry. */
        .globl  uva__ctx_trampoline
        .hidden uva__ctx_trampoline
        .type   uva__ctx_trampoline, %function
        .p2align 4
uva__ctx_trampoline:
        mov     x0, x19
        blr     x20
        brk     #0
        .size   uva__ctx_trampoline, .-uva__ctx_trampoline

        .section .note.GNU-stack,"",%progbits
