#include "dtype.h"

#include <strings.h>

static const struct dtype_info dtype_table[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = { .name = "f32", .block_size = 1, .block_bytes = 4 },
	[GGML_TYPE_F16] = { .name = "f16", .block_size = 1, .block_bytes = 2 },
	[GGML_TYPE_Q4_0] = { .name = "q4_0", .block_size = 32, .block_bytes = 18, .quantized = true },
	[GGML_TYPE_Q4_1] = { .name = "q4_1", .block_size = 32, .block_bytes = 20, .quantized = true },
	[GGML_TYPE_Q5_0] = { .name = "q5_0", .block_size = 32, .block_bytes = 22, .quantized = true },
	[GGML_TYPE_Q5_1] = { .name = "q5_1", .block_size = 32, .block_bytes = 24, .quantized = true },
	[GGML_TYPE_Q8_0] = { .name = "q8_0", .block_size = 32, .block_bytes = 34, .quantized = true },
	[GGML_TYPE_Q8_1] = { .name = "q8_1", .block_size = 32, .block_bytes = 36, .quantized = true },
	[GGML_TYPE_Q2_K] = { .name = "q2_K", .block_size = QK_K, .block_bytes = 84, .quantized = true },
	[GGML_TYPE_Q3_K] = { .name = "q3_K", .block_size = QK_K, .block_bytes = 110, .quantized = true },
	[GGML_TYPE_Q4_K] = { .name = "q4_K", .block_size = QK_K, .block_bytes = 144, .quantized = true },
	[GGML_TYPE_Q5_K] = { .name = "q5_K", .block_size = QK_K, .block_bytes = 176, .quantized = true },
	[GGML_TYPE_Q6_K] = { .name = "q6_K", .block_size = QK_K, .block_bytes = 210, .quantized = true },
	[GGML_TYPE_Q8_K] = { .name = "q8_K", .block_size = QK_K, .block_bytes = 292, .quantized = true },
	[GGML_TYPE_IQ2_XXS] = { .name = "iq2_xxs", .block_size = QK_K, .block_bytes = 66, .quantized = true },
	[GGML_TYPE_IQ2_XS] = { .name = "iq2_xs", .block_size = QK_K, .block_bytes = 74, .quantized = true },
	[GGML_TYPE_IQ3_XXS] = { .name = "iq3_xxs", .block_size = QK_K, .block_bytes = 98, .quantized = true },
	[GGML_TYPE_IQ1_S] = { .name = "iq1_s", .block_size = QK_K, .block_bytes = 50, .quantized = true },
	[GGML_TYPE_IQ4_NL] = { .name = "iq4_nl", .block_size = 32, .block_bytes = 18, .quantized = true },
	[GGML_TYPE_IQ3_S] = { .name = "iq3_s", .block_size = QK_K, .block_bytes = 110, .quantized = true },
	[GGML_TYPE_IQ2_S] = { .name = "iq2_s", .block_size = QK_K, .block_bytes = 82, .quantized = true },
	[GGML_TYPE_IQ4_XS] = { .name = "iq4_xs", .block_size = QK_K, .block_bytes = 136, .quantized = true },
	[GGML_TYPE_I8] = { .name = "i8", .block_size = 1, .block_bytes = 1 },
	[GGML_TYPE_I16] = { .name = "i16", .block_size = 1, .block_bytes = 2 },
	[GGML_TYPE_I32] = { .name = "i32", .block_size = 1, .block_bytes = 4 },
	[GGML_TYPE_I64] = { .name = "i64", .block_size = 1, .block_bytes = 8 },
	[GGML_TYPE_F64] = { .name = "f64", .block_size = 1, .block_bytes = 8 },
	[GGML_TYPE_IQ1_M] = { .name = "iq1_m", .block_size = QK_K, .block_bytes = 56, .quantized = true },
	[GGML_TYPE_BF16] = { .name = "bf16", .block_size = 1, .block_bytes = 2 },
	[GGML_TYPE_TQ1_0] = { .name = "tq1_0", .block_size = QK_K, .block_bytes = 54, .quantized = true },
	[GGML_TYPE_TQ2_0] = { .name = "tq2_0", .block_size = QK_K, .block_bytes = 66, .quantized = true },
	[GGML_TYPE_MXFP4] = { .name = "mxfp4", .block_size = 32, .block_bytes = 17, .quantized = true },
};

const struct dtype_info *dtype_info(int type)
{
	if (type < 0 || type >= GGML_TYPE_COUNT || !dtype_table[type].name)
		return NULL;
	return &dtype_table[type];
}

const char *dtype_name(int type)
{
	const struct dtype_info *info = dtype_info(type);
	return info ? info->name : "?";
}

int dtype_from_name(const char *name)
{
	for (int t = 0; t < GGML_TYPE_COUNT; t++)
		if (dtype_table[t].name && strcasecmp(dtype_table[t].name, name) == 0)
			return t;
	return -1;
}

size_t dtype_row_bytes(int type, int64_t n)
{
	const struct dtype_info *info = dtype_info(type);
	if (!info || n < 0 || n % info->block_size)
		return 0;
	return (size_t)(n / info->block_size) * (size_t)info->block_bytes;
}

double dtype_bits_per_weight(int type)
{
	const struct dtype_info *info = dtype_info(type);
	if (!info)
		return 0;
	return 8.0 * info->block_bytes / info->block_size;
}
