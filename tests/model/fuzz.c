/* The model test as a libFuzzer target: each input is decoded into a program
 * and checked as by tests/test-model.c.  Built with -DUVA_FUZZ=ON by clang
 * (tests/model/fuzz runs it).  UVA_MODEL_TRACE=1 prints the program and its
 * ops, e.g. when replaying a crash file:
 *   UVA_MODEL_TRACE=1 build/fuzz/tests/uva-fuzz-model crash-<sha1> */
#include "model.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  static model_stats_t stats;
  if (!ready) {
    model_init(); /* before any other uva call */
    ready = 1;
  }
  model_run(data, size, &stats, getenv("UVA_MODEL_TRACE") != NULL);
  if (stats.programs % 100000 == 0)
    model_print_stats(stderr, &stats);
  return 0;
}
