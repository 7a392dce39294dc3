/* GGUF writer: collects metadata and a tensor table, then writes a GGUF v3
 * file atomically (a temporary file in the target's directory, checked
 * writes, fsync, rename), so a reader never sees a half-written model.
 *
 * Tensor data comes either from a pointer that must stay valid until
 * gguf_writer_write returns, or from a callback that fills a few rows at a
 * time, so a model larger than memory can be generated or converted while it
 * streams to disk.
 *
 * Setters keep the order of first insertion; setting a key again replaces
 * its value in place. Values are written in the host byte order, which must
 * be little-endian (as every GGUF file in circulation is). */
#ifndef LT_GGUF_WRITE_H
#define LT_GGUF_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "errors.h"
#include "gguf.h"

/* Longest tensor name ggml accepts, not counting the terminating NUL. */
#define GGUF_WRITE_MAX_NAME 63

struct gguf_writer;

/* An array value. data points to n elements laid out by element type:
 *   numeric types  a C array of the type (uint32_t for UINT32, ...),
 *   BOOL           bool[n] (one byte each),
 *   STRING         const char *[n], each NUL-terminated,
 *   ARRAY          struct gguf_write_array[n] (nested arrays).
 * data may be NULL when n is 0. */
struct gguf_write_array {
	enum gguf_vtype type;
	uint64_t n;
	const void *data;
};

/* Fills n_rows rows, starting at row row0, into dst. A row is ne[0] elements
 * of the tensor's type (dtype_row_bytes(type, ne[0]) bytes) and rows are
 * numbered 0..n_elements/ne[0]-1. Returns 0, or a negative lt_error with a
 * message in err, which stops the write. */
typedef int (*gguf_write_rows_fn)(void *user, int64_t row0, int64_t n_rows, void *dst,
				  char *err, size_t errlen);

/* Called after the data of tensor i has been written. */
typedef void (*gguf_write_progress_fn)(void *user, int64_t i, const char *name, uint64_t bytes);

/* A new, empty writer into *out: 0, or LT_E_NOMEM (and *out NULL). */
int gguf_writer_new(struct gguf_writer **out);
void gguf_writer_free(struct gguf_writer *w);

/* The message of the last failed setter or add call ("" if none). */
const char *gguf_writer_error(const struct gguf_writer *w);

/* Scalar and string setters. Each returns 0 or a negative lt_error. */
int gguf_writer_set_u8(struct gguf_writer *w, const char *key, uint8_t v);
int gguf_writer_set_i8(struct gguf_writer *w, const char *key, int8_t v);
int gguf_writer_set_u16(struct gguf_writer *w, const char *key, uint16_t v);
int gguf_writer_set_i16(struct gguf_writer *w, const char *key, int16_t v);
int gguf_writer_set_u32(struct gguf_writer *w, const char *key, uint32_t v);
int gguf_writer_set_i32(struct gguf_writer *w, const char *key, int32_t v);
int gguf_writer_set_u64(struct gguf_writer *w, const char *key, uint64_t v);
int gguf_writer_set_i64(struct gguf_writer *w, const char *key, int64_t v);
int gguf_writer_set_f32(struct gguf_writer *w, const char *key, float v);
int gguf_writer_set_f64(struct gguf_writer *w, const char *key, double v);
int gguf_writer_set_bool(struct gguf_writer *w, const char *key, bool v);
int gguf_writer_set_str(struct gguf_writer *w, const char *key, const char *s);
/* A string of len bytes that may contain NULs. */
int gguf_writer_set_strn(struct gguf_writer *w, const char *key, const char *s, size_t len);

/* Arrays, possibly nested (see struct gguf_write_array). */
int gguf_writer_set_array(struct gguf_writer *w, const char *key, const struct gguf_write_array *a);
/* Shorthands: n numeric elements of elem_type, or n strings. */
int gguf_writer_set_arr(struct gguf_writer *w, const char *key, enum gguf_vtype elem_type,
			const void *data, uint64_t n);
int gguf_writer_set_arr_str(struct gguf_writer *w, const char *key, const char *const *strs,
			    uint64_t n);

/* Copies key from a reader handle. Returns 0, or LT_E_NOTFOUND when g has
 * no such key. */
int gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf *g, const char *key);
/* Copies every key of g that starts with prefix ("" copies all), in file
 * order. Returns the number of keys copied or a negative lt_error. */
int64_t gguf_writer_copy_prefix(struct gguf_writer *w, const struct gguf *g, const char *prefix);

/* Removes key; returns 0 or LT_E_NOTFOUND. */
int gguf_writer_remove(struct gguf_writer *w, const char *key);
bool gguf_writer_has_key(const struct gguf_writer *w, const char *key);
int64_t gguf_writer_n_kv(const struct gguf_writer *w);

/* Sets general.alignment (a power of two; the default is 32). */
int gguf_writer_set_alignment(struct gguf_writer *w, uint32_t alignment);

/* Adds a tensor whose bytes (dtype_row_bytes(type, ne[0]) * rows) are at
 * data, which must stay valid until gguf_writer_write returns. ne has n_dims
 * entries, ne[0] innermost, as in ggml. Names must be unique, 1..63 bytes. */
int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, enum ggml_type type,
			   int n_dims, const int64_t *ne, const void *data);
/* Adds a tensor whose rows come from fill (called during the write). */
int gguf_writer_add_tensor_fn(struct gguf_writer *w, const char *name, enum ggml_type type,
			      int n_dims, const int64_t *ne, gguf_write_rows_fn fill, void *user);
int64_t gguf_writer_n_tensors(const struct gguf_writer *w);

/* Reports each finished tensor to fn (NULL turns it off). */
void gguf_writer_set_progress(struct gguf_writer *w, gguf_write_progress_fn fn, void *user);

/* Writes the file to path through atomic_file.h (replacing any file there
 * only once the new one is complete and synced). On failure no file is left
 * behind besides whatever was at path before, and err names path and the
 * cause, such as "out.gguf: write failed: no space left on the device"
 * (LT_E_FULL). */
int gguf_writer_write(struct gguf_writer *w, const char *path, char *err, size_t errlen);

#endif
