/* A randomized model test of uva: a program of tasks, channels and one
 * optional feeder thread is decoded from a byte string, run on a fresh loop,
 * and checked against a simple model.  Used by tests/test-model.c (bytes
 * from a seeded PRNG) and by tests/model/fuzz.c (bytes from libFuzzer). */
#ifndef UVA_MODEL_H
#define UVA_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
  MODEL_OP_SPAWN,
  MODEL_OP_AWAIT,
  MODEL_OP_CANCEL,
  MODEL_OP_FREE,
  MODEL_OP_DETACH,
  MODEL_OP_SLEEP,
  MODEL_OP_YIELD,
  MODEL_OP_SEND,
  MODEL_OP_RECV,
  MODEL_OP_TRY_SEND,
  MODEL_OP_TRY_RECV,
  MODEL_OP_CLOSE,
  MODEL_OP_SELECT,
  MODEL_OP_JOIN,
  MODEL_OP_CANCEL_LEAF,
  MODEL_OP_FREE_LEAF,
  MODEL_OP_KINDS
};

typedef struct model_stats {
  uint64_t programs;
  uint64_t ops;                       /* executed */
  uint64_t by_kind[MODEL_OP_KINDS];   /* executed, per kind */
  uint64_t tasks;                     /* spawned */
  uint64_t sent_ok;                   /* sends that reported success */
  uint64_t send_failed;               /* sends that reported failure */
  uint64_t send_unknown;              /* outcome hidden by a cancel */
  uint64_t received;                  /* by tasks */
  uint64_t drained;                   /* left in a channel at the end */
  uint64_t thread_msgs;               /* sent by feeder threads */
  uint64_t timeouts;                  /* UV_ETIMEDOUT seen */
  uint64_t task_cancels;              /* UV_ECANCELED seen by a task */
  uint64_t lost_await;   /* a recv that had settled, dropped by an await
                            that reported its task's cancellation */
  uint64_t lost_select;  /* a recv that had settled before a select made
                            it a loser */
  uint64_t lost_join;    /* a recv that had settled inside a join that
                            was cancelled or timed out */
} model_stats_t;

/* Runs the program that bytes[0..n) decodes to and checks it.  On a
 * violation, prints what failed (with model_label) and aborts.  With trace
 * set, prints the program and each op's outcome to stdout.  Call
 * model_init() once before the first run. */
void model_init(void);
void model_run(const uint8_t *bytes, size_t n, model_stats_t *stats,
               int trace);

/* Fills buf[0..n) from seed with splitmix64. */
void model_expand(uint64_t seed, uint8_t *buf, size_t n);

/* Named in failure messages, e.g. "seed 42". */
extern char model_label[96];

/* One line: programs, tasks, ops, messages. */
void model_print_stats(FILE *out, const model_stats_t *s);

#endif
