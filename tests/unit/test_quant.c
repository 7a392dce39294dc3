/* Tests for engine/quant.c: half-precision conversions, block layouts, the
 * kernel table, golden blocks, quantization error and dot products.
 *
 * Set LT_QUANT_VERBOSE=1 to print the measured errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"

/* Relative RMSE, sqrt(sum (x - x')^2 / sum x^2), of quantize + dequantize
 * on 4096 values. Our quantizers write exactly the bytes ggml's reference
 * quantizers write (test_bytes_match_ggml), so the measured errors are
 * ggml's; each limit is about 1.2x the worst measured value, headroom for
 * a future change of arithmetic rather than for a different algorithm.
 * TOL_RMSE_* covers the gaussian-ish and uniform rows, TOL_RMSE_OUT_* the
 * rows with 1% outliers, which cost symmetric formats much more. */
#define TOL_RMSE_Q4_0 0.095
#define TOL_RMSE_Q4_1 0.090
#define TOL_RMSE_Q5_0 0.048
#define TOL_RMSE_Q5_1 0.044
#define TOL_RMSE_Q8_0 0.006
#define TOL_RMSE_Q8_1 0.006
#define TOL_RMSE_Q2_K 0.34
#define TOL_RMSE_Q3_K 0.175
#define TOL_RMSE_Q4_K 0.082
#define TOL_RMSE_Q5_K 0.042
#define TOL_RMSE_Q6_K 0.020
#define TOL_RMSE_Q8_K 0.0075
#define TOL_RMSE_OUT_Q4_0 0.16
#define TOL_RMSE_OUT_Q4_1 0.14
#define TOL_RMSE_OUT_Q5_0 0.105
#define TOL_RMSE_OUT_Q5_1 0.065
#define TOL_RMSE_OUT_Q8_0 0.014
#define TOL_RMSE_OUT_Q8_1 0.014
#define TOL_RMSE_OUT_Q2_K 0.31
#define TOL_RMSE_OUT_Q3_K 0.145
#define TOL_RMSE_OUT_Q4_K 0.12
#define TOL_RMSE_OUT_Q5_K 0.062
#define TOL_RMSE_OUT_Q6_K 0.041
#define TOL_RMSE_OUT_Q8_K 0.035
/* Plain formats round each value to nearest, so the relative error of any
 * normal value is at most half an ulp: 2^-11 for f16, 2^-8 for bf16. */
#define TOL_RMSE_F16 0x1p-11
#define TOL_RMSE_BF16 0x1p-8

/* A constant row in a block format: only the fp16 rounding of the scale
 * (2^-11 relative) and, for the k-quants, of the 6-bit scale/min pair
 * should remain. */
#define TOL_RMSE_CONST 0x1p-11

/* ggml's test-quantize-fns limits on its own data, 0.1 + 2 cos(i + offset)
 * over 4096 values, with its metric sqrt(sum (x - x')^2) / n. */
#define TOL_GGML_TOTAL 0.002
#define TOL_GGML_TOTAL_3BITS 0.004
#define TOL_GGML_TOTAL_2BITS 0.0075
#define TOL_GGML_DOT 0.02
#define TOL_GGML_DOT_LOWBIT 0.04

/* vec_dot against a double-precision dot of the dequantized rows, as
 * |error| / sum |x_i y_i|. The kernels do integer sums per block and float
 * sums across 128 blocks, so rounding is bounded by 128 * 2^-24 ~ 8e-6. */
#define TOL_DOT_ROUNDING 1e-5
/* q4_1 and q5_1 dot with q8_1, whose block sum is stored as fp16:
 * 2^-11 relative error on the min term of each block. */
#define TOL_DOT_Q8_1_SUM 1e-3

#define N_ROW 4096

/* ------------------------------------------------------------ test data */

/* xorshift64: the same numbers on every machine and libc. */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
}

static float rng_uniform(void) /* [0, 1), exact in a float */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (float)(rng_state >> 40) * 0x1p-24f;
}

static float rng_gaussish(void) /* Irwin-Hall: sum of 4 uniforms, var 1 */
{
	float s = rng_uniform() + rng_uniform() + rng_uniform() + rng_uniform();
	return (s - 2.0f) * 1.7320508f;
}

enum dist { DIST_GAUSS, DIST_UNIFORM, DIST_OUTLIERS, DIST_ZERO, DIST_CONST, DIST_COUNT };
static const char *const dist_names[DIST_COUNT] = { "gauss", "uniform", "outliers", "zero", "const" };

static void fill_row(float *x, int n, enum dist dist, uint64_t seed)
{
	rng_seed(seed);
	for (int i = 0; i < n; i++) {
		switch (dist) {
		case DIST_GAUSS:
			x[i] = 0.05f * rng_gaussish();
			break;
		case DIST_UNIFORM:
			x[i] = 2.0f * rng_uniform() - 1.0f;
			break;
		case DIST_OUTLIERS: /* 1% of values 30x larger, like real weights */
			x[i] = rng_gaussish();
			if (rng_uniform() < 0.01f)
				x[i] *= 30.0f;
			break;
		case DIST_ZERO:
			x[i] = 0.0f;
			break;
		case DIST_CONST:
			x[i] = 0.37f;
			break;
		default:
			break;
		}
	}
}

static bool verbose(void)
{
	const char *v = getenv("LT_QUANT_VERBOSE");
	return v && *v && strcmp(v, "0") != 0;
}


static const struct {
	enum ggml_type type;
	double rmse, rmse_outliers;
} limits[] = {
	{ GGML_TYPE_F32, 0.0, 0.0 },
	{ GGML_TYPE_F16, TOL_RMSE_F16, TOL_RMSE_F16 },
	{ GGML_TYPE_BF16, TOL_RMSE_BF16, TOL_RMSE_BF16 },
	{ GGML_TYPE_Q4_0, TOL_RMSE_Q4_0, TOL_RMSE_OUT_Q4_0 },
	{ GGML_TYPE_Q4_1, TOL_RMSE_Q4_1, TOL_RMSE_OUT_Q4_1 },
	{ GGML_TYPE_Q5_0, TOL_RMSE_Q5_0, TOL_RMSE_OUT_Q5_0 },
	{ GGML_TYPE_Q5_1, TOL_RMSE_Q5_1, TOL_RMSE_OUT_Q5_1 },
	{ GGML_TYPE_Q8_0, TOL_RMSE_Q8_0, TOL_RMSE_OUT_Q8_0 },
	{ GGML_TYPE_Q8_1, TOL_RMSE_Q8_1, TOL_RMSE_OUT_Q8_1 },
	{ GGML_TYPE_Q2_K, TOL_RMSE_Q2_K, TOL_RMSE_OUT_Q2_K },
	{ GGML_TYPE_Q3_K, TOL_RMSE_Q3_K, TOL_RMSE_OUT_Q3_K },
	{ GGML_TYPE_Q4_K, TOL_RMSE_Q4_K, TOL_RMSE_OUT_Q4_K },
	{ GGML_TYPE_Q5_K, TOL_RMSE_Q5_K, TOL_RMSE_OUT_Q5_K },
	{ GGML_TYPE_Q6_K, TOL_RMSE_Q6_K, TOL_RMSE_OUT_Q6_K },
	{ GGML_TYPE_Q8_K, TOL_RMSE_Q8_K, TOL_RMSE_OUT_Q8_K },
};
#define N_TYPES (sizeof(limits) / sizeof(limits[0]))

/* Quantizes x into a fresh buffer, poisoned first so unwritten bytes show. */
static void *quantize(enum ggml_type t, const float *x, int n)
{
	size_t bytes = dtype_row_bytes(t, n);
	assert_true(bytes > 0);
	void *q = malloc(bytes);
	assert_non_null(q);
	memset(q, 0xa5, bytes);
	quant_ref(t)->from_float(x, q, n);
	return q;
}

static double rel_rmse(const float *x, const float *y, int n)
{
	double err = 0, ref = 0;
	for (int i = 0; i < n; i++) {
		double d = (double)x[i] - y[i];
		err += d * d;
		ref += (double)x[i] * x[i];
	}
	return ref > 0 ? sqrt(err / ref) : sqrt(err);
}

/* ------------------------------------------------------------ fp16 / bf16 */

static float f32_of(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof(f));
	return f;
}

static void test_fp16_edges(void **state)
{
	(void)state;
	assert_int_equal(f32_to_fp16(0.0f), 0x0000);
	assert_int_equal(f32_to_fp16(-0.0f), 0x8000);
	assert_true(signbit(fp16_to_f32(0x8000)) && fp16_to_f32(0x8000) == 0.0f);
	assert_int_equal(f32_to_fp16(1.0f), 0x3c00);
	assert_int_equal(f32_to_fp16(-2.0f), 0xc000);
	assert_int_equal(f32_to_fp16(65504.0f), 0x7bff);
	assert_true(fp16_to_f32(0x7bff) == 65504.0f);
	/* 65520 is halfway to 65536 and rounds to even: infinity. */
	assert_int_equal(f32_to_fp16(65519.996f), 0x7bff);
	assert_int_equal(f32_to_fp16(65520.0f), 0x7c00);
	assert_int_equal(f32_to_fp16(INFINITY), 0x7c00);
	assert_int_equal(f32_to_fp16(-INFINITY), 0xfc00);
	assert_true(isinf(fp16_to_f32(0x7c00)) && fp16_to_f32(0xfc00) < 0);
	uint16_t nan = f32_to_fp16(NAN);
	assert_int_equal(nan & 0x7c00, 0x7c00);
	assert_true((nan & 0x0200) != 0); /* quiet */
	assert_true(isnan(fp16_to_f32(nan)));
	assert_true(isnan(fp16_to_f32(0x7c01))); /* signalling NaN read as NaN */
	/* Subnormals: smallest 2^-24, largest 1023 * 2^-24, smallest normal 2^-14. */
	assert_true(fp16_to_f32(0x0001) == 0x1p-24f);
	assert_int_equal(f32_to_fp16(0x1p-24f), 0x0001);
	assert_true(fp16_to_f32(0x03ff) == 1023 * 0x1p-24f);
	assert_int_equal(f32_to_fp16(0x1p-14f), 0x0400);
	assert_int_equal(f32_to_fp16(0x1p-25f), 0x0000);      /* halfway to 1: even */
	assert_int_equal(f32_to_fp16(0x1.8p-25f), 0x0001);    /* above halfway */
	assert_int_equal(f32_to_fp16(3 * 0x1p-25f), 0x0002);  /* 1.5 units: even */
	assert_int_equal(f32_to_fp16(1023.5f * 0x1p-24f), 0x0400); /* carries into normal */
	assert_int_equal(f32_to_fp16(0x1p-30f), 0x0000);
	assert_int_equal(f32_to_fp16(-0x1p-30f), 0x8000);
	assert_int_equal(f32_to_fp16(f32_of(0x00000001)), 0x0000); /* f32 subnormal */
	/* Halfway between normals rounds to even. */
	assert_int_equal(f32_to_fp16(1.0f + 0x1p-11f), 0x3c00);
	assert_int_equal(f32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);
	assert_int_equal(f32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
	assert_int_equal(f32_to_fp16(2047.0f / 1024.0f + 0x1p-11f), 0x4000); /* mantissa carry */
}

static void test_fp16_roundtrip_all(void **state)
{
	(void)state;
	for (uint32_t h = 0; h < 65536; h++) {
		float f = fp16_to_f32((uint16_t)h);
		if (isnan(f)) {
			assert_true((h & 0x7c00) == 0x7c00 && (h & 0x3ff));
			assert_true(isnan(fp16_to_f32(f32_to_fp16(f))));
			continue;
		}
		assert_int_equal(f32_to_fp16(f), h);
	}
}

/* When the compiler has _Float16, its conversion is an independent oracle. */
static void test_fp16_vs_compiler(void **state)
{
	(void)state;
#ifdef __FLT16_MANT_DIG__
	rng_seed(7);
	for (int i = 0; i < 2000000; i++) {
		uint32_t u = (uint32_t)(rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7,
					rng_state ^= rng_state << 17);
		/* Bias toward the interesting exponent range near half's. */
		if (i & 1)
			u = (u & 0x80ffffff) | (uint32_t)(96 + (u >> 24) % 48) << 23;
		float f = f32_of(u);
		if (isnan(f))
			continue;
		_Float16 h = (_Float16)f;
		uint16_t expect;
		memcpy(&expect, &h, sizeof(expect));
		if (f32_to_fp16(f) != expect)
			fail_msg("f32_to_fp16(0x%08x) = 0x%04x, compiler says 0x%04x", u, f32_to_fp16(f),
				 expect);
	}
#else
	printf("SKIP: fp16 oracle: compiler has no _Float16\n");
	skip();
#endif
}

static void test_bf16_edges(void **state)
{
	(void)state;
	assert_int_equal(f32_to_bf16(1.0f), 0x3f80);
	assert_int_equal(f32_to_bf16(-0.0f), 0x8000);
	assert_int_equal(f32_to_bf16(f32_of(0x3f808000)), 0x3f80); /* halfway: even */
	assert_int_equal(f32_to_bf16(f32_of(0x3f818000)), 0x3f82);
	assert_int_equal(f32_to_bf16(f32_of(0x3f808001)), 0x3f81);
	assert_int_equal(f32_to_bf16(INFINITY), 0x7f80);
	assert_int_equal(f32_to_bf16(-INFINITY), 0xff80);
	assert_int_equal(f32_to_bf16(f32_of(0x7f7fffff)), 0x7f80); /* FLT_MAX rounds up */
	uint16_t nan = f32_to_bf16(f32_of(0x7f800001)); /* signalling in, quiet out */
	assert_true((nan & 0x7f80) == 0x7f80 && (nan & 0x0040));
	assert_true(isnan(bf16_to_f32(nan)));
	assert_int_equal(f32_to_bf16(f32_of(0x00000001)), 0x0000); /* subnormals kept */
	assert_int_equal(f32_to_bf16(f32_of(0x00018000)), 0x0002);
	assert_true(bf16_to_f32(0x0001) == f32_of(0x00010000));
	for (uint32_t h = 0; h < 65536; h++) {
		float f = bf16_to_f32((uint16_t)h);
		if (!isnan(f))
			assert_int_equal(f32_to_bf16(f), h);
	}
}

/* ------------------------------------------------------------ table, sizes */

static void test_block_sizes(void **state)
{
	(void)state;
	static const struct { enum ggml_type t; size_t size, elems; } blocks[] = {
		{ GGML_TYPE_Q4_0, sizeof(struct block_q4_0), QK4_0 },
		{ GGML_TYPE_Q4_1, sizeof(struct block_q4_1), QK4_1 },
		{ GGML_TYPE_Q5_0, sizeof(struct block_q5_0), QK5_0 },
		{ GGML_TYPE_Q5_1, sizeof(struct block_q5_1), QK5_1 },
		{ GGML_TYPE_Q8_0, sizeof(struct block_q8_0), QK8_0 },
		{ GGML_TYPE_Q8_1, sizeof(struct block_q8_1), QK8_1 },
		{ GGML_TYPE_Q2_K, sizeof(struct block_q2_K), QK_K },
		{ GGML_TYPE_Q3_K, sizeof(struct block_q3_K), QK_K },
		{ GGML_TYPE_Q4_K, sizeof(struct block_q4_K), QK_K },
		{ GGML_TYPE_Q5_K, sizeof(struct block_q5_K), QK_K },
		{ GGML_TYPE_Q6_K, sizeof(struct block_q6_K), QK_K },
		{ GGML_TYPE_Q8_K, sizeof(struct block_q8_K), QK_K },
	};
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		const struct dtype_info *info = dtype_info(blocks[i].t);
		assert_non_null(info);
		assert_int_equal(blocks[i].size, info->block_bytes);
		assert_int_equal(blocks[i].elems, info->block_size);
	}
	/* Fields sit where ggml puts them (offsets spot-checked). */
	assert_int_equal(offsetof(struct block_q2_K, d), 80);
	assert_int_equal(offsetof(struct block_q3_K, d), 108);
	assert_int_equal(offsetof(struct block_q4_K, qs), 16);
	assert_int_equal(offsetof(struct block_q5_K, qs), 48);
	assert_int_equal(offsetof(struct block_q6_K, d), 208);
	assert_int_equal(offsetof(struct block_q8_K, bsums), 260);
}

static void test_kernel_table(void **state)
{
	(void)state;
	static const struct { enum ggml_type t, dot; } computed[] = {
		{ GGML_TYPE_F32, GGML_TYPE_F32 },   { GGML_TYPE_F16, GGML_TYPE_F16 },
		{ GGML_TYPE_BF16, GGML_TYPE_BF16 }, { GGML_TYPE_Q4_0, GGML_TYPE_Q8_0 },
		{ GGML_TYPE_Q4_1, GGML_TYPE_Q8_1 }, { GGML_TYPE_Q5_0, GGML_TYPE_Q8_0 },
		{ GGML_TYPE_Q5_1, GGML_TYPE_Q8_1 }, { GGML_TYPE_Q8_0, GGML_TYPE_Q8_0 },
		{ GGML_TYPE_Q8_1, GGML_TYPE_Q8_1 }, { GGML_TYPE_Q2_K, GGML_TYPE_Q8_K },
		{ GGML_TYPE_Q3_K, GGML_TYPE_Q8_K }, { GGML_TYPE_Q4_K, GGML_TYPE_Q8_K },
		{ GGML_TYPE_Q5_K, GGML_TYPE_Q8_K }, { GGML_TYPE_Q6_K, GGML_TYPE_Q8_K },
		{ GGML_TYPE_Q8_K, GGML_TYPE_Q8_K },
	};
	int n_computed = 0;
	for (size_t i = 0; i < sizeof(computed) / sizeof(computed[0]); i++) {
		const struct quant_kernels *k = quant_ref(computed[i].t);
		assert_non_null(k);
		assert_non_null(k->to_float);
		assert_non_null(k->from_float);
		assert_non_null(k->vec_dot);
		assert_int_equal(k->vec_dot_type, computed[i].dot);
		assert_non_null(quant_best(computed[i].t));
		assert_int_equal(quant_best(computed[i].t)->vec_dot_type, computed[i].dot);
	}
	for (int t = -3; t < GGML_TYPE_COUNT + 3; t++) {
		if (quant_ref((enum ggml_type)t))
			n_computed++;
		else
			assert_null(quant_best((enum ggml_type)t));
	}
	assert_int_equal(n_computed, (int)(sizeof(computed) / sizeof(computed[0])));
	assert_null(quant_ref(GGML_TYPE_IQ2_XXS));
	assert_null(quant_ref(GGML_TYPE_IQ4_NL));
	assert_null(quant_ref(GGML_TYPE_TQ1_0));
	assert_null(quant_ref(GGML_TYPE_MXFP4));
	assert_null(quant_ref(GGML_TYPE_I8));
	assert_null(quant_ref(GGML_TYPE_F64));
}

/* ------------------------------------------------------------ golden blocks */

static void expect_row(enum ggml_type t, const void *block, const float *expect, int n)
{
	float out[QK_K];
	quant_ref(t)->to_float(block, out, n);
	for (int i = 0; i < n; i++)
		if (out[i] != expect[i])
			fail_msg("%s element %d: got %g, expected %g", dtype_name(t), i, out[i], expect[i]);
}

static void test_golden_legacy(void **state)
{
	(void)state;
	float e[32];

	struct block_q4_0 b40 = { .d = 0x3800 }; /* 0.5 */
	for (int j = 0; j < 16; j++) {
		b40.qs[j] = (uint8_t)(j | (15 - j) << 4);
		e[j] = (j - 8) * 0.5f;
		e[j + 16] = (7 - j) * 0.5f;
	}
	expect_row(GGML_TYPE_Q4_0, &b40, e, 32);

	struct block_q4_1 b41 = { .d = 0x3400, .m = 0xbc00 }; /* 0.25, -1 */
	for (int j = 0; j < 16; j++) {
		b41.qs[j] = (uint8_t)((15 - j) | j << 4);
		e[j] = (15 - j) * 0.25f - 1.0f;
		e[j + 16] = j * 0.25f - 1.0f;
	}
	expect_row(GGML_TYPE_Q4_1, &b41, e, 32);

	/* Fifth bits 0xa5a5f00f: bit j belongs to element j. */
	struct block_q5_0 b50 = { .d = 0x3c00, .qh = { 0x0f, 0xf0, 0xa5, 0xa5 } };
	uint32_t qh = 0xa5a5f00fu;
	for (int j = 0; j < 16; j++) {
		b50.qs[j] = (uint8_t)(j | (j ^ 5) << 4);
		e[j] = (float)((j | (int)((qh >> j) & 1) << 4) - 16);
		e[j + 16] = (float)(((j ^ 5) | (int)((qh >> (j + 16)) & 1) << 4) - 16);
	}
	expect_row(GGML_TYPE_Q5_0, &b50, e, 32);

	struct block_q5_1 b51 = { .d = 0x3800, .m = 0x4000, .qh = { 0x0f, 0xf0, 0xa5, 0xa5 } };
	memcpy(b51.qs, b50.qs, sizeof(b51.qs));
	for (int j = 0; j < 32; j++)
		e[j] = (e[j] + 16) * 0.5f + 2.0f;
	expect_row(GGML_TYPE_Q5_1, &b51, e, 32);

	struct block_q8_0 b80 = { .d = 0x4000 }; /* 2 */
	for (int j = 0; j < 32; j++) {
		b80.qs[j] = (int8_t)(j * 8 - 128);
		e[j] = (j * 8 - 128) * 2.0f;
	}
	expect_row(GGML_TYPE_Q8_0, &b80, e, 32);

	struct block_q8_1 b81 = { .d = 0x3800, .s = 0x7bff }; /* s is not used here */
	for (int j = 0; j < 32; j++) {
		b81.qs[j] = (int8_t)(127 - j * 3);
		e[j] = (127 - j * 3) * 0.5f;
	}
	expect_row(GGML_TYPE_Q8_1, &b81, e, 32);
}

static void test_golden_k(void **state)
{
	(void)state;
	float e[QK_K];

	/* q2_K: every qs byte 0xe4 puts level k in the k-th 32-run of each
	 * 128; group g has scale g % 16 and min 15 - g. */
	struct block_q2_K b2 = { .d = 0x3c00, .dmin = 0x3800 }; /* 1, 0.5 */
	memset(b2.qs, 0xe4, sizeof(b2.qs));
	for (int g = 0; g < 16; g++)
		b2.scales[g] = (uint8_t)(g | (15 - g) << 4);
	for (int i = 0; i < QK_K; i++)
		e[i] = 1.0f * (i / 16) * ((i % 128) / 32) - 0.5f * (15 - i / 16);
	expect_row(GGML_TYPE_Q2_K, &b2, e, QK_K);

	/* q3_K: low nibbles 1 (scales 0-7) and 2 (8-15), top bits j/4, so the
	 * scales are -31, -15, 2, 18 per four groups; low bits 3,2,1,0 per
	 * 32-run; the high bit is clear only for elements with i % 32 == 0. */
	struct block_q3_K b3 = { .d = 0x3400 }; /* 0.25 */
	memset(b3.scales, 0x21, 8);
	memset(b3.scales + 8, 0xe4, 4);
	memset(b3.qs, 0x1b, sizeof(b3.qs));
	memset(b3.hmask, 0xff, sizeof(b3.hmask));
	b3.hmask[0] = 0;
	static const int q3_scales[4] = { -31, -15, 2, 18 };
	for (int i = 0; i < QK_K; i++) {
		int q = 3 - (i % 128) / 32 - (i % 32 == 0 ? 4 : 0);
		e[i] = 0.25f * q3_scales[i / 64] * q;
	}
	expect_row(GGML_TYPE_Q3_K, &b3, e, QK_K);

	/* q4_K: scales {1,2,3,4,17,18,35,63}, mins {0,5,10,15,20,40,50,63},
	 * packed by hand as 6-bit fields. Nibbles: element i in a 64-run
	 * gets (i % 32) % 16 in the low half, 15 - that in the high half. */
	static const uint8_t k4_scales[12] = {
		0x41, 0x42, 0x83, 0xc4, 0x40, 0x85, 0xca, 0xcf, 0x41, 0x82, 0x23, 0xff,
	};
	static const int k4_sc[8] = { 1, 2, 3, 4, 17, 18, 35, 63 };
	static const int k4_mn[8] = { 0, 5, 10, 15, 20, 40, 50, 63 };
	struct block_q4_K b4 = { .d = 0x3800, .dmin = 0x3400 }; /* 0.5, 0.25 */
	memcpy(b4.scales, k4_scales, sizeof(k4_scales));
	for (int j = 0; j < QK_K / 2; j++)
		b4.qs[j] = (uint8_t)((j % 16) | (15 - j % 16) << 4);
	for (int i = 0; i < QK_K; i++) {
		int l = i % 32, hi = (i % 64) >= 32;
		int q = hi ? 15 - l % 16 : l % 16;
		e[i] = 0.5f * k4_sc[i / 32] * q - 0.25f * k4_mn[i / 32];
	}
	expect_row(GGML_TYPE_Q4_K, &b4, e, QK_K);

	/* q5_K: same scales and nibbles; the fifth bit set for group g when
	 * bit g of qh[i % 32] is set, here qh[l] = l * 7. */
	struct block_q5_K b5 = { .d = 0x3800, .dmin = 0x3400 };
	memcpy(b5.scales, k4_scales, sizeof(k4_scales));
	memcpy(b5.qs, b4.qs, sizeof(b5.qs));
	for (int l = 0; l < 32; l++)
		b5.qh[l] = (uint8_t)(l * 7);
	for (int i = 0; i < QK_K; i++) {
		int l = i % 32, hi = (i % 64) >= 32, g = i / 32;
		int q = (hi ? 15 - l % 16 : l % 16) + (((l * 7) & 0xff) >> g & 1) * 16;
		e[i] = 0.5f * k4_sc[g] * q - 0.25f * k4_mn[g];
	}
	expect_row(GGML_TYPE_Q5_K, &b5, e, QK_K);

	/* q6_K: group scales g - 8; per 128, ql[l] = l (low nibble for run 0,
	 * high for run 2), ql[l + 32] = 0x5a, qh[l] = 0xe4 (top bits k for
	 * run k). */
	struct block_q6_K b6 = { .d = 0x3000 }; /* 0.125 */
	for (int g = 0; g < 16; g++)
		b6.scales[g] = (int8_t)(g - 8);
	for (int h = 0; h < 2; h++) {
		for (int l = 0; l < 32; l++) {
			b6.ql[64 * h + l] = (uint8_t)l;
			b6.ql[64 * h + 32 + l] = 0x5a;
			b6.qh[32 * h + l] = 0xe4;
		}
	}
	for (int i = 0; i < QK_K; i++) {
		int l = i % 32, run = (i % 128) / 32;
		int low = run == 0 ? l & 15 : run == 1 ? 0xa : run == 2 ? l >> 4 : 0x5;
		e[i] = 0.125f * (i / 16 - 8) * ((low | run << 4) - 32);
	}
	expect_row(GGML_TYPE_Q6_K, &b6, e, QK_K);

	struct block_q8_K b8 = { .d = 0.5f };
	for (int i = 0; i < QK_K; i++) {
		b8.qs[i] = (int8_t)(i - 128);
		e[i] = (i - 128) * 0.5f;
	}
	expect_row(GGML_TYPE_Q8_K, &b8, e, QK_K);
}

/* Values on a type's grid survive quantization exactly. */
static void test_golden_quantize(void **state)
{
	(void)state;
	float x[QK_K], y[QK_K];
	for (int i = 0; i < 32; i++)
		x[i] = (i % 16 - 8) * 0.5f; /* max |x| = 4 at -4: d = 0.5 */
	void *q = quantize(GGML_TYPE_Q4_0, x, 32);
	assert_int_equal(((struct block_q4_0 *)q)->d, 0x3800);
	quant_ref(GGML_TYPE_Q4_0)->to_float(q, y, 32);
	assert_memory_equal(x, y, 32 * sizeof(float));
	free(q);

	for (int i = 0; i < 32; i++)
		x[i] = (float)(i - 16);
	q = quantize(GGML_TYPE_Q8_0, x, 32);
	const struct block_q8_0 *b = q;
	const float d = 16.0f / 127, id = 1.0f / d;
	assert_int_equal(b->d, f32_to_fp16(d));
	for (int i = 0; i < 32; i++) /* roundf: halves away from zero */
		assert_int_equal(b->qs[i], (int)roundf((float)(i - 16) * id));
	free(q);

	/* q8_K keeps group sums of its quants for the k-quant dots. */
	fill_row(x, QK_K, DIST_GAUSS, 3);
	q = quantize(GGML_TYPE_Q8_K, x, QK_K);
	const struct block_q8_K *b8 = q;
	for (int g = 0; g < QK_K / 16; g++) {
		int sum = 0;
		for (int l = 0; l < 16; l++)
			sum += b8->qs[16 * g + l];
		assert_int_equal(b8->bsums[g], sum);
	}
	free(q);
}

/* Hashes of the quantized bytes of a fixed gaussian-ish row, taken from
 * ggml's own reference quantizers (quantize_row_*_ref): ours must write the
 * same bytes, so files we quantize match llama.cpp's. */
static uint64_t fnv1a(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static void test_bytes_match_ggml(void **state)
{
	(void)state;
	static const struct { enum ggml_type t; uint64_t hash; } expect[] = {
		{ GGML_TYPE_Q4_0, 0x62c9d6f00944414aull },
		{ GGML_TYPE_Q4_1, 0x2c8a9db1c0333750ull },
		{ GGML_TYPE_Q5_0, 0xc2e060995e47c42aull },
		{ GGML_TYPE_Q5_1, 0x14d5407200d4bab3ull },
		{ GGML_TYPE_Q8_0, 0x3084ba3e4803334eull },
		{ GGML_TYPE_Q8_1, 0x3c7a3616b89bc520ull },
		{ GGML_TYPE_Q2_K, 0x5d1936e3b449ef56ull },
		{ GGML_TYPE_Q3_K, 0xbdcd9caef1e8194aull },
		{ GGML_TYPE_Q4_K, 0xf213191734f35488ull },
		{ GGML_TYPE_Q5_K, 0x3a8deff0a5cd1257ull },
		{ GGML_TYPE_Q6_K, 0xc6807a0a1e026485ull },
		{ GGML_TYPE_Q8_K, 0x1d387f819fe66173ull },
	};
	static float x[N_ROW];
	fill_row(x, N_ROW, DIST_OUTLIERS, 11);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		void *q = quantize(expect[i].t, x, N_ROW);
		uint64_t h = fnv1a(q, dtype_row_bytes(expect[i].t, N_ROW));
		if (verbose())
			printf("  %-5s bytes hash 0x%016llx\n", dtype_name(expect[i].t),
			       (unsigned long long)h);
		if (h != expect[i].hash)
			fail_msg("%s: bytes differ from ggml's quantizer", dtype_name(expect[i].t));
		free(q);
	}
}

/* ------------------------------------------------------------ error and dots */

static void test_rmse(void **state)
{
	(void)state;
	static float x[N_ROW], y[N_ROW];
	int failures = 0;
	for (size_t k = 0; k < N_TYPES; k++) {
		enum ggml_type t = limits[k].type;
		for (int d = 0; d < DIST_COUNT; d++) {
			fill_row(x, N_ROW, (enum dist)d, 100 + d);
			void *q = quantize(t, x, N_ROW);
			quant_ref(t)->to_float(q, y, N_ROW);
			free(q);
			double e = rel_rmse(x, y, N_ROW);
			double tol = d == DIST_OUTLIERS ? limits[k].rmse_outliers : limits[k].rmse;
			if (d == DIST_CONST && dtype_info(t)->quantized)
				tol = TOL_RMSE_CONST;
			if (d == DIST_ZERO) /* zeros must come back exactly */
				tol = 0.0;
			if (verbose())
				printf("  %-5s %-8s rel rmse %.6f (limit %g)\n", dtype_name(t), dist_names[d], e,
				       tol);
			if (!(e <= tol)) {
				printf("%s %s: rel rmse %g > %g\n", dtype_name(t), dist_names[d], e, tol);
				failures++;
			}
		}
	}
	assert_int_equal(failures, 0);
}

/* ggml's test-quantize-fns, on its data and with its limits. */
static void test_ggml_limits(void **state)
{
	(void)state;
	static float x[N_ROW], x2[N_ROW], y[N_ROW];
	for (int i = 0; i < N_ROW; i++) {
		x[i] = 0.1f + 2 * cosf((float)i);
		x2[i] = 0.1f + 2 * cosf((float)i + 1.0f);
	}
	for (size_t k = 0; k < N_TYPES; k++) {
		enum ggml_type t = limits[k].type;
		const struct quant_kernels *qk = quant_ref(t);
		void *q = quantize(t, x, N_ROW);
		qk->to_float(q, y, N_ROW);
		double sum = 0, exact = 0;
		for (int i = 0; i < N_ROW; i++) {
			sum += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
			exact += (double)x[i] * x2[i];
		}
		double total = sqrt(sum) / N_ROW;
		double tol = t == GGML_TYPE_Q2_K ? TOL_GGML_TOTAL_2BITS
			     : t == GGML_TYPE_Q3_K ? TOL_GGML_TOTAL_3BITS : TOL_GGML_TOTAL;
		void *q2 = quantize(qk->vec_dot_type, x2, N_ROW);
		float dot;
		qk->vec_dot(N_ROW, &dot, q, q2);
		double dot_err = fabs(dot - exact) / N_ROW;
		double dot_tol = t == GGML_TYPE_Q2_K ? TOL_GGML_DOT_LOWBIT : TOL_GGML_DOT;
		if (verbose())
			printf("  %-5s ggml total error %.6f, dot error %.6f\n", dtype_name(t), total, dot_err);
		if (!(total < tol))
			fail_msg("%s: ggml total error %g >= %g", dtype_name(t), total, tol);
		if (!(dot_err < dot_tol))
			fail_msg("%s: ggml dot error %g >= %g", dtype_name(t), dot_err, dot_tol);
		free(q);
		free(q2);
	}
}

static void test_vec_dot(void **state)
{
	(void)state;
	static float x[N_ROW], y[N_ROW], dx[N_ROW], dy[N_ROW];
	for (size_t k = 0; k < N_TYPES; k++) {
		enum ggml_type t = limits[k].type;
		const struct quant_kernels *qk = quant_ref(t);
		double tol = (t == GGML_TYPE_Q4_1 || t == GGML_TYPE_Q5_1) ? TOL_DOT_Q8_1_SUM
									 : TOL_DOT_ROUNDING;
		double worst = 0;
		for (int d = 0; d < DIST_COUNT; d++) {
			fill_row(x, N_ROW, (enum dist)d, 200 + d);
			fill_row(y, N_ROW, DIST_GAUSS, 300 + d);
			void *qx = quantize(t, x, N_ROW);
			void *qy = quantize(qk->vec_dot_type, y, N_ROW);
			qk->to_float(qx, dx, N_ROW);
			quant_ref(qk->vec_dot_type)->to_float(qy, dy, N_ROW);
			double exact = 0, mag = 0;
			for (int i = 0; i < N_ROW; i++) {
				exact += (double)dx[i] * dy[i];
				mag += fabs((double)dx[i] * dy[i]);
			}
			float got = NAN;
			qk->vec_dot(N_ROW, &got, qx, qy);
			double err = mag > 0 ? fabs(got - exact) / mag : fabs(got - exact);
			if (!(err <= tol))
				fail_msg("%s %s: dot %.9g, exact %.9g (rel %g > %g)", dtype_name(t),
					 dist_names[d], got, exact, err, tol);
			if (err > worst)
				worst = err;
			free(qx);
			free(qy);
		}
		if (verbose())
			printf("  %-5s vec_dot worst rel error %.3g\n", dtype_name(t), worst);
	}
}

/* Short rows (one block) and rows of many blocks agree block by block. */
static void test_row_lengths(void **state)
{
	(void)state;
	static float x[N_ROW], y[N_ROW], z[N_ROW];
	fill_row(x, N_ROW, DIST_GAUSS, 42);
	for (size_t k = 0; k < N_TYPES; k++) {
		enum ggml_type t = limits[k].type;
		int bs = dtype_info(t)->block_size;
		if (bs == 1)
			bs = 7; /* plain formats take any length */
		void *whole = quantize(t, x, N_ROW);
		quant_ref(t)->to_float(whole, y, N_ROW);
		void *part = quantize(t, x, bs);
		quant_ref(t)->to_float(part, z, bs);
		assert_memory_equal(y, z, (size_t)bs * sizeof(float));
		free(whole);
		free(part);
	}
}

/* Infinities, NaNs and huge values give meaningless numbers, but every
 * kernel must still run without crashing or undefined behaviour (checked
 * under the sanitizer build). */
static void test_nonfinite_inputs(void **state)
{
	(void)state;
	static float x[N_ROW], y[N_ROW];
	const float specials[] = { NAN, INFINITY, -INFINITY, 1e30f, -3e38f, 1e-40f };
	for (size_t k = 0; k < N_TYPES; k++) {
		enum ggml_type t = limits[k].type;
		const struct quant_kernels *qk = quant_ref(t);
		for (size_t v = 0; v < sizeof(specials) / sizeof(specials[0]); v++) {
			fill_row(x, N_ROW, DIST_GAUSS, 500 + v);
			for (int i = 0; i < N_ROW; i += 37)
				x[i] = specials[v];
			void *qx = quantize(t, x, N_ROW);
			void *qy = quantize(qk->vec_dot_type, x, N_ROW);
			qk->to_float(qx, y, N_ROW);
			float dot;
			qk->vec_dot(N_ROW, &dot, qx, qy);
			free(qx);
			free(qy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fp16_edges),
		cmocka_unit_test(test_fp16_roundtrip_all),
		cmocka_unit_test(test_fp16_vs_compiler),
		cmocka_unit_test(test_bf16_edges),
		cmocka_unit_test(test_block_sizes),
		cmocka_unit_test(test_kernel_table),
		cmocka_unit_test(test_golden_legacy),
		cmocka_unit_test(test_golden_k),
		cmocka_unit_test(test_golden_quantize),
		cmocka_unit_test(test_bytes_match_ggml),
		cmocka_unit_test(test_rmse),
		cmocka_unit_test(test_ggml_limits),
		cmocka_unit_test(test_vec_dot),
		cmocka_unit_test(test_row_lengths),
		cmocka_unit_test(test_nonfinite_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
