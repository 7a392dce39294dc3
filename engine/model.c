#include "model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds on hyperparameters; far beyond any real model, they keep
 * products such as n_ctx * n_layer * n_embd inside size_t on bad input. */
#define MODEL_MAX_DIM (1 << 20)
#define MODEL_MAX_LAYERS 4096

struct model {
	struct gguf *g;
	struct model_hparams hp;
	struct model_weights w;
	int64_t n_params;
	uint64_t weight_bytes;
};

/* What differs between the architectures we run. */
struct model_arch_info {
	const char *name;
	enum model_arch arch;
	enum ops_rope_mode rope_mode;
	bool qkv_bias; /* attn_q/k/v biases are required (else optional) */
};

static const struct model_arch_info model_archs[] = {
	{ "llama", MODEL_ARCH_LLAMA, OPS_ROPE_NORM, false },
	{ "qwen2", MODEL_ARCH_QWEN2, OPS_ROPE_NEOX, true },
};

/* Binding state: the model being filled and where messages go. */
struct model_loader {
	struct model *m;
	const struct model_arch_info *arch;
	const char *path;
	char *err;
	size_t errlen;
};

struct model_params model_params_default(void)
{
	return (struct model_params){ .use_mmap = true, .use_mlock = false };
}

/* ---- metadata ------------------------------------------------------------ */

/* Reads the integer {arch}.suffix into *out, which must lie in lo..hi. A
 * missing optional key leaves *out as it is. */
static int model_get_int(struct model_loader *L, const char *suffix, bool required, int64_t lo,
			 int64_t hi, int *out)
{
	char key[128];
	snprintf(key, sizeof(key), "%s.%s", L->m->hp.arch_name, suffix);
	int64_t v;
	int rc = gguf_get_i64(L->m->g, key, &v);
	if (rc == LT_E_NOTFOUND && !required)
		return 0;
	if (rc == LT_E_NOTFOUND)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT, "%s: missing metadata key '%s'",
				 L->path, key);
	if (rc == LT_E_TYPE)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: metadata key '%s' is not an integer", L->path, key);
	if (rc || v < lo || v > hi)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: metadata key '%s' is out of range (allowed %" PRId64 "..%" PRId64 ")",
				 L->path, key, lo, hi);
	*out = (int)v;
	return 0;
}

/* Reads the float {arch}.suffix into *out; a missing optional key leaves
 * *out as it is. */
static int model_get_float(struct model_loader *L, const char *suffix, bool required, float *out)
{
	char key[128];
	snprintf(key, sizeof(key), "%s.%s", L->m->hp.arch_name, suffix);
	float v;
	int rc = gguf_get_f32(L->m->g, key, &v);
	if (rc == LT_E_NOTFOUND && !required)
		return 0;
	if (rc == LT_E_NOTFOUND)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT, "%s: missing metadata key '%s'",
				 L->path, key);
	if (rc)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: metadata key '%s' is not a float", L->path, key);
	if (!(v >= 0.0f && v < 1e30f)) /* also rejects NaN */
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: metadata key '%s' has invalid value %g", L->path, key, (double)v);
	*out = v;
	return 0;
}

static int model_load_arch(struct model_loader *L)
{
	const char *name;
	int rc = gguf_get_str(L->m->g, "general.architecture", &name, NULL);
	if (rc == LT_E_NOTFOUND)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: missing metadata key 'general.architecture'", L->path);
	if (rc)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: metadata key 'general.architecture' is not a string", L->path);
	for (size_t i = 0; i < sizeof(model_archs) / sizeof(model_archs[0]); i++) {
		if (strcmp(name, model_archs[i].name) == 0) {
			L->arch = &model_archs[i];
			L->m->hp.arch = model_archs[i].arch;
			L->m->hp.arch_name = model_archs[i].name;
			L->m->hp.rope.mode = model_archs[i].rope_mode;
			return 0;
		}
	}
	return lt_seterr(L->err, L->errlen, LT_E_UNSUPPORTED,
			 "%s: architecture '%s' is not supported (supported: llama, qwen2)", L->path, name);
}

/* Linear RoPE scaling divides positions by a factor; other kinds (YaRN,
 * LongRoPE) change the angles in ways we do not compute. */
static int model_load_rope_scaling(struct model_loader *L)
{
	struct model_hparams *hp = &L->m->hp;
	char key[128];
	snprintf(key, sizeof(key), "%s.rope.scaling.type", hp->arch_name);
	const char *type = NULL;
	int rc = gguf_get_str(L->m->g, key, &type, NULL);
	if (rc && rc != LT_E_NOTFOUND)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: metadata key '%s' is not a string", L->path, key);
	if (type && strcmp(type, "none") == 0)
		return 0;
	if (type && strcmp(type, "linear") != 0)
		return lt_seterr(L->err, L->errlen, LT_E_UNSUPPORTED,
				 "%s: rope scaling type '%s' is not supported (only linear)", L->path, type);
	float factor = 0.0f;
	rc = model_get_float(L, "rope.scaling.factor", false, &factor);
	if (rc)
		return rc;
	if (factor == 0.0f) {
		/* Files from before rope.scaling.* name the factor this way. */
		rc = model_get_float(L, "rope.scale_linear", false, &factor);
		if (rc)
			return rc;
	}
	if (factor != 0.0f)
		hp->rope.freq_scale = 1.0f / factor;
	return 0;
}

static int model_load_hparams(struct model_loader *L)
{
	struct model_hparams *hp = &L->m->hp;
	int rc;
	if ((rc = model_load_arch(L)))
		return rc;
	if ((rc = model_get_int(L, "context_length", true, 1, INT32_MAX, &hp->n_ctx_train)) ||
	    (rc = model_get_int(L, "embedding_length", true, 1, MODEL_MAX_DIM, &hp->n_embd)) ||
	    (rc = model_get_int(L, "block_count", true, 1, MODEL_MAX_LAYERS, &hp->n_layer)) ||
	    (rc = model_get_int(L, "feed_forward_length", true, 1, MODEL_MAX_DIM, &hp->n_ff)) ||
	    (rc = model_get_int(L, "attention.head_count", true, 1, MODEL_MAX_DIM, &hp->n_head)))
		return rc;

	hp->n_head_kv = hp->n_head;
	if ((rc = model_get_int(L, "attention.head_count_kv", false, 1, hp->n_head, &hp->n_head_kv)))
		return rc;
	if (hp->n_head % hp->n_head_kv)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: head_count %d is not a multiple of head_count_kv %d", L->path,
				 hp->n_head, hp->n_head_kv);

	hp->head_dim = hp->n_embd / hp->n_head;
	int head_dim = 0;
	if ((rc = model_get_int(L, "attention.key_length", false, 1, MODEL_MAX_DIM, &head_dim)))
		return rc;
	if (head_dim == 0 && hp->n_embd % hp->n_head)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: embedding_length %d is not a multiple of head_count %d", L->path,
				 hp->n_embd, hp->n_head);
	if (head_dim)
		hp->head_dim = head_dim;
	int v_dim = hp->head_dim;
	if ((rc = model_get_int(L, "attention.value_length", false, 1, MODEL_MAX_DIM, &v_dim)))
		return rc;
	if (v_dim != hp->head_dim)
		return lt_seterr(L->err, L->errlen, LT_E_UNSUPPORTED,
				 "%s: attention key_length %d differs from value_length %d", L->path,
				 hp->head_dim, v_dim);
	if (hp->head_dim % 2)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT, "%s: head dimension %d is odd",
				 L->path, hp->head_dim);

	if ((rc = model_get_float(L, "attention.layer_norm_rms_epsilon", true, &hp->norm_eps)))
		return rc;

	hp->rope.n_rot = hp->head_dim;
	hp->rope.freq_base = 10000.0f;
	hp->rope.freq_scale = 1.0f;
	if ((rc = model_get_int(L, "rope.dimension_count", false, 2, hp->head_dim, &hp->rope.n_rot)) ||
	    (rc = model_get_float(L, "rope.freq_base", false, &hp->rope.freq_base)))
		return rc;
	if (hp->rope.n_rot % 2)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: rope.dimension_count %d is odd", L->path, hp->rope.n_rot);
	if (hp->rope.freq_base <= 0.0f)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT, "%s: rope.freq_base must be positive",
				 L->path);
	return model_load_rope_scaling(L);
}

/* ---- tensors ------------------------------------------------------------- */

static void model_shape_str(char *buf, size_t size, const int64_t *ne, int n_dims)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < n_dims && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%" PRId64, i ? ", " : "", ne[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Finds name and checks it has shape (ne0, ne1); ne1 is 1 for a vector.
 * A missing optional tensor gives *out = NULL. */
static int model_find(struct model_loader *L, const char *name, int64_t ne0, int64_t ne1,
		      bool required, const struct gguf_tensor **out)
{
	*out = NULL;
	const struct gguf_tensor *t = gguf_find_tensor(L->m->g, name);
	if (!t) {
		if (!required)
			return 0;
		return lt_seterr(L->err, L->errlen, LT_E_NOTFOUND, "%s: missing tensor '%s'", L->path,
				 name);
	}
	if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1) {
		char got[96], want[64];
		model_shape_str(got, sizeof(got), t->ne, t->n_dims);
		int64_t exp[2] = { ne0, ne1 };
		model_shape_str(want, sizeof(want), exp, ne1 == 1 ? 1 : 2);
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: tensor '%s' has shape [%s], expected [%s]", L->path, name, got, want);
	}
	L->m->n_params += t->n_elements;
	L->m->weight_bytes += t->size;
	*out = t;
	return 0;
}

/* Binds a float vector of n elements (norm weights, biases). */
static int model_bind_vec(struct model_loader *L, const char *name, int64_t n, bool required,
			  const float **out)
{
	const struct gguf_tensor *t;
	*out = NULL;
	int rc = model_find(L, name, n, 1, required, &t);
	if (rc || !t)
		return rc;
	if (t->type != GGML_TYPE_F32)
		return lt_seterr(L->err, L->errlen, LT_E_UNSUPPORTED,
				 "%s: tensor '%s' has type %s, expected f32", L->path, name,
				 dtype_name(t->type));
	*out = t->data;
	return 0;
}

/* Binds a weight matrix of n_out rows of n_in elements. */
static int model_bind_mat(struct model_loader *L, const char *name, int64_t n_in, int64_t n_out,
			  bool required, struct ops_mat *out)
{
	const struct gguf_tensor *t;
	memset(out, 0, sizeof(*out));
	int rc = model_find(L, name, n_in, n_out, required, &t);
	if (rc || !t)
		return rc;
	if (ops_mat_init(out, t->data, t->type, n_in, n_out))
		return lt_seterr(L->err, L->errlen, LT_E_UNSUPPORTED,
				 "%s: tensor '%s' has type %s, which cannot be computed with rows of %" PRId64,
				 L->path, name, dtype_name(t->type), n_in);
	return 0;
}

static int model_bind_layer(struct model_loader *L, int il, struct model_layer *l)
{
	const struct model_hparams *hp = &L->m->hp;
	const int64_t n_embd = hp->n_embd, n_ff = hp->n_ff;
	const int64_t n_q = (int64_t)hp->n_head * hp->head_dim;
	const int64_t n_kv = (int64_t)hp->n_head_kv * hp->head_dim;
	const bool bias = L->arch->qkv_bias;
	char name[96];
	int rc;

#define LAYER_NAME(suffix) (snprintf(name, sizeof(name), "blk.%d." suffix, il), name)
	if ((rc = model_bind_vec(L, LAYER_NAME("attn_norm.weight"), n_embd, true, &l->attn_norm)) ||
	    (rc = model_bind_mat(L, LAYER_NAME("attn_q.weight"), n_embd, n_q, true, &l->wq)) ||
	    (rc = model_bind_mat(L, LAYER_NAME("attn_k.weight"), n_embd, n_kv, true, &l->wk)) ||
	    (rc = model_bind_mat(L, LAYER_NAME("attn_v.weight"), n_embd, n_kv, true, &l->wv)) ||
	    (rc = model_bind_vec(L, LAYER_NAME("attn_q.bias"), n_q, bias, &l->bq)) ||
	    (rc = model_bind_vec(L, LAYER_NAME("attn_k.bias"), n_kv, bias, &l->bk)) ||
	    (rc = model_bind_vec(L, LAYER_NAME("attn_v.bias"), n_kv, bias, &l->bv)) ||
	    (rc = model_bind_mat(L, LAYER_NAME("attn_output.weight"), n_q, n_embd, true, &l->wo)) ||
	    (rc = model_bind_vec(L, LAYER_NAME("attn_output.bias"), n_embd, false, &l->bo)) ||
	    (rc = model_bind_vec(L, LAYER_NAME("ffn_norm.weight"), n_embd, true, &l->ffn_norm)) ||
	    (rc = model_bind_mat(L, LAYER_NAME("ffn_gate.weight"), n_embd, n_ff, true, &l->w_gate)) ||
	    (rc = model_bind_mat(L, LAYER_NAME("ffn_up.weight"), n_embd, n_ff, true, &l->w_up)) ||
	    (rc = model_bind_mat(L, LAYER_NAME("ffn_down.weight"), n_ff, n_embd, true, &l->w_down)))
		return rc;
#undef LAYER_NAME
	return 0;
}

static int model_bind_weights(struct model_loader *L)
{
	struct model_hparams *hp = &L->m->hp;
	struct model_weights *w = &L->m->w;
	int rc;

	/* The vocabulary size comes from the embedding table itself. */
	const struct gguf_tensor *emb = gguf_find_tensor(L->m->g, "token_embd.weight");
	if (!emb)
		return lt_seterr(L->err, L->errlen, LT_E_NOTFOUND, "%s: missing tensor '%s'", L->path,
				 "token_embd.weight");
	if (emb->ne[1] < 1 || emb->ne[1] > INT32_MAX)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: tensor 'token_embd.weight' has %" PRId64 " rows", L->path, emb->ne[1]);
	hp->n_vocab = (int)emb->ne[1];
	if ((rc = model_bind_mat(L, "token_embd.weight", hp->n_embd, hp->n_vocab, true, &w->tok_embd)))
		return rc;

	if ((rc = model_bind_vec(L, "output_norm.weight", hp->n_embd, true, &w->output_norm)) ||
	    (rc = model_bind_mat(L, "output.weight", hp->n_embd, hp->n_vocab, false, &w->output)))
		return rc;
	if (!w->output.data) {
		w->output = w->tok_embd;
		w->tied_output = true;
	}

	if ((rc = model_bind_vec(L, "rope_freqs.weight", hp->rope.n_rot / 2, false,
				 &hp->rope.freq_factors)))
		return rc;

	w->layers = calloc((size_t)hp->n_layer, sizeof(*w->layers));
	if (!w->layers)
		return lt_seterr(L->err, L->errlen, LT_E_NOMEM, "%s: out of memory", L->path);
	for (int il = 0; il < hp->n_layer; il++)
		if ((rc = model_bind_layer(L, il, &w->layers[il])))
			return rc;
	return 0;
}

/* ---- public API ------------------------------------------------------------ */

int model_from_gguf(struct model **out, struct gguf *g, char *err, size_t errlen)
{
	*out = NULL;
	struct model *m = calloc(1, sizeof(*m));
	if (!m) {
		gguf_free(g);
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", gguf_path(g));
	}
	m->g = g;
	struct model_loader L = { .m = m, .path = gguf_path(g), .err = err, .errlen = errlen };
	int rc = model_load_hparams(&L);
	if (!rc)
		rc = model_bind_weights(&L);
	if (rc) {
		model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int model_open(struct model **out, const char *path, const struct model_params *p, char *err,
	       size_t errlen)
{
	*out = NULL;
	struct model_params defaults = model_params_default();
	if (!p)
		p = &defaults;
	int flags = (p->use_mmap ? 0 : GGUF_OPEN_NO_MMAP) | (p->use_mlock ? GGUF_OPEN_MLOCK : 0);
	struct gguf *g;
	int rc = gguf_open(&g, path, flags, err, errlen);
	if (rc)
		return rc;
	return model_from_gguf(out, g, err, errlen);
}

void model_free(struct model *m)
{
	if (!m)
		return;
	free(m->w.layers);
	gguf_free(m->g);
	free(m);
}

const struct model_hparams *model_hparams(const struct model *m) { return &m->hp; }
const struct model_weights *model_weights(const struct model *m) { return &m->w; }
const struct gguf *model_gguf(const struct model *m) { return m->g; }
int64_t model_n_params(const struct model *m) { return m->n_params; }
uint64_t model_weight_bytes(const struct model *m) { return m->weight_bytes; }
