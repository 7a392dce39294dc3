/* The list of kernel variants and the choice of one. See kernels.h. */
#include "kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* Best first; the scalar reference last, as it always runs. */
static const struct kernel_variant *const variants[] = {
#if defined(__x86_64__) || defined(__i386__)
	&kernel_variant_avx512_vnni,
	&kernel_variant_avx_vnni,
	&kernel_variant_avx2,
#endif
#if defined(__aarch64__)
	&kernel_variant_neon_dotprod,
	&kernel_variant_neon,
#endif
	&kernel_variant_scalar,
};

#define N_VARIANTS (sizeof(variants) / sizeof(variants[0]))

/* A probe may run cpuid; its answer does not change, so each is asked once. */
static bool runnable[N_VARIANTS];
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;
/* The process-wide choice: kernels are a property of the CPU, not of a
 * model, and every context of the process shares them. */
static _Atomic(const struct kernel_variant *) active;

static size_t variant_index(const struct kernel_variant *v)
{
	for (size_t i = 0; i < N_VARIANTS; i++)
		if (variants[i] == v)
			return i;
	return N_VARIANTS;
}

static const struct kernel_variant *variant_named(const char *name)
{
	for (size_t i = 0; i < N_VARIANTS; i++)
		if (strcmp(variants[i]->name, name) == 0)
			return variants[i];
	return NULL;
}

static void kernels_choose(void)
{
	for (size_t i = 0; i < N_VARIANTS; i++)
		runnable[i] = !variants[i]->probe || variants[i]->probe();
	const struct kernel_variant *pick = NULL;
	const char *force = getenv("LLAMATERM_FORCE_SCALAR");
	const char *want = getenv("LLAMATERM_KERNELS");
	if (force && *force && strcmp(force, "0") != 0)
		pick = &kernel_variant_scalar;
	else if (want && *want) {
		/* An unknown or unrunnable name falls through to the best one
		 * rather than failing a library call far from the cause; bench
		 * and info print which variant is in use. */
		const struct kernel_variant *v = variant_named(want);
		if (v && runnable[variant_index(v)])
			pick = v;
	}
	for (size_t i = 0; !pick && i < N_VARIANTS; i++)
		if (runnable[i])
			pick = variants[i];
	atomic_store(&active, pick);
}

const struct kernel_variant *const *kernels_list(size_t *n)
{
	*n = N_VARIANTS;
	return variants;
}

const struct kernel_variant *kernels_active(void)
{
	pthread_once(&choose_once, kernels_choose);
	return atomic_load(&active);
}

bool kernels_runnable(const struct kernel_variant *v)
{
	pthread_once(&choose_once, kernels_choose);
	size_t i = variant_index(v);
	return i < N_VARIANTS && runnable[i];
}

int kernels_select(const char *name)
{
	pthread_once(&choose_once, kernels_choose);
	const struct kernel_variant *v = name ? variant_named(name) : NULL;
	if (!v)
		return LT_E_NOTFOUND;
	if (!runnable[variant_index(v)])
		return LT_E_UNSUPPORTED;
	atomic_store(&active, v);
	return LT_OK;
}

const struct quant_kernels *kernels_quant(const struct kernel_variant *v, enum ggml_type type)
{
	const struct quant_kernels *k = v && v->quant ? v->quant(type) : NULL;
	return k ? k : quant_ref(type);
}

/* The reference: every type quant.c computes, and ops.c's row kernels. */
static bool scalar_probe(void)
{
	return true;
}

const struct kernel_variant kernel_variant_scalar = {
	.name = "scalar",
	.needs = "nothing",
	.probe = scalar_probe,
	.quant = quant_ref,
	.rows = ops_rows_ref,
};
