/* The model test's generator, interpreter and model (see model.h).
 *
 * A program: 1..3 channels of uint64_t (capacity 1..4), up to 8 tasks in a
 * spawn tree (task 0 is the root, run by uva_block_on), each with up to 12
 * ops, and at most one plain thread feeding a channel with
 * uva_chan_send_blocking.  Every message encodes (sender, channel, sequence
 * number).  Termination by construction: a task only awaits its own
 * children, the root never waits without a timeout, and the root closes every
 * channel when its ops are done, so whatever still waits on a channel then
 * finishes.
 *
 * The model: a send's outcome is what it reported (OK, FAIL, or UNKNOWN when
 * a cancel hid it); a receive's out buffer says whether it took a message.
 * At the end every OK message was received exactly once (by a task, or left
 * in its channel), no FAIL message was, nothing twice; each receiver saw each
 * sender's messages in order; a receive whose result was dropped (a
 * cancelled await, a losing select, a cancelled or timed-out join) took
 * nothing; every join future reported at most once, with
 * its task's value or UV_ECANCELED exactly when it was cancelled; the loop
 * closes and uva's allocations are all freed. */
#include "model.h"
#include "sync.h"
#include "../count-alloc.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uva.h>

#define M_TASKS 8
#define M_CHANS 3
#define M_OPS 12
#define M_SUB 3
#define M_KIDS 8
#define M_SENDERS (M_TASKS + 1) /* the tasks and the thread */
#define M_THREAD M_TASKS
#define M_SEQ (M_OPS * M_SUB + 24)
#define MAGIC(id) (0xC0DE00u + (unsigned)(id))
#define READY_VALUE 77u

char model_label[96] = "bytes";

/* ---- program ------------------------------------------------------------ */

enum { SUB_SLEEP, SUB_RECV, SUB_SEND, SUB_CHILD, SUB_READY, SUB_KINDS };
static const char *sub_names[] = {"sleep", "recv", "send", "child", "ready"};
static const char *op_names[] = {
    "spawn", "await",    "cancel",    "free",   "detach", "sleep",
    "yield", "send",     "recv",      "try_send", "try_recv", "close",
    "select", "join",    "cancel_leaf", "free_leaf"};

typedef struct {
  uint8_t kind, arg, ms;
} sub_t;

typedef struct {
  uint8_t kind, arg, ms;
  uint8_t tmo; /* 0: none; else a uva_timeout of tmo - 1 ms */
  uint8_t nsub;
  sub_t sub[M_SUB];
} op_t;

/* Ops weighted by how often they are drawn. */
static const uint8_t op_table[] = {
    MODEL_OP_SPAWN,    MODEL_OP_SPAWN,     MODEL_OP_SPAWN,  MODEL_OP_AWAIT,
    MODEL_OP_AWAIT,    MODEL_OP_CANCEL,    MODEL_OP_FREE,   MODEL_OP_DETACH,
    MODEL_OP_SLEEP,    MODEL_OP_YIELD,     MODEL_OP_YIELD,  MODEL_OP_SEND,
    MODEL_OP_SEND,     MODEL_OP_SEND,      MODEL_OP_RECV,   MODEL_OP_RECV,
    MODEL_OP_RECV,     MODEL_OP_TRY_SEND,  MODEL_OP_TRY_SEND, MODEL_OP_TRY_RECV,
    MODEL_OP_TRY_RECV, MODEL_OP_CLOSE,     MODEL_OP_SELECT, MODEL_OP_SELECT,
    MODEL_OP_JOIN,     MODEL_OP_JOIN,      MODEL_OP_CANCEL_LEAF,
    MODEL_OP_FREE_LEAF};

/* ---- state -------------------------------------------------------------- */

enum { OUT_NONE, OUT_PENDING, OUT_OK, OUT_FAIL, OUT_UNKNOWN };

typedef struct mtask {
  int id, parent, nops, decoded;
  op_t ops[M_OPS];
  /* run time */
  int spawned, started, done;
  int may_cancel;  /* its join future was cancelled, freed or handed to a
                      combinator that may cancel it */
  int cancel_ok;   /* uva_future_cancel on it returned 0 */
  int cancel_seen; /* UV_ECANCELED definitely from its own cancellation */
  int reported;    /* its join future's outcome was observed */
  int awaited_by;  /* the task whose await holds its join future, or -1 */
  uva_future_t *kid[M_KIDS];
  int kid_id[M_KIDS];
  int nkids;
  uint64_t slot[M_OPS][M_SUB];  /* receive buffers, never reused */
  uint8_t slot_rec[M_OPS][M_SUB]; /* its message was recorded */
  uint32_t last[M_CHANS][M_SENDERS]; /* per-sender order check */
  /* took a message while another receive on the channel could hold an
   * older one (see msg_got) */
  uint8_t overtook[M_CHANS][M_SENDERS];
} mtask_t;

static struct {
  uv_loop_t loop;
  uva_chan_t *ch[M_CHANS];
  int nch, cap[M_CHANS], closed[M_CHANS];
  int holders[M_CHANS]; /* receives in a combinator, handed over and not
                           reported yet: each may hold (reserve) a message */
  uint32_t hold_epoch[M_CHANS]; /* holders ever handed over */
  int recv_overlap; /* the receive being reported may have taken its message
                       while another receive held an older one */
  int ntasks, ntasks_max;
  mtask_t t[M_TASKS];
  /* messages */
  uint32_t issued[M_SENDERS];
  uint8_t outcome[M_SENDERS][M_SEQ + 1];
  uint8_t mchan[M_SENDERS][M_SEQ + 1];
  uint8_t rcount[M_SENDERS][M_SEQ + 1];
  uint32_t gmax[M_CHANS][M_SENDERS];
  uint32_t dmax[M_CHANS][M_SENDERS]; /* the final drain's last, per sender */
  /* the feeder thread */
  int th_on, th_ch, th_n;
  uv_thread_t th;
  uint8_t th_out[M_SEQ + 1];
  /* context for messages */
  int cur_task, cur_op, trace;
  int amb; /* where an ambiguous outcome comes from: await, select, join */
  model_stats_t *st;
} M;

/* ---- failures and tracing ----------------------------------------------- */

static void model_fail(int line, const char *cond, const char *fmt, ...) {
  va_list ap;
  fflush(stdout);
  fprintf(stderr, "uva model: FAIL (%s) task %d op %d: ", model_label,
          M.cur_task, M.cur_op);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " [%s, model.c:%d]\n", cond, line);
  fflush(stderr);
  abort();
}

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond))                                                               \
      model_fail(__LINE__, #cond, __VA_ARGS__);                                \
  } while (0)

#define TRACE(...)                                                             \
  do {                                                                         \
    if (M.trace)                                                               \
      printf(__VA_ARGS__);                                                     \
  } while (0)

static const char *ename(int st) {
  return st == 0 ? "0" : st == UVA_PENDING ? "PENDING" : uv_err_name(st);
}

/* ---- allocation counting ------------------------------------------------ */

void model_init(void) {
  if (count_alloc_install() != 0)
    abort();
}

long model_alloc_live(void) { return count_alloc_live(); } /* sync.c */

/* ---- decoding ----------------------------------------------------------- */

typedef struct {
  const uint8_t *p;
  size_t n, i;
} rd_t;

static unsigned rd(rd_t *r, unsigned mod) {
  unsigned b = r->i < r->n ? r->p[r->i++] : 0;
  return mod ? b % mod : b;
}

/* Mostly 0 ms, sometimes 1..3: the model never depends on timing. */
static uint8_t rd_ms(rd_t *r) {
  unsigned b = rd(r, 0);
  return (b & 3) ? 0 : (uint8_t)(1 + (b >> 2) % 3);
}

static void decode_sub(rd_t *r, sub_t *s, unsigned kinds) {
  s->kind = (uint8_t)rd(r, kinds);
  s->arg = (uint8_t)rd(r, s->kind == SUB_CHILD ? M_KIDS : (unsigned)M.nch);
  s->ms = rd_ms(r);
}

static void decode_task(rd_t *r, mtask_t *t) {
  t->nops = (int)rd(r, M_OPS + 1);
  for (int i = 0; i < t->nops; i++) {
    op_t *o = &t->ops[i];
    memset(o, 0, sizeof(*o));
    o->kind = op_table[rd(r, sizeof(op_table))];
    o->ms = rd_ms(r);
    switch (o->kind) {
    case MODEL_OP_SPAWN:
      if (M.ntasks >= M.ntasks_max) {
        o->kind = MODEL_OP_YIELD;
        break;
      }
      o->arg = (uint8_t)M.ntasks;
      M.t[M.ntasks].parent = t->id;
      M.ntasks++;
      break;
    case MODEL_OP_AWAIT:
    case MODEL_OP_CANCEL:
    case MODEL_OP_FREE:
    case MODEL_OP_DETACH:
      o->arg = (uint8_t)rd(r, M_KIDS);
      break;
    case MODEL_OP_SEND:
    case MODEL_OP_RECV:
    case MODEL_OP_TRY_SEND:
    case MODEL_OP_TRY_RECV:
    case MODEL_OP_CLOSE:
      o->arg = (uint8_t)rd(r, (unsigned)M.nch);
      break;
    case MODEL_OP_SELECT:
    case MODEL_OP_JOIN:
      o->nsub = (uint8_t)(2 + rd(r, M_SUB - 1));
      for (int k = 0; k < o->nsub; k++)
        decode_sub(r, &o->sub[k], SUB_KINDS);
      break;
    case MODEL_OP_CANCEL_LEAF:
    case MODEL_OP_FREE_LEAF:
      o->nsub = 1;
      decode_sub(r, &o->sub[0], 3); /* sleep, recv or send */
      break;
    }
    /* Waits get a timeout now and then; the root's always do, so that it
     * reaches its end and closes the channels. */
    if (o->kind == MODEL_OP_AWAIT || o->kind == MODEL_OP_SEND ||
        o->kind == MODEL_OP_RECV || o->kind == MODEL_OP_SELECT ||
        o->kind == MODEL_OP_JOIN) {
      unsigned b = rd(r, 0);
      if (t->id == 0 || b % 3 == 0)
        o->tmo = (uint8_t)(1 + (b >> 2) % 4);
    }
  }
  t->decoded = 1;
}

static void print_op(const op_t *o) {
  printf("%s", op_names[o->kind]);
  switch (o->kind) {
  case MODEL_OP_SPAWN:
    printf(" task%d", o->arg);
    break;
  case MODEL_OP_AWAIT:
  case MODEL_OP_CANCEL:
  case MODEL_OP_FREE:
  case MODEL_OP_DETACH:
    printf(" kid%d", o->arg);
    break;
  case MODEL_OP_SLEEP:
    printf(" %dms", o->ms);
    break;
  case MODEL_OP_SEND:
  case MODEL_OP_RECV:
  case MODEL_OP_TRY_SEND:
  case MODEL_OP_TRY_RECV:
  case MODEL_OP_CLOSE:
    printf(" ch%d", o->arg);
    break;
  default:
    break;
  }
  for (int k = 0; k < o->nsub; k++)
    printf("%s%s %d", k ? ", " : " {", sub_names[o->sub[k].kind],
           o->sub[k].kind == SUB_SLEEP ? o->sub[k].ms : o->sub[k].arg);
  if (o->nsub)
    printf("}");
  if (o->tmo)
    printf(" timeout %dms", o->tmo - 1);
}

static void decode(const uint8_t *bytes, size_t n) {
  rd_t r = {bytes, n, 0};
  M.nch = 1 + (int)rd(&r, M_CHANS);
  for (int c = 0; c < M.nch; c++)
    M.cap[c] = 1 + (int)rd(&r, 4);
  if (rd(&r, 3) == 0) {
    M.th_on = 1;
    M.th_ch = (int)rd(&r, (unsigned)M.nch);
    M.th_n = (int)rd(&r, 17);
  }
  M.ntasks_max = 1 + (int)rd(&r, M_TASKS);
  M.ntasks = 1;
  for (int i = 0; i < M_TASKS; i++) {
    M.t[i].id = i;
    M.t[i].awaited_by = -1;
    if (i > 0)
      M.t[i].parent = -1;
  }
  for (int i = 0; i < M.ntasks; i++)
    decode_task(&r, &M.t[i]);
  if (M.trace) {
    printf("program (%s): %d channel(s), capacities", model_label, M.nch);
    for (int c = 0; c < M.nch; c++)
      printf(" %d", M.cap[c]);
    if (M.th_on)
      printf("; a thread sends %d to ch%d", M.th_n, M.th_ch);
    printf("\n");
    for (int i = 0; i < M.ntasks; i++) {
      printf("  task%d (parent %d):", i, M.t[i].parent);
      for (int k = 0; k < M.t[i].nops; k++) {
        printf(" [%d] ", k);
        print_op(&M.t[i].ops[k]);
        printf(";");
      }
      printf("\n");
    }
  }
}

/* ---- messages ----------------------------------------------------------- */

static uint64_t msg_make(int sender, int c) {
  uint32_t k = ++M.issued[sender];
  CHECK(k <= M_SEQ, "too many sends by %d", sender);
  M.mchan[sender][k] = (uint8_t)c;
  M.outcome[sender][k] = OUT_PENDING;
  return ((uint64_t)(sender + 1) << 40) | ((uint64_t)c << 32) | k;
}

static void msg_outcome(uint64_t v, int out) {
  int s = (int)(v >> 40) - 1;
  uint32_t k = (uint32_t)v;
  M.outcome[s][k] = (uint8_t)out;
  if (out == OUT_OK)
    M.st->sent_ok++;
  else if (out == OUT_FAIL)
    M.st->send_failed++;
  else
    M.st->send_unknown++;
}

/* A receiver (a task, or M_TASKS for the final drain) took v from c. */
static void msg_got(int rid, uint64_t v, int c) {
  int s = (int)(v >> 40) - 1;
  int vc = (int)((v >> 32) & 0xff);
  uint32_t k = (uint32_t)v;
  CHECK(s >= 0 && s < M_SENDERS && k >= 1 && k <= M.issued[s],
        "ch%d delivered a message nobody sent: %#llx", c,
        (unsigned long long)v);
  CHECK(vc == c && M.mchan[s][k] == c,
        "message %d:%u sent to ch%d came out of ch%d", s, k, M.mchan[s][k], c);
  CHECK(M.rcount[s][k] == 0, "message %d:%u received twice", s, k);
  M.rcount[s][k]++;
  if (rid < M_TASKS) {
    /* A receive whose consumer may still drop it (in a join, select or
     * timeout) holds its message until its result is taken; another
     * receive meanwhile takes the next one, and a dropped holder gives its
     * message back to the front of the channel.  So a task may get a
     * message older than one it already has only if it took that one
     * while such a holder existed (chan.h states this order rule). */
    CHECK(k > M.t[rid].last[c][s] || M.t[rid].overtook[c][s],
          "task%d got %d:%u from ch%d after %d:%u (out of order)", rid, s, k,
          c, s, M.t[rid].last[c][s]);
    if (M.holders[c] > 0 || M.recv_overlap)
      M.t[rid].overtook[c][s] = 1;
    if (k > M.t[rid].last[c][s])
      M.t[rid].last[c][s] = k;
    M.st->received++;
  } else {
    /* The final drain takes what is left in channel order.  A message may
     * be older than one another task took: a receive that had reserved it
     * was dropped untaken while another receive took the next one, and it
     * went back to the front of the channel.  Among themselves, what is
     * left is in order. */
    CHECK(k > M.dmax[c][s],
          "drained %d:%u from ch%d after %d:%u was drained (out of order)", s,
          k, c, s, M.dmax[c][s]);
    M.dmax[c][s] = k;
    M.st->drained++;
  }
  if (k > M.gmax[c][s])
    M.gmax[c][s] = k;
  TRACE("    task%d got %d:%u from ch%d\n", rid, s, k, c);
}

/* ---- sub-futures --------------------------------------------------------- */

enum { REP_KNOWN, REP_CANCELLED, REP_AMBIG };

typedef struct {
  uint8_t kind, ch;
  int kid;       /* task id, for SUB_CHILD */
  uint64_t msg;  /* for SUB_SEND */
  uint64_t *out; /* for SUB_RECV */
  uint8_t *rec;
  uint8_t held;  /* counted in M.holders */
  uint8_t comb;  /* was handed to a combinator (held at some point) */
  uint8_t busy0; /* another holder existed when it was handed over */
  uint8_t nown;  /* receives on its channel in the same combinator */
  uint32_t epoch0; /* M.hold_epoch of its channel before the hand-over */
} live_t;

/* Counts the receives among l[0..n), handed to a combinator, as holders of
 * their channels (on), or stops counting them (before they are reported,
 * so that a receive is not its own holder). */
static void hold_recvs(live_t *l, int n, int on) {
  for (int k = 0; k < n && on; k++)
    if (l[k].kind == SUB_RECV) {
      l[k].epoch0 = M.hold_epoch[l[k].ch];
      l[k].busy0 = M.holders[l[k].ch] > 0;
      for (int j = 0; j < n; j++)
        l[k].nown += l[j].kind == SUB_RECV && l[j].ch == l[k].ch;
    }
  for (int k = 0; k < n; k++)
    if (l[k].kind == SUB_RECV && on) {
      M.holders[l[k].ch]++;
      M.hold_epoch[l[k].ch]++;
      l[k].held = l[k].comb = 1;
    } else if (l[k].held && !on) {
      M.holders[l[k].ch]--;
      l[k].held = 0;
    }
}

/* Whether the combinator receive l, being reported, may have taken its
 * message while another receive held an older one: some other holder
 * existed at some moment between its hand-over and now. */
static int recv_overlapped(const live_t *l) {
  return l->comb && (l->busy0 || M.holders[l->ch] > 0 ||
                     M.hold_epoch[l->ch] - l->epoch0 > l->nown);
}

/* Finds the slot of the held kid that arg names, or -1. */
static int kid_slot(mtask_t *t, int arg) {
  int n = 0;
  for (int i = 0; i < t->nkids; i++)
    if (t->kid[i] != NULL)
      n++;
  if (n == 0)
    return -1;
  arg %= n;
  for (int i = 0; i < t->nkids; i++)
    if (t->kid[i] != NULL && arg-- == 0)
      return i;
  return -1;
}

/* Takes a held kid's join future out of t. */
static uva_future_t *kid_take(mtask_t *t, int slot, int *id) {
  uva_future_t *f = t->kid[slot];
  t->kid[slot] = NULL;
  *id = t->kid_id[slot];
  return f;
}

static uva_future_t *sub_make(mtask_t *t, int opi, int k, const sub_t *s,
                              live_t *l, int may_cancel) {
  memset(l, 0, sizeof(*l));
  l->kind = s->kind;
  switch (s->kind) {
  case SUB_SLEEP:
    return uva_sleep(&M.loop, s->ms);
  case SUB_RECV:
    l->ch = s->arg;
    l->out = &t->slot[opi][k];
    l->rec = &t->slot_rec[opi][k];
    return uva_chan_recv(M.ch[s->arg], l->out);
  case SUB_SEND:
    l->ch = s->arg;
    l->msg = msg_make(t->id, s->arg);
    return uva_chan_send(M.ch[s->arg], &l->msg);
  case SUB_CHILD: {
    int slot = kid_slot(t, s->arg);
    if (slot >= 0) {
      uva_future_t *f = kid_take(t, slot, &l->kid);
      if (may_cancel)
        M.t[l->kid].may_cancel = 1;
      return f;
    }
    l->kind = SUB_READY; /* no kid left */
  }
  /* fall through */
  default:
    return uva_ready_u64(&M.loop, READY_VALUE);
  }
}

/* A join future's outcome, reported once. */
static void child_result(int id, int st, uva_value_t v) {
  mtask_t *c = &M.t[id];
  CHECK(!c->reported, "task%d's join future reported twice", id);
  c->reported = 1;
  if (st == 0) {
    CHECK(c->done && v.u64 == MAGIC(id),
          "task%d's join future settled 0 (value %#llx) before it returned",
          id, (unsigned long long)v.u64);
    CHECK(!c->cancel_ok, "task%d was cancelled but its join future gave 0",
          id);
  } else {
    CHECK(st == UV_ECANCELED && c->may_cancel,
          "task%d's join future settled %s without a cancel", id, ename(st));
  }
}

/* Checks one sub-future's reported outcome against the model. */
static void sub_settle(mtask_t *t, live_t *l, int how, int st, uva_value_t v) {
  switch (l->kind) {
  case SUB_SLEEP:
    if (how == REP_KNOWN)
      CHECK(st == 0, "sleep settled %s", ename(st));
    break;
  case SUB_READY:
    if (how == REP_KNOWN)
      CHECK(st == 0 && v.u64 == READY_VALUE, "ready settled %s", ename(st));
    break;
  case SUB_CHILD:
    if (how == REP_KNOWN)
      child_result(l->kid, st, v);
    break;
  case SUB_SEND:
    if (how == REP_KNOWN) {
      CHECK(st == 0 || (st == UV_EPIPE && M.closed[l->ch]),
            "send to ch%d settled %s (closed %d)", l->ch, ename(st),
            M.closed[l->ch]);
      msg_outcome(l->msg, st == 0 ? OUT_OK : OUT_FAIL);
    } else {
      msg_outcome(l->msg, how == REP_CANCELLED ? OUT_FAIL : OUT_UNKNOWN);
    }
    break;
  case SUB_RECV:
    if (how == REP_KNOWN) {
      if (st == 0)
        CHECK(*l->out != 0, "recv on ch%d settled 0 but wrote nothing",
              l->ch);
      else
        CHECK(*l->out == 0 && st == UV_EOF && M.closed[l->ch],
              "recv on ch%d settled %s, wrote %#llx (closed %d)", l->ch,
              ename(st), (unsigned long long)*l->out, M.closed[l->ch]);
    } else if (how == REP_CANCELLED) {
      CHECK(*l->out == 0, "a cancelled recv on ch%d wrote %#llx", l->ch,
            (unsigned long long)*l->out);
    } else {
      /* Its result was dropped (a cancelled await, a losing select, a
       * cancelled or timed-out join): exactly once means it took nothing,
       * and out is written only when a result is taken.  Any such message
       * would be lost: a failure (these counters stay 0). */
      if (*l->out != 0) {
        if (M.amb == 0)
          M.st->lost_await++;
        else if (M.amb == 1)
          M.st->lost_select++;
        else
          M.st->lost_join++;
      }
      CHECK(*l->out == 0,
            "a recv on ch%d whose result was dropped (%s) took %#llx: lost",
            l->ch, M.amb == 0 ? "await" : M.amb == 1 ? "select" : "join",
            (unsigned long long)*l->out);
    }
    if (*l->out != 0) {
      *l->rec = 1;
      M.recv_overlap = recv_overlapped(l);
      msg_got(t->id, *l->out, l->ch);
      M.recv_overlap = 0;
    }
    break;
  }
}

/* Whether task id may have been cancelled: itself, or through the task
 * whose await holds its join future (a cancelled await cancels what it
 * waits for). */
static int cancellable(int id) {
  for (int n = 0; id >= 0 && n <= M_TASKS; n++, id = M.t[id].awaited_by)
    if (M.t[id].may_cancel)
      return 1;
  return 0;
}

/* Marks the kids among l[0..n) as held by t's await (on) or let go. */
static void hold_kids(mtask_t *t, live_t *l, int n, int on, int st) {
  for (int k = 0; k < n; k++)
    if (l[k].kind == SUB_CHILD) {
      M.t[l[k].kid].awaited_by = on ? t->id : -1;
      if (!on && st != 0) /* a failed await may have cancelled it */
        M.t[l[k].kid].may_cancel = 1;
    }
}

/* UV_ECANCELED that can only be the task's own cancellation. */
static void saw_cancel(mtask_t *t) {
  CHECK(cancellable(t->id), "task%d got UV_ECANCELED but was never cancelled",
        t->id);
  CHECK(!t->cancel_seen, "task%d got UV_ECANCELED twice (one-shot)", t->id);
  t->cancel_seen = 1;
  M.st->task_cancels++;
}

static uva_future_t *wrap(uva_future_t *f, const op_t *o) {
  return o->tmo ? uva_timeout(f, o->tmo - 1u) : f;
}

/* await (maybe under a timeout) of one sub-future. */
static void do_single(mtask_t *t, int opi, const op_t *o, const sub_t *s) {
  live_t l;
  uva_value_t v = {0};
  uva_future_t *f = sub_make(t, opi, 0, s, &l, o->tmo != 0);
  int kid_cancelled = l.kind == SUB_CHILD && M.t[l.kid].may_cancel;
  int st;
  int before;
  f = wrap(f, o);
  before = uva_future_status(f);
  hold_kids(t, &l, 1, 1, 0);
  hold_recvs(&l, 1, o->tmo != 0);
  st = uva_await(f, &v);
  hold_recvs(&l, 1, 0);
  hold_kids(t, &l, 1, 0, st == UV_ECANCELED || st == UV_ETIMEDOUT);
  TRACE("  task%d [%d] %s -> %s\n", t->id, opi, op_names[o->kind], ename(st));
  if (o->tmo && st == UV_ETIMEDOUT) {
    M.st->timeouts++;
    sub_settle(t, &l, REP_CANCELLED, st, v);
  } else if (st == UV_ECANCELED &&
             (l.kind != SUB_CHILD || !kid_cancelled)) {
    saw_cancel(t);
    M.amb = 0;
    /* Pending when the await began: the cancel stopped it (a result it got
     * first would have been returned), else it was dropped settled. */
    sub_settle(t, &l, before == UVA_PENDING ? REP_CANCELLED : REP_AMBIG, st,
               v);
  } else if (st == UV_ECANCELED && cancellable(t->id) && !t->cancel_seen) {
    M.amb = 0;
    sub_settle(t, &l, REP_AMBIG, st, v); /* the task's or the kid's */
  } else {
    sub_settle(t, &l, REP_KNOWN, st, v);
  }
}

/* A send or receive through the task calls that make no future (half of
 * the untimed sends and receives, chosen by the op's unused ms byte): a task
 * that must wait parks on the channel.  Only the task's own cancel may end
 * one with UV_ECANCELED, and then it has had no effect. */
static void do_wait(mtask_t *t, int opi, const op_t *o) {
  int c = o->arg, st;
  uint64_t v;
  if (o->kind == MODEL_OP_SEND) {
    v = msg_make(t->id, c);
    st = uva_chan_send_wait(M.ch[c], &v);
    TRACE("  task%d [%d] send_wait ch%d -> %s\n", t->id, opi, c, ename(st));
    if (st == UV_ECANCELED)
      saw_cancel(t);
    else
      CHECK(st == 0 || (st == UV_EPIPE && M.closed[c]),
            "send_wait to ch%d gave %s (closed %d)", c, ename(st),
            M.closed[c]);
    msg_outcome(v, st == 0 ? OUT_OK : OUT_FAIL);
    return;
  }
  v = 0;
  st = uva_chan_recv_wait(M.ch[c], &v);
  TRACE("  task%d [%d] recv_wait ch%d -> %s\n", t->id, opi, c, ename(st));
  if (st == 0) {
    msg_got(t->id, v, c);
    return;
  }
  CHECK(v == 0, "recv_wait on ch%d gave %s but wrote %#llx", c, ename(st),
        (unsigned long long)v);
  if (st == UV_ECANCELED)
    saw_cancel(t);
  else
    CHECK(st == UV_EOF && M.closed[c], "recv_wait on ch%d gave %s (closed %d)",
          c, ename(st), M.closed[c]);
}

static void do_select(mtask_t *t, int opi, const op_t *o) {
  live_t l[M_SUB];
  uva_future_t *f[M_SUB];
  int s0[M_SUB], n = o->nsub, st, before;
  uva_future_t *sel;
  uva_result_t win;
  uva_value_t v = {0};
  for (int k = 0; k < n; k++)
    f[k] = sub_make(t, opi, k, &o->sub[k], &l[k], 1);
  for (int k = 0; k < n; k++) /* a later send may settle an earlier recv */
    s0[k] = uva_future_status(f[k]);
  sel = wrap(uva_select(&M.loop, f, (size_t)n, &win), o);
  before = uva_future_status(sel);
  hold_kids(t, l, n, 1, 0);
  hold_recvs(l, n, 1);
  st = uva_await(sel, &v);
  hold_recvs(l, n, 0);
  hold_kids(t, l, n, 0, st);
  TRACE("  task%d [%d] select -> %s, winner %llu\n", t->id, opi, ename(st),
        st == 0 ? (unsigned long long)v.u64 : 99ull);
  if (st == 0) {
    CHECK(v.u64 < (uint64_t)n, "select winner %llu of %d",
          (unsigned long long)v.u64, n);
    for (int k = 0; k < n; k++) {
      if ((uint64_t)k == v.u64)
        sub_settle(t, &l[k], REP_KNOWN, win.status, win.value);
      else /* cancelled: a loser pending when it was handed over */
        M.amb = 1,
        sub_settle(t, &l[k], s0[k] == UVA_PENDING ? REP_CANCELLED : REP_AMBIG,
                   UV_ECANCELED, (uva_value_t){0});
    }
    uva_result_free(&win);
  } else if (st == UV_ETIMEDOUT && o->tmo) {
    M.st->timeouts++;
    for (int k = 0; k < n; k++)
      sub_settle(t, &l[k], REP_CANCELLED, st, (uva_value_t){0});
  } else {
    CHECK(st == UV_ECANCELED, "select settled %s", ename(st));
    saw_cancel(t);
    M.amb = 0;
    /* A select still pending when the await began had no settled child:
     * the cancel stopped them all. */
    for (int k = 0; k < n; k++)
      sub_settle(t, &l[k], before == UVA_PENDING ? REP_CANCELLED : REP_AMBIG,
                 st, (uva_value_t){0});
  }
}

static void do_join(mtask_t *t, int opi, const op_t *o) {
  live_t l[M_SUB];
  uva_future_t *f[M_SUB];
  uva_result_t res[M_SUB];
  int n = o->nsub, st;
  for (int k = 0; k < n; k++)
    f[k] = sub_make(t, opi, k, &o->sub[k], &l[k], o->tmo != 0);
  hold_kids(t, l, n, 1, 0);
  hold_recvs(l, n, 1);
  st = uva_await(wrap(uva_join(&M.loop, f, (size_t)n, res), o), NULL);
  hold_recvs(l, n, 0);
  hold_kids(t, l, n, 0, st);
  TRACE("  task%d [%d] join -> %s\n", t->id, opi, ename(st));
  if (st == 0) {
    for (int k = 0; k < n; k++) {
      sub_settle(t, &l[k], REP_KNOWN, res[k].status, res[k].value);
      uva_result_free(&res[k]);
    }
    return;
  }
  if (st == UV_ETIMEDOUT && o->tmo)
    M.st->timeouts++;
  else {
    CHECK(st == UV_ECANCELED, "join settled %s", ename(st));
    saw_cancel(t);
  }
  /* Children that had settled were consumed; the rest were cancelled. */
  M.amb = 2;
  for (int k = 0; k < n; k++)
    sub_settle(t, &l[k], REP_AMBIG, st, (uva_value_t){0});
}

/* Cancels (cancel_leaf) or frees (free_leaf) a fresh leaf future. */
static void do_leaf(mtask_t *t, int opi, const op_t *o) {
  live_t l;
  uva_future_t *f = sub_make(t, opi, 0, &o->sub[0], &l, 1);
  int s0 = uva_future_status(f), s1 = s0;
  if (o->kind == MODEL_OP_CANCEL_LEAF) {
    int c = uva_future_cancel(f);
    s1 = uva_future_status(f);
    CHECK(s0 == UVA_PENDING ? (c == 0 && s1 == UV_ECANCELED) : c == UV_EBUSY,
          "cancel of a %s leaf (%s) gave %s, then %s", sub_names[l.kind],
          ename(s0), ename(c), ename(s1));
  }
  uva_future_free(f);
  TRACE("  task%d [%d] %s %s: %s\n", t->id, opi, op_names[o->kind],
        sub_names[l.kind], ename(s0));
  sub_settle(t, &l, s0 == UVA_PENDING ? REP_CANCELLED : REP_KNOWN, s0,
             (uva_value_t){0});
}

static int task_main(void *arg, uva_result_t *res);

static void exec_op(mtask_t *t, int opi) {
  const op_t *o = &t->ops[opi];
  int st, slot, id;
  sub_t s;
  M.cur_task = t->id;
  M.cur_op = opi;
  M.st->ops++;
  M.st->by_kind[o->kind]++;
  switch (o->kind) {
  case MODEL_OP_SPAWN: {
    mtask_t *c = &M.t[o->arg];
    CHECK(t->nkids < M_KIDS, "too many kids");
    t->kid[t->nkids] = uva_spawn(&M.loop, task_main, c);
    t->kid_id[t->nkids++] = c->id;
    CHECK(uva_future_status(t->kid[t->nkids - 1]) == UVA_PENDING,
          "spawn failed");
    c->spawned = 1;
    M.st->tasks++;
    TRACE("  task%d [%d] spawn task%d\n", t->id, opi, c->id);
    break;
  }
  case MODEL_OP_AWAIT:
    s = (sub_t){SUB_CHILD, o->arg, 0};
    do_single(t, opi, o, &s);
    break;
  case MODEL_OP_CANCEL:
    if ((slot = kid_slot(t, o->arg)) < 0)
      break;
    id = t->kid_id[slot];
    st = uva_future_status(t->kid[slot]);
    {
      int c = uva_future_cancel(t->kid[slot]);
      TRACE("  task%d [%d] cancel task%d (%s) -> %s\n", t->id, opi, id,
            ename(st), ename(c));
      if (st == UVA_PENDING) {
        CHECK(c == 0, "cancel of pending task%d gave %s", id, ename(c));
        M.t[id].may_cancel = M.t[id].cancel_ok = 1;
      } else {
        CHECK(c == UV_EBUSY, "cancel of settled task%d gave %s", id,
              ename(c));
      }
    }
    break;
  case MODEL_OP_FREE:
  case MODEL_OP_DETACH:
    if ((slot = kid_slot(t, o->arg)) < 0)
      break;
    {
      uva_future_t *f = kid_take(t, slot, &id);
      TRACE("  task%d [%d] %s task%d\n", t->id, opi, op_names[o->kind], id);
      if (o->kind == MODEL_OP_FREE) {
        M.t[id].may_cancel = 1;
        uva_future_free(f);
      } else {
        uva_future_detach(f);
      }
    }
    break;
  case MODEL_OP_SLEEP:
    s = (sub_t){SUB_SLEEP, 0, o->ms};
    do_single(t, opi, o, &s);
    break;
  case MODEL_OP_YIELD:
    st = uva_yield();
    TRACE("  task%d [%d] yield -> %s\n", t->id, opi, ename(st));
    if (st != 0) {
      CHECK(st == UV_ECANCELED, "yield gave %s", ename(st));
      saw_cancel(t);
    }
    break;
  case MODEL_OP_SEND:
  case MODEL_OP_RECV:
    if (o->tmo == 0 && (o->ms & 1)) {
      do_wait(t, opi, o); /* uva_chan_send_wait / uva_chan_recv_wait */
      break;
    }
    s = (sub_t){o->kind == MODEL_OP_SEND ? SUB_SEND : SUB_RECV, o->arg, 0};
    do_single(t, opi, o, &s);
    break;
  case MODEL_OP_TRY_SEND: {
    uint64_t v = msg_make(t->id, o->arg);
    st = uva_chan_try_send(M.ch[o->arg], &v);
    TRACE("  task%d [%d] try_send ch%d -> %s\n", t->id, opi, o->arg,
          ename(st));
    CHECK(st == 0 || (st == UV_EAGAIN && !M.closed[o->arg]) ||
              (st == UV_EPIPE && M.closed[o->arg]),
          "try_send on ch%d gave %s (closed %d)", o->arg, ename(st),
          M.closed[o->arg]);
    msg_outcome(v, st == 0 ? OUT_OK : OUT_FAIL);
    break;
  }
  case MODEL_OP_TRY_RECV: {
    uint64_t v = 0;
    st = uva_chan_try_recv(M.ch[o->arg], &v);
    TRACE("  task%d [%d] try_recv ch%d -> %s\n", t->id, opi, o->arg,
          ename(st));
    if (st == 0)
      msg_got(t->id, v, o->arg);
    else
      CHECK(v == 0 && (st == UV_EAGAIN || (st == UV_EOF && M.closed[o->arg])),
            "try_recv on ch%d gave %s (closed %d)", o->arg, ename(st),
            M.closed[o->arg]);
    break;
  }
  case MODEL_OP_CLOSE:
    st = uva_chan_close(M.ch[o->arg]);
    TRACE("  task%d [%d] close ch%d -> %s\n", t->id, opi, o->arg, ename(st));
    CHECK(st == (M.closed[o->arg] ? UV_EPIPE : 0), "close of ch%d gave %s",
          o->arg, ename(st));
    M.closed[o->arg] = 1;
    break;
  case MODEL_OP_SELECT:
    do_select(t, opi, o);
    break;
  case MODEL_OP_JOIN:
    do_join(t, opi, o);
    break;
  case MODEL_OP_CANCEL_LEAF:
  case MODEL_OP_FREE_LEAF:
    do_leaf(t, opi, o);
    break;
  }
}

static int task_main(void *arg, uva_result_t *res) {
  mtask_t *t = arg;
  CHECK(!t->started, "task%d started twice", t->id);
  t->started = 1;
  for (int i = 0; i < t->nops; i++)
    exec_op(t, i);
  M.cur_task = t->id;
  M.cur_op = t->nops;
  if (t->id == 0) /* the end: whatever waits on a channel finishes now */
    for (int c = 0; c < M.nch; c++) {
      int st = uva_chan_close(M.ch[c]);
      CHECK(st == (M.closed[c] ? UV_EPIPE : 0), "close of ch%d gave %s", c,
            ename(st));
      M.closed[c] = 1;
    }
  for (int i = 0; i < t->nkids; i++)
    if (t->kid[i] != NULL) {
      live_t l = {.kind = SUB_CHILD};
      uva_value_t v = {0};
      uva_future_t *f = kid_take(t, i, &l.kid);
      int kid_cancelled = M.t[l.kid].may_cancel, st;
      hold_kids(t, &l, 1, 1, 0);
      st = uva_await(f, &v);
      hold_kids(t, &l, 1, 0, st == UV_ECANCELED);
      TRACE("  task%d end: await task%d -> %s\n", t->id, l.kid, ename(st));
      if (st == UV_ECANCELED && !kid_cancelled) {
        saw_cancel(t);
      } else if (st == UV_ECANCELED && cancellable(t->id) && !t->cancel_seen) {
        /* the task's cancel or the kid's: unknown */
      } else {
        child_result(l.kid, st, v);
      }
    }
  t->done = 1;
  res->value.u64 = MAGIC(t->id);
  return 0;
}

/* ---- the feeder thread -------------------------------------------------- */

static void feeder(void *arg) {
  (void)arg;
  for (int k = 1; k <= M.th_n; k++) {
    uint64_t v = ((uint64_t)(M_THREAD + 1) << 40) |
                 ((uint64_t)M.th_ch << 32) | (uint64_t)k;
    int st = uva_chan_send_blocking(M.ch[M.th_ch], &v);
    if (st != 0) {
      M.th_out[k] = (uint8_t)(st == UV_EPIPE ? OUT_FAIL : 0);
      return;
    }
    M.th_out[k] = OUT_OK;
  }
}

/* ---- the run ------------------------------------------------------------ */

void model_run(const uint8_t *bytes, size_t n, model_stats_t *stats,
               int trace) {
  long base = count_alloc_live();
  uva_value_t v = {0};
  int st;

  memset(&M, 0, sizeof(M));
  M.trace = trace;
  M.st = stats;
  M.cur_task = -1;
  decode(bytes, n);
  CHECK(uv_loop_init(&M.loop) == 0, "uv_loop_init");
  for (int c = 0; c < M.nch; c++)
    CHECK(uva_chan_new(&M.loop, sizeof(uint64_t), (size_t)M.cap[c],
                       &M.ch[c]) == 0,
          "uva_chan_new");
  if (M.th_on) {
    M.issued[M_THREAD] = (uint32_t)M.th_n;
    for (int k = 1; k <= M.th_n; k++) {
      M.mchan[M_THREAD][k] = (uint8_t)M.th_ch;
      M.th_out[k] = OUT_FAIL; /* never sent */
    }
    CHECK(uv_thread_create(&M.th, feeder, NULL) == 0, "uv_thread_create");
  }
  M.t[0].spawned = 1;
  st = uva_block_on(&M.loop, uva_spawn(&M.loop, task_main, &M.t[0]), &v);
  M.cur_task = -1;
  M.cur_op = -1;
  CHECK(st == 0 && v.u64 == MAGIC(0), "block_on(root) gave %s", ename(st));
  /* Tasks whose join futures were freed or detached finish here. */
  CHECK(uv_run(&M.loop, UV_RUN_DEFAULT) == 0, "uv_run");
  if (M.th_on) {
    uv_thread_join(&M.th);
    for (int k = 1; k <= M.th_n; k++) {
      M.outcome[M_THREAD][k] = M.th_out[k];
      CHECK(M.th_out[k] == OUT_OK || M.th_out[k] == OUT_FAIL,
            "send_blocking %d failed oddly", k);
      if (M.th_out[k] == OUT_OK)
        stats->thread_msgs++, stats->sent_ok++;
    }
  }
  for (int c = 0; c < M.nch; c++) {
    uint64_t m;
    while ((st = uva_chan_try_recv(M.ch[c], &m)) == 0)
      msg_got(M_TASKS, m, c);
    CHECK(st == UV_EOF, "draining closed ch%d ended with %s", c, ename(st));
    uva_chan_free(M.ch[c]);
  }
  CHECK(uv_run(&M.loop, UV_RUN_DEFAULT) == 0, "uv_run after free");
  CHECK(uv_loop_close(&M.loop) == 0, "uv_loop_close");
  for (int i = 0; i < M.ntasks; i++) {
    mtask_t *t = &M.t[i];
    M.cur_task = i;
    CHECK(!t->started || t->done, "task%d never finished", i);
    for (int o = 0; o < t->nops; o++)
      for (int k = 0; k < M_SUB; k++)
        CHECK(t->slot[o][k] == 0 || t->slot_rec[o][k],
              "op %d's recv buffer %d written after it was given up", o, k);
  }
  M.cur_task = -1;
  for (int s = 0; s < M_SENDERS; s++)
    for (uint32_t k = 1; k <= M.issued[s]; k++) {
      int out = M.outcome[s][k], got = M.rcount[s][k];
      CHECK(out != OUT_PENDING, "message %d:%u: its send never reported", s,
            k);
      CHECK(out != OUT_OK || got == 1, "message %d:%u sent OK, never received",
            s, k);
      CHECK(out != OUT_FAIL || got == 0,
            "message %d:%u: its send failed, but it was received", s, k);
    }
  CHECK(count_alloc_live() == base, "%ld allocation(s) of uva's left",
        count_alloc_live() - base);
  stats->programs++;
}

/* ---- helpers for the drivers -------------------------------------------- */

void model_expand(uint64_t seed, uint8_t *buf, size_t n) {
  uint64_t x = seed;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (size_t j = 0; j < 8 && i + j < n; j++)
      buf[i + j] = (uint8_t)(z >> (8 * j));
  }
}

void model_print_stats(FILE *out, const model_stats_t *s) {
  fprintf(out,
          "model: %llu programs, %llu tasks, %llu ops (%llu select, %llu "
          "join, %llu cancel); messages: %llu sent ok (%llu from threads), "
          "%llu received, %llu drained, %llu sends failed, %llu unknown; "
          "taken by a receive whose result was dropped: %llu by a cancelled "
          "await, %llu by select, %llu by a cancelled join; %llu timeouts, "
          "%llu task cancels\n",
          (unsigned long long)s->programs, (unsigned long long)s->tasks,
          (unsigned long long)s->ops,
          (unsigned long long)s->by_kind[MODEL_OP_SELECT],
          (unsigned long long)s->by_kind[MODEL_OP_JOIN],
          (unsigned long long)(s->by_kind[MODEL_OP_CANCEL] +
                               s->by_kind[MODEL_OP_CANCEL_LEAF]),
          (unsigned long long)s->sent_ok, (unsigned long long)s->thread_msgs,
          (unsigned long long)s->received, (unsigned long long)s->drained,
          (unsigned long long)s->send_failed,
          (unsigned long long)s->send_unknown,
          (unsigned long long)s->lost_await,
          (unsigned long long)s->lost_select, (unsigned long long)s->lost_join,
          (unsigned long long)s->timeouts,
          (unsigned long long)s->task_cancels);
}
