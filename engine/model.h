/* A model bound from a GGUF file: hyperparameters read from the metadata,
 * and every weight checked (present, of a type we compute, of the expected
 * shape) and used in place from the mapping. What differs between
 * architectures comes from their row in the architecture table (arch.h).
 *
 * Adding an architecture:
 *  1. a row in arch.c (norms, positions, attention, feed-forward, residual,
 *     scales), with the tensor and key needs of llama.cpp's loader for it
 *     (src/models/NAME.cpp there); a piece the table cannot say yet becomes
 *     a new field, read in model.c and used in context.c;
 *  2. the optional hyperparameter keys it reads as ARCH_KEY_* bits;
 *  3. a synthetic-model shape in tests/synth (lt-synth --arch NAME writes
 *     the tensors the row asks for, from the same table);
 *  4. a golden file of llama.cpp's logits (tests/golden/README.md says how)
 *     and its entry in tests/golden/archs.txt.
 * A file without output.weight reuses token_embd.weight (tied output) where
 * the row allows it. */
#ifndef LT_MODEL_H
#define LT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "errors.h"
#include "gguf.h"
#include "ops.h"

struct model;

struct model_params {
	bool use_mmap;  /* map the file (default) rather than read it into memory */
	bool use_mlock; /* lock the weights in memory (best effort) */
};

/* The defaults: use_mmap on, use_mlock off. */
struct model_params model_params_default(void);

struct model_hparams {
	const struct arch_info *arch; /* the table row of general.architecture */
	const char *arch_name;  /* general.architecture, as in the file */
	int n_ctx_train;        /* {arch}.context_length */
	int n_embd;             /* {arch}.embedding_length */
	int n_layer;            /* {arch}.block_count */
	int n_ff;               /* {arch}.feed_forward_length */
	int n_head;             /* {arch}.attention.head_count */
	int n_head_kv;          /* {arch}.attention.head_count_kv (default n_head) */
	int head_dim;           /* {arch}.attention.key_length (default n_embd/n_head) */
	int n_vocab;            /* rows of token_embd.weight */
	float norm_eps;         /* layer_norm_rms_epsilon or layer_norm_epsilon, by norm kind */
	bool use_rope;          /* q and k are rotated (Granite can switch it off) */
	struct ops_rope rope;   /* global layers: mode, n_rot, freq_base, freq_scale, factors */
	struct ops_rope rope_swa; /* sliding-window layers: their own base and scale */
	const float *rope_long;  /* (n_rot/2) LongRoPE factors past n_ctx_orig, or NULL */
	const float *rope_short; /* (n_rot/2) LongRoPE factors up to n_ctx_orig, or NULL */
	int n_ctx_orig;         /* rope.scaling.original_context_length (default n_ctx_train) */
	int n_swa;              /* sliding window in positions (0: every layer sees all) */
	int n_swa_layers;       /* layers that use the window */
	float attn_softcap;     /* scores become c*tanh(s/c) (0: off) */
	float final_softcap;    /* logits become c*tanh(l/c) (0: off) */
	float clamp_kqv;        /* q, k, v clamped to [-c, c] (0: off) */
	float max_alibi_bias;   /* ALiBi slopes from this bias (0: no ALiBi) */
	float embd_scale;       /* embeddings are multiplied by this (1: none) */
	float residual_scale;   /* block outputs are multiplied by this before the add (1: none) */
	float attn_scale;       /* q.k scale (usually 1/sqrt(head_dim)) */
	float logit_scale;      /* logits are divided by this (1: none) */
	bool parallel_residual; /* attention and FFN read the same input and add together */
};

/* One transformer block. Shapes are (n_in -> n_out) of the matmul; the
 * float vectors point into the file's data; absent tensors are NULL or an
 * ops_mat with data NULL. */
struct model_layer {
	bool swa;                /* attends over the sliding window only */
	const float *attn_norm;  /* (n_embd) */
	const float *attn_norm_b;
	const float *attn_norm_2;   /* (n_embd) Falcon 40B's attention norm */
	const float *attn_norm_2_b;
	struct ops_mat wqkv;     /* (n_embd -> q_dim + 2*kv_dim), rows Q, K, V; or: */
	const float *bqkv;       /* (q_dim + 2*kv_dim) or NULL */
	struct ops_mat wq;       /* (n_embd -> n_head*head_dim) */
	struct ops_mat wk;       /* (n_embd -> n_head_kv*head_dim) */
	struct ops_mat wv;       /* (n_embd -> n_head_kv*head_dim) */
	const float *bq;         /* (n_head*head_dim) or NULL */
	const float *bk;         /* (n_head_kv*head_dim) or NULL */
	const float *bv;         /* (n_head_kv*head_dim) or NULL */
	const float *q_norm;     /* (head_dim) per head, or (q_dim) whole; or NULL */
	const float *k_norm;     /* (head_dim) per head, or (kv_dim) whole; or NULL */
	struct ops_mat wo;       /* (n_head*head_dim -> n_embd) */
	const float *bo;         /* (n_embd) or NULL */
	const float *attn_post_norm; /* (n_embd) or NULL */
	const float *ffn_norm;   /* (n_embd) or NULL */
	const float *ffn_norm_b;
	struct ops_mat w_gate;   /* (n_embd -> n_ff), absent without a gate or when fused */
	struct ops_mat w_up;     /* (n_embd -> n_ff), or (n_embd -> 2*n_ff): gate then up */
	struct ops_mat w_down;   /* (n_ff -> n_embd) */
	const float *b_gate;     /* (n_ff) or NULL */
	const float *b_up;       /* (n_ff) or NULL */
	const float *b_down;     /* (n_embd) or NULL */
	const float *ffn_post_norm; /* (n_embd) or NULL */
};

struct model_weights {
	struct ops_mat tok_embd;    /* n_vocab rows of n_embd */
	struct ops_mat pos_embd;    /* n_ctx_train rows of n_embd, or data NULL */
	const float *embd_norm;     /* (n_embd) norm right after the embedding, or NULL */
	const float *embd_norm_b;
	const float *output_norm;   /* (n_embd) */
	const float *output_norm_b; /* (n_embd) or NULL */
	struct ops_mat output;      /* (n_embd -> n_vocab); token_embd when tied */
	bool tied_output;
	struct model_layer *layers; /* (n_layer) */
};

/* Opens path and binds the model. p may be NULL for the defaults. On failure
 * returns a negative lt_error and writes one line to err, such as
 * "m.gguf: tensor 'blk.3.ffn_up.weight' has shape [64, 100], expected [64, 172]". */
int model_open(struct model **out, const char *path, const struct model_params *p, char *err,
	       size_t errlen);

/* Binds a model over an open GGUF handle, which the model then owns (and
 * frees with itself, also on failure). For tests and in-memory images. */
int model_from_gguf(struct model **out, struct gguf *g, char *err, size_t errlen);

void model_free(struct model *m);

const struct model_hparams *model_hparams(const struct model *m);
const struct model_weights *model_weights(const struct model *m);

/* The GGUF handle, for the tokenizer and for metadata display. */
const struct gguf *model_gguf(const struct model *m);

/* Number of weight elements and bytes of weight data the model uses. */
int64_t model_n_params(const struct model *m);
uint64_t model_weight_bytes(const struct model *m);

#endif
