/* The generation parameter table. See params.h. */
#include "params.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "context.h"
#include "options.h"

#define SP(f) offsetof(struct gen_params, sampling.f)
#define GP(f) offsetof(struct gen_params, f)

/* Generation settings shared by run and chat. */
#define GEN (OPTC_RUN | OPTC_CHAT | OPTC_SERVE)
/* Commands that load a model for evaluation. */
#define EVAL (OPTC_RUN | OPTC_LOGITS | OPTC_PERPLEXITY | OPTC_BENCH | OPTC_CHAT | OPTC_SERVE)

#define NO_MAX_INT ((double)INT32_MAX)

static const struct param_def param_defs[] = {
	{ .name = "n_predict", .aliases = { "num_predict" }, .short_flag = "-n",
	  .long_flag = "--n-predict", .flag_alias = "--predict", .arg = "N", .kind = PARAM_INT,
	  .offset = GP(n_predict), .def = -1, .min = -1, .max = NO_MAX_INT, .commands = GEN,
	  .help = "tokens to generate (-1: until end of text or context)" },
	{ .name = "n_ctx", .aliases = { "num_ctx" }, .short_flag = "-c", .long_flag = "--ctx-size",
	  .arg = "N", .kind = PARAM_INT, .offset = GP(n_ctx), .def = 0, .min = 0, .max = CTX_MAX_N_CTX,
	  .fixed = true, .commands = EVAL,
	  .help = "context size in tokens (0: min(model's, 4096))" },
	{ .name = "seed", .short_flag = "-s", .long_flag = "--seed", .arg = "N", .kind = PARAM_SEED,
	  .offset = SP(seed), .def = SAMPLER_SEED_RANDOM, .min = 0, .max = UINT32_MAX,
	  .commands = GEN, .help = "random seed (random or 4294967295: from the clock)" },
	{ .name = "temperature", .aliases = { "temp" }, .long_flag = "--temp", .arg = "T",
	  .kind = PARAM_FLOAT, .offset = SP(temperature), .def = 0.8, .min = 0, .max = HUGE_VAL,
	  .commands = GEN, .help = "temperature; 0 is greedy" },
	{ .name = "top_k", .long_flag = "--top-k", .arg = "K", .kind = PARAM_INT, .offset = SP(top_k),
	  .def = 40, .min = 0, .max = NO_MAX_INT, .commands = GEN,
	  .help = "keep the K most likely tokens (0: off)" },
	{ .name = "top_p", .long_flag = "--top-p", .arg = "P", .kind = PARAM_FLOAT,
	  .offset = SP(top_p), .def = 0.95, .min = 0, .max = 1, .commands = GEN,
	  .help = "nucleus sampling threshold (1: off)" },
	{ .name = "min_p", .long_flag = "--min-p", .arg = "P", .kind = PARAM_FLOAT,
	  .offset = SP(min_p), .def = 0.05, .min = 0, .max = 1, .commands = GEN,
	  .help = "drop tokens below P times the top probability (0: off)" },
	{ .name = "typical_p", .aliases = { "typical" }, .long_flag = "--typical", .arg = "P",
	  .kind = PARAM_FLOAT, .offset = SP(typical_p), .def = 1, .min = 0, .max = 1,
	  .commands = GEN, .help = "locally typical sampling (1: off)" },
	{ .name = "repeat_penalty", .long_flag = "--repeat-penalty", .arg = "X", .kind = PARAM_FLOAT,
	  .offset = SP(repeat_penalty), .def = 1, .min = 0, .min_excl = true, .max = HUGE_VAL,
	  .commands = GEN, .help = "penalise repeated tokens (1: off)" },
	{ .name = "repeat_last_n", .long_flag = "--repeat-last-n", .arg = "N", .kind = PARAM_INT,
	  .offset = SP(repeat_last_n), .def = 64, .min = -1, .max = NO_MAX_INT, .commands = GEN,
	  .help = "tokens the penalties look back over (0: off, -1: context)" },
	{ .name = "presence_penalty", .long_flag = "--presence-penalty", .arg = "X",
	  .kind = PARAM_FLOAT, .offset = SP(presence_penalty), .def = 0, .min = -HUGE_VAL,
	  .max = HUGE_VAL, .commands = GEN,
	  .help = "subtract X from tokens already present (0: off)" },
	{ .name = "frequency_penalty", .long_flag = "--frequency-penalty", .arg = "X",
	  .kind = PARAM_FLOAT, .offset = SP(frequency_penalty), .def = 0, .min = -HUGE_VAL,
	  .max = HUGE_VAL, .commands = GEN, .help = "subtract X times a token's count (0: off)" },
	{ .name = "xtc_probability", .long_flag = "--xtc-probability", .arg = "P",
	  .kind = PARAM_FLOAT, .offset = SP(xtc_probability), .def = 0, .min = 0, .max = 1,
	  .commands = GEN, .help = "chance of excluding the top choices (XTC; 0: off)" },
	{ .name = "xtc_threshold", .long_flag = "--xtc-threshold", .arg = "P", .kind = PARAM_FLOAT,
	  .offset = SP(xtc_threshold), .def = 0.1, .min = 0, .max = 1, .commands = GEN,
	  .help = "XTC excludes tokens at least P likely but the last (above 0.5: off)" },
#ifdef PARAMS_EXTRA_ROW
	/* tests/unit/test_params_row.c adds a row here to see it reach every
	 * place the table is shown or used. */
	PARAMS_EXTRA_ROW,
#endif
};

#define N_PARAMS (sizeof(param_defs) / sizeof(param_defs[0]))
_Static_assert(N_PARAMS <= 32, "options.gen_given has one bit per row");

const struct param_def *params_table(size_t *n)
{
	*n = N_PARAMS;
	return param_defs;
}

static void *field(const struct param_def *d, struct gen_params *gp)
{
	return (char *)gp + d->offset;
}

static const void *cfield(const struct param_def *d, const struct gen_params *gp)
{
	return (const char *)gp + d->offset;
}

static void store(const struct param_def *d, struct gen_params *gp, double v)
{
	switch (d->kind) {
	case PARAM_FLOAT:
		*(float *)field(d, gp) = (float)v;
		break;
	case PARAM_INT:
		*(int32_t *)field(d, gp) = (int32_t)v;
		break;
	case PARAM_SEED:
		*(uint32_t *)field(d, gp) = (uint32_t)v;
		break;
	}
}

struct gen_params gen_params_default(void)
{
	struct gen_params gp = { .sampling = sampler_params_default() };
	for (size_t i = 0; i < N_PARAMS; i++)
		store(&param_defs[i], &gp, param_defs[i].def);
	return gp;
}

const struct param_def *params_find(const char *name)
{
	for (size_t i = 0; i < N_PARAMS; i++) {
		const struct param_def *d = &param_defs[i];
		if (!strcmp(d->name, name))
			return d;
		for (int k = 0; k < PARAM_MAX_ALIASES && d->aliases[k]; k++)
			if (!strcmp(d->aliases[k], name))
				return d;
	}
	return NULL;
}

static bool flag_is(const char *want, const char *flag, size_t len)
{
	return want && strlen(want) == len && !strncmp(want, flag, len);
}

const struct param_def *params_find_flag(const char *flag, size_t len, unsigned cmd)
{
	for (size_t i = 0; i < N_PARAMS; i++) {
		const struct param_def *d = &param_defs[i];
		if ((d->commands & cmd) && (flag_is(d->short_flag, flag, len) ||
					    flag_is(d->long_flag, flag, len) ||
					    flag_is(d->flag_alias, flag, len)))
			return d;
	}
	return NULL;
}

/* A bound as text: integers without a fraction, floats as %g. */
static void bound_text(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.10g", v);
}

void params_range(const struct param_def *d, char *buf, size_t len)
{
	char lo[32], hi[32];
	bound_text(d->min, lo, sizeof(lo));
	bound_text(d->max, hi, sizeof(hi));
	bool no_max = isinf(d->max) || (d->kind == PARAM_INT && d->max >= INT32_MAX);
	if (isinf(d->min) && no_max)
		snprintf(buf, len, "any number");
	else if (d->min_excl && no_max)
		snprintf(buf, len, "greater than %s", lo);
	else if (no_max)
		snprintf(buf, len, "%s or more", lo);
	else
		snprintf(buf, len, "%s to %s", lo, hi);
}

static void value_text(const struct param_def *d, double v, char *buf, size_t len)
{
	if (d->kind == PARAM_SEED && v == SAMPLER_SEED_RANDOM)
		snprintf(buf, len, "random");
	else if (d->kind == PARAM_FLOAT)
		snprintf(buf, len, "%g", v);
	else
		snprintf(buf, len, "%.0f", v);
}

void params_value(const struct param_def *d, const struct gen_params *gp, char *buf, size_t len)
{
	double v = 0;
	switch (d->kind) {
	case PARAM_FLOAT:
		v = *(const float *)cfield(d, gp);
		break;
	case PARAM_INT:
		v = *(const int32_t *)cfield(d, gp);
		break;
	case PARAM_SEED:
		v = *(const uint32_t *)cfield(d, gp);
		break;
	}
	value_text(d, v, buf, len);
}

void params_default_text(const struct param_def *d, char *buf, size_t len)
{
	value_text(d, d->def, buf, len);
}

bool params_same(const struct param_def *d, const struct gen_params *a, const struct gen_params *b)
{
	/* Every kind is a 4-byte field (float, int32_t, uint32_t). */
	return !memcmp(cfield(d, a), cfield(d, b), 4);
}

void params_copy(const struct param_def *d, struct gen_params *dst, const struct gen_params *src)
{
	memcpy(field(d, dst), cfield(d, src), 4);
}

int params_parse(const struct param_def *d, struct gen_params *gp, const char *value, char *err,
		 size_t errlen)
{
	char *end;
	double v;
	errno = 0;
	if (d->kind == PARAM_SEED && !strcasecmp(value, "random")) {
		v = SAMPLER_SEED_RANDOM;
	} else if (d->kind == PARAM_FLOAT) {
		v = strtof(value, &end);
		if (errno || end == value || *end || !isfinite(v))
			return lt_seterr(err, errlen, LT_E_INVAL, "%s: '%s' is not a number", d->name,
					 value);
	} else {
		long long n = strtoll(value, &end, 10);
		if (errno == ERANGE || end == value || *end)
			return lt_seterr(err, errlen, LT_E_INVAL, "%s: '%s' is not a whole number",
					 d->name, value);
		v = (double)n;
	}
	if (v < d->min || v > d->max || (d->min_excl && v <= d->min)) {
		char range[64];
		params_range(d, range, sizeof(range));
		return lt_seterr(err, errlen, LT_E_INVAL, "%s: %s is out of range (%s)", d->name,
				 value, range);
	}
	store(d, gp, v);
	return 0;
}

const char *params_name(size_t i, const char **help)
{
	for (size_t r = 0; r < N_PARAMS; r++) {
		const struct param_def *d = &param_defs[r];
		if (d->fixed)
			continue;
		if (i == 0) {
			if (help)
				*help = d->help;
			return d->name;
		}
		i--;
	}
	for (size_t r = 0; r < N_PARAMS; r++) {
		const struct param_def *d = &param_defs[r];
		for (int k = 0; k < PARAM_MAX_ALIASES && d->aliases[k] && !d->fixed; k++) {
			if (i == 0) {
				if (help)
					*help = d->help;
				return d->aliases[k];
			}
			i--;
		}
	}
	return NULL;
}

int params_apply(struct gen_params *gp, const char *name, const char *value, char *err,
		 size_t errlen)
{
	const struct param_def *d = params_find(name);
	if (!d)
		return lt_seterr(err, errlen, LT_E_NOTFOUND, "/set: unknown parameter '%s'", name);
	if (d->fixed)
		return lt_seterr(err, errlen, LT_E_INVAL,
				 "/set %s: %s is chosen when the chat starts (%s N)", name, d->name,
				 d->short_flag ? d->short_flag : d->long_flag);
	char msg[256];
	struct gen_params next = *gp;
	if (params_parse(d, &next, value, msg, sizeof(msg)))
		return lt_seterr(err, errlen, LT_E_INVAL, "/set %s", msg);
	*gp = next;
	return 0;
}

void params_describe(const struct gen_params *gp, void (*line)(void *ud, const char *text),
		     void *ud)
{
	char buf[128], val[64];
	for (size_t i = 0; i < N_PARAMS; i++) {
		params_value(&param_defs[i], gp, val, sizeof(val));
		snprintf(buf, sizeof(buf), "%s = %s", param_defs[i].name, val);
		line(ud, buf);
	}
}
