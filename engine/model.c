#include "model.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gguf_split.h"

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

/* Binding state: the model being filled and where messages go. */
struct model_loader {
	struct model *m;
	const struct arch_info *arch;
	int swa_period;   /* of the sliding-window layer pattern */
	const uint8_t *swa_flags; /* (n_layer) per-layer pattern from the file, or NULL */
	bool *used;       /* (n_tensors) which of the file's tensors a binding took */
	const char *path;
	char *err;
	size_t errlen;
};

struct model_params model_params_default(void)
{
	return (struct model_params){ .use_mmap = true, .use_mlock = false };
}

/* ---- metadata ------------------------------------------------------------ */

/* Writes "{arch}.suffix" into key. */
static const char *model_key(const struct model_loader *L, const char *suffix, char *key,
			     size_t size)
{
	snprintf(key, size, "%s.%s", L->m->hp.arch_name, suffix);
	return key;
}

/* The outcome of a typed read of key: 0 when it was read, 1 when an
 * optional key is absent (the caller keeps its default), else the error with
 * its message ("missing", or "is not KIND"). */
static int model_key_outcome(struct model_loader *L, const char *key, int rc, bool required,
			     const char *kind)
{
	if (rc == 0)
		return 0;
	if (rc == LT_E_NOTFOUND && !required)
		return 1;
	if (rc == LT_E_NOTFOUND)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT, "%s: missing metadata key '%s'",
				 L->path, key);
	return lt_seterr(L->err, L->errlen, LT_E_FORMAT, "%s: metadata key '%s' is not %s",
			 L->path, key, kind);
}

/* Reads the integer {arch}.suffix into *out, which must lie in lo..hi. A
 * missing optional key leaves *out as it is. */
static int model_get_int(struct model_loader *L, const char *suffix, bool required, int64_t lo,
			 int64_t hi, int *out)
{
	char key[128];
	int64_t v = 0;
	int rc = gguf_get_i64(L->m->g, model_key(L, suffix, key, sizeof(key)), &v);
	/* An integer too wide for int64 is out of range, not of the wrong type. */
	int got = rc == LT_E_RANGE ? 0 : model_key_outcome(L, key, rc, required, "an integer");
	if (got)
		return got > 0 ? 0 : got;
	if (rc == LT_E_RANGE || v < lo || v > hi)
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
	float v = 0.0f;
	int got = model_key_outcome(L, key,
				    gguf_get_f32(L->m->g, model_key(L, suffix, key, sizeof(key)), &v),
				    required, "a float");
	if (got)
		return got > 0 ? 0 : got;
	if (!(v >= 0.0f && v < 1e30f)) /* also rejects NaN */
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: metadata key '%s' has invalid value %g", L->path, key, (double)v);
	*out = v;
	return 0;
}

/* Reads the boolean {arch}.suffix; a missing optional key leaves *out. */
static int model_get_bool(struct model_loader *L, const char *suffix, bool required, bool *out)
{
	char key[128];
	bool v = false;
	int got = model_key_outcome(L, key,
				    gguf_get_bool(L->m->g, model_key(L, suffix, key, sizeof(key)), &v),
				    required, "a boolean");
	if (got)
		return got > 0 ? 0 : got;
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
	L->arch = arch_find(name);
	if (!L->arch)
		return lt_seterr(L->err, L->errlen, LT_E_UNSUPPORTED,
				 "%s: architecture '%s' is not supported (supported: %s)", L->path, name,
				 arch_names());
	L->m->hp.arch = L->arch;
	L->m->hp.arch_name = L->arch->name;
	L->m->hp.rope.mode = L->arch->rope_mode;
	return 0;
}

/* Linear RoPE scaling divides positions by a factor; LongRoPE (Phi-3) brings
 * per-pair factors as tensors and an attention factor; YaRN changes the
 * angles in ways we do not compute. */
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
	bool longrope = type && strcmp(type, "longrope") == 0 && L->arch->rope_factors;
	if (type && strcmp(type, "linear") != 0 && !longrope)
		return lt_seterr(L->err, L->errlen, LT_E_UNSUPPORTED,
				 "%s: rope scaling type '%s' is not supported (only linear%s)", L->path,
				 type, L->arch->rope_factors ? " and longrope" : "");
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
	if ((rc = model_get_float(L, "rope.scaling.attn_factor", false, &hp->rope.attn_factor)))
		return rc;
	return model_get_int(L, "rope.scaling.original_context_length", false, 1, INT32_MAX,
			     &hp->n_ctx_orig);
}

/* Whether layer il attends over the window (given that there is one): by
 * the file's per-layer flags, else by the period (llama.cpp's rule: the
 * last layer of each period is global; period 0 makes every layer local). */
static bool model_layer_is_swa(const struct model_loader *L, int il)
{
	if (L->swa_flags)
		return L->swa_flags[il] != 0;
	return L->swa_period == 0 || il % L->swa_period < L->swa_period - 1;
}

/* The sliding window: which layers use it, how wide, and their RoPE. */
static int model_load_swa(struct model_loader *L)
{
	struct model_hparams *hp = &L->m->hp;
	const struct arch_info *a = L->arch;
	hp->rope_swa = hp->rope;
	if (!(a->keys & ARCH_KEY_SWA))
		return 0;
	int rc, n_swa = a->swa_window_default, period = a->swa_period;
	if ((rc = model_get_int(L, "attention.sliding_window", false, 0, INT32_MAX, &n_swa)))
		return rc;
	/* The pattern is a period, or one flag per layer (true: local). */
	char key[128];
	snprintf(key, sizeof(key), "%s.attention.sliding_window_pattern", hp->arch_name);
	const struct gguf_value *pat = gguf_get(L->m->g, key);
	if (pat && gguf_value_type(pat) == GGUF_VTYPE_ARRAY) {
		if (gguf_value_arr_type(pat) != GGUF_VTYPE_BOOL ||
		    gguf_value_arr_len(pat) != (uint64_t)hp->n_layer)
			return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
					 "%s: metadata key '%s' is not one boolean per layer (%d)",
					 L->path, key, hp->n_layer);
		L->swa_flags = gguf_value_arr_data(pat);
	} else if ((rc = model_get_int(L, "attention.sliding_window_pattern", false, 0,
				       MODEL_MAX_LAYERS, &period))) {
		return rc;
	}
	if (n_swa <= 0)
		return 0;
	hp->n_swa = n_swa;
	switch (a->swa_rope) {
	case ARCH_SWA_ROPE_GLOBAL:
		rc = model_get_float(L, "rope.freq_base_swa", false, &hp->rope_swa.freq_base);
		break;
	case ARCH_SWA_ROPE_OWN:
		/* Gemma 3's local layers keep the base of 10000 they were trained with. */
		hp->rope_swa.freq_base = 10000.0f;
		hp->rope_swa.freq_scale = 1.0f;
		rc = model_get_float(L, "rope.freq_base_swa", false, &hp->rope_swa.freq_base);
		break;
	case ARCH_SWA_ROPE_UNSCALED:
		hp->rope_swa.freq_scale = 1.0f;
		hp->rope_swa.attn_factor = 1.0f;
		rc = 0;
		break;
	}
	if (rc)
		return rc;
	if (!(hp->rope_swa.freq_base > 0.0f))
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: rope.freq_base_swa must be positive", L->path);
	L->swa_period = period;
	for (int il = 0; il < hp->n_layer; il++)
		if (model_layer_is_swa(L, il))
			hp->n_swa_layers++;
	return 0;
}

/* Scales, caps and switches that only some architectures read. */
static int model_load_extras(struct model_loader *L)
{
	struct model_hparams *hp = &L->m->hp;
	const struct arch_info *a = L->arch;
	int rc;
	hp->embd_scale = a->embd_scale_sqrt ? sqrtf((float)hp->n_embd) : 1.0f;
	hp->residual_scale = 1.0f;
	hp->logit_scale = 1.0f;
	hp->use_rope = a->pos == ARCH_POS_ROPE;
	hp->attn_scale = 1.0f / sqrtf((float)hp->head_dim);
	if (a->query_scale_embd_layers && hp->n_layer == a->query_scale_embd_layers)
		hp->attn_scale = 1.0f / sqrtf((float)(hp->n_embd / hp->n_head));
	hp->attn_softcap = a->attn_softcap_default ? 50.0f : 0.0f;
	hp->final_softcap = a->final_softcap_default ? 30.0f : 0.0f;
	hp->max_alibi_bias = a->max_alibi_bias_default;
	hp->parallel_residual = a->resid == ARCH_RESID_PARALLEL || a->resid == ARCH_RESID_PAR_SHARED;
	if ((a->keys & ARCH_KEY_ATTN_SOFTCAP) &&
	    (rc = model_get_float(L, "attn_logit_softcapping", false, &hp->attn_softcap)))
		return rc;
	if ((a->keys & ARCH_KEY_FINAL_SOFTCAP) &&
	    (rc = model_get_float(L, "final_logit_softcapping", false, &hp->final_softcap)))
		return rc;
	if ((a->keys & ARCH_KEY_CLAMP_KQV) &&
	    (rc = model_get_float(L, "attention.clamp_kqv", false, &hp->clamp_kqv)))
		return rc;
	if ((a->keys & ARCH_KEY_ALIBI_BIAS) &&
	    (rc = model_get_float(L, "attention.max_alibi_bias", false, &hp->max_alibi_bias)))
		return rc;
	if (a->resid == ARCH_RESID_BY_KEY &&
	    (rc = model_get_bool(L, "use_parallel_residual", true, &hp->parallel_residual)))
		return rc;
	if (a->keys & ARCH_KEY_GRANITE) {
		float embd = 0.0f, resid = 0.0f, attn = 0.0f;
		if ((rc = model_get_float(L, "logit_scale", true, &hp->logit_scale)) ||
		    (rc = model_get_float(L, "residual_scale", false, &resid)) ||
		    (rc = model_get_float(L, "embedding_scale", false, &embd)) ||
		    (rc = model_get_float(L, "attention.scale", false, &attn)) ||
		    (rc = model_get_bool(L, "rope.scaling.finetuned", false, &hp->use_rope)))
			return rc;
		if (hp->logit_scale == 0.0f)
			return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
					 "%s: metadata key '%s.logit_scale' must not be 0", L->path,
					 hp->arch_name);
		/* 0 means "not set" for these three, as in llama.cpp. */
		if (embd != 0.0f)
			hp->embd_scale = embd;
		if (resid != 0.0f)
			hp->residual_scale = resid;
		if (attn != 0.0f)
			hp->attn_scale = attn;
	}
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

	const char *eps_key = L->arch->norm == ARCH_NORM_RMS ? "attention.layer_norm_rms_epsilon"
							     : "attention.layer_norm_epsilon";
	if ((rc = model_get_float(L, eps_key, true, &hp->norm_eps)))
		return rc;

	hp->rope.n_rot = hp->head_dim;
	hp->rope.freq_base = 10000.0f;
	hp->rope.freq_scale = 1.0f;
	hp->rope.attn_factor = 1.0f;
	if ((rc = model_get_int(L, "rope.dimension_count", false, 2, hp->head_dim, &hp->rope.n_rot)) ||
	    (rc = model_get_float(L, "rope.freq_base", false, &hp->rope.freq_base)))
		return rc;
	if (hp->rope.n_rot % 2)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT,
				 "%s: rope.dimension_count %d is odd", L->path, hp->rope.n_rot);
	if (hp->rope.freq_base <= 0.0f)
		return lt_seterr(L->err, L->errlen, LT_E_FORMAT, "%s: rope.freq_base must be positive",
				 L->path);
	hp->n_ctx_orig = hp->n_ctx_train;
	if ((rc = model_load_rope_scaling(L)) || (rc = model_load_extras(L)))
		return rc;
	return model_load_swa(L);
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
	L->used[t - gguf_tensor(L->m->g, 0)] = true;
	*out = t;
	return 0;
}

/* Every tensor of the file must have been bound, as llama.cpp's loader
 * insists: a tensor left over means a variant of the architecture (q/k
 * LayerNorms in an MPT, experts) whose computation we would silently skip. */
static int model_check_all_used(struct model_loader *L)
{
	for (int64_t i = 0; i < gguf_n_tensors(L->m->g); i++)
		if (!L->used[i])
			return lt_seterr(L->err, L->errlen, LT_E_UNSUPPORTED,
					 "%s: tensor '%s' is not part of a %s model we compute (a variant "
					 "we do not support)", L->path, gguf_tensor(L->m->g, i)->name,
					 L->arch->name);
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

/* Tensor names are "PREFIX.SUFFIX" with PREFIX "blk.N.ROLE" or a global name. */
static const char *model_tname(char *buf, size_t size, int il, const char *role,
			       const char *suffix)
{
	if (il < 0)
		snprintf(buf, size, "%s.%s", role, suffix);
	else
		snprintf(buf, size, "blk.%d.%s.%s", il, role, suffix);
	return buf;
}

/* Binds ROLE.weight (need) and ROLE.bias (bias_need, only when the weight is there). */
static int model_bind_norm(struct model_loader *L, int il, const char *role, int64_t n,
			   enum arch_need need, enum arch_need bias_need, const float **w,
			   const float **b)
{
	char name[96];
	*w = *b = NULL;
	if (need == ARCH_NO)
		return 0;
	int rc = model_bind_vec(L, model_tname(name, sizeof(name), il, role, "weight"), n,
				need == ARCH_REQ, w);
	if (rc || !*w || bias_need == ARCH_NO)
		return rc;
	return model_bind_vec(L, model_tname(name, sizeof(name), il, role, "bias"), n,
			      bias_need == ARCH_REQ, b);
}

/* Binds ROLE.weight as a matrix and ROLE.bias of n_out when bias_need allows. */
static int model_bind_linear(struct model_loader *L, int il, const char *role, int64_t n_in,
			     int64_t n_out, bool required, enum arch_need bias_need,
			     struct ops_mat *w, const float **b)
{
	char name[96];
	if (b)
		*b = NULL;
	int rc = model_bind_mat(L, model_tname(name, sizeof(name), il, role, "weight"), n_in, n_out,
				required, w);
	if (rc || !w->data || bias_need == ARCH_NO || !b)
		return rc;
	return model_bind_vec(L, model_tname(name, sizeof(name), il, role, "bias"), n_out,
			      bias_need == ARCH_REQ, b);
}

static int model_bind_attention(struct model_loader *L, int il, struct model_layer *l)
{
	const struct model_hparams *hp = &L->m->hp;
	const struct arch_info *a = L->arch;
	const int64_t n_embd = hp->n_embd;
	const int64_t n_q = (int64_t)hp->n_head * hp->head_dim;
	const int64_t n_kv = (int64_t)hp->n_head_kv * hp->head_dim;
	int rc;
	/* A fused matrix where the row allows one; three otherwise. */
	if ((rc = model_bind_linear(L, il, "attn_qkv", n_embd, n_q + 2 * n_kv,
				    a->qkv_fused == ARCH_REQ, a->qkv_bias, &l->wqkv, &l->bqkv)))
		return rc;
	if (!l->wqkv.data &&
	    ((rc = model_bind_linear(L, il, "attn_q", n_embd, n_q, true, a->qkv_bias, &l->wq, &l->bq)) ||
	     (rc = model_bind_linear(L, il, "attn_k", n_embd, n_kv, true, a->qkv_bias, &l->wk, &l->bk)) ||
	     (rc = model_bind_linear(L, il, "attn_v", n_embd, n_kv, true, a->qkv_bias, &l->wv, &l->bv))))
		return rc;
	if (a->qk_norm != ARCH_QK_NORM_NONE) {
		const bool head = a->qk_norm == ARCH_QK_NORM_HEAD;
		const float *unused;
		if ((rc = model_bind_norm(L, il, "attn_q_norm", head ? hp->head_dim : n_q, ARCH_REQ,
					  ARCH_NO, &l->q_norm, &unused)) ||
		    (rc = model_bind_norm(L, il, "attn_k_norm", head ? hp->head_dim : n_kv, ARCH_REQ,
					  ARCH_NO, &l->k_norm, &unused)))
			return rc;
	}
	return model_bind_linear(L, il, "attn_output", n_q, n_embd, true, a->out_bias, &l->wo, &l->bo);
}

static int model_bind_layer(struct model_loader *L, int il, struct model_layer *l)
{
	const struct model_hparams *hp = &L->m->hp;
	const struct arch_info *a = L->arch;
	const int64_t n_embd = hp->n_embd, n_ff = hp->n_ff;
	const float *unused;
	int rc;

	l->swa = hp->n_swa > 0 && model_layer_is_swa(L, il);
	if ((rc = model_bind_norm(L, il, "attn_norm", n_embd, a->attn_norm, a->norm_bias,
				  &l->attn_norm, &l->attn_norm_b)) ||
	    (rc = model_bind_norm(L, il, "attn_norm_2", n_embd, a->attn_norm_2, a->norm_bias,
				  &l->attn_norm_2, &l->attn_norm_2_b)) ||
	    (rc = model_bind_attention(L, il, l)) ||
	    (rc = model_bind_norm(L, il, "post_attention_norm", n_embd,
				  a->post_norms ? ARCH_REQ : ARCH_NO, ARCH_NO, &l->attn_post_norm,
				  &unused)) ||
	    (rc = model_bind_norm(L, il, "ffn_norm", n_embd, a->ffn_norm, a->norm_bias, &l->ffn_norm,
				  &l->ffn_norm_b)))
		return rc;

	if (a->ffn_up_fused) {
		rc = model_bind_linear(L, il, "ffn_up", n_embd, 2 * n_ff, true, a->ffn_bias, &l->w_up,
				       &l->b_up);
	} else {
		rc = model_bind_linear(L, il, "ffn_up", n_embd, n_ff, true, a->ffn_bias, &l->w_up,
				       &l->b_up);
		if (!rc && a->ffn != ARCH_FFN_GELU)
			rc = model_bind_linear(L, il, "ffn_gate", n_embd, n_ff, true, a->ffn_bias,
					       &l->w_gate, &l->b_gate);
	}
	if (rc || (rc = model_bind_linear(L, il, "ffn_down", n_ff, n_embd, true, a->ffn_bias,
					  &l->w_down, &l->b_down)))
		return rc;
	return model_bind_norm(L, il, "post_ffw_norm", n_embd, a->post_norms ? ARCH_REQ : ARCH_NO,
			       ARCH_NO, &l->ffn_post_norm, &unused);
}

static int model_bind_weights(struct model_loader *L)
{
	struct model_hparams *hp = &L->m->hp;
	struct model_weights *w = &L->m->w;
	const struct arch_info *a = L->arch;
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
	if (a->pos_embd != ARCH_NO &&
	    (rc = model_bind_mat(L, "position_embd.weight", hp->n_embd, hp->n_ctx_train,
				 a->pos_embd == ARCH_REQ, &w->pos_embd)))
		return rc;
	if ((rc = model_bind_norm(L, -1, "token_embd_norm", hp->n_embd,
				  a->embd_norm ? ARCH_REQ : ARCH_NO, a->norm_bias, &w->embd_norm,
				  &w->embd_norm_b)) ||
	    (rc = model_bind_norm(L, -1, "output_norm", hp->n_embd, ARCH_REQ, a->norm_bias,
				  &w->output_norm, &w->output_norm_b)))
		return rc;
	if (a->output != ARCH_NO &&
	    (rc = model_bind_mat(L, "output.weight", hp->n_embd, hp->n_vocab, a->output == ARCH_REQ,
				 &w->output)))
		return rc;
	if (!w->output.data) {
		w->output = w->tok_embd;
		w->tied_output = true;
	}

	if (hp->use_rope) {
		const int n_pairs = hp->rope.n_rot / 2;
		if ((rc = model_bind_vec(L, "rope_freqs.weight", n_pairs, false, &hp->rope.freq_factors)))
			return rc;
		if (a->rope_factors &&
		    ((rc = model_bind_vec(L, "rope_factors_long.weight", n_pairs, false, &hp->rope_long)) ||
		     (rc = model_bind_vec(L, "rope_factors_short.weight", n_pairs, false,
					  &hp->rope_short))))
			return rc;
		hp->rope_swa.freq_factors = hp->rope.freq_factors;
	}

	w->layers = calloc((size_t)hp->n_layer, sizeof(*w->layers));
	if (!w->layers)
		return lt_seterr(L->err, L->errlen, LT_E_NOMEM, "%s: out of memory", L->path);
	for (int il = 0; il < hp->n_layer; il++)
		if ((rc = model_bind_layer(L, il, &w->layers[il])))
			return rc;
	return model_check_all_used(L);
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
	L.used = calloc((size_t)gguf_n_tensors(g) + 1, sizeof(*L.used));
	int rc = L.used ? model_load_hparams(&L)
			: lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", gguf_path(g));
	if (!rc)
		rc = model_bind_weights(&L);
	free(L.used);
	if (rc) {
		model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* Maps the weights' pages in with a call per tensor, as the first
 * evaluation would read them all: faulting them in as they were first read
 * took a fault per 64 KiB, about 10 us each on a virtual machine. A file
 * that is not cached is read now. The token embedding is left out unless
 * it is the output matrix too: an evaluation reads only its tokens' rows,
 * and the rest need not count in RSS. Without MADV_POPULATE_READ (Linux
 * 5.14) the pages are only asked to be read ahead. */
static void model_populate(const struct model *m)
{
	const struct gguf *g = m->g;
	const struct gguf_tensor *emb = gguf_find_tensor(g, "token_embd.weight");
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	int advice = MADV_WILLNEED;
#ifdef MADV_POPULATE_READ
	advice = MADV_POPULATE_READ;
#endif
	for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *t = gguf_tensor(g, i);
		if (!t->size || (t == emb && !m->w.tied_output))
			continue;
		/* The pages a tensor's bytes touch lie in its file's mapping. */
		const uintptr_t lo = (uintptr_t)t->data & ~(page - 1);
		const uintptr_t hi = ((uintptr_t)t->data + t->size + page - 1) & ~(page - 1);
		if (madvise((void *)lo, hi - lo, advice) != 0 && advice != MADV_WILLNEED) {
			advice = MADV_WILLNEED;
			(void)madvise((void *)lo, hi - lo, advice);
		}
	}
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
	int rc = gguf_open_split(&g, path, flags, err, errlen);
	if (rc)
		return rc;
	rc = model_from_gguf(out, g, err, errlen);
	if (rc == 0 && p->use_mmap)
		model_populate(*out);
	return rc;
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
