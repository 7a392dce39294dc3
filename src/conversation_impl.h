/* Private to the conversation module: the layout of struct conv and what
 * its two files share. src/conversation.c has the life cycle, replies,
 * undo, settings and sessions; src/conversation_ctx.c keeps the tokens in
 * the context: rendering turns into ids, composing conv_ids(), bringing the
 * KV cache in line with them, shifting old turns out and rebuilding from
 * the transcript. Nothing outside those two files includes this header. */
#ifndef LT_CONVERSATION_IMPL_H
#define LT_CONVERSATION_IMPL_H

#include "conversation.h"
#include "reasoning.h"
#include "stopper.h"

/* How a user turn's reply prompt ends (which thinking prefill). */
#define CONV_PREFILL_NONE (-1) /* as a past turn: no prefill */
#define CONV_PREFILL_OFF 0     /* no_thinking_prefill */
#define CONV_PREFILL_ON 1      /* thinking_prefill */

struct cturn {
	struct conv_turn t;
	int32_t *ids; /* (t.n_tokens) its tokens while in the context */
	int prefill;  /* user turns: CONV_PREFILL_* they were rendered with */
};

/* A growable id array. */
struct idvec {
	int32_t *v; /* (cap) of which n are used */
	int n, cap;
};

struct conv {
	struct ctx *ctx;
	const struct vocab *v;
	struct template *tmpl;
	struct sampler *smp;
	struct stopper *stp;
	struct reasoning *rs; /* splits replies at the template's tags */
	struct vocab_stream *vs;
	const atomic_bool *abort;

	char *system;
	bool system_set; /* chosen by the user (--system, /system), not the template's default */
	char *in_prefix;
	char *postfix;
	int n_predict;
	bool thinking;
	char **tstops, **ustops; /* the template's and the user's stop strings */
	int n_tstops, n_ustops;

	struct cturn *turns; /* (cap_turns) of which n_turns are used */
	int n_turns, cap_turns;
	struct idvec head; /* BOS and the system block */
	struct idvec ids;  /* head + the tokens of every turn in the context */
	struct idvec kv;   /* what the KV cache holds, position by position */
	char err[512];

	/* Without a context (ctx NULL): who writes the replies, and the reply
	 * being written while it does (conversation_remote.c). */
	struct conv_generator gen;
	struct reply_sink *sink;
	size_t shown;
};

/* A reply being written: its turn, the lengths of its answer and
 * reasoning, and who is told. */
struct reply_sink {
	struct cturn *t;
	size_t len, cap, rlen, rcap;
	int n_reasoning; /* tokens sampled while in the reasoning block */
	const struct conv_callbacks *cb;
};

/* ---- conversation.c ---- */

int64_t conv_now_ms(void);
double conv_mono(void);
/* Appends a turn (in the context, no tokens yet); NULL when out of memory. */
struct cturn *conv_turn_append(struct conv *c, enum conv_role role, const char *text);
/* The splitter's output: appended to the turn and shown (a reasoning_fn). */
int conv_reply_emit(void *ud, enum reasoning_part part, const char *s, size_t n);
/* Text the stop matcher released, on to the splitter; token: it came with
 * a token, counted as reasoning while in the block. */
int conv_reply_text(struct conv *c, struct reply_sink *k, const char *s, size_t n, bool token);

/* ---- conversation_remote.c ---- */

/* conv_send and conv_regenerate of a conversation without a context. */
int conv_remote_send(struct conv *c, const char *text, const struct conv_callbacks *cb,
		     struct conv_reply *r);
int conv_remote_generate(struct conv *c, const struct conv_callbacks *cb, struct conv_reply *r);

/* ---- conversation_ctx.c ---- */

/* Puts the message fmt (with one %s for arg) in c->err and returns code. */
int conv_fail(struct conv *c, int code, const char *fmt, const char *arg);
/* Appends n ids; LT_E_NOMEM when memory runs out. */
int conv_idvec_push(struct idvec *a, const int32_t *ids, int n);
/* The last id, or VOCAB_TOKEN_NULL for an empty array. */
int32_t conv_idvec_last(const struct idvec *a);

/* Rendering. Each turn is tokenized as the text that follows token prev
 * (the last id before it in the context, VOCAB_TOKEN_NULL at the start),
 * so the SentencePiece space prefix appears only where tokenizing the
 * whole prompt at once would put it. The ids go to *out (caller frees). */
int conv_render_head(struct conv *c);
int conv_render_user(const struct conv *c, const char *text, bool first, int prefill,
		     int32_t prev, struct idvec *out);
/* The prefill a new reply prompt gets now (CONV_PREFILL_ON or _OFF). */
int conv_prefill_now(const struct conv *c);
/* Renders user turn i again with the given prefill (keeping its place). */
int conv_rerender_user(struct conv *c, int i, int prefill);
/* Before a new message: the last exchange in the context takes the form of
 * a past one when the template strips reasoning. */
int conv_settle_last(struct conv *c);
int conv_render_suffix(const struct conv *c, int32_t prev, struct idvec *out);

/* Rebuilds c->ids from the head and the turns in the context. */
int conv_compose(struct conv *c);
/* Index of the first user turn in the context, or -1. */
int conv_first_user_in_ctx(const struct conv *c);
/* Gives turn t the ids (taking them over; ids->v becomes NULL). */
void conv_turn_set_ids(struct cturn *t, struct idvec *ids);
/* Renders the first user turn in the context again, after what precedes
 * it changed (a shift, a new system prompt). */
int conv_rerender_first_user(struct conv *c);

/* Evaluates what c->ids has beyond the cached common prefix. With
 * need_logits the last token is evaluated even when cached, so sampling
 * can start. *n_eval (may be NULL) receives how many were evaluated. */
int conv_sync_kv(struct conv *c, bool need_logits, int *n_eval);
/* How many leading ids the KV cache already holds. */
int conv_kv_common(const struct conv *c);
/* The same, not stopped by the abort flag (closing a reply, undo). */
int conv_sync_kv_final(struct conv *c);

/* Drops the oldest exchanges before turn keep_from until need more tokens
 * fit and (when possible) at most half the context is used; tells cb. */
int conv_shift(struct conv *c, int keep_from, int need, const struct conv_callbacks *cb);

/* Renders every turn again from its text, keeping the newest that fit in
 * three quarters of the context, and evaluates. */
int conv_rebuild(struct conv *c);

#endif
