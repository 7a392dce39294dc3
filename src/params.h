/* The generation parameters: one table, one row per tunable setting of
 * sampling, reply length and context size. Each row gives the field it
 * sets, its command-line flags (llama.cpp's names), its "/set" name and
 * aliases (ollama's names among them), its default, its valid range and
 * its help text. Option parsing, "/set", "/show", the range errors,
 * --help, the man page's OPTIONS entries, slash completion and the
 * defaults (gen_params_default) are all made from it. It is its own
 * module because both sides of the worker's command queue need it:
 * slash.c completes the names on the UI thread, worker.c applies them on
 * the engine thread, and options.c parses the flags. */
#ifndef LT_PARAMS_H
#define LT_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "errors.h"
#include "sampler.h"

/* The settings the table's rows point into; the command line and the
 * worker both hold one. */
struct gen_params {
	struct sampler_params sampling;
	int32_t n_predict; /* most tokens per reply; -1: until end of text or context */
	int32_t n_ctx;     /* context size asked for; 0: the command's default */
};

enum param_kind { PARAM_FLOAT, PARAM_INT, PARAM_SEED };

#define PARAM_MAX_ALIASES 3

struct param_def {
	const char *name;        /* the /set name, which is also the field's name */
	const char *aliases[PARAM_MAX_ALIASES]; /* more /set names; NULL-terminated */
	const char *short_flag;  /* "-n" or NULL */
	const char *long_flag;   /* "--n-predict" */
	const char *flag_alias;  /* another long flag llama.cpp accepts, or NULL */
	const char *arg;         /* the flag's argument in --help */
	enum param_kind kind;
	size_t offset;           /* into struct gen_params */
	double def;              /* the default */
	double min, max;         /* valid range; HUGE_VAL / INT32_MAX: no upper bound */
	bool min_excl;           /* the value must be greater than min */
	bool fixed;              /* chosen at start only: /set refuses it */
	unsigned commands;       /* enum opt_command: the commands taking the flags */
	const char *help;
};

/* The table and its number of rows. */
const struct param_def *params_table(size_t *n);

/* Every row's default (the rest of sampling from sampler_params_default). */
struct gen_params gen_params_default(void);

/* The row with this /set name or alias, or NULL. */
const struct param_def *params_find(const char *name);

/* The row whose flag is the first len bytes of flag for a command in the
 * mask cmd, or NULL. */
const struct param_def *params_find_flag(const char *flag, size_t len, unsigned cmd);

/* Parses value into d's field of gp, checking the range. On error writes
 * a message that names the parameter and, for a range error, the range. */
int params_parse(const struct param_def *d, struct gen_params *gp, const char *value, char *err,
		 size_t errlen);

/* The valid range in words ("0 to 1", "-1 or more", "greater than 0"). */
void params_range(const struct param_def *d, char *buf, size_t len);
/* The value of d's field in gp as text ("random" for the random seed). */
void params_value(const struct param_def *d, const struct gen_params *gp, char *buf, size_t len);
/* The default as text. */
void params_default_text(const struct param_def *d, char *buf, size_t len);

/* Whether d's field is the same in a and b; copying it from src to dst. */
bool params_same(const struct param_def *d, const struct gen_params *a, const struct gen_params *b);
void params_copy(const struct param_def *d, struct gen_params *dst, const struct gen_params *src);

/* The i-th name /set accepts (names, then aliases) and its help line, or
 * NULL past the last; fixed rows are left out. */
const char *params_name(size_t i, const char **help);

/* "/set name value": applies one parameter. Returns 0, or LT_E_NOTFOUND /
 * LT_E_INVAL with a message. */
int params_apply(struct gen_params *gp, const char *name, const char *value, char *err,
		 size_t errlen);

/* Writes the current value of every parameter as "name = value" lines,
 * calling line() once per line. */
void params_describe(const struct gen_params *gp, void (*line)(void *ud, const char *text),
		     void *ud);

#endif
