/* tokio::sync::Mutex and RwLock for tasks and callbacks of one loop: the
 * batch semaphore of waitq.c with one permit (Mutex) or
 * UVA_RWLOCK_MAX_READERS permits, of which a writer takes all (RwLock),
 * as Tokio builds them.  FIFO, so both are fair. */
#include "internal.h"
#include "sync-internal.h"

struct uva_mutex_s {
  uva__sem_t sem;
};

struct uva_rwlock_s {
  uva__sem_t sem;
};

#define MAXR UVA_RWLOCK_MAX_READERS

/* ---- Mutex -------------------------------------------------------------- */

int uva_mutex_new(uv_loop_t *loop, uva_mutex_t **out) {
  uva_mutex_t *m;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL)
    return UV_EINVAL;
  m = uva__sync_new(loop, sizeof(*m));
  if (m == NULL)
    return UV_ENOMEM;
  uva__sem_init(&m->sem, 1, 1, 0);
  *out = m;
  return 0;
}

uva_future_t *uva_mutex_lock(uva_mutex_t *m) {
  if (m == NULL)
    return uva__failed(NULL, UV_EINVAL);
  return uva__sem_acquire(&m->sem, 1);
}

int uva_mutex_lock_wait(uva_mutex_t *m) {
  if (m == NULL)
    return UV_EINVAL;
  return uva__sem_acquire_wait(&m->sem, 1);
}

int uva_mutex_try_lock(uva_mutex_t *m) {
  if (m == NULL)
    return UV_EINVAL;
  return uva__sem_try_acquire(&m->sem, 1);
}

int uva_mutex_unlock(uva_mutex_t *m) {
  if (m == NULL)
    return UV_EINVAL;
  return uva__sem_release(&m->sem, 1); /* UV_EINVAL when not locked */
}

void uva_mutex_free(uva_mutex_t *m) {
  if (m != NULL && !m->sem.o.dead)
    uva__sem_free(&m->sem);
}

/* ---- RwLock ------------------------------------------------------------- */

int uva_rwlock_new(uv_loop_t *loop, uva_rwlock_t **out) {
  uva_rwlock_t *rw;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL)
    return UV_EINVAL;
  rw = uva__sync_new(loop, sizeof(*rw));
  if (rw == NULL)
    return UV_ENOMEM;
  uva__sem_init(&rw->sem, MAXR, MAXR, 0);
  *out = rw;
  return 0;
}

uva_future_t *uva_rwlock_read(uva_rwlock_t *rw) {
  if (rw == NULL)
    return uva__failed(NULL, UV_EINVAL);
  return uva__sem_acquire(&rw->sem, 1);
}

uva_future_t *uva_rwlock_write(uva_rwlock_t *rw) {
  if (rw == NULL)
    return uva__failed(NULL, UV_EINVAL);
  return uva__sem_acquire(&rw->sem, MAXR);
}

int uva_rwlock_lock_wait(uva_rwlock_t *rw, int write) {
  if (rw == NULL)
    return UV_EINVAL;
  return uva__sem_acquire_wait(&rw->sem, write ? MAXR : 1);
}

int uva_rwlock_try_lock(uva_rwlock_t *rw, int write) {
  if (rw == NULL)
    return UV_EINVAL;
  return uva__sem_try_acquire(&rw->sem, write ? MAXR : 1);
}

int uva_rwlock_read_unlock(uva_rwlock_t *rw) {
  /* no permits out at all (unlocked), or none but a writer's */
  if (rw == NULL || rw->sem.permits == MAXR || rw->sem.permits == 0)
    return UV_EINVAL;
  return uva__sem_release(&rw->sem, 1);
}

int uva_rwlock_write_unlock(uva_rwlock_t *rw) {
  if (rw == NULL || rw->sem.permits != 0)
    return UV_EINVAL;
  return uva__sem_release(&rw->sem, MAXR);
}

void uva_rwlock_free(uva_rwlock_t *rw) {
  if (rw != NULL && !rw->sem.o.dead)
    uva__sem_free(&rw->sem);
}
