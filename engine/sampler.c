#include "sampler.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The history of an unbounded window (-1 without n_ctx) starts this small
 * and doubles as tokens arrive. */
#define HIST_INITIAL_CAP 256

/* Above this many candidates top-p sorts only the tokens that can be in
 * the nucleus instead of all of them. */
#define TOP_P_PARTITION_MIN 1024

/* Layout of the saved state: magic, version, seed, history length, the four
 * generator words, then the history tokens oldest first. */
#define STATE_MAGIC "LTSS"
#define STATE_VERSION 1u
#define STATE_HEADER_BYTES (4 + 4 + 4 + 4 + 4 * 8)

struct sampler {
	struct sampler_params params;
	int n_vocab;
	size_t window;                  /* penalty window in tokens; 0 off, SIZE_MAX unbounded */

	struct sampler_candidate *cand; /* (n_vocab) the working set of one sample call */
	struct sampler_candidate *tmp;  /* (n_vocab) scratch for reordering */
	float *score;                   /* (n_vocab) scratch: typical sampling's distances */
	int32_t *order_idx;             /* (n_vocab) scratch: indices sorted by score */
	int n_cand;
	bool sorted;                    /* cand is in descending logit order */

	int32_t *count;                 /* (n_vocab) occurrences of each token in the window */
	int32_t *hist;                  /* (hist_cap) ring of accepted tokens */
	size_t hist_cap, hist_len, hist_first; /* hist_first indexes the oldest token */

	uint64_t rng[4];                /* xoshiro256** state */
	uint32_t seed_cur;
};

/* ---- random numbers ---- */

static uint64_t rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64 turns one seed into well-mixed words, which is what
 * xoshiro's authors recommend for filling its state. */
static uint64_t rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void rng_seed(uint64_t st[4], uint32_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		st[i] = rng_splitmix(&x);
}

static uint64_t rng_next(uint64_t st[4])
{
	uint64_t result = rng_rotl(st[1] * 5, 7) * 9;
	uint64_t t = st[1] << 17;
	st[2] ^= st[0];
	st[3] ^= st[1];
	st[1] ^= st[2];
	st[0] ^= st[3];
	st[2] ^= t;
	st[3] = rng_rotl(st[3], 45);
	return result;
}

/* A uniform double in [0, 1) from the top 53 bits. */
static double rng_uniform(uint64_t st[4])
{
	return (double)(rng_next(st) >> 11) * 0x1.0p-53;
}

static uint32_t sampler_clock_seed(void)
{
	struct timespec a, b;
	clock_gettime(CLOCK_REALTIME, &a);
	clock_gettime(CLOCK_MONOTONIC, &b);
	uint64_t x = (uint64_t)a.tv_sec * 1000000000ull + (uint64_t)a.tv_nsec;
	x ^= ((uint64_t)b.tv_nsec << 20) ^ (uint64_t)getpid();
	uint64_t z = rng_splitmix(&x);
	return (uint32_t)(z ^ (z >> 32));
}

static void sampler_reseed(struct sampler *s)
{
	s->seed_cur = s->params.seed == SAMPLER_SEED_RANDOM ? sampler_clock_seed() : s->params.seed;
	rng_seed(s->rng, s->seed_cur);
}

/* ---- parameters ---- */

struct sampler_params sampler_params_default(void)
{
	struct sampler_params p = {
		.temperature = 0.8f,
		.top_k = 40,
		.top_p = 0.95f,
		.min_p = 0.05f,
		.typical_p = 1.0f,
		.repeat_penalty = 1.0f,
		.frequency_penalty = 0.0f,
		.presence_penalty = 0.0f,
		.repeat_last_n = 64,
		.xtc_probability = 0.0f,
		.xtc_threshold = 0.1f,
		.n_ctx = 0,
		.seed = SAMPLER_SEED_RANDOM,
	};
	snprintf(p.order, sizeof(p.order), "%s", SAMPLER_ORDER_DEFAULT);
	return p;
}

static bool sampler_step_known(char c)
{
	return c && strchr("ekypmtdx", c) != NULL;
}

int sampler_params_check(const struct sampler_params *p, char *err, size_t errlen)
{
	if (!p)
		return lt_seterr(err, errlen, LT_E_INVAL, "sampler: no parameters given");
	const struct {
		const char *name;
		float v;
	} floats[] = {
		{ "temperature", p->temperature }, { "top_p", p->top_p }, { "min_p", p->min_p },
		{ "typical_p", p->typical_p }, { "repeat_penalty", p->repeat_penalty },
		{ "frequency_penalty", p->frequency_penalty },
		{ "presence_penalty", p->presence_penalty },
		{ "xtc_probability", p->xtc_probability }, { "xtc_threshold", p->xtc_threshold },
	};
	for (size_t i = 0; i < sizeof(floats) / sizeof(floats[0]); i++)
		if (!isfinite(floats[i].v))
			return lt_seterr(err, errlen, LT_E_INVAL, "sampler: %s is not a finite number",
					 floats[i].name);
	/* A zero or negative repeat penalty would flip or erase logits. */
	if (p->repeat_penalty <= 0.0f)
		return lt_seterr(err, errlen, LT_E_INVAL,
				 "sampler: repeat_penalty %g must be greater than 0", p->repeat_penalty);
	if (p->repeat_last_n < -1)
		return lt_seterr(err, errlen, LT_E_INVAL,
				 "sampler: repeat_last_n %d must be -1 (whole context), 0 (off) or positive",
				 (int)p->repeat_last_n);
	if (p->n_ctx < 0)
		return lt_seterr(err, errlen, LT_E_INVAL, "sampler: n_ctx %d is negative",
				 (int)p->n_ctx);
	size_t n = strnlen(p->order, sizeof(p->order));
	if (n == sizeof(p->order))
		return lt_seterr(err, errlen, LT_E_INVAL, "sampler: order is not NUL-terminated");
	for (size_t i = 0; i < n; i++)
		if (!sampler_step_known(p->order[i]))
			return lt_seterr(err, errlen, LT_E_INVAL,
					 "sampler: unknown step '%c' in order \"%s\" "
					 "(known: e k y p m x t; d is ignored)",
					 p->order[i], p->order);
	return LT_OK;
}

int sampler_order_from_names(const char *names, char *order, size_t order_len, char *err,
			     size_t errlen)
{
	static const struct {
		const char *name;
		char step;
	} table[] = {
		{ "penalties", 'e' }, { "top_k", 'k' }, { "top-k", 'k' }, { "typ_p", 'y' },
		{ "typical_p", 'y' }, { "typical-p", 'y' }, { "typical", 'y' }, { "typ-p", 'y' },
		{ "typ", 'y' }, { "top_p", 'p' }, { "top-p", 'p' }, { "nucleus", 'p' },
		{ "min_p", 'm' }, { "min-p", 'm' }, { "temperature", 't' }, { "temp", 't' },
		{ "dry", 'd' }, { "xtc", 'x' },
	};
	if (!names || !order || order_len == 0)
		return lt_seterr(err, errlen, LT_E_INVAL, "sampler: no step names given");
	size_t n = 0;
	const char *q = names;
	while (*q) {
		size_t len = strcspn(q, ";, \t");
		if (len > 0) {
			char step = 0;
			for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
				if (strlen(table[i].name) == len && strncmp(table[i].name, q, len) == 0)
					step = table[i].step;
			if (!step)
				return lt_seterr(err, errlen, LT_E_INVAL,
						 "sampler: unknown step name '%.*s' in \"%s\"", (int)len, q,
						 names);
			if (n + 1 >= order_len || n >= SAMPLER_MAX_STEPS)
				return lt_seterr(err, errlen, LT_E_RANGE,
						 "sampler: too many steps in \"%s\"", names);
			order[n++] = step;
			q += len;
		} else {
			q++;
		}
	}
	order[n] = '\0';
	return LT_OK;
}

/* ---- penalty history ---- */

static size_t sampler_window(const struct sampler_params *p)
{
	if (p->repeat_last_n > 0)
		return (size_t)p->repeat_last_n;
	if (p->repeat_last_n == 0)
		return 0;
	return p->n_ctx > 0 ? (size_t)p->n_ctx : SIZE_MAX;
}

static int32_t hist_at(const struct sampler *s, size_t i)
{
	return s->hist[(s->hist_first + i) % s->hist_cap];
}

static void hist_drop_oldest(struct sampler *s)
{
	s->count[s->hist[s->hist_first]]--;
	s->hist_first = (s->hist_first + 1) % s->hist_cap;
	s->hist_len--;
}

static void hist_clear(struct sampler *s)
{
	while (s->hist_len > 0)
		hist_drop_oldest(s);
	s->hist_first = 0;
}

/* Grows the ring to hold at least need tokens, oldest first at index 0. */
static int hist_grow(struct sampler *s, size_t need)
{
	size_t cap = s->hist_cap ? s->hist_cap : HIST_INITIAL_CAP;
	while (cap < need)
		cap *= 2;
	if (s->window != SIZE_MAX && cap > s->window)
		cap = s->window;
	int32_t *h = malloc(cap * sizeof(*h));
	if (!h)
		return LT_E_NOMEM;
	for (size_t i = 0; i < s->hist_len; i++)
		h[i] = hist_at(s, i);
	free(s->hist);
	s->hist = h;
	s->hist_cap = cap;
	s->hist_first = 0;
	return LT_OK;
}

static int hist_push(struct sampler *s, int32_t token)
{
	if (s->window == 0)
		return LT_OK;
	if (s->hist_len == s->window)
		hist_drop_oldest(s);
	if (s->hist_len == s->hist_cap) {
		int rc = hist_grow(s, s->hist_len + 1);
		if (rc < 0)
			return rc;
	}
	s->hist[(s->hist_first + s->hist_len) % s->hist_cap] = token;
	s->hist_len++;
	s->count[token]++;
	return LT_OK;
}

/* ---- construction ---- */

int sampler_new(struct sampler **out, const struct sampler_params *p, int n_vocab, char *err,
		size_t errlen)
{
	*out = NULL;
	int rc = sampler_params_check(p, err, errlen);
	if (rc < 0)
		return rc;
	if (n_vocab <= 0)
		return lt_seterr(err, errlen, LT_E_INVAL, "sampler: vocabulary size %d is not positive",
				 n_vocab);
	struct sampler *s = calloc(1, sizeof(*s));
	if (!s)
		return lt_seterr(err, errlen, LT_E_NOMEM, "sampler: out of memory");
	size_t n = (size_t)n_vocab;
	s->params = *p;
	s->n_vocab = n_vocab;
	s->window = sampler_window(p);
	s->cand = malloc(n * sizeof(*s->cand));
	s->tmp = malloc(n * sizeof(*s->tmp));
	s->score = malloc(n * sizeof(*s->score));
	s->order_idx = malloc(n * sizeof(*s->order_idx));
	s->count = calloc(n, sizeof(*s->count));
	if (!s->cand || !s->tmp || !s->score || !s->order_idx || !s->count) {
		sampler_free(s);
		return lt_seterr(err, errlen, LT_E_NOMEM,
				 "sampler: out of memory for a vocabulary of %d tokens", n_vocab);
	}
	sampler_reseed(s);
	*out = s;
	return LT_OK;
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	free(s->cand);
	free(s->tmp);
	free(s->score);
	free(s->order_idx);
	free(s->count);
	free(s->hist);
	free(s);
}

int sampler_accept(struct sampler *s, int32_t token)
{
	if (!s)
		return LT_E_INVAL;
	if (token < 0 || token >= s->n_vocab)
		return LT_E_RANGE;
	return hist_push(s, token);
}

void sampler_reset(struct sampler *s)
{
	if (!s)
		return;
	hist_clear(s);
	s->n_cand = 0;
	sampler_reseed(s);
}

int sampler_set_params(struct sampler *s, const struct sampler_params *p, char *err,
		       size_t errlen)
{
	if (!s)
		return lt_seterr(err, errlen, LT_E_INVAL, "sampler: no sampler given");
	int rc = sampler_params_check(p, err, errlen);
	if (rc < 0)
		return rc;
	bool new_seed = p->seed != s->params.seed;
	s->params = *p;
	s->window = sampler_window(p);
	while (s->hist_len > s->window)
		hist_drop_oldest(s);
	/* A smaller ring keeps memory in line with the new window. */
	if (s->hist_cap > s->window && s->window > 0 && s->hist_len > 0) {
		int32_t *h = malloc(s->window * sizeof(*h));
		if (h) {
			for (size_t i = 0; i < s->hist_len; i++)
				h[i] = hist_at(s, i);
			free(s->hist);
			s->hist = h;
			s->hist_cap = s->window;
			s->hist_first = 0;
		}
	} else if (s->window == 0) {
		free(s->hist);
		s->hist = NULL;
		s->hist_cap = 0;
		s->hist_first = 0;
	}
	if (new_seed)
		sampler_reseed(s);
	return LT_OK;
}

const struct sampler_params *sampler_get_params(const struct sampler *s)
{
	return s ? &s->params : NULL;
}

uint32_t sampler_seed(const struct sampler *s)
{
	return s ? s->seed_cur : 0;
}

int sampler_last_candidates(const struct sampler *s, const struct sampler_candidate **out)
{
	if (out)
		*out = s ? s->cand : NULL;
	return s ? s->n_cand : 0;
}

/* ---- the chain steps ---- */

/* Descending logit, then ascending id, so every order is total and the
 * result never depends on the sort algorithm. */
static bool cand_before(const struct sampler_candidate *a, const struct sampler_candidate *b)
{
	if (a->logit != b->logit)
		return a->logit > b->logit;
	return a->id < b->id;
}

static int cand_cmp(const void *pa, const void *pb)
{
	const struct sampler_candidate *a = pa, *b = pb;
	if (cand_before(a, b))
		return -1;
	return cand_before(b, a) ? 1 : 0;
}

static void cand_sort(struct sampler *s)
{
	if (!s->sorted)
		qsort(s->cand, (size_t)s->n_cand, sizeof(*s->cand), cand_cmp);
	s->sorted = true;
}

/* Sorts, then fills p with the softmax of the logits. When every logit is
 * -inf the candidates are treated as equally likely. */
static void step_softmax(struct sampler *s)
{
	cand_sort(s);
	float max_l = s->cand[0].logit;
	if (max_l == -INFINITY) {
		for (int i = 0; i < s->n_cand; i++)
			s->cand[i].p = 1.0f / (float)s->n_cand;
		return;
	}
	float sum = 0.0f;
	for (int i = 0; i < s->n_cand; i++) {
		float p = expf(s->cand[i].logit - max_l);
		s->cand[i].p = p;
		sum += p;
	}
	for (int i = 0; i < s->n_cand; i++)
		s->cand[i].p /= sum;
}

/* Repetition penalties as llama.cpp applies them: the repeat penalty
 * divides positive logits and multiplies the others (so a penalty always
 * lowers the logit), then frequency and presence subtract. */
static void step_penalties(struct sampler *s)
{
	const struct sampler_params *p = &s->params;
	if (s->window == 0 || s->hist_len == 0 ||
	    (p->repeat_penalty == 1.0f && p->frequency_penalty == 0.0f &&
	     p->presence_penalty == 0.0f))
		return;
	for (int i = 0; i < s->n_cand; i++) {
		int32_t c = s->count[s->cand[i].id];
		if (c == 0)
			continue;
		float *l = &s->cand[i].logit;
		if (*l <= 0.0f)
			*l *= p->repeat_penalty;
		else
			*l /= p->repeat_penalty;
		*l -= (float)c * p->frequency_penalty + p->presence_penalty;
	}
	s->sorted = false;
}

/* Moves candidate i down a min-heap (worst candidate at the root). */
static void heap_sift(struct sampler_candidate *h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, w = i;
		if (l < n && cand_before(&h[w], &h[l]))
			w = l;
		if (r < n && cand_before(&h[w], &h[r]))
			w = r;
		if (w == i)
			return;
		struct sampler_candidate t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

/* Keeps the k best candidates in O(n log k) with a heap of the best seen so
 * far, which matters for 100k+ vocabularies and the usual k of 40. */
static void step_top_k(struct sampler *s, int32_t k)
{
	int n = s->n_cand;
	if (k <= 0 || k >= n)
		return;
	if (s->sorted) {
		s->n_cand = k;
		return;
	}
	struct sampler_candidate *h = s->tmp;
	memcpy(h, s->cand, (size_t)k * sizeof(*h));
	for (int i = k / 2 - 1; i >= 0; i--)
		heap_sift(h, k, i);
	for (int i = k; i < n; i++) {
		if (cand_before(&s->cand[i], &h[0])) {
			h[0] = s->cand[i];
			heap_sift(h, k, 0);
		}
	}
	memcpy(s->cand, h, (size_t)k * sizeof(*h));
	s->n_cand = k;
	s->sorted = false;
	cand_sort(s);
}

/* Fill and top-k in one pass over the logits, when top-k is the chain's
 * first step that acts: only the k survivors become candidates. The same
 * heap as step_top_k; a later logit must beat the worst kept one outright,
 * as a tie goes to the lower id, which the kept one has (and NaN, -inf
 * here, beats nothing). */
static void top_k_from_logits(struct sampler *s, const float *logits, int k)
{
	struct sampler_candidate *h = s->tmp;
	for (int i = 0; i < k; i++)
		h[i] = (struct sampler_candidate){ .id = i,
						   .logit = isnan(logits[i]) ? -INFINITY : logits[i] };
	for (int i = k / 2 - 1; i >= 0; i--)
		heap_sift(h, k, i);
	float worst = h[0].logit;
	for (int i = k; i < s->n_vocab; i++) {
		if (logits[i] > worst) {
			h[0] = (struct sampler_candidate){ .id = i, .logit = logits[i] };
			heap_sift(h, k, 0);
			worst = h[0].logit;
		}
	}
	memcpy(s->cand, h, (size_t)k * sizeof(*h));
	s->n_cand = k;
	s->sorted = false;
	cand_sort(s);
}

/* Top-p without sorting the whole vocabulary. Tokens below tau = (1-p)/2n
 * hold less than (1-p)/2 of the mass together, so the ones above it hold
 * more than p and contain the whole nucleus: sorting just those is enough.
 * Returns false (nothing changed but p) when rounding left the nucleus
 * short of p, and the caller sorts everything. */
static bool top_p_partitioned(struct sampler *s, float p)
{
	int n = s->n_cand;
	float max_l = -INFINITY;
	for (int i = 0; i < n; i++)
		if (s->cand[i].logit > max_l)
			max_l = s->cand[i].logit;
	if (max_l == -INFINITY)
		return false;
	float sum = 0.0f;
	for (int i = 0; i < n; i++) {
		s->cand[i].p = expf(s->cand[i].logit - max_l);
		sum += s->cand[i].p;
	}
	float tau = (1.0f - p) / (2.0f * (float)n);
	int front = 0;
	for (int i = 0; i < n; i++) {
		s->cand[i].p /= sum;
		if (s->cand[i].p >= tau) {
			struct sampler_candidate t = s->cand[front];
			s->cand[front++] = s->cand[i];
			s->cand[i] = t;
		}
	}
	qsort(s->cand, (size_t)front, sizeof(*s->cand), cand_cmp);
	float cum = 0.0f;
	for (int i = 0; i < front; i++) {
		cum += s->cand[i].p;
		if (cum >= p) {
			s->n_cand = i + 1;
			s->sorted = true;
			return true;
		}
	}
	return false;
}

/* Nucleus: the smallest prefix of the sorted distribution whose mass
 * reaches p (at least one token). */
static void step_top_p(struct sampler *s, float p)
{
	if (p >= 1.0f)
		return;
	if (!s->sorted && s->n_cand > TOP_P_PARTITION_MIN && top_p_partitioned(s, p))
		return;
	step_softmax(s);
	float cum = 0.0f;
	for (int i = 0; i < s->n_cand; i++) {
		cum += s->cand[i].p;
		if (cum >= p) {
			s->n_cand = i + 1;
			return;
		}
	}
}

/* Keeps tokens whose probability is at least p times the best one's,
 * compared in logit space as llama.cpp does. Order is preserved. */
static void step_min_p(struct sampler *s, float p)
{
	if (p <= 0.0f)
		return;
	float max_l = -INFINITY;
	for (int i = 0; i < s->n_cand; i++)
		if (s->cand[i].logit > max_l)
			max_l = s->cand[i].logit;
	if (max_l == -INFINITY)
		return;
	float min_l = max_l + logf(p);
	int n = 0;
	for (int i = 0; i < s->n_cand; i++)
		if (s->cand[i].logit >= min_l)
			s->cand[n++] = s->cand[i];
	s->n_cand = n;
}

/* Order of typical sampling: smaller distance first, then lower position,
 * which keeps equal distances in their softmax order. */
static bool typical_before(const float *score, int32_t a, int32_t b)
{
	if (score[a] != score[b])
		return score[a] < score[b];
	return a < b;
}

/* Max-heap sift on the index array, for an in-place heap sort that needs
 * no extra memory and is O(n log n) for any vocabulary. */
static void typical_sift(int32_t *idx, const float *score, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, w = i;
		if (l < n && typical_before(score, idx[w], idx[l]))
			w = l;
		if (r < n && typical_before(score, idx[w], idx[r]))
			w = r;
		if (w == i)
			return;
		int32_t t = idx[i];
		idx[i] = idx[w];
		idx[w] = t;
		i = w;
	}
}

/* Locally typical sampling (Meister et al. 2022): rank tokens by how far
 * their information content is from the distribution's entropy and keep
 * the closest ones until their mass exceeds p. */
static void step_typical(struct sampler *s, float p)
{
	if (p >= 1.0f)
		return;
	step_softmax(s);
	int n = s->n_cand;
	float entropy = 0.0f;
	for (int i = 0; i < n; i++)
		if (s->cand[i].p > 0.0f)
			entropy -= s->cand[i].p * logf(s->cand[i].p);
	for (int i = 0; i < n; i++) {
		float pi = s->cand[i].p;
		/* A token that cannot occur is as atypical as it gets. */
		s->score[i] = pi > 0.0f ? fabsf(-logf(pi) - entropy) : INFINITY;
		s->order_idx[i] = i;
	}
	int32_t *idx = s->order_idx;
	for (int i = n / 2 - 1; i >= 0; i--)
		typical_sift(idx, s->score, n, i);
	for (int end = n - 1; end > 0; end--) {
		int32_t t = idx[0];
		idx[0] = idx[end];
		idx[end] = t;
		typical_sift(idx, s->score, end, 0);
	}
	float cum = 0.0f;
	int keep = n;
	for (int i = 0; i < n; i++) {
		cum += s->cand[idx[i]].p;
		if (cum > p) {
			keep = i + 1;
			break;
		}
	}
	for (int i = 0; i < keep; i++)
		s->tmp[i] = s->cand[idx[i]];
	memcpy(s->cand, s->tmp, (size_t)keep * sizeof(*s->cand));
	s->n_cand = keep;
	s->sorted = false;
}

/* Index of the best candidate: highest logit, lowest id on ties. */
/* Exclude Top Choices (XTC, llama.cpp's rule): with chance prob, every
 * token at least threshold likely is dropped except the least likely of
 * them, which steers away from the obvious without leaving the plausible.
 * The draw happens only when the step can act, so a chain without XTC
 * keeps its random sequence. */
static void step_xtc(struct sampler *s, float prob, float threshold)
{
	if (prob <= 0.0f || threshold > 0.5f || s->n_cand < 2)
		return;
	if (rng_uniform(s->rng) > (double)prob)
		return;
	step_softmax(s);
	int last = 0;
	for (int i = 0; i < s->n_cand && s->cand[i].p >= threshold; i++)
		last = i;
	if (last == 0)
		return;
	memmove(s->cand, s->cand + last, (size_t)(s->n_cand - last) * sizeof(*s->cand));
	s->n_cand -= last;
}

static int cand_best(const struct sampler *s)
{
	int best = 0;
	for (int i = 1; i < s->n_cand; i++)
		if (cand_before(&s->cand[i], &s->cand[best]))
			best = i;
	return best;
}

static void step_temperature(struct sampler *s, float t)
{
	if (t <= 0.0f) {
		s->cand[0] = s->cand[cand_best(s)];
		s->n_cand = 1;
		s->sorted = true;
		return;
	}
	for (int i = 0; i < s->n_cand; i++)
		s->cand[i].logit /= t;
}

/* The final draw: inverse transform over the sorted distribution. */
static int32_t step_draw(struct sampler *s)
{
	step_softmax(s);
	double r = rng_uniform(s->rng);
	double total = 0.0;
	for (int i = 0; i < s->n_cand; i++)
		total += s->cand[i].p;
	r *= total;
	double cum = 0.0;
	int last = 0;
	for (int i = 0; i < s->n_cand; i++) {
		if (s->cand[i].p <= 0.0f)
			continue;
		cum += s->cand[i].p;
		last = i;
		if (r < cum)
			return s->cand[i].id;
	}
	return s->cand[last].id;
}

static bool step_active(const struct sampler_params *p, char c)
{
	switch (c) {
	case SAMPLER_STEP_PENALTIES:
		return p->repeat_last_n != 0 && (p->repeat_penalty != 1.0f ||
						 p->frequency_penalty != 0.0f ||
						 p->presence_penalty != 0.0f);
	case SAMPLER_STEP_TOP_K: return p->top_k > 0;
	case SAMPLER_STEP_TYPICAL: return p->typical_p < 1.0f;
	case SAMPLER_STEP_TOP_P: return p->top_p < 1.0f;
	case SAMPLER_STEP_MIN_P: return p->min_p > 0.0f;
	case SAMPLER_STEP_XTC: return p->xtc_probability > 0.0f && p->xtc_threshold <= 0.5f;
	case SAMPLER_STEP_TEMPERATURE: return true;
	}
	return false;
}

/* Greedy decoding does not need the chain when nothing before the
 * temperature step can drop the best token: penalties may change which
 * token is best, top-k, top-p and min-p always keep the best one, so the
 * answer is the argmax of the (penalized) logits. Typical sampling and XTC
 * can drop the best token, and penalties after a filter act on a subset, so
 * those orders take the full chain. */
static bool sampler_greedy_shortcut(const struct sampler_params *p, bool *penalize)
{
	*penalize = false;
	if (p->temperature > 0.0f)
		return false;
	bool filtered = false;
	for (const char *c = p->order; *c; c++) {
		if (!step_active(p, *c))
			continue;
		switch (*c) {
		case SAMPLER_STEP_TEMPERATURE: return true;
		case SAMPLER_STEP_TYPICAL:
		case SAMPLER_STEP_XTC: return false;
		case SAMPLER_STEP_PENALTIES:
			if (filtered)
				return false;
			*penalize = true;
			break;
		default: filtered = true; break;
		}
	}
	return false;
}

/* The greedy answer straight from the logits, as cand_best would pick it
 * from the candidates (NaN as -inf, ties to the lowest id) without making
 * them: the shortcut runs once per generated token, and filling and
 * scanning n_vocab candidates took longer than a small model's decode
 * step's share. Two passes, because a plain maximum vectorizes (NaN never
 * wins `>`) and the index search stops early. */
static int logits_argmax(const float *l, int n)
{
	/* Eight running maxima: one would wait for the previous compare. */
	float m8[8] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY,
			-INFINITY, -INFINITY, -INFINITY, -INFINITY };
	int i = 0;
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			m8[j] = l[i + j] > m8[j] ? l[i + j] : m8[j];
	float m = -INFINITY;
	for (int j = 0; j < 8; j++)
		m = m8[j] > m ? m8[j] : m;
	for (; i < n; i++)
		m = l[i] > m ? l[i] : m;
	if (m == -INFINITY)
		return 0; /* all -inf or NaN: equal, so the lowest id */
	for (i = 0; i < n; i++)
		if (l[i] == m)
			return i;
	return 0;
}

int32_t sampler_sample(struct sampler *s, const float *logits)
{
	if (!s || !logits)
		return LT_E_INVAL;
	const struct sampler_params *p = &s->params;
	bool penalize;
	if (sampler_greedy_shortcut(p, &penalize) && !penalize) {
		int best = logits_argmax(logits, s->n_vocab);
		s->cand[0] = (struct sampler_candidate){ .id = best, .logit = logits[best], .p = 1.0f };
		if (isnan(s->cand[0].logit))
			s->cand[0].logit = -INFINITY;
		s->n_cand = 1;
		s->sorted = true;
		return best;
	}
	const char *first = p->order;
	while (*first && !step_active(p, *first))
		first++;
	if (*first == SAMPLER_STEP_TOP_K && p->top_k < s->n_vocab) {
		top_k_from_logits(s, logits, p->top_k);
	} else {
		s->n_cand = s->n_vocab;
		for (int i = 0; i < s->n_vocab; i++) {
			float l = logits[i];
			s->cand[i] = (struct sampler_candidate){ .id = i,
								 .logit = isnan(l) ? -INFINITY : l };
		}
		s->sorted = false;
	}
	if (sampler_greedy_shortcut(p, &penalize)) {
		if (penalize)
			step_penalties(s);
		s->cand[0] = s->cand[cand_best(s)];
		s->cand[0].p = 1.0f;
		s->n_cand = 1;
		s->sorted = true;
		return s->cand[0].id;
	}
	for (const char *c = p->order; *c; c++) {
		switch (*c) {
		case SAMPLER_STEP_PENALTIES: step_penalties(s); break;
		case SAMPLER_STEP_TOP_K: step_top_k(s, p->top_k); break;
		case SAMPLER_STEP_TYPICAL: step_typical(s, p->typical_p); break;
		case SAMPLER_STEP_TOP_P: step_top_p(s, p->top_p); break;
		case SAMPLER_STEP_MIN_P: step_min_p(s, p->min_p); break;
		case SAMPLER_STEP_XTC: step_xtc(s, p->xtc_probability, p->xtc_threshold); break;
		case SAMPLER_STEP_TEMPERATURE: step_temperature(s, p->temperature); break;
		default: break; /* 'd' (DRY) is accepted but not implemented */
		}
	}
	return step_draw(s);
}

/* ---- state image ---- */

static void put_u32(unsigned char *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *b)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static uint64_t get_u64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

size_t sampler_state_size(const struct sampler *s)
{
	return s ? STATE_HEADER_BYTES + 4 * s->hist_len : 0;
}

int sampler_state_save(const struct sampler *s, void *buf, size_t size)
{
	if (!s || !buf)
		return LT_E_INVAL;
	if (size < sampler_state_size(s))
		return LT_E_RANGE;
	unsigned char *b = buf;
	memcpy(b, STATE_MAGIC, 4);
	put_u32(b + 4, STATE_VERSION);
	put_u32(b + 8, s->seed_cur);
	put_u32(b + 12, (uint32_t)s->hist_len);
	for (int i = 0; i < 4; i++)
		put_u64(b + 16 + 8 * i, s->rng[i]);
	for (size_t i = 0; i < s->hist_len; i++)
		put_u32(b + STATE_HEADER_BYTES + 4 * i, (uint32_t)hist_at(s, i));
	return LT_OK;
}

int sampler_state_load(struct sampler *s, const void *buf, size_t size, char *err, size_t errlen)
{
	if (!s || !buf)
		return lt_seterr(err, errlen, LT_E_INVAL, "sampler state: nothing to load");
	const unsigned char *b = buf;
	if (size < STATE_HEADER_BYTES)
		return lt_seterr(err, errlen, LT_E_FORMAT,
				 "sampler state: %zu bytes is shorter than the %d-byte header", size,
				 STATE_HEADER_BYTES);
	if (memcmp(b, STATE_MAGIC, 4) != 0)
		return lt_seterr(err, errlen, LT_E_FORMAT, "sampler state: bad magic");
	uint32_t version = get_u32(b + 4);
	if (version != STATE_VERSION)
		return lt_seterr(err, errlen, LT_E_FORMAT, "sampler state: version %u, expected %u",
				 version, STATE_VERSION);
	uint32_t n_hist = get_u32(b + 12);
	if ((size - STATE_HEADER_BYTES) / 4 != n_hist || (size - STATE_HEADER_BYTES) % 4 != 0)
		return lt_seterr(err, errlen, LT_E_FORMAT,
				 "sampler state: %u history tokens do not match the %zu-byte size",
				 n_hist, size);
	uint64_t rng[4];
	for (int i = 0; i < 4; i++)
		rng[i] = get_u64(b + 16 + 8 * i);
	if ((rng[0] | rng[1] | rng[2] | rng[3]) == 0)
		return lt_seterr(err, errlen, LT_E_FORMAT,
				 "sampler state: generator state is all zero");
	for (uint32_t i = 0; i < n_hist; i++) {
		uint32_t t = get_u32(b + STATE_HEADER_BYTES + 4 * (size_t)i);
		if (t >= (uint32_t)s->n_vocab)
			return lt_seterr(err, errlen, LT_E_FORMAT,
					 "sampler state: history token %u is %u, outside the vocabulary of %d",
					 i, t, s->n_vocab);
	}
	hist_clear(s);
	/* Only the newest tokens that fit the current window matter. */
	uint32_t first = 0;
	if (s->window != SIZE_MAX && n_hist > s->window)
		first = n_hist - (uint32_t)s->window;
	for (uint32_t i = first; i < n_hist; i++) {
		int rc = hist_push(s, (int32_t)get_u32(b + STATE_HEADER_BYTES + 4 * (size_t)i));
		if (rc < 0) {
			hist_clear(s);
			return lt_seterr(err, errlen, rc, "sampler state: out of memory");
		}
	}
	memcpy(s->rng, rng, sizeof(rng));
	s->seed_cur = get_u32(b + 8);
	s->n_cand = 0;
	return LT_OK;
}
