#include "context.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "pool.h"
#include "quant.h"
#include "context_impl.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define CTX_DEFAULT_N_BATCH 512
/* Units (decode steps, layers of a batch) between two rounds of
 * measurement; doubled (up to CTX_ADAPT_MAX) while the thread count in use
 * wins by CTX_ADAPT_CLEAR, so that a quiet machine spends few units on one
 * thread. */
#define CTX_ADAPT_EVERY 64
#define CTX_ADAPT_MAX 1024
#define CTX_ADAPT_CLEAR 1.25
/* n threads are kept only when they beat one by this much: a measurement
 * within the noise of a busy machine keeps the count that never waits for
 * a descheduled thread. */
#define CTX_ADAPT_MARGIN 1.05
/* A round ends after one timed unit on one thread when n threads beat it
 * by this much: two threads of a quiet machine run a 110M model's decode
 * step 1.8 times as fast as one, a 1B model's 1.6 times. */
#define CTX_ADAPT_EARLY 1.4

/* Largest Hadamard rotation of a quantized cache's rows: heads up to 512. */
#define CTX_MAX_ROT 512

/* State images start with this magic and a version, then the shape.
 * Version 2 adds the sliding window; version 1 images (no window) load. */

struct ctx_params ctx_params_default(void)
{
	return (struct ctx_params){ .kv_type = GGML_TYPE_F16 };
}

static int ctx_default_threads(void)
{
#ifdef _OPENMP
	/* OMP_NUM_THREADS still sets the default, as it did when the engine
	 * ran on OpenMP's threads. */
	return omp_get_max_threads();
#else
	return pool_default_threads();
#endif
}

/* The largest matmul scratch any weight of the model needs for n_tok rows. */
size_t ctx_matmul_work(const struct model_weights *w, int n_layer, int n_tok, int n_threads)
{
	size_t max = ops_matmul_work_size(&w->output, n_tok, n_threads);
	for (int il = 0; il < n_layer; il++) {
		const struct model_layer *l = &w->layers[il];
		const struct ops_mat *mats[] = { &l->wqkv, &l->wq, &l->wk, &l->wv, &l->wo,
						 &l->w_gate, &l->w_up, &l->w_down };
		for (size_t i = 0; i < sizeof(mats) / sizeof(mats[0]); i++) {
			if (!mats[i]->data)
				continue;
			size_t s = ops_matmul_work_size(mats[i], n_tok, n_threads);
			if (s > max)
				max = s;
		}
	}
	return max;
}

static void *ctx_alloc_floats(size_t n)
{
	return calloc(n ? n : 1, sizeof(float));
}

/* Rows a sliding-window layer keeps: its window plus one batch, so every
 * query of a batch finds its whole window (0 when that is all of n_ctx). */
static int ctx_ring_rows(const struct model_hparams *hp, int n_ctx, int n_batch)
{
	if (hp->n_swa_layers == 0)
		return 0;
	int64_t rows = (int64_t)hp->n_swa - 1 + n_batch;
	return rows >= n_ctx ? 0 : (int)rows;
}

size_t ctx_kv_bytes(const struct model *m, int n_ctx, int n_batch, enum ggml_type kv_type)
{
	const struct model_hparams *hp = model_hparams(m);
	const size_t row = dtype_row_bytes(kv_type, (int64_t)hp->n_head_kv * hp->head_dim);
	if (n_batch <= 0)
		n_batch = CTX_DEFAULT_N_BATCH;
	if (n_batch > n_ctx)
		n_batch = n_ctx;
	const int ring = ctx_ring_rows(hp, n_ctx, n_batch);
	const int n_local = ring ? hp->n_swa_layers : 0;
	return 2 * row * ((size_t)(hp->n_layer - n_local) * (size_t)n_ctx + (size_t)n_local * ring);
}

/* The orthonormal Walsh-Hadamard matrix of order n (a power of two), built
 * as Sylvester's doubling from 1/sqrt(n); it is symmetric and its own
 * inverse. */
static void ctx_hadamard(float *h, int n)
{
	h[0] = 1.0f / sqrtf((float)n);
	for (int s = 1; s < n; s *= 2)
		for (int i = 0; i < s; i++)
			for (int j = 0; j < s; j++) {
				const float v = h[i * n + j];
				h[(i + s) * n + j] = v;
				h[i * n + j + s] = v;
				h[(i + s) * n + j + s] = -v;
			}
}

/* Rotates each run of n floats of x (len floats) by the n x n matrix h. */
static void ctx_rotate(const float *h, int n, float *x, size_t len, float *tmp)
{
	for (size_t off = 0; off + (size_t)n <= len; off += (size_t)n) {
		float *r = x + off;
		for (int i = 0; i < n; i++) {
			float acc = 0.0f;
			for (int j = 0; j < n; j++)
				acc += h[i * n + j] * r[j];
			tmp[i] = acc;
		}
		memcpy(r, tmp, (size_t)n * sizeof(float));
	}
}

/* The RoPE of the context: LongRoPE picks its long factors when the context
 * is longer than the one the model was first trained with. */
static struct ops_rope ctx_rope(const struct model_hparams *hp, const struct ops_rope *r, int n_ctx)
{
	struct ops_rope out = *r;
	if (!out.freq_factors && (hp->rope_long || hp->rope_short))
		out.freq_factors = n_ctx > hp->n_ctx_orig && hp->rope_long ? hp->rope_long
									     : hp->rope_short;
	return out;
}

static double ctx_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double ctx_mean(const double *v, int n)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	return sum / n;
}

/* The first round comes with the first unit: a program started while
 * another keeps a core busy learns it within a few units. */
static void ctx_adapt_init(struct ctx_adapt *a, int n_threads)
{
	*a = (struct ctx_adapt){ .use = n_threads, .probe = -1, .every = CTX_ADAPT_EVERY,
				 .since = CTX_ADAPT_EVERY };
}

/* The thread count of the next unit. A round runs CTX_PROBES + 1 units on
 * n_threads, then as many on one; the first of each block is not timed, as
 * it pays for the switch (the workers may have gone to sleep). Blocks of an
 * even length time layers of the same parity on both counts, so models
 * that alternate two kinds of layer compare like with like. */
static int ctx_adapt_pick(struct ctx_adapt *a, int n_threads)
{
	if (a->probe < 0 && ++a->since >= a->every)
		a->probe = 0;
	if (a->probe < 0)
		return a->use;
	return a->probe <= CTX_PROBES ? n_threads : 1;
}

/* Records a unit of n_tok tokens that took ns nanoseconds; at the end of a
 * round keeps the faster count. Results do not depend on it: every
 * operation gives the same bits on any number of threads. */
static void ctx_adapt_record(struct ctx_adapt *a, int n_threads, int n_tok, double ns)
{
	if (a->probe < 0)
		return;
	if (a->probe == 0) {
		a->n_tok = n_tok;
	} else if (n_tok != a->n_tok) {
		/* A batch of another size is not comparable: start over. */
		a->probe = -1;
		a->since = a->every;
		return;
	}
	const int block = CTX_PROBES + 1, i = a->probe % block - 1;
	if (i >= 0) {
		if (a->probe < block)
			a->ns_many[i] = ns;
		else
			a->ns_one[i] = ns;
	}
	/* Each unit on one thread costs a quiet machine most of a unit: when
	 * n threads are in use and the first timed unit on one is far behind
	 * the slowest of those on n, the round ends there. On a busy machine
	 * some unit on n threads waits for a descheduled thread (a single one
	 * can fall in a slice where the other program waits), and the round
	 * runs to its end. */
	double slowest = 0;
	for (int k = 0; k < CTX_PROBES; k++)
		slowest = a->ns_many[k] > slowest ? a->ns_many[k] : slowest;
	const bool early = a->probe == block + 1 && a->use == n_threads &&
			   a->ns_one[0] > slowest * CTX_ADAPT_EARLY;
	if (++a->probe < 2 * block && !early)
		return;
	/* Means, not medians: a unit that waited for a descheduled thread is a
	 * cost that thread count pays again and again. */
	const double many = early ? slowest : ctx_mean(a->ns_many, CTX_PROBES);
	const double one = early ? a->ns_one[0] : ctx_mean(a->ns_one, CTX_PROBES);
	const int use = many * CTX_ADAPT_MARGIN < one ? n_threads : 1;
	const double lead = use == 1 ? many / one : one / many;
	if (use == a->use && lead > CTX_ADAPT_CLEAR)
		a->every = a->every * 2 < CTX_ADAPT_MAX ? a->every * 2 : CTX_ADAPT_MAX;
	else
		a->every = CTX_ADAPT_EVERY;
	a->use = use;
	a->probe = -1;
	a->since = 0;
}

int ctx_new(struct ctx **out, const struct model *m, const struct ctx_params *p, char *err,
	    size_t errlen)
{
	*out = NULL;
	struct ctx_params defaults = ctx_params_default();
	if (!p)
		p = &defaults;
	const struct model_hparams *hp = model_hparams(m);
	const struct model_weights *w = model_weights(m);
	if (p->kv_type != GGML_TYPE_F16 && p->kv_type != GGML_TYPE_F32 &&
	    p->kv_type != GGML_TYPE_Q8_0 && p->kv_type != GGML_TYPE_Q4_0)
		return lt_seterr(err, errlen, LT_E_UNSUPPORTED,
				 "KV cache type %s is not supported (f32, f16, q8_0 or q4_0)",
				 dtype_name(p->kv_type));
	/* Quantized rows are blocks; a block must not straddle two heads. */
	const int64_t kv_block = dtype_info(p->kv_type)->block_size;
	if (hp->head_dim % kv_block)
		return lt_seterr(err, errlen, LT_E_UNSUPPORTED,
				 "KV cache type %s needs a head size that is a multiple of %" PRId64
				 " (this model's is %d)", dtype_name(p->kv_type), kv_block, hp->head_dim);
	if (p->n_ctx < 0 || p->n_ctx > CTX_MAX_N_CTX || p->n_batch < 0 || p->n_threads < 0)
		return lt_seterr(err, errlen, LT_E_INVAL,
				 "invalid context parameters: n_ctx %d, n_batch %d, n_threads %d",
				 p->n_ctx, p->n_batch, p->n_threads);
	/* Learned positions exist only for the trained context. */
	if (w->pos_embd.data && p->n_ctx > hp->n_ctx_train)
		return lt_seterr(err, errlen, LT_E_RANGE,
				 "a context of %d positions is longer than the %d this model's learned "
				 "positions cover", p->n_ctx, hp->n_ctx_train);

	struct ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	c->m = m;
	c->hp = hp;
	c->w = w;
	c->n_ctx = p->n_ctx ? p->n_ctx
			    : (hp->n_ctx_train < CTX_DEFAULT_N_CTX ? hp->n_ctx_train : CTX_DEFAULT_N_CTX);
	c->n_batch = p->n_batch ? p->n_batch : CTX_DEFAULT_N_BATCH;
	if (c->n_batch > c->n_ctx)
		c->n_batch = c->n_ctx;
	c->n_threads = p->n_threads ? p->n_threads : ctx_default_threads();
	c->n_run = c->n_threads;
	ctx_adapt_init(&c->adapt, c->n_threads);
	ctx_adapt_init(&c->adapt_pp, c->n_threads);
	c->ring_rows = ctx_ring_rows(hp, c->n_ctx, c->n_batch);
	c->swa_hi = -1;
	c->rope = ctx_rope(hp, &hp->rope, c->n_ctx);
	c->rope_swa = ctx_rope(hp, &hp->rope_swa, c->n_ctx);
	c->attn = (struct ops_attn){
		.n_head = hp->n_head,
		.n_head_kv = hp->n_head_kv,
		.head_dim = hp->head_dim,
		.kv_type = p->kv_type,
		.kv_row_bytes = dtype_row_bytes(p->kv_type, (int64_t)hp->n_head_kv * hp->head_dim),
		/* Where q is scaled before the product, the product is not scaled again. */
		.scale = hp->arch->q_prescale ? 1.0f : hp->attn_scale,
		.softcap = hp->attn_softcap,
	};
	c->attn_swa = c->attn;
	c->attn_swa.n_swa = hp->n_swa;
	c->attn_swa.ring_rows = c->ring_rows;
	c->kv_kern = quant_best(p->kv_type);
	if (!c->kv_kern || !c->kv_kern->from_float) {
		free(c);
		return lt_seterr(err, errlen, LT_E_UNSUPPORTED, "no kernels for KV cache type %s",
				 dtype_name(p->kv_type));
	}

	const size_t nb = (size_t)c->n_batch;
	const size_t row = c->attn.kv_row_bytes;
	size_t work = ctx_matmul_work(c->w, hp->n_layer, c->n_batch, c->n_threads);
	size_t attn_work = ops_attention_work_size(&c->attn, c->n_ctx, c->n_threads);
	if (c->ring_rows) {
		size_t s = ops_attention_work_size(&c->attn_swa, c->ring_rows, c->n_threads);
		if (s > attn_work)
			attn_work = s;
	}
	if (attn_work > work)
		work = attn_work;

	c->layer_off = calloc((size_t)hp->n_layer, sizeof(*c->layer_off));
	if (c->layer_off) {
		size_t off = 0;
		for (int il = 0; il < hp->n_layer; il++) {
			c->layer_off[il] = off;
			bool ring = c->ring_rows && c->w->layers[il].swa;
			off += (size_t)(ring ? c->ring_rows : c->n_ctx) * row;
		}
		c->cache_bytes = off;
	}
	if (hp->max_alibi_bias > 0.0f) {
		c->alibi = ctx_alloc_floats((size_t)hp->n_head);
		if (c->alibi)
			ops_alibi_slopes(c->alibi, hp->n_head, hp->max_alibi_bias);
		c->attn.alibi_slopes = c->attn_swa.alibi_slopes = c->alibi;
	}
	const bool gelu = hp->arch->ffn != ARCH_FFN_SWIGLU && !hp->arch->ffn_up_fused;
	if (gelu) {
		c->gelu = malloc(OPS_GELU_TABLE_SIZE * sizeof(*c->gelu));
		if (c->gelu)
			ops_gelu_table(c->gelu);
	}
	if (dtype_info(p->kv_type)->quantized && hp->head_dim % 64 == 0) {
		/* K: the largest power of two from 64 on that divides a head; V: 64. */
		c->rot_k = 64;
		while (hp->head_dim % (2 * c->rot_k) == 0 && 2 * c->rot_k <= CTX_MAX_ROT)
			c->rot_k *= 2;
		c->rot_v = 64;
		c->k_rot = ctx_alloc_floats((size_t)c->rot_k * c->rot_k);
		c->v_rot = ctx_alloc_floats((size_t)c->rot_v * c->rot_v);
		if (c->k_rot && c->v_rot) {
			ctx_hadamard(c->k_rot, c->rot_k);
			ctx_hadamard(c->v_rot, c->rot_v);
		}
	}
	c->k_cache = calloc(1, c->cache_bytes ? c->cache_bytes : 1);
	c->v_cache = calloc(1, c->cache_bytes ? c->cache_bytes : 1);
	struct ctx_rows rows[CTX_ROW_BUFFERS];
	const int n_rows = ctx_row_buffers(c, rows);
	bool rows_ok = true;
	for (int i = 0; i < n_rows; i++)
		rows_ok &= (*rows[i].buf = ctx_alloc_floats(nb * rows[i].width)) != NULL;
	c->work_bytes = (work + 63) / 64 * 64 + 64;
	c->work = aligned_alloc(64, c->work_bytes);
	c->logits_cap = 1;
	c->logits = ctx_alloc_floats((size_t)hp->n_vocab);
	if (!c->layer_off || !c->k_cache || !c->v_cache || !rows_ok || !c->work || !c->logits ||
	    (hp->max_alibi_bias > 0.0f && !c->alibi) || (gelu && !c->gelu) ||
	    (c->rot_k && (!c->k_rot || !c->v_rot))) {
		size_t kv_mib = 2 * c->cache_bytes >> 20;
		int n_ctx = c->n_ctx;
		ctx_free(c);
		return lt_seterr(err, errlen, LT_E_NOMEM,
				 "out of memory for a context of %d positions (KV cache %zu MiB)", n_ctx,
				 kv_mib);
	}
	*out = c;
	return 0;
}

void ctx_free(struct ctx *c)
{
	if (!c)
		return;
	free(c->layer_off);
	free(c->alibi);
	free(c->gelu);
	free(c->k_rot);
	free(c->v_rot);
	free(c->k_cache);
	free(c->v_cache);
	free(c->x);
	free(c->xb);
	free(c->xb2);
	free(c->ao);
	free(c->fo);
	free(c->qkv);
	free(c->q);
	free(c->k);
	free(c->v);
	free(c->att);
	free(c->hb);
	free(c->hb2);
	free(c->rope_cs);
	free(c->rope_cs_swa);
	free(c->work);
	free(c->logits);
	free(c);
}

/* ---- the forward pass ---------------------------------------------------- */

static bool ctx_aborted(const struct ctx *c)
{
	return c->abort && atomic_load(c->abort);
}

/* Writes rows (n, n_head_kv*head_dim) of src into the cache rows of
 * positions pos.. of layer il, converting them to the KV type (so F16 rounds
 * them, as llama.cpp's cache does). */
static void ctx_store_rows(const struct ctx *c, uint8_t *cache, int il, const float *src, int n,
			   int pos)
{
	const int64_t kv_dim = (int64_t)c->hp->n_head_kv * c->hp->head_dim;
	const int ring = ctx_layer_ring(c, il) ? c->ring_rows : 0;
	uint8_t *layer = cache + c->layer_off[il];
	for (int t = 0; t < n; t++) {
		const int p = pos + t;
		uint8_t *dst = layer + (size_t)(ring ? p % ring : p) * c->attn.kv_row_bytes;
		if (c->attn.kv_type == GGML_TYPE_F32)
			memcpy(dst, src + (size_t)t * kv_dim, c->attn.kv_row_bytes);
		else if (c->attn.kv_type == GGML_TYPE_Q8_0)
			quant_q8_0_like_ggml_cpu(src + (size_t)t * kv_dim, dst, kv_dim);
		else
			c->kv_kern->from_float(src + (size_t)t * kv_dim, dst, kv_dim);
	}
}

/* Per-token row operations of a batch: norms, rope, residual adds,
 * activations. They split across the threads once the batch is big enough
 * to repay waking them; decode runs them on the calling thread. */
#define CTX_PARALLEL_MIN_TOKENS 4

typedef void (*ctx_token_fn)(struct ctx *c, int t, const void *arg);

struct ctx_token_job {
	struct ctx *c;
	int t0;
	ctx_token_fn fn;
	const void *arg;
};

static void ctx_token_chunk(void *arg, int64_t i, int thread)
{
	const struct ctx_token_job *j = arg;
	j->fn(j->c, j->t0 + (int)i, j->arg);
}

static void ctx_each_token(struct ctx *c, int t0, int t1, ctx_token_fn fn, const void *arg)
{
	if (c->n_run > 1 && t1 - t0 >= CTX_PARALLEL_MIN_TOKENS) {
		struct ctx_token_job j = { c, t0, fn, arg };
		pool_run(c->n_run, t1 - t0, ctx_token_chunk, &j);
		return;
	}
	for (int t = t0; t < t1; t++)
		fn(c, t, arg);
}

/* A norm of rows of width n: out[t] = norm(in[t]) * w (+ b). */
struct ctx_norm_job {
	float *out;
	const float *in;
	const float *w, *b;
	int n;         /* row width */
	int stride;    /* floats between rows */
	bool layer;    /* LayerNorm rather than RMSNorm */
};

static void ctx_token_norm(struct ctx *c, int t, const void *arg)
{
	const struct ctx_norm_job *j = arg;
	const size_t off = (size_t)t * j->stride;
	if (j->layer)
		ops_layernorm(j->out + off, j->in + off, j->w, j->b, j->n, c->hp->norm_eps);
	else
		ops_rmsnorm(j->out + off, j->in + off, j->w, j->n, c->hp->norm_eps);
}

/* out = norm(in) over the n tokens of the batch with the model's norm kind;
 * a NULL weight copies in (a block without that norm). */
static void ctx_norm(struct ctx *c, float *out, const float *in, const float *w, const float *b,
		     int n)
{
	const int n_embd = c->hp->n_embd;
	if (!w) {
		if (out != in)
			memcpy(out, in, (size_t)n * n_embd * sizeof(float));
		return;
	}
	struct ctx_norm_job j = { out, in, w, b, n_embd, n_embd,
				  c->hp->arch->norm == ARCH_NORM_LAYER };
	ctx_each_token(c, 0, n, ctx_token_norm, &j);
}

/* A per-head (or whole-row) RMSNorm of q or k. */
static void ctx_qk_norm(struct ctx *c, float *x, const float *w, int n_heads, int n)
{
	const int hd = c->hp->head_dim;
	const bool head = c->hp->arch->qk_norm == ARCH_QK_NORM_HEAD;
	struct ctx_norm_job j = { x, x, w, NULL, head ? hd : n_heads * hd, head ? hd : n_heads * hd,
				  false };
	ctx_each_token(c, 0, head ? n * n_heads : n, ctx_token_norm, &j);
}

/* The rope of one layer kind: its parameters and per-token angles. */
struct ctx_rope_job {
	const struct ops_rope *rope;
	const float *cs;
};

static void ctx_token_rope(struct ctx *c, int t, const void *arg)
{
	const struct ctx_rope_job *j = arg;
	const struct model_hparams *hp = c->hp;
	const float *cs = j->cs + (size_t)t * hp->rope.n_rot;
	ops_rope_apply(j->rope, c->q + (size_t)t * hp->n_head * hp->head_dim, hp->n_head,
		       hp->head_dim, cs);
	ops_rope_apply(j->rope, c->k + (size_t)t * hp->n_head_kv * hp->head_dim, hp->n_head_kv,
		       hp->head_dim, cs);
}

/* x[t] += scale * a[t] (+ b[t] when given): the residual adds. The block
 * output a is scratch, so it is scaled in place. */
struct ctx_add_job {
	float *a;
	const float *b;
	float scale;
};

static void ctx_token_residual(struct ctx *c, int t, const void *arg)
{
	const struct ctx_add_job *j = arg;
	const size_t n_embd = (size_t)c->hp->n_embd;
	float *x = c->x + t * n_embd;
	float *a = j->a + t * n_embd;
	if (j->scale != 1.0f)
		ops_scale(a, (int)n_embd, j->scale);
	ops_add(x, a, (int)n_embd);
	if (j->b)
		ops_add(x, j->b + t * n_embd, (int)n_embd);
}

/* hb[t] = act(hb[t]) (* hb2[t]), or from the fused gate-and-up rows of hb2. */
static void ctx_token_act(struct ctx *c, int t, const void *unused)
{
	(void)unused;
	const size_t n_ff = (size_t)c->hp->n_ff;
	float *h = c->hb + t * n_ff;
	if (c->hp->arch->ffn_up_fused) {
		const float *gu = c->hb2 + t * 2 * n_ff;
		ops_swiglu(h, gu, gu + n_ff, (int)n_ff);
		return;
	}
	switch (c->hp->arch->ffn) {
	case ARCH_FFN_SWIGLU:
		ops_swiglu(h, h, c->hb2 + t * n_ff, (int)n_ff);
		break;
	case ARCH_FFN_GEGLU:
		ops_geglu(h, h, c->hb2 + t * n_ff, (int)n_ff, c->gelu);
		break;
	case ARCH_FFN_GELU:
		ops_gelu(h, h, (int)n_ff, c->gelu);
		break;
	}
}

/* y (n, n_out) = m . x (+ b) */
static void ctx_linear(struct ctx *c, float *y, const struct ops_mat *m, const float *b,
		       const float *x, int n)
{
	ops_matmul(y, m, x, n, c->work, c->n_run);
	if (b)
		ops_add_bias(y, b, (int)m->n_out, n);
}

/* ys[i] (n, n_out) = ms[i] . x (+ bs[i]) for matrices that read the same
 * input, in one loop of the pool where their kernels allow. */
static void ctx_linear_multi(struct ctx *c, float *const *ys, const struct ops_mat *const *ms,
			     const float *const *bs, int count, const float *x, int n)
{
	ops_matmul_multi(ys, ms, count, x, n, c->work, c->n_run);
	for (int i = 0; i < count; i++)
		if (bs[i])
			ops_add_bias(ys[i], bs[i], (int)ms[i]->n_out, n);
}

/* q, k, v of the batch from the attention input in; biases, clamping and
 * the q/k norms applied. */
static void ctx_qkv(struct ctx *c, const struct model_layer *l, const float *in, int n)
{
	const struct model_hparams *hp = c->hp;
	const int q_dim = hp->n_head * hp->head_dim;
	const int kv_dim = hp->n_head_kv * hp->head_dim;
	if (l->wqkv.data) {
		const int width = q_dim + 2 * kv_dim;
		ctx_linear(c, c->qkv, &l->wqkv, l->bqkv, in, n);
		if (hp->clamp_kqv > 0.0f)
			ops_clamp(c->qkv, n * width, hp->clamp_kqv);
		for (int t = 0; t < n; t++) {
			const float *r = c->qkv + (size_t)t * width;
			memcpy(c->q + (size_t)t * q_dim, r, q_dim * sizeof(float));
			memcpy(c->k + (size_t)t * kv_dim, r + q_dim, kv_dim * sizeof(float));
			memcpy(c->v + (size_t)t * kv_dim, r + q_dim + kv_dim, kv_dim * sizeof(float));
		}
	} else {
		float *const ys[] = { c->q, c->k, c->v };
		const struct ops_mat *const ms[] = { &l->wq, &l->wk, &l->wv };
		const float *const bs[] = { l->bq, l->bk, l->bv };
		ctx_linear_multi(c, ys, ms, bs, 3, in, n);
		if (hp->clamp_kqv > 0.0f) {
			ops_clamp(c->q, n * q_dim, hp->clamp_kqv);
			ops_clamp(c->k, n * kv_dim, hp->clamp_kqv);
			ops_clamp(c->v, n * kv_dim, hp->clamp_kqv);
		}
	}
	if (l->q_norm)
		ctx_qk_norm(c, c->q, l->q_norm, hp->n_head, n);
	if (l->k_norm)
		ctx_qk_norm(c, c->k, l->k_norm, hp->n_head_kv, n);
}

/* ao = attention block of layer il over the input in (n tokens at pos..). */
static void ctx_attention(struct ctx *c, int il, const float *in, int n, int pos)
{
	const struct model_hparams *hp = c->hp;
	const struct model_layer *l = &c->w->layers[il];
	ctx_qkv(c, l, in, n);
	if (hp->use_rope) {
		struct ctx_rope_job j = { l->swa ? &c->rope_swa : &c->rope,
					  l->swa ? c->rope_cs_swa : c->rope_cs };
		ctx_each_token(c, 0, n, ctx_token_rope, &j);
	}
	if (hp->arch->q_prescale)
		ops_scale(c->q, n * hp->n_head * hp->head_dim, hp->attn_scale);
	const size_t q_len = (size_t)n * hp->n_head * hp->head_dim;
	const size_t kv_len = (size_t)n * hp->n_head_kv * hp->head_dim;
	float tmp[CTX_MAX_ROT];
	if (c->k_rot) {
		ctx_rotate(c->k_rot, c->rot_k, c->q, q_len, tmp);
		ctx_rotate(c->k_rot, c->rot_k, c->k, kv_len, tmp);
		ctx_rotate(c->v_rot, c->rot_v, c->v, kv_len, tmp);
	}
	ctx_store_rows(c, c->k_cache, il, c->k, n, pos);
	ctx_store_rows(c, c->v_cache, il, c->v, n, pos);
	/* The KV type was checked in ctx_new, so this cannot fail. */
	(void)ops_attention(l->swa ? &c->attn_swa : &c->attn, c->att, c->q,
			    c->k_cache + c->layer_off[il], c->v_cache + c->layer_off[il], n, pos,
			    c->work, c->n_run);
	if (c->v_rot)
		ctx_rotate(c->v_rot, c->rot_v, c->att, q_len, tmp);
	ctx_linear(c, c->ao, &l->wo, l->bo, c->att, n);
	if (l->attn_post_norm)
		ctx_norm(c, c->ao, c->ao, l->attn_post_norm, NULL, n);
}

/* fo = feed-forward block of layer il over the input in. */
static void ctx_ffn(struct ctx *c, const struct model_layer *l, const float *in, int n)
{
	if (c->hp->arch->ffn_up_fused) {
		ctx_linear(c, c->hb2, &l->w_up, l->b_up, in, n);
	} else if (l->w_gate.data) {
		float *const ys[] = { c->hb, c->hb2 };
		const struct ops_mat *const ms[] = { &l->w_gate, &l->w_up };
		const float *const bs[] = { l->b_gate, l->b_up };
		ctx_linear_multi(c, ys, ms, bs, 2, in, n);
	} else {
		ctx_linear(c, c->hb, &l->w_up, l->b_up, in, n);
	}
	ctx_each_token(c, 0, n, ctx_token_act, NULL);
	ctx_linear(c, c->fo, &l->w_down, l->b_down, c->hb, n);
	if (l->ffn_post_norm)
		ctx_norm(c, c->fo, c->fo, l->ffn_post_norm, NULL, n);
}

/* One transformer block over the batch in c->x (n tokens at positions pos..),
 * built as the architecture's row says. */
static void ctx_layer(struct ctx *c, int il, int n, int pos)
{
	const struct model_hparams *hp = c->hp;
	const struct model_layer *l = &c->w->layers[il];
	const float rs = hp->residual_scale;

	ctx_norm(c, c->xb, c->x, l->attn_norm, l->attn_norm_b, n);
	if (!hp->parallel_residual) {
		/* x += attn(norm x); x += ffn(norm x) */
		ctx_attention(c, il, c->xb, n, pos);
		struct ctx_add_job add_ao = { c->ao, NULL, rs };
		ctx_each_token(c, 0, n, ctx_token_residual, &add_ao);
		ctx_norm(c, c->xb2, c->x, l->ffn_norm, l->ffn_norm_b, n);
		ctx_ffn(c, l, c->xb2, n);
		struct ctx_add_job add_fo = { c->fo, NULL, rs };
		ctx_each_token(c, 0, n, ctx_token_residual, &add_fo);
		return;
	}
	/* x += attn(a) + ffn(f), both read from the same x. With an ffn_norm (GPT-NeoX)
	 * f is its own norm of x; without one (Falcon) f is the attention norm, and a
	 * second attention norm, when there is one, feeds the attention. */
	const float *attn_in = c->xb, *ffn_in = c->xb;
	if (l->ffn_norm) {
		ctx_norm(c, c->xb2, c->x, l->ffn_norm, l->ffn_norm_b, n);
		ffn_in = c->xb2;
	} else if (l->attn_norm_2) {
		ctx_norm(c, c->xb2, c->x, l->attn_norm_2, l->attn_norm_2_b, n);
		attn_in = c->xb2;
	}
	ctx_attention(c, il, attn_in, n, pos);
	ctx_ffn(c, l, ffn_in, n);
	struct ctx_add_job add = { c->fo, c->ao, rs };
	ctx_each_token(c, 0, n, ctx_token_residual, &add);
}

/* x[t] = embedding of tokens[t] at position pos+t, scaled and normed as the
 * architecture says. */
static void ctx_embed(struct ctx *c, const int32_t *tokens, int n, int pos)
{
	const struct model_hparams *hp = c->hp;
	const int n_embd = hp->n_embd;
	float *tmp = c->fo;
	for (int t = 0; t < n; t++) {
		float *x = c->x + (size_t)t * n_embd;
		ops_mat_row(&c->w->tok_embd, tokens[t], x);
		if (hp->embd_scale != 1.0f)
			ops_scale(x, n_embd, hp->embd_scale);
		if (c->w->pos_embd.data) {
			ops_mat_row(&c->w->pos_embd, pos + t, tmp);
			ops_add(x, tmp, n_embd);
		}
		if (hp->use_rope) {
			ops_rope_cache(&c->rope, pos + t, c->rope_cs + (size_t)t * hp->rope.n_rot);
			if (hp->n_swa_layers)
				ops_rope_cache(&c->rope_swa, pos + t,
					       c->rope_cs_swa + (size_t)t * hp->rope.n_rot);
		}
	}
	if (c->w->embd_norm)
		ctx_norm(c, c->x, c->x, c->w->embd_norm, c->w->embd_norm_b, n);
}

/* Evaluates one batch of n <= n_batch tokens at positions pos..; writes the
 * logits of tokens first..n-1 to logits (rows of n_vocab). */
static int ctx_forward(struct ctx *c, const int32_t *tokens, int n, int pos, int first,
		       float *logits)
{
	const struct model_hparams *hp = c->hp;
	const int n_embd = hp->n_embd;

	/* A batch adapts its thread count a layer at a time: a prompt is often
	 * a single batch, too few to measure whole batches on each count. */
	const bool adapt = n > 1 && c->n_threads > 1;
	if (adapt)
		c->n_run = c->adapt_pp.use;
	ctx_embed(c, tokens, n, pos);
	for (int il = 0; il < hp->n_layer; il++) {
		if (ctx_aborted(c))
			return lt_seterr(c->err, sizeof(c->err), LT_E_ABORTED,
					 "evaluation aborted before layer %d", il);
		if (!adapt) {
			ctx_layer(c, il, n, pos);
			continue;
		}
		c->n_run = ctx_adapt_pick(&c->adapt_pp, c->n_threads);
		const double t0 = ctx_now_ns();
		ctx_layer(c, il, n, pos);
		ctx_adapt_record(&c->adapt_pp, c->n_threads, n, ctx_now_ns() - t0);
	}
	if (adapt)
		c->n_run = c->adapt_pp.use;
	if (pos + n - 1 > c->swa_hi)
		c->swa_hi = pos + n - 1;
	if (first >= n)
		return 0;
	const int n_out = n - first;
	const size_t off = (size_t)first * n_embd;
	ctx_norm(c, c->xb + off, c->x + off, c->w->output_norm, c->w->output_norm_b, n_out);
	ops_matmul(logits, &c->w->output, c->xb + off, n_out, c->work, c->n_run);
	const size_t n_logits = (size_t)n_out * hp->n_vocab;
	if (hp->final_softcap > 0.0f)
		ops_softcap(logits, (int)n_logits, hp->final_softcap);
	if (hp->logit_scale != 1.0f)
		ops_scale(logits, (int)n_logits, 1.0f / hp->logit_scale);
	return 0;
}

/* Whether the cache can go back to n positions: a ring must still hold the
 * window that position n looks back on. */
static bool ctx_can_rewind(const struct ctx *c, int n)
{
	if (!c->hp->n_swa_layers || n == 0)
		return true;
	int need = n - c->hp->n_swa + 1;
	if (need < 0)
		need = 0;
	int oldest = c->ring_rows ? c->swa_hi - c->ring_rows + 1 : 0;
	if (oldest < c->swa_lo)
		oldest = c->swa_lo;
	return need >= oldest;
}

int ctx_eval(struct ctx *c, const int32_t *tokens, int n, int pos0, bool all_logits)
{
	c->err[0] = '\0';
	if (!tokens || n < 1)
		return lt_seterr(c->err, sizeof(c->err), LT_E_INVAL, "nothing to evaluate (%d tokens)", n);
	if (pos0 < 0 || pos0 > c->n_past)
		return lt_seterr(c->err, sizeof(c->err), LT_E_RANGE,
				 "position %d is outside the filled cache (0..%d)", pos0, c->n_past);
	if (n > c->n_ctx - pos0)
		return lt_seterr(c->err, sizeof(c->err), LT_E_FULL,
				 "context full: %d tokens at position %d exceed n_ctx %d", n, pos0,
				 c->n_ctx);
	if (pos0 < c->n_past && !ctx_can_rewind(c, pos0))
		return lt_seterr(c->err, sizeof(c->err), LT_E_RANGE,
				 "position %d has left the sliding-window cache (it holds %d..%d)", pos0,
				 c->swa_hi - c->ring_rows + 1 > c->swa_lo ? c->swa_hi - c->ring_rows + 1 : c->swa_lo,
				 c->n_past - 1);
	for (int i = 0; i < n; i++)
		if (tokens[i] < 0 || tokens[i] >= c->hp->n_vocab)
			return lt_seterr(c->err, sizeof(c->err), LT_E_RANGE,
					 "token %" PRId32 " at batch index %d is outside the vocabulary (0..%d)",
					 tokens[i], i, c->hp->n_vocab - 1);
	int need = all_logits ? n : 1;
	if (need > c->logits_cap) {
		float *p = realloc(c->logits, (size_t)need * c->hp->n_vocab * sizeof(float));
		if (!p)
			return lt_seterr(c->err, sizeof(c->err), LT_E_NOMEM,
					 "out of memory for the logits of %d tokens", n);
		c->logits = p;
		c->logits_cap = need;
	}

	ctx_kv_populate(c, pos0 + n);
	ctx_populate_scratch(c, n < c->n_batch ? n : c->n_batch);
	/* Positions from pos0 on are rewritten; until they are, they do not count. */
	c->n_logits = 0;
	c->n_past = pos0;
	if (pos0 == 0)
		c->swa_lo = 0, c->swa_hi = -1;
	for (int done = 0; done < n; done += c->n_batch) {
		int nb = n - done < c->n_batch ? n - done : c->n_batch;
		bool last = done + nb == n;
		/* Which tokens of this batch need logits, and where they go. */
		int first = all_logits ? 0 : (last ? nb - 1 : nb);
		float *dst = c->logits + (all_logits ? (size_t)done * c->hp->n_vocab : 0);
		const bool adapt = nb == 1 && c->n_threads > 1;
		c->n_run = adapt ? ctx_adapt_pick(&c->adapt, c->n_threads) : c->n_threads;
		const double t0 = adapt ? ctx_now_ns() : 0;
		int rc = ctx_forward(c, tokens + done, nb, pos0 + done, first, dst);
		if (rc)
			return rc;
		if (adapt)
			ctx_adapt_record(&c->adapt, c->n_threads, 1, ctx_now_ns() - t0);
		c->n_past = pos0 + done + nb;
	}
	c->n_logits = need;
	c->logits_first = n - need;
	c->n_eval = n;
	return 0;
}

const float *ctx_logits(const struct ctx *c, int i)
{
	if (c->n_logits == 0)
		return NULL;
	if (i == -1)
		i = c->n_eval - 1;
	if (i < c->logits_first || i >= c->logits_first + c->n_logits)
		return NULL;
	return c->logits + (size_t)(i - c->logits_first) * c->hp->n_vocab;
}

int ctx_n_past(const struct ctx *c) { return c->n_past; }
int ctx_n_ctx(const struct ctx *c) { return c->n_ctx; }
int ctx_n_vocab(const struct ctx *c) { return c->hp->n_vocab; }
const struct model *ctx_model(const struct ctx *c) { return c->m; }
const char *ctx_error(const struct ctx *c) { return c->err; }

void ctx_set_abort(struct ctx *c, const atomic_bool *flag)
{
	c->abort = flag;
}

int ctx_warmup(struct ctx *c)
{
	if (c->n_past)
		return lt_seterr(c->err, sizeof(c->err), LT_E_INVAL,
				 "warm-up needs an empty context (it holds %d positions)", c->n_past);
	const int32_t token = 0;
	int rc = ctx_eval(c, &token, 1, 0, false);
	if (rc == 0)
		rc = ctx_truncate(c, 0);
	return rc;
}

int ctx_truncate(struct ctx *c, int n)
{
	if (n < 0 || n > c->n_past)
		return lt_seterr(c->err, sizeof(c->err), LT_E_RANGE,
				 "cannot truncate to %d positions (cache holds %d)", n, c->n_past);
	/* A ring that no longer holds the window of position n starts over. */
	if (!ctx_can_rewind(c, n))
		n = 0;
	if (n == 0)
		c->swa_lo = 0, c->swa_hi = -1;
	c->n_past = n;
	c->n_logits = 0;
	return 0;
}

