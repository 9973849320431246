/* For uva_loop_dump (stats.c): lets the platform's DWARF unwinder walk a
 * suspended task's stack.  See stats-unwind-x86_64.S.
 *   void uva__stats_unwind(void *saved_sp, void (*fn)(void *), void *arg);
 * calls fn(arg) on the caller's own stack, but describes its own frame to
 * an unwinder as if it had been called where the task was suspended:
 * uva__ctx_switch (switch-aarch64.S) left x19..x28 at saved_sp + 0..72,
 * x29 and x30 (the resume address) at + 80 and + 88, d8..d15 at
 * + 96..152, and the task's sp is saved_sp + 160 once they are popped, so
 * the canonical frame address is saved_sp + 160 and each register is read
 * from there.  Nothing on the task's stack is written. */
        .text
        .globl  uva__stats_unwind
        .hidden uva__stats_unwind
        .type   uva__stats_unwind, %function
        .p2align 4
uva__stats_unwind:
        .cfi_startproc
        stp     x29, x30, [sp, #-32]!
        .cfi_def_cfa_offset 32
        .cfi_offset x29, -32
        .cfi_offset x30, -24
        mov     x29, sp
        str     x0, [sp, #16]
        .cfi_remember_state
        /* DW_CFA_def_cfa_expression: DW_OP_breg31 (sp) 16, DW_OP_deref,
         * DW_OP_plus_uconst 160 */
        .cfi_escape 0x0f, 0x06, 0x8f, 0x10, 0x06, 0x23, 0xa0, 0x01
        .cfi_offset x19, -160
        .cfi_offset x20, -152
        .cfi_offset x21, -144
        .cfi_offset x22, -136
        .cfi_offset x23, -128
        .cfi_offset x24, -120
        .cfi_offset x25, -112
        .cfi_offset x26, -104
        .cfi_offset x27, -96
        .cfi_offset x28, -88
        .cfi_offset x29, -80
        .cfi_offset x30, -72
        .cfi_offset d8, -64
        .cfi_offset d9, -56
        .cfi_offset d10, -48
        .cfi_offset d11, -40
        .cfi_offset d12, -32
        .cfi_offset d13, -24
        .cfi_offset d14, -16
        .cfi_offset d15, -8
        mov     x9, x1
        mov     x0, x2
        blr     x9
        .globl  uva__stats_unwind_ret
        .hidden uva__stats_unwind_ret
uva__stats_unwind_ret:
        .cfi_restore_state
        ldp     x29, x30, [sp], #32
        .cfi_restore x29
        .cfi_restore x30
        .cfi_def_cfa_offset 0
        ret
        .cfi_endproc
        .size   uva__stats_unwind, .-uva__stats_unwind

        .section .note.GNU-stack,"",%progbits
