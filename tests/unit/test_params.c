/* The generation parameter table: /set names and aliases, parsing each
 * kind of value, range errors, /show, the defaults (which must equal the
 * engine's sampler_params_default), and that --help, /set, completion and
 * the man page are all made from the rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"
#include "params.h"
#include "roff.h"
#include "slash.h"

#include "testutil.h"

static void test_params(void **state)
{
	(void)state;
	struct gen_params gp = gen_params_default();
	char err[256];
	assert_int_equal(params_apply(&gp, "temp", "0.25", err, sizeof(err)), 0);
	assert_true(gp.sampling.temperature == 0.25f);
	assert_int_equal(params_apply(&gp, "top_k", "7", err, sizeof(err)), 0);
	assert_int_equal(gp.sampling.top_k, 7);
	assert_int_equal(params_apply(&gp, "seed", "4000000000", err, sizeof(err)), 0);
	assert_int_equal(gp.sampling.seed, 4000000000u);
	assert_int_equal(params_apply(&gp, "seed", "random", err, sizeof(err)), 0);
	assert_int_equal(gp.sampling.seed, SAMPLER_SEED_RANDOM);
	assert_int_equal(params_apply(&gp, "n_predict", "12", err, sizeof(err)), 0);
	assert_int_equal(gp.n_predict, 12);
	assert_int_equal(params_apply(&gp, "temp", "warm", err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "warm"));
	assert_int_equal(params_apply(&gp, "top_k", "1.5", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(params_apply(&gp, "seed", "-1", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(params_apply(&gp, "heat", "1", err, sizeof(err)), LT_E_NOTFOUND);
	/* The context size is chosen at start; /set says how. */
	assert_int_equal(params_apply(&gp, "num_ctx", "4096", err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "-c"));
	const char *help;
	assert_string_equal(params_name(0, &help), "n_predict");
	assert_true(help[0]);
}

/* An alias and the name set the same field. */
static void test_aliases(void **state)
{
	(void)state;
	static const struct {
		const char *name, *alias, *value;
	} pairs[] = {
		{ "temperature", "temp", "0.5" },
		{ "n_predict", "num_predict", "33" },
		{ "typical_p", "typical", "0.7" },
	};
	char err[256];
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct gen_params a = gen_params_default(), b = gen_params_default();
		assert_int_equal(params_apply(&a, pairs[i].name, pairs[i].value, err, sizeof(err)), 0);
		assert_int_equal(params_apply(&b, pairs[i].alias, pairs[i].value, err, sizeof(err)), 0);
		assert_memory_equal(&a, &b, sizeof(a));
		struct gen_params d = gen_params_default();
		assert_memory_not_equal(&a, &d, sizeof(a));
		assert_ptr_equal(params_find(pairs[i].name), params_find(pairs[i].alias));
	}
	struct gen_params gp = gen_params_default();
	assert_int_equal(params_apply(&gp, "temperature", "0.5", err, sizeof(err)), 0);
	assert_true(gp.sampling.temperature == 0.5f);
	/* ollama's names are all known. */
	const char *ollama[] = { "temperature", "num_predict", "num_ctx", "top_k", "top_p", "min_p",
				 "typical_p", "repeat_penalty", "repeat_last_n", "presence_penalty",
				 "frequency_penalty", "seed" };
	for (size_t i = 0; i < sizeof(ollama) / sizeof(ollama[0]); i++)
		assert_non_null(params_find(ollama[i]));
}

/* Range errors name the parameter and the range, for /set and flags. */
static void test_range_errors(void **state)
{
	(void)state;
	struct gen_params gp = gen_params_default();
	char err[256];
	assert_int_equal(params_apply(&gp, "top_p", "1.5", err, sizeof(err)), LT_E_INVAL);
	assert_string_equal(err, "/set top_p: 1.5 is out of range (0 to 1)");
	assert_int_equal(params_apply(&gp, "temp", "-1", err, sizeof(err)), LT_E_INVAL);
	assert_string_equal(err, "/set temperature: -1 is out of range (0 or more)");
	assert_int_equal(params_apply(&gp, "repeat_penalty", "0", err, sizeof(err)), LT_E_INVAL);
	assert_string_equal(err, "/set repeat_penalty: 0 is out of range (greater than 0)");
	assert_int_equal(params_apply(&gp, "repeat_last_n", "-2", err, sizeof(err)), LT_E_INVAL);
	assert_string_equal(err, "/set repeat_last_n: -2 is out of range (-1 or more)");
	assert_int_equal(params_apply(&gp, "seed", "4294967296", err, sizeof(err)), LT_E_INVAL);
	assert_string_equal(err, "/set seed: 4294967296 is out of range (0 to 4294967295)");
	/* Nothing changed. */
	struct gen_params d = gen_params_default();
	assert_memory_equal(&gp, &d, sizeof(gp));

	/* The same message from the command line, after the flag. */
	char buf[512] = "";
	FILE *saved = stderr;
	stderr = fmemopen(buf, sizeof(buf), "w");
	struct options o;
	options_defaults(&o);
	char *argv[] = { "run", "--top-p", "2" };
	int rc = options_parse(&o, 3, argv, OPTC_RUN);
	fclose(stderr);
	stderr = saved;
	assert_int_equal(rc, 2);
	assert_string_equal(buf, "llamaterm run: --top-p: top_p: 2 is out of range (0 to 1)\n");
}

/* The table's defaults are the engine's sampler defaults. */
static void test_defaults_match_engine(void **state)
{
	(void)state;
	struct sampler_params sp = sampler_params_default();
	struct gen_params gp = gen_params_default();
	assert_memory_equal(&gp.sampling, &sp, sizeof(sp));
	assert_int_equal(gp.n_predict, -1);
	assert_int_equal(gp.n_ctx, 0);
	/* Row by row, in case a row's default is stored elsewhere. */
	size_t n;
	const struct param_def *t = params_table(&n);
	struct gen_params e = { .sampling = sp, .n_predict = -1, .n_ctx = 0 };
	for (size_t i = 0; i < n; i++) {
		char want[64], have[64];
		params_default_text(&t[i], want, sizeof(want));
		params_value(&t[i], &e, have, sizeof(have));
		assert_string_equal(want, have);
	}
	/* And the command line starts from them. */
	struct options o;
	options_defaults(&o);
	assert_memory_equal(&o.gen, &gp, sizeof(gp));
}

static void describe_line(void *ud, const char *text)
{
	int *n = ud;
	if (*n == 3)
		assert_string_equal(text, "temperature = 0.5");
	if (*n == 2)
		assert_string_equal(text, "seed = random");
	(*n)++;
}

static void test_describe(void **state)
{
	(void)state;
	struct gen_params gp = gen_params_default();
	gp.sampling.temperature = 0.5f;
	int n = 0;
	params_describe(&gp, describe_line, &n);
	size_t rows;
	params_table(&rows);
	assert_int_equal(n, (int)rows);
}

static void print_man(FILE *f, unsigned cmd)
{
	(void)cmd;
	options_print_man(f);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Occurrences of a flag as a whole word ("--top-k", not "--top-k-x"). */
static size_t count_flag(const char *hay, const char *flag)
{
	size_t n = 0, len = strlen(flag);
	for (const char *p = hay; (p = strstr(p, flag)) != NULL; p += len)
		if (p[len] == ' ' || p[len] == ',')
			n++;
	return n;
}

/* Every row shows up, once, in --help, the man page, /set and its
 * completion: they are made from the table, so a new row needs no more. */
static void test_generated_from_rows(void **state)
{
	(void)state;
	size_t n;
	const struct param_def *t = params_table(&n);
	char *run = tu_capture(options_print_help, OPTC_RUN);
	char *chat = tu_capture(options_print_help, OPTC_CHAT);
	char *man = tu_capture(print_man, 0);
	for (size_t i = 0; i < n; i++) {
		char line[128];
		/* --help: one line holding the long flag and the /set names. */
		assert_int_equal(count_flag(chat, t[i].long_flag), 1);
		if (t[i].commands & OPTC_RUN)
			assert_int_equal(count_flag(run, t[i].long_flag), 1);
		if (!t[i].fixed) {
			snprintf(line, sizeof(line), "/set %s", t[i].name);
			assert_int_equal(count(chat, line), 1);
		}
		assert_non_null(strstr(chat, t[i].help));
		/* The man page: one entry with the help text. */
		char *roff = NULL;
		size_t roff_len = 0;
		FILE *f = open_memstream(&roff, &roff_len);
		roff_text(f, t[i].help);
		fclose(f);
		assert_int_equal(count(man, roff), 1);
		free(roff);
		/* /set and completion know the name and every alias. */
		char err[256];
		char val[64];
		struct gen_params gp = gen_params_default();
		params_default_text(&t[i], val, sizeof(val));
		for (int k = -1; k < PARAM_MAX_ALIASES && (k < 0 || t[i].aliases[k]); k++) {
			const char *name = k < 0 ? t[i].name : t[i].aliases[k];
			assert_ptr_equal(params_find(name), &t[i]);
			int rc = params_apply(&gp, name, val, err, sizeof(err));
			assert_int_equal(rc, t[i].fixed ? LT_E_INVAL : 0);
			char prefix[128];
			snprintf(prefix, sizeof(prefix), "set %s", name);
			bool found = false;
			const char *c;
			for (size_t j = 0; (c = slash_complete(prefix, j)) != NULL; j++)
				found |= !strcmp(c, name);
			assert_true(found == !t[i].fixed);
		}
	}
	free(run);
	free(chat);
	free(man);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_range_errors),
		cmocka_unit_test(test_defaults_match_engine),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_generated_from_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
