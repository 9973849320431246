/* Task-local values (task_local!): a short list per started task, kept in
 * its stack record (uva__stack_t.locals) and dropped when the task's body
 * returns (task.c calls uva__task_locals_drop). */
#include "internal.h"

typedef struct uva__local_s {
  struct uva__local_s *next;
  const void *key;
  void *value;
  uva_free_cb dtor;
} uva__local_t;

static uva__stack_t *running_stack(void) {
  uva__loop_t *L = uva__loop_running();
  return L != NULL && L->current != NULL ? uva__task_stack(L->current) : NULL;
}

int uva_task_local_set(const void *key, void *value, uva_free_cb dtor) {
  uva__stack_t *s = running_stack();
  uva__local_t **pp, *l;

  if (key == NULL || s == NULL)
    return UV_EINVAL;
  for (pp = (uva__local_t **)&s->locals; (l = *pp) != NULL; pp = &l->next)
    if (l->key == key)
      break;
  if (l != NULL) {
    void *old = l->value;
    uva_free_cb old_dtor = l->dtor;
    if (value == NULL)
      *pp = l->next;
    else {
      l->value = value;
      l->dtor = dtor;
    }
    if (old != value && old_dtor != NULL)
      old_dtor(old);
    if (value == NULL)
      uva__free(l);
    return 0;
  }
  if (value == NULL)
    return 0;
  l = uva__malloc(sizeof(*l));
  if (l == NULL)
    return UV_ENOMEM;
  l->key = key;
  l->value = value;
  l->dtor = dtor;
  l->next = s->locals; /* newest first: dropped in reverse order */
  s->locals = l;
  return 0;
}

void *uva_task_local_get(const void *key) {
  uva__stack_t *s = running_stack();
  uva__local_t *l;

  if (key == NULL || s == NULL)
    return NULL;
  for (l = s->locals; l != NULL; l = l->next)
    if (l->key == key)
      return l->value;
  return NULL;
}

void uva__task_locals_drop(uva__stack_t *s) {
  uva__local_t *l;

  /* A destructor may set values again: those are dropped too. */
  while ((l = s->locals) != NULL) {
    s->locals = l->next;
    if (l->dtor != NULL)
      l->dtor(l->value);
    uva__free(l);
  }
}
