/* The figures derived from a GGUF file's metadata and tensor table that
 * `llamaterm info` prints and the F2 metadata browser shows: architecture,
 * parameter count, quantization mix, hyperparameters, tokenizer, special
 * tokens and the KV-cache size per token.
 *
 * modelinfo_fill reads them once; modelinfo_render turns them into lines of
 * text (no newlines, every string from the file escaped so it cannot drive
 * a terminal), which `info` writes to stdout and the UI adds to a list. */
#ifndef LT_MODELINFO_H
#define LT_MODELINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arch.h"
#include "dtype.h"

struct gguf;
struct gguf_value;

/* Marks an integer figure the file does not provide. */
#define MODELINFO_NONE INT64_MIN

/* Tensors of one type. */
struct modelinfo_type_use {
	int64_t count;
	uint64_t elements;
	uint64_t bytes;
};

#define MODELINFO_MAX_EXTRA 16

/* The summary figures. Integers are MODELINFO_NONE and floats NAN when the
 * file lacks the key; strings are NULL. Strings and tokens point into the
 * gguf they were filled from and live as long as it does. */
struct modelinfo {
	const char *arch, *name;
	uint64_t n_params, tensor_bytes;
	int64_t n_tensors;
	struct modelinfo_type_use types[GGML_TYPE_COUNT]; /* indexed by enum ggml_type */
	int64_t file_type;                                 /* general.file_type (llama_ftype) */
	int64_t n_ctx, n_embd, n_layer, n_head, n_head_kv, n_ff;
	int64_t head_dim, key_dim, value_dim;
	int64_t rope_dim;
	double rope_freq_base, rope_factor, rms_eps;
	const char *rope_type;
	size_t rope_type_len;
	const struct gguf_value *tokens; /* the token texts (array of strings), or NULL */
	int64_t n_vocab;
	const char *tok_model, *tok_pre;
	size_t tok_model_len, tok_pre_len;
	int64_t bos, eos, eot, unk, pad;
	bool has_template;
	size_t template_len;
	/* KV-cache bytes per token with F16 and F32 caches, and for the whole
	 * training context; 0 when unknown or too large to count. Sliding-window
	 * layers keep a fixed window rather than a row per token: they are not
	 * in the per-token figures but in kv_*_window, which the whole-context
	 * figures include. */
	uint64_t kv_f16, kv_f32;
	uint64_t kv_f16_window, kv_f32_window;
	uint64_t kv_f16_ctx, kv_f32_ctx;
	/* The architecture's row (NULL when we do not run it), its window and
	 * how many layers use it (0: none). */
	const struct arch_info *arch_row;
	int64_t n_swa, n_swa_layers;
	/* Architecture-specific keys the file has, in table order. */
	struct modelinfo_extra {
		const char *label;  /* "attention soft-cap:" */
		const char *json;   /* "attn_logit_softcapping" */
		double value;
		bool is_bool;
	} extra[MODELINFO_MAX_EXTRA];
	int n_extra;
};

/* Reads the figures of g into mi. Never fails: what is missing or of the
 * wrong type is left unknown. */
void modelinfo_fill(struct modelinfo *mi, const struct gguf *g);

/* llama.cpp's name for a general.file_type value ("MOSTLY_Q4_0"), or NULL. */
const char *modelinfo_ftype_name(int64_t file_type);

/* The tensor type holding the most bytes ("q4_K", "f32"): what the
 * quantization is called when general.file_type is absent or a mix. */
const char *modelinfo_main_type(const struct gguf *g);

/* The text of token id, or NULL when the file has no token list or id is
 * out of its range. */
const char *modelinfo_token_text(const struct modelinfo *mi, int64_t id, size_t *len);

enum modelinfo_render_flags {
	/* For a narrow pane: a shorter label column, a compact quantization
	 * table and the whole-context KV size on a line of its own. */
	MODELINFO_NARROW = 1 << 0,
};

/* Receives one line of the summary, without a newline. */
typedef int (*modelinfo_emit_fn)(void *ctx, const char *line);

/* Renders the summary of mi (filled from g) one line at a time. Stops at
 * the first emit that returns nonzero and returns that value; returns -1
 * when memory runs out, else 0. */
int modelinfo_render(const struct modelinfo *mi, const struct gguf *g, unsigned flags,
		     modelinfo_emit_fn emit, void *ctx);

/* ---- text helpers shared with `info`'s listings ---- */

/* A formatted number, returned by value so it can be used inline. */
struct modelinfo_num {
	char s[48];
};

/* 1234567 -> "1,234,567". */
struct modelinfo_num modelinfo_thousands(uint64_t v);
/* 1185376 -> "1.13 MiB". */
struct modelinfo_num modelinfo_bytes(uint64_t v);
/* The shortest %g form that reads back as the same value (as a float when
 * single), so 1e-5f prints as "1e-05" rather than "9.99999975e-06". */
struct modelinfo_num modelinfo_float(double v, bool single);

/* Length of the valid UTF-8 sequence at s (at most n bytes, n > 0) and its
 * code point, or 0 when the bytes are not valid UTF-8 (overlong forms and
 * surrogates included). */
size_t modelinfo_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Writes s escaped for a terminal: backslash escapes for quotes (when
 * quote), control characters (C0, DEL and C1) and bytes that are not
 * UTF-8. At most max bytes of s are shown, cut at a character boundary and
 * followed by "..." when cut. Returns the columns written (close enough for
 * padding). */
size_t modelinfo_escape(FILE *out, const char *s, size_t len, size_t max, bool quote);

#endif
