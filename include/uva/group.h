/** @file
 * uva task groups (Tokio's JoinSet and TaskTracker, libdill's bundles).
 * Included by uva.h.  Every call is made on the loop's thread.
 *
 * A group owns the futures spawned or added into it (tasks, or any future):
 * it is their consumer.  uva_group_join_next hands out the result of the
 * next one to finish, in the order they finished; uva_group_wait waits
 * until none is running; uva_group_cancel cancels every one; freeing the
 * group cancels them and lets them finish their clean-up on the loop, so
 * that no task outlives its group unless uva_group_detach_all let it go.
 *
 * Exactly once: a finished member's result stays in the group until a
 * join_next's result is taken (uva_await returns it, a then callback runs,
 * a select or join hands it on).  A join_next that is cancelled, freed,
 * times out or loses a select before that leaves the result in the group,
 * at the front, for the next join_next. */
#ifndef UVA_GROUP_H
#define UVA_GROUP_H

#include "uva/base.h"
#include "uva/task.h"
#include "uva/token.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A task group. */
typedef struct uva_group_s uva_group_t;

/** Makes an empty group on loop and stores it in *out.  Returns 0;
 *  UV_EINVAL if loop or out is NULL (*out is then NULL when out is not
 *  NULL); UV_ENOMEM without memory.  Freed with uva_group_free. */
UVA_EXTERN int uva_group_new(uv_loop_t *loop, uva_group_t **out);

/** Spawns fn(arg) as a task (uva_spawn_ex; opts may be NULL) owned by g
 *  and stores its id (1, 2, ... in the order of joining the group) in *id
 *  when id is not NULL.  Returns 0; UV_EINVAL if g or fn is NULL or opts is
 *  invalid (as uva_spawn_ex); UV_ENOMEM without memory (nothing is
 *  spawned).  A task spawned into a group whose token was cancelled
 *  (uva_group_bind_token) is cancelled at once: it never runs. */
UVA_EXTERN int uva_group_spawn(uva_group_t *g, uva_task_fn fn, void *arg,
                               const uva_spawn_opts_t *opts, uint64_t *id);

/** Consumes f and makes g its consumer, as uva_group_spawn does for a task
 *  (a lazy f starts now).  Stores its id in *id (id may be NULL).  Returns
 *  0; UV_EINVAL if g or f is NULL (f is then left alone), f already has a
 *  consumer (left alone) or belongs to another loop (f is freed);
 *  UV_ENOMEM without memory (f is freed). */
UVA_EXTERN int uva_group_add(uva_group_t *g, uva_future_t *f, uint64_t *id);

/** Returns a lazy future of the next member to finish (JoinSet's
 *  join_next): it settles with value.u64 = the member's id, and when its
 *  result is taken the member's status, value and free function go to *out
 *  (the caller then owns the value; out must stay valid until then or until
 *  the future is freed).  Members that finished before it started are
 *  handed out first, oldest first; waiting join_nexts are served in the
 *  order they began to wait.  Settles with UV_EOF when the group has
 *  nothing to hand out and nothing running (JoinSet's None), UV_ECANCELED
 *  when the group is freed while it waits.  Cancel safe: see above.  Fails
 *  with UV_EINVAL if g or out is NULL, UV_ENOMEM without memory. */
UVA_EXTERN uva_future_t *uva_group_join_next(uva_group_t *g,
                                             uva_result_t *out);

/** Returns a future that settles with 0 once no member of g is running
 *  (TaskTracker's wait; at once if none is).  Results of finished members
 *  stay in the group for uva_group_join_next.  A wait still pending when
 *  the group is freed settles once the cancelled members have finished.
 *  Cancel safe (it takes nothing).  Fails with UV_EINVAL if g is NULL,
 *  UV_ENOMEM without memory. */
UVA_EXTERN uva_future_t *uva_group_wait(uva_group_t *g);

/** Cancels every running member (JoinSet's abort_all): a task sees
 *  UV_ECANCELED at its pending or next await and may clean up; each
 *  member's result (usually UV_ECANCELED) then comes out of
 *  uva_group_join_next as usual.  Members added later are not affected.
 *  NULL is allowed. */
UVA_EXTERN void uva_group_cancel(uva_group_t *g);

/** Returns how many members g holds: running, and finished but not yet
 *  handed out by a join_next whose result was taken (JoinSet's len).  0 for
 *  NULL. */
UVA_EXTERN size_t uva_group_len(const uva_group_t *g);

/** Returns how many members of g are still running.  0 for NULL. */
UVA_EXTERN size_t uva_group_running(const uva_group_t *g);

/** Binds g to tok (replacing an earlier binding; tok NULL unbinds): when
 *  tok is cancelled, g is cancelled as by uva_group_cancel, and members
 *  added after that are cancelled as they join.  Binding to a cancelled
 *  token cancels g at once.  Freeing tok first unbinds g.  Returns 0;
 *  UV_EINVAL if g is NULL or tok belongs to another loop. */
UVA_EXTERN int uva_group_bind_token(uva_group_t *g, uva_token_t *tok);

/** Lets every running member go on without the group (JoinSet's
 *  detach_all): each runs on and its result is freed when it finishes.
 *  Finished members stay.  NULL is allowed. */
UVA_EXTERN void uva_group_detach_all(uva_group_t *g);

/** Frees g: its running members are cancelled and finish their clean-up on
 *  the loop (the group's memory goes when the last has finished and no
 *  future of it is left); results not handed out are dropped untaken
 *  (freed, or given back where they came from); waiting join_nexts settle
 *  with UV_ECANCELED.  uva_loop_shutdown and uva_block_on run that
 *  clean-up like any other work.  NULL is allowed. */
UVA_EXTERN void uva_group_free(uva_group_t *g);

#ifdef __cplusplus
}
#endif
#endif /* UVA_GROUP_H */
