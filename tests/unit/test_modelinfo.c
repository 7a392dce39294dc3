/* Tests of the derived model summary: the golden figures of stories260K,
 * defaults for missing keys on a hand-built image (KV heads = heads, head
 * dim from the embedding), escaping of hostile token texts, the rendered
 * lines in both widths, and the number formatting helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gguf.h"
#include "modelinfo.h"

/* Golden figures of stories260K.gguf (see ../shared/models/README.md). */
#define STORIES_PARAMS 292800
#define STORIES_TENSORS 48
#define STORIES_BYTES (STORIES_PARAMS * 4)
/* (8 K dims + 8 V dims) * 4 KV heads * 5 layers * 2 bytes. */
#define STORIES_KV_F16 640
#define STORIES_CTX 2048
#define ERR_LEN 512
#define MAX_LINES 128

/* ---- collecting rendered lines ---- */

struct lines {
	char *l[MAX_LINES];
	int n;
	int stop_after; /* emit returns 7 after this many lines; 0 = never */
};

static int collect(void *ctx, const char *line)
{
	struct lines *ls = ctx;
	assert_true(ls->n < MAX_LINES);
	assert_null(strchr(line, '\n'));
	ls->l[ls->n++] = strdup(line);
	return ls->stop_after && ls->n >= ls->stop_after ? 7 : 0;
}

static void lines_free(struct lines *ls)
{
	for (int i = 0; i < ls->n; i++)
		free(ls->l[i]);
	ls->n = 0;
}

/* The line starting with prefix, or NULL. */
static const char *line_with(const struct lines *ls, const char *prefix)
{
	for (int i = 0; i < ls->n; i++)
		if (strncmp(ls->l[i], prefix, strlen(prefix)) == 0)
			return ls->l[i];
	return NULL;
}

/* ---- stories260K ---- */

static bool open_stories(struct gguf **g)
{
	const char *shared = getenv("LLAMATERM_SHARED");
	char path[4096], err[ERR_LEN];
	struct stat st;
	snprintf(path, sizeof(path), "%s/models/stories260K.gguf", shared && *shared ? shared : "../shared");
	if (stat(path, &st) != 0) {
		printf("SKIP: %s not found (set LLAMATERM_SHARED)\n", path);
		return false;
	}
	assert_int_equal(gguf_open(g, path, 0, err, sizeof(err)), 0);
	return true;
}

static void test_stories_figures(void **state)
{
	(void)state;
	struct gguf *g;
	if (!open_stories(&g)) {
		skip();
		return;
	}
	struct modelinfo *mi = malloc(sizeof(*mi));
	assert_non_null(mi);
	modelinfo_fill(mi, g);
	assert_string_equal(mi->arch, "llama");
	assert_int_equal(mi->n_params, STORIES_PARAMS);
	assert_int_equal(mi->n_tensors, STORIES_TENSORS);
	assert_int_equal(mi->tensor_bytes, STORIES_BYTES);
	assert_int_equal(mi->types[GGML_TYPE_F32].count, STORIES_TENSORS);
	assert_int_equal(mi->types[GGML_TYPE_F32].elements, STORIES_PARAMS);
	assert_int_equal(mi->n_layer, 5);
	assert_int_equal(mi->n_head, 8);
	assert_int_equal(mi->n_head_kv, 4);
	assert_int_equal(mi->head_dim, 8);
	assert_int_equal(mi->n_embd, 64);
	assert_int_equal(mi->n_ctx, STORIES_CTX);
	assert_int_equal(mi->n_vocab, 512);
	assert_int_equal(mi->file_type, MODELINFO_NONE);
	assert_true(isnan(mi->rope_freq_base));
	assert_false(mi->has_template);
	assert_int_equal(mi->kv_f16, STORIES_KV_F16);
	assert_int_equal(mi->kv_f32, 2 * STORIES_KV_F16);
	assert_int_equal(mi->kv_f16_ctx, (uint64_t)STORIES_KV_F16 * STORIES_CTX);
	assert_int_equal(mi->kv_f32_ctx, (uint64_t)2 * STORIES_KV_F16 * STORIES_CTX);
	size_t len;
	const char *bos = modelinfo_token_text(mi, mi->bos, &len);
	assert_non_null(bos);
	assert_int_equal(len, 3);
	assert_memory_equal(bos, "<s>", 3);
	assert_null(modelinfo_token_text(mi, 512, &len));
	assert_null(modelinfo_token_text(mi, -1, &len));
	free(mi);
	gguf_free(g);
}

static void test_stories_render(void **state)
{
	(void)state;
	struct gguf *g;
	if (!open_stories(&g)) {
		skip();
		return;
	}
	struct modelinfo mi;
	modelinfo_fill(&mi, g);
	struct lines wide = { 0 }, narrow = { 0 };
	assert_int_equal(modelinfo_render(&mi, g, 0, collect, &wide), 0);
	assert_string_equal(line_with(&wide, "parameters:"), "parameters:           292,800 (292.8K)");
	assert_string_equal(line_with(&wide, "KV heads:"), "KV heads:             4");
	assert_string_equal(line_with(&wide, "  f32 "),
			    "  f32            48         292,800       1,171,200  100.0%");
	assert_string_equal(line_with(&wide, "KV cache (f16):"),
			    "KV cache (f16):       640 B/token, 1.25 MiB for 2,048 tokens");
	assert_string_equal(line_with(&wide, "BOS token:"), "BOS token:            1 \"<s>\"");

	/* The narrow form: a shorter label column, the short forms first and
	 * each whole-context KV size on a line of its own. */
	assert_int_equal(modelinfo_render(&mi, g, MODELINFO_NARROW, collect, &narrow), 0);
	assert_int_equal(narrow.n, wide.n + 2);
	assert_string_equal(line_with(&narrow, "file size:"), "file size:        1.13 MiB (1,185,376 bytes)");
	assert_string_equal(line_with(&narrow, "parameters:"), "parameters:       292,800 (292.8K)");
	assert_string_equal(line_with(&narrow, "KV cache (f16):"), "KV cache (f16):   640 B/token");
	assert_string_equal(line_with(&narrow, "  whole context:"),
			    "  whole context:  1.25 MiB (2,048 tokens)");
	assert_string_equal(line_with(&narrow, "  f32 "), "  f32           48   1.12 MiB  100.0%");

	/* An emit that fails stops the rendering and its value comes back. */
	struct lines stop = { .stop_after = 3 };
	assert_int_equal(modelinfo_render(&mi, g, 0, collect, &stop), 7);
	assert_int_equal(stop.n, 3);

	lines_free(&wide);
	lines_free(&narrow);
	lines_free(&stop);
	gguf_free(g);
}

/* ---- a hand-built image ---- */

struct img {
	uint8_t b[4096];
	size_t n;
};

static void put(struct img *im, const void *p, size_t n)
{
	assert_true(im->n + n <= sizeof(im->b));
	memcpy(im->b + im->n, p, n);
	im->n += n;
}

static void put_u32(struct img *im, uint32_t v) { put(im, &v, 4); }
static void put_u64(struct img *im, uint64_t v) { put(im, &v, 8); }

static void put_str(struct img *im, const char *s, size_t len)
{
	put_u64(im, len);
	put(im, s, len);
}

static void put_key(struct img *im, const char *key, enum gguf_vtype t)
{
	put_str(im, key, strlen(key));
	put_u32(im, (uint32_t)t);
}

/* A llama model without head_count_kv, key_length or a context length,
 * whose tokens carry terminal escapes and whose EOS id is out of range. */
static void build_image(struct img *im)
{
	static const char *const tokens[] = { "<s>", "\x1b]0;x\x07", "ok\xff" };
	im->n = 0;
	put(im, "GGUF", 4);
	put_u32(im, 3);
	put_u64(im, 1); /* tensors */
	put_u64(im, 7); /* keys */
	put_key(im, "general.architecture", GGUF_VTYPE_STRING);
	put_str(im, "llama", 5);
	put_key(im, "llama.embedding_length", GGUF_VTYPE_UINT32);
	put_u32(im, 64);
	put_key(im, "llama.attention.head_count", GGUF_VTYPE_UINT32);
	put_u32(im, 8);
	put_key(im, "llama.block_count", GGUF_VTYPE_UINT32);
	put_u32(im, 2);
	put_key(im, "tokenizer.ggml.tokens", GGUF_VTYPE_ARRAY);
	put_u32(im, GGUF_VTYPE_STRING);
	put_u64(im, 3);
	for (int i = 0; i < 3; i++)
		put_str(im, tokens[i], strlen(tokens[i]));
	put_key(im, "tokenizer.ggml.bos_token_id", GGUF_VTYPE_UINT32);
	put_u32(im, 1);
	put_key(im, "tokenizer.ggml.eos_token_id", GGUF_VTYPE_UINT32);
	put_u32(im, 99);
	/* One f32 tensor of 4 x 2. */
	put_str(im, "w", 1);
	put_u32(im, 2);
	put_u64(im, 4);
	put_u64(im, 2);
	put_u32(im, GGML_TYPE_F32);
	put_u64(im, 0);
	while (im->n % GGUF_DEFAULT_ALIGNMENT)
		im->n++;
	im->n += 8 * sizeof(float);
}

static void test_defaults_and_escaping(void **state)
{
	(void)state;
	struct img *im = calloc(1, sizeof(*im));
	assert_non_null(im);
	build_image(im);
	struct gguf *g;
	char err[ERR_LEN];
	assert_int_equal(gguf_open_buffer(&g, im->b, im->n, "img.gguf", err, sizeof(err)), 0);
	struct modelinfo mi;
	modelinfo_fill(&mi, g);
	assert_int_equal(mi.n_params, 8);
	assert_int_equal(mi.n_head_kv, MODELINFO_NONE);
	assert_int_equal(mi.head_dim, 64 / 8);
	/* KV heads default to the heads: (8 + 8) * 8 heads * 2 layers * 2 bytes. */
	assert_int_equal(mi.kv_f16, 512);
	assert_int_equal(mi.kv_f16_ctx, 0);
	assert_int_equal(mi.n_ctx, MODELINFO_NONE);

	struct lines ls = { 0 };
	assert_int_equal(modelinfo_render(&mi, g, 0, collect, &ls), 0);
	for (int i = 0; i < ls.n; i++)
		for (const char *p = ls.l[i]; *p; p++)
			assert_false((unsigned char)*p < 0x20 || *p == 0x7f);
	assert_string_equal(line_with(&ls, "BOS token:"), "BOS token:            1 \"\\x1b]0;x\\x07\"");
	assert_string_equal(line_with(&ls, "EOS token:"), "EOS token:            99 (out of range)");
	assert_string_equal(line_with(&ls, "context length:"), "context length:       -");
	assert_string_equal(line_with(&ls, "KV cache (f16):"), "KV cache (f16):       512 B/token");
	lines_free(&ls);
	gguf_free(g);
	free(im);
}

/* ---- helpers ---- */

static void test_formatting(void **state)
{
	(void)state;
	assert_string_equal(modelinfo_thousands(0).s, "0");
	assert_string_equal(modelinfo_thousands(999).s, "999");
	assert_string_equal(modelinfo_thousands(1234567).s, "1,234,567");
	assert_string_equal(modelinfo_thousands(UINT64_MAX).s, "18,446,744,073,709,551,615");
	assert_string_equal(modelinfo_bytes(1023).s, "1023 B");
	assert_string_equal(modelinfo_bytes(1280).s, "1.25 KiB");
	assert_string_equal(modelinfo_bytes(1185376).s, "1.13 MiB");
	assert_string_equal(modelinfo_bytes(20u * 1024 * 1024).s, "20.0 MiB");
	assert_string_equal(modelinfo_float((double)1e-5f, true).s, "1e-05");
	assert_string_equal(modelinfo_float(10000.0, false).s, "10000");
	assert_string_equal(modelinfo_float(0.1, false).s, "0.1");
	assert_string_equal(modelinfo_ftype_name(2), "MOSTLY_Q4_0");
	assert_string_equal(modelinfo_ftype_name(1024 + 15), "MOSTLY_Q4_K_M");
	assert_null(modelinfo_ftype_name(-1));
	assert_null(modelinfo_ftype_name(99));
}

static void test_utf8(void **state)
{
	(void)state;
	uint32_t cp;
	assert_int_equal(modelinfo_utf8_decode((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(modelinfo_utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	/* Overlong, surrogate, cut short, stray continuation byte. */
	assert_int_equal(modelinfo_utf8_decode((const unsigned char *)"\xc0\xaf", 2, &cp), 0);
	assert_int_equal(modelinfo_utf8_decode((const unsigned char *)"\xed\xa0\x80", 3, &cp), 0);
	assert_int_equal(modelinfo_utf8_decode((const unsigned char *)"\xe2\x82", 2, &cp), 0);
	assert_int_equal(modelinfo_utf8_decode((const unsigned char *)"\x80", 1, &cp), 0);

	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	assert_non_null(f);
	/* At most 5 bytes: the first e-acute (bytes 3..4) fits, the second does not. */
	modelinfo_escape(f, "a\"\n\xc3\xa9\xc3\xa9", 7, 5, true);
	fclose(f);
	assert_string_equal(buf, "\"a\\\"\\n\xc3\xa9...\"");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stories_figures),
		cmocka_unit_test(test_stories_render),
		cmocka_unit_test(test_defaults_and_escaping),
		cmocka_unit_test(test_formatting),
		cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
