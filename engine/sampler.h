/* Token sampler: turns one row of logits into the next token id.
 *
 * The chain follows llama.cpp's samplers and their default order: repetition
 * penalties, top-k, locally typical, top-p, min-p, temperature, then a draw
 * from the remaining distribution. Each step is switched off by its neutral
 * value (see struct sampler_params), and the order can be changed with a
 * string of step letters, the same letters llama.cpp's --sampling-seq uses.
 *
 * Draws use xoshiro256** (Blackman and Vigna, 2018), seeded by expanding the
 * 32-bit seed through splitmix64, so a fixed seed gives the same stream of
 * tokens on every machine. The penalty history and the generator state can
 * be saved as bytes (for session files) and loaded again later. */
#ifndef LT_SAMPLER_H
#define LT_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* A seed value that asks for a seed taken from the clock (llama.cpp's
 * LLAMA_DEFAULT_SEED has the same value and meaning). */
#define SAMPLER_SEED_RANDOM 0xFFFFFFFFu

/* Longest step sequence accepted in sampler_params.order. */
#define SAMPLER_MAX_STEPS 32

/* Step letters for sampler_params.order. 'd' (DRY) is part of llama.cpp's
 * sequence too; it is accepted and skipped, so a sequence copied from
 * llama.cpp works unchanged. */
#define SAMPLER_STEP_PENALTIES 'e'
#define SAMPLER_STEP_TOP_K 'k'
#define SAMPLER_STEP_TYPICAL 'y'
#define SAMPLER_STEP_TOP_P 'p'
#define SAMPLER_STEP_MIN_P 'm'
#define SAMPLER_STEP_XTC 'x'
#define SAMPLER_STEP_TEMPERATURE 't'

/* The default order, llama.cpp's common default without DRY. */
#define SAMPLER_ORDER_DEFAULT "ekypmxt"

struct sampler_params {
	float temperature;       /* <= 0 picks the most likely token (greedy) */
	int32_t top_k;           /* <= 0 off */
	float top_p;             /* >= 1 off */
	float min_p;             /* <= 0 off; relative to the most likely token */
	float typical_p;         /* >= 1 off */
	float repeat_penalty;    /* 1 off */
	float frequency_penalty; /* 0 off; subtracted once per occurrence */
	float presence_penalty;  /* 0 off; subtracted once if present at all */
	int32_t repeat_last_n;   /* penalty window in tokens; 0 off, -1 the whole context */
	float xtc_probability;   /* 0 off; chance that XTC removes the top choices */
	float xtc_threshold;     /* XTC removes tokens at least this likely but the last; > 0.5 off */
	int32_t n_ctx;           /* the context size that -1 stands for; 0 means unbounded */
	uint32_t seed;           /* SAMPLER_SEED_RANDOM seeds from the clock */
	char order[SAMPLER_MAX_STEPS + 1]; /* step letters, NUL-terminated */
};

/* One candidate as left by the last sampler_sample call. */
struct sampler_candidate {
	int32_t id;
	float logit; /* after penalties and temperature */
	float p;     /* softmax over the surviving candidates */
};

struct sampler;

/* llama.cpp's common defaults: temperature 0.8, top-k 40, top-p 0.95,
 * min-p 0.05, typical and penalties off, window 64, random seed. The
 * chat's parameter table (src/params.c) states the same defaults for
 * --help and the man page; tests/unit/test_params.c keeps them equal. */
struct sampler_params sampler_params_default(void);

/* Checks params (and the order letters) without building anything. */
int sampler_params_check(const struct sampler_params *p, char *err, size_t errlen);

/* Converts llama.cpp-style step names separated by ';', ',' or spaces
 * ("penalties;top_k;typ_p;top_p;min_p;temperature") into order letters.
 * Accepts the alternative names llama.cpp accepts (top-k, typical, temp...). */
int sampler_order_from_names(const char *names, char *order, size_t order_len, char *err,
			     size_t errlen);

/* Builds a sampler for a vocabulary of n_vocab tokens into *out. Returns 0, or
 * LT_E_INVAL / LT_E_NOMEM with a message in err (and *out NULL). */
int sampler_new(struct sampler **out, const struct sampler_params *p, int n_vocab, char *err,
		size_t errlen);
void sampler_free(struct sampler *s);

/* Picks a token from logits (n_vocab floats, left unchanged). Returns the
 * token id, or a negative lt_error. Call sampler_accept with the token that
 * is kept, so the penalties see it. NaN logits count as -inf. */
int32_t sampler_sample(struct sampler *s, const float *logits);

/* Adds token to the penalty history (prompt tokens too, if they should be
 * penalized). Returns LT_E_RANGE for ids outside the vocabulary. */
int sampler_accept(struct sampler *s, int32_t token);

/* Forgets the history and seeds the generator again from params.seed. */
void sampler_reset(struct sampler *s);

/* Replaces the parameters mid-chat. The history is kept (its most recent
 * tokens, when the window shrinks); a changed seed re-seeds the generator. */
int sampler_set_params(struct sampler *s, const struct sampler_params *p, char *err,
		       size_t errlen);
const struct sampler_params *sampler_get_params(const struct sampler *s);

/* The seed actually in use (the clock's value when params.seed was random). */
uint32_t sampler_seed(const struct sampler *s);

/* The candidates that survived the chain in the last sampler_sample call,
 * most likely first after the final draw's softmax. Valid until the next
 * call on s. Returns their count (0 before the first sample). */
int sampler_last_candidates(const struct sampler *s, const struct sampler_candidate **out);

/* Generator and history as a little-endian byte image. */
size_t sampler_state_size(const struct sampler *s);
/* Writes sampler_state_size(s) bytes to buf; LT_E_RANGE if size is smaller. */
int sampler_state_save(const struct sampler *s, void *buf, size_t size);
/* Restores an image written by sampler_state_save; validates every field. */
int sampler_state_load(struct sampler *s, const void *buf, size_t size, char *err, size_t errlen);

#endif
