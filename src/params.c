/* The /set parameters. See params.h. */
#include "params.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum param_kind { PARAM_FLOAT, PARAM_INT, PARAM_SEED };

struct param_def {
	const char *name;
	const char *help;
	enum param_kind kind;
	size_t offset; /* into struct sampler_params; SIZE_MAX for n_predict */
};

#define SP(f) offsetof(struct sampler_params, f)

static const struct param_def param_defs[] = {
	{ "temp", "temperature; 0 is greedy", PARAM_FLOAT, SP(temperature) },
	{ "top_k", "keep the K most likely tokens (0: off)", PARAM_INT, SP(top_k) },
	{ "top_p", "nucleus threshold (1: off)", PARAM_FLOAT, SP(top_p) },
	{ "min_p", "drop tokens below P times the top probability (0: off)", PARAM_FLOAT, SP(min_p) },
	{ "typical", "locally typical sampling (1: off)", PARAM_FLOAT, SP(typical_p) },
	{ "repeat_penalty", "penalise repeated tokens (1: off)", PARAM_FLOAT, SP(repeat_penalty) },
	{ "repeat_last_n", "penalty window (0: off, -1: context)", PARAM_INT, SP(repeat_last_n) },
	{ "presence_penalty", "subtract X from present tokens", PARAM_FLOAT, SP(presence_penalty) },
	{ "frequency_penalty", "subtract X per occurrence", PARAM_FLOAT, SP(frequency_penalty) },
	{ "seed", "random seed (re-seeds the generator)", PARAM_SEED, SP(seed) },
	{ "n_predict", "most tokens per reply (-1: no limit)", PARAM_INT, SIZE_MAX },
};

#define N_PARAMS (sizeof(param_defs) / sizeof(param_defs[0]))

const char *params_name(size_t i, const char **help)
{
	if (i >= N_PARAMS)
		return NULL;
	if (help)
		*help = param_defs[i].help;
	return param_defs[i].name;
}

int params_apply(struct sampler_params *sp, int *n_predict, const char *name, const char *value,
		 char *err, size_t errlen)
{
	const struct param_def *d = NULL;
	for (size_t i = 0; i < N_PARAMS; i++)
		if (!strcmp(param_defs[i].name, name))
			d = &param_defs[i];
	if (!d)
		return lt_seterr(err, errlen, LT_E_NOTFOUND, "/set: unknown parameter '%s'", name);
	char *end;
	errno = 0;
	if (d->kind == PARAM_FLOAT) {
		float v = strtof(value, &end);
		if (errno || end == value || *end || !isfinite(v))
			return lt_seterr(err, errlen, LT_E_INVAL, "/set %s: '%s' is not a number", name,
					 value);
		*(float *)((char *)sp + d->offset) = v;
		return 0;
	}
	long long v = strtoll(value, &end, 10);
	if (errno || end == value || *end)
		return lt_seterr(err, errlen, LT_E_INVAL, "/set %s: '%s' is not an integer", name, value);
	if (d->kind == PARAM_SEED) {
		if (v < 0 || v > UINT32_MAX)
			return lt_seterr(err, errlen, LT_E_INVAL, "/set seed: out of range");
		sp->seed = (uint32_t)v;
	} else {
		if (v < INT_MIN || v > INT_MAX)
			return lt_seterr(err, errlen, LT_E_INVAL, "/set %s: out of range", name);
		if (d->offset == SIZE_MAX)
			*n_predict = (int)v;
		else
			*(int32_t *)((char *)sp + d->offset) = (int32_t)v;
	}
	return 0;
}

void params_describe(const struct sampler_params *sp, int n_predict,
		     void (*line)(void *ud, const char *text), void *ud)
{
	char buf[128];
	for (size_t i = 0; i < N_PARAMS; i++) {
		const struct param_def *d = &param_defs[i];
		if (d->offset == SIZE_MAX)
			snprintf(buf, sizeof(buf), "%s = %d", d->name, n_predict);
		else if (d->kind == PARAM_FLOAT)
			snprintf(buf, sizeof(buf), "%s = %g", d->name,
				 (double)*(const float *)((const char *)sp + d->offset));
		else if (d->kind == PARAM_SEED && sp->seed == SAMPLER_SEED_RANDOM)
			snprintf(buf, sizeof(buf), "%s = random", d->name);
		else if (d->kind == PARAM_SEED)
			snprintf(buf, sizeof(buf), "%s = %u", d->name, sp->seed);
		else
			snprintf(buf, sizeof(buf), "%s = %d", d->name,
				 (int)*(const int32_t *)((const char *)sp + d->offset));
		line(ud, buf);
	}
}
