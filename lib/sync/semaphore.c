/* tokio::sync::Semaphore: the batch semaphore of waitq.c, with releases
 * from any thread. */
#include "internal.h"
#include "sync-internal.h"

struct uva_semaphore_s {
  uva__sem_t sem;
};

int uva_semaphore_new(uv_loop_t *loop, size_t permits, uva_semaphore_t **out) {
  uva_semaphore_t *s;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || permits > UVA_SEMAPHORE_MAX)
    return UV_EINVAL;
  s = uva__sync_new(loop, sizeof(*s));
  if (s == NULL)
    return UV_ENOMEM;
  uva__sem_init(&s->sem, permits, UVA_SEMAPHORE_MAX, 1);
  *out = s;
  return 0;
}

uva_future_t *uva_semaphore_acquire(uva_semaphore_t *s, size_t n) {
  if (s == NULL || n == 0 || n > UVA_SEMAPHORE_MAX)
    return uva__failed(s != NULL ? s->sem.o.L : NULL, UV_EINVAL);
  return uva__sem_acquire(&s->sem, n);
}

int uva_semaphore_acquire_wait(uva_semaphore_t *s, size_t n) {
  if (s == NULL || n == 0 || n > UVA_SEMAPHORE_MAX)
    return UV_EINVAL;
  return uva__sem_acquire_wait(&s->sem, n);
}

int uva_semaphore_try_acquire(uva_semaphore_t *s, size_t n) {
  if (s == NULL || n == 0 || n > UVA_SEMAPHORE_MAX)
    return UV_EINVAL;
  return uva__sem_try_acquire(&s->sem, n);
}

int uva_semaphore_release(uva_semaphore_t *s, size_t n) {
  if (s == NULL)
    return UV_EINVAL;
  if (n == 0)
    return 0;
  if (!uva__on_loop(s->sem.o.L)) {
    uva__sem_release_remote(&s->sem, n);
    return 0;
  }
  return uva__sem_release(&s->sem, n);
}

size_t uva_semaphore_available(uva_semaphore_t *s) {
  return s != NULL ? uva__sem_available(&s->sem) : 0;
}

int uva_semaphore_close(uva_semaphore_t *s) {
  if (s == NULL)
    return UV_EINVAL;
  if (s->sem.closed)
    return UV_EPIPE;
  uva__sem_close(&s->sem);
  return 0;
}

void uva_semaphore_free(uva_semaphore_t *s) {
  if (s != NULL && !s->sem.o.dead)
    uva__sem_free(&s->sem);
}
