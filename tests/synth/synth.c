/* lt-synth: writes a deterministic synthetic LLaMA-family GGUF model.
 *
 * The file looks like what llama.cpp's converter writes (same metadata keys,
 * tensor names and ggml dimension order) but the weights are pseudo-random:
 * each row comes from its own generator seeded by (seed, tensor name, row),
 * so the output depends only on the options, never on chunking or threads,
 * and a 4 GB model streams to disk without being held in memory.
 *
 * Scales keep the forward pass in a trained model's numeric range: the token
 * embeddings have std 0.02, projections 1/sqrt(fan-in) so activations stay
 * near unit size, the two projections that feed the residual stream
 * (attn_output, ffn_down) are further divided by sqrt(2 * layers), biases
 * have std 0.02, and norm weights are 1 + 0.05 * noise. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "dtype.h"
#include "gguf.h"
#include "gguf_write.h"
#include "quant.h"

#define SYNTH_NAME_LEN 64
/* Values of the generated SPM vocab's token_type array, as llama.cpp uses. */
#define TOKEN_TYPE_NORMAL 1
#define TOKEN_TYPE_UNKNOWN 2
#define TOKEN_TYPE_CONTROL 3
#define TOKEN_TYPE_BYTE 6
/* llama.cpp's LLAMA_FTYPE values for the types we write. */
#define FTYPE_ALL_F32 0
#define FTYPE_MOSTLY_F16 1
#define FTYPE_MOSTLY_BF16 32

struct synth_opts {
	const char *arch;       /* a row of the architecture table (engine/arch.c) */
	const struct arch_info *info;
	int64_t dim, ffn, layers, heads, kv_heads, head_dim, vocab, ctx;
	int64_t rot;            /* rope.dimension_count (0: head_dim) */
	int64_t swa, swa_pattern; /* sliding window and its layer period (0: none / the arch's) */
	double rope_base, eps;
	double softcap_attn, softcap_final, alibi, clamp; /* 0: key not written */
	double embedding_scale, residual_scale, attention_scale, logit_scale; /* granite */
	int64_t parallel;       /* gptneox.use_parallel_residual (default 1) */
	bool fused_qkv;         /* attn_qkv where the row allows a choice */
	bool norm2;             /* Falcon 40B's attn_norm_2 */
	bool rope_factors;      /* Phi-3 LongRoPE factor tensors */
	bool no_rope;           /* granite: rope.scaling.finetuned = false (no positions) */
	const char *swa_flags;  /* "1,1,0": the pattern as one boolean per layer */
	const char *extra;      /* a tensor of dim floats the architecture does not use */
	uint64_t seed;
	bool tied;
	enum ggml_type type;    /* of the 2-D weights; 1-D tensors are always f32 */
	const char *vocab_from;
	const char *out;
	const char *name;
};

enum synth_init {
	INIT_GAUSS, /* std * noise */
	INIT_NORM,  /* 1 + std * noise */
};

/* One tensor to generate; ne[0] is the input dimension, as in ggml. */
struct synth_tensor {
	char name[SYNTH_NAME_LEN];
	enum ggml_type type;
	int n_dims;
	int64_t ne[2];
	enum synth_init init;
	float std;
	uint64_t seed;          /* derived from the run's seed and the name */
};

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

/* Fills n values of row `row`. The noise is a sum of four 16-bit uniforms
 * (Irwin-Hall), rescaled to unit variance: close enough to a gaussian for
 * weights and far cheaper than Box-Muller on a billion values. */
static void synth_row(const struct synth_tensor *t, int64_t row, float *out, int64_t n)
{
	uint64_t state = t->seed ^ ((uint64_t)row * 0xd1b54a32d192ed03ull);
	const float scale = t->std * 1.7320508f / 65536.0f; /* sqrt(12/4) per unit */
	const float offset = t->init == INIT_NORM ? 1.0f : 0.0f;
	for (int64_t i = 0; i < n; i++) {
		uint64_t r = splitmix64(&state);
		int32_t sum = (int32_t)(r & 0xffff) + (int32_t)((r >> 16) & 0xffff) +
			      (int32_t)((r >> 32) & 0xffff) + (int32_t)(r >> 48) - 2 * 65535;
		out[i] = offset + scale * (float)sum;
	}
}

static int synth_fill(void *user, int64_t row0, int64_t n_rows, void *dst, char *err, size_t errlen)
{
	const struct synth_tensor *t = user;
	const int64_t n = t->ne[0];
	const size_t row_bytes = dtype_row_bytes(t->type, n);
	int failed = 0;
#ifdef _OPENMP
#pragma omp parallel reduction(|:failed)
#endif
	{
		float *tmp = t->type == GGML_TYPE_F32 ? NULL : malloc((size_t)n * sizeof(float));
		if (t->type != GGML_TYPE_F32 && !tmp)
			failed = 1;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
		for (int64_t r = 0; r < n_rows; r++) {
			if (failed)
				continue;
			uint8_t *row = (uint8_t *)dst + (size_t)r * row_bytes;
			if (t->type == GGML_TYPE_F32) {
				synth_row(t, row0 + r, (float *)row, n);
				continue;
			}
			synth_row(t, row0 + r, tmp, n);
			uint16_t *h = (uint16_t *)row;
			for (int64_t i = 0; i < n; i++)
				h[i] = t->type == GGML_TYPE_F16 ? f32_to_fp16(tmp[i]) : f32_to_bf16(tmp[i]);
		}
		free(tmp);
	}
	if (failed)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory generating '%s'", t->name);
	return 0;
}

/* ------------------------------------------------------------- vocabulary */

/* A set of strings, so generated vocab pieces are unique. */
struct strset {
	char **slot;
	size_t cap, n;
};

static bool strset_add(struct strset *s, const char *str, bool *added)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		char **slot = calloc(cap, sizeof(*slot));
		if (!slot)
			return false;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slot[i])
				continue;
			size_t h = fnv1a(s->slot[i]) & (cap - 1);
			while (slot[h])
				h = (h + 1) & (cap - 1);
			slot[h] = s->slot[i];
		}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	size_t h = fnv1a(str) & (s->cap - 1);
	for (; s->slot[h]; h = (h + 1) & (s->cap - 1)) {
		if (strcmp(s->slot[h], str) == 0) {
			*added = false;
			return true;
		}
	}
	s->slot[h] = strdup(str);
	if (!s->slot[h])
		return false;
	s->n++;
	*added = true;
	return true;
}

static void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
}

struct vocab_builder {
	int64_t cap, n;
	char **tokens;
	float *scores;
	int32_t *types;
	struct strset seen;
	bool oom;
};

/* Appends a piece unless it is already there or the vocab is full. */
static void vb_add(struct vocab_builder *vb, const char *piece, int32_t type)
{
	bool added;
	if (vb->oom || vb->n >= vb->cap)
		return;
	if (!strset_add(&vb->seen, piece, &added) || (added && !(vb->tokens[vb->n] = strdup(piece)))) {
		vb->oom = true;
		return;
	}
	if (!added)
		return;
	/* Earlier pieces score higher, so SPM merges them first. */
	vb->scores[vb->n] = type == TOKEN_TYPE_NORMAL ? -(float)vb->n : 0.0f;
	vb->types[vb->n] = type;
	vb->n++;
}

#define SPM_SPACE "\xe2\x96\x81" /* U+2581, SentencePiece's word-start mark */

/* Adds a word piece after its prefixes, so SPM's pairwise merges can reach
 * it from single characters (word holds "▁" plus ASCII letters). */
static void vb_add_word(struct vocab_builder *vb, const char *word)
{
	char buf[64];
	size_t len = strlen(word), start = strncmp(word, SPM_SPACE, 3) == 0 ? 3 : 0;
	/* Single characters are in the vocab already; start at two. */
	for (size_t k = start ? start + 1 : 2; k <= len && k < sizeof(buf); k++) {
		memcpy(buf, word, k);
		buf[k] = 0;
		vb_add(vb, buf, TOKEN_TYPE_NORMAL);
	}
}

static const char *const common_words[] = {
	"the", "and", "was", "to", "a", "he", "she", "it", "of", "in", "that", "is", "for", "on",
	"with", "as", "his", "her", "they", "be", "at", "one", "have", "this", "from", "but",
	"what", "some", "we", "can", "out", "were", "all", "there", "when", "up", "said", "an",
	"do", "their", "time", "if", "will", "about", "then", "them", "would", "like", "so",
	"long", "make", "see", "him", "two", "has", "look", "more", "day", "could", "go", "come",
	"did", "no", "my", "over", "know", "than", "who", "now", "find", "once", "upon", "little",
	"girl", "boy", "named", "play", "happy", "big", "saw", "friend", "friends", "park", "loved",
	"mom", "dog", "cat", "tree", "very", "wanted", "things", "together", "toy", "sun", "went",
	"had", "not", "you", "are", "me", "help", "fun", "ball", "red", "blue", "home", "outside",
};

static const char *const capital_words[] = {
	"The", "Once", "She", "He", "They", "One", "Lily", "Tom", "Ben", "It", "But", "Then", "I",
};

/* Builds a small but valid SentencePiece vocab of exactly cap tokens:
 * <unk> <s> </s>, the 256 byte tokens, single characters, then words and
 * generated pieces. */
static int vocab_build(struct vocab_builder *vb, int64_t cap, char *err, size_t errlen)
{
	static const char singles[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				      ".,!?'\"-:;()";
	const int64_t min = 3 + 256 + 1 + (int64_t)strlen(singles);
	if (cap < min)
		return lt_seterr(err, errlen, LT_E_INVAL, "--vocab %lld is too small for a generated vocab (minimum %lld)",
				 (long long)cap, (long long)min);
	vb->cap = cap;
	vb->tokens = calloc((size_t)cap, sizeof(char *));
	vb->scores = calloc((size_t)cap, sizeof(float));
	vb->types = calloc((size_t)cap, sizeof(int32_t));
	if (!vb->tokens || !vb->scores || !vb->types)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory for a vocab of %lld", (long long)cap);
	vb_add(vb, "<unk>", TOKEN_TYPE_UNKNOWN);
	vb_add(vb, "<s>", TOKEN_TYPE_CONTROL);
	vb_add(vb, "</s>", TOKEN_TYPE_CONTROL);
	for (int b = 0; b < 256; b++) {
		char piece[8];
		snprintf(piece, sizeof(piece), "<0x%02X>", b);
		vb_add(vb, piece, TOKEN_TYPE_BYTE);
	}
	vb_add(vb, SPM_SPACE, TOKEN_TYPE_NORMAL);
	for (const char *c = singles; *c; c++) {
		char piece[2] = { *c, 0 };
		vb_add(vb, piece, TOKEN_TYPE_NORMAL);
	}
	char buf[64];
	for (size_t i = 0; i < sizeof(common_words) / sizeof(common_words[0]); i++) {
		snprintf(buf, sizeof(buf), SPM_SPACE "%s", common_words[i]);
		vb_add_word(vb, buf);
	}
	for (size_t i = 0; i < sizeof(capital_words) / sizeof(capital_words[0]); i++) {
		snprintf(buf, sizeof(buf), SPM_SPACE "%s", capital_words[i]);
		vb_add_word(vb, buf);
	}
	/* Fill the rest with "▁xy", "xy", then "▁xyz", "xyz" letter pieces. */
	for (int len = 2; len <= 4 && vb->n < cap && !vb->oom; len++) {
		long combos = 1;
		for (int k = 0; k < len; k++)
			combos *= 26;
		for (long c = 0; c < combos && vb->n < cap; c++) {
			char letters[8];
			long x = c;
			for (int k = len - 1; k >= 0; k--, x /= 26)
				letters[k] = (char)('a' + x % 26);
			letters[len] = 0;
			snprintf(buf, sizeof(buf), SPM_SPACE "%s", letters);
			vb_add(vb, buf, TOKEN_TYPE_NORMAL);
			vb_add(vb, letters, TOKEN_TYPE_NORMAL);
		}
	}
	if (vb->oom)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory building the vocab");
	if (vb->n < cap)
		return lt_seterr(err, errlen, LT_E_INVAL, "--vocab %lld is larger than the generator can fill",
				 (long long)cap);
	return 0;
}

static void vocab_free(struct vocab_builder *vb)
{
	for (int64_t i = 0; i < vb->n; i++)
		free(vb->tokens[i]);
	free(vb->tokens);
	free(vb->scores);
	free(vb->types);
	strset_free(&vb->seen);
}

static int vocab_write(struct gguf_writer *w, const struct vocab_builder *vb)
{
	int rc = 0;
	rc = rc ? rc : gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
	rc = rc ? rc : gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)vb->tokens,
					       (uint64_t)vb->n);
	rc = rc ? rc : gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VTYPE_FLOAT32, vb->scores,
					   (uint64_t)vb->n);
	rc = rc ? rc : gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VTYPE_INT32, vb->types,
					   (uint64_t)vb->n);
	rc = rc ? rc : gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
	rc = rc ? rc : gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
	rc = rc ? rc : gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
	rc = rc ? rc : gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
	rc = rc ? rc : gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false);
	return rc;
}

/* ---------------------------------------------------------------- options */

static void synth_usage(FILE *out)
{
	fprintf(out,
		"usage: lt-synth [OPTIONS] -o OUT.gguf\n\n"
		"Writes a deterministic synthetic model with random weights, with the tensors\n"
		"and keys llama.cpp's converter writes for the architecture.\n\n"
		"  --arch NAME            architecture (default llama): %s\n"
		"  --shape tiny|110m|1b|3b preset sizes (default tiny):\n"
		"                           tiny  dim 64, ffn 192, 2 layers, 4 heads, 2 KV heads, vocab 512\n"
		"                           110m  dim 768, ffn 2048, 12 layers, 12 heads, 12 KV heads, vocab 32000\n"
		"                           1b    dim 2048, ffn 5632, 22 layers, 32 heads, 4 KV heads, vocab 32000\n"
		"                           3b    dim 3072, ffn 8192, 28 layers, 24 heads, 8 KV heads, vocab 32000\n"
		"  --dim N --ffn N --layers N --heads N --kv-heads N --head-dim N --vocab N --ctx N\n"
		"                         override single sizes of the preset\n"
		"  --rope-base F          RoPE frequency base (qwen2/qwen3 1000000, others 10000)\n"
		"  --rot N                rotated dimensions per head (partial rotary; default all)\n"
		"  --eps F                norm epsilon (qwen2/qwen3 1e-6, others 1e-5)\n"
		"  --fused-qkv            one attn_qkv matrix where the architecture allows either\n"
		"  --swa N                sliding window of N positions (gemma2/gemma3/olmo2)\n"
		"  --swa-pattern P        every P-th layer is global (default: the architecture's)\n"
		"  --swa-flags 1,1,0,...  the pattern as one flag per layer (1: local), as OLMo 3\n"
		"  --extra-tensor NAME    also write NAME (dim floats), for testing loaders\n"
		"  --softcap-attn F       attention logit soft-capping (gemma2)\n"
		"  --softcap-final F      final logit soft-capping (gemma2, gemma3)\n"
		"  --alibi F              attention.max_alibi_bias (mpt)\n"
		"  --clamp F              attention.clamp_kqv (mpt)\n"
		"  --parallel 0|1         use_parallel_residual (gptneox, default 1)\n"
		"  --norm2                attn_norm_2 tensors (falcon 40B layout)\n"
		"  --rope-factors         rope_factors_long/short tensors (phi3 LongRoPE)\n"
		"  --no-rope              rope.scaling.finetuned = false: no positions (granite)\n"
		"  --embedding-scale F --residual-scale F --attention-scale F --logit-scale F\n"
		"                         granite multipliers (defaults 12, 0.22, 0.015625, 8)\n"
		"  --seed N               weight seed (default 1)\n"
		"  --tied                 no output.weight (the output reuses token_embd)\n"
		"  --type f32|f16|bf16    type of the 2-D weights (default f32; norms stay f32)\n"
		"  --vocab-from FILE      copy the tokenizer.* keys of FILE; the vocab size follows it\n"
		"  --name NAME            general.name (default 'synthetic <arch> <shape>')\n"
		"  -o, --output FILE      the file to write\n",
		arch_names());
}

static int parse_int(const char *opt, const char *s, int64_t min, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > (1ll << 30)) {
		fprintf(stderr, "lt-synth: %s: invalid value '%s' (want an integer >= %lld)\n", opt, s,
			(long long)min);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_float(const char *opt, const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || !isfinite(v)) {
		fprintf(stderr, "lt-synth: %s: invalid value '%s' (want a positive number)\n", opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int apply_shape(struct synth_opts *o, const char *shape)
{
	if (strcmp(shape, "tiny") == 0) {
		o->dim = 64, o->ffn = 192, o->layers = 2, o->heads = 4, o->kv_heads = 2;
		o->vocab = 512, o->ctx = 512;
	} else if (strcmp(shape, "110m") == 0) {
		o->dim = 768, o->ffn = 2048, o->layers = 12, o->heads = 12, o->kv_heads = 12;
		o->vocab = 32000, o->ctx = 1024;
	} else if (strcmp(shape, "1b") == 0) {
		o->dim = 2048, o->ffn = 5632, o->layers = 22, o->heads = 32, o->kv_heads = 4;
		o->vocab = 32000, o->ctx = 2048;
	} else if (strcmp(shape, "3b") == 0) {
		/* Llama-3.2-3B's sizes (its own vocab is 128256; --vocab-from sets it). */
		o->dim = 3072, o->ffn = 8192, o->layers = 28, o->heads = 24, o->kv_heads = 8;
		o->vocab = 32000, o->ctx = 8192;
	} else {
		fprintf(stderr, "lt-synth: --shape: unknown shape '%s' (tiny, 110m, 1b, 3b)\n", shape);
		return -1;
	}
	return 0;
}

/* Parses argv into o. Returns 0, 1 after --help, or 2 on a usage error. */
static int parse_args(int argc, char **argv, struct synth_opts *o, const char **shape)
{
	/* Presets first, so explicit sizes override them in any order. */
	*shape = "tiny";
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--shape") == 0)
			*shape = argv[i + 1];
	if (apply_shape(o, *shape))
		return 2;
	int64_t explicit_vocab = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			synth_usage(stdout);
			return 1;
		}
		bool *flag = strcmp(a, "--tied") == 0	       ? &o->tied
			     : strcmp(a, "--fused-qkv") == 0   ? &o->fused_qkv
			     : strcmp(a, "--norm2") == 0       ? &o->norm2
			     : strcmp(a, "--rope-factors") == 0 ? &o->rope_factors
			     : strcmp(a, "--no-rope") == 0     ? &o->no_rope
							       : NULL;
		if (flag) {
			*flag = true;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "lt-synth: %s: missing value (try --help)\n", a);
			return 2;
		}
		const char *v = argv[++i];
		int rc = 0;
		if (strcmp(a, "--shape") == 0)
			continue;
		else if (strcmp(a, "--arch") == 0)
			o->arch = v;
		else if (strcmp(a, "--dim") == 0)
			rc = parse_int(a, v, 2, &o->dim);
		else if (strcmp(a, "--ffn") == 0)
			rc = parse_int(a, v, 1, &o->ffn);
		else if (strcmp(a, "--layers") == 0)
			rc = parse_int(a, v, 1, &o->layers);
		else if (strcmp(a, "--heads") == 0)
			rc = parse_int(a, v, 1, &o->heads);
		else if (strcmp(a, "--kv-heads") == 0)
			rc = parse_int(a, v, 1, &o->kv_heads);
		else if (strcmp(a, "--head-dim") == 0)
			rc = parse_int(a, v, 2, &o->head_dim);
		else if (strcmp(a, "--vocab") == 0)
			rc = parse_int(a, v, 1, &explicit_vocab);
		else if (strcmp(a, "--ctx") == 0)
			rc = parse_int(a, v, 1, &o->ctx);
		else if (strcmp(a, "--seed") == 0) {
			int64_t s;
			rc = parse_int(a, v, 0, &s);
			o->seed = (uint64_t)s;
		} else if (strcmp(a, "--rope-base") == 0)
			rc = parse_float(a, v, &o->rope_base);
		else if (strcmp(a, "--eps") == 0)
			rc = parse_float(a, v, &o->eps);
		else if (strcmp(a, "--rot") == 0)
			rc = parse_int(a, v, 2, &o->rot);
		else if (strcmp(a, "--swa") == 0)
			rc = parse_int(a, v, 1, &o->swa);
		else if (strcmp(a, "--swa-pattern") == 0)
			rc = parse_int(a, v, 1, &o->swa_pattern);
		else if (strcmp(a, "--swa-flags") == 0)
			o->swa_flags = v;
		else if (strcmp(a, "--extra-tensor") == 0)
			o->extra = v;
		else if (strcmp(a, "--parallel") == 0)
			rc = parse_int(a, v, 0, &o->parallel);
		else if (strcmp(a, "--softcap-attn") == 0)
			rc = parse_float(a, v, &o->softcap_attn);
		else if (strcmp(a, "--softcap-final") == 0)
			rc = parse_float(a, v, &o->softcap_final);
		else if (strcmp(a, "--alibi") == 0)
			rc = parse_float(a, v, &o->alibi);
		else if (strcmp(a, "--clamp") == 0)
			rc = parse_float(a, v, &o->clamp);
		else if (strcmp(a, "--embedding-scale") == 0)
			rc = parse_float(a, v, &o->embedding_scale);
		else if (strcmp(a, "--residual-scale") == 0)
			rc = parse_float(a, v, &o->residual_scale);
		else if (strcmp(a, "--attention-scale") == 0)
			rc = parse_float(a, v, &o->attention_scale);
		else if (strcmp(a, "--logit-scale") == 0)
			rc = parse_float(a, v, &o->logit_scale);
		else if (strcmp(a, "--type") == 0) {
			if (strcmp(v, "f32") == 0 || strcmp(v, "F32") == 0)
				o->type = GGML_TYPE_F32;
			else if (strcmp(v, "f16") == 0 || strcmp(v, "F16") == 0)
				o->type = GGML_TYPE_F16;
			else if (strcmp(v, "bf16") == 0 || strcmp(v, "BF16") == 0)
				o->type = GGML_TYPE_BF16;
			else {
				fprintf(stderr, "lt-synth: --type: unknown type '%s' (f32, f16, bf16)\n", v);
				return 2;
			}
		} else if (strcmp(a, "--vocab-from") == 0)
			o->vocab_from = v;
		else if (strcmp(a, "--name") == 0)
			o->name = v;
		else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
			o->out = v;
		else {
			fprintf(stderr, "lt-synth: unknown option '%s' (try --help)\n", a);
			return 2;
		}
		if (rc)
			return 2;
	}
	if (explicit_vocab) {
		if (o->vocab_from) {
			fprintf(stderr, "lt-synth: --vocab and --vocab-from exclude each other\n");
			return 2;
		}
		o->vocab = explicit_vocab;
	}
	o->info = arch_find(o->arch);
	if (!o->info) {
		fprintf(stderr, "lt-synth: --arch: unknown architecture '%s' (%s)\n", o->arch,
			arch_names());
		return 2;
	}
	const bool qwen = strcmp(o->arch, "qwen2") == 0 || strcmp(o->arch, "qwen3") == 0;
	if (o->rope_base == 0)
		o->rope_base = qwen ? 1000000.0 : 10000.0;
	if (o->eps == 0)
		o->eps = qwen ? 1e-6 : 1e-5;
	if (o->parallel > 1) {
		fprintf(stderr, "lt-synth: --parallel: want 0 or 1\n");
		return 2;
	}
	if (!o->out) {
		fprintf(stderr, "lt-synth: no output file (use -o OUT.gguf)\n");
		return 2;
	}
	if (o->kv_heads > o->heads || o->heads % o->kv_heads) {
		fprintf(stderr, "lt-synth: --heads %lld is not a multiple of --kv-heads %lld\n",
			(long long)o->heads, (long long)o->kv_heads);
		return 2;
	}
	if (!o->head_dim) {
		if (o->dim % o->heads) {
			fprintf(stderr, "lt-synth: --dim %lld is not a multiple of --heads %lld (or give --head-dim)\n",
				(long long)o->dim, (long long)o->heads);
			return 2;
		}
		o->head_dim = o->dim / o->heads;
	}
	if (o->rot > o->head_dim || o->rot % 2) {
		fprintf(stderr, "lt-synth: --rot %lld must be even and at most the head dimension %lld\n",
			(long long)o->rot, (long long)o->head_dim);
		return 2;
	}
	if (o->head_dim % 2) {
		fprintf(stderr, "lt-synth: head dimension %lld is odd; RoPE needs it even\n", (long long)o->head_dim);
		return 2;
	}
	return 0;
}

/* --------------------------------------------------------------- the model */

struct synth_model {
	struct synth_tensor *t;
	int n, cap;
};

static int model_add(struct synth_model *m, const struct synth_opts *o, const char *name, bool matrix,
		     int64_t n_in, int64_t n_out, enum synth_init init, float std)
{
	if (m->n == m->cap) {
		int cap = m->cap ? 2 * m->cap : 64;
		struct synth_tensor *t = realloc(m->t, (size_t)cap * sizeof(*t));
		if (!t)
			return -1;
		m->t = t;
		m->cap = cap;
	}
	struct synth_tensor *t = &m->t[m->n++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->type = matrix ? o->type : GGML_TYPE_F32;
	t->n_dims = matrix ? 2 : 1;
	t->ne[0] = n_in;
	t->ne[1] = matrix ? n_out : 1;
	t->init = init;
	t->std = std;
	uint64_t s = o->seed ^ fnv1a(name);
	t->seed = splitmix64(&s);
	return 0;
}

/* Adds PREFIX.weight (a norm of dim) when need says so, and PREFIX.bias
 * when bias_need does too. */
static int model_add_norm(struct synth_model *m, const struct synth_opts *o, const char *prefix,
			  enum arch_need need, enum arch_need bias_need)
{
	char n[SYNTH_NAME_LEN];
	if (need == ARCH_NO)
		return 0;
	snprintf(n, sizeof(n), "%s.weight", prefix);
	int rc = model_add(m, o, n, false, o->dim, 1, INIT_NORM, 0.05f);
	if (rc || bias_need == ARCH_NO)
		return rc;
	snprintf(n, sizeof(n), "%s.bias", prefix);
	return model_add(m, o, n, false, o->dim, 1, INIT_GAUSS, 0.02f);
}

/* Lists the tensors in the order llama.cpp's converter emits them, as the
 * architecture's row asks for them. */
static int model_plan(struct synth_model *m, const struct synth_opts *o)
{
	const struct arch_info *a = o->info;
	const int64_t n_q = o->heads * o->head_dim, n_kv = o->kv_heads * o->head_dim;
	const int64_t d = o->dim, rot = o->rot ? o->rot : o->head_dim;
	const float resid = 1.0f / sqrtf(2.0f * (float)o->layers);
	const float in_std = 1.0f / sqrtf((float)d);
	const bool fused = a->qkv_fused == ARCH_REQ || (a->qkv_fused == ARCH_OPT && o->fused_qkv);
	int rc = 0;
	char n[SYNTH_NAME_LEN];
	/* ADD(name pattern, matrix?, n_in, n_out, init, std) for one tensor;
	 * NORM(role, need, bias need) for a norm weight and its bias. */
#define ADDG(...) (snprintf(n, sizeof(n), __VA_ARGS__), n)
#define ADD(nm, matrix, n_in, n_out, init, std) \
	(rc = rc ? rc : model_add(m, o, nm, matrix, n_in, n_out, init, std))
#define NORM(prefix, need, bneed) (rc = rc ? rc : model_add_norm(m, o, prefix, need, bneed))

	ADD("token_embd.weight", true, d, o->vocab, INIT_GAUSS, 0.02f);
	if (a->pos_embd == ARCH_REQ)
		ADD("position_embd.weight", true, d, o->ctx, INIT_GAUSS, 0.02f);
	if (a->embd_norm)
		NORM("token_embd_norm", ARCH_REQ, a->norm_bias);
	if (a->pos == ARCH_POS_ROPE && a->rope_factors && o->rope_factors) {
		ADD("rope_factors_long.weight", false, rot / 2, 1, INIT_NORM, 0.2f);
		ADD("rope_factors_short.weight", false, rot / 2, 1, INIT_NORM, 0.2f);
	}
	for (int64_t l = 0; l < o->layers && !rc; l++) {
		long long L = (long long)l;
		NORM(ADDG("blk.%lld.attn_norm", L), a->attn_norm, a->norm_bias);
		if (o->norm2 && a->attn_norm_2 != ARCH_NO)
			NORM(ADDG("blk.%lld.attn_norm_2", L), ARCH_REQ, a->norm_bias);
		if (fused) {
			ADD(ADDG("blk.%lld.attn_qkv.weight", L), true, d, n_q + 2 * n_kv, INIT_GAUSS, in_std);
			if (a->qkv_bias != ARCH_NO)
				ADD(ADDG("blk.%lld.attn_qkv.bias", L), false, n_q + 2 * n_kv, 1, INIT_GAUSS, 0.02f);
		} else {
			static const char *const qkv[] = { "q", "k", "v" };
			for (int i = 0; i < 3; i++) {
				int64_t rows = i == 0 ? n_q : n_kv;
				ADD(ADDG("blk.%lld.attn_%s.weight", L, qkv[i]), true, d, rows, INIT_GAUSS, in_std);
				if (a->qkv_bias == ARCH_REQ)
					ADD(ADDG("blk.%lld.attn_%s.bias", L, qkv[i]), false, rows, 1, INIT_GAUSS, 0.02f);
			}
		}
		if (a->qk_norm != ARCH_QK_NORM_NONE) {
			bool head = a->qk_norm == ARCH_QK_NORM_HEAD;
			ADD(ADDG("blk.%lld.attn_q_norm.weight", L), false, head ? o->head_dim : n_q, 1,
			    INIT_NORM, 0.05f);
			ADD(ADDG("blk.%lld.attn_k_norm.weight", L), false, head ? o->head_dim : n_kv, 1,
			    INIT_NORM, 0.05f);
		}
		ADD(ADDG("blk.%lld.attn_output.weight", L), true, n_q, d, INIT_GAUSS,
		    resid / sqrtf((float)n_q));
		if (a->out_bias == ARCH_REQ)
			ADD(ADDG("blk.%lld.attn_output.bias", L), false, d, 1, INIT_GAUSS, 0.02f);
		if (a->post_norms)
			ADD(ADDG("blk.%lld.post_attention_norm.weight", L), false, d, 1, INIT_NORM, 0.05f);
		NORM(ADDG("blk.%lld.ffn_norm", L), a->ffn_norm, a->norm_bias);
		const bool bias = a->ffn_bias == ARCH_REQ;
		if (a->ffn_up_fused) {
			ADD(ADDG("blk.%lld.ffn_up.weight", L), true, d, 2 * o->ffn, INIT_GAUSS, in_std);
		} else {
			if (a->ffn != ARCH_FFN_GELU) {
				ADD(ADDG("blk.%lld.ffn_gate.weight", L), true, d, o->ffn, INIT_GAUSS, in_std);
				if (bias)
					ADD(ADDG("blk.%lld.ffn_gate.bias", L), false, o->ffn, 1, INIT_GAUSS, 0.02f);
			}
			ADD(ADDG("blk.%lld.ffn_up.weight", L), true, d, o->ffn, INIT_GAUSS, in_std);
			if (bias)
				ADD(ADDG("blk.%lld.ffn_up.bias", L), false, o->ffn, 1, INIT_GAUSS, 0.02f);
		}
		ADD(ADDG("blk.%lld.ffn_down.weight", L), true, o->ffn, d, INIT_GAUSS,
		    resid / sqrtf((float)o->ffn));
		if (bias)
			ADD(ADDG("blk.%lld.ffn_down.bias", L), false, d, 1, INIT_GAUSS, 0.02f);
		if (a->post_norms)
			ADD(ADDG("blk.%lld.post_ffw_norm.weight", L), false, d, 1, INIT_NORM, 0.05f);
	}
	NORM("output_norm", ARCH_REQ, a->norm_bias);
	if ((!o->tied && a->output != ARCH_NO) || a->output == ARCH_REQ)
		ADD("output.weight", true, d, o->vocab, INIT_GAUSS, in_std);
	if (o->extra)
		ADD(o->extra, false, d, 1, INIT_NORM, 0.05f);
#undef NORM
#undef ADD
#undef ADDG
	return rc;
}

static int set_arch_u32(struct gguf_writer *w, const char *arch, const char *suffix, int64_t v)
{
	char key[128];
	snprintf(key, sizeof(key), "%s.%s", arch, suffix);
	return gguf_writer_set_u32(w, key, (uint32_t)v);
}

static int set_arch_f32(struct gguf_writer *w, const char *arch, const char *suffix, double v)
{
	char key[128];
	snprintf(key, sizeof(key), "%s.%s", arch, suffix);
	return gguf_writer_set_f32(w, key, (float)v);
}

/* The keys only some architectures read, written when asked for. */
static int write_arch_keys(struct gguf_writer *w, const struct synth_opts *o)
{
	const struct arch_info *info = o->info;
	const char *a = o->arch;
	char key[128];
	int rc = 0;
	if (o->swa) {
		rc = rc ? rc : set_arch_u32(w, a, "attention.sliding_window", o->swa);
		if (o->swa_pattern)
			rc = rc ? rc : set_arch_u32(w, a, "attention.sliding_window_pattern", o->swa_pattern);
		if (o->swa_flags) {
			bool flags[256];
			int64_t n = 0;
			for (const char *p = o->swa_flags; *p && n < 256; p++)
				if (*p == '0' || *p == '1')
					flags[n++] = *p == '1';
			if (n != o->layers) {
				fprintf(stderr, "lt-synth: --swa-flags: %lld flags for %lld layers\n",
					(long long)n, (long long)o->layers);
				return -1;
			}
			snprintf(key, sizeof(key), "%s.attention.sliding_window_pattern", a);
			rc = rc ? rc : gguf_writer_set_arr(w, key, GGUF_VTYPE_BOOL, flags, (uint64_t)n);
		}
	}
	if (o->softcap_attn)
		rc = rc ? rc : set_arch_f32(w, a, "attn_logit_softcapping", o->softcap_attn);
	if (o->softcap_final)
		rc = rc ? rc : set_arch_f32(w, a, "final_logit_softcapping", o->softcap_final);
	if (o->alibi)
		rc = rc ? rc : set_arch_f32(w, a, "attention.max_alibi_bias", o->alibi);
	if (o->clamp)
		rc = rc ? rc : set_arch_f32(w, a, "attention.clamp_kqv", o->clamp);
	if (info->resid == ARCH_RESID_BY_KEY) {
		snprintf(key, sizeof(key), "%s.use_parallel_residual", a);
		rc = rc ? rc : gguf_writer_set_bool(w, key, o->parallel != 0);
	}
	if (info->keys & ARCH_KEY_GRANITE) {
		rc = rc ? rc : set_arch_f32(w, a, "embedding_scale", o->embedding_scale);
		rc = rc ? rc : set_arch_f32(w, a, "residual_scale", o->residual_scale);
		rc = rc ? rc : set_arch_f32(w, a, "attention.scale", o->attention_scale);
		rc = rc ? rc : set_arch_f32(w, a, "logit_scale", o->logit_scale);
		if (o->no_rope) {
			snprintf(key, sizeof(key), "%s.rope.scaling.finetuned", a);
			rc = rc ? rc : gguf_writer_set_bool(w, key, false);
		}
	}
	if (o->rope_factors && info->rope_factors) {
		snprintf(key, sizeof(key), "%s.rope.scaling.type", a);
		rc = rc ? rc : gguf_writer_set_str(w, key, "longrope");
		rc = rc ? rc : set_arch_f32(w, a, "rope.scaling.attn_factor", 1.19);
		rc = rc ? rc : set_arch_u32(w, a, "rope.scaling.original_context_length", o->ctx / 2);
	}
	return rc;
}

static int write_metadata(struct gguf_writer *w, const struct synth_opts *o, const char *shape)
{
	char name[128];
	if (o->name)
		snprintf(name, sizeof(name), "%s", o->name);
	else
		snprintf(name, sizeof(name), "synthetic %s %s", o->arch, shape);
	int ftype = o->type == GGML_TYPE_F16 ? FTYPE_MOSTLY_F16 :
		    o->type == GGML_TYPE_BF16 ? FTYPE_MOSTLY_BF16 : FTYPE_ALL_F32;
	const char *a = o->arch;
	int rc = gguf_writer_set_str(w, "general.architecture", a);
	rc = rc ? rc : gguf_writer_set_str(w, "general.name", name);
	rc = rc ? rc : set_arch_u32(w, a, "context_length", o->ctx);
	rc = rc ? rc : set_arch_u32(w, a, "embedding_length", o->dim);
	rc = rc ? rc : set_arch_u32(w, a, "block_count", o->layers);
	rc = rc ? rc : set_arch_u32(w, a, "feed_forward_length", o->ffn);
	rc = rc ? rc : set_arch_u32(w, a, "attention.head_count", o->heads);
	rc = rc ? rc : set_arch_u32(w, a, "attention.head_count_kv", o->kv_heads);
	rc = rc ? rc : set_arch_f32(w, a, "rope.freq_base", o->rope_base);
	rc = rc ? rc : set_arch_f32(w, a, o->info->norm == ARCH_NORM_RMS
						  ? "attention.layer_norm_rms_epsilon"
						  : "attention.layer_norm_epsilon", o->eps);
	if (o->head_dim != o->dim / o->heads || o->dim % o->heads) {
		rc = rc ? rc : set_arch_u32(w, a, "attention.key_length", o->head_dim);
		rc = rc ? rc : set_arch_u32(w, a, "attention.value_length", o->head_dim);
	}
	rc = rc ? rc : set_arch_u32(w, a, "rope.dimension_count", o->rot ? o->rot : o->head_dim);
	rc = rc ? rc : write_arch_keys(w, o);
	rc = rc ? rc : set_arch_u32(w, a, "vocab_size", o->vocab);
	rc = rc ? rc : gguf_writer_set_u32(w, "general.file_type", (uint32_t)ftype);
	rc = rc ? rc : gguf_writer_set_u32(w, "general.quantization_version", 2);
	return rc;
}

/* Copies the tokenizer of another GGUF file and takes its vocab size. */
static int copy_vocab(struct gguf_writer *w, struct synth_opts *o)
{
	char err[512];
	struct gguf *g = NULL;
	if (gguf_open(&g, o->vocab_from, 0, err, sizeof(err))) {
		fprintf(stderr, "lt-synth: %s\n", err);
		return 1;
	}
	enum gguf_vtype et;
	uint64_t n = 0;
	if (gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n) || et != GGUF_VTYPE_STRING || n == 0 ||
	    n > (1u << 30)) {
		fprintf(stderr, "lt-synth: %s: no usable tokenizer.ggml.tokens array\n", o->vocab_from);
		gguf_free(g);
		return 1;
	}
	o->vocab = (int64_t)n;
	int64_t copied = gguf_writer_copy_prefix(w, g, "tokenizer.");
	gguf_free(g);
	if (copied < 0) {
		fprintf(stderr, "lt-synth: %s: %s\n", o->vocab_from, gguf_writer_error(w));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct synth_opts o = { .arch = "llama", .seed = 1, .type = GGML_TYPE_F32, .parallel = 1,
				.embedding_scale = 12.0, .residual_scale = 0.22,
				.attention_scale = 0.015625, .logit_scale = 8.0 };
	const char *shape;
	int rc = parse_args(argc, argv, &o, &shape);
	if (rc)
		return rc == 1 ? 0 : rc;

	struct gguf_writer *w;
	int new_rc = gguf_writer_new(&w);
	struct synth_model m = { 0 };
	struct vocab_builder vb = { 0 };
	char err[512] = "";
	int status = 1;
	if (new_rc < 0) {
		fprintf(stderr, "lt-synth: out of memory\n");
		return 1;
	}
	if (write_metadata(w, &o, shape)) {
		fprintf(stderr, "lt-synth: %s\n", gguf_writer_error(w));
		goto done;
	}
	if (o.vocab_from) {
		if (copy_vocab(w, &o))
			goto done;
		/* The vocab size is known only now. */
		set_arch_u32(w, o.arch, "vocab_size", o.vocab);
	} else {
		if (vocab_build(&vb, o.vocab, err, sizeof(err))) {
			fprintf(stderr, "lt-synth: %s\n", err);
			goto done;
		}
		if (vocab_write(w, &vb)) {
			fprintf(stderr, "lt-synth: %s\n", gguf_writer_error(w));
			goto done;
		}
	}
	if (model_plan(&m, &o)) {
		fprintf(stderr, "lt-synth: out of memory\n");
		goto done;
	}
	int64_t n_params = 0;
	for (int i = 0; i < m.n; i++) {
		struct synth_tensor *t = &m.t[i];
		if (gguf_writer_add_tensor_fn(w, t->name, t->type, t->n_dims, t->ne, synth_fill, t)) {
			fprintf(stderr, "lt-synth: %s\n", gguf_writer_error(w));
			goto done;
		}
		n_params += t->ne[0] * t->ne[1];
	}
	if (gguf_writer_write(w, o.out, err, sizeof(err))) {
		fprintf(stderr, "lt-synth: %s\n", err);
		goto done;
	}
	printf("lt-synth: wrote %s: %s, %d tensors, %lld parameters, %s weights, vocab %lld\n", o.out,
	       o.arch, m.n, (long long)n_params, dtype_name(o.type), (long long)o.vocab);
	status = 0;
done:
	vocab_free(&vb);
	free(m.t);
	gguf_writer_free(w);
	return status;
}
