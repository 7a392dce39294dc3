/* /set parameter tests: parsing each kind of value, range and error
 * messages, and the table's names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "params.h"

static void test_params(void **state)
{
	(void)state;
	struct sampler_params sp = sampler_params_default();
	int n_predict = -1;
	char err[256];
	assert_int_equal(params_apply(&sp, &n_predict, "temp", "0.25", err, sizeof(err)), 0);
	assert_true(sp.temperature == 0.25f);
	assert_int_equal(params_apply(&sp, &n_predict, "top_k", "7", err, sizeof(err)), 0);
	assert_int_equal(sp.top_k, 7);
	assert_int_equal(params_apply(&sp, &n_predict, "seed", "4000000000", err, sizeof(err)), 0);
	assert_int_equal(sp.seed, 4000000000u);
	assert_int_equal(params_apply(&sp, &n_predict, "n_predict", "12", err, sizeof(err)), 0);
	assert_int_equal(n_predict, 12);
	assert_int_equal(params_apply(&sp, &n_predict, "temp", "warm", err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "warm"));
	assert_int_equal(params_apply(&sp, &n_predict, "top_k", "1.5", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(params_apply(&sp, &n_predict, "seed", "-1", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(params_apply(&sp, &n_predict, "heat", "1", err, sizeof(err)), LT_E_NOTFOUND);
	const char *help;
	assert_string_equal(params_name(0, &help), "temp");
	assert_true(help[0]);
	size_t k = 0;
	while (params_name(k, NULL))
		k++;
	assert_int_equal(k, 11);
}

static void describe_line(void *ud, const char *text)
{
	int *n = ud;
	if (*n == 0)
		assert_string_equal(text, "temp = 0.5");
	(*n)++;
}

static void test_describe(void **state)
{
	(void)state;
	struct sampler_params sp = sampler_params_default();
	sp.temperature = 0.5f;
	int n = 0;
	params_describe(&sp, 32, describe_line, &n);
	assert_int_equal(n, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
