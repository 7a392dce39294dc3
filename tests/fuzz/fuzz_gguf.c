/* libFuzzer harness for the GGUF reader: parses the input as an in-memory
 * image and, when it is accepted, reads every key through every accessor
 * (recursing into nested arrays) and the first and last byte of every
 * tensor, so the sanitizers check every pointer the reader hands out. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gguf.h"

/* Keeps the reads from being optimised away. */
static volatile uint64_t fuzz_sink;

static uint64_t fuzz_value(const struct gguf_value *v)
{
	uint64_t h = (uint64_t)gguf_value_type(v);
	h ^= (uint64_t)gguf_value_i64(v) + gguf_value_u64(v) + gguf_value_bool(v);
	double f = gguf_value_f64(v);
	h += f != f ? 1 : 0;
	size_t len;
	const char *s = gguf_value_str(v, &len);
	if (s && len)
		h += (unsigned char)s[0] + (unsigned char)s[len - 1] + (unsigned char)s[len];
	uint64_t n = gguf_value_arr_len(v);
	enum gguf_vtype et = gguf_value_arr_type(v);
	const uint8_t *data = gguf_value_arr_data(v);
	if (data && n) {
		/* The packed copy must hold n elements of the element type. */
		size_t es = et == GGUF_VTYPE_UINT8 || et == GGUF_VTYPE_INT8 || et == GGUF_VTYPE_BOOL ? 1
			  : et == GGUF_VTYPE_UINT16 || et == GGUF_VTYPE_INT16 ? 2
			  : et == GGUF_VTYPE_UINT64 || et == GGUF_VTYPE_INT64 || et == GGUF_VTYPE_FLOAT64 ? 8 : 4;
		h += data[0] + data[n * es - 1];
	}
	for (uint64_t i = 0; i < n; i++) {
		const struct gguf_value *item = gguf_value_arr_item(v, i);
		if (item)
			h += fuzz_value(item);
		h += (uint64_t)gguf_value_arr_i64(v, i);
		h += gguf_value_arr_f64(v, i) > 0;
		const char *si = gguf_value_arr_str(v, i, &len);
		if (si)
			h += (unsigned char)si[len];
	}
	/* Out-of-range indices must be refused, not read. */
	h += gguf_value_arr_item(v, n) != NULL;
	h += (uint64_t)gguf_value_arr_i64(v, n);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gguf *g;
	char err[256];
	if (gguf_open_buffer(&g, data, size, "fuzz.gguf", err, sizeof(err)) != 0) {
		/* A failure must leave a message that names the input. */
		if (!strstr(err, "fuzz.gguf"))
			__builtin_trap();
		return 0;
	}
	uint64_t h = gguf_version(g) + gguf_alignment(g) + gguf_data_offset(g);
	for (int64_t i = 0; i < gguf_n_kv(g); i++) {
		const char *key = gguf_kv_key(g, i);
		if (gguf_find_key(g, key) != i)
			__builtin_trap();
		h += fuzz_value(gguf_kv_value(g, i));
		int64_t i64;
		uint32_t u32;
		float f32;
		bool b;
		const char *s;
		enum gguf_vtype et;
		uint64_t n;
		h += (uint64_t)gguf_get_i64(g, key, &i64) + (uint64_t)gguf_get_u32(g, key, &u32);
		h += (uint64_t)gguf_get_f32(g, key, &f32) + (uint64_t)gguf_get_bool(g, key, &b);
		h += (uint64_t)gguf_get_str(g, key, &s, NULL) + (uint64_t)gguf_get_arr(g, key, &et, &n);
	}
	for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		if (gguf_find_tensor(g, t->name) != t)
			__builtin_trap();
		if (t->size) {
			const uint8_t *d = t->data;
			h += d[0] + d[t->size - 1];
		}
	}
	fuzz_sink = h;
	gguf_free(g);
	return 0;
}
