/* llamaterm quantize: converts a GGUF model to another tensor type or to one
 * of llama.cpp's quantization mixes, streaming tensor by tensor.
 *
 * Which tensors get which type follows llama.cpp's llama_tensor_get_type
 * (for dense, non-Falcon, non-70B models without an importance matrix):
 *
 *   never converted   1-D tensors, names not ending in "weight", *_norm.weight
 *                     (they keep their type, normally f32)
 *   F32 F16 BF16      every other tensor gets the type
 *   --pure            every other tensor gets the base type (then fallback)
 *
 *   mix      base  output.weight   attn_v               ffn_down              attn_output
 *   Q4_0..Q5_1     q6_K            base                 base                  base
 *   Q8_0     q8_0  q8_0            base                 base                  base
 *   Q2_K     q2_K  q6_K            q4_K if GQA>=4,      q3_K                  q3_K
 *                                  else q3_K
 *   Q3_K_S   q3_K  q6_K            base                 base                  base
 *   Q3_K_M   q3_K  q6_K            q5_K layers 0-1,     q5_K first n/16,      q4_K
 *                                  else q4_K            else q4_K
 *   Q3_K_L   q3_K  q6_K            q5_K                 q5_K                  q5_K
 *   Q4_K_S   q4_K  q6_K            q5_K layers 0-3      q5_K first n/8        base
 *   Q4_K_M   q4_K  q6_K            q6_K on more-bits    q6_K on more-bits     base
 *   Q5_K_S   q5_K  q6_K            base                 base                  base
 *   Q5_K_M   q5_K  q6_K            q6_K on more-bits    q6_K on more-bits     base
 *   Q6_K     q6_K  q6_K            base                 base                  base
 *
 * "more-bits" layers are i < n/8, i >= 7n/8, and every third layer between.
 * token_embd.weight gets the base type, unless the model has no
 * output.weight (tied embeddings): then it is treated like output.weight.
 * output.weight becomes q8_0 instead of q6_K when its rows are not whole
 * blocks of the base type. Q3_K, Q4_K and Q5_K are aliases of the _M mixes.
 *
 * Rows that are not whole blocks of the chosen type fall back (and the
 * fallback is reported): q2_K, q3_K -> q4_0; q4_K -> q5_0; q5_K -> q5_1;
 * q6_K -> q8_0; and to f16 when even 32 does not divide the row. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "commands.h"
#include "dtype.h"
#include "gguf.h"
#include "gguf_write.h"
#include "options.h"
#include "quant.h"

/* llama.cpp's LLAMA_FTYPE numbering, written to general.file_type. */
enum quant_ftype {
	FTYPE_ALL_F32 = 0,
	FTYPE_MOSTLY_F16 = 1,
	FTYPE_MOSTLY_Q4_0 = 2,
	FTYPE_MOSTLY_Q4_1 = 3,
	FTYPE_MOSTLY_Q8_0 = 7,
	FTYPE_MOSTLY_Q5_0 = 8,
	FTYPE_MOSTLY_Q5_1 = 9,
	FTYPE_MOSTLY_Q2_K = 10,
	FTYPE_MOSTLY_Q3_K_S = 11,
	FTYPE_MOSTLY_Q3_K_M = 12,
	FTYPE_MOSTLY_Q3_K_L = 13,
	FTYPE_MOSTLY_Q4_K_S = 14,
	FTYPE_MOSTLY_Q4_K_M = 15,
	FTYPE_MOSTLY_Q5_K_S = 16,
	FTYPE_MOSTLY_Q5_K_M = 17,
	FTYPE_MOSTLY_Q6_K = 18,
	FTYPE_MOSTLY_BF16 = 32,
};

/* The quantization format version ggml's block layouts correspond to. */
#define QUANT_VERSION 2

struct quant_mix {
	const char *name;
	enum quant_ftype ftype;
	enum ggml_type base;
	const char *desc;
};

static const struct quant_mix quant_mixes[] = {
	{ "F32", FTYPE_ALL_F32, GGML_TYPE_F32, "32-bit floats" },
	{ "F16", FTYPE_MOSTLY_F16, GGML_TYPE_F16, "16-bit floats" },
	{ "BF16", FTYPE_MOSTLY_BF16, GGML_TYPE_BF16, "bfloat16" },
	{ "Q8_0", FTYPE_MOSTLY_Q8_0, GGML_TYPE_Q8_0, "8.50 bpw" },
	{ "Q4_0", FTYPE_MOSTLY_Q4_0, GGML_TYPE_Q4_0, "4.50 bpw" },
	{ "Q4_1", FTYPE_MOSTLY_Q4_1, GGML_TYPE_Q4_1, "5.00 bpw" },
	{ "Q5_0", FTYPE_MOSTLY_Q5_0, GGML_TYPE_Q5_0, "5.50 bpw" },
	{ "Q5_1", FTYPE_MOSTLY_Q5_1, GGML_TYPE_Q5_1, "6.00 bpw" },
	{ "Q2_K", FTYPE_MOSTLY_Q2_K, GGML_TYPE_Q2_K, "q2_K with q3_K/q4_K for sensitive tensors" },
	{ "Q3_K_S", FTYPE_MOSTLY_Q3_K_S, GGML_TYPE_Q3_K, "q3_K" },
	{ "Q3_K_M", FTYPE_MOSTLY_Q3_K_M, GGML_TYPE_Q3_K, "q3_K with q4_K/q5_K for sensitive tensors" },
	{ "Q3_K", FTYPE_MOSTLY_Q3_K_M, GGML_TYPE_Q3_K, "alias of Q3_K_M" },
	{ "Q3_K_L", FTYPE_MOSTLY_Q3_K_L, GGML_TYPE_Q3_K, "q3_K with q5_K for sensitive tensors" },
	{ "Q4_K_S", FTYPE_MOSTLY_Q4_K_S, GGML_TYPE_Q4_K, "q4_K with q5_K for the first layers" },
	{ "Q4_K_M", FTYPE_MOSTLY_Q4_K_M, GGML_TYPE_Q4_K, "q4_K with q6_K for half of attn_v and ffn_down" },
	{ "Q4_K", FTYPE_MOSTLY_Q4_K_M, GGML_TYPE_Q4_K, "alias of Q4_K_M" },
	{ "Q5_K_S", FTYPE_MOSTLY_Q5_K_S, GGML_TYPE_Q5_K, "q5_K" },
	{ "Q5_K_M", FTYPE_MOSTLY_Q5_K_M, GGML_TYPE_Q5_K, "q5_K with q6_K for half of attn_v and ffn_down" },
	{ "Q5_K", FTYPE_MOSTLY_Q5_K_M, GGML_TYPE_Q5_K, "alias of Q5_K_M" },
	{ "Q6_K", FTYPE_MOSTLY_Q6_K, GGML_TYPE_Q6_K, "6.56 bpw" },
};

#define N_MIXES (sizeof(quant_mixes) / sizeof(quant_mixes[0]))

enum quant_cat {
	CAT_OTHER,
	CAT_TOKEN_EMBD,
	CAT_OUTPUT,
	CAT_ATTN_Q,
	CAT_ATTN_K,
	CAT_ATTN_V,
	CAT_ATTN_OUTPUT,
	CAT_FFN_DOWN,
};

/* The decision for one tensor. */
struct quant_plan {
	const struct gguf_tensor *t;
	enum ggml_type type;      /* of the output */
	enum ggml_type wanted;    /* before a fallback; == type when none */
	const struct quant_kernels *from, *to; /* NULL when copied unchanged */
};

struct quant_run {
	const struct quant_mix *mix;
	bool pure;
	int n_threads;
	int64_t n_layer;          /* {arch}.block_count, for the ffn_down rules */
	int64_t n_attn_v;         /* attn_v tensors, for the attn_v rules */
	int64_t n_gqa;            /* head_count / head_count_kv */
	bool tied;                /* no output.weight */
	bool mapped;              /* the input is mmap'ed (not read into memory) */
	struct quant_plan *plan;  /* (n_tensors) */
	int64_t n_tensors, n_fallback;
	uint64_t bytes_in, bytes_out;
	int64_t n_elements;
};

static void quantize_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm quantize [OPTIONS] IN.gguf OUT.gguf TYPE\n\n"
		     "Converts a model to TYPE, copying all metadata; 1-D tensors and norms keep\n"
		     "their type. TYPE is one of (case-insensitive):\n");
	for (size_t i = 0; i < N_MIXES; i++)
		fprintf(out, "  %-8s %s\n", quant_mixes[i].name, quant_mixes[i].desc);
	fprintf(out, "\nOptions:\n");
	options_print_help(out, OPTC_QUANTIZE);
}

static const struct quant_mix *quant_find_mix(const char *name)
{
	for (size_t i = 0; i < N_MIXES; i++)
		if (strcasecmp(quant_mixes[i].name, name) == 0)
			return &quant_mixes[i];
	/* llama.cpp's quantize also takes the file type number. */
	char *end;
	long n = strtol(name, &end, 10);
	if (*name && !*end)
		for (size_t i = 0; i < N_MIXES; i++)
			if ((long)quant_mixes[i].ftype == n)
				return &quant_mixes[i];
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Whether llama.cpp would convert this tensor at all. */
static bool quant_allowed(const struct gguf_tensor *t)
{
	if (t->n_dims < 2)
		return false;
	if (!ends_with(t->name, "weight") || strstr(t->name, "_norm.weight"))
		return false;
	/* Small or index-like tensors that llama.cpp also keeps as they are. */
	static const char *const keep[] = { "ffn_gate_inp.weight", "position_embd.weight",
		"token_types.weight", "ssm_conv1d", "attn_rel_b.weight" };
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (strstr(t->name, keep[i]))
			return false;
	return true;
}

static enum quant_cat quant_category(const char *name)
{
	if (strcmp(name, "output.weight") == 0)
		return CAT_OUTPUT;
	if (strcmp(name, "token_embd.weight") == 0)
		return CAT_TOKEN_EMBD;
	if (strstr(name, "attn_v.weight") || strstr(name, "attn_qkv.weight"))
		return CAT_ATTN_V;
	if (strstr(name, "attn_k.weight"))
		return CAT_ATTN_K;
	if (strstr(name, "attn_q.weight"))
		return CAT_ATTN_Q;
	if (strstr(name, "attn_output.weight"))
		return CAT_ATTN_OUTPUT;
	if (strstr(name, "ffn_down"))
		return CAT_FFN_DOWN;
	return CAT_OTHER;
}

/* The layer of "blk.N.*", or fallback when the name has none. */
static int64_t quant_layer(const char *name, int64_t fallback)
{
	long long l;
	if (sscanf(name, "blk.%lld.", &l) == 1 && l >= 0)
		return l;
	return fallback;
}

static bool use_more_bits(int64_t i, int64_t n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* The mix's choice before shape fallbacks (see the table at the top). */
static enum ggml_type quant_mix_type(const struct quant_run *q, const struct gguf_tensor *t,
				     int64_t attn_v_index, int64_t ffn_down_index)
{
	const enum quant_ftype f = q->mix->ftype;
	const enum ggml_type base = q->mix->base;
	const enum quant_cat cat = quant_category(t->name);
	if (!dtype_info(base)->quantized || q->pure)
		return base;
	if (cat == CAT_OUTPUT || (q->tied && cat == CAT_TOKEN_EMBD)) {
		if (t->ne[0] % dtype_info(base)->block_size)
			return GGML_TYPE_Q8_0;
		return base == GGML_TYPE_Q8_0 ? GGML_TYPE_Q8_0 : GGML_TYPE_Q6_K;
	}
	if (cat == CAT_ATTN_V) {
		const int64_t i = quant_layer(t->name, attn_v_index), n = q->n_attn_v;
		switch (f) {
		case FTYPE_MOSTLY_Q2_K: return q->n_gqa >= 4 ? GGML_TYPE_Q4_K : GGML_TYPE_Q3_K;
		case FTYPE_MOSTLY_Q3_K_M: return i < 2 ? GGML_TYPE_Q5_K : GGML_TYPE_Q4_K;
		case FTYPE_MOSTLY_Q3_K_L: return GGML_TYPE_Q5_K;
		case FTYPE_MOSTLY_Q4_K_M:
		case FTYPE_MOSTLY_Q5_K_M: return use_more_bits(i, n) ? GGML_TYPE_Q6_K : base;
		case FTYPE_MOSTLY_Q4_K_S: return i < 4 ? GGML_TYPE_Q5_K : base;
		default: return base;
		}
	}
	if (cat == CAT_FFN_DOWN) {
		const int64_t i = quant_layer(t->name, ffn_down_index), n = q->n_layer;
		switch (f) {
		case FTYPE_MOSTLY_Q2_K: return GGML_TYPE_Q3_K;
		case FTYPE_MOSTLY_Q3_K_M: return i < n / 16 ? GGML_TYPE_Q5_K : GGML_TYPE_Q4_K;
		case FTYPE_MOSTLY_Q3_K_L: return GGML_TYPE_Q5_K;
		case FTYPE_MOSTLY_Q4_K_M:
		case FTYPE_MOSTLY_Q5_K_M: return use_more_bits(i, n) ? GGML_TYPE_Q6_K : base;
		case FTYPE_MOSTLY_Q4_K_S: return i < n / 8 ? GGML_TYPE_Q5_K : base;
		default: return base;
		}
	}
	if (cat == CAT_ATTN_OUTPUT) {
		switch (f) {
		case FTYPE_MOSTLY_Q2_K: return GGML_TYPE_Q3_K;
		case FTYPE_MOSTLY_Q3_K_M: return GGML_TYPE_Q4_K;
		case FTYPE_MOSTLY_Q3_K_L: return GGML_TYPE_Q5_K;
		default: return base;
		}
	}
	return base;
}

/* A type whose blocks fit rows of n elements, starting from want. */
static enum ggml_type quant_fallback(enum ggml_type want, int64_t n)
{
	if (n % dtype_info(want)->block_size == 0)
		return want;
	enum ggml_type t;
	switch (want) {
	case GGML_TYPE_Q2_K:
	case GGML_TYPE_Q3_K: t = GGML_TYPE_Q4_0; break;
	case GGML_TYPE_Q4_K: t = GGML_TYPE_Q5_0; break;
	case GGML_TYPE_Q5_K: t = GGML_TYPE_Q5_1; break;
	case GGML_TYPE_Q6_K: t = GGML_TYPE_Q8_0; break;
	default: t = GGML_TYPE_F16; break;
	}
	return n % dtype_info(t)->block_size == 0 ? t : GGML_TYPE_F16;
}

static int64_t arch_int(const struct gguf *g, const char *arch, const char *suffix, int64_t dflt)
{
	char key[160];
	int64_t v;
	snprintf(key, sizeof(key), "%s.%s", arch, suffix);
	return gguf_get_i64(g, key, &v) == 0 ? v : dflt;
}

/* Decides every tensor's type and checks the kernels exist before any
 * output is written. Returns 0, or 1 after printing an error. */
static int quant_make_plan(struct quant_run *q, const struct gguf *g)
{
	const char *arch = "llama";
	gguf_get_str(g, "general.architecture", &arch, NULL);
	q->n_tensors = gguf_n_tensors(g);
	q->plan = calloc((size_t)q->n_tensors + 1, sizeof(*q->plan));
	if (!q->plan) {
		fprintf(stderr, "llamaterm quantize: out of memory\n");
		return 1;
	}
	q->tied = gguf_find_tensor(g, "output.weight") == NULL;
	int64_t n_ffn_down = 0;
	for (int64_t i = 0; i < q->n_tensors; i++) {
		enum quant_cat cat = quant_category(gguf_tensor(g, i)->name);
		q->n_attn_v += cat == CAT_ATTN_V;
		n_ffn_down += cat == CAT_FFN_DOWN;
	}
	q->n_layer = arch_int(g, arch, "block_count", n_ffn_down);
	int64_t n_head = arch_int(g, arch, "attention.head_count", 1);
	int64_t n_head_kv = arch_int(g, arch, "attention.head_count_kv", n_head);
	q->n_gqa = n_head_kv > 0 ? n_head / n_head_kv : 1;

	int64_t i_attn_v = 0, i_ffn_down = 0;
	for (int64_t i = 0; i < q->n_tensors; i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		struct quant_plan *p = &q->plan[i];
		p->t = t;
		p->type = p->wanted = t->type;
		if (quant_allowed(t)) {
			p->wanted = quant_mix_type(q, t, i_attn_v, i_ffn_down);
			p->type = quant_fallback(p->wanted, t->ne[0]);
			q->n_fallback += p->type != p->wanted;
		}
		enum quant_cat cat = quant_category(t->name);
		i_attn_v += cat == CAT_ATTN_V;
		i_ffn_down += cat == CAT_FFN_DOWN;
		q->bytes_in += t->size;
		q->n_elements += t->n_elements;
		if (p->type == t->type)
			continue;
		p->from = quant_ref(t->type);
		p->to = quant_ref(p->type);
		if (!p->from || !p->from->to_float) {
			fprintf(stderr, "llamaterm quantize: %s: tensor '%s' has type %s, which cannot be converted\n",
				gguf_path(g), t->name, dtype_name(t->type));
			return 1;
		}
		if (!p->to || !p->to->from_float) {
			fprintf(stderr, "llamaterm quantize: cannot produce type %s (tensor '%s')\n",
				dtype_name(p->type), t->name);
			return 1;
		}
	}
	return 0;
}

/* Converts rows [row0, row0+n_rows) of one tensor: dequantize each row to
 * floats, then quantize it. Rows are independent, so threads split them. */
static int quant_fill(void *user, int64_t row0, int64_t n_rows, void *dst, char *err, size_t errlen)
{
	const struct quant_plan *p = user;
	const int64_t n = p->t->ne[0];
	const size_t in_bytes = dtype_row_bytes(p->t->type, n), out_bytes = dtype_row_bytes(p->type, n);
	const uint8_t *src = (const uint8_t *)p->t->data + (size_t)row0 * in_bytes;
	int failed = 0;
#ifdef _OPENMP
#pragma omp parallel reduction(|:failed)
#endif
	{
		float *tmp = malloc((size_t)n * sizeof(float));
		if (!tmp)
			failed = 1;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
		for (int64_t r = 0; r < n_rows; r++) {
			if (!tmp)
				continue;
			p->from->to_float(src + (size_t)r * in_bytes, tmp, n);
			p->to->from_float(tmp, (uint8_t *)dst + (size_t)r * out_bytes, n);
		}
		free(tmp);
	}
	if (failed)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory converting '%s'", p->t->name);
	return 0;
}

static void format_shape(const struct gguf_tensor *t, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = 0;
	for (int d = 0; d < t->n_dims && used < size; d++) {
		int k = snprintf(buf + used, size - used, "%s%" PRId64, d ? ", " : "", t->ne[d]);
		if (k < 0)
			break;
		used += (size_t)k;
	}
}

/* Drops a finished tensor's input pages: they are clean file pages, so this
 * only keeps the resident size small (as llama.cpp unmaps each weight);
 * a later access would simply read them again. */
static void quant_release(const struct gguf_tensor *t)
{
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0 || t->size == 0)
		return;
	uintptr_t start = (uintptr_t)t->data, end = start + (uintptr_t)t->size;
	uintptr_t lo = (start + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	uintptr_t hi = end & ~((uintptr_t)page - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* Prints one line per finished tensor. */
static void quant_progress(void *user, int64_t i, const char *name, uint64_t bytes)
{
	struct quant_run *q = user;
	const struct quant_plan *p = &q->plan[i];
	if (q->mapped)
		quant_release(p->t);
	char shape[96];
	format_shape(p->t, shape, sizeof(shape));
	q->bytes_out += bytes;
	printf("[%4" PRId64 "/%4" PRId64 "] %-32s [%-12s] %-5s -> %-5s %9.3f MiB -> %9.3f MiB", i + 1,
	       q->n_tensors, name, shape, dtype_name(p->t->type), dtype_name(p->type),
	       (double)p->t->size / (1024.0 * 1024.0), (double)bytes / (1024.0 * 1024.0));
	if (p->type != p->wanted)
		printf("  (fallback: %" PRId64 " columns are not whole %s blocks)", p->t->ne[0],
		       dtype_name(p->wanted));
	printf("\n");
	fflush(stdout);
}

static int quant_write(struct quant_run *q, struct gguf *g, const char *out_path)
{
	struct gguf_writer *w = gguf_writer_new();
	if (!w) {
		fprintf(stderr, "llamaterm quantize: out of memory\n");
		return 1;
	}
	int status = 1;
	char err[512] = "";
	if (gguf_writer_copy_prefix(w, g, "") < 0 ||
	    gguf_writer_set_u32(w, "general.quantization_version", QUANT_VERSION) ||
	    gguf_writer_set_u32(w, "general.file_type", (uint32_t)q->mix->ftype)) {
		fprintf(stderr, "llamaterm quantize: %s: %s\n", gguf_path(g), gguf_writer_error(w));
		goto done;
	}
	/* The output is one file even when the input was one split of many. */
	gguf_writer_remove(w, "split.no");
	gguf_writer_remove(w, "split.count");
	gguf_writer_remove(w, "split.tensors.count");
	for (int64_t i = 0; i < q->n_tensors; i++) {
		const struct quant_plan *p = &q->plan[i];
		int rc = p->type == p->t->type
			? gguf_writer_add_tensor(w, p->t->name, p->t->type, p->t->n_dims, p->t->ne, p->t->data)
			: gguf_writer_add_tensor_fn(w, p->t->name, p->type, p->t->n_dims, p->t->ne, quant_fill,
						    (void *)p);
		if (rc) {
			fprintf(stderr, "llamaterm quantize: %s\n", gguf_writer_error(w));
			goto done;
		}
	}
	gguf_writer_set_progress(w, quant_progress, q);
	if (gguf_writer_write(w, out_path, err, sizeof(err))) {
		fprintf(stderr, "llamaterm quantize: %s\n", err);
		goto done;
	}
	status = 0;
done:
	gguf_writer_free(w);
	return status;
}

int cmd_quantize(int argc, char **argv)
{
	struct quant_run q = { 0 };
	struct options o;
	options_defaults(&o);
	int rc = options_parse(&o, argc, argv, OPTC_QUANTIZE);
	if (rc)
		return rc;
	if (o.help) {
		quantize_usage(stdout);
		return 0;
	}
	if (o.n_positional != 3) {
		fprintf(stderr, "llamaterm quantize: expected IN.gguf OUT.gguf TYPE (try 'llamaterm quantize --help')\n");
		return 2;
	}
	const char *in = o.positional[0], *out = o.positional[1], *type = o.positional[2];
	q.pure = o.pure;
	q.mix = quant_find_mix(type);
	if (!q.mix) {
		fprintf(stderr, "llamaterm quantize: unknown type '%s' (one of:", type);
		for (size_t i = 0; i < N_MIXES; i++)
			fprintf(stderr, " %s", quant_mixes[i].name);
		fprintf(stderr, ")\n");
		return 2;
	}
	q.n_threads = o.n_threads > 0 ? o.n_threads : cli_physical_cores();
#ifdef _OPENMP
	omp_set_num_threads(q.n_threads);
#endif

	char err[512];
	struct gguf *g = NULL;
	if (gguf_open(&g, in, o.no_mmap ? GGUF_OPEN_NO_MMAP : 0, err, sizeof(err))) {
		fprintf(stderr, "llamaterm quantize: %s\n", err);
		return 1;
	}
	q.mapped = gguf_is_mapped(g);
	double t0 = cli_now();
	int status = quant_make_plan(&q, g);
	if (status == 0) {
		printf("quantizing %s -> %s as %s (file type %d, %d threads)\n", in, out, q.mix->name,
		       (int)q.mix->ftype, q.n_threads);
		status = quant_write(&q, g, out);
	}
	if (status == 0) {
		double n = q.n_elements > 0 ? (double)q.n_elements : 1.0;
		printf("model size: %10.2f MiB (%.2f bits per weight)\n", (double)q.bytes_in / (1024.0 * 1024.0),
		       8.0 * (double)q.bytes_in / n);
		printf("quant size: %10.2f MiB (%.2f bits per weight)\n", (double)q.bytes_out / (1024.0 * 1024.0),
		       8.0 * (double)q.bytes_out / n);
		if (q.n_fallback)
			printf("%" PRId64 " of %" PRId64 " tensors fell back to another type (row length)\n",
			       q.n_fallback, q.n_tensors);
		printf("done in %.2f s\n", cli_now() - t0);
	}
	free(q.plan);
	gguf_free(g);
	return status;
}
