/* The context's insides, shared by context.c (the forward pass), context_mem.c
 * (memory made present ahead of use) and
 * context_state.c (state images and KV spans). No other file includes it. */
#ifndef LT_CONTEXT_IMPL_H
#define LT_CONTEXT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "model.h"
#include "ops.h"
#include "quant.h"

/* The state image: a header of 32-bit words, then the rows. */
#define CTX_STATE_MAGIC 0x564b544cu /* "LTKV" read as little-endian */
#define CTX_STATE_VERSION 2u
#define CTX_STATE_V1_WORDS 10
#define CTX_STATE_HEADER_WORDS 11

/* Units (decode steps, or layers of a batch) measured with each thread
 * count per round. */
#define CTX_PROBES 3

/* Work runs on n_threads or on 1, whichever was faster when last measured:
 * when another program keeps a core busy, a second thread can cost more
 * than it brings. A round of measurement (timed units on each count, see
 * ctx_adapt_pick) every `every` units. */
struct ctx_adapt {
	int use;           /* threads of the next units */
	int probe;         /* units measured in this round, -1 between rounds */
	int since;         /* units since the last round */
	int every;
	int n_tok;         /* tokens of the units measured in this round */
	double ns_many[CTX_PROBES], ns_one[CTX_PROBES];
};

struct ctx {
	const struct model *m;
	const struct model_hparams *hp;
	const struct model_weights *w;
	int n_ctx;
	int n_batch;
	int n_threads;             /* the most threads an eval uses */
	int n_run;                 /* threads of the batch being evaluated */
	struct ctx_adapt adapt;    /* decode, a step at a time */
	struct ctx_adapt adapt_pp; /* batches of several tokens, a layer at a time */
	int n_past;
	struct ops_attn attn;      /* shapes and KV type for ops_attention */
	struct ops_attn attn_swa;  /* the same for sliding-window layers */
	struct ops_rope rope;      /* global layers, with the LongRoPE factors for n_ctx */
	struct ops_rope rope_swa;  /* sliding-window layers */
	float *alibi;              /* (n_head) ALiBi slopes, or NULL */
	uint16_t *gelu;            /* (OPS_GELU_TABLE_SIZE) GELU of each f16, or NULL without GELU */
	/* A quantized cache holds K and V rotated by orthonormal Walsh-Hadamard
	 * matrices (q and the attention output are rotated to match), which
	 * spreads outliers across a block, as llama.cpp does. */
	float *k_rot;              /* (rot_k, rot_k), or NULL */
	float *v_rot;              /* (rot_v, rot_v), or NULL */
	int rot_k, rot_v;
	const struct quant_kernels *kv_kern; /* stores rows into the cache */

	/* KV cache: layer il's rows start at layer_off[il] in k_cache and
	 * v_cache; a row holds one position as n_head_kv*head_dim elements of
	 * the KV type. Global layers have n_ctx rows (row p = position p);
	 * sliding-window layers keep a ring of ring_rows rows (row p % ring_rows). */
	uint8_t *k_cache;
	uint8_t *v_cache;
	size_t *layer_off;         /* (n_layer) byte offset of each layer's rows */
	size_t cache_bytes;        /* of each of k_cache and v_cache */
	int kv_ready;              /* positions whose cache pages are present */
	int ring_rows;             /* rows of a sliding-window layer (0: no ring) */
	/* Ring rows hold positions swa_lo..swa_hi at best; older ones were
	 * overwritten or never loaded, so rewinding below the window fails. */
	int swa_lo, swa_hi;

	/* Activations of one batch of up to n_batch tokens. */
	float *x;                  /* (n_batch, n_embd) residual stream */
	float *xb;                 /* (n_batch, n_embd) attention input (normed x) */
	float *xb2;                /* (n_batch, n_embd) FFN input (normed x) */
	float *ao;                 /* (n_batch, n_embd) attention block output */
	float *fo;                 /* (n_batch, n_embd) FFN block output */
	float *qkv;                /* (n_batch, q_dim + 2*kv_dim) fused projection, or NULL */
	float *q;                  /* (n_batch, n_head*head_dim) */
	float *k;                  /* (n_batch, n_head_kv*head_dim) */
	float *v;                  /* (n_batch, n_head_kv*head_dim) */
	float *att;                /* (n_batch, n_head*head_dim) attention output */
	float *hb;                 /* (n_batch, n_ff) gate, then the activation */
	float *hb2;                /* (n_batch, n_ff) up; (n_batch, 2*n_ff) when fused */
	float *rope_cs;            /* (n_batch, n_rot) cos, sin per pair and token */
	float *rope_cs_swa;        /* (n_batch, n_rot) the same for sliding-window layers */
	void *work;                /* matmul and attention scratch */
	size_t work_bytes;
	/* What has been made present of the activations and work (rows of a
	 * batch, bytes), so that no first write to them faults a page at a
	 * time. */
	int rows_ready;
	size_t work_ready;
	int work_kv;               /* the kv_ready work_ready was sized for */

	/* Logits of the last eval: rows for batch tokens logits_first.. */
	float *logits;             /* (logits_cap, n_vocab) */
	int logits_cap;
	int n_logits;
	int logits_first;
	int n_eval;                /* tokens in the last eval */

	const atomic_bool *abort;
	char err[256];
};

/* The activations of a batch, a row of floats per token each: where each
 * is kept and its row's width. Allocation and ctx_populate_scratch both go
 * by this list. */
struct ctx_rows {
	float **buf;
	size_t width;
};
#define CTX_ROW_BUFFERS 14

/* Fills out with the context's batch buffers; returns how many. */
int ctx_row_buffers(struct ctx *c, struct ctx_rows *out);

/* The largest matmul scratch any weight of the model needs for n_tok rows. */
size_t ctx_matmul_work(const struct model_weights *w, int n_layer, int n_tok, int n_threads);

/* Makes the cache pages of positions up to upto (and some ahead) present,
 * before they are written. */
void ctx_kv_populate(struct ctx *c, int upto);

/* Makes present what a batch of n tokens writes to first. */
void ctx_populate_scratch(struct ctx *c, int n);

/* Whether layer il keeps a ring of rows rather than one row per position. */
static inline bool ctx_layer_ring(const struct ctx *c, int il)
{
	return c->ring_rows && c->w->layers[il].swa;
}

#endif
