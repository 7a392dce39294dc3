/* llamaterm quantize: converts a GGUF model to another tensor type or to one
 * of llama.cpp's quantization mixes, streaming tensor by tensor.
 *
 * Which tensors get which type follows llama.cpp's llama_tensor_get_type
 * (src/llama-quant.cpp) for the mixes offered here, without an importance
 * matrix: quant_keep says which tensors are never converted (1-D tensors,
 * norms, position embeddings ...; they keep their type, normally f32), and
 * quant_rules which of the others get a type other than the mix's base.
 * F32, F16, BF16 and --pure give every convertible tensor the base type.
 *
 * token_embd.weight is treated like output.weight when the model has no
 * output.weight (tied embeddings, e.g. gemma). attn_qkv counts as attn_v.
 * The "i" of the layer rules is the tensor's position among the tensors of
 * its kind in llama.cpp's order (by layer, then by name), which is the layer
 * for models with one per layer; "more-bits" layers are i < n/8, i >= 7n/8
 * and every third one between. Q3_K, Q4_K and Q5_K are aliases of the _M
 * mixes.
 *
 * Rows that are not whole blocks of the chosen type fall back (and the
 * fallback is reported), see quant_fallbacks; for the legacy types llama.cpp
 * has no fallback and refuses, and so does quantize.
 *
 * tests/quant/types.txt holds llama-quantize's types for synthetic models of
 * every architecture; tests/cli/quantize.sh checks these rules against it. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "commands.h"
#include "dtype.h"
#include "gguf.h"
#include "gguf_write.h"
#include "options.h"
#include "quant.h"

/* llama.cpp's LLAMA_FTYPE numbering, written to general.file_type. */
enum quant_ftype {
	FTYPE_ANY = -1,           /* in quant_rules: whatever the mix */
	FTYPE_ALL_F32 = 0,
	FTYPE_MOSTLY_F16 = 1,
	FTYPE_MOSTLY_Q4_0 = 2,
	FTYPE_MOSTLY_Q4_1 = 3,
	FTYPE_MOSTLY_Q8_0 = 7,
	FTYPE_MOSTLY_Q5_0 = 8,
	FTYPE_MOSTLY_Q5_1 = 9,
	FTYPE_MOSTLY_Q2_K = 10,
	FTYPE_MOSTLY_Q3_K_S = 11,
	FTYPE_MOSTLY_Q3_K_M = 12,
	FTYPE_MOSTLY_Q3_K_L = 13,
	FTYPE_MOSTLY_Q4_K_S = 14,
	FTYPE_MOSTLY_Q4_K_M = 15,
	FTYPE_MOSTLY_Q5_K_S = 16,
	FTYPE_MOSTLY_Q5_K_M = 17,
	FTYPE_MOSTLY_Q6_K = 18,
	FTYPE_MOSTLY_BF16 = 32,
};

/* The quantization format version ggml's block layouts correspond to. */
#define QUANT_VERSION 2

struct quant_mix {
	const char *name;
	enum quant_ftype ftype;
	enum ggml_type base;
	const char *desc;
};

static const struct quant_mix quant_mixes[] = {
	{ "F32", FTYPE_ALL_F32, GGML_TYPE_F32, "32-bit floats" },
	{ "F16", FTYPE_MOSTLY_F16, GGML_TYPE_F16, "16-bit floats" },
	{ "BF16", FTYPE_MOSTLY_BF16, GGML_TYPE_BF16, "bfloat16" },
	{ "Q8_0", FTYPE_MOSTLY_Q8_0, GGML_TYPE_Q8_0, "8.50 bpw" },
	{ "Q4_0", FTYPE_MOSTLY_Q4_0, GGML_TYPE_Q4_0, "4.50 bpw" },
	{ "Q4_1", FTYPE_MOSTLY_Q4_1, GGML_TYPE_Q4_1, "5.00 bpw" },
	{ "Q5_0", FTYPE_MOSTLY_Q5_0, GGML_TYPE_Q5_0, "5.50 bpw" },
	{ "Q5_1", FTYPE_MOSTLY_Q5_1, GGML_TYPE_Q5_1, "6.00 bpw" },
	{ "Q2_K", FTYPE_MOSTLY_Q2_K, GGML_TYPE_Q2_K, "q2_K with q3_K/q4_K for sensitive tensors" },
	{ "Q3_K_S", FTYPE_MOSTLY_Q3_K_S, GGML_TYPE_Q3_K, "q3_K" },
	{ "Q3_K_M", FTYPE_MOSTLY_Q3_K_M, GGML_TYPE_Q3_K, "q3_K with q4_K/q5_K for sensitive tensors" },
	{ "Q3_K", FTYPE_MOSTLY_Q3_K_M, GGML_TYPE_Q3_K, "alias of Q3_K_M" },
	{ "Q3_K_L", FTYPE_MOSTLY_Q3_K_L, GGML_TYPE_Q3_K, "q3_K with q5_K for sensitive tensors" },
	{ "Q4_K_S", FTYPE_MOSTLY_Q4_K_S, GGML_TYPE_Q4_K, "q4_K with q5_K for the first layers" },
	{ "Q4_K_M", FTYPE_MOSTLY_Q4_K_M, GGML_TYPE_Q4_K, "q4_K with q6_K for half of attn_v and ffn_down" },
	{ "Q4_K", FTYPE_MOSTLY_Q4_K_M, GGML_TYPE_Q4_K, "alias of Q4_K_M" },
	{ "Q5_K_S", FTYPE_MOSTLY_Q5_K_S, GGML_TYPE_Q5_K, "q5_K" },
	{ "Q5_K_M", FTYPE_MOSTLY_Q5_K_M, GGML_TYPE_Q5_K, "q5_K with q6_K for half of attn_v and ffn_down" },
	{ "Q5_K", FTYPE_MOSTLY_Q5_K_M, GGML_TYPE_Q5_K, "alias of Q5_K_M" },
	{ "Q6_K", FTYPE_MOSTLY_Q6_K, GGML_TYPE_Q6_K, "6.56 bpw" },
};

#define N_MIXES (sizeof(quant_mixes) / sizeof(quant_mixes[0]))

enum quant_cat {
	CAT_OTHER,
	CAT_TOKEN_EMBD,
	CAT_OUTPUT,       /* also token_embd.weight when there is no output.weight */
	CAT_ATTN_K,
	CAT_ATTN_V,       /* attn_v, attn_qkv, attn_kv_b */
	CAT_ATTN_OUTPUT,
	CAT_FFN_DOWN,
};

/* Tensor names and their kind, first match wins, in llama.cpp's order of
 * tests: attn_qkv is found before attn_v, ffn_up and ffn_gate (rules only for
 * the IQ mixes) before ffn_down. attn_qkv is attn_v-like: llama.cpp's own
 * attn_qkv rules come after its attn_v-like branch and never apply. */
static const struct {
	const char *name;
	bool exact;       /* the whole name, else a part of it */
	enum quant_cat cat;
} quant_cat_names[] = {
	{ "output.weight", true, CAT_OUTPUT },
	{ "token_embd.weight", true, CAT_TOKEN_EMBD },
	{ "per_layer_token_embd.weight", true, CAT_TOKEN_EMBD },
	{ "attn_qkv.weight", false, CAT_ATTN_V },
	{ "attn_kv_b.weight", false, CAT_ATTN_V },
	{ "attn_v.weight", false, CAT_ATTN_V },
	{ "attn_k.weight", false, CAT_ATTN_K },
	{ "attn_q.weight", false, CAT_OTHER },
	{ "attn_output.weight", false, CAT_ATTN_OUTPUT },
	{ "ffn_up", false, CAT_OTHER },
	{ "ffn_gate", false, CAT_OTHER },
	{ "ffn_down", false, CAT_FFN_DOWN },
};

/* Tensors llama.cpp never converts although they are 2-D weights: small,
 * index-like or multimodal ones. */
static const struct {
	const char *name;
	bool exact;
} quant_keep[] = {
	{ "position_embd.weight", true }, { "token_types.weight", true }, { ".position_embd", false },
	{ "ffn_gate_inp.weight", false }, { "ffn_gate_tid2eid.weight", false }, { "altup", false },
	{ "laurel", false }, { "per_layer_model_proj", false }, { "ssm_conv1d", false },
	{ "shortconv.conv.weight", false }, { "indexer.k_proj.weight", false },
	{ "indexer.q_proj.weight", false }, { "time_mix_first.weight", false },
	{ "time_mix_w0.weight", false }, { "time_mix_w1.weight", false }, { "time_mix_w2.weight", false },
	{ "time_mix_v0.weight", false }, { "time_mix_v1.weight", false }, { "time_mix_v2.weight", false },
	{ "time_mix_a0.weight", false }, { "time_mix_a1.weight", false }, { "time_mix_a2.weight", false },
	{ "time_mix_g1.weight", false }, { "time_mix_g2.weight", false },
	{ "time_mix_decay_w1.weight", false }, { "time_mix_decay_w2.weight", false },
	{ "time_mix_lerp_fused.weight", false }, { "attn_rel_b.weight", false },
	{ "sam.pos_embd", false }, { "sam.neck.", false }, { "sam.net_", false }, { ".rel_pos", false },
	{ ".patch_embd", false }, { ".patch_merger", false }, { "a.rvq.codebook", false },
	{ "mm.a.code_embd", false },
};

/* Conditions of a rule; all of a rule's must hold. i and n are the tensor's
 * position among its kind and their number (the layer count for ffn_down). */
enum {
	W_FALCON = 1 << 0,      /* llama.cpp treats falcon's output and ffn_down apart */
	W_NOT_FALCON = 1 << 1,
	W_GQA4 = 1 << 2,        /* head_count / head_count_kv >= 4 (layer 0) */
	W_EXPERT8 = 1 << 3,     /* expert_count == 8 (Mixtral-like) */
	W_70B = 1 << 4,         /* llama.cpp's 70B model type, see quant_70b */
	W_FIRST2 = 1 << 5,      /* i < 2 */
	W_FIRST4 = 1 << 6,      /* i < 4 */
	W_FIRST_16TH = 1 << 7,  /* i < n/16 */
	W_FIRST_8TH = 1 << 8,   /* i < n/8 */
	W_MORE_BITS = 1 << 9,   /* i < n/8, i >= 7n/8 or (i - n/8) % 3 == 2 */
	W_FEWER_BITS = 1 << 10, /* not W_MORE_BITS */
	W_RAGGED = 1 << 11,     /* rows are not whole blocks of the base type */
};

/* The mix's base type, in a rule. */
#define QT_BASE GGML_TYPE_COUNT

/* llama.cpp's choices other than the base type, for the mixes offered. For
 * a tensor of a kind, the first rule whose mix (or FTYPE_ANY) and conditions
 * match gives the type; no match gives the base type. Rows that repeat the
 * base stop later rows from applying. */
static const struct quant_rule {
	enum quant_cat cat;
	enum quant_ftype ftype;
	unsigned when;
	enum ggml_type type;
} quant_rules[] = {
	{ CAT_OUTPUT, FTYPE_ANY, W_FALCON, GGML_TYPE_Q8_0 },
	{ CAT_OUTPUT, FTYPE_ANY, W_RAGGED, GGML_TYPE_Q8_0 },
	{ CAT_OUTPUT, FTYPE_MOSTLY_Q8_0, 0, GGML_TYPE_Q8_0 },
	{ CAT_OUTPUT, FTYPE_ANY, 0, GGML_TYPE_Q6_K },

	{ CAT_ATTN_V, FTYPE_ANY, W_EXPERT8, GGML_TYPE_Q8_0 },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q2_K, W_70B, GGML_TYPE_Q5_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q2_K, W_GQA4, GGML_TYPE_Q4_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q2_K, 0, GGML_TYPE_Q3_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q3_K_S, W_70B, GGML_TYPE_Q5_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q3_K_M, W_FIRST2, GGML_TYPE_Q5_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q3_K_M, W_70B, GGML_TYPE_Q5_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q3_K_M, 0, GGML_TYPE_Q4_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q3_K_L, 0, GGML_TYPE_Q5_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q4_K_S, W_FIRST4, GGML_TYPE_Q5_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q4_K_S, W_70B, GGML_TYPE_Q5_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q4_K_M, W_MORE_BITS, GGML_TYPE_Q6_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q4_K_M, W_70B, GGML_TYPE_Q5_K },
	{ CAT_ATTN_V, FTYPE_MOSTLY_Q5_K_M, W_MORE_BITS, GGML_TYPE_Q6_K },

	{ CAT_ATTN_K, FTYPE_ANY, W_EXPERT8, GGML_TYPE_Q8_0 },

	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q2_K, 0, GGML_TYPE_Q3_K },
	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q3_K_M, W_FIRST_16TH, GGML_TYPE_Q5_K },
	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q3_K_M, W_FALCON | W_FEWER_BITS, GGML_TYPE_Q3_K },
	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q3_K_M, 0, GGML_TYPE_Q4_K },
	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q3_K_L, W_FALCON, GGML_TYPE_Q4_K },
	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q3_K_L, 0, GGML_TYPE_Q5_K },
	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q4_K_M, W_FALCON | W_FIRST_16TH, GGML_TYPE_Q6_K },
	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q4_K_M, W_FALCON | W_MORE_BITS, GGML_TYPE_Q5_K },
	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q4_K_M, W_FALCON, QT_BASE },
	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q4_K_M, W_MORE_BITS, GGML_TYPE_Q6_K },
	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q5_K_M, W_MORE_BITS, GGML_TYPE_Q6_K },
	{ CAT_FFN_DOWN, FTYPE_MOSTLY_Q4_K_S, W_NOT_FALCON | W_FIRST_8TH, GGML_TYPE_Q5_K },

	{ CAT_ATTN_OUTPUT, FTYPE_MOSTLY_Q3_K_L, W_FALCON, GGML_TYPE_Q4_K },
	{ CAT_ATTN_OUTPUT, FTYPE_ANY, W_FALCON, QT_BASE },
	{ CAT_ATTN_OUTPUT, FTYPE_MOSTLY_Q2_K, W_EXPERT8, GGML_TYPE_Q5_K },
	{ CAT_ATTN_OUTPUT, FTYPE_MOSTLY_Q3_K_S, W_EXPERT8, GGML_TYPE_Q5_K },
	{ CAT_ATTN_OUTPUT, FTYPE_MOSTLY_Q3_K_M, W_EXPERT8, GGML_TYPE_Q5_K },
	{ CAT_ATTN_OUTPUT, FTYPE_MOSTLY_Q4_K_S, W_EXPERT8, GGML_TYPE_Q5_K },
	{ CAT_ATTN_OUTPUT, FTYPE_MOSTLY_Q4_K_M, W_EXPERT8, GGML_TYPE_Q5_K },
	{ CAT_ATTN_OUTPUT, FTYPE_ANY, W_EXPERT8, QT_BASE },
	{ CAT_ATTN_OUTPUT, FTYPE_MOSTLY_Q2_K, 0, GGML_TYPE_Q3_K },
	{ CAT_ATTN_OUTPUT, FTYPE_MOSTLY_Q3_K_M, 0, GGML_TYPE_Q4_K },
	{ CAT_ATTN_OUTPUT, FTYPE_MOSTLY_Q3_K_L, 0, GGML_TYPE_Q5_K },
};

#define N_RULES (sizeof(quant_rules) / sizeof(quant_rules[0]))

/* Models llama.cpp calls 70B, whose attn_v it gives q5_K instead of q3_K or
 * q4_K: it names the type from the layer count, per architecture. */
static const struct {
	const char *arch;
	int64_t n_layer;
	bool gqa;         /* only with fewer KV heads than heads (llama 65B has as many) */
} quant_70b[] = {
	{ "llama", 80, true },
	{ "qwen2", 80, false },
	{ "olmo", 80, false },
	{ "deci", 80, false },
	{ "jais2", 68, false },
};

/* The decision for one tensor. */
struct quant_plan {
	const struct gguf_tensor *t;
	enum ggml_type type;      /* of the output */
	enum ggml_type wanted;    /* before a fallback; == type when none */
	enum quant_cat cat;
	int64_t layer;            /* N of "blk.N.", else -1 */
	int64_t index, count;     /* i and n of the layer rules */
	const struct quant_kernels *from, *to; /* NULL when copied unchanged */
};

struct quant_run {
	const struct quant_mix *mix;
	bool pure;
	int n_threads;
	int64_t n_layer;          /* {arch}.block_count, the n of the ffn_down rules */
	int64_t n_gqa;            /* head_count / head_count_kv */
	int64_t n_expert;         /* {arch}.expert_count */
	bool tied;                /* no output.weight */
	unsigned model_when;      /* the W_ conditions that hold for the whole model */
	bool mapped;              /* the input is mmap'ed (not read into memory) */
	struct quant_plan *plan;  /* (n_tensors) */
	int64_t n_tensors, n_fallback;
	uint64_t bytes_in, bytes_out;
	int64_t n_elements;
};

static void quantize_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm quantize [OPTIONS] IN.gguf OUT.gguf TYPE\n\n"
		     "Converts a model to TYPE, copying all metadata; 1-D tensors and norms keep\n"
		     "their type. TYPE is one of (case-insensitive):\n");
	for (size_t i = 0; i < N_MIXES; i++)
		fprintf(out, "  %-8s %s\n", quant_mixes[i].name, quant_mixes[i].desc);
	fprintf(out, "\nOptions:\n");
	options_print_help(out, OPTC_QUANTIZE);
}

static const struct quant_mix *quant_find_mix(const char *name)
{
	for (size_t i = 0; i < N_MIXES; i++)
		if (strcasecmp(quant_mixes[i].name, name) == 0)
			return &quant_mixes[i];
	/* llama.cpp's quantize also takes the file type number. */
	char *end;
	long n = strtol(name, &end, 10);
	if (*name && !*end)
		for (size_t i = 0; i < N_MIXES; i++)
			if ((long)quant_mixes[i].ftype == n)
				return &quant_mixes[i];
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool name_matches(const char *name, const char *pattern, bool exact)
{
	return exact ? strcmp(name, pattern) == 0 : strstr(name, pattern) != NULL;
}

/* Whether llama.cpp would convert this tensor at all. */
static bool quant_allowed(const struct gguf_tensor *t)
{
	if (t->n_dims < 2)
		return false;
	if (!ends_with(t->name, "weight") || strstr(t->name, "_norm.weight"))
		return false;
	for (size_t i = 0; i < sizeof(quant_keep) / sizeof(quant_keep[0]); i++)
		if (name_matches(t->name, quant_keep[i].name, quant_keep[i].exact))
			return false;
	return true;
}

static enum quant_cat quant_category(const char *name)
{
	for (size_t i = 0; i < sizeof(quant_cat_names) / sizeof(quant_cat_names[0]); i++)
		if (name_matches(name, quant_cat_names[i].name, quant_cat_names[i].exact))
			return quant_cat_names[i].cat;
	return CAT_OTHER;
}

/* The layer of "blk.N.*", or -1 when the name has none. */
static int64_t quant_layer(const char *name)
{
	int l;
	if (sscanf(name, "blk.%d.", &l) == 1)
		return l;
	return -1;
}

static bool use_more_bits(int64_t i, int64_t n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* The W_ conditions that hold for one tensor. */
static unsigned quant_when(const struct quant_run *q, const struct quant_plan *p)
{
	const int64_t i = p->index, n = p->count;
	unsigned w = q->model_when;
	w |= i < 2 ? W_FIRST2 : 0;
	w |= i < 4 ? W_FIRST4 : 0;
	w |= i < n / 16 ? W_FIRST_16TH : 0;
	w |= i < n / 8 ? W_FIRST_8TH : 0;
	w |= use_more_bits(i, n) ? W_MORE_BITS : W_FEWER_BITS;
	if (p->t->ne[0] % dtype_info(q->mix->base)->block_size)
		w |= W_RAGGED;
	return w;
}

/* The mix's choice before shape fallbacks (see quant_rules). */
static enum ggml_type quant_mix_type(const struct quant_run *q, const struct quant_plan *p)
{
	const enum ggml_type base = q->mix->base;
	if (!dtype_info(base)->quantized || q->pure)
		return base;
	enum quant_cat cat = p->cat;
	if (q->tied && cat == CAT_TOKEN_EMBD)
		cat = CAT_OUTPUT;
	const unsigned when = quant_when(q, p);
	for (size_t r = 0; r < N_RULES; r++) {
		const struct quant_rule *rule = &quant_rules[r];
		if (rule->cat == cat && (rule->ftype == FTYPE_ANY || rule->ftype == q->mix->ftype) &&
		    (rule->when & when) == rule->when)
			return rule->type == QT_BASE ? base : rule->type;
	}
	return base;
}

/* llama.cpp's replacements for a type whose blocks do not fit a row; f16
 * when the replacement does not fit either. The other types have none: like
 * llama.cpp, quantize then refuses rather than pick a type of its own. */
static const struct {
	enum ggml_type want, use;
} quant_fallbacks[] = {
	{ GGML_TYPE_Q2_K, GGML_TYPE_Q4_0 },
	{ GGML_TYPE_Q3_K, GGML_TYPE_Q4_0 },
	{ GGML_TYPE_Q4_K, GGML_TYPE_Q5_0 },
	{ GGML_TYPE_Q5_K, GGML_TYPE_Q5_1 },
	{ GGML_TYPE_Q6_K, GGML_TYPE_Q8_0 },
};

/* A type whose blocks fit rows of n elements, starting from want, or
 * GGML_TYPE_COUNT when there is none. */
static enum ggml_type quant_fallback(enum ggml_type want, int64_t n)
{
	if (n % dtype_info(want)->block_size == 0)
		return want;
	for (size_t i = 0; i < sizeof(quant_fallbacks) / sizeof(quant_fallbacks[0]); i++)
		if (quant_fallbacks[i].want == want)
			return n % dtype_info(quant_fallbacks[i].use)->block_size == 0 ? quant_fallbacks[i].use
										: GGML_TYPE_F16;
	return GGML_TYPE_COUNT;
}

/* {arch}.SUFFIX, or layer 0's value when it is a per-layer array. */
static int64_t arch_int(const struct gguf *g, const char *arch, const char *suffix, int64_t dflt)
{
	char key[160];
	int64_t v;
	snprintf(key, sizeof(key), "%s.%s", arch, suffix);
	if (gguf_get_i64(g, key, &v) == 0)
		return v;
	const struct gguf_value *a = gguf_get(g, key);
	if (a && gguf_value_type(a) == GGUF_VTYPE_ARRAY && gguf_value_arr_len(a) > 0)
		return gguf_value_arr_i64(a, 0);
	return dflt;
}

/* llama.cpp's order of tensors when it picks types: by layer (none first),
 * then by name. */
static int plan_order(const void *a, const void *b)
{
	const struct quant_plan *x = *(const struct quant_plan *const *)a;
	const struct quant_plan *y = *(const struct quant_plan *const *)b;
	if (x->layer != y->layer)
		return x->layer < y->layer ? -1 : 1;
	return strcmp(x->t->name, y->t->name);
}

/* Numbers each convertible attn_v-like and ffn_down tensor among its kind in
 * llama.cpp's order, giving the i and n of the layer rules. ffn_down's n is
 * the layer count; with experts llama.cpp takes i from the name instead. */
static int quant_number(struct quant_run *q, const struct gguf *g)
{
	struct quant_plan **order = malloc((size_t)q->n_tensors * sizeof(*order) + 1);
	if (!order) {
		fprintf(stderr, "llamaterm quantize: %s: out of memory\n", gguf_path(g));
		return 1;
	}
	int64_t n_attn_v = 0, i_attn_v = 0, i_ffn_down = 0;
	for (int64_t i = 0; i < q->n_tensors; i++) {
		order[i] = &q->plan[i];
		n_attn_v += q->plan[i].cat == CAT_ATTN_V;
	}
	qsort(order, (size_t)q->n_tensors, sizeof(*order), plan_order);
	for (int64_t i = 0; i < q->n_tensors; i++) {
		struct quant_plan *p = order[i];
		if (!quant_allowed(p->t))
			continue;
		if (p->cat == CAT_ATTN_V) {
			p->index = i_attn_v++;
			p->count = n_attn_v;
		} else if (p->cat == CAT_FFN_DOWN) {
			p->index = q->n_expert > 1 ? p->layer : i_ffn_down;
			i_ffn_down++;
			p->count = q->n_layer;
		}
	}
	free(order);
	return 0;
}

/* The W_ conditions that hold for every tensor of the model. */
static unsigned quant_model_when(const struct quant_run *q, const char *arch, int64_t n_head,
				 int64_t n_head_kv)
{
	unsigned w = strcmp(arch, "falcon") == 0 ? W_FALCON : W_NOT_FALCON;
	w |= q->n_gqa >= 4 ? W_GQA4 : 0;
	w |= q->n_expert == 8 ? W_EXPERT8 : 0;
	for (size_t i = 0; i < sizeof(quant_70b) / sizeof(quant_70b[0]); i++)
		if (strcmp(arch, quant_70b[i].arch) == 0 && q->n_layer == quant_70b[i].n_layer &&
		    (!quant_70b[i].gqa || n_head != n_head_kv) && q->n_expert != 8)
			w |= W_70B;
	return w;
}

/* Decides every tensor's type and checks the kernels exist before any
 * output is written. Returns 0, or 1 after printing an error. */
static int quant_make_plan(struct quant_run *q, const struct gguf *g)
{
	const char *arch = "llama";
	gguf_get_str(g, "general.architecture", &arch, NULL);
	q->n_tensors = gguf_n_tensors(g);
	q->plan = calloc((size_t)q->n_tensors + 1, sizeof(*q->plan));
	if (!q->plan) {
		fprintf(stderr, "llamaterm quantize: %s: out of memory\n", gguf_path(g));
		return 1;
	}
	q->tied = gguf_find_tensor(g, "output.weight") == NULL;
	int64_t n_ffn_down = 0;
	for (int64_t i = 0; i < q->n_tensors; i++) {
		struct quant_plan *p = &q->plan[i];
		p->t = gguf_tensor(g, i);
		p->cat = quant_category(p->t->name);
		p->layer = quant_layer(p->t->name);
		n_ffn_down += p->cat == CAT_FFN_DOWN && quant_allowed(p->t);
	}
	q->n_layer = arch_int(g, arch, "block_count", n_ffn_down);
	q->n_expert = arch_int(g, arch, "expert_count", 0);
	int64_t n_head = arch_int(g, arch, "attention.head_count", 1);
	int64_t n_head_kv = arch_int(g, arch, "attention.head_count_kv", n_head);
	q->n_gqa = n_head_kv > 0 ? n_head / n_head_kv : 0;
	q->model_when = quant_model_when(q, arch, n_head, n_head_kv);
	if (quant_number(q, g))
		return 1;

	for (int64_t i = 0; i < q->n_tensors; i++) {
		struct quant_plan *p = &q->plan[i];
		const struct gguf_tensor *t = p->t;
		p->type = p->wanted = t->type;
		if (quant_allowed(t)) {
			p->wanted = quant_mix_type(q, p);
			p->type = quant_fallback(p->wanted, t->ne[0]);
			if (p->type == GGML_TYPE_COUNT) {
				fprintf(stderr,
					"llamaterm quantize: %s: tensor '%s' has rows of %" PRId64
					", not whole blocks of %s (%d), and %s has no fallback type\n",
					gguf_path(g), t->name, t->ne[0], dtype_name(p->wanted),
					dtype_info(p->wanted)->block_size, dtype_name(p->wanted));
				return 1;
			}
			q->n_fallback += p->type != p->wanted;
		}
		q->bytes_in += t->size;
		q->n_elements += t->n_elements;
		if (p->type == t->type)
			continue;
		p->from = quant_ref(t->type);
		p->to = quant_ref(p->type);
		if (!p->from || !p->from->to_float) {
			fprintf(stderr, "llamaterm quantize: %s: tensor '%s' has type %s, which cannot be converted\n",
				gguf_path(g), t->name, dtype_name(t->type));
			return 1;
		}
		if (!p->to || !p->to->from_float) {
			fprintf(stderr, "llamaterm quantize: cannot produce type %s (tensor '%s')\n",
				dtype_name(p->type), t->name);
			return 1;
		}
	}
	return 0;
}

/* Converts rows [row0, row0+n_rows) of one tensor: dequantize each row to
 * floats, then quantize it. Rows are independent, so threads split them. */
static int quant_fill(void *user, int64_t row0, int64_t n_rows, void *dst, char *err, size_t errlen)
{
	const struct quant_plan *p = user;
	const int64_t n = p->t->ne[0];
	const size_t in_bytes = dtype_row_bytes(p->t->type, n), out_bytes = dtype_row_bytes(p->type, n);
	const uint8_t *src = (const uint8_t *)p->t->data + (size_t)row0 * in_bytes;
	int failed = 0;
#ifdef _OPENMP
#pragma omp parallel reduction(|:failed)
#endif
	{
		float *tmp = malloc((size_t)n * sizeof(float));
		if (!tmp)
			failed = 1;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
		for (int64_t r = 0; r < n_rows; r++) {
			if (!tmp)
				continue;
			p->from->to_float(src + (size_t)r * in_bytes, tmp, n);
			p->to->from_float(tmp, (uint8_t *)dst + (size_t)r * out_bytes, n);
		}
		free(tmp);
	}
	if (failed)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory converting '%s'", p->t->name);
	return 0;
}

static void format_shape(const struct gguf_tensor *t, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = 0;
	for (int d = 0; d < t->n_dims && used < size; d++) {
		int k = snprintf(buf + used, size - used, "%s%" PRId64, d ? ", " : "", t->ne[d]);
		if (k < 0)
			break;
		used += (size_t)k;
	}
}

/* Drops a finished tensor's input pages: they are clean file pages, so this
 * only keeps the resident size small (as llama.cpp unmaps each weight);
 * a later access would simply read them again. */
static void quant_release(const struct gguf_tensor *t)
{
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0 || t->size == 0)
		return;
	uintptr_t start = (uintptr_t)t->data, end = start + (uintptr_t)t->size;
	uintptr_t lo = (start + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	uintptr_t hi = end & ~((uintptr_t)page - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* Prints one line per finished tensor. */
static void quant_progress(void *user, int64_t i, const char *name, uint64_t bytes)
{
	struct quant_run *q = user;
	const struct quant_plan *p = &q->plan[i];
	if (q->mapped)
		quant_release(p->t);
	char shape[96];
	format_shape(p->t, shape, sizeof(shape));
	q->bytes_out += bytes;
	printf("[%4" PRId64 "/%4" PRId64 "] %-32s [%-12s] %-5s -> %-5s %9.3f MiB -> %9.3f MiB", i + 1,
	       q->n_tensors, name, shape, dtype_name(p->t->type), dtype_name(p->type),
	       (double)p->t->size / (1024.0 * 1024.0), (double)bytes / (1024.0 * 1024.0));
	if (p->type != p->wanted)
		printf("  (fallback: %" PRId64 " columns are not whole %s blocks)", p->t->ne[0],
		       dtype_name(p->wanted));
	printf("\n");
	fflush(stdout);
}

static int quant_write(struct quant_run *q, struct gguf *g, const char *out_path)
{
	struct gguf_writer *w;
	if (gguf_writer_new(&w) < 0) {
		fprintf(stderr, "llamaterm quantize: out of memory\n");
		return 1;
	}
	int status = 1;
	char err[512] = "";
	if (gguf_writer_copy_prefix(w, g, "") < 0 ||
	    gguf_writer_set_u32(w, "general.quantization_version", QUANT_VERSION) ||
	    gguf_writer_set_u32(w, "general.file_type", (uint32_t)q->mix->ftype)) {
		fprintf(stderr, "llamaterm quantize: %s: %s\n", gguf_path(g), gguf_writer_error(w));
		goto done;
	}
	/* The output is one file even when the input was one split of many. */
	gguf_writer_remove(w, "split.no");
	gguf_writer_remove(w, "split.count");
	gguf_writer_remove(w, "split.tensors.count");
	for (int64_t i = 0; i < q->n_tensors; i++) {
		const struct quant_plan *p = &q->plan[i];
		int rc = p->type == p->t->type
			? gguf_writer_add_tensor(w, p->t->name, p->t->type, p->t->n_dims, p->t->ne, p->t->data)
			: gguf_writer_add_tensor_fn(w, p->t->name, p->type, p->t->n_dims, p->t->ne, quant_fill,
						    (void *)p);
		if (rc) {
			fprintf(stderr, "llamaterm quantize: %s\n", gguf_writer_error(w));
			goto done;
		}
	}
	gguf_writer_set_progress(w, quant_progress, q);
	if (gguf_writer_write(w, out_path, err, sizeof(err))) {
		fprintf(stderr, "llamaterm quantize: %s\n", err);
		goto done;
	}
	status = 0;
done:
	gguf_writer_free(w);
	return status;
}

int cmd_quantize(int argc, char **argv)
{
	struct quant_run q = { 0 };
	struct options o;
	options_defaults(&o);
	int rc = options_parse(&o, argc, argv, OPTC_QUANTIZE);
	if (rc)
		return rc;
	if (o.help) {
		quantize_usage(stdout);
		return 0;
	}
	if (o.n_positional != 3) {
		fprintf(stderr, "llamaterm quantize: expected IN.gguf OUT.gguf TYPE (try 'llamaterm quantize --help')\n");
		return 2;
	}
	const char *in = o.positional[0], *out = o.positional[1], *type = o.positional[2];
	q.pure = o.pure;
	q.mix = quant_find_mix(type);
	if (!q.mix) {
		fprintf(stderr, "llamaterm quantize: unknown type '%s' (one of:", type);
		for (size_t i = 0; i < N_MIXES; i++)
			fprintf(stderr, " %s", quant_mixes[i].name);
		fprintf(stderr, ")\n");
		return 2;
	}
	q.n_threads = o.n_threads > 0 ? o.n_threads : cli_physical_cores();
#ifdef _OPENMP
	omp_set_num_threads(q.n_threads);
#endif

	/* The output replaces its path only once complete (gguf_writer_write
	 * renames a temporary file into place), so writing over the input
	 * would silently swap the original for its quantized copy; the same
	 * file may hide behind a symlink, a hard link or another spelling. */
	struct stat st_in, st_out;
	if (stat(in, &st_in) == 0 && stat(out, &st_out) == 0 && st_in.st_dev == st_out.st_dev &&
	    st_in.st_ino == st_out.st_ino) {
		fprintf(stderr, "llamaterm quantize: %s: is the input file %s; write to another file\n",
			out, in);
		return 2;
	}

	char err[512];
	struct gguf *g = NULL;
	if (gguf_open(&g, in, o.no_mmap ? GGUF_OPEN_NO_MMAP : 0, err, sizeof(err))) {
		fprintf(stderr, "llamaterm quantize: %s\n", err);
		return 1;
	}
	q.mapped = gguf_is_mapped(g);
	double t0 = cli_now();
	int status = quant_make_plan(&q, g);
	if (status == 0) {
		printf("quantizing %s -> %s as %s (file type %d, %d threads)\n", in, out, q.mix->name,
		       (int)q.mix->ftype, q.n_threads);
		status = quant_write(&q, g, out);
	}
	if (status == 0) {
		double n = q.n_elements > 0 ? (double)q.n_elements : 1.0;
		printf("model size: %10.2f MiB (%.2f bits per weight)\n", (double)q.bytes_in / (1024.0 * 1024.0),
		       8.0 * (double)q.bytes_in / n);
		printf("quant size: %10.2f MiB (%.2f bits per weight)\n", (double)q.bytes_out / (1024.0 * 1024.0),
		       8.0 * (double)q.bytes_out / n);
		if (q.n_fallback)
			printf("%" PRId64 " of %" PRId64 " tensors fell back to another type (row length)\n",
			       q.n_fallback, q.n_tensors);
		printf("done in %.2f s\n", cli_now() - t0);
	}
	free(q.plan);
	gguf_free(g);
	return status;
}
