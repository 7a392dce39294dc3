/* Tokenizers from GGUF metadata, part three: the byte-level BPE
 * pre-tokenizers. tokenizer.ggml.pre names a list of regexes (and a few
 * flags) that cut the text into words before the merges run; every name
 * llama.cpp's loader accepts for a "gpt2" vocab is in the table below, with
 * the regexes written for PCRE2. See vocab.h for the contract.
 *
 * Where llama.cpp runs a regex through its own hand-written splitter (gpt2,
 * llama3, qwen2, kimi-k2, the digit groupers) or through std::regex with
 * Unicode categories squeezed into single bytes, the PCRE2 form here is the
 * one that cuts text the same way; the comments name the few places where
 * that means not using the regex of the model's tokenizer.json. */
#include "vocab_impl.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* ---- regexes ------------------------------------------------------------ */

/* Hugging Face's \s is Unicode White_Space, which adds U+0085 to PCRE2's. */
#define WS "\\s\\x{85}"
#define NOT_WS "[^" WS "]"
/* English contractions, spelled case by case as llama.cpp does: its
 * splitters lower-case with a table that maps no other letter onto these,
 * while PCRE2's (?i) would also fold the long s and the Kelvin sign. */
#define CONTR "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
/* The whitespace alternatives most modern regexes end with. */
#define WS_TAIL "|[" WS "]*[\\r\\n]+|[" WS "]+(?!" NOT_WS ")|[" WS "]+"
/* A run of punctuation and symbols, with an optional space before. */
#define PUNCT " ?[^" WS "\\p{L}\\p{N}]+"
#define ASCII_PUNCT "[!-/:-@\\[-`{-~]"

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+" "|" PUNCT \
	"|[" WS "]+(?!" NOT_WS ")|[" WS "]+"
#define RE_LLAMA3 CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|" PUNCT "[\\r\\n]*" WS_TAIL
#define RE_QWEN2 CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|" PUNCT "[\\r\\n]*" WS_TAIL
#define RE_PORO " ?[^(" WS "|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+"
#define RE_CJK "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"
#define RE_STARCODER_DIGITS "\\p{N}"

/* "Upper" and "lower" letters as llama.cpp's adaptation of the o200k and
 * tekken regexes has them (std::regex knows no \p{Lu}): a letter that is not
 * a-z, and a letter that is not A-Z. So every non-ASCII letter counts as
 * both and "HelloÉcole" stays one word (tokenizer.json would cut it before
 * the É); marks are not letters. */
#define UPPERISH "(?:(?=\\p{L})[^a-z])"
#define LOWERISH "(?:(?=\\p{L})[^A-Z])"
#define RE_TEKKEN "[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "*" LOWERISH "+" \
	"|[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "+" LOWERISH "*" \
	"|\\p{N}|" PUNCT "[\\r\\n/]*" WS_TAIL
#define RE_GPT4O "[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "*" LOWERISH "+" CONTR "?" \
	"|[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "+" LOWERISH "*" CONTR "?" \
	"|\\p{N}{1,3}|" PUNCT "[\\r\\n/]*" WS_TAIL
/* The same with combining marks counted as letters (granite-embed-multi). */
#define UPPERISH_M "(?:(?=[\\p{L}\\p{M}])[^a-z])"
#define LOWERISH_M "(?:(?=[\\p{L}\\p{M}])[^A-Z])"
#define RE_GPT4O_MARKS "[^\\r\\n\\p{L}\\p{N}]?" UPPERISH_M "*" LOWERISH_M "+" CONTR "?" \
	"|[^\\r\\n\\p{L}\\p{N}]?" UPPERISH_M "+" LOWERISH_M "*" CONTR "?" \
	"|\\p{N}{1,3}|" PUNCT "[\\r\\n/]*" WS_TAIL
/* The o200k regex as tokenizer.json writes it (real upper and lower case
 * classes). llama.cpp hands these classes to std::regex, which reads
 * "\p{Lu}" as the letters p, L, u; we keep the intended meaning. */
#define CASED_UPPER "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
#define CASED_LOWER "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"
#define RE_O200K "[^\\r\\n\\p{L}\\p{N}]?" CASED_UPPER "*" CASED_LOWER "+" CONTR "?" \
	"|[^\\r\\n\\p{L}\\p{N}]?" CASED_UPPER "+" CASED_LOWER "*" CONTR "?" \
	"|\\p{N}{1,3}|" PUNCT "[\\r\\n/]*" WS_TAIL

/* Runs of digits cut into threes from the right ("1234567" -> 1|234|567),
 * as llama.cpp's splitter for afmoe and tiny_aya does: it groups every run
 * of \p{N} on its own, even one glued to letters, which tiny_aya's
 * tokenizer.json regex (\d{1,3}(?=(?:\d{3})*\b)) would leave whole. */
#define RE_DIGIT_GROUPS "\\p{N}{1,3}(?=(?:\\p{N}{3})*(?!\\p{N}))"

/* What llama.cpp's kimi-k2 splitter counts as Han. */
#define HAN "[\\x{4E00}-\\x{9FFF}\\x{3400}-\\x{4DBF}\\x{20000}-\\x{2A6DF}\\x{2A700}-\\x{2B73F}" \
	"\\x{2B740}-\\x{2B81F}\\x{2B820}-\\x{2CEAF}\\x{2CEB0}-\\x{2EBEF}\\x{F900}-\\x{FAFF}" \
	"\\x{2F800}-\\x{2FA1F}]"

/* The letters DeepSeek's LLM tokenizer groups into words. */
#define RE_DEEPSEEK_LETTERS "[" WS "]?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}" \
	"\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}" \
	"\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}" \
	"\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}" \
	"\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}" \
	"\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}" \
	"\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}" \
	"\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}" \
	"\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}" \
	"\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}" \
	"\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}" \
	"\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}" \
	"\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}" \
	"\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}" \
	"\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}" \
	"\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+"

#define RE_DEEPSEEK_V3 ASCII_PUNCT "[A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+" \
	"| ?[\\p{P}\\p{S}]+[\\r\\n]*" WS_TAIL

enum { PRE_CLEAN = 1, PRE_NO_CLEAN = 2, PRE_IGNORE_MERGES = 4, PRE_ADD_BOS = 8, PRE_NO_BOS = 16 };

/* A pre-tokenizer: names as in tokenizer.ggml.pre ('|'-separated), flags, and
 * regexes applied one after another, each to the pieces the previous left
 * (text between matches stays a piece of its own). PRE_CLEAN is llama.cpp's
 * default for BPE vocabs; the entries say it anyway so the table reads on
 * its own. */
struct pre_spec {
	const char *names;
	unsigned flags;
	const char *re[VOCAB_MAX_RE];
};

static const struct pre_spec pre_specs[] = {
	{ "default", PRE_CLEAN,
	  { "[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]" } },
	{ "llama3|llama-v3|llama-bpe|falcon3|falcon-h1|pixtral|midm-2.0|lfm2|jina-v5-nano",
	  PRE_CLEAN | PRE_IGNORE_MERGES | PRE_ADD_BOS, { RE_LLAMA3 } },
	{ "dbrx|smaug-bpe", PRE_CLEAN, { RE_LLAMA3 } },
	{ "chatglm-bpe|glm4", PRE_CLEAN | PRE_NO_BOS, { RE_LLAMA3 } },
	{ "jais-2", PRE_CLEAN,
	  { CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|" PUNCT "[\\r\\n]*|[" WS "]*[\\r\\n]+"
	    "|[" WS "]{512}(?!" NOT_WS ")|[" WS "]{256}(?!" NOT_WS ")|[" WS "]{128}(?!" NOT_WS ")"
	    "|[" WS "]{64}(?!" NOT_WS ")|[" WS "]{32}(?!" NOT_WS ")|[" WS "]{16}(?!" NOT_WS ")"
	    "|[" WS "]{8}(?!" NOT_WS ")|[" WS "]{4}(?!" NOT_WS ")|[" WS "]{1,2}(?!" NOT_WS ")|[" WS "]" } },
	{ "minicpm5", PRE_CLEAN | PRE_IGNORE_MERGES,
	  { "\\p{N}{1,3}", CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+|" PUNCT "[\\r\\n]*" WS_TAIL } },
	{ "deepseek-llm", PRE_NO_CLEAN,
	  { "[\\r\\n]", RE_DEEPSEEK_LETTERS,
	    "[" WS "]?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
	    "[" WS "]+$", RE_CJK, "\\p{N}+" } },
	{ "deepseek-v3|hunyuan-dense|joyai-llm", PRE_NO_CLEAN,
	  { "\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+", RE_DEEPSEEK_V3 } },
	{ "deepseek-coder", PRE_NO_CLEAN,
	  { "[\\r\\n]", "[" WS "]?\\p{L}+", "[" WS "]?\\p{P}+", RE_CJK, "\\p{N}" } },
	{ "youtu", PRE_NO_CLEAN | PRE_IGNORE_MERGES,
	  { "[\\x{AC00}-\\x{D7A3}\\x{3131}-\\x{318E}]+"
	    "|[\\x{FF01}\\x{2026}\\x{201C}\\x{201D}\\x{2018}\\x{2019}\\x{2014}\\x{FF1A}\\x{FF1B}\\x{FF0C}"
	    "\\x{3001}-\\x{303F}\\x{FE30}-\\x{FE4F}]+|[\\x{3105}-\\x{312F}]+"
	    "|[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
	    "[^\\r\\n\\p{L}\\p{N}]?" CASED_UPPER "*" CASED_LOWER "+" CONTR "?"
	    "|[^\\r\\n\\p{L}\\p{N}]?" CASED_UPPER "+" CASED_LOWER "*" CONTR "?"
	    "|\\p{N}|" PUNCT "[\\r\\n/]*" WS_TAIL } },
	{ "falcon", PRE_CLEAN, { "[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]" } },
	{ "starcoder|refact|codeshell|exaone|minerva-7b|mellum2", PRE_CLEAN,
	  { RE_STARCODER_DIGITS, RE_GPT2 } },
	{ "command-r|smollm", PRE_NO_CLEAN, { RE_STARCODER_DIGITS, RE_GPT2 } },
	{ "gpt-2|phi-2|jina-es|jina-de|gigachat|jina-v1-en|jina-v2-es|jina-v2-de|jina-v2-code|"
	  "roberta-bpe|a.x-4.0|mellum|modern-bert|exaone4|mpt|olmo|jais", PRE_CLEAN, { RE_GPT2 } },
	{ "trillion|granite-docling", PRE_NO_CLEAN, { RE_GPT2 } },
	{ "qwen2|deepseek-r1-qwen|kormo|f2llmv2|hunyuan|grok-2|solar-open", PRE_NO_CLEAN, { RE_QWEN2 } },
	{ "stablelm2|megrez", PRE_CLEAN, { RE_QWEN2 } },
	{ "qwen35", PRE_NO_CLEAN,
	  { CONTR "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^" WS "\\p{L}\\p{M}\\p{N}]+[\\r\\n]*"
	    WS_TAIL } },
	{ "laguna", PRE_NO_CLEAN, { "[^\\n]+|[\\n]+", RE_QWEN2 } },
	{ "poro-chat", PRE_NO_CLEAN, { RE_PORO } },
	{ "bloom|gpt3-finnish", PRE_CLEAN, { RE_PORO } },
	{ "viking", PRE_NO_CLEAN, { RE_PORO, "\\p{N}" } },
	{ "tekken", PRE_NO_CLEAN | PRE_IGNORE_MERGES | PRE_ADD_BOS, { RE_TEKKEN } },
	{ "gpt-4o|llama4|kanana2|talkie|minimax-m2", PRE_NO_CLEAN, { RE_GPT4O } },
	{ "granite-embed-multi-97m", PRE_NO_CLEAN | PRE_IGNORE_MERGES, { RE_GPT4O_MARKS } },
	{ "tiny_aya|cohere2moe", PRE_NO_CLEAN, { RE_DIGIT_GROUPS, RE_O200K } },
	{ "superbpe", PRE_NO_CLEAN,
	  /* Only cuts around numbers: SuperBPE merges across spaces. Digits
	   * are ASCII here because llama.cpp runs this one through
	   * std::wregex, whose \d is [0-9]. */
	  { "\\p{N}+", "(?=(?:[0-9]{3})+(?![0-9]))" } },
	{ "bailingmoe|bailingmoe2|llada-moe", PRE_NO_CLEAN,
	  /* tokenizer.json has possessive quantifiers (?+ ++); llama.cpp made
	   * them greedy, and so do we. */
	  { "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|" PUNCT
	    "[\\r\\n]*|[" WS "]*[\\r\\n]|[" WS "]+(?!" NOT_WS ")|[" WS "]+" } },
	{ "seed-coder", PRE_NO_CLEAN,
	  { CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^" WS "\\p{L}\\p{N}\\r\\n]+" WS_TAIL } },
	{ "kimi-k2", PRE_NO_CLEAN,
	  /* tokenizer.json splits letters into upper/lower runs minus Han;
	   * llama.cpp's splitter (which we follow) takes any run of non-Han
	   * letters as one word. */
	  { HAN "+|[^\\r\\n\\p{L}\\p{N}]?(?:(?!" HAN ")\\p{L})+" CONTR "?|\\p{N}{1,3}|" PUNCT "[\\r\\n]*"
	    WS_TAIL } },
	{ "afmoe", PRE_NO_CLEAN,
	  { RE_DIGIT_GROUPS,
	    "[\\x{4E00}-\\x{9FFF}\\x{3400}-\\x{4DBF}\\x{8C48}-\\x{FAFF}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}"
	    "\\x{FF65}-\\x{FF9F}\\x{2F00}-\\x{2FDF}\\x{E40}-\\x{E7F}\\x{E80}-\\x{EFF}\\x{1780}-\\x{17FF}"
	    "\\x{1000}-\\x{109F}\\x{AA60}-\\x{AA7F}\\x{A9E0}-\\x{A9FF}\\x{AC00}-\\x{D7AF}\\x{1100}-\\x{11FF}]+",
	    RE_DEEPSEEK_V3 } },
	{ "exaone-moe", PRE_CLEAN,
	  /* A word may hold single spaces between letters. */
	  { CONTR "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}|" PUNCT "[\\r\\n/]?"
	    "|[" WS "]*[\\r\\n]|[" WS "]+(?!" NOT_WS ")|[" WS "]+" } },
	{ "chameleon", PRE_NO_CLEAN | PRE_ADD_BOS,
	  { "<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
	    "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2 } },
};

static bool name_in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && memcmp(p, name, n) == 0)
			return true;
		if (!bar)
			break;
		p = bar + 1;
	}
	return false;
}

int vocab_pre_init(struct vocab *v, const char *file, char *err, size_t errlen)
{
	const struct pre_spec *spec = NULL;
	for (size_t i = 0; i < sizeof(pre_specs) / sizeof(pre_specs[0]) && !spec; i++)
		if (name_in_list(pre_specs[i].names, v->pre))
			spec = &pre_specs[i];
	if (!spec)
		return lt_seterr(err, errlen, LT_E_UNSUPPORTED, "%s: unknown pre-tokenizer '%s'", file,
				 v->pre);
	v->clean_spaces = !(spec->flags & PRE_NO_CLEAN);
	v->ignore_merges = spec->flags & PRE_IGNORE_MERGES;
	v->add_bos = spec->flags & PRE_ADD_BOS;
	if (spec->flags & PRE_NO_BOS)
		v->bos = VOCAB_TOKEN_NULL;
	for (int i = 0; i < VOCAB_MAX_RE && spec->re[i]; i++) {
		int code;
		PCRE2_SIZE at;
		v->re[i] = pcre2_compile((PCRE2_SPTR)spec->re[i], PCRE2_ZERO_TERMINATED,
					 PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &code, &at, NULL);
		if (!v->re[i]) {
			PCRE2_UCHAR msg[120];
			pcre2_get_error_message(code, msg, sizeof(msg));
			return lt_seterr(err, errlen, LT_E_UNSUPPORTED,
					 "%s: pre-tokenizer '%s' regex %d: %s at offset %zu",
					 file, v->pre, i, (const char *)msg, (size_t)at);
		}
		/* JIT is an optimisation only; the interpreter is the fallback. */
		pcre2_jit_compile(v->re[i], PCRE2_JIT_COMPLETE);
		v->n_re = i + 1;
	}
	return 0;
}

void vocab_pre_free(struct vocab *v)
{
	for (int i = 0; i < v->n_re; i++)
		pcre2_code_free(v->re[i]);
	v->n_re = 0;
}

/* ---- splitting ------------------------------------------------------------ */

struct spans {
	struct vocab_span *a;
	size_t n, cap;
};

static int spans_add(struct spans *s, size_t off, size_t len)
{
	if (!len)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct vocab_span *a = realloc(s->a, cap * sizeof(*a));
		if (!a)
			return LT_E_NOMEM;
		s->a = a, s->cap = cap;
	}
	s->a[s->n++] = (struct vocab_span){ (uint32_t)off, (uint32_t)len };
	return 0;
}

static int match_at(const pcre2_code *re, pcre2_match_data *md, const char *sub, size_t n,
		    size_t pos, uint32_t opts)
{
	int m = pcre2_match(re, (PCRE2_SPTR)sub, n, pos, opts | PCRE2_NO_UTF_CHECK, md, NULL);
	if (m == PCRE2_ERROR_JIT_STACKLIMIT)
		m = pcre2_match(re, (PCRE2_SPTR)sub, n, pos, opts | PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
	return m;
}

/* Cuts every span of in by re into out: matches and the gaps between them
 * both become spans. Each span is matched on its own, so lookarounds stop at
 * its ends, as with llama.cpp's per-piece regex iteration. An empty match
 * (superbpe's lookahead-only regex) cuts where it stands; the search then
 * goes on as Python's finditer does: a non-empty match may start at the same
 * place, else one character later. */
static int pre_split(const pcre2_code *re, pcre2_match_data *md, const char *s,
		     const struct spans *in, struct spans *out)
{
	out->n = 0;
	int rc = 0;
	for (size_t k = 0; k < in->n && !rc; k++) {
		const char *sub = s + in->a[k].off;
		size_t n = in->a[k].len, pos = 0, last = 0;
		bool after_empty = false;
		while (pos <= n && !rc) {
			int m = match_at(re, md, sub, n, pos,
					 after_empty ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0);
			if (m < 0 && after_empty) {
				/* Nothing non-empty here: look again one character on. */
				after_empty = false;
				if (pos >= n)
					break;
				pos += vocab_utf8_len((uint8_t)sub[pos]);
				continue;
			}
			if (m < 0)
				break; /* no match (or a limit hit): the rest stays one span */
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			size_t a = ov[0], b = ov[1];
			if ((rc = spans_add(out, in->a[k].off + last, a - last)) == 0)
				rc = spans_add(out, in->a[k].off + a, b - a);
			pos = last = b;
			after_empty = a == b;
		}
		if (!rc)
			rc = spans_add(out, in->a[k].off + last, n - last);
	}
	return rc;
}

int vocab_pre_cut(const struct vocab *v, const char *s, size_t n, struct vocab_span **out,
		  size_t *n_out)
{
	struct spans sp[2] = { { 0 }, { 0 } };
	pcre2_match_data *md = NULL;
	int cur = 0, rc = LT_E_NOMEM;
	*out = NULL;
	*n_out = 0;
	if (n > UINT32_MAX || spans_add(&sp[0], 0, n))
		goto out;
	/* Room for every group of every pre-tokenizer regex. */
	if (!(md = pcre2_match_data_create(16, NULL)))
		goto out;
	for (int i = 0; i < v->n_re; i++) {
		if (pre_split(v->re[i], md, s, &sp[cur], &sp[!cur]))
			goto out;
		cur = !cur;
	}
	*out = sp[cur].a;
	*n_out = sp[cur].n;
	sp[cur].a = NULL;
	rc = 0;
out:
	pcre2_match_data_free(md);
	free(sp[0].a);
	free(sp[1].a);
	return rc;
}

int vocab_pre_split(const struct vocab *v, const char *text, size_t len, size_t *ends, int n_max)
{
	if (v->type != VOCAB_TYPE_BPE)
		return LT_E_UNSUPPORTED;
	if ((!text && len) || n_max < 0 || (!ends && n_max) || len > UINT32_MAX / 4 ||
	    !utf8_valid(text ? text : "", len))
		return LT_E_INVAL;
	struct vocab_span *sp;
	size_t n;
	int rc = vocab_pre_cut(v, text ? text : "", len, &sp, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && i < (size_t)n_max; i++)
		ends[i] = sp[i].off + sp[i].len;
	free(sp);
	return n > INT32_MAX ? LT_E_RANGE : (int)n;
}
