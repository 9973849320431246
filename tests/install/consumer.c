/* A program built against an installed uva (find_package, pkg-config) or a
 * uva added with add_subdirectory. */
#include <stdio.h>
#include <uva.h>

static int task(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uva_value_t v;
  int err = uva_await(uva_ready_u64(loop, 41), &v);
  r->value.u64 = v.u64 + 1;
  return err;
}

int main(void) {
  uv_loop_t loop;
  uva_value_t v;
  uv_loop_init(&loop);
  if (uva_block_on(&loop, uva_spawn(&loop, task, &loop), &v) != 0)
    return 1;
  printf("uva %s: %llu\n", uva_version_string(), (unsigned long long)v.u64);
  return uv_loop_close(&loop) != 0;
}
