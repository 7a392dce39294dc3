/* GGUF reader tests: the shared model files parse with the expected figures,
 * the typed getters report errors instead of aborting, hand-built images
 * exercise every value type and every corruption the reader must reject,
 * and truncated or bit-flipped copies of a real model fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"

#include "testutil.h"

/* Name given to in-memory images; every error message must contain it. */
#define IMG_NAME "img.gguf"
#define ERR_LEN 512
/* Truncations step one byte at a time over this many leading bytes, then
 * by TRUNC_STRIDE up to the data section, then by TRUNC_DATA_STRIDE. */
#define TRUNC_DENSE 4096
#define TRUNC_STRIDE 7
#define TRUNC_DATA_STRIDE 4093
/* Patterns XORed into each byte of the metadata by the corruption test. */
static const uint8_t FLIP_PATTERNS[] = { 0x01, 0x80, 0xff };
/* Golden figures of stories260K.gguf (see ../shared/models/README.md). */
#define STORIES_TENSORS 48
#define STORIES_PARAMS 292800
#define STORIES_VOCAB 512

/* ---- shared files ---- */

/* Reads every value of v through every accessor, recursing into arrays, so
 * a sanitizer sees any bad pointer the parser let through. */
static uint64_t walk_value(const struct gguf_value *v)
{
	uint64_t h = (uint64_t)gguf_value_type(v);
	h += (uint64_t)gguf_value_i64(v) + gguf_value_u64(v) + (uint64_t)gguf_value_bool(v);
	double f = gguf_value_f64(v);
	h += isfinite(f) ? (uint64_t)(int64_t)fmod(f, 1e6) : 1;
	size_t len;
	const char *s = gguf_value_str(v, &len);
	if (s) {
		assert_int_equal(s[len], 0);
		h += len ? (unsigned char)s[0] + (unsigned char)s[len - 1] : 0;
	}
	uint64_t n = gguf_value_arr_len(v);
	enum gguf_vtype et = gguf_value_arr_type(v);
	const void *data = gguf_value_arr_data(v);
	for (uint64_t i = 0; i < n; i++) {
		const struct gguf_value *item = gguf_value_arr_item(v, i);
		if (et == GGUF_VTYPE_STRING || et == GGUF_VTYPE_ARRAY) {
			assert_non_null(item);
			assert_null(data);
			h += walk_value(item);
			const char *si = gguf_value_arr_str(v, i, &len);
			if (et == GGUF_VTYPE_STRING) {
				assert_non_null(si);
				assert_int_equal(si[len], 0);
			}
		} else {
			assert_non_null(item);
			assert_int_equal(gguf_value_type(item), et);
			assert_non_null(data);
			h += walk_value(item);
			h += (uint64_t)gguf_value_arr_i64(v, i);
			double x = gguf_value_arr_f64(v, i);
			h += isfinite(x) ? 1 : 2;
		}
	}
	return h;
}

/* Walks all metadata and touches the first and last byte of every tensor. */
static uint64_t walk_all(const struct gguf *g)
{
	uint64_t h = 0;
	for (int64_t i = 0; i < gguf_n_kv(g); i++) {
		const char *key = gguf_kv_key(g, i);
		assert_non_null(key);
		assert_int_equal(gguf_find_key(g, key), i);
		h += walk_value(gguf_kv_value(g, i));
	}
	for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		assert_non_null(t);
		assert_ptr_equal(gguf_find_tensor(g, t->name), t);
		assert_true(t->n_dims >= 1 && t->n_dims <= GGUF_MAX_DIMS);
		assert_int_equal(t->offset % gguf_alignment(g), 0);
		if (t->size) {
			const uint8_t *d = t->data;
			h += d[0] + d[t->size - 1];
		}
	}
	return h;
}

/* Every GGUF file under models/, models/vocab and models/legacy. */
static void test_shared_files_parse(void **state)
{
	TU_NEED_SHARED();
	static const char *const dirs[] = { "", "vocab", "legacy" };
	int n_files = 0;
	bool seen_version[4] = { false };
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char dpath[4096];
		tu_model_path(dpath, sizeof(dpath), dirs[d]);
		DIR *dir = opendir(dpath);
		assert_non_null(dir);
		for (struct dirent *e; (e = readdir(dir));) {
			if (!strstr(e->d_name, ".gguf") || strstr(e->d_name, ".inp") || strstr(e->d_name, ".out"))
				continue;
			char p[8192];
			snprintf(p, sizeof(p), "%s/%s", dpath, e->d_name);
			for (int flags = 0; flags <= GGUF_OPEN_NO_MMAP; flags += GGUF_OPEN_NO_MMAP) {
				struct gguf *g;
				char err[ERR_LEN] = "";
				int rc = gguf_open(&g, p, flags, err, sizeof(err));
				if (rc)
					print_error("%s: %s\n", p, err);
				assert_int_equal(rc, 0);
				assert_true(gguf_version(g) >= 1 && gguf_version(g) <= 3);
				seen_version[gguf_version(g)] = true;
				assert_int_equal(gguf_is_mapped(g), flags == 0);
				assert_true(gguf_n_kv(g) > 0);
				enum gguf_vtype et;
				uint64_t n;
				assert_int_equal(gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n), 0);
				assert_int_equal(et, GGUF_VTYPE_STRING);
				assert_true(n > 0);
				walk_all(g);
				gguf_free(g);
			}
			n_files++;
		}
		closedir(dir);
	}
	assert_true(n_files >= 15);
	assert_true(seen_version[1] && seen_version[2] && seen_version[3]);
}

static void test_stories_figures(void **state)
{
	char p[4096];
	TU_NEED_MODEL(p, "stories260K.gguf");
	struct gguf *g;
	char err[ERR_LEN];
	assert_int_equal(gguf_open(&g, p, 0, err, sizeof(err)), 0);
	assert_int_equal(gguf_version(g), 3);
	assert_int_equal(gguf_n_tensors(g), STORIES_TENSORS);
	int64_t params = 0;
	for (int64_t i = 0; i < gguf_n_tensors(g); i++)
		params += gguf_tensor(g, i)->n_elements;
	assert_int_equal(params, STORIES_PARAMS);

	uint32_t u;
	int64_t i64;
	assert_int_equal(gguf_get_u32(g, "llama.block_count", &u), 0);
	assert_int_equal(u, 5);
	assert_int_equal(gguf_get_u32(g, "llama.attention.head_count", &u), 0);
	assert_int_equal(u, 8);
	assert_int_equal(gguf_get_i64(g, "llama.attention.head_count_kv", &i64), 0);
	assert_int_equal(i64, 4);
	assert_int_equal(gguf_get_u32(g, "llama.context_length", &u), 0);
	assert_int_equal(u, 2048);
	assert_int_equal(gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &u), 0);
	assert_int_equal(u, 1);
	float eps;
	assert_int_equal(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &eps), 0);
	assert_float_equal(eps, 1e-5f, 1e-12f);
	const char *s;
	size_t len;
	assert_int_equal(gguf_get_str(g, "general.architecture", &s, &len), 0);
	assert_string_equal(s, "llama");
	assert_int_equal(len, 5);

	enum gguf_vtype et;
	uint64_t n;
	assert_int_equal(gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n), 0);
	assert_int_equal(et, GGUF_VTYPE_STRING);
	assert_int_equal(n, STORIES_VOCAB);
	const struct gguf_value *tok = gguf_get(g, "tokenizer.ggml.tokens");
	assert_string_equal(gguf_value_arr_str(tok, 1, NULL), "<s>");
	assert_string_equal(gguf_value_arr_str(tok, 2, NULL), "</s>");
	assert_null(gguf_value_arr_str(tok, STORIES_VOCAB, NULL));
	const struct gguf_value *scores = gguf_get(g, "tokenizer.ggml.scores");
	assert_non_null(scores);
	assert_int_equal(gguf_value_arr_type(scores), GGUF_VTYPE_FLOAT32);
	assert_non_null(gguf_value_arr_data(scores));
	assert_int_equal(gguf_value_arr_len(scores), STORIES_VOCAB);

	/* Typed getters: wrong types and missing keys are errors, never aborts. */
	assert_int_equal(gguf_get_str(g, "llama.block_count", &s, NULL), LT_E_TYPE);
	assert_int_equal(gguf_get_i64(g, "general.architecture", &i64), LT_E_TYPE);
	assert_int_equal(gguf_get_u32(g, "tokenizer.ggml.tokens", &u), LT_E_TYPE);
	assert_int_equal(gguf_get_f32(g, "llama.block_count", &eps), LT_E_TYPE);
	assert_int_equal(gguf_get_bool(g, "llama.block_count", &(bool){ 0 }), LT_E_TYPE);
	assert_int_equal(gguf_get_arr(g, "llama.block_count", &et, &n), LT_E_TYPE);
	assert_int_equal(gguf_get_u32(g, "no.such.key", &u), LT_E_NOTFOUND);
	assert_int_equal(gguf_get_str(g, "no.such.key", &s, NULL), LT_E_NOTFOUND);
	assert_int_equal(gguf_get_f32(g, "no.such.key", &eps), LT_E_NOTFOUND);
	assert_null(gguf_get(g, "no.such.key"));
	assert_int_equal(gguf_find_key(g, "no.such.key"), -1);
	assert_null(gguf_kv_key(g, -1));
	assert_null(gguf_kv_key(g, gguf_n_kv(g)));

	const struct gguf_tensor *t = gguf_find_tensor(g, "token_embd.weight");
	assert_non_null(t);
	assert_int_equal(t->type, GGML_TYPE_F32);
	assert_int_equal(t->n_dims, 2);
	assert_int_equal(t->ne[0], 64);
	assert_int_equal(t->ne[1], STORIES_VOCAB);
	assert_int_equal(t->size, 64 * STORIES_VOCAB * 4);
	assert_null(gguf_find_tensor(g, "no.such.tensor"));
	assert_null(gguf_tensor(g, STORIES_TENSORS));
	walk_all(g);

	/* The copy read with NO_MMAP holds the same bytes. */
	struct gguf *g2;
	assert_int_equal(gguf_open(&g2, p, GGUF_OPEN_NO_MMAP, err, sizeof(err)), 0);
	assert_false(gguf_is_mapped(g2));
	assert_true(gguf_is_mapped(g));
	for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *a = gguf_tensor(g, i), *b = gguf_tensor(g2, i);
		assert_string_equal(a->name, b->name);
		assert_int_equal(a->size, b->size);
		assert_memory_equal(a->data, b->data, a->size);
	}
	gguf_free(g2);
	gguf_free(g);
}

/* ---- in-memory images ---- */

/* A growing byte buffer that writes GGUF fields; version 1 uses 32-bit
 * counts and lengths. */
struct img {
	uint8_t *p;
	size_t n, cap;
	uint32_t version;
};

static void img_put(struct img *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void img_u32(struct img *b, uint32_t v) { img_put(b, &v, 4); }
static void img_u64(struct img *b, uint64_t v) { img_put(b, &v, 8); }

static void img_count(struct img *b, uint64_t v)
{
	if (b->version == 1)
		img_u32(b, (uint32_t)v);
	else
		img_u64(b, v);
}

static void img_strn(struct img *b, const char *s, size_t len)
{
	img_count(b, len);
	img_put(b, s, len);
}

static void img_str(struct img *b, const char *s) { img_strn(b, s, strlen(s)); }

static void img_header(struct img *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
	b->version = version;
	img_put(b, "GGUF", 4);
	img_u32(b, version);
	img_count(b, n_tensors);
	img_count(b, n_kv);
}

/* A key and its value type; the caller writes the value. */
static void img_key(struct img *b, const char *key, enum gguf_vtype t)
{
	img_str(b, key);
	img_u32(b, t);
}

static void img_kv_u32(struct img *b, const char *key, uint32_t v)
{
	img_key(b, key, GGUF_VTYPE_UINT32);
	img_u32(b, v);
}

static void img_kv_str(struct img *b, const char *key, const char *v)
{
	img_key(b, key, GGUF_VTYPE_STRING);
	img_str(b, v);
}

static void img_tensor(struct img *b, const char *name, uint32_t n_dims, const uint64_t *ne,
		       uint32_t type, uint64_t offset)
{
	img_str(b, name);
	img_u32(b, n_dims);
	for (uint32_t d = 0; d < n_dims; d++)
		img_count(b, ne[d]);
	img_u32(b, type);
	img_u64(b, offset);
}

static void img_align(struct img *b, size_t align)
{
	static const uint8_t zero[64];
	while (b->n % align)
		img_put(b, zero, 1);
}

/* Appends n bytes 0, 1, 2, ... so tensor contents are recognisable. */
static void img_data(struct img *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)i;
		img_put(b, &c, 1);
	}
}

static int img_open(struct img *b, struct gguf **g, char *err)
{
	err[0] = 0;
	return gguf_open_buffer(g, b->p, b->n, IMG_NAME, err, ERR_LEN);
}

/* Asserts that the image fails with code and a message naming the image
 * and containing each of the given (NULL-terminated) fragments. */
static void img_expect_fail(struct img *b, int code, ...)
{
	struct gguf *g = (struct gguf *)1;
	char err[ERR_LEN];
	int rc = img_open(b, &g, err);
	if (rc != code)
		print_error("expected %s, got %d: %s\n", lt_strerror(code), rc, err);
	assert_int_equal(rc, code);
	assert_null(g);
	assert_non_null(strstr(err, IMG_NAME));
	assert_null(strchr(err, '\n'));
	va_list ap;
	va_start(ap, code);
	for (const char *frag; (frag = va_arg(ap, const char *));) {
		if (!strstr(err, frag))
			print_error("message '%s' lacks '%s'\n", err, frag);
		assert_non_null(strstr(err, frag));
	}
	va_end(ap);
	free(b->p);
}

/* A valid image with one key of every type (nested arrays included) and
 * three tensors of different types. */
static void build_everything(struct img *b, uint32_t version)
{
	const uint64_t n_kv = 19;
	memset(b, 0, sizeof(*b));
	img_header(b, version, 3, n_kv);
	img_key(b, "t.u8", GGUF_VTYPE_UINT8);
	img_put(b, &(uint8_t){ 200 }, 1);
	img_key(b, "t.i8", GGUF_VTYPE_INT8);
	img_put(b, &(int8_t){ -100 }, 1);
	img_key(b, "t.u16", GGUF_VTYPE_UINT16);
	img_put(b, &(uint16_t){ 60000 }, 2);
	img_key(b, "t.i16", GGUF_VTYPE_INT16);
	img_put(b, &(int16_t){ -30000 }, 2);
	img_kv_u32(b, "t.u32", 4000000000u);
	img_key(b, "t.i32", GGUF_VTYPE_INT32);
	img_put(b, &(int32_t){ -2000000000 }, 4);
	img_key(b, "t.f32", GGUF_VTYPE_FLOAT32);
	img_put(b, &(float){ 0.25f }, 4);
	img_key(b, "t.bool", GGUF_VTYPE_BOOL);
	img_put(b, &(uint8_t){ 1 }, 1);
	img_kv_str(b, "t.str", "hello");
	img_key(b, "t.u64", GGUF_VTYPE_UINT64);
	img_u64(b, UINT64_MAX);
	img_key(b, "t.i64", GGUF_VTYPE_INT64);
	img_u64(b, (uint64_t)INT64_MIN);
	img_key(b, "t.f64", GGUF_VTYPE_FLOAT64);
	img_put(b, &(double){ -1.5e300 }, 8);
	/* A string with an embedded NUL keeps its full length. */
	img_key(b, "t.nulstr", GGUF_VTYPE_STRING);
	img_strn(b, "a\0b", 3);
	img_key(b, "t.arr_i16", GGUF_VTYPE_ARRAY);
	img_u32(b, GGUF_VTYPE_INT16);
	img_count(b, 3);
	img_put(b, (int16_t[]){ -1, 2, -3 }, 6);
	img_key(b, "t.arr_bool", GGUF_VTYPE_ARRAY);
	img_u32(b, GGUF_VTYPE_BOOL);
	img_count(b, 3);
	img_put(b, (uint8_t[]){ 0, 7, 1 }, 3);
	img_key(b, "t.arr_str", GGUF_VTYPE_ARRAY);
	img_u32(b, GGUF_VTYPE_STRING);
	img_count(b, 2);
	img_str(b, "x");
	img_str(b, "");
	img_key(b, "t.arr_empty", GGUF_VTYPE_ARRAY);
	img_u32(b, GGUF_VTYPE_FLOAT64);
	img_count(b, 0);
	/* [[1.5, 2.5], [["deep"]]]: arrays of arrays of mixed kinds. */
	img_key(b, "t.nested", GGUF_VTYPE_ARRAY);
	img_u32(b, GGUF_VTYPE_ARRAY);
	img_count(b, 2);
	img_u32(b, GGUF_VTYPE_FLOAT32);
	img_count(b, 2);
	img_put(b, (float[]){ 1.5f, 2.5f }, 8);
	img_u32(b, GGUF_VTYPE_ARRAY);
	img_count(b, 1);
	img_u32(b, GGUF_VTYPE_STRING);
	img_count(b, 1);
	img_str(b, "deep");
	img_kv_u32(b, "general.alignment", 64);
	/* f32 3x2 (24 bytes) at 0, q4_0 64x1 (2 blocks, 36 bytes) at 64,
	 * f16 4 (8 bytes) at 128. */
	img_tensor(b, "a", 2, (uint64_t[]){ 3, 2 }, GGML_TYPE_F32, 0);
	img_tensor(b, "b.q", 2, (uint64_t[]){ 64, 1 }, GGML_TYPE_Q4_0, 64);
	img_tensor(b, "c", 1, (uint64_t[]){ 4 }, GGML_TYPE_F16, 128);
	img_align(b, 64);
	img_data(b, 136);
}

static void check_everything(struct gguf *g, uint32_t version)
{
	assert_int_equal(gguf_version(g), version);
	assert_int_equal(gguf_n_kv(g), 19);
	assert_int_equal(gguf_n_tensors(g), 3);
	assert_int_equal(gguf_alignment(g), 64);
	assert_int_equal(gguf_data_offset(g) % 64, 0);
	assert_false(gguf_is_mapped(g));
	assert_string_equal(gguf_path(g), IMG_NAME);

	int64_t i;
	uint32_t u;
	float f;
	bool bo;
	const char *s;
	size_t len;
	assert_int_equal(gguf_get_i64(g, "t.u8", &i), 0);
	assert_int_equal(i, 200);
	assert_int_equal(gguf_get_i64(g, "t.i8", &i), 0);
	assert_int_equal(i, -100);
	assert_int_equal(gguf_get_i64(g, "t.u16", &i), 0);
	assert_int_equal(i, 60000);
	assert_int_equal(gguf_get_i64(g, "t.i16", &i), 0);
	assert_int_equal(i, -30000);
	assert_int_equal(gguf_get_u32(g, "t.u32", &u), 0);
	assert_int_equal(u, 4000000000u);
	assert_int_equal(gguf_get_i64(g, "t.i32", &i), 0);
	assert_int_equal(i, -2000000000);
	assert_int_equal(gguf_get_f32(g, "t.f32", &f), 0);
	assert_true(f == 0.25f);
	assert_int_equal(gguf_get_bool(g, "t.bool", &bo), 0);
	assert_true(bo);
	assert_int_equal(gguf_get_str(g, "t.str", &s, &len), 0);
	assert_string_equal(s, "hello");
	assert_int_equal(len, 5);
	assert_int_equal(gguf_value_u64(gguf_get(g, "t.u64")), UINT64_MAX);
	assert_int_equal(gguf_get_i64(g, "t.i64", &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(gguf_get_f32(g, "t.f64", &f), 0);
	assert_true(gguf_value_f64(gguf_get(g, "t.f64")) == -1.5e300);
	assert_int_equal(gguf_get_str(g, "t.nulstr", &s, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "a\0b", 4);

	/* Range and type errors of the typed getters. */
	assert_int_equal(gguf_get_u32(g, "t.i8", &u), LT_E_RANGE);
	assert_int_equal(gguf_get_i64(g, "t.u64", &i), LT_E_RANGE);
	assert_int_equal(gguf_get_u32(g, "t.u64", &u), LT_E_RANGE);
	assert_int_equal(gguf_get_i64(g, "t.f32", &i), LT_E_TYPE);
	assert_int_equal(gguf_get_f32(g, "t.u8", &f), LT_E_TYPE);
	assert_int_equal(gguf_get_bool(g, "t.u8", &bo), LT_E_TYPE);
	assert_int_equal(gguf_get_str(g, "t.arr_str", &s, &len), LT_E_TYPE);
	assert_int_equal(gguf_get_arr(g, "t.str", NULL, NULL), LT_E_TYPE);
	assert_int_equal(gguf_get_arr(g, "t.missing", NULL, NULL), LT_E_NOTFOUND);
	assert_int_equal(gguf_get_bool(g, "t.missing", &bo), LT_E_NOTFOUND);

	/* Generic accessors convert or return neutral values, never abort. */
	const struct gguf_value *v = gguf_get(g, "t.f64");
	assert_int_equal(gguf_value_type(v), GGUF_VTYPE_FLOAT64);
	assert_true(gguf_value_i64(v) == INT64_MIN); /* clamped, not undefined */
	assert_null(gguf_value_str(v, &len));
	assert_int_equal(len, 0);
	assert_int_equal(gguf_value_arr_len(v), 0);
	assert_null(gguf_value_arr_item(v, 0));
	assert_null(gguf_value_arr_data(v));
	assert_int_equal(gguf_value_i64(gguf_get(g, "t.str")), 0);
	assert_true(gguf_value_f64(gguf_get(g, "t.i8")) == -100.0);
	assert_true(gguf_value_bool(gguf_get(g, "t.u8")));

	enum gguf_vtype et;
	uint64_t n;
	assert_int_equal(gguf_get_arr(g, "t.arr_i16", &et, &n), 0);
	assert_int_equal(et, GGUF_VTYPE_INT16);
	assert_int_equal(n, 3);
	v = gguf_get(g, "t.arr_i16");
	const int16_t *d16 = gguf_value_arr_data(v);
	assert_non_null(d16);
	assert_int_equal(d16[0], -1);
	assert_int_equal(d16[2], -3);
	assert_int_equal(gguf_value_arr_i64(v, 1), 2);
	assert_true(gguf_value_arr_f64(v, 2) == -3.0);
	assert_int_equal(gguf_value_arr_i64(v, 3), 0); /* out of range */
	assert_int_equal(gguf_value_i64(gguf_value_arr_item(v, 0)), -1);
	assert_null(gguf_value_arr_item(v, 3));
	assert_null(gguf_value_arr_str(v, 0, NULL));

	v = gguf_get(g, "t.arr_bool");
	const bool *db = gguf_value_arr_data(v);
	assert_non_null(db);
	assert_false(db[0]);
	assert_true(db[1]);
	assert_true(db[2]);

	v = gguf_get(g, "t.arr_str");
	assert_int_equal(gguf_value_arr_type(v), GGUF_VTYPE_STRING);
	assert_string_equal(gguf_value_arr_str(v, 0, &len), "x");
	assert_int_equal(len, 1);
	assert_string_equal(gguf_value_arr_str(v, 1, &len), "");
	assert_int_equal(len, 0);
	assert_null(gguf_value_arr_str(v, 2, NULL));
	assert_null(gguf_value_arr_data(v));

	v = gguf_get(g, "t.arr_empty");
	assert_int_equal(gguf_value_arr_type(v), GGUF_VTYPE_FLOAT64);
	assert_int_equal(gguf_value_arr_len(v), 0);

	v = gguf_get(g, "t.nested");
	assert_int_equal(gguf_value_arr_type(v), GGUF_VTYPE_ARRAY);
	assert_int_equal(gguf_value_arr_len(v), 2);
	const struct gguf_value *a0 = gguf_value_arr_item(v, 0), *a1 = gguf_value_arr_item(v, 1);
	assert_int_equal(gguf_value_arr_type(a0), GGUF_VTYPE_FLOAT32);
	assert_true(gguf_value_arr_f64(a0, 1) == 2.5);
	assert_int_equal(gguf_value_arr_type(a1), GGUF_VTYPE_ARRAY);
	const struct gguf_value *deep = gguf_value_arr_item(a1, 0);
	assert_string_equal(gguf_value_arr_str(deep, 0, NULL), "deep");

	const struct gguf_tensor *t = gguf_find_tensor(g, "b.q");
	assert_non_null(t);
	assert_int_equal(t->type, GGML_TYPE_Q4_0);
	assert_int_equal(t->n_elements, 64);
	assert_int_equal(t->size, 36);
	assert_int_equal(t->ne[1], 1);
	assert_int_equal(t->ne[2], 1);
	assert_int_equal(((const uint8_t *)t->data)[0], 64);
	t = gguf_tensor(g, 0);
	assert_string_equal(t->name, "a");
	assert_int_equal(t->size, 24);
	assert_int_equal(((const uint8_t *)t->data)[23], 23);
	t = gguf_find_tensor(g, "c");
	assert_int_equal(t->size, 8);
	assert_int_equal(((const uint8_t *)t->data)[0], 128);
	walk_all(g);
}

static void test_image_every_type(void **state)
{
	for (uint32_t version = 1; version <= 3; version++) {
		struct img b;
		build_everything(&b, version);
		struct gguf *g;
		char err[ERR_LEN];
		int rc = img_open(&b, &g, err);
		if (rc)
			print_error("v%u: %s\n", version, err);
		assert_int_equal(rc, 0);
		check_everything(g, version);
		gguf_free(g);
		free(b.p);
	}
}

/* The smallest files: no keys, no tensors; and a NULL name. */
static void test_image_empty(void **state)
{
	struct img b = { 0 };
	img_header(&b, 3, 0, 0);
	struct gguf *g;
	char err[ERR_LEN];
	assert_int_equal(img_open(&b, &g, err), 0);
	assert_int_equal(gguf_n_kv(g), 0);
	assert_int_equal(gguf_n_tensors(g), 0);
	assert_int_equal(gguf_alignment(g), GGUF_DEFAULT_ALIGNMENT);
	assert_null(gguf_get(g, "x"));
	assert_null(gguf_find_tensor(g, "x"));
	gguf_free(g);
	assert_int_equal(gguf_open_buffer(&g, b.p, 3, NULL, err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "(buffer)"));
	/* A NULL or zero-length message buffer is allowed. */
	assert_int_equal(gguf_open_buffer(&g, b.p, 3, "x", NULL, 0), LT_E_FORMAT);
	free(b.p);
}

static void test_bad_header(void **state)
{
	struct img b = { 0 };
	img_header(&b, 3, 0, 0);
	b.p[0] = 'X';
	img_expect_fail(&b, LT_E_FORMAT, "magic", NULL);

	memset(&b, 0, sizeof(b));
	img_header(&b, 0, 0, 0);
	img_expect_fail(&b, LT_E_UNSUPPORTED, "version", NULL);
	memset(&b, 0, sizeof(b));
	img_header(&b, 4, 0, 0);
	img_expect_fail(&b, LT_E_UNSUPPORTED, "version", "4", NULL);
	/* Version 3 written big-endian. */
	memset(&b, 0, sizeof(b));
	img_header(&b, 0x03000000u, 0, 0);
	img_expect_fail(&b, LT_E_UNSUPPORTED, "big-endian", NULL);

	memset(&b, 0, sizeof(b));
	img_put(&b, "GGUF", 4);
	img_expect_fail(&b, LT_E_FORMAT, "version", NULL);
	memset(&b, 0, sizeof(b));
	img_put(&b, "GGUF\3\0\0\0\0\0", 10);
	img_expect_fail(&b, LT_E_FORMAT, "tensor count", NULL);
}

static void test_huge_counts(void **state)
{
	struct img b = { 0 };
	img_header(&b, 3, 0, 1ull << 60);
	img_kv_u32(&b, "a", 1);
	img_expect_fail(&b, LT_E_FORMAT, "metadata key count", NULL);

	memset(&b, 0, sizeof(b));
	img_header(&b, 3, UINT64_MAX, 0);
	img_expect_fail(&b, LT_E_FORMAT, "tensor count", NULL);

	/* An array whose count exceeds what the file could hold. */
	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 0, 1);
	img_key(&b, "big.array", GGUF_VTYPE_ARRAY);
	img_u32(&b, GGUF_VTYPE_UINT64);
	img_count(&b, 1ull << 61);
	img_u64(&b, 0);
	img_expect_fail(&b, LT_E_FORMAT, "big.array", "array of", NULL);

	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 0, 1);
	img_key(&b, "big.strings", GGUF_VTYPE_ARRAY);
	img_u32(&b, GGUF_VTYPE_STRING);
	img_count(&b, UINT64_MAX);
	img_expect_fail(&b, LT_E_FORMAT, "big.strings", NULL);
}

static void test_bad_strings(void **state)
{
	/* Key length past the end of the file. */
	struct img b = { 0 };
	img_header(&b, 3, 0, 1);
	img_count(&b, 1000);
	img_put(&b, "abcdefgh", 8);
	img_u32(&b, 0);
	img_u32(&b, 0);
	img_expect_fail(&b, LT_E_FORMAT, "metadata key 0", "string length", NULL);

	/* A string value whose length runs past the end. */
	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 0, 1);
	img_key(&b, "general.name", GGUF_VTYPE_STRING);
	img_count(&b, UINT64_MAX);
	img_put(&b, "short", 5);
	img_expect_fail(&b, LT_E_FORMAT, "general.name", "string length", NULL);

	/* Empty key and a key holding a NUL. */
	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 0, 1);
	img_kv_u32(&b, "", 1);
	img_expect_fail(&b, LT_E_FORMAT, "metadata key 0", NULL);
	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 0, 1);
	img_strn(&b, "a\0b", 3);
	img_u32(&b, GGUF_VTYPE_UINT8);
	img_put(&b, "x", 1);
	img_expect_fail(&b, LT_E_FORMAT, "metadata key 0", NULL);

	/* A scalar cut off by the end of the file. */
	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 0, 1);
	img_key(&b, "cut.u64", GGUF_VTYPE_UINT64);
	img_u32(&b, 7);
	img_expect_fail(&b, LT_E_FORMAT, "cut.u64", "needs 8 bytes", NULL);
}

static void test_bad_value_types(void **state)
{
	struct img b = { 0 };
	img_header(&b, 3, 0, 1);
	img_key(&b, "odd.type", 13);
	img_u32(&b, 0);
	img_expect_fail(&b, LT_E_FORMAT, "odd.type", "unknown value type 13", NULL);

	/* Control characters of a key name do not reach the message. */
	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 0, 1);
	img_key(&b, "evil\n\x1b[2Jkey", 13);
	img_u32(&b, 0);
	img_expect_fail(&b, LT_E_FORMAT, "evil??[2Jkey", NULL);

	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 0, 1);
	img_key(&b, "odd.elem", GGUF_VTYPE_ARRAY);
	img_u32(&b, 0xffffffffu);
	img_count(&b, 0);
	img_expect_fail(&b, LT_E_FORMAT, "odd.elem", "unknown array element type", NULL);

	/* Nested arrays: eight levels are accepted, nine refused. */
	for (int depth = 7; depth <= 10; depth++) {
		memset(&b, 0, sizeof(b));
		img_header(&b, 3, 0, 1);
		img_key(&b, "deep.arr", GGUF_VTYPE_ARRAY);
		for (int d = 1; d < depth; d++) {
			img_u32(&b, GGUF_VTYPE_ARRAY);
			img_count(&b, 1);
		}
		img_u32(&b, GGUF_VTYPE_UINT8);
		img_count(&b, 0);
		if (depth > 8) {
			img_expect_fail(&b, LT_E_FORMAT, "deep.arr", "nested", NULL);
		} else {
			struct gguf *g;
			char err[ERR_LEN];
			assert_int_equal(img_open(&b, &g, err), 0);
			walk_all(g);
			gguf_free(g);
			free(b.p);
		}
	}
}

static void test_duplicate_key(void **state)
{
	struct img b = { 0 };
	img_header(&b, 3, 0, 3);
	img_kv_u32(&b, "dup.key", 1);
	img_kv_u32(&b, "other", 1);
	img_kv_str(&b, "dup.key", "again");
	img_expect_fail(&b, LT_E_FORMAT, "dup.key", "duplicate", NULL);
}

static void test_bad_alignment(void **state)
{
	static const uint32_t bad[] = { 0, 3, 48 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct img b = { 0 };
		img_header(&b, 3, 0, 1);
		img_kv_u32(&b, "general.alignment", bad[i]);
		img_expect_fail(&b, LT_E_FORMAT, "general.alignment", "power of two", NULL);
	}
	struct img b = { 0 };
	img_header(&b, 3, 0, 1);
	img_kv_str(&b, "general.alignment", "32");
	img_expect_fail(&b, LT_E_FORMAT, "general.alignment", "type string", NULL);
	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 0, 1);
	img_key(&b, "general.alignment", GGUF_VTYPE_UINT64);
	img_u64(&b, 32);
	img_expect_fail(&b, LT_E_FORMAT, "general.alignment", "uint64", NULL);
}

/* A file with one tensor info (f32, dims ne) at offset and data bytes. */
static void build_one_tensor(struct img *b, const char *name, uint32_t n_dims, const uint64_t *ne,
			     uint32_t type, uint64_t offset, size_t data)
{
	memset(b, 0, sizeof(*b));
	img_header(b, 3, 1, 1);
	img_kv_str(b, "general.architecture", "llama");
	img_tensor(b, name, n_dims, ne, type, offset);
	img_align(b, GGUF_DEFAULT_ALIGNMENT);
	img_data(b, data);
}

static void test_bad_tensor_info(void **state)
{
	struct img b;
	build_one_tensor(&b, "w.type", 1, (uint64_t[]){ 32 }, 4, 0, 128); /* a retired id */
	img_expect_fail(&b, LT_E_FORMAT, "w.type", "unknown tensor type 4", NULL);
	build_one_tensor(&b, "w.type", 1, (uint64_t[]){ 32 }, 999, 0, 128);
	img_expect_fail(&b, LT_E_FORMAT, "w.type", "unknown tensor type 999", NULL);

	build_one_tensor(&b, "w.dims0", 0, NULL, GGML_TYPE_F32, 0, 128);
	img_expect_fail(&b, LT_E_FORMAT, "w.dims0", "0 dimensions", NULL);
	build_one_tensor(&b, "w.dims5", 5, (uint64_t[]){ 1, 1, 1, 1, 1 }, GGML_TYPE_F32, 0, 128);
	img_expect_fail(&b, LT_E_FORMAT, "w.dims5", "5 dimensions", NULL);

	/* Element counts that overflow int64, and a dim above INT64_MAX. */
	build_one_tensor(&b, "w.huge", 2, (uint64_t[]){ 1ull << 40, 1ull << 40 }, GGML_TYPE_F32, 0, 128);
	img_expect_fail(&b, LT_E_FORMAT, "w.huge", "overflow", NULL);
	build_one_tensor(&b, "w.huge", 4, (uint64_t[]){ 1ull << 20, 1ull << 20, 1ull << 20, 1ull << 20 },
			 GGML_TYPE_F32, 0, 128);
	img_expect_fail(&b, LT_E_FORMAT, "w.huge", "overflow", NULL);
	build_one_tensor(&b, "w.neg", 1, (uint64_t[]){ 1ull << 63 }, GGML_TYPE_F32, 0, 128);
	img_expect_fail(&b, LT_E_FORMAT, "w.neg", "overflow", NULL);
	/* 2^61 elements fit int64 but 2^64 bytes of f64 do not fit 64 bits. */
	build_one_tensor(&b, "w.bytes", 2, (uint64_t[]){ 1ull << 31, 1ull << 30 }, GGML_TYPE_F64, 0, 128);
	img_expect_fail(&b, LT_E_FORMAT, "w.bytes", "overflow", NULL);

	/* A row that is not a whole number of quant blocks. */
	build_one_tensor(&b, "w.rows", 1, (uint64_t[]){ 33 }, GGML_TYPE_Q4_0, 0, 128);
	img_expect_fail(&b, LT_E_FORMAT, "w.rows", "block size", NULL);

	build_one_tensor(&b, "w.misaligned", 1, (uint64_t[]){ 4 }, GGML_TYPE_F32, 4, 128);
	img_expect_fail(&b, LT_E_FORMAT, "w.misaligned", "alignment", NULL);

	build_one_tensor(&b, "w.eof", 1, (uint64_t[]){ 64 }, GGML_TYPE_F32, 0, 255);
	img_expect_fail(&b, LT_E_FORMAT, "w.eof", "beyond end of file", NULL);
	build_one_tensor(&b, "w.far", 1, (uint64_t[]){ 1 }, GGML_TYPE_F32, 1ull << 62, 64);
	img_expect_fail(&b, LT_E_FORMAT, "w.far", "beyond end of file", NULL);
	/* Exactly enough data is fine. */
	build_one_tensor(&b, "w.ok", 1, (uint64_t[]){ 64 }, GGML_TYPE_F32, 0, 256);
	struct gguf *g;
	char err[ERR_LEN];
	assert_int_equal(img_open(&b, &g, err), 0);
	assert_int_equal(gguf_tensor(g, 0)->size, 256);
	gguf_free(g);
	free(b.p);

	/* A tensor name running past the end of the file. */
	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 1, 0);
	img_count(&b, 1ull << 40);
	img_put(&b, "name", 4);
	img_put(&b, (uint8_t[32]){ 0 }, 32);
	img_expect_fail(&b, LT_E_FORMAT, "tensor 0 name", "string length", NULL);
}

static void test_tensor_conflicts(void **state)
{
	/* 16 f32 (64 bytes) at 0 and at 32 overlap. */
	struct img b = { 0 };
	img_header(&b, 3, 2, 0);
	img_tensor(&b, "first", 1, (uint64_t[]){ 16 }, GGML_TYPE_F32, 0);
	img_tensor(&b, "second", 1, (uint64_t[]){ 16 }, GGML_TYPE_F32, 32);
	img_align(&b, 32);
	img_data(&b, 96);
	img_expect_fail(&b, LT_E_FORMAT, "second", "overlaps", "first", NULL);

	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 2, 0);
	img_tensor(&b, "twin", 1, (uint64_t[]){ 8 }, GGML_TYPE_F32, 0);
	img_tensor(&b, "twin", 1, (uint64_t[]){ 8 }, GGML_TYPE_F32, 32);
	img_align(&b, 32);
	img_data(&b, 64);
	img_expect_fail(&b, LT_E_FORMAT, "twin", "duplicate", NULL);

	/* Adjacent tensors, in reverse file order, do not overlap. */
	memset(&b, 0, sizeof(b));
	img_header(&b, 3, 2, 0);
	img_tensor(&b, "hi", 1, (uint64_t[]){ 8 }, GGML_TYPE_F32, 32);
	img_tensor(&b, "lo", 1, (uint64_t[]){ 8 }, GGML_TYPE_F32, 0);
	img_align(&b, 32);
	img_data(&b, 64);
	struct gguf *g;
	char err[ERR_LEN];
	assert_int_equal(img_open(&b, &g, err), 0);
	assert_int_equal(((const uint8_t *)gguf_find_tensor(g, "hi")->data)[0], 32);
	gguf_free(g);
	free(b.p);
}

/* ---- a real file cut short or corrupted ---- */

static void test_truncations(void **state)
{
	char p[4096];
	TU_NEED_MODEL(p, "stories260K.gguf");
	size_t size;
	uint8_t *full = (uint8_t *)tu_read_file(p, &size);
	assert_non_null(full);
	struct gguf *g;
	char err[ERR_LEN];
	assert_int_equal(gguf_open_buffer(&g, full, size, "stories.gguf", err, sizeof(err)), 0);
	uint64_t data_offset = gguf_data_offset(g), needed = 0;
	for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		if (data_offset + t->offset + t->size > needed)
			needed = data_offset + t->offset + t->size;
	}
	gguf_free(g);
	assert_true(needed <= size);

	int n_cuts = 0;
	size_t step;
	for (size_t cut = 0; cut < size; cut += step) {
		step = cut < TRUNC_DENSE ? 1 : cut < data_offset + 64 ? TRUNC_STRIDE : TRUNC_DATA_STRIDE;
		/* A private copy so ASan sees any read past the cut. */
		uint8_t *copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, full, cut);
		err[0] = 0;
		int rc = gguf_open_buffer(&g, copy, cut, "stories.gguf", err, sizeof(err));
		if (cut >= needed) {
			assert_int_equal(rc, 0);
			walk_all(g);
			gguf_free(g);
		} else {
			if (rc == 0)
				print_error("truncation at %zu parsed\n", cut);
			assert_true(rc < 0);
			assert_null(g);
			assert_non_null(strstr(err, "stories.gguf"));
		}
		free(copy);
		n_cuts++;
	}
	assert_true(n_cuts > TRUNC_DENSE);
	free(full);
}

/* Where the tensor-info table starts: the tensor infos of g are re-encoded
 * to learn their total length, which ends at data_offset minus padding. */
static size_t tensor_info_start(const struct gguf *g, const uint8_t *buf)
{
	size_t len = 0;
	for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		len += 8 + strlen(t->name) + 4 + 8 * (size_t)t->n_dims + 4 + 8;
	}
	const struct gguf_tensor *t0 = gguf_tensor(g, 0);
	size_t name_len = strlen(t0->name);
	for (size_t pad = 0; pad < gguf_alignment(g); pad++) {
		size_t start = gguf_data_offset(g) - pad - len;
		uint64_t n;
		memcpy(&n, buf + start, 8);
		if (n == name_len && memcmp(buf + start + 8, t0->name, name_len) == 0)
			return start;
	}
	fail_msg("tensor-info table not found");
	return 0;
}

/* XOR patterns into every byte of the header and the tensor-info table
 * (and one pattern, rotating, into each metadata byte): each copy must
 * parse or fail cleanly. */
static void test_byte_flips(void **state)
{
	char p[4096];
	TU_NEED_MODEL(p, "stories260K.gguf");
	size_t size;
	uint8_t *buf = (uint8_t *)tu_read_file(p, &size);
	assert_non_null(buf);
	struct gguf *g;
	char err[ERR_LEN];
	assert_int_equal(gguf_open_buffer(&g, buf, size, "stories.gguf", err, sizeof(err)), 0);
	size_t meta_end = gguf_data_offset(g);
	size_t tinfo = tensor_info_start(g, buf);
	gguf_free(g);
	const size_t header_end = 24;

	int parsed = 0, failed = 0;
	const size_t n_pat = sizeof(FLIP_PATTERNS);
	for (size_t i = 0; i < meta_end; i++) {
		bool dense = i < header_end || i >= tinfo;
		for (size_t k = dense ? 0 : i % n_pat; k < n_pat; k += dense ? 1 : n_pat) {
			buf[i] ^= FLIP_PATTERNS[k];
			err[0] = 0;
			int rc = gguf_open_buffer(&g, buf, size, "stories.gguf", err, sizeof(err));
			if (rc == 0) {
				walk_all(g);
				gguf_free(g);
				parsed++;
			} else {
				assert_true(rc < 0);
				assert_null(g);
				assert_non_null(strstr(err, "stories.gguf"));
				failed++;
			}
			buf[i] ^= FLIP_PATTERNS[k];
		}
	}
	/* Token texts and values can change freely; structure bytes cannot. */
	assert_true(parsed > 0);
	assert_true(failed > 0);
	free(buf);
}

/* ---- gguf_open on things that are not GGUF files ---- */

static void test_open_errors(void **state)
{
	struct gguf *g = (struct gguf *)1;
	char err[ERR_LEN];
	const char *missing = "/tmp/lt-test-gguf-no-such-file.gguf";
	assert_int_equal(gguf_open(&g, missing, 0, err, sizeof(err)), LT_E_IO);
	assert_null(g);
	assert_non_null(strstr(err, missing));
	assert_non_null(strstr(err, strerror(ENOENT)));

	assert_int_equal(gguf_open(&g, "/tmp", 0, err, sizeof(err)), LT_E_IO);
	assert_non_null(strstr(err, "/tmp"));
	assert_non_null(strstr(err, "directory"));

	char path[] = "/tmp/lt-test-gguf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	for (int flags = 0; flags <= GGUF_OPEN_NO_MMAP; flags += GGUF_OPEN_NO_MMAP) {
		assert_int_equal(gguf_open(&g, path, flags, err, sizeof(err)), LT_E_FORMAT);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, "empty"));
	}
	/* Not a GGUF file, through both the mmap and the read path. */
	assert_int_equal(write(fd, "GGML not a gguf file", 20), 20);
	for (int flags = 0; flags <= GGUF_OPEN_NO_MMAP; flags += GGUF_OPEN_NO_MMAP) {
		assert_int_equal(gguf_open(&g, path, flags, err, sizeof(err)), LT_E_FORMAT);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, "magic"));
	}
	/* A valid image written to disk opens both ways with the same values. */
	struct img b;
	build_everything(&b, 3);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, b.p, b.n, 0), (ssize_t)b.n);
	for (int flags = 0; flags <= GGUF_OPEN_NO_MMAP; flags += GGUF_OPEN_NO_MMAP) {
		assert_int_equal(gguf_open(&g, path, flags | GGUF_OPEN_MLOCK, err, sizeof(err)), 0);
		assert_int_equal(gguf_is_mapped(g), flags == 0);
		assert_int_equal(gguf_file_size(g), b.n);
		assert_string_equal(gguf_path(g), path);
		assert_int_equal(gguf_n_kv(g), 19);
		assert_int_equal(((const uint8_t *)gguf_find_tensor(g, "c")->data)[7], 135);
		gguf_free(g);
	}
	free(b.p);
	close(fd);
	unlink(path);
	gguf_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_files_parse),
		cmocka_unit_test(test_stories_figures),
		cmocka_unit_test(test_image_every_type),
		cmocka_unit_test(test_image_empty),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_huge_counts),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_bad_value_types),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_bad_alignment),
		cmocka_unit_test(test_bad_tensor_info),
		cmocka_unit_test(test_tensor_conflicts),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_byte_flips),
		cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
