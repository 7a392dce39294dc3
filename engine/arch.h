/* The architecture table: one row per general.architecture we run, saying
 * how a block is built. The forward pass (context.c) and the binder
 * (model.c) read only the row, never an architecture's name, so a new
 * architecture is a new row here when its pieces already exist.
 *
 * Tensor names are llama.cpp's (token_embd, position_embd,
 * token_embd_norm, output_norm, output, rope_freqs, rope_factors_long/short,
 * blk.N.{attn_norm, attn_norm_2, attn_qkv, attn_q, attn_k, attn_v,
 * attn_q_norm, attn_k_norm, attn_output, post_attention_norm, ffn_norm,
 * ffn_gate, ffn_up, ffn_down, post_ffw_norm}.{weight,bias}); metadata keys
 * are {arch}.KEY as llama.cpp's converter writes them. Every row takes
 * attention as either one fused attn_qkv matrix (rows ordered Q, K, V) or
 * three matrices, as llama.cpp's loader does. */
#ifndef LT_ARCH_H
#define LT_ARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "ops.h"

/* Whether a tensor (or key) must, may or must not be there. */
enum arch_need {
	ARCH_NO = 0,
	ARCH_OPT,
	ARCH_REQ,
};

enum arch_norm {
	ARCH_NORM_RMS,   /* x / rms(x) * w; eps from attention.layer_norm_rms_epsilon */
	ARCH_NORM_LAYER, /* (x - mean) / std * w + b; eps from attention.layer_norm_epsilon */
};

/* Whether q and k are rotated. Other position schemes need no switch here:
 * learned positions come with a position_embd tensor (pos_embd), ALiBi with
 * a max_alibi_bias above 0 (key or max_alibi_bias_default). */
enum arch_pos {
	ARCH_POS_ROPE, /* rotary embedding of q and k (mode in rope_mode) */
	ARCH_POS_NONE,
};

enum arch_ffn {
	ARCH_FFN_SWIGLU, /* down(silu(gate x) * up x) */
	ARCH_FFN_GEGLU,  /* down(gelu(gate x) * up x), tanh GELU */
	ARCH_FFN_GELU,   /* down(gelu(up x)), no gate */
};

enum arch_qk_norm {
	ARCH_QK_NORM_NONE,
	ARCH_QK_NORM_HEAD, /* RMSNorm of each head of q and k (weights of head_dim) */
	ARCH_QK_NORM_FULL, /* RMSNorm of all of q and all of k (weights of q_dim, kv_dim) */
};

enum arch_resid {
	ARCH_RESID_SEQ,        /* x += attn(norm x); x += ffn(norm x) */
	ARCH_RESID_PARALLEL,   /* x += attn(norm1 x) + ffn(norm2 x) */
	ARCH_RESID_PAR_SHARED, /* x += attn(norm2 x or norm1 x) + ffn(norm1 x): Falcon */
	ARCH_RESID_BY_KEY,     /* parallel when {arch}.use_parallel_residual is true */
};

/* The RoPE of sliding-window layers, as each llama.cpp graph sets it. */
enum arch_swa_rope {
	ARCH_SWA_ROPE_GLOBAL,   /* the global base and scale; rope.freq_base_swa may set the base */
	ARCH_SWA_ROPE_OWN,      /* base rope.freq_base_swa or 10000, unscaled (Gemma 3) */
	ARCH_SWA_ROPE_UNSCALED, /* the global base, unscaled, no attention factor (OLMo 2/3) */
};

/* Optional hyperparameter keys a row reads (bit set). */
enum arch_key {
	ARCH_KEY_ATTN_SOFTCAP = 1 << 0,  /* attn_logit_softcapping */
	ARCH_KEY_FINAL_SOFTCAP = 1 << 1, /* final_logit_softcapping */
	ARCH_KEY_CLAMP_KQV = 1 << 2,     /* attention.clamp_kqv */
	ARCH_KEY_ALIBI_BIAS = 1 << 3,    /* attention.max_alibi_bias */
	ARCH_KEY_GRANITE = 1 << 4,       /* embedding_scale, residual_scale, attention.scale,
					    logit_scale (required), rope.scaling.finetuned */
	ARCH_KEY_SWA = 1 << 5,           /* attention.sliding_window(_pattern), rope.freq_base_swa */
};

struct arch_info {
	const char *name;             /* general.architecture */
	const char *family;           /* what people know it as, for messages and docs */
	enum arch_norm norm;
	enum arch_need norm_bias;     /* biases of the block and output norms */
	enum arch_need attn_norm;     /* blk.N.attn_norm (OLMo 2 has none: post-norm only) */
	enum arch_need attn_norm_2;   /* blk.N.attn_norm_2 (Falcon 40B's attention norm) */
	enum arch_need ffn_norm;      /* blk.N.ffn_norm (Falcon shares attn_norm) */
	bool post_norms;              /* post_attention_norm and post_ffw_norm on block outputs */
	bool embd_norm;               /* token_embd_norm after the embedding (BLOOM) */
	enum arch_pos pos;
	enum ops_rope_mode rope_mode;
	enum arch_need pos_embd;      /* position_embd: learned absolute positions */
	bool rope_factors;            /* rope_factors_long/short (Phi-3 LongRoPE) */
	enum arch_need qkv_fused;     /* REQ: attn_qkv only; OPT: fused or separate */
	enum arch_need qkv_bias;
	enum arch_need out_bias;      /* attn_output.bias */
	enum arch_need ffn_bias;      /* ffn_up/gate/down biases */
	enum arch_qk_norm qk_norm;
	enum arch_ffn ffn;
	bool ffn_up_fused;            /* ffn_up holds gate then up (2*n_ff rows), no ffn_gate */
	enum arch_resid resid;
	enum arch_need output;        /* output.weight; OPT: token_embd when absent; NO: always tied */
	bool embd_scale_sqrt;         /* embeddings times sqrt(n_embd) (Gemma) */
	bool q_prescale;              /* q times the attention scale before q.k (Gemma, Phi-3) */
	int query_scale_embd_layers;  /* a model with this many layers scales by
				       * 1/sqrt(n_embd/n_head) instead of 1/sqrt(head_dim) */
	int swa_period;               /* sliding-window layer pattern: layer il is local when
				       * il % period < period - 1 (0: no sliding window) */
	int swa_window_default;       /* window when the key is absent (0: key required for SWA) */
	enum arch_swa_rope swa_rope;  /* the RoPE of sliding-window layers */
	float max_alibi_bias_default; /* ALiBi when the key is absent */
	bool final_softcap_default;   /* soft-cap logits even without the key (30, Gemma 2) */
	bool attn_softcap_default;    /* soft-cap scores even without the key (50, Gemma 2) */
	unsigned keys;                /* enum arch_key bits */
};

/* The row of general.architecture name, or NULL. */
const struct arch_info *arch_find(const char *name);

/* The rows, for listings: *n receives their count. */
const struct arch_info *arch_list(size_t *n);

/* "llama, qwen2, ..." in table order; static storage. */
const char *arch_names(void);

#endif
