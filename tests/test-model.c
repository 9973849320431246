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

/* 2: a task's join of two receives got 0:4 and then 0:2: 0:2 had been held
 * by another task's join that timed out and gave it back.  Allowed by the
 * order rule (chan.h); the model had counted holders only when the join was
 * reported, not over the time its receives were out. */
static const uint8_t regression_2[] = {
    0x03, 0xf6, 0x29, 0xfd, 0xf6, 0x00, 0x20, 0xff, 0xff, 0xff, 0xdf, 0xff,
    0xff, 0xff, 0x3d, 0x3d, 0x3d, 0x42, 0x19, 0x01, 0xe8, 0xe8, 0xe8, 0xdd,
    0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xe8, 0xe8, 0xe8, 0xe8, 0xe8,
    0xe8, 0xe8, 0xf1, 0xdd, 0xdd, 0xdd, 0xdd, 0x60, 0xdd, 0xe8, 0xe8, 0xe8,
    0xdd, 0xdd, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10, 0xdd,
    0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
    0xe8, 0xdd, 0xe8, 0xe8, 0xe8, 0xe8, 0x97, 0xe8, 0xe8, 0xf1, 0xdd, 0xff,
    0xff, 0x5d, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x2c, 0x00, 0x00,
    0x2c, 0x03, 0x2c, 0x2c, 0x01, 0xe8, 0xe8, 0xe8, 0xdd, 0xdd, 0xdd, 0xdd,
    0xdd, 0xdd, 0xdd, 0xdd, 0xe8, 0xe8, 0xe8, 0xe8, 0xe8, 0xe8, 0xe8, 0xf1,
    0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xe8, 0xe8, 0x27, 0x17, 0x17, 0x17, 0x17,
    0xe8, 0xdd, 0xdd, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xdd, 0xe8, 0xe8,
    0xe8, 0xe8, 0xe8, 0xe8, 0xe8, 0xf1, 0xdd, 0xdd, 0x3d, 0x74, 0x00, 0x18,
    0x2f, 0x74, 0xd4, 0x2c, 0x6b, 0xb0, 0xd4, 0x60, 0x00, 0x02, 0x3d, 0x3d,
    0x3d, 0x3d, 0x3d, 0x2c, 0xf0, 0xf0, 0xf0, 0xf0, 0x00, 0x2c, 0x2c, 0x2c,
    0xf6, 0x6b, 0x2c, 0x2c, 0x2c, 0x31, 0x03, 0x2c, 0x2c, 0x19, 0x19, 0x7a,
    0xb0, 0x03, 0xf7, 0x00, 0x02, 0xef};

START_TEST(fuzz_regressions) {
  static const struct {
    const uint8_t *bytes;
    size_t n;
  } inputs[] = {{regression_1, sizeof(regression_1)},
                {regression_2, sizeof(regression_2)}};
  model_stats_t st = {0};
  for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
    snprintf(model_label, sizeof(model_label), "fuzz regression %zu", i + 1);
    model_run(inputs[i].bytes, inputs[i].n, &st,
              getenv("UVA_MODEL_TRACE") != NULL);
  }
  ck_assert_uint_eq(st.programs, 2);
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
