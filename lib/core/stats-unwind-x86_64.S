/* For uva_loop_dump (stats.c): lets the platform's DWARF unwinder walk a
 * suspended task's stack.
 *   void uva__stats_unwind(void *saved_sp, void (*fn)(void *), void *arg);
 * calls fn(arg) on the caller's own stack, but describes its own frame to
 * an unwinder as if it had been called where the task was suspended: its
 * canonical frame address is saved_sp + 56 (the value of %rsp in the task
 * once uva__ctx_switch has popped what it pushed: r15, r14, r13, r12, rbx,
 * rbp and the return address, in that order from saved_sp up), and the
 * task's callee-saved registers and return address are read from there.
 * So _Unwind_Backtrace called from fn walks fn's frame, this one, and then
 * the task's frames.  Nothing on the task's stack is written. */
        .text
        .globl  uva__stats_unwind
        .hidden uva__stats_unwind
        .type   uva__stats_unwind, @function
        .p2align 4
uva__stats_unwind:
        .cfi_startproc
        subq    $24, %rsp
        .cfi_adjust_cfa_offset 24
        movq    %rdi, 8(%rsp)
        .cfi_remember_state
        /* DW_CFA_def_cfa_expression: DW_OP_breg7 (rsp) 8, DW_OP_deref,
         * DW_OP_plus_uconst 56 */
        .cfi_escape 0x0f, 0x05, 0x77, 0x08, 0x06, 0x23, 0x38
        .cfi_offset %rbp, -16
        .cfi_offset %rbx, -24
        .cfi_offset %r12, -32
        .cfi_offset %r13, -40
        .cfi_offset %r14, -48
        .cfi_offset %r15, -56
        movq    %rdx, %rdi
        callq   *%rsi
        .globl  uva__stats_unwind_ret
        .hidden uva__stats_unwind_ret
uva__stats_unwind_ret:
        .cfi_restore_state
        addq    $24, %rsp
        .cfi_adjust_cfa_offset -24
        ret
        .cfi_endproc
        .size   uva__stats_unwind, .-uva__stats_unwind

        .section .note.GNU-stack,"",@progbits
