/* llamaterm info: prints what a GGUF file holds without loading a model.
 *
 * The default output is a readable summary (architecture, sizes, tokenizer,
 * KV-cache estimate); --kv lists every metadata key, --tensors the tensor
 * table, and --json all of it as one JSON document. Everything streams to
 * stdout; strings from the file are escaped, because a model file is
 * untrusted input that must not be able to drive the terminal. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "dtype.h"
#include "gguf.h"

/* Without --full, --kv shortens strings to this many bytes and arrays to
 * this many items, so a 100k-token vocabulary stays one readable line. */
#define INFO_STR_MAX 64
#define INFO_ARR_ITEMS 8
/* Token texts in the summary are shortened the same way. */
#define INFO_TOKEN_MAX 32
/* The widest tensor name column before names just run on. */
#define INFO_NAME_COL 40
/* Marks a summary figure the file does not provide. */
#define INFO_NONE INT64_MIN

struct info_opts {
	bool kv, tensors, json, full, no_mmap;
	const char *path;
};

/* Tensors of one type. */
struct info_type_use {
	int64_t count;
	uint64_t elements;
	uint64_t bytes;
};

/* The summary figures. Integers are INFO_NONE and floats NAN when the file
 * lacks the key; strings are NULL. */
struct info_summary {
	const char *arch, *name;
	uint64_t n_params, tensor_bytes;
	struct info_type_use types[GGML_TYPE_COUNT];
	int64_t file_type;
	int64_t n_ctx, n_embd, n_layer, n_head, n_head_kv, n_ff;
	int64_t head_dim, key_dim, value_dim;
	int64_t rope_dim;
	double rope_freq_base, rope_factor, rms_eps;
	const char *rope_type;
	size_t rope_type_len;
	const struct gguf_value *tokens; /* the token texts, or NULL */
	int64_t n_vocab;
	const char *tok_model, *tok_pre;
	size_t tok_model_len, tok_pre_len;
	int64_t bos, eos, eot, unk, pad;
	bool has_template;
	size_t template_len;
	/* KV-cache bytes per token with F16 and F32 caches; 0 when unknown. */
	uint64_t kv_f16, kv_f32;
};

/* A formatted number, returned by value so it can be used inline. */
struct numbuf {
	char s[48];
};

/* ---- numbers ---- */

/* 1234567 -> "1,234,567". */
static struct numbuf fmt_thousands(uint64_t v)
{
	char digits[24];
	struct numbuf b;
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
static struct numbuf fmt_short(uint64_t v)
{
	static const char suffix[] = { 'K', 'M', 'B', 'T' };
	struct numbuf b;
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

/* 1185376 -> "1.13 MiB". */
static struct numbuf fmt_bytes(uint64_t v)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	struct numbuf b;
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

/* The shortest %g form that reads back as the same value, so 1e-5f prints
 * as "1e-05" rather than "9.99999975e-06". */
static struct numbuf fmt_float(double v, bool single)
{
	struct numbuf b;
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

/* Length of the valid UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 when the bytes are not valid UTF-8 (overlong forms and
 * surrogates included). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
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

/* Writes s escaped for a terminal: backslash escapes for quotes, control
 * characters (C0, DEL and C1) and bytes that are not UTF-8. At most max
 * bytes of s are shown, cut at a character boundary, followed by "..." when
 * cut. Returns the number of columns written (close enough for padding). */
static size_t text_escaped(FILE *out, const char *str, size_t len, size_t max, bool quote)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, cols = 0;
	if (quote)
		cols += (size_t)fprintf(out, "\"");
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
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

/* Writes s as a JSON string. Control characters become \u escapes and
 * bytes that are not UTF-8 become U+FFFD, so the output is always valid. */
static void json_str(FILE *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	fputc('"', out);
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0) {
			fputs("\\ufffd", out);
			i++;
			continue;
		}
		switch (cp) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\t': fputs("\\t", out); break;
		case '\r': fputs("\\r", out); break;
		case '\b': fputs("\\b", out); break;
		case '\f': fputs("\\f", out); break;
		default:
			/* DEL and C1 controls are valid JSON, but escaped they
			 * cannot reach a terminal that happens to show the output. */
			if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
				fprintf(out, "\\u%04x", (unsigned)cp);
			else
				fwrite(s + i, 1, n, out);
		}
		i += n;
	}
	fputc('"', out);
}

static void json_cstr(FILE *out, const char *s)
{
	if (s)
		json_str(out, s, strlen(s));
	else
		fputs("null", out);
}

static void json_float(FILE *out, double v, bool single)
{
	if (isfinite(v))
		fputs(fmt_float(v, single).s, out);
	else
		fputs("null", out);
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

/* An integer value, or INFO_NONE. Some architectures store per-layer
 * values (head counts) as arrays; the summary shows their maximum. */
static int64_t value_int(const struct gguf_value *v)
{
	if (!v)
		return INFO_NONE;
	enum gguf_vtype t = gguf_value_type(v);
	if (vtype_is_int(t)) {
		if (t == GGUF_VTYPE_UINT64 && gguf_value_u64(v) > INT64_MAX)
			return INFO_NONE;
		return gguf_value_i64(v);
	}
	if (t == GGUF_VTYPE_ARRAY && vtype_is_int(gguf_value_arr_type(v))) {
		int64_t best = INFO_NONE;
		for (uint64_t i = 0; i < gguf_value_arr_len(v); i++) {
			int64_t x = gguf_value_arr_i64(v, i);
			if (x > best)
				best = x;
		}
		return best;
	}
	return INFO_NONE;
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

/* llama.cpp's numbering of general.file_type (llama_ftype). */
static const char *ftype_name(int64_t ft)
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

static void summary_tensors(const struct gguf *g, struct info_summary *s)
{
	for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		struct info_type_use *u = &s->types[t->type];
		u->count++;
		u->elements += (uint64_t)t->n_elements;
		u->bytes += t->size;
		s->n_params += (uint64_t)t->n_elements;
		s->tensor_bytes += t->size;
	}
}

/* Bytes of K and V for one token: (K dim + V dim) * KV heads * layers * elem. */
static uint64_t summary_kv_bytes(const struct info_summary *s, int64_t kv_heads, uint64_t elem)
{
	if (s->n_layer <= 0 || kv_heads <= 0 || s->key_dim <= 0 || s->value_dim <= 0)
		return 0;
	uint64_t r;
	if (__builtin_add_overflow((uint64_t)s->key_dim, (uint64_t)s->value_dim, &r) ||
	    !mul_u64(r, (uint64_t)kv_heads, &r) || !mul_u64(r, (uint64_t)s->n_layer, &r) ||
	    !mul_u64(r, elem, &r))
		return 0;
	return r;
}

static void summary_build(const struct gguf *g, struct info_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->arch = get_str(g, "general.architecture", NULL);
	s->name = get_str(g, "general.name", NULL);
	summary_tensors(g, s);
	s->file_type = value_int(gguf_get(g, "general.file_type"));

	const char *a = s->arch;
	s->n_ctx = value_int(arch_get(g, a, "context_length"));
	s->n_embd = value_int(arch_get(g, a, "embedding_length"));
	s->n_layer = value_int(arch_get(g, a, "block_count"));
	s->n_head = value_int(arch_get(g, a, "attention.head_count"));
	s->n_head_kv = value_int(arch_get(g, a, "attention.head_count_kv"));
	s->n_ff = value_int(arch_get(g, a, "feed_forward_length"));
	s->key_dim = value_int(arch_get(g, a, "attention.key_length"));
	s->value_dim = value_int(arch_get(g, a, "attention.value_length"));
	s->rope_dim = value_int(arch_get(g, a, "rope.dimension_count"));
	s->rope_freq_base = value_float(arch_get(g, a, "rope.freq_base"));
	s->rms_eps = value_float(arch_get(g, a, "attention.layer_norm_rms_epsilon"));
	const struct gguf_value *rt = arch_get(g, a, "rope.scaling.type");
	s->rope_type = rt ? gguf_value_str(rt, &s->rope_type_len) : NULL;
	s->rope_factor = value_float(arch_get(g, a, "rope.scaling.factor"));
	if (isnan(s->rope_factor))
		s->rope_factor = value_float(arch_get(g, a, "rope.scale_linear"));

	/* Files without head_count_kv have as many KV heads as heads. */
	int64_t kv_heads = s->n_head_kv != INFO_NONE ? s->n_head_kv : s->n_head;
	if (s->key_dim == INFO_NONE && s->n_embd > 0 && s->n_head > 0)
		s->key_dim = s->n_embd / s->n_head;
	if (s->value_dim == INFO_NONE)
		s->value_dim = s->key_dim;
	s->head_dim = s->key_dim;
	s->kv_f16 = summary_kv_bytes(s, kv_heads, 2);
	s->kv_f32 = summary_kv_bytes(s, kv_heads, 4);

	const struct gguf_value *tok = gguf_get(g, "tokenizer.ggml.tokens");
	s->n_vocab = INFO_NONE;
	if (tok && gguf_value_type(tok) == GGUF_VTYPE_ARRAY) {
		s->n_vocab = (int64_t)gguf_value_arr_len(tok);
		if (gguf_value_arr_type(tok) == GGUF_VTYPE_STRING)
			s->tokens = tok;
	}
	s->tok_model = get_str(g, "tokenizer.ggml.model", &s->tok_model_len);
	s->tok_pre = get_str(g, "tokenizer.ggml.pre", &s->tok_pre_len);
	s->bos = value_int(gguf_get(g, "tokenizer.ggml.bos_token_id"));
	s->eos = value_int(gguf_get(g, "tokenizer.ggml.eos_token_id"));
	s->eot = value_int(gguf_get(g, "tokenizer.ggml.eot_token_id"));
	s->unk = value_int(gguf_get(g, "tokenizer.ggml.unknown_token_id"));
	s->pad = value_int(gguf_get(g, "tokenizer.ggml.padding_token_id"));
	s->has_template = get_str(g, "tokenizer.chat_template", &s->template_len) != NULL;
}

/* ---- text output ---- */

static void text_label(FILE *out, const char *label)
{
	fprintf(out, "%-22s", label);
}

static void text_int(FILE *out, const char *label, int64_t v)
{
	text_label(out, label);
	if (v == INFO_NONE)
		fputs("-\n", out);
	else if (v < 0)
		fprintf(out, "%" PRId64 "\n", v);
	else
		fprintf(out, "%s\n", fmt_thousands((uint64_t)v).s);
}

static void text_float(FILE *out, const char *label, double v)
{
	text_label(out, label);
	/* Float32 precision is plenty for a summary and avoids 9.99999975e-06. */
	fprintf(out, "%s\n", isnan(v) ? "-" : fmt_float(v, true).s);
}

static void text_str(FILE *out, const char *label, const char *s, size_t len)
{
	text_label(out, label);
	if (s)
		text_escaped(out, s, len, SIZE_MAX, false);
	else
		fputs("-", out);
	fputs("\n", out);
}

static void text_token(FILE *out, const char *label, int64_t id, const struct info_summary *s)
{
	text_label(out, label);
	if (id == INFO_NONE) {
		fputs("-\n", out);
		return;
	}
	fprintf(out, "%" PRId64, id);
	size_t len;
	const char *text = s->tokens && id >= 0 ? gguf_value_arr_str(s->tokens, (uint64_t)id, &len) : NULL;
	if (text) {
		fputs(" ", out);
		text_escaped(out, text, len, INFO_TOKEN_MAX, true);
	} else if (s->tokens) {
		fputs(" (out of range)", out);
	}
	fputs("\n", out);
}

static void text_kv_cache(FILE *out, const char *label, uint64_t per_token, int64_t n_ctx)
{
	text_label(out, label);
	if (!per_token) {
		fputs("-\n", out);
		return;
	}
	fprintf(out, "%s/token", fmt_bytes(per_token).s);
	uint64_t full;
	if (n_ctx > 0 && mul_u64(per_token, (uint64_t)n_ctx, &full))
		fprintf(out, ", %s for %s tokens", fmt_bytes(full).s, fmt_thousands((uint64_t)n_ctx).s);
	fputs("\n", out);
}

static void text_summary(FILE *out, const struct gguf *g, const struct info_summary *s)
{
	text_str(out, "file:", gguf_path(g), strlen(gguf_path(g)));
	text_int(out, "GGUF version:", gguf_version(g));
	text_label(out, "file size:");
	fprintf(out, "%s bytes (%s)\n", fmt_thousands(gguf_file_size(g)).s, fmt_bytes(gguf_file_size(g)).s);
	text_str(out, "architecture:", s->arch, s->arch ? strlen(s->arch) : 0);
	text_str(out, "name:", s->name, s->name ? strlen(s->name) : 0);
	text_label(out, "parameters:");
	fprintf(out, "%s (%s)\n", fmt_thousands(s->n_params).s, fmt_short(s->n_params).s);
	text_label(out, "tensors:");
	fprintf(out, "%s (%s)\n", fmt_thousands((uint64_t)gguf_n_tensors(g)).s, fmt_bytes(s->tensor_bytes).s);
	if (!gguf_n_tensors(g)) {
		text_label(out, "quantization mix:");
		fputs("-\n", out);
	} else {
		fprintf(out, "quantization mix:\n  %-8s %8s %15s %15s %7s\n", "type", "tensors", "elements", "bytes", "bytes%");
		for (int t = 0; t < GGML_TYPE_COUNT; t++) {
			const struct info_type_use *u = &s->types[t];
			if (!u->count)
				continue;
			double pct = s->tensor_bytes ? 100.0 * (double)u->bytes / (double)s->tensor_bytes : 0;
			fprintf(out, "  %-8s %8" PRId64 " %15s %15s %6.1f%%\n", dtype_name(t), u->count,
				fmt_thousands(u->elements).s, fmt_thousands(u->bytes).s, pct);
		}
	}
	text_label(out, "file type:");
	if (s->file_type == INFO_NONE) {
		fputs("-\n", out);
	} else {
		const char *ft = ftype_name(s->file_type);
		fprintf(out, "%" PRId64 " (%s%s)\n", s->file_type, ft ? ft : "unknown",
			s->file_type >= 1024 ? ", guessed" : "");
	}
	text_int(out, "context length:", s->n_ctx);
	text_int(out, "embedding length:", s->n_embd);
	text_int(out, "layers:", s->n_layer);
	text_int(out, "heads:", s->n_head);
	text_int(out, "KV heads:", s->n_head_kv);
	text_int(out, "head dim:", s->head_dim);
	text_int(out, "FFN length:", s->n_ff);
	text_float(out, "RoPE freq base:", s->rope_freq_base);
	text_int(out, "RoPE dimensions:", s->rope_dim);
	if (s->rope_type || !isnan(s->rope_factor)) {
		text_label(out, "RoPE scaling:");
		if (s->rope_type)
			text_escaped(out, s->rope_type, s->rope_type_len, INFO_STR_MAX, false);
		else
			fputs("-", out);
		if (!isnan(s->rope_factor))
			fprintf(out, ", factor %s", fmt_float(s->rope_factor, false).s);
		fputs("\n", out);
	}
	text_float(out, "RMS norm epsilon:", s->rms_eps);
	text_int(out, "vocab size:", s->n_vocab);
	text_str(out, "tokenizer model:", s->tok_model, s->tok_model_len);
	text_str(out, "tokenizer pre:", s->tok_pre, s->tok_pre_len);
	text_token(out, "BOS token:", s->bos, s);
	text_token(out, "EOS token:", s->eos, s);
	text_token(out, "EOT token:", s->eot, s);
	text_token(out, "UNK token:", s->unk, s);
	text_token(out, "PAD token:", s->pad, s);
	text_label(out, "chat template:");
	if (s->has_template)
		fprintf(out, "yes (%s bytes)\n", fmt_thousands(s->template_len).s);
	else
		fputs("no\n", out);
	text_kv_cache(out, "KV cache (f16):", s->kv_f16, s->n_ctx);
	text_kv_cache(out, "KV cache (f32):", s->kv_f32, s->n_ctx);
}

static void text_value(FILE *out, const struct gguf_value *v, bool full);

static void text_array(FILE *out, const struct gguf_value *v, bool full)
{
	enum gguf_vtype et = gguf_value_arr_type(v);
	uint64_t n = gguf_value_arr_len(v);
	fprintf(out, "[%" PRIu64 " x %s]", n, gguf_vtype_name(et));
	uint64_t shown = full || n < INFO_ARR_ITEMS ? n : INFO_ARR_ITEMS;
	for (uint64_t i = 0; i < shown; i++) {
		fputs(i ? ", " : " ", out);
		const struct gguf_value *item = gguf_value_arr_item(v, i);
		if (et == GGUF_VTYPE_ARRAY)
			fputs("(", out);
		if (item)
			text_value(out, item, full);
		if (et == GGUF_VTYPE_ARRAY)
			fputs(")", out);
	}
	if (shown < n)
		fprintf(out, ", ... (%s more)", fmt_thousands(n - shown).s);
}

static void text_value(FILE *out, const struct gguf_value *v, bool full)
{
	enum gguf_vtype t = gguf_value_type(v);
	switch (t) {
	case GGUF_VTYPE_STRING: {
		size_t len;
		const char *s = gguf_value_str(v, &len);
		text_escaped(out, s, len, full ? SIZE_MAX : INFO_STR_MAX, true);
		if (!full && len > INFO_STR_MAX)
			fprintf(out, " (%s bytes)", fmt_thousands(len).s);
		break;
	}
	case GGUF_VTYPE_ARRAY:
		text_array(out, v, full);
		break;
	case GGUF_VTYPE_BOOL:
		fputs(gguf_value_bool(v) ? "true" : "false", out);
		break;
	case GGUF_VTYPE_FLOAT32:
	case GGUF_VTYPE_FLOAT64:
		fputs(fmt_float(gguf_value_f64(v), t == GGUF_VTYPE_FLOAT32).s, out);
		break;
	case GGUF_VTYPE_UINT8: case GGUF_VTYPE_UINT16: case GGUF_VTYPE_UINT32: case GGUF_VTYPE_UINT64:
		fprintf(out, "%" PRIu64, gguf_value_u64(v));
		break;
	default:
		fprintf(out, "%" PRId64, gguf_value_i64(v));
	}
}

static void text_kv(FILE *out, const struct gguf *g, bool full)
{
	fprintf(out, "\nmetadata: %" PRId64 " keys\n", gguf_n_kv(g));
	for (int64_t i = 0; i < gguf_n_kv(g); i++) {
		const char *key = gguf_kv_key(g, i);
		const struct gguf_value *v = gguf_kv_value(g, i);
		fprintf(out, "  %4" PRId64 "  ", i);
		size_t cols = text_escaped(out, key, strlen(key), SIZE_MAX, false);
		fprintf(out, "%*s  %-7s ", cols < INFO_NAME_COL ? (int)(INFO_NAME_COL - cols) : 0, "",
			gguf_vtype_name(gguf_value_type(v)));
		text_value(out, v, full);
		fputs("\n", out);
	}
}

/* "64x512": the dims of a tensor, ne[0] first. */
static struct numbuf fmt_shape(const struct gguf_tensor *t)
{
	struct numbuf b;
	size_t o = 0;
	b.s[0] = 0;
	for (int d = 0; d < t->n_dims && o < sizeof(b.s); d++) {
		int n = snprintf(b.s + o, sizeof(b.s) - o, "%s%" PRId64, d ? "x" : "", t->ne[d]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	return b;
}

static void text_tensors(FILE *out, const struct gguf *g)
{
	int64_t n = gguf_n_tensors(g);
	fprintf(out, "\ntensors: %" PRId64 " (data at 0x%" PRIx64 ", alignment %" PRIu64 ")\n", n,
		gguf_data_offset(g), gguf_alignment(g));
	if (!n)
		return;
	fprintf(out, "  %5s  %-*s %-8s %-20s %13s %15s  %s\n", "index", INFO_NAME_COL, "name", "type",
		"shape", "elements", "bytes", "offset");
	for (int64_t i = 0; i < n; i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		fprintf(out, "  %5" PRId64 "  ", i);
		size_t cols = text_escaped(out, t->name, strlen(t->name), SIZE_MAX, false);
		fprintf(out, "%*s %-8s %-20s %13s %15s  0x%" PRIx64 "\n",
			cols < INFO_NAME_COL ? (int)(INFO_NAME_COL - cols) : 0, "", dtype_name(t->type),
			fmt_shape(t).s, fmt_thousands((uint64_t)t->n_elements).s,
			fmt_thousands(t->size).s, gguf_data_offset(g) + t->offset);
	}
}

/* ---- JSON output ---- */

/* Starts the next member of an object: a comma unless it is the first. */
static void json_key(FILE *out, bool *first, const char *indent, const char *key)
{
	fprintf(out, "%s\n%s", *first ? "" : ",", indent);
	*first = false;
	json_cstr(out, key);
	fputs(": ", out);
}

static void json_int(FILE *out, bool *first, const char *indent, const char *key, int64_t v)
{
	json_key(out, first, indent, key);
	if (v == INFO_NONE)
		fputs("null", out);
	else
		fprintf(out, "%" PRId64, v);
}

static void json_u64(FILE *out, bool *first, const char *indent, const char *key, uint64_t v,
		     bool present)
{
	json_key(out, first, indent, key);
	if (present)
		fprintf(out, "%" PRIu64, v);
	else
		fputs("null", out);
}

static void json_num(FILE *out, bool *first, const char *indent, const char *key, double v)
{
	json_key(out, first, indent, key);
	json_float(out, v, true);
}

static void json_strn(FILE *out, bool *first, const char *indent, const char *key, const char *s,
		      size_t len)
{
	json_key(out, first, indent, key);
	if (s)
		json_str(out, s, len);
	else
		fputs("null", out);
}

static void json_value(FILE *out, const struct gguf_value *v)
{
	enum gguf_vtype t = gguf_value_type(v);
	switch (t) {
	case GGUF_VTYPE_STRING: {
		size_t len;
		const char *s = gguf_value_str(v, &len);
		json_str(out, s, len);
		break;
	}
	case GGUF_VTYPE_ARRAY: {
		uint64_t n = gguf_value_arr_len(v);
		fputs("[", out);
		for (uint64_t i = 0; i < n; i++) {
			if (i)
				fputs(", ", out);
			const struct gguf_value *item = gguf_value_arr_item(v, i);
			if (item)
				json_value(out, item);
			else
				fputs("null", out);
		}
		fputs("]", out);
		break;
	}
	case GGUF_VTYPE_BOOL:
		fputs(gguf_value_bool(v) ? "true" : "false", out);
		break;
	case GGUF_VTYPE_FLOAT32:
	case GGUF_VTYPE_FLOAT64:
		json_float(out, gguf_value_f64(v), t == GGUF_VTYPE_FLOAT32);
		break;
	case GGUF_VTYPE_UINT8: case GGUF_VTYPE_UINT16: case GGUF_VTYPE_UINT32: case GGUF_VTYPE_UINT64:
		fprintf(out, "%" PRIu64, gguf_value_u64(v));
		break;
	default:
		fprintf(out, "%" PRId64, gguf_value_i64(v));
	}
}

static void json_token(FILE *out, bool *first, const char *indent, const char *key, int64_t id,
		       const struct info_summary *s)
{
	json_key(out, first, indent, key);
	if (id == INFO_NONE) {
		fputs("null", out);
		return;
	}
	size_t len;
	const char *text = s->tokens && id >= 0 ? gguf_value_arr_str(s->tokens, (uint64_t)id, &len) : NULL;
	fprintf(out, "{\"id\": %" PRId64 ", \"text\": ", id);
	if (text)
		json_str(out, text, len);
	else
		fputs("null", out);
	fputs("}", out);
}

static void json_summary(FILE *out, const struct gguf *g, const struct info_summary *s)
{
	const char *in = "    ";
	bool first = true;
	fputs("{", out);
	json_strn(out, &first, in, "architecture", s->arch, s->arch ? strlen(s->arch) : 0);
	json_strn(out, &first, in, "name", s->name, s->name ? strlen(s->name) : 0);
	json_u64(out, &first, in, "parameters", s->n_params, true);
	json_u64(out, &first, in, "tensor_count", (uint64_t)gguf_n_tensors(g), true);
	json_u64(out, &first, in, "tensor_bytes", s->tensor_bytes, true);
	json_key(out, &first, in, "quantization");
	fputs("[", out);
	bool first_type = true;
	for (int t = 0; t < GGML_TYPE_COUNT; t++) {
		const struct info_type_use *u = &s->types[t];
		if (!u->count)
			continue;
		double pct = s->tensor_bytes ? 100.0 * (double)u->bytes / (double)s->tensor_bytes : 0;
		fprintf(out, "%s\n      {\"type\": \"%s\", \"tensors\": %" PRId64 ", \"elements\": %" PRIu64
			", \"bytes\": %" PRIu64 ", \"percent\": ",
			first_type ? "" : ",", dtype_name(t), u->count, u->elements, u->bytes);
		json_float(out, pct, false);
		fputs("}", out);
		first_type = false;
	}
	fputs(first_type ? "]" : "\n    ]", out);
	json_int(out, &first, in, "file_type", s->file_type);
	const char *ft = s->file_type != INFO_NONE ? ftype_name(s->file_type) : NULL;
	json_strn(out, &first, in, "file_type_name", ft, ft ? strlen(ft) : 0);
	json_int(out, &first, in, "context_length", s->n_ctx);
	json_int(out, &first, in, "embedding_length", s->n_embd);
	json_int(out, &first, in, "block_count", s->n_layer);
	json_int(out, &first, in, "head_count", s->n_head);
	json_int(out, &first, in, "head_count_kv", s->n_head_kv);
	json_int(out, &first, in, "head_dim", s->head_dim);
	json_int(out, &first, in, "feed_forward_length", s->n_ff);
	json_num(out, &first, in, "rope_freq_base", s->rope_freq_base);
	json_int(out, &first, in, "rope_dimension_count", s->rope_dim);
	json_strn(out, &first, in, "rope_scaling_type", s->rope_type, s->rope_type_len);
	json_num(out, &first, in, "rope_scaling_factor", s->rope_factor);
	json_num(out, &first, in, "rms_norm_epsilon", s->rms_eps);
	json_int(out, &first, in, "vocab_size", s->n_vocab);
	json_strn(out, &first, in, "tokenizer_model", s->tok_model, s->tok_model_len);
	json_strn(out, &first, in, "tokenizer_pre", s->tok_pre, s->tok_pre_len);
	json_token(out, &first, in, "bos_token", s->bos, s);
	json_token(out, &first, in, "eos_token", s->eos, s);
	json_token(out, &first, in, "eot_token", s->eot, s);
	json_token(out, &first, in, "unk_token", s->unk, s);
	json_token(out, &first, in, "pad_token", s->pad, s);
	json_key(out, &first, in, "chat_template");
	fputs(s->has_template ? "true" : "false", out);
	json_u64(out, &first, in, "chat_template_bytes", s->template_len, s->has_template);
	json_u64(out, &first, in, "kv_cache_bytes_per_token_f16", s->kv_f16, s->kv_f16 != 0);
	json_u64(out, &first, in, "kv_cache_bytes_per_token_f32", s->kv_f32, s->kv_f32 != 0);
	uint64_t full16 = 0, full32 = 0;
	bool ok16 = s->kv_f16 && s->n_ctx > 0 && mul_u64(s->kv_f16, (uint64_t)s->n_ctx, &full16);
	bool ok32 = s->kv_f32 && s->n_ctx > 0 && mul_u64(s->kv_f32, (uint64_t)s->n_ctx, &full32);
	json_u64(out, &first, in, "kv_cache_bytes_full_context_f16", full16, ok16);
	json_u64(out, &first, in, "kv_cache_bytes_full_context_f32", full32, ok32);
	fputs("\n  }", out);
}

static void json_all(FILE *out, const struct gguf *g, const struct info_summary *s)
{
	const char *in = "  ";
	bool first = true;
	fputs("{", out);
	json_strn(out, &first, in, "file", gguf_path(g), strlen(gguf_path(g)));
	json_u64(out, &first, in, "gguf_version", gguf_version(g), true);
	json_u64(out, &first, in, "file_size", gguf_file_size(g), true);
	json_u64(out, &first, in, "alignment", gguf_alignment(g), true);
	json_u64(out, &first, in, "data_offset", gguf_data_offset(g), true);
	json_key(out, &first, in, "summary");
	json_summary(out, g, s);
	json_u64(out, &first, in, "metadata_count", (uint64_t)gguf_n_kv(g), true);
	json_key(out, &first, in, "metadata");
	fputs("{", out);
	bool first_kv = true;
	for (int64_t i = 0; i < gguf_n_kv(g); i++) {
		const struct gguf_value *v = gguf_kv_value(g, i);
		enum gguf_vtype t = gguf_value_type(v);
		json_key(out, &first_kv, "    ", gguf_kv_key(g, i));
		fprintf(out, "{\"type\": \"%s\"", gguf_vtype_name(t));
		if (t == GGUF_VTYPE_ARRAY)
			fprintf(out, ", \"element_type\": \"%s\", \"count\": %" PRIu64,
				gguf_vtype_name(gguf_value_arr_type(v)), gguf_value_arr_len(v));
		fputs(", \"value\": ", out);
		json_value(out, v);
		fputs("}", out);
	}
	fputs(first_kv ? "}" : "\n  }", out);
	json_u64(out, &first, in, "tensor_count", (uint64_t)gguf_n_tensors(g), true);
	json_key(out, &first, in, "tensors");
	fputs("[", out);
	for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		fprintf(out, "%s\n    {\"index\": %" PRId64 ", \"name\": ", i ? "," : "", i);
		json_str(out, t->name, strlen(t->name));
		fprintf(out, ", \"type\": \"%s\", \"shape\": [", dtype_name(t->type));
		for (int d = 0; d < t->n_dims; d++)
			fprintf(out, "%s%" PRId64, d ? ", " : "", t->ne[d]);
		fprintf(out, "], \"elements\": %" PRId64 ", \"bytes\": %" PRIu64 ", \"offset\": %" PRIu64
			", \"file_offset\": %" PRIu64 "}",
			t->n_elements, t->size, t->offset, gguf_data_offset(g) + t->offset);
	}
	fputs(gguf_n_tensors(g) ? "\n  ]" : "]", out);
	fputs("\n}\n", out);
}

/* ---- command ---- */

static void info_usage(FILE *out)
{
	fprintf(out,
		"usage: llamaterm info [--kv] [--tensors] [--json] [--full] [--no-mmap] MODEL.gguf\n\n"
		"Prints a summary of a GGUF file: architecture, parameters, quantization mix,\n"
		"hyperparameters, tokenizer and an estimate of the KV-cache size.\n\n"
		"  --kv        also list every metadata key with its type and value\n"
		"  --tensors   also list every tensor: type, shape, size and file offset\n"
		"  --json      print the summary, all metadata and all tensors as JSON\n"
		"  --full      with --kv, show long strings and arrays in full\n"
		"  --no-mmap   read the file into memory instead of mapping it\n"
		"  -h, --help  show this help\n");
}

/* Returns -1 to go on, or the exit status. */
static int info_parse(struct info_opts *o, int argc, char **argv)
{
	bool options_done = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!options_done && a[0] == '-' && a[1]) {
			if (strcmp(a, "--") == 0)
				options_done = true;
			else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
				info_usage(stdout);
				return 0;
			} else if (strcmp(a, "--kv") == 0)
				o->kv = true;
			else if (strcmp(a, "--tensors") == 0)
				o->tensors = true;
			else if (strcmp(a, "--json") == 0)
				o->json = true;
			else if (strcmp(a, "--full") == 0)
				o->full = true;
			else if (strcmp(a, "--no-mmap") == 0)
				o->no_mmap = true;
			else {
				fprintf(stderr, "llamaterm info: unknown option '%s'\n", a);
				return 2;
			}
			continue;
		}
		if (o->path) {
			fprintf(stderr, "llamaterm info: unexpected argument '%s' (one MODEL.gguf only)\n", a);
			return 2;
		}
		o->path = a;
	}
	if (!o->path) {
		fprintf(stderr, "llamaterm info: missing MODEL.gguf argument\n");
		info_usage(stderr);
		return 2;
	}
	return -1;
}

int cmd_info(int argc, char **argv)
{
	struct info_opts o = { 0 };
	int rc = info_parse(&o, argc, argv);
	if (rc >= 0)
		return rc;

	char err[1024];
	struct gguf *g;
	rc = gguf_open(&g, o.path, o.no_mmap ? GGUF_OPEN_NO_MMAP : 0, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "llamaterm info: %s\n", err);
		return 1;
	}
	struct info_summary *s = calloc(1, sizeof(*s));
	if (!s) {
		gguf_free(g);
		fprintf(stderr, "llamaterm info: out of memory\n");
		return 1;
	}
	summary_build(g, s);
	FILE *out = stdout;
	if (o.json) {
		json_all(out, g, s);
	} else {
		text_summary(out, g, s);
		if (o.kv)
			text_kv(out, g, o.full);
		if (o.tensors)
			text_tensors(out, g);
	}
	free(s);
	gguf_free(g);
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "llamaterm info: writing output failed: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
