/* An evaluation context over a model: the KV cache, the activation buffers
 * of one batch, and the logits of the last evaluation.
 *
 * Tokens are evaluated at explicit positions. The cache holds positions
 * 0..n_past-1; an eval at pos0 <= n_past overwrites from pos0 on (so
 * regenerating from an earlier point needs no separate truncate), and
 * ctx_truncate drops positions for undo. A context is used by one thread at
 * a time; the abort flag may be set from any thread. */
#ifndef LT_CONTEXT_H
#define LT_CONTEXT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "errors.h"
#include "model.h"

struct ctx;

/* The context n_ctx = 0 gives, when the model's own is longer (`models`
 * sizes the KV cache of its memory check with it too). */
#define CTX_DEFAULT_N_CTX 4096
/* The largest n_ctx (and n_batch) a context takes: far above any real
 * context; keeps cache size products from overflowing. */
#define CTX_MAX_N_CTX (1 << 24)

struct ctx_params {
	int n_ctx;                /* positions in the KV cache; 0: min(model's context_length, 4096) */
	int n_batch;              /* most tokens computed at once; longer evals are split; 0: 512 */
	int n_threads;            /* 0: OMP_NUM_THREADS with OpenMP, else the online CPUs */
	enum ggml_type kv_type;   /* F16 (default, as llama.cpp), F32, or Q8_0 / Q4_0 (half or a
				   * quarter of the memory; the head size must be whole blocks) */
};

/* The defaults: every field 0 except kv_type = GGML_TYPE_F16. */
struct ctx_params ctx_params_default(void);

/* Creates a context for m, which must outlive it. p may be NULL for the
 * defaults. Returns 0 or a negative lt_error with a message in err. */
int ctx_new(struct ctx **out, const struct model *m, const struct ctx_params *p, char *err,
	    size_t errlen);
void ctx_free(struct ctx *c);

/* Evaluates tokens[0..n) at positions pos0..pos0+n-1 and keeps the logits of
 * the last token, or of every token when all_logits. Returns 0 or
 *   LT_E_INVAL    n < 1 or tokens NULL
 *   LT_E_RANGE    pos0 outside 0..n_past, a token id outside the vocabulary, or
 *                 pos0 < n_past where the sliding window no longer holds pos0's past
 *   LT_E_FULL     pos0 + n > n_ctx
 *   LT_E_ABORTED  the abort flag was set (checked between layers)
 * with a message in ctx_error. A rejected argument changes nothing. After an
 * error during the computation no logits are available and ctx_n_past counts
 * the positions fully evaluated (pos0 plus the finished batches of n_batch
 * tokens; those cache rows are valid). */
int ctx_eval(struct ctx *c, const int32_t *tokens, int n, int pos0, bool all_logits);

/* Runs one token through an empty context and forgets it, so that the
 * first prompt does not pay for the first reads of the weights (on a
 * virtual machine each page's first touch exits to the hypervisor: a 1B
 * model's first 5-token prompt took 4 times as long as the next). Returns
 * 0, LT_E_INVAL when the context is not empty, or ctx_eval's errors. */
int ctx_warmup(struct ctx *c);

/* Bytes of KV cache (K and V) a context of n_ctx positions over m takes;
 * n_batch 0 for the default. Sliding-window layers count only their ring. */
size_t ctx_kv_bytes(const struct model *m, int n_ctx, int n_batch, enum ggml_type kv_type);

/* The n_vocab logits of batch token i of the last eval (i = -1: the last
 * token), or NULL when that eval kept no logits for i. */
const float *ctx_logits(const struct ctx *c, int i);

/* Positions held in the KV cache. */
int ctx_n_past(const struct ctx *c);
int ctx_n_ctx(const struct ctx *c);
int ctx_n_vocab(const struct ctx *c);
const struct model *ctx_model(const struct ctx *c);

/* Drops the cache after the first n positions (0 <= n <= n_past; else
 * LT_E_RANGE) and forgets the logits. A model with sliding-window layers
 * keeps only a window of past positions there: when position n's window
 * has been overwritten, the cache starts over from 0 instead, so callers
 * read ctx_n_past afterwards and evaluate what it no longer holds. */
int ctx_truncate(struct ctx *c, int n);

/* While *flag is true, evals stop between layers with LT_E_ABORTED. NULL
 * turns the check off. The flag is read, never cleared. */
void ctx_set_abort(struct ctx *c, const atomic_bool *flag);

/* The message of the last failed call ("" if none). */
const char *ctx_error(const struct ctx *c);

/* Saved state: a header with the cache shape, the KV rows of the filled
 * positions, and the last token's logits when there are any. Loading checks
 * the shape against the context (layers, KV heads, head size, KV type,
 * vocabulary, n_ctx) so a state never lands in the wrong model. */
size_t ctx_state_size(const struct ctx *c);
/* Writes ctx_state_size(c) bytes to buf; LT_E_FULL when size is smaller. */
int ctx_state_save(const struct ctx *c, void *buf, size_t size);
/* Restores a state; LT_E_FORMAT (message in ctx_error) when it is damaged
 * or was saved from another shape. The context is unchanged on failure. */
int ctx_state_load(struct ctx *c, const void *buf, size_t size);

/* KV spans: the rows of positions [p0, p1), so a session can append only
 * what a turn added. A span is a header (the cache shape, p0, p1, then the
 * first position stored per layer) and, layer by layer, the K and then the
 * V rows. Global layers store every position of the span; sliding-window
 * layers only those of the window position p1 looks back on
 * (max(p0, p1 - n_swa + 1)), which is all their next position needs. No
 * logits are stored: a loaded span leaves none.
 *
 * ctx_kv_span_size is 0, and ctx_kv_span_save LT_E_RANGE, unless
 * 0 <= p0 <= p1 <= n_past and the cache still holds those rows (a ring of
 * a sliding-window layer keeps its last positions only: p1 = n_past always
 * works). */
size_t ctx_kv_span_size(const struct ctx *c, int p0, int p1);
/* Writes ctx_kv_span_size(c, p0, p1) bytes; LT_E_FULL when size is smaller. */
int ctx_kv_span_save(const struct ctx *c, int p0, int p1, void *buf, size_t size);
/* Loads the positions [p0, p_end) of a span (p0 <= p_end <= its p1) after the
 * cache's n_past positions (p0 must be n_past, or 0 to start over); n_past
 * becomes p_end. LT_E_FORMAT (message in ctx_error, context unchanged) for a
 * damaged span or another shape. Spans that leave a sliding-window layer
 * without the window of p_end load, but ctx_truncate(c, p_end) then starts
 * the cache over, which is how a caller finds out. */
int ctx_kv_span_load(struct ctx *c, const void *buf, size_t size, int p_end);

#endif
