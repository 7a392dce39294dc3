/* Tokenizer tests: the llama.cpp tokenizer test cases for every vocab in
 * ../shared/models/vocab (ids must match exactly), piece round trips, the
 * streaming detokenizer, special-token parsing and bad metadata. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gguf.h"
#include "gguf_write.h"
#include "vocab.h"

/* Tokenizing PERF_BYTES of text with the 32000-token SPM vocab must take
 * less than PERF_MAX_SECONDS. */
#define PERF_BYTES (100 * 1024)
#define PERF_MAX_SECONDS 1.0
#define MAX_IDS 4096

static char models_dir[512];

static bool have_shared(void)
{
	const char *shared = getenv("LLAMATERM_SHARED");
	snprintf(models_dir, sizeof(models_dir), "%s/models", shared && *shared ? shared : "../shared");
	char probe[600];
	snprintf(probe, sizeof(probe), "%s/stories260K.gguf", models_dir);
	return access(probe, R_OK) == 0;
}

#define NEED_SHARED()                                                                  \
	do {                                                                           \
		if (!have_shared()) {                                                  \
			printf("SKIP: %s: %s not found (set LLAMATERM_SHARED)\n", __func__, \
			       models_dir);                                            \
			skip();                                                        \
		}                                                                      \
	} while (0)

/* Opens models_dir/rel as a vocab; fails the test on error. */
static struct vocab *open_vocab(const char *rel)
{
	char path[700], err[256] = "";
	struct gguf *g = NULL;
	struct vocab *v = NULL;
	snprintf(path, sizeof(path), "%s/%s", models_dir, rel);
	int rc = gguf_open(&g, path, 0, err, sizeof(err));
	if (rc)
		fail_msg("gguf_open %s: %s", path, err);
	rc = vocab_open(&v, g, err, sizeof(err));
	gguf_free(g);
	if (rc)
		fail_msg("vocab_open %s: %s", path, err);
	return v;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* One tokenizer test case: input text and expected ids. */
struct tcase {
	const char *text;
	size_t len;
	int32_t ids[512];
	int n_ids;
};

/* Reads name.inp / name.out the way llama.cpp's test-tokenizer-0 does:
 * inputs are separated by "\n__ggml_vocab_test__\n" (a trailing separator
 * ends the list), outputs are one line of space-separated ids per input. */
static int load_cases(const char *name, char **inp_buf, struct tcase **out)
{
	char path[700];
	size_t n_inp, n_out;
	snprintf(path, sizeof(path), "%s/vocab/%s.inp", models_dir, name);
	char *inp = read_file(path, &n_inp);
	snprintf(path, sizeof(path), "%s/vocab/%s.out", models_dir, name);
	char *outs = read_file(path, &n_out);
	assert_non_null(inp);
	assert_non_null(outs);
	static const char sep[] = "\n__ggml_vocab_test__\n";
	struct tcase *cases = calloc(256, sizeof(*cases));
	int n = 0;
	for (size_t pos = 0; pos < n_inp && n < 256;) {
		char *next = strstr(inp + pos, sep);
		size_t end = next ? (size_t)(next - inp) : n_inp;
		cases[n].text = inp + pos;
		cases[n].len = end - pos;
		inp[end] = '\0';
		n++;
		pos = next ? end + sizeof(sep) - 1 : n_inp;
	}
	int line = 0;
	for (char *p = outs, *nl; *p && line < n; p = nl + 1, line++) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		char *q = p;
		while (q < nl && cases[line].n_ids < 512) {
			char *e;
			long id = strtol(q, &e, 10);
			if (e == q)
				break;
			cases[line].ids[cases[line].n_ids++] = (int32_t)id;
			q = e;
		}
		if (!*nl)
			break;
	}
	assert_int_equal(line, n);
	free(outs);
	*inp_buf = inp;
	*out = cases;
	return n;
}

static void print_escaped(const char *s, size_t n)
{
	for (size_t i = 0; i < n && i < 80; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			printf("\\n");
		else if (c == '\t')
			printf("\\t");
		else
			putchar(c);
	}
}

/* Concatenates the pieces of ids (dropping the SPM prefix space). */
static size_t join_pieces(const struct vocab *v, const int32_t *ids, int n, char *buf, size_t cap)
{
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		int len = vocab_token_to_piece(v, ids[i], buf + k, cap - k, false);
		assert_true(len >= 0 && (size_t)len <= cap - k);
		k += (size_t)len;
	}
	if (vocab_add_space_prefix(v) && k && buf[0] == ' ') {
		memmove(buf, buf + 1, k - 1);
		k--;
	}
	return k;
}

/* Runs every case of vocab/<name>; all must match. Also checks that the
 * pieces of each tokenization join back into the input. */
static void run_vocab_cases(const char *name)
{
	char rel[300];
	snprintf(rel, sizeof(rel), "vocab/%s", name);
	struct vocab *v = open_vocab(rel);
	char *inp;
	struct tcase *cases;
	int n = load_cases(name, &inp, &cases);
	int ok = 0, round_ok = 0;
	static int32_t ids[MAX_IDS];
	static char text[16384];
	for (int i = 0; i < n; i++) {
		const struct tcase *c = &cases[i];
		int got = vocab_tokenize(v, c->text, c->len, false, false, ids, MAX_IDS);
		assert_true(got >= 0 && got <= MAX_IDS);
		bool same = got == c->n_ids && memcmp(ids, c->ids, (size_t)got * sizeof(*ids)) == 0;
		ok += same;
		if (!same) {
			printf("%s case %d '", name, i);
			print_escaped(c->text, c->len);
			printf("'\n  want:");
			for (int j = 0; j < c->n_ids; j++)
				printf(" %d", c->ids[j]);
			printf("\n  got: ");
			for (int j = 0; j < got; j++)
				printf(" %d", ids[j]);
			printf("\n");
		}
		size_t k = join_pieces(v, ids, got, text, sizeof(text));
		if (k == c->len && memcmp(text, c->text, k) == 0)
			round_ok++;
		else
			printf("%s case %d: pieces do not join back into the input\n", name, i);
	}
	printf("%s: %d/%d cases matched, %d/%d round trips\n", name, ok, n, round_ok, n);
	free(cases);
	free(inp);
	vocab_free(v);
	if (ok != n || round_ok != n)
		fail_msg("%s: %d/%d cases matched, %d/%d round trips", name, ok, n, round_ok, n);
}

#define VOCAB_TEST(fn, file)                  \
	static void fn(void **state)          \
	{                                     \
		(void)state;                  \
		NEED_SHARED();                \
		run_vocab_cases(file);        \
	}

VOCAB_TEST(test_cases_llama_spm, "ggml-vocab-llama-spm.gguf")
VOCAB_TEST(test_cases_phi_3, "ggml-vocab-phi-3.gguf")
VOCAB_TEST(test_cases_gpt_2, "ggml-vocab-gpt-2.gguf")
VOCAB_TEST(test_cases_deepseek_coder, "ggml-vocab-deepseek-coder.gguf")
VOCAB_TEST(test_cases_deepseek_llm, "ggml-vocab-deepseek-llm.gguf")
VOCAB_TEST(test_cases_falcon, "ggml-vocab-falcon.gguf")
VOCAB_TEST(test_cases_mpt, "ggml-vocab-mpt.gguf")
VOCAB_TEST(test_cases_refact, "ggml-vocab-refact.gguf")
VOCAB_TEST(test_cases_starcoder, "ggml-vocab-starcoder.gguf")

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases_llama_spm),
		cmocka_unit_test(test_cases_phi_3),
		cmocka_unit_test(test_cases_gpt_2),
		cmocka_unit_test(test_cases_deepseek_coder),
		cmocka_unit_test(test_cases_deepseek_llm),
		cmocka_unit_test(test_cases_falcon),
		cmocka_unit_test(test_cases_mpt),
		cmocka_unit_test(test_cases_refact),
		cmocka_unit_test(test_cases_starcoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
