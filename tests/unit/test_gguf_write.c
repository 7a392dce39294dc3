/* GGUF writer tests: every file is read back through the reader (engine/gguf.c)
 * and compared value by value and byte by byte. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "gguf_write.h"

#include "testutil.h"

static struct gguf *write_and_open(struct gguf_writer *w, const char *path)
{
	char err[512] = "";
	int rc = gguf_writer_write(w, path, err, sizeof(err));
	if (rc)
		fail_msg("write %s: %s", path, err);
	struct gguf *g = NULL;
	rc = gguf_open(&g, path, 0, err, sizeof(err));
	if (rc)
		fail_msg("reopen %s: %s", path, err);
	return g;
}

static void test_scalars(void **state)
{
	struct tu_tmp *fx = *state;
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	assert_int_equal(gguf_writer_set_u8(w, "t.u8", 250), 0);
	assert_int_equal(gguf_writer_set_i8(w, "t.i8", -120), 0);
	assert_int_equal(gguf_writer_set_u16(w, "t.u16", 65000), 0);
	assert_int_equal(gguf_writer_set_i16(w, "t.i16", -32000), 0);
	assert_int_equal(gguf_writer_set_u32(w, "t.u32", 4000000000u), 0);
	assert_int_equal(gguf_writer_set_i32(w, "t.i32", -2000000000), 0);
	assert_int_equal(gguf_writer_set_u64(w, "t.u64", UINT64_MAX - 5), 0);
	assert_int_equal(gguf_writer_set_i64(w, "t.i64", INT64_MIN + 7), 0);
	assert_int_equal(gguf_writer_set_f32(w, "t.f32", 1.0e-5f), 0);
	assert_int_equal(gguf_writer_set_f64(w, "t.f64", 3.141592653589793), 0);
	assert_int_equal(gguf_writer_set_bool(w, "t.bool", true), 0);
	assert_int_equal(gguf_writer_set_str(w, "t.str", "h\xc3\xa9llo \xe2\x96\x81 world"), 0);
	assert_int_equal(gguf_writer_set_strn(w, "t.nul", "a\0b", 3), 0);
	assert_int_equal(gguf_writer_set_str(w, "t.empty", ""), 0);
	assert_int_equal(gguf_writer_n_kv(w), 14);
	struct gguf *g = write_and_open(w, fx->path);

	assert_int_equal(gguf_version(g), 3);
	assert_int_equal(gguf_n_kv(g), 14);
	assert_int_equal(gguf_n_tensors(g), 0);
	static const struct { const char *key; enum gguf_vtype t; } types[] = {
		{ "t.u8", GGUF_VTYPE_UINT8 }, { "t.i8", GGUF_VTYPE_INT8 },
		{ "t.u16", GGUF_VTYPE_UINT16 }, { "t.i16", GGUF_VTYPE_INT16 },
		{ "t.u32", GGUF_VTYPE_UINT32 }, { "t.i32", GGUF_VTYPE_INT32 },
		{ "t.u64", GGUF_VTYPE_UINT64 }, { "t.i64", GGUF_VTYPE_INT64 },
		{ "t.f32", GGUF_VTYPE_FLOAT32 }, { "t.f64", GGUF_VTYPE_FLOAT64 },
		{ "t.bool", GGUF_VTYPE_BOOL }, { "t.str", GGUF_VTYPE_STRING },
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(gguf_find_key(g, types[i].key), (int64_t)i);
		assert_string_equal(gguf_kv_key(g, (int64_t)i), types[i].key);
		assert_int_equal(gguf_value_type(gguf_get(g, types[i].key)), types[i].t);
	}
	assert_int_equal(gguf_value_u64(gguf_get(g, "t.u8")), 250);
	assert_int_equal(gguf_value_i64(gguf_get(g, "t.i8")), -120);
	assert_int_equal(gguf_value_u64(gguf_get(g, "t.u16")), 65000);
	assert_int_equal(gguf_value_i64(gguf_get(g, "t.i16")), -32000);
	assert_int_equal(gguf_value_u64(gguf_get(g, "t.u32")), 4000000000u);
	assert_int_equal(gguf_value_i64(gguf_get(g, "t.i32")), -2000000000);
	assert_true(gguf_value_u64(gguf_get(g, "t.u64")) == UINT64_MAX - 5);
	assert_true(gguf_value_i64(gguf_get(g, "t.i64")) == INT64_MIN + 7);
	/* Floats must come back bit-exact, not merely close. */
	assert_true((float)gguf_value_f64(gguf_get(g, "t.f32")) == 1.0e-5f);
	assert_true(gguf_value_f64(gguf_get(g, "t.f64")) == 3.141592653589793);
	assert_true(gguf_value_bool(gguf_get(g, "t.bool")));
	const char *s;
	size_t len;
	assert_int_equal(gguf_get_str(g, "t.str", &s, &len), 0);
	assert_string_equal(s, "h\xc3\xa9llo \xe2\x96\x81 world");
	assert_int_equal(len, strlen("h\xc3\xa9llo \xe2\x96\x81 world"));
	s = gguf_value_str(gguf_get(g, "t.empty"), &len);
	assert_non_null(s);
	assert_int_equal(len, 0);
	/* A string with an embedded NUL may be rejected by the reader's string
	 * getter, but when it is accepted the bytes must be intact. */
	s = gguf_value_str(gguf_get(g, "t.nul"), &len);
	if (s) {
		assert_int_equal(len, 3);
		assert_memory_equal(s, "a\0b", 3);
	}
	assert_int_equal(gguf_alignment(g), 32);
	gguf_free(g);
	gguf_writer_free(w);
}

static void test_arrays(void **state)
{
	struct tu_tmp *fx = *state;
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	static const uint8_t u8[] = { 0, 1, 255 };
	static const int8_t i8[] = { -128, 0, 127 };
	static const uint16_t u16[] = { 1, 65535 };
	static const int16_t i16[] = { -32768, 32767, 5 };
	static const uint32_t u32[] = { 7, 0xffffffffu };
	static const int32_t i32[] = { -1, 2, -3, 4 };
	static const uint64_t u64[] = { UINT64_MAX, 0 };
	static const int64_t i64[] = { INT64_MIN, INT64_MAX };
	static const float f32[] = { -0.5f, 1e30f, 0.0f, -1e-30f };
	static const double f64[] = { 1e-300, -2.5 };
	static const bool bools[] = { true, false, true };
	static const char *const strs[] = { "<unk>", "<s>", "</s>", "", "\xe2\x96\x81the" };
	assert_int_equal(gguf_writer_set_arr(w, "a.u8", GGUF_VTYPE_UINT8, u8, 3), 0);
	assert_int_equal(gguf_writer_set_arr(w, "a.i8", GGUF_VTYPE_INT8, i8, 3), 0);
	assert_int_equal(gguf_writer_set_arr(w, "a.u16", GGUF_VTYPE_UINT16, u16, 2), 0);
	assert_int_equal(gguf_writer_set_arr(w, "a.i16", GGUF_VTYPE_INT16, i16, 3), 0);
	assert_int_equal(gguf_writer_set_arr(w, "a.u32", GGUF_VTYPE_UINT32, u32, 2), 0);
	assert_int_equal(gguf_writer_set_arr(w, "a.i32", GGUF_VTYPE_INT32, i32, 4), 0);
	assert_int_equal(gguf_writer_set_arr(w, "a.u64", GGUF_VTYPE_UINT64, u64, 2), 0);
	assert_int_equal(gguf_writer_set_arr(w, "a.i64", GGUF_VTYPE_INT64, i64, 2), 0);
	assert_int_equal(gguf_writer_set_arr(w, "a.f32", GGUF_VTYPE_FLOAT32, f32, 4), 0);
	assert_int_equal(gguf_writer_set_arr(w, "a.f64", GGUF_VTYPE_FLOAT64, f64, 2), 0);
	assert_int_equal(gguf_writer_set_arr(w, "a.bool", GGUF_VTYPE_BOOL, bools, 3), 0);
	assert_int_equal(gguf_writer_set_arr_str(w, "a.str", strs, 5), 0);
	assert_int_equal(gguf_writer_set_arr(w, "a.empty", GGUF_VTYPE_INT32, NULL, 0), 0);
	/* Nested: [[1,2,3],[]] of u32 and [["x","y"],["z"]] of strings, then
	 * one more level around the first. */
	static const char *const sa[] = { "x", "y" }, *const sb[] = { "z" };
	struct gguf_write_array inner[2] = {
		{ GGUF_VTYPE_UINT32, 3, (const uint32_t[]){ 1, 2, 3 } },
		{ GGUF_VTYPE_UINT32, 0, NULL },
	};
	struct gguf_write_array nested = { GGUF_VTYPE_ARRAY, 2, inner };
	struct gguf_write_array sinner[2] = { { GGUF_VTYPE_STRING, 2, sa }, { GGUF_VTYPE_STRING, 1, sb } };
	struct gguf_write_array snested = { GGUF_VTYPE_ARRAY, 2, sinner };
	struct gguf_write_array deep = { GGUF_VTYPE_ARRAY, 1, &nested };
	assert_int_equal(gguf_writer_set_array(w, "a.nested", &nested), 0);
	assert_int_equal(gguf_writer_set_array(w, "a.snested", &snested), 0);
	assert_int_equal(gguf_writer_set_array(w, "a.deep", &deep), 0);
	struct gguf *g = write_and_open(w, fx->path);

#define CHECK_NUM(key, vt, arr) do {                                                   \
		enum gguf_vtype et;                                                     \
		uint64_t n;                                                             \
		assert_int_equal(gguf_get_arr(g, key, &et, &n), 0);                     \
		assert_int_equal(et, vt);                                               \
		assert_int_equal(n, sizeof(arr) / sizeof(arr[0]));                      \
		assert_memory_equal(gguf_value_arr_data(gguf_get(g, key)), arr, sizeof(arr)); \
	} while (0)
	CHECK_NUM("a.u8", GGUF_VTYPE_UINT8, u8);
	CHECK_NUM("a.i8", GGUF_VTYPE_INT8, i8);
	CHECK_NUM("a.u16", GGUF_VTYPE_UINT16, u16);
	CHECK_NUM("a.i16", GGUF_VTYPE_INT16, i16);
	CHECK_NUM("a.u32", GGUF_VTYPE_UINT32, u32);
	CHECK_NUM("a.i32", GGUF_VTYPE_INT32, i32);
	CHECK_NUM("a.u64", GGUF_VTYPE_UINT64, u64);
	CHECK_NUM("a.i64", GGUF_VTYPE_INT64, i64);
	CHECK_NUM("a.f32", GGUF_VTYPE_FLOAT32, f32);
	CHECK_NUM("a.f64", GGUF_VTYPE_FLOAT64, f64);
	CHECK_NUM("a.bool", GGUF_VTYPE_BOOL, bools);
#undef CHECK_NUM
	const struct gguf_value *v = gguf_get(g, "a.str");
	assert_int_equal(gguf_value_arr_type(v), GGUF_VTYPE_STRING);
	assert_int_equal(gguf_value_arr_len(v), 5);
	for (uint64_t i = 0; i < 5; i++) {
		size_t len;
		assert_string_equal(gguf_value_arr_str(v, i, &len), strs[i]);
		assert_int_equal(len, strlen(strs[i]));
	}
	assert_int_equal(gguf_value_arr_len(gguf_get(g, "a.empty")), 0);
	assert_int_equal(gguf_value_arr_type(gguf_get(g, "a.empty")), GGUF_VTYPE_INT32);

	v = gguf_get(g, "a.nested");
	assert_int_equal(gguf_value_arr_type(v), GGUF_VTYPE_ARRAY);
	assert_int_equal(gguf_value_arr_len(v), 2);
	const struct gguf_value *it = gguf_value_arr_item(v, 0);
	assert_int_equal(gguf_value_arr_type(it), GGUF_VTYPE_UINT32);
	assert_int_equal(gguf_value_arr_len(it), 3);
	assert_int_equal(((const uint32_t *)gguf_value_arr_data(it))[2], 3);
	assert_int_equal(gguf_value_arr_len(gguf_value_arr_item(v, 1)), 0);
	v = gguf_get(g, "a.snested");
	it = gguf_value_arr_item(v, 1);
	assert_int_equal(gguf_value_arr_type(it), GGUF_VTYPE_STRING);
	assert_string_equal(gguf_value_arr_str(it, 0, NULL), "z");
	assert_string_equal(gguf_value_arr_str(gguf_value_arr_item(v, 0), 1, NULL), "y");
	v = gguf_get(g, "a.deep");
	it = gguf_value_arr_item(gguf_value_arr_item(v, 0), 0);
	assert_int_equal(((const uint32_t *)gguf_value_arr_data(it))[1], 2);
	gguf_free(g);
	gguf_writer_free(w);
}

static void test_replace_remove(void **state)
{
	struct tu_tmp *fx = *state;
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	assert_int_equal(gguf_writer_set_u32(w, "k.a", 1), 0);
	assert_int_equal(gguf_writer_set_str(w, "k.b", "two"), 0);
	assert_int_equal(gguf_writer_set_u32(w, "k.c", 3), 0);
	/* Replacing keeps the first position and may change the type. */
	assert_int_equal(gguf_writer_set_str(w, "k.a", "one"), 0);
	assert_int_equal(gguf_writer_remove(w, "k.b"), 0);
	assert_int_equal(gguf_writer_remove(w, "k.b"), LT_E_NOTFOUND);
	assert_false(gguf_writer_has_key(w, "k.b"));
	assert_true(gguf_writer_has_key(w, "k.c"));
	assert_int_equal(gguf_writer_set_u32(w, "", 1), LT_E_INVAL);
	assert_true(strlen(gguf_writer_error(w)) > 0);
	struct gguf *g = write_and_open(w, fx->path);
	assert_int_equal(gguf_n_kv(g), 2);
	assert_string_equal(gguf_kv_key(g, 0), "k.a");
	assert_string_equal(gguf_value_str(gguf_kv_value(g, 0), NULL), "one");
	assert_string_equal(gguf_kv_key(g, 1), "k.c");
	gguf_free(g);
	gguf_writer_free(w);
}

/* A deterministic byte pattern that differs per tensor and position. */
static uint8_t pattern(int64_t t, uint64_t i)
{
	uint64_t x = (uint64_t)t * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;
	return (uint8_t)(x >> 56);
}

static void check_many_tensors(struct tu_tmp *fx, uint32_t alignment)
{
	enum { N = 300 };
	static const enum ggml_type types[] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q4_0,
		GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q6_K, GGML_TYPE_BF16, GGML_TYPE_I32 };
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	if (alignment)
		assert_int_equal(gguf_writer_set_alignment(w, alignment), 0);
	uint8_t *bufs[N];
	size_t sizes[N];
	for (int i = 0; i < N; i++) {
		enum ggml_type type = types[i % 8];
		const struct dtype_info *info = dtype_info(type);
		int n_dims = 1 + i % 4;
		int64_t ne[4] = { info->block_size * (1 + i % 3), 1 + i % 5, 2, 1 + i % 2 };
		int64_t rows = 1;
		for (int d = 1; d < n_dims; d++)
			rows *= ne[d];
		sizes[i] = dtype_row_bytes(type, ne[0]) * (size_t)rows;
		bufs[i] = malloc(sizes[i]);
		assert_non_null(bufs[i]);
		for (size_t j = 0; j < sizes[i]; j++)
			bufs[i][j] = pattern(i, j);
		char name[64];
		snprintf(name, sizeof(name), "blk.%d.t%d.weight", i / 10, i % 10);
		assert_int_equal(gguf_writer_add_tensor(w, name, type, n_dims, ne, bufs[i]), 0);
	}
	assert_int_equal(gguf_writer_n_tensors(w), N);
	struct gguf *g = write_and_open(w, fx->path);
	uint64_t align = alignment ? alignment : 32;
	assert_int_equal(gguf_alignment(g), align);
	assert_int_equal(gguf_data_offset(g) % align, 0);
	assert_int_equal(gguf_n_tensors(g), N);
	for (int i = 0; i < N; i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		char name[64];
		snprintf(name, sizeof(name), "blk.%d.t%d.weight", i / 10, i % 10);
		assert_string_equal(t->name, name);
		assert_ptr_equal(gguf_find_tensor(g, name), t);
		assert_int_equal(t->type, types[i % 8]);
		assert_int_equal(t->n_dims, 1 + i % 4);
		assert_int_equal(t->offset % align, 0);
		assert_int_equal(t->size, sizes[i]);
		assert_memory_equal(t->data, bufs[i], sizes[i]);
		free(bufs[i]);
	}
	gguf_free(g);
	gguf_writer_free(w);
}

static void test_many_tensors(void **state)
{
	check_many_tensors(*state, 0);
}

static void test_alignment(void **state)
{
	check_many_tensors(*state, 64);
	check_many_tensors(*state, 4096);
	check_many_tensors(*state, 1);
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	assert_int_equal(gguf_writer_set_alignment(w, 48), LT_E_INVAL);
	assert_int_equal(gguf_writer_set_alignment(w, 0), LT_E_INVAL);
	/* A wrongly typed general.alignment is refused at write time. */
	assert_int_equal(gguf_writer_set_i64(w, "general.alignment", 64), 0);
	char err[256] = "";
	struct tu_tmp *fx = *state;
	assert_int_equal(gguf_writer_write(w, fx->path, err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "general.alignment"));
	/* Only the file of the last good write, no temporary file. */
	assert_int_equal(tu_count_entries(fx->dir), 1);
	gguf_writer_free(w);
}

static void test_odd_names(void **state)
{
	struct tu_tmp *fx = *state;
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	float x[32] = { 1.0f };
	int64_t ne[1] = { 32 };
	char longest[GGUF_WRITE_MAX_NAME + 2];
	memset(longest, 'n', sizeof(longest));
	longest[GGUF_WRITE_MAX_NAME] = 0;
	static const char *const names[] = { "a", "with space", "\xe2\x96\x81unicode.\xc3\xa9",
		"dots...and-dashes", "0", "blk.-1.weird" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(gguf_writer_add_tensor(w, names[i], GGML_TYPE_F32, 1, ne, x), 0);
	assert_int_equal(gguf_writer_add_tensor(w, longest, GGML_TYPE_F32, 1, ne, x), 0);
	/* Too long, duplicate, empty, unknown type, bad dims, partial block. */
	longest[GGUF_WRITE_MAX_NAME] = 'n';
	longest[GGUF_WRITE_MAX_NAME + 1] = 0;
	assert_int_equal(gguf_writer_add_tensor(w, longest, GGML_TYPE_F32, 1, ne, x), LT_E_INVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "a", GGML_TYPE_F32, 1, ne, x), LT_E_INVAL);
	assert_non_null(strstr(gguf_writer_error(w), "duplicate"));
	assert_int_equal(gguf_writer_add_tensor(w, "", GGML_TYPE_F32, 1, ne, x), LT_E_INVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "b", (enum ggml_type)4, 1, ne, x), LT_E_INVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "b", GGML_TYPE_F32, 0, ne, x), LT_E_INVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "b", GGML_TYPE_F32, 5, ne, x), LT_E_INVAL);
	int64_t ne_q[2] = { 48, 2 };
	assert_int_equal(gguf_writer_add_tensor(w, "b", GGML_TYPE_Q4_0, 2, ne_q, x), LT_E_INVAL);
	assert_non_null(strstr(gguf_writer_error(w), "block size"));
	int64_t ne_zero[2] = { 32, 0 };
	assert_int_equal(gguf_writer_add_tensor(w, "b", GGML_TYPE_F32, 2, ne_zero, x), LT_E_INVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "b", GGML_TYPE_F32, 1, ne, NULL), LT_E_INVAL);

	longest[GGUF_WRITE_MAX_NAME] = 0;
	struct gguf *g = write_and_open(w, fx->path);
	assert_int_equal(gguf_n_tensors(g), 7);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_non_null(gguf_find_tensor(g, names[i]));
	assert_non_null(gguf_find_tensor(g, longest));
	assert_true(gguf_find_tensor(g, "a")->data != NULL);
	assert_true(((const float *)gguf_find_tensor(g, "a")->data)[0] == 1.0f);
	gguf_free(g);
	gguf_writer_free(w);
}

struct fill_state {
	int64_t next_row;  /* checks rows arrive in order, each once */
	int64_t calls;
	int64_t fail_at;   /* row at which to fail, or -1 */
};

/* Row r of the streamed tensor holds floats r*1000 + column. */
static int fill_rows(void *user, int64_t row0, int64_t n_rows, void *dst, char *err, size_t errlen)
{
	struct fill_state *st = user;
	if (row0 != st->next_row)
		return lt_seterr(err, errlen, LT_E_INVAL, "rows out of order: %lld", (long long)row0);
	if (st->fail_at >= 0 && st->fail_at < row0 + n_rows)
		return lt_seterr(err, errlen, LT_E_ABORTED, "generator failed at row %lld", (long long)st->fail_at);
	float *f = dst;
	for (int64_t r = 0; r < n_rows; r++)
		for (int64_t c = 0; c < 1024; c++)
			f[r * 1024 + c] = (float)((row0 + r) * 1000 + c);
	st->next_row += n_rows;
	st->calls++;
	return 0;
}

static void progress_count(void *user, int64_t i, const char *name, uint64_t bytes)
{
	int64_t *n = user;
	assert_int_equal(i, *n);
	assert_non_null(name);
	assert_true(bytes > 0);
	(*n)++;
}

static void test_streaming(void **state)
{
	struct tu_tmp *fx = *state;
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	/* 3000 rows of 4 KiB: 12 MB, so the writer needs several chunks. */
	int64_t ne[2] = { 1024, 3000 };
	struct fill_state st = { .fail_at = -1 };
	int64_t done = 0;
	float small[32] = { 0 };
	int64_t ne_small[1] = { 32 };
	assert_int_equal(gguf_writer_add_tensor(w, "small", GGML_TYPE_F32, 1, ne_small, small), 0);
	assert_int_equal(gguf_writer_add_tensor_fn(w, "big", GGML_TYPE_F32, 2, ne, fill_rows, &st), 0);
	gguf_writer_set_progress(w, progress_count, &done);
	struct gguf *g = write_and_open(w, fx->path);
	assert_int_equal(st.next_row, 3000);
	assert_true(st.calls > 1);
	assert_int_equal(done, 2);
	const struct gguf_tensor *t = gguf_find_tensor(g, "big");
	assert_non_null(t);
	const float *f = t->data;
	for (int64_t r = 0; r < 3000; r += 7)
		for (int64_t c = 0; c < 1024; c += 31)
			assert_true(f[r * 1024 + c] == (float)(r * 1000 + c));
	assert_true(f[2999 * 1024 + 1023] == (float)(2999 * 1000 + 1023));
	gguf_free(g);
	gguf_writer_free(w);
}

static void test_fill_failure_keeps_old_file(void **state)
{
	struct tu_tmp *fx = *state;
	/* First a good file, then a failing write to the same path. */
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	assert_int_equal(gguf_writer_set_str(w, "general.name", "old"), 0);
	struct gguf *g = write_and_open(w, fx->path);
	gguf_free(g);
	gguf_writer_free(w);

	assert_int_equal(gguf_writer_new(&w), 0);
	assert_int_equal(gguf_writer_set_str(w, "general.name", "new"), 0);
	int64_t ne[2] = { 1024, 3000 };
	struct fill_state st = { .fail_at = 2500 };
	assert_int_equal(gguf_writer_add_tensor_fn(w, "big", GGML_TYPE_F32, 2, ne, fill_rows, &st), 0);
	char err[256] = "";
	assert_int_equal(gguf_writer_write(w, fx->path, err, sizeof(err)), LT_E_ABORTED);
	assert_non_null(strstr(err, "row 2500"));
	gguf_writer_free(w);
	assert_int_equal(tu_count_entries(fx->dir), 1);
	assert_int_equal(gguf_open(&g, fx->path, 0, err, sizeof(err)), 0);
	const char *name;
	assert_int_equal(gguf_get_str(g, "general.name", &name, NULL), 0);
	assert_string_equal(name, "old");
	gguf_free(g);
}

static void test_copy_from_reader(void **state)
{
	struct tu_tmp *fx = *state;
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	static const char *const toks[] = { "<unk>", "<s>", "</s>", "a" };
	static const float scores[] = { 0, 0, 0, -1.5f };
	static const int32_t types[] = { 2, 3, 3, 1 };
	struct gguf_write_array inner[1] = { { GGUF_VTYPE_INT16, 2, (const int16_t[]){ -3, 4 } } };
	struct gguf_write_array nested = { GGUF_VTYPE_ARRAY, 1, inner };
	gguf_writer_set_str(w, "general.architecture", "llama");
	gguf_writer_set_u32(w, "llama.block_count", 2);
	gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
	gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 4);
	gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VTYPE_FLOAT32, scores, 4);
	gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VTYPE_INT32, types, 4);
	gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
	gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
	gguf_writer_set_f64(w, "tokenizer.x.f64", -0.25);
	gguf_writer_set_i8(w, "tokenizer.x.i8", -5);
	gguf_writer_set_u64(w, "tokenizer.x.u64", 1ull << 40);
	gguf_writer_set_array(w, "tokenizer.x.nested", &nested);
	struct gguf *src = write_and_open(w, fx->path);
	gguf_writer_free(w);

	assert_int_equal(gguf_writer_new(&w), 0);
	gguf_writer_set_str(w, "general.architecture", "qwen2");
	assert_int_equal(gguf_writer_copy_prefix(w, src, "tokenizer."), 10);
	assert_int_equal(gguf_writer_copy_kv(w, src, "llama.block_count"), 0);
	assert_int_equal(gguf_writer_copy_kv(w, src, "no.such.key"), LT_E_NOTFOUND);
	/* Copying over an existing key replaces it in place. */
	assert_int_equal(gguf_writer_copy_kv(w, src, "general.architecture"), 0);
	char path2[160];
	snprintf(path2, sizeof(path2), "%s/copy.gguf", fx->dir);
	struct gguf *g = write_and_open(w, path2);
	assert_int_equal(gguf_n_kv(g), 12);
	assert_string_equal(gguf_kv_key(g, 0), "general.architecture");
	const char *arch;
	assert_int_equal(gguf_get_str(g, "general.architecture", &arch, NULL), 0);
	assert_string_equal(arch, "llama");
	for (int64_t i = 0; i < gguf_n_kv(src); i++) {
		const char *key = gguf_kv_key(src, i);
		const struct gguf_value *a = gguf_kv_value(src, i), *b = gguf_get(g, key);
		assert_non_null(b);
		assert_int_equal(gguf_value_type(a), gguf_value_type(b));
	}
	const struct gguf_value *v = gguf_get(g, "tokenizer.ggml.tokens");
	assert_int_equal(gguf_value_arr_len(v), 4);
	assert_string_equal(gguf_value_arr_str(v, 2, NULL), "</s>");
	assert_memory_equal(gguf_value_arr_data(gguf_get(g, "tokenizer.ggml.scores")), scores, sizeof(scores));
	assert_memory_equal(gguf_value_arr_data(gguf_get(g, "tokenizer.ggml.token_type")), types, sizeof(types));
	assert_true(gguf_value_f64(gguf_get(g, "tokenizer.x.f64")) == -0.25);
	assert_int_equal(gguf_value_i64(gguf_get(g, "tokenizer.x.i8")), -5);
	assert_true(gguf_value_u64(gguf_get(g, "tokenizer.x.u64")) == 1ull << 40);
	assert_true(gguf_value_bool(gguf_get(g, "tokenizer.ggml.add_bos_token")));
	v = gguf_value_arr_item(gguf_get(g, "tokenizer.x.nested"), 0);
	assert_int_equal(gguf_value_arr_type(v), GGUF_VTYPE_INT16);
	assert_int_equal(((const int16_t *)gguf_value_arr_data(v))[0], -3);
	gguf_free(g);
	gguf_free(src);
	gguf_writer_free(w);
}

/* The real vocab files exercise copying large string arrays. */
static void test_copy_real_vocab(void **state)
{
	struct tu_tmp *fx = *state;
	char path[512];
	TU_NEED_MODEL(path, "vocab/ggml-vocab-llama-spm.gguf");
	char err[512];
	struct gguf *src = NULL;
	if (gguf_open(&src, path, 0, err, sizeof(err)))
		fail_msg("%s", err);
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	assert_int_equal(gguf_writer_copy_prefix(w, src, ""), gguf_n_kv(src));
	struct gguf *g = write_and_open(w, fx->path);
	assert_int_equal(gguf_n_kv(g), gguf_n_kv(src));
	const struct gguf_value *a = gguf_get(src, "tokenizer.ggml.tokens"), *b = gguf_get(g, "tokenizer.ggml.tokens");
	assert_int_equal(gguf_value_arr_len(a), 32000);
	assert_int_equal(gguf_value_arr_len(b), 32000);
	for (uint64_t i = 0; i < 32000; i += 97)
		assert_string_equal(gguf_value_arr_str(a, i, NULL), gguf_value_arr_str(b, i, NULL));
	assert_memory_equal(gguf_value_arr_data(gguf_get(src, "tokenizer.ggml.scores")),
			    gguf_value_arr_data(gguf_get(g, "tokenizer.ggml.scores")), 32000 * sizeof(float));
	gguf_free(g);
	gguf_free(src);
	gguf_writer_free(w);
}

/* Writes a 12 MB streamed tensor: far past the 1 MiB limit of the test. */
static int write_big(void *arg, char *msg, size_t size)
{
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	int64_t ne[2] = { 1024, 3000 };
	struct fill_state st = { .fail_at = -1 };
	gguf_writer_add_tensor_fn(w, "big", GGML_TYPE_F32, 2, ne, fill_rows, &st);
	int rc = gguf_writer_write(w, arg, msg, size);
	gguf_writer_free(w);
	return rc;
}

/* A file-size limit makes write() fail with EFBIG the way a full disk fails
 * with ENOSPC. */
static void test_disk_full(void **state)
{
	struct tu_tmp *fx = *state;
	char err[256];
	assert_int_equal(tu_with_fsize_limit(1 << 20, write_big, fx->path, err, sizeof(err)), LT_E_FULL);
	assert_non_null(strstr(err, fx->path));
	assert_non_null(strstr(err, "write failed"));
	/* Neither the target nor the temporary file may remain. */
	assert_int_equal(tu_count_entries(fx->dir), 0);
}

static void test_bad_directory(void **state)
{
	struct tu_tmp *fx = *state;
	char path[200];
	snprintf(path, sizeof(path), "%s/no/such/dir/x.gguf", fx->dir);
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	char err[512] = "";
	assert_int_equal(gguf_writer_write(w, path, err, sizeof(err)), LT_E_IO);
	assert_non_null(strstr(err, path));
	gguf_writer_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TMP_TEST(test_scalars),
		TU_TMP_TEST(test_arrays),
		TU_TMP_TEST(test_replace_remove),
		TU_TMP_TEST(test_many_tensors),
		TU_TMP_TEST(test_alignment),
		TU_TMP_TEST(test_odd_names),
		TU_TMP_TEST(test_streaming),
		TU_TMP_TEST(test_fill_failure_keeps_old_file),
		TU_TMP_TEST(test_copy_from_reader),
		TU_TMP_TEST(test_copy_real_vocab),
		TU_TMP_TEST(test_disk_full),
		TU_TMP_TEST(test_bad_directory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
