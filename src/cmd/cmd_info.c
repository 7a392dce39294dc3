/* llamaterm info: prints what a GGUF file holds without loading a model.
 *
 * The default output is a readable summary (architecture, sizes, tokenizer,
 * KV-cache estimate, derived in modelinfo.c); --kv lists every metadata key,
 * --tensors the tensor table, and --json all of it as one JSON document.
 * Everything streams to stdout; strings from the file are escaped, because a
 * model file is untrusted input that must not be able to drive the terminal. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dtype.h"
#include "gguf.h"
#include "gguf_split.h"
#include "kernels.h"
#include "modelinfo.h"
#include "options.h"

/* Without --full, --kv shortens strings to this many bytes and arrays to
 * this many items, so a 100k-token vocabulary stays one readable line. */
#define INFO_STR_MAX 64
#define INFO_ARR_ITEMS 8
/* The widest tensor name column before names just run on. */
#define INFO_NAME_COL 40

/* ---- JSON strings ---- */

/* Writes s as a JSON string. Control characters become \u escapes and
 * bytes that are not UTF-8 become U+FFFD, so the output is always valid. */
static void json_str(FILE *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	fputc('"', out);
	while (i < len) {
		uint32_t cp;
		size_t n = modelinfo_utf8_decode(s + i, len - i, &cp);
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
		fputs(modelinfo_float(v, single).s, out);
	else
		fputs("null", out);
}

/* ---- --kv and --tensors ---- */

static void text_value(FILE *out, const struct gguf_value *v, bool full);

/* A boolean or integer value, which the text and the JSON write alike. */
static void plain_scalar(FILE *out, const struct gguf_value *v)
{
	switch (gguf_value_type(v)) {
	case GGUF_VTYPE_BOOL:
		fputs(gguf_value_bool(v) ? "true" : "false", out);
		break;
	case GGUF_VTYPE_UINT8: case GGUF_VTYPE_UINT16: case GGUF_VTYPE_UINT32: case GGUF_VTYPE_UINT64:
		fprintf(out, "%" PRIu64, gguf_value_u64(v));
		break;
	default:
		fprintf(out, "%" PRId64, gguf_value_i64(v));
	}
}

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
		fprintf(out, ", ... (%s more)", modelinfo_thousands(n - shown).s);
}

static void text_value(FILE *out, const struct gguf_value *v, bool full)
{
	enum gguf_vtype t = gguf_value_type(v);
	switch (t) {
	case GGUF_VTYPE_STRING: {
		size_t len;
		const char *s = gguf_value_str(v, &len);
		modelinfo_escape(out, s, len, full ? SIZE_MAX : INFO_STR_MAX, true);
		if (!full && len > INFO_STR_MAX)
			fprintf(out, " (%s bytes)", modelinfo_thousands(len).s);
		break;
	}
	case GGUF_VTYPE_ARRAY:
		text_array(out, v, full);
		break;
	case GGUF_VTYPE_FLOAT32:
	case GGUF_VTYPE_FLOAT64:
		fputs(modelinfo_float(gguf_value_f64(v), t == GGUF_VTYPE_FLOAT32).s, out);
		break;
	default:
		plain_scalar(out, v);
	}
}

static void text_kv(FILE *out, const struct gguf *g, bool full)
{
	fprintf(out, "\nmetadata: %" PRId64 " keys\n", gguf_n_kv(g));
	for (int64_t i = 0; i < gguf_n_kv(g); i++) {
		const char *key = gguf_kv_key(g, i);
		const struct gguf_value *v = gguf_kv_value(g, i);
		fprintf(out, "  %4" PRId64 "  ", i);
		size_t cols = modelinfo_escape(out, key, strlen(key), SIZE_MAX, false);
		fprintf(out, "%*s  %-7s ", cols < INFO_NAME_COL ? (int)(INFO_NAME_COL - cols) : 0, "",
			gguf_vtype_name(gguf_value_type(v)));
		text_value(out, v, full);
		fputs("\n", out);
	}
}

/* "64x512": the dims of a tensor, ne[0] first. */
static struct modelinfo_num fmt_shape(const struct gguf_tensor *t)
{
	struct modelinfo_num b;
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
		size_t cols = modelinfo_escape(out, t->name, strlen(t->name), SIZE_MAX, false);
		fprintf(out, "%*s %-8s %-20s %13s %15s  0x%" PRIx64 "\n",
			cols < INFO_NAME_COL ? (int)(INFO_NAME_COL - cols) : 0, "", dtype_name(t->type),
			fmt_shape(t).s, modelinfo_thousands((uint64_t)t->n_elements).s,
			modelinfo_thousands(t->size).s, gguf_data_offset(g) + t->offset);
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
	if (v == MODELINFO_NONE)
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
	case GGUF_VTYPE_FLOAT32:
	case GGUF_VTYPE_FLOAT64:
		json_float(out, gguf_value_f64(v), t == GGUF_VTYPE_FLOAT32);
		break;
	default:
		plain_scalar(out, v);
	}
}

static void json_token(FILE *out, bool *first, const char *indent, const char *key, int64_t id,
		       const struct modelinfo *s)
{
	json_key(out, first, indent, key);
	if (id == MODELINFO_NONE) {
		fputs("null", out);
		return;
	}
	size_t len;
	const char *text = modelinfo_token_text(s, id, &len);
	fprintf(out, "{\"id\": %" PRId64 ", \"text\": ", id);
	if (text)
		json_str(out, text, len);
	else
		fputs("null", out);
	fputs("}", out);
}

static void json_summary(FILE *out, const struct gguf *g, const struct modelinfo *s)
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
		const struct modelinfo_type_use *u = &s->types[t];
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
	const char *ft = s->file_type != MODELINFO_NONE ? modelinfo_ftype_name(s->file_type) : NULL;
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
	json_key(out, &first, in, "architecture_supported");
	fputs(s->arch_row ? "true" : "false", out);
	for (int i = 0; i < s->n_extra; i++) {
		if (s->extra[i].is_bool) {
			json_key(out, &first, in, s->extra[i].json);
			fputs(s->extra[i].value != 0.0 ? "true" : "false", out);
		} else {
			json_num(out, &first, in, s->extra[i].json, s->extra[i].value);
		}
	}
	json_int(out, &first, in, "sliding_window_layers", s->n_swa_layers);
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
	json_u64(out, &first, in, "kv_cache_bytes_window_f16", s->kv_f16_window, true);
	json_u64(out, &first, in, "kv_cache_bytes_window_f32", s->kv_f32_window, true);
	json_u64(out, &first, in, "kv_cache_bytes_full_context_f16", s->kv_f16_ctx, s->kv_f16_ctx != 0);
	json_u64(out, &first, in, "kv_cache_bytes_full_context_f32", s->kv_f32_ctx, s->kv_f32_ctx != 0);
	fputs("\n  }", out);
}

static void json_all(FILE *out, const struct gguf *g, const struct modelinfo *s)
{
	const char *in = "  ";
	bool first = true;
	fputs("{", out);
	json_strn(out, &first, in, "file", gguf_path(g), strlen(gguf_path(g)));
	json_u64(out, &first, in, "gguf_version", gguf_version(g), true);
	json_u64(out, &first, in, "file_size", gguf_file_size(g), true);
	json_u64(out, &first, in, "alignment", gguf_alignment(g), true);
	json_u64(out, &first, in, "data_offset", gguf_data_offset(g), true);
	const char *kern = kernels_active()->name;
	json_strn(out, &first, in, "kernels", kern, strlen(kern));
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
		"Options:\n");
	options_print_help(out, OPTC_INFO);
}

/* Writes one line of the summary. */
static int info_emit(void *ctx, const char *line)
{
	FILE *out = ctx;
	fputs(line, out);
	fputc('\n', out);
	return 0;
}

int cmd_info(int argc, char **argv)
{
	struct options o;
	options_defaults(&o);
	int rc = cli_parse(&o, argc, argv, OPTC_INFO, "info", info_usage, 0);
	if (rc >= 0)
		return rc;
	if (o.n_positional != 1) {
		if (o.n_positional == 0) {
			fprintf(stderr, "llamaterm info: missing MODEL.gguf argument\n");
			info_usage(stderr);
		} else {
			fprintf(stderr, "llamaterm info: unexpected argument '%s' (one MODEL.gguf only)\n",
				o.positional[1]);
		}
		return 2;
	}
	/* A model's name from a store works here as with -m. */
	char *resolved;
	if (cli_model_path(o.positional[0], "info", &resolved))
		return 1;
	const char *path = resolved ? resolved : o.positional[0];

	char err[1024];
	struct gguf *g;
	rc = gguf_open_split(&g, path, o.no_mmap ? GGUF_OPEN_NO_MMAP : 0, err, sizeof(err));
	free(resolved);
	if (rc) {
		fprintf(stderr, "llamaterm info: %s\n", err);
		return 1;
	}
	struct modelinfo *s = calloc(1, sizeof(*s));
	if (!s) {
		gguf_free(g);
		fprintf(stderr, "llamaterm info: out of memory\n");
		return 1;
	}
	modelinfo_fill(s, g);
	FILE *out = stdout;
	rc = 0;
	if (o.json) {
		json_all(out, g, s);
	} else {
		rc = modelinfo_render(s, g, 0, info_emit, out);
		/* The machine's side of the speed: which kernels would run. */
		const struct kernel_variant *v = kernels_active();
		if (rc == 0)
			fprintf(out, "%-22s%s (%s)\n", "kernels:", v->name,
				v == &kernel_variant_scalar ? "the scalar reference" : v->needs);
		if (rc == 0 && o.info_kv)
			text_kv(out, g, o.info_full);
		if (rc == 0 && o.info_tensors)
			text_tensors(out, g);
	}
	free(s);
	gguf_free(g);
	if (rc) {
		fprintf(stderr, "llamaterm info: out of memory\n");
		return 1;
	}
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "llamaterm info: writing output failed: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
