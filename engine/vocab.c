/* Tokenizers from GGUF metadata. See vocab.h for the contract.
 *
 * The algorithms follow llama.cpp's llama-vocab.cpp so ids match it exactly:
 * SPM merges adjacent symbols by the best token score, BPE by the lowest merge
 * rank after a regex pre-tokenizer split, and text matching special tokens is
 * cut out first, longest token first. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "vocab.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOCAB_MAX_RE 8
/* Room for the name given to an empty token, "[EMPTY_<id>]" with a 9-digit id. */
#define EMPTY_NAME_MAX 24
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* GGUF token_type values. */
enum { TT_UNDEFINED, TT_NORMAL, TT_UNKNOWN, TT_CONTROL, TT_USER_DEFINED, TT_UNUSED, TT_BYTE };

struct vocab_token {
	uint32_t off, len;             /* text in v->text */
	uint32_t piece_off, piece_len; /* bytes in v->pieces (special form) */
	float score;
	unsigned attr;                 /* enum vocab_attr bits */
};

struct vocab {
	enum vocab_type type;
	char pre[64];
	int32_t n_tokens;
	struct vocab_token *tok; /* (n_tokens) */
	char *text;              /* every token text, NUL-terminated, back to back */
	char *pieces;            /* every token's piece, back to back */
	int32_t *map;            /* open-addressing table: token text -> id, -1 empty */
	uint32_t map_mask;

	int32_t n_merges;
	char *merge_text;        /* merge lines "left right", NUL-terminated */
	uint32_t *merge_off;     /* (n_merges) */
	uint32_t *merge_len;     /* (n_merges) */
	int32_t *merge_map;      /* merge line -> rank, -1 empty */
	uint32_t merge_mask;

	int32_t *special;        /* control / user-defined / unknown ids, longest first */
	int n_special;
	int32_t byte_tok[256];   /* SPM: the <0xXX> token of each byte */

	int32_t bos, eos, eot, eom, unk, sep, pad, nl;
	bool add_bos, add_eos, add_space_prefix, clean_spaces, ignore_merges;
	char *chat_template;

	pcre2_code *re[VOCAB_MAX_RE];
	int n_re;
};

/* ---- hashing ---------------------------------------------------------- */

static uint32_t fnv1a(const char *s, size_t n, uint32_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

#define FNV_SEED 2166136261u

static uint32_t table_size(uint32_t n)
{
	uint32_t cap = 16;
	while (cap < n * 2u)
		cap <<= 1;
	return cap;
}

int32_t vocab_find(const struct vocab *v, const char *text, size_t len)
{
	if (!v->map)
		return VOCAB_TOKEN_NULL;
	for (uint32_t i = fnv1a(text, len, FNV_SEED) & v->map_mask;; i = (i + 1) & v->map_mask) {
		int32_t id = v->map[i];
		if (id < 0)
			return VOCAB_TOKEN_NULL;
		const struct vocab_token *t = &v->tok[id];
		if (t->len == len && memcmp(v->text + t->off, text, len) == 0)
			return id;
	}
}

/* The rank of merging a with b, or -1. Merge lines are stored as "a b", and
 * symbols never hold a raw space (bytes are mapped to printable characters),
 * so the line identifies the pair. */
static int32_t merge_rank(const struct vocab *v, const char *a, size_t an, const char *b, size_t bn)
{
	uint32_t h = fnv1a(b, bn, fnv1a(" ", 1, fnv1a(a, an, FNV_SEED)));
	for (uint32_t i = h & v->merge_mask;; i = (i + 1) & v->merge_mask) {
		int32_t r = v->merge_map[i];
		if (r < 0)
			return -1;
		const char *m = v->merge_text + v->merge_off[r];
		if (v->merge_len[r] == an + 1 + bn && memcmp(m, a, an) == 0 && m[an] == ' ' &&
		    memcmp(m + an + 1, b, bn) == 0)
			return r;
	}
}

/* ---- UTF-8 ------------------------------------------------------------ */

/* Sequence length from the lead byte, as llama.cpp splits symbols. */
static size_t utf8_len(uint8_t c)
{
	static const uint8_t lookup[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
	return lookup[c >> 4];
}

static size_t utf8_put(uint32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Rewrites s as valid UTF-8 into o (room for 3 * n bytes): llama.cpp decodes
 * leniently (any lead byte with the right number of continuation bytes) and
 * turns each bad byte into U+FFFD; we do the same and also replace surrogates
 * and code points past U+10FFFF, which it cannot encode either. */
static size_t utf8_sanitize(const char *s, size_t n, char *o)
{
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		uint8_t c = (uint8_t)s[i];
		size_t len = c < 0x80 ? 1 : (c & 0x40) == 0 ? 0 : (c & 0x20) == 0 ? 2 :
			     (c & 0x10) == 0 ? 3 : (c & 0x08) == 0 ? 4 : 0;
		uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
		bool ok = len > 0 && i + len <= n;
		for (size_t j = 1; ok && j < len; j++) {
			uint8_t d = (uint8_t)s[i + j];
			ok = (d & 0xC0) == 0x80;
			cp = (cp << 6) | (d & 0x3F);
		}
		if (!ok || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
			memcpy(o + k, UTF8_REPLACEMENT, 3);
			k += 3;
			i += 1;
			continue;
		}
		k += utf8_put(cp, o + k);
		i += len;
	}
	return k;
}

/* Length of the complete, valid UTF-8 character at s[0..n): 1..4; 0 when s
 * is a valid but unfinished prefix; -1 when s starts an invalid sequence
 * (then *bad is how many bytes one U+FFFD replaces). Overlong forms,
 * surrogates and values past U+10FFFF are invalid. */
static int utf8_check(const uint8_t *s, size_t n, size_t *bad)
{
	uint8_t c = s[0];
	*bad = 1;
	if (c < 0x80)
		return 1;
	int len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
	if (!len)
		return -1;
	for (int j = 1; j < len; j++) {
		if ((size_t)j >= n)
			return 0;
		uint8_t lo = 0x80, hi = 0xBF;
		if (j == 1) {
			if (c == 0xE0) lo = 0xA0;
			if (c == 0xED) hi = 0x9F;
			if (c == 0xF0) lo = 0x90;
			if (c == 0xF4) hi = 0x8F;
		}
		if (s[j] < lo || s[j] > hi) {
			*bad = (size_t)j;
			return -1;
		}
	}
	return len;
}

/* ---- GPT-2 byte-to-character mapping ---------------------------------- */

/* Printable bytes stand for themselves; the others are moved to U+0100 and
 * up, in byte order, so every byte has a visible character. */
static uint32_t byte_to_cp(uint8_t b)
{
	if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
		return b;
	if (b <= 0x20)
		return 256u + b;
	if (b <= 0xA0)
		return 256u + 33 + (b - 0x7Fu);
	return 256u + 67; /* 0xAD */
}

static int cp_to_byte(uint32_t cp)
{
	if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
		return (int)cp;
	if (cp >= 256 && cp < 256 + 33)
		return (int)(cp - 256);
	if (cp >= 256 + 33 && cp < 256 + 67)
		return (int)(cp - 256 - 33 + 0x7F);
	if (cp == 256 + 67)
		return 0xAD;
	return -1;
}

/* ---- pre-tokenizers ----------------------------------------------------- */

/* Hugging Face's \s is Unicode White_Space, which adds U+0085 to PCRE2's. */
#define WS "\\s\\x{85}"
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+" \
	"|[" WS "]+(?![^" WS "])|[" WS "]+"
#define RE_LLAMA3_TAIL "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+"
#define RE_LLAMA3 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}" RE_LLAMA3_TAIL
#define RE_QWEN2 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" RE_LLAMA3_TAIL
#define RE_PORO " ?[^(" WS "|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+"
#define RE_CJK "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"

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

enum { PRE_CLEAN = 1, PRE_NO_CLEAN = 2, PRE_IGNORE_MERGES = 4, PRE_ADD_BOS = 8, PRE_NO_BOS = 16 };

/* A pre-tokenizer: names as in tokenizer.ggml.pre ('|'-separated), flags, and
 * regexes applied one after another, each to the pieces the previous left
 * (text between matches stays a piece of its own). */
struct pre_spec {
	const char *names;
	unsigned flags;
	const char *re[VOCAB_MAX_RE];
};

static const struct pre_spec pre_specs[] = {
	{ "default", PRE_CLEAN,
	  { "[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]" } },
	{ "llama3|llama-v3|llama-bpe|falcon3", PRE_CLEAN | PRE_IGNORE_MERGES | PRE_ADD_BOS, { RE_LLAMA3 } },
	{ "dbrx|smaug-bpe", PRE_CLEAN, { RE_LLAMA3 } },
	{ "chatglm-bpe", PRE_CLEAN | PRE_NO_BOS, { RE_LLAMA3 } },
	{ "deepseek-llm", PRE_NO_CLEAN,
	  { "[\\r\\n]", RE_DEEPSEEK_LETTERS,
	    "[" WS "]?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
	    "[" WS "]+$", RE_CJK, "\\p{N}+" } },
	{ "deepseek-v3", PRE_NO_CLEAN,
	  { "\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
	    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
	    "| ?[\\p{P}\\p{S}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+" } },
	{ "deepseek-coder", PRE_NO_CLEAN,
	  { "[\\r\\n]", "[" WS "]?\\p{L}+", "[" WS "]?\\p{P}+", RE_CJK, "\\p{N}" } },
	{ "falcon", PRE_CLEAN, { "[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]" } },
	{ "starcoder|refact|codeshell|exaone|minerva-7b", PRE_CLEAN, { "\\p{N}", RE_GPT2 } },
	{ "command-r|smollm", PRE_NO_CLEAN, { "\\p{N}", RE_GPT2 } },
	{ "gpt-2|phi-2|jina-es|jina-de|gigachat|jina-v1-en|jina-v2-es|jina-v2-de|jina-v2-code|"
	  "roberta-bpe|mpt|olmo|jais", PRE_CLEAN, { RE_GPT2 } },
	{ "qwen2|deepseek-r1-qwen", PRE_NO_CLEAN, { RE_QWEN2 } },
	{ "stablelm2|megrez", PRE_CLEAN, { RE_QWEN2 } },
	{ "poro-chat", PRE_NO_CLEAN, { RE_PORO } },
	{ "bloom|gpt3-finnish", PRE_CLEAN, { RE_PORO } },
	{ "viking", PRE_NO_CLEAN, { RE_PORO, "\\p{N}" } },
	{ "tekken", PRE_NO_CLEAN | PRE_IGNORE_MERGES | PRE_ADD_BOS,
	  { "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
	    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
	    "|\\p{N}| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n/]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+" } },
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

/* ---- loading ------------------------------------------------------------ */

static const char *file_name(const struct gguf *g)
{
	const char *p = gguf_path(g);
	return p ? p : "(gguf)";
}

/* A string array value or an error naming key. */
static int get_str_array(const struct gguf *g, const char *key, bool required,
			 const struct gguf_value **out, char *err, size_t errlen)
{
	*out = gguf_get(g, key);
	if (!*out)
		return required ? lt_seterr(err, errlen, LT_E_NOTFOUND, "%s: missing %s", file_name(g), key) : 0;
	if (gguf_value_type(*out) != GGUF_VTYPE_ARRAY || gguf_value_arr_type(*out) != GGUF_VTYPE_STRING)
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: %s is not an array of strings",
				 file_name(g), key);
	return 0;
}

/* An optional numeric array of exactly n elements. */
static int get_num_array(const struct gguf *g, const char *key, uint64_t n,
			 const struct gguf_value **out, char *err, size_t errlen)
{
	*out = gguf_get(g, key);
	if (!*out)
		return 0;
	enum gguf_vtype t = gguf_value_type(*out) == GGUF_VTYPE_ARRAY ? gguf_value_arr_type(*out) : GGUF_VTYPE_COUNT;
	if (t == GGUF_VTYPE_COUNT || t == GGUF_VTYPE_STRING || t == GGUF_VTYPE_ARRAY || t == GGUF_VTYPE_BOOL)
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: %s is not a numeric array", file_name(g), key);
	if (gguf_value_arr_len(*out) != n)
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: %s has %llu entries but there are %llu tokens",
				 file_name(g), key, (unsigned long long)gguf_value_arr_len(*out),
				 (unsigned long long)n);
	return 0;
}

/* Reads an optional token id key; ids outside the vocab keep the default. */
static void get_id(const struct gguf *g, const char *key, int32_t n_tokens, int32_t *id)
{
	int64_t x;
	if (gguf_get_i64(g, key, &x) == 0 && x >= 0 && x < n_tokens)
		*id = (int32_t)x;
}

static void get_flag(const struct gguf *g, const char *key, bool *flag)
{
	bool b;
	if (gguf_get_bool(g, key, &b) == 0)
		*flag = b;
}

static unsigned attr_from_type(int64_t t)
{
	switch (t) {
	case TT_NORMAL: return VOCAB_ATTR_NORMAL;
	case TT_UNKNOWN: return VOCAB_ATTR_UNKNOWN;
	case TT_CONTROL: return VOCAB_ATTR_CONTROL;
	case TT_USER_DEFINED: return VOCAB_ATTR_USER_DEFINED;
	case TT_UNUSED: return VOCAB_ATTR_UNUSED;
	case TT_BYTE: return VOCAB_ATTR_BYTE;
	default: return VOCAB_ATTR_UNDEFINED;
	}
}

static int load_tokens(struct vocab *v, const struct gguf *g, char *err, size_t errlen)
{
	const struct gguf_value *toks, *scores, *types;
	int rc = get_str_array(g, "tokenizer.ggml.tokens", true, &toks, err, errlen);
	if (rc)
		return rc;
	uint64_t n = gguf_value_arr_len(toks);
	if (n == 0 || n > INT32_MAX / 4)
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: tokenizer.ggml.tokens has %llu entries",
				 file_name(g), (unsigned long long)n);
	if ((rc = get_num_array(g, "tokenizer.ggml.scores", n, &scores, err, errlen)) ||
	    (rc = get_num_array(g, "tokenizer.ggml.token_type", n, &types, err, errlen)))
		return rc;
	v->n_tokens = (int32_t)n;
	v->tok = calloc(n, sizeof(*v->tok));
	size_t total = 0;
	for (uint64_t i = 0; i < n; i++) {
		size_t len;
		gguf_value_arr_str(toks, i, &len);
		total += (len ? len : EMPTY_NAME_MAX) + 1;
	}
	if (!v->tok || total > UINT32_MAX || !(v->text = malloc(total)))
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory for %llu tokens",
				 file_name(g), (unsigned long long)n);
	size_t off = 0;
	for (uint64_t i = 0; i < n; i++) {
		size_t len;
		const char *s = gguf_value_arr_str(toks, i, &len);
		/* An empty token could never match; give it a visible name. */
		if (len == 0)
			len = (size_t)snprintf(v->text + off, EMPTY_NAME_MAX + 1, "[EMPTY_%llu]",
					       (unsigned long long)i);
		else
			memcpy(v->text + off, s, len);
		v->text[off + len] = '\0';
		struct vocab_token *t = &v->tok[i];
		t->off = (uint32_t)off;
		t->len = (uint32_t)len;
		t->score = scores ? (float)gguf_value_f64(gguf_value_arr_item(scores, i)) : 0.0f;
		t->attr = types ? attr_from_type(gguf_value_i64(gguf_value_arr_item(types, i))) : VOCAB_ATTR_NORMAL;
		off += len + 1;
	}

	uint32_t cap = table_size((uint32_t)n);
	if (!(v->map = malloc(cap * sizeof(*v->map))))
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", file_name(g));
	memset(v->map, 0xFF, cap * sizeof(*v->map));
	v->map_mask = cap - 1;
	for (int32_t id = 0; id < v->n_tokens; id++) {
		const struct vocab_token *t = &v->tok[id];
		int32_t dup = vocab_find(v, v->text + t->off, t->len);
		if (dup >= 0)
			return lt_seterr(err, errlen, LT_E_FORMAT, "%s: tokens %d and %d are both '%.40s'",
					 file_name(g), dup, id, v->text + t->off);
		uint32_t i = fnv1a(v->text + t->off, t->len, FNV_SEED) & v->map_mask;
		while (v->map[i] >= 0)
			i = (i + 1) & v->map_mask;
		v->map[i] = id;
	}
	return 0;
}

static int load_merges(struct vocab *v, const struct gguf *g, char *err, size_t errlen)
{
	const struct gguf_value *m;
	int rc = get_str_array(g, "tokenizer.ggml.merges", true, &m, err, errlen);
	if (rc)
		return rc;
	uint64_t n = gguf_value_arr_len(m);
	if (n > INT32_MAX / 4)
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: too many merges", file_name(g));
	size_t total = 1;
	for (uint64_t i = 0; i < n; i++) {
		size_t len;
		gguf_value_arr_str(m, i, &len);
		total += len + 1;
	}
	uint32_t cap = table_size((uint32_t)n);
	v->merge_text = malloc(total);
	v->merge_off = malloc((n ? n : 1) * sizeof(*v->merge_off));
	v->merge_len = malloc((n ? n : 1) * sizeof(*v->merge_len));
	v->merge_map = malloc(cap * sizeof(*v->merge_map));
	if (!v->merge_text || !v->merge_off || !v->merge_len || !v->merge_map || total > UINT32_MAX)
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory for %llu merges",
				 file_name(g), (unsigned long long)n);
	memset(v->merge_map, 0xFF, cap * sizeof(*v->merge_map));
	v->merge_mask = cap - 1;
	size_t off = 0;
	for (uint64_t i = 0; i < n; i++) {
		size_t len;
		const char *s = gguf_value_arr_str(m, i, &len);
		memcpy(v->merge_text + off, s, len);
		v->merge_text[off + len] = '\0';
		v->merge_off[i] = (uint32_t)off;
		v->merge_len[i] = (uint32_t)len;
		off += len + 1;
		/* Lines are "left right"; the first space after the first byte
		 * splits them. The same pair twice keeps its first rank. */
		const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
		if (!sp || merge_rank(v, s, (size_t)(sp - s), sp + 1, len - (size_t)(sp - s) - 1) >= 0)
			continue;
		uint32_t k = fnv1a(s, len, FNV_SEED) & v->merge_mask;
		while (v->merge_map[k] >= 0)
			k = (k + 1) & v->merge_mask;
		v->merge_map[k] = (int32_t)i;
	}
	v->n_merges = (int32_t)n;
	return 0;
}

static int compile_pre(struct vocab *v, const struct pre_spec *spec, const struct gguf *g,
		       char *err, size_t errlen)
{
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
					 file_name(g), v->pre, i, (const char *)msg, (size_t)at);
		}
		/* JIT is an optimisation only; the interpreter is the fallback. */
		pcre2_jit_compile(v->re[i], PCRE2_JIT_COMPLETE);
		v->n_re = i + 1;
	}
	return 0;
}

/* The first token whose text is in names (newline-separated, since token
 * texts contain '|'; in priority order). */
static int32_t find_any(const struct vocab *v, const char *names)
{
	for (const char *p = names; *p;) {
		const char *bar = strchr(p, '\n');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		int32_t id = vocab_find(v, p, len);
		if (id >= 0)
			return id;
		if (!bar)
			break;
		p = bar + 1;
	}
	return VOCAB_TOKEN_NULL;
}

/* Marks every token named in names as control (and EOG when eog). */
static void mark_all(struct vocab *v, const char *names, bool eog)
{
	for (const char *p = names; *p;) {
		const char *bar = strchr(p, '\n');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		int32_t id = vocab_find(v, p, len);
		if (id >= 0)
			v->tok[id].attr |= VOCAB_ATTR_CONTROL | (eog ? VOCAB_ATTR_EOG : 0);
		if (!bar)
			break;
		p = bar + 1;
	}
}

/* An id from metadata, else the first token named in names (then made a
 * control token, as llama.cpp does for such "control-looking" tokens). */
static int32_t detect_id(struct vocab *v, const struct gguf *g, const char *key, const char *key2,
			 const char *names)
{
	int32_t id = VOCAB_TOKEN_NULL;
	get_id(g, key, v->n_tokens, &id);
	if (key2 && id < 0)
		get_id(g, key2, v->n_tokens, &id);
	if (id < 0 && (id = find_any(v, names)) >= 0)
		v->tok[id].attr |= VOCAB_ATTR_CONTROL;
	return id;
}

static void set_specials(struct vocab *v, const struct gguf *g)
{
	const char *K = "tokenizer.ggml.";
	char key[96];
#define KEY(s) (snprintf(key, sizeof(key), "%s%s", K, s), key)
	get_id(g, KEY("bos_token_id"), v->n_tokens, &v->bos);
	get_id(g, KEY("eos_token_id"), v->n_tokens, &v->eos);
	get_id(g, KEY("unknown_token_id"), v->n_tokens, &v->unk);
	get_id(g, KEY("seperator_token_id"), v->n_tokens, &v->sep);
	get_id(g, KEY("padding_token_id"), v->n_tokens, &v->pad);
	get_flag(g, KEY("add_bos_token"), &v->add_bos);
	get_flag(g, KEY("add_eos_token"), &v->add_eos);
	get_flag(g, KEY("add_space_prefix"), &v->add_space_prefix);
#undef KEY
	v->eot = detect_id(v, g, "tokenizer.ggml.eot_token_id", NULL,
			   "<|eot_id|>\n<|im_end|>\n<|end|>\n<end_of_turn>\n<|endoftext|>\n<EOT>\n"
			   "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>");
	v->eom = detect_id(v, g, "tokenizer.ggml.eom_token_id", NULL, "<|eom_id|>");
	/* Fill-in-the-middle tokens matter here only because finding them
	 * makes them control tokens, and pad/repo/sep end generation. */
	detect_id(v, g, "tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id",
		  "<|fim_prefix|>\n<fim-prefix>\n<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>\n<PRE>");
	detect_id(v, g, "tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id",
		  "<|fim_suffix|>\n<fim-suffix>\n<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>\n<SUF>");
	detect_id(v, g, "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id",
		  "<|fim_middle|>\n<fim-middle>\n<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>\n<MID>");
	int32_t eog[6] = {
		detect_id(v, g, "tokenizer.ggml.fim_pad_token_id", NULL, "<|fim_pad|>\n<fim-pad>\n<PAD>"),
		detect_id(v, g, "tokenizer.ggml.fim_rep_token_id", NULL,
			  "<|fim_repo|>\n<|repo_name|>\n<fim-repo>\n<REPO>"),
		detect_id(v, g, "tokenizer.ggml.fim_sep_token_id", NULL, "<|file_sep|>"),
		v->eos, v->eot, v->eom,
	};
	for (int i = 0; i < 6; i++)
		if (eog[i] >= 0)
			v->tok[eog[i]].attr |= VOCAB_ATTR_EOG;
	mark_all(v, "<|eot_id|>\n<|im_end|>\n<|end|>\n<end_of_turn>\n<|endoftext|>\n<|eom_id|>\n<EOT>", true);
}

/* Model-specific whitespace stripping around special tokens (llama.cpp sets
 * these by model name because GGUF has no field for them). */
static void set_strip_attrs(struct vocab *v, const struct gguf *g)
{
	const char *name = NULL;
	char lower[128] = "";
	if (gguf_get_str(g, "general.name", &name, NULL) == 0) {
		size_t i = 0;
		for (; name[i] && i + 1 < sizeof(lower); i++)
			lower[i] = (char)tolower((unsigned char)name[i]);
		lower[i] = '\0';
	}
	if (strstr(v->pre, "jina-v2-de") || strstr(v->pre, "jina-v2-es") || strstr(v->pre, "jina-v2-code")) {
		int32_t id = vocab_find(v, "<mask>", 6);
		if (id >= 0)
			v->tok[id].attr |= VOCAB_ATTR_LSTRIP;
	} else if (strstr(lower, "phi-3") || strstr(lower, "phi3")) {
		for (int i = 0; i < v->n_special; i++)
			v->tok[v->special[i]].attr |= VOCAB_ATTR_RSTRIP;
		int32_t id = vocab_find(v, "</s>", 4);
		if (id >= 0)
			v->tok[id].attr |= VOCAB_ATTR_RSTRIP;
		static const char *const keep[] = { "<unk>", "<s>", "<|endoftext|>" };
		for (int i = 0; i < 3; i++)
			if ((id = vocab_find(v, keep[i], strlen(keep[i]))) >= 0)
				v->tok[id].attr &= ~(unsigned)VOCAB_ATTR_RSTRIP;
	}
}

/* qsort context is not portable, so the comparison reads lengths from an
 * array sorted alongside. */
struct special_ref {
	uint32_t len;
	int32_t id;
};

static int special_cmp(const void *a, const void *b)
{
	const struct special_ref *x = a, *y = b;
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static int build_specials(struct vocab *v)
{
	const unsigned mask = VOCAB_ATTR_CONTROL | VOCAB_ATTR_USER_DEFINED | VOCAB_ATTR_UNKNOWN;
	int n = 0;
	for (int32_t id = 0; id < v->n_tokens; id++)
		n += (v->tok[id].attr & mask) != 0;
	struct special_ref *refs = malloc((size_t)(n ? n : 1) * sizeof(*refs));
	v->special = malloc((size_t)(n ? n : 1) * sizeof(*v->special));
	if (!refs || !v->special) {
		free(refs);
		return LT_E_NOMEM;
	}
	n = 0;
	for (int32_t id = 0; id < v->n_tokens; id++)
		if (v->tok[id].attr & mask)
			refs[n++] = (struct special_ref){ v->tok[id].len, id };
	qsort(refs, (size_t)n, sizeof(*refs), special_cmp);
	for (int i = 0; i < n; i++)
		v->special[i] = refs[i].id;
	v->n_special = n;
	free(refs);
	return 0;
}

/* Writes token id's piece (special form) to o, which has room for as many
 * bytes as the token's text; returns its length. */
static size_t make_piece(const struct vocab *v, int32_t id, char *o)
{
	const struct vocab_token *t = &v->tok[id];
	const char *s = v->text + t->off;
	size_t k = 0;
	if (t->attr & (VOCAB_ATTR_CONTROL | VOCAB_ATTR_UNKNOWN | VOCAB_ATTR_USER_DEFINED)) {
		memcpy(o, s, t->len);
		return t->len;
	}
	if (v->type == VOCAB_TYPE_SPM && (t->attr & VOCAB_ATTR_NORMAL)) {
		for (size_t i = 0; i < t->len; i++) {
			if (i + 2 < t->len && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
				o[k++] = ' ';
				i += 2;
			} else {
				o[k++] = s[i];
			}
		}
		return k;
	}
	if (v->type == VOCAB_TYPE_SPM && (t->attr & VOCAB_ATTR_BYTE)) {
		unsigned b;
		if (t->len == 6 && sscanf(s, "<0x%2X>", &b) == 1)
			o[k++] = (char)b;
		return k;
	}
	if (v->type == VOCAB_TYPE_BPE && (t->attr & VOCAB_ATTR_NORMAL)) {
		/* Characters outside the byte mapping are kept as they are. */
		for (size_t i = 0; i < t->len;) {
			size_t n = utf8_len((uint8_t)s[i]);
			if (n > t->len - i)
				n = t->len - i;
			uint32_t cp = n == 1 && (uint8_t)s[i] < 0x80 ? (uint8_t)s[i] :
				      n == 2 ? ((s[i] & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu) : 0x110000;
			int b = cp_to_byte(cp);
			if (b >= 0) {
				o[k++] = (char)b;
			} else {
				memcpy(o + k, s + i, n);
				k += n;
			}
			i += n;
		}
	}
	return k;
}

static int build_pieces(struct vocab *v)
{
	size_t total = 0;
	for (int32_t id = 0; id < v->n_tokens; id++)
		total += v->tok[id].len;
	if (total > UINT32_MAX || !(v->pieces = malloc(total ? total : 1)))
		return LT_E_NOMEM;
	size_t off = 0;
	/* A piece is never longer than its text, so writing each at the end of
	 * the previous one stays inside the blob. */
	for (int32_t id = 0; id < v->n_tokens; id++) {
		struct vocab_token *t = &v->tok[id];
		size_t n = make_piece(v, id, v->pieces + off);
		t->piece_off = (uint32_t)off;
		t->piece_len = (uint32_t)n;
		off += n;
	}
	return 0;
}

int vocab_open(struct vocab **out, const struct gguf *g, char *err, size_t errlen)
{
	*out = NULL;
	const char *model;
	if (gguf_get_str(g, "tokenizer.ggml.model", &model, NULL) != 0)
		return lt_seterr(err, errlen, LT_E_NOTFOUND, "%s: missing tokenizer.ggml.model (string)",
				 file_name(g));
	struct vocab *v = calloc(1, sizeof(*v));
	if (!v)
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", file_name(g));
	v->bos = v->eos = v->eot = v->eom = v->unk = v->sep = v->pad = v->nl = VOCAB_TOKEN_NULL;
	for (int i = 0; i < 256; i++)
		v->byte_tok[i] = VOCAB_TOKEN_NULL;
	const char *pre = NULL;
	gguf_get_str(g, "tokenizer.ggml.pre", &pre, NULL);
	snprintf(v->pre, sizeof(v->pre), "%s", pre ? pre : "default");
	int rc = 0;

	if (strcmp(model, "no_vocab") == 0 || strcmp(model, "none") == 0) {
		v->type = VOCAB_TYPE_NONE;
		*out = v;
		return 0;
	}
	if (strcmp(model, "llama") == 0) {
		v->type = VOCAB_TYPE_SPM;
		v->bos = 1;
		v->eos = 2;
		v->unk = 0;
		v->add_space_prefix = true;
		v->add_bos = true;
	} else if (strcmp(model, "gpt2") == 0) {
		v->type = VOCAB_TYPE_BPE;
		/* llama.cpp's defaults (Falcon's <|endoftext|>). */
		v->bos = 11;
		v->eos = 11;
	} else if (strcmp(model, "bert") == 0) {
		rc = lt_seterr(err, errlen, LT_E_UNSUPPORTED,
			       "%s: WPM (bert) tokenizer is not supported", file_name(g));
	} else {
		rc = lt_seterr(err, errlen, LT_E_UNSUPPORTED, "%s: unknown tokenizer model '%.40s'",
			       file_name(g), model);
	}
	if (rc)
		goto fail;
	if ((rc = load_tokens(v, g, err, errlen)))
		goto fail;
	/* Defaults must name real tokens; a tiny vocab may not have them. */
	if (v->bos >= v->n_tokens) v->bos = VOCAB_TOKEN_NULL;
	if (v->eos >= v->n_tokens) v->eos = VOCAB_TOKEN_NULL;
	if (v->unk >= v->n_tokens) v->unk = VOCAB_TOKEN_NULL;

	if (v->type == VOCAB_TYPE_BPE) {
		const struct pre_spec *spec = NULL;
		for (size_t i = 0; i < sizeof(pre_specs) / sizeof(pre_specs[0]) && !spec; i++)
			if (name_in_list(pre_specs[i].names, v->pre))
				spec = &pre_specs[i];
		if (!spec) {
			rc = lt_seterr(err, errlen, LT_E_UNSUPPORTED, "%s: unknown pre-tokenizer '%s'",
				       file_name(g), v->pre);
			goto fail;
		}
		v->clean_spaces = !(spec->flags & PRE_NO_CLEAN);
		v->ignore_merges = spec->flags & PRE_IGNORE_MERGES;
		v->add_bos = spec->flags & PRE_ADD_BOS;
		if (spec->flags & PRE_NO_BOS)
			v->bos = VOCAB_TOKEN_NULL;
		if ((rc = load_merges(v, g, err, errlen)) || (rc = compile_pre(v, spec, g, err, errlen)))
			goto fail;
	}
	set_specials(v, g);
	if ((rc = build_specials(v)) || (rc = build_pieces(v))) {
		lt_seterr(err, errlen, rc, "%s: out of memory", file_name(g));
		goto fail;
	}
	set_strip_attrs(v, g);

	const char *tmpl;
	size_t tlen;
	if (gguf_get_str(g, "tokenizer.chat_template", &tmpl, &tlen) == 0) {
		if (!(v->chat_template = malloc(tlen + 1))) {
			rc = lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", file_name(g));
			goto fail;
		}
		memcpy(v->chat_template, tmpl, tlen);
		v->chat_template[tlen] = '\0';
	}

	if (v->type == VOCAB_TYPE_SPM) {
		for (int b = 0; b < 256; b++) {
			char name[8];
			snprintf(name, sizeof(name), "<0x%02X>", b);
			v->byte_tok[b] = vocab_find(v, name, 6);
			/* Some vocabs spell low bytes as themselves instead. */
			if (v->byte_tok[b] < 0) {
				char c = (char)b;
				v->byte_tok[b] = vocab_find(v, &c, 1);
			}
		}
		v->nl = v->byte_tok['\n'] >= 0 ? v->byte_tok['\n'] : v->pad;
	} else {
		int32_t id;
		v->nl = vocab_tokenize(v, "\n", 1, false, false, &id, 1) >= 1 ? id : v->pad;
	}
	*out = v;
	return 0;
fail:
	vocab_free(v);
	return rc;
}

void vocab_free(struct vocab *v)
{
	if (!v)
		return;
	for (int i = 0; i < v->n_re; i++)
		pcre2_code_free(v->re[i]);
	free(v->tok);
	free(v->text);
	free(v->pieces);
	free(v->map);
	free(v->merge_text);
	free(v->merge_off);
	free(v->merge_len);
	free(v->merge_map);
	free(v->special);
	free(v->chat_template);
	free(v);
}

/* ---- accessors ---------------------------------------------------------- */

enum vocab_type vocab_type(const struct vocab *v) { return v->type; }
const char *vocab_pre(const struct vocab *v) { return v->pre; }
int32_t vocab_n_tokens(const struct vocab *v) { return v->n_tokens; }
int32_t vocab_n_merges(const struct vocab *v) { return v->n_merges; }
int32_t vocab_bos(const struct vocab *v) { return v->bos; }
int32_t vocab_eos(const struct vocab *v) { return v->eos; }
int32_t vocab_eot(const struct vocab *v) { return v->eot; }
int32_t vocab_eom(const struct vocab *v) { return v->eom; }
int32_t vocab_unk(const struct vocab *v) { return v->unk; }
int32_t vocab_sep(const struct vocab *v) { return v->sep; }
int32_t vocab_pad(const struct vocab *v) { return v->pad; }
int32_t vocab_nl(const struct vocab *v) { return v->nl; }
bool vocab_add_bos(const struct vocab *v) { return v->add_bos; }
bool vocab_add_eos(const struct vocab *v) { return v->add_eos; }
bool vocab_add_space_prefix(const struct vocab *v) { return v->add_space_prefix; }
const char *vocab_chat_template(const struct vocab *v) { return v->chat_template; }

const char *vocab_type_name(const struct vocab *v)
{
	switch (v->type) {
	case VOCAB_TYPE_SPM: return "SPM";
	case VOCAB_TYPE_BPE: return "BPE";
	case VOCAB_TYPE_WPM: return "WPM";
	default: return "none";
	}
}

static bool valid_id(const struct vocab *v, int32_t id)
{
	return id >= 0 && id < v->n_tokens && v->tok;
}

unsigned vocab_attr(const struct vocab *v, int32_t id)
{
	return valid_id(v, id) ? v->tok[id].attr : 0;
}

bool vocab_is_eog(const struct vocab *v, int32_t id)
{
	return vocab_attr(v, id) & VOCAB_ATTR_EOG;
}

bool vocab_is_control(const struct vocab *v, int32_t id)
{
	return vocab_attr(v, id) & VOCAB_ATTR_CONTROL;
}

const char *vocab_get_text(const struct vocab *v, int32_t id, size_t *len)
{
	if (!valid_id(v, id))
		return NULL;
	if (len)
		*len = v->tok[id].len;
	return v->text + v->tok[id].off;
}

float vocab_get_score(const struct vocab *v, int32_t id)
{
	return valid_id(v, id) ? v->tok[id].score : 0.0f;
}

/* ---- tokenizing ----------------------------------------------------------- */

/* Collects output ids: writes while there is room, always counts. */
struct emit {
	int32_t *out;
	int n_max, n;
};

static void emit(struct emit *e, int32_t id)
{
	if (id < 0)
		return;
	if (e->n < e->n_max)
		e->out[e->n] = id;
	e->n++;
}

/* A candidate merge of symbols left and right; key orders the queue
 * (SPM: token score, BPE: minus the merge rank; higher first, then leftmost),
 * ln/rn are the symbol lengths it was made for, so stale entries are seen. */
struct bigram {
	int left, right;
	float key;
	uint32_t ln, rn;
};

struct sym {
	int prev, next;
	uint32_t off, n;
};

/* Scratch space for one tokenize call. */
struct work {
	struct sym *sym;
	size_t n_sym, cap_sym;
	struct bigram *heap;
	size_t n_heap, cap_heap;
};

static bool bigram_before(const struct bigram *a, const struct bigram *b)
{
	return a->key > b->key || (a->key == b->key && a->left < b->left);
}

static int heap_push(struct work *w, struct bigram b)
{
	if (w->n_heap == w->cap_heap) {
		size_t cap = w->cap_heap ? w->cap_heap * 2 : 64;
		struct bigram *h = realloc(w->heap, cap * sizeof(*h));
		if (!h)
			return LT_E_NOMEM;
		w->heap = h, w->cap_heap = cap;
	}
	size_t i = w->n_heap++;
	while (i > 0 && bigram_before(&b, &w->heap[(i - 1) / 2])) {
		w->heap[i] = w->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->heap[i] = b;
	return 0;
}

static struct bigram heap_pop(struct work *w)
{
	struct bigram top = w->heap[0], last = w->heap[--w->n_heap];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= w->n_heap)
			break;
		if (c + 1 < w->n_heap && bigram_before(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!bigram_before(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->n_heap)
		w->heap[i] = last;
	return top;
}

/* Splits s[0..n) into one symbol per UTF-8 character. */
static int split_symbols(struct work *w, size_t n, const char *s)
{
	if (n > w->cap_sym) {
		struct sym *p = realloc(w->sym, n * sizeof(*p));
		if (!p)
			return LT_E_NOMEM;
		w->sym = p, w->cap_sym = n;
	}
	w->n_sym = 0;
	w->n_heap = 0;
	for (size_t off = 0; off < n;) {
		size_t len = utf8_len((uint8_t)s[off]);
		if (len > n - off)
			len = n - off;
		int i = (int)w->n_sym++;
		off += len;
		w->sym[i] = (struct sym){ i - 1, off == n ? -1 : i + 1, (uint32_t)(off - len), (uint32_t)len };
	}
	return 0;
}

/* Runs the merge loop; try_pair queues a bigram for two adjacent symbols. */
typedef int (*try_pair_fn)(const struct vocab *v, struct work *w, const char *s, int l, int r);

static int merge_all(const struct vocab *v, struct work *w, const char *s, try_pair_fn try_pair)
{
	int rc = 0;
	for (size_t i = 1; i < w->n_sym && !rc; i++)
		rc = try_pair(v, w, s, (int)i - 1, (int)i);
	while (w->n_heap && !rc) {
		struct bigram b = heap_pop(w);
		struct sym *l = &w->sym[b.left], *r = &w->sym[b.right];
		if (l->n != b.ln || r->n != b.rn)
			continue;
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			w->sym[r->next].prev = b.left;
		rc = try_pair(v, w, s, l->prev, b.left);
		if (!rc)
			rc = try_pair(v, w, s, b.left, l->next);
	}
	return rc;
}

static int spm_pair(const struct vocab *v, struct work *w, const char *s, int l, int r)
{
	if (l < 0 || r < 0)
		return 0;
	const struct sym *a = &w->sym[l], *b = &w->sym[r];
	int32_t id = vocab_find(v, s + a->off, a->n + b->n);
	if (id < 0)
		return 0;
	return heap_push(w, (struct bigram){ l, r, v->tok[id].score, a->n, b->n });
}

static int bpe_pair(const struct vocab *v, struct work *w, const char *s, int l, int r)
{
	if (l < 0 || r < 0)
		return 0;
	const struct sym *a = &w->sym[l], *b = &w->sym[r];
	int32_t rank = merge_rank(v, s + a->off, a->n, s + b->off, b->n);
	if (rank < 0)
		return 0;
	return heap_push(w, (struct bigram){ l, r, -(float)rank, a->n, b->n });
}

/* SPM on one fragment: spaces become U+2581 (with one in front when the
 * model adds a space prefix), symbols merge by best score, and whatever is
 * not a token falls back to its <0xXX> byte tokens. */
static int spm_fragment(const struct vocab *v, struct work *w, const char *text, size_t len,
			bool prefix, struct emit *e)
{
	size_t cap = 3 * (len + 1);
	char *s = malloc(cap);
	if (!s)
		return LT_E_NOMEM;
	size_t n = 0;
	if (prefix) {
		memcpy(s, "\xE2\x96\x81", 3);
		n = 3;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ' ') {
			memcpy(s + n, "\xE2\x96\x81", 3);
			n += 3;
		} else {
			s[n++] = text[i];
		}
	}
	int rc = split_symbols(w, n, s);
	if (!rc)
		rc = merge_all(v, w, s, spm_pair);
	for (int i = 0; !rc && w->n_sym && i != -1; i = w->sym[i].next) {
		const struct sym *y = &w->sym[i];
		int32_t id = vocab_find(v, s + y->off, y->n);
		if (id >= 0) {
			emit(e, id);
			continue;
		}
		for (uint32_t j = 0; j < y->n; j++) {
			int32_t b = v->byte_tok[(uint8_t)s[y->off + j]];
			emit(e, b >= 0 ? b : v->unk);
		}
	}
	free(s);
	return rc;
}

/* BPE on one pre-tokenized word: bytes mapped to characters, merged by rank,
 * leftovers emitted byte by byte where those bytes are tokens. */
static int bpe_word(const struct vocab *v, struct work *w, const char *word, size_t len,
		    char *enc, struct emit *e)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += utf8_put(byte_to_cp((uint8_t)word[i]), enc + n);
	if (v->ignore_merges) {
		int32_t id = vocab_find(v, enc, n);
		if (id >= 0) {
			emit(e, id);
			return 0;
		}
	}
	int rc = split_symbols(w, n, enc);
	if (!rc)
		rc = merge_all(v, w, enc, bpe_pair);
	for (size_t i = 0; !rc && i < w->n_sym; i++) {
		const struct sym *y = &w->sym[i];
		if (!y->n)
			continue;
		int32_t id = vocab_find(v, enc + y->off, y->n);
		if (id >= 0) {
			emit(e, id);
			continue;
		}
		for (uint32_t j = 0; j < y->n; j++)
			emit(e, vocab_find(v, enc + y->off + j, 1));
	}
	return rc;
}

/* A run of the text: [off, off+len), cut by the pre-tokenizer. */
struct span {
	uint32_t off, len;
};

struct spans {
	struct span *a;
	size_t n, cap;
};

static int spans_add(struct spans *s, size_t off, size_t len)
{
	if (!len)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct span *a = realloc(s->a, cap * sizeof(*a));
		if (!a)
			return LT_E_NOMEM;
		s->a = a, s->cap = cap;
	}
	s->a[s->n++] = (struct span){ (uint32_t)off, (uint32_t)len };
	return 0;
}

/* Cuts every span of in by re into out: matches and the gaps between them
 * both become spans. Each span is matched on its own, so lookarounds stop at
 * its ends, as with llama.cpp's per-piece regex iteration. */
static int pre_split(const pcre2_code *re, pcre2_match_data *md, const char *s,
		     const struct spans *in, struct spans *out)
{
	out->n = 0;
	int rc = 0;
	for (size_t k = 0; k < in->n && !rc; k++) {
		const char *sub = s + in->a[k].off;
		size_t n = in->a[k].len, pos = 0, last = 0;
		while (pos < n && !rc) {
			int m = pcre2_match(re, (PCRE2_SPTR)sub, n, pos, PCRE2_NO_UTF_CHECK, md, NULL);
			if (m == PCRE2_ERROR_JIT_STACKLIMIT)
				m = pcre2_match(re, (PCRE2_SPTR)sub, n, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
			if (m < 0)
				break; /* no match (or a limit hit): the rest stays one span */
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			size_t a = ov[0], b = ov[1];
			if (b == a) { /* empty match: step over one character */
				pos = a + utf8_len((uint8_t)sub[a]);
				continue;
			}
			if ((rc = spans_add(out, in->a[k].off + last, a - last)) == 0)
				rc = spans_add(out, in->a[k].off + a, b - a);
			pos = last = b;
		}
		if (!rc)
			rc = spans_add(out, in->a[k].off + last, n - last);
	}
	return rc;
}

static int bpe_fragment(const struct vocab *v, struct work *w, const char *text, size_t len,
			struct emit *e)
{
	char *s = malloc(3 * len + 1), *enc = NULL;
	struct spans sp[2] = { { 0 }, { 0 } };
	pcre2_match_data *md = NULL;
	int rc = LT_E_NOMEM;
	if (!s)
		return rc;
	size_t n = utf8_sanitize(text, len, s);
	if (n > UINT32_MAX || spans_add(&sp[0], 0, n))
		goto out;
	/* Room for every group of every pre-tokenizer regex. */
	if (!(md = pcre2_match_data_create(16, NULL)))
		goto out;
	int cur = 0;
	for (int i = 0; i < v->n_re; i++) {
		if (pre_split(v->re[i], md, s, &sp[cur], &sp[!cur]))
			goto out;
		cur = !cur;
	}
	size_t longest = 0;
	for (size_t i = 0; i < sp[cur].n; i++)
		if (sp[cur].a[i].len > longest)
			longest = sp[cur].a[i].len;
	if (!(enc = malloc(2 * longest + 1)))
		goto out;
	rc = 0;
	for (size_t i = 0; i < sp[cur].n && !rc; i++)
		rc = bpe_word(v, w, s + sp[cur].a[i].off, sp[cur].a[i].len, enc, e);
out:
	pcre2_match_data_free(md);
	free(sp[0].a);
	free(sp[1].a);
	free(enc);
	free(s);
	return rc;
}

/* A fragment of the input: raw text [off, off+len) or a special token. */
struct frag {
	int32_t tok; /* VOCAB_TOKEN_NULL for text */
	size_t off, len;
};

struct frags {
	struct frag *a;
	size_t n, cap;
};

static int frags_add(struct frags *f, int32_t tok, size_t off, size_t len)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct frag *a = realloc(f->a, cap * sizeof(*a));
		if (!a)
			return LT_E_NOMEM;
		f->a = a, f->cap = cap;
	}
	f->a[f->n++] = (struct frag){ tok, off, len };
	return 0;
}

/* Cuts special tokens out of the text, longest token first, each token at
 * every non-overlapping place left to right. Control and unknown tokens are
 * only looked for with parse_special; user-defined ones always are. */
static int partition(const struct vocab *v, const char *text, size_t len, bool parse_special,
		     struct frags *f)
{
	struct frags tmp = { 0 };
	int rc = frags_add(f, VOCAB_TOKEN_NULL, 0, len);
	uint8_t present[256] = { 0 };
	for (size_t i = 0; i < len; i++)
		present[(uint8_t)text[i]] = 1;
	for (int k = 0; k < v->n_special && !rc; k++) {
		int32_t id = v->special[k];
		const struct vocab_token *t = &v->tok[id];
		const char *tt = v->text + t->off;
		if (!parse_special && (t->attr & (VOCAB_ATTR_CONTROL | VOCAB_ATTR_UNKNOWN)))
			continue;
		bool possible = t->len <= len;
		for (uint32_t i = 0; i < t->len && possible; i++)
			possible = present[(uint8_t)tt[i]];
		if (!possible)
			continue;
		tmp.n = 0;
		for (size_t i = 0; i < f->n && !rc; i++) {
			struct frag fr = f->a[i];
			if (fr.tok >= 0) {
				rc = frags_add(&tmp, fr.tok, 0, 0);
				continue;
			}
			for (;;) {
				const char *m = fr.len >= t->len ? memmem(text + fr.off, fr.len, tt, t->len) : NULL;
				if (!m) {
					if (fr.len)
						rc = frags_add(&tmp, VOCAB_TOKEN_NULL, fr.off, fr.len);
					break;
				}
				size_t at = (size_t)(m - text), left = at - fr.off;
				if (t->attr & VOCAB_ATTR_LSTRIP)
					while (left && isspace((unsigned char)text[fr.off + left - 1]))
						left--;
				if (left)
					rc = frags_add(&tmp, VOCAB_TOKEN_NULL, fr.off, left);
				if (!rc)
					rc = frags_add(&tmp, id, 0, 0);
				size_t end = fr.off + fr.len;
				fr.off = at + t->len;
				if (t->attr & VOCAB_ATTR_RSTRIP)
					while (fr.off < end && isspace((unsigned char)text[fr.off]))
						fr.off++;
				fr.len = end - fr.off;
				if (rc || !fr.len)
					break;
			}
		}
		struct frags swap = *f;
		*f = tmp;
		tmp = swap;
	}
	free(tmp.a);
	return rc;
}

int vocab_tokenize(const struct vocab *v, const char *text, size_t len, bool add_special,
		   bool parse_special, int32_t *out, int n_max)
{
	if (v->type != VOCAB_TYPE_SPM && v->type != VOCAB_TYPE_BPE)
		return LT_E_UNSUPPORTED;
	if ((!text && len) || n_max < 0 || (!out && n_max) || len > UINT32_MAX / 4)
		return LT_E_INVAL;
	struct emit e = { out, n_max, 0 };
	struct frags f = { 0 };
	struct work w = { 0 };
	int rc = len ? partition(v, text, len, parse_special, &f) : 0;
	if (add_special && v->add_bos)
		emit(&e, v->bos);
	/* SPM puts a space before text that starts the input or follows a
	 * special token. */
	bool prev_special = true;
	for (size_t i = 0; i < f.n && !rc; i++) {
		const struct frag *fr = &f.a[i];
		if (fr->tok >= 0) {
			emit(&e, fr->tok);
			prev_special = true;
		} else if (v->type == VOCAB_TYPE_SPM) {
			rc = spm_fragment(v, &w, text + fr->off, fr->len, v->add_space_prefix && prev_special, &e);
			prev_special = false;
		} else {
			rc = bpe_fragment(v, &w, text + fr->off, fr->len, &e);
		}
	}
	if (add_special && v->add_eos)
		emit(&e, v->eos);
	free(f.a);
	free(w.sym);
	free(w.heap);
	if (rc)
		return rc;
	return e.n;
}

/* ---- pieces and detokenizing ---------------------------------------------- */

/* The piece of id under the special rule, as a pointer into v->pieces. */
static const char *piece_of(const struct vocab *v, int32_t id, bool special, size_t *len)
{
	const struct vocab_token *t = &v->tok[id];
	if (!special && (t->attr & (VOCAB_ATTR_CONTROL | VOCAB_ATTR_UNKNOWN))) {
		*len = 0;
		return "";
	}
	*len = t->piece_len;
	return v->pieces + t->piece_off;
}

int vocab_token_to_piece(const struct vocab *v, int32_t id, char *buf, size_t n, bool special)
{
	if (!valid_id(v, id))
		return LT_E_RANGE;
	size_t len;
	const char *p = piece_of(v, id, special, &len);
	if (len <= n && len)
		memcpy(buf, p, len);
	return (int)len;
}

/* llama.cpp's "clean up tokenization spaces": drops the space in " ?",
 * " !", " .", " ,", around a lone " ' ", and before "'s", "'m", "'re",
 * "'ve". Works in place; returns the new length. */
static size_t clean_spaces(char *t, size_t total)
{
	size_t k = total ? 1 : 0;
	for (size_t i = 1; i < total; i++) {
		char x = t[i];
		if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ','))
			k--;
		t[k++] = x;
	}
	total = k;
	k = total ? 1 : 0;
	for (size_t i = 1; i < total; i++) {
		char x = t[i];
		if (x == '\'' && i + 1 < total && t[i - 1] == ' ' && t[i + 1] == ' ') {
			k--;
			t[++i] = '\0';
		}
		t[k++] = x;
	}
	total = k;
	k = total ? 1 : 0;
	for (size_t i = 1; i < total; i++) {
		char x = t[i];
		if (t[i - 1] == ' ' && x == '\'' && i + 1 < total) {
			char x1 = t[i + 1], x2 = i + 2 < total ? t[i + 2] : '\0';
			if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e'))
				k--;
		}
		t[k++] = x;
	}
	return k;
}

int vocab_detokenize(const struct vocab *v, const int32_t *ids, int n_ids, char *buf, size_t size,
		     bool remove_special, bool unparse_special)
{
	if (n_ids < 0 || (!ids && n_ids) || (!buf && size))
		return LT_E_INVAL;
	bool strip = v->add_space_prefix;
	if (remove_special && v->add_bos && n_ids > 0 && ids[0] == v->bos) {
		strip = false;
		ids++, n_ids--;
	}
	if (remove_special && v->add_eos && n_ids > 0 && ids[n_ids - 1] == v->eos)
		n_ids--;
	size_t total = 0;
	for (int i = 0; i < n_ids; i++)
		if (!valid_id(v, ids[i]))
			return LT_E_RANGE;
	/* Assemble in a private buffer: cleaning needs the whole text. */
	for (int i = 0; i < n_ids; i++)
		total += v->tok[ids[i]].piece_len;
	char *t = malloc(total + 1);
	if (!t)
		return LT_E_NOMEM;
	size_t k = 0;
	for (int i = 0; i < n_ids; i++) {
		size_t len;
		const char *p = piece_of(v, ids[i], unparse_special, &len);
		if (strip && len && p[0] == ' ')
			p++, len--;
		strip = false;
		memcpy(t + k, p, len);
		k += len;
	}
	if (v->clean_spaces)
		k = clean_spaces(t, k);
	if (size) {
		size_t c = k < size ? k : size - 1;
		memcpy(buf, t, c);
		buf[c] = '\0';
	}
	free(t);
	return k > INT32_MAX ? LT_E_RANGE : (int)k;
}

/* ---- streaming ------------------------------------------------------------ */

struct vocab_stream {
	const struct vocab *v;
	unsigned flags;
	bool started;    /* a piece with text has been seen */
	uint8_t held[4]; /* an unfinished character */
	size_t n_held;
	char *out;
	size_t cap;
};

int vocab_stream_new(struct vocab_stream **out, const struct vocab *v, unsigned flags)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return LT_E_NOMEM;
	(*out)->v = v;
	(*out)->flags = flags;
	return 0;
}

void vocab_stream_free(struct vocab_stream *s)
{
	if (s) {
		free(s->out);
		free(s);
	}
}

void vocab_stream_reset(struct vocab_stream *s)
{
	s->started = false;
	s->n_held = 0;
}

/* Moves the complete characters of held + p into s->out; with final, an
 * unfinished tail becomes U+FFFD too. */
static int stream_emit(struct vocab_stream *s, const char *p, size_t n, bool final,
		       const char **text, size_t *len)
{
	size_t need = 3 * (s->n_held + n) + 1;
	if (need > s->cap) {
		char *o = realloc(s->out, need);
		if (!o)
			return LT_E_NOMEM;
		s->out = o, s->cap = need;
	}
	/* Work on held bytes and the new piece as one run without copying the
	 * piece: held bytes go first into a small joint window. */
	size_t k = 0, i = 0, total = s->n_held + n;
	uint8_t win[4];
	while (i < total) {
		size_t avail = total - i, w = avail < 4 ? avail : 4;
		for (size_t j = 0; j < w; j++) {
			size_t x = i + j;
			win[j] = x < s->n_held ? s->held[x] : (uint8_t)p[x - s->n_held];
		}
		size_t bad;
		int c = utf8_check(win, w, &bad);
		if (c > 0) {
			memcpy(s->out + k, win, (size_t)c);
			k += (size_t)c, i += (size_t)c;
		} else if (c < 0 || final) {
			memcpy(s->out + k, UTF8_REPLACEMENT, 3);
			k += 3, i += c < 0 ? bad : w;
		} else {
			break; /* unfinished: keep for the next piece */
		}
	}
	size_t rest = total - i;
	for (size_t j = 0; j < rest; j++) {
		size_t x = i + j;
		win[j] = x < s->n_held ? s->held[x] : (uint8_t)p[x - s->n_held];
	}
	memcpy(s->held, win, rest);
	s->n_held = rest;
	s->out[k] = '\0';
	*text = s->out;
	*len = k;
	return 0;
}

int vocab_stream_push(struct vocab_stream *s, int32_t id, const char **text, size_t *len)
{
	*text = "";
	*len = 0;
	if (!valid_id(s->v, id))
		return LT_E_RANGE;
	size_t n;
	const char *p = piece_of(s->v, id, s->flags & VOCAB_STREAM_SPECIAL, &n);
	if (!n)
		return 0;
	if (!s->started && (s->flags & VOCAB_STREAM_STRIP_SPACE) && s->v->add_space_prefix &&
	    !(s->v->tok[id].attr & (VOCAB_ATTR_CONTROL | VOCAB_ATTR_UNKNOWN)) && p[0] == ' ')
		p++, n--;
	s->started = true;
	return stream_emit(s, p, n, false, text, len);
}

int vocab_stream_flush(struct vocab_stream *s, const char **text, size_t *len)
{
	return stream_emit(s, "", 0, true, text, len);
}
