/* Tokenizer tests on small vocabs built here: a Gemma-style SentencePiece
 * vocab (no space prefix, user-defined newline and space-run tokens, HTML
 * tags, control turn markers, byte fallback) and the end-of-generation
 * rules llama.cpp applies by token name (Granite, Gemma, gpt-oss). Expected
 * ids follow llama.cpp's llama_tokenize step by step; the comments say how. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "gguf_write.h"
#include "vocab.h"

#include "testutil.h"

/* GGUF token types. */
enum { NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER = 4, BYTE = 6 };

struct tok {
	const char *text;
	int type;
	float score;
};

/* The Gemma-like vocab: ids 0..10 special, 11..266 the byte tokens, then
 * the normal pieces. User-defined whitespace tokens hold real spaces, as
 * llama.cpp's converter writes them ("▁▁" becomes "  "). */
#define SP "\xE2\x96\x81"
#define BYTE0 11
static const struct tok gemma_head[] = {
	{ "<pad>", CONTROL, 0 }, { "<eos>", CONTROL, 0 }, { "<bos>", CONTROL, 0 },
	{ "<unk>", UNKNOWN, 0 }, { "<start_of_turn>", CONTROL, 0 }, { "<end_of_turn>", CONTROL, 0 },
	{ "\n", USER, 0 }, { "\n\n", USER, 0 }, { "  ", USER, 0 }, { "<table>", USER, 0 },
	{ "<unused0>", CONTROL, 0 },
};
enum { PAD, EOS, BOS, UNK, SOT, EOT, NL, NL2, SPACE2, TABLE, UNUSED0 };
/* Scores make "Hello" merge as ll, llo, He, Hello and "user" as us, er,
 * user (equal scores: leftmost first). */
static const struct tok gemma_tail[] = {
	{ SP, NORMAL, -1 }, { "H", NORMAL, -2 }, { "e", NORMAL, -2 }, { "l", NORMAL, -2 },
	{ "o", NORMAL, -2 }, { "i", NORMAL, -2 }, { "u", NORMAL, -2 }, { "s", NORMAL, -2 },
	{ "r", NORMAL, -2 }, { "ll", NORMAL, -1.0f }, { "He", NORMAL, -1.2f }, { "llo", NORMAL, -0.9f },
	{ "Hello", NORMAL, -0.5f }, { SP "Hello", NORMAL, -0.4f }, { "us", NORMAL, -1.1f },
	{ "er", NORMAL, -1.1f }, { "user", NORMAL, -0.3f }, { "Hi", NORMAL, -0.8f },
};
enum { T_SPACE = BYTE0 + 256, T_H, T_e, T_l, T_o, T_i, T_u, T_s, T_r, T_ll, T_He, T_llo,
       T_Hello, T_SP_Hello, T_us, T_er, T_user, T_Hi };

#define MAX_TOKS 320

/* Writes a "llama" (SPM) or "gpt2" vocab of the given tokens and opens it;
 * gemma adds Gemma's special token ids and flags. */
static struct vocab *open_synth(const char *model, const struct tok *t, int n, bool gemma,
				bool add_space_prefix)
{
	const char *texts[MAX_TOKS];
	float scores[MAX_TOKS];
	int32_t types[MAX_TOKS];
	assert_true(n <= MAX_TOKS);
	for (int i = 0; i < n; i++) {
		texts[i] = t[i].text;
		scores[i] = t[i].score;
		types[i] = t[i].type;
	}
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	gguf_writer_set_str(w, "general.architecture", "gemma3");
	gguf_writer_set_str(w, "tokenizer.ggml.model", model);
	gguf_writer_set_str(w, "tokenizer.ggml.pre", "default");
	gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", texts, (uint64_t)n);
	gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VTYPE_FLOAT32, scores, (uint64_t)n);
	gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VTYPE_INT32, types, (uint64_t)n);
	if (strcmp(model, "gpt2") == 0) {
		const char *merges[] = { "x y" };
		gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, 1);
	}
	if (gemma) {
		gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", BOS);
		gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", EOS);
		gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", UNK);
		gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", PAD);
		gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
		gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false);
		gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", add_space_prefix);
	}
	struct vocab *v;
	char err[256];
	if (tu_vocab_from_writer(w, "vocab-synth", &v, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return v;
}

static struct vocab *open_gemma(bool add_space_prefix)
{
	static struct tok all[MAX_TOKS];
	static char bytes[256][8];
	int n = 0;
	for (size_t i = 0; i < sizeof(gemma_head) / sizeof(gemma_head[0]); i++)
		all[n++] = gemma_head[i];
	for (int b = 0; b < 256; b++) {
		snprintf(bytes[b], sizeof(bytes[b]), "<0x%02X>", b);
		all[n++] = (struct tok){ bytes[b], BYTE, 0 };
	}
	for (size_t i = 0; i < sizeof(gemma_tail) / sizeof(gemma_tail[0]); i++)
		all[n++] = gemma_tail[i];
	return open_synth("llama", all, n, true, add_space_prefix);
}

/* Tokenizes s and compares with the n ids that follow. */
static void expect_ids(const struct vocab *v, const char *s, unsigned flags, int n, ...)
{
	int32_t ids[64];
	int got = vocab_tokenize_ex(v, s, strlen(s), flags, ids, 64);
	va_list ap;
	va_start(ap, n);
	bool same = got == n;
	int32_t want[64];
	for (int i = 0; i < n; i++) {
		want[i] = va_arg(ap, int);
		same = same && ids[i] == want[i];
	}
	va_end(ap);
	if (!same) {
		printf("'");
		tu_print_escaped(s, strlen(s));
		printf("'\n");
		tu_print_ids("want", want, n);
		tu_print_ids("got", ids, got);
		fail();
	}
}

static void expect_text(const struct vocab *v, const int32_t *ids, int n, const char *want)
{
	char out[128];
	int len = vocab_detokenize(v, ids, n, out, sizeof(out), false, false);
	assert_int_equal(len, (int)strlen(want));
	assert_string_equal(out, want);
}

#define ADD VOCAB_TOK_ADD_SPECIAL
#define PARSE VOCAB_TOK_PARSE_SPECIAL

static void test_gemma_no_space_prefix(void **state)
{
	(void)state;
	struct vocab *v = open_gemma(false);
	assert_false(vocab_add_space_prefix(v));
	assert_true(vocab_add_bos(v));
	/* No "▁" goes in front: "Hello" is the bare piece, and only text that
	 * starts with a space gets "▁Hello". */
	expect_ids(v, "Hello", ADD, 2, BOS, T_Hello);
	expect_ids(v, "Hello", 0, 1, T_Hello);
	expect_ids(v, " Hello", 0, 1, T_SP_Hello);
	/* Nor after a special token. */
	expect_ids(v, "<start_of_turn>user", PARSE, 2, SOT, T_user);
	/* Characters without a piece fall back to their bytes. */
	expect_ids(v, "H\xC3\xA9", 0, 3, T_H, BYTE0 + 0xC3, BYTE0 + 0xA9);
	/* Detokenizing keeps a leading space: there is no prefix to undo. */
	int32_t sp_hello[] = { T_SP_Hello };
	expect_text(v, sp_hello, 1, " Hello");
	int32_t bos_hello[] = { BOS, T_Hello };
	expect_text(v, bos_hello, 2, "Hello");
	struct vocab_stream *s;
	const char *t;
	size_t len;
	assert_int_equal(vocab_stream_new(&s, v, VOCAB_STREAM_STRIP_SPACE), 0);
	assert_int_equal(vocab_stream_push(s, T_SP_Hello, &t, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(t, " Hello", 6);
	vocab_stream_free(s);
	/* The newline token is the <0x0A> byte token, as in llama.cpp. */
	assert_int_equal(vocab_nl(v), BYTE0 + '\n');
	vocab_free(v);

	/* The same vocab with the prefix (Gemma 1, Llama): "▁Hello". */
	v = open_gemma(true);
	expect_ids(v, "Hello", ADD, 2, BOS, T_SP_Hello);
	expect_text(v, sp_hello, 1, "Hello");
	vocab_free(v);
}

static void test_gemma_user_defined(void **state)
{
	(void)state;
	struct vocab *v = open_gemma(false);
	/* User-defined tokens are cut out of the text first, longest first,
	 * with or without parse_special: "\n\n\n" is "\n\n" + "\n", three
	 * spaces are "  " + " Hello". */
	expect_ids(v, "Hello\n\nHi", 0, 3, T_Hello, NL2, T_Hi);
	expect_ids(v, "Hello\n\n\nHi", 0, 4, T_Hello, NL2, NL, T_Hi);
	expect_ids(v, "Hi  Hello", 0, 3, T_Hi, SPACE2, T_Hello);
	expect_ids(v, "Hi   Hello", 0, 3, T_Hi, SPACE2, T_SP_Hello);
	expect_ids(v, "<table>Hi", 0, 2, TABLE, T_Hi);
	int32_t ids[] = { T_Hi, SPACE2, T_SP_Hello, NL2, TABLE };
	expect_text(v, ids, 5, "Hi   Hello\n\n<table>");
	assert_true(vocab_is_special(v, NL2));
	assert_false(vocab_is_control(v, NL2));
	vocab_free(v);
}

static void test_gemma_chat(void **state)
{
	(void)state;
	struct vocab *v = open_gemma(false);
	/* "model" has no pieces past "o", "e", "l": m and d go as bytes. */
	const char *prompt = "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n";
	expect_ids(v, prompt, ADD | PARSE, 14, BOS, SOT, T_user, NL, T_Hi, EOT, NL, SOT,
		   BYTE0 + 'm', T_o, BYTE0 + 'd', T_e, T_l, NL);
	/* Without parse_special the turn markers are text. */
	int32_t ids[128];
	int n = vocab_tokenize(v, prompt, strlen(prompt), false, false, ids, 128);
	assert_true(n > 14 && n <= 128);
	for (int i = 0; i < n; i++)
		assert_true(ids[i] != SOT && ids[i] != EOT);
	expect_text(v, ids, n, prompt);
	/* The same prompt from template text and user text: a user typing a
	 * turn marker does not end the turn. */
	const struct vocab_segment seg[] = {
		{ "<start_of_turn>user\n", 20, true },
		{ "Hi<end_of_turn>", 15, false },
		{ "<end_of_turn>\n", 14, true },
	};
	n = vocab_tokenize_segments(v, seg, 3, ADD, ids, 128);
	assert_int_equal(ids[0], BOS);
	assert_int_equal(ids[1], SOT);
	assert_int_equal(ids[n - 2], EOT);
	assert_int_equal(ids[n - 1], NL);
	for (int i = 2; i < n - 2; i++)
		assert_true(ids[i] != EOT);
	/* <end_of_turn> and <eos> end generation; <start_of_turn> does not;
	 * the control tokens named "unused" are unused. */
	assert_true(vocab_is_eog(v, EOT));
	assert_true(vocab_is_eog(v, EOS));
	assert_false(vocab_is_eog(v, SOT));
	assert_int_equal(vocab_eot(v), EOT);
	assert_true(vocab_attr(v, UNUSED0) & VOCAB_ATTR_UNUSED);
	vocab_free(v);
}

/* A small BPE vocab: the byte characters of "a", then the named tokens. */
static struct vocab *open_named(const char *const *names, int n, int type)
{
	struct tok t[16];
	t[0] = (struct tok){ "a", NORMAL, 0 };
	for (int i = 0; i < n; i++)
		t[1 + i] = (struct tok){ names[i], type, 0 };
	return open_synth("gpt2", t, 1 + n, false, false);
}

static void test_eog_names(void **state)
{
	(void)state;
	/* Granite ends turns with <|end_of_text|>: found as the EOT. */
	static const char *const granite[] = { "<|start_of_role|>", "<|end_of_text|>" };
	struct vocab *v = open_named(granite, 2, CONTROL);
	assert_int_equal(vocab_eot(v), 2);
	assert_true(vocab_is_eog(v, 2));
	assert_false(vocab_is_eog(v, 1));
	vocab_free(v);

	/* gpt-oss: <|return|> and <|call|> end generation, so <|end|> only
	 * ends a message and becomes user-defined text, like the channel
	 * markers (which then are parsed even without parse_special). */
	static const char *const oss[] = { "<|return|>", "<|call|>", "<|end|>", "<|channel|>",
					   "<|message|>", "<|start|>" };
	v = open_named(oss, 6, CONTROL);
	assert_true(vocab_is_eog(v, 1));
	assert_true(vocab_is_eog(v, 2));
	assert_false(vocab_is_eog(v, 3));
	assert_int_equal(vocab_attr(v, 3), VOCAB_ATTR_USER_DEFINED);
	assert_int_equal(vocab_attr(v, 4), VOCAB_ATTR_USER_DEFINED);
	int32_t ids[8];
	assert_int_equal(vocab_tokenize(v, "<|channel|>a", 12, false, false, ids, 8), 2);
	assert_int_equal(ids[0], 4);
	assert_int_equal(ids[1], 0);
	vocab_free(v);

	/* Without <|return|>, <|end|> (phi-3) still ends generation. */
	static const char *const phi[] = { "<|end|>", "<|user|>" };
	v = open_named(phi, 2, CONTROL);
	assert_true(vocab_is_eog(v, 1));
	vocab_free(v);

	/* Where <|tool_response> ends a turn, </s> is ordinary text. */
	static const char *const tool[] = { "<|tool_response>", "</s>" };
	v = open_named(tool, 2, CONTROL);
	assert_true(vocab_is_eog(v, 1));
	assert_false(vocab_is_eog(v, 2));
	assert_int_equal(vocab_attr(v, 2), VOCAB_ATTR_NORMAL);
	vocab_free(v);
	static const char *const plain[] = { "</s>" };
	v = open_named(plain, 1, CONTROL);
	assert_true(vocab_is_eog(v, 1));
	vocab_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gemma_no_space_prefix),
		cmocka_unit_test(test_gemma_user_defined),
		cmocka_unit_test(test_gemma_chat),
		cmocka_unit_test(test_eog_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
