/* Attention over the KV cache: the batch path (rows widened to floats,
 * one item per token and query head) and, for a single query, the split
 * path (flash decoding: ranges of positions over every KV head, read in
 * place). */
#include "ops.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dtype.h"
#include "errors.h"
#include "kernels.h"
#include "ops_impl.h"
#include "pool.h"

/* ---- attention ---------------------------------------------------------- */

/* Per-thread scratch: the scores (n_kv floats), their f16 copy or the f16
 * query (n_kv + head_dim floats hold either), and the query rounded through
 * f16 (head_dim floats). */
static size_t ops_attn_slot_bytes(const struct ops_attn *a, int n_kv)
{
	size_t floats = 2 * (size_t)n_kv + 2 * (size_t)a->head_dim;
	return ops_round_up(floats * sizeof(float), OPS_ROW_ALIGN);
}

/* A quantized cache is widened to floats once per call, n_kv rows of K and
 * of V, so query heads sharing a KV head (and the tokens of a batch) do not
 * each convert the same rows again. F32 and F16 rows are read in place
 * (F16 widened as it is read) unless a ring wraps inside the window. */
static size_t ops_attn_wide_bytes(const struct ops_attn *a, int n_kv)
{
	if ((a->kv_type == GGML_TYPE_F32 || a->kv_type == GGML_TYPE_F16) && a->ring_rows == 0)
		return 0;
	return ops_round_up(2 * (size_t)n_kv * a->n_head_kv * a->head_dim * sizeof(float),
			    OPS_ROW_ALIGN);
}

/* ---- decode attention, split by ranges of positions ---------------------- */

/* Rows of K and V widened to floats at a time: both tiles stay in L1. */
#define OPS_ATTN_TILE 32
/* Rows of an F16 cache whose slices of every KV head are read before the
 * next rows: a run of whole rows that stays in L2 while each head's slices
 * are read down it. (On Zen 5, 110M at depth 4096, runs of 64 rows beat 16,
 * 32, 128 and whole ranges of one head: per-head streams long enough for
 * the prefetchers, rows reused from L2.) */
#define OPS_ATTN_RUN 64
/* A decode query's positions are split into at most this many ranges, each
 * covering every KV head, of at least OPS_ATTN_MIN_SPLIT head-rows, so that
 * the work divides into some pieces two threads share evenly, and a thread
 * the OS delays leaves pieces the others can take. A range reads its rows
 * whole, in order (one head's slice of a row would be a strided read of a
 * twelfth of each row, which the prefetchers follow badly). The split does
 * not depend on the thread count, so neither does the result. */
#define OPS_ATTN_MAX_SPLIT 16
#define OPS_ATTN_MIN_SPLIT 256
#define OPS_ATTN_ITEMS 16

static int ops_attn_splits(const struct ops_attn *a, int n_kv)
{
	int s = (int)(((int64_t)n_kv * a->n_head_kv + OPS_ATTN_MIN_SPLIT - 1) / OPS_ATTN_MIN_SPLIT);
	if (s > OPS_ATTN_MAX_SPLIT)
		s = OPS_ATTN_MAX_SPLIT;
	return s < 1 ? 1 : s;
}

/* Few ranges (a short context) are made up by items of fewer KV heads, so
 * that two threads still share some OPS_ATTN_ITEMS items. */
static int ops_attn_blk_heads(const struct ops_attn *a, int n_split)
{
	const int blocks = (OPS_ATTN_ITEMS + n_split - 1) / n_split;
	return blocks >= a->n_head_kv ? 1 : (a->n_head_kv + blocks - 1) / blocks;
}

/* Per-thread scratch of the split path: a tile of K or V widened, every
 * query head in the cache's dot type, a row of sums and the rounding of a
 * row. */
static size_t ops_split_slot_bytes(const struct ops_attn *a)
{
	const size_t n_head = (size_t)a->n_head, hd = (size_t)a->head_dim;
	size_t floats = OPS_ATTN_TILE * hd + n_head * hd + 2 * hd + OPS_ATTN_TILE;
	/* (The first pass needs n_head * hd + hd of it, the second
	 * OPS_ATTN_TILE * hd + hd + OPS_ATTN_TILE.) */
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
	int blk_heads;      /* KV heads per item: all of them unless the ranges are few */
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

/* How many positions from t0 on (below p1) sit in consecutive cache rows,
 * at most max: a ring's rows wrap. */
static int ops_split_run(const struct ops_split_job *j, int t0, int p1, int max)
{
	int n = p1 - t0 < max ? p1 - t0 : max;
	const int ring = j->a->ring_rows;
	if (ring > 0 && ring - t0 % ring < n)
		n = ring - t0 % ring;
	return n;
}

/* KV head g of position p in an F16 cache, read in place. */
static const uint16_t *ops_split_f16_row(const struct ops_split_job *j, const uint8_t *cache,
					 int g, int p)
{
	const struct ops_attn *a = j->a;
	const size_t row = (size_t)(a->ring_rows > 0 ? p % a->ring_rows : p) * a->kv_row_bytes;
	return (const uint16_t *)(cache + row) + (size_t)g * a->head_dim;
}

/* Item = (block of KV heads g0..g1-1, range sp of positions p0..p1-1). */
static void ops_split_range(const struct ops_split_job *j, int64_t item, int *g0, int *g1,
			    int *sp, int *p0, int *p1)
{
	*sp = (int)(item % j->n_split);
	*g0 = (int)(item / j->n_split) * j->blk_heads;
	*g1 = *g0 + j->blk_heads < j->a->n_head_kv ? *g0 + j->blk_heads : j->a->n_head_kv;
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

/* First pass, item = range s: the scores of every query head over range
 * s, each the cache type's vec_dot of a K row read in place with the query
 * in the matching type (the rows are not widened: they are read once, from
 * memory), replaced by their exponentials relative to the range's maximum,
 * which is kept with their sum. */
static void ops_split_scores(void *arg, int64_t item, int thread)
{
	const struct ops_split_job *j = arg;
	const struct ops_attn *a = j->a;
	const int hd = a->head_dim, group = a->n_head / a->n_head_kv;
	int g0, g1, sp, p0, p1;
	ops_split_range(j, item, &g0, &g1, &sp, &p0, &p1);
	/* The queries, hd floats of room each (more than any dot type needs). */
	uint8_t *qd = j->slots + j->slot * (size_t)thread;
	const size_t q_room = (size_t)hd * sizeof(float);
	if (a->kv_type == GGML_TYPE_F16) {
		/* The queries rounded through f16, as floats; K's rows widened as
		 * they are read, a run of rows at a time whose heads are all
		 * scored while it is in L1. */
		float *qf = (float *)qd, *tmp = qf + (size_t)a->n_head * hd;
		for (int h = g0 * group; h < g1 * group; h++)
			ops_attn_round_q(a, j->kk, j->qk, j->q + (size_t)h * hd, tmp,
					 qf + (size_t)h * hd);
		const size_t stride = a->kv_row_bytes / sizeof(uint16_t);
		for (int t0 = p0, n; t0 < p1; t0 += n) {
			n = ops_split_run(j, t0, p1, OPS_ATTN_RUN);
			for (int g = g0; g < g1; g++) {
				const uint16_t *kp = ops_split_f16_row(j, j->kc, g, t0);
				for (int h = g * group; h < (g + 1) * group; h++)
					j->rows->scores_f16(j->scores + (size_t)h * j->n_kv + (t0 - j->lo),
							    qf + (size_t)h * hd, kp, stride, n, hd,
							    a->scale);
			}
		}
	} else {
		/* Blocks never straddle heads, so head g starts g heads' bytes in. */
		const size_t head_bytes = dtype_row_bytes(a->kv_type, hd);
		for (int h = g0 * group; h < g1 * group; h++)
			ops_attn_q_dot(a, j->kk, j->qk, j->q + (size_t)h * hd, qd + q_room * (size_t)h);
		for (int p = p0; p < p1; p++) {
			const size_t row =
				(size_t)(a->ring_rows > 0 ? p % a->ring_rows : p) * a->kv_row_bytes;
			for (int h = g0 * group; h < g1 * group; h++) {
				const uint8_t *kp = j->kc + row + head_bytes * (size_t)(h / group);
				float *s = j->scores + (size_t)h * j->n_kv + (p - j->lo);
				j->kk->vec_dot(hd, s, kp, qd + q_room * (size_t)h);
				*s *= a->scale;
			}
		}
	}
	for (int h = g0 * group; h < g1 * group; h++) {
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

/* Second pass, item = range s: the weights of range s made final (times
 * the range's share of the softmax), then V's rows of the range, a run or
 * a tile at a time, summed by them into the range's output of every head. */
static void ops_split_values(void *arg, int64_t item, int thread)
{
	const struct ops_split_job *j = arg;
	const struct ops_attn *a = j->a;
	const int hd = a->head_dim, group = a->n_head / a->n_head_kv;
	int g0, g1, sp, p0, p1;
	ops_split_range(j, item, &g0, &g1, &sp, &p0, &p1);
	float *vt = (float *)(j->slots + j->slot * (size_t)thread);
	float *tmp = vt + OPS_ATTN_TILE * hd;
	float *half = tmp + hd;
	for (int h = g0 * group; h < g1 * group; h++) {
		float *s = j->scores + (size_t)h * j->n_kv + (p0 - j->lo);
		const float c = j->scale[(size_t)h * j->n_split + sp];
		for (int r = 0; r < p1 - p0; r++)
			s[r] *= c;
		memset(j->partial + ((size_t)h * j->n_split + sp) * (hd + 2) + 2, 0,
		       (size_t)hd * sizeof(float));
	}
	if (a->kv_type == GGML_TYPE_F16) {
		/* V's rows widened as they are read, into the range's output. */
		const size_t stride = a->kv_row_bytes / sizeof(uint16_t);
		for (int t0 = p0, n; t0 < p1; t0 += n) {
			n = ops_split_run(j, t0, p1, OPS_ATTN_RUN);
			for (int g = g0; g < g1; g++) {
				const uint16_t *vp = ops_split_f16_row(j, j->vc, g, t0);
				for (int h = g * group; h < (g + 1) * group; h++) {
					float *w = j->scores + (size_t)h * j->n_kv + (t0 - j->lo);
					float *acc = j->partial + ((size_t)h * j->n_split + sp) * (hd + 2) + 2;
					/* Weights rounded to f16 before they scale V, as in
					 * the batch path (and llama.cpp's non-flash one). */
					j->qk->from_float(w, half, n);
					j->qk->to_float(half, w, n);
					j->rows->wsum_f16(acc, w, vp, stride, n, hd);
				}
			}
		}
		return;
	}
	for (int t0 = p0; t0 < p1; t0 += OPS_ATTN_TILE) {
		const int n = p1 - t0 < OPS_ATTN_TILE ? p1 - t0 : OPS_ATTN_TILE;
		for (int g = g0; g < g1; g++) {
			ops_split_tile(j, j->vc, g, t0, n, vt);
			for (int h = g * group; h < (g + 1) * group; h++) {
				float *w = j->scores + (size_t)h * j->n_kv + (t0 - j->lo);
				float *acc = j->partial + ((size_t)h * j->n_split + sp) * (hd + 2) + 2;
				j->rows->wsum(tmp, w, vt, (size_t)hd, n, hd);
				for (int d = 0; d < hd; d++)
					acc[d] += tmp[d];
			}
		}
	}
}

/* One query (decode) against positions lo..pos: the scores split by range
 * of positions (every KV head in each), each range's share of the softmax
 * from the maxima and sums of all ranges, then the values split the same
 * way, and the outputs of the ranges added up in order. */
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
		.blk_heads = ops_attn_blk_heads(a, n_split),
		.partial = work,
		.scores = (float *)((uint8_t *)work + ops_split_partial_bytes(a)),
		.scale = scale,
		.slots = (uint8_t *)work + ops_split_partial_bytes(a) + ops_split_scores_bytes(a, n_kv),
		.slot = ops_split_slot_bytes(a),
	};
	const int n_items = n_split * ((a->n_head_kv + j.blk_heads - 1) / j.blk_heads);
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

/* Whether a batch goes to the split path: single queries over an F16 or
 * quantized cache, whose heads alone would not keep the threads busy. */
static bool ops_attn_use_split(const struct ops_attn *a, int n_tok)
{
	return n_tok == 1 && a->kv_type != GGML_TYPE_F32 && a->path != OPS_ATTN_BATCH;
}

size_t ops_attention_work_size(const struct ops_attn *a, int n_kv, int n_threads)
{
	const size_t nth = (size_t)(n_threads > 0 ? n_threads : 1);
	size_t ref = ops_attn_wide_bytes(a, n_kv) + ops_attn_slot_bytes(a, n_kv) * nth;
	size_t split = ops_split_partial_bytes(a) + ops_split_scores_bytes(a, n_kv) +
		       ops_split_slot_bytes(a) * nth;
	return ref > split ? ref : split;
}

/* The batch path: the cached rows read in place or widened to floats once,
 * then one item per token and query head. */
struct ops_attn_job {
	const struct ops_attn *a;
	const struct quant_kernels *kk, *qk;
	const struct ops_row_kernels *rows;
	float *out;
	const float *q;
	const uint8_t *kc, *vc;
	const float *kf, *vf;
	const uint16_t *kh, *vh; /* an F16 cache read in place (kf, vf unused) */
	size_t row_stride;
	int n_tok, pos0, lo0, n_rows;
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
	/* Items run head by head: the tokens of a batch that follow each other
	 * read the same KV head's rows while they are still in cache. */
	const int t = (int)(item % j->n_tok), h = (int)(item / j->n_tok);
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
	if (j->kh)
		j->rows->scores_f16(scores, qh, j->kh + first + head_off, j->row_stride, n_kv, hd,
				    a->scale);
	else
		j->rows->scores(scores, qh, j->kf + first + head_off, j->row_stride, n_kv, hd,
				a->scale);
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
	if (j->vh) {
		memset(oh, 0, (size_t)hd * sizeof(float));
		j->rows->wsum_f16(oh, scores, j->vh + first + head_off, j->row_stride, n_kv, hd);
	} else {
		j->rows->wsum(oh, scores, j->vf + first + head_off, j->row_stride, n_kv, hd);
	}
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
	/* F32 and F16 rows are read in place unless the window wraps a ring. */
	const bool in_place = (a->kv_type == GGML_TYPE_F32 || a->kv_type == GGML_TYPE_F16) && !wraps;
	const size_t wide = ops_attn_wide_bytes(a, n_rows);
	struct ops_attn_job j = {
		.a = a, .kk = kk, .qk = qk, .rows = ops_rows_best(),
		.out = out, .q = q, .kc = k_cache, .vc = v_cache,
		.row_stride = a->kv_row_bytes / sizeof(float),
		.n_tok = n_tok, .pos0 = pos0, .lo0 = lo0, .n_rows = n_rows,
		.slots = (uint8_t *)work + wide,
		.slot = ops_attn_slot_bytes(a, n_rows),
	};
	/* Views of positions lo0..n_total-1: rows of kv_dim, row_stride elements apart. */
	if (in_place && a->kv_type == GGML_TYPE_F16) {
		j.row_stride = a->kv_row_bytes / sizeof(uint16_t);
		const size_t first = (size_t)(ring > 0 ? lo0 % ring : lo0) * j.row_stride;
		j.kh = (const uint16_t *)k_cache + first;
		j.vh = (const uint16_t *)v_cache + first;
	} else if (in_place) {
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
