/** @file
 * uva task-local values (tokio's task_local!).  Included by uva.h.
 *
 * A task may keep pointers of its own under keys: any address that is
 * unique to the purpose (a static variable's, say).  Each value has a
 * destructor that runs when the task's body has returned (also when the
 * task was cancelled, or its join future freed: a started task always
 * returns), on the task's stack, in the reverse order of first setting. */
#ifndef UVA_TASK_LOCAL_H
#define UVA_TASK_LOCAL_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Inside a task: sets the running task's value for key to value, with
 *  destructor dtor (may be NULL), replacing an earlier value (whose
 *  destructor runs now, unless it is the same pointer).  value NULL removes
 *  the entry.  Returns 0; UV_EINVAL if key is NULL or outside a task;
 *  UV_ENOMEM without memory (value stays the caller's: dtor is not
 *  called). */
UVA_EXTERN int uva_task_local_set(const void *key, void *value,
                                  uva_free_cb dtor);

/** Inside a task: returns the running task's value for key, or NULL (none,
 *  key NULL, or outside a task). */
UVA_EXTERN void *uva_task_local_get(const void *key);

#ifdef __cplusplus
}
#endif
#endif /* UVA_TASK_LOCAL_H */
