/* Runs a cmocka group once per kernel variant this CPU can run (the scalar
 * reference aside: it is what the others are compared with), and names
 * the variants it cannot run, so a machine without AVX-512 says so and
 * one with it still tests the AVX2 kernels. Include after cmocka.h. */
#ifndef LT_TEST_KERNEL_VARIANTS_H
#define LT_TEST_KERNEL_VARIANTS_H

#include <stdio.h>

#include "errors.h"
#include "kernels.h"

/* The variant the group is running for. */
static const struct kernel_variant *variant_under_test;

/* Its kernels for type (the reference where it has none). */
static inline const struct quant_kernels *variant_quant(enum ggml_type type)
{
	const struct quant_kernels *k = kernels_quant(variant_under_test, type);
	assert_non_null(k);
	return k;
}

static inline const struct quant_tile *variant_tile(enum ggml_type type)
{
	return variant_under_test->tile ? variant_under_test->tile(type) : NULL;
}

static inline const struct quant_panel *variant_panel(enum ggml_type type)
{
	return variant_under_test->panel ? variant_under_test->panel(type) : NULL;
}

static inline const struct ops_row_kernels *variant_rows(void)
{
	return variant_under_test->rows ? variant_under_test->rows() : ops_rows_ref();
}

/* Returns the number of failed tests over all variants run. */
static inline int run_per_variant(const struct CMUnitTest *tests, size_t n_tests)
{
	size_t n;
	const struct kernel_variant *const *v = kernels_list(&n);
	int failed = 0, ran = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == &kernel_variant_scalar)
			continue;
		if (!kernels_runnable(v[i])) {
			printf("SKIP: kernel variant %s: this CPU lacks %s\n", v[i]->name, v[i]->needs);
			continue;
		}
		if (kernels_select(v[i]->name) != 0) {
			printf("FAIL: kernel variant %s: cannot be selected\n", v[i]->name);
			failed++;
			continue;
		}
		variant_under_test = v[i];
		printf("kernel variant %s (%s) against the scalar reference\n", v[i]->name,
		       v[i]->needs);
		failed += _cmocka_run_group_tests(v[i]->name, tests, n_tests, NULL, NULL);
		ran++;
	}
	if (ran == 0)
		printf("SKIP: no kernel variant besides the scalar reference runs on this CPU\n");
	return failed;
}

#endif
