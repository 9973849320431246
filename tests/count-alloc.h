/* A counting allocator for uva_replace_allocator, shared by the suites that
 * check that uva freed everything it allocated (badinput, the model test):
 * count_alloc_live() is the number of uva's allocations not yet freed.
 * Thread-safe, as uva_replace_allocator requires. */
#ifndef UVA_COUNT_ALLOC_H
#define UVA_COUNT_ALLOC_H

#include <stdatomic.h>
#include <stdlib.h>
#include <uva.h>

static atomic_long count_alloc_n;

static void *alloc_count_malloc(size_t n) {
  void *p = malloc(n);
  if (p != NULL)
    atomic_fetch_add(&count_alloc_n, 1);
  return p;
}

static void *alloc_count_calloc(size_t n, size_t m) {
  void *p = calloc(n, m);
  if (p != NULL)
    atomic_fetch_add(&count_alloc_n, 1);
  return p;
}

static void *alloc_count_realloc(void *q, size_t n) {
  void *p = realloc(q, n);
  if (q == NULL && p != NULL)
    atomic_fetch_add(&count_alloc_n, 1);
  return p;
}

static void alloc_count_free(void *p) {
  if (p != NULL)
    atomic_fetch_sub(&count_alloc_n, 1);
  free(p);
}

/* Makes uva allocate through the counters.  Returns uva_replace_allocator's
 * result. */
static inline int count_alloc_install(void) {
  return uva_replace_allocator(alloc_count_malloc, alloc_count_realloc, alloc_count_calloc,
                               alloc_count_free);
}

static inline long count_alloc_live(void) {
  return atomic_load(&count_alloc_n);
}

static inline void count_alloc_reset(void) { atomic_store(&count_alloc_n, 0); }

#endif /* UVA_COUNT_ALLOC_H */
