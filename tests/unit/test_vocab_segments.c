/* Tokenizer tests for prompts built from pieces: vocab_tokenize_ex() with
 * the CONTINUE / AFTER_RSTRIP flags, vocab_tokenize_flags_after(),
 * vocab_is_special() and vocab_tokenize_segments(), checked against whole-string
 * tokenization and against ids from llama.cpp. Needs ../shared/models/vocab. */
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
#include "vocab.h"

#include "testutil.h"

#define MAX_PIECES 16

/* A string given as pieces. Cuts between pieces are tried in every
 * combination; those next to a special token (or inside whitespace a
 * preceding RSTRIP token swallows) are where llama.cpp cuts the string
 * itself, so vocab_tokenize_ex() piece by piece must give the ids of the
 * whole string there. */
struct pieces {
	const char *p[MAX_PIECES];
};

static bool is_special_text(const struct vocab *v, const char *s)
{
	return vocab_is_special(v, vocab_find(v, s, strlen(s)));
}

static bool is_space_only(const char *s)
{
	for (; *s; s++)
		if (!strchr(" \t\n\r", *s))
			return false;
	return true;
}

/* Whether a cut between pieces i and i+1 is one llama.cpp makes too. */
static bool cut_at_special(const struct vocab *v, const struct pieces *c, int i)
{
	if (is_special_text(v, c->p[i]) || is_special_text(v, c->p[i + 1]))
		return true;
	/* Whitespace swallowed by an RSTRIP token before it. */
	for (int j = i; j >= 0 && is_space_only(c->p[j]); j--)
		if (j > 0 && is_special_text(v, c->p[j - 1]))
			return vocab_attr(v, vocab_find(v, c->p[j - 1], strlen(c->p[j - 1]))) & VOCAB_ATTR_RSTRIP;
	return false;
}

static int n_pieces(const struct pieces *c)
{
	int n = 0;
	while (n < MAX_PIECES && c->p[n])
		n++;
	return n;
}

/* Tokenizes the pieces joined into segments at the cuts set in mask (bit i:
 * cut after piece i), one vocab_tokenize_ex call per segment, each continuing
 * after the last id so far. */
static int tokenize_cut(const struct vocab *v, const struct pieces *c, unsigned mask,
			unsigned flags, int32_t *ids, int max)
{
	int n = n_pieces(c), total = 0;
	char seg[512];
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		size_t pl = strlen(c->p[i]);
		assert_true(len + pl < sizeof(seg));
		memcpy(seg + len, c->p[i], pl);
		len += pl;
		if (i < n - 1 && !(mask & (1u << i)))
			continue;
		unsigned f = flags;
		if (total) /* only the first segment adds a BOS */
			f = (flags & ~(unsigned)VOCAB_TOK_ADD_SPECIAL) |
			    vocab_tokenize_flags_after(v, ids[total - 1]);
		int got = vocab_tokenize_ex(v, seg, len, f, ids + total, max - total);
		assert_true(got >= 0 && got <= max - total);
		total += got;
		len = 0;
	}
	return total;
}

/* Every combination of cuts at special tokens gives the whole string's ids,
 * with and without a BOS; all pieces as vocab_tokenize_segments() segments
 * give them too, wherever the cuts are. Returns how many splits were tried. */
static int check_pieces(const struct vocab *v, const struct pieces *c)
{
	int n = n_pieces(c), tried = 0;
	char whole[512] = "";
	struct vocab_segment segs[MAX_PIECES];
	for (int i = 0; i < n; i++) {
		strcat(whole, c->p[i]);
		segs[i] = (struct vocab_segment){ c->p[i], strlen(c->p[i]), true };
	}
	unsigned allowed = 0;
	for (int i = 0; i < n - 1; i++)
		if (cut_at_special(v, c, i))
			allowed |= 1u << i;
	static const unsigned modes[] = { VOCAB_TOK_PARSE_SPECIAL,
					  VOCAB_TOK_PARSE_SPECIAL | VOCAB_TOK_ADD_SPECIAL };
	for (int m = 0; m < 2; m++) {
		int32_t want[256], got[256];
		int nw = vocab_tokenize_ex(v, whole, strlen(whole), modes[m], want, 256);
		assert_true(nw > 0 && nw <= 256);
		/* Every subset of the allowed cuts. */
		for (unsigned mask = allowed;; mask = (mask - 1) & allowed) {
			int ng = tokenize_cut(v, c, mask, modes[m], got, 256);
			tried++;
			if (ng != nw || memcmp(got, want, (size_t)nw * sizeof(*want)) != 0) {
				printf("'");
				tu_print_escaped(whole, strlen(whole));
				printf("' cut by mask %#x, flags %#x\n", mask, modes[m]);
				tu_print_ids("whole", want, nw);
				tu_print_ids("cut", got, ng);
				fail_msg("piece-wise tokenization differs from the whole string");
			}
			if (!mask)
				break;
		}
		int ng = vocab_tokenize_segments(v, segs, n, modes[m], got, 256);
		assert_int_equal(ng, nw);
		assert_memory_equal(got, want, (size_t)nw * sizeof(*want));
	}
	return tried;
}

static void test_segments_at_specials(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	static const struct pieces spm[] = {
		{ { "<s>", "Hello world", "</s>" } },
		{ { "Hello", "</s>", " world", "</s>", "\n\n", "<s>", "  spaced  " } },
		{ { "</s>", "</s>", "x", "<s>", " ", "<s>" } },
		{ { "<s>", "[INST] ", "What is 2+2?", " [/INST]", " It is 4. ", "</s>", "<s>",
		    "[INST] Thanks [/INST]" } },
		{ { "Gr\xC3\xBC\xC3\x9F" "e, \xE4\xB8\x96\xE7\x95\x8C", "</s>", " \xF0\x9F\xA6\x99", "<unk>", "!" } },
	};
	static const struct pieces phi3[] = {
		{ { "<|system|>", "\n", "You are helpful.", "<|end|>", "\n", "<|user|>", "\n",
		    "  Hello world", "<|end|>", "\n", "<|assistant|>", "\n" } },
		{ { "<|user|>", " \n", " \t", "Hi", "<|end|>", "<|assistant|>", "Sure.", "<|end|>" } },
		{ { "<s>", " a", "</s>", " b", "<|endoftext|>", "  c" } },
	};
	static const struct pieces gpt2[] = {
		{ { "Hello", "<|endoftext|>", " world", "<|endoftext|>", "\n" } },
	};
	struct {
		const char *file;
		const struct pieces *cases;
		size_t n;
	} sets[] = {
		{ "vocab/ggml-vocab-llama-spm.gguf", spm, sizeof(spm) / sizeof(spm[0]) },
		{ "vocab/ggml-vocab-phi-3.gguf", phi3, sizeof(phi3) / sizeof(phi3[0]) },
		{ "vocab/ggml-vocab-gpt-2.gguf", gpt2, sizeof(gpt2) / sizeof(gpt2[0]) },
	};
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		struct vocab *v = tu_open_vocab(sets[s].file);
		int tried = 0;
		for (size_t i = 0; i < sets[s].n; i++)
			tried += check_pieces(v, &sets[s].cases[i]);
		printf("%s: %d splits at special tokens match the whole string\n", sets[s].file, tried);
		vocab_free(v);
	}
}

/* Ids from llama.cpp's llama-tokenize (which adds BOS) at the commit of the
 * test vocabs, for strings joined from template and user pieces. */
static void test_segments_golden(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	int32_t ids[64];
	struct vocab *v = tu_open_vocab("vocab/ggml-vocab-phi-3.gguf");
	/* "<|user|>\n  Hello world<|end|>\n<|assistant|>": <|user|> swallows
	 * "\n  " even though the spaces belong to the user's text. */
	static const int32_t hello[] = { 1, 32010, 15043, 3186, 32007, 32001 };
	int n = vocab_tokenize_ex(v, "<|user|>\n", 9, VOCAB_TOK_ADD_SPECIAL | VOCAB_TOK_PARSE_SPECIAL, ids, 64);
	assert_int_equal(n, 2);
	assert_int_equal(vocab_tokenize_flags_after(v, ids[n - 1]), VOCAB_TOK_AFTER_RSTRIP);
	n += vocab_tokenize_ex(v, "  Hello world", 13, vocab_tokenize_flags_after(v, ids[n - 1]), ids + n, 64 - n);
	n += vocab_tokenize_ex(v, "<|end|>\n<|assistant|>", 21,
			       VOCAB_TOK_PARSE_SPECIAL | vocab_tokenize_flags_after(v, ids[n - 1]), ids + n, 64 - n);
	assert_int_equal(n, 6);
	assert_memory_equal(ids, hello, sizeof(hello));

	/* User text that spells a control token stays text: the ids of
	 * "say <|end|> now" tokenized on its own without special parsing,
	 * framed by the template's real tokens. */
	static const int32_t typed[] = { 1, 32010, 1827, 529, 29989, 355, 29989, 29958, 1286, 32007, 32001 };
	const struct vocab_segment segs[] = {
		{ "<|user|>\n", 9, true },
		{ "say <|end|> now", 15, false },
		{ "<|end|>\n<|assistant|>", 21, true },
	};
	n = vocab_tokenize_segments(v, segs, 3, VOCAB_TOK_ADD_SPECIAL, ids, 64);
	assert_int_equal(n, 11);
	assert_memory_equal(ids, typed, sizeof(typed));
	/* ...and piece by piece. */
	n = 0;
	for (int i = 0; i < 3; i++) {
		unsigned f = i == 0 ? VOCAB_TOK_ADD_SPECIAL : vocab_tokenize_flags_after(v, ids[n - 1]);
		if (segs[i].parse_special)
			f |= VOCAB_TOK_PARSE_SPECIAL;
		n += vocab_tokenize_ex(v, segs[i].text, segs[i].len, f, ids + n, 64 - n);
	}
	assert_int_equal(n, 11);
	assert_memory_equal(ids, typed, sizeof(typed));
	vocab_free(v);

	/* A Llama-2 chat prompt with template text touching user text: only
	 * vocab_tokenize_segments merges across those cuts. */
	v = tu_open_vocab("vocab/ggml-vocab-llama-spm.gguf");
	static const int32_t inst[] = { 1, 518, 25580, 29962, 1724, 338, 29871, 29906, 29974, 29906,
					29973, 518, 29914, 25580, 29962, 739, 338, 29871, 29946, 29889,
					29871, 2, 1, 518, 25580, 29962, 1834, 518, 29914, 25580, 29962 };
	const struct vocab_segment chat[] = {
		{ "[INST] ", 7, true }, { "What is 2+2?", 12, false }, { " [/INST]", 8, true },
		{ " It is 4. ", 10, false }, { "</s><s>[INST] ", 14, true }, { "Thanks", 6, false },
		{ " [/INST]", 8, true },
	};
	n = vocab_tokenize_segments(v, chat, 7, VOCAB_TOK_ADD_SPECIAL, ids, 64);
	assert_int_equal(n, 31);
	assert_memory_equal(ids, inst, sizeof(inst));
	vocab_free(v);
}

/* Cuts inside plain text: merges never cross a vocab_tokenize_ex boundary,
 * so the ids may differ from the whole string's, but the text is the same. */
static void test_segments_plain_cuts(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	struct vocab *v = tu_open_vocab("vocab/ggml-vocab-llama-spm.gguf");
	int32_t a[32], b[32];
	char text[64];
	/* "Hello" + " world" happens to cut where the tokens do. */
	int na = vocab_tokenize_ex(v, "Hello world", 11, 0, a, 32);
	int nb = vocab_tokenize_ex(v, "Hello", 5, 0, b, 32);
	assert_int_equal(vocab_tokenize_flags_after(v, b[nb - 1]), VOCAB_TOK_CONTINUE);
	nb += vocab_tokenize_ex(v, " world", 6, VOCAB_TOK_CONTINUE, b + nb, 32 - nb);
	assert_int_equal(na, 2);
	assert_int_equal(nb, 2);
	assert_memory_equal(a, b, 2 * sizeof(*a));
	/* Without CONTINUE the second piece gets a space prefix of its own. */
	nb = vocab_tokenize_ex(v, "Hello", 5, 0, b, 32);
	nb += vocab_tokenize_ex(v, "world", 5, 0, b + nb, 32 - nb);
	assert_memory_equal(a, b, 2 * sizeof(*a));
	/* "Hel" + "lo" cannot merge into "Hello". */
	na = vocab_tokenize_ex(v, "Hello", 5, 0, a, 32);
	nb = vocab_tokenize_ex(v, "Hel", 3, 0, b, 32);
	nb += vocab_tokenize_ex(v, "lo", 2, VOCAB_TOK_CONTINUE, b + nb, 32 - nb);
	assert_int_equal(na, 1);
	assert_int_equal(a[0], 15043);
	assert_true(nb > na);
	assert_int_equal(vocab_detokenize(v, b, nb, text, sizeof(text), false, false), 5);
	assert_string_equal(text, "Hello");
	/* "[INST] " + "Hi": the trailing space becomes a lone U+2581 token. */
	na = vocab_tokenize_ex(v, "[INST] Hi", 9, 0, a, 32);
	nb = vocab_tokenize_ex(v, "[INST] ", 7, 0, b, 32);
	assert_int_equal(b[nb - 1], 29871);
	nb += vocab_tokenize_ex(v, "Hi", 2, vocab_tokenize_flags_after(v, b[nb - 1]), b + nb, 32 - nb);
	assert_true(na != nb || memcmp(a, b, (size_t)na * sizeof(*a)) != 0);
	assert_int_equal(vocab_detokenize(v, b, nb, text, sizeof(text), false, false), 9);
	assert_string_equal(text, "[INST] Hi");
	/* The segment API joins the text runs and gets the whole string's ids. */
	const struct vocab_segment segs[] = { { "[INST] ", 7, true }, { "Hi", 2, false } };
	nb = vocab_tokenize_segments(v, segs, 2, 0, b, 32);
	assert_int_equal(nb, na);
	assert_memory_equal(a, b, (size_t)na * sizeof(*a));
	vocab_free(v);
}

static void test_tokenize_flags(void **state)
{
	(void)state;
	TU_NEED_SHARED();
	struct vocab *v = tu_open_vocab("vocab/ggml-vocab-llama-spm.gguf");
	int32_t ids[16];
	assert_true(vocab_is_special(v, 0)); /* <unk> */
	assert_true(vocab_is_special(v, 1));
	assert_true(vocab_is_special(v, 2));
	assert_false(vocab_is_special(v, 15043));
	assert_false(vocab_is_special(v, tu_byte_token(v, 'A')));
	assert_false(vocab_is_special(v, -1));
	assert_false(vocab_is_special(v, 32000));
	assert_int_equal(vocab_tokenize_flags_after(v, VOCAB_TOKEN_NULL), 0);
	assert_int_equal(vocab_tokenize_flags_after(v, 99999), 0);
	assert_int_equal(vocab_tokenize_flags_after(v, 1), 0);
	assert_int_equal(vocab_tokenize_flags_after(v, 15043), VOCAB_TOK_CONTINUE);
	/* An added BOS is what the text follows: CONTINUE has no effect. */
	assert_int_equal(vocab_tokenize_ex(v, "Hello", 5, VOCAB_TOK_ADD_SPECIAL | VOCAB_TOK_CONTINUE, ids, 16), 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 15043);
	assert_int_equal(vocab_tokenize_ex(v, "Hello", 5, VOCAB_TOK_CONTINUE, ids, 16), 1);
	assert_int_equal(ids[0], 10994); /* "Hello" without U+2581 */
	/* CONTINUE only affects the start: text after a special token inside
	 * the same call still gets its prefix. */
	assert_int_equal(vocab_tokenize_ex(v, "Hello</s>Hello", 14,
					   VOCAB_TOK_CONTINUE | VOCAB_TOK_PARSE_SPECIAL, ids, 16), 3);
	assert_int_equal(ids[0], 10994);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 15043);
	/* Bad arguments. */
	assert_int_equal(vocab_tokenize_ex(v, "x", 1, 1u << 9, ids, 16), LT_E_INVAL);
	assert_int_equal(vocab_tokenize_segments(v, NULL, 1, 0, ids, 16), LT_E_INVAL);
	assert_int_equal(vocab_tokenize_segments(v, NULL, 0, VOCAB_TOK_ADD_SPECIAL, ids, 16), 1);
	const struct vocab_segment bad = { NULL, 3, false };
	assert_int_equal(vocab_tokenize_segments(v, &bad, 1, 0, ids, 16), LT_E_INVAL);
	/* Too small a buffer: the count comes back, as with vocab_tokenize. */
	const struct vocab_segment two[] = { { "<s>", 3, true }, { "Hello world", 11, false } };
	assert_int_equal(vocab_tokenize_segments(v, two, 2, 0, ids, 1), 3);
	assert_int_equal(ids[0], 1);
	vocab_free(v);

	v = tu_open_vocab("vocab/ggml-vocab-phi-3.gguf");
	assert_int_equal(vocab_tokenize_flags_after(v, 32007), VOCAB_TOK_AFTER_RSTRIP);
	assert_int_equal(vocab_tokenize_flags_after(v, 1), 0); /* <s> keeps its whitespace */
	/* Whitespace after an RSTRIP token goes, also when it is all there is. */
	assert_int_equal(vocab_tokenize_ex(v, " \n ", 3, VOCAB_TOK_AFTER_RSTRIP, ids, 16), 0);
	assert_int_equal(vocab_tokenize_ex(v, " \n x", 4, VOCAB_TOK_AFTER_RSTRIP, ids, 16), 1);
	assert_int_equal(ids[0], 921); /* " x" with the prefix: the text follows a special token */
	vocab_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segments_at_specials),
		cmocka_unit_test(test_segments_golden),
		cmocka_unit_test(test_segments_plain_cuts),
		cmocka_unit_test(test_tokenize_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
