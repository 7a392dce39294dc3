#include "ops.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "errors.h"
#include "kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Rows of converted activations start on cache lines so that neighbouring
 * rows written by different threads never share one. */
#define OPS_ROW_ALIGN 64

/* Matmul tiles: a few weight rows are reused against a run of activation
 * rows while both are still in cache. */
#define OPS_TILE_ROWS 24
#define OPS_TILE_TOKENS 32

/* Multiply-adds below which one more thread costs more than it saves:
 * waking it and the closing barrier take about a microsecond on an idle
 * machine (libgomp's threads spin between regions) and a whole time slice
 * when the other core is busy. 128K multiply-adds take some 10 us: tiny
 * models such as stories260K still run most of their decode on one thread. */
#define OPS_MIN_WORK_PER_THREAD (128 * 1024)
/* A matrix-vector product waits on memory, not arithmetic: count it as this
 * many tokens' work so decode still splits medium matrices. */
#define OPS_DECODE_WEIGHT 4
/* Contiguous runs of rows per thread in a matrix-vector product. */
#define OPS_DECODE_RUNS 4

static int ops_thread_id(void)
{
#ifdef _OPENMP
	return omp_get_thread_num();
#else
	return 0;
#endif
}

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

/* Each thread packs a panel of rows into its own scratch, then runs it
 * against every token: the packing is paid once per panel and batch. */
static void ops_matmul_panels(float *y, const struct ops_mat *m, const float *x, int n_tok,
			      void *work, int nth)
{
	const struct quant_panel *pn = m->panel;
	const int64_t n_in = m->n_in, n_out = m->n_out;
	size_t stride = ops_panel_act_stride(m);
	const size_t panel_bytes = ops_panel_bytes(m);
	const uint8_t *act = (const uint8_t *)x;
	uint8_t *panels = (uint8_t *)work + stride * (size_t)n_tok;
	if (pn->act_from_float) {
		uint8_t *dst = work;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nth) if (nth > 1)
#endif
		for (int t = 0; t < n_tok; t++)
			pn->act_from_float(x + (size_t)t * n_in, dst + (size_t)t * stride, n_in);
		act = dst;
	} else {
		stride = (size_t)n_in * sizeof(float);
	}

	const uint8_t *w = m->data;
	const int64_t n_panels = (n_out + pn->rows - 1) / pn->rows;
#ifdef _OPENMP
#pragma omp parallel num_threads(nth) if (nth > 1)
#endif
	{
		void *mine = panels + (size_t)ops_thread_id() * panel_bytes;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
		for (int64_t p = 0; p < n_panels; p++) {
			const int64_t r0 = p * pn->rows;
			const int rows = n_out - r0 < pn->rows ? (int)(n_out - r0) : pn->rows;
			pn->pack(n_in, w + (size_t)r0 * m->row_bytes, m->row_bytes, rows, mine);
			pn->gemm(n_in, mine, act, stride, n_tok, y + r0, (size_t)n_out, rows);
		}
	}
}

/* Decode through the panel kernels' gemv: groups of rows read in place,
 * long contiguous runs of groups per thread as in ops_matmul. */
static void ops_matvec_panels(float *y, const struct ops_mat *m, const float *x, void *work,
			      int nth)
{
	const struct quant_panel *pn = m->panel;
	const int64_t n_out = m->n_out;
	pn->act_from_float(x, work, m->n_in);
	const uint8_t *w = m->data;
	const int64_t n_groups = (n_out + pn->rows - 1) / pn->rows;
	const int chunk = (int)((n_groups + OPS_DECODE_RUNS * nth - 1) / (OPS_DECODE_RUNS * nth));
#ifdef _OPENMP
#pragma omp parallel for num_threads(nth) schedule(dynamic, chunk) if (nth > 1)
#else
	(void)chunk;
#endif
	for (int64_t g = 0; g < n_groups; g++) {
		const int64_t r0 = g * pn->rows;
		const int rows = n_out - r0 < pn->rows ? (int)(n_out - r0) : pn->rows;
		pn->gemv(m->n_in, w + (size_t)r0 * m->row_bytes, m->row_bytes, rows, work, y + r0);
	}
}

void ops_matmul(float *y, const struct ops_mat *m, const float *x, int n_tok, void *work,
		int n_threads)
{
	const int64_t n_in = m->n_in, n_out = m->n_out;
	const void *act = x;
	const int nth = ops_threads_for(n_threads, (double)n_in * n_out *
							   (n_tok < OPS_DECODE_WEIGHT ? OPS_DECODE_WEIGHT : n_tok));
	size_t stride = (size_t)n_in * sizeof(float);

	if (m->panel && m->panel->gemm && n_tok >= OPS_PANEL_MIN_TOKENS) {
		ops_matmul_panels(y, m, x, n_tok, work, nth);
		return;
	}
	if (m->panel && m->panel->gemv && n_tok == 1) {
		ops_matvec_panels(y, m, x, work, nth);
		return;
	}
	if (m->kern->vec_dot_type != GGML_TYPE_F32) {
		/* Convert each activation row once rather than once per weight row. */
		stride = ops_act_stride(m);
		uint8_t *dst = work;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nth) if (nth > 1 && n_tok > 1)
#endif
		for (int t = 0; t < n_tok; t++)
			m->act->from_float(x + (size_t)t * n_in, dst + (size_t)t * stride, n_in);
		act = work;
	}

	const uint8_t *w = m->data;
	const uint8_t *a = act;
	const int64_t n_tiles = (n_out + OPS_TILE_ROWS - 1) / OPS_TILE_ROWS;
	quant_vec_dot_fn dot = m->kern->vec_dot;
	/* Decode streams weights from memory: threads take long contiguous runs
	 * of rows, which the hardware prefetcher follows, four per thread so a
	 * thread the OS delays can be covered by the others. Prefill is bound by
	 * arithmetic, so tiles are handed out one at a time there. */
	const int chunk = n_tok < OPS_DECODE_WEIGHT
				  ? (int)((n_tiles + OPS_DECODE_RUNS * nth - 1) / (OPS_DECODE_RUNS * nth))
				  : 1;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nth) schedule(dynamic, chunk) if (nth > 1)
#else
	(void)chunk;
#endif
	for (int64_t tile = 0; tile < n_tiles; tile++) {
		int64_t r0 = tile * OPS_TILE_ROWS;
		int64_t r1 = r0 + OPS_TILE_ROWS < n_out ? r0 + OPS_TILE_ROWS : n_out;
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

size_t ops_attention_work_size(const struct ops_attn *a, int n_kv, int n_threads)
{
	return ops_attn_wide_bytes(a, n_kv) +
	       ops_attn_slot_bytes(a, n_kv) * (size_t)(n_threads > 0 ? n_threads : 1);
}

int ops_attention(const struct ops_attn *a, float *out, const float *q, const void *k_cache,
		  const void *v_cache, int n_tok, int pos0, void *work, int n_threads)
{
	const struct quant_kernels *kk = quant_best(a->kv_type);
	const struct quant_kernels *qk = kk ? quant_best(kk->vec_dot_type) : NULL;
	if (!kk || !qk || !kk->to_float || !qk->from_float || !qk->to_float)
		return LT_E_UNSUPPORTED;
	const struct ops_row_kernels *rows = ops_rows_best();

	const int hd = a->head_dim;
	const int q_width = a->n_head * hd;
	const int kv_dim = a->n_head_kv * hd;
	const int group = a->n_head / a->n_head_kv;
	const int n_total = pos0 + n_tok;
	/* The first position any query of the batch sees, and how many follow. */
	const int lo0 = a->n_swa > 0 && pos0 - a->n_swa + 1 > 0 ? pos0 - a->n_swa + 1 : 0;
	const int n_rows = n_total - lo0;
	/* Cache row of position p: p itself, or p modulo the ring's rows. */
	const int ring = a->ring_rows;
	const bool wraps = ring > 0 && lo0 % ring + n_rows > ring;
	const bool in_place = a->kv_type == GGML_TYPE_F32 && !wraps;
	const size_t wide = ops_attn_wide_bytes(a, n_rows);
	const size_t slot = ops_attn_slot_bytes(a, n_rows);
	const int n_items = n_tok * a->n_head;
	/* Float views of positions lo0..n_total-1: rows of kv_dim, row_stride floats apart. */
	const float *kf, *vf;
	size_t row_stride = a->kv_row_bytes / sizeof(float);
	if (in_place) {
		const size_t first = (size_t)(ring > 0 ? lo0 % ring : lo0) * row_stride;
		kf = (const float *)k_cache + first;
		vf = (const float *)v_cache + first;
	} else {
		kf = work;
		vf = kf + (size_t)n_rows * kv_dim;
		row_stride = (size_t)kv_dim;
	}
	/* Scores and the weighted sum of V: two passes over the cached rows. */
	const int nth = ops_threads_for(n_threads, 2.0 * n_items * n_rows * hd);

#ifdef _OPENMP
#pragma omp parallel num_threads(nth) if (nth > 1)
#else
	(void)nth;
#endif
	{
		if (!in_place) {
			const uint8_t *kc = k_cache, *vc = v_cache;
			float *kw = (float *)kf, *vw = (float *)vf;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
			for (int i = 0; i < n_rows; i++) {
				const int p = lo0 + i;
				const size_t src = (size_t)(ring > 0 ? p % ring : p) * a->kv_row_bytes;
				kk->to_float(kc + src, kw + (size_t)i * kv_dim, kv_dim);
				kk->to_float(vc + src, vw + (size_t)i * kv_dim, kv_dim);
			}
		}
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
		for (int item = 0; item < n_items; item++) {
			const int t = item / a->n_head, h = item % a->n_head;
			const int pos = pos0 + t;
			/* The causal mask, narrowed to the window: positions lo..pos. */
			const int lo = a->n_swa > 0 && pos - a->n_swa + 1 > lo0 ? pos - a->n_swa + 1 : lo0;
			const int n_kv = pos - lo + 1;
			const size_t first = (size_t)(lo - lo0) * row_stride;
			const size_t head_off = (size_t)(h / group) * hd; /* offset of the KV head */
			float *scores = (float *)((uint8_t *)work + wide + slot * (size_t)ops_thread_id());
			float *rounded = scores + n_rows;
			float *qconv = rounded + n_rows + hd;
			const float *qh = q + (size_t)t * q_width + (size_t)h * hd;
			float *oh = out + (size_t)t * q_width + (size_t)h * hd;

			/* A cache in another type is multiplied by the query rounded
			 * to that type's dot-product partner (f16, or 8-bit blocks). */
			if (kk->vec_dot_type == GGML_TYPE_Q8_0) {
				quant_q8_0_like_ggml_cpu(qh, rounded, hd);
				qk->to_float(rounded, qconv, hd);
				qh = qconv;
			} else if (a->kv_type != GGML_TYPE_F32) {
				qk->from_float(qh, rounded, hd);
				qk->to_float(rounded, qconv, hd);
				qh = qconv;
			}
			rows->scores(scores, qh, kf + first + head_off, row_stride, n_kv, hd, a->scale);
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
			rows->softmax(scores, n_kv);

			/* ... and with an F16 cache its weights are rounded to f16
			 * before they scale V; llama.cpp's flash attention, which
			 * quantized caches need, keeps them in f32. */
			if (a->kv_type == GGML_TYPE_F16) {
				qk->from_float(scores, rounded, n_kv);
				qk->to_float(rounded, scores, n_kv);
			}
			rows->wsum(oh, scores, vf + first + head_off, row_stride, n_kv, hd);
		}
	}
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
