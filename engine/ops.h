/* The numeric building blocks of the transformer forward pass: RMS norm,
 * rotary position embedding, softmax, SwiGLU, matrix times a batch of
 * activation rows (by weight type, through the quant kernel table) and
 * causal grouped-query attention over a KV cache.
 *
 * Activations are float rows laid out token after token: a batch of n_tok
 * vectors of width d is a (n_tok, d) array with row t at x + t*d.
 *
 * The arithmetic follows ggml's CPU backend where it matters for matching
 * llama.cpp's outputs: sums of squares and softmax sums are accumulated in
 * double, activations are converted to the weight's vec_dot_type before a
 * dot product, and an F16 KV cache sees queries and attention weights
 * rounded to f16. */
#ifndef LT_OPS_H
#define LT_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "quant.h"
#include "quant_x86.h"

/* ---- element-wise and row operations ---------------------------------- */

/* out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i] for i < n. out may be x. */
void ops_rmsnorm(float *out, const float *x, const float *w, int n, float eps);

/* In-place softmax of x[0..n). */
void ops_softmax(float *x, int n);

/* out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)). out may alias
 * gate or up. */
void ops_swiglu(float *out, const float *gate, const float *up, int n);

/* y[i] += x[i]. */
void ops_add(float *y, const float *x, int n);

/* Adds the bias b (n) to each of n_tok rows of y (n_tok, n). */
void ops_add_bias(float *y, const float *b, int n, int n_tok);

/* out = (x - mean) / sqrt(var + eps) * w + b over n; w, b may be NULL. out may be x. */
void ops_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps);

/* GELU (tanh form) of every f16 value, as f16: ggml's table. */
#define OPS_GELU_TABLE_SIZE 65536
void ops_gelu_table(uint16_t *table);

/* out[i] = gelu(x[i]) through a table from ops_gelu_table. out may be x. */
void ops_gelu(float *out, const float *x, int n, const uint16_t *table);

/* out[i] = gelu(gate[i]) * up[i]. out may alias gate or up. */
void ops_geglu(float *out, const float *gate, const float *up, int n, const uint16_t *table);

/* x[i] *= s. */
void ops_scale(float *x, int n, float s);

/* x[i] = cap * tanh(x[i] / cap): soft-capping. */
void ops_softcap(float *x, int n, float cap);

/* x[i] clamped to [-c, c]. */
void ops_clamp(float *x, int n, float c);

/* ---- rotary position embedding ---------------------------------------- */

/* Which elements of a head form a rotated pair. Values are llama.cpp's. */
enum ops_rope_mode {
	OPS_ROPE_NORM = 0, /* adjacent pairs (2i, 2i+1): llama */
	OPS_ROPE_NEOX = 2, /* pairs (i, i + n_rot/2): qwen2, gpt-neox */
};

struct ops_rope {
	enum ops_rope_mode mode;
	int n_rot;                 /* rotated dims per head: even, <= head_dim; the rest pass through */
	float freq_base;           /* theta_i = pos * freq_scale * freq_base^(-2i/n_rot) */
	float freq_scale;          /* 1 / linear scaling factor; 1 when unscaled */
	const float *freq_factors; /* (n_rot/2) per-pair divisors of theta (llama 3), or NULL */
	float attn_factor;         /* cos and sin are multiplied by it (LongRoPE); 0 or 1: none */
};

/* Fills cs (n_rot floats) with cos, sin of each pair's angle at pos. */
void ops_rope_cache(const struct ops_rope *r, int pos, float *cs);

/* Rotates the first n_rot dims of each of n_heads heads of head_dim floats
 * in x by the angles in cs (from ops_rope_cache). */
void ops_rope_apply(const struct ops_rope *r, float *x, int n_heads, int head_dim,
		    const float *cs);

/* ---- row kernels -------------------------------------------------------- */

/* The row operations above and the inner loops of attention, one call per
 * row. The scalar reference table is always there; ops_rows_best returns
 * the table of the kernel variant in use (kernels.h), else the reference.
 * The ops_* functions above go through ops_rows_best. */
struct ops_row_kernels {
	void (*rmsnorm)(float *out, const float *x, const float *w, int n, float eps);
	void (*softmax)(float *x, int n);
	void (*swiglu)(float *out, const float *gate, const float *up, int n);
	void (*add)(float *y, const float *x, int n);
	/* y[i] = e^x[i]; y may be x. */
	void (*vexp)(float *y, const float *x, int n);
	void (*rope)(const struct ops_rope *r, float *x, int n_heads, int head_dim,
		     const float *cs);
	/* s[p] = scale * dot(q, k + p*k_stride) over hd floats, for p < n_kv. */
	void (*scores)(float *s, const float *q, const float *k, size_t k_stride, int n_kv, int hd,
		       float scale);
	/* out[d] = sum over p < n_kv of w[p] * v[p*v_stride + d], for d < hd. */
	void (*wsum)(float *out, const float *w, const float *v, size_t v_stride, int n_kv, int hd);
	/* scores over K rows of f16 (an F16 cache read in place), each element
	 * widened as it is read: the same sums as scores over the widened rows. */
	void (*scores_f16)(float *s, const float *q, const uint16_t *k, size_t k_stride, int n_kv,
			   int hd, float scale);
	/* out[d] += sum over p < n_kv of w[p] * v[p*v_stride + d] over V rows of f16. */
	void (*wsum_f16)(float *out, const float *w, const uint16_t *v, size_t v_stride, int n_kv,
			 int hd);
};

const struct ops_row_kernels *ops_rows_ref(void);
const struct ops_row_kernels *ops_rows_best(void);

/* ---- matrix times activations ----------------------------------------- */

/* A weight matrix used in place: n_out rows of n_in elements of type, with
 * row r at data + r*row_bytes. In ggml terms the tensor has ne = (n_in, n_out). */
struct ops_mat {
	const void *data;
	enum ggml_type type;
	int64_t n_in;                   /* elements per row */
	int64_t n_out;                  /* rows */
	size_t row_bytes;
	const struct quant_kernels *kern;  /* kernels of type */
	const struct quant_kernels *act;   /* kernels of kern->vec_dot_type (activation format) */
	const struct quant_tile *tile;     /* prefill block kernel matching kern, or NULL */
	const struct quant_panel *panel;   /* prefill panel kernels for type, or NULL */
};

/* Fills m for a weight at data, checking that the type has the kernels a
 * matmul needs and that n_in is a whole number of blocks. Returns 0 or
 * LT_E_UNSUPPORTED. */
int ops_mat_init(struct ops_mat *m, const void *data, enum ggml_type type, int64_t n_in,
		 int64_t n_out);

/* Batches from this many tokens on use the panel kernels. */
#define OPS_PANEL_MIN_TOKENS 2

/* Bytes of scratch ops_matmul needs for n_tok rows against m on up to
 * n_threads threads. */
size_t ops_matmul_work_size(const struct ops_mat *m, int n_tok, int n_threads);

/* y (n_tok, n_out) = x (n_tok, n_in) times m transposed: y[t][r] is the dot
 * product of weight row r with activation row t. The activation rows are
 * converted once into the weight's vec_dot_type in work (unless that type is
 * F32); output rows are split across up to n_threads (fewer when the
 * product is too small to repay waking a thread). Batches of at least
 * OPS_PANEL_MIN_TOKENS go to m->panel's prefill kernels and single tokens
 * to its decode kernel when it has them (equal to vec_dot to rounding);
 * otherwise whole blocks of rows and tokens go to m->tile's kernels, which
 * equal the vec_dot of each pair bit for bit (the f32 decode kernel too).
 * Either way an output does not depend on how the work is split across
 * threads. */
void ops_matmul(float *y, const struct ops_mat *m, const float *x, int n_tok, void *work,
		int n_threads);

/* Most matrices ops_matmul_multi takes at once. */
#define OPS_MATMUL_MULTI_MAX 3

/* ys[i] = ms[i] . x for n matrices that read the same input (q, k and v;
 * gate and up). Those that share n_in and their panel kernels are done
 * together, when a lone product would go to those kernels (a single token,
 * or a batch of at least OPS_PANEL_MIN_TOKENS): x converted once, all their
 * rows in one loop of the pool, so the threads meet once rather than once
 * per matrix; any other goes through ops_matmul. The bits are ops_matmul's
 * either way. work holds the largest ops_matmul_work_size of ms. */
void ops_matmul_multi(float *const *ys, const struct ops_mat *const *ms, int n, const float *x,
		      int n_tok, void *work, int n_threads);

/* Dequantizes weight row r of m into out (n_in floats), as for embeddings. */
void ops_mat_row(const struct ops_mat *m, int64_t r, float *out);

/* ---- attention ---------------------------------------------------------- */

/* Which way ops_attention computes a single query (see there). */
enum ops_attn_path {
	OPS_ATTN_AUTO = 0, /* split for a single query over an F16 or quantized cache */
	OPS_ATTN_BATCH,
	OPS_ATTN_SPLIT,    /* split whenever n_tok is 1 and the cache is not F32 */
};

/* Causal self-attention of a batch of queries against a KV cache whose row p
 * holds the n_head_kv heads of position p. Query head h reads KV head
 * h / (n_head / n_head_kv). */
struct ops_attn {
	int n_head;
	int n_head_kv;             /* divides n_head */
	int head_dim;
	enum ggml_type kv_type;    /* F32, F16, Q8_0 or Q4_0 (rows of whole blocks per head) */
	size_t kv_row_bytes;       /* bytes of one cache row: n_head_kv*head_dim of kv_type */
	float scale;               /* applied to q.k, usually 1/sqrt(head_dim) */
	float softcap;             /* scores become c*tanh(s/c) after scaling (0: off) */
	int n_swa;                 /* a query at p sees p-n_swa+1..p only (0: all of 0..p) */
	int ring_rows;             /* the cache holds position p in row p % ring_rows (0: row p) */
	const float *alibi_slopes; /* (n_head) score bias slope*(p_key - p_query), or NULL */
	enum ops_attn_path path;   /* OPS_ATTN_AUTO (0) unless a test compares the two */
};

/* llama.cpp's ALiBi slopes for n_head heads and a maximum bias. */
void ops_alibi_slopes(float *slopes, int n_head, float max_bias);

/* Bytes of scratch ops_attention needs for n_kv cached rows (n_ctx, or the
 * ring's rows) and n_threads threads; with a quantized cache (or a ring)
 * this includes a float copy of the n_kv K and V rows, widened once per
 * call. */
size_t ops_attention_work_size(const struct ops_attn *a, int n_kv, int n_threads);

/* out (n_tok, n_head*head_dim) = attention of q (n_tok, n_head*head_dim),
 * whose token t sits at position pos0+t, over the cached positions 0..pos0+t
 * (or its window) of k_cache and v_cache. The rows of the batch must already
 * be stored, and a ring must hold the window of every token of the batch.
 * A batch reads F32 and F16 rows in place (F16 widened as it is read) and
 * widens quantized ones (or a wrapping ring's) to floats once, then splits
 * by query head and token. A single query over an F16 or quantized cache
 * (decode) reads the rows in place instead (F16 rows widened as they are
 * read, quantized K through the type's vec_dot and V a tile at a time) and
 * splits by ranges of positions, each over every KV head, whose partial
 * softmax sums are merged at the end (flash decoding); its ranges depend on
 * the depth and the KV heads, never on n_threads, so neither does the result, which
 * equals the batch path's to float rounding. Returns 0 or LT_E_UNSUPPORTED
 * for a KV type without kernels. */
int ops_attention(const struct ops_attn *a, float *out, const float *q, const void *k_cache,
		  const void *v_cache, int n_tok, int pos0, void *work, int n_threads);

#endif
