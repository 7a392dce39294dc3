/* A LLaMA-family model bound from a GGUF file: hyperparameters read from
 * the metadata, and every weight checked (present, of a type we compute, of
 * the expected shape) and used in place from the mapping.
 *
 * Supported architectures (general.architecture):
 *   llama   adjacent-pair RoPE; optional attention biases
 *   qwen2   NEOX RoPE; attn_q/k/v biases required
 * A file without output.weight reuses token_embd.weight (tied output). */
#ifndef LT_MODEL_H
#define LT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

enum model_arch {
	MODEL_ARCH_LLAMA,
	MODEL_ARCH_QWEN2,
};

struct model_hparams {
	enum model_arch arch;
	const char *arch_name;  /* general.architecture, as in the file */
	int n_ctx_train;        /* {arch}.context_length */
	int n_embd;             /* {arch}.embedding_length */
	int n_layer;            /* {arch}.block_count */
	int n_ff;               /* {arch}.feed_forward_length */
	int n_head;             /* {arch}.attention.head_count */
	int n_head_kv;          /* {arch}.attention.head_count_kv (default n_head) */
	int head_dim;           /* {arch}.attention.key_length (default n_embd/n_head) */
	int n_vocab;            /* rows of token_embd.weight */
	float norm_eps;         /* {arch}.attention.layer_norm_rms_epsilon */
	struct ops_rope rope;   /* mode by arch; n_rot, freq_base, freq_scale, rope_freqs */
};

/* One transformer block. Shapes are (n_in -> n_out) of the matmul; the
 * float vectors point into the file's data. */
struct model_layer {
	const float *attn_norm;  /* (n_embd) */
	struct ops_mat wq;       /* (n_embd -> n_head*head_dim) */
	struct ops_mat wk;       /* (n_embd -> n_head_kv*head_dim) */
	struct ops_mat wv;       /* (n_embd -> n_head_kv*head_dim) */
	const float *bq;         /* (n_head*head_dim) or NULL */
	const float *bk;         /* (n_head_kv*head_dim) or NULL */
	const float *bv;         /* (n_head_kv*head_dim) or NULL */
	struct ops_mat wo;       /* (n_head*head_dim -> n_embd) */
	const float *bo;         /* (n_embd) or NULL */
	const float *ffn_norm;   /* (n_embd) */
	struct ops_mat w_gate;   /* (n_embd -> n_ff) */
	struct ops_mat w_up;     /* (n_embd -> n_ff) */
	struct ops_mat w_down;   /* (n_ff -> n_embd) */
};

struct model_weights {
	struct ops_mat tok_embd;    /* n_vocab rows of n_embd */
	const float *output_norm;   /* (n_embd) */
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
