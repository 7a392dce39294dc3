/* BPE pre-tokenizer tests: every tokenizer.ggml.pre name llama.cpp's loader
 * accepts for a "gpt2" vocab opens with llama.cpp's flags (clean-up of
 * spaces, ignore_merges, add_bos, no BOS), and the pre-tokenizers of today's
 * models cut tricky text (contractions, 1-7 digit numbers, CJK, Hangul,
 * newlines, runs of spaces, emoji, accented letters, code) into the same
 * words as llama.cpp. The vocabs are synthetic (256 byte tokens), built here,
 * so no model file is needed. */
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

/* The character GPT-2's byte-level BPE writes for byte b, as UTF-8. */
static size_t byte_char(unsigned b, char *o)
{
	unsigned cp = b;
	if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE))
		cp = 256 + (b <= 0x20 ? b : b <= 0xA0 ? 33 + (b - 0x7F) : 67);
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	o[0] = (char)(0xC0 | (cp >> 6));
	o[1] = (char)(0x80 | (cp & 0x3F));
	return 2;
}

/* A gpt2-type vocab with the given pre-tokenizer: the 256 byte tokens, then
 * "ab" (id 256), which no merge builds, so only ignore_merges finds it. */
static int open_bpe(const char *pre, struct vocab **out, char *err, size_t errlen)
{
	static char names[256][3];
	const char *toks[257];
	for (unsigned b = 0; b < 256; b++) {
		names[b][byte_char(b, names[b])] = '\0';
		toks[b] = names[b];
	}
	toks[256] = "ab";
	const char *merges[] = { "x y" };
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	gguf_writer_set_str(w, "general.architecture", "llama");
	gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
	gguf_writer_set_str(w, "tokenizer.ggml.pre", pre);
	gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 257);
	gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, 1);
	return tu_vocab_from_writer(w, "vocab-pre", out, err, errlen);
}

enum { CLEAN = 1, IGNORE_MERGES = 2, ADD_BOS = 4, NO_BOS = 8 };

/* Every name llama.cpp's llama-vocab.cpp maps to a pre-tokenizer for "gpt2"
 * vocabs, with the flags it sets (clean_spaces is on unless it turns it
 * off). */
static const struct {
	const char *name;
	unsigned flags;
} names[] = {
	{ "default", CLEAN }, { "minicpm5", CLEAN | IGNORE_MERGES },
	{ "llama3", CLEAN | IGNORE_MERGES | ADD_BOS }, { "llama-v3", CLEAN | IGNORE_MERGES | ADD_BOS },
	{ "llama-bpe", CLEAN | IGNORE_MERGES | ADD_BOS }, { "falcon3", CLEAN | IGNORE_MERGES | ADD_BOS },
	{ "falcon-h1", CLEAN | IGNORE_MERGES | ADD_BOS }, { "pixtral", CLEAN | IGNORE_MERGES | ADD_BOS },
	{ "midm-2.0", CLEAN | IGNORE_MERGES | ADD_BOS }, { "lfm2", CLEAN | IGNORE_MERGES | ADD_BOS },
	{ "jina-v5-nano", CLEAN | IGNORE_MERGES | ADD_BOS },
	{ "deepseek-llm", 0 }, { "deepseek-coder", 0 }, { "deepseek-v3", 0 },
	{ "youtu", IGNORE_MERGES }, { "falcon", CLEAN }, { "mpt", CLEAN }, { "starcoder", CLEAN },
	{ "gpt-2", CLEAN }, { "phi-2", CLEAN }, { "jina-es", CLEAN }, { "jina-de", CLEAN },
	{ "gigachat", CLEAN }, { "jina-v2-es", CLEAN }, { "jina-v2-de", CLEAN }, { "a.x-4.0", CLEAN },
	{ "mellum", CLEAN }, { "modern-bert", CLEAN }, { "jais-2", CLEAN }, { "jina-v1-en", CLEAN },
	{ "jina-v2-code", CLEAN }, { "roberta-bpe", CLEAN }, { "refact", CLEAN }, { "command-r", 0 },
	{ "qwen2", 0 }, { "deepseek-r1-qwen", 0 }, { "kormo", 0 }, { "f2llmv2", 0 }, { "qwen35", 0 },
	{ "stablelm2", CLEAN }, { "olmo", CLEAN }, { "dbrx", CLEAN }, { "smaug-bpe", CLEAN },
	{ "poro-chat", 0 }, { "glm4", CLEAN | NO_BOS }, { "chatglm-bpe", CLEAN | NO_BOS },
	{ "viking", 0 }, { "jais", CLEAN }, { "tekken", IGNORE_MERGES | ADD_BOS }, { "smollm", 0 },
	{ "codeshell", CLEAN }, { "bloom", CLEAN }, { "gpt3-finnish", CLEAN }, { "exaone", CLEAN },
	{ "exaone4", CLEAN }, { "exaone-moe", CLEAN }, { "chameleon", ADD_BOS }, { "minerva-7b", CLEAN },
	{ "megrez", CLEAN }, { "gpt-4o", 0 }, { "llama4", 0 }, { "kanana2", 0 }, { "talkie", 0 },
	{ "granite-embed-multi-97m", IGNORE_MERGES }, { "tiny_aya", 0 }, { "cohere2moe", 0 },
	{ "superbpe", 0 }, { "trillion", 0 }, { "granite-docling", 0 }, { "bailingmoe", 0 },
	{ "bailingmoe2", 0 }, { "llada-moe", 0 }, { "seed-coder", 0 }, { "hunyuan", 0 },
	{ "hunyuan-dense", 0 }, { "joyai-llm", 0 }, { "kimi-k2", 0 }, { "grok-2", 0 }, { "afmoe", 0 },
	{ "laguna", 0 }, { "minimax-m2", 0 }, { "solar-open", 0 }, { "mellum2", CLEAN },
};

static void test_all_names(void **state)
{
	(void)state;
	char err[256];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct vocab *v;
		unsigned f = names[i].flags;
		if (open_bpe(names[i].name, &v, err, sizeof(err)) != 0)
			fail_msg("%s: %s", names[i].name, err);
		assert_string_equal(vocab_pre(v), names[i].name);
		assert_int_equal(vocab_add_bos(v), (f & ADD_BOS) != 0);
		/* The default BOS of gpt2 vocabs is id 11; glm4 has none. */
		assert_int_equal(vocab_bos(v), (f & NO_BOS) ? -1 : 11);
		int32_t ids[8];
		int n = vocab_tokenize(v, "ab", 2, false, false, ids, 8);
		if (n != ((f & IGNORE_MERGES) ? 1 : 2))
			fail_msg("%s: \"ab\" gives %d tokens", names[i].name, n);
		char out[16];
		n = vocab_tokenize(v, "a ,", 3, false, false, ids, 8);
		assert_int_equal(n, 3);
		vocab_detokenize(v, ids, n, out, sizeof(out), false, false);
		assert_string_equal(out, (f & CLEAN) ? "a," : "a ,");
		vocab_free(v);
	}
	/* SPM-style BPE (Gemma 4, Sarvam) and the "whitespace" vocab are not
	 * implemented; unknown names are refused, naming the file. */
	static const char *const refused[] = { "gemma4", "granite-embed-multi-311m", "sarvam-moe",
					       "whitespace", "no-such-pre" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct vocab *v;
		assert_int_equal(open_bpe(refused[i], &v, err, sizeof(err)), LT_E_UNSUPPORTED);
		assert_null(v);
		assert_non_null(strstr(err, refused[i]));
		assert_non_null(strstr(err, "/tmp/lt-vocab-pre-"));
	}
}

/* The test strings; no piece of them contains '|', which separates the
 * expected pieces below. */
static const char *const texts[] = {
	"I'm can't WE'LL they've",
	"1 12 123 1234 12345 1234567",
	"中文字符 and 日本語のテキスト",
	"line1\nline2\r\n\n  indented",
	"a  b   c    ",
	"emoji 😀👍🏽!!",
	"café naïve Ñandú ÉCOLE HelloÉcole",
	"x = foo(bar) + 42; // done",
	"안녕하세요 ㄱㄴ",
};

/* The pieces each pre-tokenizer makes of texts[i], as Python's `regex`
 * module gives them when the pre-tokenizer's regexes are applied in turn,
 * each to every piece the previous one left (text between two matches is a
 * piece too, an empty match cuts where it stands), which is how llama.cpp
 * applies them. The regexes used for that are llama.cpp's: tokenizer.json's
 * own, except
 * - gpt-4o, tekken, granite-embed-multi: llama.cpp's std::regex rewrite,
 *   where "upper" is a letter other than a-z and "lower" one other than A-Z,
 *   so " ÉCOLE" becomes " É" + "COLE" and "HelloÉcole" stays whole;
 * - kimi-k2: llama.cpp's hand-written splitter, which takes any run of
 *   non-Han letters as one word ("HelloÉcole" whole);
 * - tiny_aya, afmoe: digit runs cut into threes from the right, whatever
 *   surrounds them (llama.cpp's splitter);
 * - superbpe: [0-9] for \d (std::wregex).
 * The contractions are case-insensitive in all of them ("WE'LL"). */
static const struct {
	const char *pre;
	int text;
	const char *pieces;
} cases[] = {
	/* llama3 */
	{ "llama3", 0, "I|'m| can|'t| WE|'LL| they|'ve" },
	{ "llama3", 1, "1| |12| |123| |123|4| |123|45| |123|456|7" },
	{ "llama3", 2, "中文字符| and| 日本語のテキスト" },
	{ "llama3", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "llama3", 4, "a| | b|  | c|    " },
	{ "llama3", 5, "emoji| 😀👍🏽!!" },
	{ "llama3", 6, "café| naïve| Ñandú| ÉCOLE| HelloÉcole" },
	{ "llama3", 7, "x| =| foo|(bar|)| +| |42|;| //| done" },
	{ "llama3", 8, "안녕하세요| ㄱㄴ" },
	/* qwen2 */
	{ "qwen2", 0, "I|'m| can|'t| WE|'LL| they|'ve" },
	{ "qwen2", 1, "1| |1|2| |1|2|3| |1|2|3|4| |1|2|3|4|5| |1|2|3|4|5|6|7" },
	{ "qwen2", 2, "中文字符| and| 日本語のテキスト" },
	{ "qwen2", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "qwen2", 4, "a| | b|  | c|    " },
	{ "qwen2", 5, "emoji| 😀👍🏽!!" },
	{ "qwen2", 6, "café| naïve| Ñandú| ÉCOLE| HelloÉcole" },
	{ "qwen2", 7, "x| =| foo|(bar|)| +| |4|2|;| //| done" },
	{ "qwen2", 8, "안녕하세요| ㄱㄴ" },
	/* qwen35 */
	{ "qwen35", 0, "I|'m| can|'t| WE|'LL| they|'ve" },
	{ "qwen35", 1, "1| |1|2| |1|2|3| |1|2|3|4| |1|2|3|4|5| |1|2|3|4|5|6|7" },
	{ "qwen35", 2, "中文字符| and| 日本語のテキスト" },
	{ "qwen35", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "qwen35", 4, "a| | b|  | c|    " },
	{ "qwen35", 5, "emoji| 😀👍🏽!!" },
	{ "qwen35", 6, "café| naïve| Ñandú| ÉCOLE| HelloÉcole" },
	{ "qwen35", 7, "x| =| foo|(bar|)| +| |4|2|;| //| done" },
	{ "qwen35", 8, "안녕하세요| ㄱㄴ" },
	/* gpt-4o */
	{ "gpt-4o", 0, "I'm| can't| WE'LL| they've" },
	{ "gpt-4o", 1, "1| |12| |123| |123|4| |123|45| |123|456|7" },
	{ "gpt-4o", 2, "中文字符| and| 日本語のテキスト" },
	{ "gpt-4o", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "gpt-4o", 4, "a| | b|  | c|    " },
	{ "gpt-4o", 5, "emoji| 😀👍🏽!!" },
	{ "gpt-4o", 6, "café| naïve| Ñandú| É|COLE| HelloÉcole" },
	{ "gpt-4o", 7, "x| =| foo|(bar|)| +| |42|;| //| done" },
	{ "gpt-4o", 8, "안녕하세요| ㄱㄴ" },
	/* granite-embed-multi-97m */
	{ "granite-embed-multi-97m", 0, "I'm| can't| WE'LL| they've" },
	{ "granite-embed-multi-97m", 1, "1| |12| |123| |123|4| |123|45| |123|456|7" },
	{ "granite-embed-multi-97m", 2, "中文字符| and| 日本語のテキスト" },
	{ "granite-embed-multi-97m", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "granite-embed-multi-97m", 4, "a| | b|  | c|    " },
	{ "granite-embed-multi-97m", 5, "emoji| 😀👍🏽!!" },
	{ "granite-embed-multi-97m", 6, "café| naïve| Ñandú| É|COLE| HelloÉcole" },
	{ "granite-embed-multi-97m", 7, "x| =| foo|(bar|)| +| |42|;| //| done" },
	{ "granite-embed-multi-97m", 8, "안녕하세요| ㄱㄴ" },
	/* tekken */
	{ "tekken", 0, "I|'m| can|'t| WE|'LL| they|'ve" },
	{ "tekken", 1, "1| |1|2| |1|2|3| |1|2|3|4| |1|2|3|4|5| |1|2|3|4|5|6|7" },
	{ "tekken", 2, "中文字符| and| 日本語のテキスト" },
	{ "tekken", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "tekken", 4, "a| | b|  | c|    " },
	{ "tekken", 5, "emoji| 😀👍🏽!!" },
	{ "tekken", 6, "café| naïve| Ñandú| É|COLE| HelloÉcole" },
	{ "tekken", 7, "x| =| foo|(bar|)| +| |4|2|;| //| done" },
	{ "tekken", 8, "안녕하세요| ㄱㄴ" },
	/* kimi-k2 */
	{ "kimi-k2", 0, "I'm| can't| WE'LL| they've" },
	{ "kimi-k2", 1, "1| |12| |123| |123|4| |123|45| |123|456|7" },
	{ "kimi-k2", 2, "中文字符| and| |日本語|のテキスト" },
	{ "kimi-k2", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "kimi-k2", 4, "a| | b|  | c|    " },
	{ "kimi-k2", 5, "emoji| 😀👍🏽!!" },
	{ "kimi-k2", 6, "café| naïve| Ñandú| ÉCOLE| HelloÉcole" },
	{ "kimi-k2", 7, "x| =| foo|(bar|)| +| |42|;| //| done" },
	{ "kimi-k2", 8, "안녕하세요| ㄱㄴ" },
	/* tiny_aya */
	{ "tiny_aya", 0, "I'm| can't| WE'LL| they've" },
	{ "tiny_aya", 1, "1| |12| |123| |1|234| |12|345| |1|234|567" },
	{ "tiny_aya", 2, "中文字符| and| 日本語のテキスト" },
	{ "tiny_aya", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "tiny_aya", 4, "a| | b|  | c|    " },
	{ "tiny_aya", 5, "emoji| 😀👍🏽!!" },
	{ "tiny_aya", 6, "café| naïve| Ñandú| ÉCOLE| Hello|École" },
	{ "tiny_aya", 7, "x| =| foo|(bar|)| +| |42|;| //| done" },
	{ "tiny_aya", 8, "안녕하세요| ㄱㄴ" },
	/* afmoe */
	{ "afmoe", 0, "I|'m| can|'t| WE|'LL| they|'ve" },
	{ "afmoe", 1, "1| |12| |123| |1|234| |12|345| |1|234|567" },
	{ "afmoe", 2, "中文字符| and| |日本語のテキスト" },
	{ "afmoe", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "afmoe", 4, "a| | b|  | c|    " },
	{ "afmoe", 5, "emoji| 😀👍🏽!!" },
	{ "afmoe", 6, "café| naïve| Ñandú| ÉCOLE| HelloÉcole" },
	{ "afmoe", 7, "x| =| foo|(bar|)| +| |42|;| //| done" },
	{ "afmoe", 8, "안녕하세요| ㄱㄴ" },
	/* superbpe */
	{ "superbpe", 0, "I'm can't WE'LL they've" },
	{ "superbpe", 1, "1| |12| |123| |1|234| |12|345| |1|234|567" },
	{ "superbpe", 2, "中文字符 and 日本語のテキスト" },
	{ "superbpe", 3, "line|1|\nline|2|\r\n\n  indented" },
	{ "superbpe", 4, "a  b   c    " },
	{ "superbpe", 5, "emoji 😀👍🏽!!" },
	{ "superbpe", 6, "café naïve Ñandú ÉCOLE HelloÉcole" },
	{ "superbpe", 7, "x = foo(bar) + |42|; // done" },
	{ "superbpe", 8, "안녕하세요 ㄱㄴ" },
	/* bailingmoe */
	{ "bailingmoe", 0, "I|'m| can|'t| WE|'LL| they|'ve" },
	{ "bailingmoe", 1, "1| |1|2| |1|2|3| |1|2|3|4| |1|2|3|4|5| |1|2|3|4|5|6|7" },
	{ "bailingmoe", 2, "中文字符| and| 日本語のテキスト" },
	{ "bailingmoe", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "bailingmoe", 4, "a| | b|  | c|    " },
	{ "bailingmoe", 5, "emoji| 😀👍🏽!!" },
	{ "bailingmoe", 6, "café| naïve| Ñandú| ÉCOLE| HelloÉcole" },
	{ "bailingmoe", 7, "x| =| foo|(bar|)| +| |4|2|;| //| done" },
	{ "bailingmoe", 8, "안녕하세요| ㄱㄴ" },
	/* seed-coder */
	{ "seed-coder", 0, "I|'m| can|'t| WE|'LL| they|'ve" },
	{ "seed-coder", 1, "1| |1|2| |1|2|3| |1|2|3|4| |1|2|3|4|5| |1|2|3|4|5|6|7" },
	{ "seed-coder", 2, "中文字符| and| 日本語のテキスト" },
	{ "seed-coder", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "seed-coder", 4, "a| | b|  | c|    " },
	{ "seed-coder", 5, "emoji| 😀👍🏽!!" },
	{ "seed-coder", 6, "café| naïve| Ñandú| ÉCOLE| HelloÉcole" },
	{ "seed-coder", 7, "x| =| foo|(bar|)| +| |4|2|;| //| done" },
	{ "seed-coder", 8, "안녕하세요| ㄱㄴ" },
	/* exaone-moe */
	{ "exaone-moe", 0, "I|'m| can|'t| WE|'LL| they|'ve" },
	{ "exaone-moe", 1, "1| |1|2| |1|2|3| |1|2|3|4| |1|2|3|4|5| |1|2|3|4|5|6|7" },
	{ "exaone-moe", 2, "中文字符 and 日本語のテキスト" },
	{ "exaone-moe", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "exaone-moe", 4, "a| | b|  | c|    " },
	{ "exaone-moe", 5, "emoji| 😀👍🏽!!" },
	{ "exaone-moe", 6, "café naïve Ñandú ÉCOLE HelloÉcole" },
	{ "exaone-moe", 7, "x| =| foo|(bar|)| +| |4|2|;| //| done" },
	{ "exaone-moe", 8, "안녕하세요 ㄱㄴ" },
	/* minicpm5 */
	{ "minicpm5", 0, "I|'m| can|'t| WE|'LL| they|'ve" },
	{ "minicpm5", 1, "1| |12| |123| |123|4| |123|45| |123|456|7" },
	{ "minicpm5", 2, "中文字符| and| 日本語のテキスト" },
	{ "minicpm5", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "minicpm5", 4, "a| | b|  | c|    " },
	{ "minicpm5", 5, "emoji| 😀👍🏽!!" },
	{ "minicpm5", 6, "café| naïve| Ñandú| ÉCOLE| HelloÉcole" },
	{ "minicpm5", 7, "x| =| foo|(bar|)| +| |42|;| //| done" },
	{ "minicpm5", 8, "안녕하세요| ㄱㄴ" },
	/* laguna */
	{ "laguna", 0, "I|'m| can|'t| WE|'LL| they|'ve" },
	{ "laguna", 1, "1| |1|2| |1|2|3| |1|2|3|4| |1|2|3|4|5| |1|2|3|4|5|6|7" },
	{ "laguna", 2, "中文字符| and| 日本語のテキスト" },
	{ "laguna", 3, "line|1|\n|line|2|\r|\n\n| | indented" },
	{ "laguna", 4, "a| | b|  | c|    " },
	{ "laguna", 5, "emoji| 😀👍🏽!!" },
	{ "laguna", 6, "café| naïve| Ñandú| ÉCOLE| HelloÉcole" },
	{ "laguna", 7, "x| =| foo|(bar|)| +| |4|2|;| //| done" },
	{ "laguna", 8, "안녕하세요| ㄱㄴ" },
	/* jais-2 */
	{ "jais-2", 0, "I|'m| can|'t| WE|'LL| they|'ve" },
	{ "jais-2", 1, "1| |12| |123| |123|4| |123|45| |123|456|7" },
	{ "jais-2", 2, "中文字符| and| 日本語のテキスト" },
	{ "jais-2", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "jais-2", 4, "a| | b|  | c|    " },
	{ "jais-2", 5, "emoji| 😀👍🏽!!" },
	{ "jais-2", 6, "café| naïve| Ñandú| ÉCOLE| HelloÉcole" },
	{ "jais-2", 7, "x| =| foo|(bar|)| +| |42|;| //| done" },
	{ "jais-2", 8, "안녕하세요| ㄱㄴ" },
	/* youtu */
	{ "youtu", 0, "I'm| can't| WE'LL| they've" },
	{ "youtu", 1, "1| |1|2| |1|2|3| |1|2|3|4| |1|2|3|4|5| |1|2|3|4|5|6|7" },
	{ "youtu", 2, "中文字符| and| |日本語のテキスト" },
	{ "youtu", 3, "line|1|\n|line|2|\r\n\n| | indented" },
	{ "youtu", 4, "a| | b|  | c|    " },
	{ "youtu", 5, "emoji| 😀👍🏽!!" },
	{ "youtu", 6, "café| naïve| Ñandú| ÉCOLE| Hello|École" },
	{ "youtu", 7, "x| =| foo|(bar|)| +| |4|2|;| //| done" },
	{ "youtu", 8, "안녕하세요| |ㄱㄴ" },
};

/* Splits "a|b|c" into a list of end offsets. */
static int expected_ends(const char *pieces, size_t *ends, int max)
{
	int n = 0;
	size_t k = 0;
	for (const char *p = pieces;; p++) {
		if (*p == '|' || !*p) {
			assert_true(n < max);
			ends[n++] = k;
			if (!*p)
				break;
		} else {
			k++;
		}
	}
	return n;
}

static void test_splits(void **state)
{
	(void)state;
	char err[256];
	struct vocab *v = NULL;
	const char *open_pre = "";
	int bad = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(open_pre, cases[i].pre) != 0) {
			vocab_free(v);
			if (open_bpe(cases[i].pre, &v, err, sizeof(err)) != 0)
				fail_msg("%s", err);
			open_pre = cases[i].pre;
		}
		const char *t = texts[cases[i].text];
		size_t want[64], got[64];
		int nw = expected_ends(cases[i].pieces, want, 64);
		int ng = vocab_pre_split(v, t, strlen(t), got, 64);
		if (ng == nw && memcmp(got, want, (size_t)ng * sizeof(*got)) == 0)
			continue;
		bad++;
		printf("%s text %d: want %s\n  got:  ", cases[i].pre, cases[i].text, cases[i].pieces);
		for (int j = 0; j < ng && j < 64; j++)
			printf("%.*s|", (int)(got[j] - (j ? got[j - 1] : 0)), t + (j ? got[j - 1] : 0));
		printf("\n");
	}
	vocab_free(v);
	assert_int_equal(bad, 0);
}

/* Whatever the split, byte-level BPE gives the text back. */
static void test_round_trip(void **state)
{
	(void)state;
	char err[256];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct vocab *v;
		assert_int_equal(open_bpe(names[i].name, &v, err, sizeof(err)), 0);
		for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
			int32_t ids[256];
			char out[256];
			int n = vocab_tokenize(v, texts[k], strlen(texts[k]), false, false, ids, 256);
			assert_true(n > 0 && n <= 256);
			/* Detokenizing without the clean-up is a byte-exact join. */
			size_t len = 0;
			for (int j = 0; j < n; j++) {
				int m = vocab_token_to_piece(v, ids[j], out + len, sizeof(out) - len, false);
				assert_true(m >= 0);
				len += (size_t)m;
			}
			if (len != strlen(texts[k]) || memcmp(out, texts[k], len) != 0)
				fail_msg("%s: text %zu does not come back", names[i].name, k);
		}
		vocab_free(v);
	}
}

static void test_split_api(void **state)
{
	(void)state;
	char err[256];
	struct vocab *v;
	assert_int_equal(open_bpe("qwen2", &v, err, sizeof(err)), 0);
	size_t ends[4];
	/* Too small a buffer: the count comes back, the first ends are written. */
	assert_int_equal(vocab_pre_split(v, "a b c d e", 9, ends, 2), 5);
	assert_int_equal(ends[0], 1);
	assert_int_equal(ends[1], 3);
	assert_int_equal(vocab_pre_split(v, "a b c d e", 9, NULL, 0), 5);
	assert_int_equal(vocab_pre_split(v, "", 0, ends, 4), 0);
	assert_int_equal(vocab_pre_split(v, "a\xFF", 2, ends, 4), LT_E_INVAL);
	assert_int_equal(vocab_pre_split(v, "a", 1, NULL, 1), LT_E_INVAL);
	vocab_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_names),
		cmocka_unit_test(test_splits),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_split_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
