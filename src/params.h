/* The settings "/set NAME VALUE" changes during a chat: sampling and the
 * reply length limit. One const table gives the names, help lines,
 * parsing and the "/show" listing. It is its own module because both
 * sides of the worker's command queue need it: slash.c completes the
 * names on the UI thread, worker.c applies them on the engine thread,
 * and neither of those files may include the other. */
#ifndef LT_PARAMS_H
#define LT_PARAMS_H

#include <stddef.h>

#include "errors.h"
#include "sampler.h"

/* The i-th parameter (from 0) and its help line, or NULL past the last. */
const char *params_name(size_t i, const char **help);

/* Applies "name = value" to sampling settings and the reply length limit.
 * Returns 0 or LT_E_NOTFOUND / LT_E_INVAL with a message. */
int params_apply(struct sampler_params *sp, int *n_predict, const char *name, const char *value,
		 char *err, size_t errlen);

/* Writes the current value of every parameter as "name = value" lines,
 * calling line() once per line. */
void params_describe(const struct sampler_params *sp, int n_predict,
		     void (*line)(void *ud, const char *text), void *ud);

#endif
