/* The derived summary of a GGUF file. See modelinfo.h.
 *
 * The summary is written to a memory stream and then cut into lines, so the
 * formatting code is one set of fprintf calls whichever way the lines go. */
#include "modelinfo.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"

/* Strings in the summary are shortened to this many bytes, token texts to
 * this many. */
#define MI_STR_MAX 64
#define MI_TOKEN_MAX 32
/* The label column of the summary, wide and narrow. */
#define MI_LABEL_COL 22
#define MI_LABEL_COL_NARROW 18

/* ---- numbers ---- */

struct modelinfo_num modelinfo_thousands(uint64_t v)
{
	char digits[24];
	struct modelinfo_num b;
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);
	size_t o = 0;
	for (int i = 0; i < n && o + 1 < sizeof(b.s); i++) {
		if (i > 0 && (n - i) % 3 == 0)
			b.s[o++] = ',';
		b.s[o++] = digits[i];
	}
	b.s[o] = 0;
	return b;
}

/* 292800 -> "292.8K". */
static struct modelinfo_num mi_short(uint64_t v)
{
	static const char suffix[] = { 'K', 'M', 'B', 'T' };
	struct modelinfo_num b;
	double x = (double)v;
	int i = -1;
	while (x >= 1000 && i < 3) {
		x /= 1000;
		i++;
	}
	if (i < 0)
		snprintf(b.s, sizeof(b.s), "%" PRIu64, v);
	else
		snprintf(b.s, sizeof(b.s), "%.1f%c", x, suffix[i]);
	return b;
}

struct modelinfo_num modelinfo_bytes(uint64_t v)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	struct modelinfo_num b;
	double x = (double)v;
	int i = -1;
	while (x >= 1024 && i < 4) {
		x /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(b.s, sizeof(b.s), "%" PRIu64 " B", v);
	else
		snprintf(b.s, sizeof(b.s), "%.*f %s", x < 10 ? 2 : 1, x, unit[i]);
	return b;
}

struct modelinfo_num modelinfo_float(double v, bool single)
{
	struct modelinfo_num b;
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(b.s, sizeof(b.s), "%.*g", prec, v);
		double back = strtod(b.s, NULL);
		if (single ? (float)back == (float)v : back == v)
			break;
	}
	return b;
}

/* a * b, or false when it does not fit. */
static bool mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* ---- strings ---- */

size_t modelinfo_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

size_t modelinfo_escape(FILE *out, const char *str, size_t len, size_t max, bool quote)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, cols = 0;
	if (quote)
		cols += (size_t)fprintf(out, "\"");
	while (i < len) {
		uint32_t cp;
		size_t n = modelinfo_utf8_decode(s + i, len - i, &cp);
		if (i + (n ? n : 1) > max)
			break;
		if (n == 0) {
			cols += (size_t)fprintf(out, "\\x%02x", s[i]);
			i++;
			continue;
		}
		switch (cp) {
		case '\n': cols += (size_t)fprintf(out, "\\n"); break;
		case '\t': cols += (size_t)fprintf(out, "\\t"); break;
		case '\r': cols += (size_t)fprintf(out, "\\r"); break;
		case '\\': cols += (size_t)fprintf(out, "\\\\"); break;
		case '"':
			cols += (size_t)fprintf(out, quote ? "\\\"" : "\"");
			break;
		default:
			if (cp < 0x20 || cp == 0x7f)
				cols += (size_t)fprintf(out, "\\x%02x", (unsigned)cp);
			else if (cp >= 0x80 && cp < 0xa0)
				cols += (size_t)fprintf(out, "\\u%04x", (unsigned)cp);
			else {
				fwrite(s + i, 1, n, out);
				cols++;
			}
		}
		i += n;
	}
	if (i < len)
		cols += (size_t)fprintf(out, "...");
	if (quote)
		cols += (size_t)fprintf(out, "\"");
	return cols;
}

/* ---- metadata lookups ---- */

static bool vtype_is_int(enum gguf_vtype t)
{
	switch (t) {
	case GGUF_VTYPE_UINT8: case GGUF_VTYPE_INT8: case GGUF_VTYPE_UINT16: case GGUF_VTYPE_INT16:
	case GGUF_VTYPE_UINT32: case GGUF_VTYPE_INT32: case GGUF_VTYPE_UINT64: case GGUF_VTYPE_INT64:
		return true;
	default:
		return false;
	}
}

static bool vtype_is_float(enum gguf_vtype t)
{
	return t == GGUF_VTYPE_FLOAT32 || t == GGUF_VTYPE_FLOAT64;
}

/* An integer value, or MODELINFO_NONE. Some architectures store per-layer
 * values (head counts) as arrays; the summary shows their maximum. */
static int64_t value_int(const struct gguf_value *v)
{
	if (!v)
		return MODELINFO_NONE;
	enum gguf_vtype t = gguf_value_type(v);
	if (vtype_is_int(t)) {
		if (t == GGUF_VTYPE_UINT64 && gguf_value_u64(v) > INT64_MAX)
			return MODELINFO_NONE;
		return gguf_value_i64(v);
	}
	if (t == GGUF_VTYPE_ARRAY && vtype_is_int(gguf_value_arr_type(v))) {
		int64_t best = MODELINFO_NONE;
		for (uint64_t i = 0; i < gguf_value_arr_len(v); i++) {
			int64_t x = gguf_value_arr_i64(v, i);
			if (x > best)
				best = x;
		}
		return best;
	}
	return MODELINFO_NONE;
}

static double value_float(const struct gguf_value *v)
{
	if (!v)
		return NAN;
	enum gguf_vtype t = gguf_value_type(v);
	if (vtype_is_float(t) || vtype_is_int(t))
		return gguf_value_f64(v);
	return NAN;
}

/* The value of "<arch>.<suffix>", or NULL. */
static const struct gguf_value *arch_get(const struct gguf *g, const char *arch, const char *suffix)
{
	if (!arch)
		return NULL;
	char key[256];
	int n = snprintf(key, sizeof(key), "%s.%s", arch, suffix);
	if (n < 0 || (size_t)n >= sizeof(key))
		return NULL;
	return gguf_get(g, key);
}

static const char *get_str(const struct gguf *g, const char *key, size_t *len)
{
	const struct gguf_value *v = gguf_get(g, key);
	const char *s = v ? gguf_value_str(v, len) : NULL;
	if (!s && len)
		*len = 0;
	return s;
}

const char *modelinfo_main_type(const struct gguf *g)
{
	uint64_t bytes[GGML_TYPE_COUNT] = { 0 };
	for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		if ((unsigned)t->type < GGML_TYPE_COUNT)
			bytes[t->type] += t->size;
	}
	int best = 0;
	for (int t = 1; t < GGML_TYPE_COUNT; t++)
		if (bytes[t] > bytes[best])
			best = t;
	return dtype_name(best);
}

const char *modelinfo_ftype_name(int64_t ft)
{
	static const char *const names[] = {
		[0] = "ALL_F32", [1] = "MOSTLY_F16", [2] = "MOSTLY_Q4_0", [3] = "MOSTLY_Q4_1",
		[4] = "MOSTLY_Q4_1_SOME_F16", [5] = "MOSTLY_Q4_2", [6] = "MOSTLY_Q4_3",
		[7] = "MOSTLY_Q8_0", [8] = "MOSTLY_Q5_0", [9] = "MOSTLY_Q5_1", [10] = "MOSTLY_Q2_K",
		[11] = "MOSTLY_Q3_K_S", [12] = "MOSTLY_Q3_K_M", [13] = "MOSTLY_Q3_K_L",
		[14] = "MOSTLY_Q4_K_S", [15] = "MOSTLY_Q4_K_M", [16] = "MOSTLY_Q5_K_S",
		[17] = "MOSTLY_Q5_K_M", [18] = "MOSTLY_Q6_K", [19] = "MOSTLY_IQ2_XXS",
		[20] = "MOSTLY_IQ2_XS", [21] = "MOSTLY_Q2_K_S", [22] = "MOSTLY_IQ3_XS",
		[23] = "MOSTLY_IQ3_XXS", [24] = "MOSTLY_IQ1_S", [25] = "MOSTLY_IQ4_NL",
		[26] = "MOSTLY_IQ3_S", [27] = "MOSTLY_IQ3_M", [28] = "MOSTLY_IQ2_S",
		[29] = "MOSTLY_IQ2_M", [30] = "MOSTLY_IQ4_XS", [31] = "MOSTLY_IQ1_M",
		[32] = "MOSTLY_BF16", [33] = "MOSTLY_Q4_0_4_4", [34] = "MOSTLY_Q4_0_4_8",
		[35] = "MOSTLY_Q4_0_8_8", [36] = "MOSTLY_TQ1_0", [37] = "MOSTLY_TQ2_0",
		[38] = "MOSTLY_MXFP4_MOE",
	};
	/* llama.cpp sets this bit when it guessed the type from the tensors. */
	const int64_t guessed = 1024;
	if (ft >= guessed && ft < 2 * guessed)
		ft -= guessed;
	if (ft < 0 || ft >= (int64_t)(sizeof(names) / sizeof(names[0])) || !names[ft])
		return NULL;
	return names[ft];
}

const char *modelinfo_token_text(const struct modelinfo *mi, int64_t id, size_t *len)
{
	if (!mi->tokens || id < 0)
		return NULL;
	return gguf_value_arr_str(mi->tokens, (uint64_t)id, len);
}

/* ---- filling ---- */

static void fill_tensors(const struct gguf *g, struct modelinfo *mi)
{
	mi->n_tensors = gguf_n_tensors(g);
	for (int64_t i = 0; i < mi->n_tensors; i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		struct modelinfo_type_use *u = &mi->types[t->type];
		u->count++;
		u->elements += (uint64_t)t->n_elements;
		u->bytes += t->size;
		mi->n_params += (uint64_t)t->n_elements;
		mi->tensor_bytes += t->size;
	}
}

/* Bytes of K and V for one token in n_layer layers: (K dim + V dim) * KV
 * heads * layers * elem. */
static uint64_t kv_bytes(const struct modelinfo *mi, int64_t kv_heads, int64_t n_layer,
			 uint64_t elem)
{
	if (n_layer <= 0 || kv_heads <= 0 || mi->key_dim <= 0 || mi->value_dim <= 0)
		return 0;
	uint64_t r;
	if (__builtin_add_overflow((uint64_t)mi->key_dim, (uint64_t)mi->value_dim, &r) ||
	    !mul_u64(r, (uint64_t)kv_heads, &r) || !mul_u64(r, (uint64_t)n_layer, &r) ||
	    !mul_u64(r, elem, &r))
		return 0;
	return r;
}

/* The keys only some architectures have, shown when present. */
static const struct {
	const char *suffix, *label, *json;
} mi_extra_keys[] = {
	{ "attention.layer_norm_epsilon", "norm epsilon:", "layer_norm_epsilon" },
	{ "attention.sliding_window", "sliding window:", "sliding_window" },
	{ "attention.sliding_window_pattern", "window pattern:", "sliding_window_pattern" },
	{ "rope.freq_base_swa", "RoPE base (local):", "rope_freq_base_swa" },
	{ "rope.scaling.attn_factor", "RoPE attn factor:", "rope_scaling_attn_factor" },
	{ "rope.scaling.original_context_length", "RoPE orig. context:", "rope_original_context" },
	{ "attn_logit_softcapping", "attention soft-cap:", "attn_logit_softcapping" },
	{ "final_logit_softcapping", "final soft-cap:", "final_logit_softcapping" },
	{ "attention.clamp_kqv", "clamp QKV:", "clamp_kqv" },
	{ "attention.max_alibi_bias", "ALiBi max bias:", "max_alibi_bias" },
	{ "use_parallel_residual", "parallel residual:", "use_parallel_residual" },
	{ "embedding_scale", "embedding scale:", "embedding_scale" },
	{ "residual_scale", "residual scale:", "residual_scale" },
	{ "attention.scale", "attention scale:", "attention_scale" },
	{ "logit_scale", "logit scale:", "logit_scale" },
};
_Static_assert(sizeof(mi_extra_keys) / sizeof(mi_extra_keys[0]) <= MODELINFO_MAX_EXTRA,
	       "modelinfo extra table larger than MODELINFO_MAX_EXTRA");

static void fill_extras(struct modelinfo *mi, const struct gguf *g)
{
	for (size_t i = 0; i < sizeof(mi_extra_keys) / sizeof(mi_extra_keys[0]); i++) {
		const struct gguf_value *v = arch_get(g, mi->arch, mi_extra_keys[i].suffix);
		if (!v)
			continue;
		bool is_bool = gguf_value_type(v) == GGUF_VTYPE_BOOL;
		double x = is_bool ? (gguf_value_bool(v) ? 1.0 : 0.0) : value_float(v);
		if (isnan(x))
			continue;
		struct modelinfo_extra *e = &mi->extra[mi->n_extra++];
		*e = (struct modelinfo_extra){ mi_extra_keys[i].label, mi_extra_keys[i].json, x, is_bool };
	}
}

/* Which layers use a sliding window: the architecture's pattern, with the
 * window and period from the file or the architecture's defaults, as the
 * engine's loader reads them. */
static void fill_swa(struct modelinfo *mi, const struct gguf *g)
{
	const struct arch_info *a = mi->arch_row;
	if (!a || !(a->keys & ARCH_KEY_SWA) || mi->n_layer <= 0)
		return;
	int64_t n_swa = value_int(arch_get(g, mi->arch, "attention.sliding_window"));
	if (n_swa == MODELINFO_NONE)
		n_swa = a->swa_window_default;
	/* The pattern is a period, or one flag per layer (true: local). */
	const struct gguf_value *pat = arch_get(g, mi->arch, "attention.sliding_window_pattern");
	const bool flags = pat && gguf_value_type(pat) == GGUF_VTYPE_ARRAY;
	int64_t period = flags ? MODELINFO_NONE : value_int(pat);
	if (period == MODELINFO_NONE || period < 0)
		period = a->swa_period;
	if (n_swa <= 0)
		return;
	mi->n_swa = n_swa;
	for (int64_t il = 0; il < mi->n_layer; il++)
		if (flags ? gguf_value_arr_i64(pat, (uint64_t)il) != 0
			  : (period == 0 || il % period < period - 1))
			mi->n_swa_layers++;
}

/* per_token * n_ctx, or 0 when either is unknown or the product overflows. */
static uint64_t kv_ctx_bytes(uint64_t per_token, int64_t n_ctx)
{
	uint64_t r;
	if (!per_token || n_ctx <= 0 || !mul_u64(per_token, (uint64_t)n_ctx, &r))
		return 0;
	return r;
}

void modelinfo_fill(struct modelinfo *mi, const struct gguf *g)
{
	memset(mi, 0, sizeof(*mi));
	mi->arch = get_str(g, "general.architecture", NULL);
	mi->name = get_str(g, "general.name", NULL);
	fill_tensors(g, mi);
	mi->file_type = value_int(gguf_get(g, "general.file_type"));

	const char *a = mi->arch;
	mi->n_ctx = value_int(arch_get(g, a, "context_length"));
	mi->n_embd = value_int(arch_get(g, a, "embedding_length"));
	mi->n_layer = value_int(arch_get(g, a, "block_count"));
	mi->n_head = value_int(arch_get(g, a, "attention.head_count"));
	mi->n_head_kv = value_int(arch_get(g, a, "attention.head_count_kv"));
	mi->n_ff = value_int(arch_get(g, a, "feed_forward_length"));
	mi->key_dim = value_int(arch_get(g, a, "attention.key_length"));
	mi->value_dim = value_int(arch_get(g, a, "attention.value_length"));
	mi->rope_dim = value_int(arch_get(g, a, "rope.dimension_count"));
	mi->rope_freq_base = value_float(arch_get(g, a, "rope.freq_base"));
	mi->rms_eps = value_float(arch_get(g, a, "attention.layer_norm_rms_epsilon"));
	const struct gguf_value *rt = arch_get(g, a, "rope.scaling.type");
	mi->rope_type = rt ? gguf_value_str(rt, &mi->rope_type_len) : NULL;
	mi->rope_factor = value_float(arch_get(g, a, "rope.scaling.factor"));
	if (isnan(mi->rope_factor))
		mi->rope_factor = value_float(arch_get(g, a, "rope.scale_linear"));

	/* Files without head_count_kv have as many KV heads as heads. */
	int64_t kv_heads = mi->n_head_kv != MODELINFO_NONE ? mi->n_head_kv : mi->n_head;
	if (mi->key_dim == MODELINFO_NONE && mi->n_embd > 0 && mi->n_head > 0)
		mi->key_dim = mi->n_embd / mi->n_head;
	if (mi->value_dim == MODELINFO_NONE)
		mi->value_dim = mi->key_dim;
	mi->head_dim = mi->key_dim;
	mi->arch_row = arch_find(mi->arch);
	fill_extras(mi, g);
	fill_swa(mi, g);
	/* The engine's ring for a window holds it plus one default batch (512). */
	const int64_t n_global = mi->n_layer - mi->n_swa_layers;
	int64_t ring = mi->n_swa - 1 + 512;
	if (mi->n_ctx > 0 && ring > mi->n_ctx)
		ring = mi->n_ctx;
	mi->kv_f16 = kv_bytes(mi, kv_heads, n_global, 2);
	mi->kv_f32 = kv_bytes(mi, kv_heads, n_global, 4);
	mi->kv_f16_window = kv_ctx_bytes(kv_bytes(mi, kv_heads, mi->n_swa_layers, 2), ring);
	mi->kv_f32_window = kv_ctx_bytes(kv_bytes(mi, kv_heads, mi->n_swa_layers, 4), ring);
	mi->kv_f16_ctx = kv_ctx_bytes(mi->kv_f16, mi->n_ctx) + mi->kv_f16_window;
	mi->kv_f32_ctx = kv_ctx_bytes(mi->kv_f32, mi->n_ctx) + mi->kv_f32_window;

	const struct gguf_value *tok = gguf_get(g, "tokenizer.ggml.tokens");
	mi->n_vocab = MODELINFO_NONE;
	if (tok && gguf_value_type(tok) == GGUF_VTYPE_ARRAY) {
		mi->n_vocab = (int64_t)gguf_value_arr_len(tok);
		if (gguf_value_arr_type(tok) == GGUF_VTYPE_STRING)
			mi->tokens = tok;
	}
	mi->tok_model = get_str(g, "tokenizer.ggml.model", &mi->tok_model_len);
	mi->tok_pre = get_str(g, "tokenizer.ggml.pre", &mi->tok_pre_len);
	mi->bos = value_int(gguf_get(g, "tokenizer.ggml.bos_token_id"));
	mi->eos = value_int(gguf_get(g, "tokenizer.ggml.eos_token_id"));
	mi->eot = value_int(gguf_get(g, "tokenizer.ggml.eot_token_id"));
	mi->unk = value_int(gguf_get(g, "tokenizer.ggml.unknown_token_id"));
	mi->pad = value_int(gguf_get(g, "tokenizer.ggml.padding_token_id"));
	mi->has_template = get_str(g, "tokenizer.chat_template", &mi->template_len) != NULL;
}

/* ---- rendering ---- */

/* Where the summary is being written and how. */
struct mi_out {
	FILE *f;
	int label_col;
	bool narrow;
};

static void text_label(const struct mi_out *o, const char *label)
{
	fprintf(o->f, "%-*s", o->label_col, label);
}

static void text_int(const struct mi_out *o, const char *label, int64_t v)
{
	text_label(o, label);
	if (v == MODELINFO_NONE)
		fputs("-\n", o->f);
	else if (v < 0)
		fprintf(o->f, "%" PRId64 "\n", v);
	else
		fprintf(o->f, "%s\n", modelinfo_thousands((uint64_t)v).s);
}

static void text_float(const struct mi_out *o, const char *label, double v)
{
	text_label(o, label);
	/* Float32 precision is plenty for a summary and avoids 9.99999975e-06. */
	fprintf(o->f, "%s\n", isnan(v) ? "-" : modelinfo_float(v, true).s);
}

static void text_str(const struct mi_out *o, const char *label, const char *s, size_t len)
{
	text_label(o, label);
	if (s)
		modelinfo_escape(o->f, s, len, SIZE_MAX, false);
	else
		fputs("-", o->f);
	fputs("\n", o->f);
}

static void text_token(const struct mi_out *o, const char *label, int64_t id,
		       const struct modelinfo *mi)
{
	text_label(o, label);
	if (id == MODELINFO_NONE) {
		fputs("-\n", o->f);
		return;
	}
	fprintf(o->f, "%" PRId64, id);
	size_t len;
	const char *text = modelinfo_token_text(mi, id, &len);
	if (text) {
		fputs(" ", o->f);
		modelinfo_escape(o->f, text, len, MI_TOKEN_MAX, true);
	} else if (mi->tokens) {
		fputs(" (out of range)", o->f);
	}
	fputs("\n", o->f);
}

static void text_kv_cache(const struct mi_out *o, const char *label, uint64_t per_token,
			  uint64_t window, uint64_t whole, int64_t n_ctx)
{
	text_label(o, label);
	if (!per_token && !window) {
		fputs("-\n", o->f);
		return;
	}
	fprintf(o->f, "%s/token", modelinfo_bytes(per_token).s);
	if (window)
		fprintf(o->f, " + %s window", modelinfo_bytes(window).s);
	if (whole && o->narrow) {
		fputs("\n", o->f);
		text_label(o, "  whole context:");
		fprintf(o->f, "%s (%s tokens)", modelinfo_bytes(whole).s,
			modelinfo_thousands((uint64_t)n_ctx).s);
	} else if (whole) {
		fprintf(o->f, ", %s for %s tokens", modelinfo_bytes(whole).s,
			modelinfo_thousands((uint64_t)n_ctx).s);
	}
	fputs("\n", o->f);
}

static void text_mix(const struct mi_out *o, const struct modelinfo *mi)
{
	if (!mi->n_tensors) {
		text_label(o, "quantization mix:");
		fputs("-\n", o->f);
		return;
	}
	if (o->narrow)
		fprintf(o->f, "quantization mix:\n  %-8s %7s %10s %7s\n", "type", "tensors", "bytes",
			"bytes%");
	else
		fprintf(o->f, "quantization mix:\n  %-8s %8s %15s %15s %7s\n", "type", "tensors",
			"elements", "bytes", "bytes%");
	for (int t = 0; t < GGML_TYPE_COUNT; t++) {
		const struct modelinfo_type_use *u = &mi->types[t];
		if (!u->count)
			continue;
		double pct = mi->tensor_bytes ? 100.0 * (double)u->bytes / (double)mi->tensor_bytes : 0;
		if (o->narrow)
			fprintf(o->f, "  %-8s %7" PRId64 " %10s %6.1f%%\n", dtype_name(t), u->count,
				modelinfo_bytes(u->bytes).s, pct);
		else
			fprintf(o->f, "  %-8s %8" PRId64 " %15s %15s %6.1f%%\n", dtype_name(t), u->count,
				modelinfo_thousands(u->elements).s, modelinfo_thousands(u->bytes).s, pct);
	}
}

static void text_summary(const struct mi_out *o, const struct gguf *g, const struct modelinfo *mi)
{
	FILE *out = o->f;
	text_str(o, "file:", gguf_path(g), strlen(gguf_path(g)));
	text_int(o, "GGUF version:", gguf_version(g));
	text_label(o, "file size:");
	/* A narrow pane cuts lines at its edge, so the short form goes first. */
	if (o->narrow)
		fprintf(out, "%s (%s bytes)\n", modelinfo_bytes(gguf_file_size(g)).s,
			modelinfo_thousands(gguf_file_size(g)).s);
	else
		fprintf(out, "%s bytes (%s)\n", modelinfo_thousands(gguf_file_size(g)).s,
			modelinfo_bytes(gguf_file_size(g)).s);
	text_label(o, "architecture:");
	if (mi->arch) {
		modelinfo_escape(out, mi->arch, strlen(mi->arch), MI_STR_MAX, false);
		fprintf(out, " (%s)\n", mi->arch_row ? mi->arch_row->family : "not supported");
	} else {
		fputs("-\n", out);
	}
	text_str(o, "name:", mi->name, mi->name ? strlen(mi->name) : 0);
	text_label(o, "parameters:");
	fprintf(out, "%s (%s)\n", modelinfo_thousands(mi->n_params).s, mi_short(mi->n_params).s);
	text_label(o, "tensors:");
	fprintf(out, "%s (%s)\n", modelinfo_thousands((uint64_t)mi->n_tensors).s,
		modelinfo_bytes(mi->tensor_bytes).s);
	text_mix(o, mi);
	text_label(o, "file type:");
	if (mi->file_type == MODELINFO_NONE) {
		fputs("-\n", out);
	} else {
		const char *ft = modelinfo_ftype_name(mi->file_type);
		fprintf(out, "%" PRId64 " (%s%s)\n", mi->file_type, ft ? ft : "unknown",
			mi->file_type >= 1024 ? ", guessed" : "");
	}
	text_int(o, "context length:", mi->n_ctx);
	text_int(o, "embedding length:", mi->n_embd);
	text_int(o, "layers:", mi->n_layer);
	text_int(o, "heads:", mi->n_head);
	text_int(o, "KV heads:", mi->n_head_kv);
	text_int(o, "head dim:", mi->head_dim);
	text_int(o, "FFN length:", mi->n_ff);
	text_float(o, "RoPE freq base:", mi->rope_freq_base);
	text_int(o, "RoPE dimensions:", mi->rope_dim);
	if (mi->rope_type || !isnan(mi->rope_factor)) {
		text_label(o, "RoPE scaling:");
		if (mi->rope_type)
			modelinfo_escape(out, mi->rope_type, mi->rope_type_len, MI_STR_MAX, false);
		else
			fputs("-", out);
		if (!isnan(mi->rope_factor))
			fprintf(out, ", factor %s", modelinfo_float(mi->rope_factor, false).s);
		fputs("\n", out);
	}
	text_float(o, "RMS norm epsilon:", mi->rms_eps);
	for (int i = 0; i < mi->n_extra; i++) {
		const struct modelinfo_extra *e = &mi->extra[i];
		if (e->is_bool) {
			text_label(o, e->label);
			fputs(e->value != 0.0 ? "true\n" : "false\n", out);
		} else {
			text_float(o, e->label, e->value);
		}
	}
	if (mi->n_swa_layers) {
		text_label(o, "window layers:");
		fprintf(out, "%" PRId64 " of %" PRId64 " (window %s)\n", mi->n_swa_layers, mi->n_layer,
			modelinfo_thousands((uint64_t)mi->n_swa).s);
	}
	text_int(o, "vocab size:", mi->n_vocab);
	text_str(o, "tokenizer model:", mi->tok_model, mi->tok_model_len);
	text_str(o, "tokenizer pre:", mi->tok_pre, mi->tok_pre_len);
	text_token(o, "BOS token:", mi->bos, mi);
	text_token(o, "EOS token:", mi->eos, mi);
	text_token(o, "EOT token:", mi->eot, mi);
	text_token(o, "UNK token:", mi->unk, mi);
	text_token(o, "PAD token:", mi->pad, mi);
	text_label(o, "chat template:");
	if (mi->has_template)
		fprintf(out, "yes (%s bytes)\n", modelinfo_thousands(mi->template_len).s);
	else
		fputs("no\n", out);
	text_kv_cache(o, "KV cache (f16):", mi->kv_f16, mi->kv_f16_window, mi->kv_f16_ctx, mi->n_ctx);
	text_kv_cache(o, "KV cache (f32):", mi->kv_f32, mi->kv_f32_window, mi->kv_f32_ctx, mi->n_ctx);
}

int modelinfo_render(const struct modelinfo *mi, const struct gguf *g, unsigned flags,
		     modelinfo_emit_fn emit, void *ctx)
{
	char *buf = NULL;
	size_t size = 0;
	struct mi_out o = {
		.f = open_memstream(&buf, &size),
		.narrow = (flags & MODELINFO_NARROW) != 0,
	};
	if (!o.f)
		return -1;
	o.label_col = o.narrow ? MI_LABEL_COL_NARROW : MI_LABEL_COL;
	text_summary(&o, g, mi);
	bool failed = ferror(o.f) != 0;
	if (fclose(o.f) != 0 || failed || !buf) {
		free(buf);
		return -1;
	}
	/* Every string from the file was escaped, so a newline only ever ends
	 * a line of the summary. */
	int rc = 0;
	for (char *line = buf; rc == 0 && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		rc = emit(ctx, line);
		line = nl ? nl + 1 : line + strlen(line);
	}
	free(buf);
	return rc;
}
