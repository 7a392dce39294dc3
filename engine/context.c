#include "context.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "quant.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define CTX_DEFAULT_N_CTX 4096
#define CTX_DEFAULT_N_BATCH 512
/* Far above any real context; keeps cache size products from overflowing. */
#define CTX_MAX_N_CTX (1 << 24)

/* State images start with this magic and a version, then the shape. */
#define CTX_STATE_MAGIC 0x564b544cu /* "LTKV" read as little-endian */
#define CTX_STATE_VERSION 1u
#define CTX_STATE_HEADER_WORDS 10

struct ctx {
	const struct model *m;
	const struct model_hparams *hp;
	const struct model_weights *w;
	int n_ctx;
	int n_batch;
	int n_threads;
	int n_past;
	struct ops_attn attn;      /* shapes and KV type for ops_attention */
	const struct quant_kernels *kv_kern; /* stores rows into the cache */

	/* KV cache: layer il's K rows start at k_cache + il*layer_bytes; row p
	 * holds position p as n_head_kv*head_dim elements of the KV type. */
	uint8_t *k_cache;          /* (n_layer, n_ctx, n_head_kv*head_dim) */
	uint8_t *v_cache;          /* (n_layer, n_ctx, n_head_kv*head_dim) */
	size_t layer_bytes;        /* n_ctx * attn.kv_row_bytes */

	/* Activations of one batch of up to n_batch tokens. */
	float *x;                  /* (n_batch, n_embd) residual stream */
	float *xb;                 /* (n_batch, n_embd) normed input / block output */
	float *q;                  /* (n_batch, n_head*head_dim) */
	float *k;                  /* (n_batch, n_head_kv*head_dim) */
	float *v;                  /* (n_batch, n_head_kv*head_dim) */
	float *att;                /* (n_batch, n_head*head_dim) attention output */
	float *hb;                 /* (n_batch, n_ff) gate, then swiglu */
	float *hb2;                /* (n_batch, n_ff) up */
	float *rope_cs;            /* (n_batch, n_rot) cos, sin per pair and token */
	void *work;                /* matmul and attention scratch */

	/* Logits of the last eval: rows for batch tokens logits_first.. */
	float *logits;             /* (logits_cap, n_vocab) */
	int logits_cap;
	int n_logits;
	int logits_first;
	int n_eval;                /* tokens in the last eval */

	const atomic_bool *abort;
	char err[256];
};

struct ctx_params ctx_params_default(void)
{
	return (struct ctx_params){ .kv_type = GGML_TYPE_F16 };
}

static int ctx_default_threads(void)
{
#ifdef _OPENMP
	return omp_get_max_threads();
#else
	return 1;
#endif
}

/* The largest matmul scratch any weight of the model needs for n_tok rows. */
static size_t ctx_matmul_work(const struct model_weights *w, int n_layer, int n_tok,
			      int n_threads)
{
	size_t max = ops_matmul_work_size(&w->output, n_tok, n_threads);
	for (int il = 0; il < n_layer; il++) {
		const struct model_layer *l = &w->layers[il];
		const struct ops_mat *mats[] = { &l->wq, &l->wk, &l->wv, &l->wo,
						 &l->w_gate, &l->w_up, &l->w_down };
		for (size_t i = 0; i < sizeof(mats) / sizeof(mats[0]); i++) {
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

int ctx_new(struct ctx **out, const struct model *m, const struct ctx_params *p, char *err,
	    size_t errlen)
{
	*out = NULL;
	struct ctx_params defaults = ctx_params_default();
	if (!p)
		p = &defaults;
	const struct model_hparams *hp = model_hparams(m);
	if (p->kv_type != GGML_TYPE_F16 && p->kv_type != GGML_TYPE_F32)
		return lt_seterr(err, errlen, LT_E_UNSUPPORTED,
				 "KV cache type %s is not supported (f16 or f32)", dtype_name(p->kv_type));
	if (p->n_ctx < 0 || p->n_ctx > CTX_MAX_N_CTX || p->n_batch < 0 || p->n_threads < 0)
		return lt_seterr(err, errlen, LT_E_INVAL,
				 "invalid context parameters: n_ctx %d, n_batch %d, n_threads %d",
				 p->n_ctx, p->n_batch, p->n_threads);

	struct ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	c->m = m;
	c->hp = hp;
	c->w = model_weights(m);
	c->n_ctx = p->n_ctx ? p->n_ctx
			    : (hp->n_ctx_train < CTX_DEFAULT_N_CTX ? hp->n_ctx_train : CTX_DEFAULT_N_CTX);
	c->n_batch = p->n_batch ? p->n_batch : CTX_DEFAULT_N_BATCH;
	if (c->n_batch > c->n_ctx)
		c->n_batch = c->n_ctx;
	c->n_threads = p->n_threads ? p->n_threads : ctx_default_threads();
	c->attn = (struct ops_attn){
		.n_head = hp->n_head,
		.n_head_kv = hp->n_head_kv,
		.head_dim = hp->head_dim,
		.kv_type = p->kv_type,
		.kv_row_bytes = dtype_row_bytes(p->kv_type, (int64_t)hp->n_head_kv * hp->head_dim),
		.scale = 1.0f / sqrtf((float)hp->head_dim),
	};
	c->kv_kern = quant_best(p->kv_type);
	if (!c->kv_kern || !c->kv_kern->from_float) {
		free(c);
		return lt_seterr(err, errlen, LT_E_UNSUPPORTED, "no kernels for KV cache type %s",
				 dtype_name(p->kv_type));
	}

	const size_t nb = (size_t)c->n_batch;
	const size_t q_dim = (size_t)hp->n_head * hp->head_dim;
	const size_t kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
	c->layer_bytes = (size_t)c->n_ctx * c->attn.kv_row_bytes;
	size_t work = ctx_matmul_work(c->w, hp->n_layer, c->n_batch, c->n_threads);
	size_t attn_work = ops_attention_work_size(&c->attn, c->n_ctx, c->n_threads);
	if (attn_work > work)
		work = attn_work;

	c->k_cache = calloc((size_t)hp->n_layer, c->layer_bytes);
	c->v_cache = calloc((size_t)hp->n_layer, c->layer_bytes);
	c->x = ctx_alloc_floats(nb * hp->n_embd);
	c->xb = ctx_alloc_floats(nb * hp->n_embd);
	c->q = ctx_alloc_floats(nb * q_dim);
	c->k = ctx_alloc_floats(nb * kv_dim);
	c->v = ctx_alloc_floats(nb * kv_dim);
	c->att = ctx_alloc_floats(nb * q_dim);
	c->hb = ctx_alloc_floats(nb * hp->n_ff);
	c->hb2 = ctx_alloc_floats(nb * hp->n_ff);
	c->rope_cs = ctx_alloc_floats(nb * hp->rope.n_rot);
	c->work = aligned_alloc(64, (work + 63) / 64 * 64 + 64);
	c->logits_cap = 1;
	c->logits = ctx_alloc_floats((size_t)hp->n_vocab);
	if (!c->k_cache || !c->v_cache || !c->x || !c->xb || !c->q || !c->k || !c->v || !c->att ||
	    !c->hb || !c->hb2 || !c->rope_cs || !c->work || !c->logits) {
		size_t kv_mib = 2 * (size_t)hp->n_layer * c->layer_bytes >> 20;
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
	free(c->k_cache);
	free(c->v_cache);
	free(c->x);
	free(c->xb);
	free(c->q);
	free(c->k);
	free(c->v);
	free(c->att);
	free(c->hb);
	free(c->hb2);
	free(c->rope_cs);
	free(c->work);
	free(c->logits);
	free(c);
}

/* ---- the forward pass ---------------------------------------------------- */

static bool ctx_aborted(const struct ctx *c)
{
	return c->abort && atomic_load(c->abort);
}

/* Writes rows (n, n_head_kv*head_dim) of src into cache rows pos.. of the
 * layer, converting them to the KV type (so F16 rounds them, as llama.cpp's
 * cache does). */
static void ctx_store_rows(const struct ctx *c, uint8_t *layer, const float *src, int n, int pos)
{
	const int64_t kv_dim = (int64_t)c->hp->n_head_kv * c->hp->head_dim;
	for (int t = 0; t < n; t++) {
		uint8_t *dst = layer + (size_t)(pos + t) * c->attn.kv_row_bytes;
		if (c->attn.kv_type == GGML_TYPE_F32)
			memcpy(dst, src + (size_t)t * kv_dim, c->attn.kv_row_bytes);
		else
			c->kv_kern->from_float(src + (size_t)t * kv_dim, dst, kv_dim);
	}
}

/* Per-token row operations of a batch: norms, rope, residual adds, SwiGLU.
 * They split across the threads once the batch is big enough to repay
 * waking them; decode runs them on the calling thread. */
#define CTX_PARALLEL_MIN_TOKENS 4

typedef void (*ctx_token_fn)(struct ctx *c, int t, const float *arg);

static void ctx_each_token(struct ctx *c, int t0, int t1, ctx_token_fn fn, const float *arg)
{
#ifdef _OPENMP
	if (c->n_threads > 1 && t1 - t0 >= CTX_PARALLEL_MIN_TOKENS) {
#pragma omp parallel for num_threads(c->n_threads)
		for (int t = t0; t < t1; t++)
			fn(c, t, arg);
		return;
	}
#endif
	for (int t = t0; t < t1; t++)
		fn(c, t, arg);
}

/* xb[t] = rmsnorm(x[t]) * weight */
static void ctx_token_norm(struct ctx *c, int t, const float *weight)
{
	const size_t n_embd = (size_t)c->hp->n_embd;
	ops_rmsnorm(c->xb + t * n_embd, c->x + t * n_embd, weight, (int)n_embd, c->hp->norm_eps);
}

/* Rotates q[t] and k[t] by the angles of token t. */
static void ctx_token_rope(struct ctx *c, int t, const float *unused)
{
	(void)unused;
	const struct model_hparams *hp = c->hp;
	const float *cs = c->rope_cs + (size_t)t * hp->rope.n_rot;
	ops_rope_apply(&hp->rope, c->q + (size_t)t * hp->n_head * hp->head_dim, hp->n_head,
		       hp->head_dim, cs);
	ops_rope_apply(&hp->rope, c->k + (size_t)t * hp->n_head_kv * hp->head_dim, hp->n_head_kv,
		       hp->head_dim, cs);
}

/* x[t] += xb[t] */
static void ctx_token_residual(struct ctx *c, int t, const float *unused)
{
	(void)unused;
	const size_t n_embd = (size_t)c->hp->n_embd;
	ops_add(c->x + t * n_embd, c->xb + t * n_embd, (int)n_embd);
}

/* hb[t] = silu(hb[t]) * hb2[t] */
static void ctx_token_swiglu(struct ctx *c, int t, const float *unused)
{
	(void)unused;
	const size_t n_ff = (size_t)c->hp->n_ff;
	ops_swiglu(c->hb + t * n_ff, c->hb + t * n_ff, c->hb2 + t * n_ff, (int)n_ff);
}

/* One transformer block over the batch in c->x (n tokens at positions pos..). */
static void ctx_layer(struct ctx *c, int il, int n, int pos)
{
	const struct model_hparams *hp = c->hp;
	const struct model_layer *l = &c->w->layers[il];
	const int n_embd = hp->n_embd;
	const int q_dim = hp->n_head * hp->head_dim;
	const int kv_dim = hp->n_head_kv * hp->head_dim;
	const int nth = c->n_threads;

	/* Attention: x += wo . attention(rope(wq . norm(x)), rope(wk . norm(x)), wv . norm(x)) */
	ctx_each_token(c, 0, n, ctx_token_norm, l->attn_norm);
	ops_matmul(c->q, &l->wq, c->xb, n, c->work, nth);
	ops_matmul(c->k, &l->wk, c->xb, n, c->work, nth);
	ops_matmul(c->v, &l->wv, c->xb, n, c->work, nth);
	if (l->bq)
		ops_add_bias(c->q, l->bq, q_dim, n);
	if (l->bk)
		ops_add_bias(c->k, l->bk, kv_dim, n);
	if (l->bv)
		ops_add_bias(c->v, l->bv, kv_dim, n);
	ctx_each_token(c, 0, n, ctx_token_rope, NULL);
	uint8_t *kl = c->k_cache + (size_t)il * c->layer_bytes;
	uint8_t *vl = c->v_cache + (size_t)il * c->layer_bytes;
	ctx_store_rows(c, kl, c->k, n, pos);
	ctx_store_rows(c, vl, c->v, n, pos);
	/* The KV type was checked in ctx_new, so this cannot fail. */
	(void)ops_attention(&c->attn, c->att, c->q, kl, vl, n, pos, c->work, nth);
	ops_matmul(c->xb, &l->wo, c->att, n, c->work, nth);
	if (l->bo)
		ops_add_bias(c->xb, l->bo, n_embd, n);
	ctx_each_token(c, 0, n, ctx_token_residual, NULL);

	/* Feed-forward: x += w_down . (silu(w_gate . norm(x)) * (w_up . norm(x))) */
	ctx_each_token(c, 0, n, ctx_token_norm, l->ffn_norm);
	ops_matmul(c->hb, &l->w_gate, c->xb, n, c->work, nth);
	ops_matmul(c->hb2, &l->w_up, c->xb, n, c->work, nth);
	ctx_each_token(c, 0, n, ctx_token_swiglu, NULL);
	ops_matmul(c->xb, &l->w_down, c->hb, n, c->work, nth);
	ctx_each_token(c, 0, n, ctx_token_residual, NULL);
}

/* Evaluates one batch of n <= n_batch tokens at positions pos..; writes the
 * logits of tokens first..n-1 to logits (rows of n_vocab). */
static int ctx_forward(struct ctx *c, const int32_t *tokens, int n, int pos, int first,
		       float *logits)
{
	const struct model_hparams *hp = c->hp;
	const int n_embd = hp->n_embd;

	for (int t = 0; t < n; t++) {
		ops_mat_row(&c->w->tok_embd, tokens[t], c->x + (size_t)t * n_embd);
		ops_rope_cache(&hp->rope, pos + t, c->rope_cs + (size_t)t * hp->rope.n_rot);
	}
	for (int il = 0; il < hp->n_layer; il++) {
		if (ctx_aborted(c))
			return lt_seterr(c->err, sizeof(c->err), LT_E_ABORTED,
					 "evaluation aborted before layer %d", il);
		ctx_layer(c, il, n, pos);
	}
	if (first >= n)
		return 0;
	ctx_each_token(c, first, n, ctx_token_norm, c->w->output_norm);
	ops_matmul(logits, &c->w->output, c->xb + (size_t)first * n_embd, n - first, c->work,
		   c->n_threads);
	return 0;
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

	/* Positions from pos0 on are rewritten; until they are, they do not count. */
	c->n_logits = 0;
	c->n_past = pos0;
	for (int done = 0; done < n; done += c->n_batch) {
		int nb = n - done < c->n_batch ? n - done : c->n_batch;
		bool last = done + nb == n;
		/* Which tokens of this batch need logits, and where they go. */
		int first = all_logits ? 0 : (last ? nb - 1 : nb);
		float *dst = c->logits + (all_logits ? (size_t)done * c->hp->n_vocab : 0);
		int rc = ctx_forward(c, tokens + done, nb, pos0 + done, first, dst);
		if (rc)
			return rc;
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

int ctx_truncate(struct ctx *c, int n)
{
	if (n < 0 || n > c->n_past)
		return lt_seterr(c->err, sizeof(c->err), LT_E_RANGE,
				 "cannot truncate to %d positions (cache holds %d)", n, c->n_past);
	c->n_past = n;
	c->n_logits = 0;
	return 0;
}

/* ---- state save and load ------------------------------------------------- */

/* The header words, in order. The image is in host byte order, which must
 * be little-endian like the GGUF files the weights come from. */
static void ctx_state_header(const struct ctx *c, int n_past, bool has_logits,
			     uint32_t h[CTX_STATE_HEADER_WORDS])
{
	h[0] = CTX_STATE_MAGIC;
	h[1] = CTX_STATE_VERSION;
	h[2] = (uint32_t)c->hp->n_layer;
	h[3] = (uint32_t)c->hp->n_head_kv;
	h[4] = (uint32_t)c->hp->head_dim;
	h[5] = (uint32_t)c->attn.kv_type;
	h[6] = (uint32_t)c->hp->n_vocab;
	h[7] = (uint32_t)c->hp->n_embd;
	h[8] = (uint32_t)n_past;
	h[9] = has_logits ? 1u : 0u;
}

static bool ctx_has_last_logits(const struct ctx *c)
{
	return ctx_logits(c, -1) != NULL;
}

static size_t ctx_state_bytes(const struct ctx *c, int n_past, bool has_logits)
{
	return CTX_STATE_HEADER_WORDS * sizeof(uint32_t) +
	       2 * (size_t)c->hp->n_layer * (size_t)n_past * c->attn.kv_row_bytes +
	       (has_logits ? (size_t)c->hp->n_vocab * sizeof(float) : 0);
}

size_t ctx_state_size(const struct ctx *c)
{
	return ctx_state_bytes(c, c->n_past, ctx_has_last_logits(c));
}

int ctx_state_save(const struct ctx *c, void *buf, size_t size)
{
	const bool has_logits = ctx_has_last_logits(c);
	if (size < ctx_state_bytes(c, c->n_past, has_logits))
		return LT_E_FULL;
	uint32_t h[CTX_STATE_HEADER_WORDS];
	ctx_state_header(c, c->n_past, has_logits, h);
	uint8_t *p = buf;
	memcpy(p, h, sizeof(h));
	p += sizeof(h);
	const size_t rows = (size_t)c->n_past * c->attn.kv_row_bytes;
	for (int il = 0; il < c->hp->n_layer; il++) {
		memcpy(p, c->k_cache + (size_t)il * c->layer_bytes, rows);
		p += rows;
		memcpy(p, c->v_cache + (size_t)il * c->layer_bytes, rows);
		p += rows;
	}
	if (has_logits)
		memcpy(p, ctx_logits(c, -1), (size_t)c->hp->n_vocab * sizeof(float));
	return 0;
}

int ctx_state_load(struct ctx *c, const void *buf, size_t size)
{
	static const char *const fields[CTX_STATE_HEADER_WORDS] = {
		"magic", "version", "layer count", "KV head count", "head size",
		"KV type", "vocabulary size", "embedding size", "positions", "logits flag",
	};
	uint32_t h[CTX_STATE_HEADER_WORDS], want[CTX_STATE_HEADER_WORDS];
	if (size < sizeof(h))
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
				 "state image too short (%zu bytes) for its header", size);
	memcpy(h, buf, sizeof(h));
	if (h[8] > (uint32_t)c->n_ctx)
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
				 "state holds %" PRIu32 " positions, more than n_ctx %d", h[8], c->n_ctx);
	if (h[9] > 1)
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT, "state has a bad logits flag");
	ctx_state_header(c, (int)h[8], h[9] != 0, want);
	for (int i = 0; i < 8; i++)
		if (h[i] != want[i])
			return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
					 "state %s is %" PRIu32 ", this context has %" PRIu32, fields[i],
					 h[i], want[i]);
	const int n_past = (int)h[8];
	const bool has_logits = h[9] != 0;
	if (size != ctx_state_bytes(c, n_past, has_logits))
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
				 "state image is %zu bytes, its header implies %zu", size,
				 ctx_state_bytes(c, n_past, has_logits));

	const uint8_t *p = (const uint8_t *)buf + sizeof(h);
	const size_t rows = (size_t)n_past * c->attn.kv_row_bytes;
	for (int il = 0; il < c->hp->n_layer; il++) {
		memcpy(c->k_cache + (size_t)il * c->layer_bytes, p, rows);
		p += rows;
		memcpy(c->v_cache + (size_t)il * c->layer_bytes, p, rows);
		p += rows;
	}
	c->n_past = n_past;
	c->n_logits = 0;
	if (has_logits) {
		memcpy(c->logits, p, (size_t)c->hp->n_vocab * sizeof(float));
		c->n_logits = 1;
		c->logits_first = 0;
		c->n_eval = 1;
	}
	c->err[0] = '\0';
	return 0;
}
