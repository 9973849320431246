/* The sync model (tests/model/sync.c): seeded programs of tasks sharing a
 * Mutex, a Semaphore, a Notify and a watch, checked against their
 * invariants.  Run by tests/test-model.c after model_init(). */
#ifndef UVA_MODEL_SYNC_H
#define UVA_MODEL_SYNC_H

#include <stddef.h>
#include <stdint.h>

typedef struct model_sync_stats {
  uint64_t programs, tasks, ops, wakes, notifies;
} model_sync_stats_t;

/* Runs the program bytes[0..n) decodes to; on a violation prints what
 * failed (with model_label) and aborts.  trace prints each op. */
void model_sync_run(const uint8_t *bytes, size_t n, model_sync_stats_t *st,
                    int trace);

/* uva's allocations not yet freed (model.c's counting allocator). */
long model_alloc_live(void);

#endif
