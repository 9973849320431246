/* uva's internal declarations for the sync layer (lib/sync/): what its
 * modules share (cancellation tokens that groups and bound futures listen
 * to).  Never installed. */
#ifndef UVA_SYNC_H
#define UVA_SYNC_H

#include "internal.h"

/* ---- cancellation tokens (token.c) -------------------------------------- */

/* Something a token cancels: a uva_token_cancelled waiter, a bound future,
 * a group, a child token.  Linked on the token's circular list in the
 * order of linking (next NULL while not linked). */
typedef struct uva__tlink_s uva__tlink_t;
struct uva__tlink_s {
  uva__tlink_t *next;
  uva__tlink_t *prev;
  void (*cb)(uva__tlink_t *l);   /* the token was cancelled (l unlinked) */
  void (*gone)(uva__tlink_t *l); /* the token was freed (l unlinked); may be
                                    NULL */
};

/* Links l to tok, on the loop's thread.  Returns 0; or 1, linking nothing,
 * when tok's cancel has already been propagated (the caller acts at once). */
int uva__token_listen(uva_token_t *tok, uva__tlink_t *l);
/* Unlinks l if it is linked. */
void uva__token_unlisten(uva__tlink_t *l);
/* The loop state tok belongs to. */
uva__loop_t *uva__token_loop(const uva_token_t *tok);

#endif /* UVA_SYNC_H */
