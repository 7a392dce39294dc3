#include "gguf_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "bytebuf.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_WRITE_VERSION 3
/* Rows handed to a fill callback at once: enough to amortize the call and
 * give threads in the callback work to share, small enough to stay in cache. */
#define WRITE_CHUNK_BYTES ((size_t)4 << 20)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf_write.c writes host byte order and needs a little-endian host"
#endif

/* One metadata entry: its value is kept serialized exactly as it will appear
 * in the file after the key and the type tag. */
struct wkv {
	char *key;
	enum gguf_vtype type;
	struct bytebuf val;
};

struct wtensor {
	char *name;
	enum ggml_type type;
	int n_dims;
	int64_t ne[GGUF_MAX_DIMS];   /* unused dims are 1 */
	int64_t n_rows;              /* n_elements / ne[0] */
	size_t row_bytes;
	uint64_t size;               /* n_rows * row_bytes */
	uint64_t offset;             /* in the data section, set by the write */
	const void *data;            /* either data ... */
	gguf_write_rows_fn fill;     /* ... or fill(user, ...) */
	void *user;
};

struct gguf_writer {
	struct wkv *kv;
	int64_t n_kv, cap_kv;
	struct wtensor *tensors;
	int64_t n_tensors, cap_tensors;
	gguf_write_progress_fn progress;
	void *progress_user;
	char err[256];
};


static int writer_fail(struct gguf_writer *w, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int writer_fail(struct gguf_writer *w, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	return code;
}

static void wbuf_str(struct bytebuf *b, const char *s, size_t len)
{
	bytebuf_u64(b, len);
	bytebuf_put(b, s, len);
}

int gguf_writer_new(struct gguf_writer **out)
{
	*out = calloc(1, sizeof(struct gguf_writer));
	return *out ? LT_OK : LT_E_NOMEM;
}

void gguf_writer_free(struct gguf_writer *w)
{
	if (!w)
		return;
	for (int64_t i = 0; i < w->n_kv; i++) {
		free(w->kv[i].key);
		free(w->kv[i].val.p);
	}
	for (int64_t i = 0; i < w->n_tensors; i++)
		free(w->tensors[i].name);
	free(w->kv);
	free(w->tensors);
	free(w);
}

const char *gguf_writer_error(const struct gguf_writer *w)
{
	return w->err;
}

static int64_t writer_find(const struct gguf_writer *w, const char *key)
{
	for (int64_t i = 0; i < w->n_kv; i++)
		if (strcmp(w->kv[i].key, key) == 0)
			return i;
	return -1;
}

/* Stores a finished value under key, taking ownership of val's buffer. */
static int writer_put(struct gguf_writer *w, const char *key, enum gguf_vtype type, struct bytebuf *val)
{
	if (val->oom) {
		free(val->p);
		return writer_fail(w, LT_E_NOMEM, "gguf writer: out of memory storing key '%s'", key);
	}
	int64_t i = writer_find(w, key);
	if (i >= 0) {
		free(w->kv[i].val.p);
		w->kv[i].type = type;
		w->kv[i].val = *val;
		return 0;
	}
	if (w->n_kv == w->cap_kv) {
		int64_t cap = w->cap_kv ? 2 * w->cap_kv : 32;
		struct wkv *kv = realloc(w->kv, (size_t)cap * sizeof(*kv));
		if (!kv) {
			free(val->p);
			return writer_fail(w, LT_E_NOMEM, "gguf writer: out of memory storing key '%s'", key);
		}
		w->kv = kv;
		w->cap_kv = cap;
	}
	char *k = strdup(key);
	if (!k) {
		free(val->p);
		return writer_fail(w, LT_E_NOMEM, "gguf writer: out of memory storing key '%s'", key);
	}
	w->kv[w->n_kv++] = (struct wkv){ .key = k, .type = type, .val = *val };
	return 0;
}

static int check_key(struct gguf_writer *w, const char *key)
{
	if (!key || !key[0])
		return writer_fail(w, LT_E_INVAL, "gguf writer: empty metadata key");
	return 0;
}

static int set_scalar(struct gguf_writer *w, const char *key, enum gguf_vtype type, const void *v)
{
	int rc = check_key(w, key);
	if (rc)
		return rc;
	struct bytebuf b = { 0 };
	bytebuf_put(&b, v, gguf_vtype_size(type));
	return writer_put(w, key, type, &b);
}

/* The typed setters differ only in the C type and the type tag. */
#define WRITER_SETTER(suffix, ctype, vtype)                                           \
	int gguf_writer_set_##suffix(struct gguf_writer *w, const char *key, ctype v) \
	{                                                                             \
		return set_scalar(w, key, vtype, &v);                                 \
	}

WRITER_SETTER(u8, uint8_t, GGUF_VTYPE_UINT8)
WRITER_SETTER(i8, int8_t, GGUF_VTYPE_INT8)
WRITER_SETTER(u16, uint16_t, GGUF_VTYPE_UINT16)
WRITER_SETTER(i16, int16_t, GGUF_VTYPE_INT16)
WRITER_SETTER(u32, uint32_t, GGUF_VTYPE_UINT32)
WRITER_SETTER(i32, int32_t, GGUF_VTYPE_INT32)
WRITER_SETTER(u64, uint64_t, GGUF_VTYPE_UINT64)
WRITER_SETTER(i64, int64_t, GGUF_VTYPE_INT64)
WRITER_SETTER(f32, float, GGUF_VTYPE_FLOAT32)
WRITER_SETTER(f64, double, GGUF_VTYPE_FLOAT64)

#undef WRITER_SETTER

int gguf_writer_set_bool(struct gguf_writer *w, const char *key, bool v)
{
	uint8_t b = v ? 1 : 0;
	return set_scalar(w, key, GGUF_VTYPE_BOOL, &b);
}

int gguf_writer_set_strn(struct gguf_writer *w, const char *key, const char *s, size_t len)
{
	int rc = check_key(w, key);
	if (rc)
		return rc;
	if (!s && len)
		return writer_fail(w, LT_E_INVAL, "gguf writer: key '%s': NULL string", key);
	struct bytebuf b = { 0 };
	wbuf_str(&b, s, len);
	return writer_put(w, key, GGUF_VTYPE_STRING, &b);
}

int gguf_writer_set_str(struct gguf_writer *w, const char *key, const char *s)
{
	if (!s)
		return writer_fail(w, LT_E_INVAL, "gguf writer: key '%s': NULL string", key ? key : "");
	return gguf_writer_set_strn(w, key, s, strlen(s));
}

/* Serializes an array payload (element type, count, elements) into b. */
static int put_array(struct gguf_writer *w, const char *key, struct bytebuf *b,
		     const struct gguf_write_array *a, int depth)
{
	if (depth >= GGUF_MAX_DEPTH)
		return writer_fail(w, LT_E_INVAL, "gguf writer: key '%s': arrays nested more than %d levels",
				   key, GGUF_MAX_DEPTH);
	if ((unsigned)a->type >= GGUF_VTYPE_COUNT)
		return writer_fail(w, LT_E_INVAL, "gguf writer: key '%s': unknown element type %d",
				   key, (int)a->type);
	if (a->n && !a->data)
		return writer_fail(w, LT_E_INVAL, "gguf writer: key '%s': array of %llu with no data",
				   key, (unsigned long long)a->n);
	bytebuf_u32(b, (uint32_t)a->type);
	bytebuf_u64(b, a->n);
	if (a->type == GGUF_VTYPE_STRING) {
		const char *const *s = a->data;
		for (uint64_t i = 0; i < a->n; i++) {
			if (!s[i])
				return writer_fail(w, LT_E_INVAL, "gguf writer: key '%s': string %llu is NULL",
						   key, (unsigned long long)i);
			wbuf_str(b, s[i], strlen(s[i]));
		}
	} else if (a->type == GGUF_VTYPE_ARRAY) {
		const struct gguf_write_array *sub = a->data;
		for (uint64_t i = 0; i < a->n; i++) {
			int rc = put_array(w, key, b, &sub[i], depth + 1);
			if (rc)
				return rc;
		}
	} else if (a->type == GGUF_VTYPE_BOOL) {
		const bool *v = a->data;
		for (uint64_t i = 0; i < a->n; i++) {
			uint8_t x = v[i] ? 1 : 0;
			bytebuf_put(b, &x, 1);
		}
	} else {
		size_t es = gguf_vtype_size(a->type);
		if (a->n > SIZE_MAX / es)
			return writer_fail(w, LT_E_INVAL, "gguf writer: key '%s': array too large", key);
		bytebuf_put(b, a->data, (size_t)a->n * es);
	}
	return 0;
}

int gguf_writer_set_array(struct gguf_writer *w, const char *key, const struct gguf_write_array *a)
{
	int rc = check_key(w, key);
	if (rc)
		return rc;
	struct bytebuf b = { 0 };
	rc = put_array(w, key, &b, a, 0);
	if (rc) {
		free(b.p);
		return rc;
	}
	return writer_put(w, key, GGUF_VTYPE_ARRAY, &b);
}

int gguf_writer_set_arr(struct gguf_writer *w, const char *key, enum gguf_vtype elem_type,
			const void *data, uint64_t n)
{
	if (elem_type == GGUF_VTYPE_STRING || elem_type == GGUF_VTYPE_ARRAY)
		return writer_fail(w, LT_E_INVAL, "gguf writer: key '%s': gguf_writer_set_arr takes numeric elements",
				   key ? key : "");
	struct gguf_write_array a = { .type = elem_type, .n = n, .data = data };
	return gguf_writer_set_array(w, key, &a);
}

int gguf_writer_set_arr_str(struct gguf_writer *w, const char *key, const char *const *strs, uint64_t n)
{
	struct gguf_write_array a = { .type = GGUF_VTYPE_STRING, .n = n, .data = strs };
	return gguf_writer_set_array(w, key, &a);
}

/* Serializes a reader value of type t (scalar, string or array payload). */
static int put_value(struct gguf_writer *w, const char *key, struct bytebuf *b,
		     const struct gguf_value *v, int depth)
{
	enum gguf_vtype t = gguf_value_type(v);
	switch (t) {
	case GGUF_VTYPE_UINT8: { uint8_t x = (uint8_t)gguf_value_u64(v); bytebuf_put(b, &x, 1); break; }
	case GGUF_VTYPE_INT8: { int8_t x = (int8_t)gguf_value_i64(v); bytebuf_put(b, &x, 1); break; }
	case GGUF_VTYPE_UINT16: { uint16_t x = (uint16_t)gguf_value_u64(v); bytebuf_put(b, &x, 2); break; }
	case GGUF_VTYPE_INT16: { int16_t x = (int16_t)gguf_value_i64(v); bytebuf_put(b, &x, 2); break; }
	case GGUF_VTYPE_UINT32: { uint32_t x = (uint32_t)gguf_value_u64(v); bytebuf_put(b, &x, 4); break; }
	case GGUF_VTYPE_INT32: { int32_t x = (int32_t)gguf_value_i64(v); bytebuf_put(b, &x, 4); break; }
	case GGUF_VTYPE_UINT64: { uint64_t x = gguf_value_u64(v); bytebuf_put(b, &x, 8); break; }
	case GGUF_VTYPE_INT64: { int64_t x = gguf_value_i64(v); bytebuf_put(b, &x, 8); break; }
	case GGUF_VTYPE_FLOAT32: { float x = (float)gguf_value_f64(v); bytebuf_put(b, &x, 4); break; }
	case GGUF_VTYPE_FLOAT64: { double x = gguf_value_f64(v); bytebuf_put(b, &x, 8); break; }
	case GGUF_VTYPE_BOOL: { uint8_t x = gguf_value_bool(v) ? 1 : 0; bytebuf_put(b, &x, 1); break; }
	case GGUF_VTYPE_STRING: {
		size_t len = 0;
		const char *s = gguf_value_str(v, &len);
		wbuf_str(b, s, s ? len : 0);
		break;
	}
	case GGUF_VTYPE_ARRAY: {
		if (depth >= GGUF_MAX_DEPTH)
			return writer_fail(w, LT_E_INVAL, "gguf writer: key '%s': arrays nested more than %d levels",
					   key, GGUF_MAX_DEPTH);
		enum gguf_vtype et = gguf_value_arr_type(v);
		uint64_t n = gguf_value_arr_len(v);
		bytebuf_u32(b, (uint32_t)et);
		bytebuf_u64(b, n);
		if (et == GGUF_VTYPE_STRING) {
			for (uint64_t i = 0; i < n; i++) {
				size_t len = 0;
				const char *s = gguf_value_arr_str(v, i, &len);
				wbuf_str(b, s, s ? len : 0);
			}
		} else if (et == GGUF_VTYPE_ARRAY) {
			for (uint64_t i = 0; i < n; i++) {
				const struct gguf_value *item = gguf_value_arr_item(v, i);
				if (!item || gguf_value_type(item) != GGUF_VTYPE_ARRAY)
					return writer_fail(w, LT_E_FORMAT, "gguf writer: key '%s': bad nested array item %llu",
							   key, (unsigned long long)i);
				int rc = put_value(w, key, b, item, depth + 1);
				if (rc)
					return rc;
			}
		} else {
			size_t es = gguf_vtype_size(et);
			const void *data = gguf_value_arr_data(v);
			if (es == 0 || (n && !data))
				return writer_fail(w, LT_E_FORMAT, "gguf writer: key '%s': unreadable array of %s",
						   key, gguf_vtype_name(et));
			bytebuf_put(b, data, (size_t)n * es);
		}
		break;
	}
	default:
		return writer_fail(w, LT_E_FORMAT, "gguf writer: key '%s': unknown value type %d", key, (int)t);
	}
	return 0;
}

static int copy_index(struct gguf_writer *w, const struct gguf *g, int64_t i)
{
	const char *key = gguf_kv_key(g, i);
	const struct gguf_value *v = gguf_kv_value(g, i);
	if (!key || !v)
		return writer_fail(w, LT_E_FORMAT, "gguf writer: cannot read key %lld of the source", (long long)i);
	struct bytebuf b = { 0 };
	int rc = put_value(w, key, &b, v, 0);
	if (rc) {
		free(b.p);
		return rc;
	}
	return writer_put(w, key, gguf_value_type(v), &b);
}

int gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf *g, const char *key)
{
	int64_t i = gguf_find_key(g, key);
	if (i < 0)
		return writer_fail(w, LT_E_NOTFOUND, "%s: no key '%s' to copy", gguf_path(g), key);
	return copy_index(w, g, i);
}

int64_t gguf_writer_copy_prefix(struct gguf_writer *w, const struct gguf *g, const char *prefix)
{
	size_t plen = strlen(prefix);
	int64_t copied = 0;
	for (int64_t i = 0; i < gguf_n_kv(g); i++) {
		const char *key = gguf_kv_key(g, i);
		if (!key || strncmp(key, prefix, plen) != 0)
			continue;
		int rc = copy_index(w, g, i);
		if (rc)
			return rc;
		copied++;
	}
	return copied;
}

int gguf_writer_remove(struct gguf_writer *w, const char *key)
{
	int64_t i = writer_find(w, key);
	if (i < 0)
		return LT_E_NOTFOUND;
	free(w->kv[i].key);
	free(w->kv[i].val.p);
	memmove(&w->kv[i], &w->kv[i + 1], (size_t)(w->n_kv - i - 1) * sizeof(w->kv[0]));
	w->n_kv--;
	return 0;
}

bool gguf_writer_has_key(const struct gguf_writer *w, const char *key)
{
	return writer_find(w, key) >= 0;
}

int64_t gguf_writer_n_kv(const struct gguf_writer *w)
{
	return w->n_kv;
}

int gguf_writer_set_alignment(struct gguf_writer *w, uint32_t alignment)
{
	if (alignment == 0 || (alignment & (alignment - 1)))
		return writer_fail(w, LT_E_INVAL, "gguf writer: alignment %u is not a power of two", alignment);
	return gguf_writer_set_u32(w, "general.alignment", alignment);
}

static int add_tensor(struct gguf_writer *w, const char *name, enum ggml_type type, int n_dims,
		      const int64_t *ne, const void *data, gguf_write_rows_fn fill, void *user)
{
	if (!name || !name[0])
		return writer_fail(w, LT_E_INVAL, "gguf writer: empty tensor name");
	if (strlen(name) > GGUF_WRITE_MAX_NAME)
		return writer_fail(w, LT_E_INVAL, "gguf writer: tensor name '%.40s...' longer than %d bytes",
				   name, GGUF_WRITE_MAX_NAME);
	for (int64_t i = 0; i < w->n_tensors; i++)
		if (strcmp(w->tensors[i].name, name) == 0)
			return writer_fail(w, LT_E_INVAL, "gguf writer: duplicate tensor '%s'", name);
	const struct dtype_info *info = dtype_info(type);
	if (!info)
		return writer_fail(w, LT_E_INVAL, "gguf writer: tensor '%s': unknown type %d", name, (int)type);
	if (n_dims < 1 || n_dims > GGUF_MAX_DIMS || !ne)
		return writer_fail(w, LT_E_INVAL, "gguf writer: tensor '%s': %d dims (want 1..%d)",
				   name, n_dims, GGUF_MAX_DIMS);
	if (!data && !fill)
		return writer_fail(w, LT_E_INVAL, "gguf writer: tensor '%s': no data", name);
	struct wtensor t = { .type = type, .n_dims = n_dims, .data = data, .fill = fill, .user = user };
	t.n_rows = 1;
	for (int d = 0; d < GGUF_MAX_DIMS; d++) {
		t.ne[d] = d < n_dims ? ne[d] : 1;
		if (t.ne[d] < 1)
			return writer_fail(w, LT_E_INVAL, "gguf writer: tensor '%s': dim %d is %lld",
					   name, d, (long long)t.ne[d]);
		if (d > 0) {
			if (t.n_rows > INT64_MAX / t.ne[d])
				return writer_fail(w, LT_E_INVAL, "gguf writer: tensor '%s': too many elements", name);
			t.n_rows *= t.ne[d];
		}
	}
	if (t.ne[0] % info->block_size)
		return writer_fail(w, LT_E_INVAL,
				   "gguf writer: tensor '%s': row of %lld is not a multiple of the %s block size %d",
				   name, (long long)t.ne[0], info->name, info->block_size);
	t.row_bytes = dtype_row_bytes(type, t.ne[0]);
	if (t.row_bytes == 0 || (uint64_t)t.n_rows > (UINT64_MAX / 2) / t.row_bytes)
		return writer_fail(w, LT_E_INVAL, "gguf writer: tensor '%s': too large", name);
	t.size = (uint64_t)t.n_rows * t.row_bytes;
	if (w->n_tensors == w->cap_tensors) {
		int64_t cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
		struct wtensor *ts = realloc(w->tensors, (size_t)cap * sizeof(*ts));
		if (!ts)
			return writer_fail(w, LT_E_NOMEM, "gguf writer: out of memory adding tensor '%s'", name);
		w->tensors = ts;
		w->cap_tensors = cap;
	}
	t.name = strdup(name);
	if (!t.name)
		return writer_fail(w, LT_E_NOMEM, "gguf writer: out of memory adding tensor '%s'", name);
	w->tensors[w->n_tensors++] = t;
	return 0;
}

int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, enum ggml_type type,
			   int n_dims, const int64_t *ne, const void *data)
{
	if (!data)
		return writer_fail(w, LT_E_INVAL, "gguf writer: tensor '%s': NULL data", name ? name : "");
	return add_tensor(w, name, type, n_dims, ne, data, NULL, NULL);
}

int gguf_writer_add_tensor_fn(struct gguf_writer *w, const char *name, enum ggml_type type,
			      int n_dims, const int64_t *ne, gguf_write_rows_fn fill, void *user)
{
	if (!fill)
		return writer_fail(w, LT_E_INVAL, "gguf writer: tensor '%s': NULL fill callback", name ? name : "");
	return add_tensor(w, name, type, n_dims, ne, NULL, fill, user);
}

int64_t gguf_writer_n_tensors(const struct gguf_writer *w)
{
	return w->n_tensors;
}

void gguf_writer_set_progress(struct gguf_writer *w, gguf_write_progress_fn fn, void *user)
{
	w->progress = fn;
	w->progress_user = user;
}

/* The alignment the file will use: general.alignment when set, else 32. */
static int writer_alignment(const struct gguf_writer *w, uint64_t *out, const char *path,
			    char *err, size_t errlen)
{
	*out = GGUF_DEFAULT_ALIGNMENT;
	int64_t i = writer_find(w, "general.alignment");
	if (i < 0)
		return 0;
	const struct wkv *kv = &w->kv[i];
	if (kv->type != GGUF_VTYPE_UINT32 || kv->val.len != 4)
		return lt_seterr(err, errlen, LT_E_INVAL, "%s: general.alignment must be a uint32, not %s",
				 path, gguf_vtype_name(kv->type));
	uint32_t a;
	memcpy(&a, kv->val.p, 4);
	if (a == 0 || (a & (a - 1)))
		return lt_seterr(err, errlen, LT_E_INVAL, "%s: general.alignment %u is not a power of two",
				 path, a);
	*out = a;
	return 0;
}

static void wfile_str(struct atomic_file *f, const char *s, size_t len)
{
	uint64_t n = len;
	atomic_file_write(f, &n, 8);
	atomic_file_write(f, s, len);
}

static void wfile_pad(struct atomic_file *f, uint64_t align)
{
	static const uint8_t zeros[256];
	uint64_t n = (align - atomic_file_pos(f) % align) % align;
	while (n) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);
		atomic_file_write(f, zeros, k);
		n -= k;
	}
}

static void write_header(struct gguf_writer *w, struct atomic_file *f, uint64_t align)
{
	uint32_t version = GGUF_WRITE_VERSION;
	int64_t n_tensors = w->n_tensors, n_kv = w->n_kv;
	atomic_file_write(f, GGUF_MAGIC, 4);
	atomic_file_write(f, &version, 4);
	atomic_file_write(f, &n_tensors, 8);
	atomic_file_write(f, &n_kv, 8);
	for (int64_t i = 0; i < w->n_kv; i++) {
		uint32_t type = (uint32_t)w->kv[i].type;
		wfile_str(f, w->kv[i].key, strlen(w->kv[i].key));
		atomic_file_write(f, &type, 4);
		atomic_file_write(f, w->kv[i].val.p, w->kv[i].val.len);
	}
	for (int64_t i = 0; i < w->n_tensors; i++) {
		const struct wtensor *t = &w->tensors[i];
		uint32_t n_dims = (uint32_t)t->n_dims, type = (uint32_t)t->type;
		wfile_str(f, t->name, strlen(t->name));
		atomic_file_write(f, &n_dims, 4);
		atomic_file_write(f, t->ne, 8 * (size_t)t->n_dims);
		atomic_file_write(f, &type, 4);
		atomic_file_write(f, &t->offset, 8);
	}
	wfile_pad(f, align);
}

/* Streams one tensor's rows through its fill callback in chunks. */
static int write_rows(struct wtensor *t, struct atomic_file *f, const char *path, uint8_t **buf,
		      size_t *buf_cap, char *err, size_t errlen)
{
	int64_t rows_per_chunk = (int64_t)(WRITE_CHUNK_BYTES / t->row_bytes);
	if (rows_per_chunk < 1)
		rows_per_chunk = 1;
	if (rows_per_chunk > t->n_rows)
		rows_per_chunk = t->n_rows;
	size_t need = (size_t)rows_per_chunk * t->row_bytes;
	if (need > *buf_cap) {
		uint8_t *p = realloc(*buf, need);
		if (!p)
			return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory for tensor '%s'",
					 path, t->name);
		*buf = p;
		*buf_cap = need;
	}
	for (int64_t r = 0; r < t->n_rows; r += rows_per_chunk) {
		int64_t n = t->n_rows - r < rows_per_chunk ? t->n_rows - r : rows_per_chunk;
		int rc = t->fill(t->user, r, n, *buf, err, errlen);
		if (rc)
			return rc < 0 ? rc : LT_E_INVAL;
		atomic_file_write(f, *buf, (size_t)n * t->row_bytes);
		rc = atomic_file_error(f, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int gguf_writer_write(struct gguf_writer *w, const char *path, char *err, size_t errlen)
{
	uint64_t align;
	int rc = writer_alignment(w, &align, path, err, errlen);
	if (rc)
		return rc;
	uint64_t off = 0;
	for (int64_t i = 0; i < w->n_tensors; i++) {
		w->tensors[i].offset = off;
		off += (w->tensors[i].size + align - 1) / align * align;
	}

	struct atomic_file *f;
	rc = atomic_file_begin(&f, path, 0644, err, errlen);
	if (rc)
		return rc;
	write_header(w, f, align);
	rc = atomic_file_error(f, err, errlen);
	uint8_t *buf = NULL;
	size_t buf_cap = 0;
	for (int64_t i = 0; i < w->n_tensors && !rc; i++) {
		struct wtensor *t = &w->tensors[i];
		if (t->fill)
			rc = write_rows(t, f, path, &buf, &buf_cap, err, errlen);
		else
			atomic_file_write(f, t->data, (size_t)t->size);
		if (rc)
			break;
		wfile_pad(f, align);
		rc = atomic_file_error(f, err, errlen);
		if (!rc && w->progress)
			w->progress(w->progress_user, i, t->name, t->size);
	}
	free(buf);
	if (rc) {
		atomic_file_abort(f);
		return rc;
	}
	return atomic_file_commit(f, err, errlen);
}
