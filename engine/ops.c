#include "ops.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "errors.h"
#include "kernels.h"
#include "pool.h"


/* Rows of converted activations start on cache lines so that neighbouring
 * rows written by different threads never share one. */
#define OPS_ROW_ALIGN 64

/* Matmul tiles: a few weight rows are reused against a run of activation
 * rows while both are still in cache. */
#define OPS_TILE_ROWS 24
#define OPS_TILE_TOKENS 32

/* Multiply-adds below which one more thread costs more than it saves:
 * waking it and waiting for its chunks take about a microsecond on an idle
 * machine (pool.c's threads spin between loops). 128K multiply-adds take some 10 us: tiny
 * models such as stories260K still run most of their decode on one thread. */
#define OPS_MIN_WORK_PER_THREAD (128 * 1024)
/* A matrix-vector product waits on memory, not arithmetic: count it as this
 * many tokens' work so decode still splits medium matrices. */
#define OPS_DECODE_WEIGHT 4
/* Contiguous runs of rows per thread in a matrix-vector product. */
#define OPS_DECODE_RUNS 4

/* Threads worth using for work multiply-adds, at most n_threads. */
static int ops_threads_for(int n_threads, double work)
{
	double useful = work / OPS_MIN_WORK_PER_THREAD;
	if (useful < 1)
		return 1;
	return useful < n_threads ? (int)useful : n_threads;
}

static size_t ops_round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

/* ---- element-wise and row operations ---------------------------------- */

/* The scalar reference kernels: the SIMD ones are tested against these. */

static void ops_rmsnorm_ref(float *out, const float *x, const float *w, int n, float eps)
{
	/* A double sum keeps long rows from losing precision, as ggml does. */
	double sum = 0.0;
	for (int i = 0; i < n; i++)
		sum += (double)(x[i] * x[i]);
	float mean = (float)(sum / n);
	float scale = 1.0f / sqrtf(mean + eps);
	for (int i = 0; i < n; i++)
		out[i] = (x[i] * scale) * w[i];
}

static void ops_softmax_ref(float *x, int n)
{
	float max = -INFINITY;
	for (int i = 0; i < n; i++)
		if (x[i] > max)
			max = x[i];
	double sum = 0.0;
	for (int i = 0; i < n; i++) {
		x[i] = expf(x[i] - max);
		sum += x[i];
	}
	float inv = (float)(1.0 / sum);
	for (int i = 0; i < n; i++)
		x[i] *= inv;
}

static void ops_swiglu_ref(float *out, const float *gate, const float *up, int n)
{
	for (int i = 0; i < n; i++) {
		float g = gate[i];
		out[i] = g / (1.0f + expf(-g)) * up[i];
	}
}

static void ops_add_ref(float *y, const float *x, int n)
{
	for (int i = 0; i < n; i++)
		y[i] += x[i];
}

static void ops_exp_ref(float *y, const float *x, int n)
{
	for (int i = 0; i < n; i++)
		y[i] = expf(x[i]);
}

void ops_rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
	ops_rows_best()->rmsnorm(out, x, w, n, eps);
}

void ops_softmax(float *x, int n)
{
	ops_rows_best()->softmax(x, n);
}

void ops_swiglu(float *out, const float *gate, const float *up, int n)
{
	ops_rows_best()->swiglu(out, gate, up, n);
}

void ops_add(float *y, const float *x, int n)
{
	ops_rows_best()->add(y, x, n);
}

void ops_add_bias(float *y, const float *b, int n, int n_tok)
{
	const struct ops_row_kernels *k = ops_rows_best();
	for (int t = 0; t < n_tok; t++)
		k->add(y + (size_t)t * n, b, n);
}

void ops_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps)
{
	/* Sums in double and the variance of the centred row, as ggml_norm. */
	double sum = 0.0;
	for (int i = 0; i < n; i++)
		sum += x[i];
	const float mean = (float)(sum / n);
	double var = 0.0;
	for (int i = 0; i < n; i++) {
		float d = x[i] - mean;
		out[i] = d;
		var += (double)(d * d);
	}
	const float scale = 1.0f / sqrtf((float)(var / n) + eps);
	for (int i = 0; i < n; i++) {
		float v = out[i] * scale;
		if (w)
			v *= w[i];
		if (b)
			v += b[i];
		out[i] = v;
	}
}

/* ggml evaluates GELU through a table of f16 inputs and f16 outputs (tanh
 * form); going through the same two roundings keeps logits identical, and a
 * table makes it one lookup per element. */
void ops_gelu_table(uint16_t *table)
{
	const float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
	const float coef_a = 0.044715f;
	for (uint32_t i = 0; i < OPS_GELU_TABLE_SIZE; i++) {
		float h = fp16_to_f32((uint16_t)i);
		float g = 0.5f * h * (1.0f + tanhf(sqrt_2_over_pi * h * (1.0f + coef_a * h * h)));
		table[i] = f32_to_fp16(g);
	}
}

static inline float ops_gelu_one(float x, const uint16_t *table)
{
	if (x <= -10.0f)
		return 0.0f;
	if (x >= 10.0f)
		return x;
	return fp16_to_f32(table[f32_to_fp16(x)]);
}

void ops_gelu(float *out, const float *x, int n, const uint16_t *table)
{
	for (int i = 0; i < n; i++)
		out[i] = ops_gelu_one(x[i], table);
}

void ops_geglu(float *out, const float *gate, const float *up, int n, const uint16_t *table)
{
	/* Past +10 this multiplies the raw gate, as GELU is the identity there. */
	for (int i = 0; i < n; i++)
		out[i] = ops_gelu_one(gate[i], table) * up[i];
}

void ops_scale(float *x, int n, float s)
{
	for (int i = 0; i < n; i++)
		x[i] *= s;
}

void ops_softcap(float *x, int n, float cap)
{
	const float inv = 1.0f / cap;
	for (int i = 0; i < n; i++)
		x[i] = tanhf(x[i] * inv) * cap;
}

void ops_clamp(float *x, int n, float c)
{
	for (int i = 0; i < n; i++)
		x[i] = x[i] < -c ? -c : x[i] > c ? c : x[i];
}

/* ---- rotary position embedding ---------------------------------------- */

void ops_rope_cache(const struct ops_rope *r, int pos, float *cs)
{
	/* The angle is stepped by repeated multiplication, in float, so that
	 * the values round exactly like ggml's rope cache. */
	const float theta_scale = powf(r->freq_base, -2.0f / (float)r->n_rot);
	float theta = (float)pos;
	const float mscale = r->attn_factor > 0.0f ? r->attn_factor : 1.0f;
	for (int i = 0; i < r->n_rot / 2; i++) {
		float ff = r->freq_factors ? r->freq_factors[i] : 1.0f;
		float t = r->freq_scale * (theta / ff);
		cs[2 * i] = cosf(t) * mscale;
		cs[2 * i + 1] = sinf(t) * mscale;
		theta *= theta_scale;
	}
}

static void ops_rope_ref(const struct ops_rope *r, float *x, int n_heads, int head_dim,
			 const float *cs)
{
	const int half = r->n_rot / 2;
	for (int h = 0; h < n_heads; h++) {
		float *v = x + (size_t)h * head_dim;
		for (int i = 0; i < half; i++) {
			/* Pair i is (2i, 2i+1) in NORM mode and (i, i+half) in NEOX mode. */
			int a = r->mode == OPS_ROPE_NEOX ? i : 2 * i;
			int b = r->mode == OPS_ROPE_NEOX ? i + half : 2 * i + 1;
			float c = cs[2 * i], s = cs[2 * i + 1];
			float x0 = v[a], x1 = v[b];
			v[a] = x0 * c - x1 * s;
			v[b] = x0 * s + x1 * c;
		}
	}
}

void ops_rope_apply(const struct ops_rope *r, float *x, int n_heads, int head_dim,
		    const float *cs)
{
	ops_rows_best()->rope(r, x, n_heads, head_dim, cs);
}

/* ---- row kernel tables ------------------------------------------------- */

/* Attention scores: each dot sums in double like the reference F32 vec_dot,
 * so the scalar path keeps its results bit for bit. */
static void ops_scores_ref(float *s, const float *q, const float *k, size_t k_stride, int n_kv,
			   int hd, float scale)
{
	for (int p = 0; p < n_kv; p++) {
		const float *kp = k + (size_t)p * k_stride;
		double sum = 0;
		for (int d = 0; d < hd; d++)
			sum += (double)(q[d] * kp[d]);
		s[p] = (float)sum * scale;
	}
}

static void ops_wsum_ref(float *out, const float *w, const float *v, size_t v_stride, int n_kv,
			 int hd)
{
	memset(out, 0, (size_t)hd * sizeof(float));
	for (int p = 0; p < n_kv; p++) {
		const float *vp = v + (size_t)p * v_stride;
		const float wp = w[p];
		for (int d = 0; d < hd; d++)
			out[d] += wp * vp[d];
	}
}

static const struct ops_row_kernels ops_ref_rows = {
	.rmsnorm = ops_rmsnorm_ref,
	.softmax = ops_softmax_ref,
	.swiglu = ops_swiglu_ref,
	.add = ops_add_ref,
	.vexp = ops_exp_ref,
	.rope = ops_rope_ref,
	.scores = ops_scores_ref,
	.wsum = ops_wsum_ref,
};

const struct ops_row_kernels *ops_rows_ref(void)
{
	return &ops_ref_rows;
}

const struct ops_row_kernels *ops_rows_best(void)
{
	const struct kernel_variant *v = kernels_active();
	const struct ops_row_kernels *k = v->rows ? v->rows() : NULL;
	return k ? k : &ops_ref_rows;
}

/* ---- matrix times activations ----------------------------------------- */

int ops_mat_init(struct ops_mat *m, const void *data, enum ggml_type type, int64_t n_in,
		 int64_t n_out)
{
	memset(m, 0, sizeof(*m));
	const struct quant_kernels *k = quant_best(type);
	if (!k || !k->vec_dot || !k->to_float)
		return LT_E_UNSUPPORTED;
	const struct quant_kernels *act = quant_best(k->vec_dot_type);
	if (!act || (k->vec_dot_type != GGML_TYPE_F32 && !act->from_float))
		return LT_E_UNSUPPORTED;
	size_t row_bytes = dtype_row_bytes(type, n_in);
	/* The activations must split into whole blocks of vec_dot_type too. */
	if (row_bytes == 0 || dtype_row_bytes(k->vec_dot_type, n_in) == 0)
		return LT_E_UNSUPPORTED;
	m->data = data;
	m->type = type;
	m->n_in = n_in;
	m->n_out = n_out;
	m->row_bytes = row_bytes;
	m->kern = k;
	m->act = act;
	/* Tiles and panels go with their variant's vec_dot: a model bound to
	 * another variant's kernels (a test switched it) does not mix them. */
	const struct kernel_variant *v = kernels_active();
	bool own = v->quant && k == v->quant(type);
	m->tile = own && v->tile ? v->tile(type) : NULL;
	m->panel = own && v->panel && n_in % 32 == 0 ? v->panel(type) : NULL;
	return 0;
}

static size_t ops_act_stride(const struct ops_mat *m)
{
	return ops_round_up(dtype_row_bytes(m->kern->vec_dot_type, m->n_in), OPS_ROW_ALIGN);
}

/* Panel path: the activations in the panel format, then one packed panel
 * per thread. */
static size_t ops_panel_act_stride(const struct ops_mat *m)
{
	if (!m->panel->act_from_float)
		return 0; /* the float rows are read in place */
	return ops_round_up((size_t)(m->n_in / 32) * m->panel->act_block_bytes, OPS_ROW_ALIGN);
}

static size_t ops_panel_bytes(const struct ops_mat *m)
{
	return ops_round_up((size_t)(m->n_in / 32) * m->panel->block_bytes, OPS_ROW_ALIGN);
}

size_t ops_matmul_work_size(const struct ops_mat *m, int n_tok, int n_threads)
{
	size_t size = 0;
	if (m->kern->vec_dot_type != GGML_TYPE_F32)
		size = ops_act_stride(m) * (size_t)n_tok;
	/* The panel kernels take batches (activations and one panel per
	 * thread) when they have gemm, single tokens when they have gemv. */
	size_t panels = 0;
	if (m->panel && m->panel->gemm && n_tok >= OPS_PANEL_MIN_TOKENS)
		panels = ops_panel_act_stride(m) * (size_t)n_tok +
			 ops_panel_bytes(m) * (size_t)(n_threads > 0 ? n_threads : 1);
	else if (m->panel && m->panel->gemv && n_tok >= 1)
		panels = ops_panel_act_stride(m);
	if (panels > size)
		size = panels;
	return size;
}

/* One matrix product split into chunks for pool_run. */
struct ops_mm_job {
	float *y;
	const struct ops_mat *m;
	const float *x;
	int n_tok;
	const uint8_t *act;  /* activations in the kernels' format */
	size_t stride;       /* bytes between activation rows */
	uint8_t *dst;        /* where ops_mm_convert writes them */
	uint8_t *panels;     /* one panel of scratch per thread */
	size_t panel_bytes;
	int64_t n_units;     /* tiles, panels or row groups */
	int64_t per_chunk;   /* of them per chunk */
};

/* Chunk t: activation row t converted into dst (the panel format when the
 * matrix has panels, else vec_dot_type). */
static void ops_mm_convert(void *arg, int64_t t, int thread)
{
	const struct ops_mm_job *j = arg;
	const float *src = j->x + (size_t)t * j->m->n_in;
	if (j->panels)
		j->m->panel->act_from_float(src, j->dst + (size_t)t * j->stride, j->m->n_in);
	else
		j->m->act->from_float(src, j->dst + (size_t)t * j->stride, j->m->n_in);
}

/* Chunk p: the thread packs panel p into its own scratch and runs it
 * against every token; the packing is paid once per panel and batch. */
static void ops_mm_panel(void *arg, int64_t p, int thread)
{
	const struct ops_mm_job *j = arg;
	const struct quant_panel *pn = j->m->panel;
	const int64_t n_out = j->m->n_out;
	void *mine = j->panels + (size_t)thread * j->panel_bytes;
	const int64_t r0 = p * pn->rows;
	const int rows = n_out - r0 < pn->rows ? (int)(n_out - r0) : pn->rows;
	pn->pack(j->m->n_in, (const uint8_t *)j->m->data + (size_t)r0 * j->m->row_bytes,
		 j->m->row_bytes, rows, mine);
	pn->gemm(j->m->n_in, mine, j->act, j->stride, j->n_tok, j->y + r0, (size_t)n_out, rows);
}

static void ops_matmul_panels(float *y, const struct ops_mat *m, const float *x, int n_tok,
			      void *work, int nth)
{
	const struct quant_panel *pn = m->panel;
	struct ops_mm_job j = {
		.y = y, .m = m, .x = x, .n_tok = n_tok,
		.act = (const uint8_t *)x,
		.stride = (size_t)m->n_in * sizeof(float),
		.panel_bytes = ops_panel_bytes(m),
	};
	const size_t stride = ops_panel_act_stride(m);
	j.panels = (uint8_t *)work + stride * (size_t)n_tok;
	if (pn->act_from_float) {
		j.dst = work;
		j.stride = stride;
		pool_run(nth, n_tok, ops_mm_convert, &j);
		j.act = j.dst;
	}
	pool_run(nth, (m->n_out + pn->rows - 1) / pn->rows, ops_mm_panel, &j);
}

/* Chunk c: a contiguous run of row groups through the panel gemv. */
static void ops_mm_gemv(void *arg, int64_t c, int thread)
{
	const struct ops_mm_job *j = arg;
	const struct quant_panel *pn = j->m->panel;
	const int64_t n_out = j->m->n_out;
	const int64_t g1 = (c + 1) * j->per_chunk < j->n_units ? (c + 1) * j->per_chunk : j->n_units;
	for (int64_t g = c * j->per_chunk; g < g1; g++) {
		const int64_t r0 = g * pn->rows;
		const int rows = n_out - r0 < pn->rows ? (int)(n_out - r0) : pn->rows;
		pn->gemv(j->m->n_in, (const uint8_t *)j->m->data + (size_t)r0 * j->m->row_bytes,
			 j->m->row_bytes, rows, j->act, j->y + r0);
	}
}

/* Decode streams weights from memory: threads take long contiguous runs
 * of rows, which the hardware prefetcher follows, OPS_DECODE_RUNS per
 * thread, so that a thread the OS delays is covered by the others. */
static int64_t ops_decode_chunks(struct ops_mm_job *j, int64_t n_units, int nth)
{
	j->n_units = n_units;
	j->per_chunk = (n_units + OPS_DECODE_RUNS * nth - 1) / (OPS_DECODE_RUNS * nth);
	if (j->per_chunk < 1)
		j->per_chunk = 1;
	return (n_units + j->per_chunk - 1) / j->per_chunk;
}

/* Decode through the panel kernels' gemv: groups of rows read in place. */
static void ops_matvec_panels(float *y, const struct ops_mat *m, const float *x, void *work,
			      int nth)
{
	const struct quant_panel *pn = m->panel;
	pn->act_from_float(x, work, m->n_in);
	struct ops_mm_job j = { .y = y, .m = m, .x = x, .n_tok = 1, .act = work };
	const int64_t n_chunks = ops_decode_chunks(&j, (m->n_out + pn->rows - 1) / pn->rows, nth);
	pool_run(nth, n_chunks, ops_mm_gemv, &j);
}

/* Rows r0..r1 of the product against every token, in blocks of tokens. */
static void ops_mm_rows(const struct ops_mm_job *j, int64_t r0, int64_t r1)
{
	const struct ops_mat *m = j->m;
	const int64_t n_in = m->n_in, n_out = m->n_out;
	const int n_tok = j->n_tok;
	const size_t stride = j->stride;
	const uint8_t *w = m->data;
	const uint8_t *a = j->act;
	float *y = j->y;
	quant_vec_dot_fn dot = m->kern->vec_dot;
	for (int t0 = 0; t0 < n_tok; t0 += OPS_TILE_TOKENS) {
		int t1 = t0 + OPS_TILE_TOKENS < n_tok ? t0 + OPS_TILE_TOKENS : n_tok;
		/* Whole blocks go to the block kernel, the edges to vec_dot. */
		int64_t rb = r0;
		int tb = t0;
		if (m->tile) {
			const int rows = m->tile->rows, toks = m->tile->tokens;
			rb = r0 + (r1 - r0) / rows * rows;
			tb = t0 + (t1 - t0) / toks * toks;
			for (int64_t r = r0; r < rb && tb > t0; r += rows)
				for (int t = t0; t < tb; t += toks)
					m->tile->fn(n_in, w + (size_t)r * m->row_bytes, m->row_bytes,
						    a + (size_t)t * stride, stride,
						    &y[(size_t)t * n_out + r], (size_t)n_out);
			if (tb == t0)
				rb = r0;
		}
		/* Rows of the block kernel's tokens that were left over. */
		for (int64_t r = rb; r < r1; r++)
			for (int t = t0; t < tb; t++)
				dot(n_in, &y[(size_t)t * n_out + r], w + (size_t)r * m->row_bytes,
				    a + (size_t)t * stride);
		/* Tokens left over (all of them when decoding): several rows at once. */
		for (int t = tb; t < t1; t++) {
			const uint8_t *at = a + (size_t)t * stride;
			float *yt = y + (size_t)t * n_out;
			int64_t r = r0;
			if (m->tile && m->tile->gemv)
				for (; r + m->tile->gemv_rows <= r1; r += m->tile->gemv_rows)
					m->tile->gemv(n_in, w + (size_t)r * m->row_bytes, m->row_bytes,
						      at, stride, yt + r, 1);
			for (; r < r1; r++)
				dot(n_in, &yt[r], w + (size_t)r * m->row_bytes, at);
		}
	}
}

/* Chunk c: per_chunk tiles of OPS_TILE_ROWS rows. */
static void ops_mm_tiles(void *arg, int64_t c, int thread)
{
	const struct ops_mm_job *j = arg;
	const int64_t n_out = j->m->n_out;
	int64_t r0 = c * j->per_chunk * OPS_TILE_ROWS;
	int64_t r1 = r0 + j->per_chunk * OPS_TILE_ROWS;
	ops_mm_rows(j, r0, r1 < n_out ? r1 : n_out);
}

void ops_matmul(float *y, const struct ops_mat *m, const float *x, int n_tok, void *work,
		int n_threads)
{
	const int64_t n_in = m->n_in, n_out = m->n_out;
	const int nth = ops_threads_for(n_threads, (double)n_in * n_out *
							   (n_tok < OPS_DECODE_WEIGHT ? OPS_DECODE_WEIGHT : n_tok));

	if (m->panel && m->panel->gemm && n_tok >= OPS_PANEL_MIN_TOKENS) {
		ops_matmul_panels(y, m, x, n_tok, work, nth);
		return;
	}
	if (m->panel && m->panel->gemv && n_tok == 1) {
		ops_matvec_panels(y, m, x, work, nth);
		return;
	}
	struct ops_mm_job j = {
		.y = y, .m = m, .x = x, .n_tok = n_tok,
		.act = (const uint8_t *)x,
		.stride = (size_t)n_in * sizeof(float),
	};
	if (m->kern->vec_dot_type != GGML_TYPE_F32) {
		/* Convert each activation row once rather than once per weight row. */
		j.stride = ops_act_stride(m);
		j.dst = work;
		pool_run(n_tok > 1 ? nth : 1, n_tok, ops_mm_convert, &j);
		j.act = work;
	}

	const int64_t n_tiles = (n_out + OPS_TILE_ROWS - 1) / OPS_TILE_ROWS;
	/* Prefill is bound by arithmetic: tiles are handed out one at a time. */
	int64_t n_chunks = n_tiles;
	j.per_chunk = 1;
	if (n_tok < OPS_DECODE_WEIGHT)
		n_chunks = ops_decode_chunks(&j, n_tiles, nth);
	pool_run(nth, n_chunks, ops_mm_tiles, &j);
}

void ops_mat_row(const struct ops_mat *m, int64_t r, float *out)
{
	m->kern->to_float((const uint8_t *)m->data + (size_t)r * m->row_bytes, out, m->n_in);
}

/* ---- attention ---------------------------------------------------------- */

/* Per-thread scratch: the scores (n_kv floats), their f16 copy or the f16
 * query (n_kv + head_dim floats hold either), and the query rounded through
 * f16 (head_dim floats). */
static size_t ops_attn_slot_bytes(const struct ops_attn *a, int n_kv)
{
	size_t floats = 2 * (size_t)n_kv + 2 * (size_t)a->head_dim;
	return ops_round_up(floats * sizeof(float), OPS_ROW_ALIGN);
}

/* An F16 cache is widened to floats once per call, n_kv rows of K and of V,
 * so query heads sharing a KV head (and the tokens of a batch) do not each
 * convert the same rows again. */
static size_t ops_attn_wide_bytes(const struct ops_attn *a, int n_kv)
{
	/* An F32 cache is read in place unless a ring wraps inside the window. */
	if (a->kv_type == GGML_TYPE_F32 && a->ring_rows == 0)
		return 0;
	return ops_round_up(2 * (size_t)n_kv * a->n_head_kv * a->head_dim * sizeof(float),
			    OPS_ROW_ALIGN);
}

/* ---- decode attention, split by KV blocks ------------------------------- */

/* Rows of K and V widened to floats at a time: both tiles stay in L1. */
#define OPS_ATTN_TILE 32
/* A decode query's positions are split into at most this many ranges, of
 * at least OPS_ATTN_MIN_SPLIT positions, so that the work divides into
 * some OPS_ATTN_ITEMS pieces whatever the number of KV heads: with grouped
 * queries and two threads the heads alone may not divide evenly, and a
 * thread the OS delays leaves pieces the others can take. The split does
 * not depend on the thread count, so neither does the result. */
#define OPS_ATTN_MAX_SPLIT 16
#define OPS_ATTN_MIN_SPLIT 256
#define OPS_ATTN_ITEMS 16

static int ops_attn_splits(const struct ops_attn *a, int n_kv)
{
	int s = (OPS_ATTN_ITEMS + a->n_head_kv - 1) / a->n_head_kv;
	const int by_len = (n_kv + OPS_ATTN_MIN_SPLIT - 1) / OPS_ATTN_MIN_SPLIT;
	if (s > by_len)
		s = by_len;
	if (s > OPS_ATTN_MAX_SPLIT)
		s = OPS_ATTN_MAX_SPLIT;
	return s < 1 ? 1 : s;
}

/* Per-thread scratch of the split path: a tile of K or V widened, the
 * query heads of a group in the cache's dot type, a row of sums and the
 * rounding of a row. */
static size_t ops_split_slot_bytes(const struct ops_attn *a)
{
	const size_t group = (size_t)(a->n_head / a->n_head_kv), hd = (size_t)a->head_dim;
	size_t floats = OPS_ATTN_TILE * hd + group * hd + 2 * hd + OPS_ATTN_TILE;
	/* (The first pass needs group * hd + OPS_ATTN_TILE * hd + hd of it.) */
	return ops_round_up(floats * sizeof(float), OPS_ROW_ALIGN);
}

/* Each (query head, range) leaves its max and sum of exponentials, then its
 * share of the output. */
static size_t ops_split_partial_bytes(const struct ops_attn *a)
{
	return ops_round_up((size_t)a->n_head * OPS_ATTN_MAX_SPLIT * (a->head_dim + 2) *
				    sizeof(float), OPS_ROW_ALIGN);
}

/* The scores of every query head: n_kv each. */
static size_t ops_split_scores_bytes(const struct ops_attn *a, int n_kv)
{
	return ops_round_up((size_t)a->n_head * n_kv * sizeof(float), OPS_ROW_ALIGN);
}

struct ops_split_job {
	const struct ops_attn *a;
	const struct quant_kernels *kk, *qk;
	const struct ops_row_kernels *rows;
	const uint8_t *kc, *vc;
	const float *q;     /* (n_head * head_dim) */
	int pos, lo, n_kv;  /* the query's position, the first it sees, how many */
	int n_split, per_split;
	float *partial;     /* (n_head, n_split, head_dim + 2): max, sum, output */
	float *scores;      /* (n_head, n_kv): scores, then weights */
	float *scale;       /* (n_head, n_split): what range s's weights are multiplied by */
	uint8_t *slots;
	size_t slot;
};

/* The query head rounded to the type the cache is multiplied with, as
 * ops_attention's batch path does. */
static void ops_attn_round_q(const struct ops_attn *a, const struct quant_kernels *kk,
			     const struct quant_kernels *qk, const float *qh, float *tmp,
			     float *out)
{
	const int hd = a->head_dim;
	if (kk->vec_dot_type == GGML_TYPE_Q8_0) {
		quant_q8_0_like_ggml_cpu(qh, tmp, hd);
		qk->to_float(tmp, out, hd);
	} else if (a->kv_type != GGML_TYPE_F32) {
		qk->from_float(qh, tmp, hd);
		qk->to_float(tmp, out, hd);
	} else {
		memcpy(out, qh, (size_t)hd * sizeof(float));
	}
}

/* Rows n of KV head g from position p0 on, widened into tile. */
static void ops_split_tile(const struct ops_split_job *j, const uint8_t *cache, int g, int p0,
			   int n, float *tile)
{
	const struct ops_attn *a = j->a;
	const int hd = a->head_dim;
	const size_t head_bytes = dtype_row_bytes(a->kv_type, (int64_t)g * hd);
	for (int r = 0; r < n; r++) {
		const int p = p0 + r;
		const size_t row = (size_t)(a->ring_rows > 0 ? p % a->ring_rows : p) * a->kv_row_bytes;
		j->kk->to_float(cache + row + head_bytes, tile + (size_t)r * hd, hd);
	}
}

static void ops_split_range(const struct ops_split_job *j, int64_t item, int *g, int *sp,
			    int *p0, int *p1)
{
	*g = (int)(item / j->n_split);
	*sp = (int)(item % j->n_split);
	*p0 = j->lo + *sp * j->per_split;
	*p1 = *p0 + j->per_split < j->pos + 1 ? *p0 + j->per_split : j->pos + 1;
}

/* The query head in the type the cache's vec_dot takes: 8-bit blocks
 * rounded as ggml's CPU backend does, or f16. */
static void ops_attn_q_dot(const struct ops_attn *a, const struct quant_kernels *kk,
			   const struct quant_kernels *qk, const float *qh, void *out)
{
	if (kk->vec_dot_type == GGML_TYPE_Q8_0)
		quant_q8_0_like_ggml_cpu(qh, out, a->head_dim);
	else
		qk->from_float(qh, out, a->head_dim);
}

/* First pass, item = (KV head g, range s): the scores of g's query heads
 * over range s, each the cache type's vec_dot of a K row read in place
 * with the query in the matching type (the rows are not widened: they
 * are read once, from memory), replaced by their exponentials relative to
 * the range's maximum, which is kept with their sum. */
static void ops_split_scores(void *arg, int64_t item, int thread)
{
	const struct ops_split_job *j = arg;
	const struct ops_attn *a = j->a;
	const int hd = a->head_dim, group = a->n_head / a->n_head_kv;
	int g, sp, p0, p1;
	ops_split_range(j, item, &g, &sp, &p0, &p1);
	/* The group's queries, hd floats of room each (more than any dot type needs). */
	uint8_t *qd = j->slots + j->slot * (size_t)thread;
	const size_t q_room = (size_t)hd * sizeof(float);
	const size_t head_bytes = dtype_row_bytes(a->kv_type, (int64_t)g * hd);
	for (int i = 0; i < group; i++)
		ops_attn_q_dot(a, j->kk, j->qk, j->q + (size_t)(g * group + i) * hd,
			       qd + q_room * (size_t)i);
	if (a->kv_type == GGML_TYPE_F16) {
		/* Widening a tile and the float score kernel beat f16 vec_dot
		 * row by row; the queries become floats again. */
		float *kt = (float *)(qd + q_room * (size_t)group);
		float *qf = kt + OPS_ATTN_TILE * hd;
		for (int t0 = p0; t0 < p1; t0 += OPS_ATTN_TILE) {
			const int n = p1 - t0 < OPS_ATTN_TILE ? p1 - t0 : OPS_ATTN_TILE;
			ops_split_tile(j, j->kc, g, t0, n, kt);
			for (int i = 0; i < group; i++) {
				float *s = j->scores + (size_t)(g * group + i) * j->n_kv + (t0 - j->lo);
				j->qk->to_float(qd + q_room * (size_t)i, qf, hd);
				j->rows->scores(s, qf, kt, (size_t)hd, n, hd, a->scale);
			}
		}
	} else {
		for (int p = p0; p < p1; p++) {
			const size_t row =
				(size_t)(a->ring_rows > 0 ? p % a->ring_rows : p) * a->kv_row_bytes;
			const uint8_t *kp = j->kc + row + head_bytes;
			for (int i = 0; i < group; i++) {
				float *s = j->scores + (size_t)(g * group + i) * j->n_kv + (p - j->lo);
				j->kk->vec_dot(hd, s, kp, qd + q_room * (size_t)i);
				*s *= a->scale;
			}
		}
	}
	for (int i = 0; i < group; i++) {
		const int h = g * group + i;
		float *s = j->scores + (size_t)h * j->n_kv + (p0 - j->lo);
		float *pt = j->partial + ((size_t)h * j->n_split + sp) * (hd + 2);
		const int n = p1 - p0;
		if (a->softcap > 0.0f) {
			const float inv = 1.0f / a->softcap;
			for (int r = 0; r < n; r++)
				s[r] = tanhf(s[r] * inv) * a->softcap;
		}
		if (a->alibi_slopes)
			for (int r = 0; r < n; r++)
				s[r] += a->alibi_slopes[h] * (float)(p0 + r - j->pos);
		float m = -INFINITY;
		for (int r = 0; r < n; r++)
			m = s[r] > m ? s[r] : m;
		for (int r = 0; r < n; r++)
			s[r] -= m;
		j->rows->vexp(s, s, n);
		double sum = 0.0;
		for (int r = 0; r < n; r++)
			sum += s[r];
		pt[0] = m;
		pt[1] = (float)sum;
	}
}

/* Second pass, item = (KV head g, range s): the weights of range s made
 * final (times the range's share of the softmax), then V's rows of the
 * range, a tile at a time, summed by them into the range's output. */
static void ops_split_values(void *arg, int64_t item, int thread)
{
	const struct ops_split_job *j = arg;
	const struct ops_attn *a = j->a;
	const int hd = a->head_dim, group = a->n_head / a->n_head_kv;
	int g, sp, p0, p1;
	ops_split_range(j, item, &g, &sp, &p0, &p1);
	float *vt = (float *)(j->slots + j->slot * (size_t)thread);
	float *tmp = vt + OPS_ATTN_TILE * hd + (size_t)group * hd;
	float *half = tmp + hd;
	for (int i = 0; i < group; i++) {
		const int h = g * group + i;
		float *s = j->scores + (size_t)h * j->n_kv + (p0 - j->lo);
		const float c = j->scale[(size_t)h * j->n_split + sp];
		for (int r = 0; r < p1 - p0; r++)
			s[r] *= c;
		memset(j->partial + ((size_t)h * j->n_split + sp) * (hd + 2) + 2, 0,
		       (size_t)hd * sizeof(float));
	}
	for (int t0 = p0; t0 < p1; t0 += OPS_ATTN_TILE) {
		const int n = p1 - t0 < OPS_ATTN_TILE ? p1 - t0 : OPS_ATTN_TILE;
		ops_split_tile(j, j->vc, g, t0, n, vt);
		for (int i = 0; i < group; i++) {
			const int h = g * group + i;
			float *w = j->scores + (size_t)h * j->n_kv + (t0 - j->lo);
			float *acc = j->partial + ((size_t)h * j->n_split + sp) * (hd + 2) + 2;
			if (a->kv_type == GGML_TYPE_F16) {
				/* Weights rounded to f16 before they scale V, as in
				 * the batch path (and llama.cpp's non-flash one). */
				j->qk->from_float(w, half, n);
				j->qk->to_float(half, w, n);
			}
			j->rows->wsum(tmp, w, vt, (size_t)hd, n, hd);
			for (int d = 0; d < hd; d++)
				acc[d] += tmp[d];
		}
	}
}

/* One query (decode) against positions lo..pos: the scores split by KV
 * head and range, each range's share of the softmax from the maxima and
 * sums of all ranges, then the values split the same way, and the outputs
 * of the ranges added up in order. */
static void ops_attention_split(const struct ops_attn *a, const struct quant_kernels *kk,
				const struct quant_kernels *qk, float *out, const float *q,
				const void *k_cache, const void *v_cache, int pos, int lo, void *work,
				int n_threads)
{
	const int hd = a->head_dim, n_kv = pos - lo + 1;
	int n_split = ops_attn_splits(a, n_kv);
	/* Ranges are whole tiles; the last one takes the rest. */
	int per_split = (n_kv + n_split - 1) / n_split;
	per_split = (per_split + OPS_ATTN_TILE - 1) / OPS_ATTN_TILE * OPS_ATTN_TILE;
	n_split = (n_kv + per_split - 1) / per_split;
	float scale[a->n_head * n_split];
	struct ops_split_job j = {
		.a = a, .kk = kk, .qk = qk, .rows = ops_rows_best(),
		.kc = k_cache, .vc = v_cache, .q = q, .pos = pos, .lo = lo, .n_kv = n_kv,
		.n_split = n_split, .per_split = per_split,
		.partial = work,
		.scores = (float *)((uint8_t *)work + ops_split_partial_bytes(a)),
		.scale = scale,
		.slots = (uint8_t *)work + ops_split_partial_bytes(a) + ops_split_scores_bytes(a, n_kv),
		.slot = ops_split_slot_bytes(a),
	};
	const int n_items = a->n_head_kv * n_split;
	const int nth = ops_threads_for(n_threads, 2.0 * a->n_head * n_kv * hd * OPS_DECODE_WEIGHT);
	pool_run(nth, n_items, ops_split_scores, &j);
	for (int h = 0; h < a->n_head; h++) {
		const float *pt = j.partial + (size_t)h * n_split * (hd + 2);
		float m = -INFINITY;
		for (int sp = 0; sp < n_split; sp++)
			m = pt[sp * (hd + 2)] > m ? pt[sp * (hd + 2)] : m;
		double sum = 0.0;
		for (int sp = 0; sp < n_split; sp++)
			sum += (double)pt[sp * (hd + 2) + 1] * expf(pt[sp * (hd + 2)] - m);
		const float inv = (float)(1.0 / sum);
		for (int sp = 0; sp < n_split; sp++)
			scale[h * n_split + sp] = expf(pt[sp * (hd + 2)] - m) * inv;
	}
	pool_run(nth, n_items, ops_split_values, &j);
	for (int h = 0; h < a->n_head; h++) {
		float *oh = out + (size_t)h * hd;
		memcpy(oh, j.partial + (size_t)h * n_split * (hd + 2) + 2, (size_t)hd * sizeof(float));
		for (int sp = 1; sp < n_split; sp++) {
			const float *acc = j.partial + ((size_t)h * n_split + sp) * (hd + 2) + 2;
			for (int d = 0; d < hd; d++)
				oh[d] += acc[d];
		}
	}
}

/* Whether a batch goes to the split path: single queries over a cache
 * that the batch path would first widen to floats; by default only the
 * quantized ones (ops.h says why). */
static bool ops_attn_use_split(const struct ops_attn *a, int n_tok)
{
	if (n_tok != 1 || a->kv_type == GGML_TYPE_F32 || a->path == OPS_ATTN_BATCH)
		return false;
	return a->path == OPS_ATTN_SPLIT || a->kv_type != GGML_TYPE_F16;
}

size_t ops_attention_work_size(const struct ops_attn *a, int n_kv, int n_threads)
{
	const size_t nth = (size_t)(n_threads > 0 ? n_threads : 1);
	size_t ref = ops_attn_wide_bytes(a, n_kv) + ops_attn_slot_bytes(a, n_kv) * nth;
	size_t split = ops_split_partial_bytes(a) + ops_split_scores_bytes(a, n_kv) +
		       ops_split_slot_bytes(a) * nth;
	return ref > split ? ref : split;
}

/* The batch path: every cached row widened to floats once (unless read in
 * place), then one item per token and query head. */
struct ops_attn_job {
	const struct ops_attn *a;
	const struct quant_kernels *kk, *qk;
	const struct ops_row_kernels *rows;
	float *out;
	const float *q;
	const uint8_t *kc, *vc;
	const float *kf, *vf;
	size_t row_stride;
	int pos0, lo0, n_rows;
	int rows_per_chunk;
	uint8_t *slots;
	size_t slot;
};

static void ops_attn_widen(void *arg, int64_t c, int thread)
{
	const struct ops_attn_job *j = arg;
	const struct ops_attn *a = j->a;
	const int kv_dim = a->n_head_kv * a->head_dim, ring = a->ring_rows;
	const int i1 = (int)((c + 1) * j->rows_per_chunk < j->n_rows ? (c + 1) * j->rows_per_chunk
								      : j->n_rows);
	float *kw = (float *)j->kf, *vw = (float *)j->vf;
	for (int i = (int)(c * j->rows_per_chunk); i < i1; i++) {
		const int p = j->lo0 + i;
		const size_t src = (size_t)(ring > 0 ? p % ring : p) * a->kv_row_bytes;
		j->kk->to_float(j->kc + src, kw + (size_t)i * kv_dim, kv_dim);
		j->kk->to_float(j->vc + src, vw + (size_t)i * kv_dim, kv_dim);
	}
}

static void ops_attn_item(void *arg, int64_t item, int thread)
{
	const struct ops_attn_job *j = arg;
	const struct ops_attn *a = j->a;
	const struct quant_kernels *kk = j->kk, *qk = j->qk;
	const int hd = a->head_dim, q_width = a->n_head * hd, group = a->n_head / a->n_head_kv;
	const int t = (int)(item / a->n_head), h = (int)(item % a->n_head);
	const int pos = j->pos0 + t;
	/* The causal mask, narrowed to the window: positions lo..pos. */
	const int lo = a->n_swa > 0 && pos - a->n_swa + 1 > j->lo0 ? pos - a->n_swa + 1 : j->lo0;
	const int n_kv = pos - lo + 1;
	const size_t first = (size_t)(lo - j->lo0) * j->row_stride;
	const size_t head_off = (size_t)(h / group) * hd; /* offset of the KV head */
	float *scores = (float *)(j->slots + j->slot * (size_t)thread);
	float *rounded = scores + j->n_rows;
	float *qconv = rounded + j->n_rows + hd;
	const float *qh = j->q + (size_t)t * q_width + (size_t)h * hd;
	float *oh = j->out + (size_t)t * q_width + (size_t)h * hd;

	/* A cache in another type is multiplied by the query rounded to that
	 * type's dot-product partner (f16, or 8-bit blocks). */
	if (a->kv_type != GGML_TYPE_F32) {
		ops_attn_round_q(a, kk, qk, qh, rounded, qconv);
		qh = qconv;
	}
	j->rows->scores(scores, qh, j->kf + first + head_off, j->row_stride, n_kv, hd, a->scale);
	if (a->softcap > 0.0f) {
		/* As ggml: times the reciprocal, tanh, times the cap. */
		const float inv = 1.0f / a->softcap;
		for (int i = 0; i < n_kv; i++)
			scores[i] = tanhf(scores[i] * inv) * a->softcap;
	}
	if (a->alibi_slopes) {
		const float slope = a->alibi_slopes[h];
		for (int i = 0; i < n_kv; i++)
			scores[i] += slope * (float)(lo + i - pos);
	}
	j->rows->softmax(scores, n_kv);

	/* ... and with an F16 cache its weights are rounded to f16 before they
	 * scale V; llama.cpp's flash attention, which quantized caches need,
	 * keeps them in f32. */
	if (a->kv_type == GGML_TYPE_F16) {
		qk->from_float(scores, rounded, n_kv);
		qk->to_float(rounded, scores, n_kv);
	}
	j->rows->wsum(oh, scores, j->vf + first + head_off, j->row_stride, n_kv, hd);
}

int ops_attention(const struct ops_attn *a, float *out, const float *q, const void *k_cache,
		  const void *v_cache, int n_tok, int pos0, void *work, int n_threads)
{
	const struct quant_kernels *kk = quant_best(a->kv_type);
	const struct quant_kernels *qk = kk ? quant_best(kk->vec_dot_type) : NULL;
	if (!kk || !qk || !kk->to_float || !qk->from_float || !qk->to_float)
		return LT_E_UNSUPPORTED;

	const int hd = a->head_dim;
	const int kv_dim = a->n_head_kv * hd;
	const int n_total = pos0 + n_tok;
	/* The first position any query of the batch sees, and how many follow. */
	const int lo0 = a->n_swa > 0 && pos0 - a->n_swa + 1 > 0 ? pos0 - a->n_swa + 1 : 0;
	const int n_rows = n_total - lo0;
	if (ops_attn_use_split(a, n_tok)) {
		ops_attention_split(a, kk, qk, out, q, k_cache, v_cache, pos0, lo0, work, n_threads);
		return 0;
	}
	/* Cache row of position p: p itself, or p modulo the ring's rows. */
	const int ring = a->ring_rows;
	const bool wraps = ring > 0 && lo0 % ring + n_rows > ring;
	const bool in_place = a->kv_type == GGML_TYPE_F32 && !wraps;
	const size_t wide = ops_attn_wide_bytes(a, n_rows);
	struct ops_attn_job j = {
		.a = a, .kk = kk, .qk = qk, .rows = ops_rows_best(),
		.out = out, .q = q, .kc = k_cache, .vc = v_cache,
		.row_stride = a->kv_row_bytes / sizeof(float),
		.pos0 = pos0, .lo0 = lo0, .n_rows = n_rows,
		.slots = (uint8_t *)work + wide,
		.slot = ops_attn_slot_bytes(a, n_rows),
	};
	/* Float views of positions lo0..n_total-1: rows of kv_dim, row_stride floats apart. */
	if (in_place) {
		const size_t first = (size_t)(ring > 0 ? lo0 % ring : lo0) * j.row_stride;
		j.kf = (const float *)k_cache + first;
		j.vf = (const float *)v_cache + first;
	} else {
		j.kf = work;
		j.vf = j.kf + (size_t)n_rows * kv_dim;
		j.row_stride = (size_t)kv_dim;
	}
	/* Scores and the weighted sum of V: two passes over the cached rows. */
	const int n_items = n_tok * a->n_head;
	const int nth = ops_threads_for(n_threads, 2.0 * n_items * n_rows * hd);
	if (!in_place) {
		j.rows_per_chunk = (n_rows + 4 * nth - 1) / (4 * nth);
		pool_run(nth, (n_rows + j.rows_per_chunk - 1) / j.rows_per_chunk, ops_attn_widen, &j);
	}
	pool_run(nth, n_items, ops_attn_item, &j);
	return 0;
}

void ops_alibi_slopes(float *slopes, int n_head, float max_bias)
{
	/* llama.cpp's: the nearest power of two below n_head gets the geometric
	 * series from m0, the heads past it interleave a second one from m1. */
	int n_log2 = 1;
	while (n_log2 * 2 <= n_head)
		n_log2 *= 2;
	const float m0 = powf(2.0f, -max_bias / (float)n_log2);
	const float m1 = powf(2.0f, -(max_bias / 2.0f) / (float)n_log2);
	for (int h = 0; h < n_head; h++)
		slopes[h] = h < n_log2 ? powf(m0, (float)(h + 1)) : powf(m1, (float)(2 * (h - n_log2) + 1));
}
