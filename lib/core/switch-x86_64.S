/* Context switch for x86-64 (System V): saves the callee-saved registers on
 * the current stack, stores the stack pointer in from->sp and resumes to->sp.
 *   void uva__ctx_switch(uva__ctx_t *from, uva__ctx_t *to);
 * MXCSR and the x87 control word are not switched: tasks share the thread's
 * floating-point environment, as Tokio's tasks and plain callbacks do (a
 * task inherits what the program set on the loop's thread, such as
 * flush-to-zero).  Saving them cost a third of a switch (stmxcsr). */
        .text
        .globl  uva__ctx_switch
        .hidden uva__ctx_switch
        .type   uva__ctx_switch, @function
        .p2align 4
uva__ctx_switch:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, (%rdi)
        movq    (%rsi), %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .size   uva__ctx_switch, .-uva__ctx_switch

/* First code of a new context: r12 holds the argument, r13 the entry. */
        .globl  uva__ctx_trampoline
        .hidden uva__ctx_trampoline
        .type   uva__ctx_trampoline, @function
        .p2align 4
uva__ctx_trampoline:
        movq    %r12, %rdi
        callq   *%r13
        ud2
        .size   uva__ctx_trampoline, .-uva__ctx_trampoline

        .section .note.GNU-stack,"",@progbits
