/* The randomized model test (tests/model/model.c): a few thousand seeded
 * programs of tasks, channels and a feeder thread, each checked against a
 * simple model.  A failure names its seed; UVA_MODEL_SEED=<n> replays that
 * seed alone and prints the program and each op's outcome.
 * UVA_MODEL_START=<n> and UVA_MODEL_COUNT=<n> choose the seeds of a soak
 * (tests/model/soak). */
#include "test-util.h"

#include "model/model.h"
#include "model/sync.h"

#include <inttypes.h>

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *s = getenv(name);
  return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : dflt;
}

static void run_seed(uint64_t seed, model_stats_t *st, int trace) {
  uint8_t bytes[512];
  model_expand(seed, bytes, sizeof(bytes));
  snprintf(model_label, sizeof(model_label),
           "seed %" PRIu64 "; replay: UVA_MODEL_SEED=%" PRIu64, seed, seed);
  model_run(bytes, sizeof(bytes), st, trace);
}

START_TEST(programs) {
  model_stats_t st = {0};
  if (getenv("UVA_MODEL_SEED") != NULL) {
    run_seed(env_u64("UVA_MODEL_SEED", 0), &st, 1);
  } else {
    uint64_t dflt = getenv("UVA_TEST_SMALL") ? 500 : 3000;
    uint64_t start = env_u64("UVA_MODEL_START", 1);
    uint64_t count = env_u64("UVA_MODEL_COUNT", dflt);
    for (uint64_t s = start; s < start + count; s++)
      run_seed(s, &st, 0);
  }
  model_print_stats(stdout, &st);
  fflush(stdout);
}
END_TEST

/* Inputs the fuzzer (tests/model/fuzz) found failing, replayed every run.
 * 1: select {send A, recv R, send C} with all three waiting on a full
 * channel; room came, the pump moved A in and settled it, the select then
 * cancelled R, and that cancel pumped again, moving C in before the select
 * got to cancel it: two sends of one select took effect. */
static const uint8_t regression_1[] = {
    0x5d, 0x5d, 0x82, 0xf6, 0x0f, 0x00, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xbf, 0xbf, 0xbf, 0xbf, 0xbb, 0xbb, 0xbb,
    0xbb, 0xbb, 0xbb, 0xbb, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0x01, 0x00, 0x00,
    0x08, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbb,
    0xbb, 0xbb, 0xbf, 0x31, 0x00, 0x02, 0x10, 0x00};

START_TEST(fuzz_regressions) {
  model_stats_t st = {0};
  snprintf(model_label, sizeof(model_label), "fuzz regression 1");
  model_run(regression_1, sizeof(regression_1), &st,
            getenv("UVA_MODEL_TRACE") != NULL);
  ck_assert_uint_eq(st.programs, 1);
}
END_TEST

/* The sync model (tests/model/sync.c): Mutex, Semaphore, Notify, watch. */
static void run_sync_seed(uint64_t seed, model_sync_stats_t *st, int trace) {
  uint8_t bytes[256];
  model_expand(seed ^ 0x5EEDull, bytes, sizeof(bytes));
  snprintf(model_label, sizeof(model_label),
           "sync seed %" PRIu64 "; replay: UVA_MODEL_SEED=%" PRIu64, seed,
           seed);
  model_sync_run(bytes, sizeof(bytes), st, trace);
}

START_TEST(sync_programs) {
  model_sync_stats_t st = {0};
  if (getenv("UVA_MODEL_SEED") != NULL) {
    run_sync_seed(env_u64("UVA_MODEL_SEED", 0), &st, 1);
  } else {
    uint64_t dflt = getenv("UVA_TEST_SMALL") ? 300 : 1000;
    uint64_t start = env_u64("UVA_MODEL_START", 1);
    uint64_t count = env_u64("UVA_MODEL_COUNT", dflt);
    for (uint64_t s = start; s < start + count; s++)
      run_sync_seed(s, &st, 0);
  }
  printf("sync model: %" PRIu64 " programs, %" PRIu64 " tasks, %" PRIu64
         " ops, %" PRIu64 " wakes of %" PRIu64 " notify_one\n",
         st.programs, st.tasks, st.ops, st.wakes, st.notifies);
  fflush(stdout);
}
END_TEST

static Suite *suite(void) {
  /* Two cases, so that ctest runs them side by side (CK_RUN_CASE). */
  Suite *s = suite_create("model");
  TCase *tc = tcase_create("channels");
  tcase_set_timeout(tc, 3600);
  tcase_add_test(tc, fuzz_regressions);
  tcase_add_test(tc, programs);
  suite_add_tcase(s, tc);
  tc = tcase_create("sync");
  tcase_set_timeout(tc, 3600);
  tcase_add_test(tc, sync_programs);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  model_init(); /* before any other uva call */
  return test_run_suite(suite());
}
