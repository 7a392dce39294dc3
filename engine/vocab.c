/* Tokenizers from GGUF metadata, part one: loading the vocabulary and its
 * lookup tables, per-token queries, pieces, the detokenizer and the
 * streaming detokenizer. Text-to-ids lives in vocab_encode.c. See vocab.h
 * for the contract.
 *
 * Behaviour follows llama.cpp's llama-vocab.cpp so ids and text match it
 * exactly. */
#include "vocab_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for the name given to an empty token, "[EMPTY_<id>]" with a 9-digit id. */
#define EMPTY_NAME_MAX 24

/* GGUF token_type values. */
enum { TT_UNDEFINED, TT_NORMAL, TT_UNKNOWN, TT_CONTROL, TT_USER_DEFINED, TT_UNUSED, TT_BYTE };

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
int32_t vocab_merge_rank(const struct vocab *v, const char *a, size_t an, const char *b, size_t bn)
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

/* The byte a BPE token character stands for, or -1: the inverse of
 * byte_to_cp in vocab_encode.c (printable bytes stand for themselves, the
 * others were moved to U+0100 and up, in byte order). */
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
		if (!sp || vocab_merge_rank(v, s, (size_t)(sp - s), sp + 1, len - (size_t)(sp - s) - 1) >= 0)
			continue;
		uint32_t k = fnv1a(s, len, FNV_SEED) & v->merge_mask;
		while (v->merge_map[k] >= 0)
			k = (k + 1) & v->merge_mask;
		v->merge_map[k] = (int32_t)i;
	}
	v->n_merges = (int32_t)n;
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

static bool is_eog_text(const struct vocab *v, const char *text)
{
	int32_t id = vocab_find(v, text, strlen(text));
	return id >= 0 && (v->tok[id].attr & VOCAB_ATTR_EOG);
}

/* llama.cpp's corrections after marking end-of-generation tokens by name:
 * control tokens named "unused" are unused; gpt-oss's channel tokens are
 * plain user-defined text; in vocabs where <|return|> and <|call|> (or
 * <|calls|> and <|flush|>) end a turn, <|end|> only ends a message and is
 * user-defined; and where <|tool_response> ends one, </s> is ordinary. */
static void fix_specials(struct vocab *v)
{
	for (int32_t id = 0; id < v->n_tokens; id++)
		if ((v->tok[id].attr & VOCAB_ATTR_CONTROL) && strstr(v->text + v->tok[id].off, "unused"))
			v->tok[id].attr |= VOCAB_ATTR_UNUSED;
	static const char *const channel[] = { "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>" };
	for (int i = 0; i < 4; i++) {
		int32_t id = vocab_find(v, channel[i], strlen(channel[i]));
		if (id >= 0)
			v->tok[id].attr = VOCAB_ATTR_USER_DEFINED;
	}
	int32_t end = vocab_find(v, "<|end|>", 7);
	if (end >= 0 && (v->tok[end].attr & VOCAB_ATTR_EOG) &&
	    ((is_eog_text(v, "<|return|>") && is_eog_text(v, "<|call|>")) ||
	     (is_eog_text(v, "<|calls|>") && is_eog_text(v, "<|flush|>"))))
		v->tok[end].attr = VOCAB_ATTR_USER_DEFINED;
	int32_t s = vocab_find(v, "</s>", 4);
	if (s >= 0 && (v->tok[s].attr & VOCAB_ATTR_EOG) && is_eog_text(v, "<|tool_response>"))
		v->tok[s].attr = VOCAB_ATTR_NORMAL;
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
	/* The name lists are llama.cpp's (llama-vocab.cpp), which finds these
	 * tokens by text because converters often leave the keys out. */
#define DS_BAR "\xEF\xBD\x9C" /* DeepSeek's fullwidth '|' */
#define SP "\xE2\x96\x81"     /* SentencePiece's space */
	v->eot = detect_id(v, g, "tokenizer.ggml.eot_token_id", NULL,
			   "<|eot_id|>\n<|im_end|>\n<|end|>\n<end_of_turn>\n<|endoftext|>\n<|end_of_text|>\n"
			   "<EOT>\n_<EOT>\n[EOT]\n<" DS_BAR "end" SP "of" SP "sentence" DS_BAR ">\n<end_of_utterance>");
	v->eom = detect_id(v, g, "tokenizer.ggml.eom_token_id", NULL, "<|eom_id|>");
	/* Fill-in-the-middle tokens matter here only because finding them
	 * makes them control tokens, and pad/repo/sep end generation. */
	detect_id(v, g, "tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id",
		  "<|fim_prefix|>\n<fim-prefix>\n<fim_prefix>\n<" DS_BAR "fim" SP "begin" DS_BAR ">\n<PRE>\n"
		  SP "<PRE>\n<|code_prefix|>\n<|prefix|>");
	detect_id(v, g, "tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id",
		  "<|fim_suffix|>\n<fim-suffix>\n<fim_suffix>\n<" DS_BAR "fim" SP "hole" DS_BAR ">\n<SUF>\n"
		  SP "<SUF>\n<|code_suffix|>\n<|suffix|>");
	detect_id(v, g, "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id",
		  "<|fim_middle|>\n<fim-middle>\n<fim_middle>\n<" DS_BAR "fim" SP "end" DS_BAR ">\n<MID>\n"
		  SP "<MID>\n<|code_middle|>\n<|middle|>");
	int32_t eog[6] = {
		detect_id(v, g, "tokenizer.ggml.fim_pad_token_id", NULL,
			  "<|fim_pad|>\n<fim-pad>\n<fim_pad>\n<PAD>\n[PAD]"),
		detect_id(v, g, "tokenizer.ggml.fim_rep_token_id", NULL,
			  "<|fim_repo|>\n<|repo_name|>\n<fim-repo>\n<REPO>\n<reponame>"),
		detect_id(v, g, "tokenizer.ggml.fim_sep_token_id", NULL, "<|file_sep|>"),
		v->eos, v->eot, v->eom,
	};
	for (int i = 0; i < 6; i++)
		if (eog[i] >= 0)
			v->tok[eog[i]].attr |= VOCAB_ATTR_EOG;
	mark_all(v, "<|eot_id|>\n<|im_end|>\n<|end|>\n<|return|>\n<|call|>\n<|flush|>\n<|calls|>\n"
		 "<end_of_turn>\n<|endoftext|>\n</s>\n<|eom_id|>\n<EOT>\n_<EOT>\n[EOT]\n[EOS]\n"
		 "<|end_of_text|>\n<end_of_utterance>\n<eos>\n<turn|>\n<|tool_response>\n"
		 "<" DS_BAR "end" SP "of" SP "sentence" DS_BAR ">\n[e~[\n<|content_model_end_sampling|>", true);
#undef DS_BAR
#undef SP
	fix_specials(v);
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
	const unsigned mask = VOCAB_SPECIAL_MASK;
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
			size_t n = vocab_utf8_len((uint8_t)s[i]);
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
		if ((rc = vocab_pre_init(v, file_name(g), err, errlen)) ||
		    (rc = load_merges(v, g, err, errlen)))
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
	vocab_pre_free(v);
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

bool vocab_is_special(const struct vocab *v, int32_t id)
{
	return vocab_attr(v, id) & VOCAB_SPECIAL_MASK;
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

