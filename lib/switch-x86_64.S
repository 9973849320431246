/* Context switch for x86-64 (System V): saves the callee-saved registers,
 * MXCSR and the x87 control word on the current stack, stores the stack
 * pointer in from->sp and resumes to->sp.
 *   void uva__ctx_switch(uva__ctx_t *from, uva__ctx_t *to);  */
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
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movl    (%rsp), %eax
        movzwl  4(%rsp), %ecx
        movq    %rsp, (%rdi)
        movq    (%rsi), %rsp
        /* Loading MXCSR and the x87 control word is slow, and they rarely
         * differ between contexts: load them only when they do. */
        cmpl    (%rsp), %eax
        jne     1f
2:      cmpw    4(%rsp), %cx
        jne     3f
4:      addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
1:      ldmxcsr (%rsp)
        jmp     2b
3:      fldcw   4(%rsp)
        jmp     4b
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
