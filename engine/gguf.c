/* GGUF reader.
 *
 * File layout (little-endian; v1 uses 32-bit counts and lengths where v2/v3
 * use 64-bit ones):
 *   magic "GGUF" | u32 version | n_tensors | n_kv
 *   n_kv x (string key | u32 value type | value)
 *   n_tensors x (string name | u32 n_dims | n_dims x dim | u32 type | u64 offset)
 *   padding to general.alignment (default 32) | tensor data
 * A string is a length followed by that many bytes (no NUL). An array value
 * is u32 element type | count | elements.
 *
 * The whole metadata is copied into an arena (keys and strings get a NUL), so
 * after gguf_open the mapping is only used for tensor data. */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest key or tensor name accepted. */
#define GGUF_MAX_NAME 65535

struct gguf_value {
	enum gguf_vtype type;
	union {
		uint64_t u;
		int64_t i;
		double f;
		bool b;
		struct {
			char *s;
			uint64_t len;
		} str;
		struct gguf_arr *arr;
	};
};

/* An array value, kept out of line so that scalar values stay small. */
struct gguf_arr {
	enum gguf_vtype type;
	uint64_t n;
	/* numeric: a packed C array of the element type; string and nested: NULL */
	void *data;
	/* every element as a value */
	struct gguf_value *items;
};

struct gguf_kv {
	char *key;
	struct gguf_value value;
};

/* A chunk of the metadata arena. */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

struct gguf {
	char *path;
	const uint8_t *base;   /* the file bytes */
	uint64_t size;
	bool mapped;           /* base is an mmap to unmap */
	bool owned;            /* base is a malloc'd copy to free */
	uint32_t version;
	uint64_t alignment;
	uint64_t data_offset;

	int64_t n_kv;
	struct gguf_kv *kv;
	int64_t n_tensors;
	struct gguf_tensor *tensors;

	/* Open-addressing hash tables of indices (+1; 0 = empty). */
	uint32_t *kv_hash, *tensor_hash;
	uint64_t kv_hash_cap, tensor_hash_cap;

	struct arena_chunk *arena;
	size_t arena_next_cap;  /* size of the next arena chunk */

	/* The other files of a split model whose tensors this one lists
	 * (gguf_merge); freed with it. */
	struct gguf **parts;
	int n_parts;
};

/* The parsing cursor; err/errlen receive the first error. */
struct reader {
	struct gguf *g;
	uint64_t pos;
	char *err;
	size_t errlen;
};

static void *arena_alloc(struct gguf *g, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct arena_chunk *c = g->arena;
	if (!c || c->cap - c->used < n) {
		/* Chunks start small (most files have little metadata) and
		 * double up to 16 MiB, so big vocabularies need few mallocs. */
		size_t cap = g->arena_next_cap ? g->arena_next_cap : (size_t)16 << 10;
		if (cap < (size_t)16 << 20)
			g->arena_next_cap = cap * 2;
		if (cap < n)
			cap = n;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = g->arena;
		c->used = 0;
		c->cap = cap;
		g->arena = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

static void arena_free(struct arena_chunk *c)
{
	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
}

static int reader_fail(struct reader *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int reader_fail(struct reader *r, int code, const char *fmt, ...)
{
	if (r->err && r->errlen) {
		int n = snprintf(r->err, r->errlen, "%s: ", r->g->path);
		if (n >= 0 && (size_t)n < r->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
			va_end(ap);
			/* Key and tensor names come from the file: keep their control
			 * characters out so the message stays one harmless line. */
			for (char *c = r->err + n; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = '?';
		}
	}
	return code;
}

static uint64_t reader_left(const struct reader *r)
{
	return r->g->size - r->pos;
}

static int reader_bytes(struct reader *r, void *dst, uint64_t n, const char *what)
{
	if (reader_left(r) < n)
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": %s: needs %" PRIu64
				   " bytes, file ends at 0x%" PRIx64, r->pos, what, n, r->g->size);
	memcpy(dst, r->g->base + r->pos, n);
	r->pos += n;
	return 0;
}

/* Values are little-endian in the file; we only run on little-endian hosts. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host required");

static int reader_u32(struct reader *r, uint32_t *out, const char *what)
{
	return reader_bytes(r, out, 4, what);
}

static int reader_u64(struct reader *r, uint64_t *out, const char *what)
{
	return reader_bytes(r, out, 8, what);
}

/* Counts and lengths: 32 bits in v1, 64 bits later. */
static int reader_count(struct reader *r, uint64_t *out, const char *what)
{
	if (r->g->version == 1) {
		uint32_t v;
		int rc = reader_u32(r, &v, what);
		*out = v;
		return rc;
	}
	return reader_u64(r, out, what);
}

static uint64_t count_bytes(const struct gguf *g)
{
	return g->version == 1 ? 4 : 8;
}

/* Reads a string into the arena with a terminating NUL. */
static int reader_string(struct reader *r, char **out, uint64_t *len_out, const char *what)
{
	uint64_t start = r->pos, len;
	int rc = reader_count(r, &len, what);
	if (rc)
		return rc;
	if (len > reader_left(r))
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": %s: string length %" PRIu64
				   " runs past end of file (0x%" PRIx64 ")", start, what, len, r->g->size);
	char *s = arena_alloc(r->g, len + 1);
	if (!s)
		return reader_fail(r, LT_E_NOMEM, "%s: out of memory", what);
	memcpy(s, r->g->base + r->pos, len);
	s[len] = 0;
	r->pos += len;
	*out = s;
	if (len_out)
		*len_out = len;
	return 0;
}

static int reader_value(struct reader *r, enum gguf_vtype type, struct gguf_value *v,
			const char *what, int depth);

/* Fills v->u/i/f/b from raw little-endian bytes of a scalar type. */
static void value_from_raw(struct gguf_value *v, enum gguf_vtype type, const uint8_t *p)
{
	v->type = type;
	switch (type) {
	case GGUF_VTYPE_UINT8: v->u = p[0]; break;
	case GGUF_VTYPE_INT8: v->i = (int8_t)p[0]; break;
	case GGUF_VTYPE_BOOL: v->b = p[0] != 0; break;
	case GGUF_VTYPE_UINT16: { uint16_t x; memcpy(&x, p, 2); v->u = x; break; }
	case GGUF_VTYPE_INT16: { int16_t x; memcpy(&x, p, 2); v->i = x; break; }
	case GGUF_VTYPE_UINT32: { uint32_t x; memcpy(&x, p, 4); v->u = x; break; }
	case GGUF_VTYPE_INT32: { int32_t x; memcpy(&x, p, 4); v->i = x; break; }
	case GGUF_VTYPE_FLOAT32: { float x; memcpy(&x, p, 4); v->f = x; break; }
	case GGUF_VTYPE_UINT64: { uint64_t x; memcpy(&x, p, 8); v->u = x; break; }
	case GGUF_VTYPE_INT64: { int64_t x; memcpy(&x, p, 8); v->i = x; break; }
	case GGUF_VTYPE_FLOAT64: { double x; memcpy(&x, p, 8); v->f = x; break; }
	default: break;
	}
}

static int reader_array(struct reader *r, struct gguf_value *v, const char *what, int depth)
{
	uint64_t start = r->pos, n;
	uint32_t et;
	int rc = reader_u32(r, &et, what);
	if (rc)
		return rc;
	if (et >= GGUF_VTYPE_COUNT)
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": %s: unknown array element type %u",
				   start, what, et);
	if (et == GGUF_VTYPE_ARRAY && depth + 1 >= GGUF_MAX_DEPTH)
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": %s: arrays nested deeper than %d",
				   start, what, GGUF_MAX_DEPTH);
	rc = reader_count(r, &n, what);
	if (rc)
		return rc;
	/* The smallest encoding of one element bounds the count by the bytes left. */
	uint64_t min_elem = gguf_vtype_size(et);
	if (et == GGUF_VTYPE_STRING)
		min_elem = count_bytes(r->g);
	else if (et == GGUF_VTYPE_ARRAY)
		min_elem = 4 + count_bytes(r->g);
	if (n > reader_left(r) / min_elem)
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": %s: array of %" PRIu64
				   " %s elements runs past end of file (0x%" PRIx64 ")",
				   start, what, n, gguf_vtype_name(et), r->g->size);
	v->type = GGUF_VTYPE_ARRAY;
	v->arr = arena_alloc(r->g, sizeof(*v->arr));
	if (!v->arr)
		return reader_fail(r, LT_E_NOMEM, "%s: out of memory", what);
	v->arr->type = et;
	v->arr->n = n;
	struct gguf_value *items = arena_alloc(r->g, n * sizeof(*items) + 1);
	if (!items)
		return reader_fail(r, LT_E_NOMEM, "%s: out of memory for %" PRIu64 " items", what, n);
	v->arr->items = items;
	if (et == GGUF_VTYPE_STRING || et == GGUF_VTYPE_ARRAY) {
		v->arr->data = NULL;
		for (uint64_t i = 0; i < n; i++) {
			rc = reader_value(r, et, &items[i], what, depth + 1);
			if (rc)
				return rc;
		}
		return 0;
	}
	/* Numeric arrays are kept both packed (for bulk use) and as values. */
	size_t es = gguf_vtype_size(et);
	uint8_t *data = arena_alloc(r->g, n * es + 1);
	if (!data)
		return reader_fail(r, LT_E_NOMEM, "%s: out of memory for %" PRIu64 " items", what, n);
	v->arr->data = data;
	rc = reader_bytes(r, data, n * es, what);
	if (rc)
		return rc;
	for (uint64_t i = 0; i < n; i++)
		value_from_raw(&items[i], et, data + i * es);
	if (et == GGUF_VTYPE_BOOL) {
		/* Normalise to 0/1 so callers can read it as a C bool array. */
		for (uint64_t i = 0; i < n; i++)
			data[i] = data[i] != 0;
	}
	return 0;
}

static int reader_value(struct reader *r, enum gguf_vtype type, struct gguf_value *v,
			const char *what, int depth)
{
	if (type == GGUF_VTYPE_STRING) {
		v->type = type;
		return reader_string(r, &v->str.s, &v->str.len, what);
	}
	if (type == GGUF_VTYPE_ARRAY)
		return reader_array(r, v, what, depth);
	uint8_t raw[8];
	int rc = reader_bytes(r, raw, gguf_vtype_size(type), what);
	if (rc)
		return rc;
	value_from_raw(v, type, raw);
	return 0;
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Builds a hash table of n names; returns the index of an earlier duplicate
 * of a name (>= 0) or -1, or -2 when out of memory. */
static int64_t hash_build(uint32_t **table, uint64_t *cap, int64_t n,
			  const char *(*name_of)(const struct gguf *, int64_t), const struct gguf *g,
			  int64_t *dup_second)
{
	uint64_t c = 16;
	while (c < (uint64_t)n * 2)
		c <<= 1;
	uint32_t *t = calloc(c, sizeof(*t));
	if (!t)
		return -2;
	*table = t;
	*cap = c;
	for (int64_t i = 0; i < n; i++) {
		const char *name = name_of(g, i);
		uint64_t h = name_hash(name) & (c - 1);
		while (t[h]) {
			if (strcmp(name_of(g, t[h] - 1), name) == 0) {
				*dup_second = i;
				return t[h] - 1;
			}
			h = (h + 1) & (c - 1);
		}
		t[h] = (uint32_t)(i + 1);
	}
	return -1;
}

static int64_t hash_find(const uint32_t *t, uint64_t cap, const char *name,
			 const char *(*name_of)(const struct gguf *, int64_t), const struct gguf *g)
{
	if (!t)
		return -1;
	uint64_t h = name_hash(name) & (cap - 1);
	while (t[h]) {
		if (strcmp(name_of(g, t[h] - 1), name) == 0)
			return t[h] - 1;
		h = (h + 1) & (cap - 1);
	}
	return -1;
}

static const char *kv_name_of(const struct gguf *g, int64_t i)
{
	return g->kv[i].key;
}

static const char *tensor_name_of(const struct gguf *g, int64_t i)
{
	return g->tensors[i].name;
}

static int parse_header(struct reader *r, uint64_t *n_tensors, uint64_t *n_kv)
{
	struct gguf *g = r->g;
	char magic[4];
	int rc = reader_bytes(r, magic, 4, "magic");
	if (rc)
		return rc;
	if (memcmp(magic, "GGUF", 4) != 0)
		return reader_fail(r, LT_E_FORMAT, "offset 0x0: magic: not a GGUF file (starts with %02x %02x %02x %02x)",
				   (unsigned char)magic[0], (unsigned char)magic[1],
				   (unsigned char)magic[2], (unsigned char)magic[3]);
	rc = reader_u32(r, &g->version, "version");
	if (rc)
		return rc;
	if (g->version == 0 || g->version > 3) {
		if (g->version != 0 && (g->version & 0xffff) == 0)
			return reader_fail(r, LT_E_UNSUPPORTED, "offset 0x4: version: 0x%08x looks like a big-endian GGUF file, which is not supported",
					   g->version);
		return reader_fail(r, LT_E_UNSUPPORTED, "offset 0x4: version: unsupported GGUF version %u (1, 2 and 3 are)",
				   g->version);
	}
	rc = reader_count(r, n_tensors, "tensor count");
	if (!rc)
		rc = reader_count(r, n_kv, "metadata key count");
	if (rc)
		return rc;
	/* A key needs at least a length, one byte and a type; a tensor a name
	 * length, n_dims, one dim, a type and an offset. */
	uint64_t cb = count_bytes(g);
	if (*n_kv > reader_left(r) / (cb + 1 + 4 + 1))
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": metadata key count %" PRIu64
				   " cannot fit in a file of %" PRIu64 " bytes", r->pos - cb, *n_kv, g->size);
	if (*n_tensors > reader_left(r) / (cb + 1 + 4 + cb + 4 + 8))
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": tensor count %" PRIu64
				   " cannot fit in a file of %" PRIu64 " bytes", r->pos - 2 * cb, *n_tensors, g->size);
	return 0;
}

static int parse_kv(struct reader *r, uint64_t n_kv)
{
	struct gguf *g = r->g;
	g->kv = calloc(n_kv ? n_kv : 1, sizeof(*g->kv));
	if (!g->kv)
		return reader_fail(r, LT_E_NOMEM, "out of memory for %" PRIu64 " metadata keys", n_kv);
	for (uint64_t i = 0; i < n_kv; i++) {
		uint64_t start = r->pos, key_len;
		char what[64];
		snprintf(what, sizeof(what), "metadata key %" PRIu64, i);
		int rc = reader_string(r, &g->kv[i].key, &key_len, what);
		if (rc)
			return rc;
		if (key_len == 0 || key_len > GGUF_MAX_NAME || strlen(g->kv[i].key) != key_len)
			return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": %s: empty, overlong or NUL-containing key name",
					   start, what);
		g->n_kv = (int64_t)i + 1;
		uint64_t type_pos = r->pos;
		uint32_t type;
		rc = reader_u32(r, &type, g->kv[i].key);
		if (rc)
			return rc;
		if (type >= GGUF_VTYPE_COUNT)
			return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": key '%s': unknown value type %u",
					   type_pos, g->kv[i].key, type);
		rc = reader_value(r, (enum gguf_vtype)type, &g->kv[i].value, g->kv[i].key, 0);
		if (rc)
			return rc;
	}
	int64_t second = 0;
	int64_t dup = hash_build(&g->kv_hash, &g->kv_hash_cap, g->n_kv, kv_name_of, g, &second);
	if (dup == -2)
		return reader_fail(r, LT_E_NOMEM, "out of memory");
	if (dup >= 0)
		return reader_fail(r, LT_E_FORMAT, "metadata key %" PRId64 " '%s': duplicate of key %" PRId64,
				   second, g->kv[dup].key, dup);
	return 0;
}

static int parse_alignment(struct reader *r)
{
	struct gguf *g = r->g;
	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	const struct gguf_value *v = gguf_get(g, "general.alignment");
	if (!v)
		return 0;
	if (v->type != GGUF_VTYPE_UINT32)
		return reader_fail(r, LT_E_FORMAT, "key 'general.alignment': type %s, expected uint32",
				   gguf_vtype_name(v->type));
	if (v->u == 0 || (v->u & (v->u - 1)))
		return reader_fail(r, LT_E_FORMAT, "key 'general.alignment': %" PRIu64 " is not a power of two",
				   v->u);
	g->alignment = v->u;
	return 0;
}

static int parse_tensor_info(struct reader *r, uint64_t i)
{
	struct gguf *g = r->g;
	struct gguf_tensor *t = &g->tensors[i];
	uint64_t start = r->pos, name_len;
	char what[64];
	snprintf(what, sizeof(what), "tensor %" PRIu64 " name", i);
	int rc = reader_string(r, (char **)&t->name, &name_len, what);
	if (rc)
		return rc;
	g->n_tensors = (int64_t)i + 1;
	if (name_len == 0 || name_len > GGUF_MAX_NAME || strlen(t->name) != name_len)
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": tensor %" PRIu64 ": empty, overlong or NUL-containing name",
				   start, i);
	uint32_t n_dims;
	uint64_t dims_pos = r->pos;
	rc = reader_u32(r, &n_dims, t->name);
	if (rc)
		return rc;
	if (n_dims == 0 || n_dims > GGUF_MAX_DIMS)
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": tensor %" PRIu64 " '%s': %u dimensions (1 to %d allowed)",
				   dims_pos, i, t->name, n_dims, GGUF_MAX_DIMS);
	t->n_dims = (int)n_dims;
	int64_t n_elements = 1;
	for (int d = 0; d < GGUF_MAX_DIMS; d++) {
		uint64_t ne = 1;
		if (d < t->n_dims) {
			uint64_t ne_pos = r->pos;
			rc = reader_count(r, &ne, t->name);
			if (rc)
				return rc;
			if (ne > INT64_MAX || (ne && (uint64_t)n_elements > (uint64_t)INT64_MAX / ne))
				return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": tensor %" PRIu64 " '%s': dimension %d (%" PRIu64 ") overflows the element count",
						   ne_pos, i, t->name, d, ne);
		}
		t->ne[d] = (int64_t)ne;
		n_elements *= (int64_t)ne;
	}
	t->n_elements = n_elements;
	uint32_t type;
	uint64_t type_pos = r->pos;
	rc = reader_u32(r, &type, t->name);
	if (rc)
		return rc;
	const struct dtype_info *info = dtype_info((int)type);
	if (!info)
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": tensor %" PRIu64 " '%s': unknown tensor type %u",
				   type_pos, i, t->name, type);
	t->type = (enum ggml_type)type;
	if (t->ne[0] % info->block_size)
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": tensor %" PRIu64 " '%s': row length %" PRId64
				   " is not a multiple of the %s block size %d",
				   dims_pos, i, t->name, t->ne[0], info->name, info->block_size);
	/* Up to 8 bytes per element can overflow 64 bits even though the element
	 * count fits, and a wrapped size would pass the range checks below. */
	uint64_t n_blocks = (uint64_t)(n_elements / info->block_size);
	if (__builtin_mul_overflow(n_blocks, (uint64_t)info->block_bytes, &t->size))
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": tensor %" PRIu64 " '%s': %" PRId64
				   " elements of %s overflow a 64-bit byte count",
				   dims_pos, i, t->name, n_elements, info->name);
	uint64_t off_pos = r->pos;
	rc = reader_u64(r, &t->offset, t->name);
	if (rc)
		return rc;
	if (t->offset % g->alignment)
		return reader_fail(r, LT_E_FORMAT, "offset 0x%" PRIx64 ": tensor %" PRIu64 " '%s': data offset 0x%" PRIx64
				   " is not a multiple of the alignment %" PRIu64,
				   off_pos, i, t->name, t->offset, g->alignment);
	return 0;
}

static int cmp_by_offset(const void *a, const void *b)
{
	const struct gguf_tensor *x = *(const struct gguf_tensor *const *)a;
	const struct gguf_tensor *y = *(const struct gguf_tensor *const *)b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Checks each tensor's data range against the file and against the others. */
static int check_tensor_data(struct reader *r)
{
	struct gguf *g = r->g;
	uint64_t data_size = g->size >= g->data_offset ? g->size - g->data_offset : 0;
	for (int64_t i = 0; i < g->n_tensors; i++) {
		struct gguf_tensor *t = &g->tensors[i];
		if (t->offset > data_size || t->size > data_size - t->offset) {
			uint64_t lo = g->data_offset + t->offset;
			return reader_fail(r, LT_E_FORMAT, "tensor %" PRId64 " '%s': data range 0x%" PRIx64 "..0x%" PRIx64
					   " beyond end of file (0x%" PRIx64 ")",
					   i, t->name, lo, lo + t->size, g->size);
		}
		t->data = g->base + g->data_offset + t->offset;
	}
	if (g->n_tensors < 2)
		return 0;
	const struct gguf_tensor **order = malloc((size_t)g->n_tensors * sizeof(*order));
	if (!order)
		return reader_fail(r, LT_E_NOMEM, "out of memory");
	for (int64_t i = 0; i < g->n_tensors; i++)
		order[i] = &g->tensors[i];
	qsort(order, (size_t)g->n_tensors, sizeof(*order), cmp_by_offset);
	int rc = 0;
	for (int64_t i = 1; i < g->n_tensors && !rc; i++) {
		const struct gguf_tensor *a = order[i - 1], *b = order[i];
		if (a->offset + a->size > b->offset)
			rc = reader_fail(r, LT_E_FORMAT, "tensor '%s': data range 0x%" PRIx64 "..0x%" PRIx64
					 " overlaps tensor '%s' at 0x%" PRIx64,
					 b->name, g->data_offset + b->offset, g->data_offset + b->offset + b->size,
					 a->name, g->data_offset + a->offset);
	}
	free(order);
	return rc;
}

static int gguf_parse(struct gguf *g, char *err, size_t errlen)
{
	struct reader r = { .g = g, .err = err, .errlen = errlen };
	uint64_t n_tensors, n_kv;
	int rc = parse_header(&r, &n_tensors, &n_kv);
	if (!rc)
		rc = parse_kv(&r, n_kv);
	if (!rc)
		rc = parse_alignment(&r);
	if (rc)
		return rc;
	g->tensors = calloc(n_tensors ? n_tensors : 1, sizeof(*g->tensors));
	if (!g->tensors)
		return reader_fail(&r, LT_E_NOMEM, "out of memory for %" PRIu64 " tensors", n_tensors);
	for (uint64_t i = 0; i < n_tensors; i++) {
		rc = parse_tensor_info(&r, i);
		if (rc)
			return rc;
	}
	int64_t second = 0;
	int64_t dup = hash_build(&g->tensor_hash, &g->tensor_hash_cap, g->n_tensors, tensor_name_of, g, &second);
	if (dup == -2)
		return reader_fail(&r, LT_E_NOMEM, "out of memory");
	if (dup >= 0)
		return reader_fail(&r, LT_E_FORMAT, "tensor %" PRId64 " '%s': duplicate of tensor %" PRId64,
				   second, g->tensors[dup].name, dup);
	uint64_t pad = (g->alignment - r.pos % g->alignment) % g->alignment;
	g->data_offset = r.pos + pad;
	return check_tensor_data(&r);
}

static struct gguf *gguf_alloc(const char *path)
{
	struct gguf *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->path = strdup(path);
	if (!g->path) {
		free(g);
		return NULL;
	}
	return g;
}

int gguf_open_buffer(struct gguf **out, const void *buf, size_t size, const char *name,
		     char *err, size_t errlen)
{
	*out = NULL;
	if (!name)
		name = "(buffer)";
	struct gguf *g = gguf_alloc(name);
	if (!g)
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", name);
	g->base = buf;
	g->size = size;
	int rc = gguf_parse(g, err, errlen);
	if (rc) {
		gguf_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

static int read_all(int fd, uint8_t *dst, uint64_t size)
{
	uint64_t done = 0;
	while (done < size) {
		ssize_t n = read(fd, dst + done, size - done > (1u << 30) ? (1u << 30) : size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (uint64_t)n;
	}
	return 0;
}

int gguf_open(struct gguf **out, const char *path, int flags, char *err, size_t errlen)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lt_seterr(err, errlen, LT_E_IO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return lt_seterr(err, errlen, LT_E_IO, "%s: cannot stat: %s", path, strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return lt_seterr(err, errlen, LT_E_IO, "%s: is a directory, not a GGUF file", path);
	}
	if (st.st_size == 0) {
		close(fd);
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: empty file, not a GGUF file", path);
	}
	struct gguf *g = gguf_alloc(path);
	if (!g) {
		close(fd);
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	}
	g->size = (uint64_t)st.st_size;
	if (!(flags & GGUF_OPEN_NO_MMAP)) {
		void *p = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			g->base = p;
			g->mapped = true;
			if (flags & GGUF_OPEN_MLOCK)
				(void)mlock(p, g->size); /* best effort: RLIMIT_MEMLOCK may forbid it */
		}
	}
	if (!g->base) {
		uint8_t *p = malloc(g->size);
		if (!p) {
			close(fd);
			gguf_free(g);
			return lt_seterr(err, errlen, LT_E_NOMEM, "%s: cannot allocate %" PRIu64 " bytes to read it",
					 path, (uint64_t)st.st_size);
		}
		g->base = p;
		g->owned = true;
		int e = read_all(fd, p, g->size);
		if (e) {
			close(fd);
			gguf_free(g);
			return lt_seterr(err, errlen, LT_E_IO, "%s: read failed: %s", path, strerror(-e));
		}
	}
	close(fd);
	int rc = gguf_parse(g, err, errlen);
	if (rc) {
		gguf_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

/* Indexes g's first n tensors by name; returns as hash_build does. */
static int64_t tensor_index(struct gguf *g, int64_t n, int64_t *second)
{
	uint32_t *old = g->tensor_hash;
	int64_t dup = hash_build(&g->tensor_hash, &g->tensor_hash_cap, n, tensor_name_of, g, second);
	if (g->tensor_hash != old)
		free(old);
	return dup;
}

int gguf_merge(struct gguf *g, struct gguf *part, char *err, size_t errlen)
{
	struct gguf **parts = realloc(g->parts, (size_t)(g->n_parts + 1) * sizeof(*parts));
	if (!parts) {
		int rc = lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", part->path);
		gguf_free(part);
		return rc;
	}
	g->parts = parts;
	g->parts[g->n_parts++] = part;
	struct gguf_tensor *t = realloc(g->tensors,
					(size_t)(g->n_tensors + part->n_tensors) * sizeof(*t));
	if (!t)
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", part->path);
	g->tensors = t;
	/* The names live in part's arena and the data in its mapping, both
	 * kept as long as g. */
	memcpy(g->tensors + g->n_tensors, part->tensors, (size_t)part->n_tensors * sizeof(*t));
	int64_t n_before = g->n_tensors, second = 0;
	int64_t dup = tensor_index(g, n_before + part->n_tensors, &second);
	if (dup == -2)
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", part->path);
	if (dup >= 0) {
		int rc = lt_seterr(err, errlen, LT_E_FORMAT, "%s: tensor '%s' is also in %s", part->path,
				   g->tensors[second].name, g->path);
		tensor_index(g, n_before, &second); /* g lists what it did before */
		return rc;
	}
	g->n_tensors = n_before + part->n_tensors;
	return LT_OK;
}

void gguf_free(struct gguf *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_parts; i++)
		gguf_free(g->parts[i]);
	free(g->parts);
	if (g->mapped)
		munmap((void *)g->base, g->size);
	else if (g->owned)
		free((void *)g->base);
	free(g->kv);
	free(g->tensors);
	free(g->kv_hash);
	free(g->tensor_hash);
	arena_free(g->arena);
	free(g->path);
	free(g);
}

const char *gguf_path(const struct gguf *g) { return g->path; }
uint32_t gguf_version(const struct gguf *g) { return g->version; }
uint64_t gguf_file_size(const struct gguf *g) { return g->size; }
uint64_t gguf_alignment(const struct gguf *g) { return g->alignment; }
uint64_t gguf_data_offset(const struct gguf *g) { return g->data_offset; }
bool gguf_is_mapped(const struct gguf *g) { return g->mapped; }
int64_t gguf_n_kv(const struct gguf *g) { return g->n_kv; }
int64_t gguf_n_tensors(const struct gguf *g) { return g->n_tensors; }

const char *gguf_kv_key(const struct gguf *g, int64_t i)
{
	return i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}

const struct gguf_value *gguf_kv_value(const struct gguf *g, int64_t i)
{
	return i >= 0 && i < g->n_kv ? &g->kv[i].value : NULL;
}

int64_t gguf_find_key(const struct gguf *g, const char *key)
{
	return hash_find(g->kv_hash, g->kv_hash_cap, key, kv_name_of, g);
}

const struct gguf_value *gguf_get(const struct gguf *g, const char *key)
{
	return gguf_kv_value(g, gguf_find_key(g, key));
}

const struct gguf_tensor *gguf_tensor(const struct gguf *g, int64_t i)
{
	return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const struct gguf_tensor *gguf_find_tensor(const struct gguf *g, const char *name)
{
	return gguf_tensor(g, hash_find(g->tensor_hash, g->tensor_hash_cap, name, tensor_name_of, g));
}

static bool vtype_is_signed(enum gguf_vtype t)
{
	return t == GGUF_VTYPE_INT8 || t == GGUF_VTYPE_INT16 || t == GGUF_VTYPE_INT32 || t == GGUF_VTYPE_INT64;
}

static bool vtype_is_unsigned(enum gguf_vtype t)
{
	return t == GGUF_VTYPE_UINT8 || t == GGUF_VTYPE_UINT16 || t == GGUF_VTYPE_UINT32 || t == GGUF_VTYPE_UINT64;
}

int gguf_get_i64(const struct gguf *g, const char *key, int64_t *out)
{
	const struct gguf_value *v = gguf_get(g, key);
	if (!v)
		return LT_E_NOTFOUND;
	if (vtype_is_signed(v->type)) {
		*out = v->i;
		return 0;
	}
	if (vtype_is_unsigned(v->type)) {
		if (v->u > INT64_MAX)
			return LT_E_RANGE;
		*out = (int64_t)v->u;
		return 0;
	}
	return LT_E_TYPE;
}

int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out)
{
	int64_t x;
	int rc = gguf_get_i64(g, key, &x);
	if (rc)
		return rc;
	if (x < 0 || x > UINT32_MAX)
		return LT_E_RANGE;
	*out = (uint32_t)x;
	return 0;
}

int gguf_get_f32(const struct gguf *g, const char *key, float *out)
{
	const struct gguf_value *v = gguf_get(g, key);
	if (!v)
		return LT_E_NOTFOUND;
	if (v->type != GGUF_VTYPE_FLOAT32 && v->type != GGUF_VTYPE_FLOAT64)
		return LT_E_TYPE;
	*out = (float)v->f;
	return 0;
}

int gguf_get_bool(const struct gguf *g, const char *key, bool *out)
{
	const struct gguf_value *v = gguf_get(g, key);
	if (!v)
		return LT_E_NOTFOUND;
	if (v->type != GGUF_VTYPE_BOOL)
		return LT_E_TYPE;
	*out = v->b;
	return 0;
}

int gguf_get_str(const struct gguf *g, const char *key, const char **out, size_t *len)
{
	const struct gguf_value *v = gguf_get(g, key);
	if (!v)
		return LT_E_NOTFOUND;
	if (v->type != GGUF_VTYPE_STRING)
		return LT_E_TYPE;
	*out = v->str.s;
	if (len)
		*len = v->str.len;
	return 0;
}

int gguf_get_arr(const struct gguf *g, const char *key, enum gguf_vtype *elem_type, uint64_t *n)
{
	const struct gguf_value *v = gguf_get(g, key);
	if (!v)
		return LT_E_NOTFOUND;
	if (v->type != GGUF_VTYPE_ARRAY)
		return LT_E_TYPE;
	if (elem_type)
		*elem_type = v->arr->type;
	if (n)
		*n = v->arr->n;
	return 0;
}

enum gguf_vtype gguf_value_type(const struct gguf_value *v)
{
	return v->type;
}

int64_t gguf_value_i64(const struct gguf_value *v)
{
	if (vtype_is_signed(v->type))
		return v->i;
	if (vtype_is_unsigned(v->type))
		return (int64_t)v->u;
	if (v->type == GGUF_VTYPE_FLOAT32 || v->type == GGUF_VTYPE_FLOAT64) {
		/* Converting NaN or an out-of-range float is undefined, so clamp. */
		if (!(v->f == v->f))
			return 0;
		if (v->f >= 9223372036854775807.0)
			return INT64_MAX;
		if (v->f <= -9223372036854775808.0)
			return INT64_MIN;
		return (int64_t)v->f;
	}
	if (v->type == GGUF_VTYPE_BOOL)
		return v->b;
	return 0;
}

uint64_t gguf_value_u64(const struct gguf_value *v)
{
	if (vtype_is_unsigned(v->type))
		return v->u;
	return (uint64_t)gguf_value_i64(v);
}

double gguf_value_f64(const struct gguf_value *v)
{
	if (v->type == GGUF_VTYPE_FLOAT32 || v->type == GGUF_VTYPE_FLOAT64)
		return v->f;
	if (vtype_is_unsigned(v->type))
		return (double)v->u;
	return (double)gguf_value_i64(v);
}

bool gguf_value_bool(const struct gguf_value *v)
{
	return v->type == GGUF_VTYPE_BOOL ? v->b : gguf_value_i64(v) != 0;
}

const char *gguf_value_str(const struct gguf_value *v, size_t *len)
{
	if (v->type != GGUF_VTYPE_STRING) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = v->str.len;
	return v->str.s;
}

enum gguf_vtype gguf_value_arr_type(const struct gguf_value *v)
{
	return v->type == GGUF_VTYPE_ARRAY ? v->arr->type : GGUF_VTYPE_COUNT;
}

uint64_t gguf_value_arr_len(const struct gguf_value *v)
{
	return v->type == GGUF_VTYPE_ARRAY ? v->arr->n : 0;
}

const void *gguf_value_arr_data(const struct gguf_value *v)
{
	return v->type == GGUF_VTYPE_ARRAY ? v->arr->data : NULL;
}

const struct gguf_value *gguf_value_arr_item(const struct gguf_value *v, uint64_t i)
{
	if (v->type != GGUF_VTYPE_ARRAY || i >= v->arr->n)
		return NULL;
	return &v->arr->items[i];
}

int64_t gguf_value_arr_i64(const struct gguf_value *v, uint64_t i)
{
	const struct gguf_value *x = gguf_value_arr_item(v, i);
	return x ? gguf_value_i64(x) : 0;
}

double gguf_value_arr_f64(const struct gguf_value *v, uint64_t i)
{
	const struct gguf_value *x = gguf_value_arr_item(v, i);
	return x ? gguf_value_f64(x) : 0;
}

const char *gguf_value_arr_str(const struct gguf_value *v, uint64_t i, size_t *len)
{
	if (v->type != GGUF_VTYPE_ARRAY || v->arr->type != GGUF_VTYPE_STRING || i >= v->arr->n) {
		if (len)
			*len = 0;
		return NULL;
	}
	return gguf_value_str(&v->arr->items[i], len);
}

const char *gguf_vtype_name(enum gguf_vtype t)
{
	static const char *const names[GGUF_VTYPE_COUNT] = {
		[GGUF_VTYPE_UINT8] = "uint8", [GGUF_VTYPE_INT8] = "int8",
		[GGUF_VTYPE_UINT16] = "uint16", [GGUF_VTYPE_INT16] = "int16",
		[GGUF_VTYPE_UINT32] = "uint32", [GGUF_VTYPE_INT32] = "int32",
		[GGUF_VTYPE_FLOAT32] = "float32", [GGUF_VTYPE_BOOL] = "bool",
		[GGUF_VTYPE_STRING] = "string", [GGUF_VTYPE_ARRAY] = "array",
		[GGUF_VTYPE_UINT64] = "uint64", [GGUF_VTYPE_INT64] = "int64",
		[GGUF_VTYPE_FLOAT64] = "float64",
	};
	return (unsigned)t < GGUF_VTYPE_COUNT ? names[t] : "?";
}

size_t gguf_vtype_size(enum gguf_vtype t)
{
	switch (t) {
	case GGUF_VTYPE_UINT8: case GGUF_VTYPE_INT8: case GGUF_VTYPE_BOOL: return 1;
	case GGUF_VTYPE_UINT16: case GGUF_VTYPE_INT16: return 2;
	case GGUF_VTYPE_UINT32: case GGUF_VTYPE_INT32: case GGUF_VTYPE_FLOAT32: return 4;
	case GGUF_VTYPE_UINT64: case GGUF_VTYPE_INT64: case GGUF_VTYPE_FLOAT64: return 8;
	default: return 0;
	}
}
