/* The row operations the architecture table added: LayerNorm, GELU through
 * ggml's f16 table, soft-capping, clamping, ALiBi slopes, and attention with
 * a sliding window, a ring of rows, soft-capped scores and ALiBi, each
 * against a plain float reference written here. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ops.h"
#include "quant.h"

/* Float sums in another order than the references here. */
#define TOL_ROW 1e-5

static void test_layernorm(void **state)
{
	(void)state;
	float x[37], w[37], b[37], out[37];
	for (int i = 0; i < 37; i++) {
		x[i] = sinf((float)i) * 3.0f + 1.5f;
		w[i] = 1.0f + 0.01f * (float)i;
		b[i] = 0.1f * cosf((float)i);
	}
	ops_layernorm(out, x, w, b, 37, 1e-5f);
	double mean = 0, var = 0;
	for (int i = 0; i < 37; i++)
		mean += x[i];
	mean /= 37;
	for (int i = 0; i < 37; i++)
		var += (x[i] - mean) * (x[i] - mean);
	var /= 37;
	for (int i = 0; i < 37; i++) {
		double want = (x[i] - mean) / sqrt(var + 1e-5) * w[i] + b[i];
		assert_true(fabs(out[i] - want) < TOL_ROW);
	}
	/* Without weight and bias, in place: mean 0, variance 1. */
	ops_layernorm(x, x, NULL, NULL, 37, 0.0f);
	double m2 = 0, v2 = 0;
	for (int i = 0; i < 37; i++)
		m2 += x[i];
	for (int i = 0; i < 37; i++)
		v2 += x[i] * x[i];
	assert_true(fabs(m2 / 37) < TOL_ROW && fabs(v2 / 37 - 1.0) < 1e-4);
}

static void test_gelu_table(void **state)
{
	(void)state;
	uint16_t *t = malloc(OPS_GELU_TABLE_SIZE * sizeof(*t));
	assert_non_null(t);
	ops_gelu_table(t);
	const float xs[] = { -12.0f, -10.0f, -3.0f, -0.5f, 0.0f, 0.1f, 0.7f, 1.0f, 2.5f, 9.9f, 10.0f, 50.0f };
	float out[12], up[12], gg[12];
	ops_gelu(out, xs, 12, t);
	for (int i = 0; i < 12; i++) {
		float x = xs[i];
		float want;
		if (x <= -10.0f)
			want = 0.0f;
		else if (x >= 10.0f)
			want = x;
		else {
			/* tanh GELU of the f16 input, rounded to f16: one f16 step of the exact value. */
			float h = fp16_to_f32(f32_to_fp16(x));
			want = 0.5f * h * (1.0f + tanhf(0.7978845608f * h * (1.0f + 0.044715f * h * h)));
			want = fp16_to_f32(f32_to_fp16(want));
		}
		assert_true(fabsf(out[i] - want) <= 1e-3f * fabsf(want) + 1e-7f);
		up[i] = 0.5f + (float)i;
	}
	ops_geglu(gg, xs, up, 12, t);
	for (int i = 0; i < 12; i++)
		assert_true(fabsf(gg[i] - out[i] * up[i]) <= 1e-6f * fabsf(gg[i]) + 1e-7f);
	free(t);
}

static void test_softcap_clamp_scale(void **state)
{
	(void)state;
	float x[5] = { -100.0f, -1.0f, 0.0f, 2.0f, 100.0f };
	ops_softcap(x, 5, 30.0f);
	assert_true(x[0] > -30.0f && x[0] < -29.0f && x[4] < 30.0f && x[4] > 29.0f);
	assert_true(fabsf(x[1] + 30.0f * tanhf(1.0f / 30.0f)) < 1e-6f && x[2] == 0.0f);
	float y[4] = { -3.0f, -0.2f, 0.4f, 7.0f };
	ops_clamp(y, 4, 0.5f);
	assert_true(y[0] == -0.5f && y[1] == -0.2f && y[2] == 0.4f && y[3] == 0.5f);
	ops_scale(y, 4, 2.0f);
	assert_true(y[0] == -1.0f && y[3] == 1.0f);
}

static void test_alibi_slopes(void **state)
{
	(void)state;
	/* 8 heads, bias 8: 2^-1 .. 2^-8, as in the ALiBi paper. */
	float s[12];
	ops_alibi_slopes(s, 8, 8.0f);
	for (int h = 0; h < 8; h++)
		assert_true(fabsf(s[h] - powf(2.0f, -(float)(h + 1))) < 1e-7f);
	/* 12 heads: 8 from the first series, then odd powers of the second. */
	ops_alibi_slopes(s, 12, 8.0f);
	assert_true(fabsf(s[8] - powf(2.0f, -0.5f)) < 1e-6f);
	assert_true(fabsf(s[9] - powf(2.0f, -1.5f)) < 1e-6f);
}

/* Attention of one query head over positions, by the definitions. */
static void ref_attention(const struct ops_attn *a, const float *q, const float *k, const float *v,
			  int pos, float *out)
{
	const int hd = a->head_dim;
	const int lo = a->n_swa > 0 && pos - a->n_swa + 1 > 0 ? pos - a->n_swa + 1 : 0;
	double s[64], max = -INFINITY, sum = 0;
	for (int p = lo; p <= pos; p++) {
		double d = 0;
		for (int i = 0; i < hd; i++)
			d += q[i] * k[p * hd + i];
		d *= a->scale;
		if (a->softcap > 0)
			d = tanh(d / a->softcap) * a->softcap;
		if (a->alibi_slopes)
			d += a->alibi_slopes[0] * (p - pos);
		s[p - lo] = d;
		if (d > max)
			max = d;
	}
	for (int p = lo; p <= pos; p++)
		sum += (s[p - lo] = exp(s[p - lo] - max));
	for (int i = 0; i < hd; i++) {
		double o = 0;
		for (int p = lo; p <= pos; p++)
			o += s[p - lo] / sum * v[p * hd + i];
		out[i] = (float)o;
	}
}

static void test_attention_window_ring(void **state)
{
	(void)state;
	enum { HD = 8, N = 30, WIN = 5, BATCH = 3, RING = WIN - 1 + BATCH };
	float k[N * HD], v[N * HD], q[BATCH * HD], out[BATCH * HD], want[HD];
	for (int i = 0; i < N * HD; i++) {
		k[i] = sinf(0.37f * (float)i);
		v[i] = cosf(0.11f * (float)i);
	}
	for (int i = 0; i < BATCH * HD; i++)
		q[i] = sinf(1.3f * (float)i + 0.5f);
	const float slope = 0.25f;
	struct ops_attn a = {
		.n_head = 1, .n_head_kv = 1, .head_dim = HD, .kv_type = GGML_TYPE_F32,
		.kv_row_bytes = HD * sizeof(float), .scale = 0.35f, .softcap = 2.0f,
		.n_swa = WIN, .ring_rows = RING, .alibi_slopes = &slope,
	};
	void *work = malloc(ops_attention_work_size(&a, RING, 1));
	/* The ring holds position p in row p % RING, as a context stores it. */
	float ring_k[RING * HD], ring_v[RING * HD];
	for (int pos0 = 0; pos0 + BATCH <= N; pos0 += BATCH) {
		for (int p = pos0 - WIN + 1 < 0 ? 0 : pos0 - WIN + 1; p < pos0 + BATCH; p++) {
			memcpy(ring_k + (p % RING) * HD, k + p * HD, sizeof(float) * HD);
			memcpy(ring_v + (p % RING) * HD, v + p * HD, sizeof(float) * HD);
		}
		assert_int_equal(ops_attention(&a, out, q, ring_k, ring_v, BATCH, pos0, work, 1), 0);
		for (int t = 0; t < BATCH; t++) {
			ref_attention(&a, q + t * HD, k, v, pos0 + t, want);
			for (int i = 0; i < HD; i++)
				if (fabsf(out[t * HD + i] - want[i]) > TOL_ROW)
					fail_msg("pos %d dim %d: %g vs %g", pos0 + t, i, (double)out[t * HD + i],
						 (double)want[i]);
		}
	}
	free(work);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layernorm),
		cmocka_unit_test(test_gelu_table),
		cmocka_unit_test(test_softcap_clamp_scale),
		cmocka_unit_test(test_alibi_slopes),
		cmocka_unit_test(test_attention_window_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
