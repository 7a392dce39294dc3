/* GGUF reader: parses and validates GGUF versions 1, 2 and 3, maps the file
 * read-only (or reads it into memory), and exposes the metadata and the tensor
 * table through typed getters that report errors instead of aborting.
 *
 * Every byte is validated before use: a file that opens without error has
 * in-range strings and arrays, known tensor types, element counts that do not
 * overflow, and tensor data ranges that are aligned and inside the file. */
#ifndef LT_GGUF_H
#define LT_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "errors.h"

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32
/* Levels of nested arrays the reader accepts and the writer produces. */
#define GGUF_MAX_DEPTH 8

/* Metadata value types, numbered as in the file. */
enum gguf_vtype {
	GGUF_VTYPE_UINT8 = 0,
	GGUF_VTYPE_INT8 = 1,
	GGUF_VTYPE_UINT16 = 2,
	GGUF_VTYPE_INT16 = 3,
	GGUF_VTYPE_UINT32 = 4,
	GGUF_VTYPE_INT32 = 5,
	GGUF_VTYPE_FLOAT32 = 6,
	GGUF_VTYPE_BOOL = 7,
	GGUF_VTYPE_STRING = 8,
	GGUF_VTYPE_ARRAY = 9,
	GGUF_VTYPE_UINT64 = 10,
	GGUF_VTYPE_INT64 = 11,
	GGUF_VTYPE_FLOAT64 = 12,
	GGUF_VTYPE_COUNT
};

struct gguf;
struct gguf_value;

/* One entry of the tensor table. data points into the mapping (or the
 * in-memory copy) and stays valid until gguf_free. */
struct gguf_tensor {
	const char *name;              /* NUL-terminated */
	enum ggml_type type;
	int n_dims;                    /* 1..GGUF_MAX_DIMS */
	int64_t ne[GGUF_MAX_DIMS];     /* elements per dim, ne[0] innermost; unused dims are 1 */
	int64_t n_elements;
	uint64_t offset;               /* relative to the data section */
	uint64_t size;                 /* bytes */
	const void *data;
};

enum gguf_open_flags {
	GGUF_OPEN_NO_MMAP = 1 << 0, /* read the file into memory instead of mapping it */
	GGUF_OPEN_MLOCK = 1 << 1,   /* lock the mapping in memory (best effort) */
};

/* Opens and validates path. On failure returns a negative lt_error and writes
 * one line to err such as
 * "model.gguf: tensor 17 'blk.2.ffn_up.weight': data range 0x1f00..0x9f00 beyond end of file (0x8000)". */
int gguf_open(struct gguf **out, const char *path, int flags, char *err, size_t errlen);

/* Parses a GGUF image already in memory (for fuzzing and tests). The buffer
 * must outlive the returned handle; name is used in messages. */
int gguf_open_buffer(struct gguf **out, const void *buf, size_t size, const char *name,
		     char *err, size_t errlen);

void gguf_free(struct gguf *g);

/* Makes part's tensors g's too (the files of a split model, see
 * gguf_split.h); g owns part from then on, and frees it, even on failure.
 * Returns 0, LT_E_FORMAT with a message when a tensor name is in both, or
 * LT_E_NOMEM. */
int gguf_merge(struct gguf *g, struct gguf *part, char *err, size_t errlen);

const char *gguf_path(const struct gguf *g);
uint32_t gguf_version(const struct gguf *g);
uint64_t gguf_file_size(const struct gguf *g);
uint64_t gguf_alignment(const struct gguf *g);
uint64_t gguf_data_offset(const struct gguf *g);
bool gguf_is_mapped(const struct gguf *g);

/* Metadata: keys are indexed 0..gguf_n_kv-1 in file order. */
int64_t gguf_n_kv(const struct gguf *g);
const char *gguf_kv_key(const struct gguf *g, int64_t i);
const struct gguf_value *gguf_kv_value(const struct gguf *g, int64_t i);
/* Index of key, or -1. */
int64_t gguf_find_key(const struct gguf *g, const char *key);
/* The value of key, or NULL. */
const struct gguf_value *gguf_get(const struct gguf *g, const char *key);

/* Typed getters by key. They return 0, LT_E_NOTFOUND when the key is absent,
 * LT_E_TYPE when its type does not fit, or LT_E_RANGE when an integer does
 * not fit the requested width. Integer getters accept any integer type. */
int gguf_get_i64(const struct gguf *g, const char *key, int64_t *out);
int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out);
int gguf_get_f32(const struct gguf *g, const char *key, float *out); /* f32 or f64 */
int gguf_get_bool(const struct gguf *g, const char *key, bool *out);
/* A string (NUL-terminated; len may be NULL). */
int gguf_get_str(const struct gguf *g, const char *key, const char **out, size_t *len);
/* An array's element type and length. */
int gguf_get_arr(const struct gguf *g, const char *key, enum gguf_vtype *elem_type, uint64_t *n);

/* Values, for walking metadata generically (info --kv, --json). */
enum gguf_vtype gguf_value_type(const struct gguf_value *v);
/* Scalar accessors; each converts from any numeric type. */
int64_t gguf_value_i64(const struct gguf_value *v);
uint64_t gguf_value_u64(const struct gguf_value *v);
double gguf_value_f64(const struct gguf_value *v);
bool gguf_value_bool(const struct gguf_value *v);
const char *gguf_value_str(const struct gguf_value *v, size_t *len);
/* Arrays: element type and length (0 for a non-array). */
enum gguf_vtype gguf_value_arr_type(const struct gguf_value *v);
uint64_t gguf_value_arr_len(const struct gguf_value *v);
/* Element i of an array (of any element type) as a value, or NULL. */
const struct gguf_value *gguf_value_arr_item(const struct gguf_value *v, uint64_t i);
/* Element i of a numeric (or bool) array, converted; 0 when out of range. */
int64_t gguf_value_arr_i64(const struct gguf_value *v, uint64_t i);
double gguf_value_arr_f64(const struct gguf_value *v, uint64_t i);
/* For numeric arrays: the elements as a contiguous, aligned, native-endian C
 * array of the element type (uint32_t for UINT32, float for FLOAT32, bool as
 * one byte each); NULL for string and nested arrays. */
const void *gguf_value_arr_data(const struct gguf_value *v);
/* For string arrays: element i. */
const char *gguf_value_arr_str(const struct gguf_value *v, uint64_t i, size_t *len);

const char *gguf_vtype_name(enum gguf_vtype t);
/* Bytes of one value of a numeric or bool type; 0 for strings, arrays and
 * unknown types. */
size_t gguf_vtype_size(enum gguf_vtype t);

/* Tensors, in file order. */
int64_t gguf_n_tensors(const struct gguf *g);
const struct gguf_tensor *gguf_tensor(const struct gguf *g, int64_t i);
/* The tensor called name, or NULL. */
const struct gguf_tensor *gguf_find_tensor(const struct gguf *g, const char *name);

#endif
