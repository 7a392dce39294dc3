#include "ops.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "errors.h"
#include "kernels.h"
#include "ops_impl.h"
#include "pool.h"
#include "quant.h"

/* Matmul tiles: a few weight rows are reused against a run of activation
 * rows while both are still in cache. */
#define OPS_TILE_ROWS 24
#define OPS_TILE_TOKENS 32

/* Contiguous runs of rows per thread in a matrix-vector product. */
#define OPS_DECODE_RUNS 4

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

static void ops_scores_f16_ref(float *s, const float *q, const uint16_t *k, size_t k_stride,
			       int n_kv, int hd, float scale)
{
	for (int p = 0; p < n_kv; p++) {
		const uint16_t *kp = k + (size_t)p * k_stride;
		double sum = 0;
		for (int d = 0; d < hd; d++)
			sum += (double)(q[d] * fp16_to_f32(kp[d]));
		s[p] = (float)sum * scale;
	}
}

static void ops_wsum_f16_ref(float *out, const float *w, const uint16_t *v, size_t v_stride,
			     int n_kv, int hd)
{
	for (int p = 0; p < n_kv; p++) {
		const uint16_t *vp = v + (size_t)p * v_stride;
		const float wp = w[p];
		for (int d = 0; d < hd; d++)
			out[d] += wp * fp16_to_f32(vp[d]);
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
	.scores_f16 = ops_scores_f16_ref,
	.wsum_f16 = ops_wsum_f16_ref,
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
static void ops_mm_gemv_run(const struct ops_mm_job *j, int64_t c)
{
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

static void ops_mm_gemv(void *arg, int64_t c, int thread)
{
	(void)thread;
	ops_mm_gemv_run(arg, c);
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
	struct ops_mm_job j = { .y = y, .m = m, .x = x, .n_tok = 1, .act = (const uint8_t *)x };
	if (pn->act_from_float) {
		pn->act_from_float(x, work, m->n_in);
		j.act = work;
	}
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

/* Several products of one input in one loop of the pool: matrix i's chunks
 * are first[i]..first[i+1]-1, each one of its decode runs or panels. */
struct ops_mm_multi {
	struct ops_mm_job j[OPS_MATMUL_MULTI_MAX];
	int64_t first[OPS_MATMUL_MULTI_MAX + 1];
};

static void ops_mm_multi_chunk(void *arg, int64_t c, int thread)
{
	struct ops_mm_multi *mm = arg;
	int i = 0;
	while (c >= mm->first[i + 1])
		i++;
	if (mm->j[i].n_tok == 1)
		ops_mm_gemv_run(&mm->j[i], c - mm->first[i]);
	else
		ops_mm_panel(&mm->j[i], c - mm->first[i], thread);
}

/* The matrices of idx (k of them, sharing their panel kernels) in one loop,
 * their input converted once. */
static void ops_matmul_group(float *const *ys, const struct ops_mat *const *ms, const int *idx,
			     int k, const float *x, int n_tok, void *work, int n_threads)
{
	const struct ops_mat *m0 = ms[idx[0]];
	const struct quant_panel *pn = m0->panel;
	double work_units = 0;
	for (int i = 0; i < k; i++)
		work_units += (double)ms[idx[i]]->n_in * ms[idx[i]]->n_out *
			      (n_tok < OPS_DECODE_WEIGHT ? OPS_DECODE_WEIGHT : n_tok);
	const int nth = ops_threads_for(n_threads, work_units);
	struct ops_mm_job j = {
		.x = x, .n_tok = n_tok, .act = (const uint8_t *)x,
		.stride = (size_t)m0->n_in * sizeof(float),
	};
	if (n_tok > 1) {
		j.panel_bytes = ops_panel_bytes(m0);
		j.panels = (uint8_t *)work + ops_panel_act_stride(m0) * (size_t)n_tok;
	}
	if (pn->act_from_float) {
		j.m = m0;
		j.dst = work;
		j.stride = ops_panel_act_stride(m0);
		if (n_tok == 1)
			pn->act_from_float(x, work, m0->n_in);
		else
			pool_run(nth, n_tok, ops_mm_convert, &j);
		j.act = j.dst;
	}
	struct ops_mm_multi mm = { .first = { 0 } };
	for (int i = 0; i < k; i++) {
		const struct ops_mat *m = ms[idx[i]];
		const int64_t units = (m->n_out + pn->rows - 1) / pn->rows;
		mm.j[i] = j;
		mm.j[i].y = ys[idx[i]];
		mm.j[i].m = m;
		mm.first[i + 1] = mm.first[i] + (n_tok == 1 ? ops_decode_chunks(&mm.j[i], units, nth)
							    : units);
	}
	pool_run(nth, mm.first[k], ops_mm_multi_chunk, &mm);
}

void ops_matmul_multi(float *const *ys, const struct ops_mat *const *ms, int n, const float *x,
		      int n_tok, void *work, int n_threads)
{
	bool taken[OPS_MATMUL_MULTI_MAX] = { false };
	for (int a = 0; a < n; a++) {
		const struct quant_panel *pn = ms[a]->panel;
		const bool fits = pn && (n_tok == 1 ? pn->gemv != NULL
					: n_tok >= OPS_PANEL_MIN_TOKENS && pn->gemm != NULL);
		if (n > OPS_MATMUL_MULTI_MAX || !fits) {
			ops_matmul(ys[a], ms[a], x, n_tok, work, n_threads);
			continue;
		}
		if (taken[a])
			continue;
		int idx[OPS_MATMUL_MULTI_MAX], k = 0;
		for (int i = a; i < n; i++)
			if (!taken[i] && ms[i]->panel == pn && ms[i]->n_in == ms[a]->n_in) {
				idx[k++] = i;
				taken[i] = true;
			}
		if (k == 1)
			ops_matmul(ys[a], ms[a], x, n_tok, work, n_threads);
		else
			ops_matmul_group(ys, ms, idx, k, x, n_tok, work, n_threads);
	}
}

void ops_mat_row(const struct ops_mat *m, int64_t r, float *out)
{
	m->kern->to_float((const uint8_t *)m->data + (size_t)r * m->row_bytes, out, m->n_in);
}
