/* Tokenizer tests: the llama.cpp tokenizer test cases for every vocab in
 * ../shared/models/vocab (ids must match exactly), piece round trips, the
 * streaming detokenizer, special-token parsing and bad metadata. Prompts
 * tokenized piece by piece are tested in test_vocab_segments.c. */
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

#include "testutil.h"

/* Tokenizing PERF_BYTES of text with the 32000-token SPM vocab must take
 * less than PERF_MAX_SECONDS. */
#define PERF_BYTES (100 * 1024)
#define PERF_MAX_SECONDS 1.0
#define MAX_IDS 4096

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
	snprintf(path, sizeof(path), "%s/models/vocab/%s.inp", tu_shared_dir(), name);
	char *inp = tu_read_file(path, &n_inp);
	snprintf(path, sizeof(path), "%s/models/vocab/%s.out", tu_shared_dir(), name);
	char *outs = tu_read_file(path, &n_out);
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
	struct vocab *v = tu_open_vocab(rel);
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
			tu_print_escaped(c->text, c->len);
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
		TU_NEED_SHARED();                \
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

static void test_bert_unsupported(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	char path[700], err[256] = "";
	struct gguf *g = NULL;
	struct vocab *v = NULL;
	snprintf(path, sizeof(path), "%s/models/vocab/ggml-vocab-bert-bge.gguf", tu_shared_dir());
	assert_int_equal(gguf_open(&g, path, 0, err, sizeof(err)), 0);
	assert_int_equal(vocab_open(&v, g, err, sizeof(err)), LT_E_UNSUPPORTED);
	assert_null(v);
	assert_non_null(strstr(err, "WPM"));
	gguf_free(g);
	printf("SKIP: ggml-vocab-bert-bge.gguf: WPM tokenizer not implemented (%s)\n", err);
	skip();
}

/* The other vocab files have no test cases; they must load and tokenize. */
static void test_load_other_vocabs(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	static const char *const files[] = {
		"vocab/ggml-vocab-baichuan.gguf", "vocab/ggml-vocab-gpt-neox.gguf",
		"legacy/ggml-vocab-llama.gguf-v1", "legacy/ggml-vocab-falcon.gguf-v2",
	};
	int32_t ids[64];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct vocab *v = tu_open_vocab(files[i]);
		int n = vocab_tokenize(v, "Hello world", 11, false, false, ids, 64);
		assert_true(n >= 2 && n <= 4);
		char text[64];
		assert_int_equal(vocab_detokenize(v, ids, n, text, sizeof(text), false, false), 11);
		assert_string_equal(text, "Hello world");
		vocab_free(v);
	}
	/* The v1 file is the same LLaMA vocab as llama-spm. */
	struct vocab *v = tu_open_vocab("legacy/ggml-vocab-llama.gguf-v1");
	assert_int_equal(vocab_type(v), VOCAB_TYPE_SPM);
	assert_int_equal(vocab_tokenize(v, "Hello world", 11, true, false, ids, 64), 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 15043);
	assert_int_equal(ids[2], 3186);
	vocab_free(v);
	/* The v2 Falcon file has no pre-tokenizer name: the default is used. */
	v = tu_open_vocab("legacy/ggml-vocab-falcon.gguf-v2");
	assert_int_equal(vocab_type(v), VOCAB_TYPE_BPE);
	assert_string_equal(vocab_pre(v), "default");
	assert_int_equal(vocab_eos(v), 11);
	assert_true(vocab_is_eog(v, 11));
	vocab_free(v);
}

static void test_stories260k(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	struct vocab *v = tu_open_vocab("stories260K.gguf");
	int32_t ids[64];
	static const int32_t want[] = { 1, 403, 407, 261, 378 };
	assert_int_equal(vocab_n_tokens(v), 512);
	assert_int_equal(vocab_bos(v), 1);
	assert_int_equal(vocab_eos(v), 2);
	assert_true(vocab_is_eog(v, 2));
	assert_false(vocab_is_eog(v, 1));
	assert_true(vocab_is_control(v, 1));
	assert_null(vocab_chat_template(v));
	assert_int_equal(vocab_tokenize(v, "Once upon a time", 16, true, false, ids, 64), 5);
	assert_memory_equal(ids, want, sizeof(want));
	/* Too small a buffer: the needed count comes back, the prefix is written. */
	int32_t few[2] = { -5, -5 };
	assert_int_equal(vocab_tokenize(v, "Once upon a time", 16, true, false, few, 2), 5);
	assert_int_equal(few[0], 1);
	assert_int_equal(few[1], 403);
	assert_int_equal(vocab_tokenize(v, "Once upon a time", 16, true, false, NULL, 0), 5);

	/* The README's greedy continuation, streamed. */
	static const int32_t gen[] = { 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426,
				       338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322,
				       265, 282, 295, 433, 426, 385, 328, 432, 358, 394 };
	struct vocab_stream *s;
	assert_int_equal(vocab_stream_new(&s, v, 0), 0);
	char out[512] = "";
	for (size_t i = 0; i < sizeof(gen) / sizeof(gen[0]); i++) {
		const char *t;
		size_t n;
		assert_int_equal(vocab_stream_push(s, gen[i], &t, &n), 0);
		strncat(out, t, n);
	}
	assert_string_equal(out, ", there was a little girl named Lily. She loved to play outside "
				 "in the park. One day, she saw");
	vocab_stream_free(s);
	vocab_free(v);
}

/* Pushes ids through s and returns everything emitted, checking that each
 * step's output is valid UTF-8 on its own. */
static void stream_all(struct vocab_stream *s, const int32_t *ids, int n, bool flush, char *out,
		       size_t cap)
{
	size_t k = 0;
	for (int i = 0; i <= n; i++) {
		const char *t;
		size_t len;
		if (i < n)
			assert_int_equal(vocab_stream_push(s, ids[i], &t, &len), 0);
		else if (flush)
			assert_int_equal(vocab_stream_flush(s, &t, &len), 0);
		else
			break;
		/* Each chunk must end on a character boundary. */
		if (len) {
			size_t start = len - 1;
			while (start > 0 && ((unsigned char)t[start] & 0xC0) == 0x80)
				start--;
			unsigned char lead = (unsigned char)t[start];
			size_t need = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
			assert_int_equal(len - start, need);
		}
		assert_true(k + len < cap);
		memcpy(out + k, t, len);
		k += len;
	}
	out[k] = '\0';
}

static void test_stream_utf8(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	struct vocab *v = tu_open_vocab("stories260K.gguf");
	struct vocab_stream *s;
	char out[256];
	int32_t ids[64];
	/* Non-ASCII text falls back to byte tokens in this tiny vocab. */
	const char *text = "Caf\xC3\xA9 \xE2\x98\x95 \xF0\x9F\xA6\x99!";
	int n = vocab_tokenize(v, text, strlen(text), true, false, ids, 64);
	assert_true(n > 10 && n < 64);
	int n_byte = 0;
	for (int i = 0; i < n; i++)
		n_byte += (vocab_attr(v, ids[i]) & VOCAB_ATTR_BYTE) != 0;
	assert_int_equal(n_byte, 3 + 4); /* "\xC3\xA9" is a token */
	assert_int_equal(vocab_stream_new(&s, v, VOCAB_STREAM_STRIP_SPACE), 0);
	stream_all(s, ids, n, true, out, sizeof(out));
	assert_string_equal(out, text);

	/* One character split over three tokens comes out whole, at the end. */
	vocab_stream_reset(s);
	const char *t;
	size_t len;
	assert_int_equal(vocab_stream_push(s, tu_byte_token(v, 0xE2), &t, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(vocab_stream_push(s, tu_byte_token(v, 0x98), &t, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(vocab_stream_push(s, tu_byte_token(v, 0x95), &t, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(t, "\xE2\x98\x95", 3);

	/* Invalid bytes become U+FFFD; an interrupted character too, and the
	 * byte that interrupted it is kept. */
	int32_t bad[] = { tu_byte_token(v, 0xFF), tu_byte_token(v, 0xC3), tu_byte_token(v, 'a'),
			  tu_byte_token(v, 0xE2), tu_byte_token(v, 0x82) };
	vocab_stream_reset(s);
	stream_all(s, bad, 5, true, out, sizeof(out));
	assert_string_equal(out, "\xEF\xBF\xBD\xEF\xBF\xBD" "a" "\xEF\xBF\xBD");
	/* Without a flush the unfinished tail is held back, not emitted. */
	vocab_stream_reset(s);
	stream_all(s, bad, 5, false, out, sizeof(out));
	assert_string_equal(out, "\xEF\xBF\xBD\xEF\xBF\xBD" "a");
	assert_int_equal(vocab_stream_push(s, 99999, &t, &len), LT_E_RANGE);
	vocab_stream_free(s);

	/* Control tokens are skipped unless asked for. */
	int32_t ctl[] = { 1, 403, 2 };
	assert_int_equal(vocab_stream_new(&s, v, VOCAB_STREAM_STRIP_SPACE), 0);
	stream_all(s, ctl, 3, true, out, sizeof(out));
	assert_string_equal(out, "Once");
	vocab_stream_free(s);
	assert_int_equal(vocab_stream_new(&s, v, VOCAB_STREAM_SPECIAL), 0);
	stream_all(s, ctl, 3, true, out, sizeof(out));
	assert_string_equal(out, "<s> Once</s>");
	vocab_stream_free(s);
	vocab_free(v);
}

static void test_pieces(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	struct vocab *v = tu_open_vocab("vocab/ggml-vocab-llama-spm.gguf");
	char buf[32];
	assert_int_equal(vocab_token_to_piece(v, 15043, buf, sizeof(buf), false), 6);
	assert_memory_equal(buf, " Hello", 6);
	assert_string_equal(vocab_get_text(v, 15043, NULL), "\xE2\x96\x81" "Hello");
	assert_int_equal(vocab_token_to_piece(v, tu_byte_token(v, 0x0A), buf, sizeof(buf), false), 1);
	assert_int_equal(buf[0], '\n');
	assert_int_equal(vocab_nl(v), tu_byte_token(v, 0x0A));
	assert_int_equal(vocab_token_to_piece(v, 1, buf, sizeof(buf), false), 0);
	assert_int_equal(vocab_token_to_piece(v, 1, buf, sizeof(buf), true), 3);
	assert_memory_equal(buf, "<s>", 3);
	/* Too small: the length comes back and nothing is written. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(vocab_token_to_piece(v, 15043, buf, 3, false), 6);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(vocab_token_to_piece(v, -1, buf, sizeof(buf), false), LT_E_RANGE);
	assert_int_equal(vocab_token_to_piece(v, 32000, buf, sizeof(buf), false), LT_E_RANGE);
	vocab_free(v);

	v = tu_open_vocab("vocab/ggml-vocab-gpt-2.gguf");
	int32_t id = vocab_find(v, "\xC4\xA0world", 7); /* "Ġworld" */
	assert_true(id >= 0);
	assert_int_equal(vocab_token_to_piece(v, id, buf, sizeof(buf), false), 6);
	assert_memory_equal(buf, " world", 6);
	id = vocab_find(v, "\xC4\x8A", 2); /* "Ċ" is the newline byte */
	assert_int_equal(vocab_token_to_piece(v, id, buf, sizeof(buf), false), 1);
	assert_int_equal(buf[0], '\n');
	assert_int_equal(vocab_nl(v), id);
	vocab_free(v);
}

static void test_detokenize(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	struct vocab *v = tu_open_vocab("vocab/ggml-vocab-llama-spm.gguf");
	int32_t ids[16];
	char out[64];
	int n = vocab_tokenize(v, "Hello world", 11, true, false, ids, 16);
	assert_int_equal(n, 3);
	/* llama.cpp keeps the prefix space when a BOS comes first... */
	assert_int_equal(vocab_detokenize(v, ids, n, out, sizeof(out), false, false), 12);
	assert_string_equal(out, " Hello world");
	assert_int_equal(vocab_detokenize(v, ids, n, out, sizeof(out), true, false), 12);
	assert_string_equal(out, " Hello world");
	assert_int_equal(vocab_detokenize(v, ids, n, out, sizeof(out), false, true), 15);
	assert_string_equal(out, "<s> Hello world");
	/* ...and drops it when the text starts the ids. */
	assert_int_equal(vocab_detokenize(v, ids + 1, n - 1, out, sizeof(out), false, false), 11);
	assert_string_equal(out, "Hello world");
	/* snprintf-style truncation. */
	assert_int_equal(vocab_detokenize(v, ids + 1, n - 1, out, 6, false, false), 11);
	assert_string_equal(out, "Hello");
	vocab_free(v);

	/* BPE models that ask for it get their tokenization spaces cleaned. */
	v = tu_open_vocab("vocab/ggml-vocab-gpt-2.gguf");
	n = vocab_tokenize(v, "Hello , world ! it 's", 21, false, false, ids, 16);
	assert_true(n > 0);
	vocab_detokenize(v, ids, n, out, sizeof(out), false, false);
	assert_string_equal(out, "Hello, world! it's");
	vocab_free(v);
}

static void test_parse_special(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	struct vocab *v = tu_open_vocab("vocab/ggml-vocab-llama-spm.gguf");
	int32_t ids[32];
	char out[64];
	int n = vocab_tokenize(v, "<s>Hello", 8, false, true, ids, 32);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 15043); /* a space prefix follows a special token */
	n = vocab_tokenize(v, "<s>Hello", 8, false, false, ids, 32);
	assert_true(n > 2);
	for (int i = 0; i < n; i++)
		assert_int_not_equal(ids[i], 1);
	assert_int_equal(vocab_detokenize(v, ids, n, out, sizeof(out), false, false), 8);
	assert_string_equal(out, "<s>Hello");
	vocab_free(v);

	/* phi-3's special tokens swallow the whitespace after them, and are
	 * end-of-generation tokens where llama.cpp says so. */
	v = tu_open_vocab("vocab/ggml-vocab-phi-3.gguf");
	int32_t a[32], b[32];
	int na = vocab_tokenize(v, "<|user|>\nHi<|end|>", 18, false, true, a, 32);
	int nb = vocab_tokenize(v, "<|user|>Hi<|end|>", 17, false, true, b, 32);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, (size_t)na * sizeof(*a));
	assert_int_equal(a[0], 32010);
	assert_int_equal(a[na - 1], 32007);
	assert_int_equal(vocab_eot(v), 32007);
	assert_true(vocab_is_eog(v, 32007));
	assert_true(vocab_is_eog(v, 32000));
	assert_false(vocab_is_eog(v, 32010));
	assert_non_null(vocab_chat_template(v));
	vocab_free(v);

	/* gpt-2's one special token. */
	v = tu_open_vocab("vocab/ggml-vocab-gpt-2.gguf");
	assert_int_equal(vocab_tokenize(v, "<|endoftext|>", 13, false, true, ids, 32), 1);
	assert_int_equal(ids[0], 50256);
	assert_true(vocab_tokenize(v, "<|endoftext|>", 13, false, false, ids, 32) > 1);
	assert_true(vocab_is_eog(v, 50256));
	vocab_free(v);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void time_tokenize(const char *rel)
{
	char path[700];
	size_t n_inp;
	snprintf(path, sizeof(path), "%s/models/vocab/ggml-vocab-llama-spm.gguf.inp", tu_shared_dir());
	char *inp = tu_read_file(path, &n_inp);
	assert_non_null(inp);
	char *text = malloc(PERF_BYTES);
	for (size_t k = 0; k < PERF_BYTES; k += n_inp)
		memcpy(text + k, inp, PERF_BYTES - k < n_inp ? PERF_BYTES - k : n_inp);
	struct vocab *v = tu_open_vocab(rel);
	int32_t *ids = malloc(PERF_BYTES * sizeof(*ids));
	double t0 = now_seconds();
	int n = vocab_tokenize(v, text, PERF_BYTES, true, false, ids, PERF_BYTES);
	double dt = now_seconds() - t0;
	printf("%s: %d KB -> %d tokens in %.3f s\n", rel, PERF_BYTES / 1024, n, dt);
	assert_true(n > PERF_BYTES / 8);
	assert_true(dt < PERF_MAX_SECONDS);
	free(ids);
	free(text);
	free(inp);
	vocab_free(v);
}

static void test_speed(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	time_tokenize("vocab/ggml-vocab-llama-spm.gguf");
	time_tokenize("vocab/ggml-vocab-gpt-2.gguf");
}

/* Writes a GGUF with the given tokenizer keys and returns vocab_open's
 * result, with its message in err. */
struct fake {
	const char *model;      /* NULL: no tokenizer.ggml.model */
	const char *pre;
	int n_tokens;           /* 0: no tokens array */
	bool tokens_as_ints;
	int n_scores;           /* 0: no scores */
	bool merges;
	bool duplicate;
};

static int open_fake(const struct fake *f, char *err, size_t errlen)
{
	static const char *const toks[] = { "<unk>", "<s>", "</s>", "\xE2\x96\x81" "a", "a", "b" };
	const char *list[6];
	memcpy(list, toks, sizeof(list));
	if (f->duplicate)
		list[5] = "a";
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	gguf_writer_set_str(w, "general.architecture", "llama");
	if (f->model)
		gguf_writer_set_str(w, "tokenizer.ggml.model", f->model);
	if (f->pre)
		gguf_writer_set_str(w, "tokenizer.ggml.pre", f->pre);
	if (f->n_tokens && f->tokens_as_ints) {
		int32_t ints[6] = { 0 };
		gguf_writer_set_arr(w, "tokenizer.ggml.tokens", GGUF_VTYPE_INT32, ints, (uint64_t)f->n_tokens);
	} else if (f->n_tokens) {
		gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", list, (uint64_t)f->n_tokens);
	}
	if (f->n_scores) {
		float sc[6] = { 0, 0, 0, -1, -2, -3 };
		gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VTYPE_FLOAT32, sc, (uint64_t)f->n_scores);
	}
	if (f->merges) {
		const char *m[] = { "a b" };
		gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", m, 1);
	}
	struct vocab *v;
	int rc = tu_vocab_from_writer(w, "vocab", &v, err, errlen);
	if (rc == 0) {
		int32_t ids[8];
		if (vocab_type(v) == VOCAB_TYPE_NONE)
			assert_int_equal(vocab_tokenize(v, "ab a", 4, true, false, ids, 8), LT_E_UNSUPPORTED);
		else
			assert_true(vocab_tokenize(v, "ab a", 4, true, false, ids, 8) >= 2);
		vocab_free(v);
	} else {
		assert_null(v);
		printf("expected error: %s\n", err);
	}
	return rc;
}

static void test_bad_metadata(void **state)
{
	(void)state;
	char err[256];
	struct fake ok = { .model = "llama", .n_tokens = 6, .n_scores = 6 };
	assert_int_equal(open_fake(&ok, err, sizeof(err)), 0);

	struct fake f = ok;
	f.n_tokens = 0;
	assert_int_equal(open_fake(&f, err, sizeof(err)), LT_E_NOTFOUND);
	assert_non_null(strstr(err, "tokenizer.ggml.tokens"));
	assert_non_null(strstr(err, "/tmp/lt-vocab-"));

	f = ok;
	f.tokens_as_ints = true;
	assert_int_equal(open_fake(&f, err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "not an array of strings"));

	f = ok;
	f.n_scores = 5;
	assert_int_equal(open_fake(&f, err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "tokenizer.ggml.scores has 5 entries"));

	f = ok;
	f.model = NULL;
	assert_int_equal(open_fake(&f, err, sizeof(err)), LT_E_NOTFOUND);
	assert_non_null(strstr(err, "tokenizer.ggml.model"));

	f = ok;
	f.duplicate = true;
	assert_int_equal(open_fake(&f, err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "both"));

	f = ok;
	f.model = "gpt2";
	f.pre = "gpt-2";
	assert_int_equal(open_fake(&f, err, sizeof(err)), LT_E_NOTFOUND);
	assert_non_null(strstr(err, "tokenizer.ggml.merges"));
	f.merges = true;
	assert_int_equal(open_fake(&f, err, sizeof(err)), 0);
	f.pre = "no-such-pre";
	assert_int_equal(open_fake(&f, err, sizeof(err)), LT_E_UNSUPPORTED);
	assert_non_null(strstr(err, "no-such-pre"));

	f = ok;
	f.model = "t5";
	assert_int_equal(open_fake(&f, err, sizeof(err)), LT_E_UNSUPPORTED);

	/* A file without a tokenizer opens but cannot tokenize. */
	f = ok;
	f.model = "no_vocab";
	f.n_tokens = 0;
	f.n_scores = 0;
	assert_int_equal(open_fake(&f, err, sizeof(err)), 0);
}

/* Random text must tokenize without error and stream back as valid UTF-8.
 * Valid UTF-8 must come back exactly from SPM's pieces (byte fallback keeps
 * every byte); invalid bytes may not, as in llama.cpp, because a stray lead
 * byte can swallow part of the U+2581 that replaced a space. */
static uint32_t rnd(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

static size_t random_text(uint32_t *seed, bool valid, char *out, size_t max)
{
	static const uint32_t starts[] = { 0x20, 0xA0, 0x400, 0x4E00, 0x1F600, 0xE01, 0x300 };
	size_t k = 0, n = 1 + rnd(seed) % 40;
	for (size_t i = 0; i < n && k + 4 <= max; i++) {
		uint32_t r = rnd(seed);
		if (!valid) {
			out[k++] = (char)(r % 3 == 0 ? ' ' : r % 3 == 1 ? 'a' + r % 26 : 0x80 | (r >> 4));
			continue;
		}
		uint32_t cp = starts[r % 7] + (r >> 4) % 96;
		if (cp < 0x80)
			out[k++] = (char)cp;
		else if (cp < 0x800)
			out[k++] = (char)(0xC0 | (cp >> 6)), out[k++] = (char)(0x80 | (cp & 0x3F));
		else if (cp < 0x10000)
			out[k++] = (char)(0xE0 | (cp >> 12)), out[k++] = (char)(0x80 | ((cp >> 6) & 0x3F)),
			out[k++] = (char)(0x80 | (cp & 0x3F));
		else
			out[k++] = (char)(0xF0 | (cp >> 18)), out[k++] = (char)(0x80 | ((cp >> 12) & 0x3F)),
			out[k++] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[k++] = (char)(0x80 | (cp & 0x3F));
	}
	return k;
}

static void test_random_text(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	static const char *const files[] = { "vocab/ggml-vocab-llama-spm.gguf",
					     "vocab/ggml-vocab-gpt-2.gguf",
					     "vocab/ggml-vocab-deepseek-llm.gguf" };
	uint32_t seed = 12345;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct vocab *v = tu_open_vocab(files[f]);
		struct vocab_stream *st;
		assert_int_equal(vocab_stream_new(&st, v, VOCAB_STREAM_STRIP_SPACE), 0);
		for (int iter = 0; iter < 400; iter++) {
			char in[200], joined[2048], streamed[2048];
			int32_t ids[512];
			bool valid = iter % 2;
			size_t len = random_text(&seed, valid, in, sizeof(in));
			int n = vocab_tokenize(v, in, len, false, iter % 3 == 0, ids, 512);
			assert_true(n > 0 && n <= 512);
			size_t k = join_pieces(v, ids, n, joined, sizeof(joined));
			if (valid && (k != len || memcmp(joined, in, len) != 0))
				fail_msg("%s: iteration %d does not round-trip", files[f], iter);
			vocab_stream_reset(st);
			stream_all(st, ids, n, true, streamed, sizeof(streamed));
			if (valid)
				assert_memory_equal(streamed, in, len);
			/* Cut between two characters, segments give the ids
			 * of the whole (a cut inside one could split one of
			 * deepseek-llm's one-character user-defined tokens,
			 * which a segment only matches inside itself). */
			int32_t seg_ids[512];
			size_t cut = rnd(&seed) % (len + 1);
			while (cut < len && ((unsigned char)in[cut] & 0xC0) == 0x80)
				cut++;
			const struct vocab_segment segs[] = { { in, cut, iter % 3 == 0 },
							      { in + cut, len - cut, iter % 3 == 0 } };
			int ns = vocab_tokenize_segments(v, segs, 2, 0, seg_ids, 512);
			if (ns != n || memcmp(seg_ids, ids, (size_t)n * sizeof(*ids))) {
				printf("%s iter %d cut %zu len %zu: ", files[f], iter, cut, len);
				for (size_t q = 0; q < len; q++) printf("%02x ", (unsigned char)in[q]);
				printf("\n");
				tu_print_ids("whole", ids, n);
				tu_print_ids("segs", seg_ids, ns);
				fail();
			}
		}
		vocab_stream_free(st);
		vocab_free(v);
	}
}

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
		cmocka_unit_test(test_bert_unsupported),
		cmocka_unit_test(test_load_other_vocabs),
		cmocka_unit_test(test_stories260k),
		cmocka_unit_test(test_stream_utf8),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_detokenize),
		cmocka_unit_test(test_parse_special),
		cmocka_unit_test(test_speed),
		cmocka_unit_test(test_bad_metadata),
		cmocka_unit_test(test_random_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
